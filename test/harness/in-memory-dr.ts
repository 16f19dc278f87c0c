/**
 * An in-memory DR for the reconcile core's property tests (DESIGN.md "Strategies", the invariants
 * paragraph: "an in-memory relational oracle with PK, UK under collation, FK, AUTO_INCREMENT").
 * Written apart from the engine on purpose: keys, folds and lookups here share no code with
 * src/reconcile, so the oracle cannot agree with a bug by construction.
 *
 * Rows are full images in column order. Unique keys compare strings under a `_ci` collation
 * lower-cased (what utf8mb4_general_ci does to ASCII); every write checks the primary key and every
 * unique key at once and throws on a violation, as InnoDB does per row. Foreign keys (declared and
 * logical) are not enforced by `insert`, `update`, `delete` and `apply` (salvage runs with
 * foreign_key_checks=0, under which InnoDB neither checks nor carries out ON DELETE actions) but are
 * checked by `violations()` afterwards. `deleteCascading` is an application's DELETE with the checks
 * on: the declared keys' ON DELETE CASCADE / SET NULL / RESTRICT are carried out to any depth, as
 * InnoDB does, and nothing of it is logged (the binlog holds only the parent's row). The
 * AUTO_INCREMENT counter follows InnoDB: an explicit value at or above it moves it past that value.
 *
 * A table without a primary key (schema `primaryKey` null) keeps its rows as a multiset: equal rows
 * are several copies, each its own entry. `answerImages` is readRowsByImages (src/db/row-reader.ts):
 * per image, every row equal to it on the cells it logs, NULL-safe, text under the column's
 * collation, every copy. A write by image (WriteOp `image`, `… WHERE <image> LIMIT 1`) takes ONE such
 * row; none is the DR's NoRowMatched (row-writer.ts verifyRows). Rows the collation equates that
 * differ (`Red`, `red`) are a write whose effect the server leaves to chance: the engine promises
 * never to make one, so the oracle throws ORACLE_AMBIGUOUS_IMAGE rather than pick.
 *
 * `runReconcile` is the DB-backed driver of src/pipeline/salvage.ts (#decide, #processWindow,
 * #raiseKeyFloors) with this DR in place of the server.
 */
import type { ColumnValue, RowImage } from '../../src/binlog/column.js';
import type { Transaction } from '../../src/binlog/transaction.js';
import { EngineError } from '../../src/errors.js';
import { addLogicalReferences, createSchemaCatalog, type ColumnSchema, type ForeignKey, type LogicalReferences, type SchemaCatalog, type TableSchema } from '../../src/model/table-schema.js';
import type { DrHistory } from '../../src/model/dr-history.js';
import type { ChangeDecision, Outcome, TransactionResult, WriteOp } from '../../src/model/decision.js';
import { KeyMap } from '../../src/reconcile/key-map.js';
import { LaterNeeds } from '../../src/reconcile/later-needs.js';
import { QuarantineIndex, Reconciler } from '../../src/reconcile/reconciler.js';
import type { RuleBook } from '../../src/reconcile/rules.js';
import { collectCascadeChildReads, collectHolderChildReads, collectImageReads, collectReads, collectWrittenRowReads, type ImageReadRequest, type ReadRequest } from '../../src/reconcile/window-reads.js';

export const OracleErrorCode = {
  /** A write would give a primary key to a second row. */
  PkDuplicate: 'ORACLE_PK_DUPLICATE',
  /** A write would give a unique value (under the column's collation) to a second row. */
  UkDuplicate: 'ORACLE_UK_DUPLICATE',
  /** An update or delete names a row that is not there (the engine's overlay disagreed with the DR). */
  NoRow: 'ORACLE_NO_ROW',
  UnknownTable: 'ORACLE_UNKNOWN_TABLE',
  UnknownColumn: 'ORACLE_UNKNOWN_COLUMN',
  /** A delete with the checks on reaches a row that a RESTRICT / NO ACTION key still points at (InnoDB's 1451). */
  FkRestrict: 'ORACLE_FK_RESTRICT',
  /** A write by image reaches rows that differ from one another (the server would take any one: the outcome is left to chance). */
  AmbiguousImage: 'ORACLE_AMBIGUOUS_IMAGE',
  /** A row of a table without a primary key was named by a key (it has none: by image only). */
  KeylessByKey: 'ORACLE_KEYLESS_BY_KEY',
} as const;
export type OracleErrorCode = (typeof OracleErrorCode)[keyof typeof OracleErrorCode];

