// The compiled policy turned inside out, once per policy: every group, claim and user pattern of
// every rule in one ValueIndex per kind, so a decision looks each of the user's groups up once
// instead of testing it against every rule. Pure; evaluate.ts reads it.
import type { CompiledPolicy, CompiledRule } from './compile.js';
import type { TraceEntry } from '../types.js';
import type { Matcher } from './pattern.js';
import { ValueIndex } from './value-index.js';

/** Matchers of one kind (groups, users, or the claim at one path) and the rule each belongs to. */
export interface Namespace {
  /** The claim's path, for a claim's namespace; '' for groups and users. */
  path: string;
  /** The path split at its dots, and per position the rest of the path from there: what
   * getPath (attributes.ts) computes per call. */
  parts: readonly string[];
  rests: readonly string[];
  index: ValueIndex;
  /** Matcher id -> rule position. */
  rule: Int32Array;
  /** The trace's reason for a value matching a matcher, e.g. `group "x" matches glob "x*"`. */
  describe: (value: string, label: string) => string;
  /** Per matcher id, the last value described and its text: users' groups recur, and a
   * decision's trace can hold hundreds of reasons. */
  lastValue: Array<string | undefined>;
  lastReason: string[];
  /** Scratch for one decision: per matcher id, the first value (in the identity's order) that
   * matched it. */
  first: Array<string | undefined>;
  /** The matcher ids whose `first` the last decision set (the first `hits` of them): what the
   * next one clears. */
  hit: Int32Array;
  hits: number;
}

/** The reason for matcher `m` of `ns` matching `value`, as `describe` words it. */
export function reason(ns: Namespace, m: number, value: string): string {
  if (ns.lastValue[m] === value) return ns.lastReason[m]!;
  const text = ns.describe(value, ns.index.matchers[m]!.label);
  ns.lastValue[m] = value;
  ns.lastReason[m] = text;
  return text;
}

/** A rule's conditions as matcher ids, in the order of the rule's own matcher lists. */
export interface RuleRefs {
  groups?: readonly number[];
  allGroups?: readonly number[];
  /** `claim` is the position of the path in PolicyIndex.claims. */
  claims?: ReadonlyArray<{ claim: number; ids: readonly number[] }>;
  users?: readonly number[];
}

/**
 * A rule whose one condition is a list of patterns of one kind, any of which must match (groups,
 * users, or one claim path), and nothing else: the shape of most rules. Such a rule matches
 * exactly when one of its patterns matched a value, which is what makes it a candidate, so the
 * decision takes the reason of its first pattern that matched without checking the rule again.
 */
export interface AnyOf {
  ns: Namespace;
  /** The rule's matcher ids in `ns`, in the rule's order; never empty. */
  ids: readonly number[];
}

export const RULE_ALLOW = 1;
export const RULE_DENY = 2;
export const RULE_SUPERUSER = 4;
export const RULE_STAFF = 8;

export interface PolicyIndex {
  groups: Namespace;
  claims: Namespace[];
  users: Namespace;
  refs: RuleRefs[];
  /** Per rule, its one any-of condition (see AnyOf), or undefined: the rule is checked in full. */
  anyOf: Array<AnyOf | undefined>;
  /** Per rule whose AnyOf has one pattern: that pattern's matcher id, and the namespace's hits
   * (`first`); -1 and undefined for other rules. */
  single: Int32Array;
  singleFirst: Array<Namespace['first'] | undefined>;
  /** Per such rule, the value that matched when its entry in `entries` was made: the entry is
   * the same for the same value. */
  entryValue: Array<string | undefined>;
  /** Per rule, the rank of its one NetBox group; -1 for none, -2 for several (see ruleRanks). */
  rank: Int32Array;
  /** Per rule, what it decides when it matches (the RULE_* bits), so that the decision does not
   * read rules of many shapes. */
  effects: Uint8Array;
  /** Rules with no group, claim or user pattern, checked for every identity (the others only
   * when one of their patterns matched), as a bit set like `candidate`. */
  unconditional: Int32Array;
  /** Every NetBox group name the policy can give, in the order the decision sorts them. */
  netboxNames: string[];
  defaultRanks: number[];
  ruleRanks: number[][];
  /** Scratch for one decision, as bit sets (bit i of word i >> 5): the rules to check; the
   * NetBox names given (by rank). Bits, not bytes: a decision walks only the set ones. */
  candidate: Int32Array;
  given: Int32Array;
  /** Per rule, the trace entry of the last decision it matched (see evaluate.ts, traceEntry). */
  entries: Array<TraceEntry | undefined>;
}

/** Words of a bit set of n bits. */
const bitWords = (n: number) => (n + 31) >> 5;

class NamespaceBuilder {
  readonly matchers: Matcher[] = [];
  readonly rules: number[] = [];
  add(matchers: readonly Matcher[], rule: number): number[] {
    return matchers.map((m) => {
      this.matchers.push(m);
      this.rules.push(rule);
      return this.matchers.length - 1;
    });
  }
  build(describe: Namespace['describe'], path = '', groupPaths = false): Namespace {
    const n = this.matchers.length;
    const parts = path.split('.');
    const rests = parts.map((_, i) => parts.slice(i).join('.'));
    return { path, parts, rests, index: new ValueIndex(this.matchers, groupPaths), rule: Int32Array.from(this.rules), describe, lastValue: new Array<undefined>(n).fill(undefined), lastReason: new Array<string>(n).fill(''), first: new Array<undefined>(n).fill(undefined), hit: new Int32Array(n), hits: 0 };
  }
}

