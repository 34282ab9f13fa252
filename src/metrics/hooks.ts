// What the rest of the gateway reports to metrics, as plain interfaces with no run-time imports:
// sources and the gateway call these; src/metrics/registry.ts implements them with prom-client.

/** AAA protocols whose servers the gateway talks to itself (failover, timeouts). */
export type AaaProtocol = 'radius' | 'tacacs' | 'ldap';

/**
 * How one request to one AAA server ended: `answered` (any verified answer, a reject included),
 * `timeout` (no answer in time), `error` (refused, reset, unresolvable, unverifiable reply).
 */
export type AaaOutcome = 'answered' | 'timeout' | 'error';

/** Handed to sources through SourceDeps; every call is optional to make (no-op without metrics). */
export interface SourceMetrics {
  /** One request to one server ended (latency includes retransmits to that server). */
  aaaRequest(e: { source: string; protocol: AaaProtocol; server: string; outcome: AaaOutcome; seconds: number }): void;
  /** A server failed and the source moves on to the next one (or runs out of servers). */
  aaaFailover(e: { source: string; protocol: AaaProtocol; server: string }): void;
  /** Microsoft Graph answered 429 (or 503/504) and the source backs off. */
  graphThrottled(e: { source: string; status: number }): void;
}

/** Why a sign-in attempt did not start a session; `allowed` when it did. */
export type SignInResult = 'allowed' | 'denied' | 'rejected' | 'rate_limited' | 'error';

export interface GatewayMetrics extends SourceMetrics {
  /** One sign-in attempt, by source, result and reason (deny reason code or source error code). */
  signIn(e: { source: string; result: SignInResult; reason: string }): void;
  /** One policy decision (sign-in, refresh, re-decision after a reload). */
  decision(e: { event: string; allowed: boolean; reason: string }): void;
  /** One request proxied to NetBox, timed to its response headers (`status` 0: no answer). */
  netboxRequest(e: { method: string; status: number; seconds: number }): void;
  /** A gateway session ended. */
  sessionEnded(e: { cause: string }): void;
  /** A store operation failed (the store threw). */
  storeError(e: { operation: string }): void;
  /** A SIGHUP reload was applied or refused. */
  configReload(e: { result: 'success' | 'failure' }): void;
}
