/**
 * Whether a value the engine computed (a `delta` sum, a `rewrite-unique` template, a custom
 * function's edit) fits the DR column it is written to. The sink writes with
 * sql_mode='NO_AUTO_VALUE_ON_ZERO' — not strict, so values the primary accepted are written as
 * logged — and a non-strict server clips what does not fit without an error: 1040 into
 * DECIMAL(5,2) is stored as 999.99, 130 into TINYINT as 127, "abc~salvaged-1" into VARCHAR(8) as
 * "abc~salv". So the engine checks its own values first, from the facts the server prints in
 * COLUMN_TYPE (`decimal(5,2)`, `tinyint(4) unsigned`, `varchar(8)`, `enum('a','b')`).
 */
import type { ColumnValue } from '../binlog/column.js';
import { CharsetText } from '../binlog/values/charset-text.js';
import type { ColumnSchema } from '../model/table-schema.js';

type FitColumn = Pick<ColumnSchema, 'dataType' | 'columnType' | 'unsigned' | 'collation'>;

/** Signed bounds by integer type; unsigned ones are 0 … 2 × max + 1. */
const INTEGER_MAX: Readonly<Record<string, bigint>> = {
  tinyint: 127n,
  smallint: 32767n,
  mediumint: 8388607n,
  int: 2147483647n,
  integer: 2147483647n,
  bigint: 9223372036854775807n,
};

/** Maximum byte lengths of the types whose limit is not in COLUMN_TYPE. */
const LOB_BYTES: Readonly<Record<string, number>> = {
  tinytext: 255,
  text: 65535,
  mediumtext: 16777215,
  longtext: 4294967295,
  tinyblob: 255,
  blob: 65535,
  mediumblob: 16777215,
  longblob: 4294967295,
};

/** FLT_MAX: the largest finite FLOAT. */
const FLOAT_MAX = 3.4028234663852886e38;

/** The number in `type(n)` or `type(p,s)`, when the type prints one. */
function lengths(columnType: string): number[] | null {
  const m = /^\w+\((\d+)(?:,(\d+))?\)/.exec(columnType);
  if (m === null) return null;
  return m[2] === undefined ? [Number(m[1])] : [Number(m[1]), Number(m[2])];
}

/** Bytes of `text` in the column's character set (named by its collation's prefix). */
function byteLength(text: string, collation: string | null): number {
  const charset = (collation ?? 'utf8mb4').split('_')[0] ?? 'utf8mb4';
  if (charset === 'latin1' || charset === 'ascii' || charset === 'binary' || charset === 'latin2' || charset === 'cp1250' || charset === 'cp1251' || charset === 'cp1252') return [...text].length;
  if (charset === 'ucs2') return 2 * text.length;
  if (charset === 'utf16' || charset === 'utf16le') return Buffer.byteLength(text, 'utf16le');
  if (charset === 'utf32') return 4 * [...text].length;
  return Buffer.byteLength(text, 'utf8');
}

function enumMembers(columnType: string): string[] {
  const inner = /^(?:enum|set)\((.*)\)$/s.exec(columnType)?.[1] ?? '';
  const out: string[] = [];
  const re = /'((?:[^']|'')*)'/g;
  for (let m = re.exec(inner); m !== null; m = re.exec(inner)) out.push((m[1] ?? '').replace(/''/g, "'"));
  return out;
}

/**
 * Why `value` does not fit `col` as the DR defines it (`"the largest decimal(5,2) is 999.99"`), or
 * null when it fits. NULL is left to the column's nullability, checked by the server.
 */
export function columnMisfit(value: ColumnValue, col: FitColumn): string | null {
  // Text with kept bytes fits as its text does.
  if (value instanceof CharsetText) value = value.text;
  if (value === null) return null;
  const type = col.columnType.toLowerCase();
  const dt = col.dataType.toLowerCase();
  const signedMax = INTEGER_MAX[dt];
  if (signedMax !== undefined && (typeof value === 'number' || typeof value === 'bigint')) {
    if (typeof value === 'number' && !Number.isInteger(value)) return `${type} holds whole numbers only`;
    const v = BigInt(value);
    const [lo, hi] = col.unsigned ? [0n, 2n * signedMax + 1n] : [-signedMax - 1n, signedMax];
    return v < lo || v > hi ? `${type} holds ${lo} to ${hi}` : null;
  }
  if ((dt === 'decimal' || dt === 'numeric') && typeof value === 'string') {
    const [precision = 10, scale = 0] = lengths(type) ?? [];
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(value);
    if (m === null) return `${type} holds decimal numbers only`;
    const whole = (m[2] ?? '').replace(/^0+(?=\d)/, '');
    const frac = (m[3] ?? '').replace(/0+$/, '');
    const largest = `${'9'.repeat(precision - scale) || '0'}${scale > 0 ? `.${'9'.repeat(scale)}` : ''}`;
    if ((whole === '0' ? 0 : whole.length) > precision - scale) return `the largest ${type} is ${col.unsigned ? '' : '±'}${largest}`;
    if (frac.length > scale) return `${type} keeps ${scale} decimal place(s)`;
    if (col.unsigned && m[1] === '-' && /[1-9]/.test(value)) return `${type} holds no negative numbers`;
    return null;
  }
  if ((dt === 'float' || dt === 'double' || dt === 'real') && typeof value === 'number') {
    if (!Number.isFinite(value) || (dt === 'float' && Math.abs(value) > FLOAT_MAX)) return `${type} cannot hold it`;
    return col.unsigned && value < 0 ? `${type} holds no negative numbers` : null;
  }
  if ((dt === 'char' || dt === 'varchar') && typeof value === 'string') {
    const [n] = lengths(type) ?? [];
    const chars = [...value].length;
    return n !== undefined && chars > n ? `${type} holds ${n} character(s), the value has ${chars}` : null;
  }
  if ((dt === 'binary' || dt === 'varbinary') && (typeof value === 'string' || Buffer.isBuffer(value))) {
    const [n] = lengths(type) ?? [];
    const bytes = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
    return n !== undefined && bytes > n ? `${type} holds ${n} byte(s), the value has ${bytes}` : null;
  }
  const lob = LOB_BYTES[dt];
  if (lob !== undefined && (typeof value === 'string' || Buffer.isBuffer(value))) {
    const bytes = typeof value === 'string' ? byteLength(value, col.collation) : value.length;
    return bytes > lob ? `${type} holds ${lob} byte(s), the value has ${bytes}` : null;
  }
  if (dt === 'enum' && typeof value === 'string') {
    const members = enumMembers(col.columnType);
    return members.some((m) => m.toLowerCase() === value.toLowerCase()) ? null : `${type} has no member ${JSON.stringify(value)}`;
  }
  return null;
}
