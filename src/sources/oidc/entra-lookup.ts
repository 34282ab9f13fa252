// Directory sync for Entra ID: is this user (by object id) still there and enabled? Asked with
// the app's own token (client credentials, application permission User.Read.All), never the
// user's. It answers presence only: what a sign-in would give (app roles, token claims) cannot
// be rebuilt from Graph exactly, so the sync never changes groups from it (SCIM does that).
import * as oidc from 'openid-client';
import { GateError } from '../../errors.js';
import type { EntraConfig } from './entra.js';

export interface EntraLookupDeps {
  configuration: () => Promise<oidc.Configuration>;
  cfg: EntraConfig;
  fetch: typeof fetch;
  timeoutMs: number;
  now: () => number;
}

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createEntraLookup(deps: EntraLookupDeps): (oid: string, signal?: AbortSignal) => Promise<'present'> {
  const graph = deps.cfg.graphUrl.replace(/\/+$/, '');
  let cached: { token: string; until: number } | undefined;

  const appToken = async (): Promise<string> => {
    if (cached && cached.until > deps.now()) return cached.token;
    let t: oidc.TokenEndpointResponse;
    try {
      t = await oidc.clientCredentialsGrant(await deps.configuration(), { scope: `${new URL(graph).origin}/.default` });
    } catch (err) {
      throw new GateError('ERR_SOURCE_UNAVAILABLE', `Entra ID refused the app's client-credentials token: ${(err as Error).message}`, { cause: err });
    }
    // Renewed a minute before it expires.
    cached = { token: t.access_token, until: deps.now() + Math.max(0, (t.expires_in ?? 300) - 60) * 1000 };
    return t.access_token;
  };

  return async (oid, signal) => {
    if (!GUID_RE.test(oid)) throw new GateError('ERR_SOURCE_UNAVAILABLE', `no Entra object id recorded for this user (got ${JSON.stringify(oid.slice(0, 60))}); skipped until the next sign-in`);
    const token = await appToken();
    const timeout = AbortSignal.timeout(deps.timeoutMs);
    let res: Response;
    try {
      res = await deps.fetch(`${graph}/v1.0/users/${encodeURIComponent(oid)}?$select=id,accountEnabled`, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      throw new GateError('ERR_SOURCE_UNAVAILABLE', `Microsoft Graph could not be reached: ${(err as Error).message}`, { cause: err });
    }
    const body = (await res.json().catch(() => ({}))) as { accountEnabled?: unknown; error?: { code?: string } };
    if (res.status === 404) throw new GateError('ERR_AUTH_REJECTED', `Entra ID has no user with object id ${oid} (deleted)`, { detail: { reason: 'user_gone' } });
    if (res.status === 401 || res.status === 403) {
      if (res.status === 401) cached = undefined;
      throw new GateError(
        'ERR_SOURCE_CONFIG',
        `Microsoft Graph refused to read user ${oid} (HTTP ${res.status}${body.error?.code ? ` ${body.error.code}` : ''}): give the app registration the application permission User.Read.All and grant admin consent`,
        { detail: { status: res.status, permission: 'User.Read.All' } },
      );
    }
    if (!res.ok) throw new GateError('ERR_SOURCE_UNAVAILABLE', `Microsoft Graph answered HTTP ${res.status} for user ${oid}`, { detail: { status: res.status } });
    if (body.accountEnabled === false) throw new GateError('ERR_AUTH_REJECTED', `the Entra ID account ${oid} is disabled (accountEnabled false)`, { detail: { reason: 'account_disabled' } });
    if (body.accountEnabled !== true) throw new GateError('ERR_SOURCE_UNAVAILABLE', 'Microsoft Graph did not say whether the account is enabled');
    return 'present';
  };
}
