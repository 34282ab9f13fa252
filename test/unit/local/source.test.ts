// The local source as the gateway builds it from a config: the users file read relative to the
// config, sign-in for the right password only, one refusal for wrong passwords and unknown users,
// problems with file and line, notices, the policy rule for break-glass, and `explain`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfigFile, type GateConfig } from '../../../src/config/load.js';
import { ConfigError, isGateError } from '../../../src/errors.js';
import { decide } from '../../../src/policy/evaluate.js';
import { createSource } from '../../../src/sources/factory.js';
import { hashPassword } from '../../../src/sources/local/password-hash.js';
import type { PasswordSource } from '../../../src/sources/source.js';
import { silentLogger } from '../../../src/types.js';
import { makeTempDirSync } from '../../support/temp.js';

const tmp = makeTempDirSync('netbox-gate-local-');
after(() => tmp.remove());
const CHEAP = { memory: 64, passes: 1, parallelism: 1 };
const ctx = { clientIp: '127.0.0.1' };
const REFERENCE_HASH = '$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc';

function config(usersFile: string): string {
  return `server:
  publicUrl: https://netbox.example.org
netbox:
  url: http://127.0.0.1:8001
sources:
  - kind: radius
    id: aaa
    servers: [127.0.0.1]
    secret: s
  - kind: local
    id: emergency
    usersFile: ${usersFile}
policy:
  rules:
    - name: break-glass
      sources: emergency
      groups: break-glass
      superuser: true
`;
}

function load(name: string, users: string, usersName = 'users.yaml'): GateConfig {
  const dir = join(tmp.path, name);
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'etc', usersName), users, { mode: 0o640 });
  writeFileSync(join(dir, 'gate.yaml'), config(`etc/${usersName}`));
  return loadConfigFile(join(dir, 'gate.yaml'), {});
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('the config loaded');
}

