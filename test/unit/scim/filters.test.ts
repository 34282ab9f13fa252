// Filters (RFC 7644 §3.4.2.2) as Entra ID and Okta send them: userName eq (case-insensitive, as
// userName is caseExact=false), externalId eq (case-exact), displayName eq on Groups, and/or/not,
// value paths; a broken filter is a 400 invalidFilter that quotes it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileFilter, parseFilter } from '../../../src/scim/filter.js';
import { USER_ATTRIBUTES, USER_SCHEMA } from '../../../src/scim/schemas.js';
import { scimFixture } from './scim-fixture.js';

const names = (body: any) => body.Resources.map((r: any) => r.userName ?? r.displayName).sort();

describe('SCIM filters', () => {
  it('userName eq is case-insensitive, externalId eq is case-exact (Entra and Okta look users up so)', async () => {
    const f = scimFixture();
    await f.createUser('alice@example.com', { externalId: 'AbC-1' });
    await f.createUser('bob@example.com', { externalId: 'abc-1' });
    const q = async (filter: string) => f.json(await f.call('GET', `/Users?filter=${encodeURIComponent(filter)}`));
    assert.deepEqual(names(await q('userName eq "ALICE@example.com"')), ['alice@example.com']);
    assert.deepEqual(names(await q('externalId eq "AbC-1"')), ['alice@example.com']);
    assert.deepEqual(names(await q('externalId eq "ABC-1"')), []);
    assert.equal((await q('userName eq "nobody"')).totalResults, 0);
    // Okta: `userName eq "..."` with startIndex=1&count=100; Entra: the attribute with its URN.
    assert.deepEqual(names(await q('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob@example.com"')), ['bob@example.com']);
  });

  it('and, or, not, sw, co, pr and value paths (emails[type eq "work"].value, as Entra matches on)', async () => {
    const f = scimFixture();
    await f.createUser('alice', { displayName: 'Alice A', emails: [{ value: 'alice@corp.example', type: 'work', primary: true }] });
    await f.createUser('bob', { displayName: 'Bob B', emails: [{ value: 'bob@home.example', type: 'home' }] });
    await f.createUser('carol', { active: false });
    const q = async (filter: string) => names(f.json(await f.call('GET', `/Users?filter=${encodeURIComponent(filter)}`)));
    assert.deepEqual(await q('userName eq "alice" or userName eq "bob"'), ['alice', 'bob']);
    assert.deepEqual(await q('userName sw "a" and active eq true'), ['alice']);
    assert.deepEqual(await q('not (userName eq "alice")'), ['bob', 'carol']);
    assert.deepEqual(await q('displayName co "b b"'), ['bob']);
    assert.deepEqual(await q('emails pr'), ['alice', 'bob']);
    assert.deepEqual(await q('emails[type eq "work" and value co "@corp."]'), ['alice']);
    assert.deepEqual(await q('emails.value eq "BOB@home.example"'), ['bob']);
    assert.deepEqual(await q('active eq false'), ['carol']);
  });

  it('Groups: displayName eq (case-insensitive) and members[value eq "<id>"]', async () => {
    const f = scimFixture();
    const alice = await f.createUser('alice');
    await f.createGroup('NetBox Admins', [alice.id]);
    await f.createGroup('Readers');
    const q = async (filter: string) => names(f.json(await f.call('GET', `/Groups?filter=${encodeURIComponent(filter)}&excludedAttributes=members`)));
    assert.deepEqual(await q('displayName eq "netbox admins"'), ['NetBox Admins']);
    assert.deepEqual(await q(`members[value eq "${alice.id}"]`), ['NetBox Admins']);
    assert.deepEqual(await q('displayName eq "Readers" or displayName eq "NetBox Admins"'), ['NetBox Admins', 'Readers']);
    const r = f.json(await f.call('GET', `/Groups?filter=${encodeURIComponent('displayName eq "Readers"')}&excludedAttributes=members`));
    assert.equal(r.Resources[0].members, undefined, 'excludedAttributes=members (Entra asks so) leaves members out');
  });

  it('a filter that does not parse is 400 invalidFilter quoting it', async () => {
    const f = scimFixture();
    for (const bad of ['userName eq', 'userName xx "a"', '(userName eq "a"']) {
      const r = await f.call('GET', `/Users?filter=${encodeURIComponent(bad)}`);
      assert.equal(r.status, 400, bad);
      const b = f.json(r);
      assert.equal(b.scimType, 'invalidFilter');
      assert.equal(b.status, '400');
      assert.deepEqual(b.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
      assert.ok(b.detail.startsWith(`filter ${JSON.stringify(bad)} is not a SCIM filter: `), b.detail);
    }
  });

  it('ne is true for a missing attribute; gt/lt compare like types only', () => {
    const match = (s: string, r: object) => compileFilter(parseFilter(s), USER_ATTRIBUTES, USER_SCHEMA)(r as Record<string, unknown>);
    assert.equal(match('displayName ne "x"', { userName: 'a' }), true);
    assert.equal(match('userName gt "b"', { userName: 'c' }), true);
    assert.equal(match('userName gt "b"', { userName: 'a' }), false);
    assert.equal(match('active eq "False"', { active: false }), true, 'a "False" string compares with the boolean');
  });
});
