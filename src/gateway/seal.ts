// Short-lived state the browser carries for us (a pending sign-in, a refusal to show after a
// redirect), sealed with AES-256-GCM: the browser can neither read nor alter it, and the
// server keeps nothing an unauthenticated client could multiply (oauth2-proxy keeps its CSRF
// state in a cookie for the same reason). Each purpose is bound in as associated data, so a
// value sealed for one cookie is refused by another.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

export interface Sealer {
  seal(purpose: string, value: unknown, ttlMs: number): string;
  /** undefined for anything tampered, expired, sealed for another purpose or by another key. */
  open<T>(purpose: string, sealed: string | undefined): T | undefined;
}

const IV = 12;
const TAG = 16;

/**
 * The sealing key for a configured session key (sessions.encryptionKeys): HKDF with a purpose
 * label, so the key that encrypts the store never seals a cookie itself.
 */
export const sealingKey = (sessionKey: Buffer): Buffer => Buffer.from(hkdfSync('sha256', sessionKey, Buffer.alloc(0), 'netbox-gate cookie sealing v1', 32));

/**
 * `keys`: the configured session keys, first seals, all open (rotation), so every replica opens
 * what another sealed. Without any, a random per-process key (one gateway, memory store):
 * sealed values live minutes and survive config reloads.
 */
export function createSealer(opts: { key?: Buffer; keys?: readonly Buffer[]; now?: () => number } = {}): Sealer {
  const keys = opts.key ? [opts.key] : opts.keys?.length ? opts.keys.map(sealingKey) : [randomBytes(32)];
  for (const k of keys) if (k.length !== 32) throw new TypeError('ERR_INVALID_ARG_VALUE: a sealing key is 32 bytes');
  const key = keys[0]!;
  const now = opts.now ?? Date.now;
  return {
    seal(purpose, value, ttlMs) {
      const iv = randomBytes(IV);
      const c = createCipheriv('aes-256-gcm', key, iv);
      c.setAAD(Buffer.from(purpose));
      const body = Buffer.concat([c.update(JSON.stringify({ v: value, e: now() + ttlMs }), 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
    },
    open<T>(purpose: string, sealed: string | undefined): T | undefined {
      if (!sealed || sealed.length > 8192) return undefined;
      const raw = Buffer.from(sealed, 'base64url');
      if (raw.length <= IV + TAG) return undefined;
      for (const k of keys) {
        let text: string;
        try {
          const d = createDecipheriv('aes-256-gcm', k, raw.subarray(0, IV));
          d.setAAD(Buffer.from(purpose));
          d.setAuthTag(raw.subarray(IV, IV + TAG));
          text = Buffer.concat([d.update(raw.subarray(IV + TAG)), d.final()]).toString('utf8');
        } catch {
          continue; // sealed by another key (or tampered with)
        }
        try {
          const o = JSON.parse(text) as { v: T; e: number };
          return typeof o.e === 'number' && o.e > now() ? o.v : undefined;
        } catch {
          return undefined;
        }
      }
      return undefined;
    },
  };
}
