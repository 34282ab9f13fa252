// Entra group resolution against the Entra/Graph stand-in, called through its socket-free fetch:
// claim vs Graph, overage, paging, throttling, mixed directory objects, permission errors, bounds.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { isGateError } from '../../../src/errors.js';
import { oidcSourceSchema } from '../../../src/sources/oidc/config.js';
import { type EntraConfig, applyEntraGroups, entraAuthorizationScopes, hasGroupsOverage, resolveEntraGroups } from '../../../src/sources/oidc/entra.js';
import { EntraStandin } from '../../support/entra-standin.js';

function entraCfg(standin: EntraStandin, extra: Record<string, unknown> = {}): EntraConfig {
  const parsed = oidcSourceSchema.parse({
    kind: 'oidc',
    id: 'entra',
    preset: 'entra',
    clientId: standin.clientId,
    entra: { tenantId: standin.tenantId, graphUrl: standin.graphUrl, loginUrl: standin.url, ...extra },
  });
  return parsed.entra!;
}

/** A sleep that only records, so throttling tests stay fast and count the waits. */
function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

async function rejectsWith(p: Promise<unknown>, code: string, pattern: RegExp): Promise<Error> {
  let caught: unknown;
  await p.catch((e: unknown) => (caught = e));
  assert.ok(isGateError(caught), `expected a GateError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, pattern);
  return caught;
}

describe('resolveEntraGroups', () => {
  let s: EntraStandin;
  let alice: string;
  let netops: string;
  let engineers: string;
  const sleepNever = async () => assert.fail('must not sleep');

  before(async () => {
    s = await EntraStandin.create();
    alice = s.addUser({ name: 'Alice', preferredUsername: 'alice@contoso.test', roles: ['NetBox.Admin'] }).oid;
    engineers = s.addGroup('Engineers', [alice]);
    netops = s.addGroup('NetOps', [engineers]); // alice is in NetOps only through Engineers
  });

  it('uses the groups claim as is when graphGroups is off and no overage is signalled', async () => {
    const claims = s.idTokenClaims(alice);
    const r = await resolveEntraGroups({ claims, accessToken: 'unused', cfg: entraCfg(s, { graphGroups: false }), fetch: s.fetch });
    assert.equal(r.source, 'claim');
    assert.deepEqual(new Set(r.groups), new Set([engineers, netops]));
    assert.deepEqual(r.appRoles, ['NetBox.Admin']);
    assert.equal(r.groupNames, undefined);
  });

  it('asks Graph when graphGroups is on, following nested membership', async () => {
    const before = s.graphRequests.length;
    const token = s.mintAccessToken(alice, ['openid', 'User.Read']);
    const r = await resolveEntraGroups({ claims: { groups: [] }, accessToken: token, cfg: entraCfg(s), fetch: s.fetch });
    assert.equal(r.source, 'graph');
    assert.deepEqual(r.groups, [engineers, netops]);
    const req = s.graphRequests.slice(before);
    assert.equal(req.length, 1);
    assert.match(decodeURIComponent(req[0]!), /^\/v1\.0\/me\/transitiveMemberOf\?\$select=id,displayName&\$top=999$/);
  });

  it('follows every page for a user in 2,500 groups through nesting, and the overage claim leads there', async () => {
    const st = await EntraStandin.create();
    const bob = st.addUser({ name: 'Bob', preferredUsername: 'bob@contoso.test' }).oid;
    const expected = new Set<string>();
    // 50 teams with bob as member, each nested in 49 parent groups: 50 + 50*49 = 2,500 groups.
    for (let i = 0; i < 50; i++) {
      const team = st.addGroup(`team-${i}`, [bob]);
      expected.add(team);
      for (let j = 0; j < 49; j++) expected.add(st.addGroup(`parent-${i}-${j}`, [team]));
    }
    const claims = st.idTokenClaims(bob);
    assert.equal(claims.groups, undefined, 'a JWT carries no groups above 200');
    assert.deepEqual(claims._claim_names, { groups: 'src1' });
    assert.ok(hasGroupsOverage(claims));

    const token = st.mintAccessToken(bob, ['openid', 'User.Read']);
    const r = await resolveEntraGroups({ claims, accessToken: token, cfg: entraCfg(st, { graphGroups: false }), fetch: st.fetch, sleep: sleepNever });
    assert.equal(r.source, 'graph');
    assert.equal(r.groups.length, 2500);
    assert.deepEqual(new Set(r.groups), expected);
    assert.equal(st.graphRequests.length, 3, 'pages of at most 999 (999 + 992 + 509)');
    assert.ok(st.graphRequests.slice(1).every((q) => q.includes('%24skiptoken=') || q.includes('$skiptoken=')));

    const cut = await rejectsWith(
      resolveEntraGroups({ claims, accessToken: token, cfg: entraCfg(st), fetch: st.fetch, limits: { maxPages: 2 } }),
      'ERR_SOURCE_UNAVAILABLE',
      /more than 2 pages.*partial group list/,
    );
    assert.ok(cut);
  });

  it('treats hasgroups: true as an overage', async () => {
    const token = s.mintAccessToken(alice, ['openid', 'User.Read']);
    const claims = { tid: s.tenantId, hasgroups: true };
    const r = await resolveEntraGroups({ claims, accessToken: token, cfg: entraCfg(s, { graphGroups: false }), fetch: s.fetch });
    assert.equal(r.source, 'graph');
    assert.deepEqual(r.groups, [engineers, netops]);
    assert.deepEqual(applyEntraGroups({ hasgroups: true, sub: 'x' }, r), { sub: 'x', groups: [engineers, netops] });
  });

  it('honours 429 and 503 Retry-After within bounds, counting the waits', async () => {
    const token = s.mintAccessToken(alice, ['openid', 'User.Read']);
    s.throttle(1, '3');
    s.throttle(1, '1', 503);
    const { sleep, waits } = recordingSleep();
    const r = await resolveEntraGroups({ claims: {}, accessToken: token, cfg: entraCfg(s), fetch: s.fetch, sleep });
    assert.deepEqual(waits, [3000, 1000]);
    assert.deepEqual(r.groups, [engineers, netops]);

    // Retries run out: a clear reason, no partial list.
    s.throttle(3, '1'); // the first try and both retries
    const w2 = recordingSleep();
    await rejectsWith(
      resolveEntraGroups({ claims: {}, accessToken: token, cfg: entraCfg(s), fetch: s.fetch, sleep: w2.sleep, limits: { maxRetries: 2 } }),
      'ERR_SOURCE_UNAVAILABLE',
      /throttling or unavailable \(HTTP 429, Retry-After 1s\) after 2 retries/,
    );
    assert.equal(w2.waits.length, 2);

    // A Retry-After beyond the total wait budget is not slept on at all.
    s.throttle(1, '3600');
    const w3 = recordingSleep();
    await rejectsWith(
      resolveEntraGroups({ claims: {}, accessToken: token, cfg: entraCfg(s), fetch: s.fetch, sleep: w3.sleep }),
      'ERR_SOURCE_UNAVAILABLE',
      /Retry-After 3600s/,
    );
    assert.deepEqual(w3.waits, []);
  });

  it('sees a group removal on the next resolution (refresh)', async () => {
    const st = await EntraStandin.create();
    const u = st.addUser({ name: 'Carol', preferredUsername: 'carol@contoso.test' }).oid;
    const admins = st.addGroup('NetBox Admins', [u]);
    const readers = st.addGroup('NetBox Readers', [u]);
    const token = st.mintAccessToken(u, ['openid', 'User.Read']);
    const first = await resolveEntraGroups({ claims: {}, accessToken: token, cfg: entraCfg(st), fetch: st.fetch });
    assert.deepEqual(first.groups, [admins, readers]);
    st.removeMember(admins, u);
    const second = await resolveEntraGroups({ claims: {}, accessToken: token, cfg: entraCfg(st), fetch: st.fetch });
    assert.deepEqual(second.groups, [readers]);
  });

  it('keeps groups only: directory roles and administrative units are dropped', async () => {
    const st = await EntraStandin.create({ graphPermissions: ['GroupMember.Read.All'] });
    const u = st.addUser({ name: 'Dan', preferredUsername: 'dan@contoso.test' }).oid;
    const g = st.addGroup('Network Engineers', [u]);
    st.addDirectoryRole('Global Reader', [u]);
    st.addAdministrativeUnit('EMEA', [u, g]);
    const token = st.mintAccessToken(u, ['openid', 'GroupMember.Read.All']);
    const r = await resolveEntraGroups({ claims: {}, accessToken: token, cfg: entraCfg(st, { resolveGroupNames: true }), fetch: st.fetch });
    assert.deepEqual(r.groups, [g]);
    assert.deepEqual(r.groupNames, { [g]: 'Network Engineers' });
    assert.deepEqual(r.warnings, []);
  });

  it('warns, without failing, when names are asked for but User.Read releases none', async () => {
    const token = s.mintAccessToken(alice, ['openid', 'User.Read']);
    const r = await resolveEntraGroups({ claims: {}, accessToken: token, cfg: entraCfg(s, { resolveGroupNames: true }), fetch: s.fetch });
    assert.deepEqual(r.groups, [engineers, netops]);
    assert.deepEqual(r.groupNames, {});
    assert.match(r.warnings.join('\n'), /GroupMember\.Read\.All/);
  });

  it('names the missing Graph permission and scope on 403, and on 401', async () => {
    const noPerm = s.mintAccessToken(alice, ['openid', 'profile']);
    const e = await rejectsWith(
      resolveEntraGroups({ claims: {}, accessToken: noPerm, cfg: entraCfg(s), fetch: s.fetch }),
      'ERR_SOURCE_CONFIG',
      /HTTP 403 Authorization_RequestDenied.*delegated Microsoft Graph permission User\.Read, grant admin consent/,
    );
    assert.ok(e.message.includes(`"${s.graphUrl}/User.Read"`));
    await rejectsWith(
      resolveEntraGroups({ claims: {}, accessToken: noPerm, cfg: entraCfg(s, { resolveGroupNames: true }), fetch: s.fetch }),
      'ERR_SOURCE_CONFIG',
      /GroupMember\.Read\.All/,
    );
    const bad = await rejectsWith(
      resolveEntraGroups({ claims: {}, accessToken: 'not-a-graph-token', cfg: entraCfg(s), fetch: s.fetch }),
      'ERR_SOURCE_CONFIG',
      /rejected the access token \(HTTP 401 InvalidAuthenticationToken\)/,
    );
    assert.ok(!bad.message.includes('not-a-graph-token'), 'the token never appears in errors');
    await rejectsWith(
      resolveEntraGroups({ claims: {}, accessToken: undefined, cfg: entraCfg(s), fetch: s.fetch }),
      'ERR_SOURCE_CONFIG',
      /no access token/,
    );
  });

  it('never sends the token to a nextLink on another origin', async () => {
    const sent: string[] = [];
    const hostile: typeof fetch = async (input) => {
      sent.push(String(input instanceof Request ? input.url : input));
      return Response.json({ value: [], '@odata.nextLink': 'https://evil.example/v1.0/me/transitiveMemberOf?$skiptoken=x' });
    };
    await rejectsWith(
      resolveEntraGroups({ claims: {}, accessToken: 't', cfg: entraCfg(s), fetch: hostile }),
      'ERR_SOURCE_PROTOCOL',
      /points to https:\/\/evil\.example/,
    );
    assert.equal(sent.length, 1);
  });

  it('rejects malformed replies and claims, and a token from another tenant', async () => {
    const reply = (body: unknown): typeof fetch => async () => Response.json(body);
    await rejectsWith(resolveEntraGroups({ claims: {}, accessToken: 't', cfg: entraCfg(s), fetch: reply({ nope: 1 }) }), 'ERR_SOURCE_PROTOCOL', /no "value" array/);
    await rejectsWith(resolveEntraGroups({ claims: {}, accessToken: 't', cfg: entraCfg(s), fetch: reply({ value: [{ id: 5 }] }) }), 'ERR_SOURCE_PROTOCOL', /no string "id"/);
    const notJson: typeof fetch = async () => new Response('<html>', { status: 200 });
    await rejectsWith(resolveEntraGroups({ claims: {}, accessToken: 't', cfg: entraCfg(s), fetch: notJson }), 'ERR_SOURCE_PROTOCOL', /not JSON/);
    await rejectsWith(
      resolveEntraGroups({ claims: { groups: 'a,b' }, accessToken: 't', cfg: entraCfg(s, { graphGroups: false }), fetch: s.fetch }),
      'ERR_SOURCE_PROTOCOL',
      /"groups" claim is not a list of strings/,
    );
    await rejectsWith(
      resolveEntraGroups({ claims: { tid: randomUUID(), groups: [] }, accessToken: 't', cfg: entraCfg(s, { graphGroups: false }), fetch: s.fetch }),
      'ERR_AUTH_FAILED',
      /from tenant .* not the configured/,
    );
  });

  it('gives ERR_SOURCE_UNAVAILABLE when Graph cannot be reached or does not answer in time', async () => {
    const down: typeof fetch = async () => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:9') });
    };
    await rejectsWith(resolveEntraGroups({ claims: {}, accessToken: 't', cfg: entraCfg(s), fetch: down }), 'ERR_SOURCE_UNAVAILABLE', /did not answer: fetch failed \(connect ECONNREFUSED/);
    const silent: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
    // AbortSignal.timeout does not hold the event loop open (a server does, in the gateway).
    const keepAlive = setInterval(() => {}, 1000);
    try {
      await rejectsWith(resolveEntraGroups({ claims: {}, accessToken: 't', cfg: entraCfg(s), fetch: silent, timeoutMs: 20 }), 'ERR_SOURCE_UNAVAILABLE', /timed out/);
    } finally {
      clearInterval(keepAlive);
    }
  });
});

describe('entraAuthorizationScopes', () => {
  it('asks for a refresh token and the least Graph permission the options need', async () => {
    const s = await EntraStandin.create();
    const real = (extra: Record<string, unknown>) => entraCfg(s, { graphUrl: 'https://graph.microsoft.com', ...extra });
    assert.deepEqual(entraAuthorizationScopes(real({})), ['openid', 'profile', 'email', 'offline_access', 'https://graph.microsoft.com/User.Read']);
    assert.deepEqual(entraAuthorizationScopes(real({ resolveGroupNames: true })).at(-1), 'https://graph.microsoft.com/GroupMember.Read.All');
    assert.equal(entraAuthorizationScopes(real({ graphUrl: 'https://graph.microsoft.us/' })).at(-1), 'https://graph.microsoft.us/User.Read');
  });
});
