/**
 * The engine end to end on a small, hand-built incident: a primary and a DR that share base rows,
 * lost changes on the primary, colliding writes on the DR. Asserts the DR's exact rows after
 * apply, the ledger, that plan wrote nothing, and that a second apply changes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { salvage, type SalvageReport } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { SMALL_INCIDENT } from '../harness/small-incident.js';

const { schema: SCHEMA, base: BASE, lost: LOST, drOwn: DR_OWN } = SMALL_INCIDENT;

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
    logicalReferences: SMALL_INCIDENT.references,
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
