// The metrics registry driven through the gateway in-process: every counter named in
// docs/observability.md moves when its event happens, and nothing lands in prom-client's
// global registry (several gateways in one process must not share counters).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { register as globalRegistry } from 'prom-client';
import { GateError } from '../../../src/errors.js';
import { createMetrics, type Metrics } from '../../../src/metrics/registry.js';
import { startMetricsServer } from '../../../src/metrics/server.js';
import { instrumentStore } from '../../../src/metrics/store.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import type { KeyValueStore } from '../../../src/store/store.js';
import { silentLogger } from '../../../src/types.js';
import { sample } from '../../support/metrics.js';
import { startHarness, type Harness } from '../gateway/harness.js';

describe('metrics (in-process gateway)', () => {
  let h: Harness;
  let m: Metrics;
  const store = createMemoryStore();
  before(async () => {
    m = createMetrics({ processMetrics: false, countSessions: () => store.count!('sess:') });
    h = await startHarness({ metrics: m, store: instrumentStore(store, m) });
    h.script.users = { bob: { groups: ['users'] }, carol: { groups: ['contractors'] } };
  });
  after(() => h.close());

  const passwordSignIn = async (username: string, password: string) => {
    const c = h.client();
    const form = await c.page('/.netbox-gate/login/aaa');
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    return c.req('/.netbox-gate/login', {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, source: 'aaa', username, password, next: '/' }).toString(),
    });
  };

  it('counts sign-ins by source, result and reason, and decisions', async () => {
    const t0 = await m.text();
    const bob = h.client();
    await bob.signIn('bob');
    await h.client().signIn('carol');
    assert.equal((await passwordSignIn('bob', 'wrong')).status, 401);
    h.script.passwordError = new GateError('ERR_SOURCE_UNAVAILABLE', 'no RADIUS server answered');
    assert.equal((await passwordSignIn('bob', 'bob')).status, 503);
    h.script.passwordError = undefined;
    const t1 = await m.text();
    const d = (name: string, labels: Record<string, string>) => sample(t1, name, labels) - sample(t0, name, labels);
    assert.equal(d('netbox_gate_sign_ins_total', { source: 'idp', result: 'allowed' }), 1);
    assert.equal(d('netbox_gate_sign_ins_total', { source: 'idp', result: 'denied', reason: 'no_allow_rule' }), 1);
    assert.equal(d('netbox_gate_sign_ins_total', { source: 'aaa', result: 'rejected', reason: 'ERR_AUTH_REJECTED' }), 1);
    assert.equal(d('netbox_gate_sign_ins_total', { source: 'aaa', result: 'error', reason: 'ERR_SOURCE_UNAVAILABLE' }), 1);
    assert.equal(d('netbox_gate_decisions_total', { event: 'sign_in', result: 'allowed' }), 1);
    assert.equal(d('netbox_gate_decisions_total', { event: 'sign_in', result: 'denied', reason: 'no_allow_rule' }), 1);

    // A proxied request is timed by status class; the session gauge counts bob's session.
    assert.equal((await bob.page('/dcim/sites/')).status, 200);
    h.script.upstream = (_req, res) => {
      res.writeHead(404).end();
      return true;
    };
    assert.equal((await bob.page('/nope/')).status, 404);
    h.script.upstream = () => false;
    const t2 = await m.text();
    assert.equal(sample(t2, 'netbox_gate_netbox_request_duration_seconds_count', { method: 'GET', status_class: '2xx' }) - sample(t1, 'netbox_gate_netbox_request_duration_seconds_count', { method: 'GET', status_class: '2xx' }), 1);
    assert.equal(sample(t2, 'netbox_gate_netbox_request_duration_seconds_count', { method: 'GET', status_class: '4xx' }) - sample(t1, 'netbox_gate_netbox_request_duration_seconds_count', { method: 'GET', status_class: '4xx' }), 1);
    const active = sample(t2, 'netbox_gate_sessions_active');
    assert.ok(active >= 1, `active sessions: ${active}`);

    await bob.page('/.netbox-gate/logout');
    const t3 = await m.text();
    assert.equal(sample(t3, 'netbox_gate_sessions_ended_total', { cause: 'logout' }) - sample(t2, 'netbox_gate_sessions_ended_total', { cause: 'logout' }), 1);
    assert.equal(sample(t3, 'netbox_gate_sessions_active'), active - 1);
  });

  it('keeps its counters out of prom-client\'s global registry', async () => {
    assert.equal(globalRegistry.getSingleMetric('netbox_gate_sign_ins_total'), undefined);
    assert.ok((await m.text()).includes('netbox_gate_sign_ins_total'));
  });
});

