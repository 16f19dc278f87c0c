/**
 * The batched writes of the streaming hot path (DESIGN.md, "The streaming hot path"): multi-row
 * INSERTs chunked by rows and bytes, UPDATE … WHERE primary key, and batched DELETE by primary key.
 * Values arrive in the decoder's in-memory representation (src/binlog/column.ts) and are written as
 * literals exactly as mysql2 would escape them for `?` placeholders (db/sql-literal.ts; the text is
 * byte for byte what mysql2's `format` made of the placeholder form, row-writer.test.ts), so no
 * statement is scanned for placeholders and a row's key is escaped once, not once per CASE column:
 * ≈ 240 MB less allocated in a 200,000-change apply. Identifiers are backtick-quoted. Values per type:
 * - integers: number, or bigint bound as its digits (exact up to 2^64−1);
 * - DECIMAL and DATE/DATETIME/TIME: the string as the server printed it (string → DECIMAL is an
 *   exact conversion; in a WHERE it is CAST to the column's type, a bare string compares as a double);
 * - TIMESTAMP: the value is UTC text, written as `CONVERT_TZ(…, '+00:00', @@session.time_zone)`
 *   so the session's zone needs no change. Exact for any fixed-offset zone (and for UTC, which the
 *   pipeline should use); a named zone with DST cannot express the repeated hour of its fall-back;
 * - FLOAT: Math.fround of the value, so the server's double → float rounding is a no-op;
 * - BIT: the integer; ENUM/SET: the label string, or the index/bitmask when labels were unknown;
 * - Buffer: binary (X'…'); JsonValue: its canonical JSON text; a JsonPatch is never written;
 * - CharsetText (a multi-byte charset's code the server maps one way only): its bytes as logged,
 *   `_sjis X'…'`, where a utf8mb4 literal of its text would be converted into other bytes.
 * Generated columns are never written. Server failures go through mapDbError.
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import { CharsetText } from '../binlog/values/charset-text.js';
import { stringifyCanonical, type CanonicalValue } from '../binlog/values/canonical-json.js';
import { JsonPatch, JsonValue } from '../binlog/values/json-value.js';
import type { ColumnSchema, TableSchema } from '../model/table-schema.js';
import { DbErrorCode, mapDbError } from './db-errors.js';
import { budgetUnder, oversize, PacketTooLargeError } from './packet-limit.js';
import { DatabaseError } from './schema-hints.js';
import type { SqlSession } from './sql-session.js';
import { sqlLiteral } from './sql-literal.js';

/** Stable codes of row-writer failures. */
export const RowWriterErrorCode = {
  /** A JSON partial update (no full document) cannot be written as a value. */
  JsonPatch: 'DB_WRITE_JSON_PATCH',
  /** UPDATE/DELETE on a table without a primary key, or a key of the wrong length or with NULL. */
  BadKey: 'DB_WRITE_BAD_KEY',
  UnknownColumn: 'DB_WRITE_UNKNOWN_COLUMN',
  /** A row image whose length is not the table's column count (schema drift). */
  BadRow: 'DB_WRITE_BAD_ROW',
} as const;
export type RowWriterErrorCode = (typeof RowWriterErrorCode)[keyof typeof RowWriterErrorCode];

export interface WriteOptions {
  /** Rows (or keys) per statement (default 1,000). */
  readonly maxRows?: number;
  /** Approximate bytes of bound values per statement (default 1 MiB, well under max_allowed_packet's 16 MiB default). */
  readonly maxBytes?: number;
  /**
   * The DR's max_allowed_packet: a statement over it is sent as smaller ones, and a single row that
   * cannot fit fails PacketTooLargeError before anything of it is sent (db/packet-limit.ts).
   */
  readonly maxPacket?: number;
  /**
   * Whether an UPDATE or DELETE of a keyless table by its image must reach exactly one row, or fail
   * DbErrorCode.NoRowMatched (default true; a session that runs nothing, as plan's, says false).
   */
  readonly verifyRows?: boolean;
}

/** One UPDATE: the row's primary-key values (key order) and the new values by column name. */
export interface RowUpdate {
  readonly key: readonly unknown[];
  readonly set: Readonly<Record<string, ColumnValue>>;
}

