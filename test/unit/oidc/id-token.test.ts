// Every ID token the OIDC source accepts (sign-in and refresh) carries a signature that verifies
// with a key the provider publishes, in an algorithm the source allows; a provider that
// misbehaves on purpose (rogue-idp.ts) shows each way a forged token used to get through.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { GateError } from '../../../src/errors.js';
import { oidcSourceSchema } from '../../../src/sources/oidc/config.js';
import { createOidcSource } from '../../../src/sources/oidc/index.js';
import { applyPreset } from '../../../src/sources/oidc/presets.js';
import type { RedirectSource, SignInResult } from '../../../src/sources/source.js';
import { silentLogger } from '../../../src/types.js';
import { RogueIdp } from './rogue-idp.js';

const REDIRECT = 'https://gate.test/.netbox-gate/callback/rogue';
const ctx = { clientIp: '127.0.0.1' };

function sourceFor(idp: RogueIdp, extra: Record<string, unknown> = {}, clock?: { t: number }): RedirectSource {
  const { config, issues } = applyPreset(
    oidcSourceSchema.parse({ kind: 'oidc', id: 'rogue', issuer: idp.issuer, clientId: idp.clientId, clientSecret: idp.clientSecret, userinfo: false, ...extra }),
  );
  assert.deepEqual(issues, []);
  const deps: Parameters<typeof createOidcSource>[1] = { logger: silentLogger, fetch: idp.fetch };
  if (clock) deps.now = () => clock.t;
  return createOidcSource(config!, deps);
}

async function signIn(idp: RogueIdp, source: RedirectSource): Promise<SignInResult> {
  const { authorizationUrl, pending } = await source.beginSignIn(REDIRECT);
  return source.completeSignIn(idp.issueCode(authorizationUrl), pending, REDIRECT, ctx);
}

