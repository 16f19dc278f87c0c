/**
 * Decides every lost row change of a window, in source order, against the DR rows the window read
 * and the window's own earlier decisions (the overlay in TableState), under the built-in defaults
 * of DESIGN.md's "Conflict taxonomy". Pure: the DR is seen only through the states the caller
 * loaded; the result is decisions plus the writes that carry them out.
 *
 * Identity before values: an insert whose AUTO_INCREMENT id the DR handed to a different record
 * is re-keyed (remap) and every later change that refers to the old id — the row's own updates and
 * deletes, children through declared and configured foreign keys — is rewritten through the key
 * map before it is classified; a re-keyed row that still clashes on a unique value goes on to the
 * insert-unique-taken rule. What cannot be decided safely goes to quarantine with everything
 * that depends on it: later changes of the same row, children of a quarantined row, and (when
 * transactions are kept whole, the default) the rest of its transaction.
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import { CharsetText } from '../binlog/values/charset-text.js';
import type { RowChange } from '../binlog/event.js';
import type { Transaction } from '../binlog/transaction.js';
import { ddlStatements, gtidText } from '../binlog/transaction.js';
import { JsonPatch } from '../binlog/values/json-value.js';
import { applyJsonPatches, hasJsonPatch } from './json-patch.js';
import { EngineError } from '../errors.js';
import { canonicalKeyValues } from '../model/canonical-row.js';
import { redactSecrets } from '../model/redact-secrets.js';
import { imageKey, rowKey, rowKeyAt } from '../model/row-key.js';
import { statementTable } from '../model/statement-table.js';
import type { ColumnSchema, SchemaCatalog, TableSchema, UniqueKey } from '../model/table-schema.js';
import type { DrHistory } from '../model/dr-history.js';
import { createHash } from 'node:crypto';
import { v7 as uuidV7 } from 'uuid';
import type { MergePolicy, Strategy } from '../config/normalise.js';
import { basename } from 'node:path';
import { ClassifyErrorCode, classifyChange, PRIMARY_KEY, type Classification } from './classify.js';
import { applyDelta, compareValues } from './column-math.js';
import { columnMisfit } from './column-fit.js';
import { RuleBook, type Rule } from './rules.js';
import type { ChangeClass, ChangeDecision, Outcome, TransactionResult, WriteOp } from '../model/decision.js';
import { callCustomStrategy, canonicalImage, checkCustomDecision, type CustomCall, type CustomStrategyContext } from './custom-strategy.js';
import { createAutoIncrementAllocator, KeyAllocatorErrorCode } from './key-allocator.js';
import type { KeyMap } from './key-map.js';
import type { LaterNeeds } from './later-needs.js';
import { threeWayMerge } from './merge.js';
import { applyRemaps, remapInsert } from './remap.js';
import { TableState } from './table-state.js';
import type { KeylessRows } from './keyless-rows.js';
import { sameExactValue, sameValue } from './value-equality.js';
import { asPrimaryKey, REWRITE_CANDIDATES, rewriteCandidate, type StateSet } from './window-reads.js';
import { insertedRow, keysNeedingDrRow, writtenRow } from './written-row.js';

export const ReconcilerErrorCode = {
  /** A lost change names a table the DR does not have. */
  UnknownTable: 'RECONCILE_UNKNOWN_TABLE',
  /** A `fail` strategy fired: the run stops, the window in progress rolled back. */
  RuleFail: 'RECONCILE_RULE_FAIL',
  /** Internal: a rollback to a mark older than the latest (whose journal the latest let go). */
  StaleMark: 'RECONCILE_STALE_MARK',
} as const;
export type ReconcilerErrorCode = (typeof ReconcilerErrorCode)[keyof typeof ReconcilerErrorCode];

export interface ReconcilerOptions {
  /** All of a source transaction applied, or all of it quarantined (default true). */
  readonly keepTransactionsWhole?: boolean;
  /** The configured strategies (default: the built-in ones). */
  readonly rules?: RuleBook;
  /** Tables (`schema.table`) suspended by the escalation limit: every later change of them is quarantined. Read live. */
  readonly suspended?: ReadonlySet<string>;
  /** The DR's own history since the failover (`--dr-binlog`), prepared for the window's keys; without it, identity is judged by values. */
  readonly history?: DrHistory | null;
  /**
   * Keyless tables whose rows the DR cannot give back exactly (a column with no exact read path),
   * with why: their updates and deletes cannot be matched by image, so they are quarantined as
   * `no-key` (the window's image reads leave them out).
   */
  readonly unmatchable?: ReadonlyMap<TableSchema, string>;
}

/**
 * Quarantined source rows, so later changes that depend on them follow them into quarantine; and
 * the parent rows quarantined changes point at, so nothing deletes a row a held change needs.
 */
export class QuarantineIndex {
  readonly #rows = new Map<string, Map<string, string>>();
  readonly #parents = new Map<string, Map<string, string>>();
  /** Per table, held source row → the row as its held changes leave it, where known (heldImage). */
  readonly #images = new Map<string, Map<string, RowImage>>();
  /**
   * Per table, held source row → its held changes of earlier runs, folded (noteEarlierHeld): loaded
   * before the first window, never rolled back. What completes a MINIMAL update of the row in this
   * run, over the DR row read, as the earlier run completed it (this run's own held image first).
   */
  readonly #earlier = new Map<string, Map<string, EarlierHeld>>();
  readonly #log: Logged[] = [];
  /** Origins that are skipped inserts: a label names one change for ever, so none is rolled back. */
  readonly #skipped = new Set<string>();
  /**
   * Per table asked about by its folded key (originFolded: a character key under a collation), the
   * held rows by folded key: folded key → held key → origin, kept with #rows from the first ask on.
   * Tables of number or byte keys are never asked, and add pays nothing while none is.
   */
  readonly #folded = new Map<string, { readonly folder: KeyFolder; readonly map: Map<string, Map<string, string>> }>();

  /** Records that the row `pk` of `table` (`schema.table`) waits in quarantine because of `origin`. */
  add(table: string, pk: string, origin: string): void {
    this.#put(this.#rows, table, pk, origin);
  }

  /** Records that the row `pk` of `table` is held because its insert, `origin`, was skipped (the DR row at its key is another record). */
  addSkipped(table: string, pk: string, origin: string): void {
    this.markSkipped(origin);
    this.add(table, pk, origin);
  }

  /** Marks `origin` a skipped insert whose row was held by add (the run's own skips). */
  markSkipped(origin: string): void {
    this.#skipped.add(origin);
  }

  /** Whether `origin` is a skipped insert (addSkipped) rather than a quarantined change. */
  skipped(origin: string): boolean {
    return this.#skipped.has(origin);
  }

  /** Records that the quarantined change `origin` points at the row `pk` of `table` (a parent through a foreign key). */
  addParent(table: string, pk: string, origin: string): void {
    this.#put(this.#parents, table, pk, origin);
  }

  /**
   * Records the row `pk` of `table` as its latest held change leaves it on the source, so a later
   * held change that logs only some columns (MINIMAL) is completed from it, not from the DR row the
   * held changes never reached. Rolled back with the holds.
   */
  setHeldImage(table: string, pk: string, image: RowImage): void {
    let t = this.#images.get(table);
    if (t === undefined) this.#images.set(table, (t = new Map()));
    this.#log.push({ table, pk, was: t.get(pk) });
    t.set(pk, image);
  }

  /** The row `pk` of `table` as its held changes leave it (setHeldImage), or undefined. */
  heldImage(table: string, pk: string): RowImage | undefined {
    return this.#images.get(table)?.get(pk);
  }

  /** Records the row `pk` of `table` as an earlier run's held changes left it (noteEarlierHeld). */
  setEarlierHeld(table: string, pk: string, held: EarlierHeld): void {
    let t = this.#earlier.get(table);
    if (t === undefined) this.#earlier.set(table, (t = new Map()));
    t.set(pk, held);
  }

  /** The row `pk` of `table` as an earlier run's held changes left it (setEarlierHeld), or undefined. */
  earlierHeld(table: string, pk: string): EarlierHeld | undefined {
    return this.#earlier.get(table)?.get(pk);
  }

  #put(index: Map<string, Map<string, string>>, table: string, pk: string, origin: string): void {
    let t = index.get(table);
    if (t === undefined) index.set(table, (t = new Map()));
    if (t.has(pk)) return;
    t.set(pk, origin);
    this.#log.push([index, table, pk]);
    if (this.#folded.size !== 0 && index === this.#rows) {
      const f = this.#folded.get(table);
      if (f !== undefined) foldIn(f.map, f.folder.foldRowKey(pk), pk, origin);
    }
  }

  /** A point to roll back to (a window the DR rejected is decided again). */
  mark(): number {
    return this.#log.length;
  }

  rollbackTo(mark: number): void {
    while (this.#log.length > mark) {
      const entry = this.#log.pop() as Logged;
      if (!Array.isArray(entry)) {
        const t = this.#images.get(entry.table);
        if (entry.was === undefined) t?.delete(entry.pk);
        else t?.set(entry.pk, entry.was);
        continue;
      }
      const [index, table, pk] = entry;
      index.get(table)?.delete(pk);
      if (this.#folded.size !== 0 && index === this.#rows) {
        const f = this.#folded.get(table);
        if (f === undefined) continue;
        const folded = f.folder.foldRowKey(pk);
        const held = f.map.get(folded);
        held?.delete(pk);
        if (held?.size === 0) f.map.delete(folded);
      }
    }
  }

  /** The first quarantined change that points at the row `pk` of `table`, or undefined. */
  parentOf(table: string, pk: string): string | undefined {
    return this.#parents.get(table)?.get(pk);
  }

  /** The change that holds the row back, or undefined. */
  origin(table: string, pk: string): string | undefined {
    return this.#rows.get(table)?.get(pk);
  }

  /**
   * The first change that holds back a row of `table` whose key `folder` folds to `folded`, or
   * undefined: the row as the server finds it by key (a held `'ABC'` is the DR's `'abc'` under a
   * _ci collation), where origin finds the key as logged. The held rows of `table` are folded once,
   * at the first ask (again when the folder changes: the table's schema did), then as they are added.
   */
  originFolded(table: string, folded: string, folder: KeyFolder): string | undefined {
    let f = this.#folded.get(table);
    if (f === undefined || f.folder !== folder) {
      f = { folder, map: new Map() };
      this.#folded.set(table, f);
      for (const [pk, origin] of this.#rows.get(table) ?? []) foldIn(f.map, folder.foldRowKey(pk), pk, origin);
    }
    const held = f.map.get(folded);
    return held === undefined ? undefined : (held.values().next().value as string);
  }

  get size(): number {
    let n = 0;
    for (const t of this.#rows.values()) n += t.size;
    return n;
  }
}

/**
 * A held source row as an earlier run's held changes left it: `image`, the columns they gave (an
 * insert's row whole, at the DR's known defaults; a MINIMAL update's columns set, over the ones
 * before), absent where none did; those the DR row at `base` (the row's key when its first held
 * update met it) still gives, as it gave them then.
 */
export interface EarlierHeld {
  readonly base: string;
  readonly image: RowImage;
}

/**
 * Notes a pending quarantined change of an earlier run (`before`, `after` as recorded; `before`
 * null for an insert) on the row it holds, in the order they were decided, so a MINIMAL update of
 * that row in this run is completed as one run over the whole range completes it (#heldRow): the
 * in-run held image is not kept across runs, and the DR row alone would forget what the held
 * changes set. Tables whose held rows are never completed are left out (their rows' holds cost
 * nothing more).
 */
export function noteEarlierHeld(quarantine: QuarantineIndex, catalog: SchemaCatalog, state: TableState, before: RowImage | null, after: RowImage): void {
  const table = state.schema;
  if (table.primaryKey === null || (table.foreignKeys.length === 0 && catalog.referencing(table.schema, table.table).length === 0)) return;
  if (before === null) {
    const k = state.keyOf(after);
    if (k !== null) quarantine.setEarlierHeld(state.qualified, k, { base: k, image: insertedRow(table, after) });
    return;
  }
  const k = state.keyOf(before);
  if (k === null) return;
  const was = quarantine.earlierHeld(state.qualified, k);
  // By index, not Array#map: an image built elsewhere may have holes, which map skips.
  const image = Array.from({ length: table.columns.length }, (_, i) => (after[i] === undefined ? was?.image[i] : after[i]));
  const held = { base: was?.base ?? k, image };
  quarantine.setEarlierHeld(state.qualified, k, held);
  const moved = state.keyOf(after);
  if (moved !== null && moved !== k) quarantine.setEarlierHeld(state.qualified, moved, held);
}

/** A QuarantineIndex journal entry: a hold or parent added (index, table, key), or a held image replaced (the one it had). */
type Logged = [Map<string, Map<string, string>>, string, string] | { readonly table: string; readonly pk: string; readonly was: RowImage | undefined };

/** Folds a table's primary key given as its rowKey, as the server compares it (TableState.foldRowKey). */
export interface KeyFolder {
  foldRowKey(key: string): string;
}

function foldIn(map: Map<string, Map<string, string>>, folded: string, pk: string, origin: string): void {
  let held = map.get(folded);
  if (held === undefined) map.set(folded, (held = new Map()));
  held.set(pk, origin);
}

/**
 * The rows `after` (a row of `table`, in its column order) points at through declared and
 * configured foreign keys, of the parent tables `wanted` keeps (all by default): onto a primary key
 * as `[schema.table, key]`, onto another unique key as `[uniqueHoldTable(schema.table, key),
 * folded value]` — both folded by the parent's columns as the DR compares them (`'b2'` names
 * `'B2'` under a `_ci` collation; TableState.foldedKeyOf, indexKeyOf), so the row is found whatever
 * case the child gives. A key of numbers or bytes is its rowKey, as logged, with no TableState
 * asked for. What a held change needs to stay (QuarantineIndex.addParent), and what
 * delete-blocking must leave to a lost change still to come (Reconciler.neededRows). `states`
 * gives the parent's TableState for the folding (one made per call by default).
 */
export function heldParents(
  catalog: SchemaCatalog,
  table: TableSchema,
  after: RowImage,
  wanted: (parent: TableSchema) => boolean = () => true,
  states: (parent: TableSchema) => TableState = (parent) => new TableState(parent),
): [string, string][] {
  const out: [string, string][] = [];
  for (const fk of table.foreignKeys) {
    const parent = catalog.get(fk.refSchema, fk.refTable);
    if (parent === undefined || !wanted(parent)) continue;
    const values = fk.columns.map((col) => after[table.columns.findIndex((c) => c.name === col)]);
    const pk = asPrimaryKey(parent, fk.refColumns, values);
    if (pk !== null) {
      let text = false;
      let missing = false;
      for (const v of pk) {
        if (v === undefined || v === null) missing = true;
        else if (typeof v === 'string') text = true;
      }
      if (missing) continue;
      // Only text folds (uniqueFolder): an integer key needs no TableState, on the hot path of neededRows.
      if (!text) out.push([`${parent.schema}.${parent.table}`, rowKey(pk as ColumnValue[])]);
      else {
        const state = states(parent);
        out.push([state.qualified, state.foldedKeyFromValues(pk) as string]);
      }
      continue;
    }
    // As #missingParent finds the parent a child names by a unique key.
    const uk = parent.uniqueKeys.find((u) => u.columns.length === fk.refColumns.length && u.columns.every((col) => fk.refColumns.includes(col)));
    if (uk === undefined) continue;
    const state = states(parent);
    const k = state.indexKeyFromValues(`uk:${uk.name}`, uk.columns.map((col) => values[fk.refColumns.indexOf(col)]));
    if (k !== null) out.push([uniqueHoldTable(state.qualified, uk.name), k]);
  }
  return out;
}

/** Where a change is, for reasons and dependants: `GTID#index` or `file:pos#index`. */
export function changeLabel(tx: Transaction, index: number): string {
  return `${tx.gtid !== null ? gtidText(tx.gtid) : `${tx.file}:${tx.pos}`}#${index}`;
}

/**
 * Runs `decide` for change `index` of `tx`; an image that does not fit the DR's table (which the
 * schema check before the run should have refused) names the transaction, for the DBA to find it.
 */
function atChange<T>(tx: Transaction, index: number, decide: () => T): T {
  try {
    return decide();
  } catch (e) {
    if (!(e instanceof EngineError) || e.code !== ClassifyErrorCode.ImageShape || e.details['change'] !== undefined) throw e;
    const label = changeLabel(tx, index);
    throw new EngineError(e.code, `${e.message}, at ${label} (${basename(tx.file)}:${tx.pos})`, { ...e.details, change: label, ...(tx.gtid === null ? {} : { gtid: gtidText(tx.gtid) }), file: tx.file }, { cause: e });
  }
}

/** See Reconciler.mark. */
export interface ReconcilerMark {
  readonly keyMap: number;
  readonly quarantine: number;
  readonly floors: ReadonlyMap<TableSchema, bigint>;
  /** Which mark it is: only the latest can be rolled back to (each lets the overlay's journal before it go). */
  readonly serial: number;
  /** Taken with `readAgain`: a rollback forgets the overlay instead of restoring it. */
  readonly readAgain: boolean;
}

interface Pending {
  readonly decision: ChangeDecision;
  /** A skipped insert: later changes of the same source row must not reach the DR row at its key either. */
  readonly hold?: boolean;
  /**
   * The source row it holds back when quarantined: its own source key in `decision.table` (the key
   * the binlog logged, before any remap), so later changes of the same source record follow it into
   * quarantine; null for a statement or a row without a full key.
   */
  readonly sourcePk: string | null;
}

/**
 * The quarantine index's name for the values of a unique key that foreign keys reference: a held
 * row holds its values there too, so a child that names its parent by that key is held with it.
 */
function uniqueHoldTable(qualified: string, uniqueKey: string): string {
  return `${qualified}\u0000uk:${uniqueKey}`;
}

/**
 * The needs index's name (noteWindow, LaterNeeds) for the rows of `qualified` a lost update changes
 * while keeping the reference `foreignKey`: a MINIMAL after image leaves the columns out, so it names
 * no parent, yet the row still points where it does (Reconciler.neededRows, #keptChildren).
 */
function keptReferenceTable(qualified: string, foreignKey: string): string {
  return `${qualified}\u0000keeps:${foreignKey}`;
}

/** The unique keys of `table` (not its primary key) that some foreign key of the catalog references. */
function referencedUniqueKeys(catalog: SchemaCatalog, table: TableSchema): UniqueKey[] {
  return table.uniqueKeys.filter((uk) =>
    catalog.tables.some((t) => t.foreignKeys.some((fk) => fk.refSchema === table.schema && fk.refTable === table.table && fk.refColumns.length === uk.columns.length && uk.columns.every((c) => fk.refColumns.includes(c)))),
  );
}

/**
 * The holds of a skipped insert's row by its unique values that foreign keys reference, as
 * Reconciler #holdRow makes them: `[hold table, folded key]` pairs for QuarantineIndex.add. What a
 * later run holds for an earlier run's skipped insert (its ledger row records no holds), so a child
 * naming the never-written row by such a value is held too, not written onto the DR record that
 * holds the same value.
 */
export function uniqueValueHolds(catalog: SchemaCatalog, table: TableSchema, after: RowImage): [string, string][] {
  const keys = referencedUniqueKeys(catalog, table);
  if (keys.length === 0) return [];
  const state = new TableState(table);
  const out: [string, string][] = [];
  // As #holdRow holds a skipped insert: a column it left out at the DR's known default.
  const row = insertedRow(table, after);
  for (const uk of keys) {
    const k = state.indexKeyOf(`uk:${uk.name}`, row);
    if (k !== null) out.push([uniqueHoldTable(state.qualified, uk.name), k]);
  }
  return out;
}

/** Key column types that hold a UUID v7's text (MariaDB's UUID type too). */
const UUID_KEY_TYPES = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'uuid']);

