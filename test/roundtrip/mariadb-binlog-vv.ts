/**
 * `mariadb-binlog --base64-output=decode-rows -vv FILE` as data, and our decoded values printed
 * the way that tool prints them, so the two can be compared value for value. Printing conventions
 * (MariaDB client/mysqlbinlog.cc → sql/log_event_client.cc log_event_print_value):
 * integers signed, with the unsigned reading in parentheses when negative (`-1 (255)`); FLOAT
 * `%-20g`, DOUBLE `%-.20g`; DECIMAL as decimal2string; TIMESTAMP as epoch seconds (`.ffffff` for
 * fsp > 0); DATETIME and TIME quoted; DATE quoted as `'YYYY:MM:DD'`; YEAR as `%04d` of
 * byte + 1900 (so 0000 prints 1900); BIT `b'…'` of its width; ENUM as its index; SET as the bits
 * of its stored bytes; strings, blobs and geometry as their bytes quoted, bytes below 0x20 as
 * `\xHH` (quote and backslash are not escaped).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ColumnDef, ColumnValue } from '../../src/binlog/column.js';
import { ColumnType } from '../../src/binlog/column-types.js';
import { charsetOfCollation } from '../../src/binlog/values/charset.js';
import { mariadbBinlogPath } from '../harness/mariadb-server.js';

const run = promisify(execFile);

/** One printed cell: its value text and the type comment after it. */
export interface VvCell {
  readonly text: string;
  readonly typeName: string;
  readonly meta: number;
  readonly isNull: boolean;
}

/** One row change as printed: cells by 0-based column index (absent = not logged). */
export interface VvRowChange {
  readonly op: 'insert' | 'update' | 'delete';
  readonly schema: string;
  readonly table: string;
  readonly before: Map<number, VvCell> | null;
  readonly after: Map<number, VvCell> | null;
}

const HEADER = /^### (INSERT INTO|UPDATE|DELETE FROM) `((?:[^`]|``)*)`\.`((?:[^`]|``)*)`$/;
// Greedy value: the type comment is the last `/* … */` on the line.
const CELL = /^###   @(\d+)=(.*) \/\* ([^*]*) meta=(\d+) nullable=\d is_null=(\d) \*\/$/;

/** Parses the row changes out of `-vv` output read as latin1 (one char per byte). */
export function parseVerboseRows(output: string): VvRowChange[] {
  const out: VvRowChange[] = [];
  let current: { op: VvRowChange['op']; schema: string; table: string; before: Map<number, VvCell> | null; after: Map<number, VvCell> | null } | null = null;
  let image: Map<number, VvCell> | null = null;
  for (const line of output.split('\n')) {
    if (!line.startsWith('###')) continue;
    const h = HEADER.exec(line);
    if (h) {
      const op = h[1] === 'INSERT INTO' ? 'insert' : h[1] === 'UPDATE' ? 'update' : 'delete';
      current = { op, schema: h[2]!.replace(/``/g, '`'), table: h[3]!.replace(/``/g, '`'), before: null, after: null };
      out.push(current);
      image = null;
      continue;
    }
    if (current === null) continue;
    if (line === '### WHERE') {
      image = current.before = new Map();
      continue;
    }
    if (line === '### SET') {
      image = current.after = new Map();
      continue;
    }
    const c = CELL.exec(line);
    if (c && image) {
      image.set(Number(c[1]) - 1, { text: c[2]!.replace(/ +$/, ''), typeName: c[3]!, meta: Number(c[4]), isNull: c[5] === '1' });
      continue;
    }
    throw new Error(`unexpected -vv line: ${line.slice(0, 200)}`);
  }
  return out;
}

/** Runs mariadb-binlog -vv on one file; stdout as latin1 so every byte survives. */
export async function mariadbBinlogVerbose(file: string): Promise<string> {
  const { stdout } = await run(mariadbBinlogPath(), ['--base64-output=decode-rows', '-vv', file], { encoding: 'latin1', maxBuffer: 1 << 30, env: { ...process.env, TZ: 'UTC' } });
  return stdout;
}

// ---- printf %g ------------------------------------------------------------------------------

