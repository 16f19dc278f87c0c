/**
 * Reads the text `mariadb-binlog -vv --base64-output=decode-rows` prints, and compares the rows
 * it shows with the rows our decoder produced, value by value. Used by the real-binlog
 * conformance suite (reference outputs in `_decoded/`) and by differential suites that run
 * mariadb-binlog on freshly generated binlogs.
 *
 * How mariadb-binlog prints (MariaDB sql/log_event_client.cc, log_event_print_value and
 * Rows_log_event::print_verbose_one_row), which the comparison undoes:
 * - every event gets one `# at <offset>` line and one header line
 *   `#yymmdd hh:mm:ss server id <n>  end_log_pos <p> …`; the two lists are in file order, though an
 *   ANNOTATE_ROWS event prints both `# at` lines before its header (so they are paired by index);
 * - a row is `### INSERT INTO \`db\`.\`t\`` / `### UPDATE …` / `### DELETE FROM …`, then `### SET` or
 *   `### WHERE` and one `###   @<n>=<value> /* <TYPE> meta=<m> nullable=<0|1> is_null=<0|1> *\/` line
 *   per logged column;
 * - integers print signed, and a negative one adds its unsigned reading: `-1 (18446744073709551615)`;
 * - FLOAT prints with `%-20g` (6 significant digits, padded), DOUBLE with `%.20g`;
 * - TIMESTAMP prints epoch seconds (`1795673722.820335`), DATE as `'yyyy:mm:dd'`, YEAR as
 *   `1900 + byte`, DATETIME/TIME quoted as the server formats them;
 * - BIT prints `b'…'` with exactly the column's bits; SET prints `b'…'` over its storage bytes in
 *   storage order (little-endian), most significant bit of each byte first; ENUM prints its index;
 * - strings, blobs and geometry print quoted, every byte above 0x1f raw (so the text is not UTF-8)
 *   and every byte up to 0x1f as `\xNN`.
 * The text must therefore be read as bytes (latin1), never as UTF-8.
 */
import type { ColumnDef, ColumnValue } from '../../src/binlog/column.js';
import { ColumnType } from '../../src/binlog/column-types.js';
import type { RowsEvent } from '../../src/binlog/event.js';
import { TextCodec, charsetOfCollation, decodeText } from '../../src/binlog/values/charset.js';
import { JsonValue } from '../../src/binlog/values/json-value.js';

/** One `@n=` line. */
export interface TextValue {
  /** 1-based column number, as printed. */
  readonly column: number;
  /** The value text as printed (latin1 view of the bytes), trailing padding removed; null when the line could not be parsed. */
  readonly text: string | null;
  /** The type mariadb-binlog named in the comment: `LONGINT`, `DECIMAL(20,6)`, `VARSTRING(760)` … */
  readonly typeName: string | null;
  readonly meta: number | null;
  readonly isNull: boolean;
}

/** A row image: the printed columns in order; `complete` is false when mariadb-binlog stopped inside it. */
export interface TextImage {
  readonly values: TextValue[];
  complete: boolean;
}

export interface TextRow {
  readonly op: 'insert' | 'update' | 'delete';
  readonly schema: string;
  readonly table: string;
  before: TextImage | null;
  after: TextImage | null;
}

/** One event as mariadb-binlog printed it. */
export interface TextEvent {
  readonly offset: number;
  readonly serverId: number;
  readonly endLogPos: number;
  /** The header line after `end_log_pos <p>` (checksum and description), e.g. `CRC32 0x… \tXid = 19`. */
  readonly description: string;
  /** `#Q>` lines of an ANNOTATE_ROWS event, joined with newlines; null for other events. */
  annotation: string | null;
  readonly rows: TextRow[];
}

/**
 * The rows of one statement: mariadb-binlog buffers the rows events of a statement and prints
 * their rows together after the header of the event with STMT_END_F, so rows are matched to the
 * whole run of rows events (MySQL Cluster files log a statement as several rows events).
 */
export interface TextRowGroup {
  /** Offsets of the rows events of the statement, in order. */
  readonly offsets: number[];
  readonly rows: TextRow[];
}

