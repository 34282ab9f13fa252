// `netbox-gate netbox plan`: what NetBox has against what netboxObjects declares, field by field.
// Only objects whose description ends with the managed marker are ever changed or removed; an
// unmarked object with a declared name is a conflict (left alone) unless the entry says adopt.
import type { NetboxClient } from '../api/client.js';
import { MANAGED_MARK, type ManagedGroupConfig, type ManagedPermissionConfig, type NetboxObjectsConfig } from './schema.js';

export type ObjectKind = 'group' | 'permission';
export type ConfigPath = Array<string | number>;

export interface FieldChange {
  field: string;
  from?: unknown;
  to: unknown;
}

export interface PlannedChange {
  action: 'create' | 'update' | 'delete';
  kind: ObjectKind;
  name: string;
  /** NetBox id (update, delete). */
  id?: number;
  /** Where the object is declared (create, update). */
  path?: ConfigPath;
  /** An unmarked object taken over because its entry says `adopt: true`. */
  adopt?: boolean;
  fields: FieldChange[];
}

export interface PlanProblem {
  kind: 'conflict' | 'error';
  path: ConfigPath;
  message: string;
}

export interface Plan {
  changes: PlannedChange[];
  problems: PlanProblem[];
  /** Group name -> id of groups NetBox has now (apply adds the ones it creates). */
  groupIds: Map<string, number>;
}

/** A group the gateway itself relies on (the managed marker, the superuser group). */
export interface GatewayGroup {
  name: string;
  description: string;
  /** The config key that names it, for messages. */
  path: ConfigPath;
}

export interface NbGroup {
  id: number;
  name: string;
  description: string;
}

export interface NbPermission {
  id: number;
  name: string;
  description: string;
  enabled: boolean;
  object_types: string[];
  actions: string[];
  constraints: unknown;
  groups: Array<{ id: number; name: string }>;
  users: Array<{ id: number; username: string }>;
}

interface NbObjectType {
  app_label: string;
  model: string;
  public: boolean;
}

/** NetBox's OBJECTPERMISSION_OBJECT_TYPES (users/constants.py): public types but core.objecttype, and these. */
const NON_PUBLIC_ALLOWED = new Set(['core.managedfile', 'extras.scriptmodule', 'extras.taggeditem']);

export const isManagedDescription = (d: string | null | undefined): boolean => (d ?? '').trimEnd().endsWith(MANAGED_MARK);
export const managedDescription = (d: string): string => (d ? `${d} ${MANAGED_MARK}` : MANAGED_MARK);

/** Reads NetBox and compares. Never changes anything. */
export async function planNetboxObjects(client: NetboxClient, desired: NetboxObjectsConfig, gatewayGroups: GatewayGroup[] = []): Promise<Plan> {
  const [groups, permissions, types] = await Promise.all([
    client.list<NbGroup>('/api/users/groups/', {}, { type: 'users.Group' }),
    client.list<NbPermission>('/api/users/permissions/', {}, { type: 'users.ObjectPermission' }),
    client.list<NbObjectType>('/api/core/object-types/', {}, { type: 'core.ObjectType' }),
  ]);
  return comparePlan(desired, gatewayGroups, { groups, permissions, types });
}

/** The pure part of the plan: what NetBox has (as read) against the config. */
export function comparePlan(desired: NetboxObjectsConfig, gatewayGroups: GatewayGroup[], have: { groups: NbGroup[]; permissions: NbPermission[]; types: NbObjectType[] }): Plan {
  const changes: PlannedChange[] = [];
  const problems: PlanProblem[] = [];
  const groupsByName = new Map(have.groups.map((g) => [g.name, g]));
  const groupIds = new Map(have.groups.map((g) => [g.name, g.id]));
  const declaredGroups = new Set(desired.groups.map((g) => g.name));
  const gatewayNames = new Set(gatewayGroups.map((g) => g.name));

  desired.groups.forEach((g, i) => planGroup(g, ['netboxObjects', 'groups', i], groupsByName.get(g.name), changes, problems));
  // The gateway's own groups only have to exist: created when missing, never changed or removed.
  for (const g of gatewayGroups) {
    if (!declaredGroups.has(g.name) && !groupsByName.has(g.name)) {
      changes.push({ action: 'create', kind: 'group', name: g.name, path: g.path, fields: [{ field: 'description', to: managedDescription(g.description) }] });
    }
  }
  const managedPerms = new Set<string>();
  const typeInfo = new Map(have.types.map((t) => [`${t.app_label}.${t.model}`, t]));
  const permsByName = new Map(have.permissions.map((p) => [p.name, p]));
  desired.permissions.forEach((p, i) => {
    const path: ConfigPath = ['netboxObjects', 'permissions', i];
    managedPerms.add(p.name);
    p.objectTypes.forEach((t, j) => {
      const info = typeInfo.get(t);
      if (!info) problems.push({ kind: 'error', path: [...path, 'objectTypes', j], message: `unknown object type "${t}": NetBox ${suggest(t, [...typeInfo.keys()])}` });
      else if ((!info.public && !NON_PUBLIC_ALLOWED.has(t)) || t === 'core.objecttype') problems.push({ kind: 'error', path: [...path, 'objectTypes', j], message: `NetBox does not allow object permissions on "${t}"` });
    });
    p.groups.forEach((name, j) => {
      if (!groupsByName.has(name) && !declaredGroups.has(name) && !gatewayNames.has(name)) {
        problems.push({ kind: 'error', path: [...path, 'groups', j], message: `group "${name}" is neither declared in netboxObjects.groups nor present in NetBox` });
      }
    });
    planPermission(p, path, permsByName.get(p.name), changes, problems);
  });
  for (const p of have.permissions) {
    if (isManagedDescription(p.description) && !managedPerms.has(p.name)) changes.push({ action: 'delete', kind: 'permission', name: p.name, id: p.id, fields: [] });
  }
  for (const g of have.groups) {
    if (isManagedDescription(g.description) && !declaredGroups.has(g.name) && !gatewayNames.has(g.name)) changes.push({ action: 'delete', kind: 'group', name: g.name, id: g.id, fields: [] });
  }
  return { changes, problems, groupIds };
}

