// What a fresh decision about a user means for NetBox, without a sign-in: denied → deprovision;
// no longer superuser → deprovision until the next sign-in (the API cannot clear is_superuser);
// otherwise the NetBox groups are set to what the policy gives. Directory sync uses it, and so
// can SCIM (a group change pushed by the IdP, decided on a `scim` identity).
import type { GateConfig } from '../config/load.js';
import type { ManagedUsers, NetboxUser, UserChanges } from '../netbox/api/users.js';
import { hasStaffFlag } from '../netbox/version.js';
import type { Decision, Logger } from '../types.js';
import type { Deprovisioner, LifecycleWhy } from './deprovision.js';

export type AppliedChange = 'deprovisioned' | 'reactivated' | 'groups_changed' | 'groups_failed' | 'unchanged' | 'absent' | 'unmanaged';

/** The NetBox groups a decision gives (without the managed marker), as the headers send them. */
export function netboxGroupsOf(cfg: Pick<GateConfig, 'netbox'>, d: Decision): string[] {
  const g = [...d.groups];
  if (d.superuser) g.push(cfg.netbox.superuserGroup);
  if (d.staff && hasStaffFlag(cfg.netbox.version)) g.push(cfg.netbox.staffGroup);
  return [...new Set(g)];
}

export interface ApplyDeps {
  cfg: Pick<GateConfig, 'netbox'>;
  users: ManagedUsers;
  deprovisioner: Deprovisioner;
  logger: Logger;
}

/**
 * `user`: the NetBox user as just read (or its name: it is read here). `reactivate`: an inactive
 * user the decision allows is set active (SCIM `active: true`; the sync decides per user).
 */
export async function applyDecision(deps: ApplyDeps, user: NetboxUser | string, d: Decision, why: LifecycleWhy, o: { reactivate?: boolean } = {}): Promise<AppliedChange[]> {
  const { cfg, users, deprovisioner: dp, logger } = deps;
  const u = typeof user === 'string' ? await users.find(user) : user;
  if (!u) return ['absent'];
  if (!users.isManaged(u)) return ['unmanaged'];
  const name = u.username;
  const deprovision = async (detail: string): Promise<AppliedChange[]> => {
    if (!u.is_active) return ['unchanged']; // done already; nothing to say again
    const r = await dp.deprovision(name, { ...why, detail: `${why.detail}: ${detail}` });
    return [r.result === 'deactivated' ? 'deprovisioned' : 'unchanged'];
  };
  if (!d.allowed || d.username !== name) return deprovision(`the policy now denies the user (${d.reasonCode ?? (d.allowed ? 'maps to another NetBox user' : 'denied')})`);
  const have = new Set(u.groups.map((g) => g.name).filter((g) => g !== users.managedGroup));
  // NetBox's user serializer has no is_superuser: the gateway cannot clear it. Deactivated
  // until the next sign-in, which reactivates and makes NetBox recompute it from the headers.
  if (!d.superuser && have.has(cfg.netbox.superuserGroup)) return deprovision('no longer a superuser; deactivated until the next sign-in because the API cannot clear is_superuser');
  const out: AppliedChange[] = [];
  if (!u.is_active && o.reactivate) {
    const r = await dp.reactivate(name, why);
    if (r.result === 'reactivated') out.push('reactivated');
  }
  const want = netboxGroupsOf(cfg, d);
  // Profile fields the source gives travel too (NetBox otherwise updates them only at a sign-in).
  const profile: UserChanges = {};
  if (d.email && d.email !== u.email) profile.email = d.email;
  if (d.firstName && d.firstName !== u.first_name) profile.first_name = d.firstName;
  if (d.lastName && d.lastName !== u.last_name) profile.last_name = d.lastName;
  const groupsDiffer = want.length !== have.size || want.some((g) => !have.has(g));
  if (groupsDiffer || Object.keys(profile).length > 0) {
    try {
      const r = await users.update(name, { ...profile, ...(groupsDiffer ? { groups: want } : {}) });
      if (r.outcome === 'changed') {
        out.push('groups_changed');
        logger.info(
          { audit: 'groups_sync', user: name, trigger: why.trigger, detail: why.detail, ...(why.actor ? { actor: why.actor } : {}), from: [...have], to: want, profile: Object.keys(profile), result: 'changed' },
          `groups${Object.keys(profile).length ? ' and profile' : ''} of ${name} changed (${why.trigger})`,
        );
      }
    } catch (err) {
      out.push('groups_failed');
      logger.error({ audit: 'groups_sync', user: name, trigger: why.trigger, detail: why.detail, to: want, result: 'failed', err: (err as Error).message }, `groups of ${name} could not be changed`);
    }
  }
  return out.length ? out : ['unchanged'];
}