const DEFAULT_ROWS = 1000;
// Each row of a CASE update walks on average half the statement's WHEN list per column, so the
// DR's work per row grows with the statement. Measured on a durable MariaDB 10.11 DR, 20,000 rows
// of four changed columns: 0.62-0.78 s of DR CPU at 200 rows per statement, 0.30-0.40 s at 50,
// 0.44-0.53 s at 25 (the per-statement cost takes over).
const MAX_ROWS_PER_CASE = 50;
const DEFAULT_BYTES = 1 << 20;

/** How one column's value is written; built once per table (STYLE.md rule 6). */
interface ColumnBinder {
  readonly column: ColumnSchema;
  readonly index: number;
  readonly quoted: string;
  /** The text around the literal in VALUES and SET (both empty for a bare literal). */
  readonly open: string;
  readonly close: string;
  /** The text around the literal in a WHERE comparison. */
  readonly keyOpen: string;
  readonly keyClose: string;
  readonly isFloat: boolean;
}

interface WritePlan {
  readonly from: string;
  readonly binders: readonly ColumnBinder[];
  /** Non-generated columns, in ordinal order. */
  readonly writable: readonly ColumnBinder[];
  readonly byName: ReadonlyMap<string, ColumnBinder>;
  /** Primary-key binders in key order, or null. */
  readonly key: readonly ColumnBinder[] | null;
}

const plans = new WeakMap<TableSchema, WritePlan>();

/** Inserts `rows` (full images in ordinal order; `undefined` cells are left to their defaults) with multi-row INSERTs; returns the affected-row count. */
export async function writeInserts(session: SqlSession, table: TableSchema, rows: readonly RowImage[], options: WriteOptions = {}): Promise<number> {
  const plan = writePlan(table);
  const maxRows = options.maxRows ?? DEFAULT_ROWS;
  const maxBytes = budgetUnder(options.maxBytes ?? DEFAULT_BYTES, options.maxPacket);
  /** The statement of the rows from `start`, at most `cap` of them, and where it ends. */
  const statement = (start: number, cap: number): { sql: string; end: number } => {
    const first = checkRow(table, plan, rows[start]!);
    const cols = plan.writable.filter((b) => first[b.index] !== undefined);
    let sql = `INSERT INTO ${plan.from} (${cols.map((b) => b.quoted).join(', ')}) VALUES `;
    let bytes = 0;
    let end = start;
    // Rows join the statement while they log the same columns and the chunk has room.
    while (end < rows.length && end - start < cap && (end === start || bytes < maxBytes)) {
      const row = checkRow(table, plan, rows[end]!);
      if (end > start && !samePresence(row, first, plan.writable)) break;
      sql += end === start ? '(' : ', (';
      for (let c = 0; c < cols.length; c++) {
        const b = cols[c]!;
        const v = bindValue(table, b, row[b.index]);
        bytes += sizeOf(v);
        if (c > 0) sql += ', ';
        sql += b.open === '' ? sqlLiteral(v) : b.open + sqlLiteral(v) + b.close;
      }
      sql += ')';
      end++;
    }
    return { sql, end };
  };
  let affected = 0;
  let start = 0;
  while (start < rows.length) {
    const s = fitting(statement, start, maxRows, options.maxPacket, (bytes) => tooLarge(table, 'insert', keyOfRow(plan, rows[start]!), bytes, options.maxPacket!));
    affected += await run(session, s.sql);
    start = s.end;
  }
  return affected;
}

/** Runs one UPDATE … WHERE primary key per change, in order; returns the affected-row count. */
export async function writeUpdates(session: SqlSession, table: TableSchema, changes: readonly RowUpdate[], options: WriteOptions = {}): Promise<number> {
  const plan = writePlan(table);
  const key = requireKey(table, plan);
  let affected = 0;
  for (const change of changes) {
    let sets = '';
    for (const name of Object.keys(change.set)) {
      const b = plan.byName.get(name);
      if (b === undefined) throw unknownColumn(table, name);
      const v = change.set[name];
      if (b.column.isGenerated || v === undefined) continue;
      if (sets !== '') sets += ', ';
      sets += `${b.quoted} = ${valueLiteral(b, bindValue(table, b, v))}`;
    }
    if (sets === '') continue;
    checkKey(table, key, change.key);
    const sql = `UPDATE ${plan.from} SET ${sets} WHERE ${keyMatch(key, keyLiterals(table, key, change.key))}`;
    const over = oversize(sql, options.maxPacket);
    if (over !== null) throw tooLarge(table, 'update', change.key, over, options.maxPacket!);
    affected += await run(session, sql);
  }
  return affected;
}

