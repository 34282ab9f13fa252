// AAA metrics from real servers: TACACS+ (tacquito) behind a refused port and a silent listener,
// LDAP (slapd) behind a silent listener. Each server asked is timed with its outcome; each server
// left behind is a failover; a rejection is an answer, not a failure.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isGateError } from '../../src/errors.js';
import { createMetrics } from '../../src/metrics/registry.js';
import { createLdapSource } from '../../src/sources/ldap/index.js';
import { ldapSourceSchema } from '../../src/sources/ldap/config.js';
import { tacacsSourceSchema } from '../../src/sources/tacacs/config.js';
import { createTacacsSource } from '../../src/sources/tacacs/index.js';
import { silentLogger } from '../../src/types.js';
import { sample } from '../support/metrics.js';
import { refusedAddress, startSilentListener } from '../support/ports.js';
import { PASSWORDS, SERVICE_DN, SERVICE_PW, startSlapd, SUFFIX, type Slapd } from '../support/slapd.js';
import { startTacacsServer, type RunningTacacsServer } from '../support/tacacs.js';

const ctx = { clientIp: '192.0.2.30' };

describe('AAA metrics (tacquito, slapd)', () => {
  const SECRET = 'metrics-tacacs-secret';
  let tac: RunningTacacsServer;
  let slapd: Slapd;
  let silent: Awaited<ReturnType<typeof startSilentListener>>;
  before(async () => {
    tac = await startTacacsServer({ secret: SECRET, users: { alice: { password: 'pw', args: ['role=netbox-admin'] } } });
    slapd = await startSlapd();
    silent = await startSilentListener();
  });
  after(async () => {
    await tac?.stop();
    await slapd?.stop();
    await silent?.stop();
  });

  it('TACACS+: a refused port is an error, a silent server a timeout, both failovers; the live server answers', async () => {
    const m = createMetrics({ processMetrics: false });
    const refused = await refusedAddress();
    const cfg = tacacsSourceSchema.parse({ kind: 'tacacs', id: 'tac', servers: [refused, silent.address, tac.address], secret: SECRET, timeout: '400ms', holdDown: '10m' });
    const src = createTacacsSource(cfg, { logger: silentLogger, metrics: m });
    try {
      await src.authenticate('alice', 'pw', ctx);
      await assert.rejects(src.authenticate('alice', 'wrong', ctx), (e) => isGateError(e, 'ERR_AUTH_REJECTED'));
    } finally {
      await src.close();
    }
    const t = await m.text();
    const h = 'netbox_gate_aaa_request_duration_seconds_count';
    assert.equal(sample(t, h, { source: 'tac', protocol: 'tacacs', server: refused, outcome: 'error' }), 1);
    assert.equal(sample(t, h, { source: 'tac', protocol: 'tacacs', server: silent.address, outcome: 'timeout' }), 1);
    // The second sign-in goes straight to the live server (the others are held down).
    assert.equal(sample(t, h, { source: 'tac', protocol: 'tacacs', server: tac.address, outcome: 'answered' }), 2);
    assert.equal(sample(t, 'netbox_gate_aaa_timeouts_total', { protocol: 'tacacs' }), 1);
    assert.equal(sample(t, 'netbox_gate_aaa_failovers_total', { source: 'tac', protocol: 'tacacs', server: refused }), 1);
    assert.equal(sample(t, 'netbox_gate_aaa_failovers_total', { source: 'tac', protocol: 'tacacs', server: silent.address }), 1);
    assert.equal(sample(t, 'netbox_gate_aaa_failovers_total', { server: tac.address }), 0);
  });

  it('LDAP: a silent server times out and fails over to slapd, which answers', async () => {
    const m = createMetrics({ processMetrics: false });
    const silentUrl = `ldaps://${silent.address}`;
    const src = createLdapSource(
      ldapSourceSchema.parse({
        kind: 'ldap',
        id: 'corp-ldap',
        urls: [silentUrl, slapd.ldapsUrl],
        tls: { caFile: slapd.caFile },
        bindDn: SERVICE_DN,
        bindPassword: SERVICE_PW,
        userSearch: { base: `ou=people,${SUFFIX}` },
        timeout: '500ms',
      }),
      { logger: silentLogger, metrics: m },
    );
    try {
      await src.authenticate('alice', PASSWORDS.alice, ctx);
    } finally {
      await src.close();
    }
    const t = await m.text();
    const h = 'netbox_gate_aaa_request_duration_seconds_count';
    assert.equal(sample(t, h, { source: 'corp-ldap', protocol: 'ldap', server: silentUrl, outcome: 'timeout' }), 1, t.split('\n').filter((l) => l.includes('ldap')).join('\n'));
    assert.equal(sample(t, h, { source: 'corp-ldap', protocol: 'ldap', server: slapd.ldapsUrl, outcome: 'answered' }), 1);
    assert.equal(sample(t, 'netbox_gate_aaa_failovers_total', { source: 'corp-ldap', protocol: 'ldap', server: silentUrl }), 1);
  });
});
