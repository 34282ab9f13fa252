// How the gateway answers when it does not proxy: one table from an outcome (a source error
// code, a policy deny reason, the way a session ended, NetBox refusing the user) to status,
// page and JSON, so every flow says the same thing about the same problem (Pomerium keeps one
// such mapping). Browsers get an HTML page, API clients JSON.
import type http from 'node:http';
import type { ErrorCode } from '../errors.js';
import type { SessionEndCause } from '../sources/source.js';
import type { Decision, DenyReason } from '../types.js';
import { messagePage, PAGE_CSP } from './pages.js';

export type Outcome =
  /** A source failed a sign-in with this code (wrong credentials are handled by the form itself). */
  | { kind: 'source_error'; code: ErrorCode; source: string; message: string }
  | { kind: 'denied'; decision: Pick<Decision, 'username' | 'reason' | 'reasonCode'> }
  | { kind: 'session_ended'; cause: SessionEndCause }
  /** NetBox refused the user the gateway vouched for (the account is inactive in NetBox). */
  | { kind: 'netbox_refused'; username: string }
  | { kind: 'netbox_unavailable' }
  /** A concurrency limit refused the request (see concurrency.ts, netbox/target.ts): retry later. */
  | { kind: 'busy'; scope: 'client' | 'token_pool' | 'netbox' }
  | { kind: 'proxy_unverifiable'; source: string }
  | { kind: 'sign_in_expired' }
  /** The session store (Redis) is away: nobody can be recognised until it is back. */
  | { kind: 'store_unavailable' }
  | { kind: 'bad_request'; message: string }
  | { kind: 'not_found'; message: string }
  | { kind: 'internal' };

export interface Presentation {
  status: number;
  title: string;
  text: string;
  /** The `detail` of the JSON answer. */
  detail: string;
}

const STORE_UNAVAILABLE_TEXT = 'The gateway cannot reach its session store right now, so it cannot tell who you are. Your session is kept; try again in a moment.';

/** Every error code has an answer; TypeScript refuses a new code without one. */
const SOURCE_ERRORS: Record<ErrorCode, { status: number; text: (src: string, msg: string) => string }> = {
  ERR_SOURCE_UNAVAILABLE: { status: 503, text: (src) => `${src} cannot be reached right now. Try again in a moment.` },
  ERR_SOURCE_CONFIG: { status: 500, text: (src, msg) => `Sign-in with ${src} is misconfigured: ${msg}` },
  ERR_SOURCE_PROTOCOL: { status: 502, text: (src, msg) => `${src} sent a reply the gateway cannot accept: ${msg}` },
  ERR_AUTH_FAILED: { status: 401, text: (src, msg) => `Sign-in with ${src} failed: ${msg}` },
  ERR_AUTH_REJECTED: { status: 401, text: (src, msg) => `Sign-in with ${src} was refused: ${msg}` },
  ERR_RATE_LIMITED: { status: 429, text: () => 'Too many sign-in attempts. Try again later.' },
  ERR_SESSION_INVALID: { status: 401, text: () => 'Your session has ended. Sign in again.' },
  ERR_BAD_REQUEST: { status: 400, text: (_src, msg) => `Bad request: ${msg}` },
  ERR_UPSTREAM: { status: 502, text: () => 'The gateway could not reach NetBox. Try again in a moment.' },
  ERR_NETBOX_API: { status: 502, text: (_src, msg) => `NetBox refused a request of the gateway: ${msg}` },
  ERR_NETBOX_UNMANAGED: { status: 409, text: (_src, msg) => `The gateway does not manage this NetBox account: ${msg}` },
  ERR_CONFIG_INVALID: { status: 500, text: (_src, msg) => `The gateway configuration is invalid: ${msg}` },
  ERR_CONFIG_READ: { status: 500, text: (_src, msg) => `The gateway configuration cannot be read: ${msg}` },
  ERR_STORE_UNAVAILABLE: { status: 503, text: () => STORE_UNAVAILABLE_TEXT },
};

const DENY_HINT: Record<DenyReason, string> = {
  denied_by_rule: 'a rule of the access policy refuses this account',
  no_allow_rule: 'no rule of the access policy allows this account',
  no_username: 'the identity source sent no user name',
  unsafe_username: 'the user name cannot be passed to NetBox',
  deactivated_at_source: 'your identity provider has deactivated this account',
};

const SESSION_ENDS: Record<SessionEndCause, Presentation> = {
  logout: { status: 401, title: 'Signed out', text: 'You have signed out.', detail: 'Authentication required: the session was signed out.' },
  expired: { status: 401, title: 'Session expired', text: 'Your session has expired. Sign in again.', detail: 'Authentication required: the session expired.' },
  revoked: { status: 401, title: 'Session ended', text: 'Your session was ended. Sign in again.', detail: 'Authentication required: the session was revoked.' },
  denied: {
    status: 403,
    title: 'Access denied',
    text: 'Your access to NetBox has been withdrawn by policy.',
    detail: 'Access to NetBox has been withdrawn by policy.',
  },
  stale: {
    status: 401,
    title: 'Session ended',
    text: 'Your identity provider could not be reached for too long to confirm your access, so your session has ended. Sign in again.',
    detail: 'Authentication required: the identity source could not confirm the session for longer than sessions.maxStale.',
  },
};

