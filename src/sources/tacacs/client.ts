// TACACS+ client sessions (RFC 8907 §5 authentication, §6 authorization) over a list of servers:
// failover only on network failure, hold-down of servers that failed, optional single-connection.
import { randomBytes } from 'node:crypto';
import { GateError, isGateError } from '../../errors.js';
import type { SourceMetrics } from '../../metrics/hooks.js';
import type { Logger } from '../../types.js';
import type { TacacsSourceConfig } from './config.js';
import { NetworkFailure, TacacsConnection } from './connection.js';
import {
  AUTHEN_STATUS,
  AUTHEN_TYPE,
  AUTHOR_STATUS,
  FLAG,
  MAJOR_VERSION,
  MINOR_DEFAULT,
  MINOR_ONE,
  TYPE,
  decodeReply,
  encodeAuthenContinue,
  encodeAuthenStart,
  encodeAuthorRequest,
  encodePacket,
  protocolError,
  type AuthenReply,
  type AuthorReply,
  type PacketType,
} from './packet.js';

export interface Server {
  host: string;
  port: number;
}

export interface LoginResult {
  server: string;
  /** The AV pairs of the authorization reply ([] when authorization is disabled). */
  av: string[];
  authorStatus?: 'pass_add' | 'pass_repl';
}

/** Bounds the GETUSER/GETPASS dialogue; a real login needs two rounds. */
const MAX_ASCII_ROUNDS = 4;

function rejected(reason: string, detail: Record<string, unknown> = {}): GateError {
  return new GateError('ERR_AUTH_REJECTED', `TACACS+ ${reason}`, { detail: { reason, ...detail } });
}

