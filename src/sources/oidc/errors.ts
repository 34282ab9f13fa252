// openid-client's errors, turned into GateErrors at the edge of the OIDC source: a revoked grant
// or refused authorization is ERR_AUTH_REJECTED, a network failure ERR_SOURCE_UNAVAILABLE, the rest ERR_AUTH_FAILED.
import * as oidc from 'openid-client';
import { GateError } from '../../errors.js';

export function describe(err: unknown): string {
  if (err instanceof oidc.ResponseBodyError) return `${err.error}${err.error_description ? `: ${err.error_description}` : ''}`;
  if (err instanceof oidc.AuthorizationResponseError) return `${err.error}${err.error_description ? `: ${err.error_description}` : ''}`;
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    const claim = failedClaim(err);
    const which = claim === 'auth_time' ? ': auth_time is missing or older than maxAge' : claim ? ` (claim ${claim})` : '';
    return `${err.message}${cause}${which}`;
  }
  return String(err);
}

/** The claim openid-client names in a failed ID token check, if any. */
function failedClaim(err: unknown): string | undefined {
  let c = err as { cause?: unknown; claim?: unknown } | undefined;
  for (let i = 0; c && typeof c === 'object' && i < 4; i++, c = c.cause as typeof c) {
    if (typeof c.claim === 'string') return c.claim;
  }
  return undefined;
}

export function wrap(err: unknown, what: string): GateError {
  if (err instanceof GateError) return err;
  if (err instanceof oidc.ResponseBodyError && err.error === 'invalid_grant') {
    return new GateError('ERR_AUTH_REJECTED', `${what}: the identity provider revoked the grant (${describe(err)})`, { cause: err });
  }
  if (err instanceof oidc.AuthorizationResponseError) {
    return new GateError('ERR_AUTH_REJECTED', `${what}: ${describe(err)}`, { cause: err });
  }
  const e = err as { code?: string; name?: string };
  if (e?.name === 'TypeError' || e?.name === 'TimeoutError' || e?.name === 'AbortError' || e?.code === 'OAUTH_TIMEOUT') {
    return new GateError('ERR_SOURCE_UNAVAILABLE', `${what}: ${describe(err)}`, { cause: err });
  }
  return new GateError('ERR_AUTH_FAILED', `${what}: ${describe(err)}`, { cause: err });
}
