// SCIM Users and Groups in the gateway's KeyValueStore (memory, or the shared Redis store, where
// they survive restarts and every replica sees them). Values are the writable fields plus ids,
// timestamps and a version for ETags; name keys keep userName and displayName unique.
import { createHash, randomUUID } from 'node:crypto';
import type { KeyValueStore } from '../store/store.js';
import { ScimError } from './errors.js';
import type { GroupFields, UserFields } from './resource.js';

export interface Stored<F> {
  id: string;
  fields: F;
  created: string;
  lastModified: string;
  version: number;
  /** False between a change and the lifecycle call that carries it to NetBox: a retry redoes it. */
  synced: boolean;
  /** Creation order for stable list pages: milliseconds × 1000 + a per-process counter. */
  order: number;
}
export type StoredUser = Stored<UserFields>;
export type StoredGroup = Stored<GroupFields>;

/** Kept "forever": the store needs a lifetime, and provisioning state has none. */
const KEEP_MS = 100 * 365 * 24 * 3600 * 1000;
const LOCK_MS = 15_000;

export type Kind = 'user' | 'group';

export function scimState(store: KeyValueStore, now: () => number = Date.now) {
  const key = (k: Kind, id: string) => `scim:${k}:${id}`;
  // Key names are not encrypted (values are): a digest keeps user and group names out of them.
  const nameKey = (k: Kind, name: string) => `scim:${k}name:${createHash('sha256').update(name.toLowerCase()).digest('base64url')}`;
  const index = (k: Kind) => `scim:${k}s`;

  const get = <F>(k: Kind, id: string) => store.get<Stored<F>>(key(k, id));
  const idByName = (k: Kind, name: string) => store.get<string>(nameKey(k, name));

  async function all<F>(k: Kind): Promise<Stored<F>[]> {
    const ids = await store.indexMembers(index(k));
    const found = await Promise.all(ids.map((id) => get<F>(k, id)));
    return found.filter((x): x is Stored<F> => x !== undefined).sort((a, b) => a.order - b.order || (a.id < b.id ? -1 : 1));
  }

  async function put<F>(k: Kind, r: Stored<F>, name: string, previousName?: string): Promise<void> {
    if (previousName !== undefined && previousName.toLowerCase() !== name.toLowerCase()) await store.delete(nameKey(k, previousName));
    await store.set(nameKey(k, name), r.id, KEEP_MS);
    await store.set(key(k, r.id), r, KEEP_MS);
    await store.addToIndex(index(k), r.id, KEEP_MS);
  }

  async function remove(k: Kind, id: string, name: string): Promise<void> {
    await store.delete(key(k, id));
    if ((await idByName(k, name)) === id) await store.delete(nameKey(k, name));
    await store.removeFromIndex(index(k), id);
  }

  let counter = 0;
  /** A new record; the caller has checked uniqueness under the lock. */
  function fresh<F>(fields: F): Stored<F> {
    const ms = now();
    const t = new Date(ms).toISOString();
    return { id: randomUUID(), fields, created: t, lastModified: t, version: 1, synced: false, order: ms * 1000 + (counter++ % 1000) };
  }

  function next<F>(r: Stored<F>, fields: F): Stored<F> {
    return { ...r, fields, lastModified: new Date(now()).toISOString(), version: r.version + 1, synced: false };
  }

  /**
   * Every write runs under one store lock, so two replicas (or two requests) never interleave
   * a group change with a user change. Bounded wait; past it the client gets 503 and retries.
   */
  async function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; i < 300; i++) {
      const lock = await store.tryLock('scim:lock', LOCK_MS);
      if (lock) {
        try {
          return await fn();
        } finally {
          await lock.release();
        }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new ScimError(503, 'another SCIM change is still in progress; retry');
  }

  /** Records whether the user's last change has reached NetBox (false: a retry redoes it). */
  async function setSynced(u: Stored<unknown>, synced: boolean): Promise<void> {
    await store.update(key('user', u.id), { ...u, synced }, KEEP_MS);
  }

  return { get, idByName, all, put, remove, fresh, next, exclusive, setSynced };
}

export type ScimState = ReturnType<typeof scimState>;

/**
 * What SCIM says about a user name, for sign-in: 'inactive' when the IdP deactivated the user
 * (admission should then refuse rather than reactivate the NetBox user), 'active', or 'unknown'
 * when SCIM has no such user. One store read by a digest key, one by id.
 */
export async function scimUserStatus(store: KeyValueStore, userName: string): Promise<'active' | 'inactive' | 'unknown'> {
  const state = scimState(store);
  const id = await state.idByName('user', userName);
  const u = id ? await state.get<UserFields>('user', id) : undefined;
  if (!u || u.fields.userName.toLowerCase() !== userName.toLowerCase()) return 'unknown';
  return u.fields.active === false ? 'inactive' : 'active';
}
