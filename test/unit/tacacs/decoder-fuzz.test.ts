// Hostile input: the reply decoder, fed random bytes, mutated valid replies and replies out of
// sequence, only ever returns a packet or throws GateError ERR_SOURCE_PROTOCOL.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isGateError } from '../../../src/errors.js';
import { decodeReply, type ReplyExpectation } from '../../../src/sources/tacacs/packet.js';
import { authenReplyBody, authorReplyBody, reply, type RequestPacket } from './fake-server.js';

const SECRET = 'fuzz-secret';
const FC = { numRuns: 2000, interruptAfterTimeLimit: 10_000 } as const;

function decodesOrRefuses(pkt: Uint8Array, expect: ReplyExpectation, allowUnencrypted = false): void {
  try {
    const r = decodeReply(Buffer.from(pkt), { ...expect, allowUnencrypted }, Buffer.from(SECRET));
    assert.ok(r.body.kind === 'authen' || r.body.kind === 'author');
    assert.equal(r.header.seq, expect.seq + 1);
  } catch (err) {
    if (!isGateError(err, 'ERR_SOURCE_PROTOCOL')) throw err;
  }
}

const expectation = fc.record({
  type: fc.constantFrom(1 as const, 2 as const),
  sessionId: fc.nat({ max: 0xffffffff }),
  seq: fc.constantFrom(1, 3, 5, 253),
  allowUnencrypted: fc.boolean(),
});

const validReply = fc
  .tuple(
    expectation,
    fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 0x30 }), fc.string({ maxLength: 40 })).map(([s, m]) => authenReplyBody(s, m)),
      fc.tuple(fc.integer({ min: 0, max: 0x30 }), fc.array(fc.string({ maxLength: 30 }), { maxLength: 8 })).map(([s, a]) => authorReplyBody(s, a)),
    ),
    fc.constantFrom(0, 1, 4, 5),
  )
  .map(([e, body, flags]) => {
    const req: RequestPacket = { version: 0xc0, type: e.type, seq: e.seq, flags, sessionId: e.sessionId, body: Buffer.alloc(0) };
    return { e, pkt: reply(req, body, SECRET) };
  });

describe('TACACS+ reply decoder under hostile input', () => {
  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), expectation, (bytes, e) => decodesOrRefuses(bytes, e, e.allowUnencrypted)),
      FC,
    );
  });

  it('random bytes behind a plausible header', () => {
    fc.assert(
      fc.property(expectation, fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 0, max: 5 }), (e, body, flags) => {
        const pkt = reply({ version: 0xc0, type: e.type, seq: e.seq, flags, sessionId: e.sessionId, body: Buffer.alloc(0) }, Buffer.from(body), SECRET);
        decodesOrRefuses(pkt, e, e.allowUnencrypted);
      }),
      FC,
    );
  });

  it('valid replies with bytes flipped, cut or appended', () => {
    fc.assert(
      fc.property(
        validReply,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 4 }),
        fc.nat(),
        fc.uint8Array({ maxLength: 8 }),
        ({ e, pkt }, flips, cut, tail) => {
          const m = Buffer.from(pkt);
          for (const [pos, x] of flips) m[pos % m.length] = m[pos % m.length]! ^ x;
          decodesOrRefuses(Buffer.concat([m.subarray(0, m.length - (cut % 4)), tail]), e, e.allowUnencrypted);
        },
      ),
      FC,
    );
  });

  it('replies out of sequence are always refused', () => {
    fc.assert(
      fc.property(validReply, fc.integer({ min: 0, max: 255 }), ({ e, pkt }, seq) => {
        fc.pre(seq !== e.seq + 1);
        const m = Buffer.from(pkt);
        m[2] = seq;
        assert.throws(() => decodeReply(m, e, Buffer.from(SECRET)), (err) => isGateError(err, 'ERR_SOURCE_PROTOCOL'));
      }),
      FC,
    );
  });
});
