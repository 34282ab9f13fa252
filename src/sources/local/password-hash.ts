// argon2id password hashes in the PHC string format ($argon2id$v=19$m=...,t=...,p=...$salt$hash),
// made and checked with node:crypto's argon2 (Node >= 24.7): no native npm dependency to build.
import * as crypto from 'node:crypto';
import { timingSafeEqual } from 'node:crypto';

/** argon2id cost parameters: memory in KiB, passes (t) and lanes (p). */
export interface Argon2Params {
  memory: number;
  passes: number;
  parallelism: number;
}

/** A parsed PHC string: what verification needs, decoded once when the users file is read. */
export interface PasswordHash {
  params: Argon2Params;
  salt: Buffer;
  hash: Buffer;
}

/**
 * RFC 9106 §4, second recommended option (64 MiB, 3 passes, 4 lanes): about 0.2 s per check on
 * one core, which is slow for a guesser and fine for the few sign-ins a break-glass account sees.
 */
export const DEFAULT_PARAMS: Readonly<Argon2Params> = Object.freeze({ memory: 65_536, passes: 3, parallelism: 4 });

// Bounds on what a users file may ask for: a hash that needs 4 GiB per check would let anyone
// with the sign-in form exhaust the gateway's memory.
const MAX_MEMORY_KIB = 1_048_576;
const MAX_PASSES = 64;
const SALT_BYTES = 16;
const TAG_BYTES = 32;

type Argon2Fn = (
  algorithm: 'argon2id',
  parameters: { message: string | Buffer; nonce: Buffer; parallelism: number; tagLength: number; memory: number; passes: number },
  callback: (err: Error | null, derived: Buffer) => void,
) => void;

// @types/node does not describe crypto.argon2 yet; read it through a narrow type.
const argon2 = (crypto as unknown as { argon2?: Argon2Fn }).argon2;

/** Whether this Node has node:crypto argon2 (24.7 and later). */
export const argon2Available = typeof argon2 === 'function';

export const ARGON2_MISSING = `argon2id needs Node.js 24.7 or later (node:crypto argon2); this is Node.js ${process.versions.node}`;

function derive(password: string | Buffer, salt: Buffer, params: Argon2Params, tagLength: number): Promise<Buffer> {
  if (!argon2) return Promise.reject(new Error(ARGON2_MISSING));
  return new Promise((resolve, reject) => {
    argon2('argon2id', { message: password, nonce: salt, tagLength, ...params }, (err, derived) => (err ? reject(err) : resolve(derived)));
  });
}

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

/** The PHC string for `hash`: what the users file holds. */
export function formatPhc(h: PasswordHash): string {
  const { memory, passes, parallelism } = h.params;
  return `$argon2id$v=19$m=${memory},t=${passes},p=${parallelism}$${b64(h.salt)}$${b64(h.hash)}`;
}

/** A new argon2id hash of `password` with a random salt, as a PHC string. */
export async function hashPassword(password: string, params: Argon2Params = DEFAULT_PARAMS): Promise<string> {
  const salt = crypto.randomBytes(SALT_BYTES);
  return formatPhc({ params, salt, hash: await derive(password, salt, params, TAG_BYTES) });
}

const B64_RE = /^[A-Za-z0-9+/]+$/;

/**
 * Parses a PHC string; returns the reason when it is not an argon2id hash this gateway checks.
 * PHC base64 has no padding; the standard alphabet is what the reference argon2 tools emit.
 */
export function parsePhc(text: string): PasswordHash | { error: string } {
  if (/^\$2[abxy]?\$/.test(text)) return { error: 'bcrypt hashes are not supported; make an argon2id hash with `netbox-gate hash-password`' };
  if (/^\$argon2(i|d)\$/.test(text)) return { error: 'only argon2id hashes are accepted (this one is argon2i or argon2d)' };
  const m = /^\$argon2id\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/.exec(text);
  if (!m) return { error: 'expected an argon2id PHC string: $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>' };
  if (m[1] !== '19') return { error: `argon2 version ${m[1]} is not supported (expected v=19)` };
  const [memory, passes, parallelism] = [Number(m[2]), Number(m[3]), Number(m[4])];
  if (parallelism < 1 || parallelism > 255) return { error: `p=${parallelism}: lanes must be 1 to 255` };
  if (passes < 1 || passes > MAX_PASSES) return { error: `t=${passes}: passes must be 1 to ${MAX_PASSES}` };
  if (memory < 8 * parallelism || memory > MAX_MEMORY_KIB) return { error: `m=${memory}: memory must be at least 8 KiB per lane and at most ${MAX_MEMORY_KIB} KiB` };
  if (!B64_RE.test(m[5]!) || !B64_RE.test(m[6]!)) return { error: 'salt and hash must be unpadded base64' };
  const salt = Buffer.from(m[5]!, 'base64');
  const hash = Buffer.from(m[6]!, 'base64');
  if (salt.length < 8) return { error: `the salt is ${salt.length} bytes; at least 8 are needed` };
  if (hash.length < 16 || hash.length > 64) return { error: `the hash is ${hash.length} bytes; expected 16 to 64` };
  return { params: { memory, passes, parallelism }, salt, hash };
}

/** Whether `password` matches; the comparison takes the same time wherever the bytes differ. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  const derived = await derive(password, stored.salt, stored.params, stored.hash.length);
  return timingSafeEqual(derived, stored.hash);
}

/**
 * A hash no password matches (random salt and tag), with the given cost: checking an unknown
 * user against it costs what checking a real user costs, so timing does not tell who exists.
 */
export function decoyHash(params: Argon2Params): PasswordHash {
  return { params, salt: crypto.randomBytes(SALT_BYTES), hash: crypto.randomBytes(TAG_BYTES) };
}
