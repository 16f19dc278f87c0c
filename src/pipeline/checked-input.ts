/**
 * Damaged and wrong binlog files in plan and apply (docs/RELIABILITY.md, "Damaged and wrong input").
 *
 * Wrong input — a file missing, out of order or given twice, a relay log, binlogs of a server the
 * DR never replicated from — is refused before anything is written (source/input-checks.ts, and
 * `checkOrigins` here). Damage inside a file is met where it lies: the first pass
 * (`scanFiles`) notes the first place it cannot read past, and the run applies everything before
 * it, commits, and stops there (`stopPoint`, `damageStop`): a re-run after the file is fixed goes
 * on from the checkpoint, so nothing before it is applied twice. Under `skipDamaged` a damaged
 * transaction whose boundaries can be trusted is skipped instead — never guessed at — and recorded
 * in the ledger as class `damaged`, outcome `skipped` (`damagedTransaction`, `damagedResult`).
 */
import { basename } from 'node:path';
import { gtidText, type IncompleteTransaction, type Transaction } from '../binlog/transaction.js';
import type { SchemaHints } from '../binlog/events/table-map.js';
import type { DrIdentity } from '../db/dr-state.js';
import type { SqlSession } from '../db/sql-session.js';
import { BinlogError, BinlogErrorCode, EngineError } from '../errors.js';
import type { ChangeDecision, TransactionResult } from '../model/decision.js';
import { ReconcileErrorCode } from '../model/reconcile-error.js';
import type { LostFilter } from '../reconcile/lost-transactions.js';
import type { BinlogFile } from '../source/binlog-files.js';
import { checkFileNames, InputError, InputErrorCode, InputGuard, tailSizeDisagrees, type InputOpening, type InputOrigins } from '../source/input-checks.js';
import { readTransactions, type ReadBatch } from '../source/read-transactions.js';
import { scanLostBatches, type LostRangeScan } from './lost-range-scan.js';
import { cutAtStop, StopWatch, type StopBefore } from './stop-before.js';

/** Where the files could not be read past: the run applies what lies before it, then stops with `error`. */
export interface DamagePoint {
  readonly file: string;
  /** An event boundary: the damaged event's start, or where a damaged size leaves the file. */
  readonly offset: number;
  readonly error: BinlogError;
}

export interface FileScanOptions {
  readonly verifyChecksums?: boolean;
  /** What the binlog's table maps leave out (salvage.ts: from the DR). */
  readonly schemaHints?: SchemaHints;
  readonly signal?: AbortSignal;
  readonly skipDamaged?: boolean;
  readonly allowRelayLog?: boolean;
  /** `--stop-before`: the read ends before this transaction (pipeline/stop-before.ts). */
  readonly stopBefore?: StopBefore;
}

export interface FileScan {
  readonly scan: LostRangeScan;
  /** The first damage that could not be skipped, or null: the files read to their end. */
  readonly damage: DamagePoint | null;
  /** Damaged events passed over: between transactions, in transactions the DR has, or skipped (skipDamaged). */
  readonly damaged: DamagedEntry[];
  /** The servers whose GTIDs the files hold (transactions and opening GTID states). */
  readonly origins: InputOrigins;
  /** What the primary had written before the first file (its opening GTID state), or null. */
  readonly opening: InputOpening | null;
  /** With `stopBefore`: whether the read met the transaction it names (`met`), else why not. */
  readonly stop: StopWatch | null;
}

/**
 * Decoding failures that are damage at one place of a file: what lies before it can be applied.
 * A file that is no binlog, is encrypted or uses an unsupported feature is refused as a whole.
 */
function isDamage(e: BinlogError): boolean {
  return e.code === BinlogErrorCode.ChecksumMismatch || e.code === BinlogErrorCode.CorruptEvent || e.code === BinlogErrorCode.TruncatedEvent || e.code === BinlogErrorCode.MissingTableMap;
}

