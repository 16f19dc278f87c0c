/**
 * The DR-side state schema of the sink (DESIGN.md, "Exactly once and resume"): runs, the
 * checkpoint, the key map, the ledger of every lost row change, and the quarantine. The sink
 * writes them in the same DR transaction as the data they describe, so a run killed at any
 * moment resumes to the state of one never interrupted.
 *
 * Portable DDL only (MariaDB 10.11 and MySQL 8): InnoDB, utf8mb4 with the binary collation (table
 * names and keys compare byte for byte, as the binlog gives them), JSON kept as LONGTEXT, times
 * as UTC DATETIME(6). `plan` never calls this: it writes nothing to the DR.
 */
import { EngineError } from '../errors.js';
import type { SqlSession } from './sql-session.js';

/** The schema the sink uses unless configured otherwise. */
export const DEFAULT_STATE_SCHEMA = 'salvage';

/**
 * The layout version this module creates; a later one migrates from the row it finds.
 * 2: the `skipped_insert` table. An engine of layout 1 would skip inserts without recording them
 * there, and later runs would not hold their rows: it must refuse the schema, so the version moves.
 */
export const STATE_SCHEMA_VERSION = 2;

/** Stable codes of state-schema failures. */
export const StateSchemaErrorCode = {
  BadName: 'STATE_BAD_SCHEMA_NAME',
  NewerVersion: 'STATE_SCHEMA_TOO_NEW',
} as const;
export type StateSchemaErrorCode = (typeof StateSchemaErrorCode)[keyof typeof StateSchemaErrorCode];

/** Quotes one identifier with backticks, doubling any backtick inside it. */
export function quoteIdent(name: string): string {
  return '`' + name.replaceAll('`', '``') + '`';
}

/** `schema`.`table`, both quoted. */
export function stateTable(schema: string, table: StateTable): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** The tables of the state schema. */
export type StateTable = 'schema_version' | 'runs' | 'checkpoint' | 'key_map' | 'key_floor' | 'ledger' | 'quarantine' | 'archive' | 'skipped_insert';

/** What is wrong with a state schema name (the server would refuse or silently change it), or undefined. */
export function schemaNameProblem(name: string): string | undefined {
  // The server's rules (reference manual, "Schema Object Names"): 1 to 64 characters, no NUL, no trailing space.
  if (name.length === 0 || [...name].length > 64 || name.includes('\0') || name.endsWith(' ')) {
    return `state schema name ${JSON.stringify(name)}: expected 1 to 64 characters, no NUL, no trailing space`;
  }
  return undefined;
}

/** Rejects names the server would refuse (or silently change) before any DDL runs. */
export function checkSchemaName(name: string): void {
  const problem = schemaNameProblem(name);
  if (problem !== undefined) throw new EngineError(StateSchemaErrorCode.BadName, problem, { option: '--state-schema' });
}

