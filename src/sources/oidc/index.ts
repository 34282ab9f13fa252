// OpenID Connect source on openid-client v6: discovery, authorization code flow with PKCE
// S256 + state + nonce, ID token validation, userinfo merge, refresh, RP-initiated logout.
import * as oidc from 'openid-client';
import { firstString, getPath, valueStrings } from '../../attributes.js';
import { GateError } from '../../errors.js';
import type { AttributeValue, Attributes, Identity } from '../../types.js';
import type { RedirectSource, SignInResult, SourceContext, SourceDeps, SourceState } from '../source.js';
import type { ResolvedOidcConfig } from './config.js';
import { enrichClaims } from './enrich.js';

interface OidcState extends SourceState {
  idToken?: string;
  refreshToken?: string;
  accessToken?: string;
  claims: Attributes;
}

export function createOidcSource(cfg: ResolvedOidcConfig, deps: SourceDeps): RedirectSource {
  let configPromise: Promise<oidc.Configuration> | undefined;
  let resolved: oidc.Configuration | undefined;

  // Discovery is lazy and retried after a failure, so the gateway starts while the IdP is down.
  const configuration = (): Promise<oidc.Configuration> => {
    configPromise ??= (async () => {
      const options: oidc.DiscoveryRequestOptions = {};
      if (cfg.insecureAllowHttpIssuer) options.execute = [oidc.allowInsecureRequests];
      if (deps.fetch) options[oidc.customFetch] = deps.fetch as oidc.CustomFetch;
      const metadata: Partial<oidc.ClientMetadata> = {};
      if (cfg.clientSecret) metadata.client_secret = cfg.clientSecret;
      const auth = cfg.clientSecret ? oidc.ClientSecretBasic(cfg.clientSecret) : oidc.None();
      try {
        const c = await oidc.discovery(new URL(cfg.issuer), cfg.clientId, metadata, auth, { ...options, timeout: cfg.timeout / 1000 });
        c.timeout = cfg.timeout / 1000;
        resolved = c;
        return c;
      } catch (err) {
        configPromise = undefined;
        throw new GateError('ERR_SOURCE_UNAVAILABLE', `OIDC discovery for ${cfg.issuer} failed: ${describe(err)}`, {
          cause: err,
          detail: { source: cfg.id },
        });
      }
    })();
    return configPromise;
  };

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
    c: oidc.Configuration,
    tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
    previous: OidcState | undefined,
    signal?: AbortSignal,
  ): Promise<SignInResult> => {
    const idClaims = tokens.claims() as Attributes | undefined;
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
    claims = await enrichClaims(input);
    const identity = identityFromAttributes(claims);
    const state: OidcState = { claims: stripTokenNoise(claims) };
    const idToken = tokens.id_token ?? previous?.idToken;
    if (idToken) state.idToken = idToken;
    const refreshToken = tokens.refresh_token ?? previous?.refreshToken;
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
      const c = await configuration();
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
      });
      return { authorizationUrl: url.href, pending: { codeVerifier, state, nonce } };
    },

    async completeSignIn(callbackUrl, pending, _redirectUri, ctx: SourceContext) {
      const c = await configuration();
      let tokens;
      try {
        tokens = await oidc.authorizationCodeGrant(c, callbackUrl, {
          pkceCodeVerifier: String(pending.codeVerifier),
          expectedState: String(pending.state),
          expectedNonce: String(pending.nonce),
          idTokenExpected: true,
        });
      } catch (err) {
        throw wrap(err, 'sign-in response rejected');
      }
      return buildResult(c, tokens, undefined, ctx.signal);
    },

    refreshInterval: cfg.refreshInterval,
    // Providers issue refresh tokens only when asked right (authentik and Okta: offline_access).
    canRefresh: (raw) => typeof (raw as OidcState).refreshToken === 'string',

    async refresh(raw, ctx) {
      const prev = raw as OidcState;
      if (!prev.refreshToken) {
        throw new GateError('ERR_AUTH_REJECTED', 'the identity provider issued no refresh token; sign in again', { detail: { source: cfg.id } });
      }
      const c = await configuration();
      let tokens;
      try {
        tokens = await oidc.refreshTokenGrant(c, prev.refreshToken);
      } catch (err) {
        throw wrap(err, 'refresh failed');
      }
      return buildResult(c, tokens, prev, ctx.signal);
    },

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

/** Claims we keep in the session: drop JWT plumbing that only makes traces noisy. */
function stripTokenNoise(claims: Attributes): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(claims)) {
    if (['at_hash', 'c_hash', 'nonce', 'auth_time', 'iat', 'exp', 'nbf', 'jti', 'sid', 'azp', 'acr', 'amr'].includes(k)) continue;
    out[k] = v as AttributeValue;
  }
  return out;
}

function describe(err: unknown): string {
  if (err instanceof oidc.ResponseBodyError) return `${err.error}${err.error_description ? `: ${err.error_description}` : ''}`;
  if (err instanceof oidc.AuthorizationResponseError) return `${err.error}${err.error_description ? `: ${err.error_description}` : ''}`;
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? ` (${err.cause.message})` : '';
    return `${err.message}${cause}`;
  }
  return String(err);
}

function wrap(err: unknown, what: string): GateError {
  if (err instanceof GateError) return err;
  if (err instanceof oidc.ResponseBodyError && err.error === 'invalid_grant') {
    return new GateError('ERR_AUTH_REJECTED', `${what}: the identity provider revoked the grant (${describe(err)})`, { cause: err });
  }
  if (err instanceof oidc.AuthorizationResponseError) {
    return new GateError('ERR_AUTH_REJECTED', `${what}: ${describe(err)}`, { cause: err });
  }
  const e = err as { code?: string; name?: string };
  if (e?.name === 'TypeError' || e?.name === 'TimeoutError' || e?.name === 'AbortError' || e?.code === 'OAUTH_TIMEOUT') {
    return new GateError('ERR_SOURCE_UNAVAILABLE', `${what}: ${describe(err)}`, { cause: err });
  }
  return new GateError('ERR_AUTH_FAILED', `${what}: ${describe(err)}`, { cause: err });
}
