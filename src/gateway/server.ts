// The HTTP(S) front door: gateway pages under the reserved prefix, sign-in and sign-out,
// session checks, then the proxy to NetBox with identity headers. Decisions come from the
// policy; this module only turns them into redirects, pages and headers.
import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { auditDecision } from '../audit/audit.js';
import type { GateConfig } from '../config/load.js';
import { GateError, isGateError } from '../errors.js';
import { decide, decisionFingerprint } from '../policy/evaluate.js';
import type { KeyValueStore } from '../store/store.js';
import type { SignInResult, Source, SourceState } from '../sources/source.js';
import type { Decision, Logger } from '../types.js';
import { clearCookie, getCookie, serializeCookie } from './cookies.js';
import { headerSafe } from './headers.js';
import { messagePage, PAGE_CSP, signInPage, type SourceChoice } from './pages.js';
import { proxyRequest, UpstreamError } from './proxy.js';
import { safeReturnPath } from './redirect.js';
import { buildRuntime, closeRuntime, isTrustedPeer, type Runtime } from './runtime.js';
import { createSessionManager, hashId, newId, type Client, type GateSession, type ProxyAssertion } from './sessions.js';

interface Pending {
  sourceId: string;
  state: SourceState;
  next: string;
}

export interface Gateway {
  server: http.Server | https.Server;
  /** Listens on the configured address (or the given port, 0 for any free one). */
  listen(port?: number): Promise<AddressInfo>;
  /** Validated new config: applied to the next request; sessions are kept and re-decided. */
  reload(cfg: GateConfig): Promise<void>;
  runtime(): Runtime;
  close(): Promise<void>;
}

const PENDING_TTL = 10 * 60_000;
const CSRF_COOKIE_SUFFIX = '_csrf';
const PENDING_COOKIE_SUFFIX = '_pending';


