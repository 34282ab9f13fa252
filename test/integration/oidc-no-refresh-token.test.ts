// A real OpenID provider (oidc-provider) that issues no refresh token, as authentik and Okta do
// without offline_access: the shipped gateway keeps the user signed in across several refresh
// intervals (no bounce through the IdP, so a form post is never lost), says once why group
// changes wait for the next sign-in, and still ends the session at its idle timeout.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { startDemoIdp, type DemoIdp } from '../../demo/idp.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { CookieClient, signInThroughDemoIdp } from '../support/http-client.js';
import { freePort } from '../support/ports.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

const SECRET = 'no-refresh-secret';

describe('OIDC provider that issues no refresh token', () => {
  let idp: DemoIdp;
  let gw: RunningGateway;
  let up: RecordingUpstream;

  before(async () => {
    up = await startRecordingUpstream();
    const port = await freePort();
    idp = await startDemoIdp({
      issueRefreshTokens: false,
      clients: [{ clientId: 'gw', clientSecret: SECRET, redirectUris: [`http://127.0.0.1:${port}/.netbox-gate/callback/idp`], postLogoutRedirectUris: [] }],
    });
    gw = await startGateway(
      (p) => `server:
  listen: 127.0.0.1:${p}
  publicUrl: http://127.0.0.1:${p}
netbox:
  url: ${up.url}
sessions:
  idleTimeout: 4s
  absoluteTimeout: 1h
sources:
  - kind: oidc
    id: idp
    issuer: ${idp.issuer}
    clientId: gw
    clientSecret: \${env:SECRET}
    insecureAllowHttpIssuer: true
    refreshInterval: 1s
policy:
  rules:
    - name: engineers
      groups: [network-engineers]
      netboxGroups: [Network Engineers]
`,
      { SECRET },
      port,
    );
  });
  after(async () => {
    await gw?.stop();
    await idp?.stop();
    await up?.close();
  });

  it('keeps bob signed in across refresh intervals; his form post reaches NetBox; the reason is logged once', async () => {
    const c = new CookieClient();
    const first = await signInThroughDemoIdp(c, gw.url, 'bob', 'bob', '/dcim/sites/');
    assert.equal(first.res.status, 200);
    for (let i = 0; i < 3; i++) {
      await delay(1300); // past refreshInterval each time
      const r = await c.request(`${gw.url}/dcim/sites/`, { headers: { Accept: 'text/html' } });
      assert.equal(r.status, 200, `request ${i}: still signed in, not sent to the IdP`);
      await r.body?.cancel();
    }
    const post = await c.request(`${gw.url}/dcim/sites/add/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/html' },
      body: 'name=Site+B&slug=site-b',
    });
    assert.equal(post.status, 200);
    const seen = up.seen.at(-1)!;
    assert.equal(seen.method, 'POST');
    assert.equal(seen.body, 'name=Site+B&slug=site-b');
    assert.equal(seen.headers['x-remote-user'], 'bob');
    assert.equal(gw.logs.filter((l) => /issued no refresh token/.test(String(l.msg))).length, 1);
    assert.ok(!gw.logs.some((l) => l.audit === 'session_end'), 'no session ended');
  });

  it('still ends the session at its idle timeout', async () => {
    const c = new CookieClient();
    await signInThroughDemoIdp(c, gw.url, 'bob', 'bob', '/');
    await delay(4300);
    const r = await c.request(`${gw.url}/dcim/sites/`, { headers: { Accept: 'text/html' } });
    assert.equal(r.status, 302);
    await gw.waitForLog((l) => l.audit === 'session_end' && l.cause === 'expired');
  });
});
