/**
 * The inverse of decodeColumnValue: the bytes the server writes into a rows event for one non-NULL
 * cell, built from the readable value (test-only; used by value tests and the test binlog writer).
 * Written from the server's encoders (strings/decimal.cc decimal2bin, mysys/my_time.cc
 * my_*_packed_to_binary, sql/field.cc Field_*::pack, MariaDB sql/field.cc Field_*_hires), not from
 * our decoder, and pinned by known-answer bytes a real server wrote (see decode-value.test.ts).
 */
import { EngineError } from '../../src/errors.js';
import type { ColumnDef, ColumnValue } from '../../src/binlog/column.js';
import { ColumnType, columnTypeName } from '../../src/binlog/column-types.js';
import { charsetOfCollation, decodeText, TextCodec, type Charset } from '../../src/binlog/values/charset.js';
import { JsonValue } from '../../src/binlog/values/json-value.js';
import { encodeJsonBinary } from './json-binary-encoder.js';

export const VALUE_ENCODER_MISUSE = 'VALUE_ENCODER_MISUSE';

function misuse(col: ColumnDef, message: string): EngineError {
  return new EngineError(VALUE_ENCODER_MISUSE, `column ${col.name} (${columnTypeName(col.type)}): ${message}`);
}

/** A ColumnDef with test defaults (signed, nullable, no charset, no labels); `meta` as ColumnDef.meta documents. */
export function testColumn(type: number, overrides: Partial<ColumnDef> = {}): ColumnDef {
  return {
    index: 0,
    name: 'c',
    type,
    binlogType: type === ColumnType.ENUM || type === ColumnType.SET ? ColumnType.STRING : type,
    meta: 0,
    nullable: true,
    unsigned: false,
    collation: null,
    enumLabels: null,
    setLabels: null,
    geometryType: null,
    isJson: false,
    visible: true,
    ...overrides,
  };
}

const DIG2BYTES = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4] as const;
const TIME_HIRES_BYTES = [3, 4, 4, 5, 5, 5, 6] as const;
const DATETIME_HIRES_BYTES = [5, 6, 6, 7, 7, 7, 8] as const;
const SEC_PART_BYTES = [0, 1, 1, 2, 2, 3, 3] as const;

