// `netbox-gate netbox apply`: carries out a plan (plan.ts) in dependency order: groups first
// (permissions name them), then permissions, then removals. A plan with conflicts or errors is
// not applied at all; a NetBox refusal stops at that object and names it and its field.
import { GateError } from '../../errors.js';
import type { NetboxClient } from '../api/client.js';
import type { NbGroup, NbPermission, Plan, PlannedChange } from './plan.js';

export interface AppliedChange {
  change: PlannedChange;
  id: number;
}

const GROUPS = '/api/users/groups/';
const PERMISSIONS = '/api/users/permissions/';

export async function applyPlan(client: NetboxClient, plan: Plan, onApplied: (a: AppliedChange) => void = () => {}): Promise<AppliedChange[]> {
  if (plan.problems.length > 0) {
    throw new GateError('ERR_NETBOX_API', `the plan has ${plan.problems.length} problem${plan.problems.length === 1 ? '' : 's'} (conflicts or errors); nothing was applied`, {
      detail: { problems: plan.problems.map((p) => p.message) },
    });
  }
  const ids = new Map(plan.groupIds);
  const done: AppliedChange[] = [];
  const record = (change: PlannedChange, id: number) => {
    const a = { change, id };
    done.push(a);
    onApplied(a);
  };
  const order = (kind: PlannedChange['kind'], actions: Array<PlannedChange['action']>) => plan.changes.filter((c) => c.kind === kind && actions.includes(c.action));

  for (const c of order('group', ['create', 'update'])) {
    const body = bodyOf(c, ids);
    const object = { type: 'users.Group', name: c.name };
    const g =
      c.action === 'create'
        ? await client.request<NbGroup>('POST', GROUPS, { body: { name: c.name, ...body }, object })
        : await client.request<NbGroup>('PATCH', `${GROUPS}${c.id}/`, { body, object });
    ids.set(c.name, g.id);
    record(c, g.id);
  }
  for (const c of order('permission', ['create', 'update'])) {
    const body = bodyOf(c, ids);
    const object = { type: 'users.ObjectPermission', name: c.name };
    const p =
      c.action === 'create'
        ? await client.request<NbPermission>('POST', PERMISSIONS, { body: { name: c.name, ...body }, object })
        : await client.request<NbPermission>('PATCH', `${PERMISSIONS}${c.id}/`, { body, object });
    record(c, p.id);
  }
  for (const c of order('permission', ['delete'])) {
    await client.request('DELETE', `${PERMISSIONS}${c.id}/`, { object: { type: 'users.ObjectPermission', name: c.name } });
    record(c, c.id!);
  }
  for (const c of order('group', ['delete'])) {
    await client.request('DELETE', `${GROUPS}${c.id}/`, { object: { type: 'users.Group', name: c.name } });
    record(c, c.id!);
  }
  return done;
}

/** The changed fields as NetBox takes them: group names become ids, users a list of ids. */
function bodyOf(c: PlannedChange, groupIds: Map<string, number>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const f of c.fields) {
    if (f.field === 'groups') {
      body.groups = (f.to as string[]).map((name) => {
        const id = groupIds.get(name);
        if (id === undefined) throw new GateError('ERR_NETBOX_API', `users.ObjectPermission ${JSON.stringify(c.name)}: groups: NetBox has no group ${JSON.stringify(name)}`);
        return id;
      });
    } else if (f.field === 'users') body.users = [];
    else body[f.field] = f.to;
  }
  return body;
}
