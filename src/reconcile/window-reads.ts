/**
 * The keys a window must read from the DR before it can classify anything (DESIGN.md "The
 * streaming hot path": collect keys → one batched read per table and key). For every change: the
 * row at its primary key (before and after, for an update that moves it), the holders of its
 * unique values, the parents its foreign keys point at, and — for a delete — the rows of other
 * tables that still point at it (the cascade guard). Keys the state already knows (plan mode keeps
 * its overlay across windows) are not asked again.
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import type { RowChange } from '../binlog/event.js';
import { imageKey, rowKeyAt } from '../model/row-key.js';
import type { SchemaCatalog, TableSchema, UniqueKey } from '../model/table-schema.js';
import { asPrimaryKeyOrder, type IndexName, type TableState } from './table-state.js';
import { changesKey, insertedRow, keepsDrValue, writtenRow } from './written-row.js';

/** One batched read: rows of `table` whose `columns` equal one of `keys`. */
export interface ReadRequest {
  readonly table: TableSchema;
  readonly columns: readonly string[];
  /** Values in `columns` order, no NULLs. */
  readonly keys: ColumnValue[][];
  /** What the answer completes: the primary key, or a unique / foreign-key index of `table`. */
  readonly purpose: 'pk' | IndexName;
  /** The canonical keys asked (primary keys for 'pk', folded index keys else), marked read afterwards. */
  readonly asked: string[];
}

/** The states of the tables a window touches, created on first use. */
export interface StateSet {
  get(table: TableSchema): TableState;
}

/** Whether `columns` are exactly the table's primary key (in any order); returns `values` (in `columns` order) in key order. */
export function asPrimaryKey(table: TableSchema, columns: readonly string[], values: readonly (ColumnValue | undefined)[]): (ColumnValue | undefined)[] | null {
  const order = asPrimaryKeyOrder(table, columns);
  return order === null ? null : order.map((i) => values[i]);
}

/** How many rewritten candidates of a clashing unique value a window reads (rewrite-unique's {n} = 1…this). */
export const REWRITE_CANDIDATES = 5;

/** A rewrite-unique template's candidate for `value` and `n` (`{gtid}` templates are not read ahead: see reconciler.ts). */
export function rewriteCandidate(template: string, value: string, n: number, label: string): string {
  return template.replaceAll('{value}', value).replaceAll('{n}', String(n)).replaceAll('{gtid}', label);
}

/**
 * Collects the reads for `changes` (already rewritten through the key map). `rewriteTemplates`
 * names the rewrite-unique templates configured for a table: the holders of their first candidates
 * are read too, so a rewritten value is checked against the DR, not only against the window.
 */
export function collectReads(changes: readonly RowChange[], catalog: SchemaCatalog, states: StateSet, rewriteTemplates: (table: TableSchema) => readonly string[] = () => []): ReadRequest[] {
  const reads = new WindowReads(states);
  // Asked once per table: a window holds many changes of few tables.
  const templates = new Map<TableSchema, readonly string[]>();
  const templatesOf = (table: TableSchema): readonly string[] => {
    let forTable = templates.get(table);
    if (forTable === undefined) templates.set(table, (forTable = rewriteTemplates(table)));
    return forTable;
  };
  for (const change of changes) {
    const table = catalog.get(change.table.schema, change.table.table);
    if (table === undefined) continue;
    if (table.primaryKey === null) {
      // A keyless table's own rows are read by image (collectImageReads); the holders of its unique
      // values (a UNIQUE key over nullable columns gives no identity, but still refuses a second
      // row with a non-NULL value) and the parents its rows point at, as any table's.
      if (change.after) {
        // An update's after image may leave out columns it does not set (MariaDB's
        // binlog_row_image=FULL_NODUP): the row keeps them, so its new unique values take them from
        // the before image, which the row it matches equals on every column the image logs.
        if (table.uniqueKeys.length > 0) wantUniques(reads, states.get(table), table, completedAfter(change.after, change.before), templatesOf(table));
        wantParents(reads, catalog, states.get(table), table, change.after);
      }
      continue;
    }
    const state = states.get(table);
    if (change.before) reads.wantPkAt(table, change.before, state.pkPositions);
    const after = change.after;
    if (after) {
      reads.wantPkAt(table, after, state.pkPositions);
      // An insert's column left out (MINIMAL) holds the DR's known default (insertedRow): part of its unique values.
      if (table.uniqueKeys.length > 0) wantUniques(reads, state, table, change.op === 'insert' ? insertedRow(table, after) : after, templatesOf(table));
      wantParents(reads, catalog, state, table, after);
    }
    if (change.before && (change.op === 'delete' || change.op === 'update')) {
      const before = change.before;
      for (const ref of catalog.referencing(table.schema, table.table)) {
        const child = catalog.get(ref.schema, ref.table);
        if (child === undefined) continue;
        const values = ref.foreignKey.refColumns.map((c) => before[state.position(c)]);
        reads.wantIndex(child, `fk:${ref.foreignKey.name}`, ref.foreignKey.columns, values);
      }
    }
  }
  return reads.requests;
}

