// Active Directory specifics that need no server: the bind sub-code table, the account checks a
// refresh makes (disabled, expired), and how a refused bind becomes an error. The same behaviour
// against a real domain controller: test/integration/ldap-ad.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UnknownStatusCodeError } from 'ldapts';
import { isGateError } from '../../../src/errors.js';
import { parseAdBindError } from '../../../src/sources/ldap/ad-errors.js';
import { resolveLdapConfig } from '../../../src/sources/ldap/config.js';
import { LdapOpError, type Connector } from '../../../src/sources/ldap/connection.js';
import { accountRefusal } from '../../../src/sources/ldap/identity.js';
import { createLdapSource } from '../../../src/sources/ldap/index.js';
import { ldapSourceSchema } from '../../../src/sources/ldap/config.js';
import { silentLogger } from '../../../src/types.js';

const diag = (data: string) => `80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data ${data}, v1db1`;

describe('AD bind sub-codes', () => {
  const cases: Array<[string | undefined, string | undefined]> = [
    [diag('52e'), 'invalid_credentials'],
    [diag('525'), 'user_not_found'],
    [diag('530'), 'logon_hours'],
    [diag('531'), 'workstation_restricted'],
    [diag('532'), 'password_expired'],
    [diag('533'), 'account_disabled'],
    [diag('701'), 'account_expired'],
    [diag('773'), 'password_must_change'],
    [diag('775'), 'account_locked'],
    [diag('52E'), 'invalid_credentials'],
    [diag('0000052e'), 'invalid_credentials'],
    [diag('568'), undefined], // a code outside the table: no guess
    ['Invalid credentials during a bind operation.', undefined], // OpenLDAP, ldapts' default text
    ['', undefined],
    [undefined, undefined],
  ];
  for (const [text, reason] of cases) {
    it(`${JSON.stringify(text)} -> ${reason ?? 'none'}`, () => {
      assert.equal(parseAdBindError(text)?.reason, reason);
    });
  }
  it('keeps the code as AD writes it and says what it means', () => {
    assert.deepEqual(parseAdBindError(diag('533')), { code: '533', reason: 'account_disabled', text: 'account disabled' });
    assert.equal(parseAdBindError(diag('0000052E'))?.code, '52e');
  });
});

describe('AD account checks at refresh (userAccountControl, accountExpires)', () => {
  const ad = resolveLdapConfig(ldapSourceSchema.parse({ kind: 'ldap', id: 'ad', activeDirectory: true, urls: ['ldaps://dc1'], bindDn: 'cn=s,dc=x', bindPassword: 'p', userSearch: { base: 'dc=x' }, groups: { nested: 'none' } }));
  const plain = resolveLdapConfig(ldapSourceSchema.parse({ kind: 'ldap', id: 'ol', urls: ['ldaps://l1'], bindDn: 'cn=s,dc=x', bindPassword: 'p', userSearch: { base: 'dc=x' } }));
  const now = Date.UTC(2026, 11, 6, 12, 0, 0);
  // FILETIME of a moment: 100 ns intervals since 1601-01-01.
  const ft = (ms: number) => String(BigInt(ms) * 10_000n + 116_444_736_000_000_000n);
  const entry = (attrs: Record<string, string>) => ({ dn: 'cn=u,dc=x', attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, [v]])) });
  const cases: Array<[string, Record<string, string>, string | undefined]> = [
    ['normal account', { useraccountcontrol: '512' }, undefined],
    ['disabled (514)', { useraccountcontrol: '514' }, 'account_disabled'],
    ['disabled, password never expires (66050)', { useraccountcontrol: '66050' }, 'account_disabled'],
    ['accountExpires 0: never', { useraccountcontrol: '512', accountexpires: '0' }, undefined],
    ['accountExpires 2^63-1: never', { useraccountcontrol: '512', accountexpires: '9223372036854775807' }, undefined],
    ['expired a second ago', { useraccountcontrol: '512', accountexpires: ft(now - 1000) }, 'account_expired'],
    ['expires tomorrow', { useraccountcontrol: '512', accountexpires: ft(now + 86_400_000) }, undefined],
    ['garbage accountExpires is ignored', { useraccountcontrol: '512', accountexpires: '-1x' }, undefined],
    ['no attributes at all', {}, undefined],
  ];
  for (const [name, attrs, reason] of cases) {
    it(name, () => assert.equal(accountRefusal(ad, entry(attrs), now)?.reason, reason));
  }
  it('only with activeDirectory: an OpenLDAP entry with such attributes is not judged', () => {
    assert.equal(accountRefusal(plain, entry({ useraccountcontrol: '514' }), now), undefined);
  });
});

