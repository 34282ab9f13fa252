// SCIM filters (RFC 7644 §3.4.2.2): parsed by scim2-parse-filter, evaluated here because the
// library's own tester compares strings case-sensitively and userName, displayName and emails
// are caseExact=false (RFC 7643 §2.3.1): `userName eq "Bob"` must find "bob".
import { parse, type Filter } from 'scim2-parse-filter';
import { badRequest } from './errors.js';
import { COMMON_ATTRIBUTES, findAttribute, type AttributeDef } from './schemas.js';

export type Json = Record<string, unknown>;
export type Predicate = (resource: Json) => boolean;

/** Parses filter text; a syntax error is a 400 invalidFilter naming the library's reason. */
export function parseFilter(text: string, what = 'filter'): Filter {
  if (text.length > 4096) throw badRequest('invalidFilter', `${what} is longer than 4096 characters`);
  try {
    return parse(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0] : 'cannot be parsed';
    throw badRequest('invalidFilter', `${what} ${JSON.stringify(text)} is not a SCIM filter: ${reason}`);
  }
}

/** Removes the schema URN from an attribute path (`urn:...:User:userName` → `userName`). */
export function stripUrn(path: string, schemaUrn: string): string {
  return path.toLowerCase().startsWith(schemaUrn.toLowerCase() + ':') ? path.slice(schemaUrn.length + 1) : path;
}

/** The value(s) at a dotted path, names matched case-insensitively; arrays fan out. */
function valuesAt(r: unknown, parts: string[]): unknown[] {
  if (parts.length === 0) return Array.isArray(r) ? r : [r];
  if (Array.isArray(r)) return r.flatMap((x) => valuesAt(x, parts));
  if (typeof r !== 'object' || r === null) return [];
  const p = parts[0]!.toLowerCase();
  const key = Object.keys(r).find((k) => k.toLowerCase() === p);
  return key === undefined ? [] : valuesAt((r as Json)[key], parts.slice(1));
}

function defAt(defs: AttributeDef[], parts: string[]): AttributeDef | undefined {
  let d = findAttribute([...COMMON_ATTRIBUTES, ...defs], parts[0]!);
  for (const p of parts.slice(1)) d = d?.subAttributes ? findAttribute(d.subAttributes, p) : undefined;
  return d;
}

type Comparable = string | number | boolean | null;

function compare(op: string, actual: unknown, expected: Comparable, caseExact: boolean): boolean {
  if (op === 'pr') return actual !== undefined && actual !== null && actual !== '' && !(Array.isArray(actual) && actual.length === 0);
  let a = actual as Comparable;
  let e = expected;
  if (typeof a === 'string' && typeof e === 'string' && !caseExact) {
    a = a.toLowerCase();
    e = e.toLowerCase();
  }
  // "False"/"True" strings compared with a boolean attribute (Entra sends both forms).
  if (typeof a === 'boolean' && typeof e === 'string' && /^(true|false)$/i.test(e)) e = e.toLowerCase() === 'true';
  switch (op) {
    case 'eq':
      return a === e;
    case 'ne':
      return a !== e;
    case 'co':
      return typeof a === 'string' && typeof e === 'string' && a.includes(e);
    case 'sw':
      return typeof a === 'string' && typeof e === 'string' && a.startsWith(e);
    case 'ew':
      return typeof a === 'string' && typeof e === 'string' && a.endsWith(e);
    case 'gt':
      return e !== null && a !== null && typeof a === typeof e && a > e;
    case 'ge':
      return e !== null && a !== null && typeof a === typeof e && a >= e;
    case 'lt':
      return e !== null && a !== null && typeof a === typeof e && a < e;
    case 'le':
      return e !== null && a !== null && typeof a === typeof e && a <= e;
    default:
      return false;
  }
}

/** A predicate over resources of one schema; `ne` on a missing attribute is true (RFC 7644). */
export function compileFilter(f: Filter, defs: AttributeDef[], schemaUrn: string): Predicate {
  const test = (r: unknown, f: Filter, scope: string[]): boolean => {
    switch (f.op) {
      case 'and':
        return f.filters.every((c) => test(r, c, scope));
      case 'or':
        return f.filters.some((c) => test(r, c, scope));
      case 'not':
        return !test(r, f.filter, scope);
      case '[]': {
        const parts = stripUrn(f.attrPath, schemaUrn).split('.');
        return valuesAt(r, parts).some((el) => test(el, f.valFilter, [...scope, ...parts]));
      }
      default: {
        const parts = stripUrn(f.attrPath, schemaUrn).split('.');
        const def = defAt(defs, [...scope, ...parts]);
        const caseExact = def?.caseExact ?? false;
        const values = valuesAt(r, parts);
        const expected = 'compValue' in f ? (f.compValue as Comparable) : null;
        if (f.op === 'pr') return values.some((v) => compare('pr', v, null, caseExact));
        if (f.op === 'ne') return values.every((v) => compare('ne', v, expected, caseExact));
        return values.some((v) => compare(f.op, v, expected, caseExact));
      }
    }
  };
  return (r) => test(r, f, []);
}

/** Attribute names a filter tests (for messages and for choosing cheap lookups). */
export function filterAttributes(f: Filter): string[] {
  switch (f.op) {
    case 'and':
    case 'or':
      return f.filters.flatMap(filterAttributes);
    case 'not':
      return filterAttributes(f.filter);
    default:
      return [f.attrPath];
  }
}