/** `after` with the cells it does not log taken from `before` (`after` itself when it logs every cell, or there is no before image). */
function completedAfter(after: RowImage, before: RowImage | null): RowImage {
  if (before === null || !after.includes(undefined)) return after;
  return after.map((v, i) => (v === undefined ? before[i] : v));
}

/** The DR rows holding `after`'s unique values (a row of `table`), and those of the first rewrite-unique candidates of `templates`. */
function wantUniques(reads: WindowReads, state: TableState, table: TableSchema, after: RowImage, templates: readonly string[]): void {
  for (const uk of table.uniqueKeys) wantUniqueValues(reads, table, uk, uk.columns.map((c) => after[state.position(c)]), templates);
}

/** The rows `after` (a row of `table`) points at through its foreign keys: by the parent's primary key, or the unique key the foreign key names. */
function wantParents(reads: WindowReads, catalog: SchemaCatalog, state: TableState, table: TableSchema, after: RowImage): void {
  for (const fk of table.foreignKeys) {
    const parent = catalog.get(fk.refSchema, fk.refTable);
    if (parent === undefined) continue;
    const parentKey = state.parentKeyPositions(fk, parent);
    if (parentKey !== null) {
      reads.wantPkAt(parent, after, parentKey);
      continue;
    }
    const values = fk.columns.map((c) => after[state.position(c)]);
    const uk = parent.uniqueKeys.find((u) => u.columns.length === fk.refColumns.length && u.columns.every((c) => fk.refColumns.includes(c)));
    if (uk !== undefined) reads.wantIndex(parent, `uk:${uk.name}`, uk.columns, uk.columns.map((c) => values[fk.refColumns.indexOf(c)]));
  }
}

/** A read being collected, and the canonical keys it asks (each once). */
interface Collecting {
  readonly request: ReadRequest;
  readonly asked: Set<string>;
}

/**
 * The reads of one collectReads call, per table and purpose in the order first asked. Keys are
 * de-duplicated per read by their canonical form (one Set per read: a string made of table,
 * purpose and key per lookup cost ≈ 0.2 s per 200k changes).
 */
class WindowReads {
  readonly requests: ReadRequest[] = [];
  readonly #states: StateSet;
  readonly #byTable = new Map<TableSchema, Map<ReadRequest['purpose'], Collecting>>();

  constructor(states: StateSet) {
    this.#states = states;
  }

  /**
   * The row of `table` whose primary key `image` holds at `positions`, in primary-key order: a row of
   * `table` itself (its pkPositions), or of a child pointing at it. A key with a NULL or unlogged
   * part is asked for no row.
   */
  wantPkAt(table: TableSchema, image: RowImage, positions: readonly number[]): void {
    if (table.primaryKey === null || positions.some((p) => image[p] === undefined || image[p] === null)) return;
    const state = this.#states.get(table);
    const pk = rowKeyAt(image, positions);
    if (state.knows(pk)) return;
    const c = this.#collecting(table, 'pk', table.primaryKey);
    if (c.asked.has(pk)) return;
    this.#add(c, positions.map((p) => image[p] as ColumnValue), pk);
  }

  /** The rows holding `values` (in `columns` order) in index `name`. */
  wantIndex(table: TableSchema, name: IndexName, columns: readonly string[], values: readonly (ColumnValue | undefined)[]): void {
    const state = this.#states.get(table);
    // Null when a part is NULL or not logged: such a key matches no row.
    const k = state.indexKeyFromValues(name, values);
    if (k === null || state.requestedIndexKey(name, k)) return;
    const c = this.#collecting(table, name, columns);
    if (c.asked.has(k)) return;
    this.#add(c, values as ColumnValue[], k);
  }

