/**
 * Reads and writes of the DR-side state schema (state-schema.ts). Every function but those of the
 * `runs` row and the named locks (`startRun`, `failRun`, `markDeadResolveRuns`, …, autocommitted)
 * runs inside a transaction the caller opened (sql-session.ts `transaction`), the one that also
 * applies the data the rows describe: commit both or neither. Values are bound, except in the
 * multi-row INSERTs of the ledger, quarantine and key map, which are written with sql-literal.ts
 * (the same text mysql2 would splice in, built as one flat string); the ledger's full 500-row
 * statements go as prepared statements where the session can prepare (the ledger is most of the
 * bytes a run sends: insertBatches). Identifiers are quoted by stateTable. Server errors come back
 * through mapDbError (a second record of one change is DB_DUPLICATE).
 */
import { createHash } from 'node:crypto';
import { mapDbError } from './db-errors.js';
import { budgetUnder, oversize, PacketTooLargeError } from './packet-limit.js';
import { sqlLiteral } from './sql-literal.js';
import type { SqlResult, SqlSession } from './sql-session.js';
import { LAYOUT1_HELD_SKIPS, stateTable } from './state-schema.js';

/** Identifies a run: the AUTO_INCREMENT id of its `runs` row. */
export type RunId = number;

/** One column value of a key; BIGINT beyond 2^53 as bigint, binary columns as bytes. */
export type KeyPart = string | number | bigint | boolean | null | Uint8Array;

/** How a run ended. */
/**
 * `killed`: the run ended without recording how (SIGKILL, a host lost, a resolve whose DR could not
 * be reached to mark it failed); the next apply of its source says so, and for a resolve run the
 * next resolve or apply (its lock is free: markDeadResolveRuns).
 */
export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted' | 'killed';

/** Where the sink stands in one source's history. */
export interface Checkpoint {
  readonly sourceId: string;
  /** The GTID set applied so far, as the server prints it; null for a source without GTIDs. */
  readonly gtidSet: string | null;
  readonly file: string | null;
  readonly pos: bigint | null;
  readonly runId: RunId;
}

/** A checkpoint as read back, with the time it was written (UTC, `YYYY-MM-DD HH:MM:SS.ffffff`). */
export interface StoredCheckpoint extends Checkpoint {
  readonly updatedAt: string;
}

/** The run a batch of ledger rows belongs to: the same on every row of it. */
export interface LedgerRun {
  readonly runId: RunId;
  readonly sourceId: string;
}

/** What happened to one lost row change, in its run (LedgerRun). */
export interface LedgerRow {
  /** Order within the run. */
  readonly seq: number;
  readonly gtid: string | null;
  readonly file: string | null;
  readonly pos: bigint | null;
  /** Index of the row change within its transaction. */
  readonly changeIndex: number;
  /** The table as `schema.table`. */
  readonly table: string;
  /** `sql` for a statement of a statement-based transaction. */
  readonly op: 'insert' | 'update' | 'delete' | 'sql';
  readonly sourceKey: readonly KeyPart[];
  readonly class: string;
  readonly outcome: string;
  readonly newKey: readonly KeyPart[] | null;
  readonly reason: string | null;
  readonly rulePath: string | null;
  /** Canonical JSON of the row images (DESIGN.md, "Canonical JSON for row values"). */
  readonly beforeImage: string | null;
  readonly afterImage: string | null;
  readonly drImage: string | null;
  /** A second DR row the change met that dr_image does not show (reconcile's ChangeDecision.otherRow). */
  readonly otherImage?: string | null;
  /** A skipped insert whose row later runs hold back (reconcile's ChangeDecision.heldSkip): also recorded in `skipped_insert`. */
  readonly heldSkip?: boolean;
}

/** One remapped key: rows of `table` that had `oldKey` on the source have `newKey` on the DR. */
export interface KeyMapEntry {
  readonly table: string;
  readonly oldKey: readonly KeyPart[];
  readonly newKey: readonly KeyPart[];
  readonly runId: RunId;
  readonly gtid: string | null;
  /** A lost row linked onto an existing DR record (`link`), not re-keyed. */
  readonly isLink?: boolean;
}

/** A change held back for a person to decide; names its ledger row by the same change identity. */
export interface QuarantineRow {
  readonly runId: RunId;
  readonly sourceId: string;
  readonly gtid: string | null;
  readonly file: string | null;
  readonly pos: bigint | null;
  readonly changeIndex: number;
  readonly table: string;
  readonly reason: string | null;
  readonly beforeImage: string | null;
  readonly afterImage: string | null;
  readonly drImage: string | null;
  /** Canonical JSON keys of later changes that wait on this one. */
  readonly dependants: readonly string[];
  /**
   * The rows it holds back, as `[table, key]` pairs (key: src/model/row-key.ts), so a later run
   * quarantines the changes that depend on them too; empty for a statement.
   */
  readonly rowKeys: readonly (readonly [string, string])[];
  /** The change (`GTID#index`, or `file:pos#index`) because of which this one waits, when it waits on another. */
  readonly origin?: string | null;
  /** The SQL statement that produced the change (its binlog annotation), when the binlog logged one. */
  readonly statement?: string | null;
}

