// The shared store on Redis or Valkey (ioredis): every replica reads the same sessions, locks
// and indexes. Requests fail fast while Redis is away (no offline queue, no retries per
// command) and the client reconnects by itself, so the gateway recovers without a restart.
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { GateError } from '../errors.js';
import type { Logger } from '../types.js';
import { ASK, type KeyValueStore } from './store.js';

export interface RedisStoreOptions {
  /** redis://[user:password@]host[:port][/db] or rediss:// (TLS). */
  url?: string | undefined;
  /** Sentinel mode: the sentinels and the name of the monitored primary. */
  sentinels?: ReadonlyArray<{ host: string; port: number }> | undefined;
  name?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  sentinelPassword?: string | undefined;
  /** TLS to the primary (and the sentinels) in Sentinel mode; with a url, rediss:// says it. */
  tls?: boolean | undefined;
  keyPrefix: string;
  connectTimeout: number;
  commandTimeout: number;
  logger: Logger;
  /**
   * Keys under these prefixes (sessions: read on every request) are kept in this process
   * and invalidated by Redis itself (client-side caching, see below). Off when absent.
   */
  cachePrefixes?: readonly string[] | undefined;
  /**
   * At most this many cached values (the oldest go first; a hit does not move an entry: that
   * would rebuild the Map's table every few requests, garbage that lives long enough to reach
   * V8's old generation). Default 4096; entries are read again every 5 s anyway.
   */
  cacheMax?: number | undefined;
}

// Releases a lock only for its holder, extends an index only forward: both in one round trip.
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
// One round trip, atomic: count, start the window on the first hit, say how long it has left.
const INCREMENT = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local t = redis.call('PTTL', KEYS[1])
if t < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) t = tonumber(ARGV[1]) end
return {n, t}`;
const COUNTER = `local n = redis.call('GET', KEYS[1])
if not n then return nil end
return {tonumber(n), redis.call('PTTL', KEYS[1])}`;
const ADD_TO_INDEX = `redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

const escapeGlob = (s: string) => s.replace(/[*?[\]\\]/g, (c) => `\\${c}`);

