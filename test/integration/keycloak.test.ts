// Against a real Keycloak 26 (scripts/deps/keycloak.sh): the tokens the seed's mappers produce,
// the Keycloak preset's diagnostics and role merge on them, and the policy deciding on the result.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { isGateError } from '../../src/errors.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { decide } from '../../src/policy/evaluate.js';
import { policySchema } from '../../src/policy/schema.js';
import { oidcSourceSchema, type ResolvedOidcConfig } from '../../src/sources/oidc/config.js';
import { createOidcSource } from '../../src/sources/oidc/index.js';
import { diagnoseKeycloakClaims, enrichKeycloakClaims } from '../../src/sources/oidc/keycloak.js';
import { applyPreset } from '../../src/sources/oidc/presets.js';
import { silentLogger, type Attributes } from '../../src/types.js';
import { CLIENTS, passwordGrant, startKeycloak, USERS, type Keycloak } from '../support/keycloak.js';

let kc: Keycloak;
let jwks: ReturnType<typeof jose.createRemoteJWKSet>;

before(async () => {
  kc = await startKeycloak();
  jwks = jose.createRemoteJWKSet(new URL(`${kc.issuer}/protocol/openid-connect/certs`), { timeoutDuration: 5000 });
  // Start-up time on this machine, for the report (not asserted).
  console.log(`# keycloak ready in ${kc.startupMs} ms at ${kc.issuer}`);
});
after(async () => {
  await kc?.stop();
});

function sourceConfig(client: { clientId: string; secret: string }, keycloak: Record<string, unknown> = {}): ResolvedOidcConfig {
  const r = applyPreset(
    oidcSourceSchema.parse({
      kind: 'oidc',
      id: 'keycloak',
      preset: 'keycloak',
      clientId: client.clientId,
      clientSecret: client.secret,
      insecureAllowHttpIssuer: true,
      keycloak: { url: kc.url, realm: 'netbox', ...keycloak },
    }),
  );
  assert.deepEqual(r.issues, []);
  return r.config!;
}

async function idClaims(client: { clientId: string; secret: string }, user: { username: string; password: string }) {
  const tokens = await passwordGrant(kc, client, user);
  const { payload } = await jose.jwtVerify(tokens.id_token, jwks, { issuer: kc.issuer, audience: client.clientId });
  return { tokens, claims: payload as Attributes };
}

describe('tokens from the seed setup', () => {
  test('the preset derives the issuer Keycloak really uses', () => {
    assert.equal(sourceConfig(CLIENTS.netbox).issuer, kc.issuer);
  });

  test('admin-user: ID token carries the group and profile claims', async () => {
    const { claims } = await idClaims(CLIENTS.netbox, USERS.admin);
    assert.deepEqual(claims.groups, ['administrator']);
    assert.equal(claims.preferred_username, 'admin-user');
    assert.equal(claims.email, USERS.admin.email);
    assert.equal(claims.given_name, 'Ada');
    assert.equal(claims.family_name, 'Admin');
  });

  test('full path OFF gives only the leaf of a nested group; ON gives the path', async () => {
    assert.deepEqual((await idClaims(CLIENTS.netbox, USERS.nested)).claims.groups, ['backend']);
    assert.deepEqual((await idClaims(CLIENTS.fullpath, USERS.nested)).claims.groups, ['/developer/backend']);
    assert.deepEqual((await idClaims(CLIENTS.fullpath, USERS.admin)).claims.groups, ['/administrator']);
  });

  test('a user in no group gets no groups claim at all', async () => {
    const { claims } = await idClaims(CLIENTS.netbox, USERS.plain);
    assert.equal(claims.groups, undefined);
  });

  test('realm and client roles are in the access token only', async () => {
    const { tokens, claims } = await idClaims(CLIENTS.netbox, USERS.admin);
    assert.equal(claims.realm_access, undefined);
    const { payload } = await jose.jwtVerify(tokens.access_token, jwks, { issuer: kc.issuer, audience: 'netbox' });
    assert.ok((payload.realm_access as { roles: string[] }).roles.includes('netbox-operator'));
    assert.deepEqual((payload.resource_access as Record<string, { roles: string[] }>).netbox?.roles, ['netbox-admin']);
  });
});

