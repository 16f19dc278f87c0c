/**
 * The batched locking read of the streaming hot path (DESIGN.md, "The streaming hot path"): the DR
 * rows for a window's keys, one statement per batch, in EXACTLY the decoder's in-memory
 * representation (src/binlog/column.ts), so reconcile compares them with binlog images by value.
 *
 * Exact path: every cell arrives as text the server prints or as raw bytes, and is converted here,
 * never by mysql2's number parsing (its text protocol reads some DOUBLEs one ulp off, DESIGN.md
 * "Pitfalls"):
 * - integers, DECIMAL, DATE/DATETIME/TIME, YEAR, BIT: `CAST(… AS CHAR)`, the server's own digits
 *   with the column's scale and fractional digits, as the decoder prints them;
 * - DOUBLE: `CAST(d AS CHAR)` prints the shortest round-trip form, so Number() is exact; FLOAT is
 *   widened first (`CAST(CAST(f AS DOUBLE) AS CHAR)`), because a FLOAT printed as itself keeps only
 *   6 significant digits;
 * - TIMESTAMP: `UNIX_TIMESTAMP(c)` (seconds as stored, whatever the session's time zone) → UTC text;
 * - text, ENUM, SET: `CAST(c AS BINARY)`, the bytes in the column's charset, decoded by the decoder's
 *   own charset table (src/binlog/values/charset.ts): the same bytes through the same function;
 * - binary strings, BLOB, UUID, INET6, GEOMETRY: `CAST(c AS BINARY)`, the bytes the binlog logs
 *   (BINARY(n) read back padded, as the decoder restores it).
 */
import { BINARY_COLLATION, charsetOfCollation, decodeTextExact, isTextCollation } from '../binlog/values/charset.js';
import type { ColumnValue, RowImage } from '../binlog/column.js';
import { JsonValue } from '../binlog/values/json-value.js';
import { parseJsonText } from '../binlog/values/json-text.js';
import { rowKey } from '../model/row-key.js';
import type { ColumnSchema, TableSchema } from '../model/table-schema.js';

export { rowKey };
import { DatabaseError } from './schema-hints.js';
import type { SqlRow, SqlSession } from './sql-session.js';
import { mapDbError } from './db-errors.js';
import { imageMatch } from './row-writer.js';

/** Stable codes of row-reader failures. */
export const RowReaderErrorCode = {
  UnsupportedType: 'DB_ROW_UNSUPPORTED_TYPE',
  UnknownColumn: 'DB_ROW_UNKNOWN_COLUMN',
  BadKey: 'DB_ROW_BAD_KEY',
} as const;
export type RowReaderErrorCode = (typeof RowReaderErrorCode)[keyof typeof RowReaderErrorCode];

export interface ReadRowsOptions {
  /** `SELECT … FOR UPDATE`: lock the rows read (inside the caller's transaction). */
  readonly forUpdate: boolean;
  /** Keys per statement (default 1,000). */
  readonly batchSize?: number;
}

/** One statement of a batched read, for EXPLAIN and for plans. */
export interface RowQuery {
  readonly sql: string;
  readonly params: readonly unknown[];
}

const DEFAULT_BATCH = 1000;
const SAFE_DIGITS = 15;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** How one column is selected and turned into the decoder's value; built once per table. */
interface ColumnReader {
  readonly select: string;
  readonly convert: (raw: unknown) => ColumnValue;
}

interface TablePlan {
  readonly selectList: string;
  readonly readers: readonly ColumnReader[];
  /** Each column's alias in the result row (`c0`, `c1`, …), made once: a string per cell was half of what the read allocated (58 → 30 MB in a 200k-change apply). */
  readonly aliases: readonly string[];
  readonly from: string;
}

const plans = new WeakMap<TableSchema, TablePlan>();

/**
 * Reads the DR rows whose `keyColumns` equal one of `keys` (values in the decoder's types), one
 * statement per batch; the map is keyed by `rowKey` of the row's own key values. Keys holding a
 * NULL match no row and are skipped.
 */
