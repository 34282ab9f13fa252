import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseConfigText } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/errors.js';

const GOOD = `server:
  publicUrl: https://netbox.example.org
netbox:
  url: http://127.0.0.1:8001
sources:
  - kind: oidc
    id: corp
    issuer: https://idp.example.org
    clientId: netbox
    clientSecret: \${env:CLIENT_SECRET}
policy:
  rules:
    - name: admins
      groups: [admins]
      superuser: true
`;

// Temporary folders are removed when the file's tests end.
const made: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'netbox-gate-load-'));
  made.push(d);
  return d;
};
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}) {
  try {
    parseConfigText(text, '/etc/netbox-gate.yaml', env);
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues;
  }
  assert.fail('expected the config to be refused');
}

describe('config loading', () => {
  it('accepts a valid config and resolves ${env:} secrets', () => {
    const cfg = parseConfigText(GOOD, 'x.yaml', { CLIENT_SECRET: 's3cret' });
    assert.equal(cfg.sources[0]!.kind, 'oidc');
    assert.equal((cfg.sources[0] as { clientSecret?: string }).clientSecret, 's3cret');
    assert.equal(cfg.sessions.idleTimeout, 8 * 3600_000);
    assert.equal(cfg.netbox.headers.user, 'X-Remote-User');
  });

  it('reads ${file:} secrets relative to the config and trims one newline', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'secret.txt'), 'from-file\n');
    const cfg = parseConfigText(GOOD.replace('${env:CLIENT_SECRET}', '${file:secret.txt}'), join(dir, 'c.yaml'), {});
    assert.equal((cfg.sources[0] as { clientSecret?: string }).clientSecret, 'from-file');
  });

  it('lists every problem with its path and line', () => {
    const bad = GOOD.replace('  url: http://127.0.0.1:8001', '  url: http://127.0.0.1:8001\n  colour: blue')
      .replace('groups: [admins]', 'groups: [{regex: "(("}]')
      .replace('issuer: https://idp.example.org', 'issuer: idp.example.org');
    const issues = issuesOf(bad);
    const byPath = new Map(issues.map((i) => [i.path, i]));
    assert.equal(byPath.get('sources.0.clientSecret')?.line, 11);
    assert.match(byPath.get('sources.0.clientSecret')!.message, /CLIENT_SECRET is not set/);
    assert.equal(byPath.get('netbox.colour')?.line, 5);
    assert.match(byPath.get('netbox.colour')!.message, /unknown key/);
    assert.equal(byPath.get('sources.0.issuer')?.line, 9);
    assert.ok(byPath.has('policy.rules.0.groups.0.regex'), 'policy problems are listed in the same run');
    assert.ok(issues.every((i) => i.file === '/etc/netbox-gate.yaml'));
  });

  it('reports YAML syntax errors with a line', () => {
    const issues = issuesOf('server:\n  publicUrl: [unclosed\n');
    assert.equal(issues[0]!.path, '(yaml)');
    assert.ok((issues[0]!.line ?? 0) >= 2);
  });

  it('flags unknown policy source ids, duplicate sources and http issuers', () => {
    const text = GOOD.replace('issuer: https://idp.example.org', 'issuer: http://idp.example.org')
      .replace('      groups: [admins]', '      sources: [corpp]\n      groups: [admins]')
      .concat('');
    const issues = issuesOf(text, { CLIENT_SECRET: 'x' });
    assert.ok(issues.some((i) => i.path === 'policy.rules.0.sources' && /no source has id "corpp"/.test(i.message)));
    assert.ok(issues.some((i) => i.path === 'sources.0.issuer' && /insecureAllowHttpIssuer/.test(i.message)));
  });

  it('refuses injectable header names and group names containing the separator', () => {
    const text = GOOD.replace('  url: http://127.0.0.1:8001', '  url: http://127.0.0.1:8001\n  headers:\n    user: X_Remote_User\n  superuserGroup: "a|b"');
    const issues = issuesOf(text, { CLIENT_SECRET: 'x' });
    assert.ok(issues.some((i) => i.path === 'netbox.headers.user'));
    assert.ok(issues.some((i) => i.path === 'netbox.superuserGroup'));
  });
});

describe('netbox-gate check (CLI)', () => {
  const bin = join(process.cwd(), 'bin', 'netbox-gate.js');
  it('exits 0 for a valid file and non-zero with path: message (file:line) for a broken one', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ok.yaml'), GOOD);
    const ok = spawnSync(process.execPath, [bin, 'check', '--config', join(dir, 'ok.yaml')], { env: { ...process.env, CLIENT_SECRET: 'x' }, encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /OK/);
    writeFileSync(join(dir, 'bad.yaml'), GOOD.replace('clientId: netbox', 'clientId: netbox\n    clientSecert: typo'));
    const bad = spawnSync(process.execPath, [bin, 'check', '--config', join(dir, 'bad.yaml')], { env: { ...process.env, CLIENT_SECRET: 'x' }, encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.ok(bad.stderr.includes(`sources.0.clientSecert: unknown key "clientSecert" (${join(dir, 'bad.yaml')}:10)`), bad.stderr);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  });
});
