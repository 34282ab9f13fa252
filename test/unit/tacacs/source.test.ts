// The TACACS+ source against a scripted loopback peer: what it sends, and how it treats every
// kind of answer (prompts, refusals, bad replies, silence) without crashing or hanging.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGateError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/types.js';
import { createTacacsSource } from '../../../src/sources/tacacs/index.js';
import { tacacsSourceSchema, type TacacsSourceInput } from '../../../src/sources/tacacs/config.js';
import { AUTHEN_STATUS as S, AUTHOR_STATUS as A } from '../../../src/sources/tacacs/packet.js';
import { authenReplyBody, authorReplyBody, parseAuthorArgs, parseStart, reply, startFakeTacacs, type Answer, type RequestPacket } from './fake-server.js';

const SECRET = 'unit-secret';
const ctx = { clientIp: '198.51.100.7' };
type Handler = (req: RequestPacket, n: number) => Answer;

async function withPeer(handler: Handler, extra: Partial<TacacsSourceInput>, fn: (src: ReturnType<typeof createTacacsSource>, peer: Awaited<ReturnType<typeof startFakeTacacs>>) => Promise<void>) {
  const peer = await startFakeTacacs(SECRET, handler);
  const cfg = tacacsSourceSchema.parse({ kind: 'tacacs', id: 'tac', servers: [peer.address], secret: SECRET, timeout: '300ms', ...extra });
  const src = createTacacsSource(cfg, { logger: silentLogger });
  try {
    await fn(src, peer);
  } finally {
    await src.close();
    await peer.stop();
  }
}

/** PAP passes; authorization answers with these pairs. */
const papThenAuthor =
  (args: string[], status: number = A.PASS_ADD): Handler =>
  (req) =>
    req.type === 1 ? reply(req, authenReplyBody(S.PASS), SECRET) : reply(req, authorReplyBody(status, args), SECRET);

function code(c: string, re?: RegExp) {
  return (err: unknown) => {
    assert.ok(isGateError(err), String(err));
    assert.equal(err.code, c, err.message);
    if (re) assert.match(err.message, re);
    return true;
  };
}

describe('TACACS+ source: what goes on the wire', () => {
  it('PAP START carries user, password, port and the client address; minor version 1', async () => {
    await withPeer(papThenAuthor(['role=x']), { port: 'nb-gate' }, async (src, peer) => {
      await src.authenticate('bob', 'hunter2', ctx);
      const start = peer.requests[0]!;
      assert.equal(start.version, 0xc1);
      assert.equal(start.seq, 1);
      assert.deepEqual(parseStart(start.body), { action: 1, privLvl: 1, authenType: 2, service: 1, user: 'bob', port: 'nb-gate', remAddr: '198.51.100.7', data: 'hunter2' });
      const author = peer.requests[1]!;
      assert.equal(author.type, 2);
      assert.equal(author.version, 0xc0);
      assert.notEqual(author.sessionId, start.sessionId);
      assert.deepEqual(parseAuthorArgs(author.body), ['service=shell', 'cmd=']);
    });
  });

  it('authorization sends the configured service, protocol and extra pairs', async () => {
    const authorization = { service: 'netbox', protocol: 'https', extraArgs: ['app=gate'] };
    await withPeer(papThenAuthor([]), { authorization }, async (src, peer) => {
      await src.authenticate('bob', 'pw', ctx);
      assert.deepEqual(parseAuthorArgs(peer.requests[1]!.body), ['service=netbox', 'protocol=https', 'app=gate']);
    });
    await withPeer(papThenAuthor([]), { authorization: { extraArgs: ['cmd*'] } }, async (src, peer) => {
      await src.authenticate('bob', 'pw', ctx);
      assert.deepEqual(parseAuthorArgs(peer.requests[1]!.body), ['service=shell', 'cmd*']);
    });
  });

  it('sign-in and explain give the same identity for the same pairs', async () => {
    const av = ['priv-lvl=7', 'role=netbox-staff', 'mail=bob@example.net'];
    await withPeer(papThenAuthor(av), { profile: { email: 'mail' } }, async (src) => {
      const { identity } = await src.authenticate('bob', 'pw', ctx);
      assert.deepEqual(src.identityFromAttributes({ username: 'bob', av }), identity);
      assert.deepEqual(identity.groups, ['netbox-staff', 'tacacs-priv-7']);
    });
  });
});

describe('TACACS+ source: ASCII login dialogue', () => {
  it('aborts and rejects when the server asks for data it cannot give (GETDATA)', async () => {
    const handler: Handler = (req, n) => (n === 1 ? reply(req, authenReplyBody(S.GETDATA, 'New password:'), SECRET) : reply(req, authenReplyBody(S.FAIL), SECRET));
    await withPeer(handler, { authenType: 'ascii' }, async (src, peer) => {
      await assert.rejects(src.authenticate('bob', 'pw', ctx), code('ERR_AUTH_REJECTED', /cannot give/));
      assert.equal(peer.requests[1]!.body[4], 0x01, 'CONTINUE carries the abort flag');
    });
  });

  it('a second password prompt means the password was refused', async () => {
    const handler: Handler = (req) => reply(req, authenReplyBody(S.GETPASS, 'Password:'), SECRET);
    await withPeer(handler, { authenType: 'ascii' }, async (src, peer) => {
      await assert.rejects(src.authenticate('bob', 'pw', ctx), code('ERR_AUTH_REJECTED', /prompted again/));
      assert.equal(parseStart(peer.requests[0]!.body).authenType, 1);
      assert.equal(peer.requests[1]!.body.subarray(5).toString(), 'pw');
      assert.equal(peer.requests[1]!.seq, 3);
    });
  });
});

