// The proxy path of the real gateway binary: streaming both ways, upstream failures, trusted
// proxies' forwarded headers, hop-by-hop handling, HTTPS with Secure cookies.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { freePort } from '../support/ports.js';
import { tempDirFor } from '../support/temp.js';

const TOKEN = 'Token 0123456789abcdef0123456789abcdef01234567';

function upstreamServer() {
  const seen: Array<{ url: string; headers: http.IncomingHttpHeaders; bytes: number; sha: string }> = [];
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/export/')) {
      // A large streamed export: 64 MiB in 1 MiB chunks.
      const chunk = Buffer.alloc(1 << 20, 0x61);
      let n = 0;
      res.writeHead(200, { 'Content-Type': 'text/csv' });
      const write = () => {
        while (n < 64) {
          n++;
          if (!res.write(chunk)) return res.once('drain', write);
        }
        res.end();
      };
      return write();
    }
    const h = createHash('sha256');
    let bytes = 0;
    req.on('data', (c: Buffer) => {
      bytes += c.length;
      h.update(c);
    });
    req.on('end', () => {
      const sha = h.digest('hex');
      seen.push({ url: req.url!, headers: req.headers, bytes, sha });
      res.writeHead(200, { 'Content-Type': 'application/json', Connection: 'close, X-Hop', 'X-Hop': 'secret', 'Keep-Alive': 'timeout=5' });
      res.end(JSON.stringify({ bytes, sha }));
    });
  });
  return new Promise<{ url: string; seen: typeof seen; close: () => Promise<void> }>((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise((r) => server.close(() => r())) }),
    ),
  );
}

const cfg = (port: number, netboxUrl: string, extra = '') => `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
  trustedProxies: [127.0.0.2/32]
netbox:
  url: ${netboxUrl}
sources:
  - kind: oidc
    id: demo
    issuer: http://127.0.0.1:9
    clientId: x
    clientSecret: y
    insecureAllowHttpIssuer: true
policy:
  rules: [{ name: all }]
${extra}`;

