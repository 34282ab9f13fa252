// Everything built from one config: sources, compiled policy, header plan, upstream pools.
// Swapped whole on reload, so a request sees one consistent generation. Counters that must
// outlive a generation (sign-in rate limits, token concurrency) are made once per gateway
// (createLimits) and handed to every generation; they read their limits from the current one.
import type { GateConfig } from '../config/load.js';
import { createSource } from '../sources/factory.js';
import type { ProxySource, Source, SourceDeps } from '../sources/source.js';
import type { GatewayMetrics } from '../metrics/hooks.js';
import type { Logger } from '../types.js';
import { compileHeaderPlan, type HeaderPlan } from '../netbox/headers.js';
import { createProxyTarget, type ProxyTarget } from '../netbox/target.js';
import { gatewayCookieNames } from './context.js';
import { createConcurrencyGate, type ConcurrencyGate } from './concurrency.js';
import { createRateLimiter, createSignInLimits, type SharedCounters, type SignInLimits } from './rate-limit.js';
import { createHash } from 'node:crypto';
import type { BlockList } from 'node:net';
import { blockListHas, buildBlockList } from '../config/address.js';

export interface Runtime {
  /** This process's count of configurations (logs, retiring old pools); not shared. */
  generation: number;
  /**
   * The policy a decision is made under, as a digest of its parsed source: the same on every
   * replica with the same policy, whatever each one's count of reloads, so a session used
   * through several replicas is decided again only when the policy really differs.
   */
  policyVersion: string;
  cfg: GateConfig;
  sources: Map<string, Source>;
  /** The sources that identify users from a trusted proxy's headers, asked on every request. */
  proxySources: readonly ProxySource[];
  headers: HeaderPlan;
  target: ProxyTarget;
  publicUrl: URL;
  secureCookies: boolean;
  trustedProxies: BlockList;
  /** The password form's limits (per address and per user name; shared across replicas on Redis). */
  signInLimits: SignInLimits;
  /** API-token requests in flight, per client and overall (see concurrency.ts). */
  tokenGate: ConcurrencyGate;
  /** Cookie names that are never forwarded to NetBox (the gateway's own, NetBox's session). */
  dropCookies: ReadonlySet<string>;
  /** The process's metrics (the same object across reloads); absent when metrics are off. */
  metrics?: GatewayMetrics;
}

let generations = 0;

export interface RuntimeDeps {
  fetch?: typeof fetch;
  now?: () => number;
  /** Tests: build some sources themselves (a scripted source); undefined falls back to the factory. */
  createSource?: (cfg: GateConfig['sources'][number], deps: SourceDeps) => Source | undefined;
  metrics?: GatewayMetrics;
  /** The gateway's long-lived counters; without them this generation gets its own. */
  limits?: Limits;
}

/** Counters that survive config reloads. */
export interface Limits {
  signIn: SignInLimits;
  tokenGate: ConcurrencyGate;
}

/**
 * `current` is read on every call, so a reload changes limits without resetting counts. With
 * a shared store (Redis) the sign-in limits also hold across replicas.
 */
export function createLimits(current: () => GateConfig, now?: () => number, sharedStore?: SharedCounters['store']): Limits {
  const rl = () => current().signIn.rateLimit;
  const maxKeys = () => rl().maxTracked;
  const clock = now ? { now } : {};
  const user = () => ({ attempts: rl().perUser.attempts, windowMs: rl().perUser.window });
  const address = () => ({ attempts: rl().perAddress.attempts, windowMs: rl().perAddress.window });
  return {
    signIn: createSignInLimits({
      user: createRateLimiter({ limit: user, maxKeys, ...clock }),
      address: createRateLimiter({ limit: address, maxKeys, ...clock }),
      ...(sharedStore ? { shared: { store: sharedStore, user, address } } : {}),
    }),
    tokenGate: createConcurrencyGate(() => {
      const c = current().netbox.connections;
      return { total: c.token, perClient: c.tokenPerClient };
    }),
  };
}

export function buildRuntime(cfg: GateConfig, logger: Logger, deps: RuntimeDeps = {}): Runtime {
  const sources = new Map<string, Source>();
  for (const s of cfg.sources) {
    const d: SourceDeps = { logger };
    if (deps.fetch) d.fetch = deps.fetch;
    if (deps.now) d.now = deps.now;
    if (deps.metrics) d.metrics = deps.metrics;
    sources.set(s.id, deps.createSource?.(s, d) ?? createSource(s, d));
  }
  const trusted = buildBlockList(cfg.server.trustedProxies);
  const publicUrl = new URL(cfg.server.publicUrl);
  const limits = deps.limits ?? createLimits(() => cfg, deps.now);
  return {
    generation: ++generations,
    policyVersion: policyVersion(cfg),
    cfg,
    sources,
    proxySources: [...sources.values()].filter((s): s is ProxySource => s.flow === 'proxy'),
    headers: compileHeaderPlan(cfg),
    target: createProxyTarget(cfg.netbox.url, cfg.netbox.timeout, cfg.netbox.connections),
    publicUrl,
    secureCookies: publicUrl.protocol === 'https:',
    trustedProxies: trusted,
    signInLimits: limits.signIn,
    tokenGate: limits.tokenGate,
    dropCookies: new Set([cfg.netbox.sessionCookie, ...Object.values(gatewayCookieNames(cfg.sessions.cookieName))]),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  };
}

/**
 * What a decision depends on (decide reads only the compiled policy, compiled from this), as 72
 * bits of SHA-256: short in every stored session, and a collision (a changed policy taken for
 * the old one, so sessions not decided again until their refresh) practically impossible.
 */
export function policyVersion(cfg: Pick<GateConfig, 'policySource'>): string {
  return createHash('sha256').update(JSON.stringify(cfg.policySource)).digest('base64url').slice(0, 12);
}

export async function closeRuntime(rt: Runtime): Promise<void> {
  rt.target.destroy();
  await Promise.allSettled([...rt.sources.values()].map((s) => s.close()));
}

/**
 * Closes a generation replaced by a reload without cutting anything that started on it: after
 * `graceMs` (requests that read the old generation just before the swap reach NetBox), its
 * pools close once its last transfer has finished, however long that download or upload runs.
 * `abort` (the gateway closing) closes it at once.
 */
export function retireRuntime(rt: Runtime, graceMs: number): { done: Promise<void>; abort(): void } {
  let timer: NodeJS.Timeout | undefined;
  let abort!: () => void;
  const aborted = new Promise<void>((r) => (abort = r));
  const graceOver = new Promise<void>((r) => {
    timer = setTimeout(r, graceMs);
    timer.unref();
  });
  const done = Promise.race([graceOver.then(() => rt.target.idle()), aborted]).then(() => {
    clearTimeout(timer);
    return closeRuntime(rt);
  });
  return { done, abort };
}

/** Maps an IPv4-mapped IPv6 peer (::ffff:1.2.3.4) to its IPv4 form before matching. */
export function isTrustedPeer(rt: Runtime, ip: string): boolean {
  if (rt.cfg.server.trustedProxies.length === 0) return false;
  return blockListHas(rt.trustedProxies, ip);
}
