/**
 * The DR's own history since the failover (R in DESIGN.md's taxonomy), reduced to what
 * classification needs: per table and primary key, whether the DR created, changed or deleted
 * the record there after the failover, and which unique values the DR's own inserts took.
 *
 * This is the port through which reconcile sees it: reconcile stays pure and synchronous, so a
 * history too large for memory is brought in per window (`prepare`) before the window is decided.
 */

/** Where a DR transaction sits: its GTID when it has one, else `file:pos`. */
export type HistoryAt = string;

/** What the DR did, after the failover, to the record at one primary key. */
export interface RowHistory {
  /**
   * The record now at this key was inserted by the DR after the failover (a different record from
   * any the primary knew there), including a delete followed by a re-insert of the same key.
   */
  readonly insertedByDr: boolean;
  /** The key held a record at the failover: the DR's first logged change to it was an update or delete. */
  readonly existedAtFailover: boolean;
  /** The DR's last change left no row at this key. */
  readonly deletedByDr: boolean;
  /**
   * Columns the DR's updates changed on the current record (logged changes, so a column changed
   * and changed back still counts). Empty after an insert that nothing updated since.
   */
  readonly changedColumns: ReadonlySet<string>;
  /** The DR transactions that touched the key: the first and the last. */
  readonly first: HistoryAt;
  readonly last: HistoryAt;
}

/** The point where the DR stopped receiving from the primary and began writing on its own. */
export interface FailoverPoint {
  /** The last transaction the DR received from the primary before the failover, if the DR binlog shows it. */
  readonly lastReceived: { readonly at: HistoryAt; readonly file: string; readonly pos: number; readonly timestamp: number; readonly serverId: number } | null;
  /** The first transaction the DR wrote itself, if any. */
  readonly firstOwn: { readonly at: HistoryAt; readonly file: string; readonly pos: number; readonly timestamp: number; readonly serverId: number } | null;
  /** How the point was found (`--failover-at …`, or the rule and the identity that matched). */
  readonly rule: string;
  /** Facts a DBA can check the point against (server ids, domains, counts of transactions on each side). */
  readonly evidence: readonly string[];
}

/** The DR's post-failover activity per table, for reports and the plan's timeline. */
export interface HistoryTableSummary {
  readonly table: string;
  readonly inserted: number;
  readonly updated: number;
  readonly deleted: number;
}

/** Read access to the DR's history, as reconcile uses it. */
export interface DrHistory {
  readonly failover: FailoverPoint;
  /** Transactions the DR wrote itself after the failover (the salvage engine's own writes excluded). */
  readonly transactions: number;
  /** Per table (`schema.table`), what the DR did after the failover. */
  readonly tables: readonly HistoryTableSummary[];
  /**
   * False when the DR has written more than the history covers (the files end before the DR's
   * current position): keys the history does not know are then judged by values, not as untouched.
   */
  readonly complete: boolean;
  /**
   * Tables whose history is not kept, with the reason (not in the DR's schema, no primary key, or
   * row images whose columns could not be matched to the DR's schema): `row()` answers undefined
   * for them, and their keys are to be judged by values, as when `complete` is false.
   */
  readonly untracked: ReadonlyMap<string, string>;
  /**
   * Brings the entries of these keys (`schema.table` → row keys from model/row-key.ts `rowKey`) into
   * memory, and of these unique values (`schema.table` → unique key name → folded index keys) when
   * given. Entries held in memory from the start need no preparing.
   */
  prepare(keys: ReadonlyMap<string, ReadonlySet<string>>, uniques?: ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<string>>>): Promise<void>;
  /**
   * What the DR did to the record at `pk` (a `rowKey` of the primary-key values) of `table`; undefined
   * when it did nothing. A key whose entry went to the spill and was not prepared throws
   * DR_HISTORY_NOT_PREPARED (a bug in the caller's key collection), never a guess.
   */
  row(table: string, pk: string): RowHistory | undefined;
  /**
   * The DR transaction that last inserted this unique value after the failover (`uniqueKey` = index
   * name, `folded` = the index key as TableState folds it), if any; unprepared spilled values throw as `row()` does.
   */
  uniqueInserted(table: string, uniqueKey: string, folded: string): HistoryAt | undefined;
  /**
   * A history that follows the DR (`apply --follow --dr-source`): folds in what the DR wrote since
   * the last read, up to its binlog end now, so that a record the DR created while the run follows
   * is known as the DR's own. Called before each window is decided, then `prepare`. Absent on a
   * history read once.
   */
  catchUp?(): Promise<void>;
  /** Removes spill files (and ends the reads a followed history keeps open), if any. */
  close(): Promise<void>;
}

/** `--failover-at`: the last transaction received from the primary, the first position, or the first time of the DR's own writes. */
export type FailoverAt =
  | { readonly kind: 'gtid'; readonly gtid: string }
  | { readonly kind: 'position'; readonly file: string; readonly pos: number }
  | { readonly kind: 'time'; readonly seconds: number };

/**
 * Where a history too large for memory keeps its per-key records: lines appended to hash
 * partitions and read back whole, in the order appended. Synchronous appends, because the
 * history is built synchronously; an implementation buffers its writes.
 */
export interface HistorySpill {
  append(partition: number, line: string): void;
  /** Every line appended to `partition`, in order. */
  read(partition: number): Promise<string[]>;
  /** Removes whatever the spill stored. */
  close(): Promise<void>;
}
