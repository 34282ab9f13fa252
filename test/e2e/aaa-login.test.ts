// End to end: Debian's Chromium -> netbox-gate (the real binary) -> a real NetBox 4.7, signing in
// through the gateway's own login form against FreeRADIUS 3, a TACACS+ server (tacquito) and OpenLDAP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page, Response } from 'playwright-core';
import { launchBrowser } from '../support/browser.js';
import { startFreeRadius, USERS as RADIUS_USERS, type FreeRadius } from '../support/freeradius.js';
import { startGateway, startNetboxForGateway, type RunningGateway } from '../support/gateway.js';
import type { NetboxInstance } from '../support/netbox.js';
import { groupNames, netboxUser } from '../support/netbox-users.js';
import { freePort } from '../support/ports.js';
import { SERVICE_DN, SERVICE_PW, startSlapd, SUFFIX, type Slapd } from '../support/slapd.js';
import { startTacacsServer, type RunningTacacsServer } from '../support/tacacs.js';

const TACACS_SECRET = 'e2e-tacacs-secret';
/** Short, so the test can show the lock-out ending; long enough for four form posts. */
const USER_WINDOW_S = 4;

/** EfficientIP's VSAs (vendor 2440) as FreeRADIUS's dictionary.efficientip names them. */
const EFFICIENTIP_VSAS = { firstName: ['EfficientIP-First-Name', 16], lastName: ['EfficientIP-Last-Name', 17], email: ['EfficientIP-Email', 20] } as const;

const RITA_PW = 'rita-pw';
// Filter-Id "netbox-viewer" -> "Viewers"; the profile comes in vendor-specific attributes, and
// "Zoë" checks that a UTF-8 name survives RADIUS, the gateway's headers and NetBox.
const RADIUS_EXTRA_USERS = `rita Cleartext-Password := "${RITA_PW}"
	Filter-Id := "netbox-viewer",
	EfficientIP-First-Name := "Zoë",
	EfficientIP-Last-Name := "Radius",
	EfficientIP-Email := "rita@example.net"
`;

const LENA_PW = 'lena-pw';
// lena is only in noc-oncall, which is itself a member of netbox-operators: the policy's group
// reaches her only through the nesting.
const LDAP_ADDITIONS = `dn: uid=lena,ou=people,${SUFFIX}
changetype: add
objectClass: inetOrgPerson
uid: lena
cn: Lena Lindqvist
givenName: Lena
sn: Lindqvist
mail: lena@example.org
userPassword: ${LENA_PW}

dn: cn=noc-oncall,ou=groups,${SUFFIX}
changetype: add
objectClass: groupOfNames
cn: noc-oncall
member: uid=lena,ou=people,${SUFFIX}

dn: cn=netbox-operators,ou=groups,${SUFFIX}
changetype: add
objectClass: groupOfNames
cn: netbox-operators
member: cn=noc-oncall,ou=groups,${SUFFIX}
`;

const TACACS_USERS = {
  // priv-lvl 15 -> group tacacs-priv-15 -> "Network Admins"; the profile pairs fill NetBox's fields.
  nora: { password: 'nora-pw', args: ['priv-lvl=15', 'role=noc', 'givenName=Nora', 'sn=Netops', 'mail=nora@example.net'] },
  // priv-lvl 1 -> "Network Operators": one for the rate-limit scenario, one for the keyboard one.
  erin: { password: 'erin-pw', args: ['priv-lvl=1'] },
  kim: { password: 'kim-pw', args: ['priv-lvl=1'] },
};

