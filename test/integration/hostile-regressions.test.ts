// What already held when the gateway was probed as an attacker would (issue 8), kept holding
// with the real binary on loopback: request smuggling refused before NetBox, slowloris headers
// closed at the header deadline, NetBox down and a hanging identity provider answered promptly,
// a flood of Set-Cookie headers from NetBox a clean 502, a 1 GiB download in flat memory, a
// download nobody reads closed at the idle deadline, and 50 reloads (SIGHUP) under load losing
// no request.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { freePort } from '../support/ports.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/upstream.js';

const TOKEN = 'Token 0123456789abcdef0123456789abcdef01234567';
/**
 * The gateway's resident memory while it streams 1 GiB must stay below this: about 95 MB idle and
 * 150-200 MB while streaming 256 MiB or 1 GiB alike (buffers freed by GC lazily), so flat.
 */
const DOWNLOAD_RSS_BOUND_MB = 256;

const config = (port: number, netboxUrl: string, o: { issuer?: string; oidcTimeout?: string; netboxTimeout?: string } = {}) => `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
  timeouts: { headers: 2s, request: 20s, idle: 5s }
netbox:
  url: ${netboxUrl}
  timeout: ${o.netboxTimeout ?? '10s'}
sources:
  - kind: oidc
    id: idp
    issuer: ${o.issuer ?? 'http://127.0.0.1:9'}
    insecureAllowHttpIssuer: true
    clientId: gw
    clientSecret: s3cret
    timeout: ${o.oidcTimeout ?? '10s'}
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

/**
 * Writes `data` on a raw connection and collects what comes back until the gateway closes it
 * (or `waitMs` passes: then `closed` is false). `trickle` bytes are sent one every `everyMs`.
 */
function raw(port: number, data: string, o: { waitMs?: number; trickle?: string; everyMs?: number } = {}) {
  return new Promise<{ text: string; status: number; closed: boolean; ms: number }>((resolve) => {
    const t0 = Date.now();
    const socket = net.connect({ port, host: '127.0.0.1' });
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    const finish = (closed: boolean) => {
      clearInterval(timer);
      clearTimeout(deadline);
      socket.destroy();
      resolve({ text, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), closed, ms: Date.now() - t0 });
    };
    const deadline = setTimeout(() => finish(false), o.waitMs ?? 5000);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', () => {});
    socket.on('close', () => finish(true));
    socket.on('connect', () => {
      socket.write(data);
      let i = 0;
      if (o.trickle) timer = setInterval(() => (i < o.trickle!.length ? socket.write(o.trickle![i++]!) : clearInterval(timer)), o.everyMs ?? 500);
    });
  });
}

/** A GET with a client-side deadline; rejects when the gateway does not answer within it. */
function get(url: string, headers: http.OutgoingHttpHeaders, deadlineMs: number, localAddress?: string) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.get(url, { headers, timeout: deadlineMs, agent: false, ...(localAddress ? { localAddress } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${deadlineMs} ms`)));
    req.on('error', reject);
  });
}

