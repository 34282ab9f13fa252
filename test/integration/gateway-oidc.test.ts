// The gateway against the real demo OpenID provider and a recording upstream that stands
// where NetBox would: shows exactly which headers and cookies the upstream receives.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startDemoIdp, type DemoIdp } from '../../demo/idp.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { CookieClient, signInThroughDemoIdp } from '../support/http-client.js';
import { freePort } from '../support/ports.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

/** Answers like NetBox for the cookie and redirect cases; JSON for everything else. */
function recordingUpstream(): Promise<RecordingUpstream> {
  return startRecordingUpstream((req, res, server) => {
    if (req.url === '/set-session/') {
      res.writeHead(200, { 'Set-Cookie': ['sessionid=nb-session-1; HttpOnly; Path=/', 'csrftoken=abc; Path=/'], 'Content-Type': 'text/html' });
      res.end('<p>ok</p>');
      return true;
    }
    if (req.url === '/redirect-abs/') {
      res.writeHead(302, { Location: `http://127.0.0.1:${(server.address() as AddressInfo).port}/dcim/sites/` });
      res.end();
      return true;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ ok: true }));
    return true;
  });
}

function config(port: number, issuer: string, upstream: string, extraRules = ''): string {
  return `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
netbox:
  url: ${upstream}
logging:
  level: info
sources:
  - kind: oidc
    id: demo
    displayName: Demo IdP
    issuer: ${issuer}
    clientId: netbox-gate
    clientSecret: \${env:DEMO_CLIENT_SECRET}
    insecureAllowHttpIssuer: true
    refreshInterval: 1s
policy:
  defaultGroups: [netbox-users]
  rules:
    - name: admins
      groups: [netbox-admins]
      superuser: true
    - name: engineers
      groups: [network-engineers]
      netboxGroups: [Network Engineers]
    - name: no-contractors
      effect: deny
      groups: [contractors]
${extraRules}`;
}