function gatewayConfig(o: { port: number; netboxUrl: string; radiusPort: number; tacacsAddress: string; ldapUrl: string; ldapCaFile: string }): string {
  const vsa = (k: keyof typeof EFFICIENTIP_VSAS) => `{ vendorId: 2440, type: ${EFFICIENTIP_VSAS[k][1]}, name: ${EFFICIENTIP_VSAS[k][0]} }`;
  return `# e2e: RADIUS, TACACS+ and LDAP through the login form
server:
  listen: 127.0.0.1:${o.port}
  publicUrl: http://127.0.0.1:${o.port}
netbox:
  url: ${o.netboxUrl}
signIn:
  rateLimit:
    perUser: { attempts: 3, window: ${USER_WINDOW_S}s }
    perAddress: { attempts: 1000, window: 5m }
sources:
  - kind: radius
    id: radius
    displayName: Network RADIUS
    servers: [127.0.0.1:${o.radiusPort}]
    secret: \${env:E2E_RADIUS_SECRET}
    timeout: 2s
    retries: 0
    dictionary: [${vsa('firstName')}, ${vsa('lastName')}, ${vsa('email')}]
    profile: { firstName: ${EFFICIENTIP_VSAS.firstName[0]}, lastName: ${EFFICIENTIP_VSAS.lastName[0]}, email: ${EFFICIENTIP_VSAS.email[0]} }
  - kind: tacacs
    id: tacacs
    displayName: Network TACACS+
    servers: [${o.tacacsAddress}]
    secret: \${env:E2E_TACACS_SECRET}
    timeout: 3s
    profile: { firstName: givenName, lastName: sn, email: mail }
  - kind: ldap
    id: ldap
    displayName: Corporate LDAP
    urls: [${o.ldapUrl}]
    startTls: true
    tls:
      caFile: ${o.ldapCaFile}
    bindDn: ${SERVICE_DN}
    bindPassword: \${env:E2E_LDAP_BIND_PASSWORD}
    userSearch:
      base: ou=people,${SUFFIX}
      filter: (&(objectClass=inetOrgPerson)(uid={username}))
    # The gateway walks the nesting itself (member of a member), bounded and cycle-safe.
    groups:
      memberOf: false
      search:
        base: ou=groups,${SUFFIX}
      nested: recursive
    timeout: 3s
policy:
  rules:
    - name: radius-admins
      sources: radius
      groups: netbox-admin
      superuser: true
    - name: radius-viewers
      sources: radius
      groups: netbox-viewer
      netboxGroups: Viewers
    - name: tacacs-admins
      sources: tacacs
      groups: tacacs-priv-15
      netboxGroups: Network Admins
    - name: tacacs-operators
      sources: tacacs
      groups: tacacs-priv-1
      netboxGroups: Network Operators
    - name: ldap-operators
      sources: ldap
      groups: netbox-operators
      netboxGroups: LDAP Operators
`;
}

const isLoginPost = (r: Response) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/.netbox-gate/login';

/** Picks the source, fills the form and clicks "Sign in"; returns the response to the POST. */
async function submitForm(page: Page, gwUrl: string, o: { source: string; username: string; password: string }): Promise<Response> {
  if (!new URL(page.url()).pathname.startsWith('/.netbox-gate/login')) await page.goto(`${gwUrl}/.netbox-gate/login`);
  await page.getByRole('radio', { name: o.source }).check();
  await page.getByLabel('Username').fill(o.username);
  await page.getByLabel('Password').fill(o.password);
  const [resp] = await Promise.all([page.waitForResponse(isLoginPost), page.getByRole('button', { name: 'Sign in' }).click()]);
  await page.waitForLoadState('domcontentloaded');
  return resp;
}

/** After a successful POST the gateway redirects off its own pages, into NetBox. */
async function landedInNetbox(page: Page, gwUrl: string): Promise<void> {
  await page.waitForURL((u) => u.origin === gwUrl && !u.pathname.startsWith('/.netbox-gate/'), { timeout: 30_000 });
  await page.waitForLoadState('domcontentloaded');
}

const focusedId = (page: Page) => page.locator(':focus').getAttribute('id');

async function alertText(page: Page): Promise<string> {
  return ((await page.getByRole('alert').textContent()) ?? '').trim();
}

