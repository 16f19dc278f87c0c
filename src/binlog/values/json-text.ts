/**
 * JSON text → JsonNode, keeping every number exactly: the document a DR gives back as text (a
 * MariaDB JSON column is LONGTEXT; MySQL prints its binary JSON as text), turned into the tree the
 * binlog decoder makes, so that MySQL's partial JSON updates (json-diff.ts) can be applied to it.
 */
import { JsonDecimal, type JsonNode, type JsonObject } from './json-value.js';

/** Deeper than this a document is not parsed (the JS stack), as canonical-json.ts does. */
const MAX_DEPTH = 1000;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The document `text` holds, or undefined when it is not one JSON value (or names a member twice, which
 * the two servers resolve differently: no tree would say which one the DR means). Integers are
 * numbers within ±(2^53−1), else bigints; other numbers are doubles when the double prints back as
 * the same text, else JsonDecimal with the text as written, so nothing is rounded or re-spelt.
 */
export function parseJsonText(text: string): JsonNode | undefined {
  const p = new Parser(text);
  try {
    const v = p.value(0);
    p.space();
    return p.pos === text.length ? v : undefined;
  } catch (e) {
    if (e === NOT_JSON) return undefined;
    throw e;
  }
}

const NOT_JSON = Symbol('not JSON');

class Parser {
  pos = 0;

  constructor(private readonly s: string) {}

  space(): void {
    const s = this.s;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  value(depth: number): JsonNode {
    if (depth > MAX_DEPTH) throw NOT_JSON;
    this.space();
    const c = this.s.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.object(depth);
      case 0x5b /* [ */:
        return this.array(depth);
      case 0x22 /* " */:
        return this.string();
      case 0x74 /* t */:
        return this.literal('true', true);
      case 0x66 /* f */:
        return this.literal('false', false);
      case 0x6e /* n */:
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        throw NOT_JSON;
    }
  }

  private literal(word: string, v: boolean | null): boolean | null {
    if (!this.s.startsWith(word, this.pos)) throw NOT_JSON;
    this.pos += word.length;
    return v;
  }

  private object(depth: number): JsonObject {
    this.pos++;
    // No prototype: a member named __proto__ is a member like any other.
    const o = Object.create(null) as JsonObject;
    this.space();
    if (this.s.charCodeAt(this.pos) === 0x7d) {
      this.pos++;
      return o;
    }
    for (;;) {
      this.space();
      if (this.s.charCodeAt(this.pos) !== 0x22) throw NOT_JSON;
      const key = this.string();
      if (Object.hasOwn(o, key)) throw NOT_JSON;
      this.space();
      if (this.s.charCodeAt(this.pos) !== 0x3a /* : */) throw NOT_JSON;
      this.pos++;
      o[key] = this.value(depth + 1);
      this.space();
      const c = this.s.charCodeAt(this.pos++);
      if (c === 0x7d /* } */) return o;
      if (c !== 0x2c /* , */) throw NOT_JSON;
    }
  }

  private array(depth: number): JsonNode[] {
    this.pos++;
    const a: JsonNode[] = [];
    this.space();
    if (this.s.charCodeAt(this.pos) === 0x5d) {
      this.pos++;
      return a;
    }
    for (;;) {
      a.push(this.value(depth + 1));
      this.space();
      const c = this.s.charCodeAt(this.pos++);
      if (c === 0x5d /* ] */) return a;
      if (c !== 0x2c /* , */) throw NOT_JSON;
    }
  }

  private string(): string {
    const start = this.pos;
    const end = jsonStringEnd(this.s, start);
    if (end < 0) throw NOT_JSON;
    this.pos = end;
    try {
      // JSON.parse checks the escapes and decodes them.
      return JSON.parse(this.s.slice(start, end)) as string;
    } catch {
      throw NOT_JSON;
    }
  }

  private number(): JsonNode {
    const start = this.pos;
    const end = jsonNumberEnd(this.s, start);
    if (end < 0) throw NOT_JSON;
    this.pos = end;
    const token = this.s.slice(start, end);
    if (!/[.eE]/.test(token)) {
      if (token === '-0') return new JsonDecimal(token);
      const big = BigInt(token);
      return big <= MAX_SAFE && big >= -MAX_SAFE ? Number(big) : big;
    }
    const n = Number(token);
    return Number.isFinite(n) && String(n) === token ? n : new JsonDecimal(token);
  }
}

/**
 * The index just past the JSON string token that opens at `start` (a `"`), or -1 when it does not
 * close or holds a control character; its escapes are left for JSON.parse to check.
 */
export function jsonStringEnd(s: string, start: number): number {
  let i = start + 1;
  for (;;) {
    if (i >= s.length) return -1;
    const c = s.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return -1;
    i += c === 0x5c ? 2 : 1;
  }
}

/** The index just past the JSON number token that starts at `start`, or -1 when none does (JSON's grammar: no `+`, no leading zeros, digits after `.` and `e`). */
export function jsonNumberEnd(s: string, start: number): number {
  let i = start;
  if (s.charCodeAt(i) === 0x2d) i++;
  const intStart = i;
  while (isDigit(s.charCodeAt(i))) i++;
  if (i === intStart || (s.charCodeAt(intStart) === 0x30 && i - intStart > 1)) return -1;
  if (s.charCodeAt(i) === 0x2e /* . */) {
    const fracStart = ++i;
    while (isDigit(s.charCodeAt(i))) i++;
    if (i === fracStart) return -1;
  }
  const e = s.charCodeAt(i);
  if (e === 0x65 || e === 0x45 /* e E */) {
    i++;
    const sign = s.charCodeAt(i);
    if (sign === 0x2b || sign === 0x2d) i++;
    const expStart = i;
    while (isDigit(s.charCodeAt(i))) i++;
    if (i === expStart) return -1;
  }
  return i;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
