// Microsoft Entra ID groups for the OIDC source: the `groups` claim when it is complete, else
// (or always, with graphGroups) the user's transitive memberships from Microsoft Graph.
//
// API (called by the OIDC source after sign-in and on every refresh, with that grant's tokens):
//
//   resolveEntraGroups({ claims, accessToken, cfg, fetch, signal?, now?, sleep?, timeoutMs?, limits? })
//     -> { groups, groupNames?, appRoles, source, warnings }
//     groups      group object ids (GUIDs), de-duplicated, in Graph/claim order
//     groupNames  id -> displayName, only when cfg.resolveGroupNames and Graph released names
//     appRoles    the `roles` claim (app roles assigned to the user or one of their groups)
//     source      'graph' when the list came from Graph, 'claim' when from the ID token
//     warnings    non-fatal problems worth a log line (e.g. names asked for but not released)
//   Graph is asked when cfg.graphGroups is on, or when the token signals a groups overage
//   (`_claim_names.groups` with `_claim_sources`, or `hasgroups: true`): then the claim is
//   incomplete and using it would silently drop memberships, including ones deny rules look for.
//   Throws GateError: ERR_SOURCE_CONFIG when Graph refuses the token (names the permission and
//   scope to add), ERR_SOURCE_UNAVAILABLE when Graph cannot be read in bounds (pages, items,
//   retries, time), ERR_SOURCE_PROTOCOL for malformed claims or replies. Never a partial list.
//
//   entraAuthorizationScopes(cfg) -> the scopes the source requests at Entra.
//   applyEntraGroups(claims, result) -> claims with `groups` replaced, overage markers removed.
//   enrichEntraClaims(input) -> both steps for enrich.ts, with the source's fetch, clock, timeout.
import { GateError } from '../../errors.js';
import type { AttributeValue, Attributes } from '../../types.js';
import type { OidcSourceConfig } from './config.js';
import type { EnrichInput } from './enrich.js';
import { type DirectoryObject, GraphDeniedError, type GraphPageLimits, listDirectoryObjects } from './graph.js';

export type EntraConfig = NonNullable<OidcSourceConfig['entra']>;

export interface ResolveEntraGroupsOptions {
  /** ID token claims (merged with userinfo); only groups, hasgroups, _claim_*, roles, tid are read. */
  claims: Record<string, unknown>;
  /** The access token of the same grant; an access token for Microsoft Graph. */
  accessToken: string | undefined;
  cfg: EntraConfig;
  /** The tenant GUID that discovery resolved a domain tenantId to. */
  tenantId?: string;
  fetch: typeof fetch;
  signal?: AbortSignal;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Per Graph request; the OIDC source passes its own `timeout`. */
  timeoutMs?: number;
  limits?: Partial<GraphPageLimits>;
  /** Told of every Graph 429/503/504 (metrics). */
  onThrottled?: (status: number) => void;
}

export interface EntraGroups {
  groups: string[];
  groupNames?: Record<string, string>;
  appRoles: string[];
  source: 'claim' | 'graph';
  warnings: string[];
}

const GROUP_TYPE = '#microsoft.graph.group';
const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Microsoft documents /me/transitiveMemberOf with User.Read as the least privileged delegated
 * permission, but then releases only id and @odata.type of groups; display names need a group
 * read permission, of which GroupMember.Read.All is the least privileged.
 */
export function graphPermission(cfg: EntraConfig): 'User.Read' | 'GroupMember.Read.All' {
  return cfg.resolveGroupNames ? 'GroupMember.Read.All' : 'User.Read';
}

/** Scopes to request: OIDC basics, offline_access for the refresh token, and one Graph permission. */
export function entraAuthorizationScopes(cfg: EntraConfig): string[] {
  // A scope's resource is Graph's origin: graph.microsoft.com, or a national cloud's Graph.
  const resource = new URL(cfg.graphUrl).origin;
  return ['openid', 'profile', 'email', 'offline_access', `${resource}/${graphPermission(cfg)}`];
}

const DOMAIN_RE = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$/i;

export function isTenantGuid(tenantId: string): boolean {
  return GUID_RE.test(tenantId);
}

/** A problem with entra.tenantId, or undefined: it must name one tenant, by GUID or verified domain. */
export function entraTenantIssue(tenantId: string): { path: string; message: string } | undefined {
  if (GUID_RE.test(tenantId) || DOMAIN_RE.test(tenantId)) return undefined;
  if (['common', 'organizations', 'consumers'].includes(tenantId.toLowerCase())) {
    return {
      path: 'entra.tenantId',
      message: `"${tenantId}" is a multi-tenant authority and would let users of other tenants sign in; give your tenant id (a GUID) or one of its verified domains (contoso.onmicrosoft.com)`,
    };
  }
  return { path: 'entra.tenantId', message: `"${tenantId}" is neither a tenant id (GUID) nor a domain such as contoso.onmicrosoft.com` };
}

