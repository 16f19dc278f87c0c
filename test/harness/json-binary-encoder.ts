/**
 * Test-only ENCODER of MySQL binary JSON and of partial-update diff vectors, written from the
 * server's format description (sql-common/json_binary.h, sql/json_diff.cc) and deliberately
 * independent of src/binlog/values/json-binary.ts, so the two cannot share a mistake.
 *
 * Plain JsonNode values encode the way the server would (smallest integer width, small
 * containers unless an offset overflows 16 bits). Marker classes force a particular form:
 * an integer type, a double for an integral number, a DECIMAL's precision and scale, a
 * temporal or any other opaque value, or a container format for one node.
 */
import { JsonDecimal, type JsonNode } from '../../src/binlog/values/json-value.js';

const T = {
  SMALL_OBJECT: 0x00,
  LARGE_OBJECT: 0x01,
  SMALL_ARRAY: 0x02,
  LARGE_ARRAY: 0x03,
  LITERAL: 0x04,
  INT16: 0x05,
  UINT16: 0x06,
  INT32: 0x07,
  UINT32: 0x08,
  INT64: 0x09,
  UINT64: 0x0a,
  DOUBLE: 0x0b,
  STRING: 0x0c,
  OPAQUE: 0x0f,
} as const;

export type JsonbIntType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64';

/** An integer stored with exactly this binary type. */
export class JsonbInt {
  constructor(
    readonly value: number | bigint,
    readonly type: JsonbIntType,
  ) {}
}

/** A number stored as a double even when it is integral. */
export class JsonbDouble {
  constructor(readonly value: number) {}
}

/** A DECIMAL with explicit precision and scale (default: the digits of `text`). */
export class JsonbDecimal {
  constructor(
    readonly text: string,
    readonly precision?: number,
    readonly scale?: number,
  ) {}
}

/** Any opaque value: a MySQL field type byte and raw bytes. */
export class JsonbOpaque {
  constructor(
    readonly fieldType: number,
    readonly data: Buffer,
  ) {}
}

export interface TemporalParts {
  readonly year?: number;
  readonly month?: number;
  readonly day?: number;
  readonly hour?: number;
  readonly minute?: number;
  readonly second?: number;
  readonly micro?: number;
  readonly negative?: boolean;
}

/** A DATE (10), TIME (11), DATETIME (12) or TIMESTAMP (7) opaque value. */
export class JsonbTemporal {
  constructor(
    readonly fieldType: 7 | 10 | 11 | 12,
    readonly parts: TemporalParts,
  ) {}
}

/** An object or array stored in the given container format regardless of the options. */
export class JsonbFormat {
  constructor(
    readonly node: EncodableNode,
    readonly format: 'small' | 'large',
  ) {}
}

export type EncodableNode =
  | JsonNode
  | JsonbInt
  | JsonbDouble
  | JsonbDecimal
  | JsonbOpaque
  | JsonbTemporal
  | JsonbFormat
  | EncodableNode[]
  | { [key: string]: EncodableNode };

export interface JsonEncodeOptions {
  /** Every object and array in the large format (default: small unless too big, as the server does). */
  readonly large?: boolean;
  /** Smallest width for automatically typed integers (the server: 16). */
  readonly minIntWidth?: 16 | 32 | 64;
  /** Store object keys sorted as the server does (length, then bytes); default keeps the given order. */
  readonly sortKeys?: boolean;
  /** Free bytes left before every out-of-line value, like an in-place update leaves behind. */
  readonly gap?: number;
}

interface Encoded {
  readonly type: number;
  readonly bytes: Buffer;
}

class TooBig extends Error {}

/** Encodes a document: one type byte, then the value. */
export function encodeJsonBinary(node: EncodableNode, opts: JsonEncodeOptions = {}): Buffer {
  const e = encodeTop(node, opts);
  return Buffer.concat([Buffer.from([e.type]), e.bytes]);
}

function encodeTop(node: EncodableNode, opts: JsonEncodeOptions): Encoded {
  try {
    return encodeValue(node, opts, opts.large === true);
  } catch (err) {
    if (err instanceof TooBig && opts.large !== true) return encodeValue(node, opts, true);
    throw err;
  }
}

