// A stand-in for Microsoft Entra ID (login.microsoftonline.com, v2.0 endpoints) and the slice of
// Microsoft Graph we call, because Microsoft's service cannot be reached from the test machines.
//
// It follows Microsoft's documented wire formats: the v2.0 discovery document, answered at the
// tenant-GUID authority and at each verified domain's authority (both naming the GUID issuer,
// AADSTS90002 for an unknown tenant); a JWKS whose keys carry kid, x5t and an x5c certificate
// chain but no `alg`; RS256 ID tokens with tid/oid/groups or the groups-overage claims
// (_claim_names/_claim_sources, hasgroups); the token endpoint for code (PKCE S256) and refresh
// grants, with the client secret in the form body or in HTTP Basic (form-urlencoded, RFC 6749
// 2.3.1) and AADSTS-style errors; Graph's /v1.0/me/transitiveMemberOf directoryObject collection
// with @odata.type, $select, $top (max 999; pages may hold fewer), @odata.nextLink that keeps the
// request's query as sent and adds an opaque $skiptoken, "limited information" for objects the
// token may not read, 429 with Retry-After, and Graph's { error: { code, message } } bodies. It
// answers web Requests, so unit tests can call `standin.fetch` without a socket; `listen()` serves
// the same on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate, createHash, createPrivateKey, createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, type JWK, SignJWT, importPKCS8 } from 'jose';

export interface StandinUser {
  oid: string;
  name: string;
  preferredUsername: string;
  email?: string;
  givenName?: string;
  familyName?: string;
  /** App roles assigned to the user for this app (the `roles` claim). */
  roles?: string[];
  /** Graph's accountEnabled (default true); a disabled account cannot sign in. */
  accountEnabled?: boolean;
}

type ObjectType = 'group' | 'directoryRole' | 'administrativeUnit';
interface Container {
  id: string;
  type: ObjectType;
  displayName: string;
  members: Set<string>;
}

export interface EntraStandinOptions {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** Delegated Graph permissions the app registration holds with admin consent. */
  graphPermissions?: string[];
  /** The app's token configuration: groups claim of security groups, or none. */
  groupClaims?: 'SecurityGroup' | 'None';
  /** Above this many groups a JWT carries the overage claims instead (Microsoft: 200). */
  groupsClaimLimit?: number;
  /** Verified domains of the tenant; discovery answers at their authority too. */
  domains?: string[];
  /**
   * false: take HTTP Basic credentials verbatim, without form-urldecoding them, as Entra has been
   * reported to do; a secret with "~" (sent as %7E) then fails with client_secret_basic.
   */
  decodeBasicCredentials?: boolean;
}

export type TokenAuthMethod = 'client_secret_basic' | 'client_secret_post';

const GROUP_READERS = ['GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All', 'Directory.ReadWrite.All'];
const MEMBEROF_READERS = ['User.Read', 'User.Read.All', ...GROUP_READERS];

export class EntraStandin {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  graphPermissions: string[];
  groupClaims: 'SecurityGroup' | 'None';
  groupsClaimLimit: number;
  readonly domains: string[];
  decodeBasicCredentials: boolean;
  /** How the client authenticated at each token request, in order. */
  readonly tokenAuthMethods: TokenAuthMethod[] = [];
  /** Every discovery request path, in order. */
  readonly discoveryRequests: string[] = [];
  /** Base URL; set by listen(), or a fixed fake origin when only `fetch` is used. */
  url = 'https://login.standin.invalid';
  /** Every Graph request (path + query) in order, for assertions. */
  readonly graphRequests: string[] = [];
  readonly tokenGrants: string[] = [];
  /** Application permissions granted (with admin consent) to the app's client-credentials tokens. */
  appPermissions: string[] = ['User.Read.All'];

  private readonly users = new Map<string, StandinUser>();
  private readonly containers = new Map<string, Container>();
  private readonly codes = new Map<string, { oid: string; redirectUri: string; challenge: string; nonce?: string; scope: string; exp: number }>();
  private readonly refreshTokens = new Map<string, { oid: string; scope: string }>();
  private readonly accessTokens = new Map<string, { oid: string; scp: string[]; exp: number }>();
  private readonly redirectUris = new Set<string>();
  private throttles: { status: number; retryAfter?: string }[] = [];
  private signedIn: string | undefined;
  private key!: CryptoKey;
  private jwk!: JWK;
  /** Opaque $skiptoken -> offset, as Graph's tokens mean nothing to the client. */
  private readonly skipTokens = new Map<string, number>();
  private server: Server | undefined;

