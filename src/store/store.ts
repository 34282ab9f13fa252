// Where gateway sessions and pending sign-ins live. One small key/value interface so the
// in-memory store and a shared store (Redis) run the same shared test suite.

export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>;
  /** Stores a JSON-serialisable value; it disappears after ttlMs. */
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** Get and delete in one step (pending sign-ins are single use). */
  take<T>(key: string): Promise<T | undefined>;
  /** Optional: how many live keys start with this prefix (the active-sessions gauge). */
  count?(prefix: string): Promise<number>;
  close(): Promise<void>;
}
