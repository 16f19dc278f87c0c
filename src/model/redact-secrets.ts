/**
 * Credential literals taken out of logged SQL before its text leaves the process (ledger, reports,
 * quarantine, explain, inspect, error messages). A failed primary's binlog logs account statements
 * as QUERY events, and MariaDB 10.11 logs most of them as typed, plaintext included:
 * `CREATE USER … IDENTIFIED BY 'pw'`, `ALTER USER … IDENTIFIED BY 'pw'`, `GRANT … TO u IDENTIFIED
 * BY 'pw'`, `IDENTIFIED VIA ed25519 USING PASSWORD('pw')`; `SET PASSWORD FOR u = PASSWORD('pw')` is
 * logged rewritten with the hash (`SET PASSWORD FOR 'u'@'%'='*…'`), and MySQL logs `IDENTIFIED WITH
 * 'plugin' AS '<hash>'`. A hash is a secret too (it logs in as the account under
 * mysql_native_password, and is open to an offline search). CREATE SERVER, ALTER SERVER and CHANGE
 * MASTER are not binlogged by MariaDB 10.11, but are handled the same way.
 *
 * Encryption keys too: any statement, DML above all, can give one as a literal to AES_ENCRYPT,
 * AES_DECRYPT, DES_ENCRYPT, DES_DECRYPT, ENCODE or DECODE (`UPDATE t SET c = AES_ENCRYPT('v',
 * 'key')`), and the binlog logs its text as typed: as a statement-based Query event, or as the
 * ANNOTATE_ROWS / ROWS_QUERY text in front of the row events (which holds only the ciphertext).
 *
 * Each credential value becomes `'<redacted>'`; the rest of the statement stays as logged, so a
 * DBA still sees what was done to which account or column.
 */

/** What stands in a statement for each credential literal taken out of it. */
export const REDACTED = "'<redacted>'";

interface Token {
  readonly kind: 'word' | 'string' | 'identifier' | 'punct';
  readonly start: number;
  readonly end: number;
  /** Upper-case text of a word; the character of a punctuation mark; '' otherwise. */
  readonly text: string;
}

/**
 * The cheap test in front of the scan: a credential can only be in a statement that names
 * PASSWORD (SET PASSWORD, `BY PASSWORD`, `PASSWORD(…)`, MASTER_PASSWORD, a server's `PASSWORD`
 * option) or IDENTIFIED (every other form), and a key in one that names ENCRYPT, DECRYPT, ENCODE or
 * DECODE (`(?:en|de)c(?:rypt|ode)` finds all four, AES_ and DES_ included; a column named
 * `encrypted` only costs a scan). Most logged statements are DML and leave here unchanged. It runs
 * once per logged statement that reaches an output, never per row event; V8 runs this literal
 * search in ≈ 92 ns per DML statement of 70–160 characters (86 ns with PASSWORD and IDENTIFIED
 * alone), a hand-written loop over the characters in ≈ 300 ns (Node 20).
 */
const MAY_HOLD_SECRET = /password|identified|(?:en|de)c(?:rypt|ode)/i;

/** True when `sql` may hold a credential literal (redactSecrets's pre-check). */
export function mayHoldSecret(sql: string): boolean {
  return MAY_HOLD_SECRET.test(sql);
}

