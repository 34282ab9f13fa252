// "Who am I" and readiness in-process (scripted sources, recording upstream, movable clock):
// what the page and its JSON say, that no token or session id ever appears, and /ready.
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { WhoAmI } from '../../../src/gateway/me.js';
import { startHarness, type Harness } from './harness.js';

const MIN = 60_000;
const JSON_ACCEPT = { Accept: 'application/json' };

describe('/.netbox-gate/me (in-process)', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ sessions: '  idleTimeout: 1h\n  absoluteTimeout: 12h' });
  });
  after(() => h.close());
  beforeEach(() => {
    h.script.refresh = 'ok';
    h.script.users = { bob: { groups: ['users'] }, alice: { groups: ['admins', 'users'] }, nort: { groups: ['users'], refreshToken: false } };
  });

  it('answers JSON with the identity, the source groups, what the policy gave and why, and the session timeline', async () => {
    const c = h.client();
    const start = h.clock.t;
    await c.signIn('alice');
    const r = await c.req('/.netbox-gate/me', { headers: JSON_ACCEPT });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const me = (await r.json()) as WhoAmI;
    assert.equal(me.user.username, 'alice');
    assert.deepEqual(me.source, { id: 'idp', kind: 'oidc', displayName: 'Scripted IdP' });
    assert.deepEqual(me.sourceGroups, ['admins', 'users']);
    assert.deepEqual(me.netbox, { groups: ['NetBox Users'], superuser: true, staff: false });
    const admins = me.trace.find((t) => t.rule === 'admins');
    assert.ok(admins, `trace: ${JSON.stringify(me.trace)}`);
    assert.equal(admins.superuser, true);
    assert.ok(admins.matched.some((m) => m.includes('admins')), `admins matched because: ${admins.matched.join('; ')}`);
    assert.ok(me.trace.some((t) => t.rule === 'users'));
    assert.equal(me.session.startedAt, new Date(start).toISOString());
    assert.equal(me.session.idleExpiresAt, new Date(start + 60 * MIN).toISOString());
    assert.equal(me.session.absoluteExpiresAt, new Date(start + 12 * 60 * MIN).toISOString());
    assert.equal(me.session.nextRefreshAt, new Date(start + 5 * MIN).toISOString());
  });

  it('shows bob only his group and no superuser', async () => {
    const c = h.client();
    await c.signIn('bob');
    const me = (await (await c.req('/.netbox-gate/me', { headers: JSON_ACCEPT })).json()) as WhoAmI;
    assert.deepEqual(me.netbox, { groups: ['NetBox Users'], superuser: false, staff: false });
    assert.deepEqual(me.trace.map((t) => t.rule), ['users']);
  });

  it('never shows the refresh token or the session cookie, in JSON or HTML', async () => {
    const c = h.client();
    await c.signIn('alice');
    const cookie = c.jar.get('netbox_gate')!;
    assert.ok(cookie);
    const json = await (await c.req('/.netbox-gate/me', { headers: JSON_ACCEPT })).text();
    const html = await (await c.page('/.netbox-gate/me')).text();
    for (const body of [json, html]) {
      assert.ok(!body.includes('rt-alice'), 'the refresh token appears');
      assert.ok(!body.includes(cookie), 'the session cookie value appears');
    }
  });

  it('renders a page with the groups, the trace and a sign-out button', async () => {
    const c = h.client();
    await c.signIn('alice');
    const r = await c.page('/.netbox-gate/me');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/html/);
    const html = await r.text();
    assert.match(html, /Signed in as alice/);
    assert.match(html, /<dd id="me-superuser">yes<\/dd>/);
    assert.match(html, /<strong>admins<\/strong> \(allow\) gives superuser/);
    assert.match(html, /<a class="button" id="me-sign-out" href="\/\.netbox-gate\/logout">Sign out<\/a>/);
  });

  it('says why a session is never refreshed when the provider issued no refresh token', async () => {
    const c = h.client();
    await c.signIn('nort');
    const me = (await (await c.req('/.netbox-gate/me', { headers: JSON_ACCEPT })).json()) as WhoAmI;
    assert.equal(me.session.nextRefreshAt, null);
    assert.equal(me.session.refreshNote, 'not refreshed: the provider issued no refresh token');
    assert.match(await (await c.page('/.netbox-gate/me')).text(), /not refreshed: the provider issued no refresh token/);
  });

  it('sends a browser that is not signed in to sign in, and answers an API client 401', async () => {
    const c = h.client();
    const page = await c.page('/.netbox-gate/me');
    assert.equal(page.status, 302);
    assert.match(page.headers.get('location') ?? '', /^\/\.netbox-gate\/login\?next=/);
    const api = await c.req('/.netbox-gate/me', { headers: JSON_ACCEPT });
    assert.equal(api.status, 401);
    assert.match(((await api.json()) as { detail: string }).detail, /Authentication required/);
  });

  it('treats an expired session as signed out', async () => {
    const c = h.client();
    await c.signIn('bob');
    h.clock.advance(61 * MIN);
    const api = await c.req('/.netbox-gate/me', { headers: JSON_ACCEPT });
    assert.equal(api.status, 401);
  });

  it('signs out through the page\'s sign-out link', async () => {
    const c = h.client();
    await c.signIn('bob');
    const href = /id="me-sign-out" href="([^"]+)"/.exec(await (await c.page('/.netbox-gate/me')).text())![1]!;
    const out = await c.page(href);
    assert.equal(out.status, 302);
    assert.equal((await c.req('/.netbox-gate/me', { headers: JSON_ACCEPT })).status, 401);
  });
});

describe('/.netbox-gate/ready (in-process)', () => {
  it('is ready while the store and NetBox answer, and names NetBox when it does not', async () => {
    const h = await startHarness();
    try {
      const ok = await fetch(`${h.url}/.netbox-gate/ready`);
      assert.equal(ok.status, 200);
      const body = (await ok.json()) as { status: string; store: { ok: boolean }; netbox: { ok: boolean; status?: number } };
      assert.equal(body.status, 'ready');
      assert.equal(body.store.ok, true);
      assert.equal(body.netbox.ok, true);
      h.script.upstream = (_req, res) => {
        res.writeHead(502).end();
        return true;
      };
      const down = await fetch(`${h.url}/.netbox-gate/ready`);
      assert.equal(down.status, 503);
      const b = (await down.json()) as { status: string; store: { ok: boolean }; netbox: { ok: boolean; error?: string } };
      assert.equal(b.status, 'not ready');
      assert.equal(b.store.ok, true);
      assert.equal(b.netbox.ok, false);
      assert.match(b.netbox.error ?? '', /HTTP 502/);
      // Liveness does not depend on NetBox.
      assert.equal((await fetch(`${h.url}/.netbox-gate/health`)).status, 200);
    } finally {
      await h.close();
    }
  });

  it('names the store when the store does not answer', async () => {
    const { createMemoryStore } = await import('../../../src/store/memory.js');
    const inner = createMemoryStore();
    let broken = false;
    const store = { ...inner, get: async <T>(k: string) => (broken ? Promise.reject(new Error('store connection refused')) : inner.get<T>(k)) };
    const h = await startHarness({ store });
    try {
      broken = true;
      const r = await fetch(`${h.url}/.netbox-gate/ready`);
      assert.equal(r.status, 503);
      const b = (await r.json()) as { store: { ok: boolean; error?: string }; netbox: { ok: boolean } };
      assert.equal(b.store.ok, false);
      assert.match(b.store.error ?? '', /connection refused/);
      assert.equal(b.netbox.ok, true);
    } finally {
      broken = false;
      await h.close();
    }
  });
});
