/**
 * `plan` and `apply`: the composition root of the reconcile engine (DESIGN.md "Data flow" and
 * "The streaming hot path"). Reads the binlogs, keeps the transactions the DR never received,
 * and works through them in windows: collect the window's keys → one batched (locking, in apply)
 * read per table and key → decide every change in source order against the overlay → write with
 * multi-row statements → ledger, quarantine, key map and checkpoint → commit. The next window is
 * decoded while this one waits on the DR. In apply a window's reads are sent together, and its
 * writes without waiting for each result (db/statement-pipeline.ts): each ledger statement leaves
 * as soon as its changes are decided, so the DR inserts the ledger while the rest is decided, and
 * COMMIT is sent only once every statement before it succeeded.
 *
 * Exactly once: everything a window writes, its ledger rows and the checkpoint commit together,
 * so a run killed at any moment and started again resumes after the last committed window and
 * ends where an uninterrupted run ends. `plan` runs the same decisions against a read-only view
 * (its overlay kept across windows, since nothing is written) and writes nothing to the DR, not
 * even the state schema.
 *
 * If the DR rejects a window's writes (a duplicate only its collation sees), the window is decided
 * again one source transaction per DR transaction; a transaction the DR still rejects on its own
 * is quarantined whole with the server's message. Deadlocks and lock-wait timeouts are retried.
 *
 * The source is binlog files or a live server (src/source/live-source.ts). A live read without
 * `follow` is fixed to the server's end when the run starts, so the pre-scan and the pass that
 * applies see the same transactions. With `follow` there is no pre-scan: the run keeps reading past
 * that end, a window also closes `idleMs` after its first lost transaction was read, and the run ends
 * when its signal aborts — after the window in progress commits — or when it reads the `stopBefore`
 * transaction. A dropped connection is reopened with backoff at the end of the last committed
 * window (the checkpoint): what was decoded after it and not yet applied is read again, so nothing
 * is lost or applied twice.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { ColumnValue, RowImage } from '../binlog/column.js';
import type { RowChange, TableMap } from '../binlog/event.js';
import { ddlStatements, gtidText, type Gtid, type Transaction } from '../binlog/transaction.js';
import { redact, serverLabel, type ConnectionTarget } from '../db/connection-url.js';
import { DbErrorCode, isDataRejection, mapDbError } from '../db/db-errors.js';
import { maxKey, readBinlogEnd, readDrIdentity, readServerUuid, stateExists, type DrIdentity } from '../db/dr-state.js';
import { introspectSchemas, listTableNames } from '../db/introspect.js';
import { describeTrigger, readTriggers, readTriggersHeld, type DrTrigger } from '../db/triggers.js';
import { watchStallsFor, type StallNotice } from '../db/stall-watch.js';
import { readDrSchemaHints } from '../db/schema-hints.js';
import type { SchemaHints } from '../binlog/events/table-map.js';
import { readRowsByImages, readRowsMatching, unreadableReason } from '../db/row-reader.js';
import { createRecordingSession } from '../db/sql-recorder.js';
import { openSession, type SqlSession } from '../db/sql-session.js';
import { isLostConnection, isSourceDrop } from '../db/lost-connection.js';
import { namingOption, openFirstSession, reconnectDelayMs, reconnectPolicy, reopenGaveUp, sleep, type ReconnectNotice, type ReconnectPolicy } from '../db/first-connection.js';
import { checkRuleColumns } from '../reconcile/rule-columns.js';
import { DEFAULT_STATE_SCHEMA, ensureStateSchema } from '../db/state-schema.js';
import { countPendingQuarantine } from '../db/quarantine-store.js';
import { readRuns, runOptions } from '../db/run-store.js';
import { deadResolveWarning } from './resolve.js';
import { StatementPipeline } from '../db/statement-pipeline.js';
import { MAX_PACKET_CEILING, PacketTooLargeError, packetSetting } from '../db/packet-limit.js';
import { tlsSocketOptions } from '../db/tls.js';
import {
  changeAt,
  checkpointGtidSets,
  findStartedRun,
  finishRun,
  lastRunId,
  loadKeyMap,
  markDeadResolveRuns,
  markKilledRuns,
  pendingQuarantineImages,
  pendingQuarantineRows,
  skippedInserts,
  readKeyFloors,
  writeKeyFloors,
  readCheckpoint,
  recordKeyMap,
  recordLedger,
  recordQuarantine,
  recordRunSummary,
  sessionConnectionId,
  startRun,
  ledgerWrites,
  releaseSourceLock,
  takeSourceLock,
  writeCheckpoint,
  type KeyPart,
  type LedgerRow,
  type StoredCheckpoint,
} from '../db/state-store.js';
import { EngineError, type ErrorDetails } from '../errors.js';
import { canonicalKeyValues } from '../model/canonical-row.js';
import { GtidSet } from '../model/gtid-set.js';
import { looseFolder } from '../model/loose-fold.js';
import { redactSecrets } from '../model/redact-secrets.js';
import { rowKey } from '../model/row-key.js';
import type { DrHistory, FailoverAt, FailoverPoint, HistorySpill, HistoryTableSummary } from '../model/dr-history.js';
import { DrHistoryBuilder, DrHistoryErrorCode } from '../reconcile/dr-history-builder.js';
import { floatColumnsOf, floatComparisonWarning, partialImageWarning } from './comparison-notes.js';
import { addLogicalReferences, recordedReferences, schemaCandidates, type LogicalReferences, type SchemaCatalog, type TableSchema } from '../model/table-schema.js';
import type { ChangeDecision, Outcome, TransactionResult } from '../model/decision.js';
import { parseExactJson, rowFromCanonical } from '../reconcile/from-canonical.js';
import { KeyMap } from '../reconcile/key-map.js';
import { LaterNeeds } from '../reconcile/later-needs.js';
import { TableState } from '../reconcile/table-state.js';
import { checkFromGtid, compareBinlogPositions, createLostFilter, isAfter, lostBeforeInput, LostSetAccumulator, type Checkpoint as LostCheckpoint, type LostFilter, type LostFilterOptions, type StartRule } from '../reconcile/lost-transactions.js';
import { changeLabel, heldParents, noteEarlierHeld, QuarantineIndex, Reconciler, uniqueValueHolds } from '../reconcile/reconciler.js';
import { RuleBook } from '../reconcile/rules.js';
import { logicalReferencesOf, type NormalisedConfig } from '../config/normalise.js';
import { collectBlockerRows, collectCascadeChildReads, collectHolderChildReads, collectImageReads, collectReads, collectWrittenRowReads, type ReadRequest, type StateSet } from '../reconcile/window-reads.js';
import type { CustomStrategies } from '../reconcile/custom-strategy.js';
import { stringifyCanonical } from '../binlog/values/canonical-json.js';
import { executeWrites } from '../sink/execute-writes.js';
import { checkKeepGtids, commitsUnderGtid, FollowedGtids, gtidOffStatement, gtidOnStatement, refuseLostGtids, type SessionIdentity } from '../sink/keep-gtids.js';
import type { ReportKeyMapping } from '../sink/report-source.js';
import { ledgerKeyText, ledgerLine, ledgerRow, quarantineRow, type LedgerImages, type LedgerLine } from '../sink/ledger-entry.js';
import { resolveBinlogFiles, SourceErrorCode, type BinlogFile } from '../source/binlog-files.js';
import { readTransactions, type ReadBatch } from '../source/read-transactions.js';
import { readLiveStatementTexts } from '../source/live-statement-texts.js';
import { readStatementTexts } from '../source/statement-texts.js';
import type { BinlogPosition as LivePosition } from '../source/live-source.js';
import { binlogOpening, findGtidStart, oldestBinlog, startGtidCovers } from '../source/live-start.js';
import { noteShape, scanLostBatches, type LostRangeScan, type TableShape } from './lost-range-scan.js';
import { padShortImages } from './short-images.js';
import { checkBinlogHeads, InputError, InputErrorCode, type InputOpening } from '../source/input-checks.js';
import { checkOrigins, damagedResult, damagedTransaction, damageStop, filesBefore, isDamaged, isLost, scanFiles, type DamagedEntry, type DamagePoint } from './checked-input.js';
import { checkSchemaDrift } from './schema-drift.js';
import { cutAtStop, isStopPoint, parseStopBefore, refuseStopOutsideFiles, refuseStopPassed, stopGtid, StopWatch, type StopBefore, type StopPoint } from './stop-before.js';

/** Stable codes of SalvageError. */
export const SalvageErrorCode = {
  NoStart: 'SALVAGE_NO_START',
  Ddl: 'SALVAGE_DDL_IN_LOST_RANGE',
  /** Stopped by the run's signal; in apply `details.committedThrough` (file:pos, or null) is where the same apply resumes. */
  Aborted: 'SALVAGE_ABORTED',
  Fault: 'SALVAGE_FAULT',
  /** More changes were quarantined than the configuration's escalation limit allows. */
  Escalation: 'SALVAGE_ESCALATION',
  /** Another apply of the same source into the same state schema holds the DR (its lock). */
  SourceBusy: 'SALVAGE_SOURCE_BUSY',
  /** Options that do not go together (both or neither of `binlogs` and `source`; `follow` in a plan), or an option of the wrong shape. */
  BadOption: 'BAD_OPTION',
  /**
   * A caller's callback (`onLedger`, `onProgress`, `onSql`) threw: the run stops, the caller's error
   * as `cause`. In apply the window it reported on had committed (callbacks run after COMMIT), so
   * the same apply again resumes after it.
   */
  CallbackThrew: 'SALVAGE_CALLBACK_THREW',
  /**
   * apply without `allowTriggers`: the DR has triggers on tables the run writes, which would fire on
   * its writes; `details.triggers` names them (`trg (AFTER INSERT on shop.orders)`), `details.tables`
   * their tables. Nothing written — or, with `source.follow`, one created since the start on a
   * table a window writes: nothing of that window written, the windows before it committed
   * (`details.committedThrough`, where the same apply resumes).
   */
  DrTriggers: 'SALVAGE_DR_TRIGGERS',
} as const;
export type SalvageErrorCode = (typeof SalvageErrorCode)[keyof typeof SalvageErrorCode];

/** A run (plan or apply) stopped: `code` is one of SalvageErrorCode; a DR fault's original is its `cause`. */
export class SalvageError extends EngineError {}

/**
 * `--follow` with `--dr-binlog FILE…`: files are a copy the DR does not write on (and the DR rotates
 * into files not given), so the history stops at their end; README "--dr-binlog with --follow".
 */
export const FOLLOW_DR_BINLOG_WARNING =
  "--dr-binlog with --follow: the DR's history stops at the end of the files given, so a record the DR creates while the run follows is judged by its values, and so is every key the history does not know; give --dr-source URL to read the DR's binlog live and keep its history current";

/** Times are written as UTC, as the binlog holds them. */
const SESSION_TIME_ZONE = "SET SESSION time_zone = '+00:00'";
/** As replication applies row events: an explicit 0 in an AUTO_INCREMENT column stays 0, and no strict-mode check rejects a value the primary accepted. */
const SESSION_SQL_MODE = "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'";
/** Foreign keys are checked by the engine against the rows it locked; the server's checks would order the writes of a window by table dependencies. */
const SESSION_NO_FK_CHECKS = 'SET SESSION foreign_key_checks = 0';
/** Apply's whole session: a reopened connection, and the head of `plan --sql`. */
const SESSION_SETTINGS = [SESSION_TIME_ZONE, SESSION_SQL_MODE, SESSION_NO_FK_CHECKS] as const;

/** Asked values compared by the server per DR row the fold misses (#aliasCollationMatches); beyond it, the DR's rejection decides. */
const MAX_COLLATION_CANDIDATES = 8;
/**
 * How long the statement texts of a window's quarantined changes may take to list from a live
 * source (connect and SHOW BINLOG EVENTS): past it the entries go without them, the run goes on.
 */
const STATEMENT_LOOKUP_MS = 5000;

/** How long a reconnected run waits for its own lost session's lock once that session is killed. */
const LOCK_AFTER_KILL_SECONDS = 30;

/** How many table rules for DR tables the lost range leaves alone are named in their one warning line. */
const IDLE_RULES_NAMED = 3;

/**
 * The steps outside the windows that talk to the DR (start-up, and the end's count and writes), by
 * the name SALVAGE_FAULT's `details.step` gives, with the words its message uses (#onDr).
 */
const DR_STEPS = {
  identity: "reading the DR's server and GTID state",
  lock: "taking the source's lock",
  checkpoint: 'reading the checkpoint',
  'column-types': "reading the DR's column types",
  origins: "checking where the binlogs come from against the DR's replication state",
  introspection: "reading the DR's schema",
  session: 'setting up the session',
  'held-state': 'loading the key map and the quarantine',
  'key-floors': 'reading the key floors',
  'max-packet': "reading the DR's max_allowed_packet",
  'state-schema': 'creating or updating the state schema',
  'earlier-runs': "reading this source's earlier runs",
  'run-row': 'recording the run',
  'start-floors': 'recording the key floors',
  'killed-runs': 'marking killed runs',
  history: "reading the DR's history",
  'pending-count': 'counting the quarantine pending review',
  window: "reading the DR's rows for a window",
  'keep-gtids': "checking that the DR can record the source's GTIDs",
  triggers: "listing the DR's triggers",
} as const;
type DrStep = keyof typeof DR_STEPS;

/**
 * keepGtids: the transaction was decided under one GTID mode and needs the other (all its changes
 * quarantined after all, or no longer): MariaDB fixes a transaction's domain and sequence number
 * before it starts, so it is rolled back and made again in `underGtid`.
 */
class GtidSwitch extends Error {
  constructor(readonly underGtid: boolean) {
    super(underGtid ? 'the transaction goes under its GTID' : "the transaction goes under the DR's own GTID");
  }
}

/** Thrown while a window is decided: `escalation` stop was passed at the transaction before `at` (#processCut). */
class WindowCut extends Error {
  constructor(readonly at: number) {
    super(`window cut after transaction ${at}`);
  }
}

