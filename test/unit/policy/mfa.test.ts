// Requiring MFA: `amr` through the claims condition (any element of the array), and a minimum
// `acr` level in an order the policy states. Tables of cases, as for the rest of the policy.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compilePolicy } from '../../../src/policy/compile.js';
import { decide } from '../../../src/policy/evaluate.js';
import { type PolicyInput, policySchema } from '../../../src/policy/schema.js';
import type { Attributes, Identity } from '../../../src/types.js';

function policy(input: PolicyInput) {
  const r = compilePolicy(policySchema.parse(input), { groupSeparator: '|' });
  assert.deepEqual(r.issues, []);
  return r.policy!;
}

function who(groups: string[], attributes: Attributes): Identity {
  return { sourceId: 'corp', sourceKind: 'oidc', subject: 's1', username: 'alice', groups, attributes };
}

describe('MFA by amr: superuser only with a second factor', () => {
  const p = policy({
    rules: [
      { name: 'admins', groups: ['netbox-admins'], netboxGroups: ['Admins'] },
      { name: 'admins-mfa', groups: ['netbox-admins'], claims: { amr: ['mfa', 'otp', 'hwk'] }, effect: 'grant', superuser: true },
    ],
  });
  const cases: Array<[string, Attributes, boolean]> = [
    ['amr [pwd, mfa]', { amr: ['pwd', 'mfa'] }, true],
    ['amr [pwd, otp]', { amr: ['pwd', 'otp'] }, true],
    ['amr [hwk] alone', { amr: ['hwk'] }, true],
    ['amr [pwd]', { amr: ['pwd'] }, false],
    ['no amr', {}, false],
    ['amr as a plain string "mfa"', { amr: 'mfa' }, true],
  ];
  for (const [name, attrs, superuser] of cases) {
    it(`${name} -> superuser ${superuser}`, () => {
      const d = decide(p, who(['netbox-admins'], attrs));
      assert.equal(d.allowed, true, 'access does not depend on MFA here, only the superuser flag');
      assert.equal(d.superuser, superuser);
      if (superuser) assert.match(d.trace.find((t) => t.rule === 'admins-mfa')!.matched.join(), /claim amr "\w+" matches/);
    });
  }
});

describe('minimum acr', () => {
  const p = policy({
    acrOrder: ['pwd', 'mfa', 'phr'],
    rules: [
      { name: 'everyone', groups: ['staff'] },
      { name: 'admins', groups: ['netbox-admins'], acr: { atLeast: 'mfa' }, superuser: true, effect: 'grant' },
      // A rule with its own vocabulary (Keycloak's numeric levels of authentication).
      { name: 'keycloak-loa', acr: { atLeast: '2', order: ['0', '1', '2', '3'] }, netboxGroups: ['Step-up'], effect: 'grant' },
    ],
  });
  const cases: Array<{ name: string; acr?: unknown; superuser: boolean; stepUp?: boolean; reason?: RegExp }> = [
    { name: 'exactly the level', acr: 'mfa', superuser: true, reason: /acr "mfa" is the required level/ },
    { name: 'above the level', acr: 'phr', superuser: true, reason: /acr "phr" is above "mfa"/ },
    { name: 'below the level', acr: 'pwd', superuser: false },
    { name: 'a level the order does not list fails closed', acr: 'urn:unknown:gold', superuser: false },
    { name: 'no acr claim', superuser: false },
    { name: 'case matters (acr values are exact strings)', acr: 'MFA', superuser: false },
    { name: 'rule-local order: "3" >= "2"', acr: '3', superuser: false, stepUp: true },
    { name: 'rule-local order: "1" < "2"', acr: '1', superuser: false, stepUp: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const attrs: Attributes = c.acr === undefined ? {} : { acr: c.acr as string };
      const d = decide(p, who(['staff', 'netbox-admins'], attrs));
      assert.equal(d.allowed, true);
      assert.equal(d.superuser, c.superuser);
      if (c.stepUp !== undefined) assert.equal(d.groups.includes('Step-up'), c.stepUp);
      if (c.reason) assert.match(d.trace.find((t) => t.rule === 'admins')!.matched.join(' / '), c.reason);
    });
  }

  it('an allow rule with acr refuses sign-in below the level ("no allow rule matched")', () => {
    const strict = policy({ acrOrder: ['pwd', 'mfa'], rules: [{ name: 'mfa-only', acr: { atLeast: 'mfa' } }] });
    assert.equal(decide(strict, who([], { acr: 'mfa' })).allowed, true);
    const d = decide(strict, who([], { acr: 'pwd' }));
    assert.equal(d.allowed, false);
    assert.equal(d.reasonCode, 'no_allow_rule');
  });
});

describe('acr conditions are checked at load, with paths', () => {
  const issues = (input: PolicyInput) => compilePolicy(policySchema.parse(input), { groupSeparator: '|' }).issues;
  const cases: Array<[string, PolicyInput, Array<[string, RegExp]>]> = [
    ['no order anywhere', { rules: [{ name: 'a', acr: { atLeast: 'mfa' } }] }, [['policy.rules.0.acr.order', /no order of their own/]]],
    ['level not in the policy order', { acrOrder: ['pwd', 'mfa'], rules: [{ name: 'a', acr: { atLeast: 'phr' } }] }, [['policy.rules.0.acr.atLeast', /not one of the acr levels \(pwd, mfa\)/]]],
    ['level not in the rule order', { rules: [{ name: 'a', acr: { atLeast: 'x', order: ['1', '2'] } }] }, [['policy.rules.0.acr.atLeast', /not one of/]]],
    ['duplicate in the policy order, reported once', { acrOrder: ['pwd', 'mfa', 'pwd'], rules: [{ name: 'a', acr: { atLeast: 'mfa' } }, { name: 'b', acr: { atLeast: 'pwd' } }] }, [['policy.acrOrder.2', /listed twice/]]],
    ['duplicate in a rule order', { rules: [{ name: 'a', acr: { atLeast: '1', order: ['1', '1'] } }] }, [['policy.rules.0.acr.order.1', /listed twice/]]],
  ];
  for (const [name, input, want] of cases) {
    it(name, () => {
      assert.deepEqual(
        issues(input).map((i) => i.path),
        want.map(([path]) => path),
      );
      issues(input).forEach((i, n) => assert.match(i.message, want[n]![1]));
    });
  }
  it('unknown keys in the condition are refused by the schema', () => {
    assert.equal(policySchema.safeParse({ rules: [{ name: 'a', acr: { atleast: 'mfa' } }] }).success, false);
  });
});
