import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy } from '../../../src/policy/compile.js';
import { decide } from '../../../src/policy/evaluate.js';
import { policySchema, type PolicyInput } from '../../../src/policy/schema.js';
import type { Identity } from '../../../src/types.js';

function policy(input: PolicyInput) {
  const r = compilePolicy(policySchema.parse(input), { groupSeparator: '|' });
  assert.deepEqual(r.issues, []);
  return r.policy!;
}

function who(groups: string[], extra: Partial<Identity> = {}): Identity {
  return { sourceId: 'corp', sourceKind: 'oidc', subject: 's1', username: 'bob', groups, attributes: {}, ...extra };
}

const base: PolicyInput = {
  defaultGroups: ['netbox-users'],
  rules: [
    { name: 'admins', groups: ['administrator'], superuser: true, netboxGroups: ['NetBox Admins'] },
    { name: 'engineers', groups: [{ glob: 'net-*' }], netboxGroups: ['Network Engineers'] },
    { name: 'ops', groups: [{ regex: '^ops-(eu|us)$' }], netboxGroups: ['Operations'] },
    { name: 'contractors-out', effect: 'deny', groups: ['contractors'] },
    { name: 'auditors-extra', effect: 'grant', groups: ['auditors'], netboxGroups: ['Auditors'] },
  ],
};

describe('decide: documented semantics', () => {
  const cases: Array<{ name: string; groups: string[]; allowed: boolean; netbox?: string[]; superuser?: boolean; reason?: string }> = [
    { name: 'exact group gives superuser and its groups plus defaults', groups: ['administrator'], allowed: true, netbox: ['NetBox Admins', 'netbox-users'], superuser: true },
    { name: 'glob matches', groups: ['net-core'], allowed: true, netbox: ['Network Engineers', 'netbox-users'], superuser: false },
    { name: 'glob does not match a different prefix', groups: ['network'], allowed: false, reason: 'no allow rule matched' },
    { name: 'regex matches', groups: ['ops-eu'], allowed: true, netbox: ['Operations', 'netbox-users'] },
    { name: 'regex is anchored as written', groups: ['ops-eu-2'], allowed: false },
    { name: 'deny wins over allow', groups: ['administrator', 'contractors'], allowed: false, reason: 'denied by rule "contractors-out"' },
    { name: 'grant alone gives no access', groups: ['auditors'], allowed: false, reason: 'no allow rule matched' },
    { name: 'grant adds to an allowed user (union)', groups: ['net-edge', 'auditors', 'ops-us'], allowed: true, netbox: ['Auditors', 'Network Engineers', 'Operations', 'netbox-users'] },
    { name: 'no groups: no access', groups: [], allowed: false },
    { name: 'Keycloak full path is normalised', groups: ['/administrator'], allowed: true, superuser: true },
  ];
  const p = policy(base);
  for (const c of cases) {
    it(c.name, () => {
      const d = decide(p, who(c.groups));
      assert.equal(d.allowed, c.allowed);
      if (c.netbox) assert.deepEqual(d.groups, c.netbox);
      if (c.superuser !== undefined) assert.equal(d.superuser, c.superuser);
      if (c.reason) assert.equal(d.reason, c.reason);
      if (!c.allowed) {
        assert.deepEqual(d.groups, [], 'a denied decision carries no NetBox groups');
        assert.equal(d.superuser, false);
      }
    });
  }

  it('only mapped groups reach the decision, never the raw source list', () => {
    const d = decide(p, who(['net-core', 'secret-raw-group']));
    assert.ok(!d.groups.includes('secret-raw-group'));
  });

  it('traces every matched rule with why', () => {
    const d = decide(p, who(['administrator', 'auditors']));
    assert.deepEqual(
      d.trace.map((t) => [t.rule, t.effect]),
      [
        ['admins', 'allow'],
        ['auditors-extra', 'grant'],
      ],
    );
    assert.match(d.trace[0]!.matched[0]!, /group "administrator" matches "administrator"/);
  });

  it('Keycloak nested path with glob', () => {
    const p2 = policy({ rules: [{ name: 'dev', groups: [{ glob: 'developer/*' }], netboxGroups: ['Developers'] }] });
    assert.equal(decide(p2, who(['/developer/backend'])).allowed, true);
    assert.equal(decide(p2, who(['/developer'])).allowed, false);
  });

  it('case-insensitive option', () => {
    const p2 = policy({ caseInsensitive: true, rules: [{ name: 'a', groups: ['NetBox-Admins'] }] });
    assert.equal(decide(p2, who(['netbox-admins'])).allowed, true);
    const p3 = policy({ rules: [{ name: 'a', groups: ['NetBox-Admins'] }] });
    assert.equal(decide(p3, who(['netbox-admins'])).allowed, false);
  });

  it('claims, email domains, users and sources', () => {
    const p2 = policy({
      rules: [
        { name: 'domain', emailDomains: ['example.org'], netboxGroups: ['Staff'] },
        { name: 'role', claims: { 'realm_access.roles': 'netbox-admin' }, superuser: true },
        { name: 'radius-only', sources: ['radius'], users: [{ glob: 'svc-*' }], effect: 'deny' },
      ],
    });
    assert.equal(decide(p2, who([], { email: 'bob@Example.org' })).allowed, true);
    assert.equal(decide(p2, who([], { email: 'bob@example.org.evil.com' })).allowed, false);
    const withRole = decide(p2, who([], { email: 'a@x.com', attributes: { realm_access: { roles: ['netbox-admin', 'x'] } } }));
    assert.equal(withRole.allowed, true);
    assert.equal(withRole.superuser, true);
    const svc = who([], { sourceId: 'radius', username: 'svc-backup', email: 'svc@example.org' });
    assert.equal(decide(p2, svc).allowed, false);
    assert.equal(decide(p2, { ...svc, sourceId: 'corp' }).allowed, true);
  });

  it('a user with no name is refused', () => {
    const d = decide(policy({ rules: [{ name: 'all' }] }), who([], { username: ' ' }));
    assert.equal(d.allowed, false);
    assert.equal(d.reasonCode, 'no_username');
  });
});

describe('compilePolicy: problems are reported with paths', () => {
  it('bad regex, bad NetBox group names, deny with privileges, duplicate names', () => {
    const r = compilePolicy(
      policySchema.parse({
        defaultGroups: ['ok', 'a|b'],
        rules: [
          { name: 'x', groups: [{ regex: '((' }], netboxGroups: ['g'.repeat(151)] },
          { name: 'x', effect: 'deny', groups: ['a'], superuser: true },
          { name: 'y', netboxGroups: [' padded'] },
        ],
      }),
      { groupSeparator: '|' },
    );
    const paths = r.issues.map((i) => i.path);
    assert.ok(paths.includes('policy.defaultGroups.1'), paths.join());
    assert.ok(paths.includes('policy.rules.0.groups.0.regex'));
    assert.ok(paths.includes('policy.rules.0.netboxGroups.0'));
    assert.ok(paths.includes('policy.rules.1'));
    assert.ok(paths.includes('policy.rules.1.name'));
    assert.ok(paths.includes('policy.rules.2.netboxGroups.0'));
    assert.equal(r.policy, undefined);
  });
});
