// The embedded default store: Maps with expiry. Values are copied through JSON so callers
// cannot mutate stored state by accident and behaviour matches a networked store.
import { randomUUID } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { deepFreeze, type KeyValueStore } from './store.js';

// Values larger than this (sessions: 2.2 KB of JSON for the demo IdP's tokens) are kept
// deflated, with a dictionary of what every session's JSON holds, so twenty thousand sessions
// take about a third less memory (issue 11: at most 2 KB a session). Kept as a one-byte
// string, so the heap holds it (and measures it), not a Buffer outside it.
const COMPRESS_ABOVE = 768;
const DICTIONARY = Buffer.from(
  '{"sourceId":"","identity":{"sourceId":"","sourceKind":"oidc","subject":"","username":"","email":"","firstName":"","lastName":"","groups":[],' +
    '"attributes":{"sub":"","preferred_username":"","email":"","email_verified":true,"given_name":"","family_name":"","name":"","groups":[]}},' +
    '"sourceState":{"idToken":"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6I","refreshToken":"","accessToken":"",' +
    '"claims":{"sub":"","preferred_username":"","email":"","email_verified":true,"given_name":"","family_name":"","name":"","groups":[]},"refreshable":true},' +
    '"decision":{"allowed":true,"sourceId":"","username":"","email":"","firstName":"","lastName":"","groups":[],"superuser":false,"staff":false,"trace":[{"rule":"","matched":true}]},' +
    '"policyVersion":"","createdAt":17,"lastSeenAt":17,"refreshedAt":17,"verifiedAt":17,"clientIp":"127.0.0.1","netboxSession":"","netboxFingerprint":"","logId":""}',
);
// The JSON of the values read last (by the exact stored string): a session read on every
// request is inflated once, not per request. Bounded: cleared when full.
const INFLATED_MAX = 1024;

export function createMemoryStore(opts: { now?: () => number; sweepEveryMs?: number } = {}): KeyValueStore {
  const now = opts.now ?? Date.now;
  const data = new Map<string, { value: string; expiresAt: number; deflated?: true }>();
  const inflated = new Map<string, { stored: string; json: string }>();
  const jsonOf = (key: string, hit: { value: string; deflated?: true }): string => {
    if (!hit.deflated) return hit.value;
    const c = inflated.get(key);
    if (c && c.stored === hit.value) return c.json;
    const json = inflateRawSync(Buffer.from(hit.value, 'latin1'), { dictionary: DICTIONARY }).toString('utf8');
    if (inflated.size >= INFLATED_MAX) inflated.clear();
    inflated.set(key, { stored: hit.value, json });
    return json;
  };
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
    return hit ? (JSON.parse(jsonOf(key, hit)) as T) : undefined;
  };
  // getShared's parsed and frozen values, by the exact stored string (bounded like `inflated`).
  const shared = new Map<string, { stored: string; value: unknown }>();
  const readShared = <T>(key: string): T | undefined => {
    const hit = live(key);
    if (!hit) return undefined;
    const c = shared.get(key);
    if (c && c.stored === hit.value) return c.value as T;
    const value = deepFreeze(JSON.parse(jsonOf(key, hit)) as unknown);
    if (shared.size >= INFLATED_MAX && !shared.has(key)) shared.clear();
    shared.set(key, { stored: hit.value, value });
    return value as T;
  };
  const liveIndex = (name: string) => {
    const hit = indexes.get(name);
    if (hit && hit.expiresAt <= now()) {
      indexes.delete(name);
      return undefined;
    }
    return hit;
  };
  const put = (key: string, value: unknown, ttlMs: number) => {
    const json = JSON.stringify(value);
    if (json.length <= COMPRESS_ABOVE) {
      data.set(key, { value: json, expiresAt: now() + ttlMs });
      return;
    }
    const stored = deflateRawSync(json, { dictionary: DICTIONARY }).toString('latin1');
    data.set(key, { value: stored, expiresAt: now() + ttlMs, deflated: true });
    if (inflated.size >= INFLATED_MAX && !inflated.has(key)) inflated.clear();
    inflated.set(key, { stored, json });
  };

  return {
    async get<T>(key: string) {
      return read<T>(key);
    },
    async getShared<T>(key: string) {
      return readShared<T>(key);
    },
    peek: (key) => read(key),
    peekShared: <T>(key: string) => readShared<T>(key),
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
      inflated.delete(key);
      shared.delete(key);
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
      const count = (JSON.parse(jsonOf(key, hit)) as number) + 1;
      hit.value = JSON.stringify(count);
      return { count, ttlMs: hit.expiresAt - t };
    },
    async counter(key) {
      const t = now();
      const hit = data.get(key);
      if (!hit || hit.expiresAt <= t) return undefined;
      return { count: JSON.parse(jsonOf(key, hit)) as number, ttlMs: hit.expiresAt - t };
    },
    async close() {
      clearInterval(sweep);
      data.clear();
      inflated.clear();
      indexes.clear();
    },
  };
}
