// The real gateway binary with a small heap (--max-old-space-size=256) under bounded attacks
// from one machine on loopback, one after another, while a signed-in user keeps browsing
// through a trusted upstream proxy: a sign-in flood, slow token bodies, a flood of silent
// connections. After each the gateway is alive, its memory within a stated bound, every one
// of the user's requests answered, and the attacker got clear refusals.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.js';

const TOKEN = 'Token 0123456789abcdef0123456789abcdef01234567';
/** The gateway's resident memory must stay below this through every attack. */
const RSS_BOUND_MB = 220;
/** Each of the signed-in user's requests must answer within this, attack or not. */
const USER_DEADLINE_MS = 3000;

function upstream() {
  const counts = { tokenRequests: 0 };
  const server = http.createServer((req, res) => {
    if (req.headers.authorization) counts.tokenRequests++;
    if (req.url === '/idp/.well-known/openid-configuration') {
      // Just enough of an identity provider for the gateway to start sign-ins against it.
      const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}/idp`;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(
        JSON.stringify({
          issuer,
          authorization_endpoint: `${issuer}/authorize`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
        }),
      );
    }
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ user: req.headers['x-remote-user'] ?? null }));
    });
  });
  return new Promise<{ url: string; counts: typeof counts; close(): Promise<void> }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        counts,
        close: () => new Promise((r) => (server.closeAllConnections(), server.close(() => r()))),
      }),
    ),
  );
}

const config = (port: number, netboxUrl: string) => `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
  timeouts: { headers: 2s, request: 20s, idle: 3s }
  maxConnections: 1000
  maxConnectionsPerClient: 100
netbox:
  url: ${netboxUrl}
  timeout: 10s
sources:
  - kind: oidc
    id: idp
    issuer: ${netboxUrl}/idp
    insecureAllowHttpIssuer: true
    clientId: gw
    clientSecret: s3cret
  - kind: upstream
    id: proxy
    displayName: Front proxy
    mode: headers
    trustedAddresses: [127.0.0.5/32]
policy:
  rules: [{ name: all }]
`;

/** The gateway process's resident memory, found by its (unique) config file path. */
function gatewayRssMb(configFile: string): number {
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(configFile)) continue;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return Number(m![1]) / 1024;
    } catch {
      /* a process that went away */
    }
  }
  throw new Error('gateway process not found');
}

/** The signed-in user: a request every 100 ms through the trusted proxy address, until stopped. */
function browse(gw: RunningGateway) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: '127.0.0.5' });
  const results: Array<{ status: number; ms: number }> = [];
  const failures: string[] = [];
  let stop = false;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = Date.now();
      const req = http.get(`${gw.url}/dcim/sites/`, { agent, headers: { Accept: 'application/json', 'X-Forwarded-User': 'bob' }, timeout: USER_DEADLINE_MS }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => {
          results.push({ status: res.statusCode!, ms: Date.now() - t0 });
          if (res.statusCode !== 200 || !body.includes('"bob"')) failures.push(`${res.statusCode} ${body.slice(0, 100)}`);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${USER_DEADLINE_MS} ms`)));
      req.on('error', (err) => {
        failures.push(err.message);
        resolve();
      });
    });
  const loop = (async () => {
    while (!stop) {
      await one();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async done() {
      stop = true;
      await loop;
      agent.destroy();
      return { results, failures };
    },
  };
}

function rawClient(port: number, localAddress: string, head = '', trickleEveryMs = 0) {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  let text = '';
  let timer: NodeJS.Timeout | undefined;
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (text += d));
  socket.on('error', () => {});
  const closed = new Promise<void>((r) => socket.on('close', () => (clearInterval(timer), r())));
  socket.on('connect', () => {
    if (head) socket.write(head);
    if (trickleEveryMs) timer = setInterval(() => socket.write('x'), trickleEveryMs);
  });
  return { status: () => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), closed, destroy: () => socket.destroy() };
}

