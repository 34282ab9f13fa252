// The RADIUS source against scripted UDP peers on loopback: accept/reject, failover and
// hold-down, reply matching and verification, accounting records, and what reaches the logs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { isGateError } from '../../../src/errors.js';
import { radiusSourceSchema, type RadiusSourceInput } from '../../../src/sources/radius/config.js';
import { accountingSessionId, createRadiusSource } from '../../../src/sources/radius/index.js';
import { ATTR, CODE, buildReply, revealPassword, verifyRequest, type RawAttribute, type RawPacket } from '../../../src/sources/radius/packet.js';
import type { SessionInfo } from '../../../src/sources/source.js';
import { startFakeServer, type FakeServer } from './fake-server.js';
import { recordingLogger } from '../../support/logger.js';

const SECRET = 'unit-secret-2865';
const secretBuf = Buffer.from(SECRET);
const ctx = { clientIp: '192.0.2.7' };

function source(input: Partial<RadiusSourceInput> & { servers: string[] }, now?: () => number) {
  const logger = recordingLogger();
  const config = radiusSourceSchema.parse({ kind: 'radius', id: 'aaa', secret: SECRET, timeout: '250ms', retries: 0, ...input });
  return { src: createRadiusSource(config, { logger, ...(now ? { now } : {}) }), logger };
}

const vsa = (vendor: number, type: number, text: string): RawAttribute => {
  const value = Buffer.alloc(6 + Buffer.byteLength(text));
  value.writeUInt32BE(vendor, 0);
  value[4] = type;
  value[5] = Buffer.byteLength(text) + 2;
  value.write(text, 6);
  return { type: ATTR.VENDOR_SPECIFIC, value };
};
const text = (type: number, s: string): RawAttribute => ({ type, value: Buffer.from(s) });

function attr(p: RawPacket, type: number): Buffer | undefined {
  return p.attributes.find((a) => a.type === type)?.value;
}

/** A peer that checks the request like FreeRADIUS would and accepts alice/alice-pw. */
function aaaHandler(secret = secretBuf, extra: RawAttribute[] = [], opts: { verify?: boolean } = {}) {
  return (req: RawPacket, _from: unknown, reply: (b: Buffer) => void) => {
    if (opts.verify ?? true) verifyRequest(req, secret);
    const user = attr(req, ATTR.USER_NAME)?.toString();
    const pw = revealPassword(attr(req, ATTR.USER_PASSWORD)!, secret, req.authenticator).toString();
    const ok = user === 'alice' && pw === 'alice-pw';
    reply(
      buildReply(
        ok ? CODE.ACCESS_ACCEPT : CODE.ACCESS_REJECT,
        req,
        ok
          ? [
              text(25, 'netbox-admin'),
              text(25, 'CACS:0a0a0a0a000000:ise-1/123'),
              vsa(9, 1, 'shell:role="network-operator"'),
              vsa(9, 1, 'shell:priv-lvl=15'),
              text(11, 'netbox-viewer'),
              vsa(9, 1, 'mail=alice@example.net'),
              ...extra,
            ]
          : [text(18, 'Bad password')],
        secret,
      ),
    );
  };
}