/** One row an ON DELETE action reached, as it was before: deleted (CASCADE) or its key columns nulled (SET NULL). */
export interface ReferentialEffect {
  readonly table: string;
  readonly action: 'delete' | 'set-null';
  readonly row: RowImage;
}

/** Every table's rows in primary-key order (a keyless table's by value), integers as numbers: equal DRs give `toEqual` snapshots. */
export type DrSnapshot = Record<string, RowImage[]>;

interface MemTable {
  readonly schema: TableSchema;
  readonly pk: readonly number[];
  readonly uniques: readonly { readonly name: string; readonly positions: readonly number[] }[];
  /** By primary-key text; a keyless table's by an entry number of its own (`#n`), one entry per copy. */
  readonly rows: Map<string, RowImage>;
  /** AUTO_INCREMENT column position, or -1. */
  readonly aiPos: number;
  counter: bigint;
  /** No primary key: rows are a multiset, named by image only. */
  readonly keyless: boolean;
  /** The next entry number of a keyless table's row. */
  entries: number;
}

/** A number within ±(2^53−1) for a bigint, as the decoder holds integers. */
function plainInt(v: ColumnValue | undefined): ColumnValue | undefined {
  if (typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER)) return Number(v);
  return v;
}

/** A column's literal default as the oracle stores it (an integer column's as a number), or undefined (none, NULL, an expression: left unknown). */
function literalDefault(col: ColumnSchema | undefined): ColumnValue | undefined {
  const d = col?.default;
  if (d === undefined || d === null || d.kind !== 'literal') return undefined;
  return col?.dataType === 'int' ? Number(d.value) : d.value;
}

/** The oracle's own key text for a tuple, strings folded under `_ci` collations. */
function foldKey(values: readonly (ColumnValue | undefined)[], collations: readonly (string | null)[]): string {
  return values
    .map((v, i) => {
      if (v === null || v === undefined) return 'N';
      if (typeof v === 'number' || typeof v === 'bigint') return `i${BigInt(v).toString()}`;
      if (typeof v === 'string') return `s${JSON.stringify((collations[i] ?? '').endsWith('_ci') ? v.toLowerCase() : v)}`;
      return `x${String(v)}`;
    })
    .join('|');
}

function qualified(t: { schema: string; table: string }): string {
  return `${t.schema}.${t.table}`;
}

export class InMemoryDr {
  readonly #tables = new Map<string, MemTable>();
  readonly #logical: LogicalReferences;

