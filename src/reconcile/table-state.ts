/**
 * What reconcile knows of one DR table during a window (DESIGN.md "The streaming hot path": the
 * overlay): the rows the batched read returned, the keys it asked for and did not find, and the
 * window's own decisions written over them, so every change is classified against the DR *as the
 * earlier changes of the window left it*, before anything is written.
 *
 * Rows are found by primary key and through secondary indexes on every unique key (values folded
 * by the column's collation, so `Bob@x` finds `bob@x` under a case-insensitive one) and every
 * foreign key (for the cascade guard's "who still points at this row"). A key that was never
 * read is *unknown*, not absent: asking for it is a bug in the window's key collection, and
 * `row()` says so rather than guessing.
 *
 * Transactions are decided all-or-nothing, so the state journals its changes: `mark()` before a
 * transaction, `rollbackTo(mark)` when it is quarantined whole.
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import { EngineError } from '../errors.js';
import { rowKey } from '../model/row-key.js';
import type { TableSchema } from '../model/table-schema.js';
import { uniqueFold } from './value-equality.js';

export const TableStateErrorCode = {
  /** A key the window never read was asked for (an internal error: the key collection missed it). */
  UnknownKey: 'RECONCILE_UNKNOWN_KEY',
  NoColumn: 'RECONCILE_NO_COLUMN',
} as const;
export type TableStateErrorCode = (typeof TableStateErrorCode)[keyof typeof TableStateErrorCode];

/** A secondary index: the folded values of `columns` → primary keys of the rows holding them. */
interface Index {
  readonly positions: readonly number[];
  readonly collations: readonly (string | null)[];
  readonly map: Map<string, Set<string>>;
  /** Folded keys the DR was asked about: every DR row holding one of them is loaded. */
  readonly requested: Set<string>;
}

interface JournalEntry {
  readonly pk: string;
  /** The row before the change: a row, null (known absent) or undefined (unknown). */
  readonly prior: RowImage | null | undefined;
  readonly priorDirty: boolean;
}

/** Index names: `uk:<unique key name>` and `fk:<foreign key name>`. */
export type IndexName = `uk:${string}` | `fk:${string}`;

export class TableState {
  readonly schema: TableSchema;
  /** Primary-key column positions, or, for a table without one, every column (replication's row identity). */
  readonly pkPositions: readonly number[];
  readonly hasPrimaryKey: boolean;
  readonly #rows = new Map<string, RowImage | null>();
  /** Keys whose value the window decided: a later DR read must not overwrite them (plan mode reads as it goes). */
  readonly #dirty = new Set<string>();
  readonly #indexes = new Map<IndexName, Index>();
  #journal: JournalEntry[] = [];

  constructor(schema: TableSchema) {
    this.schema = schema;
    this.hasPrimaryKey = schema.primaryKey !== null;
    this.pkPositions = schema.primaryKey === null ? schema.columns.map((_, i) => i) : schema.primaryKey.map((c) => this.position(c));
    for (const uk of schema.uniqueKeys) this.#addIndex(`uk:${uk.name}`, uk.columns);
    for (const fk of schema.foreignKeys) this.#addIndex(`fk:${fk.name}`, fk.columns);
  }

  /** Position of a column in row images. */
  position(column: string): number {
    const i = this.schema.columns.findIndex((c) => c.name === column);
    if (i === -1) throw new EngineError(TableStateErrorCode.NoColumn, `${this.qualified} has no column ${column}`, { table: this.qualified, column });
    return i;
  }

  get qualified(): string {
    return `${this.schema.schema}.${this.schema.table}`;
  }

  /** The primary key of `image` as values, or null when a part is NULL or not logged. */
  keyValues(image: RowImage): ColumnValue[] | null {
    const out: ColumnValue[] = [];
    for (const p of this.pkPositions) {
      const v = image[p];
      if (v === undefined || (v === null && this.hasPrimaryKey)) return null;
      out.push(v);
    }
    return out;
  }

  /** The canonical primary key of `image`, or null (see keyValues). */
  keyOf(image: RowImage): string | null {
    const values = this.keyValues(image);
    return values === null ? null : rowKey(values);
  }

  /** The folded index key of `image` for `name`, or null when a part is NULL or not logged (such a key cannot collide). */
  indexKeyOf(name: IndexName, image: RowImage): string | null {
    const index = this.#index(name);
    return this.indexKeyFromValues(name, index.positions.map((p) => image[p]));
  }

  /** The folded index key of the index's column values given in index order (a parent's key, for a child's foreign key). */
  indexKeyFromValues(name: IndexName, values: readonly (ColumnValue | undefined)[]): string | null {
    const index = this.#index(name);
    const parts: ColumnValue[] = [];
    for (let i = 0; i < index.positions.length; i++) {
      const v = uniqueFold(values[i], index.collations[i] ?? null);
      if (v === undefined || v === null) return null;
      parts.push(v);
    }
    return rowKey(parts);
  }

  /** Whether the DR was asked for this primary key (or the window decided it). */
  knows(pk: string): boolean {
    return this.#rows.has(pk);
  }

