import { describe, expect, it } from 'vitest';
import { ColumnType } from '../binlog/column-types.js';
import type { RowChange, TableMap } from '../binlog/event.js';
import { rowToCanonical } from '../binlog/transaction-json.js';
import type { Transaction } from '../binlog/transaction.js';
import { createSchemaCatalog, type ColumnSchema, type TableSchema } from '../model/table-schema.js';
import { padShortImages } from './short-images.js';

const col = (name: string, ordinal: number, dataType = 'int'): ColumnSchema => ({ name, ordinal, dataType, columnType: dataType, nullable: false, unsigned: false, collation: null, collationId: null, isAutoIncrement: false, isGenerated: false, default: null, onUpdateCurrentTimestamp: false, isJson: false });
const table = (names: string[]): TableSchema => ({ schema: 's', table: 't', columns: names.map((n, i) => col(n, i + 1, n === 'note' ? 'varchar' : 'int')), primaryKey: ['id'], uniqueKeys: [], foreignKeys: [], autoIncrement: null, engine: 'InnoDB' });
const catalog = createSchemaCatalog([table(['id', 'a', 'c6'])]);

/** A table map of `n` unnamed columns (binlog_row_metadata below FULL), or of the columns named. */
function map(columns: number | string[]): TableMap {
  const names = typeof columns === 'number' ? Array.from({ length: columns }, (_, i) => `@${i + 1}`) : columns;
  return {
    tableId: 1,
    schema: 's',
    table: 't',
    flags: 0,
    columns: names.map((name, i) => ({ index: i, name, type: name === 'note' ? ColumnType.VARCHAR : ColumnType.LONG, binlogType: 3, meta: 0, nullable: false, unsigned: false, collation: null, enumLabels: null, setLabels: null, geometryType: null, isJson: false, visible: true })),
    primaryKey: typeof columns === 'number' ? null : [names.indexOf('id')],
    metadata: typeof columns === 'number' ? 'none' : 'full',
  };
}

function tx(changes: RowChange[]): Transaction {
  return { gtid: null, file: 'bin.000001', pos: 4, end: 100, timestamp: 0, serverId: 1, changes, statements: [], annotations: [], statementMarks: [], xid: 1n, commit: 'xid' };
}

describe('padShortImages', () => {
  it('without names: pads images shorter than the DR table with unlogged cells, and leaves full ones (the same objects)', () => {
    const short = map(2);
    const full = tx([{ op: 'insert', table: map(3), before: null, after: [1, 2, 3], eventOffset: 10 }]);
    const old = tx([
      { op: 'insert', table: short, before: null, after: [4, 5], eventOffset: 10 },
      { op: 'update', table: short, before: [4, 5], after: [4, 6], eventOffset: 20 },
    ]);
    const out = padShortImages([full, old], catalog);
    expect(out[0]).toBe(full);
    expect(out[1]!.changes.map((c) => [c.op, c.before, c.after])).toEqual([
      ['insert', null, [4, 5, undefined]],
      ['update', [4, 5, undefined], [4, 6, undefined]],
    ]);
    expect(out[1]!.changes[1]!.after).toHaveLength(3);
    const untouched = [full];
    expect(padShortImages(untouched, catalog)).toBe(untouched);
  });

  it('with names: a DR column the image lacks in the middle gets an unlogged cell there (the failover fixture: note AFTER amount)', () => {
    const dr = createSchemaCatalog([table(['id', 'amount', 'note', 'status'])]);
    const before = map(['id', 'amount', 'status']);
    const out = padShortImages([tx([{ op: 'update', table: before, before: [1, 10, 2], after: [1, 11, 2], eventOffset: 10 }])], dr);
    const c = out[0]!.changes[0]!;
    expect([c.before, c.after]).toEqual([
      [1, 10, undefined, 2],
      [1, 11, undefined, 2],
    ]);
    // The change's table map is the DR's layout too: names and values line up in the ledger and reports.
    expect(c.table.columns.map((d) => [d.name, d.index])).toEqual([['id', 0], ['amount', 1], ['note', 2], ['status', 3]]);
    expect(rowToCanonical(c.after!, c.table)).toEqual({ id: 1, amount: 11, status: 2 });
    expect(c.table.primaryKey).toEqual([0]);
    // Images logged after the ALTER (note in the DR's place) are left as they are.
    const wide = tx([{ op: 'insert', table: map(['id', 'amount', 'note', 'status']), before: null, after: [2, 5, 'x', 1], eventOffset: 10 }]);
    expect(padShortImages([wide], dr)[0]).toBe(wide);
  });

  it('with names: an image in another order than the DR (FIRST, or a DR built otherwise) is put in the DR order', () => {
    const dr = createSchemaCatalog([table(['note', 'id', 'c6', 'a'])]);
    const m = map(['id', 'a', 'c6']);
    const out = padShortImages([tx([{ op: 'delete', table: m, before: [7, 8, 9], after: null, eventOffset: 10 }, { op: 'insert', table: m, before: null, after: [1, 2, 3], eventOffset: 30 }])], dr);
    expect(out[0]!.changes.map((c) => [c.before, c.after])).toEqual([
      [[undefined, 7, 9, 8], null],
      [null, [undefined, 1, 3, 2]],
    ]);
    expect(out[0]!.changes[0]!.table).toBe(out[0]!.changes[1]!.table);
    expect(out[0]!.changes[0]!.table.primaryKey).toEqual([1]);
  });

  it('leaves images the schema check refuses as they are (the reconciler names the change)', () => {
    const wider = tx([{ op: 'insert', table: map(['id', 'a', 'zz']), before: null, after: [1, 2, 3], eventOffset: 10 }]);
    const window = [wider];
    expect(padShortImages(window, catalog)).toBe(window);
  });
});
