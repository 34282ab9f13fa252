// applyPreset per provider: issuer derivation, scopes and claim defaults, explicit values winning,
// and the message a user sees for a missing or misplaced provider block.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { oidcSourceSchema, type OidcSourceInput } from '../../../src/sources/oidc/config.js';
import { applyPreset } from '../../../src/sources/oidc/presets.js';
import { authentikEndSessionUrl } from '../../../src/sources/oidc/authentik.js';
import { oidcNotices } from '../../../src/sources/oidc/notices.js';

const base = { kind: 'oidc', id: 'sso', clientId: 'netbox' } as const;
const resolve = (input: Omit<OidcSourceInput, 'kind' | 'id' | 'clientId'>) => applyPreset(oidcSourceSchema.parse({ ...base, ...input }));

describe('issuer derivation', () => {
  const cases: Array<[string, Omit<OidcSourceInput, 'kind' | 'id' | 'clientId'>, string]> = [
    ['keycloak realm', { preset: 'keycloak', keycloak: { url: 'https://sso.example.com', realm: 'netbox' } }, 'https://sso.example.com/realms/netbox'],
    ['keycloak trailing slash', { preset: 'keycloak', keycloak: { url: 'https://sso.example.com/', realm: 'netbox' } }, 'https://sso.example.com/realms/netbox'],
    ['keycloak legacy /auth prefix', { preset: 'keycloak', keycloak: { url: 'https://sso.example.com/auth', realm: 'corp' } }, 'https://sso.example.com/auth/realms/corp'],
    ['keycloak realm with a space is encoded', { preset: 'keycloak', keycloak: { url: 'https://kc', realm: 'my realm' } }, 'https://kc/realms/my%20realm'],
    ['authentik slug', { preset: 'authentik', authentik: { url: 'https://authentik.company', slug: 'netbox' } }, 'https://authentik.company/application/o/netbox/'],
    ['okta org server, bare domain', { preset: 'okta', okta: { domain: 'dev-123456.okta.com' } }, 'https://dev-123456.okta.com'],
    ['okta org server, URL', { preset: 'okta', okta: { domain: 'https://corp.okta.com/' } }, 'https://corp.okta.com'],
    ['okta default custom server', { preset: 'okta', okta: { domain: 'corp.okta.com', authorizationServer: 'default' } }, 'https://corp.okta.com/oauth2/default'],
    ['okta custom server id', { preset: 'okta', okta: { domain: 'corp.okta.com', authorizationServer: 'aus1a2b3c4D5e6F7g8h9' } }, 'https://corp.okta.com/oauth2/aus1a2b3c4D5e6F7g8h9'],
    ['explicit issuer wins over the keycloak block', { preset: 'keycloak', issuer: 'https://other.example.com/realms/x', keycloak: { url: 'https://kc', realm: 'netbox' } }, 'https://other.example.com/realms/x'],
    ['keycloak preset with issuer only', { preset: 'keycloak', issuer: 'https://kc.example.com/realms/netbox' }, 'https://kc.example.com/realms/netbox'],
    ['generic', { issuer: 'https://idp.example.com' }, 'https://idp.example.com'],
  ];
  for (const [name, input, issuer] of cases) {
    test(name, () => {
      const r = resolve(input);
      assert.deepEqual(r.issues, []);
      assert.equal(r.config?.issuer, issuer);
    });
  }
});

