// Deprovisioning against a real NetBox 4.7, through the real binary, signed in through the demo
// OpenID provider: bob, removed at the IdP, loses his browser session within the refresh bound
// and NetBox refuses his API token (through the gateway and straight at NetBox); allowed again,
// his next sign-in reactivates him before NetBox sees the headers and the token works again.
// The same through a config reload whose policy now denies him, and through
// `netbox-gate sessions revoke --deprovision` (two replicas sharing a Redis store: signed out on
// both). A local NetBox superuser made by hand is never touched.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { startDemoIdp, type DemoIdp } from '../../demo/idp.js';
import { findSessions } from '../../src/cli/sessions.js';
import { parseConfigText } from '../../src/config/load.js';
import { sessionKeyOfHash } from '../../src/gateway/sessions.js';
import { createDeprovisioner } from '../../src/lifecycle/deprovision.js';
import { createGatewayLifecycle } from '../../src/lifecycle/gateway.js';
import { scimLifecycleFromGateway } from '../../src/lifecycle/scim.js';
import { scimIdentity } from '../../src/scim/lifecycle.js';
import type { UserFields } from '../../src/scim/resource.js';
import { scimState } from '../../src/scim/state.js';
import { openStore } from '../../src/store/open.js';
import { createNetboxClient } from '../../src/netbox/api/client.js';
import { managedUsers } from '../../src/netbox/api/users.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { startGateway, startNetboxForGateway, type RunningGateway } from '../support/gateway.js';
import { cliPath } from '../support/repo.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { CookieClient, signInThroughDemoIdp } from '../support/http-client.js';
import { recordingLogger } from '../support/logger.js';
import type { NetboxInstance } from '../support/netbox.js';
import { groupNames, netboxUser } from '../support/netbox-users.js';
import { freePort } from '../support/ports.js';

const SECRET = 'deprovision-client-secret';
/** How often the gateway asks the IdP again; the bound within which a removal must take effect. */
const REFRESH_S = 2;

const run = promisify(execFile);
const KEY = Buffer.alloc(32, 7).toString('base64');

const gatewayConfig = (port: number, issuer: string, netboxUrl: string, api: boolean, redisUrl = '', publicPort = port, engineersGroup = 'network-engineers') => `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${publicPort}
netbox:
  url: ${netboxUrl}
${api ? '  api:\n    token: ${env:NB_TOKEN}\n' : ''}${redisUrl ? `sessions:\n  store: { type: redis, url: "${redisUrl}" }\n  encryptionKeys: ["${KEY}"]\n` : ''}sources:
  - kind: oidc
    id: demo
    issuer: ${issuer}
    clientId: netbox-gate
    clientSecret: \${env:DEMO_CLIENT_SECRET}
    insecureAllowHttpIssuer: true
    refreshInterval: ${REFRESH_S}s
policy:
  rules:
    - name: engineers
      groups: [${engineersGroup}]
      netboxGroups: [Network Engineers]
`;

