// LDAP entry -> attributes -> Identity. identityFromAttributes is pure and is what both
// sign-in and `explain` run, so the two cannot disagree.
import { firstString, valueStrings } from '../../attributes.js';
import { GateError } from '../../errors.js';
import type { AttributeValue, Attributes, Identity } from '../../types.js';
import type { ResolvedLdapConfig } from './config.js';
import type { LdapEntry } from './connection.js';
import { firstRdn } from './escape.js';

/** AD userAccountControl ACCOUNTDISABLE. */
const UAC_ACCOUNTDISABLE = 0x2;
/** accountExpires is a FILETIME (100 ns since 1601-01-01); 0 and 2^63-1 mean "never". */
const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;
const FILETIME_NEVER = 0x7fff_ffff_ffff_ffffn;

/** The user attributes fetched at sign-in and refresh. */
export function userAttributeNames(cfg: ResolvedLdapConfig): string[] {
  const p = cfg.profileAttributes;
  // memberOf always: Identity.attributes shows it even when groups come from a search.
  const names = [cfg.usernameAttribute, p.firstName, p.lastName, p.email, ...cfg.attributes, 'memberOf'];
  if (cfg.activeDirectory) names.push('userAccountControl', 'accountExpires');
  const seen = new Set<string>();
  return names.filter((n) => !seen.has(n.toLowerCase()) && seen.add(n.toLowerCase()));
}

/**
 * Why an AD account may not be used, read from its entry: disabled (userAccountControl bit 2)
 * or expired (accountExpires in the past). What a refresh checks, since it does not bind as the
 * user and AD's own bind refusal (data 533 / 701) is never seen then. Undefined: usable.
 */
export function accountRefusal(cfg: ResolvedLdapConfig, entry: LdapEntry, nowMs: number): { reason: 'account_disabled' | 'account_expired'; text: string } | undefined {
  if (!cfg.activeDirectory) return undefined;
  const uac = Number(entry.attrs['useraccountcontrol']?.[0] ?? '0');
  if (Number.isInteger(uac) && (uac & UAC_ACCOUNTDISABLE) !== 0) return { reason: 'account_disabled', text: 'disabled (userAccountControl ACCOUNTDISABLE)' };
  const raw = entry.attrs['accountexpires']?.[0];
  if (raw !== undefined && /^\d{1,19}$/.test(raw)) {
    const ft = BigInt(raw);
    if (ft !== 0n && ft < FILETIME_NEVER && ft <= FILETIME_UNIX_EPOCH + BigInt(Math.floor(nowMs)) * 10_000n) {
      return { reason: 'account_expired', text: 'expired (accountExpires)' };
    }
  }
  return undefined;
}

/** The attributes object of a signed-in user: what explain takes as input too. */
export function entryToAttributes(cfg: ResolvedLdapConfig, entry: LdapEntry, groups: { names: string[] }): Attributes {
  const out: Attributes = { dn: entry.dn };
  for (const name of userAttributeNames(cfg)) {
    const values = entry.attrs[name.toLowerCase()];
    if (name.toLowerCase() === 'memberof') out.memberOf = values ?? [];
    else if (values && values.length > 0) out[name] = values.length === 1 ? values[0]! : values;
  }
  out.groups = groups.names;
  return out;
}

/** Attribute lookup ignoring case, as LDAP does ("mail" finds "Mail"). */
function attr(attrs: Attributes, name: string): AttributeValue | undefined {
  if (Object.hasOwn(attrs, name)) return attrs[name];
  const lower = name.toLowerCase();
  const key = Object.keys(attrs).find((k) => k.toLowerCase() === lower);
  return key === undefined ? undefined : attrs[key];
}

export function identityFromAttributes(cfg: ResolvedLdapConfig, attrs: Attributes): Identity {
  const dn = firstString(attr(attrs, 'dn'));
  if (dn === undefined) throw new GateError('ERR_SOURCE_PROTOCOL', `LDAP source "${cfg.id}": the entry has no "dn"`, { detail: { reason: 'no_dn' } });
  const username = firstString(attr(attrs, cfg.usernameAttribute));
  if (username === undefined) {
    throw new GateError('ERR_SOURCE_CONFIG', `LDAP source "${cfg.id}": the entry ${dn} has no "${cfg.usernameAttribute}" attribute; check usernameAttribute`, {
      detail: { reason: 'no_username', attribute: cfg.usernameAttribute },
    });
  }
  const memberOf = valueStrings(attr(attrs, 'memberOf'));
  const given = attr(attrs, 'groups');
  let groups: string[];
  if (given !== undefined) {
    groups = valueStrings(given);
  } else {
    // explain input without resolved groups: name them from the memberOf DNs, as sign-in
    // does when the name is the RDN.
    const nameAttr = cfg.groups.nameAttribute.toLowerCase();
    groups = memberOf.map((m) => {
      if (nameAttr === 'dn') return m;
      const rdn = firstRdn(m);
      return rdn && rdn.type.toLowerCase() === nameAttr ? rdn.value : m;
    });
  }
  const attributes: Attributes = {};
  for (const [k, v] of Object.entries(attrs)) if (k !== 'groups') attributes[k] = v;
  const identity: Identity = {
    sourceId: cfg.id,
    sourceKind: 'ldap',
    subject: dn,
    username,
    groups: [...new Set(groups)].sort(),
    attributes,
  };
  const p = cfg.profileAttributes;
  const email = firstString(attr(attrs, p.email));
  const firstName = firstString(attr(attrs, p.firstName));
  const lastName = firstString(attr(attrs, p.lastName));
  if (email !== undefined) identity.email = email;
  if (firstName !== undefined) identity.firstName = firstName;
  if (lastName !== undefined) identity.lastName = lastName;
  return identity;
}
