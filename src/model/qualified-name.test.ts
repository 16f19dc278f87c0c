import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseQualified, qualifiedName, quoteName } from './qualified-name.js';
import { addLogicalReferences, createSchemaCatalog, schemaCandidates, type ColumnSchema, type TableSchema } from './table-schema.js';

const col = (name: string, ordinal: number): ColumnSchema => ({
  name, ordinal, dataType: 'int', columnType: 'int(11)', nullable: true, unsigned: false, collation: null, collationId: null,
  isAutoIncrement: false, isGenerated: false, default: null, onUpdateCurrentTimestamp: false, isJson: false,
});
const table = (schema: string, name: string, columns: string[]): TableSchema => ({
  schema, table: name, columns: columns.map((c, i) => col(c, i + 1)), primaryKey: [columns[0]!], uniqueKeys: [], foreignKeys: [], autoIncrement: null, engine: 'InnoDB',
});

describe('parseQualified', () => {
  it('reads bare and backtick-quoted parts, a doubled backtick as one', () => {
    expect(parseQualified('shop.orders', 2)).toEqual([{ text: 'shop', quoted: false }, { text: 'orders', quoted: false }]);
    expect(parseQualified('`shop.v2`.`cust.tbl`', 2)).toEqual([{ text: 'shop.v2', quoted: true }, { text: 'cust.tbl', quoted: true }]);
    expect(parseQualified('`shop.v2`.*', 2)).toEqual([{ text: 'shop.v2', quoted: true }, { text: '*', quoted: false }]);
    expect(parseQualified('`a``b`.`.`.c', 3)).toEqual([{ text: 'a`b', quoted: true }, { text: '.', quoted: true }, { text: 'c', quoted: false }]);
    expect(parseQualified('shop.we`ird', 2)).toEqual([{ text: 'shop', quoted: false }, { text: 'we`ird', quoted: false }]);
  });

  it('refuses a wrong count of parts, an empty part, an unclosed quote or text after one', () => {
    for (const [text, count] of [
      ['shop.orders', 3],
      ['shop.v2.orders', 2],
      ['shop..orders', 3],
      ['.orders', 2],
      ['shop.', 2],
      ['``.orders', 2],
      ['`shop.orders', 2],
      ['`shop`x.orders', 2],
      ['`a``.b', 2],
    ] as const) {
      expect(parseQualified(text, count), `${text} (${count})`).toBeNull();
    }
  });

  it('gives back the names qualifiedName quoted, whatever they hold', () => {
    const name = fc.string({ unit: fc.constantFrom('a', 'b', '.', '`', ' ', '*', '?', 'é', '𝟘'), minLength: 1, maxLength: 8 });
    fc.assert(
      fc.property(fc.array(name, { minLength: 2, maxLength: 3 }), (names) => {
        const written = qualifiedName(...names);
        expect(parseQualified(written, names.length)?.map((p) => p.text)).toEqual(names);
      }),
      { numRuns: 2000 },
    );
  });

  it('quotes only what a bare part cannot hold', () => {
    expect(quoteName('orders')).toBe('orders');
    expect(quoteName('audit log')).toBe('audit log');
    expect(quoteName('shop.v2')).toBe('`shop.v2`');
    expect(quoteName('sales*')).toBe('`sales*`');
    expect(quoteName(' lead')).toBe('` lead`');
    expect(quoteName('`x`')).toBe('```x```');
  });
});

describe('quoted names in the schema catalog', () => {
  // Both splits of "shop.v2.orders" exist: unquoted it is ambiguous, quoted it is exact.
  const catalog = createSchemaCatalog([
    table('shop.v2', 'orders', ['id', 'customer_id']),
    table('shop', 'v2.orders', ['id', 'customer_id']),
    table('shop.v2', 'customers.eu', ['id']),
  ]);

  it('introspects the one schema a quoted name gives', () => {
    expect(schemaCandidates('`shop.v2`.orders')).toEqual(['shop.v2']);
    expect(schemaCandidates('shop.v2.orders')).toEqual(['shop', 'shop.v2']);
    expect(schemaCandidates('`shop.v2`.`customers.eu`.id', 3)).toEqual(['shop.v2']);
  });

  it('resolves quoted logical references exactly where dotted text is ambiguous', () => {
    expect(() => addLogicalReferences(catalog, { 'shop.v2.orders': { references: { customer_id: '`shop.v2`.`customers.eu`.id' } } })).toThrow(/names more than one table/);
    const withRefs = addLogicalReferences(catalog, { '`shop.v2`.orders': { references: { customer_id: '`shop.v2`.`customers.eu`.id' } } });
    expect(withRefs.get('shop.v2', 'orders')!.foreignKeys).toEqual([
      { name: 'config:customer_id', columns: ['customer_id'], refSchema: 'shop.v2', refTable: 'customers.eu', refColumns: ['id'], onDelete: 'NO ACTION', onUpdate: 'NO ACTION', origin: 'config' },
    ]);
    expect(withRefs.get('shop', 'v2.orders')!.foreignKeys).toEqual([]);
    expect(() => addLogicalReferences(catalog, { '`shop`.`v2`.orders': { references: {} } })).toThrow(/is not in the DR's schema/);
  });
});
