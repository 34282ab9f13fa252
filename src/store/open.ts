// Builds the store sessions.store asks for, wrapped in encryption at rest when
// sessions.encryptionKeys is set. `serve` and the `sessions` command open it the same way.
import type { GateConfig } from '../config/load.js';
import { decodeEncryptionKey } from '../config/encryption-key.js';
import type { Logger } from '../types.js';
import { createEncryptedStore } from './encrypted.js';
import { createMemoryStore } from './memory.js';
import type { KeyValueStore } from './store.js';

export type SessionsConfig = GateConfig['sessions'];

/** The configured keys as bytes (the config has validated them). */
export function encryptionKeysOf(cfg: SessionsConfig): Buffer[] {
  return (cfg.encryptionKeys ?? []).map((k) => decodeEncryptionKey(k)!);
}

/**
 * Opens the configured store. `cachePrefixes`: keys a Redis store keeps in process. A redis store is given up to its connect timeout to answer;
 * when it does not, the gateway starts anyway (503 until Redis is there) and says so.
 */
export async function openStore(cfg: SessionsConfig, logger: Logger, opts: { cachePrefixes?: readonly string[] } = {}): Promise<KeyValueStore> {
  let store: KeyValueStore;
  const st = cfg.store;
  if (st.type === 'redis') {
    // ioredis is imported only for a redis store: a memory-store gateway never loads it (idle RSS).
    const { createRedisStore, describeRedisTarget } = await import('./redis.js');
    const r = createRedisStore({
      url: st.url,
      sentinels: st.sentinels,
      name: st.name,
      username: st.username,
      password: st.password,
      sentinelPassword: st.sentinelPassword,
      tls: st.tls,
      keyPrefix: st.keyPrefix,
      connectTimeout: st.connectTimeout,
      commandTimeout: st.commandTimeout,
      // `serve` caches sessions in process (kept correct by Redis's invalidations); a one-shot
      // command (`sessions list`) has nothing to gain from it.
      cachePrefixes: opts.cachePrefixes,
      logger,
    });
    if (await r.ready()) logger.info({ store: describeRedisTarget(st) }, 'session store connected');
    else logger.warn({ store: describeRedisTarget(st) }, 'session store not reachable yet; requests that need it answer 503 until it is');
    store = r;
  } else {
    store = createMemoryStore();
  }
  const keys = encryptionKeysOf(cfg);
  return keys.length ? createEncryptedStore(store, { keys, logger }) : store;
}
