/**
 * Canonical JSON (DESIGN.md "Canonical JSON for row values") back to the decoder's in-memory values
 * (src/binlog/column.ts), by the DR's column types: the inverse of toCanonical, for row values a
 * person hands back after review (`salvage resolve`) and for images the state schema stored.
 *
 * Exact: text is read by parseExactJson, which keeps every number literal a double cannot hold as
 * its text (RawJson), so BIGINT beyond 2^53, DECIMAL and numbers inside JSON documents survive; a
 * JSON column's document can be kept as its own text (key order and duplicate keys included).
 * DECIMAL and temporal values are normalised to the column's scale / fractional digits, ENUM and
 * SET to the labels the column declares, so they compare equal to what the DR reads back.
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import { RawJson, stringifyCanonical, type CanonicalValue } from '../binlog/values/canonical-json.js';
import { JsonDecimal, JsonPatch, JsonValue, type JsonNode, type JsonObject, type JsonPatchOperation } from '../binlog/values/json-value.js';
import { EngineError, type ErrorDetails } from '../errors.js';
import { parseLabels } from '../model/column-labels.js';
import type { ColumnSchema, TableSchema } from '../model/table-schema.js';

export const FromCanonicalErrorCode = {
  /** The text is not JSON. */
  BadJson: 'CANONICAL_BAD_JSON',
  /** A value that does not fit its column's type. */
  BadValue: 'CANONICAL_BAD_VALUE',
  /** A row names a column the table does not have. */
  UnknownColumn: 'CANONICAL_UNKNOWN_COLUMN',
} as const;
export type FromCanonicalErrorCode = (typeof FromCanonicalErrorCode)[keyof typeof FromCanonicalErrorCode];

export class FromCanonicalError extends EngineError {
  declare readonly code: FromCanonicalErrorCode;
  constructor(code: FromCanonicalErrorCode, message: string, details: ErrorDetails = {}) {
    super(code, message, details, { retryable: false });
  }
}

/** Where a value sits in a document: object keys and array indexes from the root. */
export type JsonPath = readonly string[];

const MAX_DEPTH = 1000;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Parses JSON text exactly: a number literal comes back as a number only when the double prints as
 * that same literal, else as RawJson of the literal; an object or array at a path `rawAt` accepts
 * comes back as RawJson of its compacted text (whitespace outside strings removed, nothing else
 * changed). Objects have no prototype, so any key is data. Throws CANONICAL_BAD_JSON with the offset.
 */
export function parseExactJson(text: string, rawAt: (path: JsonPath) => boolean = () => false): CanonicalValue {
  return new ExactParser(text, rawAt).document();
}

class ExactParser {
  #pos = 0;
  readonly #s: string;
  readonly #rawAt: (path: JsonPath) => boolean;

  constructor(text: string, rawAt: (path: JsonPath) => boolean) {
    this.#s = text;
    this.#rawAt = rawAt;
  }

