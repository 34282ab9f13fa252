// argon2id PHC strings: a vector from the reference implementation's own tests verifies, our
// hashes round-trip, and strings this gateway must not accept are refused with a reason.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decoyHash, formatPhc, hashPassword, parsePhc, verifyPassword, type PasswordHash } from '../../../src/sources/local/password-hash.js';

// From the argon2 reference implementation (P-H-C/phc-winner-argon2, src/test.c, Argon2id v=0x13).
const REFERENCE = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc';
// Cheap parameters so the suite stays quick; the cost does not change what is checked.
const CHEAP = { memory: 64, passes: 1, parallelism: 1 };

function parsed(s: string): PasswordHash {
  const h = parsePhc(s);
  assert.ok(!('error' in h), 'error' in h ? h.error : '');
  return h;
}

describe('argon2id hashes', () => {
  it('verifies the reference implementation test vector, and refuses another password', async () => {
    const h = parsed(REFERENCE);
    assert.deepEqual(h.params, { memory: 65536, passes: 2, parallelism: 1 });
    assert.equal(h.salt.toString(), 'somesalt');
    assert.equal(await verifyPassword('password', h), true);
    assert.equal(await verifyPassword('Password', h), false);
    assert.equal(await verifyPassword('', h), false);
  });

  it('formats what it parses, byte for byte', () => {
    assert.equal(formatPhc(parsed(REFERENCE)), REFERENCE);
  });

  it('makes a PHC string with the default cost and a fresh salt, which verifies', async () => {
    const a = await hashPassword('correct horse');
    const b = await hashPassword('correct horse');
    assert.match(a, /^\$argon2id\$v=19\$m=65536,t=3,p=4\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.notEqual(a, b, 'each hash has its own salt');
    assert.equal(await verifyPassword('correct horse', parsed(a)), true);
    assert.equal(await verifyPassword('correct horse ', parsed(a)), false);
  });

  it('keeps non-ASCII passwords as UTF-8', async () => {
    const h = parsed(await hashPassword('pässwörd-日本', CHEAP));
    assert.equal(await verifyPassword('pässwörd-日本', h), true);
    assert.equal(await verifyPassword('passwort-日本', h), false);
  });

  it('a decoy hash has the cost asked for and matches no password', async () => {
    const d = decoyHash(CHEAP);
    assert.deepEqual(d.params, CHEAP);
    assert.equal(await verifyPassword('', d), false);
    assert.equal(await verifyPassword('password', d), false);
  });

  const refused: Array<[string, RegExp]> = [
    ['$2b$12$KIXQJ1iY5Q7Jd0t3m2F8/.2b6kq0n1Vq0nq3c0lJYQ2b4rWq6QZ9e', /bcrypt hashes are not supported/],
    ['$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG', /only argon2id/],
    ['$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', /version 16/],
    ['$argon2id$v=19$m=65536,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', /t=0/],
    ['$argon2id$v=19$m=8388608,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', /m=8388608.*at most/],
    ['$argon2id$v=19$m=65536,t=2,p=0$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', /p=0/],
    ['$argon2id$v=19$m=65536,t=2,p=1$c29t$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', /salt is 3 bytes/],
    ['$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXP', /hash is 6 bytes/],
    ['$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ=$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc', /unpadded base64/],
    ['plain-text-password', /expected an argon2id PHC string/],
    ['', /expected an argon2id PHC string/],
  ];
  for (const [text, why] of refused) {
    it(`refuses ${JSON.stringify(text.slice(0, 24))}…`, () => {
      const h = parsePhc(text);
      assert.ok('error' in h, 'accepted');
      assert.match(h.error, why);
    });
  }
});