/** `large` is the format a container here should try first; a small parent forbids large children. */
function encodeValue(node: EncodableNode, opts: JsonEncodeOptions, large: boolean, smallParent = false): Encoded {
  if (node instanceof JsonbFormat) {
    if (node.format === 'large' && smallParent) throw new Error('a large container cannot sit in a small one');
    return encodeContainer(node.node, opts, node.format === 'large');
  }
  if (Array.isArray(node) || isPlainObject(node)) {
    if (large) return encodeContainer(node, opts, true);
    try {
      return encodeContainer(node, opts, false);
    } catch (err) {
      if (!(err instanceof TooBig) || smallParent) throw err;
      return encodeContainer(node, opts, true);
    }
  }
  return encodeScalar(node, opts);
}

function isPlainObject(node: EncodableNode): node is { [key: string]: EncodableNode } {
  return (
    typeof node === 'object' &&
    node !== null &&
    !Array.isArray(node) &&
    !(node instanceof JsonDecimal) &&
    !(node instanceof JsonbInt) &&
    !(node instanceof JsonbDouble) &&
    !(node instanceof JsonbDecimal) &&
    !(node instanceof JsonbOpaque) &&
    !(node instanceof JsonbTemporal) &&
    !(node instanceof JsonbFormat)
  );
}

function encodeContainer(node: EncodableNode, opts: JsonEncodeOptions, large: boolean): Encoded {
  const isArray = Array.isArray(node);
  if (!isArray && !isPlainObject(node)) throw new Error('JsonbFormat wraps an object or array');
  let keys: string[] = isArray ? [] : Object.keys(node);
  if (!isArray && opts.sortKeys === true) keys = [...keys].sort(serverKeyOrder);
  const values: EncodableNode[] = isArray ? node : keys.map((k) => (node as { [key: string]: EncodableNode })[k]!);
  const count = values.length;
  const os = large ? 4 : 2;
  const keyEntrySize = isArray ? 0 : os + 2;
  const valueEntrySize = 1 + os;
  const header = Buffer.alloc(2 * os + count * (keyEntrySize + valueEntrySize));
  const keyBytes = keys.map((k) => Buffer.from(k, 'utf8'));
  const parts: Buffer[] = [header];
  let offset = header.length;
  for (let i = 0; i < keyBytes.length; i++) {
    const kb = keyBytes[i]!;
    if (kb.length > 0xffff) throw new Error('key longer than 65535 bytes');
    writeOffset(header, 2 * os + i * keyEntrySize, offset, large);
    header.writeUInt16LE(kb.length, 2 * os + i * keyEntrySize + os);
    parts.push(kb);
    offset += kb.length;
  }
  const entries = 2 * os + count * keyEntrySize;
  for (let i = 0; i < count; i++) {
    const entry = entries + i * valueEntrySize;
    const child = encodeValue(values[i]!, opts, opts.large === true && large, !large);
    const inline = inlineBytes(child, large);
    header[entry] = child.type;
    if (inline !== null) {
      inline.copy(header, entry + 1);
      continue;
    }
    const gap = opts.gap ?? 0;
    if (gap > 0) {
      parts.push(Buffer.alloc(gap, 0xee));
      offset += gap;
    }
    writeOffset(header, entry + 1, offset, large);
    parts.push(child.bytes);
    offset += child.bytes.length;
  }
  writeOffset(header, 0, count, large);
  writeOffset(header, os, offset, large);
  const type = isArray ? (large ? T.LARGE_ARRAY : T.SMALL_ARRAY) : large ? T.LARGE_OBJECT : T.SMALL_OBJECT;
  return { type, bytes: Buffer.concat(parts) };
}

function writeOffset(buf: Buffer, at: number, value: number, large: boolean): void {
  if (large) buf.writeUInt32LE(value, at);
  else if (value > 0xffff) throw new TooBig();
  else buf.writeUInt16LE(value, at);
}

/** The slot bytes of a value the format inlines (literals, 16-bit ints; 32-bit ints when large), else null. */
function inlineBytes(e: Encoded, large: boolean): Buffer | null {
  const slot = Buffer.alloc(large ? 4 : 2);
  switch (e.type) {
    case T.LITERAL:
      slot[0] = e.bytes[0]!;
      return slot;
    case T.INT16:
      if (large) slot.writeInt32LE(e.bytes.readInt16LE(0));
      else e.bytes.copy(slot);
      return slot;
    case T.UINT16:
      e.bytes.copy(slot);
      return slot;
    case T.INT32:
    case T.UINT32:
      if (!large) return null;
      e.bytes.copy(slot);
      return slot;
    default:
      return null;
  }
}

