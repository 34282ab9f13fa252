// A tiny cookie-keeping HTTP client that walks redirects by hand (so each hop, status and header
// can be asserted), and a sign-in through the demo IdP's login form. Used by the tests and the
// benchmarks (test/support/http-client.ts and bench/support.ts re-export it).

export class CookieClient {
  private jar = new Map<string, Map<string, string>>();

  cookies(origin: string): Map<string, string> {
    let m = this.jar.get(origin);
    if (!m) this.jar.set(origin, (m = new Map()));
    return m;
  }

  async request(url: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
    const u = new URL(url);
    const c = this.cookies(u.origin);
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (c.size > 0 && !headers.Cookie) headers.Cookie = [...c].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) c.delete(name);
      else c.set(name, value);
    }
    return res;
  }

  /** Follows redirects (GET) until a non-redirect; returns the final response and URL. */
  async follow(url: string, init: RequestInit & { headers?: Record<string, string> } = {}, max = 15): Promise<{ res: Response; url: string }> {
    let cur = url;
    let res = await this.request(cur, init);
    for (let i = 0; i < max && res.status >= 300 && res.status < 400 && res.headers.get('location'); i++) {
      cur = new URL(res.headers.get('location')!, cur).href;
      await res.body?.cancel();
      res = await this.request(cur, { headers: init.headers ?? {} });
    }
    return { res, url: cur };
  }
}

/** Signs in at the gateway through the demo IdP's login form; returns the final response. */
export async function signInThroughDemoIdp(client: CookieClient, gatewayUrl: string, username: string, password: string, path = '/'): Promise<{ res: Response; url: string }> {
  const accept = { Accept: 'text/html' };
  const first = await client.follow(new URL(path, gatewayUrl).href, { headers: accept });
  const html = await first.res.text();
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no login form at ${first.url} (status ${first.res.status}): ${html.slice(0, 300)}`);
  const post = await client.request(new URL(action.replace(/&amp;/g, '&'), first.url).href, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...accept },
    body: new URLSearchParams({ username, password }).toString(),
  });
  const loc = post.headers.get('location');
  if (!loc) return { res: post, url: first.url };
  return client.follow(new URL(loc, first.url).href, { headers: accept });
}
