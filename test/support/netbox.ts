// A real NetBox 4.7 for tests, via scripts/netbox-env.sh (Debian trixie chroot with
// PostgreSQL, Redis and the PyPI netbox wheel). Needs root. The first build takes ~7 minutes;
// later builds return at once and a start takes ~10 s.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { netboxApi, runNetboxEnvOk, startNetboxEnv } from '../../demo/netbox-env.js';

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

/** Build (fast when already built) the environment; exported for suites that want to build in a before() hook. */
export async function buildNetboxEnv(): Promise<void> {
  await runNetboxEnvOk(['build']);
}

export async function startNetbox(opts: StartNetboxOptions): Promise<NetboxInstance> {
  await buildNetboxEnv();
  const port = opts.port ?? (await freePort());
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'netbox-gate-nb-'));
  const raFile = path.join(dataDir, 'remote-auth.py');
  await writeFile(raFile, opts.remoteAuthPython + '\n');
  let info: Awaited<ReturnType<typeof startNetboxEnv>>;
  try {
    info = await startNetboxEnv({ port, dataDir, remoteAuthFile: raFile });
  } catch (err) {
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;

  const instance: NetboxInstance = {
    url: info.url,
    adminAuthorization: info.adminAuthorization,
    adminAuthorizationV1: info.adminAuthorizationV1,
    adminUser: info.adminUser,
    adminPassword: info.adminPassword,
    dataDir,
    api: (method, apiPath, body) => netboxApi(info.url, info.adminAuthorization, method, apiPath, body),
    async python(code) {
      const wrapper = 'import django, sys\ndjango.setup()\nexec(compile(sys.stdin.read(), "<netbox-gate>", "exec"), {"__name__": "__main__"})';
      return runNetboxEnvOk(['python', '--data-dir', dataDir, '-c', wrapper], { input: code });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await runNetboxEnvOk(['stop', '--data-dir', dataDir]);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return instance;
}
