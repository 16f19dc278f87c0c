/**
 * MySQL binary JSON (the JSON column's storage and binlog form), decoded straight from the
 * buffer by offsets. Wire facts from mysql-server sql-common/json_binary.{h,cc}:
 *
 *   doc       ::= type(u8) value            an empty doc (0 bytes) is the JSON null literal
 *   object    ::= count size key-entry* value-entry* key* value*
 *   array     ::= count size value-entry* value*
 *   count, size, offsets: u16 in the small format, u32 in the large one; `size` covers the
 *   whole container from its count field, and every offset is relative to that start.
 *   key-entry ::= offset length(u16)
 *   value-entry ::= type(u8) (offset | inlined value)
 *   inlined: literals, int16, uint16 always; int32, uint32 only in the large format.
 *   string    ::= var-length utf8mb4       opaque ::= field-type(u8) var-length bytes
 *   var-length: 7 bits per byte, least significant group first, high bit = more, ≤ 5 bytes.
 *
 * Values are found through offsets, never by reading on sequentially: an in-place partial
 * update leaves holes between values, and the server reads the same way.
 */
import { BinlogError, BinlogErrorCode } from '../../errors.js';
import { ColumnType } from '../column-types.js';
import { JsonDecimal, JsonValue, type JsonNode, type JsonObject } from './json-value.js';

/** Binary JSON type bytes (sql-common/json_binary.cc, JSONB_TYPE_*). */
export const JsonbType = {
  SMALL_OBJECT: 0x00, // JSONB_TYPE_SMALL_OBJECT
  LARGE_OBJECT: 0x01, // JSONB_TYPE_LARGE_OBJECT
  SMALL_ARRAY: 0x02, // JSONB_TYPE_SMALL_ARRAY
  LARGE_ARRAY: 0x03, // JSONB_TYPE_LARGE_ARRAY
  LITERAL: 0x04, // JSONB_TYPE_LITERAL
  INT16: 0x05, // JSONB_TYPE_INT16
  UINT16: 0x06, // JSONB_TYPE_UINT16
  INT32: 0x07, // JSONB_TYPE_INT32
  UINT32: 0x08, // JSONB_TYPE_UINT32
  INT64: 0x09, // JSONB_TYPE_INT64
  UINT64: 0x0a, // JSONB_TYPE_UINT64
  DOUBLE: 0x0b, // JSONB_TYPE_DOUBLE
  STRING: 0x0c, // JSONB_TYPE_STRING
  OPAQUE: 0x0f, // JSONB_TYPE_OPAQUE
} as const;
export type JsonbType = (typeof JsonbType)[keyof typeof JsonbType];

/** Literal bytes (JSONB_NULL_LITERAL, JSONB_TRUE_LITERAL, JSONB_FALSE_LITERAL). */
const LITERAL_NULL = 0x00;
const LITERAL_TRUE = 0x01;
const LITERAL_FALSE = 0x02;

/**
 * The server refuses to build documents deeper than 100 (JSON_DOCUMENT_MAX_DEPTH); we allow
 * more so a legal document is never refused, but stop well before the JS stack would.
 */
const MAX_DEPTH = 1000;

const TWO_32 = 4294967296;

/** Decodes one binary JSON document (a JSON column's bytes); an empty buffer is JSON null, as the server reads it. */
export function decodeJsonBinary(bytes: Buffer): JsonValue {
  return new JsonValue(decodeJsonBinaryAt(bytes, 0, bytes.length));
}

/** Decodes the binary JSON document in `buf[start, end)` without copying it; offsets in errors are relative to `start`. */
export function decodeJsonBinaryAt(buf: Buffer, start: number, end: number): JsonNode {
  // json_binary::parse_binary: "We choose to interpret empty values as the JSON null literal"
  // (an INSERT IGNORE or non-strict mode stores '' for NULL into a NOT NULL JSON column).
  if (end === start) return null;
  return decodeValue(buf, start, buf[start]!, start + 1, end, 0);
}

