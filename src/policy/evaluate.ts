// The decision: a pure function of (compiled policy, identity). Sign-in, refresh, config
// reload and `netbox-gate explain` all call this one function.
// Semantics: deny wins over allow; without a matching allow rule there is no access;
// privileges (NetBox groups, superuser, staff) are the union of matching allow/grant rules
// plus the default groups. Only mapped groups ever reach NetBox.
import { getPath, valueStrings } from '../attributes.js';
import type { Decision, Identity, TraceEntry } from '../types.js';
import { matchAcr } from './acr.js';
import type { CompiledPolicy, CompiledRule } from './compile.js';
import { normalizeGroup, type Matcher } from './pattern.js';

interface GroupIndex {
  list: string[];
  exact: Map<string, string>;
  lower: Map<string, string>;
}

/** First group matching m: a Set lookup for exact patterns, a scan for glob/regex. */
function findGroup(m: Matcher, g: GroupIndex): string | undefined {
  if (m.exact) return (m.exact.caseInsensitive ? g.lower : g.exact).get(m.exact.value);
  return g.list.find((x) => m.test(x));
}

function matchRule(rule: CompiledRule, id: Identity, groups: GroupIndex): string[] | undefined {
  const why: string[] = [];
  if (rule.sources) {
    if (!rule.sources.has(id.sourceId)) return undefined;
    why.push(`source is "${id.sourceId}"`);
  }
  if (rule.groups) {
    let hit: string | undefined;
    for (const m of rule.groups) {
      const g = findGroup(m, groups);
      if (g !== undefined) {
        hit = `group "${g}" matches ${m.label}`;
        break;
      }
    }
    if (!hit) return undefined;
    why.push(hit);
  }
  if (rule.allGroups) {
    for (const m of rule.allGroups) {
      const g = findGroup(m, groups);
      if (g === undefined) return undefined;
      why.push(`group "${g}" matches ${m.label}`);
    }
  }
  if (rule.users) {
    const m = rule.users.find((u) => u.test(id.username));
    if (!m) return undefined;
    why.push(`user "${id.username}" matches ${m.label}`);
  }
  if (rule.emailDomains) {
    const domain = id.email?.includes('@') ? id.email.slice(id.email.lastIndexOf('@') + 1).toLowerCase() : undefined;
    if (!domain || !rule.emailDomains.includes(domain)) return undefined;
    why.push(`email domain "${domain}" is listed`);
  }
  if (rule.claims) {
    for (const c of rule.claims) {
      const values = claimValues(id, c.path);
      let hit: string | undefined;
      for (const m of c.matchers) {
        const v = values.find((x) => m.test(x));
        if (v !== undefined) {
          hit = `claim ${c.path} "${v}" matches ${m.label}`;
          break;
        }
      }
      if (!hit) return undefined;
      why.push(hit);
    }
  }
  if (rule.acr) {
    const hit = matchAcr(rule.acr, id);
    if (!hit) return undefined;
    why.push(hit);
  }
  if (why.length === 0) why.push('rule has no conditions (matches everyone)');
  return why;
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
  const list = id.groups.map((g) => normalizeGroup(g, policy.normalizeGroupPaths));
  const groups: GroupIndex = { list, exact: new Map(), lower: new Map() };
  for (const g of list) {
    if (!groups.exact.has(g)) groups.exact.set(g, g);
    const l = g.toLowerCase();
    if (!groups.lower.has(l)) groups.lower.set(l, g);
  }
  const trace: TraceEntry[] = [];
  for (const rule of policy.rules) {
    const matched = matchRule(rule, id, groups);
    if (!matched) continue;
    trace.push({ rule: rule.name, effect: rule.effect, matched, groups: rule.netboxGroups, superuser: rule.superuser, staff: rule.staff });
  }
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
  const denied = trace.find((t) => t.effect === 'deny');
  if (denied) {
    return { ...base, reasonCode: 'denied_by_rule', reason: `denied by rule "${denied.rule}"` };
  }
  if (!trace.some((t) => t.effect === 'allow')) {
    return { ...base, reasonCode: 'no_allow_rule', reason: 'no allow rule matched' };
  }
  const netboxGroups = new Set(policy.defaultGroups);
  let superuser = false;
  let staff = false;
  for (const t of trace) {
    t.groups.forEach((g) => netboxGroups.add(g));
    superuser ||= t.superuser;
    staff ||= t.staff;
  }
  return { ...base, allowed: true, groups: [...netboxGroups].sort(), superuser, staff };
}

/**
 * What NetBox must see for this decision; a change means NetBox's session has to be
 * restarted so NetBox syncs groups and is_superuser again.
 */
export function decisionFingerprint(d: Decision): string {
  return JSON.stringify([d.username, d.groups, d.superuser, d.staff, d.email ?? '', d.firstName ?? '', d.lastName ?? '']);
}
