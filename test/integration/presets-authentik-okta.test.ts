// `preset: authentik` and `preset: okta` against a real OpenID provider (the demo IdP on
// oidc-provider) serving those products' issuer paths, endpoint paths and claim shapes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startDemoIdp, type DemoIdp, type DemoUser } from '../../demo/idp.js';
import { authentikEndSessionUrl } from '../../src/sources/oidc/authentik.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { CookieClient, signInThroughDemoIdp } from '../support/http-client.js';
import { freePort } from '../support/ports.js';
import { startRecordingUpstream, type RecordingUpstream, type SeenRequest as Seen } from '../support/upstream.js';

const SECRET = 'preset-test-client-secret';


function client(gwPort: number, sourceId: string) {
  return {
    clientId: 'netbox-gate',
    clientSecret: SECRET,
    redirectUris: [`http://127.0.0.1:${gwPort}/.netbox-gate/callback/${sourceId}`],
    postLogoutRedirectUris: [`http://127.0.0.1:${gwPort}/.netbox-gate/signed-out`],
  };
}

function user(username: string, name: string, groups: string[]): DemoUser {
  const [givenName = name, familyName = ''] = name.split(' ');
  return { username, password: `${username}-pw`, email: username.includes('@') ? username : `${username}@example.org`, givenName, familyName, groups };
}

function groupsOf(s: Seen): string[] {
  return String(s.headers['x-remote-user-groups'] ?? '')
    .split('|')
    // The managed marker (netbox.managedGroup) is on every user; these tests look at the policy's groups.
    .filter((g) => g && g !== 'netbox-gate-managed')
    .sort();
}

async function signIn(c: CookieClient, gw: RunningGateway, u: DemoUser): Promise<Response> {
  const { res } = await signInThroughDemoIdp(c, gw.url, u.username, u.password, '/dcim/devices/');
  return res;
}

// ---------------------------------------------------------------- authentik

// authentik's default scope mappings ("authentik default OAuth Mapping: OpenID ..."):
// openid -> sub (hashed user id by default), email -> email + email_verified,
// profile -> name, given_name (the full name; authentik has no first/last split),
// preferred_username, nickname, groups (group names).
const AUTHENTIK_SCOPE_CLAIMS = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'given_name', 'preferred_username', 'nickname', 'groups'],
};

function authentikClaims(u: DemoUser): Record<string, unknown> {
  const name = `${u.givenName} ${u.familyName}`.trim();
  return {
    sub: createHash('sha256').update(`authentik-user-${u.username}`).digest('hex'),
    email: u.email,
    email_verified: true,
    name,
    given_name: name,
    preferred_username: u.username,
    nickname: u.username,
    groups: [...u.groups],
  };
}

