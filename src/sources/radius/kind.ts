// The RADIUS source kind: schema, as the registry (../registry.ts) sees it.
import { defineSourceKind } from '../definition.js';
import { radiusSourceSchema } from './config.js';

export const radiusKind = defineSourceKind({
  kind: 'radius',
  schema: radiusSourceSchema,
});
