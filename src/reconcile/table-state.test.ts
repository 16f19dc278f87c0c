import { describe, expect, it } from 'vitest';
import type { ColumnSchema, TableSchema } from '../model/table-schema.js';
import { JsonPatch, JsonValue } from '../binlog/values/json-value.js';
import { TableState } from './table-state.js';

const col = (name: string, ordinal: number, collation: string | null): ColumnSchema => ({
  name, ordinal, dataType: collation === null ? 'int' : 'varchar', columnType: collation === null ? 'int(11)' : 'varchar(40)', nullable: false, unsigned: false, collation, collationId: null,
  isAutoIncrement: false, isGenerated: false, default: null, onUpdateCurrentTimestamp: false, isJson: false,
});
const PEOPLE: TableSchema = {
  schema: 't', table: 'people', columns: [col('id', 1, null), col('email', 2, 'utf8mb4_general_ci')], primaryKey: ['id'],
  uniqueKeys: [{ name: 'uk_email', columns: ['email'] }], foreignKeys: [], autoIncrement: null, engine: 'InnoDB',
};

describe('TableState.aliasIndexKey (a value the server equates that the fold does not)', () => {
  // uca1400 keeps the fold read from the name (collation-fold.ts measures no table for it), which
  // misses ß = ss; utf8mb4_general_ci's 'jose' = 'josé', the example here before, is folded exactly now.
  const UCA: TableSchema = { ...PEOPLE, columns: [col('id', 1, null), col('email', 2, 'utf8mb4_uca1400_ai_ci')] };
  it('finds the DR row by the aliased key until the row changes; a rollback does not bring the alias back', () => {
    const s = new TableState(UCA);
    s.load([[1, 'strasse@x']]);
    const asked = s.indexKeyFromValues('uk:uk_email', ['straße@x'])!;
    expect(s.rowsBy('uk:uk_email', asked)).toEqual([]);
    s.aliasIndexKey('uk:uk_email', asked, s.keyOf([1, 'strasse@x'])!);
    expect(s.rowsBy('uk:uk_email', asked)).toEqual([[1, 'strasse@x']]);
    // Its own key stays as it was.
    expect(s.rowsBy('uk:uk_email', s.indexKeyFromValues('uk:uk_email', ['STRASSE@x'])!)).toEqual([[1, 'strasse@x']]);
    const mark = s.mark();
    s.put([1, 'other@x']);
    expect(s.rowsBy('uk:uk_email', asked)).toEqual([]);
    s.rollbackTo(mark);
    expect(s.rowsBy('uk:uk_email', s.indexKeyFromValues('uk:uk_email', ['strasse@x'])!)).toEqual([[1, 'strasse@x']]);
    // Conservative: the changed-and-restored row holds only its own key again (the DR's rejection decides).
    expect(s.rowsBy('uk:uk_email', asked)).toEqual([]);
  });

  it('ignores an alias of the row\'s own key and of an unknown row', () => {
    const s = new TableState(PEOPLE);
    s.load([[1, 'ann@x']]);
    const own = s.indexKeyFromValues('uk:uk_email', ['ANN@x'])!;
    s.aliasIndexKey('uk:uk_email', own, s.keyOf([1, 'ann@x'])!);
    s.aliasIndexKey('uk:uk_email', s.indexKeyFromValues('uk:uk_email', ['zed@x'])!, s.keyOf([9, 'x'])!);
    expect(s.rowsBy('uk:uk_email', own)).toEqual([[1, 'ann@x']]);
    expect(s.rowsBy('uk:uk_email', s.indexKeyFromValues('uk:uk_email', ['zed@x'])!)).toEqual([]);
    s.remove(s.keyOf([1, 'ann@x'])!);
    expect(s.rowsBy('uk:uk_email', own)).toEqual([]);
  });
});

