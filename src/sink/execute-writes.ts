/**
 * Carries out a window's writes (reconcile's WriteOp list) with as few statements as order allows.
 *
 * The window runs with `foreign_key_checks=0` (the engine checked every reference against rows it
 * locked), so only the order within one table can matter, and only for unique values: a delete or
 * update that frees a value must run before the write that takes it.
 *
 * Per table, when no update in the window moves a primary key or passes a unique value from one
 * row to another, the writes are reduced to their net effect per row (an insert later updated is one insert of the final row,
 * an insert later deleted is nothing, two updates are one) and run as: deletes, then updates, then
 * inserts, each as multi-row statements. That order cannot collide: deletes only free values,
 * no update takes a value another updated row held, and an insert takes a value only if nothing in
 * the source held it by then. Otherwise the table's writes keep their exact source order, consecutive writes of
 * one kind becoming one statement.
 *
 * Writes that carry an archive note (delete-blocking) have their rows recorded in the state schema's
 * `archive` first, before any data statement of the window, when an archive target is given (apply);
 * a plan writes no state, so it gives none.
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import { stringifyCanonical } from '../binlog/values/canonical-json.js';
import { recordArchive, type ArchiveRow } from '../db/archive-store.js';
import { writeDeleteByImage, writeDeletes, writeInserts, writeUpdateByImage, writeUpdates, writeUpdatesBatched, RowWriterErrorCode, type RowUpdate, type WriteOptions } from '../db/row-writer.js';
import type { SqlSession } from '../db/sql-session.js';
import { DatabaseError } from '../db/schema-hints.js';
import { canonicalKeyValues, toCanonicalRow } from '../model/canonical-row.js';
import { looseFolder } from '../model/loose-fold.js';
import { rowKey } from '../model/row-key.js';
import type { TableSchema } from '../model/table-schema.js';
import type { ArchiveNote, WriteOp } from '../model/decision.js';

/** Where archive notes are recorded: the state schema, and the run and source they belong to. */
export interface ArchiveTarget {
  readonly schema: string;
  readonly runId: number;
  readonly sourceId: string;
}

/** Options of executeWrites: the row writer's, and the archive target (apply). */
export interface ExecuteOptions extends WriteOptions {
  readonly archive?: ArchiveTarget;
}

/** Rows written, per kind. */
export interface WriteCounts {
  inserted: number;
  updated: number;
  deleted: number;
  /** Statements sent. */
  statements: number;
}

type Insert = Extract<WriteOp, { kind: 'insert' }>;
type Update = Extract<WriteOp, { kind: 'update' }>;
type Delete = Extract<WriteOp, { kind: 'delete' }>;

/** Runs `writes` on `session` (inside the caller's transaction), their archive rows first. */
export async function executeWrites(session: SqlSession, writes: readonly WriteOp[], options: ExecuteOptions = {}): Promise<WriteCounts> {
  const counts: WriteCounts = { inserted: 0, updated: 0, deleted: 0, statements: 0 };
  const byTable = new Map<TableSchema, WriteOp[]>();
  for (const w of writes) {
    let list = byTable.get(w.table);
    if (list === undefined) byTable.set(w.table, (list = []));
    list.push(w);
  }
  const checked = session.checked?.bind(session);
  const counting: SqlSession = {
    query: (sql, params) => {
      counts.statements++;
      return session.query(sql, params);
    },
    ...(checked === undefined
      ? {}
      : {
          checked: (sql: string, check: Parameters<typeof checked>[1]) => {
            counts.statements++;
            return checked(sql, check);
          },
        }),
    end: () => session.end(),
    destroy: () => session.destroy(),
  };
  const archive = options.archive;
  if (archive !== undefined) {
    const rows: ArchiveRow[] = [];
    for (const w of writes) if (w.kind !== 'insert' && w.archive !== undefined) rows.push(archiveRow(w.table, w.archive, archive));
    if (rows.length > 0) await recordArchive(counting, archive.schema, rows, options.maxPacket);
  }
  for (const [table, list] of byTable) {
    const net = netEffect(table, list);
    if (net === null) await inSourceOrder(counting, table, list, counts, options);
    else {
      if (net.deletes.length > 0) {
        await writeDeletes(counting, table, net.deletes.map((d) => d.key), options);
        counts.deleted += net.deletes.length;
      }
      if (net.updates.length > 0) {
        await writeUpdatesBatched(counting, table, net.updates, options);
        counts.updated += net.updates.length;
      }
      if (net.inserts.length > 0) {
        await writeInserts(counting, table, net.inserts, options);
        counts.inserted += net.inserts.length;
      }
    }
  }
  return counts;
}

