// The indexed decision (policy-index.ts, value-index.ts) against the rule-by-rule scan it
// replaced, kept here as the reference: for random policies and identities the decision,
// trace and reasons included, must be the same. Also the index's building blocks on their own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { getPath, valueStrings } from '../../../src/attributes.js';
import { matchAcr } from '../../../src/policy/acr.js';
import { compilePolicy, type CompiledPolicy, type CompiledRule } from '../../../src/policy/compile.js';
import { decide } from '../../../src/policy/evaluate.js';
import { compilePattern, foldCase, globToRegex, normalizeGroup, type Matcher } from '../../../src/policy/pattern.js';
import { type PolicyInput, policySchema, type RuleInput } from '../../../src/policy/schema.js';
import { ValueIndex } from '../../../src/policy/value-index.js';
import type { Attributes, Decision, Identity, TraceEntry } from '../../../src/types.js';

// ---- The reference: src/policy/evaluate.ts as it was before the index, unchanged.

interface GroupIndex {
  list: string[];
  exact: Map<string, string>;
  lower: Map<string, string>;
}

function findGroup(m: Matcher, g: GroupIndex): string | undefined {
  if (m.exact) return (m.exact.caseInsensitive ? g.lower : g.exact).get(m.exact.value);
  return g.list.find((x) => m.test(x));
}

