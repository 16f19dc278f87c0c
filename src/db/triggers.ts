/**
 * The DR's triggers on the tables a run writes. Apply writes plain DML, which fires them, where
 * replication applying row events does not (slave_run_triggers_for_rbr=NO, MySQL likewise): an
 * audit row or a counter a trigger keeps is written a second time, on top of what the lost range
 * carries. pt-table-sync refuses such tables for the same reason unless told otherwise.
 */
import type { TableSchema } from '../model/table-schema.js';
import type { SqlSession } from './sql-session.js';

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
    .map((r) => ({ schema: String(r['s']), name: String(r['n']), table: { schema: String(r['os']), table: String(r['ot']) }, timing: String(r['timing']), event: String(r['ev']) }))
    .filter((t) => wanted.has(`${t.table.schema}\u0000${t.table.table}`))
    .sort((a, b) => cmp(a.table.schema, b.table.schema) || cmp(a.table.table, b.table.table) || cmp(a.name, b.name));
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** `trg (AFTER INSERT on shop.orders)`, for messages. */
export function describeTrigger(t: DrTrigger): string {
  return `${t.name} (${t.timing} ${t.event} on ${t.table.schema}.${t.table.table})`;
}
