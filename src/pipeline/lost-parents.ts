/**
 * Which lost inserts a held row's foreign keys point at, for `resolve` (resolve.ts): a row must not
 * be written while its parent's insert is pending, nor when that insert was skipped (the DR row
 * holding the parent's key or unique value is another record, or there is none).
 *
 * A foreign key (declared, or a logical `references` the apply run followed) names its parent by
 * the parent's primary key or by another unique key of it; both are matched, each value folded by
 * the parent column's collation as the server compares it (a child may name `C9` as `c9` under a
 * `_ci` collation), as apply's holds do (reconciler.ts #missingParent).
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import { stringifyCanonical, type CanonicalValue } from '../binlog/values/canonical-json.js';
import { rowKey } from '../model/row-key.js';
import type { ForeignKey, SchemaCatalog, TableSchema } from '../model/table-schema.js';
import { FromCanonicalError, keyFromCanonical, rowFromCanonical } from '../reconcile/from-canonical.js';
import { uniqueFolder } from '../reconcile/value-equality.js';

/** A lost insert that `item` stands for, found as the parent of a row. */
export interface ParentMatch<T> {
  readonly item: T;
  /** The parent row as messages name it: `schema.table 4`, or `schema.table (code) "C9"` for a unique key. */
  readonly row: string;
  /** Named by a unique key other than the primary key (the DR row "with that value", not "at that key"). */
  readonly byValue: boolean;
  /** The parent table, the columns of its key the child names, and the child's values for them (the DR's types, in that order). */
  readonly table: TableSchema;
  readonly columns: readonly string[];
  readonly values: readonly ColumnValue[];
}

interface Insert<T> {
  /** The source key, canonical (null: not logged, or the table has no primary key). */
  readonly key: readonly CanonicalValue[] | null;
  readonly after: Readonly<Record<string, CanonicalValue>> | null;
  readonly item: T;
}

/** The primary key (`pk`) or a unique key (`uk:NAME`) of a parent table, and its columns. */
interface ParentKey {
  readonly name: string;
  readonly columns: readonly string[];
}

/** Lost inserts by table, looked up by the values a child's foreign key gives. */
export class LostInserts<T> {
  readonly #catalog: SchemaCatalog;
  readonly #byTable = new Map<TableSchema, Insert<T>[]>();
  /** Per table and key name: folded key → the inserts holding it; built on first use. */
  readonly #indexes = new Map<TableSchema, Map<string, Map<string, T[]>>>();

  constructor(catalog: SchemaCatalog) {
    this.#catalog = catalog;
  }

  /** Adds the insert of a row of `table` (as stored: `schema.table`); a table the DR does not have is left out (no row can point at it). */
  add(table: string, key: readonly CanonicalValue[] | null, after: Readonly<Record<string, CanonicalValue>> | null, item: T): void {
    const t = this.#catalog.lookup(table);
    if (t === undefined) return;
    const list = this.#byTable.get(t);
    if (list === undefined) this.#byTable.set(t, [{ key, after, item }]);
    else list.push({ key, after, item });
    this.#indexes.delete(t);
  }

  /** The inserts whose rows `row` (a row of `table`, canonical JSON in source terms) points at, one per foreign key and insert. */
  parentsOf(table: TableSchema, row: Readonly<Record<string, CanonicalValue>>): ParentMatch<T>[] {
    let image: RowImage | null = null;
    try {
      image = rowFromCanonical(row, table);
    } catch (e) {
      // A row that does not fit its table is refused when it is written; it points at nothing yet.
      if (!(e instanceof FromCanonicalError)) throw e;
      return [];
    }
    const out: ParentMatch<T>[] = [];
    for (const fk of table.foreignKeys) {
      const parent = this.#catalog.get(fk.refSchema, fk.refTable);
      if (parent === undefined || !this.#byTable.has(parent)) continue;
      const key = parentKeyOf(parent, fk);
      if (key === null) continue;
      const values = key.columns.map((c) => image[table.columns.findIndex((col) => col.name === fk.columns[fk.refColumns.indexOf(c)])]);
      if (values.some((v) => v === undefined || v === null)) continue;
      const found = this.#index(parent, key).get(foldedKey(parent, key.columns, values as ColumnValue[]));
      if (found === undefined) continue;
      const shown = key.columns.map((c) => row[fk.columns[fk.refColumns.indexOf(c)]!] as CanonicalValue);
      const text = shown.length === 1 ? stringifyCanonical(shown[0]!) : stringifyCanonical(shown);
      const byValue = key.name !== 'pk';
      const name = `${parent.schema}.${parent.table}${byValue ? ` (${key.columns.join(', ')})` : ''} ${text}`;
      for (const item of found) out.push({ item, row: name, byValue, table: parent, columns: key.columns, values: values as ColumnValue[] });
    }
    return out;
  }

  #index(table: TableSchema, key: ParentKey): Map<string, T[]> {
    let byName = this.#indexes.get(table);
    if (byName === undefined) this.#indexes.set(table, (byName = new Map()));
    let index = byName.get(key.name);
    if (index !== undefined) return index;
    index = new Map();
    for (const insert of this.#byTable.get(table) ?? []) {
      const values = insertValues(table, key, insert);
      if (values === null) continue;
      const k = foldedKey(table, key.columns, values);
      const list = index.get(k);
      if (list === undefined) index.set(k, [insert.item]);
      else list.push(insert.item);
    }
    byName.set(key.name, index);
    return index;
  }
}

/** The key of `parent` that `fk` references: its primary key, or one of its unique keys (columns as a set); null for any other columns. */
function parentKeyOf(parent: TableSchema, fk: ForeignKey): ParentKey | null {
  const same = (columns: readonly string[]): boolean => columns.length === fk.refColumns.length && columns.every((c) => fk.refColumns.includes(c));
  if (parent.primaryKey !== null && same(parent.primaryKey)) return { name: 'pk', columns: parent.primaryKey };
  const uk = parent.uniqueKeys.find((u) => same(u.columns));
  return uk === undefined ? null : { name: `uk:${uk.name}`, columns: uk.columns };
}

/** The insert's values of `key`'s columns in the DR's types: the primary key from the source key, a unique key from the after image; null when not logged. */
function insertValues<T>(table: TableSchema, key: ParentKey, insert: Insert<T>): ColumnValue[] | null {
  try {
    if (key.name === 'pk') {
      if (insert.key !== null) return keyFromCanonical(insert.key, table);
    }
    if (insert.after === null) return null;
    const image = rowFromCanonical(insert.after, table);
    const values = key.columns.map((c) => image[table.columns.findIndex((col) => col.name === c)]);
    return values.some((v) => v === undefined || v === null) ? null : (values as ColumnValue[]);
  } catch (e) {
    // An image the DR's table no longer fits: no child can be matched to it.
    if (!(e instanceof FromCanonicalError)) throw e;
    return null;
  }
}

function foldedKey(table: TableSchema, columns: readonly string[], values: readonly ColumnValue[]): string {
  return rowKey(columns.map((c, i) => uniqueFolder(table.columns.find((col) => col.name === c)?.collation ?? null)(values[i])));
}
