/**
 * A first, read-only pass over the lost range, before anything touches the DR: which tables it
 * writes (for the schema check and introspection), the largest integer each column of an insert
 * takes (a remap must pick ids above every id the lost range will insert, or it collides with a
 * later lost insert), the DDL in the range (which stops the run before any write), and the counts
 * progress needs. Decoding is cheap next to applying: the pass costs a fraction of the run.
 */
import type { TableMap } from '../binlog/event.js';
import type { IncompleteTail } from '../binlog/decoder.js';
import type { IncompleteTransaction, Transaction } from '../binlog/transaction.js';
import { gtidText } from '../binlog/transaction.js';
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

export interface LostRangeScan {
  /** Tables the lost transactions write, by `schema.table`, with the first table map seen. */
  readonly tables: Map<string, TableMap>;
  /** Per table, per column position: the largest integer an insert of the lost range gives it. */
  readonly maxInserted: Map<string, Map<number, bigint>>;
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
}

/** Reads `files` once and summarises the transactions `filter` calls lost. */
export function scanLostRange(files: readonly BinlogFile[], filter: LostFilter, options: ReadOptions = {}): Promise<LostRangeScan> {
  return scanLostBatches(readTransactions(files, options), filter);
}

/** Summarises the transactions `filter` calls lost in a stream of batches (files, or a live server read to its end). */
export async function scanLostBatches(batches: AsyncIterable<ReadBatch>, filter: LostFilter): Promise<LostRangeScan> {
  const scan: LostRangeScan = { tables: new Map(), maxInserted: new Map(), ddl: [], transactions: 0, rowChanges: 0, bytesTotal: 0, incomplete: [], tails: [], first: null, last: null, read: 0 };
  let first: Transaction | null = null;
  let last: Transaction | null = null;
  let bytesTotal = 0;
  let read = 0;
  let transactions = 0;
  let rowChanges = 0;
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
      rowChanges += tx.changes.length;
      if (tx.commit === 'ddl') {
        for (const st of tx.statements) scan.ddl.push({ at: tx.gtid !== null ? gtidText(tx.gtid) : `${tx.file}:${tx.pos}`, file: tx.file, pos: tx.pos, sql: st.sql });
      }
      for (const change of tx.changes) {
        const name = `${change.table.schema}.${change.table.table}`;
        if (!scan.tables.has(name)) scan.tables.set(name, change.table);
        if (change.op !== 'insert' || change.after === null) continue;
        let maxes = scan.maxInserted.get(name);
        if (maxes === undefined) scan.maxInserted.set(name, (maxes = new Map()));
        const row = change.after;
        for (let i = 0; i < row.length; i++) {
          const v = row[i];
          if (typeof v !== 'number' && typeof v !== 'bigint') continue;
          if (typeof v === 'number' && !Number.isInteger(v)) continue;
          const b = BigInt(v);
          const cur = maxes.get(i);
          if (cur === undefined || b > cur) maxes.set(i, b);
        }
      }
    }
  }
  return { ...scan, first, last, bytesTotal, read, transactions, rowChanges };
}
