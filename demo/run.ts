// The quick-start demo: a real NetBox 4.7 (or yours, with --netbox-url), the built-in demo
// OpenID provider with alice, bob and carol, and netbox-gate in front. Prints where to go.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadConfigFile } from '../src/config/load.js';
import { createGateway } from '../src/gateway/server.js';
import { netboxClientFromConfig } from '../src/netbox/api/config.js';
import { applyPlan } from '../src/netbox/objects/apply.js';
import { formatApplied, formatPlan } from '../src/netbox/objects/format.js';
import { planNetboxObjects } from '../src/netbox/objects/plan.js';
import { renderNetboxSettings } from '../src/netbox/settings.js';
import { createMemoryStore } from '../src/store/memory.js';
import type { Logger } from '../src/types.js';
import { defaultDemoUsers, demoClaims, startDemoIdp } from './idp.js';
import { resetDemoNetbox, startDemoNetbox, type DemoNetbox } from './netbox.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    'netbox-url': { type: 'string' },
    'netbox-port': { type: 'string' },
    'data-dir': { type: 'string' },
    reset: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(`Usage: npm run demo -- [--port 8080] [--reset] [--data-dir DIR] [--netbox-url URL]

Starts a real NetBox 4.7 (PostgreSQL + Redis, in a Debian trixie root), the demo OpenID
provider and netbox-gate on http://127.0.0.1:PORT.

  --reset        start from an empty NetBox (NetBox's data is kept between runs otherwise)
  --data-dir     where the demo keeps its config and NetBox's data (default: .demo in the repo)
  --netbox-url   use your NetBox instead; it needs the settings the demo prints (REMOTE_AUTH_*)
  --netbox-port  the port of the demo's NetBox (default: a free one)
`);
  process.exit(0);
}

const port = Number(values.port);
const publicUrl = `http://127.0.0.1:${port}`;
const dataDir = resolve(values['data-dir'] ?? join(repo, '.demo'));
const netboxDataDir = join(dataDir, 'netbox');
// Paths are printed relative to where the user typed `npm run demo` (npm's INIT_CWD), so the
// commands below can be pasted there as they are; absolute when that is shorter to get right.
const userCwd = process.env.INIT_CWD ?? process.cwd();
const shown = (p: string): string => {
  const r = relative(userCwd, p);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
};
const say = (line: string): void => void process.stdout.write(`${line}\n`);

mkdirSync(dataDir, { recursive: true });
// One demo per data directory: a second one would stop the first one's NetBox.
const pidFile = join(dataDir, 'demo.pid');
if (existsSync(pidFile)) {
  const other = Number(readFileSync(pidFile, 'utf8'));
  if (other > 0 && other !== process.pid && isAlive(other)) {
    process.stderr.write(`A demo is already running from ${shown(dataDir)} (pid ${other}); stop it first (Ctrl-C there, or kill ${other}).\n`);
    process.exit(1);
  }
}
writeFileSync(pidFile, `${process.pid}\n`);

if (values.reset) {
  await resetDemoNetbox(netboxDataDir);
  say(`Demo data reset: NetBox starts empty (${shown(netboxDataDir)} removed).`);
}

const secret = `demo-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
const idp = await startDemoIdp({
  clients: [
    {
      clientId: 'netbox-gate',
      clientSecret: secret,
      redirectUris: [`${publicUrl}/.netbox-gate/callback/demo`],
      postLogoutRedirectUris: [`${publicUrl}/.netbox-gate/signed-out`],
    },
  ],
});

// With the demo's own NetBox, the gateway gets an API token (netbox.api) and bob's group and its
// permission come from netboxObjects, applied as `netbox-gate netbox apply` does (docs/permissions.md).
const configYaml = (netboxUrl: string, api: boolean) => `# netbox-gate demo configuration (written by demo/run.ts at every start)
server:
  listen: 127.0.0.1:${port}
  publicUrl: ${publicUrl}
netbox:
  url: ${netboxUrl}
${
  api
    ? `  api:
    token: \${file:netbox-token}   # the demo NetBox's admin token, next to this file
`
    : ''
}sources:
  - kind: oidc
    id: demo
    displayName: Demo identity provider
    issuer: ${idp.issuer}
    clientId: netbox-gate
    clientSecret: \${file:client-secret}   # next to this file; a new one at every start
    insecureAllowHttpIssuer: true   # the demo IdP runs on plain http on loopback
    refreshInterval: 30s
policy:
  defaultGroups: [netbox-users]
  rules:
    - name: admins
      description: IdP group netbox-admins becomes NetBox superuser
      groups: [netbox-admins]
      superuser: true
    - name: engineers
      groups: [network-engineers]
      netboxGroups: [Network Engineers]
    - name: contractors-denied
      effect: deny
      groups: [contractors]
