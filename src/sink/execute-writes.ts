/**
 * Carries out a window's writes (reconcile's WriteOp list) with as few statements as order allows.
 *
 * Order matters only within a table: a delete or update that frees a unique value must come
 * before the insert that takes it. Across tables, foreign keys would impose an order too, but the
 * window runs with `foreign_key_checks=0` (sink/apply-window.ts says why), so each table's writes
 * keep their source order and consecutive writes of one kind to one table become one multi-row
 * statement.
 */
import { writeDeletes, writeInserts, writeUpdates, type RowUpdate, type WriteOptions } from '../db/row-writer.js';
import type { SqlSession } from '../db/sql-session.js';
import type { RowImage } from '../binlog/column.js';
import type { TableSchema } from '../model/table-schema.js';
import type { WriteOp } from '../reconcile/decision.js';

/** Rows written, per kind. */
export interface WriteCounts {
  inserted: number;
  updated: number;
  deleted: number;
  /** Statements sent. */
  statements: number;
}

/** Runs `writes` on `session` (inside the caller's transaction). */
export async function executeWrites(session: SqlSession, writes: readonly WriteOp[], options: WriteOptions = {}): Promise<WriteCounts> {
  const counts: WriteCounts = { inserted: 0, updated: 0, deleted: 0, statements: 0 };
  const byTable = new Map<TableSchema, WriteOp[]>();
  for (const w of writes) {
    let list = byTable.get(w.table);
    if (list === undefined) byTable.set(w.table, (list = []));
    list.push(w);
  }
  const counting: SqlSession = {
    query: (sql, params) => {
      counts.statements++;
      return session.query(sql, params);
    },
    end: () => session.end(),
    destroy: () => session.destroy(),
  };
  for (const [table, list] of byTable) {
    let i = 0;
    while (i < list.length) {
      const kind = (list[i] as WriteOp).kind;
      let j = i;
      while (j < list.length && (list[j] as WriteOp).kind === kind) j++;
      const run = list.slice(i, j);
      await writeRun(counting, table, kind, run, counts, options);
      i = j;
    }
  }
  return counts;
}

async function writeRun(session: SqlSession, table: TableSchema, kind: WriteOp['kind'], run: readonly WriteOp[], counts: WriteCounts, options: WriteOptions): Promise<void> {
  switch (kind) {
    case 'insert':
      await writeInserts(session, table, run.map((w) => (w as Extract<WriteOp, { kind: 'insert' }>).row as RowImage), options);
      counts.inserted += run.length;
      return;
    case 'update':
      await writeUpdates(
        session,
        table,
        run.map((w): RowUpdate => {
          const u = w as Extract<WriteOp, { kind: 'update' }>;
          return { key: u.key, set: u.set };
        }),
      );
      counts.updated += run.length;
      return;
    case 'delete':
      await writeDeletes(session, table, run.map((w) => (w as Extract<WriteOp, { kind: 'delete' }>).key), options);
      counts.deleted += run.length;
      return;
  }
}
