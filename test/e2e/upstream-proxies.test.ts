// End to end with an upstream proxy asserting identity, against one real NetBox 4.7: Chromium ->
// the real oauth2-proxy (demo IdP) -> netbox-gate -> NetBox, and Pomerium-style signed assertions.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import type { Browser } from 'playwright-core';
import { startDemoIdp, type DemoIdp } from '../../demo/idp.js';
import { launchBrowser } from '../support/browser.js';
import { startGateway, startNetboxForGateway, type RunningGateway } from '../support/gateway.js';
import type { NetboxInstance } from '../support/netbox.js';
import { startOAuth2Proxy, type OAuth2Proxy } from '../support/oauth2-proxy.js';
import { freePort } from '../support/ports.js';

const TIMEOUT = 15_000;
const O2P_CLIENT_ID = 'oauth2-proxy';
const O2P_SECRET = 'oauth2-proxy-e2e-secret-0123456789';
const ADMIN_GUID = '62f8f72a-3e06-11ec-9bbc-0242ac130002';
const POMERIUM_HOST = 'netbox.example.org';

/** The netbox section both gateways share, so one NetBox configured by `netbox-config` serves both. */
const netboxSection = (netboxUrl: string) => `netbox:
  url: ${netboxUrl}
  version: "4.7"
`;

function oauth2ProxyGatewayConfig(o: { port: number; proxyUrl: string; netboxUrl: string }): string {
  return `server:
  listen: 127.0.0.1:${o.port}
  publicUrl: ${o.proxyUrl}
${netboxSection(o.netboxUrl)}sources:
  - kind: upstream
    id: oauth2-proxy
    mode: headers
    trustedAddresses: [127.0.0.1/32]
    signOutUrl: /oauth2/sign_out
policy:
  rules:
    - name: admins
      sources: oauth2-proxy
      groups: [netbox-admins]
      superuser: true
    - name: engineers
      sources: oauth2-proxy
      groups: [network-engineers]
      netboxGroups: [Network Engineers]
`;
}

function pomeriumGatewayConfig(o: { port: number; jwksUrl: string; netboxUrl: string }): string {
  return `server:
  listen: 127.0.0.1:${o.port}
  publicUrl: http://127.0.0.1:${o.port}
${netboxSection(o.netboxUrl)}sources:
  - kind: upstream
    id: pomerium
    mode: pomerium
    trustedAddresses: [127.0.0.1/32]
    jwt:
      jwksUrl: ${o.jwksUrl}
      insecureAllowHttpJwks: true
      issuer: ${POMERIUM_HOST}
      audience: ${POMERIUM_HOST}
policy:
  rules:
    - name: admins by group id
      sources: pomerium
      groups: ['${ADMIN_GUID}']
      superuser: true
    - name: example.org
      sources: pomerium
      emailDomains: example.org
      netboxGroups: [Readers]
    - name: one outside user
      sources: pomerium
      users: [user@example.com]
      netboxGroups: [Readers]
`;
}

interface NbUser {
  username: string;
  is_superuser: boolean;
  groups: string[];
}

async function netboxUser(nb: NetboxInstance, username: string): Promise<NbUser | undefined> {
  const q = `/api/users/users/?username=${encodeURIComponent(username)}`;
  const r = await nb.api('GET', q);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const u = (r.body as { results: Array<{ username: string; groups: Array<{ name: string }> }> }).results[0];
  if (!u) return undefined;
  // NetBox 4.7's user serializer has no is_superuser field; its filter does (docs/netbox-facts.md).
  const su = await nb.api('GET', `${q}&is_superuser=true`);
  // The managed marker (netbox.managedGroup) is on every gateway user; these tests look at the policy's groups.
  assert.ok(u.groups.some((g) => g.name === 'netbox-gate-managed'), `${username} lacks the managed marker`);
  return { username: u.username, is_superuser: (su.body as { count: number }).count === 1, groups: u.groups.map((g) => g.name).filter((g) => g !== 'netbox-gate-managed').sort() };
}

