/**
 * The selection filters of `inspect` (and later plan/apply): positions, times, GTID sets and
 * tables, with mysqlbinlog's semantics — a start position applies to the first file, a stop
 * position to the last; times are the transactions' own timestamps, in UTC.
 */
import { EngineError } from '../errors.js';
import { savepointControl } from '../binlog/savepoint.js';
import type { IncompleteTransaction, LoggedStatement, RowChange, StatementMark, Transaction } from '../binlog/transaction.js';
import { GtidSet } from '../model/gtid-set.js';
import { statementTableName } from '../model/statement-table.js';
import { parseTablePattern, splitTablePatterns, type TablePattern } from '../model/table-pattern.js';

export interface TransactionFilterOptions {
  readonly startPosition?: number;
  readonly stopPosition?: number;
  /** Seconds since the epoch (inclusive). */
  readonly startTime?: number;
  /** Seconds since the epoch (exclusive). */
  readonly stopTime?: number;
  readonly includeGtids?: GtidSet;
  readonly excludeGtids?: GtidSet;
  /**
   * `db.table` patterns as the configuration's table keys write them (model/table-pattern.ts:
   * globs per part, backticks for a name with a dot, case-sensitive); a transaction keeps only the
   * row changes and statements that match (TransactionFilter.apply).
   */
  readonly tables?: readonly string[];
}

export class FilterError extends EngineError {}

/** Parses `YYYY-MM-DD[ HH:MM:SS]` (UTC) into seconds since the epoch; FilterError BAD_OPTION naming `option` for other text or a date or time that does not exist. */
export function parseUtcDateTime(text: string, option: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?Z?$/.exec(text.trim());
  if (!m) throw new FilterError('BAD_OPTION', `${option}: expected "YYYY-MM-DD HH:MM:SS" (UTC), got "${text}"`, { option });
  const [y, mo, d, h, mi, sec] = m.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec);
  // Date.UTC rolls an impossible date or time over (02-30 → 03-02, 24:30 → 00:30 the next day):
  // a start or stop time that silently moved selects the wrong transactions, so refuse it.
  const back = new Date(ms);
  if (Number.isNaN(ms) || back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59) {
    throw new FilterError('BAD_OPTION', `${option}: "${text}" is not a valid date and time (UTC)`, { option });
  }
  return ms / 1000;
}

/** The pattern `written`, or FilterError BAD_OPTION naming `option` when it is not `db.table`. */
function tablePattern(written: string, option: string): TablePattern {
  const parsed = parseTablePattern(written);
  if (parsed !== null) return parsed;
  const dotted = written.split('.').length > 2 ? '; a name that holds a dot goes in backticks, as in `shop.v2`.orders' : '';
  throw new FilterError('BAD_OPTION', `${option}: "${written}" is not "db.table" (globs * and ? allowed)${dotted}`, { option });
}

/**
 * The table patterns of `--tables` values (each a comma-separated list; a comma inside backticks
 * is part of a name), checked: FilterError BAD_OPTION for one that is not `db.table`.
 */
export function parseTablesOption(values: readonly string[], option: string): string[] {
  const patterns = values.flatMap(splitTablePatterns);
  for (const p of patterns) tablePattern(p, option);
  return patterns;
}

/**
 * A compiled filter; `files` tells it which file is first and last for the position rules. Throws
 * FilterError BAD_OPTION for a `tables` pattern that is not `db.table`.
 */
export class TransactionFilter {
  readonly #o: TransactionFilterOptions;
  readonly #tables: TablePattern[] | null;
  readonly #first: string | undefined;
  readonly #last: string | undefined;

  constructor(options: TransactionFilterOptions, files: readonly string[]) {
    this.#o = options;
    this.#tables = options.tables && options.tables.length > 0 ? options.tables.map((t) => tablePattern(t, '--tables')) : null;
    this.#first = files[0];
    this.#last = files[files.length - 1];
  }

