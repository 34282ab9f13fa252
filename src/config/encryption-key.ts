// Session encryption keys as the config writes them; shared by the config schema and the store
// (which runs in the serving process, where the schemas are not loaded).

/**
 * A session encryption key: 32 random bytes as 64 hex digits or base64/base64url (44 or 43
 * characters). Undefined for anything else; the caller names the field, never the value.
 */
export function decodeEncryptionKey(s: string): Buffer | undefined {
  const t = s.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const b = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === 32) return b;
  }
  return undefined;
}
