/**
 * What the DR says about itself that the lost-transaction rules need: its flavour and version,
 * the GTID state variables (DESIGN.md "Data flow" 3), and, for a remap, the largest key a table
 * holds.
 */
import type { TableSchema } from '../model/table-schema.js';
import { quoteIdent } from './state-schema.js';
import type { SqlSession } from './sql-session.js';

/** The GTID variables as the server prints them (the shape reconcile's lost-transaction rules take). */
export type DrGtidState =
  | { readonly flavor: 'mysql'; readonly gtidExecuted: string }
  | { readonly flavor: 'mariadb'; readonly gtidSlavePos: string; readonly gtidBinlogPos: string; readonly gtidBinlogState?: string };

export interface DrIdentity {
  readonly flavor: 'mysql' | 'mariadb';
  readonly version: string;
  readonly serverId: number;
  readonly gtid: DrGtidState;
}

/** Reads the DR's flavour and GTID state. */
export async function readDrIdentity(session: SqlSession): Promise<DrIdentity> {
  const { rows } = await session.query('SELECT VERSION() AS v, @@server_id AS id');
  const version = String(rows[0]?.['v'] ?? '');
  const serverId = Number(rows[0]?.['id'] ?? 0);
  if (/mariadb/i.test(version)) {
    const g = await session.query('SELECT @@GLOBAL.gtid_slave_pos AS slave, @@GLOBAL.gtid_binlog_pos AS binlog, @@GLOBAL.gtid_binlog_state AS state');
    const r = g.rows[0] ?? {};
    return {
      flavor: 'mariadb',
      version,
      serverId,
      gtid: { flavor: 'mariadb', gtidSlavePos: String(r['slave'] ?? ''), gtidBinlogPos: String(r['binlog'] ?? ''), gtidBinlogState: String(r['state'] ?? '') },
    };
  }
  const g = await session.query('SELECT @@GLOBAL.gtid_executed AS executed');
  return { flavor: 'mysql', version, serverId, gtid: { flavor: 'mysql', gtidExecuted: String(g.rows[0]?.['executed'] ?? '').replace(/\s+/g, '') } };
}

/**
 * The largest value of `column` in `table`, or null when the table is empty. `forUpdate` (inside a
 * transaction, `column` indexed): the last row is read with a lock, whose next-key lock on the end
 * of the index makes other sessions' inserts above it wait until the transaction ends — so keys
 * the caller hands out above the largest are not taken meanwhile by the application's
 * AUTO_INCREMENT. (MAX() itself locks nothing: the optimizer reads it off the index.)
 */
export async function maxKey(session: SqlSession, table: TableSchema, column: string, options: { readonly forUpdate?: boolean } = {}): Promise<bigint | null> {
  const name = `${quoteIdent(table.schema)}.${quoteIdent(table.table)}`;
  const c = quoteIdent(column);
  const { rows } = await session.query(
    options.forUpdate === true ? `SELECT CAST(${c} AS CHAR) AS m FROM ${name} ORDER BY ${c} DESC LIMIT 1 FOR UPDATE` : `SELECT CAST(MAX(${c}) AS CHAR) AS m FROM ${name}`,
  );
  const m = rows[0]?.['m'];
  return m === null || m === undefined ? null : BigInt(String(m));
}

/** Whether the schema `name` exists (plan must not create the state schema to find out). */
export async function schemaExists(session: SqlSession, name: string): Promise<boolean> {
  const { rows } = await session.query('SELECT 1 AS x FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [name]);
  return rows.length > 0;
}

/**
 * Whether the schema `name` holds salvage's state (its checkpoint table). A schema that exists
 * without it — created empty ahead of the first apply for a least-privilege account, or an
 * application schema named with --state-schema — holds none yet: apply creates the tables there.
 */
export async function stateExists(session: SqlSession, name: string): Promise<boolean> {
  const { rows } = await session.query("SELECT 1 AS x FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'checkpoint'", [name]);
  return rows.length > 0;
}

/** MySQL's @@server_uuid (the origin of the DR's own GTIDs); null on MariaDB, which has none. */
export async function readServerUuid(session: SqlSession): Promise<string | null> {
  const { rows } = await session.query("SHOW GLOBAL VARIABLES LIKE 'server_uuid'");
  const v = rows[0]?.['Value'];
  return typeof v === 'string' && v !== '' ? v : null;
}

/**
 * Where the DR's own binlog ends now (SHOW MASTER STATUS; MySQL 8.4 calls it SHOW BINARY LOG
 * STATUS), or null when binary logging is off or the account may not ask: a history read from
 * files is complete only when it reaches this point.
 */
export async function readBinlogEnd(session: SqlSession): Promise<{ readonly file: string; readonly pos: number } | null> {
  for (const sql of ['SHOW MASTER STATUS', 'SHOW BINARY LOG STATUS']) {
    try {
      const { rows } = await session.query(sql);
      const row = rows[0];
      if (row === undefined) return null;
      return { file: String(row['File']), pos: Number(row['Position']) };
    } catch (e) {
      // Anything else (a lost connection above all) is the caller's to handle: taken for "unknown
      // end", it left a history read from files incomplete, and the run's reconnect never saw it.
      if (!BINLOG_END_UNANSWERED.has(errnoOf(e))) throw e;
    }
  }
  return null;
}

/**
 * The server's answers that mean readBinlogEnd cannot learn the end here: the other spelling
 * (ER_PARSE_ERROR 1064: MySQL 8.4 dropped SHOW MASTER STATUS, MariaDB and older MySQL lack SHOW
 * BINARY LOG STATUS), or no BINLOG MONITOR / REPLICATION CLIENT (ER_SPECIFIC_ACCESS_DENIED_ERROR
 * 1227; ER_ACCESS_DENIED_ERROR 1045, ER_DBACCESS_DENIED_ERROR 1044 and ER_TABLEACCESS_DENIED_ERROR
 * 1142, which proxies and older servers answer with).
 */
const BINLOG_END_UNANSWERED: ReadonlySet<number | undefined> = new Set([1064, 1227, 1045, 1044, 1142]);

function errnoOf(e: unknown): number | undefined {
  const details = (e as { details?: { errno?: unknown } } | null)?.details;
  const n = details?.errno ?? (e as { errno?: unknown } | null)?.errno;
  return typeof n === 'number' ? n : undefined;
}
