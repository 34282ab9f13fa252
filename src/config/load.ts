// Reads the YAML config, resolves ${env:NAME} / ${file:PATH} secrets, and validates it once
// (validate.ts) into typed objects, reporting every problem with its path and line.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument } from 'yaml';
import { ConfigError, GateError, type ConfigIssue } from '../errors.js';
import { issueAt, type Located } from './issues.js';
import { validateConfig, type GateConfig } from './validate.js';

export type { GateConfig } from './validate.js';
export type { ResolvedSourceConfig } from '../sources/registry.js';
export { configPath } from './path.js';

const REF_RE = /\$\{(env|file):([^}]+)\}/g;

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
  const result = validateConfig(doc.toJS() ?? {}, loc);
  if (issues.length > 0 || !result.config) throw new ConfigError(byLine([...issues, ...result.issues]));
  return { ...result.config, notices: byLine(result.config.notices) };
}

/** In file order, so the list reads top to bottom next to the file (stable for equal lines). */
function byLine(list: ConfigIssue[]): ConfigIssue[] {
  return [...list].sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
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
