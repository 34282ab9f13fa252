// Gateway replicas sharing sessions on a real redis-server: two `netbox-gate serve` processes
// behind a round-robin balancer, the demo OpenID provider (refresh tokens rotate, reuse is
// refused) and a recording upstream where NetBox would be. Covers the outage page and the
// recovery without a restart, sessions across a Redis restart, key rotation and an
// undecryptable session, one refresh per session across replicas, and `sessions list/revoke`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { startDemoIdp, type DemoIdp } from '../../demo/idp.js';
import { startBalancer, PIN_HEADER, type Balancer } from '../support/balancer.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { CookieClient, signInThroughDemoIdp } from '../support/http-client.js';
import { freePort } from '../support/ports.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { cliPath } from '../support/repo.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SECRET = 'demo-secret-for-redis-tests';
const KEY_A = randomBytes(32).toString('base64');
const KEY_B = randomBytes(32).toString('hex');
const HTML = { Accept: 'text/html' };

function config(listenPort: number, publicUrl: string, issuer: string, upstream: string, redisUrl: string, keys = '["${env:KEY_A}"]'): string {
  return `server:
  listen: 127.0.0.1:${listenPort}
  publicUrl: ${publicUrl}
netbox:
  url: ${upstream}
sessions:
  store:
    type: redis
    url: ${redisUrl}
    keyPrefix: "itest:"
    connectTimeout: 1s
    commandTimeout: 1s
  encryptionKeys: ${keys}
sources:
  - kind: oidc
    id: demo
    issuer: ${issuer}
    clientId: netbox-gate
    clientSecret: \${env:DEMO_CLIENT_SECRET}
    insecureAllowHttpIssuer: true
    refreshInterval: 2s
policy:
  defaultGroups: [netbox-users]
  rules:
    - name: admins
      groups: [netbox-admins]
      superuser: true
    - name: engineers
      groups: [network-engineers]
`;
}

