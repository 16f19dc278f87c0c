/**
 * The exact collation folds (src/model/collation-fold.ts) against the server itself, without
 * the generator's tables: for random pairs of strings the server is asked `a = b COLLATE X` and
 * the answer must be `sameUniqueValue(a, b, X)`. The strings are drawn from characters where folds
 * go wrong (accents precomposed and combining, ß, ligatures, expansions, ignorables, no-break and
 * trailing spaces, 4-byte characters), and each pair's second string is often derived from the
 * first (case changed, accents stripped, spaces added), so equal pairs are common.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { sameUniqueValue } from '../../src/reconcile/value-equality.js';

const BMP_CHARS = [
  ...'abcdejosSZ  ',
  'é', 'É', 'e\u0301', 'è', 'ê', 'ë', 'å', 'Å', 'ä', 'ö', 'ø', 'Ø', 'ñ', 'ç', 'ü', 'ÿ', 'Ÿ', 'š', 'Š', 'ž',
  'ß', 'ẞ', 'æ', 'Æ', 'œ', 'Œ', 'ﬁ', 'ǆ', 'ǅ', 'đ', 'ð', 'þ', 'ł', 'ı', 'İ', 'ĸ',
  'σ', 'ς', 'Σ', 'й', 'и\u0306', 'Й', 'ก', '\u0e40', 'Ａ', 'ａ', '\u00a0', '\u200d', '\u0001', '\t', '€', '\u00ad', '\u3000', '中', 'ㄱ',
];
const ASTRAL_CHARS = ['😀', '🙂', '𝔸', '𠀀', '\u{1F1E6}'];
// The characters MariaDB's latin1 (cp1252) holds, from the lists above.
const LATIN1_CHARS = [...'abcdejosSZ  ', 'é', 'É', 'è', 'ê', 'ë', 'å', 'Å', 'ä', 'ö', 'ø', 'Ø', 'ñ', 'ç', 'ü', 'ÿ', 'Ÿ', 'š', 'Š', 'ž', 'ß', 'æ', 'Æ', 'œ', 'Œ', 'ð', 'Ð', 'þ', 'Þ', '\u00a0', '\u0001', '\t', '€', '\u00ad', 'µ', '×', '÷'];

/** Derivations that turn a string into one the collation may well call equal. */
function variant(s: string, how: number): string {
  switch (how) {
    case 0:
      return s.toUpperCase();
    case 1:
      return s.normalize('NFD').replace(/\p{M}/gu, '');
    case 2:
      return `${s}  `;
    case 3:
      return s.toLowerCase().replace(/ +$/, '');
    case 4:
      return s.replace(/ß/g, 'ss').replace(/æ/g, 'ae').replace(/Æ/g, 'AE').replace(/œ/g, 'oe');
    case 5:
      return s.normalize('NFC');
    default:
      return s;
  }
}

function pairs(chars: readonly string[], seed: number, n: number): [string, string][] {
  const str = fc.array(fc.constantFrom(...chars), { maxLength: 8 }).map((a) => a.join(''));
  const pair = fc.oneof(
    fc.tuple(str, str),
    fc.tuple(str, fc.integer({ min: 0, max: 6 })).map(([s, how]): [string, string] => [s, variant(s, how)]),
    fc.tuple(str, fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 })).map(([s, h1, h2]): [string, string] => [variant(s, h1), variant(s, h2)]),
  );
  return fc.sample(pair, { seed, numRuns: n });
}

/** The collations measured, with the character set the strings are converted to and what they may hold. */
const CASES = [
  { collation: 'utf8mb4_general_ci', charset: 'utf8mb4', chars: [...BMP_CHARS, ...ASTRAL_CHARS] },
  { collation: 'utf8mb4_general_nopad_ci', charset: 'utf8mb4', chars: [...BMP_CHARS, ...ASTRAL_CHARS] },
  { collation: 'utf8mb3_general_ci', charset: 'utf8mb3', chars: BMP_CHARS },
  { collation: 'utf8mb4_unicode_ci', charset: 'utf8mb4', chars: [...BMP_CHARS, ...ASTRAL_CHARS] },
  { collation: 'utf8mb4_unicode_nopad_ci', charset: 'utf8mb4', chars: [...BMP_CHARS, ...ASTRAL_CHARS] },
  { collation: 'utf8mb3_unicode_ci', charset: 'utf8mb3', chars: BMP_CHARS },
  { collation: 'utf8mb4_unicode_520_ci', charset: 'utf8mb4', chars: [...BMP_CHARS, ...ASTRAL_CHARS] },
  { collation: 'latin1_swedish_ci', charset: 'latin1', chars: LATIN1_CHARS },
  { collation: 'latin1_swedish_nopad_ci', charset: 'latin1', chars: LATIN1_CHARS },
] as const;

const PAIRS_PER_COLLATION = 2000;
const BATCH = 250;

describe('exact collation folds agree with the server', () => {
  let db: MariadbServer;
  beforeAll(async () => {
    db = await startMariadb({ name: 'collation-fold', binlog: false });
  }, 60_000);
  afterAll(async () => {
    await db?.stop();
  });

  for (const [i, c] of CASES.entries()) {
    it(`${c.collation}: a = b on the server exactly when the folds are equal`, async () => {
      const all = pairs(c.chars, 1000 + i, PAIRS_PER_COLLATION);
      const mismatches: string[] = [];
      let equalPairs = 0;
      for (let at = 0; at < all.length; at += BATCH) {
        const batch = all.slice(at, at + BATCH);
        const cols = batch.map((_, j) => `CONVERT(? USING ${c.charset}) = CONVERT(? USING ${c.charset}) COLLATE ${c.collation} AS e${j}`);
        const rows = await db.query(`SELECT ${cols.join(', ')}`, batch.flat());
        const row = rows[0] as Record<string, number>;
        batch.forEach(([a, b], j) => {
          const server = row[`e${j}`] === 1;
          if (server) equalPairs++;
          if (server !== sameUniqueValue(a, b, c.collation)) mismatches.push(`${JSON.stringify(a)} vs ${JSON.stringify(b)}: server ${server ? 'equal' : 'different'}`);
        });
      }
      expect(mismatches.slice(0, 10)).toEqual([]);
      // The pairs exercise both answers.
      expect(equalPairs).toBeGreaterThan(PAIRS_PER_COLLATION / 10);
      expect(equalPairs).toBeLessThan(PAIRS_PER_COLLATION);
    }, 60_000);
  }
});
