// Directory sync against a real NetBox 4.7 through the real binary, with real directories: an
// OpenLDAP slapd, the TACACS+ test server and a Samba AD domain controller. Users sign in
// through the password form, get a v2 API token, then change in the directory without signing
// in again: the sync (lifecycle.sync.interval) deprovisions the disabled or removed ones (browser
// session ended, token refused with "User inactive") and moves changed groups to NetBox through
// the API; allowed again, a sign-in makes the token work again. A local superuser is never touched.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startGateway, startNetboxForGateway, type RunningGateway } from '../support/gateway.js';
import { CookieClient } from '../support/http-client.js';
import type { NetboxInstance } from '../support/netbox.js';
import { groupNames, netboxUser } from '../support/netbox-users.js';
import { freePort } from '../support/ports.js';
import { GROUPS_OU, SERVICE_DN as AD_SERVICE_DN, SERVICE_PW as AD_SERVICE_PW, STAFF_OU, USERS as AD_USERS, startSambaAd, type SambaAd } from '../support/samba-ad.js';
import { PASSWORDS, SERVICE_DN, SERVICE_PW, SUFFIX, startSlapd, type Slapd } from '../support/slapd.js';
import { startFreeRadius, type FreeRadius } from '../support/freeradius.js';
import { startTacacsServer, type RunningTacacsServer, type TacacsServerConfig } from '../support/tacacs.js';

const SYNC_S = 3;
const RADIUS_IDLE_S = 5;
const TAC_SECRET = 'sync-tacacs-secret';
const tacacsUsers = (withTina: boolean): TacacsServerConfig['users'] => ({
  ...(withTina ? { tina: { password: 'tina-pw', args: ['role=viewer'] } } : {}),
  other: { password: 'other-pw', args: ['role=viewer'] },
});

const gatewayConfig = (port: number, netboxUrl: string, slapd: Slapd, tacacs: string, ad: SambaAd, radius: FreeRadius, api: boolean) => `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
netbox:
  url: ${netboxUrl}
${api ? '  api:\n    token: ${env:NB_TOKEN}\n' : ''}sources:
  - kind: ldap
    id: corp-ldap
    urls: [${slapd.ldapsUrl}]
    tls: { caFile: ${slapd.caFile} }
    bindDn: ${SERVICE_DN}
    bindPassword: ${SERVICE_PW}
    # OpenLDAP has no "disabled" flag: this directory marks one with description=disabled.
    userSearch: { base: "ou=people,${SUFFIX}", filter: "(&(uid={username})(!(description=disabled)))" }
    groups: { memberOf: false, search: { base: "ou=groups,${SUFFIX}" }, nested: none }
  - kind: tacacs
    id: tac
    servers: [${tacacs}]
    secret: ${TAC_SECRET}
    timeout: 2s
  - kind: ldap
    id: corp-ad
    activeDirectory: true
    urls: [${ad.ldapsUrl}]
    tls: { caFile: ${ad.caFile} }
    bindDn: "${AD_SERVICE_DN}"
    bindPassword: "${AD_SERVICE_PW}"
    userSearch: { base: "${STAFF_OU}" }
    groups: { memberOf: false, search: { base: "${GROUPS_OU}" } }
  - kind: radius
    id: radius
    servers: [127.0.0.1:${radius.authPort}]
    secret: ${radius.secret}
    timeout: 2s
    retries: 0
policy:
  rules:
    - { name: ldap-users, groups: [netbox-users], netboxGroups: [NetBox Users] }
    - { name: ldap-staff, groups: [staff], netboxGroups: [Staff] }
    - { name: tacacs-viewers, groups: [viewer], netboxGroups: [Viewers] }
    - { name: ad-readers, groups: [NetBox-Readers], netboxGroups: [Readers] }
    - { name: radius-viewers, groups: [netbox-viewer], netboxGroups: [Viewers] }
${api ? `lifecycle:\n  sync:\n    interval: ${SYNC_S}s\n  radiusInactivity: ${RADIUS_IDLE_S}s\n` : ''}`;

