// The gateway in-process under bounded, loopback-only attacks (issue 8): slow token bodies,
// silent and slow connections, connection floods, sign-in floods, reloads mid-transfer.
// Each attack runs while a signed-in user keeps using NetBox; the user must get answers and
// the attacker clear refusals. No timing assertions beyond generous deadlines.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Client, type Harness } from './harness.js';

const TOKEN = 'Token 0123456789abcdef0123456789abcdef01234567';

function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]);
}

interface RawResult {
  /** Everything the gateway sent before closing. */
  text: string;
  status: number | undefined;
  closed: boolean;
}

/** A raw TCP client on loopback: sends `head`, then `trickle` one byte every `everyMs`. */
function rawClient(port: number, o: { localAddress?: string; head?: string; trickle?: number; everyMs?: number } = {}) {
  const socket = net.connect({ port, host: '127.0.0.1', ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
  let text = '';
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => (text += d));
  socket.on('error', () => {});
  const done = new Promise<RawResult>((resolve) =>
    socket.on('close', () => {
      closed = true;
      clearInterval(timer);
      resolve(result());
    }),
  );
  const result = (): RawResult => {
    const m = /^HTTP\/1\.1 (\d{3})/.exec(text);
    return { text, status: m ? Number(m[1]) : undefined, closed };
  };
  socket.on('connect', () => {
    if (o.head) socket.write(o.head);
    let left = o.trickle ?? 0;
    if (left > 0) {
      timer = setInterval(() => {
        if (left-- > 0 && !socket.destroyed) socket.write('x');
        else clearInterval(timer);
      }, o.everyMs ?? 1000);
    }
  });
  return { socket, done, result, destroy: () => socket.destroy() };
}

const portOf = (h: Harness) => Number(new URL(h.url).port);

describe('hostile load: slow token bodies cannot starve signed-in users', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ netbox: '  timeout: 5s' });
    h.script.users = { bob: { groups: ['users'] } };
  });
  after(() => h.close());

  it('270 small token bodies trickling from 18 addresses: they hold no NetBox connection; a signed-in GET and another token client answer before the attackers finish', async () => {
    const bob = h.client();
    await bob.signIn('bob');
    const port = portOf(h);
    const seenBefore = h.seen.length;
    const attackers: Array<ReturnType<typeof rawClient>> = [];
    // Each body is 8 bytes at one byte a second: the attack lasts 8 s.
    for (let a = 0; a < 18; a++) {
      for (let i = 0; i < 15; i++) {
        attackers.push(
          rawClient(port, {
            localAddress: `127.0.1.${a + 1}`,
            head: `POST /api/dcim/sites/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n`,
            trickle: 8,
            everyMs: 1000,
          }),
        );
      }
    }
    const attackStart = Date.now();
    try {
      await new Promise((r) => setTimeout(r, 700));
      const r = await within(5000, bob.req('/dcim/sites/', { headers: { Accept: 'application/json' } }), 'the signed-in GET');
      assert.equal(r.status, 200);
      assert.equal(h.seen.at(-1)!.headers['x-remote-user'], 'bob');
      const api = await within(5000, fetch(`${h.url}/api/status/`, { method: 'POST', headers: { Authorization: TOKEN, 'Content-Type': 'application/json' }, body: '{"a":1}' }), 'a token client');
      assert.equal(api.status, 200);
      assert.equal(h.seen.at(-1)!.body, '{"a":1}');
      assert.ok(Date.now() - attackStart < 8000, 'answered while the attack was still going');
      assert.equal(h.seen.length - seenBefore, 2, 'no attacker request reached NetBox');
    } finally {
      for (const a of attackers) a.destroy();
    }
  });

  it('80 large token bodies trickling from 5 addresses: past the token pool they get 503 with Retry-After; the signed-in user is served', async () => {
    const bob = h.client();
    await bob.signIn('bob');
    const port = portOf(h);
    const attackers: Array<ReturnType<typeof rawClient>> = [];
    for (let a = 0; a < 5; a++) {
      for (let i = 0; i < 16; i++) {
        attackers.push(
          rawClient(port, {
            localAddress: `127.0.9.${a + 1}`,
            head: `POST /api/dcim/devices/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${TOKEN}\r\nContent-Length: 1000000\r\n\r\n`,
            trickle: 8,
            everyMs: 1000,
          }),
        );
      }
    }
    try {
      await new Promise((r) => setTimeout(r, 700));
      const r = await within(5000, bob.req('/dcim/sites/', { headers: { Accept: 'application/json' } }), 'the signed-in GET');
      assert.equal(r.status, 200);
      const refused = attackers.map((a) => a.result()).filter((x) => x.status !== undefined);
      assert.equal(refused.length, 80 - 64, 'the default token pool is 64');
      for (const x of refused) {
        assert.equal(x.status, 503);
        assert.match(x.text, /Retry-After: 1/i);
        assert.match(x.text, /netbox\.connections\.token/);
      }
    } finally {
      for (const a of attackers) a.destroy();
    }
  });

  it('one address gets at most netbox.connections.tokenPerClient token requests at once (429 with Retry-After and a JSON detail)', async () => {
    const port = portOf(h);
    const attackers = Array.from({ length: 20 }, () =>
      rawClient(port, {
        localAddress: '127.0.2.1',
        head: `POST /api/ipam/prefixes/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${TOKEN}\r\nContent-Length: 4\r\n\r\n`,
        trickle: 4,
        everyMs: 1000,
      }),
    );
    try {
      await new Promise((r) => setTimeout(r, 500));
      const refused = attackers.map((a) => a.result()).filter((x) => x.status !== undefined);
      assert.equal(refused.length, 4, 'the default limit is 16 per client');
      for (const x of refused) {
        assert.equal(x.status, 429);
        assert.match(x.text, /Retry-After: 1/i);
        const body = JSON.parse(x.text.slice(x.text.indexOf('{'), x.text.lastIndexOf('}') + 1)) as { detail: string };
        assert.match(body.detail, /tokenPerClient/);
      }
    } finally {
      for (const a of attackers) a.destroy();
    }
  });
});

