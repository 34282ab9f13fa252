// One LDAP connection (ldapts) with TLS or StartTLS, timeouts on every step, and failover over
// the configured servers: the next server is tried only when one cannot be reached.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { Client, FilterParser, ResultCodeError, type Filter } from 'ldapts';
import { GateError } from '../../errors.js';
import type { SourceMetrics } from '../../metrics/hooks.js';
import type { Logger } from '../../types.js';
import type { ResolvedLdapConfig } from './config.js';

/** An entry with attribute names lower-cased (LDAP names are case-insensitive) and values as strings. */
export interface LdapEntry {
  dn: string;
  attrs: Record<string, string[]>;
}

export interface SearchParams {
  scope: 'base' | 'one' | 'sub';
  filter: string;
  attributes: string[];
  sizeLimit: number;
}

/** What the source needs from a connection; tests supply fakes. */
export interface LdapSession {
  readonly url: string;
  bind(dn: string, password: string): Promise<void>;
  search(base: string, params: SearchParams): Promise<LdapEntry[]>;
  close(): Promise<void>;
}

export type Connector = (url: string, signal?: AbortSignal) => Promise<LdapSession>;

/**
 * A failed LDAP step. `down` marks failures that say nothing about the request (refused,
 * timed out, TLS, server busy/unavailable): only those move on to the next server.
 */
export class LdapOpError extends Error {
  constructor(
    readonly op: string,
    readonly resultCode: number | undefined,
    readonly down: boolean,
    message: string,
    options: { cause?: unknown; diagnostic?: string } = {},
  ) {
    super(message, options);
    this.name = 'LdapOpError';
    if (options.diagnostic !== undefined) this.diagnostic = options.diagnostic;
  }

  /** The server's diagnostic message (AD puts the reason for a refused bind here). */
  readonly diagnostic?: string;
}

export const RESULT_REFERRAL = 10;
export const RESULT_NO_SUCH_OBJECT = 32;
export const RESULT_INVALID_CREDENTIALS = 49;
/** strongerAuthRequired / confidentialityRequired: the server wants TLS (or signing) for a simple bind. */
export const RESULTS_TLS_REQUIRED: ReadonlySet<number> = new Set([8, 13]);
// busy, unavailable: the server is there but cannot serve; another one may.
const TRANSIENT_RESULTS = new Set([51, 52]);

const TLS_CODES = /CERT|SELF_SIGNED|UNABLE_TO_|ERR_TLS|ERR_SSL|EPROTO/;

function describe(op: string, err: unknown): LdapOpError {
  if (err instanceof LdapOpError) return err;
  if (err instanceof ResultCodeError) {
    // ldapts appends " Code: 0x31" to the server's diagnostic message.
    const diagnostic = err.message.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
    // AD answers a base outside its naming contexts with a referral (result 10), which ldapts
    // reports as an unknown code and, like this source, never follows.
    const what = err.code === RESULT_REFERRAL ? 'Referral' : err.name.replace(/Error$/, '');
    const note = err.code === RESULT_REFERRAL ? ', not followed' : '';
    return new LdapOpError(op, err.code, TRANSIENT_RESULTS.has(err.code), `${op}: ${what} (result ${err.code}${note})`, {
      cause: err,
      ...(diagnostic ? { diagnostic } : {}),
    });
  }
  const e = err as NodeJS.ErrnoException;
  const code = typeof e?.code === 'string' ? e.code : '';
  const msg = e instanceof Error ? e.message.split('\n').pop()! : String(err);
  if (TLS_CODES.test(code) || /certificate|ssl|tls/i.test(msg)) {
    return new LdapOpError(op, undefined, true, `${op}: TLS certificate check failed (${code ? `${code}: ` : ''}${msg})`, { cause: err });
  }
  return new LdapOpError(op, undefined, true, `${op}: ${code && !msg.includes(code) ? `${code} ` : ''}${msg}`, { cause: err });
}

