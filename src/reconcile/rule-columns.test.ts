import { describe, expect, it } from 'vitest';
import { parseConfig, type NormalisedConfig } from '../config/normalise.js';
import type { ColumnSchema, TableSchema } from '../model/table-schema.js';
import { checkRuleColumns, RuleColumnsError } from './rule-columns.js';

const column = (name: string, dataType: string, ordinal: number): ColumnSchema => ({
  name,
  ordinal,
  dataType,
  columnType: dataType === 'varchar' ? 'varchar(100)' : dataType === 'decimal' ? 'decimal(10,2)' : dataType,
  nullable: true,
  unsigned: false,
  collation: null,
  collationId: null,
  isAutoIncrement: false,
  isGenerated: false,
  default: null,
  onUpdateCurrentTimestamp: false,
  isJson: false,
});

const table = (schema: string, name: string, cols: [string, string][]): TableSchema => ({
  schema,
  table: name,
  columns: cols.map(([n, t], i) => column(n, t, i + 1)),
  primaryKey: ['id'],
  uniqueKeys: [],
  foreignKeys: [],
  autoIncrement: null,
  engine: 'InnoDB',
});

const TABLES = [
  table('shop', 'customers', [['id', 'int'], ['email', 'varchar'], ['name', 'varchar'], ['balance', 'decimal'], ['updated_at', 'datetime']]),
  table('shop', 'orders', [['id', 'int'], ['customer_id', 'int'], ['total', 'decimal']]),
];

function config(input: object): NormalisedConfig {
  const r = parseConfig(input);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.config;
}

function refusal(input: object): string {
  try {
    checkRuleColumns(config(input), TABLES);
  } catch (e) {
    if (e instanceof RuleColumnsError) return e.message;
    throw e;
  }
  throw new Error('expected a refusal');
}

describe('checkRuleColumns', () => {
  it('refuses "delta" on a column that is no number, naming the configuration path and the type', () => {
    expect(refusal({ tables: { 'shop.customers': { columns: { name: 'delta' } } } })).toMatchInlineSnapshot(`
      "the configuration does not fit the DR's tables:
      ✖ "delta" adds numbers, and shop.customers.name is varchar(100) → at tables."shop.customers".columns.name"
    `);
  });

  it('refuses, for an exact table, every column it names that the table lacks, listing its columns', () => {
    const text = refusal({
      ignoreColumns: ['updated_at'],
      tables: {
        'shop.customers': {
          columns: { balanse: 'delta', balance: { strategy: 'newest', column: 'updated_at_typo' } },
          groups: [['email', 'nmae']],
          naturalKey: ['emial'],
          onConflict: { 'update-diverged': { strategy: 'merge', policy: { totl: 'source' } }, 'insert-unique-taken': { strategy: 'link', naturalKey: ['mail'] } },
        },
      },
    });
    expect(text).toMatchInlineSnapshot(`
      "the configuration does not fit the DR's tables:
      ✖ shop.customers has no column "balanse" (its columns: id, email, name, balance, updated_at) → at tables."shop.customers".columns.balanse
      ✖ shop.customers has no column "updated_at_typo" (its columns: id, email, name, balance, updated_at) → at tables."shop.customers".columns.balance.column
      ✖ shop.customers has no column "nmae" (its columns: id, email, name, balance, updated_at) → at tables."shop.customers".groups[0][1]
      ✖ shop.customers has no column "emial" (its columns: id, email, name, balance, updated_at) → at tables."shop.customers".naturalKey[0]
      ✖ shop.customers has no column "mail" (its columns: id, email, name, balance, updated_at) → at tables."shop.customers".onConflict.insert-unique-taken.naturalKey[0]
      ✖ shop.customers has no column "totl" (its columns: id, email, name, balance, updated_at) → at tables."shop.customers".onConflict.update-diverged.policy.totl"
    `);
  });

  it('warns for a glob rule only when none of its tables has the column, and for ignoreColumns no table has', () => {
    const warnings = checkRuleColumns(config({ ignoreColumns: ['updated_ta'], tables: { 'shop.*': { columns: { total: 'delta', totl: 'delta' } } } }), TABLES);
    expect(warnings).toEqual([
      'configuration: tables."shop.*".columns.totl names column "totl", which fits none of the tables "shop.*" matches (shop.customers, shop.orders): it applies to nothing (a typo? names are case-sensitive)',
      'configuration: ignoreColumns[0] names column "updated_ta", which no table of the lost range has: it ignores nothing (a typo? names are case-sensitive)',
    ]);
  });

  it('ignoreColumns: a db.table.column entry is held to its table; one for a table not given is left alone', () => {
    expect(checkRuleColumns(config({ ignoreColumns: ['shop.customers.updated_at', 'crm.x.y'] }), TABLES)).toEqual([]);
    expect(checkRuleColumns(config({ ignoreColumns: ['shop.orders.updated_at'] }), TABLES)).toEqual([
      'configuration: ignoreColumns[0] names "shop.orders.updated_at", and shop.orders has no such column (its columns: id, customer_id, total): it ignores nothing',
    ]);
  });

  it('accepts rules that fit, and leaves rules for tables not among the DR tables given to the other warning', () => {
    expect(checkRuleColumns(config({ tables: { 'shop.customers': { columns: { balance: 'delta' }, naturalKey: ['email'] }, 'crm.x': { columns: { nope: 'delta' } } } }), TABLES)).toEqual([]);
  });
});