${
  api
    ? `netboxObjects:
  groups:
    - name: Network Engineers
      description: bob's group (IdP group network-engineers)
      adopt: true   # earlier demo versions made it by hand
  permissions:
    - name: network-engineers-sites
      description: Sites, nothing else
      objectTypes: [dcim.site]
      actions: [view, add, change]
      groups: [Network Engineers]
      adopt: true
`
    : ''
}`;

const configFile = join(dataDir, 'netbox-gate.yaml');
writeFileSync(join(dataDir, 'client-secret'), `${secret}\n`, { mode: 0o600 });
chmodSync(join(dataDir, 'client-secret'), 0o600);
// What the demo IdP says about each user, for `netbox-gate explain`.
const claimsDir = join(dataDir, 'claims');
mkdirSync(claimsDir, { recursive: true });
for (const u of defaultDemoUsers()) writeFileSync(join(claimsDir, `${u.username}.json`), `${JSON.stringify(demoClaims(u), null, 2)}\n`);
// `netbox-gate` from this checkout on the Node the demo runs on: nothing to install for a try.
const cli = join(dataDir, 'netbox-gate');
writeFileSync(cli, `#!/bin/sh\n# netbox-gate from ${repo}, on the Node that runs the demo (written by demo/run.ts).\nexec '${process.execPath}' '${join(repo, 'bin', 'netbox-gate.js')}' "$@"\n`, { mode: 0o755 });
chmodSync(cli, 0o755);

let netboxUrl = values['netbox-url'];
let netbox: DemoNetbox | undefined;
// Settings do not depend on NetBox's URL, so they can be rendered before NetBox starts.
writeFileSync(configFile, configYaml(netboxUrl ?? 'http://127.0.0.1:1', false));
const settings = renderNetboxSettings(loadConfigFile(configFile), 'python');

if (!netboxUrl) {
  say(`Starting NetBox 4.7 (data kept in ${shown(netboxDataDir)})...`);
  const nbPort = values['netbox-port'] ? Number(values['netbox-port']) : await freePort();
  netbox = await startDemoNetbox({ remoteAuthPython: settings, dataDir: netboxDataDir, port: nbPort, say });
  netboxUrl = netbox.url;
  writeFileSync(join(dataDir, 'netbox-token'), `${netbox.adminAuthorization}\n`, { mode: 0o600 });
  writeFileSync(configFile, configYaml(netboxUrl, true));
  await applyNetboxObjects();
}
writeFileSync(configFile, configYaml(netboxUrl, netbox !== undefined));

const cfg = loadConfigFile(configFile);
const logger = pino({ level: 'info', base: { service: 'netbox-gate' } }) as unknown as Logger;
const gw = createGateway(cfg, { logger, store: createMemoryStore() });
await gw.listen();

const cmd = shown(cli);
const conf = shown(configFile);
process.stdout.write(`
netbox-gate demo is running.

  Open:      ${publicUrl}/
  NetBox:    ${netboxUrl}  (behind the gateway; do not expose it)
  IdP:       ${idp.issuer}
  Config:    ${conf}

  Demo users (password = user name):
    alice  IdP groups netbox-admins, staff   -> NetBox superuser
    bob    IdP group  network-engineers      -> NetBox group "Network Engineers" (sites only)
    carol  IdP group  contractors            -> refused by policy

  Try (in another terminal; ${shown(cli)} runs netbox-gate from this checkout):
    $ ${cmd} explain --config ${conf} --source demo --claims ${shown(join(claimsDir, 'bob.json'))}
    $ ${cmd} explain --config ${conf} --source demo --claims ${shown(join(claimsDir, 'carol.json'))}
    $ ${cmd} check --config ${conf}
${netbox ? `    $ ${cmd} netbox plan --config ${conf}   # groups and permissions as code: nothing to do\n` : ''}    $ kill -HUP ${process.pid}    # reloads ${conf} after you edit it
${values['netbox-url'] ? `\nYour NetBox needs these settings (configuration.py):\n\n${settings}` : `\n  NetBox's data (sites, tokens, users) is kept for the next run; \`npm run demo -- --reset\` starts empty.\n`}
Press Ctrl-C to stop.
`);

process.on('SIGHUP', () => {
  try {
    gw.reload(loadConfigFile(configFile)).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'configuration reload refused; keeping the running configuration'));
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'configuration reload refused; keeping the running configuration');
  }
});
const stop = async () => {
  await gw.close();
  await idp.stop();
  await netbox?.stop();
  rmSync(pidFile, { force: true });
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address() as AddressInfo;
      s.close(() => resolvePort(p));
    });
  });
}

/** bob's group and its permission, from netboxObjects (what `netbox-gate netbox apply` does). */
async function applyNetboxObjects(): Promise<void> {
  const cfg = loadConfigFile(configFile);
  const client = netboxClientFromConfig(cfg)!;
  try {
    const plan = await planNetboxObjects(client, cfg.netboxObjects ?? { groups: [], permissions: [] });
    if (plan.problems.length > 0) throw new Error(`NetBox's groups and permissions cannot be applied:\n${formatPlan(plan, () => '').join('\n')}`);
    for (const a of await applyPlan(client, plan)) say(`NetBox: ${formatApplied(a)}`);
  } finally {
    await client.close();
  }
}
