/**
 * One non-NULL cell of a rows event, decoded by its column's type. Wire facts from mysql-server
 * sql/log_event.cc (log_event_print_value), libs/mysql/binlog/event/binary_log_funcs.cpp
 * (calc_field_size), strings/decimal.cc (bin2decimal), mysys/my_time.cc (my_*_packed_from_binary,
 * TIME_from_longlong_*_packed) and sql/field.cc; MariaDB's hires temporals from MariaDB
 * sql/field.cc (Field_*_hires) and sql-common/my_time.c (pack_time/unpack_time).
 *
 * Values follow column.ts: integers are numbers within ±(2^53−1), else bigint; DECIMAL and temporals
 * are strings as the server prints them; text is a string decoded by the column's charset; binary
 * data is a Buffer. Every Buffer returned is a copy: values outlive the chunk the reader points at.
 * This is the hot path: no regex, no closures, no intermediate arrays.
 */
import { BinlogError, BinlogErrorCode } from '../../errors.js';
import { ShortReadError, type ByteReader } from '../byte-reader.js';
import type { ColumnDef, ColumnValue } from '../column.js';
import { ColumnType, columnTypeName } from '../column-types.js';
import { BINARY_COLLATION, TextCodec, charsetOfCollation, decodeText, decodeTextExact } from './charset.js';
import type { CharsetText } from './charset-text.js';
import { decodeJsonBinary } from './json-binary.js';
import { utf8Text } from '../fast-text.js';

const TWO_24 = 16777216;
const TWO_32 = 4294967296;
/** Above this high word a 64-bit value exceeds 2^53 − 1 and must be a bigint. */
const SAFE_HIGH = 0x200000;
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000] as const;
/** Bytes that hold 0–9 decimal digits in a DECIMAL's binary form (strings/decimal.cc dig2bytes). */
const DIG2BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4] as const;
/** MariaDB hires storage sizes by fsp (sql/field.cc), matching the cells a 10.11 server wrote in the tests. */
const TIME_HIRES_BYTES = [3, 4, 4, 5, 5, 5, 6] as const;
const DATETIME_HIRES_BYTES = [5, 6, 6, 7, 7, 7, 8] as const;
const SEC_PART_BYTES = [0, 1, 1, 2, 2, 3, 3] as const;
/** MariaDB's TIME hires zero point: TIME_MAX_VALUE_SECONDS + 1 = 838:59:59 + 1 s. */
const TIME_HIRES_ZERO_SECONDS = 3020400;

/**
 * Decodes one non-NULL cell of `col` at the reader's position and advances past it.
 *
 * The case labels here, in decodeCell, the decoder's event dispatch and rowsKind are number
 * literals (`satisfies` checks each against its name and compiles away): V8 compiles a switch on
 * literals to a jump table, but on `ColumnType.X` to a chain of a load and a compare per case —
 * 4.7 % of the instructions of a steady-state decode of the bench binlog (callgrind).
 */
export function decodeColumnValue(r: ByteReader, col: ColumnDef): ColumnValue {
  switch (col.type) {
    case 1 satisfies typeof ColumnType.TINY:
      return col.unsigned ? r.u8() : r.i8();
    case 2 satisfies typeof ColumnType.SHORT:
      return col.unsigned ? r.u16le() : r.i16le();
    case 9 satisfies typeof ColumnType.INT24:
      return col.unsigned ? r.u24le() : r.i24le();
    case 3 satisfies typeof ColumnType.LONG:
      return col.unsigned ? r.u32le() : r.i32le();
    case 8 satisfies typeof ColumnType.LONGLONG:
      return col.unsigned ? readU64(r) : readI64(r);
    case 4 satisfies typeof ColumnType.FLOAT:
      return r.f32le();
    case 5 satisfies typeof ColumnType.DOUBLE:
      return r.f64le();
    case 246 satisfies typeof ColumnType.NEWDECIMAL:
      return readDecimal(r, col);
    case 13 satisfies typeof ColumnType.YEAR:
      return readYear(r);
    case 10 satisfies typeof ColumnType.DATE:
    case 14 satisfies typeof ColumnType.NEWDATE:
      return readDate(r);
    case 11 satisfies typeof ColumnType.TIME:
      return col.meta > 0 ? readTimeHires(r, col) : readTimeOld(r, col);
    case 19 satisfies typeof ColumnType.TIME2:
      return readTime2(r, col);
    case 12 satisfies typeof ColumnType.DATETIME:
      return col.meta > 0 ? readDatetimeHires(r, col) : readDatetimeOld(r, col);
    case 18 satisfies typeof ColumnType.DATETIME2:
      return readDatetime2(r, col);
    case 7 satisfies typeof ColumnType.TIMESTAMP:
      return col.meta > 0 ? readTimestampHires(r, col) : utcString(r.u32le(), 0, 0);
    case 17 satisfies typeof ColumnType.TIMESTAMP2:
      return readTimestamp2(r, col);
    case 15 satisfies typeof ColumnType.VARCHAR:
    case 253 satisfies typeof ColumnType.VAR_STRING:
      return readText(r, col, col.meta > 255 ? r.u16le() : r.u8());
    case 254 satisfies typeof ColumnType.STRING: {
      // The length prefix is 2 bytes when the column's maximum byte length exceeds 255. Values are
      // logged without their trailing pad (Field_string::pack). CHAR reads back without it too,
      // but BINARY(n) (and MariaDB's UUID/INET6, stored as binary strings) reads back padded
      // with 0x00 to n bytes: restore the pad, or the value differs from the row the server holds.
      const value = readText(r, col, col.meta > 255 ? r.u16le() : r.u8());
      if (col.collation === BINARY_COLLATION && value instanceof Buffer && value.length < col.meta) {
        const padded = Buffer.alloc(col.meta);
        value.copy(padded);
        return padded;
      }
      return value;
    }
    case 249 satisfies typeof ColumnType.TINY_BLOB:
    case 250 satisfies typeof ColumnType.MEDIUM_BLOB:
    case 251 satisfies typeof ColumnType.LONG_BLOB:
    case 252 satisfies typeof ColumnType.BLOB:
      return readText(r, col, readBlobLength(r, col));
    case 247 satisfies typeof ColumnType.ENUM:
      return readEnum(r, col);
    case 248 satisfies typeof ColumnType.SET:
      return readSet(r, col);
    case 16 satisfies typeof ColumnType.BIT:
      return readBit(r, col);
    case 255 satisfies typeof ColumnType.GEOMETRY:
      // SRID (4 bytes LE) + WKB, as stored. Copied: the value outlives the chunk.
      return r.copy(readBlobLength(r, col));
    case 245 satisfies typeof ColumnType.JSON:
      // The JSON decoder builds fresh values from the view and keeps no reference to it.
      return decodeJsonBinary(r.bytes(readBlobLength(r, col)));
    case 242 satisfies typeof ColumnType.VECTOR: {
      const length = readBlobLength(r, col);
      if (length % 4 !== 0) throw corrupt(col, `${length} bytes is not a whole number of float32 elements`);
      // Copied: the value outlives the chunk.
      return r.copy(length);
    }
    case 6 satisfies typeof ColumnType.NULL:
      return null;
    default:
      throw new BinlogError(BinlogErrorCode.Unsupported, `column ${col.name} (${describeColumnType(col)}): no decoder for type ${col.type}`, { column: col.name });
  }
}

