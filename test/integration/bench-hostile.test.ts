// A smoke run of bench/hostile.ts (not a timed test): with a tiny phase duration it starts the
// real gateway, runs every attack, prints one row per phase and writes its JSON result where
// it is told. The numbers are not checked; only that the benchmark still works.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/repo.js';
import { tempDirFor } from '../support/temp.js';

describe('bench/hostile.ts', () => {
  it('runs every phase and writes a result named with date, cores and load average', async (t) => {
    const out = await tempDirFor(t, 'netbox-gate-bench-');
    const r = spawnSync(process.execPath, [join(repoRoot(), 'build', 'bench', 'hostile.js'), '--duration', '0.5', '--out', out], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    for (const phase of ['no attack', 'sign-in flood', 'trickled token bodies', 'silent connections', 'username flood', 'no attack, after']) {
      assert.match(r.stdout, new RegExp(`^${phase}  `, 'm'), `a row for ${phase}:\n${r.stdout}`);
    }
    const files = readdirSync(out);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^hostile-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d+c-load\d+\.\d{2}\.json$/);
    const result = JSON.parse(readFileSync(join(out, files[0]!), 'utf8')) as { phases: Array<{ phase: string; requests: number; errors: number }> };
    assert.equal(result.phases.length, 6);
    for (const p of result.phases) assert.ok(p.requests > 0, `${p.phase}: the user got answers`);
  });
});