  /** Whether reading can stop: a stop position or time has been passed in the last file. */
  pastEnd(tx: Pick<Transaction, 'file' | 'pos' | 'timestamp'>): boolean {
    if (this.#o.stopPosition !== undefined && tx.file === this.#last && tx.pos >= this.#o.stopPosition) return true;
    return false;
  }

  /** Whether the position, time and GTID filters select a group that starts at `tx.file:tx.pos`. */
  #selects(tx: Pick<Transaction, 'file' | 'pos' | 'timestamp' | 'gtid'>): boolean {
    const o = this.#o;
    if (o.startPosition !== undefined && tx.file === this.#first && tx.pos < o.startPosition) return false;
    if (o.stopPosition !== undefined && tx.file === this.#last && tx.pos >= o.stopPosition) return false;
    if (o.startTime !== undefined && tx.timestamp < o.startTime) return false;
    if (o.stopTime !== undefined && tx.timestamp >= o.stopTime) return false;
    if (o.includeGtids && (tx.gtid === null || !o.includeGtids.contains(tx.gtid))) return false;
    if (o.excludeGtids && tx.gtid !== null && o.excludeGtids.contains(tx.gtid)) return false;
    return true;
  }

  /** Whether --include-gtids or --exclude-gtids is set: a filter that decides by each transaction's GTID. */
  get byGtid(): boolean {
    return this.#o.includeGtids !== undefined || this.#o.excludeGtids !== undefined;
  }

  /** The GTID options set, as a message names them. */
  get gtidOptions(): string {
    return [this.#o.includeGtids ? '--include-gtids' : null, this.#o.excludeGtids ? '--exclude-gtids' : null].filter((x) => x !== null).join(' and ');
  }

  /**
   * Why a group cut by a damaged event (reason `damaged`) can be passed over: the GTID filters
   * leave it out by the GTID its GTID event gave before the damage (a phrase naming the option),
   * or the damage lay between transactions. Null when it may be wanted — among them a group whose
   * GTID is unknown (its GTID event is the damage, or the file logs none): never guessed at.
   * Only the GTID is trusted here: the tables read before the damage are not all it wrote.
   */
  passesOverDamage(tx: IncompleteTransaction): string | null {
    const o = this.#o;
    if (!this.byGtid || tx.damage === undefined) return null;
    if (tx.damage.betweenTransactions) return 'between transactions';
    if (tx.gtid === null) return null;
    if (o.includeGtids && !o.includeGtids.contains(tx.gtid)) return 'which --include-gtids does not select';
    if (o.excludeGtids && o.excludeGtids.contains(tx.gtid)) return 'which --exclude-gtids leaves out';
    return null;
  }

  /**
   * Whether an incomplete group is reported: as a transaction would be, by what was read of it
   * before it was cut. A group cut before any row change or statement is reported under any
   * --tables: nothing says which tables it would have changed.
   */
  keepsIncomplete(tx: IncompleteTransaction): boolean {
    if (!this.#selects(tx)) return false;
    if (this.#tables === null || (tx.tables.length === 0 && tx.statements.length === 0)) return true;
    return tx.tables.some((t) => this.#tables!.some((p) => p.matches(t.schema, t.table))) || this.#statements(tx.statements).length > 0;
  }

  /** The transaction as the filters leave it, or null when it is filtered out. */
  apply(tx: Transaction): Transaction | null {
    if (!this.#selects(tx)) return null;
    if (this.#tables) {
      const keep = (c: RowChange): boolean => this.#tables!.some((p) => p.matches(c.table.schema, c.table.table));
      const kept = tx.changes.map(keep);
      const changes = tx.changes.filter((_, i) => kept[i]);
      const statements = this.#statements(tx.statements);
      if (changes.length === 0 && statements.length === 0) return null;
      if (changes.length === tx.changes.length && statements.length === tx.statements.length) return tx;
      const statementMarks = changes.length === tx.changes.length ? tx.statementMarks : marksOfKept(tx.statementMarks, kept);
      const annotations = statementMarks === tx.statementMarks ? tx.annotations : statementMarks.flatMap((m) => (m.sql === null ? [] : [m.sql]));
      return { ...tx, changes, statements, statementMarks, annotations };
    }
    return tx;
  }

  /**
   * The statements (statement-based DML, DDL) `--tables` keeps: those whose table, read from the
   * text, matches. One whose text does not name its table (CREATE VIEW, CREATE DATABASE, a form
   * statement-table.ts does not know) is kept when its default database could match: dropping it
   * could hide a change to a selected table. Savepoint statements are transaction control and go
   * with the statements kept beside them, never alone.
   */
  #statements(all: readonly LoggedStatement[]): LoggedStatement[] {
    if (all.length === 0) return [];
    let kept = 0;
    const out = all.filter((st) => {
      if (savepointControl(st.sql) !== null) return true;
      const name = statementTableName(st.sql, st.schema);
      const match = this.#tables!.some((p) => (name === null ? p.matchesSchema(st.schema) : p.matches(name.schema, name.table)));
      if (match) kept++;
      return match;
    });
    return kept === 0 ? [] : out;
  }
}

/**
 * The statement marks of a transaction whose row changes were thinned to those with `kept[i]`: a
 * mark's change indices count kept changes only (statementMarkOf indexes `changes`), its end made
 * explicit, and a statement none of whose changes is kept is dropped with them.
 */
export function marksOfKept(marks: readonly StatementMark[], kept: readonly boolean[]): StatementMark[] {
  // before[i]: how many kept changes precede change i.
  const before = new Int32Array(kept.length + 1);
  for (let i = 0; i < kept.length; i++) before[i + 1] = before[i]! + (kept[i] ? 1 : 0);
  const out: StatementMark[] = [];
  for (let k = 0; k < marks.length; k++) {
    const m = marks[k]!;
    const end = m.endChange >= 0 ? m.endChange : k + 1 < marks.length ? marks[k + 1]!.firstChange : kept.length;
    const first = before[Math.min(m.firstChange, kept.length)]!;
    const last = before[Math.min(end, kept.length)]!;
    if (last > first) out.push({ ...m, firstChange: first, endChange: last });
  }
  return out;
}
