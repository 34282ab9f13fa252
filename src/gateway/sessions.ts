// The gateway session's life: start, save, refresh at the source, re-decide after a reload,
// keep NetBox's own session tied to the decision, and end (with NetBox's session and hooks).
import { createHash, randomBytes } from 'node:crypto';
import { isGateError } from '../errors.js';
import { endNetboxSession } from '../netbox/session.js';
import { decisionFingerprint } from '../policy/evaluate.js';
import type { SessionEndCause, SessionInfo, SignInResult, Source, SourceState } from '../sources/source.js';
import type { GatewayLifecycle } from '../lifecycle/gateway.js';
import { ASK, type KeyValueStore } from '../store/store.js';
import type { Decision, Identity, Logger } from '../types.js';
import { admit } from './admission.js';
import type { Runtime } from './runtime.js';

/** What a source's session-end hook is told of a session; `sessionId` is the id in the logs. */
export function sessionInfo(s: GateSession, sessionId: string = s.logId): SessionInfo {
  return { sessionId, identity: s.identity, state: s.sourceState, startedAt: s.createdAt, clientIp: s.clientIp };
}

/** GateSession.policyVersion of a session whose identity changed: decide again, as a refresh. */
const REDECIDE = '';

export interface GateSession {
  sourceId: string;
  identity: Identity;
  sourceState: SourceState;
  decision: Decision;
  /**
   * Runtime.policyVersion of the policy the decision was made under; another one (a reload
   * that changed the policy, a replica with another policy) decides again. REDECIDE after the
   * identity changed (a refresh). Sessions stored before 2026-12-07 have a per-process
   * `generation` instead and are decided again once.
   */
  policyVersion: string;
  createdAt: number;
  lastSeenAt: number;
  /** Last refresh attempt (successful or postponed because the source was away). */
  refreshedAt: number;
  /** Last time the source confirmed the user (sign-in or a successful refresh). */
  verifiedAt?: number;
  clientIp: string;
  /** NetBox's session cookie, held here and never given to the browser. */
  netboxSession?: string;
  /** The decision NetBox's session was started with; a change restarts NetBox's session. */
  netboxFingerprint?: string;
  /** Short id for logs and RADIUS accounting (not the cookie value). */
  logId: string;
}

export interface ProxyAssertion {
  source: Source & { flow: 'proxy' };
  result: SignInResult;
}

export interface Client {
  ip: string;
  proto: string;
  host: string;
}

export type SessionState = { s: GateSession; ended?: undefined } | { s?: undefined; ended: SessionEndCause | 'none' };

export const hashId = (id: string) => createHash('sha256').update(id).digest('base64url');
export const newId = () => randomBytes(32).toString('base64url');

/** Store keys: a session by the hash of its cookie value, the sessions of a NetBox user. */
export const SESSION_KEY_PREFIX = 'sess:';
export const sessionKeyOfHash = (hash: string) => `${SESSION_KEY_PREFIX}${hash}`;
export const userSessionsIndex = (username: string) => `user-sessions:${username}`;
const refreshLockKey = (hash: string) => `lock:refresh:${hash}`;

/**
 * One refresh per session across replicas: the holder has this long (longer than any source's
 * own timeouts); a holder that dies frees the lock when it expires. Others poll the session
 * for the holder's result meanwhile, never refresh themselves: providers rotate refresh tokens
 * and a replayed one revokes the whole token family.
 */
const REFRESH_LOCK_TTL = 30_000;
const REFRESH_POLL_MS = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type SessionManager = ReturnType<typeof createSessionManager>;

type RefreshResult = GateSession | 'stale' | 'gone' | 'busy' | { rejected: string };

