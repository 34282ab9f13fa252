// Builds the runtime Source for each configured entry. The switch is exhaustive: a new kind
// that is added to the config schema but not here fails to compile.
import type { ResolvedSourceConfig } from '../config/load.js';
import { createLdapSource } from './ldap/index.js';
import { createOidcSource } from './oidc/index.js';
import { createRadiusSource } from './radius/index.js';
import { createTacacsSource } from './tacacs/index.js';
import { createUpstreamSource } from './upstream/index.js';
import type { Source, SourceDeps } from './source.js';

export function createSource(cfg: ResolvedSourceConfig, deps: SourceDeps): Source {
  const d: SourceDeps = { ...deps, logger: deps.logger.child({ source: cfg.id }) };
  switch (cfg.kind) {
    case 'oidc':
      return createOidcSource(cfg, d);
    case 'radius':
      return createRadiusSource(cfg, d);
    case 'tacacs':
      return createTacacsSource(cfg, d);
    case 'ldap':
      return createLdapSource(cfg, d);
    case 'upstream':
      return createUpstreamSource(cfg, d);
    default: {
      // Check the whole union, not `cfg.kind`: with two or more kinds cfg narrows to never here.
      const never: never = cfg;
      throw new TypeError(`ERR_INVALID_ARG_VALUE: unknown source kind ${String((never as { kind?: unknown }).kind)}`);
    }
  }
}
