// The LDAP / Active Directory password source: search-and-bind or direct bind, groups, profile,
// and refresh that re-reads the user with the service account so removals take effect.
import { GateError } from '../../errors.js';
import type { Attributes, Logger } from '../../types.js';
import type { PasswordSource, SignInResult, SourceContext, SourceDeps, SourceState } from '../source.js';
import { resolveLdapConfig, type LdapSourceConfig, type ResolvedLdapConfig } from './config.js';
import {
  LdapOpError,
  RESULT_NO_SUCH_OBJECT,
  ldaptsConnector,
  tlsSettings,
  withFailover,
  type Connector,
  type LdapEntry,
  type LdapSession,
} from './connection.js';
import { MAX_PASSWORD_LENGTH, checkUsername, dnKey, fillDn, fillFilter } from './escape.js';
import { resolveGroups } from './groups.js';
import { entryToAttributes, identityFromAttributes, isDisabled, userAttributeNames } from './identity.js';

export { ldapSourceSchema, type LdapSourceConfig, type LdapSourceInput } from './config.js';

/** Test seam: swap the network for a fake directory. */
export interface LdapInternals {
  connect?: Connector;
}

function rejected(reason: string, message: string, cause?: unknown): GateError {
  return new GateError('ERR_AUTH_REJECTED', message, { detail: { reason }, ...(cause === undefined ? {} : { cause }) });
}

/** The user is searched again this often, so directory changes reach NetBox without a new sign-in. */
const LDAP_REFRESH_INTERVAL = 5 * 60_000;

