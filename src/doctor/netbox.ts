// NetBox: reachable and its version; remote auth as `netbox-config` sets it up (a probe user
// sent with the gateway's identity headers is logged in); whether NetBox also honours such a
// header from anyone who reaches it directly; and cleanup of what the probes created.
import { describeNetboxToken } from '../netbox/api/token.js';
import { randomBytes } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import os from 'node:os';
import type { GateConfig } from '../config/load.js';
import type { DoctorContext } from './context.js';
import { probe, under, type ProbeResponse } from './http.js';
import { fail, pass, warn, type CheckResult } from './report.js';

const REACHABLE = 'netbox: reachable';
const REMOTE_AUTH = 'netbox: remote auth';
const TRUST = 'netbox: header trust';
const CLEANUP = 'netbox: probe cleanup';

/** The Pomerium seed's warning (docs/seeds): true of every remote-auth setup, ours included. */
export const SPOOFING_WARNING =
  'Keep in mind that if anyone is able to get access to Netbox, around Pomerium, that person could create a header with a username and impersonate that user.';

/** The header NetBox expects for a token (the REST client's own rule: src/netbox/api/token.ts). */
export function authorizationHeader(token: string): string {
  return describeNetboxToken(token).authorization;
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1' || h === '0:0:0:0:0:0:0:1';
}

/** A name counts as loopback when every address it resolves to is (e.g. an /etc/hosts alias). */
async function resolvesToLoopback(host: string, timeoutMs: number): Promise<boolean> {
  if (isLoopbackHost(host) || isIP(host.replace(/^\[|\]$/g, ''))) return isLoopbackHost(host);
  let timer: NodeJS.Timeout | undefined;
  try {
    const addrs = await Promise.race([
      lookup(host, { all: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('DNS timeout')), timeoutMs);
      }),
    ]);
    return addrs.length > 0 && addrs.every((a) => isLoopbackHost(a.address));
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Where else this host might reach NetBox's port: every interface address but loopback and
 * link-local, and 127.0.0.2, which answers only when NetBox listens on all addresses.
 */
export function defaultLocalAddresses(): string[] {
  const out: string[] = ['127.0.0.2'];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.internal || a.address.startsWith('fe80:')) continue;
      out.push(a.address);
    }
  }
  return out;
}

interface Probe {
  /** Who the probe pretends to be: random, so it never matches a real user. */
  user: string;
  /** NetBox's session cookie name (netbox.sessionCookie). */
  cookieName: string;
  /** NetBox session cookies the probes received, to log out. */
  sessions: Array<{ connectTo: string | undefined; sessionId: string }>;
  honoured: boolean;
}

const label = (addr: string, port: string) => (isIP(addr) === 6 ? `[${addr}]:${port}` : `${addr}:${port}`);

export async function checkNetbox(ctx: DoctorContext): Promise<CheckResult[]> {
  const cfg = ctx.cfg;
  const base = new URL(cfg.netbox.url);
  const host = new URL(cfg.server.publicUrl).host;
  const auth = ctx.opts.netboxToken ? authorizationHeader(ctx.opts.netboxToken) : undefined;
  const get: Get = (path, headers, connectTo, method) =>
    probe(under(base, path), { method: method ?? 'GET', headers: { Host: host, ...headers }, timeoutMs: ctx.timeoutMs, now: ctx.now, ...(connectTo ? { connectTo } : {}) });

  const out: CheckResult[] = [];
  const version = await checkVersion(cfg, get, auth);
  out.push(version);
  if (version.status === 'fail') {
    out.push(warn(REMOTE_AUTH, 'not checked: NetBox is not reachable'), warn(TRUST, 'not checked: NetBox is not reachable'));
    return out;
  }

  const p: Probe = { user: `netbox-gate-doctor-probe-${randomBytes(6).toString('hex')}`, cookieName: cfg.netbox.sessionCookie, sessions: [], honoured: false };
  const h = cfg.netbox.headers;
  // What the gateway sends for a signed-in user, with no groups: a group would be created in NetBox.
  const gatewayHeaders = {
    [h.user]: p.user,
    [h.email]: `${p.user}@doctor.invalid`,
    [h.firstName]: 'netbox-gate',
    [h.lastName]: 'doctor probe',
    [h.groups]: '',
  };
  try {
    out.push(await checkRemoteAuth(cfg, p, gatewayHeaders, get, auth));
    out.push(await checkTrust(ctx, cfg, p, get));
  } finally {
    out.push(await cleanup(cfg, p, get, auth));
  }
  return out;
}

type Get = (path: string, headers: Record<string, string>, connectTo?: string, method?: string) => Promise<ProbeResponse>;