export class Reconciler {
  readonly #catalog: SchemaCatalog;
  readonly #keyMap: KeyMap;
  readonly #quarantine: QuarantineIndex;
  readonly #referenced = new Map<TableSchema, readonly UniqueKey[]>();
  /** Rows (`schema.table` → row keys) and unique values (uniqueHoldTable → folded values) the current window's changes change or point at: noteWindow. */
  #windowRefs = new Map<string, Set<string>>();
  /** The key map's mark when the window began (noteWindow): what it re-keyed since is #rekeyedThisWindow. */
  #windowKeyMark = 0;
  /** Rows the lost changes of the whole range need, with the first and the last change needing each: useLaterNeeds. */
  #laterNeeds: LaterNeeds | null = null;
  /** The window's DR rows that an earlier run's lost changes wrote (`schema.table` → row key → the change, described): noteEarlierRunWrites. */
  #earlierRunWrites: ReadonlyMap<string, ReadonlyMap<string, string>> = new Map();
  readonly #deletesBlockers = new Map<TableSchema, boolean>();
  readonly #whole: boolean;
  readonly #rules: RuleBook;
  readonly #suspended: ReadonlySet<string>;
  readonly #history: DrHistory | null;
  readonly #unmatchable: ReadonlyMap<TableSchema, string>;
  readonly #states = new Map<TableSchema, TableState>();
  /** Per table: the lowest key a remap may take (raised by the caller from the DR's MAX and AUTO_INCREMENT). */
  readonly #floors = new Map<TableSchema, bigint>();
  /** The serial of the latest mark; 0 before the first. */
  #markSerial = 0;
  /**
   * Whether the overlay's journal is kept from the latest mark on (not let go after each
   * transaction), so rollbackTo can undo the window's decisions and nothing before it: after a mark
   * taken without `readAgain`.
   */
  #keepJournals = false;
  readonly stateSet: StateSet;
  /** Per table (`schema.table`): columns an update's or delete's before image left out (MINIMAL/NOBLOB), where any did: unloggedColumns. */
  readonly #unlogged = new Map<string, Set<string>>();

  constructor(catalog: SchemaCatalog, keyMap: KeyMap, quarantine: QuarantineIndex, options: ReconcilerOptions = {}) {
    this.#catalog = catalog;
    this.#keyMap = keyMap;
    this.#quarantine = quarantine;
    this.#whole = options.keepTransactionsWhole ?? true;
    this.#rules = options.rules ?? RuleBook.builtIn();
    this.#suspended = options.suspended ?? new Set();
    this.#history = options.history ?? null;
    this.#unmatchable = options.unmatchable ?? new Map();
    this.stateSet = { get: (t) => this.state(t) };
  }

  get keyMap(): KeyMap {
    return this.#keyMap;
  }

  get quarantine(): QuarantineIndex {
    return this.#quarantine;
  }

  state(table: TableSchema): TableState {
    let s = this.#states.get(table);
    // A keyless table matches rows on the columns the configuration compares (ignoreColumns left out).
    if (s === undefined) this.#states.set(table, (s = new TableState(table, table.primaryKey === null ? { ignore: this.#rules.ignored(table) } : undefined)));
    return s;
  }