  document(): CanonicalValue {
    const v = this.#value([], 0, true);
    this.#space();
    if (this.#pos !== this.#s.length) throw this.#fail('the end of the text');
    return v;
  }

  #fail(expected: string): FromCanonicalError {
    const found = this.#pos >= this.#s.length ? 'the end of the text' : JSON.stringify(this.#s.slice(this.#pos, this.#pos + 12));
    return new FromCanonicalError(FromCanonicalErrorCode.BadJson, `bad JSON at character ${this.#pos + 1}: expected ${expected}, found ${found}`, { offset: this.#pos });
  }

  #space(): void {
    const s = this.#s;
    while (this.#pos < s.length) {
      const c = s.charCodeAt(this.#pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.#pos++;
    }
  }

  /** `build` false: validate and skip (the caller keeps the text of a raw value). */
  #value(path: JsonPath, depth: number, build: boolean): CanonicalValue {
    if (depth > MAX_DEPTH) throw this.#fail(`nesting of at most ${MAX_DEPTH} levels`);
    this.#space();
    const c = this.#s.charCodeAt(this.#pos);
    if ((c === 0x7b || c === 0x5b) && build && this.#rawAt(path)) {
      const start = this.#pos;
      this.#value(path, depth, false);
      return new RawJson(compactJson(this.#s.slice(start, this.#pos)));
    }
    switch (c) {
      case 0x7b /* { */:
        return this.#object(path, depth, build);
      case 0x5b /* [ */:
        return this.#array(path, depth, build);
      case 0x22 /* " */:
        return this.#string();
      case 0x74 /* t */:
        return this.#literal('true', true);
      case 0x66 /* f */:
        return this.#literal('false', false);
      case 0x6e /* n */:
        return this.#literal('null', null);
      default:
        return this.#number();
    }
  }

  #literal(word: string, value: boolean | null): CanonicalValue {
    if (!this.#s.startsWith(word, this.#pos)) throw this.#fail('a JSON value');
    this.#pos += word.length;
    return value;
  }

  #object(path: JsonPath, depth: number, build: boolean): CanonicalValue {
    this.#pos++;
    const out = Object.create(null) as Record<string, CanonicalValue>;
    this.#space();
    if (this.#s.charCodeAt(this.#pos) === 0x7d) {
      this.#pos++;
      return out;
    }
    for (;;) {
      this.#space();
      if (this.#s.charCodeAt(this.#pos) !== 0x22) throw this.#fail('a key in double quotes');
      const key = this.#string();
      this.#space();
      if (this.#s.charCodeAt(this.#pos) !== 0x3a) throw this.#fail('":"');
      this.#pos++;
      const v = this.#value(build ? [...path, key] : path, depth + 1, build);
      if (build) out[key] = v;
      this.#space();
      const c = this.#s.charCodeAt(this.#pos);
      if (c === 0x7d) {
        this.#pos++;
        return out;
      }
      if (c !== 0x2c) throw this.#fail('"," or "}"');
      this.#pos++;
    }
  }

  #array(path: JsonPath, depth: number, build: boolean): CanonicalValue {
    this.#pos++;
    const out: CanonicalValue[] = [];
    this.#space();
    if (this.#s.charCodeAt(this.#pos) === 0x5d) {
      this.#pos++;
      return out;
    }
    for (;;) {
      const v = this.#value(build ? [...path, String(out.length)] : path, depth + 1, build);
      out.push(v);
      this.#space();
      const c = this.#s.charCodeAt(this.#pos);
      if (c === 0x5d) {
        this.#pos++;
        return out;
      }
      if (c !== 0x2c) throw this.#fail('"," or "]"');
      this.#pos++;
    }
  }

  #string(): string {
    const s = this.#s;
    const start = this.#pos;
    let i = start + 1;
    for (;;) {
      if (i >= s.length) throw this.#fail('a closing double quote');
      const c = s.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) {
        this.#pos = i;
        throw this.#fail('no control character inside a string');
      }
      i += c === 0x5c ? 2 : 1;
    }
    try {
      // JSON.parse validates the escapes.
      const v = JSON.parse(s.slice(start, i + 1)) as string;
      this.#pos = i + 1;
      return v;
    } catch {
      throw this.#fail('a valid string escape');
    }
  }

  #number(): CanonicalValue {
    const m = NUMBER.exec(this.#s.slice(this.#pos, this.#pos + 400));
    if (m === null) throw this.#fail('a JSON value');
    const token = m[0];
    this.#pos += token.length;
    return exactNumber(token);
  }
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/;

/** A number literal as a double when the double prints as the same literal, else the literal itself. */
function exactNumber(token: string): number | RawJson {
  const n = Number(token);
  return String(n) === token ? n : new RawJson(token);
}

/** JSON text without the whitespace outside strings; everything else byte for byte. */
export function compactJson(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
    } else if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch !== ' ' && ch !== '\n' && ch !== '\r' && ch !== '\t') out += ch;
  }
  return out;
}

// ---- values ---------------------------------------------------------------------------------

/**
 * One canonical value in the decoder's in-memory form for `column` of the DR: integers as numbers
 * (bigint beyond ±(2^53−1)), DECIMAL and temporal values as text at the column's scale, binary from
 * base64, ENUM/SET as the column's labels, JSON as JsonValue (MySQL) or its text (MariaDB).
 * `undefined` (a column the image did not log) stays undefined; null is SQL NULL.
 */
