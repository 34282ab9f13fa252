// The signed-in user's latency with no attack and under each attack of issue 8, side by side in
// one run: a sign-in flood, token requests trickling their bodies, silent connections, failed
// password sign-ins with fresh user names. The gateway runs with its default limits, the user
// browses through a trusted proxy, each attack comes from its own process (so its work does not
// delay the user's measurements), and the gateway and upstream from theirs. A last phase without
// an attack shows whether the gateway comes back to where it started.
// Run: npx tsc -p tsconfig.json && node build/bench/hostile.js [--duration <s per phase>] [--out <dir>]
// Prints a table with ratios against the no-attack phase and writes it to bench/results/.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cliPath, freePort, rssMiB, spawnOwned, waitUntilOk, writeResult } from './support.js';

const ATTACKS = {
  'sign-in flood': 'GETs of /.netbox-gate/login/<source> with a 2 KB next, 32 connections',
  'trickled token bodies': '320 token POSTs from 20 addresses, bodies at 1 byte/s (half small, half large)',
  'silent connections': '2,000 connections from 20 addresses that never send a byte',
  'username flood': 'failed password sign-ins with a fresh user name each, 10 connections from 10 addresses',
} as const;
type Attack = keyof typeof ATTACKS;

const { values: opts } = parseArgs({
  options: {
    duration: { type: 'string', default: '4' },
    out: { type: 'string' },
    attack: { type: 'string' },
    url: { type: 'string' },
  },
});

if (opts.attack) await attacker(opts.attack as Attack, opts.url!);
else await main();

// ---- the attacker process: attacks until the parent says stop, then reports what it got ----

async function attacker(attack: Attack, gwUrl: string): Promise<void> {
  const port = Number(new URL(gwUrl).port);
  const statuses: Record<string, number> = {};
  const count = (s: number | string) => (statuses[s] = (statuses[s] ?? 0) + 1);
  let stopping = false;
  const sockets: net.Socket[] = [];
  const agents: http.Agent[] = [];
  const loops: Array<Promise<void>> = [];

  /** A raw connection; its first status line is counted when it closes (0: none). */
  const rawConnection = (localAddress: string, head: string, trickleEveryMs: number) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text.length < 20 ? (text += d) : undefined));
    socket.on('error', () => {});
    socket.on('connect', () => {
      if (head) socket.write(head);
      if (trickleEveryMs) timer = setInterval(() => socket.write('x'), trickleEveryMs);
    });
    socket.on('close', () => {
      clearInterval(timer);
      if (!stopping) count(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0) || 'closed silently');
    });
    sockets.push(socket);
  };

  /** `n` keep-alive request loops from `localAddress` until stopped. */
  const requestLoops = (n: number, localAddress: (i: number) => string, send: (agent: http.Agent, i: number) => http.ClientRequest) => {
    for (let i = 0; i < n; i++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: localAddress(i) });
      agents.push(agent);
      loops.push(
        (async () => {
          while (!stopping) {
            await new Promise<void>((resolve) => {
              const req = send(agent, i);
              req.on('response', (res) => {
                count(res.statusCode!);
                res.resume();
                res.on('end', resolve);
              });
              req.on('error', () => (stopping || count('error'), resolve()));
            });
          }
        })(),
      );
    }
  };

  switch (attack) {
    case 'sign-in flood': {
      const next = encodeURIComponent('/dcim/sites/?q=' + 'a'.repeat(2000));
      requestLoops(32, () => '127.0.0.9', (agent) => http.get(`${gwUrl}/.netbox-gate/login/idp?next=${next}`, { agent, headers: { Accept: 'text/html' } }));
      break;
    }
    case 'trickled token bodies': {
      const head = (length: number) => `POST /api/dcim/sites/ HTTP/1.1\r\nHost: x\r\nAuthorization: Token 0123456789abcdef0123456789abcdef01234567\r\nContent-Length: ${length}\r\n\r\n`;
      for (let a = 0; a < 20; a++) for (let i = 0; i < 16; i++) rawConnection(`127.0.5.${a + 1}`, head(a < 10 ? 1000 : 1_000_000), 1000);
      break;
    }
    case 'silent connections': {
      for (let a = 0; a < 20; a++) for (let i = 0; i < 100; i++) rawConnection(`127.0.6.${a + 1}`, '', 0);
      break;
    }
    case 'username flood': {
      // Each address loads the form once for its CSRF token and cookie, then guesses.
      const forms = await Promise.all(Array.from({ length: 10 }, (_, i) => passwordForm(gwUrl, `127.0.7.${i + 1}`)));
      let n = 0;
      requestLoops(
        10,
        (i) => `127.0.7.${i + 1}`,
        (agent, i) => {
          const body = new URLSearchParams({ csrf: forms[i]!.csrf, next: '/', source: 'break-glass', username: `guess-${i}-${n++}`, password: 'wrong' }).toString();
          const req = http.request(`${gwUrl}/.netbox-gate/login`, {
            method: 'POST',
            agent,
            headers: { Accept: 'text/html', 'Content-Type': 'application/x-www-form-urlencoded', Cookie: forms[i]!.cookie, Origin: gwUrl, 'Content-Length': Buffer.byteLength(body) },
          });
          req.end(body);
          return req;
        },
      );
      break;
    }
    default:
      throw new Error(`bench: unknown attack ${attack}`);
  }
  // Connections are opened; give them a moment to reach the gateway before the user measures.
  await new Promise((r) => setTimeout(r, 300));
  process.send!({ ready: true });
  await new Promise<void>((r) => process.once('message', () => r()));
  stopping = true;
  for (const s of sockets) {
    if (!s.closed) count('still open');
    s.destroy();
  }
  for (const a of agents) a.destroy();
  await Promise.all(loops);
  process.send!({ statuses }, () => process.exit(0));
}

