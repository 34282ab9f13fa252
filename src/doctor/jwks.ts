// Fetches a JSON Web Key Set and says whether it holds keys that can check a signature with the
// algorithms the config accepts (an empty set, or only encryption keys, is a failure).
import type { JWK } from 'jose';
import { importJWK } from 'jose/key/import';

export interface JwksVerdict {
  ok: boolean;
  detail: string;
}

const BY_KTY: Record<string, readonly string[]> = {
  RSA: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'],
  EC: ['ES256', 'ES384', 'ES512'],
  OKP: ['EdDSA', 'Ed25519'],
};

/** Judges a parsed JWKS: how many keys import for one of `algorithms`. */
export async function judgeJwks(jwks: unknown, algorithms: readonly string[]): Promise<JwksVerdict> {
  const keys = (jwks as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return { ok: false, detail: 'the document is not a JWK Set (no "keys" array)' };
  if (keys.length === 0) return { ok: false, detail: 'the key set is empty' };
  let usable = 0;
  const problems: string[] = [];
  for (const k of keys as JWK[]) {
    if (typeof k !== 'object' || k === null) continue;
    if (k.use === 'enc') continue;
    const candidates = k.alg ? [k.alg] : (BY_KTY[k.kty ?? ''] ?? []);
    const alg = candidates.find((a) => algorithms.includes(a));
    if (!alg) {
      problems.push(`${k.kid ?? k.kty ?? 'a key'}: ${k.alg ?? k.kty} not among the accepted algorithms`);
      continue;
    }
    try {
      await importJWK(k, alg);
      usable++;
    } catch (err) {
      problems.push(`${k.kid ?? 'a key'}: ${(err as Error).message}`);
    }
  }
  if (usable === 0) return { ok: false, detail: `no usable signing key among ${keys.length} (${problems.join('; ') || 'only encryption keys'})` };
  return { ok: true, detail: `${usable} usable signing key${usable === 1 ? '' : 's'} of ${keys.length}` };
}

/** GETs a JWKS with a deadline; the verdict, or a failure naming what went wrong. */
export async function fetchJwks(url: string, fetchFn: typeof fetch, timeoutMs: number, algorithms: readonly string[]): Promise<JwksVerdict> {
  let res: Response;
  try {
    res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), headers: { Accept: 'application/json' }, redirect: 'manual' });
  } catch (err) {
    return { ok: false, detail: `cannot fetch ${url}: ${describeFetchError(err)}` };
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    return { ok: false, detail: `${url} answered HTTP ${res.status}` };
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return { ok: false, detail: `${url} did not return JSON` };
  }
  const v = await judgeJwks(body, algorithms);
  return { ok: v.ok, detail: `${url}: ${v.detail}` };
}

export function describeFetchError(err: unknown): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'timed out';
  const code = e?.cause?.code;
  return code ? `${code}${e.cause?.message && !e.cause.message.includes(code) ? ` (${e.cause.message})` : ''}` : (e?.cause?.message ?? e?.message ?? String(err));
}
