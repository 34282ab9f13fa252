// Metrics of the real binary, scraped from its own listener (metrics.listen) before and after
// sign-ins against FreeRADIUS (allowed, denied by policy, rejected), a RADIUS failover from a
// silent server, a proxied NetBox request and config reloads: the counters move.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFreeRadius, USERS, type FreeRadius } from '../support/freeradius.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { CookieClient } from '../support/http-client.js';
import { hasSeries, sample } from '../support/metrics.js';
import { freePort } from '../support/ports.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';
import { startFakeServer, type FakeServer } from '../unit/radius/fake-server.js';

describe('metrics (netbox-gate serve, FreeRADIUS, recording NetBox)', () => {
  let fr: FreeRadius;
  let silent: FakeServer;
  let netbox: RecordingUpstream;
  let gw: RunningGateway;
  let metricsPort: number;
  let yaml: (port: number) => string;

  before(async () => {
    fr = await startFreeRadius();
    silent = await startFakeServer(); // records requests, never answers
    netbox = await startRecordingUpstream();
    metricsPort = await freePort();
    yaml = (port: number) => `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
netbox:
  url: ${netbox.url}
metrics:
  listen: 127.0.0.1:${metricsPort}
sources:
  - kind: radius
    id: corp-radius
    servers: [127.0.0.1:${silent.port}, 127.0.0.1:${fr.authPort}]
    secret: ${fr.secret}
    timeout: 300ms
    retries: 0
policy:
  rules:
    - name: admins
      groups: [netbox-admin]
      superuser: true
`;
    gw = await startGateway(yaml);
  });
  after(async () => {
    await gw?.stop();
    await netbox?.close();
    await silent?.close();
    await fr?.stop();
  });

  const scrape = async () => {
    const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(r.status, 200);
    return r.text();
  };

  const signIn = async (c: CookieClient, username: string, password: string) => {
    const form = await c.request(`${gw.url}/.netbox-gate/login`, { headers: { Accept: 'text/html' } });
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1];
    assert.ok(csrf, 'the sign-in form has a CSRF token');
    return c.request(`${gw.url}/.netbox-gate/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/html' },
      body: new URLSearchParams({ csrf, source: 'corp-radius', username, password, next: '/dcim/' }).toString(),
    });
  };

  it('is not served on the gateway\'s public port', async () => {
    const r = await fetch(`${gw.url}/metrics`, { headers: { Accept: 'application/json' } });
    assert.notEqual(r.status, 200);
    assert.ok(!(await r.text()).includes('netbox_gate_'));
  });

  it('moves the sign-in, decision, AAA, failover, NetBox, session and reload counters', async () => {
    const t0 = await scrape();
    const delta = (t1: string, name: string, labels: Record<string, string> = {}) => sample(t1, name, labels) - sample(t0, name, labels);
    const silentLabel = `127.0.0.1:${silent.port}`;
    const frLabel = `127.0.0.1:${fr.authPort}`;

    // alice: the silent server times out, FreeRADIUS accepts, the policy makes her superuser.
    const alice = new CookieClient();
    const ok = await signIn(alice, 'alice', USERS.alice);
    assert.equal(ok.status, 302, `alice's sign-in answered ${ok.status}`);
    assert.equal(ok.headers.get('location'), '/dcim/');
    assert.ok(silent.received.length >= 1, 'the first server was asked');
    // bob: FreeRADIUS accepts, no rule allows netbox-viewer.
    await signIn(new CookieClient(), 'bob', USERS.bob);
    // carol: FreeRADIUS rejects; alice with a wrong password: rejected too.
    assert.equal((await signIn(new CookieClient(), 'carol', USERS.carol)).status, 401);
    assert.equal((await signIn(new CookieClient(), 'alice', 'not-her-password')).status, 401);
    // A proxied request for the signed-in alice.
    const page = await alice.request(`${gw.url}/dcim/`, { headers: { Accept: 'text/html' } });
    assert.equal(page.status, 200);
    assert.equal(netbox.seen.at(-1)!.headers['x-remote-user'], 'alice');
    // A reload that applies and one that is refused.
    assert.equal(await gw.reload(yaml(gw.port)), 'reloaded');
    assert.equal(await gw.reload('server: [not, a, mapping'), 'refused');
    await gw.reload(yaml(gw.port));

    const t1 = await scrape();
    assert.equal(delta(t1, 'netbox_gate_sign_ins_total', { source: 'corp-radius', result: 'allowed' }), 1);
    assert.equal(delta(t1, 'netbox_gate_sign_ins_total', { source: 'corp-radius', result: 'denied', reason: 'no_allow_rule' }), 1);
    assert.equal(delta(t1, 'netbox_gate_sign_ins_total', { source: 'corp-radius', result: 'rejected', reason: 'ERR_AUTH_REJECTED' }), 2);
    assert.equal(delta(t1, 'netbox_gate_decisions_total', { event: 'sign_in', result: 'allowed' }), 1);
    assert.equal(delta(t1, 'netbox_gate_decisions_total', { event: 'sign_in', result: 'denied', reason: 'no_allow_rule' }), 1);
    // The silent server timed out once, then sat out its hold-down: one failover.
    assert.equal(delta(t1, 'netbox_gate_aaa_timeouts_total', { source: 'corp-radius', protocol: 'radius', server: silentLabel }), 1);
    assert.equal(delta(t1, 'netbox_gate_aaa_failovers_total', { source: 'corp-radius', protocol: 'radius', server: silentLabel }), 1);
    assert.equal(delta(t1, 'netbox_gate_aaa_request_duration_seconds_count', { protocol: 'radius', server: frLabel, outcome: 'answered' }), 4);
    assert.equal(delta(t1, 'netbox_gate_netbox_request_duration_seconds_count', { method: 'GET', status_class: '2xx' }), 1);
    assert.equal(sample(t1, 'netbox_gate_sessions_active'), 1);
    assert.equal(delta(t1, 'netbox_gate_config_reloads_total', { result: 'success' }), 2);
    assert.equal(delta(t1, 'netbox_gate_config_reloads_total', { result: 'failure' }), 1);
    assert.ok(hasSeries(t1, 'process_resident_memory_bytes'), 'process metrics are exported');

    // Signing out ends the session: the gauge goes down, the end is counted by cause.
    await alice.request(`${gw.url}/.netbox-gate/logout`, { method: 'POST' });
    const t2 = await scrape();
    assert.equal(sample(t2, 'netbox_gate_sessions_active'), 0);
    assert.equal(sample(t2, 'netbox_gate_sessions_ended_total', { cause: 'logout' }) - sample(t1, 'netbox_gate_sessions_ended_total', { cause: 'logout' }), 1);
  });

  it('says /ready is 503 naming NetBox while NetBox is down, 200 again once it is back', async () => {
    const ready = await fetch(`${gw.url}/.netbox-gate/ready`);
    assert.equal(ready.status, 200);
    const port = new URL(netbox.url).port;
    await netbox.close();
    const down = await fetch(`${gw.url}/.netbox-gate/ready`);
    assert.equal(down.status, 503);
    const b = (await down.json()) as { status: string; store: { ok: boolean }; netbox: { ok: boolean; error?: string } };
    assert.equal(b.status, 'not ready');
    assert.equal(b.store.ok, true);
    assert.equal(b.netbox.ok, false);
    assert.match(b.netbox.error ?? '', /NetBox cannot be reached/);
    assert.equal((await fetch(`${gw.url}/.netbox-gate/health`)).status, 200, 'liveness does not follow NetBox');
    // The same port again, so the gateway's config still points at it.
    const { createServer } = await import('node:http');
    const back = createServer((_q, s) => s.writeHead(200).end('<p>NetBox</p>'));
    await new Promise<void>((r) => back.listen(Number(port), '127.0.0.1', r));
    try {
      assert.equal((await fetch(`${gw.url}/.netbox-gate/ready`)).status, 200);
    } finally {
      back.closeAllConnections();
      await new Promise<void>((r) => back.close(() => r()));
    }
  });
});
