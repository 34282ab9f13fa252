// Short-lived state the browser carries for us (a pending sign-in, a refusal to show after a
// redirect), sealed with AES-256-GCM: the browser can neither read nor alter it, and the
// server keeps nothing an unauthenticated client could multiply (oauth2-proxy keeps its CSRF
// state in a cookie for the same reason). Each purpose is bound in as associated data, so a
// value sealed for one cookie is refused by another.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface Sealer {
  seal(purpose: string, value: unknown, ttlMs: number): string;
  /** undefined for anything tampered, expired, sealed for another purpose or by another key. */
  open<T>(purpose: string, sealed: string | undefined): T | undefined;
}

const IV = 12;
const TAG = 16;

export function createSealer(opts: { key?: Buffer; now?: () => number } = {}): Sealer {
  // A process-wide random key: sealed values live minutes and survive config reloads. Replicas
  // that must open each other's values need a shared key (the shared-store work brings one).
  const key = opts.key ?? randomBytes(32);
  if (key.length !== 32) throw new TypeError('ERR_INVALID_ARG_VALUE: a sealing key is 32 bytes');
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
      try {
        const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV));
        d.setAAD(Buffer.from(purpose));
        d.setAuthTag(raw.subarray(IV, IV + TAG));
        const text = Buffer.concat([d.update(raw.subarray(IV + TAG)), d.final()]).toString('utf8');
        const o = JSON.parse(text) as { v: T; e: number };
        return typeof o.e === 'number' && o.e > now() ? o.v : undefined;
      } catch {
        return undefined;
      }
    },
  };
}