describe('local source', () => {
  let cfg: GateConfig;
  let source: PasswordSource;
  before(async () => {
    const root = await hashPassword('root-pw', CHEAP);
    const viewer = await hashPassword('viewer-pw', CHEAP);
    cfg = load('ok', `users:\n  - name: ops-root\n    hash: "${root}"\n    groups: [break-glass]\n    email: ops@example.org\n  - name: viewer\n    hash: "${viewer}"\n`);
    source = createSource(cfg.sources[1]!, { logger: silentLogger }) as PasswordSource;
  });
  after(() => source?.close());

  it('reads the users file relative to the config file', () => {
    const sc = cfg.sources[1]!;
    assert.equal(sc.kind, 'local');
    assert.ok(sc.kind === 'local' && sc.usersFile === join(tmp.path, 'ok', 'etc', 'users.yaml'));
    assert.deepEqual(cfg.notices, []);
    assert.equal(source.flow, 'password');
    assert.equal(source.displayName, 'Local account');
  });

  it('signs in with the right password; the policy makes a break-glass user superuser', async () => {
    const { identity } = await source.authenticate('ops-root', 'root-pw', ctx);
    assert.deepEqual(
      { ...identity, attributes: undefined },
      { sourceId: 'emergency', sourceKind: 'local', subject: 'ops-root', username: 'ops-root', email: 'ops@example.org', groups: ['break-glass'], attributes: undefined },
    );
    const d = decide(cfg.policy, identity);
    assert.equal(d.allowed, true);
    assert.equal(d.superuser, true);
    const other = decide(cfg.policy, (await source.authenticate('viewer', 'viewer-pw', ctx)).identity);
    assert.equal(other.allowed, false, 'no rule lets a user without the group in');
  });

  it('refuses a wrong password and an unknown user alike', async () => {
    const refusals = await Promise.all(
      [
        ['ops-root', 'wrong'],
        ['ops-root', 'Root-pw'],
        ['OPS-ROOT', 'root-pw'],
        ['nobody', 'root-pw'],
        ['viewer', 'root-pw'],
        ['ops-root', ''],
      ].map(([u, p]) => source.authenticate(u!, p!, ctx).then(() => assert.fail(`${u} signed in`), (e: unknown) => e)),
    );
    for (const e of refusals) assert.ok(isGateError(e, 'ERR_AUTH_REJECTED'), String(e));
    const messages = new Set(refusals.slice(0, 5).map((e) => (e as Error).message));
    assert.deepEqual([...messages], ['Invalid username or password']);
    assert.deepEqual(
      refusals.map((e) => (e as { detail: { reason: string } }).detail.reason),
      ['wrong_password', 'wrong_password', 'unknown_user', 'unknown_user', 'wrong_password', 'empty_password'],
    );
  });

  it('a burst beyond two running checks and 64 waiting is refused as unavailable, the rest are answered', async () => {
    const results = await Promise.allSettled(Array.from({ length: 70 }, (_, i) => source.authenticate('ops-root', i === 0 ? 'root-pw' : 'wrong', ctx)));
    const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code));
    assert.equal(codes[0], 'ok');
    assert.equal(codes.filter((c) => c === 'ERR_AUTH_REJECTED').length, 65);
    assert.deepEqual(codes.slice(66), Array(4).fill('ERR_SOURCE_UNAVAILABLE'));
    // And the source still answers afterwards.
    assert.equal((await source.authenticate('ops-root', 'root-pw', ctx)).identity.username, 'ops-root');
  });

  it('an unknown user takes the same path as a known one: a full argon2id check, through the same bound', async () => {
    // Observable without a clock: unknown names fill the two running checks and the queue of 64
    // exactly as known names do, so each costs one real computation (against the decoy).
    const results = await Promise.allSettled(Array.from({ length: 70 }, (_, i) => source.authenticate(`nobody-${i}`, 'root-pw', ctx)));
    const codes = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as { code: string }).code));
    assert.deepEqual(codes, [...Array(66).fill('ERR_AUTH_REJECTED'), ...Array(4).fill('ERR_SOURCE_UNAVAILABLE')]);
  });

  it('the same identity from attributes as at sign-in (explain)', async () => {
    const signedIn = (await source.authenticate('ops-root', 'root-pw', ctx)).identity;
    assert.deepEqual(source.identityFromAttributes(signedIn.attributes), signedIn);
  });

  it('reads name:hash:groups lines when the file is not YAML', async () => {
    const c = load('lines', `# comment\nadmin:${await hashPassword('pw', CHEAP)}:break-glass,ops\n`, 'break-glass.users');
    const s = createSource(c.sources[1]!, { logger: silentLogger }) as PasswordSource;
    assert.deepEqual((await s.authenticate('admin', 'pw', ctx)).identity.groups, ['break-glass', 'ops']);
  });

  it('a broken users file is a config problem naming the file and line', () => {
    const [p, ...rest] = problems(() => load('broken', `users:\n  - name: a\n    hash: "$2b$10$abcdefghijklmnopqrstuv"\n`));
    assert.deepEqual(rest, []);
    assert.equal(p, `sources.1.usersFile: ${join(tmp.path, 'broken', 'etc', 'users.yaml')}:3: users[0]: user "a": bcrypt hashes are not supported; make an argon2id hash with \`netbox-gate hash-password\``);
    const lines = problems(() => load('broken-lines', 'ok-line-missing-hash\n', 'users.txt'));
    assert.deepEqual(lines, [`sources.1.usersFile: ${join(tmp.path, 'broken-lines', 'etc', 'users.txt')}:1: expected name:hash or name:hash:group,group`]);
  });

  it('a missing users file is a config problem naming it', () => {
    const dir = join(tmp.path, 'missing');
    mkdirSync(dir);
    writeFileSync(join(dir, 'gate.yaml'), config('/nonexistent/users.yaml'));
    assert.deepEqual(problems(() => loadConfigFile(join(dir, 'gate.yaml'), {})), ['sources.1.usersFile: cannot read users file /nonexistent/users.yaml: ENOENT']);
  });

  it('notes a users file without users and one every account can read', () => {
    const c = load('notices', '');
    chmodSync(join(tmp.path, 'notices', 'etc', 'users.yaml'), 0o644);
    const c2 = loadConfigFile(c.file, {});
    assert.deepEqual(c.notices.map((n) => n.message), [`${join(tmp.path, 'notices', 'etc', 'users.yaml')} lists no users: nobody can sign in with this source`]);
    assert.equal(c2.notices.length, 2);
    assert.match(c2.notices[1]!.message, /readable by every account on this machine; chmod o-r it/);
    const mixed = load('mixed', `a:${REFERENCE_HASH}\nb:${REFERENCE_HASH.replace('t=2', 't=3')}\n`, 'users');
    assert.deepEqual(mixed.notices.map((n) => n.message.replace(/^\S+ /, '')), ['mixes hash costs (m=65536,t=2,p=1; m=65536,t=3,p=1): make every hash with the same settings so refusals take the same time']);
  });

  it('`netbox-gate explain` shows what the policy gives a break-glass account', () => {
    const claims = join(tmp.path, 'claims.json');
    writeFileSync(claims, JSON.stringify({ username: 'ops-root', groups: ['break-glass'] }));
    const r = spawnSync(process.execPath, [join(process.cwd(), 'bin', 'netbox-gate.js'), 'explain', '--config', cfg.file, '--source', 'emergency', '--claims', claims, '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { allowed: boolean; superuser: boolean; username: string; trace: Array<{ rule: string }> };
    assert.deepEqual([out.allowed, out.superuser, out.username, out.trace.map((t) => t.rule)], [true, true, 'ops-root', ['break-glass']]);
  });
});
