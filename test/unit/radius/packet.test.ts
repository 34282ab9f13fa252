// RADIUS codec: RFC 2865 §7.1 vectors, password hiding, authenticators, and hostile datagrams
// (hand-made cases plus a bounded property test over random and mutated packets).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { isGateError } from '../../../src/errors.js';
import {
  ATTR,
  CODE,
  buildReply,
  buildRequest,
  decodePacket,
  encodePacket,
  hidePassword,
  revealPassword,
  verifyReply,
  verifyRequest,
} from '../../../src/sources/radius/packet.js';
import { Dictionary } from '../../../src/sources/radius/dictionary.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const SECRET = Buffer.from('xyzzy5461');
// RFC 2865 §7.1: nemo / arctangent, NAS-IP-Address 192.168.1.16, NAS-Port 3.
const RFC_REQUEST = hex('010000380f403f9473978057bd83d5cb98f4227a01066e656d6f02120dbe708d93d413ce3196e43f782a0aee0406c0a80110050600000003');
const RFC_RA = hex('0f403f9473978057bd83d5cb98f4227a');
const RFC_ACCEPT = hex('0200002686fe220e7624ba2a1005f6bf9b55e0b2060600000001 0f0600000000 0e06c0a80103');

function assertProtocolError(fn: () => unknown, reason?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isGateError(err, 'ERR_SOURCE_PROTOCOL'), `expected ERR_SOURCE_PROTOCOL, got ${String(err)}`);
    if (reason) assert.match(String(err.detail['reason']), reason);
    return true;
  });
}

test('RFC 2865 §7.1: User-Password hiding and encoding reproduce the example request byte for byte', () => {
  const hidden = hidePassword(Buffer.from('arctangent'), SECRET, RFC_RA);
  const bytes = encodePacket(CODE.ACCESS_REQUEST, 0, RFC_RA, [
    { type: ATTR.USER_NAME, value: Buffer.from('nemo') },
    { type: ATTR.USER_PASSWORD, value: hidden },
    { type: ATTR.NAS_IP_ADDRESS, value: Buffer.from([192, 168, 1, 16]) },
    { type: 5, value: hex('00000003') },
  ]);
  assert.deepEqual(bytes, RFC_REQUEST);
  const decoded = decodePacket(RFC_REQUEST);
  assert.equal(revealPassword(decoded.attributes[1]!.value, SECRET, decoded.authenticator).toString(), 'arctangent');
});

test('RFC 2865 §7.1: the example Access-Accept has a valid Response Authenticator but is refused without Message-Authenticator', () => {
  const reply = decodePacket(RFC_ACCEPT);
  assert.equal(reply.code, CODE.ACCESS_ACCEPT);
  // The Response Authenticator verifies (checked first), then the BlastRADIUS rule refuses it.
  assertProtocolError(() => verifyReply(reply, CODE.ACCESS_REQUEST, RFC_RA, SECRET), /no Message-Authenticator/);
  assertProtocolError(() => verifyReply(reply, CODE.ACCESS_REQUEST, RFC_RA, Buffer.from('wrong')), /Response Authenticator/);
});

test('User-Password: multi-block passwords round-trip and are padded to 16-octet blocks', () => {
  const ra = Buffer.alloc(16, 7);
  for (const pw of ['a', 'exactly-16-chars', 'x'.repeat(17), 'p'.repeat(128)]) {
    const hidden = hidePassword(Buffer.from(pw), SECRET, ra);
    assert.equal(hidden.length, Math.max(16, Math.ceil(pw.length / 16) * 16));
    assert.equal(revealPassword(hidden, SECRET, ra).toString(), pw);
  }
  assert.throws(() => hidePassword(Buffer.alloc(129, 1), SECRET, ra), TypeError);
});

