/**
 * Reusable fast-check arbitraries for round-trip tests of the binlog decoder: column definitions of
 * every type the test value encoder supports, the values such columns hold (in the decoder's
 * in-memory representation, src/binlog/column.ts) with the bytes a server writes for them, binary
 * JSON documents in every binary form, and partial-JSON diff vectors with the document they produce.
 *
 * Values are generated for the column AS THE DECODER WILL SEE IT (`decodedColumn`): with
 * binlog_row_metadata=NONE it knows no charset, labels or signedness, so text is a Buffer, ENUM an
 * index and integers signed. The expected values follow from the definitions, never from the decoder.
 */
import fc from 'fast-check';
import type { ColumnDef, ColumnValue } from '../../src/binlog/column.js';
import type { Flavor, TableMap } from '../../src/binlog/event.js';
import { ColumnType } from '../../src/binlog/column-types.js';
import { JsonDecimal, JsonValue, type JsonNode } from '../../src/binlog/values/json-value.js';
import type { TableMapColumn } from '../harness/binlog-writer.js';
import {
  JsonbDecimal,
  JsonbDouble,
  JsonbFormat,
  JsonbInt,
  JsonbOpaque,
  JsonbTemporal,
  encodeJsonBinary,
  type EncodableDiff,
  type EncodableNode,
  type JsonEncodeOptions,
  type JsonbIntType,
} from '../harness/json-binary-encoder.js';
import { encodeColumnValue } from '../harness/value-encoder.js';

export type { Flavor } from '../../src/binlog/event.js';
/** binlog_row_metadata as a TABLE_MAP reflects it. */
export type RowMetadata = TableMap['metadata'];

// ---------------------------------------------------------------------------------------------
// Column definitions

/** Types generated for both flavours (MariaDB's hires TIME/DATETIME/TIMESTAMP carry no fsp in the binlog, so only fsp 0). */
export const COMMON_TYPES: readonly number[] = [
  ColumnType.TINY,
  ColumnType.SHORT,
  ColumnType.INT24,
  ColumnType.LONG,
  ColumnType.LONGLONG,
  ColumnType.FLOAT,
  ColumnType.DOUBLE,
  ColumnType.NEWDECIMAL,
  ColumnType.YEAR,
  ColumnType.DATE,
  ColumnType.NEWDATE,
  ColumnType.TIME,
  ColumnType.DATETIME,
  ColumnType.TIMESTAMP,
  ColumnType.TIME2,
  ColumnType.DATETIME2,
  ColumnType.TIMESTAMP2,
  ColumnType.VARCHAR,
  ColumnType.VAR_STRING,
  ColumnType.STRING,
  ColumnType.TINY_BLOB,
  ColumnType.MEDIUM_BLOB,
  ColumnType.LONG_BLOB,
  ColumnType.BLOB,
  ColumnType.ENUM,
  ColumnType.SET,
  ColumnType.BIT,
  ColumnType.GEOMETRY,
  ColumnType.NULL,
];

/** MySQL-only types: binary JSON and MySQL 9's VECTOR. */
export const MYSQL_TYPES: readonly number[] = [ColumnType.JSON, ColumnType.VECTOR];

/** The column types generated for a flavour. */
export function typesOf(flavor: Flavor): readonly number[] {
  return flavor === 'mysql' ? [...COMMON_TYPES, ...MYSQL_TYPES] : COMMON_TYPES;
}

/** Whether the column takes a SIGNEDNESS bit (MySQL is_numeric_type; MariaDB adds YEAR). */
export function isNumericColumn(type: number, flavor: Flavor): boolean {
  switch (type) {
    case ColumnType.TINY:
    case ColumnType.SHORT:
    case ColumnType.INT24:
    case ColumnType.LONG:
    case ColumnType.LONGLONG:
    case ColumnType.NEWDECIMAL:
    case ColumnType.FLOAT:
    case ColumnType.DOUBLE:
      return true;
    case ColumnType.YEAR:
      return flavor === 'mariadb';
    default:
      return false;
  }
}

/** Whether the column is listed in the charset metadata (MySQL is_character_type, with VECTOR in 9.x; MariaDB adds GEOMETRY). */
export function isCharacterColumn(type: number, flavor: Flavor): boolean {
  switch (type) {
    case ColumnType.VECTOR:
    case ColumnType.STRING:
    case ColumnType.VAR_STRING:
    case ColumnType.VARCHAR:
    case ColumnType.TINY_BLOB:
    case ColumnType.MEDIUM_BLOB:
    case ColumnType.LONG_BLOB:
    case ColumnType.BLOB:
      return true;
    case ColumnType.GEOMETRY:
      return flavor === 'mariadb';
    default:
      return false;
  }
}

const isEnumOrSet = (type: number): boolean => type === ColumnType.ENUM || type === ColumnType.SET;