const serverName = (s: Server) => (s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`);

/** One TACACS+ session (one session_id) on one connection. */
class Session {
  private readonly id = randomBytes(4).readUInt32BE(0);
  private seq = 1;

  constructor(
    private readonly conn: TacacsConnection,
    private readonly type: PacketType,
    private readonly cfg: TacacsSourceConfig,
    private readonly secret: Buffer,
    private readonly signal: AbortSignal | undefined,
  ) {}

  async send(body: Buffer, minor: number): Promise<{ body: AuthenReply | AuthorReply; flags: number }> {
    if (this.seq > 253) throw protocolError('session ran out of sequence numbers');
    // Only the first packet of a connection may ask for single-connection mode (RFC 8907 §4.3).
    const askSingle = this.cfg.singleConnection && this.conn.packetsSent === 0;
    const header = {
      version: (MAJOR_VERSION << 4) | minor,
      type: this.type,
      seq: this.seq,
      flags: askSingle ? FLAG.SINGLE_CONNECT : 0,
      sessionId: this.id,
    };
    const expect = { type: this.type, sessionId: this.id, seq: this.seq, allowUnencrypted: this.cfg.insecureAllowUnencrypted };
    const raw = await this.conn.exchange(encodePacket(header, body, this.secret), expect, this.signal);
    const reply = decodeReply(raw, expect, this.secret);
    if (askSingle && (reply.header.flags & FLAG.SINGLE_CONNECT) !== 0) this.conn.singleConnect = true;
    this.seq += 2;
    return { body: reply.body, flags: reply.header.flags };
  }
}

export class TacacsClient {
  private readonly secret: Buffer;
  private readonly heldUntil = new Map<string, number>();
  /** Single-connection mode: one idle connection per server the server agreed to keep. */
  private readonly idle = new Map<string, TacacsConnection>();
  private readonly idleTimers = new Map<string, NodeJS.Timeout>();

  constructor(
    private readonly cfg: TacacsSourceConfig,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly metrics?: SourceMetrics,
  ) {
    this.secret = Buffer.from(cfg.secret, 'utf8');
  }

  /**
   * Authenticates, then (if enabled) authorizes, on the first server that answers. A server is
   * left for the next one only on a network failure; any answer, FAIL included, is final.
   */
  async login(username: string, password: string, remAddr: string, signal?: AbortSignal): Promise<LoginResult> {
    const failures: string[] = [];
    for (const server of this.serverOrder()) {
      const name = serverName(server);
      const started = performance.now();
      const report = (outcome: 'answered' | 'timeout' | 'error') =>
        this.metrics?.aaaRequest({ source: this.cfg.id, protocol: 'tacacs', server: name, outcome, seconds: (performance.now() - started) / 1000 });
      try {
        const result = await this.onServer(server, signal, async (next) => {
          await this.authenticate(await next(), username, password, remAddr, signal);
          if (!this.cfg.authorization.enabled) return { server: name, av: [] };
          return { server: name, ...(await this.authorize(await next(), username, remAddr, signal)) };
        });
        this.heldUntil.delete(name);
        report('answered');
        return result;
      } catch (err) {
        if (!(err instanceof NetworkFailure)) {
          // A FAIL (rejected credentials) is an answer; a reply that does not decode is not.
          report(isGateError(err, 'ERR_SOURCE_PROTOCOL') || !isGateError(err) ? 'error' : 'answered');
          if (isGateError(err, 'ERR_SOURCE_PROTOCOL')) this.logger.warn({ server: name, reason: err.detail['reason'] }, 'TACACS+ reply dropped');
          throw err;
        }
        // NetworkFailure reasons say "timed out" / "no reply within" for silence (connection.ts).
        report(/timed out|no reply within/.test(err.reason) ? 'timeout' : 'error');
        this.metrics?.aaaFailover({ source: this.cfg.id, protocol: 'tacacs', server: name });
        failures.push(`${name}: ${err.reason}`);
        this.heldUntil.set(name, this.now() + this.cfg.holdDown);
        this.logger.warn({ server: name, reason: err.reason, holdDownMs: this.cfg.holdDown }, 'TACACS+ server unreachable, trying the next');
      }
    }
    throw new GateError('ERR_SOURCE_UNAVAILABLE', `no TACACS+ server answered (${failures.join('; ')})`, { detail: { failures } });
  }

  /**
   * Authorization alone (RFC 8907 §6 needs no password): what the server says of the user now.
   * Directory sync uses it; FAIL (an unknown or removed user) is ERR_AUTH_REJECTED.
   */
  async authorizeOnly(username: string, remAddr: string, signal?: AbortSignal): Promise<LoginResult> {
    const failures: string[] = [];
    for (const server of this.serverOrder()) {
      const name = serverName(server);
      try {
        const result = await this.onServer(server, signal, async (next) => ({ server: name, ...(await this.authorize(await next(), username, remAddr, signal)) }));
        this.heldUntil.delete(name);
        return result;
      } catch (err) {
        if (!(err instanceof NetworkFailure)) throw err;
        failures.push(`${name}: ${err.reason}`);
        this.heldUntil.set(name, this.now() + this.cfg.holdDown);
      }
    }
    throw new GateError('ERR_SOURCE_UNAVAILABLE', `no TACACS+ server answered (${failures.join('; ')})`, { detail: { failures } });
  }

  async close(): Promise<void> {
    for (const t of this.idleTimers.values()) clearTimeout(t);
    this.idleTimers.clear();
    for (const c of this.idle.values()) c.close();
    this.idle.clear();
  }

  /** Servers in config order, held-down ones skipped, unless all are held down: then all, in order. */
  private serverOrder(): Server[] {
    const t = this.now();
    const live = this.cfg.servers.filter((s) => (this.heldUntil.get(serverName(s)) ?? 0) <= t);
    return live.length > 0 ? live : [...this.cfg.servers];
  }

  /**
   * Runs fn against one server. fn calls `next()` for the connection of each new session: the
   * same connection when the server agreed to single-connection mode, else a fresh one (RFC 8907
   * §4.3: without that agreement the connection ends with the session).
   */
  private async onServer<T>(server: Server, signal: AbortSignal | undefined, fn: (next: () => Promise<TacacsConnection>) => Promise<T>): Promise<T> {
    const name = serverName(server);
    const reused = this.takeIdle(name);
    if (reused) {
      try {
        return await this.runOn(name, server, reused, signal, fn);
      } catch (err) {
        // A kept connection the server has since closed is no sign the server is down: retry fresh.
        if (!(err instanceof NetworkFailure)) throw err;
        this.logger.debug({ server: name, reason: err.reason }, 'TACACS+ kept connection dropped, reconnecting');
      }
    }
    return this.runOn(name, server, undefined, signal, fn);
  }

  private async runOn<T>(
    name: string,
    server: Server,
    first: TacacsConnection | undefined,
    signal: AbortSignal | undefined,
    fn: (next: () => Promise<TacacsConnection>) => Promise<T>,
  ): Promise<T> {
    let current = first;
    let used = false;
    const next = async (): Promise<TacacsConnection> => {
      if (current && (!used || (current.singleConnect && current.usable))) {
        used = true;
        return current;
      }
      current?.close();
      current = await TacacsConnection.open({ host: server.host, port: server.port, timeoutMs: this.cfg.timeout, signal });
      used = true;
      return current;
    };
    let ok = false;
    try {
      const out = await fn(next);
      ok = true;
      return out;
    } finally {
      if (current) {
        if (ok && current.singleConnect && current.usable && !this.idle.has(name)) this.keepIdle(name, current);
        else current.close();
      }
    }
  }

  private takeIdle(name: string): TacacsConnection | undefined {
    const conn = this.idle.get(name);
    this.idle.delete(name);
    clearTimeout(this.idleTimers.get(name));
    this.idleTimers.delete(name);
    if (conn && !conn.usable) return undefined;
    conn?.ref();
    return conn;
  }

  private keepIdle(name: string, conn: TacacsConnection): void {
    conn.unref();
    this.idle.set(name, conn);
    // Servers drop idle connections after a while; ours go first so reuse rarely hits a dead one.
    const timer = setTimeout(() => {
      if (this.idle.get(name) === conn) this.idle.delete(name);
      this.idleTimers.delete(name);
      conn.close();
    }, 10_000);
    timer.unref();
    this.idleTimers.set(name, timer);
  }

  private authenType(): number {
    return this.cfg.authenType === 'pap' ? AUTHEN_TYPE.PAP : AUTHEN_TYPE.ASCII;
  }

  private async authenticate(conn: TacacsConnection, user: string, password: string, remAddr: string, signal?: AbortSignal): Promise<void> {
    const session = new Session(conn, TYPE.AUTHEN, this.cfg, this.secret, signal);
    const pap = this.cfg.authenType === 'pap';
    const start = encodeAuthenStart({
      authenType: this.authenType(),
      user,
      port: this.cfg.port,
      remAddr,
      data: pap ? Buffer.from(password, 'utf8') : Buffer.alloc(0),
    });
    let reply = (await session.send(start, pap ? MINOR_ONE : MINOR_DEFAULT)).body as AuthenReply;
    const minor = pap ? MINOR_ONE : MINOR_DEFAULT;
    let sentUser = false;
    let sentPass = false;
    for (let round = 0; ; round++) {
      switch (reply.status) {
        case AUTHEN_STATUS.PASS:
          return;
        case AUTHEN_STATUS.FAIL:
          throw rejected('authentication failed', { serverMessage: reply.serverMsg });
        case AUTHEN_STATUS.ERROR:
          this.logger.warn({ serverMessage: reply.serverMsg }, 'TACACS+ server reported an authentication error');
          throw rejected('server reported an authentication error', { serverMessage: reply.serverMsg });
        case AUTHEN_STATUS.FOLLOW:
          // RFC 8907 §5.4.3 lets a client treat FOLLOW as FAIL; following it would let a server redirect our secret.
          throw rejected('server answered FOLLOW, which is treated as FAIL', { serverMessage: reply.serverMsg });
        case AUTHEN_STATUS.RESTART:
          throw rejected(`server does not accept authenType "${this.cfg.authenType}" (RESTART)`, { serverMessage: reply.serverMsg });
      }
      if (pap) throw protocolError(`status 0x${reply.status.toString(16)} in answer to a PAP START`);
      if (round >= MAX_ASCII_ROUNDS) throw protocolError('ASCII login did not finish');
      let answer: Buffer;
      if (reply.status === AUTHEN_STATUS.GETUSER && !sentUser) {
        answer = Buffer.from(user, 'utf8');
        sentUser = true;
      } else if (reply.status === AUTHEN_STATUS.GETPASS && !sentPass) {
        answer = Buffer.from(password, 'utf8');
        sentPass = true;
      } else {
        // A second prompt means the first answer was refused; GETDATA (e.g. a new-password
        // dialogue) needs a human. Abort the session cleanly either way.
        await session.send(encodeAuthenContinue(Buffer.from('netbox-gate cannot answer this prompt'), true), minor).catch(() => undefined);
        const what = reply.status === AUTHEN_STATUS.GETDATA ? 'server asked for data the gateway cannot give' : 'authentication failed (server prompted again)';
        throw rejected(what, { serverMessage: reply.serverMsg });
      }
      reply = (await session.send(encodeAuthenContinue(answer), minor)).body as AuthenReply;
    }
  }

  private async authorize(conn: TacacsConnection, user: string, remAddr: string, signal?: AbortSignal): Promise<Omit<LoginResult, 'server'>> {
    const a = this.cfg.authorization;
    const args = [`service=${a.service}`];
    if (a.protocol !== undefined) args.push(`protocol=${a.protocol}`);
    // RFC 8907 §8.2: cmd must be present for service=shell; empty means the shell itself.
    const hasCmd = a.extraArgs.some((p) => /^cmd[=*]/.test(p));
    if (a.service === 'shell' && !hasCmd) args.push('cmd=');
    args.push(...a.extraArgs);
    const session = new Session(conn, TYPE.AUTHOR, this.cfg, this.secret, signal);
    const body = encodeAuthorRequest({ authenType: this.authenType(), user, port: this.cfg.port, remAddr, args });
    const reply = (await session.send(body, MINOR_DEFAULT)).body as AuthorReply;
    switch (reply.status) {
      case AUTHOR_STATUS.PASS_ADD:
        return { av: reply.args, authorStatus: 'pass_add' };
      case AUTHOR_STATUS.PASS_REPL:
        return { av: reply.args, authorStatus: 'pass_repl' };
      case AUTHOR_STATUS.FAIL:
        throw rejected(`authorization refused for service=${a.service}`, { serverMessage: reply.serverMsg });
      case AUTHOR_STATUS.ERROR:
        this.logger.warn({ serverMessage: reply.serverMsg }, 'TACACS+ server reported an authorization error');
        throw rejected(`authorization error for service=${a.service}`, { serverMessage: reply.serverMsg });
      default:
        throw rejected('authorization answered FOLLOW, which is treated as FAIL', { serverMessage: reply.serverMsg });
    }
  }
}