test('requests carry Message-Authenticator first and verify on the server side; replies verify on ours', () => {
  const ra = Buffer.alloc(16, 9);
  const req = buildRequest({ code: CODE.ACCESS_REQUEST, id: 42, requestAuthenticator: ra, attributes: [{ type: 1, value: Buffer.from('alice') }] }, SECRET);
  const parsed = decodePacket(req.bytes);
  assert.equal(parsed.attributes[0]!.type, ATTR.MESSAGE_AUTHENTICATOR);
  verifyRequest(parsed, SECRET);
  assertProtocolError(() => verifyRequest(parsed, Buffer.from('other')), /Message-Authenticator/);

  const accept = decodePacket(buildReply(CODE.ACCESS_ACCEPT, parsed, [{ type: 25, value: Buffer.from('netbox-admin') }], SECRET));
  verifyReply(accept, CODE.ACCESS_REQUEST, ra, SECRET);
  // Same reply checked against another request authenticator: must fail.
  assertProtocolError(() => verifyReply(accept, CODE.ACCESS_REQUEST, Buffer.alloc(16, 1), SECRET));
  // A reply signed with a different secret.
  const forged = decodePacket(buildReply(CODE.ACCESS_ACCEPT, parsed, [], Buffer.from('guess')));
  assertProtocolError(() => verifyReply(forged, CODE.ACCESS_REQUEST, ra, SECRET), /Response Authenticator/);
  // A tampered Message-Authenticator under a recomputed, valid Response Authenticator.
  const tampered = buildReply(CODE.ACCESS_ACCEPT, parsed, [], SECRET);
  tampered[22] = tampered[22]! ^ 1;
  ra.copy(tampered, 4);
  createHash('md5').update(tampered).update(SECRET).digest().copy(tampered, 4);
  assertProtocolError(() => verifyReply(decodePacket(tampered), CODE.ACCESS_REQUEST, ra, SECRET), /Message-Authenticator does not verify/);
  // Codes that do not answer an Access-Request.
  const acctResp = decodePacket(buildReply(CODE.ACCOUNTING_RESPONSE, parsed, [], SECRET));
  assertProtocolError(() => verifyReply(acctResp, CODE.ACCESS_REQUEST, ra, SECRET), /unexpected code/);
});

test('Accounting-Request: RFC 2866 Request Authenticator and Message-Authenticator verify; Accounting-Response verifies', () => {
  const req = buildRequest({ code: CODE.ACCOUNTING_REQUEST, id: 3, attributes: [{ type: 40, value: hex('00000001') }] }, SECRET);
  const parsed = decodePacket(req.bytes);
  verifyRequest(parsed, SECRET);
  const changed = Buffer.from(req.bytes);
  changed[changed.length - 1] = 2;
  assertProtocolError(() => verifyRequest(decodePacket(changed), SECRET), /authenticator/);
  const resp = decodePacket(buildReply(CODE.ACCOUNTING_RESPONSE, parsed, [], SECRET, { messageAuthenticator: false }));
  verifyReply(resp, CODE.ACCOUNTING_REQUEST, req.authenticator, SECRET);
  assertProtocolError(() => verifyReply(resp, CODE.ACCOUNTING_REQUEST, req.authenticator, Buffer.from('x')));
});

test('hostile datagrams are refused with a reason, never another error', () => {
  const good = buildReply(CODE.ACCESS_ACCEPT, decodePacket(RFC_REQUEST), [{ type: 18, value: Buffer.from('hi') }], SECRET);
  const withLength = (b: Buffer, n: number) => {
    const c = Buffer.from(b);
    c.writeUInt16BE(n, 2);
    return c;
  };
  assertProtocolError(() => decodePacket(Buffer.alloc(0)), /shorter than the 20-octet header/);
  assertProtocolError(() => decodePacket(good.subarray(0, 19)), /shorter than the 20-octet header/);
  assertProtocolError(() => decodePacket(good.subarray(0, good.length - 1)), /exceeds/);
  assertProtocolError(() => decodePacket(withLength(good, 19)), /outside 20\.\.4096/);
  assertProtocolError(() => decodePacket(withLength(Buffer.concat([good, Buffer.alloc(5000)]), 4097)), /outside/);
  const badAttrLen = Buffer.from(good);
  badAttrLen[21] = 1;
  assertProtocolError(() => decodePacket(badAttrLen), /length 1/);
  const overrun = Buffer.from(good);
  overrun[good.length - 3] = 200;
  assertProtocolError(() => decodePacket(overrun), /runs past/);
  assertProtocolError(() => decodePacket(withLength(good, 21)), /truncated attribute header/);
  // Octets beyond Length are padding (RFC 2865 §3) and do not change the packet.
  assert.deepEqual(decodePacket(Buffer.concat([good, Buffer.alloc(30, 0xff)])).bytes, good);
});

