// Where gateway sessions live. One small key/value interface so the in-memory store and the
// shared store (Redis) run the same shared test suite (test/unit/store/store-suite.ts).

/** What peek and peekShared answer when only the store itself (over the network) can say. */
export const ASK: unique symbol = Symbol('ask the store');

export interface KeyValueStore {
  get<T>(key: string): Promise<T | undefined>;
  /**
   * Optional: the value as one object shared by every caller and deeply frozen (a change
   * throws), parsed once per stored value rather than per read. For the session read on every
   * request; a caller that needs to change it copies it first.
   */
  getShared?<T>(key: string): Promise<Readonly<T> | undefined>;
  /**
   * Optional: what `get` would give, when that is known in this process without waiting (the
   * memory store's value, a Redis value the cache holds and Redis has not invalidated); ASK
   * when only the store can say.
   */
  peek?(key: string): unknown;
  /**
   * Optional: `getShared` without waiting, or ASK. The signed-in request uses it to go on to
   * NetBox without an await: an await there lets the rest of Node's work on the request run
   * first, on the way to NetBox (pipeline.ts).
   */
  peekShared?<T>(key: string): Readonly<T> | undefined | typeof ASK;
  /** Stores a JSON-serialisable value; it disappears after ttlMs. */
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  /**
   * Replaces a value only while the key still exists; false when it is gone. Updates of a
   * session use it so a session deleted meanwhile (revoked, signed out on another replica)
   * is not written back by a request that read it earlier.
   */
  update(key: string, value: unknown, ttlMs: number): Promise<boolean>;
  delete(key: string): Promise<void>;
  /** Get and delete in one step (single-use values). */
  take<T>(key: string): Promise<T | undefined>;
  /** Optional: how many live keys start with this prefix (the active-sessions gauge). */
  count?(prefix: string): Promise<number>;
  /**
   * A lock held until released or until ttlMs passes (a holder that dies frees it then);
   * undefined when another holder has it. Nobody but the holder can release it.
   */
  tryLock(key: string, ttlMs: number): Promise<StoreLock | undefined>;
  /** Adds a member to a named set (e.g. a user's sessions); the set lives at least ttlMs. */
  addToIndex(index: string, member: string, ttlMs: number): Promise<void>;
  removeFromIndex(index: string, member: string): Promise<void>;
  /** The members of a named set; may hold members whose value has expired since. */
  indexMembers(index: string): Promise<string[]>;
  /** Every live key that starts with the prefix (administration, never the request path). */
  keys(prefix: string): Promise<string[]>;
  /**
   * Adds one to a counter that lives ttlMs from its first increment (a fixed window), and
   * returns the new count and the time left. Counters are shared by every gateway using the
   * store, so sign-in limits hold across replicas.
   */
  increment(key: string, ttlMs: number): Promise<Counter>;
  /** A counter's current value without counting; undefined when there is none. */
  counter(key: string): Promise<Counter | undefined>;
  close(): Promise<void>;
}

export interface Counter {
  count: number;
  /** Milliseconds until the counter's window ends. */
  ttlMs: number;
}

export interface StoreLock {
  release(): Promise<void>;
}

/** Freezes a parsed JSON value and everything in it (what getShared hands out). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}
