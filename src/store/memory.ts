// The embedded default store: Maps with expiry. Values are copied through JSON so callers
// cannot mutate stored state by accident and behaviour matches a networked store.
import { randomUUID } from 'node:crypto';
import type { KeyValueStore } from './store.js';

export function createMemoryStore(opts: { now?: () => number; sweepEveryMs?: number } = {}): KeyValueStore {
  const now = opts.now ?? Date.now;
  const data = new Map<string, { value: string; expiresAt: number }>();
  const indexes = new Map<string, { members: Set<string>; expiresAt: number }>();
  const sweep = setInterval(() => {
    const t = now();
    for (const [k, v] of data) if (v.expiresAt <= t) data.delete(k);
    for (const [k, v] of indexes) if (v.expiresAt <= t) indexes.delete(k);
  }, opts.sweepEveryMs ?? 60_000);
  sweep.unref();

  const live = (key: string) => {
    const hit = data.get(key);
    if (hit && hit.expiresAt <= now()) {
      data.delete(key);
      return undefined;
    }
    return hit;
  };
  const read = <T>(key: string): T | undefined => {
    const hit = live(key);
    return hit ? (JSON.parse(hit.value) as T) : undefined;
  };
  const liveIndex = (name: string) => {
    const hit = indexes.get(name);
    if (hit && hit.expiresAt <= now()) {
      indexes.delete(name);
      return undefined;
    }
    return hit;
  };
  const put = (key: string, value: unknown, ttlMs: number) => data.set(key, { value: JSON.stringify(value), expiresAt: now() + ttlMs });

  return {
    async get<T>(key: string) {
      return read<T>(key);
    },
    async set(key, value, ttlMs) {
      put(key, value, ttlMs);
    },
    async update(key, value, ttlMs) {
      if (!live(key)) return false;
      put(key, value, ttlMs);
      return true;
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
    async tryLock(key, ttlMs) {
      if (live(key)) return undefined;
      const token = randomUUID();
      put(key, token, ttlMs);
      return {
        async release() {
          if (read(key) === token) data.delete(key);
        },
      };
    },
    async addToIndex(name, member, ttlMs) {
      const expiresAt = now() + ttlMs;
      const hit = liveIndex(name);
      if (!hit) indexes.set(name, { members: new Set([member]), expiresAt });
      else {
        hit.members.add(member);
        hit.expiresAt = Math.max(hit.expiresAt, expiresAt);
      }
    },
    async removeFromIndex(name, member) {
      const hit = liveIndex(name);
      hit?.members.delete(member);
      if (hit && hit.members.size === 0) indexes.delete(name);
    },
    async indexMembers(name) {
      return [...(liveIndex(name)?.members ?? [])];
    },
    async keys(prefix) {
      return [...data.keys()].filter((k) => k.startsWith(prefix) && live(k));
    },
    async increment(key, ttlMs) {
      const t = now();
      const hit = data.get(key);
      if (!hit || hit.expiresAt <= t) {
        put(key, 1, ttlMs);
        return { count: 1, ttlMs };
      }
      const count = (JSON.parse(hit.value) as number) + 1;
      hit.value = JSON.stringify(count);
      return { count, ttlMs: hit.expiresAt - t };
    },
    async counter(key) {
      const t = now();
      const hit = data.get(key);
      if (!hit || hit.expiresAt <= t) return undefined;
      return { count: JSON.parse(hit.value) as number, ttlMs: hit.expiresAt - t };
    },
    async close() {
      clearInterval(sweep);
      data.clear();
      indexes.clear();
    },
  };
}
