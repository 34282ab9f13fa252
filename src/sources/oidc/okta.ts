// Okta specifics: the org authorization server (`https://<domain>`) or a custom one
// (`https://<domain>/oauth2/<id>`, `default` included), each with its own issuer.
import type { OidcSourceConfig } from './config.js';

type OktaBlock = NonNullable<OidcSourceConfig['okta']>;

/** Accepts `dev-123.okta.com` or `https://dev-123.okta.com`; anything else is an issue on okta.domain. */
export function oktaIssuer(o: Pick<OktaBlock, 'domain' | 'authorizationServer'>): string | { issue: { path: string; message: string } } {
  const raw = /^https?:\/\//i.test(o.domain) ? o.domain : `https://${o.domain}`;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { issue: { path: 'okta.domain', message: `"${o.domain}" is not a host name such as dev-123456.okta.com` } };
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    return {
      issue: {
        path: 'okta.domain',
        message: `give only the Okta host ("${url.host}"); a custom authorization server goes in okta.authorizationServer (e.g. "default")`,
      },
    };
  }
  const base = `${url.protocol}//${url.host}`;
  if (o.authorizationServer === undefined) return base;
  if (!/^[A-Za-z0-9]+$/.test(o.authorizationServer)) {
    return { issue: { path: 'okta.authorizationServer', message: 'expected an authorization server id such as "default" or "aus1a2b3c4D5e6F7g8h9"' } };
  }
  return `${base}/oauth2/${o.authorizationServer}`;
}
