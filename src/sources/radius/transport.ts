// Sends one RADIUS request over node:dgram and waits for its verified reply: retries, timeout,
// reply matching, and failover across servers with a hold-down for servers that did not answer.
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { randomInt } from 'node:crypto';
import { GateError, isGateError } from '../../errors.js';
import type { SourceMetrics } from '../../metrics/hooks.js';
import type { Logger } from '../../types.js';
import { decodePacket, verifyReply, type RawPacket } from './packet.js';

export interface ServerAddress {
  host: string;
  port: number;
}

export interface ExchangeOptions {
  timeoutMs: number;
  retries: number;
  logger: Logger;
  signal?: AbortSignal | undefined;
  /** Per-server latency, timeouts and failovers, labelled with this source id. */
  metrics?: { hooks: SourceMetrics; source: string } | undefined;
}

/** Builds the request for one server; called again for the next server (fresh id and authenticator). */
export type BuildRequest = (id: number) => { bytes: Buffer; authenticator: Buffer };

type Failure = { kind: 'timeout' | 'network' | 'invalid' | 'aborted'; reason: string; cause?: unknown };

class ExchangeFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.reason);
  }
}

export function serverLabel(s: ServerAddress): string {
  return isIP(s.host) === 6 ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

async function resolve(host: string, timeoutMs: number): Promise<{ address: string; family: 4 | 6 }> {
  const fam = isIP(host);
  if (fam === 4 || fam === 6) return { address: host, family: fam };
  // getaddrinfo has no timeout of its own; bound it so a stuck resolver cannot hang a sign-in.
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = await Promise.race([
      lookup(host),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`DNS lookup of ${host} timed out`)), timeoutMs);
      }),
    ]);
    return { address: r.address, family: r.family === 6 ? 6 : 4 };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One request to one server. A fresh socket per exchange gives a random source port, which with
 * the random identifier makes blind spoofing of replies harder. The socket is not connected so
 * that replies from elsewhere reach us and are logged as dropped, not silently filtered.
 */
export async function exchange(server: ServerAddress, build: BuildRequest, requestCode: number, secret: Buffer, opts: ExchangeOptions): Promise<RawPacket> {
  const label = serverLabel(server);
  if (opts.signal?.aborted) throw new ExchangeFailure({ kind: 'aborted', reason: 'aborted' });
  let target: { address: string; family: 4 | 6 };
  try {
    target = await resolve(server.host, opts.timeoutMs);
  } catch (cause) {
    throw new ExchangeFailure({ kind: 'network', reason: `cannot resolve ${server.host}`, cause });
  }
  const id = randomInt(256);
  const req = build(id);
  const socket: Socket = createSocket(target.family === 6 ? 'udp6' : 'udp4');
  return new Promise<RawPacket>((resolvePromise, rejectPromise) => {
    let attempts = 0;
    let timer: NodeJS.Timeout | undefined;
    let lastInvalid: string | undefined;
    let done = false;
    const finish = (err: ExchangeFailure | undefined, reply?: RawPacket): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.removeAllListeners('message');
      socket.on('error', () => {});
      socket.close();
      if (err) rejectPromise(err);
      else resolvePromise(reply!);
    };
    const drop = (reason: string, extra: Record<string, unknown> = {}): void => {
      opts.logger.warn({ server: label, reason, ...extra }, 'radius reply dropped');
    };
    const onAbort = (): void => finish(new ExchangeFailure({ kind: 'aborted', reason: 'aborted' }));
    const send = (): void => {
      attempts++;
      socket.send(req.bytes, server.port, target.address, (err) => {
        if (err) finish(new ExchangeFailure({ kind: 'network', reason: `send failed: ${err.message}`, cause: err }));
      });
      timer = setTimeout(() => {
        if (attempts <= opts.retries) {
          opts.logger.debug({ server: label, attempt: attempts + 1 }, 'radius retransmit');
          send();
        } else if (lastInvalid !== undefined) {
          finish(new ExchangeFailure({ kind: 'invalid', reason: lastInvalid }));
        } else {
          finish(new ExchangeFailure({ kind: 'timeout', reason: `no reply after ${attempts} attempt(s) of ${opts.timeoutMs} ms` }));
        }
      }, opts.timeoutMs);
    };
    socket.on('message', (msg: Buffer, rinfo) => {
      if (rinfo.address !== target.address || rinfo.port !== server.port) {
        drop('reply from an unexpected address', { from: `${rinfo.address}:${rinfo.port}` });
        return;
      }
      let reply: RawPacket;
      try {
        reply = decodePacket(msg);
      } catch (err) {
        drop(isGateError(err) ? String(err.detail['reason']) : 'malformed packet');
        return;
      }
      if (reply.id !== id) {
        drop('identifier does not match the request', { id: reply.id, expected: id });
        return;
      }
      try {
        verifyReply(reply, req.bytes[0]!, req.authenticator, secret);
      } catch (err) {
        // Keep waiting: a forged reply must not cut short the real one. Remembered so that a
        // wrong shared secret is reported as such instead of as a timeout.
        lastInvalid = isGateError(err) ? String(err.detail['reason']) : 'reply does not verify';
        drop(lastInvalid, { id: reply.id });
        return;
      }
      finish(undefined, reply);
    });
    socket.on('error', (err) => finish(new ExchangeFailure({ kind: 'network', reason: `socket error: ${err.message}`, cause: err })));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    send();
  });
}