/**
 * `sql` with each credential literal replaced by REDACTED, else `sql` itself (the same string).
 *
 * Redacted: the value after `IDENTIFIED … BY`, `BY PASSWORD`, `USING`, `AS` (after IDENTIFIED
 * WITH), `REPLACE` (MySQL's current password), `PASSWORD`, `MASTER_PASSWORD`, `SOURCE_PASSWORD`
 * (with or without `=`), and after `=` in SET PASSWORD, in account statements (CREATE/ALTER USER,
 * GRANT, SET PASSWORD, CREATE/ALTER SERVER, CHANGE MASTER / REPLICATION SOURCE, START
 * SLAVE/REPLICA, any statement with IDENTIFIED); and the argument of `PASSWORD(…)` and
 * `OLD_PASSWORD(…)` in any statement. In any statement too, the key (second) argument of
 * AES_ENCRYPT, AES_DECRYPT, DES_ENCRYPT, DES_DECRYPT, ENCODE and DECODE: each value anywhere inside
 * it (`UNHEX(SHA2('k', 256))` gives `UNHEX(SHA2('<redacted>', 256))`), or the whole argument when
 * it is a number (not for DES_ENCRYPT, whose number picks a key of the server's key file); a key
 * that is no literal (a column, `@var`) stays, and DECODE with three arguments or more (MariaDB's
 * sql_mode=ORACLE DECODE, which compares values) is left alone. A value is a quoted string
 * (either quote, doubled quotes, backslash escapes), with its introducer (`_utf8mb4'…'`), prefix
 * (`X'…'`, `N'…'`) and any string literals right after it (which the server joins), or a 0x/0b
 * number; an unterminated one is redacted to the end. Comments are skipped (the text of `/*! … *\/` is read as code, the server
 * runs it); the body of a plain comment is redacted as if it were code.
 *
 * A Query event's sql_mode is not at hand here: where the text has a backslash, it is read both
 * with backslash escapes and without (NO_BACKSLASH_ESCAPES), and what either reading finds is
 * redacted.
 */
export function redactSecrets(sql: string): string {
  if (!mayHoldSecret(sql)) return sql;
  const ranges: [number, number][] = [];
  scan(sql, 0, sql.length, true, ranges);
  if (sql.includes('\\')) scan(sql, 0, sql.length, false, ranges);
  if (ranges.length === 0) return sql;
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let out = '';
  let at = 0;
  let i = 0;
  while (i < ranges.length) {
    const start = ranges[i]![0];
    let end = ranges[i]![1];
    for (i++; i < ranges.length && ranges[i]![0] <= end; i++) end = Math.max(end, ranges[i]![1]);
    out += sql.slice(at, start) + REDACTED;
    at = end;
  }
  return out + sql.slice(at);
}

function isWordChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x24 || c >= 0x80;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x0b || c === 0x0c;
}

