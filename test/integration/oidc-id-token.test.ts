// The shipped gateway (`netbox-gate serve`) against an OpenID provider on 127.0.0.1 that signs ID
// tokens however the test asks: a forged token never reaches NetBox, and the user is told the
// sign-in failed (not that the provider "cannot be reached").
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type RunningGateway, startGateway } from '../support/gateway.js';
import { CookieClient } from '../support/http-client.js';
import { RogueIdp } from '../unit/oidc/rogue-idp.js';

describe('gateway refuses forged ID tokens', () => {
  let idp: RogueIdp;
  let gw: RunningGateway;
  let upstream: http.Server;
  const seen: string[] = [];

  before(async () => {
    idp = await RogueIdp.create();
    await idp.listen();
    upstream = http.createServer((req, res) => {
      seen.push(String(req.headers['x-remote-user']));
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<p>netbox</p>');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const upUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    gw = await startGateway(
      (port) => `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
netbox:
  url: ${upUrl}
sources:
  - kind: oidc
    id: rogue
    issuer: ${idp.issuer}
    clientId: ${idp.clientId}
    clientSecret: \${env:ROGUE_SECRET}
    userinfo: false
    insecureAllowHttpIssuer: true
policy:
  rules:
    - { name: admins, groups: netbox-admins, superuser: true }
`,
      { ROGUE_SECRET: idp.clientSecret },
    );
  });
  after(async () => {
    await gw?.stop();
    await idp?.close();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
  });

  const visit = () => new CookieClient().follow(`${gw.url}/dcim/devices/`, { headers: { Accept: 'text/html' } });

  it('signs in with a token signed by the published key', async () => {
    const { res } = await visit();
    assert.equal(res.status, 200, await res.text());
    assert.equal(seen.at(-1), 'alice');
  });

  const forged: Array<[string, () => Promise<void>, RegExp]> = [
    ['an unpublished key', async () => void (idp.next = { signing: { kind: 'key', key: await idp.newKey('RS256') } }), /does not publish/],
    ['alg none', async () => void (idp.next = { signing: { kind: 'none' } }), /&quot;none&quot;|"none"/],
    ['HS256 keyed with the client secret', async () => void (idp.next = { signing: { kind: 'hs256' } }), /HS256/],
    ['an iat an hour in the future', async () => void (idp.next = { iatOffset: 3600 }), /issued in the future/],
  ];
  for (const [name, arrange, message] of forged) {
    it(`refuses ${name} with a sign-in failure page; NetBox never sees the user`, async () => {
      const mark = seen.length;
      await arrange();
      const { res } = await visit();
      const page = await res.text();
      assert.equal(res.status, 401, page);
      assert.match(page, /Sign-in with rogue failed/);
      assert.match(page, message);
      assert.doesNotMatch(page, /cannot be reached/);
      assert.equal(seen.length, mark);
    });
  }
});
