// Starts a server process for a test and stops it again: spawn, wait until a readiness check
// passes (or the process dies, or time runs out), then SIGTERM with a SIGKILL after a grace.
// Its output is kept so every failure message can show what the server said.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';

/** Polled until it returns true; `output` is everything the daemon printed so far. */
export type ReadyCheck = (output: string) => boolean | Promise<boolean>;

export interface DaemonOptions {
  /** Used in error messages ("slapd did not become ready ..."). */
  name: string;
  cmd: string;
  args?: readonly string[];
  /** The child's whole environment (default: this process's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  ready: ReadyCheck;
  /** How long `ready` may take to pass (default 20 s). */
  timeoutMs?: number;
  /** Between readiness polls (default 50 ms). */
  pollMs?: number;
  /** From SIGTERM to SIGKILL in stop() (default 5 s). */
  stopGraceMs?: number;
  /** Signal the whole process group (for wrappers such as kc.sh that start the real server as a child). */
  processGroup?: boolean;
  /** Keep only the last N characters of output (default: all of it). */
  maxOutputChars?: number;
  /** Every chunk of output as it arrives (e.g. to parse JSON log lines). */
  onOutput?: (chunk: string, stream: 'stdout' | 'stderr') => void;
  /** Runs after the process is gone, on stop() and on a failed start (e.g. remove its folder). */
  cleanup?: () => Promise<void>;
}

export interface Daemon {
  readonly child: ChildProcess;
  readonly pid: number;
  /** stdout and stderr interleaved as they arrived. */
  output(): string;
  /** Only stderr. */
  stderr(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** Sends a signal (e.g. SIGHUP for a reload). */
  signal(sig: NodeJS.Signals): void;
  /** SIGTERM, SIGKILL after the grace, wait for the exit, then clean-up. Safe to call twice. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startDaemon(opts: DaemonOptions): Promise<Daemon> {
  const child = spawn(opts.cmd, opts.args ?? [], {
    env: opts.env ?? process.env,
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.processGroup ?? false,
  });
  let out = '';
  let err = '';
  const limit = opts.maxOutputChars;
  const keep = (stream: 'stdout' | 'stderr') => (d: Buffer) => {
    const s = d.toString('utf8');
    out += s;
    if (stream === 'stderr') err += s;
    if (limit !== undefined && out.length > limit) out = out.slice(-limit);
    if (limit !== undefined && err.length > limit) err = err.slice(-limit);
    opts.onOutput?.(s, stream);
  };
  child.stdout!.on('data', keep('stdout'));
  child.stderr!.on('data', keep('stderr'));
  let gone = false;
  let spawnError: Error | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      gone = true;
      resolve({ code, signal });
    });
    // Spawning failed (e.g. ENOENT): there will be no 'exit'. Later errors (a failed kill) are
    // ignored; `on`, not `once`, so a second one cannot crash the test process.
    child.on('error', (e) => {
      if (child.pid !== undefined && !gone) return;
      spawnError = e;
      gone = true;
      resolve({ code: null, signal: null });
    });
  });

  // Wait for the spawn to succeed or fail before the first readiness poll.
  await new Promise<void>((resolve) => {
    child.once('spawn', () => resolve());
    child.once('error', () => resolve());
  });

  const kill = (sig: NodeJS.Signals) => {
    if (gone || child.pid === undefined) return;
    try {
      if (opts.processGroup) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      /* already gone */
    }
  };

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (!gone) {
        kill('SIGTERM');
        const t = setTimeout(() => kill('SIGKILL'), opts.stopGraceMs ?? 5000);
        await exited;
        clearTimeout(t);
      }
      // The leader is gone; whatever it started in its group must not outlive the test.
      if (opts.processGroup && child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* no one left */
        }
      }
      await opts.cleanup?.();
    })());

  const timeoutMs = opts.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (gone) {
        const { code, signal } = await exited;
        // 'exit' can come before the last output: give the pipes a moment to drain.
        if (!spawnError) await Promise.race([new Promise((r) => child.once('close', r)), sleep(500)]);
        const why = spawnError ? `could not be started (${spawnError.message})` : `exited (${signal ?? `code ${code}`}) before it was ready`;
        throw new Error(`${opts.name} ${why}:\n${out.slice(-4000)}`);
      }
      if (await opts.ready(out)) break;
      if (Date.now() > deadline) throw new Error(`${opts.name} did not become ready within ${timeoutMs} ms:\n${out.slice(-4000)}`);
      await sleep(opts.pollMs ?? 50);
    }
  } catch (e) {
    await stop();
    throw e;
  }

  return {
    child,
    pid: child.pid!,
    output: () => out,
    stderr: () => err,
    exited,
    running: () => !gone,
    signal: kill,
    stop,
  };
}

/** Ready once the output matches (a line such as "Ready to process requests"). */
export function outputMatches(pattern: string | RegExp): ReadyCheck {
  return (out) => (typeof pattern === 'string' ? out.includes(pattern) : pattern.test(out));
}

/** Ready once every port accepts a TCP connection. */
export function tcpListening(ports: readonly number[], host = '127.0.0.1'): ReadyCheck {
  const accepts = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  return async () => (await Promise.all(ports.map(accepts))).every(Boolean);
}

/** Ready once a GET of the URL answers 2xx. */
export function httpOk(url: string, requestTimeoutMs = 2000): ReadyCheck {
  return async () => {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(requestTimeoutMs) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false; // not listening yet
    }
  };
}
