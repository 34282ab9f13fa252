// Upstream proxy sources: the proxy's JWKS (Pomerium, authentik) must be reachable and hold a
// usable key. oauth2-proxy's plain headers leave nothing to probe from here: a warning says so.
import { readFileSync } from 'node:fs';
import type { UpstreamSourceConfig } from '../sources/upstream/config.js';
import { recordingFetch, type DoctorContext } from './context.js';
import { fetchJwks, judgeJwks } from './jwks.js';
import { fail, pass, warn, type CheckResult } from './report.js';

export async function checkUpstream(ctx: DoctorContext, cfg: UpstreamSourceConfig): Promise<CheckResult[]> {
  const name = `source ${cfg.id}: upstream jwks`;
  const j = cfg.jwt;
  if (cfg.mode === 'headers' || !j) {
    return [warn(`source ${cfg.id}: upstream`, 'plain identity headers (oauth2-proxy): nothing doctor can probe; make sure only the proxy (trustedAddresses) can reach the gateway')];
  }
  if (j.jwksFile !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(j.jwksFile, 'utf8'));
    } catch (err) {
      return [fail(name, `cannot read ${j.jwksFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)];
    }
    const v = await judgeJwks(parsed, j.algorithms);
    return [v.ok ? pass(name, `${j.jwksFile}: ${v.detail}`) : fail(name, `${j.jwksFile}: ${v.detail}`)];
  }
  // The same derivation as the source (upstream/index.ts): authentik's per-application JWKS.
  const base = cfg.authentik ? `${cfg.authentik.url.replace(/\/+$/, '')}/application/o/${cfg.authentik.slug}/` : undefined;
  const url = j.jwksUrl ?? (base ? `${base}jwks/` : undefined);
  if (!url) return [warn(name, 'no JWKS URL configured: nothing to probe')];
  const v = await fetchJwks(url, recordingFetch(ctx), j.timeout, j.algorithms);
  return [v.ok ? pass(name, v.detail) : fail(name, v.detail)];
}
