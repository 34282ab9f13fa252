// The TACACS+ source kind: schema, as the registry (../registry.ts) sees it.
import { defineSourceKind } from '../definition.js';
import { tacacsSourceSchema } from './config.js';

export const tacacsKind = defineSourceKind({
  kind: 'tacacs',
  schema: tacacsSourceSchema,
});
