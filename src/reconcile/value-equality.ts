/**
 * Equality of in-memory column values (src/binlog/column.ts) for classification and merging.
 *
 * Two notions, kept apart:
 * - `sameValue`: exact identity of a stored value (is the DR row the binlog image?). Integers
 *   compare by value whatever their representation (number or bigint); binary by bytes; JSON
 *   by structure with object key order ignored; FLOAT as float32, because a DR seeded by
 *   `mariadb-dump` holds FLOATs rounded to 6 significant digits (DESIGN.md "Pitfalls"). Text whose
 *   bytes are kept (CharsetText: a code the server maps one way only) equals another such value by
 *   its bytes, and a plain string by its text: sjis 0x5C and 0x815F both read as `\`, and a DR
 *   that received the value through a utf8mb4 conversion (a dump, an earlier salvage) holds 0x815F
 *   where the primary logged 0x5C — the same value, not a divergence; but two codes that both read
 *   as '?' (sjis' ① and ②) are different values.
 * - `sameUniqueValue`: would the server call two values the same key? For the collations
 *   collation-fold.ts measured (utf8mb4/utf8mb3 general_ci, unicode_ci, unicode_520_ci,
 *   latin1_swedish_ci) this is the server's own answer; for the others it approximates the
 *   column's collation from its name, and errs towards "distinct": a duplicate the engine misses
 *   is caught by the DR's duplicate-key error (the window is then retried change by change and
 *   the change classified), while a duplicate it invents would quarantine a good change. The DR
 *   has the last word on a duplicate (DESIGN.md "Conflict taxonomy").
 */
import type { ColumnSchema } from '../model/table-schema.js';
import type { ColumnValue } from '../binlog/column.js';
import { CharsetText } from '../binlog/values/charset-text.js';
import { JsonDecimal, JsonPatch, JsonValue, type JsonNode } from '../binlog/values/json-value.js';
import { parseJsonText } from '../binlog/values/json-text.js';
import { exactFold, type ExactFold } from '../model/collation-fold.js';

/** What `sameValue` needs to know of a column; null compares without type knowledge (FLOAT as DOUBLE). */
export type ComparedColumn = Pick<ColumnSchema, 'dataType'> | null;

type Cell = ColumnValue | undefined;

/**
 * Exact equality of two in-memory values; `undefined` (not logged) equals only `undefined`, and
 * a JsonPatch equals nothing (it is a set of diffs, not a value).
 */
export function sameValue(a: Cell, b: Cell, column: ComparedColumn = null): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a === null || b === null) return a === b;
  if (a instanceof JsonPatch || b instanceof JsonPatch) return false;
  if (typeof a === 'number' || typeof a === 'bigint') return sameNumber(a, b, column);
  if (typeof a === 'string') return a === b || (b instanceof CharsetText && b.text === a) || (b instanceof JsonValue && sameJsonText(b, a));
  if (a instanceof CharsetText) return b instanceof CharsetText ? a.bytes.equals(b.bytes) : a.text === b;
  if (Buffer.isBuffer(a)) return Buffer.isBuffer(b) && a.equals(b);
  if (a instanceof JsonValue) return b instanceof JsonValue ? sameJsonNode(a.node, b.node) : typeof b === 'string' && sameJsonText(a, b);
  return false;
}

/**
 * A MySQL JSON value (the binlog's) and the text a DR holds for it (MariaDB's JSON is LONGTEXT):
 * the same value when the text is the same document.
 */
function sameJsonText(a: JsonValue, text: string): boolean {
  const node = parseJsonText(text);
  return node !== undefined && sameJsonNode(a.node, node);
}

/**
 * `sameValue`, but a FLOAT equals only the same float32: which columns a write must set, and
 * whether the DR holds a change's before or its after value when the two are closer than the
 * 6 digits `sameValue` forgives (an update of 1.000001 to 1.000002 is a change to write).
 */
export function sameExactValue(a: Cell, b: Cell, column: ComparedColumn = null): boolean {
  if (column?.dataType === 'float' && typeof a === 'number' && typeof b === 'number') return Math.fround(a) === Math.fround(b);
  return sameValue(a, b, column);
}

function sameNumber(a: number | bigint, b: ColumnValue, column: ComparedColumn): boolean {
  if (typeof b !== 'number' && typeof b !== 'bigint') return false;
  if (typeof a === 'number' && typeof b === 'number') {
    return column?.dataType === 'float' ? sameFloat32(a, b) : a === b;
  }
  return sameInteger(a, b);
}

/**
 * FLOAT columns: equal as float32, or equal at the 6 significant digits `mariadb-dump` prints, so a
 * DR seeded from a dump (3.14159 for the binlog's 3.1415927) matches its source. Two FLOATs that
 * differ only beyond 6 digits are therefore taken as the same value.
 */
function sameFloat32(a: number, b: number): boolean {
  const fa = Math.fround(a);
  const fb = Math.fround(b);
  return fa === fb || Number(fa.toPrecision(6)) === Number(fb.toPrecision(6));
}

/** A bigint and a number are the same value when the number is that exact integer. */
function sameInteger(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a === b;
  const n = typeof a === 'number' ? a : (b as number);
  const big = typeof a === 'bigint' ? a : (b as bigint);
  return Number.isInteger(n) && BigInt(n) === big;
}

/**
 * Structural JSON equality: object key order ignored, array order kept, numbers by value, as
 * MySQL compares JSON: an integer, a double and a DECIMAL that are the same number are equal
 * (a DR's document read back as text cannot tell a DECIMAL 1.5 from a DOUBLE 1.5 either).
 */