/** Where a store error comes from, for the 503 and the log; never the password in the URL. */
export function describeRedisTarget(o: Pick<RedisStoreOptions, 'url' | 'sentinels' | 'name'>): string {
  if (o.url) {
    const u = new URL(o.url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  }
  return `sentinel ${o.name ?? '?'} via ${(o.sentinels ?? []).map((s) => `${s.host}:${s.port}`).join(',')}`;
}

export function createRedisStore(o: RedisStoreOptions): KeyValueStore & { ready(): Promise<boolean> } {
  const where = describeRedisTarget(o);
  const common: RedisOptions = {
    keyPrefix: o.keyPrefix,
    connectTimeout: o.connectTimeout,
    commandTimeout: o.commandTimeout,
    // Fail fast while Redis is away: a request waiting for a reconnect would hang the user.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(100 * times, 2000),
    ...(o.username ? { username: o.username } : {}),
    ...(o.password ? { password: o.password } : {}),
  };
  const client = o.url
    ? new Redis(o.url, common)
    : new Redis({
        ...common,
        sentinels: (o.sentinels ?? []).map((s) => ({ host: s.host, port: s.port })),
        name: o.name!,
        ...(o.sentinelPassword ? { sentinelPassword: o.sentinelPassword } : {}),
        ...(o.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
      });

  // One warning per outage, one note when it is over: not a line per reconnect attempt.
  let closing = false;
  let down = false;
  /** Why the connection is down, for the errors of the commands refused meanwhile. */
  let downWhy = '';
  const lost = (why: string) => {
    if (down) return;
    downWhy = why;
    down = true;
    o.logger.warn({ store: where, err: why }, 'session store unavailable; requests that need it answer 503 until it is back');
  };
  client.on('error', (err: Error) => {
    lost(err.message);
    downWhy = err.message; // the latest error says more than "connection closed"
  });
  client.on('close', () => {
    if (!closing) lost('connection closed');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    o.logger.info({ store: where }, 'session store reachable again');
  });

  const cache = createTrackedCache(client, o);

  const guard = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      // Not connected, ioredis refuses the command with its own words ("Stream isn't writeable
      // and enableOfflineQueue options is false"); the reason the connection is down says more.
      const why = client.status === 'ready' ? (err as Error).message : `not connected${downWhy ? ` (${downWhy})` : ''}`;
      throw new GateError('ERR_STORE_UNAVAILABLE', `the session store (${where}) failed on ${op}: ${why}`, { cause: err, detail: { store: where } });
    }
  };
  const parse = <T>(raw: string | null): T | undefined => (raw === null ? undefined : (JSON.parse(raw) as T));

  return {
    /** Resolves once connected (true) or when the connect timeout has passed (false). */
    ready() {
      if (client.status === 'ready') return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const done = (ok: boolean) => {
          clearTimeout(t);
          client.off('ready', onReady);
          resolve(ok);
        };
        const onReady = () => done(true);
        const t = setTimeout(() => done(false), o.connectTimeout);
        client.on('ready', onReady);
      });
    },
    get: <T>(key: string) => guard('get', async () => (cache ? ((await cache.get(key)) as T | undefined) : parse<T>(await client.get(key)))),
    peek: (key) => (cache ? cache.peek(key) : ASK),
    set: (key, value, ttlMs) =>
      guard('set', async () => {
        cache?.drop(key);
        await client.set(key, JSON.stringify(value), 'PX', Math.max(1, Math.ceil(ttlMs)));
      }),
    update: (key, value, ttlMs) =>
      guard('update', async () => {
        cache?.drop(key);
        return (await client.set(key, JSON.stringify(value), 'PX', Math.max(1, Math.ceil(ttlMs)), 'XX')) === 'OK';
      }),
    delete: (key) =>
      guard('delete', async () => {
        cache?.drop(key);
        await client.del(key);
      }),
    take: <T>(key: string) =>
      guard('take', async () => {
        cache?.drop(key);
        return parse<T>(await client.getdel(key));
      }),
    tryLock: (key, ttlMs) =>
      guard('lock', async () => {
        const token = randomUUID();
        const ok = await client.set(key, JSON.stringify(token), 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
        if (ok !== 'OK') return undefined;
        return {
          release: () =>
            guard('unlock', async () => {
              await client.eval(RELEASE, 1, key, JSON.stringify(token));
            }),
        };
      }),
    addToIndex: (name, member, ttlMs) =>
      guard('index', async () => {
        await client.eval(ADD_TO_INDEX, 1, name, member, String(Math.max(1, Math.ceil(ttlMs))));
      }),
    removeFromIndex: (name, member) =>
      guard('index', async () => {
        await client.srem(name, member);
      }),
    indexMembers: (name) => guard('index', () => client.smembers(name)),
    keys: (prefix) =>
      guard('scan', async () => {
        // SCAN does not apply ioredis' keyPrefix: add it to the pattern, strip it from the keys.
        const found = new Set<string>();
        let cursor = '0';
        let rounds = 0;
        do {
          const [next, batch] = await client.scan(cursor, 'MATCH', `${escapeGlob(o.keyPrefix + prefix)}*`, 'COUNT', 500);
          for (const k of batch) found.add(k.slice(o.keyPrefix.length));
          cursor = next;
        } while (cursor !== '0' && ++rounds < 100_000);
        return [...found];
      }),
    increment: (key, ttlMs) =>
      guard('increment', async () => {
        const [count, ttl] = (await client.eval(INCREMENT, 1, key, String(Math.max(1, Math.ceil(ttlMs))))) as [number, number];
        return { count, ttlMs: Math.max(0, ttl) };
      }),
    counter: (key) =>
      guard('counter', async () => {
        const r = (await client.eval(COUNTER, 1, key)) as [number, number] | null;
        return r ? { count: r[0], ttlMs: Math.max(0, r[1]) } : undefined;
      }),
    async close() {
      closing = true;
      await cache?.close();
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

/**
 * Client-side caching of hot keys (sessions), kept correct across replicas by Redis itself:
 * the main connection turns on CLIENT TRACKING in broadcast mode for the cached prefixes,
 * redirected to a second connection subscribed to __redis__:invalidate, so every write,
 * delete or expiry of such a key on any replica (or by `netbox-gate sessions revoke`) drops it
 * here too. A signed-in request then costs no Redis round trip (the profile's largest cost of
 * the Redis path after the proxying itself), while a revoked session is still refused on
 * every replica's next request.
 *
 * Correctness rules, from Redis's client-side caching guide:
 * - Nothing is cached unless tracking is confirmed on for the current pair of connections;
 *   when either connection drops, the cache is emptied and stays off until tracking is
 *   turned on again (invalidations sent meanwhile are lost, so nothing may be trusted).
 * - A read in flight when an invalidation for its key arrives is not cached (the reply and the
 *   invalidation travel on different connections and may arrive in either order).
 * - Entries are also trusted for at most MAX_AGE_MS: a bound on any staleness a lost
 *   invalidation could cause, at the cost of one read per session every few seconds.
 * Redis < 6 (no CLIENT TRACKING) or an ACL that forbids it: no cache, said once in the log.
 */
const MAX_AGE_MS = 5_000;
const INVALIDATE = '__redis__:invalidate';

interface TrackedCache {
  /** The parsed value, undefined when absent. */
  get(key: string): Promise<unknown>;
  /** The cached value when `get` would answer from the cache, else ASK. */
  peek(key: string): unknown;
  drop(key: string): void;
  close(): Promise<void>;
}

function createTrackedCache(client: Redis, o: RedisStoreOptions): TrackedCache | undefined {
  const prefixes = o.cachePrefixes ?? [];
  if (prefixes.length === 0) return undefined;
  const max = o.cacheMax ?? 4096;
  const cacheable = (key: string) => prefixes.some((p) => key.startsWith(p));
  // A cached value is kept as JSON and parsed per read, so callers get their own copy; a
  // value that is a string (an encrypted session) is immutable and kept parsed, which also
  // lets the encrypted store recognise it by identity.
  const entries = new Map<string, { raw: string; at: number; str?: string }>();
  const valueOf = (e: { raw: string; str?: string }): unknown => e.str ?? JSON.parse(e.raw);
  /**
   * Reads in flight per key, and for those keys how many invalidations arrived meanwhile: a
   * read caches its reply only if none arrived between its start and its reply. (A read that
   * starts after an invalidation was received is sent after the write it announces, so its
   * reply is fresh: under steady load, with reads of a key always in flight, the cache fills
   * again at once instead of waiting for a moment without reads.)
   */
  const reading = new Map<string, number>();
  const invalidations = new Map<string, number>();
  const invalidated = (key: string) => {
    entries.delete(key);
    if (reading.has(key)) invalidations.set(key, (invalidations.get(key) ?? 0) + 1);
  };
  let on = false;
  /** Bumped whenever trust is lost: a read that started in an older epoch is not cached. */
  let epoch = 0;
  let closed = false;
  let unsupportedSaid = false;

  // RESP2 on purpose: Redis sends redirected invalidations to a RESP3 connection as an
  // `invalidate` push frame, which ioredis does not surface; to a RESP2 subscriber they are
  // ordinary pub/sub messages. The channel is not a key: ioredis' keyPrefix does not touch it.
  // No automatic resubscribe: after a reconnect the connection must first tell its new client
  // ID (a subscribed RESP2 connection may send nothing but subscriber commands).
  const sub = client.duplicate({ protocol: 2, autoResubscribe: false });
  const off = () => {
    on = false;
    epoch++;
    entries.clear();
  };
  sub.on('messageBuffer', (channel: Buffer, message: Buffer | Buffer[] | null) => {
    if (channel.toString() !== INVALIDATE) return;
    if (message === null || !Array.isArray(message)) {
      // FLUSHDB / FLUSHALL (null), or anything not understood: trust nothing.
      entries.clear();
      epoch++;
      return;
    }
    for (const b of message) invalidated(b.toString().slice(o.keyPrefix.length));
  });
  sub.on('error', () => undefined); // the main client reports outages
  sub.on('close', off);
  client.on('close', off);

  // (Re)connects the pair: each connection's ready starts it; both must be ready.
  let starting = false;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;
  /** Tries again shortly (a connection that is up cannot be counted on to say `ready` again). */
  const later = () => {
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void start();
    }, Math.min(200 * 2 ** failures++, 5_000));
    retry.unref();
  };
  const start = async () => {
    if (closed || on || starting || client.status !== 'ready' || sub.status !== 'ready') return;
    starting = true;
    const startedEpoch = epoch;
    let again = false;
    try {
      const id = (await sub.client('ID')) as number;
      await sub.subscribe(INVALIDATE);
      // OFF first: a connection that kept tracking on (its redirect target reconnected) refuses
      // a second ON with other options.
      await client.client('TRACKING', 'OFF');
      await client.client('TRACKING', 'ON', 'REDIRECT', String(id), 'BCAST', ...prefixes.flatMap((p) => ['PREFIX', o.keyPrefix + p]));
      if (epoch === startedEpoch && !closed) {
        on = true;
        failures = 0;
        o.logger.info({ prefixes }, 'session cache on (Redis client-side caching: changes on any replica invalidate it)');
      } else again = true; // trust was lost meanwhile (a connection dropped): from the start
    } catch (err) {
      // An unknown command or a refusal is for good; anything else (a command timing out while
      // the machine is busy, a connection lost meanwhile) is tried again.
      const msg = (err as Error).message;
      if (/unknown (sub)?command|NOPERM|not allowed|ERR syntax/i.test(msg)) {
        if (!unsupportedSaid && !closed) {
          unsupportedSaid = true;
          o.logger.info({ err: msg }, 'session cache off: this Redis does not allow CLIENT TRACKING (Redis 6 or later, and the CLIENT command in the ACL); every request reads its session from Redis');
        }
      } else again = true;
    } finally {
      starting = false;
    }
    if (again) later();
  };
  client.on('ready', () => void start());
  sub.on('ready', () => void start());
  void start();

  return {
    peek(key) {
      if (!cacheable(key)) return ASK;
      const hit = entries.get(key);
      return on && hit && Date.now() - hit.at < MAX_AGE_MS ? valueOf(hit) : ASK;
    },
    async get(key) {
      if (!cacheable(key)) {
        const raw = await client.get(key);
        return raw === null ? undefined : JSON.parse(raw);
      }
      const hit = entries.get(key);
      if (on && hit && Date.now() - hit.at < MAX_AGE_MS) return valueOf(hit);
      const startedEpoch = epoch;
      const wasOn = on;
      reading.set(key, (reading.get(key) ?? 0) + 1);
      const seen = invalidations.get(key) ?? 0;
      let raw: string | null;
      let fresh: boolean;
      try {
        raw = await client.get(key);
      } finally {
        fresh = (invalidations.get(key) ?? 0) === seen;
        const n = reading.get(key)! - 1;
        if (n > 0) reading.set(key, n);
        else {
          reading.delete(key);
          invalidations.delete(key);
        }
      }
      if (raw === null) return undefined;
      const value: unknown = JSON.parse(raw);
      if (wasOn && on && epoch === startedEpoch && fresh) {
        if (entries.size >= max) entries.delete(entries.keys().next().value!);
        entries.set(key, typeof value === 'string' ? { raw, at: Date.now(), str: value } : { raw, at: Date.now() });
      }
      return value;
    },
    drop: invalidated,
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      off();
      try {
        await sub.quit();
      } catch {
        sub.disconnect();
      }
    },
  };
}