export function createSessionManager(deps: { store: KeyValueStore; logger: Logger; now: () => number; runtime: () => Runtime; lifecycle?: () => GatewayLifecycle | undefined }) {
  const { store, logger, now, runtime } = deps;
  const refreshing = new Map<string, Promise<RefreshResult>>();
  /** Sources already reported as issuing no refresh token (said once per process). */
  const toldNoRefresh = new Set<string>();
  // The store key of a cookie value, remembered: a SHA-256 per request showed in profiles of
  // the signed-in path. Bounded (cleared when full), so random cookie values cannot grow it.
  const keyOfId = new Map<string, string>();
  const sessionKey = (id: string) => {
    let k = keyOfId.get(id);
    if (k === undefined) {
      if (keyOfId.size >= 10_000) keyOfId.clear();
      k = sessionKeyOfHash(hashId(id));
      keyOfId.set(id, k);
    }
    return k;
  };

  const sessionTtl = () => runtime().cfg.sessions.idleTimeout;
  // Kept a grace period past expiry so the next request sees the session expire and ends it
  // properly (logged, NetBox session ended, RADIUS accounting Stop) instead of it vanishing.
  const EXPIRY_GRACE = 10 * 60_000;
  const ttlOf = (s: GateSession) => Math.max(1000, Math.min(sessionTtl(), s.createdAt + runtime().cfg.sessions.absoluteTimeout - now())) + EXPIRY_GRACE;
  /**
   * Writes an existing session back; false when it is gone meanwhile (revoked, signed out on
   * another replica): a request that read it earlier must not bring it back.
   */
  const saveSession = async (id: string, s: GateSession, opts: { refreshed?: boolean } = {}): Promise<boolean> => {
    if (!opts.refreshed) {
      // This request read the session before another replica may have refreshed it: writing
      // back its copy would restore a used (rotated) refresh token. Keep the newer source state.
      const cur = await store.get<GateSession>(sessionKey(id));
      if (!cur) return false;
      if (cur.refreshedAt > s.refreshedAt) {
        s.identity = cur.identity;
        s.sourceState = cur.sourceState;
        s.refreshedAt = cur.refreshedAt;
        if (cur.verifiedAt !== undefined) s.verifiedAt = cur.verifiedAt;
        s.decision = cur.decision;
        s.policyVersion = cur.policyVersion;
      }
    }
    return store.update(sessionKey(id), s, ttlOf(s));
  };

  const endNetbox = (netboxSession: string | undefined): Promise<void> => {
    if (!netboxSession) return Promise.resolve();
    const rt = runtime();
    return endNetboxSession(rt.target, { logoutPath: rt.cfg.netbox.logoutPath, sessionCookie: rt.cfg.netbox.sessionCookie, host: rt.publicUrl.host }, netboxSession, logger);
  };

  /** With `wait`, returns once NetBox has ended its session too (sign-out); else in the background. */
  const endSession = (id: string, s: GateSession | undefined, cause: SessionEndCause, wait = false) => endSessionByHash(hashId(id), s, cause, wait);

  const endSessionByHash = async (hash: string, s: GateSession | undefined, cause: SessionEndCause, wait = false) => {
    await store.delete(sessionKeyOfHash(hash));
    if (!s) return;
    runtime().metrics?.sessionEnded({ cause });
    await store.removeFromIndex(userSessionsIndex(s.decision.username), hash);
    const nbDone = endNetbox(s.netboxSession);
    if (wait) await nbDone;
    const src = runtime().sources.get(s.sourceId);
    logger.info({ audit: 'session_end', source: s.sourceId, user: s.identity.username, session: s.logId, cause }, `session ended (${cause})`);
    if (src?.onSessionEnd) {
      src
        .onSessionEnd(sessionInfo(s), cause)
        .catch((err: unknown) => logger.warn({ err: (err as Error).message, source: s.sourceId }, 'session end hook failed'));
    }
  };

  const startSession = async (result: SignInResult, src: Source, decision: Decision, client: Client): Promise<{ id: string; session: GateSession }> => {
    const id = newId();
    const t = now();
    const s: GateSession = {
      sourceId: src.id,
      identity: result.identity,
      sourceState: result.state,
      decision,
      policyVersion: runtime().policyVersion,
      createdAt: t,
      lastSeenAt: t,
      refreshedAt: t,
      verifiedAt: t,
      clientIp: client.ip,
      logId: hashId(id).slice(0, 16),
    };
    await store.set(sessionKey(id), s, ttlOf(s));
    await store.addToIndex(userSessionsIndex(decision.username), hashId(id), runtime().cfg.sessions.absoluteTimeout + EXPIRY_GRACE);
    if (src.refresh && src.canRefresh?.(s.sourceState) === false && !toldNoRefresh.has(src.id)) {
      toldNoRefresh.add(src.id);
      logger.warn(
        { source: src.id },
        `${src.displayName} issued no refresh token: its sessions last until their idle or absolute timeout, and group changes at the source reach NetBox only at the next sign-in`,
      );
    }
    if (src.onSessionStart) {
      src
        .onSessionStart({ sessionId: s.logId, identity: s.identity, state: s.sourceState, startedAt: t, clientIp: client.ip })
        .catch((err: unknown) => logger.warn({ err: (err as Error).message, source: src.id }, 'session start hook failed'));
    }
    return { id, session: s };
  };

  /**
   * Every session of a NetBox user, on every replica (the store's per-user index; a replica
   * holding one finds it gone at its next request). Deprovisioning calls it.
   */
  const endUserSessions = async (username: string): Promise<number> => {
    const index = userSessionsIndex(username);
    let ended = 0;
    for (const hash of await store.indexMembers(index)) {
      const s = await store.get<GateSession>(sessionKeyOfHash(hash));
      if (!s || s.decision.username !== username) {
        await store.removeFromIndex(index, hash);
        continue;
      }
      await endSessionByHash(hash, s, 'revoked', true);
      ended++;
    }
    return ended;
  };

  /** A session learned the user may no longer use NetBox: deprovision (needs netbox.api). */
  const revokeUser = (s: GateSession, src: Source | undefined, detail: string, reload = false) => {
    const trigger = reload ? 'reload' : src?.kind === 'ldap' ? 'ldap' : 'refresh';
    deps.lifecycle?.()?.revoked(s.decision.username, { trigger, detail: `${s.sourceId}: ${detail}` });
  };

  /** Asks the source, holding the session's refresh lock; `s` is the freshest stored copy. */
  const refreshHolding = async (id: string, s: GateSession, src: Source, client: Client): Promise<RefreshResult> => {
    try {
      const r = await src.refresh!(s.sourceState, { clientIp: client.ip });
      s.identity = r.identity;
      s.sourceState = r.state;
      s.refreshedAt = s.verifiedAt = now();
      s.policyVersion = REDECIDE;
      // One line per refresh (minutes apart, not the hot path): shows which replica asked.
      logger.info({ source: s.sourceId, user: s.identity.username, session: s.logId }, 'session refreshed at the source');
    } catch (err) {
      if (!isGateError(err, 'ERR_SOURCE_UNAVAILABLE')) {
        logger.info({ audit: 'refresh', source: s.sourceId, user: s.identity.username, allowed: false, reason: (err as Error).message }, 'refresh rejected');
        return { rejected: (err as Error).message };
      }
      const t = now();
      const away = t - (s.verifiedAt ?? s.refreshedAt);
      if (away >= runtime().cfg.sessions.maxStale) {
        logger.warn({ audit: 'refresh', source: s.sourceId, user: s.identity.username, allowed: false, reason: 'source unavailable past sessions.maxStale', err: err.message }, 'refresh failed for too long');
        return 'stale';
      }
      // Keep the user working while the source is briefly away; try again next interval.
      logger.warn({ source: s.sourceId, user: s.identity.username, err: err.message }, 'refresh postponed: source unavailable');
      s.refreshedAt = t;
    }
    // Stored before the lock is released, so a replica waiting for this refresh finds the new
    // tokens, never the used refresh token.
    return (await saveSession(id, s, { refreshed: true })) ? s : 'gone';
  };

  /**
   * Asks the source again. Resolves to the updated session, 'stale' when the source has been
   * away for longer than sessions.maxStale, { rejected } when the source refused the user, 'gone'
   * when the session ended elsewhere meanwhile, 'busy' when another replica's refresh neither
   * finished nor gave up in time. One refresh at a time per session: concurrent requests in
   * this process share it; other replicas wait for it through the store's lock.
   */
  const refreshAtSource = (id: string, s: GateSession, src: Source, client: Client): Promise<RefreshResult> => {
    const key = sessionKey(id);
    let p = refreshing.get(key);
    if (p) return p;
    p = (async (): Promise<RefreshResult> => {
      try {
        for (let i = 0; i * REFRESH_POLL_MS < REFRESH_LOCK_TTL + 1000; i++) {
          const lock = await store.tryLock(refreshLockKey(hashId(id)), REFRESH_LOCK_TTL);
          try {
            const cur = await store.get<GateSession>(key);
            if (!cur) return 'gone';
            // Another replica refreshed since this request read the session: use its result.
            if (cur.refreshedAt !== s.refreshedAt) return cur;
            if (lock) return await refreshHolding(id, cur, src, client);
          } finally {
            await lock?.release();
          }
          await sleep(REFRESH_POLL_MS);
        }
        logger.warn({ source: s.sourceId, user: s.identity.username, session: s.logId }, 'refresh still running elsewhere; going on with the current session');
        return 'busy';
      } finally {
        refreshing.delete(key);
      }
    })();
    refreshing.set(key, p);
    return p;
  };

  /**
   * Brings a session up to date: expiry, refresh at the source, re-decision after a reload.
   * Returns the cause when the session has ended (the end is logged).
   */
  const currentSession = async (id: string, client: Client, asserted: ProxyAssertion | undefined): Promise<SessionState> => {
    const key = sessionKey(id);
    const rt = runtime();
    const t = now();
    // The usual request: a session with nothing to do. It is used as the store shares it
    // (parsed once per stored value and frozen), not parsed again for every request. Anything
    // else works on a copy below.
    if (store.getShared) {
      const shared = await store.getShared<GateSession>(key);
      if (!shared) return { ended: 'none' };
      if (untouched(shared, rt, t)) return { s: shared };
      return bringUpToDate(id, structuredClone(shared), client, asserted, rt, t);
    }
    const s = await store.get<GateSession>(key);
    if (!s) return { ended: 'none' };
    return bringUpToDate(id, s, client, asserted, rt, t);
  };

  /**
   * currentSession without waiting, for the usual request: the session as the store holds it
   * in this process, with nothing to do. Undefined when only currentSession can say (the store
   * must be asked, or the session needs work).
   */
  const currentSessionNow = (id: string): SessionState | undefined => {
    if (!store.peekShared) return undefined;
    const shared = store.peekShared<GateSession>(sessionKey(id));
    if (shared === ASK) return undefined;
    if (!shared) return { ended: 'none' };
    return untouched(shared, runtime(), now()) ? { s: shared } : undefined;
  };

  /**
   * True when bringUpToDate would change nothing and end nothing: each condition below is the
   * negation of one of its branches, in its order.
   */
  const untouched = (s: Readonly<GateSession>, rt: Runtime, t: number): boolean => {
    if (expired(s, rt, t)) return false;
    const src = rt.sources.get(s.sourceId);
    if (!src || src.flow === 'proxy') return false;
    if (refreshDue(s, src, t)) return false;
    if (s.policyVersion !== rt.policyVersion) return false;
    if (s.netboxSession && s.netboxFingerprint !== decisionFingerprint(s.decision)) return false;
    return !(t - s.lastSeenAt > lastSeenEvery(rt));
  };
  const expired = (s: Readonly<GateSession>, rt: Runtime, t: number) => t - s.createdAt >= rt.cfg.sessions.absoluteTimeout || t - s.lastSeenAt >= rt.cfg.sessions.idleTimeout;
  const refreshDue = (s: Readonly<GateSession>, src: Source, t: number) =>
    src.refresh !== undefined && src.refreshInterval !== undefined && src.canRefresh?.(s.sourceState) !== false && t - s.refreshedAt >= src.refreshInterval;
  // Writing on every request would cost a store write per asset; a fraction of the idle
  // timeout keeps the idle clock accurate enough.
  const lastSeenEvery = (rt: Runtime) => Math.min(30_000, rt.cfg.sessions.idleTimeout / 10);

  const bringUpToDate = async (id: string, s: GateSession, client: Client, asserted: ProxyAssertion | undefined, rt: Runtime, t: number): Promise<SessionState> => {
    if (expired(s, rt, t)) {
      await endSession(id, s, 'expired');
      return { ended: 'expired' };
    }
    const src = rt.sources.get(s.sourceId);
    if (!src) {
      await endSession(id, s, 'revoked');
      return { ended: 'revoked' };
    }
    let changed = false;
    if (src.flow === 'proxy') {
      // A proxy asserts the identity on every request: a different user, or none, ends this
      // session; changed groups are a refresh.
      if (!asserted || asserted.source.id !== s.sourceId || asserted.result.identity.username !== s.identity.username) {
        await endSession(id, s, 'revoked');
        return { ended: 'revoked' };
      }
      // Assertions carry per-request claims (iat, exp, jti): only a different decision counts.
      const d = admit(rt, logger, 'refresh', asserted.result.identity, { audit: 'never' });
      if (d.allowed !== s.decision.allowed || decisionFingerprint(d) !== decisionFingerprint(s.decision)) {
        s.identity = asserted.result.identity;
        s.sourceState = asserted.result.state;
        s.policyVersion = REDECIDE;
      }
    }
    if (refreshDue(s, src, t)) {
      const r = await refreshAtSource(id, s, src, client);
      if (r === 'gone') return { ended: 'revoked' };
      if (r === 'stale') {
        await endSession(id, s, 'stale');
        return { ended: 'stale' };
      }
      if (typeof r === 'object' && 'rejected' in r) {
        await endSession(id, s, 'revoked');
        revokeUser(s, src, `refresh rejected: ${r.rejected}`);
        return { ended: 'revoked' };
      }
      if (r !== 'busy') {
        Object.assign(s, r);
        changed = true;
      }
    }
    if (s.policyVersion !== rt.policyVersion) {
      const event = s.policyVersion === REDECIDE ? 'refresh' : 'policy_reload';
      const d = admit(rt, logger, event, s.identity, { clientIp: client.ip, audit: event === 'refresh' ? 'always' : 'if-changed', previous: s.decision });
      s.decision = d;
      s.policyVersion = rt.policyVersion;
      changed = true;
      if (!d.allowed) {
        await endSession(id, s, 'denied');
        revokeUser(s, src, `the policy now denies the user (${d.reasonCode ?? 'denied'})`, event === 'policy_reload');
        return { ended: 'denied' };
      }
    }
    // Tie NetBox's session to this decision: NetBox only syncs groups and is_superuser when
    // its session starts, so a changed decision starts a fresh NetBox session.
    // (Only with a NetBox session: serialising the decision on every request showed in profiles.)
    if (s.netboxSession && s.netboxFingerprint !== decisionFingerprint(s.decision)) {
      void endNetbox(s.netboxSession);
      delete s.netboxSession;
      changed = true;
    }
    if (changed || t - s.lastSeenAt > lastSeenEvery(rt)) {
      s.lastSeenAt = t;
      if (!(await saveSession(id, s))) return { ended: 'revoked' };
    }
    return { s };
  };

  return { sessionKey, saveSession, endSession, endUserSessions, startSession, currentSession, currentSessionNow };
}
