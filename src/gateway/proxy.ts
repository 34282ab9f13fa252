// Streams one request to NetBox and its response back: bodies are piped both ways (large
// uploads and exports never sit in memory), hop-by-hop headers dropped, identity headers
// stripped and injected, NetBox's session cookie kept server-side, Location made public.
import http from 'node:http';
import https from 'node:https';
import { upstreamPath, type Lane, type ProxyTarget } from '../netbox/target.js';
import { parseCookieHeader, parseSetCookie } from './cookies.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
const FORWARDING = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port', 'x-real-ip', 'forwarded']);

export interface ProxyOptions {
  target: ProxyTarget;
  publicUrl: URL;
  /** Client-sent headers for which this returns true never reach NetBox. */
  isIdentityHeader(name: string): boolean;
  inject: Array<[string, string]>;
  client: { ip: string; proto: string; host: string };
  /**
   * Cookies that never reach NetBox: the gateway's own (a live session id must not land in
   * NetBox's or a plugin's request logs) and client copies of NetBox's session cookie.
   */
  dropCookies: ReadonlySet<string>;
  /** NetBox's session cookie: the gateway's copy (if any) is sent. */
  sessionCookieName: string;
  sessionCookieValue: string | undefined;
  /** Called when NetBox sets or deletes its session cookie (the browser never sees it). */
  onSessionCookie(value: string | undefined): void;
  /** Gateway cookies to add to NetBox's response (a session started on this request). */
  setCookies?: string[];
  /** Request path to send (defaults to req.url). */
  path?: string;
  /**
   * NetBox's login path, for a request that carries identity headers: a redirect there means
   * NetBox refused the user (inactive in NetBox). Nothing is sent to the client then, and
   * proxyRequest resolves to 'refused' for the caller to explain.
   */
  refusedAt?: string;
  /** Called once: NetBox's response status when its headers arrive, 0 when it did not answer (metrics). */
  onUpstreamAnswer?(status: number): void;
  /** Which connection pool carries the request (default: the signed-in users' one). */
  lane?: Lane;
  /** The request body, already read (readSmallBody); otherwise it is streamed from `req`. */
  body?: Buffer;
}

/**
 * Reads a body whose Content-Length is at most `limit` (and not chunked) into memory, so it
 * is in before a NetBox connection is taken; undefined for a larger or chunked body, which is
 * streamed. Rejects when the client goes away (or server.timeouts close it) meanwhile.
 */
export async function readSmallBody(req: http.IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = req.headers['content-length'];
  if (declared === undefined || req.headers['transfer-encoding'] !== undefined) return undefined;
  const length = Number(declared);
  if (!Number.isSafeInteger(length) || length > limit || length === 0) return undefined;
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const body = Buffer.concat(chunks);
  if (body.length !== length) throw new Error('request body ended early');
  return body;
}

export class UpstreamError extends Error {
  constructor(
    message: string,
    override readonly cause: unknown,
    readonly responseStarted: boolean,
    /** No NetBox connection became free within netbox.timeout (the pool is saturated). */
    readonly busy = false,
  ) {
    super(message);
  }
}

class PoolBusy extends Error {}

const NONE: ReadonlySet<string> = new Set();
/** Header names a Connection header lists (no Set built for the usual request without one). */
function listedIn(connection: string | undefined): ReadonlySet<string> {
  if (!connection) return NONE;
  return new Set(
    connection
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean),
  );
}

// isIdentityHeader's answers by header name, per header plan (a reload brings a new one): the
// same dozen names arrive on every request, and the plan normalises each and tries every
// stripped prefix. Bounded per plan: arbitrary names past the bound are asked directly.
const identityAnswers = new WeakMap<(name: string) => boolean, Map<string, boolean>>();
function identityMemo(isIdentityHeader: (name: string) => boolean): (name: string) => boolean {
  let known = identityAnswers.get(isIdentityHeader);
  if (!known) identityAnswers.set(isIdentityHeader, (known = new Map()));
  const memo = known;
  return (name) => {
    let v = memo.get(name);
    if (v === undefined) {
      v = isIdentityHeader(name);
      if (memo.size < 512) memo.set(name, v);
    }
    return v;
  };
}

export async function proxyRequest(req: http.IncomingMessage, res: http.ServerResponse, o: ProxyOptions): Promise<number | 'refused'> {
  // In flight until the response is over, so a retired config generation keeps its pools open
  // for this transfer (a reload never cuts a download or upload that started before it).
  const release = o.target.acquire();
  try {
    return await forward(req, res, o);
  } finally {
    release();
  }
}

