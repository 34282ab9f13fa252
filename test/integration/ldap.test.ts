// The LDAP source against a real OpenLDAP slapd on loopback (scripts/deps/slapd.sh installs it):
// search-and-bind, direct bind, nested groups, injection, LDAPS/StartTLS, failover, refresh.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { isGateError } from '../../src/errors.js';
import { silentLogger } from '../../src/types.js';
import { createLdapSource, type LdapSourceInput } from '../../src/sources/ldap/index.js';
import { ldapSourceSchema } from '../../src/sources/ldap/config.js';
import { freePort } from '../support/ports.js';
import { PASSWORDS, SERVICE_DN, SERVICE_PW, startSlapd, SUFFIX, type Slapd } from '../support/slapd.js';

const ctx = { clientIp: '127.0.0.1' };
let slapd: Slapd;

before(async () => {
  slapd = await startSlapd();
});
after(async () => {
  await slapd?.stop();
});

function source(overrides: Partial<LdapSourceInput> = {}) {
  const input: LdapSourceInput = {
    kind: 'ldap',
    id: 'corp-ldap',
    urls: [slapd.ldapsUrl],
    tls: { caFile: slapd.caFile },
    bindDn: SERVICE_DN,
    bindPassword: SERVICE_PW,
    userSearch: { base: `ou=people,${SUFFIX}` },
    attributes: ['employeeType'],
    ...overrides,
  };
  return createLdapSource(ldapSourceSchema.parse(input), { logger: silentLogger });
}

