// The RADIUS source against a real FreeRADIUS 3 on loopback (require_message_authenticator on):
// accept with roles, final rejects, failover with hold-down, accounting, wrong shared secret.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { isGateError } from '../../src/errors.js';
import { radiusSourceSchema, type RadiusSourceInput } from '../../src/sources/radius/config.js';
import { accountingSessionId, createRadiusSource } from '../../src/sources/radius/index.js';
import { startFreeRadius, USERS, type FreeRadius } from '../support/freeradius.js';
import { startFakeServer } from '../unit/radius/fake-server.js';
import { recordingLogger } from '../support/logger.js';

let fr: FreeRadius;
const ctx = { clientIp: '198.51.100.20' };

before(async () => {
  fr = await startFreeRadius();
});
after(async () => {
  await fr?.stop();
});

function source(input: Partial<RadiusSourceInput> = {}) {
  const logger = recordingLogger();
  const config = radiusSourceSchema.parse({
    kind: 'radius',
    id: 'freeradius',
    servers: [`127.0.0.1:${fr.authPort}`],
    secret: fr.secret,
    timeout: '1s',
    retries: 0,
    ...input,
  });
  return { src: createRadiusSource(config, { logger }), logger };
}

test('FreeRADIUS Access-Accept: alice gets Class and Cisco-AVPair shell:role roles (reply Message-Authenticator verified)', async () => {
  const { src } = source();
  const { identity } = await src.authenticate('alice', USERS.alice, ctx);
  assert.equal(identity.username, 'alice');
  assert.deepEqual(identity.groups, ['netbox-admin', 'network-operator']);
  assert.deepEqual(identity.attributes['Class'], ['netbox-admin']);
  assert.deepEqual(identity.attributes['Cisco-AVPair'], ['shell:role=network-operator']);
  // What `explain` computes from the same attributes is what sign-in produced.
  assert.deepEqual(src.identityFromAttributes(JSON.parse(JSON.stringify(identity.attributes))), identity);
});

test('FreeRADIUS Access-Accept with Reply-Message and Filter-Id: bob', async () => {
  const { src } = source();
  const { identity } = await src.authenticate('bob', USERS.bob, ctx);
  assert.deepEqual(identity.groups, ['netbox-viewer']);
  assert.deepEqual(identity.attributes['Reply-Message'], ['Welcome, bob']);
});

test('FreeRADIUS Access-Reject for a wrong password is final: the second server never sees a packet', async () => {
  const second = await startFakeServer();
  try {
    const { src } = source({ servers: [`127.0.0.1:${fr.authPort}`, `127.0.0.1:${second.port}`] });
    await assert.rejects(src.authenticate('alice', 'not-alices-password', ctx), (err: unknown) => isGateError(err, 'ERR_AUTH_REJECTED'));
    await assert.rejects(src.authenticate('nobody', 'x', ctx), (err: unknown) => isGateError(err, 'ERR_AUTH_REJECTED'));
    assert.equal(second.received.length, 0);
  } finally {
    await second.close();
  }
});

test('FreeRADIUS Access-Reject carries its Reply-Message to the caller (carol is disabled)', async () => {
  const { src } = source();
  await assert.rejects(src.authenticate('carol', USERS.carol, ctx), (err: unknown) => {
    assert.ok(isGateError(err, 'ERR_AUTH_REJECTED'));
    assert.deepEqual(err.detail['replyMessage'], ['Account disabled']);
    return true;
  });
});

test('failover from a silent server to FreeRADIUS, and no second wait on it within the hold-down', async () => {
  const dead = await startFakeServer(); // bound, never answers
  try {
    const { src } = source({ servers: [`127.0.0.1:${dead.port}`, `127.0.0.1:${fr.authPort}`], timeout: '400ms', retries: 1, holdDown: '5m' });
    assert.deepEqual((await src.authenticate('alice', USERS.alice, ctx)).identity.groups, ['netbox-admin', 'network-operator']);
    assert.equal(dead.received.length, 2, 'request plus one retry went to the silent server');
    await src.authenticate('bob', USERS.bob, ctx);
    await src.authenticate('alice', USERS.alice, ctx);
    assert.equal(dead.received.length, 2, 'held down: later sign-ins went straight to FreeRADIUS');
  } finally {
    await dead.close();
  }
});

test('accounting Start and Stop are acknowledged by FreeRADIUS and written to its detail file', async () => {
  const { src, logger } = source({ accounting: { servers: [`127.0.0.1:${fr.acctPort}`] }, nasIdentifier: 'netbox-gate-it' });
  const { identity, state } = await src.authenticate('alice', USERS.alice, ctx);
  const session = { sessionId: `it-${Date.now()}`, identity, state, startedAt: Date.now() - 42_000, clientIp: ctx.clientIp };
  await src.onSessionStart!(session);
  await src.onSessionEnd!(session, 'logout');
  assert.equal(logger.records.filter((r) => r.msg === 'radius accounting acknowledged').length, 2, JSON.stringify(logger.records));
  const detail = await fr.detail();
  const sid = accountingSessionId(session.sessionId);
  const records = detail.split(/\n\n+/).filter((r) => r.includes(`Acct-Session-Id = "${sid}"`));
  assert.equal(records.length, 2, detail);
  assert.match(records[0]!, /Acct-Status-Type = Start/);
  assert.match(records[1]!, /Acct-Status-Type = Stop/);
  assert.match(records[1]!, /Acct-Terminate-Cause = User-Request/);
  assert.match(records[1]!, /Acct-Session-Time = 4[2-9]/);
  assert.match(records[1]!, /NAS-Identifier = "netbox-gate-it"/);
  assert.match(records[1]!, /User-Name = "alice"/);
});

test('wrong shared secret: FreeRADIUS drops the request (bad Message-Authenticator), so sign-in times out with ERR_SOURCE_UNAVAILABLE', async () => {
  const { src } = source({ secret: 'not-the-shared-secret', timeout: '500ms' });
  const seen = fr.output().length;
  await assert.rejects(src.authenticate('alice', USERS.alice, ctx), (err: unknown) => isGateError(err, 'ERR_SOURCE_UNAVAILABLE'));
  // FreeRADIUS says why it stayed silent: the request's Message-Authenticator did not verify.
  assert.match(fr.output().slice(seen), /invalid Message-Authenticator!\s+\(Shared secret is incorrect\.\)/);
});
