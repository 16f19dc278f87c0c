/**
 * `delete-blocking` on real servers (issue 4; DESIGN.md "Strategies": "opt-in only: archive, then
 * delete the DR row that blocks a unique key, refusing when it has children unless allowed with a
 * cap"). One primary/DR pair for the file, fresh databases per case: the DR's exact rows after
 * apply, the ledger, and the exact rows of the state schema's `archive`. Then the quarantine's
 * `origin` column, which names the change a dependant waits on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalisedConfig } from '../../src/config/normalise.js';
import { readQuarantine } from '../../src/pipeline/resolve.js';
import { salvage, type SalvageReport } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { config, stageIncident, type Incident } from '../harness/incident-pair.js';

let primary: MariadbServer;
let dr: MariadbServer;

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'delete-blocking-primary' }), startMariadb({ name: 'delete-blocking-dr', serverId: 2 })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
});

type Summary = [table: string, op: string, key: unknown, cls: string, outcome: string, rule: string | null];
const summary = (l: LedgerLine): Summary => [l.table, l.op, l.key, l.class, l.outcome, l.rule ?? null];

async function run(incident: Incident, cfg: NormalisedConfig): Promise<{ report: SalvageReport; ledger: LedgerLine[] }> {
  const staged = await stageIncident(primary, dr, incident, ['t']);
  const ledger: LedgerLine[] = [];
  const report = await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: cfg, onLedger: (l) => ledger.push(l) });
  return { report, ledger };
}

async function rows(sql: string): Promise<unknown[]> {
  return (await dr.query(sql)) as unknown[];
}

/** The archive as a person would read it (archived_at checked apart: it is the time of the run). */
async function archive(): Promise<unknown[]> {
  const all = (await dr.query('SELECT run_id, source_id, change_at, change_index, table_name, row_key, row_image, role, archived_at FROM salvage.archive ORDER BY id')) as Record<string, unknown>[];
  for (const r of all) expect(r['archived_at']).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
  return all.map(({ archived_at: _, ...rest }) => rest);
}