export function fromCanonical(value: CanonicalValue, column: ColumnSchema): ColumnValue | undefined {
  if (value === undefined) return undefined;
  if (value === null) return null;
  const bad = (expected: string): FromCanonicalError =>
    new FromCanonicalError(FromCanonicalErrorCode.BadValue, `column ${column.name} (${column.columnType}): expected ${expected}, found ${shown(value)}`, { column: column.name });
  if (column.dataType === 'json' || column.isJson) {
    // A MySQL partial JSON update as canonical JSON prints it: the diffs, to be applied to the DR
    // row's document, never written as one (it was, by salvage resolve).
    const patch = jsonPatchOf(value, bad);
    if (patch !== null) return patch;
    return column.dataType === 'json' ? new JsonValue(jsonNode(value, bad)) : jsonText(value, bad);
  }
  switch (column.dataType) {
    case 'tinyint':
    case 'smallint':
    case 'mediumint':
    case 'int':
    case 'integer':
    case 'bigint':
    case 'year':
    case 'bit': {
      const n = integerOf(value, bad);
      if ((column.unsigned || column.dataType === 'bit' || column.dataType === 'year') && (typeof n === 'bigint' ? n < 0n : n < 0)) throw bad('a non-negative integer');
      return n;
    }
    case 'decimal':
    case 'numeric':
      return decimalOf(value, column, bad);
    case 'float':
    case 'double':
    case 'real': {
      const text = numberText(value);
      const n = text === null || text.trim() === '' ? NaN : Number(text);
      if (!Number.isFinite(n)) throw bad('a number');
      return n;
    }
    case 'date':
    case 'datetime':
    case 'timestamp':
    case 'time':
      if (typeof value !== 'string') throw bad(`a ${column.dataType} string`);
      return temporalOf(value, column, bad);
    case 'char':
    case 'varchar':
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext': {
      if (typeof value === 'string') return value;
      const text = numberText(value);
      if (text === null) throw bad('a string');
      return text;
    }
    case 'enum':
      return enumOf(value, column, bad);
    case 'set':
      return setOf(value, column, bad);
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
    case 'uuid':
    case 'inet4':
    case 'inet6':
    case 'geometry':
    case 'point':
    case 'linestring':
    case 'polygon':
    case 'multipoint':
    case 'multilinestring':
    case 'multipolygon':
    case 'geometrycollection':
      if (typeof value !== 'string') throw bad('a base64 string');
      return base64Of(value, bad);
    case 'vector':
      return vectorOf(value, bad);
    default:
      throw bad(`a type this version converts (it has no conversion for ${column.dataType})`);
  }
}

function shown(v: CanonicalValue): string {
  if (v instanceof RawJson) return v.json.length > 60 ? `${v.json.slice(0, 60)}…` : v.json;
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? 'an array' : 'an object';
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

/** The literal of a number (number, RawJson number literal or digit string), or null for anything else. */
function numberText(v: CanonicalValue): string | null {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : null;
  if (v instanceof RawJson) return NUMBER.test(v.json) && NUMBER.exec(v.json)![0] === v.json ? v.json : null;
  if (typeof v === 'string') return v;
  return null;
}

function integerOf(v: CanonicalValue, bad: (expected: string) => FromCanonicalError): number | bigint {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw bad('an integer');
    return Number.isSafeInteger(v) ? v : BigInt(v);
  }
  const text = numberText(v);
  if (text === null || !/^-?\d+$/.test(text)) throw bad('an integer');
  const big = BigInt(text);
  return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : big;
}

/** `decimal(10,2)` → 2; no scale → 0. */
function scaleOf(columnType: string): number {
  const m = /\(\s*\d+\s*(?:,\s*(\d+)\s*)?\)/.exec(columnType);
  return m === null || m[1] === undefined ? 0 : Number(m[1]);
}