const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/** CREATE statements for every state table, the checkpoint's last. */
export function stateSchemaDdl(schema: string): string[] {
  const t = (name: StateTable): string => stateTable(schema, name);
  return [
    `CREATE DATABASE IF NOT EXISTS ${quoteIdent(schema)} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`,
    `CREATE TABLE IF NOT EXISTS ${t('schema_version')} (
      id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
      version INT UNSIGNED NOT NULL,
      updated_at DATETIME(6) NOT NULL
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS ${t('runs')} (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      started_at DATETIME(6) NOT NULL,
      finished_at DATETIME(6) NULL,
      status VARCHAR(16) NOT NULL,
      source_id VARCHAR(255) NOT NULL,
      options LONGTEXT NOT NULL,
      summary LONGTEXT NULL,
      KEY by_source (source_id, id)
    ) ${TABLE_OPTIONS}`,
    // The old key is hashed (SHA-256 of its canonical JSON) so a long composite key still fits the index.
    `CREATE TABLE IF NOT EXISTS ${t('key_map')} (
      table_name VARCHAR(300) NOT NULL,
      old_key_hash BINARY(32) NOT NULL,
      old_key LONGTEXT NOT NULL,
      new_key LONGTEXT NOT NULL,
      run_id BIGINT UNSIGNED NOT NULL,
      gtid VARCHAR(255) NULL,
      is_link TINYINT NOT NULL DEFAULT 0,
      PRIMARY KEY (table_name, old_key_hash)
    ) ${TABLE_OPTIONS}`,
    // The lowest key a remap may take per table, committed with each window. A resumed run must not
    // read the DR's AUTO_INCREMENT counter instead: InnoDB does not roll the counter back with the
    // inserts of a window that was cut off, so the resumed run would hand out other ids.
    `CREATE TABLE IF NOT EXISTS ${t('key_floor')} (
      table_name VARCHAR(300) NOT NULL PRIMARY KEY,
      next_key DECIMAL(20,0) NOT NULL,
      run_id BIGINT UNSIGNED NOT NULL,
      updated_at DATETIME(6) NOT NULL
    ) ${TABLE_OPTIONS}`,
    // change_at is the GTID, or file:pos when the source has none; with change_index it names one
    // row change of the source for ever, so a resumed run cannot record it twice.
    `CREATE TABLE IF NOT EXISTS ${t('ledger')} (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      run_id BIGINT UNSIGNED NOT NULL,
      seq BIGINT UNSIGNED NOT NULL,
      source_id VARCHAR(255) NOT NULL,
      change_at VARCHAR(255) NOT NULL,
      change_index INT UNSIGNED NOT NULL,
      gtid VARCHAR(255) NULL,
      binlog_file VARCHAR(512) NULL,
      binlog_pos BIGINT UNSIGNED NULL,
      table_name VARCHAR(300) NOT NULL,
      op VARCHAR(8) NOT NULL,
      source_key LONGTEXT NOT NULL,
      class VARCHAR(64) NOT NULL,
      outcome VARCHAR(32) NOT NULL,
      new_key LONGTEXT NULL,
      reason TEXT NULL,
      rule_path TEXT NULL,
      before_image LONGTEXT NULL,
      after_image LONGTEXT NULL,
      dr_image LONGTEXT NULL,
      other_image LONGTEXT NULL,
      recorded_at DATETIME(6) NOT NULL,
      UNIQUE KEY uk_change (source_id, change_at, change_index),
      KEY by_run (run_id, seq)
    ) ${TABLE_OPTIONS}`,
    // The lost inserts skipped (by a rule during apply, or by resolve) whose row every later run
    // holds back — the DR row at its key, if any, is another record — named as the ledger names
    // them, written with their ledger rows. Kept apart so a run's start reads these few rows: a
    // secondary index on the ledger to find them cost the DR more per 200k ledger rows written
    // than the scan it spared (bench/README.md).
    `CREATE TABLE IF NOT EXISTS ${t('skipped_insert')} (
      source_id VARCHAR(255) NOT NULL,
      change_at VARCHAR(255) NOT NULL,
      change_index INT UNSIGNED NOT NULL,
      PRIMARY KEY (source_id, change_at, change_index)
    ) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS ${t('quarantine')} (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      run_id BIGINT UNSIGNED NOT NULL,
      source_id VARCHAR(255) NOT NULL,
      change_at VARCHAR(255) NOT NULL,
      change_index INT UNSIGNED NOT NULL,
      table_name VARCHAR(300) NOT NULL,
      status VARCHAR(16) NOT NULL,
      reason TEXT NULL,
      before_image LONGTEXT NULL,
      after_image LONGTEXT NULL,
      dr_image LONGTEXT NULL,
      dependants LONGTEXT NOT NULL,
      row_keys LONGTEXT NULL,
      origin VARCHAR(300) NULL,
      statement LONGTEXT NULL,
      created_at DATETIME(6) NOT NULL,
      resolved_at DATETIME(6) NULL,
      UNIQUE KEY uk_ledger (source_id, change_at, change_index),
      KEY by_status (status, id)
    ) ${TABLE_OPTIONS}`,
    // DR rows a delete-blocking strategy deleted (or, by the DR's ON DELETE SET NULL, changed), as
    // they were, so a person can put them back: written in the window that deletes them, before it.
    // change_at/change_index name the lost change as the ledger does (its GTID, else file:pos).
    `CREATE TABLE IF NOT EXISTS ${t('archive')} (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      run_id BIGINT UNSIGNED NOT NULL,
      source_id VARCHAR(255) NOT NULL,
      change_at VARCHAR(255) NOT NULL,
      change_index INT UNSIGNED NOT NULL,
      table_name VARCHAR(300) NOT NULL,
      row_key LONGTEXT NOT NULL,
      row_image LONGTEXT NOT NULL,
      role VARCHAR(32) NOT NULL,
      archived_at DATETIME(6) NOT NULL,
      KEY by_change (source_id, change_at, change_index),
      KEY by_run (run_id, id)
    ) ${TABLE_OPTIONS}`,
    // Last: its presence is what a state schema is known by (dr-state.ts stateExists), so a creation
    // cut short (a killed apply, a connection lost between two of these) reads as no state, not as a
    // state schema whose other tables are missing.
    `CREATE TABLE IF NOT EXISTS ${t('checkpoint')} (
      source_id VARCHAR(255) NOT NULL PRIMARY KEY,
      gtid_set LONGTEXT NULL,
      binlog_file VARCHAR(512) NULL,
      binlog_pos BIGINT UNSIGNED NULL,
      run_id BIGINT UNSIGNED NOT NULL,
      updated_at DATETIME(6) NOT NULL
    ) ${TABLE_OPTIONS}`,
  ];
}