const BUSY: Record<'client' | 'token_pool' | 'netbox', Presentation> = {
  client: {
    status: 429,
    title: 'Too many requests',
    text: 'Too many API-token requests from your address are in progress. Wait for them to finish and try again.',
    detail: 'Too many API-token requests in flight from this address (netbox.connections.tokenPerClient); retry after the ones in progress finish.',
  },
  token_pool: {
    status: 503,
    title: 'NetBox is busy',
    text: 'Every connection the gateway keeps for API-token requests is in use. Try again in a moment.',
    detail: 'Every NetBox connection for API-token requests is in use (netbox.connections.token); retry shortly.',
  },
  netbox: {
    status: 503,
    title: 'NetBox is busy',
    text: 'No connection to NetBox became free in time. Try again in a moment.',
    detail: 'No connection to NetBox became free within netbox.timeout; retry shortly.',
  },
};

export function present(o: Outcome): Presentation {
  switch (o.kind) {
    case 'source_error': {
      const e = SOURCE_ERRORS[o.code];
      const text = e.text(o.source, o.message);
      return { status: e.status, title: 'Sign-in failed', text, detail: text };
    }
    case 'denied': {
      const who = o.decision.username || 'This account';
      const why = o.decision.reason ?? (o.decision.reasonCode ? DENY_HINT[o.decision.reasonCode] : 'denied');
      const text = `${who} is not allowed to use NetBox (${why}). Ask your NetBox administrator if you think this is wrong.`;
      return { status: 403, title: 'Access denied', text, detail: `${who} is not allowed to use NetBox (${why})` };
    }
    case 'session_ended':
      return SESSION_ENDS[o.cause];
    case 'netbox_refused':
      return {
        status: 403,
        title: 'NetBox account disabled',
        text: `NetBox refused your account "${o.username}": it is disabled in NetBox. Ask your NetBox administrator to reactivate it.`,
        detail: `NetBox refused the account "${o.username}" (inactive in NetBox)`,
      };
    case 'netbox_unavailable':
      return {
        status: 502,
        title: 'NetBox is unavailable',
        text: 'The gateway could not reach NetBox. Try again in a moment; if it persists, tell your NetBox administrator.',
        detail: 'NetBox is unavailable (bad gateway)',
      };
    case 'busy':
      return BUSY[o.scope];
    case 'proxy_unverifiable':
      return {
        status: 503,
        title: 'Sign-in unavailable',
        text: `${o.source} cannot be verified right now. Try again in a moment.`,
        detail: 'identity could not be verified (upstream proxy keys unavailable)',
      };
    case 'store_unavailable':
      return { status: 503, title: 'Temporarily unavailable', text: STORE_UNAVAILABLE_TEXT, detail: 'the session store is unavailable; try again in a moment' };
    case 'sign_in_expired':
      return { status: 400, title: 'Sign-in expired', text: 'This sign-in link is no longer valid. Please start again.', detail: 'sign-in state missing or expired' };
    case 'bad_request':
      return { status: 400, title: 'Bad request', text: o.message, detail: o.message };
    case 'not_found':
      return { status: 404, title: 'Not found', text: o.message, detail: o.message };
    case 'internal':
      return { status: 500, title: 'Gateway error', text: 'Something went wrong in the gateway. The error has been logged.', detail: 'internal gateway error' };
  }
}

// ---------- writing answers ----------

export function wantsHtml(req: http.IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && (req.headers.accept ?? '').includes('text/html');
}

export function sendHtml(res: http.ServerResponse, status: number, html: string, extraHeaders: Record<string, string | string[]> = {}): void {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Security-Policy': PAGE_CSP,
    'X-Frame-Options': 'DENY',
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'same-origin',
    ...extraHeaders,
  });
  res.end(html);
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string | string[]> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...extraHeaders });
  res.end(JSON.stringify(body));
}

export function redirect(res: http.ServerResponse, location: string, cookies: string[] = []): void {
  res.writeHead(302, { Location: location, 'Cache-Control': 'no-store', ...(cookies.length ? { 'Set-Cookie': cookies } : {}) });
  res.end();
}

export interface OutcomeOptions {
  cookies?: string[];
  link?: { href: string; text: string };
  /** Answer with the page even for a non-GET (a form post gets a page, not JSON). */
  html?: boolean;
  /** Extra response headers (Retry-After). */
  headers?: Record<string, string>;
}

export function sendOutcome(req: http.IncomingMessage, res: http.ServerResponse, o: Outcome, opts: OutcomeOptions = {}): void {
  const p = present(o);
  const headers: Record<string, string | string[]> = { ...opts.headers, ...(opts.cookies?.length ? { 'Set-Cookie': opts.cookies } : {}) };
  if (opts.html || wantsHtml(req)) {
    const link = opts.link ? { linkHref: opts.link.href, linkText: opts.link.text } : {};
    return sendHtml(res, p.status, messagePage(p.title, p.text, link), headers);
  }
  return sendJson(res, p.status, { detail: p.detail }, headers);
}
