/**
 * Canonical JSON for row values (DESIGN.md "Canonical JSON for row values"), stable across versions:
 * integers, YEAR and BIT as numbers within ±(2^53−1), else strings of digits; DECIMAL, temporal,
 * text, ENUM and SET as strings (ENUM/SET as numbers when their labels are unknown); FLOAT as the
 * shortest decimal that round-trips to float32; binary data as base64; VECTOR as an array of
 * float32 numbers; JSON as the JSON value itself. Number literals that a double cannot hold (a
 * bigint or DECIMAL inside a MySQL JSON document, a long number in MariaDB's JSON text) travel as
 * RawJson and are printed verbatim by stringifyCanonical.
 */
import type { ColumnDef, ColumnValue } from '../column.js';
import { ColumnType } from '../column-types.js';
import { CharsetText } from './charset-text.js';
import { JsonDecimal, JsonPatch, JsonValue, type JsonNode } from './json-value.js';
import { jsonNumberEnd, jsonStringEnd } from './json-text.js';

/**
 * Valid JSON text printed verbatim by stringifyCanonical: a raw number literal or a whole document
 * (a MySQL JSON column's value in a ledger line or a custom strategy's row). stringifyCanonical
 * prints what `--ledger` prints; JSON.stringify goes through toJSON.
 */
export class RawJson {
  constructor(readonly json: string) {}

  /**
   * For JSON.stringify (an application printing a LedgerLine its own way): the value itself when
   * a JS value holds it exactly, else its exact text as a string — as canonical JSON writes an
   * integer column beyond 2^53 — never `{"json": …}`, nor a number silently rounded.
   */
  toJSON(): unknown {
    const value: unknown = JSON.parse(this.json);
    return JSON.stringify(value) === this.json ? value : this.json;
  }
}

/**
 * A value ready for canonical JSON. `undefined` is a column a partial row image did not log: left
 * out of objects (and `null` in arrays), as JSON.stringify does.
 */
export type CanonicalValue =
  | null
  | undefined
  | boolean
  | number
  | string
  | RawJson
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue };

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = -MAX_SAFE;
/** Smallest positive normal double: below it a double carries fewer than 15 significant digits. */
const MIN_NORMAL = 2.2250738585072014e-308;
/** MariaDB JSON nested deeper than this is kept as its text rather than risk the JS stack. */
const MAX_DEPTH = 1000;

/** A decoded column value in its canonical JSON form (see the module comment). */
export function toCanonical(value: ColumnValue | undefined, col: ColumnDef): CanonicalValue {
  if (value === undefined) return undefined;
  if (value === null) return null;
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) return String(value); // no server stores these; never confuse with NULL
      return col.type === ColumnType.FLOAT ? shortestFloat32(value) : value;
    case 'bigint':
      return value >= MIN_SAFE && value <= MAX_SAFE ? Number(value) : value.toString();
    case 'string':
      return col.isJson ? mariadbJson(value) : value;
  }
  // Text whose bytes are kept to be written back exactly: shown as the server shows it.
  if (value instanceof CharsetText) return value.text;
  if (value instanceof JsonValue) return new RawJson(jsonNodeText(value.node, 0));
  if (value instanceof JsonPatch) {
    // A partial JSON update without a before image: the diffs, as {"$jsonPatch": [{op, path, value?}]}.
    const ops = value.diffs.map((d) => `{"op":"${d.op}","path":${JSON.stringify(d.path)}${d.value === undefined ? '' : `,"value":${jsonNodeText(d.value, 0)}`}}`);
    return new RawJson(`{"$jsonPatch":[${ops.join(',')}]}`);
  }
  if (col.type === ColumnType.VECTOR) return vectorNumbers(value);
  return value.toString('base64');
}

