/**
 * binlog-salvage's library API. Everything exported here is documented where it is declared;
 * everything else is internal and may change.
 */
import { salvage as runSalvage, type SalvageOptions, type SalvageReport } from './pipeline/salvage.js';
import { readTransactions as readBatches, type ReadOptions as BinlogReadOptions } from './source/read-transactions.js';
import type { Transaction as BinlogTransaction } from './binlog/transaction.js';
import { ReopenedSession, type FirstConnectionOptions } from './db/first-connection.js';
import { resumingLiveTransactions } from './pipeline/live-resume.js';
import type { SqlSession } from './db/sql-session.js';
import { tlsSocketOptions as tlsFor, type TlsSettings as ConnectionTls } from './db/tls.js';
import { readLiveTransactions as readLive, type LiveTls, type ControlSession as LiveControl, type LiveSourceOptions as LiveOptions, type LiveTarget as LiveServer } from './source/live-source.js';
import type { ReadBatch as LiveBatch } from './source/read-transactions.js';

// ---- the decoder (also the `binlog-salvage/binlog` entry point, src/binlog/index.ts) -------------

export { BinlogDecoder, type DecoderOptions, type IncompleteTail } from './binlog/decoder.js';
export {
  TransactionAssembler,
  gtidText,
  statementMarkOf,
  type Gtid,
  type Transaction,
  type StatementMark,
  type IncompleteTransaction,
  type TransactionItem,
  type RowChange,
  type LoggedStatement,
  type IncompleteReason,
  type DamageFacts,
} from './binlog/transaction.js';
export { ChecksumAlgorithm } from './binlog/event.js';
export type {
  Flavor,
  FormatDescription,
  FormatDescriptionEvent,
  QueryStatus,
  QueryEvent,
  LoadQueryFile,
  XidEvent,
  RotateEvent,
  StopEvent,
  IntvarEvent,
  RandEvent,
  UserVarEvent,
  TableMap,
  TableMapEvent,
  RowOperation,
  RowsEvent,
  MysqlGtidEvent,
  GtidInterval,
  PreviousGtidsEvent,
  MariadbGtid,
  MariadbGtidEvent,
  GtidListEvent,
  BinlogCheckpointEvent,
  AnnotateRowsEvent,
  RowsQueryEvent,
  XaPrepareEvent,
  IncidentEvent,
  HeartbeatEvent,
  TransactionPayloadEvent,
  IgnoredEvent,
  UnknownEvent,
  DamagedEvent,
  BinlogEvent,
  DecodeWarning,
} from './binlog/event.js';
export type { ColumnDef, ColumnValue, RowImage } from './binlog/column.js';
export { ColumnType, columnTypeName } from './binlog/column-types.js';
export { EventType, eventTypeName } from './binlog/event-types.js';
export { JsonValue, JsonDecimal, JsonPatch, type JsonNode, type JsonObject, type JsonPatchOperation } from './binlog/values/json-value.js';
export { CharsetText } from './binlog/values/charset-text.js';
export { toCanonical, stringifyCanonical, RawJson, type CanonicalValue } from './binlog/values/canonical-json.js';
export { transactionToJson, rowToCanonical, type TransactionJsonOptions } from './binlog/transaction-json.js';
// Credential literals out of logged SQL (CREATE USER … IDENTIFIED BY 'pw'), as every output of salvage takes them: `transactionToJson(tx, { sqlText: redactSecrets })`.
export { redactSecrets, REDACTED } from './model/redact-secrets.js';
export type { ColumnHint, SchemaHints } from './binlog/events/table-map.js';
export { BinlogError, BinlogErrorCode, EngineError, type ErrorDetails } from './errors.js';
export type { EventHeader } from './binlog/header.js';

