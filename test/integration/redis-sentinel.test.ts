// The shared store through Redis Sentinel: the client asks the sentinel for the primary named
// in sessions.store.name and runs the shared store suite against it.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe } from 'node:test';
import { createRedisStore } from '../../src/store/redis.js';
import type { KeyValueStore } from '../../src/store/store.js';
import { silentLogger } from '../../src/types.js';
import { startRedis, startSentinel, type RedisSentinel, type RedisServer } from '../support/redis.js';
import { runStoreSuite } from '../unit/store/store-suite.js';

let redis: RedisServer;
let sentinel: RedisSentinel;
const opened: KeyValueStore[] = [];
before(async () => {
  redis = await startRedis({ appendonly: false });
  sentinel = await startSentinel(redis, 'gate-primary');
});
after(async () => {
  await Promise.allSettled(opened.map((s) => s.close()));
  await sentinel?.stop();
  await redis?.remove();
});

describe('redis store through Sentinel', () => {
  runStoreSuite({
    make: async () => {
      const s = createRedisStore({ sentinels: [{ host: '127.0.0.1', port: sentinel.port }], name: 'gate-primary', keyPrefix: `sentinel-${randomUUID()}:`, connectTimeout: 3000, commandTimeout: 1000, logger: silentLogger });
      opened.push(s);
      assert.equal(await s.ready(), true);
      return s;
    },
    advance: (_c, ms) => new Promise<void>((r) => setTimeout(r, ms)),
  });
});
