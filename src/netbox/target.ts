// The upstream NetBox as the gateway reaches it: its internal URL, the timeout for an answer,
// and two connection pools (lanes) built once per runtime (config generation): one for
// signed-in users and the gateway's own calls, one for API-token traffic, so token clients
// (anyone can send "Authorization: Token garbage") never hold the connections signed-in
// users need. The target counts requests in flight so a retired generation closes its
// pools only once the transfers that started on it have finished.
import http from 'node:http';
import https from 'node:https';

export type Lane = 'session' | 'token';

export interface ProxyTarget {
  url: URL;
  /** The signed-in users' pool (also NetBox logout calls). */
  agent: http.Agent;
  /** The API-token pool. */
  tokenAgent: http.Agent;
  /** NetBox must answer within this; the wait for a free connection counts against it. */
  timeoutMs: number;
  /** Marks a request in flight; call the returned function (idempotent) when it is over. */
  acquire(): () => void;
  inFlight(): number;
  /** Resolves once no request is in flight. */
  idle(): Promise<void>;
  /** Closes both pools (sockets still in use are cut: call after idle()). */
  destroy(): void;
}

export interface PoolSizes {
  /** Connections for signed-in users. */
  signedIn: number;
  /** Connections for API-token requests. */
  token: number;
}

export function createProxyTarget(url: string, timeoutMs: number, pools: PoolSizes = { signedIn: 192, token: 64 }): ProxyTarget {
  const u = new URL(url);
  const Agent = u.protocol === 'https:' ? https.Agent : http.Agent;
  // Every pooled connection may stay open while idle (maxFreeSockets = maxSockets): with fewer,
  // a load just above that many concurrent requests closed a connection as it was freed and
  // opened a new one for the next request (connect() showed in profiles of the signed-in path
  // at 32 connections). Idle connections cost NetBox's front web server next to nothing.
  const agent = new Agent({ keepAlive: true, maxSockets: pools.signedIn, maxFreeSockets: pools.signedIn });
  const tokenAgent = new Agent({ keepAlive: true, maxSockets: pools.token, maxFreeSockets: pools.token });
  let inFlight = 0;
  let waiters: Array<() => void> = [];
  return {
    url: u,
    agent,
    tokenAgent,
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
      agent.destroy();
      tokenAgent.destroy();
    },
  };
}

/** Path on the upstream for a public request path (NetBox may sit under a base path). */
export function upstreamPath(t: ProxyTarget, path: string): string {
  return t.url.pathname.replace(/\/+$/, '') + path;
}
