// The `netboxObjects` config section: NetBox groups and object permissions declared as code,
// converged by `netbox-gate netbox apply`. Only the shape is checked here; whether an object
// type exists is NetBox's to say (plan.ts asks it).
import { z } from 'zod';

/** What netbox-gate appends to the description of every object it manages (docs/permissions.md). */
export const MANAGED_MARK = '[managed by netbox-gate]';
/** NetBox's description fields hold 200 characters; the marker and a space take the rest. */
export const DESCRIPTION_MAX = 200 - MANAGED_MARK.length - 1;
/** NetBox's Group.name and ObjectPermission.name are 150 and 100 characters. */
const GROUP_NAME_MAX = 150;
const PERMISSION_NAME_MAX = 100;

const description = z.string().max(DESCRIPTION_MAX, `at most ${DESCRIPTION_MAX} characters (NetBox keeps 200, the managed marker takes the rest)`);
const noMark = (s: string) => !s.includes(MANAGED_MARK);

/** A Django query filter: one object (conditions ANDed) or a list of them (ORed), as NetBox takes it. */
const constraintObject = z.record(z.string().min(1), z.unknown(), {
  error: 'expected a mapping of field lookups (e.g. { status: active }) or a list of such mappings',
});
export const constraintsSchema = z.union([constraintObject, z.array(constraintObject).min(1, 'an empty list matches nothing; leave constraints out instead')], {
  error: 'expected a mapping of field lookups (e.g. { status: active }) or a list of such mappings',
});

const uniqueList = <T extends z.ZodType<string>>(item: T, what: string) =>
  z.array(item).refine((l) => new Set(l).size === l.length, `each ${what} may be listed once`);

export const managedGroupSchema = z.strictObject({
  name: z.string().min(1).max(GROUP_NAME_MAX).refine((s) => s === s.trim(), 'no leading or trailing spaces (NetBox does not trim them)'),
  description: description.refine(noMark, `must not contain ${MANAGED_MARK}; netbox-gate adds it`).default(''),
  /** Take over an object of this name that NetBox already has but that is not marked managed. */
  adopt: z.boolean().default(false),
});

export const managedPermissionSchema = z.strictObject({
  name: z.string().min(1).max(PERMISSION_NAME_MAX).refine((s) => s === s.trim(), 'no leading or trailing spaces'),
  description: description.refine(noMark, `must not contain ${MANAGED_MARK}; netbox-gate adds it`).default(''),
  /** `app_label.model`, e.g. dcim.site (NetBox's /api/core/object-types/). */
  objectTypes: uniqueList(z.string().regex(/^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/, 'expected app_label.model in lower case, e.g. dcim.site'), 'object type').refine((l) => l.length > 0, 'name at least one object type'),
  /** view, add, change, delete, or an action a model registers (e.g. run, sync). */
  actions: uniqueList(z.string().regex(/^[a-z][a-z_]*$/, 'expected an action such as view, add, change or delete'), 'action').refine((l) => l.length > 0, 'name at least one action'),
  constraints: constraintsSchema.nullable().default(null),
  enabled: z.boolean().default(true),
  /** NetBox group names; each must be declared in netboxObjects.groups or exist in NetBox. */
  groups: uniqueList(z.string().min(1), 'group').default([]),
  adopt: z.boolean().default(false),
});

export const netboxObjectsSchema = z.strictObject({
  groups: z.array(managedGroupSchema).default([]),
  permissions: z.array(managedPermissionSchema).default([]),
});

export type ManagedGroupConfig = z.output<typeof managedGroupSchema>;
export type ManagedPermissionConfig = z.output<typeof managedPermissionSchema>;
export type NetboxObjectsConfig = z.output<typeof netboxObjectsSchema>;
