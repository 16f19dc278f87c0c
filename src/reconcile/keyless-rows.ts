/**
 * The overlay of a table without a primary key (DESIGN.md "Conflict taxonomy": such a table is
 * matched the way replication matches it). Its rows have no identity but their values, and several
 * may be equal, so they are kept as a multiset: each distinct row value with how many rows hold it
 * — the copies the DR held when read, plus the window's own inserts, minus its deletes (an update
 * takes one copy of the old value and adds one of the new).
 *
 * An update or delete is written as `… WHERE <before image> LIMIT 1`: the server takes any one row
 * its comparison equates to the before image (NULL-safe, on the logged columns, under each column's
 * collation). The window's locking read used that very comparison and recorded which rows the server
 * returned for each image (`load`), so which DR rows a write can reach is the server's own answer,
 * never a guess. A change is matched only when every row the write can reach is one and the same
 * value, equal to the before image as the engine compares values (`sameExactValue`): then whichever
 * copy the server takes, the DR ends the same. Rows the server equates but that differ (`'Bob'` and
 * `'bob'` under a _ci collation, values of unlogged columns) make the change ambiguous: it is held,
 * never written onto a row it might not mean. Rows the window itself wrote and the DR never returned
 * are compared by a fold looser than any collation (model/loose-fold.ts looseFolder), erring towards
 * "the server could take it", the safe side.
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import { CharsetText } from '../binlog/values/charset-text.js';
import { EngineError } from '../errors.js';
import { imageKey } from '../model/row-key.js';
import type { ColumnSchema, TableSchema } from '../model/table-schema.js';
import { looseFolder } from '../model/loose-fold.js';
import { sameExactValue, sameValue } from './value-equality.js';

export const KeylessRowsErrorCode = {
  /** An image the window never read was matched (an internal error: the read collection missed it). */
  UnreadImage: 'RECONCILE_UNREAD_IMAGE',
} as const;
export type KeylessRowsErrorCode = (typeof KeylessRowsErrorCode)[keyof typeof KeylessRowsErrorCode];

/** What an update's or delete's before image meets among the rows a write by that image can reach. */
export type KeylessMatch =
  /** Every reachable row is this one value, equal to the before image: any copy is the same row. */
  | { readonly kind: 'one'; readonly row: RowImage; readonly copies: number }
  /** No reachable row equals the before image (`near`: rows the server equates to it that differ). */
  | { readonly kind: 'none'; readonly near: number }
  /** The write could reach rows that differ from one another: which one the server takes is unknown. */
  | { readonly kind: 'ambiguous'; readonly why: string };

/** One distinct row value and its copies. */
interface Slot {
  readonly key: string;
  readonly row: RowImage;
  /** Copies the DR held when a read returned it; undefined while no read has returned this value. */
  dr: number | undefined;
  /** The window's net change to its copies. */
  delta: number;
}

export class KeylessRows {
  readonly #schema: TableSchema;
  readonly #ignore: ReadonlySet<string>;
  readonly #journal: (undo: () => void) => void;
  readonly #folds: readonly ((v: ColumnValue | undefined) => string)[];
  readonly #slots = new Map<string, Slot>();
  /** Per image read (its imageKey): the keys of the row values the server returned for it. */
  readonly #answers = new Map<string, Set<string>>();
  /**
   * Values only the window wrote (no read returned them), by their loose key when every cell is
   * known; `#irregular` holds those with a cell the window left to its default (not known here).
   */
  readonly #windowOnly = new Map<string, Set<Slot>>();
  readonly #irregular = new Set<Slot>();

  /** `journal` records how to undo each change, so a transaction held back whole takes its changes back. */
  constructor(schema: TableSchema, ignore: ReadonlySet<string>, journal: (undo: () => void) => void) {
    this.#schema = schema;
    this.#ignore = ignore;
    this.#journal = journal;
    this.#folds = schema.columns.map((c) => looseFolder(c.collation ?? null));
  }

