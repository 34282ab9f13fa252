// The pure half of `netbox plan`: NetBox's objects as read against netboxObjects. Only objects
// marked managed change or go; unmarked ones with a declared name are conflicts unless adopted.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { netboxObjectsSchema } from '../../../src/netbox/objects/schema.js';
import { canonical, comparePlan, type NbGroup, type NbPermission } from '../../../src/netbox/objects/plan.js';
import { formatPlan } from '../../../src/netbox/objects/format.js';

const M = '[managed by netbox-gate]';
const types = ['dcim.site', 'dcim.device', 'ipam.prefix'].map((t) => ({ app_label: t.split('.')[0]!, model: t.split('.')[1]!, public: true }));
types.push({ app_label: 'core', model: 'objecttype', public: false }, { app_label: 'users', model: 'token', public: false });
const desired = netboxObjectsSchema.parse({
  groups: [{ name: 'Engineers', description: 'Edits sites' }],
  permissions: [{ name: 'eng-sites', objectTypes: ['dcim.site'], actions: ['view', 'change'], constraints: { status: 'active' }, groups: ['Engineers'] }],
});
const perm = (o: Partial<NbPermission>): NbPermission => ({ id: 5, name: 'eng-sites', description: M, enabled: true, object_types: ['dcim.site'], actions: ['change', 'view'], constraints: { status: 'active' }, groups: [{ id: 1, name: 'Engineers' }], users: [], ...o });
const group = (o: Partial<NbGroup>): NbGroup => ({ id: 1, name: 'Engineers', description: `Edits sites ${M}`, ...o });

