/**
 * binlog-salvage's library API. Everything exported here is documented where it is declared;
 * everything else is internal and may change.
 */
import { salvage as runSalvage, type SalvageOptions, type SalvageReport } from './pipeline/salvage.js';
import { readTransactions as readBatches, type ReadOptions as BinlogReadOptions } from './source/read-transactions.js';
import type { Transaction as BinlogTransaction } from './binlog/transaction.js';

export * from './binlog/index.js';
export { readTransactions, type ReadOptions, type ReadBatch } from './source/read-transactions.js';
export { resolveBinlogFiles, SourceError, SourceErrorCode, type BinlogFile } from './source/binlog-files.js';
export { readLiveTransactions, LiveSourceError, LiveSourceErrorCode, type LiveSourceOptions, type LiveTarget, type LiveTls, type ControlSession } from './source/live-source.js';
export { inspectBinlogs, InspectStats, type InspectOptions, type InspectItem } from './pipeline/inspect.js';
export { TransactionFilter, type TransactionFilterOptions } from './pipeline/transaction-filter.js';
export { GtidSet, GtidSetError } from './model/gtid-set.js';
export { parseConnectionUrl, type ConnectionTarget } from './db/connection-url.js';
export { tlsSocketOptions, TLS_MODES, type TlsMode, type TlsSettings, type TlsSocketOptions } from './db/tls.js';

// ---- the reconcile engine ---------------------------------------------------------------------


export { SalvageError, SalvageErrorCode, type SalvageOptions, type SalvageProgress, type SalvageReport, type TransactionPoint } from './pipeline/salvage.js';
export { SchemaDriftError, SchemaDriftErrorCode } from './pipeline/schema-drift.js';
export { InputError, InputErrorCode } from './source/input-checks.js';
export type { DamagedEntry } from './pipeline/checked-input.js';
export type { ChangeClass, ChangeDecision, Outcome, WriteOp, TransactionResult, ArchiveNote } from './reconcile/decision.js';
export { CustomStrategyErrorCode, type CustomStrategy, type CustomStrategies, type CustomStrategyContext, type CustomDecision, type CanonicalRow } from './reconcile/custom-strategy.js';
export type { StartRule, DrGtidState, BinlogPosition } from './reconcile/lost-transactions.js';
export type { LedgerLine } from './sink/ledger-entry.js';
export type { LogicalReferences, SchemaCatalog, TableSchema, ColumnSchema } from './model/table-schema.js';
export { parseConfig, BUILT_IN_DEFAULTS, type NormalisedConfig, type Strategy, type ConfigProblem } from './config/normalise.js';
export type { ConfigInput, ConflictClass, StrategyInput, StrategyName } from './config/schema.js';
export { formatProblems } from './config/format-problems.js';

/** Options of `plan` and `apply`: SalvageOptions without the mode. */
export type SalvageRunOptions = Omit<SalvageOptions, 'mode'>;

/**
 * Dry run: finds the lost transactions, classifies every row change against the DR and returns
 * the report of what `apply` would do. Writes nothing to the DR, not even the state schema.
 * `options.onSql` receives the statements apply would run; `options.signal` stops between windows.
 */
export function plan(options: SalvageRunOptions): Promise<SalvageReport> {
  return runSalvage({ ...options, mode: 'plan' });
}

/**
 * Merges the lost transactions into the DR exactly once, in windows committed together with the
 * ledger, quarantine, key map and checkpoint; resumable after any interruption. `options.signal`
 * finishes the window in progress and stops (SalvageError SALVAGE_ABORTED, with where to resume).
 */
export function apply(options: SalvageRunOptions): Promise<SalvageReport> {
  return runSalvage({ ...options, mode: 'apply' });
}

/**
 * The committed transactions of binlog files (or `.index` files), in order, as an async iterable;
 * groups without a commit are left out (readTransactions reports them). Stops when `signal` aborts.
 */
export async function* readBinlog(files: readonly string[], options: BinlogReadOptions = {}): AsyncGenerator<BinlogTransaction> {
  for await (const batch of readBatches(files, options)) {
    for (const item of batch.items) if (item.kind === 'transaction') yield item.tx;
  }
}
