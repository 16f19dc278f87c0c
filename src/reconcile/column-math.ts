/**
 * Exact comparisons and arithmetic on column values in the decoder's in-memory types, for the
 * strategies that order or add them (`newest`/`oldest`, `max`/`min`, `delta`; DESIGN.md
 * "Strategies"). DECIMAL arrives as the server's digits and stays exact (scaled BigInt), integers
 * beyond 2^53 are bigint, temporal values are the server's fixed-width text (ordered as text).
 */
import type { ColumnValue } from '../binlog/column.js';
import { CharsetText } from '../binlog/values/charset-text.js';
import { EngineError } from '../errors.js';
import type { ColumnSchema } from '../model/table-schema.js';

export const ColumnMathErrorCode = {
  NotNumeric: 'RECONCILE_NOT_NUMERIC',
  NotComparable: 'RECONCILE_NOT_COMPARABLE',
} as const;

const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

/** A DECIMAL string as a scaled integer. */
function scaled(text: string, scale: number): bigint | null {
  const m = DECIMAL.exec(text);
  if (m === null) return null;
  const frac = (m[3] ?? '').padEnd(scale, '0').slice(0, scale);
  const v = BigInt(`${m[2]}${frac}`);
  return m[1] === '-' ? -v : v;
}

function scaleOf(text: string): number {
  const m = DECIMAL.exec(text);
  return m === null ? 0 : (m[3] ?? '').length;
}

function printScaled(v: bigint, scale: number): string {
  const neg = v < 0n;
  const digits = (neg ? -v : v).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return neg ? `-${text}` : text;
}

/**
 * Orders two non-NULL values of one column: negative, zero or positive. Numbers and bigints
 * numerically, DECIMAL text exactly, temporal and other text by code point (the server's
 * fixed-width temporal text orders correctly as text; TIME with a sign is compared numerically by
 * its parts), Buffers bytewise.
 */
export function compareValues(a: ColumnValue, b: ColumnValue, col: Pick<ColumnSchema, 'dataType' | 'name'> | null): number {
  // Text with kept bytes orders by its text, as a string of the same column does.
  if (a instanceof CharsetText) a = a.text;
  if (b instanceof CharsetText) b = b.text;
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
    if (typeof a === 'number' && !Number.isInteger(a)) return a < Number(b) ? -1 : a > Number(b) ? 1 : 0;
    if (typeof b === 'number' && !Number.isInteger(b)) return Number(a) < b ? -1 : Number(a) > b ? 1 : 0;
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') {
    if (col !== null && (col.dataType === 'decimal' || col.dataType === 'numeric')) {
      const scale = Math.max(scaleOf(a), scaleOf(b));
      const x = scaled(a, scale);
      const y = scaled(b, scale);
      if (x !== null && y !== null) return x < y ? -1 : x > y ? 1 : 0;
    }
    if (col !== null && col.dataType === 'time' && (a.startsWith('-') || b.startsWith('-'))) return timeSeconds(a) - timeSeconds(b);
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return Buffer.compare(a, b);
  throw new EngineError(ColumnMathErrorCode.NotComparable, `column ${col?.name ?? '?'}: values of different kinds cannot be ordered`, { column: col?.name ?? '' });
}

function timeSeconds(t: string): number {
  const neg = t.startsWith('-');
  const [h = '0', m = '0', s = '0'] = t.replace('-', '').split(':');
  const v = Number(h) * 3600 + Number(m) * 60 + Number(s);
  return neg ? -v : v;
}

/**
 * `delta`: D + (A − B), exact for integers and DECIMAL (printed with the column's scale), plain
 * arithmetic for FLOAT/DOUBLE. A NULL anywhere leaves the DR's value (nothing to add to or from).
 */
export function applyDelta(base: ColumnValue, theirs: ColumnValue, ours: ColumnValue, col: Pick<ColumnSchema, 'dataType' | 'name' | 'columnType'>): ColumnValue {
  if (base === null || theirs === null || ours === null) return ours;
  if (typeof base === 'string' || typeof theirs === 'string' || typeof ours === 'string') {
    if (typeof base !== 'string' || typeof theirs !== 'string' || typeof ours !== 'string') throw notNumeric(col);
    const m = /\(\d+,(\d+)\)/.exec(col.columnType);
    const scale = m === null ? Math.max(scaleOf(base), scaleOf(theirs), scaleOf(ours)) : Number(m[1]);
    const [b, a, d] = [scaled(base, scale), scaled(theirs, scale), scaled(ours, scale)];
    if (b === null || a === null || d === null) throw notNumeric(col);
    return printScaled(d + (a - b), scale);
  }
  if (typeof base === 'number' && typeof theirs === 'number' && typeof ours === 'number' && (col.dataType === 'float' || col.dataType === 'double')) {
    return ours + (theirs - base);
  }
  if ((typeof base === 'number' || typeof base === 'bigint') && (typeof theirs === 'number' || typeof theirs === 'bigint') && (typeof ours === 'number' || typeof ours === 'bigint')) {
    const v = BigInt(ours) + (BigInt(theirs) - BigInt(base));
    return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
  }
  throw notNumeric(col);
}

function notNumeric(col: Pick<ColumnSchema, 'name'>): EngineError {
  return new EngineError(ColumnMathErrorCode.NotNumeric, `column ${col.name}: "delta" needs numbers on all three sides`, { column: col.name });
}
