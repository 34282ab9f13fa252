// The one validation pass over a config document: every section and every source entry is parsed
// on its own, and the checks that span fields (duplicate ids, policy references, header names,
// the group separator) run on whatever did parse, so one run lists every problem, not the first.
import { accessSync, constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import type { ConfigIssue } from '../errors.js';
import { describeNetboxToken } from '../netbox/api/token.js';
import { netboxObjectsSchema, type NetboxObjectsConfig } from '../netbox/objects/schema.js';
import { checkNetboxGroupName, compilePolicy, referencedSources, type CompiledPolicy } from '../policy/compile.js';
import { policySchema, ruleSchema, type PolicyConfig } from '../policy/schema.js';
import { sourceKind, sourceKindNames, type ResolvedSourceConfig } from '../sources/registry.js';
import { issueAt, splitPath, zodIssues, type ConfigPath, type Located } from './issues.js';
import { lifecycleNotices, type LifecycleConfig } from '../lifecycle/check.js';
import { configSchema, netboxSchema, serverSchema, sessionsSchema, type ParsedConfig } from './schema.js';

export interface GateConfig extends Omit<ParsedConfig, 'sources' | 'policy'> {
  file: string;
  sources: ResolvedSourceConfig[];
  policy: CompiledPolicy;
  policySource: ParsedConfig['policy'];
  /** Warnings that do not stop the gateway (same format as problems); `check` prints them, `serve` logs them once. */
  notices: ConfigIssue[];
}

export interface Validation {
  /** Present only when there are no issues. */
  config?: GateConfig;
  issues: ConfigIssue[];
  notices: ConfigIssue[];
}

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates the (secret-resolved) document `raw`; never throws for bad input. */
export function validateConfig(raw: unknown, loc: Located): Validation {
  const issues: ConfigIssue[] = [];
  const notices: ConfigIssue[] = [];
  const at = (path: ConfigPath, message: string) => issues.push(issueAt(loc, path, message));
  if (!isObject(raw)) {
    at([], 'expected a mapping with the sections server, netbox, sources and policy');
    return { issues, notices };
  }
  const shape = configSchema.shape;
  for (const k of Object.keys(raw)) if (!(k in shape)) at([k], `unknown key "${k}"`);

  const section = <T>(key: keyof typeof shape, inner: z.ZodObject | undefined): { value?: T; fields: Partial<T> } => {
    const r = (shape[key] as unknown as z.ZodType<T>).safeParse(raw[key]);
    if (r.success) return { value: r.data, fields: r.data };
    issues.push(...zodIssues(loc, r.error, [key]));
    return { fields: inner ? (fieldsOf(inner, raw[key]) as Partial<T>) : {} };
  };
  const server = section<ParsedConfig['server']>('server', serverSchema);
  const netbox = section<ParsedConfig['netbox']>('netbox', netboxSchema);
  const sessions = section<ParsedConfig['sessions']>('sessions', sessionsSchema);
  const signIn = section<ParsedConfig['signIn']>('signIn', undefined);
  const logging = section<ParsedConfig['logging']>('logging', undefined);
  const metrics = section<ParsedConfig['metrics']>('metrics', undefined);
  const netboxObjects = section<NetboxObjectsConfig | undefined>('netboxObjects', netboxObjectsSchema);
  const scim = section<ParsedConfig['scim']>('scim', undefined);
  const lifecycle = section<LifecycleConfig | undefined>('lifecycle', undefined);

  const sources = validateSources(raw.sources, loc, issues, notices);

  const sep = netbox.fields.groupSeparator ?? '|';
  const policyIds = new Set(sources.ids);
  if (scim.value?.enabled) {
    // The `scim` identity is policy input like a source's: rules may name it in `sources:`.
    if (sources.ids.has(scim.value.sourceId)) at(['scim', 'sourceId'], `"${scim.value.sourceId}" is already a source id; the scim identity needs its own`);
    policyIds.add(scim.value.sourceId);
    if (netbox.value && !netbox.value.api) at(['scim', 'enabled'], 'needs netbox.api: a SCIM deactivation reaches NetBox through its REST API');
  }
  const policy = validatePolicy(raw.policy, loc, issues, sep, policyIds);

  checkNetbox(netbox.fields, sep, at);
  checkManagedGroup(netbox.fields, raw.policy, loc, at, notices);
  checkNetboxObjects(raw.netboxObjects, at);
  checkServer(server.fields, loc.file, at);
  checkLifecycle(lifecycle.value, netbox.fields, sources.resolved, loc, at, notices);
  const ml = metrics.value?.listen;
  const sl = server.fields.listen;
  if (ml && sl && ml.port === sl.port && (ml.host === sl.host || ['0.0.0.0', '::'].includes(ml.host) || ['0.0.0.0', '::'].includes(sl.host))) {
    at(['metrics', 'listen'], 'must differ from server.listen: metrics have their own listener, never the public one');
  }
  const s = sessions.fields;
  if (s.idleTimeout !== undefined && s.absoluteTimeout !== undefined && s.idleTimeout > s.absoluteTimeout) {
    at(['sessions', 'idleTimeout'], 'must not be longer than sessions.absoluteTimeout');
  }

  if (issues.length > 0 || !server.value || !netbox.value || !sessions.value || !signIn.value || !logging.value || !metrics.value || !scim.value || !policy.compiled || !policy.source) {
    return { issues, notices };
  }
  const config: GateConfig = {
    file: loc.file,
    server: server.value,
    netbox: netbox.value,
    sessions: sessions.value,
    signIn: signIn.value,
    logging: logging.value,
    metrics: metrics.value,
    sources: sources.resolved,
    policy: policy.compiled,
    policySource: policy.source,
    netboxObjects: netboxObjects.value,
    scim: scim.value,
    lifecycle: lifecycle.value,
    notices,
  };
  return { config, issues, notices };
}

/** The fields of an object section that parse on their own, for cross-field checks on a broken section. */
function fieldsOf(schema: z.ZodObject, value: unknown): Raw {
  const obj = isObject(value) ? value : {};
  const out: Raw = {};
  for (const [k, field] of Object.entries(schema.shape)) {
    const r = (field as z.ZodType).safeParse(obj[k]);
    if (r.success) out[k] = r.data;
  }
  return out;
}

/** Each entry on its own: schema of its kind, then the kind's resolution, checks and notices. */
function validateSources(value: unknown, loc: Located, issues: ConfigIssue[], notices: ConfigIssue[]) {
  const resolved: ResolvedSourceConfig[] = [];
  const ids = new Set<string>();
  const at = (path: ConfigPath, message: string) => issues.push(issueAt(loc, path, message));
  if (value === undefined || value === null) {
    at(['sources'], 'required: configure at least one identity source');
    return { resolved, ids };
  }
  if (!Array.isArray(value)) {
    at(['sources'], 'expected a list of identity sources');
    return { resolved, ids };
  }
  if (value.length === 0) at(['sources'], 'configure at least one identity source');
  const kinds = sourceKindNames.join(', ');
  value.forEach((entry: unknown, i) => {
    const base: ConfigPath = ['sources', i];
    if (!isObject(entry)) return at(base, `expected a source entry (a mapping with kind: ${kinds})`);
    // Ids of entries that are broken in other ways still count: a typo elsewhere must not
    // also produce "no source has id" for every rule that names this source.
    if (typeof entry.id === 'string') {
      if (ids.has(entry.id)) at([...base, 'id'], `source id "${entry.id}" is used twice`);
      ids.add(entry.id);
    }
    const def = sourceKind(entry.kind);
    if (!def) {
      return at([...base, 'kind'], entry.kind === undefined ? `required: one of ${kinds}` : `unknown kind ${JSON.stringify(entry.kind)}; expected one of ${kinds}`);
    }
    const parsed = def.schema.safeParse(entry);
    if (!parsed.success) return void issues.push(...zodIssues(loc, parsed.error, base));
    const r = def.resolve ? def.resolve(parsed.data, { baseDir: dirname(loc.file) }) : { config: parsed.data as ResolvedSourceConfig, issues: [] };
    // Without resolve() the parsed entry is what the factory takes (R defaults to the schema's output).
    for (const iss of r.issues) at(splitPath(base, iss.path), iss.message);
    if (!r.config) return;
    for (const iss of def.check?.(r.config) ?? []) at(splitPath(base, iss.path), iss.message);
    for (const n of def.notices?.(r.config) ?? []) notices.push(issueAt(loc, splitPath(base, n.path), n.message));
    resolved.push(r.config);
  });
  return { resolved, ids };
}

/**
 * The policy as a whole when it parses; otherwise the rules that parse on their own are still
 * compiled and their source references checked, with paths pointing at their real index.
 */
function validatePolicy(value: unknown, loc: Located, issues: ConfigIssue[], groupSeparator: string, sourceIds: ReadonlySet<string>) {
  const full = policySchema.safeParse(value);
  let policy: PolicyConfig;
  let index: number[] | undefined;
  if (full.success) {
    policy = full.data;
  } else {
    issues.push(...zodIssues(loc, full.error, ['policy']));
    const fields = fieldsOf(policySchema, value) as Partial<PolicyConfig>;
    const rawRules = isObject(value) && Array.isArray(value.rules) ? (value.rules as unknown[]) : [];
    const rules: PolicyConfig['rules'] = [];
    index = [];
    rawRules.forEach((r, i) => {
      const one = ruleSchema.safeParse(r);
      if (one.success) {
        rules.push(one.data);
        index!.push(i);
      }
    });
    policy = { defaultGroups: fields.defaultGroups ?? [], caseInsensitive: fields.caseInsensitive ?? false, normalizeGroupPaths: fields.normalizeGroupPaths ?? true, rules };
  }
  // Paths of the partial policy name rule N of the parsed subset; map back to the file's index.
  const realPath = (path: string) => (index ? path.replace(/^policy\.rules\.(\d+)/, (_m, n: string) => `policy.rules.${index![Number(n)]}`) : path);
  const compiled = compilePolicy(policy, { groupSeparator });
  for (const iss of compiled.issues) issues.push(issueAt(loc, realPath(iss.path).split('.'), iss.message));
  for (const ref of referencedSources(policy)) {
    if (!sourceIds.has(ref.id)) issues.push(issueAt(loc, realPath(ref.path).split('.'), `no source has id "${ref.id}"`));
  }
  return full.success ? { compiled: compiled.policy, source: full.data } : {};
}

function checkNetbox(nb: Partial<ParsedConfig['netbox']>, sep: string, at: (path: ConfigPath, message: string) => void): void {
  for (const special of ['superuserGroup', 'staffGroup'] as const) {
    if (nb[special]?.includes(sep)) at(['netbox', special], `must not contain the group separator "${sep}"`);
  }
  // Django reads X-Remote-User and X_Remote_User as one header: compare as it does.
  const seen = new Map<string, string>();
  for (const [k, v] of Object.entries(nb.headers ?? {})) {
    const norm = v.toLowerCase().replaceAll('_', '-');
    const other = seen.get(norm);
    if (other) at(['netbox', 'headers', k], `same header as netbox.headers.${other} (${v})`);
    else seen.set(norm, k);
  }
}

/**
 * The managed-users marker (docs/netbox-api.md) must mean "arrived through the gateway" and
 * nothing else: not a privilege group, and never something the policy can give or take.
 */
function checkManagedGroup(nb: Partial<ParsedConfig['netbox']>, rawPolicy: unknown, loc: Located, at: (path: ConfigPath, message: string) => void, notices: ConfigIssue[]): void {
  const marker = nb.managedGroup ?? 'netbox-gate-managed';
  for (const special of ['superuserGroup', 'staffGroup'] as const) {
    if (nb[special] === marker) at(['netbox', 'managedGroup'], `must differ from netbox.${special}: the marker of managed users must not give privileges`);
  }
  const nameProblem = nb.managedGroup === undefined ? undefined : checkNetboxGroupName(nb.managedGroup, sep(nb));
  if (nameProblem) at(['netbox', 'managedGroup'], nameProblem);
  if (isObject(rawPolicy)) {
    const refuse = (path: ConfigPath) => at(path, `"${marker}" is netbox.managedGroup, the gateway's marker of the users it manages; the policy cannot give it (the gateway always sends it)`);
    if (Array.isArray(rawPolicy.defaultGroups)) rawPolicy.defaultGroups.forEach((g, i) => g === marker && refuse(['policy', 'defaultGroups', i]));
    if (Array.isArray(rawPolicy.rules)) {
      rawPolicy.rules.forEach((r, i) => {
        if (!isObject(r)) return;
        const g = r.netboxGroups;
        if (g === marker) refuse(['policy', 'rules', i, 'netboxGroups']);
        else if (Array.isArray(g)) g.forEach((x, j) => x === marker && refuse(['policy', 'rules', i, 'netboxGroups', j]));
      });
    }
  }
  if (nb.api) {
    const problem = describeNetboxToken(nb.api.token).problem;
    if (problem) notices.push(issueAt(loc, ['netbox', 'api', 'token'], problem));
  }
}
const sep = (nb: Partial<ParsedConfig['netbox']>) => nb.groupSeparator ?? '|';

/** Names are NetBox's keys: each declared once (checked on the raw entries, so a broken entry elsewhere does not hide it). */
function checkNetboxObjects(value: unknown, at: (path: ConfigPath, message: string) => void): void {
  if (!isObject(value)) return;
  for (const [key, what] of [['groups', 'group'], ['permissions', 'permission']] as const) {
    const list = value[key];
    if (!Array.isArray(list)) continue;
    const seen = new Map<string, number>();
    list.forEach((entry: unknown, i) => {
      if (!isObject(entry) || typeof entry.name !== 'string') return;
      const first = seen.get(entry.name);
      if (first !== undefined) at(['netboxObjects', key, i, 'name'], `${what} "${entry.name}" is declared twice (also netboxObjects.${key}.${first})`);
      else seen.set(entry.name, i);
    });
  }
}

function checkServer(srv: Partial<ParsedConfig['server']>, file: string, at: (path: ConfigPath, message: string) => void): void {
  if (srv.publicUrl) {
    const pub = new URL(srv.publicUrl);
    if (pub.pathname !== '/' || pub.search || pub.hash) {
      at(['server', 'publicUrl'], 'must be an origin such as https://netbox.example.org (NetBox is served at the root)');
    }
  }
  if (srv.tls) {
    for (const k of ['certFile', 'keyFile'] as const) {
      const f = resolve(dirname(file), srv.tls[k]);
      try {
        accessSync(f, constants.R_OK);
      } catch (err) {
        at(['server', 'tls', k], `cannot read ${f}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      srv.tls[k] = f;
    }
  }
}

/** lifecycle: sync sources must exist; what cannot be asked, or works without netbox.api, is a notice. */
function checkLifecycle(
  lc: LifecycleConfig | undefined,
  nb: Partial<ParsedConfig['netbox']>,
  sources: ResolvedSourceConfig[],
  loc: Located,
  at: (path: ConfigPath, message: string) => void,
  notices: ConfigIssue[],
): void {
  if (!lc) return;
  const ids = new Set(sources.map((s) => s.id));
  lc.sync?.sources?.forEach((id, i) => {
    if (!ids.has(id)) at(['lifecycle', 'sync', 'sources', i], `no source has id "${id}"`);
  });
  for (const n of lifecycleNotices(lc, Boolean(nb.api), sources)) notices.push(issueAt(loc, n.path, n.message));
}