  /** A DR holding `tables` (empty, counters at each schema's `autoIncrement.next`) and the configuration's logical references. */
  constructor(tables: readonly TableSchema[], logical: LogicalReferences = {}) {
    this.#logical = logical;
    for (const schema of tables) {
      const pos = (name: string): number => {
        const i = schema.columns.findIndex((c) => c.name === name);
        if (i === -1) throw new EngineError(OracleErrorCode.UnknownColumn, `${qualified(schema)} has no column ${name}`);
        return i;
      };
      this.#tables.set(qualified(schema), {
        schema,
        pk: (schema.primaryKey ?? []).map(pos),
        uniques: schema.uniqueKeys.map((u) => ({ name: u.name, positions: u.columns.map(pos) })),
        rows: new Map(),
        aiPos: schema.autoIncrement === null ? -1 : pos(schema.autoIncrement.column),
        counter: schema.autoIncrement?.next ?? 1n,
        keyless: schema.primaryKey === null,
        entries: 0,
      });
    }
  }

  /** The tables as introspection would see them now: AUTO_INCREMENT at the current counter, logical references added. */
  catalog(): SchemaCatalog {
    const tables = [...this.#tables.values()].map((t) => (t.schema.autoIncrement === null ? t.schema : { ...t.schema, autoIncrement: { column: t.schema.autoIncrement.column, next: t.counter } }));
    const catalog = createSchemaCatalog(tables);
    return Object.keys(this.#logical).length === 0 ? catalog : addLogicalReferences(catalog, this.#logical);
  }

  /** A deep copy (rows are copied, so the two never share an image). */
  clone(): InMemoryDr {
    const copy = new InMemoryDr([...this.#tables.values()].map((t) => t.schema), this.#logical);
    for (const [name, t] of this.#tables) {
      const c = copy.#table(name);
      c.counter = t.counter;
      c.entries = t.entries;
      for (const [k, row] of t.rows) c.rows.set(k, row.slice());
    }
    return copy;
  }

  /** Hands out the next AUTO_INCREMENT value of `table` (an application's INSERT without an id). */
  allocate(table: string): number {
    const t = this.#table(table);
    const v = t.counter;
    t.counter = v + 1n;
    return Number(v);
  }

  /** Moves the AUTO_INCREMENT counter (a DR whose counter jumped at the failover). */
  setAutoIncrement(table: string, next: bigint): void {
    this.#table(table).counter = next;
  }

  /** The value the DR would hand out next. */
  autoIncrementNext(table: string): bigint {
    return this.#table(table).counter;
  }

  /** MAX of the AUTO_INCREMENT column, or null for an empty table. */
  maxKey(table: string): bigint | null {
    const t = this.#table(table);
    let max: bigint | null = null;
    for (const row of t.rows.values()) {
      const v = row[t.aiPos];
      if (typeof v !== 'number' && typeof v !== 'bigint') continue;
      const b = BigInt(v);
      if (max === null || b > max) max = b;
    }
    return max;
  }

  /** Rows of `table` in primary-key order, a keyless table's in value order with every copy (copies). */
  rows(table: string): RowImage[] {
    const t = this.#table(table);
    return [...t.rows.values()].sort((a, b) => compareKeys(t, a, b)).map((r) => r.slice());
  }

  /** The row with primary key `key`, or null (a copy). */
  row(table: string, key: readonly ColumnValue[]): RowImage | null {
    const t = this.#keyed(table);
    return t.rows.get(this.#pkText(t, key))?.slice() ?? null;
  }

  /** The row holding `values` in unique key `uk` under its collation, if any (a copy). */
  holder(table: string, uk: string, values: readonly ColumnValue[]): RowImage | null {
    const t = this.#table(table);
    const u = t.uniques.find((x) => x.name === uk);
    if (u === undefined) throw new EngineError(OracleErrorCode.UnknownColumn, `${table} has no unique key ${uk}`);
    const collations = u.positions.map((p) => t.schema.columns[p]?.collation ?? null);
    const want = foldKey(values, collations);
    for (const row of t.rows.values()) if (foldKey(u.positions.map((p) => row[p]), collations) === want) return row.slice();
    return null;
  }

  insert(table: string, row: RowImage): void {
    const t = this.#table(table);
    // By index: a column the image leaves out (MINIMAL) takes its literal default, as the server's INSERT does.
    const image = Array.from({ length: row.length }, (_, i) => (row[i] === undefined ? literalDefault(t.schema.columns[i]) : plainInt(row[i])));
    const k = t.keyless ? `#${t.entries++}` : this.#pkText(t, t.pk.map((p) => image[p] as ColumnValue));
    if (t.rows.has(k)) throw new EngineError(OracleErrorCode.PkDuplicate, `${table}: duplicate primary key ${k}`, { table, key: k });
    this.#checkUnique(t, image, null);
    t.rows.set(k, image);
    if (t.aiPos !== -1) {
      const v = image[t.aiPos];
      if ((typeof v === 'number' || typeof v === 'bigint') && BigInt(v) >= t.counter) t.counter = BigInt(v) + 1n;
    }
  }

  /** Sets `set` (column name → value) on the row with primary key `key`; returns the row before. */
  update(table: string, key: readonly ColumnValue[], set: Readonly<Record<string, ColumnValue>>): RowImage {
    const t = this.#keyed(table);
    const k = this.#pkText(t, key);
    const old = t.rows.get(k);
    if (old === undefined) throw new EngineError(OracleErrorCode.NoRow, `${table}: update of missing row ${k}`, { table, key: k });
    return this.#updateEntry(t, k, old, set);
  }

  #updateEntry(t: MemTable, k: string, old: RowImage, set: Readonly<Record<string, ColumnValue>>): RowImage {
    const table = qualified(t.schema);
    const next = old.slice();
    for (const [name, v] of Object.entries(set)) {
      const i = t.schema.columns.findIndex((c) => c.name === name);
      if (i === -1) throw new EngineError(OracleErrorCode.UnknownColumn, `${table} has no column ${name}`, { table, column: name });
      next[i] = plainInt(v);
    }
    // A keyless row keeps its entry: it has no key to move.
    const nk = t.keyless ? k : this.#pkText(t, t.pk.map((p) => next[p] as ColumnValue));
    if (nk !== k && t.rows.has(nk)) throw new EngineError(OracleErrorCode.PkDuplicate, `${table}: update moves ${k} onto existing ${nk}`, { table, key: nk });
    this.#checkUnique(t, next, k);
    t.rows.delete(k);
    t.rows.set(nk, next);
    return old.slice();
  }

  /** Deletes the row with primary key `key`; returns it. */
  delete(table: string, key: readonly ColumnValue[]): RowImage {
    const t = this.#keyed(table);
    const k = this.#pkText(t, key);
    const old = t.rows.get(k);
    if (old === undefined) throw new EngineError(OracleErrorCode.NoRow, `${table}: delete of missing row ${k}`, { table, key: k });
    t.rows.delete(k);
    return old;
  }

  /**
   * An application's DELETE with foreign_key_checks=1: deletes the row with primary key `key` and
   * carries out the declared keys' ON DELETE actions as InnoDB does, to any depth (CASCADE deletes
   * the rows pointing at a deleted row, SET NULL nulls their key columns; RESTRICT / NO ACTION, or
   * SET DEFAULT, which InnoDB rejects, throws ORACLE_FK_RESTRICT and changes nothing, as the server
   * rolls the statement back). Logical references (the configuration's) are not the server's: left
   * alone. Returns the row and every row the actions reached, as they were.
   */
  deleteCascading(table: string, key: readonly ColumnValue[]): { readonly row: RowImage; readonly effects: ReferentialEffect[] } {
    const t = this.#keyed(table);
    const k = this.#pkText(t, key);
    const old = t.rows.get(k);
    if (old === undefined) throw new EngineError(OracleErrorCode.NoRow, `${table}: delete of missing row ${k}`, { table, key: k });
    // Planned whole before anything changes, so a RESTRICT met deep down leaves every row as it was.
    const deleting = new Map<string, Set<string>>([[table, new Set([k])]]);
    const nulling = new Map<string, { table: string; key: string; positions: Set<number> }>();
    const effects: ReferentialEffect[] = [];
    const visit = (name: string, row: RowImage): void => {
      for (const ref of this.#declaredReferences(name)) {
        const refPositions = ref.fk.refColumns.map((c) => this.#position(this.#table(name), c));
        const values = refPositions.map((p) => row[p]);
        if (values.some((v) => v === null || v === undefined)) continue;
        const collations = refPositions.map((p) => this.#table(name).schema.columns[p]?.collation ?? null);
        const want = foldKey(values, collations);
        const gone = deleting.get(ref.child) ?? new Set<string>();
        for (const [ck, child] of this.#table(ref.child).rows) {
          if (gone.has(ck) || foldKey(ref.positions.map((p) => child[p]), collations) !== want) continue;
          switch (ref.fk.onDelete) {
            case 'CASCADE':
              gone.add(ck);
              deleting.set(ref.child, gone);
              effects.push({ table: ref.child, action: 'delete', row: child.slice() });
              visit(ref.child, child);
              break;
            case 'SET NULL': {
              const id = `${ref.child}\u0000${ck}`;
              const n = nulling.get(id);
              if (n === undefined) {
                nulling.set(id, { table: ref.child, key: ck, positions: new Set(ref.positions) });
                effects.push({ table: ref.child, action: 'set-null', row: child.slice() });
              } else for (const p of ref.positions) n.positions.add(p);
              break;
            }
            default:
              throw new EngineError(OracleErrorCode.FkRestrict, `${table}: cannot delete ${k}: row ${ck} of ${ref.child} still points at it (${ref.fk.name}, ON DELETE ${ref.fk.onDelete})`, { table: ref.child, key: ck });
          }
        }
      }
    };
    visit(table, old);
    for (const n of nulling.values()) {
      if (deleting.get(n.table)?.has(n.key) === true) continue;
      const row = this.#table(n.table).rows.get(n.key) as RowImage;
      for (const p of n.positions) row[p] = null;
    }
    for (const [name, keys] of deleting) for (const dk of keys) this.#table(name).rows.delete(dk);
    // A row first nulled, then reached by a cascade, is only deleted (as InnoDB ends).
    const rowId = (e: ReferentialEffect): string => {
      const et = this.#table(e.table);
      return `${e.table}\u0000${this.#pkText(et, et.pk.map((p) => e.row[p]))}`;
    };
    const deleted = new Set(effects.filter((e) => e.action === 'delete').map(rowId));
    return { row: old, effects: effects.filter((e) => e.action === 'delete' || !deleted.has(rowId(e))) };
  }

  /** What `deleteCascading` would do to other rows, doing nothing (throws as it does). */
  referentialEffects(table: string, key: readonly ColumnValue[]): ReferentialEffect[] {
    return this.clone().deleteCascading(table, key).effects;
  }

  /** The declared foreign keys (not the configuration's logical ones) that point at `table`, with their column positions in the child. */
  #declaredReferences(table: string): { readonly child: string; readonly fk: ForeignKey; readonly positions: readonly number[] }[] {
    const out: { child: string; fk: ForeignKey; positions: number[] }[] = [];
    for (const [name, t] of this.#tables) {
      for (const fk of t.schema.foreignKeys) {
        if (fk.origin !== 'schema' || `${fk.refSchema}.${fk.refTable}` !== table) continue;
        out.push({ child: name, fk, positions: fk.columns.map((c) => this.#position(t, c)) });
      }
    }
    return out;
  }

  #position(t: MemTable, column: string): number {
    const i = t.schema.columns.findIndex((c) => c.name === column);
    if (i === -1) throw new EngineError(OracleErrorCode.UnknownColumn, `${qualified(t.schema)} has no column ${column}`);
    return i;
  }

  /**
   * A table without a primary key: the entries of the rows a statement `WHERE <image>` reaches —
   * equal to `image` on every cell it logs (undefined cells are not logged), NULL-safe, text under
   * the column's collation (row-writer.ts imageMatch) — in the order the rows were written.
   */
  #imageEntries(t: MemTable, image: RowImage): [string, RowImage][] {
    const positions: number[] = [];
    image.forEach((v, i) => {
      if (v !== undefined) positions.push(i);
    });
    const collations = positions.map((p) => t.schema.columns[p]?.collation ?? null);
    const want = foldKey(positions.map((p) => image[p]), collations);
    return [...t.rows].filter(([, row]) => foldKey(positions.map((p) => row[p]), collations) === want);
  }

  /** readRowsByImages (row-reader.ts) for `request`: per image, every row equal to it under the collations, every copy (copies of the images). */
  answerImages(request: ImageReadRequest): RowImage[][] {
    const t = this.#table(qualified(request.table));
    return request.images.map((image) => this.#imageEntries(t, image).map(([, row]) => row.slice()));
  }

  /**
   * `UPDATE … SET … WHERE <image> LIMIT 1` (or the DELETE): the one row it takes. None is the
   * server's NoRowMatched; rows that differ exactly among those reached leave the choice to chance
   * (ORACLE_AMBIGUOUS_IMAGE, see the file comment). `exact`: the application names a row it holds
   * (its full value, matched exactly), as the primary changes a particular row.
   */
  #takeByImage(table: string, image: RowImage, op: string, exact: boolean): { readonly t: MemTable; readonly k: string; readonly row: RowImage } {
    const t = this.#table(table);
    if (!t.keyless) throw new EngineError(OracleErrorCode.UnknownColumn, `${table} has a primary key: its rows are named by key`, { table });
    const found = exact ? [...t.rows].filter(([, row]) => exactText(row) === exactText(image)) : this.#imageEntries(t, image);
    const first = found[0];
    if (first === undefined) throw new EngineError(OracleErrorCode.NoRow, `${table}: ${op} by image ${exactText(image)} reaches no row`, { table, key: exactText(image) });
    const other = found.find(([, row]) => exactText(row) !== exactText(first[1]));
    if (other !== undefined) {
      throw new EngineError(OracleErrorCode.AmbiguousImage, `${table}: ${op} by image ${exactText(image)} reaches ${exactText(first[1])} and ${exactText(other[1])}: the server would take either`, { table, key: exactText(image) });
    }
    return { t, k: first[0], row: first[1] };
  }

  /** A keyless table: `UPDATE … SET set WHERE <image> LIMIT 1` (`exact`: the row equal to `image` exactly, an application's own); returns the row before. */
  updateByImage(table: string, image: RowImage, set: Readonly<Record<string, ColumnValue>>, options: { readonly exact?: boolean } = {}): RowImage {
    const { t, k, row } = this.#takeByImage(table, image, 'update', options.exact === true);
    return this.#updateEntry(t, k, row, set);
  }

  /** A keyless table: `DELETE … WHERE <image> LIMIT 1` (`exact` as updateByImage); returns the row. */
  deleteByImage(table: string, image: RowImage, options: { readonly exact?: boolean } = {}): RowImage {
    const { t, k, row } = this.#takeByImage(table, image, 'delete', options.exact === true);
    t.rows.delete(k);
    return row.slice();
  }

  /** What the batched read of salvage.ts returns for `request`: rows whose `columns` equal one of `keys` under the columns' collations. */
  answer(request: ReadRequest): RowImage[] {
    const t = this.#table(qualified(request.table));
    const positions = request.columns.map((c) => {
      const i = t.schema.columns.findIndex((col) => col.name === c);
      if (i === -1) throw new EngineError(OracleErrorCode.UnknownColumn, `${qualified(request.table)} has no column ${c}`);
      return i;
    });
    const collations = positions.map((p) => t.schema.columns[p]?.collation ?? null);
    const wanted = new Set(request.keys.map((k) => foldKey(k, collations)));
    const out: RowImage[] = [];
    for (const row of t.rows.values()) if (wanted.has(foldKey(positions.map((p) => row[p]), collations))) out.push(row.slice());
    return out.sort((a, b) => compareKeys(t, a, b));
  }

  /**
   * Applies reconciler writes in order, as salvage's session does with foreign_key_checks=0: no ON
   * DELETE action fires, so a parent deleted under its children orphans them (`violations()` tells).
   * The first key violation throws (and leaves the writes before it applied).
   */
  apply(writes: readonly WriteOp[]): void {
    for (const w of writes) {
      const name = qualified(w.table);
      switch (w.kind) {
        case 'insert':
          this.insert(name, w.row);
          break;
        case 'update':
          if (w.image !== undefined) this.updateByImage(name, w.image, w.set);
          else this.update(name, w.key, w.set);
          break;
        case 'delete':
          if (w.image !== undefined) this.deleteByImage(name, w.image);
          else this.delete(name, w.key);
          break;
      }
    }
  }

  snapshot(): DrSnapshot {
    const out: DrSnapshot = {};
    for (const name of [...this.#tables.keys()].sort()) out[name] = this.rows(name);
    return out;
  }

  /**
   * Broken constraints, described: unique values held twice (under collation) and foreign keys
   * pointing nowhere — declared and logical ones, or declared ones only when `logical` is false.
   */
  violations(options: { readonly logical?: boolean } = {}): string[] {
    const found: string[] = [];
    for (const [name, t] of this.#tables) {
      for (const u of t.uniques) {
        const collations = u.positions.map((p) => t.schema.columns[p]?.collation ?? null);
        const seen = new Map<string, string>();
        for (const [k, row] of t.rows) {
          const values = u.positions.map((p) => row[p]);
          if (values.some((v) => v === null || v === undefined)) continue;
          const f = foldKey(values, collations);
          const other = seen.get(f);
          if (other !== undefined) found.push(`${name}.${u.name}: rows ${other} and ${k} both hold ${f}`);
          else seen.set(f, k);
        }
      }
    }
    for (const schema of this.catalog().tables) {
      const t = this.#table(qualified(schema));
      for (const fk of schema.foreignKeys) {
        if (options.logical === false && fk.origin !== 'schema') continue;
        const parent = this.#table(`${fk.refSchema}.${fk.refTable}`);
        const cols = fk.columns.map((c) => schema.columns.findIndex((x) => x.name === c));
        const refCols = fk.refColumns.map((c) => parent.schema.columns.findIndex((x) => x.name === c));
        const collations = refCols.map((p) => parent.schema.columns[p]?.collation ?? null);
        const keys = new Set([...parent.rows.values()].map((r) => foldKey(refCols.map((p) => r[p]), collations)));
        for (const [k, row] of t.rows) {
          const values = cols.map((p) => row[p]);
          if (values.some((v) => v === null || v === undefined)) continue;
          if (!keys.has(foldKey(values, collations))) found.push(`${qualified(schema)} row ${k}: ${fk.name} points at missing ${fk.refTable} ${foldKey(values, collations)}`);
        }
      }
    }
    return found;
  }

  #table(name: string): MemTable {
    const t = this.#tables.get(name);
    if (t === undefined) throw new EngineError(OracleErrorCode.UnknownTable, `the oracle has no table ${name}`, { table: name });
    return t;
  }

  /** A table whose rows are named by primary key (a keyless one's by image only: ORACLE_KEYLESS_BY_KEY, as the sink refuses such a write). */
  #keyed(name: string): MemTable {
    const t = this.#table(name);
    if (t.keyless) throw new EngineError(OracleErrorCode.KeylessByKey, `${name} has no primary key: its rows are named by image`, { table: name });
    return t;
  }

  #pkText(t: MemTable, key: readonly (ColumnValue | undefined)[]): string {
    return foldKey(key, t.pk.map(() => null));
  }

  #checkUnique(t: MemTable, row: RowImage, self: string | null): void {
    for (const u of t.uniques) {
      const values = u.positions.map((p) => row[p]);
      if (values.some((v) => v === null || v === undefined)) continue;
      const collations = u.positions.map((p) => t.schema.columns[p]?.collation ?? null);
      const f = foldKey(values, collations);
      for (const [k, other] of t.rows) {
        if (k === self) continue;
        if (foldKey(u.positions.map((p) => other[p]), collations) === f) {
          throw new EngineError(OracleErrorCode.UkDuplicate, `${qualified(t.schema)}: ${u.name} value ${f} already held by row ${k}`, { table: qualified(t.schema), key: f });
        }
      }
    }
  }
}

/** A row's exact text (no collation): equal rows of a keyless table are copies of one value. A cell an image does not log is `-`. */
function exactText(row: RowImage): string {
  return row.map((v) => (v === undefined ? '-' : foldKey([v], [null]))).join('|');
}

/** Primary-key order; a keyless table's rows by every column (NULL first), so equal multisets give equal lists. */
function compareKeys(t: MemTable, a: RowImage, b: RowImage): number {
  for (const p of t.keyless ? t.schema.columns.map((_, i) => i) : t.pk) {
    const x = a[p];
    const y = b[p];
    if (x === null || y === null) {
      if (x !== y) return x === null ? -1 : 1;
    } else if ((typeof x === 'number' || typeof x === 'bigint') && (typeof y === 'number' || typeof y === 'bigint')) {
      const d = BigInt(x) - BigInt(y);
      if (d !== 0n) return d < 0n ? -1 : 1;
    } else {
      const sx = String(x);
      const sy = String(y);
      if (sx !== sy) return sx < sy ? -1 : 1;
    }
  }
  return 0;
}

export interface RunOptions {
  /** Source transactions per window. */
  readonly windowSize: number;
  /** apply: write each window and forget the overlay (salvage's apply); plan: write nothing, keep the overlay. */
  readonly mode: 'apply' | 'plan';
  /** Persistent state from an earlier run (salvage loads both from its state schema). */
  readonly keyMap?: KeyMap;
  readonly quarantine?: QuarantineIndex;
  readonly keepTransactionsWhole?: boolean;
  /** The configured strategies (default: the built-in ones), as salvage.ts passes them. */
  readonly rules?: RuleBook;
  /**
   * What the run's lost-range scan read (default `transactions`): salvage scans the whole range
   * once before its first window, so a run killed part way through floored its remaps on inserts it
   * never reached.
   */
  readonly scanned?: readonly Transaction[];
  /** The DR's own history since the failover (held in memory: nothing to prepare). */
  readonly history?: DrHistory | null;
  /**
   * Whether delete-blocking's needs of the whole range are read before the first window, as
   * salvage.ts reads them (#readLaterNeeds) for a run that is not following (default true).
   */
  readonly laterNeeds?: boolean;
}

export interface RunResult {
  readonly results: TransactionResult[];
  /** Every decision, in source order. */
  readonly decisions: ChangeDecision[];
  readonly keyMap: KeyMap;
  readonly quarantine: QuarantineIndex;
  /** The catalog the run introspected at its start. */
  readonly catalog: SchemaCatalog;
}

/**
 * One salvage run over `transactions` (the lost range after the checkpoint) against `dr`, in windows:
 * collect the window's reads → answer → load and mark read → a keyless table's rows by before image → (second round) who points at the
 * holders of unique values a delete-blocking rule may delete, and (report, allowUpTo) at the rows a
 * lost delete's cascade reaches → raise key floors → decide each
 * transaction → (apply) write and clear the overlay.
 */
export function runReconcile(dr: InMemoryDr, transactions: readonly Transaction[], options: RunOptions): RunResult {
  const catalog = dr.catalog();
  const keyMap = options.keyMap ?? new KeyMap();
  const quarantine = options.quarantine ?? new QuarantineIndex();
  const r = new Reconciler(catalog, keyMap, quarantine, { keepTransactionsWhole: options.keepTransactionsWhole, rules: options.rules, history: options.history ?? null });
  // lost-range-scan.ts: per table, the largest integer each column is given by an insert of the range.
  const maxInserted = new Map<string, Map<number, bigint>>();
  for (const tx of options.scanned ?? transactions) {
    for (const c of tx.changes) {
      if (c.op !== 'insert' || c.after === null) continue;
      const name = qualified(c.table);
      let maxes = maxInserted.get(name);
      if (maxes === undefined) maxInserted.set(name, (maxes = new Map()));
      c.after.forEach((v, i) => {
        if (typeof v !== 'number' && typeof v !== 'bigint') return;
        if (typeof v === 'number' && !Number.isInteger(v)) return;
        const cur = maxes.get(i);
        if (cur === undefined || BigInt(v) > cur) maxes.set(i, BigInt(v));
      });
    }
  }
  // salvage.ts #readLaterNeeds: the range as logged, only when some rule may delete a blocker.
  if (options.laterNeeds !== false && r.deletesBlockers()) {
    const needs = new LaterNeeds();
    for (const tx of transactions) {
      needs.seen(tx);
      tx.changes.forEach((change, index) => r.neededRows(change, (table, key) => needs.add(table, key, tx, index)));
    }
    r.useLaterNeeds(needs);
  }
  const results: TransactionResult[] = [];
  const size = Math.max(1, options.windowSize);
  for (let at = 0; at < transactions.length; at += size) {
    const window = transactions.slice(at, at + size);
    const changes = r.rewrite(window.flatMap((tx) => tx.changes));
    r.noteWindow(changes);
    for (const req of collectReads(changes, catalog, r.stateSet)) {
      const state = r.state(req.table);
      state.load(dr.answer(req));
      if (req.purpose === 'pk') state.markReadKeys(req.asked);
      else state.markReadIndexKeys(req.purpose, req.asked);
    }
    // Tables without a primary key (salvage.ts #readWindow): the rows equal to each before image of
    // an update or delete, as readRowsByImages returns them.
    for (const req of collectImageReads(changes, catalog, r.stateSet)) {
      const keyless = r.state(req.table).keyless;
      if (keyless === null) continue;
      const found = dr.answerImages(req);
      req.images.forEach((image, i) => keyless.load(image, found[i] ?? []));
    }
    // salvage.ts #readWindow: the holders of the values an update writes where its after image leaves a part to the DR row.
    for (const req of collectWrittenRowReads(changes, catalog, r.stateSet, (t) => r.ignoredColumns(t))) {
      const state = r.state(req.table);
      state.load(dr.answer(req).filter((row) => !state.knowsRow(row)));
      if (req.purpose !== 'pk') state.markReadIndexKeys(req.purpose, req.asked);
    }
    for (const req of collectHolderChildReads(changes, catalog, r.stateSet, (t) => r.readsHolderChildren(t), (t) => r.ignoredColumns(t))) {
      const state = r.state(req.table);
      state.load(dr.answer(req));
      if (req.purpose !== 'pk') state.markReadIndexKeys(req.purpose, req.asked);
    }
    if (r.readsCascadeChildren) {
      for (const req of collectCascadeChildReads(changes, catalog, r.stateSet)) {
        const state = r.state(req.table);
        state.load(dr.answer(req));
        if (req.purpose !== 'pk') state.markReadIndexKeys(req.purpose, req.asked);
      }
    }
    for (const name of new Set(changes.filter((c) => c.op === 'insert').map((c) => qualified(c.table)))) {
      const table = catalog.lookup(name);
      const ai = table?.autoIncrement;
      if (table === undefined || ai === null || ai === undefined || table.primaryKey?.length !== 1 || table.primaryKey[0] !== ai.column) continue;
      r.raiseKeyFloor(table, ai.next);
      const max = dr.maxKey(name);
      if (max !== null) r.raiseKeyFloor(table, max + 1n);
      const lostMax = maxInserted.get(name)?.get(table.columns.findIndex((c) => c.name === ai.column));
      if (lostMax !== undefined) r.raiseKeyFloor(table, lostMax + 1n);
    }
    const decided = window.map((tx) => r.decide(tx));
    if (options.mode === 'apply') {
      dr.apply(decided.flatMap((d) => d.writes));
      r.clearStates();
    }
    results.push(...decided);
  }
  return { results, decisions: results.flatMap((x) => [...x.decisions]), keyMap, quarantine, catalog };
}

/** The GTID number of a generated transaction (the incident model's are MySQL GTIDs), -1 without one. */
export function gnoOf(tx: Transaction): number {
  return tx.gtid?.flavor === 'mysql' ? Number(tx.gtid.gno) : -1;
}

/** What a decision says, in plain values (comparable across runs). */
export interface DecisionSummary {
  readonly gno: number;
  readonly index: number;
  readonly table: string;
  readonly op: string;
  readonly class: string;
  readonly outcome: Outcome;
  readonly newKey: number[] | null;
  readonly reason: string | null;
  readonly conflicts: readonly string[];
}

export function decisionSummary(d: ChangeDecision): DecisionSummary {
  return { gno: gnoOf(d.tx), index: d.index, table: d.table, op: d.op, class: d.class, outcome: d.outcome, newKey: d.newKey === null ? null : d.newKey.map(Number), reason: d.reason, conflicts: d.conflicts };
}
