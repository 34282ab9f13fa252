// Verifies the signature of every ID token against the provider's published keys (JWKS).
// openid-client v6 checks an ID token's claims but, by design, not the signature of one that
// arrives over TLS from the token endpoint; a gateway that decides superuser rights from those
// claims wants the signature too, with algorithms it chose rather than whatever discovery lists.
// jose by the modules used (its package exports them one by one): its index loads every JWE,
// JWS and key function, about 46 modules, into a gateway that only verifies (idle RSS, issue 11).
import type { JSONWebKeySet, JWTPayload, JWTVerifyGetKey } from 'jose';
import * as joseErrors from 'jose/errors';
import { createLocalJWKSet } from 'jose/jwks/local';
import { jwtVerify } from 'jose/jwt/verify';
import { GateError } from '../../errors.js';

/** Asymmetric algorithms only: an HS* token is forgeable by anyone holding the client secret. */
export const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;
export const SYMMETRIC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export type IdTokenAlgorithm = (typeof ASYMMETRIC_ALGORITHMS)[number] | (typeof SYMMETRIC_ALGORITHMS)[number];

export interface IdTokenVerifierOptions {
  /** From discovery; required unless every algorithm is symmetric. */
  jwksUri: string | undefined;
  issuer: string;
  clientId: string;
  /** Key for HS* (OIDC Core 10.1: the client secret's UTF-8 octets); only used when HS* is allowed. */
  clientSecret?: string;
  algorithms: readonly IdTokenAlgorithm[];
  fetch: typeof fetch;
  now: () => number;
  timeoutMs: number;
  /** Minimum time between two JWKS fetches caused by an unknown `kid`. */
  cooldownMs?: number;
  /** A JWKS older than this is fetched again before use. */
  maxAgeMs?: number;
  /** Seconds of clock difference tolerated for `iat`, `exp` and `nbf`. */
  clockToleranceSec?: number;
}

export const DEFAULT_JWKS_COOLDOWN_MS = 30_000;
export const DEFAULT_JWKS_MAX_AGE_MS = 10 * 60_000;
export const DEFAULT_CLOCK_TOLERANCE_SEC = 60;

export type IdTokenVerifier = (idToken: string) => Promise<JWTPayload>;

/** Returns a verifier holding one JWKS cache. Throws GateError: ERR_AUTH_FAILED for a token that
 * does not verify, ERR_SOURCE_UNAVAILABLE when the JWKS cannot be fetched, ERR_SOURCE_PROTOCOL
 * for a malformed JWKS, ERR_SOURCE_CONFIG when the provider publishes no JWKS. */
