// Certificate expiry of every https endpoint doctor talked to (IdPs, JWKS, NetBox), of ldaps://
// servers and of the gateway's own server.tls certificate: warn under 14 days, fail when expired.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import tls from 'node:tls';
import type { DoctorContext } from './context.js';
import { fail, pass, warn, type CheckResult } from './report.js';

const DAY = 24 * 3600 * 1000;
export const EXPIRY_WARN_DAYS = 14;

/** Pure: the verdict for a certificate valid until `notAfter`. */
export function judgeExpiry(check: string, subject: string, notAfter: Date, now: number): CheckResult {
  const left = notAfter.getTime() - now;
  const when = notAfter.toISOString().slice(0, 10);
  if (Number.isNaN(left)) return warn(check, `${subject}: cannot read the expiry date`);
  if (left <= 0) return fail(check, `${subject}: certificate expired on ${when}`);
  const days = Math.floor(left / DAY);
  if (days < EXPIRY_WARN_DAYS) return warn(check, `${subject}: certificate expires in ${days} day${days === 1 ? '' : 's'} (${when}); renew it`);
  return pass(check, `${subject}: certificate valid until ${when} (${days} days)`);
}

function peerCertificate(host: string, port: number, timeoutMs: number): Promise<Date> {
  return new Promise((resolve, reject) => {
    const bare = host.replace(/^\[|\]$/g, '');
    // Expiry only: trust is the business of the check that uses the endpoint (a private CA is fine).
    const socket = tls.connect({ host: bare, port, rejectUnauthorized: false, ...(isIP(bare) ? {} : { servername: bare }) });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const cert = socket.getPeerCertificate();
      socket.destroy();
      if (!cert || !cert.valid_to) reject(new Error('the server sent no certificate'));
      else resolve(new Date(cert.valid_to));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(err.code ?? err.message));
    });
  });
}

/** host:port of every TLS endpoint in the config and the run so far, de-duplicated. */
export function tlsEndpoints(ctx: DoctorContext): Array<{ host: string; port: number }> {
  const seen = new Map<string, { host: string; port: number }>();
  const add = (u: URL, defaultPort: number) => {
    const port = Number(u.port || defaultPort);
    seen.set(`${u.hostname}:${port}`, { host: u.hostname, port });
  };
  for (const s of ctx.tlsUrls) add(new URL(s), 443);
  const nb = new URL(ctx.cfg.netbox.url);
  if (nb.protocol === 'https:') add(nb, 443);
  for (const src of ctx.cfg.sources) {
    if (src.kind === 'oidc' && src.issuer.startsWith('https:')) add(new URL(src.issuer), 443);
    if (src.kind === 'ldap') for (const u of src.urls) if (u.startsWith('ldaps:')) add(new URL(u), 636);
  }
  return [...seen.values()];
}

export async function checkTls(ctx: DoctorContext): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const certFile = ctx.cfg.server.tls?.certFile;
  if (certFile) {
    const name = 'tls: server.tls.certFile';
    try {
      const cert = new X509Certificate(readFileSync(certFile));
      out.push(judgeExpiry(name, certFile, new Date(cert.validTo), ctx.now()));
    } catch (err) {
      out.push(fail(name, `cannot read the certificate ${certFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`));
    }
  }
  const results = await Promise.all(
    tlsEndpoints(ctx).map(async ({ host, port }) => {
      const label = `${host}:${port}`;
      try {
        return judgeExpiry(`tls: ${label}`, label, await peerCertificate(host, port, ctx.timeoutMs), ctx.now());
      } catch (err) {
        return warn(`tls: ${label}`, `cannot read the certificate: ${(err as Error).message}`);
      }
    }),
  );
  return [...out, ...results];
}