export async function readRowsByKeys(
  session: SqlSession,
  table: TableSchema,
  keyColumns: readonly string[],
  keys: readonly (readonly unknown[])[],
  options: ReadRowsOptions,
): Promise<Map<string, RowImage>> {
  const positions = keyColumns.map((name) => columnIndex(table, name));
  const result = new Map<string, RowImage>();
  for (const image of await readRowsMatching(session, table, keyColumns, keys, options)) result.set(rowKey(positions.map((p) => image[p])), image);
  return result;
}

/**
 * Reads every DR row whose `keyColumns` equal one of `keys`, for columns that need not be unique
 * (a foreign key's columns: the children of a parent); one statement per batch. Keys holding a
 * NULL match no row and are skipped.
 */
export async function readRowsMatching(
  session: SqlSession,
  table: TableSchema,
  keyColumns: readonly string[],
  keys: readonly (readonly unknown[])[],
  options: ReadRowsOptions,
): Promise<RowImage[]> {
  const plan = tablePlan(table);
  const usable = keys.filter((k) => !k.some((v) => v === null || v === undefined));
  const batch = options.batchSize ?? DEFAULT_BATCH;
  const out: RowImage[] = [];
  for (let start = 0; start < usable.length; start += batch) {
    const query = buildRowQuery(table, keyColumns, usable.slice(start, start + batch), options);
    let rows: readonly SqlRow[];
    try {
      // Mapped, so a lock-wait timeout or deadlock of the locking read is retryable like a write's.
      ({ rows } = await session.query(query.sql, query.params));
    } catch (e) {
      throw mapDbError(e);
    }
    for (const raw of rows) out.push(toImage(raw, plan));
  }
  return out;
}

/**
 * The statement for one batch: `a=? AND b=?` for one key (MariaDB 10.11 scans the whole primary
 * key for a one-element row constructor), `a IN (…)` for one column, `(a,b) IN ((…),(…))` else.
 */
export function buildRowQuery(table: TableSchema, keyColumns: readonly string[], keys: readonly (readonly unknown[])[], options: ReadRowsOptions): RowQuery {
  if (keyColumns.length === 0) throw new DatabaseError(RowReaderErrorCode.BadKey, `${label(table)}: a key needs at least one column`, { table: label(table) });
  if (keys.length === 0) throw new DatabaseError(RowReaderErrorCode.BadKey, `${label(table)}: no keys to read`, { table: label(table) });
  const plan = tablePlan(table);
  const cols = keyColumns.map((name) => table.columns[columnIndex(table, name)]!);
  const marks = cols.map(placeholder);
  const params: unknown[] = [];
  for (const key of keys) {
    if (key.length !== cols.length) {
      throw new DatabaseError(RowReaderErrorCode.BadKey, `${label(table)}: a key of ${key.length} values for ${cols.length} key columns (${keyColumns.join(', ')})`, { table: label(table) });
    }
    for (let i = 0; i < key.length; i++) params.push(key[i]);
  }
  let where: string;
  if (keys.length === 1) where = cols.map((c, i) => `${quoteId(c.name)} = ${marks[i]}`).join(' AND ');
  else if (cols.length === 1) where = `${quoteId(cols[0]!.name)} IN (${keys.map(() => marks[0]).join(', ')})`;
  else {
    const tuple = `(${marks.join(', ')})`;
    where = `(${cols.map((c) => quoteId(c.name)).join(', ')}) IN (${keys.map(() => tuple).join(', ')})`;
  }
  const sql = `SELECT ${plan.selectList} FROM ${plan.from} WHERE ${where}${options.forUpdate ? ' FOR UPDATE' : ''}`;
  return { sql, params };
}

/** Images per statement of readRowsByImages: each is a flag column of every row returned. */
const IMAGES_PER_READ = 50;

/**
 * The DR's default values of `columns` (each a column with a literal default: ColumnSchema.default),
 * as the server would store them on an INSERT that leaves them out, in the decoder's types:
 * `DEFAULT(col)` through the column's exact read path, so the server's own conversion of the
 * literal to the column's type (CHAR's trailing spaces gone, BINARY padded, an ENUM's label as
 * declared) is what comes back. Read off any one row, non-locking: on the NULL-complemented row of
 * an outer join MariaDB 10.11 gives NULL for a NOT NULL column's default, so no row is asked for
 * without the table. Null when the table has no rows.
 */