/**
 * Runs `changes` as few multi-row UPDATEs as the limits allow:
 * `SET c = CASE WHEN k = … THEN … ELSE c END, … WHERE k IN (…)` (`(a, b) IN ((…), …)` for a
 * composite key), each column changed only in the rows that set it. Only for changes that neither
 * move a primary key nor pass a unique value between the rows of one statement: a statement visits
 * its rows in key order, not in the order given, so a value passed from one row to another could
 * collide half-way (the caller decides; sink/execute-writes.ts). Returns the affected-row count.
 */
export async function writeUpdatesBatched(session: SqlSession, table: TableSchema, changes: readonly RowUpdate[], options: WriteOptions = {}): Promise<number> {
  const plan = writePlan(table);
  const key = requireKey(table, plan);
  // Every row walks the CASE list of every column it is in: quadratic in the rows of a statement (MAX_ROWS_PER_CASE).
  const maxRows = Math.min(options.maxRows ?? DEFAULT_ROWS, MAX_ROWS_PER_CASE);
  const maxBytes = budgetUnder(options.maxBytes ?? DEFAULT_BYTES, options.maxPacket);
  /** The statement of the changes from `start`, at most `cap` of them ('' when none changes a written column), and where it ends. */
  const statement = (start: number, cap: number): { sql: string; end: number } => {
    let end = start;
    let bytes = 0;
    while (end < changes.length && end - start < cap && (end === start || bytes < maxBytes)) {
      const set = changes[end]!.set;
      for (const name in set) if (Object.hasOwn(set, name)) bytes += sizeOf(set[name]);
      end++;
    }
    const chunk = changes.slice(start, end);
    const columns = new Map<string, ColumnBinder>();
    for (const change of chunk) {
      checkKey(table, key, change.key);
      for (const name of Object.keys(change.set)) {
        const b = plan.byName.get(name);
        if (b === undefined) throw unknownColumn(table, name);
        if (!b.column.isGenerated && !key.includes(b)) columns.set(name, b);
      }
    }
    if (columns.size === 0) return { sql: '', end };
    // A row's key is written once per column it changes and once in the WHERE: its literals and its match are made once.
    const literals = chunk.map((change) => keyLiterals(table, key, change.key));
    const matches = literals.map((lits) => keyMatch(key, lits));
    let sql = `UPDATE ${plan.from} SET `;
    let first = true;
    for (const b of columns.values()) {
      if (!first) sql += ', ';
      first = false;
      sql += `${b.quoted} = CASE`;
      for (let i = 0; i < chunk.length; i++) {
        const v = chunk[i]!.set[b.column.name];
        if (v === undefined) continue;
        sql += ` WHEN ${matches[i]!} THEN ${valueLiteral(b, bindValue(table, b, v))}`;
      }
      sql += ` ELSE ${b.quoted} END`;
    }
    return { sql: `${sql} WHERE ${keyIn(key, literals, matches)}`, end };
  };
  let affected = 0;
  let start = 0;
  while (start < changes.length) {
    const s = fitting(statement, start, maxRows, options.maxPacket, (bytes) => tooLarge(table, 'update', changes[start]!.key, bytes, options.maxPacket!));
    if (s.sql !== '') affected += await run(session, s.sql);
    start = s.end;
  }
  return affected;
}

/**
 * Deletes the rows with the primary keys `keys`: `a=… AND b=…` for one key (MariaDB 10.11 scans
 * the whole key for a one-element row constructor, DESIGN.md "Pitfalls"), `a IN (…)` for a
 * one-column key, `(a,b) IN ((…),(…))` else; returns the affected-row count.
 */
