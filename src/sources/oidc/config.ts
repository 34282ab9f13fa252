// Config of an OpenID Connect source. Presets (presets.ts) fill in issuer shape and claim
// paths per provider; anything given here explicitly wins over the preset.
import { z } from 'zod';
import { duration, httpUrl, secret, sourceBase } from '../../config/common.js';

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
export interface ResolvedOidcConfig extends OidcSourceConfig {
  issuer: string;
  scopes: string[];
  claims: {
    username: string;
    email: string;
    firstName: string;
    lastName: string;
    groups: string[];
  };
}
