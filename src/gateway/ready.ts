// Readiness (`/.netbox-gate/ready`): can this gateway serve a signed-in request right now? It
// asks the session store for a probe key and NetBox for its login page, each with a short bound.
// Liveness (`/health`) stays a plain 200: a NetBox outage must not get the gateway restarted.
import http from 'node:http';
import https from 'node:https';
import { upstreamPath } from '../netbox/target.js';
import type { GatewayContext } from './context.js';

/** Short: a probe that waits as long as a user would tells the balancer nothing. */
const PROBE_TIMEOUT_MS = 2000;
const PROBE_KEY = 'ready:probe';

export interface CheckResult {
  ok: boolean;
  /** Why it failed, for the operator; never a secret. */
  error?: string;
  /** NetBox's answer status, when it answered. */
  status?: number;
}

export interface Readiness {
  ready: boolean;
  checks: { store: CheckResult; netbox: CheckResult };
}

function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${PROBE_TIMEOUT_MS / 1000}s`)), PROBE_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

async function checkStore(ctx: GatewayContext): Promise<CheckResult> {
  try {
    await bounded(ctx.store.get(PROBE_KEY), 'the session store');
    return { ok: true };
  } catch (err) {
    return { ok: false, error: (err as Error)?.message ?? String(err) };
  }
}

/** Any answer below 500 counts: NetBox is up and answering (its login page is normally 200). */
function checkNetbox(ctx: GatewayContext): Promise<CheckResult> {
  const rt = ctx.rt();
  const t = rt.target;
  const mod = t.url.protocol === 'https:' ? https : http;
  return new Promise<CheckResult>((resolve) => {
    const req = mod.request(
      {
        protocol: t.url.protocol,
        hostname: t.url.hostname,
        port: t.url.port,
        method: 'GET',
        path: upstreamPath(t, rt.cfg.netbox.loginPath),
        headers: { Host: rt.publicUrl.host, Accept: 'text/html' },
        agent: t.agent,
        timeout: PROBE_TIMEOUT_MS,
      },
      (res) => {
        res.resume();
        const status = res.statusCode ?? 0;
        resolve(status < 500 ? { ok: true, status } : { ok: false, status, error: `NetBox answered HTTP ${status}` });
      },
    );
    req.once('timeout', () => req.destroy(new Error(`NetBox did not answer within ${PROBE_TIMEOUT_MS / 1000}s`)));
    req.once('error', (err) => resolve({ ok: false, error: `NetBox cannot be reached: ${err.message}` }));
    req.end();
  });
}

export async function readiness(ctx: GatewayContext): Promise<Readiness> {
  const [store, netbox] = await Promise.all([checkStore(ctx), checkNetbox(ctx)]);
  return { ready: store.ok && netbox.ok, checks: { store, netbox } };
}
