/**
 * A fold of column values looser than the collations' equality (or exactly theirs, where
 * collation-fold.ts measured them): it narrows which values may be the same key to the server.
 * Shared by reconcile (keyless rows), the sink (unique values passing between rows of one batch)
 * and the pipeline (which alias values to ask the DR about).
 */
import type { ColumnValue } from '../binlog/column.js';
import { CharsetText } from '../binlog/values/charset-text.js';
import { exactFold } from './collation-fold.js';

/** Letters some collations expand or fold to plain ones (UCA expansions, general_ci's ß = s), folded alike. */
const LOOSE_LETTERS: Readonly<Record<string, string>> = { ß: 's', ẞ: 's', æ: 'ae', œ: 'oe', ø: 'o', đ: 'd', ð: 'd', ł: 'l', þ: 'th', ı: 'i', ĸ: 'k' };

/**
 * A fold looser than any collation's equality is meant to be: case, accents, the letters above,
 * doubled s and trailing spaces all ignored. Two values a server collation calls equal fold alike
 * here (where the fold misses one, the DR rejects the write instead: dr-rejected); values it calls
 * different may too. Only narrows which values to ask the server about (salvage.ts #aliasCollationMatches).
 * It is not looser than the collations collation-fold.ts measures (general_ci weighs every 4-byte
 * character alike, unicode_ci ignores control characters, latin1_swedish_ci equates Æ and Ä): for
 * their columns `looseFolder` gives the exact fold instead.
 */
export function looseFold(v: ColumnValue | undefined): string {
  if (v === null || v === undefined) return '\u0000';
  if (v instanceof CharsetText) v = v.text;
  if (typeof v !== 'string') return Buffer.isBuffer(v) ? `b${v.toString('hex')}` : `v${String(v)}`;
  return `s${v
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[ßẞæœøđðłþıĸ]/g, (c) => LOOSE_LETTERS[c] ?? c)
    .replace(/ss/g, 's')
    .replace(/ +$/, '')}`;
}

/**
 * The loose fold of a column of `collation`: its exact fold (collation-fold.ts) when measured, which
 * no other value of the column can share without the server calling them equal, else `looseFold`.
 */
export function looseFolder(collation: string | null): (v: ColumnValue | undefined) => string {
  const exact = collation === null ? null : exactFold(collation);
  if (exact === null) return looseFold;
  return (v) => (typeof v === 'string' ? `x${exact(v)}` : looseFold(v));
}
