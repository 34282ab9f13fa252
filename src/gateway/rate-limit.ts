// Fixed-window attempt counters for the password form, per user name and per client
// address. In memory: limits are per gateway instance (documented).

export interface RateLimiter {
  /** Seconds to wait, or 0 when this attempt may go ahead (and is counted). */
  hit(key: string): number;
  reset(key: string): void;
  /** Seconds to wait without counting an attempt. */
  peek(key: string): number;
}

export function createRateLimiter(attempts: number, windowMs: number, now: () => number = Date.now): RateLimiter {
  const windows = new Map<string, { start: number; count: number }>();
  const current = (key: string) => {
    const t = now();
    let w = windows.get(key);
    if (!w || t - w.start >= windowMs) {
      w = { start: t, count: 0 };
      windows.set(key, w);
    }
    if (windows.size > 100_000) for (const [k, v] of windows) if (t - v.start >= windowMs) windows.delete(k);
    return { w, t };
  };
  const wait = (w: { start: number }, t: number) => Math.max(1, Math.ceil((w.start + windowMs - t) / 1000));
  return {
    hit(key) {
      const { w, t } = current(key);
      if (w.count >= attempts) return wait(w, t);
      w.count++;
      return 0;
    },
    peek(key) {
      const { w, t } = current(key);
      return w.count >= attempts ? wait(w, t) : 0;
    },
    reset(key) {
      windows.delete(key);
    },
  };
}
