/**
 * Reads and updates of the quarantine and its ledger rows for review (`salvage quarantine`,
 * `resolve`, `explain`). A quarantine row and its ledger row share one change identity
 * (source_id, change_at, change_index; state-schema.ts); the ledger holds what the quarantine row
 * does not (op, class, keys, rule). Updates run inside the caller's transaction, which also writes
 * the data they describe (state-store.ts). Values are bound, identifiers quoted by stateTable.
 */
import { mapDbError } from './db-errors.js';
import type { SqlRow, SqlSession } from './sql-session.js';
import { stateTable } from './state-schema.js';

/** Which entries to read. */
export type QuarantineStatusFilter = 'pending' | 'resolved' | 'all';

/** Names one lost row change for ever (state-schema.ts, ledger `uk_change`). */
export interface ChangeIdentity {
  readonly sourceId: string;
  /** The GTID, else `file:pos`. */
  readonly changeAt: string;
  readonly changeIndex: number;
}

/** A quarantine row with the facts of its ledger row; images and keys as the canonical JSON text stored. */
export interface StoredQuarantineEntry extends ChangeIdentity {
  readonly id: number;
  readonly runId: number;
  readonly table: string;
  readonly status: string;
  /** The reason the change was held back (the ledger's reason may since say how it was resolved). */
  readonly reason: string | null;
  readonly beforeImage: string | null;
  readonly afterImage: string | null;
  readonly drImage: string | null;
  /** `[[table, row key], …]` as JSON text: the source rows it holds back. */
  readonly rowKeys: string;
  /** The change (`GTID#index`, or `file:pos#index`) it waits on, as recorded; null when it waits on none, or was recorded before the column existed. */
  readonly origin: string | null;
  /** The SQL statement that produced the change (its binlog annotation); null when the binlog logged none, or it was recorded before the column existed. */
  readonly statement: string | null;
  /** UTC, `YYYY-MM-DD HH:MM:SS.ffffff`. */
  readonly createdAt: string;
  readonly resolvedAt: string | null;
  /** From the ledger row; null (op and class empty) if it is missing. */
  readonly gtid: string | null;
  readonly op: string;
  readonly class: string;
  readonly outcome: string | null;
  readonly ledgerReason: string | null;
  readonly sourceKey: string | null;
  readonly newKey: string | null;
  readonly rulePath: string | null;
}

/** A ledger row as explain shows it, with the quarantine entry of the change, if any. */
export interface StoredLedgerEntry extends ChangeIdentity {
  readonly id: number;
  readonly runId: number;
  readonly seq: number;
  readonly gtid: string | null;
  readonly file: string | null;
  readonly pos: string | null;
  readonly table: string;
  readonly op: string;
  readonly sourceKey: string;
  readonly class: string;
  readonly outcome: string;
  readonly newKey: string | null;
  readonly reason: string | null;
  readonly rulePath: string | null;
  readonly beforeImage: string | null;
  readonly afterImage: string | null;
  readonly drImage: string | null;
  readonly recordedAt: string;
  readonly quarantineId: number | null;
  readonly quarantineStatus: string | null;
  /** The quarantine entry's statement text (StoredQuarantineEntry.statement), null without one. */
  readonly statement: string | null;
}

/** What a review decided for one change: the ledger row's new outcome. */
export interface LedgerDecision {
  readonly outcome: string;
  readonly reason: string;
  /** Canonical JSON key the row has on the DR when it differs from the source key, else null. */
  readonly newKey: string | null;
  readonly rulePath: string;
}

async function run(session: SqlSession, sql: string, params?: readonly unknown[]): Promise<readonly SqlRow[]> {
  try {
    return (await session.query(sql, params)).rows;
  } catch (e) {
    throw mapDbError(e);
  }
}

