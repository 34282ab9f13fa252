// Encryption at rest for any store (sessions hold refresh tokens): AES-256-GCM with the
// configured keys, the first encrypting and all decrypting, so keys can be rotated by putting
// a new one first. The stored key name is bound in as associated data, so a value cannot be
// moved to another key. A value that cannot be decrypted reads as absent: a signed-out user,
// never a crash.
import { createCipheriv, createDecipheriv, createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import type { Logger } from '../types.js';
import { ASK, deepFreeze, type KeyValueStore } from './store.js';

const VERSION = 'v1';
const IV = 12;
const TAG = 16;
/** Only sessions are read again and again; single-use values (sign-in state) are not remembered. */
const CACHED_PREFIX = 'sess:';

/** A short public name of a key (not the key): tells which key sealed a value. */
export const keyId = (key: Buffer) => createHash('sha256').update('netbox-gate key id').update(key).digest('base64url').slice(0, 8);

export function createEncryptedStore(inner: KeyValueStore, opts: { keys: readonly Buffer[]; logger: Logger }): KeyValueStore {
  if (opts.keys.length === 0) throw new TypeError('ERR_INVALID_ARG_VALUE: createEncryptedStore needs at least one key');
  for (const k of opts.keys) if (k.length !== 32) throw new TypeError('ERR_INVALID_ARG_VALUE: an encryption key is 32 bytes');
  // KeyObjects made once: a raw Buffer key makes every cipher import the key again (about a
  // third of the decryption's cost in a profile of the signed-in request path).
  const byId = new Map<string, KeyObject>(opts.keys.map((k) => [keyId(k), createSecretKey(k)] as const));
  const current = createSecretKey(opts.keys[0]!);
  const currentId = keyId(opts.keys[0]!);
  // The plaintext of the last sealed value seen under each key, by the exact stored string: a
  // session read on every request is decrypted once, not per request. Correct across replicas
  // and key rotation: every write seals with a fresh IV, so any change (here or on another
  // replica) is a different stored string and is opened again. Bounded (cleared when full).
  const opened = new Map<string, { stored: string; plaintext: string; shared?: unknown }>();
  const MAX_OPENED = 1024;
  const remember = (storeKey: string, stored: string, plaintext: string) => {
    if (opened.size >= MAX_OPENED && !opened.has(storeKey)) opened.clear();
    opened.set(storeKey, { stored, plaintext });
  };
  // Said once per reason and process: a rotated-out key would otherwise log on every request.
  const warned = new Set<string>();
  const unreadable = (storeKey: string, reason: string) => {
    if (warned.has(reason)) return undefined;
    warned.add(reason);
    opts.logger.warn({ key: storeKey.replace(/:.*/, ':…'), reason }, `a stored value cannot be decrypted (${reason}); it reads as signed out`);
    return undefined;
  };

  const seal = (storeKey: string, value: unknown): string => {
    const iv = randomBytes(IV);
    const c = createCipheriv('aes-256-gcm', current, iv);
    c.setAAD(Buffer.from(storeKey));
    const plaintext = JSON.stringify(value);
    const body = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
    const stored = `${VERSION}.${currentId}.${Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url')}`;
    if (storeKey.startsWith(CACHED_PREFIX)) remember(storeKey, stored, plaintext);
    return stored;
  };
  const open = <T>(storeKey: string, stored: unknown): T | undefined => {
    if (stored === undefined) return undefined;
    if (typeof stored !== 'string') return unreadable(storeKey, 'not encrypted');
    const hit = opened.get(storeKey);
    if (hit && hit.stored === stored) {
      hit.stored = stored; // the same text; keeping this copy lets the next check be by identity
      return JSON.parse(hit.plaintext) as T;
    }
    const [version, id, data] = stored.split('.');
    if (version !== VERSION || !id || !data) return unreadable(storeKey, 'not encrypted');
    const key = byId.get(id);
    if (!key) return unreadable(storeKey, `written with key ${id}, which is not in sessions.encryptionKeys`);
    const raw = Buffer.from(data, 'base64url');
    if (raw.length <= IV + TAG) return unreadable(storeKey, 'truncated');
    try {
      const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV));
      d.setAAD(Buffer.from(storeKey));
      d.setAuthTag(raw.subarray(IV, IV + TAG));
      const plaintext = Buffer.concat([d.update(raw.subarray(IV + TAG)), d.final()]).toString('utf8');
      const value = JSON.parse(plaintext) as T;
      if (storeKey.startsWith(CACHED_PREFIX)) remember(storeKey, stored, plaintext);
      return value;
    } catch {
      return unreadable(storeKey, `authentication failed with key ${id}`);
    }
  };

  // getShared: the opened plaintext parsed once and frozen, for as long as the stored value is
  // the one last seen (any write, here or on another replica, is a new stored string).
  const openShared = <T>(storeKey: string, stored: unknown): T | undefined => {
    const hit = opened.get(storeKey);
    if (typeof stored === 'string' && hit && hit.stored === stored) {
      hit.stored = stored;
      return (hit.shared ??= deepFreeze(JSON.parse(hit.plaintext) as unknown)) as T;
    }
    const value = open<T>(storeKey, stored);
    const now = opened.get(storeKey);
    if (value === undefined || !now || now.stored !== stored) return value;
    return (now.shared = deepFreeze(value)) as T;
  };

  return {
    get: async <T>(key: string) => open<T>(key, await inner.get<unknown>(key)),
    getShared: async <T>(key: string) => openShared<T>(key, await inner.get<unknown>(key)),
    peek: (key) => {
      const stored = inner.peek ? inner.peek(key) : ASK;
      return stored === ASK ? ASK : open(key, stored);
    },
    peekShared: <T>(key: string) => {
      const stored = inner.peek ? inner.peek(key) : ASK;
      return stored === ASK ? ASK : openShared<T>(key, stored);
    },
    set: (key, value, ttlMs) => inner.set(key, seal(key, value), ttlMs),
    update: (key, value, ttlMs) => inner.update(key, seal(key, value), ttlMs),
    delete: (key) => {
      opened.delete(key);
      return inner.delete(key);
    },
    take: async <T>(key: string) => {
      opened.delete(key);
      return open<T>(key, await inner.take<unknown>(key));
    },
    // Locks and indexes hold only random tokens and session ids: nothing to hide.
    tryLock: (key, ttlMs) => inner.tryLock(key, ttlMs),
    addToIndex: (name, member, ttlMs) => inner.addToIndex(name, member, ttlMs),
    removeFromIndex: (name, member) => inner.removeFromIndex(name, member),
    indexMembers: (name) => inner.indexMembers(name),
    keys: (prefix) => inner.keys(prefix),
    // Counters are numbers under hashed names (rate-limit.ts): nothing to hide either.
    increment: (key, ttlMs) => inner.increment(key, ttlMs),
    counter: (key) => inner.counter(key),
    close: () => inner.close(),
  };
}