/** Collations the text arbitraries know how to fill, with the characters each can hold. */
export const TEXT_COLLATIONS = {
  binary: 63,
  utf8mb3: 33,
  utf8mb4: 45,
  utf8mb4_0900: 255,
  latin1: 8,
  latin2: 9,
  ascii: 11,
  sjis: 13,
  gbk: 28,
  ucs2: 35,
  utf16: 54,
  utf16le: 56,
  utf32: 60,
  cp850: 4, // no decoder in Node: stays a Buffer
} as const;

const ASCII = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const ALPHABETS: Readonly<Record<number, string | 'bmp' | 'unicode' | 'bytes'>> = {
  63: 'bytes',
  4: 'bytes',
  33: 'bmp',
  35: 'bmp',
  45: 'unicode',
  255: 'unicode',
  54: 'unicode',
  56: 'unicode',
  60: 'unicode',
  8: ASCII + 'àéÿ€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ',
  9: ASCII + 'ąćęłńóśźżĄĆĘŁŃÓŚŹŻ',
  11: ASCII,
  13: ASCII.replace('\\', '').replace('~', '') + 'ひらがなカタカナ漢字',
  28: ASCII + '中文汉字测试数据',
};

const LABEL = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789_ é'), minLength: 1, maxLength: 6 });

/** n distinct non-empty labels without commas (SET members are joined by commas). */
function arbLabels(min: number, max: number): fc.Arbitrary<string[]> {
  return fc.uniqueArray(LABEL, { minLength: min, maxLength: max });
}

/** SET storage bytes for n members (get_set_pack_length). */
function setPackLength(n: number): number {
  const len = (n + 7) >> 3;
  return len > 4 ? 8 : len;
}

interface TypeShape {
  readonly meta: number;
  readonly unsigned?: boolean;
  readonly collation?: number | null;
  readonly enumLabels?: readonly string[] | null;
  readonly setLabels?: readonly string[] | null;
  readonly geometryType?: number | null;
}

function arbShape(type: number, flavor: Flavor): fc.Arbitrary<TypeShape> {
  const anyCollation = fc.constantFrom(...Object.values(TEXT_COLLATIONS));
  // The test writer encodes ENUM/SET labels in UTF-8 (binlog-writer.ts labelsField), where a server
  // writes them in the column's charset, which the decoder follows: the labels' collation must be UTF-8.
  const labelCollation = fc.constantFrom(TEXT_COLLATIONS.utf8mb3, TEXT_COLLATIONS.utf8mb4, TEXT_COLLATIONS.utf8mb4_0900);
  switch (type) {
    case ColumnType.TINY:
    case ColumnType.SHORT:
    case ColumnType.INT24:
    case ColumnType.LONG:
    case ColumnType.LONGLONG:
      return fc.boolean().map((unsigned) => ({ meta: 0, unsigned }));
    case ColumnType.FLOAT:
      return fc.boolean().map((unsigned) => ({ meta: 4, unsigned }));
    case ColumnType.DOUBLE:
      return fc.boolean().map((unsigned) => ({ meta: 8, unsigned }));
    case ColumnType.NEWDECIMAL:
      return fc
        .integer({ min: 1, max: 65 })
        .chain((precision) => fc.record({ precision: fc.constant(precision), scale: fc.integer({ min: 0, max: Math.min(30, precision) }), unsigned: fc.boolean() }))
        .map(({ precision, scale, unsigned }) => ({ meta: precision * 256 + scale, unsigned }));
    case ColumnType.YEAR:
      return fc.boolean().map((unsigned) => ({ meta: 0, unsigned: flavor === 'mariadb' && unsigned }));
    case ColumnType.TIME2:
    case ColumnType.DATETIME2:
    case ColumnType.TIMESTAMP2:
      return fc.integer({ min: 0, max: 6 }).map((meta) => ({ meta }));
    case ColumnType.VARCHAR:
    case ColumnType.VAR_STRING:
      return fc.record({ meta: fc.oneof(fc.integer({ min: 64, max: 255 }), fc.integer({ min: 256, max: 65535 })), collation: anyCollation });
    case ColumnType.STRING:
      return fc.record({ meta: fc.oneof(fc.integer({ min: 64, max: 255 }), fc.integer({ min: 256, max: 1020 })), collation: anyCollation });
    case ColumnType.TINY_BLOB:
    case ColumnType.MEDIUM_BLOB:
    case ColumnType.LONG_BLOB:
    case ColumnType.BLOB:
      return fc.record({ meta: fc.integer({ min: 1, max: 4 }), collation: anyCollation });
    case ColumnType.ENUM:
      return fc
        .oneof({ weight: 5, arbitrary: arbLabels(1, 12) }, { weight: 1, arbitrary: arbLabels(256, 300) })
        .chain((labels) => fc.record({ enumLabels: fc.constant(labels), collation: labelCollation, meta: fc.constant(labels.length > 255 ? 2 : 1) }));
    case ColumnType.SET:
      return fc
        .oneof({ weight: 4, arbitrary: arbLabels(1, 10) }, { weight: 1, arbitrary: arbLabels(30, 64) })
        .chain((labels) => fc.record({ setLabels: fc.constant(labels), collation: labelCollation, meta: fc.constant(setPackLength(labels.length)) }));
    case ColumnType.BIT:
      return fc.integer({ min: 1, max: 64 }).map((meta) => ({ meta }));
    case ColumnType.GEOMETRY:
      return fc.record({ meta: fc.integer({ min: 1, max: 4 }), geometryType: fc.integer({ min: 0, max: 7 }) }).map((s) => ({ ...s, collation: flavor === 'mariadb' ? 63 : null }));
    case ColumnType.JSON:
      // Field_json's pack length is always 4; partial-JSON diff vectors rely on it (u32 length).
      return fc.constant({ meta: 4 });
    case ColumnType.VECTOR:
      return fc.constant({ meta: 4, collation: 63 });
    default:
      return fc.constant({ meta: 0 });
  }
}

