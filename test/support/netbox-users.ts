// Reads a NetBox user as admin. NetBox 4.7's user serializer has no is_superuser field, so it
// is read through the list filter (docs/netbox-facts.md).
import assert from 'node:assert/strict';
import type { NetboxInstance } from './netbox.js';

export interface NbUser {
  id: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  is_active: boolean;
  is_superuser: boolean;
  groups: Array<{ id: number; name: string }>;
}

export async function netboxUser(nb: NetboxInstance, username: string): Promise<NbUser | undefined> {
  const q = `/api/users/users/?username=${encodeURIComponent(username)}`;
  const r = await nb.api('GET', q);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const u = (r.body as { results: Array<Omit<NbUser, 'is_superuser'>> }).results[0];
  if (!u) return undefined;
  const su = await nb.api('GET', `${q}&is_superuser=true`);
  return { ...u, is_superuser: (su.body as { count: number }).count === 1 };
}

/** The groups the policy gave: every name but the managed marker (netbox.managedGroup), which every gateway user has. */
export const groupNames = (u: NbUser | undefined): string[] => (u?.groups ?? []).map((g) => g.name).filter((g) => g !== MANAGED_MARKER).sort();

/** netbox.managedGroup's default: NetBox's group sync puts every user who arrives through the gateway in it. */
export const MANAGED_MARKER = 'netbox-gate-managed';
