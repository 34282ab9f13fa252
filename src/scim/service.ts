// The SCIM 2.0 service provider (RFC 7644) as a function of a request, without HTTP: routing,
// authentication, Users and Groups in the store, list paging and filters, PATCH, ETags, and the
// lifecycle calls that carry a change to NetBox. http.ts adapts it to node:http.
import type { KeyValueStore } from '../store/store.js';
import type { Logger } from '../types.js';
import { bearerVerifier } from './auth.js';
import { ScimError, badRequest, notFound, scimErrorBody } from './errors.js';
import { compileFilter, parseFilter, type Json } from './filter.js';
import type { ScimLifecycle } from './lifecycle.js';
import { scimIdentity } from './lifecycle.js';
import { applyPatch } from './patch.js';
import { groupFields, userFields, type GroupFields, type UserFields } from './resource.js';
import {
  GROUP_ATTRIBUTES,
  GROUP_SCHEMA,
  LIST_SCHEMA,
  MAX_RESULTS,
  USER_ATTRIBUTES,
  USER_SCHEMA,
  resourceTypeDocuments,
  schemaDocuments,
  serviceProviderConfig,
} from './schemas.js';
import { scimState, type StoredGroup, type StoredUser } from './state.js';

export interface ScimRequest {
  method: string;
  /** The path below the SCIM base, e.g. `/Users/1234`. */
  path: string;
  query: URLSearchParams;
  authorization?: string;
  ifMatch?: string;
  /** Parsed JSON body, or undefined; `bodyError` when it was not JSON. */
  body?: unknown;
  bodyError?: string;
}

export interface ScimResponse {
  status: number;
  body?: unknown;
  headers: Record<string, string>;
}

export interface ScimServiceOptions {
  store: KeyValueStore;
  lifecycle: ScimLifecycle;
  tokens: readonly string[];
  /** Source id of the `scim` identity (what policy rules name in `sources:`). */
  sourceId: string;
  /** Absolute URL of the SCIM base (`https://netbox.example.com/.netbox-gate/scim/v2`). */
  baseUrl: string;
  logger: Logger;
  now?: () => number;
}

const etag = (v: number) => `W/"${v}"`;

