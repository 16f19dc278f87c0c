/**
 * `apply --follow` and delete-blocking (docs/RELIABILITY.md section 7 item 26). A follow reads no
 * LaterNeeds (the range has no end to read), so an earlier window's lost changes protected nothing:
 * the order a window had just updated was cascaded away with the customer the next window's lost
 * Eve found holding her e-mail. The follow now asks the ledger, this run's committed windows
 * included, which of the blocker's rows and children lost changes wrote, and refuses as a window
 * holding both changes refuses.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { salvage } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { config } from '../harness/incident-pair.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const SCHEMA = [
  'CREATE DATABASE t',
  `CREATE TABLE t.cust (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(40) NOT NULL, name VARCHAR(20) NOT NULL,
    UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
  `CREATE TABLE t.ord (id INT UNSIGNED NOT NULL PRIMARY KEY, cust_id INT UNSIGNED NOT NULL, total DECIMAL(10,2) NOT NULL,
    CONSTRAINT fk_cust FOREIGN KEY (cust_id) REFERENCES t.cust (id) ON DELETE CASCADE) ENGINE=InnoDB`,
  "INSERT INTO t.cust (id, email, name) VALUES (1, 'ann@x', 'Ann'), (2, 'bob@x', 'Bob')",
  'INSERT INTO t.ord (id, cust_id, total) VALUES (50, 2, 1.00)',
];
const R_INSERT = 'tables."t.cust".onConflict.insert-unique-taken';

async function waitFor(what: string, probe: () => boolean, failed: () => unknown, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    const f = failed();
    if (f !== null) throw f instanceof Error ? f : new Error(String(f));
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('apply --follow: delete-blocking leaves what an earlier window wrote', () => {
  let primary: MariadbServer;
  let dr: MariadbServer;

  beforeAll(async () => {
    [primary, dr] = await Promise.all([startMariadb({ name: 'follow-blocking-primary', serverId: 1 }), startMariadb({ name: 'follow-blocking-dr', serverId: 2 })]);
    for (const server of [primary, dr]) for (const sql of SCHEMA) await server.query(sql);
    // The DR gave its customer 2 the e-mail the lost Eve brings.
    await dr.query("UPDATE t.cust SET email = 'EVE@x' WHERE id = 2");
  }, 120_000);

  afterAll(async () => {
    await Promise.all([primary?.stop(), dr?.stop()]);
  });

  it("the order a window updated keeps its customer from the next window's delete-blocking (maxChildren 1): Eve is refused naming the order", async () => {
    const cut = String((await primary.query<RowDataPacket[]>('SELECT @@gtid_binlog_pos AS p'))[0]!['p']);
    await primary.query('UPDATE t.ord SET total = 2.00 WHERE id = 50');
    const ledger: LedgerLine[] = [];
    const abort = new AbortController();
    const following = salvage({
      mode: 'apply',
      source: { target: primary.target, follow: true, idleMs: 100 },
      target: dr.target,
      start: { kind: 'from-gtid', set: cut },
      config: config({ tables: { 't.cust': { onConflict: { 'insert-unique-taken': { strategy: 'delete-blocking', maxChildren: 1 } } } } }),
      signal: abort.signal,
      onLedger: (l) => ledger.push(l),
    });
    let failed: unknown = null;
    following.catch((e: unknown) => (failed = e));
    // The order's update in a window of its own, committed before Eve is written on the primary.
    await waitFor('the order update', () => ledger.length >= 1, () => failed);
    await primary.query("INSERT INTO t.cust (email, name) VALUES ('eve@x', 'Lost Eve')");
    await waitFor('Eve', () => ledger.length >= 2, () => failed);
    abort.abort();
    await following;
    expect(ledger.map((l) => [l.table, l.op, l.key, l.class, l.outcome])).toEqual([
      ['t.ord', 'update', [50], 'clean', 'applied'],
      ['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined'],
    ]);
    expect(ledger[1]!.reason).toBe(
      `delete-blocking: the DR row t.cust 2 (holds uk_email) is pointed at by t.ord 50 (fk_cust), which an earlier lost change of this run (${ledger[0]!.gtid ?? ''}#0) wrote; nothing was deleted (${R_INSERT})`,
    );
    expect(await dr.query('SELECT id, email, name FROM t.cust ORDER BY id')).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 2, email: 'EVE@x', name: 'Bob' },
    ]);
    expect(await dr.query('SELECT id, cust_id, total FROM t.ord ORDER BY id')).toEqual([{ id: 50, cust_id: 2, total: '2.00' }]);
    expect(await dr.query('SELECT table_name, row_key, role FROM salvage.archive')).toEqual([]);
  }, 120_000);
});