/** Rows per multi-row INSERT, and the bound bytes that end a statement early (well under max_allowed_packet). */
const MAX_ROWS_PER_STATEMENT = 500;
const MAX_BYTES_PER_STATEMENT = 4 << 20;

/** Canonical JSON of a key (DESIGN.md): integers beyond ±(2^53−1) as digit strings, bytes as base64. */
export function canonicalKey(parts: readonly KeyPart[]): string {
  // Numbers, text, booleans and null are their own canonical form: no copy of the key for them.
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (typeof part === 'bigint' || part instanceof Uint8Array) return JSON.stringify(parts.map(canonicalPart));
  }
  return JSON.stringify(parts);
}

function canonicalPart(part: KeyPart): string | number | boolean | null {
  if (typeof part === 'bigint') return part >= -9007199254740991n && part <= 9007199254740991n ? Number(part) : part.toString();
  if (part instanceof Uint8Array) return Buffer.from(part.buffer, part.byteOffset, part.byteLength).toString('base64');
  return part;
}

/** SHA-256 of a canonical key: the fixed-width index column of key_map. */
function keyHash(canonical: string): Buffer {
  return createHash('sha256').update(canonical, 'utf8').digest();
}

/** The change identity a ledger or quarantine row is unique on: the GTID, else file:pos. */
export function changeAt(gtid: string | null, file: string | null, pos: bigint | null): string {
  if (gtid !== null) return gtid;
  return `${file ?? ''}:${pos ?? ''}`;
}

async function run(session: SqlSession, sql: string, params?: readonly unknown[]): Promise<SqlResult> {
  try {
    return await session.query(sql, params);
  } catch (e) {
    throw mapDbError(e);
  }
}

/** Records the start of a run (autocommitted, before any transaction) and returns its id. */
export async function startRun(session: SqlSession, schema: string, sourceId: string, options: unknown): Promise<RunId> {
  const r = await run(session, `INSERT INTO ${stateTable(schema, 'runs')} (started_at, status, source_id, options) VALUES (UTC_TIMESTAMP(6), 'running', ?, ?)`, [
    sourceId,
    JSON.stringify(options ?? null),
  ]);
  return r.insertId;
}

/** The highest run id the state schema holds (0 when none): what startRun inserts comes after it. */
export async function lastRunId(session: SqlSession, schema: string): Promise<RunId> {
  const { rows } = await run(session, `SELECT CAST(COALESCE(MAX(id), 0) AS CHAR) AS id FROM ${stateTable(schema, 'runs')}`);
  return Number(rows[0]?.['id'] ?? 0);
}

/**
 * The row startRun inserted for `sourceId` with exactly `options` after run `after`, still
 * running; null when there is none. After a connection lost during that INSERT, it tells whether
 * the insert landed, so the run takes that row rather than adding a second one. The caller holds
 * the source's lock again, so another apply of the source that took it while the connection was
 * down has ended: only one that died, with the very same options, leaves a row this could take.
 */
export async function findStartedRun(session: SqlSession, schema: string, sourceId: string, after: RunId, options: unknown): Promise<RunId | null> {
  const { rows } = await run(
    session,
    `SELECT CAST(id AS CHAR) AS id FROM ${stateTable(schema, 'runs')} WHERE id > ? AND source_id = ? AND status = 'running' AND options = ? ORDER BY id DESC LIMIT 1`,
    [after, sourceId, JSON.stringify(options ?? null)],
  );
  return rows[0] === undefined ? null : Number(rows[0]['id']);
}

/** Keeps the run's report (JSON text) with the run, for `salvage report`. */
export async function recordRunSummary(session: SqlSession, schema: string, runId: RunId, summary: string): Promise<void> {
  await run(session, `UPDATE ${stateTable(schema, 'runs')} SET summary = ? WHERE id = ?`, [summary, runId]);
}

/** Marks a run finished with `status`, in the caller's transaction (the last window's, so the status commits with it). */
export async function finishRun(session: SqlSession, schema: string, runId: RunId, status: Exclude<RunStatus, 'running'>): Promise<void> {
  await run(session, `UPDATE ${stateTable(schema, 'runs')} SET finished_at = UTC_TIMESTAMP(6), status = ? WHERE id = ?`, [status, runId]);
}

/**
 * The DR-side lock of one source's applies: a named lock (GET_LOCK; MariaDB and MySQL alike) held by
 * the apply's DR session for as long as it runs. Two applies of one source at once would each apply
 * what the other applies, and a remapped row twice. The name is a digest, as MySQL allows 64
 * characters; the lock goes with the session, so a killed run leaves none behind.
 */
