import { BinlogError, EngineError } from '../errors.js';
import { UsageError } from './usage-error.js';

/** Exit codes of the `salvage` command (DESIGN.md, "The command line"). */
export const ExitCode = {
  Done: 0,
  Fault: 1,
  BadInput: 2,
  DoneWithQuarantine: 3,
  Internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

// The start rule's refusals (RECONCILE_NO_GTID …) are the user's input to change, not faults.
const BAD_INPUT_CODES = new Set(['BAD_OPTION', 'BAD_URL', 'GTID_SET_SYNTAX', 'USAGE', 'SALVAGE_NO_START', 'RECONCILE_NO_GTID', 'RECONCILE_FLAVOR_MISMATCH', 'RECONCILE_FILE_SERIES_MISMATCH', 'RECONCILE_POSITION_INSIDE_TRANSACTION', 'RECONCILE_SHARED_SERVER_ID', 'SALVAGE_DDL_IN_LOST_RANGE', 'SALVAGE_DR_TRIGGERS', 'RESOLVE_DR_TRIGGERS', 'RECONCILE_UNKNOWN_TABLE', 'SCHEMA_AMBIGUOUS_NAME', 'REVIEW_NO_STATE', 'RESOLVE_BAD_FILE', 'REVIEW_UNKNOWN_ENTRY', 'EXPLAIN_NOT_FOUND', 'EXPLAIN_BAD_CHANGE', 'REPORT_NO_RUN', 'LIVE_START_PURGED', 'LIVE_BAD_START', 'LIVE_NO_BINLOG', 'LIVE_ACCESS_DENIED', 'DR_HISTORY_NOT_THE_DR', 'DR_HISTORY_RELAY_LOG', 'DR_HISTORY_FAILOVER_NOT_FOUND', 'DR_HISTORY_NO_INPUT', 'DR_HISTORY_FAILOVER_OUTSIDE', 'DR_HISTORY_FAILOVER_NEEDED', 'DR_HISTORY_FAILOVER_OWN', 'DR_HISTORY_FILE_TWICE', 'DR_HISTORY_OUT_OF_ORDER', 'DR_HISTORY_GAP']);

/** Maps an error to the exit code DESIGN.md assigns it. */
export function exitCodeFor(e: unknown): ExitCode {
  if (e instanceof UsageError) return ExitCode.BadInput;
  if (e instanceof BinlogError) return ExitCode.BadInput;
  if (e instanceof EngineError) {
    if (e.code.startsWith('SOURCE_FILE') || e.code === 'SOURCE_NOT_A_FILE' || e.code === 'SOURCE_BAD_INDEX') return ExitCode.BadInput;
    if (BAD_INPUT_CODES.has(e.code) || e.code.startsWith('SCHEMA_DRIFT_') || e.code.startsWith('SCHEMA_UNKNOWN_') || e.code.startsWith('INPUT_') || e.code.startsWith('KEEP_GTIDS_')) return ExitCode.BadInput;
    return ExitCode.Fault;
  }
  return ExitCode.Internal;
}