/** The cell bytes for `value` in `col` (no NULL: NULLs live in the row's null bitmap). */
export function encodeColumnValue(value: ColumnValue, col: ColumnDef): Buffer {
  switch (col.type) {
    case ColumnType.TINY:
      return int(col, value, 1);
    case ColumnType.SHORT:
      return int(col, value, 2);
    case ColumnType.INT24:
      return int(col, value, 3);
    case ColumnType.LONG:
      return int(col, value, 4);
    case ColumnType.LONGLONG: {
      const b = Buffer.alloc(8);
      const v = BigInt(asInteger(col, value));
      if (col.unsigned) b.writeBigUInt64LE(v);
      else b.writeBigInt64LE(v);
      return b;
    }
    case ColumnType.FLOAT: {
      const b = Buffer.alloc(4);
      b.writeFloatLE(asNumber(col, value));
      return b;
    }
    case ColumnType.DOUBLE: {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(asNumber(col, value));
      return b;
    }
    case ColumnType.NEWDECIMAL:
      return encodeDecimal(col, asString(col, value));
    case ColumnType.YEAR: {
      const y = asNumber(col, value);
      return Buffer.from([y === 0 ? 0 : y - 1900]);
    }
    case ColumnType.DATE:
    case ColumnType.NEWDATE: {
      const [y, m, d] = parseDate(col, asString(col, value));
      return le(y * 512 + m * 32 + d, 3);
    }
    case ColumnType.TIME:
      return col.meta > 0 ? encodeTimeHires(col, asString(col, value)) : encodeTimeOld(col, asString(col, value));
    case ColumnType.TIME2:
      return encodeTime2(col, asString(col, value));
    case ColumnType.DATETIME:
      return col.meta > 0 ? encodeDatetimeHires(col, asString(col, value)) : encodeDatetimeOld(col, asString(col, value));
    case ColumnType.DATETIME2:
      return encodeDatetime2(col, asString(col, value));
    case ColumnType.TIMESTAMP:
      return col.meta > 0 ? encodeTimestampHires(col, asString(col, value)) : le(timestampSeconds(col, asString(col, value)).seconds, 4);
    case ColumnType.TIMESTAMP2:
      return encodeTimestamp2(col, asString(col, value));
    case ColumnType.VARCHAR:
    case ColumnType.VAR_STRING:
    case ColumnType.STRING: {
      let bytes = textBytes(col, value);
      // BINARY(n) is logged without its trailing 0x00 pad (Field_string::pack); the decoder adds it back.
      if (col.collation === 63) {
        let end = bytes.length;
        while (end > 0 && bytes[end - 1] === 0) end--;
        bytes = bytes.subarray(0, end);
      }
      return Buffer.concat([le(bytes.length, col.meta > 255 ? 2 : 1), bytes]);
    }
    case ColumnType.TINY_BLOB:
    case ColumnType.MEDIUM_BLOB:
    case ColumnType.LONG_BLOB:
    case ColumnType.BLOB: {
      const bytes = textBytes(col, value);
      return Buffer.concat([le(bytes.length, col.meta), bytes]);
    }
    case ColumnType.GEOMETRY:
    case ColumnType.VECTOR: {
      if (!Buffer.isBuffer(value)) throw misuse(col, 'expects a Buffer');
      return Buffer.concat([le(value.length, col.meta), value]);
    }
    case ColumnType.JSON: {
      let bytes: Buffer;
      if (value instanceof JsonValue) bytes = encodeJsonBinary(value.node);
      else if (Buffer.isBuffer(value)) bytes = value;
      else throw misuse(col, 'expects a JsonValue or the binary JSON bytes');
      return Buffer.concat([le(bytes.length, col.meta), bytes]);
    }
    case ColumnType.ENUM: {
      let index: number;
      if (typeof value === 'string') {
        if (col.enumLabels === null) throw misuse(col, 'a label needs enumLabels');
        index = value === '' ? 0 : col.enumLabels.indexOf(value) + 1;
        if (index === 0 && value !== '') throw misuse(col, `unknown label ${value}`);
      } else index = asNumber(col, value);
      return le(index, col.meta);
    }
    case ColumnType.SET: {
      let bits: bigint;
      if (typeof value === 'string') {
        if (col.setLabels === null) throw misuse(col, 'labels need setLabels');
        bits = 0n;
        for (const label of value === '' ? [] : value.split(',')) {
          const i = col.setLabels.indexOf(label);
          if (i < 0) throw misuse(col, `unknown member ${label}`);
          bits |= 1n << BigInt(i);
        }
      } else bits = BigInt(asInteger(col, value));
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(bits);
      return b.subarray(0, col.meta);
    }
    case ColumnType.BIT: {
      const n = (col.meta + 7) >> 3;
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(asInteger(col, value)));
      return b.subarray(8 - n);
    }
    case ColumnType.NULL:
      return Buffer.alloc(0);
    default:
      throw misuse(col, 'no encoder for this type');
  }
}

// ---- value shapes ---------------------------------------------------------------------------

function asNumber(col: ColumnDef, v: ColumnValue): number {
  if (typeof v !== 'number') throw misuse(col, `expects a number, got ${typeof v}`);
  return v;
}

function asInteger(col: ColumnDef, v: ColumnValue): number | bigint {
  if (typeof v !== 'number' && typeof v !== 'bigint') throw misuse(col, `expects an integer, got ${typeof v}`);
  return v;
}

function asString(col: ColumnDef, v: ColumnValue): string {
  if (typeof v !== 'string') throw misuse(col, `expects a string, got ${typeof v}`);
  return v;
}

