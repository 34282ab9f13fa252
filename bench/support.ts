// What the benchmarks need around the product, kept apart from test/ (benchmarks are tooling,
// not tests): a free port, the CLI's path, child processes that end with the benchmark, a
// process's memory, and results written to bench/results/.
import { spawn, spawnSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The bare Node streaming proxy the benchmarks compare with (no header work, no sessions):
 * `node -e BARE_PROXY <port> <upstream port>`.
 */
export const BARE_PROXY = `
const http = require('node:http');
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const s = http.createServer((req, res) => {
  const up = http.request({ host: '127.0.0.1', port: Number(process.argv[2]), method: req.method, path: req.url, headers: req.headers, agent }, (r) => { res.writeHead(r.statusCode, r.headers); r.pipe(res); });
  req.pipe(up);
});
s.listen(Number(process.argv[1]), '127.0.0.1');`;

/**
 * The benchmarks' gateway: one OIDC source (the demo IdP), logging at warn, the demo's policy.
 * `extra` is YAML placed before `sources:` (a sessions block, limits).
 */
export function demoGatewayYaml(o: { port: number; upstream: string; issuer: string; clientSecret: string; extra?: string }): string {
  return `server:
  listen: 127.0.0.1:${o.port}
  publicUrl: http://127.0.0.1:${o.port}
netbox:
  url: ${o.upstream}
  # wrk's 32 connections come from one address: above the default per-client token limit.
  connections:
    tokenPerClient: 64
logging:
  level: warn
${o.extra ?? ''}sources:
  - kind: oidc
    id: demo
    issuer: ${o.issuer}
    clientId: netbox-gate
    clientSecret: ${o.clientSecret}
    insecureAllowHttpIssuer: true
policy:
  defaultGroups: [netbox-users]
  rules:
    - name: admins
      groups: [netbox-admins]
      superuser: true
    - name: engineers
      groups: [network-engineers]
`;
}

/** A TCP port on 127.0.0.1 nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** bin/netbox-gate.js of this checkout (found from build/bench/ or bench/). */
export function cliPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('bench: no package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return path.join(dir, 'bin', 'netbox-gate.js');
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
});

/** Spawns a child that is sent SIGTERM when this process exits, however it exits. */
export function spawnOwned(cmd: string, args: readonly string[], opts: SpawnOptions): ChildProcess {
  const child = spawn(cmd, args, opts);
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Polls `url` until it answers 2xx; throws after `timeoutMs`. */
export async function waitUntilOk(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`bench: ${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A command's path (`command -v`, then /usr/sbin, where Debian puts nginx); '' when missing. */
export function which(cmd: string): string {
  return spawnSync('sh', ['-c', `command -v ${cmd} || ls /usr/sbin/${cmd} 2>/dev/null`], { encoding: 'utf8' }).stdout.trim().split('\n')[0] ?? '';
}

/**
 * nginx (Debian) as a plain reverse proxy to `upstreamPort`, one worker, keep-alive to the
 * upstream, no access log: the cheapest hop the machine offers, a reference beside the bare
 * Node proxy, so a ratio over direct can be read as "what any process on the way costs here"
 * against "what a Node process costs". Its files go under `dir`.
 */
export function startNginxProxy(nginx: string, dir: string, port: number, upstreamPort: number): ChildProcess {
  const d = path.join(dir, `nginx-proxy-${port}`);
  mkdirSync(d, { recursive: true });
  writeFileSync(
    path.join(d, 'nginx.conf'),
    `worker_processes 1;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${d}/body;
  proxy_temp_path ${d}/proxy;
  fastcgi_temp_path ${d}/fastcgi;
  uwsgi_temp_path ${d}/uwsgi;
  scgi_temp_path ${d}/scgi;
  upstream up { server 127.0.0.1:${upstreamPort}; keepalive 16; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://up;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }
  }
}
`,
  );
  return spawnOwned(nginx, ['-c', path.join(d, 'nginx.conf'), '-p', d, '-g', 'daemon off; master_process off;'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** CPU time a process has used so far, all its threads, in µs: the schedstat file of each
 * thread under /proc/<pid>/task counts nanoseconds, where /proc/<pid>/stat counts 10 ms ticks. */
export function cpuUs(pid: number | undefined): number {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* the thread ended */
    }
  }
  return ns / 1000;
}

/** Resident memory of a process in MiB (Linux /proc), 0 when it is gone. */
export function rssMiB(pid: number | undefined): number {
  try {
    return Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/**
 * Writes a benchmark's result as JSON into `dir` (default bench/results/ of this checkout), named
 * `<bench>-<UTC date and time>-<cores>c-load<1-min load average>.json`, so results from different
 * runs and machines sit side by side and say under what load they were measured. Returns the path.
 */
export function writeResult(bench: string, data: unknown, dir = path.join(path.dirname(path.dirname(cliPath())), 'bench', 'results')): string {
  const stamp = new Date().toISOString().slice(0, 16).replace(':', '-');
  const cores = os.availableParallelism();
  const load = os.loadavg()[0]!.toFixed(2);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${bench}-${stamp}-${cores}c-load${load}.json`);
  writeFileSync(file, JSON.stringify({ bench, date: new Date().toISOString(), cores, loadAverage: os.loadavg(), node: process.version, ...(data as object) }, null, 2) + '\n');
  return file;
}

// ---- Browser-like sign-ins: the demo's client (bench/ never imports test helpers).
export { CookieClient, signInThroughDemoIdp } from '../demo/http-client.js';

/** A private redis-server (Debian's) on a free loopback port, no persistence. */
export async function startRedisServer(): Promise<{ url: string; port: number; pid: number | undefined; remove(): Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'netbox-gate-bench-redis-'));
  const child = spawnOwned('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: 'ignore' });
  const deadline = Date.now() + 15_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`bench: redis-server did not start on ${port} (scripts/install-deps.sh redis)`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    async remove() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