describe('replicas on a shared Redis store (recording upstream)', () => {
  let redis: RedisServer;
  let idp: DemoIdp;
  let up: RecordingUpstream;
  let lb: Balancer;
  const gws: RunningGateway[] = [];
  let publicUrl: string;
  let yaml: (port: number, keys?: string) => string;
  const env = { DEMO_CLIENT_SECRET: SECRET, KEY_A, KEY_B };

  before(async () => {
    redis = await startRedis();
    up = await startRecordingUpstream((req, res) => {
      if (req.url === '/set-session/') {
        res.writeHead(200, { 'Set-Cookie': 'sessionid=nb-held-session; HttpOnly; Path=/', 'Content-Type': 'text/html' });
        res.end('<p>ok</p>');
        return true;
      }
      return false;
    });
    const ports = [await freePort(), await freePort()];
    const lbPort = await freePort();
    publicUrl = `http://127.0.0.1:${lbPort}`;
    idp = await startDemoIdp({
      clients: [{ clientId: 'netbox-gate', clientSecret: SECRET, redirectUris: [`${publicUrl}/.netbox-gate/callback/demo`], postLogoutRedirectUris: [`${publicUrl}/.netbox-gate/signed-out`] }],
    });
    yaml = (port, keys) => config(port, publicUrl, idp.issuer, up.url, redis.url, keys);
    for (const p of ports) gws.push(await startGateway(() => yaml(p), env, p));
    lb = await startBalancer(ports.map((p) => `http://127.0.0.1:${p}`), lbPort);
  });
  after(async () => {
    await Promise.allSettled(gws.map((g) => g.stop()));
    await lb?.close();
    await idp?.stop();
    await up?.close();
    await redis?.remove();
  });

  /** The user the upstream saw on the last request, or the gateway's answer when it did not proxy. */
  const get = async (c: CookieClient, path: string, headers: Record<string, string> = HTML) => {
    const before = up.seen.length;
    const res = await c.request(`${publicUrl}${path}`, { headers });
    const text = await res.text();
    return { status: res.status, text, location: res.headers.get('location'), user: up.seen.length > before ? up.seen.at(-1)!.headers['x-remote-user'] : undefined };
  };

  it('a session started through one replica is recognised by both', async () => {
    const c = new CookieClient();
    const { res } = await signInThroughDemoIdp(c, publicUrl, 'alice', 'alice', '/dcim/');
    assert.equal(res.status, 200);
    const mark = lb.served.length;
    for (let i = 0; i < 4; i++) assert.equal((await get(c, `/dcim/sites/?n=${i}`)).user, 'alice');
    assert.deepEqual([...new Set(lb.served.slice(mark))].sort(), [0, 1], 'requests reached both replicas');
  });

  it('a replica that reloaded the same policy (so its own count of reloads differs) does not decide a shared session again on each request: no session write per request', async () => {
    // Decisions used to be tagged with the process's reload count: after a reload on one
    // replica (or a restart of one), every request through the other decided again and wrote
    // the session back to Redis, which also invalidated both replicas' session caches.
    assert.equal(await gws[1]!.reload(yaml(gws[1]!.port)), 'reloaded');
    const admin = new Redis(redis.url);
    try {
      const c = new CookieClient();
      assert.equal((await signInThroughDemoIdp(c, publicUrl, 'alice', 'alice', '/')).res.status, 200);
      const writes = async () => Number(/cmdstat_set:calls=(\d+)/.exec(await admin.info('commandstats'))?.[1] ?? 0);
      const before = await writes();
      for (let i = 0; i < 8; i++) assert.equal((await get(c, `/dcim/?n=${i}`, { ...HTML, [PIN_HEADER]: String(i % 2) })).user, 'alice');
      const n = (await writes()) - before;
      // A refresh falling due meanwhile (refreshInterval 2s on a slow machine) writes at most
      // its lock and the session once.
      assert.ok(n <= 2, `${n} Redis writes for 8 requests alternating between the replicas`);
    } finally {
      admin.disconnect();
    }
  });

  it('a refresh due on both replicas at once is done once: the rotated refresh token is never replayed', async () => {
    const c = new CookieClient();
    assert.equal((await signInThroughDemoIdp(c, publicUrl, 'bob', 'bob', '/')).res.status, 200);
    for (let round = 0; round < 2; round++) {
      await sleep(2200); // past refreshInterval
      const mark = gws.map((g) => g.logs.length);
      const [r0, r1] = await Promise.all([0, 1].map((i) => get(c, '/dcim/devices/', { ...HTML, [PIN_HEADER]: String(i) })));
      assert.equal(r0!.user, 'bob');
      assert.equal(r1!.user, 'bob');
      const refreshed = gws.flatMap((g, i) => g.logs.slice(mark[i]).filter((l) => l.msg === 'session refreshed at the source' && l.user === 'bob'));
      assert.equal(refreshed.length, 1, `one refresh in round ${round}, not one per replica`);
    }
    // A replayed refresh token would have made the provider revoke the family: this round would fail.
    assert.ok(!gws.some((g) => g.logs.some((l) => l.msg === 'refresh rejected')), 'no refresh was refused');
  });

  it('Redis down: a clear 503 page and JSON error; Redis back (restarted, append-only): the same session goes on without restarting the gateways', async () => {
    const c = new CookieClient();
    await signInThroughDemoIdp(c, publicUrl, 'alice', 'alice', '/');
    await redis.stop();
    try {
      const page = await get(c, '/dcim/sites/');
      assert.equal(page.status, 503);
      assert.match(page.text, /cannot reach its session store right now/);
      const json = await get(c, '/api/dcim/sites/', { Accept: 'application/json' });
      assert.equal(json.status, 503);
      assert.deepEqual(JSON.parse(json.text), { detail: 'the session store is unavailable; try again in a moment' });
      assert.ok(c.cookies(publicUrl).has('netbox_gate'), 'the session cookie is kept');
    } finally {
      await redis.start();
    }
    let last: Awaited<ReturnType<typeof get>> | undefined;
    for (let i = 0; i < 40 && last?.status !== 200; i++) {
      if (i) await sleep(250);
      last = await get(c, '/dcim/sites/');
    }
    assert.equal(last?.status, 200);
    assert.equal(last?.user, 'alice', 'still signed in: the session survived the Redis restart');
    for (let i = 0; i < 2; i++) assert.equal((await get(c, '/dcim/racks/')).user, 'alice', 'on both replicas');
    for (const g of gws) await g.waitForLog((l) => l.msg === 'session store reachable again');
  });

  it('key rotation: a session written with key A is read by a gateway configured [B, A]; one configured [B] only signs the user out, logged once, no crash', async () => {
    const c = new CookieClient();
    await signInThroughDemoIdp(c, publicUrl, 'alice', 'alice', '/');
    const cookie = `netbox_gate=${c.cookies(publicUrl).get('netbox_gate')}`;
    const rotatedPort = await freePort();
    const rotated = await startGateway(() => yaml(rotatedPort, '["${env:KEY_B}", "${env:KEY_A}"]'), env, rotatedPort);
    try {
      const before = up.seen.length;
      const r = await fetch(`http://127.0.0.1:${rotatedPort}/dcim/`, { headers: { ...HTML, Cookie: cookie }, redirect: 'manual' });
      assert.equal(r.status, 200);
      assert.equal(up.seen.at(-1)!.headers['x-remote-user'], 'alice');
      assert.equal(up.seen.length, before + 1);
    } finally {
      await rotated.stop();
    }
    const onlyBPort = await freePort();
    const onlyB = await startGateway(() => yaml(onlyBPort, '["${env:KEY_B}"]'), env, onlyBPort);
    try {
      for (let i = 0; i < 2; i++) {
        const r = await fetch(`http://127.0.0.1:${onlyBPort}/dcim/`, { headers: { ...HTML, Cookie: cookie }, redirect: 'manual' });
        assert.equal(r.status, 302, 'signed out: sent to sign in');
        assert.match(r.headers.get('location') ?? '', /\/\.netbox-gate\/login/);
      }
      const warns = onlyB.logs.filter((l) => String(l.msg).startsWith('a stored value cannot be decrypted'));
      assert.equal(warns.length, 1);
      const health = await fetch(`http://127.0.0.1:${onlyBPort}/.netbox-gate/health`);
      assert.equal(health.status, 200, 'still running');
    } finally {
      await onlyB.stop();
    }
    assert.equal((await get(c, '/dcim/')).user, 'alice', 'the replicas with key A still read it');
  });

  it('sessions list shows users without tokens; sessions revoke --user signs the user out on every replica and ends the held NetBox session', async () => {
    const bob = new CookieClient();
    assert.equal((await signInThroughDemoIdp(bob, publicUrl, 'bob', 'bob', '/')).res.status, 200);
    await get(bob, '/set-session/'); // NetBox's session is now held for bob
    const alice = new CookieClient();
    await signInThroughDemoIdp(alice, publicUrl, 'alice', 'alice', '/');
    const cli = (...args: string[]) => run(process.execPath, [cliPath(), 'sessions', ...args, '--config', gws[0]!.configFile], { env: { ...process.env, ...env } });

    const list = await cli('list', '--json');
    const rows = JSON.parse(list.stdout) as Array<{ id: string; user: string; source: string; netboxSession: boolean }>;
    assert.ok(rows.some((r) => r.user === 'bob' && r.netboxSession));
    assert.ok(rows.some((r) => r.user === 'alice'));
    assert.doesNotMatch(list.stdout, /nb-held-session|eyJ|refresh|netbox_gate=/i);
    const table = await cli('list', '--user', 'bob');
    assert.match(table.stdout, /^ID +USER +SOURCE/m);
    assert.match(table.stdout, /bob +demo/);
    assert.doesNotMatch(table.stdout, /alice/);

    const before = up.seen.length;
    const revoke = await cli('revoke', '--user', 'bob');
    assert.match(revoke.stdout, /revoked \S+ \(bob via demo, NetBox session ended\)/);
    const ended = up.seen.slice(before).find((s) => s.url === '/logout/');
    assert.ok(ended, 'NetBox logout called');
    assert.match(ended.headers.cookie ?? '', /sessionid=nb-held-session/);

    // The same cookie on each replica (a client would drop it after the first answer clears it).
    const cookie = `netbox_gate=${bob.cookies(publicUrl).get('netbox_gate')}`;
    for (const pin of ['0', '1']) {
      const r = await fetch(`${publicUrl}/dcim/`, { headers: { ...HTML, Cookie: cookie, [PIN_HEADER]: pin }, redirect: 'manual' });
      assert.equal(r.status, 302, `replica ${pin}: signed out`);
      assert.match(r.headers.get('location') ?? '', /\/\.netbox-gate\/login/);
    }
    assert.equal((await get(alice, '/dcim/')).user, 'alice', 'other users keep their sessions');
    assert.match((await cli('list', '--user', 'bob')).stdout, /^no sessions$/m);

    // One session by id.
    const aliceRows = (JSON.parse((await cli('list', '--user', 'alice', '--json')).stdout) as Array<{ id: string }>);
    const one = await cli('revoke', '--id', aliceRows[0]!.id);
    assert.match(one.stdout, /^revoked /);
  });
});
