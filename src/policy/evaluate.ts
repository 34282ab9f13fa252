// The decision: a pure function of (compiled policy, identity). Sign-in, refresh, config
// reload and `netbox-gate explain` all call this one function.
// Semantics: deny wins over allow; without a matching allow rule there is no access;
// privileges (NetBox groups, superuser, staff) are the union of matching allow/grant rules
// plus the default groups. Only mapped groups ever reach NetBox.
import { getPath, valueStrings } from '../attributes.js';
import type { Decision, Identity, TraceEntry } from '../types.js';
import { matchAcr } from './acr.js';
import type { CompiledPolicy, CompiledRule } from './compile.js';
import { normalizeGroup } from './pattern.js';
import { type Namespace, type PolicyIndex, policyIndex, reason, type RuleRefs } from './policy-index.js';

// How it scales: each of the user's groups is looked up once in the policy's index (one Map
// lookup once a group name has been seen; see value-index.ts), which says which patterns it
// matches and so which rules can match at all. Only those rules, and rules without group, claim
// or user patterns, are checked, in policy order, with the same reasons in the trace as a rule by
// rule scan would give (docs/policy.md, "How matching scales").

/** Per decision: for each matcher id, the first value (in the identity's order) it matched. */
type FirstHits = Namespace['first'];

/**
 * Looks the values up once, records each matcher's first hit and marks its rule a candidate.
 * `groupPaths`: the values are groups, compared without the leading "/" of a Keycloak path.
 */
function collect(ns: Namespace, values: readonly string[], candidate: Uint8Array, groupPaths = false): FirstHits {
  const first = ns.first;
  first.fill(undefined);
  const index = ns.index;
  // Indexed loops and one integer per value: this runs for each of a user's (possibly
  // thousands of) groups.
  for (let i = 0; i < values.length; i++) {
    let v = values[i]!;
    if (groupPaths && v.charCodeAt(0) === 47) v = normalizeGroup(v, true);
    const hits = index.lookup(v);
    if (hits >= 0) {
      if (first[hits] === undefined) {
        first[hits] = v;
        candidate[ns.rule[hits]!] = 1;
      }
    } else if (hits !== -1) {
      const ids = index.multiple(hits);
      for (let j = 0; j < ids.length; j++) {
        const m = ids[j]!;
        if (first[m] === undefined) {
          first[m] = v;
          candidate[ns.rule[m]!] = 1;
        }
      }
    }
  }
  return first;
}

interface Hits {
  groups: FirstHits;
  claims: FirstHits[];
  users: FirstHits;
  /** Lower-cased email domain, computed on first use. */
  domain?: string | null;
}

/** The reasons of the rule being checked, the first `n` that matchRule returns. Reused, so that
 * only a new trace entry copies them. */
const reasons: string[] = [];
/** The trace being built, copied once to its exact size (an array grown by push is copied
 * several times on the way). */
const entries: Array<TraceEntry | undefined> = [];

/** -1 when the rule does not match; otherwise the number of its reasons, in `reasons`. */
function matchRule(rule: CompiledRule, refs: RuleRefs, id: Identity, hits: Hits, index: PolicyIndex): number {
  let n = 0;
  if (rule.sources) {
    if (!rule.sources.has(id.sourceId)) return -1;
    reasons[n++] = `source is "${id.sourceId}"`;
  }
  if (rule.groups) {
    const ids = refs.groups!;
    let k = 0;
    while (k < ids.length && hits.groups[ids[k]!] === undefined) k++;
    if (k === ids.length) return -1;
    reasons[n++] = reason(index.groups, ids[k]!, hits.groups[ids[k]!]!);
  }
  if (rule.allGroups) {
    const ids = refs.allGroups!;
    for (let k = 0; k < ids.length; k++) {
      const g = hits.groups[ids[k]!];
      if (g === undefined) return -1;
      reasons[n++] = reason(index.groups, ids[k]!, g);
    }
  }
  if (rule.users) {
    const ids = refs.users!;
    let k = 0;
    while (k < ids.length && hits.users[ids[k]!] === undefined) k++;
    if (k === ids.length) return -1;
    reasons[n++] = reason(index.users, ids[k]!, id.username);
  }
  if (rule.emailDomains) {
    if (hits.domain === undefined) hits.domain = id.email?.includes('@') ? id.email.slice(id.email.lastIndexOf('@') + 1).toLowerCase() : null;
    const domain = hits.domain;
    if (!domain || !rule.emailDomains.includes(domain)) return -1;
    reasons[n++] = `email domain "${domain}" is listed`;
  }
  if (refs.claims) {
    for (let c = 0; c < refs.claims.length; c++) {
      const { claim, ids } = refs.claims[c]!;
      const first = hits.claims[claim]!;
      let k = 0;
      while (k < ids.length && first[ids[k]!] === undefined) k++;
      if (k === ids.length) return -1;
      reasons[n++] = reason(index.claims[claim]!, ids[k]!, first[ids[k]!]!);
    }
  }
  if (rule.acr) {
    const hit = matchAcr(rule.acr, id);
    if (!hit) return -1;
    reasons[n++] = hit;
  }
  if (n === 0) reasons[n++] = 'rule has no conditions (matches everyone)';
  return n;
}

