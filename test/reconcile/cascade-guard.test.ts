/**
 * The cascade guard's modes on real servers. The window runs with foreign_key_checks=0, so the DR's
 * own ON DELETE actions never fire: under `report` (and `allowUpTo` within its limit) the engine
 * carries them out itself, one level deep, for the rows that point at a lost delete's row —
 * including rows the DR added after the failover, which the lost range never saw.
 * Setup follows strategies.test.ts: one primary/DR pair for the file, fresh databases per case.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalisedConfig } from '../../src/config/normalise.js';
import { salvage } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { config, stageIncident, type Incident } from '../harness/incident-pair.js';

let primary: MariadbServer;
let dr: MariadbServer;

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'cascade-primary' }), startMariadb({ name: 'cascade-dr', serverId: 2 })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
});

type Summary = [table: string, op: string, key: unknown, cls: string, outcome: string, reason: string | null];

const summary = (l: LedgerLine): Summary => [l.table, l.op, l.key, l.class, l.outcome, l.reason ?? null];

/** Stages `incident` (base on both, lost on the primary only, the DR's own on the DR) and applies it under `cfg`. */
async function run(incident: Incident, cfg: NormalisedConfig): Promise<LedgerLine[]> {
  const { start, files } = await stageIncident(primary, dr, incident);
  const ledger: LedgerLine[] = [];
  await salvage({ mode: 'apply', binlogs: files, target: dr.target, start: { kind: 'from-gtid', set: start }, config: cfg, onLedger: (l) => ledger.push(l) });
  return ledger;
}

async function rows(sql: string): Promise<unknown[]> {
  return (await dr.query(sql)) as unknown[];
}

const ORDERS = 'CREATE TABLE t.orders (id INT NOT NULL PRIMARY KEY, label VARCHAR(10) NOT NULL) ENGINE=InnoDB';
const items = (action: string): string =>
  `CREATE TABLE t.items (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, order_id INT NOT NULL, sku VARCHAR(10) NOT NULL, CONSTRAINT fk_items_order FOREIGN KEY (order_id) REFERENCES t.orders (id) ON DELETE ${action}) ENGINE=InnoDB`;
const NOTES = 'CREATE TABLE t.notes (id INT NOT NULL PRIMARY KEY, order_id INT NULL, body VARCHAR(10) NOT NULL, CONSTRAINT fk_notes_order FOREIGN KEY (order_id) REFERENCES t.orders (id) ON DELETE SET NULL) ENGINE=InnoDB';
const orders = (): Promise<unknown[]> => rows('SELECT id, label FROM t.orders ORDER BY id');
const itemRows = (): Promise<unknown[]> => rows('SELECT id, order_id, sku FROM t.items ORDER BY id');

/** Order 1 with two items, order 2 with one; the primary deletes order 1 (its cascade is not in the binlog); the DR adds a third item to order 1. */
const CASCADE_INCIDENT: Incident = {
  schema: [ORDERS, items('CASCADE')],
  base: ["INSERT INTO t.orders VALUES (1, 'one'), (2, 'two')", "INSERT INTO t.items VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'c')"],
  lost: ['DELETE FROM t.orders WHERE id = 1', "INSERT INTO t.orders VALUES (3, 'three')"],
  dr: ["INSERT INTO t.items VALUES (4, 1, 'dr')"],
};