function serverKeyOrder(a: string, b: string): number {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length - bb.length || Buffer.compare(ab, bb);
}

function encodeScalar(node: EncodableNode, opts: JsonEncodeOptions): Encoded {
  if (node === null) return { type: T.LITERAL, bytes: Buffer.from([0x00]) };
  if (node === true) return { type: T.LITERAL, bytes: Buffer.from([0x01]) };
  if (node === false) return { type: T.LITERAL, bytes: Buffer.from([0x02]) };
  if (typeof node === 'string') {
    const b = Buffer.from(node, 'utf8');
    return { type: T.STRING, bytes: Buffer.concat([varLength(b.length), b]) };
  }
  if (typeof node === 'number') {
    if (!Number.isFinite(node)) throw new Error(`JSON has no ${node}`);
    // Integral numbers beyond 2^53 came from doubles; stored as ints they would decode as bigint.
    if (Number.isSafeInteger(node) && !Object.is(node, -0)) return encodeAutoInt(BigInt(node), opts);
    return encodeDouble(node);
  }
  if (typeof node === 'bigint') return encodeAutoInt(node, opts);
  if (node instanceof JsonbDouble) return encodeDouble(node.value);
  if (node instanceof JsonbInt) return encodeInt(BigInt(node.value), node.type);
  if (node instanceof JsonDecimal) return opaque(246, decimalBytes(node.text));
  if (node instanceof JsonbDecimal) return opaque(246, decimalBytes(node.text, node.precision, node.scale));
  if (node instanceof JsonbOpaque) return opaque(node.fieldType, node.data);
  if (node instanceof JsonbTemporal) return opaque(node.fieldType, temporalBytes(node.fieldType, node.parts));
  throw new Error('not a scalar');
}

function encodeDouble(v: number): Encoded {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return { type: T.DOUBLE, bytes: b };
}

const RANGES: Record<JsonbIntType, readonly [bigint, bigint, number, number]> = {
  int16: [-(2n ** 15n), 2n ** 15n - 1n, 2, T.INT16],
  uint16: [0n, 2n ** 16n - 1n, 2, T.UINT16],
  int32: [-(2n ** 31n), 2n ** 31n - 1n, 4, T.INT32],
  uint32: [0n, 2n ** 32n - 1n, 4, T.UINT32],
  int64: [-(2n ** 63n), 2n ** 63n - 1n, 8, T.INT64],
  uint64: [0n, 2n ** 64n - 1n, 8, T.UINT64],
};

function encodeAutoInt(v: bigint, opts: JsonEncodeOptions): Encoded {
  const min = opts.minIntWidth ?? 16;
  const fits = (t: JsonbIntType): boolean => v >= RANGES[t][0] && v <= RANGES[t][1];
  // The server keeps signed types for anything a signed 64-bit holds; uint64 only beyond it.
  if (min <= 16 && fits('int16')) return encodeInt(v, 'int16');
  if (min <= 32 && fits('int32')) return encodeInt(v, 'int32');
  if (fits('int64')) return encodeInt(v, 'int64');
  return encodeInt(v, 'uint64');
}

function encodeInt(v: bigint, type: JsonbIntType): Encoded {
  const [lo, hi, width, code] = RANGES[type];
  if (v < lo || v > hi) throw new Error(`${v} does not fit ${type}`);
  const b = Buffer.alloc(width);
  let u = v < 0n ? v + 2n ** BigInt(width * 8) : v;
  for (let i = 0; i < width; i++) {
    b[i] = Number(u & 0xffn);
    u >>= 8n;
  }
  return { type: code, bytes: b };
}

function opaque(fieldType: number, data: Buffer): Encoded {
  return { type: T.OPAQUE, bytes: Buffer.concat([Buffer.from([fieldType]), varLength(data.length), data]) };
}

/** The var-length of json_binary.cc: 7 bits a byte, low bits first, high bit = more follows. */
export function varLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}

