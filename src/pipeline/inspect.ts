/**
 * `inspect`: read binlogs, select transactions, and hand them on — the library form of
 * `salvage inspect`. Per-table statistics are kept by InspectStats.
 */
import type { IncompleteTail } from '../binlog/decoder.js';
import { ColumnType, columnTypeName } from '../binlog/column-types.js';
import type { DecodeWarning, TableMap } from '../binlog/event.js';
import { hintMismatch, isOldTemporal, type SchemaHints } from '../binlog/events/table-map.js';
import { EventType } from '../binlog/event-types.js';
import type { IncompleteTransaction, Transaction } from '../binlog/transaction.js';
import type { ConnectionTarget } from '../db/connection-url.js';
import type { FirstConnectionOptions } from '../db/first-connection.js';
import { resolveBinlogFiles } from '../source/binlog-files.js';
import { readTransactions, type ReadOptions } from '../source/read-transactions.js';
import { fileFrom } from '../source/split-points.js';
import { damageVerdict, startNote } from './filter-reads.js';
import { TransactionFilter, type TransactionFilterOptions } from './transaction-filter.js';

export interface InspectOptions extends ReadOptions, TransactionFilterOptions, FirstConnectionOptions {
  /**
   * Take column names, signedness and charsets from this server's information_schema; its first
   * connection is tried again while it does not answer (`reconnect`, `onReconnect`).
   */
  readonly schemaFrom?: ConnectionTarget;
}

export type InspectItem =
  | { readonly kind: 'transaction'; readonly tx: Transaction }
  | { readonly kind: 'incomplete'; readonly tx: IncompleteTransaction }
  | { readonly kind: 'tail'; readonly file: string; readonly tail: IncompleteTail; readonly cutShort: boolean }
  | { readonly kind: 'warning'; readonly file: string; readonly warning: DecodeWarning }
  | { readonly kind: 'progress'; readonly file: string; readonly bytesRead: number; readonly bytesTotal: number };

/** Reads the files and yields the selected transactions, incomplete groups, tails, warnings and progress. */
export async function* inspectBinlogs(paths: readonly string[], options: InspectOptions = {}): AsyncGenerator<InspectItem> {
  const files = await resolveBinlogFiles(paths);
  const filter = new TransactionFilter(options, files.map((f) => f.path));
  // Loaded on demand: the driver costs ~50 ms of start-up that file-only runs do not need.
  const schemaHints = options.schemaFrom ? await (await import('../db/schema-hints.js')).loadSchemaHints(options.schemaFrom, options) : options.schemaHints;
  const notes = new MetadataNotes(schemaHints);
  if (options.startPosition !== undefined && files.length > 0) {
    const from = await fileFrom(files[0]!, options.startPosition);
    files[0] = from.file;
    const note = startNote(from, options.startPosition);
    if (note !== null) yield { kind: 'warning', file: from.file.path, warning: note };
  }
  // A GTID filter learns each transaction's GTID by reading it, so it reads past damage (skipDamaged)
  // to the transactions it wants; what the damage cut is then judged below, never guessed at.
  const judgeDamage = filter.byGtid && options.skipDamaged !== true;
  const read = { ...options, ...(options.stopPosition === undefined ? {} : { stopAt: options.stopPosition }), ...(judgeDamage ? { skipDamaged: true } : {}), schemaHints };
  for await (const batch of readTransactions(files, read)) {
    for (const w of batch.warnings) yield { kind: 'warning', file: batch.file, warning: w };
    let stop = false;
    for (const item of batch.items) {
      if (item.kind === 'incomplete') {
        if (judgeDamage && item.tx.reason === 'damaged') {
          if (filter.pastEnd(item.tx)) {
            stop = true;
            break;
          }
          yield { kind: 'warning', file: item.tx.file, warning: damageVerdict(item.tx, filter) };
          continue;
        }
        if (filter.keepsIncomplete(item.tx)) yield item;
        continue;
      }
      if (filter.pastEnd(item.tx)) {
        stop = true;
        break;
      }
      const tx = filter.apply(item.tx);
      if (tx) {
        for (const warning of notes.check(tx)) yield { kind: 'warning', file: tx.file, warning };
        yield { kind: 'transaction', tx };
      }
    }
    if (batch.tail) yield { kind: 'tail', file: batch.file, tail: batch.tail, cutShort: batch.cutShort === true };
    yield { kind: 'progress', file: batch.file, bytesRead: batch.bytesRead, bytesTotal: batch.bytesTotal };
    if (stop) return;
  }
}

