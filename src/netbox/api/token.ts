// A NetBox API token as the config gives it, turned into the Authorization header NetBox
// expects. NetBox itself tells v2 from v1 by the `nbt_` prefix (netbox/api/authentication.py),
// so the gateway does exactly the same and never guesses otherwise.

/** NetBox's TOKEN_PREFIX for v2 tokens (users/constants.py). */
const V2_PREFIX = 'nbt_';

export interface NetboxTokenInfo {
  version: 1 | 2;
  /** The whole header value: `Bearer nbt_<key>.<token>` or `Token <token>`. */
  authorization: string;
  /** Why the value does not look like a token NetBox issues (a notice, not an error: NetBox decides). */
  problem?: string;
}

/**
 * Accepts the bare token or the value with its keyword (`Bearer …`, `Token …`), as copied from
 * NetBox's token page or an existing client config.
 */
export function describeNetboxToken(value: string): NetboxTokenInfo {
  const bare = value.trim().replace(/^(Bearer|Token)\s+/i, '');
  if (bare.startsWith(V2_PREFIX)) {
    const info: NetboxTokenInfo = { version: 2, authorization: `Bearer ${bare}` };
    if (!/^nbt_[A-Za-z0-9]+\.[A-Za-z0-9]+$/.test(bare)) info.problem = 'a v2 token looks like nbt_<key>.<token> (letters and digits, one dot); NetBox will refuse this one';
    return info;
  }
  const info: NetboxTokenInfo = { version: 1, authorization: `Token ${bare}` };
  if (!/^[0-9a-f]{40}$/i.test(bare)) info.problem = 'neither a v2 token (nbt_<key>.<token>) nor a v1 token (40 hexadecimal characters); it is sent as a v1 token';
  return info;
}