/** End of the quoted text opening at `from` (just past its closing quote; `to` if it has none). */
function quotedEnd(sql: string, from: number, to: number, escapes: boolean): number {
  const q = sql.charCodeAt(from);
  let i = from + 1;
  while (i < to) {
    const c = sql.charCodeAt(i);
    if (c === 0x5c && escapes && q !== 0x60) {
      i += 2;
      continue;
    }
    if (c === q) {
      if (i + 1 < to && sql.charCodeAt(i + 1) === q) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return to;
}

/** Tokens of sql[from, to): comments dropped, a plain comment's body scanned on its own into `ranges`. */
function tokenize(sql: string, from: number, to: number, escapes: boolean, ranges: [number, number][]): Token[] {
  const tokens: Token[] = [];
  let inExecutable = false;
  let i = from;
  while (i < to) {
    const c = sql.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const next = i + 1 < to ? sql.charCodeAt(i + 1) : -1;
    if (c === 0x2f && next === 0x2a) {
      // /*! and /*M! (optionally a version) hold code the server runs; /* … */ and /*+ hints */ do not.
      let k = i + 2;
      if (k < to && (sql.charCodeAt(k) === 0x4d || sql.charCodeAt(k) === 0x6d) && k + 1 < to && sql.charCodeAt(k + 1) === 0x21) k++;
      if (k < to && sql.charCodeAt(k) === 0x21) {
        k++;
        while (k < to && sql.charCodeAt(k) >= 0x30 && sql.charCodeAt(k) <= 0x39) k++;
        inExecutable = true;
        i = k;
        continue;
      }
      const close = sql.indexOf('*/', i + 2);
      const bodyEnd = close < 0 || close >= to ? to : close;
      scan(sql, i + 2, bodyEnd, escapes, ranges);
      i = bodyEnd === to ? to : bodyEnd + 2;
      continue;
    }
    if (c === 0x2a && next === 0x2f && inExecutable) {
      inExecutable = false;
      i += 2;
      continue;
    }
    if (c === 0x23 || (c === 0x2d && next === 0x2d && (i + 2 >= to || sql.charCodeAt(i + 2) <= 0x20))) {
      const eol = sql.indexOf('\n', i);
      i = eol < 0 || eol >= to ? to : eol + 1;
      continue;
    }
    if (c === 0x27 || c === 0x22) {
      const end = quotedEnd(sql, i, to, escapes);
      tokens.push({ kind: 'string', start: i, end, text: '' });
      i = end;
      continue;
    }
    if (c === 0x60) {
      const end = quotedEnd(sql, i, to, false);
      tokens.push({ kind: 'identifier', start: i, end, text: '' });
      i = end;
      continue;
    }
    if (isWordChar(c)) {
      let k = i + 1;
      while (k < to && isWordChar(sql.charCodeAt(k))) k++;
      // X'…', B'…', N'…': one string literal with its prefix.
      if (k === i + 1 && k < to && sql.charCodeAt(k) === 0x27 && 'xXbBnN'.includes(sql[i]!)) {
        const end = quotedEnd(sql, k, to, escapes);
        tokens.push({ kind: 'string', start: i, end, text: '' });
        i = end;
        continue;
      }
      tokens.push({ kind: 'word', start: i, end: k, text: sql.slice(i, k).toUpperCase() });
      i = k;
      continue;
    }
    tokens.push({ kind: 'punct', start: i, end: i + 1, text: sql[i]! });
    i++;
  }
  return tokens;
}

const HEX_OR_BIT = /^0(?:X[0-9A-F]+|B[01]+)$/;
/** Words after which a value is a credential in an account statement (with or without `=` between). */
const SECRET_OPTIONS = new Set(['PASSWORD', 'MASTER_PASSWORD', 'SOURCE_PASSWORD']);
/** Words after which a value is a credential in an account statement. */
const SECRET_AFTER = new Set(['BY', 'USING', 'REPLACE', ...SECRET_OPTIONS]);
const PASSWORD_FUNCTIONS = new Set(['PASSWORD', 'OLD_PASSWORD']);
/** Words after which, inside a compound statement's body, another statement begins. */
const STATEMENT_OPENERS = new Set(['BEGIN', 'THEN', 'ELSE', 'DO', 'LOOP', 'REPEAT']);

/** The tokens [start, end) of the value that begins at `i`, or null when none does. */
function valueAt(tokens: readonly Token[], i: number): number | null {
  const t = tokens[i]!;
  let k = i;
  if (t.kind === 'word') {
    if (HEX_OR_BIT.test(t.text)) return i + 1;
    // _charset introducer: the value is introducer and literal.
    if (t.text.length < 2 || t.text.charCodeAt(0) !== 0x5f) return null;
    const next = tokens[i + 1];
    if (next === undefined) return null;
    if (next.kind === 'word' && HEX_OR_BIT.test(next.text)) return i + 2;
    if (next.kind !== 'string') return null;
    k = i + 1;
  } else if (t.kind !== 'string') return null;
  // Adjacent string literals are one value to the server ('pa' 'ss' is 'pass').
  k++;
  while (k < tokens.length && tokens[k]!.kind === 'string') k++;
  return k;
}

const inSet = (t: Token | undefined, words: ReadonlySet<string>): boolean => t !== undefined && t.kind === 'word' && words.has(t.text);
const word = (t: Token | undefined, ...words: string[]): boolean => t !== undefined && t.kind === 'word' && words.includes(t.text);
const punct = (t: Token | undefined, ch: string): boolean => t !== undefined && t.kind === 'punct' && t.text === ch;

/** Built-in functions whose second argument is an encryption key (ENCODE/DECODE: a password). */
const KEY_FUNCTIONS = new Set(['AES_ENCRYPT', 'AES_DECRYPT', 'DES_ENCRYPT', 'DES_DECRYPT', 'ENCODE', 'DECODE']);
/** Words after which `name (` names a table being created, not a call (`CREATE TABLE decode (…)`). */
const NAMES_A_TABLE = new Set(['TABLE', 'EXISTS']);
/** One word of a decimal number as tokenize splits it (`-1.5E3` is `-`, `1`, `.`, `5E3`). */
const DECIMAL_WORD = /^[0-9]+(?:E[0-9]*)?$/;

/** True when tokens [from, to) are one decimal number, signs and exponent included. */
function isNumber(tokens: readonly Token[], from: number, to: number): boolean {
  let digits = false;
  for (let k = from; k < to; k++) {
    const t = tokens[k]!;
    if (t.kind === 'word' && DECIMAL_WORD.test(t.text)) digits = true;
    else if (!(t.kind === 'punct' && (t.text === '.' || t.text === '-' || t.text === '+'))) return false;
  }
  return digits;
}

/** A parenthesis open at this point of the scan: a key function's call (with its arguments so far) or any other. */
interface OpenParen {
  /** The function's upper-case name when the parenthesis opens a KEY_FUNCTIONS call, else null. */
  readonly call: string | null;
  args: number;
  /** Tokens [keyStart, keyEnd) are the key argument; -1 until its comma (keyEnd: until the next one). */
  keyStart: number;
  keyEnd: number;
}

/**
 * Adds to `ranges` the literals of each key argument of a KEY_FUNCTIONS call in `tokens`. The
 * argument is cut at the call's own commas, so commas and parentheses nested in either argument
 * (`AES_ENCRYPT(CONCAT(a, ','), UNHEX('…'))`) do not move it. A call left open runs to the end of
 * its statement: what follows its comma is redacted as the key. One pass with a stack of open
 * parentheses, then one sweep over the tokens the key arguments cover: linear even in text that
 * one reading of its backslashes leaves with thousands of calls open (a walk per call to its end
 * took 43 s over 20,000 of them, and with a literal in each ran out of memory).
 */
function scanKeyArguments(tokens: readonly Token[], ranges: [number, number][]): void {
  const open: OpenParen[] = [];
  /** +1 where a key argument begins, -1 just past it: the sweep's running sum is > 0 inside one. */
  let cover: Int32Array | null = null;
  const close = (p: OpenParen, at: number): void => {
    if (p.call === null || p.keyStart < 0) return;
    const end = p.keyEnd < 0 ? at : p.keyEnd;
    if (end <= p.keyStart) return;
    // MariaDB's sql_mode=ORACLE DECODE(expr, search, result, …) compares values: three arguments or more.
    if (p.call === 'DECODE' && p.args > 2) return;
    // DES_ENCRYPT(str, n): n picks a key of the server's key file, and is no secret.
    if (p.call !== 'DES_ENCRYPT' && isNumber(tokens, p.keyStart, end)) {
      ranges.push([tokens[p.keyStart]!.start, tokens[end - 1]!.end]);
      return;
    }
    cover ??= new Int32Array(tokens.length + 1);
    cover[p.keyStart]!++;
    cover[end]!--;
  };
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k]!;
    if (t.kind !== 'punct') continue;
    if (t.text === '(') {
      const name = tokens[k - 1];
      // `schema.decode(…)` is a stored function of that name, `CREATE TABLE encode (…)` a table.
      const call = inSet(name, KEY_FUNCTIONS) && !punct(tokens[k - 2], '.') && !inSet(tokens[k - 2], NAMES_A_TABLE) ? name!.text : null;
      open.push({ call, args: 1, keyStart: -1, keyEnd: -1 });
    } else if (t.text === ')') {
      const p = open.pop();
      if (p !== undefined) close(p, k);
    } else if (t.text === ',') {
      const p = open[open.length - 1];
      if (p === undefined || p.call === null) continue;
      p.args++;
      if (p.args === 2) p.keyStart = k + 1;
      else if (p.args === 3) p.keyEnd = k;
    } else if (t.text === ';') {
      for (let p = open.pop(); p !== undefined; p = open.pop()) close(p, k);
    }
  }
  for (let p = open.pop(); p !== undefined; p = open.pop()) close(p, tokens.length);
  if (cover === null) return;
  let inside = 0;
  for (let k = 0; k < tokens.length; k++) {
    inside += cover[k]!;
    if (inside <= 0) continue;
    // A value stops at the `,`, `)` or `;` that ends its argument: it cannot run past it.
    const stop = valueAt(tokens, k);
    if (stop === null) continue;
    ranges.push([tokens[k]!.start, tokens[stop - 1]!.end]);
    for (k++; k < stop; k++) inside += cover[k]!;
    k--;
  }
}

