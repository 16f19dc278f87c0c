/**
 * The engine end to end on a small, hand-built incident: a primary and a DR that share base rows,
 * lost changes on the primary, colliding writes on the DR. Asserts the DR's exact rows after
 * apply, the ledger, that plan wrote nothing, and that a second apply changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { salvage, type SalvageReport } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const SCHEMA = [
  'CREATE DATABASE shop',
  `CREATE TABLE shop.customers (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(120) NOT NULL, name VARCHAR(80) NOT NULL,
     UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
  `CREATE TABLE shop.orders (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, customer_id INT UNSIGNED NOT NULL, total DECIMAL(10,2) NOT NULL,
     CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES shop.customers (id)) ENGINE=InnoDB`,
  `CREATE TABLE shop.notes (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, order_id INT UNSIGNED NOT NULL, body TEXT NOT NULL, KEY (order_id)) ENGINE=InnoDB`,
];
const BASE = [
  "INSERT INTO shop.customers (id, email, name) VALUES (1, 'ann@x', 'Ann'), (2, 'ben@x', 'Ben'), (3, 'cy@x', 'Cy')",
  'INSERT INTO shop.orders (id, customer_id, total) VALUES (1, 1, 10.00), (2, 2, 20.00)',
  "INSERT INTO shop.notes (id, order_id, body) VALUES (1, 1, 'first')",
];
const LOST = [
  // customer 4 collides with the DR's own customer 4: remapped, and its order follows it.
  "INSERT INTO shop.customers (email, name) VALUES ('alice@x', 'Alice')",
  'INSERT INTO shop.orders (customer_id, total) VALUES (4, 44.00)',
  "INSERT INTO shop.notes (order_id, body) VALUES (3, 'for alice')",
  // Both sides change customer 2: the primary its email, the DR its name.
  "UPDATE shop.customers SET email = 'ben@new' WHERE id = 2",
  // Case clash under utf8mb4_general_ci with the DR's zed@x: quarantined.
  "INSERT INTO shop.customers (email, name) VALUES ('Zed@X', 'Zed P')",
  'DELETE FROM shop.orders WHERE id = 2',
];
// The DR's own note on order 2 is what the cascade guard protects when the lost delete of order 2 arrives.
const DR_OWN = [
  "INSERT INTO shop.customers (email, name) VALUES ('zed@x', 'Zed D')",
  "UPDATE shop.customers SET name = 'Benjamin' WHERE id = 2",
  "INSERT INTO shop.notes (order_id, body) VALUES (2, 'dr note')",
];

let primary: MariadbServer;
let dr: MariadbServer;
let files: string[];
let start: string;

async function rows(server: MariadbServer, sql: string): Promise<unknown[]> {
  return (await server.query(sql)) as unknown[];
}

async function drTables(): Promise<Record<string, unknown[]>> {
  return {
    customers: await rows(dr, 'SELECT id, email, name FROM shop.customers ORDER BY id'),
    orders: await rows(dr, 'SELECT id, customer_id, total FROM shop.orders ORDER BY id'),
    notes: await rows(dr, 'SELECT id, order_id, body FROM shop.notes ORDER BY id'),
  };
}

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'salvage-primary' }), startMariadb({ name: 'salvage-dr', serverId: 2 })]);
  for (const sql of [...SCHEMA, ...BASE]) {
    await primary.query(sql);
    await dr.query(sql);
  }
  start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  for (const sql of LOST) await primary.query(sql);
  for (const sql of DR_OWN) await dr.query(sql);
  await primary.flushBinaryLogs();
  files = await primary.binlogFiles();
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
});

function run(mode: 'plan' | 'apply', ledger: LedgerLine[] = [], sql: string[] = []): Promise<SalvageReport> {
  return salvage({
    mode,
    binlogs: files,
    target: dr.target,
    start: { kind: 'from-gtid', set: start },
    logicalReferences: { 'shop.notes': { references: { order_id: 'shop.orders.id' } } },
    onLedger: (l) => ledger.push(l),
    onSql: (s) => sql.push(s),
  });
}

describe('salvage plan and apply on a hand-built incident', () => {
  it('plan decides everything and writes nothing, not even the state schema', async () => {
    const before = await drTables();
    const ledger: LedgerLine[] = [];
    const sql: string[] = [];
    const report = await run('plan', ledger, sql);
    expect(await drTables()).toEqual(before);
    expect(await rows(dr, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'salvage'")).toEqual([]);
    expect(report.outcomes).toEqual({ applied: 1, merged: 1, remapped: 2, skipped: 0, quarantined: 2 });
    expect(ledger.map((l) => [l.table, l.op, l.class, l.outcome])).toEqual([
      ['shop.customers', 'insert', 'insert-pk-taken', 'remapped'],
      ['shop.orders', 'insert', 'clean', 'applied'],
      ['shop.notes', 'insert', 'insert-pk-taken', 'remapped'],
      ['shop.customers', 'update', 'update-diverged', 'merged'],
      ['shop.customers', 'insert', 'insert-unique-taken', 'quarantined'],
      ['shop.orders', 'delete', 'clean', 'quarantined'],
    ]);
    expect(ledger[5]!.reason).toBe('cascade guard: 1 row(s) of shop.notes still point at it (config:order_id, a logical reference)');
    expect(sql.some((s) => s.startsWith('INSERT INTO `shop`.`customers`') && s.includes("'alice@x'") && s.includes('(6,'))).toBe(true);
  });

  it('apply merges exactly, then a second apply changes nothing', async () => {
    const ledger: LedgerLine[] = [];
    const report = await run('apply', ledger);
    expect(report.outcomes).toEqual({ applied: 1, merged: 1, remapped: 2, skipped: 0, quarantined: 2 });
    expect(report.remaps).toEqual([
      { table: 'shop.customers', oldKey: [4], newKey: [6], at: expect.stringMatching(/^0-1-\d+$/) },
      { table: 'shop.notes', oldKey: [2], newKey: [3], at: expect.stringMatching(/^0-1-\d+$/) },
    ]);
    expect(await drTables()).toEqual({
      customers: [
        { id: 1, email: 'ann@x', name: 'Ann' },
        { id: 2, email: 'ben@new', name: 'Benjamin' },
        { id: 3, email: 'cy@x', name: 'Cy' },
        { id: 4, email: 'zed@x', name: 'Zed D' },
        { id: 6, email: 'alice@x', name: 'Alice' },
      ],
      orders: [
        { id: 1, customer_id: 1, total: '10.00' },
        { id: 2, customer_id: 2, total: '20.00' },
        { id: 3, customer_id: 6, total: '44.00' },
      ],
      notes: [
        { id: 1, order_id: 1, body: 'first' },
        { id: 2, order_id: 2, body: 'dr note' },
        { id: 3, order_id: 3, body: 'for alice' },
      ],
    });
    const ledgerRows = await rows(dr, 'SELECT table_name, op, class, outcome, new_key FROM salvage.ledger ORDER BY seq');
    expect(ledgerRows).toHaveLength(6);
    expect(await rows(dr, 'SELECT table_name, status FROM salvage.quarantine ORDER BY id')).toEqual([
      { table_name: 'shop.customers', status: 'pending' },
      { table_name: 'shop.orders', status: 'pending' },
    ]);
    const again = await run('apply');
    expect(again.lost.transactions).toBe(0);
    expect(again.outcomes).toEqual({ applied: 0, merged: 0, remapped: 0, skipped: 0, quarantined: 0 });
    expect((await drTables()).customers).toHaveLength(5);
  });
});