test('dictionary: names, formats, multi-valued arrays, VSAs, hidden attributes and unknown ones', () => {
  const vsa = (vendor: number, type: number, value: Buffer) => {
    const v = Buffer.alloc(6 + value.length);
    v.writeUInt32BE(vendor, 0);
    v[4] = type;
    v[5] = value.length + 2;
    value.copy(v, 6);
    return { type: 26, value: v };
  };
  const dict = new Dictionary([{ vendorId: 14988, type: 3, name: 'Mikrotik-Group', format: 'string' }]);
  const attrs = dict.decode([
    { type: 1, value: Buffer.from('alice') },
    { type: 25, value: Buffer.from('netbox-admin') },
    { type: 25, value: Buffer.from([0, 1, 2, 0xff]) },
    { type: 27, value: hex('00000e10') },
    { type: 8, value: Buffer.from([10, 0, 0, 1]) },
    { type: 24, value: Buffer.from('state') },
    { type: 80, value: Buffer.alloc(16) },
    { type: 200, value: Buffer.from('?') },
    vsa(9, 1, Buffer.from('shell:role=network-operator')),
    vsa(14988, 3, Buffer.from('full')),
    vsa(4242, 7, Buffer.from('x')),
    { type: 26, value: hex('0000002a ff') },
  ]);
  assert.deepEqual(attrs, {
    'User-Name': 'alice',
    Class: ['netbox-admin', '0x000102ff'],
    'Session-Timeout': 3600,
    'Framed-IP-Address': ['10.0.0.1'],
    'Attr-200': ['0x3f'],
    'Cisco-AVPair': ['shell:role=network-operator'],
    'Mikrotik-Group': ['full'],
    'Vendor-4242-Attr-7': ['0x78'],
    'Vendor-42': ['0xff'],
  });
});

test('property: decodePacket returns a packet or throws ERR_SOURCE_PROTOCOL on random and mutated input', () => {
  const ra = Buffer.alloc(16, 3);
  const req = decodePacket(buildRequest({ code: CODE.ACCESS_REQUEST, id: 1, requestAuthenticator: ra, attributes: [] }, SECRET).bytes);
  const valid = buildReply(
    CODE.ACCESS_ACCEPT,
    req,
    [
      { type: 25, value: Buffer.from('netbox-admin') },
      { type: 26, value: hex('00000009 0110 7368656c6c3a726f6c653d61646d') },
      { type: 18, value: Buffer.from('welcome') },
    ],
    SECRET,
  );
  const dict = new Dictionary();
  const check = (bytes: Uint8Array): void => {
    try {
      const p = decodePacket(Buffer.from(bytes));
      dict.decode(p.attributes);
      try {
        verifyReply(p, CODE.ACCESS_REQUEST, ra, SECRET);
      } catch (err) {
        if (!isGateError(err, 'ERR_SOURCE_PROTOCOL')) throw err;
      }
    } catch (err) {
      if (!isGateError(err, 'ERR_SOURCE_PROTOCOL')) throw err;
    }
  };
  const mutated = fc
    .array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), { maxLength: 8 })
    .chain((edits) =>
      fc.integer({ min: 0, max: valid.length + 8 }).map((cut) => {
        const b = Buffer.concat([valid, Buffer.alloc(8)]).subarray(0, cut);
        for (const [i, v] of edits) if (i < b.length) b[i] = v;
        return new Uint8Array(b);
      }),
    );
  fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), mutated), (bytes) => check(bytes)), {
    numRuns: 2000,
    interruptAfterTimeLimit: 10_000,
  });
});