  /** Whether the DR was asked for this index key. */
  requestedIndexKey(name: IndexName, key: string): boolean {
    return this.#index(name).requested.has(key);
  }

  /** The row with primary key `pk`, or null when there is none; throws for a key never read. */
  row(pk: string): RowImage | null {
    const r = this.#rows.get(pk);
    if (r === undefined) {
      throw new EngineError(TableStateErrorCode.UnknownKey, `internal: ${this.qualified} key ${pk} was not read from the DR before it was needed`, { table: this.qualified, key: pk });
    }
    return r;
  }

  /** Rows holding `key` in index `name` (a folded key from indexKeyOf). */
  rowsBy(name: IndexName, key: string): RowImage[] {
    const pks = this.#index(name).map.get(key);
    if (pks === undefined) return [];
    const out: RowImage[] = [];
    for (const pk of pks) {
      const r = this.#rows.get(pk);
      if (r) out.push(r);
    }
    return out;
  }

  /** Every known present row (keyless tables are matched by image against these). */
  *presentRows(): Iterable<RowImage> {
    for (const r of this.#rows.values()) if (r !== null) yield r;
  }

  /** Loads rows read from the DR; a key the window already decided keeps the window's value. */
  load(rows: Iterable<RowImage>): void {
    for (const row of rows) {
      const pk = this.keyOf(row);
      if (pk === null || this.#dirty.has(pk)) continue;
      this.#set(pk, row);
    }
  }

  /** Records that these primary keys were read: those not loaded are absent on the DR. */
  markReadKeys(pks: Iterable<string>): void {
    for (const pk of pks) if (!this.#rows.has(pk)) this.#rows.set(pk, null);
  }

  /** Records that these index keys were read (their holders, if any, were loaded). */
  markReadIndexKeys(name: IndexName, keys: Iterable<string>): void {
    const requested = this.#index(name).requested;
    for (const k of keys) requested.add(k);
  }

  /** The window's decision: `row` now exists under its primary key (insert, or the new image of an update). */
  put(row: RowImage): void {
    const pk = this.keyOf(row);
    if (pk === null) throw new EngineError(TableStateErrorCode.UnknownKey, `internal: a row of ${this.qualified} without a full primary key was written`, { table: this.qualified });
    this.#journalise(pk);
    this.#dirty.add(pk);
    this.#set(pk, row);
  }

  /** The window's decision: the row with primary key `pk` is gone. */
  remove(pk: string): void {
    this.#journalise(pk);
    this.#dirty.add(pk);
    this.#set(pk, null);
  }

  /** A point to roll back to. */
  mark(): number {
    return this.#journal.length;
  }

  /** Undoes every put/remove since `mark`. */
  rollbackTo(mark: number): void {
    while (this.#journal.length > mark) {
      const e = this.#journal.pop() as JournalEntry;
      if (e.prior === undefined) {
        this.#set(e.pk, null);
        this.#rows.delete(e.pk);
      } else {
        this.#set(e.pk, e.prior);
      }
      if (!e.priorDirty) this.#dirty.delete(e.pk);
    }
  }

  /** Forgets the journal (the transaction was accepted). */
  commitJournal(): void {
    this.#journal = [];
  }

  /** Forgets everything: the next window reads the DR afresh (apply mode, after a commit). */
  clear(): void {
    this.#rows.clear();
    this.#dirty.clear();
    this.#journal = [];
    for (const index of this.#indexes.values()) {
      index.map.clear();
      index.requested.clear();
    }
  }

  #journalise(pk: string): void {
    this.#journal.push({ pk, prior: this.#rows.get(pk), priorDirty: this.#dirty.has(pk) });
  }

  #set(pk: string, row: RowImage | null): void {
    const old = this.#rows.get(pk);
    if (old) this.#unindex(pk, old);
    this.#rows.set(pk, row);
    if (row) this.#indexRow(pk, row);
  }

  #indexRow(pk: string, row: RowImage): void {
    for (const name of this.#indexes.keys()) {
      const k = this.indexKeyOf(name, row);
      if (k === null) continue;
      const map = this.#index(name).map;
      let set = map.get(k);
      if (set === undefined) map.set(k, (set = new Set()));
      set.add(pk);
    }
  }

  #unindex(pk: string, row: RowImage): void {
    for (const name of this.#indexes.keys()) {
      const k = this.indexKeyOf(name, row);
      if (k === null) continue;
      const map = this.#index(name).map;
      const set = map.get(k);
      if (set === undefined) continue;
      set.delete(pk);
      if (set.size === 0) map.delete(k);
    }
  }

  #addIndex(name: IndexName, columns: readonly string[]): void {
    const positions = columns.map((c) => this.position(c));
    const collations = positions.map((p) => this.schema.columns[p]?.collation ?? null);
    this.#indexes.set(name, { positions, collations, map: new Map(), requested: new Set() });
  }

  #index(name: IndexName): Index {
    const index = this.#indexes.get(name);
    if (index === undefined) throw new EngineError(TableStateErrorCode.NoColumn, `internal: ${this.qualified} has no index ${name}`, { table: this.qualified });
    return index;
  }
}
