// The gateway session's life: start, save, refresh at the source, re-decide after a reload,
// keep NetBox's own session tied to the decision, and end (with NetBox's session and hooks).
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { auditDecision } from '../audit/audit.js';
import { isGateError } from '../errors.js';
import { decide, decisionFingerprint } from '../policy/evaluate.js';
import type { SessionEndCause, SignInResult, Source, SourceState } from '../sources/source.js';
import type { KeyValueStore } from '../store/store.js';
import type { Decision, Identity, Logger } from '../types.js';
import type { Runtime } from './runtime.js';

export interface GateSession {
  sourceId: string;
  identity: Identity;
  sourceState: SourceState;
  decision: Decision;
  /** Runtime generation the decision was made under; a reload re-decides. */
  generation: number;
  createdAt: number;
  lastSeenAt: number;
  refreshedAt: number;
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

export const hashId = (id: string) => createHash('sha256').update(id).digest('base64url');
export const newId = () => randomBytes(32).toString('base64url');

export function createSessionManager(deps: { store: KeyValueStore; logger: Logger; now: () => number; runtime: () => Runtime }) {
  const { store, logger, now, runtime } = deps;
  const refreshing = new Map<string, Promise<GateSession | undefined>>();
  const sessionKey = (id: string) => `sess:${hashId(id)}`;

  const sessionTtl = () => runtime().cfg.sessions.idleTimeout;
  // Kept a grace period past expiry so the next request sees the session expire and ends it
  // properly (logged, NetBox session ended, RADIUS accounting Stop) instead of it vanishing.
  const EXPIRY_GRACE = 10 * 60_000;
  const saveSession = (id: string, s: GateSession) =>
    store.set(sessionKey(id), s, Math.max(1000, Math.min(sessionTtl(), s.createdAt + runtime().cfg.sessions.absoluteTimeout - now())) + EXPIRY_GRACE);

  /** Ends NetBox's server-side session, so the old cookie is dead even at NetBox. Never throws. */
  const endNetboxSession = (netboxSession: string | undefined): Promise<void> => {
    if (!netboxSession) return Promise.resolve();
    const t = runtime().target;
    return new Promise<void>((resolve) => {
      const req = (t.url.protocol === 'https:' ? https : http).request({
        protocol: t.url.protocol,
        hostname: t.url.hostname,
        port: t.url.port,
        method: 'GET',
        path: t.url.pathname.replace(/\/+$/, '') + runtime().cfg.netbox.logoutPath,
        headers: { Host: runtime().publicUrl.host, Cookie: `${runtime().cfg.netbox.sessionCookie}=${netboxSession}` },
        agent: t.agent,
        timeout: 10_000,
      });
      req.on('response', (r) => {
        r.resume();
        r.on('end', resolve);
      });
      req.on('error', (err) => {
        logger.warn({ err: err.message }, 'could not end the NetBox session');
        resolve();
      });
      req.on('timeout', () => req.destroy(new Error('NetBox logout timed out')));
      req.end();
    });
  };

  /** With `wait`, returns once NetBox has ended its session too (sign-out); else in the background. */
  const endSession = async (id: string, s: GateSession | undefined, cause: SessionEndCause, wait = false) => {
    await store.delete(sessionKey(id));
    if (!s) return;
    const nbDone = endNetboxSession(s.netboxSession);
    if (wait) await nbDone;
    const src = runtime().sources.get(s.sourceId);
    logger.info({ audit: 'session_end', source: s.sourceId, user: s.identity.username, session: s.logId, cause }, `session ended (${cause})`);
    if (src?.onSessionEnd) {
      src
        .onSessionEnd({ sessionId: s.logId, identity: s.identity, state: s.sourceState, startedAt: s.createdAt, clientIp: s.clientIp }, cause)
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
      generation: runtime().generation,
      createdAt: t,
      lastSeenAt: t,
      refreshedAt: t,
      clientIp: client.ip,
      logId: hashId(id).slice(0, 16),
    };
    await saveSession(id, s);
    if (src.onSessionStart) {
      src
        .onSessionStart({ sessionId: s.logId, identity: s.identity, state: s.sourceState, startedAt: t, clientIp: client.ip })
        .catch((err: unknown) => logger.warn({ err: (err as Error).message, source: src.id }, 'session start hook failed'));
    }
    return { id, session: s };
  };

  const refreshIntervalOf = (src: Source): number | undefined => {
    const c = runtime().cfg.sources.find((x) => x.id === src.id) as { refreshInterval?: number } | undefined;
    return src.refresh ? (c?.refreshInterval ?? 5 * 60_000) : undefined;
  };

  /**
   * Brings a session up to date: expiry, refresh at the source, re-decision after a reload.
   * Returns undefined when the session has ended (the cause is logged).
   */
  const currentSession = async (
    id: string,
    client: Client,
    asserted: ProxyAssertion | undefined,
  ): Promise<{ s: GateSession; ended?: undefined } | { s?: undefined; ended: SessionEndCause | 'none' }> => {
    const s = await store.get<GateSession>(sessionKey(id));
    if (!s) return { ended: 'none' };
    const t = now();
    if (t - s.createdAt >= runtime().cfg.sessions.absoluteTimeout || t - s.lastSeenAt >= runtime().cfg.sessions.idleTimeout) {
      await endSession(id, s, 'expired');
      return { ended: 'expired' };
    }
    const src = runtime().sources.get(s.sourceId);
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
      const d = decide(runtime().cfg.policy, asserted.result.identity);
      if (d.allowed !== s.decision.allowed || decisionFingerprint(d) !== decisionFingerprint(s.decision)) {
        s.identity = asserted.result.identity;
        s.sourceState = asserted.result.state;
        s.generation = -1;
      }
    }
    const interval = refreshIntervalOf(src);
    if (interval !== undefined && t - s.refreshedAt >= interval && src.refresh) {
      const key = sessionKey(id);
      let p = refreshing.get(key);
      if (!p) {
        p = (async () => {
          try {
            const r = await src.refresh!(s.sourceState, { clientIp: client.ip });
            s.identity = r.identity;
            s.sourceState = r.state;
            s.refreshedAt = now();
            s.generation = -1; // re-decide below
            return s;
          } catch (err) {
            if (isGateError(err, 'ERR_SOURCE_UNAVAILABLE')) {
              // Keep the user working while the IdP is briefly away; try again next interval.
              logger.warn({ source: s.sourceId, user: s.identity.username, err: err.message }, 'refresh postponed: source unavailable');
              s.refreshedAt = now();
              return s;
            }
            logger.info({ audit: 'refresh', source: s.sourceId, user: s.identity.username, allowed: false, reason: (err as Error).message }, 'refresh rejected');
            return undefined;
          } finally {
            refreshing.delete(key);
          }
        })();
        refreshing.set(key, p);
      }
      const r = await p;
      if (!r) {
        await endSession(id, s, 'revoked');
        return { ended: 'revoked' };
      }
      Object.assign(s, r);
      changed = true;
    }
    if (s.generation !== runtime().generation) {
      const d = decide(runtime().cfg.policy, s.identity);
      const changedDecision = decisionFingerprint(d) !== decisionFingerprint(s.decision) || d.allowed !== s.decision.allowed;
      if (changedDecision || s.generation === -1) auditDecision(logger, s.generation === -1 ? 'refresh' : 'policy_reload', d, { clientIp: client.ip, sourceGroups: s.identity.groups });
      s.decision = d;
      s.generation = runtime().generation;
      changed = true;
      if (!d.allowed) {
        await endSession(id, s, 'denied');
        return { ended: 'denied' };
      }
    }
    // Tie NetBox's session to this decision: NetBox only syncs groups and is_superuser when
    // its session starts, so a changed decision starts a fresh NetBox session.
    const fp = decisionFingerprint(s.decision);
    if (s.netboxSession && s.netboxFingerprint !== fp) {
      void endNetboxSession(s.netboxSession);
      delete s.netboxSession;
      changed = true;
    }
    // Writing on every request would cost a store write per asset; a fraction of the idle
    // timeout keeps the idle clock accurate enough.
    if (changed || t - s.lastSeenAt > Math.min(30_000, runtime().cfg.sessions.idleTimeout / 10)) {
      s.lastSeenAt = t;
      await saveSession(id, s);
    }
    return { s };
  };

  return { sessionKey, saveSession, endSession, startSession, currentSession };
}
