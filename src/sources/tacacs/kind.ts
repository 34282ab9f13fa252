// The TACACS+ source kind: schema and factory, as the registry (../registry.ts) sees it.
import { defineSourceKind } from '../definition.js';
import { loadOnUse } from '../load-on-use.js';
import { tacacsSourceSchema } from './config.js';

// The implementation (the TACACS+ client) loads when a source of this kind is built, not when the
// registry is read for the config schema: a gateway without a TACACS+ source never loads it.
const implementation = loadOnUse<typeof import('./index.js')>(import.meta.url, './index.js');

export const tacacsKind = defineSourceKind({
  kind: 'tacacs',
  schema: tacacsSourceSchema,
  create: (cfg, deps) => implementation().createTacacsSource(cfg, deps),
});