async function withDeadline<T>(p: Promise<T>, ms: number, onTimeout: () => void, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`${what} timed out after ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

function toEntry(raw: Record<string, unknown>): LdapEntry {
  const attrs: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'dn') continue;
    const values = (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
    const key = k.toLowerCase();
    attrs[key] = [...(attrs[key] ?? []), ...values];
  }
  return { dn: String(raw.dn), attrs };
}

/** TLS settings built once at start-up (the CA file is read here, so a bad path fails early). */
export function tlsSettings(cfg: ResolvedLdapConfig): tls.ConnectionOptions {
  let ca: Buffer | undefined;
  if (cfg.tls.caFile !== undefined) {
    try {
      ca = readFileSync(cfg.tls.caFile);
    } catch (err) {
      throw new GateError('ERR_SOURCE_CONFIG', `LDAP source "${cfg.id}": cannot read tls.caFile ${cfg.tls.caFile}`, { cause: err });
    }
  }
  return {
    minVersion: 'TLSv1.2',
    rejectUnauthorized: !cfg.tls.insecureSkipVerify,
    ...(ca ? { ca } : {}),
    ...(cfg.tls.servername ? { servername: cfg.tls.servername } : {}),
  };
}

/** Connects with ldapts; returns once the connection is ready for a bind (TLS done). */
export function ldaptsConnector(cfg: ResolvedLdapConfig, tlsOptions: tls.ConnectionOptions): Connector {
  return async (url, signal) => {
    if (signal?.aborted) throw new LdapOpError('connect', undefined, true, 'connect: cancelled');
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const ldaps = u.protocol === 'ldaps:';
    // Certificate names are checked against the host; SNI must not carry an IP (RFC 6066).
    const forHost: tls.ConnectionOptions = { ...tlsOptions, ...(tlsOptions.servername || net.isIP(host) ? {} : { servername: host }) };
    let socket: net.Socket | undefined;
    let opened = 0;
    // ldapts silently reconnects when a connection drops; after StartTLS that would send the
    // next bind in clear text. One connection per session, never a second one.
    const once = (): void => {
      if (++opened > 1) throw new Error('connection lost (not reconnecting)');
    };
    const client = new Client({
      url: `${u.protocol}//${u.host}`,
      timeout: cfg.timeout,
      connectTimeout: cfg.timeout,
      ...(ldaps ? { tlsOptions: forHost } : {}),
      createConnection: ((port: number, h: string) => {
        once();
        socket = net.connect(port, h);
        return socket;
      }) as typeof net.connect,
      createSecureConnection: ((...args: unknown[]) => {
        const opts = args.find((a): a is tls.ConnectionOptions => typeof a === 'object' && a !== null) ?? {};
        if (opts.socket === undefined) once();
        socket = (tls.connect as (...a: unknown[]) => tls.TLSSocket)(...args);
        return socket;
      }) as typeof tls.connect,
    });
    const kill = () => socket?.destroy();
    // With an error: ldapts waits for a connect or TLS handshake until its own timeout unless
    // the socket reports one, so a plain destroy() would not end a hung attempt.
    const onAbort = () => socket?.destroy(new Error('cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    let closed = false;
    const session: LdapSession = {
      url,
      async bind(dn, password) {
        try {
          await client.bind(dn, password);
        } catch (err) {
          throw describe('bind', err);
        }
      },
      async search(base, p) {
        let filter: Filter;
        try {
          filter = FilterParser.parseString(p.filter);
        } catch (err) {
          // Our own mistake, not the server's: no point in asking the next one.
          throw new LdapOpError('search', undefined, false, `search: invalid filter ${p.filter}`, { cause: err });
        }
        try {
          const res = await client.search(base, {
            scope: p.scope,
            filter,
            attributes: p.attributes,
            sizeLimit: p.sizeLimit,
            timeLimit: Math.max(1, Math.ceil(cfg.timeout / 1000)),
            derefAliases: 'never',
          });
          return res.searchEntries.map((e) => toEntry(e as Record<string, unknown>));
        } catch (err) {
          throw describe('search', err);
        }
      },
      async close() {
        if (closed) return;
        closed = true;
        signal?.removeEventListener('abort', onAbort);
        try {
          await withDeadline(client.unbind(), 1000, kill, 'unbind');
        } catch {
          // The connection is going away either way.
        }
        kill();
      },
    };
    // Without StartTLS the first bind connects (ldapts' connectTimeout bounds it); a socket or
    // TLS failure there is "down", a result code is an answer.
    if (cfg.startTls) {
      try {
        // ldapts puts a timeout on the StartTLS request but not on the TLS handshake after it.
        await withDeadline(client.startTLS({ ...forHost, host }), cfg.timeout * 2, kill, 'StartTLS');
      } catch (err) {
        await session.close();
        // A server that refuses StartTLS is unusable for us, but another one may not be.
        const e = describe('StartTLS', err);
        throw new LdapOpError(e.op, e.resultCode, true, e.message, { cause: err });
      }
    }
    return session;
  };
}

/**
 * Runs `fn` against the first server that can be reached. A GateError from `fn` is a decision
 * (wrong password, no such user) and ends the attempt; only "down" failures move on.
 */
export async function withFailover<T>(
  urls: readonly string[],
  connect: Connector,
  fn: (s: LdapSession) => Promise<T>,
  opts: { logger: Logger; signal?: AbortSignal; sourceId: string; metrics?: SourceMetrics | undefined },
): Promise<T> {
  const failures: string[] = [];
  for (const url of urls) {
    if (opts.signal?.aborted) break;
    let session: LdapSession | undefined;
    const started = performance.now();
    const report = (outcome: 'answered' | 'timeout' | 'error') =>
      opts.metrics?.aaaRequest({ source: opts.sourceId, protocol: 'ldap', server: url, outcome, seconds: (performance.now() - started) / 1000 });
    try {
      session = await connect(url, opts.signal);
      const out = await fn(session);
      report('answered');
      return out;
    } catch (err) {
      if (err instanceof GateError) {
        // A decision (wrong password, no such user) is an answer.
        report('answered');
        throw err;
      }
      const e = describe('request', err);
      report(e.down && /timed? ?out/i.test(e.message) ? 'timeout' : 'error');
      if (e.down) opts.metrics?.aaaFailover({ source: opts.sourceId, protocol: 'ldap', server: url });
      if (!e.down) {
        throw new GateError('ERR_SOURCE_CONFIG', `LDAP lookup failed on ${url}: ${e.message}; check bindDn, search bases, filters and access rights`, {
          cause: e,
          detail: { server: url, op: e.op, resultCode: e.resultCode },
        });
      }
      failures.push(`${url}: ${e.message}`);
      opts.logger.warn({ server: url, reason: e.message }, 'LDAP server unavailable, trying the next one');
    } finally {
      await session?.close();
    }
  }
  if (opts.signal?.aborted) throw new GateError('ERR_SOURCE_UNAVAILABLE', 'LDAP sign-in was cancelled', { detail: { reason: 'aborted' } });
  throw new GateError('ERR_SOURCE_UNAVAILABLE', `no LDAP server answered: ${failures.join('; ')}`, { detail: { servers: failures } });
}