/** One column definition (the table's truth) of a type chosen among `types`. */
export function arbColumnDef(flavor: Flavor, types: readonly number[] = typesOf(flavor)): fc.Arbitrary<ColumnDef> {
  return fc.constantFrom(...types).chain((type) =>
    fc.record({ shape: arbShape(type, flavor), nullable: fc.boolean(), visible: fc.integer({ min: 0, max: 4 }).map((n) => n !== 0) }).map(({ shape, nullable, visible }) => ({
      index: 0,
      name: '',
      type,
      binlogType: isEnumOrSet(type) ? ColumnType.STRING : type,
      meta: shape.meta,
      nullable,
      unsigned: shape.unsigned ?? false,
      collation: shape.collation ?? null,
      enumLabels: shape.enumLabels ?? null,
      setLabels: shape.setLabels ?? null,
      geometryType: shape.geometryType ?? null,
      isJson: false,
      visible,
    })),
  );
}

/** A table's columns: indexes in order, unique names. */
export function arbColumns(flavor: Flavor, opts: { minColumns?: number; maxColumns?: number; types?: readonly number[] } = {}): fc.Arbitrary<ColumnDef[]> {
  return fc
    .array(arbColumnDef(flavor, opts.types), { minLength: opts.minColumns ?? 1, maxLength: opts.maxColumns ?? 8 })
    .chain((cols) => fc.uniqueArray(fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_é'), minLength: 1, maxLength: 8 }), { minLength: cols.length, maxLength: cols.length }).map((names) => cols.map((c, i) => ({ ...c, index: i, name: names[i]! }))));
}

/** The TABLE_MAP column the test writer takes for a definition (charsets only where the flavour lists one). */
export function toWriterColumn(col: ColumnDef, flavor: Flavor): TableMapColumn {
  const charset = isCharacterColumn(col.type, flavor) || isEnumOrSet(col.type) ? (col.collation ?? 63) : undefined;
  return {
    type: col.type,
    // VAR_STRING has no structured metadata in the writer: its 2-byte maximum length as raw bytes.
    meta: col.type === ColumnType.VAR_STRING ? Buffer.of(col.meta & 0xff, col.meta >> 8) : col.type === ColumnType.NULL ? undefined : col.meta,
    nullable: col.nullable,
    unsigned: col.unsigned,
    ...(charset !== undefined ? { charset } : {}),
    name: col.name,
    ...(col.enumLabels !== null ? { enumLabels: col.enumLabels } : {}),
    ...(col.setLabels !== null ? { setLabels: col.setLabels } : {}),
    ...(col.type === ColumnType.GEOMETRY ? { geometryType: col.geometryType ?? 0 } : {}),
    visible: col.visible,
  };
}

/** What the decoder knows of a column from a TABLE_MAP written with `metadata` (no schema hints). */
export function decodedColumn(col: ColumnDef, metadata: RowMetadata, flavor: Flavor, visibilityLogged: boolean): ColumnDef {
  const some = metadata !== 'none';
  const full = metadata === 'full';
  const character = isCharacterColumn(col.type, flavor);
  return {
    index: col.index,
    name: full ? col.name : `@${col.index + 1}`,
    type: col.type,
    binlogType: col.binlogType,
    meta: col.meta,
    nullable: col.nullable,
    unsigned: some && isNumericColumn(col.type, flavor) ? col.unsigned : false,
    collation: (some && character) || (full && isEnumOrSet(col.type)) ? (col.collation ?? 63) : null,
    enumLabels: full ? col.enumLabels : null,
    setLabels: full ? col.setLabels : null,
    geometryType: some && col.type === ColumnType.GEOMETRY ? col.geometryType : null,
    isJson: false,
    visible: full && visibilityLogged ? col.visible : true,
  };
}

/** The `metadata` the decoder reports: MINIMAL with no field to write reads as NONE. */
export function decodedMetadataMode(cols: readonly ColumnDef[], metadata: RowMetadata, flavor: Flavor): RowMetadata {
  if (metadata !== 'minimal') return metadata;
  const any = cols.some((c) => isNumericColumn(c.type, flavor) || isCharacterColumn(c.type, flavor) || c.type === ColumnType.GEOMETRY);
  return any ? 'minimal' : 'none';
}

// ---------------------------------------------------------------------------------------------
// Values

/** A non-NULL cell: the value the decoder must produce and the bytes the server writes. */
export interface EncodedValue {
  readonly value: ColumnValue;
  readonly bytes: Buffer;
}

const TWO_53 = 2n ** 53n;

/** A bigint as the decoder represents it: a number within ±(2^53−1), else the bigint. */
export function exactInteger(v: bigint): number | bigint {
  return v < TWO_53 && v > -TWO_53 ? Number(v) : v;
}

function arbIntValue(bytes: number, unsigned: boolean): fc.Arbitrary<number | bigint> {
  const bits = BigInt(bytes * 8);
  const [min, max] = unsigned ? [0n, 2n ** bits - 1n] : [-(2n ** (bits - 1n)), 2n ** (bits - 1n) - 1n];
  const edges = fc.constantFrom(min, max, 0n, min + 1n, max - 1n, TWO_53 - 1n, TWO_53, -TWO_53, -TWO_53 + 1n).filter((v) => v >= min && v <= max);
  return fc.oneof(fc.bigInt(min, max), edges).map(exactInteger);
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

function fractionText(fsp: number): fc.Arbitrary<string> {
  if (fsp === 0) return fc.constant('');
  return fc.integer({ min: 0, max: 10 ** fsp - 1 }).map((f) => '.' + pad(f, fsp));
}

function arbDecimalText(precision: number, scale: number): fc.Arbitrary<string> {
  const intg = precision - scale;
  const digits = (n: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: n, maxLength: n });
  return fc
    .record({ neg: fc.boolean(), intLen: fc.integer({ min: 0, max: intg }), frac: digits(scale) })
    .chain(({ neg, intLen, frac }) =>
      digits(intLen).map((int) => {
        const i = int.replace(/^0+/, '') || '0';
        const text = scale > 0 ? `${i}.${frac}` : i;
        // The server never stores a negative zero.
        return neg && /[1-9]/.test(text) ? `-${text}` : text;
      }),
    );
}

function arbDate(zeroParts: boolean): fc.Arbitrary<string> {
  return fc
    .record({ y: fc.integer({ min: zeroParts ? 0 : 1, max: 9999 }), m: fc.integer({ min: zeroParts ? 0 : 1, max: 12 }), d: fc.integer({ min: zeroParts ? 0 : 1, max: 31 }) })
    .map(({ y, m, d }) => `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`);
}

function arbClock(): fc.Arbitrary<string> {
  return fc.record({ h: fc.integer({ min: 0, max: 23 }), mi: fc.integer({ min: 0, max: 59 }), s: fc.integer({ min: 0, max: 59 }) }).map(({ h, mi, s }) => `${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}`);
}

function arbTime(fsp: number): fc.Arbitrary<string> {
  return fc
    .record({ neg: fc.boolean(), h: fc.integer({ min: 0, max: 838 }), mi: fc.integer({ min: 0, max: 59 }), s: fc.integer({ min: 0, max: 59 }), f: fractionText(fsp) })
    .map(({ neg, h, mi, s, f }) => {
      const text = `${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}${f}`;
      return neg && /[1-9]/.test(text) ? `-${text}` : text;
    });
}

/** A TIMESTAMP as the decoder prints it (UTC), or the zero timestamp. */
function arbTimestamp(fsp: number): fc.Arbitrary<string> {
  const zero = `0000-00-00 00:00:00${fsp > 0 ? '.' + '0'.repeat(fsp) : ''}`;
  const real = fc.record({ s: fc.integer({ min: 1, max: 2 ** 31 - 1 }), f: fractionText(fsp) }).map(({ s, f }) => new Date(s * 1000).toISOString().slice(0, 19).replace('T', ' ') + f);
  return fc.oneof({ weight: 1, arbitrary: fc.constant(zero) }, { weight: 8, arbitrary: real });
}

/** Characters a collation can hold; for binary and undecodable charsets (and unknown ones) the value is bytes. */
function arbText(collation: number | null, maxBytes: number): fc.Arbitrary<string | Buffer> {
  const alphabet = collation === null ? 'bytes' : (ALPHABETS[collation] ?? 'bytes');
  const maxChars = Math.min(12, Math.floor(maxBytes / 4));
  if (alphabet === 'bytes') return fc.uint8Array({ maxLength: Math.min(maxBytes, 40) }).map((a) => Buffer.from(a));
  if (alphabet === 'unicode') return fc.string({ unit: 'grapheme', maxLength: maxChars }).filter((s) => Buffer.byteLength(s) <= maxBytes && [...s].length * 4 <= maxBytes);
  if (alphabet === 'bmp') {
    const bmp = fc.oneof(fc.integer({ min: 0x20, max: 0xd7ff }), fc.integer({ min: 0xe000, max: 0xfffd })).map((c) => String.fromCharCode(c));
    return fc.string({ unit: bmp, maxLength: maxChars });
  }
  return fc.string({ unit: fc.constantFrom(...alphabet), maxLength: maxChars });
}

function arbSetValue(col: ColumnDef): fc.Arbitrary<ColumnValue> {
  const labels = col.setLabels;
  if (labels === null) return fc.bigInt(0n, 2n ** BigInt(8 * col.meta) - 1n).map(exactInteger);
  return fc.subarray(labels.map((_, i) => i)).map((members) => members.map((i) => labels[i]!).join(','));
}

function arbEnumValue(col: ColumnDef): fc.Arbitrary<ColumnValue> {
  const labels = col.enumLabels;
  if (labels === null) return fc.integer({ min: 0, max: col.meta === 1 ? 255 : 65535 });
  return fc.integer({ min: 0, max: labels.length }).map((i) => (i === 0 ? '' : labels[i - 1]!));
}

/** A non-NULL value of the column in the decoder's representation (see the module comment). */
export function arbColumnValue(col: ColumnDef): fc.Arbitrary<ColumnValue> {
  switch (col.type) {
    case ColumnType.TINY:
      return arbIntValue(1, col.unsigned);
    case ColumnType.SHORT:
      return arbIntValue(2, col.unsigned);
    case ColumnType.INT24:
      return arbIntValue(3, col.unsigned);
    case ColumnType.LONG:
      return arbIntValue(4, col.unsigned);
    case ColumnType.LONGLONG:
      return arbIntValue(8, col.unsigned);
    case ColumnType.FLOAT:
      return fc.float({ noNaN: true, noDefaultInfinity: true });
    case ColumnType.DOUBLE:
      return fc.double({ noNaN: true, noDefaultInfinity: true });
    case ColumnType.NEWDECIMAL:
      return arbDecimalText(col.meta >> 8, col.meta & 0xff);
    case ColumnType.YEAR:
      return fc.oneof(fc.constant(0), fc.integer({ min: 1901, max: 2155 }));
    case ColumnType.DATE:
    case ColumnType.NEWDATE:
      return arbDate(true);
    case ColumnType.TIME:
      return arbTime(0);
    case ColumnType.TIME2:
      return arbTime(col.meta);
    case ColumnType.DATETIME:
      return fc.tuple(arbDate(true), arbClock()).map(([d, t]) => `${d} ${t}`);
    case ColumnType.DATETIME2:
      return fc.tuple(arbDate(true), arbClock(), fractionText(col.meta)).map(([d, t, f]) => `${d} ${t}${f}`);
    case ColumnType.TIMESTAMP:
      return arbTimestamp(0);
    case ColumnType.TIMESTAMP2:
      return arbTimestamp(col.meta);
    case ColumnType.VARCHAR:
    case ColumnType.VAR_STRING:
    case ColumnType.STRING:
      return arbText(col.collation, col.meta);
    case ColumnType.TINY_BLOB:
    case ColumnType.MEDIUM_BLOB:
    case ColumnType.LONG_BLOB:
    case ColumnType.BLOB:
      return arbText(col.collation, col.meta === 1 ? 255 : 400);
    case ColumnType.ENUM:
      return arbEnumValue(col);
    case ColumnType.SET:
      return arbSetValue(col);
    case ColumnType.BIT:
      return fc.bigInt(0n, 2n ** BigInt(col.meta) - 1n).map(exactInteger);
    case ColumnType.GEOMETRY:
      return fc.uint8Array({ maxLength: col.meta === 1 ? 255 : 60 }).map((a) => Buffer.from(a));
    case ColumnType.VECTOR:
      return fc.array(fc.float({ noNaN: true }), { maxLength: 8 }).map((xs) => {
        const b = Buffer.alloc(xs.length * 4);
        xs.forEach((x, i) => b.writeFloatLE(x, i * 4));
        return b;
      });
    case ColumnType.NULL:
      return fc.constant(null);
    default:
      throw new Error(`no value arbitrary for column type ${col.type}`);
  }
}

/** A non-NULL cell of the column: its decoded value and its bytes (JSON in any binary form). */
export function arbEncodedValue(col: ColumnDef): fc.Arbitrary<EncodedValue> {
  if (col.type === ColumnType.JSON) {
    return arbJsonDocument().map((doc) => ({ value: new JsonValue(doc.node), bytes: encodeColumnValue(doc.bytes, col) }));
  }
  // A NULL-typed column has no bytes and always reads as NULL.
  if (col.type === ColumnType.NULL) return fc.constant({ value: null, bytes: Buffer.alloc(0) });
  if (col.type === ColumnType.STRING && col.collation === TEXT_COLLATIONS.binary) {
    // BINARY(n) is logged without its trailing 0x00 pad and reads back padded to n bytes.
    return arbColumnValue(col).map((value) => {
      const bytes = encodeColumnValue(value, col);
      const padded = Buffer.alloc(col.meta);
      (value as Buffer).copy(padded);
      return { value: padded, bytes };
    });
  }
  if ((col.type === ColumnType.VARCHAR || col.type === ColumnType.VAR_STRING) && col.collation === TEXT_COLLATIONS.binary) {
    // VARBINARY keeps its trailing 0x00 bytes (Field_varstring::pack: length, then the bytes as
    // stored). Built here: value-encoder.ts also strips them for VARCHAR, which only BINARY(n) does.
    return arbColumnValue(col).map((value) => {
      const data = value as Buffer;
      const length = Buffer.alloc(col.meta > 255 ? 2 : 1);
      length.writeUIntLE(data.length, 0, length.length);
      return { value, bytes: Buffer.concat([length, data]) };
    });
  }
  return arbColumnValue(col).map((value) => ({ value, bytes: encodeColumnValue(value, col) }));
}

// ---------------------------------------------------------------------------------------------
// Binary JSON

/** A JSON value to encode (marker classes force binary forms) and the node the decoder must return. */
export interface JsonSample {
  readonly encodable: EncodableNode;
  readonly node: JsonNode;
}

/** A whole document: the sample, the encoder options, and the bytes. */
export interface JsonDocument extends JsonSample {
  readonly options: JsonEncodeOptions;
  readonly bytes: Buffer;
}

const INT_RANGES: ReadonlyArray<readonly [JsonbIntType, bigint, bigint]> = [
  ['int16', -(2n ** 15n), 2n ** 15n - 1n],
  ['uint16', 0n, 2n ** 16n - 1n],
  ['int32', -(2n ** 31n), 2n ** 31n - 1n],
  ['uint32', 0n, 2n ** 32n - 1n],
  ['int64', -(2n ** 63n), 2n ** 63n - 1n],
  ['uint64', 0n, 2n ** 64n - 1n],
];

function arbJsonInt(): fc.Arbitrary<JsonSample> {
  const value = fc.oneof(
    fc.bigInt(-(2n ** 15n), 2n ** 16n - 1n),
    fc.bigInt(-(2n ** 31n), 2n ** 32n - 1n),
    fc.bigInt(-(2n ** 63n), 2n ** 64n - 1n),
    fc.constantFrom(TWO_53 - 1n, TWO_53, -TWO_53 + 1n, -TWO_53, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n, -(2n ** 63n)),
  );
  return value.chain((v) => {
    const fits = INT_RANGES.filter(([, lo, hi]) => v >= lo && v <= hi).map(([t]) => t);
    const node = exactInteger(v);
    const plain: EncodableNode = typeof node === 'number' ? node : v;
    return fc.oneof(fc.constant<JsonSample>({ encodable: plain, node }), fc.constantFrom(...fits).map((t): JsonSample => ({ encodable: new JsonbInt(v, t), node })));
  });
}

function arbJsonDouble(): fc.Arbitrary<JsonSample> {
  return fc.oneof(
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((d): JsonSample => ({ encodable: new JsonbDouble(d), node: d })),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d) || !Number.isSafeInteger(d)).map((d): JsonSample => ({ encodable: d, node: d })),
  );
}