describe('TACACS+ source: refusals and bad replies', () => {
  const table: [string, Handler, string, RegExp][] = [
    ['authentication ERROR', (r) => reply(r, authenReplyBody(S.ERROR, 'db down'), SECRET), 'ERR_AUTH_REJECTED', /authentication error/],
    ['FOLLOW is treated as FAIL', (r) => reply(r, authenReplyBody(S.FOLLOW, '10.0.0.9'), SECRET), 'ERR_AUTH_REJECTED', /FOLLOW/],
    ['RESTART names the authen type', (r) => reply(r, authenReplyBody(S.RESTART), SECRET), 'ERR_AUTH_REJECTED', /authenType "pap"/],
    ['a prompt in answer to PAP', (r) => reply(r, authenReplyBody(S.GETPASS), SECRET), 'ERR_SOURCE_PROTOCOL', /PAP START/],
    ['authorization FOLLOW', papThenAuthor([], A.FOLLOW), 'ERR_AUTH_REJECTED', /FOLLOW/],
    ['a reply out of sequence', (r) => reply(r, authenReplyBody(S.PASS), SECRET, { seq: 4 }), 'ERR_SOURCE_PROTOCOL', /sequence number 4/],
    ['an unencrypted reply', (r) => reply(r, authenReplyBody(S.PASS), SECRET, { flags: 1 }), 'ERR_SOURCE_PROTOCOL', /UNENCRYPTED/],
    // Refused from the header alone: the client must not wait for 4 GiB that never come.
    ['a huge length with no body', (r) => reply(r, Buffer.alloc(0), SECRET, { length: 0xffffffff }), 'ERR_SOURCE_PROTOCOL', /exceeds/],
    ['half a reply, then silence', (r) => reply(r, authenReplyBody(S.PASS, 'welcome'), SECRET).subarray(0, 15), 'ERR_SOURCE_UNAVAILABLE', /no reply within 300 ms/],
    ['no reply at all', () => null, 'ERR_SOURCE_UNAVAILABLE', /no reply within/],
    ['the server hangs up', () => 'close', 'ERR_SOURCE_UNAVAILABLE', /closed by the server/],
  ];
  for (const [name, handler, c, re] of table) {
    it(name, async () => {
      await withPeer(handler, {}, async (src) => {
        await assert.rejects(src.authenticate('bob', 'pw', ctx), code(c, re));
      });
    });
  }

  it('accepts an unencrypted reply when insecureAllowUnencrypted is set', async () => {
    const handler: Handler = (r) => (r.type === 1 ? reply(r, authenReplyBody(S.PASS), SECRET, { flags: 1 }) : reply(r, authorReplyBody(A.PASS_ADD, ['role=lab']), SECRET, { flags: 1 }));
    await withPeer(handler, { insecureAllowUnencrypted: true }, async (src) => {
      assert.deepEqual((await src.authenticate('bob', 'pw', ctx)).identity.groups, ['lab']);
    });
  });

  it('a user name over 255 bytes is a bad request, and nothing is sent', async () => {
    await withPeer(papThenAuthor([]), {}, async (src, peer) => {
      await assert.rejects(src.authenticate('u'.repeat(256), 'pw', ctx), code('ERR_BAD_REQUEST'));
      assert.equal(peer.requests.length, 0);
    });
  });
});

describe('TACACS+ source: single-connection negotiation', () => {
  it('asks for it in the first packet, and opens a new connection when the server does not agree', async () => {
    const handler: Handler = (r) =>
      r.type === 1 ? reply(r, authenReplyBody(S.PASS), SECRET, { flags: 0 }) : reply(r, authorReplyBody(A.PASS_ADD, []), SECRET, { flags: 0 });
    await withPeer(handler, { singleConnection: true }, async (src, peer) => {
      await src.authenticate('bob', 'pw', ctx);
      assert.equal(peer.requests[0]!.flags & 0x04, 0x04);
      assert.equal(peer.connections(), 2);
    });
  });

  it('reuses the connection when the server echoes the flag', async () => {
    await withPeer(papThenAuthor([]), { singleConnection: true }, async (src, peer) => {
      await src.authenticate('bob', 'pw', ctx);
      await src.authenticate('bob', 'pw', ctx);
      assert.equal(peer.connections(), 1);
      assert.equal(peer.requests[2]!.flags & 0x04, 0, 'only the first packet of a connection asks');
    });
  });
});
