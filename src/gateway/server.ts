// The gateway's lifecycle: the HTTP(S) server with its connection limits, listening, config
// reload (build everything first, then swap; the old generation closes once its transfers
// are over) and close. The request pipeline itself is in pipeline.ts.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { GateConfig } from '../config/load.js';
import type { GatewayMetrics } from '../metrics/hooks.js';
import { isGateError } from '../errors.js';
import { encryptionKeysOf } from '../store/open.js';
import type { KeyValueStore } from '../store/store.js';
import type { Logger } from '../types.js';
import { checkingInterval, guardConnections, isRefused, type ConnectionLimits } from './connections.js';
import type { GatewayContext } from './context.js';
import { messagePage } from './pages.js';
import { createPipeline } from './pipeline.js';
import { sendHtml, sendOutcome } from './respond.js';
import { createRoutes } from './routes.js';
import { buildRuntime, closeRuntime, createLimits, isTrustedPeer, retireRuntime, type Runtime, type RuntimeDeps } from './runtime.js';
import { createSealer } from './seal.js';
import { createSessionManager } from './sessions.js';
import { createGatewayLifecycle, type GatewayLifecycle } from '../lifecycle/gateway.js';
import { createSignIn } from './signin.js';

export interface Gateway {
  server: http.Server | https.Server;
  /** Listens on the configured address (or the given port, 0 for any free one). */
  listen(port?: number): Promise<AddressInfo>;
  /** Validated new config: applied to the next request; sessions are kept and re-decided. */
  reload(cfg: GateConfig): Promise<void>;
  runtime(): Runtime;
  /** Deprovisioning and reactivation (needs netbox.api); directory sync and SCIM use it too. */
  lifecycle: GatewayLifecycle;
  /**
   * Stops accepting connections, lets requests in flight finish for up to `graceMs` (default 0:
   * cut at once), then closes the sources and the store. Resolves to the number of connections
   * that were still busy and had to be cut.
   */
  close(graceMs?: number): Promise<number>;
}

export interface GatewayOptions extends RuntimeDeps {
  logger: Logger;
  store: KeyValueStore;
  /** Milliseconds since the epoch; swappable so tests can move time without sleeping. */
  now?: () => number;
  metrics?: GatewayMetrics;
  /**
   * After a reload, how long the old generation stays open before it closes once idle
   * (requests that read it just before the swap still reach NetBox). Default 30 s.
   */
  retireGraceMs?: number;
}

function connectionLimits(cfg: GateConfig): ConnectionLimits {
  const t = cfg.server.timeouts;
  return {
    headersMs: t.headers,
    requestMs: t.request,
    idleMs: t.idle,
    keepAliveMs: t.keepAlive,
    maxConnections: cfg.server.maxConnections,
    maxConnectionsPerClient: cfg.server.maxConnectionsPerClient,
  };
}