async function withServers<T>(handlers: Parameters<typeof startFakeServer>[0][], fn: (servers: FakeServer[]) => Promise<T>): Promise<T> {
  const servers = await Promise.all(handlers.map((h) => startFakeServer(h)));
  try {
    return await fn(servers);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
}

const hostOf = (s: FakeServer) => `127.0.0.1:${s.port}`;

test('Access-Accept: groups from Class, Filter-Id and Cisco-AVPair roles; request carries NAS attributes', async () => {
  await withServers([aaaHandler()], async ([srv]) => {
    const { src } = source({ servers: [hostOf(srv!)], nasIdentifier: 'netbox-prod', nasIpAddress: '10.1.2.3' });
    const { identity } = await src.authenticate('alice', 'alice-pw', ctx);
    assert.equal(identity.username, 'alice');
    assert.equal(identity.sourceKind, 'radius');
    assert.deepEqual(identity.groups, ['netbox-admin', 'netbox-viewer', 'network-operator']);
    assert.deepEqual(identity.attributes['Cisco-AVPair'], ['shell:role="network-operator"', 'shell:priv-lvl=15', 'mail=alice@example.net']);
    const req = srv!.received[0]!;
    assert.equal(attr(req, ATTR.NAS_IDENTIFIER)?.toString(), 'netbox-prod');
    assert.deepEqual([...attr(req, ATTR.NAS_IP_ADDRESS)!], [10, 1, 2, 3]);
    assert.equal(attr(req, ATTR.CALLING_STATION_ID)?.toString(), '192.0.2.7');
  });
});

test('profile fields come from the configured attributes; config VSAs are decoded by name', async () => {
  const extra = [vsa(14988, 3, 'Alice'), vsa(14988, 4, 'Liddell'), vsa(14988, 5, 'alice@example.net')];
  await withServers([aaaHandler(secretBuf, extra)], async ([srv]) => {
    const { src } = source({
      servers: [hostOf(srv!)],
      dictionary: [
        { vendorId: 14988, type: 3, name: 'Acme-Given-Name' },
        { vendorId: 14988, type: 4, name: 'Acme-Surname' },
        { vendorId: 14988, type: 5, name: 'Acme-Email' },
      ],
      avpairRolePrefixes: ['shell:role='],
      profile: { firstName: 'Acme-Given-Name', lastName: 'Acme-Surname', email: 'Acme-Email' },
    });
    const { identity } = await src.authenticate('alice', 'alice-pw', ctx);
    assert.equal(identity.firstName, 'Alice');
    assert.equal(identity.lastName, 'Liddell');
    assert.deepEqual(identity.attributes['Acme-Given-Name'], ['Alice']);
    assert.equal(identity.email, 'alice@example.net');
    // Only AV pairs with a configured prefix are roles: `role=` was dropped from the prefixes.
    assert.deepEqual(identity.groups, ['netbox-admin', 'netbox-viewer', 'network-operator']);
  });
});

test('Access-Reject is final: the second server is never asked, and Reply-Message is kept', async () => {
  await withServers([aaaHandler(), aaaHandler()], async ([first, second]) => {
    const { src } = source({ servers: [hostOf(first!), hostOf(second!)] });
    await assert.rejects(src.authenticate('alice', 'wrong', ctx), (err: unknown) => {
      assert.ok(isGateError(err, 'ERR_AUTH_REJECTED'));
      assert.deepEqual(err.detail['replyMessage'], ['Bad password']);
      return true;
    });
    assert.equal(first!.received.length, 1);
    assert.equal(second!.received.length, 0);
  });
});

test('failover on silence, then hold-down: the dead server is not waited on again until it expires', async () => {
  let clock = 1_000_000;
  await withServers([undefined, aaaHandler()], async ([dead, live]) => {
    const { src, logger } = source({ servers: [hostOf(dead!), hostOf(live!)], retries: 1, holdDown: '30s' }, () => clock);
    assert.deepEqual((await src.authenticate('alice', 'alice-pw', ctx)).identity.username, 'alice');
    assert.equal(dead!.received.length, 2, 'first request and one retry to the dead server');
    // Retransmissions reuse the identifier and authenticator (RFC 2865 §2.5 duplicate detection).
    assert.deepEqual(dead!.received[0]!.bytes, dead!.received[1]!.bytes);
    assert.ok(logger.records.some((r) => r.level === 'warn' && (r.obj as { failure?: string }).failure === 'timeout'));

    clock += 10_000;
    await src.authenticate('alice', 'alice-pw', ctx);
    assert.equal(dead!.received.length, 2, 'held down: not asked');
    assert.equal(live!.received.length, 2);

    clock += 30_000;
    await src.authenticate('alice', 'alice-pw', ctx);
    assert.equal(dead!.received.length, 4, 'hold-down over: asked first again');
  });
});

test('when every server is held down they are all tried anyway, and no answer gives ERR_SOURCE_UNAVAILABLE', async () => {
  await withServers([undefined, undefined], async ([a, b]) => {
    const { src } = source({ servers: [hostOf(a!), hostOf(b!)] });
    for (let i = 1; i <= 2; i++) {
      await assert.rejects(src.authenticate('alice', 'alice-pw', ctx), (err: unknown) => isGateError(err, 'ERR_SOURCE_UNAVAILABLE'));
      assert.equal(a!.received.length, i);
      assert.equal(b!.received.length, i);
    }
  });
});

test('replies without Message-Authenticator (BlastRADIUS) are dropped with a logged reason', async () => {
  const noMa = (req: RawPacket, _f: unknown, reply: (b: Buffer) => void) =>
    reply(buildReply(CODE.ACCESS_ACCEPT, req, [text(25, 'netbox-admin')], secretBuf, { messageAuthenticator: false }));
  await withServers([noMa], async ([srv]) => {
    const { src, logger } = source({ servers: [hostOf(srv!)] });
    await assert.rejects(src.authenticate('alice', 'alice-pw', ctx), (err: unknown) => isGateError(err, 'ERR_SOURCE_PROTOCOL'));
    assert.ok(logger.records.some((r) => r.msg === 'radius reply dropped' && /no Message-Authenticator/.test(String((r.obj as { reason?: string }).reason))));
  });
});

test('a reply signed with another secret fails verification: ERR_SOURCE_PROTOCOL, and the next server is asked', async () => {
  await withServers([aaaHandler(Buffer.from('not-the-secret'), [], { verify: false }), aaaHandler()], async ([bad, good]) => {
    const { src } = source({ servers: [hostOf(bad!)] });
    await assert.rejects(src.authenticate('alice', 'alice-pw', ctx), (err: unknown) => isGateError(err, 'ERR_SOURCE_PROTOCOL'));
    const both = source({ servers: [hostOf(bad!), hostOf(good!)] }).src;
    assert.equal((await both.authenticate('alice', 'alice-pw', ctx)).identity.username, 'alice');
  });
});

test('replies from another port or with another identifier are dropped, and the real reply still counts', async () => {
  const other = createSocket('udp4');
  other.bind(0, '127.0.0.1');
  await once(other, 'listening');
  try {
    const handler = (req: RawPacket, _f: unknown, reply: (b: Buffer, via?: typeof other) => void) => {
      const good = buildReply(CODE.ACCESS_ACCEPT, req, [text(25, 'netbox-admin')], secretBuf);
      const reject = buildReply(CODE.ACCESS_REJECT, { ...req, id: (req.id + 1) % 256 }, [], secretBuf);
      reply(good, other); // right bytes, wrong source port
      reply(reject); // right source, wrong identifier
      setTimeout(() => reply(good), 20);
    };
    await withServers([handler], async ([srv]) => {
      const { src, logger } = source({ servers: [hostOf(srv!)], timeout: '2s' });
      const { identity } = await src.authenticate('alice', 'alice-pw', ctx);
      assert.deepEqual(identity.groups, ['netbox-admin']);
      const reasons = logger.records.filter((r) => r.msg === 'radius reply dropped').map((r) => (r.obj as { reason: string }).reason);
      assert.deepEqual(reasons.sort(), ['identifier does not match the request', 'reply from an unexpected address']);
    });
  } finally {
    other.close();
  }
});

test('Access-Challenge is refused as final (no challenge/response support)', async () => {
  const challenge = (req: RawPacket, _f: unknown, reply: (b: Buffer) => void) => reply(buildReply(CODE.ACCESS_CHALLENGE, req, [text(18, 'Enter OTP')], secretBuf));
  await withServers([challenge, aaaHandler()], async ([first, second]) => {
    const { src } = source({ servers: [hostOf(first!), hostOf(second!)] });
    await assert.rejects(src.authenticate('alice', 'alice-pw', ctx), (err: unknown) => isGateError(err, 'ERR_AUTH_REJECTED') && err.detail['reason'] === 'challenge_not_supported');
    assert.equal(second!.received.length, 0);
  });
});

test('bad input is refused before anything is sent', async () => {
  await withServers([aaaHandler()], async ([srv]) => {
    const { src } = source({ servers: [hostOf(srv!)] });
    await assert.rejects(src.authenticate('', 'x', ctx), (e: unknown) => isGateError(e, 'ERR_BAD_REQUEST'));
    await assert.rejects(src.authenticate('alice', '', ctx), (e: unknown) => isGateError(e, 'ERR_AUTH_REJECTED'));
    await assert.rejects(src.authenticate('alice', 'p'.repeat(129), ctx), (e: unknown) => isGateError(e, 'ERR_BAD_REQUEST'));
    assert.equal(srv!.received.length, 0);
  });
});

test('accounting Start and Stop: hashed session id, session time, terminate cause, verified response', async () => {
  let clock = 2_000_000;
  const acctHandler = (req: RawPacket, _f: unknown, reply: (b: Buffer) => void) => {
    verifyRequest(req, Buffer.from('acct-secret'));
    reply(buildReply(CODE.ACCOUNTING_RESPONSE, req, [], Buffer.from('acct-secret'), { messageAuthenticator: false }));
  };
  await withServers([aaaHandler(), acctHandler], async ([auth, acct]) => {
    const { src, logger } = source({ servers: [hostOf(auth!)], accounting: { servers: [hostOf(acct!)], secret: 'acct-secret' } }, () => clock);
    const { identity, state } = await src.authenticate('alice', 'alice-pw', ctx);
    const session: SessionInfo = { sessionId: 'gw-session-cookie-value', identity, state, startedAt: clock, clientIp: ctx.clientIp };
    await src.onSessionStart!(session);
    clock += 125_400;
    await src.onSessionEnd!(session, 'expired');
    const [start, stop] = acct!.received;
    assert.equal(start!.code, CODE.ACCOUNTING_REQUEST);
    assert.equal(attr(start!, ATTR.ACCT_STATUS_TYPE)!.readUInt32BE(0), 1);
    assert.equal(attr(stop!, ATTR.ACCT_STATUS_TYPE)!.readUInt32BE(0), 2);
    const sid = attr(start!, ATTR.ACCT_SESSION_ID)!.toString();
    assert.equal(sid, accountingSessionId('gw-session-cookie-value'));
    assert.notEqual(sid, 'gw-session-cookie-value');
    assert.equal(attr(stop!, ATTR.ACCT_SESSION_ID)!.toString(), sid);
    assert.equal(attr(stop!, ATTR.USER_NAME)!.toString(), 'alice');
    assert.equal(attr(stop!, ATTR.ACCT_SESSION_TIME)!.readUInt32BE(0), 125);
    assert.equal(attr(stop!, ATTR.ACCT_TERMINATE_CAUSE)!.readUInt32BE(0), 5);
    assert.equal(logger.records.filter((r) => r.msg === 'radius accounting acknowledged').length, 2);
  });
});

test('accounting that nobody acknowledges is logged, not thrown', async () => {
  await withServers([aaaHandler(), undefined], async ([auth, acct]) => {
    const { src, logger } = source({ servers: [hostOf(auth!)], accounting: { servers: [hostOf(acct!)] } });
    const { identity, state } = await src.authenticate('alice', 'alice-pw', ctx);
    await src.onSessionStart!({ sessionId: 's', identity, state, startedAt: 0, clientIp: '' });
    assert.equal(acct!.received.length, 1);
    assert.ok(logger.records.some((r) => r.msg === 'radius accounting not acknowledged'));
  });
});

test('logs never contain the shared secret or the password', async () => {
  await withServers([aaaHandler(), aaaHandler(Buffer.from('other'), [], { verify: false })], async ([good, bad]) => {
    const { src, logger } = source({ servers: [hostOf(bad!), hostOf(good!)] });
    await src.authenticate('alice', 'alice-pw', ctx);
    await assert.rejects(src.authenticate('alice', 'wrong-password-xyz', ctx));
    const dump = JSON.stringify(logger.records);
    assert.ok(logger.records.length > 0);
    for (const s of [SECRET, 'alice-pw', 'wrong-password-xyz']) assert.ok(!dump.includes(s), `log contains ${s}`);
  });
});

test('identityFromAttributes gives what a real Access-Accept with the same attributes gives', async () => {
  await withServers([aaaHandler()], async ([srv]) => {
    const { src } = source({ servers: [hostOf(srv!)] });
    const fromWire = (await src.authenticate('alice', 'alice-pw', ctx)).identity;
    const fromJson = src.identityFromAttributes(JSON.parse(JSON.stringify(fromWire.attributes)));
    assert.deepEqual(fromJson, fromWire);
    const explained = src.identityFromAttributes({ 'User-Name': 'bob', Class: 'netbox-admin', 'Cisco-AVPair': ['shell:role=netbox-ro', 'role="ops"'] });
    assert.equal(explained.username, 'bob');
    assert.deepEqual(explained.groups, ['netbox-admin', 'netbox-ro', 'ops']);
  });
});

test('config: servers get default ports, durations parse, unknown keys are refused', () => {
  const c = radiusSourceSchema.parse({ kind: 'radius', id: 'ise', servers: ['10.0.0.1', '[2001:db8::1]:1645'], secret: 's', accounting: { servers: ['10.0.0.1'] } });
  assert.deepEqual(c.servers, [{ host: '10.0.0.1', port: 1812 }, { host: '2001:db8::1', port: 1645 }]);
  assert.deepEqual(c.accounting?.servers, [{ host: '10.0.0.1', port: 1813 }]);
  assert.equal(c.timeout, 3000);
  assert.equal(c.holdDown, 30_000);
  assert.equal(c.retries, 1);
  assert.equal(radiusSourceSchema.safeParse({ kind: 'radius', id: 'x', servers: [], secret: 's' }).success, false);
  assert.equal(radiusSourceSchema.safeParse({ kind: 'radius', id: 'x', servers: ['a'], secret: 's', tiemout: '3s' }).success, false);
  assert.equal(radiusSourceSchema.safeParse({ kind: 'radius', id: 'x', servers: ['a'], secret: 's', nasIpAddress: '300.1.1.1' }).success, false);
});
