// Runs the real `netbox-gate serve` as a child process with a config written to a temp dir,
// so tests exercise the shipped binary, its JSON logs and SIGHUP reloads.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon } from './daemon.js';
import { startNetbox, type NetboxInstance } from './netbox.js';
import { freePort } from './ports.js';
import { cliPath } from './repo.js';
import { makeTempDir, makeTempDirSync } from './temp.js';

export { repoRoot } from './repo.js';

export interface RunningGateway {
  url: string;
  port: number;
  /** The serving process (the same pid after serve re-executes itself with its V8 flags). */
  pid: number;
  configFile: string;
  logs: Array<Record<string, unknown>>;
  /** Writes the new config and sends SIGHUP; resolves when the reload is logged (or refused). */
  reload(configYaml: string): Promise<'reloaded' | 'refused'>;
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
  /** Sends a signal to the gateway process (SIGTERM for a graceful stop). */
  signal(sig: NodeJS.Signals): void;
  /** Resolves when the gateway process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `makeConfig(port)` returns the YAML; the port is chosen here so publicUrl can use it. */
export async function startGateway(makeConfig: (port: number) => string, env: NodeJS.ProcessEnv = {}, fixedPort?: number, nodeArgs: readonly string[] = []): Promise<RunningGateway> {
  const port = fixedPort ?? (await freePort());
  const dir = await makeTempDir('netbox-gate-gw-');
  const configFile = join(dir.path, 'netbox-gate.yaml');
  writeFileSync(configFile, makeConfig(port));
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  let buf = '';
  const onStdout = (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      try {
        const obj = JSON.parse(line) as Record<string, unknown>;
        logs.push(obj);
        for (const w of [...waiters]) if (w.pred(obj)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(obj);
        }
      } catch {
        /* not a log line */
      }
    }
  };
  const daemon = await startDaemon({
    name: 'netbox-gate serve',
    cmd: process.execPath,
    args: [...nodeArgs, cliPath(), 'serve', '--config', configFile],
    env: { ...process.env, ...env },
    onOutput: (chunk, stream) => stream === 'stdout' && onStdout(chunk),
    ready: () => logs.some((l) => l.msg === 'netbox-gate listening'),
    timeoutMs: 15_000,
    cleanup: () => dir.remove(),
  });

  const waitForLog = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000) => {
    const hit = logs.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise<Record<string, unknown>>((resolveP, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for a gateway log line; stderr: ${daemon.stderr()}`)), timeoutMs);
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(t);
          resolveP(l);
        },
      });
      void daemon.exited.then(({ code }) => {
        clearTimeout(t);
        reject(new Error(`gateway exited (${code}): ${daemon.stderr()}`));
      });
    });
  };

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: daemon.pid,
    configFile,
    logs,
    waitForLog,
    async reload(yaml) {
      const mark = logs.length;
      writeFileSync(configFile, yaml);
      daemon.signal('SIGHUP');
      const l = await waitForLog((x) => logs.indexOf(x) >= mark && (x.msg === 'configuration reloaded' || String(x.msg).startsWith('configuration reload refused')));
      return l.msg === 'configuration reloaded' ? 'reloaded' : 'refused';
    },
    stop: () => daemon.stop(),
    signal: (sig) => daemon.signal(sig),
    exited: daemon.exited,
  };
}

/**
 * A real NetBox configured with exactly what `netbox-gate netbox-config` prints for this
 * gateway config, so the e2e suites also prove the generated settings.
 */
export async function startNetboxForGateway(yaml: string, env: NodeJS.ProcessEnv, netboxPort: number): Promise<NetboxInstance> {
  const dir = makeTempDirSync('netbox-gate-e2e-');
  let settings: string;
  try {
    writeFileSync(join(dir.path, 'gw.yaml'), yaml);
    settings = execFileSync(process.execPath, [cliPath(), 'netbox-config', '--config', join(dir.path, 'gw.yaml')], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
  } finally {
    dir.removeSync();
  }
  return startNetbox({ remoteAuthPython: settings, port: netboxPort });
}