  /**
   * What the DR is searched by for `before`: its logged columns, less those the configuration leaves
   * out of every comparison (ignoreColumns). `before` itself when it leaves nothing out.
   */
  probe(before: RowImage): RowImage {
    if (this.#ignore.size === 0) return before;
    const columns = this.#schema.columns;
    let out: RowImage | null = null;
    for (let i = 0; i < columns.length; i++) {
      if (before[i] !== undefined && this.#ignore.has((columns[i] as ColumnSchema).name)) (out ??= before.slice())[i] = undefined;
    }
    return out ?? before;
  }

  /** Whether the rows equal to `probe` were read (plan keeps its overlay across windows: not asked twice). */
  knows(probe: RowImage): boolean {
    return this.#answers.has(imageKey(probe));
  }

  /** Records the rows the server returned for `probe` (every copy): the copies of each value, and which values the probe reaches. */
  load(probe: RowImage, rows: readonly RowImage[]): void {
    const counts = new Map<string, { row: RowImage; n: number }>();
    for (const row of rows) {
      const k = imageKey(row);
      const c = counts.get(k);
      if (c === undefined) counts.set(k, { row, n: 1 });
      else c.n++;
    }
    const reached = new Set<string>();
    for (const [k, { row, n }] of counts) {
      reached.add(k);
      const slot = this.#slots.get(k);
      if (slot === undefined) this.#slots.set(k, { key: k, row, dr: n, delta: 0 });
      else if (slot.dr === undefined) {
        // A value the window wrote and the DR holds too: the server answers for it from now on.
        this.#unindex(slot);
        slot.dr = n;
      }
      // Else read before: the DR's copies are what the first read found (plan's overlay counts the window's on top).
    }
    this.#answers.set(imageKey(probe), reached);
  }

  /** The row an update or delete with this probe (see `probe`) meets; see KeylessMatch. */
  match(probe: RowImage): KeylessMatch {
    const pk = imageKey(probe);
    const answer = this.#answers.get(pk);
    if (answer === undefined) {
      const table = `${this.#schema.schema}.${this.#schema.table}`;
      throw new EngineError(KeylessRowsErrorCode.UnreadImage, `internal: rows of ${table} equal to a before image were not read from the DR before they were needed`, { table });
    }
    let one: Slot | null = null;
    let values = 0;
    let near = 0;
    const meet = (slot: Slot): void => {
      if (copies(slot) <= 0) return;
      if (this.#equal(probe, slot.row)) {
        if (one === null) one = slot;
        values++;
      } else near++;
    };
    for (const k of answer) {
      const slot = this.#slots.get(k);
      if (slot !== undefined) meet(slot);
    }
    for (const slot of this.#windowCandidates(probe)) if (this.#reachable(probe, slot.row)) meet(slot);
    const found = one as Slot | null;
    if (found === null) return { kind: 'none', near };
    if (values > 1) return { kind: 'ambiguous', why: `${values} different rows equal its before image on every logged column: the server would take any one of them` };
    if (near > 0) return { kind: 'ambiguous', why: `${near} other row value(s) the server takes as equal to its before image (under the columns' collations) differ from it: the server might take one of them` };
    return { kind: 'one', row: found.row, copies: copies(found) };
  }

  /** The window's decision: one more row `row` (an insert, or an update's new row). */
  add(row: RowImage): void {
    const k = imageKey(row);
    let slot = this.#slots.get(k);
    const made = slot === undefined;
    if (slot === undefined) {
      slot = { key: k, row, dr: undefined, delta: 0 };
      this.#slots.set(k, slot);
      this.#index(slot);
    }
    slot.delta++;
    const s = slot;
    this.#journal(() => {
      s.delta--;
      if (made && this.#slots.get(k) === s && s.dr === undefined) {
        this.#slots.delete(k);
        this.#unindex(s);
      }
    });
  }

  /** The window's decision: one copy of `row` (a row `match` returned) is gone (a delete, or an update's old row). */
  take(row: RowImage): void {
    const k = imageKey(row);
    const slot = this.#slots.get(k);
    if (slot === undefined) return;
    slot.delta--;
    this.#journal(() => {
      slot.delta++;
    });
  }

  /** Forgets everything (apply reads the DR afresh for each window). */
  clear(): void {
    this.#slots.clear();
    this.#answers.clear();
    this.#windowOnly.clear();
    this.#irregular.clear();
  }

  /** Equal to the probe on every cell it logs, exactly (a FLOAT as the same float32). */
  #equal(probe: RowImage, row: RowImage): boolean {
    const columns = this.#schema.columns;
    for (let i = 0; i < columns.length; i++) {
      const v = probe[i];
      if (v === undefined) continue;
      if (row[i] === undefined || !sameExactValue(v, row[i], columns[i] as ColumnSchema)) return false;
    }
    return true;
  }

  /**
   * Whether the server could take `row` (a value only the window wrote) for `probe`: text by the
   * loose fold, other values as they compare, a cell left to its default (unknown) as a match.
   */
  #reachable(probe: RowImage, row: RowImage): boolean {
    const columns = this.#schema.columns;
    for (let i = 0; i < columns.length; i++) {
      const v = probe[i];
      const r = row[i];
      if (v === undefined || r === undefined) continue;
      if (isText(v) || isText(r)) {
        if (!isText(v) || !isText(r) || (this.#folds[i] as (x: ColumnValue | undefined) => string)(v) !== (this.#folds[i] as (x: ColumnValue | undefined) => string)(r)) return false;
      } else if (!sameValue(v, r, columns[i] as ColumnSchema)) return false;
    }
    return true;
  }

  /** Values only the window wrote that a probe may reach: those of its loose key when it logs every column, else all. */
  *#windowCandidates(probe: RowImage): Iterable<Slot> {
    if (this.#windowOnly.size === 0 && this.#irregular.size === 0) return;
    const key = this.#looseKey(probe);
    if (key !== null) yield* this.#windowOnly.get(key) ?? [];
    else for (const set of this.#windowOnly.values()) yield* set;
    yield* this.#irregular;
  }

  #index(slot: Slot): void {
    const key = this.#looseKey(slot.row);
    if (key === null) {
      this.#irregular.add(slot);
      return;
    }
    let set = this.#windowOnly.get(key);
    if (set === undefined) this.#windowOnly.set(key, (set = new Set()));
    set.add(slot);
  }

  #unindex(slot: Slot): void {
    if (this.#irregular.delete(slot)) return;
    const key = this.#looseKey(slot.row);
    if (key === null) return;
    const set = this.#windowOnly.get(key);
    set?.delete(slot);
    if (set?.size === 0) this.#windowOnly.delete(key);
  }

  /** Every cell by the loose fold (text) or as it is (the rest); null when a cell is not logged. */
  #looseKey(image: RowImage): string | null {
    let out = '';
    for (let i = 0; i < image.length; i++) {
      const v = image[i];
      if (v === undefined) return null;
      // A FLOAT compares within 6 digits (sameValue): kept out of the key, compared by #reachable.
      const part = this.#schema.columns[i]?.dataType === 'float' ? '' : isText(v) ? (this.#folds[i] as (x: ColumnValue | undefined) => string)(v) : imageKey([v]);
      out += `${part}\u0000`;
    }
    return out;
  }
}

function copies(slot: Slot): number {
  return (slot.dr ?? 0) + slot.delta;
}

function isText(v: ColumnValue): boolean {
  return typeof v === 'string' || v instanceof CharsetText;
}