/**
 * How the row loop decodes a column, chosen once per table map (STYLE.md rule 6): fixed-width
 * numbers and UTF-8 text, most of the cells of a typical binlog, without going through the type
 * switch and its per-cell checks of signedness, width and charset; every other column through
 * decodeColumnValue. The values and errors are those of decodeColumnValue.
 */
export const CellOp = {
  Generic: 0,
  I8: 1,
  U8: 2,
  I16: 3,
  U16: 4,
  I24: 5,
  U24: 6,
  I32: 7,
  U32: 8,
  I64: 9,
  U64: 10,
  F32: 11,
  F64: 12,
  /** UTF-8 text after a 1-byte length (VARCHAR/CHAR of at most 255 bytes). */
  Utf8Length1: 13,
  /** UTF-8 text after a 2-byte length (VARCHAR/CHAR of more than 255 bytes). */
  Utf8Length2: 14,
  /** UTF-8 TEXT: a 2-byte length. */
  Utf8Blob2: 15,
  /** UTF-8 LONGTEXT (and MariaDB's JSON): a 4-byte length. */
  Utf8Blob4: 16,
  /*
   * The types below go to their readers straight from the row loop, not through decodeColumnValue's
   * call and type switch (~1 % of the instructions of a decode of the bench binlog, whose tables
   * hold DECIMAL, DATE, DATETIME, TIMESTAMP, TIME, YEAR, ENUM, SET, BIT and binary BLOB columns).
   */
  Decimal: 17,
  Date: 18,
  Year: 19,
  Time2: 20,
  Datetime2: 21,
  Timestamp2: 22,
  Enum: 23,
  Set: 24,
  Bit: 25,
  /** A BLOB whose bytes stay a Buffer (binary, or a charset Node cannot decode): readText's copy. */
  BlobBytes: 26,
} as const;

function isUtf8(col: ColumnDef): boolean {
  return col.collation !== null && charsetOfCollation(col.collation)?.codec === TextCodec.Utf8;
}

/** The CellOp of each column. */
export function cellOps(columns: readonly ColumnDef[]): Uint8Array {
  const ops = new Uint8Array(columns.length);
  for (let i = 0; i < columns.length; i++) ops[i] = cellOp(columns[i]!);
  return ops;
}

function cellOp(col: ColumnDef): number {
  switch (col.type) {
    case ColumnType.TINY:
      return col.unsigned ? CellOp.U8 : CellOp.I8;
    case ColumnType.SHORT:
      return col.unsigned ? CellOp.U16 : CellOp.I16;
    case ColumnType.INT24:
      return col.unsigned ? CellOp.U24 : CellOp.I24;
    case ColumnType.LONG:
      return col.unsigned ? CellOp.U32 : CellOp.I32;
    case ColumnType.LONGLONG:
      return col.unsigned ? CellOp.U64 : CellOp.I64;
    case ColumnType.FLOAT:
      return CellOp.F32;
    case ColumnType.DOUBLE:
      return CellOp.F64;
    case ColumnType.VARCHAR:
    case ColumnType.VAR_STRING:
    case ColumnType.STRING:
      // CHAR in a UTF-8 charset reads like VARCHAR (only BINARY(n) is padded back).
      return isUtf8(col) ? (col.meta > 255 ? CellOp.Utf8Length2 : CellOp.Utf8Length1) : CellOp.Generic;
    case ColumnType.TINY_BLOB:
    case ColumnType.MEDIUM_BLOB:
    case ColumnType.LONG_BLOB:
    case ColumnType.BLOB:
      if (isUtf8(col) && col.meta === 2) return CellOp.Utf8Blob2;
      if (isUtf8(col) && col.meta === 4) return CellOp.Utf8Blob4;
      return keepsBytes(col) ? CellOp.BlobBytes : CellOp.Generic;
    case ColumnType.NEWDECIMAL:
      return CellOp.Decimal;
    case ColumnType.DATE:
    case ColumnType.NEWDATE:
      return CellOp.Date;
    case ColumnType.YEAR:
      return CellOp.Year;
    case ColumnType.TIME2:
      return CellOp.Time2;
    case ColumnType.DATETIME2:
      return CellOp.Datetime2;
    case ColumnType.TIMESTAMP2:
      return CellOp.Timestamp2;
    case ColumnType.ENUM:
      return CellOp.Enum;
    case ColumnType.SET:
      return CellOp.Set;
    case ColumnType.BIT:
      return CellOp.Bit;
    default:
      return CellOp.Generic;
  }
}

