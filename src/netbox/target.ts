// The upstream NetBox as the gateway reaches it: its internal URL, the timeout for an answer,
// and two connection pools (lanes) built once per runtime (config generation): one for
// signed-in users, one for API-token traffic, so token clients (anyone can send
// "Authorization: Token garbage") never hold the connections signed-in users need. The
// target counts requests in flight so a retired generation closes its pools only once the
// transfers that started on it have finished.
//
// The proxied requests go through undici's Pool rather than node:http's Agent: every page and
// API call crosses it, and node:http's client (an IncomingMessage stream, a socket
// listener set and header objects per request) was the largest share of the gateway's CPU per
// request (issue 11's profile). undici parses with llhttp on a request object of its own and
// hands us the body chunk by chunk, which is what a streaming proxy needs and no more. The
// gateway's own few calls (NetBox logout, the readiness probe) keep a small node:http agent.
import http from 'node:http';
import https from 'node:https';
import { Pool } from './undici-pool.js';

export type Lane = 'session' | 'token';

export interface ProxyTarget {
  url: URL;
  /** The signed-in users' pool. */
  pool: Pool;
  /** The API-token pool. */
  tokenPool: Pool;
  /** The gateway's own requests to NetBox (logout, readiness): a few keep-alive connections. */
  agent: http.Agent;
  /** NetBox must answer within this; the wait for a free connection counts against it. */
  timeoutMs: number;
  /** Marks a request in flight; call the returned function (idempotent) when it is over. */
  acquire(): () => void;
  inFlight(): number;
  /** Resolves once no request is in flight. */
  idle(): Promise<void>;
  /** Closes the pools (connections still in use are cut: call after idle()). */
  destroy(): void;
}

export interface PoolSizes {
  /** Connections for signed-in users. */
  signedIn: number;
  /** Connections for API-token requests. */
  token: number;
}

/** Connections kept for the gateway's own calls (a logout per ended session, a probe). */
const OWN_CALLS = 8;

export function createProxyTarget(url: string, timeoutMs: number, pools: PoolSizes = { signedIn: 192, token: 64 }): ProxyTarget {
  const u = new URL(url);
  // Idle connections stay open for as long as NetBox's front server keeps them (undici honours
  // its Keep-Alive timeout hint): closing them as they are freed made a load just above the
  // pool's idle bound open a new connection for every request. They cost NetBox's front web
  // server next to nothing. The deadlines (queue, answer, body silence) are proxy.ts's own
  // per-request timer; undici's headersTimeout/bodyTimeout are off there.
  const poolOptions = { keepAliveTimeout: 60_000, keepAliveMaxTimeout: 600_000, pipelining: 1 };
  const pool = new Pool(u.origin, { ...poolOptions, connections: pools.signedIn });
  const tokenPool = new Pool(u.origin, { ...poolOptions, connections: pools.token });
  const Agent = u.protocol === 'https:' ? https.Agent : http.Agent;
  const agent = new Agent({ keepAlive: true, maxSockets: OWN_CALLS, maxFreeSockets: OWN_CALLS });
  let inFlight = 0;
  let waiters: Array<() => void> = [];
  return {
    url: u,
    pool,
    tokenPool,
    agent,
    timeoutMs,
    acquire() {
      inFlight++;
      let done = false;
      return () => {
        if (done) return;
        done = true;
        if (--inFlight === 0) {
          const w = waiters;
          waiters = [];
          for (const f of w) f();
        }
      };
    },
    inFlight: () => inFlight,
    idle: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((r) => waiters.push(r))),
    destroy() {
      // destroy(), not close(): close() waits for queued requests, and idle() said there are none.
      pool.destroy().catch(() => undefined);
      tokenPool.destroy().catch(() => undefined);
      agent.destroy();
    },
  };
}

/** Path on the upstream for a public request path (NetBox may sit under a base path). */
export function upstreamPath(t: ProxyTarget, path: string): string {
  return t.url.pathname.replace(/\/+$/, '') + path;
}
