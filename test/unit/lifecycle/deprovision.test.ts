// The deprovisioner's rules without NetBox (its REST calls against the real NetBox are in
// test/integration/deprovision.test.ts): NetBox first, then every session; a NetBox failure is an
// audit line with result "failed" and the sessions still end; unmanaged users are never edited;
// nothing is logged when nothing changed; and one directory sync at a time across replicas.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { parseConfigText } from '../../../src/config/load.js';
import { GateError } from '../../../src/errors.js';
import { createDeprovisioner } from '../../../src/lifecycle/deprovision.js';
import { deprovisionedKey } from '../../../src/lifecycle/records.js';
import { createDirectorySync } from '../../../src/lifecycle/sync.js';
import type { ChangeOutcome, ManagedUsers, NetboxUser } from '../../../src/netbox/api/users.js';
import { createMemoryStore } from '../../../src/store/memory.js';
import { recordingLogger } from '../../support/logger.js';

const user = (username: string, active: boolean, managed = true): NetboxUser => ({
  id: 1,
  username,
  email: '',
  first_name: '',
  last_name: '',
  is_active: active,
  groups: managed ? [{ id: 9, name: 'netbox-gate-managed' }] : [],
});

/** ManagedUsers over an in-memory table, with the calls it received; `fail` makes writes fail. */
function fakeUsers(table: Map<string, NetboxUser>, o: { fail?: boolean } = {}): ManagedUsers & { calls: string[] } {
  const calls: string[] = [];
  const setActive = async (name: string, active: boolean): Promise<ChangeOutcome> => {
    calls.push(`setActive ${name} ${active}`);
    const u = table.get(name);
    if (!u) return { outcome: 'absent' };
    if (!u.groups.some((g) => g.name === 'netbox-gate-managed')) throw new GateError('ERR_NETBOX_UNMANAGED', `users.User "${name}" is not managed`);
    if (o.fail) throw new GateError('ERR_NETBOX_API', 'users.User "bob": NetBox answered 503');
    if (u.is_active === active) return { outcome: 'unchanged', user: u };
    u.is_active = active;
    return { outcome: 'changed', user: u };
  };
  return {
    calls,
    managedGroup: 'netbox-gate-managed',
    find: async (n) => table.get(n),
    isManaged: (u) => u.groups.some((g) => g.name === 'netbox-gate-managed'),
    listManaged: async () => [...table.values()],
    setActive,
    update: async () => ({ outcome: 'absent' }),
  };
}

