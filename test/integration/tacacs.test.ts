// The TACACS+ source against an independent RFC 8907 server (facebookincubator/tacquito, built by
// scripts/deps/tacacs.sh): PAP and ASCII login, authorization AV pairs, refusals, wrong secret.
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isGateError } from '../../src/errors.js';
import { silentLogger } from '../../src/types.js';
import { createTacacsSource } from '../../src/sources/tacacs/index.js';
import { tacacsSourceSchema, type TacacsSourceInput } from '../../src/sources/tacacs/config.js';
import { startTacacsServer, type RunningTacacsServer } from '../support/tacacs.js';

const SECRET = 'tacacs-test-secret';
const ctx = { clientIp: '192.0.2.10' };

function source(servers: string[], extra: Partial<TacacsSourceInput> = {}) {
  const cfg = tacacsSourceSchema.parse({ kind: 'tacacs', id: 'tac', servers, secret: SECRET, timeout: '2s', ...extra });
  return createTacacsSource(cfg, { logger: silentLogger });
}

function rejectsWith(code: string, re?: RegExp) {
  return (err: unknown) => {
    assert.ok(isGateError(err), `expected a GateError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (re) assert.match(err.message, re);
    return true;
  };
}

describe('TACACS+ source against tacquito', () => {
  let server: RunningTacacsServer;
  before(async () => {
    server = await startTacacsServer({
      secret: SECRET,
      ascii: true,
      users: {
        alice: {
          password: 'alice-pw',
          args: ['priv-lvl=15', 'role=netbox-admin', 'role=noc', 'givenName=Alice', 'sn=Admin', 'mail=alice@example.net'],
        },
        bob: { password: 'bob-pw', author: 'pass_repl', args: ['priv-lvl=1', 'shell:roles="network-operator vdc-operator"'] },
        carol: { password: 'carol-pw', author: 'fail' },
        dave: { password: 'dave-pw', author: 'error' },
      },
    });
  });
  after(() => server.stop());

  it('PAP: accepts, and the authorization pairs reach groups, attributes and profile', async () => {
    const src = source([server.address], { profile: { firstName: 'givenName', lastName: 'sn', email: 'mail' } });
    try {
      const { identity } = await src.authenticate('alice', 'alice-pw', ctx);
      assert.equal(identity.username, 'alice');
      assert.equal(identity.sourceKind, 'tacacs');
      assert.deepEqual(identity.groups, ['netbox-admin', 'noc', 'tacacs-priv-15']);
      assert.deepEqual(identity.attributes['tacacs'], {
        'priv-lvl': ['15'],
        role: ['netbox-admin', 'noc'],
        givenName: ['Alice'],
        sn: ['Admin'],
        mail: ['alice@example.net'],
      });
      assert.equal(identity.firstName, 'Alice');
      assert.equal(identity.lastName, 'Admin');
      assert.equal(identity.email, 'alice@example.net');
    } finally {
      await src.close();
    }
  });

  it('PAP: a wrong password is rejected', async () => {
    const src = source([server.address]);
    await assert.rejects(src.authenticate('alice', 'wrong', ctx), rejectsWith('ERR_AUTH_REJECTED', /authentication failed/));
    await assert.rejects(src.authenticate('nobody', 'x', ctx), rejectsWith('ERR_AUTH_REJECTED', /authentication failed/));
  });

  it('ASCII: answers GETPASS and is accepted; a wrong password is rejected', async () => {
    const src = source([server.address], { authenType: 'ascii' });
    const { identity } = await src.authenticate('alice', 'alice-pw', ctx);
    assert.deepEqual(identity.groups, ['netbox-admin', 'noc', 'tacacs-priv-15']);
    await assert.rejects(src.authenticate('alice', 'wrong', ctx), rejectsWith('ERR_AUTH_REJECTED', /authentication failed/));
  });

  it('PASS_REPL pairs count too; configured role pair names and separator apply', async () => {
    const src = source([server.address], { rolePairs: ['shell:roles'], roleSeparator: ' ', privLvlGroupPrefix: 'priv' });
    const { identity } = await src.authenticate('bob', 'bob-pw', ctx);
    assert.deepEqual(identity.groups, ['network-operator', 'vdc-operator', 'priv1']);
  });

  it('authorization FAIL or ERROR means no access, even with the right password', async () => {
    const src = source([server.address]);
    await assert.rejects(src.authenticate('carol', 'carol-pw', ctx), rejectsWith('ERR_AUTH_REJECTED', /authorization refused for service=shell/));
    await assert.rejects(src.authenticate('dave', 'dave-pw', ctx), rejectsWith('ERR_AUTH_REJECTED', /authorization error/));
  });

  it('authorization disabled: authentication alone signs in, with no groups', async () => {
    const src = source([server.address], { authorization: { enabled: false } });
    const { identity } = await src.authenticate('carol', 'carol-pw', ctx);
    assert.deepEqual(identity.groups, []);
  });

  it('a wrong shared secret gives ERR_SOURCE_PROTOCOL naming the likely cause', async () => {
    const cfg = tacacsSourceSchema.parse({ kind: 'tacacs', id: 'tac', servers: [server.address], secret: 'not-the-secret', timeout: '2s' });
    const src = createTacacsSource(cfg, { logger: silentLogger });
    await assert.rejects(src.authenticate('alice', 'alice-pw', ctx), rejectsWith('ERR_SOURCE_PROTOCOL', /wrong shared secret/));
  });

  it('single-connection mode: the server agrees and every session shares one connection', async () => {
    const counter = await countingForwarder(server.port);
    const src = source([counter.address], { singleConnection: true });
    try {
      for (let i = 0; i < 3; i++) {
        const { identity } = await src.authenticate('alice', 'alice-pw', ctx);
        assert.ok(identity.groups.includes('netbox-admin'));
      }
      await assert.rejects(src.authenticate('alice', 'wrong', ctx), rejectsWith('ERR_AUTH_REJECTED'));
      assert.equal(counter.connections(), 1);
    } finally {
      await src.close();
      await counter.stop();
    }
  });

  it('without single-connection mode each session gets its own connection', async () => {
    const counter = await countingForwarder(server.port);
    const src = source([counter.address]);
    try {
      await src.authenticate('alice', 'alice-pw', ctx);
      // One for authentication, one for authorization.
      assert.equal(counter.connections(), 2);
    } finally {
      await counter.stop();
    }
  });
});

describe('TACACS+ ASCII login with GETUSER first', () => {
  let server: RunningTacacsServer;
  before(async () => {
    server = await startTacacsServer({ secret: SECRET, ascii: true, askUser: true, users: { erin: { password: 'erin-pw', args: ['role=viewer'] } } });
  });
  after(() => server.stop());

  it('answers GETUSER then GETPASS', async () => {
    const src = source([server.address], { authenType: 'ascii' });
    const { identity } = await src.authenticate('erin', 'erin-pw', ctx);
    assert.deepEqual(identity.groups, ['viewer']);
  });
});

/** A TCP forwarder to the real server that counts client connections. */
async function countingForwarder(targetPort: number) {
  let count = 0;
  const sockets = new Set<Socket>();
  const srv = createServer((client) => {
    count++;
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    connections: () => count,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}