describe('preset: authentik against an OpenID provider with authentik issuer, end-session path and claims', () => {
  const anna = user('anna', 'Anna Admin', ['superusers', 'authentik Admins']);
  const nick = user('nick', 'Nick Netadmin', ['netbox_admin']);
  const sam = user('sam', 'Sam Staff', ['staff', 'Network Engineers']);
  const nora = user('nora', 'Nora Nogroups', []);
  let idp: DemoIdp;
  let gw: RunningGateway;
  let up: RecordingUpstream;

  before(async () => {
    up = await startRecordingUpstream();
    const gwPort = await freePort();
    idp = await startDemoIdp({
      clients: [client(gwPort, 'authentik')],
      users: [anna, nick, sam, nora],
      issuerPath: '/application/o/netbox/',
      // What authentik's discovery advertises under the application's issuer.
      routes: { end_session: '/end-session/', jwks: '/jwks/' },
      claimsFor: authentikClaims,
      scopeClaims: AUTHENTIK_SCOPE_CLAIMS,
    });
    // The seed's conventions (set_roles and the netbox_admin renaming) as plain rules; the
    // issuer is derived from url + slug, never given.
    const yaml = `server:
  listen: 127.0.0.1:${gwPort}
  publicUrl: http://127.0.0.1:${gwPort}
netbox:
  url: ${up.url}
  version: "4.4"
sources:
  - kind: oidc
    id: authentik
    preset: authentik
    authentik:
      url: ${idp.origin}
      slug: netbox
    clientId: netbox-gate
    clientSecret: \${env:AUTHENTIK_CLIENT_SECRET}
    insecureAllowHttpIssuer: true
policy:
  rules:
    - name: superusers
      groups: [superusers]
      superuser: true
      staff: true
    - name: netbox-admin
      groups: [netbox_admin]
      superuser: true
      staff: true
    - name: staff
      groups: [staff]
      staff: true
    - name: network-engineers
      groups: [Network Engineers]
      netboxGroups: [Network Engineers]
`;
    gw = await startGateway(() => yaml, { AUTHENTIK_CLIENT_SECRET: SECRET }, gwPort);
  });
  after(async () => {
    await gw?.stop();
    await idp?.stop();
    await up?.close();
  });

  it('serves discovery only under the derived issuer, as authentik does', async () => {
    assert.equal(idp.issuer, `${idp.origin}/application/o/netbox/`);
    const meta = (await (await fetch(`${idp.issuer}.well-known/openid-configuration`)).json()) as Record<string, string>;
    assert.equal(meta.issuer, idp.issuer);
    assert.equal(meta.end_session_endpoint, authentikEndSessionUrl({ url: idp.origin, slug: 'netbox' }));
    // A gateway that guessed the origin as issuer would find nothing there.
    assert.equal((await fetch(`${idp.origin}/.well-known/openid-configuration`)).status, 404);
  });

  it('signs a member of "superusers" in as superuser and staff, with authentik\'s name claims', async () => {
    const mark = up.seen.length;
    const res = await signIn(new CookieClient(), gw, anna);
    assert.equal(res.status, 200);
    const got = up.seen[mark]!;
    assert.equal(got.url, '/dcim/devices/');
    assert.equal(got.headers['x-remote-user'], 'anna');
    assert.equal(got.headers['x-remote-user-email'], 'anna@example.org');
    // authentik puts the whole name in given_name and sends no family_name.
    assert.equal(got.headers['x-remote-user-first-name'], 'Anna Admin');
    assert.equal(got.headers['x-remote-user-last-name'], undefined);
    // "authentik Admins" is named by no rule, so it never reaches NetBox.
    assert.deepEqual(groupsOf(got), ['netbox-gate-staff', 'netbox-gate-superusers']);
  });

  it('makes a member of "netbox_admin" superuser by rule (no renaming scope mapping)', async () => {
    const mark = up.seen.length;
    assert.equal((await signIn(new CookieClient(), gw, nick)).status, 200);
    assert.equal(up.seen[mark]!.headers['x-remote-user'], 'nick');
    assert.deepEqual(groupsOf(up.seen[mark]!), ['netbox-gate-staff', 'netbox-gate-superusers']);
  });

  it('asks for offline_access, without which authentik issues no refresh token', async () => {
    const authorize = await authorizationRequest(gw);
    assert.deepEqual(authorize.searchParams.get('scope')?.split(' '), ['openid', 'profile', 'email', 'offline_access']);
  });

  it('makes a member of "staff" staff only, with the named NetBox group', async () => {
    const mark = up.seen.length;
    assert.equal((await signIn(new CookieClient(), gw, sam)).status, 200);
    assert.equal(up.seen[mark]!.headers['x-remote-user'], 'sam');
    assert.deepEqual(groupsOf(up.seen[mark]!), ['Network Engineers', 'netbox-gate-staff']);
  });

  it('refuses a user in no mapped group with a page, and NetBox never sees them', async () => {
    const mark = up.seen.length;
    const res = await signIn(new CookieClient(), gw, nora);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /no allow rule matched/);
    assert.equal(up.seen.length, mark);
  });

  it('signs out at authentik\'s end-session URL, which ends the authentik session too', async () => {
    const c = new CookieClient();
    assert.equal((await signIn(c, gw, sam)).status, 200);
    const out = await c.request(`${gw.url}/logout/`, { headers: { Accept: 'text/html' } });
    assert.equal(out.status, 302);
    const loc = new URL(out.headers.get('location')!);
    assert.equal(`${loc.origin}${loc.pathname}`, `${idp.issuer}end-session/`);
    assert.equal(loc.searchParams.get('post_logout_redirect_uri'), `${gw.url}/.netbox-gate/signed-out`);
    assert.equal(loc.searchParams.get('client_id'), 'netbox-gate');
    assert.ok(loc.searchParams.get('id_token_hint'), 'id_token_hint lets authentik skip its confirmation');

    // Walk the IdP's sign-out as a browser would: its page submits the form itself.
    const page = await c.request(loc.href, { headers: { Accept: 'text/html' } });
    assert.equal(page.status, 200);
    const html = await page.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(action && xsrf, 'the end-session page carries the sign-out form');
    const confirmed = await c.request(new URL(action.replace(/&#38;/g, '&'), loc.href).href, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    const back = await c.follow(new URL(confirmed.headers.get('location')!, loc.href).href, { headers: { Accept: 'text/html' } });
    assert.equal(back.url, `${gw.url}/.netbox-gate/signed-out`);
    assert.equal(back.res.status, 200);

    // Both sessions are gone: NetBox is not reached, and the IdP asks for the password again.
    const mark = up.seen.length;
    const again = await c.follow(`${gw.url}/dcim/`, { headers: { Accept: 'text/html' } });
    assert.equal(up.seen.length, mark);
    assert.equal(new URL(again.url).origin, idp.origin);
    assert.match(await again.res.text(), /name="password"/);
  });
});

// ---------------------------------------------------------------- Okta

// Okta's ID token/userinfo shape: sub is the user id (00u…), preferred_username the Okta login
// (usually the email), and `groups` is filtered by the claim's filter (here: starts with "NetBox"
// or "Network"), so Okta's own "Everyone" group never appears.
function oktaClaims(u: DemoUser): Record<string, unknown> {
  return {
    sub: `00u${createHash('sha256').update(u.username).digest('hex').slice(0, 17)}`,
    preferred_username: u.username,
    email: u.email,
    email_verified: true,
    name: `${u.givenName} ${u.familyName}`,
    given_name: u.givenName,
    family_name: u.familyName,
    groups: u.groups.filter((g) => /^(NetBox|Network)/.test(g)),
  };
}

const OKTA_PROFILE = ['name', 'given_name', 'family_name', 'preferred_username'];
// Okta serves its endpoints under /v1 below the authorization server's issuer.
const OKTA_ROUTES = { authorization: '/v1/authorize', token: '/v1/token', userinfo: '/v1/userinfo', jwks: '/v1/keys', end_session: '/v1/logout', revocation: '/v1/revoke' };

/** Walks the gateway's sign-in redirects until the one that leaves for the IdP. */
async function authorizationRequest(gw: RunningGateway): Promise<URL> {
  const c = new CookieClient();
  let url = new URL('/.netbox-gate/login', gw.url);
  for (let hop = 0; hop < 5 && url.origin === gw.url; hop++) {
    const res = await c.request(url.href, { headers: { Accept: 'text/html' } });
    await res.body?.cancel();
    const loc = res.headers.get('location');
    assert.ok(loc, `the gateway redirects at ${url.href} (status ${res.status})`);
    url = new URL(loc, url);
  }
  return url;
}

function oktaGatewayYaml(gwPort: number, upstream: string, okta: string): string {
  return `server:
  listen: 127.0.0.1:${gwPort}
  publicUrl: http://127.0.0.1:${gwPort}
netbox:
  url: ${upstream}
sources:
  - kind: oidc
    id: okta
    preset: okta
    okta:
${okta}
    clientId: netbox-gate
    clientSecret: \${env:OKTA_CLIENT_SECRET}
    insecureAllowHttpIssuer: true
policy:
  rules:
    - name: netbox-admins
      groups: NetBox Admins
      superuser: true
    - name: network-engineers
      groups: Network Engineers
      netboxGroups: Network Engineers
`;
}

describe('preset: okta against OpenID providers at Okta issuer paths with Okta claim shapes', () => {
  const dana = user('dana@example.org', 'Dana Admin', ['Everyone', 'NetBox Admins', 'Network Engineers']);
  const eli = user('eli@example.org', 'Eli Engineer', ['Everyone', 'Network Engineers']);
  let up: RecordingUpstream;
  const running: Array<{ stop(): Promise<void> }> = [];

  before(async () => {
    up = await startRecordingUpstream();
  });
  after(async () => {
    for (const r of running.reverse()) await r.stop();
    await up?.close();
  });

  it('custom authorization server "default": issuer <domain>/oauth2/default, groups claim in any scope', async () => {
    const gwPort = await freePort();
    const idp = await startDemoIdp({
      clients: [client(gwPort, 'okta')],
      users: [dana, eli],
      issuerPath: '/oauth2/default',
      routes: OKTA_ROUTES,
      claimsFor: oktaClaims,
      // The groups claim is set to "Include in: Any scope", so no groups scope is needed.
      scopeClaims: { openid: ['sub', 'groups'], profile: OKTA_PROFILE, email: ['email', 'email_verified'] },
    });
    running.push(idp);
    const gw = await startGateway(
      () => oktaGatewayYaml(gwPort, up.url, `      domain: ${idp.origin}\n      authorizationServer: default`),
      { OKTA_CLIENT_SECRET: SECRET },
      gwPort,
    );
    running.push(gw);
    assert.equal(idp.issuer, `${idp.origin}/oauth2/default`);

    const authorize = await authorizationRequest(gw);
    // Sign-in starts at the endpoint that discovery at the derived issuer advertised.
    assert.equal(`${authorize.origin}${authorize.pathname}`, `${idp.issuer}/v1/authorize`);
    // A custom server rejects an unknown "groups" scope, so the preset must not ask for it.
    assert.deepEqual(authorize.searchParams.get('scope')?.split(' '), ['openid', 'profile', 'email', 'offline_access']);

    const mark = up.seen.length;
    assert.equal((await signIn(new CookieClient(), gw, dana)).status, 200);
    const got = up.seen[mark]!;
    assert.equal(got.headers['x-remote-user'], 'dana@example.org');
    assert.equal(got.headers['x-remote-user-first-name'], 'Dana');
    assert.equal(got.headers['x-remote-user-last-name'], 'Admin');
    assert.deepEqual(groupsOf(got), ['Network Engineers', 'netbox-gate-superusers']);

    const mark2 = up.seen.length;
    assert.equal((await signIn(new CookieClient(), gw, eli)).status, 200);
    assert.equal(up.seen[mark2]!.headers['x-remote-user'], 'eli@example.org');
    assert.deepEqual(groupsOf(up.seen[mark2]!), ['Network Engineers']);
  });

  it('org authorization server: issuer is the domain itself, groups released only for the groups scope', async () => {
    const gwPort = await freePort();
    const idp = await startDemoIdp({
      clients: [client(gwPort, 'okta')],
      users: [dana, eli],
      routes: {
        authorization: '/oauth2/v1/authorize',
        token: '/oauth2/v1/token',
        userinfo: '/oauth2/v1/userinfo',
        jwks: '/oauth2/v1/keys',
        end_session: '/oauth2/v1/logout',
        revocation: '/oauth2/v1/revoke',
      },
      claimsFor: oktaClaims,
      // The app's "Groups claim" filter on the org server goes out only with the groups scope:
      // without the preset asking for it, nobody here would get a mapped group.
      scopeClaims: { openid: ['sub'], profile: OKTA_PROFILE, email: ['email', 'email_verified'], groups: ['groups'] },
    });
    running.push(idp);
    const gw = await startGateway(() => oktaGatewayYaml(gwPort, up.url, `      domain: ${idp.origin}`), { OKTA_CLIENT_SECRET: SECRET }, gwPort);
    running.push(gw);
    assert.equal(idp.issuer, idp.origin);

    const authorize = await authorizationRequest(gw);
    assert.equal(`${authorize.origin}${authorize.pathname}`, `${idp.origin}/oauth2/v1/authorize`);
    assert.deepEqual(authorize.searchParams.get('scope')?.split(' '), ['openid', 'profile', 'email', 'groups', 'offline_access']);

    const mark = up.seen.length;
    assert.equal((await signIn(new CookieClient(), gw, dana)).status, 200);
    const got = up.seen[mark]!;
    assert.equal(got.headers['x-remote-user'], 'dana@example.org');
    assert.deepEqual(groupsOf(got), ['Network Engineers', 'netbox-gate-superusers']);

    const mark2 = up.seen.length;
    assert.equal((await signIn(new CookieClient(), gw, eli)).status, 200);
    assert.deepEqual(groupsOf(up.seen[mark2]!), ['Network Engineers']);
  });
});
