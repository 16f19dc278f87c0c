/**
 * Column names, signedness, charsets, ENUM/SET labels and temporal precision from a server's
 * information_schema, for binlogs written without full row metadata (`inspect --schema-from`)
 * and for MariaDB's pre-10.1 hires temporal columns, whose precision no binlog carries.
 */
import { parseLabels } from '../model/column-labels.js';
import type { ColumnHint, SchemaHints } from '../binlog/events/table-map.js';
import { EngineError } from '../errors.js';
import type { ConnectionTarget } from './connection-url.js';
import type { SqlSession } from './sql-session.js';
import { collationIdSql } from './collation-id.js';
import { ReopenedSession, type FirstConnectionOptions } from './first-connection.js';
import { mapDbError } from './db-errors.js';
import { isLostConnection } from './lost-connection.js';

/**
 * A server (the DR, a schema source) failed or refused: `code` is one of SqlSessionErrorCode
 * (DB_CONNECT, DB_QUERY, DB_TLS), DbErrorCode (a mapped server error) or the row reader's and
 * writer's; `details.errno` is the server's error number where it sent one.
 */
export class DatabaseError extends EngineError {}

/** Re-exported: callers of the schema hints have long found it here. */
export { parseLabels };

interface ColumnRow {
  TABLE_SCHEMA: string;
  TABLE_NAME: string;
  COLUMN_NAME: string;
  ORDINAL_POSITION: number;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  DATETIME_PRECISION: number | string | null;
  COLLATION_ID: number | null;
  /** Only in the --schema-from read. */
  IS_JSON?: number;
}

/** The binary pseudo-collation (charset.ts BINARY_COLLATION; db/ does not import the decoder's internals). */
const BINARY_COLLATION = 63;

/**
 * Types that information_schema lists without a collation but the binlog logs as byte strings
 * (binlog_row_metadata=FULL gives them collation 63): BINARY/VARBINARY/BLOB, MariaDB's fixed-length
 * UUID, INET6 and INET4 (the decoder restores the trailing 0x00 bytes the binlog strips only for
 * binary columns), and the geometry types (MariaDB lists them among its charset columns).
 */
const BINARY_TYPES = /^(?:(?:var)?binary|(?:tiny|medium|long)?blob|uuid|inet[46]|geometry|point|linestring|polygon|multipoint|multilinestring|multipolygon|geometrycollection)$/;

/** Types whose DATETIME_PRECISION is the fsp of a column that may be logged in MariaDB's pre-10.1 format. */
const TEMPORAL_TYPES = /^(?:time|datetime|timestamp)$/;

/**
 * Loads hints for every user table of the server. The connection is opened as every other one
 * (openSession): through `target.socket` when given, with TLS as `target.tls` asks; a failure to
 * connect is DB_CONNECT or DB_TLS with `details.option` '--schema-from' and a message starting
 * "--schema-from: ". A server that does not answer at first is tried again under
 * `first.reconnect` (first-connection.ts), and a connection lost during the read is opened again
 * under the same policy and the read done again from its start (it only reads: a label probe's
 * temporary table went with the lost session); when the attempts run out, the failure that lost
 * it, saying so, named the same way.
 */
export async function loadSchemaHints(target: ConnectionTarget, first: FirstConnectionOptions = {}): Promise<SchemaHints> {
  const reopener = new ReopenedSession(target, { reconnect: first.reconnect, notify: first.onReconnect, server: 'schema' });
  try {
    return await reopener.run('schema read', readSchemaHints);
  } catch (e) {
    // The message names the option too: inspect --source may connect to the same URL, and a reader of
    // stderr sees no details.
    if (e instanceof DatabaseError) throw new DatabaseError(e.code, `--schema-from: ${e.message}`, { ...e.details, option: '--schema-from' }, { retryable: e.retryable, cause: e.cause });
    throw e;
  }
}

async function readSchemaHints(session: SqlSession): Promise<SchemaHints> {
  // A MariaDB JSON column is a LONGTEXT with a json_valid check: IS_JSON finds either.
  const rows = await userColumns(
    session,
    `, (c.DATA_TYPE = 'json' OR EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k
          WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
            AND k.CHECK_CLAUSE LIKE CONCAT('%json_valid(\`', c.COLUMN_NAME, '\`)%'))) AS IS_JSON`,
  );
  const hints = new HintTable();
  for (const r of rows) {
    const type = r.DATA_TYPE.toLowerCase();
    const labels = type === 'enum' || type === 'set' ? await columnLabels(session, r, type) : null;
    hints.add(r, { ...columnHint(r, labels), isJson: Number(r.IS_JSON) === 1 });
  }
  return hints.lookup;
}

/**
 * Hints for plan and apply, from the DR they write to: what a binlog without full row metadata
 * (MariaDB's default binlog_row_metadata=NO_LOG, MySQL's MINIMAL) leaves out, so that its values
 * decode as the DR's rows read: signedness (else an INT UNSIGNED of 4000000000 decodes as
 * -294967296), charsets (else text is bytes and never equals the DR's text), ENUM/SET labels
 * (else a label's number), MariaDB's pre-10.1 temporal precision, names. The binlog's own
 * metadata wins wherever it has it (decodeTableMap). One information_schema query, read-only: no
 * label probe (`plan` writes nothing), so labels information_schema garbles (a character beyond the
 * BMP shows as '?') are left out and the value stays the label's number. No `isJson`: the ledger's
 * images of a MariaDB JSON column stay its text, as without hints.
 */
