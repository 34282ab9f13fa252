// The defaults of an LDAP source that depend on activeDirectory, filled in once so the rest of the
// code reads plain fields. No zod here: the serving side (index.ts) uses it without the schema.
import type { LdapSourceConfig } from './config.js';

/** Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: membership through any depth of nesting. */
export const IN_CHAIN_RULE = '1.2.840.113556.1.4.1941';

/** Defaults that depend on activeDirectory, filled in once so the rest of the code reads plain fields. */
export interface ResolvedLdapConfig extends LdapSourceConfig {
  usernameAttribute: string;
  userSearch?: { base: string; filter: string; scope: 'base' | 'one' | 'sub' };
  groups: LdapSourceConfig['groups'] & {
    nested: 'none' | 'in-chain' | 'recursive';
    search?: { base: string; filter: string; scope: 'base' | 'one' | 'sub' };
  };
  profileAttributes: { firstName: string; lastName: string; email: string };
}

export function resolveLdapConfig(c: LdapSourceConfig): ResolvedLdapConfig {
  const nested = c.groups.nested ?? (c.activeDirectory ? 'in-chain' : 'none');
  const groupFilter = nested === 'in-chain' ? `(member:${IN_CHAIN_RULE}:={dn})` : '(member={dn})';
  const usernameAttribute = c.usernameAttribute ?? (c.activeDirectory ? 'sAMAccountName' : 'uid');
  const userFilter = c.activeDirectory
    ? `(&(objectCategory=person)(objectClass=user)(sAMAccountName={username}))`
    : `(${usernameAttribute}={username})`;
  const { search, ...groups } = c.groups;
  const { userSearch, ...rest } = c;
  const resolved: ResolvedLdapConfig = {
    ...rest,
    usernameAttribute,
    groups: {
      ...groups,
      nested,
      ...(search ? { search: { ...search, filter: search.filter ?? groupFilter } } : {}),
    },
    profileAttributes: {
      firstName: c.profile?.firstName ?? 'givenName',
      lastName: c.profile?.lastName ?? 'sn',
      email: c.profile?.email ?? 'mail',
    },
  };
  if (userSearch) resolved.userSearch = { ...userSearch, filter: userSearch.filter ?? userFilter };
  return resolved;
}
