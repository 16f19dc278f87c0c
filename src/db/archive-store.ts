/**
 * The state schema's `archive` (state-schema.ts): DR rows `delete-blocking` deleted, and rows the
 * DR's ON DELETE CASCADE / SET NULL reached from them or from a lost delete the cascade guard let
 * through (`report`, `allowUpTo`), kept as they were (canonical JSON) so a person can put them
 * back. Written in the window's transaction, before the writes that remove them; values written
 * with sql-literal.ts (what mysql2 would splice in for `?`), so the statement is measured against
 * the DR's max_allowed_packet before it is sent (packet-limit.ts).
 */
import { mapDbError } from './db-errors.js';
import { oversize, PacketTooLargeError } from './packet-limit.js';
import { sqlLiteral } from './sql-literal.js';
import type { SqlSession } from './sql-session.js';
import { stateTable } from './state-schema.js';

/** One archived DR row. */
export interface ArchiveRow {
  readonly runId: number;
  readonly sourceId: string;
  /** The lost change that needed the row out of the way: its GTID (else `file:pos`) and index, as the ledger names it. */
  readonly changeAt: string;
  readonly changeIndex: number;
  /** `schema.table`. */
  readonly table: string;
  /** Canonical JSON of the primary key (key order) and of the whole row (keyed by column name). */
  readonly rowKey: string;
  readonly rowImage: string;
  /** `blocking`, `cascade-delete` or `cascade-set-null` (model/decision.ts ArchiveNote). */
  readonly role: string;
}

/** An archived row as read back, with when it was archived (UTC, `YYYY-MM-DD HH:MM:SS.ffffff`). */
export interface StoredArchiveRow extends ArchiveRow {
  readonly id: number;
  readonly archivedAt: string;
}

/** Rows per INSERT: archives are few (one per blocking row), so this bounds the statement, not the speed. */
const ROWS_PER_STATEMENT = 200;

/** Records archived rows, in the caller's transaction; a batch over `maxPacket` is sent as smaller ones. */
export async function recordArchive(session: SqlSession, schema: string, rows: readonly ArchiveRow[], maxPacket?: number): Promise<void> {
  const head = `INSERT INTO ${stateTable(schema, 'archive')} (run_id, source_id, change_at, change_index, table_name, row_key, row_image, role, archived_at) VALUES `;
  const text = (chunk: readonly ArchiveRow[]): string =>
    head + chunk.map((r) => `(${[r.runId, r.sourceId, r.changeAt, r.changeIndex, r.table, r.rowKey, r.rowImage, r.role].map(sqlLiteral).join(', ')}, UTC_TIMESTAMP(6))`).join(', ');
  const send = async (chunk: readonly ArchiveRow[]): Promise<void> => {
    const sql = text(chunk);
    const over = oversize(sql, maxPacket);
    if (over !== null) {
      const r = chunk[0]!;
      if (chunk.length === 1) throw new PacketTooLargeError({ table: r.table, statement: 'archive', key: r.rowKey, change: `${r.changeAt}#${r.changeIndex}`, bytes: over, maxAllowedPacket: maxPacket! });
      const half = Math.ceil(chunk.length / 2);
      await send(chunk.slice(0, half));
      await send(chunk.slice(half));
      return;
    }
    try {
      await session.query(sql);
    } catch (e) {
      throw mapDbError(e);
    }
  };
  for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) await send(rows.slice(i, i + ROWS_PER_STATEMENT));
}

/** Every archived row, in the order archived. */
export async function readArchive(session: SqlSession, schema: string): Promise<StoredArchiveRow[]> {
  let rows;
  try {
    ({ rows } = await session.query(
      `SELECT CAST(id AS CHAR) AS id, CAST(run_id AS CHAR) AS run_id, source_id, change_at, change_index, table_name, row_key, row_image, role, archived_at FROM ${stateTable(schema, 'archive')} ORDER BY id`,
    ));
  } catch (e) {
    throw mapDbError(e);
  }
  return rows.map((r) => ({
    id: Number(r['id']),
    runId: Number(r['run_id']),
    sourceId: String(r['source_id']),
    changeAt: String(r['change_at']),
    changeIndex: Number(r['change_index']),
    table: String(r['table_name']),
    rowKey: String(r['row_key']),
    rowImage: String(r['row_image']),
    role: String(r['role']),
    archivedAt: String(r['archived_at']),
  }));
}
