// The NetBox REST client against a real NetBox 4.7 set up by `netbox-config`: tokens v1 and v2,
// pagination, errors naming object and field, managed users (the marker group the gateway's
// headers carry), deactivation that makes NetBox refuse the user's own API token, a local
// superuser never touched, and a service token holding exactly the documented permissions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseConfigText } from '../../src/config/load.js';
import { isGateError } from '../../src/errors.js';
import { createNetboxClient, type NetboxClient } from '../../src/netbox/api/client.js';
import { managedUsers } from '../../src/netbox/api/users.js';
import { compileHeaderPlan } from '../../src/netbox/headers.js';
import { applyPlan } from '../../src/netbox/objects/apply.js';
import { planNetboxObjects } from '../../src/netbox/objects/plan.js';
import type { Decision } from '../../src/types.js';
import { startNetboxForGateway } from '../support/gateway.js';
import type { NetboxInstance } from '../support/netbox.js';
import { freePort } from '../support/ports.js';

const yaml = (netboxUrl: string) => `server:
  publicUrl: http://127.0.0.1:8080
netbox:
  url: ${netboxUrl}
sources:
  - kind: oidc
    id: corp
    issuer: https://idp.example.org
    clientId: netbox
policy:
  rules: [{ name: all }]
`;

/** The service token's permissions, exactly as docs/netbox-api.md lists them. */
export const SERVICE_PERMISSIONS = [
  { object_types: ['users.user'], actions: ['view', 'change'] },
  { object_types: ['users.group'], actions: ['view', 'add', 'change', 'delete'] },
  { object_types: ['users.objectpermission'], actions: ['view', 'add', 'change', 'delete'] },
];