function int(col: ColumnDef, value: ColumnValue, width: number): Buffer {
  const v = asNumber(col, value);
  const b = Buffer.alloc(width);
  if (col.unsigned) b.writeUIntLE(v, 0, width);
  else b.writeIntLE(v, 0, width);
  return b;
}

function le(v: number, width: number): Buffer {
  const b = Buffer.alloc(width);
  b.writeUIntLE(v, 0, width);
  return b;
}

function be(v: number, width: number): Buffer {
  const b = Buffer.alloc(width);
  if (width > 0) b.writeUIntBE(v, 0, width);
  return b;
}

// ---- DECIMAL (decimal2bin) ------------------------------------------------------------------

function encodeDecimal(col: ColumnDef, text: string): Buffer {
  const precision = col.meta >> 8;
  const scale = col.meta & 0xff;
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (!m) throw misuse(col, `not a decimal: ${text}`);
  const negative = m[1] === '-';
  const intg = precision - scale;
  const intDigits = m[2]!.replace(/^0+/, '');
  const fracDigits = (m[3] ?? '').padEnd(scale, '0');
  if (intDigits.length > intg || fracDigits.length > scale) throw misuse(col, `${text} does not fit DECIMAL(${precision},${scale})`);
  const intPadded = intDigits.padStart(intg, '0');
  const parts: Buffer[] = [];
  const intg0x = intg % 9;
  if (intg0x > 0) parts.push(be(Number(intPadded.slice(0, intg0x)), DIG2BYTES[intg0x]!));
  for (let i = intg0x; i < intg; i += 9) parts.push(be(Number(intPadded.slice(i, i + 9)), 4));
  const frac0 = Math.floor(scale / 9);
  for (let i = 0; i < frac0 * 9; i += 9) parts.push(be(Number(fracDigits.slice(i, i + 9)), 4));
  const frac0x = scale % 9;
  if (frac0x > 0) parts.push(be(Number(fracDigits.slice(frac0 * 9)), DIG2BYTES[frac0x]!));
  const out = Buffer.concat(parts);
  if (negative) for (let i = 0; i < out.length; i++) out[i] = out[i]! ^ 0xff;
  out[0] = out[0]! ^ 0x80;
  return out;
}

// ---- temporal -------------------------------------------------------------------------------