describe('ON DELETE CASCADE children of a lost delete', () => {
  it('forbid (the default): the delete is quarantined, the parent and every child stay', async () => {
    const ledger = await run(CASCADE_INCIDENT, config({}));
    expect(ledger.map(summary)).toEqual([
      ['t.orders', 'delete', [1], 'clean', 'quarantined', 'cascade guard: 3 row(s) of t.items still point at it (fk_items_order, ON DELETE CASCADE)'],
      ['t.orders', 'insert', [3], 'clean', 'applied', null],
    ]);
    expect(await orders()).toEqual([
      { id: 1, label: 'one' },
      { id: 2, label: 'two' },
      { id: 3, label: 'three' },
    ]);
    expect(await itemRows()).toEqual([
      { id: 1, order_id: 1, sku: 'a' },
      { id: 2, order_id: 1, sku: 'b' },
      { id: 3, order_id: 2, sku: 'c' },
      { id: 4, order_id: 1, sku: 'dr' },
    ]);
  });

  it('report: the parent and all its children go, the DR’s new child too; other orders’ children stay', async () => {
    const ledger = await run(CASCADE_INCIDENT, config({ cascadeGuard: 'report' }));
    expect(ledger.map(summary)).toEqual([
      ['t.orders', 'delete', [1], 'clean', 'applied', 'cascade: deleted 3 row(s) of t.items (fk_items_order ON DELETE CASCADE)'],
      ['t.orders', 'insert', [3], 'clean', 'applied', null],
    ]);
    expect(await orders()).toEqual([
      { id: 2, label: 'two' },
      { id: 3, label: 'three' },
    ]);
    expect(await itemRows()).toEqual([{ id: 3, order_id: 2, sku: 'c' }]);
    // Every row the cascade took is archived as it was, the DR's own item 4 among them, before the parent.
    expect(await rows('SELECT change_index, table_name, row_key, row_image, role FROM salvage.archive ORDER BY id')).toEqual([
      { change_index: 0, table_name: 't.items', row_key: '[1]', row_image: '{"id":1,"order_id":1,"sku":"a"}', role: 'cascade-delete' },
      { change_index: 0, table_name: 't.items', row_key: '[2]', row_image: '{"id":2,"order_id":1,"sku":"b"}', role: 'cascade-delete' },
      { change_index: 0, table_name: 't.items', row_key: '[4]', row_image: '{"id":4,"order_id":1,"sku":"dr"}', role: 'cascade-delete' },
    ]);
  });

  const TWO_CHILDREN: Incident = {
    schema: [ORDERS, items('CASCADE')],
    base: ["INSERT INTO t.orders VALUES (1, 'one')", "INSERT INTO t.items VALUES (1, 1, 'a')"],
    lost: ['DELETE FROM t.orders WHERE id = 1'],
    dr: ["INSERT INTO t.items VALUES (2, 1, 'dr')"],
  };

  it('allowUpTo 1 with 2 children: quarantined as under forbid, nothing deleted', async () => {
    const ledger = await run(TWO_CHILDREN, config({ cascadeGuard: { allowUpTo: 1 } }));
    expect(ledger.map(summary)).toEqual([
      ['t.orders', 'delete', [1], 'clean', 'quarantined', 'cascade guard: 2 row(s) of t.items still point at it (fk_items_order, ON DELETE CASCADE); the cascade would touch 2 row(s), more than cascadeGuard.allowUpTo 1'],
    ]);
    expect(await orders()).toEqual([{ id: 1, label: 'one' }]);
    expect(await itemRows()).toEqual([
      { id: 1, order_id: 1, sku: 'a' },
      { id: 2, order_id: 1, sku: 'dr' },
    ]);
  });

  it.each([2, 5])('allowUpTo %i with 2 children: applied like report', async (limit) => {
    const ledger = await run(TWO_CHILDREN, config({ cascadeGuard: { allowUpTo: limit } }));
    expect(ledger.map(summary)).toEqual([['t.orders', 'delete', [1], 'clean', 'applied', 'cascade: deleted 2 row(s) of t.items (fk_items_order ON DELETE CASCADE)']]);
    expect(await orders()).toEqual([]);
    expect(await itemRows()).toEqual([]);
  });
});

