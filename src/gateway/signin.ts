// Signing in: the chooser and password form, the redirect to an identity provider and its
// callback, and the one place where a successful source answer becomes a gateway session.
import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { GateError, isGateError } from '../errors.js';
import type { SignInResult, Source, SourceState } from '../sources/source.js';
import type { DenyReason } from '../types.js';
import { admitSignIn } from './admission.js';
import { gatewayCookieNames, type GatewayContext } from './context.js';
import { clearCookie, getCookie, serializeCookie } from './cookies.js';
import { signInPage, type SourceChoice } from './pages.js';
import { safeReturnPath } from './redirect.js';
import { present, redirect, sendHtml, sendOutcome } from './respond.js';
import { newId, type Client } from './sessions.js';

/** A sign-in on its way through the identity provider, sealed into a cookie (never stored). */
interface Pending {
  src: string;
  st: SourceState;
  next: string;
}

/** A refusal carried across the redirect to the refusal page (so the address bar is clean). */
export interface DenialNotice {
  user: string;
  reason?: string;
  reasonCode?: DenyReason;
  next: string;
}

const PENDING_TTL = 10 * 60_000;
const NOTICE_TTL = 60_000;
const CSRF_TTL = 3600_000;

export function createSignIn(ctx: GatewayContext) {
  const rt = () => ctx.rt();
  const prefix = () => rt().cfg.server.pathPrefix;
  const names = () => gatewayCookieNames(rt().cfg.sessions.cookieName);
  const cookieOpts = () => ({ secure: rt().secureCookies });

  const loginUrl = (next: string, extra = '') => `${prefix()}/login?next=${encodeURIComponent(next)}${extra}`;
  const callbackUri = (src: Source) => new URL(`${prefix()}/callback/${encodeURIComponent(src.id)}`, rt().publicUrl).href;

  /** `switchUser`: the IdP must show its login form again (after "sign in as someone else"). */
  const choices = (next: string, switchUser = false): { redirect: SourceChoice[]; password: SourceChoice[] } => {
    const all = [...rt().sources.values()];
    const mk = (s: Source): SourceChoice => ({
      id: s.id,
      displayName: s.displayName,
      flow: s.flow,
      href: `${prefix()}/login/${encodeURIComponent(s.id)}?next=${encodeURIComponent(next)}${switchUser && s.flow === 'redirect' ? '&switch=1' : ''}`,
    });
    return { redirect: all.filter((s) => s.flow === 'redirect').map(mk), password: all.filter((s) => s.flow === 'password').map(mk) };
  };

  const renderSignIn = (res: http.ServerResponse, next: string, status = 200, error?: string, username?: string, selected?: string, switchUser = false) => {
    const c = choices(next, switchUser);
    const csrf = newId();
    const o: Parameters<typeof signInPage>[0] = { redirectChoices: c.redirect, passwordChoices: c.password, formAction: `${prefix()}/login`, csrfToken: csrf, next };
    if (error) o.error = error;
    if (username) o.username = username;
    if (selected) o.selectedSource = selected;
    sendHtml(res, status, signInPage(o), {
      'Set-Cookie': serializeCookie(names().csrf, csrf, { ...cookieOpts(), path: prefix(), sameSite: 'Strict', maxAgeSeconds: CSRF_TTL / 1000 }),
    });
  };

  /** GET <prefix>/login: one redirect source and nothing else goes straight to it. */
  const chooser = (res: http.ServerResponse, url: URL) => {
    const next = safeReturnPath(url.searchParams.get('next'), prefix());
    const switchUser = url.searchParams.has('switch');
    const c = choices(next, switchUser);
    // `?error`: show the page (with its link) instead of bouncing straight back to the IdP.
    if (c.redirect.length === 1 && c.password.length === 0 && !url.searchParams.has('error')) return redirect(res, c.redirect[0]!.href);
    return renderSignIn(res, next, 200, undefined, undefined, undefined, switchUser);
  };

  /**
   * The source vouched for the user: decide, then start a session or show the refusal.
   * A fresh session id at every sign-in (no fixation); the browser's previous session ends.
   */
  const finish = async (req: http.IncomingMessage, res: http.ServerResponse, src: Source, result: SignInResult, next: string, client: Client, extraCookies: string[] = []) => {
    // Before NetBox sees the headers: an inactive managed NetBox user (deprovisioned earlier)
    // is active again, or NetBox would refuse the user this policy allows (needs netbox.api);
    // unless the identity provider deactivated the user through SCIM: then no session starts.
    const d = await admitSignIn(rt(), ctx.logger, result.identity, client.ip, ctx.lifecycle);
    if (!d.allowed) {
      const notice: DenialNotice = { user: d.username, next };
      if (d.reason) notice.reason = d.reason;
      if (d.reasonCode) notice.reasonCode = d.reasonCode;
      const sealed = ctx.sealer.seal('notice', notice, NOTICE_TTL);
      // A redirect, so the address bar leaves the callback URL and a reload does not replay it.
      return redirect(res, `${prefix()}/denied`, [...extraCookies, serializeCookie(names().notice, sealed, { ...cookieOpts(), path: prefix(), maxAgeSeconds: NOTICE_TTL / 1000 })]);
    }
    const old = getCookie(req.headers.cookie, names().session);
    if (old) await ctx.sessions.endSession(old, await ctx.store.get(ctx.sessions.sessionKey(old)), 'logout');
    const { id } = await ctx.sessions.startSession(result, src, d, client);
    const maxAge = Math.floor(rt().cfg.sessions.absoluteTimeout / 1000);
    redirect(res, next, [...extraCookies, serializeCookie(names().session, id, { ...cookieOpts(), maxAgeSeconds: maxAge })]);
  };

  /** GET <prefix>/denied: the refusal of the sign-in that just happened in this browser. */
  const deniedPage = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const n = ctx.sealer.open<DenialNotice>('notice', getCookie(req.headers.cookie, names().notice));
    if (!n) return redirect(res, loginUrl('/'));
    const decision: { username: string; reason?: string; reasonCode?: DenyReason } = { username: n.user };
    if (n.reason) decision.reason = n.reason;
    if (n.reasonCode) decision.reasonCode = n.reasonCode;
    return sendOutcome(req, res, { kind: 'denied', decision }, { html: true, link: { href: loginUrl(n.next, '&switch=1'), text: 'Sign in as someone else' } });
  };

  const sourceFailed = (req: http.IncomingMessage, res: http.ServerResponse, err: unknown, src: Source, next: string) => {
    const e = isGateError(err) ? err : new GateError('ERR_AUTH_FAILED', (err as Error)?.message ?? String(err), { cause: err });
    ctx.logger.warn({ source: src.id, code: e.code, err: e.message }, 'sign-in failed');
    rt().metrics?.signIn({ source: src.id, result: e.code === 'ERR_AUTH_REJECTED' ? 'rejected' : 'error', reason: e.code });
    return sendOutcome(req, res, { kind: 'source_error', code: e.code, source: src.displayName, message: e.message }, { html: true, link: { href: loginUrl(next), text: 'Try again' } });
  };

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

  const csrfOk = (req: http.IncomingMessage, sent: string): boolean => {
    const origin = req.headers.origin;
    // No Origin: old browsers; the token still has to match.
    if (origin !== undefined && origin !== rt().publicUrl.origin) return false;
    const a = Buffer.from(sent);
    const b = Buffer.from(getCookie(req.headers.cookie, names().csrf) ?? '');
    return a.length > 0 && a.length === b.length && timingSafeEqual(a, b);
  };

  /** POST <prefix>/login: the password form (RADIUS, TACACS+, LDAP). */
  const passwordPost = async (req: http.IncomingMessage, res: http.ServerResponse, client: Client) => {
    let form: URLSearchParams;
    try {
      form = await readForm(req);
    } catch (err) {
      return sendOutcome(req, res, { kind: 'bad_request', message: (err as Error).message }, { html: true });
    }
    const next = safeReturnPath(form.get('next'), prefix());
    if (!csrfOk(req, form.get('csrf') ?? '')) return renderSignIn(res, next, 403, 'Your sign-in form expired. Please try again.');
    const sourceId = form.get('source') ?? '';
    const src = rt().sources.get(sourceId);
    if (!src || src.flow !== 'password') return renderSignIn(res, next, 400, 'Choose where to sign in.');
    const username = (form.get('username') ?? '').trim();
    const password = form.get('password') ?? '';
    if (!username || !password || username.length > 256 || password.length > 1024) {
      return renderSignIn(res, next, 400, 'Enter your username and password.', username.slice(0, 256), sourceId);
    }
    const userKey = `${sourceId}\0${username.toLowerCase()}`;
    const limits = rt().signInLimits;
    const wait = await limits.admit(client.ip, userKey);
    if (wait > 0) {
      ctx.logger.warn({ audit: 'rate_limited', source: sourceId, user: username, clientIp: client.ip }, 'sign-in rate limited');
      rt().metrics?.signIn({ source: sourceId, result: 'rate_limited', reason: 'ERR_RATE_LIMITED' });
      res.setHeader('Retry-After', String(wait));
      return renderSignIn(res, next, 429, `Too many sign-in attempts. Try again in ${wait} s.`, username, sourceId);
    }
    let result: SignInResult;
    try {
      result = await src.authenticate(username, password, { clientIp: client.ip });
    } catch (err) {
      if (isGateError(err, 'ERR_AUTH_REJECTED')) {
        await limits.failed(userKey);
        // The source's own reason (e.g. AD's "account disabled") goes to the audit line only.
        const why = typeof err.detail.reason === 'string' ? `credentials rejected (${err.detail.reason})` : 'credentials rejected';
        ctx.logger.info({ audit: 'sign_in', source: sourceId, user: username, allowed: false, reason: why, clientIp: client.ip }, 'sign-in rejected');
        rt().metrics?.signIn({ source: sourceId, result: 'rejected', reason: 'ERR_AUTH_REJECTED' });
        // One message whatever the reason: no hint whether the user exists.
        return renderSignIn(res, next, 401, 'Invalid username or password.', username, sourceId);
      }
      const e = isGateError(err) ? err : new GateError('ERR_SOURCE_UNAVAILABLE', String(err), { cause: err });
      ctx.logger.warn({ source: sourceId, code: e.code, err: e.message }, 'sign-in failed');
      rt().metrics?.signIn({ source: sourceId, result: 'error', reason: e.code });
      const p = present({ kind: 'source_error', code: e.code, source: src.displayName, message: e.message });
      return renderSignIn(res, next, p.status, p.text, username, sourceId);
    }
    await limits.succeeded(userKey);
    return finish(req, res, src, result, next, client);
  };

  /** GET <prefix>/login/<source>: a password source shows its form; a redirect source goes to the IdP. */
  const begin = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL, sourceId: string) => {
    const next = safeReturnPath(url.searchParams.get('next'), prefix());
    const src = rt().sources.get(sourceId);
    if (!src) return sendOutcome(req, res, { kind: 'not_found', message: 'There is no such sign-in source.' }, { html: true });
    if (src.flow !== 'redirect') return renderSignIn(res, next, 200, undefined, undefined, src.id);
    try {
      const { authorizationUrl, pending } = await src.beginSignIn(callbackUri(src), { forceLogin: url.searchParams.has('switch') });
      const sealed = ctx.sealer.seal('pending', { src: src.id, st: pending, next } satisfies Pending, PENDING_TTL);
      return redirect(res, authorizationUrl, [serializeCookie(names().pending, sealed, { ...cookieOpts(), path: `${prefix()}/callback`, maxAgeSeconds: PENDING_TTL / 1000 })]);
    } catch (err) {
      return sourceFailed(req, res, err, src, next);
    }
  };

  /** GET <prefix>/callback/<source>: the IdP sends the browser back with a code. */
  const callback = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL, sourceId: string, client: Client) => {
    const src = rt().sources.get(sourceId);
    const clearPending = clearCookie(names().pending, { ...cookieOpts(), path: `${prefix()}/callback` });
    const pending = ctx.sealer.open<Pending>('pending', getCookie(req.headers.cookie, names().pending));
    if (!src || src.flow !== 'redirect' || !pending || pending.src !== src.id) {
      return sendOutcome(req, res, { kind: 'sign_in_expired' }, { html: true, cookies: [clearPending], link: { href: loginUrl(pending?.next ?? '/'), text: 'Sign in' } });
    }
    const callbackUrl = new URL(url.pathname + url.search, rt().publicUrl);
    let result: SignInResult;
    try {
      result = await src.completeSignIn(callbackUrl, pending.st, callbackUri(src), { clientIp: client.ip });
    } catch (err) {
      return sourceFailed(req, res, err, src, pending.next);
    }
    return finish(req, res, src, result, pending.next, client, [clearPending]);
  };

  return { chooser, passwordPost, begin, callback, deniedPage, loginUrl };
}
