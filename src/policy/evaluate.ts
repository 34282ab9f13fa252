// The decision: a pure function of (compiled policy, identity). Sign-in, refresh, config
// reload and `netbox-gate explain` all call this one function.
// Semantics: deny wins over allow; without a matching allow rule there is no access;
// privileges (NetBox groups, superuser, staff) are the union of matching allow/grant rules
// plus the default groups. Only mapped groups ever reach NetBox.
import type { AttributeValue, Attributes, Decision, Identity, TraceEntry } from '../types.js';
import { matchAcr } from './acr.js';
import type { CompiledPolicy, CompiledRule } from './compile.js';
import { normalizeGroup } from './pattern.js';
import { type Namespace, type PolicyIndex, policyIndex, reason, RULE_ALLOW, RULE_DENY, RULE_STAFF, RULE_SUPERUSER, type RuleRefs } from './policy-index.js';

// How it scales: each of the user's groups is looked up once in the policy's index (one Map
// lookup once a group name has been seen; see value-index.ts), which says which patterns it
// matches and so which rules can match at all. Only those rules, and rules without group, claim
// or user patterns, are checked, in policy order, with the same reasons in the trace as a rule by
// rule scan would give (docs/policy.md, "How matching scales").

/** Per decision: for each matcher id, the first value (in the identity's order) it matched. */
type FirstHits = Namespace['first'];

/**
 * Looks the values up once, records each matcher's first hit and marks its rule a candidate.
 * `groupPaths`: the values are groups, compared without the leading "/" of a Keycloak path (the
 * namespace's index was built so).
 */
function collect(ns: Namespace, values: readonly string[], candidate: Int32Array, groupPaths = false): void {
  const first = ns.first;
  // Only the hits of the last decision are cleared, not every matcher's slot: a user matches
  // a few of the policy's patterns, and a policy can have thousands.
  const hit = ns.hit;
  for (let k = 0; k < ns.hits; k++) first[hit[k]!] = undefined;
  let hits = 0;
  const index = ns.index;
  const known = index.known;
  // Indexed loops, one integer per value and ValueIndex.lookup written out: this runs for each
  // of a user's (possibly thousands of) groups.
  for (let i = 0; i < values.length; i++) {
    let v = values[i]!;
    let found = known.get(v);
    if (found === undefined) found = index.answer(v);
    if (found === -1) continue;
    // The index answered for the normalised value; the trace shows that value.
    if (groupPaths && v.charCodeAt(0) === 47) v = normalizeGroup(v, true);
    if (found >= 0) {
      if (first[found] === undefined) {
        first[found] = v;
        hit[hits++] = found;
        const r = ns.rule[found]!;
        candidate[r >> 5]! |= 1 << (r & 31);
      }
    } else {
      const ids = index.multiple(found);
      for (let j = 0; j < ids.length; j++) {
        const m = ids[j]!;
        if (first[m] === undefined) {
          first[m] = v;
          hit[hits++] = m;
          const r = ns.rule[m]!;
          candidate[r >> 5]! |= 1 << (r & 31);
        }
      }
    }
  }
  ns.hits = hits;
}

/** The value at a claim's path, as getPath (attributes.ts) finds it, with the path split once. */
function claimAt(attrs: Attributes, ns: Namespace): AttributeValue | undefined {
  if (Object.hasOwn(attrs, ns.path)) return attrs[ns.path];
  let cur: AttributeValue | undefined = attrs;
  for (let i = 0; i < ns.parts.length; i++) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    const rest = ns.rests[i]!;
    if (Object.hasOwn(cur, rest)) return cur[rest];
    const key = ns.parts[i]!;
    if (!Object.hasOwn(cur, key)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** The strings valueStrings (attributes.ts) gives for a value, appended to `out`. */
function pushStrings(value: AttributeValue | undefined, out: string[]): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) pushStrings(value[i], out);
  } else if (typeof value !== 'object') out.push(String(value));
}

/** Scratch for one claim's values. */
const claimScratch: string[] = [];

