// One behavioural suite every KeyValueStore must pass (oauth2-proxy's shared session store
// tests idea): the in-memory store, Redis, and both wrapped in encryption run it.
// `advance` moves the store's clock: the memory store's fake one, or real time for Redis.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ASK, type KeyValueStore } from '../../../src/store/store.js';

export interface StoreFixture {
  /** A fresh, empty store whose clock starts at clock.now. */
  make(clock: { now: number }): Promise<KeyValueStore>;
  /** Lets ms pass for the store (default: move the fake clock). */
  advance?(clock: { now: number }, ms: number): Promise<void>;
}

// Short enough that a real-time store waits little; the checks never race the expiry: "still
// there" is asserted right after writing, "gone" well after the ttl.
const TTL = 400;
const PAST_TTL = 700;

export function runStoreSuite(fixture: StoreFixture | StoreFixture['make']): void {
  const f: StoreFixture = typeof fixture === 'function' ? { make: fixture } : fixture;
  const advance = async (clock: { now: number }, ms: number) => {
    clock.now += ms;
    await f.advance?.(clock, ms);
  };

  it('stores, reads and deletes JSON values', async () => {
    const clock = { now: 1_000 };
    const s = await f.make(clock);
    await s.set('a', { x: 1, list: ['y'], text: 'grüße ✓' }, 10_000);
    assert.deepEqual(await s.get('a'), { x: 1, list: ['y'], text: 'grüße ✓' });
    await s.delete('a');
    assert.equal(await s.get('a'), undefined);
    await s.delete('never-there');
    await s.close();
  });
  it('returns copies: changing a read value does not change the stored one', async () => {
    const s = await f.make({ now: 0 });
    await s.set('a', { n: 1 }, 10_000);
    const v = (await s.get<{ n: number }>('a'))!;
    v.n = 2;
    assert.deepEqual(await s.get('a'), { n: 1 });
    await s.close();
  });
  it('expires values after their ttl', async () => {
    const clock = { now: 0 };
    const s = await f.make(clock);
    await s.set('a', 1, TTL);
    await s.set('b', 2, 60_000);
    assert.equal(await s.get('a'), 1);
    await advance(clock, PAST_TTL);
    assert.equal(await s.get('a'), undefined);
    assert.equal(await s.get('b'), 2);
    await s.close();
  });
  it('take() is single use', async () => {
    const s = await f.make({ now: 0 });
    await s.set('p', 'pending', 10_000);
    assert.equal(await s.take('p'), 'pending');
    assert.equal(await s.take('p'), undefined);
    await s.close();
  });
  it('set() replaces value and ttl', async () => {
    const clock = { now: 0 };
    const s = await f.make(clock);
    await s.set('a', 1, TTL);
    await s.set('a', 2, 10_000);
    await advance(clock, PAST_TTL);
    assert.equal(await s.get('a'), 2);
    await s.close();
  });
  it('update() replaces only a value that still exists, so a deleted one stays deleted', async () => {
    const clock = { now: 0 };
    const s = await f.make(clock);
    assert.equal(await s.update('a', 1, 10_000), false);
    assert.equal(await s.get('a'), undefined);
    await s.set('a', 1, TTL);
    assert.equal(await s.update('a', 2, 10_000), true);
    await advance(clock, PAST_TTL);
    assert.equal(await s.get('a'), 2, 'update() sets the new ttl');
    await s.delete('a');
    assert.equal(await s.update('a', 3, 10_000), false);
    assert.equal(await s.get('a'), undefined);
    await s.close();
  });
  it('tryLock(): one holder at a time; released, it can be taken again', async () => {
    const s = await f.make({ now: 0 });
    const first = await s.tryLock('lock', 10_000);
    assert.ok(first);
    assert.equal(await s.tryLock('lock', 10_000), undefined);
    assert.ok(await s.tryLock('other', 10_000), 'locks are per key');
    await first.release();
    const second = await s.tryLock('lock', 10_000);
    assert.ok(second);
    await second.release();
    await s.close();
  });
  it('tryLock(): a holder that never releases loses the lock at its ttl, and its late release does not free the next holder', async () => {
    const clock = { now: 0 };
    const s = await f.make(clock);
    const dead = await s.tryLock('lock', TTL);
    assert.ok(dead);
    await advance(clock, PAST_TTL);
    const next = await s.tryLock('lock', 10_000);
    assert.ok(next, 'free after the ttl');
    await dead.release();
    assert.equal(await s.tryLock('lock', 10_000), undefined, 'still held by the second holder');
    await next.release();
    await s.close();
  });
  it('indexes: members are added, listed and removed; the index lives as long as its longest ttl', async () => {
    const clock = { now: 0 };
    const s = await f.make(clock);
    assert.deepEqual(await s.indexMembers('user:alice'), []);
    await s.addToIndex('user:alice', 's1', 10_000);
    await s.addToIndex('user:alice', 's2', TTL);
    await s.addToIndex('user:bob', 's3', TTL);
    assert.deepEqual((await s.indexMembers('user:alice')).sort(), ['s1', 's2']);
    await s.removeFromIndex('user:alice', 's1');
    assert.deepEqual(await s.indexMembers('user:alice'), ['s2']);
    await advance(clock, PAST_TTL);
    assert.deepEqual(await s.indexMembers('user:alice'), ['s2'], 'a shorter ttl does not shorten the index');
    assert.deepEqual(await s.indexMembers('user:bob'), [], 'gone after its ttl');
    await s.close();
  });
  it('keys(): the live keys with a prefix, taken literally', async () => {
    const clock = { now: 0 };
    const s = await f.make(clock);
    await s.set('sess:a', 1, 10_000);
    await s.set('sess:b', 2, 10_000);
    await s.set('sess:short', 3, TTL);
    await s.set('other:c', 4, 10_000);
    await s.set('x*y', 5, 10_000);
    await s.set('xzy', 6, 10_000);
    await s.addToIndex('sess-index', 'm', 10_000);
    await advance(clock, PAST_TTL);
    assert.deepEqual((await s.keys('sess:')).sort(), ['sess:a', 'sess:b']);
    assert.deepEqual(await s.keys('x*'), ['x*y']);
    assert.deepEqual(await s.keys('none:'), []);
    await s.close();
  });

  it('counters: a fixed window from the first increment, readable without counting, gone after it', async () => {
    const clock = { now: 1_000 };
    const s = await f.make(clock);
    assert.equal(await s.counter('rl:x'), undefined);
    const first = await s.increment('rl:x', TTL);
    assert.equal(first.count, 1);
    assert.ok(first.ttlMs > 0 && first.ttlMs <= TTL, `ttl ${first.ttlMs}`);
    assert.equal((await s.increment('rl:x', TTL)).count, 2);
    assert.equal((await s.counter('rl:x'))?.count, 2, 'reading does not count');
    assert.equal((await s.counter('rl:x'))?.count, 2);
    await advance(clock, PAST_TTL);
    assert.equal(await s.counter('rl:x'), undefined);
    assert.equal((await s.increment('rl:x', TTL)).count, 1, 'a new window');
    await s.delete('rl:x');
    assert.equal(await s.counter('rl:x'), undefined);
    await s.close();
  });
}

