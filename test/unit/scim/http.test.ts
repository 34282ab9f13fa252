// The SCIM endpoint inside the gateway (in-process harness, NetBox a recording stand-in): off by
// default, on by config and by reload; bodies that are not JSON or too large are SCIM errors;
// SCIM requests (which carry a Bearer token) never reach NetBox as token passthrough does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, type Harness } from '../gateway/harness.js';

const TOKEN = 'harness-scim-token-0123456789';
const SCIM = `scim:
  enabled: true
  tokens: ["${TOKEN}"]
`;
const API = '  api:\n    token: nbt_abcdefghijkl.0123456789abcdef0123456789abcdef01234567';

describe('SCIM in the gateway', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ netbox: API, extraYaml: SCIM });
    h.script.upstream = (req, res) => {
      if (!req.url.startsWith('/api/users/users/')) return false;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ count: 0, next: null, previous: null, results: [] }));
      return true;
    };
  });
  after(() => h.close());

  const scim = (path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) =>
    fetch(`${h.url}/.netbox-gate/scim/v2${path}`, { method: init.method ?? 'GET', headers: { Authorization: `Bearer ${TOKEN}`, ...(init.headers ?? {}) }, ...(init.body !== undefined ? { body: init.body } : {}) });

  it('serves SCIM JSON and never passes the request to NetBox', async () => {
    const r = await scim('/Users', { method: 'POST', body: JSON.stringify({ userName: 'kim' }), headers: { 'Content-Type': 'application/scim+json' } });
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('content-type'), 'application/scim+json; charset=utf-8');
    assert.match(r.headers.get('location') ?? '', /^http:\/\/127\.0\.0\.1:\d+\/\.netbox-gate\/scim\/v2\/Users\/[0-9a-f-]{36}$/);
    assert.ok(!h.seen.some((s) => s.url.includes('scim')), 'no SCIM request reached NetBox');
    assert.ok(h.seen.some((s) => s.url.startsWith('/api/users/users/?') && s.headers.authorization?.startsWith('Bearer nbt_')), 'the lifecycle asked NetBox with the service token');
  });

  it('a body that is not JSON is 400 invalidSyntax; one over 1 MiB is 413; both SCIM error JSON', async () => {
    const bad = await scim('/Users', { method: 'POST', body: '{"userName": ', headers: { 'Content-Type': 'application/scim+json' } });
    assert.equal(bad.status, 400);
    const b = (await bad.json()) as Record<string, string>;
    assert.deepEqual([b.scimType, b.status], ['invalidSyntax', '400']);
    assert.match(b.detail!, /^the request body is not JSON: /);
    const big = await scim('/Users', { method: 'POST', body: JSON.stringify({ userName: 'x', displayName: 'y'.repeat(1024 * 1024) }) });
    assert.equal(big.status, 413);
    assert.deepEqual(await big.json(), { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '413', detail: 'the request body is larger than 1048576 bytes' });
  });

  it('off (the default, or after a reload that turns it off): the path is an unknown gateway page', async () => {
    await h.gw.reload(h.config({ netbox: API }));
    const off = await scim('/Users');
    assert.equal(off.status, 404);
    assert.notEqual(off.headers.get('content-type'), 'application/scim+json; charset=utf-8');
    await h.gw.reload(h.config({ netbox: API, extraYaml: SCIM }));
    const on = await scim('/Users');
    assert.equal(on.status, 200);
    assert.equal(((await on.json()) as { totalResults: number }).totalResults, 1, 'the state outlived the reload');
  });
});
