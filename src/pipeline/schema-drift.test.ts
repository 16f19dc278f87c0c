import { describe, expect, it } from 'vitest';
import type { ColumnDef } from '../binlog/column.js';
import { ColumnType } from '../binlog/column-types.js';
import type { TableMap } from '../binlog/event.js';
import { createSchemaCatalog, type ColumnSchema, type TableSchema } from '../model/table-schema.js';
import type { TableShape } from './lost-range-scan.js';
import { checkSchemaDrift } from './schema-drift.js';

function drCol(name: string, dataType: string, ordinal: number): ColumnSchema {
  return { name, ordinal, dataType, columnType: dataType, nullable: false, unsigned: false, collation: null, collationId: null, isAutoIncrement: false, isGenerated: false, default: null, onUpdateCurrentTimestamp: false, isJson: false };
}

function drTable(columns: [string, string][]): TableSchema {
  return { schema: 's', table: 't', columns: columns.map(([n, t], i) => drCol(n, t, i + 1)), primaryKey: ['id'], uniqueKeys: [], foreignKeys: [], autoIncrement: null, engine: 'InnoDB' };
}

function binlogCol(name: string, type: number, index: number): ColumnDef {
  return { index, name, type, binlogType: type, meta: 0, nullable: false, unsigned: false, collation: null, enumLabels: null, setLabels: null, geometryType: null, isJson: false, visible: true };
}

function shape(columns: [string, number][], at: string, pos: number): TableShape {
  // As the decoder gives it: names only with binlog_row_metadata=FULL, else @1…@n.
  const named = !columns.some(([n]) => /^@\d+$/.test(n));
  const map: TableMap = { tableId: 1, schema: 's', table: 't', flags: 0, columns: columns.map(([n, t], i) => binlogCol(n, t, i)), primaryKey: null, metadata: named ? 'full' : 'none' };
  return { map, at, gtid: at, file: '/x/bin.000001', pos };
}

const FIVE: [string, number][] = [['id', ColumnType.LONG], ['a', ColumnType.LONG], ['b', ColumnType.VARCHAR], ['e', ColumnType.ENUM], ['d', ColumnType.NEWDECIMAL]];
const SIX: [string, number][] = [...FIVE, ['c6', ColumnType.LONG]];
const DR5: [string, string][] = [['id', 'int'], ['a', 'int'], ['b', 'varchar'], ['e', 'enum'], ['d', 'decimal']];
const DR6: [string, string][] = [...DR5, ['c6', 'int']];

const unnamed = (cols: [string, number][]): [string, number][] => cols.map(([, t], i) => [`@${i + 1}`, t]);

