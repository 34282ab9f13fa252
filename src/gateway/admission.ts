// One admission step for every flow (password form, redirect callback, trusted proxy, refresh,
// config reload): the policy decides, the gateway adds its own header-safety refusal, and the
// result is audited once. The policy's own decision is never mutated.
import { auditDecision } from '../audit/audit.js';
import { headerSafe } from '../netbox/headers.js';
import { decide, decisionFingerprint } from '../policy/evaluate.js';
import type { Decision, Identity, Logger } from '../types.js';
import type { GatewayLifecycle } from '../lifecycle/gateway.js';
import type { Runtime } from './runtime.js';

export type AdmissionEvent = 'sign_in' | 'refresh' | 'policy_reload';

export interface AdmissionOptions {
  clientIp?: string;
  /** 'if-changed': audit only when the outcome differs from `previous` (a reload re-decides every session). */
  audit?: 'always' | 'never' | 'if-changed';
  previous?: Decision;
}

export function admit(rt: Runtime, logger: Logger, event: AdmissionEvent, identity: Identity, o: AdmissionOptions = {}): Decision {
  let d = decide(rt.cfg.policy, identity);
  if (d.allowed && headerSafe(d.username) === undefined) {
    // NetBox receives the user name in a header: a name that cannot travel intact must not
    // become some other NetBox user.
    d = {
      ...d,
      allowed: false,
      groups: [],
      superuser: false,
      staff: false,
      reasonCode: 'unsafe_username',
      reason: 'the user name cannot be carried in an HTTP header (characters beyond Latin-1)',
    };
  }
  const mode = o.audit ?? 'always';
  const changed = !o.previous || o.previous.allowed !== d.allowed || decisionFingerprint(o.previous) !== decisionFingerprint(d);
  if (mode === 'always' || (mode === 'if-changed' && changed)) recordAdmission(rt, logger, event, identity, d, o.clientIp);
  return d;
}

/** The audit line and metrics of one admission (admit does it unless told not to). */
export function recordAdmission(rt: Runtime, logger: Logger, event: AdmissionEvent, identity: Identity, d: Decision, clientIp?: string): void {
  const reason = d.allowed ? '' : (d.reasonCode ?? 'denied');
  rt.metrics?.decision({ event, allowed: d.allowed, reason });
  if (event === 'sign_in') rt.metrics?.signIn({ source: identity.sourceId, result: d.allowed ? 'allowed' : 'denied', reason });
  const extra: { clientIp?: string; sourceGroups?: string[] } = { sourceGroups: identity.groups };
  if (clientIp) extra.clientIp = clientIp;
  auditDecision(logger, event, d, extra);
}

/**
 * A sign-in the policy allows, after the lifecycle's look at it (lifecycle/gateway.ts
 * signedIn, which also reactivates a deprovisioned NetBox user): refused when the identity
 * provider deactivated the user through SCIM. Audited once, with the outcome that holds.
 */
export async function admitSignIn(rt: Runtime, logger: Logger, identity: Identity, clientIp: string, lifecycle: GatewayLifecycle | undefined): Promise<Decision> {
  let d = admit(rt, logger, 'sign_in', identity, { clientIp, audit: 'never' });
  if (d.allowed && lifecycle && (await lifecycle.signedIn(d, identity)) === 'deactivated') {
    d = { ...d, allowed: false, groups: [], superuser: false, staff: false, reasonCode: 'deactivated_at_source', reason: 'the identity provider deactivated this account (SCIM)' };
  }
  recordAdmission(rt, logger, 'sign_in', identity, d, clientIp);
  return d;
}
