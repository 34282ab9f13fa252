// The LDAP source against a real Active Directory domain controller (Samba from Debian, started by
// test/support/samba-ad.ts on 127.0.0.2): sAMAccountName search-and-bind, nested groups through the
// in-chain rule, disabled/expired accounts at sign-in and refresh, AD's bind sub-codes, referrals.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from 'ldapts';
import { isGateError } from '../../src/errors.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { decide } from '../../src/policy/evaluate.js';
import { policySchema } from '../../src/policy/schema.js';
import { IN_CHAIN_RULE, resolveLdapConfig } from '../../src/sources/ldap/config.js';
import { ldaptsConnector, tlsSettings, type Connector, type SearchParams } from '../../src/sources/ldap/connection.js';
import { createLdapSource, type LdapSourceInput } from '../../src/sources/ldap/index.js';
import { ldapSourceSchema } from '../../src/sources/ldap/config.js';
import { silentLogger, type Logger } from '../../src/types.js';
import { recordingLogger } from '../support/logger.js';
import {
  AD_HOST,
  BASE_DN,
  GROUPS_OU,
  LOCKOUT_THRESHOLD,
  SERVICE_DN,
  SERVICE_PW,
  STAFF_OU,
  USERS,
  groupDn,
  startSambaAd,
  userDn,
  type SambaAd,
} from '../support/samba-ad.js';

const ctx = { clientIp: '127.0.0.1' };
let ad: SambaAd;

before(async () => {
  ad = await startSambaAd();
});
after(async () => {
  await ad?.stop();
});

interface Call {
  url: string;
  op: 'connect' | 'bind' | 'search';
  dn?: string;
  params?: SearchParams;
}

function input(overrides: Partial<LdapSourceInput>): LdapSourceInput {
  return {
    kind: 'ldap',
    id: 'corp-ad',
    activeDirectory: true,
    urls: [ad.ldapsUrl],
    tls: { caFile: ad.caFile },
    bindDn: SERVICE_DN,
    bindPassword: SERVICE_PW,
    userSearch: { base: STAFF_OU },
    groups: { memberOf: false, search: { base: GROUPS_OU } },
    ...overrides,
  };
}

/** The source over the real ldapts connection, with every connect, bind and search recorded. */
function source(overrides: Partial<LdapSourceInput> = {}, logger: Logger = silentLogger) {
  const cfg = ldapSourceSchema.parse(input(overrides));
  const real = ldaptsConnector(resolveLdapConfig(cfg), tlsSettings(resolveLdapConfig(cfg)));
  const calls: Call[] = [];
  const connect: Connector = async (url, signal) => {
    calls.push({ url, op: 'connect' });
    const s = await real(url, signal);
    return {
      url,
      bind: (dn, pw) => (calls.push({ url, op: 'bind', dn }), s.bind(dn, pw)),
      search: (base, params) => (calls.push({ url, op: 'search', dn: base, params }), s.search(base, params)),
      close: () => s.close(),
    };
  };
  return { src: createLdapSource(cfg, { logger }, { connect }), calls };
}

