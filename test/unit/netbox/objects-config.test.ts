// Config checks for netboxObjects, netbox.api and the managed marker: every problem names its
// field and line, and the marker can be neither a privilege group nor a policy result.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../../src/config/load.js';
import { ConfigError, formatConfigIssue } from '../../../src/errors.js';

const base = (netbox = '', rest = '') => `server:
  publicUrl: https://netbox.example.org
netbox:
  url: http://127.0.0.1:8001
${netbox}sources:
  - kind: oidc
    id: corp
    issuer: https://idp.example.org
    clientId: netbox
policy:
  rules:
    - name: all
${rest}`;

const problems = (text: string): string[] => {
  try {
    parseConfigText(text, 'gate.yaml', {});
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map(formatConfigIssue);
    throw e;
  }
  return [];
};

describe('netboxObjects config', () => {
  it('a valid section parses with defaults', () => {
    const cfg = parseConfigText(base('', `netboxObjects:
  groups: [{ name: Engineers }]
  permissions:
    - name: eng
      objectTypes: [dcim.site]
      actions: [view]
      constraints: [{ status: active }, { tenant__slug: ops }]
      groups: [Engineers]
`), 'gate.yaml', {});
    assert.deepEqual(cfg.netboxObjects, {
      groups: [{ name: 'Engineers', description: '', adopt: false }],
      permissions: [{ name: 'eng', description: '', objectTypes: ['dcim.site'], actions: ['view'], constraints: [{ status: 'active' }, { tenant__slug: 'ops' }], enabled: true, groups: ['Engineers'], adopt: false }],
    });
    assert.equal(cfg.netbox.createGroups, true);
    assert.equal(cfg.netbox.managedGroup, 'netbox-gate-managed');
  });

  it('bad permissions: each problem names the field and its line', () => {
    const text = base('', `netboxObjects:
  groups:
    - name: Engineers
    - name: Engineers
  permissions:
    - name: eng
      objectTypes: [dcim.site, DCIM.Device]
      actions: [view, view]
      constraints: "status=active"
    - name: eng
      objectTypes: []
      actions: [view]
      constraints: [status]
      enabled: yes please
      description: "mine [managed by netbox-gate]"
`);
    assert.deepEqual(problems(text), [
      'netboxObjects.groups.1.name: group "Engineers" is declared twice (also netboxObjects.groups.0) (gate.yaml:16)',
      'netboxObjects.permissions.0.objectTypes.1: expected app_label.model in lower case, e.g. dcim.site (gate.yaml:19)',
      'netboxObjects.permissions.0.actions: each action may be listed once (gate.yaml:20)',
      'netboxObjects.permissions.0.constraints: expected a mapping of field lookups (e.g. { status: active }) or a list of such mappings (gate.yaml:21)',
      'netboxObjects.permissions.1.name: permission "eng" is declared twice (also netboxObjects.permissions.0) (gate.yaml:22)',
      'netboxObjects.permissions.1.objectTypes: name at least one object type (gate.yaml:23)',
      'netboxObjects.permissions.1.constraints: expected a mapping of field lookups (e.g. { status: active }) or a list of such mappings (gate.yaml:25)',
      'netboxObjects.permissions.1.enabled: Invalid input: expected boolean, received string (gate.yaml:26)',
      'netboxObjects.permissions.1.description: must not contain [managed by netbox-gate]; netbox-gate adds it (gate.yaml:27)',
    ]);
  });

  it('the managed marker can be neither the superuser group nor a group the policy gives', () => {
    const text = base('  managedGroup: admins\n  superuserGroup: admins\n', `      netboxGroups: [ok, admins]
`).replace('policy:\n', 'policy:\n  defaultGroups: [admins]\n');
    assert.deepEqual(problems(text), [
      'netbox.managedGroup: must differ from netbox.superuserGroup: the marker of managed users must not give privileges (gate.yaml:5)',
      `policy.defaultGroups.0: "admins" is netbox.managedGroup, the gateway's marker of the users it manages; the policy cannot give it (the gateway always sends it) (gate.yaml:13)`,
      `policy.rules.0.netboxGroups.1: "admins" is netbox.managedGroup, the gateway's marker of the users it manages; the policy cannot give it (the gateway always sends it) (gate.yaml:16)`,
    ]);
  });

  it('the managed marker must be a group name NetBox takes from the header', () => {
    assert.deepEqual(problems(base('  managedGroup: "a|b"\n')), ['netbox.managedGroup: NetBox group name "a|b" contains the group separator "|" (gate.yaml:5)']);
    assert.deepEqual(problems(base('  managedGroup: " managed"\n')), ['netbox.managedGroup: NetBox group name " managed" has leading or trailing spaces (NetBox does not trim them) (gate.yaml:5)']);
  });

  it('netbox.api: token required, url optional, timeout a duration; an odd token shape is a notice', () => {
    assert.deepEqual(problems(base('  api:\n    url: ftp://x\n    timeout: 10\n')), [
      'netbox.api.token: Invalid input: expected string, received undefined (gate.yaml:5)',
      'netbox.api.url: expected an http:// or https:// URL (gate.yaml:6)',
      'netbox.api.timeout: expected a duration such as "5s", "10m" or "12h" (gate.yaml:7)',
    ]);
    const cfg = parseConfigText(base('  api:\n    token: hunter2\n'), 'gate.yaml', {});
    assert.equal(cfg.netbox.api?.timeout, 10_000);
    assert.deepEqual(cfg.notices.map(formatConfigIssue), ['netbox.api.token: neither a v2 token (nbt_<key>.<token>) nor a v1 token (40 hexadecimal characters); it is sent as a v1 token (gate.yaml:6)']);
    assert.deepEqual(parseConfigText(base('  api:\n    token: nbt_abc.def\n'), 'gate.yaml', {}).notices, []);
  });
});

describe('docs/permissions.md', () => {
  it('shows examples/permissions.yaml as it is', () => {
    const md = readFileSync('docs/permissions.md', 'utf8');
    const block = /<!-- examples\/permissions\.yaml -->\n```yaml\n([\s\S]*?)```/.exec(md);
    assert.ok(block, 'docs/permissions.md has no block marked <!-- examples/permissions.yaml -->');
    assert.equal(block[1], readFileSync('examples/permissions.yaml', 'utf8'));
  });
});
