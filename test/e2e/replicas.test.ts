// End to end with three replicas: Debian's Chromium -> a round-robin balancer -> three
// `netbox-gate serve` processes sharing sessions on a real redis-server -> a real NetBox 4.7,
// signing in through the demo OpenID provider (it rotates refresh tokens and refuses a replayed
// one by revoking the whole grant). The IdP callback lands on whichever replica the balancer
// picks, so sealed sign-in cookies must open everywhere.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { startDemoIdp, type DemoIdp } from '../../demo/idp.js';
import { findSessions } from '../../src/cli/sessions.js';
import { createEncryptedStore } from '../../src/store/encrypted.js';
import { createRedisStore } from '../../src/store/redis.js';
import { silentLogger } from '../../src/types.js';
import { startBalancer, PIN_HEADER, type Balancer } from '../support/balancer.js';
import { launchBrowser } from '../support/browser.js';
import { startGateway, startNetboxForGateway, type RunningGateway } from '../support/gateway.js';
import type { NetboxInstance } from '../support/netbox.js';
import { netboxUser } from '../support/netbox-users.js';
import { freePort } from '../support/ports.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { cliPath } from '../support/repo.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SECRET = 'e2e-replicas-secret';
const KEY = randomBytes(32);
const REFRESH_INTERVAL_MS = 2000;

function config(port: number, publicUrl: string, issuer: string, netboxUrl: string, redisUrl: string): string {
  return `server:
  listen: 127.0.0.1:${port}
  publicUrl: ${publicUrl}
netbox:
  url: ${netboxUrl}
sessions:
  store:
    type: redis
    url: ${redisUrl}
  encryptionKeys: ["\${env:SESSION_KEY}"]
sources:
  - kind: oidc
    id: demo
    issuer: ${issuer}
    clientId: netbox-gate
    clientSecret: \${env:DEMO_CLIENT_SECRET}
    insecureAllowHttpIssuer: true
    refreshInterval: ${REFRESH_INTERVAL_MS / 1000}s
policy:
  defaultGroups: [netbox-users]
  rules:
    - name: admins
      groups: [netbox-admins]
      superuser: true
    - name: engineers
      groups: [network-engineers]
`;
}

