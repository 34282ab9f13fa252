// SCIM state in the shared store: with sessions.store redis (a real redis-server), a user and
// group created through one gateway replica are served by another with the same ids and
// versions, and by the first again after it restarts. NetBox is a recording stand-in that knows
// no users, so every lifecycle call finds nothing to change (the real NetBox is in scim.test.ts).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

const SCIM_TOKEN = 'scim-redis-token-0123456789abcdef';
const KEY = randomBytes(32).toString('base64');

const config = (port: number, netboxUrl: string, redisUrl: string) => `server:
  publicUrl: http://127.0.0.1:${port}
  listen: 127.0.0.1:${port}
netbox:
  url: ${netboxUrl}
  api:
    token: nbt_abcdefghijkl.0123456789abcdef0123456789abcdef01234567
sessions:
  store: { type: redis, url: "${redisUrl}" }
  encryptionKeys: ["\${env:KEY}"]
scim:
  enabled: true
  tokens: ["\${env:SCIM_TOKEN}"]
sources:
  - kind: oidc
    id: corp
    issuer: https://idp.example.org
    clientId: netbox
policy:
  rules:
    - name: everyone
`;

describe('SCIM state in redis: replicas and restarts', { timeout: 120_000 }, () => {
  let redis: RedisServer;
  let nb: RecordingUpstream;
  let a: RunningGateway;
  let b: RunningGateway;

  const scim = async (gw: RunningGateway, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.url}/.netbox-gate/scim/v2${path}`, {
      method,
      headers: { Authorization: `Bearer ${SCIM_TOKEN}`, 'Content-Type': 'application/scim+json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const start = (port?: number) => startGateway((p) => config(p, nb.url, redis.url), { KEY, SCIM_TOKEN }, port);

  before(async () => {
    redis = await startRedis();
    nb = await startRecordingUpstream((req, res) => {
      if (!req.url.startsWith('/api/users/users/')) return false;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ count: 0, next: null, previous: null, results: [] }));
      return true;
    });
    a = await start();
    b = await start();
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    await nb?.close();
    await redis?.remove();
  });

  it('a user and group made through one replica are served by the other, and after a restart', async () => {
    const u = await scim(a, 'POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'carol', externalId: 'ext-carol' });
    assert.equal(u.status, 201, JSON.stringify(u.body));
    const g = await scim(a, 'POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'engineers', members: [{ value: u.body.id }] });
    assert.equal(g.status, 201, JSON.stringify(g.body));
    const patched = await scim(b, 'PATCH', `/Users/${u.body.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: 'Carol' }] });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.meta.version, 'W/"2"');
    // The uniqueness of userName holds across replicas.
    assert.equal((await scim(b, 'POST', '/Users', { userName: 'CAROL' })).status, 409);

    const port = a.port;
    await a.stop();
    a = await start(port);
    const found = await scim(a, 'GET', `/Users?filter=${encodeURIComponent('externalId eq "ext-carol"')}`);
    assert.equal(found.body.totalResults, 1);
    const carol = found.body.Resources[0];
    assert.deepEqual([carol.id, carol.displayName, carol.meta.version, carol.groups.map((x: { display: string }) => x.display)], [u.body.id, 'Carol', 'W/"2"', ['engineers']]);
    // The store holds SCIM state encrypted, like sessions: no user or group name in clear in redis.
    const client = new Redis(redis.url);
    try {
      const keys = await client.keys('*scim*');
      assert.ok(keys.length >= 4, keys.join(' '));
      const dump = [...keys, ...(await Promise.all(keys.map((k) => client.type(k).then((t) => (t === 'string' ? client.get(k) : client.smembers(k).then((m) => m.join(' ')))))))].join('\n');
      for (const clear of ['carol', 'ext-carol', 'engineers', 'Carol']) assert.ok(!dump.includes(clear), `"${clear}" in clear in redis`);
    } finally {
      client.disconnect();
    }
    assert.ok(nb.seen.some((r) => r.url.startsWith('/api/users/users/?')), 'the lifecycle asked NetBox about the user');
  });
});
