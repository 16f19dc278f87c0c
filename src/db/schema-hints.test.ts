import { describe, expect, it } from 'vitest';
import { readDrSchemaHints } from './schema-hints.js';
import type { SqlResult, SqlSession } from './sql-session.js';

/** A session answering every query with these information_schema.COLUMNS rows. */
function sessionWith(rows: Record<string, unknown>[]): SqlSession {
  return { query: (): Promise<SqlResult> => Promise.resolve({ rows, affectedRows: 0, insertId: 0 }), end: () => Promise.resolve(), destroy: () => undefined };
}

const column = (schema: string, table: string, name: string, ordinal: number, type: string, columnType: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  TABLE_SCHEMA: schema, TABLE_NAME: table, COLUMN_NAME: name, ORDINAL_POSITION: ordinal, DATA_TYPE: type, COLUMN_TYPE: columnType, DATETIME_PRECISION: null, COLLATION_ID: null, ...extra,
});

describe('readDrSchemaHints', () => {
  it('keeps `a.b`.`c` and `a`.`b.c` apart (keyed as "a.b.c", they shared one list of hints)', async () => {
    const hints = await readDrSchemaHints(
      sessionWith([column('a.b', 'c', 'u', 1, 'int', 'int(10) unsigned'), column('a', 'b.c', 's', 1, 'int', 'int(11)')]),
    );
    expect(hints('a.b', 'c', 1)).toEqual([{ name: 'u', dataType: 'int', unsigned: true, collation: null }]);
    expect(hints('a', 'b.c', 1)).toEqual([{ name: 's', dataType: 'int', unsigned: false, collation: null }]);
    expect(hints('a', 'b', 1)).toBeUndefined();
  });

  it('gives what a binlog without metadata lacks: signedness, binary collation, labels, fsp; no garbled labels', async () => {
    const hints = await readDrSchemaHints(
      sessionWith([
        column('s', 't', 'id', 1, 'bigint', 'bigint(20) unsigned'),
        column('s', 't', 'k', 2, 'binary', 'binary(4)'),
        column('s', 't', 'e', 3, 'enum', "enum('a','b')", { COLLATION_ID: 45 }),
        column('s', 't', 'x', 4, 'enum', "enum('?','b')", { COLLATION_ID: 45 }),
        column('s', 't', 'tm', 5, 'time', 'time(2)', { DATETIME_PRECISION: 2 }),
      ]),
    );
    expect(hints('s', 't', 5)).toEqual([
      { name: 'id', dataType: 'bigint', unsigned: true, collation: null },
      { name: 'k', dataType: 'binary', unsigned: false, collation: 63 },
      { name: 'e', dataType: 'enum', unsigned: false, collation: 45, enumLabels: ['a', 'b'] },
      { name: 'x', dataType: 'enum', unsigned: false, collation: 45 },
      { name: 'tm', dataType: 'time', unsigned: false, collation: null, fsp: 2 },
    ]);
    // Whatever the binlog's count: the decoder matches them by name where it logs names, else by position.
    expect(hints('s', 't', 6)?.map((h) => h.name)).toEqual(['id', 'k', 'e', 'x', 'tm']);
    expect(hints('s', 't', 4)?.map((h) => h.name)).toEqual(['id', 'k', 'e', 'x', 'tm']);
  });
});
