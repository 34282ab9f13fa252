// Every shipped example config passes `netbox-gate check` (with placeholder values for the
// ${env:} secrets it references), so the docs never show a config that does not load.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { oidcSourceSchema } from '../../src/sources/oidc/config.js';

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

describe('examples/oidc.yaml', () => {
  // It says it shows every key: each key of an OIDC source (apart from the per-provider preset
  // blocks, shown in their own examples) appears in it as a key.
  it('shows every key of an OIDC source', () => {
    const text = readFileSync(join(root, 'examples', 'oidc.yaml'), 'utf8');
    const presetBlocks = new Set(['keycloak', 'authentik', 'entra', 'okta']);
    const missing = Object.keys(oidcSourceSchema.shape).filter((k) => !presetBlocks.has(k) && !new RegExp(`^ +(- )?#? ?${k}:`, 'm').test(text));
    assert.deepEqual(missing, [], `examples/oidc.yaml lacks ${missing.join(', ')}`);
  });
});
