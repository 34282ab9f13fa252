// Runs the real `netbox-gate serve` as a child process with a config written to a temp dir,
// so tests exercise the shipped binary, its JSON logs and SIGHUP reloads.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startNetbox, type NetboxInstance } from './netbox.js';
import { freePort } from './ports.js';

export function repoRoot(): string {
  // build/test/support/gateway.js -> repo root
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

export interface RunningGateway {
  url: string;
  port: number;
  configFile: string;
  logs: Array<Record<string, unknown>>;
  /** Writes the new config and sends SIGHUP; resolves when the reload is logged (or refused). */
  reload(configYaml: string): Promise<'reloaded' | 'refused'>;
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** `makeConfig(port)` returns the YAML; the port is chosen here so publicUrl can use it. */
export async function startGateway(makeConfig: (port: number) => string, env: NodeJS.ProcessEnv = {}, fixedPort?: number): Promise<RunningGateway> {
  const port = fixedPort ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'netbox-gate-'));
  const configFile = join(dir, 'netbox-gate.yaml');
  writeFileSync(configFile, makeConfig(port));
  const child: ChildProcess = spawn(process.execPath, [join(repoRoot(), 'bin', 'netbox-gate.js'), 'serve', '--config', configFile], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const waiters: Array<{ pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }> = [];
  let stderr = '';
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
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
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

  const waitForLog = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 15_000) => {
    const hit = logs.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise<Record<string, unknown>>((resolveP, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for a gateway log line; stderr: ${stderr}`)), timeoutMs);
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(t);
          resolveP(l);
        },
      });
      void exited.then((code) => {
        clearTimeout(t);
        reject(new Error(`gateway exited (${code}): ${stderr}`));
      });
    });
  };

  await waitForLog((l) => l.msg === 'netbox-gate listening');
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    configFile,
    logs,
    waitForLog,
    async reload(yaml) {
      const mark = logs.length;
      writeFileSync(configFile, yaml);
      child.kill('SIGHUP');
      const l = await waitForLog((x) => logs.indexOf(x) >= mark && (x.msg === 'configuration reloaded' || String(x.msg).startsWith('configuration reload refused')));
      return l.msg === 'configuration reloaded' ? 'reloaded' : 'refused';
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * A real NetBox configured with exactly what `netbox-gate netbox-config` prints for this
 * gateway config, so the e2e suites also prove the generated settings.
 */
export async function startNetboxForGateway(yaml: string, env: NodeJS.ProcessEnv, netboxPort: number): Promise<NetboxInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'nbg-e2e-'));
  writeFileSync(join(dir, 'gw.yaml'), yaml);
  const settings = execFileSync(process.execPath, [join(repoRoot(), 'bin', 'netbox-gate.js'), 'netbox-config', '--config', join(dir, 'gw.yaml')], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return startNetbox({ remoteAuthPython: settings, port: netboxPort });
}
