// A scripted TACACS+ peer for unit tests: builds server replies with the RFC 8907 layout and
// serves them on loopback, so the client can be fed malformed, out-of-order or hostile answers.
import { createServer, type Socket } from 'node:net';
import { HEADER_LEN, obfuscate } from '../../../src/sources/tacacs/packet.js';

export interface RequestPacket {
  version: number;
  type: number;
  seq: number;
  flags: number;
  sessionId: number;
  /** The revealed body. */
  body: Buffer;
}

export interface ReplyHeader {
  version?: number;
  type?: number;
  seq?: number;
  flags?: number;
  sessionId?: number;
  /** Overrides the length field (for lying headers). */
  length?: number;
}

/** A reply answering `req`: same session and version, seq + 1, body obfuscated with `secret`. */
export function reply(req: RequestPacket, body: Buffer, secret: string, over: ReplyHeader = {}): Buffer {
  const h = {
    version: over.version ?? req.version,
    type: over.type ?? req.type,
    seq: over.seq ?? req.seq + 1,
    flags: over.flags ?? req.flags,
    sessionId: over.sessionId ?? req.sessionId,
  };
  const head = Buffer.alloc(HEADER_LEN);
  head[0] = h.version;
  head[1] = h.type;
  head[2] = h.seq;
  head[3] = h.flags;
  head.writeUInt32BE(h.sessionId >>> 0, 4);
  head.writeUInt32BE(over.length ?? body.length, 8);
  const wire = (h.flags & 0x01) !== 0 ? body : obfuscate(body, h, Buffer.from(secret));
  return Buffer.concat([head, wire]);
}

export function authenReplyBody(status: number, serverMsg = '', data = '', flags = 0): Buffer {
  const msg = Buffer.from(serverMsg);
  const d = Buffer.from(data);
  const head = Buffer.alloc(6);
  head[0] = status;
  head[1] = flags;
  head.writeUInt16BE(msg.length, 2);
  head.writeUInt16BE(d.length, 4);
  return Buffer.concat([head, msg, d]);
}

export function authorReplyBody(status: number, args: string[] = [], serverMsg = ''): Buffer {
  const a = args.map((x) => Buffer.from(x));
  const msg = Buffer.from(serverMsg);
  const head = Buffer.alloc(6);
  head[0] = status;
  head[1] = a.length;
  head.writeUInt16BE(msg.length, 2);
  head.writeUInt16BE(0, 4);
  return Buffer.concat([head, Buffer.from(a.map((x) => x.length)), msg, ...a]);
}

/** What the handler returns: bytes to write, 'close' to hang up, or null to stay silent. */
export type Answer = Buffer | 'close' | null;

export async function startFakeTacacs(secret: string, handler: (req: RequestPacket, n: number) => Answer) {
  const requests: RequestPacket[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((sock) => {
    connections++;
    sockets.add(sock);
    sock.on('error', () => undefined);
    sock.on('close', () => sockets.delete(sock));
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= HEADER_LEN && buf.length >= HEADER_LEN + buf.readUInt32BE(8)) {
        const len = buf.readUInt32BE(8);
        const h = { version: buf[0]!, type: buf[1]!, seq: buf[2]!, flags: buf[3]!, sessionId: buf.readUInt32BE(4) };
        const body = obfuscate(buf.subarray(HEADER_LEN, HEADER_LEN + len), h, Buffer.from(secret));
        buf = buf.subarray(HEADER_LEN + len);
        const req = { ...h, body };
        requests.push(req);
        const answer = handler(req, requests.length);
        if (answer === 'close') sock.destroy();
        else if (answer) sock.write(answer);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    requests,
    connections: () => connections,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Reads the fields of a START body the client sent. */
export function parseStart(body: Buffer) {
  const [action, privLvl, authenType, service, userLen, portLen, remLen, dataLen] = body;
  let off = 8;
  const take = (n: number) => body.subarray(off, (off += n)).toString();
  return { action, privLvl, authenType, service, user: take(userLen!), port: take(portLen!), remAddr: take(remLen!), data: take(dataLen!) };
}

/** Reads the args of an authorization REQUEST body the client sent. */
export function parseAuthorArgs(body: Buffer): string[] {
  const userLen = body[4]!, portLen = body[5]!, remLen = body[6]!, argCount = body[7]!;
  let off = 8 + argCount + userLen + portLen + remLen;
  const out: string[] = [];
  for (let i = 0; i < argCount; i++) {
    const len = body[8 + i]!;
    out.push(body.subarray(off, (off += len)).toString());
  }
  return out;
}