export function createIdTokenVerifier(o: IdTokenVerifierOptions): IdTokenVerifier {
  const cooldownMs = o.cooldownMs ?? DEFAULT_JWKS_COOLDOWN_MS;
  const maxAgeMs = o.maxAgeMs ?? DEFAULT_JWKS_MAX_AGE_MS;
  const tolerance = o.clockToleranceSec ?? DEFAULT_CLOCK_TOLERANCE_SEC;
  const allowed = new Set<string>(o.algorithms);
  const secretKey = o.clientSecret !== undefined ? new TextEncoder().encode(o.clientSecret) : undefined;

  let local: { keys: JWTVerifyGetKey; fetchedAt: number } | undefined;
  let inflight: Promise<JWTVerifyGetKey> | undefined;
  let lastFetchAt: number | undefined;

  // One fetch at a time: concurrent sign-ins with a new kid share it.
  const load = (): Promise<JWTVerifyGetKey> => {
    inflight ??= (async () => {
      lastFetchAt = o.now();
      try {
        const jwks = await fetchJwks(o);
        local = { keys: createLocalJWKSet(jwks), fetchedAt: o.now() };
        return local.keys;
      } finally {
        inflight = undefined;
      }
    })();
    return inflight;
  };

  const getKey: JWTVerifyGetKey = async (header, token) => {
    if (header.alg.startsWith('HS')) {
      if (!secretKey) throw new GateError('ERR_AUTH_FAILED', `the ID token is signed with ${header.alg} but the source has no client secret`);
      return secretKey;
    }
    if (!o.jwksUri) {
      throw new GateError('ERR_SOURCE_CONFIG', `the ID token is signed with ${header.alg} but the provider's discovery document names no jwks_uri`);
    }
    const keys = !local || o.now() - local.fetchedAt >= maxAgeMs ? await load() : local.keys;
    try {
      return await keys(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey)) throw err;
      // Key rotation: the provider may have published a new key since we fetched. Ask again,
      // but not more often than the cooldown, so tokens with made-up kids cannot hammer the IdP.
      if (lastFetchAt !== undefined && o.now() - lastFetchAt < cooldownMs) throw err;
      return (await load())(header, token);
    }
  };

  return async (idToken) => {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, getKey, {
        algorithms: [...allowed],
        issuer: o.issuer,
        audience: o.clientId,
        requiredClaims: ['iat', 'exp', 'sub'],
        currentDate: new Date(o.now()),
        clockTolerance: tolerance,
      }));
    } catch (err) {
      throw asGateError(err, idToken, allowed);
    }
    const now = Math.floor(o.now() / 1000);
    if (typeof payload.iat !== 'number' || payload.iat > now + tolerance) {
      throw new GateError('ERR_AUTH_FAILED', `the ID token was issued in the future (iat ${String(payload.iat)}, now ${now}); check the clocks of the identity provider and the gateway`, {
        detail: { claim: 'iat' },
      });
    }
    return payload;
  };
}

async function fetchJwks(o: IdTokenVerifierOptions): Promise<JSONWebKeySet> {
  let res: Response;
  try {
    res = await o.fetch(o.jwksUri!, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(o.timeoutMs) });
  } catch (err) {
    throw new GateError('ERR_SOURCE_UNAVAILABLE', `the provider's keys (${o.jwksUri}) could not be fetched: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  if (res.status >= 500) {
    throw new GateError('ERR_SOURCE_UNAVAILABLE', `the provider's keys (${o.jwksUri}) answered HTTP ${res.status}`);
  }
  let body: unknown;
  try {
    body = res.status === 200 ? await res.json() : undefined;
  } catch {
    body = undefined;
  }
  const keys = (body as { keys?: unknown } | undefined)?.keys;
  if (!Array.isArray(keys) || !keys.every((k) => k !== null && typeof k === 'object' && !Array.isArray(k))) {
    throw new GateError('ERR_SOURCE_PROTOCOL', `the provider's jwks_uri (${o.jwksUri}) answered HTTP ${res.status} without a JSON Web Key Set`);
  }
  return { keys } as JSONWebKeySet;
}

function headerAlg(idToken: string): string | undefined {
  try {
    const h = JSON.parse(Buffer.from(idToken.split('.')[0] ?? '', 'base64url').toString()) as { alg?: unknown };
    return typeof h.alg === 'string' ? h.alg : undefined;
  } catch {
    return undefined;
  }
}

function asGateError(err: unknown, idToken: string, allowed: Set<string>): GateError {
  if (err instanceof GateError) return err;
  const alg = headerAlg(idToken);
  const fail = (message: string) => new GateError('ERR_AUTH_FAILED', message, { cause: err });
  if (err instanceof joseErrors.JOSEAlgNotAllowed || (alg !== undefined && !allowed.has(alg))) {
    return fail(`the ID token is signed with "${alg ?? '?'}", which this source does not accept (idTokenSigningAlgorithms: ${[...allowed].join(', ')})`);
  }
  if (err instanceof joseErrors.JWKSNoMatchingKey) {
    return fail("the ID token is signed with a key the identity provider does not publish (no matching kid in its JWKS)");
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
    return fail("the ID token's signature does not verify with the identity provider's published key");
  }
  if (err instanceof joseErrors.JWTClaimValidationFailed || err instanceof joseErrors.JWTExpired) {
    return fail(`the ID token's "${err.claim}" claim is not acceptable (${err.reason})`);
  }
  return fail(`the ID token could not be verified: ${(err as Error)?.message ?? String(err)}`);
}
