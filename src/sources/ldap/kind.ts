// The LDAP / Active Directory source kind: schema and factory, as the registry (../registry.ts)
// sees it. Defaults that depend on activeDirectory are filled by createLdapSource itself.
import { defineSourceKind } from '../definition.js';
import { ldapSourceSchema } from './config.js';
import { createLdapSource } from './index.js';

export const ldapKind = defineSourceKind({
  kind: 'ldap',
  schema: ldapSourceSchema,
  create: (cfg, deps) => createLdapSource(cfg, deps),
});
