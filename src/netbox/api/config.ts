// The REST client and the gateway's own groups as the config describes them, built in one place
// for `serve`, `netbox plan|apply` and `check --netbox`.
import type { GateConfig } from '../../config/load.js';
import type { Logger } from '../../types.js';
import type { GatewayGroup } from '../objects/plan.js';
import { hasStaffFlag } from '../version.js';
import { createNetboxClient, type NetboxClient, type NetboxClientOptions } from './client.js';

/** undefined when the config has no `netbox.api`. */
export function netboxClientFromConfig(cfg: Pick<GateConfig, 'netbox'>, o: { logger?: Logger } & Partial<NetboxClientOptions> = {}): NetboxClient | undefined {
  const api = cfg.netbox.api;
  if (!api) return undefined;
  return createNetboxClient({ ...o, url: api.url ?? cfg.netbox.url, token: api.token, timeoutMs: api.timeout });
}

/**
 * Groups the gateway sends on its own: the managed marker always, the superuser group (and the
 * staff group before NetBox 4.5). With netbox.createGroups false they must exist in NetBox.
 */
export function gatewayGroups(cfg: Pick<GateConfig, 'netbox'>): GatewayGroup[] {
  const nb = cfg.netbox;
  const out: GatewayGroup[] = [
    { name: nb.managedGroup, description: 'Every NetBox user that signed in through netbox-gate (the gateway manages only these)', path: ['netbox', 'managedGroup'] },
    { name: nb.superuserGroup, description: 'Superusers (REMOTE_AUTH_SUPERUSER_GROUPS), given by the netbox-gate policy', path: ['netbox', 'superuserGroup'] },
  ];
  if (hasStaffFlag(nb.version)) out.push({ name: nb.staffGroup, description: 'Staff (REMOTE_AUTH_STAFF_GROUPS), given by the netbox-gate policy', path: ['netbox', 'staffGroup'] });
  return out;
}
