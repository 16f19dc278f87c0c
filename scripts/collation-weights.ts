/**
 * `npm run gen:collation-weights`: measures the comparison weights of the collations
 * src/model/collation-fold.ts folds exactly, on a throwaway MariaDB (test/harness), and writes
 * them to src/model/collation-weights.generated.ts.
 *
 * For every code point the server is asked for WEIGHT_STRING(<that character> COLLATE X): the
 * data is the server's behaviour, not its source. A weight string of 16-bit weights is kept as
 * a list of numbers (none for an ignorable character; two or more for an expansion such as
 * æ = ae under the UCA collations). Code points the character set cannot hold are left out.
 *
 * Compression: runs of consecutive code points whose weight lists have the same length and whose
 * i-th weight grows by 0 or by 1 per code point (bit i of the run's mask). Most of Unicode is such
 * runs (general_ci maps most code points to themselves, UCA gives unassigned ones computed
 * weights), so a table of ~1.1M code points shrinks to a few thousand runs; see `encode`.
 *
 * The collations measured here have no contractions (two characters weighed as one): the
 * generator checks the characters next to one another where the standard defines contractions
 * (Cyrillic with a combining breve, Thai prevowels) and stops if their weights are not the
 * concatenation of the single ones. uca1400 has both, so it is not measured (see collation-fold.ts).
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startMariadb, type MariadbServer } from '../test/harness/mariadb-server.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const OUT = join(ROOT, 'src', 'model', 'collation-weights.generated.ts');
const MAX_CP = 0x10ffff;
const BATCH = 0x10000;

/** Tables measured: the table's name, the collation asked, its character set. */
const MEASURED = [
  { table: 'utf8mb4_general_ci', collation: 'utf8mb4_general_ci', charset: 'utf8mb4' },
  { table: 'utf8mb4_unicode_ci', collation: 'utf8mb4_unicode_ci', charset: 'utf8mb4' },
  { table: 'utf8mb4_unicode_520_ci', collation: 'utf8mb4_unicode_520_ci', charset: 'utf8mb4' },
] as const;

type Weights = readonly number[] | null;

async function unicodeWeights(db: MariadbServer, collation: string): Promise<Weights[]> {
  const out: Weights[] = new Array<Weights>(MAX_CP + 1).fill(null);
  for (let lo = 0; lo <= MAX_CP; lo += BATCH) {
    const hi = Math.min(MAX_CP, lo + BATCH - 1);
    const rows = await db.query(
      `SELECT seq AS cp, HEX(WEIGHT_STRING(CONVERT(CHAR(seq USING utf32) USING utf8mb4) COLLATE ${collation})) AS w FROM mysql.seq_${lo}_to_${hi}`,
    );
    for (const r of rows as { cp: number | string; w: string | null }[]) {
      out[Number(r.cp)] = r.w === null ? null : hexWeights(r.w);
    }
  }
  return out;
}

function hexWeights(hex: string): number[] {
  const w: number[] = [];
  for (let i = 0; i < hex.length; i += 4) w.push(parseInt(hex.slice(i, i + 4), 16));
  return w;
}

/** latin1's 256 bytes: the character each byte is (MariaDB's latin1 is cp1252) and its weight. */
async function latin1Weights(db: MariadbServer): Promise<Weights[]> {
  const out: Weights[] = new Array<Weights>(MAX_CP + 1).fill(null);
  const rows = await db.query(
    `SELECT ORD(CONVERT(CONVERT(CHAR(seq USING latin1) USING utf8mb4) USING utf32)) AS cp,
            HEX(CONVERT(CONVERT(CHAR(seq USING latin1) USING utf8mb4) USING utf32)) AS u32,
            HEX(WEIGHT_STRING(CONVERT(CHAR(seq USING latin1) USING latin1) COLLATE latin1_swedish_ci)) AS w
       FROM mysql.seq_0_to_255`,
  );
  for (const r of rows as { u32: string; w: string }[]) {
    const cp = parseInt(r.u32, 16);
    // One weight byte per character.
    out[cp] = [parseInt(r.w, 16)];
  }
  return out;
}

