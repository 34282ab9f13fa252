// The demo IdP end to end over real HTTP on loopback: login page, code flow with PKCE,
// ID token signature and claims, live groups on refresh, disabling users, logout, CLI.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { defaultDemoUsers, startDemoIdp, type DemoIdp } from '../../demo/idp.js';
import { compilePolicy } from '../../src/policy/compile.js';
import { decide } from '../../src/policy/evaluate.js';
import { policySchema } from '../../src/policy/schema.js';
import { oidcSourceSchema } from '../../src/sources/oidc/config.js';
import { createOidcSource } from '../../src/sources/oidc/index.js';
import { applyPreset } from '../../src/sources/oidc/presets.js';
import type { RedirectSource, SignInResult } from '../../src/sources/source.js';
import { silentLogger } from '../../src/types.js';

const CLIENT = {
  clientId: 'netbox-gate',
  clientSecret: 'demo-secret-0123456789',
  redirectUris: ['http://127.0.0.1:1/callback'],
  postLogoutRedirectUris: ['http://127.0.0.1:1/signed-out'],
};
const basicAuth = `Basic ${Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString('base64')}`;
const TIMEOUT = 10_000;

/** A tiny cookie jar: enough for one browser-like user agent against one origin. */
class Browser {
  readonly cookies = new Map<string, string>();

  async get(url: string): Promise<Response> {
    return this.send(url, { method: 'GET' });
  }

  async post(url: string, form: Record<string, string>): Promise<Response> {
    return this.send(url, {
      method: 'POST',
      body: new URLSearchParams(form).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }

  private async send(url: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT) });
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=/i.test(a) && Date.parse(a.split('=')[1] ?? '') < Date.now());
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }
}

function location(res: Response, base: string): URL {
  const loc = res.headers.get('location');
  assert.ok(loc, `expected a redirect, got ${res.status}`);
  return new URL(loc, base);
}

/** Follows redirects within the IdP until one leaves it (to the client) or a page is shown. */
async function follow(browser: Browser, res: Response, issuer: string): Promise<{ res: Response; url: URL }> {
  let current = res;
  let url = new URL(issuer);
  for (let hops = 0; hops < 10; hops++) {
    if (current.status < 300 || current.status >= 400) return { res: current, url };
    url = location(current, url.href);
    if (url.origin !== new URL(issuer).origin) return { res: current, url };
    await current.body?.cancel();
    current = await browser.get(url.href);
  }
  throw new Error('too many redirects');
}