/** What a statement of a segment (between semicolons) is, as far as credentials go. */
function accountVerb(tokens: readonly Token[], s: number): 'account' | 'set-password' | null {
  let i = s;
  // MariaDB's SET STATEMENT var=value … FOR <statement>: the statement after FOR is the one that runs.
  if (word(tokens[i], 'SET') && word(tokens[i + 1], 'STATEMENT')) {
    while (i < tokens.length && !word(tokens[i], 'FOR') && !punct(tokens[i], ';')) i++;
    i++;
  }
  const a = tokens[i];
  if (a === undefined || a.kind !== 'word') return null;
  let b = tokens[i + 1];
  if (a.text === 'SET') return word(b, 'PASSWORD') ? 'set-password' : null;
  if (a.text === 'GRANT') return 'account';
  if (a.text === 'CREATE' && word(b, 'OR') && word(tokens[i + 2], 'REPLACE')) b = tokens[i + 3];
  if ((a.text === 'CREATE' || a.text === 'ALTER') && word(b, 'USER', 'SERVER')) return 'account';
  if (a.text === 'CHANGE' && word(b, 'MASTER', 'REPLICATION')) return 'account';
  if (a.text === 'START' && word(b, 'SLAVE', 'REPLICA')) return 'account';
  return null;
}

