// The LDAP / Active Directory source kind: its schema, as the registry (../registry.ts) sees it.
// Defaults that depend on activeDirectory are filled by createLdapSource itself.
import { defineSourceKind } from '../definition.js';
import { ldapSourceSchema } from './config.js';

export const ldapKind = defineSourceKind({
  kind: 'ldap',
  schema: ldapSourceSchema,
});