/** Whether readText returns the column's values as bytes (a copy), as for binary data. */
function keepsBytes(col: ColumnDef): boolean {
  const cs = col.collation === null ? undefined : charsetOfCollation(col.collation);
  return cs === undefined || cs.codec === TextCodec.Binary || cs.codec === TextCodec.NoDecoder;
}

/** UTF-8 text of `length` bytes at the reader's position. */
function utf8At(r: ByteReader, length: number): string {
  r.need(length);
  const start = r.pos;
  r.pos += length;
  return utf8Text(r.buf, start, start + length);
}

/** Decodes one non-NULL cell of `col` by its CellOp `op` (cellOps) and advances past it; literal labels as in decodeColumnValue. */
export function decodeCell(r: ByteReader, col: ColumnDef, op: number): ColumnValue {
  switch (op) {
    case 1 satisfies typeof CellOp.I8:
      return r.i8();
    case 2 satisfies typeof CellOp.U8:
      return r.u8();
    case 3 satisfies typeof CellOp.I16:
      return r.i16le();
    case 4 satisfies typeof CellOp.U16:
      return r.u16le();
    case 5 satisfies typeof CellOp.I24:
      return r.i24le();
    case 6 satisfies typeof CellOp.U24:
      return r.u24le();
    case 7 satisfies typeof CellOp.I32:
      return r.i32le();
    case 8 satisfies typeof CellOp.U32:
      return r.u32le();
    case 9 satisfies typeof CellOp.I64:
      return readI64(r);
    case 10 satisfies typeof CellOp.U64:
      return readU64(r);
    case 11 satisfies typeof CellOp.F32:
      return r.f32le();
    case 12 satisfies typeof CellOp.F64:
      return r.f64le();
    case 13 satisfies typeof CellOp.Utf8Length1:
      return utf8At(r, r.u8());
    case 14 satisfies typeof CellOp.Utf8Length2:
    case 15 satisfies typeof CellOp.Utf8Blob2:
      return utf8At(r, r.u16le());
    case 16 satisfies typeof CellOp.Utf8Blob4:
      return utf8At(r, r.u32le());
    case 17 satisfies typeof CellOp.Decimal:
      return readDecimal(r, col);
    case 18 satisfies typeof CellOp.Date:
      return readDate(r);
    case 19 satisfies typeof CellOp.Year:
      return readYear(r);
    case 20 satisfies typeof CellOp.Time2:
      return readTime2(r, col);
    case 21 satisfies typeof CellOp.Datetime2:
      return readDatetime2(r, col);
    case 22 satisfies typeof CellOp.Timestamp2:
      return readTimestamp2(r, col);
    case 23 satisfies typeof CellOp.Enum:
      return readEnum(r, col);
    case 24 satisfies typeof CellOp.Set:
      return readSet(r, col);
    case 25 satisfies typeof CellOp.Bit:
      return readBit(r, col);
    case 26 satisfies typeof CellOp.BlobBytes:
      // Copied: the value outlives the chunk.
      return r.copy(readBlobLength(r, col));
    default:
      return decodeColumnValue(r, col);
  }
}

/** The column's type as messages show it: `DECIMAL(10,2)`, `VARCHAR(1020)`, `LONGLONG UNSIGNED`. */
export function describeColumnType(col: ColumnDef): string {
  switch (col.type) {
    case ColumnType.NEWDECIMAL:
      return `DECIMAL(${col.meta >> 8},${col.meta & 0xff})`;
    case ColumnType.TINY:
    case ColumnType.SHORT:
    case ColumnType.INT24:
    case ColumnType.LONG:
    case ColumnType.LONGLONG:
      return col.unsigned ? `${columnTypeName(col.type)} UNSIGNED` : columnTypeName(col.type);
    default:
      return col.meta > 0 ? `${columnTypeName(col.type)}(${col.meta})` : columnTypeName(col.type);
  }
}

function corrupt(col: ColumnDef, what: string): BinlogError {
  return new BinlogError(BinlogErrorCode.CorruptEvent, `column ${col.name} (${describeColumnType(col)}): ${what}`, { column: col.name });
}

// ---- integers -------------------------------------------------------------------------------

/** A cut 64-bit value fails as the two 4-byte reads it once was did, so error messages stay as they were. */
function truncated64(r: ByteReader): never {
  r.u32le();
  r.u32le();
  throw new ShortReadError(8, r.remaining);
}

function readU64(r: ByteReader): number | bigint {
  if (r.end - r.pos < 8) truncated64(r);
  const view = r.view;
  const p = r.pos;
  r.pos += 8;
  const hi = view.getUint32(p + 4, true);
  return hi < SAFE_HIGH ? hi * TWO_32 + view.getUint32(p, true) : view.getBigUint64(p, true);
}

function readI64(r: ByteReader): number | bigint {
  if (r.end - r.pos < 8) truncated64(r);
  const view = r.view;
  const p = r.pos;
  r.pos += 8;
  const hi = view.getInt32(p + 4, true);
  // hi in [-2^21, 2^21) puts the value in [-2^53, 2^53): exact as a double; -2^53 itself is not "safe".
  if (hi >= -SAFE_HIGH && hi < SAFE_HIGH) {
    const v = hi * TWO_32 + view.getUint32(p, true);
    if (v !== -9007199254740992) return v;
  }
  return view.getBigInt64(p, true);
}

// ---- DECIMAL --------------------------------------------------------------------------------

