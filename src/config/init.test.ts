import { describe, expect, it } from 'vitest';
import { createSchemaCatalog, type ColumnSchema, type ForeignKey, type SchemaCatalog, type TableSchema } from '../model/table-schema.js';
import { columnSchema } from '../../test/harness/column-schema.js';
import { formatProblems } from './format-problems.js';
import { configInitDocument, configInitText, suggestForTable } from './init.js';
import { BUILT_IN_DEFAULTS, parseConfig } from './normalise.js';

/** A column as introspection reports it; `type` is the full column type (`int(11)`, `decimal(12,2)`). */
function col(name: string, type: string, extra: Partial<ColumnSchema> = {}): ColumnSchema {
  const dataType = /^[a-z]+/.exec(type)![0];
  const text = dataType === 'varchar' || dataType === 'char' || dataType === 'text';
  return columnSchema(name, 0, text, { dataType, columnType: type, unsigned: type.includes('unsigned'), ...extra });
}

function table(schema: string, name: string, columns: ColumnSchema[], keys: Partial<Pick<TableSchema, 'primaryKey' | 'uniqueKeys' | 'foreignKeys'>> = {}): TableSchema {
  const numbered = columns.map((c, i) => ({ ...c, ordinal: i + 1 }));
  const auto = numbered.find((c) => c.isAutoIncrement);
  return {
    schema,
    table: name,
    columns: numbered,
    primaryKey: keys.primaryKey ?? null,
    uniqueKeys: keys.uniqueKeys ?? [],
    foreignKeys: keys.foreignKeys ?? [],
    autoIncrement: auto === undefined ? null : { column: auto.name, next: 100n },
    engine: 'InnoDB',
  };
}

function fk(name: string, columns: string[], ref: string, refColumns: string[], onDelete: ForeignKey['onDelete'] = 'RESTRICT'): ForeignKey {
  const [refSchema = '', refTable = ''] = ref.split('.');
  return { name, columns, refSchema, refTable, refColumns, onDelete, onUpdate: 'RESTRICT', origin: 'schema' };
}

const id = (): ColumnSchema => col('id', 'int(10) unsigned', { isAutoIncrement: true });

/** A small shop: declared and undeclared foreign keys, timestamps, versions, counters, a keyless log, the engine's state. */
function shop(): SchemaCatalog {
  return createSchemaCatalog([
    table('shop', 'customers', [id(), col('email', 'varchar(200)'), col('balance', 'decimal(12,2)'), col('updated_at', 'timestamp', { onUpdateCurrentTimestamp: true }), col('lock_version', 'int(11)'), col('is_vip', 'tinyint(1)')], {
      primaryKey: ['id'],
      uniqueKeys: [{ name: 'uk_email', columns: ['email'] }],
    }),
    table('shop', 'orders', [id(), col('customer_id', 'int(10) unsigned'), col('coupon_id', 'int(11)'), col('status', 'varchar(20)'), col('modified', 'datetime'), col('item_count', 'smallint(6)'), col('discount', 'decimal(5,2)')], {
      primaryKey: ['id'],
    }),
    table('shop', 'order_lines', [col('order_id', 'int(10) unsigned'), col('line_no', 'smallint(6)'), col('category_id', 'varchar(10)'), col('qty', 'int(11)'), col('rev', 'bigint(20)')], {
      primaryKey: ['order_id', 'line_no'],
      foreignKeys: [fk('fk_lines_order', ['order_id'], 'shop.orders', ['id'], 'CASCADE')],
    }),
    table('shop', 'categories', [col('category_id', 'int(11)'), col('name', 'varchar(50)'), col('last_synced_at', 'bigint(20)')], { primaryKey: ['category_id'] }),
    table('shop', 'audit log', [col('at', 'datetime'), col('what', 'text')]),
    table('shop', 'events', [col('stock', 'int(11)'), col('version', 'varchar(10)')]),
    // Names with dots and glob characters: quoted in the keys and references written.
    table('shop.v2', 'customer', [col('id', 'int(11)')], { primaryKey: ['id'] }),
    table('shop.v2', 'invoice*2024.q1', [col('id', 'int(11)'), col('customer_id', 'int(11)')], { primaryKey: ['id'] }),
    ...['checkpoint', 'key_map', 'key_floor', 'ledger', 'quarantine', 'runs', 'schema_version'].map((n) => table('salvage', n, [col('id', 'bigint(20)')], { primaryKey: ['id'] })),
  ]);
}

