// End to end: Debian's Chromium -> netbox-gate (the real binary) -> a real NetBox 4.7 on
// PostgreSQL + Redis, signing in through the demo OpenID provider (oidc-provider).
// NetBox's remote-auth settings come from `netbox-gate netbox-config` for the same config.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startDemoIdp, type DemoIdp } from '../../demo/idp.js';
import { launchBrowser } from '../support/browser.js';
import { startGateway, startNetboxForGateway, type RunningGateway } from '../support/gateway.js';
import { CookieClient, signInThroughDemoIdp } from '../support/http-client.js';
import type { NetboxInstance } from '../support/netbox.js';
import { groupNames, MANAGED_MARKER, netboxUser } from '../support/netbox-users.js';
import { freePort } from '../support/ports.js';

const SECRET = 'e2e-client-secret';

function gatewayConfig(o: { port: number; issuer: string; netboxUrl: string; aliceIsSuperuser: boolean }): string {
  return `# e2e config
server:
  listen: 127.0.0.1:${o.port}
  publicUrl: http://127.0.0.1:${o.port}
netbox:
  url: ${o.netboxUrl}
sources:
  - kind: oidc
    id: demo
    displayName: Demo IdP
    issuer: ${o.issuer}
    clientId: netbox-gate
    clientSecret: \${env:DEMO_CLIENT_SECRET}
    insecureAllowHttpIssuer: true
    refreshInterval: 2s
policy:
  defaultGroups: [netbox-users]
  rules:
${
  o.aliceIsSuperuser
    ? `    - name: admins
      groups: [netbox-admins]
      superuser: true
`
    : `    - name: admins
      groups: [netbox-admins]
`
}    - name: engineers
      groups: [network-engineers]
      netboxGroups: [Network Engineers]
    - name: auditors
      groups: [auditors]
      netboxGroups: [Auditors]
    - name: no-contractors
      effect: deny
      groups: [contractors]
`;
}




async function signInInBrowser(page: Page, gatewayUrl: string, username: string, path = '/'): Promise<void> {
  await page.goto(gatewayUrl + path);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(username);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.origin === gatewayUrl, { timeout: 30_000 });
  await page.waitForLoadState('domcontentloaded');
}

