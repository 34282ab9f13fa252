// The plan as `netbox plan` prints it: one line per object, then its fields (from -> to), then
// conflicts and errors with the config path and line, then a summary line.
import type { AppliedChange } from './apply.js';
import type { ConfigPath, Plan, PlannedChange } from './plan.js';

const SIGN: Record<PlannedChange['action'], string> = { create: '+', update: '~', delete: '-' };
const show = (v: unknown): string => JSON.stringify(v) ?? 'null';

/** `where(path)` gives " (file:line)" or "" for a config path. */
export function formatPlan(plan: Plan, where: (path: ConfigPath) => string): string[] {
  const out: string[] = [];
  for (const c of plan.changes) {
    const id = c.id === undefined ? '' : ` (id ${c.id})`;
    const at = c.path ? `  [${c.path.join('.')}${where(c.path)}]` : '';
    const why = c.action === 'delete' ? ': managed by netbox-gate and no longer in the config' : c.adopt ? ': adopted (not marked managed yet)' : '';
    out.push(`${SIGN[c.action]} ${c.action} ${c.kind} "${c.name}"${id}${why}${at}`);
    for (const f of c.fields) out.push(c.action === 'create' ? `    ${f.field}: ${show(f.to)}` : `    ${f.field}: ${show(f.from)} -> ${show(f.to)}`);
  }
  for (const p of plan.problems) out.push(`! ${p.kind}: ${p.path.join('.')}: ${p.message}${where(p.path)}`);
  out.push(summary(plan));
  return out;
}

export function summary(plan: Plan): string {
  const n = (a: PlannedChange['action']) => plan.changes.filter((c) => c.action === a).length;
  const conflicts = plan.problems.filter((p) => p.kind === 'conflict').length;
  const errors = plan.problems.length - conflicts;
  const problems = plan.problems.length ? `; ${conflicts} conflict${conflicts === 1 ? '' : 's'}, ${errors} error${errors === 1 ? '' : 's'}` : '';
  if (plan.changes.length === 0) return `No changes: NetBox matches netboxObjects${problems}.`;
  return `Plan: ${n('create')} to create, ${n('update')} to update, ${n('delete')} to delete${problems}.`;
}

export function formatApplied(a: AppliedChange): string {
  const past = { create: 'created', update: 'updated', delete: 'deleted' }[a.change.action];
  return `${past} ${a.change.kind} "${a.change.name}" (id ${a.id})`;
}