async function rejects(p: Promise<unknown>, code: string, reason?: string, adCode?: string): Promise<string> {
  let message = '';
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isGateError(err), `expected a GateError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (reason !== undefined) assert.equal(err.detail['reason'], reason, err.message);
    if (adCode !== undefined) assert.equal(err.detail['adCode'], adCode, err.message);
    message = err.message;
    return true;
  });
  return message;
}

describe('LDAP source against a Samba Active Directory domain controller', () => {
  it('signs in by sAMAccountName over LDAPS; a group inside a mapped group counts (in-chain rule)', async () => {
    const { src, calls } = source();
    const { identity, state } = await src.authenticate('alice', USERS.alice.pw, ctx);
    assert.equal(identity.username, 'alice');
    assert.equal(identity.subject, userDn('alice'));
    assert.equal(identity.email, 'alice@corp.example.test');
    assert.equal(identity.firstName, 'Alice');
    assert.equal(identity.lastName, 'Liddell');
    // alice is a member of Network-Ops only; Network-Ops is a member of NetBox-Admins.
    assert.deepEqual(identity.groups, ['NetBox-Admins', 'Network-Ops']);
    assert.deepEqual(identity.attributes['memberOf'], [groupDn('Network-Ops')], 'AD memberOf is direct only');
    assert.deepEqual(state, { dn: userDn('alice'), username: 'alice' });

    // What went over the wire: service bind, user search, the user's bind, service bind, ONE group search.
    assert.deepEqual(calls.map((c) => `${c.op} ${c.dn ?? ''}`.trim()), [
      'connect', `bind ${SERVICE_DN}`, `search ${STAFF_OU}`, `bind ${userDn('alice')}`, `bind ${SERVICE_DN}`, `search ${GROUPS_OU}`,
    ]);
    assert.equal(calls[2]!.params!.filter, '(&(objectCategory=person)(objectClass=user)(sAMAccountName=alice))');
    assert.equal(calls[5]!.params!.filter, `(member:${IN_CHAIN_RULE}:=${userDn('alice')})`);

    // The policy maps the outer group: alice is a superuser through the nesting.
    const compiled = compilePolicy(policySchema.parse({ rules: [{ name: 'admins', groups: ['NetBox-Admins'], superuser: true }] }), { groupSeparator: '|' });
    assert.deepEqual(compiled.issues, []);
    const decision = decide(compiled.policy!, identity);
    assert.equal(decision.allowed, true);
    assert.equal(decision.superuser, true);

    // Without in-chain, AD gives the direct group only, and the mapped group is missed.
    const direct = source({ groups: { memberOf: true, nested: 'none' } }).src;
    assert.deepEqual((await direct.authenticate('alice', USERS.alice.pw, ctx)).identity.groups, ['Network-Ops']);
    // The user name as typed in another case is the account as AD spells it.
    assert.equal((await src.authenticate('ALICE', USERS.alice.pw, ctx)).identity.username, 'alice');
    // explain input gives what sign-in gives.
    assert.deepEqual(src.identityFromAttributes({ ...identity.attributes, groups: identity.groups }), identity);
  });

  it('StartTLS and LDAPS check our certificate (SAN IP 127.0.0.2); plain LDAP only when allowed', async () => {
    const startTls = source({ urls: [ad.ldapUrl], startTls: true }).src;
    assert.deepEqual((await startTls.authenticate('bob', USERS.bob.pw, ctx)).identity.groups, ['NetBox-Readers']);
    const plain = source({ urls: [ad.ldapUrl], insecureAllowPlaintext: true }).src;
    assert.equal((await plain.authenticate('bob', USERS.bob.pw, ctx)).identity.username, 'bob');
    // The system store does not know the test CA: a certificate failure, reported as such.
    const systemCa = source({ tls: {} }).src;
    await rejects(systemCa.authenticate('bob', USERS.bob.pw, ctx), 'ERR_SOURCE_UNAVAILABLE');
    const wrongName = source({ tls: { caFile: ad.caFile, servername: 'dc9.corp.example.test' } }).src;
    const msg = await rejects(wrongName.authenticate('bob', USERS.bob.pw, ctx), 'ERR_SOURCE_UNAVAILABLE');
    assert.match(msg, /TLS certificate check failed/);
  });

  it("AD's bind sub-codes become reasons: 52e, 533, 773, 701, 775; the log says which, never the password", async () => {
    const log = recordingLogger();
    const { src } = source({}, log);
    await rejects(src.authenticate('alice', 'Wrong-Passw0rd!', ctx), 'ERR_AUTH_REJECTED', 'invalid_credentials', '52e');
    await rejects(src.authenticate('nobody', 'Wrong-Passw0rd!', ctx), 'ERR_AUTH_REJECTED', 'user_not_found');
    // carol is disabled: the right password gives 533, a wrong one 52e (AD tells nothing more).
    const disabled = await rejects(src.authenticate('carol', USERS.carol.pw, ctx), 'ERR_AUTH_REJECTED', 'account_disabled', '533');
    assert.match(disabled, /account disabled \(AD data 533\)/);
    await rejects(src.authenticate('carol', 'Wrong-Passw0rd!', ctx), 'ERR_AUTH_REJECTED', 'invalid_credentials', '52e');
    await rejects(src.authenticate('dave', USERS.dave.pw, ctx), 'ERR_AUTH_REJECTED', 'password_must_change', '773');
    await rejects(src.authenticate('erin', USERS.erin.pw, ctx), 'ERR_AUTH_REJECTED', 'account_expired', '701');
    for (let i = 0; i < LOCKOUT_THRESHOLD; i++) {
      await rejects(src.authenticate('frank', 'Wrong-Passw0rd!', ctx), 'ERR_AUTH_REJECTED', 'invalid_credentials', '52e');
    }
    const locked = await rejects(src.authenticate('frank', USERS.frank.pw, ctx), 'ERR_AUTH_REJECTED', 'account_locked', '775');
    assert.match(locked, /locked out/);

    const refused = log.records.filter((r) => r.msg === 'LDAP sign-in refused');
    assert.deepEqual(
      refused.map((r) => `${r.obj['username']} ${r.obj['reason']} ${r.obj['adCode'] ?? '-'}`),
      [
        'alice invalid_credentials 52e', 'nobody user_not_found -', 'carol account_disabled 533', 'carol invalid_credentials 52e',
        'dave password_must_change 773', 'erin account_expired 701',
        ...Array.from({ length: LOCKOUT_THRESHOLD }, () => 'frank invalid_credentials 52e'), 'frank account_locked 775',
      ],
    );
    assert.match(String(refused[0]!.obj['why']), /wrong password or unknown user \(AD data 52e\)/);
    const logged = JSON.stringify(log.records);
    for (const pw of [...Object.values(USERS).map((u) => u.pw), 'Wrong-Passw0rd!', SERVICE_PW]) assert.ok(!logged.includes(pw), 'a password reached the log');

    // The service account's own refusal is a configuration error with AD's reason.
    const badSvc = await rejects(source({ bindPassword: 'Not-The-Passw0rd!' }).src.authenticate('alice', USERS.alice.pw, ctx), 'ERR_SOURCE_CONFIG');
    assert.match(badSvc, /rejected the service account .*wrong password or unknown user \(AD data 52e\); check bindDn and bindPassword/);
  });

  it('refresh ends the session of a disabled or expired account and sees group changes, nested ones too', async () => {
    const { src } = source();
    assert.ok(src.refresh);
    const bob = (await src.authenticate('bob', USERS.bob.pw, ctx)).state;
    assert.deepEqual((await src.refresh(bob, ctx)).identity.groups, ['NetBox-Readers']);

    await ad.tool('user', 'disable', 'bob');
    await rejects(src.refresh(bob, ctx), 'ERR_AUTH_REJECTED', 'account_disabled');
    await rejects(src.authenticate('bob', USERS.bob.pw, ctx), 'ERR_AUTH_REJECTED', 'account_disabled', '533');
    await ad.tool('user', 'enable', 'bob');
    assert.deepEqual((await src.refresh(bob, ctx)).identity.groups, ['NetBox-Readers']);

    // An expiry date in the past (what many AD off-boarding runbooks set instead of disabling).
    await ad.tool('user', 'setexpiry', 'bob', '--days=0');
    await rejects(src.refresh(bob, ctx), 'ERR_AUTH_REJECTED', 'account_expired');
    await ad.tool('user', 'setexpiry', 'bob', '--noexpiry');
    await ad.tool('group', 'removemembers', 'NetBox-Readers', 'bob');
    assert.deepEqual((await src.refresh(bob, ctx)).identity.groups, []);

    const alice = (await src.authenticate('alice', USERS.alice.pw, ctx)).state;
    await ad.tool('group', 'removemembers', 'NetBox-Admins', 'Network-Ops');
    assert.deepEqual((await src.refresh(alice, ctx)).identity.groups, ['Network-Ops']);
    await ad.tool('group', 'addmembers', 'NetBox-Admins', 'Network-Ops');

    await ad.tool('user', 'delete', 'bob');
    await rejects(src.refresh(bob, ctx), 'ERR_AUTH_REJECTED', 'user_gone');
  });

  it('referrals are not chased: searches from the domain root get continuation references, and only the DC is contacted', async () => {
    // The DC itself answers a subtree search of the domain root with references to its other
    // partitions (here ldaps://corp.example.test/CN=Configuration,...), as every AD DC does.
    const raw = new Client({ url: ad.ldapsUrl, tlsOptions: { ca: [readFileSync(ad.caFile)] } });
    try {
      await raw.bind(SERVICE_DN, SERVICE_PW);
      const res = await raw.search(BASE_DN, { scope: 'sub', filter: '(sAMAccountName=alice)', attributes: ['dn'] });
      assert.equal(res.searchEntries.length, 1);
      assert.ok(res.searchReferences.some((r) => /^ldaps?:\/\/corp\.example\.test\/CN=Configuration,/i.test(r)), JSON.stringify(res.searchReferences));
    } finally {
      await raw.unbind();
    }

    // Every TCP connection the process opens while the source searches from the domain root.
    const opened: string[] = [];
    const original = net.Socket.prototype.connect;
    net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
      // net.connect() passes its arguments on normalised into an array.
      const o = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
      opened.push(typeof o === 'object' && o !== null ? `${(o as net.TcpNetConnectOpts).host}:${(o as net.TcpNetConnectOpts).port}` : `${String(args[1])}:${String(o)}`);
      return (original as (...a: unknown[]) => net.Socket).apply(this, args);
    } as typeof original;
    try {
      const { src, calls } = source({ userSearch: { base: BASE_DN }, groups: { memberOf: false, search: { base: BASE_DN } } });
      const { identity } = await src.authenticate('alice', USERS.alice.pw, ctx);
      assert.deepEqual(identity.groups, ['NetBox-Admins', 'Network-Ops']);
      assert.deepEqual(calls.filter((c) => c.op === 'connect').map((c) => c.url), [ad.ldapsUrl]);
      assert.deepEqual(opened, [`${AD_HOST}:636`]);
    } finally {
      net.Socket.prototype.connect = original;
    }

    // A base outside the domain's naming context: Samba answers noSuchObject (AD a referral,
    // result 10); either way a configuration error naming the server, never a chase.
    const outside = source({ userSearch: { base: 'DC=other,DC=example,DC=net' } }).src;
    const msg = await rejects(outside.authenticate('alice', USERS.alice.pw, ctx), 'ERR_SOURCE_CONFIG');
    assert.match(msg, /127\.0\.0\.2.*NoSuchObject \(result 32\)/);
  });

  it('a user filter with the in-chain rule admits only members of a group, nested ones too', async () => {
    const filter = `(&(objectCategory=person)(objectClass=user)(sAMAccountName={username})(memberOf:${IN_CHAIN_RULE}:=${groupDn('NetBox-Admins')}))`;
    const { src } = source({ userSearch: { base: STAFF_OU, filter } });
    const alice = (await src.authenticate('alice', USERS.alice.pw, ctx)).state;
    await rejects(src.authenticate('frank', USERS.frank.pw, ctx), 'ERR_AUTH_REJECTED', 'user_not_found');
    await ad.tool('group', 'removemembers', 'NetBox-Admins', 'Network-Ops');
    try {
      await rejects(src.refresh!(alice, ctx), 'ERR_AUTH_REJECTED', 'user_gone');
    } finally {
      await ad.tool('group', 'addmembers', 'NetBox-Admins', 'Network-Ops');
    }
  });

  // Last: it restarts the DC with its default setting.
  it('a DC that requires strong auth refuses plain simple binds: a configuration error that points at TLS', async () => {
    await ad.restart({ requireStrongAuth: true });
    const plain = source({ urls: [ad.ldapUrl], insecureAllowPlaintext: true }).src;
    const msg = await rejects(plain.authenticate('alice', USERS.alice.pw, ctx), 'ERR_SOURCE_CONFIG');
    assert.match(msg, /requires TLS for simple binds.*use ldaps:\/\/ or startTls: true/);
    const startTls = source({ urls: [ad.ldapUrl], startTls: true }).src;
    assert.equal((await startTls.authenticate('alice', USERS.alice.pw, ctx)).identity.username, 'alice');
    assert.equal((await source().src.authenticate('alice', USERS.alice.pw, ctx)).identity.username, 'alice');
  });
});
