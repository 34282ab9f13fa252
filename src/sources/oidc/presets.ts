// Per-provider defaults: issuer shape, scopes and claim paths. A preset only fills what the
// config leaves out; explicit values always win. Validation messages name the missing field.
import type { ConfigIssue } from '../../errors.js';
import type { OidcSourceConfig, ResolvedOidcConfig } from './config.js';

const GENERIC_CLAIMS = {
  username: 'preferred_username',
  email: 'email',
  firstName: 'given_name',
  lastName: 'family_name',
  groups: ['groups'],
};

/** Returns the resolved config, or issues (paths relative to the source entry). */
export function applyPreset(cfg: OidcSourceConfig): { config?: ResolvedOidcConfig; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  let issuer = cfg.issuer;
  const claims = { ...GENERIC_CLAIMS };
  const scopes = ['openid', 'profile', 'email'];
  switch (cfg.preset) {
    case 'generic':
      break;
    case 'keycloak':
      if (!issuer && cfg.keycloak) issuer = `${cfg.keycloak.url.replace(/\/+$/, '')}/realms/${encodeURIComponent(cfg.keycloak.realm)}`;
      break;
    case 'authentik':
      if (!issuer && cfg.authentik) issuer = `${cfg.authentik.url.replace(/\/+$/, '')}/application/o/${encodeURIComponent(cfg.authentik.slug)}/`;
      break;
    case 'entra':
      if (!issuer && cfg.entra) issuer = `${cfg.entra.loginUrl.replace(/\/+$/, '')}/${encodeURIComponent(cfg.entra.tenantId)}/v2.0`;
      break;
    case 'okta':
      if (!issuer && cfg.okta) {
        const base = /^https?:\/\//.test(cfg.okta.domain) ? cfg.okta.domain : `https://${cfg.okta.domain}`;
        issuer = cfg.okta.authorizationServer ? `${base.replace(/\/+$/, '')}/oauth2/${cfg.okta.authorizationServer}` : base.replace(/\/+$/, '');
      }
      break;
  }
  if (!issuer) {
    issues.push({ path: 'issuer', message: `required (or give the ${cfg.preset} block the preset derives it from)` });
    return { issues };
  }
  const c = cfg.claims ?? {};
  const groups = c.groups === undefined ? claims.groups : Array.isArray(c.groups) ? c.groups : [c.groups];
  return {
    issues,
    config: {
      ...cfg,
      issuer,
      scopes: cfg.scopes ?? scopes,
      claims: {
        username: c.username ?? claims.username,
        email: c.email ?? claims.email,
        firstName: c.firstName ?? claims.firstName,
        lastName: c.lastName ?? claims.lastName,
        groups,
      },
    },
  };
}
