/**
 * `plan` and `apply`: the composition root of the reconcile engine (DESIGN.md "Data flow" and
 * "The streaming hot path"). Reads the binlogs, keeps the transactions the DR never received,
 * and works through them in windows: collect the window's keys → one batched (locking, in apply)
 * read per table and key → decide every change in source order against the overlay → write with
 * multi-row statements → ledger, quarantine, key map and checkpoint → commit. The next window is
 * decoded while this one waits on the DR.
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
 */
import { basename } from 'node:path';
import type { ColumnValue } from '../binlog/column.js';
import { gtidText, type Transaction } from '../binlog/transaction.js';
import { redact, type ConnectionTarget } from '../db/connection-url.js';
import { isDataRejection } from '../db/db-errors.js';
import { maxKey, readDrIdentity, schemaExists, type DrIdentity } from '../db/dr-state.js';
import { introspectSchemas } from '../db/introspect.js';
import { readRowsMatching } from '../db/row-reader.js';
import { createRecordingSession } from '../db/sql-recorder.js';
import { openSession, type SqlSession } from '../db/sql-session.js';
import { DEFAULT_STATE_SCHEMA, ensureStateSchema } from '../db/state-schema.js';
import {
  checkpointGtidSets,
  finishRun,
  loadKeyMap,
  pendingQuarantineRows,
  readKeyFloors,
  writeKeyFloors,
  readCheckpoint,
  recordKeyMap,
  recordLedger,
  recordQuarantine,
  startRun,
  writeCheckpoint,
  type KeyPart,
  type StoredCheckpoint,
} from '../db/state-store.js';
import { EngineError } from '../errors.js';
import { GtidSet } from '../model/gtid-set.js';
import { addLogicalReferences, type LogicalReferences, type SchemaCatalog, type TableSchema } from '../model/table-schema.js';
import type { ChangeDecision, Outcome, TransactionResult } from '../reconcile/decision.js';
import { KeyMap } from '../reconcile/key-map.js';
import { createLostFilter, type Checkpoint as LostCheckpoint, type LostFilter, type StartRule } from '../reconcile/lost-transactions.js';
import { changeLabel, QuarantineIndex, Reconciler } from '../reconcile/reconciler.js';
import { RuleBook } from '../reconcile/rules.js';
import type { NormalisedConfig } from '../config/normalise.js';
import { collectReads } from '../reconcile/window-reads.js';
import { executeWrites } from '../sink/execute-writes.js';
import { ledgerLine, ledgerRow, quarantineRow, type LedgerImages, type LedgerLine } from '../sink/ledger-entry.js';
import { resolveBinlogFiles, type BinlogFile } from '../source/binlog-files.js';
import { readTransactions } from '../source/read-transactions.js';
import { scanLostRange, type LostRangeScan } from './lost-range-scan.js';
import { checkSchemaDrift } from './schema-drift.js';

export const SalvageErrorCode = {
  NoStart: 'SALVAGE_NO_START',
  Ddl: 'SALVAGE_DDL_IN_LOST_RANGE',
  Aborted: 'SALVAGE_ABORTED',
  Fault: 'SALVAGE_FAULT',
  /** More changes were quarantined than the configuration's escalation limit allows. */
  Escalation: 'SALVAGE_ESCALATION',
} as const;
export type SalvageErrorCode = (typeof SalvageErrorCode)[keyof typeof SalvageErrorCode];

export class SalvageError extends EngineError {}

