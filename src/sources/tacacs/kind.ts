// The TACACS+ source kind: schema and factory, as the registry (../registry.ts) sees it.
import { defineSourceKind } from '../definition.js';
import { tacacsSourceSchema } from './config.js';
import { createTacacsSource } from './index.js';

export const tacacsKind = defineSourceKind({
  kind: 'tacacs',
  schema: tacacsSourceSchema,
  create: (cfg, deps) => createTacacsSource(cfg, deps),
});
