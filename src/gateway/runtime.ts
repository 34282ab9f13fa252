// Everything built from one config: sources, compiled policy, header plan, upstream agent,
// rate limiters. Swapped whole on reload, so a request sees one consistent generation.
import type { GateConfig } from '../config/load.js';
import { createSource } from '../sources/factory.js';
import type { Source, SourceDeps } from '../sources/source.js';
import type { GatewayMetrics } from '../metrics/hooks.js';
import type { Logger } from '../types.js';
import { compileHeaderPlan, type HeaderPlan } from '../netbox/headers.js';
import { createProxyTarget, type ProxyTarget } from '../netbox/target.js';
import { gatewayCookieNames } from './context.js';
import { createRateLimiter, type RateLimiter } from './rate-limit.js';
import type { BlockList } from 'node:net';
import { blockListHas, buildBlockList } from '../config/address.js';

export interface Runtime {
  generation: number;
  cfg: GateConfig;
  sources: Map<string, Source>;
  headers: HeaderPlan;
  target: ProxyTarget;
  publicUrl: URL;
  secureCookies: boolean;
  trustedProxies: BlockList;
  userLimiter: RateLimiter;
  addressLimiter: RateLimiter;
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
  const rl = cfg.signIn.rateLimit;
  return {
    generation: ++generations,
    cfg,
    sources,
    headers: compileHeaderPlan(cfg),
    target: createProxyTarget(cfg.netbox.url, cfg.netbox.timeout),
    publicUrl,
    secureCookies: publicUrl.protocol === 'https:',
    trustedProxies: trusted,
    userLimiter: createRateLimiter(rl.perUser.attempts, rl.perUser.window),
    addressLimiter: createRateLimiter(rl.perAddress.attempts, rl.perAddress.window),
    dropCookies: new Set([cfg.netbox.sessionCookie, ...Object.values(gatewayCookieNames(cfg.sessions.cookieName))]),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  };
}

export async function closeRuntime(rt: Runtime): Promise<void> {
  rt.target.agent.destroy();
  await Promise.allSettled([...rt.sources.values()].map((s) => s.close()));
}

/** Maps an IPv4-mapped IPv6 peer (::ffff:1.2.3.4) to its IPv4 form before matching. */
export function isTrustedPeer(rt: Runtime, ip: string): boolean {
  if (rt.cfg.server.trustedProxies.length === 0) return false;
  return blockListHas(rt.trustedProxies, ip);
}
