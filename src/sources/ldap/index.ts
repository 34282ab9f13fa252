// The LDAP / Active Directory password source: search-and-bind or direct bind, groups, profile,
// and refresh that re-reads the user with the service account so removals take effect.
import { GateError } from '../../errors.js';
import type { Attributes, Logger } from '../../types.js';
import type { PasswordSource, SignInResult, SourceContext, SourceDeps, SourceState } from '../source.js';
import { parseAdBindError } from './ad-errors.js';
import type { LdapSourceConfig } from './config.js';
import { resolveLdapConfig, type ResolvedLdapConfig } from './resolve.js';
import {
  LdapOpError,
  RESULT_INVALID_CREDENTIALS,
  RESULT_NO_SUCH_OBJECT,
  RESULTS_TLS_REQUIRED,
  ldaptsConnector,
  tlsSettings,
  withFailover,
  type Connector,
  type LdapEntry,
  type LdapSession,
} from './connection.js';
import { MAX_PASSWORD_LENGTH, checkUsername, dnKey, fillDn, fillFilter } from './escape.js';
import { resolveGroups } from './groups.js';
import { accountRefusal, entryToAttributes, identityFromAttributes, userAttributeNames } from './identity.js';

// The schema is the config side's (config.ts): not re-exported, so the serving side never loads zod.
export type { LdapSourceConfig, LdapSourceInput } from './config.js';

/** Test seam: swap the network for a fake directory. */
export interface LdapInternals {
  connect?: Connector;
}

function rejected(reason: string, message: string, cause?: unknown, detail: Record<string, unknown> = {}): GateError {
  return new GateError('ERR_AUTH_REJECTED', message, { detail: { reason, ...detail }, ...(cause === undefined ? {} : { cause }) });
}

/** A bind the server answered with a result code: what it means, with AD's reason when it gave one. */
function bindRefusal(err: LdapOpError): { tlsRequired: boolean; why: string; reason: string; adCode?: string } {
  if (err.resultCode !== undefined && RESULTS_TLS_REQUIRED.has(err.resultCode)) {
    return { tlsRequired: true, why: 'the server requires TLS for simple binds (AD "LDAP server signing requirements", Samba "ldap server require strong auth"); use ldaps:// or startTls: true', reason: 'tls_required' };
  }
  const ad = err.resultCode === RESULT_INVALID_CREDENTIALS ? parseAdBindError(err.diagnostic) : undefined;
  if (ad) return { tlsRequired: false, why: `${ad.text} (AD data ${ad.code})`, reason: ad.reason, adCode: ad.code };
  return { tlsRequired: false, why: err.message, reason: 'invalid_credentials' };
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
  const now = deps.now ?? Date.now;

  async function serviceBind(s: LdapSession): Promise<void> {
    try {
      await s.bind(cfg.bindDn!, cfg.bindPassword!);
    } catch (err) {
      if (err instanceof LdapOpError && !err.down) {
        const r = bindRefusal(err);
        const hint = r.tlsRequired ? '' : '; check bindDn and bindPassword';
        throw new GateError('ERR_SOURCE_CONFIG', `LDAP server ${s.url} rejected the service account ${cfg.bindDn}: ${r.why}${hint}`, {
          cause: err,
          detail: { server: s.url, resultCode: err.resultCode, reason: r.reason, ...(r.adCode ? { adCode: r.adCode } : {}) },
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
    const refusal = accountRefusal(cfg, entry, now());
    if (refusal) throw rejected(refusal.reason, `the account ${entry.dn} is ${refusal.text}`);
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
        if (err instanceof LdapOpError && !err.down) {
          const r = bindRefusal(err);
          if (r.tlsRequired) {
            throw new GateError('ERR_SOURCE_CONFIG', `LDAP server ${s.url} refused the bind for ${dn}: ${r.why}`, { cause: err, detail: { server: s.url, resultCode: err.resultCode } });
          }
          // AD says why (disabled, locked, expired...); the browser still sees one generic message.
          throw rejected(r.reason, `LDAP server ${s.url} refused the sign-in of ${dn}: ${r.why}`, err, r.adCode ? { adCode: r.adCode } : {});
        }
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
    }).catch((err: unknown) => {
      // The gateway tells the browser only "invalid username or password"; the operator's log
      // says which it was (wrong password, unknown user, AD: disabled, locked, expired...).
      if (err instanceof GateError && err.code === 'ERR_AUTH_REJECTED') {
        logger.info({ username, reason: err.detail['reason'], ...(err.detail['adCode'] ? { adCode: err.detail['adCode'] } : {}), why: err.message }, 'LDAP sign-in refused');
      }
      throw err;
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

  /** Directory sync: the user by name, read with the service account (no password needed). */
  async function lookup(username: string, ctx: SourceContext): Promise<SignInResult> {
    checkUsername(username);
    return run(ctx, async (s) => {
      await serviceBind(s);
      const entry = cfg.userSearch ? await findUser(s, username) : await readEntry(s, fillDn(cfg.userDnTemplate!, username));
      if (!entry) throw rejected('user_gone', `no directory entry for user name "${username}"`);
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
  if (cfg.bindDn !== undefined) return { ...source, refresh, refreshInterval: LDAP_REFRESH_INTERVAL, lookup };
  return source;
}