/** The exact decimal digits of a positive finite double and the power of ten of the first. */
function exactDigits(x: number): { digits: string; exp10: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const e = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (e === 0) e2 = -1074;
  else {
    mant |= 1n << 52n;
    e2 = e - 1075;
  }
  let digits: string;
  let intLen: number;
  if (e2 >= 0) {
    digits = (mant << BigInt(e2)).toString();
    intLen = digits.length;
  } else {
    // mant / 2^k = mant × 5^k / 10^k
    const k = -e2;
    digits = (mant * 5n ** BigInt(k)).toString();
    intLen = digits.length - k;
  }
  return { digits: digits.replace(/0+$/, ''), exp10: intLen - 1 };
}

/** C's `%.<p>g` (glibc: exact value, ties to even), as printf prints a double. */
export function formatG(x: number, p: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  let { digits, exp10 } = exactDigits(Math.abs(x));
  if (digits.length > p) {
    const rest = digits.slice(p);
    let keep = digits.slice(0, p);
    const up = rest[0]! > '5' || (rest[0] === '5' && (rest.length > 1 || Number(keep[keep.length - 1]) % 2 === 1));
    if (up) {
      const bumped = (BigInt(keep) + 1n).toString();
      if (bumped.length > keep.length) exp10++;
      keep = bumped.slice(0, p);
    }
    digits = keep.replace(/0+$/, '') || '0';
  }
  if (exp10 < -4 || exp10 >= p) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mantissa}e${exp10 < 0 ? '-' : '+'}${String(Math.abs(exp10)).padStart(2, '0')}`;
  }
  if (exp10 >= 0) {
    const intPart = digits.slice(0, exp10 + 1).padEnd(exp10 + 1, '0');
    const frac = digits.slice(exp10 + 1);
    return sign + intPart + (frac === '' ? '' : '.' + frac);
  }
  return `${sign}0.${'0'.repeat(-exp10 - 1)}${digits}`;
}

// ---- our values, printed as mariadb-binlog prints them ---------------------------------------

/** The byte → Unicode table of MariaDB's latin1 (cp1252 with the five holes mapped to C1 controls), inverted. */
const CP1252_HIGH: Record<number, number> = {
  0x20ac: 0x80, 0x201a: 0x82, 0x0192: 0x83, 0x201e: 0x84, 0x2026: 0x85, 0x2020: 0x86, 0x2021: 0x87, 0x02c6: 0x88, 0x2030: 0x89,
  0x0160: 0x8a, 0x2039: 0x8b, 0x0152: 0x8c, 0x017d: 0x8e, 0x2018: 0x91, 0x2019: 0x92, 0x201c: 0x93, 0x201d: 0x94, 0x2022: 0x95,
  0x2013: 0x96, 0x2014: 0x97, 0x02dc: 0x98, 0x2122: 0x99, 0x0161: 0x9a, 0x203a: 0x9b, 0x0153: 0x9c, 0x017e: 0x9e, 0x0178: 0x9f,
};

function latin1Bytes(s: string): Buffer {
  const out: number[] = [];
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const b = CP1252_HIGH[cp] ?? (cp <= 0xff ? cp : -1);
    if (b < 0) throw new Error(`U+${cp.toString(16)} is not a latin1 character`);
    out.push(b);
  }
  return Buffer.from(out);
}

/** A decoded string back in its column's bytes; only the charsets the differential workload uses. */
export function columnBytes(v: string, col: ColumnDef): Buffer {
  const name = col.collation === null ? undefined : charsetOfCollation(col.collation)?.name;
  switch (name) {
    case 'utf8mb4':
    case 'utf8mb3':
      return Buffer.from(v, 'utf8');
    case 'latin1':
      return latin1Bytes(v);
    case 'ascii':
      return Buffer.from(v, 'latin1');
    default:
      throw new Error(`column ${col.name}: no encoder for charset ${name ?? 'unknown'} (collation ${col.collation})`);
  }
}

/** Bytes quoted as my_b_write_quoted does: bytes below 0x20 as \xhh, everything else raw. */
export function quoteBytes(b: Buffer): string {
  let s = "'";
  for (const byte of b) s += byte < 0x20 ? `\\x${byte.toString(16).padStart(2, '0')}` : String.fromCharCode(byte);
  return s + "'";
}

const INT_BITS: Readonly<Record<number, number>> = { [ColumnType.TINY]: 8, [ColumnType.SHORT]: 16, [ColumnType.INT24]: 24, [ColumnType.LONG]: 32 };

function signedPair(v: number | bigint, bits: number): string {
  const full = 1n << BigInt(bits);
  let s = BigInt(v);
  if (s >= full >> 1n) s -= full;
  return s < 0n ? `${s} (${s + full})` : `${s}`;
}

function bitString(value: bigint, bits: number): string {
  return `b'${value.toString(2).padStart(bits, '0')}'`;
}

function setBitmap(v: ColumnValue, col: ColumnDef): bigint {
  if (typeof v === 'number' || typeof v === 'bigint') return BigInt(v);
  if (typeof v !== 'string') throw new Error(`SET value of type ${typeof v}`);
  if (v === '') return 0n;
  const labels = col.setLabels ?? [];
  let bits = 0n;
  for (const m of v.split(',')) {
    const i = labels.indexOf(m);
    if (i < 0) throw new Error(`SET member ${m} not among the labels`);
    bits |= 1n << BigInt(i);
  }
  return bits;
}

/** Epoch seconds (and fraction) of a decoded UTC TIMESTAMP text. */
function epochText(v: string, fsp: number): string {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(v);
  if (!m) throw new Error(`not a TIMESTAMP text: ${v}`);
  const seconds = v.startsWith('0000-00-00') ? 0 : Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;
  return fsp > 0 ? `${seconds}.${(m[7] ?? '').padEnd(fsp, '0')}` : `${seconds}`;
}

/** Our decoded value as mariadb-binlog -vv prints it (latin1 text: one char per byte). */
export function formatLikeMariadbBinlog(v: ColumnValue, col: ColumnDef): string {
  if (v === null) return 'NULL';
  const bits = INT_BITS[col.type];
  if (bits !== undefined) return signedPair(v as number, bits);
  switch (col.type) {
    case ColumnType.LONGLONG:
      return signedPair(v as number | bigint, 64);
    case ColumnType.NEWDECIMAL:
      return String(v);
    case ColumnType.FLOAT:
      return formatG(v as number, 6);
    case ColumnType.DOUBLE:
      return formatG(v as number, 20);
    case ColumnType.BIT:
      return bitString(BigInt(v as number | bigint), col.meta);
    case ColumnType.YEAR:
      return String(v === 0 ? 1900 : (v as number)).padStart(4, '0');
    case ColumnType.DATE:
    case ColumnType.NEWDATE:
      return `'${String(v).replace(/-/g, ':')}'`;
    case ColumnType.TIMESTAMP:
    case ColumnType.TIMESTAMP2:
      return epochText(String(v), col.meta);
    case ColumnType.DATETIME2:
    case ColumnType.TIME2:
    case ColumnType.DATETIME:
    case ColumnType.TIME:
      return `'${String(v)}'`;
    case ColumnType.ENUM: {
      if (typeof v === 'number') return String(v);
      const i = (col.enumLabels ?? []).indexOf(String(v));
      return String(i + 1);
    }
    case ColumnType.SET: {
      // The stored bytes are the bitmap little-endian; the tool prints each byte's bits, first byte first.
      const bitmap = setBitmap(v, col);
      let s = "b'";
      for (let i = 0; i < col.meta; i++) s += Number((bitmap >> BigInt(8 * i)) & 0xffn).toString(2).padStart(8, '0');
      return s + "'";
    }
    case ColumnType.STRING: {
      const bytes = Buffer.isBuffer(v) ? v : columnBytes(String(v), col);
      // The binlog carries BINARY(n) without its 0x00 pad (Field_string::pack); our value may have it restored.
      if (Buffer.isBuffer(v) && col.collation === 63) {
        let end = bytes.length;
        while (end > 0 && bytes[end - 1] === 0) end--;
        return quoteBytes(bytes.subarray(0, end));
      }
      return quoteBytes(bytes);
    }
    default:
      return quoteBytes(Buffer.isBuffer(v) ? v : columnBytes(String(v), col));
  }
}
