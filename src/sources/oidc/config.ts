// Config of an OpenID Connect source. Presets (presets.ts) fill in issuer shape and claim
// paths per provider; anything given here explicitly wins over the preset.
import { z } from 'zod';
import { duration, httpUrl, secret, sourceBase } from '../../config/common.js';
import { ASYMMETRIC_ALGORITHMS, type IdTokenAlgorithm, SYMMETRIC_ALGORITHMS } from './id-token.js';

/** Dotted claim paths (`realm_access.roles`); several paths for groups are merged. */
export const claimPathsSchema = z.strictObject({
  username: z.string().min(1).optional(),
  email: z.string().min(1).optional(),
  firstName: z.string().min(1).optional(),
  lastName: z.string().min(1).optional(),
  groups: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
});

export const oidcSourceSchema = z.strictObject({
  kind: z.literal('oidc'),
  ...sourceBase,
  preset: z.enum(['generic', 'keycloak', 'authentik', 'entra', 'okta']).default('generic'),
  /** The issuer URL; presets can derive it from their own block (realm, slug, tenant). */
  issuer: httpUrl.optional(),
  clientId: z.string().min(1),
  clientSecret: secret.optional(),
  scopes: z.array(z.string().min(1)).min(1).optional(),
  claims: claimPathsSchema.optional(),
  /** How often the gateway uses the refresh token to pick up group changes and revocations. */
  refreshInterval: duration.prefault('5m'),
  /** Fetch userinfo and merge it over the ID token claims. */
  userinfo: z.boolean().default(true),
  /** End the IdP session too on sign-out, where the provider advertises end_session_endpoint. */
  endIdpSession: z.boolean().default(true),
  /** Permit an http:// issuer (local demo and tests only). Named so it stands out in review. */
  insecureAllowHttpIssuer: z.boolean().default(false),
  timeout: duration.prefault('10s'),
  /**
   * JWS algorithms an ID token may be signed with; the signature is always checked against the
   * provider's JWKS. Default: every asymmetric algorithm. HS256/384/512 (keyed with the client
   * secret, so anyone holding it can mint tokens) only when listed here; "none" never.
   */
  idTokenSigningAlgorithms: z
    .array(z.enum([...ASYMMETRIC_ALGORITHMS, ...SYMMETRIC_ALGORITHMS], { error: `expected one of ${[...ASYMMETRIC_ALGORITHMS, ...SYMMETRIC_ALGORITHMS].join(', ')} ("none" is never accepted)` }))
    .min(1)
    .optional(),
  /** How the client secret reaches the token endpoint (RFC 6749 2.3.1). Default per preset: entra posts it in the form body, others use HTTP Basic. */
  tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post']).optional(),
  /** Sent as acr_values: the authentication context (e.g. MFA) asked of the provider. Whether it was met is for policy rules on the `acr` claim. */
  acrValues: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  /** Sent as max_age: the provider re-authenticates users whose last sign-in is older; the ID token's auth_time is checked against it. */
  maxAge: duration.optional(),
  keycloak: z
    .strictObject({
      url: httpUrl,
      realm: z.string().min(1),
      clientRoles: z.boolean().default(true),
      /** Refuse sign-in when the access token's aud lacks clientId (the seed's missing Audience mapper). */
      requireAudience: z.boolean().default(true),
      /** Refuse sign-in when the token has no groups claim: Keycloak omits it for users in no group, so only for realms where everyone has one. */
      requireGroupsClaim: z.boolean().default(false),
    })
    .optional(),
  authentik: z.strictObject({ url: httpUrl, slug: z.string().min(1) }).optional(),
  entra: z
    .strictObject({
      tenantId: z.string().min(1),
      /** Resolve groups through Microsoft Graph transitiveMemberOf (nested groups, no overage). */
      graphGroups: z.boolean().default(true),
      /** Resolve group display names for logs and explain (needs GroupMember.Read.All). */
      resolveGroupNames: z.boolean().default(false),
      graphUrl: httpUrl.default('https://graph.microsoft.com'),
      loginUrl: httpUrl.default('https://login.microsoftonline.com'),
    })
    .optional(),
  okta: z.strictObject({ domain: z.string().min(1), authorizationServer: z.string().min(1).optional() }).optional(),
});

export type OidcSourceInput = z.input<typeof oidcSourceSchema>;
export type OidcSourceConfig = z.output<typeof oidcSourceSchema>;

/** What the source runs on after the preset is applied: every field resolved. */
export interface ResolvedOidcConfig extends Omit<OidcSourceConfig, 'acrValues'> {
  issuer: string;
  scopes: string[];
  idTokenSigningAlgorithms: IdTokenAlgorithm[];
  tokenEndpointAuthMethod: 'client_secret_basic' | 'client_secret_post';
  acrValues?: string[];
  claims: {
    username: string;
    email: string;
    firstName: string;
    lastName: string;
    groups: string[];
  };
}