describe('netbox plan (comparison)', () => {
  it('an empty NetBox: everything is created', () => {
    const p = comparePlan(desired, [], { groups: [], permissions: [], types });
    assert.deepEqual(p.problems, []);
    assert.deepEqual(p.changes.map((c) => `${c.action} ${c.kind} ${c.name}`), ['create group Engineers', 'create permission eng-sites']);
    assert.deepEqual(p.changes[1]!.fields.map((f) => f.field), ['description', 'enabled', 'object_types', 'actions', 'constraints', 'groups']);
  });

  it('NetBox as declared: no changes (order of actions, key order of constraints do not matter)', () => {
    const p = comparePlan(desired, [], { groups: [group({})], permissions: [perm({ actions: ['view', 'change'] })], types });
    assert.deepEqual([p.changes, p.problems], [[], []]);
    assert.equal(canonical({ b: 1, a: [{ d: 1, c: 2 }] }), canonical({ a: [{ c: 2, d: 1 }], b: 1 }));
  });

  it('drift in a managed object: one update with each differing field, from -> to', () => {
    const p = comparePlan(desired, [], { groups: [group({})], permissions: [perm({ enabled: false, constraints: null, users: [{ id: 3, username: 'eve' }] })], types });
    assert.equal(p.changes.length, 1);
    assert.deepEqual(p.changes[0]!.fields, [
      { field: 'enabled', from: false, to: true },
      { field: 'constraints', from: null, to: { status: 'active' } },
      { field: 'users', from: ['eve'], to: [] },
    ]);
  });

  it('an unmarked object of a declared name is a conflict and is not changed; adopt takes it over', () => {
    const have = { groups: [group({ description: 'by hand' })], permissions: [perm({ description: 'by hand', actions: ['view'] })], types };
    const p = comparePlan(desired, [], have);
    assert.deepEqual(p.changes, []);
    assert.deepEqual(p.problems.map((x) => [x.kind, x.path.join('.')]), [
      ['conflict', 'netboxObjects.groups.0.name'],
      ['conflict', 'netboxObjects.permissions.0.name'],
    ]);
    const adopting = netboxObjectsSchema.parse({ groups: [{ name: 'Engineers', description: 'Edits sites', adopt: true }], permissions: [{ ...desired.permissions[0], adopt: true }] });
    const q = comparePlan(adopting, [], have);
    assert.deepEqual(q.problems, []);
    assert.deepEqual(q.changes.map((c) => [c.action, c.name, c.adopt, c.fields.map((f) => f.field)]), [
      ['update', 'Engineers', true, ['description']],
      ['update', 'eng-sites', true, ['description', 'actions']],
    ]);
  });

  it('managed objects that left the config are deleted; unmarked ones never', () => {
    const have = {
      groups: [group({}), group({ id: 2, name: 'Old', description: M }), group({ id: 3, name: 'Local', description: '' })],
      permissions: [perm({}), perm({ id: 6, name: 'old-perm' }), perm({ id: 7, name: 'local-perm', description: 'mine' })],
      types,
    };
    const p = comparePlan(desired, [], have);
    assert.deepEqual(p.changes.map((c) => `${c.action} ${c.kind} ${c.name} ${c.id}`), ['delete permission old-perm 6', 'delete group Old 2']);
  });

  it('unknown object types and types NetBox gives no permissions on are errors at their path; unknown groups too', () => {
    const bad = netboxObjectsSchema.parse({ permissions: [{ name: 'p', objectTypes: ['dcim.sites', 'core.objecttype', 'users.token', 'foo.bar'], actions: ['view'], groups: ['Ghost'] }] });
    const p = comparePlan(bad, [], { groups: [], permissions: [], types });
    assert.deepEqual(p.problems.map((x) => `${x.path.join('.')}: ${x.message}`), [
      'netboxObjects.permissions.0.objectTypes.0: unknown object type "dcim.sites": NetBox has no such type; did you mean "dcim.site"?',
      'netboxObjects.permissions.0.objectTypes.1: NetBox does not allow object permissions on "core.objecttype"',
      'netboxObjects.permissions.0.objectTypes.2: NetBox does not allow object permissions on "users.token"',
      'netboxObjects.permissions.0.objectTypes.3: unknown object type "foo.bar": NetBox has no such type (see /api/core/object-types/)',
      'netboxObjects.permissions.0.groups.0: group "Ghost" is neither declared in netboxObjects.groups nor present in NetBox',
    ]);
  });

  it("the gateway's own groups are created when missing and otherwise left as they are", () => {
    const gw = [{ name: 'netbox-gate-managed', description: 'marker', path: ['netbox', 'managedGroup'] }];
    const p = comparePlan({ groups: [], permissions: [] }, gw, { groups: [], permissions: [], types });
    assert.deepEqual(p.changes.map((c) => [c.action, c.name, c.fields[0]!.to]), [['create', 'netbox-gate-managed', `marker ${M}`]]);
    const q = comparePlan({ groups: [], permissions: [] }, gw, { groups: [group({ name: 'netbox-gate-managed', description: '' })], permissions: [], types });
    assert.deepEqual([q.changes, q.problems], [[], []]);
  });

  it('prints one line per object, its fields, problems with their line, and a summary', () => {
    const p = comparePlan(desired, [], { groups: [group({ description: 'x' })], permissions: [perm({ id: 9, name: 'gone' })], types });
    assert.deepEqual(formatPlan(p, (path) => ` (gate.yaml:${path.length})`), [
      '+ create permission "eng-sites"  [netboxObjects.permissions.0 (gate.yaml:3)]',
      '    description: "[managed by netbox-gate]"',
      '    enabled: true',
      '    object_types: ["dcim.site"]',
      '    actions: ["change","view"]',
      '    constraints: {"status":"active"}',
      '    groups: ["Engineers"]',
      '- delete permission "gone" (id 9): managed by netbox-gate and no longer in the config',
      '! conflict: netboxObjects.groups.0.name: NetBox has a group "Engineers" that is not managed by netbox-gate (its description does not end with [managed by netbox-gate]); it is left alone. Rename the entry, or set adopt: true to take it over (gate.yaml:4)',
      'Plan: 1 to create, 0 to update, 1 to delete; 1 conflict, 0 errors.',
    ]);
  });
});