export function sourceLockName(schema: string, sourceId: string): string {
  return `binlog-salvage/${createHash('sha1').update(`${schema}\0${sourceId}`).digest('hex')}`;
}

/** What takeSourceLock found: the lock taken, or the connection id holding it (0 when not known). */
export type SourceLock = { readonly taken: true } | { readonly taken: false; readonly holder: number };

/** The session's connection id on the server (CONNECTION_ID()): what IS_USED_LOCK names a holder by. */
export async function sessionConnectionId(session: SqlSession): Promise<number> {
  const { rows } = await run(session, 'SELECT CONNECTION_ID() AS me');
  return Number(rows[0]?.['me']);
}

/** Takes the source's lock, waiting up to `waitSeconds`. */
export function takeSourceLock(session: SqlSession, schema: string, sourceId: string, waitSeconds = 0): Promise<SourceLock> {
  return takeNamedLock(session, sourceLockName(schema, sourceId), waitSeconds);
}

/** Takes the named lock `name` (sourceLockName, runLockName), waiting up to `waitSeconds`. */
export async function takeNamedLock(session: SqlSession, name: string, waitSeconds = 0): Promise<SourceLock> {
  const { rows } = await run(session, 'SELECT GET_LOCK(?, ?) AS got, IS_USED_LOCK(?) AS holder', [name, waitSeconds, name]);
  const r = (rows as Record<string, unknown>[])[0] ?? {};
  if (Number(r['got']) === 1) return { taken: true };
  return { taken: false, holder: r['holder'] === null || r['holder'] === undefined ? 0 : Number(r['holder']) };
}

/**
 * The DR-side lock of one resolve run, held by its DR session for as long as it runs, as an apply
 * holds its source's (sourceLockName): resolve has no source of its own to lock, so the lock is
 * named after the random token the run records in its `runs` row's options (`token`). A row still
 * `running` whose lock nobody holds belongs to a run that ended without recording how
 * (markDeadResolveRuns). 19 + 40 characters: within MySQL's 64.
 */
export function runLockName(schema: string, token: string): string {
  return `binlog-salvage/run/${createHash('sha1').update(`${schema}\0${token}`).digest('hex')}`;
}

/**
 * Releases the source's lock before the session closes. The lock would go with the session, but
 * the server ends a closed session a moment after the client has gone, and an apply started right
 * after this one (a script's next step) met the lock still held: SALVAGE_SOURCE_BUSY.
 */
export async function releaseSourceLock(session: SqlSession, schema: string, sourceId: string): Promise<void> {
  await run(session, 'SELECT RELEASE_LOCK(?) AS released', [sourceLockName(schema, sourceId)]);
}

/**
 * Runs of `sourceId` still marked running, other than `runId`, once this run holds the source's
 * lock: none of them can be running, so they were killed. Marked `killed`; returns their ids.
 */
export async function markKilledRuns(session: SqlSession, schema: string, sourceId: string, runId: RunId): Promise<string[]> {
  const { rows } = await run(session, `SELECT CAST(id AS CHAR) AS id FROM ${stateTable(schema, 'runs')} WHERE source_id = ? AND status = 'running' AND id <> ? AND JSON_UNQUOTE(JSON_EXTRACT(options, '$.mode')) = 'apply' ORDER BY id`, [sourceId, runId]);
  const ids = (rows as Record<string, unknown>[]).map((r) => String(r['id']));
  if (ids.length > 0) await run(session, `UPDATE ${stateTable(schema, 'runs')} SET status = 'killed' WHERE id IN (${ids.map(() => '?').join(', ')})`, ids);
  return ids;
}

/**
 * Resolve runs still marked running whose lock (runLockName) nobody holds, other than the run of
 * `ownToken`: their session is gone, so they ended without recording how — their connection lost
 * and not reopened, the DR down when they tried to mark their row failed, the process killed.
 * Marked `killed`, as markKilledRuns marks an apply's; returns their ids. A row of a version that
 * recorded no token is left as it is: nothing tells whether it still runs.
 */
export async function markDeadResolveRuns(session: SqlSession, schema: string, ownToken: string | null): Promise<string[]> {
  const { rows } = await run(
    session,
    `SELECT CAST(id AS CHAR) AS id, JSON_UNQUOTE(JSON_EXTRACT(options, '$.token')) AS token FROM ${stateTable(schema, 'runs')} WHERE status = 'running' AND JSON_UNQUOTE(JSON_EXTRACT(options, '$.mode')) = 'resolve' ORDER BY id`,
  );
  const dead: string[] = [];
  for (const r of rows as Record<string, unknown>[]) {
    const token = r['token'];
    if (typeof token !== 'string' || token === ownToken) continue;
    const { rows: free } = await run(session, 'SELECT IS_FREE_LOCK(?) AS free', [runLockName(schema, token)]);
    if (Number(free[0]?.['free']) !== 1) continue;
    // Still running only: the run may have ended (and said how) since it was read.
    const changed = await run(session, `UPDATE ${stateTable(schema, 'runs')} SET status = 'killed' WHERE id = ? AND status = 'running'`, [String(r['id'])]);
    if (changed.affectedRows > 0) dead.push(String(r['id']));
  }
  return dead;
}