export interface TextDecoding {
  readonly events: TextEvent[];
  readonly rowGroups: TextRowGroup[];
  /** `ERROR:` lines (mariadb-binlog stopped or skipped something). */
  readonly errors: string[];
}

const HEADER_LINE = /^#\d{6}\s+\d{1,2}:\d\d:\d\d server id (\d+)\s+end_log_pos (\d+)\s?(.*)$/;
const AT_LINE = /^# at (\d+)$/;
const ROW_START = /^### (INSERT INTO|UPDATE|DELETE FROM) `((?:[^`]|``)*)`\.`((?:[^`]|``)*)`$/;
const VALUE_LINE = /^###   @(\d+)=(.*)$/;
/** The binary collation (my_charset_bin). */
const BINARY_COLLATION = 63;
const ROWS_HEADER = /\t(?:Write|Update|Delete)(?:_compressed)?_rows(?:_v1)?: table id \d+/;
const COMMENT = / \/\* (.+?) meta=(\d+) nullable=([01]) is_null=([01]) \*\/$/;

/** Parses the output of `mariadb-binlog -vv --base64-output=decode-rows` (stdout and stderr together is fine). */
export function parseMariadbBinlogText(bytes: Buffer): TextDecoding {
  const lines = bytes.toString('latin1').split('\n');
  const offsets: number[] = [];
  const headers: Array<{ serverId: number; endLogPos: number; description: string; rows: TextRow[]; annotation: string | null }> = [];
  const errors: string[] = [];
  let row: TextRow | null = null;
  let image: TextImage | null = null;
  for (const line of lines) {
    let m = AT_LINE.exec(line);
    if (m) {
      offsets.push(Number(m[1]));
      row = null;
      image = null;
      continue;
    }
    m = HEADER_LINE.exec(line);
    if (m) {
      headers.push({ serverId: Number(m[1]), endLogPos: Number(m[2]), description: m[3]!, rows: [], annotation: null });
      row = null;
      image = null;
      continue;
    }
    if (line.startsWith('ERROR:')) {
      errors.push(line);
      continue;
    }
    const current = headers[headers.length - 1];
    if (line.startsWith('#Q> ') && current) {
      current.annotation = current.annotation === null ? line.slice(4) : `${current.annotation}\n${line.slice(4)}`;
      continue;
    }
    if (!line.startsWith('###') || !current) continue;
    m = ROW_START.exec(line);
    if (m) {
      const op = m[1] === 'INSERT INTO' ? 'insert' : m[1] === 'UPDATE' ? 'update' : 'delete';
      row = { op, schema: m[2]!.replaceAll('``', '`'), table: m[3]!.replaceAll('``', '`'), before: null, after: null };
      current.rows.push(row);
      image = null;
      continue;
    }
    if (line === '### SET' && row) {
      image = { values: [], complete: true };
      row.after = image;
      continue;
    }
    if (line === '### WHERE' && row) {
      image = { values: [], complete: true };
      row.before = image;
      continue;
    }
    m = VALUE_LINE.exec(line);
    if (m && image) {
      const value = parseValue(Number(m[1]), m[2]!);
      image.values.push(value);
      if (value.text === null) image.complete = false;
    }
  }
  // Pair the k-th `# at` with the k-th header line: both lists are in file order.
  const n = Math.min(offsets.length, headers.length);
  const events: TextEvent[] = [];
  for (let i = 0; i < n; i++) {
    const h = headers[i]!;
    events.push({ offset: offsets[i]!, serverId: h.serverId, endLogPos: h.endLogPos, description: h.description, annotation: h.annotation, rows: h.rows });
  }
  const rowGroups: TextRowGroup[] = [];
  let pending: number[] = [];
  for (const e of events) {
    if (!ROWS_HEADER.test(e.description)) continue;
    pending.push(e.offset);
    if (e.rows.length > 0) {
      rowGroups.push({ offsets: pending, rows: e.rows });
      pending = [];
    }
  }
  return { events, rowGroups, errors };
}

