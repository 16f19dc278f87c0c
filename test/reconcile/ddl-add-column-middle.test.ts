/**
 * A column added in the middle of a table (`ADD COLUMN … AFTER x`, `FIRST`) in the lost range, with
 * binlog_row_metadata=FULL: the images name their columns, so they are matched to the DR's by name
 * (reconcile/column-match.ts) and the images from before the ALTER lack the new column wherever it
 * sits, as a partial image does. Found by a review: the failover fixture (local-mariadb-10.11,
 * 0-1-21 `ADD COLUMN note … AFTER amount`) was refused as drift whichever way the DR was altered,
 * since images were matched by position. Without names (NO_LOG, MINIMAL) positions are all there is
 * and the refusal stands (ddl-add-column.test.ts).
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { salvage, type SalvageOptions } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { stageIncident, useServerPair } from '../harness/incident-pair.js';
import { withMariadb } from '../harness/mariadb-server.js';

const servers = useServerPair('ddlmiddle');

const TABLE = "CREATE TABLE s.t (id INT AUTO_INCREMENT PRIMARY KEY, a INT UNSIGNED NOT NULL, b VARCHAR(20) NOT NULL, e ENUM('x','y') NOT NULL, d DECIMAL(6,2) NOT NULL)";
const EVERY = 'SELECT *, CAST(d AS CHAR) d FROM s.t ORDER BY id';

async function run(staged: { start: string; files: string[] }, extra: Partial<SalvageOptions> = {}): Promise<LedgerLine[]> {
  const ledger: LedgerLine[] = [];
  await salvage({ mode: 'apply', binlogs: staged.files, target: servers.dr.target, start: { kind: 'from-gtid', set: staged.start }, ddl: 'skip', onLedger: (l) => ledger.push(l), ...extra });
  return ledger;
}

async function stage(lost: string[], dr: string[] = []): Promise<{ start: string; files: string[] }> {
  await servers.primary.query("SET GLOBAL binlog_row_metadata = 'FULL'");
  return stageIncident(servers.primary, servers.dr, { schema: [TABLE], base: ["INSERT INTO s.t VALUES (1, 1, 'one', 'x', 1.00), (2, 2, 'two', 'x', 2.00), (3, 3, 'three', 'x', 3.00)"], lost, dr }, ['s']);
}

const shape = (l: LedgerLine): unknown[] => [l.op, l.key, l.class, l.outcome];

describe.each([
  { where: 'AFTER a', dr: 'AFTER a', how: 'the same way' },
  { where: 'FIRST', dr: 'FIRST', how: 'the same way' },
  { where: 'AFTER a', dr: '', how: 'last (the DR in another order than the primary)' },
])('ADD COLUMN c6 … $where in the lost range, the DR altered by hand $how, binlog_row_metadata=FULL', ({ where, dr: drWhere }) => {
  const alter = (at: string): string => `ALTER TABLE s.t ADD COLUMN c6 INT NOT NULL DEFAULT 7${at === '' ? '' : ` ${at}`}`;

  it('--ddl skip: plan says what apply does; every lost change lands once and the DR\'s rows are the primary\'s, every column', async () => {
    const staged = await stage([
      "INSERT INTO s.t (id, a, b, e, d) VALUES (4, 4000000000, 'four', 'y', 4.50)",
      "UPDATE s.t SET b = 'one*', e = 'y' WHERE id = 1",
      'DELETE FROM s.t WHERE id = 2',
      alter(where),
      "INSERT INTO s.t (id, a, b, e, d, c6) VALUES (5, 5, 'five', 'y', 5.25, 55)",
      "UPDATE s.t SET b = 'three*', c6 = 33 WHERE id = 3",
      // Inserted by a 5-column image in the same window: its c6 is the DR's default, not yet read back.
      'UPDATE s.t SET d = 4.75, c6 = 44 WHERE id = 4',
      "UPDATE s.t SET e = 'x' WHERE id = 1",
      'DELETE FROM s.t WHERE id = 5',
      "INSERT INTO s.t (id, a, b, e, d) VALUES (6, 6, 'six', 'x', 6.00)",
    ]);
    await servers.dr.query(alter(drWhere));
    const plan = await run(staged, { mode: 'plan' });
    const applied = await run(staged);
    const want = [
      ['insert', [4], 'clean', 'applied'],
      ['update', [1], 'clean', 'applied'],
      ['delete', [2], 'clean', 'applied'],
      ['sql', null, 'ddl', 'skipped'],
      ['insert', [5], 'clean', 'applied'],
      ['update', [3], 'clean', 'applied'],
      ['update', [4], 'clean', 'applied'],
      ['update', [1], 'clean', 'applied'],
      ['delete', [5], 'clean', 'applied'],
      ['insert', [6], 'clean', 'applied'],
    ];
    expect(applied.map(shape)).toEqual(want);
    expect(plan.map(shape)).toEqual(want);
    const rows = await servers.primary.query(EVERY);
    expect(rows).toEqual([
      { id: 1, a: 1, b: 'one*', e: 'x', d: '1.00', c6: 7 },
      { id: 3, a: 3, b: 'three*', e: 'x', d: '3.00', c6: 33 },
      { id: 4, a: 4000000000, b: 'four', e: 'y', d: '4.75', c6: 44 },
      { id: 6, a: 6, b: 'six', e: 'x', d: '6.00', c6: 7 },
    ]);
    expect(await servers.dr.query(EVERY)).toEqual(rows);
    // The ledger names each cell by its column: the 5-column images lack c6, the later ones have it.
    expect(applied.filter((l) => l.op === 'update').map((l) => [l.before, l.after])).toEqual([
      [{ id: 1, a: 1, b: 'one', e: 'x', d: '1.00' }, { id: 1, a: 1, b: 'one*', e: 'y', d: '1.00' }],
      [{ id: 3, a: 3, b: 'three', e: 'x', d: '3.00', c6: 7 }, { id: 3, a: 3, b: 'three*', e: 'x', d: '3.00', c6: 33 }],
      [{ id: 4, a: 4000000000, b: 'four', e: 'y', d: '4.50', c6: 7 }, { id: 4, a: 4000000000, b: 'four', e: 'y', d: '4.75', c6: 44 }],
      [{ id: 1, a: 1, b: 'one*', e: 'y', d: '1.00', c6: 7 }, { id: 1, a: 1, b: 'one*', e: 'x', d: '1.00', c6: 7 }],
    ]);
    expect(await servers.dr.query('SELECT COUNT(*) AS n, COUNT(DISTINCT change_at, change_index) AS d FROM salvage.ledger')).toEqual([{ n: '10', d: '10' }]);
    expect((await run(staged)).map(shape)).toEqual([]);
    expect(await servers.dr.query(EVERY)).toEqual(rows);
  }, 120_000);
});

describe('a column added FIRST: the lost range\'s largest ids are found by name', () => {
  it('a lost insert meeting the DR\'s own row at its id is re-keyed above the ids the lost range inserts, not above another column\'s values', async () => {
    // By position, the DR's id (column 2 after FIRST) was column 2 of the 5-column images too: a (4000000000),
    // past INT's largest, so no id was left to re-key to.
    const staged = await stage(["INSERT INTO s.t (id, a, b, e, d) VALUES (4, 4000000000, 'four', 'y', 4.50)", 'ALTER TABLE s.t ADD COLUMN c6 INT NOT NULL DEFAULT 7 FIRST', "INSERT INTO s.t (id, a, b, e, d, c6) VALUES (5, 5, 'five', 'y', 5.25, 55)"], [
      'ALTER TABLE s.t ADD COLUMN c6 INT NOT NULL DEFAULT 7 FIRST',
      "INSERT INTO s.t (id, a, b, e, d) VALUES (5, 50, 'dr-five', 'x', 50.00)",
    ]);
    const ledger = await run(staged);
    expect(ledger.map((l) => [...shape(l), l.newKey ?? null])).toEqual([
      ['insert', [4], 'clean', 'applied', null],
      ['sql', null, 'ddl', 'skipped', null],
      ['insert', [5], 'insert-pk-taken', 'remapped', [6]],
    ]);
    expect(await servers.dr.query(EVERY)).toEqual([
      { c6: 7, id: 1, a: 1, b: 'one', e: 'x', d: '1.00' },
      { c6: 7, id: 2, a: 2, b: 'two', e: 'x', d: '2.00' },
      { c6: 7, id: 3, a: 3, b: 'three', e: 'x', d: '3.00' },
      { c6: 7, id: 4, a: 4000000000, b: 'four', e: 'y', d: '4.50' },
      { c6: 7, id: 5, a: 50, b: 'dr-five', e: 'x', d: '50.00' },
      { c6: 55, id: 6, a: 5, b: 'five', e: 'y', d: '5.25' },
    ]);
  }, 120_000);
});

const FIXTURES = resolve(import.meta.dirname, '../../../shared/fixtures/real-binlogs/local-mariadb-10.11');

/** Splits a workload file into statements (no semicolons inside the fixture's literals). */
function statements(text: string): string[] {
  return text
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('--'));
}

