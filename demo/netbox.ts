// The demo's own NetBox 4.7, through scripts/netbox-env.sh (a Debian trixie root with PostgreSQL,
// Redis and NetBox from PyPI). Its data directory is kept, so sites and tokens survive a restart.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DemoNetbox {
  /** Base URL, e.g. http://127.0.0.1:PORT (no trailing slash). */
  readonly url: string;
  /** JSON REST call as NetBox's admin; apiPath is relative to url. */
  api(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Stops NetBox, PostgreSQL and Redis; the data directory stays. */
  stop(): Promise<void>;
}

export interface StartDemoNetboxOptions {
  /** Python appended to configuration.py (the REMOTE_AUTH_* settings). */
  remoteAuthPython: string;
  /** Where PostgreSQL's cluster and NetBox's media live; reused when it exists. */
  dataDir: string;
  port: number;
  /** Progress lines for the user. */
  say: (line: string) => void;
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`package.json not found above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

const envScript = join(repoRoot(), 'scripts', 'netbox-env.sh');

// NetBox 4.7's default dashboard without its "NetBox News" feed: the demo has no route to the
// internet, and as an isolated deployment (scripts/netbox-env.sh) the feed widget would only
// say, in red, that it needs one. Users' dashboards are made from this at their first visit.
const DEMO_DASHBOARD_PYTHON = `
DEFAULT_DASHBOARD = [
    {'widget': 'extras.BookmarksWidget', 'width': 4, 'height': 5, 'title': 'Bookmarks', 'color': 'orange'},
    {'widget': 'extras.ObjectCountsWidget', 'width': 4, 'height': 2, 'title': 'Organization',
     'config': {'models': ['dcim.site', 'tenancy.tenant', 'tenancy.contact']}},
    {'widget': 'extras.NoteWidget', 'width': 4, 'height': 2, 'title': 'Welcome!', 'color': 'green',
     'config': {'content': 'The netbox-gate demo. Sites are what bob may change; alice may change everything.'}},
    {'widget': 'extras.ObjectCountsWidget', 'width': 4, 'height': 3, 'title': 'IPAM',
     'config': {'models': ['ipam.vrf', 'ipam.aggregate', 'ipam.prefix', 'ipam.iprange', 'ipam.ipaddress', 'ipam.vlan']}},
    {'widget': 'extras.ObjectCountsWidget', 'width': 4, 'height': 3, 'title': 'DCIM',
     'config': {'models': ['dcim.site', 'dcim.rack', 'dcim.devicetype', 'dcim.device', 'dcim.cable']}},
    {'widget': 'extras.ObjectCountsWidget', 'width': 4, 'height': 3, 'title': 'Circuits',
     'config': {'models': ['circuits.provider', 'circuits.circuit', 'circuits.providernetwork', 'circuits.provideraccount']}},
    {'widget': 'extras.ObjectListWidget', 'width': 12, 'height': 5, 'title': 'Change Log', 'color': 'blue',
     'config': {'model': 'core.objectchange', 'page_size': 25}},
]
`;

function run(args: string[], opts: { passStderr?: boolean } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [envScript, ...args], { stdio: ['ignore', 'pipe', opts.passStderr ? 'inherit' : 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function runOk(args: string[], opts: { passStderr?: boolean } = {}): Promise<string> {
  const r = await run(args, opts);
  if (r.code !== 0) throw new Error(`scripts/netbox-env.sh ${args[0]} failed (exit ${r.code})${r.stderr ? `:\n${r.stderr.slice(-4000)}` : ''}`);
  return r.stdout;
}

/** Removes the demo NetBox's data (stopping an instance left running there first). */
export async function resetDemoNetbox(dataDir: string): Promise<void> {
  if (!existsSync(dataDir)) return;
  await run(['stop', '--data-dir', dataDir]);
  rmSync(dataDir, { recursive: true, force: true });
}

export async function startDemoNetbox(opts: StartDemoNetboxOptions): Promise<DemoNetbox> {
  // `build` returns at once when everything is reusable; only a real build is announced.
  const built = (await run(['built'])).code === 0;
  if (!built) opts.say("First run: building NetBox's environment (a Debian trixie root with PostgreSQL 17, Redis and NetBox 4.7 from PyPI): about 10 minutes, once.");
  await runOk(['build'], { passStderr: !built });
  mkdirSync(opts.dataDir, { recursive: true });
  // An instance left running by a demo that was killed (not stopped) holds the data directory.
  await run(['stop', '--data-dir', opts.dataDir]);
  const raFile = join(opts.dataDir, 'remote-auth.py');
  writeFileSync(raFile, `${opts.remoteAuthPython}\n${DEMO_DASHBOARD_PYTHON}`);
  const out = await runOk(['start', '--port', String(opts.port), '--data-dir', opts.dataDir, '--remote-auth-config', raFile]);
  const info = JSON.parse(out.trim().split('\n').pop() ?? '') as { url: string; adminAuthorization: string };
  let stopped = false;
  return {
    url: info.url,
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
      return { status: res.status, body: text ? (JSON.parse(text) as unknown) : null };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await runOk(['stop', '--data-dir', opts.dataDir]);
    },
  };
}