export async function writeDeletes(session: SqlSession, table: TableSchema, keys: readonly (readonly unknown[])[], options: WriteOptions = {}): Promise<number> {
  const plan = writePlan(table);
  const key = requireKey(table, plan);
  const maxRows = options.maxRows ?? DEFAULT_ROWS;
  const statement = (start: number, cap: number): { sql: string; end: number } => {
    const chunk = keys.slice(start, start + cap);
    const literals = chunk.map((k) => {
      checkKey(table, key, k);
      return keyLiterals(table, key, k);
    });
    return { sql: `DELETE FROM ${plan.from} WHERE ${keyIn(key, literals, null)}`, end: start + chunk.length };
  };
  let affected = 0;
  for (let start = 0; start < keys.length; ) {
    const s = fitting(statement, start, maxRows, options.maxPacket, (bytes) => tooLarge(table, 'delete', keys[start]!, bytes, options.maxPacket!));
    affected += await run(session, s.sql);
    start = s.end;
  }
  return affected;
}

/**
 * `a <=> … AND b <=> …` over the columns `image` logs: the match of a keyless table's row by its
 * before image, NULL-safe (a NULL cell meets NULL), each value written as a primary key's is (a
 * DECIMAL cast to the column's type, a TIMESTAMP from UTC, a FLOAT as its float32), so the server
 * compares as the engine's locking read did. A generated column is compared like the others (it
 * is part of the row replication matches). Throws when `image` logs no column (it would match every row).
 */
export function imageMatch(table: TableSchema, image: RowImage): string {
  const plan = writePlan(table);
  checkRow(table, plan, image);
  let out = '';
  for (const b of plan.binders) {
    const v = image[b.index];
    if (v === undefined) continue;
    const lit = sqlLiteral(bindValue(table, b, v));
    if (out !== '') out += ' AND ';
    // NULL needs no cast: `<=> NULL` meets NULL only.
    out += `${b.quoted} <=> ${b.keyOpen === '' || v === null ? lit : b.keyOpen + lit + b.keyClose}`;
  }
  if (out === '') throw new DatabaseError(RowWriterErrorCode.BadKey, `${label(table)}: a row image that logs no column cannot pick a row`, { table: label(table) });
  return out;
}

/**
 * `UPDATE … SET … WHERE <image> LIMIT 1` on a table without a primary key: one of the rows equal to
 * `image` (the before image; every equal row is the same value, the caller made sure), as
 * replication takes one. Nothing is sent when `set` changes no written column. The statement must
 * reach one row (verifyRows), else it fails DbErrorCode.NoRowMatched (a data rejection: the window
 * is decided again one transaction at a time, and the change is quarantined, never dropped).
 */
export async function writeUpdateByImage(session: SqlSession, table: TableSchema, image: RowImage, set: Readonly<Record<string, ColumnValue>>, options: WriteOptions = {}): Promise<number> {
  const plan = writePlan(table);
  let sets = '';
  for (const name of Object.keys(set)) {
    const b = plan.byName.get(name);
    if (b === undefined) throw unknownColumn(table, name);
    const v = set[name];
    if (b.column.isGenerated || v === undefined) continue;
    if (sets !== '') sets += ', ';
    sets += `${b.quoted} = ${valueLiteral(b, bindValue(table, b, v))}`;
  }
  if (sets === '') return 0;
  const sql = `UPDATE ${plan.from} SET ${sets} WHERE ${imageMatch(table, image)} LIMIT 1`;
  const over = oversize(sql, options.maxPacket);
  if (over !== null) throw tooLarge(table, 'update', null, over, options.maxPacket!);
  return runOne(session, sql, table, 'update', options);
}

/** `DELETE FROM … WHERE <image> LIMIT 1` on a table without a primary key: one of the rows equal to `image`; see writeUpdateByImage. */
export async function writeDeleteByImage(session: SqlSession, table: TableSchema, image: RowImage, options: WriteOptions = {}): Promise<number> {
  const plan = writePlan(table);
  const sql = `DELETE FROM ${plan.from} WHERE ${imageMatch(table, image)} LIMIT 1`;
  const over = oversize(sql, options.maxPacket);
  if (over !== null) throw tooLarge(table, 'delete', null, over, options.maxPacket!);
  return runOne(session, sql, table, 'delete', options);
}

