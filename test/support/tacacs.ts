// Starts and stops the TACACS+ test peer (test/support/tacacs-server, built by
// scripts/deps/tacacs.sh) on a free loopback port, with a JSON config written per test.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TACACS_SERVER_BIN = process.env['NETBOX_GATE_TACACS_SERVER'] ?? '/var/cache/netbox-gate/bin/tacacs-test-server';

export interface TacacsUser {
  password: string;
  /** "pass_add" (default), "pass_repl", "fail" or "error". */
  author?: string;
  args?: string[];
}

export interface TacacsServerConfig {
  secret: string;
  ascii?: boolean;
  askUser?: boolean;
  users: Record<string, TacacsUser>;
}

export interface RunningTacacsServer {
  host: string;
  port: number;
  /** `127.0.0.1:port`, as a source's `servers` entry. */
  address: string;
  /** What the server logged (stderr), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

export async function startTacacsServer(config: TacacsServerConfig): Promise<RunningTacacsServer> {
  if (!existsSync(TACACS_SERVER_BIN)) {
    // Failing, not skipping: a missing peer must not look like a passing test.
    throw new Error(`${TACACS_SERVER_BIN} is missing; run: sudo bash scripts/deps/tacacs.sh`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'tacacs-test-'));
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify({ listen: '127.0.0.1:0', ...config }), { mode: 0o600 });
  const child: ChildProcess = spawn(TACACS_SERVER_BIN, [file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`tacacs-test-server did not start within 10 s:\n${stderr}`)), 10_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.once('exit', (code) => fail(new Error(`tacacs-test-server exited with ${code}:\n${stderr}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (\S+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(m[1]!);
      }
    });
  });
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    log: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A listener that accepts connections and never answers: the "hung server" case. Counts connections. */
export async function startSilentListener(): Promise<{ address: string; connections(): number; stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let count = 0;
  const server: Server = createServer((s) => {
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

/** A loopback port with nothing listening on it (connection refused). */
export async function refusedAddress(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return `127.0.0.1:${port}`;
}
