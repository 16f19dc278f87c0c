/**
 * The exact path between the server and the decoder: each column is selected as a text the server
 * prints exactly (`CAST(x AS CHAR)` for numbers, decimals and temporals, `HEX(…)` for bytes, a
 * double's shortest text for FLOAT through `CAST(CAST(x AS DOUBLE) AS CHAR)`), never through
 * mysql2's own number parsing (one ulp off for some DOUBLEs, DESIGN.md "Pitfalls"); the decoded
 * value is converted the same way and compared. Canonical JSON (DESIGN.md) is checked against the
 * same texts.
 */
import { isDeepStrictEqual } from 'node:util';
import type { ColumnDef, ColumnValue } from '../../src/binlog/column.js';
import { RawJson, stringifyCanonical, toCanonical, type CanonicalValue } from '../../src/binlog/values/canonical-json.js';
import type { ColumnSpec } from './column-catalog.js';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The SELECT expression whose text is the exact form of column `name`; NULL stays NULL. */
export function selectExpr(s: ColumnSpec, name: string): string {
  const c = `\`${name}\``;
  switch (s.kind) {
    case 'int':
    case 'decimal':
    case 'double':
    case 'year':
    case 'temporal':
      return `CAST(${c} AS CHAR)`;
    case 'float':
      // CAST(float AS CHAR) prints 6 significant digits; widened to DOUBLE it prints exactly.
      return `CAST(CAST(${c} AS DOUBLE) AS CHAR)`;
    case 'bit':
      return `CAST(${c} + 0 AS CHAR)`;
    case 'text':
    case 'json':
      return `HEX(CONVERT(${c} USING utf8mb4))`;
    case 'binary':
    case 'geometry':
      return `HEX(${c})`;
    case 'fixed-binary':
      // UUID and INET6/INET4 print as text; their stored bytes come out of a cast to BINARY.
      return s.ddl.startsWith('BINARY') ? `HEX(${c})` : `HEX(CAST(${c} AS BINARY(${s.byteLength})))`;
    case 'enum':
    case 'set':
      // x + 0 is a signed BIGINT: a 64-member SET with its last member set would print negative.
      return `CONCAT(CAST(CAST(${c} + 0 AS UNSIGNED) AS CHAR), ':', HEX(CONVERT(${c} USING utf8mb4)))`;
  }
}

/** A decoded value as messages show it. */
export function showValue(v: ColumnValue | undefined): string {
  if (v === undefined) return 'undefined';
  if (v === null) return 'NULL';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v.length > 120 ? v.slice(0, 120) + '…' : v);
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex').slice(0, 240)}${v.length > 120 ? '…' : ''} (${v.length} bytes)`;
  return `${v.constructor.name}`;
}

/** Shows an expected text, shortened. */
export function showExpected(t: string | null): string {
  if (t === null) return 'NULL';
  return JSON.stringify(t.length > 240 ? t.slice(0, 240) + '…' : t);
}

function utf8Hex(s: string): string {
  return Buffer.from(s, 'utf8').toString('hex').toUpperCase();
}

function isInteger(v: ColumnValue): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
}

/** Integers are numbers within ±(2^53−1) and bigints beyond (column.ts): a wrong representation is a bug too. */
function integerProblem(v: ColumnValue, expected: string): string | null {
  if (!isInteger(v)) return `not an integer (${typeof v})`;
  if (BigInt(v) !== BigInt(expected)) return 'different value';
  const big = BigInt(expected);
  const safe = big >= -MAX_SAFE && big <= MAX_SAFE;
  if (safe && typeof v === 'bigint') return 'a bigint for a value within ±(2^53−1)';
  if (!safe && typeof v === 'number') return 'a number for a value beyond ±(2^53−1)';
  return null;
}

/**
 * Why decoded `v` differs from the server's exact text, or null when they agree. ENUM/SET compare
 * as labels when decoded as text, as index/bitmap when the binlog carried no labels.
 */
