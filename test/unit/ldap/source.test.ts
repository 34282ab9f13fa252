// The LDAP source over a scripted fake connection: what reaches the server (binds, filters),
// failover rules, bounded recursion, explain input. Active Directory itself (in-chain groups,
// disabled accounts, bind sub-codes) runs against a real Samba DC: test/integration/ldap-ad.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGateError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/types.js';
import { LdapOpError, type Connector, type LdapEntry, type LdapSession, type SearchParams } from '../../../src/sources/ldap/connection.js';
import { createLdapSource, type LdapSourceInput } from '../../../src/sources/ldap/index.js';
import { ldapSourceSchema } from '../../../src/sources/ldap/config.js';

const ctx = { clientIp: '192.0.2.1' };
const SVC = 'cn=svc,dc=corp,dc=example';

interface Call {
  url: string;
  op: 'bind' | 'search';
  dn: string;
  password?: string;
  params?: SearchParams;
}

/** A fake directory: `passwords` by DN, `search` answers by (base, filter); URLs in `down` refuse. */
function fakeDirectory(opts: {
  passwords: Record<string, string>;
  search: (base: string, p: SearchParams) => LdapEntry[];
  down?: string[];
}): { connect: Connector; calls: Call[] } {
  const calls: Call[] = [];
  const connect: Connector = async (url) => {
    if (opts.down?.includes(url)) throw new LdapOpError('connect', undefined, true, 'connect: ECONNREFUSED');
    const s: LdapSession = {
      url,
      async bind(dn, password) {
        calls.push({ url, op: 'bind', dn, password });
        if (password === '' || opts.passwords[dn] !== password) throw new LdapOpError('bind', 49, false, 'bind: InvalidCredentials (result 49)');
      },
      async search(base, params) {
        calls.push({ url, op: 'search', dn: base, params });
        return opts.search(base, params);
      },
      async close() {},
    };
    return s;
  };
  return { connect, calls };
}

const entry = (dn: string, attrs: Record<string, string[]>): LdapEntry => ({
  dn,
  attrs: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k.toLowerCase(), v])),
});

function make(input: Partial<LdapSourceInput>, dir: ReturnType<typeof fakeDirectory>) {
  const cfg = ldapSourceSchema.parse({
    kind: 'ldap',
    id: 'ad',
    urls: ['ldaps://dc1.corp.example', 'ldaps://dc2.corp.example'],
    bindDn: SVC,
    bindPassword: 'svc-pw',
    userSearch: { base: 'dc=corp,dc=example' },
    ...input,
  });
  return createLdapSource(cfg, { logger: silentLogger }, { connect: dir.connect });
}

const JDOE = 'CN=John Doe,OU=Users,DC=corp,DC=example';
const adUser = (uac: string) =>
  entry(JDOE, {
    sAMAccountName: ['jdoe'],
    givenName: ['John'],
    sn: ['Doe'],
    mail: ['jdoe@corp.example'],
    userAccountControl: [uac],
    memberOf: ['CN=VPN Users,OU=Groups,DC=corp,DC=example'],
  });

