// The NetBox REST client: Node's fetch (undici inside, keep-alive pool, no extra dependency for
// `serve`), a service token, JSON in and out, pagination by following `next`, bounded retries
// with backoff on 429/5xx (honouring Retry-After), and errors that name the NetBox object and field.
import type { Logger } from '../../types.js';
import { silentLogger } from '../../types.js';
import { netboxResponseError, netboxUnreachableError, type NetboxCall, type ObjectRef } from './errors.js';
import { describeNetboxToken } from './token.js';

/** The part of fetch the client uses, so tests can stand in for NetBox. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export interface NetboxClientOptions {
  /** NetBox's base URL (it may carry a base path, e.g. https://host/netbox). */
  url: string;
  /** v2 `nbt_<key>.<token>` or v1 token, with or without its keyword. Never logged. */
  token: string;
  /** Per attempt. Default 10 s. */
  timeoutMs?: number;
  /** Further attempts after the first on 429/5xx or a failed connection. Default 4. */
  retries?: number;
  /** First backoff; doubles per attempt, with jitter. Default 250 ms. */
  retryBaseMs?: number;
  /** The longest the client waits before one retry (Retry-After included); longer asks fail at once. Default 15 s. */
  maxRetryWaitMs?: number;
  /** `limit` of list calls (NetBox caps it at MAX_PAGE_SIZE, 1000 by default). Default 250. */
  pageSize?: number;
  fetch?: FetchLike;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  logger?: Logger;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | Array<string | number>>;
  body?: unknown;
  /** Named in error messages. */
  object?: ObjectRef;
  signal?: AbortSignal;
}

export interface NetboxClient {
  readonly url: URL;
  readonly tokenVersion: 1 | 2;
  /** One JSON call; `path` is relative to NetBox's base URL (`/api/users/users/`). */
  request<T>(method: string, path: string, opts?: RequestOptions): Promise<T>;
  /** Every object of a list endpoint, following `next` page by page. */
  list<T>(path: string, query?: RequestOptions['query'], object?: ObjectRef): Promise<T[]>;
  close(): Promise<void>;
}

interface Page<T> {
  count: number;
  next: string | null;
  results: T[];
}

/** Statuses that mean "not now": worth another attempt after a pause. */
const RETRY_STATUS = new Set([429, 500, 502, 503, 504]);
/**
 * A POST is not idempotent: it is repeated only when NetBox said it did not act on it (429, 503)
 * or the connection was refused; a 500/502/504 or a reset may have created the object already.
 */
const POST_RETRY_STATUS = new Set([429, 503]);
/** Pages followed at most, so a NetBox that always answers `next` cannot keep us forever. */
const MAX_PAGES = 10_000;

export function createNetboxClient(o: NetboxClientOptions): NetboxClient {
  const base = new URL(o.url.endsWith('/') ? o.url : `${o.url}/`);
  const token = describeNetboxToken(o.token);
  const timeoutMs = o.timeoutMs ?? 10_000;
  const retries = o.retries ?? 4;
  const retryBaseMs = o.retryBaseMs ?? 250;
  const maxWait = o.maxRetryWaitMs ?? 15_000;
  const pageSize = o.pageSize ?? 250;
  const logger = o.logger ?? silentLogger;
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = o.random ?? Math.random;
  const doFetch: FetchLike = o.fetch ?? ((url, init) => fetch(url, init));

  /** `/api/x/` relative to the base path; absolute `next` URLs must stay on NetBox's origin. */
  const resolve = (path: string): URL => {
    if (/^https?:/i.test(path)) {
      const u = new URL(path);
      // NetBox builds `next` from the Host it was asked with; keep our origin, take its path.
      return new URL(u.pathname + u.search, base.origin);
    }
    return new URL(path.replace(/^\//, ''), base);
  };

  async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = resolve(path);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      for (const x of Array.isArray(v) ? v : [v]) url.searchParams.append(k, String(x));
    }
    const call: NetboxCall = { method, path: url.pathname + url.search };
    if (opts.object) call.object = opts.object;
    const headers: Record<string, string> = { Authorization: token.authorization, Accept: 'application/json' };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    for (let attempt = 0; ; attempt++) {
      // A fresh timeout per attempt, joined with the caller's signal.
      const signal = opts.signal ? AbortSignal.any([AbortSignal.timeout(timeoutMs), opts.signal]) : AbortSignal.timeout(timeoutMs);
      const init: Parameters<FetchLike>[1] = body === undefined ? { method, headers, signal } : { method, headers, body, signal };
      let res: Awaited<ReturnType<FetchLike>>;
      let text: string;
      try {
        res = await doFetch(url.href, init);
        text = await res.text();
      } catch (err) {
        const refused = (err as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
        if (opts.signal?.aborted || attempt >= retries || (method === 'POST' && !refused)) throw netboxUnreachableError(call, base, err);
        const wait = backoff(attempt);
        logger.warn({ event: 'netbox_api_retry', method, path: call.path, attempt: attempt + 1, waitMs: wait, reason: (err as Error).message }, 'NetBox API call failed; retrying');
        await sleep(wait);
        continue;
      }
      const answer = parseBody(text);
      if (res.status >= 200 && res.status < 300) return answer as T;
      const retryable = method === 'POST' ? POST_RETRY_STATUS.has(res.status) : RETRY_STATUS.has(res.status);
      if (!retryable || attempt >= retries) throw netboxResponseError(call, res.status, answer);
      const asked = retryAfterMs(res.headers.get('retry-after'));
      if (asked !== undefined && asked > maxWait) {
        throw netboxResponseError(call, res.status, answer, `NetBox asked to wait ${Math.ceil(asked / 1000)} s (Retry-After), longer than the client waits (${Math.ceil(maxWait / 1000)} s)`);
      }
      const wait = asked ?? backoff(attempt);
      logger.warn({ event: 'netbox_api_retry', method, path: call.path, status: res.status, attempt: attempt + 1, waitMs: wait }, 'NetBox API busy; retrying');
      await sleep(wait);
    }
  }

  function backoff(attempt: number): number {
    const full = Math.min(maxWait, retryBaseMs * 2 ** attempt);
    return Math.round(full / 2 + (random() * full) / 2);
  }

  async function list<T>(path: string, query: RequestOptions['query'] = {}, object?: ObjectRef): Promise<T[]> {
    const out: T[] = [];
    let next: string | null = path;
    let q: RequestOptions['query'] | undefined = { limit: pageSize, ...query };
    for (let n = 0; next !== null; n++) {
      if (n >= MAX_PAGES) throw new TypeError(`ERR_INVALID_RETURN_VALUE: NetBox kept answering a next page for ${path} after ${MAX_PAGES} pages`);
      const opts: RequestOptions = {};
      if (q) opts.query = q;
      if (object) opts.object = object;
      const page: Page<T> = await request<Page<T>>('GET', next, opts);
      if (!page || !Array.isArray(page.results)) throw netboxResponseError({ method: 'GET', path }, 200, 'not a NetBox list answer (no results)');
      out.push(...page.results);
      next = page.next;
      q = undefined; // `next` carries the query (offset, limit, filters) itself
    }
    return out;
  }

  return {
    url: base,
    tokenVersion: token.version,
    request,
    list,
    // Node's fetch shares one global pool; nothing of our own to close. Kept so callers end the
    // client's life explicitly (a dedicated pool can come without changing them).
    async close() {},
  };
}

function parseBody(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Retry-After as delay seconds or an HTTP date (RFC 9110 10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}
