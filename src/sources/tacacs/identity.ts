// Turns the AV pairs of a TACACS+ authorization reply into an Identity. Pure: sign-in and
// `netbox-gate explain` (identityFromAttributes) go through the same function.
import { GateError } from '../../errors.js';
import type { Attributes, AttributeValue, Identity } from '../../types.js';
import type { TacacsSourceConfig } from './config.js';

export type IdentityOptions = Pick<TacacsSourceConfig, 'id' | 'rolePairs' | 'roleSeparator' | 'privLvlGroupPrefix' | 'profile'>;

/** `name=value` or `name*value` (RFC 8907 §6.1), split at the first separator; undefined if neither. */
export function parseAvPair(pair: string): { name: string; value: string; optional: boolean } | undefined {
  const m = /^([^=*]+)([=*])(.*)$/s.exec(pair);
  if (!m) return undefined;
  let value = m[3]!.trim();
  // Cisco-style values are often quoted: shell:roles="network-admin".
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  return { name: m[1]!.trim(), value, optional: m[2] === '*' };
}

/** Pair name -> every value, in reply order. Malformed pairs are skipped (kept in the raw list). */
export function avPairsToMap(av: readonly string[]): Record<string, string[]> {
  const out = new Map<string, string[]>();
  for (const pair of av) {
    const p = parseAvPair(pair);
    if (!p || p.name === '') continue;
    const list = out.get(p.name);
    if (list) list.push(p.value);
    else out.set(p.name, [p.value]);
  }
  // fromEntries defines own properties, so a pair named "__proto__" cannot touch the prototype.
  return Object.fromEntries(out);
}

/**
 * The identity for `username` given the AV pairs the server returned.
 * attributes: `tacacs` = { pairName: [values...] }, `tacacsAv` = the raw pairs in order.
 * groups: the values of every `rolePairs` pair, then `<privLvlGroupPrefix><N>` for `priv-lvl=N`.
 */
export function identityFromAvPairs(username: string, av: readonly string[], opts: IdentityOptions): Identity {
  const pairs = avPairsToMap(av);
  const groups: string[] = [];
  const add = (g: string) => {
    const t = g.trim();
    if (t !== '' && !groups.includes(t)) groups.push(t);
  };
  for (const name of opts.rolePairs) {
    for (const v of Object.hasOwn(pairs, name) ? pairs[name]! : []) {
      for (const part of opts.roleSeparator ? v.split(opts.roleSeparator) : [v]) add(part);
    }
  }
  if (opts.privLvlGroupPrefix !== '') {
    for (const v of Object.hasOwn(pairs, 'priv-lvl') ? pairs['priv-lvl']! : []) {
      // Only 0..15 are privilege levels; anything else would invent odd group names.
      if (/^(?:[0-9]|1[0-5])$/.test(v)) add(`${opts.privLvlGroupPrefix}${v}`);
    }
  }
  const first = (name: string | undefined) => {
    const v = name === undefined || !Object.hasOwn(pairs, name) ? undefined : pairs[name]![0];
    return v === undefined || v === '' ? undefined : v;
  };
  const tacacs: { [k: string]: AttributeValue } = pairs;
  const identity: Identity = {
    sourceId: opts.id,
    sourceKind: 'tacacs',
    subject: username,
    username,
    groups,
    attributes: { tacacs, tacacsAv: [...av] },
  };
  const firstName = first(opts.profile?.firstName);
  const lastName = first(opts.profile?.lastName);
  const email = first(opts.profile?.email);
  if (firstName !== undefined) identity.firstName = firstName;
  if (lastName !== undefined) identity.lastName = lastName;
  if (email !== undefined) identity.email = email;
  return identity;
}

/**
 * For `explain`: `{"username": "bob", "av": ["priv-lvl=15", "role=netbox-admin"]}`, `av` being
 * the pairs an authorization reply would carry (optional; none means authentication only).
 */
export function identityFromExplainInput(attrs: Attributes, opts: IdentityOptions): Identity {
  const username = attrs['username'];
  const av = attrs['av'] ?? [];
  if (typeof username !== 'string' || username === '') {
    throw new GateError('ERR_BAD_REQUEST', 'TACACS+ explain input needs "username" (a non-empty string)');
  }
  if (!Array.isArray(av) || !av.every((p): p is string => typeof p === 'string')) {
    throw new GateError('ERR_BAD_REQUEST', 'TACACS+ explain input "av" must be a list of "name=value" strings');
  }
  return identityFromAvPairs(username, av, opts);
}
