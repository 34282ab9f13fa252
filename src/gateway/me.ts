// "Who am I" (`/.netbox-gate/me`): the signed-in user's identity and source, the source's groups,
// what the policy gave them in NetBox and why (the rule trace), and the session's timeline. It
// answers "I signed in but I am not a superuser: why?" without a shell. Never a token, never
// the session id: only what the decision and the session's clock already say.
import type http from 'node:http';
import type { TraceEntry } from '../types.js';
import { gatewayCookieNames, type GatewayContext } from './context.js';
import { clearCookie, getCookie } from './cookies.js';
import { mePage } from './pages.js';
import { redirect, sendHtml, sendJson, sendOutcome } from './respond.js';
import type { Client, GateSession, ProxyAssertion } from './sessions.js';

export interface WhoAmI {
  user: { username: string; subject: string; email?: string; firstName?: string; lastName?: string };
  source: { id: string; kind: string; displayName: string };
  /** The source's own groups, before the policy. */
  sourceGroups: string[];
  /** What the policy gave in NetBox. */
  netbox: { groups: string[]; superuser: boolean; staff: boolean };
  trace: TraceEntry[];
  session: {
    startedAt: string;
    lastSeenAt: string;
    /** When the session ends without activity, and at the latest. */
    idleExpiresAt: string;
    absoluteExpiresAt: string;
    /** Next time the gateway asks the source again; null with the reason when it never does. */
    nextRefreshAt: string | null;
    refreshNote?: string;
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

export function describeSession(ctx: GatewayContext, s: GateSession): WhoAmI {
  const rt = ctx.rt();
  const src = rt.sources.get(s.sourceId);
  const id = s.identity;
  const user: WhoAmI['user'] = { username: s.decision.username || id.username, subject: id.subject };
  if (id.email) user.email = id.email;
  if (id.firstName) user.firstName = id.firstName;
  if (id.lastName) user.lastName = id.lastName;
  let nextRefreshAt: string | null = null;
  let refreshNote: string | undefined;
  if (src?.flow === 'proxy') refreshNote = `not refreshed: ${src.displayName} asserts the identity on every request`;
  else if (!src?.refresh || src.refreshInterval === undefined) refreshNote = `not refreshed: ${src?.displayName ?? s.sourceId} is asked only at sign-in`;
  else if (src.canRefresh?.(s.sourceState) === false) refreshNote = 'not refreshed: the provider issued no refresh token';
  else nextRefreshAt = iso(s.refreshedAt + src.refreshInterval);
  const out: WhoAmI = {
    user,
    source: { id: s.sourceId, kind: id.sourceKind, displayName: src?.displayName ?? s.sourceId },
    sourceGroups: [...id.groups],
    netbox: { groups: [...s.decision.groups], superuser: s.decision.superuser, staff: s.decision.staff },
    trace: s.decision.trace.map((t) => ({ rule: t.rule, effect: t.effect, matched: [...t.matched], groups: [...t.groups], superuser: t.superuser, staff: t.staff })),
    session: {
      startedAt: iso(s.createdAt),
      lastSeenAt: iso(s.lastSeenAt),
      idleExpiresAt: iso(Math.min(s.lastSeenAt + rt.cfg.sessions.idleTimeout, s.createdAt + rt.cfg.sessions.absoluteTimeout)),
      absoluteExpiresAt: iso(s.createdAt + rt.cfg.sessions.absoluteTimeout),
      nextRefreshAt,
    },
  };
  if (refreshNote) out.session.refreshNote = refreshNote;
  return out;
}

const wantsJson = (req: http.IncomingMessage) => (req.headers.accept ?? '').includes('application/json');

/**
 * GET <prefix>/me. The session is brought up to date exactly as for a NetBox request (expiry,
 * refresh, re-decision), so the page shows what the next request to NetBox would carry.
 */
export async function whoAmI(ctx: GatewayContext, req: http.IncomingMessage, res: http.ServerResponse, client: Client, loginUrl: (next: string) => string): Promise<void> {
  const rt = ctx.rt();
  const prefix = rt.cfg.server.pathPrefix;
  const cookieName = gatewayCookieNames(rt.cfg.sessions.cookieName).session;
  const id = getCookie(req.headers.cookie, cookieName);
  let s: GateSession | undefined;
  if (id) {
    let asserted: ProxyAssertion | undefined;
    // A trusted proxy asserts its user on every request; without the assertion the session
    // manager would take this request for a different user and end the session.
    for (const src of rt.sources.values()) {
      if (src.flow !== 'proxy') continue;
      try {
        const r = await src.identify({ remoteAddress: req.socket.remoteAddress ?? '', headers: req.headers }, { clientIp: client.ip });
        if (r) {
          asserted = { source: src, result: r };
          break;
        }
      } catch {
        return sendOutcome(req, res, { kind: 'proxy_unverifiable', source: src.displayName });
      }
    }
    s = (await ctx.sessions.currentSession(id, client, asserted)).s;
  }
  const json = wantsJson(req);
  if (!s) {
    const cookies = id ? [clearCookie(cookieName, { secure: rt.secureCookies })] : [];
    if (json) return sendJson(res, 401, { detail: 'Authentication required: sign in through the gateway.' }, cookies.length ? { 'Set-Cookie': cookies } : {});
    return redirect(res, loginUrl('/'), cookies);
  }
  const me = describeSession(ctx, s);
  if (json) return sendJson(res, 200, me);
  return sendHtml(res, 200, mePage(me, { signOutHref: `${prefix}/logout`, now: ctx.now() }));
}
