/**
 * A transaction as one line of canonical JSON (`salvage inspect --json`, plans, reports):
 * `{gtid, file, pos, end, timestamp, serverId, changes: [{op, schema, table, before?, after?, statement?}],
 * statements?: [{schema, sql}]}` (statements only when the transaction logged SQL), row images
 * keyed by column name, a column absent from a partial image left out.
 */
import type { RowImage } from './column.js';
import type { TableMap } from './event.js';
import { gtidText, statementMarkOf, type StatementMark, type Transaction } from './transaction.js';
import { stringifyCanonical, toCanonical, type CanonicalValue } from './values/canonical-json.js';

/** A row image as an object keyed by column name, in canonical JSON values. */
export function rowToCanonical(row: RowImage, table: TableMap): Record<string, CanonicalValue> {
  const out: Record<string, CanonicalValue> = Object.create(null) as Record<string, CanonicalValue>;
  const cols = table.columns;
  for (let i = 0; i < cols.length; i++) {
    const v = row[i];
    if (v === undefined) continue;
    const col = cols[i]!;
    out[col.name] = toCanonical(v, col);
  }
  return out;
}

export interface TransactionJsonOptions {
  /**
   * Give each row change the text of the statement that made it, `statement`, when the server
   * logged it (ANNOTATE_ROWS / ROWS_QUERY) and the decoder kept it (`annotations`).
   */
  readonly statements?: boolean;
  /**
   * What each SQL text is shown as (`statements[].sql`, `changes[].statement`): `salvage inspect`
   * passes model/redact-secrets.ts's redactSecrets, so no password leaves it. As logged without it.
   */
  readonly sqlText?: (sql: string) => string;
}

/** The canonical JSON text of one transaction (no trailing newline). */
export function transactionToJson(tx: Transaction, options: TransactionJsonOptions = {}): string {
  // The changes of one statement share its text: shown once per statement, not once per row.
  let mark: StatementMark | null = null;
  let shown: string | null = null;
  const changes = tx.changes.map((c, k) => {
    const o: Record<string, unknown> = { op: c.op, schema: c.table.schema, table: c.table.table };
    if (c.before) o['before'] = rowToCanonical(c.before, c.table);
    if (c.after) o['after'] = rowToCanonical(c.after, c.table);
    if (options.statements === true) {
      const m = statementMarkOf(tx, k);
      if (m !== mark) {
        mark = m;
        shown = m === null || m.sql === null ? null : options.sqlText === undefined ? m.sql : options.sqlText(m.sql);
      }
      if (shown !== null) o['statement'] = shown;
    }
    return o;
  });
  const obj: Record<string, unknown> = {
    gtid: tx.gtid === null ? null : gtidText(tx.gtid),
    file: tx.file,
    pos: tx.pos,
    end: tx.end,
    timestamp: tx.timestamp,
    serverId: tx.serverId,
    changes,
  };
  if (tx.statements.length > 0) obj['statements'] = tx.statements.map((s) => ({ schema: s.schema, sql: options.sqlText === undefined ? s.sql : options.sqlText(s.sql) }));
  return stringifyCanonical(obj);
}
