// PATCH (RFC 7644 §3.5.2) on the writable JSON of a resource, with the shapes Entra ID and Okta
// send that differ from the RFC: capitalised ops ("Replace"), no path with a dict of attributes
// (keys may be dotted: "name.givenName"), booleans as "False" (coerced later by resource.ts),
// `remove` of members with a value list instead of a filter, `add` to `emails[type eq "work"].value`
// when no such email exists yet (creates it), and Okta's replace dict carrying the read-only id.
import type { Filter } from 'scim2-parse-filter';
import { badRequest } from './errors.js';
import { compileFilter, parseFilter, stripUrn, type Json } from './filter.js';
import { COMMON_ATTRIBUTES, PATCH_SCHEMA, findAttribute, type AttributeDef } from './schemas.js';

type Op = 'add' | 'replace' | 'remove';

interface Path {
  attr: AttributeDef;
  filter?: Filter;
  sub?: AttributeDef;
  text: string;
}

const PATH_RE = /^([A-Za-z$][\w$-]*)(?:\[(.+)\])?(?:\.([A-Za-z$][\w$-]*))?$/s;

function parsePath(text: string, defs: AttributeDef[], schemaUrn: string, where: string): Path | undefined {
  const bare = stripUrn(text.trim(), schemaUrn);
  // Another schema's attribute (the enterprise extension Entra sends): not published, ignored.
  if (/^urn:/i.test(bare)) return undefined;
  const m = PATH_RE.exec(bare);
  if (!m) throw badRequest('invalidPath', `${where}.path ${JSON.stringify(text)} is not an attribute path`);
  const attr = findAttribute([...COMMON_ATTRIBUTES, ...defs], m[1]!);
  if (!attr) return undefined; // not published: ignored, as on POST
  if (attr.mutability === 'readOnly') {
    if (attr.name === 'id') return undefined; // Okta repeats the id in replace dicts
    throw badRequest('mutability', `${where}.path ${JSON.stringify(text)}: ${attr.name} is read-only`);
  }
  let sub: AttributeDef | undefined;
  if (m[3]) {
    sub = attr.subAttributes ? findAttribute(attr.subAttributes, m[3]) : undefined;
    if (!sub) throw badRequest('invalidPath', `${where}.path ${JSON.stringify(text)}: ${attr.name} has no sub-attribute ${JSON.stringify(m[3])}`);
  }
  let filter: Filter | undefined;
  if (m[2] !== undefined) {
    if (!attr.multiValued) throw badRequest('invalidPath', `${where}.path ${JSON.stringify(text)}: a filter needs a multi-valued attribute, ${attr.name} is not one`);
    filter = parseFilter(m[2], `${where}.path filter`);
  }
  return { attr, text, ...(filter ? { filter } : {}), ...(sub ? { sub } : {}) };
}

