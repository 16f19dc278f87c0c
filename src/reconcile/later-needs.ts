/**
 * The rows of delete-blocking's tables that lost changes anywhere in the lost range change or point
 * at, with the first and the last change that needs each: a window sees only its own changes, and a
 * row deleted for one window would leave a later window's change nothing to point at (held as
 * parent-missing, the row in salvage.archive), or cascade away what an earlier window's change
 * wrote under it (an order the range updated, deleted with its customer). A window asks after its
 * own changes, earlier and later alike; so across windows both ways, or the decision would depend
 * on the window size. Filled by a read of the whole lost range before the first window
 * (pipeline/salvage.ts), so not with --follow, which has no end to read to.
 *
 * Memory is bounded by what delete-blocking can delete: one entry per distinct row key of a table
 * whose rules may delete a blocker (a character key folded by its collation), and per distinct
 * folded value of its unique keys that foreign keys name (Reconciler.neededRows), and per row key of
 * a table referencing one that a MINIMAL update changes keeping the reference (its after image names
 * no parent); none when no rule does.
 */
import { gtidText, type Transaction } from '../binlog/transaction.js';

/** Where a change lies in the lost range: the order of its file as read, its transaction's position, its index in it. */
interface Need {
  readonly file: number;
  readonly pos: number;
  readonly index: number;
  /** `GTID#index` or `file:pos#index`, as ledgers name changes. */
  readonly label: string;
}

export class LaterNeeds {
  /** Files in the order they were read (binlog names sort by that order only within one base name). */
  readonly #files = new Map<string, number>();
  /** Per table and row: the last change that needs it. */
  readonly #last = new Map<string, Map<string, Need>>();
  /** Per table and row: the first (the same object while only one does). */
  readonly #first = new Map<string, Map<string, Need>>();

  /** Notes a transaction read, in order, whether or not any of its changes needs a row: it places the windows' changes. */
  seen(tx: Transaction): void {
    if (!this.#files.has(tx.file)) this.#files.set(tx.file, this.#files.size);
  }

  /**
   * Notes that change `index` of `tx` (seen) changes or points at the row `key` of `table`
   * (`schema.table`; or a unique key's name for it and the folded value: heldParents).
   */
  add(table: string, key: string, tx: Transaction, index: number): void {
    let rows = this.#last.get(table);
    let firsts = this.#first.get(table);
    if (rows === undefined || firsts === undefined) {
      this.#last.set(table, (rows = new Map()));
      this.#first.set(table, (firsts = new Map()));
    }
    const need: Need = { file: this.#files.get(tx.file) ?? -1, pos: tx.pos, index, label: `${tx.gtid !== null ? gtidText(tx.gtid) : `${tx.file}:${tx.pos}`}#${index}` };
    // Read in order: the latest change noted is the last that needs the row, and one that adds the
    // row (the map grew: no lookup on the way) the first.
    const size = rows.size;
    rows.set(key, need);
    if (rows.size !== size) firsts.set(key, need);
  }

  /** The last lost change that needs the row `key` of `table`, when it comes after change `index` of `tx`; else undefined. */
  after(table: string, key: string, tx: Transaction, index: number): string | undefined {
    const need = this.#last.get(table)?.get(key);
    const file = this.#files.get(tx.file);
    if (need === undefined || file === undefined) return undefined;
    return compare(need, file, tx.pos, index) > 0 ? need.label : undefined;
  }

  /** The first lost change that needs the row `key` of `table`, when it comes before change `index` of `tx`; else undefined. */
  before(table: string, key: string, tx: Transaction, index: number): string | undefined {
    const need = this.#first.get(table)?.get(key);
    const file = this.#files.get(tx.file);
    if (need === undefined || file === undefined) return undefined;
    return compare(need, file, tx.pos, index) < 0 ? need.label : undefined;
  }

  /** How many rows are noted (for tests and the report of memory it holds). */
  get size(): number {
    let n = 0;
    for (const rows of this.#last.values()) n += rows.size;
    return n;
  }
}

/** Where `need` lies against change `index` of the transaction at `pos` of the file read `file`-th: negative before it, positive after. */
function compare(need: Need, file: number, pos: number, index: number): number {
  return need.file !== file ? need.file - file : need.pos !== pos ? need.pos - pos : need.index - index;
}