function passwordForm(gwUrl: string, localAddress: string): Promise<{ csrf: string; cookie: string }> {
  return new Promise((resolve, reject) =>
    http
      .get(`${gwUrl}/.netbox-gate/login/break-glass`, { localAddress, headers: { Accept: 'text/html' } }, (res) => {
        let html = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (html += d));
        res.on('end', () => {
          const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
          const cookie = (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]).join('; ');
          if (!csrf || !cookie) return reject(new Error(`bench: no password form (${res.statusCode})`));
          resolve({ csrf, cookie });
        });
      })
      .on('error', reject),
  );
}

// ---- the run: upstream, gateway, then one phase per attack ----

interface Phase {
  phase: string;
  attack: string;
  requests: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  gatewayRssMiB: number;
  attackerAnswers: Record<string, number>;
}

async function main(): Promise<void> {
  const durationMs = Number(opts.duration) * 1000;
  if (!(durationMs > 0)) throw new Error('bench: --duration must be a positive number of seconds');

  // NetBox stand-in, and just enough of an identity provider for sign-ins to start against it.
  const UPSTREAM = `
const http = require('node:http');
const s = http.createServer((req, res) => {
  if (req.url === '/idp/.well-known/openid-configuration') {
    const issuer = 'http://127.0.0.1:' + s.address().port + '/idp';
    res.writeHead(200, { 'Content-Type': 'application/json' });
    return res.end(JSON.stringify({ issuer, authorization_endpoint: issuer + '/authorize', token_endpoint: issuer + '/token', jwks_uri: issuer + '/jwks', response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256'], code_challenge_methods_supported: ['S256'] }));
  }
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end(JSON.stringify({ user: req.headers['x-remote-user'] || null, results: [] })); });
});
s.listen(0, '127.0.0.1', () => console.log(s.address().port));`;
  const upstream = spawnOwned(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
  const upPort = await new Promise<number>((r) => upstream.stdout!.once('data', (d: Buffer) => r(Number(d.toString().trim()))));
  const upUrl = `http://127.0.0.1:${upPort}`;

  const dir = mkdtempSync(join(tmpdir(), 'netbox-gate-bench-hostile-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const hash = spawnSync(process.execPath, [cliPath(), 'hash-password'], { input: 'Correct-Horse-7f3a\n', encoding: 'utf8' });
  if (hash.status !== 0) throw new Error(`bench: hash-password failed: ${hash.stderr}`);
  writeFileSync(join(dir, 'break-glass.users'), `ops-root:${hash.stdout.trim()}:break-glass\n`, { mode: 0o600 });
  const gwPort = await freePort();
  const gwUrl = `http://127.0.0.1:${gwPort}`;
  // Every limit at its default: what an operator gets without tuning.
  writeFileSync(
    join(dir, 'gateway.yaml'),
    `server:
  listen: 127.0.0.1:${gwPort}
  publicUrl: ${gwUrl}
netbox:
  url: ${upUrl}
sources:
  - kind: oidc
    id: idp
    issuer: ${upUrl}/idp
    insecureAllowHttpIssuer: true
    clientId: gw
    clientSecret: s3cret
  - kind: upstream
    id: proxy
    mode: headers
    trustedAddresses: [127.0.0.5/32]
  - kind: local
    id: break-glass
    usersFile: ${join(dir, 'break-glass.users')}
policy:
  rules: [{ name: all }]
`,
  );
  const gateway = spawnOwned(process.execPath, [cliPath(), 'serve', '--config', join(dir, 'gateway.yaml')], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitUntilOk(`${gwUrl}/.netbox-gate/health`);

  const phases: Phase[] = [];
  const phase = async (name: string, attack?: Attack): Promise<void> => {
    let child: ChildProcess | undefined;
    if (attack) {
      child = spawnOwned(process.execPath, [fileURLToPath(import.meta.url), '--attack', attack, '--url', gwUrl], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const c = child;
      await new Promise<void>((resolve, reject) => {
        const early = (code: number | null) => reject(new Error(`bench: the ${attack} attacker exited (${code})`));
        c.once('exit', early);
        c.once('message', () => (c.off('exit', early), resolve()));
      });
    }
    let peakRss = rssMiB(gateway.pid);
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMiB(gateway.pid))), 250);
    const user = await browse(gwUrl, durationMs);
    clearInterval(sampler);
    let attackerAnswers: Record<string, number> = {};
    if (child) {
      const c = child;
      attackerAnswers = await new Promise<Record<string, number>>((resolve) => {
        c.once('message', (m) => resolve((m as { statuses: Record<string, number> }).statuses));
        c.send('stop');
      });
      await new Promise((r) => (c.exitCode === null ? c.once('exit', r) : r(null)));
    }
    const ms = user.ms.sort((a, b) => a - b);
    const pct = (p: number) => ms[Math.min(ms.length - 1, Math.floor((ms.length * p) / 100))] ?? NaN;
    phases.push({
      phase: name,
      attack: attack ? ATTACKS[attack] : 'none',
      requests: ms.length,
      errors: user.errors,
      p50Ms: round(pct(50)),
      p99Ms: round(pct(99)),
      maxMs: round(ms.at(-1) ?? NaN),
      gatewayRssMiB: Math.round(peakRss),
      attackerAnswers,
    });
    // Let the gateway close what the attacker left before the next phase.
    await new Promise((r) => setTimeout(r, 1000));
  };

  await browse(gwUrl, Math.max(1000, durationMs)); // warm-up: the user's session, JIT, connection pools
  await phase('no attack');
  for (const attack of Object.keys(ATTACKS) as Attack[]) await phase(attack, attack);
  // Once more without an attack: does the gateway come back to where it started?
  await phase('no attack, after');
  gateway.kill('SIGTERM');
  upstream.kill('SIGTERM');

  const base = phases[0]!;
  const rows = phases.map((p) => ({
    ...p,
    p50Ratio: round(p.p50Ms / base.p50Ms),
    p99Ratio: round(p.p99Ms / base.p99Ms),
  }));
  const header = ['phase', 'requests', 'errors', 'p50 ms', 'p99 ms', 'p50 ×', 'p99 ×', 'RSS MiB', 'attacker got'];
  const table = [
    header,
    ...rows.map((r) => [r.phase, r.requests, r.errors, r.p50Ms, r.p99Ms, r.p50Ratio, r.p99Ratio, r.gatewayRssMiB, Object.entries(r.attackerAnswers).map(([s, n]) => `${s}: ${n}`).join(', ') || '-'].map(String)),
  ];
  const widths = header.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  console.log(`signed-in user's latency under attack, ${durationMs / 1000} s per phase (ratios against "no attack")`);
  for (const row of table) console.log(row.map((c, i) => (i === 0 || i === row.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  const file = writeResult('hostile', { durationSeconds: durationMs / 1000, phases: rows }, opts.out);
  console.log(`written to ${file}`);
}

/** The signed-in user: one request after another (10 ms apart) through the trusted proxy. */
async function browse(gwUrl: string, forMs: number): Promise<{ ms: number[]; errors: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: '127.0.0.5' });
  const ms: number[] = [];
  let errors = 0;
  const until = Date.now() + forMs;
  while (Date.now() < until) {
    const t0 = process.hrtime.bigint();
    const ok = await new Promise<boolean>((resolve) => {
      const req = http.get(`${gwUrl}/dcim/sites/`, { agent, headers: { Accept: 'application/json', 'X-Forwarded-User': 'bob' }, timeout: 10_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
      req.on('error', () => resolve(false));
    });
    if (ok) ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
    else errors++;
    await new Promise((r) => setTimeout(r, 10));
  }
  agent.destroy();
  return { ms, errors };
}

function round(n: number): number {
  return Number(n.toFixed(n < 10 ? 2 : 1));
}
