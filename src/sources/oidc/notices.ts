// Things worth saying once about a valid OIDC source, at `check` and at start-up: not errors,
// but behaviour a user would otherwise discover in production (no refresh token).
import type { ResolvedOidcConfig } from './config.js';
import { refreshNeedsOfflineAccess } from './presets.js';

export interface OidcNotice {
  /** Relative to the source entry, like config issues. */
  path: string;
  message: string;
}

/** Pure: notices for one resolved OIDC source. */
export function oidcNotices(cfg: ResolvedOidcConfig): OidcNotice[] {
  const out: OidcNotice[] = [];
  if (refreshNeedsOfflineAccess(cfg.preset) && !cfg.scopes.includes('offline_access')) {
    out.push({
      path: 'scopes',
      message:
        `preset ${cfg.preset} issues a refresh token only for the offline_access scope, which these scopes lack: ` +
        `source "${cfg.id}" will apply group changes and revocations only at sign-in, and sessions live to their idle/absolute lifetime; add offline_access to pick them up every refreshInterval`,
    });
  }
  return out;
}
