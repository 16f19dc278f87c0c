import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { applyRemaps, remapInsert } from './remap.js';
import { KeyMap, canonicalKey } from './key-map.js';
import { createAutoIncrementAllocator } from './key-allocator.js';
import { createSchemaCatalog, addLogicalReferences, type ColumnSchema, type ForeignKey, type TableSchema } from '../model/table-schema.js';
import type { RowChange, RowOperation, TableMap } from '../binlog/event.js';
import type { ColumnValue, RowImage } from '../binlog/column.js';

const col = (name: string, ordinal: number): ColumnSchema => ({
  name, ordinal, dataType: 'int', columnType: 'int(11)', nullable: true, unsigned: false, collation: null, collationId: null,
  isAutoIncrement: ordinal === 1, isGenerated: false, default: null, onUpdateCurrentTimestamp: false, isJson: false,
});
const fk = (name: string, columns: string[], refTable: string, refColumns: string[]): ForeignKey => ({
  name, columns, refSchema: 'shop', refTable, refColumns, onDelete: 'RESTRICT', onUpdate: 'RESTRICT', origin: 'schema',
});
const table = (name: string, columns: string[], primaryKey: string[] | null, foreignKeys: ForeignKey[] = []): TableSchema => ({
  schema: 'shop', table: name, columns: columns.map((c, i) => col(c, i + 1)), primaryKey, uniqueKeys: [], foreignKeys,
  autoIncrement: primaryKey?.length === 1 ? { column: columns[0] as string, next: 100n } : null, engine: 'InnoDB',
});

const catalog = createSchemaCatalog([
  table('customers', ['id', 'name'], ['id']),
  table('orders', ['id', 'customer_id', 'note'], ['id'], [fk('orders_customer', ['customer_id'], 'customers', ['id'])]),
  table('order_items', ['id', 'order_id', 'qty'], ['id'], [fk('items_order', ['order_id'], 'orders', ['id'])]),
  table('categories', ['id', 'parent_id', 'label'], ['id'], [fk('cat_parent', ['parent_id'], 'categories', ['id'])]),
  table('stock', ['wh', 'sku', 'qty'], ['wh', 'sku']),
  // Composite FK whose column order differs from the parent's key order.
  table('moves', ['id', 'm_sku', 'm_wh'], ['id'], [fk('moves_stock', ['m_sku', 'm_wh'], 'stock', ['sku', 'wh'])]),
  // No declared FK: a logical reference from the configuration.
  table('notes', ['id', 'order_ref', 'body'], ['id']),
]);

const maps = new Map<string, TableMap>();
const mapOf = (t: string): TableMap => {
  let m = maps.get(t);
  if (m === undefined) maps.set(t, (m = { tableId: maps.size + 1, schema: 'shop', table: t, flags: 0, columns: [], primaryKey: null, metadata: 'none' }));
  return m;
};
let offset = 0;
const change = (op: RowOperation, t: string, before: RowImage | null, after: RowImage | null): RowChange => ({ op, table: mapOf(t), before, after, eventOffset: (offset += 100) });
const ins = (t: string, row: RowImage): RowChange => change('insert', t, null, row);
const upd = (t: string, b: RowImage, a: RowImage): RowChange => change('update', t, b, a);
const del = (t: string, row: RowImage): RowChange => change('delete', t, row, null);

describe('remapInsert', () => {
  it('records old → new and returns the insert with the new key, leaving the input alone', () => {
    const km = new KeyMap();
    const c = ins('orders', [7, 1, 'x']);
    const r = remapInsert(c, [101n], km, catalog);
    expect(r).toEqual({ op: 'insert', table: mapOf('orders'), before: null, after: [101, 1, 'x'], eventOffset: c.eventOffset });
    expect(c.after).toEqual([7, 1, 'x']);
    expect(km.entries()).toEqual([{ schema: 'shop', table: 'orders', oldKey: [7], newKey: [101] }]);
  });

  it('refuses what cannot be re-keyed', () => {
    const km = new KeyMap();
    const bad = { code: 'RECONCILE_REMAP_BAD_CHANGE' };
    expect(() => remapInsert(del('orders', [7, 1, 'x']), [101], km, catalog)).toThrow(expect.objectContaining(bad));
    expect(() => remapInsert(ins('orders', [undefined, 1, 'x']), [101], km, catalog)).toThrow(expect.objectContaining(bad));
    expect(() => remapInsert(ins('orders', [7, 1, 'x']), [101, 1], km, catalog)).toThrow(expect.objectContaining(bad));
    expect(() => remapInsert(ins('nowhere', [7]), [101], km, catalog)).toThrow(expect.objectContaining(bad));
    expect(km.size).toBe(0);
  });
});

