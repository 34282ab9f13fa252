// Drives scripts/netbox-env.sh (a Debian trixie root with PostgreSQL, Redis and NetBox 4.7 from
// PyPI): build it, start an instance on a data directory, call its REST API as its admin.
// Shared by the demo and the tests, so both start NetBox the same way.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

export const NETBOX_ENV_SCRIPT = join(repoRoot(), 'scripts', 'netbox-env.sh');

export interface RunOptions {
  /** Written to the script's standard input. */
  input?: string;
  /** Show the script's progress (stderr) to the user instead of capturing it. */
  passStderr?: boolean;
}

export function runNetboxEnv(args: string[], opts: RunOptions = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [NETBOX_ENV_SCRIPT, ...args], { stdio: ['pipe', 'pipe', opts.passStderr ? 'inherit' : 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin!.end(opts.input ?? '');
  });
}

export async function runNetboxEnvOk(args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await runNetboxEnv(args, opts);
  if (r.code !== 0) throw new Error(`scripts/netbox-env.sh ${args[0]} failed (exit ${r.code})${r.stderr ? `:\n${r.stderr.slice(-4000)}` : ''}`);
  return r.stdout;
}

/** What `netbox-env.sh start` prints: where NetBox listens and its admin's credentials. */
export interface NetboxEnvInstance {
  url: string;
  adminAuthorization: string;
  adminAuthorizationV1: string;
  adminUser: string;
  adminPassword: string;
}

export async function startNetboxEnv(o: { port: number; dataDir: string; remoteAuthFile: string }): Promise<NetboxEnvInstance> {
  const out = await runNetboxEnvOk(['start', '--port', String(o.port), '--data-dir', o.dataDir, '--remote-auth-config', o.remoteAuthFile]);
  return JSON.parse(out.trim().split('\n').pop() ?? '') as NetboxEnvInstance;
}

/** A JSON REST call with the given Authorization; a body that is not JSON comes back as text. */
export async function netboxApi(url: string, authorization: string, method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(url + apiPath, {
    method,
    headers: { Authorization: authorization, Accept: 'application/json', ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? null : JSON.stringify(body),
  });
  const text = await res.text();
  try {
    return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
  } catch {
    return { status: res.status, body: text };
  }
}