describe('scopes and claims', () => {
  test('keycloak: groups claim and the standard profile claims', () => {
    const r = resolve({ preset: 'keycloak', keycloak: { url: 'https://kc', realm: 'netbox' } });
    assert.deepEqual(r.config?.scopes, ['openid', 'profile', 'email']);
    assert.deepEqual(r.config?.claims, { username: 'preferred_username', email: 'email', firstName: 'given_name', lastName: 'family_name', groups: ['groups'] });
    assert.equal(r.config?.keycloak?.requireAudience, true);
    assert.equal(r.config?.keycloak?.requireGroupsClaim, false);
    assert.equal(r.config?.keycloak?.clientRoles, true);
  });
  test('okta org server asks for the groups scope; a custom server does not; both ask for offline_access', () => {
    assert.deepEqual(resolve({ preset: 'okta', okta: { domain: 'corp.okta.com' } }).config?.scopes, ['openid', 'profile', 'email', 'groups', 'offline_access']);
    assert.deepEqual(resolve({ preset: 'okta', okta: { domain: 'corp.okta.com', authorizationServer: 'default' } }).config?.scopes, ['openid', 'profile', 'email', 'offline_access']);
  });
  test('authentik asks for offline_access, which its refresh tokens need', () => {
    assert.deepEqual(resolve({ preset: 'authentik', authentik: { url: 'https://a', slug: 's' } }).config?.scopes, ['openid', 'profile', 'email', 'offline_access']);
  });
  test('client authentication: HTTP Basic by default, the form body for entra, configurable', () => {
    assert.equal(resolve({ issuer: 'https://idp', clientSecret: 'x' }).config?.tokenEndpointAuthMethod, 'client_secret_basic');
    assert.equal(resolve({ preset: 'okta', clientSecret: 'x', okta: { domain: 'corp.okta.com' } }).config?.tokenEndpointAuthMethod, 'client_secret_basic');
    assert.equal(resolve({ preset: 'entra', clientSecret: 'x', entra: { tenantId: 'contoso.onmicrosoft.com' } }).config?.tokenEndpointAuthMethod, 'client_secret_post');
    assert.equal(
      resolve({ preset: 'entra', clientSecret: 'x', tokenEndpointAuthMethod: 'client_secret_basic', entra: { tenantId: 'contoso.onmicrosoft.com' } }).config?.tokenEndpointAuthMethod,
      'client_secret_basic',
    );
    assert.deepEqual(resolve({ issuer: 'https://idp', tokenEndpointAuthMethod: 'client_secret_post' }).issues.map((i) => i.path), ['tokenEndpointAuthMethod']);
  });
  test('ID token algorithms: asymmetric by default, HS* only when listed', () => {
    const algs = resolve({ issuer: 'https://idp' }).config!.idTokenSigningAlgorithms;
    assert.ok(algs.includes('RS256') && algs.includes('ES256') && algs.includes('EdDSA'));
    assert.ok(!algs.some((a) => a.startsWith('HS')));
    assert.deepEqual(resolve({ issuer: 'https://idp', clientSecret: 'x', idTokenSigningAlgorithms: ['HS256'] }).config!.idTokenSigningAlgorithms, ['HS256']);
  });
  test('acrValues and maxAge', () => {
    const c = resolve({ issuer: 'https://idp', acrValues: 'phr', maxAge: '15m' }).config!;
    assert.deepEqual(c.acrValues, ['phr']);
    assert.equal(c.maxAge, 900_000);
    assert.equal(resolve({ issuer: 'https://idp' }).config!.acrValues, undefined);
  });
  test('explicit scopes and claims win over the preset', () => {
    const r = resolve({
      preset: 'keycloak',
      keycloak: { url: 'https://kc', realm: 'netbox' },
      scopes: ['openid', 'roles'],
      claims: { username: 'email', groups: 'realm_access.roles' },
    });
    assert.deepEqual(r.config?.scopes, ['openid', 'roles']);
    assert.equal(r.config?.claims.username, 'email');
    assert.deepEqual(r.config?.claims.groups, ['realm_access.roles']);
    assert.equal(r.config?.claims.email, 'email');
  });
  test('several group claim paths are kept in order', () => {
    const r = resolve({ preset: 'authentik', authentik: { url: 'https://a', slug: 's' }, claims: { groups: ['groups', 'roles'] } });
    assert.deepEqual(r.config?.claims.groups, ['groups', 'roles']);
  });
});

