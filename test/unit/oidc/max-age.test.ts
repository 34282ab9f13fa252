// acrValues and maxAge on an OIDC source: sent as acr_values and max_age, and with max_age the
// ID token's auth_time must be present and recent enough (OIDC Core 3.1.2.1, 3.1.3.7 item 13).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GateError } from '../../../src/errors.js';
import { oidcSourceSchema } from '../../../src/sources/oidc/config.js';
import { createOidcSource } from '../../../src/sources/oidc/index.js';
import { applyPreset } from '../../../src/sources/oidc/presets.js';
import type { RedirectSource } from '../../../src/sources/source.js';
import { silentLogger } from '../../../src/types.js';
import { RogueIdp } from './rogue-idp.js';

const REDIRECT = 'https://gate.test/.netbox-gate/callback/idp';

function sourceFor(idp: RogueIdp, extra: Record<string, unknown>): RedirectSource {
  const { config, issues } = applyPreset(
    oidcSourceSchema.parse({ kind: 'oidc', id: 'idp', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, userinfo: false, ...extra }),
  );
  assert.deepEqual(issues, []);
  return createOidcSource(config!, { logger: silentLogger, fetch: idp.fetch });
}

async function signIn(idp: RogueIdp, source: RedirectSource) {
  const { authorizationUrl, pending } = await source.beginSignIn(REDIRECT);
  return source.completeSignIn(idp.issueCode(authorizationUrl), pending, REDIRECT, { clientIp: '127.0.0.1' });
}

describe('acr_values and max_age', () => {
  it('sends neither unless configured', async () => {
    const idp = await RogueIdp.create();
    const q = new URL((await sourceFor(idp, {}).beginSignIn(REDIRECT)).authorizationUrl).searchParams;
    assert.equal(q.get('acr_values'), null);
    assert.equal(q.get('max_age'), null);
  });

  it('sends acr_values (space-separated, in order) and max_age in seconds', async () => {
    const idp = await RogueIdp.create();
    const q = new URL((await sourceFor(idp, { acrValues: ['phr', 'mfa'], maxAge: '15m' }).beginSignIn(REDIRECT)).authorizationUrl).searchParams;
    assert.equal(q.get('acr_values'), 'phr mfa');
    assert.equal(q.get('max_age'), '900');
  });

  it('with max_age, accepts a recent auth_time and refuses a stale or missing one', async () => {
    const idp = await RogueIdp.create();
    const source = sourceFor(idp, { maxAge: '5m' });
    const now = Math.floor(Date.now() / 1000);
    idp.next = { claims: { auth_time: now - 60 } };
    assert.equal((await signIn(idp, source)).identity.username, 'alice');

    for (const claims of [{ auth_time: now - 3600 }, {}]) {
      idp.next = { claims };
      let caught: unknown;
      await signIn(idp, source).catch((e: unknown) => (caught = e));
      assert.ok(caught instanceof GateError, String(caught));
      assert.equal(caught.code, 'ERR_AUTH_FAILED', caught.message);
      assert.match(caught.message, /auth_time/);
    }
  });

  it('acr and amr reach the identity for the policy', async () => {
    const idp = await RogueIdp.create();
    idp.next = { claims: { acr: 'mfa', amr: ['pwd', 'hwk'] } };
    const r = await signIn(idp, sourceFor(idp, {}));
    assert.equal(r.identity.attributes.acr, 'mfa');
    assert.deepEqual(r.identity.attributes.amr, ['pwd', 'hwk']);
  });
});
