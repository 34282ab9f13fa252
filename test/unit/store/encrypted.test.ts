// Encryption at rest: what a store holds is unreadable without the keys; keys rotate (first
// encrypts, all decrypt); anything that cannot be decrypted reads as absent (a signed-out user),
// said once in the log, never a crash. The cookie sealer derives its keys from the same list.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createSealer } from '../../../src/gateway/seal.js';
import { createEncryptedStore } from '../../../src/store/encrypted.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { silentLogger } from '../../../src/types.js';
import { recordingLogger } from '../../support/logger.js';

const A = randomBytes(32);
const B = randomBytes(32);
const SESSION = { identity: { username: 'alice' }, sourceState: { refreshToken: 'rt-secret-123' } };

describe('encrypted store', () => {
  it('holds ciphertext only: neither the token nor the user name is in the stored value', async () => {
    const raw = createMemoryStore();
    const s = createEncryptedStore(raw, { keys: [A], logger: silentLogger });
    await s.set('sess:1', SESSION, 60_000);
    const stored = JSON.stringify(await raw.get('sess:1'));
    assert.doesNotMatch(stored, /rt-secret-123|alice/);
    assert.deepEqual(await s.get('sess:1'), SESSION);
  });

  it('key rotation: a value written with key A reads after the config becomes [B, A]; new writes use B', async () => {
    const raw = createMemoryStore();
    await createEncryptedStore(raw, { keys: [A], logger: silentLogger }).set('sess:1', SESSION, 60_000);
    const rotated = createEncryptedStore(raw, { keys: [B, A], logger: silentLogger });
    assert.deepEqual(await rotated.get('sess:1'), SESSION);
    await rotated.set('sess:2', SESSION, 60_000);
    // Once A is dropped, what B wrote still reads; what only A wrote does not.
    const onlyB = createEncryptedStore(raw, { keys: [B], logger: silentLogger });
    assert.deepEqual(await onlyB.get('sess:2'), SESSION);
    assert.equal(await onlyB.get('sess:1'), undefined);
  });

  it('a value it cannot decrypt reads as absent and is logged once at warn, without the value', async () => {
    const raw = createMemoryStore();
    await createEncryptedStore(raw, { keys: [A], logger: silentLogger }).set('sess:1', SESSION, 60_000);
    const log = recordingLogger();
    const s = createEncryptedStore(raw, { keys: [B], logger: log });
    assert.equal(await s.get('sess:1'), undefined);
    assert.equal(await s.get('sess:1'), undefined);
    assert.equal(await s.take('sess:1'), undefined);
    const warns = log.records.filter((r) => r.level === 'warn');
    assert.equal(warns.length, 1, 'once, not on every request');
    assert.match(warns[0]!.msg!, /not in sessions.encryptionKeys/);
    assert.doesNotMatch(JSON.stringify(log.records), /rt-secret|alice/);
  });

  it('tampered, truncated, plaintext and moved values all read as absent', async () => {
    const raw = createMemoryStore();
    const s = createEncryptedStore(raw, { keys: [A], logger: silentLogger });
    await s.set('sess:1', SESSION, 60_000);
    const sealed = (await raw.get<string>('sess:1'))!;
    const flipped = sealed.slice(0, -2) + (sealed.at(-2) === 'A' ? 'B' : 'A') + sealed.at(-1);
    await raw.set('sess:tampered', flipped, 60_000);
    await raw.set('sess:truncated', sealed.slice(0, 20), 60_000);
    await raw.set('sess:plain', SESSION, 60_000);
    await raw.set('sess:garbage', 'v1.x.y.z', 60_000);
    // The store key is bound in: the same ciphertext under another key is refused.
    await raw.set('sess:moved', sealed, 60_000);
    for (const k of ['sess:tampered', 'sess:truncated', 'sess:plain', 'sess:garbage', 'sess:moved']) assert.equal(await s.get(k), undefined, k);
    assert.deepEqual(await s.get('sess:1'), SESSION);
  });

  it('refuses a key that is not 32 bytes or an empty key list (a programmer error)', () => {
    assert.throws(() => createEncryptedStore(createMemoryStore(), { keys: [], logger: silentLogger }), TypeError);
    assert.throws(() => createEncryptedStore(createMemoryStore(), { keys: [randomBytes(16)], logger: silentLogger }), TypeError);
  });
});

describe('cookie sealing from the configured keys', () => {
  it('a value sealed on one replica opens on another with the same keys, and after rotation to [B, A]', () => {
    const replica1 = createSealer({ keys: [A] });
    const replica2 = createSealer({ keys: [A] });
    const sealed = replica1.seal('pending', { next: '/dcim/' }, 60_000);
    assert.deepEqual(replica2.open('pending', sealed), { next: '/dcim/' });
    assert.deepEqual(createSealer({ keys: [B, A] }).open('pending', sealed), { next: '/dcim/' });
    assert.equal(createSealer({ keys: [B] }).open('pending', sealed), undefined);
    assert.equal(createSealer().open('pending', sealed), undefined, 'a random per-process key opens nothing of others');
  });

  it('the sealing key is derived, not the store key itself: a store value does not open as a cookie and vice versa', async () => {
    const raw = createMemoryStore();
    await createEncryptedStore(raw, { keys: [A], logger: silentLogger }).set('pending', { next: '/' }, 60_000);
    const stored = (await raw.get<string>('pending'))!;
    assert.equal(createSealer({ keys: [A] }).open('pending', stored.split('.')[2]), undefined);
    assert.equal(createSealer({ key: A }).open('pending', createSealer({ keys: [A] }).seal('pending', 1, 60_000)), undefined);
  });
});
