// The TACACS+ codec: RFC 8907 §4.5 obfuscation, and every check a reply must pass.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isGateError } from '../../../src/errors.js';
import {
  AUTHEN_STATUS,
  AUTHOR_STATUS,
  MAX_BODY_LEN,
  decodeReply,
  encodeAuthenStart,
  encodeAuthorRequest,
  encodePacket,
  obfuscate,
  type ReplyExpectation,
} from '../../../src/sources/tacacs/packet.js';
import { authenReplyBody, authorReplyBody, reply, type RequestPacket } from './fake-server.js';

const SECRET = 'shared-key';
const req: RequestPacket = { version: 0xc1, type: 1, seq: 1, flags: 0, sessionId: 0xdeadbeef, body: Buffer.alloc(0) };
const expect: ReplyExpectation = { type: 1, sessionId: 0xdeadbeef, seq: 1, allowUnencrypted: false };

function protocolError(re?: RegExp) {
  return (err: unknown) => {
    assert.ok(isGateError(err, 'ERR_SOURCE_PROTOCOL'), `expected ERR_SOURCE_PROTOCOL, got ${String(err)}`);
    if (re) assert.match(err.message, re);
    return true;
  };
}

describe('obfuscation (RFC 8907 §4.5)', () => {
  it('XORs with chained MD5(session_id, key, version, seq_no[, previous hash])', () => {
    const body = Buffer.from('twenty bytes of body');
    const head = Buffer.concat([Buffer.from([0xde, 0xad, 0xbe, 0xef]), Buffer.from(SECRET), Buffer.from([0xc1, 2])]);
    const md5 = (...b: Buffer[]) => createHash('md5').update(Buffer.concat(b)).digest();
    const h1 = md5(head);
    const pad = Buffer.concat([h1, md5(head, h1)]).subarray(0, body.length);
    const expected = Buffer.from(body.map((b, i) => b ^ pad[i]!));
    assert.deepEqual(obfuscate(body, { sessionId: 0xdeadbeef, version: 0xc1, seq: 2 }, Buffer.from(SECRET)), expected);
    assert.deepEqual(obfuscate(expected, { sessionId: 0xdeadbeef, version: 0xc1, seq: 2 }, Buffer.from(SECRET)), body);
  });

  it('our requests never carry TAC_PLUS_UNENCRYPTED_FLAG and are obfuscated', () => {
    const body = encodeAuthenStart({ authenType: 2, user: 'bob', port: 'p', remAddr: 'r', data: Buffer.from('hunter2') });
    const pkt = encodePacket({ version: 0xc1, type: 1, seq: 1, flags: 0x01, sessionId: 7 }, body, Buffer.from(SECRET));
    assert.equal(pkt[3]! & 0x01, 0);
    assert.equal(pkt.includes(Buffer.from('hunter2')), false);
  });
});

describe('decodeReply', () => {
  it('decodes an authentication reply', () => {
    const r = decodeReply(reply(req, authenReplyBody(AUTHEN_STATUS.GETPASS, 'Password:', '', 1), SECRET), expect, Buffer.from(SECRET));
    assert.equal(r.body.kind, 'authen');
    assert.equal(r.body.status, AUTHEN_STATUS.GETPASS);
    assert.equal(r.body.kind === 'authen' && r.body.noEcho, true);
    assert.equal(r.body.serverMsg, 'Password:');
  });

  it('decodes an authorization reply with its AV pairs', () => {
    const areq = { ...req, type: 2, version: 0xc0 };
    const r = decodeReply(reply(areq, authorReplyBody(AUTHOR_STATUS.PASS_ADD, ['priv-lvl=15', 'role*x']), SECRET), { ...expect, type: 2 }, Buffer.from(SECRET));
    assert.deepEqual(r.body.kind === 'author' && r.body.args, ['priv-lvl=15', 'role*x']);
  });

  it('keeps server text printable', () => {
    const r = decodeReply(reply(req, authenReplyBody(AUTHEN_STATUS.FAIL, 'bad\r\n\u001b[31mINJECTED'), SECRET), expect, Buffer.from(SECRET));
    assert.doesNotMatch(r.body.serverMsg, /[\r\n\u001b]/);
  });

  const cases: [string, Buffer, RegExp][] = [
    ['wrong major version', reply(req, authenReplyBody(1), SECRET, { version: 0xd0 }), /major version/],
    ['unknown minor version', reply(req, authenReplyBody(1), SECRET, { version: 0xc5 }), /minor version/],
    ['reply seq not request seq + 1', reply(req, authenReplyBody(1), SECRET, { seq: 4 }), /sequence number 4/],
    ['odd reply seq', reply(req, authenReplyBody(1), SECRET, { seq: 1 }), /sequence number 1/],
    ['another session', reply(req, authenReplyBody(1), SECRET, { sessionId: 1 }), /session id/],
    ['another packet type', reply(req, authenReplyBody(1), SECRET, { type: 2 }), /packet type 2/],
    ['unencrypted reply', reply(req, authenReplyBody(1), SECRET, { flags: 0x01 }), /insecureAllowUnencrypted/],
    ['body over the bound', reply(req, authenReplyBody(1), SECRET, { length: MAX_BODY_LEN + 1 }), /exceeds/],
    ['length field disagrees with the bytes', reply(req, authenReplyBody(1), SECRET, { length: 3 }), /header says 3/],
    ['wrong secret', reply(req, authenReplyBody(1, 'welcome'), 'other-secret'), /wrong shared secret/],
    ['unknown status', reply(req, authenReplyBody(0x55), SECRET), /unknown authentication status/],
    ['truncated header', Buffer.alloc(5), /truncated header/],
  ];
  for (const [name, pkt, re] of cases) {
    it(`refuses: ${name}`, () => assert.throws(() => decodeReply(pkt, expect, Buffer.from(SECRET)), protocolError(re)));
  }

  it('accepts an unencrypted reply only with insecureAllowUnencrypted', () => {
    const pkt = reply(req, authenReplyBody(AUTHEN_STATUS.PASS), SECRET, { flags: 0x01 });
    assert.equal(decodeReply(pkt, { ...expect, allowUnencrypted: true }, Buffer.from(SECRET)).body.status, AUTHEN_STATUS.PASS);
  });

  it('refuses authorization args whose lengths overrun the body', () => {
    const areq = { ...req, type: 2 };
    const body = authorReplyBody(AUTHOR_STATUS.PASS_ADD, ['role=a']);
    body[6] = 200;
    assert.throws(() => decodeReply(reply(areq, body, SECRET), { ...expect, type: 2 }, Buffer.from(SECRET)), protocolError(/do not add up/));
  });
});

describe('request encoders', () => {
  it('refuse user input that does not fit a one-byte length, as a bad request', () => {
    const long = 'x'.repeat(256);
    for (const f of [
      () => encodeAuthenStart({ authenType: 2, user: long, port: '', remAddr: '', data: Buffer.alloc(0) }),
      () => encodeAuthenStart({ authenType: 2, user: 'u', port: '', remAddr: '', data: Buffer.from(long) }),
      () => encodeAuthorRequest({ authenType: 2, user: long, port: '', remAddr: '', args: [] }),
    ]) {
      assert.throws(f, (err) => isGateError(err, 'ERR_BAD_REQUEST'));
    }
  });
});