export function createLdapSource(config: LdapSourceConfig, deps: SourceDeps, internals: LdapInternals = {}): PasswordSource {
  const cfg: ResolvedLdapConfig = resolveLdapConfig(config);
  const logger: Logger = deps.logger.child({ kind: 'ldap' });
  const connect = internals.connect ?? ldaptsConnector(cfg, tlsSettings(cfg));
  if (cfg.tls.insecureSkipVerify) logger.warn({}, 'tls.insecureSkipVerify is on: LDAP server certificates are not checked');
  const attributes = userAttributeNames(cfg);
  const live = new Set<AbortController>();

  async function serviceBind(s: LdapSession): Promise<void> {
    try {
      await s.bind(cfg.bindDn!, cfg.bindPassword!);
    } catch (err) {
      if (err instanceof LdapOpError && !err.down) {
        throw new GateError('ERR_SOURCE_CONFIG', `LDAP server ${s.url} rejected the service account ${cfg.bindDn} (${err.message}); check bindDn and bindPassword`, {
          cause: err,
          detail: { server: s.url, resultCode: err.resultCode },
        });
      }
      throw err;
    }
  }

  /** The user's entry found by userSearch; undefined when no entry matches. */
  async function findUser(s: LdapSession, username: string): Promise<LdapEntry | undefined> {
    const us = cfg.userSearch!;
    const entries = await s.search(us.base, { scope: us.scope, filter: fillFilter(us.filter, { username }), attributes, sizeLimit: 2 });
    if (entries.length > 1) {
      logger.warn({ username, matches: entries.length }, 'LDAP userSearch matched more than one entry; refusing to guess');
      throw rejected('user_ambiguous', `user name "${username}" matches more than one directory entry`);
    }
    return entries[0];
  }

  async function readEntry(s: LdapSession, dn: string): Promise<LdapEntry | undefined> {
    try {
      const [e] = await s.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes, sizeLimit: 1 });
      return e;
    } catch (err) {
      if (err instanceof LdapOpError && err.resultCode === RESULT_NO_SUCH_OBJECT) return undefined;
      throw err;
    }
  }

  async function finish(s: LdapSession, entry: LdapEntry, typed: string): Promise<SignInResult> {
    if (isDisabled(cfg, entry)) throw rejected('account_disabled', `the account ${entry.dn} is disabled`);
    const groups = await resolveGroups(s, cfg, { dn: entry.dn, username: typed, memberOf: entry.attrs['memberof'] ?? [] }, logger);
    const identity = identityFromAttributes(cfg, entryToAttributes(cfg, entry, groups));
    return { identity, state: { dn: entry.dn, username: identity.username } };
  }

  function run<T>(ctx: SourceContext, fn: (s: LdapSession) => Promise<T>): Promise<T> {
    const ac = new AbortController();
    const onAbort = () => ac.abort();
    ctx.signal?.addEventListener('abort', onAbort, { once: true });
    if (ctx.signal?.aborted) ac.abort();
    live.add(ac);
    return withFailover(cfg.urls, connect, fn, { logger, signal: ac.signal, sourceId: cfg.id, metrics: deps.metrics }).finally(() => {
      live.delete(ac);
      ctx.signal?.removeEventListener('abort', onAbort);
    });
  }

  async function authenticate(username: string, password: string, ctx: SourceContext): Promise<SignInResult> {
    checkUsername(username);
    // An empty password makes a simple bind "unauthenticated" (RFC 4513 5.1.2), which many
    // servers answer with success: it must never reach the server.
    if (typeof password !== 'string' || password.length === 0) throw rejected('empty_password', 'empty password');
    if (password.length > MAX_PASSWORD_LENGTH) throw rejected('password_too_long', 'password too long');

    const result = await run(ctx, async (s) => {
      let entry: LdapEntry | undefined;
      let dn: string;
      if (cfg.userSearch) {
        await serviceBind(s);
        entry = await findUser(s, username);
        if (!entry) throw rejected('user_not_found', `no directory entry for user name "${username}"`);
        dn = entry.dn;
      } else {
        dn = fillDn(cfg.userDnTemplate!, username);
      }
      try {
        await s.bind(dn, password);
      } catch (err) {
        if (err instanceof LdapOpError && !err.down) throw rejected('invalid_credentials', `LDAP server ${s.url} rejected the password for ${dn}`, err);
        throw err;
      }
      // Groups and the entry are read with the service account where there is one, so what
      // the user may read of the directory does not change their groups.
      if (cfg.bindDn !== undefined) await serviceBind(s);
      if (!entry) {
        entry = await readEntry(s, dn);
        if (!entry) {
          throw new GateError('ERR_SOURCE_CONFIG', `LDAP user ${dn} signed in but its entry cannot be read; grant read access to it or set bindDn`, {
            detail: { server: s.url },
          });
        }
      }
      return finish(s, entry, username);
    });
    logger.info({ username: result.identity.username, dn: result.identity.subject, groups: result.identity.groups.length }, 'LDAP sign-in accepted');
    return result;
  }

  async function refresh(state: SourceState, ctx: SourceContext): Promise<SignInResult> {
    const dn = state['dn'];
    const username = state['username'];
    if (typeof dn !== 'string' || typeof username !== 'string' || dn === '') {
      throw rejected('state_invalid', 'LDAP session state has no user DN');
    }
    return run(ctx, async (s) => {
      await serviceBind(s);
      let entry: LdapEntry | undefined;
      if (cfg.userSearch) {
        // Search again by name, so a user who no longer matches the filter (e.g. a required
        // group in it) is refused too, not only a deleted one.
        checkUsername(username);
        entry = await findUser(s, username);
        if (entry && dnKey(entry.dn) !== dnKey(dn)) entry = undefined;
      } else {
        entry = await readEntry(s, dn);
      }
      if (!entry) throw rejected('user_gone', `the LDAP user ${dn} no longer exists or no longer matches userSearch`);
      return finish(s, entry, username);
    });
  }

  const source: PasswordSource = {
    id: cfg.id,
    kind: 'ldap',
    flow: 'password',
    displayName: cfg.displayName ?? cfg.id,
    authenticate,
    identityFromAttributes: (attrs: Attributes) => identityFromAttributes(cfg, attrs),
    async close() {
      for (const ac of live) ac.abort();
    },
  };
  // Refresh needs the service account: without one the gateway cannot look the user up.
  if (cfg.bindDn !== undefined) return { ...source, refresh, refreshInterval: LDAP_REFRESH_INTERVAL };
  return source;
}
