// The upstream proxy source against jose-signed assertions served by a swapped-in fetch: what a
// forged, expired or misaddressed assertion does, who may assert identity at all, header groups.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { isGateError } from '../../../src/errors.js';
import { upstreamSourceSchema, type UpstreamSourceInput } from '../../../src/sources/upstream/config.js';
import { createUpstreamSource } from '../../../src/sources/upstream/index.js';
import type { ProxySource } from '../../../src/sources/source.js';
import type { Logger } from '../../../src/types.js';
import { recordingLogger, type LogRecord } from '../../support/logger.js';
import { tempDirFor } from '../../support/temp.js';

const NOW = Date.parse('2026-03-01T12:00:00Z');
const ISSUER = 'netbox.example.org';
const AUDIENCE = 'netbox.example.org';
const JWKS_URL = 'https://netbox.example.org/.well-known/pomerium/jwks.json';
const PROXY = '10.1.2.3';
const CTX = { clientIp: '192.0.2.10' };

function recorder(): { logger: Logger; lines: LogRecord[] } {
  const logger = recordingLogger();
  return { logger, lines: logger.records };
}

let esKey: CryptoKey;
let esJwk: JWK;
let rsKey: CryptoKey;
let rsJwk: JWK;
let otherKey: CryptoKey;
let jwksFetches = 0;

const jwksFetch = (async (input: string | URL | Request) => {
  jwksFetches++;
  assert.equal(String(input), JWKS_URL);
  return new Response(JSON.stringify({ keys: [esJwk, rsJwk] }), { status: 200, headers: { 'content-type': 'application/json' } });
}) as typeof fetch;

before(async () => {
  const es = await generateKeyPair('ES256', { extractable: true });
  esKey = es.privateKey;
  esJwk = { ...(await exportJWK(es.publicKey)), kid: 'es-1', alg: 'ES256', use: 'sig' };
  const rs = await generateKeyPair('RS256', { extractable: true });
  rsKey = rs.privateKey;
  rsJwk = { ...(await exportJWK(rs.publicKey)), kid: 'rs-1', alg: 'RS256', use: 'sig' };
  ({ privateKey: otherKey } = await generateKeyPair('ES256', { extractable: true }));
});

const POMERIUM_CLAIMS = {
  sub: 'azure|0f2c',
  user: '0f2c-user-id',
  email: 'alice@example.org',
  name: 'Alice Admin',
  groups: ['62f8f72a-3e06-11ec-9bbc-0242ac130002', 'netbox-admins'],
};

async function sign(
  claims: JWTPayload = POMERIUM_CLAIMS,
  opts: { key?: CryptoKey; alg?: string; kid?: string; iss?: string; aud?: string; exp?: number; nbf?: number } = {},
): Promise<string> {
  const iat = Math.floor(NOW / 1000);
  const jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: opts.alg ?? 'ES256', kid: opts.kid ?? 'es-1', typ: 'JWT' })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(opts.exp ?? iat + 300);
  if (opts.nbf !== undefined) jwt.setNotBefore(opts.nbf);
  return jwt.sign(opts.key ?? esKey);
}

function pomerium(extra: Partial<UpstreamSourceInput> = {}): { source: ProxySource; lines: LogRecord[] } {
  const { logger, lines } = recorder();
  const cfg = upstreamSourceSchema.parse({
    kind: 'upstream',
    id: 'pomerium',
    mode: 'pomerium',
    trustedAddresses: ['10.1.2.0/24', 'fd00:1::/64'],
    jwt: { jwksUrl: JWKS_URL, issuer: ISSUER, audience: AUDIENCE },
    ...extra,
  });
  return { source: createUpstreamSource(cfg, { logger, fetch: jwksFetch, now: () => NOW }), lines };
}

const fromProxy = (headers: Record<string, string | string[]>, remoteAddress = PROXY) => ({ remoteAddress, headers });

function refusals(lines: LogRecord[]): unknown[] {
  return lines.filter((l) => l.obj.event === 'upstream_identity_refused').map((l) => l.obj.reason);
}

