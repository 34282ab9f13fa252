// Runs a real OIDC-authenticating reverse proxy on loopback that sends oauth2-proxy's identity
// headers upstream: Apache httpd + mod_auth_openidc (scripts/deps/oauth2-proxy.sh says why not oauth2-proxy).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const APACHE = '/usr/sbin/apache2';
const MODULES = '/usr/lib/apache2/modules';

export interface HeaderProxyOptions {
  /** Port to listen on (127.0.0.1); must be known before the IdP client is registered. */
  port: number;
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Where authenticated requests go, e.g. http://127.0.0.1:1234 */
  upstreamUrl: string;
}

export interface HeaderProxy {
  url: string;
  redirectUri: string;
  /** The proxy's error log, for assertion messages. */
  log(): string;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bound, then released for the child to take). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

export function headerProxyAvailable(): boolean {
  return existsSync(APACHE) && existsSync(join(MODULES, 'mod_auth_openidc.so'));
}

export async function startHeaderProxy(opts: HeaderProxyOptions): Promise<HeaderProxy> {
  if (!headerProxyAvailable()) throw new Error('apache2 + mod_auth_openidc missing: run scripts/deps/oauth2-proxy.sh');
  const dir = mkdtempSync(join(tmpdir(), 'ngate-header-proxy-'));
  const url = `http://127.0.0.1:${opts.port}`;
  const redirectUri = `${url}/oauth2/callback`;
  const upstream = opts.upstreamUrl.replace(/\/+$/, '');
  const modules = ['mpm_event', 'authn_core', 'authz_core', 'authz_user', 'headers', 'proxy', 'proxy_http', 'auth_openidc'];
  // Every header is `set`, never `append`: whatever a client sent under these names is replaced,
  // as oauth2-proxy does. Array claims arrive comma-joined (OIDCClaimDelimiter), which is
  // oauth2-proxy's own X-Forwarded-Groups format after flattenHeaders.
  const conf = `
ServerRoot ${dir}
ServerName 127.0.0.1
Listen 127.0.0.1:${opts.port}
PidFile ${dir}/httpd.pid
ErrorLog ${dir}/error.log
LogLevel warn auth_openidc:${process.env.NGATE_PROXY_DEBUG ? "debug" : "info"}
${process.getuid?.() === 0 ? 'User nobody\nGroup nogroup' : ''}
${modules.map((m) => `LoadModule ${m}_module ${MODULES}/mod_${m}.so`).join('\n')}
OIDCProviderMetadataURL ${opts.issuer}/.well-known/openid-configuration
OIDCClientID ${opts.clientId}
OIDCClientSecret ${opts.clientSecret}
OIDCRedirectURI ${redirectUri}
OIDCCryptoPassphrase ${randomBytes(24).toString('hex')}
OIDCScope "openid email profile groups"
OIDCPKCEMethod S256
OIDCProviderTokenEndpointAuth client_secret_basic
OIDCRemoteUserClaim preferred_username
OIDCPassClaimsAs environment
OIDCClaimDelimiter ,
OIDCHTTPTimeoutLong 10
OIDCHTTPTimeoutShort 5
<Location />
  AuthType openid-connect
  Require valid-user
  RequestHeader set X-Forwarded-User "%{OIDC_CLAIM_sub}e"
  RequestHeader set X-Forwarded-Email "%{OIDC_CLAIM_email}e"
  RequestHeader set X-Forwarded-Preferred-Username "%{OIDC_CLAIM_preferred_username}e"
  RequestHeader set X-Forwarded-Groups "%{OIDC_CLAIM_groups}e"
</Location>
ProxyPass /oauth2/callback !
ProxyPass / ${upstream}/
ProxyPassReverse / ${upstream}/
`;
  writeFileSync(join(dir, 'httpd.conf'), conf);
  const child: ChildProcess = spawn(APACHE, ['-d', dir, '-f', join(dir, 'httpd.conf'), '-DFOREGROUND'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const log = (): string => {
    const f = join(dir, 'error.log');
    return output + (existsSync(f) ? readFileSync(f, 'utf8') : '');
  };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  // Ready when the port answers; give up after 15 s or when httpd exits (config error).
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) {
      const text = log();
      await stop();
      throw new Error(`apache2 exited (${child.exitCode}):\n${text}`);
    }
    try {
      await fetch(`${url}/`, { redirect: 'manual', signal: AbortSignal.timeout(1000) });
      break;
    } catch {
      if (Date.now() > deadline) {
        const text = log();
        await stop();
        throw new Error(`apache2 did not answer on ${url}:\n${text}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { url, redirectUri, log, stop };
}