describe('a refused bind becomes an error', () => {
  const USER = 'CN=U,OU=Staff,DC=corp,DC=example';
  const SVC = 'CN=svc,DC=corp,DC=example';
  /** The service account binds; the user's bind fails with `result` and `diagnostic`. */
  function make(result: number, diagnostic: string, opts: { serviceFails?: boolean } = {}) {
    const connect: Connector = async (url) => ({
      url,
      async bind(dn) {
        if (dn === USER || opts.serviceFails) throw new LdapOpError('bind', result, false, `bind: Error (result ${result})`, { diagnostic });
      },
      search: async () => [{ dn: USER, attrs: { samaccountname: ['u'], useraccountcontrol: ['512'] } }],
      close: async () => {},
    });
    const cfg = ldapSourceSchema.parse({ kind: 'ldap', id: 'ad', activeDirectory: true, urls: ['ldaps://dc1'], bindDn: SVC, bindPassword: 'svc-pw', userSearch: { base: 'DC=corp,DC=example' }, groups: { nested: 'none' } });
    return createLdapSource(cfg, { logger: silentLogger }, { connect });
  }
  const ctx = { clientIp: '192.0.2.1' };

  it('result 49 with an AD sub-code: the reason and code in detail, the meaning in the message', async () => {
    await assert.rejects(make(49, diag('775')).authenticate('u', 'pw', ctx), (e) =>
      isGateError(e, 'ERR_AUTH_REJECTED') && e.detail['reason'] === 'account_locked' && e.detail['adCode'] === '775' && /locked out.*\(AD data 775\)/.test(e.message));
    await assert.rejects(make(49, diag('532')).authenticate('u', 'pw', ctx), (e) =>
      isGateError(e, 'ERR_AUTH_REJECTED') && e.detail['reason'] === 'password_expired' && /password expired/.test(e.message));
  });

  it('result 49 from a server that says nothing more: invalid_credentials', async () => {
    await assert.rejects(make(49, 'Invalid credentials during a bind operation.').authenticate('u', 'pw', ctx), (e) =>
      isGateError(e, 'ERR_AUTH_REJECTED') && e.detail['reason'] === 'invalid_credentials' && e.detail['adCode'] === undefined);
  });

  it('a DC that requires TLS for simple binds (result 8) is a configuration error pointing at TLS, not a wrong password', async () => {
    await assert.rejects(make(8, 'BindSimple: Transport encryption required.').authenticate('u', 'pw', ctx), (e) =>
      isGateError(e, 'ERR_SOURCE_CONFIG') && /requires TLS.*ldaps:\/\/ or startTls: true/.test(e.message));
    await assert.rejects(make(8, 'BindSimple: Transport encryption required.', { serviceFails: true }).authenticate('u', 'pw', ctx), (e) =>
      isGateError(e, 'ERR_SOURCE_CONFIG') && /service account .*requires TLS/.test(e.message));
  });

  it("the service account's AD reason is in the configuration error (e.g. its password expired)", async () => {
    await assert.rejects(make(49, diag('532'), { serviceFails: true }).authenticate('u', 'pw', ctx), (e) =>
      isGateError(e, 'ERR_SOURCE_CONFIG') && e.detail['adCode'] === '532' && /rejected the service account CN=svc,DC=corp,DC=example: password expired \(AD data 532\)/.test(e.message) && !/svc-pw/.test(e.message));
  });
});

describe('a referral answer', () => {
  it('(result 10, as AD gives for a base outside its naming contexts) is a configuration error, not followed', async () => {
    const contacted: string[] = [];
    const connect: Connector = async (url) => {
      contacted.push(url);
      return {
        url,
        bind: async () => {},
        // What ldapts throws for result 10: it has no class of its own and no chasing.
        search: async () => {
          throw new UnknownStatusCodeError(10, '0000202B: RefErr: DSID-0310084A, data 0, 1 access points\n\tref 1: \'other.example.net\'\n');
        },
        close: async () => {},
      };
    };
    const cfg = ldapSourceSchema.parse({ kind: 'ldap', id: 'ad', activeDirectory: true, urls: ['ldaps://dc1', 'ldaps://dc2'], bindDn: 'CN=svc,DC=corp', bindPassword: 'p', userSearch: { base: 'DC=other,DC=example,DC=net' }, groups: { nested: 'none' } });
    const src = createLdapSource(cfg, { logger: silentLogger }, { connect });
    await assert.rejects(src.authenticate('u', 'pw', { clientIp: '192.0.2.1' }), (e) =>
      isGateError(e, 'ERR_SOURCE_CONFIG') && /ldaps:\/\/dc1: (search|request): Referral \(result 10, not followed\)/.test(e.message));
    assert.deepEqual(contacted, ['ldaps://dc1'], 'neither the referral target nor the next DC is asked');
  });
});
