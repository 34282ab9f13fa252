// Verifies a proxy's signed identity assertion (Pomerium X-Pomerium-Jwt-Assertion, authentik
// X-authentik-jwt) with jose: signature against the proxy's JWKS, algorithm, iss, aud, exp/nbf.
import { readFileSync } from 'node:fs';
// jose by the modules used, not its index (see oidc/id-token.ts).
import type { JWTPayload, JWTVerifyGetKey } from 'jose';
import * as errors from 'jose/errors';
import { createLocalJWKSet } from 'jose/jwks/local';
import { createRemoteJWKSet, customFetch } from 'jose/jwks/remote';
import { jwtVerify } from 'jose/jwt/verify';
import { GateError } from '../../errors.js';
import type { SourceDeps } from '../source.js';

/** Why an assertion was refused; a closed list so logs and tests can tell the cases apart. */
export type AssertionRefusal =
  | 'malformed'
  | 'alg_not_allowed'
  | 'unknown_key'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'missing_claim'
  | 'invalid_claim';

export type AssertionResult = { ok: true; claims: JWTPayload } | { ok: false; reason: AssertionRefusal; message: string };

export interface VerifierOptions {
  jwksUrl?: string;
  jwksFile?: string;
  issuer: string;
  audience: string | string[];
  algorithms: string[];
  /** Milliseconds. */
  clockTolerance: number;
  /** Milliseconds. */
  timeout: number;
  /** Milliseconds. */
  cacheMaxAge: number;
}

export type AssertionVerifier = (token: string) => Promise<AssertionResult>;

/** Longest assertion we hand to the JWT parser; real ones are around 1-2 KiB. */
const MAX_ASSERTION_LENGTH = 16 * 1024;

export function createAssertionVerifier(opts: VerifierOptions, deps: Pick<SourceDeps, 'fetch' | 'now'>, sourceId: string): AssertionVerifier {
  const keys = buildKeySet(opts, deps, sourceId);
  const now = deps.now ?? Date.now;
  return async (token) => {
    if (token.length > MAX_ASSERTION_LENGTH) return { ok: false, reason: 'malformed', message: 'assertion longer than 16 KiB' };
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: opts.issuer,
        audience: opts.audience,
        algorithms: opts.algorithms,
        clockTolerance: Math.round(opts.clockTolerance / 1000),
        currentDate: new Date(now()),
        // An assertion without an expiry would be good forever once leaked.
        requiredClaims: ['exp'],
      });
      return { ok: true, claims: payload };
    } catch (err) {
      return refusal(err, opts, sourceId);
    }
  };
}

function buildKeySet(opts: VerifierOptions, deps: Pick<SourceDeps, 'fetch'>, sourceId: string): JWTVerifyGetKey {
  if (opts.jwksFile !== undefined) {
    let jwks: unknown;
    try {
      jwks = JSON.parse(readFileSync(opts.jwksFile, 'utf8'));
    } catch (err) {
      throw new GateError('ERR_CONFIG_READ', `could not read the JWKS file ${opts.jwksFile}: ${(err as Error).message}`, {
        cause: err,
        detail: { source: sourceId },
      });
    }
    try {
      return createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
    } catch (err) {
      throw new GateError('ERR_SOURCE_CONFIG', `${opts.jwksFile} is not a JSON Web Key Set`, { cause: err, detail: { source: sourceId } });
    }
  }
  if (opts.jwksUrl === undefined) throw new TypeError('ERR_INVALID_ARG_VALUE: jwksUrl or jwksFile is required');
  return createRemoteJWKSet(new URL(opts.jwksUrl), {
    timeoutDuration: opts.timeout,
    cacheMaxAge: opts.cacheMaxAge,
    // A token with an unknown kid makes jose refetch, at most this often: a flood of forged
    // kids cannot turn into a flood of JWKS requests.
    cooldownDuration: 30_000,
    ...(deps.fetch ? { [customFetch]: deps.fetch } : {}),
  });
}

/**
 * Turns jose's error into a refusal reason. A JWKS that cannot be fetched is not the client's
 * fault and must not look like "signed out": it throws ERR_SOURCE_UNAVAILABLE instead.
 */
function refusal(err: unknown, opts: VerifierOptions, sourceId: string): AssertionResult {
  const no = (reason: AssertionRefusal, message: string): AssertionResult => ({ ok: false, reason, message });
  if (err instanceof errors.JWTExpired) return no('expired', 'assertion has expired');
  if (err instanceof errors.JWTClaimValidationFailed) {
    switch (err.claim) {
      case 'iss':
        return no('wrong_issuer', `iss is not "${opts.issuer}"`);
      case 'aud':
        return no('wrong_audience', `aud does not contain ${JSON.stringify(opts.audience)}`);
      case 'nbf':
        return no('not_yet_valid', 'assertion is not yet valid (nbf)');
      case 'iat':
        return no('not_yet_valid', 'assertion was issued in the future (iat)');
      default:
        return err.reason === 'missing'
          ? no('missing_claim', `assertion has no "${err.claim}" claim`)
          : no('invalid_claim', `claim "${err.claim}" is invalid`);
    }
  }
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return no('alg_not_allowed', `algorithm not in ${opts.algorithms.join(', ')}`);
  }
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return no('unknown_key', 'no key in the JWKS matches the assertion (kid/alg)');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return no('bad_signature', 'signature does not verify');
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid || err instanceof errors.JWKInvalid) {
    return no('malformed', 'assertion is not a well-formed JWT');
  }
  const what = err instanceof errors.JWKSTimeout ? 'timed out' : err instanceof errors.JWKSInvalid ? 'is not a JWKS' : 'could not be fetched';
  throw new GateError('ERR_SOURCE_UNAVAILABLE', `the proxy's JWKS at ${opts.jwksUrl ?? opts.jwksFile} ${what}`, {
    cause: err,
    detail: { source: sourceId },
  });
}
