// Built-in demo OpenID provider (oidc-provider v9) for the quick start and end-to-end tests:
// code flow with PKCE, refresh with rotation, userinfo, RP-initiated logout, a tiny login page.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Account, type KoaContext } from 'oidc-provider';
// The library's own in-memory adapter; handing it over explicitly keeps the provider from
// printing its "development-only adapter" warning on every start.
import { createMemoryAdapter } from 'oidc-provider/lib/adapters/memory_adapter.js';

export interface DemoUser {
  username: string;
  password: string;
  email: string;
  givenName: string;
  familyName: string;
  groups: string[];
  /** How this user's sign-in counts (the ID token's `acr`, e.g. "mfa"); needs acrValues. */
  acr?: string;
  /** Authentication methods of this user's sign-in (the ID token's `amr`, e.g. ["pwd", "otp"]). */
  amr?: string[];
}

export interface DemoClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
}

export interface DemoIdpOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1; the demo is meant for loopback only. */
  host?: string;
  clients: DemoClient[];
  users?: DemoUser[];
  /** Seconds; default 600. */
  accessTokenTtl?: number;
  /** Seconds; default 600. */
  idTokenTtl?: number;
  /**
   * Mount the provider under this path, as products with per-application or per-server issuers
   * do: authentik `/application/o/<slug>/` (trailing slash part of the issuer), Okta custom
   * servers `/oauth2/<id>`. The issuer becomes origin + path and discovery sits at
   * `<issuer>/.well-known/openid-configuration`. Default: the bare origin.
   */
  issuerPath?: string;
  /**
   * Endpoint paths below the issuer (oidc-provider's `routes`), to advertise a product's own
   * shape, e.g. authentik's `{ end_session: '/end-session/' }`. Unset ones keep the library's.
   */
  routes?: Partial<Record<DemoRouteName, string>>;
  /**
   * The claims a user has, in the product's shape (its `sub` format, group filter, which name
   * fields exist). Default: sub = username, preferred_username, email, email_verified,
   * given_name, family_name, name, groups.
   */
  claimsFor?: (user: DemoUser) => Record<string, unknown>;
  /**
   * Which scope releases which claims (oidc-provider's `claims`); claims listed under `openid`
   * go out whatever the scope, like a claim set to "Include in: Any scope".
   */
  scopeClaims?: Record<string, string[]>;
  /** acr values the provider supports (discovery's acr_values_supported); without them no `acr` claim is issued. */
  acrValues?: string[];
  /**
   * Issue refresh tokens (default true). false behaves like authentik or Okta asked without
   * offline_access: sign-in works, but no refresh token is ever issued.
   */
  issueRefreshTokens?: boolean;
}

export type DemoRouteName = 'authorization' | 'token' | 'userinfo' | 'jwks' | 'end_session' | 'revocation';

export interface DemoIdp {
  issuer: string;
  /** The server's own origin; differs from the issuer when issuerPath is set. */
  origin: string;
  url: string;
  users: DemoUser[];
  /** Replaces a user's groups; seen by the next token issuance or refresh. */
  setGroups(username: string, groups: string[]): void;
  /** A disabled user cannot sign in, and refresh grants for them fail with invalid_grant. */
  setDisabled(username: string, disabled: boolean): void;
  stop(): Promise<void>;
}

export function defaultDemoUsers(): DemoUser[] {
  return [
    { username: 'alice', password: 'alice', email: 'alice@example.org', givenName: 'Alice', familyName: 'Admin', groups: ['netbox-admins', 'staff'] },
    { username: 'bob', password: 'bob', email: 'bob@example.org', givenName: 'Bob', familyName: 'Engineer', groups: ['network-engineers'] },
    { username: 'carol', password: 'carol', email: 'carol@example.org', givenName: 'Carol', familyName: 'Contractor', groups: ['contractors'] },
  ];
}