  #collecting(table: TableSchema, purpose: ReadRequest['purpose'], columns: readonly string[]): Collecting {
    let forTable = this.#byTable.get(table);
    if (forTable === undefined) this.#byTable.set(table, (forTable = new Map()));
    let c = forTable.get(purpose);
    if (c === undefined) {
      const request: ReadRequest = { table, columns, keys: [], purpose, asked: [] };
      forTable.set(purpose, (c = { request, asked: new Set() }));
      this.requests.push(request);
    }
    return c;
  }

  #add(c: Collecting, values: ColumnValue[], canonical: string): void {
    c.asked.add(canonical);
    c.request.asked.push(canonical);
    c.request.keys.push(values);
  }
}

/** The ignored columns of a table without any (collectHolderChildReads' default). */
const NO_IGNORED: ReadonlySet<string> = new Set();

/** How many values of one unique key a window asks for one update (collectWrittenRowReads): past it, the update is held for a value not read. */
const MAX_WRITTEN_VALUES = 16;

/**
 * The second read of a window, after the first one is loaded: the holders of the values an update
 * of a table with a primary key may write into a unique key of several columns where its after
 * image does not give them whole (a key of one column is the after image's or the row's own). The
 * row keeps the DR row's value of a part the image leaves out (MariaDB's binlog_row_image=MINIMAL
 * logs the key and the columns set) or of an ignored column (`ignored`) the change did not change
 * (written-row.ts), and a merge of a row the DR changed too keeps the DR's value of a part it
 * changed, as does an insert merged into the DR row at its key (insert-pk-same-record, whose after
 * image is all the first read asked): values only the first read gave. An earlier change of the window to the same row may
 * have set a part (or not, when it is held): each value the part may have then — the DR row's,
 * each earlier after image's of the row — is asked, so what the window reads does not depend on
 * how the lost range is cut into windows (the reconciler holds an update whose value was not read
 * all the same). `rewriteTemplates`: rewrite-unique's candidates, as collectReads.
 */
export function collectWrittenRowReads(
  changes: readonly RowChange[],
  catalog: SchemaCatalog,
  states: StateSet,
  ignored: (table: TableSchema) => ReadonlySet<string>,
  rewriteTemplates: (table: TableSchema) => readonly string[] = () => [],
): ReadRequest[] {
  const reads = new WindowReads(states);
  // Per table: the values each column of a row (by primary key) may hold when a change of the window
  // meets it, as the window's earlier changes leave it. Only tables with a key of several columns
  // need it (most have none: nothing is tracked for them).
  let rows: Map<TableSchema, Map<string, (ColumnValue | undefined)[][]> | null> | null = null;
  for (const change of changes) {
    if (change.after === null) continue;
    const table = catalog.get(change.table.schema, change.table.table);
    if (table === undefined || table.primaryKey === null || table.uniqueKeys.length === 0) continue;
    rows ??= new Map();
    let known = rows.get(table);
    if (known === undefined) rows.set(table, (known = table.uniqueKeys.some((k) => k.columns.length > 1) ? new Map() : null));
    if (known === null) continue;
    const state = states.get(table);
    const after = change.after;
    const afterPk = state.keyOf(after);
    const insert = change.op === 'insert' || change.before === null;
    const before = insert ? null : change.before;
    const selfPk = before === null ? afterPk : state.keyOf(before);
    if (selfPk === null) continue;
    const dr = state.knows(selfPk) ? state.keyHolder(selfPk) : null;
    // An insert that meets no row at its key writes its image; one that meets a row is merged into it.
    const met = known.get(selfPk) ?? (dr === null ? null : dr.map((v) => [v]));
    if (met === null) {
      // A column the insert leaves out holds the DR's default where that is known (insertedRow).
      if (insert) known.set(selfPk, insertedRow(table, after).map((v) => [v]));
      continue;
    }
    const ignore = ignored(table);
    for (const key of table.uniqueKeys) {
      if (key.columns.length < 2) continue;
      const positions = key.columns.map((c) => state.position(c));
      if (!changesKey(table, positions, before, after)) continue;
      // A part the change writes: its after image's value, or (a merge) the row's; one it keeps: the row's.
      const parts = positions.map((p) => (keepsDrValue(table, before, after, p, ignore) ? (met[p] ?? []) : [after[p], ...(met[p] ?? [])]));
      for (const values of product(parts, MAX_WRITTEN_VALUES)) wantUniqueValues(reads, table, key, values, rewriteTemplates(table));
    }
    // The row as later changes of the window may meet it: this update applied, merged, or held.
    const next = met.map((vs, i) => (after[i] === undefined || vs.some((v) => v === after[i]) ? vs : [...vs, after[i]]));
    known.set(selfPk, next);
    if (afterPk !== null && afterPk !== selfPk) known.set(afterPk, next);
  }
  return reads.requests;
}

