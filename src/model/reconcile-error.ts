/**
 * The error of a lost-set decision that cannot be made (lost-transactions.ts in src/reconcile/).
 * It lives in model because the DR's GTID state is parsed here (gtid-set.ts parseMariadbList),
 * for src/reconcile/ and src/sink/ (keep-gtids.ts) alike, and a bad state is this error.
 */
import { EngineError, type ErrorDetails } from '../errors.js';

/** Stable codes of lost-set decisions that cannot be made. */
export const ReconcileErrorCode = {
  /** A transaction has no GTID and the rule is GTID-based with no position/time fallback. */
  NoGtid: 'RECONCILE_NO_GTID',
  /** A MySQL GTID judged against a MariaDB state, or the reverse. */
  FlavorMismatch: 'RECONCILE_FLAVOR_MISMATCH',
  /** The DR state text could not be parsed (e.g. two entries for one domain in a position). */
  BadDrState: 'RECONCILE_BAD_DR_STATE',
  /** A position names a binlog of another series (`mysql-bin` vs `primary-bin`). */
  FileSeriesMismatch: 'RECONCILE_FILE_SERIES_MISMATCH',
  /** `--from FILE:POS` falls strictly inside a transaction: it is neither before nor after it. */
  PositionInsideTransaction: 'RECONCILE_POSITION_INSIDE_TRANSACTION',
  /**
   * MariaDB: the DR's server_id is the one in the binlogs' GTIDs, so its gtid_binlog_pos cannot
   * tell the primary's transactions from the DR's own writes, which reuse their sequence numbers.
   */
  SharedServerId: 'RECONCILE_SHARED_SERVER_ID',
} as const;
export type ReconcileErrorCode = (typeof ReconcileErrorCode)[keyof typeof ReconcileErrorCode];

/** A reconcile decision could not be made; never retryable: the inputs will not change. */
export class ReconcileError extends EngineError {
  declare readonly code: ReconcileErrorCode;
  constructor(code: ReconcileErrorCode, message: string, details: ErrorDetails = {}) {
    super(code, message, details, { retryable: false });
  }
}
