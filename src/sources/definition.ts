// What a source kind brings to the config: its schema, how a parsed entry is resolved (presets,
// defaults), the checks that span its fields and start-up notices. Each folder's kind.ts exports
// one; registry.ts lists them; config/ derives from it. The factory (the folder's index.ts) is
// reached through factory.ts: the config side runs where the config is validated, which `serve`
// does in a process of its own (config/isolated.ts), so the two sides are kept apart.
import type { z } from 'zod';

/** A problem or notice about one source entry; `path` is relative to the entry ("issuer", "jwt.audience"). */
export interface SourceIssue {
  path: string;
  message: string;
}

/** What resolution may need beyond the entry: files the entry names are relative to the config file. */
export interface ResolveContext {
  /** The directory of the config file. */
  baseDir: string;
}

export interface SourceKindDefinition<K extends string, S extends z.ZodType<{ kind: K; id: string }>, R extends { kind: K; id: string } = z.output<S>> {
  readonly kind: K;
  /** The entry's schema; its `kind` field is the literal K. */
  readonly schema: S;
  /** Fills what the entry leaves out (presets); no config when the entry cannot be resolved. */
  resolve?(parsed: z.output<S>, ctx: ResolveContext): { config?: R; issues: SourceIssue[] };
  /** Checks on the resolved entry that a schema cannot express (they need the preset applied). */
  check?(resolved: R): SourceIssue[];
  /** Warnings that do not stop the config from loading; `check` prints them, `serve` logs them once. */
  notices?(resolved: R): SourceIssue[];
}

/** Identity function that lets TypeScript infer K, S and R from the object literal. */
export function defineSourceKind<K extends string, S extends z.ZodType<{ kind: K; id: string }>, R extends { kind: K; id: string } = z.output<S>>(
  def: SourceKindDefinition<K, S, R>,
): SourceKindDefinition<K, S, R> {
  return def;
}
