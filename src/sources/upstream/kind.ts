// The trusted upstream proxy source kind (Pomerium, authentik outpost, oauth2-proxy): schema and
// factory, as the registry (../registry.ts) sees it. Its cross-field rules live in the schema.
import { defineSourceKind } from '../definition.js';
import { upstreamSourceSchema } from './config.js';
import { createUpstreamSource } from './index.js';

export const upstreamKind = defineSourceKind({
  kind: 'upstream',
  schema: upstreamSourceSchema,
  create: (cfg, deps) => createUpstreamSource(cfg, deps),
});