describe('Keycloak preset diagnostics on real tokens', () => {
  test('client with the Audience mapper: no problem', async () => {
    const { tokens, claims } = await idClaims(CLIENTS.netbox, USERS.dev);
    assert.equal(diagnoseKeycloakClaims(claims, sourceConfig(CLIENTS.netbox), jose.decodeJwt(tokens.access_token) as Attributes), undefined);
  });

  test('client without the Audience mapper: the error names the mapper to add', async () => {
    const { tokens, claims } = await idClaims(CLIENTS.noaud, USERS.dev);
    const err = diagnoseKeycloakClaims(claims, sourceConfig(CLIENTS.noaud), jose.decodeJwt(tokens.access_token) as Attributes);
    assert.ok(isGateError(err, 'ERR_SOURCE_CONFIG'));
    assert.match(err.message, /does not include the client "netbox-noaud"/);
    assert.match(err.message, /Clients → netbox-noaud → Client scopes → netbox-noaud-dedicated → Add mapper → By configuration → Audience, Included Client Audience = netbox-noaud/);
  });

  test('client without the Group Membership mapper, with requireGroupsClaim', async () => {
    const cfg = sourceConfig(CLIENTS.nogroups, { requireGroupsClaim: true });
    const { tokens, claims } = await idClaims(CLIENTS.nogroups, USERS.admin);
    await assert.rejects(
      enrichKeycloakClaims({ cfg, claims, accessToken: tokens.access_token, deps: { logger: silentLogger } }),
      (e) => isGateError(e, 'ERR_SOURCE_CONFIG') && /Add a Group Membership mapper: .*Token Claim Name 'groups'/.test(e.message),
    );
  });

  test('enrich verifies the real access token and merges roles; noaud is refused', async () => {
    const cfg = sourceConfig(CLIENTS.netbox);
    const { tokens, claims } = await idClaims(CLIENTS.netbox, USERS.admin);
    const merged = await enrichKeycloakClaims({ cfg, claims, accessToken: tokens.access_token, deps: { logger: silentLogger } });
    assert.ok((merged.realm_access as { roles: string[] }).roles.includes('netbox-operator'));
    assert.deepEqual(merged.resource_access, { netbox: { roles: ['netbox-admin'] } });

    const bad = await idClaims(CLIENTS.noaud, USERS.admin);
    await assert.rejects(
      enrichKeycloakClaims({ cfg: sourceConfig(CLIENTS.noaud), claims: bad.claims, accessToken: bad.tokens.access_token, deps: { logger: silentLogger } }),
      (e) => isGateError(e, 'ERR_SOURCE_CONFIG') && /Audience mapper/.test(e.message),
    );
  });
});

describe('the seed pipeline as policy rules, decided on real Keycloak claims', () => {
  // sso_pipeline.set_superuser: administrator -> superuser + staff, developer -> staff.
  const compiled = compilePolicy(
    policySchema.parse({
      rules: [
        { name: 'administrators', groups: 'administrator', superuser: true, staff: true },
        { name: 'developers', groups: ['developer', { glob: 'developer/*' }, 'backend'], staff: true, netboxGroups: 'developers' },
        { name: 'realm operators', effect: 'grant', claims: { 'realm_access.roles': 'netbox-operator' }, netboxGroups: 'operators' },
        { name: 'client admins', effect: 'grant', claims: { 'resource_access.netbox.roles': 'netbox-admin' }, netboxGroups: 'netbox-admins' },
      ],
    }),
    { groupSeparator: '|' },
  );
  assert.ok(compiled.policy);
  const policy = compiled.policy;

  async function decision(client: { clientId: string; secret: string }, user: { username: string; password: string }) {
    const cfg = sourceConfig(client);
    const { tokens, claims } = await idClaims(client, user);
    const merged = await enrichKeycloakClaims({ cfg, claims, accessToken: tokens.access_token, deps: { logger: silentLogger } });
    const identity = createOidcSource(cfg, { logger: silentLogger }).identityFromAttributes(merged);
    return decide(policy, identity);
  }

  test('admin-user: superuser + staff, plus role-based groups from realm and client roles', async () => {
    const d = await decision(CLIENTS.netbox, USERS.admin);
    assert.equal(d.allowed, true);
    assert.equal(d.superuser, true);
    assert.equal(d.staff, true);
    assert.deepEqual(d.groups, ['netbox-admins', 'operators']);
    assert.equal(d.email, USERS.admin.email);
  });

  test('nested-user with full paths: "/developer/backend" matches developer/*', async () => {
    const d = await decision(CLIENTS.fullpath, USERS.nested);
    assert.equal(d.allowed, true);
    assert.equal(d.superuser, false);
    assert.equal(d.staff, true);
    assert.deepEqual(d.groups, ['developers']);
  });

  test('plain-user (no group) is not let in', async () => {
    const d = await decision(CLIENTS.netbox, USERS.plain);
    assert.equal(d.allowed, false);
    assert.equal(d.reasonCode, 'no_allow_rule');
  });
});