const INTEGER_TYPES: ReadonlySet<number> = new Set([ColumnType.TINY, ColumnType.SHORT, ColumnType.INT24, ColumnType.LONG, ColumnType.LONGLONG]);
const TEXT_TYPES: ReadonlySet<number> = new Set([ColumnType.VARCHAR, ColumnType.VAR_STRING, ColumnType.STRING, ColumnType.BLOB, ColumnType.TINY_BLOB, ColumnType.MEDIUM_BLOB, ColumnType.LONG_BLOB]);

/**
 * Says once per table when the values printed are not those the server holds and no schema hints
 * fill the gap (`--schema-from`): a table map without metadata (binlog_row_metadata=NO_LOG, MySQL
 * 5.7) leaves integers signed and text as bytes; MariaDB's pre-10.1 TIME/DATETIME/TIMESTAMP layout
 * logs no fractional digits, so a TIME(1–6) or TIMESTAMP(1–6) read as having none misreads.
 * (plan and apply take what is missing from the DR, so they never need this.)
 */
export class MetadataNotes {
  readonly #seen = new WeakSet<TableMap>();
  readonly #warned = new Set<string>();

  constructor(readonly hints: SchemaHints | undefined) {}

  /** The warnings the transaction's table maps call for, each table's once. */
  check(tx: Transaction): DecodeWarning[] {
    const out: DecodeWarning[] = [];
    for (const change of tx.changes) {
      const map = change.table;
      if (this.#seen.has(map)) continue;
      this.#seen.add(map);
      const name = `${map.schema}.${map.table}`;
      if (this.#warned.has(name)) continue;
      const list = this.hints?.(map.schema, map.table, map.columns.length);
      // A schema with fewer columns than the binlog gives no hints by position (the decoder's rule): nothing to say of their types.
      const hint = list !== undefined && list.length >= map.columns.length ? list : undefined;
      // The decoder took no hints whose types disagree with the binlog's (table-map.ts): say so.
      const bad = hint === undefined ? -1 : hintMismatch(map.columns, hint);
      if (hint !== undefined && bad < 0) continue;
      const lacks: string[] = [];
      if (hint !== undefined && map.metadata !== 'full') {
        lacks.push(`the schema given has other column types for ${name} (column ${bad + 1}: ${hint[bad]?.dataType ?? 'none'} where the binlog has ${columnTypeName(map.columns[bad]?.type ?? -1)}), so its names and types are not used: columns print as @1…@n`);
      }
      if (map.metadata === 'none' && map.columns.some((c) => INTEGER_TYPES.has(c.type))) lacks.push('integers print as signed (an unsigned value above the signed maximum prints negative)');
      if (map.metadata === 'none' && map.columns.some((c) => TEXT_TYPES.has(c.type))) lacks.push('text prints as bytes');
      // MariaDB only: MySQL's old layouts (before 5.6) have no fractional digits at all.
      const old = tx.gtid?.flavor === 'mariadb' ? map.columns.filter((c) => isOldTemporal(c.type) && c.meta === 0) : [];
      if (old.length > 0) {
        lacks.push(`${old.map((c) => c.name).join(', ')} ${old.length === 1 ? 'is' : 'are'} in MariaDB's pre-10.1 temporal layout, which logs no fractional digits: read as having none, a TIME(1–6) or TIMESTAMP(1–6) misreads`);
      }
      if (lacks.length === 0) continue;
      this.#warned.add(name);
      out.push({
        code: 'MISSING_METADATA',
        message: `${name}: ${lacks.join('; ')} — the binlog does not say (binlog_row_metadata below FULL, or an old table); --schema-from URL reads it from a server with the same tables`,
        offset: tx.pos,
        eventType: EventType.TABLE_MAP,
      });
    }
    return out;
  }
}

export { InspectStats, type TableStats, type StatsSnapshot } from './inspect-stats.js';