/** A live server as the source of a run (`--source URL`), read over the replication protocol. */
export interface LiveSalvageSource {
  /** The server (the failed primary brought back, or a binlog server); needs REPLICATION SLAVE and REPLICATION CLIENT / BINLOG MONITOR. */
  readonly target: ConnectionTarget;
  /**
   * Where the read starts; default: this source's checkpoint (file:pos), else the first binlog the server has.
   * `gtid` (instead of file/position): the newest binlog whose starting GTID state is inside that set, at 4
   * (src/source/live-start.ts); what is lost is still the lost-transaction rule's to say.
   */
  readonly start?: { readonly file?: string; readonly position?: number; readonly gtid?: string };
  /** apply only: no pre-scan, keep reading past the server's end, in windows, until `signal` aborts. */
  readonly follow?: boolean;
  /** follow: a window closes this long after its first lost transaction was read, full or not (default 1000 ms). */
  readonly idleMs?: number;
  /** The source's heartbeat period: a dump silent for three of them is reopened (default 5000 ms; see LiveSourceOptions). */
  readonly heartbeatMs?: number;
  /**
   * A dropped connection is reopened after a backoff (default 500 ms doubling to 10 s), up to
   * `attempts` times in a row (default 10); the first connection is tried so too while the server
   * does not answer (a refusal no retry cures fails at once).
   */
  readonly reconnect?: { readonly attempts?: number; readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /** server_id the reader announces (default: a random one, so two readers never evict each other's dump thread). */
  readonly serverId?: number;
}

/**
 * What the project's own tests add to SalvageOptions, apart from it so that the library's public
 * types (SalvageOptions, SalvageRunOptions) do not show them: `salvage()` takes both; `plan` and
 * `apply` of src/index.ts take SalvageOptions only.
 */
export interface SalvageTestHooks {
  /** Sees every statement sent to the DR before it is sent (fault injection). */
  readonly beforeStatement?: (sql: string) => void;
}

/** What a run reads, where it writes and how; the library's `plan`/`apply` take it without `mode`. */
export interface SalvageOptions {
  /** plan: decide and report, write nothing; apply: merge into the DR, exactly once. */
  readonly mode: 'plan' | 'apply';
  /** Binlog files or `.index` files, in order; exactly one of `binlogs` and `source`. */
  readonly binlogs?: readonly string[];
  /** A live server instead of files. */
  readonly source?: LiveSalvageSource;
  /** The DR (parseConnectionUrl); `salvage doctor` checks the privileges a run needs on it. */
  readonly target: ConnectionTarget;
  /** An explicit start (`--from`, `--from-gtid`, `--since`); default: the DR's GTID state. */
  readonly start?: StartRule;
  /** The DR-side state schema (default: the configuration's `stateSchema`, else `salvage`). */
  readonly stateSchema?: string;
  /**
   * Names this source in the checkpoint (default `binlog:<file basename without its number>`; for a
   * live server `live:<@@server_uuid>` where it has one (MySQL), else `live:<host>:<port>`, or
   * `live:<host>:<socket path>` over a Unix socket).
   */
  readonly sourceId?: string;
  /** Source transactions per window (default 1,000) and row changes per window (default 10,000). */
  readonly windowTransactions?: number;
  /** Row changes per window (default 10,000): a window closes at whichever limit it meets first. */
  readonly windowRows?: number;
  /** All of a source transaction applied or all quarantined (default true; the configuration's value when one is given). */
  readonly keepTransactionsWhole?: boolean;
  /** The configuration (src/config) as `parseConfig(input).config` returns it: strategies per table and class, escalation, compare, ignore list, state schema. Default: the built-in strategies. */
  readonly config?: NormalisedConfig;
  /**
   * The functions the configuration's `{ "strategy": "custom", "name": … }` rules call, by name
   * (reconcile/custom-strategy.ts): each returns a built-in decision, never SQL. A name the
   * configuration uses and this does not provide fails before anything is read (RECONCILE_CUSTOM_MISSING).
   */
  readonly strategies?: CustomStrategies;
  /** Foreign keys the DR's schema does not declare (`{"crm.notes": {references: {ticket_id: "crm.tickets.id"}}}`). */
  readonly logicalReferences?: LogicalReferences;
  /** Row images in the DR's ledger for every change (default), or only for those not applied clean (sink/ledger-entry.ts). */
  readonly ledgerImages?: LedgerImages;
  /** DDL in the lost range: stop before writing anything (default), or skip it (recorded in the ledger). */
  readonly ddl?: 'stop' | 'skip';
  /**
   * `--stop-before`: the lost range ends just before this transaction of the input, named by its GTID
   * (MariaDB `0-1-12`, MySQL `uuid:n` or `uuid:tag:n`) or by the position where it starts (`FILE:POS`,
   * as `--from` takes it). Nothing at or after it is read into a window, decided, written or counted;
   * the DDL stop, the schema checks and the lost set see only what lies before it; apply's checkpoint
   * ends before it, so a run without it resumes there. One that names no transaction of the input is
   * refused before anything is written (INPUT_STOP_NOT_FOUND, INPUT_STOP_OUTSIDE), and so are binlog
   * files damaged before it (INPUT_STOP_PAST_DAMAGE); a wrong shape is BAD_OPTION. With
   * `source.follow` it is found as the read meets it: the run ends there (resolves), one already
   * past is refused before anything is written and one passed unmet where the read passes it
   * (pipeline/stop-before.ts). Report: `stoppedBefore`.
   */
  readonly stopBefore?: string;
  /** Check each event's CRC32 where the binlog has them (default true); a mismatch stops the read (BINLOG_CHECKSUM_MISMATCH). */
  readonly verifyChecksums?: boolean;
  /**
   * `--keep-gtids`: each lost transaction is its own DR transaction, committed under its original
   * GTID (MariaDB `gtid_domain_id`/`server_id`/`gtid_seq_no`, MySQL `gtid_next`), so the DR's GTID
   * state records it; decisions are those of a run without it. Not under its GTID: a transaction
   * whose changes were all quarantined, or damaged and skipped (not on the DR). Refused before
   * anything is written (KEEP_GTIDS_*, sink/keep-gtids.ts) where the DR cannot record them honestly;
   * with `source.follow` the refusals that need the lost range are made as each lost transaction is
   * met, before it is written (FollowedGtids). plan shows the same SET statements in `onSql`.
   */
  readonly keepGtids?: boolean;
  /**
   * Stops the run: the window in progress finishes (apply commits it) and the run rejects with
   * SALVAGE_ABORTED, its connections and files closed; the same apply again resumes after the last
   * committed window. With `source.follow` an abort is how the run ends: it resolves with the report.
   */
  readonly signal?: AbortSignal;
  /**
   * Every decision, in source order, as a `--ledger` line; in apply, once its window has committed.
   * A callback that throws stops the run (SALVAGE_CALLBACK_THREW, its error as `cause`); so do the two below.
   */
  readonly onLedger?: (line: LedgerLine) => void;
  /** Plan only: each statement apply would run, in order (`--sql`). */
  readonly onSql?: (statement: string) => void;
  /** Once per window, after it committed (apply) or was decided (plan), with the totals so far. */
  readonly onProgress?: (progress: SalvageProgress) => void;
  /**
   * Binlog files: a transaction whose events fail their checksum or do not decode is skipped and
   * recorded (ledger class `damaged`, outcome `skipped`) when the boundary after the damage can be
   * trusted; otherwise, and without this, the run applies everything before the damage and stops
   * there (BINLOG_*, exit 2). See pipeline/checked-input.ts.
   */
  readonly skipDamaged?: boolean;
  /** Binlog files: read relay logs as binlogs (refused otherwise, INPUT_RELAY_LOG). */
  readonly allowRelayLog?: boolean;
  /** Binlog files: do not refuse binlogs whose GTIDs come from none of the servers the DR replicated from (INPUT_OTHER_SERVER). */
  readonly forceSource?: boolean;
  /**
   * `--allow-triggers`: let the DR's triggers on the tables the run writes fire on apply's writes.
   * Without it apply refuses such tables before anything is written (SALVAGE_DR_TRIGGERS, exit 2):
   * replication's row events fire none, so an audit row or counter a trigger keeps would be written
   * a second time. plan warns either way (report.warnings).
   */
  readonly allowTriggers?: boolean;
  /**
   * The DR's own binlog since the failover (`--dr-binlog`): files or `.index` files, in order. With
   * it (or `drSource`), records are told apart by the DR's history, not by their values (issue 8).
   */
  readonly drBinlogs?: readonly string[];
  /** The DR's binlog read live over the replication protocol (`--dr-source`), to its end at the start of the run. */
  readonly drSource?: { readonly target: ConnectionTarget; readonly start?: { readonly file?: string; readonly position?: number } };
  /** `--failover-at`: overrides the failover point the DR's binlog shows. */
  readonly failoverAt?: FailoverAt;
  /**
   * A DR connection lost during the run (network, `KILL`, the DR restarting) is reopened after a
   * backoff (default 500 ms doubling to 10 s), up to `attempts` times in a row (default 10; 0 stops
   * at once): inside a window of apply, where the checkpoint then says whether the window committed;
   * at a start-up step (the lock, the state schema, the checkpoint, introspection, the DR's history;
   * plan's too), made again; inside a window of plan, its rows read again; after the last window,
   * the run's status and summary written again. The run's first connection is retried under the
   * same policy while the DR does not answer (refused, timed out, restarting, too many
   * connections); a refusal no retry cures — access denied, an unknown database, TLS that cannot
   * be set up as asked — fails at once (DB_CONNECT not retryable, DB_TLS).
   */
  readonly reconnect?: { readonly attempts?: number; readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /**
   * Told before each wait for a DR connection to be tried again (the first one included), with
   * which DR, where the run was and why; and before each wait for a live source's first connection
   * (`server: 'source'`, under `source.reconnect`). The CLI prints it as a warning line. A callback
   * that throws stops the run (SALVAGE_CALLBACK_THREW).
   */
  readonly onReconnect?: (notice: DrReconnectNotice) => void;
  /**
   * A DR statement that has waited `stallNoticeMs` (default 30 s; 0: never) is reported here, with
   * what the DR says about it (its PROCESSLIST state, the connections holding the InnoDB lock it
   * waits for), asked on a second connection; again every minute while it waits. A notice changes
   * nothing: the run goes on waiting (innodb_lock_wait_timeout, or the DBA, ends the wait).
   */
  readonly onStall?: (notice: StallNotice) => void;
  /** See onStall. */
  readonly stallNoticeMs?: number;
}

/**
 * A connection that failed, about to be tried again after `delayMs` (SalvageOptions.onReconnect):
 * the DR's (no `server`), or a live source's first connection (`server: 'source'`).
 */
export type DrReconnectNotice = ReconnectNotice;

/** What `onProgress` receives once per window: the run's totals so far. */
export interface SalvageProgress {
  /** Lost transactions decided so far (in apply: committed). */
  readonly transactionsDone: number;
  /** Lost transactions the pre-scan found in the range. */
  readonly transactionsTotal: number;
  readonly rowChangesDone: number;
  readonly rowChangesTotal: number;
  /** Decisions so far by outcome. */
  readonly outcomes: Readonly<Record<Outcome, number>>;
  /** Where the last window ended: `file:pos` (file's base name). */
  readonly position: string;
  readonly elapsedMs: number;
  /** Following a live server: there is no total (the totals equal what is done so far). */
  readonly following: boolean;
}

/** Where a lost transaction is: GTID, file, position, time. */
export interface TransactionPoint {
  readonly gtid: string | null;
  readonly file: string;
  readonly pos: number;
  readonly timestamp: string;
}

/** The summary of a run (`--report FILE.json`, and the library's return value). */
export interface SalvageReport {
  readonly mode: 'plan' | 'apply';
  /** The DR, as a URL without password. */
  readonly target: string;
  /** The DR server: `mariadb` or `mysql`, its version and server_id. */
  readonly dr: { readonly flavor: string; readonly version: string; readonly serverId: number };
  /** The name the checkpoint keeps this source under (SalvageOptions.sourceId). */
  readonly sourceId: string;
  /** apply: this run's id in the state schema's `runs` table; null in plan. */
  readonly runId: number | null;
  /** Which rule chose the starting point, and why; the lost GTID set. */
  readonly start: { readonly rule: string; readonly lostSet: string; readonly checks: readonly string[]; readonly checkpoint: string | null };
  /** The lost transactions in the range read (following: those met), and the first and last of them. */
  readonly lost: { readonly transactions: number; readonly rowChanges: number; readonly first: TransactionPoint | null; readonly last: TransactionPoint | null };
  /** table → class → outcome → count. */
  readonly counts: Record<string, Record<string, Partial<Record<Outcome, number>>>>;
  /** Decisions by outcome, all tables. */
  readonly outcomes: Record<Outcome, number>;
  /** Keys mapped: re-keyed rows (`remap`), and with `linked: true` lost rows that are an existing DR record (`link`). */
  readonly remaps: ReportKeyMapping[];
  /** Changes this run quarantined. */
  readonly quarantined: number;
  /** Quarantine entries pending review on the DR at the end (this run's and earlier runs'); 0 for a plan against a DR without state. */
  readonly pendingQuarantine: number;
  /** What the run noticed that stops nothing, for a person to check (a configuration rule that matches no table). */
  readonly warnings: readonly string[];
  /** Transactions the binlogs hold without their commit (a crash's tail, a rollback): not applied. */
  readonly incomplete: { readonly gtid: string | null; readonly file: string; readonly pos: number; readonly reason: string }[];
  /** With `ddl: 'skip'`: the DDL passed over, where it was and its text. */
  readonly skippedDdl: { readonly at: string; readonly sql: string }[];
  /** Windows decided (apply: committed). */
  readonly windows: number;
  /** Windows decided again: after a deadlock or lock wait timeout, or one source transaction at a time after the DR rejected the window. */
  readonly retries: number;
  readonly timings: { readonly scanMs: number; readonly reconcileMs: number; readonly totalMs: number; readonly rowsPerSecond: number };
  /** A run that decided without the DR's own binlog says so (DESIGN.md). */
  readonly withoutHistory: boolean;
  /** `keepGtids`: the lost transactions were applied (plan: would be) under their original GTIDs. */
  readonly keepGtids?: boolean;
  /** What was read: binlog files, or a live server (redacted URL, where the read started, whether it followed, reconnections). */
  readonly source?:
    | { readonly kind: 'files'; readonly files: readonly string[] }
    | { readonly kind: 'live'; readonly server: string; readonly start: string; readonly follow: boolean; readonly reconnects: number };
  /** apply: this source's checkpoint when the run ended (`file:pos`), where the next run resumes; null in plan or when nothing was ever committed. */
  readonly committedThrough?: string | null;
  /** The run ended because its signal aborted: how a follow ends. */
  readonly stoppedOnRequest?: boolean;
  /**
   * `stopBefore`: the transaction the run stopped before, as asked (nothing at or after it was read
   * into the run); absent without the option. `lost.transactions` 0: none of the lost range lies
   * before it, so there was nothing to do.
   */
  readonly stoppedBefore?: StopPoint;
  /** Binlog files: damaged events passed over (each lost transaction skipped under `skipDamaged` is in the ledger too); absent when none. */
  readonly damaged?: readonly DamagedEntry[];
  /** Times the DR connection was lost and reopened (start-up, apply's windows, after the last). */
  readonly drReconnects?: number;
  /** The DR's own history since the failover, when the run read the DR's binlog; absent or null: decided without it. */
  readonly history?: { failover: FailoverPoint; transactions: number; tables: HistoryTableSummary[]; complete: boolean } | null;
}

const DEFAULT_WINDOW_TRANSACTIONS = 1000;
const DEFAULT_WINDOW_ROWS = 10_000;
const MAX_RETRIES = 6;
const DEFAULT_IDLE_MS = 1000;
/** Following: the figures are given at least this often, windows or not (plain progress's interval: cli/progress.ts). */
const FOLLOW_PROGRESS_MS = 5000;

type LiveModule = typeof import('../source/live-source.js');

/** The DR's largest key of a table a window inserts into (null: the table is empty), read for its key floor. */
interface MaxKeyRead {
  readonly name: string;
  readonly table: TableSchema;
  readonly column: string;
  readonly max: bigint | null;
}

/** The live server of a run: what names it, where both passes stop, and the module that reads it. */
interface LiveInput {
  readonly spec: LiveSalvageSource;
  readonly label: string;
  /** `live:<server_uuid>`, `live:<host>:<port>` or `live:<host>:<socket path>`. */
  readonly identity: string;
  /** Without follow: the server's end when the run began (both passes stop there); null when following. */
  readonly end: LivePosition | null;
  readonly module: LiveModule;
  /** `start.gtid` resolved to a file on the server; null without one. */
  readonly gtidStart: { readonly file?: string; readonly position: number } | null;
  /** The server's oldest binlog and what was written before it (purged), or null. */
  readonly oldest: { readonly file: string; readonly gtids: readonly Gtid[] } | null;
}

/** Runs `plan` or `apply` and returns the report. */
export async function salvage(options: SalvageOptions & SalvageTestHooks): Promise<SalvageReport> {
  const t0 = performance.now();
  // As the CLI takes it: the configuration's stateSchema unless the option names one. A library run
  // that ignored it would keep its checkpoint where a CLI run with the same file never looks.
  const stateSchema = options.stateSchema ?? options.config?.stateSchema ?? DEFAULT_STATE_SCHEMA;
  if ((options.binlogs === undefined) === (options.source === undefined)) {
    throw new SalvageError(SalvageErrorCode.BadOption, 'give the binlogs to read (binlogs) or a live server (source), exactly one of them', { option: '--source' });
  }
  if (options.source !== undefined && (options.skipDamaged === true || options.allowRelayLog === true)) {
    // The server reads and verifies its own binlogs; damage there fails its dump thread.
    throw new SalvageError(SalvageErrorCode.BadOption, `${options.skipDamaged === true ? '--skip-damaged' : '--allow-relay-log'} goes with binlog files (--binlog), not a live server`, { option: options.skipDamaged === true ? '--skip-damaged' : '--allow-relay-log' });
  }
  if (options.source?.follow === true && options.mode !== 'apply') {
    throw new SalvageError(SalvageErrorCode.BadOption, 'follow goes with apply: a plan reads to the server\'s end and stops', { option: '--follow' });
  }
  checkShapes(options);
  checkNumbers(options);
  const stop = stopBeforeOf(options);
  if (options.binlogs !== undefined && options.binlogs.length === 0) {
    // An empty list (a glob that matched nothing) would read nothing and report success: no lost transactions.
    throw new SalvageError(SalvageErrorCode.BadOption, 'binlogs is empty: give at least one binlog file or .index file', { option: '--binlog' });
  }
  if (options.config !== undefined && !Array.isArray((options.config as { tables?: unknown }).tables)) {
    // A configuration object as written (tables keyed by name) rather than parsed: it would fail deep inside the rules.
    throw new SalvageError(SalvageErrorCode.BadOption, 'config is not a parsed configuration: pass parseConfig(input).config (after checking its ok), not the input object', { option: '--config' });
  }
  // A custom strategy the configuration names without its function: said before anything is read.
  if (options.config !== undefined) new RuleBook(options.config, options.strategies);
  const files = options.binlogs === undefined ? [] : await resolveBinlogFiles(options.binlogs);
  // A file that is no binlog is said before the DR is asked for anything (it may not answer yet).
  await checkBinlogHeads(files, { verifyChecksums: options.verifyChecksums });
  if (stop !== null) refuseStopOutsideFiles(stop, files);
  const live = options.source === undefined ? null : await openLiveInput(options, options.source);
  const sourceId = options.sourceId ?? live?.identity ?? defaultSourceId(files);
  const session = watchDr(options, await openRunSession(options, options.target, options.reconnect));
  const run = new SalvageRun(options, session, files, live, sourceId, stateSchema, t0, stop);
  try {
    return await run.run();
  } catch (e) {
    // An abort inside a reader surfaces as the reader's own error (or the platform's AbortError from a wait): say it in our terms.
    if (options.signal?.aborted === true && (!(e instanceof EngineError) || READER_ABORTS.has(e.code))) {
      throw new SalvageError(SalvageErrorCode.Aborted, `stopped on request; ${options.mode === 'plan' ? 'plan wrote nothing' : 'every committed window stays applied; run the same apply again to resume'}`, run.abortDetails(), { cause: e });
    }
    throw e;
  } finally {
    // The run's session: another than `session` once a lost DR connection was reopened.
    await run.endSession();
  }
}

/**
 * The run's first connection to `target` (the DR, or a live source: `server`), tried again under
 * `policy` while it does not answer (src/db/first-connection.ts): a DR restarting, or a network that
 * is not up yet, is as likely at the start of an incident's run as in its middle. A refusal no
 * retry cures (DB_CONNECT not retryable: access denied, unknown database, a host not allowed;
 * DB_TLS) is thrown at once as it is. When the attempts run out, the last DB_CONNECT, its message
 * saying how many connections were tried.
 */
function openRunSession(o: SalvageOptions, target: ConnectionTarget, policy: ReconnectPolicy | undefined, server?: 'source'): Promise<SqlSession> {
  const hint = o.mode === 'plan' ? 'plan wrote nothing' : 'nothing was written';
  const who = server === 'source' ? 'the source' : 'the DR';
  return openFirstSession(target, {
    reconnect: policy,
    ...(server === undefined ? {} : { server }),
    option: server === 'source' ? '--source' : '--target',
    hint,
    signal: o.signal,
    notify: (n) => notifyReconnect(o, n, hint),
    stopped: (e) => new SalvageError(SalvageErrorCode.Aborted, `stopped on request while waiting for ${who}: ${redact(e.message)} [${e.code}]; ${hint}`, {}, { cause: e }),
  });
}

/** The DR session with its statements watched for stalls (SalvageOptions.onStall), unless no one listens. */
function watchDr(o: SalvageOptions, session: SqlSession): SqlSession {
  return watchStallsFor(session, o.target, o.onStall, o.stallNoticeMs);
}

/** The run's reconnect policy for the DR (SalvageOptions.reconnect): attempts in a row, first and longest backoff. */
function drReconnectPolicy(o: SalvageOptions): { readonly attempts: number; readonly first: number; readonly most: number } {
  return reconnectPolicy(o.reconnect);
}

/** Tells the caller's onReconnect; what it throws stops the run, typed, before the wait. */
function notifyReconnect(o: SalvageOptions, notice: DrReconnectNotice, hint: string): void {
  const onReconnect = o.onReconnect;
  if (onReconnect === undefined) return;
  try {
    onReconnect(notice);
  } catch (e) {
    throw new SalvageError(SalvageErrorCode.CallbackThrew, `the onReconnect callback threw: ${e instanceof Error ? e.message : String(e)}; ${hint}`, { option: 'onReconnect' }, { cause: e });
  }
}

/**
 * What TypeScript checks for a typed caller, checked again for one in plain JavaScript, where a
 * string for `binlogs` read as a list of one-character paths and an unknown `start.kind` failed
 * deep inside with a TypeError.
 */
function checkShapes(o: SalvageOptions): void {
  const bad = (option: string, message: string): SalvageError => new SalvageError(SalvageErrorCode.BadOption, message, { option });
  const target = o.target as Partial<ConnectionTarget> | undefined;
  if (typeof target !== 'object' || target === null || typeof target.redacted !== 'string') throw bad('--target', 'target is not a connection target: pass parseConnectionUrl(url, "target", password)');
  if (o.binlogs !== undefined && !Array.isArray(o.binlogs)) throw bad('--binlog', 'binlogs takes an array of binlog file or .index file paths');
  const kind = (o.start as { kind?: unknown } | undefined)?.kind;
  if (o.start !== undefined && !['gtid', 'from-position', 'from-gtid', 'since'].includes(String(kind))) {
    throw bad('--from', `start.kind is one of from-gtid, from-position, since, gtid; got ${String(kind)}`);
  }
  // Parsed as the run reads it, before anything connects: a bad set is the caller's to fix.
  if (o.start?.kind === 'from-gtid') {
    if (typeof o.start.set !== 'string') throw bad('--from-gtid', `start.set takes a GTID set as text, got ${typeof o.start.set}`);
    checkFromGtid(o.start.set);
  }
  if (o.source?.start?.gtid !== undefined) startGtidCovers(o.source.start.gtid);
  if (o.ddl !== undefined && o.ddl !== 'stop' && o.ddl !== 'skip') throw bad('--ddl', `ddl is "stop" or "skip", got ${String(o.ddl)}`);
}

/** `stopBefore` read (a wrong shape is BAD_OPTION). */
function stopBeforeOf(o: SalvageOptions): StopBefore | null {
  if (o.stopBefore === undefined) return null;
  try {
    return parseStopBefore(o.stopBefore);
  } catch (e) {
    if (e instanceof EngineError && e.code === SalvageErrorCode.BadOption) throw new SalvageError(SalvageErrorCode.BadOption, e.message, e.details);
    throw e;
  }
}

/**
 * The numeric options, as the CLI checks its flags: a window limit of 0, a negative one or NaN never
 * closes a window's loop (the process spins, its own timers starved), so it is refused up front.
 */
function checkNumbers(o: SalvageOptions): void {
  const check = (name: string, value: number | undefined, min: number, integer: boolean): void => {
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || (integer && !Number.isSafeInteger(value))) {
      throw new SalvageError(SalvageErrorCode.BadOption, `${name} takes ${integer ? 'a whole number' : 'a number'} ≥ ${min}, got ${String(value)}`, { option: name });
    }
  };
  check('windowTransactions', o.windowTransactions, 1, true);
  check('windowRows', o.windowRows, 1, true);
  check('source.idleMs', o.source?.idleMs, 0, false);
  for (const [prefix, r] of [['reconnect', o.reconnect], ['source.reconnect', o.source?.reconnect]] as const) {
    check(`${prefix}.attempts`, r?.attempts, 0, true);
    check(`${prefix}.initialDelayMs`, r?.initialDelayMs, 0, false);
    check(`${prefix}.maxDelayMs`, r?.maxDelayMs, 0, false);
  }
}

/** What both trigger refusals say (at the start, and before a followed window): which, why, what to do, and the details. */
function triggerWords(triggers: readonly DrTrigger[]): { named: string; why: string; fix: string; details: { triggers: string[]; tables: string[] } } {
  return {
    named: `${triggers.length} trigger(s) on tables the lost range writes: ${triggers.map(describeTrigger).join(', ')}`,
    why: "they fire on apply's writes, which replication's row events do not fire: what a trigger writes (an audit row, a counter) is written a second time, on top of what the lost range carries",
    fix: 'drop them for the length of apply and re-create them after, or pass --allow-triggers (library: allowTriggers) to let them fire (a trigger that only checks rows and SIGNALs is safe: the transaction it refuses is quarantined as dr-rejected)',
    details: { triggers: triggers.map(describeTrigger), tables: [...new Set(triggers.map((t) => `${t.table.schema}.${t.table.table}`))] },
  };
}

function defaultSourceId(files: readonly BinlogFile[]): string {
  const name = files[0] === undefined ? 'none' : basename(files[0].path).replace(/\.\d+$/, '');
  return `binlog:${name}`;
}

/**
 * Names the server and, without follow, fixes the end of the run's reads. The name is MySQL's
 * @@server_uuid where there is one: made once per data directory, it still names the same binlogs
 * when a recovered primary comes back on another host or port. MariaDB has none, and @@server_id
 * is no identity (fleets often leave it at 1, and a checkpoint's file:pos taken for another
 * server's would skip its transactions), so there the name is host:port. Its first connection is
 * tried again while the server does not answer, under the source's reconnect policy.
 */
async function openLiveInput(o: SalvageOptions, spec: LiveSalvageSource): Promise<LiveInput> {
  // Loaded on demand: zongji costs start-up time that runs over files do not need.
  const module = await import('../source/live-source.js');
  const label = spec.target.redacted;
  // The source's own policy, as for its later connections: a recovered primary may still be starting.
  const control = await openRunSession(o, spec.target, spec.reconnect, 'source');
  try {
    const { rows } = await control.query("SHOW GLOBAL VARIABLES LIKE 'server_uuid'");
    const uuid = rows[0]?.['Value'];
    // Over a Unix socket the port is the URL's default, not the server's: the socket names it.
    const address = spec.target.socket === undefined ? `${spec.target.host}:${spec.target.port}` : `${spec.target.host}:${spec.target.socket}`;
    const identity = typeof uuid === 'string' && uuid !== '' ? `live:${uuid}` : `live:${address}`;
    const end = spec.follow === true ? null : await module.serverEnd(control, label);
    const gtid = spec.start?.gtid;
    const gtidStart = gtid === undefined ? null : await findGtidStart(control, gtid);
    return { spec, label, identity, end, module, gtidStart, oldest: await oldestBinlog(control) };
  } catch (e) {
    throw module.privilegeError(e, label, 'its binlog list') ?? e;
  } finally {
    await control.end();
  }
}

/** What the person running apply does about a fault the DR raised, by its code; null when the message says enough. */
function faultRemedy(code: string, windowSize: number, needed: number | null): string | null {
  switch (code) {
    case 'DB_READ_ONLY':
      return 'if the DR should take writes, make it writable again (SET GLOBAL read_only = 0)';
    case 'DB_BINLOG_CACHE_FULL':
      return windowSize > 1
        ? `the window held ${windowSize} source transactions: run with a smaller --window, or raise max_binlog_cache_size on the DR`
        : 'one source transaction alone is too big for it: raise max_binlog_cache_size on the DR';
    case 'DB_TABLE_FULL':
      return 'free disk space on the DR (or let the tablespace grow)';
    case 'DB_PACKET_TOO_LARGE':
      return packetRemedy(needed);
    default:
      return null;
  }
}

/** What to do about a row too big for the DR's max_allowed_packet (`needed`: bytes, when known). */
function packetRemedy(needed: number | null): string {
  if (needed !== null && needed > MAX_PACKET_CEILING) return `that is more than any server allows (max_allowed_packet is at most ${MAX_PACKET_CEILING}): the row cannot be written by a statement; leave the table out of the run, or copy the row by hand`;
  const value = needed === null ? 'a larger value' : String(packetSetting(needed));
  // A session takes the global value when it connects: the next run's new connection sees the raise.
  return `raise max_allowed_packet on the DR (SET GLOBAL max_allowed_packet = ${value}; connections opened after it take it, as the next run's does)`;
}

function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** The codes a reader stops with when the run's signal aborts it (files, a live server). */
const READER_ABORTS: ReadonlySet<string> = new Set([SourceErrorCode.Aborted, 'LIVE_ABORTED']);

function isAbort(e: unknown): boolean {
  if (e instanceof EngineError) return READER_ABORTS.has(e.code) || e.code === SalvageErrorCode.Aborted;
  return (e as { name?: unknown } | null)?.name === 'AbortError';
}

/** A control-session failure that means the server went away (src/db/lost-connection.ts). */
const isNetworkFailure = isLostConnection;

/**
 * The DR's binlog shows the failover as the first transaction carrying the DR's own identity. A DR
 * that shares it with the primary (its server id, or server_uuid, is the one in the lost
 * transactions) marks every replicated transaction as its own, and the history would call every
 * row the primary wrote a record of the DR's: `--failover-at` must place the point.
 */
function refuseSharedIdentity(first: Transaction | null, own: { readonly serverId: number; readonly serverUuid: string | null }): void {
  if (first === null || !sharesIdentity(first, own)) return;
  const g = first.gtid;
  const who = g?.flavor === 'mysql' && own.serverUuid !== null ? `server_uuid ${own.serverUuid}` : `server id ${own.serverId}`;
  throw new EngineError(
    DrHistoryErrorCode.FailoverNeeded,
    `the lost transactions (the first: ${g === null ? `${basename(first.file)}:${first.pos}` : gtidText(g)}) carry the DR's own ${who}: its binlog cannot tell what it received from the primary from what it wrote itself, so the failover point must be given: --failover-at with the last GTID the DR received, the DR binlog position where its own writes start, or the time`,
    { option: '--failover-at' },
  );
}

/** Whether a lost transaction carries the DR's own identity: its server_uuid (MySQL GTID), else its server id. */
function sharesIdentity(first: Transaction | null, own: { readonly serverId: number; readonly serverUuid: string | null }): boolean {
  if (first === null) return false;
  const g = first.gtid;
  return g?.flavor === 'mysql' && own.serverUuid !== null ? g.uuid.toLowerCase() === own.serverUuid.toLowerCase() : g?.flavor === 'mariadb' ? g.serverId === own.serverId : first.serverId === own.serverId;
}

/** The primary keys the window's changes meet on the DR (after the key map), per table: what the history must have in memory. */
function historyKeys(changes: readonly RowChange[], catalog: SchemaCatalog, states: StateSet): Map<string, Set<string>> {
  const keys = new Map<string, Set<string>>();
  for (const c of changes) {
    const table = catalog.get(c.table.schema, c.table.table);
    const image = c.op === 'insert' ? c.after : c.before;
    if (table === undefined || image === null) continue;
    const k = states.get(table).keyOf(image);
    if (k === null) continue;
    const name = `${table.schema}.${table.table}`;
    let set = keys.get(name);
    if (set === undefined) keys.set(name, (set = new Set()));
    set.add(k);
    // An update that moves its row: whether the DR put the record at the new key there itself
    // decides whether a row equal to the after image there is the move already applied.
    const moved = c.op === 'update' && c.after !== null ? states.get(table).keyOf(c.after) : null;
    if (moved !== null) set.add(moved);
  }
  return keys;
}

/**
 * Adds to `keys` (historyKeys) the keys of the DR rows that hold a change's primary key under its
 * collation only (TableState.keyAlias). Asked only of tables with such a row.
 */
function addHeldKeys(keys: Map<string, Set<string>>, changes: readonly RowChange[], catalog: SchemaCatalog, states: StateSet): void {
  // Looked up once per run of changes to one table (a window's changes come in such runs): an
  // all-integer-key window then costs a comparison per change, not a catalog lookup.
  let lastMap: RowChange['table'] | null = null;
  let table: TableSchema | undefined;
  let state: ReturnType<StateSet['get']> | null = null;
  for (const c of changes) {
    if (c.table !== lastMap) {
      lastMap = c.table;
      table = catalog.get(c.table.schema, c.table.table);
      state = table === undefined ? null : states.get(table);
      if (state !== null && !state.hasKeyAliases) state = null;
    }
    const image = c.op === 'insert' ? c.after : c.before;
    if (table === undefined || state === null || image === null) continue;
    const k = state.keyOf(image);
    const held = k === null ? null : state.keyAlias(k);
    if (held === null) continue;
    const name = `${table.schema}.${table.table}`;
    let set = keys.get(name);
    if (set === undefined) keys.set(name, (set = new Set()));
    set.add(held);
  }
}

/** One run's state; `run()` is the whole of it. */
/** No DR row of the window written by an earlier run (Reconciler.noteEarlierRunWrites): the default path's answer, asked of no one. */
const NO_EARLIER_WRITES: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map();

class SalvageRun {
  readonly #o: SalvageOptions;
  /** The statements' way to the DR: `#session`, through the test hook when there is one. */
  readonly #dr: SqlSession;
  /** The DR connection; replaced when a lost one is reopened. */
  #session: SqlSession;
  /** DR connections lost inside a window and reopened; `#drFailures`: failed attempts in a row. */
  #drReconnects = 0;
  #drFailures = 0;
  /** The window's COMMIT has been sent: a connection lost now leaves it committed or not, and only the checkpoint knows. */
  #commitSent = false;
  /** keepGtids: the session's own identity, put back after each transaction applied under a source GTID; null without the option. */
  #keep: SessionIdentity | null = null;
  /** keepGtids under --follow: the lost range's refusals, made as each lost transaction is met (#meetGtids). */
  #followedGtids: FollowedGtids | null = null;
  readonly #files: readonly BinlogFile[];
  readonly #live: LiveInput | null;
  #history: DrHistory | null = null;
  readonly #follow: boolean;
  /** Whether the DR held salvage state when the run began: only then can an earlier run have written rows (#noteEarlierRunWrites). */
  #stateExisted = false;
  /** Whether some table's rules may delete a blocker (Reconciler.deletesBlockers), asked once: #noteEarlierRunWrites. */
  #deletesBlockers = false;
  /** apply --follow without allowTriggers: each window looks for a trigger created since the start (#refuseNewTriggers). */
  readonly #watchTriggers: boolean;
  /** Where a live read starts when this run has committed nothing yet (its checkpoint's end otherwise). */
  #liveStart: { readonly file?: string; readonly position?: number } = {};
  /** Reads resumed after a lost source connection. */
  #reconnects = 0;
  /** Whether the current source connection has delivered anything (a drop after that starts a new count of attempts). */
  #sourceAlive = false;
  /** The read about to start follows a lost connection (its first batch counts a reconnect). */
  #reopening = false;
  #stoppedOnRequest = false;
  /** The checkpoint's position when the run started (what committedThrough is without a window of this run). */
  #storedEnd: string | null = null;
  /** The checkpoint has been read (#storedEnd says where it is). */
  #checkpointRead = false;
  /** Binlog files: where the first pass met damage it could not skip (the run stops there), or null. */
  #damage: DamagePoint | null = null;
  /** Binlog files: the damaged events passed over, for the report. */
  #damaged: DamagedEntry[] = [];
  #firstTx: Transaction | null = null;
  #lastTx: Transaction | null = null;
  /** Floors the state schema holds (read once): a table met later starts from its stored floor. */
  #storedFloors = new Map<string, bigint>();
  readonly #sourceId: string;
  readonly #schema: string;
  readonly #t0: number;
  readonly #apply: boolean;
  #catalog!: SchemaCatalog;
  #reconciler!: Reconciler;
  #scan!: LostRangeScan;
  /** What the binlog's table maps leave out, from the DR (readDrSchemaHints): every read decodes with them. */
  #hints: SchemaHints | undefined;
  #runId = 0;
  #seq = 0;
  #windows = 0;
  #retries = 0;
  #appliedGtids = new GtidSet();
  #lastEnd: { file: string; pos: number } | null = null;
  #done = { tx: 0, rows: 0 };
  /** The lost transactions of the windows that committed: a follow reads ahead of them, and its report counts these. */
  readonly #committedLost = new LostSetAccumulator();
  /** When the figures were last given to onProgress (performance.now()), or null before the first time. */
  #progressAt: number | null = null;
  readonly #outcomes: Record<Outcome, number> = { applied: 0, merged: 0, remapped: 0, skipped: 0, quarantined: 0 };
  readonly #counts: Record<string, Record<string, Partial<Record<Outcome, number>>>> = {};
  readonly #remaps: SalvageReport['remaps'] = [];
  /**
   * Per table (`schema.table`): the lowest key a remap may take, as the state schema holds it (the
   * DR's AUTO_INCREMENT counter when this salvage first met the table). See state-schema.ts key_floor.
   */
  #startFloors = new Map<string, bigint>();
  /** Tables whose quarantine passed the escalation limit under `suspend-table`: their later changes wait too. */
  readonly #suspended = new Set<string>();
  /** What the run noticed but that stops nothing (report.warnings). */
  readonly #warnings: string[] = [];
  /** Keyless tables whose rows cannot be read back exactly, with why (Reconciler's `unmatchable`). */
  readonly #unmatchable = new Map<TableSchema, string>();
  readonly #quarantinedPerTable = new Map<string, number>();
  /** The statement text of each quarantined row change whose binlog logged one (#readStatements), until the decision is dropped. */
  readonly #statements = new WeakMap<ChangeDecision, string>();
  /** Quarantined decisions per table in the window being decided (#suspendAtLimit). */
  readonly #windowQuarantined = new Map<string, number>();
  /** The DR connection ids of this run's sessions that asked for the source's lock (#lockSource): a lost one may still hold it. */
  readonly #lockConnections = new Set<number>();
  /** Quarantined decisions in the window being decided, all tables (#stopPassed). */
  #windowQuarantinedAll = 0;
  /** Floors as last persisted, so a window writes only what it raised. */
  #persistedFloors = new Map<string, bigint>();
  /** The writes' session: the DR in apply, a recorder in plan. */
  readonly #writer: SqlSession;
  /** apply: the DR session's max_allowed_packet, which every statement is measured against before it is sent (db/packet-limit.ts). */
  #maxPacket: number | undefined;
  /** `stopBefore` as read; `#stopAt`: the transaction the first pass met for it, which every read stops before. */
  readonly #stopBefore: StopBefore | null;
  #stopAt: StopPoint | null = null;

