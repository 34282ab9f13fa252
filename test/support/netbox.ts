// A real NetBox 4.7 for tests, via scripts/netbox-env.sh (Debian trixie chroot with
// PostgreSQL, Redis and the PyPI netbox wheel). Needs root. The first build takes ~7 minutes;
// later builds return at once and a start takes ~10 s.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { repoRoot } from './repo.js';

export interface NetboxInstance {
  /** Base URL, e.g. http://127.0.0.1:PORT (no trailing slash). */
  readonly url: string;
  /** Full Authorization header value for the admin superuser ("Bearer nbt_<key>.<token>", a v2 token). */
  readonly adminAuthorization: string;
  /** Same admin user with a legacy v1 token ("Token <40 chars>"). */
  readonly adminAuthorizationV1: string;
  readonly adminUser: string;
  readonly adminPassword: string;
  readonly dataDir: string;
  /** JSON REST call as admin; path is relative to url (e.g. "/api/users/users/?username=bob"). */
  api(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Run Python in NetBox's Django context (django.setup() already done); returns stdout. */
  python(code: string): Promise<string>;
  stop(): Promise<void>;
}

export interface StartNetboxOptions {
  /** Python appended to configuration.py (REMOTE_AUTH_* settings etc.). */
  remoteAuthPython: string;
  port?: number;
}

export const NETBOX_ENV_SCRIPT = path.join(repoRoot(), 'scripts', 'netbox-env.sh');

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [NETBOX_ENV_SCRIPT, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

async function runOk(args: string[], input?: string): Promise<string> {
  const r = await run(args, input);
  if (r.code !== 0) {
    throw new Error(`netbox-env.sh ${args[0]} exited ${r.code}\n${r.stderr.slice(-4000)}`);
  }
  return r.stdout;
}

/** Build (fast when already built) the environment; exported for suites that want to build in a before() hook. */
export async function buildNetboxEnv(): Promise<void> {
  await runOk(['build']);
}

export async function startNetbox(opts: StartNetboxOptions): Promise<NetboxInstance> {
  await buildNetboxEnv();
  const port = opts.port ?? (await freePort());
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'netbox-gate-nb-'));
  const raFile = path.join(dataDir, 'remote-auth.py');
  await writeFile(raFile, opts.remoteAuthPython + '\n');
  let out: string;
  try {
    out = await runOk(['start', '--port', String(port), '--data-dir', dataDir, '--remote-auth-config', raFile]);
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  const line = out.trim().split('\n').pop() ?? '';
  const info = JSON.parse(line) as {
    url: string;
    adminAuthorization: string;
    adminAuthorizationV1: string;
    adminUser: string;
    adminPassword: string;
  };
  let stopped = false;

  const instance: NetboxInstance = {
    url: info.url,
    adminAuthorization: info.adminAuthorization,
    adminAuthorizationV1: info.adminAuthorizationV1,
    adminUser: info.adminUser,
    adminPassword: info.adminPassword,
    dataDir,
    async api(method, apiPath, body) {
      const res = await fetch(info.url + apiPath, {
        method,
        headers: {
          Authorization: info.adminAuthorization,
          Accept: 'application/json',
          ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        body: body === undefined ? null : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        /* not JSON: keep the text */
      }
      return { status: res.status, body: parsed };
    },
    async python(code) {
      const wrapper = 'import django, sys\ndjango.setup()\nexec(compile(sys.stdin.read(), "<netbox-gate>", "exec"), {"__name__": "__main__"})';
      return runOk(['python', '--data-dir', dataDir, '-c', wrapper], code);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await runOk(['stop', '--data-dir', dataDir]);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return instance;
}