async function checkVersion(cfg: GateConfig, get: Get, auth: string | undefined): Promise<CheckResult> {
  let res: ProbeResponse;
  try {
    res = await get('/api/status/', { Accept: 'application/json', ...(auth ? { Authorization: auth } : {}) });
  } catch (err) {
    return fail(REACHABLE, `cannot reach NetBox at ${cfg.netbox.url}: ${(err as Error).message}`);
  }
  let version: string | undefined;
  if (res.status === 200) {
    try {
      const v = (JSON.parse(res.body) as Record<string, unknown>)['netbox-version'];
      if (typeof v === 'string') version = v;
    } catch {
      /* not NetBox's JSON: fall back to the header */
    }
  }
  // NetBox sets API-Version on every API answer, a 403 for an anonymous status request included.
  const apiVersion = res.headers['api-version'];
  version ??= typeof apiVersion === 'string' ? apiVersion : undefined;
  if (version === undefined) {
    if (res.status >= 500) return fail(REACHABLE, `NetBox at ${cfg.netbox.url} answered /api/status/ with HTTP ${res.status}`);
    return warn(REACHABLE, `${cfg.netbox.url} answers (HTTP ${res.status} for /api/status/) but does not say a NetBox version: is this NetBox?`);
  }
  const mm = /^(\d+)\.(\d+)/.exec(version)?.slice(1, 3).join('.');
  if (mm !== cfg.netbox.version) {
    return warn(REACHABLE, `NetBox ${version} at ${cfg.netbox.url}, but netbox.version says ${cfg.netbox.version}: set netbox.version: "${mm ?? version}" and run netbox-gate netbox-config again`);
  }
  return pass(REACHABLE, `NetBox ${version} at ${cfg.netbox.url} (netbox.version ${cfg.netbox.version})`);
}

/** True when NetBox logged the probe user in; records the session it started. */
async function probeLogin(p: Probe, get: Get, headers: Record<string, string>, connectTo?: string): Promise<{ honoured: boolean; res: ProbeResponse }> {
  const res = await get('/user/profile/', { Accept: 'text/html', ...headers }, connectTo);
  const prefix = `${p.cookieName}=`;
  const cookie = [res.headers['set-cookie'] ?? []]
    .flat()
    .filter((c) => c.startsWith(prefix))
    .map((c) => c.slice(prefix.length).split(';')[0]!)
    .find((v) => v !== '' && v !== '""');
  const honoured = res.status === 200 && res.body.includes(p.user);
  if (cookie) p.sessions.push({ connectTo, sessionId: cookie });
  if (honoured) p.honoured = true;
  return { honoured, res };
}

async function checkRemoteAuth(cfg: GateConfig, p: Probe, headers: Record<string, string>, get: Get, auth: string | undefined): Promise<CheckResult> {
  const h = cfg.netbox.headers;
  let r: Awaited<ReturnType<typeof probeLogin>>;
  try {
    r = await probeLogin(p, get, headers);
  } catch (err) {
    return fail(REMOTE_AUTH, `the probe request failed: ${(err as Error).message}`);
  }
  if (!r.honoured) {
    const loc = String(r.res.headers.location ?? '');
    const why = r.res.status >= 300 && r.res.status < 400 && loc.includes(cfg.netbox.loginPath)
      ? `NetBox sent the probe user ${p.user} to its login page`
      : `NetBox answered HTTP ${r.res.status} without logging the probe user ${p.user} in`;
    return fail(
      REMOTE_AUTH,
      `${why}: remote auth is off or its header differs (REMOTE_AUTH_ENABLED = True, REMOTE_AUTH_HEADER = 'HTTP_${h.user.toUpperCase().replace(/-/g, '_')}', ` +
        'REMOTE_AUTH_AUTO_CREATE_USER = True); apply what `netbox-gate netbox-config` prints',
    );
  }
  // The profile headers: read back through the API when there is a token, else from the profile page.
  let email: boolean | undefined;
  let names: boolean | undefined;
  if (auth) {
    const u = await findUser(get, auth, p.user).catch(() => undefined);
    if (u) {
      email = u.email === headers[h.email];
      names = u.first_name === 'netbox-gate' && u.last_name === 'doctor probe';
    }
  } else {
    email = r.res.body.includes(headers[h.email]!);
  }
  const missing: string[] = [];
  if (email === false) missing.push(`the email header ${h.email} (REMOTE_AUTH_USER_EMAIL = 'HTTP_${h.email.toUpperCase().replace(/-/g, '_')}')`);
  if (names === false) missing.push(`the name headers ${h.firstName}/${h.lastName} (REMOTE_AUTH_USER_FIRST_NAME / _LAST_NAME)`);
  if (missing.length > 0) {
    return warn(REMOTE_AUTH, `NetBox logged the probe user in from ${h.user}, but ignored ${missing.join(' and ')}; apply what \`netbox-gate netbox-config\` prints`);
  }
  return pass(REMOTE_AUTH, `NetBox logged the probe user ${p.user} in from the ${h.user} header${email ? ' and took its email' : ''}${names ? ' and names' : ''}`);
}

