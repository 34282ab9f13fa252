// authentik specifics: the per-application issuer and end-session URL. Groups need no custom
// scope: authentik's default "profile" scope mapping already lists the user's group names.
import type { OidcSourceConfig } from './config.js';

type AuthentikBlock = NonNullable<OidcSourceConfig['authentik']>;

/** `<url>/application/o/<slug>/`, trailing slash included: authentik's `iss` has it. */
export function authentikIssuer(a: Pick<AuthentikBlock, 'url' | 'slug'>): string {
  return `${a.url.replace(/\/+$/, '')}/application/o/${encodeURIComponent(a.slug)}/`;
}

/**
 * Where authentik ends the user's session for this application. The source takes it from
 * discovery (end_session_endpoint); this is for docs, `check` output and tests.
 */
export function authentikEndSessionUrl(a: Pick<AuthentikBlock, 'url' | 'slug'>): string {
  return `${authentikIssuer(a)}end-session/`;
}
