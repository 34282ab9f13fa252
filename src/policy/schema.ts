// The declarative policy as written in the config file. Parsed with zod at the edge;
// compile.ts turns it into matchers once, evaluate.ts runs them per sign-in.
import { z } from 'zod';

/** A pattern: a plain string is exact; `{glob}` uses * and ?; `{regex}` is a JavaScript regex. */
export const patternSchema = z.union([
  z.string().min(1),
  z.strictObject({ glob: z.string().min(1) }),
  z.strictObject({ regex: z.string().min(1) }),
]);
export type PatternInput = z.infer<typeof patternSchema>;

const oneOrMany = <T extends z.ZodType>(t: T) => z.union([t, z.array(t).min(1)]);

/** Authentication context levels, weakest first (e.g. [pwd, mfa, phr]). */
const acrOrder = z.array(z.string().min(1)).min(1);

/** The identity's `acr` claim is `atLeast` this level or stronger, in `order` (or policy.acrOrder). */
export const acrConditionSchema = z.strictObject({
  atLeast: z.string().min(1),
  order: acrOrder.optional(),
});
export type AcrConditionInput = z.infer<typeof acrConditionSchema>;

export const ruleSchema = z.strictObject({
  name: z.string().min(1).max(100),
  description: z.string().optional(),
  /** allow: may sign in (plus privileges); deny: may not, whatever else matches; grant: privileges only. */
  effect: z.enum(['allow', 'deny', 'grant']).default('allow'),
  /** Source ids this rule applies to; every source when omitted. */
  sources: oneOrMany(z.string().min(1)).optional(),
  /** Matches when the user has at least one group matching at least one pattern. */
  groups: oneOrMany(patternSchema).optional(),
  /** Matches when the user has groups matching every pattern. */
  allGroups: oneOrMany(patternSchema).optional(),
  /** Claim/attribute path -> pattern(s); every listed claim must match (any value of an array claim). */
  claims: z.record(z.string().min(1), oneOrMany(patternSchema)).optional(),
  /** The user name matches one of these. */
  users: oneOrMany(patternSchema).optional(),
  /** The email's domain (after @) is one of these (case-insensitive). */
  emailDomains: oneOrMany(z.string().min(1)).optional(),
  /** The authentication context (OIDC `acr`) is at least this level. MFA by method: `claims: { amr: mfa }`. */
  acr: acrConditionSchema.optional(),
  /** Compare groups, users and claims ignoring letter case. Default: policy.caseInsensitive. */
  caseInsensitive: z.boolean().optional(),
  /** NetBox groups this rule gives (union over all matching allow/grant rules). */
  netboxGroups: oneOrMany(z.string()).optional(),
  superuser: z.literal(true).optional(),
  /** is_staff; only NetBox < 4.5 has it. */
  staff: z.literal(true).optional(),
});
export type RuleInput = z.input<typeof ruleSchema>;

export const policySchema = z.strictObject({
  /** NetBox groups every allowed user gets. */
  defaultGroups: z.array(z.string()).default([]),
  caseInsensitive: z.boolean().default(false),
  /** Strip the leading "/" of Keycloak-style full group paths ("/eng/dev" -> "eng/dev") on both sides. */
  normalizeGroupPaths: z.boolean().default(true),
  /** Order of acr levels, weakest first, for rules' `acr: { atLeast }` that give none of their own. */
  acrOrder: acrOrder.optional(),
  rules: z.array(ruleSchema).default([]),
});
export type PolicyInput = z.input<typeof policySchema>;
export type PolicyConfig = z.output<typeof policySchema>;