/** Stops when the server weighs a pair of characters other than as the two single characters. */
async function assertNoContractions(db: MariadbServer, collation: string, weights: Weights[]): Promise<void> {
  const pairs = [
    [0x0418, 0x0306], [0x0438, 0x0306], [0x0e40, 0x0e01], [0x0ec0, 0x0e81], [0x004c, 0x00b7], [0x0063, 0x0068], [0x0b92, 0x0bd7],
  ];
  for (const [a, b] of pairs as [number, number][]) {
    const rows = await db.query(
      `SELECT HEX(WEIGHT_STRING(CONVERT(CONCAT(CHAR(? USING utf32), CHAR(? USING utf32)) USING utf8mb4) COLLATE ${collation})) AS w`,
      [a, b],
    );
    const got = hexWeights((rows as { w: string }[])[0]!.w);
    const want = [...(weights[a] ?? []), ...(weights[b] ?? [])];
    if (got.join() !== want.join()) throw new Error(`${collation} weighs U+${a.toString(16)} U+${b.toString(16)} as one (a contraction): the fold cannot be per character`);
  }
}

/**
 * The run list as text, comma-separated base-36 numbers. Runs follow one another from code point 0
 * (a code point the set cannot hold is a run of k = 15, no weights), so a run's start is implied.
 * Each run is a header ((count * 16 + k) * 256 + mask), then its k weights, each as the zigzag of its
 * difference from the weight written before it (neighbouring characters weigh alike).
 */
function encode(weights: Weights[]): string {
  const out: string[] = [];
  let last = 0;
  let cp = 0;
  while (cp <= MAX_CP) {
    const first = weights[cp] ?? null;
    let n = 1;
    if (first === null) {
      while (cp + n <= MAX_CP && (weights[cp + n] ?? null) === null) n++;
      out.push(((n * 16 + UNHELD) * 256).toString(36));
      cp += n;
      continue;
    }
    const next = weights[cp + 1] ?? null;
    let mask = 0;
    if (next !== null && next.length === first.length) {
      for (let i = 0; i < first.length; i++) if (next[i]! - first[i]! === 1) mask |= 1 << i;
    }
    for (;;) {
      const w = weights[cp + n] ?? null;
      if (w === null || w.length !== first.length) break;
      if (!w.every((x, i) => x === first[i]! + (mask & (1 << i) ? n : 0))) break;
      n++;
    }
    if (first.length >= UNHELD) throw new Error(`U+${cp.toString(16)} has ${first.length} weights: the format holds at most ${UNHELD - 1}`);
    out.push(((n * 16 + first.length) * 256 + mask).toString(36));
    for (const w of first) {
      const d = w - last;
      out.push((d >= 0 ? 2 * d : -2 * d - 1).toString(36));
      last = w;
    }
    cp += n;
  }
  return out.join(',');
}

/** The k of a run of code points the character set cannot hold. */
const UNHELD = 15;

async function main(): Promise<void> {
  const db = await startMariadb({ name: 'collation-weights', binlog: false });
  try {
    const version = String(((await db.query('SELECT VERSION() AS v')) as { v: string }[])[0]!.v);
    const tables: Record<string, string> = {};
    for (const m of MEASURED) {
      const weights = await unicodeWeights(db, m.collation);
      await assertNoContractions(db, m.collation, weights);
      tables[m.table] = encode(weights);
    }
    tables['latin1_swedish_ci'] = encode(await latin1Weights(db));
    const body = Object.entries(tables).map(([name, text]) => `  ${name}:\n    '${text}',`).join('\n');
    const ts = `// Generated by scripts/collation-weights.ts (npm run gen:collation-weights) from ${version}: do not edit.
// Per collation, runs of code points from U+0000: a header (count, k, mask), then k zigzag weight deltas, in base 36 (see the script).
export const COLLATION_WEIGHTS: Readonly<Record<string, string>> = {
${body}
};
`;
    writeFileSync(OUT, ts);
    for (const [name, text] of Object.entries(tables)) process.stderr.write(`${name}: ${text.length} chars\n`);
  } finally {
    await db.stop();
  }
}

await main();
