// A smoke run of bench/compare.ts, the benchmark behind `npm run bench` (not a timed test): with
// --smoke (1 s per load run, one round, 20 sign-ins per store, no real NetBox) it starts nginx,
// the bare Node proxy, both gateways and both oauth2-proxies, signs in through the demo IdP,
// loads each with wrk, and prints every row and ratio. The numbers are not checked; only that
// the benchmark still works, every target answered, and the result file is written.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/repo.js';
import { tempDirFor } from '../support/temp.js';

const TARGETS = ['direct (nginx)', 'bare Node proxy', 'netbox-gate session, memory', 'netbox-gate session, redis', 'netbox-gate token', 'oauth2-proxy cookie', 'oauth2-proxy redis'];

describe('bench/compare.ts (npm run bench)', () => {
  it('--smoke: a row for every target, every ratio, memory per session and the policy decision; a result file', async (t) => {
    const out = await tempDirFor(t, 'netbox-gate-bench-');
    const r = spawnSync(process.execPath, [join(repoRoot(), 'build', 'bench', 'compare.js'), '--smoke', '--out', out], { encoding: 'utf8', timeout: 90_000 });
    assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
    for (const target of TARGETS) assert.match(r.stdout, new RegExp(`^\\| ${target.replace(/[()]/g, '\\$&')} \\| \\d+ `, 'm'), `a row for ${target}:\n${r.stdout}`);
    for (const ratio of ['session (redis) / oauth2-proxy redis', 'session (redis) / bare Node proxy', 'token / oauth2-proxy cookie']) {
      assert.ok(r.stdout.includes(`| ${ratio} [target`), `the ratio ${ratio}:\n${r.stdout}`);
    }
    assert.match(r.stdout, /^\| memory \| \d+ \| live heap -?\d+, RSS -?\d+ /m);
    assert.match(r.stdout, /^\| redis \(encrypted\) \| \d+ \| used_memory -?\d+ /m);
    for (const identity of ['same', 'fresh', 'unseen']) assert.match(r.stdout, new RegExp(`^\\| ${identity} \\| \\d+ \\| [\\d.]+ / [\\d.]+ \\| [\\d.]+ / [\\d.]+ \\|$`, 'm'), `the policy row ${identity}`);
    assert.match(r.stdout, /^An arithmetic loop with the 'same' decision's median, timed the same way \(the machine's tail for work of that length\): p50 [\d.]+ \/ p99 [\d.]+ µs\.$/m, 'the machine-tail baseline of the policy decision');
    const files = readdirSync(out);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^compare-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d+c-load\d+\.\d{2}\.json$/);
    const result = JSON.parse(readFileSync(join(out, files[0]!), 'utf8')) as { rows: Array<{ target: string; errors: number; rps: { median: number } }> };
    assert.deepEqual(result.rows.map((x) => x.target), TARGETS);
    for (const row of result.rows) {
      assert.ok(row.rps.median > 0, `${row.target} answered`);
      assert.equal(row.errors, 0, `${row.target}: no errors or non-2xx answers`);
    }
  });

  it('--only takes netbox, and not with --smoke or --no-netbox (nothing is started)', () => {
    for (const args of [['--only', 'memory'], ['--only', 'netbox', '--smoke'], ['--only', 'netbox', '--no-netbox']]) {
      const r = spawnSync(process.execPath, [join(repoRoot(), 'build', 'bench', 'compare.js'), ...args], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /--only takes 'netbox'/);
    }
  });
});

describe('bench/cold-path.ts', () => {
  it('a short run: a row per path (direct, nginx, both bare Node proxies, the gateway signed in and with a token) and a result file', async (t) => {
    const out = await tempDirFor(t, 'netbox-gate-bench-cold-');
    const r = spawnSync(process.execPath, [join(repoRoot(), 'build', 'bench', 'cold-path.js'), '--rounds', '3', '--spin', '2', '--kb', '4', '--out', out], { encoding: 'utf8', timeout: 90_000 });
    assert.equal(r.status, 0, `${r.stderr}\n${r.stdout}`);
    for (const path of ['direct', 'nginx proxy', 'bare Node proxy', 'bare proxy on undici', 'netbox-gate session', 'netbox-gate token']) {
      assert.match(r.stdout, new RegExp(`^\\| ${path} \\| [\\d.]+ \\| -?[\\d.]+ \\| [\\d.]+ \\|`, 'm'), `a row for ${path}:\n${r.stdout}`);
    }
    const files = readdirSync(out);
    assert.equal(files.length, 1);
    assert.match(files[0]!, /^cold-path-.*\.json$/);
  });

  it('refuses a bad number before starting anything', () => {
    const r = spawnSync(process.execPath, [join(repoRoot(), 'build', 'bench', 'cold-path.js'), '--rounds', 'many'], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--rounds must be a positive number/);
  });
});
