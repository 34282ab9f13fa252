// OpenID Connect source on openid-client v6: discovery, authorization code flow with PKCE
// S256 + state + nonce, ID token validation (claims by openid-client, signature by id-token.ts),
// userinfo merge, refresh, RP-initiated logout.
import * as oidc from 'openid-client';
import { firstString, getPath, valueStrings } from '../../attributes.js';
import { GateError } from '../../errors.js';
import type { AttributeValue, Attributes, Identity } from '../../types.js';
import type { LookupHint, RedirectSource, SignInResult, SourceContext, SourceDeps, SourceState } from '../source.js';
import type { ResolvedOidcConfig } from './config.js';
import { type Discovered, discover } from './discovery.js';
import { enrichClaims } from './enrich.js';
import { createEntraLookup } from './entra-lookup.js';
import { describe, wrap } from './errors.js';

interface OidcState extends SourceState {
  idToken?: string;
  refreshToken?: string;
  accessToken?: string;
  claims: Attributes;
  /**
   * False when the provider issued no refresh token: the gateway must not call refresh() for
   * this session, which then lives to its idle/absolute lifetime (see canRefresh).
   */
  refreshable: boolean;
}

/**
 * Whether refresh() can work for a session's source state. An OIDC session without a refresh
 * token (authentik/Okta without offline_access) cannot be refreshed, and asking would only
 * end it; such a session applies group changes at the next sign-in.
 */
export function canRefresh(state: SourceState): boolean {
  // The token itself decides (sessions stored before `refreshable` existed have none of it).
  return typeof state.refreshToken === 'string' && state.refreshable !== false;
}