function sameJsonNode(a: JsonNode, b: JsonNode): boolean {
  if (a === null || b === null) return a === b;
  if (isJsonNumber(a)) return isJsonNumber(b) && sameJsonNumber(a, b);
  if (typeof a !== 'object') return a === b;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJsonNode(a[i] as JsonNode, b[i] as JsonNode)) return false;
    return true;
  }
  if (typeof b !== 'object' || b === null || Array.isArray(b) || b instanceof JsonDecimal) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  for (const k of keys) {
    if (!Object.hasOwn(b, k) || !sameJsonNode(a[k] as JsonNode, b[k] as JsonNode)) return false;
  }
  return true;
}

type JsonNumber = number | bigint | JsonDecimal;

function isJsonNumber(v: JsonNode): v is JsonNumber {
  return typeof v === 'number' || typeof v === 'bigint' || v instanceof JsonDecimal;
}

/**
 * Two exact numbers (integers, DECIMALs, number texts no double prints) are equal when they are the
 * same decimal; a double equals another number when it is the double nearest to it (a document's
 * double printed as text and read back is its shortest spelling, not its exact value).
 */
function sameJsonNumber(a: JsonNumber, b: JsonNumber): boolean {
  if (typeof a === 'number') return typeof b === 'number' ? a === b : Number(typeof b === 'bigint' ? b : b.text) === a;
  if (typeof b === 'number') return Number(typeof a === 'bigint' ? a : a.text) === b;
  if (typeof a === 'bigint' && typeof b === 'bigint') return a === b;
  const x = exactDecimal(a);
  return x !== null && x === exactDecimal(b);
}

/** A number's exact decimal value, normalised (no sign on zero, no leading or trailing zeros, no exponent), or null for a double. */
function exactDecimal(v: JsonNumber): string | null {
  if (typeof v === 'number') return null;
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(typeof v === 'bigint' ? v.toString() : v.text);
  if (m === null) return null;
  const digits = (m[2]! + (m[3] ?? '')).replace(/^0+/, '');
  const exponent = Number(m[4] ?? '0') - (m[3]?.length ?? 0);
  if (digits === '') return '0';
  const trimmed = digits.replace(/0+$/, '');
  return `${m[1]}${trimmed}e${exponent + digits.length - trimmed.length}`;
}

/**
 * Whether two values would be the same unique key under `collation` (a collation name, or null
 * for columns compared by value or byte). SQL NULL never collides: a UNIQUE index admits many.
 */
export function sameUniqueValue(a: Cell, b: Cell, collation: string | null): boolean {
  if (a === undefined || b === undefined || a === null || b === null) return false;
  // Kept bytes are never folded: they are compared as sameValue compares them, erring towards distinct.
  if (typeof a !== 'string' || typeof b !== 'string' || collation === null) return sameValue(a, b);
  const rule = collationRule(collation);
  return foldForKey(a, rule) === foldForKey(b, rule);
}

/**
 * The value a unique-key index is keyed by: a string folded by its collation's rule (the same
 * rule `sameUniqueValue` applies), anything else as it is. Two values with equal folds are one key.
 */
export function uniqueFold(v: ColumnValue | undefined, collation: string | null): ColumnValue | undefined {
  if (typeof v !== 'string' || collation === null) return v;
  return foldForKey(v, collationRule(collation));
}

/** `uniqueFold` for one column, its collation read once (indexes fold every row they hold). */
export type UniqueFolder = (v: ColumnValue | undefined) => ColumnValue | undefined;

/** The `uniqueFold` of a column of `collation`, with the collation's rule read once. */
export function uniqueFolder(collation: string | null): UniqueFolder {
  if (collation === null) return asIs;
  const rule = collationRule(collation);
  return (v) => (typeof v === 'string' ? foldForKey(v, rule) : v);
}

const asIs: UniqueFolder = (v) => v;

interface CollationRule {
  /** The collation's measured fold (collation-fold.ts); when set, the flags below are not used. */
  readonly exact: ExactFold | null;
  readonly caseInsensitive: boolean;
  readonly accentInsensitive: boolean;
  readonly padSpace: boolean;
}

/**
 * The measured fold of the collation when collation-fold.ts has one; otherwise the rule read from
 * the collation name. MySQL 8's `_0900_` collations and MariaDB's
 * `_nopad_` ones are NO PAD; `binary` compares bytes; the rest pad with spaces (trailing spaces
 * ignored). Accents are ignored only where the name says `_ai_`: the legacy `_ci` collations differ
 * per language (latin1_swedish_ci keeps å apart from a), so they are treated as accent-sensitive.
 */
function collationRule(collation: string): CollationRule {
  const name = collation.toLowerCase();
  if (name === 'binary') return { exact: null, caseInsensitive: false, accentInsensitive: false, padSpace: false };
  const exact = exactFold(name);
  const caseInsensitive = name.endsWith('_ci');
  return {
    exact,
    caseInsensitive,
    accentInsensitive: caseInsensitive && name.includes('_ai_'),
    padSpace: !name.includes('_0900_') && !name.includes('_nopad_'),
  };
}

function foldForKey(s: string, rule: CollationRule): string {
  if (rule.exact !== null) return rule.exact(s);
  let out = rule.padSpace ? s.replace(/ +$/, '') : s;
  if (rule.caseInsensitive) out = out.toLowerCase();
  if (rule.accentInsensitive) out = out.normalize('NFD').replace(/\p{M}/gu, '');
  return out;
}
