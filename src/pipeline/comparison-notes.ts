/**
 * The report's words on how values were compared where the comparison is not exact equality of
 * everything: DESIGN.md asks that FLOAT's float32 comparison and partial row images be said so.
 */
import type { TableSchema } from '../model/table-schema.js';

/** `schema.table.column` of every FLOAT column of `tables`, in their order. */
export function floatColumnsOf(tables: readonly TableSchema[]): string[] {
  const out: string[] = [];
  for (const t of tables) for (const c of t.columns) if (c.dataType === 'float') out.push(`${t.schema}.${t.table}.${c.name}`);
  return out;
}

/**
 * FLOAT holds a float32, which the binlog logs exactly and a DR loaded from a dump holds at the 6
 * significant digits mariadb-dump prints: value-equality.ts takes both for equal, so values that
 * differ only beyond 6 digits are the same value to every class (already-applied, merges).
 */
export function floatComparisonWarning(columns: readonly string[]): string {
  return `FLOAT column${columns.length === 1 ? '' : 's'} ${columns.join(', ')} ${columns.length === 1 ? 'is' : 'are'} compared as float32 values, and taken as equal when they agree to 6 significant digits (the precision mariadb-dump writes, so a DR loaded from a dump matches its source): values that differ only beyond that are the same value here`;
}

/**
 * A table whose updates or deletes were logged with partial images (binlog_row_image MINIMAL or
 * NOBLOB): they were compared with the DR on the columns logged, so a DR change to a column not
 * logged is not seen as a divergence.
 */
export function partialImageWarning(table: string, unlogged: ReadonlySet<string>): string {
  const names = [...unlogged];
  return `${table}: updates or deletes logged with partial row images (binlog_row_image MINIMAL or NOBLOB) were compared with the DR on the columns logged only; not logged in some: ${names.join(', ')} — a DR change to ${names.length === 1 ? 'it' : 'those'} was not seen`;
}
