// Product code and tooling never import test helpers: what ships (src/) and what users run
// (bench/) must work without test/, and a change to a test helper must not change them.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '../support/repo.js';

// demo/ joins this list once demo/run.ts no longer loads test/support/netbox.js (issue 7).
const PRODUCT_DIRS = ['src', 'bench', 'demo'];

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('layout', () => {
  for (const top of PRODUCT_DIRS) {
    it(`${top}/ does not import from test/`, () => {
      const root = repoRoot();
      const offenders: string[] = [];
      for (const file of tsFiles(join(root, top))) {
        const text = readFileSync(file, 'utf8');
        // Static imports, re-exports and dynamic import() of any path that passes through test/.
        for (const m of text.matchAll(/(?:from\s*|import\s*\(\s*)['"]([^'"]+)['"]/g)) {
          if (/(^|\/)test\//.test(m[1]!)) offenders.push(`${relative(root, file)} imports ${m[1]}`);
        }
      }
      assert.deepEqual(offenders, []);
    });
  }
});