describe('LDAP source (fake directory)', () => {
  it('an empty password never reaches the server', async () => {
    const dir = fakeDirectory({ passwords: { [SVC]: 'svc-pw' }, search: () => [] });
    const src = make({ userSearch: undefined, userDnTemplate: 'uid={username},dc=corp,dc=example' }, dir);
    await assert.rejects(src.authenticate('jdoe', '', ctx), (e) => isGateError(e, 'ERR_AUTH_REJECTED') && e.detail['reason'] === 'empty_password');
    assert.equal(dir.calls.length, 0);
  });

  it('fails over on an unreachable server, but not after a wrong password', async () => {
    const dir = fakeDirectory({
      passwords: { [SVC]: 'svc-pw', [JDOE]: 'pw' },
      search: (_b, p) => (p.filter.includes('sAMAccountName') ? [adUser('512')] : []),
      down: ['ldaps://dc1.corp.example'],
    });
    const src = make({ activeDirectory: true, groups: { nested: 'none' } }, dir);
    assert.equal((await src.authenticate('jdoe', 'pw', ctx)).identity.username, 'jdoe');
    assert.ok(dir.calls.every((c) => c.url === 'ldaps://dc2.corp.example'));

    const dir2 = fakeDirectory({ passwords: { [SVC]: 'svc-pw', [JDOE]: 'pw' }, search: (_b, p) => (p.filter.includes('sAMAccountName') ? [adUser('512')] : []) });
    const src2 = make({ activeDirectory: true, groups: { nested: 'none' } }, dir2);
    await assert.rejects(src2.authenticate('jdoe', 'bad', ctx), (e) => isGateError(e, 'ERR_AUTH_REJECTED'));
    assert.ok(dir2.calls.every((c) => c.url === 'ldaps://dc1.corp.example'), 'dc2 must not be asked after dc1 refused the password');
  });

  it('a user name matching two entries is refused rather than guessed', async () => {
    const dir = fakeDirectory({
      passwords: { [SVC]: 'svc-pw' },
      search: () => [entry('uid=a,dc=x', { uid: ['a'] }), entry('uid=a,ou=other,dc=x', { uid: ['a'] })],
    });
    await assert.rejects(make({}, dir).authenticate('a', 'pw', ctx), (e) => isGateError(e, 'ERR_AUTH_REJECTED') && e.detail['reason'] === 'user_ambiguous');
    assert.equal(dir.calls.filter((c) => c.op === 'bind').length, 1, 'only the service account bound');
  });

  it('recursive walk over memberOf stops at cycles and at maxGroups', async () => {
    // g0 -> g1 -> ... -> g9 -> g0 (a ring), each group's memberOf names the next.
    const g = (i: number) => `cn=g${i % 10},ou=groups,dc=x`;
    const dir = fakeDirectory({
      passwords: { [SVC]: 'svc-pw', 'uid=u,dc=x': 'pw' },
      search: (base, p) => {
        if (p.filter.startsWith('(uid=')) return [entry('uid=u,dc=x', { uid: ['u'], memberOf: [g(0)] })];
        const m = /^cn=g(\d+),/.exec(base);
        return m ? [entry(base, { memberOf: [g(Number(m[1]) + 1)] })] : [];
      },
    });
    const ring = make({ groups: { nested: 'recursive', maxDepth: 20 } }, dir);
    assert.deepEqual((await ring.authenticate('u', 'pw', ctx)).identity.groups, Array.from({ length: 10 }, (_, i) => `g${i}`).sort());
    const capped = make({ groups: { nested: 'recursive', maxDepth: 20, maxGroups: 3 } }, dir);
    assert.deepEqual((await capped.authenticate('u', 'pw', ctx)).identity.groups, ['g0', 'g1', 'g2']);
    const shallow = make({ groups: { nested: 'recursive', maxDepth: 2 } }, dir);
    assert.deepEqual((await shallow.authenticate('u', 'pw', ctx)).identity.groups, ['g0', 'g1']);
  });

  it('group names come from the entry when the RDN is not the name attribute', async () => {
    const dir = fakeDirectory({
      passwords: { [SVC]: 'svc-pw', 'uid=u,dc=x': 'pw' },
      search: (base, p) => {
        if (p.filter.startsWith('(uid=')) return [entry('uid=u,dc=x', { uid: ['u'], memberOf: ['gidNumber=5001,ou=groups,dc=x', 'cn=plain,ou=groups,dc=x'] })];
        if (base.startsWith('gidNumber=5001')) return [entry(base, { cn: ['netbox-ops'] })];
        return [];
      },
    });
    assert.deepEqual((await make({}, dir).authenticate('u', 'pw', ctx)).identity.groups, ['netbox-ops', 'plain']);
  });

  it('a service account the server refuses is a configuration error', async () => {
    const dir = fakeDirectory({ passwords: {}, search: () => [] });
    await assert.rejects(make({}, dir).authenticate('u', 'pw', ctx), (e) => isGateError(e, 'ERR_SOURCE_CONFIG') && /service account/.test(e.message) && !/svc-pw/.test(e.message));
  });

  it('every server down gives ERR_SOURCE_UNAVAILABLE naming each one', async () => {
    const dir = fakeDirectory({ passwords: {}, search: () => [], down: ['ldaps://dc1.corp.example', 'ldaps://dc2.corp.example'] });
    await assert.rejects(make({}, dir).authenticate('u', 'pw', ctx), (e) => isGateError(e, 'ERR_SOURCE_UNAVAILABLE') && /dc1.*dc2/.test(e.message));
  });

  it('a cancelled sign-in stops, without asking the next server; close() cancels what is in flight', { timeout: 10_000 }, async () => {
    const contacted: string[] = [];
    const hanging: Connector = async (url, signal) => {
      contacted.push(url);
      return {
        url,
        bind: () =>
          new Promise<void>((_, reject) => {
            if (signal?.aborted) reject(new LdapOpError('bind', undefined, true, 'bind: socket closed'));
            // Like the real connection: aborting destroys the socket, which fails the pending bind.
            signal?.addEventListener('abort', () => reject(new LdapOpError('bind', undefined, true, 'bind: socket closed')), { once: true });
          }),
        search: async () => [],
        close: async () => {},
      };
    };
    const cfg = ldapSourceSchema.parse({ kind: 'ldap', id: 'x', urls: ['ldaps://a', 'ldaps://b'], bindDn: SVC, bindPassword: 'p', userSearch: { base: 'dc=x' } });
    const src = createLdapSource(cfg, { logger: silentLogger }, { connect: hanging });
    const ac = new AbortController();
    const p = src.authenticate('u', 'pw', { clientIp: 'x', signal: ac.signal });
    setImmediate(() => ac.abort());
    await assert.rejects(p, (e) => isGateError(e, 'ERR_SOURCE_UNAVAILABLE') && e.detail['reason'] === 'aborted');
    assert.deepEqual(contacted, ['ldaps://a']);

    contacted.length = 0;
    const q = src.authenticate('u', 'pw', ctx);
    setImmediate(() => void src.close());
    await assert.rejects(q, (e) => isGateError(e, 'ERR_SOURCE_UNAVAILABLE') && e.detail['reason'] === 'aborted');
    assert.deepEqual(contacted, ['ldaps://a']);
  });

  it('refresh is offered only with a service account', () => {
    const dir = fakeDirectory({ passwords: {}, search: () => [] });
    assert.equal(make({ userSearch: undefined, bindDn: undefined, bindPassword: undefined, userDnTemplate: 'uid={username},dc=x' }, dir).refresh, undefined);
    assert.equal(typeof make({}, dir).refresh, 'function');
  });

  it('identityFromAttributes: explain input in, same Identity shape out', () => {
    const src = make({}, fakeDirectory({ passwords: {}, search: () => [] }));
    const id = src.identityFromAttributes({
      dn: 'uid=alice,ou=people,dc=example,dc=org',
      uid: 'alice',
      mail: 'alice@example.org',
      memberOf: ['cn=netbox-admins,ou=groups,dc=example,dc=org'],
      groups: ['netbox-admins'],
    });
    assert.deepEqual(id, {
      sourceId: 'ad',
      sourceKind: 'ldap',
      subject: 'uid=alice,ou=people,dc=example,dc=org',
      username: 'alice',
      email: 'alice@example.org',
      groups: ['netbox-admins'],
      attributes: { dn: 'uid=alice,ou=people,dc=example,dc=org', uid: 'alice', mail: 'alice@example.org', memberOf: ['cn=netbox-admins,ou=groups,dc=example,dc=org'] },
    });
    // Without "groups", names come from the memberOf RDNs.
    assert.deepEqual(src.identityFromAttributes({ dn: 'uid=b,dc=x', UID: 'b', memberOf: ['cn=ops,dc=x'] }).groups, ['ops']);
    assert.throws(() => src.identityFromAttributes({ uid: 'x' }), (e) => isGateError(e, 'ERR_SOURCE_PROTOCOL'));
    assert.throws(() => src.identityFromAttributes({ dn: 'cn=x' }), (e) => isGateError(e, 'ERR_SOURCE_CONFIG') && /usernameAttribute/.test(e.message));
  });
});