async function failure(p: Promise<unknown>): Promise<GateError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GateError, `expected a GateError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the ID token to be refused');
}

describe('ID token signatures', () => {
  let idp: RogueIdp;
  beforeEach(async () => {
    idp = await RogueIdp.create();
  });

  it('accepts a token signed with the published key, fetching the JWKS once', async () => {
    const source = sourceFor(idp);
    const r = await signIn(idp, source);
    assert.equal(r.identity.username, 'alice');
    await signIn(idp, source);
    assert.equal(idp.jwksRequests, 1);
  });

  it('refuses a token signed with a key the provider never published (any kid, or none)', async () => {
    const source = sourceFor(idp);
    const forger = await idp.newKey('RS256');
    idp.next = { signing: { kind: 'key', key: forger } };
    let e = await failure(signIn(idp, source));
    assert.equal(e.code, 'ERR_AUTH_FAILED');
    assert.match(e.message, /does not publish/);
    // The published key's kid on a forged signature.
    idp.next = { signing: { kind: 'key', key: forger, kid: idp.published[0]!.kid } };
    e = await failure(signIn(idp, source));
    assert.equal(e.code, 'ERR_AUTH_FAILED');
    assert.match(e.message, /signature does not verify/);
    // No kid at all: the one published RSA key is tried, and fails.
    idp.next = { signing: { kind: 'key', key: forger, kid: null } };
    e = await failure(signIn(idp, source));
    assert.equal(e.code, 'ERR_AUTH_FAILED');
  });

  it('refuses alg "none" although discovery lists it', async () => {
    idp.next = { signing: { kind: 'none' } };
    const e = await failure(signIn(idp, sourceFor(idp)));
    assert.equal(e.code, 'ERR_AUTH_FAILED');
    assert.match(e.message, /"none"/);
  });

  it('refuses HS256 keyed with the client secret unless idTokenSigningAlgorithms lists it', async () => {
    idp.next = { signing: { kind: 'hs256' } };
    const e = await failure(signIn(idp, sourceFor(idp)));
    assert.equal(e.code, 'ERR_AUTH_FAILED');
    assert.match(e.message, /"HS256", which this source does not accept/);

    const hs = sourceFor(idp, { idTokenSigningAlgorithms: ['HS256'] });
    idp.next = { signing: { kind: 'hs256' } };
    assert.equal((await signIn(idp, hs)).identity.username, 'alice');
    // ... and then only HS256: the provider's RSA key no longer passes.
    const e2 = await failure(signIn(idp, hs));
    assert.match(e2.message, /"RS256", which this source does not accept/);
  });

  it('refuses "none" and HS* without a secret in the config', () => {
    assert.throws(() => oidcSourceSchema.parse({ kind: 'oidc', id: 'x', issuer: 'https://x.test', clientId: 'c', idTokenSigningAlgorithms: ['none'] }), /never accepted/);
    const { issues } = applyPreset(oidcSourceSchema.parse({ kind: 'oidc', id: 'x', issuer: 'https://x.test', clientId: 'c', idTokenSigningAlgorithms: ['HS256'] }));
    assert.deepEqual(issues.map((i) => i.path), ['idTokenSigningAlgorithms']);
  });

  it('refuses an iat far in the future, tolerating a small clock skew', async () => {
    const source = sourceFor(idp);
    idp.next = { iatOffset: 30 };
    assert.equal((await signIn(idp, source)).identity.username, 'alice');
    idp.next = { iatOffset: 3600 };
    const e = await failure(signIn(idp, source));
    assert.equal(e.code, 'ERR_AUTH_FAILED');
    assert.match(e.message, /issued in the future/);
  });

  it('follows a key rotation: an unknown kid fetches the JWKS again', async () => {
    const clock = { t: Date.now() };
    idp.now = () => clock.t;
    const source = sourceFor(idp, {}, clock);
    await signIn(idp, source);
    const ec = await idp.newKey('ES256');
    idp.published = [ec];
    idp.signing = { kind: 'key', key: ec };
    clock.t += 31_000;
    assert.equal((await signIn(idp, source)).identity.username, 'alice');
    assert.equal(idp.jwksRequests, 2);
  });

  it('a flood of unknown kids fetches the JWKS at most once per cooldown', async () => {
    const clock = { t: Date.now() };
    idp.now = () => clock.t;
    const source = sourceFor(idp, {}, clock);
    await signIn(idp, source);
    assert.equal(idp.jwksRequests, 1);
    const forger = await idp.newKey('RS256');
    for (let i = 0; i < 10; i++) {
      idp.next = { signing: { kind: 'key', key: forger, kid: `made-up-${i}` } };
      assert.equal((await failure(signIn(idp, source))).code, 'ERR_AUTH_FAILED');
    }
    assert.equal(idp.jwksRequests, 1, 'within the cooldown of the first fetch, no refetch');
    clock.t += 31_000;
    for (let i = 0; i < 10; i++) {
      idp.next = { signing: { kind: 'key', key: forger, kid: `made-up-again-${i}` } };
      await failure(signIn(idp, source));
    }
    assert.equal(idp.jwksRequests, 2);
    // A rotation right after the flood waits out the cooldown, then works.
    const next = await idp.newKey('RS256');
    idp.published = [next];
    idp.signing = { kind: 'key', key: next };
    await failure(signIn(idp, source));
    clock.t += 31_000;
    assert.equal((await signIn(idp, source)).identity.username, 'alice');
  });

  it('checks the ID token of a refresh too, and its subject', async () => {
    const source = sourceFor(idp);
    const first = await signIn(idp, source);
    assert.equal((await source.refresh!(first.state, ctx)).identity.username, 'alice');
    idp.next = { signing: { kind: 'key', key: await idp.newKey('RS256') } };
    assert.equal((await failure(source.refresh!(first.state, ctx))).code, 'ERR_AUTH_FAILED');
    idp.next = { signing: { kind: 'none' } };
    assert.equal((await failure(source.refresh!(first.state, ctx))).code, 'ERR_AUTH_FAILED');
    idp.next = { claims: { sub: 'someone-else' } };
    assert.match((await failure(source.refresh!(first.state, ctx))).message, /different subject/);
  });

  it('a JWKS that cannot be fetched is an outage, not a forged token', async () => {
    idp.jwksDown = true;
    const e = await failure(signIn(idp, sourceFor(idp)));
    assert.equal(e.code, 'ERR_SOURCE_UNAVAILABLE');
  });

  it('marks a session without a refresh token as not refreshable', async () => {
    const { canRefresh } = await import('../../../src/sources/oidc/index.js');
    const source = sourceFor(idp);
    assert.equal(canRefresh((await signIn(idp, source)).state), true);
    idp.next = { noRefreshToken: true };
    const r = await signIn(idp, source);
    assert.equal(r.state.refreshable, false);
    assert.equal(canRefresh(r.state), false);
  });
});
