/**
 * The selection filters of `inspect` (and later plan/apply): positions, times, GTID sets and
 * tables, with mysqlbinlog's semantics — a start position applies to the first file, a stop
 * position to the last; times are the transactions' own timestamps, in UTC.
 */
import { EngineError } from '../errors.js';
import type { RowChange, Transaction } from '../binlog/transaction.js';
import { GtidSet } from '../model/gtid-set.js';

export interface TransactionFilterOptions {
  readonly startPosition?: number;
  readonly stopPosition?: number;
  /** Seconds since the epoch (inclusive). */
  readonly startTime?: number;
  /** Seconds since the epoch (exclusive). */
  readonly stopTime?: number;
  readonly includeGtids?: GtidSet;
  readonly excludeGtids?: GtidSet;
  /** `db.table` globs (`*` and `?`); a transaction keeps only the changes that match. */
  readonly tables?: readonly string[];
}

export class FilterError extends EngineError {}

/** Parses `YYYY-MM-DD[ HH:MM:SS]` (UTC) into seconds since the epoch. */
export function parseUtcDateTime(text: string, option: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?Z?$/.exec(text.trim());
  if (!m) throw new FilterError('BAD_OPTION', `${option}: expected "YYYY-MM-DD HH:MM:SS" (UTC), got "${text}"`, { option });
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  if (Number.isNaN(ms)) throw new FilterError('BAD_OPTION', `${option}: "${text}" is not a date`, { option });
  return ms / 1000;
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`, 'i');
}

/** A compiled filter; `files` tells it which file is first and last for the position rules. */
export class TransactionFilter {
  readonly #o: TransactionFilterOptions;
  readonly #tables: RegExp[] | null;
  readonly #first: string | undefined;
  readonly #last: string | undefined;

  constructor(options: TransactionFilterOptions, files: readonly string[]) {
    this.#o = options;
    this.#tables = options.tables && options.tables.length > 0 ? options.tables.map(globToRegExp) : null;
    this.#first = files[0];
    this.#last = files[files.length - 1];
  }

  /** Whether reading can stop: a stop position or time has been passed in the last file. */
  pastEnd(tx: Pick<Transaction, 'file' | 'pos' | 'timestamp'>): boolean {
    if (this.#o.stopPosition !== undefined && tx.file === this.#last && tx.pos >= this.#o.stopPosition) return true;
    return false;
  }

  /** The transaction as the filters leave it, or null when it is filtered out. */
  apply(tx: Transaction): Transaction | null {
    const o = this.#o;
    if (o.startPosition !== undefined && tx.file === this.#first && tx.pos < o.startPosition) return null;
    if (o.stopPosition !== undefined && tx.file === this.#last && tx.pos >= o.stopPosition) return null;
    if (o.startTime !== undefined && tx.timestamp < o.startTime) return null;
    if (o.stopTime !== undefined && tx.timestamp >= o.stopTime) return null;
    if (o.includeGtids && (tx.gtid === null || !o.includeGtids.contains(tx.gtid))) return null;
    if (o.excludeGtids && tx.gtid !== null && o.excludeGtids.contains(tx.gtid)) return null;
    if (this.#tables) {
      const keep = (c: RowChange): boolean => this.#tables!.some((re) => re.test(`${c.table.schema}.${c.table.table}`));
      const changes = tx.changes.filter(keep);
      if (changes.length === 0) return null;
      return changes.length === tx.changes.length ? tx : { ...tx, changes };
    }
    return tx;
  }
}