/** Decodes a non-inlined value of `type` whose bytes start at `pos` and may run up to `end`. */
function decodeValue(buf: Buffer, origin: number, type: number, pos: number, end: number, depth: number): JsonNode {
  switch (type) {
    case JsonbType.SMALL_OBJECT:
      return decodeContainer(buf, origin, pos, end, false, true, depth);
    case JsonbType.LARGE_OBJECT:
      return decodeContainer(buf, origin, pos, end, true, true, depth);
    case JsonbType.SMALL_ARRAY:
      return decodeContainer(buf, origin, pos, end, false, false, depth);
    case JsonbType.LARGE_ARRAY:
      return decodeContainer(buf, origin, pos, end, true, false, depth);
    default:
      return decodeScalar(buf, origin, type, pos, end);
  }
}

function decodeContainer(
  buf: Buffer,
  origin: number,
  pos: number,
  end: number,
  large: boolean,
  isObject: boolean,
  depth: number,
): JsonNode {
  const what = isObject ? 'object' : 'array';
  if (depth >= MAX_DEPTH) corrupt(origin, pos, `nesting of at most ${MAX_DEPTH} levels`);
  const offsetSize = large ? 4 : 2;
  if (end - pos < 2 * offsetSize) {
    corrupt(origin, pos, `${large ? 'large' : 'small'} ${what} header of ${2 * offsetSize} bytes, ${end - pos} left`);
  }
  const count = large ? buf.readUInt32LE(pos) : buf.readUInt16LE(pos);
  const size = large ? buf.readUInt32LE(pos + 4) : buf.readUInt16LE(pos + 2);
  if (size > end - pos) corrupt(origin, pos, `${what} of ${size} bytes, ${end - pos} left`);
  const keyEntrySize = isObject ? offsetSize + 2 : 0;
  const valueEntrySize = 1 + offsetSize;
  const headerSize = 2 * offsetSize + count * (keyEntrySize + valueEntrySize);
  if (headerSize > size) corrupt(origin, pos, `${what} header of ${headerSize} bytes for ${count} members within its size ${size}`);
  const valueEntries = pos + 2 * offsetSize + count * keyEntrySize;
  if (!isObject) {
    const out: JsonNode[] = [];
    for (let i = 0; i < count; i++) {
      out.push(decodeEntry(buf, origin, pos, size, valueEntries + i * valueEntrySize, large, depth));
    }
    return out;
  }
  // A null-prototype object makes "__proto__" an ordinary key; assignment keeps the stored order.
  const out = Object.create(null) as JsonObject;
  for (let i = 0; i < count; i++) {
    const entry = pos + 2 * offsetSize + i * keyEntrySize;
    const keyOffset = large ? buf.readUInt32LE(entry) : buf.readUInt16LE(entry);
    const keyLength = buf.readUInt16LE(entry + offsetSize);
    // Value::key(): a key lies after every entry and inside the object.
    if (keyOffset < headerSize || keyOffset + keyLength > size) {
      corrupt(origin, entry, `key ${i} at offset ${keyOffset} (+${keyLength}) within object bytes ${headerSize}..${size}`);
    }
    const key = utf8(buf, pos + keyOffset, pos + keyOffset + keyLength);
    out[key] = decodeEntry(buf, origin, pos, size, valueEntries + i * valueEntrySize, large, depth);
  }
  return out;
}

/** Decodes the member whose value entry is at `entry` in the container starting at `base` of `size` bytes. */
function decodeEntry(buf: Buffer, origin: number, base: number, size: number, entry: number, large: boolean, depth: number): JsonNode {
  const type = buf[entry]!;
  if (isInlined(type, large)) return decodeScalar(buf, origin, type, entry + 1, entry + (large ? 5 : 3));
  const offset = large ? buf.readUInt32LE(entry + 1) : buf.readUInt16LE(entry + 1);
  const entryEnd = entry - base + (large ? 5 : 3);
  // Value::element(): a value lies after its own entry and inside the container.
  if (offset < entryEnd || offset > size) {
    corrupt(origin, entry, `value offset ${offset} within container bytes ${entryEnd}..${size}`);
  }
  return decodeValue(buf, origin, type, base + offset, base + size, depth + 1);
}