/**
 * Columns added to existing tables since layout 1 was first written: `[table, column, definition]`.
 * Each is nullable or defaulted and only added, so an engine that predates it still reads and writes the table:
 * the layout version does not move for them. Added last in the table, where MySQL 8.0.12+ and
 * MariaDB 10.3+ add a column instantly, without copying a large ledger.
 */
const ADDED_COLUMNS: readonly (readonly [StateTable, string, string])[] = [
  // Which change holds a quarantined one back (reconcile's ChangeDecision.origin), instead of parsing it out of the reason.
  ['quarantine', 'origin', 'VARCHAR(300) NULL'],
  // A second DR row the change met (reconcile's ChangeDecision.otherRow), so a decision reproduces from its ledger row.
  ['ledger', 'other_image', 'LONGTEXT NULL'],
  // The run's own report (JSON, without the remaps and counts the other tables hold), so `salvage
  // report` can show what only the run knew: the start rule, commit times, timings, the DR's history.
  ['runs', 'summary', 'LONGTEXT NULL'],
  // A lost row mapped onto an existing DR record (`link`), not re-keyed: 1. A link onto the record at
  // the lost row's own key is a row whose old and new keys are equal, kept so a later run meets that
  // record as the lost row's. Defaulted rather than nullable: an engine that predates it writes 0.
  ['key_map', 'is_link', 'TINYINT NOT NULL DEFAULT 0'],
  // The SQL statement that produced a quarantined row change (its ANNOTATE_ROWS / ROWS_QUERY text),
  // for the person reviewing it; null where the binlog logged none.
  ['quarantine', 'statement', 'LONGTEXT NULL'],
];

/**
 * Columns widened since layout 1 was first written: `[table, column, new definition, the old
 * DATA_TYPE]`. Widening keeps every value, so the layout version does not move for them either.
 */
const WIDENED_COLUMNS: readonly (readonly [StateTable, string, string, string])[] = [
  // A rule path names two rules when a re-keyed insert still meets a unique holder, and custom
  // strategies' names are the user's: a path past 512 characters would have refused its window.
  ['ledger', 'rule_path', 'TEXT NULL', 'varchar'],
];

/**
 * Indexes once added to existing tables and dropped since: `[table, index]`. `ledger.by_outcome
 * (outcome, op)` found the skipped inserts; kept up on every ledger row written, it cost the DR
 * more than the scan it spared, and the `skipped_insert` table replaced it.
 */
const DROPPED_INDEXES: readonly (readonly [StateTable, string])[] = [['ledger', 'by_outcome']];

/** ALTER TABLE … DROP INDEX for every dropped index a state schema still has (two runs may drop it at once). */
async function dropIndexes(session: SqlSession, schema: string): Promise<void> {
  const has = async (table: StateTable, index: string): Promise<boolean> => {
    const { rows } = await session.query('SELECT COUNT(*) AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = ?', [schema, table, index]);
    return Number(rows[0]?.['n']) > 0;
  };
  for (const [table, index] of DROPPED_INDEXES) {
    if (!(await has(table, index))) continue;
    try {
      await session.query(`ALTER TABLE ${stateTable(schema, table)} DROP INDEX ${quoteIdent(index)}`);
    } catch (e) {
      if (await has(table, index)) throw e;
    }
  }
}