/**
 * The first pass over binlog files: the names and the content checked (InputError before any
 * write), the lost range summarised up to the first damage that stops the run. Files are always
 * decoded with damage skipped where its boundaries can be trusted, so that damage which cuts no
 * lost transaction (between transactions, or in one the DR has) stops nothing; damage in a lost
 * transaction stops the run there unless `skipDamaged`. `filter` makes a fresh lost filter.
 */
export async function scanFiles(files: readonly BinlogFile[], filter: () => LostFilter, options: FileScanOptions): Promise<FileScan> {
  await checkFileNames(files);
  const first = await scanOnce(files, filter(), options);
  if (!first.thrown || first.damage === null) return first;
  // A decoding error drops the chunk it is met in, events before it included: read again up to
  // it, so the summary holds exactly what the second pass will read (and may stop earlier).
  const again = await scanOnce(filesBefore(files, first.damage), filter(), options);
  // The stop point met in the chunk the damage dropped lies before the damage: the run stops there, not at it.
  if (again.stop?.met != null) return again;
  return { ...again, damage: again.damage ?? first.damage };
}

async function scanOnce(files: readonly BinlogFile[], filter: LostFilter, options: FileScanOptions): Promise<FileScan & { thrown: boolean }> {
  const guard = new InputGuard({ allowRelayLog: options.allowRelayLog });
  let damage: DamagePoint | null = null;
  let thrown = false;
  const damaged: DamagedEntry[] = [];
  let extra = 0;
  const watch = options.stopBefore === undefined ? null : new StopWatch(options.stopBefore);
  const batches = async function* (): AsyncGenerator<ReadBatch> {
    // Without ANNOTATE_ROWS texts, as the windows read them (salvage.ts #windowsLoop): nothing here reads them.
    const read = readTransactions(files, { verifyChecksums: options.verifyChecksums, signal: options.signal, skipDamaged: true, keepEvents: true, annotations: false, schemaHints: options.schemaHints });
    try {
      // Cut before the input checks: what lies at or after the stop point is not the run's input.
      for await (const batch of guard.watch(watch === null ? read : cutAtStop(read, watch))) {
        const stop = batch.items.findIndex((item) => {
          if (item.kind !== 'incomplete' || item.tx.reason !== 'damaged' || item.tx.damage === undefined) return false;
          const tx = damagedTransaction(item.tx);
          const lost = tx !== null && isLost(filter, tx);
          if (lost && options.skipDamaged !== true) return true;
          if (lost) extra++;
          damaged.push(damagedEntry(item.tx, tx === null ? 'none' : lost ? 'skipped' : 'not-lost'));
          return false;
        });
        if (stop >= 0) {
          // A lost transaction is damaged: what lies before it is applied, then the run stops there.
          const t = batch.items[stop]!.tx as IncompleteTransaction;
          const d = t.damage!;
          damage = { file: t.file, offset: d.offset, error: new BinlogError(d.code as BinlogErrorCode, d.message, { file: t.file, offset: d.offset, eventType: d.eventType }) };
          yield { ...batch, items: batch.items.slice(0, stop), tail: null };
          return;
        }
        const tail = batch.tail;
        // (A relay log's headers carry its source's positions: its tail cannot be judged so.)
        const endsAt = tail === null || guard.isRelayLog(batch.file) ? null : await tailSizeDisagrees(batch.file, tail);
        if (tail !== null && endsAt !== null) {
          // Not a crash's partial event: a damaged size that runs past the end of the file.
          yield { ...batch, tail: null };
          damage = {
            file: batch.file,
            offset: tail.offset,
            error: new BinlogError(
              BinlogErrorCode.CorruptEvent,
              `corrupt event at ${batch.file}:${tail.offset}: its size (${tail.claimedSize} bytes) runs past the end of the file, but its header says it ends at ${endsAt} — the size is damaged (a crash leaves a partial event whose header agrees with its size)`,
              { file: batch.file, offset: tail.offset, ...(tail.typeCode === null ? {} : { eventType: tail.typeCode }) },
            ),
          };
          return;
        }
        yield batch;
      }
    } catch (e) {
      if (!(e instanceof BinlogError) || !isDamage(e) || e.details.file === undefined || e.details.offset === undefined) throw e;
      damage = { file: e.details.file, offset: e.details.offset, error: e };
      thrown = true;
    }
  };
  const scan = await scanLostBatches(batches(), filter);
  // Damaged transactions the second pass records (skipDamaged) count as lost ones.
  return { scan: extra === 0 ? scan : { ...scan, transactions: scan.transactions + extra }, damage, damaged, origins: guard.origins, opening: guard.opening, thrown, stop: watch };
}

