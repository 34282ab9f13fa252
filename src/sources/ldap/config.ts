// Config of an LDAP / Active Directory source: servers, TLS, how a user is found and bound,
// where groups come from. Cross-field rules are checked here so every problem shows at once.
import { z } from 'zod';
import { duration, profileMapping, secret, sourceBase } from '../../config/common.js';
import { loadOnUse } from '../../load-on-use.js';
import { fillFilter } from './escape.js';
import { IN_CHAIN_RULE } from './resolve.js';

export { IN_CHAIN_RULE, resolveLdapConfig, type ResolvedLdapConfig } from './resolve.js';

// ldapts loads when an LDAP filter is checked, not with the schema of every config (idle RSS).
// Through our own ES module, so that it is the same copy of ldapts the client imports.
const ldapts = loadOnUse<typeof import('./ldapts.js')>(import.meta.url, './ldapts.js');


const ldapUrl = z.string().refine((s) => {
  try {
    const u = new URL(s);
    // A path would be an LDAP URL's DN/filter part, which this setting does not take.
    return (u.protocol === 'ldap:' || u.protocol === 'ldaps:') && u.hostname !== '' && (u.pathname === '' || u.pathname === '/') && u.search === '' && u.username === '';
  } catch {
    return false;
  }
}, 'expected ldap://host[:port] or ldaps://host[:port] (no DN, filter or credentials in the URL)');

const scope = z.enum(['base', 'one', 'sub']);

/** An LDAP filter template; `{username}` / `{dn}` are replaced by escaped values at run time. */
const filterTemplate = z.string().refine((s) => {
  // ldapts' parser is lenient (it takes "uid=x" and a missing last ")"), so check the shape first.
  let depth = 0;
  for (const ch of s) {
    if (ch === '(') depth++;
    else if (ch === ')' && --depth < 0) return false;
  }
  if (depth !== 0 || !s.startsWith('(') || !s.endsWith(')')) return false;
  try {
    ldapts().FilterParser.parseString(fillFilter(s, { username: 'x', dn: 'cn=x' }));
    return true;
  } catch {
    return false;
  }
}, 'is not a valid LDAP filter; it must be wrapped in parentheses, e.g. "(uid={username})"');

const dnString = z.string().min(1).refine((s) => /^[^=,]+=[^,]/.test(s.trim()), 'expected a DN such as "ou=people,dc=example,dc=org"');