/**
 * Marks a run `failed` with why (`summary`: `{"failure": {"code", "message"}}`), autocommitted:
 * resolve's, after the fault that stopped it, so the row does not stay `running`.
 */
export async function failRun(session: SqlSession, schema: string, runId: RunId, failure: { readonly code: string; readonly message: string }): Promise<void> {
  await run(session, `UPDATE ${stateTable(schema, 'runs')} SET finished_at = UTC_TIMESTAMP(6), status = 'failed', summary = ? WHERE id = ?`, [JSON.stringify({ failure }), runId]);
}

/** The checkpoint of `sourceId`, or undefined when the sink never committed a window of it. */
export async function readCheckpoint(session: SqlSession, schema: string, sourceId: string, options: { readonly forUpdate?: boolean } = {}): Promise<StoredCheckpoint | undefined> {
  // forUpdate (inside a transaction): waits for a transaction still writing the row — a window whose COMMIT is in flight.
  const { rows } = await run(
    session,
    `SELECT source_id, gtid_set, binlog_file, CAST(binlog_pos AS CHAR) AS binlog_pos, CAST(run_id AS CHAR) AS run_id, updated_at FROM ${stateTable(schema, 'checkpoint')} WHERE source_id = ?${options.forUpdate === true ? ' FOR UPDATE' : ''}`,
    [sourceId],
  );
  const row = rows[0];
  if (row === undefined) return undefined;
  const pos = row['binlog_pos'];
  return {
    sourceId: String(row['source_id']),
    gtidSet: nullableString(row['gtid_set']),
    file: nullableString(row['binlog_file']),
    pos: pos === null || pos === undefined ? null : BigInt(String(pos)),
    runId: Number(row['run_id']),
    updatedAt: String(row['updated_at']),
  };
}

/** The lowest key a remap may take, per table (`schema.table`), as the last committed window left it. */
export async function readKeyFloors(session: SqlSession, schema: string): Promise<Map<string, bigint>> {
  const { rows } = await run(session, `SELECT table_name, CAST(next_key AS CHAR) AS next_key FROM ${stateTable(schema, 'key_floor')}`);
  return new Map(rows.map((r) => [String(r['table_name']), BigInt(String(r['next_key']))]));
}

/** Upserts key floors, in the caller's transaction (or autocommitted, before the first window). */
export async function writeKeyFloors(session: SqlSession, schema: string, runId: RunId, floors: ReadonlyMap<string, bigint>): Promise<void> {
  for (const [table, next] of floors) {
    await run(
      session,
      `INSERT INTO ${stateTable(schema, 'key_floor')} (table_name, next_key, run_id, updated_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE next_key = GREATEST(next_key, ?), run_id = ?, updated_at = UTC_TIMESTAMP(6)`,
      [table, next.toString(), runId, next.toString(), runId],
    );
  }
}

/** The GTID sets of every source's checkpoint: a GTID names one transaction whatever the files it was read from were called. */
export async function checkpointGtidSets(session: SqlSession, schema: string): Promise<string[]> {
  const { rows } = await run(session, `SELECT gtid_set FROM ${stateTable(schema, 'checkpoint')} WHERE gtid_set IS NOT NULL`);
  return rows.map((r) => String(r['gtid_set']));
}

/** Upserts the checkpoint of `checkpoint.sourceId`, in the caller's transaction. */
export async function writeCheckpoint(session: SqlSession, schema: string, checkpoint: Checkpoint): Promise<void> {
  const values = [checkpoint.gtidSet, checkpoint.file, checkpoint.pos === null ? null : checkpoint.pos.toString(), checkpoint.runId];
  // The values are bound twice rather than read through VALUES(), which MySQL 8.0.20+ deprecates and MariaDB's alias syntax lacks.
  await run(
    session,
    `INSERT INTO ${stateTable(schema, 'checkpoint')} (source_id, gtid_set, binlog_file, binlog_pos, run_id, updated_at) VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6))
     ON DUPLICATE KEY UPDATE gtid_set = ?, binlog_file = ?, binlog_pos = ?, run_id = ?, updated_at = UTC_TIMESTAMP(6)`,
    [checkpoint.sourceId, ...values, ...values],
  );
}

/**
 * Records ledger rows of `run` with multi-row INSERTs, in the caller's transaction; a change already
 * recorded fails DB_DUPLICATE. `rows` is read one statement's worth at a time: a generator's rows
 * are made while the DR runs the statement before.
 */