/** The ledger rows a layout-1 engine held across runs (skipped inserts but already-applied ones): what layout 2 records in `skipped_insert`. */
export const LAYOUT1_HELD_SKIPS = "op = 'insert' AND outcome = 'skipped' AND class <> 'already-applied'";

/**
 * Layout 1 to 2: the skipped inserts the ledger already records, copied into `skipped_insert`
 * (one scan of the ledger, once), then the version moved. Every skipped insert but an
 * already-applied one is held in later runs, as layout 1 read them from the ledger. Two runs may
 * migrate at once: the copy is INSERT IGNORE and the version moves only after it, so neither
 * reads a half-copied table as done.
 */
async function migrateToSkippedInserts(session: SqlSession, schema: string): Promise<void> {
  await session.query(
    `INSERT IGNORE INTO ${stateTable(schema, 'skipped_insert')} (source_id, change_at, change_index) SELECT source_id, change_at, change_index FROM ${stateTable(schema, 'ledger')} WHERE ${LAYOUT1_HELD_SKIPS}`,
  );
  await session.query(`UPDATE ${stateTable(schema, 'schema_version')} SET version = 2, updated_at = UTC_TIMESTAMP(6) WHERE id = 1 AND version < 2`);
}

/** ALTER TABLE … MODIFY COLUMN for every widened column a state schema still has at its old type (one table copy, once). */
async function widenColumns(session: SqlSession, schema: string): Promise<void> {
  for (const [table, column, definition, oldType] of WIDENED_COLUMNS) {
    const { rows } = await session.query('SELECT DATA_TYPE AS t FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?', [schema, table, column]);
    if (String(rows[0]?.['t']).toLowerCase() === oldType) await session.query(`ALTER TABLE ${stateTable(schema, table)} MODIFY COLUMN ${quoteIdent(column)} ${definition}`);
  }
}

/**
 * ALTER TABLE … ADD COLUMN for every added column a state schema written before it lacks
 * (portable: MySQL 8 has no ADD COLUMN IF NOT EXISTS). Two runs (of two sources) may add it at
 * once: the one that finds it made by the other meanwhile goes on.
 */
async function addMissingColumns(session: SqlSession, schema: string): Promise<void> {
  const has = async (table: StateTable, column: string): Promise<boolean> => {
    const { rows } = await session.query('SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND COLUMN_NAME = ?', [schema, table, column]);
    return Number(rows[0]?.['n']) > 0;
  };
  for (const [table, column, definition] of ADDED_COLUMNS) {
    if (await has(table, column)) continue;
    try {
      await session.query(`ALTER TABLE ${stateTable(schema, table)} ADD COLUMN ${quoteIdent(column)} ${definition}`);
    } catch (e) {
      if (!(await has(table, column))) throw e;
    }
  }
}

/**
 * Creates the state schema and its tables when missing (a no-op when present) and returns the
 * layout version recorded there; refuses a schema written by a newer engine.
 */
export async function ensureStateSchema(session: SqlSession, schema: string = DEFAULT_STATE_SCHEMA): Promise<number> {
  checkSchemaName(schema);
  for (const ddl of stateSchemaDdl(schema)) await session.query(ddl);
  await addMissingColumns(session, schema);
  await widenColumns(session, schema);
  await dropIndexes(session, schema);
  const table = stateTable(schema, 'schema_version');
  // INSERT IGNORE: the first run records the version; later ones leave the row as it is.
  await session.query(`INSERT IGNORE INTO ${table} (id, version, updated_at) VALUES (1, ?, UTC_TIMESTAMP(6))`, [STATE_SCHEMA_VERSION]);
  const read = async (): Promise<number> => Number((await session.query(`SELECT version FROM ${table} WHERE id = 1`)).rows[0]?.['version']);
  let version = await read();
  if (version < 2) {
    await migrateToSkippedInserts(session, schema);
    version = await read();
  }
  if (version > STATE_SCHEMA_VERSION) {
    throw new EngineError(
      StateSchemaErrorCode.NewerVersion,
      `state schema ${quoteIdent(schema)} has layout version ${version}; this engine knows up to ${STATE_SCHEMA_VERSION}: upgrade binlog-salvage`,
      { option: '--state-schema' },
    );
  }
  return version;
}