const OPTIONS = { source: 'mysql://root@127.0.0.1:3306' };

describe('configInitText', () => {
  it('writes the keys, the guessed references and the commented suggestions of every table', () => {
    expect(configInitText(shop(), OPTIONS)).toMatchInlineSnapshot(`
      "{
        "$schema": "./salvage.schema.json",
        "$comment": [
          "Written by \\"salvage config init\\" from the DR at mysql://root@127.0.0.1:3306: 8 tables (schemas shop, shop.v2) and 2 guessed references. Check it with: salvage config check FILE",
          "\\"$comment\\" keys are notes for people: salvage ignores them in every object of settings.",
          "$schema: for completion and checking in an editor, write the JSON Schema beside this file: salvage config schema > salvage.schema.json",
          "The run-level settings below are the built-in defaults, spelled out:",
          "  stateSchema: the engine's own schema on the DR (checkpoint, ledger, key map, quarantine).",
          "  keepTransactionsWhole: true applies each lost transaction whole or quarantines it whole; false decides row by row.",
          "  cascadeGuard: forbid quarantines a lost delete that the DR would cascade onto rows the lost changes never touched.",
          "Also available: escalation, compare, ignoreColumns, defaults.onConflict (a strategy per conflict class for every table): see salvage config schema.",
          "Each table's \\"$comment\\" lists its keys and, for columns that look like timestamps, versions or counters, a suggested strategy. The suggestions are not active: they are guesses from column names and types, so copy into the table's rule only those that fit your data.",
          "\\"references\\" entries are active: logical foreign keys guessed from columns named <table>_id where the DR declares none and the table (same schema) and its one-column primary key exist. salvage treats them as foreign keys the server does not enforce (a remapped parent key is rewritten in them); delete any that is wrong.",
          "A table named here wins over a glob: a rule written under \\"db.*\\" does not reach a table listed by name, so write its rules in its own entry or delete the entry.",
          "Left out, the engine's own state: salvage.*."
        ],
        "stateSchema": "salvage",
        "keepTransactionsWhole": true,
        "cascadeGuard": "forbid",
        "tables": {
          "shop.audit log": {
            "$comment": [
              "no primary or unique key: a lost update or delete matches the DR row equal to its before image on every logged column"
            ]
          },
          "shop.categories": {
            "$comment": [
              "primary key (category_id)",
              "last_synced_at looks like a timestamp. Suggestion (not active): onConflict: { update-diverged: { strategy: newest, column: last_synced_at, tie: dr } } — when both sides changed the row, the one with the later last_synced_at wins; a tie keeps the DR row"
            ]
          },
          "shop.customers": {
            "$comment": [
              "primary key (id), AUTO_INCREMENT",
              "unique key uk_email (email)",
              "balance looks like a counter or balance. Suggestion (not active): columns: { balance: delta } — when both sides changed balance, the lost change's difference (after − before) is added to the DR's value instead of choosing a side",
              "updated_at looks like a timestamp (ON UPDATE CURRENT_TIMESTAMP). Suggestion (not active): onConflict: { update-diverged: { strategy: newest, column: updated_at, tie: dr } } — when both sides changed the row, the one with the later updated_at wins; a tie keeps the DR row",
              "updated_at is rewritten by the server on every write, so two copies of a row differ in it even when their data agrees: to compare rows without it, add \\"shop.customers.updated_at\\" to the top-level ignoreColumns",
              "lock_version looks like a row version. Suggestion (not active): onConflict: { update-diverged: { strategy: max, column: lock_version } } — when both sides changed the row, the one with the higher lock_version wins"
            ]
          },
          "shop.events": {
            "$comment": [
              "no primary or unique key: a lost update or delete matches the DR row equal to its before image on every logged column",
              "stock looks like a counter or balance. Suggestion (not active): columns: { stock: delta } — when both sides changed stock, the lost change's difference (after − before) is added to the DR's value instead of choosing a side"
            ]
          },
          "shop.order_lines": {
            "$comment": [
              "primary key (order_id, line_no)",
              "foreign key fk_lines_order (order_id) → shop.orders (id), ON DELETE CASCADE",
              "qty looks like a counter or balance. Suggestion (not active): columns: { qty: delta } — when both sides changed qty, the lost change's difference (after − before) is added to the DR's value instead of choosing a side",
              "rev looks like a row version. Suggestion (not active): onConflict: { update-diverged: { strategy: max, column: rev } } — when both sides changed the row, the one with the higher rev wins"
            ]
          },
          "shop.orders": {
            "$comment": [
              "primary key (id), AUTO_INCREMENT",
              "referenced by shop.order_lines (order_id), ON DELETE CASCADE",
              "references.customer_id → shop.customers.id: guessed from the column name (no foreign key is declared; shop.customers has primary key id); active: delete it if wrong",
              "modified looks like a timestamp. Suggestion (not active): onConflict: { update-diverged: { strategy: newest, column: modified, tie: dr } } — when both sides changed the row, the one with the later modified wins; a tie keeps the DR row",
              "item_count looks like a counter or balance. Suggestion (not active): columns: { item_count: delta } — when both sides changed item_count, the lost change's difference (after − before) is added to the DR's value instead of choosing a side"
            ],
            "references": {
              "customer_id": "shop.customers.id"
            }
          },
          "\`shop.v2\`.customer": {
            "$comment": [
              "primary key (id)"
            ]
          },
          "\`shop.v2\`.\`invoice*2024.q1\`": {
            "$comment": [
              "primary key (id)",
              "references.customer_id → shop.v2.customer.id: guessed from the column name (no foreign key is declared; shop.v2.customer has primary key id); active: delete it if wrong"
            ],
            "references": {
              "customer_id": "\`shop.v2\`.customer.id"
            }
          }
        }
      }
      "
    `);
  });

  it('passes "salvage config check", and changes nothing but the references', () => {
    const r = parseConfig(JSON.parse(configInitText(shop(), OPTIONS)));
    if (!r.ok) throw new Error(formatProblems(r.problems));
    expect(r.config.defaults).toEqual(BUILT_IN_DEFAULTS);
    expect(r.config.tables.map((t) => [t.pattern, t.onConflict, t.columns, t.references])).toEqual([
      ['shop.audit log', {}, {}, {}],
      ['shop.categories', {}, {}, {}],
      ['shop.customers', {}, {}, {}],
      ['shop.events', {}, {}, {}],
      ['shop.order_lines', {}, {}, {}],
      ['shop.orders', {}, {}, { customer_id: { schema: 'shop', table: 'customers', column: 'id' } }],
      ['`shop.v2`.customer', {}, {}, {}],
      ['`shop.v2`.`invoice*2024.q1`', {}, {}, { customer_id: { schema: 'shop.v2', table: 'customer', column: 'id' } }],
    ]);
  });

  it('suggests only rules that are valid configuration once made active', () => {
    const catalog = shop();
    const all = catalog.tables.flatMap((t) => suggestForTable(t, catalog).strategies.map((s) => ({ pattern: `${t.schema}.${t.table}`, s })));
    expect(all.map(({ pattern, s }) => `${pattern}.${s.column}: ${s.role}`)).toEqual([
      'shop.categories.last_synced_at: timestamp',
      'shop.customers.balance: counter',
      'shop.customers.updated_at: timestamp',
      'shop.customers.lock_version: version',
      'shop.events.stock: counter',
      'shop.order_lines.qty: counter',
      'shop.order_lines.rev: version',
      'shop.orders.modified: timestamp',
      'shop.orders.item_count: counter',
    ]);
    for (const { pattern, s } of all) {
      const r = parseConfig({ tables: { [pattern]: s.rule } });
      expect(r.ok, `${pattern}.${s.column}`).toBe(true);
    }
  });

  it('writes the defaults and no tables for an empty DR', () => {
    const doc = configInitDocument(createSchemaCatalog([]), OPTIONS);
    expect([doc.stateSchema, doc.keepTransactionsWhole, doc.cascadeGuard, doc.tables]).toEqual(['salvage', true, 'forbid', {}]);
    expect(doc.$comment?.[0]).toBe('Written by "salvage config init" from the DR at mysql://root@127.0.0.1:3306: 0 tables and 0 guessed references. Check it with: salvage config check FILE');
    expect(parseConfig(doc).ok).toBe(true);
  });

  it('names the state schema a previous run left behind, when there is exactly one', () => {
    const state = (s: string): TableSchema[] => ['checkpoint', 'key_map', 'ledger', 'quarantine', 'runs'].map((n) => table(s, n, [col('id', 'int(11)')], { primaryKey: ['id'] }));
    expect(configInitDocument(createSchemaCatalog(state('salvage_incident_7')), OPTIONS).stateSchema).toBe('salvage_incident_7');
    expect(configInitDocument(createSchemaCatalog([...state('salvage_a'), ...state('salvage_b')]), OPTIONS).stateSchema).toBe('salvage');
  });
});
