/**
 * Reads of one past run from the DR-side state schema (state-schema.ts), for `salvage report`: its
 * `runs` row, its ledger summed per table × class × outcome (with the quarantine status of each
 * change, since a review rewrites the ledger's outcome), the first and last change it recorded, the
 * keys it remapped and the changes it quarantined. Read-only; values bound, identifiers quoted by
 * stateTable.
 */
import { mapDbError } from './db-errors.js';
import { hasColumn } from './quarantine-store.js';
import type { SqlRow, SqlSession } from './sql-session.js';
import { stateTable } from './state-schema.js';

/** A `runs` row. */
export interface StoredRun {
  readonly id: number;
  /** UTC, `YYYY-MM-DD HH:MM:SS.ffffff`. */
  readonly startedAt: string;
  readonly finishedAt: string | null;
  readonly status: string;
  readonly sourceId: string;
  /** The options the run recorded, as JSON text (`{mode, binlogs | source, start, follow, stateSchema}`; resolve: `{mode: "resolve", …}`). */
  readonly options: string;
}

/** Ledger rows of a run with one table, class, outcome now, and quarantine status (null: never quarantined). */
export interface LedgerCount {
  readonly table: string;
  readonly class: string;
  readonly outcome: string;
  readonly quarantineStatus: string | null;
  readonly count: number;
}

/** A change as the ledger names it. */
export interface LedgerPoint {
  /** The GTID, else `file:pos`. */
  readonly changeAt: string;
  readonly gtid: string | null;
  /** Kept only for a change without a GTID. */
  readonly file: string | null;
  readonly pos: number | null;
}

/** How much a run recorded, and its first and last change in source order. */
export interface LedgerSpan {
  readonly transactions: number;
  readonly rowChanges: number;
  readonly first: LedgerPoint | null;
  readonly last: LedgerPoint | null;
}

/** A key the run remapped; keys as the canonical JSON text stored. */
export interface StoredRemap {
  readonly table: string;
  readonly oldKey: string;
  readonly newKey: string;
  readonly gtid: string | null;
  /** A lost row linked to an existing DR record (strategy `link`), not re-keyed. */
  readonly linked: boolean;
}

/** A change the run quarantined, with its ledger facts; images and key as the canonical JSON text stored. */
export interface StoredRunQuarantine {
  readonly id: number;
  readonly changeAt: string;
  readonly changeIndex: number;
  readonly gtid: string | null;
  readonly table: string;
  readonly status: string;
  readonly reason: string | null;
  readonly beforeImage: string | null;
  readonly afterImage: string | null;
  readonly drImage: string | null;
  /** From the ledger row (empty when it is missing). */
  readonly op: string;
  readonly class: string;
  readonly sourceKey: string | null;
  /** The ledger's reason: once resolved, how. */
  readonly ledgerReason: string | null;
  /** The SQL statement that produced the change (its binlog annotation), null without one. */
  readonly statement: string | null;
}

async function rows(session: SqlSession, sql: string, params?: readonly unknown[]): Promise<readonly SqlRow[]> {
  try {
    return (await session.query(sql, params)).rows;
  } catch (e) {
    throw mapDbError(e);
  }
}

