// A tiny round-robin HTTP balancer for the replica tests: each request goes to the next
// backend; a backend that refuses the connection is skipped (as nginx's proxy_next_upstream
// does), so a killed replica is invisible to the user. A test can pin one request to one
// backend with the X-Test-Backend header (e.g. two replicas asked at the same moment).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const PIN_HEADER = 'x-test-backend';

export interface Balancer {
  url: string;
  port: number;
  /** The backend index that answered each request, in order. */
  served: number[];
  close(): Promise<void>;
}

export async function startBalancer(backends: readonly string[], port = 0): Promise<Balancer> {
  const served: number[] = [];
  let next = 0;
  const forward = (req: http.IncomingMessage, body: Buffer, i: number) =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      const u = new URL(backends[i]!);
      const headers = { ...req.headers };
      delete headers[PIN_HEADER];
      const r = http.request({ hostname: u.hostname, port: u.port, method: req.method, path: req.url, headers, agent: false }, resolve);
      r.on('error', reject);
      r.end(body);
    });

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks);
        const pinned = req.headers[PIN_HEADER];
        const order = pinned !== undefined ? [Number(pinned)] : backends.map((_, k) => (next + k) % backends.length);
        if (pinned === undefined) next = (next + 1) % backends.length;
        for (const i of order) {
          let up: http.IncomingMessage;
          try {
            up = await forward(req, body, i);
          } catch {
            continue; // refused or reset before answering: the next backend
          }
          served.push(i);
          res.writeHead(up.statusCode ?? 502, up.rawHeaders);
          up.pipe(res);
          return;
        }
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end('no backend answered');
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const p = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${p}`,
    port: p,
    served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
