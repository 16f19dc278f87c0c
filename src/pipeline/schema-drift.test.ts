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
  const map: TableMap = { tableId: 1, schema: 's', table: 't', flags: 0, columns: columns.map(([n, t], i) => binlogCol(n, t, i)), primaryKey: null, metadata: 'full' };
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
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(unnamed(FIVE), '0-1-20', 100)]]]), createSchemaCatalog([drTable(DR6)]))).not.toThrow();
  });

  it('refuses a later shape with more columns than the DR, naming it, its first transaction and the way on', () => {
    const shapes = new Map([['s.t', [shape(FIVE, '0-1-20', 100), shape(SIX, '0-1-22', 900)]]]);
    expect(() => checkSchemaDrift(shapes, createSchemaCatalog([drTable(DR5)]))).toThrowError(
      expect.objectContaining({
        code: 'SCHEMA_DRIFT_COLUMNS',
        details: { table: 's.t', gtid: '0-1-22', file: '/x/bin.000001', offset: 900, column: 'c6' },
        message: 'schema drift: s.t has 6 columns in the binlog from 0-1-22 (bin.000001:900) on, and 5 on the DR (DR: id, a, b, e, d); the DR lacks c6: add it on the DR as on the primary, after its other columns, then run again (with --ddl skip when DDL of the lost range added it)',
      }),
    );
  });

  it('refuses a column added in the middle: by name where logged, else by type', () => {
    const middle = drTable([['id', 'int'], ['c6', 'int'], ['a', 'int'], ['b', 'varchar'], ['e', 'enum'], ['d', 'decimal']]);
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(FIVE, '0-1-20', 100)]]]), createSchemaCatalog([middle]))).toThrowError(
      expect.objectContaining({ code: 'SCHEMA_DRIFT_COLUMNS', message: expect.stringMatching(/^schema drift: s\.t — column 2: a in the binlog, c6 on the DR; column 3: b in the binlog, a on the DR; /) }),
    );
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(unnamed(FIVE), '0-1-20', 100)]]]), createSchemaCatalog([middle]))).toThrowError(
      expect.objectContaining({
        code: 'SCHEMA_DRIFT_COLUMNS',
        message:
          "schema drift: s.t — column 3: VARCHAR in the binlog, int (a) on the DR — the binlog has 5 columns from 0-1-20 (bin.000001:100) on and the DR 6 (DR: id, c6, a, b, e, d): a DR may have more columns only when they come after the binlog's, as replication allows; a column added in the middle shifts the others",
      }),
    );
  });

  it('refuses a wider shape whose new column is not last (the failover fixture\'s 0-1-22: note AFTER amount)', () => {
    const wider: [string, number][] = [['id', ColumnType.LONG], ['a', ColumnType.LONG], ['b', ColumnType.VARCHAR], ['note', ColumnType.VARCHAR], ['e', ColumnType.ENUM], ['d', ColumnType.NEWDECIMAL]];
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(wider, '0-1-22', 900)]]]), createSchemaCatalog([drTable(DR5)]))).toThrowError(
      expect.objectContaining({
        code: 'SCHEMA_DRIFT_COLUMNS',
        message:
          "schema drift: s.t — column 4: note in the binlog, e on the DR; column 5: e in the binlog, d on the DR — the binlog has 6 columns from 0-1-22 (bin.000001:900) on and the DR 5 (DR: id, a, b, e, d): not the DR's columns followed by new ones (a column added in the middle?), so they cannot be matched by position",
      }),
    );
  });

  it('names the first transaction of a shape whose columns differ by name only', () => {
    const renamed: [string, number][] = FIVE.map(([n, t]) => [n === 'b' ? 'bb' : n, t]);
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(FIVE, '0-1-20', 100), shape(renamed, '0-1-30', 700)]]]), createSchemaCatalog([drTable(DR5)]))).toThrowError(
      expect.objectContaining({ code: 'SCHEMA_DRIFT_COLUMNS', details: expect.objectContaining({ gtid: '0-1-30', offset: 700 }), message: 'schema drift: s.t — column 3: bb in the binlog, b on the DR — in the binlog from 0-1-30 (bin.000001:700) on' }),
    );
  });

  it('a table the DR lacks', () => {
    expect(() => checkSchemaDrift(new Map([['s.t', [shape(FIVE, '0-1-20', 100)]]]), createSchemaCatalog([]))).toThrowError(expect.objectContaining({ code: 'SCHEMA_DRIFT_MISSING_TABLE', details: expect.objectContaining({ table: 's.t', gtid: '0-1-20' }) }));
  });
});
