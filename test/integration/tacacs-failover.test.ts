// TACACS+ server failover against real sockets: a refused port and a listener that never answers
// in front of a live tacquito server; hold-down keeps later sign-ins from waiting again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isGateError } from '../../src/errors.js';
import { silentLogger } from '../../src/types.js';
import { createTacacsSource } from '../../src/sources/tacacs/index.js';
import { tacacsSourceSchema } from '../../src/sources/tacacs/config.js';
import { refusedAddress, startSilentListener } from '../support/ports.js';
import { startTacacsServer, type RunningTacacsServer } from '../support/tacacs.js';

const SECRET = 'failover-secret';
const ctx = { clientIp: '192.0.2.20' };

describe('TACACS+ failover and hold-down', () => {
  let live: RunningTacacsServer;
  let silent: Awaited<ReturnType<typeof startSilentListener>>;
  before(async () => {
    live = await startTacacsServer({ secret: SECRET, users: { alice: { password: 'pw', args: ['role=netbox-admin'] }, mallory: { password: 'pw2', author: 'fail' } } });
    silent = await startSilentListener();
  });
  after(async () => {
    await live.stop();
    await silent.stop();
  });

  function source(servers: string[], now?: () => number) {
    const cfg = tacacsSourceSchema.parse({ kind: 'tacacs', id: 'tac', servers, secret: SECRET, timeout: '500ms', holdDown: '10m' });
    return createTacacsSource(cfg, now ? { logger: silentLogger, now } : { logger: silentLogger });
  }

  it('skips a refused port and a silent server, then holds them down', async () => {
    const before = silent.connections();
    const src = source([await refusedAddress(), silent.address, live.address]);
    const first = await src.authenticate('alice', 'pw', ctx);
    assert.deepEqual(first.identity.groups, ['netbox-admin']);
    assert.deepEqual(first.state, { server: live.address });
    assert.equal(silent.connections(), before + 1);
    // Held down: the silent server is not contacted again, so there is no second wait.
    await src.authenticate('alice', 'pw', ctx);
    assert.equal(silent.connections(), before + 1);
  });

  it('the hold-down ends after its period', async () => {
    let t = 1_000_000;
    const before = silent.connections();
    const src = source([silent.address, live.address], () => t);
    await src.authenticate('alice', 'pw', ctx);
    assert.equal(silent.connections(), before + 1);
    t += 9 * 60_000;
    await src.authenticate('alice', 'pw', ctx);
    assert.equal(silent.connections(), before + 1);
    t += 2 * 60_000;
    await src.authenticate('alice', 'pw', ctx);
    assert.equal(silent.connections(), before + 2);
  });

  it('a rejection is final: the next server is not asked', async () => {
    const before = silent.connections();
    const src = source([live.address, silent.address]);
    await assert.rejects(src.authenticate('alice', 'wrong', ctx), (err) => isGateError(err, 'ERR_AUTH_REJECTED'));
    await assert.rejects(src.authenticate('mallory', 'pw2', ctx), (err) => isGateError(err, 'ERR_AUTH_REJECTED'));
    assert.equal(silent.connections(), before);
  });

  it('no server answering gives ERR_SOURCE_UNAVAILABLE; held-down servers are still tried when all are', async () => {
    const before = silent.connections();
    const refused = await refusedAddress();
    const src = source([refused, silent.address]);
    for (let i = 1; i <= 2; i++) {
      await assert.rejects(src.authenticate('alice', 'pw', ctx), (err: unknown) => {
        assert.ok(isGateError(err, 'ERR_SOURCE_UNAVAILABLE'), String(err));
        assert.match(err.message, new RegExp(`${refused}: connect failed: ECONNREFUSED`));
        assert.match(err.message, /no reply within 500 ms/);
        return true;
      });
      assert.equal(silent.connections(), before + i);
    }
  });
});