describe('hostile load: the wait for a NetBox connection counts against netbox.timeout', () => {
  let h: Harness;
  const held: Array<{ end(): void }> = [];
  before(async () => {
    h = await startHarness({ netbox: '  timeout: 1s\n  connections: { signedIn: 1 }' });
    h.script.users = { bob: { groups: ['users'] } };
    h.script.upstream = (req, res) => {
      if (req.url !== '/slow/') return false;
      // A slow export: it keeps its connection busy (a byte every 200 ms) until the test ends it.
      res.writeHead(200, { 'Content-Type': 'text/csv' });
      const t = setInterval(() => res.write('x'), 200);
      held.push({ end: () => (clearInterval(t), res.end()) });
      return true;
    };
  });
  after(async () => {
    for (const r of held) r.end();
    await h.close();
  });

  it('a saturated pool answers 503 with Retry-After within the timeout instead of queueing without end', async () => {
    const bob = h.client();
    await bob.signIn('bob');
    const slow = bob.req('/slow/', { headers: { Accept: 'application/json' } });
    await new Promise((r) => setTimeout(r, 200));
    const r = await within(4000, bob.req('/dcim/sites/', { headers: { Accept: 'application/json' } }), 'the queued request');
    assert.equal(r.status, 503);
    assert.equal(r.headers.get('retry-after'), '5');
    assert.match(((await r.json()) as { detail: string }).detail, /No connection to NetBox became free within netbox\.timeout/);
    for (const x of held) x.end();
    const done = await slow;
    assert.equal(done.status, 200);
    assert.match(await done.text(), /^x+$/, 'the slow export itself was not disturbed');
  });
});

