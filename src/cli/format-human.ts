/**
 * The human form of `salvage inspect`, in the spirit of `mysqlbinlog -v`: one header line per
 * transaction, then each row change as pseudo-SQL with one column per line, after the statement
 * that made it (`#Q>` lines) when the server logged it.
 */
import type { ColumnValue } from '../binlog/column.js';
import type { RowImage } from '../binlog/column.js';
import type { IncompleteTail } from '../binlog/decoder.js';
import type { TableMap } from '../binlog/event.js';
import { gtidText, statementMarkOf, type IncompleteTransaction, type StatementMark, type Transaction } from '../binlog/transaction.js';
import { ColumnType } from '../binlog/column-types.js';
import { shortestFloat32, stringifyCanonical, toCanonical } from '../binlog/values/canonical-json.js';
import { JsonPatch, JsonValue } from '../binlog/values/json-value.js';
import { redactSecrets } from '../model/redact-secrets.js';

/** `YYYY-MM-DD HH:MM:SS` in UTC. */
export function utcText(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('T', ' ').slice(0, 19);
}

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\0/g, '\\0')}'`;
}

function literal(v: ColumnValue, table: TableMap, index: number): string {
  if (v === null) return 'NULL';
  // A FLOAT decodes to the double nearest its float32 (1.100000023841858): printed as its shortest
  // round-tripping decimal, as --json and mariadb-binlog print it (1.1).
  if (typeof v === 'number') return String(table.columns[index]!.type === ColumnType.FLOAT ? shortestFloat32(v) : v);
  if (typeof v === 'bigint') return String(v);
  if (typeof v === 'string') return quote(v);
  if (v instanceof JsonValue || v instanceof JsonPatch) return quote(stringifyCanonical(toCanonical(v, table.columns[index]!)));
  return `X'${v.toString('hex')}'`;
}

function image(row: RowImage, table: TableMap, lines: string[]): void {
  for (let i = 0; i < table.columns.length; i++) {
    const v = row[i];
    if (v === undefined) continue;
    lines.push(`###   ${table.columns[i]!.name}=${literal(v, table, i)}`);
  }
}

/** The transaction as text lines. */
export function formatTransaction(tx: Transaction): string {
  const lines: string[] = [];
  const gtid = tx.gtid ? `GTID ${gtidText(tx.gtid)}` : 'no GTID';
  lines.push(`# at ${tx.pos}  end ${tx.end}  ${utcText(tx.timestamp)} UTC  server id ${tx.serverId}  ${gtid}  (${tx.file})`);
  // An account statement's password or hash is not printed (CREATE USER … IDENTIFIED BY is logged as typed).
  for (const s of tx.statements) lines.push(`${redactSecrets(s.sql).trimEnd()}${s.schema ? `  /* db: ${s.schema} */` : ''}`);
  let said: StatementMark | null = null;
  for (let k = 0; k < tx.changes.length; k++) {
    const c = tx.changes[k]!;
    // The statement that made the rows (ANNOTATE_ROWS / ROWS_QUERY), once before its first change,
    // each of its lines marked as mysqlbinlog -v marks them.
    const mark = statementMarkOf(tx, k);
    if (mark !== null && mark !== said && mark.sql !== null) {
      for (const text of redactSecrets(mark.sql).trimEnd().split(/\r?\n/)) lines.push(`#Q> ${text}`);
    }
    said = mark;
    const name = `\`${c.table.schema}\`.\`${c.table.table}\``;
    if (c.op === 'insert') {
      lines.push(`### INSERT INTO ${name}`, '### SET');
      image(c.after!, c.table, lines);
    } else if (c.op === 'delete') {
      lines.push(`### DELETE FROM ${name}`, '### WHERE');
      image(c.before!, c.table, lines);
    } else {
      lines.push(`### UPDATE ${name}`, '### WHERE');
      image(c.before!, c.table, lines);
      lines.push('### SET');
      image(c.after!, c.table, lines);
    }
  }
  lines.push(tx.commit === 'xid' ? `COMMIT /* xid=${tx.xid} */` : tx.commit === 'ddl' ? '/* statement group, no COMMIT */' : 'COMMIT');
  return lines.join('\n');
}

export function formatIncomplete(tx: IncompleteTransaction): string {
  const gtid = tx.gtid ? `GTID ${gtidText(tx.gtid)}` : 'no GTID';
  const head = `# INCOMPLETE transaction at ${tx.file}:${tx.pos} (${gtid}, ${tx.changes} row changes read up to ${tx.end})`;
  if (tx.reason === 'cut-short') {
    return `${head}: the copy of the file ends here, but the server closed the file whole: the file was cut short (not a crash), and this transaction may have committed; copy the file again`;
  }
  return `${head}: ${tx.reason}; it never committed and is not applied`;
}

/** The report of a file that ends inside an event (a crash, or a copy taken while the server wrote). */
export function formatTail(file: string, tail: IncompleteTail, cutShort = false): string {
  const of = tail.claimedSize === null ? '' : ` of ${tail.claimedSize}`;
  if (cutShort) {
    return `${file} ends inside an event at offset ${tail.offset} (${tail.bytes} bytes${of}): the server closed this file whole, so the copy was cut short (not a crash): copy it again; everything before it was read`;
  }
  return `${file} ends inside an event at offset ${tail.offset} (${tail.bytes} bytes${of}): the file was cut off (a crash, or copied while open); everything before it was read`;
}
