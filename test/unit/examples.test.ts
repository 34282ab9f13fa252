// Every shipped example config passes `netbox-gate check` (with placeholder values for the
// ${env:} secrets it references), so the docs never show a config that does not load.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = process.cwd();
const bin = join(root, 'bin', 'netbox-gate.js');
const files = readdirSync(join(root, 'examples')).filter((f) => f.endsWith('.yaml') && !f.endsWith('-source.yaml'));

describe('examples/', () => {
  it('has an example for each supported setup', () => {
    for (const want of ['oidc.yaml', 'keycloak.yaml', 'authentik.yaml', 'entra.yaml', 'okta.yaml']) assert.ok(files.includes(want), want);
  });
  for (const f of files) {
    it(`${f} passes check`, () => {
      const text = readFileSync(join(root, 'examples', f), 'utf8');
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const m of text.matchAll(/\$\{env:([^}]+)\}/g)) env[m[1]!.trim()] = 'placeholder-secret';
      const r = spawnSync(process.execPath, [bin, 'check', '--config', join(root, 'examples', f)], { env, encoding: 'utf8' });
      assert.equal(r.status, 0, `${f}: ${r.stderr}`);
    });
  }
});