describe('metrics pieces', () => {
  it('counts store operations that fail and passes the error on', async () => {
    const m = createMetrics({ processMetrics: false });
    const inner = createMemoryStore();
    const s = instrumentStore<KeyValueStore>({ ...inner, set: () => Promise.reject(new Error('READONLY')) }, m);
    await assert.rejects(s.set('k', 1, 1000), /READONLY/);
    await s.get('k');
    const text = await m.text();
    assert.equal(sample(text, 'netbox_gate_store_errors_total', { operation: 'set' }), 1);
    assert.equal(sample(text, 'netbox_gate_store_errors_total', { operation: 'get' }), 0);
    await inner.close();
  });

  it('serves /metrics on its own listener and nothing else there', async () => {
    const m = createMetrics({ processMetrics: true });
    m.configReload({ result: 'failure' });
    const srv = await startMetricsServer(m, { host: '127.0.0.1', port: 0 }, silentLogger);
    try {
      const base = `http://127.0.0.1:${srv.address.port}`;
      const r = await fetch(`${base}/metrics`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const text = await r.text();
      assert.equal(sample(text, 'netbox_gate_config_reloads_total', { result: 'failure' }), 1);
      assert.ok(text.includes('process_cpu_user_seconds_total'), 'process metrics are there');
      assert.equal((await fetch(`${base}/`)).status, 404);
      assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 404);
    } finally {
      await srv.close();
    }
  });
});

describe('Microsoft Graph throttling', () => {
  it('counts each 429/503 Graph answered before the source backed off', async () => {
    const { EntraStandin } = await import('../../support/entra-standin.js');
    const { resolveEntraGroups } = await import('../../../src/sources/oidc/entra.js');
    const { oidcSourceSchema } = await import('../../../src/sources/oidc/config.js');
    const s = await EntraStandin.create();
    const alice = s.addUser({ name: 'Alice', preferredUsername: 'alice@contoso.test' }).oid;
    s.addGroup('Engineers', [alice]);
    const cfg = oidcSourceSchema.parse({ kind: 'oidc', id: 'entra', preset: 'entra', clientId: s.clientId, entra: { tenantId: s.tenantId, graphUrl: s.graphUrl, loginUrl: s.url } }).entra!;
    const m = createMetrics({ processMetrics: false });
    s.throttle(2, '1');
    s.throttle(1, '1', 503);
    const r = await resolveEntraGroups({
      claims: {},
      accessToken: s.mintAccessToken(alice, ['openid', 'User.Read']),
      cfg,
      fetch: s.fetch,
      sleep: async () => {},
      onThrottled: (status) => m.graphThrottled({ source: 'entra', status }),
    });
    assert.equal(r.groups.length, 1);
    const text = await m.text();
    assert.equal(sample(text, 'netbox_gate_graph_throttled_total', { source: 'entra', status: '429' }), 2);
    assert.equal(sample(text, 'netbox_gate_graph_throttled_total', { source: 'entra', status: '503' }), 1);
  });
});

describe('metrics config', () => {
  it('is off by default and refuses metrics.listen on the public address', async () => {
    const { parseConfigText } = await import('../../../src/config/load.js');
    const { ConfigError } = await import('../../../src/errors.js');
    const base = `server:\n  listen: 127.0.0.1:8080\n  publicUrl: http://127.0.0.1:8080\nnetbox:\n  url: http://127.0.0.1:8001\nsources:\n  - kind: radius\n    id: aaa\n    servers: [127.0.0.1]\n    secret: s3cret-s3cret\npolicy:\n  rules:\n    - name: all\n      users: ['*']\n`;
    const cfg = parseConfigText(base, '/virtual/a.yaml', {});
    assert.equal(cfg.metrics.listen, undefined);
    assert.equal(cfg.server.shutdownTimeout, 30_000);
    assert.deepEqual(parseConfigText(base + 'metrics:\n  listen: 127.0.0.1\n', '/virtual/b.yaml', {}).metrics.listen, { host: '127.0.0.1', port: 9464 });
    assert.throws(
      () => parseConfigText(base + 'metrics:\n  listen: 0.0.0.0:8080\n', '/virtual/c.yaml', {}),
      (e: unknown) => e instanceof ConfigError && e.issues.some((i) => i.path === 'metrics.listen' && /must differ from server.listen/.test(i.message)),
    );
  });
});