/** A GET to the gateway from a chosen loopback source address, as a browser navigation would send it. */
function rawGet(url: string, localAddress: string, headers: Record<string, string>): Promise<{ status: number; location: string | undefined; body: string; cookies: string[] }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { localAddress, headers: { Accept: 'text/html', ...headers }, timeout: TIMEOUT }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body, cookies: (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]!) }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('oauth2-proxy and Pomerium-style proxies in front of netbox-gate and a real NetBox 4.7', { timeout: 600_000 }, () => {
  let nb: NetboxInstance;
  let netboxUrl: string;

  before(async () => {
    const nbPort = await freePort();
    netboxUrl = `http://127.0.0.1:${nbPort}`;
    // NetBox gets exactly what `netbox-gate netbox-config` prints (the same for both gateways:
    // it depends on the netbox section and the header names, not on the sources).
    nb = await startNetboxForGateway(oauth2ProxyGatewayConfig({ port: 1, proxyUrl: 'http://127.0.0.1:2', netboxUrl }), {}, nbPort);
    // bob's mapped group may view sites, nothing else.
    const g = await nb.api('POST', '/api/users/groups/', { name: 'Network Engineers' });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    const p = await nb.api('POST', '/api/users/permissions/', { name: 'engineers-view-sites', object_types: ['dcim.site'], actions: ['view'], groups: [(g.body as { id: number }).id] });
    assert.equal(p.status, 201, JSON.stringify(p.body));
  });

  after(async () => {
    await nb?.stop();
  });

  describe('Chromium -> real oauth2-proxy v7.6.0 -> netbox-gate (mode headers)', () => {
    let idp: DemoIdp;
    let proxy: OAuth2Proxy;
    let gw: RunningGateway;
    let browser: Browser;

    before(async () => {
      const proxyPort = await freePort();
      const proxyUrl = `http://127.0.0.1:${proxyPort}`;
      const gwPort = await freePort();
      idp = await startDemoIdp({
        clients: [{ clientId: O2P_CLIENT_ID, clientSecret: O2P_SECRET, redirectUris: [`${proxyUrl}/oauth2/callback`], postLogoutRedirectUris: [] }],
      });
      // The browser sees only oauth2-proxy, so that is the gateway's public URL.
      gw = await startGateway(() => oauth2ProxyGatewayConfig({ port: gwPort, proxyUrl, netboxUrl }), {}, gwPort);
      proxy = await startOAuth2Proxy({ port: proxyPort, issuer: idp.issuer, clientId: O2P_CLIENT_ID, clientSecret: O2P_SECRET, upstreamUrl: gw.url });
      browser = await launchBrowser();
    });

    after(async () => {
      await browser?.close();
      await proxy?.stop();
      await gw?.stop();
      await idp?.stop();
    });

    const signIn = async (username: string, path: string) => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(proxy.url + path);
      // oauth2-proxy skips its own button and sends the browser straight to the IdP.
      assert.ok(page.url().startsWith(idp.issuer), `expected the IdP, at ${page.url()}\n${proxy.log()}`);
      await page.getByLabel('Username').fill(username);
      await page.getByLabel('Password').fill(username);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL((u) => u.origin === proxy.url && !u.pathname.startsWith('/oauth2/'), { timeout: 30_000 });
      await page.waitForLoadState('domcontentloaded');
      return { ctx, page };
    };

    it('alice (netbox-admins) signs in through oauth2-proxy and is a NetBox superuser', async () => {
      const { ctx, page } = await signIn('alice', '/users/users/');
      assert.equal(new URL(page.url()).pathname, '/users/users/');
      const u = await netboxUser(nb, 'alice');
      assert.ok(u, `alice not in NetBox; gateway log: ${JSON.stringify(gw.logs.slice(-5))}`);
      assert.equal(u.is_superuser, true);
      assert.deepEqual(u.groups, ['netbox-gate-superusers']);
      // A superuser-only page renders for her.
      assert.equal((await page.goto(`${proxy.url}/users/users/`))?.status(), 200);
      await ctx.close();
    });

    it('bob (network-engineers) gets exactly "Network Engineers" and what it allows', async () => {
      const { ctx, page } = await signIn('bob', '/dcim/sites/');
      const u = await netboxUser(nb, 'bob');
      assert.equal(u?.is_superuser, false);
      assert.deepEqual(u?.groups, ['Network Engineers']);
      assert.equal((await page.goto(`${proxy.url}/dcim/sites/`))?.status(), 200);
      assert.equal((await page.goto(`${proxy.url}/dcim/devices/`))?.status(), 403);
      await ctx.close();
    });

    it('carol (contractors only) passes oauth2-proxy but the gateway refuses her; NetBox never sees her', async () => {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      await page.goto(`${proxy.url}/`);
      await page.getByLabel('Username').fill('carol');
      await page.getByLabel('Password').fill('carol');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Access denied' }).waitFor({ timeout: 30_000 });
      assert.match((await page.textContent('body')) ?? '', /carol is not allowed to use NetBox/);
      assert.equal(await netboxUser(nb, 'carol'), undefined);
      await ctx.close();
    });

    it("sign-out goes through oauth2-proxy's /oauth2/sign_out, which drops its session cookie", async () => {
      const { ctx } = await signIn('bob', '/');
      assert.ok((await ctx.cookies()).some((c) => c.name === '_oauth2_proxy'));
      const out = await ctx.request.get(`${proxy.url}/logout/`, { maxRedirects: 0, headers: { Accept: 'text/html' } });
      assert.equal(out.status(), 302);
      assert.equal(out.headers().location, '/oauth2/sign_out');
      const signOut = await ctx.request.get(`${proxy.url}/oauth2/sign_out`, { maxRedirects: 0 });
      assert.equal(signOut.status(), 302);
      const names = (await ctx.cookies()).map((c) => c.name);
      assert.ok(!names.includes('_oauth2_proxy'), names.join(','));
      assert.ok(!names.includes('netbox_gate'), names.join(','));
      // Signed out at the proxy: the next page goes to the IdP again, not to NetBox.
      const next = await ctx.request.get(`${proxy.url}/dcim/sites/`, { maxRedirects: 0, headers: { Accept: 'text/html' } });
      assert.equal(next.status(), 302);
      assert.ok(next.headers().location?.startsWith(idp.issuer), next.headers().location);
      await ctx.close();
    });

    it("oauth2-proxy's headers sent straight to the gateway from outside trustedAddresses are ignored", async () => {
      const forged = {
        'X-Forwarded-User': 'eve@example.org',
        'X-Forwarded-Email': 'eve@example.org',
        'X-Forwarded-Preferred-Username': 'eve',
        'X-Forwarded-Groups': 'netbox-admins',
      };
      const res = await rawGet(`${gw.url}/dcim/sites/`, '127.0.0.2', forged);
      assert.equal(res.status, 302);
      assert.match(res.location ?? '', /^\/\.netbox-gate\/login/);
      assert.equal(await netboxUser(nb, 'eve'), undefined);
      const json = await rawGet(`${gw.url}/api/dcim/sites/`, '127.0.0.2', { ...forged, Accept: 'application/json' });
      assert.equal(json.status, 401);
      assert.equal(await netboxUser(nb, 'eve'), undefined);
      // The same headers from the trusted address are believed: only the peer address differs,
      // so the refusal above is the trust check at work.
      const trusted = await rawGet(`${gw.url}/dcim/sites/`, '127.0.0.1', forged);
      assert.equal(trusted.status, 200);
      assert.equal((await netboxUser(nb, 'eve'))?.is_superuser, true);
    });
  });

  describe('Pomerium-style signed assertion (ES256, JWKS over HTTP) -> netbox-gate (mode pomerium)', () => {
    let jwksServer: http.Server;
    let gw: RunningGateway;
    let key: CryptoKey;
    let otherKey: CryptoKey;
    const kid = 'pomerium-e2e';

    before(async () => {
      const pair = await generateKeyPair('ES256', { extractable: true });
      key = pair.privateKey;
      ({ privateKey: otherKey } = await generateKeyPair('ES256'));
      const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' }] });
      jwksServer = http.createServer((req, res) => {
        if (req.url !== '/.well-known/pomerium/jwks.json') {
          res.statusCode = 404;
          return res.end();
        }
        res.setHeader('content-type', 'application/json');
        res.end(jwks);
      });
      jwksServer.listen(0, '127.0.0.1');
      await once(jwksServer, 'listening');
      const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/.well-known/pomerium/jwks.json`;
      gw = await startGateway((port) => pomeriumGatewayConfig({ port, jwksUrl, netboxUrl }));
    });

    after(async () => {
      await gw?.stop();
      jwksServer?.closeAllConnections();
      await new Promise<void>((r) => (jwksServer ? jwksServer.close(() => r()) : r()));
    });

    const assertion = (claims: Record<string, unknown>, o: { signWith?: CryptoKey; aud?: string; exp?: number } = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ ...claims })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuer(POMERIUM_HOST)
        .setAudience(o.aud ?? POMERIUM_HOST)
        .setIssuedAt(now - 60)
        .setExpirationTime(o.exp ?? now + 300)
        .sign(o.signWith ?? key);
    };
    const claimsOf = (email: string, groups: string[]) => ({ sub: `idp|${email}`, user: `idp|${email}`, email, groups, name: email.split('@')[0] });
    const viaPomerium = async (jwt: string, path = '/dcim/sites/', from = '127.0.0.1') => rawGet(`${gw.url}${path}`, from, { 'X-Pomerium-Jwt-Assertion': jwt });

    it('a valid assertion with the admin group id makes a NetBox superuser; example.org gives the mapped group', async () => {
      const admin = await viaPomerium(await assertion(claimsOf('dana@example.net', [ADMIN_GUID])));
      assert.equal(admin.status, 200, admin.body.slice(0, 300));
      const dana = await netboxUser(nb, 'dana@example.net');
      assert.equal(dana?.is_superuser, true);
      assert.deepEqual(dana?.groups, ['netbox-gate-superusers']);

      const reader = await viaPomerium(await assertion(claimsOf('frank@example.org', ['some-other-group'])), '/');
      assert.equal(reader.status, 200, reader.body.slice(0, 300));
      const frank = await netboxUser(nb, 'frank@example.org');
      assert.equal(frank?.is_superuser, false);
      assert.deepEqual(frank?.groups, ['Readers']);

      const named = await viaPomerium(await assertion(claimsOf('user@example.com', [])), '/');
      assert.equal(named.status, 200, named.body.slice(0, 300));
      assert.deepEqual((await netboxUser(nb, 'user@example.com'))?.groups, ['Readers']);
    });

    it('within one gateway session, the assertion is re-checked on every request: new groups re-sync NetBox, another user ends the session', async () => {
      const first = await viaPomerium(await assertion(claimsOf('gina@example.org', ['some-group'])), '/');
      assert.equal(first.status, 200, first.body.slice(0, 300));
      const cookie = first.cookies.find((c) => c.startsWith('netbox_gate='));
      assert.ok(cookie, 'the first assertion starts a gateway session');
      assert.deepEqual((await netboxUser(nb, 'gina@example.org'))?.groups, ['Readers']);
      // Same session, now in the admin group at the IdP: NetBox's session restarts and re-syncs.
      const promoted = await rawGet(`${gw.url}/`, '127.0.0.1', { 'X-Pomerium-Jwt-Assertion': await assertion(claimsOf('gina@example.org', [ADMIN_GUID])), Cookie: cookie });
      assert.equal(promoted.status, 200);
      const gina = await netboxUser(nb, 'gina@example.org');
      assert.equal(gina?.is_superuser, true);
      // Same cookie, but the proxy now asserts somebody else: gina's session must not carry over.
      const other = await rawGet(`${gw.url}/`, '127.0.0.1', { 'X-Pomerium-Jwt-Assertion': await assertion(claimsOf('hank@example.org', [])), Cookie: cookie });
      assert.equal(other.status, 200);
      assert.deepEqual((await netboxUser(nb, 'hank@example.org'))?.groups, ['Readers']);
      assert.equal((await netboxUser(nb, 'hank@example.org'))?.is_superuser, false);
      await gw.waitForLog((l) => l.audit === 'session_end' && l.user === 'gina@example.org' && l.cause === 'revoked');
      // And with no assertion at all, the old cookie gives nothing.
      const none = await rawGet(`${gw.url}/dcim/sites/`, '127.0.0.1', { Cookie: cookie });
      assert.equal(none.status, 302);
    });

    it('a valid assertion for someone no rule allows is denied (403) and never reaches NetBox', async () => {
      const res = await viaPomerium(await assertion(claimsOf('mallory@evil.example', ['contractors'])));
      assert.equal(res.status, 403);
      assert.match(res.body, /is not allowed to use NetBox/);
      assert.equal(await netboxUser(nb, 'mallory@evil.example'), undefined);
    });

    for (const [name, make, reason] of [
      ['forged (signed with another key under the same kid)', (c: Record<string, unknown>) => assertion(c, { signWith: otherKey }), 'bad_signature'],
      ['expired', (c: Record<string, unknown>) => assertion(c, { exp: Math.floor(Date.now() / 1000) - 600 }), 'expired'],
      ['for another audience', (c: Record<string, unknown>) => assertion(c, { aud: 'grafana.example.org' }), 'wrong_audience'],
    ] as const) {
      it(`an assertion ${name} is refused: no NetBox user, sign-in redirect or 401`, async () => {
        const email = `${reason.replace('_', '-')}@example.org`;
        const jwt = await make(claimsOf(email, [ADMIN_GUID]));
        const html = await viaPomerium(jwt);
        assert.equal(html.status, 302, html.body.slice(0, 300));
        assert.match(html.location ?? '', /^\/\.netbox-gate\/login/);
        const api = await rawGet(`${gw.url}/api/dcim/sites/`, '127.0.0.1', { 'X-Pomerium-Jwt-Assertion': jwt, Accept: 'application/json' });
        assert.equal(api.status, 401);
        assert.equal(await netboxUser(nb, email), undefined);
        const logged = await gw.waitForLog((l) => l.event === 'upstream_identity_refused' && l.reason === reason);
        assert.equal(logged.reason, reason);
      });
    }

    it('a valid assertion from an address outside trustedAddresses is ignored', async () => {
      const res = await viaPomerium(await assertion(claimsOf('grace@example.org', [ADMIN_GUID])), '/dcim/sites/', '127.0.0.2');
      assert.equal(res.status, 302);
      assert.equal(await netboxUser(nb, 'grace@example.org'), undefined);
      await gw.waitForLog((l) => l.event === 'upstream_identity_ignored' && l.reason === 'untrusted_address');
    });
  });
});