describe('other referential actions under report', () => {
  it('SET NULL: the children’s foreign key becomes NULL (the DR’s new note too), cascaded items go, the reason lists both', async () => {
    const ledger = await run(
      {
        schema: [ORDERS, items('CASCADE'), NOTES],
        base: ["INSERT INTO t.orders VALUES (1, 'one'), (2, 'two')", "INSERT INTO t.items VALUES (1, 1, 'a')", "INSERT INTO t.notes VALUES (1, 1, 'n1'), (2, 2, 'n2')"],
        lost: ['DELETE FROM t.orders WHERE id = 1'],
        dr: ["INSERT INTO t.notes VALUES (3, 1, 'dr')"],
      },
      config({ cascadeGuard: 'report' }),
    );
    expect(ledger.map(summary)).toEqual([
      [
        't.orders',
        'delete',
        [1],
        'clean',
        'applied',
        'cascade: deleted 1 row(s) of t.items (fk_items_order ON DELETE CASCADE); set order_id to NULL in 2 row(s) of t.notes (fk_notes_order ON DELETE SET NULL)',
      ],
    ]);
    expect(await orders()).toEqual([{ id: 2, label: 'two' }]);
    expect(await itemRows()).toEqual([]);
    expect(await rows('SELECT id, order_id, body FROM t.notes ORDER BY id')).toEqual([
      { id: 1, order_id: null, body: 'n1' },
      { id: 2, order_id: 2, body: 'n2' },
      { id: 3, order_id: null, body: 'dr' },
    ]);
    expect(await rows('SELECT table_name, row_key, row_image, role FROM salvage.archive ORDER BY id')).toEqual([
      { table_name: 't.items', row_key: '[1]', row_image: '{"id":1,"order_id":1,"sku":"a"}', role: 'cascade-delete' },
      { table_name: 't.notes', row_key: '[1]', row_image: '{"id":1,"order_id":1,"body":"n1"}', role: 'cascade-set-null' },
      { table_name: 't.notes', row_key: '[3]', row_image: '{"id":3,"order_id":1,"body":"dr"}', role: 'cascade-set-null' },
    ]);
  });

  it('RESTRICT: the DR would refuse the delete, so it is quarantined', async () => {
    const ledger = await run(
      {
        schema: [ORDERS, items('RESTRICT')],
        base: ["INSERT INTO t.orders VALUES (1, 'one')"],
        lost: ['DELETE FROM t.orders WHERE id = 1'],
        dr: ["INSERT INTO t.items VALUES (1, 1, 'dr')"],
      },
      config({ cascadeGuard: 'report' }),
    );
    expect(ledger.map(summary)).toEqual([
      ['t.orders', 'delete', [1], 'clean', 'quarantined', 'cascade guard: 1 row(s) of t.items still point at it (fk_items_order, ON DELETE RESTRICT: the DR would refuse the delete)'],
    ]);
    expect(await orders()).toEqual([{ id: 1, label: 'one' }]);
    expect(await itemRows()).toEqual([{ id: 1, order_id: 1, sku: 'dr' }]);
  });

  it('children in a table without a primary key: the cascade cannot name them, so the delete is quarantined and nothing is deleted', async () => {
    const keyless = (action: string): string =>
      `CREATE TABLE t.tags (order_id INT NULL, tag VARCHAR(10) NOT NULL, CONSTRAINT fk_tags_order FOREIGN KEY (order_id) REFERENCES t.orders (id) ON DELETE ${action}) ENGINE=InnoDB`;
    for (const [action, verb] of [['CASCADE', 'delete'], ['SET NULL', 'null']] as const) {
      const ledger = await run(
        {
          schema: [ORDERS, keyless(action)],
          base: ["INSERT INTO t.orders VALUES (1, 'one')", "INSERT INTO t.tags VALUES (1, 'x'), (1, 'x')"],
          lost: ['DELETE FROM t.orders WHERE id = 1'],
        },
        config({ cascadeGuard: 'report' }),
      );
      expect(ledger.map(summary), action).toEqual([
        ['t.orders', 'delete', [1], 'clean', 'quarantined', `cascade guard: rows of t.tags point at it (fk_tags_order, ON DELETE ${action}), a table without a primary key: the cascade cannot name them to archive and ${verb} them`],
      ]);
      expect(await orders(), action).toEqual([{ id: 1, label: 'one' }]);
      expect(await rows('SELECT order_id, tag FROM t.tags'), action).toEqual([
        { order_id: 1, tag: 'x' },
        { order_id: 1, tag: 'x' },
      ]);
    }
  });

  it('a logical reference: the delete applies, the rows pointing at it stay, and the reason says so', async () => {
    const ledger = await run(
      {
        schema: [ORDERS, 'CREATE TABLE t.memos (id INT NOT NULL PRIMARY KEY, order_id INT NOT NULL) ENGINE=InnoDB'],
        base: ["INSERT INTO t.orders VALUES (1, 'one')"],
        lost: ['DELETE FROM t.orders WHERE id = 1'],
        dr: ['INSERT INTO t.memos VALUES (1, 1)'],
      },
      config({ cascadeGuard: 'report', tables: { 't.memos': { references: { order_id: 't.orders.id' } } } }),
    );
    expect(ledger.map(summary)).toEqual([['t.orders', 'delete', [1], 'clean', 'applied', 'left 1 row(s) of t.memos pointing at it (config:order_id, a logical reference the DR never enforced)']]);
    expect(await orders()).toEqual([]);
    expect(await rows('SELECT id, order_id FROM t.memos')).toEqual([{ id: 1, order_id: 1 }]);
  });

  it('a grandchild: only one level is carried out, so the delete is quarantined and nothing is deleted', async () => {
    const ledger = await run(
      {
        schema: [
          ORDERS,
          items('CASCADE'),
          'CREATE TABLE t.item_notes (id INT NOT NULL PRIMARY KEY, item_id INT NOT NULL, CONSTRAINT fk_notes_item FOREIGN KEY (item_id) REFERENCES t.items (id) ON DELETE CASCADE) ENGINE=InnoDB',
        ],
        base: ["INSERT INTO t.orders VALUES (1, 'one')", "INSERT INTO t.items VALUES (1, 1, 'a')", 'INSERT INTO t.item_notes VALUES (1, 1)'],
        lost: ['DELETE FROM t.orders WHERE id = 1'],
      },
      config({ cascadeGuard: 'report' }),
    );
    expect(ledger.map(summary)).toEqual([
      ['t.orders', 'delete', [1], 'clean', 'quarantined', 'cascade guard: the cascade reaches t.items 1, and 1 row(s) of t.item_notes point at it (fk_notes_item): only one level is carried out'],
    ]);
    expect(await orders()).toEqual([{ id: 1, label: 'one' }]);
    expect(await itemRows()).toEqual([{ id: 1, order_id: 1, sku: 'a' }]);
    expect(await rows('SELECT id, item_id FROM t.item_notes')).toEqual([{ id: 1, item_id: 1 }]);
  });
});
