// A session store wrapped so every failed operation is counted; behaviour is unchanged (the
// error still reaches the caller, which answers the request as before).
import type { KeyValueStore } from '../store/store.js';
import type { GatewayMetrics } from './hooks.js';

export function instrumentStore<S extends KeyValueStore>(store: S, metrics: Pick<GatewayMetrics, 'storeError'>): S {
  const counted =
    <A extends unknown[], R>(operation: string, f: (...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> => {
      try {
        return await f(...a);
      } catch (err) {
        metrics.storeError({ operation });
        throw err;
      }
    };
  const wrapped: KeyValueStore = {
    get: counted('get', (k: string) => store.get(k)) as KeyValueStore['get'],
    set: counted('set', (k: string, v: unknown, ttl: number) => store.set(k, v, ttl)),
    delete: counted('delete', (k: string) => store.delete(k)),
    take: counted('take', (k: string) => store.take(k)) as KeyValueStore['take'],
    close: () => store.close(),
  };
  // Methods the interface does not list (a Redis store's own extras) stay reachable.
  return Object.assign(Object.create(store) as S, wrapped);
}