  constructor(options: SalvageOptions & SalvageTestHooks, session: SqlSession, files: readonly BinlogFile[], live: LiveInput | null, sourceId: string, schema: string, t0: number, stop: StopBefore | null = null) {
    this.#o = options;
    this.#stopBefore = stop;
    this.#files = files;
    this.#live = live;
    this.#follow = live?.spec.follow === true;
    this.#sourceId = sourceId;
    this.#schema = schema;
    this.#t0 = t0;
    this.#apply = options.mode === 'apply';
    this.#watchTriggers = this.#follow && this.#apply && options.allowTriggers !== true;
    const hook = options.beforeStatement;
    this.#session = session;
    this.#dr = {
      // async: a hook that throws rejects this statement's promise, as a failing server would.
      query: async (sql, params) => {
        hook?.(sql);
        return this.#session.query(sql, params);
      },
      // Only over a session that can prepare (a reconnect opens the same kind): a test double without it keeps the text path.
      ...(session.execute === undefined
        ? {}
        : {
            execute: async (sql: string, params: readonly unknown[]) => {
              hook?.(sql);
              const current = this.#session;
              return current.execute === undefined ? current.query(sql, params) : current.execute(sql, params);
            },
          }),
      end: () => this.#session.end(),
      destroy: () => this.#session.destroy(),
    };
    const onSql = options.onSql;
    this.#writer = this.#apply ? this.#dr : createRecordingSession((s) => {
      if (onSql !== undefined) this.#callback('onSql', () => onSql(s));
    });
  }

  /** apply: the checkpoint's position now (`file:pos`), where the next run resumes; null in plan or when nothing was ever committed. */
  #committedThrough(): string | null {
    if (!this.#apply) return null;
    return this.#lastEnd !== null ? `${basename(this.#lastEnd.file)}:${this.#lastEnd.pos}` : this.#storedEnd;
  }

  /** SALVAGE_ABORTED's details: in apply, where the same apply resumes (as the report's committedThrough), for a caller that logs it. */
  abortDetails(): ErrorDetails {
    return this.#apply ? { committedThrough: this.#committedThrough() } : {};
  }

  /** Closes the run's DR connection (the one in use: a lost one may have been replaced), the source's lock released first. */
  async endSession(): Promise<void> {
    // Best effort: a session already lost holds no lock the server keeps.
    if (this.#lockConnections.size > 0) await releaseSourceLock(this.#dr, this.#schema, this.#sourceId).catch(() => undefined);
    await this.#session.end();
  }

  async run(): Promise<SalvageReport> {
    try {
      return await this.#run();
    } finally {
      await this.#history?.close();
    }
  }

  /**
   * --dr-source's first connection, opened as --target's and --source's are (openRunSession): tried
   * again under the run's reconnect policy while it does not answer, then DB_CONNECT naming
   * --dr-source. Outside #onDr: a URL that never answered lost no connection, and #onDr would take
   * its refusal for the DR's and reopen --target. Null without --dr-source, or with --dr-binlog too
   * (#readHistory refuses that).
   */
  async #openDrSource(): Promise<SqlSession | null> {
    const o = this.#o;
    if (o.drSource === undefined || (o.drBinlogs ?? []).length > 0) return null;
    const hint = this.#resumeHint();
    return openFirstSession(o.drSource.target, {
      reconnect: o.reconnect,
      option: '--dr-source',
      hint,
      signal: o.signal,
      notify: (n) => notifyReconnect(o, n, hint),
      stopped: (e) => new SalvageError(SalvageErrorCode.Aborted, `stopped on request while waiting for the DR's --dr-source: ${redact(e.message)} [${e.code}]; ${hint}`, {}, { cause: e }),
    });
  }

  /**
   * The DR's own history since the failover, when the run was given its binlog; null otherwise.
   * `opened`: --dr-source's first connection (#openDrSource), ended here whatever happens; null
   * when the step runs again after a lost connection, which opens its own.
   */
  async #readHistory(catalog: SchemaCatalog, dr: DrIdentity, opened: SqlSession | null): Promise<DrHistory | null> {
    let control = opened;
    try {
      return await this.#readHistoryOn(catalog, dr, async (target) => {
        // Named: the DR (--target) and a live source may be other URLs on the same command line.
        control ??= await openSession(target).catch((e: unknown) => {
          throw namingOption(e, '--dr-source');
        });
        return control;
      });
    } finally {
      await control?.end();
    }
  }

  /** #readHistory's work, the --dr-source control session taken from `controlOf`. */
  async #readHistoryOn(catalog: SchemaCatalog, dr: DrIdentity, controlOf: (target: ConnectionTarget) => Promise<SqlSession>): Promise<DrHistory | null> {
    const o = this.#o;
    const files = o.drBinlogs ?? [];
    if (files.length === 0 && o.drSource === undefined) return null;
    if (files.length > 0 && o.drSource !== undefined) {
      throw new SalvageError(SalvageErrorCode.BadOption, "give the DR's binlog as files (--dr-binlog) or live (--dr-source), not both", { option: '--dr-source' });
    }
    // Loaded on demand: the live reader brings zongji.
    const reader = await import('../source/dr-history-reader.js');
    const own = { serverId: dr.serverId, serverUuid: await readServerUuid(this.#dr) };
    if (o.failoverAt === undefined) refuseSharedIdentity(this.#scan.first, own);
    const drEnd = await readBinlogEnd(this.#dr);
    // A DR that kept the primary's identity writes what it receives under it: a --failover-at GTID of that identity is then the point, not one of its own writes.
    const sharedIdentity = sharesIdentity(this.#scan.first, own);
    const createBuilder = (spill: HistorySpill): DrHistoryBuilder => new DrHistoryBuilder({ catalog, own, stateSchema: this.#schema, failoverAt: o.failoverAt ?? null, spill, sharedIdentity });
    if (o.drSource === undefined) {
      if (!this.#follow) return reader.readDrHistory({ files, own, drEnd, createBuilder, schemaHints: this.#hints, signal: o.signal });
      // Files do not grow with the DR: what it writes while the run follows is not in them, so keys
      // the history does not know are judged by values (incomplete), never taken as untouched.
      this.#warnings.push(FOLLOW_DR_BINLOG_WARNING);
      return reader.readDrHistory({ files, own, drEnd: null, createBuilder, schemaHints: this.#hints, signal: o.signal });
    }
    const target = o.drSource.target;
    const control = await controlOf(target);
    // The dump connection encrypted as the control session is (a DR may refuse plain connections).
    const tls = tlsSocketOptions(target.tls, control.encrypted ?? false, target.host);
    // Following, the history reads on before each window (#readWindow): what the DR writes meanwhile is its history too.
    const follow = this.#follow ? { openControl: () => openSession(target) } : undefined;
    return await reader.readDrHistory({ live: { target, control, start: o.drSource.start, tls, follow }, own, drEnd, createBuilder, schemaHints: this.#hints, signal: o.signal });
  }

  async #run(): Promise<SalvageReport> {
    const o = this.#o;
    // Every step below that talks to the DR goes through #onDr: a connection lost there is reopened
    // and the step made again, as inside a window.
    const dr = await this.#onDr('identity', () => readDrIdentity(this.#dr));
    // Before the checkpoint is read: what it says holds only while no other apply of the source runs.
    if (this.#apply) await this.#onDr('lock', () => this.#lockSource());
    const { hasState, stored, otherGtids } = await this.#onDr('checkpoint', async () => {
      const hasState = await stateExists(this.#dr, this.#schema);
      const stored = hasState ? await readCheckpoint(this.#dr, this.#schema, this.#sourceId) : undefined;
      // GTIDs applied under any source id count: the same binlogs copied under another name are the same transactions.
      const otherGtids = hasState ? await checkpointGtidSets(this.#dr, this.#schema) : [];
      return { hasState, stored, otherGtids };
    });
    this.#checkpointRead = true;
    this.#stateExisted = hasState;
    const rule = o.start ?? this.#gtidRule(dr);
    const checkpoint = toLostCheckpoint(stored, otherGtids);
    if (stored !== undefined && stored.file !== null && stored.pos !== null) this.#storedEnd = `${stored.file}:${stored.pos}`;
    const live = this.#live;
    if (live !== null) this.#liveStart = live.gtidStart ?? (await this.#liveStartAfterCheckpoint(live, rule, checkpoint)) ?? liveStart(live.spec, stored);
    // Before anything is decoded: the scan's maxima and every window's values depend on them.
    this.#hints = await this.#onDr('column-types', () => readDrSchemaHints(this.#dr));
    const tScan = performance.now();
    // Following too: a follow that starts after lost transactions would checkpoint past them unread.
    if (live !== null) await this.#refuseLiveGap(live, rule, checkpoint);
    if (this.#follow) {
      // No pre-scan: what the lost range writes is learnt window by window (#meet), and the stop
      // point when the read meets it (#readWindows); one already past is refused now.
      this.#scan = emptyScan();
      if (this.#stopBefore !== null && live !== null) this.#refuseFollowStopPassed(this.#stopBefore, live, rule, checkpoint, stored);
    } else if (live !== null) {
      // A fresh filter (and watch for the stop point) per attempt: a scan cut by a lost connection starts over (it only decodes).
      let watch: StopWatch | null = null;
      this.#scan = await this.#withReconnects(() => {
        const batches = this.#liveBatches(this.#liveStart, o.signal);
        watch = this.#stopBefore === null ? null : new StopWatch(this.#stopBefore);
        return scanLostBatches(watch === null ? batches : cutAtStop(batches, watch), createLostFilter(rule, { checkpoint }));
      });
      this.#stopAt = this.#stopMet(watch, null);
    } else {
      const read = await scanFiles(this.#files, () => createLostFilter(rule, { checkpoint }), { verifyChecksums: o.verifyChecksums, signal: o.signal, skipDamaged: o.skipDamaged, allowRelayLog: o.allowRelayLog, schemaHints: this.#hints, ...(this.#stopBefore === null ? {} : { stopBefore: this.#stopBefore }) });
      this.#stopAt = this.#stopMet(read.stop, read.damage);
      this.#scan = read.scan;
      this.#damage = read.damage;
      this.#damaged = read.damaged;
      if (o.forceSource !== true) await this.#onDr('origins', () => checkOrigins(this.#dr, dr, read.origins));
      if (read.opening !== null) refuseLeadingGap(rule, { checkpoint }, read.opening);
      refuseFromOutsideInput(rule, this.#files);
    }
    const scanMs = performance.now() - tScan;
    if (o.keepGtids === true) {
      const gtid = dr.gtid.flavor === 'mariadb' ? { gtidBinlogPos: dr.gtid.gtidBinlogPos, gtidBinlogState: dr.gtid.gtidBinlogState ?? '' } : { gtidBinlogPos: '', gtidBinlogState: '' };
      // In plan too: a plan says whether its apply would be refused. The checks write nothing.
      // Following, the scan is empty: the DR's refusals now, the lost range's as it is met.
      this.#keep = await this.#onDr('keep-gtids', () => checkKeepGtids(this.#dr, dr.flavor, this.#scan, gtid));
      if (this.#follow) this.#followedGtids = new FollowedGtids();
    }

    // The schemas the lost range writes, and those the configuration's logical references name
    // (addLogicalReferences checks every table it names exists). Following, the tables to come are
    // unknown: every schema of the DR.
    // Logical foreign keys: the configuration's `references`, then any the caller gives directly.
    const references = { ...(o.config === undefined ? {} : logicalReferencesOf(o.config)), ...(o.logicalReferences ?? {}) };
    const named = Object.entries(references).flatMap(([child, e]) => [...schemaCandidates(child), ...Object.values(e.references).flatMap((target) => schemaCandidates(target, 3))]);
    const schemas = [...new Set([...[...this.#scan.tables.values()].map((m) => m.schema), ...named])];
    let catalog = await this.#onDr('introspection', () => introspectSchemas(this.#dr, this.#follow ? undefined : schemas));
    if (Object.keys(references).length > 0) catalog = addLogicalReferences(catalog, references);
    this.#catalog = catalog;
    // DDL first: the drift it causes (a column the DR lacks) is explained by the statement itself.
    if (this.#scan.ddl.length > 0 && (o.ddl ?? 'stop') === 'stop') {
      const d = this.#scan.ddl[0]!;
      throw new SalvageError(
        SalvageErrorCode.Ddl,
        `the lost range holds DDL (${this.#scan.ddl.length} statement(s)); the first, at ${d.at} (${basename(d.file)}:${d.pos}): ${d.sql.slice(0, 200)} — apply the schema change to the DR by hand, then run again with --ddl skip (the engine cannot tell that you did: without it the run stops here again; the statement is recorded as skipped), or pass --ddl skip to leave DDL out`,
        { file: d.file, offset: d.pos },
      );
    }
    checkSchemaDrift(this.#scan.shapes, catalog);
    // The columns the rules name, against the DR's tables, before anything is written (exit 2 for an exact table's rule).
    if (o.config !== undefined) this.#warnings.push(...checkRuleColumns(o.config, catalog.tables));
    // The tables the lost range writes (every DR table under --follow, whose range has no end yet).
    const maps = [...this.#scan.tables.values()];
    const written = this.#follow ? catalog.tables : catalog.tables.filter((t) => maps.some((m) => m.schema === t.schema && m.table === t.table));
    await this.#checkTriggers(written);

    await this.#onDr('session', async () => {
      await this.#dr.query(SESSION_TIME_ZONE);
      await this.#dr.query(SESSION_SQL_MODE);
    });
    // plan --sql: the file runs as apply's session does, so run by hand it writes what apply writes.
    if (!this.#apply) for (const sql of SESSION_SETTINGS) await this.#writer.query(sql);
    // Filled afresh by each attempt: a load cut halfway is not added to twice.
    const { keyMap, quarantine } = await this.#onDr('held-state', async () => {
      const held = { keyMap: new KeyMap(), quarantine: new QuarantineIndex() };
      if (hasState) await this.#loadState(held.keyMap, held.quarantine);
      return held;
    });
    this.#storedFloors = await this.#onDr('key-floors', async () => (hasState && (await this.#hasKeyFloorTable()) ? readKeyFloors(this.#dr, this.#schema) : new Map<string, bigint>()));
    this.#persistedFloors = new Map(this.#storedFloors);
    this.#initKeyFloors(this.#scan.tables.keys());
    // plan reads it too: its --sql statements are cut under it as apply's are.
    await this.#onDr('max-packet', () => this.#readMaxPacket());
    if (this.#apply) {
      // Every statement of it leaves the schema as it found it when run twice (CREATE … IF NOT
      // EXISTS, columns added and indexes dropped only where missing or present, INSERT IGNORE).
      await this.#onDr('state-schema', () => ensureStateSchema(this.#dr, this.#schema));
      // Foreign keys are checked by the engine, against rows it read with locks (reconciler.ts):
      // with the server's checks off, one table's writes batch together whatever the order
      // between tables. The cascade guard keeps deletes from relying on server cascades.
      await this.#onDr('session', () => this.#dr.query(SESSION_NO_FK_CHECKS));
      const input = live === null ? { binlogs: this.#files.map((f) => f.path) } : { source: live.label, start: this.#startText(), follow: this.#follow };
      // The logical references go with the run: resolve, which takes no configuration, follows them.
      const recorded = recordedReferences(catalog);
      const configHash = configFingerprint(o.config, o.keepTransactionsWhole);
      if (hasState) await this.#onDr('earlier-runs', () => this.#warnOnChangedRules(configHash));
      this.#runId = await this.#startRun({ mode: o.mode, ...input, stateSchema: this.#schema, configHash, ...(recorded.length > 0 ? { references: recorded } : {}) });
      await this.#onDr('start-floors', () => this.#persistStartFloors());
      const killed = await this.#onDr('killed-runs', () => markKilledRuns(this.#dr, this.#schema, this.#sourceId, this.#runId));
      if (killed.length > 0) this.#warnings.push(`run${killed.length === 1 ? '' : 's'} ${killed.join(', ')} of this source ended without recording how (killed, or the host lost): marked killed; this run resumes from the checkpoint, which holds what ${killed.length === 1 ? 'it' : 'they'} committed`);
      // A resolve's row left running by a session that is gone (its lock free): resolve has no
      // source lock to find it by, so any apply or resolve that writes the state marks it.
      const deadResolves = await this.#onDr('killed-runs', () => markDeadResolveRuns(this.#dr, this.#schema, null));
      if (deadResolves.length > 0) this.#warnings.push(deadResolveWarning(deadResolves));
    }
    // Read again whole after a lost connection (its spill is let go on failure): the DR's own
    // connection, or the dump of --dr-source, which a restarting DR ends too.
    let drSource = await this.#openDrSource();
    this.#history = await this.#onDr(
      'history',
      () => {
        const opened = drSource;
        drSource = null;
        return this.#readHistory(catalog, dr, opened);
      },
      isSourceDrop,
    );
    const rules = o.config === undefined ? RuleBook.builtIn() : new RuleBook(o.config, o.strategies);
    this.#warnings.push(...(await this.#unmatchedRuleWarnings(rules, written)));
    const floats = floatColumnsOf(written);
    if (floats.length > 0) this.#warnings.push(floatComparisonWarning(floats));
    // Keyless tables are matched by whole images: one whose rows the DR cannot give back exactly keeps its updates and deletes held.
    for (const t of catalog.tables) {
      const why = t.primaryKey === null ? unreadableReason(t) : null;
      if (why !== null) this.#unmatchable.set(t, why);
    }
    this.#reconciler = new Reconciler(catalog, keyMap, quarantine, { keepTransactionsWhole: o.keepTransactionsWhole ?? o.config?.keepTransactionsWhole, rules, suspended: this.#suspended, history: this.#history, unmatchable: this.#unmatchable });
    // delete-blocking must leave the rows later windows' changes need: read the lost range for them
    // once more, only when a rule may delete a blocker (the first pass runs before the DR's foreign
    // keys and the rules' tables are known). Following, there is no end to read to: the window's own.
    this.#deletesBlockers = this.#reconciler.deletesBlockers();
    if (!this.#follow && this.#deletesBlockers) {
      this.#reconciler.useLaterNeeds(await this.#readLaterNeeds(() => createLostFilter(rule, { checkpoint })));
    }
    if (stored?.gtidSet) this.#appliedGtids = GtidSet.parse(stored.gtidSet);

    const filter = createLostFilter(rule, { checkpoint });
    const tRun = performance.now();
    let finished = false;
    let pending = 0;
    try {
      await this.#windowsLoop(filter);
      // A run that applied nothing (an empty lost range, a follow that met no write) ends with its figures too: zeros.
      if (this.#progressAt === null) this.#emitProgress();
      if (this.#damage !== null) throw damageStop(this.#damage, o.mode, this.#resumeHint(), o.skipDamaged === true);
      // What awaits review on the DR now, this run's and earlier runs' alike: a resumed run whose
      // first attempt quarantined changes is not done with them. Read before the run is marked
      // finished: a connection lost from then on leaves the run's exit as it is (#finalWrite).
      if (this.#apply || hasState) pending = await this.#onDr('pending-count', () => countPendingQuarantine(this.#dr, this.#schema));
      finished = true;
    } finally {
      if (this.#apply && this.#runId > 0) {
        const status = finished && !this.#stoppedOnRequest ? 'completed' : o.signal?.aborted === true ? 'interrupted' : 'failed';
        await this.#finalWrite(() => finishRun(this.#dr, this.#schema, this.#runId, status), status === 'completed');
      }
    }
    const reconcileMs = performance.now() - tRun;
    const totalMs = performance.now() - this.#t0;
    const report = this.#report(dr, filter, stored, scanMs, reconcileMs, totalMs, pending);
    if (this.#apply && this.#runId > 0) {
      // Kept with the run for `salvage report`; the remaps and counts are in the key map and the ledger.
      const summary = JSON.stringify({ ...report, remaps: [], counts: {} }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
      await this.#finalWrite(() => recordRunSummary(this.#dr, this.#schema, this.#runId, summary), !this.#stoppedOnRequest);
    }
    return report;
  }

  /**
   * The configuration's table rules that match no table the lost range writes (every DR table
   * under --follow). One that matches no table of the DR either is likely a typo (`t.acx`, `T.KV`):
   * a warning each. Those for DR tables this lost range leaves alone are no fault (a file from
   * `config init` holds a rule per table): one line names them all. With no table written nothing
   * is merged, so no rule applies to anything, and none is named.
   */
  async #unmatchedRuleWarnings(rules: RuleBook, written: readonly TableSchema[]): Promise<string[]> {
    if (!this.#follow && written.length === 0) return [];
    const unmatched = rules.unmatched(written);
    if (unmatched.length === 0) return [];
    // Following, `written` is every DR table already; otherwise the DR's names are read (names only).
    const typos = new Set(this.#follow ? unmatched : rules.unmatched(await this.#onDr('introspection', () => listTableNames(this.#dr))));
    const warnings = unmatched.filter((p) => typos.has(p)).map((p) => `configuration: the table rule "${p}" matches no table the lost range writes; it applies to nothing (a typo? names are case-sensitive)`);
    const idle = unmatched.filter((p) => !typos.has(p));
    if (idle.length > 0) {
      const named = idle.slice(0, IDLE_RULES_NAMED).map((p) => `"${p}"`).join(', ');
      const more = idle.length > IDLE_RULES_NAMED ? ` and ${idle.length - IDLE_RULES_NAMED} more` : '';
      warnings.push(`configuration: ${idle.length === 1 ? 'the table rule' : `${idle.length} table rules`} ${named}${more} ${idle.length === 1 ? 'matches' : 'match'} only DR tables the lost range does not write; ${idle.length === 1 ? 'it applies' : 'they apply'} to nothing in this run`);
    }
    return warnings;
  }

  /**
   * Triggers on the tables the run writes fire on apply's plain DML, where replication's row events
   * fire none: apply refuses them unless allowed (before anything is written), plan warns.
   */
  async #checkTriggers(written: readonly TableSchema[]): Promise<void> {
    const triggers = await this.#onDr('triggers', () => readTriggers(this.#dr, written));
    if (triggers.length === 0) return;
    const { named, why, fix, details } = triggerWords(triggers);
    if (this.#o.allowTriggers === true) {
      this.#warnings.push(`the DR has ${named}; ${this.#apply ? 'they fired' : 'they will fire'} on apply's writes (--allow-triggers)`);
      return;
    }
    if (!this.#apply) {
      this.#warnings.push(`the DR has ${named}; ${why}; apply refuses them before writing anything: ${fix}`);
      return;
    }
    throw new SalvageError(SalvageErrorCode.DrTriggers, `the DR has ${named}; ${why}; nothing was written: ${fix}`, details);
  }

  /**
   * `--follow` without allowTriggers: the start saw the DR's triggers then, and a follow runs for
   * hours. Before a window writes, inside its transaction and after its locking reads, the
   * triggers on the tables its changes are on are listed with those tables' metadata locks held
   * (readTriggersHeld), so none can be created on them between this look and the window's COMMIT.
   * One found was created since the start (every table was checked then): SALVAGE_DR_TRIGGERS, the
   * window rolled back by the caller, the windows before it committed.
   */
  async #refuseNewTriggers(window: readonly Transaction[]): Promise<void> {
    const tables = new Map<string, TableSchema>();
    for (const tx of window) {
      let last: TableMap | null = null;
      for (const c of tx.changes) {
        if (c.table === last) continue;
        last = c.table;
        // A table the DR lacks is no matter here: schema drift stopped the run before this window.
        const table = this.#catalog.get(c.table.schema, c.table.table);
        if (table !== undefined) tables.set(`${table.schema}\u0000${table.table}`, table);
      }
    }
    const triggers = await readTriggersHeld(this.#dr, [...tables.values()]);
    if (triggers.length === 0) return;
    const { named, why, details } = triggerWords(triggers);
    throw new SalvageError(
      SalvageErrorCode.DrTriggers,
      `the DR has ${named}, created since this follow started; ${why}; nothing of the window that would write ${details.tables.join(', ')} was written; ${this.#resumeHint()} once they are dropped (re-create them after apply), or with --allow-triggers (library: allowTriggers) to let them fire`,
      { ...details, committedThrough: this.#committedThrough() },
    );
  }

  /**
   * `--follow --stop-before`: a WHERE the follow is already past is refused before anything is
   * written — a position before where the read starts or before this source's checkpoint, a GTID
   * the rule calls not lost (the DR's GTID state, or the checkpoint, holds it).
   */
  #refuseFollowStopPassed(stop: StopBefore, live: LiveInput, rule: StartRule, checkpoint: LostCheckpoint | undefined, stored: StoredCheckpoint | undefined): void {
    if (stop.kind === 'gtid') {
      const g = stopGtid(stop);
      const judged = rule.kind === 'gtid' ? rule.state.flavor === g.flavor : rule.kind === 'from-gtid';
      refuseStopPassed(stop, null, judged && lostBeforeInput(rule, { checkpoint }, [g]).length === 0);
      return;
    }
    const file = this.#liveStart.file ?? live.oldest?.file;
    const read = file === undefined ? null : { file: basename(file), pos: this.#liveStart.position ?? 4 };
    const done = stored?.file === null || stored?.file === undefined || stored.pos === null ? null : { file: basename(stored.file), pos: Number(stored.pos) };
    const from = read === null ? done : done === null || isAfter(read, done) ? read : done;
    refuseStopPassed(stop, from, false);
  }

  /** The stop point the first pass met; without one (the option given), the refusal, before anything is written. */
  #stopMet(watch: StopWatch | null, damage: DamagePoint | null): StopPoint | null {
    if (this.#stopBefore === null || watch === null) return null;
    if (damage !== null) throw watch.pastDamage(damage);
    const met = watch.met;
    if (met === null) throw watch.refusal();
    return met;
  }

  #gtidRule(dr: DrIdentity): StartRule {
    const empty = dr.gtid.flavor === 'mysql' ? dr.gtid.gtidExecuted === '' : dr.gtid.gtidSlavePos === '' && dr.gtid.gtidBinlogPos === '';
    if (empty) {
      throw new SalvageError(SalvageErrorCode.NoStart, 'the DR has no GTID state to find the lost transactions by: give the starting point with --from FILE:POS, --from-gtid SET or --since TIME', { option: '--from' });
    }
    return { kind: 'gtid', state: dr.gtid, ownServerId: dr.serverId };
  }

  /** The starting remap floor of these AUTO_INCREMENT tables of the lost range: persisted, else the DR's counter when introspected. */
  #initKeyFloors(names: Iterable<string>): void {
    for (const name of names) {
      const table = this.#catalog.lookup(name);
      const next = this.#storedFloors.get(name) ?? table?.autoIncrement?.next;
      if (next !== undefined) this.#startFloors.set(name, next);
    }
  }

  /**
   * Inserts the run's row (autocommitted) and returns its id. A connection lost during the INSERT
   * leaves it done or not, and the answer lost: the attempt after the reconnect looks for the row
   * first (inserted after the highest id read before it, with this run's options) and takes it, so
   * one run has one row, never a second one left `running`.
   */
  async #startRun(options: Readonly<Record<string, unknown>>): Promise<number> {
    let after: number | null = null;
    return this.#onDr('run-row', async () => {
      if (after === null) after = await lastRunId(this.#dr, this.#schema);
      else {
        const found = await findStartedRun(this.#dr, this.#schema, this.#sourceId, after, options);
        if (found !== null) return found;
      }
      return startRun(this.#dr, this.#schema, this.#sourceId, options);
    });
  }

  /** apply: records the starting floors not yet persisted, before any window can raise the DR's counter (autocommitted, like the runs row). */
  async #persistStartFloors(): Promise<void> {
    if (!this.#apply) return;
    const fresh = new Map([...this.#startFloors].filter(([t]) => !this.#persistedFloors.has(t)));
    if (fresh.size > 0) await writeKeyFloors(this.#dr, this.#schema, this.#runId, fresh);
    for (const [t, f] of fresh) this.#persistedFloors.set(t, f);
  }

  /**
   * keepGtids under --follow: before a lost transaction is written, the refusals a run to an end
   * makes before its first write (sink/keep-gtids.ts FollowedGtids) — a transaction without a GTID,
   * a domain the DR logged at or past it or writes its own transactions in. The windows before it
   * are committed under their GTIDs; the run stops there.
   */
  async #meetGtids(window: readonly Transaction[]): Promise<void> {
    const followed = this.#followedGtids;
    const keep = this.#keep;
    if (followed === null || keep === null) return;
    for (const tx of window) {
      // Damaged and skipped: not committed under a GTID, whatever it has.
      if (damagedResult(tx) !== null) continue;
      const written = `nothing of it was written; ${this.#resumeHint()}`;
      const g = tx.gtid;
      if (g === null) {
        refuseLostGtids({ gtidless: tx, lowestByDomain: new Map() }, { flavor: 'mysql' }, written);
        continue;
      }
      if (g.flavor !== 'mariadb' || keep.flavor !== 'mariadb') continue;
      // Read before each one: the DR's application may have moved into the domain since the last.
      const dr = await this.#onDr('keep-gtids', async () => {
        const { rows } = await this.#dr.query('SELECT @@GLOBAL.gtid_binlog_pos AS p, @@GLOBAL.gtid_binlog_state AS s, @@GLOBAL.gtid_domain_id AS d');
        return { gtidBinlogPos: String(rows[0]?.['p'] ?? ''), gtidBinlogState: String(rows[0]?.['s'] ?? ''), global: Number(rows[0]?.['d']) };
      });
      followed.meet(g, { gtidBinlogPos: dr.gtidBinlogPos, gtidBinlogState: dr.gtidBinlogState, ownDomains: [keep.domainId, dr.global] }, written);
    }
  }

  /**
   * Following, the tables of a window met for the first time: checked against the DR's schema and
   * given their starting remap floor, as the pre-scan does for a whole range; DDL is noted for the report.
   */
  async #meet(window: readonly Transaction[]): Promise<void> {
    const fresh = new Map<string, TableMap>();
    // New shapes too (an ALTER the source ran while followed): checked before the window is applied.
    const shapes = new Map<string, TableShape[]>();
    for (const tx of window) {
      for (const st of ddlStatements(tx)) this.#scan.ddl.push({ at: tx.gtid !== null ? gtidText(tx.gtid) : `${tx.file}:${tx.pos}`, file: tx.file, pos: tx.pos, sql: redactSecrets(st.sql) });
      let last: TableMap | null = null;
      for (const c of tx.changes) {
        if (c.table === last) continue;
        last = c.table;
        const name = `${c.table.schema}.${c.table.table}`;
        if (!this.#scan.tables.has(name) && !fresh.has(name)) fresh.set(name, c.table);
        const shape = noteShape(this.#scan.shapes, name, c.table, tx);
        if (shape !== null) shapes.set(name, [...(shapes.get(name) ?? []), shape]);
      }
    }
    if (shapes.size > 0) checkSchemaDrift(shapes, this.#catalog);
    if (fresh.size === 0) return;
    for (const [name, map] of fresh) this.#scan.tables.set(name, map);
    this.#initKeyFloors(fresh.keys());
    await this.#persistStartFloors();
  }

  async #hasKeyFloorTable(): Promise<boolean> {
    const { rows } = await this.#dr.query('SELECT 1 AS x FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [this.#schema, 'key_floor']);
    return rows.length > 0;
  }

  async #loadState(keyMap: KeyMap, quarantine: QuarantineIndex): Promise<void> {
    for (const e of await loadKeyMap(this.#dr, this.#schema)) {
      const table = this.#catalog.lookup(e.table);
      if (table === undefined || table.primaryKey === null) continue;
      // Persisted entries may be links (onto an old key: KeyMap.link); all were checked when made.
      keyMap.link(table.schema, table.table, fromCanonicalKey(e.oldKey, table), fromCanonicalKey(e.newKey, table));
    }
    // Holds of every source: the same primary's binlogs read as files and then live (or copied
    // under another name) are one source under two ids, and a hold must not depend on the name.
    for (const [table, key, origin] of await pendingQuarantineRows(this.#dr, this.#schema)) quarantine.add(table, key, origin);
    // One TableState per table folds the keys and unique values held rows are named by.
    const folds = new Map<TableSchema, TableState>();
    const foldsOf = (t: TableSchema): TableState => {
      let state = folds.get(t);
      if (state === undefined) folds.set(t, (state = new TableState(t)));
      return state;
    };
    for (const s of await skippedInserts(this.#dr, this.#schema)) {
      const table = this.#catalog.lookup(s.table);
      if (table === undefined || table.primaryKey === null) continue;
      let key: string;
      try {
        key = rowKey(fromCanonicalKey(s.sourceKey, table));
      } catch {
        continue;
      }
      quarantine.addSkipped(`${table.schema}.${table.table}`, key, s.change);
      if (s.afterImage === null) continue;
      let after: RowImage;
      try {
        after = rowFromCanonical(parseExactJson(s.afterImage, (path) => path.length === 1), table);
      } catch {
        continue;
      }
      // Children may name the never-written row by a unique value the DR gives another record.
      for (const [hold, k] of uniqueValueHolds(this.#catalog, table, after)) quarantine.add(hold, k, s.change);
      noteEarlierHeld(quarantine, this.#catalog, foldsOf(table), null, after);
    }
    // What the held changes point at, so delete-blocking leaves those rows for their resolution;
    // and the rows they leave, which this run's MINIMAL updates of them are completed from.
    for await (const held of pendingQuarantineImages(this.#dr, this.#schema)) {
      const table = this.#catalog.lookup(held.table);
      if (table === undefined) continue;
      let after: RowImage;
      let before: RowImage | null;
      try {
        // Column values at depth 1 kept as raw JSON text, as resolve.ts reads images.
        after = rowFromCanonical(parseExactJson(held.afterImage, (path) => path.length === 1), table);
        before = held.beforeImage === null ? null : rowFromCanonical(parseExactJson(held.beforeImage, (path) => path.length === 1), table);
      } catch {
        // An image the DR's table no longer fits (its schema changed since): nothing to point at.
        continue;
      }
      for (const [parent, key] of heldParents(this.#catalog, table, after, undefined, foldsOf)) quarantine.addParent(parent, key, held.change);
      noteEarlierHeld(quarantine, this.#catalog, foldsOf(table), before, after);
    }
  }

  /**
   * The rows of delete-blocking's tables that the lost range's changes change or point at
   * (reconcile/later-needs.ts), read as the windows will read it: up to the damage or the stop
   * point, keys as logged. A live source read cut by a lost connection starts over.
   */
  async #readLaterNeeds(filter: () => LostFilter): Promise<LaterNeeds> {
    const o = this.#o;
    const r = this.#reconciler;
    const collect = async (batches: AsyncIterable<ReadBatch>, lost: LostFilter): Promise<LaterNeeds> => {
      const needs = new LaterNeeds();
      const stopAt = this.#stopAt;
      for await (const batch of batches) {
        for (const item of batch.items) {
          if (stopAt !== null && isStopPoint(stopAt, item.tx)) return needs;
          // A damaged transaction has no changes to need anything.
          if (item.kind !== 'transaction' || !isLost(lost, item.tx)) continue;
          const tx = item.tx;
          needs.seen(tx);
          tx.changes.forEach((change, index) => r.neededRows(change, (table, key) => needs.add(table, key, tx, index)));
        }
      }
      return needs;
    };
    if (this.#live === null) {
      const cut = this.#damage ?? (this.#stopAt === null ? null : { file: this.#stopAt.file, offset: this.#stopAt.pos });
      return collect(readTransactions(filesBefore(this.#files, cut), { verifyChecksums: o.verifyChecksums, signal: o.signal, skipDamaged: true, annotations: false, schemaHints: this.#hints }), filter());
    }
    return this.#withReconnects(() => collect(this.#liveBatches(this.#liveStart, o.signal), filter()));
  }

  /** Works through the lost transactions in windows; a live source is reopened after a lost connection, a follow ends on request. */
  async #windowsLoop(filter: LostFilter): Promise<void> {
    const o = this.#o;
    if (this.#live === null) {
      // ANNOTATE_ROWS texts (≈ 41 % of a MariaDB binlog's bytes) are left undecoded, as DESIGN.md's
      // pitfalls ask of the hot path: only quarantined changes show theirs, read back afterwards
      // from where the transactions' marks say they lie (#readStatements), and decoding them all cost
      // 0.8–1.4 s of client CPU in most measured rounds and ≈ 40 MiB of peak RSS on bench:apply's
      // 200k-change binlog (test/reconcile/scan-annotations.test.ts).
      // Up to the damage, or the stop point (never both: damage before the stop point is refused, #stopMet).
      const cut = this.#damage ?? (this.#stopAt === null ? null : { file: this.#stopAt.file, offset: this.#stopAt.pos });
      await this.#readWindows(filter, (signal) => readTransactions(filesBefore(this.#files, cut), { verifyChecksums: o.verifyChecksums, signal, skipDamaged: true, annotations: false, schemaHints: this.#hints }));
      return;
    }
    // Following, a run that meets no write still shows it is alive: its figures every FOLLOW_PROGRESS_MS.
    const heartbeat = this.#follow
      ? setInterval(() => {
          if (this.#progressAt === null || performance.now() - this.#progressAt >= FOLLOW_PROGRESS_MS - 50) this.#emitProgress();
        }, FOLLOW_PROGRESS_MS)
      : null;
    heartbeat?.unref();
    try {
      // Each attempt reads from the end of the last committed window (or the run's start):
      // transactions decoded after it and not yet applied are read again, none twice.
      await this.#withReconnects(() => this.#readWindows(filter, (signal) => this.#liveBatches(this.#lastEnd === null ? this.#liveStart : { file: this.#lastEnd.file, position: this.#lastEnd.pos }, signal)));
    } catch (e) {
      if (o.signal?.aborted !== true || !(isAbort(e) || isSourceDrop(e))) throw e;
      if (!this.#follow) throw new SalvageError(SalvageErrorCode.Aborted, `stopped on request after ${this.#windows} window(s); ${this.#resumeHint()}`, this.abortDetails(), { cause: e });
      // How a follow ends: the window in progress has committed; the next run resumes at the checkpoint.
      this.#stoppedOnRequest = true;
    } finally {
      if (heartbeat !== null) clearInterval(heartbeat);
    }
  }

  /**
   * Runs `read` again after each lost source connection, after a backoff, until it returns, fails
   * otherwise, the attempts in a row run out, or the signal aborts.
   */
  async #withReconnects<T>(read: () => Promise<T>): Promise<T> {
    const o = this.#o;
    const policy = this.#live?.spec.reconnect ?? {};
    const delays = reconnectPolicy(policy);
    const { attempts } = delays;
    this.#reopening = false;
    for (let failures = 0; ; ) {
      this.#sourceAlive = false;
      try {
        return await read();
      } catch (e) {
        if (!isSourceDrop(e) || o.signal?.aborted === true) throw e;
        // A connection that delivered before it dropped starts a new count: a long follow may lose many.
        failures = this.#sourceAlive ? 1 : failures + 1;
        this.#reopening = true;
        if (failures > attempts) {
          throw new SalvageError(
            SalvageErrorCode.Fault,
            `${redact(e.message)} [${e.code}]; gave up after ${attempts} reconnect attempt(s); ${this.#resumeHint()}`,
            { ...e.details },
            { retryable: true, cause: e },
          );
        }
        const delayMs = reconnectDelayMs(delays, failures);
        // Told as the DR's reconnects are (a warning line, a `reconnect` event): a follow that waits on a restarting source says so.
        notifyReconnect(o, { target: this.#live!.spec.target.redacted, server: 'source', step: 'read', attempt: failures, attempts, delayMs, reason: redact(e.message), code: e.code }, this.#resumeHint());
        await sleep(delayMs, o.signal);
        // (read afresh: the sleep ends early on abort)
        if (isAborted(o.signal)) throw e;
      }
    }
  }

  /** The live server's batches from `from`, to the run's end (or on, following), on a control session of their own. */
  async *#liveBatches(from: { readonly file?: string; readonly position?: number }, signal: AbortSignal | undefined): AsyncGenerator<ReadBatch> {
    const live = this.#live!;
    const { module, spec, label } = live;
    const lost = (e: EngineError): EngineError =>
      new module.LiveSourceError(module.LiveSourceErrorCode.ConnectionLost, `cannot reach ${label}: ${redact(e.message)}`, { source: label, ...e.details }, { retryable: true, cause: e });
    let control: SqlSession;
    try {
      control = await openSession(spec.target);
    } catch (e) {
      throw isNetworkFailure(e) ? lost(e) : e;
    }
    try {
      const batches = module.readLiveTransactions(spec.target, {
        control,
        start: from,
        follow: this.#follow,
        ...(live.end === null ? {} : { end: live.end }),
        verifyChecksums: this.#o.verifyChecksums,
        // PREFERRED: the dump is encrypted when the control session, on the same server, is.
        tls: tlsSocketOptions(spec.target.tls, control.encrypted ?? false, spec.target.host),
        serverId: spec.serverId,
        ...(spec.heartbeatMs === undefined ? {} : { heartbeatMs: spec.heartbeatMs }),
        // ANNOTATE_ROWS not asked for (see #windowsLoop): MariaDB then leaves them out of the dump.
        annotations: false,
        schemaHints: this.#hints,
        signal,
      });
      for await (const batch of batches) {
        if (this.#reopening) this.#reconnects++;
        this.#reopening = false;
        this.#sourceAlive = true;
        yield batch;
      }
    } catch (e) {
      // SHOW BINARY LOGS on a server going down fails on the control session: the same drop.
      throw isNetworkFailure(e) ? lost(e) : e;
    } finally {
      await control.end();
    }
    if (this.#follow && signal?.aborted !== true) {
      // A follow never ends by itself: a dump the server ended is a lost connection.
      throw new module.LiveSourceError(module.LiveSourceErrorCode.ConnectionLost, `${label} ended the binlog dump`, { source: label }, { retryable: true });
    }
  }

  /**
   * Groups lost transactions into windows, decoding the next window while this one is applied.
   * `open` starts the read with a signal that also ends it when the windows stop early (a blocked
   * live read would otherwise never settle).
   */
  async #readWindows(filter: LostFilter, open: (signal: AbortSignal) => AsyncIterable<ReadBatch>): Promise<void> {
    const o = this.#o;
    const own = new AbortController();
    // Linked by hand, and unlinked below: a long follow opens many reads on the run's one signal.
    const forward = (): void => own.abort(o.signal?.reason);
    if (o.signal?.aborted === true) forward();
    else o.signal?.addEventListener('abort', forward, { once: true });
    const signal = own.signal;
    // keepGtids: one source transaction per DR transaction, each under its own GTID.
    const maxTx = this.#keep !== null ? 1 : (o.windowTransactions ?? DEFAULT_WINDOW_TRANSACTIONS);
    const maxRows = o.windowRows ?? DEFAULT_WINDOW_ROWS;
    // Following, a window also closes this long after its first lost transaction was read.
    const idleMs = this.#follow ? (this.#live?.spec.idleMs ?? DEFAULT_IDLE_MS) : null;
    const ddlStops = (o.ddl ?? 'stop') === 'stop';
    const source = open(signal)[Symbol.asyncIterator]();
    const carry: Transaction[] = [];
    let exhausted = false;
    /** The read in flight, kept across windows when one closes idle. */
    let inflight: Promise<IteratorResult<ReadBatch>> | null = null;
    /** Following: DDL met with --ddl stop; the windows before it are applied, then the run stops. */
    let ddlAt: Transaction | null = null;
    /** The `stopBefore` transaction was read (a live source; files end before it): nothing from it on is the run's. */
    let stopped = false;
    const stopAt = this.#stopAt;
    // Following, the stop point is found as the read meets it (no first pass): a fresh watch per
    // read, which starts at the last committed window. Passed without meeting it: refused there.
    const watch = this.#follow && this.#stopBefore !== null ? new StopWatch(this.#stopBefore, { follow: true }) : null;
    let stopRefused: InputError | null = null;
    const full = (n: number, rows: number): boolean => n >= maxTx || rows >= maxRows;
    const nextWindow = async (): Promise<Transaction[]> => {
      const window: Transaction[] = [];
      let rows = 0;
      // What the last read batch held beyond the previous window comes first, within the limits.
      while (carry.length > 0 && !full(window.length, rows)) {
        const tx = carry.shift() as Transaction;
        window.push(tx);
        rows += tx.changes.length;
      }
      let deadline = idleMs !== null && window.length > 0 ? performance.now() + idleMs : null;
      while (!exhausted && !stopped && ddlAt === null && carry.length === 0 && !full(window.length, rows)) {
        const read = (inflight ??= source.next());
        const r = deadline === null ? await read : await withDeadline(read, deadline - performance.now());
        if (r === IDLE) break;
        inflight = null;
        if (r.done === true) {
          exhausted = true;
          break;
        }
        const had = window.length;
        for (const read of r.value.items) {
          // A damaged transaction (skipDamaged) takes its place in the window, to be recorded.
          const damaged = read.kind === 'incomplete' ? damagedTransaction(read.tx) : null;
          const item = damaged === null ? read : { kind: 'transaction' as const, tx: damaged };
          // Before the lost filter: the stop point is not judged, so not counted in the lost set.
          if (stopAt !== null && isStopPoint(stopAt, read.tx)) {
            stopped = true;
            break;
          }
          if (watch?.check(read) === true) {
            // What lies before it is applied (the windows so far, and this one); nothing from it on.
            stopped = true;
            const met = watch.met;
            if (met === null) stopRefused = watch.refusal();
            else this.#stopAt = met;
            break;
          }
          if (item.kind !== 'transaction' || !isLost(filter, item.tx)) continue;
          if (this.#follow && ddlStops && ddlStatements(item.tx).length > 0) {
            // What follows it in this batch is read again by the run that resumes.
            ddlAt = item.tx;
            break;
          }
          if (!full(window.length, rows)) {
            window.push(item.tx);
            rows += item.tx.changes.length;
          } else carry.push(item.tx);
        }
        // From the window's first transaction, not its latest: a primary that writes more often than
        // idleMs would otherwise keep the window open until it is full, and nothing reaches the DR.
        if (idleMs !== null && deadline === null && window.length > had) deadline = performance.now() + idleMs;
      }
      return window;
    };
    // Handled at once, awaited later: a read that fails while a window is applied must not count as unhandled.
    const prefetch = (): Promise<Transaction[]> => {
      const p = nextWindow();
      p.catch(() => undefined);
      return p;
    };
    let pending = prefetch();
    try {
      for (;;) {
        const window = await pending;
        if (window.length === 0 && carry.length === 0 && (exhausted || stopped || ddlAt !== null)) break;
        if (o.signal?.aborted === true) throw new SalvageError(SalvageErrorCode.Aborted, `stopped on request after ${this.#windows} window(s); ${this.#resumeHint()}`, this.abortDetails());
        pending = prefetch();
        // The next window decodes (CPU) while this one waits on the DR (I/O).
        if (this.#follow) await this.#meet(window);
        await this.#meetGtids(window);
        await this.#processWindow(padShortImages(window, this.#catalog));
        this.#escalate();
      }
      await pending;
    } finally {
      // A window that failed leaves a read in flight: end it, let it settle, then close the source.
      if (!exhausted) own.abort();
      await pending.catch(() => undefined);
      // (assigned inside nextWindow, which TypeScript's narrowing does not see)
      await (inflight as Promise<IteratorResult<ReadBatch>> | null)?.catch(() => undefined);
      await source.return?.(undefined);
      o.signal?.removeEventListener('abort', forward);
    }
    if (stopRefused !== null) {
      // The windows before it committed: where the next run goes on is part of the answer.
      const e = stopRefused as InputError;
      throw new InputError(e.code, `${e.message}; ${this.#resumeHint()}`, e.details);
    }
    if (ddlAt !== null) {
      const d = ddlAt as Transaction;
      throw new SalvageError(
        SalvageErrorCode.Ddl,
        `the source wrote DDL at ${d.gtid !== null ? gtidText(d.gtid) : `${d.file}:${d.pos}`} (${basename(d.file)}:${d.pos}): ${redactSecrets(d.statements[0]?.sql ?? '').slice(0, 200)} — ${this.#resumeHint()}; apply the schema change to the DR by hand, then run again with --ddl skip (without it the run stops here again), or pass --ddl skip to leave DDL out`,
        { file: d.file, offset: d.pos },
      );
    }
  }

  async #processWindow(window: readonly Transaction[]): Promise<void> {
    if (window.length === 0) return;
    if (!this.#apply) {
      this.#windowQuarantined.clear();
      this.#windowQuarantinedAll = 0;
      const mark = this.#reconciler.mark();
      let results: TransactionResult[];
      try {
        results = await this.#decide(window);
      } catch (e) {
        if (!(e instanceof WindowCut)) throw e;
        this.#reconciler.rollbackTo(mark);
        await this.#processCut(window, e.at);
        return;
      }
      await this.#readStatements(results);
      const writes = results.flatMap((r) => r.writes);
      // keepGtids: as apply names the transaction (an empty one too: the DR's GTID state covers it).
      const keep = this.#keep;
      const gtid = keep !== null && results.length === 1 && commitsUnderGtid(results[0]!) ? results[0]!.tx.gtid : null;
      if (gtid !== null) await this.#writer.query(gtidOnStatement(gtid));
      // As apply commits each window whole (plan --sql), its statements cut under the DR's
      // max_allowed_packet as apply cuts them, so the file runs by hand as apply would.
      if (writes.length > 0 || gtid !== null) await this.#writer.query('START TRANSACTION');
      try {
        // The recorder runs nothing: no write reaches a row to count.
        await executeWrites(this.#writer, writes, { maxPacket: this.#maxPacket, verifyRows: false });
      } catch (e) {
        if (!(e instanceof PacketTooLargeError)) throw e;
        const placed = await this.#placeOversize(e, results);
        throw new SalvageError(SalvageErrorCode.Fault, `${redact(placed.message)} [${placed.code}]; apply would stop here before writing this window; ${packetRemedy(placed.details['needed'] as number)}`, { ...placed.details }, { cause: placed });
      }
      if (writes.length > 0 || gtid !== null) await this.#writer.query('COMMIT');
      if (gtid !== null && keep !== null) await this.#writer.query(gtidOffStatement(keep));
      this.#account(results);
      return;
    }
    // Restored with the reconciler when the window is decided again (#suspendAtLimit).
    const suspended = new Set(this.#suspended);
    const restore = (): void => {
      this.#windowQuarantined.clear();
      this.#windowQuarantinedAll = 0;
      this.#suspended.clear();
      for (const t of suspended) this.#suspended.add(t);
    };
    // keepGtids (windows of one transaction): first tried under its GTID, unless damaged.
    const keep = this.#keep;
    const first = window[0]!;
    let underGtid = keep !== null && first.gtid !== null && damagedResult(first) === null;
    let switches = 0;
    for (let attempt = 0; ; attempt++) {
      // The window's rows are read in its DR transaction: decided again, it reads them again.
      const mark = this.#reconciler.mark({ readAgain: true });
      restore();
      let results: TransactionResult[] | null = null;
      try {
        this.#commitSent = false;
        // Before START TRANSACTION: MariaDB refuses a domain or sequence number set inside one.
        if (underGtid) await this.#dr.query(gtidOnStatement(first.gtid!));
        await this.#dr.query('START TRANSACTION');
        await this.#readWindow(window);
        if (this.#watchTriggers) await this.#refuseNewTriggers(window);
        // Filled as the window is decided (#commitWindow): complete once its COMMIT is sent.
        results = [];
        await this.#commitWindow(window, results, underGtid);
        this.#drFailures = 0;
      } catch (raw) {
        await this.#dr.query('ROLLBACK').catch(() => undefined);
        // The session's own identity back: a transaction quarantined on its own next, or the run's
        // last writes, must not go under the source's GTID (a lost connection takes it anyway).
        if (underGtid && keep !== null) await this.#dr.query(gtidOffStatement(keep)).catch(() => undefined);
        // A trigger created while following: the run stops with it as it is, the window rolled back.
        if (raw instanceof SalvageError && raw.code === SalvageErrorCode.DrTriggers) throw raw;
        if (raw instanceof GtidSwitch) {
          this.#reconciler.rollbackTo(mark);
          restore();
          // Decided afresh under locks each time: only traffic changing the rows between attempts flips it back.
          if (++switches > MAX_RETRIES) {
            throw new SalvageError(SalvageErrorCode.Fault, `the transaction ${gtidText(first.gtid!)} was decided ${switches} times, in turn all quarantined and not, as the DR's rows changed between attempts; ${this.#resumeHint()}`, { gtid: gtidText(first.gtid!) });
          }
          underGtid = raw.underGtid;
          attempt--;
          continue;
        }
        if (raw instanceof WindowCut) {
          this.#reconciler.rollbackTo(mark);
          restore();
          await this.#processCut(window, raw.at);
          return;
        }
        const e = mapDbError(raw);
        if (isNetworkFailure(e)) {
          // The connection is gone: the server rolled the window back, unless its COMMIT landed.
          if (await this.#reopenDr(e, window, results)) {
            this.#afterCommit();
            this.#drFailures = 0;
            this.#account(results!);
            return;
          }
          this.#reconciler.rollbackTo(mark);
          attempt--;
          continue;
        }
        this.#reconciler.rollbackTo(mark);
        if (e instanceof PacketTooLargeError) throw this.#fault(await this.#placeOversize(e, results ?? []), window.length);
        if (!(e instanceof EngineError)) throw e;
        // A duplicate in a window that remapped: the new key may be one the application's AUTO_INCREMENT
        // handed out in the same instant (both draw from above the DR's largest id). Decided again,
        // the floors are read afresh and the remap takes a key above it.
        const remapRace = e.code === DbErrorCode.Duplicate && results !== null && results.some((r) => r.remaps.length > 0);
        if ((e.retryable || remapRace) && attempt < MAX_RETRIES) {
          this.#retries++;
          await sleep(Math.min(2000, 50 * 2 ** attempt), this.#o.signal);
          continue;
        }
        if (!isDataRejection(e)) throw this.#fault(e, window.length);
        if (window.length > 1) {
          // Decide again one source transaction at a time, so the one the DR rejects is found.
          this.#retries++;
          restore();
          for (const tx of window) {
            await this.#processWindow([tx]);
            if (this.#stopPassed()) return;
          }
          return;
        }
        await this.#quarantineRejected(window[0]!, e);
        return;
      }
      // Committed. Out of the try: the caller's callbacks run here, and what they throw is no fault
      // of the DR's to retry (that would decide a committed window again).
      this.#account(results);
      return;
    }
  }

  /**
   * `escalation.action: stop` acts at the transaction whose quarantine passes the limit: the window
   * is decided again as if it ended there (and committed, in apply), and the rest of it is left to
   * the run that resumes — unless, decided without the transactions after it, the shorter window no
   * longer passes the limit (a change's decision can depend on later changes of its window, as
   * delete-blocking's does): then the rest follows as a window of its own.
   */
  async #processCut(window: readonly Transaction[], at: number): Promise<void> {
    await this.#processWindow(window.slice(0, at));
    if (!this.#stopPassed()) await this.#processWindow(window.slice(at));
  }

  /** Whether `escalation.action: stop` is passed by the committed quarantine plus `pending` more. */
  #stopPassed(pending = 0): boolean {
    const e = this.#o.config?.escalation;
    return e !== undefined && e.maxQuarantined !== null && e.action === 'stop' && this.#outcomes.quarantined + pending > e.maxQuarantined;
  }

  /** plan: reads the window's keys and decides every transaction. */
  async #decide(window: readonly Transaction[]): Promise<TransactionResult[]> {
    // A connection lost while plan reads is reopened and the window read again, as a start-up step
    // is: plan's reads take no locks and nothing is decided before they are all in, and a row read
    // twice loads as once (TableState.load keeps what earlier windows decided), so the plan goes on
    // as an uninterrupted one.
    await this.#onDr('window', () => this.#readWindow(window));
    return window.map((tx, i) => this.#decideOne(tx, i, window.length));
  }

  /**
   * Which of the rows delete-blocking may delete for the window, or cascade to, an earlier run's
   * lost changes wrote (the ledger: state-store.ts ledgerWrites), so such a delete leaves them as
   * one run over the whole range would (its LaterNeeds name the change). Following, which reads no
   * LaterNeeds, this run's committed windows too. Asked only when some change of the window meets
   * a holder of a table whose rules may delete one.
   */
  async #noteEarlierRunWrites(changes: readonly RowChange[]): Promise<void> {
    const r = this.#reconciler;
    // No rule that may delete a blocker (the default): nothing to ask, and no pass over the window.
    if ((!this.#stateExisted && !this.#follow) || !this.#deletesBlockers) return r.noteEarlierRunWrites(NO_EARLIER_WRITES);
    const rows = collectBlockerRows(changes, this.#catalog, r.stateSet, (t) => r.deletesBlockersOf(t), (t) => r.blockerChildCap(t), (t) => r.ignoredColumns(t));
    if (rows.size === 0) return r.noteEarlierRunWrites(NO_EARLIER_WRITES);
    const wanted = new Map<string, Set<string>>();
    const back = new Map<string, Map<string, string>>();
    for (const [table, images] of rows) {
      const state = r.state(table);
      const qualified = `${table.schema}.${table.table}`;
      const keys = new Set<string>();
      const toRow = new Map<string, string>();
      for (const image of images) {
        const pk = state.keyValues(image);
        const k = state.keyOf(image);
        if (pk === null || k === null) continue;
        const text = ledgerKeyText(pk);
        keys.add(text);
        toRow.set(text, k);
      }
      wanted.set(qualified, keys);
      back.set(qualified, toRow);
    }
    const found = await ledgerWrites(this.#dr, this.#schema, this.#sourceId, this.#follow ? null : this.#runId, wanted);
    const writes = new Map<string, Map<string, string>>();
    for (const [table, byKey] of found) {
      const out = new Map<string, string>();
      for (const [text, { change, runId }] of byKey) {
        const k = back.get(table)?.get(text);
        if (k !== undefined) out.set(k, runId === this.#runId ? `an earlier lost change of this run (${change})` : `an earlier run's lost change (${change})`);
      }
      writes.set(table, out);
    }
    r.noteEarlierRunWrites(writes);
  }

  /** Decides one transaction of the window; throws WindowCut when `stop` is passed before the window's last. */
  #decideOne(tx: Transaction, index: number, count: number): TransactionResult {
    const result = damagedResult(tx) ?? this.#reconciler.decide(tx);
    this.#suspendAtLimit(result);
    for (const d of result.decisions) if (d.outcome === 'quarantined') this.#windowQuarantinedAll++;
    if (index < count - 1 && this.#stopPassed(this.#windowQuarantinedAll)) throw new WindowCut(index + 1);
    return result;
  }

  /**
   * `suspend-table`: a table whose quarantine passes the limit is suspended at once, so its later
   * changes in the same window are held as they would be one window later (the same decisions
   * whatever the window size). Counted over the committed windows and this window's decisions so far.
   */
  #suspendAtLimit(result: TransactionResult): void {
    const e = this.#o.config?.escalation;
    if (e === undefined || e.maxQuarantined === null || e.action !== 'suspend-table') return;
    for (const d of result.decisions) {
      if (d.outcome !== 'quarantined') continue;
      const n = (this.#windowQuarantined.get(d.table) ?? 0) + 1;
      this.#windowQuarantined.set(d.table, n);
      if ((this.#quarantinedPerTable.get(d.table) ?? 0) + n > e.maxQuarantined) this.#suspended.add(d.table);
    }
  }

  /** Reads (locking them in apply) what the window's decisions need: rows by key, holders' children, key floors. */
  async #readWindow(window: readonly Transaction[]): Promise<void> {
    const r = this.#reconciler;
    const changes = r.rewrite(window.flatMap((tx) => tx.changes));
    r.noteWindow(changes);
    // A followed DR's history read on twice: here what it wrote since the last window, maybe much
    // after a long idle, before any lock is held; after the reads below only the last moments.
    await this.#history?.catchUp?.();
    const requests = collectReads(changes, this.#catalog, r.stateSet, (t) => r.rewriteTemplates(t));
    // Sent together, loaded in order: the reads do not depend on each other, and the DR runs the
    // next while the client turns the last one's rows into images. A failure is handled on each
    // at once (the one awaited rethrows it), so the others cannot end as unhandled rejections.
    const answers = requests.map((req) => readRowsMatching(this.#dr, req.table, req.columns, req.keys, { forUpdate: this.#apply }));
    for (const a of answers) a.catch(() => undefined);
    // The largest keys depend only on the tables the window inserts into: sent with the first round
    // instead of one round trip each after the second (≈ 0.15 s of a 200k-change apply's 21 windows).
    const floors = this.#readMaxKeys(changes.filter((c) => c.op === 'insert').map((c) => `${c.table.schema}.${c.table.table}`));
    floors.catch(() => undefined);
    const loaded: RowImage[][] = [];
    for (let i = 0; i < requests.length; i++) {
      const req = requests[i]!;
      const rows = await answers[i]!;
      const state = r.state(req.table);
      state.load(rows);
      loaded.push(rows);
      if (req.purpose === 'pk') state.markReadKeys(req.asked);
      else state.markReadIndexKeys(req.purpose, req.asked);
    }
    // Tables without a primary key: the rows equal to each before image of an update or delete,
    // locked as the rows above are (the window's writes reach one of them by that image).
    for (const req of collectImageReads(changes, this.#catalog, r.stateSet, this.#unmatchable)) {
      const found = await readRowsByImages(this.#dr, req.table, req.images, { forUpdate: this.#apply });
      const keyless = r.state(req.table).keyless!;
      for (let i = 0; i < req.images.length; i++) keyless.load(req.images[i]!, found[i]!);
    }
    // After every read of the round is loaded (a later load of the same row would drop an alias).
    for (let i = 0; i < requests.length; i++) await this.#aliasCollationMatches(requests[i]!, loaded[i]!);
    // Second round: the holders of the unique values an update writes where its after image leaves a
    // part to the DR row (MINIMAL images, an ignored column), known once the first round read that row.
    for (const req of collectWrittenRowReads(changes, this.#catalog, r.stateSet, (t) => r.ignoredColumns(t), (t) => r.rewriteTemplates(t))) {
      const rows = await readRowsMatching(this.#dr, req.table, req.columns, req.keys, { forUpdate: this.#apply });
      const state = r.state(req.table);
      // Rows the first round read are not loaded again: a load drops the aliases it found for them.
      state.load(rows.filter((row) => !state.knowsRow(row)));
      if (req.purpose !== 'pk') state.markReadIndexKeys(req.purpose, req.asked);
      await this.#aliasCollationMatches(req, rows);
    }
    // Second round: who points at the rows holding a unique value a delete-blocking rule may delete.
    for (const req of collectHolderChildReads(changes, this.#catalog, r.stateSet, (t) => r.readsHolderChildren(t), (t) => r.ignoredColumns(t))) {
      r.state(req.table).load(await readRowsMatching(this.#dr, req.table, req.columns, req.keys, { forUpdate: this.#apply }));
      if (req.purpose !== 'pk') r.state(req.table).markReadIndexKeys(req.purpose, req.asked);
    }
    await this.#noteEarlierRunWrites(changes);
    // And who points at the rows a lost delete's cascade would reach (report, allowUpTo).
    if (r.readsCascadeChildren) {
      for (const req of collectCascadeChildReads(changes, this.#catalog, r.stateSet)) {
        r.state(req.table).load(await readRowsMatching(this.#dr, req.table, req.columns, req.keys, { forUpdate: this.#apply }));
        if (req.purpose !== 'pk') r.state(req.table).markReadIndexKeys(req.purpose, req.asked);
      }
    }
    // After the locking reads: a DR write to a key they read committed before them, so it is in the
    // DR's binlog now; one after them to a row they locked waits for this window's COMMIT.
    await this.#history?.catchUp?.();
    if (this.#history !== null) {
      const historyAt = historyKeys(changes, this.#catalog, r.stateSet);
      // A change meets the DR row its key's collation equates (`B` for `b`), which the history knows
      // by that row's own key: found by the reads above, prepared with the rest.
      addHeldKeys(historyAt, changes, this.#catalog, r.stateSet);
      await this.#history.prepare(historyAt);
    }
    this.#raiseKeyFloors(await floors);
  }

  /**
   * A unique-key read returns every DR row equal to an asked value under the column's collation; a
   * row whose value the fold (value-equality.ts) does not equate to any asked one (`jose@x` for
   * `josé@x` under utf8mb4_general_ci, `ß` = `s`) holds one of them all the same. Which one, the
   * server says: each asked value the loose fold cannot tell apart from the row's is compared by a
   * read of that row by its key and the value, under the column's own collation. The row is then
   * an alias holder of that value (TableState.aliasIndexKey), so the change meets it as
   * insert-unique-taken / update-unique-taken and its rule decides, where the DR used to reject the
   * write (dr-rejected, whatever the rule). Rare: only rows the fold misses are asked about.
   */
  async #aliasCollationMatches(req: ReadRequest, rows: readonly RowImage[]): Promise<void> {
    if (req.purpose === 'pk') return this.#aliasKeyMatches(req, rows);
    if (!req.purpose.startsWith('uk:') || rows.length === 0 || req.table.primaryKey === null) return;
    const state = this.#reconciler.state(req.table);
    const name = req.purpose;
    const asked = new Set(req.asked);
    const positions = state.positionsOf(req.columns);
    const folders = req.columns.map((c) => looseFolder(req.table.columns.find((col) => col.name === c)?.collation ?? null));
    for (const row of rows) {
      const own = state.indexKeyOf(name, row);
      if (own === null || asked.has(own)) continue;
      const pk = state.keyOf(row);
      const pkValues = state.keyValues(row);
      if (pk === null || pkValues === null) continue;
      const loose = positions.map((p, j) => folders[j]!(row[p]));
      const candidates: number[] = [];
      for (let i = 0; i < req.keys.length && candidates.length <= MAX_COLLATION_CANDIDATES; i++) if (req.keys[i]!.every((v, j) => folders[j]!(v) === loose[j])) candidates.push(i);
      if (candidates.length > MAX_COLLATION_CANDIDATES) continue;
      for (const i of candidates) {
        const same = await readRowsMatching(this.#dr, req.table, [...req.table.primaryKey, ...req.columns], [[...pkValues, ...req.keys[i]!]], { forUpdate: this.#apply });
        if (same.length > 0) state.aliasIndexKey(name, req.asked[i]!, pk);
      }
    }
  }

  /**
   * A primary-key read returns the DR rows equal to an asked key under its columns' collations too
   * (`B` for `b` under a _ci collation), loaded under their own keys. An asked key no row holds as it
   * is may be held so all the same: each one the loose fold cannot tell apart from a loaded row's key
   * is compared by a read of that row by its key and the asked one, under the columns' own
   * collations. The row is then the key's holder (TableState.aliasKey), so an update moving a row
   * onto that key meets it as update-unique-taken and its rule decides, where the DR used to reject
   * the write (dr-rejected). Only for keys with a collated column, and only asked keys found absent.
   */
  async #aliasKeyMatches(req: ReadRequest, rows: readonly RowImage[]): Promise<void> {
    const table = req.table;
    const pkColumns = table.primaryKey;
    if (pkColumns === null || rows.length === 0 || !pkColumns.some((c) => (table.columns.find((col) => col.name === c)?.collation ?? null) !== null)) return;
    const state = this.#reconciler.state(table);
    const folders = pkColumns.map((c) => looseFolder(table.columns.find((col) => col.name === c)?.collation ?? null));
    const looseKey = (values: readonly (ColumnValue | undefined)[]): string => values.map((v, j) => folders[j]!(v)).join('\u0001');
    // The asked keys no row holds as they are, by their loose fold.
    const absent = new Map<string, number[]>();
    for (let i = 0; i < req.asked.length; i++) {
      if (state.row(req.asked[i]!) !== null) continue;
      const k = looseKey(req.keys[i]!);
      const list = absent.get(k);
      if (list === undefined) absent.set(k, [i]);
      else list.push(i);
    }
    if (absent.size === 0) return;
    for (const row of rows) {
      const pkValues = state.keyValues(row);
      const pk = state.keyOf(row);
      if (pkValues === null || pk === null) continue;
      const candidates = absent.get(looseKey(pkValues));
      if (candidates === undefined || candidates.length > MAX_COLLATION_CANDIDATES) continue;
      for (const i of candidates) {
        const same = await readRowsMatching(this.#dr, table, [...pkColumns, ...pkColumns], [[...pkValues, ...req.keys[i]!]], { forUpdate: this.#apply });
        if (same.length > 0) state.aliasKey(req.asked[i]!, pk);
      }
    }
  }

  /**
   * The DR's largest key of each table in `tables` with a single AUTO_INCREMENT primary key, every
   * read sent at once. Locked in apply: the application's inserts above it wait for the window, so
   * a remap's key stays free.
   */
  #readMaxKeys(tables: readonly string[]): Promise<MaxKeyRead[]> {
    const reads: Promise<MaxKeyRead>[] = [];
    for (const name of new Set(tables)) {
      const table = this.#catalog.lookup(name);
      const ai = table?.autoIncrement;
      if (table === undefined || ai === null || ai === undefined || table.primaryKey?.length !== 1 || table.primaryKey[0] !== ai.column) continue;
      const column = ai.column;
      reads.push(maxKey(this.#dr, table, column, { forUpdate: this.#apply }).then((max) => ({ name, table, column, max })));
    }
    return Promise.all(reads);
  }

  /** Remaps take ids above the DR's largest, its AUTO_INCREMENT counter, and every id the lost range inserts. */
  #raiseKeyFloors(reads: readonly MaxKeyRead[]): void {
    const r = this.#reconciler;
    for (const { name, table, column, max } of reads) {
      const start = this.#startFloors.get(name);
      if (start !== undefined) r.raiseKeyFloor(table, start);
      if (max !== null) r.raiseKeyFloor(table, max + 1n);
      // By name where the binlog logs names (its positions may not be the DR's), else by position.
      const lost = this.#scan.maxInserted.get(name);
      for (const lostMax of [lost?.get(table.columns.findIndex((c) => c.name === column)), lost?.get(column.toLowerCase())]) {
        if (lostMax !== undefined) r.raiseKeyFloor(table, lostMax + 1n);
      }
    }
  }

  /**
   * Writes, ledger, quarantine, key map and checkpoint of a decided window, sent back to back
   * (db/statement-pipeline.ts: the DR runs each while the next is built), then COMMIT once every
   * one of them succeeded; otherwise the first failure, for the caller to roll the window back.
   */
  async #commitWindow(window: readonly Transaction[], results: TransactionResult[], underGtid = false): Promise<void> {
    const pipe = new StatementPipeline(this.#dr);
    let built: { readonly error: unknown } | null = null;
    try {
      // Decided while the ledger is written: each ledger statement goes to the DR as soon as its rows
      // are decided, so the DR inserts the ledger (most of a window's bytes) while the client decides
      // the rest. The data writes follow, reduced over the whole window (sink/execute-writes.ts);
      // the ledger has no key the data statements touch, so the order between them is free.
      const decided = this.#decideAll(window, results);
      await recordLedger(pipe.session, this.#schema, { runId: this.#runId, sourceId: this.#sourceId }, decided, this.#maxPacket);
      await executeWrites(pipe.session, results.flatMap((r) => r.writes), { archive: { schema: this.#schema, runId: this.#runId, sourceId: this.#sourceId }, maxPacket: this.#maxPacket });
      await this.#recordState(results, pipe.session, { ledger: false });
    } catch (e) {
      built = { error: e };
    }
    // A statement's failure wins over the builder's: a builder refused after a failure reports that failure.
    const failed = (await pipe.settle()) ?? built;
    if (failed !== null) throw failed.error;
    // keepGtids: a transaction not on the DR (all quarantined) is not committed under its GTID, and one that is, is.
    const keep = this.#keep;
    if (keep !== null && results.length === 1 && commitsUnderGtid(results[0]!) !== underGtid) throw new GtidSwitch(!underGtid);
    this.#commitSent = true;
    await this.#dr.query('COMMIT');
    // MariaDB leaves the session under the source's domain and server id: the run's next writes are
    // its own. Before #afterCommit: a connection lost here is a COMMIT in doubt, settled by #reopenDr.
    if (underGtid && keep !== null) await this.#dr.query(gtidOffStatement(keep));
    this.#afterCommit();
  }

  /**
   * After a lost DR connection: reopens it (backoff, a bounded number of attempts in a row) and
   * reads the checkpoint to learn whether the window committed — true when the checkpoint ends
   * where the window ends, false when it is still where the window started. The read locks the
   * checkpoint row, so a COMMIT still in flight on the lost connection is waited for, not raced.
   */
  async #reopenDr(lost: EngineError, window: readonly Transaction[], results: readonly TransactionResult[] | null): Promise<boolean> {
    const policy = this.#drReconnectPolicy();
    const { attempts } = policy;
    const last = window[window.length - 1]!;
    const windowEnd = `${basename(last.file)}:${last.end}`;
    const before = this.#lastEnd !== null ? `${basename(this.#lastEnd.file)}:${this.#lastEnd.pos}` : this.#storedEnd;
    const inDoubt = this.#commitSent;
    let failure: EngineError = lost;
    this.#session.destroy();
    for (;;) {
      this.#drFailures++;
      if (this.#drFailures > attempts || isAborted(this.#o.signal)) {
        const doubt = inDoubt ? `; the window through ${windowEnd} may have committed (the connection was lost during its COMMIT): the checkpoint on the DR says which` : '';
        const why = reopenGaveUp(isAborted(this.#o.signal), attempts, failure);
        throw new SalvageError(
          isAborted(this.#o.signal) ? SalvageErrorCode.Aborted : SalvageErrorCode.Fault,
          `lost the connection to the DR: ${redact(lost.message)} [${lost.code}]; ${why}; the window in progress was rolled back by the DR${doubt}; ${this.#resumeHint()}`,
          { ...failure.details },
          { retryable: true, cause: failure },
        );
      }
      const delayMs = reconnectDelayMs(policy, this.#drFailures);
      this.#notifyReconnect('window', attempts, delayMs, failure);
      await sleep(delayMs, this.#o.signal);
      let session: SqlSession | null = null;
      try {
        session = await this.#openAgain();
        await this.#dr.query('START TRANSACTION');
        const stored = await readCheckpoint(this.#dr, this.#schema, this.#sourceId, { forUpdate: true });
        await this.#dr.query('ROLLBACK');
        this.#drReconnects++;
        const at = stored === undefined || stored.file === null || stored.pos === null ? null : `${stored.file}:${stored.pos}`;
        if (results !== null && at === windowEnd) return true;
        if (at === before) return false;
        throw new SalvageError(
          SalvageErrorCode.Fault,
          `after reconnecting, the checkpoint of "${this.#sourceId}" is at ${at ?? '(none)'}, neither where the window started (${before ?? '(none)'}) nor where it ends (${windowEnd}): is another apply of the same source running? stopped without writing; run apply again once it is alone`,
          {},
        );
      } catch (e) {
        if (e instanceof SalvageError || !(e instanceof EngineError)) {
          session?.destroy();
          throw e;
        }
        const network: boolean = isNetworkFailure(e);
        if (!network && !e.retryable) {
          session?.destroy();
          throw this.#fault(e);
        }
        // Still unreachable, or a lock on the checkpoint row timed out: try again after a longer wait.
        session?.destroy();
        failure = e;
      }
    }
  }

  /** A new DR connection in place of the lost one, with the session settings run() made. */
  async #openAgain(): Promise<SqlSession> {
    const session = watchDr(this.#o, await openSession(this.#o.target));
    this.#session = session;
    // The lost session's lock went with it: taken again, or another apply started meanwhile.
    if (this.#apply) await this.#lockSource();
    for (const sql of SESSION_SETTINGS) await this.#dr.query(sql);
    await this.#readMaxPacket();
    return session;
  }

  /** The run's reconnect policy for the DR (SalvageOptions.reconnect): attempts in a row, first and longest backoff. */
  #drReconnectPolicy(): { readonly attempts: number; readonly first: number; readonly most: number } {
    return drReconnectPolicy(this.#o);
  }

  /** Tells onReconnect that the DR connection is tried again after `delayMs`, having failed with `failure`. */
  #notifyReconnect(step: string, attempts: number, delayMs: number, failure: EngineError): void {
    const hint = step === 'window' ? this.#resumeHint() : this.#stepHint();
    notifyReconnect(this.#o, { target: this.#o.target.redacted, step, attempt: this.#drFailures, attempts, delayMs, reason: redact(failure.message), code: failure.code }, hint);
  }

  /**
   * Runs `step`, a part of the run outside the windows that talks to the DR (start-up, the end's
   * count). A connection lost while it runs is reopened as a window's is — same backoff, same
   * attempts in a row, the lock and the session settings taken again — and the step run again
   * from its start: each is a read, or a write that a second run leaves as the first did
   * (state-schema DDL, the run row: #startRun). `lost` widens what counts as a lost connection
   * (the live DR history's dump).
   */
  async #onDr<T>(step: DrStep, fn: () => Promise<T>, lost: (e: unknown) => boolean = () => false): Promise<T> {
    for (;;) {
      try {
        const result = await fn();
        this.#drFailures = 0;
        return result;
      } catch (raw) {
        const e = mapDbError(raw);
        if (!(e instanceof EngineError) || !(isNetworkFailure(e) || lost(e))) throw raw;
        await this.#reopenForStep(e, step);
      }
    }
  }

  /**
   * After a connection lost in `step` (#onDr): reopens it, after a backoff, until it opens or the
   * attempts in a row run out; then SALVAGE_FAULT (SALVAGE_ABORTED on request) naming the step and
   * where the same command resumes. Outside a window nothing is in doubt: no window was open.
   */
  async #reopenForStep(lost: EngineError, step: DrStep): Promise<void> {
    const policy = this.#drReconnectPolicy();
    const { attempts } = policy;
    let failure: EngineError = lost;
    this.#session.destroy();
    for (;;) {
      this.#drFailures++;
      const aborted = isAborted(this.#o.signal);
      if (this.#drFailures > attempts || aborted) {
        const why = reopenGaveUp(aborted, attempts, failure);
        throw new SalvageError(
          aborted ? SalvageErrorCode.Aborted : SalvageErrorCode.Fault,
          `lost the connection to the DR while ${DR_STEPS[step]}: ${redact(lost.message)} [${lost.code}]; ${why}; ${this.#stepHint()}`,
          { ...failure.details, step },
          { retryable: true, cause: failure },
        );
      }
      const delayMs = reconnectDelayMs(policy, this.#drFailures);
      this.#notifyReconnect(step, attempts, delayMs, failure);
      await sleep(delayMs, this.#o.signal);
      if (isAborted(this.#o.signal)) continue;
      try {
        await this.#openAgain();
        this.#drReconnects++;
        return;
      } catch (e) {
        this.#session.destroy();
        // The lock held by another apply (SALVAGE_SOURCE_BUSY), a refused account: no reconnect cures those.
        const m = mapDbError(e);
        if (!(m instanceof EngineError) || !isNetworkFailure(m)) throw m;
        failure = m;
      }
    }
  }

  /** Where the same command resumes after a stop outside a window (#reopenForStep). */
  #stepHint(): string {
    if (!this.#apply) return 'plan wrote nothing; run the same plan again';
    // Before the checkpoint is read, whether there is one is not known.
    if (!this.#checkpointRead && this.#lastEnd === null) return 'nothing was committed by this run; run the same apply again';
    return this.#resumeHint();
  }

  /**
   * A row too big for the DR's max_allowed_packet, named as the ledger names it (its key in
   * canonical JSON, the change that writes it: a data statement's row is found among the window's
   * writes by table and key), with what its whole transaction needs: each of its rows' statements
   * measured alone, so a DBA who raises the limit once is not stopped again by the row's next
   * statement (a BLOB is larger as a hex literal than as the ledger's base64, an update's ledger
   * row holds two images). The transaction's result is decided by then: its ledger rows follow it.
   */
  async #placeOversize(e: PacketTooLargeError, results: readonly TransactionResult[]): Promise<PacketTooLargeError> {
    const changeOf = (tx: Transaction): string => (tx.gtid !== null ? gtidText(tx.gtid) : changeAt(null, tx.file, BigInt(tx.pos)));
    let found: TransactionResult | undefined;
    let key: string | null = null;
    if (e.row.change !== null) found = results.find((r) => changeOf(r.tx) === e.row.change);
    else if (e.keyValues !== null) {
      const wanted = rowKey(e.keyValues as ColumnValue[]);
      for (const r of results) {
        for (const w of r.writes) {
          const table = w.table;
          if (`${table.schema}.${table.table}` !== e.row.table || table.primaryKey === null) continue;
          const k = w.kind === 'insert' ? table.primaryKey.map((c) => w.row[table.columns.findIndex((col) => col.name === c)] as ColumnValue) : w.key;
          if (rowKey(k) !== wanted) continue;
          found = r;
          key = stringifyCanonical(canonicalKeyValues(k, table) ?? []);
          break;
        }
        if (found !== undefined) break;
      }
    }
    if (found === undefined) return e;
    let most = 0;
    const measure: SqlSession = {
      query: (sql) => {
        most = Math.max(most, Buffer.byteLength(sql, 'utf8'));
        return Promise.resolve({ rows: [], affectedRows: 0, insertId: 0 });
      },
      end: () => Promise.resolve(),
      destroy: () => undefined,
    };
    const run = { runId: this.#runId, sourceId: this.#sourceId };
    for (const d of found.decisions) {
      await recordLedger(measure, this.#schema, run, [ledgerRow(d, 0, this.#o.ledgerImages)]);
      if (d.outcome === 'quarantined') await recordQuarantine(measure, this.#schema, [quarantineRow(d, this.#runId, this.#sourceId, d.holds ?? [], this.#statements.get(d) ?? null)]);
    }
    await executeWrites(measure, found.writes, { maxRows: 1, verifyRows: false, archive: { schema: this.#schema, runId: this.#runId, sourceId: this.#sourceId } });
    return e.placed(key, changeOf(found.tx), most);
  }

  /** The session's max_allowed_packet (the global value when it connected). */
  async #readMaxPacket(): Promise<void> {
    const { rows } = await this.#dr.query('SELECT @@max_allowed_packet AS p');
    const p = Number(rows[0]?.['p']);
    this.#maxPacket = Number.isFinite(p) && p > 0 ? p : undefined;
  }

  /**
   * A write after the last window (the run's status, its summary). A failure here does not fail the
   * run. After a run that ended (`reopen`), a lost connection is reopened as in a window (the same
   * backoff and attempts in a row) and the write made again, or `salvage report` would show the
   * finished run as running and without its summary; after a failed or stopped run it is not (the
   * DR may be what failed, and waiting on it would only delay the exit).
   */
  async #finalWrite(write: () => Promise<void>, reopen: boolean): Promise<void> {
    if (!reopen) {
      await write().catch(() => undefined);
      return;
    }
    try {
      await this.#onDr('run-row', write);
    } catch {
      // Given up (or another failure): the next apply marks a row left running killed.
    }
  }

  /** What follows a window's COMMIT in memory: its floors count as persisted, and its row states are let go. */
  #afterCommit(): void {
    for (const [table, floor] of this.#reconciler.keyFloors()) {
      const name = `${table.schema}.${table.table}`;
      if ((this.#persistedFloors.get(name) ?? 0n) < floor) this.#persistedFloors.set(name, floor);
    }
    this.#reconciler.clearStates();
  }

  /** Decides the window's transactions in order, into `results`, yielding each decision's ledger row as it is made. */
  *#decideAll(window: readonly Transaction[], results: TransactionResult[]): Generator<LedgerRow> {
    let seq = this.#seq;
    for (let i = 0; i < window.length; i++) {
      const result = this.#decideOne(window[i]!, i, window.length);
      results.push(result);
      for (const d of result.decisions) yield ledgerRow(d, ++seq, this.#o.ledgerImages);
    }
  }

  /**
   * Looks up the statement text of each quarantined row change of `results` (the ANNOTATE_ROWS
   * the windows were read without, read back from the file: source/statement-texts.ts), for its
   * quarantine entry and ledger line. Only transactions that logged annotations and had a change
   * quarantined cost anything. A live source's dump carries no ANNOTATE_ROWS (#liveBatches), so
   * its transactions are listed again by the server (source/live-statement-texts.ts).
   */
  async #readStatements(results: readonly TransactionResult[]): Promise<void> {
    const live = this.#live;
    let wanted: ChangeDecision[] | null = null;
    for (const r of results) {
      // A live MariaDB transaction has no marks either way: the server is asked.
      if (r.tx.statementMarks.length === 0 && live === null) continue;
      for (const d of r.decisions) {
        // A statement-based change (change null) carries its own SQL; index names a row change only when it is one.
        if (d.outcome !== 'quarantined' || d.change === null || r.tx.changes[d.index] !== d.change || this.#statements.has(d)) continue;
        (wanted ??= []).push(d);
      }
    }
    if (wanted === null) return;
    const texts = await readStatementTexts(wanted, { readFiles: live === null });
    if (live !== null) {
      // Marked ones (a MySQL source's ROWS_QUERY, decoded in the stream) have their text already.
      const unmarked = wanted.filter((d) => d.tx.statementMarks.length === 0);
      if (unmarked.length > 0) {
        let listed: (string | null)[] = [];
        try {
          // Bounded: in apply this runs inside the window's DR transaction, which must not wait on a
          // source gone silent (a dropped network answers nothing); the session is destroyed at the limit.
          const control = await openSession(live.spec.target, { connectTimeoutMs: STATEMENT_LOOKUP_MS });
          const timer = setTimeout(() => control.destroy(), STATEMENT_LOOKUP_MS);
          try {
            listed = await readLiveStatementTexts(control, unmarked);
          } finally {
            clearTimeout(timer);
            await control.end().catch(() => undefined);
          }
        } catch {
          // A source that cannot be reached for this only costs the entries their statements: the run goes on.
        }
        let k = 0;
        wanted.forEach((d, i) => {
          if (d.tx.statementMarks.length === 0) texts[i] = listed[k++] ?? null;
        });
      }
    }
    // A row statement's text may hold a PASSWORD('…') argument: redacted before any output has it,
    // once per text (the changes of one statement share it, and a text with a `password` column is scanned whole).
    let said: string | null = null;
    let shown = '';
    wanted.forEach((d, i) => {
      const text = texts[i];
      if (text === null || text === undefined) return;
      if (text !== said) {
        said = text;
        shown = redactSecrets(text);
      }
      this.#statements.set(d, shown);
    });
  }

  /** The state a committed window leaves: ledger (unless already written), quarantine, key map, key floors, checkpoint. */
  async #recordState(results: readonly TransactionResult[], session: SqlSession = this.#dr, options: { readonly ledger: boolean } = { ledger: true }): Promise<void> {
    const decisions = results.flatMap((r) => r.decisions);
    if (options.ledger) {
      let seq = this.#seq;
      await recordLedger(
        session,
        this.#schema,
        { runId: this.#runId, sourceId: this.#sourceId },
        decisions.map((d) => ledgerRow(d, ++seq, this.#o.ledgerImages)),
        this.#maxPacket,
      );
    }
    const q = decisions.filter((d) => d.outcome === 'quarantined');
    if (q.length > 0) {
      await this.#readStatements(results);
      await recordQuarantine(session, this.#schema, q.map((d) => quarantineRow(d, this.#runId, this.#sourceId, d.holds ?? [], this.#statements.get(d) ?? null)), this.#maxPacket);
    }
    const remaps = results.flatMap((r) => r.remaps.map((m) => ({ ...m, tx: r.tx })));
    if (remaps.length > 0) {
      await recordKeyMap(
        session,
        this.#schema,
        remaps.map((m) => ({ table: m.table, oldKey: keyParts(m.oldKey), newKey: keyParts(m.newKey), runId: this.#runId, gtid: m.tx.gtid === null ? null : gtidText(m.tx.gtid), isLink: m.linked === true })),
      );
    }
    const last = results[results.length - 1]!.tx;
    const gtids = this.#appliedGtids.clone();
    // A skipped damaged transaction stays out of the applied set: a repaired copy read under another
    // source id applies it (its position is passed, so this source id does not read it again).
    for (const r of results) if (r.tx.gtid !== null && !isDamaged(r.tx)) gtids.add(r.tx.gtid);
    const raised = new Map<string, bigint>();
    for (const [table, floor] of this.#reconciler.keyFloors()) {
      const name = `${table.schema}.${table.table}`;
      const was = this.#persistedFloors.get(name);
      if (was === undefined || floor > was) raised.set(name, floor);
    }
    if (raised.size > 0) await writeKeyFloors(session, this.#schema, this.#runId, raised);
    await writeCheckpoint(session, this.#schema, { sourceId: this.#sourceId, gtidSet: gtids.isEmpty ? null : gtids.toString(), file: basename(last.file), pos: BigInt(last.end), runId: this.#runId });
    this.#appliedGtids = gtids;
  }

  /** A transaction the DR rejects on its own: quarantined whole with the server's message, and committed as such. */
  async #quarantineRejected(tx: Transaction, e: EngineError): Promise<void> {
    const decisions: ChangeDecision[] = tx.changes.map((change, index) => {
      const table = this.#catalog.get(change.table.schema, change.table.table);
      const state = table === undefined ? null : this.#reconciler.state(table);
      const img = change.op === 'insert' ? change.after : change.before;
      const sourceKey = state === null || img === null || !state.hasPrimaryKey ? null : state.keyValues(img);
      const pk = sourceKey === null ? null : state!.keyOf(img!);
      return {
        tx,
        index,
        change,
        table: `${change.table.schema}.${change.table.table}`,
        op: change.op,
        sourceKey,
        class: 'dr-rejected',
        outcome: 'quarantined',
        newKey: null,
        reason: `the DR rejected the transaction: ${redact(e.message).slice(0, 500)}`,
        drRow: null,
        conflicts: [],
        withoutHistory: this.#history === null,
        holds: pk === null ? [] : [[`${change.table.schema}.${change.table.table}`, pk] as const],
      };
    });
    for (const d of decisions) for (const [t, k] of d.holds ?? []) this.#reconciler.quarantine.add(t, k, changeLabel(tx, d.index));
    this.#reconciler.holdParentsOf(tx);
    const result: TransactionResult = { tx, decisions, writes: [], remaps: [] };
    // Its own DR transaction, reconnected after a lost connection as a window is: the checkpoint
    // then says whether the quarantine committed (kept) or not (written again).
    for (;;) {
      this.#commitSent = false;
      try {
        await this.#dr.query('START TRANSACTION');
        await this.#recordState([result]);
        this.#commitSent = true;
        await this.#dr.query('COMMIT');
        break;
      } catch (raw) {
        const err = mapDbError(raw);
        await this.#dr.query('ROLLBACK').catch(() => undefined);
        if (isNetworkFailure(err)) {
          if (await this.#reopenDr(err, [tx], [result])) break;
          continue;
        }
        throw err instanceof EngineError ? this.#fault(err) : err;
      }
    }
    this.#drFailures = 0;
    this.#reconciler.clearStates();
    this.#account([result]);
  }

  #account(results: readonly TransactionResult[]): void {
    this.#windows++;
    for (const r of results) {
      this.#done.tx++;
      this.#done.rows += r.tx.changes.length;
      for (const d of r.decisions) {
        this.#seq++;
        this.#outcomes[d.outcome]++;
        const byClass = (this.#counts[d.table] ??= {});
        const byOutcome = (byClass[d.class] ??= {});
        byOutcome[d.outcome] = (byOutcome[d.outcome] ?? 0) + 1;
        if (this.#o.onLedger) {
          const table = d.change === null ? undefined : this.#catalog.get(d.change.table.schema, d.change.table.table);
          const line = ledgerLine(d, table === undefined ? null : keyPositions(table), this.#statements.get(d) ?? null);
          const onLedger = this.#o.onLedger;
          this.#callback('onLedger', () => onLedger(line));
        }
      }
      for (const d of r.decisions) if (d.outcome === 'quarantined') this.#quarantinedPerTable.set(d.table, (this.#quarantinedPerTable.get(d.table) ?? 0) + 1);
      for (const m of r.remaps) this.#remaps.push({ table: m.table, oldKey: m.oldKey.map(plain), newKey: m.newKey.map(plain), at: changeLabel(r.tx, 0).replace(/#0$/, ''), ...(m.linked === true ? { linked: true as const } : {}) });
      this.#lastEnd = { file: r.tx.file, pos: r.tx.end };
      if (this.#followedGtids !== null && r.tx.gtid !== null && commitsUnderGtid(r)) this.#followedGtids.committed(r.tx.gtid);
      // Only a follow reports what its committed windows hold; a run to the end reports the lost range read.
      if (this.#follow) this.#committedLost.add(r.tx);
      this.#firstTx ??= r.tx;
      this.#lastTx = r.tx;
    }
    this.#emitProgress();
  }

  /** The figures so far to `onProgress`. */
  #emitProgress(): void {
    this.#progressAt = performance.now();
    const follow = this.#follow;
    const onProgress = this.#o.onProgress;
    if (onProgress === undefined) return;
    const progress: SalvageProgress = {
      transactionsDone: this.#done.tx,
      transactionsTotal: follow ? this.#done.tx : this.#scan.transactions,
      rowChangesDone: this.#done.rows,
      rowChangesTotal: follow ? this.#done.rows : this.#scan.rowChanges,
      outcomes: { ...this.#outcomes },
      // Before its first window, a run stands at the checkpoint it resumes from.
      position: this.#lastEnd === null ? (this.#storedEnd ?? '') : `${basename(this.#lastEnd.file)}:${this.#lastEnd.pos}`,
      elapsedMs: performance.now() - this.#t0,
      following: follow,
    };
    this.#callback('onProgress', () => onProgress(progress));
  }

  /**
   * Runs a caller's callback. What it throws is the caller's failure, not the DR's: it must never
   * reach the window's retry and reconnect handling, and it reaches the caller typed, with the
   * original as `cause` and where the next apply resumes.
   */
  #callback(name: 'onLedger' | 'onProgress' | 'onSql', fn: () => void): void {
    try {
      fn();
    } catch (e) {
      // Callbacks run once a window committed: the checkpoint on the DR is past everything reported.
      const done = this.#apply ? '; the window it reported on had committed: run the same apply again to resume after it' : '; plan wrote nothing';
      throw new SalvageError(SalvageErrorCode.CallbackThrew, `the ${name} callback threw: ${e instanceof Error ? e.message : String(e)}${done}`, { option: name }, { cause: e });
    }
  }

  /**
   * Warns when the last apply over this source stopped before its end under other rules: resumed
   * with another configuration, the incident's changes are decided by two rule sets.
   */
  async #warnOnChangedRules(configHash: string): Promise<void> {
    const last = (await readRuns(this.#dr, this.#schema)).find((r) => r.sourceId === this.#sourceId && runOptions(r.options)['mode'] === 'apply');
    if (last === undefined || last.status === 'completed') return;
    const before = runOptions(last.options)['configHash'];
    if (typeof before !== 'string' || before === configHash) return;
    this.#warnings.push(
      `run ${last.id} over this source stopped before its end (${last.status === 'running' ? 'killed' : last.status}) under another configuration: the changes it decided followed those rules, the rest now follow these; run with the same --config to decide them all alike`,
    );
  }

  /**
   * Where a live read starts when the checkpoint names a file and no start was given: that file
   * from its beginning (transactions in it that the checkpoint holds are passed by the filter, as
   * with files), or the server's oldest binlog when GTIDs the rule calls lost and the checkpoint
   * lacks were written before that file (a run before this one started later than this one).
   * Undefined: leave it to liveStart (a start given, no checkpoint, or a checkpoint file purged).
   */
  async #liveStartAfterCheckpoint(live: LiveInput, rule: StartRule, checkpoint: LostCheckpoint | undefined): Promise<{ readonly file?: string; readonly position?: number } | undefined> {
    const given = live.spec.start;
    const file = checkpoint?.position?.file;
    if (file === undefined || given?.file !== undefined || given?.position !== undefined) return undefined;
    const control = await openSession(live.spec.target);
    try {
      const before = await binlogOpening(control, basename(file));
      if (before === null) return undefined;
      return lostBeforeInput(rule, { checkpoint }, before).length === 0 ? { file: basename(file), position: 4 } : {};
    } finally {
      await control.end();
    }
  }

  /**
   * Refuses a live read that would start after lost transactions, as a file input that lacks its
   * leading files is refused: the start file's opening GTID state holds GTIDs the rule calls lost
   * and no run applied (the server purged them, or a --start-file / --start-gtid skips them), or a
   * --from lies before the start. A start this run derived from its checkpoint was chosen so that
   * none are (#liveStartAfterCheckpoint); a checkpoint file the server no longer has is refused by
   * the read itself, naming what it has.
   */
  async #refuseLiveGap(live: LiveInput, rule: StartRule, checkpoint: LostCheckpoint | undefined): Promise<void> {
    const oldest = live.oldest;
    const file = this.#liveStart.file ?? oldest?.file;
    if (file === undefined) return;
    const position = this.#liveStart.position ?? 4;
    const purged = file === oldest?.file;
    const given = live.gtidStart !== null ? '--start-gtid' : live.spec.start?.file !== undefined ? '--start-file' : live.spec.start?.position !== undefined ? '--start-position' : null;
    if (!purged && given === null) return;
    let gtids: readonly Gtid[] | null = purged ? oldest!.gtids : null;
    if (gtids === null) {
      const control = await openSession(live.spec.target);
      try {
        gtids = await binlogOpening(control, file);
      } finally {
        await control.end();
      }
    }
    // A file the server cannot show: the read names what it has (LIVE_START_PURGED).
    if (gtids !== null) refuseLeadingGap(rule, { checkpoint }, { file, offset: 4, gtids }, { label: live.label, purged, option: given });
    if (rule.kind === 'from-position' && isAfter({ file, pos: position }, { file: basename(rule.file), pos: rule.pos })) {
      throw new InputError(
        InputErrorCode.FromOutside,
        given === null
          ? `--from ${basename(rule.file)}:${rule.pos} is before ${live.label}'s oldest binlog, ${file}: the transactions from there to ${file} were purged from the server and cannot be read. Give the purged files' copies with --binlog, or a start the server still has`
          : `--from ${basename(rule.file)}:${rule.pos} is before where ${given} starts the read, ${file}:${position}: the transactions between are lost and would not be read. Start at or before ${basename(rule.file)}:${rule.pos}, or leave out ${given}`,
        { file, offset: position, option: '--from' },
      );
    }
  }

  /** The configuration's escalation limit: stop the run, or suspend the tables that passed it. */
  #escalate(): void {
    const e = this.#o.config?.escalation;
    if (e === undefined || e.maxQuarantined === null) return;
    if (e.action === 'stop') {
      if (this.#outcomes.quarantined > e.maxQuarantined) {
        throw new SalvageError(
          SalvageErrorCode.Escalation,
          `${this.#outcomes.quarantined} changes quarantined, more than escalation.maxQuarantined (${e.maxQuarantined}): stopped; review them (salvage quarantine list) or raise the limit; ${this.#resumeHint()}`,
          { option: 'escalation.maxQuarantined' },
        );
      }
      return;
    }
    for (const [table, n] of this.#quarantinedPerTable) if (n > e.maxQuarantined) this.#suspended.add(table);
  }

  /**
   * Takes the source's lock on the DR (state-store sourceLockName), or refuses: another apply of the
   * source runs. After a reconnect the holder may be this run's own lost session, which the server
   * has not yet noticed is gone (a connection cut between client and server): it is killed, its
   * open window rolled back as the lost connection's would be, and the lock waited for.
   */
  async #lockSource(): Promise<void> {
    // Learnt before GET_LOCK is sent: a connection lost with its answer on the way may hold the
    // lock, and the next session must know that holder as this run's own.
    const me = await sessionConnectionId(this.#dr);
    this.#lockConnections.add(me);
    let lock = await takeSourceLock(this.#dr, this.#schema, this.#sourceId);
    if (!lock.taken && lock.holder !== me && this.#lockConnections.has(lock.holder)) {
      await this.#dr.query(`KILL CONNECTION ${lock.holder}`).catch(() => undefined);
      lock = await takeSourceLock(this.#dr, this.#schema, this.#sourceId, LOCK_AFTER_KILL_SECONDS);
    }
    if (lock.taken) return;
    const holder = lock.holder;
    const who = holder > 0 ? ` (DR connection ${holder})` : '';
    throw new SalvageError(
      SalvageErrorCode.SourceBusy,
      `another apply of source "${this.#sourceId}" into state schema ${this.#schema} is running on this DR${who}: two at once would apply its changes twice; wait for it to end, or stop it${holder > 0 ? ` (KILL ${holder}; the DR rolls its window back)` : ''}, then run again — nothing was written`,
      { option: '--source-id' },
    );
  }

  #resumeHint(): string {
    if (!this.#apply) return 'plan wrote nothing';
    if (this.#lastEnd === null) {
      return this.#storedEnd === null ? 'nothing was committed by this run; run apply again to start over' : `nothing was committed by this run; the checkpoint stays at ${this.#storedEnd}; run the same apply again to resume from there`;
    }
    return `committed through ${basename(this.#lastEnd.file)}:${this.#lastEnd.pos}; run the same apply again to resume from there`;
  }

  /** A fault inside a window of `windowSize` source transactions: what happened, what to do about it, where the run resumes. */
  #fault(e: EngineError, windowSize = 1): SalvageError {
    const needed = e.details['needed'];
    const remedy = faultRemedy(e.code, windowSize, typeof needed === 'number' ? needed : null);
    return new SalvageError(
      SalvageErrorCode.Fault,
      `${redact(e.message)} [${e.code}]; the window in progress was rolled back; ${remedy === null ? '' : `${remedy}; `}${this.#resumeHint()}`,
      { ...e.details },
      { retryable: e.retryable, cause: e },
    );
  }

  #report(dr: DrIdentity, filter: LostFilter, stored: StoredCheckpoint | undefined, scanMs: number, reconcileMs: number, totalMs: number, pendingQuarantine: number): SalvageReport {
    const s = this.#scan;
    const skippedDdl = (this.#o.ddl ?? 'stop') === 'skip' ? s.ddl.map((d) => ({ at: d.at, sql: d.sql })) : [];
    return {
      mode: this.#o.mode,
      target: serverLabel(this.#o.target),
      dr: { flavor: dr.flavor, version: dr.version, serverId: dr.serverId },
      sourceId: this.#sourceId,
      runId: this.#apply ? this.#runId : null,
      start: {
        // Following, what was read after the last committed window is not counted as lost and done (lost-transactions.ts describe).
        rule: this.#follow ? filter.describe(this.#committedLost) : filter.describe(),
        lostSet: (this.#follow ? this.#committedLost : filter.lostSet).toString(),
        checks: filter.checks(),
        checkpoint: stored === undefined ? null : `${stored.gtidSet ?? ''}${stored.file !== null ? ` ${stored.file}:${stored.pos}` : ''}`.trim(),
      },
      // Following, the lost range is what the run met (there was no pre-scan).
      lost: this.#follow
        ? { transactions: this.#done.tx, rowChanges: this.#done.rows, first: point(this.#firstTx), last: point(this.#lastTx) }
        : { transactions: s.transactions, rowChanges: s.rowChanges, first: point(s.first), last: point(s.last) },
      counts: this.#counts,
      outcomes: { ...this.#outcomes },
      remaps: this.#remaps,
      quarantined: this.#outcomes.quarantined,
      pendingQuarantine,
      warnings: [...this.#warnings, ...[...this.#reconciler.unloggedColumns()].map(([table, columns]) => partialImageWarning(table, columns))],
      // Damaged ones are listed in `damaged`: their bytes, not a missing commit, are what is wrong.
      incomplete: s.incomplete.filter((t) => t.reason !== 'damaged').map((t) => ({ gtid: t.gtid === null ? null : gtidText(t.gtid), file: basename(t.file), pos: t.pos, reason: t.reason })),
      skippedDdl,
      windows: this.#windows,
      retries: this.#retries,
      timings: { scanMs: Math.round(scanMs), reconcileMs: Math.round(reconcileMs), totalMs: Math.round(totalMs), rowsPerSecond: reconcileMs > 0 ? Math.round(this.#done.rows / (reconcileMs / 1000)) : 0 },
      withoutHistory: this.#history === null,
      keepGtids: this.#keep !== null,
      history: this.#history === null ? null : { failover: this.#history.failover, transactions: this.#history.transactions, tables: [...this.#history.tables], complete: this.#history.complete },
      source:
        this.#live === null
          ? { kind: 'files', files: this.#files.map((f) => f.path) }
          : { kind: 'live', server: this.#live.label, start: this.#startText(), follow: this.#follow, reconnects: this.#reconnects },
      committedThrough: this.#committedThrough(),
      stoppedOnRequest: this.#stoppedOnRequest,
      ...(this.#stopAt === null ? {} : { stoppedBefore: this.#stopAt }),
      ...(this.#damaged.length > 0 ? { damaged: this.#damaged } : {}),
      drReconnects: this.#drReconnects,
    };
  }

  /** Where the live read started, for the report and the runs row. */
  #startText(): string {
    const s = this.#liveStart;
    if (s.file === undefined) return s.position === undefined ? '(the first binlog the server has)' : `(the first binlog the server has):${s.position}`;
    return `${s.file}:${s.position ?? 4}`;
  }
}

/**
 * Where a live read starts: the position given, else this source's checkpoint (the end of the last
 * window it committed, so earlier files — perhaps purged — are not asked for), else the server's first binlog.
 */
function liveStart(spec: LiveSalvageSource, stored: StoredCheckpoint | undefined): { readonly file?: string; readonly position?: number } {
  const given = spec.start;
  if (given !== undefined && (given.file !== undefined || given.position !== undefined)) return given;
  if (stored !== undefined && stored.file !== null && stored.pos !== null) return { file: basename(stored.file), position: Number(stored.pos) };
  return {};
}

/**
 * Refuses input that begins after lost transactions: the first file's opening GTID state holds
 * GTIDs the start rule calls lost and no run applied, so they are in earlier files not given. Run
 * over these files, the lost range would start late, and the checkpoint would then mark later
 * transactions applied while the earlier ones were never read.
 */
function refuseLeadingGap(rule: StartRule, options: LostFilterOptions, opening: InputOpening, live: { readonly label: string; readonly purged: boolean; readonly option: string | null } | null = null): void {
  const missing = lostBeforeInput(rule, options, opening.gtids);
  if (missing.length === 0) return;
  const list = missing.slice(0, 5).map(gtidText).join(', ') + (missing.length > 5 ? ` and ${missing.length - 5} more` : '');
  throw new InputError(
    InputErrorCode.LeadingGap,
    live === null
      ? `${basename(opening.file)} opens after ${list} (its GTID list), which the DR never received and no run applied: lost transactions are in binlog files before ${basename(opening.file)}, which were not given. Give the earlier files too (the .index file lists them all); if those transactions reached the DR some other way, say where the lost range starts with --from-gtid`
      : live.purged
        ? `${live.label}'s oldest binlog, ${opening.file}, opens after ${list} (its GTID list), which the DR never received and no run applied: lost transactions were in binlogs the server purged. Give copies of them with --binlog; if those transactions reached the DR some other way, say where the lost range starts with --from-gtid`
        : `${live.option ?? 'the start'} starts the read in ${live.label}'s binlog ${opening.file}, which opens after ${list} (its GTID list), which the DR never received and no run applied: the lost transactions before it would not be read. Start at an earlier binlog (or leave out ${live.option ?? 'the start'}); if those transactions reached the DR some other way, say where the lost range starts with --from-gtid`,
    { file: opening.file, offset: opening.offset, gtid: gtidText(missing[0]!) },
  );
}

/**
 * Refuses `--from FILE:POS` naming a file the input does not reach: before the first file given,
 * what lies between is lost and unread; after the last, nothing is read at all (a typo).
 */
function refuseFromOutsideInput(rule: StartRule, files: readonly BinlogFile[]): void {
  if (rule.kind !== 'from-position' || files.length === 0) return;
  const first = files[0]!.path;
  const last = files[files.length - 1]!.path;
  const at = `${basename(rule.file)}:${rule.pos}`;
  if (compareBinlogPositions({ file: rule.file, pos: 0 }, { file: first, pos: 0 }) < 0) {
    throw new InputError(InputErrorCode.FromOutside, `--from ${at} is before the first file given, ${basename(first)}: the transactions from there to ${basename(first)} are lost but not in the input. Give the files from ${basename(rule.file)} on (the .index file lists them)`, { file: first, option: '--from' });
  }
  if (compareBinlogPositions({ file: rule.file, pos: 0 }, { file: last, pos: 0 }) > 0) {
    throw new InputError(InputErrorCode.FromOutside, `--from ${at} is after the last file given, ${basename(last)}: nothing of the input would be read. Check the file name`, { file: last, option: '--from' });
  }
  const named = files.find((f) => basename(f.path) === basename(rule.file));
  if (named !== undefined && rule.pos > named.size) {
    throw new InputError(InputErrorCode.FromOutside, `--from ${at} is past the end of ${basename(named.path)}, which is ${named.size} bytes long: nothing of it would be read. Check the position (mysqlbinlog and salvage inspect print each transaction's)`, { file: named.path, offset: rule.pos, option: '--from' });
  }
}

/** A digest of the rules a run decides by (the normalised configuration and the transaction mode), kept in runs.options. */
function configFingerprint(config: NormalisedConfig | undefined, keepWhole: boolean | undefined): string {
  const text = JSON.stringify({ config: config ?? null, keepWhole: keepWhole ?? null }, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : typeof v === 'function' ? `fn:${v.name}` : v));
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}


function emptyScan(): LostRangeScan {
  return { tables: new Map(), shapes: new Map(), maxInserted: new Map(), ddl: [], transactions: 0, rowChanges: 0, bytesTotal: 0, incomplete: [], tails: [], first: null, last: null, read: 0, gtidless: null, lowestByDomain: new Map() };
}

const IDLE: unique symbol = Symbol('idle');

/** `read`, or IDLE once `ms` pass first (the read stays in flight, for the caller to await later). */
function withDeadline<T>(read: Promise<T>, ms: number): Promise<T | typeof IDLE> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(IDLE), Math.max(0, ms));
    read.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

function point(tx: Transaction | null): TransactionPoint | null {
  if (tx === null) return null;
  return { gtid: tx.gtid === null ? null : gtidText(tx.gtid), file: basename(tx.file), pos: tx.pos, timestamp: new Date(tx.timestamp * 1000).toISOString() };
}

function toLostCheckpoint(stored: StoredCheckpoint | undefined, gtidSets: readonly string[]): LostCheckpoint | undefined {
  if (stored === undefined && gtidSets.length === 0) return undefined;
  const gtids = GtidSet.parse([stored?.gtidSet ?? '', ...gtidSets].filter((g) => g !== '').join(','));
  return {
    ...(gtids.isEmpty ? {} : { gtids }),
    ...(stored !== undefined && stored.file !== null && stored.pos !== null ? { position: { file: stored.file, pos: Number(stored.pos) } } : {}),
  };
}

function keyPositions(table: TableSchema): readonly number[] | null {
  return table.primaryKey === null ? null : table.primaryKey.map((c) => table.columns.findIndex((col) => col.name === c));
}

function keyParts(values: readonly ColumnValue[]): KeyPart[] {
  return values.map((v) => (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' || v === null || Buffer.isBuffer(v) ? v : String(v)));
}

function plain(v: ColumnValue): unknown {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v.toString();
  if (Buffer.isBuffer(v)) return v.toString('base64');
  return v;
}

/** A key_map key (canonical JSON, state-store.ts) back in the decoder's types, by the table's key columns. */
function fromCanonicalKey(text: string, table: TableSchema): ColumnValue[] {
  const parts = JSON.parse(text) as (string | number | boolean | null)[];
  return parts.map((p, i) => {
    const col = table.columns.find((c) => c.name === table.primaryKey?.[i]);
    const integer = col !== undefined && /int$/.test(col.dataType);
    if (integer && typeof p === 'string') return BigInt(p);
    if (col !== undefined && col.collation === null && typeof p === 'string' && !integer && /binary|blob/.test(col.dataType)) return Buffer.from(p, 'base64');
    if (typeof p === 'boolean') return p ? 1 : 0;
    return p;
  });
}

