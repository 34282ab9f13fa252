// Trusted upstream proxy source: identity asserted by Pomerium (signed JWT), an authentik outpost
// (signed JWT, unsigned headers only when explicitly allowed) or oauth2-proxy (plain headers).
import type { IncomingHttpHeaders } from 'node:http';
import type { Attributes } from '../../types.js';
import type { ProxySource, SignInResult, SourceContext, SourceDeps } from '../source.js';
import type { UpstreamSourceConfig } from './config.js';
import { attributesFromHeaders, identityFromAttributes, resolveMapping } from './identity.js';
import { compileTrust } from './trust.js';
import { createAssertionVerifier, type AssertionRefusal, type AssertionVerifier } from './verify.js';

export type { UpstreamSourceConfig, UpstreamSourceInput } from './config.js';

/** Why identify() returned null; logged with every refusal so an operator can tell the cases apart. */
export type UpstreamRefusal = AssertionRefusal | 'missing_assertion' | 'missing_headers';

const DISPLAY_NAMES = { pomerium: 'Pomerium', authentik: 'authentik', headers: 'oauth2-proxy' } as const;

export function createUpstreamSource(cfg: UpstreamSourceConfig, deps: SourceDeps): ProxySource {
  const log = deps.logger;
  const mapping = resolveMapping(cfg);
  const isTrusted = compileTrust(cfg.trustedAddresses);
  const verify: AssertionVerifier | undefined = buildVerifier(cfg, deps);

  const toResult = (attrs: Attributes, signed: boolean, exp?: number): SignInResult => {
    const identity = identityFromAttributes(cfg.id, mapping, attrs);
    const state: SignInResult['state'] = { mode: cfg.mode, signed };
    if (exp !== undefined) state.assertionExpiresAt = exp * 1000;
    return { identity, state };
  };

  const refuse = (reason: UpstreamRefusal, remoteAddress: string, message: string): null => {
    // One line per refused request; the assertion itself is a bearer credential and never logged.
    log.warn({ event: 'upstream_identity_refused', reason, remoteAddress, mode: cfg.mode }, message);
    return null;
  };

  const identityHeaders = [mapping.assertionHeader, mapping.headers.user, mapping.headers.email, mapping.headers.preferredUsername].filter(
    (h): h is string => !!h,
  );

  return {
    id: cfg.id,
    kind: 'upstream',
    flow: 'proxy',
    displayName: cfg.displayName ?? DISPLAY_NAMES[cfg.mode],
    ...(cfg.signOutUrl ? { signOutUrl: cfg.signOutUrl } : {}),

    identityFromAttributes: (attrs) => identityFromAttributes(cfg.id, mapping, attrs),

    async identify(req: { remoteAddress: string; headers: IncomingHttpHeaders }, _ctx: SourceContext): Promise<SignInResult | null> {
      if (!isTrusted(req.remoteAddress)) {
        // Headers from anyone else are ignored entirely, but someone sending them around the
        // proxy is worth a line in the log.
        if (identityHeaders.some((h) => req.headers[h] !== undefined)) {
          log.warn(
            { event: 'upstream_identity_ignored', reason: 'untrusted_address', remoteAddress: req.remoteAddress, mode: cfg.mode },
            'identity headers from an address not in trustedAddresses were ignored',
          );
        }
        return null;
      }

      if (cfg.mode === 'headers') {
        const attrs = attributesFromHeaders(mapping, req.headers);
        if (!attrs) return refuse('missing_headers', req.remoteAddress, `no ${mapping.headers.user} / ${mapping.headers.email} header from the proxy`);
        return toResult(attrs, false);
      }

      const raw = req.headers[mapping.assertionHeader!];
      const token = Array.isArray(raw) ? undefined : raw?.trim();
      if (token) {
        const result = await verify!(token);
        if (!result.ok) return refuse(result.reason, req.remoteAddress, `${mapping.assertionHeader} refused: ${result.message}`);
        return toResult(result.claims as Attributes, true, result.claims.exp);
      }
      if (Array.isArray(raw)) return refuse('malformed', req.remoteAddress, `more than one ${mapping.assertionHeader} header`);

      if (cfg.mode === 'authentik' && cfg.insecureTrustUnsignedHeaders) {
        const attrs = attributesFromHeaders(mapping, req.headers);
        if (attrs) {
          log.debug({ event: 'upstream_unsigned_identity', remoteAddress: req.remoteAddress }, 'unsigned authentik headers accepted (insecureTrustUnsignedHeaders)');
          return toResult(attrs, false);
        }
      }
      return refuse('missing_assertion', req.remoteAddress, `no ${mapping.assertionHeader} header from the proxy`);
    },

    async close() {},
  };
}

function buildVerifier(cfg: UpstreamSourceConfig, deps: SourceDeps): AssertionVerifier | undefined {
  if (cfg.mode === 'headers') return undefined;
  const j = cfg.jwt;
  if (!j) throw new TypeError(`ERR_INVALID_ARG_VALUE: source ${cfg.id} (mode ${cfg.mode}) needs jwt settings`);
  const base = cfg.authentik ? `${cfg.authentik.url.replace(/\/+$/, '')}/application/o/${cfg.authentik.slug}/` : undefined;
  const issuer = j.issuer ?? base;
  if (issuer === undefined) throw new TypeError(`ERR_INVALID_ARG_VALUE: source ${cfg.id} needs jwt.issuer`);
  const opts = {
    issuer,
    audience: j.audience,
    algorithms: j.algorithms,
    clockTolerance: j.clockTolerance,
    timeout: j.timeout,
    cacheMaxAge: j.cacheMaxAge,
  };
  if (j.jwksFile !== undefined) return createAssertionVerifier({ ...opts, jwksFile: j.jwksFile }, deps, cfg.id);
  const jwksUrl = j.jwksUrl ?? (base ? `${base}jwks/` : undefined);
  return createAssertionVerifier({ ...opts, jwksUrl }, deps, cfg.id);
}
