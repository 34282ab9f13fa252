// The upstream source in headers mode behind the real oauth2-proxy (v7.6.0) signed in at the demo
// IdP, over real loopback TCP: what oauth2-proxy actually sends becomes the identity.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { request as undiciRequest } from 'undici';
import { startDemoIdp, type DemoIdp } from '../../demo/idp.js';
import { upstreamSourceSchema } from '../../src/sources/upstream/config.js';
import { createUpstreamSource } from '../../src/sources/upstream/index.js';
import type { ProxySource, SignInResult } from '../../src/sources/source.js';
import { silentLogger } from '../../src/types.js';
import { startOAuth2Proxy, type OAuth2Proxy } from '../support/oauth2-proxy.js';
import { freePort } from '../support/ports.js';

const TIMEOUT = 10_000;
const CLIENT_ID = 'header-proxy';
const CLIENT_SECRET = 'header-proxy-secret-0123456789';

interface Seen {
  remoteAddress: string;
  headers: IncomingHttpHeaders;
  result: SignInResult | null;
}

/**
 * Cookie jar for one user agent (cookie names of the IdP and the proxy do not collide). Sends
 * Accept: text/html like a browser navigation: oauth2-proxy answers application/json with 401.
 */
class Browser {
  readonly cookies = new Map<string, string>();
  async send(url: string, init: { method?: 'GET' | 'POST'; body?: string; headers?: Record<string, string> } = {}): Promise<Page> {
    const headers: Record<string, string> = { accept: 'text/html', ...init.headers };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await undiciRequest(url, {
      method: init.method ?? 'GET',
      headers,
      body: init.body ?? null,
      headersTimeout: TIMEOUT,
      bodyTimeout: TIMEOUT,
    });
    const setCookie = res.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*(expires=.*1970|max-age=0)/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const header = (n: string): string | undefined => {
      const v = res.headers[n];
      return Array.isArray(v) ? v[0] : v;
    };
    return { status: res.statusCode, header, text: await res.body.text() };
  }
}

interface Page {
  status: number;
  header(name: string): string | undefined;
  text: string;
}