export function createGateway(initial: GateConfig, opts: GatewayOptions): Gateway {
  const { logger, store } = opts;
  const now = opts.now ?? Date.now;
  const runtimeDeps: RuntimeDeps = {};
  if (opts.fetch) runtimeDeps.fetch = opts.fetch;
  if (opts.now) runtimeDeps.now = opts.now;
  if (opts.createSource) runtimeDeps.createSource = opts.createSource;
  if (opts.metrics) runtimeDeps.metrics = opts.metrics;
  // Sign-in rate limits and token concurrency outlive config generations (a reload must not
  // hand an attacker fresh counters); they read their limits from the current config.
  // With a shared store the password form's counters are shared too (every replica sees them).
  runtimeDeps.limits = createLimits(() => rt.cfg, opts.now, initial.sessions.store.type === 'redis' ? store : undefined);
  let rt = buildRuntime(initial, logger, runtimeDeps);
  const retiring = new Set<{ abort(): void; done: Promise<void> }>();

  const ctx: GatewayContext = {
    rt: () => rt,
    store,
    logger,
    now,
    // Derived from sessions.encryptionKeys when set, so every replica opens what another sealed.
    sealer: createSealer({ now, keys: encryptionKeysOf(initial.sessions) }),
    sessions: createSessionManager({ store, logger, now, runtime: () => rt, lifecycle: () => lifecycle }),
  };
  const lifecycle = createGatewayLifecycle({ store, logger, now, config: () => rt.cfg, sessions: ctx.sessions });
  ctx.lifecycle = lifecycle;
  const signIn = createSignIn(ctx);
  const handle = createPipeline(ctx, createRoutes(ctx, signIn), signIn);

  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (isRefused(req.socket)) return req.socket.destroy();
    guard.track(req, res);
    handle(req, res).catch((err: unknown) => {
      if (isGateError(err, 'ERR_STORE_UNAVAILABLE')) {
        // Redis is away: say so clearly; sessions stay in Redis for when it is back.
        logger.warn({ path: req.url, err: err.message }, 'request answered 503: session store unavailable');
        if (!res.headersSent) return sendOutcome(req, res, { kind: 'store_unavailable' });
        return res.destroy();
      }
      logger.error({ err: (err as Error)?.message, path: req.url }, 'request failed');
      if (!res.headersSent) sendHtml(res, 500, messagePage('Gateway error', 'Something went wrong in the gateway. The error has been logged.'));
      else res.destroy();
    });
  };

  const tlsOptions = (cfg: GateConfig) => (cfg.server.tls ? { cert: readFileSync(cfg.server.tls.certFile), key: readFileSync(cfg.server.tls.keyFile) } : undefined);
  const tls = tlsOptions(initial);
  let refusals = 0;
  let lastRefusalLog = 0;
  const limits = connectionLimits(initial);
  // Deadlines are checked this often (fixed at creation; the deadlines themselves reload).
  const serverOpts = { connectionsCheckingInterval: checkingInterval(limits), headersTimeout: limits.headersMs, requestTimeout: limits.requestMs };
  const server = tls ? https.createServer({ ...tls, ...serverOpts, handshakeTimeout: limits.headersMs }, listener) : http.createServer(serverOpts, listener);
  const guard = guardConnections(server, {
    limits: () => connectionLimits(rt.cfg),
    isTrustedPeer: (ip) => isTrustedPeer(rt, ip),
    onRefused: (reason, ip) => {
      // At most one line a second under a flood, with the count since the last one.
      refusals++;
      if (Date.now() - lastRefusalLog < 1000) return;
      lastRefusalLog = Date.now();
      logger.warn({ reason, clientIp: ip, refused: refusals }, 'connections refused: too many open connections (server.maxConnections, server.maxConnectionsPerClient)');
      refusals = 0;
    },
  });

  return {
    server,
    runtime: () => rt,
    lifecycle,
    listen(port) {
      const { host, port: cfgPort } = rt.cfg.server.listen;
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port ?? cfgPort, host, () => resolve(server.address() as AddressInfo));
      });
    },
    async reload(cfg) {
      // Everything that can fail happens before the swap, so a failed reload changes nothing.
      const t = tlsOptions(cfg);
      const next = buildRuntime(cfg, logger, runtimeDeps);
      if (JSON.stringify([cfg.sessions.store, cfg.sessions.encryptionKeys]) !== JSON.stringify([rt.cfg.sessions.store, rt.cfg.sessions.encryptionKeys])) {
        logger.warn({ file: cfg.file }, 'sessions.store and sessions.encryptionKeys take effect at the next restart; the running store and keys stay');
      }
      if (t && server instanceof https.Server) server.setSecureContext(t);
      const old = rt;
      rt = next;
      guard.apply();
      logger.info({ generation: rt.generation, file: cfg.file }, 'configuration reloaded');
      const r = retireRuntime(old, opts.retireGraceMs ?? 30_000);
      retiring.add(r);
      void r.done.then(() => {
        retiring.delete(r);
        logger.debug({ generation: old.generation }, 'previous configuration closed (its transfers are over)');
      });
    },
    async close(graceMs = 0) {
      const cut = await drain(server, graceMs);
      for (const r of retiring) r.abort();
      await Promise.all([...retiring].map((r) => r.done));
      await lifecycle.close();
      await closeRuntime(rt);
      await store.close();
      return cut;
    },
  };
}

/**
 * Graceful stop: no new connections; idle keep-alive connections are closed as soon as they are
 * idle (a busy one becomes idle when its response ends); whatever is still busy after `graceMs`
 * is cut. Resolves to the number of connections cut.
 */
function drain(server: http.Server | https.Server, graceMs: number): Promise<number> {
  return new Promise<number>((resolve) => {
    let cut = 0;
    let timer: NodeJS.Timeout | undefined;
    let poll: NodeJS.Timeout | undefined;
    const busy = () => new Promise<number>((r) => server.getConnections((_e, n) => r(n ?? 0)));
    server.close(() => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve(cut);
    });
    server.closeIdleConnections();
    // A connection whose request finished during the drain is idle again: close it promptly
    // rather than waiting for the client's keep-alive to lapse.
    poll = setInterval(() => server.closeIdleConnections(), 100);
    timer = setTimeout(() => {
      clearInterval(poll);
      void busy().then((n) => {
        cut = n;
        server.closeAllConnections();
      });
    }, graceMs);
  });
}