function parseValue(column: number, rest: string): TextValue {
  // The comment is the last ` /* ` of the line: a quoted value may contain one, the comment never does.
  const at = rest.lastIndexOf(' /* ');
  const m = at === -1 ? null : COMMENT.exec(rest.slice(at));
  if (!m) return { column, text: null, typeName: null, meta: null, isNull: false };
  const text = rest.slice(0, at);
  const isNull = m[4] === '1';
  return { column, text: text.startsWith("'") ? text : text.trimEnd(), typeName: m[1]!, meta: Number(m[2]), isNull };
}

/** The bytes of a quoted value: the quotes removed and `\xNN` turned back into the byte. */
export function unquoteBytes(text: string): Buffer | null {
  if (text.length < 2 || !text.startsWith("'") || !text.endsWith("'")) return null;
  const inner = text.slice(1, -1);
  const out: number[] = [];
  for (let i = 0; i < inner.length; i++) {
    const c = inner.charCodeAt(i);
    if (c === 0x5c && inner[i + 1] === 'x' && /^[0-9a-f]{2}$/.test(inner.slice(i + 2, i + 4))) {
      out.push(parseInt(inner.slice(i + 2, i + 4), 16));
      i += 3;
    } else {
      out.push(c);
    }
  }
  return Buffer.from(out);
}

/** One disagreement between our decoding and mariadb-binlog's. */
export interface ValueMismatch {
  readonly column: number;
  readonly name: string;
  readonly typeName: string | null;
  readonly expected: string | null;
  readonly actual: string;
  readonly why: string;
}

/** What a comparison covered. */
export interface CompareCount {
  compared: number;
  /** Values mariadb-binlog could not print (types it does not know) and images it cut short. */
  skipped: number;
}

/** Compares the rows of a statement's rows events (in order) with the rows mariadb-binlog printed for them. */
export function compareRowGroup(events: readonly RowsEvent[], theirs: readonly TextRow[], count: CompareCount = { compared: 0, skipped: 0 }): string[] {
  const problems: string[] = [];
  const mine = events.flatMap((e) => e.rows.map((row, i) => ({ e, row, i })));
  if (theirs.length !== mine.length) {
    const cut = theirs.some((r) => (r.before && !r.before.complete) || (r.after && !r.after.complete));
    const at = events.map((e) => e.header.offset).join(', ');
    if (!cut) problems.push(`rows events at ${at}: mariadb-binlog printed ${theirs.length} rows, we decoded ${mine.length}`);
  }
  for (let k = 0; k < Math.min(theirs.length, mine.length); k++) {
    const t = theirs[k]!;
    const { e: ours, row: o, i } = mine[k]!;
    const where = `rows event at ${ours.header.offset} (${ours.table.schema}.${ours.table.table})`;
    if (t.op !== ours.op) problems.push(`${where} row ${i}: operation ${t.op} printed, ${ours.op} decoded`);
    if (t.schema !== ours.table.schema || t.table !== ours.table.table) problems.push(`${where} row ${i}: table ${t.schema}.${t.table} printed`);
    for (const [label, image, mine] of [
      ['before', t.before, o.before],
      ['after', t.after, o.after],
    ] as const) {
      if ((image === null) !== (mine === null)) {
        problems.push(`${where} row ${i}: ${label} image ${image === null ? 'not printed' : 'printed'} but ${mine === null ? 'not decoded' : 'decoded'}`);
        continue;
      }
      if (image === null || mine === null) continue;
      const printed = new Set<number>();
      for (const tv of image.values) {
        printed.add(tv.column - 1);
        const col = ours.table.columns[tv.column - 1];
        if (!col) {
          problems.push(`${where} row ${i} ${label}: column @${tv.column} printed, the table map has ${ours.table.columns.length}`);
          continue;
        }
        if (tv.text === null) {
          count.skipped++;
          continue;
        }
        const mismatch = compareValue(mine[col.index], col, tv);
        if (mismatch === 'skip') count.skipped++;
        else if (mismatch === null) count.compared++;
        else problems.push(`${where} row ${i} ${label} @${tv.column} ${col.name} (${tv.typeName}): ${mismatch}`);
      }
      if (image.complete) {
        for (let c = 0; c < mine.length; c++) {
          if (!printed.has(c) && mine[c] !== undefined) problems.push(`${where} row ${i} ${label}: column @${c + 1} decoded but not logged by the server`);
        }
      } else {
        count.skipped += mine.filter((v, c) => v !== undefined && !printed.has(c)).length;
      }
    }
  }
  return problems;
}

