// The RADIUS source kind: schema and factory, as the registry (../registry.ts) sees it.
import { defineSourceKind } from '../definition.js';
import { radiusSourceSchema } from './config.js';
import { createRadiusSource } from './index.js';

export const radiusKind = defineSourceKind({
  kind: 'radius',
  schema: radiusSourceSchema,
  create: (cfg, deps) => createRadiusSource(cfg, deps),
});
