// What one client can hold of the gateway's sockets: deadlines for headers, whole requests,
// silences and idle keep-alive (a connection that never sends a byte is closed too), a cap
// on open connections overall and per client address, each refusal a clear HTTP answer
// (408 or 503 with Retry-After) rather than a silent reset. Node's own server timeouts cover
// headers and requests once a request has begun; the rest is here.
import type http from 'node:http';
import type https from 'node:https';
import { isIPv4, type Socket } from 'node:net';

export interface ConnectionLimits {
  headersMs: number;
  requestMs: number;
  idleMs: number;
  keepAliveMs: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
}

export interface ConnectionGuardOptions {
  limits(): ConnectionLimits;
  /** Peers exempt from the per-address cap (trusted proxies carry many clients). */
  isTrustedPeer(ip: string): boolean;
  onRefused?(reason: 'connections' | 'client_connections', ip: string): void;
}

export interface ConnectionGuard {
  /** Called by the request listener: the socket has a request in flight until `res` closes. */
  track(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Applies changed limits (a reload) to the server. */
  apply(): void;
  stats(): { open: number; addresses: number };
}

interface Active {
  req: http.IncomingMessage;
  res: http.ServerResponse;
}

const active = new WeakMap<Socket, Active>();
const refused = new WeakSet<Socket>();

function rawAnswer(status: 408 | 503, reason: string, detail: string, retryAfter?: number): string {
  const body = JSON.stringify({ detail });
  return (
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n` +
    (retryAfter ? `Retry-After: ${retryAfter}\r\n` : '') +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

export const IDLE_TIMEOUT_DETAIL = 'Request timeout: the client sent nothing for too long (server.timeouts).';

/** The interval at which Node checks header and request deadlines (set once, at creation). */
export function checkingInterval(l: Pick<ConnectionLimits, 'headersMs' | 'requestMs'>): number {
  return Math.max(100, Math.min(1000, Math.floor(Math.min(l.headersMs, l.requestMs) / 4)));
}

/** True when the socket must not be given to the request listener (it was refused). */
export function isRefused(socket: Socket): boolean {
  return refused.has(socket);
}

export function guardConnections(server: http.Server | https.Server, o: ConnectionGuardOptions): ConnectionGuard {
  const tls = 'setSecureContext' in server;
  const perAddress = new Map<string, number>();
  let open = 0;

  const apply = () => {
    const l = o.limits();
    server.headersTimeout = l.headersMs;
    server.requestTimeout = l.requestMs;
    server.keepAliveTimeout = l.keepAliveMs;
    // Node restores this socket timeout after each keep-alive wait; the 'timeout' handler
    // below decides what a silence means.
    server.timeout = l.idleMs;
  };
  apply();

  const refuse = (socket: Socket, reason: 'connections' | 'client_connections', ip: string) => {
    refused.add(socket);
    o.onRefused?.(reason, ip);
    if (tls) return socket.destroy();
    const detail =
      reason === 'connections'
        ? 'The gateway has too many open connections; try again shortly.'
        : 'Too many open connections from your address; close some and try again.';
    socket.end(rawAnswer(503, 'Service Unavailable', detail, 1));
    socket.setTimeout(1000, () => socket.destroy());
  };

  // Registered after Node's own connection listener: the socket has its HTTP parser already.
  server.on('connection', (socket: Socket) => {
    const l = o.limits();
    const raw = socket.remoteAddress ?? '';
    const ip = raw.startsWith('::ffff:') && isIPv4(raw.slice(7)) ? raw.slice(7) : raw;
    if (open >= l.maxConnections) return refuse(socket, 'connections', ip);
    const counted = !o.isTrustedPeer(raw);
    if (counted && (perAddress.get(ip) ?? 0) >= l.maxConnectionsPerClient) return refuse(socket, 'client_connections', ip);
    open++;
    if (counted) perAddress.set(ip, (perAddress.get(ip) ?? 0) + 1);
    socket.once('close', () => {
      open--;
      if (!counted) return;
      const n = (perAddress.get(ip) ?? 1) - 1;
      if (n <= 0) perAddress.delete(ip);
      else perAddress.set(ip, n);
    });
    // Node's header deadline only starts with the first byte: a silent connection gets the
    // same time to start talking. (TLS: the handshake timeout, then 'secureConnection' below.)
    if (!tls) socket.setTimeout(Math.min(l.headersMs, l.idleMs));
  });
  if (tls) {
    server.on('secureConnection', (socket: Socket) => {
      const l = o.limits();
      socket.setTimeout(Math.min(l.headersMs, l.idleMs));
    });
  }

  // A socket was silent for its timeout (Node emits this instead of destroying it because
  // this listener exists, so every case must be decided here).
  server.on('timeout', (socket: Socket) => {
    const a = active.get(socket);
    // A complete request waiting for its answer (NetBox, an identity provider): their own
    // timeouts decide, not the client's silence.
    if (a && a.req.complete && !a.res.headersSent) return;
    if (a?.res.headersSent || socket.bytesWritten > 0 || refused.has(socket)) return socket.destroy();
    // Nothing answered on this connection yet: say why it is closed.
    socket.end(rawAnswer(408, 'Request Timeout', IDLE_TIMEOUT_DETAIL));
    socket.setTimeout(1000, () => socket.destroy());
  });

  return {
    track(req, res) {
      const socket = req.socket;
      const l = o.limits();
      if (socket.timeout !== l.idleMs) socket.setTimeout(l.idleMs);
      active.set(socket, { req, res });
      res.once('close', () => {
        if (active.get(socket)?.res === res) active.delete(socket);
      });
    },
    apply,
    stats: () => ({ open, addresses: perAddress.size }),
  };
}