const CUST = `CREATE TABLE t.cust (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(40) NOT NULL, name VARCHAR(20) NOT NULL,
  UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;
const ord = (onDelete: string, nullable = false): string => `CREATE TABLE t.ord (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, cust_id INT UNSIGNED ${nullable ? 'NULL' : 'NOT NULL'}, total DECIMAL(10,2) NOT NULL,
  CONSTRAINT fk_cust FOREIGN KEY (cust_id) REFERENCES t.cust (id) ON DELETE ${onDelete}) ENGINE=InnoDB`;
const BASE = ["INSERT INTO t.cust (id, email, name) VALUES (1, 'ann@x', 'Ann')"];
const cust = (): Promise<unknown[]> => rows('SELECT id, email, name FROM t.cust ORDER BY id');
const orders = (): Promise<unknown[]> => rows('SELECT id, cust_id, total FROM t.ord ORDER BY id');
const R_INSERT = 'tables."t.cust".onConflict.insert-unique-taken';
const R_UPDATE = 'tables."t.cust".onConflict.update-unique-taken';
const deleteBlocking = (strategy: unknown = 'delete-blocking'): NormalisedConfig =>
  config({ tables: { 't.cust': { onConflict: { 'insert-unique-taken': strategy, 'update-unique-taken': strategy } } } });

// The lost Zed got id 2 on the primary; the DR created its own Zed (same e-mail under the _ci collation) at id 10.
const ZED: Incident = {
  schema: [CUST, ord('CASCADE')],
  base: BASE,
  lost: ["INSERT INTO t.cust (email, name) VALUES ('zed@x', 'Lost Zed')"],
  dr: ["INSERT INTO t.cust (id, email, name) VALUES (10, 'ZED@x', 'DR Zed')"],
};

describe('delete-blocking', () => {
  it('decides alike whatever the window: lost changes that named the blocking row\'s key follow their re-keyed row, so they do not protect it', async () => {
    // Found by a review: with the default window the lost D (re-keyed away from the DR's id 2) and its
    // order still counted as pointing at the DR row 2, so Zed was quarantined; with --window 1 it was applied.
    const incident: Incident = {
      schema: [CUST, ord('CASCADE')],
      base: BASE,
      lost: ["INSERT INTO t.cust (email, name) VALUES ('d@x', 'Lost D')", "INSERT INTO t.cust (email, name) VALUES ('zed@x', 'Lost Zed')", 'INSERT INTO t.ord (id, cust_id, total) VALUES (7, 2, 5.00)'],
      dr: ["INSERT INTO t.cust (id, email, name) VALUES (2, 'ZED@x', 'DR Zed')"],
    };
    const decided: Summary[][] = [];
    for (const windowTransactions of [undefined, 1]) {
      const staged = await stageIncident(primary, dr, incident, ['t']);
      const ledger: LedgerLine[] = [];
      await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: deleteBlocking(), onLedger: (l) => ledger.push(l), ...(windowTransactions === undefined ? {} : { windowTransactions }) });
      decided.push(ledger.map(summary));
      expect(await cust()).toEqual([
        { id: 1, email: 'ann@x', name: 'Ann' },
        { id: 3, email: 'zed@x', name: 'Lost Zed' },
        { id: 4, email: 'd@x', name: 'Lost D' },
      ]);
      expect(await orders()).toEqual([{ id: 7, cust_id: 4, total: '5.00' }]);
    }
    expect(decided[0]).toEqual([
      ['t.cust', 'insert', [2], 'insert-pk-taken', 'remapped', 'built-in.insert-pk-taken'],
      ['t.cust', 'insert', [3], 'insert-unique-taken', 'applied', R_INSERT],
      ['t.ord', 'insert', [7], 'clean', 'applied', 'built-in.clean'],
    ]);
    expect(decided[1]).toEqual(decided[0]);
  });

  it('decides alike whatever the window when the DR row holding the e-mail holds the lost row\'s id too: its children are read, it is deleted and the lost row re-keyed', async () => {
    // Found by src/reconcile/delete-blocking.property.test.ts: the holder at the insert's own key was
    // taken for the insert's row and its children went unread, so the delete was refused ("the
    // window did not read …"), unless another change of the window happened to read them (the
    // property's case: one-transaction windows refused, a longer one deleted).
    const incident: Incident = {
      schema: [CUST, ord('CASCADE')],
      base: BASE,
      lost: ["INSERT INTO t.cust (email, name) VALUES ('zed@x', 'Lost Zed')", "UPDATE t.cust SET name = 'Zed' WHERE id = 2"],
      dr: ["INSERT INTO t.cust (id, email, name) VALUES (2, 'ZED@x', 'DR Zed')"],
    };
    for (const windowTransactions of [undefined, 1]) {
      const staged = await stageIncident(primary, dr, incident, ['t']);
      const ledger: LedgerLine[] = [];
      await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: deleteBlocking(), onLedger: (l) => ledger.push(l), ...(windowTransactions === undefined ? {} : { windowTransactions }) });
      expect(ledger.map(summary)).toEqual([
        ['t.cust', 'insert', [2], 'insert-unique-taken', 'remapped', `built-in.insert-pk-taken → remap; ${R_INSERT} → delete-blocking`],
        ['t.cust', 'update', [2], 'clean', 'applied', 'built-in.clean'],
      ]);
      expect(ledger[0]!.reason).toBe(`the DR gave id 2 to a different record: re-keyed to 3 in t.cust, and another DR row holds unique key uk_email; deleted the DR row 2 that held uk_email (archived), then applied the lost change (${R_INSERT})`);
      expect(await cust()).toEqual([
        { id: 1, email: 'ann@x', name: 'Ann' },
        { id: 3, email: 'zed@x', name: 'Zed' },
      ]);
      expect(await archive()).toEqual([expect.objectContaining({ table_name: 't.cust', row_key: '[2]', row_image: '{"id":2,"email":"ZED@x","name":"DR Zed"}', role: 'blocking' })]);
    }
  });

  it('insert-unique-taken: the DR row holding the e-mail is archived, deleted, and the lost row inserted', async () => {
    const { ledger, report } = await run(ZED, deleteBlocking());
    expect(await cust()).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 2, email: 'zed@x', name: 'Lost Zed' },
    ]);
    expect(ledger.map(summary)).toEqual([['t.cust', 'insert', [2], 'insert-unique-taken', 'applied', R_INSERT]]);
    expect(ledger[0]!.reason).toBe(`deleted the DR row 10 that held uk_email (archived), then applied the lost change (${R_INSERT})`);
    expect(await archive()).toEqual([
      {
        run_id: String(report.runId),
        source_id: report.sourceId,
        change_at: ledger[0]!.gtid,
        change_index: 0,
        table_name: 't.cust',
        row_key: '[10]',
        row_image: '{"id":10,"email":"ZED@x","name":"DR Zed"}',
        role: 'blocking',
      },
    ]);
  });

  it('update-unique-taken: the lost e-mail change takes the value from the DR row that blocked it', async () => {
    const { ledger } = await run(
      {
        schema: [CUST, ord('CASCADE')],
        base: [...BASE, "INSERT INTO t.cust (id, email, name) VALUES (2, 'bob@x', 'Bob')"],
        lost: ["UPDATE t.cust SET email = 'cy@x' WHERE id = 1"],
        dr: ["INSERT INTO t.cust (id, email, name) VALUES (10, 'cy@x', 'DR Cy')"],
      },
      deleteBlocking(),
    );
    expect(await cust()).toEqual([
      { id: 1, email: 'cy@x', name: 'Ann' },
      { id: 2, email: 'bob@x', name: 'Bob' },
    ]);
    expect(ledger.map(summary)).toEqual([['t.cust', 'update', [1], 'update-unique-taken', 'applied', R_UPDATE]]);
    expect(await archive()).toEqual([expect.objectContaining({ table_name: 't.cust', row_key: '[10]', row_image: '{"id":10,"email":"cy@x","name":"DR Cy"}', role: 'blocking' })]);
  });

  it('refuses a blocking row with children (maxChildren 0, the default): quarantined, nothing deleted, nothing archived', async () => {
    const { ledger } = await run({ ...ZED, dr: [...ZED.dr!, 'INSERT INTO t.ord (id, cust_id, total) VALUES (50, 10, 9.00)'] }, deleteBlocking());
    expect(await cust()).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 10, email: 'ZED@x', name: 'DR Zed' },
    ]);
    expect(await orders()).toEqual([{ id: 50, cust_id: 10, total: '9.00' }]);
    expect(ledger.map(summary)).toEqual([['t.cust', 'insert', [2], 'insert-unique-taken', 'quarantined', R_INSERT]]);
    expect(ledger[0]!.reason).toBe(
      `delete-blocking: the DR row t.cust 10 (holds uk_email) has 1 child row(s): 1 of t.ord (fk_cust, ON DELETE CASCADE); maxChildren is 0; nothing was deleted (${R_INSERT})`,
    );
    expect(await archive()).toEqual([]);
    expect(await rows('SELECT table_name, status FROM salvage.quarantine')).toEqual([{ table_name: 't.cust', status: 'pending' }]);
  });

  it('maxChildren 2, ON DELETE CASCADE: the children are archived and deleted with it, as the DR would', async () => {
    const { ledger, report } = await run(
      { ...ZED, dr: [...ZED.dr!, 'INSERT INTO t.ord (id, cust_id, total) VALUES (50, 10, 9.00), (51, 10, 4.50)', 'INSERT INTO t.ord (id, cust_id, total) VALUES (52, 1, 1.00)'] },
      deleteBlocking({ strategy: 'delete-blocking', maxChildren: 2 }),
    );
    expect(await cust()).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 2, email: 'zed@x', name: 'Lost Zed' },
    ]);
    expect(await orders()).toEqual([{ id: 52, cust_id: 1, total: '1.00' }]);
    expect(ledger[0]!.reason).toBe(`deleted the DR row 10 that held uk_email (archived; deleted 2 row(s) of t.ord (fk_cust ON DELETE CASCADE), archived), then applied the lost change (${R_INSERT})`);
    const at = { run_id: String(report.runId), source_id: report.sourceId, change_at: ledger[0]!.gtid, change_index: 0 };
    expect(await archive()).toEqual([
      { ...at, table_name: 't.ord', row_key: '[50]', row_image: '{"id":50,"cust_id":10,"total":"9.00"}', role: 'cascade-delete' },
      { ...at, table_name: 't.ord', row_key: '[51]', row_image: '{"id":51,"cust_id":10,"total":"4.50"}', role: 'cascade-delete' },
      { ...at, table_name: 't.cust', row_key: '[10]', row_image: '{"id":10,"email":"ZED@x","name":"DR Zed"}', role: 'blocking' },
    ]);
  });

  it('maxChildren 1 with 2 children: refused', async () => {
    const { ledger } = await run({ ...ZED, dr: [...ZED.dr!, 'INSERT INTO t.ord (id, cust_id, total) VALUES (50, 10, 9.00), (51, 10, 4.50)'] }, deleteBlocking({ strategy: 'delete-blocking', maxChildren: 1 }));
    expect(ledger.map((l) => l.outcome)).toEqual(['quarantined']);
    expect(ledger[0]!.reason).toBe(`delete-blocking: the DR row t.cust 10 (holds uk_email) has 2 child row(s): 2 of t.ord (fk_cust, ON DELETE CASCADE); maxChildren is 1; nothing was deleted (${R_INSERT})`);
    expect(await orders()).toEqual([
      { id: 50, cust_id: 10, total: '9.00' },
      { id: 51, cust_id: 10, total: '4.50' },
    ]);
    expect(await archive()).toEqual([]);
  });

  it('maxChildren 1, ON DELETE SET NULL: the child is archived and its reference set to NULL', async () => {
    const { ledger } = await run(
      { ...ZED, schema: [CUST, ord('SET NULL', true)], dr: [...ZED.dr!, 'INSERT INTO t.ord (id, cust_id, total) VALUES (50, 10, 9.00)'] },
      deleteBlocking({ strategy: 'delete-blocking', maxChildren: 1 }),
    );
    expect(await cust()).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 2, email: 'zed@x', name: 'Lost Zed' },
    ]);
    expect(await orders()).toEqual([{ id: 50, cust_id: null, total: '9.00' }]);
    expect(ledger.map(summary)).toEqual([['t.cust', 'insert', [2], 'insert-unique-taken', 'applied', R_INSERT]]);
    expect(await archive()).toEqual([
      expect.objectContaining({ table_name: 't.ord', row_key: '[50]', row_image: '{"id":50,"cust_id":10,"total":"9.00"}', role: 'cascade-set-null' }),
      expect.objectContaining({ table_name: 't.cust', row_key: '[10]', role: 'blocking' }),
    ]);
  });

  it('maxChildren 1, ON DELETE RESTRICT: refused, the DR would refuse the delete', async () => {
    const { ledger } = await run({ ...ZED, schema: [CUST, ord('RESTRICT')], dr: [...ZED.dr!, 'INSERT INTO t.ord (id, cust_id, total) VALUES (50, 10, 9.00)'] }, deleteBlocking({ strategy: 'delete-blocking', maxChildren: 1 }));
    expect(ledger.map((l) => l.outcome)).toEqual(['quarantined']);
    expect(ledger[0]!.reason).toBe(
      `delete-blocking: the DR row t.cust 10 (holds uk_email): 1 row(s) of t.ord still point at it (fk_cust, ON DELETE RESTRICT: the DR would refuse the delete); nothing was deleted (${R_INSERT})`,
    );
    expect(await cust()).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 10, email: 'ZED@x', name: 'DR Zed' },
    ]);
    expect(await archive()).toEqual([]);
  });

  it('refuses when the lost change would still wait without the blocking row (its own row diverged)', async () => {
    const { ledger } = await run(
      {
        schema: [CUST, ord('CASCADE')],
        base: BASE,
        lost: ["UPDATE t.cust SET email = 'cy@x' WHERE id = 1"],
        dr: ["UPDATE t.cust SET name = 'Ann D' WHERE id = 1", "INSERT INTO t.cust (id, email, name) VALUES (10, 'cy@x', 'DR Cy')"],
      },
      deleteBlocking(),
    );
    expect(ledger.map(summary)).toEqual([['t.cust', 'update', [1], 'update-unique-taken', 'quarantined', R_UPDATE]]);
    expect(ledger[0]!.reason).toBe(`delete-blocking: without the blocking row the change would still be update-diverged; nothing was deleted (${R_UPDATE})`);
    // The ledger shows the holder as the DR row (what a reviewer must see) and the row at its own key beside it.
    expect(await rows('SELECT dr_image, other_image FROM salvage.ledger')).toEqual([{ dr_image: '{"id":10,"email":"cy@x","name":"DR Cy"}', other_image: '{"id":1,"email":"ann@x","name":"Ann D"}' }]);
    expect(ledger[0]!.other).toEqual({ id: 1, email: 'ann@x', name: 'Ann D' });
    expect(await cust()).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann D' },
      { id: 10, email: 'cy@x', name: 'DR Cy' },
    ]);
    expect(await archive()).toEqual([]);
  });

  // The lost order move is held (update-diverged: quarantine); without it the DR's customer 2 has no
  // order, so delete-blocking (maxChildren 0) could delete it for the lost Eve — the row the held
  // move points at, which could then never be resolved (found by the merge properties, shrunk).
  const HELD_PARENT: Incident = {
    schema: [CUST, ord('RESTRICT')],
    base: [...BASE, "INSERT INTO t.cust (id, email, name) VALUES (2, 'bob@x', 'Bob')", 'INSERT INTO t.ord (id, cust_id, total) VALUES (50, 1, 1.00)'],
    lost: ['UPDATE t.ord SET cust_id = 2 WHERE id = 50', "INSERT INTO t.cust (email, name) VALUES ('eve@x', 'Lost Eve')"],
    dr: ['UPDATE t.ord SET total = 7.00 WHERE id = 50', "UPDATE t.cust SET email = 'EVE@x' WHERE id = 2"],
  };
  const heldParentConfig = (): NormalisedConfig => config({ tables: { 't.cust': { onConflict: { 'insert-unique-taken': 'delete-blocking' } }, 't.ord': { onConflict: { 'update-diverged': 'quarantine' } } } });
  const R_ORD = 'tables."t.ord".onConflict.update-diverged';
  const heldParentReason = (held: string): string =>
    `delete-blocking: the DR row t.cust 2 (holds uk_email) is the parent of a quarantined lost change (${held}#0), which would point at nothing once resolved; nothing was deleted (${R_INSERT})`;

  it('refuses a blocking row a quarantined lost change points at: nothing deleted, both changes held', async () => {
    const { ledger } = await run(HELD_PARENT, heldParentConfig());
    expect(await cust()).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 2, email: 'EVE@x', name: 'Bob' },
    ]);
    expect(await orders()).toEqual([{ id: 50, cust_id: 1, total: '7.00' }]);
    expect(ledger.map(summary)).toEqual([
      ['t.ord', 'update', [50], 'update-diverged', 'quarantined', R_ORD],
      ['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined', R_INSERT],
    ]);
    expect(ledger[1]!.reason).toBe(heldParentReason(ledger[0]!.gtid!));
    expect(await archive()).toEqual([]);
  });

  it('refuses a blocking row a later lost change of the same window points at', async () => {
    // The lost order update names customer 2 as its parent: deleting it would leave that change,
    // applied a moment later, pointing at nothing (and its cascade would take the order with it).
    const { ledger } = await run(
      {
        schema: [CUST, ord('CASCADE')],
        base: [...BASE, "INSERT INTO t.cust (id, email, name) VALUES (2, 'bob@x', 'Bob')", 'INSERT INTO t.ord (id, cust_id, total) VALUES (50, 2, 1.00)'],
        lost: ["INSERT INTO t.cust (email, name) VALUES ('eve@x', 'Lost Eve')", 'UPDATE t.ord SET total = 2.00 WHERE id = 50'],
        dr: ["UPDATE t.cust SET email = 'EVE@x' WHERE id = 2"],
      },
      config({ tables: { 't.cust': { onConflict: { 'insert-unique-taken': { strategy: 'delete-blocking', maxChildren: 1 } } } } }),
    );
    expect(ledger.map((l) => [l.table, l.class, l.outcome])).toEqual([
      ['t.cust', 'insert-unique-taken', 'quarantined'],
      ['t.ord', 'clean', 'applied'],
    ]);
    expect(ledger[0]!.reason).toBe(`delete-blocking: the DR row t.cust 2 (holds uk_email) is changed or pointed at by a lost change of this window; nothing was deleted (${R_INSERT})`);
    expect(await cust()).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 2, email: 'EVE@x', name: 'Bob' },
    ]);
    expect(await orders()).toEqual([{ id: 50, cust_id: 2, total: '2.00' }]);
    expect(await archive()).toEqual([]);
  });

  // The lost Eve takes the e-mail the DR gave its customer 2; a lost order of customer 2 comes after her.
  const LATER_CHILD: Incident = {
    schema: [CUST, ord('CASCADE')],
    base: [...BASE, "INSERT INTO t.cust (id, email, name) VALUES (2, 'bob@x', 'Bob')"],
    lost: ["INSERT INTO t.cust (email, name) VALUES ('eve@x', 'Lost Eve')", 'INSERT INTO t.ord (id, cust_id, total) VALUES (60, 2, 3.00)'],
    dr: ["UPDATE t.cust SET email = 'EVE@x' WHERE id = 2"],
  };

  it('refuses a blocking row a lost change of a later window points at: the child applies to it, nothing deleted', async () => {
    // Found by RELIABILITY 7.12: each window saw only its own changes, so window 1 deleted Bob
    // (archived) and window 2's order was held as parent-missing.
    const staged = await stageIncident(primary, dr, LATER_CHILD, ['t']);
    const ledger: LedgerLine[] = [];
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: deleteBlocking(), onLedger: (l) => ledger.push(l), windowTransactions: 1 });
    expect(ledger.map(summary)).toEqual([
      ['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined', R_INSERT],
      ['t.ord', 'insert', [60], 'clean', 'applied', 'built-in.clean'],
    ]);
    expect(ledger[0]!.reason).toBe(`delete-blocking: the DR row t.cust 2 (holds uk_email) is changed or pointed at by a later lost change (${ledger[1]!.gtid}#0); nothing was deleted (${R_INSERT})`);
    expect(await cust()).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 2, email: 'EVE@x', name: 'Bob' },
    ]);
    expect(await orders()).toEqual([{ id: 60, cust_id: 2, total: '3.00' }]);
    expect(await archive()).toEqual([]);
  });

  it('the same child in the same window: refused as a change of this window', async () => {
    const { ledger } = await run(LATER_CHILD, deleteBlocking());
    expect(ledger.map(summary)).toEqual([
      ['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined', R_INSERT],
      ['t.ord', 'insert', [60], 'clean', 'applied', 'built-in.clean'],
    ]);
    expect(ledger[0]!.reason).toBe(`delete-blocking: the DR row t.cust 2 (holds uk_email) is changed or pointed at by a lost change of this window; nothing was deleted (${R_INSERT})`);
    expect(await cust()).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 2, email: 'EVE@x', name: 'Bob' },
    ]);
    expect(await orders()).toEqual([{ id: 60, cust_id: 2, total: '3.00' }]);
    expect(await archive()).toEqual([]);
  });

  // Children that name their customer by code (a foreign key onto the unique key uk_code, not the
  // primary key). The lost Eve takes the e-mail the DR gave Bob; a lost order of Bob's names him by code.
  const CUST_CODE = `CREATE TABLE t.cust (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(40) NOT NULL, code VARCHAR(10) NOT NULL, name VARCHAR(20) NOT NULL,
    UNIQUE KEY uk_email (email), UNIQUE KEY uk_code (code)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;
  const ORD_CODE = `CREATE TABLE t.ord (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, cust_code VARCHAR(10) NOT NULL, total DECIMAL(10,2) NOT NULL,
    CONSTRAINT fk_cust_code FOREIGN KEY (cust_code) REFERENCES t.cust (code) ON DELETE CASCADE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;
  const NOTE_CODE = `CREATE TABLE t.note (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, cust_code VARCHAR(10) NOT NULL, body VARCHAR(20) NOT NULL)
    ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;
  const CODE_BASE = ["INSERT INTO t.cust (id, email, code, name) VALUES (1, 'ann@x', 'A1', 'Ann'), (2, 'bob@x', 'B2', 'Bob')"];
  const custCodes = (): Promise<unknown[]> => rows('SELECT id, email, code, name FROM t.cust ORDER BY id');
  const codeOrders = (): Promise<unknown[]> => rows('SELECT id, cust_code, total FROM t.ord ORDER BY id');
  const BOB_KEPT = [
    { id: 1, email: 'ann@x', code: 'A1', name: 'Ann' },
    { id: 2, email: 'EVE@x', code: 'B2', name: 'Bob' },
  ];
  const codeChild = (code: string): Incident => ({
    schema: [CUST_CODE, ORD_CODE],
    base: CODE_BASE,
    lost: ["INSERT INTO t.cust (email, code, name) VALUES ('eve@x', 'E3', 'Lost Eve')", `INSERT INTO t.ord (id, cust_code, total) VALUES (60, '${code}', 3.00)`],
    dr: ["UPDATE t.cust SET email = 'EVE@x' WHERE id = 2"],
  });
  const byCode = (code: string, where: string): string => `delete-blocking: the DR row t.cust 2 (holds uk_email) is pointed at through uk_code ${JSON.stringify(code)} by ${where}; nothing was deleted (${R_INSERT})`;

  for (const [code, what] of [
    ['B2', 'its code'],
    ['b2', "its code as the DR's _ci collation compares it ('b2' names 'B2')"],
  ] as const) {
    it(`refuses a blocking row a child of the same window names by ${what} (a foreign key onto a unique key): the child applies to it`, async () => {
      // Found by RELIABILITY 7.12: only references onto the primary key protected a row, so Bob was
      // deleted (archived) and the order, naming him by code, held as parent-missing.
      const { ledger } = await run(codeChild(code), deleteBlocking());
      expect(ledger.map(summary)).toEqual([
        ['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined', R_INSERT],
        ['t.ord', 'insert', [60], 'clean', 'applied', 'built-in.clean'],
      ]);
      expect(ledger[0]!.reason).toBe(byCode('B2', 'a lost change of this window'));
      expect(await custCodes()).toEqual(BOB_KEPT);
      expect(await codeOrders()).toEqual([{ id: 60, cust_code: code, total: '3.00' }]);
      expect(await archive()).toEqual([]);
    });

    it(`refuses a blocking row a child of a later window names by ${what}: the child applies to it`, async () => {
      const staged = await stageIncident(primary, dr, codeChild(code), ['t']);
      const ledger: LedgerLine[] = [];
      await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: deleteBlocking(), onLedger: (l) => ledger.push(l), windowTransactions: 1 });
      expect(ledger.map(summary)).toEqual([
        ['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined', R_INSERT],
        ['t.ord', 'insert', [60], 'clean', 'applied', 'built-in.clean'],
      ]);
      expect(ledger[0]!.reason).toBe(byCode('B2', `a later lost change (${ledger[1]!.gtid}#0)`));
      expect(await custCodes()).toEqual(BOB_KEPT);
      expect(await codeOrders()).toEqual([{ id: 60, cust_code: code, total: '3.00' }]);
      expect(await archive()).toEqual([]);
    });
  }

  it('a logical reference onto a unique column protects the row as a declared one does, in a later window', async () => {
    const staged = await stageIncident(
      primary,
      dr,
      { ...codeChild('B2'), schema: [CUST_CODE, NOTE_CODE], lost: ["INSERT INTO t.cust (email, code, name) VALUES ('eve@x', 'E3', 'Lost Eve')", "INSERT INTO t.note (id, cust_code, body) VALUES (70, 'b2', 'call back')"] },
      ['t'],
    );
    const ledger: LedgerLine[] = [];
    const cfg = config({ tables: { 't.cust': { onConflict: { 'insert-unique-taken': 'delete-blocking' } }, 't.note': { references: { cust_code: 't.cust.code' } } } });
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: cfg, onLedger: (l) => ledger.push(l), windowTransactions: 1 });
    expect(ledger.map(summary)).toEqual([
      ['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined', R_INSERT],
      ['t.note', 'insert', [70], 'clean', 'applied', 'built-in.clean'],
    ]);
    expect(ledger[0]!.reason).toBe(byCode('B2', `a later lost change (${ledger[1]!.gtid}#0)`));
    expect(await custCodes()).toEqual(BOB_KEPT);
    expect(await rows('SELECT id, cust_code, body FROM t.note')).toEqual([{ id: 70, cust_code: 'b2', body: 'call back' }]);
    expect(await archive()).toEqual([]);
  });

  it('a child naming the very value the lost row takes from the blocking row names the lost row: the row is deleted, both applied', async () => {
    // The DR's Zed holds the code ('e3' under _ci) the lost Eve brings; the lost order names 'E3',
    // which on the primary was Eve's. Whatever the window, it is hers once she is written.
    const incident: Incident = {
      schema: [CUST_CODE, ORD_CODE],
      base: CODE_BASE,
      lost: ["INSERT INTO t.cust (email, code, name) VALUES ('eve@x', 'E3', 'Lost Eve')", "INSERT INTO t.ord (id, cust_code, total) VALUES (60, 'E3', 3.00)"],
      dr: ["INSERT INTO t.cust (id, email, code, name) VALUES (10, 'zed@x', 'e3', 'DR Zed')"],
    };
    for (const windowTransactions of [undefined, 1]) {
      const staged = await stageIncident(primary, dr, incident, ['t']);
      const ledger: LedgerLine[] = [];
      await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: deleteBlocking(), onLedger: (l) => ledger.push(l), ...(windowTransactions === undefined ? {} : { windowTransactions }) });
      expect(ledger.map(summary)).toEqual([
        ['t.cust', 'insert', [3], 'insert-unique-taken', 'applied', R_INSERT],
        ['t.ord', 'insert', [60], 'clean', 'applied', 'built-in.clean'],
      ]);
      expect(ledger[0]!.reason).toBe(`deleted the DR row 10 that held uk_code (archived), then applied the lost change (${R_INSERT})`);
      expect(await custCodes()).toEqual([
        { id: 1, email: 'ann@x', code: 'A1', name: 'Ann' },
        { id: 2, email: 'bob@x', code: 'B2', name: 'Bob' },
        { id: 3, email: 'eve@x', code: 'E3', name: 'Lost Eve' },
      ]);
      expect(await codeOrders()).toEqual([{ id: 60, cust_code: 'E3', total: '3.00' }]);
      expect(await archive()).toEqual([expect.objectContaining({ table_name: 't.cust', row_key: '[10]', row_image: '{"id":10,"email":"zed@x","code":"e3","name":"DR Zed"}', role: 'blocking' })]);
    }
  });

  // As HELD_PARENT, the held order move naming its customer by code ('b2', Bob's 'B2' under _ci).
  const HELD_BY_CODE: Incident = {
    schema: [CUST_CODE, ORD_CODE],
    base: [...CODE_BASE, "INSERT INTO t.ord (id, cust_code, total) VALUES (50, 'A1', 1.00)"],
    lost: ["UPDATE t.ord SET cust_code = 'b2' WHERE id = 50", "INSERT INTO t.cust (email, code, name) VALUES ('eve@x', 'E3', 'Lost Eve')"],
    dr: ['UPDATE t.ord SET total = 7.00 WHERE id = 50', "UPDATE t.cust SET email = 'EVE@x' WHERE id = 2"],
  };
  const heldByCodeReason = (held: string): string =>
    `delete-blocking: the DR row t.cust 2 (holds uk_email) is the parent of a quarantined lost change (${held}#0) through uk_code "B2", which would point at nothing once resolved; nothing was deleted (${R_INSERT})`;

  it('refuses a blocking row a quarantined lost change names by code: resolved, it would point at nothing', async () => {
    const { ledger } = await run(HELD_BY_CODE, heldParentConfig());
    expect(ledger.map(summary)).toEqual([
      ['t.ord', 'update', [50], 'update-diverged', 'quarantined', R_ORD],
      ['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined', R_INSERT],
    ]);
    expect(ledger[1]!.reason).toBe(heldByCodeReason(ledger[0]!.gtid!));
    expect(await custCodes()).toEqual(BOB_KEPT);
    expect(await codeOrders()).toEqual([{ id: 50, cust_code: 'A1', total: '7.00' }]);
    expect(await archive()).toEqual([]);
  });

  it('also when an earlier run held the change naming it by code: read back from the pending quarantine', async () => {
    const staged = await stageIncident(primary, dr, { ...HELD_BY_CODE, lost: HELD_BY_CODE.lost.slice(0, 1) }, ['t']);
    const first: LedgerLine[] = [];
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: heldParentConfig(), onLedger: (l) => first.push(l) });
    expect(first.map(summary)).toEqual([['t.ord', 'update', [50], 'update-diverged', 'quarantined', R_ORD]]);
    await primary.query(HELD_BY_CODE.lost[1]!);
    await primary.flushBinaryLogs();
    const second: LedgerLine[] = [];
    await salvage({ mode: 'apply', binlogs: await primary.binlogFiles(), target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: heldParentConfig(), onLedger: (l) => second.push(l) });
    expect(second.map(summary)).toEqual([['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined', R_INSERT]]);
    expect(second[0]!.reason).toBe(heldByCodeReason(first[0]!.gtid!));
    expect(await custCodes()).toEqual(BOB_KEPT);
    expect(await archive()).toEqual([]);
  });

  // Customers keyed by a code under utf8mb4_general_ci: the server's foreign key takes 'ABC' for
  // Bob's 'abc'. The lost Eve takes the e-mail the DR gave Bob; a lost order names him by his key.
  const CUST_PK = `CREATE TABLE t.cust (code VARCHAR(10) NOT NULL PRIMARY KEY, email VARCHAR(40) NOT NULL, name VARCHAR(20) NOT NULL,
    UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;
  const ORD_PK = `CREATE TABLE t.ord (id INT UNSIGNED NOT NULL PRIMARY KEY, cust_code VARCHAR(10) NOT NULL, total DECIMAL(10,2) NOT NULL,
    CONSTRAINT fk_cust_pk FOREIGN KEY (cust_code) REFERENCES t.cust (code) ON DELETE CASCADE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;
  const PK_BASE = ["INSERT INTO t.cust (code, email, name) VALUES ('ann', 'ann@x', 'Ann'), ('abc', 'bob@x', 'Bob')"];
  const LOST_EVE = "INSERT INTO t.cust (code, email, name) VALUES ('eve', 'eve@x', 'Lost Eve')";
  const custKeys = (): Promise<unknown[]> => rows('SELECT code, email, name FROM t.cust ORDER BY code');
  const keyOrders = (): Promise<unknown[]> => rows('SELECT id, cust_code, total FROM t.ord ORDER BY id');
  const BOB_KEPT_PK = [
    { code: 'abc', email: 'EVE@x', name: 'Bob' },
    { code: 'ann', email: 'ann@x', name: 'Ann' },
  ];
  const keyChild = (code: string): Incident => ({
    schema: [CUST_PK, ORD_PK],
    base: PK_BASE,
    lost: [LOST_EVE, `INSERT INTO t.ord (id, cust_code, total) VALUES (60, '${code}', 3.00)`],
    dr: ["UPDATE t.cust SET email = 'EVE@x' WHERE code = 'abc'"],
  });
  const byKey = (where: string): string => `delete-blocking: the DR row t.cust "abc" (holds uk_email) is changed or pointed at by ${where}; nothing was deleted (${R_INSERT})`;

  for (const [code, what] of [
    ['abc', 'its key'],
    ['ABC', "its key as the DR's _ci collation compares it ('ABC' names 'abc')"],
  ] as const) {
    it(`refuses a blocking row a child of the same window names by ${what} (a string primary key): the child applies to it`, async () => {
      // Found by RELIABILITY 7.12: a primary key was matched as logged, so 'ABC' did not protect
      // 'abc'; Bob was deleted (archived) and the order, naming him, held as parent-missing.
      const { ledger } = await run(keyChild(code), deleteBlocking());
      expect(ledger.map(summary)).toEqual([
        ['t.cust', 'insert', ['eve'], 'insert-unique-taken', 'quarantined', R_INSERT],
        ['t.ord', 'insert', [60], 'clean', 'applied', 'built-in.clean'],
      ]);
      expect(ledger[0]!.reason).toBe(byKey('a lost change of this window'));
      expect(await custKeys()).toEqual(BOB_KEPT_PK);
      expect(await keyOrders()).toEqual([{ id: 60, cust_code: code, total: '3.00' }]);
      expect(await archive()).toEqual([]);
    });

    it(`refuses a blocking row a child of a later window names by ${what} (a string primary key): the child applies to it`, async () => {
      const staged = await stageIncident(primary, dr, keyChild(code), ['t']);
      const ledger: LedgerLine[] = [];
      await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: deleteBlocking(), onLedger: (l) => ledger.push(l), windowTransactions: 1 });
      expect(ledger.map(summary)).toEqual([
        ['t.cust', 'insert', ['eve'], 'insert-unique-taken', 'quarantined', R_INSERT],
        ['t.ord', 'insert', [60], 'clean', 'applied', 'built-in.clean'],
      ]);
      expect(ledger[0]!.reason).toBe(byKey(`a later lost change (${ledger[1]!.gtid}#0)`));
      expect(await custKeys()).toEqual(BOB_KEPT_PK);
      expect(await keyOrders()).toEqual([{ id: 60, cust_code: code, total: '3.00' }]);
      expect(await archive()).toEqual([]);
    });
  }

  it('a child naming another row by its key under the collation does not protect the blocking row: it is deleted, both applied', async () => {
    // 'ANN' is Ann's key, not Bob's: the fold equates case only, so Bob is deleted as before.
    const { ledger, report } = await run(keyChild('ANN'), deleteBlocking());
    expect(ledger.map(summary)).toEqual([
      ['t.cust', 'insert', ['eve'], 'insert-unique-taken', 'applied', R_INSERT],
      ['t.ord', 'insert', [60], 'clean', 'applied', 'built-in.clean'],
    ]);
    expect(ledger[0]!.reason).toBe(`deleted the DR row "abc" that held uk_email (archived), then applied the lost change (${R_INSERT})`);
    expect(await custKeys()).toEqual([
      { code: 'ann', email: 'ann@x', name: 'Ann' },
      { code: 'eve', email: 'eve@x', name: 'Lost Eve' },
    ]);
    expect(await keyOrders()).toEqual([{ id: 60, cust_code: 'ANN', total: '3.00' }]);
    expect(await archive()).toEqual([
      { run_id: String(report.runId), source_id: report.sourceId, change_at: ledger[0]!.gtid, change_index: 0, table_name: 't.cust', row_key: '["abc"]', row_image: '{"code":"abc","email":"EVE@x","name":"Bob"}', role: 'blocking' },
    ]);
  });

  it("refuses a blocking row a later lost change updates by its key under the collation (the DR's 'ABC' is the primary's 'abc'), whatever the window", async () => {
    // The DR changed Bob's key to 'ABC': the lost update of 'abc' is his, as the server finds it.
    const incident: Incident = {
      schema: [CUST_PK, ORD_PK],
      base: PK_BASE,
      lost: [LOST_EVE, "UPDATE t.cust SET name = 'Bobby' WHERE code = 'abc'"],
      dr: ["UPDATE t.cust SET code = 'ABC', email = 'EVE@x' WHERE code = 'abc'"],
    };
    for (const windowTransactions of [undefined, 1]) {
      const staged = await stageIncident(primary, dr, incident, ['t']);
      const ledger: LedgerLine[] = [];
      await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: deleteBlocking(), onLedger: (l) => ledger.push(l), ...(windowTransactions === undefined ? {} : { windowTransactions }) });
      expect(ledger.map(summary)).toEqual([
        ['t.cust', 'insert', ['eve'], 'insert-unique-taken', 'quarantined', R_INSERT],
        ['t.cust', 'update', ['abc'], 'update-diverged', 'merged', 'built-in.update-diverged'],
      ]);
      const where = windowTransactions === undefined ? 'a lost change of this window' : `a later lost change (${ledger[1]!.gtid}#0)`;
      expect(ledger[0]!.reason).toBe(`delete-blocking: the DR row t.cust "ABC" (holds uk_email) is changed or pointed at by ${where}; nothing was deleted (${R_INSERT})`);
      expect(ledger[1]!.reason).toBe('three-way merge: took name from the lost change');
      expect(await custKeys()).toEqual([
        { code: 'ABC', email: 'EVE@x', name: 'Bobby' },
        { code: 'ann', email: 'ann@x', name: 'Ann' },
      ]);
      expect(await archive()).toEqual([]);
    }
  });

  it("decides alike whatever the window when the source row spelling the blocking row's key otherwise ('d' for the DR's 'D') was re-keyed away: it does not protect it", async () => {
    // As the first case, under the collation: the lost D met the DR's 'D' (insert-pk-taken) and was
    // re-keyed to a UUID; its order follows it there, so nothing the lost range does needs 'D'.
    const incident: Incident = {
      schema: [CUST_PK.replace('code VARCHAR(10)', 'code VARCHAR(36)'), ORD_PK.replace('cust_code VARCHAR(10)', 'cust_code VARCHAR(36)')],
      base: ["INSERT INTO t.cust (code, email, name) VALUES ('ann', 'ann@x', 'Ann')"],
      lost: ["INSERT INTO t.cust (code, email, name) VALUES ('d', 'd@x', 'Lost D')", "INSERT INTO t.cust (code, email, name) VALUES ('zed', 'zed@x', 'Lost Zed')", "INSERT INTO t.ord (id, cust_code, total) VALUES (7, 'd', 5.00)"],
      dr: ["INSERT INTO t.cust (code, email, name) VALUES ('D', 'ZED@x', 'DR Zed')"],
    };
    const cfg = config({ tables: { 't.cust': { keyAllocation: 'uuid-v7', onConflict: { 'insert-pk-taken': 'remap', 'insert-unique-taken': 'delete-blocking' } } } });
    for (const windowTransactions of [undefined, 1]) {
      const staged = await stageIncident(primary, dr, incident, ['t']);
      const ledger: LedgerLine[] = [];
      await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: cfg, onLedger: (l) => ledger.push(l), ...(windowTransactions === undefined ? {} : { windowTransactions }) });
      const fresh = ledger[0]!.newKey?.[0] as string;
      expect(fresh).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(ledger.map(summary)).toEqual([
        ['t.cust', 'insert', ['d'], 'insert-pk-taken', 'remapped', 'tables."t.cust".onConflict.insert-pk-taken'],
        ['t.cust', 'insert', ['zed'], 'insert-unique-taken', 'applied', R_INSERT],
        ['t.ord', 'insert', [7], 'clean', 'applied', 'built-in.clean'],
      ]);
      expect(ledger[1]!.reason).toBe(`deleted the DR row "D" that held uk_email (archived), then applied the lost change (${R_INSERT})`);
      expect(await rows('SELECT code, email, name FROM t.cust ORDER BY email')).toEqual([
        { code: 'ann', email: 'ann@x', name: 'Ann' },
        { code: fresh, email: 'd@x', name: 'Lost D' },
        { code: 'zed', email: 'zed@x', name: 'Lost Zed' },
      ]);
      expect(await keyOrders()).toEqual([{ id: 7, cust_code: fresh, total: '5.00' }]);
      expect(await archive()).toEqual([expect.objectContaining({ table_name: 't.cust', row_key: '["D"]', row_image: '{"code":"D","email":"ZED@x","name":"DR Zed"}', role: 'blocking' })]);
    }
  });

  // As HELD_PARENT, the held order move naming Bob's key 'abc' as 'ABC'.
  const HELD_BY_KEY: Incident = {
    schema: [CUST_PK, ORD_PK],
    base: [...PK_BASE, "INSERT INTO t.ord (id, cust_code, total) VALUES (50, 'ann', 1.00)"],
    lost: ["UPDATE t.ord SET cust_code = 'ABC' WHERE id = 50", LOST_EVE],
    dr: ['UPDATE t.ord SET total = 7.00 WHERE id = 50', "UPDATE t.cust SET email = 'EVE@x' WHERE code = 'abc'"],
  };
  const heldByKeyReason = (held: string): string =>
    `delete-blocking: the DR row t.cust "abc" (holds uk_email) is the parent of a quarantined lost change (${held}#0), which would point at nothing once resolved; nothing was deleted (${R_INSERT})`;

  it("refuses a blocking row a quarantined lost change names by its key under the collation ('ABC' for 'abc')", async () => {
    const { ledger } = await run(HELD_BY_KEY, heldParentConfig());
    expect(ledger.map(summary)).toEqual([
      ['t.ord', 'update', [50], 'update-diverged', 'quarantined', R_ORD],
      ['t.cust', 'insert', ['eve'], 'insert-unique-taken', 'quarantined', R_INSERT],
    ]);
    expect(ledger[1]!.reason).toBe(heldByKeyReason(ledger[0]!.gtid!));
    expect(await custKeys()).toEqual(BOB_KEPT_PK);
    expect(await keyOrders()).toEqual([{ id: 50, cust_code: 'ann', total: '7.00' }]);
    expect(await archive()).toEqual([]);
  });

  it('also when an earlier run held the change naming it so: read back from the pending quarantine', async () => {
    const staged = await stageIncident(primary, dr, { ...HELD_BY_KEY, lost: HELD_BY_KEY.lost.slice(0, 1) }, ['t']);
    const first: LedgerLine[] = [];
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: heldParentConfig(), onLedger: (l) => first.push(l) });
    expect(first.map(summary)).toEqual([['t.ord', 'update', [50], 'update-diverged', 'quarantined', R_ORD]]);
    await primary.query(HELD_BY_KEY.lost[1]!);
    await primary.flushBinaryLogs();
    const second: LedgerLine[] = [];
    await salvage({ mode: 'apply', binlogs: await primary.binlogFiles(), target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: heldParentConfig(), onLedger: (l) => second.push(l) });
    expect(second.map(summary)).toEqual([['t.cust', 'insert', ['eve'], 'insert-unique-taken', 'quarantined', R_INSERT]]);
    expect(second[0]!.reason).toBe(heldByKeyReason(first[0]!.gtid!));
    expect(await custKeys()).toEqual(BOB_KEPT_PK);
    expect(await archive()).toEqual([]);
  });

  // Bob is 'ABC' on the primary; the DR re-spelt his key 'abc' and gave him the e-mail the lost Eve
  // takes. The lost update of Bob ('ABC', as the primary logged it) is held (update-diverged:
  // quarantine): the DR's 'abc' is the row it waits on, as the server finds it.
  const HELD_ROW: Incident = {
    schema: [CUST_PK, ORD_PK],
    base: ["INSERT INTO t.cust (code, email, name) VALUES ('ann', 'ann@x', 'Ann'), ('ABC', 'bob@x', 'Bob')"],
    lost: ["UPDATE t.cust SET name = 'Bobby' WHERE code = 'ABC'", LOST_EVE],
    dr: ["UPDATE t.cust SET code = 'abc', email = 'EVE@x' WHERE code = 'ABC'"],
  };
  const heldRowConfig = (): NormalisedConfig => config({ tables: { 't.cust': { onConflict: { 'insert-unique-taken': 'delete-blocking', 'update-diverged': 'quarantine' } } } });
  const R_CUST_DIVERGED = 'tables."t.cust".onConflict.update-diverged';
  const heldRowReason = (held: string): string => `delete-blocking: the DR row t.cust "abc" (holds uk_email) waits on a quarantined lost change (${held}#0); nothing was deleted (${R_INSERT})`;

  it("refuses a blocking row a quarantined lost change of the row itself waits on under the collation ('ABC' held, the DR's 'abc'), whatever the window", async () => {
    // Found by RELIABILITY 7.12: the held row was looked up by its key as logged, so 'ABC' did not
    // keep 'abc'. In one window the window's own notes refused it (another reason); a window apart,
    // Bob was deleted (archived) under the change held for him, which could then never be resolved.
    for (const windowTransactions of [undefined, 1]) {
      const staged = await stageIncident(primary, dr, HELD_ROW, ['t']);
      const ledger: LedgerLine[] = [];
      await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: heldRowConfig(), onLedger: (l) => ledger.push(l), ...(windowTransactions === undefined ? {} : { windowTransactions }) });
      expect(ledger.map(summary)).toEqual([
        ['t.cust', 'update', ['ABC'], 'update-diverged', 'quarantined', R_CUST_DIVERGED],
        ['t.cust', 'insert', ['eve'], 'insert-unique-taken', 'quarantined', R_INSERT],
      ]);
      expect(ledger[1]!.reason).toBe(heldRowReason(ledger[0]!.gtid!));
      expect(await custKeys()).toEqual(BOB_KEPT_PK);
      expect(await archive()).toEqual([]);
    }
  });

  it('also when an earlier run held the change of the row itself: read back from the pending quarantine', async () => {
    const staged = await stageIncident(primary, dr, { ...HELD_ROW, lost: HELD_ROW.lost.slice(0, 1) }, ['t']);
    const first: LedgerLine[] = [];
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: heldRowConfig(), onLedger: (l) => first.push(l) });
    expect(first.map(summary)).toEqual([['t.cust', 'update', ['ABC'], 'update-diverged', 'quarantined', R_CUST_DIVERGED]]);
    await primary.query(HELD_ROW.lost[1]!);
    await primary.flushBinaryLogs();
    const second: LedgerLine[] = [];
    await salvage({ mode: 'apply', binlogs: await primary.binlogFiles(), target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: heldRowConfig(), onLedger: (l) => second.push(l) });
    expect(second.map(summary)).toEqual([['t.cust', 'insert', ['eve'], 'insert-unique-taken', 'quarantined', R_INSERT]]);
    expect(second[0]!.reason).toBe(heldRowReason(first[0]!.gtid!));
    expect(await custKeys()).toEqual(BOB_KEPT_PK);
    expect(await archive()).toEqual([]);
  });

  it('a quarantined change of another row under the collation does not keep the blocking row: it is deleted', async () => {
    // 'ANN' is Ann's key, not Bob's: the fold equates case only, so Bob is deleted as before.
    const incident: Incident = { ...HELD_ROW, lost: ["UPDATE t.cust SET name = 'Annie' WHERE code = 'ann'", LOST_EVE], dr: ["UPDATE t.cust SET code = 'abc', email = 'EVE@x' WHERE code = 'ABC'", "UPDATE t.cust SET code = 'ANN', name = 'Ann D' WHERE code = 'ann'"] };
    const staged = await stageIncident(primary, dr, incident, ['t']);
    const ledger: LedgerLine[] = [];
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: heldRowConfig(), onLedger: (l) => ledger.push(l), windowTransactions: 1 });
    expect(ledger.map(summary)).toEqual([
      ['t.cust', 'update', ['ann'], 'update-diverged', 'quarantined', R_CUST_DIVERGED],
      ['t.cust', 'insert', ['eve'], 'insert-unique-taken', 'applied', R_INSERT],
    ]);
    expect(ledger[1]!.reason).toBe(`deleted the DR row "abc" that held uk_email (archived), then applied the lost change (${R_INSERT})`);
    expect(await custKeys()).toEqual([
      { code: 'ANN', email: 'ann@x', name: 'Ann D' },
      { code: 'eve', email: 'eve@x', name: 'Lost Eve' },
    ]);
    expect(await archive()).toEqual([expect.objectContaining({ table_name: 't.cust', row_key: '["abc"]', row_image: '{"code":"abc","email":"EVE@x","name":"Bob"}', role: 'blocking' })]);
  });

  it('also when an earlier run held the change: the parent is read back from the pending quarantine', async () => {
    const staged = await stageIncident(primary, dr, { ...HELD_PARENT, lost: HELD_PARENT.lost.slice(0, 1) }, ['t']);
    const first: LedgerLine[] = [];
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: heldParentConfig(), onLedger: (l) => first.push(l) });
    expect(first.map(summary)).toEqual([['t.ord', 'update', [50], 'update-diverged', 'quarantined', R_ORD]]);
    // The failed primary's later binlog, read by a second run.
    await primary.query(HELD_PARENT.lost[1]!);
    await primary.flushBinaryLogs();
    const second: LedgerLine[] = [];
    await salvage({ mode: 'apply', binlogs: await primary.binlogFiles(), target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: heldParentConfig(), onLedger: (l) => second.push(l) });
    expect(second.map(summary)).toEqual([['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined', R_INSERT]]);
    expect(second[0]!.reason).toBe(heldParentReason(first[0]!.gtid!));
    expect(await cust()).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 2, email: 'EVE@x', name: 'Bob' },
    ]);
    expect(await archive()).toEqual([]);
  });

  // RELIABILITY 7.12: the unique-key fold read the collation from its name and kept accents apart
  // under utf8mb4_general_ci, which compares 'josé' equal to 'jose'. A lost order naming José by
  // 'josé' did not protect the DR's 'jose': it was deleted (archived), the order held as parent-missing.
  const JOSE_BASE = ["INSERT INTO t.cust (code, email, name) VALUES ('ann', 'ann@x', 'Ann'), ('jose', 'bob@x', 'José')"];
  const joseChild = (code: string): Incident => ({
    schema: [CUST_PK, ORD_PK],
    base: JOSE_BASE,
    lost: [LOST_EVE, `INSERT INTO t.ord (id, cust_code, total) VALUES (60, '${code}', 3.00)`],
    dr: ["UPDATE t.cust SET email = 'EVE@x' WHERE code = 'jose'"],
  });
  const JOSE_KEPT = [
    { code: 'ann', email: 'ann@x', name: 'Ann' },
    { code: 'jose', email: 'EVE@x', name: 'José' },
  ];
  const byJose = (where: string): string => `delete-blocking: the DR row t.cust "jose" (holds uk_email) is changed or pointed at by ${where}; nothing was deleted (${R_INSERT})`;

  for (const code of ['josé', 'JOSÉ'] as const) {
    it(`refuses a blocking row 'jose' a child of the same window names by '${code}' (equal under utf8mb4_general_ci): the child applies to it`, async () => {
      const { ledger } = await run(joseChild(code), deleteBlocking());
      expect(ledger.map(summary)).toEqual([
        ['t.cust', 'insert', ['eve'], 'insert-unique-taken', 'quarantined', R_INSERT],
        ['t.ord', 'insert', [60], 'clean', 'applied', 'built-in.clean'],
      ]);
      expect(ledger[0]!.reason).toBe(byJose('a lost change of this window'));
      expect(await custKeys()).toEqual(JOSE_KEPT);
      expect(await keyOrders()).toEqual([{ id: 60, cust_code: code, total: '3.00' }]);
      expect(await archive()).toEqual([]);
    });
  }

  it("refuses a blocking row 'jose' a child of a later window names by 'josé': the child applies to it", async () => {
    const staged = await stageIncident(primary, dr, joseChild('josé'), ['t']);
    const ledger: LedgerLine[] = [];
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: deleteBlocking(), onLedger: (l) => ledger.push(l), windowTransactions: 1 });
    expect(ledger.map(summary)).toEqual([
      ['t.cust', 'insert', ['eve'], 'insert-unique-taken', 'quarantined', R_INSERT],
      ['t.ord', 'insert', [60], 'clean', 'applied', 'built-in.clean'],
    ]);
    expect(ledger[0]!.reason).toBe(byJose(`a later lost change (${ledger[1]!.gtid}#0)`));
    expect(await custKeys()).toEqual(JOSE_KEPT);
    expect(await keyOrders()).toEqual([{ id: 60, cust_code: 'josé', total: '3.00' }]);
    expect(await archive()).toEqual([]);
  });
});