describe('gateway with the demo OpenID provider (recording upstream)', () => {
  let idp: DemoIdp;
  let gw: RunningGateway;
  let up: RecordingUpstream;
  const secret = 'demo-secret-for-tests';

  before(async () => {
    up = await recordingUpstream();
    const gwPort = await freePort();
    idp = await startDemoIdp({
      clients: [
        {
          clientId: 'netbox-gate',
          clientSecret: secret,
          redirectUris: [`http://127.0.0.1:${gwPort}/.netbox-gate/callback/demo`],
          postLogoutRedirectUris: [`http://127.0.0.1:${gwPort}/.netbox-gate/signed-out`],
        },
      ],
    });
    gw = await startGatewayOn(gwPort, config(gwPort, idp.issuer, up.url), { DEMO_CLIENT_SECRET: secret });
  });
  after(async () => {
    await gw?.stop();
    await idp?.stop();
    await up?.close();
  });

  it('signs bob in and sends NetBox only mapped groups, with the user and profile headers', async () => {
    const c = new CookieClient();
    const { res, url } = await signInThroughDemoIdp(c, gw.url, 'bob', 'bob', '/dcim/sites/?q=1');
    assert.equal(res.status, 200);
    assert.equal(new URL(url).pathname + new URL(url).search, '/dcim/sites/?q=1');
    const last = up.seen.at(-1)!;
    assert.equal(last.headers['x-remote-user'], 'bob');
    assert.equal(last.headers['x-remote-user-email'], 'bob@example.org');
    assert.equal(last.headers['x-remote-user-groups'], 'Network Engineers|netbox-users|netbox-gate-managed');
    assert.equal(last.headers['x-forwarded-for'], '127.0.0.1');
    const log = await gw.waitForLog((l) => l.audit === 'sign_in' && l.user === 'bob');
    assert.equal(log.allowed, true);
    assert.ok(Array.isArray(log.trace));
    assert.ok(!JSON.stringify(gw.logs).includes(secret), 'the client secret never reaches the logs');
  });

  it('refuses carol with a clear page and never contacts the upstream for her', async () => {
    const before = up.seen.length;
    const c = new CookieClient();
    const { res } = await signInThroughDemoIdp(c, gw.url, 'carol', 'carol');
    assert.equal(res.status, 403);
    assert.match(await res.text(), /not allowed to use NetBox \(denied by rule &quot;no-contractors&quot;\)/);
    assert.equal(up.seen.length, before);
    assert.ok(!up.seen.some((s) => s.headers['x-remote-user'] === 'carol'));
    // Without prompt=login the IdP's session would sign carol straight back in (and refuse again).
    const again = await c.follow(`${gw.url}/.netbox-gate/login?switch=1`, { headers: { Accept: 'text/html' } });
    assert.equal(again.res.status, 200);
    assert.ok(again.url.startsWith(idp.issuer), again.url);
    assert.match(await again.res.text(), /<form method="post"/);
    const bob = await signInThroughDemoIdp(c, gw.url, 'bob', 'bob', '/.netbox-gate/login?switch=1');
    assert.equal(bob.res.status, 200);
    assert.equal(up.seen.at(-1)!.headers['x-remote-user'], 'bob');
  });

  it('strips spoofed identity headers in every variant, signed in or not', async () => {
    const spoof = ['X-Remote-User', 'x-remote-user', 'X_REMOTE_USER', 'Remote-User', 'remote_user', 'X-Remote-User-Groups', 'x_remote_user_groups'];
    // Not signed in, with an API token so the request is proxied.
    const mark = up.seen.length;
    const raw = await rawRequest(gw.port, 'GET', '/api/status/', [['Authorization', 'Token 0123456789abcdef'], ...spoof.map((n) => [n, 'admin'] as [string, string]), ['X-Remote-User', 'admin2']]);
    assert.equal(raw.status, 200);
    const got = up.seen[mark]!;
    for (let i = 0; i < got.raw.length; i += 2) {
      assert.ok(!/remote.user/i.test(got.raw[i]!), `upstream saw ${got.raw[i]}`);
    }
    assert.equal(got.headers.authorization, 'Token 0123456789abcdef');
    // Signed in as bob, trying to become admin.
    const c = new CookieClient();
    await signInThroughDemoIdp(c, gw.url, 'bob', 'bob');
    const cookie = [...c.cookies(gw.url)].map(([k, v]) => `${k}=${v}`).join('; ');
    const mark2 = up.seen.length;
    await rawRequest(gw.port, 'GET', '/dcim/', [['Cookie', cookie], ...spoof.map((n) => [n, 'admin|netbox-gate-superusers'] as [string, string])]);
    const got2 = up.seen[mark2]!;
    const names = [];
    for (let i = 0; i < got2.raw.length; i += 2) if (/remote.user/i.test(got2.raw[i]!)) names.push(`${got2.raw[i]}: ${got2.raw[i + 1]}`);
    assert.deepEqual(names.sort(), ['X-Remote-User-Email: bob@example.org', 'X-Remote-User-First-Name: Bob', 'X-Remote-User-Groups: Network Engineers|netbox-users|netbox-gate-managed', 'X-Remote-User-Last-Name: Engineer', 'X-Remote-User: bob'].sort());
  });

  it('keeps NetBox session cookies server-side and ignores client-sent ones', async () => {
    const c = new CookieClient();
    await signInThroughDemoIdp(c, gw.url, 'bob', 'bob');
    const r = await c.request(`${gw.url}/set-session/`, { headers: { Accept: 'text/html' } });
    assert.equal(r.status, 200);
    assert.ok(!r.headers.getSetCookie().some((l) => l.startsWith('sessionid=')), 'browser never receives NetBox sessionid');
    assert.ok(r.headers.getSetCookie().some((l) => l.startsWith('csrftoken=')), 'other NetBox cookies pass');
    const mark = up.seen.length;
    await c.request(`${gw.url}/dcim/`, { headers: { Accept: 'text/html', Cookie: `${[...c.cookies(gw.url)].map(([k, v]) => `${k}=${v}`).join('; ')}; sessionid=forged` } });
    assert.match(String(up.seen[mark]!.headers.cookie), /sessionid=nb-session-1/);
    assert.doesNotMatch(String(up.seen[mark]!.headers.cookie), /forged/);
  });

  it('rewrites absolute upstream redirects to the public URL', async () => {
    const c = new CookieClient();
    await signInThroughDemoIdp(c, gw.url, 'bob', 'bob');
    const r = await c.request(`${gw.url}/redirect-abs/`);
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), `${gw.url}/dcim/sites/`);
  });

  it('answers API calls without session or token with 401 JSON and browsers with a sign-in redirect', async () => {
    const api = await fetch(`${gw.url}/api/dcim/sites/`, { redirect: 'manual' });
    assert.equal(api.status, 401);
    const page = await fetch(`${gw.url}/dcim/sites/`, { redirect: 'manual', headers: { Accept: 'text/html' } });
    assert.equal(page.status, 302);
    assert.equal(page.headers.get('location'), '/.netbox-gate/login?next=%2Fdcim%2Fsites%2F');
  });

  it('keeps return-to URLs on the gateway origin', async () => {
    for (const evil of ['//evil.example/', '/\\evil.example', 'https://evil.example/', '/%2F%2Fevil.example']) {
      const c = new CookieClient();
      const { url } = await signInThroughDemoIdp(c, gw.url, 'bob', 'bob', `/.netbox-gate/login?next=${encodeURIComponent(evil)}`);
      assert.equal(new URL(url).origin, gw.url, `${evil} -> ${url}`);
    }
  });

  it('picks up group changes at the next token refresh', async () => {
    const c = new CookieClient();
    await signInThroughDemoIdp(c, gw.url, 'bob', 'bob');
    idp.setGroups('bob', ['network-engineers', 'netbox-admins']);
    try {
      await new Promise((r) => setTimeout(r, 1200));
      const mark = up.seen.length;
      await c.request(`${gw.url}/dcim/`, { headers: { Accept: 'text/html' } });
      assert.equal(up.seen[mark]!.headers['x-remote-user-groups'], 'Network Engineers|netbox-users|netbox-gate-superusers|netbox-gate-managed');
    } finally {
      idp.setGroups('bob', ['network-engineers']);
    }
  });

  it('lets the user pick when several sources are configured, and signs in through the picked one', async () => {
    const yaml = config(gw.port, idp.issuer, up.url).replace(
      'policy:',
      `  - kind: oidc
    id: second
    displayName: Second IdP
    issuer: ${idp.issuer}
    clientId: netbox-gate
    clientSecret: \${env:DEMO_CLIENT_SECRET}
    insecureAllowHttpIssuer: true
policy:`,
    );
    assert.equal(await gw.reload(yaml), 'reloaded');
    try {
      const page = await fetch(`${gw.url}/.netbox-gate/login?next=%2Fdcim%2F`, { headers: { Accept: 'text/html' } });
      const html = await page.text();
      assert.match(html, /href="\/\.netbox-gate\/login\/demo\?next=%2Fdcim%2F">Sign in with Demo IdP</);
      assert.match(html, /href="\/\.netbox-gate\/login\/second\?next=%2Fdcim%2F">Sign in with Second IdP</);
      const c = new CookieClient();
      const { res, url } = await signInThroughDemoIdp(c, gw.url, 'bob', 'bob', '/.netbox-gate/login/demo?next=%2Fdcim%2F');
      assert.equal(res.status, 200);
      assert.equal(new URL(url).pathname, '/dcim/');
    } finally {
      assert.equal(await gw.reload(config(gw.port, idp.issuer, up.url)), 'reloaded');
    }
  });

  it('ends idle sessions', async () => {
    assert.equal(await gw.reload(config(gw.port, idp.issuer, up.url).replace('policy:', 'sessions:\n  idleTimeout: 4s\n  absoluteTimeout: 1h\npolicy:')), 'reloaded');
    try {
      const c = new CookieClient();
      await signInThroughDemoIdp(c, gw.url, 'bob', 'bob');
      const active = await c.request(`${gw.url}/dcim/`, { headers: { Accept: 'text/html' } });
      assert.equal(active.status, 200);
      await new Promise((r) => setTimeout(r, 4500));
      const idle = await c.request(`${gw.url}/dcim/`, { headers: { Accept: 'text/html' } });
      assert.equal(idle.status, 302);
      assert.match(idle.headers.get('location')!, /^\/\.netbox-gate\/login/);
      await gw.waitForLog((l) => l.audit === 'session_end' && l.cause === 'expired');
    } finally {
      assert.equal(await gw.reload(config(gw.port, idp.issuer, up.url)), 'reloaded');
    }
  });

  it('ends the session when the IdP revokes the user', async () => {
    const c = new CookieClient();
    await signInThroughDemoIdp(c, gw.url, 'bob', 'bob');
    idp.setDisabled('bob', true);
    try {
      await new Promise((r) => setTimeout(r, 1200));
      const mark = up.seen.length;
      const r = await c.request(`${gw.url}/dcim/`, { headers: { Accept: 'text/html' } });
      assert.equal(r.status, 302);
      assert.match(r.headers.get('location')!, /^\/\.netbox-gate\/login/);
      assert.equal(up.seen.length, mark);
    } finally {
      idp.setDisabled('bob', false);
    }
  });
});

async function startGatewayOn(port: number, yaml: string, env: NodeJS.ProcessEnv): Promise<RunningGateway> {
  return startGateway(() => yaml, env, port);
}

function rawRequest(port: number, method: string, path: string, headers: Array<[string, string]>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: [['Host', `127.0.0.1:${port}`], ...headers].flat() as unknown as http.OutgoingHttpHeaders }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
