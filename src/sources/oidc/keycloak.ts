// Keycloak specifics: the realm issuer, roles from the access token, and checks that turn a
// missing Keycloak mapper into an error naming the mapper instead of a bare "invalid audience".
// jose by the modules used, not its index (see id-token.ts).
import type { FetchImplementation, JWTVerifyOptions, RemoteJWKSetOptions } from 'jose';
import * as joseErrors from 'jose/errors';
import { createRemoteJWKSet, customFetch } from 'jose/jwks/remote';
import { decodeJwt } from 'jose/jwt/decode';
import { jwtVerify } from 'jose/jwt/verify';
import { valueStrings } from '../../attributes.js';
import { GateError } from '../../errors.js';
import type { AttributeValue, Attributes } from '../../types.js';
import type { SourceDeps } from '../source.js';
import type { OidcSourceConfig, ResolvedOidcConfig } from './config.js';

type KeycloakBlock = NonNullable<OidcSourceConfig['keycloak']>;

/** `<url>/realms/<realm>`; give url with `/auth` for Keycloak before 17 (WildFly). */
export function keycloakIssuer(k: Pick<KeycloakBlock, 'url' | 'realm'>): string {
  return `${k.url.replace(/\/+$/, '')}/realms/${encodeURIComponent(k.realm)}`;
}

const DEDICATED = (clientId: string) => `Clients → ${clientId} → Client scopes → ${clientId}-dedicated → Add mapper → By configuration`;

/**
 * Pure. `claims` are the ID token + userinfo claims; `accessTokenClaims` the decoded access
 * token when there is one. Returns the error naming the Keycloak mapper to add, if one is missing.
 */
export function diagnoseKeycloakClaims(
  claims: Attributes,
  cfg: Pick<ResolvedOidcConfig, 'id' | 'clientId' | 'keycloak' | 'claims'>,
  accessTokenClaims?: Attributes,
): GateError | undefined {
  const requireAudience = cfg.keycloak?.requireAudience ?? true;
  if (requireAudience && accessTokenClaims) {
    const aud = valueStrings(accessTokenClaims.aud);
    if (!aud.includes(cfg.clientId)) {
      return new GateError(
        'ERR_SOURCE_CONFIG',
        `Keycloak issued an access token whose audience (${aud.length ? aud.map((a) => JSON.stringify(a)).join(', ') : 'none'}) does not include the client "${cfg.clientId}", ` +
          `so the gateway cannot verify the roles in it. Add an Audience mapper: ${DEDICATED(cfg.clientId)} → Audience, ` +
          `Included Client Audience = ${cfg.clientId}, Add to access token ON. ` +
          `(To sign in without roles from the access token instead, set keycloak.requireAudience: false on source "${cfg.id}".)`,
        { detail: { source: cfg.id, claim: 'aud', mapper: 'Audience', audience: aud } },
      );
    }
  }
  if (cfg.keycloak?.requireGroupsClaim) {
    const present = cfg.claims.groups.some((p) => claims[p] !== undefined || (accessTokenClaims && accessTokenClaims[p] !== undefined));
    if (!present) {
      const name = cfg.claims.groups[0] ?? 'groups';
      return new GateError(
        'ERR_SOURCE_CONFIG',
        `Keycloak sent no "${name}" claim. Add a Group Membership mapper: ${DEDICATED(cfg.clientId)} → Group Membership, ` +
          `Token Claim Name '${name}', Add to ID token ON, Add to userinfo ON (Full group path on or off, as your rules expect). ` +
          `Keycloak leaves the claim out for users in no group; if that is expected, set keycloak.requireGroupsClaim: false on source "${cfg.id}".`,
        { detail: { source: cfg.id, claim: name, mapper: 'Group Membership' } },
      );
    }
  }
  return undefined;
}

/**
 * Pure. The claims the identity is built from: the ID token + userinfo claims, plus what
 * Keycloak only puts in the access token by default: `realm_access` (realm roles),
 * `resource_access.<clientId>` (this client's roles, when keycloak.clientRoles) and the groups
 * claim when the mapper has "Add to ID token" off (the seed's table only turns on the access token).
 */
