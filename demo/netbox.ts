// The demo's own NetBox 4.7, through scripts/netbox-env.sh (a Debian trixie root with PostgreSQL,
// Redis and NetBox from PyPI). Its data directory is kept, so sites and tokens survive a restart.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { netboxApi, runNetboxEnv, runNetboxEnvOk, startNetboxEnv } from './netbox-env.js';

export interface DemoNetbox {
  /** Base URL, e.g. http://127.0.0.1:PORT (no trailing slash). */
  readonly url: string;
  /** The admin's v2 token as an Authorization value (`Bearer nbt_…`), for the gateway's netbox.api. */
  readonly adminAuthorization: string;
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

/** Removes the demo NetBox's data (stopping an instance left running there first). */
export async function resetDemoNetbox(dataDir: string): Promise<void> {
  if (!existsSync(dataDir)) return;
  await runNetboxEnv(['stop', '--data-dir', dataDir]);
  rmSync(dataDir, { recursive: true, force: true });
}

export async function startDemoNetbox(opts: StartDemoNetboxOptions): Promise<DemoNetbox> {
  // `build` returns at once when everything is reusable; only a real build is announced.
  const built = (await runNetboxEnv(['built'])).code === 0;
  if (!built) opts.say("First run: building NetBox's environment (a Debian trixie root with PostgreSQL 17, Redis and NetBox 4.7 from PyPI): about 10 minutes, once.");
  await runNetboxEnvOk(['build'], { passStderr: !built });
  mkdirSync(opts.dataDir, { recursive: true });
  // An instance left running by a demo that was killed (not stopped) holds the data directory.
  await runNetboxEnv(['stop', '--data-dir', opts.dataDir]);
  const raFile = join(opts.dataDir, 'remote-auth.py');
  writeFileSync(raFile, `${opts.remoteAuthPython}\n${DEMO_DASHBOARD_PYTHON}`);
  const info = await startNetboxEnv({ port: opts.port, dataDir: opts.dataDir, remoteAuthFile: raFile });
  let stopped = false;
  return {
    url: info.url,
    adminAuthorization: info.adminAuthorization,
    api: (method, apiPath, body) => netboxApi(info.url, info.adminAuthorization, method, apiPath, body),
    async stop() {
      if (stopped) return;
      stopped = true;
      await runNetboxEnvOk(['stop', '--data-dir', opts.dataDir]);
    },
  };
}
