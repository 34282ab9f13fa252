// Who is asking: the client's address, scheme and host. X-Forwarded-* are believed only from
// server.trustedProxies (a TLS terminator, a load balancer); from anyone else they are ignored.
import type http from 'node:http';
import type { Runtime } from './runtime.js';
import { isTrustedPeer } from './runtime.js';
import type { Client } from './sessions.js';

export function clientOf(rt: Runtime, req: http.IncomingMessage): Client {
  const peer = req.socket.remoteAddress ?? '';
  const own: Client = { ip: peer, proto: rt.cfg.server.tls ? 'https' : 'http', host: rt.publicUrl.host };
  if (!isTrustedPeer(rt, peer)) return own;
  // Walk X-Forwarded-For from the right, skipping our trusted proxies: the first other hop is the client.
  const xff = ([] as string[])
    .concat(req.headers['x-forwarded-for'] ?? [])
    .join(',')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  let ip = peer;
  for (let i = xff.length - 1; i >= 0; i--) {
    ip = xff[i]!;
    if (!isTrustedPeer(rt, ip)) break;
  }
  const proto = String(req.headers['x-forwarded-proto'] ?? '').split(',')[0]?.trim();
  const host = String(req.headers['x-forwarded-host'] ?? '').split(',')[0]?.trim();
  return { ip, proto: proto === 'https' || proto === 'http' ? proto : own.proto, host: host || own.host };
}
