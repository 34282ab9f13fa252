// The shared store suite against a real redis-server (Debian's), plain and encrypted, plus what
// only a networked store has: fail-fast errors while Redis is away, reconnection without a
// restart, and values that survive a Redis restart with append-only persistence.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { isGateError } from '../../src/errors.js';
import { createEncryptedStore } from '../../src/store/encrypted.js';
import { createRedisStore } from '../../src/store/redis.js';
import type { KeyValueStore } from '../../src/store/store.js';
import { silentLogger } from '../../src/types.js';
import { recordingLogger } from '../support/logger.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { runSharedSuite, runStoreSuite } from '../unit/store/store-suite.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

let redis: RedisServer;
before(async () => {
  redis = await startRedis();
});
const opened: KeyValueStore[] = [];
after(async () => {
  // Stores a failed test left open would keep the process alive.
  await Promise.allSettled(opened.map((s) => s.close()));
  await redis?.remove();
});

// Each store gets its own key prefix: the tests share one server without seeing each other.
const open = async (logger = silentLogger, extra: { keyPrefix?: string; cachePrefixes?: string[] } = {}) => {
  const s = createRedisStore({ url: redis.url, keyPrefix: extra.keyPrefix ?? `test-${randomUUID()}:`, connectTimeout: 2000, commandTimeout: 1000, logger, cachePrefixes: extra.cachePrefixes });
  opened.push(s);
  assert.equal(await s.ready(), true);
  return s;
};
const realTime = { advance: (_c: { now: number }, ms: number) => sleep(ms) };

describe('redis store', () => {
  runStoreSuite({ make: () => open(), ...realTime });
});

describe('redis store, encrypted', () => {
  runStoreSuite({ make: async () => createEncryptedStore(await open(), { keys: [Buffer.alloc(32, 9)], logger: silentLogger }), ...realTime });
  // As `serve` opens it: sessions cached in process as well.
  runSharedSuite(async () => createEncryptedStore(await open(silentLogger, { cachePrefixes: ['sess:'] }), { keys: [Buffer.alloc(32, 9)], logger: silentLogger }));
});

describe('redis store, every key cached in process', () => {
  // The same contract with the client-side cache on for every key (serve caches only sessions).
  runStoreSuite({ make: () => open(silentLogger, { cachePrefixes: [''] }), ...realTime });
});