/** Sends a statement that must reach exactly one row (the session's FOUND_ROWS: matched rows, changed or not). */
async function runOne(session: SqlSession, sql: string, table: TableSchema, statement: 'update' | 'delete', options: WriteOptions): Promise<number> {
  if (options.verifyRows === false) return run(session, sql);
  const check = (r: { readonly affectedRows: number }): void => {
    if (r.affectedRows === 1) return;
    throw new DatabaseError(DbErrorCode.NoRowMatched, `${label(table)}: the ${statement.toUpperCase()} by the row's before image reached ${r.affectedRows} rows, expected 1 (the DR's row changed, or the server compares a value otherwise than the engine's read)`, {
      table: label(table),
      statement,
      affected: r.affectedRows,
    });
  };
  try {
    if (session.checked !== undefined) return (await session.checked(sql, check)).affectedRows;
    const r = await session.query(sql);
    check(r);
    return r.affectedRows;
  } catch (e) {
    throw mapDbError(e);
  }
}

/**
 * The statement `build` makes from `start` with at most `cap` items, halved until it fits under
 * `limit`: one length test per statement, the rebuild only for a batch over the limit. A single
 * item over it is `tooLarge(bytes)`.
 */
function fitting(build: (start: number, cap: number) => { sql: string; end: number }, start: number, cap: number, limit: number | undefined, tooLarge: (bytes: number) => Error): { sql: string; end: number } {
  let s = build(start, cap);
  for (let over = oversize(s.sql, limit); over !== null; over = oversize(s.sql, limit)) {
    const n = s.end - start;
    if (n <= 1) throw tooLarge(over);
    s = build(start, Math.ceil(n / 2));
  }
  return s;
}

/** The primary-key values of an insert's row (null for a table without one). */
function keyOfRow(plan: WritePlan, row: RowImage): readonly unknown[] | null {
  return plan.key === null ? null : plan.key.map((b) => row[b.index]);
}

function tooLarge(table: TableSchema, statement: string, keyValues: readonly unknown[] | null, bytes: number, maxAllowedPacket: number): PacketTooLargeError {
  return new PacketTooLargeError({ table: label(table), statement, key: null, change: null, bytes, maxAllowedPacket }, keyValues);
}

// ---- literals -------------------------------------------------------------------------------

/** The value as mysql2 would bind it: see the module comment for each type. */
function bindValue(table: TableSchema, b: ColumnBinder, v: ColumnValue | undefined): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return b.isFloat ? Math.fround(v) : v;
  // stringifyCanonical prints a JsonValue's document (its contract), though its type does not list it.
  if (v instanceof JsonValue) return stringifyCanonical(v as unknown as CanonicalValue);
  if (v instanceof JsonPatch) {
    throw new DatabaseError(RowWriterErrorCode.JsonPatch, `${label(table)}.${b.column.name}: a JSON partial update (no full document) cannot be written`, {
      table: label(table),
      column: b.column.name,
    });
  }
  return v;
}

/** A bound value as its literal, inside the column's wrapping in VALUES and SET (a CONVERT_TZ). */
function valueLiteral(b: ColumnBinder, v: unknown): string {
  return b.open === '' ? sqlLiteral(v) : b.open + sqlLiteral(v) + b.close;
}

/** A primary key's values as literals, each inside its WHERE wrapping (a CONVERT_TZ, a CAST), in key order. */
function keyLiterals(table: TableSchema, key: readonly ColumnBinder[], values: readonly unknown[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < key.length; i++) {
    const b = key[i]!;
    const lit = sqlLiteral(bindValue(table, b, values[i] as ColumnValue));
    out.push(b.keyOpen === '' ? lit : b.keyOpen + lit + b.keyClose);
  }
  return out;
}

/** `a = … AND b = …` for one key. */
function keyMatch(key: readonly ColumnBinder[], literals: readonly string[]): string {
  let out = `${key[0]!.quoted} = ${literals[0]!}`;
  for (let i = 1; i < key.length; i++) out += ` AND ${key[i]!.quoted} = ${literals[i]!}`;
  return out;
}

