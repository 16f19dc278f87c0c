/**
 * Rewriting lost changes through the key map (DESIGN.md "Strategies": `remap`; invariant
 * "remapped keys are fresh and every applied reference follows them"). A lost row whose key
 * collides on the DR is re-keyed by `remapInsert`; `applyRemaps` then rewrites, in later changes,
 * the same row's primary key and every foreign-key column (declared or configured) that points at
 * an old key. Pure: it returns new change objects and never mutates its inputs.
 *
 * Each image is rewritten from its original values, never through a chain of mappings: the key
 * map's old keys are source identities, and a new key is never also an old key (KeyMap.set).
 */
import { EngineError } from '../errors.js';
import type { RowChange } from '../binlog/event.js';
import type { ColumnValue, RowImage } from '../binlog/column.js';
import type { SchemaCatalog, TableSchema } from '../model/table-schema.js';
import { canonicalKey, type KeyMap } from './key-map.js';

/** A change `applyRemaps` rewrote: its position in the input and the columns it changed. */
export interface RewrittenChange {
  readonly index: number;
  /** `schema.table`. */
  readonly table: string;
  /** In column order. */
  readonly columns: string[];
}

export interface RemapResult {
  /** Same length and order as the input; unchanged changes (and unchanged images) are the input objects themselves. */
  readonly changes: RowChange[];
  readonly rewritten: RewrittenChange[];
}

export const RemapErrorCode = {
  /** The change cannot be re-keyed (not an insert, key not logged, wrong key width, no primary key). */
  BadRemap: 'RECONCILE_REMAP_BAD_CHANGE',
  /** Two mappings want different values in one column (a key column that is also a foreign key). */
  Conflict: 'RECONCILE_REMAP_CONFLICT',
} as const;
export type RemapErrorCode = (typeof RemapErrorCode)[keyof typeof RemapErrorCode];

/** A key to follow: `columns` (image positions, in the target's primary-key order) point at `schema`.`table`. */
interface KeyRef {
  readonly schema: string;
  readonly table: string;
  readonly positions: readonly number[];
}

/** Built once per table per call (STYLE.md rule 6). */
interface TablePlan {
  readonly names: readonly string[];
  /** The table's own primary key first (when it has one), then each usable foreign key. */
  readonly refs: readonly KeyRef[];
}

/** Rewrites every change whose primary key or foreign-key columns hold a remapped old key. */
export function applyRemaps(changes: readonly RowChange[], keyMap: KeyMap, catalog: SchemaCatalog): RemapResult {
  const out: RowChange[] = new Array<RowChange>(changes.length);
  const rewritten: RewrittenChange[] = [];
  const plans = new Map<string, TablePlan | null>();
  for (let i = 0; i < changes.length; i++) {
    const change = changes[i] as RowChange;
    out[i] = change;
    if (keyMap.size === 0) continue;
    const plan = planFor(change.table.schema, change.table.table, catalog, keyMap, plans);
    if (plan === null) continue;
    const changed = new Set<number>();
    const where = `${change.table.schema}.${change.table.table}`;
    const before = rewriteImage(change.before, plan, keyMap, changed, where, change.eventOffset);
    const after = rewriteImage(change.after, plan, keyMap, changed, where, change.eventOffset);
    if (changed.size === 0) continue;
    out[i] = { op: change.op, table: change.table, before, after, eventOffset: change.eventOffset };
    const columns = [...changed].sort((a, b) => a - b).map((p) => plan.names[p] ?? `@${p + 1}`);
    rewritten.push({ index: i, table: where, columns });
  }
  return { changes: out, rewritten };
}

/**
 * Records `change`'s primary key → `newKey` in `keyMap` and returns the insert with the new key in
 * its after image. Throws when the change is not an insert, its table has no primary key, or its
 * key is not logged.
 */
export function remapInsert(change: RowChange, newKey: readonly ColumnValue[], keyMap: KeyMap, catalog: SchemaCatalog): RowChange {
  const t = change.table;
  const where = `${t.schema}.${t.table}`;
  const fail = (why: string): EngineError => new EngineError(RemapErrorCode.BadRemap, `cannot remap ${change.op} on ${where} at offset ${change.eventOffset}: ${why}`, { table: where, offset: change.eventOffset });
  if (change.op !== 'insert' || change.after === null) throw fail('only an insert with an after image is re-keyed');
  const schema = catalog.get(t.schema, t.table);
  if (schema === undefined) throw fail('the table is not in the DR\'s schema');
  const positions = primaryKeyPositions(schema);
  if (positions === null) throw fail('the table has no primary key');
  if (newKey.length !== positions.length) throw fail(`new key has ${newKey.length} values, the primary key ${positions.length} columns`);
  const after = change.after;
  const oldKey: ColumnValue[] = [];
  for (const p of positions) {
    const v = after[p];
    if (v === undefined || v === null) throw fail(`primary-key column ${schema.columns[p]?.name ?? p} is ${v === null ? 'NULL' : 'not logged'}`);
    oldKey.push(v);
  }
  keyMap.set(t.schema, t.table, oldKey, newKey);
  const stored = keyMap.get(t.schema, t.table, oldKey) ?? newKey;
  const image: RowImage = after.slice();
  positions.forEach((p, k) => { image[p] = stored[k] as ColumnValue; });
  return { op: change.op, table: change.table, before: change.before === null ? null : change.before.slice(), after: image, eventOffset: change.eventOffset };
}