interface NetEffect {
  readonly deletes: Delete[];
  readonly updates: RowUpdate[];
  readonly inserts: RowImage[];
}

/**
 * Per row: what is left to do. `deleted` means the DR row goes first; `row` is then (re)inserted.
 * `row` and `update.set` are the write's own until a second write to the row changes them
 * (`owned`): most rows are written once in a window, and copying every image and SET cost a copy
 * per write.
 */
interface RowFate {
  deleted: Delete | null;
  row: RowImage | null;
  update: RowUpdate | null;
  owned: boolean;
}

/** The table's writes reduced per row, or null when their order must be kept (see the module comment). */
function netEffect(table: TableSchema, list: readonly WriteOp[]): NetEffect | null {
  const pk = table.primaryKey;
  if (pk === null) return null;
  const positions = pk.map((c) => table.columns.findIndex((col) => col.name === c));
  for (const w of list) if (w.kind === 'update' && pk.some((c) => Object.hasOwn(w.set, c))) return null;
  if (!uniqueValuesStay(table, list)) return null;
  const fates = new Map<string, RowFate>();
  const fateOf = (key: string): RowFate => {
    let f = fates.get(key);
    if (f === undefined) fates.set(key, (f = { deleted: null, row: null, update: null, owned: false }));
    return f;
  };
  let columnIndex: Map<string, number> | undefined;
  for (const w of list) {
    if (w.kind === 'insert') {
      const f = fateOf(rowKey(positions.map((p) => (w as Insert).row[p])));
      f.row = w.row;
      f.update = null;
      f.owned = false;
    } else if (w.kind === 'update') {
      const f = fateOf(rowKey(w.key));
      if (f.row !== null) {
        columnIndex ??= new Map(table.columns.map((c, i) => [c.name, i]));
        const row = f.owned ? f.row : f.row.slice();
        for (const name of Object.keys(w.set)) row[columnIndex.get(name) ?? -1] = w.set[name];
        f.row = row;
        f.owned = true;
      } else if (f.update !== null) {
        f.update = { key: f.update.key, set: f.owned ? Object.assign(f.update.set, w.set) : { ...f.update.set, ...w.set } };
        f.owned = true;
      } else f.update = { key: w.key, set: w.set };
    } else {
      const key = rowKey(w.key);
      const f = fateOf(key);
      if (f.row !== null && f.deleted === null) fates.delete(key);
      else {
        f.deleted = w;
        f.row = null;
        f.update = null;
        f.owned = false;
      }
    }
  }
  const net: NetEffect = { deletes: [], updates: [], inserts: [] };
  for (const f of fates.values()) {
    if (f.deleted !== null) net.deletes.push(f.deleted);
    if (f.update !== null) net.updates.push(f.update);
    if (f.row !== null) net.inserts.push(f.row);
  }
  return net;
}

/**
 * Whether no unique value passes from one row to another through the window's updates: no update
 * gives a row a value another updated row held before (compared by `looseFolder`: the column's
 * exact collation fold where measured, else a fold looser than any collation, so it errs towards
 * "passes", the safe side; a case-and-spaces fold missed 'josé' taking 'jose' under general_ci). Then the updates may run in any order, in one
 * statement. An update without its old row (none is made so) counts as passing.
 */