describe('three replicas behind a balancer, sessions on Redis, real NetBox 4.7 (Chromium)', { timeout: 600_000 }, () => {
  let redis: RedisServer;
  let idp: DemoIdp;
  let nb: NetboxInstance;
  let lb: Balancer;
  let browser: Browser;
  let lbUrl: string;
  let yamlFor: (port: number) => string;
  const ports: number[] = [];
  const gws: RunningGateway[] = [];
  const env = { DEMO_CLIENT_SECRET: SECRET, SESSION_KEY: KEY.toString('base64') };

  before(async () => {
    redis = await startRedis();
    const lbPort = await freePort();
    lbUrl = `http://127.0.0.1:${lbPort}`;
    const nbPort = await freePort();
    for (let i = 0; i < 3; i++) ports.push(await freePort());
    idp = await startDemoIdp({
      clients: [{ clientId: 'netbox-gate', clientSecret: SECRET, redirectUris: [`${lbUrl}/.netbox-gate/callback/demo`], postLogoutRedirectUris: [`${lbUrl}/.netbox-gate/signed-out`] }],
    });
    yamlFor = (port) => config(port, lbUrl, idp.issuer, `http://127.0.0.1:${nbPort}`, redis.url);
    nb = await startNetboxForGateway(yamlFor(ports[0]!), env, nbPort);
    for (const p of ports) gws.push(await startGateway(() => yamlFor(p), env, p));
    lb = await startBalancer(ports.map((p) => `http://127.0.0.1:${p}`), lbPort);
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await Promise.allSettled(gws.map((g) => g.stop()));
    await lb?.close();
    await idp?.stop();
    await nb?.stop();
    await redis?.remove();
  });

  const signIn = async (page: Page, username: string, path = '/') => {
    await page.goto(lbUrl + path);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(username);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.origin === lbUrl, { timeout: 30_000 });
  };
  /** A NetBox page through the balancer: its status, and where the browser ended up. */
  const visit = async (page: Page, path: string) => {
    const r = await page.goto(lbUrl + path);
    return { status: r?.status(), url: new URL(page.url()) };
  };
  const refreshedLines = (user: string, marks: number[]) => gws.flatMap((g, i) => g.logs.slice(marks[i]).filter((l) => l.msg === 'session refreshed at the source' && l.user === user));

  it('alice signs in through the balancer and browses NetBox with her requests spread over all three replicas', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, 'alice', '/dcim/sites/');
    assert.equal(new URL(page.url()).pathname, '/dcim/sites/');
    const mark = lb.served.length;
    for (const path of ['/dcim/devices/', '/ipam/prefixes/', '/users/users/', '/dcim/racks/', '/circuits/circuits/', '/tenancy/tenants/']) {
      const r = await visit(page, path);
      assert.equal(r.status, 200, path);
      assert.equal(r.url.origin + r.url.pathname, lbUrl + path, 'stays signed in, no trip to the IdP');
    }
    assert.deepEqual([...new Set(lb.served.slice(mark))].sort(), [0, 1, 2], 'every replica answered');
    assert.equal((await netboxUser(nb, 'alice'))?.is_superuser, true);
    await ctx.close();
  });

  it('one replica is killed mid-session: the user stays signed in; it comes back and serves the same session', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, 'bob', '/');
    await gws[1]!.stop();
    try {
      for (const path of ['/dcim/sites/', '/dcim/devices/', '/ipam/vlans/', '/dcim/sites/?q=x']) {
        const r = await visit(page, path);
        assert.equal(r.url.origin, lbUrl, `${path}: not sent back to the IdP`);
        assert.notEqual(r.url.pathname, '/.netbox-gate/login');
        assert.ok(r.status === 200 || r.status === 403, `${path}: ${r.status}`); // bob may lack view permission: NetBox's own 403
      }
    } finally {
      gws[1] = await startGateway(() => yamlFor(ports[1]!), env, ports[1]!);
    }
    const r = await page.request.get(`${lbUrl}/dcim/sites/`, { headers: { [PIN_HEADER]: '1', Accept: 'text/html' }, maxRedirects: 0 });
    assert.notEqual(r.status(), 302, 'the restarted replica knows the session');
    await ctx.close();
  });

  it('a refresh due on two replicas at the same moment uses the refresh token once, and the session goes on', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, 'alice', '/');
    for (let round = 0; round < 2; round++) {
      await sleep(REFRESH_INTERVAL_MS + 300);
      const marks = gws.map((g) => g.logs.length);
      const answers = await Promise.all(
        ['0', '2'].map((pin) => page.request.get(`${lbUrl}/dcim/sites/`, { headers: { [PIN_HEADER]: pin, Accept: 'text/html' }, maxRedirects: 0 })),
      );
      assert.deepEqual(answers.map((a) => a.status()), [200, 200]);
      assert.equal(refreshedLines('alice', marks).length, 1, `round ${round}: one refresh at the IdP, not one per replica`);
    }
    // Had a replica replayed a used refresh token, the IdP would have revoked the grant and this
    // later refresh would fail and sign her out.
    await sleep(REFRESH_INTERVAL_MS + 300);
    const r = await visit(page, '/dcim/devices/');
    assert.equal(r.status, 200);
    assert.equal(r.url.origin + r.url.pathname, `${lbUrl}/dcim/devices/`);
    assert.ok(!gws.some((g) => g.logs.some((l) => l.msg === 'refresh rejected')), 'no refresh was refused');
    await ctx.close();
  });

  it('sessions revoke --user: the next request on either replica is signed out, and the NetBox session is ended at NetBox', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, 'bob', '/');
    for (let i = 0; i < 3; i++) await visit(page, '/dcim/sites/');
    // What the store holds for bob (read with the configured key, as the CLI does).
    const redisStore = createRedisStore({ url: redis.url, keyPrefix: 'netbox-gate:', connectTimeout: 2000, commandTimeout: 2000, logger: silentLogger });
    let held: string[];
    try {
      assert.equal(await redisStore.ready(), true);
      const store = createEncryptedStore(redisStore, { keys: [KEY], logger: silentLogger });
      held = (await findSessions(store, { user: 'bob' })).map((f) => f.s.netboxSession).filter((x): x is string => Boolean(x));
    } finally {
      await redisStore.close();
    }
    assert.ok(held.length > 0, 'the gateway holds a NetBox session for bob');
    const alive = async () => Number(await nb.python(`from django.contrib.sessions.models import Session\nprint(Session.objects.filter(session_key__in=${JSON.stringify(held)}).count())`));
    assert.equal(await alive(), held.length);

    const out = await run(process.execPath, [cliPath(), 'sessions', 'revoke', '--user', 'bob', '--config', gws[0]!.configFile], { env: { ...process.env, ...env } });
    assert.match(out.stdout, /revoked \S+ \(bob via demo, NetBox session ended\)/);
    assert.equal(await alive(), 0, 'NetBox ended its session');

    // The browser's cookie on each replica (the first answer clears it in the browser).
    const cookie = (await ctx.cookies(lbUrl)).find((c) => c.name === 'netbox_gate');
    assert.ok(cookie);
    for (const pin of ['0', '2']) {
      const r = await fetch(`${lbUrl}/dcim/sites/`, { headers: { Cookie: `netbox_gate=${cookie.value}`, [PIN_HEADER]: pin, Accept: 'text/html' }, redirect: 'manual' });
      assert.equal(r.status, 302, `replica ${pin}`);
      assert.match(r.headers.get('location') ?? '', /\/\.netbox-gate\/login/);
    }

    await ctx.close();
  });
});