/**
 * Servers in configured order, with the ones that recently failed moved to the end until their
 * hold-down expires: a dead first server then costs one timeout per hold-down period, not one
 * per sign-in. When every server is held down, all are still tried in order.
 */
export class ServerPool {
  private readonly downUntil = new Map<string, number>();

  constructor(
    readonly servers: readonly ServerAddress[],
    private readonly holdDownMs: number,
    private readonly now: () => number,
  ) {}

  order(): ServerAddress[] {
    const t = this.now();
    const up = this.servers.filter((s) => (this.downUntil.get(serverLabel(s)) ?? 0) <= t);
    const down = this.servers.filter((s) => (this.downUntil.get(serverLabel(s)) ?? 0) > t);
    return [...up, ...down];
  }

  markDown(s: ServerAddress): void {
    this.downUntil.set(serverLabel(s), this.now() + this.holdDownMs);
  }

  markUp(s: ServerAddress): void {
    this.downUntil.delete(serverLabel(s));
  }
}

/**
 * Asks the servers in pool order until one gives a verified reply. Only silence, network errors
 * and unverifiable replies move on to the next server; any verified reply (Accept, Reject,
 * Challenge, Accounting-Response) is final and returned.
 */
export async function exchangeWithFailover(
  pool: ServerPool,
  build: BuildRequest,
  requestCode: number,
  secret: Buffer,
  opts: ExchangeOptions,
): Promise<{ reply: RawPacket; server: string }> {
  const failures: string[] = [];
  let sawInvalid = false;
  for (const server of pool.order()) {
    const label = serverLabel(server);
    const started = performance.now();
    const m = opts.metrics;
    try {
      const reply = await exchange(server, build, requestCode, secret, opts);
      pool.markUp(server);
      m?.hooks.aaaRequest({ source: m.source, protocol: 'radius', server: label, outcome: 'answered', seconds: (performance.now() - started) / 1000 });
      return { reply, server: label };
    } catch (err) {
      if (!(err instanceof ExchangeFailure)) throw err;
      const f = err.failure;
      if (f.kind === 'aborted') {
        throw new GateError('ERR_SOURCE_UNAVAILABLE', 'RADIUS request aborted', { detail: { server: label } });
      }
      if (m) {
        m.hooks.aaaRequest({ source: m.source, protocol: 'radius', server: label, outcome: f.kind === 'timeout' ? 'timeout' : 'error', seconds: (performance.now() - started) / 1000 });
        m.hooks.aaaFailover({ source: m.source, protocol: 'radius', server: label });
      }
      if (f.kind === 'invalid') sawInvalid = true;
      pool.markDown(server);
      failures.push(`${label}: ${f.reason}`);
      opts.logger.warn({ server: label, failure: f.kind, reason: f.reason }, 'radius server failed; trying the next one');
    }
  }
  if (sawInvalid) {
    throw new GateError('ERR_SOURCE_PROTOCOL', `No verifiable RADIUS reply (check the shared secret): ${failures.join('; ')}`, {
      detail: { failures },
    });
  }
  throw new GateError('ERR_SOURCE_UNAVAILABLE', `No RADIUS server answered: ${failures.join('; ')}`, { detail: { failures } });
}
