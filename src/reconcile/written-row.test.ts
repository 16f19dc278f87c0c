import { describe, expect, it } from 'vitest';
import type { ColumnSchema, TableSchema } from '../model/table-schema.js';
import { columnSchema } from '../../test/harness/column-schema.js';
import { insertedRow, knownDefault } from './written-row.js';

const col = (extra: Partial<ColumnSchema>): ColumnSchema => columnSchema('c', 1, false, extra);
const text = (extra: Partial<ColumnSchema>): ColumnSchema => columnSchema('c', 1, true, extra);
const literal = (value: string): ColumnSchema['default'] => ({ kind: 'literal', value });

describe('knownDefault: the value the DR stores in a column an INSERT leaves out, only where it is known exactly', () => {
  it.each([
    ['a nullable column without a declared default', col({ nullable: true }), null],
    ['an integer literal', col({ default: literal('-5') }), -5],
    ['an integer beyond 2^53', col({ dataType: 'bigint', columnType: 'bigint(20)', default: literal('9007199254740993') }), 9007199254740993n],
    ['a DECIMAL at its scale', col({ dataType: 'decimal', columnType: 'decimal(6,2)', default: literal('1.50') }), '1.50'],
    ['printable ASCII text', text({ default: literal("d'x") }), "d'x"],
    ['an empty string', text({ default: literal('') }), ''],
  ])('%s', (_, column, want) => {
    expect(knownDefault(column)).toEqual(want);
  });

  it.each([
    ['a NOT NULL column without a default (the implicit one depends on sql_mode)', col({})],
    ['an expression', col({ dataType: 'datetime', columnType: 'datetime', default: { kind: 'expression', sql: 'current_timestamp()' } })],
    ['AUTO_INCREMENT', col({ isAutoIncrement: true, default: literal('0') })],
    ['a generated column', col({ isGenerated: true, nullable: true })],
    ['a DECIMAL literal not at the column scale', col({ dataType: 'decimal', columnType: 'decimal(6,2)', default: literal('1.5') })],
    ['an integer column with a non-integer text', col({ default: literal('1e3') })],
    ['text beyond printable ASCII', text({ default: literal('dé') })],
    ['a backslash (sjis reads 0x5C as the yen sign)', text({ default: literal('a\\b') })],
    ['CHAR with trailing spaces (read back without them)', text({ dataType: 'char', columnType: 'char(4)', default: literal('d ') })],
    ['a binary string', col({ dataType: 'varbinary', columnType: 'varbinary(8)', default: literal('d') })],
    ['a temporal literal', col({ dataType: 'date', columnType: 'date', default: literal('2000-01-01') })],
    ['a text column of a binary collation id', text({ collationId: 63, default: literal('d') })],
  ])('unknown: %s', (_, column) => {
    expect(knownDefault(column)).toBeUndefined();
  });
});

describe('insertedRow', () => {
  const TABLE: TableSchema = {
    schema: 's',
    table: 't',
    columns: [columnSchema('id', 1, false), columnSchema('label', 2, true, { default: literal('d') }), columnSchema('code', 3, true, { dataType: 'varbinary', collation: null, collationId: 63, default: literal('x') }), columnSchema('n', 4, false, { nullable: true })],
    primaryKey: ['id'],
    uniqueKeys: [],
    foreignKeys: [],
    autoIncrement: null,
    engine: 'InnoDB',
  };

  it('fills each left-out column whose default is known, leaves the rest unknown, and never touches a logged value', () => {
    expect(insertedRow(TABLE, [1, undefined, undefined, undefined])).toEqual([1, 'd', undefined, null]);
    expect(insertedRow(TABLE, [1, 'a', undefined, 7])).toEqual([1, 'a', undefined, 7]);
  });

  it('gives the image itself when it logs every column', () => {
    const full = [1, 'a', Buffer.from('x'), null];
    expect(insertedRow(TABLE, full)).toBe(full);
  });
});