describe('RADIUS, TACACS+ and LDAP sign-in through the login form to a real NetBox 4.7 (Chromium)', { timeout: 600_000 }, () => {
  let nb: NetboxInstance;
  let radius: FreeRadius;
  let tacacs: RunningTacacsServer;
  let slapd: Slapd;
  let gw: RunningGateway;
  let browser: Browser;
  let gwUrl: string;

  before(async () => {
    radius = await startFreeRadius({ extraUsers: RADIUS_EXTRA_USERS });
    tacacs = await startTacacsServer({ secret: TACACS_SECRET, users: TACACS_USERS });
    slapd = await startSlapd();
    await slapd.modify(LDAP_ADDITIONS);
    const gwPort = await freePort();
    gwUrl = `http://127.0.0.1:${gwPort}`;
    const nbPort = await freePort();
    const yaml = gatewayConfig({ port: gwPort, netboxUrl: `http://127.0.0.1:${nbPort}`, radiusPort: radius.authPort, tacacsAddress: tacacs.address, ldapUrl: slapd.ldapUrl, ldapCaFile: slapd.caFile });
    const env = { E2E_RADIUS_SECRET: radius.secret, E2E_TACACS_SECRET: TACACS_SECRET, E2E_LDAP_BIND_PASSWORD: SERVICE_PW };
    // NetBox is configured with exactly what our own `netbox-config` prints.
    nb = await startNetboxForGateway(yaml, env, nbPort);
    gw = await startGateway(() => yaml, env, gwPort);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    await gw?.stop();
    await tacacs?.stop();
    await radius?.stop();
    await slapd?.stop();
    await nb?.stop();
  });

  it('the form lists the three password sources in a "Sign in against" radio group', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const r = await page.goto(`${gwUrl}/dcim/sites/`);
    assert.equal(new URL(page.url()).pathname, '/.netbox-gate/login');
    assert.equal(r?.status(), 200);
    const group = page.getByRole('group', { name: 'Sign in against' });
    assert.deepEqual(await group.getByRole('radio').evaluateAll((els) => els.map((e) => (e.parentElement?.textContent ?? '').trim())), ['Network RADIUS', 'Network TACACS+', 'Corporate LDAP']);
    assert.equal(await page.getByRole('radio', { name: 'Network RADIUS' }).isChecked(), true);
    await ctx.close();
  });

  it('RADIUS: alice (Access-Accept Class "netbox-admin", mapped to superuser) becomes a NetBox superuser', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${gwUrl}/dcim/sites/`);
    const resp = await submitForm(page, gwUrl, { source: 'Network RADIUS', username: 'alice', password: RADIUS_USERS.alice });
    assert.equal(resp.status(), 302);
    await landedInNetbox(page, gwUrl);
    assert.equal(new URL(page.url()).pathname, '/dcim/sites/', 'back where she started');
    const u = await netboxUser(nb, 'alice');
    assert.equal(u?.is_superuser, true);
    // Only what the policy names: her AV pair role "network-operator" is not a NetBox group.
    assert.deepEqual(groupNames(u), ['netbox-gate-superusers']);
    assert.equal((await page.goto(`${gwUrl}/users/users/`))?.status(), 200, 'a superuser-only page renders');
    await ctx.close();
  });

  it('TACACS+: nora (priv-lvl=15 -> tacacs-priv-15) lands in "Network Admins" with her profile, not as superuser', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const resp = await submitForm(page, gwUrl, { source: 'Network TACACS+', username: 'nora', password: TACACS_USERS.nora.password });
    assert.equal(resp.status(), 302);
    await landedInNetbox(page, gwUrl);
    const u = await netboxUser(nb, 'nora');
    assert.ok(u, 'NetBox created nora');
    assert.equal(u.is_superuser, false);
    assert.deepEqual(groupNames(u), ['Network Admins']);
    assert.deepEqual([u.first_name, u.last_name, u.email], ['Nora', 'Netops', 'nora@example.net']);
    assert.equal((await page.goto(`${gwUrl}/users/users/`))?.status(), 403, 'no superuser pages for her');
    await ctx.close();
  });

  it('RADIUS: rita\'s Access-Accept carries her name and email in EfficientIP VSAs, which fill her NetBox profile', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const resp = await submitForm(page, gwUrl, { source: 'Network RADIUS', username: 'rita', password: RITA_PW });
    assert.equal(resp.status(), 302);
    await landedInNetbox(page, gwUrl);
    const u = await netboxUser(nb, 'rita');
    assert.ok(u, 'NetBox created rita');
    assert.deepEqual([u.first_name, u.last_name, u.email], ['Zoë', 'Radius', 'rita@example.net']);
    assert.deepEqual(groupNames(u), ['Viewers']);
    assert.equal(u.is_superuser, false);
    await ctx.close();
  });

  it('LDAP (StartTLS, search-and-bind): lena, in netbox-operators only through noc-oncall, lands in "LDAP Operators" with her profile', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${gwUrl}/ipam/prefixes/`);
    // Her own wrong password first: the generic message, and NetBox never hears of her.
    const wrong = await submitForm(page, gwUrl, { source: 'Corporate LDAP', username: 'lena', password: 'not-lenas-password' });
    assert.equal(wrong.status(), 401);
    assert.equal(await alertText(page), 'Invalid username or password.');
    assert.equal(await netboxUser(nb, 'lena'), undefined);

    const resp = await submitForm(page, gwUrl, { source: 'Corporate LDAP', username: 'lena', password: LENA_PW });
    assert.equal(resp.status(), 302);
    await landedInNetbox(page, gwUrl);
    assert.equal(new URL(page.url()).pathname, '/ipam/prefixes/', 'back where she started');
    const u = await netboxUser(nb, 'lena');
    assert.ok(u, 'NetBox created lena');
    // Only what the policy names: noc-oncall (her direct group) is not a NetBox group.
    assert.deepEqual(groupNames(u), ['LDAP Operators']);
    assert.deepEqual([u.first_name, u.last_name, u.email], ['Lena', 'Lindqvist', 'lena@example.org']);
    assert.equal(u.is_superuser, false);
    await ctx.close();
  });

  it('a wrong password, a disabled account and an unknown user all get the same message and never reach NetBox', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const attempts = [
      { source: 'Network RADIUS', username: 'bob', password: 'not-bobs-password' },
      { source: 'Network RADIUS', username: 'carol', password: RADIUS_USERS.carol }, // Auth-Type := Reject
      { source: 'Network RADIUS', username: 'mallory', password: 'whatever' },
      { source: 'Network TACACS+', username: 'kim', password: 'not-kims-password' },
      { source: 'Network TACACS+', username: 'mallory', password: 'whatever' },
      { source: 'Corporate LDAP', username: 'bob', password: 'not-bobs-password' },
      { source: 'Corporate LDAP', username: 'nobody', password: 'whatever' },
    ];
    const seen = new Set<string>();
    for (const a of attempts) {
      const resp = await submitForm(page, gwUrl, a);
      assert.equal(resp.status(), 401, `${a.source} ${a.username}`);
      assert.equal(new URL(page.url()).pathname, '/.netbox-gate/login');
      seen.add(await alertText(page));
    }
    assert.deepEqual([...seen], ['Invalid username or password.']);
    for (const name of ['bob', 'carol', 'mallory', 'kim', 'nobody']) assert.equal(await netboxUser(nb, name), undefined, name);
    await ctx.close();
  });

  it('rate limit per user: the 4th wrong attempt gets 429, the right password waits for the window, then works', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const erin = (password: string) => submitForm(page, gwUrl, { source: 'Network TACACS+', username: 'erin', password });
    for (let i = 1; i <= 3; i++) {
      assert.equal((await erin(`wrong-${i}`)).status(), 401, `attempt ${i}`);
      assert.equal(await alertText(page), 'Invalid username or password.');
    }
    const fourth = await erin('wrong-4');
    assert.equal(fourth.status(), 429);
    const retryAfter = Number(fourth.headers()['retry-after']);
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= USER_WINDOW_S, `Retry-After: ${retryAfter}`);
    assert.match(await alertText(page), /^Too many sign-in attempts\. Try again in [1-9]\d* s\.$/);

    // Locked out means locked out: the right password is not even sent to the server.
    const right = await erin(TACACS_USERS.erin.password);
    assert.equal(right.status(), 429);
    assert.match(await alertText(page), /Try again in \d+ s\./);
    assert.equal(await netboxUser(nb, 'erin'), undefined);

    // Another user from the same address is not locked out by erin's failures.
    const other = await browser.newContext();
    const otherPage = await other.newPage();
    assert.equal((await submitForm(otherPage, gwUrl, { source: 'Network TACACS+', username: 'erin2', password: 'x' })).status(), 401);
    await other.close();

    await new Promise((r) => setTimeout(r, (Number(right.headers()['retry-after']) + 0.5) * 1000));
    const after = await erin(TACACS_USERS.erin.password);
    assert.equal(after.status(), 302);
    await landedInNetbox(page, gwUrl);
    assert.deepEqual(groupNames(await netboxUser(nb, 'erin')), ['Network Operators']);
    await ctx.close();
  });

  it('keyboard only: Shift+Tab to the radio group, arrow to TACACS+, type, Tab, Enter', async () => {
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    await page.goto(`${gwUrl}/`);
    assert.equal(new URL(page.url()).pathname, '/.netbox-gate/login');
    // The username field has autofocus; the radio group comes before it in tab order.
    assert.equal(await focusedId(page), 'username');
    await page.keyboard.press('Shift+Tab');
    assert.equal(await page.locator(':focus').getAttribute('value'), 'radius');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.getByRole('radio', { name: 'Network TACACS+' }).isChecked(), true);
    await page.keyboard.press('Tab');
    assert.equal(await focusedId(page), 'username');
    await page.keyboard.type('kim');
    await page.keyboard.press('Tab');
    await page.keyboard.type(TACACS_USERS.kim.password);
    const [resp] = await Promise.all([page.waitForResponse(isLoginPost), page.keyboard.press('Enter')]);
    // kim exists only on the TACACS+ server, so a 302 shows the radio choice was sent.
    assert.equal(resp.status(), 302);
    await landedInNetbox(page, gwUrl);
    const u = await netboxUser(nb, 'kim');
    assert.deepEqual(groupNames(u), ['Network Operators']);
    assert.equal(u?.is_superuser, false);
    await ctx.close();
  });
});
