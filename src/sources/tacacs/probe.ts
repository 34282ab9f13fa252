// Tells whether a TACACS+ server answers and shares our key, without a real account (used by
// `netbox-gate doctor`): an authentication START for a user that does not exist.
import { randomBytes } from 'node:crypto';
import { isGateError } from '../../errors.js';
import type { TacacsSourceConfig } from './config.js';
import { NetworkFailure, TacacsConnection } from './connection.js';
import { AUTHEN_STATUS, AUTHEN_TYPE, MAJOR_VERSION, MINOR_DEFAULT, MINOR_ONE, TYPE, decodeReply, encodeAuthenContinue, encodeAuthenStart, encodePacket, type AuthenReply } from './packet.js';

export type TacacsKeyProbe =
  /** The reply decoded into a valid packet: the key is right. `status` is what the server said about the probe user. */
  | { result: 'key_ok'; status: string }
  /** The reply did not decode: the server uses another key (or is not a TACACS+ server). */
  | { result: 'bad_key'; reason: string }
  /** Connected, but the server closed or stayed silent: tac_plus-style servers drop packets they cannot decrypt. */
  | { result: 'no_reply'; reason: string }
  | { result: 'unreachable'; reason: string };

const STATUS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(AUTHEN_STATUS).map(([k, v]) => [v, k]));

/**
 * One START (the configured authenType; PAP with a random password) for `probeUser`, on a fresh
 * connection; an ASCII prompt is answered with an abort so the server ends the session at once.
 */
export async function probeTacacsKey(
  cfg: Pick<TacacsSourceConfig, 'secret' | 'authenType' | 'timeout' | 'port' | 'insecureAllowUnencrypted'>,
  server: { host: string; port: number },
  probeUser: string,
  signal?: AbortSignal,
): Promise<TacacsKeyProbe> {
  const secret = Buffer.from(cfg.secret, 'utf8');
  let conn: TacacsConnection;
  try {
    conn = await TacacsConnection.open({ host: server.host, port: server.port, timeoutMs: cfg.timeout, ...(signal ? { signal } : {}) });
  } catch (err) {
    return { result: 'unreachable', reason: err instanceof Error ? err.message : String(err) };
  }
  try {
    const pap = cfg.authenType === 'pap';
    const minor = pap ? MINOR_ONE : MINOR_DEFAULT;
    const sessionId = randomBytes(4).readUInt32BE(0);
    const version = (MAJOR_VERSION << 4) | minor;
    const start = encodeAuthenStart({
      authenType: pap ? AUTHEN_TYPE.PAP : AUTHEN_TYPE.ASCII,
      user: probeUser,
      port: cfg.port,
      remAddr: 'netbox-gate-doctor',
      data: pap ? randomBytes(24) : Buffer.alloc(0),
    });
    const expect = { type: TYPE.AUTHEN, sessionId, seq: 1, allowUnencrypted: cfg.insecureAllowUnencrypted };
    let reply: AuthenReply;
    try {
      const raw = await conn.exchange(encodePacket({ version, type: TYPE.AUTHEN, seq: 1, flags: 0, sessionId }, start, secret), expect, signal);
      reply = decodeReply(raw, expect, secret).body as AuthenReply;
    } catch (err) {
      if (err instanceof NetworkFailure) return { result: 'no_reply', reason: err.reason };
      if (isGateError(err, 'ERR_SOURCE_PROTOCOL')) return { result: 'bad_key', reason: String(err.detail['reason'] ?? err.message) };
      throw err;
    }
    if (reply.status === AUTHEN_STATUS.GETUSER || reply.status === AUTHEN_STATUS.GETPASS || reply.status === AUTHEN_STATUS.GETDATA) {
      const abort = encodePacket({ version, type: TYPE.AUTHEN, seq: 3, flags: 0, sessionId }, encodeAuthenContinue(Buffer.from('netbox-gate doctor probe'), true), secret);
      await conn.exchange(abort, { ...expect, seq: 3 }, signal).catch(() => undefined);
    }
    return { result: 'key_ok', status: STATUS_NAMES[reply.status] ?? `0x${reply.status.toString(16)}` };
  } finally {
    conn.close();
  }
}
