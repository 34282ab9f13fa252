// Configs shown in docs/ must load: every ```yaml block that is a whole config (has `sources:`
// and `policy:`) passes `netbox-gate check`; a block that is only a source entry or a policy is
// validated against its own schema. Each provider guide shows its example file byte for byte and
// says who gets in compared with the set-up it replaces. Docs that drift from the code fail here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { sourceSchema } from '../../src/config/schema.js';
import { policySchema, ruleSchema } from '../../src/policy/schema.js';

const root = process.cwd();
const bin = join(root, 'bin', 'netbox-gate.js');
const dir = mkdtempSync(join(tmpdir(), 'nbg-docs-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const blocks: Array<{ file: string; index: number; text: string }> = [];
for (const f of readdirSync(join(root, 'docs')).filter((x) => x.endsWith('.md'))) {
  const md = readFileSync(join(root, 'docs', f), 'utf8');
  [...md.matchAll(/```yaml\n([\s\S]*?)```/g)].forEach((m, i) => blocks.push({ file: f, index: i + 1, text: m[1]! }));
}

describe('docs/ YAML blocks', () => {
  it('there are config examples in the docs', () => assert.ok(blocks.length >= 10, String(blocks.length)));
  for (const b of blocks) {
    it(`${b.file} block ${b.index} is valid`, () => {
      const data = parse(b.text) as Record<string, unknown> | unknown[] | null;
      if (data && !Array.isArray(data) && 'server' in data && 'netbox' in data) {
        const file = join(dir, `${b.file}-${b.index}.yaml`);
        // ${file:} secrets point at the reader's files; give them a placeholder instead.
        writeFileSync(file, b.text.replace(/\$\{file:[^}]+\}/g, 'placeholder-secret'));
        const env: NodeJS.ProcessEnv = { ...process.env };
        for (const m of b.text.matchAll(/\$\{env:([^}]+)\}/g)) env[m[1]!.trim()] = 'placeholder-secret';
        const r = spawnSync(process.execPath, [bin, 'check', '--config', file], { env, encoding: 'utf8' });
        assert.equal(r.status, 0, `${b.file} block ${b.index}:\n${r.stderr}`);
        return;
      }
      // Fragments: policy rules, a sources list / source entry, or a policy.
      if (Array.isArray(data) && data.every((x) => x && typeof x === 'object' && 'name' in x && !('kind' in x))) {
        for (const rule of data) {
          const r = ruleSchema.safeParse(rule);
          assert.ok(r.success, `${b.file} block ${b.index}: ${JSON.stringify(r.error?.issues)}`);
        }
        return;
      }
      const asList = Array.isArray(data) ? data : data && 'sources' in data ? (data.sources as unknown[]) : data && 'kind' in data ? [data] : undefined;
      for (const s of asList ?? []) {
        const withSecrets = JSON.parse(JSON.stringify(s).replace(/\$\{(env|file):[^}]+\}/g, 'placeholder-secret'));
        const r = sourceSchema.safeParse(withSecrets);
        assert.ok(r.success, `${b.file} block ${b.index}: ${JSON.stringify(r.error?.issues)}`);
      }
      if (data && !Array.isArray(data) && 'policy' in data) {
        const r = policySchema.safeParse(data.policy);
        assert.ok(r.success, `${b.file} block ${b.index}: ${JSON.stringify(r.error?.issues)}`);
      }
      // Anything else (e.g. a proxy's own settings) is not ours to validate.
    });
  }
});

// The guide for each setup netbox-gate replaces, and the example file it must show in full.
const guides: Record<string, string[]> = {
  'keycloak.md': ['keycloak.yaml'],
  'authentik.md': ['authentik.yaml'],
  'entra.md': ['entra.yaml'],
  'okta.md': ['okta.yaml'],
  'pomerium.md': ['pomerium.yaml'],
  'oauth2-proxy.md': ['oauth2-proxy.yaml'],
  'radius.md': ['radius.yaml'],
  'tacacs.md': ['tacacs.yaml'],
  'ldap.md': ['ldap.yaml', 'ldap-source.yaml'],
};

describe('provider guides in docs/', () => {
  for (const [doc, examples] of Object.entries(guides)) {
    const md = readFileSync(join(root, 'docs', doc), 'utf8');
    // A block marked `<!-- examples/X.yaml -->` must be that file, byte for byte.
    const marked = [...md.matchAll(/<!-- (examples\/[\w.-]+\.yaml) -->\n```yaml\n([\s\S]*?)```/g)].map((m) => ({ file: m[1]!, text: m[2]! }));
    for (const ex of examples) {
      it(`${doc} shows examples/${ex} as it is`, () => {
        const block = marked.find((m) => m.file === `examples/${ex}`);
        assert.ok(block, `${doc} has no block marked <!-- examples/${ex} --> followed by a yaml fence`);
        assert.equal(block.text, readFileSync(join(root, 'examples', ex), 'utf8'), `${doc}: the block marked examples/${ex} differs from the file`);
      });
    }
    it(`${doc}: every marked block names an example that exists`, () => {
      for (const m of marked) assert.ok(existsSync(join(root, m.file)), `${doc} marks ${m.file}, which does not exist`);
    });
    it(`${doc} says who gets in compared with the set-up it replaces`, () => {
      assert.match(md, /^## Who gets in, compared with /m);
    });
  }
});
