// Seconds from a change at the identity source to NetBox refusing the user's API token, with the
// real binary in front of a real NetBox 4.7: (1) a user disabled at the OpenID provider (demo
// IdP), taken away by the session's refresh (goal: the refresh interval plus under 5 s); (2) a
// user removed from the TACACS+ server, taken away by directory sync (goal: the sync interval
// plus under 5 s). Each round: sign in, make a v2 token, change the source, poll the token
// straight at NetBox every 100 ms until it gets 403 "User inactive", put the user back.
// Run: npx tsc -p tsconfig.json && node build/bench/deprovision.js [--rounds 5] [--refresh 2] [--interval 5] [--out <dir>]
// Needs root for NetBox (scripts/netbox-env.sh) and the TACACS+ test server (scripts/deps/tacacs.sh).
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDemoIdp } from '../demo/idp.js';
import { netboxApi, runNetboxEnvOk, startNetboxEnv } from '../demo/netbox-env.js';
import { cliPath, freePort, spawnOwned, waitUntilOk, writeResult } from './support.js';

const { values: opts } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, refresh: { type: 'string', default: '2' }, interval: { type: 'string', default: '5' }, out: { type: 'string' } } });
const ROUNDS = Number(opts.rounds);
const REFRESH_S = Number(opts.refresh);
const INTERVAL_S = Number(opts.interval);
const TACACS_BIN = process.env['NETBOX_GATE_TACACS_SERVER'] ?? '/var/cache/netbox-gate/bin/tacacs-test-server';
const SECRET = 'bench-client-secret';
const TAC_SECRET = 'bench-tacacs-secret';

/** A cookie jar per origin and manual redirects: what a browser does, minimally. */
class Browser {
  private jar = new Map<string, string>();
  async get(url: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    const headers = { Accept: 'text/html', ...(init.headers ?? {}), ...(this.jar.size ? { Cookie: [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ') } : {}) };
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const [k, v] = [pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim()];
      if (v === '' || /max-age=0/i.test(line)) this.jar.delete(k);
      else this.jar.set(k, v);
    }
    return res;
  }
  async follow(url: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<{ res: Response; url: string }> {
    let res = await this.get(url, init);
    for (let i = 0; i < 15 && res.status >= 300 && res.status < 400; i++) {
      url = new URL(res.headers.get('location')!, url).href;
      await res.body?.cancel();
      res = await this.get(url);
    }
    return { res, url };
  }
}

async function signInDemo(gw: string, user: string): Promise<Browser> {
  const b = new Browser();
  const first = await b.follow(`${gw}/.netbox-gate/login/demo?next=/`);
  const action = /<form method="post" action="([^"]+)"/.exec(await first.res.text())?.[1];
  if (!action) throw new Error('bench: no login form at the demo IdP');
  const post = await b.get(new URL(action.replace(/&amp;/g, '&'), first.url).href, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: user, password: user }).toString(),
  });
  const { res } = await b.follow(new URL(post.headers.get('location')!, first.url).href);
  await res.body?.cancel();
  if (res.status !== 200) throw new Error(`bench: sign-in of ${user} ended with ${res.status}`);
  return b;
}

async function signInPassword(gw: string, source: string, user: string, password: string): Promise<void> {
  const b = new Browser();
  const page = await b.get(`${gw}/.netbox-gate/login/${source}?next=/`);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const post = await b.get(`${gw}/.netbox-gate/login`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf, next: '/', source, username: user, password }).toString() });
  const { res } = await b.follow(new URL(post.headers.get('location') ?? '/', gw).href);
  await res.body?.cancel();
  if (res.status !== 200) throw new Error(`bench: sign-in of ${user} through ${source} ended with ${res.status}`);
}

function startTacacs(dir: string, listen: string, withTina: boolean): Promise<{ child: ChildProcess; address: string }> {
  const file = join(dir, 'tacacs.json');
  const users: Record<string, unknown> = { other: { password: 'other-pw', args: ['role=viewer'] } };
  if (withTina) users['tina'] = { password: 'tina-pw', args: ['role=viewer'] };
  writeFileSync(file, JSON.stringify({ listen, secret: TAC_SECRET, users }), { mode: 0o600 });
  const child = spawnOwned(TACACS_BIN, [file], { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^listening (\S+)\n/m.exec(out);
      if (m) resolve({ child, address: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`bench: the TACACS+ test server exited (${code})`)));
  });
}
const stopChild = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null ? r() : (c.once('exit', () => r()), c.kill('SIGTERM'))));

