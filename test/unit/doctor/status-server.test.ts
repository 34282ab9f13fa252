// RFC 5997 Status-Server as doctor sends it: code 12, Message-Authenticator first and valid
// (checked independently with HMAC-MD5), and the three outcomes against a scripted peer.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { ATTR, CODE, buildReply, verifyRequest, type RawPacket } from '../../../src/sources/radius/packet.js';
import { statusServer } from '../../../src/sources/radius/status.js';
import type { RadiusSourceConfig } from '../../../src/sources/radius/config.js';
import type { DoctorContext } from '../../../src/doctor/context.js';
import { checkRadius } from '../../../src/doctor/radius.js';
import { startFakeServer } from '../radius/fake-server.js';

const SECRET = 'status-secret';
const cfg = (secret = SECRET) => ({ secret, nasIdentifier: 'netbox-gate', timeout: 300, retries: 0 });

/** RFC 3579 §3.2 computed here, not through the codec under test. */
function expectedMessageAuthenticator(p: RawPacket, secret: string): Buffer {
  const copy = Buffer.from(p.bytes);
  copy.fill(0, 22, 38);
  return createHmac('md5', secret).update(copy).digest();
}

test('the request is a Status-Server with Message-Authenticator first, signed with the secret', async () => {
  const seen: RawPacket[] = [];
  const server = await startFakeServer((req, _from, reply) => {
    seen.push(req);
    reply(buildReply(CODE.ACCESS_ACCEPT, req, [], Buffer.from(SECRET)));
  });
  try {
    const r = await statusServer(cfg(), { host: '127.0.0.1', port: server.port });
    assert.deepEqual(r, { server: `127.0.0.1:${server.port}`, result: 'alive', code: CODE.ACCESS_ACCEPT });
    const req = seen[0]!;
    assert.equal(req.code, 12);
    assert.equal(req.attributes[0]!.type, ATTR.MESSAGE_AUTHENTICATOR);
    assert.equal(req.attributes[0]!.value.length, 16);
    assert.deepEqual(req.attributes[0]!.value, expectedMessageAuthenticator(req, SECRET));
    assert.doesNotThrow(() => verifyRequest(req, Buffer.from(SECRET)));
    assert.equal(req.attributes.find((a) => a.type === ATTR.NAS_IDENTIFIER)?.value.toString(), 'netbox-gate');
    assert.notDeepEqual(req.authenticator, Buffer.alloc(16), 'a random Request Authenticator');
  } finally {
    await server.close();
  }
});

test('an Access-Accept without Message-Authenticator (FreeRADIUS 3.2) still proves the secret', async () => {
  const server = await startFakeServer((req, _from, reply) => reply(buildReply(CODE.ACCESS_ACCEPT, req, [], Buffer.from(SECRET), { messageAuthenticator: false })));
  try {
    assert.equal((await statusServer(cfg(), { host: '127.0.0.1', port: server.port })).result, 'alive');
  } finally {
    await server.close();
  }
});

test('a reply signed with another secret is a bad reply; an Access-Reject is not an answer to Status-Server', async () => {
  const other = await startFakeServer((req, _from, reply) => reply(buildReply(CODE.ACCESS_ACCEPT, req, [], Buffer.from('other-secret'))));
  const reject = await startFakeServer((req, _from, reply) => reply(buildReply(CODE.ACCESS_REJECT, req, [], Buffer.from(SECRET))));
  try {
    const a = await statusServer(cfg(), { host: '127.0.0.1', port: other.port });
    assert.equal(a.result, 'bad_reply');
    assert.match((a as { reason: string }).reason, /Response Authenticator does not verify/);
    const b = await statusServer(cfg(), { host: '127.0.0.1', port: reject.port });
    assert.equal(b.result, 'bad_reply');
    assert.match((b as { reason: string }).reason, /unexpected code 3 in reply to code 12/);
  } finally {
    await other.close();
    await reject.close();
  }
});

test('silence (a server that drops what it cannot verify) is no answer', async () => {
  const server = await startFakeServer(() => undefined);
  try {
    const r = await statusServer(cfg(), { host: '127.0.0.1', port: server.port });
    assert.equal(r.result, 'no_answer');
    assert.match((r as { reason: string }).reason, /no reply after 1 attempt/);
  } finally {
    await server.close();
  }
});

test('doctor: a server that ignores Status-Server but rejects the probe user passes, naming the fallback', async () => {
  const server = await startFakeServer((req, _from, reply) => {
    if (req.code === CODE.ACCESS_REQUEST) reply(buildReply(CODE.ACCESS_REJECT, req, [], Buffer.from(SECRET)));
  });
  try {
    const source = { id: 'nps', servers: [{ host: '127.0.0.1', port: server.port }], ...cfg() } as unknown as RadiusSourceConfig;
    const [line] = await checkRadius({} as DoctorContext, source);
    assert.equal(line!.status, 'pass');
    assert.equal(line!.check, `source nps: radius status-server 127.0.0.1:${server.port}`);
    assert.match(line!.detail, /no answer to Status-Server .* Access-Request for the non-existent user netbox-gate-doctor-probe-[0-9a-f]{8} got a verified Access-Reject/);
    assert.deepEqual(server.received.map((p) => p.code), [CODE.STATUS_SERVER, CODE.ACCESS_REQUEST]);
  } finally {
    await server.close();
  }
});
