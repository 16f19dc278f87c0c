import { describe, expect, it } from 'vitest';
import { addLogicalReferences, createSchemaCatalog, type ColumnSchema, type ForeignKey, type TableSchema } from '../model/table-schema.js';
import { rowKey } from '../model/row-key.js';
import { heldParents } from './reconciler.js';
import { TableState } from './table-state.js';

const col = (name: string, ordinal: number, collation: string | null): ColumnSchema => ({
  name, ordinal, dataType: collation === null ? 'int' : 'varchar', columnType: collation === null ? 'int(11)' : 'varchar(40)', nullable: true, unsigned: false, collation, collationId: null,
  isAutoIncrement: false, isGenerated: false, default: null, onUpdateCurrentTimestamp: false, isJson: false,
});
const fk = (name: string, columns: string[], refTable: string, refColumns: string[]): ForeignKey => ({ name, columns, refSchema: 't', refTable, refColumns, onDelete: 'CASCADE', onUpdate: 'RESTRICT', origin: 'schema' });
// Customers keyed by id, named by children by code (_ci) or by (region, no) (_bin, a composite key).
const CUST: TableSchema = {
  schema: 't', table: 'cust', columns: [col('id', 1, null), col('code', 2, 'utf8mb4_general_ci'), col('region', 3, 'utf8mb4_bin'), col('no', 4, null), col('name', 5, 'utf8mb4_general_ci')],
  primaryKey: ['id'], uniqueKeys: [{ name: 'uk_code', columns: ['code'] }, { name: 'uk_region_no', columns: ['region', 'no'] }], foreignKeys: [], autoIncrement: null, engine: 'InnoDB',
};
const ORD: TableSchema = {
  schema: 't', table: 'ord', columns: [col('id', 1, null), col('cust_id', 2, null), col('cust_code', 3, 'utf8mb4_general_ci'), col('cust_no', 4, null), col('cust_region', 5, 'utf8mb4_bin'), col('cust_name', 6, 'utf8mb4_general_ci')],
  primaryKey: ['id'],
  uniqueKeys: [],
  // The composite key's columns named in another order than the unique key's; a reference onto a column no unique key holds.
  foreignKeys: [fk('fk_id', ['cust_id'], 'cust', ['id']), fk('fk_code', ['cust_code'], 'cust', ['code']), fk('fk_region_no', ['cust_no', 'cust_region'], 'cust', ['no', 'region']), fk('fk_name', ['cust_name'], 'cust', ['name'])],
  autoIncrement: null, engine: 'InnoDB',
};
const NOTE: TableSchema = { ...ORD, table: 'note', columns: [col('id', 1, null), col('cust_code', 2, 'utf8mb4_general_ci')], foreignKeys: [] };
const catalog = addLogicalReferences(createSchemaCatalog([CUST, ORD, NOTE]), { 't.note': { references: { cust_code: 't.cust.code' } } });
const cust = catalog.get('t', 'cust') as TableSchema;
const ord = catalog.get('t', 'ord') as TableSchema;
const note = catalog.get('t', 'note') as TableSchema;
/** The key delete-blocking reads off the DR row that holds the value. */
const held = (index: 'uk:uk_code' | 'uk:uk_region_no', row: (number | string)[]): string => new TableState(cust).indexKeyOf(index, row) as string;

describe('heldParents', () => {
  it('names a parent by its primary key, and by each other unique key a foreign key references, folded as the DR compares', () => {
    const bob = held('uk:uk_code', [2, 'B2', 'eu', 7, 'Bob']);
    expect(heldParents(catalog, ord, [60, 2, 'b2', 7, 'eu', 'Bob'])).toEqual([
      ['t.cust', rowKey([2])],
      ['t.cust\u0000uk:uk_code', bob],
      ['t.cust\u0000uk:uk_region_no', held('uk:uk_region_no', [2, 'B2', 'eu', 7, 'Bob'])],
    ]);
    // _ci: 'b2' and 'B2' are one value; _bin: 'EU' is not 'eu'.
    expect(heldParents(catalog, ord, [60, null, 'B2', null, null, null])).toEqual([['t.cust\u0000uk:uk_code', bob]]);
    expect(heldParents(catalog, ord, [60, null, null, 7, 'EU', null])).not.toEqual(heldParents(catalog, ord, [60, null, null, 7, 'eu', null]));
  });

  it('a NULL in the reference names nothing; a column no unique key holds is not a key to name a row by', () => {
    expect(heldParents(catalog, ord, [60, null, null, 7, null, 'Bob'])).toEqual([]);
  });

  it('a logical reference (configuration) onto a unique column, as a declared one', () => {
    expect(heldParents(catalog, note, [70, 'b2'])).toEqual([['t.cust\u0000uk:uk_code', held('uk:uk_code', [2, 'B2', 'eu', 7, 'Bob'])]]);
  });

  it('only the parents `wanted` keeps; folded with the TableState `states` gives', () => {
    expect(heldParents(catalog, ord, [60, 2, 'b2', null, null, null], (t) => t !== cust)).toEqual([]);
    const state = new TableState(cust);
    const asked: TableSchema[] = [];
    heldParents(catalog, ord, [60, 2, 'b2', null, null, null], undefined, (t) => (asked.push(t), state));
    expect(new Set(asked)).toEqual(new Set([cust]));
  });
});