function matchRuleSlow(rule: CompiledRule, id: Identity, groups: GroupIndex): string[] | undefined {
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
      const values = claimValuesSlow(id, c.path);
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

function claimValuesSlow(id: Identity, path: string): string[] {
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

function decideSlow(policy: CompiledPolicy, id: Identity): Decision {
  const list = id.groups.map((g) => normalizeGroup(g, policy.normalizeGroupPaths));
  const groups: GroupIndex = { list, exact: new Map(), lower: new Map() };
  for (const g of list) {
    if (!groups.exact.has(g)) groups.exact.set(g, g);
    const l = g.toLowerCase();
    if (!groups.lower.has(l)) groups.lower.set(l, g);
  }
  const trace: TraceEntry[] = [];
  for (const rule of policy.rules) {
    const matched = matchRuleSlow(rule, id, groups);
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

// ---- Random policies and identities over a small alphabet, so that they often meet: letters
// whose case folds differ between toLowerCase and a regex's `i` (ß, İ, ı, ſ, K the Kelvin sign),
// Keycloak's "/", and the glob wildcards as plain characters of a group name.

const letters = ['a', 'A', 'b', 'B', 'i', 'I', 'k', 'K', 's', 'S', 'ß', 'İ', 'ı', 'ſ', '\u212A', '-', '/', '.', '*', '?', ' ', '\uD83D', '\uDE00'];
const word = (min: number, max: number) => fc.array(fc.constantFrom(...letters), { minLength: min, maxLength: max }).map((cs) => cs.join(''));
const groupName = fc.oneof(word(0, 5), word(0, 4).map((w) => `/${w}`), word(0, 3).map((w) => `//${w}`));
const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const pattern: fc.Arbitrary<NonNullable<RuleInput['groups']>> = fc.oneof(
  word(1, 4),
  word(1, 3).map((w) => `/${w}`),
  fc.tuple(word(0, 3), fc.constantFrom('*', '?', '**', '*?'), word(0, 2)).map(([a, w, b]) => ({ glob: `${a}${w}${b}` })),
  fc.constantFrom('*', '?', '/*').map((glob) => ({ glob })),
  fc.oneof(
    word(1, 3).map((w) => `^${escapeRegex(w)}`),
    word(1, 3).map((w) => `${escapeRegex(w)}$`),
    fc.constantFrom('^(a|B)+$', 's', '^$', '.', '^/', 'ß|ss', '^\\w+$'),
  ).map((regex) => ({ regex })),
);
const patterns = fc.oneof(pattern, fc.array(pattern, { minLength: 1, maxLength: 3 })) as fc.Arbitrary<NonNullable<RuleInput['groups']>>;
const claimPath = fc.constantFrom('roles', 'realm_access.roles', 'dept', 'groups', 'email', 'username', 'missing');
const netboxName = fc.constantFrom('A', 'B', 'C', 'a', 'b', 'NB 1', 'Ä', 'z');

const rule = (name: string): fc.Arbitrary<RuleInput> =>
  fc
    .record(
      {
        effect: fc.constantFrom('allow', 'allow', 'grant', 'deny'),
        sources: fc.constantFrom<string | string[]>('s1', ['s1', 's2']),
        groups: patterns,
        allGroups: patterns,
        claims: fc.dictionary(claimPath, patterns, { minKeys: 0, maxKeys: 2 }),
        users: patterns,
        emailDomains: fc.constantFrom<string | string[]>('example.org', ['EXAMPLE.org', '@x.com']),
        acr: fc.constantFrom({ atLeast: 'mfa' }, { atLeast: 'pwd' }),
        caseInsensitive: fc.boolean(),
        netboxGroups: fc.array(netboxName, { minLength: 1, maxLength: 3 }),
        superuser: fc.constant(true as const),
        staff: fc.constant(true as const),
      },
      { requiredKeys: [] },
    )
    .map((r): RuleInput => {
      const out: RuleInput = { name, ...r };
      if (r.effect === 'deny') {
        delete out.netboxGroups;
        delete out.superuser;
        delete out.staff;
      }
      return out;
    });

const policyInput: fc.Arbitrary<PolicyInput> = fc
  .record({
    defaultGroups: fc.array(netboxName, { maxLength: 2 }),
    caseInsensitive: fc.boolean(),
    normalizeGroupPaths: fc.boolean(),
    count: fc.integer({ min: 0, max: 12 }),
  })
  .chain(({ count, ...p }) =>
    fc.tuple(...Array.from({ length: count }, (_, i) => rule(`r${i}`))).map((rules) => ({ ...p, acrOrder: ['pwd', 'mfa', 'phr'], rules })),
  );

const value = fc.oneof(word(0, 4), fc.constantFrom('a', 'B', 'ß', 'SS', 'K'));
const attributes: fc.Arbitrary<Attributes> = fc.record(
  {
    roles: fc.oneof(value, fc.array(value, { maxLength: 3 })),
    realm_access: fc.record({ roles: fc.array(value, { maxLength: 3 }) }),
    'realm_access.roles': fc.array(value, { maxLength: 2 }),
    dept: fc.oneof(value, fc.integer({ min: 0, max: 3 }), fc.constant(null), fc.constant(true)),
    groups: fc.array(value, { maxLength: 2 }),
    acr: fc.constantFrom('pwd', 'mfa', 'phr', 'gold'),
  },
  { requiredKeys: [] },
);

const identity: fc.Arbitrary<Identity> = fc
  .record(
    {
      sourceId: fc.constantFrom('s1', 's2', 's3'),
      username: fc.oneof(word(0, 4), fc.constantFrom('bob', 'Bob', ' ', 'ſam')),
      email: fc.constantFrom('bob@Example.org', 'x@x.com', 'no-at', 'a@b@EXAMPLE.ORG', ''),
      firstName: fc.constant('Bob'),
      lastName: fc.constant('B'),
      groups: fc.array(groupName, { maxLength: 8 }),
      attributes,
    },
    { requiredKeys: ['sourceId', 'username', 'groups', 'attributes'] },
  )
  .map((r) => ({ sourceKind: 'oidc' as const, subject: 'sub', ...r }));

// Policies of many rules (more than the 32 of one word of the decision's bit sets), most of
// them of the common shape the decision takes as matched when one of their patterns matched: one
// list of group, user or single-claim patterns and nothing else. The others are full random rules.
const oneCondition = (name: string): fc.Arbitrary<RuleInput> =>
  fc
    .tuple(
      fc.constantFrom('allow', 'allow', 'grant', 'deny'),
      fc.oneof(
        patterns.map((groups): Partial<RuleInput> => ({ groups })),
        patterns.map((users): Partial<RuleInput> => ({ users })),
        fc.tuple(claimPath, patterns).map(([path, pats]): Partial<RuleInput> => ({ claims: { [path]: pats } })),
      ),
      fc.option(fc.array(netboxName, { minLength: 1, maxLength: 2 }), { nil: undefined }),
      fc.boolean(),
    )
    .map(([effect, condition, netboxGroups, superuser]): RuleInput => ({
      name,
      effect,
      ...condition,
      ...(effect === 'deny' ? {} : { ...(netboxGroups ? { netboxGroups } : {}), ...(superuser ? { superuser: true as const } : {}) }),
    }));

const manyRules: fc.Arbitrary<PolicyInput> = fc
  .record({
    defaultGroups: fc.array(netboxName, { maxLength: 2 }),
    caseInsensitive: fc.boolean(),
    normalizeGroupPaths: fc.boolean(),
    count: fc.integer({ min: 20, max: 80 }),
  })
  .chain(({ count, ...p }) =>
    fc
      .tuple(...Array.from({ length: count }, (_, i) => fc.oneof({ weight: 4, arbitrary: oneCondition(`r${i}`) }, { weight: 1, arbitrary: rule(`r${i}`) })))
      .map((rules) => ({ ...p, acrOrder: ['pwd', 'mfa', 'phr'], rules })),
  );

/** The identity again with new string objects for its groups and claims, as the next sign-in
 * brings them (the decision compares values, never string objects). */
const copy = (s: string) => (' ' + s).slice(1);
const freshCopy = (id: Identity): Identity => ({ ...id, groups: id.groups.map(copy), attributes: JSON.parse(JSON.stringify(id.attributes)) as Attributes });

function compiled(input: PolicyInput): CompiledPolicy | undefined {
  return compilePolicy(policySchema.parse(input), { groupSeparator: '|' }).policy;
}

describe('decide: the indexed decision is the rule-by-rule scan', () => {
  it('the same decision, trace and reasons included, for random policies and identities', () => {
    fc.assert(
      fc.property(policyInput, fc.array(identity, { minLength: 1, maxLength: 6 }), (input, ids) => {
        const policy = compiled(input);
        fc.pre(policy !== undefined);
        // Several identities against one policy, twice over: what the index remembers between
        // decisions (answers per value, reasons, trace entries) must never leak into the next.
        for (const id of [...ids, ...ids]) assert.deepStrictEqual(decide(policy!, id), decideSlow(policy!, id));
      }),
      { numRuns: 1500 },
    );
  });

  it('the same for policies of many rules, most with one condition, and identities that come again as new strings', () => {
    fc.assert(
      fc.property(manyRules, fc.array(identity, { minLength: 1, maxLength: 5 }), (input, ids) => {
        const policy = compiled(input);
        fc.pre(policy !== undefined);
        for (const id of [...ids, ...ids.map(freshCopy), ...[...ids].reverse()]) assert.deepStrictEqual(decide(policy!, id), decideSlow(policy!, id));
      }),
      { numRuns: 300 },
    );
  });

  it('a Keycloak group path is matched without its leading "/" by exact patterns alone, and shown so in the trace', () => {
    for (const normalizeGroupPaths of [true, false]) {
      const policy = compiled({ normalizeGroupPaths, rules: [{ name: 'admins', groups: ['admins'], netboxGroups: ['Admins'] }, { name: 'path', groups: ['/ops'], netboxGroups: ['Ops'] }] })!;
      for (const groups of [['/admins'], ['//admins', 'admins'], ['admins', '/admins'], ['/ops'], ['ops', '/ops'], ['/admins', '/ops', 'x']]) {
        const id: Identity = { sourceId: 's', sourceKind: 'oidc', subject: 'u', username: 'u', groups, attributes: {} };
        assert.deepStrictEqual(decide(policy, id), decideSlow(policy, id), `${normalizeGroupPaths} ${groups.join(',')}`);
      }
    }
    const policy = compiled({ rules: [{ name: 'admins', groups: ['admins'], netboxGroups: ['Admins'] }] })!;
    const d = decide(policy, { sourceId: 's', sourceKind: 'oidc', subject: 'u', username: 'u', groups: ['/admins'], attributes: {} });
    assert.deepEqual(d.trace[0]!.matched, ['group "admins" matches "admins"']);
  });

  it('a rule whose one pattern matched another value than last time has that value in its trace', () => {
    const policy = compiled({ rules: [{ name: 'teams', groups: [{ glob: 'team-*' }], netboxGroups: ['Teams'] }, { name: 'dept', claims: { dept: { regex: '^d' } } }] })!;
    const id = (groups: string[], dept: string): Identity => ({ sourceId: 's', sourceKind: 'oidc', subject: 'u', username: 'u', groups, attributes: { dept } });
    for (const [groups, dept] of [[['team-a'], 'd1'], [['team-b', 'team-a'], 'd2'], [['team-a'], 'd1'], [['x', 'team-a'], 'd1']] as const) {
      const d = decide(policy, id([...groups], dept));
      assert.deepEqual(
        d.trace.map((t) => t.matched),
        [[`group "${groups.find((g) => g.startsWith('team-'))}" matches glob "team-*"`], [`claim dept "${dept}" matches regex /^d/`]],
      );
      assert.deepStrictEqual(d, decideSlow(policy, id([...groups], dept)));
    }
  });

  it('an identity whose groups change between decisions is decided afresh', () => {
    const policy = compiled({ rules: [{ name: 'devs', groups: [{ glob: 'dev-*' }], netboxGroups: ['Developers'] }, { name: 'ops', groups: ['ops'] }] })!;
    const id: Identity = { sourceId: 's', sourceKind: 'oidc', subject: 'u', username: 'u', groups: ['dev-a', 'ops'], attributes: {} };
    assert.deepStrictEqual(decide(policy, id), decideSlow(policy, id));
    id.groups[0] = 'dev-b';
    id.groups.push('dev-a');
    assert.deepStrictEqual(decide(policy, id), decideSlow(policy, id));
    assert.deepEqual(decide(policy, id).trace[0]!.matched, ['group "dev-b" matches glob "dev-*"']);
    id.groups = ['ops'];
    assert.deepStrictEqual(decide(policy, id), decideSlow(policy, id));
  });

  it('trace entries shared between decisions are frozen', () => {
    const policy = compiled({ rules: [{ name: 'devs', groups: ['dev'], netboxGroups: ['Developers'] }] })!;
    const id: Identity = { sourceId: 's', sourceKind: 'oidc', subject: 'u', username: 'u', groups: ['dev'], attributes: {} };
    const t = decide(policy, id).trace[0]!;
    assert.throws(() => t.matched.push('tampered'), TypeError);
    assert.deepEqual(decide(policy, id).trace[0]!.matched, ['group "dev" matches "dev"']);
  });

  it('a compiled policy built by hand (matchers with only a test) is decided as before', () => {
    const odd: Matcher = { label: 'odd length', test: (v) => v.length % 2 === 1 };
    const policy: CompiledPolicy = {
      defaultGroups: ['users'],
      normalizeGroupPaths: true,
      rules: [
        { name: 'odd', effect: 'allow', groups: [odd], netboxGroups: ['Odd'], superuser: false, staff: false },
        { name: 'never', effect: 'deny', groups: [], netboxGroups: [], superuser: false, staff: false },
        { name: 'vacuous', effect: 'grant', allGroups: [], claims: [], netboxGroups: ['V'], superuser: false, staff: false },
      ],
    };
    for (const groups of [['ab', '/abc'], ['ab'], []]) {
      const id: Identity = { sourceId: 's', sourceKind: 'oidc', subject: 'u', username: 'u', groups, attributes: {} };
      assert.deepStrictEqual(decide(policy, id), decideSlow(policy, id));
    }
  });

  it('an exact pattern with a leading "/" built by hand never matches when group paths are normalised', () => {
    const slash: Matcher = { label: '"/abc"', test: (v) => v === '/abc', exact: { value: '/abc', caseInsensitive: false } };
    for (const normalizeGroupPaths of [true, false]) {
      const policy: CompiledPolicy = { defaultGroups: [], normalizeGroupPaths, rules: [{ name: 'slash', effect: 'allow', groups: [slash], netboxGroups: ['S'], superuser: false, staff: false }] };
      for (const groups of [['/abc'], ['abc'], ['//abc']]) {
        const id: Identity = { sourceId: 's', sourceKind: 'oidc', subject: 'u', username: 'u', groups, attributes: {} };
        assert.deepStrictEqual(decide(policy, id), decideSlow(policy, id), `${normalizeGroupPaths} ${groups.join(',')}`);
      }
    }
  });

  it('500 rules against 1,000 groups: the case of the benchmark', () => {
    const rules = Array.from({ length: 500 }, (_, i) =>
      i % 3 === 0
        ? { name: `r${i}`, groups: [`group-${i}`], netboxGroups: [`NB ${i}`] }
        : i % 3 === 1
          ? { name: `r${i}`, groups: [{ glob: `team-${i}-*` }], netboxGroups: [`NB ${i}`] }
          : { name: `r${i}`, claims: { 'realm_access.roles': { regex: `^role-${i}$` } }, netboxGroups: [`NB ${i}`] },
    );
    const policy = compiled({ rules })!;
    const groups = Array.from({ length: 1000 }, (_, i) => (i % 2 ? `group-${i * 3}` : `team-${i}-x`));
    const id: Identity = { sourceId: 's', sourceKind: 'oidc', subject: 'u', username: 'u', groups, attributes: { realm_access: { roles: ['role-5', 'role-8'] } } };
    const d = decide(policy, id);
    assert.deepStrictEqual(d, decideSlow(policy, id));
    assert.equal(d.trace.length, 168);
  });
});

describe('ValueIndex: the patterns a value matches', () => {
  const matcher = fc
    .tuple(pattern, fc.boolean(), fc.boolean())
    .map(([p, caseInsensitive, normalizeGroupPaths]) => compilePattern(typeof p === 'string' || !Array.isArray(p) ? p : p[0]!, { caseInsensitive, normalizeGroupPaths }));

  it('are exactly those whose test passes', () => {
    fc.assert(
      fc.property(fc.array(matcher, { maxLength: 12 }), fc.array(groupName, { maxLength: 10 }), (matchers, values) => {
        const index = new ValueIndex(matchers);
        for (const v of [...values, ...values]) {
          const want = matchers.flatMap((m, id) => (m.test(v) ? [id] : []));
          assert.deepEqual([...index.matches(v)].sort((a, b) => a - b), want, JSON.stringify(v));
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('stay right once the memo of answers has been emptied and refilled', () => {
    const matchers = [compilePattern({ glob: 'team-1*' }, { caseInsensitive: false }), compilePattern({ glob: 'TEAM-2*' }, { caseInsensitive: true }), compilePattern('x', { caseInsensitive: false })];
    const index = new ValueIndex(matchers);
    for (let i = 0; i < 40_000; i++) {
      const v = `team-${i}`;
      const want = matchers.flatMap((m, id) => (m.test(v) ? [id] : []));
      assert.deepEqual([...index.matches(v)].sort(), want);
    }
    assert.deepEqual([...index.matches('team-1')], [0]);
  });

  it('answer for long values, which are not remembered, as for short ones', () => {
    const matchers = [compilePattern({ glob: 'cn=*' }, { caseInsensitive: true }), compilePattern({ regex: ',dc=example$' }, { caseInsensitive: false }), compilePattern('cn=x', { caseInsensitive: false })];
    const index = new ValueIndex(matchers);
    const long = `CN=${'a'.repeat(2000)},dc=example`;
    for (const v of [long, 'cn=x', long, `${long}!`, 'cn=x']) {
      assert.deepEqual([...index.matches(v)].sort(), matchers.flatMap((m, id) => (m.test(v) ? [id] : [])), v.slice(0, 10));
    }
  });
});

describe('foldCase: the case folding of a regex with the i flag', () => {
  it('two strings match each other as literal case-insensitive regexes exactly when their folds are equal', () => {
    fc.assert(
      fc.property(word(0, 4), word(0, 4), fc.string({ maxLength: 3, unit: 'binary' }), (a, b, c) => {
        for (const [x, y] of [
          [a, b],
          [a + c, b + c.toUpperCase()],
          [c, c.toLowerCase()],
        ] as const) {
          assert.equal(globToRegex(x.replace(/[*?]/g, ''), true).test(y), x.replace(/[*?]/g, '').length === y.length && foldCase(x.replace(/[*?]/g, '')) === foldCase(y), JSON.stringify([x, y]));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('is not toLowerCase', () => {
    assert.equal(foldCase('ß'), 'ß');
    assert.equal(foldCase('\u212A'), '\u212A'); // Kelvin sign: a regex's i does not fold it into k
    assert.equal(foldCase('k'), 'K');
    assert.equal(foldCase('ſ'), 'ſ');
    assert.equal(foldCase('ı'), 'ı');
  });
});
