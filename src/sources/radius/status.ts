// RFC 5997 Status-Server: asks one RADIUS server whether it is alive and shares our secret,
// without a user or a password (used by `netbox-gate doctor`). FreeRADIUS: `status_server = yes`.
import { randomBytes } from 'node:crypto';
import { isGateError } from '../../errors.js';
import { silentLogger } from '../../types.js';
import type { RadiusSourceConfig } from './config.js';
import { ATTR, CODE, buildRequest, hidePassword, type RawAttribute } from './packet.js';
import { ServerPool, exchangeWithFailover, serverLabel, type ServerAddress } from './transport.js';

export type StatusServerOutcome =
  /** A verified answer (`code`: Access-Accept to Status-Server): the server is up and the shared secret is right. */
  | { server: string; result: 'alive'; code: number }
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
  return probe(config, server, build, CODE.STATUS_SERVER, signal);
}

/**
 * For servers that do not answer Status-Server (not all implement RFC 5997): an Access-Request for a user
 * that does not exist, with a random password. Any verified answer (a Reject, normally) shows
 * the server is up and shares the secret. The server logs it as a failed sign-in of `probeUser`.
 */
export async function probeWithAccessRequest(
  config: Pick<RadiusSourceConfig, 'secret' | 'nasIdentifier' | 'timeout' | 'retries'>,
  server: ServerAddress,
  probeUser: string,
  signal?: AbortSignal,
): Promise<StatusServerOutcome> {
  const secret = Buffer.from(config.secret, 'utf8');
  const build = (id: number) => {
    const ra = randomBytes(16);
    const attributes: RawAttribute[] = [
      { type: ATTR.USER_NAME, value: Buffer.from(probeUser, 'utf8') },
      { type: ATTR.USER_PASSWORD, value: hidePassword(randomBytes(16), secret, ra) },
      { type: ATTR.NAS_IDENTIFIER, value: Buffer.from(config.nasIdentifier, 'utf8') },
    ];
    return buildRequest({ code: CODE.ACCESS_REQUEST, id, requestAuthenticator: ra, attributes }, secret);
  };
  return probe(config, server, build, CODE.ACCESS_REQUEST, signal);
}

async function probe(
  config: Pick<RadiusSourceConfig, 'timeout' | 'retries'> & { secret: string },
  server: ServerAddress,
  build: (id: number) => { bytes: Buffer; authenticator: Buffer },
  code: number,
  signal: AbortSignal | undefined,
): Promise<StatusServerOutcome> {
  const secret = Buffer.from(config.secret, 'utf8');
  const label = serverLabel(server);
  // One server per pool: doctor reports every server, it does not fail over.
  const pool = new ServerPool([server], 0, Date.now);
  try {
    const { reply } = await exchangeWithFailover(pool, build, code, secret, { timeoutMs: config.timeout, retries: config.retries, logger: silentLogger, signal });
    return { server: label, result: 'alive', code: reply.code };
  } catch (err) {
    if (!isGateError(err)) throw err;
    const failures = err.detail['failures'];
    const reason = Array.isArray(failures) && typeof failures[0] === 'string' ? failures[0].replace(`${label}: `, '') : err.message;
    return err.code === 'ERR_SOURCE_PROTOCOL' ? { server: label, result: 'bad_reply', reason } : { server: label, result: 'no_answer', reason };
  }
}
