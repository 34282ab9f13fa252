// Where the repository is, from a compiled test file (build/test/support/*.js) or a source one.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest folder above this file that holds a package.json. */
export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The netbox-gate command as the tests run it: `node bin/netbox-gate.js`. */
export function cliPath(): string {
  return path.join(repoRoot(), 'bin', 'netbox-gate.js');
}
