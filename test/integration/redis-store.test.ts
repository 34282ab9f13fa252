// The shared store suite against a real redis-server (Debian's), plain and encrypted, plus what
// only a networked store has: fail-fast errors while Redis is away, reconnection without a
// restart, and values that survive a Redis restart with append-only persistence.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isGateError } from '../../src/errors.js';
import { createEncryptedStore } from '../../src/store/encrypted.js';
import { createRedisStore } from '../../src/store/redis.js';
import type { KeyValueStore } from '../../src/store/store.js';
import { silentLogger } from '../../src/types.js';
import { recordingLogger } from '../support/logger.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { runStoreSuite } from '../unit/store/store-suite.js';

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
const open = async (logger = silentLogger) => {
  const s = createRedisStore({ url: redis.url, keyPrefix: `test-${randomUUID()}:`, connectTimeout: 2000, commandTimeout: 1000, logger });
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