/**
 * DECIMAL binary (strings/decimal.cc decimal2bin): groups of 9 digits in 4 big-endian bytes, the
 * leftover leading integer digits and trailing fraction digits in DIG2BYTES bytes; the first bit is
 * flipped (1 = non-negative) and a negative value has every byte inverted. Printed as
 * decimal2string does with the column's scale: no leading zeros, "0" before the point, exactly
 * `scale` fraction digits. bin2decimal keeps the sign of a negative zero with a fraction ("-0.00")
 * and drops it without one ("0").
 */
function readDecimal(r: ByteReader, col: ColumnDef): string {
  const precision = col.meta >> 8;
  const scale = col.meta & 0xff;
  if (precision < 1 || precision > 65 || scale > precision) throw corrupt(col, `impossible precision ${precision} and scale ${scale}`);
  const intg = precision - scale;
  const intg0 = (intg / 9) | 0;
  const intg0x = intg - intg0 * 9;
  const frac0 = (scale / 9) | 0;
  const frac0x = scale - frac0 * 9;
  const size = intg0 * 4 + DIG2BYTES[intg0x]! + frac0 * 4 + DIG2BYTES[frac0x]!;
  r.need(size);
  const buf = r.buf;
  const start = r.pos;
  r.pos += size;
  const mask = buf[start]! & 0x80 ? 0 : 0xff;
  // Up to 15 integer digits and one fraction group (DECIMAL(24,9) and most money columns): the
  // integer part is exact as a number, so it is printed once rather than group by group.
  if (intg <= 15 && (frac0 === 0 || (frac0 === 1 && frac0x === 0))) return readSmallDecimal(buf, start, col, mask, intg0, intg0x, scale);
  let p = start;
  let int = '';
  if (intg0x > 0) {
    const n = DIG2BYTES[intg0x]!;
    const x = decimalGroup(buf, p, n, mask, start);
    if (x >= POW10[intg0x]!) throw corrupt(col, `digit group ${x} exceeds ${intg0x} digits`);
    if (x !== 0) int = String(x);
    p += n;
  }
  for (let i = 0; i < intg0; i++, p += 4) {
    const x = decimalGroup(buf, p, 4, mask, start);
    if (x > 999999999) throw corrupt(col, `digit group ${x} exceeds 9 digits`);
    if (int !== '') int += String(x).padStart(9, '0');
    else if (x !== 0) int = String(x);
  }
  if (scale === 0) return int === '' ? '0' : mask ? '-' + int : int;
  let s = (mask ? '-' : '') + (int === '' ? '0' : int) + '.';
  for (let i = 0; i < frac0; i++, p += 4) {
    const x = decimalGroup(buf, p, 4, mask, start);
    if (x > 999999999) throw corrupt(col, `digit group ${x} exceeds 9 digits`);
    s += String(x).padStart(9, '0');
  }
  if (frac0x > 0) {
    const x = decimalGroup(buf, p, DIG2BYTES[frac0x]!, mask, start);
    if (x >= POW10[frac0x]!) throw corrupt(col, `digit group ${x} exceeds ${frac0x} digits`);
    s += String(x).padStart(frac0x, '0');
  }
  return s;
}

/** ".0"…".9999" by scale 1–4, built on first use: the fraction of most DECIMAL columns, looked up instead of padded. */
const SCALE_FRACTIONS: Array<string[] | undefined> = [];

function scaleFraction(scale: number, f: number): string {
  if (scale > 4) return '.' + String(f).padStart(scale, '0');
  let table = SCALE_FRACTIONS[scale];
  if (table === undefined) {
    table = Array.from({ length: POW10[scale]! }, (_, i) => '.' + String(i).padStart(scale, '0'));
    SCALE_FRACTIONS[scale] = table;
  }
  return table[f]!;
}

/** readDecimal for at most 15 integer digits and at most one fraction group (of up to 9 digits); same text, same checks. */
function readSmallDecimal(buf: Buffer, start: number, col: ColumnDef, mask: number, intg0: number, intg0x: number, scale: number): string {
  let p = start;
  let int = 0;
  if (intg0x > 0) {
    const n = DIG2BYTES[intg0x]!;
    int = decimalGroup(buf, p, n, mask, start);
    if (int >= POW10[intg0x]!) throw corrupt(col, `digit group ${int} exceeds ${intg0x} digits`);
    p += n;
  }
  for (let i = 0; i < intg0; i++, p += 4) {
    const x = decimalGroup(buf, p, 4, mask, start);
    if (x > 999999999) throw corrupt(col, `digit group ${x} exceeds 9 digits`);
    int = int * 1000000000 + x;
  }
  if (scale === 0) return int === 0 ? '0' : mask ? '-' + int : '' + int;
  const x = decimalGroup(buf, p, scale === 9 ? 4 : DIG2BYTES[scale]!, mask, start);
  if (x >= POW10[scale]!) throw corrupt(col, `digit group ${x} exceeds ${scale} digits`);
  return (mask ? '-' + int : '' + int) + scaleFraction(scale, x);
}

/** A big-endian group of n bytes, each XORed with the sign mask; the value's first byte has its top bit flipped back. */
function decimalGroup(buf: Buffer, p: number, n: number, mask: number, start: number): number {
  let x = 0;
  for (let i = p; i < p + n; i++) x = x * 256 + (i === start ? buf[i]! ^ mask ^ 0x80 : buf[i]! ^ mask);
  return x;
}

// ---- temporal -------------------------------------------------------------------------------

/** YEAR: one byte, years since 1900; 0 is the zero year. */
function readYear(r: ByteReader): number {
  const v = r.u8();
  return v === 0 ? 0 : 1900 + v;
}