export async function readColumnDefaults(session: SqlSession, table: TableSchema, columns: readonly string[]): Promise<ColumnValue[] | null> {
  if (columns.length === 0) return [];
  const readers = columns.map((name) => {
    const col = table.columns[columnIndex(table, name)]!;
    return columnReader(table, col, `DEFAULT(${quoteId(col.name)})`);
  });
  const sql = `SELECT ${readers.map((r, i) => `${r.select} AS \`d${i}\``).join(', ')} FROM ${quoteId(table.schema)}.${quoteId(table.table)} LIMIT 1`;
  let rows: readonly SqlRow[];
  try {
    ({ rows } = await session.query(sql));
  } catch (e) {
    throw mapDbError(e);
  }
  const raw = rows[0];
  if (raw === undefined) return null;
  return readers.map((r, i) => {
    const v = raw[`d${i}`];
    return v === null || v === undefined ? null : r.convert(v);
  });
}

/**
 * For a table without a primary key: per image of `images`, every DR row equal to it on the
 * columns it logs (NULL-safe, under each column's collation: the comparison an UPDATE or DELETE
 * by that image makes, row-writer.ts imageMatch), every copy of a row held several times. One
 * statement per 50 images: `SELECT …, (<image 1>) AS q0, … WHERE (<image 1>) OR …`, so the server
 * itself says which image each row meets. FOR UPDATE (`options.forUpdate`) locks what it scans:
 * without an index, the table's rows.
 */
export async function readRowsByImages(session: SqlSession, table: TableSchema, images: readonly RowImage[], options: ReadRowsOptions): Promise<RowImage[][]> {
  const plan = tablePlan(table);
  const out: RowImage[][] = images.map(() => []);
  const batch = Math.min(options.batchSize ?? IMAGES_PER_READ, IMAGES_PER_READ);
  for (let start = 0; start < images.length; start += batch) {
    const chunk = images.slice(start, start + batch);
    // Values are literals in the text (as the writes have them): no placeholders for the driver to look for.
    const { sql } = buildImageQuery(table, chunk, options);
    let rows: readonly SqlRow[];
    try {
      ({ rows } = await session.query(sql));
    } catch (e) {
      throw mapDbError(e);
    }
    for (const raw of rows) {
      const image = toImage(raw, plan);
      for (let i = 0; i < chunk.length; i++) if (Number(raw[`q${i}`]) === 1) out[start + i]!.push(image);
    }
  }
  return out;
}

/** The statement of one batch of readRowsByImages. */
export function buildImageQuery(table: TableSchema, images: readonly RowImage[], options: ReadRowsOptions): RowQuery {
  if (images.length === 0) throw new DatabaseError(RowReaderErrorCode.BadKey, `${label(table)}: no images to read`, { table: label(table) });
  const plan = tablePlan(table);
  const matches = images.map((image) => `(${imageMatch(table, image)})`);
  const flags = matches.map((m, i) => `${m} AS \`q${i}\``).join(', ');
  const sql = `SELECT ${plan.selectList}, ${flags} FROM ${plan.from} WHERE ${matches.join(' OR ')}${options.forUpdate ? ' FOR UPDATE' : ''}`;
  return { sql, params: [] };
}

/**
 * Why `table`'s rows cannot be read back exactly (a column with no exact read path: MySQL's JSON,
 * VECTOR), or null when they can. A keyless table is matched by whole images, so such a column
 * leaves its updates and deletes unmatched (quarantined) rather than failing the run.
 */
export function unreadableReason(table: TableSchema): string | null {
  for (const col of table.columns) {
    if (col.dataType === 'json') return `${label(table)}.${col.name}: MySQL's JSON reads back as text, which cannot say whether a number in it is a DECIMAL or a DOUBLE, so a row cannot be matched by its image`;
    try {
      columnReader(table, col);
    } catch (e) {
      if (e instanceof DatabaseError) return e.message;
      throw e;
    }
  }
  return null;
}