function isInlined(type: number, large: boolean): boolean {
  switch (type) {
    case JsonbType.LITERAL:
    case JsonbType.INT16:
    case JsonbType.UINT16:
      return true;
    case JsonbType.INT32:
    case JsonbType.UINT32:
      return large;
    default:
      return false;
  }
}

function decodeScalar(buf: Buffer, origin: number, type: number, pos: number, end: number): JsonNode {
  switch (type) {
    case JsonbType.LITERAL: {
      need(origin, pos, end, 1, 'literal');
      const b = buf[pos]!;
      if (b === LITERAL_NULL) return null;
      if (b === LITERAL_TRUE) return true;
      if (b === LITERAL_FALSE) return false;
      return corrupt(origin, pos, `literal 0x00, 0x01 or 0x02, found 0x${hex2(b)}`);
    }
    case JsonbType.INT16:
      need(origin, pos, end, 2, 'int16');
      return buf.readInt16LE(pos);
    case JsonbType.UINT16:
      need(origin, pos, end, 2, 'uint16');
      return buf.readUInt16LE(pos);
    case JsonbType.INT32:
      need(origin, pos, end, 4, 'int32');
      return buf.readInt32LE(pos);
    case JsonbType.UINT32:
      need(origin, pos, end, 4, 'uint32');
      return buf.readUInt32LE(pos);
    case JsonbType.INT64:
      need(origin, pos, end, 8, 'int64');
      return readInt64(buf, pos);
    case JsonbType.UINT64:
      need(origin, pos, end, 8, 'uint64');
      return readUint64(buf, pos);
    case JsonbType.DOUBLE:
      need(origin, pos, end, 8, 'double');
      return buf.readDoubleLE(pos);
    case JsonbType.STRING: {
      const packed = readVariableLength(buf, origin, pos, end, 'string');
      const start = pos + (packed % 8);
      return utf8(buf, start, start + Math.floor(packed / 8));
    }
    case JsonbType.OPAQUE: {
      need(origin, pos, end, 1, 'opaque field type');
      const packed = readVariableLength(buf, origin, pos + 1, end, 'opaque');
      const start = pos + 1 + (packed % 8);
      return decodeOpaque(buf, origin, buf[pos]!, start, start + Math.floor(packed / 8));
    }
    default:
      return corrupt(origin, pos - 1, `a value type byte, found 0x${hex2(type)}`);
  }
}

/** int64 as a number when within ±(2^53−1), else bigint; the number path allocates nothing. */
function readInt64(buf: Buffer, pos: number): number | bigint {
  const lo = buf.readUInt32LE(pos);
  const hi = buf.readInt32LE(pos + 4);
  // |hi| < 2^21 keeps hi·2^32 + lo within [−2^53, 2^53); −2^53 itself is not "safe".
  if (hi >= -0x200000 && hi < 0x200000 && !(hi === -0x200000 && lo === 0)) return hi * TWO_32 + lo;
  return buf.readBigInt64LE(pos);
}

function readUint64(buf: Buffer, pos: number): number | bigint {
  const hi = buf.readUInt32LE(pos + 4);
  if (hi < 0x200000) return hi * TWO_32 + buf.readUInt32LE(pos);
  return buf.readBigUInt64LE(pos);
}

/**
 * Reads a var-length (read_variable_length) at `pos`; returns length·8 + bytes used, packed
 * in one number (≤ 2^35, exact) so the hot path allocates no tuple. Checks the data fits.
 */