async function forward(req: http.IncomingMessage, res: http.ServerResponse, o: ProxyOptions): Promise<number | 'refused'> {
  const connectionListed = listedIn(req.headers.connection);
  const identity = identityMemo(o.isIdentityHeader);
  const headers: Array<[string, string]> = [];
  const raw = req.rawHeaders;
  const cookies: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    const value = raw[i + 1]!;
    if (HOP_BY_HOP.has(lower) || connectionListed.has(lower) || FORWARDING.has(lower) || lower === 'host') continue;
    if (identity(name)) continue;
    if (lower === 'cookie') {
      for (const [n, v] of parseCookieHeader(value)) if (!o.dropCookies.has(n)) cookies.push(`${n}=${v}`);
      continue;
    }
    headers.push([name, value]);
  }
  if (o.sessionCookieValue) cookies.push(`${o.sessionCookieName}=${o.sessionCookieValue}`);
  if (cookies.length > 0) headers.push(['Cookie', cookies.join('; ')]);
  headers.push(['Host', o.publicUrl.host]);
  headers.push(['X-Forwarded-For', o.client.ip]);
  headers.push(['X-Real-IP', o.client.ip]);
  headers.push(['X-Forwarded-Proto', o.client.proto]);
  headers.push(['X-Forwarded-Host', o.client.host]);
  for (const h of o.inject) headers.push(h);

  const t = o.target;
  const mod = t.url.protocol === 'https:' ? https : http;
  const upstream = mod.request({
    protocol: t.url.protocol,
    hostname: t.url.hostname,
    port: t.url.port,
    method: req.method,
    path: upstreamPath(t, o.path ?? req.url ?? '/'),
    headers: headers.flat() as unknown as http.OutgoingHttpHeaders,
    agent: o.lane === 'token' ? t.tokenAgent : t.agent,
  });

  let busy!: (err: Error) => void;
  const response = new Promise<http.IncomingMessage>((resolve, reject) => {
    busy = reject;
    upstream.once('response', resolve);
    // `on`, not `once`: a request destroyed while queued reports again when a socket frees.
    upstream.on('error', reject);
    upstream.once('timeout', () => upstream.destroy(new Error(`NetBox did not answer within ${t.timeoutMs / 1000}s`)));
  });
  // The wait for a free pooled connection counts against netbox.timeout: a saturated pool
  // answers 503 instead of queueing without a deadline. Once connected, NetBox has what is
  // left of the timeout for each silence (at least a second).
  const queuedAt = Date.now();
  // (A queued request reports its destroy() only once a socket frees: answer now instead.)
  const queued = setTimeout(() => {
    busy(new PoolBusy(`no connection to NetBox became free within ${t.timeoutMs / 1000}s`));
    upstream.destroy();
  }, t.timeoutMs);
  upstream.once('socket', () => {
    clearTimeout(queued);
    upstream.setTimeout(Math.max(1000, t.timeoutMs - (Date.now() - queuedAt)));
  });
  upstream.once('close', () => clearTimeout(queued));
  // Body streamed as it arrives; errors surface through `response`. Plain pipe() rather than
  // stream.pipeline: pipeline allocates an AbortController per call, measurable on the hot path.
  if (o.body) upstream.end(o.body);
  else if (req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined) {
    // No body (HTTP/1.1: neither header, nothing follows the headers): the usual GET is sent
    // at once, without a pipe's half dozen listeners set up and torn down per request.
    upstream.end();
    req.resume();
    req.once('error', (err) => upstream.destroy(err));
  } else {
    req.pipe(upstream);
    req.once('error', (err) => upstream.destroy(err));
  }

  let up: http.IncomingMessage;
  try {
    up = await response;
  } catch (err) {
    if (!o.body) req.unpipe(upstream); // (a no-op when it was not piped)
    o.onUpstreamAnswer?.(0);
    throw new UpstreamError((err as Error).message, err, false, err instanceof PoolBusy);
  }

  const status = up.statusCode ?? 502;
  o.onUpstreamAnswer?.(status);
  if (o.refusedAt !== undefined && status >= 300 && status < 400 && up.headers.location !== undefined && isLoginRedirect(up.headers.location, t, o.refusedAt)) {
    up.resume();
    return 'refused';
  }
  const outHeaders: Array<[string, string]> = [];
  const r = up.rawHeaders;
  const upConnection = listedIn(up.headers.connection);
  for (let i = 0; i < r.length; i += 2) {
    const name = r[i]!;
    const lower = name.toLowerCase();
    let value = r[i + 1]!;
    if (HOP_BY_HOP.has(lower) || upConnection.has(lower)) continue;
    if (lower === 'set-cookie') {
      const c = parseSetCookie(value);
      if (c && c.name === o.sessionCookieName) {
        o.onSessionCookie(c.deletes ? undefined : c.value);
        continue;
      }
    }
    if (lower === 'location') value = publicLocation(value, t.url, o.publicUrl);
    outHeaders.push([name, value]);
  }
  for (const c of o.setCookies ?? []) outHeaders.push(['Set-Cookie', c]);
  res.writeHead(up.statusCode ?? 502, up.statusMessage, outHeaders.flat() as unknown as http.OutgoingHttpHeaders);
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      up.destroy();
      reject(new UpstreamError(`response stream from NetBox broke: ${err.message}`, err, true));
    };
    up.once('error', fail);
    up.once('aborted', () => fail(new Error('NetBox closed the connection mid-response')));
    res.once('finish', resolve);
    // The client went away: stop reading from NetBox; nothing to report to anyone.
    res.once('close', () => {
      if (!res.writableFinished) up.destroy();
      resolve();
    });
    up.pipe(res);
  });
  return up.statusCode ?? 502;
}

function isLoginRedirect(location: string, t: ProxyTarget, loginPath: string): boolean {
  try {
    const u = new URL(location, t.url);
    return u.pathname === upstreamPath(t, loginPath);
  } catch {
    return false;
  }
}

/** NetBox normally redirects with relative paths; absolute ones to its internal URL become public. */
export function publicLocation(location: string, internal: URL, publicUrl: URL): string {
  try {
    const u = new URL(location, internal);
    if (u.origin === internal.origin) return new URL(u.pathname + u.search + u.hash, publicUrl).href;
  } catch {
    /* leave unparseable values alone */
  }
  return location;
}