// ---- per-table plan -------------------------------------------------------------------------

function tablePlan(table: TableSchema): TablePlan {
  let plan = plans.get(table);
  if (plan === undefined) {
    const readers = table.columns.map((c) => columnReader(table, c));
    plan = {
      readers,
      aliases: readers.map((_, i) => `c${i}`),
      selectList: readers.map((r, i) => `${r.select} AS \`c${i}\``).join(', '),
      from: `${quoteId(table.schema)}.${quoteId(table.table)}`,
    };
    plans.set(table, plan);
  }
  return plan;
}

/** How `col` is read: `ref`, the SQL of its value (the column itself, or `DEFAULT(col)`), through the column type's exact path. */
function columnReader(table: TableSchema, col: ColumnSchema, ref = quoteId(col.name)): ColumnReader {
  const id = ref;
  switch (col.dataType) {
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'integer':
    case 'bigint':
      return { select: `CAST(${id} AS CHAR)`, convert: toInteger };
    case 'year':
      // YEAR(2) prints two digits ('99'); the binlog logs the year itself (1999).
      return { select: `CAST(${id} AS CHAR)`, convert: /^year\(2\)/i.test(col.columnType) ? toYear2 : toInteger };
    case 'bit':
      return { select: `CAST(CAST(${id} AS UNSIGNED) AS CHAR)`, convert: toInteger };
    case 'decimal':
    case 'numeric':
      // ZEROFILL prints its padding ('000012.50'); the decoder prints the number ('12.50').
      return { select: `CAST(${id} AS CHAR)`, convert: /\bzerofill\b/i.test(col.columnType) ? toUnpaddedDecimal : toText };
    case 'date':
    case 'datetime':
    case 'time':
      return { select: `CAST(${id} AS CHAR)`, convert: toText };
    case 'double':
    case 'real':
      return { select: `CAST(${id} AS CHAR)`, convert: toDouble };
    case 'float':
      return { select: `CAST(CAST(${id} AS DOUBLE) AS CHAR)`, convert: toDouble };
    case 'timestamp': {
      const fsp = fractionDigits(col.columnType);
      return { select: `CAST(UNIX_TIMESTAMP(${id}) AS CHAR)`, convert: (raw) => toUtc(raw, fsp) };
    }
    case 'char':
    case 'varchar':
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
    case 'enum':
    case 'set':
      return { select: `CAST(${id} AS BINARY)`, convert: textConverter(col.collationId) };
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
    case 'uuid':
    case 'inet4':
    case 'inet6':
    case 'geometry':
    case 'point':
    case 'linestring':
    case 'polygon':
    case 'multipoint':
    case 'multilinestring':
    case 'multipolygon':
    case 'geometrycollection':
      return { select: `CAST(${id} AS BINARY)`, convert: toBuffer };
    case 'json':
      // MySQL's JSON, printed as text and parsed into the decoder's tree (json-text.ts). A DECIMAL
      // and a DOUBLE of the same value print alike; they compare equal, as MySQL compares them
      // (value-equality.ts). A table without a key is matched by image, which such a value cannot
      // be (unreadableReason).
      return { select: `CAST(${id} AS CHAR CHARACTER SET utf8mb4)`, convert: toJsonValue };
    default:
      // VECTOR and others have no verified path yet.
      throw new DatabaseError(RowReaderErrorCode.UnsupportedType, `${label(table)}.${col.name}: no exact read path for type ${col.columnType}`, {
        table: label(table),
        column: col.name,
      });
  }
}

// ---- conversions ----------------------------------------------------------------------------

function toImage(raw: SqlRow, plan: TablePlan): RowImage {
  const { readers, aliases } = plan;
  const image: RowImage = new Array<ColumnValue>(readers.length);
  for (let i = 0; i < readers.length; i++) {
    const v = raw[aliases[i]!];
    image[i] = v === null || v === undefined ? null : readers[i]!.convert(v);
  }
  return image;
}

function asText(raw: unknown): string {
  return Buffer.isBuffer(raw) ? raw.toString('latin1') : String(raw);
}

