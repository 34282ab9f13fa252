// Taking access away and giving it back: a deprovisioned user's gateway sessions end on every
// replica (the shared store's per-user index; NetBox's own sessions with them) and the NetBox
// user is set inactive through the REST API, so NetBox refuses their API tokens ("User
// inactive"). Only users the gateway manages are ever edited. One audit line per action.
import { GateError, isGateError } from '../errors.js';
import type { ManagedUsers } from '../netbox/api/users.js';
import type { KeyValueStore } from '../store/store.js';
import type { Logger } from '../types.js';
import { deprovisionedKey, RECORD_TTL, type DeprovisionRecord } from './records.js';

/** What told the gateway (the audit line's `trigger`). */
export type LifecycleTrigger = 'refresh' | 'ldap' | 'reload' | 'scim' | 'sync' | 'cli' | 'inactivity' | 'sign_in';

export interface LifecycleWhy {
  trigger: LifecycleTrigger;
  /** A sentence for the audit line: what the source or the administrator said. */
  detail: string;
  /** Who acted, when it is a person or a client (cli: the OS user; scim: the client). */
  actor?: string;
}

/**
 * `deactivated` / `reactivated`: NetBox changed. `already_inactive` / `already_active`: nothing
 * to do in NetBox. `absent`: NetBox has no such user. `unmanaged`: not the gateway's user,
 * skipped (never edited). `failed`: the NetBox API call failed (the audit line says why).
 */
export type LifecycleResult = 'deactivated' | 'already_inactive' | 'reactivated' | 'already_active' | 'absent' | 'unmanaged' | 'failed';

export interface LifecycleOutcome {
  result: LifecycleResult;
  /** Gateway sessions ended (deprovision only). */
  sessionsEnded: number;
  error?: string;
}

/** Ends every gateway session of a NetBox user (and the NetBox session each one holds). */
export interface UserSessionEnder {
  endUserSessions(username: string): Promise<number>;
}

export interface Deprovisioner {
  deprovision(username: string, why: LifecycleWhy): Promise<LifecycleOutcome>;
  /** `quiet`: no audit line when nothing had to change (every sign-in asks). */
  reactivate(username: string, why: LifecycleWhy, o?: { quiet?: boolean }): Promise<LifecycleOutcome>;
}

export interface DeprovisionerDeps {
  users: ManagedUsers;
  store: KeyValueStore;
  sessions: UserSessionEnder;
  logger: Logger;
  now?: () => number;
}

export function createDeprovisioner(deps: DeprovisionerDeps): Deprovisioner {
  const { users, store, sessions, logger } = deps;
  const now = deps.now ?? Date.now;

  const audit = (action: 'deprovision' | 'reactivate', username: string, why: LifecycleWhy, o: LifecycleOutcome) => {
    const line = {
      audit: action,
      user: username,
      trigger: why.trigger,
      detail: why.detail,
      ...(why.actor ? { actor: why.actor } : {}),
      result: o.result,
      ...(action === 'deprovision' ? { sessionsEnded: o.sessionsEnded } : {}),
      ...(o.error ? { err: o.error } : {}),
    };
    const text =
      o.result === 'unmanaged'
        ? `${action} skipped: NetBox user ${username} is not managed by netbox-gate (never edited)`
        : `${action} ${username}: ${o.result} (${why.trigger}: ${why.detail})`;
    if (o.result === 'failed') logger.error(line, text);
    else logger.info(line, text);
  };

  /** NetBox's answer as a result; API failures become `failed` with the message (no secrets in it). */
  const setActive = async (username: string, active: boolean): Promise<Omit<LifecycleOutcome, 'sessionsEnded'>> => {
    try {
      const r = await users.setActive(username, active);
      if (r.outcome === 'absent') return { result: 'absent' };
      if (r.outcome === 'changed') return { result: active ? 'reactivated' : 'deactivated' };
      return { result: active ? 'already_active' : 'already_inactive' };
    } catch (err) {
      if (isGateError(err, 'ERR_NETBOX_UNMANAGED')) return { result: 'unmanaged' };
      return { result: 'failed', error: err instanceof Error ? err.message : String(err) };
    }
  };

  return {
    async deprovision(username, why) {
      if (typeof username !== 'string' || username === '') throw new TypeError('ERR_INVALID_ARG_VALUE: username must be a non-empty string');
      // NetBox first: its refusal of the user's tokens is what matters most, and the sessions
      // ending second cannot let a request in (NetBox already refuses the inactive user).
      const nb = await setActive(username, false);
      let sessionsEnded = 0;
      let sessionError: string | undefined;
      try {
        sessionsEnded = await sessions.endUserSessions(username);
      } catch (err) {
        sessionError = `sessions: ${err instanceof Error ? err.message : String(err)}`;
      }
      const o: LifecycleOutcome = { ...nb, sessionsEnded };
      if (sessionError) {
        o.result = 'failed';
        o.error = [nb.error, sessionError].filter(Boolean).join('; ');
      }
      if (o.result === 'deactivated' || o.result === 'already_inactive') {
        const rec: DeprovisionRecord = { trigger: why.trigger, detail: why.detail, at: now() };
        await store.set(deprovisionedKey(username), rec, RECORD_TTL).catch(() => undefined);
      }
      // Nothing happened at all (already inactive, no session): no line, so a sync that sees
      // the same gone user every interval does not repeat itself.
      if (!(o.result === 'already_inactive' && sessionsEnded === 0) && !(o.result === 'absent' && sessionsEnded === 0 && why.trigger === 'sync')) audit('deprovision', username, why, o);
      return o;
    },

    async reactivate(username, why, opts = {}) {
      if (typeof username !== 'string' || username === '') throw new TypeError('ERR_INVALID_ARG_VALUE: username must be a non-empty string');
      let o: LifecycleOutcome;
      try {
        // Read first: a sign-in of an active user (nearly all of them) costs one GET, no write.
        const u = await users.find(username);
        if (!u) o = { result: 'absent', sessionsEnded: 0 };
        else if (!users.isManaged(u)) o = { result: 'unmanaged', sessionsEnded: 0 };
        else if (u.is_active) o = { result: 'already_active', sessionsEnded: 0 };
        else o = { ...(await setActive(username, true)), sessionsEnded: 0 };
      } catch (err) {
        o = { result: 'failed', sessionsEnded: 0, error: err instanceof GateError || err instanceof Error ? err.message : String(err) };
      }
      if (o.result === 'reactivated' || o.result === 'already_active') await store.delete(deprovisionedKey(username)).catch(() => undefined);
      const nothing = o.result === 'already_active' || o.result === 'absent' || (o.result === 'unmanaged' && why.trigger === 'sign_in');
      if (!(opts.quiet && nothing)) audit('reactivate', username, why, o);
      return o;
    },
  };
}
