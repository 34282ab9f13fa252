// The SCIM service's lifecycle calls (src/scim/lifecycle.ts ScimLifecycle) carried by the
// gateway's deprovisioner: a SCIM deactivation also ends the user's gateway sessions on every
// replica, and every action is the same audit line as any other trigger. A NetBox failure
// throws, so the SCIM service answers 503 and the client retries (the record stays unsynced).
import { GateError } from '../errors.js';
import type { GateConfig } from '../config/load.js';
import { decide } from '../policy/evaluate.js';
import type { ScimLifecycle } from '../scim/lifecycle.js';
import type { GatewayLifecycle } from './gateway.js';
import type { LifecycleOutcome } from './deprovision.js';

export function scimLifecycleFromGateway(gl: GatewayLifecycle, config: () => Pick<GateConfig, 'policy'>): ScimLifecycle {
  const dp = () => {
    const d = gl.deprovisioner();
    // scim.enabled requires netbox.api (config validation), so this is a reload race at most.
    if (!d) throw new GateError('ERR_NETBOX_API', 'netbox.api is not configured: SCIM changes cannot reach NetBox');
    return d;
  };
  const check = (userName: string, o: LifecycleOutcome) => {
    if (o.result === 'failed') throw new GateError('ERR_NETBOX_API', `NetBox user ${userName}: ${o.error ?? 'the change failed'}`);
  };
  return {
    async deactivate(userName, detail) {
      check(userName, await dp().deprovision(userName, { trigger: 'scim', detail }));
    },
    async activate(userName, detail) {
      check(userName, await dp().reactivate(userName, { trigger: 'scim', detail }));
    },
    async groupsChanged(userName, identity) {
      dp();
      // Active in SCIM and allowed by the policy: as an allowed sign-in would, this reactivates.
      const r = await gl.applyDecision(userName, decide(config().policy, identity), { trigger: 'scim', detail: 'SCIM group or profile change' }, { reactivate: true });
      if (r.includes('groups_failed')) throw new GateError('ERR_NETBOX_API', `NetBox user ${userName}: groups could not be changed (see the groups_sync audit line)`);
    },
  };
}
