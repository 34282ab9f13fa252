// Loads a module the first time it is needed, synchronously (require() of an ES module, Node >=
// 22.12), so a source kind's client library costs nothing in a gateway that has no such source.

import { createRequire } from 'node:module';

/**
 * A getter for `specifier` (resolved from `from`, a module's import.meta.url) that loads it on
 * its first call and returns the same namespace afterwards. The module is the one `import`
 * would give (one instance: classes and `instanceof` agree), so a kind's `create` stays
 * synchronous while its implementation, and libraries such as openid-client or ldapts, load
 * only when a source of that kind is built. Idle RSS of `serve` (issue 11) is the reason.
 */
export function loadOnUse<T>(from: string, specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= createRequire(from)(specifier) as T);
}
