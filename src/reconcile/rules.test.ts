import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/normalise.js';
import type { TableSchema } from '../model/table-schema.js';
import { RuleBook } from './rules.js';

const table = (schema: string, name: string): TableSchema => ({ schema, table: name, columns: [], primaryKey: null, uniqueKeys: [], foreignKeys: [], autoIncrement: null, engine: 'InnoDB' });

function book(tables: Record<string, object>): RuleBook {
  const r = parseConfig({ tables });
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return new RuleBook(r.config);
}

/** The key of the table rule that applies to schema.table, or null. */
const ruleOf = (b: RuleBook, schema: string, name: string): string | null => b.tableRules(table(schema, name)).rule?.pattern ?? null;

describe('RuleBook table keys', () => {
  it('matches each part on its own: a quoted part literally, a bare part as a glob', () => {
    const b = book({
      '`shop.v2`.*': { naturalKey: ['a'] },
      '`shop.v2`.`cust.tbl`': { naturalKey: ['b'] },
      'shop.*': { naturalKey: ['c'] },
      '`sales*`.orders': { naturalKey: ['d'] },
    });
    expect(ruleOf(b, 'shop.v2', 'orders')).toBe('`shop.v2`.*');
    // An exact name wins over a glob.
    expect(ruleOf(b, 'shop.v2', 'cust.tbl')).toBe('`shop.v2`.`cust.tbl`');
    // A bare glob reaches a table whose name holds a dot (the key matched `shop.a.b` as one text before, where * stopped at dots).
    expect(ruleOf(b, 'shop', 'v2.cust.tbl')).toBe('shop.*');
    expect(ruleOf(b, 'shop', 'orders')).toBe('shop.*');
    // Quoted glob characters are literal.
    expect(ruleOf(b, 'sales*', 'orders')).toBe('`sales*`.orders');
    expect(ruleOf(b, 'sales_eu', 'orders')).toBeNull();
    expect(ruleOf(b, 'shop.v3', 'orders')).toBeNull();
  });

  it('counts the wildcards of bare parts only', () => {
    const b = book({ '*.orders': { naturalKey: ['a'] }, '`*`.*': { naturalKey: ['b'] } });
    // `*`.* has one wildcard (its quoted * is a name), *.orders one: the later one wins the tie.
    expect(ruleOf(b, '*', 'orders')).toBe('`*`.*');
    expect(ruleOf(b, 'shop', 'orders')).toBe('*.orders');
  });

  it('reads quoted references into exact names', () => {
    const r = parseConfig({ tables: { '`shop.v2`.`cust.tbl`': { references: { region_id: '`shop.v2`.`regions.eu`.id', owner_id: 'hr.staff.`id.v1`' } } } });
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.config.tables[0]!.references).toEqual({
      region_id: { schema: 'shop.v2', table: 'regions.eu', column: 'id' },
      owner_id: { schema: 'hr', table: 'staff', column: 'id.v1' },
    });
  });

  it('says how to quote a key or reference with too many dots', () => {
    const r = parseConfig({ tables: { 'shop.v2.orders': { references: { a: 'shop.v2.t.id' } } } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => p.message)).toEqual([
      'table key "shop.v2.orders" must be "db.table" (globs * and ? allowed); a name that holds a dot goes in backticks, as in "`shop.v2`.orders"',
    ]);
  });
});