describe('NetBox REST client against NetBox 4.7', { timeout: 10 * 60_000 }, () => {
  let nb: NetboxInstance;
  let admin: NetboxClient;
  let plan: ReturnType<typeof compileHeaderPlan>;

  /** What the gateway sends for an allowed user, straight at NetBox (NetBox's group sync runs). */
  const signIn = async (username: string, groups: string[] = [], superuser = false) => {
    const d: Decision = { allowed: true, sourceId: 'corp', username, groups, superuser, staff: false, trace: [] };
    const res = await fetch(`${nb.url}/`, { headers: Object.fromEntries(plan.identityHeaders(d)), redirect: 'manual' });
    await res.arrayBuffer();
    return res.status;
  };
  /** A v2 token for a user, made by the admin; returns the Authorization value. */
  const tokenFor = async (username: string): Promise<string> => {
    const u = await nb.api('GET', `/api/users/users/?username=${username}`);
    const t = await nb.api('POST', '/api/users/tokens/', { user: u.body.results[0].id, description: 'test' });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    return `Bearer nbt_${t.body.key}.${t.body.token}`;
  };

  before(async () => {
    const port = await freePort();
    const text = yaml(`http://127.0.0.1:${port}`);
    plan = compileHeaderPlan(parseConfigText(text, 'gw.yaml', {}));
    nb = await startNetboxForGateway(text, {}, port);
    admin = createNetboxClient({ url: nb.url, token: nb.adminAuthorization.replace(/^Bearer /, '') });
  });
  after(async () => {
    await admin?.close();
    await nb?.stop();
  });

  it('reads NetBox with a v2 and a v1 token (the kind told from the value)', async () => {
    assert.equal(admin.tokenVersion, 2);
    const v1 = createNetboxClient({ url: nb.url, token: nb.adminAuthorizationV1 });
    try {
      assert.equal(v1.tokenVersion, 1);
      const s = await v1.request<Record<string, unknown>>('GET', '/api/status/');
      assert.match(String(s['netbox-version']), /^4\.7\./);
    } finally {
      await v1.close();
    }
  });

  it('follows `next` through every page (more objects than a page holds)', async () => {
    for (let i = 0; i < 12; i++) {
      const r = await nb.api('POST', '/api/users/groups/', { name: `page-test-${String(i).padStart(2, '0')}` });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const small = createNetboxClient({ url: nb.url, token: nb.adminAuthorization, pageSize: 5 });
    try {
      const all = await small.list<{ name: string }>('/api/users/groups/', { name__isw: 'page-test-' });
      assert.deepEqual(all.map((g) => g.name).sort(), Array.from({ length: 12 }, (_, i) => `page-test-${String(i).padStart(2, '0')}`));
    } finally {
      await small.close();
    }
  });

  it('errors name the NetBox object and the field from NetBox\'s answer', async () => {
    await assert.rejects(
      admin.request('POST', '/api/users/permissions/', { body: { name: 'bad', object_types: ['dcim.nothing'], actions: ['view'] }, object: { type: 'users.ObjectPermission', name: 'bad' } }),
      (e: unknown) => isGateError(e, 'ERR_NETBOX_API') && /^users\.ObjectPermission "bad": object_types: Invalid content type: dcim\.nothing \(NetBox answered 400 to POST \/api\/users\/permissions\/\)$/.test(e.message),
    );
    await assert.rejects(admin.request('GET', '/api/users/users/999999/', { object: { type: 'users.User', name: '#999999' } }), (e: unknown) => isGateError(e) && /users\.User "#999999": No .* matches the given query\. \(NetBox answered 404/.test(e.message));
  });

  it('a user who arrives through the gateway is in the managed group; NetBox itself shows it', async () => {
    assert.equal(await signIn('bob', ['Network Engineers']), 200);
    const users = managedUsers(admin, { managedGroup: 'netbox-gate-managed' });
    const bob = await users.find('bob');
    assert.ok(bob);
    assert.deepEqual(bob.groups.map((g) => g.name).sort(), ['Network Engineers', 'netbox-gate-managed']);
    assert.equal(users.isManaged(bob), true);
    assert.deepEqual((await users.listManaged()).map((u) => u.username), ['bob']);
  });

  it('NetBox 4.7 refuses a plain PATCH of is_active on a remote-auth user (empty password)', async () => {
    const bob = (await nb.api('GET', '/api/users/users/?username=bob')).body.results[0];
    const r = await nb.api('PATCH', `/api/users/users/${bob.id}/`, { is_active: false });
    assert.equal(r.status, 400);
    assert.deepEqual(r.body, { password: ['This field cannot be blank.'] });
    await assert.rejects(
      admin.request('PATCH', `/api/users/users/${bob.id}/`, { body: { is_active: false }, object: { type: 'users.User', name: 'bob' } }),
      (e: unknown) => isGateError(e, 'ERR_NETBOX_API') && e.message.startsWith('users.User "bob": password: This field cannot be blank.'),
    );
  });

  it('setActive(false) deactivates a managed user: NetBox then refuses their API token ("User inactive"); setActive(true) restores it', async () => {
    const users = managedUsers(admin, { managedGroup: 'netbox-gate-managed' });
    const auth = await tokenFor('bob');
    const asBob = () => fetch(`${nb.url}/api/users/config/`, { headers: { Authorization: auth, Accept: 'application/json' } });
    assert.equal((await asBob()).status, 200);

    const off = await users.setActive('bob', false);
    assert.equal(off.outcome, 'changed');
    const refused = await asBob();
    assert.equal(refused.status, 403);
    assert.deepEqual(await refused.json(), { detail: 'User inactive' });
    // Nor does NetBox log bob in from the gateway's headers any more: it sends him to its login page.
    assert.equal(await signIn('bob', ['Network Engineers']), 302);
    assert.equal((await users.setActive('bob', false)).outcome, 'unchanged');
    const on = await users.setActive('bob', true);
    assert.equal(on.outcome, 'changed');
    assert.equal((await asBob()).status, 200);
    // Still managed, groups untouched.
    const bob = await users.find('bob');
    assert.deepEqual(bob?.groups.map((g) => g.name).sort(), ['Network Engineers', 'netbox-gate-managed']);
    assert.equal((await users.setActive('nobody-here', false)).outcome, 'absent');
  });

  it('a local superuser made by hand is never touched: every change is refused with a clear error', async () => {
    const made = await nb.api('POST', '/api/users/users/', { username: 'root-local', password: 'Local-Admin-Pw-1', is_active: true });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    await nb.python("from users.models import User\nu = User.objects.get(username='root-local')\nu.is_superuser = True\nu.save()");
    const users = managedUsers(admin, { managedGroup: 'netbox-gate-managed' });
    for (const name of ['root-local', 'admin']) {
      await assert.rejects(users.setActive(name, false), (e: unknown) => isGateError(e, 'ERR_NETBOX_UNMANAGED') && e.message === `users.User "${name}" is not managed by netbox-gate (not in group "netbox-gate-managed"): the gateway never changes it`);
      await assert.rejects(users.update(name, { email: 'x@example.org', groups: [] }), (e: unknown) => isGateError(e, 'ERR_NETBOX_UNMANAGED'));
    }
    const after = (await nb.api('GET', '/api/users/users/?username=root-local&is_superuser=true')).body.results[0];
    assert.equal(after.is_active, true);
    assert.equal(after.email, '');
  });

  it('a service token with exactly the documented permissions deactivates users and applies permissions', async () => {
    const svc = await nb.api('POST', '/api/users/users/', { username: 'svc-netbox-gate', password: 'Service-Account-Pw-1' });
    assert.equal(svc.status, 201, JSON.stringify(svc.body));
    for (const [i, p] of SERVICE_PERMISSIONS.entries()) {
      const r = await nb.api('POST', '/api/users/permissions/', { name: `netbox-gate-service-${i}`, ...p, users: [svc.body.id] });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const client = createNetboxClient({ url: nb.url, token: await tokenFor('svc-netbox-gate') });
    try {
      assert.equal(await signIn('carol', ['Auditors']), 200);
      const users = managedUsers(client, { managedGroup: 'netbox-gate-managed' });
      assert.equal((await users.setActive('carol', false)).outcome, 'changed');
      assert.equal((await users.setActive('carol', true)).outcome, 'changed');
      assert.equal((await users.update('carol', { groups: ['Auditors', 'Network Engineers'] })).outcome, 'changed');
      await assert.rejects(users.setActive('root-local', false), (e: unknown) => isGateError(e, 'ERR_NETBOX_UNMANAGED'));
      const desired = {
        groups: [{ name: 'Svc Group', description: 'made by the service token', adopt: false }],
        permissions: [{ name: 'svc-view-sites', description: '', objectTypes: ['dcim.site'], actions: ['view'], constraints: null, enabled: true, groups: ['Svc Group'], adopt: false }],
      };
      const p = await planNetboxObjects(client, desired);
      assert.deepEqual(p.problems, []);
      assert.equal((await applyPlan(client, p)).length, 2);
      assert.deepEqual((await planNetboxObjects(client, desired)).changes, []);
      // One action fewer (users.user change) and deactivation fails, naming the user.
      const userPerm = (await nb.api('GET', '/api/users/permissions/?name=netbox-gate-service-0')).body.results[0];
      assert.equal((await nb.api('PATCH', `/api/users/permissions/${userPerm.id}/`, { actions: ['view'] })).status, 200);
      await assert.rejects(users.setActive('carol', false), (e: unknown) => isGateError(e, 'ERR_NETBOX_API') && /^users\.User "carol": You do not have permission to perform this action\. \(NetBox answered 403 to PATCH /.test(e.message));
    } finally {
      await client.close();
    }
  });
});
