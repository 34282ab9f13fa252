// What every part of the request pipeline shares: the current runtime (swapped on reload),
// the session store and manager, the logger, the clock, and the sealer for browser-held state.
import type { GatewayLifecycle } from '../lifecycle/gateway.js';
import type { KeyValueStore } from '../store/store.js';
import type { Logger } from '../types.js';
import type { Runtime } from './runtime.js';
import type { Sealer } from './seal.js';
import type { SessionManager } from './sessions.js';

export interface GatewayContext {
  rt(): Runtime;
  store: KeyValueStore;
  logger: Logger;
  now(): number;
  sessions: SessionManager;
  sealer: Sealer;
  /** Deprovisioning and reactivation at sign-in (src/lifecycle/); inert without netbox.api. */
  lifecycle?: GatewayLifecycle;
}

/** Names of the gateway's own cookies, derived from sessions.cookieName. */
export function gatewayCookieNames(cookieName: string) {
  return { session: cookieName, csrf: `${cookieName}_csrf`, pending: `${cookieName}_pending`, notice: `${cookieName}_notice` };
}
