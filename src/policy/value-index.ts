// Which of many matchers a value matches, without testing each of them: exact patterns by one
// Map lookup, globs bucketed by their literal prefix, only regexes (and globs that start with a
// wildcard) tested one by one; answers are remembered per value. Pure.
import { foldCase, type Matcher } from './pattern.js';

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
  /** Id lists of Found <= -2: first the answer for a value not remembered (valid until the next
   * lookup), then those of `exact` (up to `fixed`), then those of the memo. */
  private readonly lists: Array<readonly number[]> = [[]];
  private readonly fixed: number;

  /** A matcher's id is its position in `matchers`. */
  constructor(matchers: readonly Matcher[]) {
    this.matchers = matchers;
    const exact = new Map<string, number[]>();
    const lengths = new Set<number>();
    const foldedLengths = new Set<number>();
    matchers.forEach((m, id) => {
      if (m.exact) push(m.exact.caseInsensitive ? this.exactLower : exact, m.exact.value, id);
      else if (m.prefix && m.prefix.value !== '') {
        push(m.prefix.caseInsensitive ? this.prefixedFolded : this.prefixed, m.prefix.value, id);
        (m.prefix.caseInsensitive ? foldedLengths : lengths).add(m.prefix.value.length);
      } else this.scanned.push(id);
    });
    for (const [value, ids] of exact) this.exact.set(value, this.encode(ids, true));
    this.fixed = this.lists.length;
    this.prefixLengths = [...lengths].sort((a, b) => a - b);
    this.foldedPrefixLengths = [...foldedLengths].sort((a, b) => a - b);
    this.exactOnly = this.exactLower.size === 0 && this.prefixLengths.length === 0 && this.foldedPrefixLengths.length === 0 && this.scanned.length === 0;
  }

  /** What `value` matches, as Found. */
  lookup(value: string): Found {
    if (this.exactOnly) return this.exact.get(value) ?? -1;
    let found = this.memo.get(value);
    if (found === undefined) {
      if (this.memo.size >= MEMO_MAX) {
        this.memo.clear();
        this.lists.length = this.fixed;
      }
      const keep = value.length <= MEMO_VALUE_MAX;
      found = this.encode(this.compute(value), keep);
      if (keep) this.memo.set(value, found);
    }
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