export function createOidcSource(cfg: ResolvedOidcConfig, deps: SourceDeps): RedirectSource {
  let configPromise: Promise<Discovered> | undefined;
  let resolved: oidc.Configuration | undefined;

  // Discovery is lazy and retried after a failure, so the gateway starts while the IdP is down.
  const configuration = (): Promise<Discovered> => {
    configPromise ??= (async () => {
      try {
        const d = await discover(cfg, deps);
        resolved = d.c;
        return d;
      } catch (err) {
        configPromise = undefined;
        if (err instanceof GateError) {
          const detail = { ...err.detail, source: cfg.id };
          throw new GateError(err.code, err.message, { cause: err.cause ?? err, detail });
        }
        throw new GateError('ERR_SOURCE_UNAVAILABLE', `OIDC discovery for ${cfg.issuer} failed: ${describe(err)}`, { cause: err, detail: { source: cfg.id } });
      }
    })();
    return configPromise;
  };

  const entraLookup =
    cfg.entra && cfg.clientSecret
      ? createEntraLookup({ configuration: async () => (await configuration()).c, cfg: cfg.entra, fetch: deps.fetch ?? globalThis.fetch, timeoutMs: cfg.timeout, now: deps.now ?? Date.now })
      : undefined;

  const identityFromAttributes = (claims: Attributes): Identity => {
    const username = firstString(getPath(claims, cfg.claims.username));
    if (!username) {
      throw new GateError(
        'ERR_SOURCE_CONFIG',
        `the ID token and userinfo have no "${cfg.claims.username}" claim for the user name; set claims.username on source "${cfg.id}" (e.g. "email") or release that claim at the identity provider`,
        { detail: { source: cfg.id, claim: cfg.claims.username } },
      );
    }
    const groups = new Set<string>();
    for (const path of cfg.claims.groups) for (const g of valueStrings(getPath(claims, path))) groups.add(g);
    const id: Identity = {
      sourceId: cfg.id,
      sourceKind: 'oidc',
      subject: firstString(claims.sub) ?? username,
      username,
      groups: [...groups],
      attributes: claims,
    };
    const email = firstString(getPath(claims, cfg.claims.email));
    const first = firstString(getPath(claims, cfg.claims.firstName));
    const last = firstString(getPath(claims, cfg.claims.lastName));
    if (email) id.email = email;
    if (first) id.firstName = first;
    if (last) id.lastName = last;
    return id;
  };

  // Claims from the ID token, overlaid with userinfo (same subject), then provider enrichment.
  const buildResult = async (
    d: Discovered,
    tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
    previous: OidcState | undefined,
    signal?: AbortSignal,
  ): Promise<SignInResult> => {
    const { c } = d;
    // openid-client checked iss, aud, exp, nonce and auth_time; the signature is ours to check,
    // for the ID token of a refresh as much as for the one of the sign-in.
    if (tokens.id_token) await d.verifyIdToken(tokens.id_token);
    const idClaims = tokens.claims() as Attributes | undefined;
    if (previous && idClaims && firstString(idClaims.sub) !== firstString(previous.claims.sub)) {
      // OIDC Core 12.2: a refreshed ID token must name the same subject.
      throw new GateError('ERR_AUTH_FAILED', 'the refreshed ID token names a different subject than the sign-in', { detail: { claim: 'sub' } });
    }
    let claims: Attributes = { ...(idClaims ?? previous?.claims ?? {}) };
    const sub = firstString(claims.sub);
    if (!sub) throw new GateError('ERR_AUTH_FAILED', 'the token response carries no ID token subject');
    if (cfg.userinfo && c.serverMetadata().userinfo_endpoint) {
      try {
        const info = (await oidc.fetchUserInfo(c, tokens.access_token, sub)) as Attributes;
        claims = { ...claims, ...info };
      } catch (err) {
        throw wrap(err, 'userinfo request failed');
      }
    }
    const input = { cfg, claims, accessToken: tokens.access_token, deps } as Parameters<typeof enrichClaims>[0];
    if (signal) input.signal = signal;
    if (d.tenantId) input.tenantId = d.tenantId;
    claims = await enrichClaims(input);
    const identity = identityFromAttributes(claims);
    const refreshToken = tokens.refresh_token ?? previous?.refreshToken;
    const state: OidcState = { claims: stripTokenNoise(claims), refreshable: refreshToken !== undefined };
    const idToken = tokens.id_token ?? previous?.idToken;
    if (idToken) state.idToken = idToken;
    if (refreshToken) state.refreshToken = refreshToken;
    state.accessToken = tokens.access_token;
    return { identity: { ...identity, attributes: state.claims }, state };
  };

  const source: RedirectSource = {
    id: cfg.id,
    kind: 'oidc',
    flow: 'redirect',
    displayName: cfg.displayName ?? cfg.id,
    identityFromAttributes,

    async beginSignIn(redirectUri, opts = {}) {
      const { c } = await configuration();
      const codeVerifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const url = oidc.buildAuthorizationUrl(c, {
        redirect_uri: redirectUri,
        scope: cfg.scopes.join(' '),
        code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
        code_challenge_method: 'S256',
        state,
        nonce,
        ...(opts.forceLogin ? { prompt: 'login' } : {}),
        ...(cfg.acrValues ? { acr_values: cfg.acrValues.join(' ') } : {}),
        ...(cfg.maxAge !== undefined ? { max_age: String(Math.ceil(cfg.maxAge / 1000)) } : {}),
      });
      return { authorizationUrl: url.href, pending: { codeVerifier, state, nonce } };
    },

    async completeSignIn(callbackUrl, pending, _redirectUri, ctx: SourceContext) {
      const d = await configuration();
      let tokens;
      try {
        const checks: oidc.AuthorizationCodeGrantChecks = {
          pkceCodeVerifier: String(pending.codeVerifier),
          expectedState: String(pending.state),
          expectedNonce: String(pending.nonce),
          idTokenExpected: true,
        };
        // With max_age sent, auth_time must be present and recent enough (OIDC Core 3.1.2.1).
        if (cfg.maxAge !== undefined) checks.maxAge = Math.ceil(cfg.maxAge / 1000);
        tokens = await oidc.authorizationCodeGrant(d.c, callbackUrl, checks);
      } catch (err) {
        throw wrap(err, 'sign-in response rejected');
      }
      return buildResult(d, tokens, undefined, ctx.signal);
    },

    refreshInterval: cfg.refreshInterval,
    // Providers issue refresh tokens only when asked right (authentik and Okta: offline_access).
    canRefresh,

    async refresh(raw, ctx) {
      const prev = raw as OidcState;
      if (!prev.refreshToken) {
        throw new GateError('ERR_AUTH_REJECTED', 'the identity provider issued no refresh token; sign in again', { detail: { source: cfg.id } });
      }
      const d = await configuration();
      let tokens;
      try {
        tokens = await oidc.refreshTokenGrant(d.c, prev.refreshToken);
      } catch (err) {
        throw wrap(err, 'refresh failed');
      }
      return buildResult(d, tokens, prev, ctx.signal);
    },

    ...(entraLookup
      ? {
          // Directory sync: presence by object id, with the app's own Graph token.
          async lookup(_username: string, ctx: SourceContext & { hint?: LookupHint }): Promise<'present'> {
            return entraLookup(ctx.hint?.oid ?? '', ctx.signal);
          },
        }
      : {}),

    endSessionUrl(raw, postLogoutRedirectUri) {
      // Synchronous for the gateway: discovery has run, since the user signed in through it.
      if (!cfg.endIdpSession || !resolved?.serverMetadata().end_session_endpoint) return undefined;
      const st = raw as OidcState;
      const params: Record<string, string> = { post_logout_redirect_uri: postLogoutRedirectUri, client_id: cfg.clientId };
      if (st.idToken) params.id_token_hint = st.idToken;
      return oidc.buildEndSessionUrl(resolved, params).href;
    },

    async close() {},
  };
  return source;
}

/**
 * Claims we keep in the session: drop JWT plumbing that only makes traces noisy. `acr` and
 * `amr` stay: they say how the user authenticated, and policy rules may require MFA by them.
 */
function stripTokenNoise(claims: Attributes): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(claims)) {
    if (['at_hash', 'c_hash', 'nonce', 'auth_time', 'iat', 'exp', 'nbf', 'jti', 'sid', 'azp'].includes(k)) continue;
    out[k] = v as AttributeValue;
  }
  return out;
}
