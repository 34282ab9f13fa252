// doctor's output: one aligned line per check, a summary, JSON with the same lines, and the exit
// code; plus the pure verdicts (clock skew, certificate expiry, JWKS, NetBox host and token).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { exportJWK, generateKeyPair } from 'jose';
import { judgeSkew, SKEW_FAIL_MS, SKEW_WARN_MS } from '../../../src/doctor/clock.js';
import { judgeJwks } from '../../../src/doctor/jwks.js';
import { authorizationHeader, isLoopbackHost } from '../../../src/doctor/netbox.js';
import { exitCode, fail, formatJson, formatText, pass, warn } from '../../../src/doctor/report.js';
import { judgeExpiry } from '../../../src/doctor/tls.js';

const results = [
  pass('netbox: reachable', 'NetBox 4.7.3 at http://127.0.0.1:8001 (netbox.version 4.7)'),
  warn('tls: idp.example.org:443', 'idp.example.org:443: certificate expires in 3 days (2026-12-09); renew it'),
  fail('source corp: ldap bind ldaps://dc1:636', 'the server refused\nthe service account'),
];

test('text: status, aligned check name, detail on one line, then the summary', () => {
  assert.equal(
    formatText(results),
    [
      'PASS  netbox: reachable                       NetBox 4.7.3 at http://127.0.0.1:8001 (netbox.version 4.7)',
      'WARN  tls: idp.example.org:443                idp.example.org:443: certificate expires in 3 days (2026-12-09); renew it',
      'FAIL  source corp: ldap bind ldaps://dc1:636  the server refused the service account',
      '1 failed, 1 warning, 1 passed',
      '',
    ].join('\n'),
  );
});

test('json: ok, summary and the checks as {status, check, detail}', () => {
  const o = JSON.parse(formatJson(results)) as { ok: boolean; summary: unknown; checks: unknown[] };
  assert.equal(o.ok, false);
  assert.deepEqual(o.summary, { pass: 1, warn: 1, fail: 1 });
  assert.deepEqual(o.checks[2], { status: 'fail', check: 'source corp: ldap bind ldaps://dc1:636', detail: 'the server refused\nthe service account' });
  assert.equal(JSON.parse(formatJson(results.slice(0, 2))).ok, true);
});

test('exit code: 1 on any failure, 0 with warnings only', () => {
  assert.equal(exitCode(results), 1);
  assert.equal(exitCode(results.slice(0, 2)), 0);
  assert.equal(exitCode([]), 0);
});

test('clock skew: the Date header against the middle of the round trip; warn over 30 s, fail over 5 min', () => {
  const at = (skewMs: number) => {
    const sentAt = Date.parse('2026-12-06T10:00:00.000Z');
    const date = new Date(sentAt + 50 + skewMs).toUTCString();
    return judgeSkew('https://idp', [{ origin: 'https://idp', date, sentAt, receivedAt: sentAt + 100 }])!;
  };
  assert.equal(at(0).status, 'pass');
  assert.match(at(0).detail, /agrees with this host within a second/);
  assert.equal(at(SKEW_WARN_MS - 2000).status, 'pass');
  assert.equal(at(SKEW_WARN_MS + 3000).status, 'warn');
  assert.match(at(SKEW_WARN_MS + 3000).detail, /33 s ahead of this host/);
  assert.equal(at(-(SKEW_WARN_MS + 3000)).status, 'warn');
  assert.match(at(-(SKEW_WARN_MS + 3000)).detail, /behind this host/);
  assert.equal(at(SKEW_FAIL_MS + 5000).status, 'fail');
  assert.equal(judgeSkew('https://other', [{ origin: 'https://idp', date: 'x', sentAt: 0, receivedAt: 0 }]), undefined);
});

test('certificate expiry: pass, warn under 14 days, fail once expired', () => {
  const now = Date.parse('2026-12-06T00:00:00Z');
  const day = 86_400_000;
  assert.equal(judgeExpiry('tls: a', 'a', new Date(now + 90 * day), now).status, 'pass');
  const soon = judgeExpiry('tls: a', 'a', new Date(now + 13.5 * day), now);
  assert.equal(soon.status, 'warn');
  assert.match(soon.detail, /expires in 13 days \(2026-12-19\)/);
  const gone = judgeExpiry('tls: a', 'a', new Date(now - day), now);
  assert.equal(gone.status, 'fail');
  assert.match(gone.detail, /expired on 2026-12-05/);
});

test('JWKS: usable signing keys for the accepted algorithms; empty, enc-only or foreign keys are not', async () => {
  const { publicKey } = await generateKeyPair('ES256');
  const ec = { ...(await exportJWK(publicKey)), kid: 'k1' };
  assert.deepEqual(await judgeJwks({ keys: [ec] }, ['ES256']), { ok: true, detail: '1 usable signing key of 1' });
  assert.equal((await judgeJwks({ keys: [ec] }, ['RS256'])).ok, false);
  assert.equal((await judgeJwks({ keys: [{ ...ec, use: 'enc' }] }, ['ES256'])).ok, false);
  assert.match((await judgeJwks({ keys: [] }, ['ES256'])).detail, /empty/);
  assert.match((await judgeJwks({ nope: 1 }, ['ES256'])).detail, /not a JWK Set/);
  assert.equal((await judgeJwks({ keys: [{ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', kid: 'bad' }] }, ['ES256'])).ok, false);
});

test('NetBox: loopback hosts, and tokens as NetBox expects them', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]', '::1']) assert.equal(isLoopbackHost(h), true, h);
  for (const h of ['10.0.0.5', 'netbox', 'netbox.internal', '[fd00::2]', '0.0.0.0']) assert.equal(isLoopbackHost(h), false, h);
  assert.equal(authorizationHeader('nbt_abc.def'), 'Bearer nbt_abc.def');
  assert.equal(authorizationHeader('0123456789abcdef0123456789abcdef01234567'), 'Token 0123456789abcdef0123456789abcdef01234567');
  assert.equal(authorizationHeader(' Bearer nbt_x.y '), 'Bearer nbt_x.y');
});