/** DATE: 3 bytes LE, day 5 bits, month 4 bits, year 15 bits (Field_newdate). */
function readDate(r: ByteReader): string {
  const v = r.u24le();
  return dateString(v >>> 9, (v >>> 5) & 15, v & 31);
}

/** "00"…"99": temporal formatting takes its pieces from here instead of building them per cell. */
const TWO_DIGITS: readonly string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i);

function two(n: number): string {
  return n < 100 ? TWO_DIGITS[n]! : '' + n;
}

function four(n: number): string {
  return n >= 1000 ? '' + n : n >= 100 ? '0' + n : n >= 10 ? '00' + n : '000' + n;
}

/** ".0"…".9", ".00"…".99", ".000"…".999" by fsp: the short fractions, looked up instead of padded per cell. */
const FRACTIONS: ReadonlyArray<readonly string[]> = [[], ...[1, 2, 3].map((fsp) => Array.from({ length: POW10[fsp]! }, (_, i) => '.' + String(i).padStart(fsp, '0')))];

/** "." and exactly fsp digits of the microseconds, truncated as my_time_to_str does; "" for fsp 0. */
function fraction(usec: number, fsp: number): string {
  if (fsp === 0) return '';
  const f = Math.floor(usec / POW10[6 - fsp]!);
  return fsp <= 3 ? FRACTIONS[fsp]![f]! : '.' + String(f).padStart(fsp, '0');
}

/*
 * The formatters below build the common shapes (4-digit years, 2-digit hours, fsp 0, 3 or 6) as
 * one flat string from character codes: the piecewise concatenation they replace allocated a
 * string per piece, a quarter of all the garbage a decode of the bench binlog made, and cost ~40%
 * more time. Other shapes (years past 9999, hours past 99, fsp 1, 2, 4, 5) take the general path.
 */
const fromCodes = String.fromCharCode;
/** Character code of the digit d. */
const D0 = 48;

/** Character codes of the tens and the units digit of 0–99: datetimeString looks each pair up instead of a division and a remainder per digit. */
const TENS_CODE = Uint8Array.from({ length: 100 }, (_, i) => D0 + ((i / 10) | 0));
const UNITS_CODE = Uint8Array.from({ length: 100 }, (_, i) => D0 + (i % 10));

function dateString(year: number, month: number, day: number): string {
  if (year > 9999) return four(year) + '-' + two(month) + '-' + two(day);
  const y2 = (year / 100) | 0;
  const y4 = year - y2 * 100;
  return fromCodes(D0 + ((y2 / 10) | 0), D0 + (y2 % 10), D0 + ((y4 / 10) | 0), D0 + (y4 % 10), 45, D0 + ((month / 10) | 0), D0 + (month % 10), 45, D0 + ((day / 10) | 0), D0 + (day % 10));
}

function datetimeString(year: number, month: number, day: number, hour: number, minute: number, second: number, usec: number, fsp: number): string {
  if (year > 9999 || hour > 99) return four(year) + '-' + two(month) + '-' + two(day) + ' ' + two(hour) + ':' + two(minute) + ':' + two(second) + fraction(usec, fsp);
  const y2 = (year / 100) | 0;
  const y4 = year - y2 * 100;
  // Every part is within 0–99 here (the readers check minutes and seconds, hours are at most 99).
  const t = TENS_CODE;
  const u = UNITS_CODE;
  const a = t[y2]!;
  const b = u[y2]!;
  const c = t[y4]!;
  const d = u[y4]!;
  const mo1 = t[month]!;
  const mo2 = u[month]!;
  const d1 = t[day]!;
  const d2 = u[day]!;
  const h1 = t[hour]!;
  const h2 = u[hour]!;
  const mi1 = t[minute]!;
  const mi2 = u[minute]!;
  const s1 = t[second]!;
  const s2 = u[second]!;
  if (fsp === 0) return fromCodes(a, b, c, d, 45, mo1, mo2, 45, d1, d2, 32, h1, h2, 58, mi1, mi2, 58, s1, s2);
  if (fsp === 6) {
    // Milliseconds and the microseconds past them, each as a hundreds digit and a 0–99 pair.
    const hi = (usec / 1000) | 0;
    const lo = usec - hi * 1000;
    const f1 = (hi / 100) | 0;
    const f23 = hi - f1 * 100;
    const f4 = (lo / 100) | 0;
    const f56 = lo - f4 * 100;
    return fromCodes(a, b, c, d, 45, mo1, mo2, 45, d1, d2, 32, h1, h2, 58, mi1, mi2, 58, s1, s2, 46, D0 + f1, t[f23]!, u[f23]!, D0 + f4, t[f56]!, u[f56]!);
  }
  if (fsp === 3) {
    const ms = (usec / 1000) | 0;
    const f1 = (ms / 100) | 0;
    const f23 = ms - f1 * 100;
    return fromCodes(a, b, c, d, 45, mo1, mo2, 45, d1, d2, 32, h1, h2, 58, mi1, mi2, 58, s1, s2, 46, D0 + f1, t[f23]!, u[f23]!);
  }
  return fromCodes(a, b, c, d, 45, mo1, mo2, 45, d1, d2, 32, h1, h2, 58, mi1, mi2, 58, s1, s2) + fraction(usec, fsp);
}