  /** Forgets every row: the next window reads the DR afresh (after a commit). */
  clearStates(): void {
    for (const s of this.#states.values()) s.clear();
  }

  /** Raises the lowest key remaps of `table` may take (never lowers it: keys once handed out stay taken). */
  raiseKeyFloor(table: TableSchema, floor: bigint): void {
    const cur = this.#floors.get(table) ?? 1n;
    if (floor > cur) this.#floors.set(table, floor);
  }

  /** The current key floor of every table a remap or the caller raised (to persist with a window). */
  keyFloors(): ReadonlyMap<TableSchema, bigint> {
    return new Map(this.#floors);
  }

  /** The rewrite-unique templates configured for `table` (for collecting the window's reads). */
  rewriteTemplates(table: TableSchema): string[] {
    const out: string[] = [];
    for (const klass of ['insert-unique-taken', 'update-unique-taken'] as const) {
      const s = this.#rules.forClass(table, klass).strategy;
      if (s.strategy === 'rewrite-unique') out.push(s.template);
    }
    return out;
  }

  /** The columns of `table` left out of every comparison (`ignoreColumns`), for collecting the window's reads (an ignored column an update did not change keeps the DR's value). */
  ignoredColumns(table: TableSchema): ReadonlySet<string> {
    return this.#rules.ignored(table);
  }

  /** The changes of `txs` rewritten through the key map as it stands (for collecting the window's reads). */
  rewrite(changes: readonly RowChange[]): RowChange[] {
    return applyRemaps(changes, this.#keyMap, this.#catalog).changes;
  }

  /**
   * Notes the rows the window's (rewritten) changes change or point at through a foreign key, so
   * delete-blocking leaves them: the lost range still needs them (a later lost order of a customer
   * the DR renamed onto a lost customer's e-mail would otherwise lose its parent). Replaces the
   * previous window's; a window the caller does not note protects nothing this way.
   */
  noteWindow(changes: readonly RowChange[]): void {
    const refs = new Map<string, Set<string>>();
    for (const change of changes) {
      this.neededRows(change, (name, key) => {
        let set = refs.get(name);
        if (set === undefined) refs.set(name, (set = new Set()));
        set.add(key);
      });
    }
    this.#windowRefs = refs;
    this.#windowKeyMark = this.#keyMap.mark();
  }

  /**
   * Whether this window re-keyed a lost row to `key` of `table` (remap: a fresh key, above the DR's
   * AUTO_INCREMENT and its largest key when chosen; not a link, which names a DR record).
   */
  #rekeyedThisWindow(table: TableSchema, key: readonly ColumnValue[]): boolean {
    const want = rowKey(key);
    return this.#keyMap.since(this.#windowKeyMark).some((e) => !e.linked && e.schema === table.schema && e.table === table.table && rowKey(e.newKey) === want);
  }

  /**
   * Calls `add` with each row (`schema.table`, row key) that `change` changes or points at through a
   * declared or configured foreign key onto a primary key, and each unique value (its
   * uniqueHoldTable name, folded value) it points at through one onto another unique key, of the
   * tables whose rules may delete a blocker: the rows delete-blocking must leave to a lost change
   * that still comes (noteWindow, LaterNeeds). The keys are the change's as given (rewritten or as
   * logged), a character key folded by its collation (TableState.foldedKeyOf), as the server finds
   * the row by it.
   */
  neededRows(change: RowChange, add: (table: string, key: string) => void): void {
    const table = this.#catalog.get(change.table.schema, change.table.table);
    if (table === undefined) return;
    // Only rows of tables whose rules may delete a blocker are noted: nothing else asks, and
    // the default rules never do (no cost on the hot path).
    if (table.primaryKey !== null && this.#mayDeleteBlockers(table)) {
      const state = this.state(table);
      for (const image of [change.before, change.after]) {
        const pk = image === null ? null : state.foldedKeyOf(image);
        if (pk !== null) add(`${table.schema}.${table.table}`, pk);
      }
    }
    if (change.after !== null) for (const [parent, key] of heldParents(this.#catalog, table, change.after, (t) => this.#mayDeleteBlockers(t), (t) => this.state(t))) add(parent, key);
    // An update whose after image leaves out a reference's columns (MINIMAL logs the key and the
    // columns set) keeps the parent its row has, which no image names: the row itself is noted, and
    // delete-blocking asks after it among the blocker's children (#keptChildren).
    if (change.op !== 'update' || change.after === null || change.before === null || table.primaryKey === null || table.foreignKeys.length === 0) return;
    const after = change.after;
    let key: string | null | undefined;
    for (const fk of table.foreignKeys) {
      const parent = this.#catalog.get(fk.refSchema, fk.refTable);
      if (parent === undefined || parent.primaryKey === null || !this.#mayDeleteBlockers(parent)) continue;
      const state = this.state(table);
      if (!fk.columns.some((col) => after[state.position(col)] === undefined)) continue;
      if (key === undefined) key = state.foldedKeyOf(change.before);
      if (key !== null) add(keptReferenceTable(state.qualified, fk.name), key);
    }
  }

  /**
   * Per table (`schema.table`): the columns some update's or delete's before image did not log
   * (binlog_row_image MINIMAL or NOBLOB), which those changes were therefore not compared on; the
   * report says so. A set per table: a window decided again adds nothing.
   */
  unloggedColumns(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.#unlogged;
  }

  /** Notes the columns `before` did not log (a hole in the image: absent, never NULL). */
  #noteUnlogged(qualified: string, table: TableSchema, before: RowImage): void {
    const columns = table.columns;
    for (let i = 0; i < columns.length; i++) {
      if (before[i] !== undefined) continue;
      let set = this.#unlogged.get(qualified);
      if (set === undefined) this.#unlogged.set(qualified, (set = new Set()));
      set.add((columns[i] as (typeof columns)[number]).name);
    }
  }

  /** Whether the rules of some table of the catalog may delete a blocker: only then is the lost range read for LaterNeeds. */
  deletesBlockers(): boolean {
    return this.#catalog.tables.some((t) => this.deletesBlockersOf(t));
  }

  /**
   * The rows the whole lost range's changes need (read before the first window): delete-blocking
   * leaves a row a change after the one it decides needs, in a later window as in this one.
   * Without it (--follow) only the window's own changes protect a row.
   */
  useLaterNeeds(needs: LaterNeeds | null): void {
    this.#laterNeeds = needs;
  }

  /**
   * A lost change of the range other than change `ctx.index` of `ctx.tx` that needs the row `key`
   * of `name` (LaterNeeds), described for a reason: a later one, else an earlier one — whether the
   * window holds it or not, so the decision does not depend on the window size. Undefined when none.
   */
  #otherNeed(name: string, key: string, ctx: Ctx): string | undefined {
    const needs = this.#laterNeeds;
    if (needs === null) return undefined;
    const later = needs.after(name, key, ctx.tx, ctx.index);
    if (later !== undefined) return `a later lost change (${later})`;
    const earlier = needs.before(name, key, ctx.tx, ctx.index);
    return earlier === undefined ? undefined : `an earlier lost change (${earlier})`;
  }

  /**
   * The rows delete-blocking may delete for this window, and their children, that an earlier run's
   * lost changes wrote (its ledger; pipeline/salvage.ts), each with the change described ("an
   * earlier run's lost change (…)"; following, this run's earlier windows too): delete-blocking
   * leaves them, as the run over the whole range leaves what its earlier changes need. Replaces the
   * previous window's.
   */
  noteEarlierRunWrites(writes: ReadonlyMap<string, ReadonlyMap<string, string>>): void {
    this.#earlierRunWrites = writes;
  }

  /** Whether `table`'s rules may carry out delete-blocking (itself, or through a custom function): what collectBlockerRows asks. */
  deletesBlockersOf(table: TableSchema): boolean {
    return table.primaryKey !== null && this.#mayDeleteBlockers(table);
  }

  /**
   * The most child rows a blocker of `table` may have and still be deleted (the larger
   * `maxChildren` of its rules; unbounded through a custom function): a holder with more is refused
   * whatever the ledger says, so collectBlockerRows asks it about none of them.
   */
  blockerChildCap(table: TableSchema): number {
    let cap = 0;
    for (const klass of ['insert-unique-taken', 'update-unique-taken'] as const) {
      const s = this.#rules.forClass(table, klass).strategy;
      if (s.strategy === 'custom') return Infinity;
      if (s.strategy === 'delete-blocking') cap = Math.max(cap, s.maxChildren);
    }
    return cap;
  }

  /** Whether `table`'s rules may carry out delete-blocking (itself, or through a custom function). */
  #mayDeleteBlockers(table: TableSchema): boolean {
    let may = this.#deletesBlockers.get(table);
    if (may === undefined) {
      const name = (klass: 'insert-unique-taken' | 'update-unique-taken'): string => this.#rules.forClass(table, klass).strategy.strategy;
      may = ['delete-blocking', 'custom'].includes(name('insert-unique-taken')) || ['delete-blocking', 'custom'].includes(name('update-unique-taken'));
      this.#deletesBlockers.set(table, may);
    }
    return may;
  }

  /**
   * A point to roll back to (a window the DR rejects, or one escalation's `stop` cuts, is decided
   * again): key map, quarantine index, key floors and the overlay's decisions. Taking it accepts
   * everything decided before it: an older mark can no longer be rolled back to. `readAgain`: the
   * caller reads the window's rows afresh after a rollback (apply: they were read, and locked, in
   * the DR transaction it rolled back), so the rollback forgets the overlay rather than restores
   * it, and the journal need not outlive each transaction.
   */
  mark(options: { readonly readAgain?: boolean } = {}): ReconcilerMark {
    const readAgain = options.readAgain === true;
    // The journals hold what was decided since the last mark, as plan keeps its overlay across
    // windows; what an earlier window decided stands now, so its journal goes (no copy of the overlay).
    for (const s of this.#states.values()) s.commitJournal();
    this.#keepJournals = !readAgain;
    return { keyMap: this.#keyMap.mark(), quarantine: this.#quarantine.mark(), floors: new Map(this.#floors), serial: ++this.#markSerial, readAgain };
  }

  /**
   * Restores the state at `mark` (the latest): undoes every remap, hold and key reservation since,
   * and the overlay's decisions — restored to the mark, rows read since staying known as read, or,
   * for a mark taken with `readAgain`, forgotten with every row.
   */
  rollbackTo(mark: ReconcilerMark): void {
    if (mark.serial !== this.#markSerial) throw new EngineError(ReconcilerErrorCode.StaleMark, `internal: rollback to reconciler mark ${mark.serial}, but mark ${this.#markSerial} was taken after it`, { mark: mark.serial, latest: this.#markSerial });
    this.#keyMap.rollbackTo(mark.keyMap);
    this.#quarantine.rollbackTo(mark.quarantine);
    this.#restoreFloors(mark.floors);
    if (mark.readAgain) this.clearStates();
    // Every journal starts at the mark (mark() let go of what came before; a state made since starts empty).
    else for (const s of this.#states.values()) s.rollbackTo(0);
  }

  /** After a transaction: its journal entries go, unless a mark keeps them for a rollback of the window. */
  #acceptJournals(): void {
    if (!this.#keepJournals) for (const s of this.#states.values()) s.commitJournal();
  }

  #restoreFloors(floors: ReadonlyMap<TableSchema, bigint>): void {
    this.#floors.clear();
    for (const [t, f] of floors) this.#floors.set(t, f);
  }

  /** Decides one source transaction; its decisions stand in the overlay for the ones after it. */
  decide(tx: Transaction): TransactionResult {
    const marks = new Map<TableState, number>();
    for (const s of this.#states.values()) marks.set(s, s.mark());
    const keyMark = this.#keyMap.mark();
    // A remap of a transaction held back whole gives its id back, so a run decided in other windows
    // or resumed after a crash hands out the same ids.
    const floors = new Map(this.#floors);
    const pending: Pending[] = [];
    const writes: WriteOp[] = [];
    // What each held decision holds, kept for its result (made only when something is held).
    let held: Map<Pending, [string, string][]> | null = null;
    tx.changes.forEach((change, index) => {
      const p = this.#withOrigin(atChange(tx, index, () => this.#decideChange(tx, change, index, writes)), change);
      // Held back at once, so later changes of the same transaction that depend on it see it
      // (a window the DR rejects rolls the index back with everything else).
      if (p.decision.outcome === 'quarantined' || p.hold === true) (held ??= new Map()).set(p, this.#holdRow(p, change, changeLabel(tx, index)));
      if (p.hold === true && p.decision.outcome !== 'quarantined') this.#quarantine.markSkipped(changeLabel(tx, index));
      pending.push(p);
    });
    const ddl = ddlStatements(tx);
    if (tx.commit === 'ddl') {
      // The run only gets here for DDL when the user chose to skip it (the pipeline stops on DDL otherwise).
      const decisions = tx.statements.map((st, i): ChangeDecision => ({
        tx,
        index: tx.changes.length + i,
        change: null,
        table: statementTable(st.sql, st.schema),
        op: 'sql',
        sourceKey: null,
        class: 'ddl',
        outcome: 'skipped',
        newKey: null,
        reason: 'DDL left out (--ddl skip): apply it to the DR by hand if it is needed',
        drRow: null,
        conflicts: [],
        withoutHistory: this.#history === null,
        // Every output of a statement's text (ledger, quarantine, reports, explain) takes it from
        // here: an account statement's password or hash goes no further.
        sql: redactSecrets(st.sql),
      }));
      return { tx, decisions, writes: [], remaps: [] };
    }
    tx.statements.forEach((st, i) => {
      // A DDL statement among rows (CREATE TABLE … SELECT): skipped as DDL is (--ddl skip; the
      // pipeline stops on it otherwise), and its rows are merged as any others.
      const isDdl = ddl.includes(st);
      pending.push({
        decision: {
          tx,
          index: tx.changes.length + i,
          change: null,
          table: statementTable(st.sql, st.schema),
          op: 'sql',
          sourceKey: null,
          class: isDdl ? 'ddl' : 'statement-based',
          outcome: isDdl ? 'skipped' : 'quarantined',
          newKey: null,
          reason: isDdl ? 'DDL left out (--ddl skip): apply it to the DR by hand if it is needed' : 'statement-based DML (logged as SQL text) cannot be merged row by row',
          drRow: null,
          conflicts: [],
          withoutHistory: this.#history === null,
          sql: redactSecrets(st.sql),
        },
        sourcePk: null,
      });
    });
    const quarantined = pending.find((p) => p.decision.outcome === 'quarantined');
    if (quarantined !== undefined && this.#whole) {
      // Kept whole: undo the transaction's overlay and remaps, and hold all of it back.
      for (const [s, m] of marks) s.rollbackTo(m);
      for (const s of this.#states.values()) if (!marks.has(s)) s.rollbackTo(0);
      this.#keyMap.rollbackTo(keyMark);
      this.#restoreFloors(floors);
      const why = `kept whole with ${changeLabel(tx, quarantined.decision.index)} (${quarantined.decision.class})`;
      const decisions = pending.map((p): ChangeDecision => {
        const d = p.decision;
        const change = tx.changes[d.index];
        const holds = held?.get(p) ?? this.#holdRow(p, change, changeLabel(tx, d.index));
        if (d.outcome === 'quarantined') return { ...d, holds };
        return { ...d, holds, outcome: 'quarantined', newKey: d.outcome === 'remapped' ? null : d.newKey, reason: why, class: d.class === 'clean' || d.class === 'already-applied' ? 'transaction-quarantined' : d.class, origin: changeLabel(tx, quarantined.decision.index) };
      });
      this.#acceptJournals();
      return { tx, decisions, writes: [], remaps: [] };
    }
    const decisions = pending.map((p): ChangeDecision => {
      if (p.decision.outcome !== 'quarantined') return p.hold === true ? { ...p.decision, heldSkip: true } : p.decision;
      return { ...p.decision, holds: held?.get(p) ?? this.#holdRow(p, tx.changes[p.decision.index], changeLabel(tx, p.decision.index)) };
    });
    this.#acceptJournals();
    const remaps = this.#keyMap.mark() === keyMark ? NO_REMAPS : this.#keyMap.since(keyMark).map((e) => ({ table: `${e.schema}.${e.table}`, oldKey: e.oldKey, newKey: e.newKey, ...(e.linked ? { linked: true as const } : {}) }));
    return { tx, decisions, writes, remaps };
  }

  /**
   * Holds back the source row of a quarantined (or skipped) decision: by its primary key, and by
   * each of its unique values that a foreign key references (children naming it by that value wait
   * with it, rather than meet a DR record that holds the same value). Returns what it holds, as the
   * quarantine records it (`holds`), so a later run holds the same. The parents the row points at
   * are held too (#holdParents), read from the same row: a MINIMAL update that keeps its foreign key
   * logs no value for it, yet still points where the row did.
   */
  #holdRow(p: Pending, change: RowChange | undefined, label: string): [string, string][] {
    const holds: [string, string][] = p.sourcePk === null ? [] : [[p.decision.table, p.sourcePk]];
    const image = change?.after ?? null;
    if (change !== undefined && image !== null) {
      const table = this.#catalog.get(change.table.schema, change.table.table);
      if (table !== undefined) {
        const state = this.state(table);
        // An update that moves its row: the row's later changes, and children pointing at it, name
        // its new key (as the binlog logged it), where the DR may hold another record.
        const moved = change.op === 'update' && p.sourcePk !== null ? state.keyOf(image) : null;
        if (moved !== null && moved !== p.sourcePk) holds.push([p.decision.table, moved]);
        const keys = this.#referencedUniqueKeys(table);
        const row = keys.length > 0 || table.foreignKeys.length > 0 ? this.#heldRow(table, state, p, change, image, moved) : image;
        for (const uk of keys) {
          const k = state.indexKeyOf(`uk:${uk.name}`, row);
          if (k !== null) holds.push([uniqueHoldTable(p.decision.table, uk.name), k]);
        }
        this.#holdParents(table, row, label);
      }
    }
    for (const [t, k] of holds) this.#quarantine.add(t, k, label);
    return holds;
  }

  /**
   * The row a held change leaves on the source, as far as it is known: the values its children name
   * it by (a table whose unique values foreign keys reference), and the parents it points at (a
   * table with foreign keys: #holdParents). Its after image, where that
   * is whole (FULL). An insert's columns left out (MINIMAL logs those the INSERT named) are the DR's
   * known defaults (insertedRow). An update's left out (MINIMAL logs the key and the columns set)
   * are the row's own: as the row's earlier held changes left it (the DR never saw those), else the
   * DR row at its key the window read, over its earlier changes — what a one-transaction window
   * reads. A part none of these gives stays unknown, and that key's value is not held (never
   * guessed). Recorded for the row's later held changes (QuarantineIndex.setHeldImage).
   */
  #heldRow(table: TableSchema, state: TableState, p: Pending, change: RowChange, after: RowImage, moved: string | null): RowImage {
    // A held insert's row is the lost one, not the DR record that may sit at its key: kept for its later changes too.
    let row = change.op === 'insert' ? insertedRow(table, after) : after;
    if (change.op === 'update' && table.primaryKey !== null && (after.length < table.columns.length || after.includes(undefined))) {
      const base = this.#heldBase(state, p, change);
      // By index, not Array#map: an image built elsewhere may have holes, which map skips.
      if (base !== null) row = Array.from({ length: table.columns.length }, (_, i) => (after[i] === undefined ? base[i] : after[i]));
    }
    if (p.sourcePk !== null && table.primaryKey !== null) {
      this.#quarantine.setHeldImage(p.decision.table, p.sourcePk, row);
      if (moved !== null && moved !== p.sourcePk) this.#quarantine.setHeldImage(p.decision.table, moved, row);
    }
    return row;
  }

  /**
   * The row a held update meets: as the row's earlier held changes left it (this run's, else an
   * earlier run's over the DR row they met), else the DR row the window knows at its key (through
   * the key map), else null. A column neither gives stays absent.
   */
  #heldBase(state: TableState, p: Pending, change: RowChange): RowImage | null {
    const held = p.sourcePk === null ? undefined : this.#quarantine.heldImage(p.decision.table, p.sourcePk);
    if (held !== undefined) return held;
    const rewritten = this.#keyMap.size === 0 ? change : (applyRemaps([change], this.#keyMap, this.#catalog).changes[0] as RowChange);
    const key = rewritten.before === null ? null : state.keyOf(rewritten.before);
    const dr = key !== null && state.knows(key) ? state.keyHolder(key) : null;
    const earlier = p.sourcePk === null ? undefined : this.#quarantine.earlierHeld(p.decision.table, p.sourcePk);
    if (earlier === undefined) return dr;
    // A row moved by an earlier run's held update: the DR row its first held update met, where read.
    const base = earlier.base === p.sourcePk ? dr : state.knows(earlier.base) ? state.keyHolder(earlier.base) : null;
    return Array.from({ length: state.schema.columns.length }, (_, i) => (earlier.image[i] === undefined ? base?.[i] : earlier.image[i]));
  }

  /** The unique keys of `table` (not its primary key) that some foreign key of the catalog references. */
  #referencedUniqueKeys(table: TableSchema): readonly UniqueKey[] {
    let found = this.#referenced.get(table);
    if (found === undefined) {
      found = referencedUniqueKeys(this.#catalog, table);
      this.#referenced.set(table, found);
    }
    return found;
  }

  /** #holdParents of every change's after image in `tx`, held back outside decide (a transaction the DR rejected). */
  holdParentsOf(tx: Transaction): void {
    tx.changes.forEach((change, index) => {
      const table = this.#catalog.get(change.table.schema, change.table.table);
      if (change.after !== null && table !== undefined) this.#holdParents(table, change.after, changeLabel(tx, index));
    });
  }

  /**
   * Records the parents a held change's row points at (declared and configured foreign keys onto a
   * primary key or another unique key: heldParents), as the binlog logged them or, for a column it
   * left out, as the row had it (#heldRow): delete-blocking then leaves those DR rows alone, or the
   * change, once resolved, would point at nothing. A value remapped since names the source's row,
   * not the DR's: refusing a delete on it only quarantines more, never less.
   */
  #holdParents(table: TableSchema, row: RowImage, origin: string): void {
    for (const [parent, key] of heldParents(this.#catalog, table, row, undefined, (t) => this.state(t))) this.#quarantine.addParent(parent, key, origin);
  }

  #decideChange(tx: Transaction, original: RowChange, index: number, writes: WriteOp[]): Pending {
    const t = original.table;
    const table = this.#catalog.get(t.schema, t.table);
    if (table === undefined) {
      const qualified = `${t.schema}.${t.table}`;
      throw new EngineError(ReconcilerErrorCode.UnknownTable, `the lost change at ${changeLabel(tx, index)} writes ${qualified}, which the DR does not have`, { table: qualified, file: tx.file, offset: original.eventOffset });
    }
    const state = this.state(table);
    const qualified = state.qualified;
    // An empty key map rewrites nothing (most runs remap nothing): no copy of the change to find that out.
    const change = this.#keyMap.size === 0 ? original : (applyRemaps([original], this.#keyMap, this.#catalog).changes[0] as RowChange);
    const sourceImage = original.op === 'insert' ? original.after : original.before;
    const sourceKey = sourceImage === null || !state.hasPrimaryKey ? null : state.keyValues(sourceImage);
    // Held rows are source identities: a remapped row's new key may equal another source row's id.
    // A keyless table's row is its value: it is held by its image (the before image of an update or
    // delete, an insert's row), so a later change of a row quarantined here follows it.
    const sourcePk = sourceKey !== null ? rowKey(sourceKey) : state.keyless === null || sourceImage === null ? null : imageKey(sourceImage);
    const image = change.op === 'insert' ? change.after : change.before;
    // The image the key map left as it was has the source key: computed once for both.
    const drKeyValues = image === sourceImage ? sourceKey : image === null || !state.hasPrimaryKey ? null : state.keyValues(image);
    const drKey = drKeyValues === null ? null : drKeyValues === sourceKey ? sourcePk : rowKey(drKeyValues);
    const movedKey = drKeyValues !== null && sourceKey !== null && sourcePk !== drKey ? drKeyValues : null;
    // Without a history every decision is made without it; with one, a classified change says
    // whether the history spoke for its key (set below), one held back before that says the run had it.
    let withoutHistory = this.#history === null;
    // The rule that decides, named in each decision as it is made (set below): copying every
    // decision afterwards to add it cost ≈ 0.3 s of a 200k-change run. A strategy that hands on to
    // another rule (custom, a remap that meets a unique holder) records the path it took over it.
    let rulePath: string | undefined;
    // Every decision is one object literal of one shape (the fields in this order): spreading a
    // shared base and the extras into each cost ≈ 1 s of a 200k-change bench:apply run.
    const quarantine = (cls: ChangeClass, reason: string, drRow: RowImage | null = null): Pending => ({
      decision: { tx, index, change: original, table: qualified, op: original.op, sourceKey, newKey: movedKey, drRow, conflicts: NO_CONFLICTS, withoutHistory, class: cls, outcome: 'quarantined', reason, rulePath },
      sourcePk,
    });
    const done = (cls: ChangeClass, outcome: Outcome, reason: string | null, drRow: RowImage | null, extra?: DecisionExtra): Pending => ({
      decision: {
        tx,
        index,
        change: original,
        table: qualified,
        op: original.op,
        sourceKey,
        newKey: extra?.newKey !== undefined ? extra.newKey : movedKey,
        drRow,
        conflicts: extra?.conflicts !== undefined ? extra.conflicts : NO_CONFLICTS,
        withoutHistory,
        class: cls,
        outcome,
        reason,
        rulePath,
      },
      sourcePk,
    });

    if (this.#suspended.has(qualified)) return quarantine('table-suspended', `${qualified} is suspended: its quarantine passed escalation.maxQuarantined`);
    // Depends on a quarantined row: the row itself, or a parent through a foreign key. A keyless
    // insert adds a row whatever rows equal it (it cannot collide): nothing holds it.
    const heldBy = sourcePk === null || (state.keyless !== null && change.op === 'insert') ? undefined : this.#quarantine.origin(qualified, sourcePk);
    if (heldBy !== undefined) {
      // A row whose insert a rule skipped: the DR's record at its key is another one (resolve refuses to write it).
      const why = this.#quarantine.skipped(heldBy) ? `an earlier change of this row was skipped (${heldBy}): the lost row was never written` : `an earlier change of this row is quarantined (${heldBy})`;
      return quarantine('row-quarantined', why);
    }
    if (change.after !== null) {
      const missing = this.#missingParent(table, state, change, original);
      if (missing !== null) {
        const rule = this.#rules.forClass(table, 'parent-missing');
        rulePath = rule.path;
        // The DR row the change met, recorded so that resolve refuses the entry once the DR changes it.
        const met = drKey !== null && state.knows(drKey) ? state.keyHolder(drKey) : null;
        const p = rule.strategy.strategy === 'skip' ? { ...done('parent-missing', 'skipped', `${missing}: skipped (${rule.path})`, null), hold: change.op === 'insert' } : rule.strategy.strategy === 'fail' ? this.#fail(rule, qualified, sourceKey, missing) : quarantine('parent-missing', missing, met);
        return withRule(p, rule);
      }
    }

    if (state.keyless !== null && change.op !== 'insert') {
      // Matched by image, never by a history (the DR's binlog is read by key).
      withoutHistory = true;
      const unmatchable = this.#unmatchable.get(table);
      if (unmatchable !== undefined) return quarantine('no-key', `${qualified} has no primary key and its rows cannot be read back exactly (${unmatchable}): its ${change.op}s are not matched by image`);
      const m = this.#matchKeyless(table, state.keyless, change);
      if (m.kind === 'held') return quarantine('no-key', m.why);
      if (change.before !== null) this.#noteUnlogged(qualified, table, change.before);
      const rule = this.#rules.forClass(table, m.c.class);
      rulePath = rule.path;
      return withRule(this.#carryOutKeyless({ table, keyless: state.keyless, change, m, done, quarantine, writes, qualified, at: changeLabel(tx, index) }, rule), rule);
    }

    // The DR row at the change's key: the one holding it as it is, else the one its collation equates
    // (`b` met as `B` under a _ci key: the window's read of `b` returned `B`, and the server confirmed
    // it, salvage.ts #aliasKeyMatches), as the server and replication find a row by its key. An insert
    // of `b` used to meet no row there, be classed clean and be rejected by the DR (dr-rejected,
    // whatever the rule); it is an insert at a taken key now, and the row's later changes meet `B` too.
    // The key is compared exactly all the same (classify.ts): `B` is not the lost row's `b`, so such
    // an insert is never already-applied, whatever its other columns hold.
    const exactRow = drKey === null ? null : state.row(drKey);
    const aliasKey = exactRow === null && drKey !== null ? state.keyAlias(drKey) : null;
    const drRowByPk = aliasKey === null ? exactRow : state.row(aliasKey);
    // An update's unique keys are checked on the row it writes: a part its after image leaves out
    // (MINIMAL logs the key and the columns set) or an ignored one it did not change keeps the DR
    // row's value, so UPDATE … SET label = 'blue' of (red, q) moves the row onto (blue, q).
    const ignored = this.#rules.ignored(table);
    const needing = change.op === 'update' && change.after !== null && drRowByPk !== null && table.uniqueKeys.length > 0 ? keysNeedingDrRow(table, (col) => state.position(col), change.before, change.after, ignored) : NO_KEYS;
    const written = needing.length === 0 ? null : writtenRow(table, change.before, change.after as RowImage, drRowByPk as RowImage, ignored);
    // An insert's unique values take a column it leaves out (MINIMAL) at the DR's known default: the
    // value the DR refuses a second row of (insertedRow).
    const inserted = change.op === 'insert' && change.after !== null ? insertedRow(table, change.after) : null;
    const newRow = written ?? (inserted !== change.after ? inserted : null);
    const drRowsByUnique = uniqueRowsOf(table, state, newRow ?? change.after);
    // Keys both sides generate (AUTO_INCREMENT, or UUIDs when the configuration says so): a differing
    // row at the same key is another record, not the same one changed.
    const pkIsAutoIncrement =
      (table.autoIncrement !== null && table.primaryKey?.length === 1 && table.primaryKey[0] === table.autoIncrement.column) || this.#rules.tableRules(table).keyAllocation.kind === 'uuid-v7';
    // The history knows DR keys: a change that follows a remap is looked up at the key it now has.
    // A key a remap moved the row to was handed out above everything the DR holds or held: the
    // history has nothing there (and the window did not prepare it). A row met under the collation
    // only is looked up at its own key (`B`: the DR logged it so; the window prepared it).
    const h = this.#history;
    const history =
      h === null || drKey === null ? null : { row: movedKey === null && !this.#keyMap.isLinkedInPlace(t.schema, t.table, drKeyValues ?? []) ? h.row(qualified, aliasKey ?? drKey) : undefined, complete: h.complete && !h.untracked.has(qualified) };
    // An update that moves its row: the DR row at the new key (the window read it, collectReads), or
    // the one holding it under the key's collation (`b` moved onto `B` under a _ci collation: the
    // window's read found it, salvage.ts #aliasKeyMatches). One the window did not read is left to
    // the DR's rejection, as before.
    const newPk = change.op === 'update' && change.after !== null && drKey !== null ? state.keyOf(change.after) : null;
    const drRowAtNewPk = newPk !== null && newPk !== drKey && state.knows(newPk) ? state.keyHolder(newPk) : null;
    // Whether the record there is another one whatever its values (a move the DR holds already is
    // already-applied, classify.ts): the DR's own (its history, prepared for the new key too), or
    // one this engine put another lost row's identity on.
    const newPkIsOtherRecord =
      drRowAtNewPk !== null &&
      newPk !== null &&
      change.after !== null &&
      (this.#keyMap.isTarget(t.schema, t.table, state.keyValues(change.after) ?? []) || h?.row(qualified, newPk)?.insertedByDr === true);
    let c = classifyChange({ change, schema: table, drRowByPk, drRowAtNewPk, newPkIsOtherRecord, drRowsByUnique, pkIsAutoIncrement, ignore: ignored, compareKeysOnly: this.#rules.config.compare === 'keys', history, ...(newRow === null ? {} : { newRow }) });
    withoutHistory = c.withoutHistory;
    if (change.before !== null) this.#noteUnlogged(qualified, table, change.before);
    // A lost insert that meets a row this engine re-keyed onto its id meets a different source record
    // (one the key map moved there), whatever the values: never "already applied", never merged into it.
    if (change.op === 'insert' && movedKey === null && drRowByPk !== null && pkIsAutoIncrement && drKeyValues !== null && this.#keyMap.isTarget(t.schema, t.table, drKeyValues)) {
      c = { ...c, class: 'insert-pk-taken', drRow: drRowByPk };
    }

    // The value such an update writes, where no holder was found: read by the window's second round
    // (collectWrittenRowReads), else unknown — a part neither image nor the DR row gives (a column the
    // window's own insert left to the DR's default), or a value the window did not foresee. Held then,
    // never written onto a value the DR may refuse (its rule cannot decide what is not known).
    if (written !== null && (c.class === 'clean' || c.class === 'update-diverged')) {
      const unread = unreadWrittenValue(table, state, needing, written);
      if (unread !== null) return quarantine(c.class, unread, drRowByPk);
    }

    const rule = this.#rules.forClass(table, c.class);
    rulePath = rule.path;
    // A keyless insert whose unique value a DR row holds: the strategies that act on the holder (or
    // ask a custom function that may pick one) need its identity, which such a row does not give.
    if (state.keyless !== null && c.class === 'insert-unique-taken' && !KEYLESS_UNIQUE_STRATEGIES.has(rule.strategy.strategy)) {
      return withRule(quarantine(c.class, `${rule.strategy.strategy}: needs a row's identity, which a table without a primary key does not give (${rule.path})`, c.uniqueHolder), rule);
    }
    const ctx: Ctx = { table, state, change, c, done, quarantine, writes, qualified, sourceKey, rule, tx, index };
    return withRule(this.#carryOut(ctx), rule);
  }

  /**
   * An update or delete of a table without a primary key, matched the way replication matches it
   * (DESIGN.md "Conflict taxonomy"): the DR row equal to its before image on every compared logged
   * column, over the window's own earlier changes (KeylessRows), classified. Held (`no-key`) when
   * the write by that image could reach rows that differ (KeylessRows.match), when its image logs
   * nothing to find a row by, or when other tables point at the table (the cascade guard reads
   * children by a parent's key, which such a row does not have).
   */
  #matchKeyless(table: TableSchema, keyless: KeylessRows, change: RowChange): { readonly kind: 'held'; readonly why: string } | { readonly kind: 'matched'; readonly c: Classification; readonly probe: RowImage; readonly near: number } {
    const probe = keyless.probe(change.before as RowImage);
    if (!probe.some((v) => v !== undefined)) return { kind: 'held', why: `${table.schema}.${table.table} has no primary key, and this ${change.op}'s before image logs no compared column to find its row by` };
    const refs = this.#catalog.referencing(table.schema, table.table);
    if (refs.length > 0) {
      const names = refs.map((r) => `${r.schema}.${r.table} (${r.foreignKey.name})`).join(', ');
      return { kind: 'held', why: `${table.schema}.${table.table} has no primary key and ${names} point at it: the cascade guard cannot find the rows pointing at a row without a key` };
    }
    const m = keyless.match(probe);
    if (m.kind === 'ambiguous') return { kind: 'held', why: `${table.schema}.${table.table} has no primary key: ${m.why}` };
    // Its unique values as any table's (a UNIQUE key over nullable columns: no identity, still
    // unique): a move onto a value another DR row holds is update-unique-taken, not the DR's rejection.
    // Checked on the row the update makes, not its after image: a column the image leaves out
    // (FULL_NODUP logs only those an update sets), or an ignored one it did not change, keeps the
    // matched row's value, which may complete a key's value the after image alone leaves unknown.
    const state = this.state(table);
    const after = change.after;
    const ignored = this.#rules.ignored(table);
    const newRow = after === null || m.kind !== 'one' || (ignored.size === 0 && !after.includes(undefined)) ? null : writtenRow(table, change.before, after, m.row, ignored);
    if (newRow !== null && after !== null) {
      const unread = unreadUniqueValue(table, state, change.before as RowImage, after, newRow);
      if (unread !== null) return { kind: 'held', why: `${table.schema}.${table.table} has no primary key, and this update keeps the row's own ${unread.columns.join(', ')} of unique key ${unread.key}, which its images do not give: the value it moves the row to was not read, so whether another DR row holds it is unknown` };
    }
    const drRowsByUnique = uniqueRowsOf(table, state, newRow ?? after);
    const c = classifyChange({ change, schema: table, drRowByPk: null, drRowsByUnique, pkIsAutoIncrement: false, drRowsByImage: m.kind === 'one' ? [m.row] : NO_IMAGES, ignore: ignored, ...(newRow === null ? {} : { newRow }) });
    return { kind: 'matched', c, probe, near: m.kind === 'none' ? m.near : 0 };
  }

  /**
   * The rule for a keyless change: `apply` writes a clean one by its image (`… LIMIT 1`: any of the
   * equal rows, all the same value) and moves one copy in the overlay; `skip`, `quarantine` and
   * `fail` as for any change; `custom` asks its function and carries out what it picks as if the
   * configuration had named it (#keylessCustom); other strategies need a row's identity and hold it.
   */
  #carryOutKeyless(k: KeylessCase, rule: Rule): Pending {
    const { table, keyless, change, m, done, quarantine, writes, qualified } = k;
    const { c, probe } = m;
    const s = rule.strategy.strategy;
    const by = `(${rule.path})`;
    if (s === 'custom') return this.#keylessCustom(k, rule);
    if (s === 'fail') return this.#fail(rule, qualified, null, c.class);
    if (s === 'skip') return done(c.class, 'skipped', c.class === 'already-applied' ? 'already on the DR' : `the DR keeps its rows ${by}`, c.drRow);
    if (s === 'quarantine') {
      if (c.class === 'update-missing' || c.class === 'delete-missing') {
        const near = m.near > 0 ? `; ${m.near} row value(s) the server takes as equal differ from it` : '';
        return quarantine(c.class, `no DR row equals its before image on every logged column (the DR changed or deleted it, or never had it; the lost range's earlier changes counted)${near}`);
      }
      return quarantine(c.class, defaultReason(c), c.class === 'update-unique-taken' ? c.uniqueHolder : c.drRow);
    }
    if (s !== 'apply' || c.class !== 'clean' || c.drRow === null) return quarantine(c.class, `${s}: needs a row's identity, which a table without a primary key does not give ${by}`, c.drRow);
    const dr = c.drRow;
    if (change.op === 'delete') {
      writes.push({ kind: 'delete', table, key: NO_KEY, image: probe });
      keyless.take(dr);
      this.#keylessUnique(table, dr, 'remove');
      return done('clean', 'applied', null, dr);
    }
    let after = change.after as RowImage;
    if (hasJsonPatch(after)) {
      const patched = applyJsonPatches(table, after, dr);
      if ('reason' in patched) return quarantine('partial-json', patched.reason, dr);
      after = patched.row;
    }
    const next = writtenRow(table, change.before, after, dr, this.#rules.ignored(table));
    const changed: string[] = [];
    for (let i = 0; i < table.columns.length; i++) {
      const col = table.columns[i] as ColumnSchema;
      if (after[i] !== undefined && !col.isGenerated && !sameExactValue(next[i], dr[i], col)) changed.push(col.name);
    }
    writes.push({ kind: 'update', table, key: NO_KEY, set: setOf(table, changed, next), old: dr, image: probe });
    keyless.take(dr);
    keyless.add(next);
    this.#keylessUnique(table, dr, 'remove');
    this.#keylessUnique(table, next, 'put');
    return done('clean', 'applied', null, dr);
  }

  /**
   * Keeps a keyless table's row that holds a unique value (a key with no NULL part) in the state's
   * unique indexes, under its image, so a later change of the window meets the value as taken (an
   * insert's) or free (a delete's, a move's). Such a row has one copy at most (the key is unique on
   * the DR); a row whose every unique key holds a NULL collides with nothing and is not kept.
   * The unique-key reads load the DR's holders under the same key (TableState.load: keyOf of a
   * whole row of a keyless table is its imageKey), and put/remove share the journal with the
   * keyless overlay, so a transaction held back takes both back.
   */
  #keylessUnique(table: TableSchema, row: RowImage, op: 'put' | 'remove'): void {
    if (table.uniqueKeys.length === 0) return;
    const state = this.state(table);
    if (!table.uniqueKeys.some((uk) => state.indexKeyOf(`uk:${uk.name}`, row) !== null)) return;
    // imageKey, not keyOf: an insert's image may leave a column to its default (unlogged), which keyOf refuses.
    const key = imageKey(row);
    if (op === 'put') state.put(row, key);
    else state.remove(key);
  }

  /**
   * custom for a keyless change: the function sees it as any change's (no key; D the DR row equal to
   * its before image, if any) and picks a decision the class allows (checkCustomDecision: for the
   * classes a keyless change gets, apply, skip, quarantine or fail), carried out by #carryOutKeyless
   * as if the configuration had named it. The ledger records the path it took
   * (`tables."t.log".onConflict.clean → custom f → apply`), as #custom's.
   */
  #keylessCustom(k: KeylessCase, rule: Rule): Pending {
    const { table, change, m, qualified, at } = k;
    const { c } = m;
    const s = rule.strategy as Extract<Strategy, { strategy: 'custom' }>;
    const call: CustomCall = { name: s.name, rulePath: rule.path, table, op: change.op, keyText: '', change: at };
    const context = customContext(table, qualified, change, c, null, call);
    const decided = checkCustomDecision(callCustomStrategy(this.#rules.custom(s.name), context, call), c.class, change.after, call);
    const path = `${rule.path} → custom ${s.name} → ${decided.strategy.strategy}`;
    const p = this.#carryOutKeyless(k, { strategy: decided.strategy, path });
    const reason = decided.reason !== null ? `${decided.reason} (${path})` : p.decision.reason;
    return { ...p, decision: { ...p.decision, reason, rulePath: path } };
  }

  /** Carries out the strategy `ctx.rule` names for the classified change; records a second DR row it met beside the one the decision shows. */
  #carryOut(ctx: Ctx): Pending {
    const p = this.#strategy(ctx);
    const { drRow, uniqueHolder } = ctx.c;
    const shown = p.decision.drRow;
    const other = drRow !== null && drRow !== shown ? drRow : uniqueHolder !== null && uniqueHolder !== shown ? uniqueHolder : undefined;
    if (other === undefined || p.decision.otherRow !== undefined) return p;
    return { ...p, decision: { ...p.decision, otherRow: other } };
  }

  #strategy(given: Ctx): Pending {
    const ctx = this.#atKeyFor(given);
    const { table, state, change, c, done, quarantine, writes, qualified, sourceKey, rule } = ctx;
    const s = rule.strategy;
    const by = `(${rule.path})`;
    if (c.uniqueKey === PRIMARY_KEY && s.strategy !== 'quarantine' && s.strategy !== 'fail' && s.strategy !== 'custom') return quarantine(c.class, `${s.strategy}: ${PRIMARY_KEY_REFUSALS[s.strategy] ?? 'does not apply to a primary key'} ${by}`, c.uniqueHolder);
    switch (s.strategy) {
      case 'fail':
        return this.#fail(rule, qualified, sourceKey, `${c.class}`);
      case 'quarantine':
        // The DR row that stands in the way: the one at its key, or the holder of its unique value.
        return quarantine(c.class, defaultReason(c), c.class === 'insert-unique-taken' || c.class === 'update-unique-taken' ? c.uniqueHolder : c.drRow);
      case 'skip':
        if (c.class === 'already-applied') return done('already-applied', 'skipped', 'already on the DR', c.drRow);
        // A skipped insert leaves the DR row at its key (a different record): later changes of the source row must not reach it.
        return { ...done(c.class, 'skipped', `the DR keeps its row ${by}`, c.drRow ?? c.uniqueHolder), hold: change.op === 'insert' };
      case 'apply':
        return this.#applyClean(table, state, change, c, done, quarantine, writes, changeLabel(ctx.tx, ctx.index));
      case 'remap':
        return this.#remap(ctx);
      case 'source':
        return this.#source(ctx, `the lost change wins ${by}`);
      case 'newest':
      case 'oldest':
      case 'max':
      case 'min': {
        const winner = this.#rowWinner(ctx);
        if (winner.kind === 'conflict') return quarantine(c.class, `${s.strategy}: ${winner.why} ${by}`, c.drRow);
        if (winner.kind === 'source') return this.#source(ctx, `${s.strategy} on ${winner.column}: the lost change wins ${by}`);
        return this.#drWins(ctx, `${s.strategy} on ${winner.column}: the DR row wins ${by}`);
      }
      case 'merge':
      case 'delta':
        return this.#merge(ctx);
      case 'link':
        return this.#link(ctx);
      case 'rewrite-unique':
        return this.#rewriteUnique(ctx);
      case 'delete-blocking':
        return this.#deleteBlocking(ctx);
      case 'custom':
        return this.#custom(ctx);
    }
  }

  /**
   * custom: the configured function picks a built-in decision (custom-strategy.ts), carried out as
   * if the configuration had named it; the ledger records the path it took
   * (`tables."t.acct".onConflict.update-diverged → custom vip → source`).
   */
  #custom(ctx: Ctx): Pending {
    const { table, change, c, rule } = ctx;
    const s = rule.strategy as Extract<Strategy, { strategy: 'custom' }>;
    const call: CustomCall = { name: s.name, rulePath: rule.path, table, op: change.op, keyText: ctx.sourceKey === null ? '' : keyText(ctx.sourceKey), change: changeLabel(ctx.tx, ctx.index) };
    const context = customContext(table, ctx.qualified, change, c, canonicalKeyValues(ctx.sourceKey, table), call);
    const decided = checkCustomDecision(callCustomStrategy(this.#rules.custom(s.name), context, call), c.class, change.after, call);
    const path = `${rule.path} → custom ${s.name} → ${decided.strategy.strategy}`;
    const edited = decided.after;
    // An update's row keeps the key the binlog logged for it (its later changes name that key): an
    // edited primary key is not a move (keyedBy), as it never was.
    if (edited !== null && change.op === 'update' && change.after !== null) for (const p of ctx.state.pkPositions) edited[p] = change.after[p];
    if (edited !== null) {
      // A value the function made up (neither side held it) is checked as the engine's own are: the
      // sink's session is not strict, and would store one that does not fit clipped.
      for (let i = 0; i < table.columns.length; i++) {
        const col = table.columns[i]!;
        const v = edited[i];
        if (v === undefined || col.isGenerated || sameValue(v, change.after?.[i], col) || (c.drRow !== null && sameValue(v, c.drRow[i], col))) continue;
        const misfit = columnMisfit(v, col);
        if (misfit === null) continue;
        const q = ctx.quarantine(c.class, `custom ${s.name}: ${ctx.qualified}.${col.name} edited to ${valueText(v)}, which does not fit: ${misfit} (${path})`, c.drRow);
        return { ...q, decision: { ...q.decision, rulePath: path } };
      }
    }
    const p = this.#carryOut({ ...ctx, rule: { strategy: decided.strategy, path }, change: edited === null ? change : { ...change, after: edited } });
    let reason = p.decision.reason;
    if (decided.reason !== null) reason = `${decided.reason} (${path})`;
    else if (edited !== null && change.after !== null) {
      const cols = table.columns.filter((col, i) => !sameValue(edited[i], change.after?.[i], col)).map((col) => col.name);
      reason = `custom ${s.name} edited ${cols.length > 0 ? cols.join(', ') : 'nothing'}${reason === null ? '' : `; ${reason}`}`;
    }
    // A re-keyed insert handed on to a second rule has recorded both steps, this one first.
    const recorded = p.decision.rulePath;
    return { ...p, decision: { ...p.decision, reason, rulePath: recorded !== undefined && recorded !== null && recorded.startsWith(`${path}; `) ? recorded : path } };
  }

  /**
   * delete-blocking (opt-in): the DR rows that hold the lost row's unique values are archived, then
   * deleted, then the lost change applies, all in the window's writes (each delete carries its
   * archive note; the sink writes the archive first). Refused (quarantined, nothing written) when
   * the change would not be clean without them, when a holder is the record of a re-keyed or
   * linked lost row or waits on a quarantined change, when another lost change of the range needs
   * it or a child it would cascade to (this window's, a later or an earlier one's: the decision must
   * not depend on the window size), or an earlier run's wrote one, when the window did not read who
   * points at a holder, or when more rows point at it than `maxChildren`. Within the cap the DR's own ON
   * DELETE rules are followed (see #cascadePlan): CASCADE children are archived and deleted, SET
   * NULL children archived and nulled; RESTRICT / NO ACTION, a logical reference (the DR has no
   * rule for it: its rows would point at nothing) or a cascade that reaches further refuse.
   */
  #deleteBlocking(ctx: Ctx): Pending {
    const { table, state, change, c, done, quarantine, writes, rule } = ctx;
    const s = rule.strategy as Extract<Strategy, { strategy: 'delete-blocking' }>;
    const refuse = (why: string): Pending => quarantine(c.class, `delete-blocking: ${why}; nothing was deleted (${rule.path})`, c.uniqueHolder);
    const after = change.after;
    if (after === null || change.op === 'delete' || (c.class !== 'insert-unique-taken' && c.class !== 'update-unique-taken')) return quarantine(c.class, defaultReason(c), c.uniqueHolder ?? c.drRow);
    if (after.some((v) => v instanceof JsonPatch)) return quarantine('partial-json', 'a JSON partial update (diffs, not a document) cannot be written as a value', c.drRow);
    const self = change.op === 'update' ? c.drRow : null;
    if (change.op === 'update' && self === null) return quarantine(c.class, defaultReason(c), null);
    // Deleting a row for a change that would still have to wait helps nobody.
    const again = classifyChange({ change, schema: table, drRowByPk: self, drRowsByUnique: [], pkIsAutoIncrement: false, ignore: this.#rules.ignored(table), compareKeysOnly: this.#rules.config.compare === 'keys' });
    if (again.class !== 'clean') return refuse(`without the blocking row the change would still be ${again.class}`);
    // The row the change writes holds the key (written-row.ts): with a part an update's after image
    // leaves out (MINIMAL), or an ignored one it did not change, the DR row's value is in it; with one
    // an insert leaves out, the DR's known default.
    const written = self === null ? insertedRow(table, after) : writtenRow(table, change.before, after, self, this.#rules.ignored(table));
    const blockers = this.#blockers(table, state, written, self);
    if (blockers.length === 0) return quarantine(c.class, defaultReason(c), c.uniqueHolder);
    const plans: { key: string; row: RowImage; pk: ColumnValue[]; plan: CascadePlan | null }[] = [];
    for (const b of blockers) {
      const pk = state.keyValues(b.row);
      if (pk === null) return refuse('the blocking row has no full primary key');
      const shown = `the DR row ${ctx.qualified} ${keyText(pk)} (holds ${b.key})`;
      if (this.#keyMap.isTarget(table.schema, table.table, pk)) return refuse(`${shown} is the record of a re-keyed or linked lost row`);
      // Needs were noted by the key folded as the server compares it (neededRows, heldParents): a
      // child naming 'ABC' points at the DR's 'abc' under a _ci collation. The exact key for the rest.
      const needed = state.foldedKeyOf(b.row) ?? rowKey(pk);
      // Held rows are recorded by their keys as logged: a held change of 'ABC' waits on the DR's
      // 'abc' as well, found through the folded index (a key of numbers or bytes: as it is).
      const origin = this.#quarantine.origin(ctx.qualified, rowKey(pk)) ?? (state.foldsKey ? this.#quarantine.originFolded(ctx.qualified, needed, state) : undefined);
      if (origin !== undefined) return refuse(`${shown} waits on a quarantined lost change (${origin})`);
      const held = this.#quarantine.parentOf(ctx.qualified, needed);
      if (held !== undefined) return refuse(`${shown} is the parent of a quarantined lost change (${held}), which would point at nothing once resolved`);
      // The window's lost changes were noted by the keys they logged; a source row the window has
      // re-keyed away from this key (or linked elsewhere) is written at its new key, and so are the
      // changes that name it: they no longer point at this DR row (as one-transaction windows see).
      if (this.#windowRefs.get(ctx.qualified)?.has(needed) === true && !this.#rekeyedAway(table, state, pk, needed)) {
        return refuse(`${shown} is changed or pointed at by a lost change of this window`);
      }
      // The same across windows, earlier and later ones as the window's own: keys as logged, so a
      // row re-keyed away by then is judged as above.
      const other = this.#otherNeed(ctx.qualified, needed, ctx);
      if (other !== undefined && !this.#rekeyedAway(table, state, pk, needed)) {
        return refuse(`${shown} is changed or pointed at by ${other}`);
      }
      const wrote = this.#earlierRunWrites.get(ctx.qualified)?.get(state.keyOf(b.row) ?? '');
      if (wrote !== undefined) return refuse(`${shown} was written by ${wrote}`);
      const byValue = this.#neededByUniqueValue(ctx, b.row, written);
      if (byValue !== null) return refuse(`${shown} ${byValue}`);
      const children = this.#childrenOf(table, state, b.row);
      if (children.unread !== null) return refuse(`${shown}: ${children.unread}`);
      const kept = this.#keptChildren(ctx, table, state, b.row);
      if (kept !== null) return refuse(`${shown} ${kept}`);
      if (children.count > s.maxChildren) return refuse(`${shown} has ${children.count} child row(s): ${children.described.join('; ')}; maxChildren is ${s.maxChildren}`);
      let plan: CascadePlan | null = null;
      if (children.count > 0) {
        plan = this.#cascadePlan(table, state, b.row);
        if (plan.blocked.length > 0) return refuse(`${shown}: ${plan.blocked.join('; ')}`);
        if (plan.left.length > 0) return refuse(`${shown}: ${plan.left.join('; ')}; the DR has no ON DELETE rule for it, so they would point at nothing`);
      }
      plans.push({ key: b.key, row: b.row, pk, plan });
    }
    const marks = new Map<TableState, number>();
    for (const st of this.#states.values()) marks.set(st, st.mark());
    const label = changeLabel(ctx.tx, ctx.index);
    const start = writes.length;
    const notes: string[] = [];
    for (const { key, row, pk, plan } of plans) {
      if (plan !== null) {
        for (const d of plan.deletes) {
          writes.push({ kind: 'delete', table: d.state.schema, key: d.state.keyValues(d.row) as ColumnValue[], archive: { change: label, role: 'cascade-delete', row: d.row } });
          d.state.remove(d.pk);
        }
        for (const n of plan.nulls) {
          const next = n.row.slice();
          for (const p of n.positions) next[p] = null;
          const changed = n.positions.map((p) => n.state.schema.columns[p]?.name as string);
          writes.push({ kind: 'update', table: n.state.schema, key: n.state.keyValues(n.row) as ColumnValue[], set: setOf(n.state.schema, changed, next), old: n.row, archive: { change: label, role: 'cascade-set-null', row: n.row } });
          n.state.put(next);
        }
      }
      writes.push({ kind: 'delete', table, key: pk, archive: { change: label, role: 'blocking', row } });
      state.remove(rowKey(pk));
      notes.push(`deleted the DR row ${keyText(pk)} that held ${key} (archived${plan !== null && plan.cascaded.length > 0 ? `; ${plan.cascaded.join('; ')}, archived` : ''})`);
    }
    const p = this.#applyClean(table, state, change, again, done, quarantine, writes, label);
    if (p.decision.outcome === 'quarantined') {
      // The write itself was refused (a key change guard): nothing of this change stays.
      writes.length = start;
      for (const [st, m] of marks) st.rollbackTo(m);
      return refuse(p.decision.reason ?? 'the lost change could not be applied');
    }
    return { ...p, decision: { ...p.decision, class: c.class, reason: `${notes.join('; ')}, then applied the lost change (${rule.path})` } };
  }

  /**
   * Whether the source row whose key is the DR row `pk`'s (its folded key `needed`) was re-keyed
   * away (remap): the changes that name it follow it to its new key, so they need no DR row here.
   * Under a collation the source's key may be spelt otherwise (`'d'` re-keyed, the DR's `'D'`):
   * the source holds one row per folded key, as the DR does, so a re-keyed key folding alike is it.
   */
  #rekeyedAway(table: TableSchema, state: TableState, pk: ColumnValue[], needed: string): boolean {
    if (this.#keyMap.get(table.schema, table.table, pk) !== undefined) return true;
    if (!state.foldsKey) return false;
    for (const old of this.#keyMap.oldKeys(table.schema, table.table)) if (state.foldedKeyFromValues(old) === needed) return true;
    return false;
  }

  /**
   * Why the DR row `row` of a blocker must stay for a lost change that names it by another unique
   * key than its primary key (a foreign key onto it, declared or configured), as the primary-key
   * checks of #deleteBlocking ask for one that names its key; null when none does. Values are
   * compared folded, as the DR compares them. A value the lost row (`after`) itself takes from the
   * blocker is no need: a later change naming it names the lost row once written, as on the
   * primary (a child written before it in the window is the blocker's child, #childrenOf). A held
   * change is not excused so: it was held before the lost row took the value, and meant the row
   * that held it then.
   */
  #neededByUniqueValue(ctx: Ctx, row: RowImage, after: RowImage): string | null {
    const { table, state } = ctx;
    for (const uk of this.#referencedUniqueKeys(table)) {
      const index = `uk:${uk.name}` as const;
      const k = state.indexKeyOf(index, row);
      if (k === null) continue;
      const name = uniqueHoldTable(ctx.qualified, uk.name);
      const through = `through ${uk.name} ${keyText(uk.columns.map((col) => row[state.position(col)] as ColumnValue))}`;
      const held = this.#quarantine.parentOf(name, k);
      if (held !== undefined) return `is the parent of a quarantined lost change (${held}) ${through}, which would point at nothing once resolved`;
      // An earlier change is not excused either: it named the blocker before the lost row took the
      // value, and what it wrote points at the blocker now (the delete would cascade it away).
      const earlier = this.#laterNeeds?.before(name, k, ctx.tx, ctx.index);
      if (earlier !== undefined) return `is pointed at ${through} by an earlier lost change (${earlier})`;
      if (state.indexKeyOf(index, after) === k) continue;
      if (this.#windowRefs.get(name)?.has(k) === true) return `is pointed at ${through} by a lost change of this window`;
      const later = this.#laterNeeds?.after(name, k, ctx.tx, ctx.index);
      if (later !== undefined) return `is pointed at ${through} by a later lost change (${later})`;
    }
    return null;
  }

  /** The distinct DR rows other than `self` that hold one of `row`'s unique values (as the window knows them), with the key each holds. */
  #blockers(table: TableSchema, state: TableState, row: RowImage, self: RowImage | null): { key: string; row: RowImage }[] {
    const selfKey = self === null ? null : state.keyOf(self);
    const seen = new Set<string>();
    const out: { key: string; row: RowImage }[] = [];
    for (const uk of table.uniqueKeys) {
      const k = state.indexKeyOf(`uk:${uk.name}`, row);
      if (k === null) continue;
      for (const other of state.rowsBy(`uk:${uk.name}`, k)) {
        const pk = state.keyOf(other);
        if (pk === null || pk === selfKey || seen.has(pk)) continue;
        seen.add(pk);
        out.push({ key: uk.name, row: other });
      }
    }
    return out;
  }

  /**
   * Why a row pointing at the blocker `row` (as the window read them) must keep it: a quarantined
   * lost change waits on that child row (its resolution writes the row, still pointing here, or a
   * later run's MINIMAL update, whose held image names no parent, does), an earlier run's lost
   * change wrote it (the ledger: noteEarlierRunWrites), or a lost change of this window, a later one
   * or an earlier one updates it keeping the reference (neededRows: a MINIMAL after image names no
   * parent). Deleting the blocker would cascade the child away, or leave it pointing at nothing.
   * Null when no child is so needed. Children are found as #childrenOf finds them, by the key the
   * window read them by; the needs by the keys the changes logged, as for the blocker itself.
   */
  #keptChildren(ctx: Ctx, table: TableSchema, state: TableState, row: RowImage): string | null {
    const selfPk = state.keyOf(row);
    for (const ref of this.#catalog.referencing(table.schema, table.table)) {
      const childTable = this.#catalog.get(ref.schema, ref.table);
      if (childTable === undefined || childTable.primaryKey === null) continue;
      const child = this.state(childTable);
      const fk = ref.foreignKey;
      const k = child.indexKeyFromValues(`fk:${fk.name}`, fk.refColumns.map((col) => row[state.position(col)]));
      if (k === null) continue;
      const needs = keptReferenceTable(child.qualified, fk.name);
      // In key order: the index lists rows in the order reads loaded them, which the window size changes.
      for (const r of [...child.rowsBy(`fk:${fk.name}`, k)].sort(byPrimaryKey(child))) {
        const pk = child.keyValues(r);
        if (pk === null || (child === state && child.keyOf(r) === selfPk)) continue;
        const exact = rowKey(pk);
        const needed = child.foldedKeyOf(r) ?? exact;
        const shown = `is pointed at by ${child.qualified} ${keyText(pk)} (${fk.name}), which`;
        const origin = this.#quarantine.origin(child.qualified, exact) ?? (child.foldsKey ? this.#quarantine.originFolded(child.qualified, needed, child) : undefined);
        if (origin !== undefined) return `${shown} waits on a quarantined lost change (${origin})`;
        const wrote = this.#earlierRunWrites.get(child.qualified)?.get(child.keyOf(r) ?? '');
        if (wrote !== undefined) return `${shown} ${wrote} wrote`;
        if (this.#rekeyedAway(childTable, child, pk, needed)) continue;
        if (this.#windowRefs.get(needs)?.has(needed) === true) return `${shown} a lost change of this window updates keeping the reference`;
        const other = this.#otherNeed(needs, needed, ctx);
        if (other !== undefined) return `${shown} ${other} updates keeping the reference`;
      }
    }
    return null;
  }

  /**
   * How many rows point at `row` through declared and configured foreign keys (as the window read
   * them: window-reads.ts collectHolderChildReads), described per key; `unread` when the window
   * did not ask the DR, so "none" cannot be told from "not read".
   */
  #childrenOf(table: TableSchema, state: TableState, row: RowImage): { count: number; described: string[]; unread: string | null } {
    let count = 0;
    const described: string[] = [];
    const selfPk = state.keyOf(row);
    for (const ref of this.#catalog.referencing(table.schema, table.table)) {
      const childTable = this.#catalog.get(ref.schema, ref.table);
      if (childTable === undefined) continue;
      const child = this.state(childTable);
      const fk = ref.foreignKey;
      const name = `fk:${fk.name}` as const;
      const k = child.indexKeyFromValues(name, fk.refColumns.map((col) => row[state.position(col)]));
      if (k === null) continue;
      if (!child.requestedIndexKey(name, k)) return { count, described, unread: `the window did not read the rows of ${ref.schema}.${ref.table} that may point at it (${fk.name})` };
      const rows = child.rowsBy(name, k).filter((r) => !(child === state && child.keyOf(r) === selfPk));
      if (rows.length === 0) continue;
      count += rows.length;
      described.push(`${rows.length} of ${ref.schema}.${ref.table} (${fk.name}, ${fk.origin === 'config' ? 'a logical reference' : `ON DELETE ${fk.onDelete}`})`);
    }
    return { count, described, unread: null };
  }

  /**
   * Records the change a quarantined decision waits on, when it waits on another: the quarantined
   * earlier change of its row (row-quarantined), or of a parent (parent-missing). Called before the
   * decision's own hold is added, so the index still names the earlier one.
   */
  #withOrigin(p: Pending, original: RowChange): Pending {
    const d = p.decision;
    if (d.outcome !== 'quarantined' || d.origin !== undefined) return p;
    let origin: string | null = null;
    if (d.class === 'row-quarantined') {
      if (p.sourcePk !== null) origin = this.#quarantine.origin(d.table, p.sourcePk) ?? null;
    } else if (d.class === 'parent-missing' && original.after !== null) {
      const table = this.#catalog.get(original.table.schema, original.table.table);
      for (const fk of table?.foreignKeys ?? []) {
        const parent = this.#catalog.get(fk.refSchema, fk.refTable);
        if (table === undefined || parent === undefined || origin !== null) continue;
        // Held parents are source identities: the value the binlog logged, before any remap (as #missingParent judges it).
        const values = fk.columns.map((col) => original.after?.[table.columns.findIndex((c) => c.name === col)]);
        const pk = asPrimaryKey(parent, fk.refColumns, values);
        if (pk === null || pk.some((v) => v === undefined || v === null)) continue;
        origin = this.#quarantine.origin(`${parent.schema}.${parent.table}`, rowKey(pk)) ?? null;
      }
    }
    return { ...p, decision: { ...d, origin } };
  }

  /**
   * Whether the window must read who points at the holders of a change's unique values
   * (window-reads.ts collectHolderChildReads): delete-blocking may delete a holder, and a link makes
   * a holder the row that later changes of the lost row reach (a delete of it meets the cascade
   * guard, which must see its children); a custom strategy may choose either.
   */
  readsHolderChildren(table: TableSchema): boolean {
    const name = (klass: 'insert-pk-taken' | 'insert-unique-taken' | 'update-unique-taken'): string => this.#rules.forClass(table, klass).strategy.strategy;
    return ['delete-blocking', 'link', 'custom'].includes(name('insert-unique-taken')) || ['delete-blocking', 'custom'].includes(name('update-unique-taken')) || ['link', 'custom'].includes(name('insert-pk-taken'));
  }

  /**
   * Whether the window must read who points at the rows a lost delete's cascade reaches
   * (window-reads.ts collectCascadeChildReads): only when the cascade guard carries cascades out.
   */
  get readsCascadeChildren(): boolean {
    return this.#rules.cascadeGuard.kind !== 'forbid';
  }

  #fail(rule: Rule, table: string, key: readonly ColumnValue[] | null, what: string): never {
    throw new EngineError(ReconcilerErrorCode.RuleFail, `${table}${key === null ? '' : ` ${keyText(key)}`}: ${what} — the configuration says stop here (${rule.path})`, { table, key: key === null ? '' : keyText(key) });
  }

  /** The lost change's values win: insert where nothing is, else overwrite (or delete) the DR row. */
  #source(ctx: Ctx, reason: string): Pending {
    const { table, state, change, c, done, quarantine, writes } = ctx;
    const dr = c.drRow;
    if (change.op === 'delete') {
      if (dr === null) return done(c.class, 'skipped', 'already gone from the DR', null);
      const d = this.#guardedDelete(table, state, dr, writes, changeLabel(ctx.tx, ctx.index));
      if (d.kind === 'blocked') return quarantine(c.class, d.reason, dr);
      return done(c.class, 'applied', d.note === null ? reason : `${reason}; ${d.note}`, dr);
    }
    const after = change.after as RowImage;
    if (after.some((v) => v instanceof JsonPatch)) return quarantine('partial-json', 'a JSON partial update (diffs, not a document) cannot be written as a value', dr);
    if (dr === null) {
      if (change.op === 'update') return quarantine(c.class, defaultReason(c), null);
      const inserted = insertedRow(table, after);
      const holder = this.#uniqueHolder(table, state, inserted, null);
      if (holder !== null) return quarantine('insert-unique-taken', `another DR row already holds unique key ${holder.key}`, holder.row);
      writes.push({ kind: 'insert', table, row: after });
      state.put(inserted);
      return done(c.class, 'applied', reason, null);
    }
    // By index, not Array#map: an image built elsewhere may have holes, which map skips.
    const next: RowImage = Array.from({ length: dr.length }, (_, i) => (after[i] === undefined ? dr[i] : after[i]));
    const merged = withPrimaryKey(next, keyedBy(change, dr, state), state);
    const ruled = this.#columnRulesOver(ctx, merged, dr);
    if (!Array.isArray(ruled)) return ruled;
    const guard = this.#keyChangeGuard(table, state, dr, merged);
    if (guard !== null) return quarantine(c.class, guard, dr);
    const holder = this.#uniqueHolder(table, state, merged, dr);
    if (holder !== null) {
      const why = `the lost values take unique key ${holder.key}, held by another DR row`;
      // An insert that meets the DR row at its key is that row's change (insert-pk-same-record, or
      // insert-pk-taken overwritten by choice), never an update: held with its own class and the DR
      // row at its key, as #merge holds one (README's conflict table), so explain and resolve see
      // the insert it is.
      if (change.op === 'insert') return quarantine(c.class, why, dr);
      return quarantine('update-unique-taken', why, holder.row);
    }
    // No holder the window read is not "free": a value it never asked for (a custom function's edited
    // label over the DR row's code, which the MINIMAL image leaves to it) is held, as #merge holds one,
    // never written for the DR to refuse with the rest of its transaction.
    const unreadValue = unreadWrittenUniqueValue(table, state, dr, merged);
    if (unreadValue !== null) return quarantine(c.class, unreadValue, dr);
    // The row is written whole, foreign keys the lost change left alone included: a reference the DR
    // moved away from a parent it then deleted would be written back pointing at nothing (the
    // window runs with foreign_key_checks=0). Judged as a change from the DR row to the written one.
    const written: RowChange = { ...change, op: 'update', before: dr, after: merged };
    // A custom strategy may have edited a reference to a row the window never read: held, not guessed.
    const unread = this.#unreadParent(table, state, dr, merged);
    if (unread !== null) return quarantine('parent-missing', `the lost row written whole: ${unread}`, dr);
    const orphan = this.#missingParent(table, state, written, written);
    if (orphan !== null) return quarantine('parent-missing', `the lost row written whole: ${orphan}`, dr);
    const changed = table.columns.filter((col, i) => after[i] !== undefined && !col.isGenerated && !sameExactValue(merged[i], dr[i], col)).map((col) => col.name);
    if (changed.length > 0) {
      writes.push({ kind: 'update', table, key: state.keyValues(dr) as ColumnValue[], set: setOf(table, changed, merged), old: dr });
      this.#move(state, dr, merged);
    }
    return done(c.class, 'applied', ruled.length > 0 ? `${reason}; ${ruled.join('; ')}` : reason, dr);
  }

  /**
   * The DR row wins whole (newest/oldest/max/min chose it), but a column rule beats the table rule
   * (README "Precedence"): each column with a rule where the lost change and the DR differ takes the
   * rule's value. Nothing written when no rule changes anything (skipped), else merged.
   */
  #drWins(ctx: Ctx, reason: string): Pending {
    const { table, state, change, c, done, quarantine, writes } = ctx;
    const dr = c.drRow;
    const after = change.after;
    if (dr === null || after === null || change.op === 'delete' || after.some((v) => v instanceof JsonPatch)) return done(c.class, 'skipped', reason, dr);
    const row = dr.slice();
    const ruled = this.#columnRulesOver(ctx, row, dr);
    if (!Array.isArray(ruled)) return ruled;
    const changed = table.columns.filter((col, i) => !col.isGenerated && !sameExactValue(row[i], dr[i], col)).map((col) => col.name);
    if (changed.length === 0) return done(c.class, 'skipped', reason, dr);
    const guard = this.#keyChangeGuard(table, state, dr, row);
    if (guard !== null) return quarantine(c.class, guard, dr);
    // A column rule's lost value in the DR's row is a merged row: checked as #merge checks one, on
    // every key (the rule may take the lost value of a key of one column, which an insert at a taken
    // key never had checked).
    const clash = mergedUniqueClash(table, state, dr, row, true);
    if (clash !== null) return quarantine(c.class, clash, dr);
    writes.push({ kind: 'update', table, key: state.keyValues(dr) as ColumnValue[], set: setOf(table, changed, row), old: dr });
    this.#move(state, dr, row);
    return done(c.class, 'merged', `${reason}; ${ruled.join('; ')}`, dr);
  }

  /**
   * The `columns` rules over a row a row-level strategy built (`row`: the lost image over the DR row
   * for `source`, the DR row when it wins), changed in place: a column rule beats the table rule
   * (README "Precedence"), so each column with a rule where the lost change and the DR differ takes
   * the rule's value, as under merge. Only for the classes that meet the same record on both sides
   * (update-diverged, insert-pk-same-record); a grouped column goes with its row, as under merge; keys
   * and generated columns are never decided by a rule. Returns a note per column a rule decided, or
   * the decision that stops the change.
   */
  #columnRulesOver(ctx: Ctx, row: RowImage, dr: RowImage): string[] | Pending {
    const { table, state, change, c } = ctx;
    const after = change.after;
    const notes: string[] = [];
    if (after === null || (c.class !== 'update-diverged' && c.class !== 'insert-pk-same-record')) return notes;
    const tableRules = this.#rules.tableRules(table);
    if (tableRules.columns.size === 0) return notes;
    const grouped = new Set(tableRules.groups.flat());
    const base = change.op === 'insert' ? null : change.before;
    for (let i = 0; i < table.columns.length; i++) {
      const col = table.columns[i]!;
      const columnRule = tableRules.columns.get(col.name);
      const a = after[i];
      if (columnRule === undefined || a === undefined || col.isGenerated || state.pkPositions.includes(i) || grouped.has(col.name) || sameValue(a, dr[i], col)) continue;
      const v = this.#columnValue(ctx, col, columnRule.strategy.strategy, columnRule, base?.[i], a, dr[i] as ColumnValue);
      if ('decision' in v) return v;
      const before = row[i];
      row[i] = v.value;
      if (!sameValue(before, v.value, col)) notes.push(v.note ?? `${col.name} by its column rule ${columnRule.strategy.strategy} (${columnRule.path})`);
    }
    return notes;
  }

  /** Which side a row-level newest/oldest/max/min picks, or why it cannot. */
  #rowWinner(ctx: Ctx): { kind: 'source' | 'dr'; column: string } | { kind: 'conflict'; why: string } {
    const { table, change, c, rule } = ctx;
    const s = rule.strategy as Extract<Strategy, { strategy: 'newest' | 'oldest' | 'max' | 'min' }>;
    const column = s.column;
    if (column === null) return { kind: 'conflict', why: 'no column to compare (give "column")' };
    const i = table.columns.findIndex((col) => col.name === column);
    const col = table.columns[i];
    const mine = (change.op === 'delete' ? change.before : change.after)?.[i];
    const dr = c.drRow?.[i];
    if (col === undefined || mine === undefined || c.drRow === null || dr === undefined) return { kind: 'conflict', why: `column ${column} is not in both rows` };
    const nullsFirst = s.strategy === 'max' || s.strategy === 'min' ? s.nulls === 'first' : true;
    let cmp: number;
    if (mine === null || dr === null) cmp = mine === dr ? 0 : (mine === null) === nullsFirst ? -1 : 1;
    else cmp = compareValues(mine, dr, col);
    if ((s.strategy === 'newest' || s.strategy === 'oldest') && s.thresholdMs > 0 && mine !== null && dr !== null && typeof mine === 'string' && typeof dr === 'string') {
      const gap = Math.abs(utcMillis(mine) - utcMillis(dr));
      if (Number.isFinite(gap) && gap < s.thresholdMs) return { kind: 'conflict', why: `${column} differs by ${gap} ms, under the ${s.thresholdMs} ms threshold` };
    }
    const wantHigh = s.strategy === 'newest' || s.strategy === 'max';
    if (cmp === 0) {
      const tie = s.strategy === 'newest' || s.strategy === 'oldest' ? s.tie : 'dr';
      return { kind: tie === 'source' ? 'source' : 'dr', column };
    }
    return { kind: (cmp > 0) === wantHigh ? 'source' : 'dr', column };
  }

  /** merge / delta: per column, with the configured policies, column rules and groups. */
  #merge(ctx: Ctx): Pending {
    const { table, state, change, c, done, quarantine, writes, rule } = ctx;
    const dr = c.drRow;
    if (dr === null || change.after === null) return quarantine(c.class, defaultReason(c), dr);
    const after = change.after;
    if (after.some((v) => v instanceof JsonPatch)) return quarantine('partial-json', 'a JSON partial update (diffs, not a document) on a row the DR changed', dr);
    const s = rule.strategy;
    const isDelta = s.strategy === 'delta';
    const bothChanged: MergePolicy = s.strategy === 'merge' ? s.bothChanged : 'dr';
    const policies: Readonly<Record<string, MergePolicy>> = s.strategy === 'merge' ? s.policy : {};
    const tableRules = this.#rules.tableRules(table);
    const policyOf = (name: string): MergePolicy => policies[name] ?? bothChanged;
    const sides: Record<string, 'ours' | 'theirs'> = {};
    for (const col of table.columns) sides[col.name] = policyOf(col.name) === 'source' || tableRules.columns.get(col.name)?.strategy.strategy === 'source' ? 'theirs' : 'ours';
    // A group is decided whole by threeWayMerge (one side for all its columns); no column rule may re-decide one member.
    const grouped = new Set(tableRules.groups.flat());
    const referencing = new Set([...table.foreignKeys.flatMap((f) => f.columns), ...table.uniqueKeys.flatMap((u) => u.columns)]);
    const base = change.op === 'insert' ? null : change.before;
    const m = threeWayMerge(base, after, dr, { columns: table.columns, policy: sides, groups: tableRules.groups, oursChanged: new Set(c.drChanged) });
    const row = withPrimaryKey(m.row, keyedBy(change, dr, state), state).slice();
    const notes: string[] = [];
    const conflicts = new Set(m.conflicts);
    // A group both sides changed is one conflict: a quarantine or fail policy of a member holds it
    // (or stops the run) as for one column; otherwise the reason says which side's group stayed.
    const inGroupConflict = new Set<string>();
    for (const g of m.groups) {
      const shown = `the group (${g.columns.join(', ')})`;
      const stop = g.columns.map((n) => ({ n, p: tableRules.columns.has(n) ? null : policyOf(n) })).find((x) => x.p === 'quarantine' || x.p === 'fail');
      if (stop?.p === 'quarantine') return quarantine(c.class, `both sides changed ${shown} and the policy of ${stop.n} is quarantine (${rule.path})`, dr);
      if (stop?.p === 'fail') return this.#fail(rule, ctx.qualified, ctx.sourceKey, `both sides changed ${shown}`);
      notes.push(`both sides changed ${shown}: took the ${g.side === 'theirs' ? "lost change's" : "DR's"} whole group`);
      for (const n of g.columns) inGroupConflict.add(n);
    }
    for (let i = 0; i < table.columns.length; i++) {
      const col = table.columns[i]!;
      const a = after[i];
      if (a === undefined || col.isGenerated || state.pkPositions.includes(i) || grouped.has(col.name)) continue;
      const b = base?.[i];
      const changedByLost = b === undefined ? !sameValue(a, dr[i], col) : !sameValue(a, b, col);
      if (!changedByLost) continue;
      const columnRule = tableRules.columns.get(col.name);
      // Keys and references are identities, not quantities: never added to.
      const addable = /int|decimal|numeric|float|double/.test(col.dataType) && !referencing.has(col.name);
      let policy: MergePolicy | Strategy['strategy'] | null = null;
      if (columnRule !== undefined) policy = columnRule.strategy.strategy;
      else if (isDelta && addable && b !== undefined) policy = 'delta';
      else if (conflicts.has(col.name)) policy = policyOf(col.name);
      if (policy === 'delta' && !addable && columnRule === undefined) policy = 'dr';
      if (policy === null || policy === 'dr') continue;
      const v = this.#columnValue(ctx, col, policy, columnRule, b, a, dr[i] as ColumnValue);
      if ('decision' in v) return v;
      if (v.note !== null) notes.push(v.note);
      row[i] = v.value;
      // `skip` (the DR's value) resolves nothing: a column both sides changed stays a conflict the DR kept.
      if (policy === 'skip') continue;
      conflicts.delete(col.name);
    }
    // A grouped column the group took from the lost change is resolved, not kept from the DR.
    table.columns.forEach((col, i) => {
      if (grouped.has(col.name) && conflicts.has(col.name) && after[i] !== undefined && sameValue(row[i], after[i], col)) conflicts.delete(col.name);
    });
    const guard = this.#keyChangeGuard(table, state, dr, row);
    if (guard !== null) return quarantine(c.class, guard, dr);
    // The merged row mixes the DR's values and the lost change's: a key of several columns may take
    // a value neither side's row had (the lost change set label, the DR code), which classify never
    // saw; and an insert merged into the row at its key (insert-pk-same-record) had none of its
    // unique values checked (classify stops at the key). Held, never written onto a value the DR
    // refuses (read by collectReads, the mixes by collectWrittenRowReads).
    const clash = mergedUniqueClash(table, state, dr, row, change.op === 'insert');
    if (clash !== null) return quarantine(c.class, clash, dr);
    const changed = table.columns.filter((col, i) => !col.isGenerated && !sameExactValue(row[i], dr[i], col)).map((col) => col.name);
    if (changed.length > 0) {
      writes.push({ kind: 'update', table, key: state.keyValues(dr) as ColumnValue[], set: setOf(table, changed, row), old: dr });
      this.#move(state, dr, row);
    }
    const single = [...conflicts].filter((n) => !inGroupConflict.has(n));
    const kept = single.length > 0 ? `; both sides changed ${single.join(', ')}: kept the DR's` : '';
    const extra = notes.length > 0 ? `; ${notes.join('; ')}` : '';
    const drKept = table.columns.filter((col, i) => after[i] !== undefined && !sameValue(after[i], dr[i], col)).map((col) => col.name);
    const what = change.op === 'insert' && base === null && changed.length === 0 ? `same record changed on the DR since: kept the DR's ${drKept.length > 0 ? drKept.join(', ') : 'row (equal)'}` : `${isDelta ? 'delta' : 'three-way'} merge: took ${changed.length > 0 ? changed.join(', ') : 'nothing'} from the lost change${kept}`;
    return done(c.class, 'merged', `${what}${extra}`, dr, { conflicts: [...conflicts] });
  }

  /**
   * One column's value under a column policy (a `columns` rule, or the merge policy of a column both
   * sides changed) from B, A and D, with a note for the reason; or the decision that stops the
   * change (quarantine, fail).
   */
  #columnValue(ctx: Ctx, col: ColumnSchema, policy: MergePolicy | Strategy['strategy'], columnRule: Rule | undefined, b: ColumnValue | undefined, a: ColumnValue, d: ColumnValue): { value: ColumnValue; note: string | null } | Pending {
    const { c, quarantine, rule } = ctx;
    const by = columnRule?.path ?? rule.path;
    switch (policy) {
      case 'skip':
        return { value: d, note: sameValue(a, d, col) ? null : `${col.name}: the DR's value stays (${by})` };
      case 'source':
        return { value: a, note: null };
      case 'delta':
        if (b === undefined || b === null || a === null || d === null) return { value: d, note: `${col.name}: no delta with a NULL or unknown base, the DR value stays` };
        const sum = applyDelta(b, a, d, col);
        // The sink's session is not strict: a sum the column cannot hold would be stored clipped.
        const misfit = columnMisfit(sum, col);
        if (misfit !== null) return quarantine(c.class, `delta: ${ctx.qualified}.${col.name} would be ${valueText(sum)} (the DR's ${valueText(d)} + the lost change's ${valueText(b)} → ${valueText(a)}), which does not fit: ${misfit} (${by})`, c.drRow);
        return { value: sum, note: null };
      case 'max':
      case 'min':
        if (a === null || d === null) return { value: (a === null) === (policy === 'min') ? a : d, note: null };
        return { value: (compareValues(a, d, col) > 0) === (policy === 'max') ? a : d, note: null };
      case 'newest':
      case 'oldest': {
        const w = columnRule === undefined ? null : this.#rowWinner({ ...ctx, rule: columnRule });
        return { value: w !== null && w.kind === 'source' ? a : d, note: null };
      }
      case 'quarantine':
        return quarantine(c.class, `both sides changed ${col.name} and its policy is quarantine (${by})`, c.drRow);
      case 'fail':
        return this.#fail(columnRule ?? rule, ctx.qualified, ctx.sourceKey, `both sides changed ${col.name}`);
      default:
        return { value: d, note: null };
    }
  }

  /** link: the lost row is this existing DR row (by the unique key it clashes on, or the configured natural key). */
  #link(ctx: Ctx): Pending {
    const { table, state, change, c, quarantine, rule } = ctx;
    if (change.op !== 'insert' || change.after === null) return quarantine(c.class, defaultReason(c), c.drRow);
    let target = c.class === 'insert-unique-taken' ? c.uniqueHolder : null;
    const s = rule.strategy as Extract<Strategy, { strategy: 'link' }>;
    const natural = s.naturalKey ?? this.#rules.tableRules(table).naturalKey;
    if (natural !== null) {
      const uk = table.uniqueKeys.find((u) => u.columns.length === natural.length && u.columns.every((col) => natural.includes(col)));
      if (uk === undefined) return quarantine(c.class, `natural key (${natural.join(', ')}) is not a unique key on the DR: no safe link (${rule.path})`, c.drRow);
      const k = state.indexKeyOf(`uk:${uk.name}`, change.after);
      target = k === null ? null : (state.rowsBy(`uk:${uk.name}`, k)[0] ?? null);
    }
    if (target === null) {
      // No existing record to link to: the lost row is a record of its own.
      return c.class === 'insert-pk-taken' ? this.#remap(ctx) : quarantine(c.class, `link: no DR row has its natural key (${rule.path})`, c.drRow);
    }
    const oldKey = state.keyValues(change.after);
    const newKey = state.keyValues(target);
    if (oldKey === null || newKey === null) return quarantine(c.class, 'link: the rows have no full primary key', target);
    if (this.#keyMap.isTarget(table.schema, table.table, newKey)) return quarantine(c.class, `link: DR row ${keyText(newKey)} is already the record of another lost row`, target);
    // Its id may also be the old id of a lost row re-keyed away from it: old keys are source ids,
    // so the two mappings never meet (KeyMap.link). Onto the DR's record at the lost row's own key,
    // the link is kept all the same (and persisted with the remaps): the row's later changes, in this
    // run and the next, meet that record as the same one, whatever the DR's history says of the key
    // (it created "this" record).
    this.#keyMap.link(table.schema, table.table, oldKey, newKey);
    const linked = this.#merge({ ...ctx, c: { ...c, drRow: target }, rule: { strategy: { strategy: 'merge', bothChanged: 'dr', policy: {} }, path: rule.path } });
    return { ...linked, decision: { ...linked.decision, newKey, reason: `linked to the DR's ${keyText(newKey)} by ${natural === null ? `unique key ${c.uniqueKey ?? ''}` : `natural key (${natural.join(', ')})`}; ${linked.decision.reason ?? ''}` } };
  }

  /** rewrite-unique: keep both rows, the lost one with its clashing unique value rewritten by the template (or NULL). */
  #rewriteUnique(ctx: Ctx): Pending {
    const { table, state, change, c, quarantine, rule, done } = ctx;
    const s = rule.strategy as Extract<Strategy, { strategy: 'rewrite-unique' }>;
    const uk = table.uniqueKeys.find((u) => u.name === c.uniqueKey);
    if (uk === undefined || change.after === null) return quarantine(c.class, defaultReason(c), c.uniqueHolder);
    // Children name the row by this value: rewritten, the row would leave them pointing at the DR
    // record that holds it (only primary keys are followed through the key map).
    if (this.#referencedUniqueKeys(table).includes(uk)) {
      const child = this.#catalog.tables.flatMap((t) => t.foreignKeys.filter((fk) => fk.refSchema === table.schema && fk.refTable === table.table && uk.columns.every((col) => fk.refColumns.includes(col))).map((fk) => `${t.schema}.${t.table} (${fk.columns.join(', ')})`))[0];
      return quarantine(c.class, `rewrite-unique: ${child ?? 'a table'} references ${ctx.qualified} by ${uk.columns.join(', ')}: a rewritten value would leave such children pointing at the DR's record that holds it (${rule.path})`, c.uniqueHolder);
    }
    const after = change.after.slice();
    const rewritten: string[] = [];
    const label = changeLabel(ctx.tx, ctx.index);
    // An update's key is looked up on the row it writes (written-row.ts): a part its after image
    // leaves out (MINIMAL) is not "NULL, so free", but the DR row's value.
    const ignored = this.#rules.ignored(table);
    // An insert's part it leaves out is the DR's known default (insertedRow), else unknown.
    const probeOf = (image: RowImage): RowImage => (change.op === 'update' && c.drRow !== null ? writtenRow(table, change.before, image, c.drRow, ignored) : change.op === 'insert' ? insertedRow(table, image) : image);
    for (const colName of uk.columns) {
      const i = table.columns.findIndex((col) => col.name === colName);
      const col = table.columns[i]!;
      const v = after[i];
      if (typeof v !== 'string') continue;
      if (s.template === 'null' && col.nullable) {
        after[i] = null;
        rewritten.push(`${colName} → NULL`);
        continue;
      }
      // Only candidates the window read are known free on the DR; a {gtid} template is unique by its
      // transaction (the DR has the last word if not). Past the candidates read: ask a person.
      const read = (k: string): boolean => s.template.includes('{gtid}') || state.requestedIndexKey(`uk:${uk.name}`, k);
      let found = false;
      for (let n = 1; n <= REWRITE_CANDIDATES; n++) {
        after[i] = rewriteCandidate(s.template, v, n, label);
        // The sink's session is not strict: a longer value would be stored cut (and may clash again).
        const misfit = columnMisfit(after[i] as ColumnValue, col);
        if (misfit !== null) return quarantine(c.class, `rewrite-unique: ${ctx.qualified}.${colName} ${JSON.stringify(v)} would become ${JSON.stringify(after[i])}, which does not fit: ${misfit} (${rule.path})`, c.uniqueHolder);
        const k = state.indexKeyOf(`uk:${uk.name}`, probeOf(after));
        if (k === null || (read(k) && state.rowsBy(`uk:${uk.name}`, k).length === 0)) {
          found = true;
          break;
        }
      }
      if (!found) return quarantine(c.class, `rewrite-unique: the first ${REWRITE_CANDIDATES} rewritten values of ${colName} are taken on the DR (${rule.path})`, c.uniqueHolder);
      rewritten.push(`${colName} ${JSON.stringify(v)} → ${JSON.stringify(after[i])}`);
    }
    const next: RowChange = { ...change, after };
    const again = classifyChange({ change: next, schema: table, drRowByPk: c.drRow, drRowsByUnique: [], pkIsAutoIncrement: false, ignore: this.#rules.ignored(table) });
    if (again.class !== 'clean') return quarantine(c.class, `rewrite-unique: still ${again.class} after rewriting ${rewritten.join(', ')}`, c.uniqueHolder);
    const p = this.#applyClean(table, state, next, again, done, quarantine, ctx.writes, changeLabel(ctx.tx, ctx.index));
    return { ...p, decision: { ...p.decision, class: c.class, reason: `unique value rewritten for review: ${rewritten.join(', ')} (${rule.path})` } };
  }

  #applyClean(
    table: TableSchema,
    state: TableState,
    change: RowChange,
    c: Classification,
    done: (cls: ChangeClass, outcome: Outcome, reason: string | null, drRow: RowImage | null) => Pending,
    quarantine: (cls: ChangeClass, reason: string, drRow?: RowImage | null) => Pending,
    writes: WriteOp[],
    /** The change's `GTID#index` (changeLabel), which a cascade's archive rows name. */
    label: string,
  ): Pending {
    switch (change.op) {
      case 'insert': {
        const row = change.after as RowImage;
        writes.push({ kind: 'insert', table, row });
        // A keyless table's rows are counted by value (equal rows are several copies, keyless-rows.ts).
        if (state.keyless !== null) {
          state.keyless.add(row);
          this.#keylessUnique(table, row, 'put');
          // A column the image leaves out stands at the DR's default, where known (written-row.ts):
          // the window's later changes of the row meet the row a one-transaction window reads back.
        } else state.put(insertedRow(table, row));
        return done('clean', 'applied', null, null);
      }
      case 'update': {
        const dr = c.drRow as RowImage;
        let after = change.after as RowImage;
        // MySQL's partial JSON updates: the diffs go onto the row's current document, as a replica's would.
        if (hasJsonPatch(after)) {
          const patched = applyJsonPatches(table, after, dr);
          if ('reason' in patched) return quarantine('partial-json', patched.reason, dr);
          after = patched.row;
        }
        // A column left out of the comparison (ignoreColumns) may hold a value the DR wrote since:
        // it takes the lost change's value only when the lost change changed it (written-row.ts).
        const before = change.before;
        const next = writtenRow(table, before, after, dr, this.#rules.ignored(table));
        // A row met under its key's collation only (`b` as `B`, compare "keys"): an update that keeps
        // its key keeps the DR's spelling of it, as the DR's own UPDATE … WHERE code = 'b' would.
        if (state.hasKeyAliases && before !== null) for (const p of state.pkPositions) if (sameValue(before[p], after[p], table.columns[p]!)) next[p] = dr[p];
        const guard = this.#keyChangeGuard(table, state, dr, next);
        if (guard !== null) return quarantine('clean', guard, dr);
        // One pass (a filter and a map made two lists per update).
        const changed: string[] = [];
        for (let i = 0; i < table.columns.length; i++) {
          const col = table.columns[i] as ColumnSchema;
          if (after[i] !== undefined && !col.isGenerated && !sameExactValue(next[i], dr[i], col)) changed.push(col.name);
        }
        writes.push({ kind: 'update', table, key: state.keyValues(dr) as ColumnValue[], set: setOf(table, changed, next), old: dr });
        this.#move(state, dr, next);
        return done('clean', 'applied', null, dr);
      }
      case 'delete': {
        const dr = c.drRow as RowImage;
        const d = this.#guardedDelete(table, state, dr, writes, label);
        if (d.kind === 'blocked') return quarantine('clean', d.reason, dr);
        return done('clean', 'applied', d.note, dr);
      }
    }
  }

  /** remap: a fresh key for the lost row (the table's key allocation), recorded in the key map; later changes follow it. */
  #remap(ctx: Ctx): Pending {
    const { table, state, change, c, done, quarantine, writes, qualified } = ctx;
    if (change.op !== 'insert' || change.after === null) return quarantine(c.class, defaultReason(c), c.drRow);
    const allocation = this.#rules.tableRules(table).keyAllocation;
    const taken = (key: readonly ColumnValue[]): boolean => {
      const pk = rowKey(key);
      return state.knows(pk) && state.row(pk) !== null;
    };
    let newKey: ColumnValue[];
    const before = this.#floors.get(table);
    if (allocation.kind === 'uuid-v7') {
      // Derived from the source identity, so a re-run or a resumed run hands out the same key.
      newKey = [deterministicUuidV7(changeLabel(ctx.tx, ctx.index), `${qualified}:${rowKey(ctx.sourceKey ?? [])}`, ctx.tx.timestamp * 1000)];
      if (state.pkPositions.length !== 1 || taken(newKey)) return quarantine(c.class, 'remap (uuid-v7): needs a one-column character key that is free', c.drRow);
      // A UUID's text in an integer key would be cut by the server to its leading digits: another id than the key map records.
      const col = table.columns.find((k) => k.name === table.primaryKey![0]);
      const misfit = col === undefined ? 'not in the DR table' : !UUID_KEY_TYPES.has(col.dataType.toLowerCase()) ? `${col.columnType} is not a character column` : columnMisfit(newKey[0]!, col);
      if (misfit !== null) return quarantine(c.class, `remap (uuid-v7): the key ${table.primaryKey![0]} cannot hold a UUID (${misfit}); keyAllocation "uuid-v7" is for CHAR(36)/VARCHAR/UUID keys`, c.drRow);
    } else if (allocation.kind === 'offset') {
      const old = ctx.sourceKey?.[0];
      if (state.pkPositions.length !== 1 || (typeof old !== 'number' && typeof old !== 'bigint')) return quarantine(c.class, 'remap (offset): needs a one-column integer key', c.drRow);
      const v = BigInt(old) + BigInt(allocation.offset);
      newKey = [v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v];
      // A key the window did not read counts as free; if the DR holds it after all, it rejects the
      // insert and the window is decided again one transaction at a time (dr-rejected).
      if (taken(newKey) || this.#keyMap.isTarget(table.schema, table.table, newKey)) return quarantine(c.class, `remap (offset ${allocation.offset}): key ${keyText(newKey)} is taken too`, c.drRow);
    } else {
      // Only the DR's own AUTO_INCREMENT can hand out a key both sides will never hand out again.
      const ai = table.autoIncrement;
      if (ai === null || state.pkPositions.length !== 1 || table.primaryKey?.[0] !== ai.column) {
        return quarantine(c.class, `remap: ${qualified} has no AUTO_INCREMENT key to take a new id from (configure keyAllocation "uuid-v7" or "offset" for it)`, c.drRow);
      }
      const floor = before ?? ai.next ?? 1n;
      const keyColumn = table.columns.find((k) => k.name === ai.column);
      const max = keyColumn === undefined ? undefined : integerMax(keyColumn.dataType, keyColumn.unsigned);
      // The lost range (or the DR) took the column's largest value: the AUTO_INCREMENT counter is
      // spent, no new id exists for this record, and the server would refuse one as well.
      if (max !== undefined && floor > max) {
        return quarantine(c.class, `remap: no free AUTO_INCREMENT id left in ${qualified} (the next one, ${floor}, is past ${ai.column}'s largest, ${max})`, c.drRow);
      }
      const allocator = createAutoIncrementAllocator(floor < 1n ? 1n : floor, (k) => taken([k]), max);
      let fresh: bigint;
      try {
        fresh = allocator.next();
      } catch (e) {
        if (e instanceof EngineError && e.code === KeyAllocatorErrorCode.Exhausted) return quarantine(c.class, `remap: no free AUTO_INCREMENT id left in ${qualified} from ${floor} to ${ai.column}'s largest`, c.drRow);
        throw e;
      }
      newKey = [fresh <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(fresh) : fresh];
      this.#floors.set(table, fresh + 1n);
    }
    const mapMark = this.#keyMap.mark();
    const rekeyed = remapInsert(change, newKey, this.#keyMap, this.#catalog);
    const row = rekeyed.after as RowImage;
    state.markReadKeys([rowKey(newKey)]);
    const holder = this.#uniqueHolder(table, state, insertedRow(table, row), null);
    if (holder !== null) {
      let undone = false;
      // A key handed out but not used goes back, as when the transaction is held back whole: a run
      // decided in other windows, or resumed, hands out the same ids.
      const undo = (): void => {
        if (undone) return;
        undone = true;
        this.#keyMap.rollbackTo(mapMark);
        if (before === undefined) this.#floors.delete(table);
        else this.#floors.set(table, before);
      };
      // A strategy handed on by custom has its path already (`… → custom f → remap`); a configured one gets it named.
      const firstStep = ctx.rule.path.includes(' → ') ? ctx.rule.path : `${ctx.rule.path} → ${ctx.rule.strategy.strategy}`;
      return this.#uniqueAfterRemap(ctx, { original: change, change: rekeyed, newKey, holder, firstStep, undo, undone: () => undone });
    }
    writes.push({ kind: 'insert', table, row });
    state.put(insertedRow(table, row));
    return done(c.class, 'remapped', `the DR gave id ${keyText(state.keyValues(change.after) ?? [])} to a different record: re-keyed to ${keyText(newKey)} in ${qualified}`, c.drRow, { newKey });
  }

  /**
   * A re-keyed insert whose unique value a DR row holds is an insert-unique-taken change at its fresh
   * key: the rule for that class decides it, and the ledger's rule path names both steps
   * (`built-in.insert-pk-taken → remap; tables."t.cust".onConflict.insert-unique-taken → skip`).
   * rewrite-unique and delete-blocking keep the fresh key (the row is `remapped`); every other
   * decision (skip, link, quarantine, …) is about the row at its source key, and gives the fresh
   * key back before it is carried out (see #atKeyFor).
   */
  #uniqueAfterRemap(ctx: Ctx, remapped: Remapped): Pending {
    const { table, state, c, qualified } = ctx;
    const rule = this.#rules.forClass(table, 'insert-unique-taken');
    const pkRow = c.drRow;
    const holder = remapped.holder;
    // At its fresh key the change meets no row, only the holder: classified as a plain insert-unique-taken there.
    const atFreshKey: Classification = { ...c, class: 'insert-unique-taken', drRow: null, differsFromAfter: [], differsFromBefore: [], uniqueKey: holder.key, uniqueHolder: holder.row };
    const p = withRule(this.#carryOut({ ...ctx, change: remapped.change, c: atFreshKey, rule, remapped }), rule);
    const d = p.decision;
    const kept = !remapped.undone() && d.outcome === 'applied';
    if (!kept) remapped.undo();
    const secondStep = rule.strategy.strategy === 'custom' ? (d.rulePath ?? rule.path) : `${rule.path} → ${rule.strategy.strategy}`;
    const rulePath = `${remapped.firstStep}; ${secondStep}`;
    const met = `its id is taken by a different DR record, and another DR row holds unique key ${holder.key}`;
    const same = (x: RowImage | null | undefined, y: RowImage | null | undefined): boolean => x === y || (x !== null && x !== undefined && y !== null && y !== undefined && state.keyOf(x) === state.keyOf(y));
    if (kept) {
      const oldKey = keyText(ctx.sourceKey ?? []);
      const reason = `the DR gave id ${oldKey} to a different record: re-keyed to ${keyText(remapped.newKey)} in ${qualified}, and another DR row holds unique key ${holder.key}; ${d.reason ?? ''}`;
      return { ...p, decision: { ...d, class: 'insert-unique-taken', outcome: 'remapped', newKey: remapped.newKey, drRow: pkRow, otherRow: same(pkRow, holder.row) ? null : holder.row, reason, rulePath } };
    }
    // Both rows it met are recorded (D and other), so the decision can be made again from the ledger.
    const drRow = d.drRow ?? holder.row;
    const otherRow = [pkRow, holder.row, d.otherRow].find((r) => r !== null && r !== undefined && !same(r, drRow)) ?? null;
    const reason = d.outcome === 'quarantined' && d.reason === defaultReason(atFreshKey) ? met : `${met}; ${d.reason ?? d.outcome}`;
    return { ...p, decision: { ...d, drRow, otherRow, reason, rulePath } };
  }

  /**
   * The context a strategy carries out: a re-keyed insert handed to a second rule (#uniqueAfterRemap)
   * keeps its fresh key only for the strategies that write it there (rewrite-unique, delete-blocking;
   * a custom function has not chosen yet); for any other the fresh key goes back and the change is
   * decided at its source key, as a plain insert-unique-taken is (the row at that key is recorded beside it).
   */
  #atKeyFor(ctx: Ctx): Ctx {
    const r = ctx.remapped;
    if (r === undefined) return ctx;
    const s = ctx.rule.strategy.strategy;
    if (s === 'custom' || s === 'rewrite-unique' || s === 'delete-blocking') return ctx;
    r.undo();
    // fail leaves no ledger line: its message names both steps instead.
    const rule = s === 'fail' ? { ...ctx.rule, path: `${r.firstStep}; ${ctx.rule.path} → fail` } : ctx.rule;
    return { ...ctx, change: r.original, rule, remapped: undefined };
  }

  /** A DR row other than `self` holding one of `row`'s unique values (as the window knows them), or null. */
  #uniqueHolder(table: TableSchema, state: TableState, row: RowImage, self: RowImage | null): { key: string; row: RowImage } | null {
    const selfKey = self === null ? null : state.keyOf(self);
    for (const uk of table.uniqueKeys) {
      const k = state.indexKeyOf(`uk:${uk.name}`, row);
      if (k === null) continue;
      const other = state.rowsBy(`uk:${uk.name}`, k).find((r) => state.keyOf(r) !== selfKey);
      if (other !== undefined) return { key: uk.name, row: other };
    }
    return null;
  }

  /** Why an update that moves or frees keys must wait, or null: its new primary key is taken, or DR rows point at the old one. */
  #keyChangeGuard(table: TableSchema, state: TableState, dr: RowImage, next: RowImage): string | null {
    const oldPk = state.keyOf(dr);
    const newPk = state.keyOf(next);
    if (oldPk !== newPk && newPk !== null && state.knows(newPk) && state.row(newPk) !== null) return 'its new primary key is held by another DR row';
    return this.#referencingRows(table, state, dr, next);
  }

  /**
   * Rows of any table that point at `dr` through a foreign key whose referenced columns `next`
   * changes (all of them when `next` is null, a delete), described; null when none do.
   */
  #referencingRows(table: TableSchema, state: TableState, dr: RowImage, next: RowImage | null): string | null {
    let found: string[] | null = null;
    for (const ref of this.#catalog.referencing(table.schema, table.table)) {
      const positions = state.positionsOf(ref.foreignKey.refColumns);
      if (next !== null && positions.every((p) => sameValue(dr[p], next[p], table.columns[p] ?? null))) continue;
      const childTable = this.#catalog.get(ref.schema, ref.table);
      if (childTable === undefined) continue;
      const child = this.state(childTable);
      const name = `fk:${ref.foreignKey.name}` as const;
      const k = child.indexKeyFromValues(name, positions.map((p) => dr[p]));
      if (k === null) continue;
      const rows = child.rowsBy(name, k).filter((r) => r !== dr);
      if (rows.length > 0) {
        const rule = ref.foreignKey.origin === 'config' ? 'a logical reference' : `ON ${next === null ? 'DELETE' : 'UPDATE'} ${next === null ? ref.foreignKey.onDelete : ref.foreignKey.onUpdate}`;
        (found ??= []).push(`${rows.length} row(s) of ${ref.schema}.${ref.table} still point at it (${ref.foreignKey.name}, ${rule})`);
      }
    }
    return found === null ? null : found.join('; ');
  }

  /**
   * Deletes the DR row `dr` under `cascadeGuard`. `forbid` holds the delete back while any DR row
   * points at it. `report` (and `allowUpTo` within its limit) carries out the DR's declared ON
   * DELETE actions here, because the window runs with foreign_key_checks=0 and the server's own
   * actions do not fire: without this, children would be orphaned. Every row the cascade deletes or
   * nulls is archived first under `label` (the lost change's `GTID#index`), as delete-blocking's
   * are: they may be rows the DR created or changed after the failover, which nothing else keeps.
   * Returns why the delete must wait, or the note that says what it did to other rows.
   */
  #guardedDelete(table: TableSchema, state: TableState, dr: RowImage, writes: WriteOp[], label: string): { kind: 'blocked'; reason: string } | { kind: 'deleted'; note: string | null } {
    const guard = this.#rules.cascadeGuard;
    let plan: CascadePlan | null = null;
    if (guard.kind === 'forbid') {
      const blockers = this.#referencingRows(table, state, dr, null);
      if (blockers !== null) return { kind: 'blocked', reason: `cascade guard: ${blockers}` };
    } else {
      plan = this.#cascadePlan(table, state, dr);
      if (plan.blocked.length > 0) return { kind: 'blocked', reason: `cascade guard: ${plan.blocked.join('; ')}` };
      const touched = plan.deletes.length + plan.nulls.length;
      if (guard.kind === 'allow-up-to' && touched > guard.limit) {
        return { kind: 'blocked', reason: `cascade guard: ${this.#referencingRows(table, state, dr, null) ?? ''}; the cascade would touch ${touched} row(s), more than cascadeGuard.allowUpTo ${guard.limit}` };
      }
      for (const d of plan.deletes) {
        writes.push({ kind: 'delete', table: d.state.schema, key: d.state.keyValues(d.row) as ColumnValue[], archive: { change: label, role: 'cascade-delete', row: d.row } });
        d.state.remove(d.pk);
      }
      for (const n of plan.nulls) {
        const next = n.row.slice();
        for (const p of n.positions) next[p] = null;
        const changed = n.positions.map((p) => n.state.schema.columns[p]?.name as string);
        writes.push({ kind: 'update', table: n.state.schema, key: n.state.keyValues(n.row) as ColumnValue[], set: setOf(n.state.schema, changed, next), old: n.row, archive: { change: label, role: 'cascade-set-null', row: n.row } });
        n.state.put(next);
      }
    }
    writes.push({ kind: 'delete', table, key: state.keyValues(dr) as ColumnValue[] });
    state.remove(state.keyOf(dr) as string);
    if (plan === null) return { kind: 'deleted', note: null };
    const parts: string[] = [];
    if (plan.cascaded.length > 0) parts.push(`cascade: ${plan.cascaded.join('; ')}`);
    parts.push(...plan.left);
    return { kind: 'deleted', note: parts.length > 0 ? parts.join('; ') : null };
  }

  /**
   * The DR's ON DELETE actions for the rows (read by the window) that point at `dr`, one level deep:
   * a cascaded child's own children were not read, so a child that may have some blocks the plan
   * rather than being guessed at.
   */
  #cascadePlan(table: TableSchema, state: TableState, dr: RowImage): CascadePlan {
    const plan: CascadePlan = { deletes: [], nulls: [], cascaded: [], left: [], blocked: [] };
    const selfPk = state.keyOf(dr);
    const deleting = new Map<TableState, Set<string>>([[state, new Set(selfPk === null ? [] : [selfPk])]]);
    const nulling = new Map<string, CascadePlan['nulls'][number]>();
    for (const ref of this.#catalog.referencing(table.schema, table.table)) {
      const childTable = this.#catalog.get(ref.schema, ref.table);
      if (childTable === undefined) continue;
      const child = this.state(childTable);
      const fk = ref.foreignKey;
      const name = `fk:${fk.name}` as const;
      const k = child.indexKeyFromValues(name, fk.refColumns.map((col) => dr[state.position(col)]));
      if (k === null) continue;
      // In key order: the index lists rows in the order reads loaded them, which the window size changes.
      const rows = child.rowsBy(name, k).filter((r) => !(child === state && child.keyOf(r) === selfPk)).sort(byPrimaryKey(child));
      if (rows.length === 0) continue;
      const where = `${ref.schema}.${ref.table}`;
      if (fk.origin === 'config') {
        plan.left.push(`left ${rows.length} row(s) of ${where} pointing at it (${fk.name}, a logical reference the DR never enforced)`);
        continue;
      }
      if (childTable.primaryKey === null && (fk.onDelete === 'CASCADE' || fk.onDelete === 'SET NULL')) {
        // Archived and written by key: a row without one cannot be named (the DR's own action never runs: foreign_key_checks=0).
        // Not counted: equal rows of a keyless table are one image in the window's state.
        plan.blocked.push(`rows of ${where} point at it (${fk.name}, ON DELETE ${fk.onDelete}), a table without a primary key: the cascade cannot name them to archive and ${fk.onDelete === 'CASCADE' ? 'delete' : 'null'} them`);
        continue;
      }
      if (fk.onDelete === 'CASCADE') {
        let set = deleting.get(child);
        if (set === undefined) deleting.set(child, (set = new Set()));
        for (const row of rows) {
          const pk = child.keyOf(row) as string;
          if (set.has(pk)) continue;
          set.add(pk);
          plan.deletes.push({ state: child, pk, row });
        }
        plan.cascaded.push(`deleted ${rows.length} row(s) of ${where} (${fk.name} ON DELETE CASCADE)`);
      } else if (fk.onDelete === 'SET NULL') {
        const positions = fk.columns.map((col) => child.position(col));
        const notNull = positions.map((p) => childTable.columns[p]).filter((col) => col !== undefined && !col.nullable);
        if (notNull.length > 0) {
          plan.blocked.push(`${rows.length} row(s) of ${where} still point at it (${fk.name}, ON DELETE SET NULL on NOT NULL ${notNull.map((col) => col?.name).join(', ')})`);
          continue;
        }
        for (const row of rows) {
          const id = `${where}\u0000${child.keyOf(row) as string}`;
          const n = nulling.get(id);
          if (n === undefined) nulling.set(id, { state: child, row, positions });
          else nulling.set(id, { ...n, positions: [...new Set([...n.positions, ...positions])] });
        }
        plan.cascaded.push(`set ${fk.columns.join(', ')} to NULL in ${rows.length} row(s) of ${where} (${fk.name} ON DELETE SET NULL)`);
      } else {
        const why = fk.onDelete === 'SET DEFAULT' ? 'not carried out' : 'the DR would refuse the delete';
        plan.blocked.push(`${rows.length} row(s) of ${where} still point at it (${fk.name}, ON DELETE ${fk.onDelete}: ${why})`);
      }
    }
    // A row both deleted and nulled (two references) is deleted.
    for (const n of nulling.values()) if (deleting.get(n.state)?.has(n.state.keyOf(n.row) as string) !== true) plan.nulls.push(n);
    for (const d of plan.deletes) {
      const further = this.#furtherReferences(d.state, d.row, null, deleting);
      if (further !== null) plan.blocked.push(further);
    }
    for (const n of plan.nulls) {
      const next = n.row.slice();
      for (const p of n.positions) next[p] = null;
      const further = this.#furtherReferences(n.state, n.row, next, deleting);
      if (further !== null) plan.blocked.push(further);
    }
    return plan;
  }

  /**
   * Why the cascade may not stop at `row` (a row the cascade deletes, or nulls into `next`): rows point
   * at it, or may — the window never read who points at a cascaded row unless a lost change asked.
   */
  #furtherReferences(state: TableState, row: RowImage, next: RowImage | null, deleting: ReadonlyMap<TableState, ReadonlySet<string>>): string | null {
    const table = state.schema;
    const shown = `${state.qualified} ${keyText(state.keyValues(row) ?? [])}`;
    for (const ref of this.#catalog.referencing(table.schema, table.table)) {
      const positions = ref.foreignKey.refColumns.map((col) => state.position(col));
      if (next !== null && positions.every((p) => sameValue(row[p], next[p], table.columns[p] ?? null))) continue;
      const childTable = this.#catalog.get(ref.schema, ref.table);
      if (childTable === undefined) continue;
      const child = this.state(childTable);
      const name = `fk:${ref.foreignKey.name}` as const;
      const k = child.indexKeyFromValues(name, positions.map((p) => row[p]));
      if (k === null) continue;
      // A row this window re-keyed sits at a fresh key: no DR row pointed at it when the window
      // read, the rows the lost changes made point at it are in the overlay, and it was not there
      // to be read (collectCascadeChildReads) — a window apart finds the same by reading.
      if (!child.requestedIndexKey(name, k) && !this.#rekeyedThisWindow(table, state.keyValues(row) ?? [])) {
        return `the cascade reaches ${shown}, and rows of ${ref.schema}.${ref.table} may point at it (${ref.foreignKey.name}), which the window did not read: only one level is carried out`;
      }
      const gone = deleting.get(child);
      const rows = child.rowsBy(name, k).filter((r) => gone?.has(child.keyOf(r) as string) !== true);
      if (rows.length > 0) return `the cascade reaches ${shown}, and ${rows.length} row(s) of ${ref.schema}.${ref.table} point at it (${ref.foreignKey.name}): only one level is carried out`;
    }
    return null;
  }

  /** A parent that `next` points at where `dr` did not, by primary key, that the window did not read; null when every one was read. */
  #unreadParent(table: TableSchema, state: TableState, dr: RowImage, next: RowImage): string | null {
    for (const fk of table.foreignKeys) {
      const positions = state.positionsOf(fk.columns);
      if (positions.some((p) => next[p] === undefined || next[p] === null) || positions.every((p) => sameValue(dr[p], next[p], table.columns[p] ?? null))) continue;
      const parent = this.#catalog.get(fk.refSchema, fk.refTable);
      const parentKey = parent === undefined ? null : state.parentKeyPositions(fk, parent);
      if (parent === undefined || parentKey === null) continue;
      if (!this.state(parent).knows(rowKeyAt(next, parentKey))) return `its parent ${fk.refSchema}.${fk.refTable} ${keyText(parentKey.map((p) => next[p] as ColumnValue))} was not read from the DR (${fk.name})`;
    }
    return null;
  }

  /** Why a change's foreign key points nowhere (a missing or quarantined parent), or null. */
  #missingParent(table: TableSchema, state: TableState, change: RowChange, original: RowChange): string | null {
    const after = change.after as RowImage;
    for (const fk of table.foreignKeys) {
      const positions = state.positionsOf(fk.columns);
      if (positions.some((p) => after[p] === undefined || after[p] === null)) continue;
      if (change.op === 'update' && change.before !== null && positions.every((p) => sameValue(change.before?.[p], after[p], table.columns[p] ?? null))) continue;
      const parent = this.#catalog.get(fk.refSchema, fk.refTable);
      if (parent === undefined) continue;
      const parentState = this.state(parent);
      // The parent's primary key, read from the image where it sits (no values gathered for it).
      const parentKey = state.parentKeyPositions(fk, parent);
      if (parentKey !== null) {
        const pk = rowKeyAt(after, parentKey);
        // A row that is its own parent (a self-reference to its own key, which the server accepts).
        if (parent === table && pk === state.keyOf(after)) continue;
        // Held parents are source identities: judged on the value the binlog logged, before a remap
        // (the same values, so the same key, when the key map left the image as it was).
        let sourcePk: string | undefined = pk;
        const source = original.after;
        if (source !== after) sourcePk = source === null || parentKey.some((p) => source[p] === undefined || source[p] === null) ? undefined : rowKeyAt(source, parentKey);
        const origin = sourcePk === undefined ? undefined : this.#quarantine.origin(parentState.qualified, sourcePk);
        if (origin !== undefined) return `its parent ${fk.refSchema}.${fk.refTable} ${keyText(parentKey.map((p) => after[p] as ColumnValue))} ${this.#quarantine.skipped(origin) ? 'was skipped' : 'is quarantined'} (${origin})`;
        // The parent the server's foreign-key check finds: at the key, or the row its collation equates (`b` → `B`).
        if (parentState.keyHolder(pk) === null) return `its parent ${fk.refSchema}.${fk.refTable} ${keyText(parentKey.map((p) => after[p] as ColumnValue))} is not on the DR (${fk.name})`;
        continue;
      }
      const values = positions.map((p) => after[p]);
      const uk = parent.uniqueKeys.find((u) => u.columns.length === fk.refColumns.length && u.columns.every((col) => fk.refColumns.includes(col)));
      if (uk === undefined) continue;
      const k = parentState.indexKeyFromValues(`uk:${uk.name}`, uk.columns.map((col) => values[fk.refColumns.indexOf(col)]));
      // A held lost parent with this value is the one the child meant, not a DR record that holds it too.
      const origin = k === null ? undefined : this.#quarantine.origin(uniqueHoldTable(parentState.qualified, uk.name), k);
      if (origin !== undefined) return `its parent ${fk.refSchema}.${fk.refTable} (${uk.columns.join(', ')}) ${keyText(values as ColumnValue[])} ${this.#quarantine.skipped(origin) ? 'was skipped' : 'is quarantined'} (${origin})`;
      if (k !== null && parentState.rowsBy(`uk:${uk.name}`, k).length === 0) return `its parent ${fk.refSchema}.${fk.refTable} is not on the DR (${fk.name})`;
    }
    return null;
  }

  #move(state: TableState, from: RowImage, to: RowImage): void {
    const oldPk = state.keyOf(from) as string;
    const newPk = state.keyOf(to);
    if (newPk !== oldPk) state.remove(oldPk);
    state.put(to, newPk);
  }
}