/** Claims first; then the identity's own fields, so `email` works for every source. */
function collectClaim(ns: Namespace, id: Identity, candidate: Int32Array): void {
  const values = claimScratch;
  pushStrings(claimAt(id.attributes, ns), values);
  if (values.length === 0) {
    if (ns.path === 'username') values.push(id.username);
    else if (ns.path === 'email') {
      if (id.email) values.push(id.email);
    } else if (ns.path === 'groups') {
      collect(ns, id.groups, candidate);
      return;
    }
  }
  collect(ns, values, candidate);
  values.length = 0;
}

/** The reasons of the rule being checked, the first `n` that matchRule returns. Reused, so that
 * only a new trace entry copies them. */
const reasons: string[] = [];
/** The trace being built, copied once to its exact size (an array grown by push is copied
 * several times on the way). */
const entries: Array<TraceEntry | undefined> = [];
/** The user name as the one value of the users' namespace, without a new array per decision. */
const username: string[] = [''];
/** The identity's lower-cased email domain (null: none), computed on first use in a decision. */
let domain: string | null | undefined;

/** -1 when the rule does not match; otherwise the number of its reasons, in `reasons`. */
function matchRule(rule: CompiledRule, refs: RuleRefs, id: Identity, index: PolicyIndex): number {
  let n = 0;
  if (rule.sources) {
    if (!rule.sources.has(id.sourceId)) return -1;
    reasons[n++] = `source is "${id.sourceId}"`;
  }
  const groups: FirstHits = index.groups.first;
  if (rule.groups) {
    const ids = refs.groups!;
    let k = 0;
    while (k < ids.length && groups[ids[k]!] === undefined) k++;
    if (k === ids.length) return -1;
    reasons[n++] = reason(index.groups, ids[k]!, groups[ids[k]!]!);
  }
  if (rule.allGroups) {
    const ids = refs.allGroups!;
    for (let k = 0; k < ids.length; k++) {
      const g = groups[ids[k]!];
      if (g === undefined) return -1;
      reasons[n++] = reason(index.groups, ids[k]!, g);
    }
  }
  if (rule.users) {
    const ids = refs.users!;
    const users: FirstHits = index.users.first;
    let k = 0;
    while (k < ids.length && users[ids[k]!] === undefined) k++;
    if (k === ids.length) return -1;
    reasons[n++] = reason(index.users, ids[k]!, id.username);
  }
  if (rule.emailDomains) {
    if (domain === undefined) domain = id.email?.includes('@') ? id.email.slice(id.email.lastIndexOf('@') + 1).toLowerCase() : null;
    if (!domain || !rule.emailDomains.includes(domain)) return -1;
    reasons[n++] = `email domain "${domain}" is listed`;
  }
  if (refs.claims) {
    for (let c = 0; c < refs.claims.length; c++) {
      const { claim, ids } = refs.claims[c]!;
      const ns = index.claims[claim]!;
      const first = ns.first;
      let k = 0;
      while (k < ids.length && first[ids[k]!] === undefined) k++;
      if (k === ids.length) return -1;
      reasons[n++] = reason(ns, ids[k]!, first[ids[k]!]!);
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

/** Sets bit r of `given`; 1 if it was not set. */
function give(given: Int32Array, r: number): number {
  const bit = 1 << (r & 31);
  const had = given[r >> 5]!;
  given[r >> 5] = had | bit;
  return (had & bit) === 0 ? 1 : 0;
}

export function decide(policy: CompiledPolicy, id: Identity): Decision {
  const index = policyIndex(policy);
  // Scratch arrays of the index, reset here (decide never re-enters itself), so that a
  // decision allocates little more than what it returns: fewer young-generation collections.
  const candidate = index.candidate;
  candidate.set(index.unconditional);
  collect(index.groups, id.groups, candidate, policy.normalizeGroupPaths);
  for (let c = 0; c < index.claims.length; c++) collectClaim(index.claims[c]!, id, candidate);
  if (index.users.rule.length > 0) {
    username[0] = id.username;
    collect(index.users, username, candidate);
  }
  domain = undefined;
  let matches = 0;
  // The union of NetBox groups (by rank), superuser and staff over the matching rules, used only
  // when no deny rule matched (deny rules give none of them anyway).
  const given = index.given;
  given.fill(0);
  let count = 0;
  let effects = 0;
  let denied = -1;
  const rules = policy.rules;
  const { anyOf, single, singleFirst, entryValue, rank, effects: ruleEffects, entries: lastEntries } = index;
  // The candidates in policy order: each word's set bits, lowest first.
  for (let w = 0; w < candidate.length; w++) {
    for (let bits = candidate[w]!; bits !== 0; ) {
      const low = bits & -bits;
      bits ^= low;
      const i = (w << 5) + 31 - Math.clz32(low);
      let entry: TraceEntry;
      const m = single[i]!;
      if (m >= 0) {
        // One pattern, which matched (see AnyOf): its entry depends only on the value it matched.
        const v = singleFirst[i]![m];
        if (v === undefined) continue;
        if (v === entryValue[i]) entry = lastEntries[i]!;
        else {
          reasons[0] = reason(anyOf[i]!.ns, m, v);
          entry = traceEntry(index, i, rules[i]!, 1);
          entryValue[i] = v;
        }
      } else {
        let n: number;
        const only = anyOf[i];
        if (only !== undefined) {
          // Known to match: a pattern of its one condition matched (see AnyOf).
          const first = only.ns.first;
          const ids = only.ids;
          let k = 0;
          while (k < ids.length && first[ids[k]!] === undefined) k++;
          if (k === ids.length) continue;
          reasons[0] = reason(only.ns, ids[k]!, first[ids[k]!]!);
          n = 1;
        } else {
          n = matchRule(rules[i]!, index.refs[i]!, id, index);
          if (n < 0) continue;
        }
        entry = traceEntry(index, i, rules[i]!, n);
      }
      entries[matches++] = entry;
      const e = ruleEffects[i]!;
      if (e & RULE_DENY && denied < 0) denied = i;
      effects |= e;
      const r = rank[i]!;
      if (r >= 0) count += give(given, r);
      else if (r === -2) {
        const ranks = index.ruleRanks[i]!;
        for (let j = 0; j < ranks.length; j++) count += give(given, ranks[j]!);
      }
    }
  }
  // (The scratch keeps the entries until the next decision overwrites them: at most one per
  // rule, and index.entries holds most of them anyway.)
  const trace = entries.slice(0, matches) as TraceEntry[];

  // Built in one go, with the properties in the order the decision always had them (a JSON of it
  // is stored and compared): allowed, sourceId, username, groups, superuser, staff, trace, email,
  // firstName, lastName, reasonCode, reason.
  let refusal: Decision['reasonCode'];
  let why = '';
  if (id.username.trim() === '') {
    refusal = 'no_username';
    why = 'the source delivered no user name';
  } else if (denied >= 0) {
    refusal = 'denied_by_rule';
    why = `denied by rule "${rules[denied]!.name}"`;
  } else if ((effects & RULE_ALLOW) === 0) {
    refusal = 'no_allow_rule';
    why = 'no allow rule matched';
  }
  let groups: string[];
  if (refusal !== undefined) groups = [];
  else {
    // Sorted as `[...new Set(names)].sort()` would: by ranks fixed when the index was built.
    for (let j = 0; j < index.defaultRanks.length; j++) count += give(given, index.defaultRanks[j]!);
    groups = new Array<string>(count);
    let k = 0;
    for (let w = 0; w < given.length; w++) {
      for (let bits = given[w]!; bits !== 0; ) {
        const low = bits & -bits;
        bits ^= low;
        groups[k++] = index.netboxNames[(w << 5) + 31 - Math.clz32(low)]!;
      }
    }
  }
  const allowed = refusal === undefined;
  const decision: Decision = {
    allowed,
    sourceId: id.sourceId,
    username: id.username,
    groups,
    superuser: allowed && (effects & RULE_SUPERUSER) !== 0,
    staff: allowed && (effects & RULE_STAFF) !== 0,
    trace,
  };
  if (id.email !== undefined) decision.email = id.email;
  if (id.firstName !== undefined) decision.firstName = id.firstName;
  if (id.lastName !== undefined) decision.lastName = id.lastName;
  if (refusal !== undefined) {
    decision.reasonCode = refusal;
    decision.reason = why;
  }
  return decision;
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
