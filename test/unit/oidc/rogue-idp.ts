// An OpenID provider that misbehaves on purpose, answering the OIDC source's fetch in-process:
// discovery (listing "none" and HS256 as the worst real providers do), a JWKS we control, and a
// token endpoint whose ID tokens are signed however a test asks (unpublished key, alg none, HS256
// with the client secret, iat in the future, a rotated key). Unit tests take state and nonce from
// the authorization URL and hand the source a callback URL themselves; `listen()` serves the same
// on 127.0.0.1, with an authorize endpoint that signs the user in without a page.
import { randomBytes } from 'node:crypto';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose';

export interface RogueKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

export type Signing =
  | { kind: 'key'; key: RogueKey; kid?: string | null }
  | { kind: 'none' }
  | { kind: 'hs256' };

export interface NextToken {
  signing?: Signing;
  /** Seconds added to iat (and nbf); positive is the future. */
  iatOffset?: number;
  claims?: Record<string, unknown>;
  /** Leave the refresh token out of the token response. */
  noRefreshToken?: boolean;
}

export class RogueIdp {
  issuer = 'https://rogue-idp.test';
  private server: Server | undefined;
  readonly clientId = 'netbox-gate';
  readonly clientSecret = `s3cret~${randomBytes(8).toString('hex')}`;
  /** Keys published at jwks_uri. */
  published: RogueKey[] = [];
  /** How ID tokens are signed unless a test sets `next`. */
  signing!: Signing;
  next: NextToken = {};
  jwksRequests = 0;
  /** Set to make jwks_uri fail as if the IdP were down. */
  jwksDown = false;
  now: () => number = Date.now;
  private readonly codes = new Map<string, { nonce: string }>();
  private readonly refreshTokens = new Set<string>();

  static async create(): Promise<RogueIdp> {
    const idp = new RogueIdp();
    const k = await idp.newKey('RS256');
    idp.published = [k];
    idp.signing = { kind: 'key', key: k };
    return idp;
  }

  async newKey(alg: 'RS256' | 'ES256' | 'PS256' | 'EdDSA'): Promise<RogueKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const kid = randomBytes(6).toString('hex');
    return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, use: 'sig', alg } };
  }

  /** A code the token endpoint will redeem, bound to the nonce of the authorization request. */
  issueCode(authorizationUrl: string): URL {
    const q = new URL(authorizationUrl).searchParams;
    const code = randomBytes(16).toString('base64url');
    this.codes.set(code, { nonce: q.get('nonce') ?? '' });
    const cb = new URL(q.get('redirect_uri')!);
    cb.searchParams.set('code', code);
    cb.searchParams.set('state', q.get('state') ?? '');
    return cb;
  }

  readonly fetch: typeof fetch = async (input, init) => this.handle(new Request(input, init));

  /** Serves on 127.0.0.1; the issuer becomes http://127.0.0.1:<port>. */
  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const init: RequestInit = { method: req.method ?? 'GET', headers: req.headers as Record<string, string> };
        if (chunks.length > 0) init.body = Buffer.concat(chunks);
        void this.handle(new Request(`${this.issuer}${req.url ?? '/'}`, init)).then(async (r) => {
          res.writeHead(r.status, Object.fromEntries(r.headers));
          res.end(Buffer.from(await r.arrayBuffer()));
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.issuer = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.issuer;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  private async handle(req: Request): Promise<Response> {
    const p = new URL(req.url).pathname;
    if (p === '/.well-known/openid-configuration') {
      return json(200, {
        issuer: this.issuer,
        authorization_endpoint: `${this.issuer}/authorize`,
        token_endpoint: `${this.issuer}/token`,
        jwks_uri: `${this.issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256', 'ES256', 'PS256', 'EdDSA', 'HS256', 'none'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        code_challenge_methods_supported: ['S256'],
      });
    }
    if (p === '/authorize') {
      return new Response(null, { status: 302, headers: { location: this.issueCode(req.url).href } });
    }
    if (p === '/jwks') {
      this.jwksRequests++;
      if (this.jwksDown) return new Response('bad gateway', { status: 502 });
      return json(200, { keys: this.published.map((k) => k.jwk) });
    }
    if (p === '/token' && req.method === 'POST') {
      const form = new URLSearchParams(await req.text());
      const next = this.next;
      this.next = {};
      let nonce: string | undefined;
      if (form.get('grant_type') === 'authorization_code') {
        const c = this.codes.get(form.get('code') ?? '');
        if (!c) return json(400, { error: 'invalid_grant' });
        this.codes.delete(form.get('code') ?? '');
        nonce = c.nonce;
      } else if (form.get('grant_type') === 'refresh_token') {
        if (!this.refreshTokens.has(form.get('refresh_token') ?? '')) return json(400, { error: 'invalid_grant' });
      } else {
        return json(400, { error: 'unsupported_grant_type' });
      }
      const body: Record<string, unknown> = {
        access_token: randomBytes(16).toString('base64url'),
        token_type: 'Bearer',
        expires_in: 300,
        id_token: await this.idToken(next, nonce),
      };
      if (!next.noRefreshToken) {
        const rt = randomBytes(16).toString('base64url');
        this.refreshTokens.add(rt);
        body.refresh_token = rt;
      }
      return json(200, body);
    }
    return json(404, { error: 'not_found' });
  }

  private async idToken(next: NextToken, nonce: string | undefined): Promise<string> {
    const iat = Math.floor(this.now() / 1000) + (next.iatOffset ?? 0);
    const claims: Record<string, unknown> = {
      iss: this.issuer,
      aud: this.clientId,
      sub: 'user-1',
      preferred_username: 'alice',
      groups: ['netbox-admins'],
      iat,
      exp: iat + 600,
      ...(nonce !== undefined ? { nonce } : {}),
      ...next.claims,
    };
    const signing = next.signing ?? this.signing;
    if (signing.kind === 'none') {
      const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
      return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
    }
    if (signing.kind === 'hs256') {
      return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(this.clientSecret));
    }
    const header: { alg: string; typ: string; kid?: string } = { alg: signing.key.alg, typ: 'JWT' };
    const kid = signing.kid === undefined ? signing.key.kid : signing.kid;
    if (kid !== null) header.kid = kid;
    return new SignJWT(claims).setProtectedHeader(header).sign(signing.key.privateKey);
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}
