// Streams one request to NetBox and its response back: bodies are piped both ways (large
// uploads and exports never sit in memory), hop-by-hop headers dropped, identity headers
// stripped and injected, NetBox's session cookie kept server-side, Location made public.
import type http from 'node:http';
import type { Dispatcher } from 'undici';
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
  // undici takes headers as one flat [name, value, ...] list.
  const headers: string[] = [];
  const raw = req.rawHeaders;
  const cookies: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    const value = raw[i + 1]!;
    if (HOP_BY_HOP.has(lower) || connectionListed.has(lower) || FORWARDING.has(lower) || lower === 'host' || lower === 'expect') continue;
    if (identity(name)) continue;
    if (lower === 'cookie') {
      for (const [n, v] of parseCookieHeader(value)) if (!o.dropCookies.has(n)) cookies.push(`${n}=${v}`);
      continue;
    }
    headers.push(name, value);
  }
  if (o.sessionCookieValue) cookies.push(`${o.sessionCookieName}=${o.sessionCookieValue}`);
  if (cookies.length > 0) headers.push('Cookie', cookies.join('; '));
  headers.push('Host', o.publicUrl.host, 'X-Forwarded-For', o.client.ip, 'X-Real-IP', o.client.ip, 'X-Forwarded-Proto', o.client.proto, 'X-Forwarded-Host', o.client.host);
  for (const [n, v] of o.inject) headers.push(n, v);

  const t = o.target;
  // A request body: already read (small), streamed from the client, or none (HTTP/1.1: neither
  // Content-Length nor Transfer-Encoding means nothing follows the headers).
  const streamed = !o.body && (req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined);
  if (!o.body && !streamed) req.resume();
  return new Promise<number | 'refused'>((resolve, reject) => {
    let settled = false;
    let started = false; // the response's headers went to the client
    let refused = false;
    let controller: Dispatcher.DispatchController | undefined;
    let gaveUp: Error | undefined;
    let paused = false;
    const fail = (err: Error, busy = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!started) o.onUpstreamAnswer?.(0);
      reject(new UpstreamError(started ? `response stream from NetBox broke: ${err.message}` : err.message, err, started, busy));
    };
    // One timer per request, refreshed as it goes, for all three deadlines (undici's own
    // header and body timeouts are off: they keep a timer object alive for about a second
    // after each request, which at thousands of requests a second filled the old generation
    // and made major GCs pause the gateway every few seconds):
    // - waiting for a free pooled connection counts against netbox.timeout: a saturated pool
    //   answers 503 instead of queueing without a deadline (undici cannot take a request back
    //   out of its queue, so it is marked and aborted the moment it gets a connection);
    // - once connected, NetBox has netbox.timeout for its response headers,
    // - and then for each silence in the body (not while a slow client holds it back).
    let phase: 'queued' | 'waiting' | 'body' = 'queued';
    const timer = setTimeout(() => {
      if (phase === 'queued') {
        gaveUp = new Error(`no connection to NetBox became free within ${t.timeoutMs / 1000}s`);
        fail(gaveUp, true);
      } else if (paused) timer.refresh();
      else controller?.abort(new Error(phase === 'waiting' ? `NetBox did not answer within ${t.timeoutMs / 1000}s` : `NetBox sent nothing for ${t.timeoutMs / 1000}s mid-response`));
    }, t.timeoutMs);
    // The client went away (or the response is over): stop the upstream side.
    res.once('close', () => {
      if (res.writableFinished) return;
      // Settled first: the abort below reports back synchronously, and a client that left is
      // nothing to log as a NetBox failure.
      gaveUp ??= new Error('the client closed the connection');
      clearTimeout(timer);
      if (!settled) {
        settled = true;
        resolve(started ? res.statusCode : 0);
      }
      controller?.abort(gaveUp);
    });
    if (streamed) req.once('error', (err) => controller?.abort(err));
    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(c) {
        controller = c;
        if (gaveUp) return c.abort(gaveUp);
        phase = 'waiting';
        timer.refresh();
      },
      onResponseStart(c, status, upHeaders, statusMessage) {
        if (settled) return c.abort(new Error('already answered'));
        phase = 'body';
        timer.refresh();
        o.onUpstreamAnswer?.(status);
        const location = upHeaders.location;
        if (o.refusedAt !== undefined && status >= 300 && status < 400 && typeof location === 'string' && isLoginRedirect(location, t, o.refusedAt)) {
          // Nothing goes to the client; the (small) body is read and dropped to keep the connection.
          refused = true;
          settled = true;
          resolve('refused');
          return;
        }
        const upConnection = listedIn(typeof upHeaders.connection === 'string' ? upHeaders.connection : undefined);
        const out: Record<string, string | string[]> = {};
        for (const name in upHeaders) {
          const value = upHeaders[name]!;
          if (HOP_BY_HOP.has(name) || upConnection.has(name)) continue;
          if (name === 'set-cookie') {
            const kept: string[] = [];
            for (const v of Array.isArray(value) ? value : [value]) {
              const sc = parseSetCookie(v);
              if (sc && sc.name === o.sessionCookieName) o.onSessionCookie(sc.deletes ? undefined : sc.value);
              else kept.push(v);
            }
            if (kept.length > 0) out[name] = kept;
            continue;
          }
          out[name] = name === 'location' && typeof value === 'string' ? publicLocation(value, t.url, o.publicUrl) : value;
        }
        if (o.setCookies?.length) {
          const sc = out['set-cookie'];
          out['set-cookie'] = [...(sc === undefined ? [] : Array.isArray(sc) ? sc : [sc]), ...o.setCookies];
        }
        started = true;
        res.writeHead(status, statusMessage, out);
      },
      onResponseData(c, chunk) {
        timer.refresh();
        if (refused || settled) return;
        // Backpressure: a slow client pauses the NetBox connection, not the gateway's memory.
        if (!res.write(chunk)) {
          paused = true;
          c.pause();
          res.once('drain', () => {
            paused = false;
            timer.refresh();
            c.resume();
          });
        }
      },
      onResponseEnd() {
        clearTimeout(timer);
        if (refused || settled) return;
        settled = true;
        res.end();
        resolve(res.statusCode);
      },
      onResponseError(_c, err) {
        clearTimeout(timer);
        if (gaveUp && settled) return; // our own abort: reported already
        fail(err);
      },
    };
    try {
      (o.lane === 'token' ? t.tokenPool : t.pool).dispatch(
        {
          origin: t.url.origin,
          method: req.method ?? 'GET',
          path: upstreamPath(t, o.path ?? req.url ?? '/'),
          headers,
          body: o.body ?? (streamed ? req : null),
          // Off: the request's own timer above keeps these deadlines.
          headersTimeout: 0,
          bodyTimeout: 0,
        },
        handler,
      );
    } catch (err) {
      fail(err as Error);
    }
  });
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
