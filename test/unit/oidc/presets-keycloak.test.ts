// Keycloak preset after tokens arrive: the mapper diagnostics (pure), the role merge (pure), and
// access token verification against a swapped-in JWKS fetch with locally made keys.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { isGateError } from '../../../src/errors.js';
import { oidcSourceSchema, type ResolvedOidcConfig } from '../../../src/sources/oidc/config.js';
import { applyPreset } from '../../../src/sources/oidc/presets.js';
import { diagnoseKeycloakClaims, enrichKeycloakClaims, mergeKeycloakAccessClaims } from '../../../src/sources/oidc/keycloak.js';
import { silentLogger } from '../../../src/types.js';

const ISSUER = 'https://kc.example.com/realms/netbox';

function config(keycloak: Record<string, unknown> = {}): ResolvedOidcConfig {
  const r = applyPreset(
    oidcSourceSchema.parse({ kind: 'oidc', id: 'kc', preset: 'keycloak', clientId: 'netbox', keycloak: { url: 'https://kc.example.com', realm: 'netbox', ...keycloak } }),
  );
  assert.ok(r.config);
  return r.config;
}

describe('diagnoseKeycloakClaims', () => {
  test('access token with the client in its audience: no problem', () => {
    assert.equal(diagnoseKeycloakClaims({ sub: 'u' }, config(), { aud: ['netbox', 'account'] }), undefined);
  });
  test('access token without the client in its audience names the Audience mapper', () => {
    const err = diagnoseKeycloakClaims({ sub: 'u' }, config(), { aud: 'account' });
    assert.ok(isGateError(err, 'ERR_SOURCE_CONFIG'));
    assert.match(err.message, /audience \("account"\) does not include the client "netbox"/);
    assert.match(err.message, /Clients → netbox → Client scopes → netbox-dedicated → Add mapper → By configuration → Audience, Included Client Audience = netbox/);
    assert.equal(err.detail.mapper, 'Audience');
  });
  test('no aud at all', () => {
    const err = diagnoseKeycloakClaims({}, config(), {});
    assert.match(err?.message ?? '', /audience \(none\)/);
  });
  test('requireAudience: false turns the audience check off', () => {
    assert.equal(diagnoseKeycloakClaims({}, config({ requireAudience: false }), { aud: 'account' }), undefined);
  });
  test('missing groups claim is only an error with requireGroupsClaim', () => {
    assert.equal(diagnoseKeycloakClaims({ sub: 'u' }, config(), { aud: 'netbox' }), undefined);
    const err = diagnoseKeycloakClaims({ sub: 'u' }, config({ requireGroupsClaim: true }), { aud: 'netbox' });
    assert.ok(isGateError(err, 'ERR_SOURCE_CONFIG'));
    assert.match(err.message, /Add a Group Membership mapper: .*Token Claim Name 'groups'/);
    assert.equal(err.detail.mapper, 'Group Membership');
  });
  test('groups only in the access token satisfy requireGroupsClaim', () => {
    assert.equal(diagnoseKeycloakClaims({ sub: 'u' }, config({ requireGroupsClaim: true }), { aud: 'netbox', groups: [] }), undefined);
  });
});

describe('mergeKeycloakAccessClaims', () => {
  const access = {
    realm_access: { roles: ['netbox-operator', 'offline_access'] },
    resource_access: { netbox: { roles: ['netbox-admin'] }, account: { roles: ['manage-account'] } },
    groups: ['administrator'],
  };
  test('realm roles, this client roles only, and groups when the ID token lacks them', () => {
    const out = mergeKeycloakAccessClaims({ sub: 'u' }, access, config());
    assert.deepEqual(out, {
      sub: 'u',
      realm_access: { roles: ['netbox-operator', 'offline_access'] },
      resource_access: { netbox: { roles: ['netbox-admin'] } },
      groups: ['administrator'],
    });
  });
  test('ID token values win; clientRoles: false drops client roles', () => {
    const out = mergeKeycloakAccessClaims({ sub: 'u', groups: ['developer'] }, access, config({ clientRoles: false }));
    assert.deepEqual(out.groups, ['developer']);
    assert.equal(out.resource_access, undefined);
  });
});

