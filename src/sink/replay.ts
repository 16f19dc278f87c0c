/**
 * A plain replay of decoded row changes into the DR (no conflict handling): runs of consecutive
 * changes to the same table with the same operation become one batch (multi-row INSERT, batched
 * DELETE, UPDATEs in order), and runs are written in source order, so a later change to a key can
 * never overtake an earlier one. FOREIGN_KEY_CHECKS and the transaction are the caller's.
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import type { RowChange } from '../binlog/event.js';
import { writeDeletes, writeInserts, writeUpdates, type RowUpdate, type WriteOptions } from '../db/row-writer.js';
import type { SqlSession } from '../db/sql-session.js';
import { EngineError } from '../errors.js';
import type { SchemaCatalog, TableSchema } from '../model/table-schema.js';

/** Stable codes of replay failures. */
export const ReplayErrorCode = {
  /** The change names a table the DR does not have. */
  UnknownTable: 'SINK_UNKNOWN_TABLE',
  /** The binlog's row image does not have the DR table's column count. */
  SchemaMismatch: 'SINK_SCHEMA_MISMATCH',
  /** An UPDATE or DELETE without the before image it is addressed by. */
  MissingImage: 'SINK_MISSING_IMAGE',
} as const;
export type ReplayErrorCode = (typeof ReplayErrorCode)[keyof typeof ReplayErrorCode];

export class ReplayError extends EngineError {}

/** Rows written per operation, and the statements' affected-row totals. */
export interface ReplayStats {
  inserted: number;
  updated: number;
  deleted: number;
  /** Batches (runs of one table and operation) written. */
  batches: number;
}

/** Replays `changes` in order into the DR through `session` (inside the caller's transaction). */
export async function replayChanges(session: SqlSession, catalog: SchemaCatalog, changes: readonly RowChange[], options: WriteOptions = {}): Promise<ReplayStats> {
  const stats: ReplayStats = { inserted: 0, updated: 0, deleted: 0, batches: 0 };
  let start = 0;
  while (start < changes.length) {
    const first = changes[start]!;
    let end = start + 1;
    while (end < changes.length && sameRun(first, changes[end]!)) end++;
    const table = tableOf(catalog, first);
    const run = changes.slice(start, end);
    for (const ch of run) checkShape(table, ch);
    switch (first.op) {
      case 'insert':
        stats.inserted += await writeInserts(session, table, run.map((ch) => image(table, ch, ch.after)), options);
        break;
      case 'update':
        stats.updated += await writeUpdates(session, table, run.map((ch) => toUpdate(table, ch)));
        break;
      case 'delete':
        stats.deleted += await writeDeletes(session, table, run.map((ch) => keyOf(table, ch, image(table, ch, ch.before))), options);
        break;
    }
    stats.batches++;
    start = end;
  }
  return stats;
}

function sameRun(a: RowChange, b: RowChange): boolean {
  // TableMaps are shared per table id within a file; fall back to names across maps.
  return a.op === b.op && (a.table === b.table || (a.table.schema === b.table.schema && a.table.table === b.table.table));
}

function tableOf(catalog: SchemaCatalog, ch: RowChange): TableSchema {
  const table = catalog.get(ch.table.schema, ch.table.table);
  if (table === undefined) {
    throw new ReplayError(ReplayErrorCode.UnknownTable, `${ch.table.schema}.${ch.table.table}: not in the DR's schema`, { table: `${ch.table.schema}.${ch.table.table}` });
  }
  return table;
}

function checkShape(table: TableSchema, ch: RowChange): void {
  if (ch.table.columns.length !== table.columns.length) {
    throw new ReplayError(
      ReplayErrorCode.SchemaMismatch,
      `${table.schema}.${table.table}: the binlog logs ${ch.table.columns.length} columns, the DR table has ${table.columns.length}`,
      { table: `${table.schema}.${table.table}` },
    );
  }
}

function image(table: TableSchema, ch: RowChange, row: RowImage | null): RowImage {
  if (row === null) {
    throw new ReplayError(ReplayErrorCode.MissingImage, `${table.schema}.${table.table}: a ${ch.op} at offset ${ch.eventOffset} has no ${ch.op === 'insert' ? 'after' : 'before'} image`, {
      table: `${table.schema}.${table.table}`,
      offset: ch.eventOffset,
    });
  }
  return row;
}

/** The primary-key values of `row` in key order (the binlog image is in ordinal order). */
function keyOf(table: TableSchema, ch: RowChange, row: RowImage): unknown[] {
  const positions = keyPositions(table);
  const key = new Array<unknown>(positions.length);
  for (let i = 0; i < positions.length; i++) key[i] = row[positions[i]!];
  return key;
}

const keyPositionCache = new WeakMap<TableSchema, readonly number[]>();

/** Image indexes of the primary-key columns, in key order; built once per table. */
function keyPositions(table: TableSchema): readonly number[] {
  let positions = keyPositionCache.get(table);
  if (positions === undefined) {
    positions = (table.primaryKey ?? []).map((name) => table.columns.findIndex((c) => c.name === name));
    keyPositionCache.set(table, positions);
  }
  return positions;
}

/** Addressed by the before image's key; sets every column the after image logged. */
function toUpdate(table: TableSchema, ch: RowChange): RowUpdate {
  const before = image(table, ch, ch.before);
  const after = ch.after;
  if (after === null) throw new ReplayError(ReplayErrorCode.MissingImage, `${table.schema}.${table.table}: an update at offset ${ch.eventOffset} has no after image`, { table: `${table.schema}.${table.table}`, offset: ch.eventOffset });
  const set: Record<string, ColumnValue> = {};
  for (let i = 0; i < table.columns.length; i++) {
    const v = after[i];
    if (v !== undefined) set[table.columns[i]!.name] = v;
  }
  return { key: keyOf(table, ch, before), set };
}