describe('netbox-gate in front of a real NetBox 4.7 (Chromium, oidc-provider)', { timeout: 600_000 }, () => {
  let nb: NetboxInstance;
  let idp: DemoIdp;
  let gw: RunningGateway;
  let browser: Browser;
  let gwUrl: string;
  let gwPort: number;
  let netboxUrl: string;

  before(async () => {
    gwPort = await freePort();
    gwUrl = `http://127.0.0.1:${gwPort}`;
    const nbPort = await freePort();
    netboxUrl = `http://127.0.0.1:${nbPort}`;
    idp = await startDemoIdp({
      clients: [
        {
          clientId: 'netbox-gate',
          clientSecret: SECRET,
          redirectUris: [`${gwUrl}/.netbox-gate/callback/demo`],
          postLogoutRedirectUris: [`${gwUrl}/.netbox-gate/signed-out`],
        },
      ],
    });
    const yaml = gatewayConfig({ port: gwPort, issuer: idp.issuer, netboxUrl, aliceIsSuperuser: true });
    // NetBox is configured with exactly what our own `netbox-config` prints.
    nb = await startNetboxForGateway(yaml, { DEMO_CLIENT_SECRET: SECRET }, nbPort);
    // bob's mapped group may view sites, nothing else.
    const g = await nb.api('POST', '/api/users/groups/', { name: 'Network Engineers' });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    const p = await nb.api('POST', '/api/users/permissions/', {
      name: 'engineers-view-sites',
      object_types: ['dcim.site'],
      actions: ['view'],
      groups: [(g.body as { id: number }).id],
    });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    gw = await startGateway(() => yaml, { DEMO_CLIENT_SECRET: SECRET }, gwPort);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await gw?.stop();
    await idp?.stop();
    await nb?.stop();
  });

  it('alice (IdP group mapped to superuser) signs in in the browser and is a NetBox superuser', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signInInBrowser(page, gwUrl, 'alice');
    const u = await netboxUser(nb, 'alice');
    assert.equal(u?.is_superuser, true);
    assert.deepEqual(groupNames(u), ['netbox-gate-superusers', 'netbox-users']);
    // A superuser-only page renders for her.
    const r = await page.goto(`${gwUrl}/users/users/`);
    assert.equal(r?.status(), 200);
    await ctx.close();
  });

  it('bob gets exactly his mapped group and what its permission allows', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signInInBrowser(page, gwUrl, 'bob', '/dcim/sites/');
    assert.equal(new URL(page.url()).pathname, '/dcim/sites/');
    const u = await netboxUser(nb, 'bob');
    assert.equal(u?.is_superuser, false);
    assert.deepEqual(groupNames(u), ['Network Engineers', 'netbox-users']);
    assert.ok(u?.groups.some((g) => g.name === MANAGED_MARKER), 'NetBox records that bob arrived through the gateway (netbox.managedGroup)');
    const sites = await page.goto(`${gwUrl}/dcim/sites/`);
    assert.equal(sites?.status(), 200);
    const devices = await page.goto(`${gwUrl}/dcim/devices/`);
    assert.equal(devices?.status(), 403);
    await ctx.close();
  });

  it('carol (no allowed group) gets a clear refusal and NetBox never sees her', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(gwUrl + '/');
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill('carol');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Access denied' }).waitFor({ timeout: 30_000 });
    assert.match(await page.textContent('body') ?? '', /carol is not allowed to use NetBox/);
    assert.equal(await netboxUser(nb, 'carol'), undefined);
    await ctx.close();
  });

  it('group changes at the IdP reach NetBox at the next refresh; a policy reload removes superuser without new sign-in', async () => {
    const bobCtx = await browser.newContext();
    const bob = await bobCtx.newPage();
    await signInInBrowser(bob, gwUrl, 'bob');
    const aliceCtx = await browser.newContext();
    const alice = await aliceCtx.newPage();
    await signInInBrowser(alice, gwUrl, 'alice');
    assert.equal((await netboxUser(nb, 'alice'))?.is_superuser, true);

    idp.setGroups('bob', ['network-engineers', 'auditors']);
    try {
      await new Promise((r) => setTimeout(r, 2500));
      await bob.goto(`${gwUrl}/dcim/sites/`);
      assert.deepEqual(groupNames(await netboxUser(nb, 'bob')), ['Auditors', 'Network Engineers', 'netbox-users']);
    } finally {
      idp.setGroups('bob', ['network-engineers']);
    }

    const reloaded = await gw.reload(gatewayConfig({ port: gwPort, issuer: idp.issuer, netboxUrl, aliceIsSuperuser: false }));
    assert.equal(reloaded, 'reloaded');
    const res = await alice.goto(`${gwUrl}/users/users/`);
    assert.equal(res?.status(), 403, 'her next request is no longer a superuser request');
    const u = await netboxUser(nb, 'alice');
    assert.equal(u?.is_superuser, false);
    assert.deepEqual(groupNames(u), ['netbox-users']);

    // An invalid config is refused and the running one stays.
    assert.equal(await gw.reload('server: [broken'), 'refused');
    assert.equal((await alice.goto(`${gwUrl}/user/profile/`))?.status(), 200);
    await gw.reload(gatewayConfig({ port: gwPort, issuer: idp.issuer, netboxUrl, aliceIsSuperuser: true }));
    await bobCtx.close();
    await aliceCtx.close();
  });

  it('sign-out ends the NetBox session: the old NetBox session cookie is anonymous afterwards', async () => {
    const u = await netboxUser(nb, 'bob');
    const sessionsOfBob = async () =>
      (
        await nb.python(`
from django.contrib.sessions.models import Session
from django.utils import timezone
for s in Session.objects.filter(expire_date__gt=timezone.now()):
    if str(s.get_decoded().get('_auth_user_id')) == '${u!.id}':
        print(s.session_key)
`)
      )
        .trim()
        .split('\n')
        .filter(Boolean);
    const earlier = new Set(await sessionsOfBob());
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signInInBrowser(page, gwUrl, 'bob');
    // The NetBox session the gateway holds for this sign-in (the browser never sees it).
    const keys = (await sessionsOfBob()).filter((k) => !earlier.has(k));
    assert.ok(keys.length >= 1, 'bob has a NetBox session while signed in');
    assert.ok(!(await ctx.cookies()).some((c) => c.name === 'sessionid'), 'the browser holds no NetBox session cookie');

    await page.goto(`${gwUrl}/logout/`);
    await page.waitForURL((url) => url.href.startsWith(`${gwUrl}/.netbox-gate/signed-out`), { timeout: 30_000 });
    await page.getByRole('heading', { name: 'Signed out' }).waitFor();

    for (const key of keys) {
      // Through the gateway: not NetBox content, a sign-in redirect.
      const viaGw = await fetch(`${gwUrl}/dcim/sites/`, { headers: { Cookie: `sessionid=${key}`, Accept: 'text/html' }, redirect: 'manual' });
      assert.equal(viaGw.status, 302);
      assert.match(viaGw.headers.get('location') ?? '', /^\/\.netbox-gate\/login/);
      // Straight at NetBox: the session is gone there too.
      const direct = await fetch(`${netboxUrl}/dcim/sites/`, { headers: { Cookie: `sessionid=${key}` }, redirect: 'manual' });
      assert.equal(direct.status, 302);
      assert.match(direct.headers.get('location') ?? '', /\/login\//);
    }
    // And the browser itself is signed out.
    await page.goto(`${gwUrl}/dcim/sites/`);
    assert.ok(page.url().startsWith(idp.issuer) || page.url().includes('/.netbox-gate/login'), page.url());
    await ctx.close();
  });

  it('API tokens pass through for GET and POST and act as the token user', async () => {
    for (const authorization of [nb.adminAuthorization, nb.adminAuthorizationV1]) {
      const slug = `gw-${Math.random().toString(36).slice(2, 8)}`;
      const post = await fetch(`${gwUrl}/api/dcim/sites/`, {
        method: 'POST',
        headers: { Authorization: authorization, 'Content-Type': 'application/json', Accept: 'application/json', 'X-Remote-User': 'mallory' },
        body: JSON.stringify({ name: slug, slug }),
      });
      assert.equal(post.status, 201, await post.clone().text());
      const id = ((await post.json()) as { id: number }).id;
      const get = await fetch(`${gwUrl}/api/dcim/sites/${id}/`, { headers: { Authorization: authorization, Accept: 'application/json' } });
      assert.equal(get.status, 200);
      const changes = await nb.api('GET', `/api/core/object-changes/?changed_object_id=${id}&changed_object_type=dcim.site`);
      const entries = (changes.body as { results: Array<{ user_name: string }> }).results;
      assert.ok(entries.length >= 1);
      assert.ok(entries.every((e) => e.user_name === 'admin'), JSON.stringify(entries));
    }
    assert.equal(await netboxUser(nb, 'mallory'), undefined);
  });

  it('spoofed identity headers never make NetBox see the spoofed user', async () => {
    const variants = ['X-Remote-User', 'x-remote-user', 'X_REMOTE_USER', 'x_Remote_User', 'Remote-User', 'REMOTE_USER'];
    const groupVariants = ['X-Remote-User-Groups', 'x_remote_user_groups', 'Remote-User-Group'];
    const spoof = (user: string): Array<[string, string]> => [
      ...variants.map((n) => [n, user] as [string, string]),
      ...variants.map((n) => [n, `${user}2`] as [string, string]), // repeated headers
      ...groupVariants.map((n) => [n, 'netbox-gate-superusers'] as [string, string]),
    ];
    // Not signed in at all.
    const anon = await rawGet(gwPort, '/dcim/sites/', spoof('eve'));
    assert.equal(anon.status, 302);
    assert.equal(await netboxUser(nb, 'eve'), undefined);
    // Signed in as bob, claiming to be alice and a superuser.
    const c = new CookieClient();
    await signInThroughDemoIdp(c, gwUrl, 'bob', 'bob');
    const cookie = [...c.cookies(gwUrl)].map(([k, v]) => `${k}=${v}`).join('; ');
    const r = await rawGet(gwPort, '/user/profile/', [['Cookie', cookie], ...spoof('alice')]);
    assert.equal(r.status, 200);
    assert.match(r.body, /bob/);
    const dev = await rawGet(gwPort, '/dcim/devices/', [['Cookie', cookie], ...spoof('alice')]);
    assert.equal(dev.status, 403, 'still bob: no superuser rights');
    assert.equal((await netboxUser(nb, 'bob'))?.is_superuser, false);
  });

  it('open-redirect attempts on the return-to URL stay on the gateway origin (browser)', async () => {
    const ctx: BrowserContext = await browser.newContext();
    const page = await ctx.newPage();
    for (const evil of ['//evil.example/', '/\\evil.example/', 'https://evil.example/', '/%2F%2Fevil.example/']) {
      await page.goto(`${gwUrl}/.netbox-gate/login?next=${encodeURIComponent(evil)}`);
      if (page.url().startsWith(idp.issuer)) {
        await page.getByLabel('Username').fill('bob');
        await page.getByLabel('Password').fill('bob');
        await page.getByRole('button', { name: 'Sign in' }).click();
      }
      await page.waitForURL((u) => u.origin === gwUrl, { timeout: 30_000 });
      assert.equal(new URL(page.url()).origin, gwUrl, evil);
    }
    await ctx.close();
  });

  it('open-redirect with dot segments stays on the gateway origin, after sign-in and from NetBox\'s /login/?next=', async () => {
    const ctx: BrowserContext = await browser.newContext();
    const page = await ctx.newPage();
    await signInInBrowser(page, gwUrl, 'bob', '/..//evil.example/');
    assert.equal(new URL(page.url()).origin, gwUrl);
    for (const evil of ['/..//evil.example', '/x/..//evil.example', '/.%2e/%2e%2e//evil.example']) {
      const res = await page.goto(`${gwUrl}/login/?next=${encodeURIComponent(evil)}`);
      assert.equal(new URL(page.url()).origin, gwUrl, evil);
      assert.ok(res, evil);
    }
    await ctx.close();
  });

  it('a user deactivated in NetBox gets a clear page instead of a redirect loop; reactivated, NetBox works again', async () => {
    const ctx: BrowserContext = await browser.newContext();
    const page = await ctx.newPage();
    await signInInBrowser(page, gwUrl, 'bob', '/dcim/sites/');
    assert.equal(new URL(page.url()).pathname, '/dcim/sites/');
    const bob = await netboxUser(nb, 'bob');
    assert.ok(bob);
    // Through Django: NetBox 4.7's REST API refuses a PATCH of a remote-auth user that has no
    // password ("password: This field cannot be blank").
    const setActive = (on: boolean) => nb.python(`from users.models import User\nprint(User.objects.filter(username='bob').update(is_active=${on ? 'True' : 'False'}))`);
    assert.equal((await setActive(false)).trim(), '1');
    try {
      const res = await page.goto(`${gwUrl}/dcim/sites/`);
      assert.equal(res?.status(), 403);
      assert.match((await page.textContent('body')) ?? '', /disabled in NetBox/);
      // NetBox's own login link for a signed-in user ends at the same page, not in a loop.
      const again = await page.goto(`${gwUrl}/login/?next=/dcim/sites/`);
      assert.equal(again?.status(), 403);
      assert.ok(gw.logs.some((l) => l.audit === 'netbox_refused' && l.user === 'bob'));
    } finally {
      assert.equal((await setActive(true)).trim(), '1');
    }
    const back = await page.goto(`${gwUrl}/dcim/sites/`);
    assert.equal(back?.status(), 200);
    await ctx.close();
  });
});

function rawGet(port: number, path: string, headers: Array<[string, string]>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method: 'GET', path, headers: [['Host', `127.0.0.1:${port}`], ['Accept', 'text/html'], ...headers].flat() as unknown as http.OutgoingHttpHeaders },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