function arbJsonDecimal(): fc.Arbitrary<JsonSample> {
  return fc
    .record({ precision: fc.integer({ min: 1, max: 40 }), scaleSeed: fc.nat(), extra: fc.integer({ min: 0, max: 5 }), explicit: fc.boolean() })
    .chain(({ precision, scaleSeed, extra, explicit }) => {
      const scale = scaleSeed % (Math.min(precision, 20) + 1);
      return arbDecimalText(precision, scale).map((text): JsonSample => {
        // The default form takes its precision from the digits; the explicit one is wider.
        const encodable = explicit ? new JsonbDecimal(text, Math.min(65, precision + extra), scale) : new JsonDecimal(text);
        return { encodable, node: new JsonDecimal(text) };
      });
    });
}

function arbJsonTemporal(): fc.Arbitrary<JsonSample> {
  const micro = fc.integer({ min: 0, max: 999999 });
  const date = fc.record({ year: fc.integer({ min: 0, max: 9999 }), month: fc.integer({ min: 0, max: 12 }), day: fc.integer({ min: 0, max: 31 }) });
  const clock = fc.record({ hour: fc.integer({ min: 0, max: 23 }), minute: fc.integer({ min: 0, max: 59 }), second: fc.integer({ min: 0, max: 59 }), micro });
  const dateText = (d: { year: number; month: number; day: number }): string => `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}`;
  const clockText = (c: { hour: number; minute: number; second: number; micro: number }): string => `${pad(c.hour, 2)}:${pad(c.minute, 2)}:${pad(c.second, 2)}.${pad(c.micro, 6)}`;
  return fc.oneof(
    date.map((d): JsonSample => ({ encodable: new JsonbTemporal(10, d), node: dateText(d) })),
    fc.tuple(fc.constantFrom(7 as const, 12 as const), date, clock).map(([t, d, c]): JsonSample => ({ encodable: new JsonbTemporal(t, { ...d, ...c }), node: `${dateText(d)} ${clockText(c)}` })),
    fc.tuple(fc.boolean(), clock, fc.integer({ min: 0, max: 838 })).map(([neg, c, hour]): JsonSample => {
      const t = { ...c, hour };
      const negative = neg && (hour | c.minute | c.second | c.micro) !== 0;
      return { encodable: new JsonbTemporal(11, { ...t, negative }), node: `${negative ? '-' : ''}${clockText(t)}` };
    }),
  );
}

