// The protocol around the resources: bearer authentication (several tokens for rotation, compared
// in constant time), SCIM error JSON for every refusal (never a stack trace), list paging,
// discovery documents, uniqueness, ETags, DELETE, a NetBox failure answered 503 and completed on
// the client's retry, and state that a new service over the same store still has (restart).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { bearerVerifier } from '../../../src/scim/auth.js';
import { createScimService } from '../../../src/scim/service.js';
import { recordingLogger } from '../../support/logger.js';
import { OLD_TOKEN, TOKEN, patchOp, scimFixture } from './scim-fixture.js';

const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

describe('SCIM authentication', () => {
  it('missing or wrong bearer token: 401 SCIM error with WWW-Authenticate; either configured token works', async () => {
    const f = scimFixture();
    for (const authorization of [undefined, 'Bearer nope', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer ']) {
      const r = await f.svc.handle({ method: 'GET', path: '/Users', query: new URLSearchParams(), ...(authorization !== undefined ? { authorization } : {}) });
      assert.equal(r.status, 401, String(authorization));
      assert.deepEqual(r.body, {
        schemas: [ERROR],
        status: '401',
        detail: authorization === undefined ? 'authentication required: send Authorization: Bearer <token from scim.tokens>' : 'the bearer token is not one of scim.tokens',
      });
      assert.equal(r.headers['WWW-Authenticate'], 'Bearer realm="netbox-gate SCIM"');
    }
    for (const t of [TOKEN, OLD_TOKEN]) {
      const r = await f.svc.handle({ method: 'GET', path: '/ServiceProviderConfig', query: new URLSearchParams(), authorization: `bearer ${t}` });
      assert.equal(r.status, 200);
    }
    assert.ok(!JSON.stringify(f.logger.records).includes(TOKEN), 'the token is never logged');
  });

  it('compares digests with timingSafeEqual against every token, whatever the length presented', () => {
    const verify = bearerVerifier(['a'.repeat(32), 'b'.repeat(40)]);
    assert.equal(verify(`Bearer ${'a'.repeat(32)}`), true);
    assert.equal(verify(`Bearer ${'b'.repeat(40)}`), true);
    assert.equal(verify(`Bearer ${'a'.repeat(31)}`), false);
    assert.equal(verify(`Bearer ${'a'.repeat(1000)}`), false);
    // The mechanism, since a timing assertion would be flaky: SHA-256 digests (equal length, so
    // timingSafeEqual never throws or returns early on length), compared with every token, no early exit.
    const src = readFileSync(new URL('../../../../src/scim/auth.ts', import.meta.url), 'utf8');
    assert.match(src, /timingSafeEqual\(w, got\) \|\| ok/);
    assert.match(src, /createHash\('sha256'\)/);
  });
});

describe('SCIM protocol', () => {
  it('list paging: startIndex (1-based), count, totalResults, itemsPerPage; count=0 gives only the total', async () => {
    const f = scimFixture();
    for (let i = 1; i <= 7; i++) await f.createUser(`user${i}`);
    const page = async (q: string) => f.json(await f.call('GET', `/Users?${q}`));
    const p1 = await page('startIndex=1&count=3');
    assert.deepEqual([p1.totalResults, p1.itemsPerPage, p1.startIndex, p1.Resources.map((r: any) => r.userName)], [7, 3, 1, ['user1', 'user2', 'user3']]);
    const p3 = await page('startIndex=7&count=3');
    assert.deepEqual(p3.Resources.map((r: any) => r.userName), ['user7']);
    assert.deepEqual([(await page('count=0')).totalResults, (await page('count=0')).Resources], [7, []]);
    assert.equal((await page('startIndex=0&count=2')).startIndex, 1, 'startIndex below 1 is 1');
    assert.equal((await page('startIndex=99')).itemsPerPage, 0);
    assert.deepEqual(p1.schemas, ['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
    const bad = await f.call('GET', '/Users?count=ten');
    assert.equal(bad.status, 400);
    assert.equal(f.json(bad).detail, 'count must be an integer, not "ten"');
    const search = await f.call('POST', '/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName eq "user2"', startIndex: 1, count: 10 });
    assert.deepEqual(f.json(search).Resources.map((r: any) => r.userName), ['user2']);
  });

  it('discovery: ServiceProviderConfig, ResourceTypes, Schemas (and one of each by id)', async () => {
    const f = scimFixture();
    const spc = f.json(await f.call('GET', '/ServiceProviderConfig'));
    assert.deepEqual([spc.patch.supported, spc.filter.supported, spc.bulk.supported, spc.etag.supported, spc.authenticationSchemes[0].type], [true, true, false, true, 'oauthbearertoken']);
    const rts = f.json(await f.call('GET', '/ResourceTypes'));
    assert.deepEqual(rts.Resources.map((r: any) => r.endpoint), ['/Users', '/Groups']);
    const schemas = f.json(await f.call('GET', '/Schemas'));
    assert.equal(schemas.totalResults, 2);
    const user = f.json(await f.call('GET', '/Schemas/urn:ietf:params:scim:schemas:core:2.0:User'));
    assert.ok(user.attributes.some((a: any) => a.name === 'userName' && a.uniqueness === 'server'));
    assert.equal((await f.call('GET', '/ResourceTypes/Device')).status, 404);
  });

  it('errors are SCIM error JSON: 404 unknown id and endpoint, 405 method, 400 bad JSON, 409 uniqueness, 412 If-Match', async () => {
    const f = scimFixture();
    const u = await f.createUser('alice');
    const check = async (r: { status: number; body?: unknown }, status: number, detail: RegExp, scimType?: string) => {
      assert.equal(r.status, status, JSON.stringify(r.body));
      const b = r.body as any;
      assert.deepEqual(b.schemas, [ERROR]);
      assert.equal(b.status, String(status));
      assert.equal(b.scimType, scimType);
      assert.match(b.detail, detail);
      assert.ok(!/\n\s+at /.test(b.detail), 'no stack trace');
    };
    await check(await f.call('GET', '/Users/nope'), 404, /no User with id "nope"/);
    await check(await f.call('GET', '/Devices'), 404, /no SCIM endpoint \/Devices/);
    await check(await f.call('POST', `/Users/${u.id}`, {}), 405, /POST is not supported on \/Users\/.*; use GET, PUT, PATCH, DELETE/);
    await check(await f.call('POST', '/Users', undefined, { bodyError: 'the request body is not JSON: Unexpected token' }), 400, /not JSON/, 'invalidSyntax');
    await check(await f.call('POST', '/Users', { userName: 'ALICE' }), 409, /userName "ALICE" is already taken/, 'uniqueness');
    await check(await f.call('POST', '/Users', { displayName: 'no name' }), 400, /userName is required/, 'invalidValue');
    await check(await f.call('POST', '/Users', { userName: 'x', active: 'sometimes' }), 400, /active must be a boolean/, 'invalidValue');
    await check(await f.call('POST', '/Groups', { displayName: 'g', members: [{ display: 'x' }] }), 400, /members\[0\]\.value is required/, 'invalidValue');
    await check(await f.call('PATCH', `/Users/${u.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'A' }), { ifMatch: 'W/"7"' }), 412, /If-Match W\/"7" does not match the current version W\/"1"/);
    const ok = await f.call('PATCH', `/Users/${u.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'A' }), { ifMatch: 'W/"1"' });
    assert.equal(ok.headers.ETag, 'W/"2"');
  });

  it('DELETE of a user deprovisions it and takes it out of its groups; GET then 404', async () => {
    const f = scimFixture();
    const u = await f.createUser('zed');
    const g = await f.createGroup('team', [u.id]);
    f.calls.length = 0;
    const r = await f.call('DELETE', `/Users/${u.id}`);
    assert.equal(r.status, 204);
    assert.deepEqual(f.calls, [{ call: 'deactivate', userName: 'zed', detail: 'SCIM DELETE' }]);
    assert.equal((await f.call('GET', `/Users/${u.id}`)).status, 404);
    assert.deepEqual(f.json(await f.call('GET', `/Groups/${g.id}`)).members, []);
    assert.equal((await f.createUser('zed')).userName, 'zed', 'the name is free again');
  });

  it('NetBox failing: 503 with Retry-After, the change is kept, and the retry carries it to NetBox', async () => {
    let failing = false;
    const f = scimFixture({ failLifecycle: () => failing });
    const u = await f.createUser('ivy');
    f.calls.length = 0;
    failing = true;
    const r = await f.call('PATCH', `/Users/${u.id}`, patchOp({ op: 'replace', path: 'active', value: false }));
    assert.equal(r.status, 503);
    assert.match(f.json(r).detail, /the change is stored but NetBox could not be updated \(NetBox answered 502\)/);
    assert.equal(r.headers['Retry-After'], '5');
    failing = false;
    const again = await f.call('PATCH', `/Users/${u.id}`, patchOp({ op: 'replace', path: 'active', value: false }));
    assert.equal(again.status, 200);
    assert.deepEqual(f.calls.map((c) => c.call), ['deactivate']);
  });

  it('state lives in the store: a new service (a restart, another replica) has the same users, groups and versions', async () => {
    const f = scimFixture();
    const u = await f.createUser('jane');
    await f.createGroup('admins', [u.id]);
    await f.call('PATCH', `/Users/${u.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'Jane' }));
    const calls: string[] = [];
    const again = createScimService({
      store: f.store,
      lifecycle: { deactivate: async (n) => void calls.push(n), activate: async () => {}, groupsChanged: async () => {} },
      tokens: [TOKEN],
      sourceId: 'scim',
      baseUrl: 'https://netbox.example.com/.netbox-gate/scim/v2',
      logger: recordingLogger(),
    });
    const got = (await again.handle({ method: 'GET', path: `/Users/${u.id}`, query: new URLSearchParams(), authorization: `Bearer ${TOKEN}` })).body as any;
    assert.deepEqual([got.userName, got.displayName, got.meta.version, got.groups.map((g: any) => g.display)], ['jane', 'Jane', 'W/"2"', ['admins']]);
  });
});

describe('scimUserStatus (for admission)', () => {
  it('says inactive for a user the IdP deactivated, active otherwise, unknown for names SCIM lacks', async () => {
    const { scimUserStatus } = await import('../../../src/scim/state.js');
    const f = scimFixture();
    const u = await f.createUser('Lena');
    assert.equal(await scimUserStatus(f.store, 'lena'), 'active');
    await f.call('PATCH', `/Users/${u.id}`, patchOp({ op: 'replace', path: 'active', value: false }));
    assert.equal(await scimUserStatus(f.store, 'Lena'), 'inactive');
    assert.equal(await scimUserStatus(f.store, 'someone-else'), 'unknown');
    await f.call('DELETE', `/Users/${u.id}`);
    assert.equal(await scimUserStatus(f.store, 'Lena'), 'unknown');
  });
});