/**
 * The files the second pass reads: up to the damage point (or the `--stop-before` transaction), so
 * it stops where the first pass did. `cut.file` is a path or a base name (names are unique: checkFileNames).
 */
export function filesBefore(files: readonly BinlogFile[], cut: { readonly file: string; readonly offset: number } | null): readonly BinlogFile[] {
  if (cut === null) return files;
  const i = files.findIndex((f) => f.path === cut.file || basename(f.path) === basename(cut.file));
  if (i < 0) return files;
  return [...files.slice(0, i), { path: files[i]!.path, size: files[i]!.size, range: { start: 0, end: cut.offset, formatDescription: null } }];
}

/** The error a run stops with at the damage point, once everything before it is applied and committed. */
export function damageStop(damage: DamagePoint, mode: 'plan' | 'apply', resumeHint: string, skipDamaged: boolean): BinlogError {
  const e = damage.error;
  const skippable = !skipDamaged && !/; not skipped: /.test(e.message);
  const what =
    mode === 'plan'
      ? 'plan stops here: apply would apply the transactions before it, then stop'
      : `every transaction before it is applied (${resumeHint})`;
  return new BinlogError(
    e.code,
    `${e.message} — ${what}. Copy ${basename(damage.file)} again (whole, from the primary or a backup) and run the same command: it goes on after what is applied${skippable ? '; or pass --skip-damaged to skip the damaged transaction (recorded in the ledger, never guessed at)' : ''}`,
    e.details,
    e,
  );
}

/** Transactions that stand for a damaged one: its facts, kept beside it. */
const DAMAGED = new WeakMap<Transaction, IncompleteTransaction>();

/**
 * A damaged transaction (an incomplete item of reason `damaged` that cut a transaction) as a
 * transaction without changes, so a window can record it; null for anything else.
 */
export function damagedTransaction(t: IncompleteTransaction): Transaction | null {
  const d = t.damage;
  if (t.reason !== 'damaged' || d === undefined || d.betweenTransactions) return null;
  const tx: Transaction = { gtid: t.gtid, file: t.file, pos: t.pos, end: t.end, timestamp: d.timestamp, serverId: d.serverId, changes: [], statements: [], annotations: [], statementMarks: [], xid: null, commit: 'xid' };
  DAMAGED.set(tx, t);
  return tx;
}

/** Whether `tx` stands for a damaged transaction. */
export function isDamaged(tx: Transaction): boolean {
  return DAMAGED.has(tx);
}

/**
 * Whether a transaction is lost. A damaged one whose GTID event is among the damage cannot be
 * placed by GTID: it counts as lost unless the checkpoint already passed it.
 */
export function isLost(filter: LostFilter, tx: Transaction): boolean {
  if (!DAMAGED.has(tx)) return filter.isLost(tx).lost;
  try {
    return filter.isLost(tx).lost;
  } catch (e) {
    if (e instanceof EngineError && e.code === ReconcileErrorCode.NoGtid) return true;
    throw e;
  }
}

/** The record of a skipped damaged transaction: one ledger line, class `damaged`, outcome `skipped`, no write. */
export function damagedResult(tx: Transaction): TransactionResult | null {
  const t = DAMAGED.get(tx);
  if (t === undefined || t.damage === undefined) return null;
  const d = t.damage;
  const decision: ChangeDecision = {
    tx,
    index: 0,
    change: null,
    table: DAMAGED_TABLE,
    op: 'sql',
    sourceKey: null,
    class: 'damaged',
    outcome: 'skipped',
    newKey: null,
    reason: `damaged event at ${basename(t.file)}:${d.offset} (${d.code}): ${d.message} — the transaction ${tx.gtid === null ? `at ${basename(t.file)}:${t.pos} (its GTID is among the damage)` : gtidText(tx.gtid)} is skipped (--skip-damaged), never guessed at`,
    drRow: null,
    conflicts: [],
    withoutHistory: true,
  };
  return { tx, decisions: [decision], writes: [], remaps: [] };
}

