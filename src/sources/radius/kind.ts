// The RADIUS source kind: schema and factory, as the registry (../registry.ts) sees it.
import { defineSourceKind } from '../definition.js';
import { loadOnUse } from '../load-on-use.js';
import { radiusSourceSchema } from './config.js';

// The implementation (the RADIUS client) loads when a source of this kind is built, not when the
// registry is read for the config schema: a gateway without a RADIUS source never loads it.
const implementation = loadOnUse<typeof import('./index.js')>(import.meta.url, './index.js');

export const radiusKind = defineSourceKind({
  kind: 'radius',
  schema: radiusSourceSchema,
  create: (cfg, deps) => implementation().createRadiusSource(cfg, deps),
});