/** "[-]HH:MM:SS[.f]" from a magnitude in whole seconds (at least two hour digits, up to 838 and beyond). */
function timeString(negative: boolean, hour: number, minute: number, second: number, usec: number, fsp: number): string {
  if (hour > 999 || (fsp !== 0 && fsp !== 3 && fsp !== 6)) return (negative ? '-' : '') + two(hour) + ':' + two(minute) + ':' + two(second) + fraction(usec, fsp);
  const mi1 = D0 + ((minute / 10) | 0);
  const mi2 = D0 + (minute % 10);
  const s1 = D0 + ((second / 10) | 0);
  const s2 = D0 + (second % 10);
  // Fraction digits: milliseconds for fsp 3, microseconds in two halves for fsp 6.
  const hi = (usec / 1000) | 0;
  const lo = usec - hi * 1000;
  const f1 = D0 + ((hi / 100) | 0);
  const f2 = D0 + (((hi / 10) | 0) % 10);
  const f3 = D0 + (hi % 10);
  const f4 = D0 + ((lo / 100) | 0);
  const f5 = D0 + (((lo / 10) | 0) % 10);
  const f6 = D0 + (lo % 10);
  const h3 = D0 + (hour % 10);
  const h2 = D0 + (((hour / 10) | 0) % 10);
  let text: string;
  if (hour < 100) {
    if (fsp === 0) text = fromCodes(h2, h3, 58, mi1, mi2, 58, s1, s2);
    else if (fsp === 3) text = fromCodes(h2, h3, 58, mi1, mi2, 58, s1, s2, 46, f1, f2, f3);
    else text = fromCodes(h2, h3, 58, mi1, mi2, 58, s1, s2, 46, f1, f2, f3, f4, f5, f6);
  } else {
    // TIME reaches 838 hours (and TIME2 can hold up to 1023): three hour digits are common.
    const h1 = D0 + ((hour / 100) | 0);
    if (fsp === 0) text = fromCodes(h1, h2, h3, 58, mi1, mi2, 58, s1, s2);
    else if (fsp === 3) text = fromCodes(h1, h2, h3, 58, mi1, mi2, 58, s1, s2, 46, f1, f2, f3);
    else text = fromCodes(h1, h2, h3, 58, mi1, mi2, 58, s1, s2, 46, f1, f2, f3, f4, f5, f6);
  }
  return negative ? '-' + text : text;
}

function fspOf(col: ColumnDef): number {
  if (col.meta > 6) throw corrupt(col, `fractional-second precision ${col.meta} exceeds 6`);
  return col.meta;
}

/** Microseconds from the fraction bytes of TIMESTAMP2/DATETIME2 (non-negative values): 1, 2 or 3 big-endian bytes. */
function readFraction(r: ByteReader, col: ColumnDef, fsp: number): number {
  switch (fsp) {
    case 0:
      return 0;
    case 1:
    case 2: {
      const v = r.u8();
      if (v > 99) throw corrupt(col, `fraction byte ${v} exceeds 99 hundredths`);
      return v * 10000;
    }
    case 3:
    case 4: {
      const v = r.uintBE(2);
      if (v > 9999) throw corrupt(col, `fraction ${v} exceeds 9999 ten-thousandths`);
      return v * 100;
    }
    default: {
      const v = r.uintBE(3);
      if (v > 999999) throw corrupt(col, `fraction ${v} exceeds 999999 microseconds`);
      return v;
    }
  }
}

/**
 * TIME2 (my_time_packed_from_binary): 3 bytes big-endian of 1 sign bit (set = non-negative),
 * 1 unused, 10 bits hour, 6 minute, 6 second, offset by 0x800000, then (fsp+1)/2 fraction bytes.
 * A negative time with a fraction borrows one second from the integer part; fsp 5–6 store the
 * whole packed value (hms << 24 | µs) in 6 bytes offset by 0x800000000000.
 */
function readTime2(r: ByteReader, col: ColumnDef): string {
  const fsp = fspOf(col);
  let packed: number;
  if (fsp >= 5) {
    packed = r.uintBE(6) - 0x800000000000;
  } else {
    let int = r.uintBE(3) - 0x800000;
    let frac = 0;
    if (fsp >= 3) {
      frac = r.uintBE(2);
      if (int < 0 && frac !== 0) {
        int++;
        frac -= 0x10000;
      }
      frac *= 100;
    } else if (fsp >= 1) {
      frac = r.u8();
      if (int < 0 && frac !== 0) {
        int++;
        frac -= 0x100;
      }
      frac *= 10000;
    }
    packed = int * TWO_24 + frac;
  }
  const negative = packed < 0;
  if (negative) packed = -packed;
  const hms = Math.floor(packed / TWO_24);
  const usec = packed - hms * TWO_24;
  const minute = (hms >>> 6) & 63;
  const second = hms & 63;
  if (usec > 999999 || minute > 59 || second > 59) throw corrupt(col, `impossible time ${hms >>> 12}:${minute}:${second}.${usec}`);
  return timeString(negative, (hms >>> 12) & 1023, minute, second, usec, fsp);
}

/** Old TIME (Field_time): 3 bytes LE signed, the value ±HHMMSS as a decimal number. */
function readTimeOld(r: ByteReader, col: ColumnDef): string {
  let v = r.i24le();
  const negative = v < 0;
  if (negative) v = -v;
  const hour = Math.floor(v / 10000);
  const rest = v - hour * 10000;
  const minute = Math.floor(rest / 100);
  const second = rest - minute * 100;
  if (hour > 838 || minute > 59 || second > 59) throw notOldFormat(col, `${negative ? '-' : ''}${v} is not a time of the format`);
  return timeString(negative, hour, minute, second, 0, 0);
}

/**
 * A TIME/DATETIME/TIMESTAMP whose table map carries no precision is read in the fsp-0 format, but
 * MariaDB logs its pre-10.1 hires columns (fsp 1–6, mysql56_temporal_format=OFF) the same way
 * (types 11/12/7, no metadata; measured on 10.11): bytes that are no fsp-0 value most likely
 * belong to such a column, and only the schema knows its precision. A misread TIMESTAMP(n) has
 * no invalid form: it shows as a misaligned row (a truncated rows event) instead.
 */