/** DECIMAL text as the server prints it at the column's scale: `7.5` → `7.50` for DECIMAL(10,2). */
function decimalOf(v: CanonicalValue, column: ColumnSchema, bad: (expected: string) => FromCanonicalError): string {
  const text = numberText(v);
  const m = text === null ? null : /^([-+]?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (m === null || (m[2] === '' && (m[3] ?? '') === '')) throw bad('a decimal number');
  const scale = scaleOf(column.columnType);
  let frac = m[3] ?? '';
  if (frac.length > scale) {
    // More digits than the column keeps would be rounded by the server: refuse, unless they are zeros.
    if (!/^0*$/.test(frac.slice(scale))) throw bad(`at most ${scale} decimal places`);
    frac = frac.slice(0, scale);
  }
  frac = frac.padEnd(scale, '0');
  const int = (m[2] ?? '').replace(/^0+(?=\d)/, '') || '0';
  const zero = /^0*$/.test(int + frac);
  return `${m[1] === '-' && !zero ? '-' : ''}${int}${scale > 0 ? `.${frac}` : ''}`;
}

/** `datetime(3)` → 3; none → 0. */
function fspOf(columnType: string): number {
  const m = /\((\d)\)/.exec(columnType);
  return m === null ? 0 : Number(m[1]);
}

const TEMPORAL: Readonly<Record<string, RegExp>> = {
  date: /^(\d{4}-\d{2}-\d{2})()$/,
  datetime: /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.(\d+))?$/,
  timestamp: /^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})(?:\.(\d+))?$/,
  time: /^(-?\d{2,3}:\d{2}:\d{2})(?:\.(\d+))?$/,
};

const TEMPORAL_SHAPE: Readonly<Record<string, string>> = {
  date: 'YYYY-MM-DD',
  datetime: 'YYYY-MM-DD HH:MM:SS[.ffffff]',
  timestamp: 'YYYY-MM-DD HH:MM:SS[.ffffff] (UTC)',
  time: '[-]HH:MM:SS[.ffffff]',
};

/** Temporal text with exactly the column's fractional digits, as the server prints it. */
function temporalOf(v: string, column: ColumnSchema, bad: (expected: string) => FromCanonicalError): string {
  const m = TEMPORAL[column.dataType]!.exec(v);
  if (m === null) throw bad(TEMPORAL_SHAPE[column.dataType]!);
  if (column.dataType === 'date') return v;
  const fsp = fspOf(column.columnType);
  let frac = m[2] ?? '';
  if (frac.length > fsp) {
    if (!/^0*$/.test(frac.slice(fsp))) throw bad(`at most ${fsp} fractional digits`);
    frac = frac.slice(0, fsp);
  }
  return fsp === 0 ? m[1]! : `${m[1]!}.${frac.padEnd(fsp, '0')}`;
}

/** The labels of an ENUM or SET column type (see src/model/column-labels.ts). */
export const typeLabels = parseLabels;

/** The declared label `s` names: exactly, else ignoring case (as the column's collation usually does). */
function labelOf(s: string, labels: readonly string[]): number {
  const exact = labels.indexOf(s);
  if (exact !== -1) return exact;
  const lower = s.toLowerCase();
  return labels.findIndex((l) => l.toLowerCase() === lower);
}

function enumOf(v: CanonicalValue, column: ColumnSchema, bad: (expected: string) => FromCanonicalError): string {
  const labels = typeLabels(column.columnType);
  const expected = `one of ${labels.map((l) => JSON.stringify(l)).join(', ')} (or its 1-based index)`;
  if (typeof v === 'string') {
    if (v === '') return '';
    const i = labelOf(v, labels);
    if (i === -1) throw bad(expected);
    return labels[i]!;
  }
  const n = integerOf(v, () => bad(expected));
  if (n === 0) return '';
  const label = typeof n === 'number' ? labels[n - 1] : undefined;
  if (label === undefined) throw bad(expected);
  return label;
}

