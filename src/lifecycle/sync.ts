// Directory sync: every lifecycle.sync.interval, each managed NetBox user is looked up at the
// source it last signed in with (recorded at sign-in, records.ts). Gone, disabled or now denied
// users are deprovisioned; changed groups reach NetBox through the API; a user the sync (or a
// refresh) deprovisioned who is back is reactivated. RADIUS cannot be asked: a RADIUS user with
// no sign-in for lifecycle.radiusInactivity is deactivated. One run at a time across replicas.
import type { GateConfig } from '../config/load.js';
import { isGateError } from '../errors.js';
import { netboxClientFromConfig } from '../netbox/api/config.js';
import { managedUsers, type ManagedUsers, type NetboxUser } from '../netbox/api/users.js';
import { decide } from '../policy/evaluate.js';
import type { Source } from '../sources/source.js';
import type { KeyValueStore } from '../store/store.js';
import type { Decision, Logger } from '../types.js';
import { applyDecision } from './apply.js';
import type { Deprovisioner } from './deprovision.js';
import { deprovisionedKey, readUserSource, SYNC_LOCK_KEY, type DeprovisionRecord } from './records.js';

export interface SyncDeps {
  store: KeyValueStore;
  logger: Logger;
  now?: () => number;
  config: () => GateConfig;
  /** The running sources (they change on reload). */
  sources: () => ReadonlyMap<string, Source>;
  deprovisioner: () => Deprovisioner | undefined;
}

export interface SyncReport {
  /** False when another replica holds the sync lock (or netbox.api / lifecycle.sync is unset). */
  ran: boolean;
  checked: number;
  deprovisioned: string[];
  reactivated: string[];
  groupsChanged: string[];
  /** Users the sync could not judge: no sign-in recorded, a source that cannot be asked, a source away. */
  skipped: Array<{ user: string; why: string }>;
}

export interface DirectorySync {
  runOnce(): Promise<SyncReport>;
  /** Runs every interval until stop(); the first run one interval after start. */
  start(): void;
  stop(): Promise<void>;
}

/** Deprovisioned by these, a user who is back in the directory is reactivated by the sync. */
const DIRECTORY_TRIGGERS = new Set(['sync', 'refresh', 'ldap', 'reload', 'inactivity']);
const LOOKUP_TIMEOUT_MS = 30_000;

export function createDirectorySync(deps: SyncDeps): DirectorySync {
  const { store, logger } = deps;
  const now = deps.now ?? Date.now;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<SyncReport> | undefined;
  let stopped = false;

  const judge = async (cfg: GateConfig, dp: Deprovisioner, user: NetboxUser, users: ManagedUsers, report: SyncReport) => {
    const name = user.username;
    const rec = await readUserSource(store, name);
    if (!rec) return void report.skipped.push({ user: name, why: 'no sign-in recorded (the sync learns the source at the next sign-in)' });
    const wanted = cfg.lifecycle?.sync?.sources;
    if (wanted && !wanted.includes(rec.source)) return void report.skipped.push({ user: name, why: `source ${rec.source} is not in lifecycle.sync.sources` });
    const src = deps.sources().get(rec.source);
    const deprovision = async (trigger: 'sync' | 'inactivity', detail: string) => {
      if (!user.is_active) return; // already done; nothing to say again every interval
      const o = await dp.deprovision(name, { trigger, detail });
      if (o.result === 'deactivated') report.deprovisioned.push(name);
    };

    if (!src?.lookup) {
      const limit = cfg.lifecycle?.radiusInactivity;
      if (rec.kind === 'radius' && limit !== undefined) {
        const idle = now() - rec.lastSignInAt;
        if (idle >= limit) return deprovision('inactivity', `no RADIUS sign-in through ${rec.source} for ${Math.floor(idle / 3600_000)} h (lifecycle.radiusInactivity)`);
        return;
      }
      return void report.skipped.push({ user: name, why: src ? `source ${rec.source} cannot be asked without the user` : `source ${rec.source} is no longer configured` });
    }

    let d: Decision;
    try {
      const r = await src.lookup(rec.sourceUser, { clientIp: '127.0.0.1', signal: AbortSignal.timeout(LOOKUP_TIMEOUT_MS), ...(rec.oid ? { hint: { oid: rec.oid } } : {}) });
      // Present and enabled, but the source cannot say what a sign-in would give: no decision,
      // no group change, no reactivation (the next sign-in decides).
      if (r === 'present') return;
      d = decide(cfg.policy, r.identity);
    } catch (err) {
      if (isGateError(err, 'ERR_AUTH_REJECTED')) return deprovision('sync', `${rec.source}: ${err.message}`);
      // The source is away or misconfigured: say so, judge nobody on it this time.
      return void report.skipped.push({ user: name, why: `${rec.source} could not be asked: ${(err as Error).message}` });
    }
    const dep = user.is_active ? undefined : await store.get<DeprovisionRecord>(deprovisionedKey(name));
    const changes = await applyDecision({ cfg, users, deprovisioner: dp, logger }, user, d, { trigger: 'sync', detail: rec.source }, { reactivate: dep !== undefined && DIRECTORY_TRIGGERS.has(dep.trigger) });
    if (changes.includes('deprovisioned')) report.deprovisioned.push(name);
    if (changes.includes('reactivated')) report.reactivated.push(name);
    if (changes.includes('groups_changed')) report.groupsChanged.push(name);
  };

  const run = async (): Promise<SyncReport> => {
    const report: SyncReport = { ran: false, checked: 0, deprovisioned: [], reactivated: [], groupsChanged: [], skipped: [] };
    const cfg = deps.config();
    const dp = deps.deprovisioner();
    const interval = cfg.lifecycle?.sync?.interval;
    if (!dp || interval === undefined) return report;
    // Not released at the end: the lock lasts (nearly) one interval, so N replicas make one
    // run per interval between them, not N.
    const lock = await store.tryLock(SYNC_LOCK_KEY, Math.max(1000, interval - 500));
    if (!lock) return report;
    report.ran = true;
    const client = netboxClientFromConfig(cfg, { logger })!;
    try {
      const users = managedUsers(client, { managedGroup: cfg.netbox.managedGroup });
      for (const u of await users.listManaged()) {
        if (stopped) break;
        report.checked++;
        try {
          await judge(cfg, dp, u, users, report);
        } catch (err) {
          report.skipped.push({ user: u.username, why: (err as Error).message });
        }
      }
    } catch (err) {
      logger.error({ err: (err as Error).message }, 'directory sync failed: NetBox users could not be listed');
    } finally {
      await client.close();
    }
    logger.info(
      { event: 'directory_sync', checked: report.checked, deprovisioned: report.deprovisioned, reactivated: report.reactivated, groupsChanged: report.groupsChanged, skipped: report.skipped.length },
      'directory sync done',
    );
    for (const s of report.skipped) logger.debug({ user: s.user, why: s.why }, 'directory sync skipped a user');
    return report;
  };

  const runOnce = () => {
    running ??= run().finally(() => (running = undefined));
    return running;
  };

  const schedule = () => {
    const interval = deps.config().lifecycle?.sync?.interval;
    if (stopped || interval === undefined) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((err: unknown) => logger.error({ err: (err as Error).message }, 'directory sync failed'))
        .finally(schedule);
    }, interval);
  };

  return {
    runOnce,
    start() {
      stopped = false;
      schedule();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running?.catch(() => undefined);
    },
  };
}
