// `netbox-gate netbox plan|apply` (NetBox groups and object permissions as code) and
// `netbox-gate check --netbox` (mapped groups NetBox does not have). Exit codes as Terraform's
// detailed exit code: plan 0 = nothing to do, 2 = changes, 1 = error (conflicts included).
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import type { GateConfig } from '../config/load.js';
import { lineOf, type Located } from '../config/issues.js';
import { gatewayGroups, netboxClientFromConfig } from '../netbox/api/config.js';
import type { NetboxClient } from '../netbox/api/client.js';
import { applyPlan } from '../netbox/objects/apply.js';
import { formatApplied, formatPlan, summary } from '../netbox/objects/format.js';
import { planNetboxObjects, type ConfigPath } from '../netbox/objects/plan.js';
import type { Logger } from '../types.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  logger?: Logger;
}

export class NetboxUsageError extends Error {}

/** " (file:line)" for a config path, read from the file as written. */
export function configLocator(cfg: Pick<GateConfig, 'file'>): (path: ConfigPath) => string {
  let loc: Located | undefined;
  try {
    const lines = new LineCounter();
    loc = { doc: parseDocument(readFileSync(cfg.file, 'utf8'), { lineCounter: lines }), lines, file: cfg.file };
  } catch {
    loc = undefined;
  }
  return (path) => {
    const line = loc ? lineOf(loc, path) : undefined;
    return line === undefined ? ` (${cfg.file})` : ` (${cfg.file}:${line})`;
  };
}

function clientFor(cfg: GateConfig, io: CliIo): NetboxClient {
  const opts = io.logger ? { logger: io.logger } : {};
  const client = netboxClientFromConfig(cfg, opts);
  if (!client) throw new NetboxUsageError(`${cfg.file} has no netbox.api (token) section: the command needs NetBox's REST API (docs/netbox-api.md)`);
  return client;
}

export async function runNetboxCommand(sub: string | undefined, cfg: GateConfig, io: CliIo): Promise<number> {
  if (sub !== 'plan' && sub !== 'apply') throw new NetboxUsageError(sub ? `unknown netbox subcommand "${sub}" (plan or apply)` : 'netbox needs a subcommand: plan or apply');
  const client = clientFor(cfg, io);
  const where = configLocator(cfg);
  try {
    const desired = cfg.netboxObjects ?? { groups: [], permissions: [] };
    const plan = await planNetboxObjects(client, desired, cfg.netbox.createGroups ? [] : gatewayGroups(cfg));
    if (sub === 'plan') {
      for (const l of formatPlan(plan, where)) io.out(l);
      return plan.problems.length > 0 ? 1 : plan.changes.length > 0 ? 2 : 0;
    }
    if (plan.problems.length > 0) {
      for (const l of formatPlan(plan, where)) io.out(l);
      io.err('netbox-gate: nothing applied: resolve the conflicts and errors above first');
      return 1;
    }
    if (plan.changes.length === 0) {
      io.out(summary(plan));
      return 0;
    }
    const done = await applyPlan(client, plan, (a) => io.out(formatApplied(a)));
    io.out(`Applied: ${done.length} change${done.length === 1 ? '' : 's'}.`);
    return 0;
  } finally {
    await client.close();
  }
}

/**
 * Groups the config maps users to (policy.defaultGroups, every rule's netboxGroups) and, with
 * netbox.createGroups false, the gateway's own groups, that NetBox does not have: a typo, or a
 * group nobody created. Returns the problems as `path: message (file:line)` lines.
 */
export async function checkNetboxGroups(cfg: GateConfig, io: CliIo): Promise<{ missing: string[]; fatal: boolean }> {
  const client = clientFor(cfg, io);
  const where = configLocator(cfg);
  try {
    const have = new Set((await client.list<{ name: string }>('/api/users/groups/', {}, { type: 'users.Group' })).map((g) => g.name));
    const declared = new Set((cfg.netboxObjects?.groups ?? []).map((g) => g.name));
    const wanted: Array<{ name: string; path: ConfigPath }> = [];
    const src = cfg.policySource;
    src.defaultGroups.forEach((name, i) => wanted.push({ name, path: ['policy', 'defaultGroups', i] }));
    src.rules.forEach((r, i) => {
      const g = r.netboxGroups;
      if (typeof g === 'string') wanted.push({ name: g, path: ['policy', 'rules', i, 'netboxGroups'] });
      else g?.forEach((name, j) => wanted.push({ name, path: ['policy', 'rules', i, 'netboxGroups', j] }));
    });
    if (!cfg.netbox.createGroups) for (const g of gatewayGroups(cfg)) wanted.push({ name: g.name, path: g.path });
    const missing = wanted
      .filter((w) => !have.has(w.name))
      .map((w) => {
        const hint = declared.has(w.name) ? 'netboxObjects declares it: run netbox-gate netbox apply' : cfg.netbox.createGroups ? 'NetBox will create it at the first sign-in that maps to it; a typo?' : 'NetBox will skip it (netbox.createGroups is false); a typo?';
        return `${w.path.join('.')}: group "${w.name}" does not exist in NetBox (${hint})${where(w.path)}`;
      });
    return { missing, fatal: missing.length > 0 && !cfg.netbox.createGroups };
  } finally {
    await client.close();
  }
}