/**
 * The float32 `v` as the double nearest its shortest round-tripping decimal, so that JSON.stringify
 * prints that decimal (0.1f → 0.1, not 0.10000000149011612). Doubles print their shortest form, so
 * any decimal of at most 9 (< 15) digits survives the trip through a double unchanged.
 */
export function shortestFloat32(v: number): number {
  if (v === 0 || !Number.isFinite(v)) return v;
  for (let digits = 1; digits <= 9; digits++) {
    const d = Number(v.toPrecision(digits));
    if (Math.fround(d) === v) return d;
  }
  return v; // not a float32 value: leave it as it is
}

function vectorNumbers(buf: Buffer): CanonicalValue[] {
  const n = buf.length >> 2;
  const out = new Array<CanonicalValue>(n);
  for (let i = 0; i < n; i++) {
    const f = buf.readFloatLE(i * 4);
    out[i] = Number.isFinite(f) ? shortestFloat32(f) : String(f);
  }
  return out;
}

// ---- MySQL binary JSON ----------------------------------------------------------------------

/** Compact JSON text of a decoded MySQL JSON document; bigints and DECIMALs print as raw number literals. */
function jsonNodeText(node: JsonNode, depth: number): string {
  if (node === null) return 'null';
  switch (typeof node) {
    case 'boolean':
      return node ? 'true' : 'false';
    case 'number':
      return Number.isFinite(node) ? String(node) : 'null';
    case 'bigint':
      return node.toString();
    case 'string':
      return JSON.stringify(node);
  }
  if (node instanceof JsonDecimal) return node.text;
  if (depth > MAX_DEPTH) throw new RangeError('JSON document nested too deeply to print');
  if (Array.isArray(node)) {
    let s = '[';
    for (let i = 0; i < node.length; i++) s += (i === 0 ? '' : ',') + jsonNodeText(node[i]!, depth + 1);
    return s + ']';
  }
  let s = '{';
  let first = true;
  // Key order is the object's own order: the decoder inserts keys in document order.
  for (const key of Object.keys(node)) {
    s += (first ? '' : ',') + JSON.stringify(key) + ':' + jsonNodeText(node[key]!, depth + 1);
    first = false;
  }
  return s + '}';
}

// ---- MariaDB JSON text ----------------------------------------------------------------------

/**
 * MariaDB stores JSON as text. Parsed and written back compactly: keys (duplicates included) in
 * document order, strings re-escaped as JSON.stringify does, numbers as JSON.stringify prints the
 * double when that is exact (at most 15 significant digits, normal range), else their text
 * verbatim. Text that is not valid JSON stays a plain string: the column held it, so it is the value.
 */
function mariadbJson(text: string): CanonicalValue {
  const p = new JsonTextRewriter(text);
  const out = p.document();
  return out === null ? text : new RawJson(out);
}

class JsonTextRewriter {
  private pos = 0;

  constructor(private readonly s: string) {}

  /** The whole text as compact JSON, or null when it is not a JSON document. */
  document(): string | null {
    const v = this.value(0);
    if (v === null) return null;
    this.space();
    return this.pos === this.s.length ? v : null;
  }

  private space(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  private value(depth: number): string | null {
    if (depth > MAX_DEPTH) return null;
    this.space();
    const s = this.s;
    const c = s.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.object(depth);
      case 0x5b /* [ */:
        return this.array(depth);
      case 0x22 /* " */:
        return this.string();
      case 0x74 /* t */:
        return this.literal('true');
      case 0x66 /* f */:
        return this.literal('false');
      case 0x6e /* n */:
        return this.literal('null');
      default:
        return c === 0x2d || (c >= 0x30 && c <= 0x39) ? this.number() : null;
    }
  }

  private literal(word: string): string | null {
    if (!this.s.startsWith(word, this.pos)) return null;
    this.pos += word.length;
    return word;
  }