function setOf(v: CanonicalValue, column: ColumnSchema, bad: (expected: string) => FromCanonicalError): string {
  const labels = typeLabels(column.columnType);
  const expected = `members of ${labels.map((l) => JSON.stringify(l)).join(', ')} joined by commas (or the bitmask)`;
  const members = new Set<number>();
  if (typeof v === 'string') {
    if (v !== '') {
      for (const part of v.split(',')) {
        const i = labelOf(part, labels);
        if (i === -1) throw bad(expected);
        members.add(i);
      }
    }
  } else {
    const n = integerOf(v, () => bad(expected));
    let mask = BigInt(n);
    if (mask < 0n || mask >= 1n << BigInt(labels.length)) throw bad(expected);
    for (let bit = 0; mask !== 0n; bit++, mask >>= 1n) if ((mask & 1n) === 1n) members.add(bit);
  }
  // The server stores members in declaration order, whatever order they were given in.
  return [...members].sort((a, b) => a - b).map((i) => labels[i]!).join(',');
}

function base64Of(v: string, bad: (expected: string) => FromCanonicalError): Buffer {
  const buf = Buffer.from(v, 'base64');
  // Node's decoder skips what is not base64: check the text is exactly the encoding of its bytes.
  if (buf.toString('base64') !== v) throw bad('a base64 string');
  return buf;
}

function vectorOf(v: CanonicalValue, bad: (expected: string) => FromCanonicalError): Buffer {
  const items = v instanceof RawJson ? parseExactJson(v.json) : v;
  if (!Array.isArray(items)) throw bad('an array of numbers');
  const buf = Buffer.alloc(items.length * 4);
  (items as readonly CanonicalValue[]).forEach((item, i) => {
    const text = typeof item === 'string' ? null : numberText(item);
    const n = text === null ? NaN : Number(text);
    if (!Number.isFinite(n)) throw bad('an array of numbers');
    buf.writeFloatLE(n, i * 4);
  });
  return buf;
}

/** MySQL JSON: the document as the decoder holds it (integers beyond 2^53 as bigint, other inexact numbers as JsonDecimal). */
function jsonNode(v: CanonicalValue, bad: (expected: string) => FromCanonicalError): JsonNode {
  if (v === null || v === undefined) return null;
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (v instanceof RawJson) {
    const t = v.json;
    if (t.startsWith('{') || t.startsWith('[')) return jsonNode(parseExactJson(t), bad);
    if (!NUMBER.test(t)) throw bad('a JSON document');
    return /^-?\d+$/.test(t) ? BigInt(t) : new JsonDecimal(t);
  }
  if (Array.isArray(v)) return (v as readonly CanonicalValue[]).map((x) => jsonNode(x, bad));
  const out: JsonObject = {};
  for (const [k, x] of Object.entries(v as Record<string, CanonicalValue>)) out[k] = jsonNode(x, bad);
  return out;
}

const PATCH_OPS: ReadonlySet<string> = new Set(['replace', 'insert', 'remove']);

/**
 * The JsonPatch that `{"$jsonPatch": [{op, path, value?}, …]}` (canonical-json.ts) stands for, or
 * null for any other value. A document of exactly that shape is read as diffs too: canonical JSON
 * gives the form to partial updates (README, "Canonical JSON for row values").
 */
function jsonPatchOf(v: CanonicalValue, bad: (expected: string) => FromCanonicalError): JsonPatch | null {
  let o: CanonicalValue = v;
  if (o instanceof RawJson) {
    if (!/^\{\s*"\$jsonPatch"\s*:/.test(o.json)) return null;
    o = parseExactJson(o.json) as CanonicalValue;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o) || o instanceof RawJson) return null;
  const keys = Object.keys(o);
  const ops = (o as Record<string, CanonicalValue>)['$jsonPatch'];
  if (keys.length !== 1 || !Array.isArray(ops)) return null;
  return new JsonPatch(
    (ops as readonly CanonicalValue[]).map((d) => {
      const op = typeof d === 'object' && d !== null && !Array.isArray(d) && !(d instanceof RawJson) ? (d as Record<string, CanonicalValue>) : null;
      if (op === null || typeof op['op'] !== 'string' || !PATCH_OPS.has(op['op']) || typeof op['path'] !== 'string' || (op['op'] !== 'remove') !== Object.hasOwn(op, 'value')) {
        throw bad('{"$jsonPatch": [{"op": "replace"|"insert"|"remove", "path": "$…", "value": … (not for remove)}, …]}');
      }
      const kind = op['op'] as JsonPatchOperation['op'];
      return kind === 'remove' ? { op: kind, path: op['path'] } : { op: kind, path: op['path'], value: jsonNode(op['value'], bad) };
    }),
  );
}