function parseDate(col: ColumnDef, text: string): [number, number, number] {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) throw misuse(col, `not a date: ${text}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

interface Datetime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly usec: number;
}

/** "YYYY-MM-DD HH:MM:SS[.f]" with at most fsp fraction digits. */
function parseDatetime(col: ColumnDef, text: string, fsp: number): Datetime {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text);
  if (!m || (m[7] ?? '').length > fsp) throw misuse(col, `not a datetime with ${fsp} fraction digits: ${text}`);
  return {
    year: Number(m[1]),
    month: Number(m[2]),
    day: Number(m[3]),
    hour: Number(m[4]),
    minute: Number(m[5]),
    second: Number(m[6]),
    usec: Number((m[7] ?? '').padEnd(6, '0')),
  };
}

interface Time {
  readonly negative: boolean;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly usec: number;
}

function parseTime(col: ColumnDef, text: string, fsp: number): Time {
  const m = /^(-?)(\d{2,3}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text);
  if (!m || (m[5] ?? '').length > fsp) throw misuse(col, `not a time with ${fsp} fraction digits: ${text}`);
  return { negative: m[1] === '-', hour: Number(m[2]), minute: Number(m[3]), second: Number(m[4]), usec: Number((m[5] ?? '').padEnd(6, '0')) };
}

/** Fraction bytes of TIME2/DATETIME2/TIMESTAMP2 for a non-negative µs value. */
function fractionBytes(usec: number, fsp: number): Buffer {
  if (fsp === 0) return Buffer.alloc(0);
  if (fsp <= 2) return be(Math.floor(usec / 10000), 1);
  if (fsp <= 4) return be(Math.floor(usec / 100), 2);
  return be(usec, 3);
}

/** my_time_packed_to_binary: C's `>>` floors and `%` truncates, so negative values borrow. */
function encodeTime2(col: ColumnDef, text: string): Buffer {
  const fsp = col.meta;
  const t = parseTime(col, text, fsp);
  const hms = t.hour * 4096 + t.minute * 64 + t.second;
  const magnitude = hms * 16777216 + t.usec;
  const packed = t.negative ? -magnitude : magnitude;
  if (fsp >= 5) return be(packed + 0x800000000000, 6);
  const intPart = Math.floor(packed / 16777216);
  const fracPart = packed - Math.trunc(packed / 16777216) * 16777216; // C remainder: sign of packed
  const head = be(intPart + 0x800000, 3);
  if (fsp === 0) return head;
  if (fsp <= 2) return Buffer.concat([head, Buffer.from([Math.trunc(fracPart / 10000) & 0xff])]);
  const b = Buffer.alloc(2);
  b.writeInt16BE(Math.trunc(fracPart / 100));
  return Buffer.concat([head, b]);
}

/** Field_time: ±HHMMSS as a signed 3-byte little-endian integer. */
function encodeTimeOld(col: ColumnDef, text: string): Buffer {
  const t = parseTime(col, text, 0);
  const v = t.hour * 10000 + t.minute * 100 + t.second;
  const b = Buffer.alloc(3);
  b.writeIntLE(t.negative ? -v : v, 0, 3);
  return b;
}

/** MariaDB Field_time_hires: ±units + (838:59:59 + 1 s) in units, big-endian. */
function encodeTimeHires(col: ColumnDef, text: string): Buffer {
  const fsp = col.meta;
  const t = parseTime(col, text, fsp);
  const unit = 10 ** fsp;
  const units = (t.hour * 3600 + t.minute * 60 + t.second) * unit + Math.floor(t.usec / 10 ** (6 - fsp));
  return be((t.negative ? -units : units) + 3020400 * unit, TIME_HIRES_BYTES[fsp]!);
}

function encodeDatetime2(col: ColumnDef, text: string): Buffer {
  const fsp = col.meta;
  const d = parseDatetime(col, text, fsp);
  const ymd = (d.year * 13 + d.month) * 32 + d.day;
  const hms = d.hour * 4096 + d.minute * 64 + d.second;
  return Buffer.concat([be(ymd * 131072 + hms + 0x8000000000, 5), fractionBytes(d.usec, fsp)]);
}

/** Field_datetime: YYYYMMDDhhmmss as an 8-byte little-endian integer. */
function encodeDatetimeOld(col: ColumnDef, text: string): Buffer {
  const d = parseDatetime(col, text, 0);
  const v = BigInt(d.year * 10000 + d.month * 100 + d.day) * 1000000n + BigInt(d.hour * 10000 + d.minute * 100 + d.second);
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
}

/** MariaDB Field_datetime_hires: pack_time() / 10^(6−fsp), big-endian. */
function encodeDatetimeHires(col: ColumnDef, text: string): Buffer {
  const fsp = col.meta;
  const d = parseDatetime(col, text, fsp);
  const packed =
    ((((BigInt(d.year) * 13n + BigInt(d.month)) * 32n + BigInt(d.day)) * 24n + BigInt(d.hour)) * 60n + BigInt(d.minute)) * 60n + BigInt(d.second);
  const v = (packed * 1000000n + BigInt(d.usec)) / 10n ** BigInt(6 - fsp);
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(v);
  return b.subarray(8 - DATETIME_HIRES_BYTES[fsp]!);
}

/** A UTC datetime as seconds since 1970; the all-zero datetime is 0. */
function timestampSeconds(col: ColumnDef, text: string, fsp = 0): { seconds: number; usec: number } {
  const d = parseDatetime(col, text, fsp);
  if (d.year === 0 && d.month === 0 && d.day === 0) return { seconds: 0, usec: 0 };
  // days_from_civil (H. Hinnant).
  const y = d.month <= 2 ? d.year - 1 : d.year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (d.month + (d.month > 2 ? -3 : 9)) + 2) / 5) + d.day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  return { seconds: days * 86400 + d.hour * 3600 + d.minute * 60 + d.second, usec: d.usec };
}

function encodeTimestamp2(col: ColumnDef, text: string): Buffer {
  const t = timestampSeconds(col, text, col.meta);
  return Buffer.concat([be(t.seconds, 4), fractionBytes(t.usec, col.meta)]);
}

/** MariaDB Field_timestamp_hires: seconds, then the fraction in units of 10^−fsp, both big-endian. */
function encodeTimestampHires(col: ColumnDef, text: string): Buffer {
  const fsp = col.meta;
  const t = timestampSeconds(col, text, fsp);
  return Buffer.concat([be(t.seconds, 4), be(Math.floor(t.usec / 10 ** (6 - fsp)), SEC_PART_BYTES[fsp]!)]);
}

// ---- text -----------------------------------------------------------------------------------

const inverseTables = new Map<string, Map<string, number[]>>();

/**
 * char → bytes for a table or WHATWG charset, built by decoding every 1- and 2-byte sequence with
 * the decoder itself (shortest sequence wins), so it covers sjis, gbk, big5, euc-* too; characters
 * that need 3 or more bytes (gb18030's 4-byte forms, EUC-JP's JIS X 0212) are not encodable here.
 */
function inverseTable(cs: Charset): Map<string, number[]> {
  let t = inverseTables.get(cs.name);
  if (!t) {
    const table = new Map<string, number[]>();
    const decode = (bytes: number[]): string => decodeText(Buffer.from(bytes), 0, bytes.length, cs);
    for (let b = 0; b < 256; b++) {
      const ch = decode([b]);
      if (ch.length > 0 && ch !== '\ufffd' && !table.has(ch)) table.set(ch, [b]);
    }
    if (cs.codec === TextCodec.Decoder && !cs.name.startsWith('cp12') && cs.label !== 'utf-16be') {
      for (let a = 0x80; a < 256; a++) {
        for (let b = 0x21; b < 256; b++) {
          const ch = decode([a, b]);
          if ([...ch].length === 1 && ch !== '\ufffd' && !table.has(ch)) table.set(ch, [a, b]);
        }
      }
    }
    t = table;
    inverseTables.set(cs.name, t);
  }
  return t;
}

/** A string's bytes in the column's charset (a Buffer is taken as the bytes themselves). */
function textBytes(col: ColumnDef, value: ColumnValue): Buffer {
  if (Buffer.isBuffer(value)) return value;
  const s = asString(col, value);
  const cs = col.collation === null ? undefined : charsetOfCollation(col.collation);
  if (cs === undefined) throw misuse(col, 'a string needs a known collation (or pass a Buffer)');
  switch (cs.codec) {
    case TextCodec.Utf8:
      return Buffer.from(s, 'utf8');
    case TextCodec.Utf16le:
      return Buffer.from(s, 'utf16le');
    case TextCodec.Utf32: {
      const cps = Array.from(s, (ch) => ch.codePointAt(0)!);
      const b = Buffer.alloc(cps.length * 4);
      cps.forEach((cp, i) => b.writeUInt32BE(cp, i * 4));
      return b;
    }
    case TextCodec.Decoder:
    case TextCodec.Table: {
      if (cs.label === 'utf-16be') return Buffer.from(s, 'utf16le').swap16();
      const table = inverseTable(cs);
      return Buffer.from(
        Array.from(s).flatMap((ch) => {
          const b = table.get(ch);
          if (b === undefined) throw misuse(col, `${JSON.stringify(ch)} has no encoding in ${cs.name} here`);
          return b;
        }),
      );
    }
    default:
      throw misuse(col, `${cs.name} is not text (pass a Buffer)`);
  }
}
