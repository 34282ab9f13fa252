// The LDAP / Active Directory source kind: schema and factory, as the registry (../registry.ts)
// sees it. Defaults that depend on activeDirectory are filled by createLdapSource itself.
import { defineSourceKind } from '../definition.js';
import { loadOnUse } from '../load-on-use.js';
import { ldapSourceSchema } from './config.js';

// The implementation (ldapts and the connection code) loads when a source of this kind is built, not when the
// registry is read for the config schema: a gateway without an LDAP source never loads it.
const implementation = loadOnUse<typeof import('./index.js')>(import.meta.url, './index.js');

export const ldapKind = defineSourceKind({
  kind: 'ldap',
  schema: ldapSourceSchema,
  create: (cfg, deps) => implementation().createLdapSource(cfg, deps),
});
