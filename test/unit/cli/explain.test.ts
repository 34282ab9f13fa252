// `netbox-gate explain --json`: the documented object, for the policy cases users rely on.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeTempDirSync } from '../../support/temp.js';

const bin = join(process.cwd(), 'bin', 'netbox-gate.js');
const tmp = makeTempDirSync('netbox-gate-explain-');
after(() => tmp.remove());
const dir = tmp.path;
const config = join(dir, 'gate.yaml');
writeFileSync(
  config,
  `server:
  publicUrl: https://netbox.example.org
netbox:
  url: http://127.0.0.1:8001
sources:
  - kind: oidc
    id: kc
    preset: keycloak
    keycloak: { url: "https://sso.example.org", realm: corp }
    clientId: netbox
    clientSecret: x
policy:
  defaultGroups: [netbox-users]
  rules:
    - name: admins
      groups: [administrator]
      superuser: true
    - name: backend-devs
      groups: ["developer/backend"]
      netboxGroups: [Backend]
    - name: net
      groups: [{ glob: "net-*" }]
      netboxGroups: [Network]
    - name: ops
      groups: [{ regex: "^ops-[0-9]+$" }]
      netboxGroups: [Ops]
    - name: contractors
      effect: deny
      groups: [contractors]
`,
);

function explain(claims: unknown, extra: string[] = ['--json']) {
  const f = join(dir, `claims-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify(claims));
  const r = spawnSync(process.execPath, [bin, 'explain', '--config', config, '--source', 'kc', '--claims', f, ...extra], { encoding: 'utf8' });
  return r;
}

function explainJson(claims: unknown) {
  const r = explain(claims);
  assert.equal(r.status, 0, r.stderr);
  const obj = JSON.parse(r.stdout) as { allowed: boolean; username: string; groups: string[]; superuser: boolean; trace: Array<{ rule: string; effect: string; matched: string[] }>; reason?: string };
  assert.equal(typeof obj.allowed, 'boolean');
  assert.equal(typeof obj.username, 'string');
  assert.ok(Array.isArray(obj.groups) && Array.isArray(obj.trace));
  return obj;
}

describe('netbox-gate explain --json', () => {
  it('prints exactly one JSON object', () => {
    const r = explain({ sub: '1', preferred_username: 'ann', groups: ['administrator'] });
    assert.doesNotThrow(() => JSON.parse(r.stdout));
    assert.equal(r.stderr, '');
  });
  it('deny beats allow', () => {
    const o = explainJson({ sub: '1', preferred_username: 'ann', groups: ['administrator', 'contractors'] });
    assert.equal(o.allowed, false);
    assert.equal(o.reason, 'denied by rule "contractors"');
    assert.equal(o.superuser, false);
    assert.deepEqual(o.groups, []);
    assert.deepEqual(o.trace.map((t) => t.rule), ['admins', 'contractors']);
  });
  it('glob and regex, with default groups, sorted', () => {
    const o = explainJson({ sub: '1', preferred_username: 'ann', groups: ['ops-42', 'net-core'] });
    assert.equal(o.allowed, true);
    assert.deepEqual(o.groups, ['Network', 'Ops', 'netbox-users']);
    assert.equal(o.superuser, false);
    assert.match(o.trace.find((t) => t.rule === 'net')!.matched[0]!, /glob "net-\*"/);
    assert.match(o.trace.find((t) => t.rule === 'ops')!.matched[0]!, /regex/);
  });
  it('Keycloak full group paths are normalised', () => {
    const o = explainJson({ sub: '1', preferred_username: 'ann', groups: ['/developer/backend', '/administrator'] });
    assert.equal(o.allowed, true);
    assert.equal(o.superuser, true);
    assert.deepEqual(o.groups, ['Backend', 'netbox-users']);
  });
  it('no matching rule: refused with the reason', () => {
    const o = explainJson({ sub: '1', preferred_username: 'ann', groups: ['marketing'] });
    assert.equal(o.allowed, false);
    assert.equal(o.reason, 'no allow rule matched');
    assert.deepEqual(o.trace, []);
  });
  it('a token without the user name claim is explained, not a crash', () => {
    const o = explainJson({ sub: '1', groups: ['administrator'] });
    assert.equal(o.allowed, false);
    assert.match(o.reason!, /preferred_username/);
  });
  it('human output names the rules and why', () => {
    const r = explain({ sub: '1', preferred_username: 'ann', groups: ['net-edge'] }, []);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /decision: +ALLOWED/);
    assert.match(r.stdout, /- net \(allow\) gives group "Network"/);
  });
  it('bad input gets a clear error, no stack trace', () => {
    const f = join(dir, 'broken.json');
    writeFileSync(f, '{not json');
    const r = spawnSync(process.execPath, [bin, 'explain', '--config', config, '--source', 'kc', '--claims', f], { encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /cannot read claims from .*broken\.json/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const u = spawnSync(process.execPath, [bin, 'explain', '--config', config, '--source', 'nope', '--claims', f], { encoding: 'utf8' });
    assert.match(u.stderr, /no source with id "nope"/);
  });
});