async function rejects(p: Promise<unknown>, code: string, reason?: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isGateError(err), `expected a GateError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (typeof reason === 'string') assert.equal(err.detail['reason'], reason, err.message);
    else if (reason) assert.match(err.message, reason);
    return true;
  });
}

describe('LDAP source against OpenLDAP slapd', () => {
  it('search-and-bind over LDAPS gives profile, direct and nested groups (dynlist memberOf)', async () => {
    const { identity, state } = await source().authenticate('alice', PASSWORDS.alice, ctx);
    assert.equal(identity.username, 'alice');
    assert.equal(identity.subject, `uid=alice,ou=people,${SUFFIX}`);
    assert.equal(identity.email, 'alice@example.org');
    assert.equal(identity.firstName, 'Alice');
    assert.equal(identity.lastName, 'Liddell');
    assert.deepEqual(identity.groups, ['netbox-admins', 'netbox-users', 'staff']);
    assert.equal(identity.attributes['employeeType'], 'engineer');
    assert.ok(Array.isArray(identity.attributes['memberOf']));
    assert.deepEqual(state, { dn: `uid=alice,ou=people,${SUFFIX}`, username: 'alice' });
  });

  it('the user name typed in another case signs in as the directory spells it', async () => {
    const { identity } = await source().authenticate('ALICE', PASSWORDS.alice, ctx);
    assert.equal(identity.username, 'alice');
  });

  it('recursive group search finds nested groups and stops at a cycle', async () => {
    const src = source({ groups: { memberOf: false, search: { base: `ou=groups,${SUFFIX}` }, nested: 'recursive' } });
    assert.deepEqual((await src.authenticate('alice', PASSWORDS.alice, ctx)).identity.groups, ['netbox-admins', 'netbox-users', 'staff']);
    assert.deepEqual((await src.authenticate('carol', PASSWORDS.carol, ctx)).identity.groups, ['cycle-a', 'cycle-b']);
    const direct = source({ groups: { memberOf: false, search: { base: `ou=groups,${SUFFIX}` }, nested: 'none' } });
    assert.deepEqual((await direct.authenticate('alice', PASSWORDS.alice, ctx)).identity.groups, ['netbox-admins']);
    const byDn = source({ groups: { memberOf: false, search: { base: `ou=groups,${SUFFIX}` }, nameAttribute: 'dn' } });
    assert.deepEqual((await byDn.authenticate('alice', PASSWORDS.alice, ctx)).identity.groups, [`cn=netbox-admins,ou=groups,${SUFFIX}`]);
  });

  it('maxDepth bounds the recursive walk', async () => {
    const src = source({ groups: { memberOf: false, search: { base: `ou=groups,${SUFFIX}` }, nested: 'recursive', maxDepth: 2 } });
    assert.deepEqual((await src.authenticate('alice', PASSWORDS.alice, ctx)).identity.groups, ['netbox-admins', 'netbox-users']);
  });

  it('a wrong password, an empty password and an unknown user are rejected', async () => {
    const src = source();
    await rejects(src.authenticate('alice', 'wrong', ctx), 'ERR_AUTH_REJECTED', 'invalid_credentials');
    await rejects(src.authenticate('alice', '', ctx), 'ERR_AUTH_REJECTED', 'empty_password');
    await rejects(src.authenticate('mallory', 'x', ctx), 'ERR_AUTH_REJECTED', 'user_not_found');
  });

  it('filter injection in the user name matches no one', async () => {
    const src = source();
    for (const name of ['*)(uid=*', 'alice)(|(uid=*', 'ali*', '*', 'alice)', 'alice\\']) {
      await rejects(src.authenticate(name, PASSWORDS.alice, ctx), 'ERR_AUTH_REJECTED', 'user_not_found');
    }
    await rejects(src.authenticate('alice\u0000', PASSWORDS.alice, ctx), 'ERR_AUTH_REJECTED', 'username_invalid');
  });

  it('direct bind by DN template, with the DN value escaped', async () => {
    const src = source({ userSearch: undefined, userDnTemplate: `uid={username},ou=people,${SUFFIX}` });
    const { identity } = await src.authenticate('bob', PASSWORDS.bob, ctx);
    assert.equal(identity.subject, `uid=bob,ou=people,${SUFFIX}`);
    assert.deepEqual(identity.groups, ['netbox-users', 'staff']);
    await rejects(src.authenticate('bob', 'nope', ctx), 'ERR_AUTH_REJECTED', 'invalid_credentials');
    // Unescaped, this would be the service account's DN with its own password.
    await rejects(src.authenticate(`netbox-gate,ou=services,${SUFFIX}`, SERVICE_PW, ctx), 'ERR_AUTH_REJECTED', 'invalid_credentials');
  });

  it('direct bind without a service account reads groups as the user, and offers no refresh', async () => {
    const src = source({ userSearch: undefined, bindDn: undefined, bindPassword: undefined, userDnTemplate: `uid={username},ou=people,${SUFFIX}` });
    const { identity } = await src.authenticate('alice', PASSWORDS.alice, ctx);
    assert.deepEqual(identity.groups, ['netbox-admins', 'netbox-users', 'staff']);
    assert.equal(identity.email, 'alice@example.org');
    assert.equal(src.refresh, undefined);
    await rejects(src.authenticate('alice', PASSWORDS.bob, ctx), 'ERR_AUTH_REJECTED', 'invalid_credentials');
  });

  it('StartTLS with the test CA works; a wrong CA fails with a clear TLS error', async () => {
    const ok = source({ urls: [slapd.ldapUrl], startTls: true });
    assert.equal((await ok.authenticate('bob', PASSWORDS.bob, ctx)).identity.username, 'bob');
    const wrongCa = source({ urls: [slapd.ldapUrl], startTls: true, tls: { caFile: slapd.otherCaFile } });
    await rejects(wrongCa.authenticate('bob', PASSWORDS.bob, ctx), 'ERR_SOURCE_UNAVAILABLE', /TLS certificate check failed/);
    const wrongCaLdaps = source({ tls: { caFile: slapd.otherCaFile } });
    await rejects(wrongCaLdaps.authenticate('bob', PASSWORDS.bob, ctx), 'ERR_SOURCE_UNAVAILABLE', /TLS certificate check failed/);
    const wrongName = source({ tls: { caFile: slapd.caFile, servername: 'ldap.example.net' } });
    await rejects(wrongName.authenticate('bob', PASSWORDS.bob, ctx), 'ERR_SOURCE_UNAVAILABLE', /TLS certificate check failed/);
  });

  it('a dead first server fails over to the live one; a wrong password is final', async () => {
    const dead = `ldaps://127.0.0.1:${await freePort()}`;
    const src = source({ urls: [dead, slapd.ldapsUrl] });
    assert.equal((await src.authenticate('alice', PASSWORDS.alice, ctx)).identity.username, 'alice');
    // The first server answers "wrong password": the second (dead) one must not be asked.
    const reversed = source({ urls: [slapd.ldapsUrl, dead] });
    await rejects(reversed.authenticate('alice', 'wrong', ctx), 'ERR_AUTH_REJECTED', 'invalid_credentials');
    const allDead = source({ urls: [dead] });
    await rejects(allDead.authenticate('alice', PASSWORDS.alice, ctx), 'ERR_SOURCE_UNAVAILABLE', /ECONNREFUSED/);
  });

  it('a server that accepts connections but never answers times out and is skipped', async () => {
    const silent = createServer((sock) => sock.on('error', () => {}));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as AddressInfo).port;
    try {
      for (const url of [`ldap://127.0.0.1:${port}`, `ldaps://127.0.0.1:${port}`]) {
        const src = source({ urls: [url, slapd.ldapsUrl], timeout: '300ms', insecureAllowPlaintext: true });
        assert.equal((await src.authenticate('alice', PASSWORDS.alice, ctx)).identity.username, 'alice', url);
        const only = source({ urls: [url], timeout: '300ms', insecureAllowPlaintext: true });
        await rejects(only.authenticate('alice', PASSWORDS.alice, ctx), 'ERR_SOURCE_UNAVAILABLE', /time/i);
      }
      const startTls = source({ urls: [`ldap://127.0.0.1:${port}`, slapd.ldapUrl], startTls: true, timeout: '300ms' });
      assert.equal((await startTls.authenticate('alice', PASSWORDS.alice, ctx)).identity.username, 'alice');
    } finally {
      silent.close();
    }
  });

  it('a wrong service account password or search base is a configuration error, not a rejected user', async () => {
    await rejects(source({ bindPassword: 'wrong' }).authenticate('alice', PASSWORDS.alice, ctx), 'ERR_SOURCE_CONFIG', /service account/);
    const noBase = source({ userSearch: { base: `ou=nowhere,${SUFFIX}` } });
    await rejects(noBase.authenticate('alice', PASSWORDS.alice, ctx), 'ERR_SOURCE_CONFIG', /NoSuchObject \(result 32\)/);
  });

  it('refresh sees a group removal and a deleted user', async () => {
    const src = source();
    assert.ok(src.refresh);
    const { state } = await src.authenticate('bob', PASSWORDS.bob, ctx);
    assert.deepEqual((await src.refresh(state, ctx)).identity.groups, ['netbox-users', 'staff']);
    await slapd.modify(`dn: cn=netbox-users,ou=groups,${SUFFIX}\nchangetype: modify\ndelete: member\nmember: uid=bob,ou=people,${SUFFIX}\n`);
    assert.deepEqual((await src.refresh(state, ctx)).identity.groups, []);
    await slapd.modify(`dn: uid=bob,ou=people,${SUFFIX}\nchangetype: delete\n`);
    await rejects(src.refresh(state, ctx), 'ERR_AUTH_REJECTED', 'user_gone');
    const direct = source({ userSearch: undefined, userDnTemplate: `uid={username},ou=people,${SUFFIX}` });
    await rejects(direct.refresh!(state, ctx), 'ERR_AUTH_REJECTED', 'user_gone');
  });

  it('identityFromAttributes gives what sign-in gives', async () => {
    const src = source();
    const { identity } = await src.authenticate('alice', PASSWORDS.alice, ctx);
    const again = src.identityFromAttributes({ ...identity.attributes, groups: identity.groups });
    assert.deepEqual(again, identity);
  });
});
