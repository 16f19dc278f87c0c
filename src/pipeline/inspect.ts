/**
 * `inspect`: read binlogs, select transactions, and hand them on — the library form of
 * `salvage inspect`. Per-table statistics are kept by InspectStats.
 */
import type { IncompleteTail } from '../binlog/decoder.js';
import type { DecodeWarning } from '../binlog/event.js';
import type { IncompleteTransaction, Transaction } from '../binlog/transaction.js';
import type { ConnectionTarget } from '../db/connection-url.js';
import { resolveBinlogFiles } from '../source/binlog-files.js';
import { readTransactions, type ReadOptions } from '../source/read-transactions.js';
import { TransactionFilter, type TransactionFilterOptions } from './transaction-filter.js';

export interface InspectOptions extends ReadOptions, TransactionFilterOptions {
  /** Take column names, signedness and charsets from this server's information_schema. */
  readonly schemaFrom?: ConnectionTarget;
}

export type InspectItem =
  | { readonly kind: 'transaction'; readonly tx: Transaction }
  | { readonly kind: 'incomplete'; readonly tx: IncompleteTransaction }
  | { readonly kind: 'tail'; readonly file: string; readonly tail: IncompleteTail }
  | { readonly kind: 'warning'; readonly file: string; readonly warning: DecodeWarning }
  | { readonly kind: 'progress'; readonly file: string; readonly bytesRead: number; readonly bytesTotal: number };

/** Reads the files and yields the selected transactions, incomplete groups, tails, warnings and progress. */
export async function* inspectBinlogs(paths: readonly string[], options: InspectOptions = {}): AsyncGenerator<InspectItem> {
  const files = await resolveBinlogFiles(paths);
  const filter = new TransactionFilter(options, files.map((f) => f.path));
  // Loaded on demand: the driver costs ~50 ms of start-up that file-only runs do not need.
  const schemaHints = options.schemaFrom ? await (await import('../db/schema-hints.js')).loadSchemaHints(options.schemaFrom) : options.schemaHints;
  for await (const batch of readTransactions(files, { ...options, schemaHints })) {
    for (const w of batch.warnings) yield { kind: 'warning', file: batch.file, warning: w };
    let stop = false;
    for (const item of batch.items) {
      if (item.kind === 'incomplete') {
        yield item;
        continue;
      }
      if (filter.pastEnd(item.tx)) {
        stop = true;
        break;
      }
      const tx = filter.apply(item.tx);
      if (tx) yield { kind: 'transaction', tx };
    }
    if (batch.tail) yield { kind: 'tail', file: batch.file, tail: batch.tail };
    yield { kind: 'progress', file: batch.file, bytesRead: batch.bytesRead, bytesTotal: batch.bytesTotal };
    if (stop) return;
  }
}

export { InspectStats, type TableStats, type StatsSnapshot } from './inspect-stats.js';