function readVariableLength(buf: Buffer, origin: number, pos: number, end: number, what: string): number {
  const maxBytes = Math.min(end - pos, 5);
  let length = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    const b = buf[pos + i]!;
    length += (b & 0x7f) * scale;
    scale *= 128;
    if ((b & 0x80) === 0) {
      if (length > 0xffffffff) corrupt(origin, pos, `${what} length below 2^32, found ${length}`);
      if (length > end - pos - i - 1) corrupt(origin, pos, `${what} of ${length} bytes, ${end - pos - i - 1} left`);
      return length * 8 + i + 1;
    }
  }
  return corrupt(origin, pos, `${what} length of at most 5 bytes ending in a byte below 0x80`);
}

// ---------------------------------------------------------------------------------------------
// Opaque values: rendered as the server's JSON text output renders them (sql-common/json_dom.cc,
// wrapper_to_string): DECIMAL exact, temporal types via my_TIME_to_str(t, 6), VAR_STRING as a
// plain string, anything else "base64:type<N>:<base64>".

function decodeOpaque(buf: Buffer, origin: number, fieldType: number, start: number, end: number): JsonNode {
  switch (fieldType) {
    case ColumnType.NEWDECIMAL:
      return new JsonDecimal(decodeJsonDecimal(buf, origin, start, end));
    case ColumnType.DATE:
    case ColumnType.TIME:
    case ColumnType.DATETIME:
    case ColumnType.TIMESTAMP:
      // Json_datetime::PACKED_SIZE: the packed longlong of my_time.cc, little-endian.
      if (end - start !== 8) corrupt(origin, start, `8-byte packed temporal (type ${fieldType}), found ${end - start} bytes`);
      return formatPackedTemporal(fieldType, buf.readBigInt64LE(start));
    case ColumnType.VAR_STRING:
      return buf.toString('utf8', start, end);
    default:
      return `base64:type${fieldType}:${mysqlBase64(buf, start, end)}`;
  }
}

/** MySQL's base64_encode (mysys/base64.cc) puts a newline after every 76 output characters. */
function mysqlBase64(buf: Buffer, start: number, end: number): string {
  const text = buf.toString('base64', start, end);
  if (text.length <= 76) return text;
  const lines: string[] = [];
  for (let i = 0; i < text.length; i += 76) lines.push(text.slice(i, i + 76));
  return lines.join('\n');
}

/** Formats a packed temporal (my_time.cc TIME_from_longlong_*_packed) as my_TIME_to_str(t, 6) does. */
function formatPackedTemporal(fieldType: number, packed: bigint): string {
  const negative = packed < 0n;
  const abs = negative ? -packed : packed;
  const micro = Number(abs & 0xffffffn); // MY_PACKED_TIME_GET_FRAC_PART: low 24 bits
  const intPart = abs >> 24n;
  if (fieldType === ColumnType.TIME) {
    const hms = Number(intPart);
    const hour = Math.floor(hms / 4096) % 1024;
    const clock = `${pad(hour, 2)}:${pad(Math.floor(hms / 64) % 64, 2)}:${pad(hms % 64, 2)}.${pad(micro, 6)}`;
    return negative ? `-${clock}` : clock;
  }
  const ymd = Number(intPart >> 17n);
  const hms = Number(intPart & 0x1ffffn);
  const ym = Math.floor(ymd / 32);
  const date = `${pad(Math.floor(ym / 13), 4)}-${pad(ym % 13, 2)}-${pad(ymd % 32, 2)}`;
  if (fieldType === ColumnType.DATE) return date;
  return `${date} ${pad(Math.floor(hms / 4096), 2)}:${pad(Math.floor(hms / 64) % 64, 2)}:${pad(hms % 64, 2)}.${pad(micro, 6)}`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

// ---------------------------------------------------------------------------------------------
// DECIMAL inside JSON: precision byte, scale byte, then the binary decimal of strings/decimal.cc
// (decimal2bin): big-endian groups of 9 digits in 4 bytes, partial groups in dig2bytes[n]
// bytes, integer part first; the first byte's top bit inverted is the sign, and a negative
// number has every byte inverted. Json_decimal::convert_from_binary requires the exact size.

const DIG2BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4] as const;
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000] as const;

