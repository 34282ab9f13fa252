// Sign-in rate limits across replicas: two `netbox-gate serve` processes on one real
// redis-server share the per-user and per-address counters of the password form, so an attacker
// cannot multiply the allowed guesses by the number of replicas. Names and addresses reach Redis
// only as hashes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { hashPassword } from '../../src/sources/local/password-hash.js';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { CookieClient } from '../support/http-client.js';
import { freePort } from '../support/ports.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { makeTempDirSync } from '../support/temp.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

const run = promisify(execFile);
const PASSWORD = 'Break-Glass-5e1d';
const accept = { Accept: 'text/html' };

async function postForm(gw: RunningGateway, username: string, password: string): Promise<Response> {
  const client = new CookieClient();
  const page = await client.follow(`${gw.url}/.netbox-gate/login`, { headers: accept });
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.res.text())?.[1];
  assert.ok(csrf, 'the password form');
  return client.request(`${gw.url}/.netbox-gate/login`, {
    method: 'POST',
    headers: { ...accept, 'Content-Type': 'application/x-www-form-urlencoded', Origin: gw.url },
    body: new URLSearchParams({ csrf, next: '/', source: 'emergency', username, password }).toString(),
  });
}

describe('sign-in limits shared through Redis', { timeout: 120_000 }, () => {
  const tmp = makeTempDirSync('netbox-gate-rl-');
  let redis: RedisServer;
  let up: RecordingUpstream;
  const gws: RunningGateway[] = [];

  before(async () => {
    redis = await startRedis();
    up = await startRecordingUpstream();
    const usersFile = join(tmp.path, 'break-glass.users');
    writeFileSync(usersFile, `ops:${await hashPassword(PASSWORD)}:break-glass\n`);
    const key = randomBytes(32).toString('base64');
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      gws.push(
        await startGateway(
          (p) => `server:
  listen: 127.0.0.1:${p}
  publicUrl: http://127.0.0.1:${p}
netbox:
  url: ${up.url}
sessions:
  store: { type: redis, url: "${redis.url}", keyPrefix: "rl-test:" }
  encryptionKeys: ["${key}"]
signIn:
  rateLimit:
    perUser: { attempts: 3, window: 10m }
    perAddress: { attempts: 100, window: 10m }
sources:
  - kind: local
    id: emergency
    usersFile: ${usersFile}
policy:
  rules:
    - name: break-glass
      groups: break-glass
      superuser: true
`,
          {},
          port,
        ),
      );
    }
  });
  after(async () => {
    await Promise.allSettled(gws.map((g) => g.stop()));
    await up?.close();
    await redis?.remove();
    tmp.remove();
  });

  it('failures on one replica count on the other: the fourth guess is refused wherever it lands', async () => {
    const [a, b] = gws as [RunningGateway, RunningGateway];
    assert.equal((await postForm(a, 'ops', 'wrong-1')).status, 401);
    assert.equal((await postForm(b, 'ops', 'wrong-2')).status, 401);
    assert.equal((await postForm(a, 'ops', 'wrong-3')).status, 401);
    // Replica b has seen one failure itself; the shared count says three.
    const refused = await postForm(b, 'ops', PASSWORD);
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    assert.match(await refused.text(), /Too many sign-in attempts/);
    const refusedA = await postForm(a, 'ops', PASSWORD);
    assert.equal(refusedA.status, 429);
  });

  it('Redis holds the counters under hashed names only', async () => {
    const { stdout } = await run('redis-cli', ['-p', String(redis.port), '--scan', '--pattern', 'rl-test:rl:*']);
    const keys = stdout.split('\n').filter(Boolean);
    assert.ok(keys.length >= 2, `counters in Redis: ${keys.join(', ')}`);
    for (const k of keys) {
      assert.doesNotMatch(k, /ops|127\.0\.0\.1/);
    }
  });
});
