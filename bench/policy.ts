// Policy decision cost against a baseline in the same run: `decide` with 200 rules (exact, glob,
// regex, claims) for a user with 50 groups, versus a plain Set lookup of the same groups.
// Run: npx tsc -p tsconfig.json && node build/bench/policy.js
import { compilePolicy } from '../src/policy/compile.js';
import { decide } from '../src/policy/evaluate.js';
import { policySchema } from '../src/policy/schema.js';
import type { Identity } from '../src/types.js';

const rules = Array.from({ length: 200 }, (_, i) =>
  i % 3 === 0
    ? { name: `r${i}`, groups: [`group-${i}`], netboxGroups: [`NB ${i}`] }
    : i % 3 === 1
      ? { name: `r${i}`, groups: [{ glob: `team-${i}-*` }], netboxGroups: [`NB ${i}`] }
      : { name: `r${i}`, claims: { 'realm_access.roles': { regex: `^role-${i}$` } }, netboxGroups: [`NB ${i}`] },
);
const policy = compilePolicy(policySchema.parse({ rules }), { groupSeparator: '|' }).policy!;
const groups = Array.from({ length: 50 }, (_, i) => (i % 2 ? `group-${i * 3}` : `team-${i}-x`));
const id: Identity = { sourceId: 's', sourceKind: 'oidc', subject: 'u', username: 'u', groups, attributes: { realm_access: { roles: ['role-5', 'role-8'] } } };

const N = 20_000;
const bench = (fn: () => unknown) => {
  for (let i = 0; i < 1000; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  return Number(process.hrtime.bigint() - t0) / N;
};
const wanted = new Set(rules.map((r) => `group-${r.name.slice(1)}`));
const baseline = bench(() => groups.filter((g) => wanted.has(g)));
const decision = bench(() => decide(policy, id));
console.log(JSON.stringify({ rules: rules.length, userGroups: groups.length, baselineNsPerOp: Math.round(baseline), decideNsPerOp: Math.round(decision), decideToBaselineRatio: Number((decision / baseline).toFixed(1)) }));