/** MySQL's base64_encode wraps every 76 output characters (mysys/base64.cc). */
function mysqlBase64(data: Buffer): string {
  const text = data.toString('base64');
  return text.match(/.{1,76}/gs)?.join('\n') ?? '';
}

function arbJsonOpaque(): fc.Arbitrary<JsonSample> {
  return fc.oneof(
    fc.string({ unit: 'grapheme', maxLength: 10 }).map((s): JsonSample => ({ encodable: new JsonbOpaque(ColumnType.VAR_STRING, Buffer.from(s)), node: s })),
    fc
      .tuple(fc.constantFrom(ColumnType.BLOB, ColumnType.STRING, ColumnType.VARCHAR, ColumnType.GEOMETRY, ColumnType.BIT), fc.uint8Array({ maxLength: 80 }))
      .map(([t, a]): JsonSample => ({ encodable: new JsonbOpaque(t, Buffer.from(a)), node: `base64:type${t}:${mysqlBase64(Buffer.from(a))}` })),
  );
}

/** JSON object keys, with characters a path must quote or escape. */
export const JSON_KEY = fc.string({ unit: fc.constantFrom(...'abcxyz_$09 ."\\[]*é中'), maxLength: 6 });

function arbJsonScalar(): fc.Arbitrary<JsonSample> {
  return fc.oneof(
    fc.constantFrom<JsonSample>({ encodable: null, node: null }, { encodable: true, node: true }, { encodable: false, node: false }),
    arbJsonInt(),
    arbJsonDouble(),
    fc.oneof(fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ unit: 'grapheme-ascii', minLength: 120, maxLength: 300 })).map((s): JsonSample => ({ encodable: s, node: s })),
    arbJsonDecimal(),
    arbJsonTemporal(),
    arbJsonOpaque(),
  );
}

