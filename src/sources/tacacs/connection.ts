// One TCP connection to a TACACS+ server: connect, send a packet, read exactly one framed reply.
// Every wait is bounded by the timeout; failures of the network are told apart from bad replies.
import { connect, type Socket } from 'node:net';
import { GateError } from '../../errors.js';
import { HEADER_LEN, decodeHeader, type ReplyExpectation } from './packet.js';

/** Timeout, refusal, reset or a close before the reply: the caller may try the next server. */
export class NetworkFailure extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(reason, options);
    this.name = 'NetworkFailure';
  }
}

export interface ConnectOptions {
  host: string;
  port: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

export class TacacsConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private failure: NetworkFailure | undefined;
  private wake: (() => void) | undefined;
  /** Set once the server agreed to single-connection mode on this connection. */
  singleConnect = false;
  /** Packets written; only the very first may ask for single-connection mode. */
  packetsSent = 0;

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.wake?.();
    });
    socket.on('error', (err) => this.fail(new NetworkFailure(`network error: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new NetworkFailure('connection closed by the server')));
  }

  static open(opts: ConnectOptions): Promise<TacacsConnection> {
    return new Promise((resolve, reject) => {
      if (opts.signal?.aborted) return reject(abortError());
      const socket = connect({ host: opts.host, port: opts.port, noDelay: true });
      const done = (err?: Error) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        socket.off('error', onError);
        if (err) {
          socket.destroy();
          reject(err);
        } else {
          resolve(new TacacsConnection(socket, opts.timeoutMs));
        }
      };
      const onError = (err: NodeJS.ErrnoException) => done(new NetworkFailure(`connect failed: ${err.code ?? err.message}`, { cause: err }));
      const onAbort = () => done(abortError());
      const timer = setTimeout(() => done(new NetworkFailure(`connect timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
      socket.once('error', onError);
      socket.once('connect', () => done());
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Open, and nothing unread: bytes arriving between sessions make a connection unfit for reuse. */
  get usable(): boolean {
    return this.failure === undefined && !this.socket.destroyed && this.buffer.length === 0;
  }

  /** Sends one packet and returns the raw reply (header + body), with the header already checked. */
  async exchange(packet: Buffer, expect: ReplyExpectation, signal?: AbortSignal): Promise<Buffer> {
    if (this.failure) throw this.failure;
    if (this.buffer.length > 0) throw new GateError('ERR_SOURCE_PROTOCOL', 'TACACS+ reply dropped: server sent data nobody asked for');
    this.packetsSent++;
    this.socket.write(packet);
    const head = await this.read(HEADER_LEN, signal);
    // Checked before the body is awaited, so a lying length cannot make us wait or buffer.
    const header = decodeHeader(head, expect);
    const body = await this.read(header.length, signal);
    return Buffer.concat([head, body]);
  }

  close(): void {
    this.failure ??= new NetworkFailure('connection closed');
    this.socket.destroy();
  }

  /** Idle connections in single-connection mode must not keep the process alive. */
  unref(): void {
    this.socket.unref();
  }

  ref(): void {
    this.socket.ref();
  }

  private fail(err: NetworkFailure): void {
    this.failure ??= err;
    this.wake?.();
  }

  private read(n: number, signal?: AbortSignal): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const finish = (err: Error | undefined) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.wake = undefined;
        if (err) {
          this.close();
          reject(err);
          return;
        }
        const out = this.buffer.subarray(0, n);
        this.buffer = this.buffer.subarray(n);
        resolve(out);
      };
      const check = () => {
        if (this.buffer.length >= n) finish(undefined);
        else if (this.failure) finish(this.failure);
      };
      const onAbort = () => finish(abortError());
      const timer = setTimeout(() => finish(new NetworkFailure(`no reply within ${this.timeoutMs} ms`)), this.timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.wake = check;
      check();
    });
  }
}

function abortError(): GateError {
  return new GateError('ERR_SOURCE_UNAVAILABLE', 'TACACS+ request aborted', { detail: { reason: 'aborted' } });
}