export { readTransactions, type ReadOptions, type ReadBatch } from './source/read-transactions.js';
export { resolveBinlogFiles, SourceError, SourceErrorCode, type BinlogFile } from './source/binlog-files.js';
export {
  LiveSourceError,
  LiveSourceErrorCode,
  type LiveSourceOptions,
  type LiveTarget,
  type LiveTls,
  type ControlSession,
  type BinlogPosition as LiveBinlogPosition,
} from './source/live-source.js';
export { inspectBinlogs, InspectStats, type InspectOptions, type InspectItem, type TableStats, type StatsSnapshot } from './pipeline/inspect.js';
export { TransactionFilter, FilterError, type TransactionFilterOptions } from './pipeline/transaction-filter.js';
export { GtidSet, GtidSetError } from './model/gtid-set.js';
export { parseConnectionUrl, ConnectionUrlError, type ConnectionTarget } from './db/connection-url.js';
export { tlsSocketOptions, TLS_MODES, TlsError, TlsErrorCode, type TlsMode, type TlsSettings, type TlsSocketOptions } from './db/tls.js';

// ---- the reconcile engine ---------------------------------------------------------------------


export { SalvageError, SalvageErrorCode, type SalvageOptions, type LiveSalvageSource, type SalvageProgress, type DrReconnectNotice, type SalvageReport, type TransactionPoint } from './pipeline/salvage.js';
export type { StallNotice, StallBlocker, MetadataLockSource } from './db/stall-watch.js';
export { KeepGtidsError, KeepGtidsErrorCode } from './sink/keep-gtids.js';
export type { ReportKeyMapping } from './sink/report-source.js';
export type { FailoverAt, FailoverPoint, HistoryTableSummary } from './model/dr-history.js';
export type { LedgerImages } from './sink/ledger-entry.js';
export { SchemaDriftError, SchemaDriftErrorCode } from './pipeline/schema-drift.js';
export { InputError, InputErrorCode } from './source/input-checks.js';
export type { DamagedEntry } from './pipeline/checked-input.js';
export type { StopPoint } from './pipeline/stop-before.js';
export type { ChangeClass, ChangeDecision, Outcome, WriteOp, TransactionResult, ArchiveNote } from './model/decision.js';
export { CustomStrategyErrorCode, type CustomStrategy, type CustomStrategies, type CustomStrategyContext, type CustomDecision, type CanonicalRow } from './reconcile/custom-strategy.js';
export type { StartRule, DrGtidState, BinlogPosition } from './reconcile/lost-transactions.js';
export type { LedgerLine } from './sink/ledger-entry.js';
export { SchemaCatalogError, SchemaCatalogErrorCode } from './model/table-schema.js';
export type { LogicalReferences, SchemaCatalog, TableSchema, ColumnSchema, UniqueKey, ForeignKey, ReferentialAction, ReferencingKey } from './model/table-schema.js';
export {
  parseConfig,
  BUILT_IN_DEFAULTS,
  type NormalisedConfig,
  type NormalisedTableRule,
  type ParseConfigResult,
  type Strategy,
  type ConfigProblem,
  type CascadeGuard,
  type MergePolicy,
  type KeyAllocation,
} from './config/normalise.js';
export type { ConfigInput, ConflictClass, StrategyInput, StrategyName } from './config/schema.js';
export { formatProblems } from './config/format-problems.js';

// ---- errors a run can end with, beyond those above: match on `code` (or instanceof) -----------
// Every one is an EngineError (exported with the decoder) with a stable `code`, `retryable` and `details`.

export { DatabaseError } from './db/schema-hints.js';
export { SqlSessionErrorCode } from './db/sql-session.js';
export { DbErrorCode } from './db/db-errors.js';
export { StateSchemaErrorCode } from './db/state-schema.js';
export { RowReaderErrorCode } from './db/row-reader.js';
export { RowWriterErrorCode } from './db/row-writer.js';
export { ReconcileError, ReconcileErrorCode } from './model/reconcile-error.js';
export { ReconcilerErrorCode } from './reconcile/reconciler.js';
export { ClassifyErrorCode } from './reconcile/classify.js';
export { ColumnMathErrorCode } from './reconcile/column-math.js';
export { TableStateErrorCode } from './reconcile/table-state.js';
export { RemapErrorCode } from './reconcile/remap.js';
export { KeyAllocatorErrorCode } from './reconcile/key-allocator.js';
export { KeyMapError, KeyMapErrorCode } from './reconcile/key-map.js';
export { RuleColumnsError, RuleColumnsErrorCode } from './reconcile/rule-columns.js';
export { FromCanonicalError, FromCanonicalErrorCode } from './reconcile/from-canonical.js';
export { DrHistoryErrorCode } from './reconcile/dr-history-builder.js';
export { DrHistoryFollowError, DrHistoryFollowErrorCode, DrHistorySourceError, DrHistorySourceErrorCode } from './source/dr-history-reader.js';

