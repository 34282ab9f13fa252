// Runs the real oauth2-proxy (v7.6.0, built by scripts/deps/oauth2-proxy.sh) on loopback as an
// OIDC client of a test IdP, sending X-Forwarded-User/-Email/-Preferred-Username/-Groups upstream.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { httpOk, startDaemon } from './daemon.js';

export const OAUTH2_PROXY = process.env.OAUTH2_PROXY_BIN ?? `${process.env.NETBOX_GATE_BIN_DIR ?? '/var/cache/netbox-gate/bin'}/oauth2-proxy`;

export interface OAuth2ProxyOptions {
  /** Port to listen on (127.0.0.1); must be known before the IdP client is registered. */
  port: number;
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Where authenticated requests go, e.g. http://127.0.0.1:1234 */
  upstreamUrl: string;
}

export interface OAuth2Proxy {
  url: string;
  redirectUri: string;
  /** oauth2-proxy's own output (request and auth log lines), for assertion messages. */
  log(): string;
  stop(): Promise<void>;
}

export function oauth2ProxyAvailable(): boolean {
  return existsSync(OAUTH2_PROXY);
}

export async function startOAuth2Proxy(opts: OAuth2ProxyOptions): Promise<OAuth2Proxy> {
  if (!oauth2ProxyAvailable()) throw new Error(`${OAUTH2_PROXY} missing: run scripts/deps/oauth2-proxy.sh`);
  const url = `http://127.0.0.1:${opts.port}`;
  const redirectUri = `${url}/oauth2/callback`;
  // The settings an operator would use in front of netbox-gate (docs/oauth2-proxy.md), except
  // cookie-secure=false because the test speaks plain HTTP on loopback.
  const args = [
    '--provider=oidc',
    `--oidc-issuer-url=${opts.issuer}`,
    `--client-id=${opts.clientId}`,
    `--client-secret=${opts.clientSecret}`,
    `--redirect-url=${redirectUri}`,
    `--upstream=${opts.upstreamUrl.replace(/\/*$/, '/')}`,
    `--http-address=127.0.0.1:${opts.port}`,
    // 32 bytes: an AES-256 key for the session cookie.
    `--cookie-secret=${randomBytes(16).toString('hex')}`,
    '--cookie-secure=false',
    '--email-domain=*',
    '--scope=openid profile email groups',
    '--oidc-groups-claim=groups',
    '--code-challenge-method=S256',
    '--skip-provider-button=true',
    '--pass-user-headers=true',
    // Otherwise oauth2-proxy also sends "Authorization: Basic <user>:<fixed password>" upstream.
    '--pass-basic-auth=false',
    '--pass-host-header=true',
  ];
  // Ready when /ping answers; give up after 15 s or when it exits (bad flags, IdP discovery failed).
  const daemon = await startDaemon({
    name: 'oauth2-proxy',
    cmd: OAUTH2_PROXY,
    args,
    ready: httpOk(`${url}/ping`, 1000),
    timeoutMs: 15_000,
    pollMs: 100,
  });
  return { url, redirectUri, log: () => daemon.output(), stop: () => daemon.stop() };
}