async function checkTrust(ctx: DoctorContext, cfg: GateConfig, p: Probe, get: Get): Promise<CheckResult> {
  const base = new URL(cfg.netbox.url);
  const port = base.port || (base.protocol === 'https:' ? '443' : '80');
  const header = cfg.netbox.headers.user;
  const fix =
    `Fix: make NetBox reachable only by the gateway: bind it to 127.0.0.1 (or a private network only the gateway is on), ` +
    `firewall port ${port}, and do not publish it (docker: no "ports:" for NetBox).`;
  if (!(await resolvesToLoopback(base.hostname, ctx.timeoutMs))) {
    if (!p.honoured) return pass(TRUST, `NetBox at ${cfg.netbox.url} did not honour the probe header`);
    const seen = `NetBox at ${cfg.netbox.url} logged in a probe user from a ${header} header that doctor sent directly, not through the gateway: anyone who can reach that address can do the same.`;
    if (ctx.opts.netboxPrivate) return warn(TRUST, `${seen} You stated (--netbox-private) that only the gateway can reach it; keep it so.`);
    return fail(TRUST, `${seen} "${SPOOFING_WARNING}" (the Pomerium seed). ${fix} If only the gateway's host can reach ${base.host}, rerun with --netbox-private.`);
  }
  // netbox.url is on loopback: only this host reaches it there. Does NetBox answer elsewhere too?
  const honouredHere = p.honoured;
  const addrs = (ctx.opts.localAddresses ?? defaultLocalAddresses)().filter((a) => a !== base.hostname.replace(/^\[|\]$/g, ''));
  const results = await Promise.all(
    addrs.map(async (a) => {
      try {
        return { a, honoured: (await probeLogin(p, get, { [header]: p.user }, a)).honoured, error: undefined };
      } catch (err) {
        return { a, honoured: false, error: (err as Error).message };
      }
    }),
  );
  const open = results.filter((r) => r.honoured).map((r) => label(r.a, port));
  if (open.length > 0) {
    return fail(
      TRUST,
      `NetBox also answers at ${open.join(', ')} and logged in a probe user from a ${header} header sent there directly, not through the gateway: ` +
        `anyone who can reach those addresses can be any NetBox user. "${SPOOFING_WARNING}" (the Pomerium seed). ${fix}`,
    );
  }
  const unreachable = results.filter((r) => r.error !== undefined).map((r) => label(r.a, port));
  const answered = results.filter((r) => r.error === undefined).map((r) => label(r.a, port));
  const elsewhere =
    (unreachable.length > 0 ? `not reachable at ${unreachable.join(', ')}` : 'no other address of this host probed') +
    (answered.length > 0 ? `; ${answered.join(', ')} answered without honouring it` : '');
  if (!honouredHere) return pass(TRUST, `NetBox did not honour the probe header at ${base.host} (see netbox: remote auth); ${elsewhere}`);
  return pass(TRUST, `NetBox takes identity headers only on loopback (${base.host}); ${elsewhere}`);
}

interface NbUser {
  id: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
}

async function findUser(get: Get, auth: string, username: string): Promise<NbUser | undefined> {
  const res = await get(`/api/users/users/?username=${encodeURIComponent(username)}`, { Accept: 'application/json', Authorization: auth });
  if (res.status !== 200) throw new Error(`HTTP ${res.status} listing users`);
  return (JSON.parse(res.body) as { results: NbUser[] }).results[0];
}

async function cleanup(cfg: GateConfig, p: Probe, get: Get, auth: string | undefined): Promise<CheckResult> {
  let ended = 0;
  for (const s of p.sessions) {
    try {
      await get(cfg.netbox.logoutPath, { Cookie: `${cfg.netbox.sessionCookie}=${s.sessionId}` }, s.connectTo);
      ended++;
    } catch {
      /* the user's deletion below ends it too */
    }
  }
  const sessions = ended > 0 ? ` and ended its ${ended} NetBox session${ended === 1 ? '' : 's'}` : '';
  const manual = `delete the NetBox user ${p.user} (Admin > Users, or DELETE /api/users/users/<id>/)`;
  if (!auth) {
    if (!p.honoured) return pass(CLEANUP, `nothing to clean up: NetBox did not log the probe user ${p.user} in${sessions}`);
    return warn(CLEANUP, `NetBox created the user ${p.user} for the probe${sessions}; doctor has no API token to remove it: ${manual}, or pass --netbox-token / NETBOX_GATE_DOCTOR_TOKEN next time`);
  }
  try {
    // Looked up even when no probe seemed to work: one that timed out may still have created it.
    const u = await findUser(get, auth, p.user);
    if (!u) return pass(CLEANUP, `nothing to clean up: NetBox holds no user ${p.user}${sessions}`);
    const del = (await get(`/api/users/users/${u.id}/`, { Accept: 'application/json', Authorization: auth }, undefined, 'DELETE')).status;
    if (del !== 204) return warn(CLEANUP, `NetBox refused to delete the probe user ${p.user} (HTTP ${del}): ${manual}`);
    return pass(CLEANUP, `deleted the NetBox user ${p.user} (id ${u.id}) that the probe created${sessions}`);
  } catch (err) {
    return warn(CLEANUP, `could not delete the probe user (${(err as Error).message}): ${manual}`);
  }
}