/** The WHERE of a chunk of keys: the one key's match, `k IN (…)`, or `(a, b) IN ((…), …)`. */
function keyIn(key: readonly ColumnBinder[], literals: readonly (readonly string[])[], matches: readonly string[] | null): string {
  if (literals.length === 1) return matches?.[0] ?? keyMatch(key, literals[0]!);
  let out: string;
  if (key.length === 1) {
    out = `${key[0]!.quoted} IN (${literals[0]![0]!}`;
    for (let i = 1; i < literals.length; i++) out += `, ${literals[i]![0]!}`;
  } else {
    out = `(${key.map((b) => b.quoted).join(', ')}) IN ((${literals[0]!.join(', ')})`;
    for (let i = 1; i < literals.length; i++) out += `, (${literals[i]!.join(', ')})`;
  }
  return out + ')';
}

function sizeOf(v: unknown): number {
  if (typeof v === 'string') return v.length * 3 + 2;
  if (Buffer.isBuffer(v)) return v.length * 2 + 3;
  if (v instanceof CharsetText) return v.bytes.length * 2 + v.charset.length + 4;
  return 24;
}

function writePlan(table: TableSchema): WritePlan {
  let plan = plans.get(table);
  if (plan === undefined) {
    const binders = table.columns.map((c, index) => binder(c, index));
    const byName = new Map(binders.map((b) => [b.column.name, b]));
    plan = {
      from: `${quoteId(table.schema)}.${quoteId(table.table)}`,
      binders,
      writable: binders.filter((b) => !b.column.isGenerated),
      byName,
      key: table.primaryKey === null ? null : table.primaryKey.map((name) => byName.get(name)!),
    };
    plans.set(table, plan);
  }
  return plan;
}

function binder(column: ColumnSchema, index: number): ColumnBinder {
  let open = '';
  let close = '';
  let keyOpen = '';
  let keyClose = '';
  if (column.dataType === 'timestamp') {
    open = keyOpen = 'CONVERT_TZ(';
    close = keyClose = ", '+00:00', @@session.time_zone)";
  } else if (column.dataType === 'decimal' || column.dataType === 'numeric') {
    const m = /\((\d+)(?:,(\d+))?\)/.exec(column.columnType);
    keyOpen = 'CAST(';
    keyClose = m === null ? ' AS DECIMAL(65,30))' : ` AS DECIMAL(${m[1]},${m[2] ?? 0}))`;
  }
  return { column, index, quoted: quoteId(column.name), open, close, keyOpen, keyClose, isFloat: column.dataType === 'float' };
}

// ---- checks ---------------------------------------------------------------------------------

function checkRow(table: TableSchema, plan: WritePlan, row: RowImage): RowImage {
  if (row.length !== plan.binders.length) {
    throw new DatabaseError(RowWriterErrorCode.BadRow, `${label(table)}: a row image of ${row.length} columns for a table of ${plan.binders.length}`, { table: label(table) });
  }
  return row;
}

/** Whether `row` logs the same of `cols` as `first`. */
function samePresence(row: RowImage, first: RowImage, cols: readonly ColumnBinder[]): boolean {
  for (const b of cols) if ((row[b.index] === undefined) !== (first[b.index] === undefined)) return false;
  return true;
}

function unknownColumn(table: TableSchema, name: string): DatabaseError {
  return new DatabaseError(RowWriterErrorCode.UnknownColumn, `${label(table)} has no column "${name}"`, { table: label(table), column: name });
}

function requireKey(table: TableSchema, plan: WritePlan): readonly ColumnBinder[] {
  if (plan.key === null) throw new DatabaseError(RowWriterErrorCode.BadKey, `${label(table)} has no primary key: rows cannot be addressed`, { table: label(table) });
  return plan.key;
}

function checkKey(table: TableSchema, key: readonly ColumnBinder[], values: readonly unknown[]): void {
  if (values.length !== key.length || values.some((v) => v === null || v === undefined)) {
    throw new DatabaseError(RowWriterErrorCode.BadKey, `${label(table)}: expected ${key.length} non-NULL primary-key values (${key.map((b) => b.column.name).join(', ')}), found ${values.length}`, {
      table: label(table),
    });
  }
}

/** Sends a statement whose values are already written in it: no placeholders, so nothing for the session to format. */
async function run(session: SqlSession, sql: string): Promise<number> {
  try {
    return (await session.query(sql)).affectedRows;
  } catch (e) {
    throw mapDbError(e);
  }
}

function quoteId(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

function label(table: TableSchema): string {
  return `${table.schema}.${table.table}`;
}