describe('hostile load on the real gateway (256 MB heap)', () => {
  let up: Awaited<ReturnType<typeof upstream>>;
  let gw: RunningGateway;
  before(async () => {
    up = await upstream();
    gw = await startGateway((p) => config(p, up.url), { NODE_OPTIONS: '--max-old-space-size=256' });
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
  });

  const underAttack = async (t: { diagnostic(m: string): void }, attack: () => Promise<void>) => {
    const user = browse(gw);
    await new Promise((r) => setTimeout(r, 300));
    await attack();
    const { results, failures } = await user.done();
    assert.deepEqual(failures, [], 'every request of the signed-in user answered');
    assert.ok(results.length >= 3, `the user made ${results.length} requests`);
    const health = await fetch(`${gw.url}/.netbox-gate/health`);
    assert.equal(health.status, 200, 'the gateway is alive');
    const rss = gatewayRssMb(gw.configFile);
    assert.ok(rss < RSS_BOUND_MB, `gateway RSS ${rss.toFixed(0)} MB`);
    const ms = results.map((r) => r.ms).sort((a, b) => a - b);
    t.diagnostic(`user requests: ${ms.length}, p50 ${ms[Math.floor(ms.length / 2)]} ms, max ${ms.at(-1)} ms; gateway RSS ${rss.toFixed(0)} MB`);
    return results;
  };

  it('a sign-in flood (30,000 GETs of /.netbox-gate/login/<source> with a 2 KB next) leaves memory flat', async (t) => {
    const next = encodeURIComponent('/dcim/sites/?q=' + 'a'.repeat(2000));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 32, localAddress: '127.0.0.9' });
    let sent = 0;
    let redirects = 0;
    await underAttack(t, async () => {
      const worker = async () => {
        while (sent < 30_000) {
          sent++;
          await new Promise<void>((resolve) => {
            const req = http.get(`${gw.url}/.netbox-gate/login/idp?next=${next}`, { agent, headers: { Accept: 'text/html' } }, (res) => {
              if (res.statusCode === 302 && String(res.headers.location).includes('/idp/authorize?')) redirects++;
              res.resume();
              res.on('end', resolve);
            });
            req.on('error', () => resolve());
          });
        }
      };
      await Promise.all(Array.from({ length: 32 }, worker));
    });
    agent.destroy();
    assert.ok(redirects > 29_000, `${redirects} redirects to the identity provider`);
  });

  it('token requests trickling their bodies (20 addresses x 16, small and large): the user is served, small bodies never reach NetBox, past the token pool 503', async (t) => {
    const attackers: Array<ReturnType<typeof rawClient>> = [];
    const head = (length: number) => `POST /api/dcim/sites/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${TOKEN}\r\nContent-Length: ${length}\r\n\r\n`;
    await underAttack(t, async () => {
      for (let a = 0; a < 20; a++) {
        // Half the addresses declare small bodies (read by the gateway before NetBox is
        // involved), half large ones (streamed, so they need one of the token connections).
        for (let i = 0; i < 16; i++) attackers.push(rawClient(gw.port, `127.0.5.${a + 1}`, head(a < 10 ? 1000 : 1_000_000), 1000));
      }
      await new Promise((r) => setTimeout(r, 4000));
    });
    const statuses = attackers.map((a) => a.status());
    for (const a of attackers) a.destroy();
    const refused = statuses.filter((s) => s !== 0);
    assert.equal(refused.length, 160 - 64, 'large bodies past the 64 token connections');
    assert.ok(refused.every((s) => s === 503));
    assert.ok(up.counts.tokenRequests <= 64, `${up.counts.tokenRequests} attacker requests reached NetBox (only large bodies may, on the 64 token connections)`);
  });

  it('1,200 silent connections: the caps refuse the excess with 503, the rest are closed after the header deadline', async (t) => {
    const silent: Array<ReturnType<typeof rawClient>> = [];
    await underAttack(t, async () => {
      for (let a = 0; a < 12; a++) for (let i = 0; i < 100; i++) silent.push(rawClient(gw.port, `127.0.6.${a + 1}`));
      await Promise.race([Promise.all(silent.map((s) => s.closed)), new Promise((r) => setTimeout(r, 8000))]);
    });
    const statuses = silent.map((s) => s.status());
    for (const s of silent) s.destroy();
    assert.ok(statuses.filter((s) => s === 503).length >= 200, 'past maxConnections: 503');
    assert.ok(statuses.filter((s) => s === 408).length >= 700, 'silent ones: 408 after server.timeouts.headers');
    assert.equal(statuses.filter((s) => s === 0).length, 0, 'none left hanging');
  });
});