/**
 * The issuer to discover for a tenant given by domain. Entra answers discovery at the domain
 * authority (`<login>/contoso.onmicrosoft.com/v2.0`) but names the GUID issuer
 * (`<login>/<tenant-guid>/v2.0`), which is what ID tokens carry: read it from there, check that
 * it is that tenant's issuer on the same login host, and discover and validate against it.
 * Throws GateError: ERR_SOURCE_UNAVAILABLE when Entra cannot be asked, ERR_SOURCE_CONFIG when
 * the domain is not a tenant's (Entra answers 400 AADSTS90002) or the answer is not of that shape.
 */
export async function resolveEntraIssuer(
  e: Pick<EntraConfig, 'tenantId' | 'loginUrl'>,
  fetchFn: typeof fetch,
  timeoutMs: number,
): Promise<{ issuer: string; tenantId: string }> {
  const login = e.loginUrl.replace(/\/+$/, '');
  const url = `${login}/${encodeURIComponent(e.tenantId)}/v2.0/.well-known/openid-configuration`;
  let res: Response;
  try {
    res = await fetchFn(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new GateError('ERR_SOURCE_UNAVAILABLE', `Entra discovery for tenant ${e.tenantId} (${url}) failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }
  if (res.status >= 500) throw new GateError('ERR_SOURCE_UNAVAILABLE', `Entra discovery for tenant ${e.tenantId} answered HTTP ${res.status}`);
  const body = (await res.json().catch(() => undefined)) as { issuer?: unknown; error_description?: unknown } | undefined;
  if (res.status !== 200) {
    const why = typeof body?.error_description === 'string' ? `: ${body.error_description.split(/\r?\n| Trace ID/)[0]}` : '';
    throw new GateError(
      'ERR_SOURCE_CONFIG',
      `Entra does not know the tenant "${e.tenantId}" (HTTP ${res.status}${why}); set entra.tenantId to your tenant id (Overview page of Microsoft Entra ID) or one of its verified domains`,
    );
  }
  const issuer = typeof body?.issuer === 'string' ? body.issuer : '';
  const prefix = `${login}/`;
  const guid = issuer.startsWith(prefix) && issuer.endsWith('/v2.0') ? issuer.slice(prefix.length, -'/v2.0'.length) : '';
  if (!GUID_RE.test(guid)) {
    throw new GateError('ERR_SOURCE_CONFIG', `Entra discovery for tenant "${e.tenantId}" names the issuer "${issuer}", not a tenant issuer of the form ${login}/<tenant-id>/v2.0`);
  }
  return { issuer, tenantId: guid.toLowerCase() };
}

/** True when the token says its groups claim is incomplete (Microsoft's "groups overage"). */
export function hasGroupsOverage(claims: Record<string, unknown>): boolean {
  if (claims.hasgroups === true || claims.hasgroups === 'true') return true;
  const names = claims._claim_names;
  const sources = claims._claim_sources;
  return (
    names !== null &&
    typeof names === 'object' &&
    Object.hasOwn(names, 'groups') &&
    sources !== null &&
    typeof sources === 'object'
  );
}

export async function resolveEntraGroups(opts: ResolveEntraGroupsOptions): Promise<EntraGroups> {
  const { claims, cfg } = opts;
  checkTenant(claims, cfg, opts.tenantId);
  const appRoles = stringList(claims.roles, 'roles');
  const overage = hasGroupsOverage(claims);
  const warnings: string[] = [];

  if (cfg.graphGroups || overage) {
    const objects = await readMemberships(opts, overage ? 'the ID token signals a groups overage' : 'graphGroups is on');
    const groups: string[] = [];
    const names: Record<string, string> = {};
    const seen = new Set<string>();
    for (const o of objects) {
      // Directory roles and administrative units share the collection; only groups count.
      if (o['@odata.type'] !== GROUP_TYPE || seen.has(o.id)) continue;
      seen.add(o.id);
      groups.push(o.id);
      if (o.displayName) names[o.id] = o.displayName;
    }
    const out: EntraGroups = { groups, appRoles, source: 'graph', warnings };
    if (cfg.resolveGroupNames) {
      if (groups.length > 0 && Object.keys(names).length === 0) warnings.push(namesWithheld());
      out.groupNames = names;
    }
    return out;
  }

  const groups = [...new Set(stringList(claims.groups, 'groups'))];
  const out: EntraGroups = { groups, appRoles, source: 'claim', warnings };
  if (cfg.resolveGroupNames && groups.length > 0) {
    // Names are for logs and explain only: a Graph failure here must not block a sign-in that
    // the claim alone decides, so it becomes a warning.
    try {
      const objects = await readMemberships(opts, 'resolveGroupNames is on');
      const wanted = new Set(groups);
      const names: Record<string, string> = {};
      for (const o of objects) if (o['@odata.type'] === GROUP_TYPE && wanted.has(o.id) && o.displayName) names[o.id] = o.displayName;
      if (Object.keys(names).length === 0) warnings.push(namesWithheld());
      out.groupNames = names;
    } catch (err) {
      warnings.push(`group display names not resolved: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return out;
}

/** The claims the identity is built from: `groups` holds the resolved ids; overage markers go. */
export function applyEntraGroups(claims: Attributes, result: EntraGroups): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(claims)) {
    if (k === '_claim_names' || k === '_claim_sources' || k === 'hasgroups') continue;
    out[k] = v;
  }
  out.groups = [...result.groups];
  if (result.groupNames) out.groupNames = { ...result.groupNames } as { [key: string]: AttributeValue };
  return out;
}

async function readMemberships(opts: ResolveEntraGroupsOptions, why: string): Promise<DirectoryObject[]> {
  if (!opts.accessToken) {
    throw new GateError('ERR_SOURCE_CONFIG', `Entra groups must come from Microsoft Graph (${why}) but the token response has no access token`);
  }
  // /me (not /users/{oid}) because it needs only the signed-in user's delegated User.Read.
  // No OData cast to microsoft.graph.group: Microsoft requires ConsistencyLevel: eventual for it,
  // an index that can lag behind a removal; we filter on @odata.type ourselves instead.
  const url = `${opts.cfg.graphUrl.replace(/\/+$/, '')}/v1.0/me/transitiveMemberOf?$select=id,displayName&$top=999`;
  const limits: Partial<GraphPageLimits> = { ...opts.limits };
  if (opts.timeoutMs !== undefined) limits.timeoutMs = opts.timeoutMs;
  const list = { url, accessToken: opts.accessToken, fetch: opts.fetch, limits } as Parameters<typeof listDirectoryObjects>[0];
  if (opts.signal) list.signal = opts.signal;
  if (opts.sleep) list.sleep = opts.sleep;
  if (opts.now) list.now = opts.now;
  if (opts.onThrottled) list.onThrottled = opts.onThrottled;
  try {
    return await listDirectoryObjects(list);
  } catch (err) {
    if (err instanceof GraphDeniedError) throw denied(err, opts.cfg);
    throw err;
  }
}

function denied(err: GraphDeniedError, cfg: EntraConfig): GateError {
  const perm = graphPermission(cfg);
  const scope = `${new URL(cfg.graphUrl).origin}/${perm}`;
  const what = err.status === 401 ? 'rejected the access token' : 'refused to list the signed-in user\'s groups';
  return new GateError(
    'ERR_SOURCE_CONFIG',
    `Microsoft Graph ${what} (HTTP ${err.status}${err.graphCode ? ` ${err.graphCode}` : ''}). ` +
      `Give the app registration the delegated Microsoft Graph permission ${perm}, grant admin consent, ` +
      `and request the scope "${scope}" (it is in the entra preset's default scopes; add it if you set scopes yourself)`,
    { cause: err, detail: { status: err.status, permission: perm, scope } },
  );
}

function namesWithheld(): string {
  return 'Microsoft Graph released no group display names; grant the delegated permission GroupMember.Read.All (and admin consent) for resolveGroupNames';
}

function checkTenant(claims: Record<string, unknown>, cfg: EntraConfig, resolvedTenantId?: string): void {
  // openid-client already binds the issuer (which holds the tenant); this catches a tenant-
  // independent issuer configured by hand ("organizations", "common") letting other tenants in.
  const tenant = GUID_RE.test(cfg.tenantId) ? cfg.tenantId : resolvedTenantId;
  if (!tenant) return;
  if (typeof claims.tid === 'string' && claims.tid.toLowerCase() !== tenant.toLowerCase()) {
    throw new GateError('ERR_AUTH_FAILED', `the ID token is from tenant ${claims.tid}, not the configured ${cfg.tenantId}`, {
      detail: { claim: 'tid' },
    });
  }
}

function stringList(value: unknown, claim: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new GateError('ERR_SOURCE_PROTOCOL', `the "${claim}" claim is not a list of strings`, { detail: { claim } });
  }
  return value as string[];
}

