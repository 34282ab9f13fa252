// The gateway's own pages under the reserved prefix (NetBox has no URL starting with a dot):
// health, sign-in chooser and form, IdP redirect and callback, refusal, sign-out.
import type http from 'node:http';
import { loadOnUse } from '../load-on-use.js';
import { gatewayCookieNames, type GatewayContext } from './context.js';
import { clearCookie, getCookie } from './cookies.js';
import { whoAmI } from './me.js';
import { messagePage } from './pages.js';
import { readiness } from './ready.js';
import { redirect, sendHtml, sendJson, sendOutcome } from './respond.js';
import type { GateSession, Client } from './sessions.js';
import type { createSignIn } from './signin.js';

/** decodeURIComponent without the throw: a malformed escape is the client's mistake (400), not ours. */
function decodeSegment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

const scimModule = loadOnUse<typeof import('../scim/http.js')>(import.meta.url, '../scim/http.js');
const scimLifecycleModule = loadOnUse<typeof import('../lifecycle/scim.js')>(import.meta.url, '../lifecycle/scim.js');

export function createRoutes(ctx: GatewayContext, signIn: ReturnType<typeof createSignIn>) {
  const rt = () => ctx.rt();
  const prefix = () => rt().cfg.server.pathPrefix;
  const names = () => gatewayCookieNames(rt().cfg.sessions.cookieName);
  // SCIM 2.0 for provisioning clients (docs/scim.md): bearer-authenticated, no session.
  // SCIM changes go through the same deprovisioner as every other trigger: a deactivation ends
  // the user's gateway sessions on every replica too, not only their NetBox account.
  // Built when SCIM is first enabled: its service, filter parser and PATCH code stay out of the
  // many gateways without a SCIM client (a serving process keeps what it loads; idle RSS).
  let scimHttp: ReturnType<(typeof import('../scim/http.js'))['createScimHttp']> | undefined;
  const scim = () =>
    (scimHttp ??= scimModule().createScimHttp({
      cfg: () => rt().cfg,
      store: ctx.store,
      logger: ctx.logger,
      lifecycle: () => scimLifecycleModule().scimLifecycleFromGateway(ctx.lifecycle!, () => rt().cfg),
    }));

  /** Ends the gateway session and NetBox's, then the IdP's or the proxy's session where there is one. */
  const signOut = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const id = getCookie(req.headers.cookie, names().session);
    const s = id ? await ctx.store.get<GateSession>(ctx.sessions.sessionKey(id)) : undefined;
    if (id) await ctx.sessions.endSession(id, s, 'logout', true);
    const cookies = [clearCookie(names().session, { secure: rt().secureCookies })];
    const signedOut = new URL(`${prefix()}/signed-out`, rt().publicUrl).href;
    const src = s ? rt().sources.get(s.sourceId) : undefined;
    let next: string | undefined;
    if (src?.flow === 'redirect' && src.endSessionUrl) next = src.endSessionUrl(s!.sourceState, signedOut);
    else if (src?.flow === 'proxy') next = src.signOutUrl;
    return redirect(res, next ?? signedOut, cookies);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL, client: Client) => {
    const rest = url.pathname.slice(prefix().length);
    if (rest === '/health') return sendJson(res, 200, { status: 'ok' });
    if (rt().cfg.scim?.enabled === true && scim().matches(rest)) return scim().handle(req, res, url, rest);
    if (rest === '/ready') {
      const r = await readiness(ctx);
      return sendJson(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', ...r.checks });
    }
    if (rest === '/me' && (req.method === 'GET' || req.method === 'HEAD')) return whoAmI(ctx, req, res, client, signIn.loginUrl);
    if (rest === '/login' && req.method === 'POST') return signIn.passwordPost(req, res, client);
    if (rest === '/login' || rest === '/login/') return signIn.chooser(res, url);
    const m = /^\/(login|callback)\/([^/]+)$/.exec(rest);
    if (m && req.method === 'GET') {
      const sourceId = decodeSegment(m[2]!);
      if (sourceId === undefined) return sendOutcome(req, res, { kind: 'bad_request', message: 'The address has a malformed percent-encoding.' }, { html: true });
      return m[1] === 'login' ? signIn.begin(req, res, url, sourceId) : signIn.callback(req, res, url, sourceId, client);
    }
    if (rest === '/denied') return signIn.deniedPage(req, res);
    if (rest === '/logout') return signOut(req, res);
    if (rest === '/signed-out') {
      return sendHtml(res, 200, messagePage('Signed out', 'You have signed out of NetBox.', { linkHref: `${prefix()}/login`, linkText: 'Sign in again' }));
    }
    return sendOutcome(req, res, { kind: 'not_found', message: 'There is no such page.' }, { html: true });
  };

  return { handle, signOut };
}