// Found by a review on real binlogs: plan over rust_mysql_common/json-opaque.binlog (a keyless
// table with one JSON column) stopped with "a JSON value cannot be part of a key" (exit 1): a
// keyless table's rows are keyed by their whole image, and the key refused the JSON column.
describe('TableState: a keyless table with a JSON column', () => {
  const DOCS: TableSchema = { ...PEOPLE, table: 'docs', columns: [{ ...col('doc', 1, null), dataType: 'json', columnType: 'json', isJson: true }, col('n', 2, null)], primaryKey: null, uniqueKeys: [] };

  it('keys each row by its whole image, the JSON document included, and holds the rows the window inserts', () => {
    const s = new TableState(DOCS);
    const a = [new JsonValue({ b: 1, a: [true, null, 'x'] }), 1];
    const sameDoc = [new JsonValue({ a: [true, null, 'x'], b: 1 }), 1];
    const other = [new JsonValue({ a: [true, null, 'x'], b: 2 }), 1];
    const patched = [new JsonPatch([{ op: 'replace', path: '$.b', value: 3 }]), 1];
    expect(s.keyOf(a)).toBe('J{"a":[true,null,"x"],"b":1},I1');
    expect(s.keyOf(sameDoc)).toBe(s.keyOf(a));
    expect(s.keyOf(other)).not.toBe(s.keyOf(a));
    expect(s.keyOf(patched)).toBe('Preplace $.b 3,I1');
    s.put(a);
    s.put(other);
    expect([...s.presentRows()]).toEqual([a, other]);
  });
});

describe('TableState.aliasKey (a primary key the server equates to another row\'s)', () => {
  const TAGS: TableSchema = {
    schema: 't', table: 'tags', columns: [col('code', 1, 'utf8mb4_general_ci'), col('label', 2, 'utf8mb4_general_ci')], primaryKey: ['code'],
    uniqueKeys: [], foreignKeys: [], autoIncrement: null, engine: 'InnoDB',
  };

  it('keyHolder finds the row at the key, else the row holding it under the collation while that row is there', () => {
    const s = new TableState(TAGS);
    const b = s.keyOf(['b', ''])!;
    const B = s.keyOf(['B', ''])!;
    s.load([['B', 'DR']]);
    s.markReadKeys([b]);
    expect([s.row(b), s.keyHolder(b)]).toEqual([null, null]);
    s.aliasKey(b, B);
    // row() stays the row at the key itself (writes name it); keyHolder() is who holds it.
    expect([s.row(b), s.keyHolder(b)]).toEqual([null, ['B', 'DR']]);
    const mark = s.mark();
    s.remove(B);
    expect(s.keyHolder(b)).toBeNull();
    s.rollbackTo(mark);
    expect(s.keyHolder(b)).toEqual(['B', 'DR']);
    // A row the window puts at the key itself is its holder.
    s.put(['b', 'lost']);
    expect(s.keyHolder(b)).toEqual(['b', 'lost']);
    s.clear();
    s.load([['B', 'DR']]);
    s.markReadKeys([b]);
    expect(s.keyHolder(b)).toBeNull();
  });

  it('ignores an alias of a key onto itself and onto a row not loaded', () => {
    const s = new TableState(TAGS);
    const a = s.keyOf(['a', ''])!;
    s.markReadKeys([a]);
    s.aliasKey(a, a);
    s.aliasKey(a, s.keyOf(['A', ''])!);
    expect(s.keyHolder(a)).toBeNull();
    expect(() => s.keyHolder(s.keyOf(['z', ''])!)).toThrow(/was not read from the DR/);
  });

  it('keyAlias names the key of the row holding a key under the collation only, while no row holds it as it is', () => {
    const s = new TableState(TAGS);
    const b = s.keyOf(['b', ''])!;
    const B = s.keyOf(['B', ''])!;
    expect(s.hasKeyAliases).toBe(false);
    s.load([['B', 'DR']]);
    s.markReadKeys([b]);
    expect(s.keyAlias(b)).toBeNull();
    s.aliasKey(b, B);
    expect([s.hasKeyAliases, s.keyAlias(b), s.keyAlias(B)]).toEqual([true, B, null]);
    // A key never read is none (keyHolder throws for it; the reconciler asks row() first).
    expect(s.keyAlias(s.keyOf(['z', ''])!)).toBeNull();
    const mark = s.mark();
    s.remove(B);
    expect(s.keyAlias(b)).toBeNull();
    s.rollbackTo(mark);
    expect(s.keyAlias(b)).toBe(B);
    s.put(['b', 'lost']);
    expect(s.keyAlias(b)).toBeNull();
    s.clear();
    expect(s.hasKeyAliases).toBe(false);
  });
});
