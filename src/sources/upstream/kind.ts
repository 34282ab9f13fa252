// The trusted upstream proxy source kind (Pomerium, authentik outpost, oauth2-proxy): schema
// and notices, as the registry (../registry.ts) sees it. Cross-field rules live in the schema.
import { defineSourceKind, type SourceIssue } from '../definition.js';
import { upstreamSourceSchema, type UpstreamSourceConfig } from './config.js';

export const upstreamKind = defineSourceKind({
  kind: 'upstream',
  schema: upstreamSourceSchema,
  notices: upstreamNotices,
});

/** The insecure switches are allowed, but whoever runs `check` or reads the start-up log should see them. */
function upstreamNotices(cfg: UpstreamSourceConfig): SourceIssue[] {
  const out: SourceIssue[] = [];
  if (cfg.insecureTrustUnsignedHeaders) {
    out.push({
      path: 'insecureTrustUnsignedHeaders',
      message: 'unsigned X-authentik-* headers are believed: anything that reaches the gateway from trustedAddresses can sign in as anyone (tests only)',
    });
  }
  if (cfg.jwt?.insecureAllowHttpJwks && cfg.jwt.jwksUrl?.startsWith('http:')) {
    out.push({ path: 'jwt.insecureAllowHttpJwks', message: `the signing keys are fetched over plain http (${cfg.jwt.jwksUrl}); anyone on the path can replace them (tests only)` });
  }
  return out;
}
