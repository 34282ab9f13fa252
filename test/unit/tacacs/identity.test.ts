// AV pairs -> Identity: the one function sign-in and `explain` share.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGateError } from '../../../src/errors.js';
import { identityFromAvPairs, identityFromExplainInput, parseAvPair, type IdentityOptions } from '../../../src/sources/tacacs/identity.js';

const base: IdentityOptions = { id: 'tac', rolePairs: ['role'], roleSeparator: undefined, privLvlGroupPrefix: 'tacacs-priv-', profile: undefined };

describe('TACACS+ identity from AV pairs', () => {
  const table: [string, string[], Partial<IdentityOptions>, string[]][] = [
    ['roles then priv-lvl group', ['priv-lvl=15', 'role=netbox-admin', 'role=noc'], {}, ['netbox-admin', 'noc', 'tacacs-priv-15']],
    ['optional pairs count (name*value)', ['role*viewer'], {}, ['viewer']],
    ['duplicates collapse', ['role=a', 'role=a', 'role= a '], {}, ['a']],
    ['quoted Cisco values, split on a separator', ['shell:roles="network-admin vdc-admin"'], { rolePairs: ['shell:roles'], roleSeparator: ' ' }, ['network-admin', 'vdc-admin']],
    ['several role pair names', ['group=x', 'role=y'], { rolePairs: ['role', 'group'] }, ['y', 'x']],
    ['priv-lvl outside 0..15 makes no group', ['priv-lvl=99', 'priv-lvl=-1', 'priv-lvl=abc'], {}, []],
    ['priv-lvl groups can be turned off', ['priv-lvl=15'], { privLvlGroupPrefix: '' }, []],
    ['malformed and empty pairs are ignored', ['noseparator', '=x', 'role='], {}, []],
    ['an unlisted pair is no group', ['title=admin'], {}, []],
  ];
  for (const [name, av, opts, groups] of table) {
    it(name, () => assert.deepEqual(identityFromAvPairs('bob', av, { ...base, ...opts }).groups, groups));
  }

  it('exposes every pair under attributes.tacacs and the raw list under attributes.tacacsAv', () => {
    const id = identityFromAvPairs('bob', ['priv-lvl=15', 'role=a', 'role=b', 'x=1=2'], base);
    assert.deepEqual(id.attributes, { tacacs: { 'priv-lvl': ['15'], role: ['a', 'b'], x: ['1=2'] }, tacacsAv: ['priv-lvl=15', 'role=a', 'role=b', 'x=1=2'] });
    assert.equal(id.subject, 'bob');
    assert.equal(id.sourceKind, 'tacacs');
  });

  it('a pair named __proto__ stays a plain attribute', () => {
    const id = identityFromAvPairs('bob', ['__proto__=x', 'constructor=y'], base);
    const t = id.attributes['tacacs'] as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(t), Object.prototype);
    assert.deepEqual(Object.keys(t), ['__proto__', 'constructor']);
  });

  it('profile fields come from the first value of the configured pairs', () => {
    const id = identityFromAvPairs('bob', ['fn=Bob', 'fn=Robert', 'ln=Builder', 'mail='], { ...base, profile: { firstName: 'fn', lastName: 'ln', email: 'mail' } });
    assert.equal(id.firstName, 'Bob');
    assert.equal(id.lastName, 'Builder');
    assert.equal(id.email, undefined);
  });

  it('parseAvPair splits at the first separator', () => {
    assert.deepEqual(parseAvPair('a*b=c'), { name: 'a', value: 'b=c', optional: true });
    assert.deepEqual(parseAvPair('a=b*c'), { name: 'a', value: 'b*c', optional: false });
  });
});

describe('TACACS+ explain input', () => {
  it('takes {username, av}', () => {
    const id = identityFromExplainInput({ username: 'bob', av: ['role=x'] }, base);
    assert.deepEqual(id.groups, ['x']);
    assert.deepEqual(identityFromExplainInput({ username: 'bob' }, base).groups, []);
  });
  for (const bad of [{}, { username: 1 }, { username: '' }, { username: 'bob', av: 'role=x' }, { username: 'bob', av: [1] }]) {
    it(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(() => identityFromExplainInput(bad as never, base), (err) => isGateError(err, 'ERR_BAD_REQUEST'));
    });
  }
});