  constructor(opts: EntraStandinOptions = {}) {
    this.tenantId = opts.tenantId ?? randomUUID();
    this.clientId = opts.clientId ?? randomUUID();
    this.clientSecret = opts.clientSecret ?? randomBytes(24).toString('base64url');
    this.graphPermissions = opts.graphPermissions ?? ['User.Read'];
    this.groupClaims = opts.groupClaims ?? 'SecurityGroup';
    this.groupsClaimLimit = opts.groupsClaimLimit ?? 200;
    this.domains = (opts.domains ?? ['contoso.onmicrosoft.com']).map((d) => d.toLowerCase());
    this.decodeBasicCredentials = opts.decodeBasicCredentials ?? true;
  }

  static async create(opts: EntraStandinOptions = {}): Promise<EntraStandin> {
    const s = new EntraStandin(opts);
    // Entra publishes each signing key with its self-signed certificate: kid and x5t are the
    // certificate's SHA-1 thumbprint, x5c the certificate, and there is no `alg` member.
    const dir = mkdtempSync(join(tmpdir(), 'entra-standin-'));
    let pem: string;
    try {
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=accounts.accesscontrol.windows.net'],
        { stdio: 'ignore' },
      );
      pem = readFileSync(join(dir, 'key.pem'), 'utf8') + readFileSync(join(dir, 'cert.pem'), 'utf8');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const keyPem = /-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----/.exec(pem)?.[0];
    const certPem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
    if (!keyPem || !certPem) throw new Error('entra stand-in: openssl did not print a key and certificate');
    const cert = new X509Certificate(certPem);
    const x5t = createHash('sha1').update(cert.raw).digest('base64url');
    s.key = await importPKCS8(createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'pem' }).toString(), 'RS256');
    const { n, e } = createPublicKey(certPem).export({ format: 'jwk' });
    s.jwk = { kty: 'RSA', use: 'sig', kid: x5t, x5t, n, e, x5c: [cert.raw.toString('base64')], cloud_instance_name: 'microsoftonline.com' } as JWK;
    return s;
  }

  get issuer(): string {
    return `${this.url}/${this.tenantId}/v2.0`;
  }
  /** Graph lives on the same origin here; the source's entra.graphUrl points at it. */
  get graphUrl(): string {
    return this.url;
  }

  // ---- directory --------------------------------------------------------------------------

  addUser(u: Omit<StandinUser, 'oid'> & { oid?: string }): StandinUser {
    const user = { ...u, oid: u.oid ?? randomUUID() };
    this.users.set(user.oid, user);
    return user;
  }
  /** Disables or enables the account (Graph accountEnabled), as an administrator does in Entra. */
  setAccountEnabled(oid: string, enabled: boolean): void {
    const u = this.users.get(oid);
    if (!u) throw new Error(`no user ${oid}`);
    u.accountEnabled = enabled;
  }

  addGroup(displayName: string, members: string[] = [], id: string = randomUUID()): string {
    return this.addContainer('group', displayName, members, id);
  }
  addDirectoryRole(displayName: string, members: string[] = []): string {
    return this.addContainer('directoryRole', displayName, members, randomUUID());
  }
  addAdministrativeUnit(displayName: string, members: string[] = []): string {
    return this.addContainer('administrativeUnit', displayName, members, randomUUID());
  }
  addMember(containerId: string, memberId: string): void {
    this.container(containerId).members.add(memberId);
  }
  removeMember(containerId: string, memberId: string): void {
    this.container(containerId).members.delete(memberId);
  }
  registerRedirectUri(uri: string): void {
    this.redirectUris.add(uri);
  }
  /** The user the authorize endpoint signs in without a prompt (there is no login page). */
  signInAs(oid: string): void {
    this.signedIn = oid;
  }
  /** The next `count` Graph requests answer `status` with this Retry-After (seconds or omitted). */
  throttle(count: number, retryAfter: string | undefined, status = 429): void {
    for (let i = 0; i < count; i++) this.throttles.push(retryAfter === undefined ? { status } : { status, retryAfter });
  }
  /** Transitive memberships of an object, Graph order: breadth-first from the direct ones. */
  transitiveMemberOf(objectId: string): Container[] {
    const parents = new Map<string, Container[]>();
    for (const c of this.containers.values()) {
      for (const m of c.members) {
        const list = parents.get(m);
        if (list) list.push(c);
        else parents.set(m, [c]);
      }
    }
    const out: Container[] = [];
    const seen = new Set<string>();
    let frontier = [objectId];
    while (frontier.length > 0) {
      const next: string[] = [];
      for (const m of frontier) {
        for (const c of parents.get(m) ?? []) {
          if (seen.has(c.id)) continue;
          seen.add(c.id);
          out.push(c);
          // Only groups nest; a role or unit holding a group does not make its parents ours.
          if (c.type === 'group') next.push(c.id);
        }
      }
      frontier = next;
    }
    return out;
  }

  /** An access token for Graph, as the token endpoint would issue it (for tests of Graph alone). */
  mintAccessToken(oid: string, scopes: string[]): string {
    const token = randomBytes(32).toString('base64url');
    this.accessTokens.set(token, { oid, scp: scopes, exp: Date.now() + 3_600_000 });
    return token;
  }

  /** ID token claims as Entra would put them for this user and app (before signing). */
  idTokenClaims(oid: string, nonce?: string): Record<string, unknown> {
    const u = this.users.get(oid);
    if (!u) throw new Error(`no user ${oid}`);
    const claims: Record<string, unknown> = {
      ver: '2.0',
      tid: this.tenantId,
      oid: u.oid,
      sub: this.pairwiseSub(u.oid),
      name: u.name,
      preferred_username: u.preferredUsername,
      uti: randomBytes(16).toString('base64url'),
    };
    if (u.email) claims.email = u.email;
    if (nonce !== undefined) claims.nonce = nonce;
    if (u.roles && u.roles.length > 0) claims.roles = [...u.roles];
    if (this.groupClaims === 'SecurityGroup') {
      const groups = this.transitiveMemberOf(oid).filter((c) => c.type === 'group').map((c) => c.id);
      if (groups.length > this.groupsClaimLimit) {
        claims._claim_names = { groups: 'src1' };
        claims._claim_sources = { src1: { endpoint: `https://graph.windows.net/${this.tenantId}/users/${oid}/getMemberObjects` } };
      } else {
        claims.groups = groups;
      }
    }
    return claims;
  }

  async signIdToken(claims: Record<string, unknown>): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.jwk.kid! })
      .setIssuer(this.issuer)
      .setAudience(this.clientId)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + 3600)
      .sign(this.key);
  }

  // ---- serving ----------------------------------------------------------------------------

  /** A fetch that answers from this stand-in without a socket (for unit tests). */
  readonly fetch: typeof fetch = async (input, init) => this.handle(new Request(input, init));

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.serveNode(req, res);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  async handle(req: Request): Promise<Response> {
    const u = new URL(req.url);
    const p = u.pathname;
    const t = `/${this.tenantId}`;
    const disco = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(p);
    if (req.method === 'GET' && disco) {
      this.discoveryRequests.push(p);
      // The GUID authority and every verified domain's authority name the GUID issuer.
      const tenant = decodeURIComponent(disco[1]!).toLowerCase();
      if (tenant === this.tenantId || this.domains.includes(tenant)) return json(200, this.discovery());
      return json(400, {
        ...aadsts('invalid_tenant', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`),
        error_uri: `${this.url}/error?code=90002`,
      });
    }
    if (req.method === 'GET' && p === `${t}/discovery/v2.0/keys`) return json(200, { keys: [{ ...this.jwk, issuer: this.issuer }] });
    if (req.method === 'GET' && p === `${t}/oauth2/v2.0/authorize`) return this.authorize(u);
    if (req.method === 'POST' && p === `${t}/oauth2/v2.0/token`) return this.token(req);
    if (req.method === 'GET' && p === '/oidc/userinfo') return this.userinfo(req);
    if (req.method === 'GET' && p === '/v1.0/me/transitiveMemberOf') return this.memberOf(req, u);
    const userPath = /^\/v1\.0\/users\/([^/]+)$/.exec(p);
    if (req.method === 'GET' && userPath) return this.graphUser(req, u, decodeURIComponent(userPath[1]!));
    if (p.startsWith('/v1.0/')) return graphError(404, 'Request_ResourceNotFound', `Resource not found for the segment '${p}'.`);
    return json(404, { error: 'not_found' });
  }

  private discovery(): Record<string, unknown> {
    const t = `${this.url}/${this.tenantId}`;
    return {
      token_endpoint: `${t}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${t}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: this.issuer,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${this.url}/oidc/userinfo`,
      authorization_endpoint: `${t}/oauth2/v2.0/authorize`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${t}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'acr', 'nonce', 'preferred_username', 'name', 'tid', 'ver', 'at_hash', 'c_hash', 'email'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      msgraph_host: new URL(this.url).host,
    };
  }

  private authorize(u: URL): Response {
    const q = u.searchParams;
    const redirectUri = q.get('redirect_uri') ?? '';
    if (q.get('client_id') !== this.clientId) return json(400, aadsts('unauthorized_client', 700016, 'Application not found in the directory.'));
    if (!this.redirectUris.has(redirectUri)) return json(400, aadsts('invalid_request', 50011, 'The redirect URI does not match the redirect URIs configured for the application.'));
    const back = new URL(redirectUri);
    const state = q.get('state');
    if (state !== null) back.searchParams.set('state', state);
    const fail = (error: string, code: number, text: string) => {
      back.searchParams.set('error', error);
      back.searchParams.set('error_description', `AADSTS${code}: ${text}`);
      return new Response(null, { status: 302, headers: { location: back.href } });
    };
    if (q.get('response_type') !== 'code') return fail('unsupported_response_type', 700054, 'response_type is not enabled for the application.');
    if (!(q.get('scope') ?? '').split(' ').includes('openid')) return fail('invalid_scope', 70011, 'The openid scope is required.');
    if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return fail('invalid_request', 501491, 'PKCE S256 required by this stand-in.');
    if (!this.signedIn || !this.users.has(this.signedIn)) return fail('access_denied', 50058, 'No user is signed in.');
    const code = randomBytes(32).toString('base64url');
    const entry = { oid: this.signedIn, redirectUri, challenge: q.get('code_challenge')!, scope: q.get('scope')!, exp: Date.now() + 600_000 } as {
      oid: string; redirectUri: string; challenge: string; nonce?: string; scope: string; exp: number;
    };
    const nonce = q.get('nonce');
    if (nonce !== null) entry.nonce = nonce;
    this.codes.set(code, entry);
    back.searchParams.set('code', code);
    back.searchParams.set('session_state', randomUUID());
    return new Response(null, { status: 302, headers: { location: back.href } });
  }

  private async token(req: Request): Promise<Response> {
    const form = new URLSearchParams(await req.text());
    let id = form.get('client_id');
    let secret = form.get('client_secret');
    const basic = /^Basic (.+)$/i.exec(req.headers.get('authorization') ?? '');
    if (basic && secret !== null) {
      return json(401, aadsts('invalid_request', 7000218, 'Only one client authentication method may be used.'));
    }
    if (basic) {
      // RFC 6749 2.3.1: client id and secret are form-urlencoded before Basic encoding.
      const raw = Buffer.from(basic[1]!, 'base64').toString();
      const colon = raw.indexOf(':');
      const decode = (v: string) => (this.decodeBasicCredentials ? decodeURIComponent(v.replace(/\+/g, ' ')) : v);
      id = decode(colon < 0 ? raw : raw.slice(0, colon));
      secret = decode(colon < 0 ? '' : raw.slice(colon + 1));
      this.tokenAuthMethods.push('client_secret_basic');
    } else if (secret !== null) {
      this.tokenAuthMethods.push('client_secret_post');
    }
    if (id !== this.clientId) return json(400, aadsts('unauthorized_client', 700016, 'Application not found in the directory.'));
    if (secret !== this.clientSecret) return json(401, aadsts('invalid_client', 7000215, 'Invalid client secret provided.'));
    const grant = form.get('grant_type');
    this.tokenGrants.push(grant ?? '');
    if (grant === 'authorization_code') {
      const c = this.codes.get(form.get('code') ?? '');
      this.codes.delete(form.get('code') ?? '');
      if (!c || c.exp < Date.now()) return json(400, aadsts('invalid_grant', 70008, 'The provided authorization code or refresh token has expired or was already used.'));
      if (c.redirectUri !== form.get('redirect_uri')) return json(400, aadsts('invalid_grant', 500112, 'The reply address does not match.'));
      const verifier = form.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== c.challenge) {
        return json(400, aadsts('invalid_grant', 501481, 'The Code_Verifier does not match the code_challenge supplied in the authorization request.'));
      }
      return json(200, await this.tokensFor(c.oid, c.scope, c.nonce));
    }
    if (grant === 'client_credentials') {
      // The app's own token (application permissions): scope must be the resource's /.default.
      const scope = form.get('scope') ?? '';
      if (scope !== `${this.graphUrl}/.default`) return json(400, aadsts('invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`));
      const token = randomBytes(32).toString('base64url');
      this.accessTokens.set(token, { oid: APP_OID, scp: [...this.appPermissions], exp: Date.now() + 3_600_000 });
      return json(200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: token });
    }
    if (grant === 'refresh_token') {
      const r = this.refreshTokens.get(form.get('refresh_token') ?? '');
      if (!r || !this.users.has(r.oid)) return json(400, aadsts('invalid_grant', 50173, 'The provided grant has expired due to it being revoked.'));
      return json(200, await this.tokensFor(r.oid, r.scope));
    }
    return json(400, aadsts('unsupported_grant_type', 70003, 'The app requested an unsupported grant type.'));
  }

  /** Deleting a user revokes their refresh tokens, as disabling an account does at Entra. */
  deleteUser(oid: string): void {
    this.users.delete(oid);
  }

  private async tokensFor(oid: string, scope: string, nonce?: string): Promise<Record<string, unknown>> {
    const requested = scope.split(' ').filter(Boolean);
    // Graph permissions arrive in the token only if the app holds them with consent.
    const scp = new Set(['openid', 'profile', 'email'].filter((s) => requested.includes(s)));
    for (const s of requested) {
      const perm = s.startsWith(`${this.graphUrl}/`) ? s.slice(this.graphUrl.length + 1) : s;
      if (this.graphPermissions.includes(perm)) scp.add(perm);
    }
    const access = this.mintAccessToken(oid, [...scp]);
    const out: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: [...scp].join(' '),
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: access,
      id_token: await this.signIdToken(this.idTokenClaims(oid, nonce)),
    };
    if (requested.includes('offline_access')) {
      const rt = randomBytes(48).toString('base64url');
      this.refreshTokens.set(rt, { oid, scope });
      out.refresh_token = rt;
    }
    return out;
  }

  private bearer(req: Request): { oid: string; scp: string[] } | undefined {
    const m = /^Bearer (.+)$/.exec(req.headers.get('authorization') ?? '');
    const t = m ? this.accessTokens.get(m[1]!) : undefined;
    return t && t.exp > Date.now() ? t : undefined;
  }

  private userinfo(req: Request): Response {
    const t = this.bearer(req);
    const u = t && this.users.get(t.oid);
    if (!t || !u || !t.scp.includes('openid')) return graphError(401, 'InvalidAuthenticationToken', 'Access token validation failure.');
    const out: Record<string, unknown> = { sub: this.pairwiseSub(u.oid), name: u.name };
    if (u.givenName) out.given_name = u.givenName;
    if (u.familyName) out.family_name = u.familyName;
    if (u.email) out.email = u.email;
    return json(200, out);
  }

  /** GET /v1.0/users/{id | userPrincipalName}: needs an app token with User.Read.All. */
  private graphUser(req: Request, u: URL, key: string): Response {
    this.graphRequests.push(`${u.pathname}${u.search}`);
    const t = this.bearer(req);
    if (!t) return graphError(401, 'InvalidAuthenticationToken', 'Access token validation failure.');
    if (t.oid !== APP_OID || !t.scp.includes('User.Read.All')) return graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    const user = this.users.get(key) ?? [...this.users.values()].find((x) => x.preferredUsername.toLowerCase() === key.toLowerCase());
    if (!user) return graphError(404, 'Request_ResourceNotFound', `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`);
    return json(200, { '@odata.context': `${this.graphUrl}/v1.0/$metadata#users(id,accountEnabled)/$entity`, id: user.oid, userPrincipalName: user.preferredUsername, accountEnabled: user.accountEnabled !== false });
  }

  private memberOf(req: Request, u: URL): Response {
    this.graphRequests.push(`${u.pathname}${u.search}`);
    const throttled = this.throttles.shift();
    if (throttled) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (throttled.retryAfter !== undefined) headers['retry-after'] = throttled.retryAfter;
      const code = throttled.status === 429 ? 'TooManyRequests' : 'serviceNotAvailable';
      return new Response(JSON.stringify({ error: { code, message: 'Too many requests. Please try again later.' } }), { status: throttled.status, headers });
    }
    const t = this.bearer(req);
    if (!t) return graphError(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.');
    if (!t.scp.some((s) => MEMBEROF_READERS.includes(s))) {
      return graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
    }
    const q = u.searchParams;
    const top = Math.min(Number(q.get('$top') ?? '100') || 100, 999);
    const token = q.get('$skiptoken');
    const skip = token === null ? 0 : this.skipTokens.get(token);
    if (skip === undefined) return graphError(400, 'Directory_ExpiredPageToken', 'The specified page token value has expired and can no longer be included in your request.');
    // Graph may return fewer objects than $top on any page (never more): vary it, so a client
    // that counts on full pages shows up here.
    const size = Math.max(1, top - [0, 7, 3][Math.floor(skip / Math.max(top, 1)) % 3]!);
    const select = q.get('$select')?.split(',').map((s) => s.trim());
    // Without a group read permission Graph still lists the objects, but only id and type.
    const limited = !t.scp.some((s) => GROUP_READERS.includes(s));
    const all = this.transitiveMemberOf(t.oid);
    const page = all.slice(skip, skip + size).map((c) => {
      const full: Record<string, unknown> = { id: c.id, displayName: limited ? null : c.displayName };
      if (c.type === 'group') Object.assign(full, { securityEnabled: limited ? null : true, mailEnabled: limited ? null : false });
      const obj: Record<string, unknown> = { '@odata.type': `#microsoft.graph.${c.type}` };
      for (const [k, v] of Object.entries(full)) if (!select || select.includes(k)) obj[k] = v;
      return obj;
    });
    const body: Record<string, unknown> = { '@odata.context': `${this.graphUrl}/v1.0/$metadata#directoryObjects`, value: page };
    if (skip + size < all.length) {
      // Graph's nextLink: the request's query as sent ($select=id,displayName unencoded), then
      // an opaque $skiptoken; the client must follow it verbatim.
      const opaque = `RFNwdAIAAQAAA${randomBytes(24).toString('base64url')}`;
      this.skipTokens.set(opaque, skip + size);
      const kept = u.search.slice(1).split('&').filter((kv) => kv !== '' && !kv.startsWith('$skiptoken=') && !kv.startsWith('%24skiptoken='));
      body['@odata.nextLink'] = `${this.graphUrl}${u.pathname}?${[...kept, `$skiptoken=${opaque}`].join('&')}`;
    }
    return json(200, body);
  }

  private pairwiseSub(oid: string): string {
    return createHash('sha256').update(`${oid}:${this.clientId}`).digest('base64url').slice(0, 43);
  }

  private container(id: string): Container {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no group/role/unit ${id}`);
    return c;
  }

  private addContainer(type: ObjectType, displayName: string, members: string[], id: string): string {
    this.containers.set(id, { id, type, displayName, members: new Set(members) });
    return id;
  }

  private async serveNode(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
      const init: RequestInit = { method: req.method ?? 'GET', headers };
      if (chunks.length > 0 && req.method !== 'GET' && req.method !== 'HEAD') init.body = Buffer.concat(chunks);
      const r = await this.handle(new Request(`${this.url}${req.url ?? '/'}`, init));
      res.writeHead(r.status, Object.fromEntries(r.headers));
      res.end(Buffer.from(await r.arrayBuffer()));
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    }
  }
}

/** The object id the stand-in gives the app itself (its client-credentials tokens). */
const APP_OID = 'app:client-credentials';

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json; charset=utf-8' } });
}

function graphError(status: number, code: string, message: string): Response {
  return json(status, { error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': randomUUID(), 'client-request-id': randomUUID() } } });
}

function aadsts(error: string, code: number, text: string): Record<string, unknown> {
  return {
    error,
    error_description: `AADSTS${code}: ${text} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
    error_codes: [code],
    timestamp: new Date().toISOString(),
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  };
}
