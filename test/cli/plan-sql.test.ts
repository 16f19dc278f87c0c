/**
 * `plan --sql`: the file, run by hand on the DR as it is, writes what `apply` writes. Found by a
 * review: it had no session settings and no transactions, so a lost child written before its lost
 * parent (writes are grouped by table) failed the server's foreign key check, after the statements
 * before it had committed.
 */
import { describe, expect, it } from 'vitest';
import { openSession } from '../../src/db/sql-session.js';
import { salvage, type SalvageOptions } from '../../src/pipeline/salvage.js';
import { stageIncident, useServerPair, type Incident } from '../harness/incident-pair.js';

const servers = useServerPair('plan-sql');

const INCIDENT: Incident = {
  schema: [
    'CREATE TABLE t.cust (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL, seen DATETIME(3) NULL) ENGINE=InnoDB',
    // Created before its parent table is written to: the writes of a window go table by table.
    'CREATE TABLE t.ord (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, cust_id INT UNSIGNED NOT NULL, note VARCHAR(10) NULL, CONSTRAINT fk FOREIGN KEY (cust_id) REFERENCES t.cust (id)) ENGINE=InnoDB',
  ],
  base: ["INSERT INTO t.cust VALUES (1, 'ann', NULL)", 'INSERT INTO t.ord VALUES (1, 1, NULL)'],
  // The first lost write is to t.ord, so its table's writes come first, the new order before its new customer.
  lost: ["UPDATE t.ord SET note = 'lost' WHERE id = 1", "INSERT INTO t.cust VALUES (2, 'lost', '2026-11-26 06:15:24.125')", 'INSERT INTO t.ord VALUES (5, 2, NULL)'],
  dr: ["INSERT INTO t.cust VALUES (2, 'dr', NULL)"],
};

async function drTables(): Promise<unknown> {
  return {
    cust: await servers.dr.query('SELECT id, name, CAST(seen AS CHAR) AS seen FROM t.cust ORDER BY id'),
    ord: await servers.dr.query('SELECT id, cust_id, note FROM t.ord ORDER BY id'),
  };
}

describe('plan --sql run by hand', () => {
  it('ends with the DR as apply leaves it', async () => {
    const staged = await stageIncident(servers.primary, servers.dr, INCIDENT, ['t']);
    const base: SalvageOptions = { mode: 'plan', binlogs: staged.files, target: servers.dr.target, start: { kind: 'from-gtid', set: staged.start } };
    const statements: string[] = [];
    await salvage({ ...base, onSql: (s) => statements.push(s) });
    // A session whose own time zone is not UTC, as a DBA's client may be.
    const session = await openSession(servers.dr.target);
    try {
      await session.query("SET SESSION time_zone = '+05:00'");
      for (const s of statements) await session.query(s);
    } finally {
      await session.end();
    }
    const byHand = await drTables();
    const again = await stageIncident(servers.primary, servers.dr, INCIDENT, ['t']);
    await salvage({ ...base, mode: 'apply', binlogs: again.files, start: { kind: 'from-gtid', set: again.start } });
    expect(await drTables()).toEqual(byHand);
    expect(byHand).toEqual({
      cust: [
        { id: 1, name: 'ann', seen: null },
        { id: 2, name: 'dr', seen: null },
        { id: 3, name: 'lost', seen: '2026-11-26 06:15:24.125' },
      ],
      ord: [
        { id: 1, cust_id: 1, note: 'lost' },
        { id: 5, cust_id: 3, note: null },
      ],
    });
  }, 120_000);
});
