// OIDC sources: the discovery document (issuer must match, via the source's own discovery code)
// and the JWKS it names (fetched; at least one key usable for the accepted algorithms).
import { isGateError } from '../errors.js';
import { silentLogger } from '../types.js';
import type { ResolvedOidcConfig } from '../sources/oidc/config.js';
import { discover } from '../sources/oidc/discovery.js';
import { recordingFetch, type DoctorContext } from './context.js';
import { fetchJwks } from './jwks.js';
import { fail, pass, type CheckResult } from './report.js';

export async function checkOidc(ctx: DoctorContext, cfg: ResolvedOidcConfig): Promise<CheckResult[]> {
  const name = `source ${cfg.id}: oidc`;
  const fetchFn = recordingFetch(ctx);
  let meta: { issuer: string; jwks_uri?: string | undefined };
  try {
    const d = await discover(cfg, { logger: silentLogger, fetch: fetchFn, now: ctx.now });
    meta = d.c.serverMetadata();
  } catch (err) {
    const why = isGateError(err) ? err.message : (err as Error)?.message ?? String(err);
    return [fail(`${name} discovery`, why), fail(`${name} jwks`, 'not checked: discovery failed')];
  }
  const out = [pass(`${name} discovery`, `${cfg.issuer}/.well-known/openid-configuration names issuer ${meta.issuer}`)];
  if (!meta.jwks_uri) {
    out.push(fail(`${name} jwks`, 'the discovery document has no jwks_uri: ID tokens cannot be verified'));
    return out;
  }
  const v = await fetchJwks(meta.jwks_uri, fetchFn, cfg.timeout, cfg.idTokenSigningAlgorithms);
  out.push(v.ok ? pass(`${name} jwks`, v.detail) : fail(`${name} jwks`, v.detail));
  return out;
}