describe('enrichKeycloakClaims', async () => {
  const { publicKey, privateKey } = await jose.generateKeyPair('RS256');
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let jwksFetches = 0;
  const fakeFetch = (async (url: string | URL) => {
    assert.equal(String(url), `${ISSUER}/protocol/openid-connect/certs`);
    jwksFetches++;
    return new Response(JSON.stringify({ keys: [jwk] }), { headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
  const sign = (claims: jose.JWTPayload, key: jose.CryptoKey = privateKey) =>
    new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuedAt().setExpirationTime('5m').sign(key);
  const deps = { logger: silentLogger, fetch: fakeFetch };
  const cfg = config();

  test('a verified access token adds realm and client roles', async () => {
    const accessToken = await sign({ iss: ISSUER, aud: ['netbox', 'account'], azp: 'netbox', sub: 'u1', realm_access: { roles: ['netbox-operator'] }, resource_access: { netbox: { roles: ['netbox-admin'] } } });
    const out = await enrichKeycloakClaims({ cfg, claims: { sub: 'u1', groups: ['administrator'] }, accessToken, deps });
    assert.deepEqual(out.realm_access, { roles: ['netbox-operator'] });
    assert.deepEqual(out.resource_access, { netbox: { roles: ['netbox-admin'] } });
    assert.deepEqual(out.groups, ['administrator']);
  });
  test('the JWKS is fetched once per source and reused', async () => {
    const before = jwksFetches;
    const accessToken = await sign({ iss: ISSUER, aud: 'netbox', azp: 'netbox', sub: 'u1' });
    await enrichKeycloakClaims({ cfg, claims: { sub: 'u1' }, accessToken, deps });
    await enrichKeycloakClaims({ cfg, claims: { sub: 'u1' }, accessToken, deps });
    assert.ok(jwksFetches - before <= 1);
  });
  test('missing audience: the mapper error, before any key fetch', async () => {
    const accessToken = await sign({ iss: ISSUER, aud: 'account', azp: 'netbox', sub: 'u1' });
    await assert.rejects(enrichKeycloakClaims({ cfg: config(), claims: { sub: 'u1' }, accessToken, deps }), (e) => isGateError(e, 'ERR_SOURCE_CONFIG') && /Audience mapper/.test(e.message));
  });
  test('a token signed by another key is refused', async () => {
    const other = await jose.generateKeyPair('RS256');
    const accessToken = await sign({ iss: ISSUER, aud: 'netbox', azp: 'netbox', sub: 'u1', realm_access: { roles: ['netbox-operator'] } }, other.privateKey);
    await assert.rejects(enrichKeycloakClaims({ cfg, claims: { sub: 'u1' }, accessToken, deps }), (e) => isGateError(e, 'ERR_AUTH_FAILED'));
  });
  test('another issuer, another client or another subject is refused', async () => {
    for (const [claims, what] of [
      [{ iss: 'https://evil.example.com/realms/netbox', aud: 'netbox', azp: 'netbox', sub: 'u1' }, /iss/],
      [{ iss: ISSUER, aud: 'netbox', azp: 'other-client', sub: 'u1' }, /issued to client "other-client"/],
      [{ iss: ISSUER, aud: 'netbox', azp: 'netbox', sub: 'u2' }, /different subjects/],
    ] as const) {
      const accessToken = await sign(claims);
      await assert.rejects(enrichKeycloakClaims({ cfg, claims: { sub: 'u1' }, accessToken, deps }), (e) => isGateError(e, 'ERR_AUTH_FAILED') && what.test(e.message));
    }
  });
  test('an opaque access token is a protocol error, not a crash', async () => {
    await assert.rejects(enrichKeycloakClaims({ cfg, claims: { sub: 'u1' }, accessToken: 'not-a-jwt', deps }), (e) => isGateError(e, 'ERR_SOURCE_PROTOCOL'));
  });
  test('an unreachable JWKS is ERR_SOURCE_UNAVAILABLE', async () => {
    const down = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    const accessToken = await sign({ iss: ISSUER, aud: 'netbox', azp: 'netbox', sub: 'u1' });
    await assert.rejects(enrichKeycloakClaims({ cfg: config(), claims: { sub: 'u1' }, accessToken, deps: { logger: silentLogger, fetch: down } }), (e) => isGateError(e, 'ERR_SOURCE_UNAVAILABLE'));
  });
});