/** The claims the provider issues for a user by default (ID token and userinfo). */
export function demoClaims(u: DemoUser): { sub: string } & Record<string, unknown> {
  return {
    sub: u.username,
    preferred_username: u.username,
    email: u.email,
    email_verified: true,
    given_name: u.givenName,
    family_name: u.familyName,
    name: `${u.givenName} ${u.familyName}`,
    groups: [...u.groups],
  };
}

const LOGIN_BODY_LIMIT = 16 * 1024;
const BODY_TIMEOUT_MS = 10_000;

export async function startDemoIdp(opts: DemoIdpOptions): Promise<DemoIdp> {
  if (!Array.isArray(opts.clients) || opts.clients.length === 0) {
    throw new TypeError('startDemoIdp: at least one client is required');
  }
  const host = opts.host ?? '127.0.0.1';
  const mountPath = normaliseIssuerPath(opts.issuerPath);
  const users = (opts.users ?? defaultDemoUsers()).map((u) => ({ ...u, groups: [...u.groups] }));
  const disabled = new Set<string>();
  const userByName = (name: string): DemoUser | undefined => users.find((u) => u.username === name);
  const activeUser = (name: string): DemoUser | undefined => (disabled.has(name) ? undefined : userByName(name));

  // The issuer must be known before the provider exists, so bind first and attach the handler after.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server = createServer((req, res) => handler(req, res));
  server.listen(opts.port ?? 0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const issuer = origin + mountPath;
  // Requests under the mount are handed to the provider with the prefix removed and the full
  // URL in originalUrl, which is how oidc-provider learns where it is mounted.
  const mountPrefix = mountPath.replace(/\/+$/, '');

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const signingJwk = { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };

  const accessTokenTtl = opts.accessTokenTtl ?? 600;
  const idTokenTtl = opts.idTokenTtl ?? 600;

  const findAccount = (_ctx: unknown, sub: string): Account | undefined => {
    if (!activeUser(sub)) return undefined;
    return {
      accountId: sub,
      // Read the live table on every call so setGroups shows up at the next issuance or refresh.
      claims: () => {
        const u = activeUser(sub) ?? userByName(sub);
        if (!u) return { sub };
        if (opts.claimsFor) return { sub: u.username, ...opts.claimsFor(u) };
        return demoClaims(u);
      },
    };
  };

  const provider = new Provider(issuer, {
    adapter: createMemoryAdapter(),
    jwks: { keys: [signingJwk] },
    clients: opts.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      post_logout_redirect_uris: c.postLogoutRedirectUris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    cookies: { keys: [randomBytes(32).toString('base64url'), randomBytes(32).toString('base64url')] },
    claims: opts.scopeClaims ?? {
      // amr goes out only when the sign-in recorded methods (users with `amr`).
      openid: ['sub', 'amr'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name', 'given_name', 'family_name', 'groups'],
      groups: ['groups'],
    },
    ...(opts.routes ? { routes: opts.routes } : {}),
    ...(opts.acrValues ? { acrValues: opts.acrValues } : {}),
    // Scope-released claims go into the ID token too, so a gateway needs no userinfo round trip.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
    },
    responseTypes: ['code'],
    pkce: { required: () => true },
    findAccount,
    // First-party demo clients: consent is implied, so every requested scope/claim is granted here.
    loadExistingGrant: async (ctx: KoaContext) => {
      const { oidc } = ctx;
      const clientId = oidc.client?.clientId;
      const accountId = oidc.session?.accountId;
      if (!clientId || !accountId) return undefined;
      const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(clientId);
      const grant = (grantId ? await oidc.provider.Grant.find(grantId) : undefined) ?? new oidc.provider.Grant({ accountId, clientId });
      grant.addOIDCScope([...oidc.requestParamScopes].join(' '));
      if (oidc.requestParamClaims.size > 0) grant.addOIDCClaims([...oidc.requestParamClaims]);
      await grant.save();
      return grant;
    },
    // The default only issues refresh tokens with offline_access; the gateway always wants one.
    issueRefreshToken: async () => opts.issueRefreshTokens !== false,
    rotateRefreshToken: true,
    renderError,
    clientBasedCORS: () => false,
    ttl: {
      AccessToken: accessTokenTtl,
      AuthorizationCode: 60,
      IdToken: idTokenTtl,
      RefreshToken: 24 * 60 * 60,
      Interaction: 10 * 60,
      Session: 24 * 60 * 60,
      Grant: 24 * 60 * 60,
    },
  });
  const providerCallback = provider.callback();
  // Only the well-known default accounts are advertised on the page; custom ones stay private.
  const hint = opts.users ? '' : '<p><small>Demo users: alice / alice, bob / bob, carol / carol.</small></p>';

  handler = (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(\/login)?$/.exec(path);
    if (!match) {
      if (mountPrefix) {
        const url = req.url ?? '/';
        if (path !== mountPrefix && !path.startsWith(`${mountPrefix}/`)) {
          res.statusCode = 404;
          res.end();
          return;
        }
        (req as IncomingMessage & { originalUrl?: string }).originalUrl = url;
        req.url = url.slice(mountPrefix.length) || '/';
        if (req.url.startsWith('?')) req.url = `/${req.url}`;
      }
      providerCallback(req, res);
      return;
    }
    handleInteraction(provider, req, res, match[2] === '/login', activeUser, hint).catch((err: unknown) => {
      if (!res.headersSent) {
        const expired = err instanceof Error && err.name === 'SessionNotFound';
        sendHtml(res, expired ? 400 : 500, page('Sign-in failed', `<p role="alert">${expired ? 'This sign-in request has expired. Start again from the application.' : 'Something went wrong.'}</p>`));
      } else {
        res.destroy();
      }
    });
  };

  const requireUser = (username: string): DemoUser => {
    const u = userByName(username);
    if (!u) throw new TypeError(`demo IdP: no user named ${JSON.stringify(username)}`);
    return u;
  };

  return {
    issuer,
    origin,
    url: issuer,
    users,
    setGroups(username, groups) {
      requireUser(username).groups = [...groups];
    },
    setDisabled(username, value) {
      requireUser(username);
      if (value) disabled.add(username);
      else disabled.delete(username);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

async function handleInteraction(
  provider: Provider,
  req: IncomingMessage,
  res: ServerResponse,
  isLoginPost: boolean,
  activeUser: (name: string) => DemoUser | undefined,
  hint: string,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const action = `/interaction/${encodeURIComponent(details.uid)}/login`;

  if (details.prompt.name === 'consent') {
    // Normally unreachable (loadExistingGrant grants everything); kept so no request can stall here.
    const accountId = details.session?.accountId;
    const clientId = String(details.params.client_id ?? '');
    if (!accountId) throw new Error('consent prompt without a session');
    const grant = (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ?? new provider.Grant({ accountId, clientId });
    if (typeof details.params.scope === 'string') grant.addOIDCScope(details.params.scope);
    const missingClaims = details.prompt.details.missingOIDCClaims;
    if (Array.isArray(missingClaims)) grant.addOIDCClaims(missingClaims as string[]);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  if (req.method === 'GET' && !isLoginPost) {
    sendHtml(res, 200, loginPage(action, '', undefined, hint));
    return;
  }
  if (req.method !== 'POST' || !isLoginPost) {
    res.statusCode = 405;
    res.setHeader('Allow', isLoginPost ? 'POST' : 'GET');
    res.end();
    return;
  }

  const form = new URLSearchParams(await readBody(req));
  const username = form.get('username') ?? '';
  const password = form.get('password') ?? '';
  const user = activeUser(username);
  if (!user || !safeEqual(password, user.password)) {
    sendHtml(res, 401, loginPage(action, username, 'Invalid username or password', hint));
    return;
  }
  const login = { accountId: user.username, ...(user.acr ? { acr: user.acr } : {}), ...(user.amr ? { amr: [...user.amr] } : {}) };
  await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
}

/** '' for the default (origin) issuer; otherwise the path, checked to be a plain absolute one. */
function normaliseIssuerPath(p: string | undefined): string {
  if (p === undefined || p === '' || p === '/') return '';
  if (!/^(\/[A-Za-z0-9._~-]+)+\/?$/.test(p) || p.startsWith('/interaction/') || p === '/interaction') {
    throw new TypeError(`startDemoIdp: issuerPath must be an absolute path such as /oauth2/default, got ${JSON.stringify(p)}`);
  }
  return p;
}

function safeEqual(a: string, b: string): boolean {
  // Hash both sides so lengths match and the comparison time says nothing about the password.
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error('request body timed out'));
    }, BODY_TIMEOUT_MS);
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > LOGIN_BODY_LIMIT) {
        clearTimeout(timer);
        req.destroy();
        reject(new Error('request body too large'));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:3rem auto;padding:0 1rem}label{display:block;margin-top:1rem}input{width:100%;padding:.4rem;box-sizing:border-box}button{margin-top:1.2rem;padding:.5rem 1rem}[role=alert]{color:#a00}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>`;
}

function loginPage(action: string, username: string, error: string | undefined, hint: string): string {
  const alert = error ? `<p role="alert" id="login-error">${escapeHtml(error)}</p>` : '';
  const described = error ? ' aria-describedby="login-error" aria-invalid="true"' : '';
  return page(
    'Demo identity provider',
    `${alert}<form method="post" action="${escapeHtml(action)}" autocomplete="off">
<label for="username">Username</label>
<input id="username" name="username" type="text" required autofocus value="${escapeHtml(username)}"${described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" required${described}>
<button type="submit">Sign in</button>
</form>
${hint}`,
  );
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(html);
}

async function logoutSource(ctx: KoaContext, form: string): Promise<void> {
  // Always end the OP session (logout=yes); the script submits for the user, the button is the fallback.
  const withLogout = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/><button type="submit">Sign out</button></form>');
  ctx.type = 'html';
  ctx.body = page('Signing out', `${withLogout}<script>document.getElementById('op.logoutForm').submit()</script>`);
}

async function postLogoutSuccessSource(ctx: KoaContext): Promise<void> {
  ctx.type = 'html';
  ctx.body = page('Signed out', '<p>You are signed out of the demo identity provider.</p>');
}

async function renderError(ctx: KoaContext, out: Record<string, unknown>): Promise<void> {
  ctx.type = 'html';
  const rows = Object.entries(out)
    .map(([k, v]) => `<p><strong>${escapeHtml(k)}</strong>: ${escapeHtml(String(v))}</p>`)
    .join('');
  ctx.body = page('Error', rows);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'post-logout-redirect-uri': { type: 'string', multiple: true },
    },
    strict: true,
  });
  const port = Number(values.port);
  const clientId = values['client-id'];
  const clientSecret = values['client-secret'];
  const redirectUris = values['redirect-uri'] ?? [];
  if (!Number.isInteger(port) || port < 0 || port > 65535 || !clientId || !clientSecret || redirectUris.length === 0) {
    process.stderr.write(
      'usage: node build/demo/idp.js [--port N] [--host H] --client-id ID --client-secret S --redirect-uri U [--post-logout-redirect-uri U2]\n',
    );
    process.exit(2);
  }
  const idp = await startDemoIdp({
    port,
    host: values.host ?? '127.0.0.1',
    clients: [{ clientId, clientSecret, redirectUris, postLogoutRedirectUris: values['post-logout-redirect-uri'] ?? [] }],
  });
  process.stdout.write(`${JSON.stringify({ issuer: idp.issuer, users: idp.users.map((u) => u.username) })}\n`);
  const shutdown = (): void => {
    idp.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`demo IdP failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