describe('the real failover fixture: 0-1-21 ADD COLUMN note … AFTER amount, 5-column images at 0-1-15/18, 6 at 0-1-22', () => {
  it('a DR as at the link loss, with note added after amount by hand: --ddl skip applies every order, each in its columns', async () => {
    await withMariadb({ name: 'ddlmiddle-fixture-dr', serverId: 2 }, async (dr) => {
      for (const sql of ['w0_schema.sql', 'w1_replicated.sql'].flatMap((f) => statements(readFileSync(join(FIXTURES, 'workload', f), 'utf8')))) await dr.query(sql);
      await dr.query("SET GLOBAL gtid_slave_pos = '0-1-12'");
      await dr.query('ALTER TABLE shop.orders ADD COLUMN note VARCHAR(50) NULL AFTER amount');
      const dir = mkdtempSync(join(tmpdir(), 'ddlmiddle-'));
      try {
        const files = ['primary-bin.000001', 'primary-bin.000002'].map((f) => {
          copyFileSync(join(FIXTURES, 'failover/primary', f), join(dir, f));
          return join(dir, f);
        });
        const ledger: LedgerLine[] = [];
        await salvage({ mode: 'apply', binlogs: files, target: dr.target, ddl: 'skip', onLedger: (l) => ledger.push(l) });
        expect(ledger.filter((l) => l.table === 'shop.orders' && l.op !== 'sql').map((l) => [l.gtid, ...shape(l)])).toEqual([
          ['0-1-15', 'insert', [3], 'clean', 'applied'],
          ['0-1-18', 'insert', [4], 'clean', 'applied'],
          ['0-1-18', 'insert', [5], 'clean', 'applied'],
          ['0-1-18', 'insert', [6], 'clean', 'applied'],
          ['0-1-22', 'insert', [7], 'clean', 'applied'],
        ]);
        expect(ledger.filter((l) => l.op === 'sql').map((l) => [l.gtid, l.class, l.outcome])).toEqual([
          ['0-1-20', 'statement-based', 'quarantined'],
          ['0-1-21', 'ddl', 'skipped'],
        ]);
        // The primary's rows (state/primary_rows_orders.tsv), but for ORD-0001's status: 0-1-20 logged a statement, not rows.
        expect(await dr.query('SELECT id, CAST(customer_id AS CHAR) customer_id, order_no, CAST(amount AS CHAR) amount, note, status FROM shop.orders ORDER BY id')).toEqual([
          { id: 1, customer_id: '1', order_no: 'ORD-0001', amount: '19.99', note: null, status: 'paid' },
          { id: 3, customer_id: '1', order_no: 'ORD-0003', amount: '250.00', note: null, status: 'new' },
          { id: 4, customer_id: '2', order_no: 'ORD-0004', amount: '1.10', note: null, status: 'new' },
          { id: 5, customer_id: '2', order_no: 'ORD-0005', amount: '2.20', note: null, status: 'new' },
          { id: 6, customer_id: '3', order_no: 'ORD-0006', amount: '3.30', note: null, status: 'new' },
          { id: 7, customer_id: '4', order_no: 'ORD-0007', amount: '9.99', note: 'after ALTER', status: 'paid' },
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }, 120_000);
});
