/**
 * SQL literals written by us instead of by mysql2's `format`, for the hot path's large multi-row
 * statements (DESIGN.md, "The streaming hot path"). The text is exactly what mysql2's escaping
 * produces for the same values (sql-literal.test.ts compares them on generated strings with every
 * special character and 4-byte UTF-8), so the DR reads the same values; what changes is the cost:
 *
 * - the statement is assembled from an array of parts joined once, a flat string, where
 *   mysql2 appends two pieces per value to a rope that is flattened again when the packet is
 *   written — and that rope's thousands of pieces are what the garbage collector walks while the
 *   statement waits in the connection's queue (db/statement-pipeline.ts);
 * - a string without control characters (the ledger's JSON: JSON escapes them) is escaped by one
 *   regex replace, which builds a flat string, instead of a loop appending slices;
 * - the session then sends the text as it is (no placeholders left to find: sql-session.ts).
 *
 * Backslash escapes are assumed on, as mysql2 assumes them: the engine never sets
 * NO_BACKSLASH_ESCAPES on its sessions.
 */
import { mysql } from './driver.js';
import { CharsetText } from '../binlog/values/charset-text.js';

/** The characters mysql2 escapes inside a quoted string: NUL, \b, \t, \n, \r, Ctrl-Z, ", ', \. */
const SPECIAL = /[\0\b\t\n\r\x1a"'\\]/;
/** Those of them written as a backslash and another letter. */
const CONTROL = /[\0\b\t\n\r\x1a]/;
/** Those written as a backslash and themselves. */
const QUOTES = /["'\\]/g;

/** `value` as a quoted MySQL string literal, byte for byte as mysql2 escapes it. */
export function quoteString(value: string): string {
  // Most data values (names, DECIMAL and date text) hold no special character: a global replace
  // that matches nothing still allocated (128 MB sampled in a 200,000-change apply).
  if (!SPECIAL.test(value)) return "'" + value + "'";
  // The ledger's JSON images always hold quotes and rarely a control character (JSON escapes them):
  // one regex replace builds the flat result ≈ 2.7× faster than the loop below (a 20,000-image micro-benchmark).
  if (!CONTROL.test(value)) return "'" + value.replace(QUOTES, '\\$&') + "'";
  const first = value.search(SPECIAL);
  let out = "'" + value.slice(0, first);
  let chunk = first;
  for (let i = first; i < value.length; i++) {
    let escaped: string;
    switch (value.charCodeAt(i)) {
      case 0:
        escaped = '\\0';
        break;
      case 8:
        escaped = '\\b';
        break;
      case 9:
        escaped = '\\t';
        break;
      case 10:
        escaped = '\\n';
        break;
      case 13:
        escaped = '\\r';
        break;
      case 26:
        escaped = '\\Z';
        break;
      case 34:
        escaped = '\\"';
        break;
      case 39:
        escaped = "\\'";
        break;
      case 92:
        escaped = '\\\\';
        break;
      default:
        continue;
    }
    out += value.slice(chunk, i) + escaped;
    chunk = i + 1;
  }
  return out + value.slice(chunk) + "'";
}

/** One bound value as a literal: the types the row writer and the state store bind; anything else as mysql2 writes it. */
export function sqlLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  switch (typeof value) {
    case 'string':
      return quoteString(value);
    case 'number':
    case 'bigint':
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
  }
  // Hex digits need no escaping: X'…' directly, as mysql2 writes bytes.
  if (Buffer.isBuffer(value)) return `X'${value.toString('hex')}'`;
  // Text the server maps one way only: its bytes as logged, under its charset's introducer.
  if (value instanceof CharsetText) return value.toSqlString();
  if (value instanceof Uint8Array) return `X'${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}'`;
  const driver = mysql();
  return driver.escape(value as Parameters<typeof driver.escape>[0]);
}

/**
 * `template` with each `?` placeholder replaced by the next of `params` as a literal. For the
 * engine's own statement templates: a `?` inside a backtick-quoted identifier or a single-quoted
 * string is text, not a placeholder (the only quoting those templates use); placeholders beyond
 * `params` stay as they are, as mysql2 leaves them.
 */
export function formatSql(template: string, params: readonly unknown[]): string {
  if (params.length === 0) return template;
  const parts: string[] = [];
  let chunk = 0;
  let next = 0;
  const n = template.length;
  for (let i = 0; i < n && next < params.length; i++) {
    const c = template.charCodeAt(i);
    if (c === 0x3f /* ? */) {
      parts.push(template.slice(chunk, i), sqlLiteral(params[next++]));
      chunk = i + 1;
    } else if (c === 0x60 /* ` */ || c === 0x27 /* ' */) {
      i = quotedEnd(template, i, c);
    }
  }
  parts.push(template.slice(chunk));
  return parts.join('');
}

/** The index of the quote closing the quoted run that opens at `start` (a doubled quote continues it; in strings, so does a backslash escape). */
function quotedEnd(text: string, start: number, quote: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote === 0x27 && c === 0x5c /* \ */) {
      i++;
      continue;
    }
    if (c !== quote) continue;
    if (text.charCodeAt(i + 1) === quote) {
      i++;
      continue;
    }
    return i;
  }
  return text.length;
}
