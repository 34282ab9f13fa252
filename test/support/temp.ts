// Temporary folders for tests. Each is removed by its owner (a daemon's stop(), a test's
// t.after) and, as a safety net for a test that failed before its clean-up ran, when the test
// process exits, so no `netbox-gate-*` folder outlives a run.
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const live = new Set<string>();
let hooked = false;

function track(dir: string): string {
  live.add(dir);
  if (!hooked) {
    hooked = true;
    // 'exit' handlers must be synchronous.
    process.once('exit', () => {
      for (const d of live) rmSync(d, { recursive: true, force: true });
    });
  }
  return dir;
}

export interface TempDir {
  readonly path: string;
  /** Removes the folder and everything in it; safe to call twice. */
  remove(): Promise<void>;
  removeSync(): void;
}

function handle(path: string): TempDir {
  return {
    path,
    async remove() {
      live.delete(path);
      await rm(path, { recursive: true, force: true });
    },
    removeSync() {
      live.delete(path);
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/** A fresh folder `<os tmp>/<prefix>XXXXXX`; the prefix should start with `netbox-gate-`. */
export async function makeTempDir(prefix: string): Promise<TempDir> {
  return handle(track(await mkdtemp(join(tmpdir(), prefix))));
}

/** The same, synchronously (for module-level fixtures). */
export function makeTempDirSync(prefix: string): TempDir {
  return handle(track(mkdtempSync(join(tmpdir(), prefix))));
}

/** A folder removed when the test (or suite) `t` ends, passed or failed. */
export async function tempDirFor(t: { after(fn: () => unknown): void }, prefix: string): Promise<string> {
  const dir = await makeTempDir(prefix);
  t.after(() => dir.remove());
  return dir.path;
}
