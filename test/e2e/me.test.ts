// End to end: "who am I" in Debian's Chromium through the real binary in front of a real
// NetBox 4.7, signed in through the demo OpenID provider. The page says what the policy gave
// alice and bob (and it matches what NetBox then holds), never a token or the session cookie;
// its sign-out button signs out; /ready goes 503 when NetBox stops.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startDemoIdp, type DemoIdp } from '../../demo/idp.js';
import { launchBrowser } from '../support/browser.js';
import { startGateway, startNetboxForGateway, type RunningGateway } from '../support/gateway.js';
import type { NetboxInstance } from '../support/netbox.js';
import { groupNames, netboxUser } from '../support/netbox-users.js';
import { freePort } from '../support/ports.js';

const SECRET = 'e2e-me-client-secret';

const gatewayConfig = (port: number, issuer: string, netboxUrl: string) => `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
netbox:
  url: ${netboxUrl}
sources:
  - kind: oidc
    id: demo
    displayName: Demo IdP
    issuer: ${issuer}
    clientId: netbox-gate
    clientSecret: \${env:DEMO_CLIENT_SECRET}
    insecureAllowHttpIssuer: true
    refreshInterval: 10m
policy:
  defaultGroups: [netbox-users]
  rules:
    - name: admins
      groups: [netbox-admins]
      superuser: true
    - name: engineers
      groups: [network-engineers]
      netboxGroups: [Network Engineers]
`;

async function signInInBrowser(page: Page, gatewayUrl: string, username: string): Promise<void> {
  await page.goto(gatewayUrl + '/');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(username);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((u) => u.origin === gatewayUrl, { timeout: 30_000 });
  await page.waitForLoadState('domcontentloaded');
}

const items = async (page: Page, sel: string) => (await page.locator(`${sel} li`).allTextContents()).map((s) => s.trim());

describe('/.netbox-gate/me in Chromium (real NetBox 4.7, demo IdP)', { timeout: 600_000 }, () => {
  let nb: NetboxInstance;
  let idp: DemoIdp;
  let gw: RunningGateway;
  let browser: Browser;
  let gwUrl: string;

  before(async () => {
    const gwPort = await freePort();
    gwUrl = `http://127.0.0.1:${gwPort}`;
    const nbPort = await freePort();
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
    const yaml = gatewayConfig(gwPort, idp.issuer, `http://127.0.0.1:${nbPort}`);
    nb = await startNetboxForGateway(yaml, { DEMO_CLIENT_SECRET: SECRET }, nbPort);
    const g = await nb.api('POST', '/api/users/groups/', { name: 'Network Engineers' });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    gw = await startGateway(() => yaml, { DEMO_CLIENT_SECRET: SECRET }, gwPort);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await gw?.stop();
    await idp?.stop();
    await nb?.stop();
  });

  it('shows alice as superuser with the admins rule in the trace, as NetBox has her', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signInInBrowser(page, gwUrl, 'alice');
    const r = await page.goto(`${gwUrl}/.netbox-gate/me`);
    assert.equal(r?.status(), 200);
    assert.equal(await page.locator('h1').textContent(), 'Signed in as alice');
    assert.match((await page.locator('#me-source').textContent()) ?? '', /Demo IdP \(demo, oidc\)/);
    assert.equal(await page.locator('#me-superuser').textContent(), 'yes');
    assert.deepEqual(await items(page, '#me-netbox-groups'), ['netbox-users']);
    assert.deepEqual(await items(page, '#me-source-groups'), ['netbox-admins', 'staff']);
    const trace = (await page.locator('#me-trace').textContent()) ?? '';
    assert.match(trace, /admins \(allow\) gives superuser/);
    assert.match(trace, /because group .*netbox-admins/);
    assert.doesNotMatch(trace, /engineers/);
    assert.match((await page.locator('#me-refresh').textContent()) ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in (9|10) min\)$/);
    // What the page says is what NetBox holds (she visited NetBox's home page first).
    const u = await netboxUser(nb, 'alice');
    assert.equal(u?.is_superuser, true);
    // Neither the gateway cookie nor any token is on the page.
    const html = await page.content();
    const cookie = (await ctx.cookies(gwUrl)).find((c) => c.name === 'netbox_gate');
    assert.ok(cookie && cookie.value.length > 20);
    assert.ok(!html.includes(cookie.value), 'the session cookie value is on the page');
    assert.doesNotMatch(html, /eyJ[A-Za-z0-9_-]{10,}\./, 'a JWT is on the page');
    assert.doesNotMatch(html, /refresh_token|access_token|id_token/i);
    await ctx.close();
  });

  it('shows bob his mapped group and no superuser; JSON for the same session says the same', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await signInInBrowser(page, gwUrl, 'bob');
    await page.goto(`${gwUrl}/.netbox-gate/me`);
    assert.equal(await page.locator('#me-superuser').textContent(), 'no');
    assert.deepEqual(await items(page, '#me-netbox-groups'), ['Network Engineers', 'netbox-users']);
    assert.deepEqual(await items(page, '#me-source-groups'), ['network-engineers']);
    const trace = (await page.locator('#me-trace').textContent()) ?? '';
    assert.match(trace, /engineers \(allow\) gives group .Network Engineers./);
    assert.doesNotMatch(trace, /admins/);
    // The browser context's own cookies (the gateway pages' CSP forbids fetch() from the page).
    const json = (await (await ctx.request.get(`${gwUrl}/.netbox-gate/me`, { headers: { Accept: 'application/json' }, maxRedirects: 0 })).json()) as {
      user: { username: string; email?: string };
      netbox: { groups: string[]; superuser: boolean };
    };
    assert.equal(json.user.username, 'bob');
    assert.equal(json.user.email, 'bob@example.org');
    assert.deepEqual(json.netbox, { groups: ['Network Engineers', 'netbox-users'], superuser: false, staff: false });
    const u = await netboxUser(nb, 'bob');
    assert.deepEqual(groupNames(u), ['Network Engineers', 'netbox-users']);

    // The sign-out button signs out (through the IdP's end-session), and /me then asks to sign in.
    await page.getByRole('link', { name: 'Sign out' }).click();
    await page.waitForURL((url) => url.href.startsWith(`${gwUrl}/.netbox-gate/signed-out`), { timeout: 30_000 });
    const api = await ctx.request.get(`${gwUrl}/.netbox-gate/me`, { headers: { Accept: 'application/json' }, maxRedirects: 0 });
    assert.equal(api.status(), 401);
    const again = await page.goto(`${gwUrl}/.netbox-gate/me`);
    assert.notEqual(new URL(page.url()).pathname, '/.netbox-gate/me', `still on /me (${again?.status()})`);
    await ctx.close();
  });

  it('/ready is 200 with NetBox up and 503 naming NetBox once it stops; /health stays 200', async () => {
    assert.equal((await fetch(`${gwUrl}/.netbox-gate/ready`)).status, 200);
    await nb.stop();
    const r = await fetch(`${gwUrl}/.netbox-gate/ready`);
    assert.equal(r.status, 503);
    const b = (await r.json()) as { netbox: { ok: boolean; error?: string }; store: { ok: boolean } };
    assert.equal(b.netbox.ok, false);
    assert.equal(b.store.ok, true);
    assert.equal((await fetch(`${gwUrl}/.netbox-gate/health`)).status, 200);
  });
});
