import { describe, expect, it } from 'vitest';
import type { RowChange, TableMap } from '../binlog/event.js';
import type { Transaction } from '../binlog/transaction.js';
import { createSchemaCatalog, type ColumnSchema, type TableSchema } from '../model/table-schema.js';
import { padShortImages } from './short-images.js';

const col = (name: string, ordinal: number): ColumnSchema => ({ name, ordinal, dataType: 'int', columnType: 'int', nullable: false, unsigned: false, collation: null, collationId: null, isAutoIncrement: false, isGenerated: false, default: null, onUpdateCurrentTimestamp: false, isJson: false });
const dr: TableSchema = { schema: 's', table: 't', columns: ['id', 'a', 'c6'].map((n, i) => col(n, i + 1)), primaryKey: ['id'], uniqueKeys: [], foreignKeys: [], autoIncrement: null, engine: 'InnoDB' };
const catalog = createSchemaCatalog([dr]);

function map(n: number): TableMap {
  return { tableId: 1, schema: 's', table: 't', flags: 0, columns: Array.from({ length: n }, (_, i) => ({ index: i, name: `@${i + 1}`, type: 3, binlogType: 3, meta: 0, nullable: false, unsigned: false, collation: null, enumLabels: null, setLabels: null, geometryType: null, isJson: false, visible: true })), primaryKey: null, metadata: 'none' };
}

function tx(changes: RowChange[]): Transaction {
  return { gtid: null, file: 'bin.000001', pos: 4, end: 100, timestamp: 0, serverId: 1, changes, statements: [], annotations: [], xid: 1n, commit: 'xid' };
}

describe('padShortImages', () => {
  it('pads images shorter than the DR table with unlogged cells, and leaves full ones (the same objects)', () => {
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
});
