// A private redis-server (Debian's, scripts/deps/redis.sh) for the shared-store tests: its own
// port and folder, append-only persistence on, and stop/start on the same port and data so a
// test can take Redis away and bring it back (an outage, a restart) under a running gateway.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, tcpListening, type Daemon } from './daemon.js';
import { freePort } from './ports.js';
import { makeTempDir, type TempDir } from './temp.js';

export const REDIS_SERVER = process.env.NETBOX_GATE_REDIS_SERVER ?? '/usr/bin/redis-server';

export interface RedisServer {
  url: string;
  port: number;
  running(): boolean;
  /** Stops the server (SIGTERM: the append-only file is flushed); the data stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its data. */
  remove(): Promise<void>;
}

export async function startRedis(opts: { appendonly?: boolean } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir: TempDir = await makeTempDir('netbox-gate-redis-');
  let daemon: Daemon | undefined;
  const start = async () => {
    daemon = await startDaemon({
      name: 'redis-server',
      cmd: REDIS_SERVER,
      args: [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--dir', dir.path,
        '--save', '',
        '--appendonly', opts.appendonly === false ? 'no' : 'yes',
        '--appendfsync', 'always',
        '--logfile', join(dir.path, 'redis.log'),
        '--daemonize', 'no',
      ],
      ready: tcpListening([port]),
      timeoutMs: 15_000,
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    running: () => daemon?.running() ?? false,
    stop: async () => {
      await daemon?.stop();
    },
    start,
    remove: async () => {
      await daemon?.stop();
      await dir.remove();
    },
  };
}

export interface RedisSentinel {
  port: number;
  stop(): Promise<void>;
}

/** A Sentinel (the same binary, --sentinel) monitoring `primary` under `name`. */
export async function startSentinel(primary: RedisServer, name: string): Promise<RedisSentinel> {
  const port = await freePort();
  const dir = await makeTempDir('netbox-gate-sentinel-');
  const conf = join(dir.path, 'sentinel.conf');
  // Sentinel rewrites its config file, so it lives in the temp folder.
  writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir.path}\nsentinel monitor ${name} 127.0.0.1 ${primary.port} 1\nsentinel down-after-milliseconds ${name} 5000\n`);
  const daemon = await startDaemon({
    name: 'redis-sentinel',
    cmd: REDIS_SERVER,
    args: [conf, '--sentinel'],
    ready: tcpListening([port]),
    timeoutMs: 15_000,
    cleanup: () => dir.remove(),
  });
  return { port, stop: () => daemon.stop() };
}
