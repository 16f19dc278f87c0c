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
import { JsonPatch, JsonValue } from '../binlog/values/json-value.js';
import { jsonKeyPart, rowKey, rowKeyPart, rowKeyParts } from '../model/row-key.js';
import type { ForeignKey, TableSchema } from '../model/table-schema.js';
import { uniqueFolder, type UniqueFolder } from './value-equality.js';
import { KeylessRows } from './keyless-rows.js';

export const TableStateErrorCode = {
  /** A key the window never read was asked for (an internal error: the key collection missed it). */
  UnknownKey: 'RECONCILE_UNKNOWN_KEY',
  NoColumn: 'RECONCILE_NO_COLUMN',
} as const;
export type TableStateErrorCode = (typeof TableStateErrorCode)[keyof typeof TableStateErrorCode];

/**
 * A secondary index: the folded values of `columns` → primary keys of the rows holding them. A key
 * one row holds (every key of a unique index, most of a foreign key's) maps to that row's primary
 * key itself; a Set only once a second row holds it (a Set per indexed row cost ≈ 45 MB per 200k changes).
 */
interface Index {
  readonly positions: readonly number[];
  /** Per column, its collation's fold (read once: every row loaded or decided is indexed). */
  readonly folds: readonly UniqueFolder[];
  readonly map: Map<string, string | Set<string>>;
  /** Folded keys the DR was asked about: every DR row holding one of them is loaded. */
  readonly requested: Set<string>;
  /**
   * Keys a DR row holds under the server's collation though its own folded key differs (aliasIndexKey),
   * per primary key: dropped when the row changes, as its new value may no longer clash.
   */
  readonly aliases: Map<string, string[]>;
}

interface JournalEntry {
  readonly pk: string;
  /** The row before the change: a row, null (known absent) or undefined (unknown). */
  readonly prior: RowImage | null | undefined;
  readonly priorDirty: boolean;
}

/** Index names: `uk:<unique key name>` and `fk:<foreign key name>`. */
export type IndexName = `uk:${string}` | `fk:${string}`;

/** What rowsBy returns for a key no row holds: one shared empty list (callers only read it). */
const NO_ROWS: readonly RowImage[] = [];

export class TableState {
  readonly schema: TableSchema;
  /** Primary-key column positions, or, for a table without one, every column (replication's row identity). */
  readonly pkPositions: readonly number[];
  readonly hasPrimaryKey: boolean;
  /**
   * Per primary-key column, its collation's fold, when a key column has a collation (a character
   * key: the server takes `'ABC'` for `'abc'` under a _ci one); null for keys of numbers and bytes,
   * which compare as they are (foldedKeyOf is keyOf for them).
   */
  readonly #pkFolds: readonly UniqueFolder[] | null;
  /** `schema.table` (made once: reasons and the quarantine index name the table for every change). */
  readonly qualified: string;
  readonly #rows = new Map<string, RowImage | null>();
  /** Keys whose value the window decided: a later DR read must not overwrite them (plan mode reads as it goes). */
  readonly #dirty = new Set<string>();
  readonly #indexes = new Map<IndexName, Index>();
  /**
   * Primary keys asked for that no row holds as they are, but a DR row holds under the server's
   * collation (a VARCHAR key under a _ci collation: `b` asked, `B` held): asked key → that row's key.
   */
  readonly #keyAliases = new Map<string, string>();
  /** Column name → position, so the hot path does not search the column list for every lookup. */
  readonly #positions = new Map<string, number>();
  /** positionsOf per column list (a foreign key's, a unique key's: the catalog's arrays, asked for every change). */
  readonly #positionLists = new Map<readonly string[], readonly number[]>();
  /** parentKeyPositions per foreign key of this table. */
  readonly #parentKeys = new Map<ForeignKey, readonly number[] | null>();
  /**
   * Entries of put/remove, and (keyless tables only) the undo of a change to `keyless`: one journal,
   * so a transaction's mark and rollback cover both.
   */
  #journal: (JournalEntry | (() => void))[] = [];
  /**
   * Tables without a primary key only: the DR rows the window matched by image, with their
   * multiplicity, and the window's own inserts, updates and deletes over them (keyless-rows.ts).
   */
  readonly keyless: KeylessRows | null;

