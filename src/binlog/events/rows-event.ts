/**
 * WRITE/UPDATE/DELETE_ROWS v0/v1/v2, PARTIAL_UPDATE_ROWS and MariaDB's compressed rows events
 * (libs/mysql/binlog/event/rows_event.cpp, sql/rpl_record.cc unpack_row; MariaDB sql/log_event.cc).
 * Post-header: table id, flags, and for v2 an extra-data block. Body: column count, the bitmap of
 * columns present in the (before) image, for updates the after-image bitmap, then rows: per
 * image a NULL bitmap over the present columns and the non-NULL values. A column absent from an
 * image stays `undefined` in the decoded row (MINIMAL/NOBLOB images), never null.
 */
import { BinlogError, BinlogErrorCode } from '../../errors.js';
import { ByteReader, ShortReadError } from '../byte-reader.js';
import type { ColumnDef, RowImage } from '../column.js';
import { ColumnType, columnTypeName } from '../column-types.js';
import { EventType } from '../event-types.js';
import type { RowChange, RowOperation, RowsEvent, TableMap } from '../event.js';
import type { EventHeader } from '../header.js';
import { cellOps, decodeCell, decodeColumnValue } from '../values/decode-value.js';
import { applyJsonDiffs, readJsonDiffs } from '../values/json-diff.js';
import { JsonPatch, JsonValue } from '../values/json-value.js';
import { inflateMariadb } from './mariadb-compression.js';
import { isOldTemporal } from './table-map.js';

const PARTIAL_JSON_UPDATES = 1;

/** What a rows-event type code means: operation, layout version, compression. */
export interface RowsKind {
  readonly op: RowOperation;
  readonly v2: boolean;
  readonly compressed: boolean;
  readonly partial: boolean;
}

/** Every rows-event kind, made once: decodeRows looks one up per event. */
const KINDS = {
  write1: { op: 'insert', v2: false, compressed: false, partial: false },
  update1: { op: 'update', v2: false, compressed: false, partial: false },
  delete1: { op: 'delete', v2: false, compressed: false, partial: false },
  write2: { op: 'insert', v2: true, compressed: false, partial: false },
  update2: { op: 'update', v2: true, compressed: false, partial: false },
  delete2: { op: 'delete', v2: true, compressed: false, partial: false },
  partial: { op: 'update', v2: true, compressed: false, partial: true },
  write1z: { op: 'insert', v2: false, compressed: true, partial: false },
  update1z: { op: 'update', v2: false, compressed: true, partial: false },
  delete1z: { op: 'delete', v2: false, compressed: true, partial: false },
  write2z: { op: 'insert', v2: true, compressed: true, partial: false },
  update2z: { op: 'update', v2: true, compressed: true, partial: false },
  delete2z: { op: 'delete', v2: true, compressed: true, partial: false },
} as const satisfies Record<string, RowsKind>;

/** The rows-event kind of a type code, or null for other events (literal labels: see decodeColumnValue). */
export function rowsKind(typeCode: number): RowsKind | null {
  switch (typeCode) {
    case 20 satisfies typeof EventType.PRE_GA_WRITE_ROWS:
    case 23 satisfies typeof EventType.WRITE_ROWS_V1:
      return KINDS.write1;
    case 21 satisfies typeof EventType.PRE_GA_UPDATE_ROWS:
    case 24 satisfies typeof EventType.UPDATE_ROWS_V1:
      return KINDS.update1;
    case 22 satisfies typeof EventType.PRE_GA_DELETE_ROWS:
    case 25 satisfies typeof EventType.DELETE_ROWS_V1:
      return KINDS.delete1;
    case 30 satisfies typeof EventType.WRITE_ROWS_V2:
      return KINDS.write2;
    case 31 satisfies typeof EventType.UPDATE_ROWS_V2:
      return KINDS.update2;
    case 32 satisfies typeof EventType.DELETE_ROWS_V2:
      return KINDS.delete2;
    case 39 satisfies typeof EventType.PARTIAL_UPDATE_ROWS:
      return KINDS.partial;
    case 166 satisfies typeof EventType.WRITE_ROWS_COMPRESSED_V1:
      return KINDS.write1z;
    case 167 satisfies typeof EventType.UPDATE_ROWS_COMPRESSED_V1:
      return KINDS.update1z;
    case 168 satisfies typeof EventType.DELETE_ROWS_COMPRESSED_V1:
      return KINDS.delete1z;
    case 169 satisfies typeof EventType.WRITE_ROWS_COMPRESSED:
      return KINDS.write2z;
    case 170 satisfies typeof EventType.UPDATE_ROWS_COMPRESSED:
      return KINDS.update2z;
    case 171 satisfies typeof EventType.DELETE_ROWS_COMPRESSED:
      return KINDS.delete2z;
    default:
      return null;
  }
}

