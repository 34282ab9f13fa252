// What the gateway remembers per NetBox user for the lifecycle, in the shared store: which
// source the user last signed in with (NetBox cannot say: its groups are the policy's output),
// when, and who deprovisioned the user (so sync never undoes an administrator's or SCIM's act).
import type { KeyValueStore } from '../store/store.js';
import type { IdentityKind } from '../types.js';

/** Written at every allowed sign-in. */
export interface UserSourceRecord {
  /** The source id (config) and its kind. */
  source: string;
  kind: IdentityKind;
  /** The name the source knows (the policy may map it to another NetBox user name). */
  sourceUser: string;
  lastSignInAt: number;
  /** Entra ID's object id, when the sign-in carried one (the sync looks such users up by it). */
  oid?: string;
}

/** Written when the gateway deactivates a user; removed when it reactivates one. */
export interface DeprovisionRecord {
  trigger: string;
  detail: string;
  at: number;
}

export const userSourceKey = (username: string) => `user-source:${username}`;
export const deprovisionedKey = (username: string) => `deprovisioned:${username}`;
/** One sync at a time across replicas. */
export const SYNC_LOCK_KEY = 'lock:lifecycle-sync';

/** Long enough to outlive any sensible radiusInactivity; refreshed by every sign-in. */
export const RECORD_TTL = 400 * 24 * 3600_000;

export function recordSignIn(store: KeyValueStore, username: string, r: UserSourceRecord): Promise<void> {
  return store.set(userSourceKey(username), r, RECORD_TTL);
}

export function readUserSource(store: KeyValueStore, username: string): Promise<UserSourceRecord | undefined> {
  return store.get<UserSourceRecord>(userSourceKey(username));
}
