// Turns the decoded attributes of an Access-Accept into an Identity: roles from Class,
// Filter-Id and AV pairs, profile fields by name. Pure; sign-in and `explain` share it.
import { firstString, getPath, valueStrings } from '../../attributes.js';
import type { Attributes, Identity } from '../../types.js';

export interface IdentityOptions {
  sourceId: string;
  roleAttributes: readonly string[];
  avpairAttributes: readonly string[];
  avpairRolePrefixes: readonly string[];
  profile?: { firstName?: string | undefined; lastName?: string | undefined; email?: string | undefined } | undefined;
}

/** `"netbox-admin"` -> `netbox-admin`; Cisco writes `shell:role="x"` and ISE often quotes values. */
function stripQuotes(s: string): string {
  const t = s.trim();
  if (t.length >= 2 && ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'")))) return t.slice(1, -1).trim();
  return t;
}

/** The role in one AV pair, or undefined when it carries something else (e.g. `shell:priv-lvl=15`). */
export function roleFromAvpair(value: string, prefixes: readonly string[]): string | undefined {
  const v = stripQuotes(value);
  for (const prefix of prefixes) {
    if (v.length > prefix.length && v.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase()) {
      const role = stripQuotes(v.slice(prefix.length));
      return role === '' ? undefined : role;
    }
  }
  return undefined;
}

/**
 * ISE adds a Class value `CACS:<session>:<node>/...` to every Accept to tie accounting to the
 * session; it is not a role, and as a group it would differ on every sign-in.
 */
function isIseSessionClass(s: string): boolean {
  return s.startsWith('CACS:');
}

export function identityFromRadiusAttributes(attrs: Attributes, opts: IdentityOptions): Identity {
  const username = firstString(getPath(attrs, 'User-Name')) ?? '';
  const avpairs = new Set(opts.avpairAttributes);
  const groups: string[] = [];
  const seen = new Set<string>();
  for (const name of opts.roleAttributes) {
    for (const raw of valueStrings(getPath(attrs, name))) {
      const role = avpairs.has(name) ? roleFromAvpair(raw, opts.avpairRolePrefixes) : stripQuotes(raw);
      if (role === undefined || role === '' || isIseSessionClass(role) || seen.has(role)) continue;
      seen.add(role);
      groups.push(role);
    }
  }
  const profile = (key: string | undefined): string | undefined => (key ? firstString(getPath(attrs, key)) : undefined);
  const identity: Identity = {
    sourceId: opts.sourceId,
    sourceKind: 'radius',
    subject: username,
    username,
    groups,
    attributes: attrs,
  };
  const email = profile(opts.profile?.email);
  const firstName = profile(opts.profile?.firstName);
  const lastName = profile(opts.profile?.lastName);
  if (email !== undefined) identity.email = email;
  if (firstName !== undefined) identity.firstName = firstName;
  if (lastName !== undefined) identity.lastName = lastName;
  return identity;
}
