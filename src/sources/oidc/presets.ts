// Per-provider defaults: issuer shape, scopes and claim paths. A preset only fills what the
// config leaves out; explicit values always win. Validation messages name the missing field.
import type { ConfigIssue } from '../../errors.js';
import { authentikIssuer } from './authentik.js';
import type { OidcSourceConfig, ResolvedOidcConfig } from './config.js';
import { entraAuthorizationScopes, entraTenantIssue } from './entra.js';
import { ASYMMETRIC_ALGORITHMS } from './id-token.js';
import { keycloakIssuer } from './keycloak.js';
import { oktaIssuer } from './okta.js';

type Preset = OidcSourceConfig['preset'];
type Claims = ResolvedOidcConfig['claims'];

const GENERIC_CLAIMS: Claims = {
  username: 'preferred_username',
  email: 'email',
  firstName: 'given_name',
  lastName: 'family_name',
  groups: ['groups'],
};

interface PresetDefaults {
  /** The provider's own config block, which the issuer is derived from. */
  block?: 'keycloak' | 'authentik' | 'entra' | 'okta';
  /** What the block must hold, for the "missing" message. */
  blockFields?: string;
  issuer?: (cfg: OidcSourceConfig) => string | undefined | { issue: ConfigIssue };
  scopes: (cfg: OidcSourceConfig) => string[];
  claims: Claims;
  /** Default client authentication at the token endpoint. */
  tokenEndpointAuthMethod?: ResolvedOidcConfig['tokenEndpointAuthMethod'];
  /** The provider issues a refresh token only when offline_access is asked for (notices.ts). */
  refreshNeedsOfflineAccess?: boolean;
}

const BASE_SCOPES = ['openid', 'profile', 'email'];

const PRESETS: Record<Preset, PresetDefaults> = {
  generic: { scopes: () => BASE_SCOPES, claims: GENERIC_CLAIMS },
  // Keycloak's Group Membership mapper writes `groups` (full paths "/a/b" when "Full group path"
  // is on; the policy strips the leading "/"). Realm and client roles come from the access
  // token (keycloak.ts), since Keycloak's default "roles" scope puts them nowhere else.
  keycloak: {
    block: 'keycloak',
    blockFields: 'url and realm',
    issuer: (cfg) => (cfg.keycloak ? keycloakIssuer(cfg.keycloak) : undefined),
    scopes: () => BASE_SCOPES,
    claims: GENERIC_CLAIMS,
  },
  // authentik's default "profile" scope mapping already carries `groups` (group names). Since
  // 2024.2 it issues a refresh token only for offline_access (and only when the provider has
  // that scope mapping selected; docs/authentik.md).
  authentik: {
    block: 'authentik',
    blockFields: 'url and slug',
    issuer: (cfg) => (cfg.authentik ? authentikIssuer(cfg.authentik) : undefined),
    scopes: () => [...BASE_SCOPES, 'offline_access'],
    claims: GENERIC_CLAIMS,
    refreshNeedsOfflineAccess: true,
  },
  entra: {
    block: 'entra',
    blockFields: 'tenantId',
    issuer: (cfg) => (cfg.entra ? `${trimSlash(cfg.entra.loginUrl)}/${encodeURIComponent(cfg.entra.tenantId)}/v2.0` : undefined),
    scopes: (cfg) => (cfg.entra ? entraAuthorizationScopes(cfg.entra) : BASE_SCOPES),
    claims: { ...GENERIC_CLAIMS, username: 'preferred_username' },
    // Entra's discovery lists client_secret_post first, and Entra has been reported not to
    // percent-decode Basic credentials (its secrets contain "~"): the form body always works.
    tokenEndpointAuthMethod: 'client_secret_post',
    refreshNeedsOfflineAccess: true,
  },
  // Okta's org authorization server only releases the groups claim (configured on the app's
  // Sign On tab) when the `groups` scope is asked for; custom authorization servers reject that
  // scope unless an admin created it, so there the claim must be set to "Include in: Any scope".
  // Refresh tokens need offline_access plus the app's "Refresh Token" grant type (docs/okta.md).
  okta: {
    block: 'okta',
    blockFields: 'domain',
    issuer: (cfg) => (cfg.okta ? oktaIssuer(cfg.okta) : undefined),
    scopes: (cfg) => (cfg.okta?.authorizationServer ? [...BASE_SCOPES, 'offline_access'] : [...BASE_SCOPES, 'groups', 'offline_access']),
    claims: GENERIC_CLAIMS,
    refreshNeedsOfflineAccess: true,
  },
};

