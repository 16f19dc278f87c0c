/**
 * How `inspect`'s filters read around damage (one pass or `--stats` jobs alike): where a start
 * position starts reading (split-points.ts fileFrom), said when it is not at a transaction; and
 * what a GTID filter (`--include-gtids` / `--exclude-gtids`) does with a group cut by a damaged
 * event, read past under the decoder's `damaged: 'skip'`: pass over it when the filter leaves the
 * group out, else stop with the damage, as a read without the filter does.
 */
import type { DecodeWarning } from '../binlog/event.js';
import { EventType } from '../binlog/event-types.js';
import type { StartPoint } from '../source/split-points.js';
import { gtidText, type IncompleteTransaction } from '../binlog/transaction.js';
import { BinlogError, type BinlogErrorCode } from '../errors.js';
import type { TransactionFilter } from './transaction-filter.js';

/**
 * A damaged group the GTID filters read past (a warning), or the damage as the error a read
 * without them stops with, when they may want the group: the group's GTID is among those wanted,
 * or unknown (its GTID event is the damage: the GTID is not guessed).
 */
export function damageVerdict(tx: IncompleteTransaction, filter: TransactionFilter): DecodeWarning {
  const d = tx.damage!;
  const why = filter.passesOverDamage(tx);
  if (why === null) {
    const unknown = tx.gtid === null ? `; the transaction it cuts (at ${tx.pos}) has no GTID read before the damage, so ${filter.gtidOptions} cannot tell whether it is selected` : '';
    throw new BinlogError(d.code as BinlogErrorCode, `${d.message}${unknown}`, { file: tx.file, offset: d.offset, eventType: d.eventType });
  }
  const where = why === 'between transactions' ? 'between transactions' : `in transaction ${gtidText(tx.gtid!)} (at ${tx.pos}), ${why}`;
  return {
    code: 'DAMAGE_PASSED_OVER',
    message: `damaged event at ${tx.file}:${d.offset} (${d.code}) ${where}: passed over (it ends at ${tx.end})`,
    offset: d.offset,
    eventType: d.eventType,
  };
}

/**
 * What a start position not at a transaction start does, said on stderr (null when it is at one,
 * or the file is read whole and the filter drops what precedes it).
 */
export function startNote(from: StartPoint, position: number): DecodeWarning | null {
  const path = from.file.path;
  if (from.kind === 'after') {
    return {
      code: 'START_NOT_AT_TRANSACTION',
      message: `--start-position ${position} is not at a transaction start in ${path}: reading from the next one, at ${from.start} (transactions that start before ${position} are not read)`,
      offset: from.start,
      eventType: EventType.UNKNOWN,
    };
  }
  if (from.kind === 'none') {
    return { code: 'START_NOT_AT_TRANSACTION', message: `no transaction starts at or after --start-position ${position} in ${path}: nothing of it is read`, offset: position, eventType: EventType.UNKNOWN };
  }
  return null;
}
