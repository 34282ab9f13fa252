// `netbox-gate sessions`: usage errors and a memory store are explained, not crashes. The
// commands against a real Redis are in test/integration/redis-gateway.test.ts and
// test/e2e/replicas.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { attachDashValues } from '../../../src/cli/main.js';
import { makeTempDirSync } from '../../support/temp.js';

const bin = join(process.cwd(), 'bin', 'netbox-gate.js');
const tmp = makeTempDirSync('netbox-gate-sessions-');
after(() => tmp.remove());
const config = (sessions: string) => {
  const f = join(tmp.path, `gate-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    f,
    `server:
  publicUrl: https://netbox.example.org
netbox:
  url: http://127.0.0.1:8001
${sessions}
sources:
  - kind: radius
    id: aaa
    servers: [127.0.0.1]
    secret: s
policy:
  rules:
    - name: admins
      groups: [admins]
`,
  );
  return f;
};
const cli = (...args: string[]) => spawnSync(process.execPath, [bin, 'sessions', ...args], { encoding: 'utf8' });

describe('netbox-gate sessions', () => {
  it('with the memory store: says the sessions live in the running gateway, exit 1', () => {
    const r = cli('list', '--config', config(''));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /sessions\.store is "memory": sessions live inside the running gateway process/);
  });
  it('revoke needs exactly one of --user and --id; an unknown sub-command is a usage error', () => {
    const f = config('');
    for (const args of [['revoke', '--config', f], ['revoke', '--user', 'a', '--id', 'b', '--config', f], ['purge', '--config', f], []]) {
      const r = cli(...args);
      assert.equal(r.status, 2, args.join(' '));
      assert.match(r.stderr, /sessions (revoke needs --user U or --id ID|needs list or revoke)/);
    }
  });
  it('an id or user name that begins with "-" (base64url ids may) is taken as printed, not as an option', () => {
    const f = config('');
    for (const args of [['revoke', '--id', '-H6qJOCYBTsi2Jeo', '--config', f], ['revoke', '--config', f, '--user', '-bob'], ['list', '--user', '-bob', '--config', f]]) {
      const r = cli(...args);
      // Past argument parsing: the memory store's explanation, not a usage error.
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /sessions\.store is "memory"/);
    }
    assert.deepEqual(attachDashValues(['--id', '-x', '--json', '--user', '--config', 'f'], { id: { type: 'string' }, user: { type: 'string' }, json: { type: 'boolean' }, config: { type: 'string' } }), ['--id=-x', '--json', '--user', '--config', 'f']);
  });
  it('Redis unreachable: a clear error naming the store, never its password', () => {
    const f = config(`sessions:\n  store: { type: redis, url: "redis://user:hunter2@127.0.0.1:1/0", connectTimeout: 200ms, commandTimeout: 200ms }\n  encryptionKeys: ["${Buffer.alloc(32, 1).toString('base64')}"]`);
    const r = cli('list', '--config', f);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the session store \(redis:\/\/127\.0\.0\.1:1\/0\) failed/);
    assert.doesNotMatch(r.stderr + r.stdout, /hunter2/);
  });
});
