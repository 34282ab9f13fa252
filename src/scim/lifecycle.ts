// What the SCIM service asks of the rest of the gateway when a user's access changes (carried
// out by the deprovisioner: src/lifecycle/scim.ts), and the `scim` identity it hands the policy.
import type { Identity } from '../types.js';
import { netboxProfile, type UserFields } from './resource.js';

export interface ScimLifecycle {
  /** The user may no longer use NetBox (active false, DELETE, renamed away): deprovision now. */
  deactivate(userName: string, detail: string): Promise<void>;
  /** active went from false to true. */
  activate(userName: string, detail: string): Promise<void>;
  /** Groups or profile changed: decide again with the `scim` identity and bring NetBox in line. */
  groupsChanged(userName: string, identity: Identity): Promise<void>;
}

/** The identity the policy sees for a SCIM user: groups are the displayNames of its SCIM groups. */
export function scimIdentity(sourceId: string, id: string, u: UserFields, groups: string[]): Identity {
  const p = netboxProfile(u);
  return {
    sourceId,
    sourceKind: 'scim',
    subject: id,
    username: u.userName,
    ...p,
    groups: [...new Set(groups)].sort(),
    attributes: { active: u.active !== false, ...(u.externalId ? { externalId: u.externalId } : {}) },
  };
}