describe('quarantine origin', () => {
  it('each dependant records the change it waits on; review reads it from the column, not from the reason', async () => {
    const { ledger } = await run(
      {
        ...ZED,
        lost: [
          ...ZED.lost,
          "UPDATE t.cust SET name = 'Zed 2' WHERE id = 2",
          'INSERT INTO t.ord (id, cust_id, total) VALUES (60, 2, 1.00)',
          "START TRANSACTION; INSERT INTO t.cust (id, email, name) VALUES (5, 'eve@x', 'Eve'); UPDATE t.cust SET name = 'Zed 3' WHERE id = 2; COMMIT",
        ],
        dr: [...ZED.dr!, 'INSERT INTO t.ord (id, cust_id, total) VALUES (50, 10, 9.00)'],
      },
      deleteBlocking(),
    );
    const at = (i: number, index = 0): string => `${ledger[i]!.gtid}#${index}`;
    expect(ledger.map((l) => [l.class, l.outcome])).toEqual([
      ['insert-unique-taken', 'quarantined'],
      ['row-quarantined', 'quarantined'],
      ['parent-missing', 'quarantined'],
      ['transaction-quarantined', 'quarantined'],
      ['row-quarantined', 'quarantined'],
    ]);
    const stored = (await dr.query('SELECT id, change_index, origin FROM salvage.quarantine ORDER BY id')) as unknown[];
    expect(stored).toEqual([
      { id: '1', change_index: 0, origin: null },
      { id: '2', change_index: 0, origin: at(0) },
      { id: '3', change_index: 0, origin: at(0) },
      { id: '4', change_index: 0, origin: at(3, 1) },
      { id: '5', change_index: 1, origin: at(0) },
    ]);
    const origins = async (): Promise<unknown[]> => (await readQuarantine({ target: dr.target })).map((e) => [e.id, e.origin, e.dependants]);
    const expected = [
      [1, null, [2, 3, 5]],
      [2, { label: at(0), id: 1 }, []],
      [3, { label: at(0), id: 1 }, []],
      [4, { label: at(3, 1), id: 5 }, []],
      [5, { label: at(0), id: 1 }, [4]],
    ];
    expect(await origins()).toEqual(expected);
    await dr.query("UPDATE salvage.quarantine SET reason = 'reworded'");
    expect(await origins()).toEqual(expected);
  });
});