function formAction(html: string, base: string): string {
  const m = /<form[^>]*action="([^"]+)"/.exec(html);
  assert.ok(m?.[1], 'page has a form with an action');
  return new URL(m[1].replace(/&#38;/g, '&'), base).href;
}

interface Pending {
  verifier: string;
  state: string;
  nonce: string;
  url: string;
}

function authorizeUrl(issuer: string, scope = 'openid profile email groups', withPkce = true): Pending {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const u = new URL('/auth', issuer);
  u.searchParams.set('client_id', CLIENT.clientId);
  u.searchParams.set('redirect_uri', CLIENT.redirectUris[0]!);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('scope', scope);
  u.searchParams.set('state', state);
  u.searchParams.set('nonce', nonce);
  if (withPkce) {
    u.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
    u.searchParams.set('code_challenge_method', 'S256');
  }
  return { verifier, state, nonce, url: u.href };
}

async function tokenRequest(issuer: string, params: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(new URL('/token', issuer), {
    method: 'POST',
    headers: { authorization: basicAuth, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
    signal: AbortSignal.timeout(TIMEOUT),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('demo IdP', () => {
  let idp: DemoIdp;
  let jwks: ReturnType<typeof createRemoteJWKSet>;

  before(async () => {
    idp = await startDemoIdp({ clients: [CLIENT] });
    jwks = createRemoteJWKSet(new URL('/jwks', idp.issuer));
  });
  after(async () => {
    await idp.stop();
  });

  const verifyIdToken = async (token: unknown, nonce?: string): Promise<JWTPayload> => {
    assert.equal(typeof token, 'string');
    const { payload, protectedHeader } = await jwtVerify(token as string, jwks, { issuer: idp.issuer, audience: CLIENT.clientId });
    assert.equal(protectedHeader.alg, 'RS256');
    if (nonce !== undefined) assert.equal(payload.nonce, nonce);
    return payload;
  };

  /** Runs the browser part of a sign-in and returns the authorization code. */
  const signIn = async (browser: Browser, p: Pending, username: string, password: string): Promise<string> => {
    const { res: loginRes, url: loginUrl } = await follow(browser, await browser.get(p.url), idp.issuer);
    assert.equal(loginRes.status, 200);
    const html = await loginRes.text();
    const { res: back, url } = await follow(browser, await browser.post(formAction(html, loginUrl.href), { username, password }), idp.issuer);
    assert.equal(url.origin + url.pathname, CLIENT.redirectUris[0], `sign-in ended at ${url.href} (${back.status})`);
    assert.equal(url.searchParams.get('state'), p.state);
    assert.equal(url.searchParams.get('iss'), idp.issuer);
    const code = url.searchParams.get('code');
    assert.ok(code, `no code in ${url.href}`);
    return code;
  };

  it('publishes discovery with code flow, S256 PKCE, refresh, userinfo and end_session', async () => {
    const res = await fetch(new URL('/.well-known/openid-configuration', idp.issuer), { signal: AbortSignal.timeout(TIMEOUT) });
    const meta = (await res.json()) as Record<string, unknown>;
    assert.equal(meta.issuer, idp.issuer);
    assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(meta.response_types_supported, ['code']);
    assert.ok((meta.grant_types_supported as string[]).includes('refresh_token'));
    assert.ok((meta.scopes_supported as string[]).includes('groups'));
    assert.ok(typeof meta.userinfo_endpoint === 'string');
    assert.ok(typeof meta.end_session_endpoint === 'string');
  });

  it('shows an accessible login form and rejects a wrong password with a clear message', async () => {
    const browser = new Browser();
    const p = authorizeUrl(idp.issuer);
    const { res, url } = await follow(browser, await browser.get(p.url), idp.issuer);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<label for="username">/);
    assert.match(html, /<input id="username" name="username"/);
    assert.match(html, /<label for="password">/);
    assert.match(html, /<input id="password" name="password" type="password"/);
    assert.match(html, /<button type="submit">Sign in<\/button>/);
    assert.doesNotMatch(html, /Invalid username or password/);

    const bad = await browser.post(formAction(html, url.href), { username: 'alice', password: 'not-alice' });
    assert.equal(bad.status, 401);
    const badHtml = await bad.text();
    assert.match(badHtml, /role="alert"[^>]*>Invalid username or password</);
    assert.match(badHtml, /value="alice"/, 'the username is kept');
    assert.doesNotMatch(badHtml, /not-alice/, 'the password is not echoed');

    const unknown = await browser.post(formAction(html, url.href), { username: 'mallory', password: 'x' });
    assert.equal(unknown.status, 401);
    assert.match(await unknown.text(), /Invalid username or password/);
  });

  it('answers an unknown or expired sign-in request with a page, not a crash', async () => {
    const res = await new Browser().post(new URL('/interaction/not-a-real-one/login', idp.issuer).href, { username: 'alice', password: 'alice' });
    assert.equal(res.status, 400);
    assert.match(await res.text(), /expired/);
  });

  it('refuses an authorization request without PKCE', async () => {
    const browser = new Browser();
    const p = authorizeUrl(idp.issuer, 'openid', false);
    const { url } = await follow(browser, await browser.get(p.url), idp.issuer);
    assert.equal(url.origin + url.pathname, CLIENT.redirectUris[0]);
    assert.equal(url.searchParams.get('error'), 'invalid_request');
    assert.match(url.searchParams.get('error_description') ?? '', /PKCE/);
  });

  it('runs the code flow, then reflects group changes and disabling on refresh', async () => {
    const browser = new Browser();
    const p = authorizeUrl(idp.issuer);
    const code = await signIn(browser, p, 'alice', 'alice');

    // A wrong verifier must not redeem the code.
    const wrong = await tokenRequest(idp.issuer, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: CLIENT.redirectUris[0]!,
      code_verifier: randomBytes(32).toString('base64url'),
    });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error, 'invalid_grant');

    const tokens = await tokenRequest(idp.issuer, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: CLIENT.redirectUris[0]!,
      code_verifier: p.verifier,
    });
    assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
    assert.equal(typeof tokens.body.refresh_token, 'string', 'a refresh token without offline_access');
    assert.ok(Number(tokens.body.expires_in) <= 600);
    const claims = await verifyIdToken(tokens.body.id_token, p.nonce);
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.preferred_username, 'alice');
    assert.equal(claims.email, 'alice@example.org');
    assert.equal(claims.email_verified, true);
    assert.equal(claims.given_name, 'Alice');
    assert.equal(claims.name, 'Alice Admin');
    assert.deepEqual(claims.groups, ['netbox-admins', 'staff']);

    // The OP session now skips the form and returns straight to the client.
    const { url: cb } = await follow(browser, await browser.get(authorizeUrl(idp.issuer).url), idp.issuer);
    assert.equal(cb.origin + cb.pathname, CLIENT.redirectUris[0]);
    assert.ok(cb.searchParams.get('code'), `expected a code, got ${cb.href}`);

    const info = await fetch(new URL('/me', idp.issuer), {
      headers: { authorization: `Bearer ${String(tokens.body.access_token)}` },
      signal: AbortSignal.timeout(TIMEOUT),
    });
    assert.equal(info.status, 200);
    const userinfo = (await info.json()) as Record<string, unknown>;
    assert.equal(userinfo.sub, 'alice');
    assert.deepEqual(userinfo.groups, ['netbox-admins', 'staff']);

    idp.setGroups('alice', ['auditors']);
    const refreshed = await tokenRequest(idp.issuer, { grant_type: 'refresh_token', refresh_token: String(tokens.body.refresh_token) });
    assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
    assert.deepEqual((await verifyIdToken(refreshed.body.id_token)).groups, ['auditors']);
    assert.equal(typeof refreshed.body.refresh_token, 'string');
    assert.notEqual(refreshed.body.refresh_token, tokens.body.refresh_token, 'refresh tokens rotate');

    idp.setDisabled('alice', true);
    const denied = await tokenRequest(idp.issuer, { grant_type: 'refresh_token', refresh_token: String(refreshed.body.refresh_token) });
    assert.equal(denied.status, 400);
    assert.equal(denied.body.error, 'invalid_grant');

    idp.setDisabled('alice', false);
    const again = await tokenRequest(idp.issuer, { grant_type: 'refresh_token', refresh_token: String(refreshed.body.refresh_token) });
    assert.equal(again.status, 200, JSON.stringify(again.body));

    // Replaying a rotated-out refresh token is refused.
    const replay = await tokenRequest(idp.issuer, { grant_type: 'refresh_token', refresh_token: String(tokens.body.refresh_token) });
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, 'invalid_grant');

    // A code is redeemed once.
    const replayedCode = await tokenRequest(idp.issuer, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: CLIENT.redirectUris[0]!,
      code_verifier: p.verifier,
    });
    assert.equal(replayedCode.body.error, 'invalid_grant', 'a code is redeemed once');
  });

  it('refuses sign-in for a disabled user', async () => {
    idp.setDisabled('carol', true);
    try {
      const browser = new Browser();
      const { res, url } = await follow(browser, await browser.get(authorizeUrl(idp.issuer).url), idp.issuer);
      const html = await res.text();
      const denied = await browser.post(formAction(html, url.href), { username: 'carol', password: 'carol' });
      assert.equal(denied.status, 401);
      assert.match(await denied.text(), /Invalid username or password/);
    } finally {
      idp.setDisabled('carol', false);
    }
  });

  it('signs the user out on RP-initiated logout and returns to the client', async () => {
    const browser = new Browser();
    const p = authorizeUrl(idp.issuer, 'openid profile');
    const code = await signIn(browser, p, 'bob', 'bob');
    const tokens = await tokenRequest(idp.issuer, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: CLIENT.redirectUris[0]!,
      code_verifier: p.verifier,
    });
    assert.equal(tokens.status, 200);
    // profile alone releases groups, too.
    assert.deepEqual((await verifyIdToken(tokens.body.id_token, p.nonce)).groups, ['network-engineers']);

    const end = new URL('/session/end', idp.issuer);
    end.searchParams.set('id_token_hint', String(tokens.body.id_token));
    end.searchParams.set('post_logout_redirect_uri', CLIENT.postLogoutRedirectUris[0]!);
    end.searchParams.set('state', 'bye');
    const page = await browser.get(end.href);
    assert.equal(page.status, 200);
    const html = await page.text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(xsrf);
    assert.match(html, /name="logout" value="yes"/);
    const confirmed = await browser.post(formAction(html, end.href), { xsrf, logout: 'yes' });
    const back = location(confirmed, idp.issuer);
    assert.equal(back.origin + back.pathname, CLIENT.postLogoutRedirectUris[0]);
    assert.equal(back.searchParams.get('state'), 'bye');

    // The OP session is gone: a new request shows the login form again.
    const { res } = await follow(browser, await browser.get(authorizeUrl(idp.issuer).url), idp.issuer);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Sign in<\/button>/);
  });

  it('runs standalone, prints its issuer as one JSON line and stops on SIGTERM', async () => {
    const script = fileURLToPath(new URL('../../demo/idp.js', import.meta.url));
    const child = spawn(
      process.execPath,
      [script, '--port', '0', '--client-id', 'X', '--client-secret', 'Y', '--redirect-uri', 'http://127.0.0.1:1/cb', '--post-logout-redirect-uri', 'http://127.0.0.1:1/'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const lines = createInterface({ input: child.stdout! });
      const [first] = (await once(lines, 'line', { signal: AbortSignal.timeout(TIMEOUT) })) as [string];
      const { issuer } = JSON.parse(first) as { issuer: string };
      assert.match(issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
      const meta = (await (await fetch(new URL('/.well-known/openid-configuration', issuer), { signal: AbortSignal.timeout(TIMEOUT) })).json()) as {
        issuer: string;
      };
      assert.equal(meta.issuer, issuer);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

describe('demo IdP issuing acr and amr, through the OIDC source and the policy', () => {
  let idp: DemoIdp;
  let source: RedirectSource;
  const users = defaultDemoUsers().map((u) =>
    u.username === 'alice' ? { ...u, acr: 'mfa', amr: ['pwd', 'otp', 'mfa'] } : u.username === 'bob' ? { ...u, acr: 'pwd', amr: ['pwd'] } : u,
  );
  // Superuser only with a second factor (amr), and a NetBox group only at acr "mfa" or above.
  const policy = compilePolicy(
    policySchema.parse({
      acrOrder: ['pwd', 'mfa'],
      rules: [
        { name: 'admins', groups: ['netbox-admins', 'network-engineers'] },
        { name: 'superuser-needs-mfa', effect: 'grant', groups: ['netbox-admins', 'network-engineers'], claims: { amr: ['mfa', 'otp'] }, superuser: true },
        { name: 'operators-at-mfa', effect: 'grant', acr: { atLeast: 'mfa' }, netboxGroups: ['Operators'] },
      ],
    }),
    { groupSeparator: '|' },
  ).policy!;

  before(async () => {
    idp = await startDemoIdp({ clients: [CLIENT], users, acrValues: ['pwd', 'mfa'] });
    const { config, issues } = applyPreset(
      oidcSourceSchema.parse({
        kind: 'oidc',
        id: 'demo',
        issuer: idp.issuer,
        clientId: CLIENT.clientId,
        clientSecret: CLIENT.clientSecret,
        insecureAllowHttpIssuer: true,
        scopes: ['openid', 'profile', 'email'],
        acrValues: ['mfa', 'pwd'],
        maxAge: '10m',
      }),
    );
    assert.deepEqual(issues, []);
    source = createOidcSource(config!, { logger: silentLogger });
  });
  after(async () => {
    await idp.stop();
  });

  const signInAs = async (username: string): Promise<{ result: SignInResult; authorize: URL }> => {
    const browser = new Browser();
    const redirect = CLIENT.redirectUris[0]!;
    const { authorizationUrl, pending } = await source.beginSignIn(redirect);
    const { res: loginRes, url: loginUrl } = await follow(browser, await browser.get(authorizationUrl), idp.issuer);
    const html = await loginRes.text();
    const { url } = await follow(browser, await browser.post(formAction(html, loginUrl.href), { username, password: username }), idp.issuer);
    assert.equal(url.origin + url.pathname, redirect);
    const result = await source.completeSignIn(url, pending, redirect, { clientIp: '127.0.0.1' });
    return { result, authorize: new URL(authorizationUrl) };
  };

  it('sends acr_values and max_age, and keeps acr and amr in the identity', async () => {
    const { result, authorize } = await signInAs('alice');
    assert.equal(authorize.searchParams.get('acr_values'), 'mfa pwd');
    assert.equal(authorize.searchParams.get('max_age'), '600');
    assert.equal(result.identity.attributes.acr, 'mfa');
    assert.deepEqual(result.identity.attributes.amr, ['pwd', 'otp', 'mfa']);
    // max_age makes auth_time part of the ID token, and openid-client checked it.
    const idToken = String(result.state.idToken);
    const payload = JSON.parse(Buffer.from(idToken.split('.')[1]!, 'base64url').toString()) as { auth_time?: number };
    assert.equal(typeof payload.auth_time, 'number');
  });

  it('makes a user with a second factor superuser, and one with a password only not', async () => {
    const alice = decide(policy, (await signInAs('alice')).result.identity);
    assert.equal(alice.allowed, true);
    assert.equal(alice.superuser, true);
    assert.deepEqual(alice.groups, ['Operators']);
    assert.ok(alice.trace.some((t) => t.rule === 'superuser-needs-mfa' && t.matched.some((m) => /claim amr "mfa" matches "mfa"/.test(m))));

    const bob = decide(policy, (await signInAs('bob')).result.identity);
    assert.equal(bob.allowed, true);
    assert.equal(bob.superuser, false);
    assert.deepEqual(bob.groups, []);
  });

  it('keeps acr and amr across a refresh', async () => {
    const { result } = await signInAs('alice');
    const refreshed = await source.refresh!(result.state, { clientIp: '127.0.0.1' });
    assert.equal(refreshed.identity.attributes.acr, 'mfa');
    assert.deepEqual(refreshed.identity.attributes.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(decide(policy, refreshed.identity).superuser, true);
  });
});