/** Precision, scale, then decimal2bin (strings/decimal.cc) of a decimal text. */
function decimalBytes(text: string, precision?: number, scale?: number): Buffer {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text);
  if (m === null) throw new Error(`not a decimal: ${text}`);
  const negative = m[1] === '-';
  const intDigits = m[2]!.replace(/^0+(?=\d)/, '');
  let frac = m[3] ?? '';
  const s = scale ?? frac.length;
  const p = precision ?? Math.max(intDigits === '0' ? 1 : intDigits.length, 1) + s;
  if (frac.length > s) throw new Error(`${text} has more than ${s} decimals`);
  frac = frac.padEnd(s, '0');
  const intg = p - s;
  if (intg < 0 || (intDigits.length > intg && intDigits !== '0')) throw new Error(`${text} does not fit DECIMAL(${p},${s})`);
  const intPadded = intg === 0 ? '' : intDigits.padStart(intg, '0');
  const groups: Array<[number, number]> = []; // [value, bytes]
  const sizes = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
  const lead = intg % 9;
  if (lead > 0) groups.push([Number(intPadded.slice(0, lead)), sizes[lead]!]);
  for (let i = lead; i < intg; i += 9) groups.push([Number(intPadded.slice(i, i + 9)), 4]);
  const fullFrac = Math.floor(s / 9) * 9;
  for (let i = 0; i < fullFrac; i += 9) groups.push([Number(frac.slice(i, i + 9)), 4]);
  if (s % 9 > 0) groups.push([Number(frac.slice(fullFrac)), sizes[s % 9]!]);
  const bytes: number[] = [];
  for (const [value, width] of groups) {
    for (let k = width - 1; k >= 0; k--) {
      const byte = Math.floor(value / 256 ** k) % 256;
      bytes.push(negative ? byte ^ 0xff : byte);
    }
  }
  if (bytes.length > 0) bytes[0]! ^= 0x80;
  return Buffer.from([p, s, ...bytes]);
}

/** The packed longlong of my_time.cc (TIME_to_longlong_*_packed), little-endian. */
function temporalBytes(fieldType: number, t: TemporalParts): Buffer {
  const hms = BigInt((t.hour ?? 0) * 4096 + (t.minute ?? 0) * 64 + (t.second ?? 0));
  const micro = BigInt(t.micro ?? 0);
  let packed: bigint;
  if (fieldType === 11) {
    packed = (hms << 24n) + micro;
  } else {
    const ymd = BigInt((((t.year ?? 0) * 13 + (t.month ?? 0)) << 5) | (t.day ?? 0));
    packed = fieldType === 10 ? (ymd << 17n) << 24n : (((ymd << 17n) | hms) << 24n) + micro;
  }
  if (t.negative === true) packed = -packed;
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(packed);
  return b;
}

// ---------------------------------------------------------------------------------------------

export interface EncodableDiff {
  readonly operation: 0 | 1 | 2;
  readonly path: string;
  /** A node to encode, or already encoded binary JSON (a Buffer, used as is). */
  readonly value?: EncodableNode | Buffer;
}

/** Json_diff_vector::write_binary: u32 length of what follows, then each diff. */
export function encodeJsonDiffs(diffs: readonly EncodableDiff[], opts: JsonEncodeOptions = {}): Buffer {
  const parts: Buffer[] = [];
  for (const d of diffs) {
    const path = Buffer.from(d.path, 'utf8');
    parts.push(Buffer.from([d.operation]), netLength(path.length), path);
    if (d.operation !== 2) {
      const value = Buffer.isBuffer(d.value) ? d.value : encodeJsonBinary(d.value ?? null, opts);
      parts.push(netLength(value.length), value);
    }
  }
  const body = Buffer.concat(parts);
  const length = Buffer.alloc(4);
  length.writeUInt32LE(body.length);
  return Buffer.concat([length, body]);
}

/** net_store_length: < 251 in one byte, else 0xfc + u16, 0xfd + u24, 0xfe + u64. */
export function netLength(n: number): Buffer {
  if (n < 251) return Buffer.from([n]);
  if (n < 0x10000) return Buffer.from([0xfc, n & 0xff, n >> 8]);
  if (n < 0x1000000) return Buffer.from([0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16]);
  const b = Buffer.alloc(9);
  b[0] = 0xfe;
  b.writeBigUInt64LE(BigInt(n), 1);
  return b;
}
