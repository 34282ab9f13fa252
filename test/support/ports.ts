// Free loopback ports for servers started by tests (bound to port 0, read, then released, so a
// test can name the port in a config before the server starts), and addresses that fail on purpose.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';

/** A TCP port nobody listens on right now. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A UDP port nobody listens on right now (RADIUS). */
export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const s = createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  s.unref();
  s.bind(0, host);
  await once(s, 'listening');
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** `host:port` where a TCP connection is refused: the "server down" case. */
export async function refusedAddress(host = '127.0.0.1'): Promise<string> {
  return `${host}:${await freePort(host)}`;
}

/** A listener that accepts connections and never answers: the "hung server" case. Counts connections. */
export async function startSilentListener(): Promise<{ address: string; connections(): number; stop(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  const server: net.Server = net.createServer((s) => {
    count++;
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    connections: () => count,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
