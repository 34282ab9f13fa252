// Exact, glob and regex matchers compiled once from the policy. Pure.
import type { PatternInput } from './schema.js';

export interface Matcher {
  /** For traces: `"netbox-admins"`, `glob "admin-*"`, `regex /^ops-/`. */
  readonly label: string;
  test(value: string): boolean;
  /** Exact patterns only: the value to look up (lower-cased when caseInsensitive), so a rule
   * can test a user's groups with one Set lookup instead of a scan. */
  readonly exact?: { value: string; caseInsensitive: boolean };
  /** Globs only: the literal text before the first wildcard (folded by `foldCase` when
   * caseInsensitive), which every matching value starts with; value-index.ts buckets globs by it. */
  readonly prefix?: { value: string; caseInsensitive: boolean };
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

/**
 * Folds case one UTF-16 unit at a time exactly as a RegExp with the `i` flag and without `u`
 * compares characters (ECMA-262 Canonicalize): the upper case of the unit when that is a single
 * unit, except that nothing outside ASCII folds into ASCII. Two strings of the same length
 * match such a regex's literal text exactly when their folds are equal (checked against V8 for
 * every unit). Not `toLowerCase()`: that maps "İ" to two units and "K" (Kelvin) to "k".
 */
export function foldCase(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let f = c;
    if (c < 128) {
      if (c >= 97 && c <= 122) f = c - 32;
    } else {
      const u = String.fromCharCode(c).toUpperCase();
      if (u.length === 1 && u.charCodeAt(0) >= 128) f = u.charCodeAt(0);
    }
    out += String.fromCharCode(f);
  }
  return out;
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
    const glob = norm(p.glob);
    const re = globToRegex(glob, opts.caseInsensitive);
    const literal = glob.slice(0, glob.search(/[*?]|$/));
    const prefix = { value: opts.caseInsensitive ? foldCase(literal) : literal, caseInsensitive: opts.caseInsensitive };
    return { label: `glob ${JSON.stringify(p.glob)}`, test: (v) => re.test(v), prefix };
  }
  const re = new RegExp(p.regex, opts.caseInsensitive ? 'i' : '');
  return { label: `regex /${p.regex}/`, test: (v) => re.test(v) };
}
