// Sign-in and refresh through the real OIDC source (openid-client) against the Entra/Graph
// stand-in on 127.0.0.1: discovery, code + PKCE, ID token signature, then groups from Graph.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isGateError } from '../../src/errors.js';
import { oidcSourceSchema } from '../../src/sources/oidc/config.js';
import { createOidcSource } from '../../src/sources/oidc/index.js';
import { applyPreset } from '../../src/sources/oidc/presets.js';
import type { RedirectSource, SignInResult } from '../../src/sources/source.js';
import { silentLogger } from '../../src/types.js';
import { EntraStandin } from '../support/entra-standin.js';

const REDIRECT = 'http://127.0.0.1:9/.netbox-gate/callback/entra';
const ctx = { clientIp: '127.0.0.1' };

function sourceFor(s: EntraStandin, entra: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): RedirectSource {
  const parsed = oidcSourceSchema.parse({
    kind: 'oidc',
    id: 'entra',
    preset: 'entra',
    clientId: s.clientId,
    clientSecret: s.clientSecret,
    insecureAllowHttpIssuer: true,
    entra: { tenantId: s.tenantId, graphUrl: s.url, loginUrl: s.url, ...entra },
    ...extra,
  });
  const { config, issues } = applyPreset(parsed);
  assert.deepEqual(issues, []);
  return createOidcSource(config!, { logger: silentLogger });
}