/** Each choice of one value per part (in part order), at most `max` of them; a part with no value gives none. */
function product(parts: readonly (readonly (ColumnValue | undefined)[])[], max: number): (ColumnValue | undefined)[][] {
  let out: (ColumnValue | undefined)[][] = [[]];
  for (const values of parts) {
    const next: (ColumnValue | undefined)[][] = [];
    for (const prefix of out) for (const v of values) if (next.length < max) next.push([...prefix, v]);
    out = next;
  }
  return out;
}

/**
 * The DR rows holding `values` (in `key`'s column order) in unique key `key`, and those of the
 * rewrite-unique candidates of `templates` as reconciler.ts #rewriteUnique tries them: each string
 * part in turn rewritten with {n} = 1…REWRITE_CANDIDATES, the parts before it at their first
 * candidate (rewritten already), those after it as they are. A key of one column: its candidates.
 */
function wantUniqueValues(reads: WindowReads, table: TableSchema, key: UniqueKey, values: readonly (ColumnValue | undefined)[], templates: readonly string[]): void {
  reads.wantIndex(table, `uk:${key.name}`, key.columns, values);
  for (const template of templates) {
    if (template === 'null' || template.includes('{gtid}')) continue;
    const tried = values.slice();
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (typeof v !== 'string') continue;
      for (let n = 1; n <= REWRITE_CANDIDATES; n++) {
        tried[i] = rewriteCandidate(template, v, n, '');
        // A copy: the read keeps the values it is given.
        reads.wantIndex(table, `uk:${key.name}`, key.columns, tried.slice());
      }
      tried[i] = rewriteCandidate(template, v, 1, '');
    }
  }
}

/**
 * The second read of a window, after the first one is loaded: the rows of other tables that point
 * at the DR rows holding a change's unique values (its own row aside), for the tables `wanted`
 * names — those whose rules may delete such a holder (`delete-blocking`) or make it the row later
 * changes reach (`link`: a later delete of the lost row deletes the holder, and the cascade guard
 * must see who points at it), or a custom strategy that may choose either. Who holds a value is
 * only known once the first read is in, hence two rounds; a child of a child is not read, and the
 * cascade it would need is refused (reconciler.ts).
 */
export function collectHolderChildReads(
  changes: readonly RowChange[],
  catalog: SchemaCatalog,
  states: StateSet,
  wanted: (table: TableSchema) => boolean,
  ignored: (table: TableSchema) => ReadonlySet<string> = () => NO_IGNORED,
): ReadRequest[] {
  const requests = new Map<string, ReadRequest>();
  for (const [table, , holder] of uniqueHolders(changes, catalog, states, wanted, ignored)) askReferencing(requests, catalog, states, table, holder, null);
  return [...requests.values()];
}

/**
 * The DR rows delete-blocking may delete for the window's changes, and the rows pointing at them, as
 * the window read them (after collectHolderChildReads' rows are loaded): per table, the rows an
 * earlier run's lost changes may have written, which such a delete must leave (reconciler.ts
 * #deleteBlocking asks the ledger's answer, Reconciler.noteEarlierRunWrites). `wanted`: the
 * tables whose rules may delete a blocker; `cap`: the most children a blocker of the table may have
 * and still be deleted (the children of one with more are left out: it is refused anyway).
 */