const PROVIDER_BLOCKS = ['keycloak', 'authentik', 'entra', 'okta'] as const;

/** Returns the resolved config, or issues (paths relative to the source entry). */
export function applyPreset(cfg: OidcSourceConfig): { config?: ResolvedOidcConfig; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const preset = PRESETS[cfg.preset];

  // A provider block under the wrong preset is silently ignored otherwise: say so.
  for (const b of PROVIDER_BLOCKS) {
    if (cfg[b] !== undefined && preset.block !== b) {
      issues.push({ path: b, message: `the ${b} block only applies with preset: ${b} (this source has preset: ${cfg.preset})` });
    }
  }

  if (cfg.preset === 'entra' && cfg.entra) {
    const issue = entraTenantIssue(cfg.entra.tenantId);
    if (issue) issues.push(issue);
  }
  const algorithms = cfg.idTokenSigningAlgorithms ?? [...ASYMMETRIC_ALGORITHMS];
  if (algorithms.some((a) => a.startsWith('HS')) && !cfg.clientSecret) {
    issues.push({ path: 'idTokenSigningAlgorithms', message: 'HS256/HS384/HS512 are keyed with the client secret; this source has no clientSecret' });
  }
  if (cfg.tokenEndpointAuthMethod && !cfg.clientSecret) {
    issues.push({ path: 'tokenEndpointAuthMethod', message: 'only applies with a clientSecret (a public client sends none)' });
  }

  let issuer = cfg.issuer;
  if (!issuer && preset.issuer) {
    const derived = preset.issuer(cfg);
    if (typeof derived === 'object') issues.push(derived.issue);
    else issuer = derived;
  }
  if (!issuer && !issues.some((i) => i.path === 'issuer' || i.path.startsWith(`${preset.block}.`))) {
    issues.push({
      path: preset.block && !cfg.issuer ? preset.block : 'issuer',
      message: preset.block
        ? `required for preset: ${cfg.preset} (${preset.blockFields}), or give issuer`
        : 'required: the URL of the OpenID provider (its /.well-known/openid-configuration lives under it)',
    });
  }
  if (!issuer || issues.length > 0) return { issues };

  const c = cfg.claims ?? {};
  const groups = c.groups === undefined ? preset.claims.groups : Array.isArray(c.groups) ? c.groups : [c.groups];
  const { acrValues, ...rest } = cfg;
  const config: ResolvedOidcConfig = {
      ...rest,
      issuer,
      scopes: cfg.scopes ?? preset.scopes(cfg),
      idTokenSigningAlgorithms: algorithms,
      tokenEndpointAuthMethod: cfg.tokenEndpointAuthMethod ?? preset.tokenEndpointAuthMethod ?? 'client_secret_basic',
      claims: {
        username: c.username ?? preset.claims.username,
        email: c.email ?? preset.claims.email,
        firstName: c.firstName ?? preset.claims.firstName,
        lastName: c.lastName ?? preset.claims.lastName,
        groups,
      },
  };
  if (acrValues !== undefined) config.acrValues = Array.isArray(acrValues) ? acrValues : [acrValues];
  return { issues, config };
}

/** True when the preset's provider issues refresh tokens only for the offline_access scope. */
export function refreshNeedsOfflineAccess(preset: Preset): boolean {
  return PRESETS[preset].refreshNeedsOfflineAccess === true;
}

export function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
