// Graceful shutdown of the real binary: SIGTERM during a large streamed download lets the
// download finish and the process exit 0; server.shutdownTimeout bounds the wait.
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import { after, afterEach, describe, it } from 'node:test';
import { startGateway, type RunningGateway } from '../support/gateway.js';
import { startRecordingUpstream } from '../support/upstream.js';

const CHUNK = Buffer.alloc(256 * 1024, 'netbox export row\n');

/**
 * NetBox's stand-in: /export/ streams CHUNK every few milliseconds until the test calls
 * finish() (then ends after one more chunk) or forever when finish() is never called.
 */
async function slowExportUpstream() {
  let finishing = false;
  let started!: () => void;
  const firstBytes = new Promise<void>((r) => (started = r));
  const timers = new Set<NodeJS.Timeout>();
  const up = await startRecordingUpstream((req, res) => {
    if (!req.url.startsWith('/export/')) return false;
    res.writeHead(200, { 'Content-Type': 'text/csv' });
    let sent = 0;
    const tick = () => {
      if (res.destroyed) return;
      res.write(CHUNK);
      sent++;
      if (sent === 1) started();
      if (finishing && sent >= 4) return res.end();
      const t = setTimeout(tick, 20);
      timers.add(t);
    };
    tick();
    return true;
  });
  return {
    up,
    firstBytes,
    finish: () => (finishing = true),
    stop: async () => {
      for (const t of timers) clearTimeout(t);
      await up.close();
    },
  };
}

/** Downloads through the gateway with a NetBox API token (passed through untouched). */
function download(url: string): { done: Promise<{ complete: boolean; bytes: number; sha: string; error?: string }>; firstByte: Promise<void> } {
  let gotFirst!: () => void;
  const firstByte = new Promise<void>((r) => (gotFirst = r));
  const done = new Promise<{ complete: boolean; bytes: number; sha: string; error?: string }>((resolve) => {
    const hash = createHash('sha256');
    let bytes = 0;
    const req = http.get(url, { headers: { Authorization: 'Token 0123456789abcdef0123456789abcdef01234567', Connection: 'keep-alive' } }, (res) => {
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
        gotFirst();
      });
      res.on('end', () => resolve({ complete: res.complete, bytes, sha: hash.digest('hex') }));
      res.on('error', (e) => resolve({ complete: false, bytes, sha: '', error: e.message }));
      res.on('aborted', () => resolve({ complete: false, bytes, sha: '', error: 'aborted' }));
    });
    req.on('error', (e) => resolve({ complete: false, bytes, sha: '', error: e.message }));
  });
  return { done, firstByte };
}

const config = (netbox: string, shutdownTimeout: string) => (port: number) => `server:
  listen: 127.0.0.1:${port}
  publicUrl: http://127.0.0.1:${port}
  shutdownTimeout: ${shutdownTimeout}
netbox:
  url: ${netbox}
sources:
  - kind: radius
    id: aaa
    servers: [127.0.0.1:1812]
    secret: never-contacted-secret
policy:
  rules:
    - name: everyone
      users: ['*']
`;

describe('graceful shutdown (netbox-gate serve)', () => {
  let gw: RunningGateway | undefined;
  let upstream: Awaited<ReturnType<typeof slowExportUpstream>> | undefined;
  afterEach(async () => {
    await gw?.stop();
    await upstream?.stop();
    gw = upstream = undefined;
  });
  after(async () => {
    await gw?.stop();
  });

  it('SIGTERM during a large streamed download: new connections are refused, the download completes, exit code 0', async () => {
    upstream = await slowExportUpstream();
    gw = await startGateway(config(upstream.up.url, '30s'));
    const dl = download(`${gw.url}/export/devices.csv`);
    await dl.firstByte;
    gw.signal('SIGTERM');
    await gw.waitForLog((l) => String(l.msg).startsWith('shutting down'));
    // No longer accepting: a new connection is refused while the download is still running.
    const refused = await new Promise<string>((resolve) => {
      const r = http.get(`${gw!.url}/.netbox-gate/health`, { agent: false }, (res) => {
        res.resume();
        resolve(`answered ${res.statusCode}`);
      });
      r.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    assert.equal(refused, 'ECONNREFUSED');
    upstream.finish();
    const r = await dl.done;
    assert.equal(r.error, undefined);
    assert.equal(r.complete, true);
    assert.ok(r.bytes >= 4 * CHUNK.length && r.bytes % CHUNK.length === 0, `downloaded ${r.bytes} bytes`);
    const expected = createHash('sha256');
    for (let i = 0; i < r.bytes / CHUNK.length; i++) expected.update(CHUNK);
    assert.equal(r.sha, expected.digest('hex'), 'the body arrived intact');
    const exit = await gw.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(gw.logs.some((l) => l.msg === 'stopped'));
    assert.ok(!gw.logs.some((l) => String(l.msg).includes('were cut')));
  });

  it('cuts a request still running at server.shutdownTimeout and exits 0', async () => {
    upstream = await slowExportUpstream(); // never finishes
    gw = await startGateway(config(upstream.up.url, '1s'));
    const dl = download(`${gw.url}/export/everything.csv`);
    await dl.firstByte;
    gw.signal('SIGTERM');
    const r = await dl.done;
    assert.equal(r.complete, false, 'the endless download was cut');
    const exit = await gw.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    const cut = gw.logs.find((l) => String(l.msg).includes('were cut'));
    assert.ok(cut, 'the cut is logged');
    assert.equal(cut.connections, 1);
    assert.equal(cut.shutdownTimeoutMs, 1000);
  });
});
