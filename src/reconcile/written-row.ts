/**
 * The row an update writes over the DR row it meets, which its unique keys must be checked on
 * (DESIGN.md "Conflict taxonomy": new values that take another row's unique key are
 * update-unique-taken). It is not the after image: a column the image leaves out (MariaDB's
 * binlog_row_image=MINIMAL logs a keyed table's key and the columns an update sets; FULL_NODUP a
 * keyless table's after image so) keeps the DR row's value, and so does an ignored column
 * (`ignoreColumns`) the lost change did not change. An update setting `label` of UNIQUE(label, code)
 * moves the row onto the DR row's own `code` with the new label.
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import { isTextCollation } from '../binlog/values/charset.js';
import type { ColumnSchema, TableSchema, UniqueKey } from '../model/table-schema.js';
import { sameValue } from './value-equality.js';

/**
 * The row an update with images `before` / `after` writes over `dr`: the after image, the DR row's
 * value where the image leaves a column out or where a column in `ignored` is one the change did not
 * change (so the DR's own change to it is not turned back to the source's old value).
 */
export function writtenRow(table: TableSchema, before: RowImage | null, after: RowImage, dr: RowImage, ignored: ReadonlySet<string>): RowImage {
  // By index, not Array#map: an image built elsewhere may have holes, which map skips.
  return Array.from({ length: dr.length }, (_, i) => {
    return keepsDrValue(table, before, after, i, ignored) ? dr[i] : after[i];
  });
}

/** Whether the update leaves column `i` as the DR row holds it: its after image leaves it out, or it is an ignored column the change did not change. */
export function keepsDrValue(table: TableSchema, before: RowImage | null, after: RowImage, i: number, ignored: ReadonlySet<string>): boolean {
  const a = after[i];
  if (a === undefined) return true;
  if (ignored.size === 0 || before === null || before[i] === undefined) return false;
  const col = table.columns[i];
  return col !== undefined && ignored.has(col.name) && sameValue(a, before[i], col);
}

/**
 * Whether the value the update writes into unique key `key` may be other than its after image's:
 * a part the after image leaves out, or an ignored part the change did not change. Only then does
 * the key's value depend on the DR row it meets; else the after image gives it whole.
 */
function keyNeedsDrRow(table: TableSchema, positions: readonly number[], before: RowImage | null, after: RowImage, ignored: ReadonlySet<string>): boolean {
  return positions.some((p) => keepsDrValue(table, before, after, p, ignored));
}

/** Whether the update changes a part of a key at `positions` (logs it in its after image, other than its before image's value; a part the before image leaves out counts as changed). */
export function changesKey(table: TableSchema, positions: readonly number[], before: RowImage | null, after: RowImage): boolean {
  return positions.some((p) => after[p] !== undefined && (before === null || !sameValue(before[p], after[p], table.columns[p] ?? null)));
}

/** The unique keys the update changes and whose written value depends on the DR row it meets (keyNeedsDrRow), with their column positions. */
export function keysNeedingDrRow(table: TableSchema, position: (column: string) => number, before: RowImage | null, after: RowImage, ignored: ReadonlySet<string>): readonly { readonly key: UniqueKey; readonly positions: readonly number[] }[] {
  // The common case (a whole after image, nothing ignored): the after image gives every key whole.
  if (ignored.size === 0 && !after.includes(undefined)) return NONE;
  const out: { key: UniqueKey; positions: number[] }[] = [];
  for (const key of table.uniqueKeys) {
    const positions = key.columns.map(position);
    if (changesKey(table, positions, before, after) && keyNeedsDrRow(table, positions, before, after, ignored)) out.push({ key, positions });
  }
  return out.length === 0 ? NONE : out;
}

/** The keys of an update that needs none (never changed in place). */
const NONE: readonly { readonly key: UniqueKey; readonly positions: readonly number[] }[] = [];

/**
 * The row an insert writes where no row is: its after image, with each column the image leaves out
 * (MariaDB's binlog_row_image=MINIMAL logs the columns the INSERT named) at the DR's default where
 * that default is a known value (knownDefault) — the value the DR stores, since the sink leaves such
 * a column out too, and the one a window reading the committed row back finds. Any other column
 * stays unknown (undefined). The image itself when it leaves nothing out or no default is known.
 */
export function insertedRow(table: TableSchema, after: RowImage): RowImage {
  if (!after.includes(undefined) && after.length >= table.columns.length) return after;
  let out: RowImage | null = null;
  for (let i = 0; i < table.columns.length; i++) {
    if (after[i] !== undefined) continue;
    const v = knownDefault(table.columns[i] as ColumnSchema);
    if (v === undefined) continue;
    out ??= Array.from({ length: table.columns.length }, (_, j) => after[j]);
    out[i] = v;
  }
  return out ?? after;
}

/** Per column: its known default (knownDefault), found once. */
const defaults = new WeakMap<ColumnSchema, ColumnValue | undefined>();

/**
 * The value the DR stores in `col` when an INSERT leaves it out, exactly as the row reader reads it
 * back, or undefined where that is not known here: an expression (CURRENT_TIMESTAMP, a function),
 * AUTO_INCREMENT, a generated column, a NOT NULL column with no default (the server's implicit one
 * depends on the session's sql_mode), and any literal whose stored form this does not derive
 * exactly (temporal, floating, binary, BIT, YEAR, ENUM, SET, text beyond printable ASCII or CHAR padding).
 * Never a guess: a key value taken from it is checked as known.
 */
export function knownDefault(col: ColumnSchema): ColumnValue | undefined {
  if (defaults.has(col)) return defaults.get(col);
  const v = deriveDefault(col);
  defaults.set(col, v);
  return v;
}

function deriveDefault(col: ColumnSchema): ColumnValue | undefined {
  if (col.isGenerated || col.isAutoIncrement) return undefined;
  const d = col.default;
  // A nullable column always has a default, NULL when none is declared (the servers do not tell these apart).
  if (d === null) return col.nullable ? null : undefined;
  if (d.kind !== 'literal') return undefined;
  const text = d.value;
  switch (col.dataType) {
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'integer':
    case 'bigint': {
      if (!/^-?\d+$/.test(text)) return undefined;
      // As the row reader converts the server's digits: a number within ±(2^53−1), else a bigint.
      const big = BigInt(text);
      return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : big;
    }
    case 'decimal':
    case 'numeric': {
      // The server prints a DECIMAL default at the column's scale, as the reader and the decoder do.
      const scale = /\(\s*\d+\s*(?:,\s*(\d+)\s*)?\)/.exec(col.columnType)?.[1];
      const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
      if (m === null || (m[3] ?? '').length !== Number(scale ?? 0) || /^0\d/.test(m[2] as string)) return undefined;
      return text;
    }
    case 'char':
    case 'varchar':
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
      // Printable ASCII reads back as itself in every text charset but sjis's backslash; CHAR drops trailing spaces.
      if (!isTextCollation(col.collationId) || !/^[\x20-\x5b\x5d-\x7e]*$/.test(text) || (col.dataType === 'char' && text.endsWith(' '))) return undefined;
      return text;
    default:
      return undefined;
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
