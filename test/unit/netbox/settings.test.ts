import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../../src/config/load.js';
import { renderNetboxSettings } from '../../../src/netbox/settings.js';

const cfg = (extra = '') =>
  parseConfigText(
    `server:
  publicUrl: https://netbox.example.org
netbox:
  url: http://127.0.0.1:8001
${extra}sources:
  - kind: oidc
    id: corp
    issuer: https://idp.example.org
    clientId: netbox
policy:
  rules: [{ name: all }]
`,
    'x.yaml',
    {},
  );

describe('netbox-config', () => {
  it('python: remote auth settings matching the gateway headers, with the exposure warning', () => {
    const py = renderNetboxSettings(cfg(), 'python');
    for (const line of [
      'REMOTE_AUTH_ENABLED = True',
      "REMOTE_AUTH_BACKEND = 'netbox.authentication.RemoteUserBackend'",
      'REMOTE_AUTH_AUTO_CREATE_USER = True',
      "REMOTE_AUTH_HEADER = 'HTTP_X_REMOTE_USER'",
      "REMOTE_AUTH_USER_EMAIL = 'HTTP_X_REMOTE_USER_EMAIL'",
      "REMOTE_AUTH_USER_FIRST_NAME = 'HTTP_X_REMOTE_USER_FIRST_NAME'",
      "REMOTE_AUTH_USER_LAST_NAME = 'HTTP_X_REMOTE_USER_LAST_NAME'",
      'REMOTE_AUTH_GROUP_SYNC_ENABLED = True',
      "REMOTE_AUTH_GROUP_HEADER = 'HTTP_X_REMOTE_USER_GROUPS'",
      "REMOTE_AUTH_GROUP_SEPARATOR = '|'",
      "REMOTE_AUTH_SUPERUSER_GROUPS = ['netbox-gate-superusers']",
      'REMOTE_AUTH_AUTO_CREATE_GROUPS = True',
      "LOGOUT_REDIRECT_URL = 'https://netbox.example.org/.netbox-gate/logout'",
      "CSRF_TRUSTED_ORIGINS = ['https://netbox.example.org']",
    ]) {
      assert.ok(py.split('\n').includes(line), `missing: ${line}\n${py}`);
    }
    assert.match(py, /keep NetBox reachable ONLY through netbox-gate/);
    assert.doesNotMatch(py, /STAFF/, 'NetBox 4.7 has no is_staff');
  });
  it('env: netbox-docker variables; custom headers; staff groups for NetBox < 4.5', () => {
    const env = renderNetboxSettings(cfg('  version: "4.4"\n  headers: { user: X-Auth-User }\n  superuserGroup: nb-admins\n'), 'env');
    const lines = env.split('\n');
    assert.ok(lines.includes('REMOTE_AUTH_ENABLED=true'));
    assert.ok(lines.includes('REMOTE_AUTH_HEADER=HTTP_X_AUTH_USER'));
    assert.ok(lines.includes('REMOTE_AUTH_SUPERUSER_GROUPS=nb-admins'));
    assert.ok(lines.includes('REMOTE_AUTH_STAFF_GROUPS=netbox-gate-staff'));
    assert.ok(lines.includes('CSRF_TRUSTED_ORIGINS=https://netbox.example.org'));
  });
  it('env: a group name with spaces is pointed to configuration.py instead of being split', () => {
    const env = renderNetboxSettings(cfg('  superuserGroup: NetBox Admins\n'), 'env');
    assert.match(env, /# REMOTE_AUTH_SUPERUSER_GROUPS: a value contains spaces/);
    assert.doesNotMatch(env, /^REMOTE_AUTH_SUPERUSER_GROUPS=/m);
  });
  it('netbox.createGroups: false makes NetBox skip unknown groups (REMOTE_AUTH_AUTO_CREATE_GROUPS = False)', () => {
    const py = renderNetboxSettings(cfg('  createGroups: false\n'), 'python').split('\n');
    assert.ok(py.includes('REMOTE_AUTH_AUTO_CREATE_GROUPS = False'));
    assert.ok(renderNetboxSettings(cfg('  createGroups: false\n'), 'env').split('\n').includes('REMOTE_AUTH_AUTO_CREATE_GROUPS=false'));
  });
  it('the managed marker group is never a superuser group', () => {
    const py = renderNetboxSettings(cfg('  managedGroup: via-gateway\n'), 'python');
    assert.ok(py.split('\n').includes("REMOTE_AUTH_SUPERUSER_GROUPS = ['netbox-gate-superusers']"));
    assert.doesNotMatch(py, /via-gateway/);
  });
});