describe('directory sync (real NetBox 4.7, slapd, TACACS+, Samba AD)', { timeout: 900_000 }, () => {
  let nb: NetboxInstance;
  let slapd: Slapd;
  let tac: RunningTacacsServer;
  let ad: SambaAd;
  let radius: FreeRadius;
  let gw: RunningGateway;
  let gwUrl: string;
  const tokens = new Map<string, string>();

  const signIn = async (source: string, username: string, password: string): Promise<CookieClient> => {
    const c = new CookieClient();
    const html = { Accept: 'text/html' };
    const page = await c.request(`${gwUrl}/.netbox-gate/login/${source}?next=/`, { headers: html });
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1];
    assert.ok(csrf, 'the password form');
    const post = await c.request(`${gwUrl}/.netbox-gate/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...html },
      body: new URLSearchParams({ csrf, next: '/', source, username, password }).toString(),
    });
    await post.arrayBuffer();
    assert.equal(post.status, 302, `sign-in of ${username} through ${source}`);
    const { res } = await c.follow(new URL(post.headers.get('location')!, gwUrl).href, { headers: html });
    await res.arrayBuffer();
    assert.equal(res.status, 200, `NetBox's page for ${username}`);
    return c;
  };
  const tokenFor = async (username: string): Promise<string> => {
    const u = await netboxUser(nb, username);
    const t = await nb.api('POST', '/api/users/tokens/', { user: u!.id, description: 'sync test' });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    const auth = `Bearer nbt_${t.body.key}.${t.body.token}`;
    tokens.set(username, auth);
    return auth;
  };
  const tokenStatus = async (base: string, username: string) => {
    const r = await fetch(`${base}/api/users/config/`, { headers: { Authorization: tokens.get(username)!, Accept: 'application/json' } });
    return { status: r.status, body: await r.text() };
  };
  const sessionStatus = async (c: CookieClient) => {
    const r = await c.request(`${gwUrl}/api/users/config/`, { headers: { Accept: 'application/json' } });
    await r.arrayBuffer();
    return r.status;
  };
  /** Bounded: two sync intervals and some. Returns seconds since `since`. */
  const until = async (what: string, ok: () => Promise<boolean>, since: number): Promise<number> => {
    for (let i = 0; i < (SYNC_S * 2 + 10) * 5; i++) {
      if (await ok()) return (performance.now() - since) / 1000;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.fail(`${what} did not happen within two sync intervals`);
  };
  /** The whole deprovisioning as a user sees it; prints the time from the directory change. */
  const expectDeprovisioned = async (username: string, c: CookieClient, since: number, label: string) => {
    const refused = await until(`NetBox refusing ${username}'s token`, async () => (await tokenStatus(nb.url, username)).status === 403, since);
    console.log(`# ${label}: directory change -> NetBox refuses the token after ${refused.toFixed(1)} s (sync interval ${SYNC_S} s)`);
    for (const base of [gwUrl, nb.url]) {
      const r = await tokenStatus(base, username);
      assert.equal(r.status, 403);
      assert.deepEqual(JSON.parse(r.body), { detail: 'User inactive' });
    }
    // The deprovisioner makes NetBox refuse first, then ends the sessions: wait for both.
    await until('the browser session ending', async () => (await sessionStatus(c)) === 401, since);
    // The audit line is written once the whole deprovisioning is done, and read from the
    // gateway's output a moment later.
    const auditLine = () => gw.logs.filter((l) => l['audit'] === 'deprovision' && l['user'] === username && l['trigger'] === 'sync').at(-1);
    await until(`the audit line about ${username}`, async () => auditLine() !== undefined, since);
    const line = auditLine();
    assert.equal(line?.['trigger'], 'sync');
    assert.equal(line?.['result'], 'deactivated');
    // Every session of the user (an earlier test's one too), on every replica.
    assert.ok(Number(line?.['sessionsEnded']) >= 1, 'sessions ended');
    return line!;
  };

  before(async () => {
    [slapd, tac, ad, radius] = await Promise.all([
      startSlapd(),
      startTacacsServer({ secret: TAC_SECRET, users: tacacsUsers(true) }),
      startSambaAd(),
      startFreeRadius({ extraUsers: 'rita Cleartext-Password := "rita-pw"\n\tFilter-Id := "netbox-viewer"\n' }),
    ]);
    const gwPort = await freePort();
    gwUrl = `http://127.0.0.1:${gwPort}`;
    const nbPort = await freePort();
    nb = await startNetboxForGateway(gatewayConfig(gwPort, `http://127.0.0.1:${nbPort}`, slapd, tac.address, ad, radius, false), {}, nbPort);
    // Groups the sync will move users into must exist (the API cannot create them on the fly).
    for (const name of ['NetBox Users', 'Staff', 'Viewers', 'Readers']) assert.equal((await nb.api('POST', '/api/users/groups/', { name })).status, 201);
    const yaml = gatewayConfig(gwPort, `http://127.0.0.1:${nbPort}`, slapd, tac.address, ad, radius, true);
    gw = await startGateway(() => yaml, { NB_TOKEN: nb.adminAuthorization }, gwPort);
  });

  after(async () => {
    await gw?.stop();
    await Promise.allSettled([nb?.stop(), slapd?.stop(), tac?.stop(), ad?.stop(), radius?.stop()]);
  });

  it('LDAP: a group added in slapd reaches NetBox through the API without a new sign-in', async () => {
    await signIn('corp-ldap', 'bob', PASSWORDS.bob);
    await tokenFor('bob');
    assert.deepEqual(groupNames(await netboxUser(nb, 'bob')), ['NetBox Users']);
    const t0 = performance.now();
    await slapd.modify(`dn: cn=staff,ou=groups,${SUFFIX}\nchangetype: modify\nadd: member\nmember: uid=bob,ou=people,${SUFFIX}\n`);
    await until('the group change', async () => groupNames(await netboxUser(nb, 'bob')).includes('Staff'), t0);
    assert.deepEqual(groupNames(await netboxUser(nb, 'bob')), ['NetBox Users', 'Staff']);
    assert.equal((await netboxUser(nb, 'bob'))?.is_active, true);
    assert.ok(gw.logs.some((l) => l['audit'] === 'groups_sync' && l['user'] === 'bob' && l['result'] === 'changed'));
  });

  it('LDAP: bob disabled in slapd is deprovisioned by the sync; enabled again, his sign-in makes the token work again', async () => {
    const c = await signIn('corp-ldap', 'bob', PASSWORDS.bob);
    assert.equal((await tokenStatus(gwUrl, 'bob')).status, 200);
    const t0 = performance.now();
    await slapd.modify(`dn: uid=bob,ou=people,${SUFFIX}\nchangetype: modify\nadd: description\ndescription: disabled\n`);
    const line = await expectDeprovisioned('bob', c, t0, 'LDAP (slapd)');
    assert.match(String(line['detail']), /^corp-ldap: no directory entry for user name "bob"/);
    await slapd.modify(`dn: uid=bob,ou=people,${SUFFIX}\nchangetype: modify\ndelete: description\n`);
    await signIn('corp-ldap', 'bob', PASSWORDS.bob);
    assert.equal((await tokenStatus(nb.url, 'bob')).status, 200);
    assert.equal((await tokenStatus(gwUrl, 'bob')).status, 200);
  });

  it('TACACS+: tina removed from the server\'s config is deprovisioned by the sync (authorization FAIL); back, she signs in and her token works', async () => {
    const c = await signIn('tac', 'tina', 'tina-pw');
    await tokenFor('tina');
    assert.deepEqual(groupNames(await netboxUser(nb, 'tina')), ['Viewers']);
    assert.equal((await tokenStatus(gwUrl, 'tina')).status, 200);
    // The test server reads its users at start: a restart on the same address with a new config.
    const t0 = performance.now();
    await tac.stop();
    tac = await startTacacsServer({ listen: tac.address, secret: TAC_SECRET, users: tacacsUsers(false) });
    const line = await expectDeprovisioned('tina', c, t0, 'TACACS+');
    assert.match(String(line['detail']), /^tac: .*authorization refused/);
    await tac.stop();
    tac = await startTacacsServer({ listen: tac.address, secret: TAC_SECRET, users: tacacsUsers(true) });
    await signIn('tac', 'tina', 'tina-pw');
    assert.equal((await tokenStatus(nb.url, 'tina')).status, 200);
  });

  it('AD: frank disabled in Samba (userAccountControl ACCOUNTDISABLE) is deprovisioned by the sync; enabled, he signs in again', async () => {
    const c = await signIn('corp-ad', 'frank', AD_USERS.frank.pw);
    await tokenFor('frank');
    assert.deepEqual(groupNames(await netboxUser(nb, 'frank')), ['Readers']);
    const t0 = performance.now();
    await ad.tool('user', 'disable', 'frank');
    const line = await expectDeprovisioned('frank', c, t0, 'Active Directory (Samba)');
    assert.match(String(line['detail']), /disabled \(userAccountControl ACCOUNTDISABLE\)/);
    await ad.tool('user', 'enable', 'frank');
    await signIn('corp-ad', 'frank', AD_USERS.frank.pw);
    assert.equal((await tokenStatus(nb.url, 'frank')).status, 200);
  });

  it('RADIUS (cannot be asked): rita, with no sign-in for lifecycle.radiusInactivity, is deactivated; her next sign-in reactivates', async () => {
    const t0 = performance.now();
    const c = await signIn('radius', 'rita', 'rita-pw');
    await tokenFor('rita');
    assert.equal((await tokenStatus(gwUrl, 'rita')).status, 200);
    const refused = await until('the inactivity deactivation', async () => (await tokenStatus(nb.url, 'rita')).status === 403, t0);
    console.log(`# RADIUS: sign-in -> deactivated for inactivity after ${refused.toFixed(1)} s (radiusInactivity ${RADIUS_IDLE_S} s, sync interval ${SYNC_S} s)`);
    await until('the browser session ending', async () => (await sessionStatus(c)) === 401, t0);
    const auditLine = () => gw.logs.filter((l) => l['audit'] === 'deprovision' && l['user'] === 'rita' && l['trigger'] === 'inactivity').at(-1);
    await until('the audit line about rita', async () => auditLine() !== undefined, t0);
    const line = auditLine();
    assert.equal(line?.['trigger'], 'inactivity');
    assert.equal(line?.['result'], 'deactivated');
    await signIn('radius', 'rita', 'rita-pw');
    assert.equal((await tokenStatus(nb.url, 'rita')).status, 200);
  });

  it('the local NetBox superuser made by hand is never touched by any sync', async () => {
    const admin = await netboxUser(nb, nb.adminUser);
    assert.equal(admin?.is_active, true);
    assert.equal(admin?.is_superuser, true);
    assert.ok(!gw.logs.some((l) => l['user'] === nb.adminUser && typeof l['audit'] === 'string'), 'no audit line about the local admin');
    assert.ok(gw.logs.filter((l) => l['event'] === 'directory_sync').length >= 3, 'the sync ran every interval');
  });
});