function text(v: unknown): string | null {
  return v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

/** Every quarantine entry with `status` (all of them for 'all'), in the order they were held back. */
export async function readQuarantineEntries(session: SqlSession, schema: string, status: QuarantineStatusFilter = 'pending'): Promise<StoredQuarantineEntry[]> {
  const q = stateTable(schema, 'quarantine');
  const l = stateTable(schema, 'ledger');
  const where = status === 'all' ? '' : 'WHERE q.status = ?';
  // A state schema no apply has touched since the column was added (state-schema.ts ADDED_COLUMNS) has no origin yet.
  const origin = (await hasColumn(session, schema, 'quarantine', 'origin')) ? 'q.origin' : 'NULL';
  const statement = (await hasColumn(session, schema, 'quarantine', 'statement')) ? 'q.statement' : 'NULL';
  const rows = await run(
    session,
    `SELECT CAST(q.id AS CHAR) AS id, CAST(q.run_id AS CHAR) AS run_id, q.source_id, q.change_at, q.change_index, q.table_name, q.status, q.reason,
            q.before_image, q.after_image, q.dr_image, q.row_keys, ${origin} AS origin, ${statement} AS statement, q.created_at, q.resolved_at,
            l.gtid, l.op, l.class, l.outcome, l.reason AS ledger_reason, l.source_key, l.new_key, l.rule_path
       FROM ${q} q
       LEFT JOIN ${l} l ON l.source_id = q.source_id AND l.change_at = q.change_at AND l.change_index = q.change_index
       ${where}
      ORDER BY q.id`,
    status === 'all' ? [] : [status],
  );
  return rows.map((r) => ({
    id: Number(r['id']),
    runId: Number(r['run_id']),
    sourceId: String(r['source_id']),
    changeAt: String(r['change_at']),
    changeIndex: Number(r['change_index']),
    table: String(r['table_name']),
    status: String(r['status']),
    reason: text(r['reason']),
    beforeImage: text(r['before_image']),
    afterImage: text(r['after_image']),
    drImage: text(r['dr_image']),
    rowKeys: text(r['row_keys']) ?? '[]',
    origin: text(r['origin']),
    statement: text(r['statement']),
    createdAt: String(r['created_at']),
    resolvedAt: text(r['resolved_at']),
    gtid: text(r['gtid']),
    op: text(r['op']) ?? '',
    class: text(r['class']) ?? '',
    outcome: text(r['outcome']),
    ledgerReason: text(r['ledger_reason']),
    sourceKey: text(r['source_key']),
    newKey: text(r['new_key']),
    rulePath: text(r['rule_path']),
  }));
}

/** Whether the state schema's `table` has `column` (one added since layout 1: state-schema.ts ADDED_COLUMNS); read-only commands do not add it. */
export async function hasColumn(session: SqlSession, schema: string, table: string, column: string): Promise<boolean> {
  const rows = await run(session, 'SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?', [schema, table, column]);
  return Number(rows[0]?.['n']) > 0;
}

/** The entry's status, locking its row (SELECT … FOR UPDATE) in the caller's transaction; undefined when there is no such entry. */
export async function lockQuarantineStatus(session: SqlSession, schema: string, id: number): Promise<string | undefined> {
  const rows = await run(session, `SELECT status FROM ${stateTable(schema, 'quarantine')} WHERE id = ? FOR UPDATE`, [id]);
  return rows[0] === undefined ? undefined : String(rows[0]['status']);
}

/** Marks a pending entry resolved now (UTC); returns false when it was not pending. */
export async function markQuarantineResolved(session: SqlSession, schema: string, id: number): Promise<boolean> {
  try {
    const r = await session.query(`UPDATE ${stateTable(schema, 'quarantine')} SET status = 'resolved', resolved_at = UTC_TIMESTAMP(6) WHERE id = ? AND status = 'pending'`, [id]);
    return r.affectedRows === 1;
  } catch (e) {
    throw mapDbError(e);
  }
}

/** Records a review's decision on the change's ledger row (outcome, reason, new key, rule path). */
export async function recordLedgerDecision(session: SqlSession, schema: string, change: ChangeIdentity, decision: LedgerDecision): Promise<void> {
  try {
    await session.query(`UPDATE ${stateTable(schema, 'ledger')} SET outcome = ?, reason = ?, new_key = ?, rule_path = ? WHERE source_id = ? AND change_at = ? AND change_index = ?`, [
      decision.outcome,
      decision.reason,
      decision.newKey,
      decision.rulePath,
      change.sourceId,
      change.changeAt,
      change.changeIndex,
    ]);
  } catch (e) {
    throw mapDbError(e);
  }
}

/** How many entries still wait for a decision. */
export async function countPendingQuarantine(session: SqlSession, schema: string): Promise<number> {
  const rows = await run(session, `SELECT COUNT(*) AS n FROM ${stateTable(schema, 'quarantine')} WHERE status = 'pending'`);
  return Number(rows[0]?.['n'] ?? 0);
}

/**
 * The ledger rows of one source transaction, in change order: `at` is its GTID, or `file:pos`
 * (the file by its full path as recorded, or by its base name).
 */
export async function readLedgerEntries(session: SqlSession, schema: string, at: string): Promise<StoredLedgerEntry[]> {
  const q = stateTable(schema, 'quarantine');
  const l = stateTable(schema, 'ledger');
  // A state schema no apply has touched since the column was added has no statement yet.
  const statement = (await hasColumn(session, schema, 'quarantine', 'statement')) ? 'q.statement' : 'NULL';
  const rows = await run(
    session,
    `SELECT CAST(l.id AS CHAR) AS id, CAST(l.run_id AS CHAR) AS run_id, CAST(l.seq AS CHAR) AS seq, l.source_id, l.change_at, l.change_index, l.gtid,
            l.binlog_file, CAST(l.binlog_pos AS CHAR) AS binlog_pos, l.table_name, l.op, l.source_key, l.class, l.outcome, l.new_key, l.reason,
            l.rule_path, l.before_image, l.after_image, l.dr_image, l.recorded_at, CAST(q.id AS CHAR) AS q_id, q.status AS q_status, ${statement} AS q_statement
       FROM ${l} l
       LEFT JOIN ${q} q ON q.source_id = l.source_id AND q.change_at = l.change_at AND q.change_index = l.change_index
      WHERE l.change_at = ? OR l.change_at LIKE ?
      ORDER BY l.source_id, l.change_index`,
    [at, `%/${at.replace(/[\\%_]/g, (c) => `\\${c}`)}`],
  );
  return rows.map((r) => ({
    id: Number(r['id']),
    runId: Number(r['run_id']),
    seq: Number(r['seq']),
    sourceId: String(r['source_id']),
    changeAt: String(r['change_at']),
    changeIndex: Number(r['change_index']),
    gtid: text(r['gtid']),
    file: text(r['binlog_file']),
    pos: text(r['binlog_pos']),
    table: String(r['table_name']),
    op: String(r['op']),
    sourceKey: String(r['source_key']),
    class: String(r['class']),
    outcome: String(r['outcome']),
    newKey: text(r['new_key']),
    reason: text(r['reason']),
    rulePath: text(r['rule_path']),
    beforeImage: text(r['before_image']),
    afterImage: text(r['after_image']),
    drImage: text(r['dr_image']),
    recordedAt: String(r['recorded_at']),
    quarantineId: r['q_id'] === null || r['q_id'] === undefined ? null : Number(r['q_id']),
    quarantineStatus: text(r['q_status']),
    statement: text(r['q_statement']),
  }));
}

/** A lost insert a rule skipped during apply (its ledger row; no quarantine entry), with what a child's foreign key is matched on. */
export interface StoredSkippedInsert extends ChangeIdentity {
  readonly table: string;
  readonly class: string;
  readonly sourceKey: string;
  readonly afterImage: string | null;
  readonly rulePath: string | null;
}

/**
 * The inserts skipped during apply that no quarantine entry records (a review's skip is the
 * entry's), of every source: resolve refuses a row that points at one, as apply holds it (the DR
 * row at its key, if any, is another record). Read from `skipped_insert`, not a scan of the ledger.
 */
export async function readRuleSkippedInserts(session: SqlSession, schema: string): Promise<StoredSkippedInsert[]> {
  const q = stateTable(schema, 'quarantine');
  const l = stateTable(schema, 'ledger');
  const rows = await run(
    session,
    `SELECT l.source_id, l.change_at, l.change_index, l.table_name, l.class, l.source_key, l.after_image, l.rule_path
       FROM ${stateTable(schema, 'skipped_insert')} s
       JOIN ${l} l ON l.source_id = s.source_id AND l.change_at = s.change_at AND l.change_index = s.change_index
       LEFT JOIN ${q} q ON q.source_id = l.source_id AND q.change_at = l.change_at AND q.change_index = l.change_index
      WHERE q.id IS NULL
      ORDER BY l.id`,
  );
  return rows.map((r) => ({
    sourceId: String(r['source_id']),
    changeAt: String(r['change_at']),
    changeIndex: Number(r['change_index']),
    table: String(r['table_name']),
    class: String(r['class']),
    sourceKey: String(r['source_key']),
    afterImage: text(r['after_image']),
    rulePath: text(r['rule_path']),
  }));
}