function text(v: unknown): string | null {
  return v === null || v === undefined ? null : Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

function toRun(r: SqlRow): StoredRun {
  return {
    id: Number(r['id']),
    startedAt: String(r['started_at']),
    finishedAt: text(r['finished_at']),
    status: String(r['status']),
    sourceId: String(r['source_id']),
    options: text(r['options']) ?? 'null',
  };
}

/** A run's recorded options as an object (`{}` when the text is not a JSON object): callers check each field's type. */
export function runOptions(text: string): Readonly<Record<string, unknown>> {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

const RUN_COLUMNS = 'CAST(id AS CHAR) AS id, started_at, finished_at, status, source_id, options';

/** Every run, newest first. */
export async function readRuns(session: SqlSession, schema: string): Promise<StoredRun[]> {
  // Ordered by the column, not the CAST alias of the same name: as text, run 9 came before run 10.
  return (await rows(session, `SELECT ${RUN_COLUMNS} FROM ${stateTable(schema, 'runs')} r ORDER BY r.id DESC`)).map(toRun);
}

/** The run with this id, or undefined. */
export async function readRun(session: SqlSession, schema: string, id: number): Promise<StoredRun | undefined> {
  const found = await rows(session, `SELECT ${RUN_COLUMNS} FROM ${stateTable(schema, 'runs')} WHERE id = ?`, [id]);
  return found[0] === undefined ? undefined : toRun(found[0]);
}

/** The report the run kept (JSON text), or null: a run of an older version, or one that stopped before its end. */
export async function readRunSummary(session: SqlSession, schema: string, id: number): Promise<string | null> {
  try {
    const found = await rows(session, `SELECT summary FROM ${stateTable(schema, 'runs')} WHERE id = ?`, [id]);
    return text(found[0]?.['summary']);
  } catch (e) {
    // A state schema written before the column existed (and not opened by an apply since).
    if ((e as { details?: { errno?: unknown } }).details?.errno === 1054) return null;
    throw e;
  }
}

/** The run's ledger rows counted per table, class, outcome (now) and quarantine status. */
export async function readLedgerCounts(session: SqlSession, schema: string, runId: number): Promise<LedgerCount[]> {
  const found = await rows(
    session,
    `SELECT l.table_name, l.class, l.outcome, q.status AS q_status, CAST(COUNT(*) AS CHAR) AS n
       FROM ${stateTable(schema, 'ledger')} l
       LEFT JOIN ${stateTable(schema, 'quarantine')} q ON q.source_id = l.source_id AND q.change_at = l.change_at AND q.change_index = l.change_index
      WHERE l.run_id = ?
      GROUP BY l.table_name, l.class, l.outcome, q.status
      ORDER BY l.table_name, l.class, l.outcome, q.status`,
    [runId],
  );
  return found.map((r) => ({ table: String(r['table_name']), class: String(r['class']), outcome: String(r['outcome']), quarantineStatus: text(r['q_status']), count: Number(r['n']) }));
}

/** How many transactions and row changes the run recorded, and its first and last change (by `seq`, the run's order). */
export async function readLedgerSpan(session: SqlSession, schema: string, runId: number): Promise<LedgerSpan> {
  const l = stateTable(schema, 'ledger');
  const totals = await rows(session, `SELECT CAST(COUNT(DISTINCT change_at) AS CHAR) AS tx, CAST(COUNT(*) AS CHAR) AS n FROM ${l} WHERE run_id = ?`, [runId]);
  const point = async (order: 'ASC' | 'DESC'): Promise<LedgerPoint | null> => {
    const found = await rows(session, `SELECT change_at, gtid, binlog_file, CAST(binlog_pos AS CHAR) AS binlog_pos FROM ${l} WHERE run_id = ? ORDER BY seq ${order} LIMIT 1`, [runId]);
    const r = found[0];
    if (r === undefined) return null;
    const pos = text(r['binlog_pos']);
    return { changeAt: String(r['change_at']), gtid: text(r['gtid']), file: text(r['binlog_file']), pos: pos === null ? null : Number(pos) };
  };
  return { transactions: Number(totals[0]?.['tx'] ?? 0), rowChanges: Number(totals[0]?.['n'] ?? 0), first: await point('ASC'), last: await point('DESC') };
}

/** The latest run before `runId` that recorded a lost change in the ledger (only applies do), or null. */
export async function readEarlierLedgerRun(session: SqlSession, schema: string, runId: number): Promise<number | null> {
  // by_run (run_id, seq): the newest such run is the index's last entry below runId.
  const found = await rows(session, `SELECT CAST(MAX(run_id) AS CHAR) AS id FROM ${stateTable(schema, 'ledger')} WHERE run_id < ?`, [runId]);
  const id = text(found[0]?.['id']);
  return id === null ? null : Number(id);
}

/** The keys the run remapped, in source order. */
export async function readRunRemaps(session: SqlSession, schema: string, runId: number): Promise<StoredRemap[]> {
  const found = await rows(session, `SELECT table_name, old_key, new_key, gtid, is_link FROM ${stateTable(schema, 'key_map')} WHERE run_id = ?`, [runId]);
  // The key map keeps no order of its own: its transactions' places in the run's ledger give it,
  // read in one pass over the run's rows (by_run) rather than one lookup per remap.
  const order = new Map<string, number>();
  for (const r of await rows(session, `SELECT change_at, MIN(seq) AS seq FROM ${stateTable(schema, 'ledger')} WHERE run_id = ? AND new_key IS NOT NULL GROUP BY change_at`, [runId])) {
    order.set(String(r['change_at']), Number(r['seq']));
  }
  // The key map says which mappings are links (is_link) since the column was added; before it, it
  // recorded a link and a remap alike, and the ledger row of the insert that made the mapping
  // tells them apart: a link merges the lost row into the DR record (`merged`, reconciler.ts
  // #link), a remap writes it under a fresh key (`remapped`). Links are few: read only those rows.
  const links = new Set<string>();
  for (const r of await rows(session, `SELECT table_name, source_key, new_key, change_at FROM ${stateTable(schema, 'ledger')} WHERE run_id = ? AND op = 'insert' AND outcome = 'merged' AND new_key IS NOT NULL`, [runId])) {
    const mapping = `${String(r['table_name'])}\u0000${String(r['source_key'])}\u0000${String(r['new_key'])}`;
    links.add(mapping).add(`${mapping}\u0000${String(r['change_at'])}`);
  }
  const remaps = found.map((r) => {
    const mapping = `${String(r['table_name'])}\u0000${String(r['old_key'])}\u0000${String(r['new_key'])}`;
    const gtid = text(r['gtid']);
    // With a GTID, the insert of that very transaction (a later change may meet the mapped row too).
    return { table: String(r['table_name']), oldKey: String(r['old_key']), newKey: String(r['new_key']), gtid, linked: Number(r['is_link']) === 1 || links.has(gtid === null ? mapping : `${mapping}\u0000${gtid}`) };
  });
  const place = (m: StoredRemap): number => (m.gtid === null ? Number.MAX_SAFE_INTEGER : (order.get(m.gtid) ?? Number.MAX_SAFE_INTEGER));
  return remaps.sort((a, b) => place(a) - place(b) || compare(a.table, b.table) || compare(a.oldKey, b.oldKey));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Where the run left out DDL (`--ddl skip`): the ledger keeps where, not the statement. */
export async function readRunSkippedDdl(session: SqlSession, schema: string, runId: number): Promise<string[]> {
  const found = await rows(session, `SELECT change_at FROM ${stateTable(schema, 'ledger')} WHERE run_id = ? AND class = 'ddl' ORDER BY seq`, [runId]);
  return found.map((r) => String(r['change_at']));
}

/** The first `limit` changes the run quarantined, in the order they were held back. */
export async function readRunQuarantine(session: SqlSession, schema: string, runId: number, limit: number): Promise<StoredRunQuarantine[]> {
  // A state schema no apply has touched since the column was added has no statement yet.
  const statement = (await hasColumn(session, schema, 'quarantine', 'statement')) ? 'q.statement' : 'NULL';
  const found = await rows(
    session,
    `SELECT CAST(q.id AS CHAR) AS id, q.change_at, q.change_index, q.table_name, q.status, q.reason, q.before_image, q.after_image, q.dr_image,
            ${statement} AS statement, l.gtid, l.op, l.class, l.source_key, l.reason AS ledger_reason
       FROM ${stateTable(schema, 'quarantine')} q
       LEFT JOIN ${stateTable(schema, 'ledger')} l ON l.source_id = q.source_id AND l.change_at = q.change_at AND l.change_index = q.change_index
      WHERE q.run_id = ?
      ORDER BY q.id
      LIMIT ${Math.max(0, Math.floor(limit))}`,
    [runId],
  );
  return found.map((r) => ({
    id: Number(r['id']),
    changeAt: String(r['change_at']),
    changeIndex: Number(r['change_index']),
    gtid: text(r['gtid']),
    table: String(r['table_name']),
    status: String(r['status']),
    reason: text(r['reason']),
    beforeImage: text(r['before_image']),
    afterImage: text(r['after_image']),
    drImage: text(r['dr_image']),
    op: text(r['op']) ?? '',
    class: text(r['class']) ?? '',
    sourceKey: text(r['source_key']),
    ledgerReason: text(r['ledger_reason']),
    statement: text(r['statement']),
  }));
}
