// The writable part of a User or Group as this service keeps it: input (POST, PUT, the result of
// a PATCH) is reduced to the published attributes, with canonical names and checked types. A
// wrong type is a 400 invalidValue naming the attribute; unknown attributes are ignored.
import { badRequest } from './errors.js';
import type { Json } from './filter.js';
import { COMMON_ATTRIBUTES, GROUP_ATTRIBUTES, USER_ATTRIBUTES, findAttribute, type AttributeDef } from './schemas.js';

export interface ScimEmail {
  value: string;
  type?: string;
  primary?: boolean;
}

export interface UserFields {
  userName: string;
  externalId?: string;
  displayName?: string;
  name?: { formatted?: string; familyName?: string; givenName?: string };
  /** Absent (never sent, or removed) counts as active; only false deprovisions. */
  active?: boolean;
  emails?: ScimEmail[];
}

export interface GroupMember {
  value: string;
  display?: string;
  type?: string;
}

export interface GroupFields {
  displayName: string;
  externalId?: string;
  members: GroupMember[];
}

/**
 * Entra ID sent booleans as the strings "True"/"False" for years (its docs still show it for
 * apps without the `aadOptscim062020` flag), so a boolean accepts those two strings.
 */
function coerceBoolean(v: unknown, where: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true';
  throw badRequest('invalidValue', `${where} must be a boolean (true or false), not ${JSON.stringify(v)}`);
}

function coerce(def: AttributeDef, v: unknown, where: string): unknown {
  if (v === null || v === undefined) return undefined;
  if (def.multiValued && !def.subAttributes) {
    if (!Array.isArray(v)) throw badRequest('invalidValue', `${where} must be a list`);
    return v.map((x, i) => coerceSingle(def, x, `${where}[${i}]`));
  }
  if (def.multiValued) {
    const list = (Array.isArray(v) ? v : [v]).map((x, i) => coerceSingle(def, x, `${where}[${i}]`)).filter((x) => x !== undefined);
    // An empty list is the attribute unassigned (RFC 7643 §2.5): left out, not [].
    return list.length === 0 ? undefined : list;
  }
  if (Array.isArray(v)) throw badRequest('invalidValue', `${where} is single-valued, not a list`);
  return coerceSingle(def, v, where);
}

function coerceSingle(def: AttributeDef, v: unknown, where: string): unknown {
  if (v === null || v === undefined) return undefined;
  switch (def.type) {
    case 'boolean':
      return coerceBoolean(v, where);
    case 'complex': {
      if (typeof v !== 'object' || Array.isArray(v)) throw badRequest('invalidValue', `${where} must be an object with ${def.subAttributes!.map((s) => s.name).join(', ')}`);
      const out: Json = {};
      for (const [k, x] of Object.entries(v as Json)) {
        const sub = findAttribute(def.subAttributes!, k);
        if (!sub) continue;
        const c = coerceSingle(sub, x, `${where}.${sub.name}`);
        if (c !== undefined) out[sub.name] = c;
      }
      return out;
    }
    default:
      if (typeof v !== 'string') throw badRequest('invalidValue', `${where} must be a string, not ${JSON.stringify(v)}`);
      if (v.length > 1024) throw badRequest('invalidValue', `${where} is longer than 1024 characters`);
      return v;
  }
}

/** The published, writable attributes of `input`, canonically named. readOnly ones are dropped. */
function pick(input: unknown, defs: AttributeDef[]): Json {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw badRequest('invalidSyntax', 'the request body must be a JSON object');
  const out: Json = {};
  for (const [k, v] of Object.entries(input as Json)) {
    const def = findAttribute([...COMMON_ATTRIBUTES, ...defs], k);
    if (!def || def.mutability === 'readOnly') continue;
    const c = coerce(def, v, def.name);
    if (c !== undefined) out[def.name] = c;
  }
  return out;
}

export function userFields(input: unknown): UserFields {
  const o = pick(input, USER_ATTRIBUTES);
  if (typeof o.userName !== 'string' || o.userName.trim() === '') throw badRequest('invalidValue', 'userName is required (the NetBox user name)');
  if (o.userName.length > 150) throw badRequest('invalidValue', 'userName is longer than 150 characters, the most a NetBox user name can have');
  const name = o.name as UserFields['name'];
  if (name && Object.keys(name).length === 0) delete o.name;
  return { ...o, userName: o.userName } as UserFields;
}

export function groupFields(input: unknown): GroupFields {
  const o = pick(input, GROUP_ATTRIBUTES);
  if (typeof o.displayName !== 'string' || o.displayName.trim() === '') throw badRequest('invalidValue', 'displayName is required (the group name the policy matches)');
  const members = ((o.members as Json[] | undefined) ?? []).map((m, i) => {
    if (typeof m.value !== 'string' || m.value === '') throw badRequest('invalidValue', `members[${i}].value is required: the id of a User`);
    return { value: m.value, ...(typeof m.display === 'string' ? { display: m.display } : {}), ...(typeof m.type === 'string' ? { type: m.type } : {}) };
  });
  const seen = new Set<string>();
  return { ...(o as unknown as GroupFields), members: members.filter((m) => (seen.has(m.value) ? false : (seen.add(m.value), true))) };
}

/** The NetBox profile fields a SCIM user carries: primary (or first) email, given and family name. */
export function netboxProfile(u: UserFields): { email?: string; firstName?: string; lastName?: string } {
  const email = (u.emails?.find((e) => e.primary) ?? u.emails?.[0])?.value;
  return {
    ...(email ? { email } : {}),
    ...(u.name?.givenName ? { firstName: u.name.givenName } : {}),
    ...(u.name?.familyName ? { lastName: u.name.familyName } : {}),
  };
}