const jsonTree = fc.letrec<{ value: JsonSample; array: JsonSample; object: JsonSample }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, arbJsonScalar(), tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 5 }).map((xs): JsonSample => ({ encodable: xs.map((x) => x.encodable), node: xs.map((x) => x.node) })),
  object: fc.uniqueArray(fc.tuple(JSON_KEY, tie('value')), { selector: ([k]) => k, maxLength: 5 }).map((entries): JsonSample => {
    const encodable: { [key: string]: EncodableNode } = {};
    const node: { [key: string]: JsonNode } = {};
    for (const [k, v] of entries) {
      encodable[k] = v.encodable;
      node[k] = v.node;
    }
    return { encodable, node };
  }),
}));

/** Any JSON value (scalars in every binary form, nested arrays and objects). */
export function arbJsonSample(): fc.Arbitrary<JsonSample> {
  return jsonTree.value;
}

/** An object or array at the root: what a partial update can diff. */
export function arbJsonContainer(): fc.Arbitrary<JsonSample> {
  return fc.oneof(jsonTree.object, jsonTree.array);
}

const arbEncodeOptions: fc.Arbitrary<JsonEncodeOptions> = fc.record(
  { large: fc.boolean(), minIntWidth: fc.constantFrom(16 as const, 32 as const, 64 as const), sortKeys: fc.boolean(), gap: fc.integer({ min: 0, max: 3 }) },
  { requiredKeys: [] },
);

