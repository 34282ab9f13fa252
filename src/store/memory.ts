// The embedded default store: a Map with expiry. Values are copied through JSON so callers
// cannot mutate stored state by accident and behaviour matches a networked store.
import type { KeyValueStore } from './store.js';

export function createMemoryStore(opts: { now?: () => number; sweepEveryMs?: number } = {}): KeyValueStore {
  const now = opts.now ?? Date.now;
  const data = new Map<string, { value: string; expiresAt: number }>();
  const sweep = setInterval(() => {
    const t = now();
    for (const [k, v] of data) if (v.expiresAt <= t) data.delete(k);
  }, opts.sweepEveryMs ?? 60_000);
  sweep.unref();

  const read = <T>(key: string): T | undefined => {
    const hit = data.get(key);
    if (!hit) return undefined;
    if (hit.expiresAt <= now()) {
      data.delete(key);
      return undefined;
    }
    return JSON.parse(hit.value) as T;
  };

  return {
    async get<T>(key: string) {
      return read<T>(key);
    },
    async set(key, value, ttlMs) {
      data.set(key, { value: JSON.stringify(value), expiresAt: now() + ttlMs });
    },
    async delete(key) {
      data.delete(key);
    },
    async take<T>(key: string) {
      const v = read<T>(key);
      data.delete(key);
      return v;
    },
    async count(prefix) {
      const t = now();
      let n = 0;
      for (const [k, v] of data) if (v.expiresAt > t && k.startsWith(prefix)) n++;
      return n;
    },
    async close() {
      clearInterval(sweep);
      data.clear();
    },
  };
}