/** For `emails[type eq "work"].value` with no match: the element the equality clauses describe. */
function elementFromFilter(f: Filter): Json | undefined {
  if (f.op === 'eq' && 'compValue' in f && !f.attrPath.includes('.')) return { [f.attrPath]: f.compValue };
  if (f.op === 'and') {
    const parts = f.filters.map(elementFromFilter);
    return parts.every((p) => p) ? Object.assign({}, ...parts) : undefined;
  }
  return undefined;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Two elements of a multi-valued attribute are the same member/value when their `value` is. */
function sameElement(a: unknown, b: unknown): boolean {
  if (typeof a === 'object' && a && typeof b === 'object' && b && 'value' in a && 'value' in b) return same((a as Json).value, (b as Json).value);
  return same(a, b);
}

function mergeComplex(current: unknown, value: unknown, where: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('invalidValue', `${where}.value must be an object`);
  return { ...((typeof current === 'object' && current) || {}), ...(value as Json) };
}

function applyOne(r: Json, op: Op, p: Path, value: unknown, hasValue: boolean, schemaUrn: string, where: string): void {
  const name = p.attr.name;
  const cur = r[name];
  if (op !== 'remove' && !hasValue) throw badRequest('invalidValue', `${where}: ${op} needs a value`);

  if (!p.attr.multiValued) {
    if (p.sub) {
      const obj = { ...((typeof cur === 'object' && cur) || {}) } as Json;
      if (op === 'remove') delete obj[p.sub.name];
      else obj[p.sub.name] = value;
      r[name] = obj;
    } else if (op === 'remove') delete r[name];
    else r[name] = p.attr.type === 'complex' ? mergeComplex(cur, value, where) : value;
    return;
  }

  const list = Array.isArray(cur) ? [...cur] : [];
  if (p.filter) {
    const match = compileFilter(p.filter, p.attr.subAttributes ?? [], schemaUrn);
    const hits = list.map((el, i) => (match(el as Json) ? i : -1)).filter((i) => i >= 0);
    if (op === 'remove') {
      if (p.sub) for (const i of hits) delete (list[i] = { ...(list[i] as Json) })[p.sub.name];
      r[name] = p.sub ? list : list.filter((_, i) => !hits.includes(i));
      return;
    }
    if (hits.length === 0) {
      const base = elementFromFilter(p.filter);
      if (!base) throw badRequest('noTarget', `${where}.path ${JSON.stringify(p.text)} matches no value of ${name}`);
      list.push(p.sub ? { ...base, [p.sub.name]: value } : mergeComplex(base, value, where));
    } else {
      for (const i of hits) list[i] = p.sub ? { ...(list[i] as Json), [p.sub.name]: value } : mergeComplex(list[i], value, where);
    }
    r[name] = list;
    return;
  }
  if (p.sub) {
    // `emails.type`: every element (RFC 7644 §3.5.2.3 allows it; rare).
    r[name] = list.map((el) => {
      const o = { ...(el as Json) };
      if (op === 'remove') delete o[p.sub!.name];
      else o[p.sub!.name] = value;
      return o;
    });
    return;
  }
  const values = value === undefined ? [] : Array.isArray(value) ? value : [value];
  if (op === 'remove') {
    // RFC: no filter removes all values. Entra and others send the members to remove as the value.
    r[name] = hasValue && values.length > 0 ? list.filter((el) => !values.some((v) => sameElement(el, v))) : [];
    return;
  }
  if (op === 'replace') {
    r[name] = values;
    return;
  }
  for (const v of values) {
    const i = list.findIndex((el) => sameElement(el, v));
    if (i >= 0) list[i] = typeof v === 'object' && v ? { ...(list[i] as Json), ...(v as Json) } : v;
    else list.push(v);
  }
  r[name] = list;
}

/** Applies a PatchOp body to a copy of `resource` (writable attributes only) and returns it. */
export function applyPatch(resource: Json, body: unknown, defs: AttributeDef[], schemaUrn: string): Json {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('invalidSyntax', 'the PATCH body must be a JSON object with schemas and Operations');
  const b = body as Json;
  if (Array.isArray(b.schemas) && !b.schemas.includes(PATCH_SCHEMA)) throw badRequest('invalidSyntax', `schemas must contain ${PATCH_SCHEMA}`);
  const ops = b.Operations ?? b.operations;
  if (!Array.isArray(ops) || ops.length === 0) throw badRequest('invalidSyntax', 'Operations must be a non-empty list of {op, path, value}');
  if (ops.length > 1000) throw badRequest('tooMany', 'at most 1000 Operations per PATCH');
  const r = structuredClone(resource);
  ops.forEach((raw: unknown, i) => {
    const where = `Operations[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw badRequest('invalidSyntax', `${where} must be an object {op, path, value}`);
    const o = raw as Json;
    const op = typeof o.op === 'string' ? (o.op.toLowerCase() as Op) : undefined;
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw badRequest('invalidSyntax', `${where}.op must be add, replace or remove, not ${JSON.stringify(o.op)}`);
    const hasValue = 'value' in o;
    if (o.path !== undefined && typeof o.path !== 'string') throw badRequest('invalidPath', `${where}.path must be a string`);
    if (typeof o.path === 'string' && o.path.trim() !== '') {
      const p = parsePath(o.path, defs, schemaUrn, where);
      if (p) applyOne(r, op, p, o.value, hasValue, schemaUrn, where);
      return;
    }
    if (op === 'remove') throw badRequest('noTarget', `${where}: remove needs a path`);
    if (typeof o.value !== 'object' || o.value === null || Array.isArray(o.value)) throw badRequest('invalidValue', `${where}: without a path, value must be an object of attributes`);
    for (const [k, v] of Object.entries(o.value as Json)) {
      if (k === 'schemas' || k === 'meta') continue;
      const p = parsePath(k, defs, schemaUrn, `${where}.value`);
      if (p) applyOne(r, op, p, v, true, schemaUrn, `${where}.value.${k}`);
    }
  });
  return r;
}