export function createGateway(initial: GateConfig, opts: { logger: Logger; store: KeyValueStore; fetch?: typeof fetch; now?: () => number }): Gateway {
  const { logger, store } = opts;
  const now = opts.now ?? Date.now;
  const runtimeDeps = opts.fetch ? { fetch: opts.fetch } : {};
  let rt = buildRuntime(initial, logger, runtimeDeps);

  const prefix = () => rt.cfg.server.pathPrefix;
  const cookieName = () => rt.cfg.sessions.cookieName;
  const cookieOpts = () => ({ secure: rt.secureCookies });

  // ---------- small response helpers ----------
  const sendHtml = (res: http.ServerResponse, status: number, html: string, extraHeaders: Record<string, string | string[]> = {}) => {
    res.writeHead(status, {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': PAGE_CSP,
      'X-Frame-Options': 'DENY',
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'same-origin',
      ...extraHeaders,
    });
    res.end(html);
  };
  const sendJson = (res: http.ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...extraHeaders });
    res.end(JSON.stringify(body));
  };
  const redirect = (res: http.ServerResponse, location: string, cookies: string[] = []) => {
    res.writeHead(302, { Location: location, 'Cache-Control': 'no-store', ...(cookies.length ? { 'Set-Cookie': cookies } : {}) });
    res.end();
  };
  const wantsHtml = (req: http.IncomingMessage) =>
    (req.method === 'GET' || req.method === 'HEAD') && (req.headers.accept ?? '').includes('text/html');

  // ---------- client address (trusted proxies only) ----------
  const clientOf = (req: http.IncomingMessage): Client => {
    const peer = req.socket.remoteAddress ?? '';
    const own: Client = { ip: peer, proto: rt.cfg.server.tls ? 'https' : 'http', host: rt.publicUrl.host };
    if (!isTrustedPeer(rt, peer)) return own;
    // Walk X-Forwarded-For from the right, skipping our trusted proxies: the first other hop is the client.
    const xff = ([] as string[]).concat(req.headers['x-forwarded-for'] ?? []).join(',').split(',').map((s) => s.trim()).filter(Boolean);
    let ip = peer;
    for (let i = xff.length - 1; i >= 0; i--) {
      ip = xff[i]!;
      if (!isTrustedPeer(rt, ip)) break;
    }
    const proto = String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]?.trim();
    const host = String(req.headers['x-forwarded-host'] ?? '').split(',')[0]?.trim();
    return { ip, proto: proto === 'https' || proto === 'http' ? proto : own.proto, host: host || own.host };
  };

  const sessions = createSessionManager({ store, logger, now, runtime: () => rt });
  const { sessionKey, saveSession, endSession, startSession, currentSession } = sessions;

  // ---------- pages ----------
  const loginUrl = (next: string, extra = '') => `${prefix()}/login?next=${encodeURIComponent(next)}${extra}`;

  /** `switchUser`: the IdP must show its login form again (after "sign in as someone else"). */
  const choices = (next: string, switchUser = false): { redirect: SourceChoice[]; password: SourceChoice[] } => {
    const all = [...rt.sources.values()];
    const mk = (s: Source): SourceChoice => ({
      id: s.id,
      displayName: s.displayName,
      flow: s.flow,
      href: `${prefix()}/login/${encodeURIComponent(s.id)}?next=${encodeURIComponent(next)}${switchUser && s.flow === 'redirect' ? '&switch=1' : ''}`,
    });
    return { redirect: all.filter((s) => s.flow === 'redirect').map(mk), password: all.filter((s) => s.flow === 'password').map(mk) };
  };

  const renderSignIn = (res: http.ServerResponse, next: string, status = 200, error?: string, username?: string, selected?: string) => {
    const c = choices(next);
    const csrf = newId();
    const o: Parameters<typeof signInPage>[0] = { redirectChoices: c.redirect, passwordChoices: c.password, formAction: `${prefix()}/login`, csrfToken: csrf, next };
    if (error) o.error = error;
    if (username) o.username = username;
    if (selected) o.selectedSource = selected;
    sendHtml(res, status, signInPage(o), {
      'Set-Cookie': serializeCookie(cookieName() + CSRF_COOKIE_SUFFIX, csrf, { ...cookieOpts(), path: prefix(), sameSite: 'Strict', maxAgeSeconds: 3600 }),
    });
  };

  const denied = (res: http.ServerResponse, d: Decision, cookies: string[] = []) => {
    sendHtml(
      res,
      403,
      messagePage('Access denied', `${d.username || 'This account'} is not allowed to use NetBox (${d.reason ?? 'denied'}). Ask your NetBox administrator if you think this is wrong.`, {
        linkHref: `${prefix()}/login?switch=1`,
        linkText: 'Sign in as someone else',
      }),
      cookies.length ? { 'Set-Cookie': cookies } : {},
    );
  };

  const finishSignIn = async (req: http.IncomingMessage, res: http.ServerResponse, src: Source, result: SignInResult, next: string, client: Client, extraCookies: string[] = []) => {
    const d = decide(rt.cfg.policy, result.identity);
    auditDecision(logger, 'sign_in', d, { clientIp: client.ip, sourceGroups: result.identity.groups });
    if (d.allowed && headerSafe(d.username) === undefined) {
      d.allowed = false;
      d.reason = 'the user name cannot be carried in an HTTP header (characters beyond Latin-1)';
    }
    if (!d.allowed) return denied(res, d, extraCookies);
    // A fresh session id at every sign-in (no fixation); any previous session of this browser ends.
    const old = getCookie(req.headers.cookie, cookieName());
    if (old) await endSession(old, await store.get<GateSession>(sessionKey(old)), 'logout');
    const { id } = await startSession(result, src, d, client);
    const maxAge = Math.floor(rt.cfg.sessions.absoluteTimeout / 1000);
    redirect(res, next, [...extraCookies, serializeCookie(cookieName(), id, { ...cookieOpts(), maxAgeSeconds: maxAge })]);
  };

  const signInError = (res: http.ServerResponse, err: unknown, src: Source) => {
    const e = isGateError(err) ? err : new GateError('ERR_AUTH_FAILED', (err as Error)?.message ?? String(err), { cause: err });
    logger.warn({ source: src.id, code: e.code, err: e.message }, 'sign-in failed');
    const status = e.code === 'ERR_SOURCE_UNAVAILABLE' ? 503 : e.code === 'ERR_SOURCE_CONFIG' ? 500 : 401;
    const text =
      e.code === 'ERR_SOURCE_UNAVAILABLE'
        ? `${src.displayName} cannot be reached right now. Try again in a moment.`
        : e.code === 'ERR_SOURCE_CONFIG'
          ? `Sign-in with ${src.displayName} is misconfigured: ${e.message}`
          : `Sign-in with ${src.displayName} failed: ${e.message}`;
    sendHtml(res, status, messagePage('Sign-in failed', text, { linkHref: `${prefix()}/login`, linkText: 'Try again' }));
  };

  // ---------- gateway routes ----------
  const readForm = async (req: http.IncomingMessage, limit = 16 * 1024): Promise<URLSearchParams> => {
    const ct = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (ct !== 'application/x-www-form-urlencoded') throw new GateError('ERR_BAD_REQUEST', 'expected a form post');
    let size = 0;
    const chunks: Buffer[] = [];
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw new GateError('ERR_BAD_REQUEST', 'form too large');
      chunks.push(chunk as Buffer);
    }
    return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  };

  const sameOrigin = (req: http.IncomingMessage): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined) return true; // old browsers; the CSRF token still has to match
    return origin === rt.publicUrl.origin;
  };

  const handlePasswordPost = async (req: http.IncomingMessage, res: http.ServerResponse, client: Client) => {
    let form: URLSearchParams;
    try {
      form = await readForm(req);
    } catch (err) {
      return sendHtml(res, 400, messagePage('Bad request', (err as Error).message));
    }
    const next = safeReturnPath(form.get('next'), prefix());
    const sent = form.get('csrf') ?? '';
    const expected = getCookie(req.headers.cookie, cookieName() + CSRF_COOKIE_SUFFIX) ?? '';
    const a = Buffer.from(sent);
    const b = Buffer.from(expected);
    if (!sameOrigin(req) || a.length === 0 || a.length !== b.length || !timingSafeEqual(a, b)) {
      return renderSignIn(res, next, 403, 'Your sign-in form expired. Please try again.');
    }
    const sourceId = form.get('source') ?? '';
    const src = rt.sources.get(sourceId);
    if (!src || src.flow !== 'password') return renderSignIn(res, next, 400, 'Choose where to sign in.');
    const username = (form.get('username') ?? '').trim();
    const password = form.get('password') ?? '';
    if (!username || !password || username.length > 256 || password.length > 1024) {
      return renderSignIn(res, next, 400, 'Enter your username and password.', username.slice(0, 256), sourceId);
    }
    const userKey = `${sourceId}\0${username.toLowerCase()}`;
    const wait = Math.max(rt.addressLimiter.hit(client.ip), rt.userLimiter.peek(userKey));
    if (wait > 0) {
      logger.warn({ audit: 'rate_limited', source: sourceId, user: username, clientIp: client.ip }, 'sign-in rate limited');
      res.setHeader('Retry-After', String(wait));
      return renderSignIn(res, next, 429, `Too many sign-in attempts. Try again in ${wait} s.`, username, sourceId);
    }
    let result: SignInResult;
    try {
      result = await src.authenticate(username, password, { clientIp: client.ip });
    } catch (err) {
      if (isGateError(err, 'ERR_AUTH_REJECTED')) {
        rt.userLimiter.hit(userKey);
        logger.info({ audit: 'sign_in', source: sourceId, user: username, allowed: false, reason: 'credentials rejected', clientIp: client.ip }, 'sign-in rejected');
        // One message whatever the reason: no hint whether the user exists.
        return renderSignIn(res, next, 401, 'Invalid username or password.', username, sourceId);
      }
      const e = isGateError(err) ? err : new GateError('ERR_SOURCE_UNAVAILABLE', String(err));
      logger.warn({ source: sourceId, code: e.code, err: e.message }, 'sign-in failed');
      return renderSignIn(res, next, 503, `${src.displayName} cannot be reached right now. Try again in a moment.`, username, sourceId);
    }
    rt.userLimiter.reset(userKey);
    return finishSignIn(req, res, src, result, next, client);
  };

  const handleGatewayRoute = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL, client: Client) => {
    const rest = url.pathname.slice(prefix().length);
    const next = safeReturnPath(url.searchParams.get('next'), prefix());
    if (rest === '/health') return sendJson(res, 200, { status: 'ok' });
    if (rest === '/login' && req.method === 'POST') return handlePasswordPost(req, res, client);
    if (rest === '/login' || rest === '/login/') {
      const c = choices(next, url.searchParams.has('switch'));
      if (c.redirect.length === 1 && c.password.length === 0 && !url.searchParams.has('error')) return redirect(res, c.redirect[0]!.href);
      return renderSignIn(res, next);
    }
    const loginMatch = /^\/login\/([^/]+)$/.exec(rest);
    if (loginMatch && req.method === 'GET') {
      const src = rt.sources.get(decodeURIComponent(loginMatch[1]!));
      if (!src) return sendHtml(res, 404, messagePage('Not found', 'There is no such sign-in source.'));
      if (src.flow !== 'redirect') return renderSignIn(res, next, 200, undefined, undefined, src.id);
      try {
        const redirectUri = new URL(`${prefix()}/callback/${encodeURIComponent(src.id)}`, rt.publicUrl).href;
        const { authorizationUrl, pending } = await src.beginSignIn(redirectUri, { forceLogin: url.searchParams.has('switch') });
        const pid = newId();
        await store.set(`pend:${hashId(pid)}`, { sourceId: src.id, state: pending, next } satisfies Pending, PENDING_TTL);
        return redirect(res, authorizationUrl, [
          serializeCookie(cookieName() + PENDING_COOKIE_SUFFIX, pid, { ...cookieOpts(), path: `${prefix()}/callback`, maxAgeSeconds: PENDING_TTL / 1000 }),
        ]);
      } catch (err) {
        return signInError(res, err, src);
      }
    }
    const cbMatch = /^\/callback\/([^/]+)$/.exec(rest);
    if (cbMatch && req.method === 'GET') {
      const src = rt.sources.get(decodeURIComponent(cbMatch[1]!));
      const pid = getCookie(req.headers.cookie, cookieName() + PENDING_COOKIE_SUFFIX);
      const clearPending = clearCookie(cookieName() + PENDING_COOKIE_SUFFIX, { ...cookieOpts(), path: `${prefix()}/callback` });
      const pending = pid ? await store.take<Pending>(`pend:${hashId(pid)}`) : undefined;
      if (!src || src.flow !== 'redirect' || !pending || pending.sourceId !== src.id) {
        return sendHtml(res, 400, messagePage('Sign-in expired', 'This sign-in link is no longer valid. Please start again.', { linkHref: `${prefix()}/login`, linkText: 'Sign in' }), {
          'Set-Cookie': clearPending,
        });
      }
      const callbackUrl = new URL(url.pathname + url.search, rt.publicUrl);
      try {
        const redirectUri = new URL(`${prefix()}/callback/${encodeURIComponent(src.id)}`, rt.publicUrl).href;
        const result = await src.completeSignIn(callbackUrl, pending.state, redirectUri, { clientIp: client.ip });
        return await finishSignIn(req, res, src, result, pending.next, client, [clearPending]);
      } catch (err) {
        return signInError(res, err, src);
      }
    }
    if (rest === '/logout') return signOut(req, res);
    if (rest === '/signed-out') {
      return sendHtml(res, 200, messagePage('Signed out', 'You have signed out of NetBox.', { linkHref: `${prefix()}/login`, linkText: 'Sign in again' }));
    }
    return sendHtml(res, 404, messagePage('Not found', 'There is no such page.'));
  };

  const signOut = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const id = getCookie(req.headers.cookie, cookieName());
    const s = id ? await store.get<GateSession>(sessionKey(id)) : undefined;
    if (id) await endSession(id, s, 'logout', true);
    const cookies = [clearCookie(cookieName(), cookieOpts())];
    const signedOut = new URL(`${prefix()}/signed-out`, rt.publicUrl).href;
    const src = s ? rt.sources.get(s.sourceId) : undefined;
    let idp = src?.flow === 'redirect' && src.endSessionUrl ? src.endSessionUrl(s!.sourceState, signedOut) : undefined;
    if (src?.flow === 'proxy') idp = (rt.cfg.sources.find((c) => c.id === src.id) as { signOutUrl?: string } | undefined)?.signOutUrl;
    return redirect(res, idp ?? signedOut, cookies);
  };

  // ---------- the request handler ----------
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const client = clientOf(req);
    let url: URL;
    try {
      url = new URL(req.url ?? '/', rt.publicUrl);
      if (!(req.url ?? '').startsWith('/')) throw new Error('absolute-form request target');
    } catch {
      return sendJson(res, 400, { detail: 'Bad request target' });
    }
    const pathname = url.pathname;
    if (pathname === prefix() || pathname.startsWith(prefix() + '/')) return handleGatewayRoute(req, res, url, client);

    const auth = req.headers.authorization ?? '';
    const tokenRequest = /^(Token|Bearer)\s+\S/i.test(auth);
    const proxy = async (inject: Array<[string, string]>, session?: { id: string; s: GateSession }, setCookies: string[] = []) => {
      try {
        await proxyRequest(req, res, {
          target: rt.target,
          publicUrl: rt.publicUrl,
          isIdentityHeader: rt.headers.isIdentityHeader,
          inject,
          client,
          sessionCookieName: rt.cfg.netbox.sessionCookie,
          sessionCookieValue: session?.s.netboxSession,
          setCookies,
          onSessionCookie: (value) => {
            if (!session) return;
            if (value) {
              session.s.netboxSession = value;
              session.s.netboxFingerprint = decisionFingerprint(session.s.decision);
            } else delete session.s.netboxSession;
            saveSession(session.id, session.s).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'session store write failed'));
          },
        });
      } catch (err) {
        const e = err as UpstreamError;
        logger.error({ method: req.method, path: pathname, err: e.message, user: session?.s.identity.username }, 'NetBox request failed');
        if (res.headersSent || e.responseStarted) return res.destroy();
        if (wantsHtml(req)) return sendHtml(res, 502, messagePage('NetBox is unavailable', 'The gateway could not reach NetBox. Try again in a moment; if it persists, tell your NetBox administrator.'));
        return sendJson(res, 502, { detail: 'NetBox is unavailable (bad gateway)' });
      }
    };

    // NetBox API tokens pass untouched: no gateway sign-in, no identity headers (NetBox would
    // otherwise log the header user into a session and drop the token identity).
    if (tokenRequest) return proxy([]);

    let asserted: ProxyAssertion | undefined;
    for (const src of rt.sources.values()) {
      if (src.flow !== 'proxy') continue;
      try {
        const r = await src.identify({ remoteAddress: req.socket.remoteAddress ?? '', headers: req.headers }, { clientIp: client.ip });
        if (r) {
          asserted = { source: src, result: r };
          break;
        }
      } catch (err) {
        logger.warn({ source: src.id, err: (err as Error).message }, 'upstream identity could not be checked');
        if (wantsHtml(req)) return sendHtml(res, 503, messagePage('Sign-in unavailable', `${src.displayName} cannot be verified right now. Try again in a moment.`));
        return sendJson(res, 503, { detail: 'identity could not be verified (upstream proxy keys unavailable)' });
      }
    }

    let id = getCookie(req.headers.cookie, cookieName());
    let state: Awaited<ReturnType<typeof currentSession>> = { ended: 'none' };
    if (id) state = await currentSession(id, client, asserted);

    if (pathname === rt.cfg.netbox.logoutPath) return signOut(req, res);

    const setCookies: string[] = [];
    if (!state.s && asserted) {
      const d = decide(rt.cfg.policy, asserted.result.identity);
      auditDecision(logger, 'sign_in', d, { clientIp: client.ip, sourceGroups: asserted.result.identity.groups });
      if (!d.allowed || headerSafe(d.username) === undefined) {
        if (wantsHtml(req)) return denied(res, d);
        return sendJson(res, 403, { detail: `${d.username} is not allowed to use NetBox (${d.reason ?? 'denied'})` });
      }
      const started = await startSession(asserted.result, asserted.source, d, client);
      id = started.id;
      state = { s: started.session };
      setCookies.push(serializeCookie(cookieName(), id, { ...cookieOpts(), maxAgeSeconds: Math.floor(rt.cfg.sessions.absoluteTimeout / 1000) }));
    }

    if (!state.s) {
      const cookies = id ? [clearCookie(cookieName(), cookieOpts())] : [];
      if (state.ended === 'denied' && wantsHtml(req)) {
        return sendHtml(res, 403, messagePage('Access denied', 'Your access to NetBox has been withdrawn by policy.', { linkHref: `${prefix()}/login`, linkText: 'Sign in' }), {
          'Set-Cookie': cookies,
        });
      }
      if (wantsHtml(req)) {
        const next = pathname === rt.cfg.netbox.loginPath ? safeReturnPath(url.searchParams.get('next'), prefix()) : safeReturnPath(url.pathname + url.search, prefix());
        return redirect(res, loginUrl(next), cookies);
      }
      if (cookies.length) res.setHeader('Set-Cookie', cookies);
      return sendJson(res, 401, { detail: 'Authentication required: sign in through the gateway or send a NetBox API token.' });
    }
    if (pathname === rt.cfg.netbox.loginPath && wantsHtml(req)) {
      return redirect(res, safeReturnPath(url.searchParams.get('next'), prefix()));
    }
    return proxy(rt.headers.identityHeaders(state.s.decision), { id: id!, s: state.s }, setCookies);
  };

  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err: (err as Error)?.message, path: req.url }, 'request failed');
      if (!res.headersSent) sendHtml(res, 500, messagePage('Gateway error', 'Something went wrong in the gateway. The error has been logged.'));
      else res.destroy();
    });
  };

  const tlsOptions = (cfg: GateConfig) => (cfg.server.tls ? { cert: readFileSync(cfg.server.tls.certFile), key: readFileSync(cfg.server.tls.keyFile) } : undefined);
  const tls = tlsOptions(initial);
  const server = tls ? https.createServer({ ...tls }, listener) : http.createServer(listener);
  server.headersTimeout = 60_000;
  server.requestTimeout = 0; // long uploads/exports are streamed; NetBox's own timeout applies

  return {
    server,
    runtime: () => rt,
    listen(port) {
      const { host, port: cfgPort } = rt.cfg.server.listen;
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port ?? cfgPort, host, () => resolve(server.address() as AddressInfo));
      });
    },
    async reload(cfg) {
      // Everything that can fail happens before the swap, so a failed reload changes nothing.
      const t = tlsOptions(cfg);
      const next = buildRuntime(cfg, logger, runtimeDeps);
      if (t && server instanceof https.Server) server.setSecureContext(t);
      const old = rt;
      rt = next;
      logger.info({ generation: rt.generation, file: cfg.file }, 'configuration reloaded');
      setTimeout(() => void closeRuntime(old), 30_000).unref();
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await closeRuntime(rt);
      await store.close();
    },
  };
}