const dir = mkdtempSync(join(tmpdir(), 'netbox-gate-bench-deprov-'));
const [gwPort, nbPort] = [await freePort(), await freePort()];
const gwUrl = `http://127.0.0.1:${gwPort}`;
const idp = await startDemoIdp({ clients: [{ clientId: 'netbox-gate', clientSecret: SECRET, redirectUris: [`${gwUrl}/.netbox-gate/callback/demo`], postLogoutRedirectUris: [`${gwUrl}/`] }] });
let tac = await startTacacs(dir, '127.0.0.1:0', true);
const config = (api: string) => `server:
  listen: 127.0.0.1:${gwPort}
  publicUrl: ${gwUrl}
netbox:
  url: http://127.0.0.1:${nbPort}
${api ? `  api:\n    token: "${api}"\n` : ''}sources:
  - { kind: oidc, id: demo, issuer: "${idp.issuer}", clientId: netbox-gate, clientSecret: ${SECRET}, insecureAllowHttpIssuer: true, refreshInterval: ${REFRESH_S}s }
  - { kind: tacacs, id: tac, servers: [${tac.address}], secret: ${TAC_SECRET}, timeout: 2s }
policy:
  rules:
    - { name: engineers, groups: [network-engineers], netboxGroups: [Network Engineers] }
    - { name: viewers, groups: [viewer], netboxGroups: [Viewers] }
lifecycle:
  sync: { interval: ${INTERVAL_S}s }
`;
const cfgFile = join(dir, 'gate.yaml');
writeFileSync(cfgFile, config(''));
const raFile = join(dir, 'remote-auth.py');
writeFileSync(raFile, execFileSync(process.execPath, [cliPath(), 'netbox-config', '--config', cfgFile], { encoding: 'utf8' }));
const nbData = join(dir, 'netbox');
const nb = await startNetboxEnv({ port: nbPort, dataDir: nbData, remoteAuthFile: raFile });
const admin = (method: string, p: string, body?: unknown) => netboxApi(nb.url, nb.adminAuthorization, method, p, body);
writeFileSync(cfgFile, config(nb.adminAuthorization));
const gw = spawnOwned(process.execPath, [cliPath(), 'serve', '--config', cfgFile], { stdio: 'ignore' });
await waitUntilOk(`${gwUrl}/.netbox-gate/login`, 15_000);

const tokenFor = async (user: string) => {
  const u = (await admin('GET', `/api/users/users/?username=${user}`)).body.results[0];
  const t = await admin('POST', '/api/users/tokens/', { user: u.id, description: 'bench' });
  return `Bearer nbt_${t.body.key}.${t.body.token}`;
};
const untilRefused = async (auth: string, t0: number, boundS: number): Promise<number> => {
  for (;;) {
    const r = await fetch(`${nb.url}/api/users/config/`, { headers: { Authorization: auth, Accept: 'application/json' } });
    await r.body?.cancel();
    const s = (performance.now() - t0) / 1000;
    if (r.status === 403) return s;
    if (s > boundS + 30) throw new Error(`bench: the token still works after ${s.toFixed(1)} s`);
    await new Promise((res) => setTimeout(res, 100));
  }
};

const results: Record<string, number[]> = { 'IdP disable -> token refused (refresh)': [], 'TACACS+ removal -> token refused (sync)': [] };
try {
  await signInDemo(gwUrl, 'bob');
  const bobToken = await tokenFor('bob');
  await signInPassword(gwUrl, 'tac', 'tina', 'tina-pw');
  const tinaToken = await tokenFor('tina');
  for (let i = 0; i < ROUNDS; i++) {
    const browser = await signInDemo(gwUrl, 'bob');
    const t0 = performance.now();
    idp.setDisabled('bob', true);
    // The signed-in browser keeps working, as a user would: a refresh happens on a request.
    const poke = setInterval(() => void browser.get(`${gwUrl}/api/users/config/`, { headers: { Accept: 'application/json' } }).then((r) => r.body?.cancel(), () => undefined), 200);
    try {
      results['IdP disable -> token refused (refresh)']!.push(await untilRefused(bobToken, t0, REFRESH_S));
    } finally {
      clearInterval(poke);
    }
    idp.setDisabled('bob', false);

    await signInPassword(gwUrl, 'tac', 'tina', 'tina-pw');
    const t1 = performance.now();
    await stopChild(tac.child);
    tac = await startTacacs(dir, tac.address, false);
    results['TACACS+ removal -> token refused (sync)']!.push(await untilRefused(tinaToken, t1, INTERVAL_S));
    await stopChild(tac.child);
    tac = await startTacacs(dir, tac.address, true);
  }
} finally {
  await stopChild(gw);
  await stopChild(tac.child);
  await idp.stop();
  await runNetboxEnvOk(['stop', '--data-dir', nbData]).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}

const rows = Object.entries(results).map(([what, s]) => {
  const sorted = [...s].sort((a, b) => a - b);
  return { what, rounds: s.length, min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted.at(-1)!, bound: what.includes('refresh') ? REFRESH_S : INTERVAL_S };
});
for (const r of rows) console.log(`${r.what.padEnd(42)} median ${r.median.toFixed(1)} s  (min ${r.min.toFixed(1)}, max ${r.max.toFixed(1)}; bound ${r.bound} s + 5 s goal)`);
console.log(`written to ${writeResult('deprovision', { rounds: ROUNDS, refreshSeconds: REFRESH_S, syncIntervalSeconds: INTERVAL_S, rows }, opts.out)}`);