/**
 * The trace entry of rule i for the reasons in `reasons`: the one of the last decision that
 * matched this rule for the same reasons (users' groups recur, so this is the usual case), or a
 * new one. Entries are frozen because decisions share them.
 */
function traceEntry(index: PolicyIndex, i: number, rule: CompiledRule, n: number): TraceEntry {
  const last = index.entries[i];
  if (last !== undefined && last.matched.length === n) {
    let k = 0;
    while (k < n && last.matched[k] === reasons[k]) k++;
    if (k === n) return last;
  }
  const matched = Object.freeze(reasons.slice(0, n)) as string[];
  const entry: TraceEntry = Object.freeze({ rule: rule.name, effect: rule.effect, matched, groups: rule.netboxGroups, superuser: rule.superuser, staff: rule.staff });
  index.entries[i] = entry;
  return entry;
}

/** Claims first; then the identity's own fields, so `email` works for every source. */
function claimValues(id: Identity, path: string): string[] {
  const v = valueStrings(getPath(id.attributes, path));
  if (v.length > 0) return v;
  switch (path) {
    case 'username':
      return [id.username];
    case 'email':
      return id.email ? [id.email] : [];
    case 'groups':
      return id.groups;
    default:
      return [];
  }
}

export function decide(policy: CompiledPolicy, id: Identity): Decision {
  const index = policyIndex(policy);
  // Scratch arrays of the index, reset here (decide never re-enters itself), so that a
  // decision allocates little more than what it returns: fewer young-generation collections.
  const candidate = index.candidate;
  candidate.set(index.unconditional);
  const hits: Hits = {
    groups: collect(index.groups, id.groups, candidate, policy.normalizeGroupPaths),
    claims: index.claims.map((ns) => collect(ns, claimValues(id, ns.path), candidate)),
    users: index.users.rule.length === 0 ? index.users.first : collect(index.users, [id.username], candidate),
  };
  let matches = 0;
  // The union of NetBox groups (by rank), superuser and staff over the matching rules, used only
  // when no deny rule matched (deny rules give none of them anyway).
  const given = index.given;
  given.fill(0);
  let count = 0;
  let superuser = false;
  let staff = false;
  let denied: CompiledRule | undefined;
  let allowed = false;
  for (let i = 0; i < policy.rules.length; i++) {
    if (candidate[i] === 0) continue;
    const rule = policy.rules[i]!;
    const n = matchRule(rule, index.refs[i]!, id, hits, index);
    if (n < 0) continue;
    entries[matches++] = traceEntry(index, i, rule, n);
    if (rule.effect === 'deny') denied ??= rule;
    else if (rule.effect === 'allow') allowed = true;
    const ranks = index.ruleRanks[i]!;
    for (let j = 0; j < ranks.length; j++) {
      count += 1 - given[ranks[j]!]!;
      given[ranks[j]!] = 1;
    }
    superuser ||= rule.superuser;
    staff ||= rule.staff;
  }
  const trace = entries.slice(0, matches) as TraceEntry[];
  entries.fill(undefined, 0, matches); // hold no entry past the call
  const base: Decision = {
    allowed: false,
    sourceId: id.sourceId,
    username: id.username,
    groups: [],
    superuser: false,
    staff: false,
    trace,
  };
  if (id.email !== undefined) base.email = id.email;
  if (id.firstName !== undefined) base.firstName = id.firstName;
  if (id.lastName !== undefined) base.lastName = id.lastName;

  if (id.username.trim() === '') {
    return { ...base, reasonCode: 'no_username', reason: 'the source delivered no user name' };
  }
  if (denied) {
    return { ...base, reasonCode: 'denied_by_rule', reason: `denied by rule "${denied.name}"` };
  }
  if (!allowed) {
    return { ...base, reasonCode: 'no_allow_rule', reason: 'no allow rule matched' };
  }
  // Sorted as `[...new Set(names)].sort()` would: by ranks fixed when the index was built.
  for (let j = 0; j < index.defaultRanks.length; j++) {
    count += 1 - given[index.defaultRanks[j]!]!;
    given[index.defaultRanks[j]!] = 1;
  }
  const groups = new Array<string>(count);
  for (let r = 0, k = 0; r < given.length; r++) if (given[r] === 1) groups[k++] = index.netboxNames[r]!;
  return { ...base, allowed: true, groups, superuser, staff };
}

/**
 * What NetBox must see for this decision; a change means NetBox's session has to be
 * restarted so NetBox syncs groups and is_superuser again.
 */
// A frozen decision (a session as the store shares it) cannot change: fingerprinted once.
const fingerprints = new WeakMap<Decision, string>();
export function decisionFingerprint(d: Decision): string {
  const known = fingerprints.get(d);
  if (known !== undefined) return known;
  const f = JSON.stringify([d.username, d.groups, d.superuser, d.staff, d.email ?? '', d.firstName ?? '', d.lastName ?? '']);
  if (Object.isFrozen(d)) fingerprints.set(d, f);
  return f;
}