describe('deprovisioning (real NetBox 4.7, demo IdP)', { timeout: 600_000 }, () => {
  let nb: NetboxInstance;
  let idp: DemoIdp;
  let gw: RunningGateway;
  /** A second replica on the same Redis store (same publicUrl, its own port). */
  let gw2: RunningGateway;
  let redis: RedisServer;
  let gwUrl: string;
  let yaml: string;
  const env = () => ({ DEMO_CLIENT_SECRET: SECRET, NB_TOKEN: nb.adminAuthorization });
  let bobToken: string;

  const tokenFor = async (username: string): Promise<string> => {
    const u = await netboxUser(nb, username);
    const t = await nb.api('POST', '/api/users/tokens/', { user: u!.id, description: 'deprovision test' });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    return `Bearer nbt_${t.body.key}.${t.body.token}`;
  };
  const tokenGet = async (base: string, auth: string) => {
    const r = await fetch(`${base}/api/users/config/`, { headers: { Authorization: auth, Accept: 'application/json' } });
    return { status: r.status, body: await r.text() };
  };
  /** bob's browser session: 200 while signed in, 401 (API client) once it has ended. */
  const sessionStatus = async (c: CookieClient) => {
    const r = await c.request(`${gwUrl}/api/users/config/`, { headers: { Accept: 'application/json' } });
    await r.arrayBuffer();
    return r.status;
  };
  const signIn = async (user: string) => {
    const c = new CookieClient();
    const { res } = await signInThroughDemoIdp(c, gwUrl, user, user);
    assert.equal(res.status, 200, `sign-in of ${user}`);
    await res.arrayBuffer();
    return c;
  };
  const auditLines = (kind: string, user: string) => gw.logs.filter((l) => l['audit'] === kind && l['user'] === user);

  /** Polls (bounded) until the session has ended; returns seconds from `since`. */
  const untilSessionEnds = async (c: CookieClient, since: number) => {
    for (let i = 0; i < 150; i++) {
      if ((await sessionStatus(c)) === 401) return (performance.now() - since) / 1000;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.fail('the session did not end');
  };
  const untilRefused = async (since: number) => {
    for (let i = 0; i < 100; i++) {
      if ((await tokenGet(nb.url, bobToken)).status === 403) return (performance.now() - since) / 1000;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail('NetBox did not refuse the token');
  };

  before(async () => {
    const gwPort = await freePort();
    gwUrl = `http://127.0.0.1:${gwPort}`;
    const nbPort = await freePort();
    idp = await startDemoIdp({
      clients: [{ clientId: 'netbox-gate', clientSecret: SECRET, redirectUris: [`${gwUrl}/.netbox-gate/callback/demo`], postLogoutRedirectUris: [`${gwUrl}/.netbox-gate/signed-out`] }],
    });
    nb = await startNetboxForGateway(gatewayConfig(gwPort, idp.issuer, `http://127.0.0.1:${nbPort}`, false), { DEMO_CLIENT_SECRET: SECRET }, nbPort);
    assert.equal((await nb.api('POST', '/api/users/groups/', { name: 'Network Engineers' })).status, 201);
    redis = await startRedis();
    yaml = gatewayConfig(gwPort, idp.issuer, `http://127.0.0.1:${nbPort}`, true, redis.url);
    gw = await startGateway(() => yaml, env(), gwPort);
    const port2 = await freePort();
    gw2 = await startGateway(() => gatewayConfig(port2, idp.issuer, `http://127.0.0.1:${nbPort}`, true, redis.url, gwPort), env(), port2);
  });

  after(async () => {
    await gw2?.stop();
    await gw?.stop();
    await redis?.remove();
    await idp?.stop();
    await nb?.stop();
  });

  it('bob, disabled at the IdP: his session ends within the refresh bound and NetBox refuses his token ("User inactive")', async () => {
    const c = await signIn('bob');
    assert.equal(await sessionStatus(c), 200);
    bobToken = await tokenFor('bob');
    assert.equal((await tokenGet(gwUrl, bobToken)).status, 200);
    assert.equal((await tokenGet(nb.url, bobToken)).status, 200);

    const t0 = performance.now();
    idp.setDisabled('bob', true);
    const ended = await untilSessionEnds(c, t0);
    const refused = await untilRefused(t0);
    console.log(`# IdP disable -> session ended ${ended.toFixed(1)} s, NetBox refuses the token ${refused.toFixed(1)} s (refresh interval ${REFRESH_S} s)`);
    const through = await tokenGet(gwUrl, bobToken);
    assert.equal(through.status, 403);
    assert.deepEqual(JSON.parse(through.body), { detail: 'User inactive' });
    const straight = await tokenGet(nb.url, bobToken);
    assert.equal(straight.status, 403);
    assert.deepEqual(JSON.parse(straight.body), { detail: 'User inactive' });
    assert.equal((await netboxUser(nb, 'bob'))?.is_active, false);
    const [line] = auditLines('deprovision', 'bob');
    assert.ok(line, 'one deprovision audit line');
    assert.equal(line['trigger'], 'refresh');
    assert.equal(line['result'], 'deactivated');
    assert.match(String(line['detail']), /^demo: refresh rejected/);
  });

  it('allowed again, bob signs in: reactivated before NetBox sees the headers, and his token works again', async () => {
    idp.setDisabled('bob', false);
    const c = await signIn('bob');
    // The sign-in itself landed on NetBox's home page as bob (NetBox did not refuse him).
    assert.equal(await sessionStatus(c), 200);
    assert.equal((await netboxUser(nb, 'bob'))?.is_active, true);
    assert.equal((await tokenGet(gwUrl, bobToken)).status, 200);
    assert.equal((await tokenGet(nb.url, bobToken)).status, 200);
    const [line] = auditLines('reactivate', 'bob');
    assert.equal(line?.['result'], 'reactivated');
    assert.equal(line?.['trigger'], 'sign_in');
    assert.ok(!gw.logs.some((l) => l['audit'] === 'netbox_refused'), 'NetBox never refused the reactivated user');
  });

  it('bob removed from his IdP group: the refresh re-decides, the policy denies, he is deprovisioned; back in the group, signed in, active', async () => {
    const c = await signIn('bob');
    const t0 = performance.now();
    idp.setGroups('bob', []);
    await untilSessionEnds(c, t0);
    await untilRefused(t0);
    assert.deepEqual(JSON.parse((await tokenGet(gwUrl, bobToken)).body), { detail: 'User inactive' });
    const lines = auditLines('deprovision', 'bob');
    assert.equal(lines.at(-1)?.['result'], 'deactivated');
    assert.match(String(lines.at(-1)?.['detail']), /policy now denies/);
    idp.setGroups('bob', ['network-engineers']);
    await signIn('bob');
    assert.equal((await tokenGet(nb.url, bobToken)).status, 200);
  });

  it('a config reload whose policy now denies bob: his next request ends the session and deprovisions him (trigger reload)', async () => {
    const c = await signIn('bob');
    assert.equal(await sessionStatus(c), 200);
    const denying = yaml.replace('groups: [network-engineers]', 'groups: [no-such-group]');
    assert.notEqual(denying, yaml);
    assert.equal(await gw.reload(denying), 'reloaded');
    assert.notEqual(await sessionStatus(c), 200);
    await untilRefused(performance.now());
    const line = auditLines('deprovision', 'bob').at(-1);
    assert.equal(line?.['trigger'], 'reload');
    assert.equal(line?.['result'], 'deactivated');
    assert.equal(await gw.reload(yaml), 'reloaded');
    await signIn('bob');
    assert.equal((await tokenGet(nb.url, bobToken)).status, 200);
  });

  it('netbox-gate sessions revoke --user bob --deprovision: signed out on both replicas, NetBox refuses his token, one audit line naming the actor', async () => {
    const c = await signIn('bob');
    // The same browser reaching the second replica (a balancer would send it either way).
    const origin2 = `http://127.0.0.1:${gw2.port}`;
    for (const [k, v] of c.cookies(gwUrl)) c.cookies(origin2).set(k, v);
    const on2 = async () => {
      const r = await c.request(`${origin2}/api/users/config/`, { headers: { Accept: 'application/json' } });
      await r.arrayBuffer();
      return r.status;
    };
    assert.equal(await sessionStatus(c), 200);
    assert.equal(await on2(), 200);
    const r = await run(process.execPath, [cliPath(), 'sessions', 'revoke', '--user', 'bob', '--deprovision', '--config', gw.configFile], { env: { ...process.env, ...env(), USER: 'ops-admin' } });
    assert.match(r.stdout, /^revoked \S+ \(bob via demo, NetBox session ended\)$/m);
    assert.match(r.stdout, /^NetBox user bob set inactive: NetBox now refuses their API tokens$/m);
    const audit = r.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['audit'] === 'deprovision');
    assert.equal(audit?.['trigger'], 'cli');
    assert.equal(audit?.['actor'], 'ops-admin');
    assert.equal(audit?.['result'], 'deactivated');
    assert.doesNotMatch(r.stdout + r.stderr, /nbt_|Bearer/);
    assert.equal(await sessionStatus(c), 401);
    assert.equal(await on2(), 401);
    assert.deepEqual(JSON.parse((await tokenGet(gwUrl, bobToken)).body), { detail: 'User inactive' });
    // An administrator's act is not undone by anything but an allowed sign-in.
    await signIn('bob');
    assert.equal((await tokenGet(nb.url, bobToken)).status, 200);
  });

  it('revoke --deprovision with sessions.store memory: NetBox refuses the user at once (the running gateway shows "account disabled")', async () => {
    const c = await signIn('bob');
    const file = gw.configFile.replace(/\.yaml$/, '-memory.yaml');
    writeFileSync(file, yaml.replace(/^sessions:\n(  .*\n)+/m, ''));
    const r = await run(process.execPath, [cliPath(), 'sessions', 'revoke', '--user', 'bob', '--deprovision', '--config', file], { env: { ...process.env, ...env() } });
    assert.match(r.stdout, /^note: sessions\.store is "memory": bob's gateway sessions live in the running gateway/m);
    assert.match(r.stdout, /^NetBox user bob set inactive/m);
    assert.equal((await tokenGet(nb.url, bobToken)).status, 403);
    // The browser session still exists in the gateway, but NetBox no longer lets bob in.
    const page = await c.request(`${gwUrl}/`, { headers: { Accept: 'text/html' } });
    assert.match(await page.text(), /disabled/i);
    await signIn('bob');
    assert.equal((await tokenGet(nb.url, bobToken)).status, 200);
  });

  it('SCIM through the deprovisioner: deactivate ends his sessions and NetBox refuses the token; a group change decides again; activate restores', async () => {
    const cfg = parseConfigText(yaml, join(tmpdir(), 'gw.yaml'), { ...process.env, ...env() });
    const store = await openStore(cfg.sessions, recordingLogger());
    const log = recordingLogger();
    // What the gateway's session manager does, over the shared store: every session of the user.
    const sessions = {
      endUserSessions: async (u: string) => {
        const found = await findSessions(store, { user: u });
        for (const f of found) await store.delete(sessionKeyOfHash(f.hash));
        return found.length;
      },
    };
    const gl = createGatewayLifecycle({ store, logger: log, now: Date.now, config: () => cfg, sessions });
    const scim = scimLifecycleFromGateway(gl, () => cfg);
    try {
      const c = await signIn('bob');
      assert.equal(await sessionStatus(c), 200);
      await scim.deactivate('bob', 'SCIM PATCH active=false');
      assert.equal(await sessionStatus(c), 401);
      assert.deepEqual(JSON.parse((await tokenGet(gwUrl, bobToken)).body), { detail: 'User inactive' });
      const line = log.records.find((r) => r.obj['audit'] === 'deprovision');
      assert.deepEqual([line?.obj['trigger'], line?.obj['result']], ['scim', 'deactivated']);
      assert.ok(Number(line?.obj['sessionsEnded']) >= 1, 'every session of bob (earlier sign-ins too)');

      await scim.activate('bob', 'SCIM PATCH active=true');
      assert.equal((await tokenGet(nb.url, bobToken)).status, 200);

      const fields = { userName: 'bob', name: { givenName: 'Robert' } };
      await scim.groupsChanged('bob', scimIdentity('scim', 'id-bob', fields, []));
      assert.equal((await tokenGet(nb.url, bobToken)).status, 403, 'no group the policy allows: deprovisioned');
      await scim.groupsChanged('bob', scimIdentity('scim', 'id-bob', fields, ['network-engineers']));
      assert.equal((await tokenGet(nb.url, bobToken)).status, 200, 'allowed again: reactivated');
      const u = await netboxUser(nb, 'bob');
      assert.deepEqual(groupNames(u), ['Network Engineers']);
      assert.equal(u?.first_name, 'Robert');
      // A local superuser with a SCIM user's name is never edited.
      await scim.deactivate(nb.adminUser, 'SCIM DELETE');
      assert.equal((await netboxUser(nb, nb.adminUser))?.is_active, true);
    } finally {
      await gl.close();
      await store.close();
    }
  });

  it('a user the IdP deactivated through SCIM is refused at sign-in, with that reason: no session, and the NetBox user is not reactivated', async () => {
    const cfg = parseConfigText(yaml, join(tmpdir(), 'gw.yaml'), { ...process.env, ...env() });
    const store = await openStore(cfg.sessions, recordingLogger());
    const state = scimState(store);
    // What a SCIM PATCH active=false leaves in the shared store (scim.test.ts drives the endpoint).
    const record = state.fresh<UserFields>({ userName: 'bob', active: false });
    await state.put('user', record, 'bob');
    try {
      const c = new CookieClient();
      const { res } = await signInThroughDemoIdp(c, gwUrl, 'bob', 'bob');
      const page = await res.text();
      assert.equal(res.status, 403);
      assert.match(page, /identity provider deactivated this account/);
      assert.equal(await sessionStatus(c), 401, 'no session');
      // One audit line for the sign-in, with the outcome that holds.
      const line = auditLines('sign_in', 'bob').at(-1);
      assert.equal(line?.['allowed'], false);
      assert.match(String(line?.['reason']), /deactivated this account \(SCIM\)/);
      assert.equal((await netboxUser(nb, 'bob'))?.is_active, true, 'NetBox bob left as he was');
    } finally {
      await state.remove('user', record.id, 'bob');
      await store.close();
    }
    // SCIM no longer says so: bob signs in again.
    assert.equal(await sessionStatus(await signIn('bob')), 200);
  });

  it('a local NetBox superuser made by hand is never touched: the deprovisioner skips it with an audit line', async () => {
    const before = await netboxUser(nb, nb.adminUser);
    assert.ok(before?.is_active && before.is_superuser);
    const client = createNetboxClient({ url: nb.url, token: nb.adminAuthorization });
    const log = recordingLogger();
    try {
      const store = createMemoryStore();
      const dp = createDeprovisioner({ users: managedUsers(client, { managedGroup: 'netbox-gate-managed' }), store, sessions: { endUserSessions: async () => 0 }, logger: log });
      const o = await dp.deprovision(nb.adminUser, { trigger: 'cli', detail: 'test: an admin tried it' });
      assert.equal(o.result, 'unmanaged');
      assert.equal((await dp.reactivate(nb.adminUser, { trigger: 'cli', detail: 'test' })).result, 'unmanaged');
      await store.close();
    } finally {
      await client.close();
    }
    const line = log.records.find((l) => l.obj['audit'] === 'deprovision');
    assert.equal(line?.obj['result'], 'unmanaged');
    assert.match(String(line?.msg), /skipped: NetBox user .* is not managed by netbox-gate/);
    const afterAll = await netboxUser(nb, nb.adminUser);
    assert.deepEqual(afterAll, before);
    // Nothing in the gateway's own run touched it either.
    for (const g of [gw, gw2]) assert.ok(!g.logs.some((l) => l['user'] === nb.adminUser && (l['audit'] === 'deprovision' || l['audit'] === 'reactivate')));
  });
});