export interface SalvageOptions {
  readonly mode: 'plan' | 'apply';
  /** Binlog files or `.index` files, in order. */
  readonly binlogs: readonly string[];
  readonly target: ConnectionTarget;
  /** An explicit start (`--from`, `--from-gtid`, `--since`); default: the DR's GTID state. */
  readonly start?: StartRule;
  /** The DR-side state schema (default `salvage`). */
  readonly stateSchema?: string;
  /** Names this source in the checkpoint (default `binlog:<file basename without its number>`). */
  readonly sourceId?: string;
  /** Source transactions per window (default 1,000) and row changes per window (default 10,000). */
  readonly windowTransactions?: number;
  readonly windowRows?: number;
  /** All of a source transaction applied or all quarantined (default true; the configuration's value when one is given). */
  readonly keepTransactionsWhole?: boolean;
  /** The configuration (src/config): strategies per table and class, escalation, compare, ignore list. Default: the built-in strategies. */
  readonly config?: NormalisedConfig;
  /** Foreign keys the DR's schema does not declare (`{"crm.notes": {references: {ticket_id: "crm.tickets.id"}}}`). */
  readonly logicalReferences?: LogicalReferences;
  /** Row images in the DR's ledger for every change (default), or only for those not applied clean (sink/ledger-entry.ts). */
  readonly ledgerImages?: LedgerImages;
  /** DDL in the lost range: stop before writing anything (default), or skip it (recorded in the ledger). */
  readonly ddl?: 'stop' | 'skip';
  readonly verifyChecksums?: boolean;
  readonly signal?: AbortSignal;
  /** Every decision, in source order, as a `--ledger` line. */
  readonly onLedger?: (line: LedgerLine) => void;
  /** Plan only: each statement apply would run, in order (`--sql`). */
  readonly onSql?: (statement: string) => void;
  readonly onProgress?: (progress: SalvageProgress) => void;
  /** Test hook: sees every statement sent to the DR before it is sent (fault injection). */
  readonly beforeStatement?: (sql: string) => void;
}

export interface SalvageProgress {
  readonly transactionsDone: number;
  readonly transactionsTotal: number;
  readonly rowChangesDone: number;
  readonly rowChangesTotal: number;
  readonly outcomes: Readonly<Record<Outcome, number>>;
  readonly position: string;
  readonly elapsedMs: number;
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
  readonly target: string;
  readonly dr: { readonly flavor: string; readonly version: string; readonly serverId: number };
  readonly sourceId: string;
  readonly runId: number | null;
  /** Which rule chose the starting point, and why; the lost GTID set. */
  readonly start: { readonly rule: string; readonly lostSet: string; readonly checks: readonly string[]; readonly checkpoint: string | null };
  readonly lost: { readonly transactions: number; readonly rowChanges: number; readonly first: TransactionPoint | null; readonly last: TransactionPoint | null };
  /** table → class → outcome → count. */
  readonly counts: Record<string, Record<string, Partial<Record<Outcome, number>>>>;
  readonly outcomes: Record<Outcome, number>;
  readonly remaps: { readonly table: string; readonly oldKey: readonly unknown[]; readonly newKey: readonly unknown[]; readonly at: string }[];
  readonly quarantined: number;
  readonly incomplete: { readonly gtid: string | null; readonly file: string; readonly pos: number; readonly reason: string }[];
  readonly skippedDdl: { readonly at: string; readonly sql: string }[];
  readonly windows: number;
  readonly retries: number;
  readonly timings: { readonly scanMs: number; readonly reconcileMs: number; readonly totalMs: number; readonly rowsPerSecond: number };
  /** A run that decided without the DR's own binlog says so (DESIGN.md). */
  readonly withoutHistory: boolean;
}

const DEFAULT_WINDOW_TRANSACTIONS = 1000;
const DEFAULT_WINDOW_ROWS = 10_000;
const MAX_RETRIES = 6;

/** Runs `plan` or `apply` and returns the report. */
export async function salvage(options: SalvageOptions): Promise<SalvageReport> {
  const t0 = performance.now();
  const stateSchema = options.stateSchema ?? DEFAULT_STATE_SCHEMA;
  const files = await resolveBinlogFiles(options.binlogs);
  const sourceId = options.sourceId ?? defaultSourceId(files);
  const session = await openSession(options.target);
  try {
    return await new SalvageRun(options, session, files, sourceId, stateSchema, t0).run();
  } catch (e) {
    // An abort inside the reader surfaces as the platform's AbortError: say it in our terms.
    if (options.signal?.aborted === true && !(e instanceof EngineError)) {
      throw new SalvageError(SalvageErrorCode.Aborted, `stopped on request; ${options.mode === 'plan' ? 'plan wrote nothing' : 'every committed window stays applied; run the same apply again to resume'}`, {}, { cause: e });
    }
    throw e;
  } finally {
    await session.end();
  }
}

