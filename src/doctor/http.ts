// Bounded HTTP(S) requests for the probes: node:http rather than fetch because NetBox must see
// the Host header the gateway sends (fetch forbids setting it), and every call has a deadline.
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';

export interface ProbeResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body up to `maxBody` bytes, as UTF-8. */
  body: string;
  /** Local clock when the request was sent and when the response headers arrived (ms). */
  sentAt: number;
  receivedAt: number;
}

export interface ProbeRequest {
  method?: string;
  headers?: Record<string, string>;
  timeoutMs: number;
  /** Connect to this address instead of the URL's host (the URL still names the request). */
  connectTo?: string;
  maxBody?: number;
  now?: () => number;
}

/** Resolves with the response, rejects with an Error whose message names the network failure. */
export function probe(url: URL, req: ProbeRequest): Promise<ProbeResponse> {
  const now = req.now ?? Date.now;
  const mod = url.protocol === 'https:' ? https : http;
  const maxBody = req.maxBody ?? 256 * 1024;
  const host = (req.connectTo ?? url.hostname).replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const sentAt = now();
    const r = mod.request({
      protocol: url.protocol,
      hostname: host,
      port: url.port || (url.protocol === 'https:' ? 443 : 80),
      method: req.method ?? 'GET',
      path: url.pathname + url.search,
      headers: req.headers ?? {},
      agent: false,
      // Certificates are judged by the tls check; a probe of NetBox must still get its answer.
      ...(url.protocol === 'https:' ? { rejectUnauthorized: false, ...(isIP(url.hostname.replace(/^\[|\]$/g, '')) ? {} : { servername: url.hostname }) } : {}),
    });
    const timer = setTimeout(() => r.destroy(new Error(`no answer within ${req.timeoutMs} ms`)), req.timeoutMs);
    r.on('response', (res) => {
      const receivedAt = now();
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < maxBody) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).subarray(0, maxBody).toString('utf8'), sentAt, receivedAt });
      });
      res.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    r.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message, { cause: err }));
    });
    r.end();
  });
}

/** `path` (may carry a query) under a base URL that may have a path prefix (NetBox's BASE_PATH). */
export function under(base: URL, path: string): URL {
  const u = new URL(path, base.origin);
  u.pathname = base.pathname.replace(/\/+$/, '') + u.pathname;
  return u;
}