describe('applyRemaps', () => {
  it('follows a remapped parent through its own update and delete, and a child insert referencing it', () => {
    const km = new KeyMap();
    const first = remapInsert(ins('customers', [5, 'Ann']), [100n], km, catalog);
    const input = [
      first,
      upd('customers', [5, 'Ann'], [5, 'Anna']),
      ins('orders', [20, 5, 'o']),
      ins('orders', [21, 6, 'unmapped parent']),
      del('customers', [5n, 'Anna']),
    ];
    const { changes, rewritten } = applyRemaps(input, km, catalog);
    expect(changes.map((c) => [c.op, c.before, c.after])).toEqual([
      ['insert', null, [100, 'Ann']],
      ['update', [100, 'Ann'], [100, 'Anna']],
      ['insert', null, [20, 100, 'o']],
      ['insert', null, [21, 6, 'unmapped parent']],
      ['delete', [100, 'Anna'], null],
    ]);
    expect(rewritten).toEqual([
      { index: 1, table: 'shop.customers', columns: ['id'] },
      { index: 2, table: 'shop.orders', columns: ['customer_id'] },
      { index: 4, table: 'shop.customers', columns: ['id'] },
    ]);
    // Unchanged changes pass through as the same objects.
    expect(changes[0]).toBe(first);
    expect(changes[3]).toBe(input[3]);
  });

  it('a grandchild follows its parent after the parent (a child) was itself remapped', () => {
    const km = new KeyMap();
    const customer = remapInsert(ins('customers', [5, 'Ann']), [100], km, catalog);
    const order = remapInsert(ins('orders', [20, 5, 'o']), [300], km, catalog);
    const input = [customer, order, ins('order_items', [1, 20, 2]), upd('order_items', [1, 20, 2], [1, 20, 3]), upd('orders', [20, 5, 'o'], [20, 5, 'p'])];
    const { changes, rewritten } = applyRemaps(input, km, catalog);
    expect(changes.map((c) => [c.before, c.after])).toEqual([
      [null, [100, 'Ann']],
      // remapInsert rewrote its own key; the FK to the remapped customer follows here.
      [null, [300, 100, 'o']],
      [null, [1, 300, 2]],
      [[1, 300, 2], [1, 300, 3]],
      [[300, 100, 'o'], [300, 100, 'p']],
    ]);
    expect(rewritten.map((r) => [r.index, r.columns])).toEqual([[1, ['customer_id']], [2, ['order_id']], [3, ['order_id']], [4, ['id', 'customer_id']]]);
  });

  it('a self-referencing FK: the row’s key and its children’s parent_id follow, not chained', () => {
    const km = new KeyMap();
    km.set('shop', 'categories', [1], [50]);
    km.set('shop', 'categories', [2], [51]);
    const { changes, rewritten } = applyRemaps([
      ins('categories', [2, 1, 'child']),
      ins('categories', [3, 2, 'grandchild']),
      ins('categories', [4, null, 'root']),
      upd('categories', [3, 2, 'grandchild'], [3, 1, 'moved']),
    ], km, catalog);
    expect(changes.map((c) => [c.before, c.after])).toEqual([
      [null, [51, 50, 'child']],
      [null, [3, 51, 'grandchild']],
      [null, [4, null, 'root']],
      [[3, 51, 'grandchild'], [3, 50, 'moved']],
    ]);
    expect(rewritten).toEqual([
      { index: 0, table: 'shop.categories', columns: ['id', 'parent_id'] },
      { index: 1, table: 'shop.categories', columns: ['parent_id'] },
      { index: 3, table: 'shop.categories', columns: ['parent_id'] },
    ]);
  });

  it('a composite FK is rewritten column by column in the parent key’s order', () => {
    const km = new KeyMap();
    km.set('shop', 'stock', [1, 'A'], [1, 'A-2']);
    const { changes, rewritten } = applyRemaps([
      upd('stock', [1, 'A', 5], [1, 'A', 6]),
      ins('moves', [9, 'A', 1]),
      ins('moves', [10, 'A', 2]),
      ins('moves', [11, 'A', null]),
    ], km, catalog);
    expect(changes.map((c) => [c.before, c.after])).toEqual([
      [[1, 'A-2', 5], [1, 'A-2', 6]],
      [null, [9, 'A-2', 1]],
      [null, [10, 'A', 2]],
      [null, [11, 'A', null]],
    ]);
    expect(rewritten).toEqual([{ index: 0, table: 'shop.stock', columns: ['sku'] }, { index: 1, table: 'shop.moves', columns: ['m_sku'] }]);
  });

  it('NULL and unlogged FK columns stay as they are; a partial image is rewritten where it logs the key', () => {
    const km = new KeyMap();
    km.set('shop', 'customers', [5], [100]);
    const input = [
      ins('orders', [22, null, 'n']),
      upd('orders', [23, 5, undefined], [23, undefined, 'new note']),
    ];
    const { changes, rewritten } = applyRemaps(input, km, catalog);
    expect(changes[0]).toBe(input[0]);
    expect(changes[1]).toEqual({ ...input[1], before: [23, 100, undefined], after: [23, undefined, 'new note'] });
    // The untouched image is shared, not copied.
    expect(changes[1]?.after).toBe(input[1]?.after);
    expect(rewritten).toEqual([{ index: 1, table: 'shop.orders', columns: ['customer_id'] }]);
  });

  it('follows a reference configured for a schema that declares none', () => {
    const km = new KeyMap();
    km.set('shop', 'orders', [20], [300]);
    const c = ins('notes', [1, 20, 'hello']);
    expect(applyRemaps([c], km, catalog).changes[0]).toBe(c);
    const withRefs = addLogicalReferences(catalog, { 'shop.notes': { references: { order_ref: 'shop.orders.id' } } });
    expect(applyRemaps([c], km, withRefs)).toEqual({ changes: [{ ...c, after: [1, 300, 'hello'] }], rewritten: [{ index: 0, table: 'shop.notes', columns: ['order_ref'] }] });
  });

  it('a column that two remapped keys want differently is an error, not a guess', () => {
    const cat = createSchemaCatalog([
      table('users', ['id'], ['id']),
      table('profiles', ['user_id', 'bio'], ['user_id'], [fk('profile_user', ['user_id'], 'users', ['id'])]),
    ]);
    const km = new KeyMap();
    km.set('shop', 'users', [5], [9]);
    km.set('shop', 'profiles', [5], [7]);
    const c = ins('profiles', [5, 'b']);
    expect(() => applyRemaps([c], km, cat)).toThrow(expect.objectContaining({ code: 'RECONCILE_REMAP_CONFLICT', details: { table: 'shop.profiles', column: 'user_id', offset: c.eventOffset } }));
    km.set('shop', 'users', [6], [8]);
    km.set('shop', 'profiles', [6], [8]);
    expect(applyRemaps([ins('profiles', [6, 'b'])], km, cat).changes[0]?.after).toEqual([8, 'b']);
  });

  it('tables the catalog does not know pass through', () => {
    const km = new KeyMap();
    km.set('shop', 'customers', [5], [100]);
    const c = ins('elsewhere', [5, 5]);
    expect(applyRemaps([c], km, catalog)).toEqual({ changes: [c], rewritten: [] });
  });
});

