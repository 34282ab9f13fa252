// The OpenID Connect source kind: schema, presets (issuer, scopes and claim paths per provider),
// the http:// issuer check and notices, as the registry (../registry.ts) sees it.
import { defineSourceKind, type SourceIssue } from '../definition.js';
import { oidcSourceSchema, type OidcSourceConfig, type ResolvedOidcConfig } from './config.js';
import { oidcNotices } from './notices.js';
import { applyPreset } from './presets.js';

export const oidcKind = defineSourceKind({
  kind: 'oidc',
  schema: oidcSourceSchema,
  resolve: (parsed) => {
    const r = applyPreset(parsed);
    const issues: SourceIssue[] = r.issues.map((i) => ({ path: i.path, message: i.message }));
    if (!r.config) return { issues };
    issues.push(...checkHttpIssuer(parsed, r.config));
    return { config: r.config, issues };
  },
  notices: oidcNotices,
});

/** Plain http:// lets anyone on the path swap the provider's keys: a named switch, for local tests only. */
function checkHttpIssuer(parsed: OidcSourceConfig, cfg: ResolvedOidcConfig): SourceIssue[] {
  if (new URL(cfg.issuer).protocol !== 'http:' || cfg.insecureAllowHttpIssuer) return [];
  // A preset derives the issuer from its own block (keycloak.url, authentik.url): point there.
  const block = parsed.issuer === undefined && parsed.preset !== 'generic' ? parsed.preset : undefined;
  return [
    {
      path: block ?? 'issuer',
      message: `an http:// issuer (${cfg.issuer}) needs \`insecureAllowHttpIssuer: true\` in this source's entry (id: ${cfg.id}), for local tests only; use https:// otherwise`,
    },
  ];
}