/** Follows redirects across proxy and IdP, filling in the IdP's login form once, until a page that is no redirect. */
async function signInThrough(browser: Browser, startUrl: string, username: string, password: string, extra: Record<string, string> = {}): Promise<Page> {
  let res = await browser.send(startUrl, { headers: extra });
  let url = startUrl;
  let loggedIn = false;
  for (let hops = 0; hops < 20; hops++) {
    if (res.status >= 300 && res.status < 400) {
      const loc = res.header('location');
      assert.ok(loc, `redirect without location from ${url}`);
      url = new URL(loc, url).href;
      res = await browser.send(url, { headers: extra });
      continue;
    }
    const type = res.header('content-type') ?? '';
    if (!loggedIn && type.includes('text/html')) {
      const html = res.text;
      const m = /<form[^>]*action="([^"]+)"/.exec(html);
      assert.ok(m?.[1], `expected the IdP login form at ${url}, got: ${html.slice(0, 300)}`);
      url = new URL(m[1].replace(/&#38;|&amp;/g, '&'), url).href;
      res = await browser.send(url, {
        method: 'POST',
        body: new URLSearchParams({ username, password }).toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      loggedIn = true;
      continue;
    }
    return res;
  }
  throw new Error('too many redirects');
}

/** A request straight to the upstream, from a chosen loopback source address. */
function direct(url: string, localAddress: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress, headers, timeout: TIMEOUT }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('upstream source behind the real oauth2-proxy', () => {
  let source: ProxySource;
  let upstream: Server;
  let upstreamUrl: string;
  let idp: DemoIdp;
  let proxy: OAuth2Proxy;
  const seen: Seen[] = [];

  before(async () => {
    // Only the proxy's own address is trusted. oauth2-proxy connects from 127.0.0.1; the "attacker"
    // below connects from 127.0.0.3, another real loopback address, so the check sees real peers.
    const cfg = upstreamSourceSchema.parse({ kind: 'upstream', id: 'oauth2-proxy', mode: 'headers', trustedAddresses: ['127.0.0.1/32'] });
    source = createUpstreamSource(cfg, { logger: silentLogger });
    upstream = createServer((req, res) => {
      const remoteAddress = req.socket.remoteAddress ?? '';
      source.identify({ remoteAddress, headers: req.headers }, { clientIp: remoteAddress }).then(
        (result) => {
          seen.push({ remoteAddress, headers: req.headers, result });
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ identity: result?.identity ?? null }));
        },
        (err: unknown) => {
          res.statusCode = 500;
          res.end(String(err));
        },
      );
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;

    const port = await freePort();
    idp = await startDemoIdp({
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`http://127.0.0.1:${port}/oauth2/callback`], postLogoutRedirectUris: [] }],
    });
    proxy = await startOAuth2Proxy({ port, issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, upstreamUrl });
  });

  after(async () => {
    await proxy?.stop();
    await idp?.stop();
    upstream?.closeAllConnections();
    await new Promise<void>((r) => (upstream ? upstream.close(() => r()) : r()));
  });

  it('sends an unauthenticated browser to the IdP without reaching the upstream', async () => {
    const before = seen.length;
    const res = await new Browser().send(`${proxy.url}/dcim/devices/`);
    assert.equal(res.status, 302, proxy.log());
    assert.ok(res.header('location')?.startsWith(idp.issuer), res.header('location') ?? '');
    assert.equal(seen.length, before);
  });

  it("turns a signed-in user's X-Forwarded-* headers into the right identity", async () => {
    const res = await signInThrough(new Browser(), `${proxy.url}/dcim/devices/`, 'alice', 'alice');
    assert.equal(res.status, 200, proxy.log());
    const body = JSON.parse(res.text) as { identity: { username: string; email: string; subject: string; groups: string[]; sourceKind: string } | null };
    assert.ok(body.identity, `no identity; proxy sent ${JSON.stringify(seen.at(-1)?.headers)}`);
    assert.equal(body.identity.sourceKind, 'upstream');
    assert.equal(body.identity.username, 'alice');
    assert.equal(body.identity.email, 'alice@example.org');
    assert.equal(body.identity.subject, 'alice');
    assert.deepEqual(body.identity.groups, ['netbox-admins', 'staff']);
    const last = seen.at(-1)!;
    assert.equal(last.remoteAddress.replace(/^::ffff:/, ''), '127.0.0.1');
    assert.equal(last.headers['x-forwarded-groups'], 'netbox-admins,staff');
  });

  it('keeps the signed-in user when the browser itself sends X-Forwarded-User', async () => {
    const res = await signInThrough(new Browser(), `${proxy.url}/`, 'bob', 'bob', {
      'X-Forwarded-User': 'admin',
      'X-Forwarded-Preferred-Username': 'admin',
      'X-Forwarded-Groups': 'netbox-admins',
    });
    const body = JSON.parse(res.text) as { identity: { username: string; groups: string[] } | null };
    assert.equal(body.identity?.username, 'bob');
    assert.deepEqual(body.identity?.groups, ['network-engineers']);
  });

  it('ignores the same headers sent straight to the upstream from an address outside trustedAddresses', async () => {
    const forged = {
      'X-Forwarded-User': 'alice',
      'X-Forwarded-Email': 'alice@example.org',
      'X-Forwarded-Preferred-Username': 'alice',
      'X-Forwarded-Groups': 'netbox-admins,staff',
      'X-Forwarded-For': '127.0.0.1',
    };
    const res = await direct(`${upstreamUrl}/dcim/devices/`, '127.0.0.3', forged);
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { identity: null });
    assert.equal(seen.at(-1)?.remoteAddress.replace(/^::ffff:/, ''), '127.0.0.3');
    // The very same headers from the trusted address are believed: the peer address is what differs.
    const trusted = await direct(`${upstreamUrl}/dcim/devices/`, '127.0.0.1', forged);
    assert.equal((JSON.parse(trusted.body) as { identity: { username: string } }).identity.username, 'alice');
  });
});
