// `netbox-gate sessions revoke` ends a RADIUS user's session the way the gateway ends one: the
// Accounting-Stop reaches the accounting server (real FreeRADIUS, detail file) with
// Acct-Terminate-Cause Admin-Reset, so the AAA server does not count the session as open for
// ever. Gateway on a real redis-server (the CLI reaches shared sessions only), a recording
// upstream where NetBox would be.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { startFreeRadius, USERS, type FreeRadius } from '../support/freeradius.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { CookieClient } from '../support/http-client.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { cliPath } from '../support/repo.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

const run = promisify(execFile);
const KEY = randomBytes(32).toString('base64');

describe('sessions revoke and RADIUS accounting (FreeRADIUS, Redis)', () => {
  let fr: FreeRadius;
  let redis: RedisServer;
  let netbox: RecordingUpstream;
  let gw: RunningGateway;

  before(async () => {
    fr = await startFreeRadius();
    redis = await startRedis();
    netbox = await startRecordingUpstream();
    gw = await startGateway(
      (port) => `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
netbox:
  url: ${netbox.url}
sessions:
  store:
    type: redis
    url: ${redis.url}
    keyPrefix: "revoke-it:"
  encryptionKeys: ["\${env:KEY}"]
sources:
  - kind: radius
    id: corp-radius
    servers: [127.0.0.1:${fr.authPort}]
    secret: ${fr.secret}
    timeout: 2s
    retries: 0
    nasIdentifier: netbox-gate-revoke-it
    accounting:
      servers: [127.0.0.1:${fr.acctPort}]
policy:
  rules:
    - name: admins
      groups: [netbox-admin]
      superuser: true
`,
      { KEY },
    );
  });
  after(async () => {
    await gw?.stop();
    await netbox?.close();
    await redis?.remove();
    await fr?.stop();
  });

  /** The accounting records of alice's sessions in FreeRADIUS's detail file. */
  const records = async () => (await fr.detail()).split(/\n\n+/).filter((r) => r.includes('NAS-Identifier = "netbox-gate-revoke-it"') && r.includes('User-Name = "alice"'));
  const sessionIdOf = (record: string) => /Acct-Session-Id = "([^"]+)"/.exec(record)?.[1];

  it('sends the Accounting-Stop (Admin-Reset) of each revoked session, and the user is signed out', async () => {
    const c = new CookieClient();
    const form = await c.request(`${gw.url}/.netbox-gate/login`, { headers: { Accept: 'text/html' } });
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())?.[1];
    assert.ok(csrf);
    const signIn = await c.request(`${gw.url}/.netbox-gate/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/html' },
      body: new URLSearchParams({ csrf, source: 'corp-radius', username: 'alice', password: USERS.alice, next: '/dcim/' }).toString(),
    });
    await signIn.body?.cancel();
    assert.equal(signIn.status, 302, 'signed in');
    assert.equal(new URL(signIn.headers.get('location') ?? '', gw.url).pathname, '/dcim/');
    await gw.waitForLog((l) => l.msg === 'radius accounting acknowledged' && l.status === 'start');
    const starts = (await records()).filter((r) => /Acct-Status-Type = Start/.test(r));
    assert.equal(starts.length, 1);
    const sid = sessionIdOf(starts[0]!);
    assert.ok(sid);

    const revoke = await run(process.execPath, [cliPath(), 'sessions', 'revoke', '--user', 'alice', '--config', gw.configFile], { env: { ...process.env, KEY } });
    assert.match(revoke.stdout, /^revoked \S+ \(alice via corp-radius\)$/m);
    assert.match(revoke.stderr, /radius accounting acknowledged/, 'the CLI says the accounting server took the Stop');

    const stops = (await records()).filter((r) => /Acct-Status-Type = Stop/.test(r));
    assert.equal(stops.length, 1, await fr.detail());
    assert.equal(sessionIdOf(stops[0]!), sid, 'the Stop closes the session the Start opened');
    assert.match(stops[0]!, /Acct-Terminate-Cause = Admin-Reset/);
    assert.match(stops[0]!, /Acct-Session-Time = \d+/);

    const after = await c.request(`${gw.url}/dcim/`, { headers: { Accept: 'text/html' }, redirect: 'manual' });
    await after.body?.cancel();
    assert.equal(after.status, 302, 'signed out');
    assert.match(after.headers.get('location') ?? '', /\/\.netbox-gate\/login/);
  });
});
