// The RADIUS identity source: PAP sign-in against ISE / FreeRADIUS / NPS with verified replies,
// roles from Class / Filter-Id / AV pairs, and optional RFC 2866 accounting of gateway sessions.
import { createHash, randomBytes } from 'node:crypto';
import { GateError } from '../../errors.js';
import type { Attributes, Identity } from '../../types.js';
import type { PasswordSource, SessionEndCause, SessionInfo, SignInResult, SourceContext, SourceDeps } from '../source.js';
import type { RadiusSourceConfig } from './config.js';
import { Dictionary } from './dictionary.js';
import { identityFromRadiusAttributes, type IdentityOptions } from './identity.js';
import { ATTR, CODE, MAX_PASSWORD_LEN, buildRequest, hidePassword, type RawAttribute } from './packet.js';
import { ServerPool, exchangeWithFailover, type ExchangeOptions } from './transport.js';

export type { RadiusSourceConfig, RadiusSourceInput } from './config.js';

const SERVICE_TYPE_LOGIN = 1;
const NAS_PORT_TYPE_VIRTUAL = 5;
const ACCT_START = 1;
const ACCT_STOP = 2;
const ACCT_AUTHENTIC_RADIUS = 1;

/** RFC 2866 §5.10 causes for the ways a gateway session ends. */
const TERMINATE_CAUSE: Record<SessionEndCause, number> = {
  logout: 1, // User-Request
  expired: 5, // Session-Timeout
  revoked: 6, // Admin-Reset
  denied: 10, // NAS-Request: the gateway's policy ended it
  stale: 10, // NAS-Request: the gateway could not re-check the user for too long
};

function str(type: number, value: string): RawAttribute {
  return { type, value: Buffer.from(value, 'utf8') };
}
function int(type: number, value: number): RawAttribute {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value >>> 0);
  return { type, value: b };
}
function ipv4(type: number, value: string): RawAttribute {
  return { type, value: Buffer.from(value.split('.').map(Number)) };
}

/**
 * Acct-Session-Id from the gateway session id: hashed so the session cookie value never leaves
 * the gateway, shortened because NAS and ISE reports show it.
 */
export function accountingSessionId(sessionId: string): string {
  return createHash('sha256').update(sessionId).digest('hex').slice(0, 16);
}