function uniqueValuesStay(table: TableSchema, list: readonly WriteOp[]): boolean {
  const updates = list.filter((w): w is Update => w.kind === 'update');
  for (const uk of table.uniqueKeys) {
    if (!updates.some((u) => uk.columns.some((c) => c in u.set))) continue;
    const positions = uk.columns.map((c) => table.columns.findIndex((col) => col.name === c));
    const folds = uk.columns.map((c) => looseFolder(table.columns.find((col) => col.name === c)?.collation ?? null));
    // The update that last held each value: its row's key is only made when another update takes the value (rare).
    const held = new Map<string, Update>();
    for (const u of updates) {
      if (u.old === undefined) return false;
      const v = folded(positions.map((p) => u.old?.[p]), folds);
      if (v !== null) held.set(v, u);
    }
    for (const u of updates) {
      if (!uk.columns.some((c) => c in u.set)) continue;
      const next = positions.map((p, i) => (uk.columns[i]! in u.set ? u.set[uk.columns[i]!] : u.old?.[p]));
      const v = folded(next, folds);
      const holder = v === null ? undefined : held.get(v);
      if (holder !== undefined && holder !== u && rowKey(holder.key) !== rowKey(u.key)) return false;
    }
  }
  return true;
}

function folded(values: readonly (ColumnValue | undefined)[], folds: readonly ((v: ColumnValue | undefined) => string)[]): string | null {
  if (values.some((v) => v === null || v === undefined)) return null;
  // A separator inside a fold can only merge two tuples: more "passes", the safe side.
  return values.map((v, i) => folds[i]!(v)).join('\u0001');
}

async function inSourceOrder(session: SqlSession, table: TableSchema, list: readonly WriteOp[], counts: WriteCounts, options: WriteOptions): Promise<void> {
  if (table.primaryKey === null) return keylessInOrder(session, table, list, counts, options);
  let i = 0;
  while (i < list.length) {
    const kind = (list[i] as WriteOp).kind;
    let j = i;
    while (j < list.length && (list[j] as WriteOp).kind === kind) j++;
    const run = list.slice(i, j);
    switch (kind) {
      case 'insert':
        await writeInserts(session, table, run.map((w) => (w as Insert).row), options);
        counts.inserted += run.length;
        break;
      case 'update':
        await writeUpdates(session, table, run.map((w) => ({ key: (w as Update).key, set: (w as Update).set })), options);
        counts.updated += run.length;
        break;
      case 'delete':
        await writeDeletes(session, table, run.map((w) => (w as Delete).key), options);
        counts.deleted += run.length;
        break;
    }
    i = j;
  }
}

/**
 * A table without a primary key: inserts in runs as any table's, each update and delete on its
 * own by the row's image (`… LIMIT 1`: one of the equal rows), which must reach one row
 * (row-writer.ts writeUpdateByImage). In source order: a later change may match the row an
 * earlier one wrote.
 */
async function keylessInOrder(session: SqlSession, table: TableSchema, list: readonly WriteOp[], counts: WriteCounts, options: WriteOptions): Promise<void> {
  let i = 0;
  while (i < list.length) {
    const w = list[i] as WriteOp;
    if (w.kind === 'insert') {
      let j = i;
      while (j < list.length && (list[j] as WriteOp).kind === 'insert') j++;
      await writeInserts(session, table, list.slice(i, j).map((x) => (x as Insert).row), options);
      counts.inserted += j - i;
      i = j;
      continue;
    }
    if (w.image === undefined) throw new DatabaseError(RowWriterErrorCode.BadKey, `${table.schema}.${table.table} has no primary key: its ${w.kind} names no row image`, { table: `${table.schema}.${table.table}` });
    if (w.kind === 'update') {
      await writeUpdateByImage(session, table, w.image, w.set, options);
      counts.updated++;
    } else {
      await writeDeleteByImage(session, table, w.image, options);
      counts.deleted++;
    }
    i++;
  }
}

/** The archive row of a note: the change as the ledger names it (`GTID#index` split at its last `#`), the row in canonical JSON. */
function archiveRow(table: TableSchema, note: ArchiveNote, target: ArchiveTarget): ArchiveRow {
  const cut = note.change.lastIndexOf('#');
  const positions = (table.primaryKey ?? []).map((c) => table.columns.findIndex((col) => col.name === c));
  return {
    runId: target.runId,
    sourceId: target.sourceId,
    changeAt: note.change.slice(0, cut),
    changeIndex: Number(note.change.slice(cut + 1)),
    table: `${table.schema}.${table.table}`,
    rowKey: stringifyCanonical(canonicalKeyValues(positions.map((p) => note.row[p] as ColumnValue), table) ?? []),
    rowImage: stringifyCanonical(toCanonicalRow(note.row, table)),
    role: note.role,
  };
}
