/**
 * Exact unique-key folds for the collations MariaDB uses most: two strings fold alike exactly when
 * the server's collation calls them equal. The weights are the server's own, measured by
 * scripts/collation-weights.ts (collation-weights.generated.ts); a string's fold is the weights of
 * its characters, one UTF-16 unit per 16-bit weight, with the trailing space weights cut for PAD
 * SPACE collations. So 'jose' and 'josé' fold alike under utf8mb4_general_ci (é weighs as E), ß and
 * s under general_ci, ß and ss, æ and ae under the UCA collations, and an ignorable character
 * (a control, a zero-width joiner under UCA) folds to nothing.
 *
 * Covered: utf8mb4/utf8mb3 `general_ci`, `unicode_ci`, `unicode_520_ci` (and their `_nopad_`
 * forms), `latin1_swedish_ci` (and `latin1_swedish_nopad_ci`). Every other collation returns null
 * and the caller keeps its name-based approximation: MariaDB's uca1400 collations weigh some
 * character pairs as one (contractions, Thai prevowels reordered), which a per-character table
 * cannot express; MySQL 8's `_0900_` collations could not be measured (no MySQL server here).
 *
 * Each table is decoded on the first fold of its collation (about 1 ms for general_ci, 12 ms for
 * unicode_520_ci). ASCII characters go through a 128-entry table without a search, and an all-ASCII
 * string under general_ci or latin1_swedish_ci (whose ASCII weights are the upper case) by toUpperCase.
 */
import { COLLATION_WEIGHTS } from './collation-weights.generated.js';

/** A string's fold under one collation: equal folds ⇔ the server's collation calls the strings equal. */
export type ExactFold = (s: string) => string;

interface Covered {
  readonly table: string;
  readonly padSpace: boolean;
}

/** Collation name (lower case) → its weight table. utf8 is MariaDB's alias of utf8mb3 (old_mode). */
const COVERED: ReadonlyMap<string, Covered> = new Map(
  [
    ...['utf8mb4', 'utf8mb3', 'utf8'].flatMap((cs) => [
      [`${cs}_general_ci`, 'utf8mb4_general_ci'],
      [`${cs}_unicode_ci`, 'utf8mb4_unicode_ci'],
      [`${cs}_unicode_520_ci`, 'utf8mb4_unicode_520_ci'],
    ]),
    ['latin1_swedish_ci', 'latin1_swedish_ci'],
  ].flatMap(([name, table]) => {
    const nopad = (name as string).replace(/_ci$/, '_nopad_ci');
    return [
      [name as string, { table: table as string, padSpace: true }],
      [nopad, { table: table as string, padSpace: false }],
    ] as [string, Covered][];
  }),
);

/** A decoded run table: run i covers code points starts[i] .. starts[i] + counts[i] - 1. */
interface WeightTable {
  readonly starts: Int32Array;
  readonly counts: Int32Array;
  /** Offset of run i's weights in `weights`; its weight count is offsets[i + 1] - offsets[i]. */
  readonly offsets: Int32Array;
  readonly masks: Int32Array;
  readonly weights: Uint16Array;
  /** Folds of code points 0..127. */
  readonly ascii: readonly string[];
  /** The weights of one space, cut from the end of a PAD SPACE fold. */
  readonly space: string;
  /** Every ASCII character weighs as its upper case (general_ci, latin1_swedish_ci): an ASCII string folds by toUpperCase. */
  readonly asciiIsUpper: boolean;
}

const ASCII_ONLY = /^[\x00-\x7f]*$/;

/** The k of a run of code points the character set cannot hold (scripts/collation-weights.ts). */
const UNHELD = 15;

const decoded = new Map<string, WeightTable>();
const folds = new Map<string, ExactFold | null>();

/** The exact fold of `collation` (any case), or null when it is not one measured. */
export function exactFold(collation: string): ExactFold | null {
  const name = collation.toLowerCase();
  let fold = folds.get(name);
  if (fold !== undefined) return fold;
  const covered = COVERED.get(name);
  fold = covered === undefined ? null : makeFold(covered);
  folds.set(name, fold);
  return fold;
}

function makeFold(covered: Covered): ExactFold {
  let table: WeightTable | undefined;
  return (s) => {
    table ??= tableOf(covered.table);
    let out = table.asciiIsUpper && ASCII_ONLY.test(s) ? s.toUpperCase() : foldChars(s, table);
    if (covered.padSpace && table.space.length > 0) while (out.endsWith(table.space)) out = out.slice(0, out.length - table.space.length);
    return out;
  };
}

function foldChars(s: string, t: WeightTable): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) {
      out += t.ascii[c];
      continue;
    }
    const cp = s.codePointAt(i)!;
    if (cp > 0xffff) i++;
    out += weightsOf(t, cp);
  }
  return out;
}

/**
 * The weights of one code point. A code point the table lacks (one the character set cannot hold,
 * a lone surrogate) stands for itself behind U+FFFF, which no measured weight list starts with.
 */
function weightsOf(t: WeightTable, cp: number): string {
  let lo = 0;
  let hi = t.starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const start = t.starts[mid]!;
    if (cp < start) hi = mid - 1;
    else if (cp >= start + t.counts[mid]!) lo = mid + 1;
    else {
      const step = cp - start;
      const mask = t.masks[mid]!;
      let out = '';
      for (let j = t.offsets[mid]!, k = 0; j < t.offsets[mid + 1]!; j++, k++) out += String.fromCharCode(t.weights[j]! + (mask & (1 << k) ? step : 0));
      return out;
    }
  }
  return `\uffff${String.fromCodePoint(cp)}`;
}

function tableOf(name: string): WeightTable {
  const known = decoded.get(name);
  if (known !== undefined) return known;
  // The format is scripts/collation-weights.ts `encode`'s: runs from U+0000, start implied.
  const nums = (COLLATION_WEIGHTS[name] ?? '').split(',').map((n) => parseInt(n, 36));
  const starts: number[] = [];
  const counts: number[] = [];
  const masks: number[] = [];
  const offsets: number[] = [0];
  const weights: number[] = [];
  let cp = 0;
  let last = 0;
  for (let i = 0; i < nums.length; ) {
    const header = nums[i++]!;
    const mask = header % 256;
    const k = Math.floor(header / 256) % 16;
    const count = Math.floor(header / 4096);
    if (k !== UNHELD) {
      starts.push(cp);
      counts.push(count);
      masks.push(mask);
      for (let j = 0; j < k; j++) {
        const z = nums[i++]!;
        last += z % 2 === 0 ? z / 2 : -(z + 1) / 2;
        weights.push(last);
      }
      offsets.push(weights.length);
    }
    cp += count;
  }
  const partial = {
    starts: Int32Array.from(starts),
    counts: Int32Array.from(counts),
    offsets: Int32Array.from(offsets),
    masks: Int32Array.from(masks),
    weights: Uint16Array.from(weights),
    ascii: [] as string[],
    space: '',
    asciiIsUpper: false,
  };
  for (let c = 0; c < 128; c++) partial.ascii.push(weightsOf(partial, c));
  const asciiIsUpper = partial.ascii.every((w, c) => w === String.fromCharCode(c).toUpperCase());
  const table: WeightTable = { ...partial, space: partial.ascii[0x20]!, asciiIsUpper };
  decoded.set(name, table);
  return table;
}
