// Which of many matchers a value matches, without testing each of them: exact patterns by one
// Map lookup, globs bucketed by their literal prefix, only regexes (and globs that start with a
// wildcard) tested one by one; answers are remembered per value. Pure.
import { foldCase, type Matcher } from './pattern.js';

/** Values remembered per index; past this the memo starts over, so memory stays bounded. */
const MEMO_MAX = 16_384;
/** Not frozen: a frozen array has a map of its own, which would make the loops over answers
 * polymorphic (and allocate an iterator per value). */
const NONE: readonly number[] = [];

function push(map: Map<string, number[]>, key: string, id: number): void {
  const ids = map.get(key);
  if (ids) ids.push(id);
  else map.set(key, [id]);
}

export class ValueIndex {
  readonly matchers: readonly Matcher[];
  private readonly exact = new Map<string, number[]>();
  /** Case-insensitive exact patterns by `toLowerCase()`, the comparison their `test` makes. */
  private readonly exactLower = new Map<string, number[]>();
  private readonly prefixed = new Map<string, number[]>();
  private readonly prefixedFolded = new Map<string, number[]>();
  /** The distinct prefix lengths, so a value is looked up once per length, not once per glob. */
  private readonly prefixLengths: number[];
  private readonly foldedPrefixLengths: number[];
  private readonly scanned: number[] = [];
  /** Only exact patterns: a value's answer is one lookup and is not worth remembering. */
  private readonly exactOnly: boolean;
  private readonly memo = new Map<string, readonly number[]>();

  /** A matcher's id is its position in `matchers`. */
  constructor(matchers: readonly Matcher[]) {
    this.matchers = matchers;
    const lengths = new Set<number>();
    const foldedLengths = new Set<number>();
    matchers.forEach((m, id) => {
      if (m.exact) push(m.exact.caseInsensitive ? this.exactLower : this.exact, m.exact.value, id);
      else if (m.prefix && m.prefix.value !== '') {
        push(m.prefix.caseInsensitive ? this.prefixedFolded : this.prefixed, m.prefix.value, id);
        (m.prefix.caseInsensitive ? foldedLengths : lengths).add(m.prefix.value.length);
      } else this.scanned.push(id);
    });
    this.prefixLengths = [...lengths].sort((a, b) => a - b);
    this.foldedPrefixLengths = [...foldedLengths].sort((a, b) => a - b);
    this.exactOnly = this.exactLower.size === 0 && this.prefixLengths.length === 0 && this.foldedPrefixLengths.length === 0 && this.scanned.length === 0;
  }

  /** Ids of the matchers `value` matches, in no particular order. Do not modify the result. */
  matches(value: string): readonly number[] {
    if (this.exactOnly) return this.exact.get(value) ?? NONE;
    let ids = this.memo.get(value);
    if (ids === undefined) {
      ids = this.compute(value);
      if (this.memo.size >= MEMO_MAX) this.memo.clear();
      this.memo.set(value, ids);
    }
    return ids;
  }

  private compute(value: string): readonly number[] {
    const found: number[] = [];
    const exact = this.exact.get(value);
    if (exact) found.push(...exact);
    if (this.exactLower.size > 0) {
      const lower = this.exactLower.get(value.toLowerCase());
      if (lower) found.push(...lower);
    }
    const tryBucket = (bucket: number[] | undefined) => {
      if (bucket) for (const id of bucket) if (this.matchers[id]!.test(value)) found.push(id);
    };
    for (const len of this.prefixLengths) {
      if (len > value.length) break;
      tryBucket(this.prefixed.get(value.slice(0, len)));
    }
    if (this.foldedPrefixLengths.length > 0) {
      // Folding is per unit, so the fold of a prefix is the prefix of the fold.
      const folded = foldCase(value.slice(0, this.foldedPrefixLengths.at(-1)));
      for (const len of this.foldedPrefixLengths) {
        if (len > value.length) break;
        tryBucket(this.prefixedFolded.get(folded.slice(0, len)));
      }
    }
    for (const id of this.scanned) if (this.matchers[id]!.test(value)) found.push(id);
    return found.length === 0 ? NONE : found;
  }
}