export function cellProblem(s: ColumnSpec, expected: string | null, v: ColumnValue): string | null {
  if (expected === null) return v === null ? null : 'expected NULL';
  if (v === null) return 'decoded NULL';
  switch (s.kind) {
    case 'int':
    case 'bit':
      return integerProblem(v, expected);
    case 'decimal':
    case 'temporal':
      return typeof v === 'string' && v === expected ? null : 'different text';
    case 'year':
      return v === Number(expected) ? null : 'different year';
    case 'float':
      if (typeof v !== 'number') return `not a number (${typeof v})`;
      if (Math.fround(v) !== v) return 'not a float32 value';
      return Object.is(v, Number(expected)) ? null : 'different float32';
    case 'double':
      return typeof v === 'number' && Object.is(v, Number(expected)) ? null : 'different double';
    case 'text':
    case 'json':
      if (typeof v !== 'string') return `not a string (${Buffer.isBuffer(v) ? 'Buffer' : typeof v})`;
      return utf8Hex(v) === expected ? null : 'different text';
    case 'binary':
    case 'geometry':
    case 'fixed-binary':
      if (!Buffer.isBuffer(v)) return `not a Buffer (${typeof v})`;
      return v.toString('hex').toUpperCase() === expected ? null : 'different bytes';
    case 'enum':
    case 'set': {
      const colon = expected.indexOf(':');
      const number = expected.slice(0, colon);
      const labels = expected.slice(colon + 1);
      if (typeof v === 'string') return utf8Hex(v) === labels ? null : 'different label(s)';
      if (isInteger(v)) return BigInt(v) === BigInt(number) ? null : 'different index/bitmap';
      return `not a label or number (${typeof v})`;
    }
  }
}

/** The shortest decimal that round-trips to float32 `f`, as a number (DESIGN.md canonical FLOAT). */
export function shortestFloat32Of(f: number): number {
  if (f === 0) return f;
  for (let d = 1; d <= 9; d++) {
    const n = Number(f.toPrecision(d));
    if (Math.fround(n) === f) return n;
  }
  return f;
}

/** The canonical JSON value DESIGN.md prescribes for the server's exact text of a column. */
export function expectedCanonical(s: ColumnSpec, expected: string | null, def: ColumnDef): CanonicalValue {
  if (expected === null) return null;
  switch (s.kind) {
    case 'int':
    case 'bit': {
      const b = BigInt(expected);
      return b >= -MAX_SAFE && b <= MAX_SAFE ? Number(b) : b.toString();
    }
    case 'decimal':
    case 'temporal':
      return expected;
    case 'year':
    case 'double':
      return Number(expected);
    case 'float':
      return shortestFloat32Of(Number(expected));
    case 'text':
      return Buffer.from(expected, 'hex').toString('utf8');
    case 'json': {
      const text = Buffer.from(expected, 'hex').toString('utf8');
      return def.isJson ? new RawJson(text) : text;
    }
    case 'binary':
    case 'geometry':
    case 'fixed-binary':
      return Buffer.from(expected, 'hex').toString('base64');
    case 'enum':
    case 'set': {
      const colon = expected.indexOf(':');
      const labels = s.kind === 'enum' ? def.enumLabels : def.setLabels;
      if (labels === null) {
        const b = BigInt(expected.slice(0, colon));
        return b <= MAX_SAFE ? Number(b) : b.toString();
      }
      return Buffer.from(expected.slice(colon + 1), 'hex').toString('utf8');
    }
  }
}

/** Why the decoder's canonical JSON of `v` differs from what DESIGN.md prescribes, or null. */
export function canonicalProblem(s: ColumnSpec, expected: string | null, v: ColumnValue, def: ColumnDef): string | null {
  let actual: CanonicalValue;
  try {
    actual = toCanonical(v, def);
  } catch (e) {
    return `toCanonical threw ${(e as Error).message}`;
  }
  const want = expectedCanonical(s, expected, def);
  const a = stringifyCanonical(actual);
  if (want instanceof RawJson) {
    // MariaDB JSON text: the canonical form is compact JSON of the same document.
    let same = false;
    try {
      same = isDeepStrictEqual(JSON.parse(a), JSON.parse(want.json));
    } catch {
      same = false;
    }
    return same ? null : `canonical ${a.slice(0, 200)} is not the document ${want.json.slice(0, 200)}`;
  }
  const w = stringifyCanonical(want);
  return a === w ? null : `canonical ${a.slice(0, 200)}, expected ${w.slice(0, 200)}`;
}