/** A document in the small or large container format, optionally wrapped to force the top format, with holes or not. */
export function arbJsonDocument(sample: fc.Arbitrary<JsonSample> = arbJsonSample()): fc.Arbitrary<JsonDocument> {
  return fc.tuple(sample, arbEncodeOptions, fc.constantFrom<'small' | 'large' | null>(null, 'small', 'large')).map(([s, options, top]) => {
    const isContainer = Array.isArray(s.node) || (typeof s.node === 'object' && s.node !== null && !(s.node instanceof JsonDecimal));
    const encodable = top !== null && isContainer && !(top === 'small' && options.large === true) ? new JsonbFormat(s.encodable, top) : s.encodable;
    let bytes: Buffer;
    try {
      bytes = encodeJsonBinary(encodable, options);
    } catch {
      // A forced small container too big for 16-bit offsets: let the encoder choose.
      bytes = encodeJsonBinary(s.encodable, options);
    }
    return { encodable, node: s.node, options, bytes };
  });
}

// ---------------------------------------------------------------------------------------------
// Partial JSON diffs

/** One step of generated diff: which operation, which target, which value. */
export interface DiffSeed {
  readonly op: number;
  readonly target: number;
  readonly key: string;
  readonly lastForm: boolean;
  readonly value: JsonSample;
}