describe('netbox.timeout: a NetBox that stops answering', () => {
  let h: Harness;
  const held: Array<() => void> = [];
  before(async () => {
    h = await startHarness({ netbox: '  timeout: 1s' });
    h.script.users = { bob: { groups: ['users'] } };
    h.script.upstream = (req, res) => {
      if (req.url === '/silent/') {
        held.push(() => res.destroy()); // never answers
        return true;
      }
      if (req.url === '/stalls/') {
        // Headers and part of the body, then nothing.
        res.writeHead(200, { 'Content-Type': 'text/csv' });
        res.write('first,part\n');
        held.push(() => res.destroy());
        return true;
      }
      if (req.url === '/trickle/') {
        // Slower overall than the timeout, but never silent for that long: a long export.
        res.writeHead(200, { 'Content-Type': 'text/csv' });
        let n = 0;
        const t = setInterval(() => (++n === 8 ? (clearInterval(t), res.end('end\n')) : res.write('row\n')), 300);
        return true;
      }
      return false;
    };
  });
  after(async () => {
    for (const f of held) f();
    await h.close();
  });

  it('no answer: 502 after netbox.timeout; a stalled body is cut; a slow but steady export completes', async () => {
    const bob = h.client();
    await bob.signIn('bob');
    const r = await within(4000, bob.req('/silent/', { headers: { Accept: 'application/json' } }), 'the request to a silent NetBox');
    assert.equal(r.status, 502);
    const stalled = await within(4000, bob.req('/stalls/', { headers: { Accept: 'text/csv' } }), 'the response headers');
    assert.equal(stalled.status, 200);
    await within(
      4000,
      stalled.text().then(
        () => assert.fail('the stalled body ended as if complete'),
        () => undefined,
      ),
      'the stalled body being cut',
    );
    const slow = await within(8000, bob.req('/trickle/', { headers: { Accept: 'text/csv' } }), 'the export');
    assert.equal(await slow.text(), 'row\n'.repeat(7) + 'end\n');
    const ok = await bob.req('/dcim/sites/', { headers: { Accept: 'application/json' } });
    assert.equal(ok.status, 200, 'the gateway keeps serving');
  });

  it('a client that leaves while NetBox works is no NetBox failure in the log', async () => {
    const bob = h.client();
    await bob.signIn('bob');
    const before = h.logs.filter((l) => l['msg'] === 'NetBox request failed').length;
    const cookie = [...bob.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    for (const path of ['/silent/', '/trickle/']) {
      const ac = new AbortController();
      const r = fetch(new URL(path, h.url), { headers: { Cookie: cookie, Accept: 'text/csv' }, signal: ac.signal }).then((res) => res.text());
      await new Promise((res) => setTimeout(res, 400));
      ac.abort();
      await r.catch(() => undefined);
    }
    await new Promise((res) => setTimeout(res, 300));
    assert.deepEqual(h.logs.filter((l) => l['msg'] === 'NetBox request failed').slice(before), []);
  });
});

describe('hostile load: connection deadlines and caps', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      server: '  timeouts: { headers: 1s, request: 2s, idle: 1s, keepAlive: 1s }\n  maxConnections: 40\n  maxConnectionsPerClient: 10',
    });
    h.script.users = { bob: { groups: ['users'] } };
  });
  after(() => h.close());

  it('connections that never send a byte are closed after the header deadline with a 408', async () => {
    const silent = Array.from({ length: 8 }, () => rawClient(portOf(h), { localAddress: '127.0.3.1' }));
    try {
      const results = await within(6000, Promise.all(silent.map((s) => s.done)), 'closing silent connections');
      for (const r of results) {
        assert.ok(r.closed);
        assert.equal(r.status, 408); // from the gateway's idle check or Node's header deadline, whichever comes first
      }
    } finally {
      for (const s of silent) s.destroy();
    }
  });

  it('a body that stops arriving is closed after the idle deadline; one that trickles, after the request deadline', async () => {
    const head = `POST /api/dcim/sites/ HTTP/1.1\r\nHost: x\r\nAuthorization: ${TOKEN}\r\nContent-Length: 100\r\n\r\n`;
    const stalled = rawClient(portOf(h), { localAddress: '127.0.3.2', head: head + 'ab' });
    const trickling = rawClient(portOf(h), { localAddress: '127.0.3.2', head, trickle: 100, everyMs: 300 });
    try {
      const [a, b] = await within(8000, Promise.all([stalled.done, trickling.done]), 'closing slow bodies');
      assert.equal(a.status, 408);
      assert.equal(b.status, 408);
    } finally {
      stalled.destroy();
      trickling.destroy();
    }
  });

  it('past maxConnectionsPerClient an address is refused with 503; other addresses and signed-in users still get in', async () => {
    const bob = h.client();
    await bob.signIn('bob');
    const hogs = Array.from({ length: 12 }, () => rawClient(portOf(h), { localAddress: '127.0.3.3', head: 'GET /api/ HTTP/1.1\r\n', trickle: 3, everyMs: 300 }));
    try {
      await new Promise((r) => setTimeout(r, 300));
      const refused = hogs.map((x) => x.result()).filter((x) => x.status !== undefined);
      assert.equal(refused.length, 2);
      for (const x of refused) {
        assert.equal(x.status, 503);
        assert.match(x.text, /Too many open connections from your address/);
      }
      const r = await bob.req('/dcim/sites/', { headers: { Accept: 'application/json' } });
      assert.equal(r.status, 200);
    } finally {
      for (const x of hogs) x.destroy();
    }
  });

  it('past maxConnections everyone new is refused with 503 until connections close', async () => {
    const hogs: Array<ReturnType<typeof rawClient>> = [];
    for (let a = 0; a < 5; a++) for (let i = 0; i < 9; i++) hogs.push(rawClient(portOf(h), { localAddress: `127.0.4.${a + 1}`, head: 'GET / HTTP/1.1\r\n' }));
    try {
      await new Promise((r) => setTimeout(r, 300));
      const refused = hogs.map((x) => x.result()).filter((x) => x.status === 503);
      assert.ok(refused.length >= 5, `${refused.length} refused`);
      assert.match(refused[0]!.text, /too many open connections/);
    } finally {
      for (const x of hogs) x.destroy();
    }
    // Once they are gone, the gateway serves again.
    await new Promise((r) => setTimeout(r, 200));
    const r = await fetch(`${h.url}/.netbox-gate/health`);
    assert.equal(r.status, 200);
  });
});

