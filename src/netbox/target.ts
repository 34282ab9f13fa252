// The upstream NetBox as the gateway reaches it: its internal URL, one keep-alive agent, and
// the timeout for an answer. Built once per runtime (config generation).
import http from 'node:http';
import https from 'node:https';

export interface ProxyTarget {
  url: URL;
  agent: http.Agent;
  timeoutMs: number;
}

export function createProxyTarget(url: string, timeoutMs: number): ProxyTarget {
  const u = new URL(url);
  const Agent = u.protocol === 'https:' ? https.Agent : http.Agent;
  return { url: u, agent: new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 32 }), timeoutMs };
}

/** Path on the upstream for a public request path (NetBox may sit under a base path). */
export function upstreamPath(t: ProxyTarget, path: string): string {
  return t.url.pathname.replace(/\/+$/, '') + path;
}