export function mergeKeycloakAccessClaims(
  claims: Attributes,
  accessTokenClaims: Attributes,
  cfg: Pick<ResolvedOidcConfig, 'clientId' | 'keycloak' | 'claims'>,
): Attributes {
  const out: Attributes = { ...claims };
  const realm = accessTokenClaims.realm_access;
  if (out.realm_access === undefined && isObject(realm)) out.realm_access = realm;
  const resource = accessTokenClaims.resource_access;
  if ((cfg.keycloak?.clientRoles ?? true) && out.resource_access === undefined && isObject(resource)) {
    // Only this client's roles: other clients' roles (account, realm-management) say nothing about NetBox.
    const mine = resource[cfg.clientId];
    if (mine !== undefined) out.resource_access = { [cfg.clientId]: mine };
  }
  for (const path of cfg.claims.groups) {
    if (out[path] === undefined && accessTokenClaims[path] !== undefined) out[path] = accessTokenClaims[path];
  }
  return out;
}

// One JWKS cache per source config: the keys are fetched once and refetched on an unknown kid.
const jwksCache = new WeakMap<object, ReturnType<typeof createRemoteJWKSet>>();

function realmJwks(cfg: ResolvedOidcConfig, deps: SourceDeps): ReturnType<typeof createRemoteJWKSet> {
  let set = jwksCache.get(cfg);
  if (!set) {
    // Keycloak serves the realm keys at this fixed path (it is also the discovery jwks_uri).
    const options: RemoteJWKSetOptions = { timeoutDuration: cfg.timeout, cooldownDuration: 30_000 };
    if (deps.fetch) options[customFetch] = deps.fetch as FetchImplementation;
    set = createRemoteJWKSet(new URL(`${cfg.issuer.replace(/\/+$/, '')}/protocol/openid-connect/certs`), options);
    jwksCache.set(cfg, set);
  }
  return set;
}

export interface KeycloakEnrichInput {
  cfg: ResolvedOidcConfig;
  claims: Attributes;
  accessToken: string | undefined;
  deps: SourceDeps;
}

/**
 * After every token response (sign-in and refresh): checks the mappers, verifies the access
 * token (signature by the realm keys, issuer, audience = clientId, azp) and merges its roles.
 * Verifying it, rather than trusting it because it came over the token endpoint's TLS, is what
 * lets explain and the policy treat realm roles exactly like ID token claims; oauth2-proxy's
 * keycloak-oidc provider does the same, and the Audience mapper is what makes it possible.
 */
export async function enrichKeycloakClaims(input: KeycloakEnrichInput): Promise<Attributes> {
  const { cfg, claims, accessToken } = input;
  if (!accessToken) {
    const err = diagnoseKeycloakClaims(claims, cfg);
    if (err) throw err;
    return claims;
  }
  let decoded: Attributes;
  try {
    decoded = decodeJwt(accessToken) as Attributes;
  } catch (cause) {
    throw new GateError('ERR_SOURCE_PROTOCOL', `Keycloak's access token is not a JWT (${(cause as Error).message})`, {
      cause,
      detail: { source: cfg.id },
    });
  }
  const problem = diagnoseKeycloakClaims(claims, cfg, decoded);
  if (problem) throw problem;

  const requireAudience = cfg.keycloak?.requireAudience ?? true;
  let verified: Attributes;
  try {
    const opts: JWTVerifyOptions = { issuer: cfg.issuer, clockTolerance: 30 };
    if (requireAudience) opts.audience = cfg.clientId;
    verified = (await jwtVerify(accessToken, realmJwks(cfg, input.deps), opts)).payload as Attributes;
  } catch (cause) {
    const unavailable = cause instanceof joseErrors.JWKSTimeout || (cause instanceof Error && cause.name === 'TypeError');
    throw new GateError(
      unavailable ? 'ERR_SOURCE_UNAVAILABLE' : 'ERR_AUTH_FAILED',
      `Keycloak's access token failed verification: ${(cause as Error).message}`,
      { cause, detail: { source: cfg.id } },
    );
  }
  if (verified.azp !== undefined && verified.azp !== cfg.clientId) {
    throw new GateError('ERR_AUTH_FAILED', `Keycloak's access token was issued to client "${String(verified.azp)}", not "${cfg.clientId}"`, {
      detail: { source: cfg.id, claim: 'azp' },
    });
  }
  if (claims.sub !== undefined && verified.sub !== undefined && verified.sub !== claims.sub) {
    throw new GateError('ERR_AUTH_FAILED', "Keycloak's access token and ID token name different subjects", {
      detail: { source: cfg.id, claim: 'sub' },
    });
  }
  return mergeKeycloakAccessClaims(claims, verified, cfg);
}

function isObject(v: AttributeValue | undefined): v is { [key: string]: AttributeValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