describe('pomerium mode', () => {
  it('accepts a valid ES256 assertion and maps email, subject, groups and name', async () => {
    const { source, lines } = pomerium();
    const r = await source.identify(fromProxy({ 'x-pomerium-jwt-assertion': await sign() }), CTX);
    assert.ok(r);
    assert.equal(r.identity.sourceKind, 'upstream');
    assert.equal(r.identity.username, 'alice@example.org');
    assert.equal(r.identity.email, 'alice@example.org');
    assert.equal(r.identity.subject, 'azure|0f2c');
    assert.deepEqual(r.identity.groups, POMERIUM_CLAIMS.groups);
    assert.equal(r.identity.firstName, 'Alice');
    assert.equal(r.identity.lastName, 'Admin');
    assert.equal(r.state.signed, true);
    assert.deepEqual(refusals(lines), []);
  });

  it('accepts RS256 too by default, and caches the JWKS', async () => {
    const { source } = pomerium();
    const before = jwksFetches;
    for (let i = 0; i < 3; i++) {
      const r = await source.identify(fromProxy({ 'x-pomerium-jwt-assertion': await sign(undefined, { alg: 'RS256', kid: 'rs-1', key: rsKey }) }), CTX);
      assert.equal(r?.identity.username, 'alice@example.org');
    }
    assert.equal(jwksFetches - before, 1);
  });

  it('refuses RS256 when only ES256 is allowed', async () => {
    const { source, lines } = pomerium({ jwt: { jwksUrl: JWKS_URL, issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'] } });
    const token = await sign(undefined, { alg: 'RS256', kid: 'rs-1', key: rsKey });
    assert.equal(await source.identify(fromProxy({ 'x-pomerium-jwt-assertion': token }), CTX), null);
    assert.deepEqual(refusals(lines), ['alg_not_allowed']);
  });

  const refusedCases: { name: string; reason: string; token: () => Promise<string> }[] = [
    { name: 'signed by another key under the same kid', reason: 'bad_signature', token: () => sign(undefined, { key: otherKey }) },
    { name: 'signed by another key under an unknown kid', reason: 'unknown_key', token: () => sign(undefined, { key: otherKey, kid: 'evil' }) },
    { name: 'expired beyond the clock tolerance', reason: 'expired', token: () => sign(undefined, { exp: Math.floor(NOW / 1000) - 31 }) },
    { name: 'for another audience', reason: 'wrong_audience', token: () => sign(undefined, { aud: 'grafana.example.org' }) },
    { name: 'from another issuer', reason: 'wrong_issuer', token: () => sign(undefined, { iss: 'evil.example.org' }) },
    { name: 'not valid yet', reason: 'not_yet_valid', token: () => sign(undefined, { nbf: Math.floor(NOW / 1000) + 600 }) },
    {
      name: 'unsigned (alg none)',
      reason: 'alg_not_allowed',
      token: async () => {
        const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        return `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...POMERIUM_CLAIMS, iss: ISSUER, aud: AUDIENCE, exp: Math.floor(NOW / 1000) + 300 })}.`;
      },
    },
    {
      name: 'with the payload edited after signing',
      reason: 'bad_signature',
      token: async () => {
        const [h, , s] = (await sign()).split('.');
        const forged = Buffer.from(JSON.stringify({ ...POMERIUM_CLAIMS, email: 'mallory@example.org', iss: ISSUER, aud: AUDIENCE, exp: Math.floor(NOW / 1000) + 300 })).toString('base64url');
        return `${h}.${forged}.${s}`;
      },
    },
    { name: 'garbage', reason: 'malformed', token: async () => 'not-a-jwt' },
  ];
  for (const c of refusedCases) {
    it(`refuses an assertion ${c.name} with reason ${c.reason}`, async () => {
      const { source, lines } = pomerium();
      assert.equal(await source.identify(fromProxy({ 'x-pomerium-jwt-assertion': await c.token() }), CTX), null);
      assert.deepEqual(refusals(lines), [c.reason]);
      assert.ok(!JSON.stringify(lines).includes('eyJ'), 'the assertion itself is never logged');
    });
  }

  it('accepts an assertion that expired within the clock tolerance', async () => {
    const { source } = pomerium();
    const r = await source.identify(fromProxy({ 'x-pomerium-jwt-assertion': await sign(undefined, { exp: Math.floor(NOW / 1000) - 10 }) }), CTX);
    assert.equal(r?.identity.username, 'alice@example.org');
  });

  it('refuses an assertion without exp', async () => {
    const { source, lines } = pomerium();
    const token = await new SignJWT(POMERIUM_CLAIMS).setProtectedHeader({ alg: 'ES256', kid: 'es-1' }).setIssuer(ISSUER).setAudience(AUDIENCE).sign(esKey);
    assert.equal(await source.identify(fromProxy({ 'x-pomerium-jwt-assertion': token }), CTX), null);
    assert.deepEqual(refusals(lines), ['missing_claim']);
  });

  it('returns no identity and logs missing_assertion when a trusted proxy sends none', async () => {
    const { source, lines } = pomerium();
    assert.equal(await source.identify(fromProxy({ 'x-pomerium-claim-email': 'alice@example.org' }), CTX), null);
    assert.deepEqual(refusals(lines), ['missing_assertion']);
  });

  it('ignores a valid assertion from an address outside trustedAddresses, without fetching keys', async () => {
    const { source, lines } = pomerium();
    const before = jwksFetches;
    const token = await sign();
    for (const addr of ['10.1.3.1', '127.0.0.1', '::ffff:10.1.3.1', 'fd00:2::1', 'not-an-ip', '']) {
      assert.equal(await source.identify(fromProxy({ 'x-pomerium-jwt-assertion': token, 'x-forwarded-for': PROXY }, addr), CTX), null, addr);
    }
    assert.equal(jwksFetches, before);
    assert.deepEqual(refusals(lines), []);
    assert.ok(lines.every((l) => l.obj.reason === 'untrusted_address'));
  });

  it('trusts IPv6 peers and IPv4-mapped IPv6 peers inside the configured blocks', async () => {
    const { source } = pomerium();
    const token = await sign();
    for (const addr of ['::ffff:10.1.2.3', 'fd00:1::99', 'fd00:1::99%eth0']) {
      const r = await source.identify(fromProxy({ 'x-pomerium-jwt-assertion': token }, addr), CTX);
      assert.equal(r?.identity.username, 'alice@example.org', addr);
    }
  });

  it('reports an unreachable JWKS as ERR_SOURCE_UNAVAILABLE rather than as signed-out', async () => {
    const { logger } = recorder();
    const cfg = upstreamSourceSchema.parse({
      kind: 'upstream',
      id: 'pomerium',
      mode: 'pomerium',
      trustedAddresses: [PROXY],
      jwt: { jwksUrl: JWKS_URL, issuer: ISSUER, audience: AUDIENCE },
    });
    const failing = (async () => {
      throw new TypeError('fetch failed');
    }) as typeof fetch;
    const source = createUpstreamSource(cfg, { logger, fetch: failing, now: () => NOW });
    await assert.rejects(source.identify(fromProxy({ 'x-pomerium-jwt-assertion': await sign() }), CTX), (e) => isGateError(e, 'ERR_SOURCE_UNAVAILABLE'));
  });

  it('reads keys from a JWKS file', async (t) => {
    const dir = await tempDirFor(t, 'netbox-gate-jwks-');
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [esJwk] }));
    const { logger } = recorder();
    const cfg = upstreamSourceSchema.parse({
      kind: 'upstream',
      id: 'pomerium',
      mode: 'pomerium',
      trustedAddresses: [PROXY],
      jwt: { jwksFile: file, issuer: ISSUER, audience: AUDIENCE },
    });
    const source = createUpstreamSource(cfg, { logger, now: () => NOW });
    const r = await source.identify(fromProxy({ 'x-pomerium-jwt-assertion': await sign() }), CTX);
    assert.equal(r?.identity.username, 'alice@example.org');
  });

  it('identityFromAttributes gives the same identity as a verified request', async () => {
    const { source } = pomerium();
    const r = await source.identify(fromProxy({ 'x-pomerium-jwt-assertion': await sign() }), CTX);
    assert.ok(r);
    assert.deepEqual(source.identityFromAttributes(r.identity.attributes), r.identity);
  });
});

