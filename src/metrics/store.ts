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
    update: counted('update', (k: string, v: unknown, ttl: number) => store.update(k, v, ttl)),
    delete: counted('delete', (k: string) => store.delete(k)),
    take: counted('take', (k: string) => store.take(k)) as KeyValueStore['take'],
    tryLock: counted('tryLock', (k: string, ttl: number) => store.tryLock(k, ttl)),
    addToIndex: counted('addToIndex', (i: string, m: string, ttl: number) => store.addToIndex(i, m, ttl)),
    removeFromIndex: counted('removeFromIndex', (i: string, m: string) => store.removeFromIndex(i, m)),
    indexMembers: counted('indexMembers', (i: string) => store.indexMembers(i)),
    keys: counted('keys', (p: string) => store.keys(p)),
    increment: counted('increment', (k: string, ttl: number) => store.increment(k, ttl)),
    counter: counted('counter', (k: string) => store.counter(k)),
    close: () => store.close(),
  };
  if (store.getShared) wrapped.getShared = counted('get', (k: string) => store.getShared!(k)) as NonNullable<KeyValueStore['getShared']>;
  // Methods the interface does not list (a Redis store's own extras) stay reachable.
  return Object.assign(Object.create(store) as S, wrapped);
}