/** The OIDC source's enrichment step for the entra preset (sign-in and every refresh). */
export async function enrichEntraClaims(input: EnrichInput): Promise<Attributes> {
  const { cfg, claims, deps } = input;
  if (!cfg.entra) {
    if (hasGroupsOverage(claims)) {
      throw new GateError('ERR_SOURCE_CONFIG', `the ID token's groups claim is incomplete (groups overage); give source "${cfg.id}" an entra block (tenantId) so groups come from Microsoft Graph`);
    }
    return claims;
  }
  const opts: ResolveEntraGroupsOptions = {
    claims,
    accessToken: input.accessToken,
    cfg: cfg.entra,
    fetch: deps.fetch ?? globalThis.fetch,
    timeoutMs: cfg.timeout,
  };
  if (input.signal) opts.signal = input.signal;
  if (input.tenantId) opts.tenantId = input.tenantId;
  if (deps.now) opts.now = deps.now;
  const metrics = deps.metrics;
  if (metrics) opts.onThrottled = (status) => metrics.graphThrottled({ source: cfg.id, status });
  const result = await resolveEntraGroups(opts);
  for (const w of result.warnings) deps.logger.warn({}, w);
  deps.logger.debug({ groupSource: result.source, groups: result.groups.length, appRoles: result.appRoles.length }, 'entra groups resolved');
  return applyEntraGroups(claims, result);
}