describe('authentik mode', () => {
  const AK = 'https://authentik.example.org';
  const AK_ISS = `${AK}/application/o/netbox/`;
  const akFetch = (async (input: string | URL | Request) => {
    assert.equal(String(input), `${AK_ISS}jwks/`);
    return Response.json({ keys: [rsJwk] });
  }) as typeof fetch;
  const akClaims = { sub: 'ak-sub-1', preferred_username: 'bob', email: 'bob@example.org', name: 'Bob Engineer', groups: ['network|engineers', 'authentik Admins'] };

  function authentik(extra: Partial<UpstreamSourceInput> = {}): { source: ProxySource; lines: LogRecord[] } {
    const { logger, lines } = recorder();
    const cfg = upstreamSourceSchema.parse({
      kind: 'upstream',
      id: 'authentik',
      mode: 'authentik',
      trustedAddresses: ['10.1.2.3/32'],
      authentik: { url: AK, slug: 'netbox' },
      jwt: { audience: 'netbox-client-id' },
      ...extra,
    });
    return { source: createUpstreamSource(cfg, { logger, fetch: akFetch, now: () => NOW }), lines };
  }
  const unsigned = { 'x-authentik-username': 'mallory', 'x-authentik-email': 'm@example.org', 'x-authentik-groups': 'admins|netbox-admins' };

  it('verifies X-authentik-jwt against /application/o/<slug>/ and keeps array groups whole', async () => {
    const { source } = authentik();
    const token = await sign(akClaims, { alg: 'RS256', kid: 'rs-1', key: rsKey, iss: AK_ISS, aud: 'netbox-client-id' });
    const r = await source.identify(fromProxy({ 'x-authentik-jwt': token, ...unsigned }), CTX);
    assert.equal(r?.identity.username, 'bob');
    assert.deepEqual(r?.identity.groups, ['network|engineers', 'authentik Admins']);
  });

  it('refuses an assertion for another application slug', async () => {
    const { source, lines } = authentik();
    const token = await sign(akClaims, { alg: 'RS256', kid: 'rs-1', key: rsKey, iss: `${AK}/application/o/grafana/`, aud: 'netbox-client-id' });
    assert.equal(await source.identify(fromProxy({ 'x-authentik-jwt': token }), CTX), null);
    assert.deepEqual(refusals(lines), ['wrong_issuer']);
  });

  it('ignores unsigned X-authentik-* headers unless insecureTrustUnsignedHeaders is set', async () => {
    const { source, lines } = authentik();
    assert.equal(await source.identify(fromProxy(unsigned), CTX), null);
    assert.deepEqual(refusals(lines), ['missing_assertion']);
  });

  it('with insecureTrustUnsignedHeaders, maps the headers and splits groups on "|"', async () => {
    const { source } = authentik({ insecureTrustUnsignedHeaders: true });
    const r = await source.identify(fromProxy(unsigned), CTX);
    assert.equal(r?.identity.username, 'mallory');
    assert.deepEqual(r?.identity.groups, ['admins', 'netbox-admins']);
    assert.equal(r?.state.signed, false);
    // A present but invalid assertion is never overridden by the unsigned headers.
    const bad = await sign(akClaims, { alg: 'RS256', kid: 'rs-1', key: rsKey, iss: AK_ISS, aud: 'other' });
    assert.equal(await source.identify(fromProxy({ ...unsigned, 'x-authentik-jwt': bad }), CTX), null);
  });
});