describe('hostile load: connection limits over TLS', () => {
  let h: Harness;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nbg-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    h = await startHarness({
      server: `  tls: { certFile: ${join(dir, 'cert.pem')}, keyFile: ${join(dir, 'key.pem')} }\n  timeouts: { headers: 1s, request: 2s, idle: 1s }\n  maxConnectionsPerClient: 2`,
    });
  });
  after(() => h.close());

  it('a silent connection after the handshake gets 408 after the header deadline; one past the per-client cap is closed', async () => {
    const connect = () =>
      new Promise<{ text: string; handshake: boolean }>((resolve) => {
        let text = '';
        let handshake = false;
        const raw = net.connect({ port: portOf(h), host: '127.0.0.1', localAddress: '127.0.8.1' });
        raw.on('error', () => {});
        const s = tls.connect({ socket: raw, rejectUnauthorized: false }, () => (handshake = true));
        s.setEncoding('latin1');
        s.on('data', (d: string) => (text += d));
        s.on('error', () => {});
        s.on('close', () => resolve({ text, handshake }));
      });
    const all = await within(6000, Promise.all([connect(), connect(), connect()]), 'closing TLS connections');
    const timedOut = all.filter((r) => r.handshake && /^HTTP\/1\.1 408/.test(r.text));
    const cut = all.filter((r) => !r.handshake);
    assert.equal(timedOut.length, 2);
    assert.equal(cut.length, 1);
  });
});

describe('hostile load: a sign-in flood costs the server nothing', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(() => h.close());

  it('20,000 GETs of /.netbox-gate/login/<source> with a 2 KB next: no store entries, heap within 32 MiB, pending cookie bounded', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const next = '/dcim/sites/?q=' + 'a'.repeat(2000);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
    const get = (path: string) =>
      new Promise<http.IncomingMessage>((resolve, reject) => {
        const req = http.get(`${h.url}${path}`, { agent, headers: { Accept: 'text/html' } }, (res) => {
          res.resume();
          res.on('end', () => resolve(res));
        });
        req.on('error', reject);
      });
    const path = `/.netbox-gate/login/idp?next=${encodeURIComponent(next)}`;
    const first = await get(path);
    const cookie = first.headers['set-cookie']!.find((c) => c.startsWith('netbox_gate_pending='))!;
    assert.ok(cookie.length < 4096, `pending cookie is ${cookie.length} bytes`);
    const tooLong = await get(`/.netbox-gate/login/idp?next=${encodeURIComponent('/' + 'b'.repeat(5000))}`);
    const small = tooLong.headers['set-cookie']!.find((c) => c.startsWith('netbox_gate_pending='))!;
    assert.ok(small.length < 600, 'a next beyond 2 KB is dropped (the return path becomes "/")');

    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const keysBefore = h.storeKeys();
    let sent = 0;
    const worker = async () => {
      while (sent < 20_000) {
        sent++;
        const r = await get(path);
        assert.equal(r.statusCode, 302);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    gc();
    const growth = process.memoryUsage().heapUsed - heapBefore;
    agent.destroy();
    assert.equal(h.storeKeys(), keysBefore, 'no server-side pending state');
    assert.ok(growth < 32 * 1024 * 1024, `heap grew by ${(growth / 1048576).toFixed(1)} MiB`);
  });
});

