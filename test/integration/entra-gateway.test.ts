// The shipped gateway (`netbox-gate serve`) with an Entra source against the Entra/Graph stand-in
// and a recording upstream in NetBox's place: GUID groups from Graph become NetBox group headers,
// and a removal at Entra reaches NetBox at the next refresh.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { EntraStandin } from '../support/entra-standin.js';
import { type RunningGateway, startGateway } from '../support/gateway.js';
import { CookieClient } from '../support/http-client.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';


describe('gateway with an Entra source (stand-in)', () => {
  let s: EntraStandin;
  let gw: RunningGateway;
  let up: RecordingUpstream;
  let user: string;
  let admins: string;
  let staff: string;

  before(async () => {
    // A secret shaped like Entra's (with "~"), and the tenant named by its verified domain.
    s = await EntraStandin.create({ clientSecret: 'Zr8Q~k2.Lmn_opQ-rs~TUVwxyz0123456789AbCd' });
    await s.listen();
    up = await startRecordingUpstream();
    user = s.addUser({ name: 'Alice', preferredUsername: 'alice@contoso.test', email: 'alice@contoso.test' }).oid;
    staff = s.addGroup('Staff', [user]);
    admins = s.addGroup('NetBox Admins', [staff]); // nested: alice is in it through Staff
    const engineers = s.addGroup('Network Engineers', [user]);
    s.signInAs(user);
    gw = await startGateway(
      (port) => {
        s.registerRedirectUri(`http://127.0.0.1:${port}/.netbox-gate/callback/entra`);
        return `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
netbox:
  url: ${up.url}
sources:
  - kind: oidc
    id: entra
    preset: entra
    clientId: ${s.clientId}
    clientSecret: \${env:ENTRA_CLIENT_SECRET}
    insecureAllowHttpIssuer: true
    refreshInterval: 1s
    entra:
      tenantId: contoso.onmicrosoft.com
      loginUrl: ${s.url}
      graphUrl: ${s.url}
policy:
  rules:
    - { name: admins, sources: entra, groups: ${admins}, netboxGroups: Network Admins }
    - { name: engineers, sources: entra, groups: ${engineers}, netboxGroups: Network Engineers }
`;
      },
      { ENTRA_CLIENT_SECRET: s.clientSecret },
    );
  });
  after(async () => {
    await gw?.stop();
    await s?.close();
    await up?.close();
  });

  it('signs in through Entra and sends NetBox the groups mapped from nested Graph memberships, then drops a removed one', async () => {
    const c = new CookieClient();
    const { res, url } = await c.follow(`${gw.url}/dcim/devices/`, { headers: { Accept: 'text/html' } });
    assert.equal(res.status, 200, await res.text());
    assert.equal(new URL(url).pathname, '/dcim/devices/');
    const first = up.seen.at(-1)!.headers;
    assert.equal(first['x-remote-user'], 'alice@contoso.test');
    assert.equal(first['x-remote-user-groups'], 'Network Admins|Network Engineers|netbox-gate-managed');
    assert.ok(!JSON.stringify(gw.logs).includes(s.clientSecret), 'the client secret never reaches the logs');
    assert.equal(s.discoveryRequests[0], '/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration');
    assert.deepEqual(new Set(s.tokenAuthMethods), new Set(['client_secret_post']));

    s.removeMember(staff, user); // alice leaves Staff, and with it NetBox Admins
    await delay(1200); // past refreshInterval, so the next request refreshes at Entra
    const again = await c.follow(`${gw.url}/dcim/devices/`, { headers: { Accept: 'text/html' } });
    assert.equal(again.res.status, 200);
    assert.equal(up.seen.at(-1)!.headers['x-remote-user-groups'], 'Network Engineers|netbox-gate-managed');
    assert.ok(s.tokenGrants.includes('refresh_token'));
  });
});

describe('gateway with an Entra source whose tenant domain does not exist', () => {
  let s: EntraStandin;
  let gw: RunningGateway;
  before(async () => {
    s = await EntraStandin.create();
    await s.listen();
    gw = await startGateway(
      (port) => `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
netbox:
  url: http://127.0.0.1:9
sources:
  - kind: oidc
    id: entra
    preset: entra
    clientId: ${s.clientId}
    clientSecret: \${env:ENTRA_CLIENT_SECRET}
    insecureAllowHttpIssuer: true
    entra:
      tenantId: fabrikam.onmicrosoft.com
      loginUrl: ${s.url}
      graphUrl: ${s.url}
policy:
  rules:
    - { name: everyone, sources: entra }
`,
      { ENTRA_CLIENT_SECRET: s.clientSecret },
    );
  });
  after(async () => {
    await gw?.stop();
    await s?.close();
  });

  it('says the sign-in is misconfigured, naming the tenant, instead of "cannot be reached"', async () => {
    const res = await new CookieClient().request(`${gw.url}/.netbox-gate/login/entra`, { headers: { Accept: 'text/html' } });
    const page = await res.text();
    assert.notEqual(res.status, 503);
    assert.doesNotMatch(page, /cannot be reached/);
    assert.match(page, /misconfigured/);
    assert.match(page, /fabrikam\.onmicrosoft\.com/);
  });
});