describe('headers mode (oauth2-proxy)', () => {
  function headers(extra: Partial<UpstreamSourceInput> = {}): { source: ProxySource; lines: LogRecord[] } {
    const { logger, lines } = recorder();
    const cfg = upstreamSourceSchema.parse({ kind: 'upstream', id: 'oauth2-proxy', mode: 'headers', trustedAddresses: ['127.0.0.1'], ...extra });
    return { source: createUpstreamSource(cfg, { logger }), lines };
  }

  it('collects groups from every header instance and from comma-joined values', async () => {
    const { source } = headers();
    const r = await source.identify(
      fromProxy(
        {
          'x-forwarded-user': 'c0ffee-sub',
          'x-forwarded-email': 'carol@example.org',
          'x-forwarded-preferred-username': 'carol',
          // node joins repeated unknown headers with ", "; oauth2-proxy itself joins with ",".
          'x-forwarded-groups': 'netbox-admins,network-engineers, staff',
        },
        '127.0.0.1',
      ),
      CTX,
    );
    assert.equal(r?.identity.username, 'carol');
    assert.equal(r?.identity.subject, 'c0ffee-sub');
    assert.equal(r?.identity.email, 'carol@example.org');
    assert.deepEqual(r?.identity.groups, ['netbox-admins', 'network-engineers', 'staff']);

    const arr = await source.identify(
      fromProxy({ 'x-forwarded-user': 'carol@example.org', 'x-forwarded-groups': ['a', 'b,c', ''] }, '::ffff:127.0.0.1'),
      CTX,
    );
    assert.equal(arr?.identity.username, 'carol@example.org');
    assert.deepEqual(arr?.identity.groups, ['a', 'b', 'c']);
  });

  it('honours configured header names and username claim', async () => {
    const { source } = headers({ headers: { user: 'X-Auth-Request-User', groups: 'X-Auth-Request-Groups' }, claims: { username: 'user' } });
    const r = await source.identify(fromProxy({ 'x-auth-request-user': 'dave', 'x-auth-request-groups': 'g1,g2', 'x-forwarded-user': 'eve' }, '127.0.0.1'), CTX);
    assert.equal(r?.identity.username, 'dave');
    assert.deepEqual(r?.identity.groups, ['g1', 'g2']);
  });

  it('ignores the same headers from an untrusted peer, whatever X-Forwarded-For says', async () => {
    const { source, lines } = headers();
    const r = await source.identify(
      fromProxy({ 'x-forwarded-user': 'admin', 'x-forwarded-groups': 'netbox-admins', 'x-forwarded-for': '127.0.0.1' }, '127.0.0.2'),
      CTX,
    );
    assert.equal(r, null);
    assert.deepEqual(
      lines.map((l) => l.obj.reason),
      ['untrusted_address'],
    );
  });

  it('returns no identity when the trusted proxy sends no user headers', async () => {
    const { source, lines } = headers();
    assert.equal(await source.identify(fromProxy({ 'x-forwarded-groups': 'netbox-admins' }, '127.0.0.1'), CTX), null);
    assert.deepEqual(refusals(lines), ['missing_headers']);
  });

  it('identityFromAttributes splits header values the same way', () => {
    const { source } = headers();
    const id = source.identityFromAttributes({ user: 'frank', email: 'frank@example.org', groups: 'a, b,c' });
    assert.equal(id.username, 'frank');
    assert.deepEqual(id.groups, ['a', 'b', 'c']);
  });
});

