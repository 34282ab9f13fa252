// One request at a time, as a NetBox user clicking makes them: what each process on the way
// adds to a NetBox-like request when requests come a few hundred milliseconds apart, so every
// process between them idles (code and caches cold). Issue 11's real-NetBox target (the API
// list within 2% of direct) is decided in that regime, where a hop costs what 2% allow; this
// tells the gateway's own share from the hop's, without NetBox and in about two minutes.
//
// The upstream stands for NetBox: a process that spends --spin ms of CPU on each request (NetBox
// keeps a core busy while it renders), then sends --kb KiB of JSON with a Content-Length. In
// front of it: nginx as a plain reverse proxy (Debian; the cheapest hop the machine offers), the
// bare Node streaming proxy of compare.ts, the same on undici's Pool (what the gateway uses for
// NetBox), and netbox-gate signed in through the demo IdP (session path) and with an API token
// (token path). Rounds of one request per path, order rotating; medians. CPU per request from
// each thread's schedstat under /proc/<pid>/task (nanoseconds).
// Run: npx tsc -p tsconfig.json && node build/bench/cold-path.js [--rounds 300] [--spin 50] [--kb 120]
import { rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startDemoIdp } from '../demo/idp.js';
import { BARE_PROXY, cliPath, CookieClient, cpuUs, demoGatewayYaml, freePort, signInThroughDemoIdp, spawnOwned, startNginxProxy, waitUntilOk, which, writeResult } from './support.js';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '300' }, spin: { type: 'string', default: '50' }, kb: { type: 'string', default: '120' }, out: { type: 'string' } },
});
const ROUNDS = Number(args.rounds);
const SPIN = Number(args.spin);
const KB = Number(args.kb);
for (const [name, v] of [['--rounds', ROUNDS], ['--spin', SPIN], ['--kb', KB]] as const) {
  if (!Number.isFinite(v) || v < 1) {
    console.error(`bench: ${name} must be a positive number`);
    process.exit(2);
  }
}
const dir = mkdtempSync(join(tmpdir(), 'netbox-gate-cold-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

const upPort = await freePort();
const up = spawnOwned(
  process.execPath,
  [
    '-e',
    `const http = require('node:http');
const body = Buffer.from(JSON.stringify({ results: 'x'.repeat(${KB} * 1024) }));
http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const t = Date.now();
    while (Date.now() - t < ${SPIN});
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end(body);
  });
}).listen(${upPort}, '127.0.0.1');`,
  ],
  { stdio: ['ignore', 'ignore', 'inherit'] },
);
// The bare proxy on undici's Pool: the gateway's upstream client with nothing else around it.
const UNDICI_PROXY = `
const http = require('node:http');
const { Pool } = require(${JSON.stringify(join(cliPath(), '..', '..', 'node_modules', 'undici'))});
const origin = 'http://127.0.0.1:' + process.argv[2];
const pool = new Pool(origin);
const HOP = new Set(['connection', 'keep-alive', 'host', 'transfer-encoding']);
http.createServer((req, res) => {
  const headers = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (!HOP.has(req.rawHeaders[i].toLowerCase())) headers.push(req.rawHeaders[i], req.rawHeaders[i + 1]);
  req.resume();
  pool.dispatch({ origin, method: req.method, path: req.url, headers, body: null }, {
    onRequestStart() {},
    onResponseStart(c, status, h) { const out = {}; for (const k in h) if (!HOP.has(k)) out[k] = h[k]; res.writeHead(status, out); },
    onResponseData(c, chunk) { res.write(chunk); },
    onResponseEnd() { res.end(); },
    onResponseError(c, err) { res.destroy(err); },
  });
}).listen(Number(process.argv[1]), '127.0.0.1');`;
const NGINX = which('nginx');
if (!NGINX) {
  console.error('bench: nginx not found: run scripts/install-deps.sh nginx');
  process.exit(2);
}
const nginxPort = await freePort();
const nginx = startNginxProxy(NGINX, dir, nginxPort, upPort);
const barePort = await freePort();
const bare = spawnOwned(process.execPath, ['-e', BARE_PROXY, String(barePort), String(upPort)], { stdio: ['ignore', 'ignore', 'inherit'] });
const undiciPort = await freePort();
const undici = spawnOwned(process.execPath, ['-e', UNDICI_PROXY, String(undiciPort), String(upPort)], { stdio: ['ignore', 'ignore', 'inherit'] });
for (const p of [upPort, nginxPort, barePort, undiciPort]) await waitUntilOk(`http://127.0.0.1:${p}/`);

const gwPort = await freePort();
const gwUrl = `http://127.0.0.1:${gwPort}`;
const SECRET = 'cold-path-secret';
const idp = await startDemoIdp({ clients: [{ clientId: 'netbox-gate', clientSecret: SECRET, redirectUris: [`${gwUrl}/.netbox-gate/callback/demo`], postLogoutRedirectUris: [] }] });
writeFileSync(join(dir, 'gw.yaml'), demoGatewayYaml({ port: gwPort, upstream: `http://127.0.0.1:${upPort}`, issuer: idp.issuer, clientSecret: SECRET }));
const gw = spawnOwned(process.execPath, [cliPath(), 'serve', '--config', join(dir, 'gw.yaml')], { stdio: ['ignore', 'ignore', 'inherit'] });
await waitUntilOk(`${gwUrl}/.netbox-gate/health`, 20_000);
const client = new CookieClient();
const { res: signedIn } = await signInThroughDemoIdp(client, gwUrl, 'alice', 'alice', '/');
await signedIn.body?.cancel();
const cookie = [...client.cookies(gwUrl)].map(([k, v]) => `${k}=${v}`).join('; ');

const paths: Array<{ name: string; base: string; headers: Record<string, string>; pid: number | undefined }> = [
  { name: 'direct', base: `http://127.0.0.1:${upPort}`, headers: {}, pid: up.pid },
  { name: 'nginx proxy', base: `http://127.0.0.1:${nginxPort}`, headers: {}, pid: nginx.pid },
  { name: 'bare Node proxy', base: `http://127.0.0.1:${barePort}`, headers: {}, pid: bare.pid },
  { name: 'bare proxy on undici', base: `http://127.0.0.1:${undiciPort}`, headers: {}, pid: undici.pid },
  { name: 'netbox-gate session', base: gwUrl, headers: { Cookie: cookie, Accept: 'application/json' }, pid: gw.pid },
  { name: 'netbox-gate token', base: gwUrl, headers: { Authorization: 'Token 0123456789abcdef0123456789abcdef01234567', Accept: 'application/json' }, pid: gw.pid },
];
const one = async (p: (typeof paths)[number]): Promise<number> => {
  const t0 = performance.now();
  const res = await fetch(p.base + '/api/dcim/sites/?limit=100', { headers: p.headers, redirect: 'manual' });
  const body = await res.arrayBuffer();
  if (res.status !== 200 || body.byteLength < KB * 1024) throw new Error(`bench: ${p.name} answered ${res.status} with ${body.byteLength} bytes`);
  return performance.now() - t0;
};
for (let i = 0; i < 10; i++) for (const p of paths) await one(p);
const before = paths.map((p) => cpuUs(p.pid));
const times: number[][] = paths.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  for (let j = 0; j < paths.length; j++) {
    const k = (r + j) % paths.length;
    times[k]!.push(await one(paths[k]!));
  }
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const direct = median(times[0]!);
const rows = paths.map((p, i) => ({
  path: p.name,
  medianMs: median(times[i]!),
  addedMs: median(times[i]!) - direct,
  ratio: median(times[i]!) / direct,
  // The gateway's two paths share a process: its CPU is per request of either.
  cpuUsPerRequest: p.name === 'direct' ? undefined : (cpuUs(p.pid) - before[i]!) / (p.pid === gw.pid ? 2 * ROUNDS : ROUNDS),
}));
console.log(`## One request at a time: upstream spends ${SPIN} ms of CPU, then sends ${KB} KiB (${ROUNDS} rounds, medians)\n`);
console.log('| path | median ms | added ms | / direct | CPU µs/request |\n| --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.path} | ${r.medianMs.toFixed(2)} | ${r.addedMs.toFixed(2)} | ${r.ratio.toFixed(4)} | ${r.cpuUsPerRequest === undefined ? '' : Math.round(r.cpuUsPerRequest)} |`);
const row = (name: string) => rows.find((r) => r.path === name)!;
const bareAdded = row('bare Node proxy').addedMs;
console.log(`\ngateway session path adds ${(row('netbox-gate session').addedMs - bareAdded).toFixed(2)} ms over the bare Node proxy, the token path ${(row('netbox-gate token').addedMs - bareAdded).toFixed(2)} ms; nginx adds ${row('nginx proxy').addedMs.toFixed(2)} ms over direct`);
console.log(`written: ${writeResult('cold-path', { args: { rounds: ROUNDS, spinMs: SPIN, kb: KB }, rows }, args.out)}`);
await idp.stop();
process.exit(0);