/** A key as people read it in reasons: numbers plain, strings quoted, bytes in hex. */
export function keyText(values: readonly ColumnValue[]): string {
  const parts = values.map((v) => {
    if (v === null) return 'NULL';
    if (typeof v === 'string' || v instanceof CharsetText) return JSON.stringify(String(v));
    if (Buffer.isBuffer(v)) return `0x${v.toString('hex')}`;
    return String(v);
  });
  return parts.length === 1 ? (parts[0] as string) : `(${parts.join(', ')})`;
}

/** A value as people read it in reasons: as keyText, but DECIMAL digits unquoted. */
function valueText(v: ColumnValue): string {
  return typeof v === 'string' && /^-?\d+(?:\.\d+)?$/.test(v) ? v : keyText([v]);
}

/**
 * The row whose primary key a merged or overwritten row takes: the lost update's after image when the
 * update moves its row (only the lost side changed the key: the DR row was met at the old one, and
 * the key-change guard then checks the new key is free and nothing points at the old one), else the
 * DR row (a merge never re-keys a row otherwise; a link merges into its target at the target's key).
 * Dropping the move wrote the other columns and left the row behind, its later changes missing it.
 */
function keyedBy(change: RowChange, dr: RowImage, state: TableState): RowImage {
  if (change.op !== 'update' || change.before === null || change.after === null) return dr;
  const moved = state.keyOf(change.after);
  return moved !== null && moved !== state.keyOf(change.before) ? change.after : dr;
}