describe('applyRemaps properties', () => {
  // Parents collide on the DR at random; lost changes to parents and children reference old keys.
  const scenario = fc.record({
    drHeld: fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { maxLength: 25 }),
    lostParents: fc.uniqueArray(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 12 }),
    ops: fc.array(fc.record({
      kind: fc.constantFrom('parent-update', 'parent-delete', 'child-insert', 'child-update', 'child-null'),
      pick: fc.nat(),
      other: fc.integer({ min: 1, max: 40 }),
      big: fc.boolean(),
    }), { maxLength: 30 }),
  });

  type Scenario = { drHeld: number[]; lostParents: number[]; ops: { kind: string; pick: number; other: number; big: boolean }[] };
  const run = (s: Scenario): { km: KeyMap; held: Set<bigint>; input: RowChange[] } => {
    const km = new KeyMap();
    const held = new Set(s.drHeld.map(BigInt));
    const used = new Set(s.lostParents.map(BigInt));
    const alloc = createAutoIncrementAllocator(1n, (k) => held.has(k) || used.has(k));
    const input: RowChange[] = [];
    for (const id of s.lostParents) {
      const c = ins('customers', [id, `c${id}`]);
      input.push(held.has(BigInt(id)) ? remapInsert(c, [alloc.next()], km, catalog) : c);
    }
    for (const op of s.ops) {
      const id = s.lostParents[op.pick % s.lostParents.length] as number;
      const ref: ColumnValue = op.big ? BigInt(id) : id;
      switch (op.kind) {
        case 'parent-update': input.push(upd('customers', [ref, 'a'], [ref, 'b'])); break;
        case 'parent-delete': input.push(del('customers', [ref, 'b'])); break;
        case 'child-insert': input.push(ins('orders', [op.other + 1000, ref, 'o'])); break;
        case 'child-update': input.push(upd('orders', [op.other + 1000, op.other, 'o'], [op.other + 1000, ref, 'p'])); break;
        default: input.push(ins('orders', [op.other + 1000, null, 'n']));
      }
    }
    return { km, held, input };
  };

  it('remapped keys are fresh: never held by the DR, never a lost key, never shared', () => {
    fc.assert(fc.property(scenario, (s) => {
      const { km, held } = run(s);
      const news = km.entries().map((e) => canonicalKey(e.newKey));
      expect(new Set(news).size).toBe(news.length);
      for (const e of km.entries()) {
        const k = BigInt(e.newKey[0] as number | bigint);
        expect(held.has(k)).toBe(false);
        expect(s.lostParents.map(BigInt).includes(k)).toBe(false);
      }
      expect(km.size).toBe(s.lostParents.filter((id) => s.drHeld.includes(id)).length);
    }));
  });

  it('every reference follows the map; nothing else changes; no change dropped or reordered; inputs untouched', () => {
    fc.assert(fc.property(scenario, (s) => {
      const { km, input } = run(s);
      const snapshot = structuredClone(input.map((c) => ({ op: c.op, before: c.before, after: c.after, eventOffset: c.eventOffset })));
      const { changes, rewritten } = applyRemaps(input, km, catalog);
      expect(input.map((c) => ({ op: c.op, before: c.before, after: c.after, eventOffset: c.eventOffset }))).toEqual(snapshot);
      expect(changes).toHaveLength(input.length);
      const follow = (v: ColumnValue | undefined, t: string): ColumnValue | undefined => (v === undefined || v === null ? v : (km.get('shop', t, [v])?.[0] ?? v));
      const sameInt = (a: ColumnValue | undefined, b: ColumnValue | undefined): boolean => (a === null || a === undefined ? a === b : b !== null && b !== undefined && canonicalKey([a]) === canonicalKey([b]));
      changes.forEach((c, i) => {
        const src = snapshot[i] as (typeof snapshot)[number];
        expect([c.op, c.eventOffset, c.table]).toEqual([src.op, src.eventOffset, input[i]?.table]);
        for (const [out, was] of [[c.before, src.before], [c.after, src.after]] as const) {
          if (was === null) { expect(out).toBeNull(); continue; }
          const t = c.table.table;
          // Key and FK columns map through the key map (number or bigint alike); the rest is as it was.
          expect(sameInt(out?.[0], t === 'customers' ? follow(was[0], 'customers') : was[0])).toBe(true);
          expect(sameInt(out?.[1], t === 'orders' ? follow(was[1], 'customers') : was[1])).toBe(true);
          expect(out?.[2]).toEqual(was[2]);
          // No output reference is still an old key.
          const refCol = t === 'customers' ? 0 : 1;
          const v = out?.[refCol];
          if (v !== null && v !== undefined) expect(km.get('shop', 'customers', [v])).toBeUndefined();
        }
        const r = rewritten.find((x) => x.index === i);
        expect(r !== undefined).toBe(c !== input[i]);
      });
      expect(rewritten.map((r) => r.index)).toEqual([...rewritten.map((r) => r.index)].sort((a, b) => a - b));
    }));
  });
});