export function createRadiusSource(config: RadiusSourceConfig, deps: SourceDeps): PasswordSource {
  const logger = deps.logger.child({ kind: 'radius' });
  const now = deps.now ?? Date.now;
  const secret = Buffer.from(config.secret, 'utf8');
  const dictionary = new Dictionary(config.dictionary);
  const identityOptions: IdentityOptions = {
    sourceId: config.id,
    roleAttributes: config.roleAttributes,
    avpairAttributes: config.avpairAttributes,
    avpairRolePrefixes: config.avpairRolePrefixes,
    profile: config.profile,
  };
  const authPool = new ServerPool(config.servers, config.holdDown, now);
  const acct = config.accounting;
  const acctPool = acct ? new ServerPool(acct.servers, config.holdDown, now) : undefined;
  const acctSecret = Buffer.from(acct?.secret ?? config.secret, 'utf8');

  const nasAttributes = (): RawAttribute[] => {
    const out = [str(ATTR.NAS_IDENTIFIER, config.nasIdentifier)];
    if (config.nasIpAddress) out.push(ipv4(ATTR.NAS_IP_ADDRESS, config.nasIpAddress));
    return out;
  };
  const exchangeOptions = (signal?: AbortSignal): ExchangeOptions => ({
    timeoutMs: config.timeout,
    retries: config.retries,
    logger,
    signal,
    metrics: deps.metrics && { hooks: deps.metrics, source: config.id },
  });

  const identityFromAttributes = (attrs: Attributes): Identity => identityFromRadiusAttributes(attrs, identityOptions);

  async function authenticate(username: string, password: string, ctx: SourceContext): Promise<SignInResult> {
    const user = Buffer.from(username, 'utf8');
    const pass = Buffer.from(password, 'utf8');
    if (user.length === 0 || user.length > 253) throw new GateError('ERR_BAD_REQUEST', 'User name must be 1 to 253 bytes for RADIUS');
    if (pass.length === 0) throw new GateError('ERR_AUTH_REJECTED', 'Empty password', { detail: { reason: 'empty_password' } });
    if (pass.length > MAX_PASSWORD_LEN) throw new GateError('ERR_BAD_REQUEST', 'Password longer than the 128 bytes RADIUS can carry');

    const build = (id: number) => {
      const ra = randomBytes(16);
      const attributes: RawAttribute[] = [
        { type: ATTR.USER_NAME, value: user },
        { type: ATTR.USER_PASSWORD, value: hidePassword(pass, secret, ra) },
        ...nasAttributes(),
        int(ATTR.SERVICE_TYPE, SERVICE_TYPE_LOGIN),
        int(ATTR.NAS_PORT_TYPE, NAS_PORT_TYPE_VIRTUAL),
      ];
      if (ctx.clientIp && Buffer.byteLength(ctx.clientIp) <= 253) attributes.push(str(ATTR.CALLING_STATION_ID, ctx.clientIp));
      return buildRequest({ code: CODE.ACCESS_REQUEST, id, requestAuthenticator: ra, attributes }, secret);
    };
    const { reply, server } = await exchangeWithFailover(authPool, build, CODE.ACCESS_REQUEST, secret, exchangeOptions(ctx.signal));
    const attrs = dictionary.decode(reply.attributes);
    const replyMessage = attrs['Reply-Message'];
    if (reply.code === CODE.ACCESS_REJECT || reply.code === CODE.ACCESS_CHALLENGE) {
      // A challenge (OTP, new-PIN) needs a second round trip we do not offer; refuse it as final.
      const reason = reply.code === CODE.ACCESS_REJECT ? 'access_reject' : 'challenge_not_supported';
      logger.info({ server, username, reason }, 'radius sign-in rejected');
      throw new GateError('ERR_AUTH_REJECTED', reply.code === CODE.ACCESS_REJECT ? 'RADIUS server rejected the credentials' : 'RADIUS server asked for a challenge, which is not supported', {
        detail: { server, reason, ...(replyMessage === undefined ? {} : { replyMessage }) },
      });
    }
    // The server's User-Name is canonical when it sends one (realm stripped, case fixed).
    if (!Object.hasOwn(attrs, 'User-Name')) attrs['User-Name'] = username;
    const identity = identityFromAttributes(attrs);
    logger.info({ server, username: identity.username, groups: identity.groups }, 'radius sign-in accepted');
    return { identity, state: { server } };
  }

  async function account(session: SessionInfo, status: number, extra: RawAttribute[]): Promise<void> {
    if (!acctPool) return;
    const attributes: RawAttribute[] = [
      int(ATTR.ACCT_STATUS_TYPE, status),
      str(ATTR.ACCT_SESSION_ID, accountingSessionId(session.sessionId)),
      str(ATTR.USER_NAME, session.identity.username.slice(0, 200)),
      ...nasAttributes(),
      int(ATTR.NAS_PORT_TYPE, NAS_PORT_TYPE_VIRTUAL),
      int(ATTR.ACCT_AUTHENTIC, ACCT_AUTHENTIC_RADIUS),
      int(ATTR.EVENT_TIMESTAMP, Math.floor(now() / 1000)),
      ...extra,
    ];
    if (session.clientIp && Buffer.byteLength(session.clientIp) <= 253) attributes.push(str(ATTR.CALLING_STATION_ID, session.clientIp));
    const build = (id: number) => buildRequest({ code: CODE.ACCOUNTING_REQUEST, id, attributes }, acctSecret);
    try {
      const { server } = await exchangeWithFailover(acctPool, build, CODE.ACCOUNTING_REQUEST, acctSecret, exchangeOptions());
      logger.info({ server, status: status === ACCT_START ? 'start' : 'stop', acctSessionId: accountingSessionId(session.sessionId) }, 'radius accounting acknowledged');
    } catch (err) {
      // Accounting records sessions; losing one must not sign anyone out or block a sign-in.
      logger.warn({ err: err instanceof Error ? err.message : String(err), status }, 'radius accounting not acknowledged');
    }
  }

  const source: PasswordSource = {
    id: config.id,
    kind: 'radius',
    flow: 'password',
    displayName: config.displayName ?? 'RADIUS',
    identityFromAttributes,
    authenticate,
    async onSessionStart(session) {
      await account(session, ACCT_START, []);
    },
    async onSessionEnd(session, cause) {
      const seconds = Math.max(0, Math.floor((now() - session.startedAt) / 1000));
      await account(session, ACCT_STOP, [int(ATTR.ACCT_SESSION_TIME, seconds), int(ATTR.ACCT_TERMINATE_CAUSE, TERMINATE_CAUSE[cause])]);
    },
    async close() {},
  };
  return source;
}
