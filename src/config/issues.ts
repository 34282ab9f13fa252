// Turns problems found anywhere in the config into ConfigIssues that name the dotted path, the
// file and the line, so each one can be fixed without hunting for it.
import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { z } from 'zod';
import type { ConfigIssue } from '../errors.js';

export type ConfigPath = (string | number)[];

/** The parsed YAML document with its line table, so issues can point at their line. */
export interface Located {
  doc: Document;
  lines: LineCounter;
  file: string;
}

export function lineOf(loc: Located, path: ConfigPath): number | undefined {
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

export function issueAt(loc: Located, path: ConfigPath, message: string): ConfigIssue {
  const line = lineOf(loc, path);
  const issue: ConfigIssue = { path: path.join('.'), message, file: loc.file };
  if (line !== undefined) issue.line = line;
  return issue;
}

/** A dotted path relative to `prefix` ("issuer", "jwt.audience", "" for the entry itself). */
export function splitPath(prefix: ConfigPath, dotted: string): ConfigPath {
  return dotted === '' ? [...prefix] : [...prefix, ...dotted.split('.')];
}

/** zod issues under `prefix`, one per problem: unknown keys one by one, unions by their closest branch. */
export function zodIssues(loc: Located, error: z.ZodError, prefix: ConfigPath = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  const walk = (issues: z.core.$ZodIssue[], base: ConfigPath) => {
    for (const iss of issues) {
      const path = [...base, ...(iss.path as ConfigPath)];
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
  walk(error.issues, prefix);
  return out;
}