function buildIndex(policy: CompiledPolicy): PolicyIndex {
  const groups = new NamespaceBuilder();
  const users = new NamespaceBuilder();
  const claimPaths = new Map<string, { claim: number; builder: NamespaceBuilder }>();
  const unconditional = new Int32Array(bitWords(policy.rules.length));
  const refs = policy.rules.map((rule: CompiledRule, i): RuleRefs => {
    const r: RuleRefs = {};
    let patterns = 0;
    if (rule.groups) {
      r.groups = groups.add(rule.groups, i);
      patterns += rule.groups.length;
    }
    if (rule.allGroups) {
      r.allGroups = groups.add(rule.allGroups, i);
      patterns += rule.allGroups.length;
    }
    if (rule.claims) {
      r.claims = rule.claims.map((c) => {
        let ns = claimPaths.get(c.path);
        if (!ns) {
          ns = { claim: claimPaths.size, builder: new NamespaceBuilder() };
          claimPaths.set(c.path, ns);
        }
        patterns += c.matchers.length;
        return { claim: ns.claim, ids: ns.builder.add(c.matchers, i) };
      });
    }
    if (rule.users) {
      r.users = users.add(rule.users, i);
      patterns += rule.users.length;
    }
    // A condition with no patterns (an empty list in a hand-built policy) can never hold, but
    // then nothing would ever make the rule a candidate: check it every time, as before.
    const empty = [rule.groups, rule.allGroups, rule.users, ...(rule.claims ?? []).map((c) => c.matchers)].some((l) => l !== undefined && l.length === 0);
    if (patterns === 0 || empty) unconditional[i >> 5]! |= 1 << (i & 31);
    return r;
  });

  const names = new Set(policy.defaultGroups);
  for (const rule of policy.rules) rule.netboxGroups.forEach((g) => names.add(g));
  // The same comparison as the decision's `[...set].sort()`, done once.
  const netboxNames = [...names].sort();
  const rank = new Map(netboxNames.map((n, i) => [n, i]));
  const groupsNs = groups.build((g, label) => `group "${g}" matches ${label}`, '', policy.normalizeGroupPaths);
  const claims = [...claimPaths].map(([path, ns]) => ns.builder.build((v, label) => `claim ${path} "${v}" matches ${label}`, path));
  const usersNs = users.build((u, label) => `user "${u}" matches ${label}`);
  const anyOf = policy.rules.map((rule, i): AnyOf | undefined => {
    if (rule.sources || rule.allGroups || rule.emailDomains || rule.acr) return undefined;
    const r = refs[i]!;
    const conditions: AnyOf[] = [];
    if (r.groups) conditions.push({ ns: groupsNs, ids: r.groups });
    if (r.users) conditions.push({ ns: usersNs, ids: r.users });
    for (const c of r.claims ?? []) conditions.push({ ns: claims[c.claim]!, ids: c.ids });
    return conditions.length === 1 && conditions[0]!.ids.length > 0 ? conditions[0] : undefined;
  });
  const ruleRanks = policy.rules.map((rule) => rule.netboxGroups.map((g) => rank.get(g)!));
  return {
    groups: groupsNs,
    claims,
    users: usersNs,
    refs,
    anyOf,
    single: Int32Array.from(anyOf, (a) => (a && a.ids.length === 1 ? a.ids[0]! : -1)),
    singleFirst: anyOf.map((a) => (a && a.ids.length === 1 ? a.ns.first : undefined)),
    entryValue: new Array<undefined>(policy.rules.length).fill(undefined),
    rank: Int32Array.from(ruleRanks, (r) => (r.length === 0 ? -1 : r.length === 1 ? r[0]! : -2)),
    effects: Uint8Array.from(policy.rules, (r) => (r.effect === 'allow' ? RULE_ALLOW : r.effect === 'deny' ? RULE_DENY : 0) | (r.superuser ? RULE_SUPERUSER : 0) | (r.staff ? RULE_STAFF : 0)),
    unconditional,
    netboxNames,
    defaultRanks: policy.defaultGroups.map((g) => rank.get(g)!),
    ruleRanks,
    candidate: new Int32Array(bitWords(policy.rules.length)),
    given: new Int32Array(bitWords(netboxNames.length)),
    entries: new Array<undefined>(policy.rules.length).fill(undefined),
  };
}

const indexes = new WeakMap<CompiledPolicy, PolicyIndex>();

/**
 * The index of a compiled policy, built on first use (compilePolicy builds it, so at start-up).
 * A compiled policy is read-only: the index does not follow changes made to it afterwards.
 */
export function policyIndex(policy: CompiledPolicy): PolicyIndex {
  let index = indexes.get(policy);
  if (!index) {
    index = buildIndex(policy);
    indexes.set(policy, index);
  }
  return index;
}