function notOldFormat(col: ColumnDef, what: string): BinlogError {
  const type = columnTypeName(col.type);
  return corrupt(
    col,
    `${what} (${type} without fractional seconds); a MariaDB ${type}(1–6) created with mysql56_temporal_format=OFF is logged without its precision: decode with schema hints (--schema-from) that give the column's precision`,
  );
}

/**
 * MariaDB TIME(fsp) with mysql56_temporal_format off (Field_time_hires): big-endian unsigned of
 * TIME_HIRES_BYTES[fsp] bytes = ±(seconds × 10^fsp + fraction) + 3020400 × 10^fsp.
 */
function readTimeHires(r: ByteReader, col: ColumnDef): string {
  const fsp = fspOf(col);
  const unit = POW10[fsp]!;
  let v = r.uintBE(TIME_HIRES_BYTES[fsp]!) - TIME_HIRES_ZERO_SECONDS * unit;
  const negative = v < 0;
  if (negative) v = -v;
  const seconds = Math.floor(v / unit);
  const usec = (v - seconds * unit) * POW10[6 - fsp]!;
  const hour = Math.floor(seconds / 3600);
  const rest = seconds - hour * 3600;
  const minute = Math.floor(rest / 60);
  return timeString(negative, hour, minute, rest - minute * 60, usec, fsp);
}

/**
 * DATETIME2 (my_datetime_packed_from_binary): 5 bytes big-endian offset by 0x8000000000 of 1 sign
 * bit, 17 bits year × 13 + month, 5 day, 5 hour, 6 minute, 6 second; then the fraction bytes.
 */
function readDatetime2(r: ByteReader, col: ColumnDef): string {
  const fsp = fspOf(col);
  const int = r.uintBE(5) - 0x8000000000;
  if (int < 0) throw corrupt(col, 'negative DATETIME');
  const usec = readFraction(r, col, fsp);
  // int is non-negative and below 2^40: `| 0` floors each quotient as an integer division (see utcString).
  const ymd = (int / 131072) | 0; // 2^17: the hour-minute-second bits
  const hms = int - ymd * 131072;
  const ym = ymd >>> 5;
  const minute = (hms >>> 6) & 63;
  const second = hms & 63;
  if (minute > 59 || second > 59) throw corrupt(col, `impossible time of day ${hms >>> 12}:${minute}:${second}`);
  return datetimeString((ym / 13) | 0, ym % 13, ymd & 31, hms >>> 12, minute, second, usec, fsp);
}

/** Old DATETIME (Field_datetime): 8 bytes LE, the value YYYYMMDDhhmmss as a decimal number. */
function readDatetimeOld(r: ByteReader, col: ColumnDef): string {
  const lo = r.u32le();
  const hi = r.u32le();
  if (hi >= SAFE_HIGH) throw notOldFormat(col, 'a value beyond 9999-12-31 23:59:59');
  const v = hi * TWO_32 + lo;
  const date = Math.floor(v / 1000000);
  const time = v - date * 1000000;
  const year = Math.floor(date / 10000);
  const md = date - year * 10000;
  const month = Math.floor(md / 100);
  const day = md - month * 100;
  const hour = Math.floor(time / 10000);
  const ms = time - hour * 10000;
  const minute = Math.floor(ms / 100);
  const second = ms - minute * 100;
  // Invalid dates (ALLOW_INVALID_DATES, zero parts) are stored as written, but never a month 13 or a day 32.
  if (year > 9999 || month > 12 || day > 31 || hour > 23 || minute > 59 || second > 59) throw notOldFormat(col, `${v} is not a datetime of the format`);
  return datetimeString(year, month, day, hour, minute, second, 0, 0);
}

/**
 * MariaDB DATETIME(fsp) with mysql56_temporal_format off (Field_datetime_hires): big-endian of
 * DATETIME_HIRES_BYTES[fsp] bytes = pack_time / 10^(6−fsp), where pack_time is
 * ((((((year × 13 + month) × 32 + day) × 24 + hour) × 60 + minute) × 60 + second) × 10^6 + µs.
 * Up to 2^64 at fsp 6, so bigint arithmetic (a rare, legacy format).
 */
function readDatetimeHires(r: ByteReader, col: ColumnDef): string {
  const fsp = fspOf(col);
  const hi = r.uintBE(DATETIME_HIRES_BYTES[fsp]! - 4);
  const lo = r.uintBE(4);
  const packed = ((BigInt(hi) << 32n) | BigInt(lo)) * BigInt(POW10[6 - fsp]!);
  const usec = Number(packed % 1000000n);
  // Whole seconds fit a double with room to spare: 9999-12-31 is about 3.6e11 "seconds" here.
  let t = Number(packed / 1000000n);
  const second = t % 60;
  t = (t - second) / 60;
  const minute = t % 60;
  t = (t - minute) / 60;
  const hour = t % 24;
  t = (t - hour) / 24;
  const day = t % 32;
  t = (t - day) / 32;
  const month = t % 13;
  return datetimeString((t - month) / 13, month, day, hour, minute, second, usec, fsp);
}

/** MariaDB TIMESTAMP(fsp) hires (Field_timestamp_hires): 4 bytes big-endian seconds, then SEC_PART_BYTES[fsp] big-endian units of 10^−fsp s. */
function readTimestampHires(r: ByteReader, col: ColumnDef): string {
  const fsp = fspOf(col);
  const seconds = r.uintBE(4);
  const units = r.uintBE(SEC_PART_BYTES[fsp]!);
  if (units >= POW10[fsp]!) throw corrupt(col, `fraction ${units} exceeds ${fsp} digits`);
  return utcString(seconds, units * POW10[6 - fsp]!, fsp);
}

/** TIMESTAMP2 (my_timestamp_from_binary): 4 bytes big-endian seconds since the epoch, then the fraction bytes. */
function readTimestamp2(r: ByteReader, col: ColumnDef): string {
  const fsp = fspOf(col);
  const seconds = r.uintBE(4);
  return utcString(seconds, readFraction(r, col, fsp), fsp);
}

