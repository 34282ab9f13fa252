// Config of a trusted upstream proxy source (Pomerium, authentik outpost, oauth2-proxy): which
// peers may assert identity, how their assertion is verified, and which claims/headers map where.
import { z } from 'zod';
import { trustedBlockSchema } from '../../config/address-schema.js';
import { duration, httpUrl, sourceBase } from '../../config/common.js';

/** Header names as HTTP sends them; stored lower-case because node lower-cases incoming names. */
const headerName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'expected an HTTP header name such as X-Forwarded-User')
  .transform((s) => s.toLowerCase());

/** Signature algorithms we accept; `none` and HMAC are deliberately absent (a proxy signs with a key pair). */
export const JWT_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA'] as const;

const claimPath = z.string().min(1);
const claimPaths = z.union([claimPath.transform((p) => [p]), z.array(claimPath).min(1)]);

const jwtSchema = z
  .strictObject({
    /** The proxy's JWKS endpoint, e.g. https://netbox.example.org/.well-known/pomerium/jwks.json. */
    jwksUrl: httpUrl.optional(),
    /** A JWKS JSON file instead of a URL (air-gapped installs, pinned keys). */
    jwksFile: z.string().min(1).optional(),
    /** Expected `iss`; for authentik derived from authentik.url + slug when omitted. */
    issuer: z.string().min(1).optional(),
    /** Expected `aud` (Pomerium: the route's host name; authentik: the provider's client id). */
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    algorithms: z.array(z.enum(JWT_ALGORITHMS)).min(1).default(['ES256', 'RS256']),
    /** Slack for clocks that disagree between proxy and gateway; kept small on purpose. */
    clockTolerance: duration.prefault('30s'),
    /** Timeout of one JWKS fetch. */
    timeout: duration.prefault('5s'),
    /** How long fetched keys are used before they are fetched again. */
    cacheMaxAge: duration.prefault('10m'),
    /** Header carrying the assertion; defaults per mode. */
    header: headerName.optional(),
    /** Permit an http:// JWKS URL (local tests only). Named so it stands out in review. */
    insecureAllowHttpJwks: z.boolean().default(false),
  })
  .superRefine((j, ctx) => {
    if (j.jwksUrl !== undefined && j.jwksFile !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'set only one of jwksUrl or jwksFile' });
    }
    if (j.jwksUrl?.startsWith('http:') && !j.insecureAllowHttpJwks) {
      ctx.addIssue({ code: 'custom', path: ['jwksUrl'], message: 'must be https:// (set insecureAllowHttpJwks for a local test setup)' });
    }
  });

/** Header names for `mode: headers` (oauth2-proxy's defaults) and authentik's unsigned fallback. */
const headerNamesSchema = z.strictObject({
  user: headerName.optional(),
  email: headerName.optional(),
  preferredUsername: headerName.optional(),
  groups: headerName.optional(),
  name: headerName.optional(),
});

export const upstreamSourceSchema = z
  .strictObject({
    kind: z.literal('upstream'),
    ...sourceBase,
    mode: z.enum(['pomerium', 'authentik', 'headers']),
    /**
     * TCP peers (the proxy itself) whose assertions are believed. Compared with the socket's
     * address, never with X-Forwarded-For, which any client can write.
     */
    trustedAddresses: z.array(trustedBlockSchema).min(1, 'list the proxy addresses; an empty list would trust nobody'),
    jwt: jwtSchema.optional(),
    authentik: z.strictObject({ url: httpUrl, slug: z.string().regex(/^[A-Za-z0-9_-]+$/, 'an authentik application slug') }).optional(),
    headers: headerNamesSchema.optional(),
    /** Splits a groups header (oauth2-proxy joins one value per group with ","). */
    groupSeparator: z.string().min(1).optional(),
    /** Claim (or header attribute) paths; the first path with a value wins for single values. */
    claims: z
      .strictObject({
        username: claimPaths.optional(),
        email: claimPaths.optional(),
        name: claimPaths.optional(),
        groups: claimPaths.optional(),
      })
      .optional(),
    /**
     * authentik only: accept X-authentik-username/-email/-groups when the request has no
     * X-authentik-jwt. Anyone who can reach the gateway past the outpost can then claim any user.
     */
    insecureTrustUnsignedHeaders: z.boolean().default(false),
    /** Where sign-out sends the browser so the proxy ends its own session (oauth2-proxy: /oauth2/sign_out). */
    signOutUrl: z
      .string()
      .refine((s) => (s.startsWith('/') && !s.startsWith('//')) || /^https?:\/\//.test(s), 'a path such as /oauth2/sign_out or an http(s) URL')
      .optional(),
  })
  .superRefine((c, ctx) => {
    if (c.mode !== 'headers' && c.jwt === undefined && !(c.mode === 'authentik' && c.authentik)) {
      ctx.addIssue({ code: 'custom', path: ['jwt'], message: `mode "${c.mode}" verifies a signed assertion: set jwt (jwksUrl or jwksFile, issuer, audience)` });
    }
    if (c.jwt && c.jwt.jwksUrl === undefined && c.jwt.jwksFile === undefined && !(c.mode === 'authentik' && c.authentik)) {
      ctx.addIssue({ code: 'custom', path: ['jwt', 'jwksUrl'], message: 'set jwksUrl (or jwksFile) so the assertion signature can be checked' });
    }
    if (c.mode === 'authentik' && c.authentik?.url.startsWith('http:') && !c.jwt?.jwksUrl && !c.jwt?.jwksFile && !c.jwt?.insecureAllowHttpJwks) {
      ctx.addIssue({ code: 'custom', path: ['authentik', 'url'], message: 'must be https:// for the JWKS fetch (set jwt.insecureAllowHttpJwks for a local test setup)' });
    }
    if (c.mode === 'pomerium' && c.jwt && c.jwt.issuer === undefined) {
      ctx.addIssue({ code: 'custom', path: ['jwt', 'issuer'], message: 'Pomerium assertions carry the route or authenticate host as iss: set it' });
    }
    if (c.mode === 'authentik' && c.jwt?.issuer === undefined && !c.authentik) {
      ctx.addIssue({ code: 'custom', path: ['authentik'], message: 'set authentik.url and authentik.slug, or jwt.issuer' });
    }
    if (c.mode === 'authentik' && c.jwt === undefined) {
      ctx.addIssue({ code: 'custom', path: ['jwt', 'audience'], message: "authentik assertions must be checked against the provider's client id: set jwt.audience" });
    }
    if (c.insecureTrustUnsignedHeaders && c.mode !== 'authentik') {
      ctx.addIssue({ code: 'custom', path: ['insecureTrustUnsignedHeaders'], message: 'only meaningful for mode "authentik"' });
    }
    if (c.mode === 'headers' && c.jwt) {
      ctx.addIssue({ code: 'custom', path: ['jwt'], message: 'mode "headers" reads plain headers; use mode "pomerium" or "authentik" for signed assertions' });
    }
  });

export type UpstreamSourceInput = z.input<typeof upstreamSourceSchema>;
export type UpstreamSourceConfig = z.output<typeof upstreamSourceSchema>;
export type UpstreamMode = UpstreamSourceConfig['mode'];