describe('createDeprovisioner', () => {
  it('sets the managed user inactive, ends every session, records who did it, one audit line', async () => {
    const store = createMemoryStore();
    const log = recordingLogger();
    const users = fakeUsers(new Map([['bob', user('bob', true)]]));
    const order: string[] = [];
    const dp = createDeprovisioner({ users, store, logger: log, now: () => 1000, sessions: { endUserSessions: async (u) => (order.push(`sessions ${u}`), 2) } });
    const o = await dp.deprovision('bob', { trigger: 'scim', detail: 'PATCH active=false', actor: 'entra' });
    assert.deepEqual(o, { result: 'deactivated', sessionsEnded: 2 });
    assert.deepEqual([...users.calls, ...order], ['setActive bob false', 'sessions bob']);
    assert.deepEqual(await store.get(deprovisionedKey('bob')), { trigger: 'scim', detail: 'PATCH active=false', at: 1000 });
    const lines = log.records.filter((r) => r.obj['audit']);
    assert.equal(lines.length, 1);
    assert.deepEqual(lines[0]!.obj, { audit: 'deprovision', user: 'bob', trigger: 'scim', detail: 'PATCH active=false', actor: 'entra', result: 'deactivated', sessionsEnded: 2 });
    // Again: nothing changes, nothing is logged.
    const dp2 = createDeprovisioner({ users, store, logger: log, sessions: { endUserSessions: async () => 0 } });
    assert.equal((await dp2.deprovision('bob', { trigger: 'sync', detail: 'x' })).result, 'already_inactive');
    assert.equal(log.records.filter((r) => r.obj['audit']).length, 1);
    await store.close();
  });

  it('a NetBox failure is result "failed" at error level, and the sessions still end', async () => {
    const store = createMemoryStore();
    const log = recordingLogger();
    let ended = 0;
    const dp = createDeprovisioner({ users: fakeUsers(new Map([['bob', user('bob', true)]]), { fail: true }), store, logger: log, sessions: { endUserSessions: async () => ++ended } });
    const o = await dp.deprovision('bob', { trigger: 'refresh', detail: 'demo: refresh rejected' });
    assert.equal(o.result, 'failed');
    assert.match(o.error ?? '', /NetBox answered 503/);
    assert.equal(ended, 1);
    const line = log.records.find((r) => r.obj['audit'] === 'deprovision');
    assert.equal(line?.level, 'error');
    assert.equal(await store.get(deprovisionedKey('bob')), undefined);
    await store.close();
  });

  it('an unmanaged user is never edited: skipped with an audit line; reactivation skips it too', async () => {
    const store = createMemoryStore();
    const log = recordingLogger();
    const users = fakeUsers(new Map([['admin', user('admin', true, false)]]));
    const dp = createDeprovisioner({ users, store, logger: log, sessions: { endUserSessions: async () => 0 } });
    assert.equal((await dp.deprovision('admin', { trigger: 'cli', detail: 'x' })).result, 'unmanaged');
    assert.equal((await dp.reactivate('admin', { trigger: 'cli', detail: 'x' })).result, 'unmanaged');
    assert.deepEqual(users.calls, ['setActive admin false']); // refused inside setActive, before any write
    assert.match(log.records[0]!.msg ?? '', /deprovision skipped: NetBox user admin is not managed by netbox-gate \(never edited\)/);
    await store.close();
  });

  it('reactivate: only an inactive managed user is written; quiet at sign-in when nothing changes', async () => {
    const store = createMemoryStore();
    const log = recordingLogger();
    const users = fakeUsers(new Map([['bob', user('bob', false)], ['alice', user('alice', true)]]));
    const dp = createDeprovisioner({ users, store, logger: log, sessions: { endUserSessions: async () => 0 } });
    await store.set(deprovisionedKey('bob'), { trigger: 'sync', detail: 'x', at: 0 }, 60_000);
    assert.equal((await dp.reactivate('alice', { trigger: 'sign_in', detail: 'x' }, { quiet: true })).result, 'already_active');
    assert.equal((await dp.reactivate('carol', { trigger: 'sign_in', detail: 'x' }, { quiet: true })).result, 'absent');
    assert.equal(log.records.length, 0);
    assert.equal((await dp.reactivate('bob', { trigger: 'sign_in', detail: 'allowed sign-in through demo' }, { quiet: true })).result, 'reactivated');
    assert.deepEqual(users.calls, ['setActive bob true']);
    assert.equal(await store.get(deprovisionedKey('bob')), undefined);
    assert.equal(log.records.length, 1);
    await store.close();
  });

  it('refuses an empty user name as a programmer error', async () => {
    const store = createMemoryStore();
    const dp = createDeprovisioner({ users: fakeUsers(new Map()), store, logger: recordingLogger(), sessions: { endUserSessions: async () => 0 } });
    await assert.rejects(dp.deprovision('', { trigger: 'cli', detail: 'x' }), TypeError);
    await store.close();
  });
});

describe('directory sync', () => {
  it('runs once per interval across replicas sharing a store (the lock), and not at all without netbox.api', async () => {
    // A NetBox that lists no managed users, on loopback.
    let lists = 0;
    const nb = http.createServer((req, res) => {
      lists++;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ count: 0, next: null, previous: null, results: [] }));
    });
    await new Promise<void>((r) => nb.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(nb.address() as AddressInfo).port}`;
    const text = (api: boolean) => `server:\n  publicUrl: https://netbox.example.org\nnetbox:\n  url: ${url}\n${api ? '  api: { token: nbt_abc.def }\n' : ''}sources:\n  - { kind: radius, id: aaa, servers: [127.0.0.1], secret: s }\npolicy:\n  rules: [{ name: all }]\nlifecycle:\n  sync: { interval: 1h }\n`;
    const store = createMemoryStore();
    try {
      const cfg = parseConfigText(text(true), 'gate.yaml', {});
      const dp = createDeprovisioner({ users: fakeUsers(new Map()), store, logger: recordingLogger(), sessions: { endUserSessions: async () => 0 } });
      const replica = () => createDirectorySync({ store, logger: recordingLogger(), config: () => cfg, sources: () => new Map(), deprovisioner: () => dp });
      const [a, b] = await Promise.all([replica().runOnce(), replica().runOnce()]);
      assert.deepEqual([a.ran, b.ran].sort(), [false, true]);
      assert.equal(lists, 1);
      assert.equal((await replica().runOnce()).ran, false, 'the lock lasts the interval');
      const off = parseConfigText(text(false), 'gate.yaml', {});
      const none = createDirectorySync({ store: createMemoryStore(), logger: recordingLogger(), config: () => off, sources: () => new Map(), deprovisioner: () => undefined });
      assert.equal((await none.runOnce()).ran, false);
      assert.equal(lists, 1);
    } finally {
      await store.close();
      await new Promise((r) => nb.close(r));
    }
  });
});