/** The table name a damaged transaction is counted under: which tables it wrote is among the damage. */
export const DAMAGED_TABLE = '(damaged)';

/** A damaged event passed over, as the report lists it. */
export interface DamagedEntry {
  readonly file: string;
  readonly offset: number;
  readonly code: string;
  readonly message: string;
  /** The transaction it cut (null: its GTID is among the damage, or none was cut). */
  readonly gtid: string | null;
  /**
   * `skipped`: a lost transaction was skipped (skipDamaged) and is in the ledger; `not-lost`: the
   * transaction it cut is one the DR has; `none`: the event stood between transactions.
   */
  readonly cut: 'skipped' | 'not-lost' | 'none';
}

function damagedEntry(t: IncompleteTransaction, cut: DamagedEntry['cut']): DamagedEntry {
  const d = t.damage!;
  return { file: basename(t.file), offset: d.offset, code: d.code, message: d.message, gtid: t.gtid === null ? null : gtidText(t.gtid), cut };
}

/**
 * Refuses binlogs whose GTIDs come from none of the servers the DR replicated from, when the DR's
 * replication state names some (MariaDB `gtid_slave_pos`; MySQL `gtid_executed` less the DR's own
 * uuid): most likely another server's files. An empty replication state says nothing.
 */
export async function checkOrigins(session: SqlSession, dr: DrIdentity, origins: InputOrigins): Promise<void> {
  if (origins.mariadb.size === 0 && origins.mysql.size === 0) return;
  let drOrigins: string[];
  let state: string;
  if (dr.gtid.flavor === 'mariadb') {
    state = `gtid_slave_pos ${dr.gtid.gtidSlavePos}`;
    drOrigins = dr.gtid.gtidSlavePos.split(',').map((p) => /^\s*(\d+-\d+)-\d+\s*$/.exec(p)?.[1]).filter((p): p is string => p !== undefined);
    if (drOrigins.some((p) => origins.mariadb.has(p))) return;
  } else {
    const { rows } = await session.query('SELECT @@server_uuid AS u');
    const own = String(rows[0]?.['u'] ?? '').toLowerCase();
    state = `gtid_executed ${dr.gtid.gtidExecuted}`;
    drOrigins = [...new Set(dr.gtid.gtidExecuted.split(',').map((p) => p.trim().split(':')[0]!.toLowerCase()).filter((u) => u !== '' && u !== own))];
    if (drOrigins.some((u) => origins.mysql.has(u))) return;
  }
  if (drOrigins.length === 0) return;
  const written = [
    ...[...origins.mariadb].sort().map((p) => `server_id ${p.split('-')[1]} in GTID domain ${p.split('-')[0]}`),
    ...[...origins.mysql].sort().map((u) => `server_uuid ${u}`),
  ];
  const replicated = drOrigins.map((p) => (dr.gtid.flavor === 'mariadb' ? `server_id ${p.split('-')[1]} in GTID domain ${p.split('-')[0]}` : `server_uuid ${p}`));
  throw new InputError(
    InputErrorCode.OtherServer,
    `the binlogs were written by ${list(written)}, but the DR replicated from ${list(replicated)} (its ${state}): they are not the binlogs of the server the DR replicated from. Check the files; if they are the right ones (the DR's replication state was reset, or it replicated through another server), pass --force-source`,
    { option: '--force-source' },
  );
}

function list(items: readonly string[]): string {
  return items.length <= 4 ? items.join(', ') : `${items.slice(0, 4).join(', ')} and ${items.length - 4} more`;
}
