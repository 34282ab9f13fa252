// `netbox-gate sessions list|revoke`: the administrator's view of the shared session store.
// Revoking deletes the gateway session (the user's next request, on any replica, is signed
// out) and ends the NetBox session it held. Never prints tokens or cookie values.
import type { GateConfig } from '../config/load.js';
import { GateError } from '../errors.js';
import { SESSION_KEY_PREFIX, sessionInfo, sessionKeyOfHash, userSessionsIndex, type GateSession } from '../gateway/sessions.js';
import { endNetboxSession } from '../netbox/session.js';
import { createProxyTarget } from '../netbox/target.js';
import { createSource } from '../sources/factory.js';
import type { Source } from '../sources/source.js';
import { createDeprovisioner } from '../lifecycle/deprovision.js';
import { netboxClientFromConfig } from '../netbox/api/config.js';
import { managedUsers } from '../netbox/api/users.js';
import { createMemoryStore } from '../store/memory.js';
import { openStore } from '../store/open.js';
import type { KeyValueStore } from '../store/store.js';
import { silentLogger, type Logger } from '../types.js';

export interface SessionSummary {
  /** The session's log id (as in the gateway's logs); not the cookie value. */
  id: string;
  user: string;
  source: string;
  /** The user name the source knows, when the policy maps it to another NetBox name. */
  sourceUser?: string;
  clientIp: string;
  startedAt: string;
  lastSeenAt: string;
  expiresAt: string;
  netboxSession: boolean;
}

interface Found {
  hash: string;
  s: GateSession;
}

export type SessionsAction = { action: 'list'; user?: string | undefined; json: boolean } | { action: 'revoke'; user?: string | undefined; id?: string | undefined; json: boolean; deprovision?: boolean };