function request(opts: http.RequestOptions & { body?: Readable | Buffer; tls?: boolean; ca?: Buffer }): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const mod = opts.tls ? https : http;
    const req = mod.request({ ...opts, ...(opts.ca ? { ca: opts.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (opts.body instanceof Readable) opts.body.pipe(req);
    else req.end(opts.body);
  });
}

describe('gateway proxy path', () => {
  let up: Awaited<ReturnType<typeof upstreamServer>>;
  let gw: RunningGateway;
  before(async () => {
    up = await upstreamServer();
    gw = await startGateway((p) => cfg(p, up.url));
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
  });

  it('streams a large upload to NetBox intact', async () => {
    const total = 48 << 20;
    const hash = createHash('sha256');
    let sent = 0;
    const body = new Readable({
      read() {
        if (sent >= total) return this.push(null);
        const c = Buffer.alloc(1 << 20, sent % 251);
        hash.update(c);
        sent += c.length;
        this.push(c);
      },
    });
    const r = await request({ host: '127.0.0.1', port: gw.port, method: 'POST', path: '/api/extras/image-attachments/', headers: { Authorization: TOKEN, 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' }, body });
    assert.equal(r.status, 200);
    const got = JSON.parse(r.body.toString()) as { bytes: number; sha: string };
    assert.equal(got.bytes, total);
    assert.equal(got.sha, hash.digest('hex'));
  });

  it('streams a large export back intact', async () => {
    const r = await request({ host: '127.0.0.1', port: gw.port, method: 'GET', path: '/export/devices.csv', headers: { Authorization: TOKEN } });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 64 << 20);
  });

  it('drops hop-by-hop headers both ways and sets forwarded headers from the real peer', async () => {
    const r = await request({
      host: '127.0.0.1',
      port: gw.port,
      path: '/api/status/',
      headers: { Authorization: TOKEN, Connection: 'X-Client-Hop', 'X-Client-Hop': '1', 'X-Forwarded-For': '6.6.6.6', 'X-Forwarded-Host': 'evil.example', 'X-Real-IP': '6.6.6.6' },
    });
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-hop'], undefined);
    const seen = up.seen.at(-1)!;
    assert.equal(seen.headers['x-client-hop'], undefined);
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'an untrusted peer cannot set its address');
    assert.equal(seen.headers['x-real-ip'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${gw.port}`);
    assert.equal(seen.headers.host, `127.0.0.1:${gw.port}`);
  });

  it('believes X-Forwarded-For only from a trusted proxy', async () => {
    const r = await request({ host: '127.0.0.1', port: gw.port, localAddress: '127.0.0.2', path: '/api/status/', headers: { Authorization: TOKEN, 'X-Forwarded-For': '203.0.113.7, 127.0.0.2', 'X-Forwarded-Proto': 'https' } });
    assert.equal(r.status, 200);
    const seen = up.seen.at(-1)!;
    assert.equal(seen.headers['x-forwarded-for'], '203.0.113.7');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
  });

  it('shows a clear 502 when NetBox is down', async () => {
    const port = await freePort();
    const down = await startGateway((p) => cfg(p, `http://127.0.0.1:${port}`));
    try {
      const api = await request({ host: '127.0.0.1', port: down.port, path: '/api/status/', headers: { Authorization: TOKEN } });
      assert.equal(api.status, 502);
      assert.match(api.body.toString(), /NetBox is unavailable/);
      const page = await request({ host: '127.0.0.1', port: down.port, path: '/dcim/', headers: { Authorization: TOKEN, Accept: 'text/html' } });
      assert.equal(page.status, 502);
      assert.match(page.body.toString(), /<h1>NetBox is unavailable<\/h1>/);
      const log = await down.waitForLog((l) => l.msg === 'NetBox request failed');
      assert.equal(log.path, '/api/status/');
    } finally {
      await down.stop();
    }
  });

  it('serves HTTPS with Secure cookies when the public URL is https', async (t) => {
    const dir = await tempDirFor(t, 'netbox-gate-tls-');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    const tlsGw = await startGateway(
      (p) =>
        cfg(p, up.url)
          .replace(`publicUrl: http://127.0.0.1:${p}`, `publicUrl: https://127.0.0.1:${p}\n  tls: { certFile: ${join(dir, 'cert.pem')}, keyFile: ${join(dir, 'key.pem')} }`),
    );
    try {
      const ca = readFileSync(join(dir, 'cert.pem'));
      const r = await request({ tls: true, ca, host: '127.0.0.1', port: tlsGw.port, path: '/.netbox-gate/login', headers: { Accept: 'text/html' } });
      assert.equal(r.status, 302, 'one redirect source: straight to it');
      const page = await request({ tls: true, ca, host: '127.0.0.1', port: tlsGw.port, path: '/dcim/', headers: { Accept: 'text/html' } });
      assert.equal(page.status, 302);
      const form = await request({ tls: true, ca, host: '127.0.0.1', port: tlsGw.port, path: '/.netbox-gate/login?error=1', headers: { Accept: 'text/html' } });
      const cookie = ([] as string[]).concat(form.headers['set-cookie'] ?? []).join('\n');
      assert.match(cookie, /netbox_gate_csrf=[^;]+;.*HttpOnly; SameSite=Strict; Secure/);
      const health = await request({ tls: true, ca, host: '127.0.0.1', port: tlsGw.port, path: '/.netbox-gate/health' });
      assert.equal(health.status, 200);
      const api = await request({ tls: true, ca, host: '127.0.0.1', port: tlsGw.port, path: '/api/status/', headers: { Authorization: TOKEN } });
      assert.equal(api.status, 200);
      assert.equal(up.seen.at(-1)!.headers['x-forwarded-proto'], 'https');

      // A renewed certificate is picked up by SIGHUP, without a restart.
      const fingerprint = () =>
        new Promise<string>((resolve, reject) => {
          const sock = tlsConnect({ host: '127.0.0.1', port: tlsGw.port, rejectUnauthorized: false }, () => {
            resolve(sock.getPeerCertificate().fingerprint256);
            sock.end();
          });
          sock.on('error', reject);
        });
      const before = await fingerprint();
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
      assert.equal(await tlsGw.reload(readFileSync(tlsGw.configFile, 'utf8')), 'reloaded');
      const after = await fingerprint();
      assert.notEqual(after, before);
      // A config whose key file is gone is refused; the gateway keeps serving the old one.
      assert.equal(await tlsGw.reload(readFileSync(tlsGw.configFile, 'utf8').replace('key.pem', 'missing-key.pem')), 'refused');
      assert.equal(await fingerprint(), after);
      const refused = tlsGw.logs.find((l) => String(l.msg).startsWith('configuration reload refused'));
      assert.match(JSON.stringify(refused?.issues), /server\.tls\.keyFile: cannot read .*missing-key\.pem: ENOENT/);
    } finally {
      await tlsGw.stop();
    }
  });
});
