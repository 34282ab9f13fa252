// PATCH as the RFC writes it and as Entra ID and Okta send it (their documented request shapes),
// and what each change asks of the lifecycle: deactivate at once on active false, re-decide on a
// group change with the `scim` identity whose groups are the SCIM group displayNames.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { patchOp, scimFixture } from './scim-fixture.js';

describe('SCIM PATCH: RFC 7644 shapes', () => {
  it('add, replace and remove on simple, complex, sub-attribute and value-filtered paths', async () => {
    const f = scimFixture();
    const u = await f.createUser('alice', { emails: [{ value: 'a@work.example', type: 'work' }, { value: 'a@home.example', type: 'home' }] });
    const r = await f.call(
      'PATCH',
      `/Users/${u.id}`,
      patchOp(
        { op: 'add', path: 'displayName', value: 'Alice' },
        { op: 'replace', path: 'name', value: { givenName: 'Alice', familyName: 'Anders' } },
        { op: 'replace', path: 'name.familyName', value: 'Andersen' },
        { op: 'replace', path: 'emails[type eq "work"].value', value: 'alice@work.example' },
        { op: 'remove', path: 'emails[type eq "home"]' },
        { op: 'add', path: 'emails', value: [{ value: 'alice@other.example', type: 'other' }] },
      ),
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const b = f.json(r);
    assert.equal(b.displayName, 'Alice');
    assert.deepEqual(b.name, { givenName: 'Alice', familyName: 'Andersen' });
    assert.deepEqual(b.emails, [
      { value: 'alice@work.example', type: 'work' },
      { value: 'alice@other.example', type: 'other' },
    ]);
    assert.equal(b.meta.version, 'W/"2"');
    const removed = f.json(await f.call('PATCH', `/Users/${u.id}`, patchOp({ op: 'remove', path: 'displayName' }, { op: 'remove', path: 'emails' })));
    assert.equal(removed.displayName, undefined);
    assert.equal(removed.emails, undefined);
  });

  it('replace active false deactivates at once; true activates again', async () => {
    const f = scimFixture();
    const u = await f.createUser('bob');
    f.calls.length = 0;
    await f.call('PATCH', `/Users/${u.id}`, patchOp({ op: 'replace', path: 'active', value: false }));
    assert.deepEqual(f.calls, [{ call: 'deactivate', userName: 'bob', detail: 'SCIM PATCH: active false' }]);
    f.calls.length = 0;
    await f.call('PATCH', `/Users/${u.id}`, patchOp({ op: 'replace', path: 'active', value: true }));
    assert.deepEqual(f.calls.map((c) => c.call), ['activate', 'groupsChanged']);
  });

  it('a group membership change re-decides each affected member with the scim identity', async () => {
    const f = scimFixture();
    const a = await f.createUser('alice', { name: { givenName: 'Alice' }, emails: [{ value: 'alice@example.com', primary: true }] });
    const b = await f.createUser('bob');
    const g = await f.createGroup('netbox-admins', [a.id]);
    f.calls.length = 0;
    await f.call('PATCH', `/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: b.id }] }));
    assert.equal(f.calls.length, 1);
    const c = f.calls[0]!;
    assert.equal(c.call, 'groupsChanged');
    assert.ok(c.call === 'groupsChanged');
    assert.equal(c.userName, 'bob');
    assert.deepEqual({ kind: c.identity.sourceKind, id: c.identity.sourceId, groups: c.identity.groups }, { kind: 'scim', id: 'scim', groups: ['netbox-admins'] });
    f.calls.length = 0;
    await f.call('PATCH', `/Groups/${g.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'netbox-readers' }));
    const seen = f.calls.map((x) => (x.call === 'groupsChanged' ? [x.userName, x.identity.groups, x.identity.email, x.identity.firstName] : [x.call])).sort();
    assert.deepEqual(seen, [
      ['alice', ['netbox-readers'], 'alice@example.com', 'Alice'],
      ['bob', ['netbox-readers'], undefined, undefined],
    ]);
    const user = f.json(await f.call('GET', `/Users/${b.id}`));
    assert.deepEqual(user.groups.map((x: any) => x.display), ['netbox-readers']);
  });

  it('errors: unknown op, bad path, read-only attribute, no target, wrong type', async () => {
    const f = scimFixture();
    const u = await f.createUser('carol');
    const cases: Array<[unknown, string, RegExp]> = [
      [patchOp({ op: 'merge', path: 'displayName', value: 'x' }), 'invalidSyntax', /Operations\[0\]\.op must be add, replace or remove, not "merge"/],
      [patchOp({ op: 'replace', path: 'name.nickname', value: 'x' }), 'invalidPath', /name has no sub-attribute "nickname"/],
      [patchOp({ op: 'replace', path: 'groups', value: [] }), 'mutability', /groups is read-only/],
      [patchOp({ op: 'remove' }), 'noTarget', /remove needs a path/],
      [patchOp({ op: 'replace', path: 'active', value: 'maybe' }), 'invalidValue', /active must be a boolean/],
      [patchOp({ op: 'replace', path: 'emails[type eq "work" or type eq "home"].value', value: 'x' }), 'noTarget', /matches no value of emails/],
      [{ schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'] }, 'invalidSyntax', /Operations must be a non-empty list/],
      [patchOp({ op: 'replace', path: 'userName', value: '' }), 'invalidValue', /userName is required/],
    ];
    for (const [body, scimType, detail] of cases) {
      const r = await f.call('PATCH', `/Users/${u.id}`, body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(f.json(r).scimType, scimType, JSON.stringify(r.body));
      assert.match(f.json(r).detail, detail);
    }
    const after = f.json(await f.call('GET', `/Users/${u.id}`));
    assert.equal(after.meta.version, 'W/"1"', 'a refused PATCH changes nothing');
  });
});

describe('SCIM PATCH: Microsoft Entra ID shapes', () => {
  it('"Replace" capitalised, active as the string "False", then "True"', async () => {
    const f = scimFixture();
    const u = await f.createUser('dave@contoso.com');
    f.calls.length = 0;
    const r = await f.call('PATCH', `/Users/${u.id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' }));
    assert.equal(r.status, 200);
    assert.equal(f.json(r).active, false);
    assert.deepEqual(f.calls.map((c) => c.call), ['deactivate']);
    const back = await f.call('PATCH', `/Users/${u.id}`, patchOp({ op: 'Replace', path: 'active', value: 'True' }));
    assert.equal(f.json(back).active, true);
  });

  it('"Add" to emails[type eq "work"].value creates the work email; no path with a dict (dotted keys)', async () => {
    const f = scimFixture();
    const u = await f.createUser('erin@contoso.com');
    const r = await f.call(
      'PATCH',
      `/Users/${u.id}`,
      patchOp(
        { op: 'Add', path: 'emails[type eq "work"].value', value: 'erin@contoso.com' },
        { op: 'Replace', value: { displayName: 'Erin E', 'name.givenName': 'Erin', 'name.familyName': 'Edwards', active: true } },
        { op: 'Add', path: 'externalId', value: '7c1f-guid' },
      ),
    );
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const b = f.json(r);
    assert.deepEqual(b.emails, [{ type: 'work', value: 'erin@contoso.com' }]);
    assert.deepEqual(b.name, { givenName: 'Erin', familyName: 'Edwards' });
    assert.equal(b.displayName, 'Erin E');
    assert.equal(b.externalId, '7c1f-guid');
  });

  it('group: Add members, Remove members with a value list (Entra), Remove members[value eq "id"] (filter)', async () => {
    const f = scimFixture();
    const [a, b, c] = [await f.createUser('a'), await f.createUser('b'), await f.createUser('c')];
    const g = await f.createGroup('engineers');
    const byId = new Map([a, b, c].map((u) => [u.id, u.userName]));
    const members = async () => f.json(await f.call('GET', `/Groups/${g.id}`)).members.map((m: any) => byId.get(m.value)).sort();
    await f.call('PATCH', `/Groups/${g.id}`, patchOp({ op: 'Add', path: 'members', value: [{ value: a.id }, { value: b.id }, { value: c.id }] }));
    assert.deepEqual(await members(), ['a', 'b', 'c']);
    await f.call('PATCH', `/Groups/${g.id}`, patchOp({ op: 'Remove', path: 'members', value: [{ value: a.id }] }));
    assert.deepEqual(await members(), ['b', 'c']);
    await f.call('PATCH', `/Groups/${g.id}`, patchOp({ op: 'Remove', path: `members[value eq "${b.id}"]` }));
    assert.deepEqual(await members(), ['c']);
    const r = await f.call('PATCH', `/Groups/${g.id}`, patchOp({ op: 'Replace', path: 'displayName', value: 'network-engineers' }));
    assert.equal(f.json(r).displayName, 'network-engineers');
  });

  it('attributes of extension schemas it does not publish are ignored, not refused', async () => {
    const f = scimFixture();
    const u = await f.createUser('frank');
    const r = await f.call('PATCH', `/Users/${u.id}`, patchOp({ op: 'Add', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department', value: 'NetOps' }, { op: 'Replace', value: { 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber': '42', title: 'Engineer' } }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
  });
});

describe('SCIM PATCH and PUT: Okta shapes', () => {
  it('replace with no path and {active: false} (Okta deactivation)', async () => {
    const f = scimFixture();
    const u = await f.createUser('gina@okta.example');
    f.calls.length = 0;
    const r = await f.call('PATCH', `/Users/${u.id}`, patchOp({ op: 'replace', value: { active: false } }));
    assert.equal(f.json(r).active, false);
    assert.deepEqual(f.calls.map((c) => c.call), ['deactivate']);
  });

  it('PUT replaces the whole user (attributes left out are gone); active false there deactivates too', async () => {
    const f = scimFixture();
    const u = await f.createUser('hank', { displayName: 'Hank', name: { givenName: 'Hank', familyName: 'Hill' } });
    const put = await f.call('PUT', `/Users/${u.id}`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id: u.id, userName: 'hank', name: { givenName: 'Henry' }, active: true });
    assert.equal(put.status, 200);
    assert.equal(f.json(put).displayName, undefined);
    assert.deepEqual(f.json(put).name, { givenName: 'Henry' });
    f.calls.length = 0;
    await f.call('PUT', `/Users/${u.id}`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'hank', active: false });
    assert.deepEqual(f.calls.map((c) => c.call), ['deactivate']);
  });

  it('group PATCH: add members with display, remove by filter, replace dict carrying the read-only id', async () => {
    const f = scimFixture();
    const [a, b] = [await f.createUser('ann'), await f.createUser('ben')];
    const g = await f.createGroup('ops');
    await f.call('PATCH', `/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: a.id, display: 'ann' }, { value: b.id, display: 'ben' }] }));
    await f.call('PATCH', `/Groups/${g.id}`, patchOp({ op: 'remove', path: `members[value eq "${a.id}"]` }));
    const r = await f.call('PATCH', `/Groups/${g.id}`, patchOp({ op: 'replace', value: { id: g.id, displayName: 'ops-team' } }));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const body = f.json(r);
    assert.equal(body.displayName, 'ops-team');
    assert.deepEqual(body.members.map((m: any) => m.display), ['ben']);
  });

  it('a member that is not a User is refused naming the member', async () => {
    const f = scimFixture();
    const g = await f.createGroup('ops');
    const r = await f.call('PATCH', `/Groups/${g.id}`, patchOp({ op: 'add', path: 'members', value: [{ value: 'no-such-id' }] }));
    assert.equal(r.status, 400);
    assert.equal(f.json(r).scimType, 'invalidValue');
    assert.match(f.json(r).detail, /members\[0\]\.value "no-such-id" is not the id of a User/);
  });
});
