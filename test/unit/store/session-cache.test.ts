// The caches of the signed-in request path (issue 11) never change what a store answers: an
// encrypted session decrypted once is still read fresh when another replica (another store
// instance over the same shared data) writes it, deletes it or seals it with another key; a
// large value kept deflated in the memory store comes back intact, as a copy of its own.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createEncryptedStore } from '../../../src/store/encrypted.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { silentLogger } from '../../../src/types.js';

const A = randomBytes(32);
const B = randomBytes(32);
// A session of realistic size (well above the memory store's compression threshold).
const session = (n: number) => ({
  sourceId: 'demo',
  identity: { username: 'alice', groups: ['netbox-admins', 'staff'], attributes: { email: 'alice@example.org' } },
  sourceState: { idToken: `eyJ${randomBytes(600).toString('base64url')}`, refreshToken: randomBytes(32).toString('base64url'), refreshable: true },
  decision: { allowed: true, username: 'alice', groups: ['NB admins'], superuser: true, staff: false, trace: [] },
  lastSeenAt: n,
});

describe('session caches', () => {
  it('encrypted store: a session written by another replica is read as written, not as cached', async () => {
    const shared = createMemoryStore();
    const one = createEncryptedStore(shared, { keys: [A], logger: silentLogger });
    const two = createEncryptedStore(shared, { keys: [A], logger: silentLogger });
    await one.set('sess:x', session(1), 60_000);
    assert.equal((await one.get<{ lastSeenAt: number }>('sess:x'))!.lastSeenAt, 1);
    assert.equal((await one.get<{ lastSeenAt: number }>('sess:x'))!.lastSeenAt, 1, 'read again from the cache');
    assert.equal(await two.update('sess:x', session(2), 60_000), true);
    assert.equal((await one.get<{ lastSeenAt: number }>('sess:x'))!.lastSeenAt, 2, 'the other replica’s write is seen');
    await two.delete('sess:x');
    assert.equal(await one.get('sess:x'), undefined, 'a session ended on the other replica is gone here too');
  });

  it('encrypted store: a cached session is a fresh copy on every read; a rotated-out key still reads as absent', async () => {
    const shared = createMemoryStore();
    const one = createEncryptedStore(shared, { keys: [A], logger: silentLogger });
    await one.set('sess:y', session(1), 60_000);
    const first = (await one.get<{ decision: { groups: string[] } }>('sess:y'))!;
    first.decision.groups.push('mutated by a caller');
    assert.deepEqual((await one.get<{ decision: { groups: string[] } }>('sess:y'))!.decision.groups, ['NB admins']);
    const otherKey = createEncryptedStore(shared, { keys: [B], logger: silentLogger });
    await otherKey.set('sess:y', session(3), 60_000);
    assert.equal(await one.get('sess:y'), undefined, 'sealed with a key this replica does not have: signed out, not the cached copy');
  });

  it('memory store: a large value (kept deflated) comes back intact, as a copy; small values and updates too', async () => {
    const m = createMemoryStore();
    const big = session(7);
    await m.set('sess:z', big, 60_000);
    assert.deepEqual(await m.get('sess:z'), big);
    const copy = (await m.get<ReturnType<typeof session>>('sess:z'))!;
    copy.identity.groups.push('mutated');
    assert.deepEqual(await m.get('sess:z'), big);
    assert.equal(await m.update('sess:z', session(8), 60_000), true);
    assert.equal((await m.get<{ lastSeenAt: number }>('sess:z'))!.lastSeenAt, 8);
    await m.set('small', { a: 'é', n: 1 }, 60_000);
    assert.deepEqual(await m.get('small'), { a: 'é', n: 1 });
    await m.set('unicode', { ...big, name: 'Zoë Ünïcode ✓ 名前' }, 60_000);
    assert.equal((await m.get<{ name: string }>('unicode'))!.name, 'Zoë Ünïcode ✓ 名前');
    await m.delete('sess:z');
    assert.equal(await m.get('sess:z'), undefined);
    assert.equal(await m.take('unicode') !== undefined, true);
    assert.equal(await m.get('unicode'), undefined);
  });
});