/**
 * getShared, for the stores that have it (the memory store, and any store wrapped in
 * encryption): the session read on every request is parsed once per stored value and shared.
 */
export function runSharedSuite(make: StoreFixture['make'], o: { local?: boolean } = {}): void {
  it('peekShared answers without waiting with what getShared gives, or ASK; never a value that was replaced or deleted', async () => {
    const s = await make({ now: 0 });
    assert.ok(s.peekShared, 'this store can be asked without waiting');
    const key = 'sess:peek';
    const absent = s.peekShared(key);
    assert.ok(absent === undefined || (!o.local && absent === ASK));
    await s.set(key, { n: 1 }, 10_000);
    const shared = await s.getShared!<{ n: number }>(key);
    let peeked = s.peekShared(key);
    // A Redis store caches what it reads once its invalidations are on (just after connecting).
    for (let i = 0; i < 100 && peeked === ASK && !o.local; i++) {
      await new Promise((r) => setTimeout(r, 20));
      await s.getShared!(key);
      peeked = s.peekShared(key);
    }
    assert.equal(peeked, shared, 'the object getShared gave, without waiting');
    await s.update(key, { n: 2 }, 10_000);
    const after = s.peekShared<{ n: number }>(key);
    if (o.local) assert.equal((after as { n: number }).n, 2);
    else assert.ok(after === ASK || (after as { n: number }).n === 2, 'not the replaced value');
    await s.delete(key);
    const gone = s.peekShared(key);
    assert.ok(gone === undefined || (!o.local && gone === ASK), 'not the deleted value');
    await s.close();
  });


  it('getShared hands out one frozen object per stored value; a write (or delete) is seen at once', async () => {
    const s = await make({ now: 0 });
    assert.ok(s.getShared, 'this store shares values');
    const key = 'sess:abc';
    await s.set(key, { n: 1, decision: { groups: ['a'] } }, 10_000);
    const one = (await s.getShared<{ n: number; decision: { groups: string[] } }>(key))!;
    assert.deepEqual(one, { n: 1, decision: { groups: ['a'] } });
    assert.equal(await s.getShared(key), one, 'the same object again, not parsed again');
    // Frozen all the way down: a caller cannot change what other requests see.
    assert.throws(() => {
      (one as { n: number }).n = 2;
    }, TypeError);
    assert.throws(() => one.decision.groups.push('b'), TypeError);
    // get still gives a private copy.
    const copy = (await s.get<{ n: number }>(key))!;
    copy.n = 5;
    assert.equal((await s.getShared<{ n: number }>(key))!.n, 1);
    await s.set(key, { n: 2, decision: { groups: [] } }, 10_000);
    assert.equal((await s.getShared<{ n: number }>(key))!.n, 2);
    assert.equal(await s.update(key, { n: 3, decision: { groups: [] } }, 10_000), true);
    assert.equal((await s.getShared<{ n: number }>(key))!.n, 3);
    await s.delete(key);
    assert.equal(await s.getShared(key), undefined);
    await s.close();
  });
}