/** What the browser does: follow the authorize redirect (the stand-in auto-approves) back to us. */
async function signIn(s: EntraStandin, source: RedirectSource, oid: string): Promise<SignInResult> {
  s.signInAs(oid);
  const { authorizationUrl, pending } = await source.beginSignIn(REDIRECT);
  const res = await fetch(authorizationUrl, { redirect: 'manual' });
  assert.equal(res.status, 302);
  const callback = new URL(res.headers.get('location')!);
  assert.equal(callback.origin + callback.pathname, REDIRECT);
  return source.completeSignIn(callback, pending, REDIRECT, ctx);
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

describe('Entra through the OIDC source', () => {
  let s: EntraStandin;
  before(async () => {
    s = await EntraStandin.create();
    await s.listen();
    s.registerRedirectUri(REDIRECT);
  });
  after(() => s.close());

  it('requests a refresh token and Graph User.Read, and signs in with nested groups from Graph', async () => {
    const u = s.addUser({ name: 'Alice Admin', preferredUsername: 'alice@contoso.test', email: 'alice@contoso.test', givenName: 'Alice', roles: ['NetBox.Admin'] });
    const eng = s.addGroup('Engineers', [u.oid]);
    const netops = s.addGroup('NetOps', [eng]);
    s.addDirectoryRole('Global Reader', [u.oid]);
    const source = sourceFor(s);
    const { authorizationUrl } = await source.beginSignIn(REDIRECT);
    const scope = new URL(authorizationUrl).searchParams.get('scope')!.split(' ');
    assert.ok(scope.includes('offline_access'));
    assert.ok(scope.includes(`${s.url}/User.Read`));

    const before = s.graphRequests.length;
    const r = await signIn(s, source, u.oid);
    assert.equal(r.identity.username, 'alice@contoso.test');
    assert.equal(r.identity.email, 'alice@contoso.test');
    assert.equal(r.identity.firstName, 'Alice');
    assert.deepEqual(r.identity.groups, [eng, netops]);
    assert.deepEqual(r.identity.attributes.roles, ['NetBox.Admin']);
    assert.equal(s.graphRequests.length, before + 1);
  });

  it('follows the overage claim of a user in 250 groups, and drops a removed group on refresh', async () => {
    const u = s.addUser({ name: 'Bob', preferredUsername: 'bob@contoso.test' });
    const base = s.addGroup('All Staff', [u.oid]);
    const groups = [base];
    for (let i = 0; i < 249; i++) groups.push(s.addGroup(`site-${i}`, [base]));
    const source = sourceFor(s, { graphGroups: false });
    const r = await signIn(s, source, u.oid);
    assert.equal(r.identity.groups.length, 250);
    assert.deepEqual(new Set(r.identity.groups), new Set(groups));
    assert.equal(r.identity.attributes._claim_names, undefined, 'overage markers do not reach the session');

    s.removeMember(base, u.oid); // removal at Entra between sign-in and refresh
    const direct = s.addGroup('Read Only', [u.oid]);
    const refreshed = await source.refresh!(r.state, ctx);
    assert.deepEqual(refreshed.identity.groups, [direct], 'the ID token now carries a complete claim');
    assert.equal(s.tokenGrants.at(-1), 'refresh_token');
  });

  it('picks up a group removal on refresh when Graph is the source', async () => {
    const u = s.addUser({ name: 'Carol', preferredUsername: 'carol@contoso.test' });
    const admins = s.addGroup('NetBox Admins', [u.oid]);
    const readers = s.addGroup('NetBox Readers', [u.oid]);
    const source = sourceFor(s);
    const r = await signIn(s, source, u.oid);
    assert.deepEqual(r.identity.groups, [admins, readers]);
    s.removeMember(admins, u.oid);
    const refreshed = await source.refresh!(r.state, ctx);
    assert.deepEqual(refreshed.identity.groups, [readers]);
  });

  it('fails sign-in with the missing Graph permission named when the app lacks it', async () => {
    const bare = await EntraStandin.create({ graphPermissions: [] });
    await bare.listen();
    try {
      bare.registerRedirectUri(REDIRECT);
      const u = bare.addUser({ name: 'Dan', preferredUsername: 'dan@contoso.test' });
      bare.addGroup('Engineers', [u.oid]);
      const err = await rejection(signIn(bare, sourceFor(bare), u.oid));
      assert.ok(isGateError(err, 'ERR_SOURCE_CONFIG'), String(err));
      assert.match(err.message, /HTTP 403 Authorization_RequestDenied.*permission User\.Read.*admin consent/);
    } finally {
      await bare.close();
    }
  });

  it('ends the session on refresh when the account is gone at Entra', async () => {
    const u = s.addUser({ name: 'Eve', preferredUsername: 'eve@contoso.test' });
    const source = sourceFor(s);
    const r = await signIn(s, source, u.oid);
    s.deleteUser(u.oid);
    const err = await rejection(source.refresh!(r.state, ctx));
    assert.ok(isGateError(err, 'ERR_AUTH_REJECTED'), String(err));
  });

  it('signs in with a verified domain as tenantId: discovery there names the GUID issuer, which is validated', async () => {
    const u = s.addUser({ name: 'Dora Domain', preferredUsername: 'dora@contoso.test' });
    const g = s.addGroup('Domain Users', [u.oid]);
    const mark = s.discoveryRequests.length;
    const source = sourceFor(s, { tenantId: 'contoso.onmicrosoft.com' });
    const r = await signIn(s, source, u.oid);
    assert.equal(r.identity.username, 'dora@contoso.test');
    assert.deepEqual(r.identity.groups, [g]);
    assert.deepEqual(s.discoveryRequests.slice(mark), [
      '/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration',
      `/${s.tenantId}/v2.0/.well-known/openid-configuration`,
    ]);
    assert.equal((await source.refresh!(r.state, ctx)).identity.username, 'dora@contoso.test');
  });

  it('reports a domain that is no tenant as a configuration error, not as an outage', async () => {
    const err = await rejection(sourceFor(s, { tenantId: 'fabrikam.onmicrosoft.com' }).beginSignIn(REDIRECT));
    assert.ok(isGateError(err, 'ERR_SOURCE_CONFIG'), String(err));
    assert.match(err.message, /does not know the tenant "fabrikam\.onmicrosoft\.com".*AADSTS90002/);
  });

  it('reports an issuer the provider does not call itself as a configuration error, not as an outage', async () => {
    // A GUID authority whose discovery names another issuer (here: the stand-in at another host name).
    const err = await rejection(sourceFor(s, {}, { issuer: `${s.url.replace('127.0.0.1', 'localhost')}/${s.tenantId}/v2.0` }).beginSignIn(REDIRECT));
    assert.ok(isGateError(err, 'ERR_SOURCE_CONFIG'), String(err));
    assert.match(err.message, /names the issuer .*, not /);
  });
});

describe('Entra client secrets with "~"', () => {
  let s: EntraStandin;
  before(async () => {
    // Current Entra secrets look like this: 40 characters with "~" (and often "." and "_").
    s = await EntraStandin.create({ clientSecret: 'Qx8Q~abc.DEF_ghi-jkl~MNOpqrSTUvwxYZ0123+/' });
    await s.listen();
    s.registerRedirectUri(REDIRECT);
  });
  after(() => s.close());

  it('posts the secret in the form body by default (client_secret_post)', async () => {
    const u = s.addUser({ name: 'Pat', preferredUsername: 'pat@contoso.test' });
    const mark = s.tokenAuthMethods.length;
    const r = await signIn(s, sourceFor(s), u.oid);
    assert.equal(r.identity.username, 'pat@contoso.test');
    assert.deepEqual(s.tokenAuthMethods.slice(mark), ['client_secret_post']);
  });

  it('percent-encodes it in HTTP Basic with tokenEndpointAuthMethod: client_secret_basic (RFC 6749 2.3.1)', async () => {
    const u = s.addUser({ name: 'Bas', preferredUsername: 'bas@contoso.test' });
    const mark = s.tokenAuthMethods.length;
    const source = sourceFor(s, {}, { tokenEndpointAuthMethod: 'client_secret_basic' });
    const r = await signIn(s, source, u.oid);
    assert.equal(r.identity.username, 'bas@contoso.test');
    await source.refresh!(r.state, ctx);
    assert.deepEqual(s.tokenAuthMethods.slice(mark), ['client_secret_basic', 'client_secret_basic']);
  });

  it('the form body works where Basic credentials are not decoded, as reported of Entra', async () => {
    const u = s.addUser({ name: 'Rae', preferredUsername: 'rae@contoso.test' });
    s.decodeBasicCredentials = false;
    try {
      const basic = await rejection(signIn(s, sourceFor(s, {}, { tokenEndpointAuthMethod: 'client_secret_basic' }), u.oid));
      assert.ok(isGateError(basic), String(basic));
      // oauth4webapi form-urlencodes both the GUID client id ("-" as %2D) and the secret ("~" as %7E).
      assert.match(basic.message, /unauthorized_client|invalid_client/);
      assert.equal((await signIn(s, sourceFor(s), u.oid)).identity.username, 'rae@contoso.test');
    } finally {
      s.decodeBasicCredentials = true;
    }
  });
});