function defaultSourceId(files: readonly BinlogFile[]): string {
  const name = files[0] === undefined ? 'none' : basename(files[0].path).replace(/\.\d+$/, '');
  return `binlog:${name}`;
}

/** One run's state; `run()` is the whole of it. */
class SalvageRun {
  readonly #o: SalvageOptions;
  readonly #dr: SqlSession;
  readonly #files: readonly BinlogFile[];
  readonly #sourceId: string;
  readonly #schema: string;
  readonly #t0: number;
  readonly #apply: boolean;
  #catalog!: SchemaCatalog;
  #reconciler!: Reconciler;
  #scan!: LostRangeScan;
  #runId = 0;
  #seq = 0;
  #windows = 0;
  #retries = 0;
  #appliedGtids = new GtidSet();
  #lastEnd: { file: string; pos: number } | null = null;
  #done = { tx: 0, rows: 0 };
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
  readonly #quarantinedPerTable = new Map<string, number>();
  /** Floors as last persisted, so a window writes only what it raised. */
  #persistedFloors = new Map<string, bigint>();
  /** The writes' session: the DR in apply, a recorder in plan. */
  readonly #writer: SqlSession;

  constructor(options: SalvageOptions, session: SqlSession, files: readonly BinlogFile[], sourceId: string, schema: string, t0: number) {
    this.#o = options;
    this.#files = files;
    this.#sourceId = sourceId;
    this.#schema = schema;
    this.#t0 = t0;
    this.#apply = options.mode === 'apply';
    const hook = options.beforeStatement;
    this.#dr =
      hook === undefined
        ? session
        : {
            // async: a hook that throws rejects this statement's promise, as a failing server would.
            query: async (sql, params) => {
              hook(sql);
              return session.query(sql, params);
            },
            end: () => session.end(),
            destroy: () => session.destroy(),
          };
    const onSql = options.onSql;
    this.#writer = this.#apply ? this.#dr : createRecordingSession((s) => onSql?.(s));
  }

