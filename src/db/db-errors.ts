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
  /** The server refuses writes: read_only (for an account without READ_ONLY ADMIN / SUPER), super_read_only, innodb_read_only. */
  ReadOnly: 'DB_READ_ONLY',
  /** The transaction's binlog cache would pass max_binlog_cache_size: the transaction cannot commit as it is. */
  BinlogCacheFull: 'DB_BINLOG_CACHE_FULL',
  /** The table (its tablespace, or the disk under it) is full. */
  TableFull: 'DB_TABLE_FULL',
  /** A statement bigger than the DR's max_allowed_packet (the engine measures its statements first: packet-limit.ts). */
  PacketTooLarge: 'DB_PACKET_TOO_LARGE',
  /**
   * An UPDATE or DELETE of a table without a primary key, by its before image, met no row (the
   * engine's read found one): the DR did not take the change as decided. Not a server errno.
   */
  NoRowMatched: 'DB_NO_ROW_MATCHED',
} as const;
export type DbErrorCode = (typeof DbErrorCode)[keyof typeof DbErrorCode];

interface Mapping {
  readonly code: DbErrorCode;
  readonly retryable: boolean;
  /** Put before the server's own words: what the errno means for a run, for the person who reads the message. */
  readonly explain?: string;
}

const BY_ERRNO: ReadonlyMap<number, Mapping> = new Map([
  [1062, { code: DbErrorCode.Duplicate, retryable: false }], // ER_DUP_ENTRY
  [1586, { code: DbErrorCode.Duplicate, retryable: false }], // ER_DUP_ENTRY_WITH_KEY_NAME
  [1213, { code: DbErrorCode.Deadlock, retryable: true }], // ER_LOCK_DEADLOCK
  [1205, { code: DbErrorCode.LockWaitTimeout, retryable: true }], // ER_LOCK_WAIT_TIMEOUT
  // ER_OPTION_PREVENTS_STATEMENT: "running with the --read-only (or --super-read-only) option"; ER_READ_ONLY_MODE (innodb_read_only).
  [1290, { code: DbErrorCode.ReadOnly, retryable: false, explain: 'the DR refuses writes: read_only is ON' }],
  [1836, { code: DbErrorCode.ReadOnly, retryable: false, explain: 'the DR refuses writes: it runs in read-only mode' }],
  // ER_TRANS_CACHE_FULL: a multi-statement transaction needed more than max_binlog_cache_size.
  [1197, { code: DbErrorCode.BinlogCacheFull, retryable: false, explain: "the window's transaction does not fit in the DR's binlog cache (max_binlog_cache_size)" }],
  // ER_RECORD_FILE_FULL: "The table is full" (a tablespace at its maximum size, or no space left on the disk).
  [1114, { code: DbErrorCode.TableFull, retryable: false, explain: 'the DR has no room left for the rows (a full disk or tablespace)' }],
  // ER_NET_PACKET_TOO_LARGE: what the server says of a statement under 16 MiB over its limit (a larger one loses the connection).
  [1153, { code: DbErrorCode.PacketTooLarge, retryable: false, explain: "a statement is bigger than the DR's max_allowed_packet" }],
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
  const message = mapping.explain === undefined ? e.message : `${mapping.explain}: ${e.message}`;
  return new DatabaseError(mapping.code, message, { ...e.details, errno }, { retryable: mapping.retryable, cause: e });
}

/**
 * Server errors that mean "the DR will not take this row" — duplicate key, data too long, out of
 * range, incorrect value, NOT NULL, CHECK constraint, foreign key, bad date, a keyless row not
 * found by its image (DbErrorCode.NoRowMatched) — as opposed to a fault
 * of the DR or the network: the caller classifies the offending change instead of stopping.
 */
const REJECTION_ERRNOS: ReadonlySet<number> = new Set([1062, 1586, 1406, 1264, 1366, 1048, 3819, 4025, 1451, 1452, 1292, 1644]);

/** Whether `e` (a mapped DatabaseError or any EngineError) is a rejection of the data; see REJECTION_ERRNOS. */
export function isDataRejection(e: { readonly code: string; readonly details: object }): boolean {
  if (e.code === DbErrorCode.Duplicate || e.code === DbErrorCode.NoRowMatched) return true;
  const errno = (e.details as { errno?: unknown }).errno;
  return typeof errno === 'number' && REJECTION_ERRNOS.has(errno);
}
