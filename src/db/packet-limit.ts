/**
 * The DR's `max_allowed_packet`, checked before a statement is sent. A statement over it is not
 * refused cleanly: past 16 MiB the driver splits it into several packets, the server drops the
 * connection half-way, and the run sees a lost connection ("got packets out of order") it can only
 * retry into the same wall. So the writers measure each statement they build (one length test for
 * the statements well under the limit), send a batch that does not fit as smaller ones, and stop on
 * a single row that cannot fit with PacketTooLargeError: the row, the size it needs, the DR's limit.
 */
import { DbErrorCode } from './db-errors.js';
import { DatabaseError } from './schema-hints.js';

/**
 * What a statement's packet holds beyond its text, as the server counts it against the limit:
 * measured on MariaDB 10.11 at max_allowed_packet=1M, a text of 1,048,574 bytes passes and one of
 * 1,048,575 is refused (the command byte, and a packet must stay below the limit).
 */
const OVERHEAD = 2;

/** The largest max_allowed_packet a server takes (both MariaDB and MySQL). */
export const MAX_PACKET_CEILING = 1 << 30;

/**
 * The byte length of `sql` when it does not fit under `limit`, else null (no limit: null). UTF-8
 * takes at most 3 bytes per UTF-16 unit, so a text whose length passes that test is not encoded.
 */
export function oversize(sql: string, limit: number | undefined): number | null {
  if (limit === undefined || sql.length * 3 + OVERHEAD <= limit) return null;
  const bytes = Buffer.byteLength(sql, 'utf8');
  return bytes + OVERHEAD <= limit ? null : bytes;
}

/** The smallest max_allowed_packet that takes a statement of `bytes` bytes of text. */
export function packetNeeded(bytes: number): number {
  return bytes + OVERHEAD;
}

/** A byte budget per statement under `limit`: a quarter of it (escapes and UTF-8 may triple a value's length), at most `budget`. */
export function budgetUnder(budget: number, limit: number | undefined): number {
  return limit === undefined ? budget : Math.max(1, Math.min(budget, Math.floor(limit / 4)));
}

/** The row that does not fit, as far as the writer that met it knows it. */
export interface OversizeRow {
  /** `schema.table`. */
  readonly table: string;
  /** The statement that would carry it: `insert`, `update`, `delete`, `ledger`, `quarantine`, `archive`. */
  readonly statement: string;
  /** The row's primary key in canonical JSON, when the writer knows it. */
  readonly key: string | null;
  /** The change (GTID, else file:pos) that writes it, when the writer knows it. */
  readonly change: string | null;
  /** Bytes of the statement's text. */
  readonly bytes: number;
  readonly maxAllowedPacket: number;
  /**
   * The largest statement of one row its whole transaction needs (data, ledger, archive), when the
   * caller measured it: raised to this, the transaction goes through, not just this statement.
   */
  readonly transactionBytes?: number;
}

/** One row's statement does not fit the DR's max_allowed_packet: the DBA raises it, and the run is started again. */
export class PacketTooLargeError extends DatabaseError {
  /** The row's key values as the data writer had them (null from the state writers, which give `key`): the caller names them. */
  readonly keyValues: readonly unknown[] | null;
  readonly row: OversizeRow;

  constructor(row: OversizeRow, keyValues: readonly unknown[] | null = null) {
    const needed = packetNeeded(Math.max(row.bytes, row.transactionBytes ?? 0));
    const key = row.key === null ? '' : ` ${row.key}`;
    const change = row.change === null ? '' : ` (change ${row.change})`;
    super(
      DbErrorCode.PacketTooLarge,
      `the row${key} of ${row.table}${change} needs a statement (${row.statement}) of ${row.bytes} bytes: more than the DR's max_allowed_packet of ${row.maxAllowedPacket} allows; ${row.transactionBytes === undefined ? 'it needs' : 'its transaction needs'} a max_allowed_packet of at least ${needed}; nothing of it was sent`,
      { table: row.table, ...(row.key === null ? {} : { key: row.key }), ...(row.change === null ? {} : { gtid: row.change }), statement: row.statement, needed, maxAllowedPacket: row.maxAllowedPacket },
    );
    this.row = row;
    this.keyValues = keyValues;
  }

  /** The same failure with the row's key and change filled in by the caller, who knows them. */
  placed(key: string | null, change: string | null, transactionBytes?: number): PacketTooLargeError {
    return new PacketTooLargeError({ ...this.row, key: key ?? this.row.key, change: change ?? this.row.change, ...(transactionBytes === undefined ? {} : { transactionBytes }) }, this.keyValues);
  }
}

/** The value to give `SET GLOBAL max_allowed_packet` for `needed` bytes: the server keeps multiples of 1024, rounding down. */
export function packetSetting(needed: number): number {
  return Math.ceil(needed / 1024) * 1024;
}
