/**
 * Whether an event can be the first of a transaction: what a read that starts at a position (a
 * live dump's `--start-position`) checks its first event against, since a server streams from any
 * event boundary and the tail of a transaction would otherwise read as a whole one without its
 * GTID.
 */
import type { BinlogEvent, FormatDescription } from '../binlog/event.js';

/**
 * Whether the server writes a GTID event before every transaction: MariaDB from 10.0 (its GTID
 * event opens every group), MySQL from 5.7.6 (an ANONYMOUS_GTID event when GTIDs are off). Older
 * servers open a transaction with BEGIN, or log a statement or an autocommitted row change alone.
 */
export function writesGtidEvents(fde: FormatDescription | null): boolean {
  if (fde === null) return false;
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(fde.serverVersion);
  if (!m) return false;
  const v = Number(m[1]) * 10_000 + Number(m[2]) * 100 + Number(m[3]);
  return fde.flavor === 'mariadb' ? v >= 10_00_00 : v >= 5_07_06;
}

/**
 * True for an event that opens a transaction, false for one inside a transaction, null for one
 * outside any (file control: format description, rotate, GTID state, heartbeat, filler).
 */
export function opensTransaction(e: BinlogEvent, fde: FormatDescription | null): boolean | null {
  switch (e.kind) {
    case 'gtid':
    case 'mariadb-gtid':
      return true;
    case 'query':
    case 'intvar':
    case 'rand':
    case 'user-var':
    case 'table-map':
      // BEGIN, a statement (with its INTVAR/RAND/USER_VAR context), or an autocommitted row change
      // opens a group only on a server that writes no GTID events; after a GTID event they are
      // inside its transaction.
      return !writesGtidEvents(fde);
    case 'format-description':
    case 'rotate':
    case 'stop':
    case 'previous-gtids':
    case 'gtid-list':
    case 'binlog-checkpoint':
    case 'heartbeat':
    case 'ignored':
    case 'incident':
      return null;
    default:
      return false;
  }
}
