/**
 * The collation id of a column, in SQL. information_schema.COLUMNS names a column's collation;
 * its id (which tells the row reader and the binlog decoder its character set) is in COLLATIONS —
 * except on MariaDB 10.10+, whose COLUMNS gives the full name of a UCA-14.0.0 collation
 * (`utf8mb4_uca1400_ai_ci`) where COLLATIONS lists it once, by its short name (`uca1400_ai_ci`), with
 * no id: such a column joined to no id and was read as bytes. Its id is in
 * COLLATION_CHARACTER_SET_APPLICABILITY, by FULL_COLLATION_NAME, a column only those servers have.
 */
import type { SqlSession } from './sql-session.js';

/** The JOINs and the id expression for `information_schema.COLUMNS c`. */
export interface CollationIdSql {
  /** LEFT JOINs to append after `FROM information_schema.COLUMNS c`. */
  readonly joins: string;
  /** The id, NULL where the server has none (a column without a collation). */
  readonly id: string;
}

/** Probed once per session: a run introspects on the same session more than once (resolve's parents, the schema hints). */
const probed = new WeakMap<SqlSession, Promise<CollationIdSql>>();

/** The SQL that reads a column's collation id on `session`'s server (one probe of its information_schema per session). */
export function collationIdSql(session: SqlSession): Promise<CollationIdSql> {
  let sql = probed.get(session);
  if (sql === undefined) {
    sql = probe(session);
    // A failed probe (a lost connection) is asked again on the next call.
    sql.catch(() => probed.delete(session));
    probed.set(session, sql);
  }
  return sql;
}

async function probe(session: SqlSession): Promise<CollationIdSql> {
  const byName = 'LEFT JOIN information_schema.COLLATIONS co ON co.COLLATION_NAME = c.COLLATION_NAME';
  const { rows } = await session.query(
    "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'COLLATION_CHARACTER_SET_APPLICABILITY' AND COLUMN_NAME IN ('FULL_COLLATION_NAME', 'ID')",
  );
  if (Number(rows[0]?.['n']) < 2) return { joins: byName, id: 'co.ID' };
  return { joins: `${byName}\n LEFT JOIN information_schema.COLLATION_CHARACTER_SET_APPLICABILITY ca ON ca.FULL_COLLATION_NAME = c.COLLATION_NAME`, id: 'COALESCE(co.ID, ca.ID)' };
}