describe('what already held under hostile load keeps holding (real binary)', { timeout: 180_000 }, () => {
  let up: RecordingUpstream;
  let gw: RunningGateway;
  before(async () => {
    up = await startRecordingUpstream((req, res) => {
      if (req.url === '/many-cookies/') {
        // 10,000 Set-Cookie headers (about 200 KB of headers): more than any client accepts.
        res.writeHead(200, { 'Set-Cookie': Array.from({ length: 10_000 }, (_, i) => `c${i}=${'v'.repeat(12)}; Path=/`), 'Content-Type': 'text/plain' });
        res.end('never seen');
        return true;
      }
      return false;
    });
    gw = await startGateway((p) => config(p, up.url));
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
  });

  describe('request smuggling is refused before anything reaches NetBox', () => {
    const head = `POST /api/dcim/sites/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${TOKEN}\r\nContent-Type: application/json\r\n`;
    // Each body hides a second request: if the gateway and NetBox framed it differently,
    // NetBox would see GET /smuggled/ as a request of its own.
    const hidden = '0\r\n\r\nGET /smuggled/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const cases: Array<[string, string]> = [
      ['Transfer-Encoding with Content-Length', `${head}Transfer-Encoding: chunked\r\nContent-Length: ${hidden.length}\r\n\r\n${hidden}`],
      ['Content-Length with Transfer-Encoding (reversed order)', `${head}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n${hidden}`],
      ['two different Content-Length headers', `${head}Content-Length: 4\r\nContent-Length: ${hidden.length + 4}\r\n\r\n{}{}${hidden}`],
      ['two equal Content-Length headers', `${head}Content-Length: 4\r\nContent-Length: 4\r\n\r\n{}{}${hidden}`],
      ['a Content-Length list', `${head}Content-Length: 4, 4\r\n\r\n{}{}${hidden}`],
      ['Transfer-Encoding: xchunked', `${head}Transfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n{}{}${hidden}`],
      ['Transfer-Encoding: xchunked alone', `${head}Transfer-Encoding: xchunked\r\n\r\n${hidden}`],
      ['Transfer-Encoding: chunked, identity', `${head}Transfer-Encoding: chunked, identity\r\n\r\n${hidden}`],
      ['Transfer-Encoding: identity', `${head}Transfer-Encoding: identity\r\nContent-Length: 4\r\n\r\n{}{}${hidden}`],
      ['a space before the colon', `${head}Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n{}{}${hidden}`],
      ['a folded Transfer-Encoding line', `${head}Transfer-Encoding:\r\n chunked\r\nContent-Length: 4\r\n\r\n{}{}${hidden}`],
      ['a vertical tab in the value', `${head}Transfer-Encoding:\x0bchunked\r\nContent-Length: 4\r\n\r\n{}{}${hidden}`],
      ['a bare LF in the header block', `${head}Transfer-Encoding: chunked\nContent-Length: 4\r\n\r\n{}{}${hidden}`],
      ['a chunk size with a bad extension', `${head}Transfer-Encoding: chunked\r\n\r\n2;\x00\r\n{}\r\n${hidden}`],
      ['a non-hex chunk size', `${head}Transfer-Encoding: chunked\r\n\r\n0x2\r\n{}\r\n${hidden}`],
    ];
    for (const [name, data] of cases) {
      it(`${name}: 400 and the connection closed`, async () => {
        const before = up.seen.length;
        const r = await raw(gw.port, data);
        assert.equal(r.status, 400, `answer: ${JSON.stringify(r.text.slice(0, 200))}`);
        assert.ok(r.closed, 'the gateway closed the connection');
        assert.equal((r.text.match(/HTTP\/1\.1 /g) ?? []).length, 1, 'one answer, for one request');
        assert.deepEqual(up.seen.slice(before).map((s) => s.url), [], 'NetBox saw nothing');
      });
    }

    it('a well-framed chunked request still passes (control)', async () => {
      const before = up.seen.length;
      const r = await raw(gw.port, `${head}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n`);
      assert.equal(r.status, 200);
      assert.deepEqual(
        up.seen.slice(before).map((s) => [s.url, s.body]),
        [['/api/dcim/sites/', '{}']],
      );
    });
  });

  it('slowloris: headers trickled a byte every 300 ms are cut at server.timeouts.headers (2 s) with 408', async () => {
    const r = await raw(gw.port, 'GET /dcim/sites/ HTTP/1.1\r\nHost: 127.0.0.1\r\n', { trickle: 'X-Slow: ' + 'a'.repeat(200), everyMs: 300, waitMs: 10_000 });
    assert.ok(r.closed, 'closed while the client was still sending headers');
    assert.equal(r.status, 408, `answer: ${JSON.stringify(r.text.slice(0, 200))}`);
    assert.ok(r.ms < 10_000);
    const health = await get(`${gw.url}/.netbox-gate/health`, {}, 5000);
    assert.equal(health.status, 200);
  });

  it('NetBox down: 502 for the API and for pages, well within a 5 s deadline', async () => {
    const downPort = await freePort();
    const down = await startGateway((p) => config(p, `http://127.0.0.1:${downPort}`));
    try {
      const api = await get(`${down.url}/api/dcim/sites/`, { Authorization: TOKEN, Accept: 'application/json' }, 5000);
      assert.equal(api.status, 502);
      assert.match(api.body, /NetBox is unavailable|could not reach NetBox/);
      const page = await get(`${down.url}/dcim/sites/`, { Accept: 'text/html', 'X-Forwarded-User': 'bob' }, 5000, '127.0.0.5');
      assert.equal(page.status, 502);
      assert.match(page.body, /<h1>NetBox is unavailable<\/h1>/);
    } finally {
      await down.stop();
    }
  });

  it('an identity provider that accepts connections and never answers: a 503 page within the source timeout', async () => {
    const held: net.Socket[] = [];
    const silent = net.createServer((s) => (held.push(s), s.on('error', () => {})));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const issuer = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/realms/x`;
    const hung = await startGateway((p) => config(p, up.url, { issuer, oidcTimeout: '2s' }));
    try {
      // 2 s of source timeout, plus a generous margin for a loaded machine.
      const r = await get(`${hung.url}/.netbox-gate/login/idp`, { Accept: 'text/html' }, 8000);
      assert.equal(r.status, 503);
      assert.match(r.body, /cannot be reached right now/);
      assert.ok(held.length >= 1, 'the gateway did reach the silent provider');
      const health = await get(`${hung.url}/.netbox-gate/health`, {}, 5000);
      assert.equal(health.status, 200);
    } finally {
      await hung.stop();
      for (const s of held) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('10,000 Set-Cookie headers from NetBox: one clean 502, the gateway keeps serving', async () => {
    const r = await raw(gw.port, `GET /many-cookies/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${TOKEN}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 502, `answer: ${JSON.stringify(r.text.slice(0, 200))}`);
    assert.ok(r.closed);
    assert.doesNotMatch(r.text, /set-cookie|never seen/i, 'nothing of the oversized response leaked');
    const [, headers, body] = /^([\s\S]*?)\r\n\r\n([\s\S]*)$/.exec(r.text) ?? [];
    const length = /content-length: (\d+)/i.exec(headers ?? '')?.[1];
    if (length) assert.equal(Buffer.byteLength(body!, 'latin1'), Number(length), 'a complete answer');
    const after = await get(`${gw.url}/api/status/`, { Authorization: TOKEN }, 5000);
    assert.equal(after.status, 200);
  });

  it(`a 1 GiB download streams through with the gateway's RSS below ${DOWNLOAD_RSS_BOUND_MB} MB`, async (t) => {
    const TOTAL = 1 << 30;
    const source = http.createServer((_req, res) => {
      const chunk = Buffer.alloc(1 << 20, 0x62);
      let sent = 0;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': TOTAL });
      const write = () => {
        while (sent < TOTAL) {
          sent += chunk.length;
          if (!res.write(chunk)) return res.once('drain', write);
        }
        res.end();
      };
      write();
    });
    await new Promise<void>((r) => source.listen(0, '127.0.0.1', r));
    const big = await startGateway((p) => config(p, `http://127.0.0.1:${(source.address() as AddressInfo).port}`));
    const before = gatewayRssMb(big.configFile);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, gatewayRssMb(big.configFile))), 100);
    try {
      const received = await new Promise<number>((resolve, reject) => {
        http
          .get(`${big.url}/api/dcim/devices/export/`, { headers: { Authorization: TOKEN } }, (res) => {
            assert.equal(res.statusCode, 200);
            let n = 0;
            res.on('data', (c: Buffer) => (n += c.length));
            res.on('end', () => resolve(n));
            res.on('error', reject);
          })
          .on('error', reject);
      });
      assert.equal(received, TOTAL, 'every byte arrived');
    } finally {
      clearInterval(sampler);
      await big.stop();
      await new Promise<void>((r) => (source.closeAllConnections(), source.close(() => r())));
    }
    t.diagnostic(`gateway RSS ${before.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB while streaming 1 GiB`);
    assert.ok(peak < DOWNLOAD_RSS_BOUND_MB, `peak RSS ${peak.toFixed(0)} MB`);
  });

  it('a download the client stops reading is closed after server.timeouts.idle, and so is the NetBox response behind it', async () => {
    // NetBox streams without end; the client reads the first bytes and then nothing. netbox.timeout
    // is 60 s here, so only the client-side idle deadline (5 s) can end it within the bound. (Node
    // gives a write that was still moving when the deadline came one more period: 5 to 10 s.)
    let upstreamClosed!: () => void;
    const closed = new Promise<void>((r) => (upstreamClosed = r));
    const endless = http.createServer((_req, res) => {
      const chunk = Buffer.alloc(64 << 10, 0x63);
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.on('close', () => upstreamClosed());
      const write = () => {
        while (!res.destroyed) if (!res.write(chunk)) return res.once('drain', write);
      };
      write();
    });
    await new Promise<void>((r) => endless.listen(0, '127.0.0.1', r));
    const stall = await startGateway((p) => config(p, `http://127.0.0.1:${(endless.address() as AddressInfo).port}`, { netboxTimeout: '60s' }));
    const socket = net.connect({ port: stall.port, host: '127.0.0.1' });
    socket.on('error', () => {});
    try {
      socket.write(`GET /api/dcim/devices/export/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${TOKEN}\r\n\r\n`);
      const first = await new Promise<Buffer>((r) => socket.once('data', r));
      socket.pause();
      assert.match(first.toString('latin1'), /^HTTP\/1\.1 200 /);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([closed, new Promise((_r, reject) => (timer = setTimeout(() => reject(new Error('NetBox response still open after 20 s')), 20_000)))]).finally(() => clearTimeout(timer));
      // What the client had not read yet drains, then the connection ends.
      const ended = new Promise<void>((r) => socket.once('close', () => r()));
      socket.resume();
      await Promise.race([ended, new Promise((_r, reject) => setTimeout(() => reject(new Error('client connection still open')), 10_000).unref())]);
      const health = await get(`${stall.url}/.netbox-gate/health`, {}, 5000);
      assert.equal(health.status, 200);
    } finally {
      socket.destroy();
      await stall.stop();
      await new Promise<void>((r) => (endless.closeAllConnections(), endless.close(() => r())));
    }
  });

  it('50 reloads (SIGHUP) while requests flow: every request answered 200', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const failures: string[] = [];
    let answered = 0;
    let stop = false;
    const worker = async (i: number) => {
      while (!stop) {
        await new Promise<void>((resolve) => {
          const headers = i % 2 ? { Authorization: TOKEN } : { 'X-Forwarded-User': 'bob', Accept: 'application/json' };
          const req = http.get(`${gw.url}/dcim/sites/?w=${i}`, { agent, headers, localAddress: i % 2 ? '127.0.0.1' : '127.0.0.5', timeout: 10_000 }, (res) => {
            res.resume();
            res.on('end', () => {
              if (res.statusCode === 200) answered++;
              else failures.push(String(res.statusCode));
              resolve();
            });
          });
          req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
          req.on('error', (err) => (failures.push(err.message), resolve()));
        });
      }
    };
    // Separate agents per address would be cleaner, but one agent keyed by localAddress does that.
    const load = Promise.all(Array.from({ length: 8 }, (_, i) => worker(i)));
    const yaml = readFileSync(gw.configFile, 'utf8');
    try {
      for (let n = 0; n < 50; n++) {
        const changed = yaml.replace(/timeout: 10s\n/, `timeout: ${10 + (n % 2)}s\n`);
        assert.equal(await gw.reload(changed), 'reloaded');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      stop = true;
      await load;
      agent.destroy();
      await gw.reload(yaml);
    }
    assert.deepEqual(failures, [], 'no request lost');
    assert.ok(answered >= 50, `${answered} requests answered during the reloads`);
  });
});
