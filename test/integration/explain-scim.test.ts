// `netbox-gate explain` beside what SCIM says: the gateway refuses the sign-in of a user the
// identity provider deactivated through SCIM whatever the policy allows, so explain, which
// shows the policy's decision, says so when the shared store holds that state. The SCIM state
// is written by the real SCIM service into a real redis-server through the store the config
// opens (encrypted, as the gateway writes it); explain runs as the administrator runs it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadConfigFile } from '../../src/config/load.js';
import { createScimService } from '../../src/scim/service.js';
import { openStore } from '../../src/store/open.js';
import type { KeyValueStore } from '../../src/store/store.js';
import { silentLogger } from '../../src/types.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { cliPath } from '../support/repo.js';
import { makeTempDir, type TempDir } from '../support/temp.js';

const run = promisify(execFile);
const KEY = randomBytes(32).toString('base64');
const SCIM_TOKEN = randomBytes(24).toString('base64url');

const yaml = (store: string) => `server:
  publicUrl: https://netbox.example.org
netbox:
  url: http://127.0.0.1:8001
  api:
    url: http://127.0.0.1:8001
    token: "${'0'.repeat(40)}"
sessions:
  encryptionKeys: ["${KEY}"]
  store:
${store}
scim:
  enabled: true
  tokens: ["${SCIM_TOKEN}"]
sources:
  - kind: oidc
    id: kc
    issuer: https://sso.example.org/realms/corp
    clientId: netbox
    clientSecret: x
policy:
  rules:
    - name: engineers
      groups: [network-engineers]
      netboxGroups: [Network]
`;

describe('explain and SCIM deactivation (redis-server)', () => {
  let redis: RedisServer;
  let tmp: TempDir;
  let config: string;
  let claims: string;
  let store: KeyValueStore;

  const explain = async (file: string, ...extra: string[]) => {
    const r = await run(process.execPath, [cliPath(), 'explain', '--config', file, '--source', 'kc', '--claims', claims, ...extra], { encoding: 'utf8' });
    return r.stdout;
  };
  const scim = (method: string, path: string, body?: unknown) =>
    createScimService({
      store,
      // No NetBox here: what reaches NetBox is tested in deprovision.test.ts and scim tests.
      lifecycle: { async deactivate() {}, async activate() {}, async groupsChanged() {} },
      tokens: [SCIM_TOKEN],
      sourceId: 'scim',
      baseUrl: 'https://netbox.example.org/.netbox-gate/scim/v2',
      logger: silentLogger,
    }).handle({ method, path, query: new URLSearchParams(), authorization: `Bearer ${SCIM_TOKEN}`, ...(body !== undefined ? { body } : {}) });

  before(async () => {
    redis = await startRedis();
    tmp = await makeTempDir('netbox-gate-explain-scim-');
    config = join(tmp.path, 'gate.yaml');
    writeFileSync(config, yaml(`    type: redis\n    url: ${redis.url}`));
    claims = join(tmp.path, 'bob.json');
    writeFileSync(claims, JSON.stringify({ sub: 'b1', preferred_username: 'bob', groups: ['network-engineers'] }));
    store = await openStore(loadConfigFile(config).sessions, silentLogger);
  });
  after(async () => {
    await store?.close();
    await redis?.remove();
    await tmp?.remove();
  });

  it('a user SCIM has not provisioned: the policy decision, and that SCIM does not know the user', async () => {
    const out = await explain(config);
    assert.match(out, /^decision: +ALLOWED$/m);
    assert.match(out, /^scim: +not provisioned through SCIM$/m);
  });

  it('a user the identity provider deactivated: ALLOWED by the policy, and the line that says the sign-in is refused', async () => {
    const created = await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'bob', active: true });
    assert.equal(created.status, 201);
    const id = (created.body as { id: string }).id;
    assert.match(await explain(config), /^scim: +active$/m);

    const off = await scim('PATCH', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] });
    assert.equal(off.status, 200);
    const out = await explain(config);
    assert.match(out, /^decision: +ALLOWED$/m);
    assert.match(out, /^scim: +INACTIVE: the identity provider deactivated this account, so the sign-in is refused whatever the policy decides \(deactivated_at_source\)$/m);
    const json = JSON.parse(await explain(config, '--json')) as { allowed: boolean; scim?: { status: string } };
    assert.equal(json.allowed, true);
    assert.deepEqual(json.scim, { status: 'inactive' });

    const on = await scim('PATCH', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: true }] });
    assert.equal(on.status, 200);
    assert.match(await explain(config), /^scim: +active$/m);
  });

  it('a store that does not answer: the decision all the same, and why SCIM was not checked', async () => {
    const down = join(tmp.path, 'down.yaml');
    writeFileSync(down, yaml(`    type: redis\n    url: redis://127.0.0.1:1/0\n    connectTimeout: 1s`));
    const out = await explain(down);
    assert.match(out, /^decision: +ALLOWED$/m);
    assert.match(out, /^scim: +not checked: the session store \(redis:\/\/127\.0\.0\.1:1\/0\) failed on get: not connected \(connect ECONNREFUSED 127\.0\.0\.1:1\)$/m);
    assert.doesNotMatch(out, /\n\s+at /, 'no stack trace');
  });

  it('a memory store: SCIM state lives in the running gateway, and explain says it did not look', async () => {
    const mem = join(tmp.path, 'memory.yaml');
    writeFileSync(mem, yaml('    type: memory'));
    const out = await explain(mem);
    assert.match(out, /^decision: +ALLOWED$/m);
    assert.match(out, /^scim: +not checked: sessions\.store is "memory": the SCIM state lives inside the running gateway$/m);
  });

  it('a denied user: no SCIM line (nothing to add to a refusal)', async () => {
    const carol = join(tmp.path, 'carol.json');
    writeFileSync(carol, JSON.stringify({ sub: 'c1', preferred_username: 'carol', groups: ['contractors'] }));
    const r = await run(process.execPath, [cliPath(), 'explain', '--config', config, '--source', 'kc', '--claims', carol], { encoding: 'utf8' });
    assert.match(r.stdout, /^decision: +DENIED: no allow rule matched$/m);
    assert.doesNotMatch(r.stdout, /^scim:/m);
  });
});
