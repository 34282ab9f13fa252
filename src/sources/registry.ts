// Every source kind, listed once. The config schema, config resolution and checks and the
// SourceKind type derive from this list: a new kind is its folder, one line here and one entry in
// factory.ts (which the compiler asks for: its table is keyed by SourceKind).
import { z } from 'zod';
import type { ResolveContext, SourceIssue, SourceKindDefinition } from './definition.js';
import { ldapKind } from './ldap/kind.js';
import { localKind } from './local/kind.js';
import { oidcKind } from './oidc/kind.js';
import { radiusKind } from './radius/kind.js';
import { tacacsKind } from './tacacs/kind.js';
import { upstreamKind } from './upstream/kind.js';

export const SOURCE_KINDS = [oidcKind, radiusKind, tacacsKind, ldapKind, upstreamKind, localKind] as const;

type Definitions = typeof SOURCE_KINDS;
type Definition = Definitions[number];

/** 'oidc' | 'radius' | ...: derived from the registry, never written out. */
export type SourceKind = Definition['kind'];

// What each kind's resolution gives (and its factory takes); distributes over the union of definitions.
type ResolvedOf<D> = D extends SourceKindDefinition<infer _K, infer _S, infer R> ? R : never;

/** A source entry after parsing and resolution (presets applied): what the factory receives. */
export type ResolvedSourceConfig = ResolvedOf<Definition>;

/** The parsed (not yet resolved) entry of any kind. */
export type SourceConfig = z.output<Definition['schema']>;

// Generic so the mapped type keeps the tuple shape that z.discriminatedUnion needs.
type SchemasOf<T extends readonly unknown[]> = { -readonly [I in keyof T]: T[I] extends { schema: infer S } ? S : never };
type Schemas = SchemasOf<Definitions>;

/** Every kind's entry schema, in registry order. */
export const sourceSchemas = SOURCE_KINDS.map((d) => d.schema) as unknown as Schemas;

/** One source entry of any kind; config/schema.ts uses it for the `sources` list. */
export const sourceSchema = z.discriminatedUnion('kind', sourceSchemas);

/** The kinds' names, for messages ("expected one of ..."). */
export const sourceKindNames: readonly SourceKind[] = SOURCE_KINDS.map((d) => d.kind);

/**
 * A kind's definition with its types widened, for code that handles entries of any kind one at
 * a time (config loading). Each entry reaches only its own kind's functions.
 */
export interface AnySourceKind {
  readonly kind: SourceKind;
  readonly schema: z.ZodType<SourceConfig>;
  resolve?(parsed: SourceConfig, ctx: ResolveContext): { config?: ResolvedSourceConfig; issues: SourceIssue[] };
  check?(resolved: ResolvedSourceConfig): SourceIssue[];
  notices?(resolved: ResolvedSourceConfig): SourceIssue[];
}

const byKind = new Map<string, AnySourceKind>(SOURCE_KINDS.map((d) => [d.kind, d as unknown as AnySourceKind]));

/** The definition for a `kind:` value, or undefined for a kind nobody registered. */
export function sourceKind(kind: unknown): AnySourceKind | undefined {
  return typeof kind === 'string' ? byKind.get(kind) : undefined;
}
