// Configs shown in docs/ must load: every ```yaml block that is a whole config (has `sources:`
// and `policy:`) passes `netbox-gate check`; a block that is only a source entry or a policy is
// validated against its own schema. Docs that drift from the code fail here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { sourceSchema } from '../../src/config/schema.js';
import { policySchema, ruleSchema } from '../../src/policy/schema.js';

const root = process.cwd();
const bin = join(root, 'bin', 'netbox-gate.js');
const dir = mkdtempSync(join(tmpdir(), 'nbg-docs-'));

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
