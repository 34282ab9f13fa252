// Reading values out of claims/attribute objects by dotted path (`realm_access.roles`).
// Pure; used by sources (claim paths) and the policy (claim criteria).
import type { AttributeValue, Attributes } from './types.js';

/**
 * Value at a dotted path. A key that itself contains dots (e.g. Keycloak's
 * `https://example.com/groups` or RADIUS `Cisco-AVPair`) is tried whole first.
 */
export function getPath(attrs: Attributes, path: string): AttributeValue | undefined {
  if (Object.hasOwn(attrs, path)) return attrs[path];
  const parts = path.split('.');
  let cur: AttributeValue | undefined = attrs;
  for (let i = 0; i < parts.length; i++) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    const rest = parts.slice(i).join('.');
    if (Object.hasOwn(cur, rest)) return cur[rest];
    const key = parts[i]!;
    if (!Object.hasOwn(cur, key)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** Flattens a value to the strings a matcher compares against (arrays give each element). */
export function valueStrings(value: AttributeValue | undefined): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v) => valueStrings(v));
  if (typeof value === 'object') return [];
  return [String(value)];
}

export function firstString(value: AttributeValue | undefined): string | undefined {
  const all = valueStrings(value);
  return all.length > 0 && all[0] !== '' ? all[0] : undefined;
}
