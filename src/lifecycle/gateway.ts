// The gateway's side of the lifecycle, built once per gateway: at an allowed sign-in the user's
// source is recorded and an inactive managed NetBox user is reactivated before NetBox sees the
// headers; when a session learns the user may no longer use NetBox, the user is deprovisioned.
// Everything here needs netbox.api; without it these hooks do nothing.
import type { GateConfig } from '../config/load.js';
import { netboxClientFromConfig } from '../netbox/api/config.js';
import { managedUsers, type ManagedUsers } from '../netbox/api/users.js';
import type { NetboxClient } from '../netbox/api/client.js';
import type { KeyValueStore } from '../store/store.js';
import type { Decision, Identity, Logger } from '../types.js';
import { createDeprovisioner, type Deprovisioner, type LifecycleWhy, type UserSessionEnder } from './deprovision.js';
import { applyDecision, type AppliedChange } from './apply.js';
import { recordSignIn } from './records.js';
import { scimUserStatus } from '../scim/state.js';

export interface GatewayLifecycle {
  /** The deprovisioner of the current config; undefined without netbox.api. */
  deprovisioner(): Deprovisioner | undefined;
  /**
   * A new decision about a user reached without a sign-in (SCIM group change): denied →
   * deprovision; lost superuser → deprovision until the next sign-in; else NetBox groups set
   * through the API (`reactivate`: an inactive user is set active too). [] without netbox.api.
   */
  applyDecision(username: string, d: Decision, why: LifecycleWhy, o?: { reactivate?: boolean }): Promise<AppliedChange[]>;
  /**
   * An allowed sign-in, awaited before the session starts (so before NetBox sees the headers).
   * 'deactivated' when the identity provider deactivated the user through SCIM: the sign-in is
   * then refused, not the NetBox user reactivated.
   */
  signedIn(d: Decision, identity: Identity): Promise<'deactivated' | undefined>;
  /** A session learned the user may no longer use NetBox; runs in the background. */
  revoked(username: string, why: LifecycleWhy): void;
  close(): Promise<void>;
}

export interface GatewayLifecycleDeps {
  store: KeyValueStore;
  logger: Logger;
  now: () => number;
  /** The current config (it changes on reload). */
  config: () => GateConfig;
  sessions: UserSessionEnder;
}

export function createGatewayLifecycle(deps: GatewayLifecycleDeps): GatewayLifecycle {
  const { store, logger, now } = deps;
  // Rebuilt only when netbox.api changes (a reload that changes something else keeps it).
  let built: { key: string; client: NetboxClient; users: ManagedUsers; deprov: Deprovisioner } | undefined;
  const pending = new Set<Promise<unknown>>();

  const deprovisioner = (): Deprovisioner | undefined => {
    const cfg = deps.config();
    if (!cfg.netbox.api) return undefined;
    const key = JSON.stringify([cfg.netbox.api, cfg.netbox.url, cfg.netbox.managedGroup]);
    if (built?.key !== key) {
      const old = built;
      // One retry: a sign-in waits for reactivation, so NetBox being away must not hold it for
      // the client's full backoff (the sign-in goes on; NetBox refuses an inactive user itself).
      const client = netboxClientFromConfig(cfg, { logger, retries: 1 })!;
      const users = managedUsers(client, { managedGroup: cfg.netbox.managedGroup });
      built = { key, client, users, deprov: createDeprovisioner({ users, store, sessions: deps.sessions, logger, now }) };
      if (old) void old.client.close();
    }
    return built.deprov;
  };

  return {
    deprovisioner,
    async applyDecision(username, d, why, o = {}) {
      const dp = deprovisioner();
      if (!dp || !built) return [];
      return applyDecision({ cfg: deps.config(), users: built.users, deprovisioner: dp, logger }, username, d, why, o);
    },
    async signedIn(d, identity) {
      const dp = deprovisioner();
      if (!dp) return undefined;
      try {
        const oid = identity.attributes['oid'];
        await recordSignIn(store, d.username, { source: identity.sourceId, kind: identity.sourceKind, sourceUser: identity.username, lastSignInAt: now(), ...(typeof oid === 'string' ? { oid } : {}) });
      } catch (err) {
        logger.warn({ user: d.username, err: (err as Error).message }, 'could not record the sign-in for directory sync');
      }
      // A sign-in must not undo a deactivation the IdP pushed through SCIM (docs/scim.md).
      if ((await scimUserStatus(store, d.username).catch(() => 'unknown')) === 'inactive') {
        logger.warn({ audit: 'reactivate', user: d.username, trigger: 'sign_in', detail: 'deactivated through SCIM', result: 'skipped' }, `reactivate ${d.username}: skipped, SCIM says the user is inactive`);
        return 'deactivated';
      }
      // A failure is logged (audit line, result failed) and the sign-in goes on: NetBox then
      // refuses an inactive user itself and the gateway shows "your NetBox account is disabled".
      await dp.reactivate(d.username, { trigger: 'sign_in', detail: `allowed sign-in through ${identity.sourceId}` }, { quiet: true });
      return undefined;
    },
    revoked(username, why) {
      const dp = deprovisioner();
      if (!dp) return;
      const p = dp
        .deprovision(username, why)
        .catch((err: unknown) => logger.error({ user: username, err: (err as Error).message }, 'deprovisioning failed'))
        .finally(() => pending.delete(p));
      pending.add(p);
    },
    async close() {
      await Promise.allSettled([...pending]);
      await built?.client.close();
    },
  };
}
