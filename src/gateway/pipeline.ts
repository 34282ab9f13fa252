// The request pipeline, in the order a request meets it:
//   1. the request target is checked; the gateway's own pages are served under the prefix;
//   2. NetBox API tokens pass untouched (no identity headers ever);
//   3. a trusted upstream proxy's identity assertion is verified;
//   4. the gateway session is brought up to date (expiry, refresh, re-decision);
//   5. NetBox's logout path signs out; a proxy-asserted user without a session is admitted;
//   6. no session: sign-in page (browsers) or 401 (API clients);
//   7. NetBox's login path sends a signed-in user on; everything else goes to NetBox with
//      the identity headers, and NetBox refusing that user gets a clear page.
import type http from 'node:http';
import { decisionFingerprint } from '../policy/evaluate.js';
import { admitSignIn } from './admission.js';
import { clientOf } from './client.js';
import { gatewayCookieNames, type GatewayContext } from './context.js';
import { clearCookie, getCookie, serializeCookie } from './cookies.js';
import type { Lane } from '../netbox/target.js';
import { proxyRequest, readSmallBody, UpstreamError } from './proxy.js';
import { safeReturnPath } from './redirect.js';
import { requestTarget, type RequestTarget } from './target-path.js';
import { redirect, sendJson, sendOutcome, wantsHtml } from './respond.js';
import type { createRoutes } from './routes.js';
import type { Client, GateSession, ProxyAssertion, SessionState } from './sessions.js';
import type { createSignIn } from './signin.js';

/** Token requests with a body up to this size are read whole before a NetBox connection is taken. */
const SMALL_BODY = 64 * 1024;

