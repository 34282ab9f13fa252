// Reads the YAML config, resolves ${env:NAME} / ${file:PATH} secrets, validates it once into
// typed objects, and reports every problem with its path and line (never just the first).
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { z } from 'zod';
import { ConfigError, GateError, type ConfigIssue } from '../errors.js';
import { compilePolicy, referencedSources, type CompiledPolicy } from '../policy/compile.js';
import { applyPreset } from '../sources/oidc/presets.js';
import type { ResolvedOidcConfig } from '../sources/oidc/config.js';
import { configSchema, type ParsedConfig, type SourceConfig } from './schema.js';
import { policySchema } from '../policy/schema.js';

export type ResolvedSourceConfig = Exclude<SourceConfig, { kind: 'oidc' }> | ResolvedOidcConfig;

export interface GateConfig extends Omit<ParsedConfig, 'sources' | 'policy'> {
  file: string;
  sources: ResolvedSourceConfig[];
  policy: CompiledPolicy;
  policySource: ParsedConfig['policy'];
}

const REF_RE = /\$\{(env|file):([^}]+)\}/g;

interface Located {
  doc: Document;
  lines: LineCounter;
  file: string;
}

function lineOf(loc: Located, path: (string | number)[]): number | undefined {
  // Walk down as far as the path exists; point at the key where we can, else the value.
  let node: unknown = loc.doc.contents;
  let best: number | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) break;
      const keyRange = (pair.key as Node | null)?.range;
      if (keyRange) best = keyRange[0];
      node = pair.value;
    } else if (isSeq(node)) {
      const item = node.items[Number(seg)];
      if (item === undefined) break;
      node = item;
      const r = (item as Node).range;
      if (r) best = r[0];
    } else break;
  }
  if (best === undefined) {
    const r = (loc.doc.contents as Node | null)?.range;
    best = r?.[0];
  }
  return best === undefined ? undefined : loc.lines.linePos(best).line;
}

function issueAt(loc: Located, path: (string | number)[], message: string): ConfigIssue {
  const line = lineOf(loc, path);
  const issue: ConfigIssue = { path: path.join('.'), message, file: loc.file };
  if (line !== undefined) issue.line = line;
  return issue;
}

/** Replaces ${env:X} and ${file:P} in every string scalar, in place, collecting problems. */
function resolveRefs(loc: Located, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): void {
  const baseDir = dirname(loc.file);
  const visit = (node: unknown, path: (string | number)[]) => {
    if (isMap(node)) {
      for (const pair of node.items) visit(pair.value, [...path, isScalar(pair.key) ? String(pair.key.value) : String(pair.key)]);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, [...path, i]));
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('${')) {
      node.value = node.value.replace(REF_RE, (_m, kind: string, ref: string) => {
        const name = ref.trim();
        if (kind === 'env') {
          const v = env[name];
          if (v === undefined) {
            issues.push(issueAt(loc, path, `environment variable ${name} is not set`));
            return _m; // keep the reference so the field is not also reported as empty
          }
          return v;
        }
        try {
          // Secret files conventionally end with one newline (echo, Kubernetes secrets).
          return readFileSync(resolve(baseDir, name), 'utf8').replace(/\r?\n$/, '');
        } catch (err) {
          issues.push(issueAt(loc, path, `cannot read secret file ${name}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`));
          return _m;
        }
      });
    }
  };
  visit(loc.doc.contents, []);
}

function zodIssues(loc: Located, error: z.ZodError): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const walk = (issues: z.core.$ZodIssue[], prefix: (string | number)[]) => {
    for (const iss of issues) {
      const path = [...prefix, ...(iss.path as (string | number)[])];
      if (iss.code === 'unrecognized_keys') {
        for (const k of iss.keys) out.push(issueAt(loc, [...path, k], `unknown key "${k}"`));
      } else if (iss.code === 'invalid_union' && iss.errors.length > 0 && 'discriminator' in iss && iss.discriminator) {
        out.push(issueAt(loc, [...path, String(iss.discriminator)], iss.message));
      } else if (iss.code === 'invalid_union' && iss.errors.length > 0) {
        // Report the branch that got furthest (fewest issues) instead of "Invalid input".
        const best = [...iss.errors].sort((a, b) => a.length - b.length)[0]!;
        walk(best, path);
      } else {
        out.push(issueAt(loc, path, iss.message));
      }
    }
  };
  walk(error.issues, []);
  return out;
}