/** [0, 1, …, n−1] per column count: the columns of a full image, shared by every event (read-only). */
const allColumns: Int32Array[] = [];

/** Indexes of the columns whose bit is set in the LSB-first bitmap at the reader's position, which it passes. */
function presentColumns(r: ByteReader, count: number): Int32Array {
  const bytes = (count + 7) >> 3;
  r.need(bytes);
  // Read in place: a view per bitmap cost more than the scan (two per rows event).
  const bits = r.buf;
  const at = r.pos;
  r.pos += bytes;
  // Full images (binlog_row_image=FULL, the common case) reuse one shared index array.
  let full = true;
  for (let i = 0; i < count && full; i++) if (!(bits[at + (i >> 3)]! & (1 << (i & 7)))) full = false;
  if (full) {
    let all = allColumns[count];
    if (!all) {
      all = new Int32Array(count);
      for (let i = 0; i < count; i++) all[i] = i;
      allColumns[count] = all;
    }
    return all;
  }
  let n = 0;
  for (let i = 0; i < count; i++) if (bits[at + (i >> 3)]! & (1 << (i & 7))) n++;
  const out = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < count; i++) if (bits[at + (i >> 3)]! & (1 << (i & 7))) out[k++] = i;
  return out;
}

/** Thrown inside the row loop; carries which column was being read. */
class CellError extends Error {
  constructor(
    readonly column: ColumnDef,
    readonly inner: unknown,
  ) {
    super('cell');
  }
}

/** The CellOps of a table map's columns, made once per map (the decoder reuses a map while its bytes repeat). */
const opsOfMap = new WeakMap<TableMap, Uint8Array>();

function opsOf(table: TableMap): Uint8Array {
  let ops = opsOfMap.get(table);
  if (ops === undefined) {
    ops = cellOps(table.columns);
    opsOfMap.set(table, ops);
  }
  return ops;
}

function readImage(r: ByteReader, columns: readonly ColumnDef[], ops: Uint8Array, present: Int32Array): RowImage {
  const n = present.length;
  const row: RowImage = new Array(columns.length);
  // A partial image (MINIMAL/NOBLOB) holds `undefined` where a column was not logged, never a
  // hole: Array#map and #forEach skip holes, and a reconciler map over an inserted row then lost
  // every column an update of that row set (found with binlog_row_image=MINIMAL).
  if (n !== columns.length) row.fill(undefined);
  const nullBytes = (n + 7) >> 3;
  r.need(nullBytes);
  const nullAt = r.pos;
  r.pos += nullBytes;
  const buf = r.buf;
  // A full image (FULL row images, the common case) holds every column in order: present[j] is j.
  const full = n === columns.length;
  let j = 0;
  // One handler around the loop, not one per cell: `j` says which column failed.
  try {
    // The NULL bits read a byte per eight columns and shifted, not a byte read and a mask per cell.
    let nulls = 0;
    for (; j < n; j++) {
      if ((j & 7) === 0) nulls = buf[nullAt + (j >> 3)]!;
      const i = full ? j : present[j]!;
      row[i] = nulls & 1 ? null : decodeCell(r, columns[i]!, ops[i]!);
      nulls >>= 1;
    }
  } catch (cause) {
    throw new CellError(columns[present[j]!]!, cause);
  }
  return row;
}

/**
 * The after image of a PARTIAL_UPDATE_ROWS row: value options, then (with PARTIAL_JSON_UPDATES) a
 * bitmap over the table's JSON columns; a JSON column with its bit set holds a diff vector that is
 * applied to the same column of the before image.
 */
