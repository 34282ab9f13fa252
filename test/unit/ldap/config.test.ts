// The LDAP source schema: every cross-field mistake reported with its path, AD defaults resolved.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { IN_CHAIN_RULE, ldapSourceSchema, resolveLdapConfig, type LdapSourceInput } from '../../../src/sources/ldap/config.js';

const base: LdapSourceInput = {
  kind: 'ldap',
  id: 'corp',
  urls: ['ldaps://ldap.example.org'],
  bindDn: 'cn=svc,dc=example,dc=org',
  bindPassword: 's3cret',
  userSearch: { base: 'ou=people,dc=example,dc=org' },
};

function issues(input: unknown): string[] {
  const r = ldapSourceSchema.safeParse(input);
  assert.equal(r.success, false, 'expected the config to be refused');
  return r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

function hasIssue(list: string[], path: string, re: RegExp): void {
  assert.ok(list.some((l) => l.startsWith(`${path}: `) && re.test(l)), `no issue at "${path}" matching ${re}; got:\n${list.join('\n')}`);
}

describe('ldapSourceSchema', () => {
  it('accepts a search-and-bind config and fills defaults', () => {
    const c = resolveLdapConfig(ldapSourceSchema.parse(base));
    assert.equal(c.timeout, 5000);
    assert.equal(c.usernameAttribute, 'uid');
    assert.deepEqual(c.userSearch, { base: 'ou=people,dc=example,dc=org', filter: '(uid={username})', scope: 'sub' });
    assert.equal(c.groups.nested, 'none');
    assert.equal(c.groups.memberOf, true);
    assert.equal(c.groups.nameAttribute, 'cn');
    assert.equal(c.tls.insecureSkipVerify, false);
    assert.deepEqual(c.profileAttributes, { firstName: 'givenName', lastName: 'sn', email: 'mail' });
  });

  it('Active Directory defaults: sAMAccountName and in-chain groups', () => {
    const c = resolveLdapConfig(
      ldapSourceSchema.parse({ ...base, activeDirectory: true, groups: { search: { base: 'dc=corp,dc=example' } } }),
    );
    assert.equal(c.usernameAttribute, 'sAMAccountName');
    assert.match(c.userSearch!.filter, /\(sAMAccountName=\{username\}\)/);
    assert.equal(c.groups.nested, 'in-chain');
    assert.equal(c.groups.search!.filter, `(member:${IN_CHAIN_RULE}:={dn})`);
  });

  it('wants exactly one of userDnTemplate and userSearch', () => {
    hasIssue(issues({ ...base, userDnTemplate: 'uid={username},dc=x' }), 'userDnTemplate', /either userDnTemplate .* or userSearch/);
    const { userSearch: _u, ...none } = base;
    hasIssue(issues(none), '', /set userSearch .* or userDnTemplate/);
  });

  it('userSearch needs the service account; bindDn and bindPassword go together', () => {
    const { bindDn: _d, bindPassword: _p, ...noSvc } = base;
    hasIssue(issues(noSvc), 'bindDn', /needs a service account/);
    hasIssue(issues({ ...base, bindPassword: undefined }), 'bindPassword', /go together/);
    hasIssue(issues({ ...base, bindPassword: '' }), 'bindPassword', /must not be empty/);
  });

  it('userDnTemplate must hold {username} once', () => {
    const { userSearch: _u, ...rest } = base;
    hasIssue(issues({ ...rest, userDnTemplate: 'uid=alice,dc=x' }), 'userDnTemplate', /exactly once/);
    assert.ok(ldapSourceSchema.safeParse({ ...rest, userDnTemplate: 'uid={username},dc=x' }).success);
  });

  it('refuses clear-text LDAP unless named, and StartTLS on ldaps://', () => {
    hasIssue(issues({ ...base, urls: ['ldaps://a', 'ldap://b'] }), 'urls.1', /clear text/);
    assert.ok(ldapSourceSchema.safeParse({ ...base, urls: ['ldap://b'], startTls: true }).success);
    assert.ok(ldapSourceSchema.safeParse({ ...base, urls: ['ldap://b'], insecureAllowPlaintext: true }).success);
    hasIssue(issues({ ...base, startTls: true }), 'urls.0', /startTls applies to ldap:\/\//);
    hasIssue(issues({ ...base, urls: ['http://x'] }), 'urls.0', /ldaps?:\/\/host/);
    hasIssue(issues({ ...base, urls: ['ldap://x/dc=example?uid'] }), 'urls.0', /no DN, filter/);
    hasIssue(issues({ ...base, urls: [] }), 'urls', /at least one/);
  });

  it('in-chain needs a group search whose filter uses the rule', () => {
    hasIssue(issues({ ...base, activeDirectory: true }), 'groups.search', /in-chain .*activeDirectory/);
    hasIssue(issues({ ...base, groups: { nested: 'in-chain', search: { base: 'dc=x', filter: '(member={dn})' } } }), 'groups.search.filter', new RegExp(IN_CHAIN_RULE.replace(/\./g, '\\.')));
    hasIssue(issues({ ...base, groups: { memberOf: false, nested: 'recursive' } }), 'groups.nested', /needs a group source/);
  });

  it('reports field errors and cross-field errors together', () => {
    const list = issues({ ...base, timeout: 5, urls: ['ldap://a'], userDnTemplate: 'uid={username},dc=x' });
    hasIssue(list, 'timeout', /duration/);
    hasIssue(list, 'urls.0', /clear text/);
    hasIssue(list, 'userDnTemplate', /not both/);
  });

  it('works inside the discriminated union of source kinds', () => {
    const union = z.discriminatedUnion('kind', [ldapSourceSchema]);
    assert.equal(union.parse(base).kind, 'ldap');
    assert.equal(union.safeParse({ ...base, startTls: true }).success, false);
  });

  it('examples/ldap-source.yaml is valid', () => {
    const text = readFileSync(new URL('../../../../examples/ldap-source.yaml', import.meta.url), 'utf8').replace(/\$\{(env|file):[^}]+\}/g, 'resolved-secret');
    const entries = parse(text) as unknown[];
    assert.equal(entries.length, 2);
    for (const e of entries) {
      const r = ldapSourceSchema.safeParse(e);
      assert.ok(r.success, r.error?.message);
    }
  });

  it('checks filter syntax and unknown keys', () => {
    hasIssue(issues({ ...base, userSearch: { base: 'dc=x', filter: 'uid={username}' } }), 'userSearch.filter', /not a valid LDAP filter/);
    hasIssue(issues({ ...base, userSearch: { base: 'dc=x', filter: '(uid={username}' } }), 'userSearch.filter', /not a valid LDAP filter/);
    assert.ok(issues({ ...base, tls: { verify: false } }).some((l) => /verify/.test(l)));
    hasIssue(issues({ ...base, timeout: 5 }), 'timeout', /duration/);
  });
});