/** Keeps the primary key of `dr` (see keyedBy) in a merged row. */
function withPrimaryKey(row: RowImage, dr: RowImage, state: TableState): RowImage {
  const out = row.slice();
  for (const p of state.pkPositions) out[p] = dr[p];
  return out;
}

/**
 * The SET of an update: `columns` (names) with their values in `row`, generated columns left out.
 * Columns with ON UPDATE CURRENT_TIMESTAMP are always set to the row's value, as replication sets
 * every column: left out, the DR's clock would overwrite the value the decision kept.
 */
function setOf(table: TableSchema, columns: readonly string[], row: RowImage): Record<string, ColumnValue> {
  const set: Record<string, ColumnValue> = {};
  if (columns.length > 0) {
    table.columns.forEach((col, i) => {
      const v = row[i];
      if (col.onUpdateCurrentTimestamp && !col.isGenerated && v !== undefined) set[col.name] = v;
    });
  }
  for (const name of columns) {
    const i = table.columns.findIndex((c) => c.name === name);
    const col = table.columns[i];
    const v = row[i];
    if (col === undefined || col.isGenerated || v === undefined) continue;
    set[name] = v;
  }
  return set;
}

/** What a strategy's decision sets beyond the common fields. */
interface DecisionExtra {
  readonly newKey?: readonly ColumnValue[] | null;
  readonly conflicts?: readonly string[];
}