/** MariaDB JSON (LONGTEXT with a json_valid CHECK): the document's compact text. */
function jsonText(v: CanonicalValue, bad: (expected: string) => FromCanonicalError): string {
  // A MariaDB JSON column is text: the ledger's images and the exports hold the document's text
  // ("{\"b\":3}"), which is written as it is. Only a string that is not a JSON text is a JSON
  // string value to quote. (Quoting them all wrote the document as a JSON string, and made every
  // recorded DR row with a document differ from the DR's own.)
  if (typeof v === 'string') return isJsonText(v) ? v : JSON.stringify(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number') return String(v);
  if (v instanceof RawJson) return compactJson(v.json);
  if (v === null || v === undefined) throw bad('a JSON document');
  // An object or array parsed as data (not kept raw): printed back exactly but for duplicate keys, already gone.
  return stringifyCanonical(v);
}

// ---- rows -----------------------------------------------------------------------------------

/**
 * A row image keyed by column name (canonical JSON, as the ledger and quarantine store it) in the
 * DR table's column order; columns the object leaves out are `undefined` (not logged). `@n` names
 * column n (1-based), as a binlog without column names has it.
 */
export function rowFromCanonical(value: CanonicalValue, table: TableSchema): RowImage {
  const where = `${table.schema}.${table.table}`;
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof RawJson) {
    throw new FromCanonicalError(FromCanonicalErrorCode.BadValue, `a row of ${where}: expected an object keyed by column name, found ${shown(value)}`, { table: where });
  }
  const row: RowImage = new Array<ColumnValue | undefined>(table.columns.length).fill(undefined);
  const unknown: string[] = [];
  for (const [name, v] of Object.entries(value as Record<string, CanonicalValue>)) {
    const i = columnIndex(table, name);
    if (i === -1) {
      unknown.push(name);
      continue;
    }
    row[i] = fromCanonical(v, table.columns[i]!);
  }
  if (unknown.length > 0) {
    throw new FromCanonicalError(FromCanonicalErrorCode.UnknownColumn, `${where} has no column ${unknown.map((n) => JSON.stringify(n)).join(', ')} (it has ${table.columns.map((c) => c.name).join(', ')})`, {
      table: where,
      column: unknown[0],
    });
  }
  return row;
}

function columnIndex(table: TableSchema, name: string): number {
  const i = table.columns.findIndex((c) => c.name === name);
  if (i !== -1) return i;
  const m = /^@(\d+)$/.exec(name);
  return m !== null && Number(m[1]) >= 1 && Number(m[1]) <= table.columns.length ? Number(m[1]) - 1 : -1;
}

/** Primary-key values (canonical, in key order) in the decoder's types; throws when the count is not the key's. */
export function keyFromCanonical(parts: readonly CanonicalValue[], table: TableSchema): ColumnValue[] {
  const where = `${table.schema}.${table.table}`;
  const pk = table.primaryKey ?? [];
  if (pk.length === 0 || parts.length !== pk.length) {
    throw new FromCanonicalError(FromCanonicalErrorCode.BadValue, `a key of ${where}: expected ${pk.length === 0 ? 'a table with a primary key' : `${pk.length} value(s) (${pk.join(', ')})`}, found ${parts.length}`, { table: where });
  }
  return pk.map((name, k) => {
    const col = table.columns.find((c) => c.name === name)!;
    const v = fromCanonical(parts[k], col);
    if (v === null || v === undefined) throw new FromCanonicalError(FromCanonicalErrorCode.BadValue, `a key of ${where}: ${name} may not be null`, { table: where, column: name });
    return v;
  });
}

function isJsonText(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
