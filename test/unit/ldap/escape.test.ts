// Filter (RFC 4515) and DN (RFC 4514) escaping of user input, user name checks, RDN parsing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { EqualityFilter, FilterParser } from 'ldapts';
import { isGateError } from '../../../src/errors.js';
import { checkUsername, dnKey, escapeDnValue, fillDn, fillFilter, firstRdn } from '../../../src/sources/ldap/escape.js';

describe('fillFilter', () => {
  it('escapes filter syntax in the user name', () => {
    assert.equal(fillFilter('(uid={username})', { username: '*)(uid=*' }), '(uid=\\2a\\29\\28uid=\\2a)');
    assert.equal(fillFilter('(uid={username})', { username: 'alice)(|(uid=*' }), '(uid=alice\\29\\28|\\28uid=\\2a)');
    assert.equal(fillFilter('(member={dn})', { dn: 'cn=a\\,b,dc=x' }), '(member=cn=a\\5c,b,dc=x)');
  });

  it('whatever the user name, the parsed filter is one equality match on exactly that value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (name) => {
        const f = FilterParser.parseString(fillFilter('(&(objectClass=person)(uid={username}))', { username: name }));
        const children = (f as unknown as { filters: unknown[] }).filters;
        assert.equal(children.length, 2);
        const eq = children[1];
        assert.ok(eq instanceof EqualityFilter);
        assert.equal(eq.attribute, 'uid');
        assert.equal(eq.value, name);
      }),
      { numRuns: 500 },
    );
  });

  it('leaves other braces alone', () => {
    assert.equal(fillFilter('(cn={other})', { username: 'x' }), '(cn={other})');
  });
});

describe('DN escaping', () => {
  it('escapes RFC 4514 specials, leading # and spaces, trailing space, NUL', () => {
    assert.equal(escapeDnValue('a,b+c"d\\e<f>g;h=i'), 'a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\=i');
    assert.equal(escapeDnValue('#x '), '\\#x\\ ');
    assert.equal(escapeDnValue(' x'), '\\ x');
    assert.equal(escapeDnValue('a\0b'), 'a\\00b');
    assert.equal(fillDn('uid={username},ou=people,dc=example,dc=org', 'x,ou=admins'), 'uid=x\\,ou\\=admins,ou=people,dc=example,dc=org');
  });

  it('an escaped value reads back whole as the first RDN, and the DN has no extra RDN', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() === s), (v) => {
        const dn = `cn=${escapeDnValue(v)},ou=groups,dc=example,dc=org`;
        assert.deepEqual(firstRdn(dn), { type: 'cn', value: v });
      }),
      { numRuns: 500 },
    );
  });
});

describe('firstRdn', () => {
  it('reads escaped and hex-escaped UTF-8 values', () => {
    assert.deepEqual(firstRdn('cn=Ops\\, EU,ou=groups,dc=x'), { type: 'cn', value: 'Ops, EU' });
    assert.deepEqual(firstRdn('CN=M\\C3\\BCller,OU=x'), { type: 'CN', value: 'Müller' });
    assert.deepEqual(firstRdn('cn = spaced ,dc=x'), { type: 'cn', value: 'spaced' });
    assert.deepEqual(firstRdn('cn=a+sn=b,dc=x'), { type: 'cn', value: 'a' });
  });
  it('gives undefined for what is not a DN', () => {
    for (const bad of ['', 'netbox-admins', '=x', 'cn=', 'cn=\\', 'cn=\\FF\\FE', '(cn=x)=y']) assert.equal(firstRdn(bad), undefined, bad);
  });
  it('dnKey ignores case and spaces around separators', () => {
    assert.equal(dnKey('CN=Admins, OU=Groups,DC=Example'), dnKey('cn=admins,ou=groups,dc=example'));
  });
});

describe('checkUsername', () => {
  it('accepts ordinary and non-ASCII names', () => {
    for (const ok of ['alice', 'Jörg.Müller', 'a.b-c_d@example.org', 'DOMAIN\\user', '*)(uid=*']) checkUsername(ok);
  });
  it('rejects empty, control characters, surrounding spaces, lone surrogates, over-long names', () => {
    for (const bad of ['', 'alice\0', 'al\nice', 'alice\u0085', ' alice', 'alice ', '\ud800x', 'a'.repeat(257)]) {
      assert.throws(
        () => checkUsername(bad),
        (e: unknown) => isGateError(e, 'ERR_AUTH_REJECTED') && e.detail['reason'] === 'username_invalid',
        JSON.stringify(bad),
      );
    }
  });
});
