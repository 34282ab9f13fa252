// Builds the runtime Source for each configured entry through its kind's definition in the
// registry, so a kind that is registered is also buildable (there is no second list to forget).
// Each source logs through a child bound to its id: sources never add `source` themselves.
import { sourceKind, type ResolvedSourceConfig } from './registry.js';
import type { Source, SourceDeps } from './source.js';

export function createSource(cfg: ResolvedSourceConfig, deps: SourceDeps): Source {
  const def = sourceKind(cfg.kind);
  if (!def) {
    const e = new TypeError(`unknown source kind ${JSON.stringify((cfg as { kind?: unknown }).kind)}`) as TypeError & { code: string };
    e.code = 'ERR_INVALID_ARG_VALUE';
    throw e;
  }
  return def.create(cfg, { ...deps, logger: deps.logger.child({ source: cfg.id }) });
}
