// A scriptable RADIUS peer on 127.0.0.1 for unit tests, built on our codec: records every
// datagram it receives and answers with whatever the test's handler returns (or stays silent).
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { decodePacket, type RawPacket } from '../../../src/sources/radius/packet.js';

export type Handler = (req: RawPacket, from: RemoteInfo, reply: (bytes: Buffer, via?: Socket) => void) => void;

export interface FakeServer {
  port: number;
  address: string;
  received: RawPacket[];
  /** Requests the handler refused (e.g. failed verification). */
  errors: unknown[];
  close(): Promise<void>;
}

export async function startFakeServer(handler?: Handler): Promise<FakeServer> {
  const socket = createSocket('udp4');
  const received: RawPacket[] = [];
  const errors: unknown[] = [];
  socket.on('message', (msg, from) => {
    try {
      const req = decodePacket(msg);
      received.push(req);
      handler?.(req, from, (bytes, via = socket) => via.send(bytes, from.port, from.address));
    } catch (err) {
      // Like a real server: a request that does not verify gets no answer.
      errors.push(err);
    }
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return {
    port: socket.address().port,
    address: '127.0.0.1',
    received,
    errors,
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
}
