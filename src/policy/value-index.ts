// Which of many matchers a value matches, without testing each of them: exact patterns by one
// Map lookup, globs bucketed by their literal prefix, only regexes (and globs that start with a
// wildcard) tested one by one; answers are remembered per value. Pure.
import { foldCase, type Matcher, normalizeGroup } from './pattern.js';

/** Values remembered per index; past this the memo starts over, so memory stays bounded. */
const MEMO_MAX = 16_384;
/** Longer values (a group's full DN is a few hundred characters) are matched every time. */
const MEMO_VALUE_MAX = 1_024;

function push(map: Map<string, number[]>, key: string, id: number): void {
  const ids = map.get(key);
  if (ids) ids.push(id);
  else map.set(key, [id]);
}

/**
 * The answer for one value, as a small integer so that the maps hold it inline (no array to
 * fetch per value): -1 no matcher, n >= 0 matcher n alone, n <= -2 the matchers `multiple(n)`.
 */
export type Found = number;

export class ValueIndex {
  readonly matchers: readonly Matcher[];
  /** Exact (case-sensitive) patterns: value -> Found. */
  private readonly exact = new Map<string, Found>();
  /** Case-insensitive exact patterns by `toLowerCase()`, the comparison their `test` makes. */
  private readonly exactLower = new Map<string, number[]>();
  private readonly prefixed = new Map<string, number[]>();
  private readonly prefixedFolded = new Map<string, number[]>();
  /** The distinct prefix lengths, so a value is looked up once per length, not once per glob. */
  private readonly prefixLengths: number[];
  private readonly foldedPrefixLengths: number[];
  private readonly scanned: number[] = [];
  /** Only exact patterns: a value's answer is one lookup in `exact` and is not remembered. */
  private readonly exactOnly: boolean;
  private readonly memo = new Map<string, Found>();
  /** The answers known without computing: `exact` alone when there are only exact patterns,
   * otherwise the memo. */
  readonly known: ReadonlyMap<string, Found>;
  /** Id lists of Found <= -2: first the answer for a value not remembered (valid until the next
   * lookup), then those of `exact` (up to `fixed`), then those of the memo. */
  private readonly lists: Array<readonly number[]> = [[]];
  private readonly fixed: number;
  /** Values are groups, matched without the leading "/"s of a Keycloak path (see answer). */
  private readonly groupPaths: boolean;

  /**
   * A matcher's id is its position in `matchers`. `groupPaths`: a value is matched as
   * `normalizeGroup(value, true)`, as the matchers were compiled with normalizeGroupPaths.
   */
  constructor(matchers: readonly Matcher[], groupPaths = false) {
    this.matchers = matchers;
    this.groupPaths = groupPaths;
    const exact = new Map<string, number[]>();
    const lengths = new Set<number>();
    const foldedLengths = new Set<number>();
    matchers.forEach((m, id) => {
      if (m.exact) {
        // A normalised value never starts with "/": such a pattern (only in a policy compiled by
        // hand) matches nothing, and must not be found by a value looked up as it comes.
        if (!(groupPaths && m.exact.value.startsWith('/'))) push(m.exact.caseInsensitive ? this.exactLower : exact, m.exact.value, id);
      } else if (m.prefix && m.prefix.value !== '') {
        push(m.prefix.caseInsensitive ? this.prefixedFolded : this.prefixed, m.prefix.value, id);
        (m.prefix.caseInsensitive ? foldedLengths : lengths).add(m.prefix.value.length);
      } else this.scanned.push(id);
    });
    for (const [value, ids] of exact) this.exact.set(value, this.encode(ids, true));
    this.fixed = this.lists.length;
    this.prefixLengths = [...lengths].sort((a, b) => a - b);
    this.foldedPrefixLengths = [...foldedLengths].sort((a, b) => a - b);
    this.exactOnly = this.exactLower.size === 0 && this.prefixLengths.length === 0 && this.foldedPrefixLengths.length === 0 && this.scanned.length === 0;
    this.known = this.exactOnly ? this.exact : this.memo;
  }

  /** What `value` matches, as Found. Callers on a hot loop inline it as
   * `index.known.get(v) ?? index.answer(v)`, one Map lookup for a value already seen. */
  lookup(value: string): Found {
    const found = this.known.get(value);
    return found !== undefined ? found : this.answer(value);
  }

  /**
   * What `value` matches when `known` does not say. A value with a leading "/" (groupPaths) is
   * remembered under its own text with the answer for its normalised form, so that a lookup
   * needs no look at the value first; `exact` holds only normalised values (compilePattern).
   */
  answer(value: string): Found {
    const v = this.groupPaths && value.charCodeAt(0) === 47 ? normalizeGroup(value, true) : value;
    if (this.exactOnly) return v === value ? -1 : (this.exact.get(v) ?? -1);
    if (this.memo.size >= MEMO_MAX) {
      this.memo.clear();
      this.lists.length = this.fixed;
    }
    const keep = value.length <= MEMO_VALUE_MAX;
    const found = this.encode(this.compute(v), keep);
    if (keep) this.memo.set(value, found);
    return found;
  }

  /** The ids of Found <= -2 (an answer not remembered: only until the next lookup). */
  multiple(found: Found): readonly number[] {
    return this.lists[-2 - found]!;
  }

  /** Ids of the matchers `value` matches, in no particular order. */
  matches(value: string): readonly number[] {
    const found = this.lookup(value);
    return found === -1 ? [] : found >= 0 ? [found] : this.multiple(found);
  }

  private encode(ids: readonly number[], keep: boolean): Found {
    if (ids.length === 0) return -1;
    if (ids.length === 1) return ids[0]!;
    if (!keep) {
      this.lists[0] = ids;
      return -2;
    }
    this.lists.push(ids);
    return -1 - this.lists.length;
  }

  private compute(value: string): number[] {
    const found: number[] = [];
    const exact = this.exact.get(value);
    if (exact !== undefined) found.push(...(exact >= 0 ? [exact] : this.multiple(exact)));
    if (this.exactLower.size > 0) {
      const lower = this.exactLower.get(value.toLowerCase());
      if (lower) found.push(...lower);
    }
    for (const len of this.prefixLengths) {
      if (len > value.length) break;
      this.testBucket(this.prefixed.get(value.slice(0, len)), value, found);
    }
    if (this.foldedPrefixLengths.length > 0) {
      // Folding is per unit, so the fold of a prefix is the prefix of the fold.
      const folded = foldCase(value.slice(0, this.foldedPrefixLengths.at(-1)));
      for (const len of this.foldedPrefixLengths) {
        if (len > value.length) break;
        this.testBucket(this.prefixedFolded.get(folded.slice(0, len)), value, found);
      }
    }
    this.testBucket(this.scanned, value, found);
    return found;
  }

  private testBucket(ids: number[] | undefined, value: string, found: number[]): void {
    if (ids) for (const id of ids) if (this.matchers[id]!.test(value)) found.push(id);
  }
}