describe('config', () => {
  const base = { kind: 'upstream', id: 'p', trustedAddresses: ['10.0.0.1'] };
  const issues = (input: unknown): string[] => {
    const r = upstreamSourceSchema.safeParse(input);
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it('rejects bad CIDRs, /0 and empty trust lists', () => {
    assert.ok(issues({ ...base, mode: 'headers', trustedAddresses: ['10.0.0.0/33'] }).some((m) => m.startsWith('trustedAddresses.0')));
    assert.ok(issues({ ...base, mode: 'headers', trustedAddresses: ['0.0.0.0/0'] }).some((m) => m.includes('/0')));
    assert.ok(issues({ ...base, mode: 'headers', trustedAddresses: [] }).length > 0);
    assert.ok(issues({ ...base, mode: 'headers', trustedAddresses: ['example.org'] }).length > 0);
    assert.deepEqual(issues({ ...base, mode: 'headers', trustedAddresses: ['10.0.0.0/8', '::1', 'fd00::/8'] }), []);
  });

  it('requires signature settings for pomerium and refuses alg none and HMAC', () => {
    assert.ok(issues({ ...base, mode: 'pomerium' }).some((m) => m.startsWith('jwt')));
    assert.ok(issues({ ...base, mode: 'pomerium', jwt: { jwksUrl: JWKS_URL, audience: AUDIENCE } }).some((m) => m.startsWith('jwt.issuer')));
    assert.ok(issues({ ...base, mode: 'pomerium', jwt: { jwksUrl: 'http://x/jwks', issuer: 'i', audience: 'a' } }).some((m) => m.includes('https')));
    for (const alg of ['none', 'HS256']) {
      assert.ok(issues({ ...base, mode: 'pomerium', jwt: { jwksUrl: JWKS_URL, issuer: 'i', audience: 'a', algorithms: [alg] } }).length > 0, alg);
    }
  });

  it('allows unsigned headers only by the named switch in authentik mode', () => {
    assert.ok(issues({ ...base, mode: 'headers', insecureTrustUnsignedHeaders: true }).some((m) => m.startsWith('insecureTrustUnsignedHeaders')));
  });
});