export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): GateConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const loc: Located = { doc, lines, file };
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const issue: ConfigIssue = { path: '(yaml)', message: e.message.split('\n')[0] ?? e.message, file };
        const line = e.linePos?.[0]?.line;
        if (line !== undefined) issue.line = line;
        return issue;
      }),
    );
  }
  const issues: ConfigIssue[] = [];
  resolveRefs(loc, env, issues);
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    // Still check the policy on its own so one run lists its problems too.
    const extra: ConfigIssue[] = [];
    const pol = policySchema.safeParse(raw.policy);
    if (pol.success) {
      const sep = typeof (raw.netbox as { groupSeparator?: unknown } | undefined)?.groupSeparator === 'string' ? String((raw.netbox as { groupSeparator: string }).groupSeparator) : '|';
      for (const iss of compilePolicy(pol.data, { groupSeparator: sep }).issues) extra.push(issueAt(loc, iss.path.split('.'), iss.message));
    }
    const nb = (raw.netbox ?? {}) as Record<string, unknown>;
    const sep = typeof nb.groupSeparator === 'string' ? nb.groupSeparator : '|';
    for (const special of ['superuserGroup', 'staffGroup'] as const) {
      const v = nb[special];
      if (typeof v === 'string' && v.includes(sep)) extra.push(issueAt(loc, ['netbox', special], `must not contain the group separator "${sep}"`));
    }
    throw new ConfigError([...issues, ...zodIssues(loc, parsed.error), ...extra]);
  }
  const cfg = parsed.data;

  const ids = new Map<string, number>();
  cfg.sources.forEach((s, i) => {
    if (ids.has(s.id)) issues.push(issueAt(loc, ['sources', i, 'id'], `source id "${s.id}" is used twice`));
    ids.set(s.id, i);
  });
  for (const ref of referencedSources(cfg.policy)) {
    if (!ids.has(ref.id)) issues.push(issueAt(loc, ref.path.split('.'), `no source has id "${ref.id}"`));
  }

  const sources: ResolvedSourceConfig[] = [];
  cfg.sources.forEach((s, i) => {
    if (s.kind === 'oidc') {
      const r = applyPreset(s);
      for (const iss of r.issues) issues.push(issueAt(loc, ['sources', i, ...iss.path.split('.')], iss.message));
      if (r.config) {
        if (new URL(r.config.issuer).protocol === 'http:' && !r.config.insecureAllowHttpIssuer) {
          issues.push(issueAt(loc, ['sources', i, 'issuer'], 'an http:// issuer needs insecureAllowHttpIssuer: true (local tests only)'));
        }
        sources.push(r.config);
      }
    } else {
      sources.push(s as ResolvedSourceConfig);
    }
  });

  const compiled = compilePolicy(cfg.policy, { groupSeparator: cfg.netbox.groupSeparator });
  for (const iss of compiled.issues) issues.push(issueAt(loc, iss.path.split('.'), iss.message));
  for (const special of ['superuserGroup', 'staffGroup'] as const) {
    if (cfg.netbox[special].includes(cfg.netbox.groupSeparator)) {
      issues.push(issueAt(loc, ['netbox', special], `must not contain the group separator "${cfg.netbox.groupSeparator}"`));
    }
  }
  const hdrs = Object.entries(cfg.netbox.headers);
  const seenHdr = new Map<string, string>();
  for (const [k, v] of hdrs) {
    const norm = v.toLowerCase();
    if (seenHdr.has(norm)) issues.push(issueAt(loc, ['netbox', 'headers', k], `same header as netbox.headers.${seenHdr.get(norm)}`));
    seenHdr.set(norm, k);
  }
  const pub = new URL(cfg.server.publicUrl);
  if (pub.pathname !== '/' || pub.search || pub.hash) {
    issues.push(issueAt(loc, ['server', 'publicUrl'], 'must be an origin such as https://netbox.example.org (NetBox is served at the root)'));
  }
  if (cfg.server.tls) {
    for (const k of ['certFile', 'keyFile'] as const) {
      const f = resolve(dirname(file), cfg.server.tls[k]);
      try {
        accessSync(f, constants.R_OK);
      } catch (err) {
        issues.push(issueAt(loc, ['server', 'tls', k], `cannot read ${f}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`));
      }
      cfg.server.tls[k] = f;
    }
  }
  if (cfg.sessions.idleTimeout > cfg.sessions.absoluteTimeout) {
    issues.push(issueAt(loc, ['sessions', 'idleTimeout'], 'must not be longer than sessions.absoluteTimeout'));
  }
  if (issues.length > 0 || !compiled.policy) throw new ConfigError(issues);
  const { sources: _s, policy: policySource, ...rest } = cfg;
  return { ...rest, file, sources, policy: compiled.policy, policySource };
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): GateConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new GateError('ERR_CONFIG_READ', `cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return parseConfigText(text, file, env);
}

/** --config, then NETBOX_GATE_CONFIG, then ./netbox-gate.yaml. */
export function configPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.NETBOX_GATE_CONFIG ?? 'netbox-gate.yaml');
}