describe('checkSchemaDrift: every shape of a table in the lost range', () => {
  it('accepts images with fewer columns than the DR when the extra ones come last, and the full ones', () => {
    const shapes = new Map([['s.t', [shape(FIVE, '0-1-20', 100), shape(SIX, '0-1-22', 900)]]]);
    expect(() => checkSchemaDrift(shapes, createSchemaCatalog([drTable(DR6)]))).not.toThrow();
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(unnamed(FIVE), '0-1-20', 100), shape(unnamed(SIX), '0-1-22', 900)]]]), createSchemaCatalog([drTable(DR6)]))).not.toThrow();
  });

  it('without names: refuses a later shape with more columns than the DR, naming it, its first transaction and the way on', () => {
    const shapes = new Map([['s.t', [shape(unnamed(FIVE), '0-1-20', 100), shape(unnamed(SIX), '0-1-22', 900)]]]);
    expect(() => checkSchemaDrift(shapes, createSchemaCatalog([drTable(DR5)]))).toThrowError(
      expect.objectContaining({
        code: 'SCHEMA_DRIFT_COLUMNS',
        details: { table: 's.t', gtid: '0-1-22', file: '/x/bin.000001', offset: 900, column: 'column 6' },
        message: 'schema drift: s.t has 6 columns in the binlog from 0-1-22 (bin.000001:900) on, and 5 on the DR (DR: id, a, b, e, d); the DR lacks column 6: add it on the DR as on the primary, after its other columns, then run again (with --ddl skip when DDL of the lost range added it)',
      }),
    );
  });

  it('without names: refuses a column added in the middle, told by type', () => {
    const middle = drTable([['id', 'int'], ['c6', 'int'], ['a', 'int'], ['b', 'varchar'], ['e', 'enum'], ['d', 'decimal']]);
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(unnamed(FIVE), '0-1-20', 100)]]]), createSchemaCatalog([middle]))).toThrowError(
      expect.objectContaining({
        code: 'SCHEMA_DRIFT_COLUMNS',
        message:
          "schema drift: s.t — column 3: VARCHAR in the binlog, int (a) on the DR — the binlog has 5 columns from 0-1-20 (bin.000001:100) on and the DR 6 (DR: id, c6, a, b, e, d): a DR may have more columns only when they come after the binlog's, as replication allows; a column added in the middle shifts the others",
      }),
    );
  });

  it("without names: refuses a wider shape whose new column is not last (the failover fixture's 0-1-22: note AFTER amount)", () => {
    const wider: [string, number][] = [['@1', ColumnType.LONG], ['@2', ColumnType.LONG], ['@3', ColumnType.VARCHAR], ['@4', ColumnType.VARCHAR], ['@5', ColumnType.ENUM], ['@6', ColumnType.NEWDECIMAL]];
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(wider, '0-1-22', 900)]]]), createSchemaCatalog([drTable(DR5)]))).toThrowError(
      expect.objectContaining({
        code: 'SCHEMA_DRIFT_COLUMNS',
        message:
          "schema drift: s.t — column 4: VARCHAR in the binlog, enum (e) on the DR — the binlog has 6 columns from 0-1-22 (bin.000001:900) on and the DR 5 (DR: id, a, b, e, d): not the DR's columns followed by new ones (a column added in the middle?), so they cannot be matched by position",
      }),
    );
  });

  it('with names: a column the DR has anywhere that the image lacks, and images in another order, are accepted', () => {
    // The failover fixture: note added AFTER amount by the lost range's DDL, and on the DR by hand.
    const withNote = drTable([['id', 'int'], ['a', 'int'], ['b', 'varchar'], ['note', 'varchar'], ['e', 'enum'], ['d', 'decimal']]);
    const after: [string, number][] = [['id', ColumnType.LONG], ['a', ColumnType.LONG], ['b', ColumnType.VARCHAR], ['note', ColumnType.VARCHAR], ['e', ColumnType.ENUM], ['d', ColumnType.NEWDECIMAL]];
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(FIVE, '0-1-20', 100), shape(after, '0-1-22', 900)]]]), createSchemaCatalog([withNote]))).not.toThrow();
    // FIRST; and a DR whose columns are in another order than the binlog's (MySQL and MariaDB name them alike, any case).
    const first = drTable([['note', 'varchar'], ['D', 'decimal'], ['id', 'int'], ['e', 'enum'], ['a', 'int'], ['b', 'varchar']]);
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(FIVE, '0-1-20', 100)]]]), createSchemaCatalog([first]))).not.toThrow();
  });

  it('with names: refuses an image column the DR lacks, wherever it is, naming it, its first transaction and the way on', () => {
    const wider: [string, number][] = [['id', ColumnType.LONG], ['a', ColumnType.LONG], ['b', ColumnType.VARCHAR], ['note', ColumnType.VARCHAR], ['e', ColumnType.ENUM], ['d', ColumnType.NEWDECIMAL]];
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(FIVE, '0-1-20', 100), shape(wider, '0-1-22', 900)]]]), createSchemaCatalog([drTable(DR5)]))).toThrowError(
      expect.objectContaining({
        code: 'SCHEMA_DRIFT_COLUMNS',
        details: { table: 's.t', gtid: '0-1-22', file: '/x/bin.000001', offset: 900, column: 'note' },
        message:
          "schema drift: s.t has column note in the binlog from 0-1-22 (bin.000001:900) on, which the DR's table lacks (DR: id, a, b, e, d): add it on the DR as on the primary (anywhere: the binlog names its columns, so they are matched by name), then run again (with --ddl skip when DDL of the lost range added it)",
      }),
    );
    // A renamed column is one the DR lacks (and the first transaction of that shape is named).
    const renamed: [string, number][] = FIVE.map(([n, t]) => [n === 'b' ? 'bb' : n, t]);
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(FIVE, '0-1-20', 100), shape(renamed, '0-1-30', 700)]]]), createSchemaCatalog([drTable(DR5)]))).toThrowError(
      expect.objectContaining({ code: 'SCHEMA_DRIFT_COLUMNS', details: expect.objectContaining({ gtid: '0-1-30', offset: 700, column: 'bb' }), message: expect.stringMatching(/^schema drift: s\.t has column bb in the binlog from 0-1-30 \(bin\.000001:700\) on, which the DR's table lacks/) }),
    );
  });

  it('with names: refuses a name-matched column whose type the binlog cannot have logged it as', () => {
    const retyped = drTable([['id', 'int'], ['c6', 'int'], ['a', 'int'], ['b', 'int'], ['e', 'enum'], ['d', 'decimal']]);
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(FIVE, '0-1-20', 100)]]]), createSchemaCatalog([retyped]))).toThrowError(
      expect.objectContaining({
        code: 'SCHEMA_DRIFT_COLUMNS',
        details: { table: 's.t', gtid: '0-1-20', file: '/x/bin.000001', offset: 100, column: 'b' },
        message: 'schema drift: s.t — column b: VARCHAR in the binlog, int on the DR — in the binlog from 0-1-20 (bin.000001:100) on (columns matched by name; DR: id, c6, a, b, e, d)',
      }),
    );
    // The DR's own layout is taken as it is, as before (types are what tells shifted columns apart, and none shifted).
    const same = drTable([['id', 'int'], ['a', 'int'], ['b', 'int'], ['e', 'enum'], ['d', 'decimal']]);
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(FIVE, '0-1-20', 100)]]]), createSchemaCatalog([same]))).not.toThrow();
  });

  it('a table the DR lacks', () => {
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(FIVE, '0-1-20', 100)]]]), createSchemaCatalog([]))).toThrowError(expect.objectContaining({ code: 'SCHEMA_DRIFT_MISSING_TABLE', details: expect.objectContaining({ table: 's.t', gtid: '0-1-20' }) }));
  });
});
