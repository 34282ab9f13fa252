// A small Microsoft Graph reader: GET a directoryObject collection with the user's token,
// follow @odata.nextLink, honour 429/503 Retry-After, all bounded in pages, items, retries and time.
//
// Why our own and not @microsoft/msgraph-sdk: we need one read-only call; the SDK pulls in Kiota
// and an auth stack, and its retry handler cannot be bounded by a total wait or driven by an
// injected clock/sleep. The wire format is Microsoft's documented OData JSON (value, @odata.nextLink).
import { GateError } from '../../errors.js';

export interface GraphPageLimits {
  /** Pages followed through @odata.nextLink before giving up (fail closed, never a partial list). */
  maxPages: number;
  /** Directory objects accepted in total. */
  maxItems: number;
  /** Retries per request after 429/503/504. */
  maxRetries: number;
  /** Total time we agree to wait for Retry-After across the whole listing, in ms. */
  maxTotalWaitMs: number;
  /** Per-request timeout in ms. */
  timeoutMs: number;
  /** The whole listing, pages and waits together, in ms: a sign-in must not hang on Graph. */
  deadlineMs: number;
}

export const DEFAULT_GRAPH_LIMITS: GraphPageLimits = {
  maxPages: 100,
  maxItems: 50_000,
  maxRetries: 4,
  maxTotalWaitMs: 30_000,
  timeoutMs: 10_000,
  deadlineMs: 60_000,
};

export interface GraphListOptions {
  url: string;
  accessToken: string;
  fetch: typeof fetch;
  signal?: AbortSignal;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Milliseconds since the epoch, for Retry-After given as an HTTP date. */
  now?: () => number;
  limits?: Partial<GraphPageLimits>;
  /** Told of every 429/503/504 before the back-off (metrics). */
  onThrottled?: (status: number) => void;
}

/** One entry of a directoryObject collection as Graph returns it; everything else is ignored. */
export interface DirectoryObject {
  '@odata.type'?: string;
  id: string;
  displayName?: string | null;
}