  /** `ignore`: the columns left out of every comparison (ignoreColumns), for a keyless table's matching. */
  constructor(schema: TableSchema, options: { readonly ignore?: ReadonlySet<string> } = {}) {
    this.schema = schema;
    this.qualified = `${schema.schema}.${schema.table}`;
    schema.columns.forEach((c, i) => {
      if (!this.#positions.has(c.name)) this.#positions.set(c.name, i);
    });
    this.hasPrimaryKey = schema.primaryKey !== null;
    this.pkPositions = schema.primaryKey === null ? schema.columns.map((_, i) => i) : schema.primaryKey.map((c) => this.position(c));
    const pkCollations = schema.primaryKey === null ? [] : this.pkPositions.map((p) => schema.columns[p]?.collation ?? null);
    this.#pkFolds = pkCollations.some((c) => c !== null) ? pkCollations.map((c) => uniqueFolder(c)) : null;
    for (const uk of schema.uniqueKeys) this.#addIndex(`uk:${uk.name}`, uk.columns);
    for (const fk of schema.foreignKeys) this.#addIndex(`fk:${fk.name}`, fk.columns);
    this.keyless = schema.primaryKey === null ? new KeylessRows(schema, options.ignore ?? new Set(), (undo) => this.#journal.push(undo)) : null;
  }

  /** Position of a column in row images. */
  position(column: string): number {
    const i = this.#positions.get(column);
    if (i === undefined) throw new EngineError(TableStateErrorCode.NoColumn, `${this.qualified} has no column ${column}`, { table: this.qualified, column });
    return i;
  }

  /**
   * Where this table's rows hold the primary key of `parent` through `fk` (a foreign key of this
   * table): the positions of fk's columns in the parent's primary-key order, or null when fk's
   * referenced columns are not exactly that key (asPrimaryKeyOrder).
   */
  parentKeyPositions(fk: ForeignKey, parent: TableSchema): readonly number[] | null {
    let positions = this.#parentKeys.get(fk);
    if (positions === undefined) {
      const at = asPrimaryKeyOrder(parent, fk.refColumns);
      const own = this.positionsOf(fk.columns);
      positions = at === null ? null : at.map((i) => own[i] as number);
      this.#parentKeys.set(fk, positions);
    }
    return positions;
  }

  /** Positions of `columns` in row images; remembered per array, so pass the schema's own lists. */
  positionsOf(columns: readonly string[]): readonly number[] {
    let positions = this.#positionLists.get(columns);
    if (positions === undefined) this.#positionLists.set(columns, (positions = columns.map((c) => this.position(c))));
    return positions;
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

  /** The canonical primary key of `image` (rowKey of keyValues, built without the array), or null (see keyValues). */
  keyOf(image: RowImage): string | null {
    const positions = this.pkPositions;
    let out = '';
    for (let i = 0; i < positions.length; i++) {
      const v = image[positions[i] as number];
      if (v === undefined || (v === null && this.hasPrimaryKey)) return null;
      if (i > 0) out += ',';
      // A keyless table's rows are keyed by their whole image, which may hold a JSON column (no
      // primary key can: rowKeyPart refuses it).
      out += !this.hasPrimaryKey && (v instanceof JsonValue || v instanceof JsonPatch) ? jsonKeyPart(v) : rowKeyPart(v);
    }
    return out;
  }

  /** Whether foldedKeyOf folds (a key column has a collation), so two keys unequal as values may name one row. */
  get foldsKey(): boolean {
    return this.#pkFolds !== null;
  }

  /**
   * The primary key of `image` folded by its columns' collations, as the server's foreign keys
   * compare it (`'ABC'` and `'abc'` are one key under a _ci collation), or null (see keyValues).
   * keyOf itself for a key of numbers or bytes. Rows are stored and written by keyOf, the key as
   * logged: this only tells which keys name one DR row (delete-blocking's needs, heldParents).
   */
  foldedKeyOf(image: RowImage): string | null {
    const folds = this.#pkFolds;
    return folds === null ? this.keyOf(image) : foldedKey(folds, image, this.pkPositions);
  }

  /** foldedKeyOf of primary-key values given in key order (a parent's key, for a child's foreign key). */
  foldedKeyFromValues(values: readonly (ColumnValue | undefined)[]): string | null {
    const folds = this.#pkFolds;
    if (folds !== null) return foldedKey(folds, values, null);
    for (const v of values) if (v === undefined || v === null) return null;
    return rowKey(values);
  }

  /**
   * foldedKeyOf of a primary key given as its rowKey (a held row's key, as the quarantine records
   * it): each string part folded by its column's collation, the others as they are (numbers, bytes
   * and text of another character set fold as themselves, as foldedKeyOf leaves them). The key
   * itself when no key column has a collation, or when it is no rowKey of this key (a part count
   * that differs, an unreadable string): such a key is still found as it is.
   */
  foldRowKey(key: string): string {
    const folds = this.#pkFolds;
    if (folds === null) return key;
    const parts = rowKeyParts(key);
    if (parts === null || parts.length !== folds.length) return key;
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      let part = parts[i] as string;
      if (part.startsWith('S')) {
        let text: unknown;
        try {
          text = JSON.parse(part.slice(1));
        } catch {
          return key;
        }
        if (typeof text !== 'string') return key;
        part = rowKeyPart((folds[i] as UniqueFolder)(text));
      }
      if (i > 0) out += ',';
      out += part;
    }
    return out;
  }

  /** The folded index key of `image` for `name`, or null when a part is NULL or not logged (such a key cannot collide). */
  indexKeyOf(name: IndexName, image: RowImage): string | null {
    const index = this.#index(name);
    return foldedKey(index.folds, image, index.positions);
  }

  /** The folded index key of the index's column values given in index order (a parent's key, for a child's foreign key). */
  indexKeyFromValues(name: IndexName, values: readonly (ColumnValue | undefined)[]): string | null {
    return foldedKey(this.#index(name).folds, values, null);
  }

  /** Whether the DR was asked for this primary key (or the window decided it). */
  knows(pk: string): boolean {
    return this.#rows.has(pk);
  }

  /** Whether `row`'s primary key was read (or decided by the window): loading it again would drop its aliases. */
  knowsRow(row: RowImage): boolean {
    const pk = this.keyOf(row);
    return pk !== null && this.#rows.has(pk);
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
  rowsBy(name: IndexName, key: string): readonly RowImage[] {
    const pks = this.#index(name).map.get(key);
    if (pks === undefined) return NO_ROWS;
    if (typeof pks === 'string') {
      const r = this.#rows.get(pks);
      return r ? [r] : NO_ROWS;
    }
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

  /**
   * Records that the DR row `pk` (loaded, unchanged) holds `key` in index `name` under the server's
   * collation, which the fold (value-equality.ts) cannot tell: the server said so (salvage.ts
   * #readWindow verifies each with a query). A key the row holds by its own fold needs no alias.
   */
  aliasIndexKey(name: IndexName, key: string, pk: string): void {
    const index = this.#index(name);
    const row = this.#rows.get(pk);
    if (!row || foldedKey(index.folds, row, index.positions) === key) return;
    const held = index.map.get(key);
    if (held === undefined) index.map.set(key, pk);
    else if (typeof held !== 'string') held.add(pk);
    else if (held !== pk) index.map.set(key, new Set([held, pk]));
    else return;
    const list = index.aliases.get(pk);
    if (list === undefined) index.aliases.set(pk, [key]);
    else list.push(key);
  }

  /**
   * Records that the DR row `pk` (loaded) holds primary key `key` under the server's collation,
   * though the two keys differ as values (salvage.ts #aliasKeyMatches verifies each with a query).
   * Primary keys are not folded here: the engine writes a row by the key the binlog logged.
   */
  aliasKey(key: string, pk: string): void {
    if (key === pk || !this.#rows.get(pk)) return;
    this.#keyAliases.set(key, pk);
  }

  /**
   * The DR row that holds primary key `pk`: the row at it, else the row holding it under the server's
   * collation (aliasKey) while that row is still there; null when none. Throws for a key never read, as row() does.
   */
  keyHolder(pk: string): RowImage | null {
    const r = this.row(pk);
    if (r !== null) return r;
    const other = this.#keyAliases.get(pk);
    return other === undefined ? null : (this.#rows.get(other) ?? null);
  }

  /**
   * The primary key of the DR row holding `pk` under the server's collation only (aliasKey), while
   * that row is still there and no row holds `pk` as it is; null else. A key never read is none.
   */
  keyAlias(pk: string): string | null {
    if (this.#keyAliases.size === 0) return null;
    const other = this.#keyAliases.get(pk);
    return other === undefined || this.#rows.get(pk) !== null || !this.#rows.get(other) ? null : other;
  }

  /** Whether any asked primary key is held under the server's collation only (keyAlias answers for some key). */
  get hasKeyAliases(): boolean {
    return this.#keyAliases.size > 0;
  }

  /** Records that these index keys were read (their holders, if any, were loaded). */
  markReadIndexKeys(name: IndexName, keys: Iterable<string>): void {
    const requested = this.#index(name).requested;
    for (const k of keys) requested.add(k);
  }

  /** The window's decision: `row` now exists under its primary key `pk` (insert, or the new image of an update; pass keyOf(row) when known). */
  put(row: RowImage, pk: string | null = this.keyOf(row)): void {
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
      const e = this.#journal.pop() as JournalEntry | (() => void);
      if (typeof e === 'function') {
        e();
        continue;
      }
      if (e.prior === undefined) {
        this.#set(e.pk, null);
        this.#rows.delete(e.pk);
      } else {
        this.#set(e.pk, e.prior);
      }
      if (!e.priorDirty) this.#dirty.delete(e.pk);
    }
  }

  /** Forgets the journal: what it would undo is accepted (a transaction, or a window at the reconciler's next mark). */
  commitJournal(): void {
    this.#journal.length = 0;
  }

  /** Forgets everything: the next window reads the DR afresh (apply mode, after a commit). */
  clear(): void {
    this.#rows.clear();
    this.#dirty.clear();
    this.#keyAliases.clear();
    this.#journal = [];
    this.keyless?.clear();
    for (const index of this.#indexes.values()) {
      index.map.clear();
      index.requested.clear();
      index.aliases.clear();
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
    for (const index of this.#indexes.values()) {
      const k = foldedKey(index.folds, row, index.positions);
      if (k === null) continue;
      const map = index.map;
      const held = map.get(k);
      if (held === undefined) map.set(k, pk);
      else if (typeof held !== 'string') held.add(pk);
      else if (held !== pk) map.set(k, new Set([held, pk]));
    }
  }

  #unindex(pk: string, row: RowImage): void {
    for (const index of this.#indexes.values()) {
      const aliases = index.aliases.size === 0 ? undefined : index.aliases.get(pk);
      if (aliases !== undefined) {
        index.aliases.delete(pk);
        for (const k of aliases) unmap(index.map, k, pk);
      }
      const k = foldedKey(index.folds, row, index.positions);
      if (k !== null) unmap(index.map, k, pk);
    }
  }

  #addIndex(name: IndexName, columns: readonly string[]): void {
    const positions = columns.map((c) => this.position(c));
    const folds = positions.map((p) => uniqueFolder(this.schema.columns[p]?.collation ?? null));
    this.#indexes.set(name, { positions, folds, map: new Map(), requested: new Set(), aliases: new Map() });
  }

  #index(name: IndexName): Index {
    const index = this.#indexes.get(name);
    if (index === undefined) throw new EngineError(TableStateErrorCode.NoColumn, `internal: ${this.qualified} has no index ${name}`, { table: this.qualified });
    return index;
  }
}

/** Removes `pk` from the holders of `key`. */
function unmap(map: Map<string, string | Set<string>>, key: string, pk: string): void {
  const held = map.get(key);
  if (held === undefined) return;
  if (typeof held === 'string') {
    if (held === pk) map.delete(key);
    return;
  }
  held.delete(pk);
  if (held.size === 0) map.delete(key);
}

/**
 * The folded key of an index's columns (or the primary key's), `folds` one per column:
 * `values[positions[i]]` (a row image), or `values[i]` when `positions` is null (values already in
 * the key's order); null when a part is NULL or not logged. The rowKey of the folded values, built
 * without gathering them into an array.
 */
function foldedKey(folds: readonly UniqueFolder[], values: readonly (ColumnValue | undefined)[], positions: readonly number[] | null): string | null {
  const n = folds.length;
  let out = '';
  for (let i = 0; i < n; i++) {
    const v = (folds[i] as UniqueFolder)(values[positions === null ? i : (positions[i] as number)]);
    if (v === undefined || v === null) return null;
    if (i > 0) out += ',';
    out += rowKeyPart(v);
  }
  return out;
}

/** For each primary-key column of `table`, its index in `columns`; null unless `columns` are exactly the primary key (in any order). */
export function asPrimaryKeyOrder(table: TableSchema, columns: readonly string[]): number[] | null {
  const pk = table.primaryKey;
  if (pk === null || pk.length !== columns.length) return null;
  const out: number[] = [];
  for (const c of pk) {
    const i = columns.indexOf(c);
    if (i === -1) return null;
    out.push(i);
  }
  return out;
}
