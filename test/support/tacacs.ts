// Starts and stops the TACACS+ test peer (test/support/tacacs-server, built by
// scripts/deps/tacacs.sh) on a free loopback port, with a JSON config written per test.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { outputMatches, startDaemon } from './daemon.js';
import { makeTempDir } from './temp.js';

export const TACACS_SERVER_BIN = process.env['NETBOX_GATE_TACACS_SERVER'] ?? '/var/cache/netbox-gate/bin/tacacs-test-server';

export interface TacacsUser {
  password: string;
  /** "pass_add" (default), "pass_repl", "fail" or "error". */
  author?: string;
  args?: string[];
}

export interface TacacsServerConfig {
  /** host:port to listen on (default 127.0.0.1:0, any free port); a restart can keep the address. */
  listen?: string;
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
  const tmp = await makeTempDir('netbox-gate-tacacs-');
  const file = join(tmp.path, 'config.json');
  await writeFile(file, JSON.stringify({ listen: '127.0.0.1:0', ...config }), { mode: 0o600 });
  const listening = /^listening (\S+)\n/m;
  const daemon = await startDaemon({
    name: 'tacacs-test-server',
    cmd: TACACS_SERVER_BIN,
    args: [file],
    ready: outputMatches(listening),
    timeoutMs: 10_000,
    stopGraceMs: 3000,
    cleanup: () => tmp.remove(),
  });
  const address = listening.exec(daemon.output())![1]!;
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return {
    host: '127.0.0.1',
    port,
    address: `127.0.0.1:${port}`,
    log: () => daemon.stderr(),
    stop: () => daemon.stop(),
  };
}