/** The conflicts of a decision that has none: one shared empty list (decisions are never changed in place). */
const NO_CONFLICTS: readonly string[] = [];

/** The remaps of a transaction that made none (most): one shared empty list, never changed. */
const NO_REMAPS: TransactionResult['remaps'] = [];

/** The unique holders of a change that meets none (the common case): one shared empty list, never changed. */
const NO_ROWS: readonly { readonly key: string; readonly row: RowImage }[] = [];

/** The DR rows holding one of `after`'s unique values (as the window knows them), for classifyChange; none for a key with a NULL or unlogged part. */
function uniqueRowsOf(table: TableSchema, state: TableState, after: RowImage | null): readonly { readonly key: string; readonly row: RowImage; readonly held?: boolean }[] {
  let out: { key: string; row: RowImage; held: boolean }[] | null = null;
  if (after !== null) {
    for (const uk of table.uniqueKeys) {
      const name = `uk:${uk.name}` as const;
      const k = state.indexKeyOf(name, after);
      if (k !== null) for (const row of state.rowsBy(name, k)) (out ??= []).push({ key: uk.name, row, held: true });
    }
  }
  return out ?? NO_ROWS;
}

/**
 * Why the merged row `row` of the DR row `dr` may not be written: a unique key it gives a value (no
 * NULL part) other than `dr`'s that another DR row holds, or one the window did not read the holders
 * of. Null when none. Only keys of several columns for an update: a key of one column takes the lost
 * change's value (its holders read and checked by classify) or keeps the row's own. Every key for an
 * insert (`insert`): classify checks no unique value of one that meets a row at its key.
 */
