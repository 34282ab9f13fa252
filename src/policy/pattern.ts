// Exact, glob and regex matchers compiled once from the policy. Pure.
import type { PatternInput } from './schema.js';

export interface Matcher {
  /** For traces: `"netbox-admins"`, `glob "admin-*"`, `regex /^ops-/`. */
  readonly label: string;
  test(value: string): boolean;
  /** Exact patterns only: the value to look up (lower-cased when caseInsensitive), so a rule
   * can test a user's groups with one Set lookup instead of a scan. */
  readonly exact?: { value: string; caseInsensitive: boolean };
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** `*` is any run of characters (including none), `?` one character; everything else literal. */
export function globToRegex(glob: string, caseInsensitive: boolean): RegExp {
  let src = '';
  for (const ch of glob) src += ch === '*' ? '.*' : ch === '?' ? '.' : escapeRegex(ch);
  return new RegExp(`^${src}$`, caseInsensitive ? 'is' : 's');
}

export function normalizeGroup(group: string, normalizePaths: boolean): string {
  return normalizePaths && group.startsWith('/') ? group.replace(/^\/+/, '') : group;
}

/** Throws SyntaxError for a bad regex; the caller turns it into a config issue with its path. */
export function compilePattern(p: PatternInput, opts: { caseInsensitive: boolean; normalizeGroupPaths?: boolean }): Matcher {
  const norm = (s: string) => (opts.normalizeGroupPaths ? normalizeGroup(s, true) : s);
  if (typeof p === 'string') {
    const want = norm(p);
    if (opts.caseInsensitive) {
      const lower = want.toLowerCase();
      return { label: JSON.stringify(p), test: (v) => v.toLowerCase() === lower, exact: { value: lower, caseInsensitive: true } };
    }
    return { label: JSON.stringify(p), test: (v) => v === want, exact: { value: want, caseInsensitive: false } };
  }
  if ('glob' in p) {
    const re = globToRegex(norm(p.glob), opts.caseInsensitive);
    return { label: `glob ${JSON.stringify(p.glob)}`, test: (v) => re.test(v) };
  }
  const re = new RegExp(p.regex, opts.caseInsensitive ? 'i' : '');
  return { label: `regex /${p.regex}/`, test: (v) => re.test(v) };
}