  async run(): Promise<SalvageReport> {
    const o = this.#o;
    const dr = await readDrIdentity(this.#dr);
    const stateExists = await schemaExists(this.#dr, this.#schema);
    const stored = stateExists ? await readCheckpoint(this.#dr, this.#schema, this.#sourceId) : undefined;
    const rule = o.start ?? this.#gtidRule(dr);
    // GTIDs applied under any source id count: the same binlogs copied under another name are the same transactions.
    const otherGtids = stateExists ? await checkpointGtidSets(this.#dr, this.#schema) : [];
    const checkpoint = toLostCheckpoint(stored, otherGtids);
    const scanFilter = createLostFilter(rule, { checkpoint });
    const tScan = performance.now();
    this.#scan = await scanLostRange(this.#files, scanFilter, { verifyChecksums: o.verifyChecksums, signal: o.signal });
    const scanMs = performance.now() - tScan;

    // The schemas the lost range writes, and those the configuration's logical references name
    // (addLogicalReferences checks every table it names exists).
    const named = Object.entries(o.logicalReferences ?? {}).flatMap(([child, e]) => [child, ...Object.values(e.references)]).map((n) => n.split('.')[0] ?? '');
    const schemas = [...new Set([...[...this.#scan.tables.values()].map((m) => m.schema), ...named])];
    let catalog = await introspectSchemas(this.#dr, schemas);
    if (o.logicalReferences) catalog = addLogicalReferences(catalog, o.logicalReferences);
    this.#catalog = catalog;
    checkSchemaDrift(this.#scan.tables, catalog);
    if (this.#scan.ddl.length > 0 && (o.ddl ?? 'stop') === 'stop') {
      const d = this.#scan.ddl[0]!;
      throw new SalvageError(
        SalvageErrorCode.Ddl,
        `the lost range holds DDL (${this.#scan.ddl.length} statement(s)); the first, at ${d.at} (${basename(d.file)}:${d.pos}): ${d.sql.slice(0, 200)} — apply the schema change to the DR by hand and re-run, or pass --ddl skip to leave DDL out`,
        { file: d.file, offset: d.pos },
      );
    }

    await this.#dr.query("SET SESSION time_zone = '+00:00'");
    // As replication applies row events: an explicit 0 in an AUTO_INCREMENT column stays 0, and no
    // strict-mode check rejects a value the primary accepted.
    await this.#dr.query("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO'");
    const keyMap = new KeyMap();
    const quarantine = new QuarantineIndex();
    if (stateExists) await this.#loadState(keyMap, quarantine);
    await this.#initKeyFloors(stateExists);
    if (this.#apply) {
      await ensureStateSchema(this.#dr, this.#schema);
      // Foreign keys are checked by the engine, against rows it read with locks (reconciler.ts):
      // with the server's checks off, one table's writes batch together whatever the order
      // between tables. The cascade guard keeps deletes from relying on server cascades.
      await this.#dr.query('SET SESSION foreign_key_checks = 0');
      this.#runId = await startRun(this.#dr, this.#schema, this.#sourceId, { mode: o.mode, binlogs: this.#files.map((f) => f.path), stateSchema: this.#schema });
      // Recorded before any window can raise the DR's counter (autocommitted, like the runs row).
      const fresh = new Map([...this.#startFloors].filter(([t]) => !this.#persistedFloors.has(t)));
      if (fresh.size > 0) await writeKeyFloors(this.#dr, this.#schema, this.#runId, fresh);
      for (const [t, f] of fresh) this.#persistedFloors.set(t, f);
    }
    const rules = o.config === undefined ? RuleBook.builtIn() : new RuleBook(o.config);
    this.#reconciler = new Reconciler(catalog, keyMap, quarantine, { keepTransactionsWhole: o.keepTransactionsWhole ?? o.config?.keepTransactionsWhole, rules, suspended: this.#suspended });
    if (stored?.gtidSet) this.#appliedGtids = GtidSet.parse(stored.gtidSet);

    const filter = createLostFilter(rule, { checkpoint });
    const tRun = performance.now();
    let finished = false;
    try {
      await this.#windowsLoop(filter);
      finished = true;
    } finally {
      if (this.#apply && this.#runId > 0) {
        const status = finished ? 'completed' : o.signal?.aborted === true ? 'interrupted' : 'failed';
        await finishRun(this.#dr, this.#schema, this.#runId, status).catch(() => undefined);
      }
    }
    const reconcileMs = performance.now() - tRun;
    const totalMs = performance.now() - this.#t0;
    return this.#report(dr, filter, stored, scanMs, reconcileMs, totalMs);
  }

  #gtidRule(dr: DrIdentity): StartRule {
    const empty = dr.gtid.flavor === 'mysql' ? dr.gtid.gtidExecuted === '' : dr.gtid.gtidSlavePos === '' && dr.gtid.gtidBinlogPos === '';
    if (empty) {
      throw new SalvageError(SalvageErrorCode.NoStart, 'the DR has no GTID state to find the lost transactions by: give the starting point with --from FILE:POS, --from-gtid SET or --since TIME', { option: '--from' });
    }
    return { kind: 'gtid', state: dr.gtid };
  }

  /** The starting remap floor of every AUTO_INCREMENT table the lost range writes: persisted, else the DR's counter now. */
  async #initKeyFloors(stateExists: boolean): Promise<void> {
    const stored = stateExists && (await this.#hasKeyFloorTable()) ? await readKeyFloors(this.#dr, this.#schema) : new Map<string, bigint>();
    this.#persistedFloors = new Map(stored);
    for (const name of this.#scan.tables.keys()) {
      const table = this.#catalog.lookup(name);
      const next = stored.get(name) ?? table?.autoIncrement?.next;
      if (next !== undefined) this.#startFloors.set(name, next);
    }
  }

  async #hasKeyFloorTable(): Promise<boolean> {
    const { rows } = await this.#dr.query('SELECT 1 AS x FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [this.#schema, 'key_floor']);
    return rows.length > 0;
  }

  async #loadState(keyMap: KeyMap, quarantine: QuarantineIndex): Promise<void> {
    for (const e of await loadKeyMap(this.#dr, this.#schema)) {
      const table = this.#catalog.lookup(e.table);
      if (table === undefined || table.primaryKey === null) continue;
      keyMap.set(table.schema, table.table, fromCanonicalKey(e.oldKey, table), fromCanonicalKey(e.newKey, table));
    }
    for (const [table, key, origin] of await pendingQuarantineRows(this.#dr, this.#schema, this.#sourceId)) quarantine.add(table, key, origin);
  }

  /** Groups lost transactions into windows, decoding the next window while this one is applied. */
  async #windowsLoop(filter: LostFilter): Promise<void> {
    const o = this.#o;
    const maxTx = o.windowTransactions ?? DEFAULT_WINDOW_TRANSACTIONS;
    const maxRows = o.windowRows ?? DEFAULT_WINDOW_ROWS;
    const source = readTransactions(this.#files, { verifyChecksums: o.verifyChecksums, signal: o.signal })[Symbol.asyncIterator]();
    const carry: Transaction[] = [];
    let exhausted = false;
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
      while (!exhausted && carry.length === 0 && !full(window.length, rows)) {
        const r = await source.next();
        if (r.done === true) {
          exhausted = true;
          break;
        }
        for (const item of r.value.items) {
          if (item.kind !== 'transaction' || !filter.isLost(item.tx).lost) continue;
          if (!full(window.length, rows)) {
            window.push(item.tx);
            rows += item.tx.changes.length;
          } else carry.push(item.tx);
        }
      }
      return window;
    };
    let pending = nextWindow();
    try {
      for (;;) {
        const window = await pending;
        if (window.length === 0 && exhausted && carry.length === 0) break;
        if (o.signal?.aborted === true) throw new SalvageError(SalvageErrorCode.Aborted, `stopped on request after ${this.#windows} window(s); ${this.#resumeHint()}`);
        pending = nextWindow();
        // The next window decodes (CPU) while this one waits on the DR (I/O).
        await this.#processWindow(window);
        this.#escalate();
      }
      await pending;
    } finally {
      // A window that failed leaves a read in flight: let it settle, then close the files.
      await pending.catch(() => undefined);
      await source.return?.(undefined);
    }
  }

  async #processWindow(window: readonly Transaction[]): Promise<void> {
    if (window.length === 0) return;
    if (!this.#apply) {
      const results = await this.#decide(window);
      await executeWrites(this.#writer, results.flatMap((r) => r.writes));
      this.#account(results);
      return;
    }
    for (let attempt = 0; ; attempt++) {
      const mark = this.#reconciler.mark();
      try {
        await this.#dr.query('START TRANSACTION');
        const results = await this.#decide(window);
        await this.#commitWindow(results);
        this.#account(results);
        return;
      } catch (e) {
        await this.#dr.query('ROLLBACK').catch(() => undefined);
        this.#reconciler.rollbackTo(mark);
        if (!(e instanceof EngineError)) throw e;
        if (e.retryable && attempt < MAX_RETRIES) {
          this.#retries++;
          await sleep(Math.min(2000, 50 * 2 ** attempt), this.#o.signal);
          continue;
        }
        if (!isDataRejection(e)) throw this.#fault(e);
        if (window.length > 1) {
          // Decide again one source transaction at a time, so the one the DR rejects is found.
          this.#retries++;
          for (const tx of window) await this.#processWindow([tx]);
          return;
        }
        await this.#quarantineRejected(window[0]!, e);
        return;
      }
    }
  }

  /** Reads the window's keys (locking them in apply) and decides every transaction. */
  async #decide(window: readonly Transaction[]): Promise<TransactionResult[]> {
    const r = this.#reconciler;
    const changes = r.rewrite(window.flatMap((tx) => tx.changes));
    for (const req of collectReads(changes, this.#catalog, r.stateSet)) {
      const rows = await readRowsMatching(this.#dr, req.table, req.columns, req.keys, { forUpdate: this.#apply });
      const state = r.state(req.table);
      state.load(rows);
      if (req.purpose === 'pk') state.markReadKeys(req.asked);
      else state.markReadIndexKeys(req.purpose, req.asked);
    }
    await this.#raiseKeyFloors(changes.filter((c) => c.op === 'insert').map((c) => `${c.table.schema}.${c.table.table}`));
    return window.map((tx) => r.decide(tx));
  }

  /** Remaps take ids above the DR's largest, its AUTO_INCREMENT counter, and every id the lost range inserts. */
  async #raiseKeyFloors(tables: readonly string[]): Promise<void> {
    for (const name of new Set(tables)) {
      const table = this.#catalog.lookup(name);
      const ai = table?.autoIncrement;
      if (table === undefined || ai === null || ai === undefined || table.primaryKey?.length !== 1 || table.primaryKey[0] !== ai.column) continue;
      const r = this.#reconciler;
      const start = this.#startFloors.get(name);
      if (start !== undefined) r.raiseKeyFloor(table, start);
      const max = await maxKey(this.#dr, table, ai.column);
      if (max !== null) r.raiseKeyFloor(table, max + 1n);
      const pos = table.columns.findIndex((c) => c.name === ai.column);
      const lostMax = this.#scan.maxInserted.get(name)?.get(pos);
      if (lostMax !== undefined) r.raiseKeyFloor(table, lostMax + 1n);
    }
  }

  /** Writes, ledger, quarantine, key map and checkpoint of a decided window, then COMMIT. */
  async #commitWindow(results: readonly TransactionResult[]): Promise<void> {
    await executeWrites(this.#dr, results.flatMap((r) => r.writes));
    await this.#recordState(results);
    await this.#dr.query('COMMIT');
    for (const [table, floor] of this.#reconciler.keyFloors()) {
      const name = `${table.schema}.${table.table}`;
      if ((this.#persistedFloors.get(name) ?? 0n) < floor) this.#persistedFloors.set(name, floor);
    }
    this.#reconciler.clearStates();
  }

  async #recordState(results: readonly TransactionResult[]): Promise<void> {
    const decisions = results.flatMap((r) => r.decisions);
    let seq = this.#seq;
    await recordLedger(this.#dr, this.#schema, decisions.map((d) => ledgerRow(d, this.#runId, ++seq, this.#sourceId, this.#o.ledgerImages)));
    const q = decisions.filter((d) => d.outcome === 'quarantined');
    if (q.length > 0) await recordQuarantine(this.#dr, this.#schema, q.map((d) => quarantineRow(d, this.#runId, this.#sourceId, d.holds ?? [])));
    const remaps = results.flatMap((r) => r.remaps.map((m) => ({ ...m, tx: r.tx })));
    if (remaps.length > 0) {
      await recordKeyMap(
        this.#dr,
        this.#schema,
        remaps.map((m) => ({ table: m.table, oldKey: keyParts(m.oldKey), newKey: keyParts(m.newKey), runId: this.#runId, gtid: m.tx.gtid === null ? null : gtidText(m.tx.gtid) })),
      );
    }
    const last = results[results.length - 1]!.tx;
    const gtids = this.#appliedGtids.clone();
    for (const r of results) if (r.tx.gtid !== null) gtids.add(r.tx.gtid);
    const raised = new Map<string, bigint>();
    for (const [table, floor] of this.#reconciler.keyFloors()) {
      const name = `${table.schema}.${table.table}`;
      const was = this.#persistedFloors.get(name);
      if (was === undefined || floor > was) raised.set(name, floor);
    }
    if (raised.size > 0) await writeKeyFloors(this.#dr, this.#schema, this.#runId, raised);
    await writeCheckpoint(this.#dr, this.#schema, { sourceId: this.#sourceId, gtidSet: gtids.isEmpty ? null : gtids.toString(), file: basename(last.file), pos: BigInt(last.end), runId: this.#runId });
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
        withoutHistory: true,
        holds: pk === null ? [] : [[`${change.table.schema}.${change.table.table}`, pk] as const],
      };
    });
    for (const d of decisions) for (const [t, k] of d.holds ?? []) this.#reconciler.quarantine.add(t, k, changeLabel(tx, d.index));
    const result: TransactionResult = { tx, decisions, writes: [], remaps: [] };
    await this.#dr.query('START TRANSACTION');
    try {
      await this.#recordState([result]);
      await this.#dr.query('COMMIT');
    } catch (err) {
      await this.#dr.query('ROLLBACK').catch(() => undefined);
      throw err instanceof EngineError ? this.#fault(err) : err;
    }
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
          this.#o.onLedger(ledgerLine(d, table === undefined ? null : keyPositions(table)));
        }
      }
      for (const d of r.decisions) if (d.outcome === 'quarantined') this.#quarantinedPerTable.set(d.table, (this.#quarantinedPerTable.get(d.table) ?? 0) + 1);
      for (const m of r.remaps) this.#remaps.push({ table: m.table, oldKey: m.oldKey.map(plain), newKey: m.newKey.map(plain), at: changeLabel(r.tx, 0).replace(/#0$/, '') });
      this.#lastEnd = { file: r.tx.file, pos: r.tx.end };
    }
    this.#o.onProgress?.({
      transactionsDone: this.#done.tx,
      transactionsTotal: this.#scan.transactions,
      rowChangesDone: this.#done.rows,
      rowChangesTotal: this.#scan.rowChanges,
      outcomes: { ...this.#outcomes },
      position: this.#lastEnd === null ? '' : `${basename(this.#lastEnd.file)}:${this.#lastEnd.pos}`,
      elapsedMs: performance.now() - this.#t0,
    });
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

  #resumeHint(): string {
    if (!this.#apply) return 'plan wrote nothing';
    return this.#lastEnd === null ? 'nothing was committed by this run; run apply again to start over' : `committed through ${basename(this.#lastEnd.file)}:${this.#lastEnd.pos}; run the same apply again to resume from there`;
  }

  #fault(e: EngineError): SalvageError {
    return new SalvageError(SalvageErrorCode.Fault, `${redact(e.message)} [${e.code}]; the window in progress was rolled back; ${this.#resumeHint()}`, { ...e.details }, { retryable: e.retryable, cause: e });
  }

  #report(dr: DrIdentity, filter: LostFilter, stored: StoredCheckpoint | undefined, scanMs: number, reconcileMs: number, totalMs: number): SalvageReport {
    const s = this.#scan;
    const skippedDdl = (this.#o.ddl ?? 'stop') === 'skip' ? s.ddl.map((d) => ({ at: d.at, sql: d.sql })) : [];
    return {
      mode: this.#o.mode,
      target: redact(`mysql://${this.#o.target.user}@${this.#o.target.host}:${this.#o.target.port}`),
      dr: { flavor: dr.flavor, version: dr.version, serverId: dr.serverId },
      sourceId: this.#sourceId,
      runId: this.#apply ? this.#runId : null,
      start: {
        rule: filter.describe(),
        lostSet: filter.lostSet.toString(),
        checks: filter.checks(),
        checkpoint: stored === undefined ? null : `${stored.gtidSet ?? ''}${stored.file !== null ? ` ${stored.file}:${stored.pos}` : ''}`.trim(),
      },
      lost: { transactions: s.transactions, rowChanges: s.rowChanges, first: point(s.first), last: point(s.last) },
      counts: this.#counts,
      outcomes: { ...this.#outcomes },
      remaps: this.#remaps,
      quarantined: this.#outcomes.quarantined,
      incomplete: s.incomplete.map((t) => ({ gtid: t.gtid === null ? null : gtidText(t.gtid), file: basename(t.file), pos: t.pos, reason: t.reason })),
      skippedDdl,
      windows: this.#windows,
      retries: this.#retries,
      timings: { scanMs: Math.round(scanMs), reconcileMs: Math.round(reconcileMs), totalMs: Math.round(totalMs), rowsPerSecond: reconcileMs > 0 ? Math.round(this.#done.rows / (reconcileMs / 1000)) : 0 },
      withoutHistory: true,
    };
  }
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

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });
}
