// Loads a module the first time it is needed, synchronously (require() of an ES module, Node >=
// 22.12), so code a gateway's config does not use (a source kind's client library, SCIM) costs
// nothing in it.

import { createRequire } from 'node:module';

/**
 * A getter for `specifier` (resolved from `from`, a module's import.meta.url) that loads it on
 * its first call and returns the same namespace afterwards. The module is the one `import`
 * would give (one instance: classes and `instanceof` agree), so a source's factory stays
 * synchronous while its implementation, and libraries such as openid-client or ldapts, load
 * only when a source of that kind is built (sources/factory.ts), and SCIM only once it is
 * enabled (gateway/routes.ts). Idle RSS of `serve` (issue 11) is the reason.
 */
export function loadOnUse<T>(from: string, specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= createRequire(from)(specifier) as T);
}