export async function readDrSchemaHints(session: SqlSession): Promise<SchemaHints> {
  const rows = await userColumns(session, '');
  const hints = new HintTable();
  for (const r of rows) {
    const labels = parseLabels(String(r.COLUMN_TYPE));
    hints.add(r, columnHint(r, labels.some((l) => l.includes('?')) ? null : labels));
  }
  return hints.lookup;
}

/** Every column of the server's user tables, in table and ordinal order, with its collation id; `extra`: more select items. */
async function userColumns(session: SqlSession, extra: string): Promise<ColumnRow[]> {
  const collation = await collationIdSql(session);
  const { rows } = await session.query(
    `SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.ORDINAL_POSITION, c.DATA_TYPE, c.COLUMN_TYPE, c.DATETIME_PRECISION, ${collation.id} AS COLLATION_ID${extra}
       FROM information_schema.COLUMNS c
       ${collation.joins}
      WHERE c.TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
      ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION`,
  );
  return rows as unknown as ColumnRow[];
}

/** The columns of each table, in ordinal order, found by schema and table name (either may hold dots). */
class HintTable {
  readonly #tables = new Map<string, ColumnHint[]>();

  add(r: ColumnRow, hint: ColumnHint): void {
    // NUL cannot be in a name: an unambiguous key where `a.b`.`c` and `a`.`b.c` would collide.
    const key = `${r.TABLE_SCHEMA}\u0000${r.TABLE_NAME}`;
    let list = this.#tables.get(key);
    if (!list) this.#tables.set(key, (list = []));
    list.push(hint);
  }

  // The whole table, even with more columns than the binlog's (an ADD COLUMN of the lost range the
  // DBA applied by hand): decodeTableMap matches them by name where the binlog logs names, else
  // takes the first ones (schema-drift.ts refuses a column added anywhere but last there).
  readonly lookup: SchemaHints = (schema, table) => this.#tables.get(`${schema}\u0000${table}`);
}

/** A column's hint from its information_schema row; `labels` for an ENUM or SET column (null: none known). */
function columnHint(r: ColumnRow, labels: string[] | null): ColumnHint {
  const type = String(r.DATA_TYPE).toLowerCase();
  return {
    name: String(r.COLUMN_NAME),
    dataType: type,
    unsigned: /\bunsigned\b/i.test(String(r.COLUMN_TYPE)),
    collation: r.COLLATION_ID === null || r.COLLATION_ID === undefined ? (BINARY_TYPES.test(type) ? BINARY_COLLATION : null) : Number(r.COLLATION_ID),
    ...(type === 'enum' && labels ? { enumLabels: labels } : {}),
    ...(type === 'set' && labels ? { setLabels: labels } : {}),
    ...(TEMPORAL_TYPES.test(type) && r.DATETIME_PRECISION !== null && r.DATETIME_PRECISION !== undefined ? { fsp: Number(r.DATETIME_PRECISION) } : {}),
  };
}

function quoteName(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

/**
 * The labels of an ENUM/SET column. MariaDB 10.11 builds COLUMN_TYPE (and SHOW CREATE TABLE) in
 * utf8mb3, so a label character beyond the BMP arrives as '?' whatever the connection's charset.
 * The server still holds the labels: a temporary copy of the column (no rows, no constraints)
 * takes the label numbers 1…n and returns the labels themselves, in utf8mb4. Only labels showing
 * a '?' are probed. When the probe is refused (no CREATE TEMPORARY TABLES privilege), the labels
 * stay as information_schema gives them; the binlog's own labels (binlog_row_metadata=FULL)
 * still take precedence when decoding.
 */
async function columnLabels(session: SqlSession, r: ColumnRow, type: 'enum' | 'set'): Promise<string[]> {
  const labels = parseLabels(r.COLUMN_TYPE);
  if (!labels.some((l) => l.includes('?'))) return labels;
  try {
    return await probeLabels(session, r, type, labels.length);
  } catch (e) {
    // A lost connection is not a refused probe: the read is done again on a new session.
    if (isLostConnection(mapDbError(e))) throw e;
    return labels;
  }
}

async function probeLabels(session: SqlSession, r: ColumnRow, type: 'enum' | 'set', count: number): Promise<string[]> {
  const probe = `${quoteName(r.TABLE_SCHEMA)}.\`salvage_label_probe\``;
  // Keeps the probe out of the server's binlog where allowed (ROW format logs no temporary tables anyway).
  await session.query('SET SESSION sql_log_bin = 0').catch(() => undefined);
  await session.query(`CREATE TEMPORARY TABLE ${probe} AS SELECT 0 AS k, ${quoteName(r.COLUMN_NAME)} AS v FROM ${quoteName(r.TABLE_SCHEMA)}.${quoteName(r.TABLE_NAME)} LIMIT 0`);
  try {
    // ENUM takes a label's number (1-based), SET a bitmap with one member's bit (up to 2^63).
    const values = Array.from({ length: count }, (_, i) => `(${i}, ${type === 'enum' ? String(i + 1) : String(1n << BigInt(i))})`);
    await session.query(`INSERT INTO ${probe} VALUES ${values.join(', ')}`);
    const { rows } = await session.query(`SELECT v FROM ${probe} ORDER BY k`);
    const labels = rows.map((row) => (row['v'] === null || row['v'] === undefined ? '' : String(row['v'])));
    if (labels.length !== count) throw new Error(`probe returned ${labels.length} labels for ${count}`);
    return labels;
  } finally {
    await session.query(`DROP TEMPORARY TABLE IF EXISTS ${probe}`);
  }
}