export async function runSessionsCommand(cfg: GateConfig, a: SessionsAction, out: (s: string) => void, logger: Logger = silentLogger): Promise<number> {
  if (a.action === 'revoke' && a.deprovision && !cfg.netbox.api) {
    throw new GateError('ERR_BAD_REQUEST', `${cfg.file}: --deprovision needs netbox.api (a token that may change NetBox users): deprovisioning is off`);
  }
  if (cfg.sessions.store.type === 'memory' && a.action === 'revoke' && a.deprovision && a.user !== undefined) {
    // The sessions live inside the running gateway and cannot be reached from here; NetBox
    // refusing the inactive user is what counts (the gateway then shows "account disabled").
    const scratch = createMemoryStore();
    try {
      out(`note: sessions.store is "memory": ${a.user}'s gateway sessions live in the running gateway; NetBox refuses the user once inactive`);
      return await deprovisionUser(cfg, scratch, a.user, [], a.json, out, logger);
    } finally {
      await scratch.close();
    }
  }
  if (cfg.sessions.store.type === 'memory') {
    throw new GateError(
      'ERR_BAD_REQUEST',
      `${cfg.file}: sessions.store is "memory": sessions live inside the running gateway process, so this command cannot reach them (set sessions.store.type: redis to share them)`,
    );
  }
  const store = await openStore(cfg.sessions, silentLogger);
  try {
    const found = await findSessions(store, a.action === 'revoke' && a.id ? { id: a.id } : a.user ? { user: a.user } : {});
    if (a.action === 'list') {
      const rows = found.map((f) => summarise(cfg, f.hash, f.s)).sort((x, y) => x.user.localeCompare(y.user) || x.startedAt.localeCompare(y.startedAt));
      out(a.json ? JSON.stringify(rows, null, 2) : formatTable(rows));
      return 0;
    }
    const revoked = await revokeSessions(cfg, store, found, logger);
    if (a.deprovision && a.user !== undefined) return await deprovisionUser(cfg, store, a.user, revoked, a.json, out, logger);
    if (a.json) out(JSON.stringify({ revoked }, null, 2));
    else if (revoked.length === 0) out(a.id ? `no session with id ${a.id}` : `no sessions of ${a.user}`);
    else for (const r of revoked) out(`revoked ${r.id} (${r.user} via ${r.source}${r.netboxSession ? ', NetBox session ended' : ''})`);
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * `revoke --user U --deprovision`: the sessions are ended already; the NetBox user is set
 * inactive (managed users only) and the action is one audit line on stderr's logger.
 */
async function deprovisionUser(cfg: GateConfig, store: KeyValueStore, user: string, revoked: SessionSummary[], json: boolean, out: (s: string) => void, logger: Logger): Promise<number> {
  const sessionsReachable = cfg.sessions.store.type !== 'memory';
  const client = netboxClientFromConfig(cfg, { logger })!;
  try {
    const users = managedUsers(client, { managedGroup: cfg.netbox.managedGroup });
    // Sessions were ended above (with NetBox's own); any that started meanwhile end here too.
    const sessions = { endUserSessions: async (u: string) => (await revokeSessions(cfg, store, await findSessions(store, { user: u }), logger)).length };
    const dp = createDeprovisioner({ users, store, sessions, logger });
    const actor = process.env['SUDO_USER'] ?? process.env['USER'] ?? 'cli';
    const o = await dp.deprovision(user, { trigger: 'cli', detail: 'netbox-gate sessions revoke --deprovision', actor });
    const ended = revoked.length + o.sessionsEnded;
    if (json) out(JSON.stringify({ revoked, netbox: o.result, ...(o.error ? { error: o.error } : {}) }, null, 2));
    else {
      for (const r of revoked) out(`revoked ${r.id} (${r.user} via ${r.source}${r.netboxSession ? ', NetBox session ended' : ''})`);
      const what: Record<string, string> = {
        deactivated: `NetBox user ${user} set inactive: NetBox now refuses their API tokens`,
        already_inactive: `NetBox user ${user} was already inactive`,
        absent: `NetBox has no user ${user}`,
        unmanaged: `NetBox user ${user} is not managed by netbox-gate: left unchanged`,
        failed: `NetBox user ${user} could not be deactivated: ${o.error ?? ''}`,
      };
      if (ended === 0 && sessionsReachable) out(`no sessions of ${user}`);
      out(what[o.result] ?? `${user}: ${o.result}`);
    }
    return o.result === 'failed' ? 1 : 0;
  } finally {
    await client.close();
  }
}

/** Sessions of one NetBox user (through the user's index), one id (a log-id prefix), or all. */
export async function findSessions(store: KeyValueStore, by: { user?: string; id?: string }): Promise<Found[]> {
  const found: Found[] = [];
  if (by.user !== undefined) {
    const index = userSessionsIndex(by.user);
    for (const hash of await store.indexMembers(index)) {
      const s = await store.get<GateSession>(sessionKeyOfHash(hash));
      if (s && s.decision.username === by.user) found.push({ hash, s });
      else if (!s) await store.removeFromIndex(index, hash); // expired or ended: tidy the index
    }
    return found;
  }
  if (by.id !== undefined && !/^[A-Za-z0-9_-]{8,}$/.test(by.id)) {
    throw new GateError('ERR_BAD_REQUEST', `--id ${JSON.stringify(by.id)} is not a session id (the id column of "netbox-gate sessions list")`);
  }
  for (const key of await store.keys(SESSION_KEY_PREFIX + (by.id ?? ''))) {
    const s = await store.get<GateSession>(key);
    if (s) found.push({ hash: key.slice(SESSION_KEY_PREFIX.length), s });
  }
  if (by.id !== undefined && found.length > 1) throw new GateError('ERR_BAD_REQUEST', `--id ${by.id} matches ${found.length} sessions; give more of the id`);
  return found;
}

async function revokeSessions(cfg: GateConfig, store: KeyValueStore, found: Found[], logger: Logger): Promise<SessionSummary[]> {
  const target = createProxyTarget(cfg.netbox.url, cfg.netbox.timeout);
  const nb = { logoutPath: cfg.netbox.logoutPath, sessionCookie: cfg.netbox.sessionCookie, host: new URL(cfg.server.publicUrl).host };
  // The sources' own end of a session, as the gateway does when it ends one (RADIUS sends its
  // Accounting-Stop, Acct-Terminate-Cause Admin-Reset): built only for the sources of the
  // sessions found (building one contacts nothing), closed at the end.
  const sources = new Map<string, Source | undefined>();
  const sourceOf = (id: string): Source | undefined => {
    if (!sources.has(id)) {
      const c = cfg.sources.find((x) => x.id === id);
      sources.set(id, c ? createSource(c, { logger }) : undefined);
    }
    return sources.get(id);
  };
  const done: SessionSummary[] = [];
  try {
    for (const f of found) {
      // Deleted first: a gateway request that read the session earlier cannot write it back
      // (updates only replace a session that still exists), so it stays signed out.
      await store.delete(sessionKeyOfHash(f.hash));
      await store.removeFromIndex(userSessionsIndex(f.s.decision.username), f.hash);
      if (f.s.netboxSession) await endNetboxSession(target, nb, f.s.netboxSession, logger);
      const src = sourceOf(f.s.sourceId);
      if (src?.onSessionEnd) {
        await src.onSessionEnd(sessionInfo(f.s, f.s.logId ?? f.hash.slice(0, 16)), 'revoked').catch((err: unknown) => logger.warn({ err: (err as Error).message, source: f.s.sourceId }, 'session end hook failed'));
      }
      done.push(summarise(cfg, f.hash, f.s));
    }
  } finally {
    target.destroy();
    await Promise.allSettled([...sources.values()].map((src) => src?.close()));
  }
  return done;
}

function summarise(cfg: GateConfig, hash: string, s: GateSession): SessionSummary {
  const expires = Math.min(s.createdAt + cfg.sessions.absoluteTimeout, s.lastSeenAt + cfg.sessions.idleTimeout);
  return {
    id: s.logId ?? hash.slice(0, 16),
    user: s.decision.username,
    source: s.sourceId,
    ...(s.identity.username !== s.decision.username ? { sourceUser: s.identity.username } : {}),
    clientIp: s.clientIp,
    startedAt: new Date(s.createdAt).toISOString(),
    lastSeenAt: new Date(s.lastSeenAt).toISOString(),
    expiresAt: new Date(expires).toISOString(),
    netboxSession: Boolean(s.netboxSession),
  };
}

function formatTable(rows: SessionSummary[]): string {
  if (rows.length === 0) return 'no sessions';
  const head = ['ID', 'USER', 'SOURCE', 'CLIENT', 'STARTED', 'LAST SEEN', 'EXPIRES'];
  const cells = rows.map((r) => [r.id, r.sourceUser ? `${r.user} (${r.sourceUser})` : r.user, r.source, r.clientIp, r.startedAt, r.lastSeenAt, r.expiresAt]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), ...cells.map(line)].join('\n');
}
