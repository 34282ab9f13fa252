// Builds the runtime Source for each configured entry: the table below has one entry per kind of
// the registry (keyed by SourceKind, so a registered kind without a factory does not compile).
// Each kind's implementation, and libraries such as openid-client or ldapts, load only when a
// source of that kind is built (load-on-use.ts); this module imports no config schema, so the
// serving process does not load zod (idle RSS, docs/performance.md).
// Each source logs through a child bound to its id: sources never add `source` themselves.
import { loadOnUse } from '../load-on-use.js';
import type { ResolvedSourceConfig, SourceKind } from './registry.js';
import type { Source, SourceDeps } from './source.js';

type ConfigOf<K extends SourceKind> = Extract<ResolvedSourceConfig, { kind: K }>;
type Factories = { [K in SourceKind]: (cfg: ConfigOf<K>, deps: SourceDeps) => Source };

const oidc = loadOnUse<typeof import('./oidc/index.js')>(import.meta.url, './oidc/index.js');
const radius = loadOnUse<typeof import('./radius/index.js')>(import.meta.url, './radius/index.js');
const tacacs = loadOnUse<typeof import('./tacacs/index.js')>(import.meta.url, './tacacs/index.js');
const ldap = loadOnUse<typeof import('./ldap/index.js')>(import.meta.url, './ldap/index.js');
const upstream = loadOnUse<typeof import('./upstream/index.js')>(import.meta.url, './upstream/index.js');
const local = loadOnUse<typeof import('./local/index.js')>(import.meta.url, './local/index.js');

const FACTORIES: Factories = {
  oidc: (cfg, deps) => oidc().createOidcSource(cfg, deps),
  radius: (cfg, deps) => radius().createRadiusSource(cfg, deps),
  tacacs: (cfg, deps) => tacacs().createTacacsSource(cfg, deps),
  ldap: (cfg, deps) => ldap().createLdapSource(cfg, deps),
  upstream: (cfg, deps) => upstream().createUpstreamSource(cfg, deps),
  local: (cfg, deps) => local().createLocalSource(cfg, deps),
};

export function createSource(cfg: ResolvedSourceConfig, deps: SourceDeps): Source {
  const create = Object.hasOwn(FACTORIES, cfg.kind) ? (FACTORIES[cfg.kind] as (cfg: ResolvedSourceConfig, deps: SourceDeps) => Source) : undefined;
  if (!create) {
    const e = new TypeError(`unknown source kind ${JSON.stringify((cfg as { kind?: unknown }).kind)}`) as TypeError & { code: string };
    e.code = 'ERR_INVALID_ARG_VALUE';
    throw e;
  }
  return create(cfg, { ...deps, logger: deps.logger.child({ source: cfg.id }) });
}
