// `netbox-gate explain --json` for the AAA sources, run as the real CLI against the shipped
// examples/radius.yaml and examples/tacacs.yaml: RADIUS reply attributes and TACACS+ AV pairs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeTempDirSync } from '../../support/temp.js';

const root = process.cwd();
const bin = join(root, 'bin', 'netbox-gate.js');
const tmp = makeTempDirSync('netbox-gate-explain-aaa-');
after(() => tmp.remove());
const dir = tmp.path;
// Distinctive, so the test can show they never reach the output.
const env = { ...process.env, RADIUS_SECRET: 'radius-secret-d41d8cd9', TACACS_SECRET: 'tacacs-secret-8f00b204' };

interface Explained {
  allowed: boolean;
  source: string;
  username: string;
  groups: string[];
  superuser: boolean;
  staff: boolean;
  email?: string;
  reason?: string;
  trace: Array<{ rule: string; effect: string; matched: string[]; groups: string[]; superuser: boolean; staff: boolean }>;
}

function explain(example: string, source: string, claims: unknown): Explained {
  const f = join(dir, `claims-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify(claims));
  const r = spawnSync(process.execPath, [bin, 'explain', '--config', join(root, 'examples', example), '--source', source, '--claims', f, '--json'], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.ok(!r.stdout.includes(env.RADIUS_SECRET) && !r.stdout.includes(env.TACACS_SECRET), 'no secret in the output');
  // Exactly one JSON object: JSON.parse refuses anything before or after it.
  const obj = JSON.parse(r.stdout) as Explained;
  assert.ok(obj !== null && typeof obj === 'object' && !Array.isArray(obj));
  const keys = ['allowed', 'source', 'username', 'groups', 'superuser', 'staff', 'trace'];
  if (obj.email !== undefined) keys.push('email');
  if (!obj.allowed) keys.push('reason');
  assert.deepEqual(Object.keys(obj).sort(), keys.sort());
  assert.equal(obj.source, source);
  assert.deepEqual(obj.groups, [...obj.groups].sort(), 'groups are sorted');
  return obj;
}

const ruleNames = (o: Explained) => o.trace.map((t) => `${t.rule}:${t.effect}`);

describe('netbox-gate explain --json, RADIUS (examples/radius.yaml)', () => {
  it('Class netbox-admin and Cisco-AVPair shell:role=network-operator: superuser and both mapped groups', () => {
    const o = explain('radius.yaml', 'aaa-radius', {
      'User-Name': 'alice',
      // ISE's per-session Class value is not a role and must not count as one.
      Class: ['netbox-admin', 'CACS:0a0a1e05abcd:ise-1/123456/7'],
      'Cisco-AVPair': ['shell:role="network-operator"', 'shell:priv-lvl=15'],
      'Acme-Email': ['alice@example.net'],
    });
    assert.equal(o.allowed, true);
    assert.equal(o.username, 'alice');
    assert.equal(o.superuser, true);
    assert.equal(o.email, 'alice@example.net');
    assert.deepEqual(o.groups, ['Network Operators', 'netbox-admin', 'netbox-staff']);
    assert.deepEqual(ruleNames(o), ['netbox-admins:allow', 'network-operators:allow']);
    assert.deepEqual(o.trace[0]!.matched, ['source is "aaa-radius"', 'group "netbox-admin" matches "netbox-admin"']);
    assert.equal(o.trace[0]!.superuser, true);
    assert.deepEqual(o.trace[1]!.groups, ['Network Operators']);
    assert.deepEqual(o.trace[1]!.matched, ['source is "aaa-radius"', 'group "network-operator" matches "network-operator"']);
  });

  it('Filter-Id netbox-viewer alone: a reader, not a superuser', () => {
    const o = explain('radius.yaml', 'aaa-radius', { 'User-Name': 'bob', 'Filter-Id': ['netbox-viewer'], 'Reply-Message': ['Welcome, bob'] });
    assert.equal(o.allowed, true);
    assert.equal(o.superuser, false);
    assert.deepEqual(o.groups, ['netbox-ro', 'netbox-staff']);
    assert.deepEqual(ruleNames(o), ['viewers:allow']);
  });

  it('denied: a contractor role wins over the admin role, and no groups are given', () => {
    const o = explain('radius.yaml', 'aaa-radius', { 'User-Name': 'mallory', Class: ['netbox-admin'], 'Cisco-AVPair': ['shell:role=contractor'] });
    assert.equal(o.allowed, false);
    assert.equal(o.username, 'mallory');
    assert.equal(o.reason, 'denied by rule "no-contractors"');
    assert.deepEqual(o.groups, []);
    assert.equal(o.superuser, false);
    assert.deepEqual(ruleNames(o), ['netbox-admins:allow', 'no-contractors:deny']);
  });

  it('denied: an Accept whose roles no rule maps (priv-lvl is not a role) gives no access', () => {
    const o = explain('radius.yaml', 'aaa-radius', { 'User-Name': 'dave', 'Cisco-AVPair': ['shell:priv-lvl=15'] });
    assert.equal(o.allowed, false);
    assert.equal(o.reason, 'no allow rule matched');
    assert.deepEqual(o.trace, []);
  });
});

describe('netbox-gate explain --json, TACACS+ (examples/tacacs.yaml)', () => {
  it('priv-lvl=15 and role=network-operator: superuser through tacacs-priv-15, profile from AV pairs', () => {
    const o = explain('tacacs.yaml', 'aaa-tacacs', {
      username: 'nora',
      av: ['priv-lvl=15', 'role=network-operator', 'givenName=Nora', 'sn=Netops', 'mail=nora@example.net'],
    });
    assert.equal(o.allowed, true);
    assert.equal(o.username, 'nora');
    assert.equal(o.superuser, true);
    assert.equal(o.email, 'nora@example.net');
    assert.deepEqual(o.groups, ['Network Operators', 'netbox-admin', 'netbox-staff']);
    assert.deepEqual(ruleNames(o), ['netbox-admins:allow', 'network-operators:allow']);
    assert.deepEqual(o.trace[0]!.matched, ['source is "aaa-tacacs"', 'group "tacacs-priv-15" matches "tacacs-priv-15"']);
  });

  it('priv-lvl=10 matches the operators regex; role=netbox-viewer adds readers', () => {
    const o = explain('tacacs.yaml', 'aaa-tacacs', { username: 'olga', av: ['priv-lvl=10', 'role=netbox-viewer'] });
    assert.equal(o.allowed, true);
    assert.equal(o.superuser, false);
    assert.deepEqual(o.groups, ['Network Operators', 'netbox-ro', 'netbox-staff']);
    assert.match(o.trace.find((t) => t.rule === 'network-operators')!.matched[1]!, /^group "tacacs-priv-10" matches /);
  });

  it('denied: role=contractor, even with priv-lvl=15', () => {
    const o = explain('tacacs.yaml', 'aaa-tacacs', { username: 'mallory', av: ['priv-lvl=15', 'role=contractor'] });
    assert.equal(o.allowed, false);
    assert.equal(o.reason, 'denied by rule "no-contractors"');
    assert.deepEqual(o.groups, []);
    assert.equal(o.superuser, false);
  });

  it('denied: authentication only (no AV pairs) matches no allow rule', () => {
    const o = explain('tacacs.yaml', 'aaa-tacacs', { username: 'guest', av: [] });
    assert.equal(o.allowed, false);
    assert.equal(o.reason, 'no allow rule matched');
  });

  it('hostile input (no username) is a denial with the reason, still one JSON object', () => {
    const o = explain('tacacs.yaml', 'aaa-tacacs', { av: ['priv-lvl=15'] });
    assert.equal(o.allowed, false);
    assert.match(o.reason ?? '', /needs "username"/);
    assert.equal(o.superuser, false);
  });
});