export function createScimService(o: ScimServiceOptions) {
  const state = scimState(o.store, o.now);
  const verify = bearerVerifier(o.tokens);
  const log = o.logger.child({ component: 'scim' });
  const base = o.baseUrl.replace(/\/+$/, '');

  // ---- representation ----
  async function groupsOf(userId: string): Promise<StoredGroup[]> {
    return (await state.all<GroupFields>('group')).filter((g) => g.fields.members.some((m) => m.value === userId));
  }

  function userJson(u: StoredUser, groups: StoredGroup[]): Json {
    return {
      schemas: [USER_SCHEMA],
      id: u.id,
      ...u.fields,
      groups: groups.map((g) => ({ value: g.id, $ref: `${base}/Groups/${g.id}`, display: g.fields.displayName })),
      meta: { resourceType: 'User', created: u.created, lastModified: u.lastModified, location: `${base}/Users/${u.id}`, version: etag(u.version) },
    };
  }

  function groupJson(g: StoredGroup): Json {
    // display is what the client sent (scim2-tester checks it comes back unchanged).
    const members = g.fields.members.map((m) => ({ ...m, $ref: `${base}/Users/${m.value}`, type: 'User' }));
    return {
      schemas: [GROUP_SCHEMA],
      id: g.id,
      ...g.fields,
      members,
      meta: { resourceType: 'Group', created: g.created, lastModified: g.lastModified, location: `${base}/Groups/${g.id}`, version: etag(g.version) },
    };
  }

  /** `attributes` / `excludedAttributes` (RFC 7644 §3.9), top-level names; id and schemas always stay. */
  function project(r: Json, q: URLSearchParams): Json {
    const names = (s: string | null) => (s ? s.split(',').map((x) => x.trim().replace(/^urn:.*:/, '').split('.')[0]!.toLowerCase()) : undefined);
    const only = names(q.get('attributes'));
    const except = names(q.get('excludedAttributes'));
    if (!only && !except) return r;
    const out: Json = {};
    for (const [k, v] of Object.entries(r)) {
      const l = k.toLowerCase();
      const always = k === 'id' || k === 'schemas' || k === 'meta';
      if (always || ((!only || only.includes(l)) && !(except?.includes(l)))) out[k] = v;
    }
    return out;
  }

  const ok = (status: number, body: Json | undefined, extra: Record<string, string> = {}): ScimResponse => ({ status, ...(body ? { body } : {}), headers: extra });

  function checkIfMatch(req: ScimRequest, version: number): void {
    if (req.ifMatch && req.ifMatch.trim() !== '*' && !req.ifMatch.split(',').map((s) => s.trim()).includes(etag(version))) {
      throw new ScimError(412, `If-Match ${req.ifMatch} does not match the current version ${etag(version)}`);
    }
  }

  // ---- lists ----
  function paging(q: URLSearchParams): { start: number; count: number } {
    const num = (name: string, dflt: number) => {
      const s = q.get(name);
      if (s === null || s === '') return dflt;
      if (!/^-?\d+$/.test(s)) throw badRequest('invalidValue', `${name} must be an integer, not ${JSON.stringify(s)}`);
      return Number(s);
    };
    // RFC 7644 §3.4.2.4: startIndex < 1 is 1; a negative count is 0.
    return { start: Math.max(1, num('startIndex', 1)), count: Math.min(MAX_RESULTS, Math.max(0, num('count', 100))) };
  }

  async function resourcesOf(kind: 'user' | 'group', filterText: string | null): Promise<Json[]> {
    const defs = kind === 'user' ? USER_ATTRIBUTES : GROUP_ATTRIBUTES;
    const schema = kind === 'user' ? USER_SCHEMA : GROUP_SCHEMA;
    const match = filterText ? compileFilter(parseFilter(filterText), defs, schema) : () => true;
    let resources: Json[];
    if (kind === 'user') {
      const groups = await state.all<GroupFields>('group');
      resources = (await state.all<UserFields>('user')).map((u) => userJson(u, groups.filter((g) => g.fields.members.some((m) => m.value === u.id))));
    } else {
      resources = (await state.all<GroupFields>('group')).map(groupJson);
    }
    return resources.filter(match);
  }

  /** A ListResponse over one resource type, or both (POST /.search at the root). */
  async function list(kinds: Array<'user' | 'group'>, q: URLSearchParams): Promise<ScimResponse> {
    const { start, count } = paging(q);
    const hits: Json[] = [];
    for (const k of kinds) hits.push(...(await resourcesOf(k, q.get('filter'))));
    const page = hits.slice(start - 1, start - 1 + count).map((r) => project(r, q));
    return ok(200, { schemas: [LIST_SCHEMA], totalResults: hits.length, itemsPerPage: page.length, startIndex: start, Resources: page });
  }

  // ---- carrying a change to NetBox ----
  async function syncUser(before: StoredUser | undefined, after: StoredUser, groups: string[], previousGroups: string[] | undefined, why: string): Promise<void> {
    const f = after.fields;
    if (before && before.fields.userName.toLowerCase() !== f.userName.toLowerCase()) {
      await o.lifecycle.deactivate(before.fields.userName, `SCIM: renamed to ${f.userName}`);
    }
    if (f.active === false) {
      // Every write of an inactive user deprovisions again: idempotent, and a retry after a
      // NetBox outage completes what the first attempt could not.
      await o.lifecycle.deactivate(f.userName, why);
    } else {
      const identity = scimIdentity(o.sourceId, after.id, f, groups);
      const wasActive = before ? before.fields.active !== false : true;
      if (!wasActive || (before && !before.synced)) await o.lifecycle.activate(f.userName, why);
      const prev = before ? JSON.stringify(scimIdentity(o.sourceId, before.id, before.fields, previousGroups ?? groups)) : undefined;
      if (prev !== JSON.stringify(identity) || !before?.synced) await o.lifecycle.groupsChanged(f.userName, identity);
    }
    await state.setSynced(after, true);
  }

  /** Runs the lifecycle; a failure leaves the record unsynced and answers 503 so the client retries. */
  async function carry(fn: () => Promise<void>, userName: string): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      log.error({ event: 'scim_sync_failed', user: userName, err: reason }, 'SCIM: change stored, NetBox not updated');
      throw new ScimError(503, `the change is stored but NetBox could not be updated (${reason}); the client should retry`);
    }
  }

  // ---- Users ----
  async function uniqueUserName(userName: string, self?: string) {
    const id = await state.idByName('user', userName);
    if (id && id !== self && (await state.get('user', id))) throw new ScimError(409, `userName ${JSON.stringify(userName)} is already taken`, 'uniqueness');
  }

  async function createUser(req: ScimRequest): Promise<ScimResponse> {
    const fields = userFields(req.body);
    return state.exclusive(async () => {
      await uniqueUserName(fields.userName);
      const u = state.fresh(fields);
      await state.put('user', u, fields.userName);
      log.info({ event: 'scim_user_created', user: fields.userName, id: u.id }, 'SCIM: user created');
      await carry(() => syncUser(undefined, u, [], undefined, 'SCIM: created'), fields.userName);
      const stored = (await state.get<UserFields>('user', u.id))!;
      return ok(201, userJson(stored, []), { Location: `${base}/Users/${u.id}`, ETag: etag(u.version) });
    });
  }

  async function loadUser(id: string): Promise<StoredUser> {
    const u = await state.get<UserFields>('user', id);
    if (!u) throw notFound(`no User with id ${JSON.stringify(id)}`);
    return u;
  }

  async function writeUser(req: ScimRequest, id: string, change: (u: StoredUser) => UserFields): Promise<ScimResponse> {
    return state.exclusive(async () => {
      const before = await loadUser(id);
      checkIfMatch(req, before.version);
      const fields = change(before);
      if (fields.userName !== before.fields.userName) await uniqueUserName(fields.userName, id);
      const after = JSON.stringify(fields) === JSON.stringify(before.fields) ? { ...before } : state.next(before, fields);
      if (after.version !== before.version) await state.put('user', after, fields.userName, before.fields.userName);
      const groups = (await groupsOf(id)).map((g) => g.fields.displayName);
      const why = before.fields.active !== false && fields.active === false ? `SCIM ${req.method}: active false` : `SCIM ${req.method}`;
      if (after.version !== before.version || !before.synced || fields.active === false) await carry(() => syncUser(before, after, groups, groups, why), fields.userName);
      const stored = (await state.get<UserFields>('user', id))!;
      return ok(200, project(userJson(stored, await groupsOf(id)), req.query), { ETag: etag(stored.version) });
    });
  }

  async function deleteUser(req: ScimRequest, id: string): Promise<ScimResponse> {
    return state.exclusive(async () => {
      const u = await loadUser(id);
      checkIfMatch(req, u.version);
      for (const g of await groupsOf(id)) {
        await state.put('group', state.next(g, { ...g.fields, members: g.fields.members.filter((m) => m.value !== id) }), g.fields.displayName);
      }
      await state.remove('user', id, u.fields.userName);
      log.info({ event: 'scim_user_deleted', user: u.fields.userName, id }, 'SCIM: user deleted');
      await carry(() => o.lifecycle.deactivate(u.fields.userName, 'SCIM DELETE'), u.fields.userName);
      return ok(204, undefined);
    });
  }

  // ---- Groups ----
  async function checkGroup(fields: GroupFields, self?: string): Promise<void> {
    const id = await state.idByName('group', fields.displayName);
    if (id && id !== self && (await state.get('group', id))) throw new ScimError(409, `displayName ${JSON.stringify(fields.displayName)} is already taken`, 'uniqueness');
    for (const [i, m] of fields.members.entries()) {
      if (!(await state.get('user', m.value))) throw badRequest('invalidValue', `members[${i}].value ${JSON.stringify(m.value)} is not the id of a User`);
    }
  }

  /** Re-decides every user whose group names changed with this group write. */
  async function syncMembers(before: GroupFields | undefined, after: GroupFields | undefined): Promise<void> {
    const renamed = before && after && before.displayName !== after.displayName;
    const was = new Set(before?.members.map((m) => m.value) ?? []);
    const now = new Set(after?.members.map((m) => m.value) ?? []);
    const affected = [...new Set([...was, ...now])].filter((id) => renamed || was.has(id) !== now.has(id));
    for (const uid of affected) {
      const u = await state.get<UserFields>('user', uid);
      if (!u) continue;
      const groups = (await groupsOf(uid)).map((g) => g.fields.displayName);
      await carry(async () => {
        await state.setSynced(u, false);
        if (u.fields.active !== false) await o.lifecycle.groupsChanged(u.fields.userName, scimIdentity(o.sourceId, uid, u.fields, groups));
        await state.setSynced(u, true);
      }, u.fields.userName);
    }
  }

  async function createGroup(req: ScimRequest): Promise<ScimResponse> {
    const fields = groupFields(req.body);
    return state.exclusive(async () => {
      await checkGroup(fields);
      const g = state.fresh(fields);
      await state.put('group', { ...g, synced: true }, fields.displayName);
      log.info({ event: 'scim_group_created', group: fields.displayName, id: g.id, members: fields.members.length }, 'SCIM: group created');
      await syncMembers(undefined, fields);
      return ok(201, await groupJson(g), { Location: `${base}/Groups/${g.id}`, ETag: etag(g.version) });
    });
  }

  async function loadGroup(id: string): Promise<StoredGroup> {
    const g = await state.get<GroupFields>('group', id);
    if (!g) throw notFound(`no Group with id ${JSON.stringify(id)}`);
    return g;
  }

  async function writeGroup(req: ScimRequest, id: string, change: (g: StoredGroup) => GroupFields): Promise<ScimResponse> {
    return state.exclusive(async () => {
      const before = await loadGroup(id);
      checkIfMatch(req, before.version);
      const fields = change(before);
      await checkGroup(fields, id);
      let current = before;
      if (JSON.stringify(fields) !== JSON.stringify(before.fields)) {
        current = { ...state.next(before, fields), synced: true };
        await state.put('group', current, fields.displayName, before.fields.displayName);
        log.info({ event: 'scim_group_changed', group: fields.displayName, id }, 'SCIM: group changed');
        await syncMembers(before.fields, fields);
      }
      // Entra asks for no body on group PATCH (it sends excludedAttributes=members anyway).
      return ok(200, project(await groupJson(current), req.query), { ETag: etag(current.version) });
    });
  }

  async function deleteGroup(req: ScimRequest, id: string): Promise<ScimResponse> {
    return state.exclusive(async () => {
      const g = await loadGroup(id);
      checkIfMatch(req, g.version);
      await state.remove('group', id, g.fields.displayName);
      log.info({ event: 'scim_group_deleted', group: g.fields.displayName, id }, 'SCIM: group deleted');
      await syncMembers(g.fields, undefined);
      return ok(204, undefined);
    });
  }

  // ---- routing ----
  function needBody(req: ScimRequest): void {
    if (req.bodyError) throw badRequest('invalidSyntax', req.bodyError);
    if (req.body === undefined) throw badRequest('invalidSyntax', `${req.method} needs a JSON body`);
  }

  async function route(req: ScimRequest): Promise<ScimResponse> {
    const segs = req.path.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
    const m = req.method;
    const only = (...methods: string[]) => {
      if (!methods.includes(m)) throw new ScimError(405, `${m} is not supported on ${req.path || '/'}; use ${methods.join(', ')}`);
    };
    const [top, id, extra] = segs;
    if (extra !== undefined) throw notFound(`no SCIM endpoint ${req.path}`);
    switch (top) {
      case '.search':
        if (id) throw notFound(`no SCIM endpoint ${req.path}`);
        return search('all', req);
      case 'ServiceProviderConfig':
        only('GET');
        if (id) throw notFound(`no SCIM endpoint ${req.path}`);
        return ok(200, serviceProviderConfig(base, `${base.replace(/\/scim\/v2$/, '')}/scim-docs`) as Json);
      case 'ResourceTypes':
      case 'Schemas': {
        only('GET');
        const docs: Json[] = top === 'Schemas' ? schemaDocuments(base) : resourceTypeDocuments(base);
        if (id) {
          const d = docs.find((x) => x.id === id);
          if (!d) throw notFound(`no ${top === 'Schemas' ? 'Schema' : 'ResourceType'} ${JSON.stringify(id)}`);
          return ok(200, d);
        }
        return ok(200, { schemas: [LIST_SCHEMA], totalResults: docs.length, itemsPerPage: docs.length, startIndex: 1, Resources: docs });
      }
      case 'Users':
        if (!id) {
          only('GET', 'POST');
          if (m === 'GET') return list(['user'], req.query);
          needBody(req);
          return createUser(req);
        }
        if (id === '.search') return search('user', req);
        only('GET', 'PUT', 'PATCH', 'DELETE');
        if (m === 'GET') {
          const u = await loadUser(id);
          return ok(200, project(userJson(u, await groupsOf(id)), req.query), { ETag: etag(u.version) });
        }
        if (m === 'DELETE') return deleteUser(req, id);
        needBody(req);
        if (m === 'PUT') return writeUser(req, id, () => userFields(req.body));
        return writeUser(req, id, (u) => userFields(applyPatch(u.fields as unknown as Json, req.body, USER_ATTRIBUTES, USER_SCHEMA)));
      case 'Groups':
        if (!id) {
          only('GET', 'POST');
          if (m === 'GET') return list(['group'], req.query);
          needBody(req);
          return createGroup(req);
        }
        if (id === '.search') return search('group', req);
        only('GET', 'PUT', 'PATCH', 'DELETE');
        if (m === 'GET') {
          const g = await loadGroup(id);
          return ok(200, project(await groupJson(g), req.query), { ETag: etag(g.version) });
        }
        if (m === 'DELETE') return deleteGroup(req, id);
        needBody(req);
        if (m === 'PUT') return writeGroup(req, id, () => groupFields(req.body));
        return writeGroup(req, id, (g) => groupFields(applyPatch(g.fields as unknown as Json, req.body, GROUP_ATTRIBUTES, GROUP_SCHEMA)));
      default:
        throw notFound(`no SCIM endpoint ${req.path || '/'}; the service provider has /Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas`);
    }
  }

  /** POST /Users/.search (RFC 7644 §3.4.3): the query parameters in a body. */
  function search(kind: 'user' | 'group' | 'all', req: ScimRequest): Promise<ScimResponse> {
    if (req.method !== 'POST') throw new ScimError(405, `${req.method} is not supported on ${req.path}; use POST`);
    needBody(req);
    const b = req.body as Json;
    const q = new URLSearchParams();
    for (const k of ['filter', 'startIndex', 'count']) if (b[k] !== undefined) q.set(k, String(b[k]));
    for (const k of ['attributes', 'excludedAttributes']) if (b[k] !== undefined) q.set(k, Array.isArray(b[k]) ? (b[k] as string[]).join(',') : String(b[k]));
    return list(kind === 'all' ? ['user', 'group'] : [kind], q);
  }

  async function handle(req: ScimRequest): Promise<ScimResponse> {
    try {
      if (!verify(req.authorization)) {
        throw new ScimError(401, req.authorization ? 'the bearer token is not one of scim.tokens' : 'authentication required: send Authorization: Bearer <token from scim.tokens>');
      }
      return await route(req);
    } catch (err) {
      const e = err instanceof ScimError ? err : internal(err);
      const headers: Record<string, string> = e.status === 401 ? { 'WWW-Authenticate': 'Bearer realm="netbox-gate SCIM"' } : e.status === 503 ? { 'Retry-After': '5' } : {};
      return { status: e.status, body: scimErrorBody(e), headers };
    }
  }

  function internal(err: unknown): ScimError {
    if (err instanceof URIError) return badRequest('invalidPath', 'the address has a malformed percent-encoding');
    log.error({ event: 'scim_error', err: err instanceof Error ? err.message : String(err) }, 'SCIM: request failed');
    return new ScimError(500, 'the SCIM request failed inside the gateway (see its log)');
  }

  return { handle };
}

export type ScimService = ReturnType<typeof createScimService>;