/** Seconds since 1970 as a UTC datetime; 0 is the zero timestamp, printed as zeros like the server does. */
function utcString(seconds: number, usec: number, fsp: number): string {
  // MariaDB stores 1970-01-01 00:00:00.5 UTC as 0 seconds and a fraction: only both zero are the zero timestamp.
  if (seconds === 0 && usec === 0) return datetimeString(0, 0, 0, 0, 0, 0, 0, fsp);
  // `| 0` rather than Math.floor: seconds is a stored unsigned 32-bit value, so every quotient here
  // is a non-negative int32 and truncation is the floor; V8 then divides integers by constants
  // (a multiply and shifts) instead of dividing doubles and rounding them down.
  const days = (seconds / 86400) | 0;
  let rest = seconds - days * 86400;
  const hour = (rest / 3600) | 0;
  rest -= hour * 3600;
  const minute = (rest / 60) | 0;
  // Civil date from days since 1970-01-01 (H. Hinnant's days_from_civil inverse), no Date allocation.
  const z = days + 719468;
  const era = (z / 146097) | 0;
  const doe = z - era * 146097;
  const yoe = ((doe - ((doe / 1460) | 0) + ((doe / 36524) | 0) - ((doe / 146096) | 0)) / 365) | 0;
  const doy = doe - (365 * yoe + ((yoe / 4) | 0) - ((yoe / 100) | 0));
  const mp = ((5 * doy + 2) / 153) | 0;
  const day = doy - (((153 * mp + 2) / 5) | 0) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return datetimeString(year, month, day, hour, minute, rest - minute * 60, usec, fsp);
}

// ---- strings, blobs, ENUM, SET, BIT ---------------------------------------------------------

function readBlobLength(r: ByteReader, col: ColumnDef): number {
  switch (col.meta) {
    case 1:
      return r.u8();
    case 2:
      return r.u16le();
    case 3:
      return r.u24le();
    case 4:
      return r.u32le();
    default:
      throw corrupt(col, `length prefix of ${col.meta} bytes (expected 1 to 4)`);
  }
}

/**
 * Character data in the column's charset. Binary, unknown (null: the binlog logged no charset and
 * no schema gave one), unlisted ids and charsets Node cannot decode stay a Buffer: exact, never a
 * guess. A Buffer is copied because the value outlives the chunk. A multi-byte charset's value
 * holding a code the server maps one way only keeps its bytes too (CharsetText).
 */
function readText(r: ByteReader, col: ColumnDef, length: number): string | Buffer | CharsetText {
  const cs = col.collation === null ? undefined : charsetOfCollation(col.collation);
  if (cs === undefined || cs.codec === TextCodec.Binary || cs.codec === TextCodec.NoDecoder) return r.copy(length);
  r.need(length);
  const start = r.pos;
  r.pos += length;
  // utf8mb3/utf8mb4 inline: by far the most common text, and the call is a measurable share of it.
  if (cs.codec === TextCodec.Utf8) return utf8Text(r.buf, start, start + length);
  // Only the multi-byte charsets can hold a code to keep the bytes of (CharsetText); the rest skip the check.
  return cs.multibyte === null ? decodeText(r.buf, start, start + length, cs) : decodeTextExact(r.buf, start, start + length, cs);
}

/** ENUM: the 1-based label index in 1 or 2 bytes LE; 0 is the server's '' error value. */
function readEnum(r: ByteReader, col: ColumnDef): string | number {
  let v: number;
  if (col.meta === 1) v = r.u8();
  else if (col.meta === 2) v = r.u16le();
  else throw corrupt(col, `storage of ${col.meta} bytes (expected 1 or 2)`);
  const labels = col.enumLabels;
  if (labels === null) return v;
  if (v === 0) return '';
  const label = labels[v - 1];
  if (label === undefined) throw corrupt(col, `index ${v} beyond its ${labels.length} labels`);
  return label;
}

/** SET: a bitmap of members in 1–8 bytes LE; labels joined by commas in member order. */
function readSet(r: ByteReader, col: ColumnDef): string | number | bigint {
  const n = col.meta;
  if (n < 1 || n > 8) throw corrupt(col, `storage of ${n} bytes (expected 1 to 8)`);
  const lo = r.uintLE(n > 4 ? 4 : n);
  const hi = n > 4 ? r.uintLE(n - 4) : 0;
  const labels = col.setLabels;
  if (labels === null) return hi < SAFE_HIGH ? hi * TWO_32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
  let s = '';
  for (let bit = 0, x = lo; x !== 0; bit++, x >>>= 1) {
    if (x & 1) s = appendMember(s, labels, bit, col);
  }
  for (let bit = 32, x = hi; x !== 0; bit++, x >>>= 1) {
    if (x & 1) s = appendMember(s, labels, bit, col);
  }
  return s;
}

function appendMember(s: string, labels: readonly string[], bit: number, col: ColumnDef): string {
  const label = labels[bit];
  if (label === undefined) throw corrupt(col, `member bit ${bit} set but the column has ${labels.length} members`);
  return s === '' ? label : s + ',' + label;
}

/** BIT(1–64): (bits + 7) / 8 bytes big-endian. */
function readBit(r: ByteReader, col: ColumnDef): number | bigint {
  const bits = col.meta;
  if (bits < 1 || bits > 64) throw corrupt(col, `impossible width of ${bits} bits`);
  const n = (bits + 7) >> 3;
  if (n <= 6) return r.uintBE(n);
  const hi = r.uintBE(n - 4);
  const lo = r.uintBE(4);
  return hi < SAFE_HIGH ? hi * TWO_32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
}
