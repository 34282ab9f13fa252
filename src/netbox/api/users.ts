// The NetBox users the gateway manages, and the only calls that change users. A user is managed
// when it is in netbox.managedGroup, which the gateway adds to every groups header it sends, so
// NetBox's own group sync records (durably, in NetBox, visible to an operator) who arrived through
// the gateway. Every change re-reads the user and refuses one outside that group: local admins
// and service accounts are never touched.
import { randomBytes } from 'node:crypto';
import { GateError } from '../../errors.js';
import type { NetboxClient } from './client.js';
import type { ObjectRef } from './errors.js';

export interface NetboxUser {
  id: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  is_active: boolean;
  groups: Array<{ id: number; name: string }>;
}

export interface UserChanges {
  is_active?: boolean;
  email?: string;
  first_name?: string;
  last_name?: string;
  /** NetBox group names; the managed marker is always kept. Each must exist in NetBox. */
  groups?: string[];
}

export type ChangeOutcome = { outcome: 'absent' } | { outcome: 'unchanged'; user: NetboxUser } | { outcome: 'changed'; user: NetboxUser };

export interface ManagedUsers {
  readonly managedGroup: string;
  find(username: string): Promise<NetboxUser | undefined>;
  isManaged(user: Pick<NetboxUser, 'groups'>): boolean;
  /** Every user in the managed group (directory sync compares them with the directory). */
  listManaged(): Promise<NetboxUser[]>;
  /**
   * Sets is_active. NetBox then refuses the user's API tokens ("User inactive") and remote-auth
   * logins. `absent` when NetBox has no such user; ERR_NETBOX_UNMANAGED for one not managed.
   */
  setActive(username: string, active: boolean): Promise<ChangeOutcome>;
  /** Changes profile fields, groups or is_active of a managed user (only what differs). */
  update(username: string, changes: UserChanges): Promise<ChangeOutcome>;
}

const USERS = '/api/users/users/';
const ref = (username: string): ObjectRef => ({ type: 'users.User', name: username });

export function managedUsers(client: NetboxClient, o: { managedGroup: string }): ManagedUsers {
  const isManaged = (u: Pick<NetboxUser, 'groups'>) => u.groups.some((g) => g.name === o.managedGroup);

  const find = async (username: string): Promise<NetboxUser | undefined> => {
    // The username filter is exact (case-sensitive), as NetBox's login is.
    const found = await client.list<NetboxUser>(USERS, { username }, ref(username));
    return found.find((u) => u.username === username);
  };

  const groupIds = async (names: string[]): Promise<number[]> => {
    const wanted = [...new Set([...names, o.managedGroup])];
    const found = await client.list<{ id: number; name: string }>('/api/users/groups/', { name: wanted }, { type: 'users.Group' });
    const byName = new Map(found.map((g) => [g.name, g.id]));
    const missing = wanted.filter((n) => !byName.has(n));
    if (missing.length > 0) {
      throw new GateError('ERR_NETBOX_API', `NetBox has no group ${missing.map((n) => JSON.stringify(n)).join(', ')} (create it, or declare it in netboxObjects and run netbox-gate netbox apply)`, {
        detail: { missingGroups: missing },
      });
    }
    return wanted.map((n) => byName.get(n)!);
  };

  const update = async (username: string, changes: UserChanges): Promise<ChangeOutcome> => {
    const user = await find(username);
    if (!user) return { outcome: 'absent' };
    if (!isManaged(user)) {
      throw new GateError('ERR_NETBOX_UNMANAGED', `users.User ${JSON.stringify(username)} is not managed by netbox-gate (not in group ${JSON.stringify(o.managedGroup)}): the gateway never changes it`, {
        detail: { object: `users.User ${JSON.stringify(username)}`, managedGroup: o.managedGroup },
      });
    }
    const patch: Record<string, unknown> = {};
    for (const k of ['is_active', 'email', 'first_name', 'last_name'] as const) {
      if (changes[k] !== undefined && changes[k] !== user[k]) patch[k] = changes[k];
    }
    if (changes.groups) {
      const want = new Set([...changes.groups, o.managedGroup]);
      const have = new Set(user.groups.map((g) => g.name));
      if (want.size !== have.size || [...want].some((g) => !have.has(g))) patch.groups = await groupIds([...want]);
    }
    if (Object.keys(patch).length === 0) return { outcome: 'unchanged', user };
    const path = `${USERS}${user.id}/`;
    try {
      return { outcome: 'changed', user: await client.request<NetboxUser>('PATCH', path, { body: patch, object: ref(username) }) };
    } catch (err) {
      if (!isBlankPasswordError(err)) throw err;
      // NetBox 4.7 runs full_clean() on the whole user for every PATCH, and a user that
      // remote auth created has an empty password, which full_clean() refuses
      // (docs/netbox-facts.md). The API cannot set an unusable password, so the gateway sets a
      // random one that it never keeps: as unusable as Django's own "!" marker in practice.
      patch.password = unusablePassword();
      return { outcome: 'changed', user: await client.request<NetboxUser>('PATCH', path, { body: patch, object: ref(username) }) };
    }
  };

  return {
    managedGroup: o.managedGroup,
    find,
    isManaged,
    listManaged: () => client.list<NetboxUser>(USERS, { group: o.managedGroup }, { type: 'users.User' }),
    setActive: (username, active) => update(username, { is_active: active }),
    update,
  };
}

function isBlankPasswordError(err: unknown): boolean {
  if (!(err instanceof GateError) || err.code !== 'ERR_NETBOX_API' || err.detail.status !== 400) return false;
  const fields = err.detail.fields as Record<string, string[]> | undefined;
  return Object.keys(fields ?? {}).length === 1 && (fields?.password ?? []).some((m) => /blank/i.test(m));
}

/**
 * 48 random bytes as base64url plus a fixed "Aa1" so NetBox's default validators (12+ characters,
 * a digit, an upper- and a lower-case letter) accept it. Nobody ever learns it.
 */
function unusablePassword(): string {
  return `${randomBytes(48).toString('base64url')}Aa1`;
}