function show(v: ColumnValue | undefined): string {
  if (v === undefined) return 'undefined (not logged)';
  if (v === null) return 'NULL';
  if (typeof v === 'bigint') return `${v}n`;
  if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
  if (v instanceof JsonValue) return `JSON ${JSON.stringify(v.node, (_k, x: unknown) => (typeof x === 'bigint' ? `${x}n` : x))}`;
  return JSON.stringify(v);
}

/**
 * Compares one decoded value with mariadb-binlog's text for it: null when they agree, 'skip' when
 * the text cannot say (a type mariadb-binlog prints wrongly), else what differs.
 */
export function compareValue(value: ColumnValue | undefined, col: ColumnDef, tv: TextValue): string | null | 'skip' {
  const text = tv.text!;
  const typeName = tv.typeName!;
  const actual = show(value);
  const differ = (expected: string, why = ''): string => `printed ${text}${expected === text ? '' : ` (= ${expected})`}, decoded ${actual}${why ? `: ${why}` : ''}`;
  if (value === undefined) return differ(text, 'the column is logged but was not decoded');
  if (tv.isNull || text === 'NULL') return value === null ? null : differ('NULL');
  if (value === null) return differ(text, 'decoded NULL');
  const base = typeName.replace(/ COMPRESSED$/, '');
  if (base === 'INT' || base === 'TINYINT' || base === 'SHORTINT' || base === 'MEDIUMINT' || base === 'LONGINT') {
    const m = /^(-?\d+)(?: \((\d+)\))?$/.exec(text);
    if (!m) return differ(text, 'unparseable integer');
    const expected = col.unsigned && m[2] !== undefined ? m[2] : m[1]!;
    return isInteger(value) && BigInt(value) === BigInt(expected) ? null : differ(expected);
  }
  if (base.startsWith('DECIMAL(')) return value === text ? null : differ(text);
  if (base === 'FLOAT') {
    // %g keeps 6 significant digits: the printed number is ours rounded to 6 digits.
    const printed = Number(text);
    if (typeof value !== 'number' || !Number.isFinite(printed)) return differ(text);
    if (value === 0 || printed === 0) return value === printed ? null : differ(text);
    const ulp6 = Math.pow(10, Math.floor(Math.log10(Math.abs(value))) - 5);
    return Math.abs(printed - value) <= ulp6 / 2 + ulp6 * 1e-9 ? null : differ(text, 'not the same float to 6 significant digits');
  }
  if (base === 'DOUBLE') {
    // %.20g has more digits than a double needs, so the text reads back to the exact double.
    return typeof value === 'number' && Number(text) === value ? null : differ(text);
  }
  if (base.startsWith('BIT(')) {
    const m = /^b'([01]*)'$/.exec(text);
    if (!m) return differ(text, 'unparseable bits');
    const expected = m[1] === '' ? 0n : BigInt(`0b${m[1]}`);
    return isInteger(value) && BigInt(value) === expected ? null : differ(expected.toString());
  }
  if (base === 'TIMESTAMP' || base.startsWith('TIMESTAMP(')) {
    if (typeof value !== 'string') return differ(text, 'TIMESTAMP not decoded as text');
    const expected = epochText(value);
    return expected === text ? null : differ(text, `decoded value is ${expected} in epoch seconds`);
  }
  if (base === 'DATE') {
    const bytes = unquoteBytes(text);
    const expected = bytes?.toString('latin1').replaceAll(':', '-');
    return value === expected ? null : differ(expected ?? text);
  }
  if (base === 'DATETIME' || base.startsWith('DATETIME(') || base === 'TIME' || base.startsWith('TIME(')) {
    if (base === 'DATETIME' && col.meta > 0) return 'skip'; // MariaDB hires DATETIME: mariadb-binlog prints it as the old format
    if (base === 'TIME' && col.meta > 0) return 'skip';
    const expected = unquoteBytes(text)?.toString('latin1');
    return value === expected ? null : differ(expected ?? text);
  }
  if (base === 'YEAR') {
    const expected = Number(text);
    return value === (expected === 1900 ? 0 : expected) ? null : differ(text, 'YEAR prints 1900 + the stored byte; 0 is year 0000');
  }
  if (base.startsWith('ENUM(')) {
    const expected = Number(text);
    if (typeof value === 'number') return value === expected ? null : differ(text);
    if (typeof value === 'string' && col.enumLabels) {
      const index = value === '' ? 0 : col.enumLabels.indexOf(value) + 1;
      return index === expected ? null : differ(`${text} = ${JSON.stringify(expected === 0 ? '' : col.enumLabels[expected - 1])}`);
    }
    return differ(text, 'ENUM decoded as a label without labels');
  }
  if (base.startsWith('SET(')) {
    const m = /^b'([01]*)'$/.exec(text);
    if (!m) return differ(text, 'unparseable bits');
    let expected = 0n;
    const bits = m[1]!;
    for (let byte = 0; byte * 8 < bits.length; byte++) expected |= BigInt(parseInt(bits.slice(byte * 8, byte * 8 + 8), 2)) << BigInt(8 * byte);
    if (isInteger(value)) return BigInt(value) === expected ? null : differ(expected.toString());
    if (typeof value === 'string' && col.setLabels) {
      let mine = 0n;
      if (value !== '') {
        for (const label of value.split(',')) {
          const bit = col.setLabels.indexOf(label);
          if (bit < 0) return differ(expected.toString(), `label ${label} is not a member`);
          mine |= 1n << BigInt(bit);
        }
      }
      return mine === expected ? null : differ(expected.toString(), `decoded members are bits ${mine}`);
    }
    return differ(text, 'SET decoded as labels without labels');
  }
  if (base.startsWith('STRING(') || base.startsWith('VARSTRING(') || base.includes('BLOB') || base === 'GEOMETRY') {
    let bytes = unquoteBytes(text);
    if (bytes === null) return differ(text, 'unquoted string');
    if (col.type === ColumnType.STRING && col.collation === BINARY_COLLATION && bytes.length < col.meta) {
      // BINARY(n) is logged without its trailing 0x00 pad (and printed so); it reads back padded to n.
      bytes = Buffer.concat([bytes, Buffer.alloc(col.meta - bytes.length)]);
    }
    if (Buffer.isBuffer(value)) return bytes.equals(value) ? null : differ(`0x${bytes.toString('hex')}`);
    if (typeof value !== 'string') return value instanceof JsonValue ? 'skip' : differ(text, 'not text');
    const cs = col.collation === null ? undefined : charsetOfCollation(col.collation);
    if (cs === undefined) return differ(text, 'decoded as text without a known charset');
    if (cs.codec === TextCodec.Utf8) return Buffer.from(value, 'utf8').equals(bytes) ? null : differ(`0x${bytes.toString('hex')}`, `decoded bytes 0x${Buffer.from(value, 'utf8').toString('hex')}`);
    return decodeText(bytes, 0, bytes.length, cs) === value ? null : differ(text, `in ${cs.name}`);
  }
  return 'skip';
}

function isInteger(v: ColumnValue): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
}

/** "YYYY-MM-DD HH:MM:SS[.f]" (UTC) as mariadb-binlog prints a TIMESTAMP: epoch seconds[.f]; the zero timestamp is 0. */
export function epochText(value: string): string {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d+))?$/.exec(value);
  if (!m) return `<not a timestamp: ${value}>`;
  const fraction = m[7] === undefined ? '' : `.${m[7]}`;
  if (m[1] === '0000') return `0${fraction}`;
  const seconds = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;
  return `${seconds}${fraction}`;
}
