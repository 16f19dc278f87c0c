/**
 * Per-table counts of `inspect --stats`. A snapshot is plain data, so counts made in worker
 * threads over disjoint ranges of the input merge into one, in input order.
 */
import type { TableMap } from '../binlog/event.js';
import { gtidText, type Gtid, type Transaction } from '../binlog/transaction.js';
import { qualifiedName } from '../model/qualified-name.js';

export interface TableStats {
  inserts: number;
  updates: number;
  deletes: number;
  transactions: number;
  /** Ordinal of the last transaction counted (counts each transaction once per table). */
  lastTransaction: number;
}

/** Counts per table and overall, as `inspect --stats` prints them. */
export class InspectStats {
  /**
   * Counts per table, keyed by its name as the configuration and --tables write it
   * (qualifiedName: `shop.orders`, and `` `a.b`.c `` apart from `` a.`b.c` ``).
   */
  readonly tables = new Map<string, TableStats>();
  readonly #byMap = new Map<TableMap, TableStats>();
  #lastMap: TableMap | null = null;
  #lastStats: TableStats | undefined = undefined;
  transactions = 0;
  incomplete = 0;
  rowChanges = 0;
  bytes = 0;
  #firstGtid: Gtid | null = null;
  #lastGtid: Gtid | null = null;
  firstTime: number | null = null;
  lastTime: number | null = null;

  add(tx: Transaction): void {
    this.transactions++;
    // The first GTID and time are stored on every call, not only the first: a store that only
    // ever ran before V8 kept type feedback for add() deoptimized its compiled code when the
    // next job's counts began (parallel-stats.ts).
    if (tx.gtid) {
      this.#firstGtid = this.#firstGtid ?? tx.gtid;
      this.#lastGtid = tx.gtid;
    }
    this.firstTime = this.firstTime ?? tx.timestamp;
    this.lastTime = tx.timestamp;
    const stamp = this.transactions;
    for (const c of tx.changes) {
      // The decoder reuses one TableMap object per table, so the name is built once per map;
      // changes come in runs of one table (a rows event), so the last lookup is kept too.
      let t = c.table === this.#lastMap ? this.#lastStats : this.#byMap.get(c.table);
      if (!t) {
        // Quoted where a part needs it: joined with a bare dot, two tables could share one key.
        const key = qualifiedName(c.table.schema, c.table.table);
        t = this.tables.get(key);
        if (!t) {
          t = { inserts: 0, updates: 0, deletes: 0, transactions: 0, lastTransaction: 0 };
          this.tables.set(key, t);
        }
        this.#byMap.set(c.table, t);
      }
      this.#lastMap = c.table;
      this.#lastStats = t;
      if (c.op === 'insert') t.inserts++;
      else if (c.op === 'update') t.updates++;
      else t.deletes++;
      if (t.lastTransaction !== stamp) {
        t.lastTransaction = stamp;
        t.transactions++;
      }
      this.rowChanges++;
    }
  }

  get firstGtid(): string | null {
    return this.#firstGtid ? gtidText(this.#firstGtid) : this.#mergedFirst;
  }

  get lastGtid(): string | null {
    return this.#lastGtid ? gtidText(this.#lastGtid) : this.#mergedLast;
  }

  #mergedFirst: string | null = null;
  #mergedLast: string | null = null;

  /** Plain data (structured-clone safe). */
  snapshot(): StatsSnapshot {
    return {
      tables: [...this.tables].map(([name, t]) => [name, { inserts: t.inserts, updates: t.updates, deletes: t.deletes, transactions: t.transactions }]),
      transactions: this.transactions,
      rowChanges: this.rowChanges,
      firstGtid: this.firstGtid,
      lastGtid: this.lastGtid,
      firstTime: this.firstTime,
      lastTime: this.lastTime,
    };
  }

  /** Folds in the counts of a later range of the input. */
  merge(s: StatsSnapshot): void {
    for (const [name, t] of s.tables) {
      const mine = this.tables.get(name);
      if (mine) {
        mine.inserts += t.inserts;
        mine.updates += t.updates;
        mine.deletes += t.deletes;
        mine.transactions += t.transactions;
      } else {
        this.tables.set(name, { ...t, lastTransaction: 0 });
      }
    }
    this.transactions += s.transactions;
    this.rowChanges += s.rowChanges;
    if (this.firstGtid === null && s.firstGtid !== null) {
      this.#mergedFirst = s.firstGtid;
    }
    if (s.lastGtid !== null) {
      this.#lastGtid = null;
      this.#mergedLast = s.lastGtid;
    }
    this.firstTime ??= s.firstTime;
    if (s.lastTime !== null) this.lastTime = s.lastTime;
  }
}

export interface StatsSnapshot {
  readonly tables: ReadonlyArray<readonly [string, { inserts: number; updates: number; deletes: number; transactions: number }]>;
  readonly transactions: number;
  readonly rowChanges: number;
  readonly firstGtid: string | null;
  readonly lastGtid: string | null;
  readonly firstTime: number | null;
  readonly lastTime: number | null;
}
