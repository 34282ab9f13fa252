// What the SCIM service asks of the rest of the gateway when a user's access changes, and the
// `scim` identity it hands the policy. netboxScimLifecycle is the plain NetBox-API version (used
// by serve until the deprovisioner, which also ends gateway sessions, is wired in its place).
import { GateError } from '../errors.js';
import type { NetboxClient } from '../netbox/api/client.js';
import { managedUsers, type ManagedUsers } from '../netbox/api/users.js';
import type { CompiledPolicy } from '../policy/compile.js';
import { decide } from '../policy/evaluate.js';
import type { Identity, Logger } from '../types.js';
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

export interface NetboxScimLifecycleOptions {
  client: NetboxClient;
  managedGroup: string;
  superuserGroup: string;
  policy: () => CompiledPolicy;
  logger: Logger;
}

/**
 * Changes only managed NetBox users (ManagedUsers refuses others) and only ones that exist: a
 * SCIM user who never signed in has no NetBox user yet; NetBox creates it at the first sign-in
 * from the headers. NetBox's REST API cannot set is_superuser, so the superuser group reaches
 * NetBox's group list here but the flag itself follows at the user's next NetBox sign-in.
 */
export function netboxScimLifecycle(o: NetboxScimLifecycleOptions): ScimLifecycle & { users: ManagedUsers } {
  const users = managedUsers(o.client, { managedGroup: o.managedGroup });
  const log = o.logger.child({ component: 'scim' });
  /**
   * A NetBox user the gateway does not manage (a local admin, a service account) with the same
   * name as a SCIM user is left alone, and said so: not an error the client should retry.
   */
  const unlessUnmanaged = async <T>(userName: string, fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof GateError && err.code === 'ERR_NETBOX_UNMANAGED')) throw err;
      log.warn({ event: 'scim_unmanaged', user: userName }, 'SCIM: NetBox user not managed by netbox-gate: left alone');
      return undefined;
    }
  };
  const setActive = async (userName: string, active: boolean, detail: string) => {
    const r = await unlessUnmanaged(userName, () => users.setActive(userName, active));
    if (!r) return;
    log.info({ event: active ? 'scim_activate' : 'scim_deactivate', user: userName, why: detail, result: r.outcome }, active ? 'SCIM: NetBox user activated' : 'SCIM: NetBox user deactivated');
  };
  return {
    users,
    deactivate: (userName, detail) => setActive(userName, false, detail),
    activate: (userName, detail) => setActive(userName, true, detail),
    async groupsChanged(userName, identity) {
      const d = decide(o.policy(), identity);
      if (!d.allowed) {
        const r = await unlessUnmanaged(userName, () => users.setActive(userName, false));
        if (!r) return;
        log.info({ event: 'scim_deactivate', user: userName, why: `policy: ${d.reason ?? d.reasonCode}`, result: r.outcome }, 'SCIM: the policy now denies the user');
        return;
      }
      const groups = d.superuser ? [...d.groups, o.superuserGroup] : d.groups;
      const r = await unlessUnmanaged(userName, () =>
        users.update(userName, {
          // Active in SCIM and allowed by the policy: as an allowed sign-in would, this reactivates
          // a user the policy had denied before.
          is_active: true,
          groups,
          ...(d.email ? { email: d.email } : {}),
          ...(d.firstName ? { first_name: d.firstName } : {}),
          ...(d.lastName ? { last_name: d.lastName } : {}),
        }),
      );
      if (!r) return;
      log.info({ event: 'scim_groups', user: userName, groups, result: r.outcome }, 'SCIM: NetBox groups brought in line with the policy');
    },
  };
}