/** Adds to `ranges` the credential values of sql[from, to), read with or without backslash escapes. */
function scan(sql: string, from: number, to: number, escapes: boolean, ranges: [number, number][]): void {
  const tokens = tokenize(sql, from, to, escapes, ranges);
  scanKeyArguments(tokens, ranges);
  let segment = 0;
  while (segment < tokens.length) {
    let end = segment;
    while (end < tokens.length && !punct(tokens[end], ';')) end++;
    let account = false;
    let setPassword = false;
    let identified = false;
    for (let i = segment; i < end; i++) {
      const t = tokens[i]!;
      if (word(t, 'IDENTIFIED')) identified = account = true;
      if (i === segment || inSet(tokens[i - 1], STATEMENT_OPENERS)) {
        const verb = accountVerb(tokens, i);
        if (verb !== null) account = true;
        if (verb === 'set-password') setPassword = true;
      }
    }
    for (let i = segment; i < end; i++) {
      const stop = valueAt(tokens, i);
      if (stop === null) continue;
      const p1 = tokens[i - 1];
      const p2 = tokens[i - 2];
      // PASSWORD('…') hides a plaintext wherever it stands; the rest only in account statements
      // (in DML, `SET password = '…'` is a column's value, shown as the row images are).
      const secret =
        (punct(p1, '(') && inSet(p2, PASSWORD_FUNCTIONS)) ||
        (account && (inSet(p1, SECRET_AFTER) || (punct(p1, '=') && (setPassword || inSet(p2, SECRET_OPTIONS))) || (identified && word(p1, 'AS'))));
      if (secret) ranges.push([tokens[i]!.start, tokens[stop - 1]!.end]);
      i = stop - 1;
    }
    segment = end + 1;
  }
}