export async function recordLedger(session: SqlSession, schema: string, run: LedgerRun, rows: Iterable<LedgerRow>, maxPacket?: number): Promise<void> {
  const head = `INSERT INTO ${stateTable(schema, 'ledger')} (run_id, source_id, seq, change_at, change_index, gtid, binlog_file, binlog_pos, table_name, op, source_key, class, outcome, new_key, reason, rule_path, before_image, after_image, dr_image, other_image, recorded_at) VALUES `;
  const tuple = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))'.split('?');
  // The run's id and source, the same on every row, are written into the text, after the split (a
  // source id may hold a `?`): two values fewer to bind per row (mysql2 makes an object per bound
  // value; ≈ 45 MB on a 200,000-change apply). The text is the same for the whole run, so the
  // connection still prepares it once.
  tuple[0] = `(${sqlLiteral(run.runId)}, ${sqlLiteral(run.sourceId)}, `;
  const held: LedgerRow[] = [];
  const write = (r: LedgerRow, out: unknown[], at: number): void => {
    writeLedgerValues(r, out, at);
    if (r.heldSkip === true) held.push(r);
  };
  await insertBatches(session, head, tuple, rows, write, { prepare: true, maxPacket, describe: (r) => ({ table: r.table, statement: 'ledger', key: canonicalKey(r.sourceKey), change: changeAt(r.gtid, r.file, r.pos) }) });
  if (held.length > 0) {
    await insertBatches(session, `INSERT INTO ${stateTable(schema, 'skipped_insert')} (source_id, change_at, change_index) VALUES `, `(${sqlLiteral(run.sourceId)}, ?, ?)`.split('?'), held, (r, out, at) => {
      out[at] = changeAt(r.gtid, r.file, r.pos);
      out[at + 1] = r.changeIndex;
    }, { maxPacket });
  }
}

/**
 * Records that a quarantined insert was skipped by review, in the caller's transaction: later runs
 * hold its row as they hold an insert a rule skipped (`skipped_insert`).
 */
export async function recordSkippedInsert(session: SqlSession, schema: string, change: { readonly sourceId: string; readonly changeAt: string; readonly changeIndex: number }): Promise<void> {
  await run(session, `INSERT IGNORE INTO ${stateTable(schema, 'skipped_insert')} (source_id, change_at, change_index) VALUES (?, ?, ?)`, [change.sourceId, change.changeAt, change.changeIndex]);
}

function writeLedgerValues(r: LedgerRow, out: unknown[], at: number): void {
  out[at] = r.seq;
  out[at + 1] = changeAt(r.gtid, r.file, r.pos);
  out[at + 2] = r.changeIndex;
  out[at + 3] = r.gtid;
  out[at + 4] = r.file;
  out[at + 5] = r.pos === null ? null : r.pos.toString();
  out[at + 6] = r.table;
  out[at + 7] = r.op;
  out[at + 8] = canonicalKey(r.sourceKey);
  out[at + 9] = r.class;
  out[at + 10] = r.outcome;
  out[at + 11] = r.newKey === null ? null : canonicalKey(r.newKey);
  out[at + 12] = r.reason;
  out[at + 13] = r.rulePath;
  out[at + 14] = r.beforeImage;
  out[at + 15] = r.afterImage;
  out[at + 16] = r.drImage;
  out[at + 17] = r.otherImage ?? null;
}

/** Records quarantined changes (status pending), in the caller's transaction. */
export async function recordQuarantine(session: SqlSession, schema: string, rows: readonly QuarantineRow[], maxPacket?: number): Promise<void> {
  const head = `INSERT INTO ${stateTable(schema, 'quarantine')} (run_id, source_id, change_at, change_index, table_name, status, reason, before_image, after_image, dr_image, dependants, row_keys, origin, statement, created_at) VALUES `;
  await insertBatches(session, head, "(?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))".split('?'), rows, (r, out, at) => {
    out[at] = r.runId;
    out[at + 1] = r.sourceId;
    out[at + 2] = changeAt(r.gtid, r.file, r.pos);
    out[at + 3] = r.changeIndex;
    out[at + 4] = r.table;
    out[at + 5] = r.reason;
    out[at + 6] = r.beforeImage;
    out[at + 7] = r.afterImage;
    out[at + 8] = r.drImage;
    out[at + 9] = JSON.stringify(r.dependants);
    out[at + 10] = JSON.stringify(r.rowKeys);
    out[at + 11] = r.origin ?? null;
    out[at + 12] = r.statement ?? null;
  }, { maxPacket, describe: (r) => ({ table: r.table, statement: 'quarantine', key: null, change: changeAt(r.gtid, r.file, r.pos) }) });
}

