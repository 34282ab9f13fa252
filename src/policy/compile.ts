// Turns the parsed policy into matchers once, at config load, collecting every problem
// (bad regex, invalid NetBox group name) with its config path. Pure.
import type { ConfigIssue } from '../errors.js';
import { type CompiledAcr, acrOrderIssues, compileAcr } from './acr.js';
import { compilePattern, type Matcher } from './pattern.js';
import { policyIndex } from './policy-index.js';
import type { PatternInput, PolicyConfig } from './schema.js';
import type { RuleEffect } from '../types.js';

/** NetBox's Group.name is a CharField(max_length=150). */
export const NETBOX_GROUP_NAME_MAX = 150;

export interface CompiledRule {
  name: string;
  effect: RuleEffect;
  sources?: ReadonlySet<string>;
  groups?: Matcher[];
  allGroups?: Matcher[];
  claims?: Array<{ path: string; matchers: Matcher[] }>;
  users?: Matcher[];
  emailDomains?: string[];
  acr?: CompiledAcr;
  netboxGroups: string[];
  superuser: boolean;
  staff: boolean;
}

export interface CompiledPolicy {
  defaultGroups: string[];
  normalizeGroupPaths: boolean;
  rules: CompiledRule[];
}

const list = <T>(v: T | T[] | undefined): T[] | undefined => (v === undefined ? undefined : Array.isArray(v) ? v : [v]);

/** Problems with a NetBox group name, or undefined when NetBox will accept it in the header. */
export function checkNetboxGroupName(name: string, separator: string): string | undefined {
  if (name.trim() === '') return 'a NetBox group name must not be empty';
  if (name !== name.trim()) return `NetBox group name "${name}" has leading or trailing spaces (NetBox does not trim them)`;
  if (name.length > NETBOX_GROUP_NAME_MAX) return `NetBox group name is ${name.length} characters; NetBox allows at most ${NETBOX_GROUP_NAME_MAX}`;
  if (name.includes(separator)) return `NetBox group name "${name}" contains the group separator "${separator}"`;
  if (/[\r\n\0]/.test(name)) return `NetBox group name "${name}" contains a control character`;
  return undefined;
}

export function compilePolicy(
  policy: PolicyConfig,
  opts: { groupSeparator: string; path?: string },
): { policy?: CompiledPolicy; issues: ConfigIssue[] } {
  const base = opts.path ?? 'policy';
  const issues: ConfigIssue[] = [];
  const checkGroups = (names: string[], path: string) =>
    names.forEach((n, i) => {
      const problem = checkNetboxGroupName(n, opts.groupSeparator);
      if (problem) issues.push({ path: `${path}.${i}`, message: problem });
    });
  checkGroups(policy.defaultGroups, `${base}.defaultGroups`);
  if (policy.acrOrder) issues.push(...acrOrderIssues(policy.acrOrder, `${base}.acrOrder`));

  const seen = new Set<string>();
  const rules: CompiledRule[] = policy.rules.map((r, i) => {
    const p = `${base}.rules.${i}`;
    if (seen.has(r.name)) issues.push({ path: `${p}.name`, message: `rule name "${r.name}" is used twice; names identify rules in traces` });
    seen.add(r.name);
    const ci = r.caseInsensitive ?? policy.caseInsensitive;
    const compile = (pats: PatternInput[] | undefined, path: string, groupish: boolean): Matcher[] | undefined =>
      pats?.map((pat, j) => {
        try {
          return compilePattern(pat, { caseInsensitive: ci, normalizeGroupPaths: groupish && policy.normalizeGroupPaths });
        } catch (err) {
          issues.push({ path: `${path}.${j}.regex`, message: `invalid regular expression: ${(err as Error).message}` });
          return { label: 'invalid', test: () => false };
        }
      });
    const netboxGroups = list(r.netboxGroups) ?? [];
    if (r.effect === 'deny' && (netboxGroups.length > 0 || r.superuser || r.staff)) {
      issues.push({ path: p, message: 'a deny rule cannot give netboxGroups, superuser or staff' });
    }
    checkGroups(netboxGroups, `${p}.netboxGroups`);
    const sources = list(r.sources);
    const claims = r.claims
      ? Object.entries(r.claims).map(([path, pats]) => ({
          path,
          matchers: compile(list(pats), `${p}.claims.${path}`, false) ?? [],
        }))
      : undefined;
    const rule: CompiledRule = {
      name: r.name,
      effect: r.effect,
      netboxGroups,
      superuser: r.superuser === true,
      staff: r.staff === true,
    };
    if (sources) rule.sources = new Set(sources);
    const groups = compile(list(r.groups), `${p}.groups`, true);
    if (groups) rule.groups = groups;
    const allGroups = compile(list(r.allGroups), `${p}.allGroups`, true);
    if (allGroups) rule.allGroups = allGroups;
    if (claims) rule.claims = claims;
    const users = compile(list(r.users), `${p}.users`, false);
    if (users) rule.users = users;
    const domains = list(r.emailDomains);
    if (domains) rule.emailDomains = domains.map((d) => d.toLowerCase().replace(/^@/, ''));
    if (r.acr) {
      const c = compileAcr(r.acr, policy.acrOrder, `${p}.acr`);
      issues.push(...c.issues);
      if (c.acr) rule.acr = c.acr;
    }
    return rule;
  });
  if (issues.length > 0) return { issues };
  const compiled: CompiledPolicy = { defaultGroups: policy.defaultGroups, normalizeGroupPaths: policy.normalizeGroupPaths, rules };
  policyIndex(compiled); // built now, at config load, rather than at the first sign-in
  return { issues, policy: compiled };
}

/** Source ids the policy names, so config validation can flag a typo in `sources:`. */
export function referencedSources(policy: PolicyConfig): Array<{ path: string; id: string }> {
  return policy.rules.flatMap((r, i) => (list(r.sources) ?? []).map((id) => ({ path: `policy.rules.${i}.sources`, id })));
}
