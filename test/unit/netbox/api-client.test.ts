// The REST client against a loopback stand-in for NetBox: the Authorization header for v1 and v2
// tokens, pagination through `next`, bounded retries on 429/5xx honouring Retry-After, POSTs not
// repeated when NetBox may have acted, and errors that name the object and the field.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isGateError } from '../../../src/errors.js';
import { createNetboxClient, retryAfterMs } from '../../../src/netbox/api/client.js';
import { fieldMessages, netboxResponseError } from '../../../src/netbox/api/errors.js';
import { describeNetboxToken } from '../../../src/netbox/api/token.js';
import { recordingLogger } from '../../support/logger.js';

interface Seen {
  method: string;
  url: string;
  auth: string | undefined;
  body: string;
}
type Reply = { status: number; body?: unknown; headers?: Record<string, string> };

const V2 = 'nbt_abc123DEF.0123456789abcdefABCDEF0123456789abcdef';
const V1 = '0123456789abcdef0123456789abcdef01234567';

describe('NetBox REST client (stand-in server)', () => {
  let server: http.Server;
  let url: string;
  const seen: Seen[] = [];
  let replies: Array<Reply | ((s: Seen) => Reply)> = [];

  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        const s: Seen = { method: req.method!, url: req.url!, auth: req.headers.authorization, body };
        seen.push(s);
        const next = replies.shift() ?? { status: 500, body: { detail: 'no reply scripted' } };
        const r = typeof next === 'function' ? next(s) : next;
        res.writeHead(r.status, { 'Content-Type': typeof r.body === 'string' ? 'text/html' : 'application/json', ...(r.headers ?? {}) });
        res.end(r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const client = (extra: Partial<Parameters<typeof createNetboxClient>[0]> = {}) => {
    const waits: number[] = [];
    const logger = recordingLogger();
    const c = createNetboxClient({ url, token: V2, sleep: async (ms) => void waits.push(ms), random: () => 1, logger, ...extra });
    return { c, waits, logger };
  };
  const reset = (r: typeof replies) => {
    seen.length = 0;
    replies = r;
  };

  it('tells v2 from v1 by the nbt_ prefix, as NetBox does, with or without the keyword', () => {
    assert.deepEqual(describeNetboxToken(V2), { version: 2, authorization: `Bearer ${V2}` });
    assert.deepEqual(describeNetboxToken(`Bearer ${V2}`), { version: 2, authorization: `Bearer ${V2}` });
    assert.deepEqual(describeNetboxToken(V1), { version: 1, authorization: `Token ${V1}` });
    assert.deepEqual(describeNetboxToken(`Token ${V1}\n`), { version: 1, authorization: `Token ${V1}` });
    assert.match(describeNetboxToken('nbt_nodot').problem ?? '', /nbt_<key>\.<token>/);
    assert.match(describeNetboxToken('hunter2').problem ?? '', /neither a v2 token .* nor a v1 token/);
  });

  it('sends the token in the form NetBox expects and JSON both ways', async () => {
    reset([{ status: 201, body: { id: 7, name: 'x' } }, { status: 200, body: { ok: true } }]);
    const { c } = client();
    assert.deepEqual(await c.request('POST', '/api/users/groups/', { body: { name: 'x' } }), { id: 7, name: 'x' });
    const v1 = createNetboxClient({ url: `${url}/netbox/`, token: V1 });
    await v1.request('GET', '/api/status/');
    await Promise.all([c.close(), v1.close()]);
    assert.deepEqual(seen.map((s) => [s.method, s.url, s.auth, s.body]), [
      ['POST', '/api/users/groups/', `Bearer ${V2}`, '{"name":"x"}'],
      ['GET', '/netbox/api/status/', `Token ${V1}`, ''],
    ]);
  });

  it('follows next page by page on its own origin, with the page size as limit', async () => {
    // NetBox builds `next` from the Host it was asked with: a proxy name must not send us elsewhere.
    reset([
      { status: 200, body: { count: 5, next: 'http://netbox.internal:9999/api/users/groups/?limit=2&name__isw=g&offset=2', results: [{ id: 1 }, { id: 2 }] } },
      { status: 200, body: { count: 5, next: 'http://netbox.internal:9999/api/users/groups/?limit=2&name__isw=g&offset=4', results: [{ id: 3 }, { id: 4 }] } },
      { status: 200, body: { count: 5, next: null, results: [{ id: 5 }] } },
    ]);
    const { c } = client({ pageSize: 2 });
    const all = await c.list<{ id: number }>('/api/users/groups/', { name__isw: 'g' });
    await c.close();
    assert.deepEqual(all.map((x) => x.id), [1, 2, 3, 4, 5]);
    assert.deepEqual(seen.map((s) => s.url), ['/api/users/groups/?limit=2&name__isw=g', '/api/users/groups/?limit=2&name__isw=g&offset=2', '/api/users/groups/?limit=2&name__isw=g&offset=4']);
  });

  it('retries 429 and 503 after Retry-After (seconds or a date), then succeeds', async () => {
    const soon = new Date(Date.now() + 3000).toUTCString();
    reset([
      { status: 429, body: { detail: 'Request was throttled.' }, headers: { 'Retry-After': '2' } },
      { status: 503, body: 'Service Unavailable', headers: { 'Retry-After': soon } },
      { status: 200, body: { id: 1 } },
    ]);
    const { c, waits, logger } = client();
    assert.deepEqual(await c.request('GET', '/api/users/users/1/'), { id: 1 });
    await c.close();
    assert.equal(seen.length, 3);
    assert.equal(waits[0], 2000);
    assert.ok(waits[1]! > 0 && waits[1]! <= 3000, String(waits[1]));
    assert.deepEqual(logger.records.map((r) => r.obj.status), [429, 503]);
    assert.ok(!JSON.stringify(logger.records).includes(V2.slice(4)), 'the token is never logged');
  });

  it('backs off exponentially without Retry-After, and gives up after the bounded number of retries', async () => {
    reset(Array.from({ length: 4 }, () => ({ status: 502, body: '<html><body><h1>502 Bad Gateway</h1></body></html>' })));
    const { c, waits } = client({ retries: 3, retryBaseMs: 100 });
    await assert.rejects(c.request('GET', '/api/users/groups/', { object: { type: 'users.Group' } }), (e: unknown) => isGateError(e, 'ERR_NETBOX_API') && e.message === 'users.Group: 502 Bad Gateway (NetBox answered 502 to GET /api/users/groups/)');
    await c.close();
    assert.equal(seen.length, 4);
    assert.deepEqual(waits, [100, 200, 400]);
  });

  it('fails at once when Retry-After asks for longer than the client waits', async () => {
    reset([{ status: 429, body: { detail: 'Request was throttled. Expected available in 3600 seconds.' }, headers: { 'Retry-After': '3600' } }]);
    const { c, waits } = client({ maxRetryWaitMs: 5000 });
    await assert.rejects(c.request('GET', '/api/users/users/'), (e: unknown) => isGateError(e) && /NetBox asked to wait 3600 s \(Retry-After\), longer than the client waits \(5 s\)/.test(e.message));
    await c.close();
    assert.deepEqual(waits, []);
  });

  it('does not repeat a POST that NetBox may have carried out (500), but does after 429/503', async () => {
    reset([{ status: 500, body: { error: 'boom', exception: 'IntegrityError', netbox_version: '4.7.3' } }]);
    const { c } = client();
    await assert.rejects(c.request('POST', '/api/users/groups/', { body: { name: 'g' }, object: { type: 'users.Group', name: 'g' } }), (e: unknown) => isGateError(e) && e.message === 'users.Group "g": boom (NetBox answered 500 to POST /api/users/groups/)');
    assert.equal(seen.length, 1);
    reset([{ status: 503, body: 'busy' }, { status: 201, body: { id: 3 } }]);
    assert.deepEqual(await c.request('POST', '/api/users/groups/', { body: { name: 'g' } }), { id: 3 });
    assert.equal(seen.length, 2);
    await c.close();
  });

  it('does not retry a refusal (400, 403, 404)', async () => {
    reset([{ status: 403, body: { detail: 'You do not have permission to perform this action.' } }]);
    const { c } = client();
    await assert.rejects(c.request('PATCH', '/api/users/users/4/', { body: { is_active: false }, object: { type: 'users.User', name: 'bob' } }), (e: unknown) => isGateError(e) && e.message === 'users.User "bob": You do not have permission to perform this action. (NetBox answered 403 to PATCH /api/users/users/4/)' && e.detail.status === 403);
    await c.close();
    assert.equal(seen.length, 1);
  });

  it('a NetBox that cannot be reached is one clear error after the retries', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const waits: number[] = [];
    const c = createNetboxClient({ url: `http://127.0.0.1:${port}`, token: V2, retries: 2, sleep: async (ms) => void waits.push(ms) });
    await assert.rejects(c.request('GET', '/api/status/'), (e: unknown) => isGateError(e, 'ERR_NETBOX_API') && /could not be reached for GET \/api\/status\/: ECONNREFUSED/.test(e.message));
    await c.close();
    assert.equal(waits.length, 2);
  });

  it('error bodies: every field, nested and bulk forms, object-level messages without a field name', () => {
    assert.deepEqual(fieldMessages({ password: ['This field cannot be blank.'], groups: { 0: ['Invalid pk "9"'] } }), [
      ['password', 'This field cannot be blank.'],
      ['groups.0', 'Invalid pk "9"'],
    ]);
    assert.deepEqual(fieldMessages([{}, { name: ['taken'] }]), [['1.name', 'taken']]);
    const e = netboxResponseError({ method: 'PATCH', path: '/api/users/users/7/', object: { type: 'users.User', name: 'bob' } }, 400, { password: ['This field cannot be blank.'] });
    assert.equal(e.message, 'users.User "bob": password: This field cannot be blank. (NetBox answered 400 to PATCH /api/users/users/7/)');
    assert.deepEqual(e.detail, { status: 400, method: 'PATCH', path: '/api/users/users/7/', object: 'users.User "bob"', fields: { password: ['This field cannot be blank.'] } });
    const all = netboxResponseError({ method: 'POST', path: '/api/users/permissions/' }, 400, { __all__: ['A permission with this name exists.'] });
    assert.equal(all.message, 'POST /api/users/permissions/: A permission with this name exists. (NetBox answered 400 to POST /api/users/permissions/)');
  });

  it('Retry-After: seconds, HTTP date, nothing', () => {
    assert.equal(retryAfterMs('5'), 5000);
    assert.equal(retryAfterMs('Thu, 01 Jan 1970 00:00:10 GMT', 4000), 6000);
    assert.equal(retryAfterMs(null), undefined);
    assert.equal(retryAfterMs('soon'), undefined);
  });
});
