// Proxy overhead: the same keep-alive load sent straight to a small upstream (the baseline) and
// through the gateway (token requests, so every request goes through header stripping, cookie
// filtering and streaming). Prints requests/s for both and the ratio, plus the gateway's RSS.
// Run: npx tsc -p tsconfig.json && node build/bench/proxy.js [requests] [concurrency]
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, freePort, spawnOwned, waitUntilOk } from './support.js';

const total = Number(process.argv[2] ?? 20_000);
const concurrency = Number(process.argv[3] ?? 32);
// Upstream and gateway each run in their own process (as in production), the load in this one.
const UPSTREAM = `
const http = require('node:http');
const body = Buffer.alloc(2048, 0x61);
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length }); res.end(body); }); });
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
const upstream = spawnOwned(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
const upPort = await new Promise<number>((r) => upstream.stdout!.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
const upUrl = `http://127.0.0.1:${upPort}`;

// Second baseline: the simplest streaming Node proxy (no header work, no sessions), so the ratio
// shows what netbox-gate's own checks cost on top of Node's HTTP stack.
const NAIVE = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const s = http.createServer((req, res) => {
  const up = http.request({ host: '127.0.0.1', port: ${upPort}, method: req.method, path: req.url, headers: req.headers, agent }, (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
  req.pipe(up);
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
const naive = spawnOwned(process.execPath, ['-e', NAIVE], { stdio: ['ignore', 'pipe', 'inherit'] });
const naivePort = await new Promise<number>((r) => naive.stdout!.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
const naiveUrl = `http://127.0.0.1:${naivePort}`;

const gwPort = await freePort();
const dir = mkdtempSync(join(tmpdir(), 'netbox-gate-bench-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
  join(dir, 'bench.yaml'),
  `server:
  listen: 127.0.0.1:${gwPort}
  publicUrl: http://127.0.0.1:${gwPort}
netbox:
  url: ${upUrl}
logging:
  level: warn
sources:
  - kind: oidc
    id: demo
    issuer: http://127.0.0.1:9
    clientId: x
    insecureAllowHttpIssuer: true
policy:
  rules: [{ name: all }]
`,
);
const cpuProf = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
const gateway = spawnOwned(process.execPath, [...cpuProf, cliPath(), 'serve', '--config', join(dir, 'bench.yaml')], { stdio: ['ignore', 'ignore', 'inherit'] });
const gwUrl = `http://127.0.0.1:${gwPort}`;
await waitUntilOk(`${gwUrl}/.netbox-gate/health`);

async function load(base: string): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const url = new URL('/api/dcim/devices/?limit=50', base);
  let sent = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(url, { agent, headers: { Authorization: 'Token 0123456789abcdef0123456789abcdef01234567', Accept: 'application/json', 'X-Remote-User': 'spoof', Cookie: 'sessionid=x; csrftoken=y' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
  const worker = async () => {
    while (sent < total) {
      sent++;
      await one();
    }
  };
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  agent.destroy();
  return total / secs;
}

await load(upUrl); // warm-up every path
await load(naiveUrl);
await load(gwUrl);
const direct = await load(upUrl);
const viaNaive = await load(naiveUrl);
const viaGateway = await load(gwUrl);
const rssMiB = Number(readFileSync(`/proc/${gateway.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
console.log(
  JSON.stringify({
    requests: total,
    concurrency,
    directRps: Math.round(direct),
    gatewayRps: Math.round(viaGateway),
    naiveProxyRps: Math.round(viaNaive),
    gatewayToDirectRatio: Number((viaGateway / direct).toFixed(3)),
    gatewayToNaiveProxyRatio: Number((viaGateway / viaNaive).toFixed(3)),
    gatewayRssMiB: Math.round(rssMiB),
  }),
);
gateway.kill('SIGTERM');
naive.kill('SIGTERM');
upstream.kill('SIGTERM');
