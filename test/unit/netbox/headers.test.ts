import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileHeaderPlan } from '../../../src/netbox/headers.js';
import { netboxSchema } from '../../../src/config/schema.js';
import type { Decision } from '../../../src/types.js';

const netbox = netboxSchema.parse({ url: 'http://127.0.0.1:8001' });
const plan = compileHeaderPlan({ netbox });
const d: Decision = { allowed: true, sourceId: 's', username: 'bob', email: 'bob@example.org', groups: ['A', 'B'], superuser: true, staff: true, trace: [] };

describe('header plan', () => {
  it('strips every variant of configured and NetBox default identity headers', () => {
    for (const n of ['X-Remote-User', 'x-remote-user', 'X_REMOTE_USER', 'x_Remote-user', 'Remote-User', 'REMOTE_USER', 'remote_user_group', 'X-Remote-User-Groups', 'X-Pomerium-Claim-Email', 'x_forwarded_user']) {
      assert.equal(plan.isIdentityHeader(n), true, n);
    }
    for (const n of ['Accept', 'Cookie', 'X-Requested-With', 'Authorization']) assert.equal(plan.isIdentityHeader(n), false, n);
  });
  it('injects the user, profile and groups with the superuser group (no staff on 4.7)', () => {
    const h = Object.fromEntries(plan.identityHeaders(d));
    assert.equal(h['X-Remote-User'], 'bob');
    assert.equal(h['X-Remote-User-Email'], 'bob@example.org');
    assert.equal(h['X-Remote-User-Groups'], 'A|B|netbox-gate-superusers|netbox-gate-managed');
  });
  it('always sends the group header, with the managed marker alone when the user has no groups, so NetBox removes lost groups', () => {
    const h = Object.fromEntries(plan.identityHeaders({ ...d, groups: [], superuser: false }));
    assert.equal(h['X-Remote-User-Groups'], 'netbox-gate-managed');
  });
  it('the managed marker is netbox.managedGroup', () => {
    const own = compileHeaderPlan({ netbox: netboxSchema.parse({ url: 'http://x', managedGroup: 'via-gateway' }) });
    assert.equal(own.groupsValue({ ...d, superuser: false }), 'A|B|via-gateway');
  });
  it('staff group only for NetBox < 4.5', () => {
    const old = compileHeaderPlan({ netbox: netboxSchema.parse({ url: 'http://x', version: '4.4' }) });
    assert.equal(old.groupsValue(d), 'A|B|netbox-gate-superusers|netbox-gate-staff|netbox-gate-managed');
  });
  it('drops values that cannot travel in a header', () => {
    const h = Object.fromEntries(plan.identityHeaders({ ...d, firstName: 'Line\r\nX-Injected: 1', lastName: 'Łukasz' }));
    assert.equal(h['X-Remote-User-First-Name'], undefined);
    assert.equal(h['X-Remote-User-Last-Name'], undefined);
  });
});
