// The trusted upstream proxy source kind (Pomerium, authentik outpost, oauth2-proxy): schema,
// notices and factory, as the registry (../registry.ts) sees it. Cross-field rules live in the schema.
import { defineSourceKind, type SourceIssue } from '../definition.js';
import { loadOnUse } from '../load-on-use.js';
import { upstreamSourceSchema, type UpstreamSourceConfig } from './config.js';

// The implementation (the header and JWT checks) loads when a source of this kind is built, not when the
// registry is read for the config schema: a gateway without an upstream source never loads it.
const implementation = loadOnUse<typeof import('./index.js')>(import.meta.url, './index.js');

export const upstreamKind = defineSourceKind({
  kind: 'upstream',
  schema: upstreamSourceSchema,
  notices: upstreamNotices,
  create: (cfg, deps) => implementation().createUpstreamSource(cfg, deps),
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
