// NetBox's own session, which the gateway holds for the browser: ending it at NetBox so an old
// `sessionid` is dead there too (sign-out, a changed decision, a revoked session).
import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../types.js';
import { upstreamPath, type ProxyTarget } from './target.js';

export interface NetboxSessionSettings {
  logoutPath: string;
  sessionCookie: string;
  /** Host header NetBox sees on every request (the public host). */
  host: string;
}

/** GETs NetBox's logout view with the session cookie. Never throws; failures are logged. */
export function endNetboxSession(t: ProxyTarget, o: NetboxSessionSettings, sessionId: string, logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const req = (t.url.protocol === 'https:' ? https : http).request({
      protocol: t.url.protocol,
      hostname: t.url.hostname,
      port: t.url.port,
      method: 'GET',
      path: upstreamPath(t, o.logoutPath),
      headers: { Host: o.host, Cookie: `${o.sessionCookie}=${sessionId}` },
      agent: t.agent,
      timeout: 10_000,
    });
    req.on('response', (r) => {
      r.resume();
      r.on('end', resolve);
      r.on('error', () => resolve());
    });
    req.on('error', (err) => {
      logger.warn({ err: err.message }, 'could not end the NetBox session');
      resolve();
    });
    req.on('timeout', () => req.destroy(new Error('NetBox logout timed out')));
    req.end();
  });
}