function readPartialAfterImage(r: ByteReader, columns: readonly ColumnDef[], present: Int32Array, jsonCount: number, before: RowImage): RowImage {
  const options = r.lenenc();
  let partialBits: Buffer | null = null;
  if (options & PARTIAL_JSON_UPDATES) partialBits = r.bytes((jsonCount + 7) >> 3);
  const row: RowImage = new Array(columns.length).fill(undefined);
  const nullBytes = (present.length + 7) >> 3;
  const nullBits = r.bytes(nullBytes);
  // partial_bits has one bit per JSON column of the table, present in this image or not
  // (sql/rpl_record.cc pack_row): a column's bit is its rank among all the JSON columns.
  let jsonIndex = 0;
  let scanned = 0;
  for (let j = 0; j < present.length; j++) {
    const col = columns[present[j]!]!;
    for (; scanned < col.index; scanned++) if (columns[scanned]!.type === ColumnType.JSON) jsonIndex++;
    let partial = false;
    if (col.type === ColumnType.JSON) {
      partial = partialBits !== null && (partialBits[jsonIndex >> 3]! & (1 << (jsonIndex & 7))) !== 0;
    }
    if (nullBits[j >> 3]! & (1 << (j & 7))) {
      row[col.index] = null;
      continue;
    }
    try {
      if (partial) {
        const length = r.uintLE(col.meta);
        const diffs = readJsonDiffs(r, length);
        const base = before[col.index];
        if (base === undefined) {
          // binlog_row_image=MINIMAL: the before image omits the column, so only the diffs exist
          // (rust_mysql_common json.binlog.000001 at 3750). Keep them as the value, unapplied.
          row[col.index] = new JsonPatch(diffs.map((d) => (d.operation === 2 ? { op: 'remove', path: d.path } : { op: d.operation === 0 ? 'replace' : 'insert', path: d.path, value: d.value! })));
        } else if (base instanceof JsonValue) {
          row[col.index] = new JsonValue(applyJsonDiffs(base.node, diffs));
        } else {
          throw new BinlogError(BinlogErrorCode.CorruptEvent, `partial JSON update of ${col.name} has no JSON before-image value to apply to`);
        }
      } else {
        row[col.index] = decodeColumnValue(r, col);
      }
    } catch (cause) {
      throw new CellError(col, cause);
    }
  }
  return row;
}

/**
 * For a rows event that does not decode: a table with TIME, DATETIME or TIMESTAMP columns logged
 * without metadata may hold MariaDB's pre-10.1 layouts (mysql56_temporal_format=OFF), whose
 * fractional digits make a value wider than the binlog says; its rows then misalign, which reads
 * like damage but is not. (A DATETIME or TIME that misreads as no valid value says so itself.)
 */
function oldTemporalHint(table: TableMap): string {
  const old = table.columns.filter((c) => isOldTemporal(c.type) && c.meta === 0);
  if (old.length === 0) return '';
  return ` — or not damage: ${old.map((c) => c.name).join(', ')} ${old.length === 1 ? 'is' : 'are'} in the old temporal layout, which the binlog logs without fractional digits, and on MariaDB such a column created with mysql56_temporal_format=OFF and fractional digits (TIME(2)) is wider than that: decode with the server's schema (inspect --schema-from; plan and apply read it from the DR)`;
}

/** Where a rows event is being decoded, for error messages. */
export interface RowsPlace {
  readonly file: string;
  readonly offset: number;
}

/**
 * Decodes a rows event body. `maps` resolves the table id; a rows event whose table map was not
 * seen (a file read from the middle of a transaction) is an error the caller reports.
 */