function planGroup(g: ManagedGroupConfig, path: ConfigPath, nb: NbGroup | undefined, changes: PlannedChange[], problems: PlanProblem[]): void {
  const description = managedDescription(g.description);
  if (!nb) return void changes.push({ action: 'create', kind: 'group', name: g.name, path, fields: [{ field: 'description', to: description }] });
  const marked = isManagedDescription(nb.description);
  if (!marked && !g.adopt) return void problems.push({ kind: 'conflict', path: [...path, 'name'], message: unmarked('group', g.name) });
  if (nb.description !== description) {
    changes.push({ action: 'update', kind: 'group', name: g.name, id: nb.id, path, adopt: !marked, fields: [{ field: 'description', from: nb.description, to: description }] });
  }
}

function planPermission(p: ManagedPermissionConfig, path: ConfigPath, nb: NbPermission | undefined, changes: PlannedChange[], problems: PlanProblem[]): void {
  const want = {
    description: managedDescription(p.description),
    enabled: p.enabled,
    object_types: [...p.objectTypes].sort(),
    actions: [...p.actions].sort(),
    constraints: normConstraints(p.constraints),
    groups: [...p.groups].sort(),
    users: [] as string[],
  };
  if (!nb) {
    const fields = Object.entries(want).filter(([k, v]) => !(k === 'users' || (Array.isArray(v) && v.length === 0) || v === null));
    return void changes.push({ action: 'create', kind: 'permission', name: p.name, path, fields: fields.map(([field, to]) => ({ field, to })) });
  }
  const marked = isManagedDescription(nb.description);
  if (!marked && !p.adopt) return void problems.push({ kind: 'conflict', path: [...path, 'name'], message: unmarked('permission', p.name) });
  const now = {
    description: nb.description,
    enabled: nb.enabled,
    object_types: [...nb.object_types].sort(),
    actions: [...nb.actions].sort(),
    constraints: normConstraints(nb.constraints),
    groups: nb.groups.map((g) => g.name).sort(),
    users: nb.users.map((u) => u.username).sort(),
  };
  const fields: FieldChange[] = [];
  for (const k of Object.keys(want) as Array<keyof typeof want>) {
    if (canonical(want[k]) !== canonical(now[k])) fields.push({ field: k, from: now[k], to: want[k] });
  }
  if (fields.length > 0) changes.push({ action: 'update', kind: 'permission', name: p.name, id: nb.id, path, adopt: !marked, fields });
}

const unmarked = (kind: ObjectKind, name: string) =>
  `NetBox has a ${kind} "${name}" that is not managed by netbox-gate (its description does not end with ${MANAGED_MARK}); it is left alone. Rename the entry, or set adopt: true to take it over`;

/** NetBox keeps "no constraints" as null; {} and [] mean the same. */
function normConstraints(c: unknown): unknown {
  if (c === undefined || c === null) return null;
  if (Array.isArray(c) && c.length === 0) return null;
  if (typeof c === 'object' && !Array.isArray(c) && Object.keys(c).length === 0) return null;
  return c;
}

/** JSON with sorted keys, so key order (YAML vs NetBox's JSON) is not drift. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
}

function suggest(t: string, known: string[]): string {
  const [app] = t.split('.');
  const near = known.filter((k) => k.startsWith(`${app}.`) && editDistance(k, t) <= 2);
  const nearAny = near.length ? near : known.filter((k) => editDistance(k, t) <= 2);
  return nearAny.length ? `has no such type; did you mean ${nearAny.slice(0, 3).map((k) => `"${k}"`).join(' or ')}?` : 'has no such type (see /api/core/object-types/)';
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  }
  return d[a.length]![b.length]!;
}

export const hasChanges = (p: Plan): boolean => p.changes.length > 0;
