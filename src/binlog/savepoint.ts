/**
 * Savepoint statements logged inside a transaction. They are transaction control, not DML: MariaDB
 * writes "SAVEPOINT `x`" into the transaction cache for every SAVEPOINT (binlog_savepoint_set,
 * sql/log.cc), even in a row-format transaction, and "ROLLBACK TO `x`" when a rollback to it cannot
 * just truncate the cache because a non-transactional table was changed since
 * (binlog_savepoint_rollback). RELEASE SAVEPOINT is not logged by the servers we know; it is
 * understood anyway so that a hand-made or future binlog does not turn it into a statement.
 */

export type SavepointControl =
  | { readonly kind: 'savepoint'; readonly name: string }
  | { readonly kind: 'rollback-to'; readonly name: string }
  | { readonly kind: 'release'; readonly name: string };

// `SAVEPOINT x`, `ROLLBACK [WORK] TO [SAVEPOINT] x`, `RELEASE SAVEPOINT x` (sql_yacc.yy), where x is
// a bare identifier or a backtick-quoted one with `` for a backtick.
const CONTROL = /^\s*(?:(SAVEPOINT)|(ROLLBACK)(?:\s+WORK)?\s+TO(?:\s+SAVEPOINT)?|(RELEASE)\s+SAVEPOINT)\s+(`(?:[^`]|``)+`|[^\s`;]+)\s*;?\s*$/i;

/** The savepoint statement `sql` is, or null for any other statement. */
export function savepointControl(sql: string): SavepointControl | null {
  // Every form is short; a long text is a statement, and not worth a regex run.
  if (sql.length > 400) return null;
  const m = CONTROL.exec(sql);
  if (m === null) return null;
  const name = savepointName(m[4]!);
  if (m[1] !== undefined) return { kind: 'savepoint', name };
  if (m[2] !== undefined) return { kind: 'rollback-to', name };
  return { kind: 'release', name };
}

/**
 * The name as the server compares it: unquoted, and lower-cased because savepoint names are
 * matched case-insensitively (find_savepoint in sql/transaction.cc uses system_charset_info).
 */
function savepointName(raw: string): string {
  const unquoted = raw.startsWith('`') ? raw.slice(1, -1).replaceAll('``', '`') : raw;
  return unquoted.toLowerCase();
}