/** A MySQL JSON document from its text; the server prints nothing else. */
function toJsonValue(raw: unknown): JsonValue {
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : String(raw);
  const node = parseJsonText(text);
  if (node === undefined) throw new DatabaseError(RowReaderErrorCode.UnsupportedType, `a JSON column read back as text that is no JSON document: ${text.slice(0, 80)}`, {});
  return new JsonValue(node);
}

/** A YEAR(2) value: 70–99 are 1970–1999, 00–69 are 2000–2069 (as the server stores them). */
function toYear2(raw: unknown): number {
  const n = Number(toText(raw));
  return n < 70 ? 2000 + n : 1900 + n;
}

/** A ZEROFILL DECIMAL without its leading zeros, one kept before the point. */
function toUnpaddedDecimal(raw: unknown): string {
  return toText(raw).replace(/^0+(?=\d)/, '');
}

function toText(raw: unknown): string {
  return asText(raw);
}

/** A number within ±(2^53−1), else a bigint, as the decoder returns integers. */
function toInteger(raw: unknown): number | bigint {
  const s = asText(raw);
  if (s.length <= SAFE_DIGITS) return Number(s);
  const big = BigInt(s);
  return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : big;
}

/** Correctly rounded: the server printed the shortest text that reads back as the stored double. */
function toDouble(raw: unknown): number {
  return Number(asText(raw));
}

function toBuffer(raw: unknown): Buffer {
  return Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw), 'latin1');
}

/** The column's bytes through the decoder's charset table (decodeTextExact, as the decoder: the same bytes, the same value); unknown or binary charsets stay Buffers, as in the decoder. */
function textConverter(collationId: number | null): (raw: unknown) => ColumnValue {
  if (collationId === null || collationId === BINARY_COLLATION || !isTextCollation(collationId)) return toBuffer;
  const cs = charsetOfCollation(collationId)!;
  return (raw) => {
    const buf = toBuffer(raw);
    return decodeTextExact(buf, 0, buf.length, cs);
  };
}

/** `timestamp(6)` → 6; no parentheses → 0. */
function fractionDigits(columnType: string): number {
  const m = /\((\d)\)/.exec(columnType);
  return m === null ? 0 : Number(m[1]);
}

/** UNIX_TIMESTAMP text (`1704164645.123456`) → `2024-01-02 03:04:05.123456` in UTC; 0 is the zero timestamp. */
function toUtc(raw: unknown, fsp: number): string {
  const s = asText(raw);
  const dot = s.indexOf('.');
  const seconds = Number(dot === -1 ? s : s.slice(0, dot));
  const frac = fsp === 0 ? '' : '.' + (dot === -1 ? '' : s.slice(dot + 1)).padEnd(fsp, '0').slice(0, fsp);
  if (seconds === 0) return '0000-00-00 00:00:00' + frac;
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac}`;
}

// ---- keys -----------------------------------------------------------------------------------

/**
 * The placeholder for a key value of `col`: DECIMAL values are cast to the column's type (a string
 * would be compared as a double), TIMESTAMP values (UTC text) are moved into the session's zone.
 */
function placeholder(col: ColumnSchema): string {
  if (col.dataType === 'decimal' || col.dataType === 'numeric') {
    const m = /\((\d+)(?:,(\d+))?\)/.exec(col.columnType);
    return m === null ? 'CAST(? AS DECIMAL(65,30))' : `CAST(? AS DECIMAL(${m[1]},${m[2] ?? 0}))`;
  }
  if (col.dataType === 'timestamp') return "CONVERT_TZ(?, '+00:00', @@session.time_zone)";
  return '?';
}

function columnIndex(table: TableSchema, name: string): number {
  const i = table.columns.findIndex((c) => c.name === name);
  if (i === -1) throw new DatabaseError(RowReaderErrorCode.UnknownColumn, `${label(table)} has no column "${name}"`, { table: label(table), column: name });
  return i;
}

function quoteId(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

function label(table: TableSchema): string {
  return `${table.schema}.${table.table}`;
}