export const ldapSourceSchema = z
  .strictObject({
    kind: z.literal('ldap'),
    ...sourceBase,
    /** Tried in order; the next one only when a server cannot be reached (never after a wrong password). */
    urls: z.array(ldapUrl).min(1, 'list at least one server'),
    /** Upgrade ldap:// connections with the StartTLS extended operation before anything is sent. */
    startTls: z.boolean().default(false),
    tls: z
      .strictObject({
        /** PEM bundle of the CA(s) that sign the servers' certificates; the system store when absent. */
        caFile: z.string().min(1).optional(),
        /** Name checked against the certificate when it differs from the URL host. */
        servername: z.string().min(1).optional(),
        /** Accept any server certificate. Testing only: anyone on the path can read passwords. */
        insecureSkipVerify: z.boolean().default(false),
      })
      .prefault({}),
    /** Permit ldap:// without StartTLS, which sends passwords in clear text (loopback tests only). */
    insecureAllowPlaintext: z.boolean().default(false),
    /** Service account for the user search, group lookups and refresh. */
    bindDn: dnString.optional(),
    bindPassword: secret.optional(),
    /** Direct bind: the user's DN built from the name typed (value escaped per RFC 4514). */
    userDnTemplate: z.string().min(1).optional(),
    /** Search-and-bind: find the user's entry with the service account, then bind as it. */
    userSearch: z
      .strictObject({
        base: dnString,
        /** Default `(uid={username})`, or `(&(objectCategory=person)(objectClass=user)(sAMAccountName={username}))` for AD. */
        filter: filterTemplate.optional(),
        scope: scope.default('sub'),
      })
      .optional(),
    /** The attribute that holds the sign-in name (default uid, sAMAccountName for AD). */
    usernameAttribute: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'expected an attribute name').optional(),
    groups: z
      .strictObject({
        /** Read the user's memberOf attribute (OpenLDAP memberof/dynlist overlay, AD). */
        memberOf: z.boolean().default(true),
        search: z
          .strictObject({
            base: dnString,
            /** `{dn}` is the user's (or, when recursing, the group's) DN; `{username}` the sign-in name. */
            filter: filterTemplate.optional(),
            scope: scope.default('sub'),
          })
          .optional(),
        /** none | in-chain (AD's matching rule, one search) | recursive (bounded walk, cycle-safe). Default: in-chain for AD, else none. */
        nested: z.enum(['none', 'in-chain', 'recursive']).optional(),
        maxDepth: z.number().int().min(1).max(20).default(5),
        maxGroups: z.number().int().min(1).max(10_000).default(500),
        /** The group attribute used as its name (default cn); `dn` keeps the full DN. */
        nameAttribute: z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'expected an attribute name or "dn"').default('cn'),
      })
      .prefault({}),
    profile: profileMapping,
    /** Further user attributes copied into Identity.attributes for the policy. */
    attributes: z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9-]*$/, 'expected an attribute name')).default([]),
    /** Per network step: connect, TLS handshake, each bind or search. */
    timeout: duration.prefault('5s'),
    /** AD defaults (sAMAccountName, in-chain groups) and refusal of disabled or expired accounts (userAccountControl, accountExpires). */
    activeDirectory: z.boolean().default(false),
  })
  .superRefine(
    (value, ctx) => {
      // Runs even when single fields failed (`when` below), so every problem shows at once;
      // hence the value is read defensively: a failed field may hold anything.
      const c = value as Partial<Record<keyof typeof value, unknown>>;
      const g = (typeof c.groups === 'object' && c.groups !== null ? c.groups : {}) as Record<string, unknown>;
      const search = typeof g['search'] === 'object' && g['search'] !== null ? (g['search'] as Record<string, unknown>) : undefined;
      const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
      if (c.userDnTemplate !== undefined && c.userSearch !== undefined) {
        issue(['userDnTemplate'], 'set either userDnTemplate (direct bind) or userSearch (search-and-bind), not both');
      } else if (c.userDnTemplate === undefined && c.userSearch === undefined) {
        issue([], 'set userSearch (with bindDn and bindPassword) for search-and-bind, or userDnTemplate for direct bind');
      }
      if (typeof c.userDnTemplate === 'string' && c.userDnTemplate.split('{username}').length !== 2) {
        issue(['userDnTemplate'], 'must contain "{username}" exactly once, e.g. "uid={username},ou=people,dc=example,dc=org"');
      }
      if (c.userSearch !== undefined && c.bindDn === undefined) {
        issue(['bindDn'], 'userSearch needs a service account: set bindDn and bindPassword');
      }
      if ((c.bindDn === undefined) !== (c.bindPassword === undefined)) {
        issue([c.bindDn === undefined ? 'bindDn' : 'bindPassword'], 'bindDn and bindPassword go together');
      }
      if (Array.isArray(c.urls)) {
        c.urls.forEach((u: unknown, i) => {
          if (typeof u !== 'string' || !/^ldaps?:/.test(u)) return;
          const ldaps = u.startsWith('ldaps:');
          if (ldaps && c.startTls === true) issue(['urls', i], 'startTls applies to ldap:// URLs; ldaps:// is already TLS');
          if (!ldaps && c.startTls !== true && c.insecureAllowPlaintext !== true) {
            issue(['urls', i], 'ldap:// without StartTLS sends passwords in clear text; use ldaps://, set startTls: true, or set insecureAllowPlaintext: true');
          }
        });
      }
      const nested = g['nested'] ?? (c.activeDirectory === true ? 'in-chain' : 'none');
      if (nested === 'in-chain' && search === undefined) {
        issue(['groups', 'search'], `nested: in-chain${g['nested'] ? '' : ' (the default with activeDirectory: true)'} needs groups.search with a base; or set groups.nested: none to use memberOf only`);
      }
      if (nested === 'in-chain' && typeof search?.['filter'] === 'string' && !search['filter'].includes(IN_CHAIN_RULE)) {
        issue(['groups', 'search', 'filter'], `with nested: in-chain the filter must use the rule ${IN_CHAIN_RULE}, e.g. "(member:${IN_CHAIN_RULE}:={dn})"`);
      }
      if (nested === 'recursive' && g['memberOf'] === false && search === undefined) {
        issue(['groups', 'nested'], 'recursive needs a group source: groups.memberOf or groups.search');
      }
    },
    { when: (payload) => typeof payload.value === 'object' && payload.value !== null },
  );

export type LdapSourceInput = z.input<typeof ldapSourceSchema>;
export type LdapSourceConfig = z.output<typeof ldapSourceSchema>;