export function collectBlockerRows(
  changes: readonly RowChange[],
  catalog: SchemaCatalog,
  states: StateSet,
  wanted: (table: TableSchema) => boolean,
  cap: (table: TableSchema) => number,
  ignored: (table: TableSchema) => ReadonlySet<string> = () => NO_IGNORED,
): Map<TableSchema, RowImage[]> {
  const out = new Map<TableSchema, Map<string, RowImage>>();
  const add = (table: TableSchema, key: string, row: RowImage): void => {
    let rows = out.get(table);
    if (rows === undefined) out.set(table, (rows = new Map()));
    rows.set(key, row);
  };
  for (const [table, state, holder, hk] of uniqueHolders(changes, catalog, states, wanted, ignored)) {
    if (hk === null) continue;
    add(table, hk, holder);
    const children: [TableSchema, string, RowImage][] = [];
    for (const ref of catalog.referencing(table.schema, table.table)) {
      const child = catalog.get(ref.schema, ref.table);
      if (child === undefined || child.primaryKey === null) continue;
      const childState = states.get(child);
      const ck = childState.indexKeyFromValues(`fk:${ref.foreignKey.name}`, ref.foreignKey.refColumns.map((c) => holder[state.position(c)]));
      if (ck === null) continue;
      for (const r of childState.rowsBy(`fk:${ref.foreignKey.name}`, ck)) {
        const rk = childState.keyOf(r);
        if (rk !== null) children.push([child, rk, r]);
      }
    }
    if (children.length <= cap(table)) for (const [child, rk, r] of children) add(child, rk, r);
  }
  const result = new Map<TableSchema, RowImage[]>();
  for (const [table, rows] of out) result.set(table, [...rows.values()]);
  return result;
}

/**
 * The DR rows holding the unique values of the rows the window's changes write (their own row
 * aside), for the tables `wanted` names: table, its state, the holder and the holder's key. An
 * update's unique values are those of the row it writes (written-row.ts): a part its after image
 * leaves out (MINIMAL) or an ignored one it did not change is the DR row's. An insert has no DR row
 * of its own to leave out: the DR row at its key is another record when it holds the value (the
 * insert is remapped, and delete-blocking may delete that row).
 */
function* uniqueHolders(
  changes: readonly RowChange[],
  catalog: SchemaCatalog,
  states: StateSet,
  wanted: (table: TableSchema) => boolean,
  ignored: (table: TableSchema) => ReadonlySet<string>,
): Generator<[TableSchema, TableState, RowImage, string | null]> {
  // Asked once per table: the rule lookup is not free, and a window holds many changes of few tables.
  const wants = new Map<TableSchema, boolean>();
  for (const change of changes) {
    const after = change.after;
    const table = catalog.get(change.table.schema, change.table.table);
    if (after === null || table === undefined || table.primaryKey === null) continue;
    let want = wants.get(table);
    if (want === undefined) wants.set(table, (want = wanted(table)));
    if (!want) continue;
    const state = states.get(table);
    const self = change.op === 'insert' ? null : state.keyOf(change.before ?? after);
    const dr = change.op === 'update' && self !== null && state.knows(self) ? state.keyHolder(self) : null;
    const row = dr === null ? after : writtenRow(table, change.before, after, dr, ignored(table));
    for (const uk of table.uniqueKeys) {
      const k = state.indexKeyOf(`uk:${uk.name}`, row);
      if (k === null) continue;
      for (const holder of state.rowsBy(`uk:${uk.name}`, k)) {
        const hk = state.keyOf(holder);
        if (hk !== self) yield [table, state, holder, hk];
      }
    }
  }
}

/**
 * Adds to `requests` the read of who points at `row` of `table` through the foreign keys onto it
 * (only those over one of `columns`, when given), per child table and key: keys the child's state
 * read already, or a request holds, are not asked again.
 */
function askReferencing(requests: Map<string, ReadRequest>, catalog: SchemaCatalog, states: StateSet, table: TableSchema, row: RowImage, columns: readonly string[] | null): void {
  const state = states.get(table);
  for (const ref of catalog.referencing(table.schema, table.table)) {
    if (columns !== null && !ref.foreignKey.refColumns.some((c) => columns.includes(c))) continue;
    const child = catalog.get(ref.schema, ref.table);
    if (child === undefined) continue;
    const name = `fk:${ref.foreignKey.name}` as const;
    const values = ref.foreignKey.refColumns.map((c) => row[state.position(c)]);
    const childState = states.get(child);
    const ck = childState.indexKeyFromValues(name, values);
    if (ck === null || childState.requestedIndexKey(name, ck)) continue;
    const id = `${child.schema}\u0000${child.table}\u0000${name}`;
    let r = requests.get(id);
    if (r === undefined) requests.set(id, (r = { table: child, columns: ref.foreignKey.columns, keys: [], purpose: name, asked: [] }));
    if (r.asked.includes(ck)) continue;
    r.asked.push(ck);
    r.keys.push(values as ColumnValue[]);
  }
}