  private object(depth: number): string | null {
    this.pos++;
    this.space();
    if (this.s.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return '{}';
    }
    let out = '{';
    for (;;) {
      this.space();
      if (this.s.charCodeAt(this.pos) !== 0x22) return null;
      const key = this.string();
      if (key === null) return null;
      this.space();
      if (this.s.charCodeAt(this.pos) !== 0x3a /* : */) return null;
      this.pos++;
      const v = this.value(depth + 1);
      if (v === null) return null;
      out += key + ':' + v;
      this.space();
      const c = this.s.charCodeAt(this.pos++);
      if (c === 0x7d /* } */) return out + '}';
      if (c !== 0x2c /* , */) return null;
      out += ',';
    }
  }

  private array(depth: number): string | null {
    this.pos++;
    this.space();
    if (this.s.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return '[]';
    }
    let out = '[';
    for (;;) {
      const v = this.value(depth + 1);
      if (v === null) return null;
      out += v;
      this.space();
      const c = this.s.charCodeAt(this.pos++);
      if (c === 0x5d /* ] */) return out + ']';
      if (c !== 0x2c /* , */) return null;
      out += ',';
    }
  }

  /** A string token re-escaped as JSON.stringify does; JSON.parse validates its escapes. */
  private string(): string | null {
    const start = this.pos;
    const end = jsonStringEnd(this.s, start);
    if (end < 0) return null;
    this.pos = end;
    let decoded: unknown;
    try {
      decoded = JSON.parse(this.s.slice(start, end));
    } catch {
      return null;
    }
    return JSON.stringify(decoded);
  }

  /** A number token (JSON grammar); printed as a double when that is exact, else verbatim. */
  private number(): string | null {
    const start = this.pos;
    const end = jsonNumberEnd(this.s, start);
    if (end < 0) return null;
    this.pos = end;
    const token = this.s.slice(start, end);
    // The mantissa's digits (sign, point and exponent left out), for how many are significant.
    const mantissa = token.replace(/[eE].*$/, '').replace(/[-.]/g, '');
    const first = mantissa.search(/[1-9]/);
    if (first < 0) return token.charCodeAt(0) === 0x2d ? token : '0'; // a zero; keep the sign of -0 as written
    const last = mantissa.search(/[1-9]0*$/);
    if (last - first + 1 <= 15) {
      const n = Number(token);
      const a = Math.abs(n);
      if (a >= MIN_NORMAL && a !== Infinity) return String(n);
    }
    return token;
  }
}

// ---- text -----------------------------------------------------------------------------------

/**
 * Compact JSON text, identical to JSON.stringify wherever that is exact (toJSON honoured,
 * undefined/functions left out of objects and null in arrays, non-finite numbers null), plus:
 * RawJson and JsonDecimal print verbatim, bigint prints its digits, JsonValue prints its document.
 * A top-level undefined prints as null.
 */
export function stringifyCanonical(v: CanonicalValue | Record<string, unknown> | readonly unknown[]): string {
  return write(v, '', 0) ?? 'null';
}

function write(v: unknown, key: string, depth: number): string | undefined {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (v === null) return 'null';
  if (v instanceof RawJson) return v.json;
  if (v instanceof JsonDecimal) return v.text;
  if (v instanceof JsonValue) return jsonNodeText(v.node, 0);
  if (depth > MAX_DEPTH) throw new RangeError('value nested too deeply to print (a cycle?)');
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return write(toJSON.call(v, key) as unknown, key, depth + 1);
  if (Array.isArray(v)) {
    let s = '[';
    for (let i = 0; i < v.length; i++) s += (i === 0 ? '' : ',') + (write(v[i], String(i), depth + 1) ?? 'null');
    return s + ']';
  }
  const o = v as Record<string, unknown>;
  let s = '{';
  let first = true;
  for (const k of Object.keys(o)) {
    const item = write(o[k], k, depth + 1);
    if (item === undefined) continue;
    s += (first ? '' : ',') + JSON.stringify(k) + ':' + item;
    first = false;
  }
  return s + '}';
}