function mergedUniqueClash(table: TableSchema, state: TableState, dr: RowImage, row: RowImage, insert: boolean): string | null {
  const self = state.keyOf(dr);
  for (const uk of table.uniqueKeys) {
    if (uk.columns.length < 2 && !insert) continue;
    const positions = uk.columns.map((c) => state.position(c));
    if (positions.every((p) => sameValue(row[p], dr[p], table.columns[p] ?? null))) continue;
    const v = writtenKeyValue(state, uk.name, positions, row);
    // A part the merge cannot know is left to the DR (no ordinary merge reaches one without history).
    if (v.kind !== 'known') continue;
    if (state.rowsBy(`uk:${uk.name}`, v.key).some((r) => state.keyOf(r) !== self)) return `the merged row would take unique key ${uk.name}, which another DR row holds`;
    if (!v.read) return `the value the merged row writes into unique key ${uk.name} was not read from the DR: whether another DR row holds it is unknown`;
  }
  return null;
}

/**
 * What the window knows of the value `row` writes into unique key `keyName` (its columns at
 * `positions`): a NULL part, which collides with nothing; the parts it leaves unknown (a column an
 * image left out that no DR row read gives); or the value's folded index key, and whether the window
 * asked the DR who holds it. The checks of a written row's unique values below share it.
 */
