// A recording HTTP server on loopback that stands where NetBox would: it keeps every request
// (method, URL, headers, body) so tests can assert exactly what NetBox would have received.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  raw: string[];
  body: string;
}

export interface RecordingUpstream {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/**
 * `answer` may write its own response for a request (return true); otherwise the upstream
 * answers 200 with a small HTML page.
 */
export async function startRecordingUpstream(answer: (req: SeenRequest, res: http.ServerResponse, server: http.Server) => boolean = () => false): Promise<RecordingUpstream> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const s: SeenRequest = { method: req.method!, url: req.url!, headers: req.headers, raw: req.rawHeaders, body: Buffer.concat(chunks).toString() };
      seen.push(s);
      if (answer(s, res, server)) return;
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<p>NetBox</p>');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
