/**
 * The DR's triggers on the tables a run writes. Apply writes plain DML, which fires them, where
 * replication applying row events does not (slave_run_triggers_for_rbr=NO, MySQL likewise): an
 * audit row or a counter a trigger keeps is written a second time, on top of what the lost range
 * carries. pt-table-sync refuses such tables for the same reason unless told otherwise.
 */
import type { TableSchema } from '../model/table-schema.js';
import type { SqlRow, SqlSession } from './sql-session.js';
import { quoteIdent } from './state-schema.js';

/** One trigger: what it is named, which table it is on, and when it fires. */
export interface DrTrigger {
  /** The trigger's own schema (its table's, on every server that has triggers). */
  readonly schema: string;
  readonly name: string;
  /** The table it fires on. */
  readonly table: { readonly schema: string; readonly table: string };
  /** BEFORE or AFTER. */
  readonly timing: string;
  /** INSERT, UPDATE or DELETE. */
  readonly event: string;
}

/** The triggers on `tables` (the DR's names, as introspection gives them), ordered by table, then name. */
export async function readTriggers(session: SqlSession, tables: readonly Pick<TableSchema, 'schema' | 'table'>[]): Promise<DrTrigger[]> {
  if (tables.length === 0) return [];
  const schemas = [...new Set(tables.map((t) => t.schema))];
  const { rows } = await session.query(
    `SELECT TRIGGER_SCHEMA AS s, TRIGGER_NAME AS n, EVENT_OBJECT_SCHEMA AS os, EVENT_OBJECT_TABLE AS ot, ACTION_TIMING AS timing, EVENT_MANIPULATION AS ev
       FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA IN (${schemas.map(() => '?').join(', ')})`,
    schemas,
  );
  const wanted = new Set(tables.map((t) => `${t.schema}\u0000${t.table}`));
  return rows
    .map(toTrigger)
    .filter((t) => wanted.has(`${t.table.schema}\u0000${t.table.table}`))
    .sort(byTableThenName);
}

/** MariaDB and MySQL join at most 61 tables in one statement (ER_TOO_MANY_TABLES). */
const TABLES_PER_LOCK = 60;

/**
 * The triggers on `tables`, read inside the caller's transaction so that none can be created on
 * them (or dropped) until it ends: each table's shared-write metadata lock is taken first, by a
 * zero-row `SELECT … WHERE FALSE FOR UPDATE` (it opens the tables and reads no row, so it takes no
 * row lock), and held to the transaction's end. CREATE TRIGGER needs the table's
 * SHARED_NO_WRITE lock, then an exclusive one: it waits for that transaction, and one already
 * under way is waited for here, then seen. Measured on MariaDB 10.11: with only the shared-read
 * lock a plain SELECT takes, CREATE TRIGGER gets SHARED_NO_WRITE and the transaction's next write
 * to the table deadlocks. The list is read per table (`EVENT_OBJECT_SCHEMA = ? AND
 * EVENT_OBJECT_TABLE = ?`), which the server looks up by that table alone (MariaDB 10.11's EXPLAIN:
 * key EVENT_OBJECT_SCHEMA,EVENT_OBJECT_TABLE), where `IN (…)` opens every table of the schema.
 */
export async function readTriggersHeld(session: SqlSession, tables: readonly Pick<TableSchema, 'schema' | 'table'>[]): Promise<DrTrigger[]> {
  if (tables.length === 0) return [];
  for (let i = 0; i < tables.length; i += TABLES_PER_LOCK) {
    const chunk = tables.slice(i, i + TABLES_PER_LOCK);
    await session.query(`SELECT 1 FROM ${chunk.map((t) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`).join(', ')} WHERE FALSE FOR UPDATE`);
  }
  const one = `SELECT TRIGGER_SCHEMA AS s, TRIGGER_NAME AS n, EVENT_OBJECT_SCHEMA AS os, EVENT_OBJECT_TABLE AS ot, ACTION_TIMING AS timing, EVENT_MANIPULATION AS ev
       FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?`;
  const { rows } = await session.query(
    tables.map(() => one).join('\n     UNION ALL\n'),
    tables.flatMap((t) => [t.schema, t.table]),
  );
  return rows.map(toTrigger).sort(byTableThenName);
}

const toTrigger = (r: SqlRow): DrTrigger => ({ schema: String(r['s']), name: String(r['n']), table: { schema: String(r['os']), table: String(r['ot']) }, timing: String(r['timing']), event: String(r['ev']) });
const byTableThenName = (a: DrTrigger, b: DrTrigger): number => cmp(a.table.schema, b.table.schema) || cmp(a.table.table, b.table.table) || cmp(a.name, b.name);

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** `trg (AFTER INSERT on shop.orders)`, for messages. */
export function describeTrigger(t: DrTrigger): string {
  return `${t.name} (${t.timing} ${t.event} on ${t.table.schema}.${t.table.table})`;
}
