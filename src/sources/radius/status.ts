// RFC 5997 Status-Server: asks one RADIUS server whether it is alive and shares our secret,
// without a user or a password (used by `netbox-gate doctor`). FreeRADIUS: `status_server = yes`.
import { randomBytes } from 'node:crypto';
import { isGateError } from '../../errors.js';
import { silentLogger } from '../../types.js';
import type { RadiusSourceConfig } from './config.js';
import { ATTR, CODE, buildRequest, type RawAttribute } from './packet.js';
import { ServerPool, exchangeWithFailover, serverLabel, type ServerAddress } from './transport.js';

export type StatusServerOutcome =
  /** A verified Access-Accept: the server is up and the shared secret is right. */
  | { server: string; result: 'alive' }
  /** An answer that does not verify: almost always a wrong shared secret. */
  | { server: string; result: 'bad_reply'; reason: string }
  /** No answer at all (down, Status-Server disabled, our address not a client, or a wrong secret: FreeRADIUS drops those silently). */
  | { server: string; result: 'no_answer'; reason: string };

/**
 * Sends Status-Server (code 12, Message-Authenticator first, NAS-Identifier) to one server and
 * checks the reply with the same rules as a sign-in (Response Authenticator and
 * Message-Authenticator). Never throws for network or protocol failures: they are the outcome.
 */
export async function statusServer(
  config: Pick<RadiusSourceConfig, 'secret' | 'nasIdentifier' | 'timeout' | 'retries'>,
  server: ServerAddress,
  signal?: AbortSignal,
): Promise<StatusServerOutcome> {
  const secret = Buffer.from(config.secret, 'utf8');
  const build = (id: number) => {
    const attributes: RawAttribute[] = [{ type: ATTR.NAS_IDENTIFIER, value: Buffer.from(config.nasIdentifier, 'utf8') }];
    return buildRequest({ code: CODE.STATUS_SERVER, id, requestAuthenticator: randomBytes(16), attributes }, secret);
  };
  const label = serverLabel(server);
  // One server per pool: doctor reports every server, it does not fail over.
  const pool = new ServerPool([server], 0, Date.now);
  try {
    await exchangeWithFailover(pool, build, CODE.STATUS_SERVER, secret, { timeoutMs: config.timeout, retries: config.retries, logger: silentLogger, signal });
    return { server: label, result: 'alive' };
  } catch (err) {
    if (!isGateError(err)) throw err;
    const failures = err.detail['failures'];
    const reason = Array.isArray(failures) && typeof failures[0] === 'string' ? failures[0].replace(`${label}: `, '') : err.message;
    return err.code === 'ERR_SOURCE_PROTOCOL' ? { server: label, result: 'bad_reply', reason } : { server: label, result: 'no_answer', reason };
  }
}
