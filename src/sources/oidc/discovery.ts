// Discovery for the OIDC source: the issuer (for Entra with a domain tenant, resolved to the
// tenant's GUID issuer first), client authentication, and the ID token verifier on the JWKS.
// Only a network failure or a server error is an outage; anything else is configuration.
import * as oidc from 'openid-client';
import { GateError } from '../../errors.js';
import type { SourceDeps } from '../source.js';
import type { ResolvedOidcConfig } from './config.js';
import { isTenantGuid, resolveEntraIssuer } from './entra.js';
import { describe } from './errors.js';
import { type IdTokenVerifier, createIdTokenVerifier } from './id-token.js';

export interface Discovered {
  c: oidc.Configuration;
  verifyIdToken: IdTokenVerifier;
  /** Entra: the tenant GUID a domain tenantId resolved to. */
  tenantId?: string;
}

/** Throws GateError: ERR_SOURCE_UNAVAILABLE, or ERR_SOURCE_CONFIG for what the user must fix. */
export async function discover(cfg: ResolvedOidcConfig, deps: SourceDeps): Promise<Discovered> {
  const fetchFn = deps.fetch ?? globalThis.fetch;
  const now = deps.now ?? Date.now;
  let issuer = cfg.issuer;
  let tenantId: string | undefined;
  // A domain tenantId: Entra's discovery there names the GUID issuer that tokens carry.
  if (cfg.preset === 'entra' && cfg.entra && !isTenantGuid(cfg.entra.tenantId) && isDerivedEntraIssuer(cfg)) {
    ({ issuer, tenantId } = await resolveEntraIssuer(cfg.entra, fetchFn, cfg.timeout));
  }
  const options: oidc.DiscoveryRequestOptions = {};
  if (cfg.insecureAllowHttpIssuer) options.execute = [oidc.allowInsecureRequests];
  if (deps.fetch) options[oidc.customFetch] = deps.fetch as oidc.CustomFetch;
  const metadata: Partial<oidc.ClientMetadata> = {};
  if (cfg.clientSecret) metadata.client_secret = cfg.clientSecret;
  if (cfg.maxAge !== undefined) metadata.default_max_age = Math.ceil(cfg.maxAge / 1000);
  const auth = !cfg.clientSecret
    ? oidc.None()
    : cfg.tokenEndpointAuthMethod === 'client_secret_post'
      ? oidc.ClientSecretPost(cfg.clientSecret)
      : oidc.ClientSecretBasic(cfg.clientSecret); // percent-encodes id and secret (RFC 6749 2.3.1)
  let c: oidc.Configuration;
  try {
    c = await oidc.discovery(new URL(issuer), cfg.clientId, metadata, auth, { ...options, timeout: cfg.timeout / 1000 });
  } catch (err) {
    throw discoveryError(err, issuer);
  }
  c.timeout = cfg.timeout / 1000;
  const meta = c.serverMetadata();
  const verifierOpts: Parameters<typeof createIdTokenVerifier>[0] = {
    jwksUri: meta.jwks_uri,
    issuer: meta.issuer,
    clientId: cfg.clientId,
    algorithms: cfg.idTokenSigningAlgorithms,
    fetch: fetchFn,
    now,
    timeoutMs: cfg.timeout,
  };
  if (cfg.clientSecret) verifierOpts.clientSecret = cfg.clientSecret;
  if (meta.jwks_uri && !cfg.insecureAllowHttpIssuer && new URL(meta.jwks_uri).protocol !== 'https:') {
    throw new GateError('ERR_SOURCE_CONFIG', `the provider's jwks_uri ${meta.jwks_uri} is not https`);
  }
  const out: Discovered = { c, verifyIdToken: createIdTokenVerifier(verifierOpts) };
  if (tenantId) out.tenantId = tenantId;
  return out;
}

function isDerivedEntraIssuer(cfg: ResolvedOidcConfig): boolean {
  if (!cfg.entra) return false;
  return cfg.issuer === `${cfg.entra.loginUrl.replace(/\/+$/, '')}/${encodeURIComponent(cfg.entra.tenantId)}/v2.0`;
}

/**
 * Discovery failures: only a network failure or a server error is an outage; anything else (no
 * document there, another issuer named, not JSON) is a configuration the user must fix, and is
 * reported as such rather than as "cannot be reached".
 */
function discoveryError(err: unknown, issuer: string): GateError {
  const status = errorStatus(err);
  const what = `OIDC discovery at ${issuer}/.well-known/openid-configuration`;
  if (status === undefined ? isNetworkError(err) : status >= 500) {
    return new GateError('ERR_SOURCE_UNAVAILABLE', `${what} failed: ${describe(err)}`, { cause: err });
  }
  let c = err as { cause?: unknown; attribute?: unknown; body?: { issuer?: unknown } } | undefined;
  for (let i = 0; c && typeof c === 'object' && i < 4; i++, c = c.cause as typeof c) {
    if (c.attribute === 'issuer') {
      return new GateError(
        'ERR_SOURCE_CONFIG',
        `${what} names the issuer ${String(c.body?.issuer)}, not ${issuer}; set issuer (or the preset's block) to what the provider calls itself`,
        { cause: err },
      );
    }
  }
  if (status !== undefined) {
    return new GateError('ERR_SOURCE_CONFIG', `${what} answered HTTP ${status}; check the issuer (or the preset's block)`, { cause: err });
  }
  return new GateError('ERR_SOURCE_CONFIG', `${what} did not return a usable discovery document: ${describe(err)}`, { cause: err });
}

function errorStatus(err: unknown): number | undefined {
  if (err instanceof oidc.ResponseBodyError) return err.status;
  const cause = (err as { cause?: unknown })?.cause;
  if (cause instanceof Response) return cause.status;
  return undefined;
}

function isNetworkError(err: unknown): boolean {
  for (let e = err as { name?: string; cause?: unknown } | undefined, i = 0; e && i < 5; e = e.cause as typeof e, i++) {
    if (e.name === 'TypeError' || e.name === 'TimeoutError' || e.name === 'AbortError') return true;
    if ((e as { code?: string }).code === 'OAUTH_TIMEOUT') return true;
  }
  return false;
}
