// Directory sync's Entra ID lookup against the Entra stand-in (Microsoft's wire formats): the
// app's own client-credentials token, GET /v1.0/users/{object id}; a disabled or deleted account
// is ERR_AUTH_REJECTED (the sync deprovisions), an enabled one is only "present" (groups are
// never rebuilt from Graph), a user without a recorded object id is skipped, and a missing
// application permission is a configuration error naming it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isGateError } from '../../src/errors.js';
import { oidcSourceSchema } from '../../src/sources/oidc/config.js';
import { createOidcSource } from '../../src/sources/oidc/index.js';
import { applyPreset } from '../../src/sources/oidc/presets.js';
import type { RedirectSource } from '../../src/sources/source.js';
import { silentLogger } from '../../src/types.js';
import { EntraStandin } from '../support/entra-standin.js';

const REDIRECT = 'http://127.0.0.1:9/.netbox-gate/callback/entra';

function sourceFor(s: EntraStandin, extra: Record<string, unknown> = {}): RedirectSource {
  const parsed = oidcSourceSchema.parse({
    kind: 'oidc',
    id: 'entra',
    preset: 'entra',
    clientId: s.clientId,
    clientSecret: s.clientSecret,
    insecureAllowHttpIssuer: true,
    entra: { tenantId: s.tenantId, graphUrl: s.url, loginUrl: s.url },
    ...extra,
  });
  const { config, issues } = applyPreset(parsed);
  assert.deepEqual(issues, []);
  return createOidcSource(config!, { logger: silentLogger });
}

const rejectsWith = (code: string, re: RegExp) => (err: unknown) => {
  assert.ok(isGateError(err), String(err));
  assert.equal(err.code, code, err.message);
  assert.match(err.message, re);
  return true;
};

describe('Entra ID lookup for directory sync', () => {
  let s: EntraStandin;
  before(async () => {
    s = await EntraStandin.create();
    await s.listen();
    s.registerRedirectUri(REDIRECT);
  });
  after(() => s.close());

  it('an enabled account is present; disabled or deleted, it is rejected (the sync deprovisions)', async () => {
    const u = s.addUser({ name: 'Bob', preferredUsername: 'bob@contoso.test' });
    const src = sourceFor(s);
    assert.ok(src.lookup, 'the entra preset with a client secret can be asked');
    const ask = () => src.lookup!('bob@contoso.test', { clientIp: '127.0.0.1', hint: { oid: u.oid } });
    assert.equal(await ask(), 'present');
    assert.equal(await ask(), 'present');
    // One app token for both (cached until shortly before it expires), never the user's.
    assert.equal(s.tokenGrants.filter((g) => g === 'client_credentials').length, 1);
    assert.ok(s.graphRequests.includes(`/v1.0/users/${u.oid}?$select=id,accountEnabled`));

    s.setAccountEnabled(u.oid, false);
    await assert.rejects(ask(), rejectsWith('ERR_AUTH_REJECTED', /is disabled \(accountEnabled false\)/));
    s.setAccountEnabled(u.oid, true);
    assert.equal(await ask(), 'present');
    s.deleteUser(u.oid);
    await assert.rejects(ask(), rejectsWith('ERR_AUTH_REJECTED', /no user with object id .* \(deleted\)/));
  });

  it('without a recorded object id the user is skipped (never looked up by a name that may not be the UPN)', async () => {
    const src = sourceFor(s);
    await assert.rejects(src.lookup!('carol@contoso.test', { clientIp: '127.0.0.1' }), rejectsWith('ERR_SOURCE_UNAVAILABLE', /no Entra object id recorded/));
  });

  it('without a client secret there is no lookup; a token without User.Read.All is a config error naming it', async () => {
    const parsed = oidcSourceSchema.parse({ kind: 'oidc', id: 'e', preset: 'entra', clientId: s.clientId, insecureAllowHttpIssuer: true, entra: { tenantId: s.tenantId, graphUrl: s.url, loginUrl: s.url } });
    const { config } = applyPreset(parsed);
    assert.equal(createOidcSource(config!, { logger: silentLogger }).lookup, undefined);
    // An app registration without the application permission: Graph answers 403.
    const u = s.addUser({ name: 'Dave', preferredUsername: 'dave@contoso.test' });
    s.appPermissions = [];
    try {
      await assert.rejects(
        sourceFor(s).lookup!('dave@contoso.test', { clientIp: '127.0.0.1', hint: { oid: u.oid } }),
        rejectsWith('ERR_SOURCE_CONFIG', /refused to read user .* \(HTTP 403 Authorization_RequestDenied\): give the app registration the application permission User\.Read\.All/),
      );
    } finally {
      s.appPermissions = ['User.Read.All'];
    }
  });
});
