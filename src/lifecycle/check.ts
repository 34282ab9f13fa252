// What `check` says about the lifecycle section: which sources the sync can ask and which it
// cannot, and that nothing of it works without netbox.api. Pure (config in, notices out).
import type { ResolvedSourceConfig } from '../sources/registry.js';
import type { LifecycleConfig } from './schema.js';

export type { LifecycleConfig } from './schema.js';

/** Whether directory sync can ask this source about a user without the user. */
export function canLookUp(src: ResolvedSourceConfig): boolean {
  const c = src as unknown as Record<string, unknown>;
  switch (src.kind) {
    case 'ldap':
      return c['bindDn'] !== undefined; // the service account searches for the user
    case 'oidc':
      return c['entra'] !== undefined && c['clientSecret'] !== undefined; // Graph, client credentials: presence only
    case 'tacacs':
      return (c['authorization'] as { enabled?: boolean } | undefined)?.enabled !== false; // RFC 8907 §6, no password
    default:
      return false;
  }
}

export function lifecycleNotices(lc: LifecycleConfig, hasApi: boolean, sources: ResolvedSourceConfig[]): Array<{ path: Array<string | number>; message: string }> {
  const out: Array<{ path: Array<string | number>; message: string }> = [];
  if (!hasApi) {
    out.push({ path: ['lifecycle'], message: 'netbox.api is not set: deprovisioning, reactivation and directory sync are off (the gateway cannot change NetBox users without a token)' });
    return out;
  }
  if (lc.sync) {
    const asked = lc.sync.sources ? sources.filter((s) => lc.sync!.sources!.includes(s.id)) : sources;
    for (const s of asked) {
      if (s.kind === 'oidc' && canLookUp(s)) {
        out.push({ path: ['lifecycle', 'sync', 'sources'], message: `source "${s.id}" (Entra ID) is asked for presence only: deleted or disabled accounts are deprovisioned, group changes wait for the next sign-in or SCIM; the app registration needs the application permission User.Read.All` });
        continue;
      }
      if (canLookUp(s) || s.kind === 'radius') continue;
      const why =
        s.kind === 'oidc'
          ? 'only Entra ID (the entra preset with a clientSecret) can be asked, through Microsoft Graph; other providers have no lookup: their sessions are re-checked by refresh, and SCIM can push changes'
          : s.kind === 'ldap'
            ? 'it has no bindDn: without a service account the user cannot be looked up'
            : s.kind === 'tacacs'
              ? 'authorization is disabled: the server is never asked about the user'
              : 'this kind of source cannot be asked about a user';
      out.push({ path: ['lifecycle', 'sync', 'sources'], message: `source "${s.id}" is skipped by directory sync: ${why}` });
    }
  }
  if (lc.radiusInactivity !== undefined && !sources.some((s) => s.kind === 'radius')) {
    out.push({ path: ['lifecycle', 'radiusInactivity'], message: 'no RADIUS source is configured: radiusInactivity has nothing to do' });
  }
  if (lc.radiusInactivity !== undefined && !lc.sync) {
    out.push({ path: ['lifecycle', 'radiusInactivity'], message: 'applied by the directory sync: set lifecycle.sync too' });
  }
  return out;
}