function planFor(schemaName: string, tableName: string, catalog: SchemaCatalog, keyMap: KeyMap, plans: Map<string, TablePlan | null>): TablePlan | null {
  const k = `${schemaName}\u0000${tableName}`;
  let plan = plans.get(k);
  if (plan === undefined) {
    plan = buildPlan(catalog.get(schemaName, tableName), catalog, keyMap);
    plans.set(k, plan);
  }
  return plan;
}

/** The keys of `schema` that may hold an old key; null when none can (the common, fast case). */
function buildPlan(schema: TableSchema | undefined, catalog: SchemaCatalog, keyMap: KeyMap): TablePlan | null {
  if (schema === undefined) return null;
  const refs: KeyRef[] = [];
  const own = primaryKeyPositions(schema);
  if (own !== null && keyMap.hasTable(schema.schema, schema.table)) refs.push({ schema: schema.schema, table: schema.table, positions: own });
  for (const fk of schema.foreignKeys) {
    if (!keyMap.hasTable(fk.refSchema, fk.refTable)) continue;
    const parent = catalog.get(fk.refSchema, fk.refTable);
    const pk = parent?.primaryKey ?? null;
    if (pk === null) continue;
    // The key map is keyed by the parent's primary key: the FK can be followed when it covers every
    // primary-key column (an FK on a unique key that contains the primary key included).
    const positions: number[] = [];
    for (const col of pk) {
      const at = fk.refColumns.indexOf(col);
      const childCol = at === -1 ? undefined : fk.columns[at];
      const p = childCol === undefined ? -1 : schema.columns.findIndex((c) => c.name === childCol);
      if (p === -1) break;
      positions.push(p);
    }
    if (positions.length === pk.length) refs.push({ schema: fk.refSchema, table: fk.refTable, positions });
  }
  return refs.length === 0 ? null : { names: schema.columns.map((c) => c.name), refs };
}

function primaryKeyPositions(schema: TableSchema): number[] | null {
  if (schema.primaryKey === null || schema.primaryKey.length === 0) return null;
  const positions = schema.primaryKey.map((name) => schema.columns.findIndex((c) => c.name === name));
  return positions.includes(-1) ? null : positions;
}

/**
 * The image with every mapped key replaced, or the same image when nothing is mapped. A key with
 * a NULL (MATCH SIMPLE: no reference) or a column the image did not log is left alone.
 */
function rewriteImage(img: RowImage | null, plan: TablePlan, keyMap: KeyMap, changed: Set<number>, where: string, offset: number): RowImage | null {
  if (img === null) return null;
  let copy: RowImage | null = null;
  let written: Map<number, ColumnValue> | null = null;
  for (const ref of plan.refs) {
    const values: ColumnValue[] = [];
    for (const p of ref.positions) {
      const v = img[p];
      if (v === undefined || v === null) break;
      values.push(v);
    }
    if (values.length !== ref.positions.length) continue;
    const newKey = keyMap.getCanonical(ref.schema, ref.table, canonicalKey(values));
    if (newKey === undefined) continue;
    written ??= new Map();
    for (let k = 0; k < ref.positions.length; k++) {
      const p = ref.positions[k] as number;
      const v = newKey[k] as ColumnValue;
      const prior = written.get(p);
      if (prior !== undefined && canonicalKey([prior]) !== canonicalKey([v])) {
        throw new EngineError(RemapErrorCode.Conflict, `column ${plan.names[p] ?? p} of ${where} at offset ${offset} would be rewritten to both ${String(prior)} and ${String(v)} (it is part of two remapped keys)`, { table: where, column: plan.names[p], offset });
      }
      written.set(p, v);
      // A composite key may keep some of its values: only columns whose value changes are rewritten.
      if (canonicalKey([values[k] as ColumnValue]) === canonicalKey([v])) continue;
      copy ??= img.slice();
      copy[p] = v;
      changed.add(p);
    }
  }
  return copy ?? img;
}
