// End to end with a real Keycloak 26: Chromium -> netbox-gate (preset: keycloak) -> a real NetBox,
// replacing the seed's sso_pipeline.set_superuser with policy rules; and the missing Audience mapper.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { startGateway, startNetboxForGateway, type RunningGateway } from '../support/gateway.js';
import { CLIENTS, startKeycloak, USERS, type Keycloak } from '../support/keycloak.js';
import type { NetboxInstance } from '../support/netbox.js';
import { netboxUser } from '../support/netbox-users.js';
import { freePort } from '../support/ports.js';

function gatewayConfig(o: { port: number; keycloakUrl: string; netboxUrl: string }): string {
  return `server:
  listen: 127.0.0.1:${o.port}
  publicUrl: http://127.0.0.1:${o.port}
netbox:
  url: ${o.netboxUrl}
sources:
  - kind: oidc
    id: keycloak
    displayName: Keycloak
    preset: keycloak
    keycloak:
      url: ${o.keycloakUrl}
      realm: netbox
    clientId: ${CLIENTS.fullpath.clientId}
    clientSecret: \${env:KC_SECRET}
    insecureAllowHttpIssuer: true
  - kind: oidc
    id: keycloak-noaud
    displayName: Keycloak (no audience mapper)
    preset: keycloak
    keycloak:
      url: ${o.keycloakUrl}
      realm: netbox
    clientId: ${CLIENTS.noaud.clientId}
    clientSecret: \${env:KC_NOAUD_SECRET}
    insecureAllowHttpIssuer: true
policy:
  rules:
    # sso_pipeline.set_superuser, as rules: administrator -> superuser; developer (and its subgroups) -> Developers.
    - name: administrators
      groups: [administrator]
      superuser: true
    - name: developers
      groups: [developer, { glob: "developer/*" }]
      netboxGroups: [Developers]
    # A Keycloak realm role, read from the verified access token.
    - name: realm operators
      effect: grant
      claims: { realm_access.roles: netbox-operator }
      netboxGroups: [Operators]
`;
}



async function keycloakLogin(page: Page, kc: Keycloak, user: { username: string; password: string }): Promise<void> {
  await page.waitForURL((u) => u.href.startsWith(kc.issuer), { timeout: 30_000 });
  await page.fill('#username', user.username);
  await page.fill('#password', user.password);
  await page.click('#kc-login');
}

/** Past the callback, on a NetBox page: NetBox creates the user at the first proxied request. */
async function landOnNetbox(page: Page, gwUrl: string): Promise<void> {
  try {
    await page.waitForURL((u) => u.origin === gwUrl && !u.pathname.startsWith('/.netbox-gate/'), { timeout: 30_000 });
  } catch (err) {
    throw new Error(`sign-in did not reach NetBox; at ${page.url()}: ${(await page.textContent('body'))?.slice(0, 500)}`, { cause: err });
  }
  await page.waitForLoadState('domcontentloaded');
}

describe('netbox-gate with a real Keycloak in front of a real NetBox (Chromium)', { timeout: 900_000 }, () => {
  let kc: Keycloak;
  let nb: NetboxInstance;
  let gw: RunningGateway;
  let browser: Browser;
  let gwUrl: string;
  const env = { KC_SECRET: CLIENTS.fullpath.secret, KC_NOAUD_SECRET: CLIENTS.noaud.secret };

  before(async () => {
    const gwPort = await freePort();
    gwUrl = `http://127.0.0.1:${gwPort}`;
    const nbPort = await freePort();
    kc = await startKeycloak();
    const yaml = gatewayConfig({ port: gwPort, keycloakUrl: kc.url, netboxUrl: `http://127.0.0.1:${nbPort}` });
    // NetBox is configured with exactly what our own `netbox-config` prints.
    nb = await startNetboxForGateway(yaml, env, nbPort);
    gw = await startGateway(() => yaml, env, gwPort);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await gw?.stop();
    await nb?.stop();
    await kc?.stop();
  });

  it('admin-user (Keycloak group administrator, realm role netbox-operator) becomes a NetBox superuser', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${gwUrl}/.netbox-gate/login/keycloak`);
    await keycloakLogin(page, kc, USERS.admin);
    await landOnNetbox(page, gwUrl);
    const u = await netboxUser(nb, 'admin-user');
    assert.equal(u?.is_superuser, true);
    assert.deepEqual(u?.groups.map((g) => g.name).sort(), ['Operators', 'netbox-gate-managed', 'netbox-gate-superusers']);
    assert.equal(u?.email, USERS.admin.email);
    assert.equal(u?.first_name, 'Ada');
    assert.equal(u?.last_name, 'Admin');
    assert.equal((await page.goto(`${gwUrl}/users/users/`))?.status(), 200);
    await ctx.close();
  });

  it('nested-user (subgroup /developer/backend) gets the developer mapping and no superuser', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${gwUrl}/.netbox-gate/login/keycloak`);
    await keycloakLogin(page, kc, USERS.nested);
    await landOnNetbox(page, gwUrl);
    const u = await netboxUser(nb, 'nested-user');
    assert.equal(u?.is_superuser, false);
    assert.deepEqual(u?.groups.map((g) => g.name).sort(), ['Developers', 'netbox-gate-managed']);
    assert.equal((await page.goto(`${gwUrl}/users/users/`))?.status(), 403);
    await ctx.close();
  });

  it('a client without the Audience mapper gets a page naming the mapper, and NetBox never sees the user', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${gwUrl}/.netbox-gate/login/keycloak-noaud`);
    await keycloakLogin(page, kc, USERS.dev);
    await page.getByRole('heading', { name: 'Sign-in failed' }).waitFor({ timeout: 30_000 });
    const body = (await page.textContent('body')) ?? '';
    assert.match(body, /misconfigured/);
    assert.match(body, /Add an Audience mapper: Clients → netbox-noaud → Client scopes → netbox-noaud-dedicated → Add mapper/);
    assert.match(body, /Included Client Audience = netbox-noaud/);
    assert.equal(await netboxUser(nb, 'dev-user'), undefined);
    await ctx.close();
  });
});