export function decodeRows(r: ByteReader, header: EventHeader, postHeader: number, kind: RowsKind, maps: ReadonlyMap<number, TableMap>, place: RowsPlace): RowsEvent {
  if (header.typeCode >= EventType.PRE_GA_WRITE_ROWS && header.typeCode <= EventType.PRE_GA_DELETE_ROWS) {
    // Pre-GA rows events (MySQL 5.1.0–5.1.15 and the WL#2325 prototypes) carry rows in the table's
    // own record layout (sql/log_event_old.cc unpack_row_old): NULL bytes of table->s->null_bytes with
    // engine-specific bit positions, and a value for every column, NULL or not. Read as v1 they
    // decode to wrong values silently; without the table definition they cannot be read at all.
    throw new BinlogError(BinlogErrorCode.Unsupported, `pre-GA rows event (${header.typeCode === EventType.PRE_GA_WRITE_ROWS ? 'WRITE' : header.typeCode === EventType.PRE_GA_UPDATE_ROWS ? 'UPDATE' : 'DELETE'}_ROWS_EVENT_V0, MySQL 5.1.0–5.1.15) at ${place.file}:${place.offset}: its rows use the table's record layout, which the binlog does not describe`, { ...place, eventType: header.typeCode });
  }
  const bodyStart = r.pos;
  const tableId = postHeader === 6 ? r.u32le() : r.u48le();
  const flags = r.u16le();
  if (kind.v2 && postHeader >= 10) {
    const extra = r.u16le();
    if (extra < 2) throw new BinlogError(BinlogErrorCode.CorruptEvent, `rows event extra-data length ${extra} < 2`, { ...place, eventType: header.typeCode });
    r.skip(extra - 2);
  } else {
    r.pos = Math.max(r.pos, bodyStart + postHeader);
  }
  const table = maps.get(tableId);
  if (!table) {
    throw new BinlogError(BinlogErrorCode.MissingTableMap, `rows event for table id ${tableId} without a preceding table map at ${place.file}:${place.offset} (was the file read from the middle of a transaction?)`, { ...place, eventType: header.typeCode });
  }
  const count = r.lenenc();
  const columns = table.columns;
  if (count > columns.length) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `rows event for ${table.schema}.${table.table} has ${count} columns, its table map ${columns.length}`, { ...place, table: `${table.schema}.${table.table}` });
  }
  const present1 = presentColumns(r, count);
  const present2 = kind.op === 'update' ? presentColumns(r, count) : present1;

  let rowsReader = r;
  if (kind.compressed) {
    rowsReader = new ByteReader(inflateMariadb(r.rest()));
  }
  const jsonCount = kind.partial ? columns.filter((c) => c.type === ColumnType.JSON).length : 0;
  const ops = opsOf(table);
  const rows: RowChange[] = [];
  const op = kind.op;
  const eventOffset = header.offset;
  const rr = rowsReader;
  try {
    while (rr.pos < rr.end) {
      const rowStart = rr.pos;
      const first = readImage(rr, columns, ops, present1);
      if (kind.op === 'update') {
        const after = kind.partial ? readPartialAfterImage(rr, columns, present2, jsonCount, first) : readImage(rr, columns, ops, present2);
        rows.push({ op, table, before: first, after, eventOffset });
      } else if (kind.op === 'insert') {
        rows.push({ op, table, before: null, after: first, eventOffset });
      } else {
        rows.push({ op, table, before: first, after: null, eventOffset });
      }
      // Images of no columns take no bytes: left-over bytes can then never be read (corruption),
      // and without this check the loop would append empty rows until memory runs out.
      if (rr.pos === rowStart) {
        throw new BinlogError(BinlogErrorCode.CorruptEvent, `rows event for ${table.schema}.${table.table} has ${rr.end - rr.pos} bytes of row data but no columns in its images`, { ...place, eventType: header.typeCode, table: `${table.schema}.${table.table}` });
      }
    }
  } catch (e) {
    if (e instanceof CellError) {
      const col = e.column;
      const cause = e.inner;
      const what = `${table.schema}.${table.table} column ${col.name} (${columnTypeName(col.type)})`;
      const details = { ...place, eventType: header.typeCode, table: `${table.schema}.${table.table}`, column: col.name };
      if (cause instanceof ShortReadError) {
        throw new BinlogError(BinlogErrorCode.CorruptEvent, `truncated rows event: ${cause.available} of ${cause.wanted} bytes for ${what} at ${place.file}:${place.offset}${oldTemporalHint(table)}`, details, cause);
      }
      if (cause instanceof BinlogError) {
        throw new BinlogError(cause.code, `${cause.message} (${what} at ${place.file}:${place.offset})`, { ...cause.details, ...details }, cause);
      }
      throw new BinlogError(BinlogErrorCode.CorruptEvent, `cannot decode ${what} at ${place.file}:${place.offset}: ${(cause as Error).message}`, details, cause);
    }
    throw e;
  }
  return { kind: 'rows', header, op: kind.op, table, flags, rows, partialJson: kind.partial };
}