/** Thrown for 401/403 so the caller can name the permission that is missing. */
export class GraphDeniedError extends Error {
  constructor(
    readonly status: number,
    readonly graphCode: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'GraphDeniedError';
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Lists every object of the collection at `url`, following nextLink. Throws GateError or GraphDeniedError. */
export async function listDirectoryObjects(opts: GraphListOptions): Promise<DirectoryObject[]> {
  const limits = { ...DEFAULT_GRAPH_LIMITS, ...opts.limits };
  const sleep = opts.sleep ?? abortableSleep;
  const deadline = AbortSignal.timeout(limits.deadlineMs);
  const signal = opts.signal ? AbortSignal.any([opts.signal, deadline]) : deadline;
  const o: GraphListOptions = { ...opts, signal };
  // The bearer token may only go back to the Graph origin we were configured with: a nextLink
  // pointing anywhere else (a hostile or broken reply) would leak the user's token.
  const origin = new URL(opts.url).origin;
  const out: DirectoryObject[] = [];
  const budget = { waitedMs: 0 };
  let next: string | undefined = opts.url;
  for (let page = 0; next !== undefined; page++) {
    if (page >= limits.maxPages) {
      throw new GateError(
        'ERR_SOURCE_UNAVAILABLE',
        `Microsoft Graph returned more than ${limits.maxPages} pages of memberships; refusing a partial group list`,
        { detail: { pages: page, items: out.length } },
      );
    }
    const body = await getJson(next, o, limits, sleep, budget);
    const value = (body as { value?: unknown }).value;
    if (!Array.isArray(value)) throw protocol('the reply has no "value" array');
    for (const v of value) {
      if (v === null || typeof v !== 'object' || typeof (v as { id?: unknown }).id !== 'string') {
        throw protocol('a directory object in the reply has no string "id"');
      }
      const o = v as Record<string, unknown>;
      const item: DirectoryObject = { id: o.id as string };
      if (typeof o['@odata.type'] === 'string') item['@odata.type'] = o['@odata.type'];
      if (typeof o.displayName === 'string') item.displayName = o.displayName;
      out.push(item);
    }
    if (out.length > limits.maxItems) {
      throw new GateError(
        'ERR_SOURCE_UNAVAILABLE',
        `Microsoft Graph returned more than ${limits.maxItems} memberships; refusing a partial group list`,
        { detail: { pages: page + 1, items: out.length } },
      );
    }
    const link = (body as { '@odata.nextLink'?: unknown })['@odata.nextLink'];
    if (link === undefined || link === null) {
      next = undefined;
    } else {
      if (typeof link !== 'string') throw protocol('"@odata.nextLink" is not a string');
      let u: URL;
      try {
        u = new URL(link);
      } catch {
        throw protocol('"@odata.nextLink" is not a URL');
      }
      if (u.origin !== origin) throw protocol(`"@odata.nextLink" points to ${u.origin}, not ${origin}; not sending the token there`);
      next = u.href;
    }
  }
  return out;
}

async function getJson(
  url: string,
  opts: GraphListOptions,
  limits: GraphPageLimits,
  sleep: NonNullable<GraphListOptions['sleep']>,
  budget: { waitedMs: number },
): Promise<unknown> {
  for (let attempt = 0; ; attempt++) {
    const signals = [AbortSignal.timeout(limits.timeoutMs)];
    if (opts.signal) signals.push(opts.signal);
    let res: Response;
    try {
      res = await opts.fetch(url, {
        headers: { authorization: `Bearer ${opts.accessToken}`, accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      throw new GateError('ERR_SOURCE_UNAVAILABLE', `Microsoft Graph did not answer: ${errText(err)}`, { cause: err });
    }
    if (res.status === 200) {
      try {
        return await res.json();
      } catch (err) {
        throw new GateError('ERR_SOURCE_PROTOCOL', 'Microsoft Graph sent a reply that is not JSON', { cause: err });
      }
    }
    const err = await graphError(res);
    if (res.status === 401 || res.status === 403) {
      throw new GraphDeniedError(res.status, err.code, err.message ?? `HTTP ${res.status}`);
    }
    if (res.status === 429 || res.status === 503 || res.status === 504) {
      opts.onThrottled?.(res.status);
      // Graph's throttling guidance: wait Retry-After seconds; without it, back off exponentially.
      const after = parseRetryAfter(res.headers.get('retry-after'), opts.now?.() ?? Date.now());
      const waitMs = after ?? Math.min(1000 * 2 ** attempt, 8000);
      if (attempt >= limits.maxRetries || budget.waitedMs + waitMs > limits.maxTotalWaitMs) {
        throw new GateError(
          'ERR_SOURCE_UNAVAILABLE',
          `Microsoft Graph is throttling or unavailable (HTTP ${res.status}${after !== undefined ? `, Retry-After ${after / 1000}s` : ''}) after ${attempt} retries and ${Math.round(budget.waitedMs / 1000)}s of waiting`,
          { detail: { status: res.status, graphCode: err.code } },
        );
      }
      budget.waitedMs += waitMs;
      try {
        await sleep(waitMs, opts.signal);
      } catch (e) {
        throw new GateError('ERR_SOURCE_UNAVAILABLE', 'gave up waiting for Microsoft Graph (aborted)', { cause: e });
      }
      continue;
    }
    throw new GateError(
      'ERR_SOURCE_UNAVAILABLE',
      `Microsoft Graph answered HTTP ${res.status}${err.code ? ` ${err.code}` : ''}${err.message ? `: ${err.message}` : ''}`,
      { detail: { status: res.status, graphCode: err.code } },
    );
  }
}

/** Retry-After in delta-seconds (what Graph sends) or an HTTP date; undefined when absent or unusable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const v = value.trim();
  if (/^\d{1,6}$/.test(v)) return Number(v) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

/** Graph's error body is `{ error: { code, message } }`; we keep short, printable parts only. */
async function graphError(res: Response): Promise<{ code?: string; message?: string }> {
  try {
    const text = (await res.text()).slice(0, 4096);
    const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
    const out: { code?: string; message?: string } = {};
    if (typeof e?.code === 'string') out.code = printable(e.code);
    if (typeof e?.message === 'string') out.message = printable(e.message);
    return out;
  } catch {
    return {};
  }
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
}

function protocol(reason: string): GateError {
  return new GateError('ERR_SOURCE_PROTOCOL', `Microsoft Graph reply rejected: ${reason}`);
}

function errText(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError') return 'timed out';
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}
