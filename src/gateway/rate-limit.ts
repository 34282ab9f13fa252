// Fixed-window attempt counters for the password form, per user name and per client
// address. In memory: limits are per gateway instance (documented). The state is bounded
// (at most `maxKeys` counters) and every call does O(1) work, so a flood of new names or
// addresses costs the attacker, not the gateway: a Map keeps insertion order, a counter is
// re-inserted when its window restarts, so the Map's head is always the oldest window.
import { createHash } from 'node:crypto';
import type { Counter, KeyValueStore } from '../store/store.js';

export interface RateLimiter {
  /** Seconds to wait, or 0 when this attempt may go ahead (and is counted). */
  hit(key: string): number;
  reset(key: string): void;
  /** Seconds to wait without counting an attempt; never creates a counter. */
  peek(key: string): number;
  /** Counters held and Map entries touched so far (tests check both stay bounded). */
  stats(): { keys: number; touched: number };
}

export interface RateLimit {
  attempts: number;
  windowMs: number;
}

export interface RateLimiterOptions {
  /**
   * The limit, read on every call, so a config reload changes the limit but keeps the counts
   * (a reload must not hand an attacker a fresh window).
   */
  limit: () => RateLimit;
  /** Hard cap on counters; past it the oldest window is dropped. */
  maxKeys: () => number;
  now?: () => number;
}

/** Expired counters dropped from the head per insertion: constant work, still keeps up. */
const SWEEP_PER_INSERT = 2;

export function createRateLimiter(o: RateLimiterOptions): RateLimiter {
  const now = o.now ?? Date.now;
  const windows = new Map<string, { start: number; count: number }>();
  let touched = 0;

  const live = (key: string, t: number, windowMs: number) => {
    touched++;
    const w = windows.get(key);
    return w && t - w.start < windowMs ? w : undefined;
  };
  const wait = (w: { start: number }, t: number, windowMs: number) => Math.max(1, Math.ceil((w.start + windowMs - t) / 1000));

  const insert = (key: string, t: number, windowMs: number) => {
    windows.delete(key);
    // Drop expired windows from the head (the oldest), then make room under the cap.
    for (let i = 0; i < SWEEP_PER_INSERT; i++) {
      const head = windows.entries().next();
      if (head.done) break;
      touched++;
      if (t - head.value[1].start < windowMs) break;
      windows.delete(head.value[0]);
    }
    const cap = Math.max(1, o.maxKeys());
    while (windows.size >= cap) {
      touched++;
      windows.delete(windows.keys().next().value!);
    }
    const w = { start: t, count: 0 };
    windows.set(key, w);
    return w;
  };

  return {
    hit(key) {
      const { attempts, windowMs } = o.limit();
      const t = now();
      const w = live(key, t, windowMs) ?? insert(key, t, windowMs);
      if (w.count >= attempts) return wait(w, t, windowMs);
      w.count++;
      return 0;
    },
    peek(key) {
      const { attempts, windowMs } = o.limit();
      const t = now();
      const w = live(key, t, windowMs);
      return w && w.count >= attempts ? wait(w, t, windowMs) : 0;
    },
    reset(key) {
      windows.delete(key);
    },
    stats: () => ({ keys: windows.size, touched }),
  };
}

/**
 * The password form's limits as one object: per client address and per user name, in this
 * process and, with a shared store (Redis), across every replica. The in-process limiters go
 * first: they are bounded and cost nothing, and an attempt they refuse never reaches the store,
 * so a flood cannot fill Redis either. Names and addresses reach the store only as hashes.
 */
export interface SignInLimits {
  /** Seconds to wait, or 0 when the attempt may go ahead (the address's attempt is counted). */
  admit(address: string, userKey: string): Promise<number>;
  /** The source refused the credentials: counts against the user name. */
  failed(userKey: string): Promise<void>;
  /** A successful sign-in clears the user name's count. */
  succeeded(userKey: string): Promise<void>;
}

export interface SharedCounters {
  store: Pick<KeyValueStore, 'increment' | 'counter' | 'delete'>;
  user: () => RateLimit;
  address: () => RateLimit;
}

const counterKey = (kind: 'a' | 'u', key: string) => `rl:${kind}:${createHash('sha256').update(key).digest('base64url')}`;
const waitSeconds = (c: Counter | undefined, attempts: number) => (c && c.count > attempts ? Math.max(1, Math.ceil(c.ttlMs / 1000)) : 0);

export function createSignInLimits(o: { user: RateLimiter; address: RateLimiter; shared?: SharedCounters }): SignInLimits {
  const { shared } = o;
  return {
    async admit(address, userKey) {
      const local = Math.max(o.address.hit(address), o.user.peek(userKey));
      if (local > 0 || !shared) return local;
      const a = shared.address();
      const u = shared.user();
      const [addr, user] = await Promise.all([shared.store.increment(counterKey('a', address), a.windowMs), shared.store.counter(counterKey('u', userKey))]);
      // The user count is read, not counted: only refused credentials count against a name.
      return Math.max(waitSeconds(addr, a.attempts), waitSeconds(user && { ...user, count: user.count + 1 }, u.attempts));
    },
    async failed(userKey) {
      o.user.hit(userKey);
      if (shared) await shared.store.increment(counterKey('u', userKey), shared.user().windowMs);
    },
    async succeeded(userKey) {
      o.user.reset(userKey);
      if (shared) await shared.store.delete(counterKey('u', userKey));
    },
  };
}
