// `serve` reads its config in a child process (src/config/isolated.ts): what comes back must be
// what `check` and every other command get from load.ts in process, problems included.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfigIsolated } from '../../../src/config/isolated.js';
import { loadConfigFile } from '../../../src/config/load.js';
import { ConfigError, GateError } from '../../../src/errors.js';
import { decide } from '../../../src/policy/evaluate.js';
import type { Identity } from '../../../src/types.js';

const dir = mkdtempSync(join(tmpdir(), 'netbox-gate-isolated-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const CONFIG = `server:
  listen: 127.0.0.1:8080
  publicUrl: https://netbox.example.org
  trustedProxies: [10.0.0.0/8]
netbox:
  url: http://127.0.0.1:8001
  groupSeparator: ";"
sessions:
  encryptionKeys: ["\${env:ISOLATED_TEST_KEY}"]
sources:
  - kind: oidc
    id: corp
    preset: keycloak
    keycloak: { url: https://sso.example.org, realm: corp }
    clientId: netbox
    clientSecret: \${file:secret.txt}
  - kind: radius
    id: aaa
    servers: [192.0.2.1]
    secret: s
policy:
  defaultGroups: [netbox-users]
  rules:
    - name: admins
      groups: [{ glob: "net-admin*" }]
      netboxGroups: [Admins]
      superuser: true
    - name: ops
      sources: [aaa]
      claims: { Class: { regex: "^ops-" } }
      netboxGroups: [Ops]
    - name: nobody-else
      effect: deny
      users: [mallory]
`;

describe('the config read in a child process', () => {
  const env = { ...process.env, ISOLATED_TEST_KEY: Buffer.alloc(32, 7).toString('base64') };

  it('is the config load.ts gives, with a policy that decides the same', async () => {
    const file = join(dir, 'good.yaml');
    writeFileSync(file, CONFIG);
    writeFileSync(join(dir, 'secret.txt'), 'the-client-secret\n');
    const saved = process.env.ISOLATED_TEST_KEY;
    process.env.ISOLATED_TEST_KEY = env.ISOLATED_TEST_KEY;
    try {
      const inProcess = loadConfigFile(file, env);
      const isolated = await loadConfigIsolated(file);
      const { policy: a, ...restA } = inProcess;
      const { policy: b, ...restB } = isolated;
      assert.deepStrictEqual(restB, restA);
      const corp = restB.sources[0]!;
      assert.equal(corp.kind === 'oidc' && corp.clientSecret, 'the-client-secret', '${file:} resolved next to the config');
      assert.deepEqual(
        b.rules.map((r) => r.name),
        a.rules.map((r) => r.name),
      );
      const people: Identity[] = [
        { sourceId: 'corp', sourceKind: 'oidc', subject: '1', username: 'ann', groups: ['net-admins'], attributes: {} },
        { sourceId: 'aaa', sourceKind: 'radius', subject: '2', username: 'olaf', groups: [], attributes: { Class: ['ops-3'] } },
        { sourceId: 'corp', sourceKind: 'oidc', subject: '3', username: 'mallory', groups: ['net-admins'], attributes: {} },
        { sourceId: 'corp', sourceKind: 'oidc', subject: '4', username: 'eve', groups: ['other'], attributes: {} },
      ];
      for (const p of people) assert.deepStrictEqual(decide(b, p), decide(a, p), p.username);
      assert.equal(decide(b, people[0]!).superuser, true);
      assert.equal(decide(b, people[2]!).allowed, false);
    } finally {
      if (saved === undefined) delete process.env.ISOLATED_TEST_KEY;
      else process.env.ISOLATED_TEST_KEY = saved;
    }
  });

  it('reports the problems load.ts reports, with paths and lines', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, CONFIG.replace('192.0.2.1', 'radius.example.org:99999').replace('${env:ISOLATED_TEST_KEY}', '${env:ISOLATED_TEST_UNSET}'));
    const expected = (() => {
      try {
        loadConfigFile(file);
      } catch (e) {
        return e as ConfigError;
      }
      assert.fail('load.ts accepted the bad config');
    })();
    assert.ok(expected instanceof ConfigError && expected.issues.length >= 2);
    await assert.rejects(loadConfigIsolated(file), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepStrictEqual(e.issues, expected.issues);
      assert.equal(e.message, expected.message);
      return true;
    });
  });

  it('names a file it cannot read, with the code load.ts gives', async () => {
    const file = join(dir, 'missing.yaml');
    await assert.rejects(loadConfigIsolated(file), (e: unknown) => {
      assert.ok(e instanceof GateError && !(e instanceof ConfigError));
      assert.equal(e.code, 'ERR_CONFIG_READ');
      assert.equal(e.message, `cannot read config file ${file}: ENOENT`);
      return true;
    });
  });
});