function decodeJsonDecimal(buf: Buffer, origin: number, start: number, end: number): string {
  if (end - start < 2) corrupt(origin, start, `DECIMAL precision and scale bytes, found ${end - start} bytes`);
  const precision = buf[start]!;
  const scale = buf[start + 1]!;
  if (scale > precision) corrupt(origin, start, `DECIMAL scale ≤ precision, found (${precision},${scale})`);
  const intg = precision - scale;
  const binSize = Math.floor(intg / 9) * 4 + DIG2BYTES[intg % 9]! + Math.floor(scale / 9) * 4 + DIG2BYTES[scale % 9]!;
  if (binSize !== end - start - 2) {
    corrupt(origin, start, `DECIMAL(${precision},${scale}) of ${binSize} bytes, found ${end - start - 2}`);
  }
  if (binSize === 0) return '0';
  const text = decimalText(buf, start + 2, intg, scale);
  if (text === null) corrupt(origin, start, `DECIMAL(${precision},${scale}) digit groups below 10^9`);
  return text;
}

/** The text of a binary decimal at `pos` (its size already checked), or null when a group is out of range. */
function decimalText(buf: Buffer, pos: number, intg: number, scale: number): string | null {
  const first = pos;
  const mask = buf[first]! & 0x80 ? 0 : 0xff;
  let p = pos;
  const group = (width: number): number => {
    let v = 0;
    for (let k = 0; k < width; k++, p++) v = v * 256 + ((buf[p]! ^ mask ^ (p === first ? 0x80 : 0)) & 0xff);
    return v;
  };
  let intText = '';
  const lead = intg % 9;
  if (lead > 0) {
    const v = group(DIG2BYTES[lead]!);
    if (v >= POW10[lead]!) return null;
    intText = String(v);
  }
  for (let i = Math.floor(intg / 9); i > 0; i--) {
    const v = group(4);
    if (v >= POW10[9]!) return null;
    intText += pad(v, 9);
  }
  intText = intText.replace(/^0+/, '');
  let fracText = '';
  for (let i = Math.floor(scale / 9); i > 0; i--) {
    const v = group(4);
    if (v >= POW10[9]!) return null;
    fracText += pad(v, 9);
  }
  const tail = scale % 9;
  if (tail > 0) {
    const v = group(DIG2BYTES[tail]!);
    if (v >= POW10[tail]!) return null;
    fracText += pad(v, tail);
  }
  const isZero = intText === '' && !/[1-9]/.test(fracText);
  const sign = mask !== 0 && !isZero ? '-' : '';
  return `${sign}${intText === '' ? '0' : intText}${scale > 0 ? `.${fracText}` : ''}`;
}

/**
 * UTF-8 text of buf[start, end). Keys and short values are mostly ASCII; building those from
 * char codes skips Buffer#toString's native call and decoded a 3.7 KB document of 50 members
 * about 1.3× faster (≈90 → ≈120 MB/s, Node 20). Anything longer or non-ASCII uses toString.
 */
function utf8(buf: Buffer, start: number, end: number): string {
  if (end - start > 24) return buf.toString('utf8', start, end);
  let s = '';
  for (let i = start; i < end; i++) {
    const b = buf[i]!;
    if (b >= 0x80) return buf.toString('utf8', start, end);
    s += String.fromCharCode(b);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------

function need(origin: number, pos: number, end: number, n: number, what: string): void {
  if (end - pos < n) corrupt(origin, pos, `${what} of ${n} bytes, ${Math.max(0, end - pos)} left`);
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, '0');
}

/** Throws the one error of this module: what was expected, and where inside the document. */
function corrupt(origin: number, pos: number, expected: string): never {
  const at = pos - origin;
  throw new BinlogError(BinlogErrorCode.CorruptEvent, `corrupt JSON document: expected ${expected} at byte ${at}`, { jsonOffset: at });
}
