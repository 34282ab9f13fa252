// The gateway's lifecycle: the HTTP(S) server, listening, config reload (build everything
// first, then swap) and close. The request pipeline itself is in pipeline.ts.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { GateConfig } from '../config/load.js';
import { isGateError } from '../errors.js';
import { encryptionKeysOf } from '../store/open.js';
import type { KeyValueStore } from '../store/store.js';
import type { Logger } from '../types.js';
import type { GatewayContext } from './context.js';
import { messagePage } from './pages.js';
import { createPipeline } from './pipeline.js';
import { sendHtml, sendOutcome } from './respond.js';
import { createRoutes } from './routes.js';
import { buildRuntime, closeRuntime, type Runtime, type RuntimeDeps } from './runtime.js';
import { createSealer } from './seal.js';
import { createSessionManager } from './sessions.js';
import { createSignIn } from './signin.js';

export interface Gateway {
  server: http.Server | https.Server;
  /** Listens on the configured address (or the given port, 0 for any free one). */
  listen(port?: number): Promise<AddressInfo>;
  /** Validated new config: applied to the next request; sessions are kept and re-decided. */
  reload(cfg: GateConfig): Promise<void>;
  runtime(): Runtime;
  close(): Promise<void>;
}

export interface GatewayOptions extends RuntimeDeps {
  logger: Logger;
  store: KeyValueStore;
  /** Milliseconds since the epoch; swappable so tests can move time without sleeping. */
  now?: () => number;
}

export function createGateway(initial: GateConfig, opts: GatewayOptions): Gateway {
  const { logger, store } = opts;
  const now = opts.now ?? Date.now;
  const runtimeDeps: RuntimeDeps = {};
  if (opts.fetch) runtimeDeps.fetch = opts.fetch;
  if (opts.now) runtimeDeps.now = opts.now;
  if (opts.createSource) runtimeDeps.createSource = opts.createSource;
  let rt = buildRuntime(initial, logger, runtimeDeps);

  const ctx: GatewayContext = {
    rt: () => rt,
    store,
    logger,
    now,
    // Derived from sessions.encryptionKeys when set, so every replica opens what another sealed.
    sealer: createSealer({ now, keys: encryptionKeysOf(initial.sessions) }),
    sessions: createSessionManager({ store, logger, now, runtime: () => rt }),
  };
  const signIn = createSignIn(ctx);
  const handle = createPipeline(ctx, createRoutes(ctx, signIn), signIn);

  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => {
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
  const server = tls ? https.createServer({ ...tls }, listener) : http.createServer(listener);
  server.headersTimeout = 60_000;
  server.requestTimeout = 0; // long uploads/exports are streamed; NetBox's own timeout applies

  return {
    server,
    runtime: () => rt,
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
      logger.info({ generation: rt.generation, file: cfg.file }, 'configuration reloaded');
      setTimeout(() => void closeRuntime(old), 30_000).unref();
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await closeRuntime(rt);
      await store.close();
    },
  };
}
