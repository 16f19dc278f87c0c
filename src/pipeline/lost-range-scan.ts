/**
 * A first, read-only pass over the lost range, before anything touches the DR: which tables it
 * writes (for the schema check and introspection), the largest integer each column of an insert
 * takes (a remap must pick ids above every id the lost range will insert, or it collides with a
 * later lost insert), the DDL in the range (which stops the run before any write), and the counts
 * progress needs. Decoding is cheap next to applying: the pass costs a fraction of the run.
 */
import type { TableMap } from '../binlog/event.js';
import type { IncompleteTail } from '../binlog/decoder.js';
import type { Gtid, IncompleteTransaction, Transaction } from '../binlog/transaction.js';
import { ddlStatements, gtidText } from '../binlog/transaction.js';
import { redactSecrets } from '../model/redact-secrets.js';
import { matchesByName } from '../reconcile/column-match.js';
import type { LostFilter } from '../reconcile/lost-transactions.js';
import type { BinlogFile } from '../source/binlog-files.js';
import { readTransactions, type ReadBatch, type ReadOptions } from '../source/read-transactions.js';

/** A DDL statement found in the lost range. */
export interface LostDdl {
  readonly at: string;
  readonly file: string;
  readonly pos: number;
  readonly sql: string;
}

/**
 * One shape a table has in the lost range (its columns as a table map gives them), with the first
 * transaction that wrote it so: an ALTER in the lost range gives the table a second shape.
 */
export interface TableShape {
  readonly map: TableMap;
  /** The first transaction with this shape: its GTID, else `file:pos`. */
  readonly at: string;
  readonly gtid: string | null;
  readonly file: string;
  readonly pos: number;
}

export interface LostRangeScan {
  /** Tables the lost transactions write, by `schema.table`, with the first table map seen. */
  readonly tables: Map<string, TableMap>;
  /** Every distinct shape of each of those tables, in the order first met (the schema check checks each). */
  readonly shapes: Map<string, TableShape[]>;
  /**
   * Per table, per column: the largest integer an insert of the lost range gives it. A column is its
   * lower-case name where the binlog logs names (images are matched to the DR's columns by name,
   * whatever their positions: reconcile/column-match.ts), else its position.
   */
  readonly maxInserted: Map<string, Map<number | string, bigint>>;
  readonly ddl: LostDdl[];
  readonly transactions: number;
  readonly rowChanges: number;
  readonly bytesTotal: number;
  /** Groups without a commit (reported, never applied), and cut files. */
  readonly incomplete: IncompleteTransaction[];
  readonly tails: { readonly file: string; readonly tail: IncompleteTail }[];
  /** First and last lost transactions: where the lost window begins and ends. */
  readonly first: Transaction | null;
  readonly last: Transaction | null;
  /** Every transaction read (lost or not), for the report's timeline. */
  readonly read: number;
  /** The first lost transaction without a GTID (anonymous, pre-GTID logs): `keepGtids` has no GTID to give it. */
  readonly gtidless: Transaction | null;
  /** Per MariaDB domain, the lost GTID with the lowest sequence number: `keepGtids` refuses a DR that logged that far in the domain. */
  readonly lowestByDomain: Map<number, Gtid>;
}

/** The largest integer seen per column position of one shape of a table's inserts, and the order positions were first met in. */
interface ColumnMaxima {
  readonly table: string;
  /** The column names where the table map logs them (the result is keyed by name), else null (by position). */
  readonly names: readonly string[] | null;
  readonly max: (number | bigint | undefined)[];
  readonly order: number[];
}

/**
 * Adds `map` to `name`'s shapes unless one with the same columns is there. Called once per table
 * map object (a transaction's), and a table has one or two shapes: the comparison is cheap.
 */
export function noteShape(shapes: Map<string, TableShape[]>, name: string, map: TableMap, tx: Transaction): TableShape | null {
  let list = shapes.get(name);
  if (list === undefined) shapes.set(name, (list = []));
  if (list.some((s) => sameShape(s.map, map))) return null;
  const gtid = tx.gtid !== null ? gtidText(tx.gtid) : null;
  const shape: TableShape = { map, at: gtid ?? `${tx.file}:${tx.pos}`, gtid, file: tx.file, pos: tx.pos };
  list.push(shape);
  return shape;
}

/** The same columns: count, and per column the type, its metadata and the name the binlog gave. */
function sameShape(a: TableMap, b: TableMap): boolean {
  if (a === b) return true;
  if (a.columns.length !== b.columns.length) return false;
  return a.columns.every((c, i) => {
    const d = b.columns[i]!;
    return c.type === d.type && c.meta === d.meta && c.name === d.name;
  });
}