/** The rows held back by pending quarantine entries of `sourceId`: `[table, key, change]` triples. */
export async function pendingQuarantineRows(session: SqlSession, schema: string): Promise<[string, string, string][]> {
  const { rows } = await run(session, `SELECT change_at, change_index, row_keys FROM ${stateTable(schema, 'quarantine')} WHERE status = 'pending' ORDER BY id`);
  const out: [string, string, string][] = [];
  for (const row of rows) {
    const keys = JSON.parse(String(row['row_keys'] ?? '[]')) as [string, string][];
    for (const [table, key] of keys) out.push([table, key, `${String(row['change_at'])}#${String(row['change_index'])}`]);
  }
  return out;
}

/**
 * The after images of `sourceId`'s pending quarantine entries (those that have one), in the order
 * they were decided: table, change (`change_at#change_index`), canonical JSON text and the before
 * image beside it (null for an insert), `pageRows` at a time, so a large quarantine is never held
 * in memory whole.
 */
export async function* pendingQuarantineImages(session: SqlSession, schema: string, pageRows = 5000): AsyncGenerator<{ table: string; change: string; afterImage: string; beforeImage: string | null }> {
  let after = '0';
  for (;;) {
    const { rows } = await run(
      session,
      `SELECT id, table_name, change_at, change_index, before_image, after_image FROM ${stateTable(schema, 'quarantine')} WHERE status = 'pending' AND after_image IS NOT NULL AND id > ? ORDER BY id LIMIT ${pageRows}`,
      [after],
    );
    for (const r of rows) {
      const before = r['before_image'];
      yield { table: String(r['table_name']), change: `${String(r['change_at'])}#${String(r['change_index'])}`, afterImage: String(r['after_image']), beforeImage: before === null || before === undefined ? null : String(before) };
    }
    if (rows.length < pageRows) return;
    after = String(rows[rows.length - 1]!['id']);
  }
}

/**
 * Lost inserts that were skipped — by a rule, or by `resolve` (which records the outcome in the
 * ledger) — other than as already applied: the DR row at such a key, if any, is another record,
 * so the source row's later changes are held in every later run as in the run that skipped it.
 * Table, the source key (canonical JSON), the change (`change_at#change_index`) and the after image
 * (canonical JSON, null when not kept: its unique values then hold nothing), of every source.
 */
export async function skippedInserts(session: SqlSession, schema: string): Promise<{ table: string; sourceKey: string; change: string; afterImage: string | null }[]> {
  const layout1 = (await run(session, "SELECT 1 AS x FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'skipped_insert'", [schema])).rows.length === 0;
  // A schema of layout 1 (plan reads it as it is; apply reads it before migrating it) records them in the ledger alone.
  const { rows } = await run(
    session,
    layout1
      ? `SELECT table_name, source_key, change_at, change_index, after_image FROM ${stateTable(schema, 'ledger')} WHERE ${LAYOUT1_HELD_SKIPS} ORDER BY id`
      : `SELECT l.table_name, l.source_key, l.change_at, l.change_index, l.after_image
           FROM ${stateTable(schema, 'skipped_insert')} s
           JOIN ${stateTable(schema, 'ledger')} l ON l.source_id = s.source_id AND l.change_at = s.change_at AND l.change_index = s.change_index
          ORDER BY l.id`,
  );
  return rows.map((r) => ({
    table: String(r['table_name']),
    sourceKey: String(r['source_key']),
    change: `${String(r['change_at'])}#${String(r['change_index'])}`,
    afterImage: r['after_image'] === null || r['after_image'] === undefined ? null : String(r['after_image']),
  }));
}

/** Keys per ledger scan of ledgerWrites: twice that many placeholders, with the tables'. */
const LEDGER_KEYS_PER_SCAN = 10_000;

/**
 * Which of the DR rows `wanted` (table → canonical keys) the lost changes of `sourceId` wrote in
 * runs other than `exceptRun` (null: in any run, this one's committed windows included): an insert
 * or update applied, merged or remapped there, at its source key or the key it was moved to
 * (new_key). Per table and key the first such change (`GTID#index` or `file:pos#index`) and its run.
 * One scan of the ledger: no index on its keys, since each index costs every ledger row written
 * (bench/README.md); so asked only for the rows delete-blocking may delete and their children, a
 * rare path.
 */
