// The shared store on Redis or Valkey (ioredis): every replica reads the same sessions, locks
// and indexes. Requests fail fast while Redis is away (no offline queue, no retries per
// command) and the client reconnects by itself, so the gateway recovers without a restart.
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import { GateError } from '../errors.js';
import type { Logger } from '../types.js';
import type { KeyValueStore } from './store.js';

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
  const lost = (why: string) => {
    if (down) return;
    down = true;
    o.logger.warn({ store: where, err: why }, 'session store unavailable; requests that need it answer 503 until it is back');
  };
  client.on('error', (err: Error) => lost(err.message));
  client.on('close', () => {
    if (!closing) lost('connection closed');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    o.logger.info({ store: where }, 'session store reachable again');
  });

  const guard = async <T>(op: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw new GateError('ERR_STORE_UNAVAILABLE', `the session store (${where}) failed on ${op}: ${(err as Error).message}`, { cause: err, detail: { store: where } });
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
    get: <T>(key: string) => guard('get', async () => parse<T>(await client.get(key))),
    set: (key, value, ttlMs) =>
      guard('set', async () => {
        await client.set(key, JSON.stringify(value), 'PX', Math.max(1, Math.ceil(ttlMs)));
      }),
    update: (key, value, ttlMs) => guard('update', async () => (await client.set(key, JSON.stringify(value), 'PX', Math.max(1, Math.ceil(ttlMs)), 'XX')) === 'OK'),
    delete: (key) =>
      guard('delete', async () => {
        await client.del(key);
      }),
    take: <T>(key: string) => guard('take', async () => parse<T>(await client.getdel(key))),
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
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}
