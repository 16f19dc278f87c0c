/**
 * One canonical string per primary- or unique-key tuple, shared by everything that keys rows in
 * memory (the DR row reader's results, the remap key map), so a key computed from a binlog image
 * finds the row read from the DR. Integers by their digits (number and bigint alike), strings
 * JSON-quoted (self-delimiting, so the ',' join is unambiguous), binary as hex, NULL as `N`.
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import { CharsetText } from '../binlog/values/charset-text.js';
import { JsonDecimal, JsonPatch, JsonValue, type JsonNode } from '../binlog/values/json-value.js';
import { EngineError } from '../errors.js';

/** Reports a value that cannot be part of a key; callers pass their own typed error. */
export type BadKeyValue = (message: string) => never;

const defaultBad: BadKeyValue = (message) => {
  throw new EngineError('KEY_BAD_VALUE', message);
};

/** The canonical key of a tuple of column values. */
export function rowKey(values: readonly (ColumnValue | undefined)[], bad: BadKeyValue = defaultBad): string {
  let out = '';
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out += ',';
    out += rowKeyPart(values[i], bad);
  }
  return out;
}

/** rowKey of `image`'s values at `positions`, without gathering them into an array first. */
export function rowKeyAt(image: readonly (ColumnValue | undefined)[], positions: readonly number[], bad: BadKeyValue = defaultBad): string {
  let out = '';
  for (let i = 0; i < positions.length; i++) {
    if (i > 0) out += ',';
    out += rowKeyPart(image[positions[i] as number], bad);
  }
  return out;
}

/**
 * One value's part of a canonical key (rowKey joins them with ','), for callers that build a key
 * from an image's columns without gathering the values into an array first.
 */
export function rowKeyPart(v: ColumnValue | undefined, bad: BadKeyValue = defaultBad): string {
  if (v === null) return 'N';
  switch (typeof v) {
    case 'bigint':
      return `I${v.toString()}`;
    case 'number':
      // A safe integer prints its own digits; only beyond 2^53 (where String() may switch to
      // exponent form) the digits come through a BigInt, which cost one allocation per key part.
      if (Number.isSafeInteger(v)) return `I${v}`;
      return Number.isInteger(v) ? `I${BigInt(v).toString()}` : `F${String(v)}`;
    case 'string':
      return `S${JSON.stringify(v)}`;
    case 'undefined':
      return bad('key column not logged in this row image: expected a value, found none');
    default:
      if (Buffer.isBuffer(v)) return `B${v.toString('hex')}`;
      // By its bytes, never its text: two keys that read as '?' are different rows.
      if (v instanceof CharsetText) return `C${v.bytes.toString('hex')}`;
      if (v instanceof JsonValue || v instanceof JsonPatch) return bad('a JSON value cannot be part of a key');
      return bad(`unexpected key value of type ${typeof v}`);
  }
}

/**
 * The parts of a canonical key (rowKey) as rowKeyPart made them, or null when `key` is not one
 * (a string part without its closing quote, or not followed by ','). A string part is JSON-quoted,
 * so a ',' inside it does not split it; no other part holds one.
 */
export function rowKeyParts(key: string): string[] | null {
  const parts: string[] = [];
  let at = 0;
  for (;;) {
    let end: number;
    if (key.startsWith('S"', at)) {
      end = at + 2;
      for (;;) {
        const c = key[end];
        if (c === undefined) return null;
        end += c === '\\' ? 2 : 1;
        if (c === '"') break;
      }
    } else {
      end = key.indexOf(',', at);
      if (end === -1) end = key.length;
    }
    parts.push(key.slice(at, end));
    if (end === key.length) return parts;
    if (key[end] !== ',') return null;
    at = end + 1;
  }
}

/**
 * A row image as one string, every cell in column order: a cell not logged is `U`, NULL and the
 * others as rowKeyPart writes them, JSON by its document (jsonKeyPart). Two images are the same
 * string exactly when they log the same cells with the same values, as rowKey compares them.
 */
export function imageKey(image: RowImage): string {
  let out = '';
  for (let i = 0; i < image.length; i++) {
    const v = image[i];
    if (i > 0) out += ',';
    out += v === undefined ? 'U' : v instanceof JsonValue || v instanceof JsonPatch ? jsonKeyPart(v) : rowKeyPart(v);
  }
  return out;
}

/** A JSON value's part of a keyless row's key: its document with object keys in order (`P` and the diffs for a partial update). */
export function jsonKeyPart(v: JsonValue | JsonPatch): string {
  return v instanceof JsonValue ? `J${jsonText(v.node)}` : `P${v.diffs.map((d) => `${d.op} ${d.path} ${d.value === undefined ? '' : jsonText(d.value)}`).join('\u0000')}`;
}

function jsonText(n: JsonNode): string {
  if (n === null || typeof n === 'boolean' || typeof n === 'number') return String(n);
  if (typeof n === 'bigint') return n.toString();
  if (typeof n === 'string') return JSON.stringify(n);
  if (n instanceof JsonDecimal) return n.text;
  if (Array.isArray(n)) return `[${n.map(jsonText).join(',')}]`;
  const keys = Object.keys(n).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${jsonText(n[k]!)}`).join(',')}}`;
}