export async function ledgerWrites(
  session: SqlSession,
  schema: string,
  sourceId: string,
  exceptRun: RunId | null,
  wanted: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<Map<string, Map<string, { readonly change: string; readonly runId: RunId }>>> {
  const found = new Map<string, Map<string, { readonly change: string; readonly runId: RunId }>>();
  const tables = [...wanted.keys()];
  const keys = [...new Set([...wanted.values()].flatMap((k) => [...k]))];
  if (tables.length === 0 || keys.length === 0) return found;
  const marks = (n: number): string => new Array<string>(n).fill('?').join(', ');
  const rows: Record<string, unknown>[] = [];
  // Each statement a scan: as many keys per statement as keeps it well under the 65,535 placeholders.
  for (let at = 0; at < keys.length; at += LEDGER_KEYS_PER_SCAN) {
    const chunk = keys.slice(at, at + LEDGER_KEYS_PER_SCAN);
    const answer = await run(
      session,
      `SELECT id, run_id, table_name, source_key, new_key, change_at, change_index FROM ${stateTable(schema, 'ledger')}
       WHERE source_id = ? AND run_id <> ? AND op IN ('insert', 'update') AND outcome IN ('applied', 'merged', 'remapped')
         AND table_name IN (${marks(tables.length)}) AND (new_key IN (${marks(chunk.length)}) OR (new_key IS NULL AND source_key IN (${marks(chunk.length)})))`,
      // No run has id 0 (AUTO_INCREMENT): every run's rows.
      [sourceId, exceptRun ?? 0, ...tables, ...chunk, ...chunk],
    );
    rows.push(...(answer.rows as Record<string, unknown>[]));
  }
  // The first change per key, whichever statement found it.
  rows.sort((a, b) => (BigInt(String(a['id'])) < BigInt(String(b['id'])) ? -1 : 1));
  for (const r of rows) {
    const table = String(r['table_name']);
    const key = r['new_key'] === null ? String(r['source_key']) : String(r['new_key']);
    if (wanted.get(table)?.has(key) !== true) continue;
    let byKey = found.get(table);
    if (byKey === undefined) found.set(table, (byKey = new Map()));
    if (!byKey.has(key)) byKey.set(key, { change: `${String(r['change_at'])}#${String(r['change_index'])}`, runId: Number(r['run_id']) });
  }
  return found;
}

/** Every remapped key recorded on the DR, in the order they were made. */
export async function loadKeyMap(session: SqlSession, schema: string): Promise<{ table: string; oldKey: string; newKey: string }[]> {
  const { rows } = await run(session, `SELECT table_name, old_key, new_key FROM ${stateTable(schema, 'key_map')} ORDER BY run_id, gtid, table_name`);
  return rows.map((r) => ({ table: String(r['table_name']), oldKey: String(r['old_key']), newKey: String(r['new_key']) }));
}

/** Records remapped keys, in the caller's transaction; a second mapping of one old key fails DB_DUPLICATE. */
export async function recordKeyMap(session: SqlSession, schema: string, entries: readonly KeyMapEntry[]): Promise<void> {
  const head = `INSERT INTO ${stateTable(schema, 'key_map')} (table_name, old_key_hash, old_key, new_key, run_id, gtid, is_link) VALUES `;
  await insertBatches(session, head, '(?, ?, ?, ?, ?, ?, ?)'.split('?'), entries, (e, out, at) => {
    const old = canonicalKey(e.oldKey);
    out[at] = e.table;
    out[at + 1] = keyHash(old);
    out[at + 2] = old;
    out[at + 3] = canonicalKey(e.newKey);
    out[at + 4] = e.runId;
    out[at + 5] = e.gtid;
    out[at + 6] = e.isLink === true ? 1 : 0;
  });
}

/** The new keys of those `oldKeys` of `table` that were remapped: canonical old key → canonical new key. */
export async function lookupKeyMap(session: SqlSession, schema: string, table: string, oldKeys: readonly (readonly KeyPart[])[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const wanted = new Set(oldKeys.map(canonicalKey));
  const all = [...wanted];
  for (let i = 0; i < all.length; i += MAX_ROWS_PER_STATEMENT) {
    const chunk = all.slice(i, i + MAX_ROWS_PER_STATEMENT);
    const { rows } = await run(
      session,
      `SELECT old_key, new_key FROM ${stateTable(schema, 'key_map')} WHERE table_name = ? AND old_key_hash IN (${chunk.map(() => '?').join(', ')})`,
      [table, ...chunk.map(keyHash)],
    );
    for (const row of rows) {
      const old = String(row['old_key']);
      // The text comparison guards against a hash collision, however unlikely.
      if (wanted.has(old)) found.set(old, String(row['new_key']));
    }
  }
  return found;
}

/** What a statement of insertBatches knows of the row it cannot fit: PacketTooLargeError's facts but the sizes. */
type Described = Pick<ConstructorParameters<typeof PacketTooLargeError>[0], 'table' | 'statement' | 'key' | 'change'>;

interface BatchOptions<T> {
  /** Full statements go as prepared statements where the session can prepare. */
  readonly prepare?: boolean;
  /** The DR's max_allowed_packet: a statement over it is sent as smaller ones; a single row over it fails (packet-limit.ts). */
  readonly maxPacket?: number;
  /** Names an item a statement cannot carry under maxPacket. */
  readonly describe?: (item: T) => Described;
}

/**
 * Writes `items` with as few multi-row INSERTs as the row and byte limits allow, each statement's
 * text written at once: `tuple` is a row's text split at its value marks (the engine's tuples quote
 * no `?` but in the literals recordLedger puts in), the values between filled with sqlLiteral.
 * `write` puts an item's values, one per gap of `tuple`, into the statement's flat list of values:
 * the list the driver binds, sized for a full statement up front, with no array per row copied into
 * it (≈ 160 MB less allocated on a 200,000-change apply, and ≈ 100 MB more saved against growing
 * the list by push).
 *
 * With `prepare` over a session that can prepare, a full statement (MAX_ROWS_PER_STATEMENT rows)
 * is a prepared statement instead: its values travel in the binary protocol, so the client escapes
 * nothing and the DR lexes no literals (the ledger's images are ≈ 70 % of the bytes a run sends).
 * Only the full size is prepared, so a connection holds one statement per table however its
 * windows end; the shorter last statement of a window goes as text.
 *
 * Under `maxPacket`, the byte budget is a quarter of it, a statement is prepared only when its
 * values are sure to fit (else it goes as text), and a text over it is sent in halves.
 */
async function insertBatches<T>(session: SqlSession, head: string, tuple: readonly string[], items: Iterable<T>, write: (item: T, out: unknown[], at: number) => void, options: BatchOptions<T> = {}): Promise<void> {
  const execute = options.prepare === true ? session.execute?.bind(session) : undefined;
  const limit = options.maxPacket;
  const maxBytes = budgetUnder(MAX_BYTES_PER_STATEMENT, limit);
  // Built once per call: the driver finds its prepared statement by this text.
  let preparedSql: string | undefined;
  const width = tuple.length - 1;
  let values: unknown[] | null = null;
  /** The batch's items, kept to name the one that cannot fit (under a limit only). */
  let batchItems: T[] = [];
  let rows = 0;
  let bytes = 0;
  /** Sends `count` rows of `batch` from row `first` as text, in halves while over the limit. */
  const sendText = async (batch: unknown[], first: number, count: number): Promise<void> => {
    const slice = first === 0 && count * width === batch.length ? batch : batch.slice(first * width, (first + count) * width);
    const sql = literalText(head, tuple, slice);
    const over = oversize(sql, limit);
    if (over === null) return void (await run(session, sql));
    if (count === 1) {
      const item = batchItems[first];
      const facts = item === undefined || options.describe === undefined ? { table: '', statement: 'state', key: null, change: null } : options.describe(item);
      throw new PacketTooLargeError({ ...facts, bytes: over, maxAllowedPacket: limit! });
    }
    const half = Math.ceil(count / 2);
    await sendText(batch, first, half);
    await sendText(batch, first + half, count - half);
  };
  const flush = async (): Promise<void> => {
    if (values === null || rows === 0) return;
    const batch = values;
    const count = rows;
    const full = rows === MAX_ROWS_PER_STATEMENT;
    // Binary values are their bytes plus a length of at most 9; text at most 3 bytes per UTF-16 unit (bytes counts units).
    const preparedFits = limit === undefined || bytes * 3 + count * width * 12 + 65536 < limit;
    batch.length = rows * width;
    values = null;
    rows = 0;
    bytes = 0;
    if (execute !== undefined && full && preparedFits) {
      preparedSql ??= head + new Array<string>(MAX_ROWS_PER_STATEMENT).fill(tuple.join('?')).join(', ');
      await runPrepared(execute, preparedSql, batch);
    } else await sendText(batch, 0, count);
    batchItems = [];
  };
  for (const item of items) {
    values ??= new Array<unknown>(width * MAX_ROWS_PER_STATEMENT);
    const at = rows * width;
    write(item, values, at);
    if (limit !== undefined) batchItems.push(item);
    rows++;
    for (let i = at; i < at + width; i++) bytes += approximateBytes(values[i]);
    if (rows >= MAX_ROWS_PER_STATEMENT || bytes >= maxBytes) await flush();
  }
  await flush();
}

/** The statement's text with every value written as a literal (between the `pieces` of a row's text, row after row). */
function literalText(head: string, pieces: readonly string[], values: readonly unknown[]): string {
  const width = pieces.length - 1;
  const parts: string[] = [head];
  for (let start = 0; start < values.length; start += width) {
    if (start > 0) parts.push(', ');
    for (let i = 0; i < width; i++) parts.push(pieces[i]!, sqlLiteral(values[start + i]));
    parts.push(pieces[width]!);
  }
  return parts.join('');
}

async function runPrepared(execute: (sql: string, params: readonly unknown[]) => Promise<SqlResult>, sql: string, params: readonly unknown[]): Promise<void> {
  try {
    await execute(sql, params);
  } catch (e) {
    throw mapDbError(e);
  }
}

/** About the length of the value's literal, for the statement's byte limit (a string's escapes left out). */
function approximateBytes(value: unknown): number {
  if (typeof value === 'string') return value.length + 2;
  if (value instanceof Uint8Array) return value.byteLength * 2 + 3;
  return 8;
}

function nullableString(v: unknown): string | null {
  return v === null || v === undefined ? null : String(v);
}
