// The request pipeline in-process (scripted sources, recording upstream, movable clock):
// what a browser and an API client see for each way a request can go.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { GateError } from '../../../src/errors.js';
import { startHarness, type Harness } from './harness.js';

const MIN = 60_000;

describe('gateway pipeline (in-process)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ sessions: '  idleTimeout: 8h\n  absoluteTimeout: 24h\n  maxStale: 30m' });
  });
  after(() => h.close());
  beforeEach(() => {
    h.script.refresh = 'ok';
    h.script.refreshCalls = 0;
    h.script.passwordError = undefined;
    h.script.upstream = () => false;
    h.script.users = { bob: { groups: ['users'] }, alice: { groups: ['admins', 'users'] }, nort: { groups: ['users'], refreshToken: false }, carol: { groups: ['contractors'] } };
  });

  it('signs in through the redirect source and lands on the page first asked for', async () => {
    const c = h.client();
    const r = await c.signIn('bob', '/dcim/sites/?q=x');
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/dcim/sites/?q=x');
    const page = await c.page('/dcim/sites/?q=x');
    assert.equal(page.status, 200);
    assert.equal(h.seen.at(-1)!.headers['x-remote-user'], 'bob');
  });

  it('never forwards the gateway\'s own cookies to NetBox (session, CSRF, pending, notice)', async () => {
    const c = h.client();
    await c.signIn('bob');
    const session = c.jar.get('netbox_gate')!;
    assert.ok(session);
    const r = await c.req('/dcim/devices/', {
      headers: { Accept: 'text/html', Cookie: `netbox_gate=${session}; netbox_gate_csrf=abc; netbox_gate_pending=def; netbox_gate_notice=ghi; sessionid=forged; theme=dark` },
    });
    assert.equal(r.status, 200);
    const cookie = String(h.seen.at(-1)!.headers.cookie ?? '');
    assert.equal(cookie, 'theme=dark', `NetBox saw: ${cookie}`);
    assert.ok(!cookie.includes(session));
  });

  it('passes every body shape and multi-valued response headers through unchanged (empty, small, chunked, Expect: 100-continue)', async () => {
    const c = h.client();
    await c.signIn('bob');
    const cookie = [...c.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    h.script.upstream = (seen, res) => {
      res.setHeader('Set-Cookie', ['csrftoken=abc; Path=/', 'theme=dark; Path=/']);
      res.setHeader('X-Seen-Length', String(seen.body.length));
      const json = JSON.stringify({ method: seen.method, body: seen.body });
      res.writeHead(201, 'Made', { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(json) });
      res.end(json);
      return true;
    };
    // Raw HTTP/1.1, so the request is exactly what a client sends (fetch would normalise it).
    const send = (head: string, body: string) =>
      new Promise<string>((resolve, reject) => {
        const u = new URL(h.url);
        const sock = net.connect(Number(u.port), u.hostname, () => sock.write(`${head}Host: ${u.host}\r\nCookie: ${cookie}\r\nAccept: application/json\r\nConnection: close\r\n\r\n${body}`));
        let out = '';
        sock.setEncoding('latin1').on('data', (d: string) => (out += d)).on('end', () => resolve(out)).on('error', reject);
      });
    const cases: Array<[string, string, string, string]> = [
      ['POST with Content-Length: 0', 'POST /api/x/ HTTP/1.1\r\nContent-Length: 0\r\n', '', ''],
      ['DELETE without a body', 'DELETE /api/x/1/ HTTP/1.1\r\n', '', ''],
      ['PUT with a small body', 'PUT /api/x/1/ HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 11\r\n', '{"name":"a"}'.slice(0, 11), '{"name":"a"'],
      ['POST chunked', 'POST /api/x/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n', '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n', 'hello world'],
      ['POST with Expect: 100-continue', 'POST /api/x/ HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n', 'abc', 'abc'],
    ];
    for (const [what, head, body, expected] of cases) {
      // (An interim "100 Continue" comes first when the client asked for it.)
      const raw = (await send(head, body)).replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
      const end = raw.indexOf('\r\n\r\n');
      const [headers, payload] = [raw.slice(0, end), raw.slice(end + 4)];
      assert.match(headers, /^HTTP\/1\.1 201 Made/, `${what}: ${raw}`);
      assert.equal(JSON.parse(payload).body, expected, what);
      assert.equal(JSON.parse(payload).method, head.split(' ')[0], what);
      assert.match(headers, /\r\nset-cookie: csrftoken=abc; Path=\/\r\nset-cookie: theme=dark; Path=\//i, `${what}: both cookies, in order`);
      assert.equal(h.seen.at(-1)!.headers['x-remote-user'], 'bob', what);
      assert.equal(h.seen.at(-1)!.headers.expect, undefined, `${what}: Expect is the gateway's to answer`);
    }
  });

  it('keeps the pending sign-in in a sealed cookie, not on the server, and refuses a tampered one', async () => {
    const c = h.client();
    const start = await c.page('/.netbox-gate/login/idp?next=/ipam/');
    const pending = c.jar.get('netbox_gate_pending')!;
    assert.ok(pending && pending.length > 40);
    assert.ok(!pending.includes('ipam'), 'the return path is not readable in the cookie');
    const state = new URL(start.headers.get('location')!).searchParams.get('state');
    c.jar.set('netbox_gate_pending', pending.slice(0, -4) + (pending.endsWith('AAAA') ? 'BBBB' : 'AAAA'));
    const r = await c.page(`/.netbox-gate/callback/idp?code=u:bob&state=${state}`);
    assert.equal(r.status, 400);
    assert.match(await r.text(), /no longer valid/);
  });

  it('a refusal at the callback redirects to a clean address, and "sign in as someone else" keeps the page first asked for', async () => {
    const c = h.client();
    const r = await c.signIn('carol', '/dcim/racks/');
    assert.equal(r.status, 302);
    assert.equal(r.headers.get('location'), '/.netbox-gate/denied');
    const page = await c.page('/.netbox-gate/denied');
    assert.equal(page.status, 403);
    const html = await page.text();
    assert.match(html, /carol is not allowed to use NetBox \(no allow rule matched\)/);
    assert.match(html, /href="\/\.netbox-gate\/login\?next=%2Fdcim%2Fracks%2F&amp;switch=1"/);
    const again = await c.page('/.netbox-gate/login?next=%2Fdcim%2Fracks%2F&switch=1');
    assert.equal(again.status, 200, 'two sources: the chooser');
    const href = /href="(\/\.netbox-gate\/login\/idp[^"]*)"/.exec(await again.text())![1]!.replace(/&amp;/g, '&');
    const idpUrl = new URL(href, h.url);
    assert.equal(idpUrl.pathname, '/.netbox-gate/login/idp');
    assert.equal(idpUrl.searchParams.get('next'), '/dcim/racks/');
    assert.equal(idpUrl.searchParams.get('switch'), '1');
    const bob = await c.signIn('bob', idpUrl.searchParams.get('next')!);
    assert.equal(bob.headers.get('location'), '/dcim/racks/');
  });

  it('a session without a refresh token lives across refresh intervals, and a form POST is never lost', async () => {
    const c = h.client();
    await c.signIn('nort');
    for (let i = 0; i < 4; i++) {
      h.clock.advance(6 * MIN);
      const r = await c.page('/dcim/sites/');
      assert.equal(r.status, 200, `request ${i} after ${(i + 1) * 6} min`);
    }
    const before = h.seen.length;
    const post = await c.req('/dcim/sites/add/', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'name=Site+A&slug=site-a' });
    assert.equal(post.status, 200);
    assert.equal(h.seen.length, before + 1);
    assert.equal(h.seen.at(-1)!.body, 'name=Site+A&slug=site-a');
    assert.equal(h.seen.at(-1)!.headers['x-remote-user'], 'nort');
    assert.equal(h.script.refreshCalls, 0, 'a session without refresh token is never sent to refresh');
    assert.equal(h.logs.filter((l) => /issued no refresh token/.test(String(l.msg))).length, 1, 'said once');
    // It still ends at its idle timeout.
    h.clock.advance(8 * 60 * MIN);
    assert.equal((await c.page('/dcim/sites/')).status, 302);
  });

  it('a session with a refresh token is refreshed every interval', async () => {
    const c = h.client();
    await c.signIn('bob');
    h.clock.advance(6 * MIN);
    assert.equal((await c.page('/')).status, 200);
    assert.equal(h.script.refreshCalls, 1);
  });

  it('while the source is down a session goes on, up to sessions.maxStale, then ends with a clear page', async () => {
    const c = h.client();
    await c.signIn('bob');
    h.script.refresh = 'unavailable';
    h.clock.advance(6 * MIN);
    assert.equal((await c.page('/')).status, 200, 'a short outage does not sign anyone out');
    h.clock.advance(6 * MIN);
    assert.equal((await c.page('/')).status, 200);
    h.clock.advance(20 * MIN); // 32 min since the source last confirmed bob
    const r = await c.page('/');
    assert.equal(r.status, 401);
    assert.match(await r.text(), /could not be reached for too long/);
    assert.ok(h.logs.some((l) => l.audit === 'session_end' && l.cause === 'stale' && l.user === 'bob'));
    // The session is gone even when the source is back.
    h.script.refresh = 'ok';
    assert.equal((await c.page('/')).status, 302);
  });

  it('an API client of a stale session gets JSON', async () => {
    const c = h.client();
    await c.signIn('bob');
    h.script.refresh = 'unavailable';
    h.clock.advance(31 * MIN);
    const r = await c.req('/api/dcim/sites/', { headers: { Accept: 'application/json' } });
    assert.equal(r.status, 401);
    assert.match(String(((await r.json()) as { detail: string }).detail), /maxStale/);
  });

  it('NetBox sending a signed-in user to its login page (inactive in NetBox) gives a clear page, not a loop', async () => {
    h.script.upstream = (req, res) => {
      if (req.headers['x-remote-user'] !== 'alice') return false;
      res.writeHead(302, { Location: `/login/?next=${encodeURIComponent(req.url!)}` });
      res.end();
      return true;
    };
    const c = h.client();
    await c.signIn('alice');
    const r = await c.page('/dcim/sites/');
    assert.equal(r.status, 403);
    assert.match(await r.text(), /disabled in NetBox/);
    const login = await c.page('/login/?next=/dcim/sites/');
    assert.equal(login.status, 302);
    const back = await c.page(login.headers.get('location')!);
    assert.equal(back.status, 403, 'the way back ends at the page, not in a loop');
    assert.ok(h.logs.some((l) => l.audit === 'netbox_refused' && l.user === 'alice'));
  });

  for (const path of ['/.netbox-gate/login/%E0%A4%A', '/.netbox-gate/callback/%zz']) {
    it(`malformed percent-encoding is a 400, not a 500: ${path}`, async () => {
      const before = h.logs.filter((l) => l.level === 'error').length;
      const r = await h.client().page(path);
      assert.equal(r.status, 400);
      assert.equal(h.logs.filter((l) => l.level === 'error').length, before, 'no error-level log line');
    });
  }

  it('a refused password sign-in shows one generic message; the audit line keeps the source\'s reason', async () => {
    h.script.passwordError = new GateError('ERR_AUTH_REJECTED', 'refused', { detail: { reason: 'account_disabled' } });
    const c = h.client();
    const form = await c.page('/.netbox-gate/login/aaa');
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const r = await c.req('/.netbox-gate/login', {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/html' },
      body: new URLSearchParams({ csrf, source: 'aaa', username: 'dana', password: 'dana', next: '/' }).toString(),
    });
    assert.equal(r.status, 401);
    const html = await r.text();
    assert.match(html, /Invalid username or password/);
    assert.doesNotMatch(html, /disabled/);
    assert.ok(h.logs.some((l) => l.audit === 'sign_in' && l.user === 'dana' && l.reason === 'credentials rejected (account_disabled)'));
  });

  it('the password form names a misconfigured source as misconfigured, not as unreachable', async () => {
    h.script.passwordError = new GateError('ERR_SOURCE_CONFIG', 'the shared secret is refused by the server');
    const c = h.client();
    const form = await c.page('/.netbox-gate/login/aaa');
    const csrf = /name="csrf" value="([^"]+)"/.exec(await form.text())![1]!;
    const r = await c.req('/.netbox-gate/login', {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'text/html' },
      body: new URLSearchParams({ csrf, source: 'aaa', username: 'bob', password: 'bob', next: '/' }).toString(),
    });
    assert.equal(r.status, 500);
    const html = await r.text();
    assert.match(html, /misconfigured/);
    assert.doesNotMatch(html, /cannot be reached/);
  });
});