describe('hostile load: reloads', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ retireGraceMs: 50 });
    h.script.users = { bob: { groups: ['users'] } };
    h.script.upstream = (req, res) => {
      if (req.url !== '/download/') return false;
      // 20 chunks of 64 KiB over about two seconds.
      let n = 0;
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const t = setInterval(() => {
        res.write(Buffer.alloc(65536, 0x61));
        if (++n === 20) {
          clearInterval(t);
          res.end();
        }
      }, 100);
      return true;
    };
  });
  after(() => h.close());

  it('a download that started before a reload streams to its end; the old generation closes after it', async () => {
    const bob = h.client();
    await bob.signIn('bob');
    const r = await bob.req('/download/');
    assert.equal(r.status, 200);
    const reader = r.body!.getReader();
    let bytes = (await reader.read()).value!.length;
    await h.gw.reload(h.config());
    await h.gw.reload(h.config());
    for (;;) {
      const c = await reader.read();
      if (c.done) break;
      bytes += c.value.length;
    }
    assert.equal(bytes, 20 * 65536, 'the whole download arrived');
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(h.logs.some((l) => String(l.msg).startsWith('previous configuration closed')), 'the old generation closed once idle');
    const again = await bob.req('/dcim/sites/', { headers: { Accept: 'application/json' } });
    assert.equal(again.status, 200);
  });

  it('an upload that started before a reload reaches NetBox whole', async () => {
    const bob = h.client();
    await bob.signIn('bob');
    const cookie = [...bob.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const answer = new Promise<number>((resolve, reject) => {
      const req = http.request(`${h.url}/api/dcim/devices/`, { method: 'POST', headers: { Cookie: cookie, 'Content-Type': 'text/csv' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
      let n = 0;
      const t = setInterval(() => {
        req.write(Buffer.alloc(65536, 0x62));
        if (++n === 5) void h.gw.reload(h.config());
        if (n === 10) void h.gw.reload(h.config());
        if (n === 20) {
          clearInterval(t);
          req.end();
        }
      }, 50);
    });
    assert.equal(await answer, 200);
    const seen = h.seen.at(-1)!;
    assert.equal(seen.url, '/api/dcim/devices/');
    assert.equal(seen.body.length, 20 * 65536);
  });

  it('50 reloads in 2.5 s under load lose no request', async () => {
    const bob = h.client();
    await bob.signIn('bob');
    let stop = false;
    const statuses: number[] = [];
    const load = Array.from({ length: 4 }, async () => {
      while (!stop) statuses.push((await bob.req('/dcim/sites/', { headers: { Accept: 'application/json' } })).status);
    });
    for (let i = 0; i < 50; i++) {
      await h.gw.reload(h.config());
      await new Promise((r) => setTimeout(r, 50));
    }
    stop = true;
    await Promise.all(load);
    assert.ok(statuses.length > 50, `${statuses.length} requests`);
    assert.deepEqual(new Set(statuses), new Set([200]));
  });

  it('sign-in rate limits survive a reload', async () => {
    const c: Client = h.client();
    const attempt = async () => {
      const form = await c.page('/.netbox-gate/login/aaa');
      const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1]!;
      return c.req('/.netbox-gate/login', {
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/html' },
        body: new URLSearchParams({ csrf, source: 'aaa', username: 'mallory', password: 'wrong', next: '/' }).toString(),
      });
    };
    for (let i = 0; i < 5; i++) assert.equal((await attempt()).status, 401);
    assert.equal((await attempt()).status, 429);
    await h.gw.reload(h.config());
    const r = await attempt();
    assert.equal(r.status, 429, 'still limited after the reload');
    assert.ok(Number(r.headers.get('retry-after')) > 0);
  });
});