type WrittenKeyValue = { readonly kind: 'null' } | { readonly kind: 'unknown'; readonly parts: readonly number[] } | { readonly kind: 'known'; readonly key: string; readonly read: boolean };

const NULL_PART: WrittenKeyValue = { kind: 'null' };

function writtenKeyValue(state: TableState, keyName: string, positions: readonly number[], row: RowImage): WrittenKeyValue {
  if (positions.some((p) => row[p] === null)) return NULL_PART;
  const parts = positions.filter((p) => row[p] === undefined);
  if (parts.length > 0) return { kind: 'unknown', parts };
  const name = `uk:${keyName}` as const;
  const key = state.indexKeyOf(name, row);
  // A folded NULL (a value its collation folds to none) collides with nothing either.
  return key === null ? NULL_PART : { kind: 'known', key, read: state.requestedIndexKey(name, key) };
}

/**
 * Why `source`'s row `row` (the lost image, edited or not, over the DR row `dr`) may not be written
 * though the window found no holder: a unique key it gives a value other than `dr`'s (no NULL part)
 * with a part the window does not know (a column the window's own MINIMAL insert left to the DR's
 * default), or a value whose holders the window did not read. Null when each is known free.
 */
function unreadWrittenUniqueValue(table: TableSchema, state: TableState, dr: RowImage, row: RowImage): string | null {
  for (const uk of table.uniqueKeys) {
    const positions = uk.columns.map((c) => state.position(c));
    if (positions.every((p) => sameValue(row[p], dr[p], table.columns[p] ?? null))) continue;
    const v = writtenKeyValue(state, uk.name, positions, row);
    if (v.kind === 'unknown') return `the row written keeps the DR row's ${v.parts.map((p) => (table.columns[p] as ColumnSchema).name).join(', ')} of unique key ${uk.name}, which the window did not read: whether another DR row holds the value it writes is unknown`;
    if (v.kind === 'known' && !v.read) {
      const name = (p: number): string => (table.columns[p] as ColumnSchema).name;
      const kept = positions.filter((p) => sameValue(row[p], dr[p], table.columns[p] ?? null));
      const mix = kept.length === 0 ? '' : ` (its ${positions.filter((p) => !kept.includes(p)).map(name).join(', ')} with the DR row's own ${kept.map(name).join(', ')})`;
      return `the value the row written takes in unique key ${uk.name}${mix} was not read from the DR: whether another DR row holds it is unknown`;
    }
  }
  return null;
}

/** The unique keys of an update that needs none checked on the DR row it meets (the shared empty list, never changed). */
const NO_KEYS: ReturnType<typeof keysNeedingDrRow> = [];

/**
 * Why the value a keyed update writes into one of `keys` (`written`: the after image over the DR
 * row it meets) is not known free: a part neither image nor the DR row gives, or a value the window
 * did not read the holders of (collectWrittenRowReads asks each value the window's earlier changes
 * may leave the row with). A value with a NULL part collides with nothing. Null when each is known.
 */
function unreadWrittenValue(table: TableSchema, state: TableState, keys: ReturnType<typeof keysNeedingDrRow>, written: RowImage): string | null {
  for (const { key, positions } of keys) {
    const v = writtenKeyValue(state, key.name, positions, written);
    if (v.kind === 'unknown') return `this update keeps the DR row's ${v.parts.map((p) => (table.columns[p] as ColumnSchema).name).join(', ')} of unique key ${key.name}, which neither its images nor the DR row read give: whether another DR row holds the value it writes is unknown`;
    if (v.kind === 'known' && !v.read) return `the value this update writes into unique key ${key.name} (its after image over the DR row's own ${positions.filter((p) => written[p] !== undefined).map((p) => (table.columns[p] as ColumnSchema).name).join(', ')}) was not read from the DR: whether another DR row holds it is unknown`;
  }
  return null;
}

/**
 * A unique key of a keyless table that an update changes a part of (its after image logs the part,
 * other than the before image's value) to a value with no NULL part (`newRow`, the row it writes:
 * writtenRow) of which a part is not the value the window read the key's holders by (the after
 * image's, else the before image's: collectReads) — a part neither image gives, or an ignored one
 * the row holds otherwise — so the value is known only once the row is matched, too late to ask the
 * DR. Decided by the images and the row alone, never by what else the window happened to read, so
 * the window size does not change it. Null when there is none.
 */
function unreadUniqueValue(table: TableSchema, state: TableState, before: RowImage, after: RowImage, newRow: RowImage): { readonly key: string; readonly columns: readonly string[] } | null {
  for (const uk of table.uniqueKeys) {
    const parts = uk.columns.map((c) => state.position(c));
    if (!parts.some((p) => after[p] !== undefined && !sameValue(before[p], after[p], table.columns[p] ?? null))) continue;
    if (parts.some((p) => newRow[p] === null || newRow[p] === undefined)) continue;
    const unknown = parts.filter((p) => !sameValue(after[p] === undefined ? before[p] : after[p], newRow[p], table.columns[p] ?? null));
    if (unknown.length > 0) return { key: uk.name, columns: unknown.map((p) => (table.columns[p] as ColumnSchema).name) };
  }
  return null;
}

/** What a keyless table's insert-unique-taken may be decided by: none needs the holder's identity. */
const KEYLESS_UNIQUE_STRATEGIES: ReadonlySet<string> = new Set(['quarantine', 'skip', 'fail', 'rewrite-unique']);

/** A keyless table's write names its row by image (WriteOp `image`): no key. */
const NO_KEY: readonly ColumnValue[] = [];

const NO_IMAGES: readonly RowImage[] = [];

/** What a custom strategy function is shown of a change (custom-strategy.ts), keyed or keyless (`key` null). */
function customContext(table: TableSchema, qualified: string, change: RowChange, c: Classification, key: CustomStrategyContext['key'], call: CustomCall): CustomStrategyContext {
  return {
    class: c.class,
    table: qualified,
    op: change.op,
    columns: table.columns.map((col) => col.name),
    key,
    before: canonicalImage(change.before, table),
    after: canonicalImage(change.after, table),
    dr: canonicalImage(c.drRow, table),
    uniqueKey: c.uniqueKey,
    uniqueHolder: canonicalImage(c.uniqueHolder, table),
    differsFromBefore: [...c.differsFromBefore],
    differsFromAfter: [...c.differsFromAfter],
    change: call.change,
    rulePath: call.rulePath,
  };
}

/** An update or delete of a table without a primary key, matched by image: what #carryOutKeyless and #keylessCustom act on. */
interface KeylessCase {
  readonly table: TableSchema;
  readonly keyless: KeylessRows;
  readonly change: RowChange;
  readonly m: { readonly c: Classification; readonly probe: RowImage; readonly near: number };
  readonly done: Ctx['done'];
  readonly quarantine: Ctx['quarantine'];
  readonly writes: WriteOp[];
  readonly qualified: string;
  /** The change's label (GTID#index), for a custom function's call. */
  readonly at: string;
}

/** Everything a strategy needs about the change it decides. */
interface Ctx {
  readonly table: TableSchema;
  readonly state: TableState;
  /** The change rewritten through the key map. */
  readonly change: RowChange;
  readonly c: Classification;
  readonly done: (cls: ChangeClass, outcome: Outcome, reason: string | null, drRow: RowImage | null, extra?: DecisionExtra) => Pending;
  readonly quarantine: (cls: ChangeClass, reason: string, drRow?: RowImage | null) => Pending;
  readonly writes: WriteOp[];
  readonly qualified: string;
  readonly sourceKey: readonly ColumnValue[] | null;
  readonly rule: Rule;
  /** The change's transaction and index in it (its `GTID#index` label is made where a strategy needs it: changeLabel). */
  readonly tx: Transaction;
  readonly index: number;
  /** Set while a re-keyed insert is decided by a second rule (Reconciler #uniqueAfterRemap). */
  readonly remapped?: Remapped;
}

/** A remap that met a unique holder: the re-keyed change, and how to give its fresh key back. */
interface Remapped {
  /** The insert at its source key, and re-keyed. */
  readonly original: RowChange;
  readonly change: RowChange;
  readonly newKey: readonly ColumnValue[];
  readonly holder: { readonly key: string; readonly row: RowImage };
  /** The rule that re-keyed it, as the rule path names it (`built-in.insert-pk-taken → remap`). */
  readonly firstStep: string;
  /** Undoes the key map entry and the key floor (idempotent). */
  readonly undo: () => void;
  readonly undone: () => boolean;
}

/** Records the rule that decided; a strategy that handed on (custom) has recorded the path it took. */
function withRule(p: Pending, rule: Rule): Pending {
  if (typeof p.decision.rulePath === 'string') return p;
  return { ...p, decision: { ...p.decision, rulePath: p.decision.rulePath ?? rule.path } };
}

/**
 * Why a strategy of update-unique-taken cannot carry out a move onto a primary key another DR row
 * holds: the DR's record there is one of its own (other rows name it by that key), and the lost row's
 * later changes name the new key, so they would reach that record if the row stayed behind.
 */
const PRIMARY_KEY_REFUSALS: Partial<Record<Strategy['strategy'], string>> = {
  'rewrite-unique': 'rewrites a unique value by a template; it does not make up a primary key, and the new primary key of the row is held by another DR row',
  'delete-blocking': 'deletes DR rows that hold a unique value, not the DR record at the primary key the lost row moves to',
  skip: 'the lost row would stay at its old key while its later changes name the new one, held by another DR row',
};

/** The built-in reason of each class that quarantines. */
function defaultReason(c: Classification): string {
  switch (c.class) {
    case 'insert-unique-taken':
    case 'update-unique-taken':
      return c.uniqueKey === PRIMARY_KEY ? 'another DR row already holds the new primary key of the row' : `another DR row already holds unique key ${c.uniqueKey ?? '?'}`;
    case 'update-missing':
      return 'the DR has no row with this key (deleted on the DR, or never there: no DR binlog to tell)';
    case 'update-deleted-on-dr':
      return `the DR deleted this row after the failover (${c.historyRow?.last ?? 'its binlog'})`;
    case 'update-never-existed':
      return "the DR never had this row: its binlog shows no delete of it since the failover";
    case 'update-pk-reused':
    case 'delete-pk-reused':
      return `the DR gave this id to a record it created after the failover (${c.historyRow?.first ?? 'its binlog'}): not the row the lost change meant`;
    case 'delete-diverged':
      return c.differsFromBefore.length > 0 ? `the DR row differs from the deleted row in ${c.differsFromBefore.join(', ')}` : `the DR changed this row after the failover (${c.drChanged.join(', ')}), then changed it back`;
    case 'update-diverged':
      return `the DR row differs from the before image in ${c.differsFromBefore.join(', ')}`;
    case 'insert-pk-taken':
      return c.historyRow?.insertedByDr === true ? `the DR gave its id to a record it created after the failover (${c.historyRow.first})` : 'the DR gave its id to a different record';
    case 'insert-pk-same-record':
      return `same record changed on the DR since, in ${c.differsFromAfter.join(', ')}`;
    default:
      return c.class;
  }
}

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` (UTC, as the decoder prints it) → milliseconds; NaN for other text. */
function utcMillis(text: string): number {
  return /^\d{4}-\d\d-\d\d/.test(text) ? Date.parse(`${text.replace(' ', 'T').slice(0, 23)}Z`) : Number.NaN;
}

/** A UUID v7 whose time is the transaction's and whose random bits come from the source row's identity. */
function deterministicUuidV7(label: string, identity: string, msecs: number): string {
  const random = createHash('sha256').update(`${label}\u0000${identity}`).digest().subarray(0, 16);
  return uuidV7({ msecs, random: new Uint8Array(random) });
}

/** Orders rows of `state`'s table by primary key (a full key is never NULL). */
function byPrimaryKey(state: TableState): (a: RowImage, b: RowImage) => number {
  return (a, b) => {
    for (const p of state.pkPositions) {
      const c = compareValues(a[p] as ColumnValue, b[p] as ColumnValue, state.schema.columns[p] ?? null);
      if (c !== 0) return c;
    }
    return 0;
  };
}

/** What a delete's referential actions come to on the rows the window read (see Reconciler #cascadePlan). */
interface CascadePlan {
  readonly deletes: { readonly state: TableState; readonly pk: string; readonly row: RowImage }[];
  /** Rows whose foreign-key columns at `positions` become NULL. */
  readonly nulls: { readonly state: TableState; readonly row: RowImage; readonly positions: readonly number[] }[];
  /** What is carried out, per foreign key, for the reason. */
  readonly cascaded: string[];
  /** Logical references whose rows stay as they are. */
  readonly left: string[];
  /** Why the delete must wait instead. */
  readonly blocked: string[];
}

/** The largest value of an integer column type, or undefined for another type. */
function integerMax(dataType: string, unsigned: boolean): bigint | undefined {
  const bits = ({ tinyint: 8n, smallint: 16n, mediumint: 24n, int: 32n, integer: 32n, bigint: 64n } as Record<string, bigint>)[dataType.toLowerCase()];
  if (bits === undefined) return undefined;
  return unsigned ? (1n << bits) - 1n : (1n << (bits - 1n)) - 1n;
}