export function createPipeline(ctx: GatewayContext, routes: ReturnType<typeof createRoutes>, signIn: ReturnType<typeof createSignIn>) {
  const { logger } = ctx;

  const proxy = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    client: Client,
    session?: { id: string; s: GateSession },
    setCookies: string[] = [],
    lane: Lane = 'session',
    body?: Buffer,
  ): Promise<unknown> => {
    const rt = ctx.rt();
    const metrics = rt.metrics;
    const started = metrics ? performance.now() : 0;
    try {
      const r = await proxyRequest(req, res, {
        ...(metrics ? { onUpstreamAnswer: (status: number) => metrics.netboxRequest({ method: req.method ?? 'GET', status, seconds: (performance.now() - started) / 1000 }) } : {}),
        target: rt.target,
        lane,
        ...(body ? { body } : {}),
        publicUrl: rt.publicUrl,
        isIdentityHeader: rt.headers.isIdentityHeader,
        inject: session ? rt.headers.identityHeaders(session.s.decision) : [],
        client,
        dropCookies: rt.dropCookies,
        sessionCookieName: rt.cfg.netbox.sessionCookie,
        sessionCookieValue: session?.s.netboxSession,
        setCookies,
        ...(session ? { refusedAt: rt.cfg.netbox.loginPath } : {}),
        onSessionCookie: (value) => {
          if (!session) return;
          // A copy: the session read for this request may be the store's shared, frozen one.
          const next: GateSession = { ...session.s };
          if (value) {
            next.netboxSession = value;
            next.netboxFingerprint = decisionFingerprint(next.decision);
          } else delete next.netboxSession;
          session.s = next;
          ctx.sessions.saveSession(session.id, session.s).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'session store write failed'));
        },
      });
      if (r === 'refused' && session) {
        // NetBox sent the user we vouched for to its login page: the account is inactive there.
        // Passing that on would loop (the gateway sends signed-in users straight back).
        logger.warn(
          { audit: 'netbox_refused', source: session.s.sourceId, user: session.s.decision.username, session: session.s.logId },
          'NetBox refused the signed-in user (inactive in NetBox, or NetBox is not set up for remote authentication: see netbox-gate netbox-config)',
        );
        return sendOutcome(req, res, { kind: 'netbox_refused', username: session.s.decision.username }, {
          cookies: setCookies,
          link: { href: `${rt.cfg.server.pathPrefix}/logout`, text: 'Sign out' },
        });
      }
    } catch (err) {
      const e = err as UpstreamError;
      logger.error({ method: req.method, path: req.url, err: e.message, user: session?.s.identity.username }, 'NetBox request failed');
      if (res.headersSent || e.responseStarted) return res.destroy();
      if (e.busy) return sendOutcome(req, res, { kind: 'busy', scope: 'netbox' }, { headers: { 'Retry-After': '5' } });
      return sendOutcome(req, res, { kind: 'netbox_unavailable' });
    }
  };

  /** The first trusted proxy source that asserts an identity for this request, if any. */
  const assertedIdentity = async (req: http.IncomingMessage, res: http.ServerResponse, client: Client): Promise<ProxyAssertion | undefined | 'answered'> => {
    for (const src of ctx.rt().proxySources) {
      try {
        const r = await src.identify({ remoteAddress: req.socket.remoteAddress ?? '', headers: req.headers }, { clientIp: client.ip });
        if (r) return { source: src, result: r };
      } catch (err) {
        logger.warn({ source: src.id, err: (err as Error).message }, 'upstream identity could not be checked');
        sendOutcome(req, res, { kind: 'proxy_unverifiable', source: src.displayName });
        return 'answered';
      }
    }
    return undefined;
  };

  return async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<unknown> {
    const rt = ctx.rt();
    const client = clientOf(rt, req);
    let target: RequestTarget;
    try {
      target = requestTarget(req.url, rt.publicUrl);
    } catch {
      return sendJson(res, 400, { detail: 'Bad request target' });
    }
    const prefix = rt.cfg.server.pathPrefix;
    const pathname = target.pathname;
    if (pathname === prefix || pathname.startsWith(prefix + '/')) return routes.handle(req, res, target.url(), client);

    // 2. NetBox API tokens pass untouched: no gateway sign-in, no identity headers (NetBox would
    // log the header user into a session and drop the token identity, and fail CSRF on writes).
    // They use their own NetBox connection pool, each client address only so many at once, and
    // a small body is read before a connection is taken, so token traffic (which needs no
    // sign-in) cannot take NetBox away from signed-in users, nor trickle bodies into NetBox.
    if (/^(Token|Bearer)\s+\S/i.test(req.headers.authorization ?? '')) {
      const busy = (scope: 'client' | 'token_pool') => {
        req.resume();
        return sendOutcome(req, res, { kind: 'busy', scope }, { headers: { 'Retry-After': '1', Connection: 'close' } });
      };
      const slot = rt.tokenGate.admit(client.ip);
      if (!slot.ok) return busy('client');
      try {
        let body: Buffer | undefined;
        // Awaited only when there is a body: an await before the request goes to NetBox puts the
        // rest of Node's work on this request (it runs first) on the way there.
        if (req.headers['content-length'] !== undefined && req.headers['transfer-encoding'] === undefined) {
          try {
            body = await readSmallBody(req, SMALL_BODY);
          } catch {
            return res.destroy(); // the client went away or ran out of time (server.timeouts)
          }
        }
        if (!slot.connect()) return busy('token_pool');
        return await proxy(req, res, client, undefined, [], 'token', body);
      } finally {
        slot.release();
      }
    }

    // 3. Trusted upstream proxies.
    const asserted = rt.proxySources.length > 0 ? await assertedIdentity(req, res, client) : undefined;
    if (asserted === 'answered') return;

    // 4. The gateway session.
    const cookieName = gatewayCookieNames(rt.cfg.sessions.cookieName).session;
    let id = getCookie(req.headers.cookie, cookieName);
    let state: SessionState = { ended: 'none' };
    // Without an await when the session is at hand and needs nothing (see store.ts, peekShared;
    // a proxy source's session always needs its assertion checked, so it never is).
    if (id) state = ctx.sessions.currentSessionNow(id) ?? (await ctx.sessions.currentSession(id, client, asserted));

    // 5. Sign-out through NetBox's own logout link; admission of a proxy-asserted user.
    if (pathname === rt.cfg.netbox.logoutPath) return routes.signOut(req, res);
    const cookieOpts = { secure: rt.secureCookies };
    const setCookies: string[] = [];
    if (!state.s && asserted) {
      const d = await admitSignIn(rt, logger, asserted.result.identity, client.ip, ctx.lifecycle);
      if (!d.allowed) return sendOutcome(req, res, { kind: 'denied', decision: d }, { link: { href: `${prefix}/login?switch=1`, text: 'Sign in as someone else' } });
      const started = await ctx.sessions.startSession(asserted.result, asserted.source, d, client);
      id = started.id;
      state = { s: started.session };
      setCookies.push(serializeCookie(cookieName, id, { ...cookieOpts, maxAgeSeconds: Math.floor(rt.cfg.sessions.absoluteTimeout / 1000) }));
    }

    // 6. Not signed in.
    if (!state.s) {
      const cookies = id ? [clearCookie(cookieName, cookieOpts)] : [];
      const url = target.url();
      const next = pathname === rt.cfg.netbox.loginPath ? safeReturnPath(url.searchParams.get('next'), prefix) : safeReturnPath(url.pathname + url.search, prefix);
      if (state.ended === 'denied' || state.ended === 'stale') {
        return sendOutcome(req, res, { kind: 'session_ended', cause: state.ended }, { cookies, link: { href: signIn.loginUrl(next), text: 'Sign in' } });
      }
      if (wantsHtml(req)) return redirect(res, signIn.loginUrl(next), cookies);
      return sendJson(res, 401, { detail: 'Authentication required: sign in through the gateway or send a NetBox API token.' }, cookies.length ? { 'Set-Cookie': cookies } : {});
    }

    // 7. Signed in.
    if (pathname === rt.cfg.netbox.loginPath && wantsHtml(req)) return redirect(res, safeReturnPath(target.url().searchParams.get('next'), prefix), setCookies);
    return proxy(req, res, client, { id: id!, s: state.s }, setCookies);
  };
}