describe('missing and misplaced fields', () => {
  const cases: Array<[string, Omit<OidcSourceInput, 'kind' | 'id' | 'clientId'>, { path: string; message: RegExp }]> = [
    ['keycloak without block or issuer', { preset: 'keycloak' }, { path: 'keycloak', message: /required for preset: keycloak \(url and realm\), or give issuer/ }],
    ['authentik without block or issuer', { preset: 'authentik' }, { path: 'authentik', message: /url and slug/ }],
    ['entra multi-tenant authority', { preset: 'entra', entra: { tenantId: 'organizations' } }, { path: 'entra.tenantId', message: /multi-tenant/ }],
    ['entra tenant neither GUID nor domain', { preset: 'entra', entra: { tenantId: 'contoso' } }, { path: 'entra.tenantId', message: /neither a tenant id/ }],
    ['okta without block or issuer', { preset: 'okta' }, { path: 'okta', message: /domain/ }],
    ['generic without issuer', {}, { path: 'issuer', message: /required: the URL of the OpenID provider/ }],
    ['keycloak block under the generic preset', { issuer: 'https://kc/realms/x', keycloak: { url: 'https://kc', realm: 'x' } }, { path: 'keycloak', message: /only applies with preset: keycloak \(this source has preset: generic\)/ }],
    ['okta block under the keycloak preset', { preset: 'keycloak', keycloak: { url: 'https://kc', realm: 'x' }, okta: { domain: 'corp.okta.com' } }, { path: 'okta', message: /only applies with preset: okta/ }],
    ['okta domain with a path', { preset: 'okta', okta: { domain: 'https://corp.okta.com/oauth2/default' } }, { path: 'okta.domain', message: /give only the Okta host \("corp.okta.com"\).*authorizationServer/ }],
    ['okta authorization server that is a URL', { preset: 'okta', okta: { domain: 'corp.okta.com', authorizationServer: 'https://corp.okta.com/oauth2/default' } }, { path: 'okta.authorizationServer', message: /authorization server id/ }],
  ];
  for (const [name, input, want] of cases) {
    test(name, () => {
      const r = resolve(input);
      assert.equal(r.config, undefined);
      assert.equal(r.issues.length, 1, JSON.stringify(r.issues));
      assert.equal(r.issues[0]!.path, want.path);
      assert.match(r.issues[0]!.message, want.message);
    });
  }
});

test('authentik end-session URL sits under the application issuer', () => {
  assert.equal(authentikEndSessionUrl({ url: 'https://authentik.company/', slug: 'netbox' }), 'https://authentik.company/application/o/netbox/end-session/');
});

describe('notices', () => {
  const notices = (input: Record<string, unknown>) => oidcNotices(resolve(input).config!);
  test('a preset that needs offline_access for refresh tokens, with scopes that lack it', () => {
    const n = notices({ preset: 'authentik', authentik: { url: 'https://a', slug: 's' }, scopes: ['openid', 'profile', 'email'] });
    assert.equal(n.length, 1);
    assert.equal(n[0]!.path, 'scopes');
    assert.match(n[0]!.message, /offline_access/);
    assert.match(n[0]!.message, /group changes .* only at sign-in/);
    assert.equal(notices({ preset: 'okta', okta: { domain: 'corp.okta.com' }, scopes: ['openid'] }).length, 1);
  });
  test('none for the presets\' own scopes, or where refresh tokens need no scope', () => {
    assert.deepEqual(notices({ preset: 'authentik', authentik: { url: 'https://a', slug: 's' } }), []);
    assert.deepEqual(notices({ preset: 'okta', okta: { domain: 'corp.okta.com' } }), []);
    assert.deepEqual(notices({ preset: 'entra', entra: { tenantId: 'contoso.onmicrosoft.com' } }), []);
    assert.deepEqual(notices({ preset: 'keycloak', keycloak: { url: 'https://kc', realm: 'r' }, scopes: ['openid'] }), []);
    assert.deepEqual(notices({ issuer: 'https://idp' }), []);
  });
});