/**
 * Options of `plan` and `apply`: SalvageOptions without the mode. Options that do not go together
 * or have the wrong shape (an empty `binlogs`, a `config` not from parseConfig, a window limit
 * below 1) reject with SalvageError BAD_OPTION before anything is read.
 */
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
 * groups without a commit are left out (readTransactions reports them). An aborted `signal` ends it
 * with SourceError SOURCE_ABORTED; breaking out of the loop closes the file.
 */
export async function* readBinlog(files: readonly string[], options: BinlogReadOptions = {}): AsyncGenerator<BinlogTransaction> {
  for await (const batch of readBatches(files, options)) {
    for (const item of batch.items) if (item.kind === 'transaction') yield item.tx;
  }
}

/** Options of `readLiveTransactions`: LiveSourceOptions with `control` optional. */
export type LiveReadOptions = Omit<LiveOptions, 'control'> &
  FirstConnectionOptions & {
    /**
     * A session on the same server for SHOW BINARY LOGS / SHOW MASTER STATUS (src/db's sessions and
     * any `{ query(sql) → { rows } }` fit). Without it one is opened to `target`, with its `tls`, and
     * closed when the read ends; the dump connection is then encrypted as that session is, unless
     * `tls` is given. That first connection is tried again while the server does not answer, and a
     * connection lost later (the dump's or that session's: a server restarted, a network cut, a
     * dump silent for three heartbeats) is reopened and the read resumed right after the last
     * transaction it handed over: nothing twice, nothing skipped, the same end (`follow` follows
     * on). Both under `reconnect` and told to `onReconnect` as plan's (`step` `connect`, then
     * `read`): default 10 attempts in a row, 0.5 s doubling to 10 s; `{ attempts: 0 }` gives up at
     * once with LIVE_CONNECTION_LOST naming where to start again. A refusal no retry cures (access
     * denied) fails at once. With a `control` of the caller's nothing is reopened: a lost
     * connection ends the read with LIVE_CONNECTION_LOST.
     */
    readonly control?: LiveControl;
  };

/**
 * A live server's binlogs over the replication protocol, from `options.start` (default: its first
 * binlog) to its end at the time of the call — or on, with `follow`, until `signal` aborts
 * (LIVE_ABORTED) — in the batches readTransactions yields for files. `target` is what
 * parseConnectionUrl returns; the account needs REPLICATION SLAVE and BINLOG MONITOR (MariaDB) or
 * REPLICATION CLIENT (MySQL). Breaking out of the loop ends the dump and closes every connection.
 */
export async function* readLiveTransactions(
  target: LiveServer & { readonly database?: string | undefined; readonly tls?: ConnectionTls | undefined },
  options: LiveReadOptions = {},
): AsyncGenerator<LiveBatch> {
  if (options.control !== undefined) {
    yield* readLive(target, { ...options, control: options.control });
    return;
  }
  const { reconnect, onReconnect, control: _none, tls, ...read } = options;
  const reopener = new ReopenedSession({ database: undefined, ...target }, { reconnect, notify: onReconnect, server: 'source', ...(read.signal === undefined ? {} : { signal: read.signal }) });
  const control = await reopener.open();
  try {
    const dumpTls = (session: SqlSession): LiveTls | null => (tls !== undefined ? tls : tlsFor(target.tls, session.encrypted ?? false, target.host));
    yield* resumingLiveTransactions(target, { ...read, control, reopener, tls: dumpTls });
  } finally {
    await control.end();
  }
}