/**
 * The second read of a window under a cascade guard that carries cascades out (`report`,
 * `allowUpTo`), after the first one is loaded: who points at the rows a lost delete's ON DELETE
 * CASCADE would delete, or whose referenced columns its SET NULL would change — the DR rows the
 * first read found pointing at the deleted row, and the rows the window's own changes make point
 * at it. The cascade is carried out one level deep and refused when such a row has rows of its own
 * (reconciler.ts #furtherReferences); without this read that depended on whether some other change
 * of the same window happened to read them, so the outcome changed with the window size.
 */
export function collectCascadeChildReads(changes: readonly RowChange[], catalog: SchemaCatalog, states: StateSet): ReadRequest[] {
  const requests = new Map<string, ReadRequest>();
  const wantReferencing = (table: TableSchema, row: RowImage, columns: readonly string[] | null): void => askReferencing(requests, catalog, states, table, row, columns);
  for (const change of changes) {
    const before = change.before;
    const table = catalog.get(change.table.schema, change.table.table);
    if (change.op !== 'delete' || before === null || table === undefined || table.primaryKey === null) continue;
    const state = states.get(table);
    for (const ref of catalog.referencing(table.schema, table.table)) {
      const fk = ref.foreignKey;
      // Only the actions the engine carries out reach further; the others refuse the delete.
      if (fk.origin !== 'schema' || (fk.onDelete !== 'CASCADE' && fk.onDelete !== 'SET NULL')) continue;
      const child = catalog.get(ref.schema, ref.table);
      if (child === undefined) continue;
      const childState = states.get(child);
      const name = `fk:${fk.name}` as const;
      const values = fk.refColumns.map((c) => before[state.position(c)]);
      const k = childState.indexKeyFromValues(name, values);
      if (k === null) continue;
      const reached = fk.onDelete === 'CASCADE' ? null : fk.columns;
      for (const row of childState.rowsBy(name, k)) wantReferencing(child, row, reached);
      // A row an earlier change of the window points at the deleted row (an insert, or a move).
      for (const other of changes) {
        const after = other.after;
        if (after === null || other.table.schema !== child.schema || other.table.table !== child.table) continue;
        if (childState.indexKeyOf(name, after) === k) wantReferencing(child, after, reached);
      }
    }
  }
  return [...requests.values()];
}

/** One batched read of a table without a primary key: the DR rows equal to each of `images` (KeylessRows.probe of a before image). */
export interface ImageReadRequest {
  readonly table: TableSchema;
  readonly images: RowImage[];
}

/**
 * The reads of the window's updates and deletes of tables without a primary key: per distinct
 * before image (as the table's KeylessRows searches by it), the DR rows equal to it — matched the
 * way replication matches such rows. Images already read (plan's overlay) are not asked again.
 * Tables with a key ask nothing here.
 */
export function collectImageReads(changes: readonly RowChange[], catalog: SchemaCatalog, states: StateSet, unmatchable: ReadonlyMap<TableSchema, string> = new Map()): ImageReadRequest[] {
  // Most schemas have no keyless table: their windows are not walked again (a table lookup per change).
  if (!catalog.tables.some((t) => t.primaryKey === null)) return [];
  let out: Map<TableSchema, { request: ImageReadRequest; asked: Set<string> }> | null = null;
  for (const change of changes) {
    if (change.op === 'insert' || change.before === null) continue;
    const table = catalog.get(change.table.schema, change.table.table);
    if (table === undefined || table.primaryKey !== null || unmatchable.has(table)) continue;
    const keyless = states.get(table).keyless;
    if (keyless === null) continue;
    const probe = keyless.probe(change.before);
    if (!probe.some((v) => v !== undefined) || keyless.knows(probe)) continue;
    out ??= new Map();
    let c = out.get(table);
    if (c === undefined) out.set(table, (c = { request: { table, images: [] }, asked: new Set() }));
    const k = imageKey(probe);
    if (c.asked.has(k)) continue;
    c.asked.add(k);
    c.request.images.push(probe);
  }
  return out === null ? [] : [...out.values()].map((c) => c.request);
}