export const arbDiffSeed: fc.Arbitrary<DiffSeed> = fc.record({ op: fc.nat(2), target: fc.nat(), key: JSON_KEY, lastForm: fc.boolean(), value: arbJsonSample() });

type Leg = { readonly kind: 'member'; readonly name: string } | { readonly kind: 'cell'; readonly index: number; readonly fromEnd: boolean };

/** The path text the server writes (Json_path::to_string): `.name` or `."quoted"`, `[n]`, `[last]`, `[last-n]`. */
export function jsonPathText(legs: readonly Leg[]): string {
  let out = '$';
  for (const leg of legs) {
    if (leg.kind === 'member') out += /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(leg.name) ? `.${leg.name}` : `.${JSON.stringify(leg.name)}`;
    else if (!leg.fromEnd) out += `[${leg.index}]`;
    else out += leg.index === 0 ? '[last]' : `[last-${leg.index}]`;
  }
  return out;
}

type Container = JsonNode[] | { [key: string]: JsonNode };

function isContainerNode(n: JsonNode): n is Container {
  return typeof n === 'object' && n !== null && !(n instanceof JsonDecimal);
}

function cloneJson(n: JsonNode): JsonNode {
  if (Array.isArray(n)) return n.map(cloneJson);
  if (isContainerNode(n)) {
    const out: { [key: string]: JsonNode } = {};
    for (const k of Object.keys(n)) out[k] = cloneJson((n as { [key: string]: JsonNode })[k]!);
    return out;
  }
  return n;
}

interface Located {
  readonly node: JsonNode;
  readonly parent: Container | null;
  /** Path of the node (legs from the root), with a positional index for array cells. */
  readonly legs: readonly Leg[];
  readonly key: string | number | null;
}

function walk(root: JsonNode): Located[] {
  const out: Located[] = [];
  const visit = (node: JsonNode, parent: Container | null, legs: Leg[], key: string | number | null): void => {
    out.push({ node, parent, legs, key });
    if (Array.isArray(node)) node.forEach((c, i) => visit(c, node, [...legs, { kind: 'cell', index: i, fromEnd: false }], i));
    else if (isContainerNode(node)) for (const k of Object.keys(node)) visit(node[k]!, node, [...legs, { kind: 'member', name: k }], k);
  };
  visit(root, null, [], null);
  return out;
}

/** An array cell written as `[i]` or, with `lastForm`, `[last-k]` for the same position. */
function cellLeg(index: number, length: number, lastForm: boolean): Leg {
  return lastForm && index < length ? { kind: 'cell', index: length - 1 - index, fromEnd: true } : { kind: 'cell', index, fromEnd: false };
}

/**
 * Applies diff seeds to a container document as the server would generate them (REPLACE and REMOVE
 * of an existing node, INSERT of a new member or array cell) and returns the diffs and the result.
 * A plain reference model, independent of the decoder's apply_json_diffs.
 */
export function buildJsonDiffs(before: JsonNode, seeds: readonly DiffSeed[]): { diffs: EncodableDiff[]; after: JsonNode } {
  const doc = cloneJson(before);
  const diffs: EncodableDiff[] = [];
  for (const seed of seeds) {
    const all = walk(doc);
    const nonRoot = all.filter((l) => l.parent !== null);
    const containers = all.filter((l) => isContainerNode(l.node));
    let op = seed.op;
    if (op !== 1 && nonRoot.length === 0) op = 1;
    if (op === 1) {
      const at = containers[seed.target % containers.length]!;
      const c = at.node as Container;
      const value = cloneJson(seed.value.node);
      if (Array.isArray(c)) {
        const index = seed.target % (c.length + 1);
        const leg = cellLeg(index, c.length, seed.lastForm);
        c.splice(index, 0, value);
        diffs.push({ operation: 1, path: jsonPathText([...at.legs, leg]), value: seed.value.encodable });
      } else {
        let name = seed.key;
        while (Object.hasOwn(c, name)) name += '_';
        c[name] = value;
        diffs.push({ operation: 1, path: jsonPathText([...at.legs, { kind: 'member', name }]), value: seed.value.encodable });
      }
      continue;
    }
    const at = nonRoot[seed.target % nonRoot.length]!;
    const parent = at.parent!;
    const last = at.legs[at.legs.length - 1]!;
    const leg = Array.isArray(parent) && last.kind === 'cell' ? cellLeg(last.index, parent.length, seed.lastForm) : last;
    const path = jsonPathText([...at.legs.slice(0, -1), leg]);
    if (op === 0) {
      if (Array.isArray(parent)) parent[at.key as number] = cloneJson(seed.value.node);
      else parent[at.key as string] = cloneJson(seed.value.node);
      diffs.push({ operation: 0, path, value: seed.value.encodable });
    } else {
      if (Array.isArray(parent)) parent.splice(at.key as number, 1);
      else delete parent[at.key as string];
      diffs.push({ operation: 2, path });
    }
  }
  return { diffs, after: doc };
}
