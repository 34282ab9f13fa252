// Provider-specific steps after tokens arrive (sign-in and every refresh): Keycloak claim
// diagnostics, Entra groups through Microsoft Graph. The generic provider needs none.
import type { Attributes } from '../../types.js';
import type { SourceDeps } from '../source.js';
import type { ResolvedOidcConfig } from './config.js';
import { enrichEntraClaims } from './entra.js';
import { enrichKeycloakClaims } from './keycloak.js';

export interface EnrichInput {
  cfg: ResolvedOidcConfig;
  claims: Attributes;
  accessToken: string | undefined;
  deps: SourceDeps;
  signal?: AbortSignal;
  /** Entra: the tenant GUID resolved from discovery when entra.tenantId is a domain. */
  tenantId?: string;
}

/** Returns the claims the identity is built from (possibly with groups added). Throws GateError. */
export async function enrichClaims(input: EnrichInput): Promise<Attributes> {
  switch (input.cfg.preset) {
    case 'generic':
    case 'authentik':
    case 'okta':
      return input.claims;
    case 'keycloak':
      return enrichKeycloakClaims(input);
    case 'entra':
      return enrichEntraClaims(input);
  }
}
