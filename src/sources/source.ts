// The one interface every identity source implements. Sources know nothing of the policy,
// NetBox or HTTP serving: they turn credentials or a redirect into an Identity.
import type { IncomingHttpHeaders } from 'node:http';
import type { SourceMetrics } from '../metrics/hooks.js';
import type { Attributes, Identity, Logger, SourceKind } from '../types.js';

/** Source-private state kept in the gateway session (tokens, DN...). Must be JSON-serialisable. */
export type SourceState = Record<string, unknown>;

export interface SignInResult {
  identity: Identity;
  /** Kept in the session and handed back to refresh()/endSession(). */
  state: SourceState;
}

export interface SourceContext {
  /** The client's address as the gateway determined it (trusted proxies applied). */
  clientIp: string;
  signal?: AbortSignal;
}

/** What the gateway recorded at the user's last sign-in, for sources that look users up by id. */
export interface LookupHint {
  /** Entra ID's object id (the `oid` claim). */
  oid?: string;
}

export interface SessionInfo {
  sessionId: string;
  identity: Identity;
  state: SourceState;
  startedAt: number;
  clientIp: string;
}

/**
 * Why a gateway session ended. `stale`: the source could not be asked for longer than
 * sessions.maxStale, so the gateway could no longer vouch for the user.
 */
export type SessionEndCause = 'logout' | 'expired' | 'revoked' | 'denied' | 'stale';

export interface SourceDeps {
  logger: Logger;
  /** Swappable in tests; defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Milliseconds since the epoch; swappable in tests. */
  now?: () => number;
  /** AAA latency, timeouts and failovers, Graph throttling; absent when metrics are off. */
  metrics?: SourceMetrics;
}

interface SourceBase {
  readonly id: string;
  readonly kind: SourceKind;
  readonly displayName: string;
  /**
   * Pure: the Identity this source would produce from these attributes (claims, RADIUS
   * attributes, AV pairs, LDAP entry). Sign-in and `netbox-gate explain` both go through it,
   * so what explain prints is what sign-in decides.
   */
  identityFromAttributes(attrs: Attributes): Identity;
  /**
   * Optional: look the user up again (refresh token, LDAP search, Graph) so group changes and
   * revocations take effect without a new sign-in. Throws GateError ERR_AUTH_REJECTED when the
   * user is no longer valid; ERR_SOURCE_UNAVAILABLE when the source cannot be asked now.
   */
  refresh?(state: SourceState, ctx: SourceContext): Promise<SignInResult>;
  /**
   * Optional: look a user up by the name this source knows, without the user (directory sync:
   * LDAP search, TACACS+ authorization). Resolves to what a sign-in would give, or 'present'
   * when the source can only say the user exists and is enabled (Entra ID: app roles and token
   * claims cannot be rebuilt, so groups are not compared); throws GateError
   * ERR_AUTH_REJECTED when the user is gone or disabled, ERR_SOURCE_UNAVAILABLE when the source
   * cannot be asked now.
   */
  lookup?(username: string, ctx: SourceContext & { hint?: LookupHint }): Promise<SignInResult | 'present'>;
  /** How often the gateway calls refresh() for a session; set exactly when refresh() exists. */
  readonly refreshInterval?: number;
  /**
   * Whether this session's state can be refreshed at all (an OIDC provider that issued no
   * refresh token). False: the session lives to its idle/absolute lifetime and group changes
   * apply only at the next sign-in. Absent means true.
   */
  canRefresh?(state: SourceState): boolean;
  onSessionStart?(session: SessionInfo): Promise<void>;
  onSessionEnd?(session: SessionInfo, cause: SessionEndCause): Promise<void>;
  close(): Promise<void>;
}

/** Username + password checked by the source (RADIUS, TACACS+, LDAP). */
export interface PasswordSource extends SourceBase {
  readonly flow: 'password';
  /** Throws GateError ERR_AUTH_REJECTED for bad credentials, ERR_SOURCE_UNAVAILABLE when no server answers. */
  authenticate(username: string, password: string, ctx: SourceContext): Promise<SignInResult>;
}

/** Browser redirect to an identity provider and back (OIDC). */
export interface RedirectSource extends SourceBase {
  readonly flow: 'redirect';
  /** `forceLogin` asks the IdP to show its login form even with an IdP session (prompt=login). */
  beginSignIn(redirectUri: string, opts?: { forceLogin?: boolean }): Promise<{ authorizationUrl: string; pending: SourceState }>;
  completeSignIn(callbackUrl: URL, pending: SourceState, redirectUri: string, ctx: SourceContext): Promise<SignInResult>;
  /** Where to send the browser to end the IdP session, if the provider supports it. */
  endSessionUrl?(state: SourceState, postLogoutRedirectUri: string): string | undefined;
}

/** Identity asserted by a trusted proxy in front of the gateway (oauth2-proxy, Pomerium, authentik outpost). */
export interface ProxySource extends SourceBase {
  readonly flow: 'proxy';
  /** null when the request carries no identity for this source or comes from an untrusted address. */
  identify(req: { remoteAddress: string; headers: IncomingHttpHeaders }, ctx: SourceContext): Promise<SignInResult | null>;
  /** The proxy's own sign-out URL (e.g. oauth2-proxy's /oauth2/sign_out), where sign-out ends. */
  readonly signOutUrl?: string;
}

export type Source = PasswordSource | RedirectSource | ProxySource;
