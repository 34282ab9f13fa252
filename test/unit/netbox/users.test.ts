// Managed users with NetBox stood in by a scripted fetch: only members of the marker group are
// changed, nothing is sent for others, the blank-password refusal of NetBox 4.7 is answered with
// one retry carrying a throwaway password, and group changes keep the marker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGateError } from '../../../src/errors.js';
import { createNetboxClient, type FetchLike } from '../../../src/netbox/api/client.js';
import { managedUsers, type NetboxUser } from '../../../src/netbox/api/users.js';

const MARK = 'netbox-gate-managed';
const user = (o: Partial<NetboxUser> = {}): NetboxUser => ({ id: 7, username: 'bob', email: '', first_name: '', last_name: '', is_active: true, groups: [{ id: 1, name: MARK }, { id: 2, name: 'Engineers' }], ...o });
const page = (results: unknown[]) => ({ count: results.length, next: null, previous: null, results });

function fakeNetbox(answer: (method: string, url: URL, body: unknown) => { status: number; body: unknown }) {
  const calls: Array<{ method: string; path: string; body: unknown }> = [];
  const fetch: FetchLike = async (url, init) => {
    const u = new URL(url);
    const body = init.body === undefined ? undefined : (JSON.parse(init.body) as unknown);
    calls.push({ method: init.method, path: u.pathname + u.search, body });
    const r = answer(init.method, u, body);
    return { status: r.status, headers: { get: () => null }, text: async () => JSON.stringify(r.body) };
  };
  const users = managedUsers(createNetboxClient({ url: 'http://netbox.test', token: 'nbt_k.t', fetch, sleep: async () => {} }), { managedGroup: MARK });
  return { users, calls };
}

describe('managed users', () => {
  it('isManaged: membership of the marker group, nothing else', () => {
    const { users } = fakeNetbox(() => ({ status: 500, body: null }));
    assert.equal(users.isManaged(user()), true);
    assert.equal(users.isManaged(user({ groups: [{ id: 2, name: 'Engineers' }] })), false);
  });

  it('an unmanaged user is refused and nothing is sent to change it', async () => {
    const { users, calls } = fakeNetbox((m, u) => (m === 'GET' && u.pathname === '/api/users/users/' ? { status: 200, body: page([user({ username: 'admin', groups: [] })]) } : { status: 500, body: null }));
    await assert.rejects(users.setActive('admin', false), (e: unknown) => isGateError(e, 'ERR_NETBOX_UNMANAGED') && e.message === `users.User "admin" is not managed by netbox-gate (not in group "${MARK}"): the gateway never changes it`);
    await assert.rejects(users.update('admin', { groups: ['Engineers'], email: 'x@y' }), (e: unknown) => isGateError(e, 'ERR_NETBOX_UNMANAGED'));
    assert.deepEqual(calls.map((c) => c.method), ['GET', 'GET']);
  });

  it('the blank-password refusal is answered once with a throwaway password NetBox accepts', async () => {
    const { users, calls } = fakeNetbox((m, u, body) => {
      if (m === 'GET') return { status: 200, body: page([user()]) };
      const b = body as Record<string, unknown>;
      return b.password === undefined ? { status: 400, body: { password: ['This field cannot be blank.'] } } : { status: 200, body: user({ is_active: b.is_active as boolean }) };
    });
    const r = await users.setActive('bob', false);
    assert.equal(r.outcome, 'changed');
    const patches = calls.filter((c) => c.method === 'PATCH');
    assert.equal(patches.length, 2);
    assert.deepEqual(patches[0]!.body, { is_active: false });
    const pw = (patches[1]!.body as { password: string }).password;
    assert.ok(pw.length >= 12 && /\d/.test(pw) && /[A-Z]/.test(pw) && /[a-z]/.test(pw), 'meets NetBox default validators');
    assert.equal((patches[1]!.body as { is_active: boolean }).is_active, false);
  });

  it('other refusals are not retried with a password', async () => {
    const { users, calls } = fakeNetbox((m) => (m === 'GET' ? { status: 200, body: page([user()]) } : { status: 400, body: { email: ['Enter a valid email address.'] } }));
    await assert.rejects(users.update('bob', { email: 'nope' }), (e: unknown) => isGateError(e, 'ERR_NETBOX_API') && e.message.startsWith('users.User "bob": email: Enter a valid email address.'));
    assert.equal(calls.filter((c) => c.method === 'PATCH').length, 1);
  });

  it('group changes keep the marker and send ids; a missing group is named; nothing to do sends nothing', async () => {
    const groups = [{ id: 1, name: MARK }, { id: 2, name: 'Engineers' }, { id: 3, name: 'Auditors' }];
    const { users, calls } = fakeNetbox((m, u, body) => {
      if (m === 'GET' && u.pathname === '/api/users/users/') return { status: 200, body: page(u.searchParams.get('username') === 'bob' ? [user()] : []) };
      if (m === 'GET' && u.pathname === '/api/users/groups/') return { status: 200, body: page(groups.filter((g) => u.searchParams.getAll('name').includes(g.name))) };
      return { status: 200, body: user({ groups: groups.filter((g) => ((body as { groups: number[] }).groups ?? []).includes(g.id)) }) };
    });
    assert.equal((await users.update('bob', { groups: ['Engineers'] })).outcome, 'unchanged');
    assert.equal((await users.setActive('bob', true)).outcome, 'unchanged');
    assert.equal((await users.setActive('carol', false)).outcome, 'absent');
    assert.equal(calls.filter((c) => c.method === 'PATCH').length, 0);
    const r = await users.update('bob', { groups: ['Auditors'] });
    assert.equal(r.outcome, 'changed');
    assert.deepEqual(calls.at(-1)!.body, { groups: [3, 1] });
    await assert.rejects(users.update('bob', { groups: ['Ghosts'] }), (e: unknown) => isGateError(e, 'ERR_NETBOX_API') && /NetBox has no group "Ghosts"/.test(e.message));
  });
});
