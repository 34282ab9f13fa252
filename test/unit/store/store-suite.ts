// One behavioural suite every KeyValueStore must pass (oauth2-proxy's shared session store
// tests idea): the in-memory store runs it now, a shared store (Redis) will run the same.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { KeyValueStore } from '../../../src/store/store.js';

export function runStoreSuite(make: (clock: { now: number }) => Promise<KeyValueStore>): void {
  it('stores, reads and deletes JSON values', async () => {
    const clock = { now: 1_000 };
    const s = await make(clock);
    await s.set('a', { x: 1, list: ['y'] }, 10_000);
    assert.deepEqual(await s.get('a'), { x: 1, list: ['y'] });
    await s.delete('a');
    assert.equal(await s.get('a'), undefined);
    await s.close();
  });
  it('returns copies: changing a read value does not change the stored one', async () => {
    const s = await make({ now: 0 });
    await s.set('a', { n: 1 }, 10_000);
    const v = (await s.get<{ n: number }>('a'))!;
    v.n = 2;
    assert.deepEqual(await s.get('a'), { n: 1 });
    await s.close();
  });
  it('expires values after their ttl', async () => {
    const clock = { now: 0 };
    const s = await make(clock);
    await s.set('a', 1, 1000);
    clock.now = 999;
    assert.equal(await s.get('a'), 1);
    clock.now = 1000;
    assert.equal(await s.get('a'), undefined);
    await s.close();
  });
  it('take() is single use', async () => {
    const s = await make({ now: 0 });
    await s.set('p', 'pending', 1000);
    assert.equal(await s.take('p'), 'pending');
    assert.equal(await s.take('p'), undefined);
    await s.close();
  });
  it('set() replaces value and ttl', async () => {
    const clock = { now: 0 };
    const s = await make(clock);
    await s.set('a', 1, 100);
    await s.set('a', 2, 10_000);
    clock.now = 500;
    assert.equal(await s.get('a'), 2);
    await s.close();
  });
}
