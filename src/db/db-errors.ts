/**
 * Server errors the engine acts on, by errno → a stable code callers match on. The numbers are
 * the server's (include/mysqld_error.h in mysql-server, sql/share/errmsg-utf8.txt in MariaDB;
 * both servers share them). Everything else keeps the session's DB_QUERY.
 */
import { DatabaseError } from './schema-hints.js';

/** Stable codes of the server errors the engine treats specially. */
export const DbErrorCode = {
  /** A row with the same PRIMARY or UNIQUE key exists. */
  Duplicate: 'DB_DUPLICATE',
  /** InnoDB chose this transaction as a deadlock victim and rolled it back: retry it. */
  Deadlock: 'DB_DEADLOCK',
  /** innodb_lock_wait_timeout expired; the statement (not the transaction) was rolled back. */
  LockWaitTimeout: 'DB_LOCK_TIMEOUT',
} as const;
export type DbErrorCode = (typeof DbErrorCode)[keyof typeof DbErrorCode];

interface Mapping {
  readonly code: DbErrorCode;
  readonly retryable: boolean;
}

const BY_ERRNO: ReadonlyMap<number, Mapping> = new Map([
  [1062, { code: DbErrorCode.Duplicate, retryable: false }], // ER_DUP_ENTRY
  [1586, { code: DbErrorCode.Duplicate, retryable: false }], // ER_DUP_ENTRY_WITH_KEY_NAME
  [1213, { code: DbErrorCode.Deadlock, retryable: true }], // ER_LOCK_DEADLOCK
  [1205, { code: DbErrorCode.LockWaitTimeout, retryable: true }], // ER_LOCK_WAIT_TIMEOUT
]);

/** The mapped code for a server errno, or undefined when the engine has no special meaning for it. */
export function dbErrorCodeOf(errno: number): DbErrorCode | undefined {
  return BY_ERRNO.get(errno)?.code;
}

/**
 * Re-codes a failure whose server errno has a mapping (details keep `errno`, the original is the
 * cause); anything else comes back unchanged.
 */
export function mapDbError(e: unknown): unknown {
  if (!(e instanceof DatabaseError)) return e;
  const errno = e.details.errno;
  if (errno === undefined) return e;
  const mapping = BY_ERRNO.get(errno);
  if (mapping === undefined || mapping.code === e.code) return e;
  return new DatabaseError(mapping.code, e.message, { ...e.details, errno }, { retryable: mapping.retryable, cause: e });
}

/**
 * Server errors that mean "the DR will not take this row" — duplicate key, data too long, out of
 * range, incorrect value, NOT NULL, CHECK constraint, foreign key, bad date — as opposed to a fault
 * of the DR or the network: the caller classifies the offending change instead of stopping.
 */
const REJECTION_ERRNOS: ReadonlySet<number> = new Set([1062, 1586, 1406, 1264, 1366, 1048, 3819, 4025, 1451, 1452, 1292]);

/** Whether `e` (a mapped DatabaseError or any EngineError) is a rejection of the data; see REJECTION_ERRNOS. */
export function isDataRejection(e: { readonly code: string; readonly details: object }): boolean {
  if (e.code === DbErrorCode.Duplicate) return true;
  const errno = (e.details as { errno?: unknown }).errno;
  return typeof errno === 'number' && REJECTION_ERRNOS.has(errno);
}