describe('redis store: the session cache stays correct across replicas', () => {
  /** Two replicas' stores on one prefix, and a plain connection to look at Redis. */
  /** Resolves when the store's log says its cache is on (bounded). */
  const cacheOn = async (logs: ReturnType<typeof recordingLogger>, times = 1) => {
    for (let i = 0; i < 50 && logs.records.filter((r) => r.msg?.startsWith('session cache on')).length < times; i++) await sleep(50);
    assert.equal(logs.records.filter((r) => r.msg?.startsWith('session cache on')).length, times, 'the log says the session cache is on');
  };
  const pair = async () => {
    const keyPrefix = `cache-${randomUUID()}:`;
    const logA = recordingLogger();
    const logB = recordingLogger();
    const a = await open(logA, { keyPrefix, cachePrefixes: ['sess:'] });
    const b = await open(logB, { keyPrefix, cachePrefixes: ['sess:'] });
    const admin = new Redis(redis.url);
    opened.push({ close: async () => void admin.disconnect() } as KeyValueStore);
    // Tracking is turned on once both connections of a store are up (a few round trips).
    await cacheOn(logA);
    await cacheOn(logB);
    return { a, b, admin, keyPrefix, logA };
  };
  const getCalls = async (admin: Redis) => Number(/cmdstat_get:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
  /** Reads until the value is the expected one (an invalidation is a message away), for at most 1 s: well inside the 5 s a cached entry may live, so a missed invalidation fails. */
  const eventually = async (s: KeyValueStore, key: string, expected: unknown) => {
    let v: unknown;
    for (let i = 0; i < 20; i++) {
      v = await s.get(key);
      if (JSON.stringify(v) === JSON.stringify(expected)) return;
      await sleep(50);
    }
    assert.deepEqual(v, expected, `${key} still read as the old value`);
  };

  it('a session read again and again costs no Redis round trip', async () => {
    const { a, admin } = await pair();
    await a.set('sess:x', { user: 'alice', n: 1 }, 60_000);
    assert.deepEqual(await a.get('sess:x'), { user: 'alice', n: 1 });
    const before = await getCalls(admin);
    for (let i = 0; i < 200; i++) assert.deepEqual(await a.get('sess:x'), { user: 'alice', n: 1 });
    assert.ok((await getCalls(admin)) - before <= 1, 'the reads were answered from the cache');
    // Values handed out are copies: changing one does not change the cache.
    const v = (await a.get<{ n: number }>('sess:x'))!;
    v.n = 99;
    assert.deepEqual(await a.get('sess:x'), { user: 'alice', n: 1 });
    // Keys outside the cached prefixes are read from Redis every time.
    await a.set('pending:y', 1, 60_000);
    const before2 = await getCalls(admin);
    for (let i = 0; i < 10; i++) await a.get('pending:y');
    assert.equal((await getCalls(admin)) - before2, 10);
  });

  it("another replica's update, delete and an expiry reach this replica's cache", async () => {
    const { a, b } = await pair();
    await b.set('sess:s1', { v: 1 }, 60_000);
    assert.deepEqual(await a.get('sess:s1'), { v: 1 });
    assert.equal(await b.update('sess:s1', { v: 2 }, 60_000), true);
    await eventually(a, 'sess:s1', { v: 2 });
    await b.delete('sess:s1');
    await eventually(a, 'sess:s1', undefined);
    // Revocation by anyone else (netbox-gate sessions revoke is another process): a plain DEL.
    await b.set('sess:s2', { v: 1 }, 60_000);
    assert.deepEqual(await a.get('sess:s2'), { v: 1 });
    await b.take('sess:s2');
    await eventually(a, 'sess:s2', undefined);
    await b.set('sess:s3', { v: 1 }, 300);
    assert.deepEqual(await a.get('sess:s3'), { v: 1 });
    await sleep(400);
    await eventually(a, 'sess:s3', undefined);
  });

  it('under steady concurrent reads, a change is seen and the cache fills again at once', async () => {
    const { a, b, admin } = await pair();
    await a.set('sess:busy', { v: 1 }, 60_000);
    let stop = false;
    let latest: unknown;
    // Eight readers at once, as requests of one user on a busy gateway: a read is always in flight.
    const readers = Array.from({ length: 8 }, async () => {
      while (!stop) {
        latest = await a.get('sess:busy');
        await new Promise<void>((r) => setImmediate(r)); // as requests do: one per turn of the event loop
      }
    });
    await sleep(200);
    await b.set('sess:busy', { v: 2 }, 60_000); // another replica writes
    await sleep(300);
    assert.deepEqual(latest, { v: 2 });
    // This replica writes (a session's last-seen time, every 30 s): its own invalidation comes
    // back while the reads that followed the write are still in flight.
    await a.set('sess:busy', { v: 3 }, 60_000);
    await sleep(300);
    assert.deepEqual(latest, { v: 3 });
    const before = await getCalls(admin);
    await sleep(300);
    const during = (await getCalls(admin)) - before;
    stop = true;
    await Promise.all(readers);
    assert.ok(during <= 2, `${during} Redis reads in 300 ms of steady reading: the cache did not fill again`);
  });

  it('when the invalidation connection drops, nothing cached is trusted until it is back', async () => {
    const { a, b, admin, keyPrefix, logA } = await pair();
    await a.set('sess:k', { v: 1 }, 60_000);
    assert.deepEqual(await a.get('sess:k'), { v: 1 });
    // Cut every subscriber (both stores' invalidation connections): invalidations sent now are lost.
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await sleep(100);
    await admin.set(`${keyPrefix}sess:k`, JSON.stringify({ v: 2 }), 'PX', 60_000);
    assert.deepEqual(await a.get('sess:k'), { v: 2 }, 'read from Redis, not from a cache that may have missed the change');
    // Back (ioredis reconnects by itself): cached again, and invalidated again.
    await cacheOn(logA, 2);
    const before = await getCalls(admin);
    for (let i = 0; i < 20; i++) await a.get('sess:k');
    assert.ok((await getCalls(admin)) - before <= 1, 'the cache is on again after the reconnect');
    await b.set('sess:k', { v: 3 }, 60_000);
    await eventually(a, 'sess:k', { v: 3 });
  });
});

describe('redis store: a Redis that forbids client-side caching', () => {
  it('an ACL without CLIENT: the store works, reads every session from Redis, and says so once', async () => {
    const admin = new Redis(redis.url);
    try {
      await admin.call('ACL', 'SETUSER', 'nocache', 'on', '>pw', '~*', '&*', '+@all', '-client');
      const logger = recordingLogger();
      const u = new URL(redis.url);
      const s = createRedisStore({ url: `redis://nocache:pw@${u.host}/0`, keyPrefix: `nocache-${randomUUID()}:`, connectTimeout: 2000, commandTimeout: 1000, logger, cachePrefixes: ['sess:'] });
      opened.push(s);
      assert.equal(await s.ready(), true);
      await sleep(300);
      await s.set('sess:a', { v: 1 }, 60_000);
      const calls = async () => Number(/cmdstat_get:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
      const before = await calls();
      for (let i = 0; i < 5; i++) assert.deepEqual(await s.get('sess:a'), { v: 1 });
      assert.equal((await calls()) - before, 5, 'every read went to Redis');
      assert.equal(logger.records.filter((r) => r.msg?.startsWith('session cache off')).length, 1);
      await s.close();
    } finally {
      admin.disconnect();
    }
  });
});

describe('redis store: outage and restart', () => {
  it('fails fast with ERR_STORE_UNAVAILABLE while Redis is down, then works again without a new client; values survive the restart', async () => {
    const logger = recordingLogger();
    const s = await open(logger);
    await s.set('sess:x', { user: 'alice' }, 60_000);
    await redis.stop();
    try {
      for (const op of [() => s.get('sess:x'), () => s.set('sess:y', 1, 1000), () => s.tryLock('l', 1000)] as Array<() => Promise<unknown>>) {
        await assert.rejects(op(), (e: unknown) => isGateError(e, 'ERR_STORE_UNAVAILABLE') && !/password/i.test((e as Error).message));
      }
      assert.equal(logger.records.filter((r) => r.msg?.startsWith('session store unavailable')).length, 1, 'said once per outage');
    } finally {
      await redis.start();
    }
    // The client reconnects by itself (bounded wait: retries back off to 2 s at most).
    let value: unknown;
    for (let i = 0; i < 50 && value === undefined; i++) {
      value = await s.get('sess:x').catch(() => undefined);
      if (value === undefined) await sleep(200);
    }
    assert.deepEqual(value, { user: 'alice' }, 'append-only persistence kept the value across the restart');
    assert.ok(logger.records.some((r) => r.msg === 'session store reachable again'));
    await s.close();
  });

  it('a store that cannot connect answers ready() false after the connect timeout and errors, not hangs', async () => {
    const s = createRedisStore({ url: 'redis://127.0.0.1:1', keyPrefix: 'x:', connectTimeout: 300, commandTimeout: 300, logger: silentLogger });
    opened.push(s);
    assert.equal(await s.ready(), false);
    await assert.rejects(s.get('a'), (e: unknown) => isGateError(e, 'ERR_STORE_UNAVAILABLE'));
    await s.close();
  });
});