/** Reads `files` once and summarises the transactions `filter` calls lost. */
export function scanLostRange(files: readonly BinlogFile[], filter: LostFilter, options: ReadOptions = {}): Promise<LostRangeScan> {
  return scanLostBatches(readTransactions(files, options), filter);
}

/** Summarises the transactions `filter` calls lost in a stream of batches (files, or a live server read to its end). */
export async function scanLostBatches(batches: AsyncIterable<ReadBatch>, filter: LostFilter): Promise<LostRangeScan> {
  const scan: LostRangeScan = { tables: new Map(), shapes: new Map(), maxInserted: new Map(), ddl: [], transactions: 0, rowChanges: 0, bytesTotal: 0, incomplete: [], tails: [], first: null, last: null, read: 0, gtidless: null, lowestByDomain: new Map() };
  let gtidless: Transaction | null = null;
  let first: Transaction | null = null;
  let last: Transaction | null = null;
  let bytesTotal = 0;
  let read = 0;
  let transactions = 0;
  let rowChanges = 0;
  // Maxima kept as the decoder gives them (a number unless beyond ±(2^53−1)) in an array by column,
  // made bigints once at the end: `>` compares a number with a bigint exactly, and a BigInt per
  // integer of every insert was 34 MB of garbage in a 200k-change scan (now under 17 MB).
  const maxima = new Map<string, ColumnMaxima>();
  // The decoder reuses a table map while its table's layout stays: its entry key is built once.
  const slots = new WeakMap<TableMap, { readonly key: string; readonly names: readonly string[] | null }>();
  // A transaction's changes mostly follow one table map: its name is built once per map, not per change.
  let lastMap: TableMap | null = null;
  let name = '';
  let maxes: ColumnMaxima | undefined;
  for await (const batch of batches) {
    bytesTotal = batch.bytesTotal;
    if (batch.tail) scan.tails.push({ file: batch.file, tail: batch.tail });
    for (const item of batch.items) {
      if (item.kind === 'incomplete') {
        scan.incomplete.push(item.tx);
        continue;
      }
      const tx = item.tx;
      read++;
      if (!filter.isLost(tx).lost) continue;
      first ??= tx;
      last = tx;
      transactions++;
      const g = tx.gtid;
      if (g === null) gtidless ??= tx;
      else if (g.flavor === 'mariadb') {
        const low = scan.lowestByDomain.get(g.domainId);
        if (low === undefined || (low.flavor === 'mariadb' && g.seqNo < low.seqNo)) scan.lowestByDomain.set(g.domainId, g);
      }
      rowChanges += tx.changes.length;
      for (const st of ddlStatements(tx)) scan.ddl.push({ at: tx.gtid !== null ? gtidText(tx.gtid) : `${tx.file}:${tx.pos}`, file: tx.file, pos: tx.pos, sql: redactSecrets(st.sql) });
      for (const change of tx.changes) {
        if (change.table !== lastMap) {
          lastMap = change.table;
          name = `${lastMap.schema}.${lastMap.table}`;
          if (!scan.tables.has(name)) scan.tables.set(name, lastMap);
          noteShape(scan.shapes, name, lastMap, tx);
          maxes = undefined;
        }
        if (change.op !== 'insert' || change.after === null) continue;
        if (maxes === undefined) {
          let slot = slots.get(lastMap);
          if (slot === undefined) {
            // Positions are a column's only where names are not logged: with names, one entry per order of them.
            const names = matchesByName(lastMap) ? lastMap.columns.map((c) => c.name.toLowerCase()) : null;
            slots.set(lastMap, (slot = { key: names === null ? name : `${name}\u0000${names.join('\u0000')}`, names }));
          }
          maxes = maxima.get(slot.key);
          if (maxes === undefined) maxima.set(slot.key, (maxes = { table: name, names: slot.names, max: [], order: [] }));
        }
        const { max, order } = maxes;
        const row = change.after;
        for (let i = 0; i < row.length; i++) {
          const v = row[i];
          if (typeof v === 'number') {
            if (!Number.isInteger(v)) continue;
          } else if (typeof v !== 'bigint') continue;
          const cur = max[i];
          if (cur === undefined) {
            order.push(i);
            max[i] = v;
          } else if (v > cur) max[i] = v;
        }
      }
    }
  }
  for (const { table, names, max, order } of maxima.values()) {
    let out = scan.maxInserted.get(table);
    if (out === undefined) scan.maxInserted.set(table, (out = new Map()));
    for (const i of order) {
      const column = names === null ? i : names[i]!;
      const v = BigInt(max[i]!);
      const cur = out.get(column);
      if (cur === undefined || v > cur) out.set(column, v);
    }
  }
  return { ...scan, first, last, bytesTotal, read, transactions, rowChanges, gtidless };
}
