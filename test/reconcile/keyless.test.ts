/**
 * A table without a primary or unique key (a log table, equal rows held several times) is matched
 * the way replication matches it (DESIGN.md "Conflict taxonomy"): inserts are applied; an update or
 * delete takes one DR row equal to its before image on every logged column, each lost delete a
 * copy of its own; with none, the change is quarantined as update-missing / delete-missing; a write
 * that could reach rows the server equates but that differ (`Mixed` and `MIXED` under a _ci
 * collation) is held as no-key. Real servers: the exact DR rows after apply, the ledger and the
 * quarantine, plan writing nothing and showing the statements, a second apply changing nothing, and
 * resolve and explain on the quarantined changes.
 */
import { describe, expect, it } from 'vitest';
import { explainChange, readQuarantine, resolveQuarantine } from '../../src/pipeline/resolve.js';
import { salvage, type SalvageReport } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { decisionsFile } from '../harness/decisions.js';
import { stageIncident, useServerPair, type Staged } from '../harness/incident-pair.js';

const servers = useServerPair('keyless');

const LOG = `CREATE TABLE t.log (at DATETIME NOT NULL, level VARCHAR(10) NOT NULL, msg VARCHAR(40) NULL, amount DECIMAL(8,2) NULL, ratio FLOAT NULL)
  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;

const BASE = [
  `INSERT INTO t.log VALUES
    ('2024-01-01 00:00:00', 'info', 'boot', NULL, 0.5), ('2024-01-01 00:00:00', 'info', 'boot', NULL, 0.5),
    ('2024-01-01 00:00:01', 'warn', 'disk', 1.50, NULL),
    ('2024-01-01 00:00:02', 'info', 'gone', NULL, NULL),
    ('2024-01-01 00:00:03', 'error', 'oops', 2.00, 0.1), ('2024-01-01 00:00:03', 'error', 'oops', 2.00, 0.1), ('2024-01-01 00:00:03', 'error', 'oops', 2.00, 0.1),
    ('2024-01-01 00:00:05', 'info', 'Mixed', NULL, NULL),
    ('2024-01-01 00:00:06', 'info', 'tmp', NULL, NULL)`,
];

/** Each its own transaction (autocommit): one row event each, in this order. */
const LOST = [
  // Two lost deletes of the two equal boot rows: one copy each.
  "DELETE FROM t.log WHERE msg = 'boot' LIMIT 1",
  "DELETE FROM t.log WHERE msg = 'boot' LIMIT 1",
  "UPDATE t.log SET amount = 3.00 WHERE msg = 'disk'",
  // An insert and an update of the row it inserted, in one window.
  "INSERT INTO t.log VALUES ('2024-01-01 00:00:04', 'info', 'new', NULL, NULL)",
  "UPDATE t.log SET msg = 'newer' WHERE msg = 'new'",
  // The DR deleted this row on its own: delete-missing.
  "DELETE FROM t.log WHERE msg = 'gone'",
  // Three lost deletes of oops, of which the DR holds two copies (it deleted one): the third is missing.
  "DELETE FROM t.log WHERE msg = 'oops' LIMIT 1",
  "DELETE FROM t.log WHERE msg = 'oops' LIMIT 1",
  "DELETE FROM t.log WHERE msg = 'oops' LIMIT 1",
  // The DR holds MIXED too, which the server takes for Mixed: a write by the image could reach either.
  "DELETE FROM t.log WHERE msg = 'Mixed'",
  // The DR changed this row: no DR row equals the lost update's before image.
  "UPDATE t.log SET level = 'debug' WHERE msg = 'tmp'",
];

const DR_OWN = ["DELETE FROM t.log WHERE msg = 'gone'", "DELETE FROM t.log WHERE msg = 'oops' LIMIT 1", "INSERT INTO t.log VALUES ('2024-01-01 00:00:05', 'info', 'MIXED', NULL, NULL)", "UPDATE t.log SET level = 'trace' WHERE msg = 'tmp'"];

const DECIDED = [
  ['delete', null, 'clean', 'applied'],
  ['delete', null, 'clean', 'applied'],
  ['update', null, 'clean', 'applied'],
  ['insert', null, 'clean', 'applied'],
  ['update', null, 'clean', 'applied'],
  ['delete', null, 'delete-missing', 'quarantined'],
  ['delete', null, 'clean', 'applied'],
  ['delete', null, 'clean', 'applied'],
  ['delete', null, 'delete-missing', 'quarantined'],
  ['delete', null, 'no-key', 'quarantined'],
  ['update', null, 'update-missing', 'quarantined'],
];

async function logRows(): Promise<unknown[]> {
  return (await servers.dr.query('SELECT CAST(at AS CHAR) AS at, level, msg, amount, ratio FROM t.log ORDER BY at, BINARY msg')) as unknown[];
}

function run(staged: Staged, mode: 'plan' | 'apply', ledger: LedgerLine[] = [], sql: string[] = []): Promise<SalvageReport> {
  return salvage({ mode, binlogs: staged.files, target: servers.dr.target, start: { kind: 'from-gtid', set: staged.start }, onLedger: (l) => ledger.push(l), onSql: (s) => sql.push(s) });
}

const AFTER_DR_OWN = [
  { at: '2024-01-01 00:00:00', level: 'info', msg: 'boot', amount: null, ratio: 0.5 },
  { at: '2024-01-01 00:00:00', level: 'info', msg: 'boot', amount: null, ratio: 0.5 },
  { at: '2024-01-01 00:00:01', level: 'warn', msg: 'disk', amount: '1.50', ratio: null },
  { at: '2024-01-01 00:00:03', level: 'error', msg: 'oops', amount: '2.00', ratio: 0.1 },
  { at: '2024-01-01 00:00:03', level: 'error', msg: 'oops', amount: '2.00', ratio: 0.1 },
  { at: '2024-01-01 00:00:05', level: 'info', msg: 'MIXED', amount: null, ratio: null },
  { at: '2024-01-01 00:00:05', level: 'info', msg: 'Mixed', amount: null, ratio: null },
  { at: '2024-01-01 00:00:06', level: 'trace', msg: 'tmp', amount: null, ratio: null },
];

describe('salvage on a table without a primary key', () => {
  it('plan decides by image over the window and writes nothing; apply writes exactly that; a second apply changes nothing', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(primary, dr, { schema: [LOG], base: BASE, lost: LOST, dr: DR_OWN });
    expect(await logRows()).toEqual(AFTER_DR_OWN);

    const planned: LedgerLine[] = [];
    const sql: string[] = [];
    await run(staged, 'plan', planned, sql);
    expect(planned.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual(DECIDED);
    expect(await logRows()).toEqual(AFTER_DR_OWN);
    expect(await dr.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'salvage'")).toEqual([]);
    // The statements apply runs: by image, NULL-safe, one row each.
    const writes = sql.filter((s) => /^(UPDATE|DELETE FROM|INSERT INTO) `t`/.test(s));
    expect(writes).toEqual([
      "DELETE FROM `t`.`log` WHERE `at` <=> '2024-01-01 00:00:00' AND `level` <=> 'info' AND `msg` <=> 'boot' AND `amount` <=> NULL AND `ratio` <=> 0.5 LIMIT 1;",
      "DELETE FROM `t`.`log` WHERE `at` <=> '2024-01-01 00:00:00' AND `level` <=> 'info' AND `msg` <=> 'boot' AND `amount` <=> NULL AND `ratio` <=> 0.5 LIMIT 1;",
      "UPDATE `t`.`log` SET `amount` = '3.00' WHERE `at` <=> '2024-01-01 00:00:01' AND `level` <=> 'warn' AND `msg` <=> 'disk' AND `amount` <=> CAST('1.50' AS DECIMAL(8,2)) AND `ratio` <=> NULL LIMIT 1;",
      "INSERT INTO `t`.`log` (`at`, `level`, `msg`, `amount`, `ratio`) VALUES ('2024-01-01 00:00:04', 'info', 'new', NULL, NULL);",
      "UPDATE `t`.`log` SET `msg` = 'newer' WHERE `at` <=> '2024-01-01 00:00:04' AND `level` <=> 'info' AND `msg` <=> 'new' AND `amount` <=> NULL AND `ratio` <=> NULL LIMIT 1;",
      "DELETE FROM `t`.`log` WHERE `at` <=> '2024-01-01 00:00:03' AND `level` <=> 'error' AND `msg` <=> 'oops' AND `amount` <=> CAST('2.00' AS DECIMAL(8,2)) AND `ratio` <=> 0.10000000149011612 LIMIT 1;",
      "DELETE FROM `t`.`log` WHERE `at` <=> '2024-01-01 00:00:03' AND `level` <=> 'error' AND `msg` <=> 'oops' AND `amount` <=> CAST('2.00' AS DECIMAL(8,2)) AND `ratio` <=> 0.10000000149011612 LIMIT 1;",
    ]);

    const applied: LedgerLine[] = [];
    const report = await run(staged, 'apply', applied);
    expect(applied.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual(DECIDED);
    expect(report.outcomes).toEqual({ applied: 7, merged: 0, remapped: 0, skipped: 0, quarantined: 4 });
    expect(await logRows()).toEqual([
      { at: '2024-01-01 00:00:01', level: 'warn', msg: 'disk', amount: '3.00', ratio: null },
      { at: '2024-01-01 00:00:04', level: 'info', msg: 'newer', amount: null, ratio: null },
      { at: '2024-01-01 00:00:05', level: 'info', msg: 'MIXED', amount: null, ratio: null },
      { at: '2024-01-01 00:00:05', level: 'info', msg: 'Mixed', amount: null, ratio: null },
      { at: '2024-01-01 00:00:06', level: 'trace', msg: 'tmp', amount: null, ratio: null },
    ]);
    expect(applied.filter((l) => l.outcome === 'quarantined').map((l) => l.reason)).toEqual([
      "no DR row equals its before image on every logged column (the DR changed or deleted it, or never had it; the lost range's earlier changes counted)",
      "no DR row equals its before image on every logged column (the DR changed or deleted it, or never had it; the lost range's earlier changes counted)",
      "t.log has no primary key: 1 other row value(s) the server takes as equal to its before image (under the columns' collations) differ from it: the server might take one of them",
      "no DR row equals its before image on every logged column (the DR changed or deleted it, or never had it; the lost range's earlier changes counted)",
    ]);

    const again = await run(staged, 'apply');
    expect(again.lost.transactions).toBe(0);
    expect(again.outcomes).toEqual({ applied: 0, merged: 0, remapped: 0, skipped: 0, quarantined: 0 });
    expect(await logRows()).toHaveLength(5);

    // The quarantine holds them with an empty key (a keyless row has none, as for its inserts), for explain and resolve.
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.table, e.op, e.key, e.class])).toEqual([
      ['t.log', 'delete', [], 'delete-missing'],
      ['t.log', 'delete', [], 'delete-missing'],
      ['t.log', 'delete', [], 'no-key'],
      ['t.log', 'update', [], 'update-missing'],
    ]);
    const [explained] = await explainChange({ target: dr.target, change: held[2]!.label });
    expect(explained).toMatchObject({ class: 'no-key', outcome: 'quarantined' });
    const resolved = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, held.map(() => ({ action: 'skip' }))) });
    expect(resolved.entries.map((e) => e.result)).toEqual(['done', 'done', 'done', 'done']);
    expect(await readQuarantine({ target: dr.target })).toEqual([]);
    expect(await logRows()).toHaveLength(5);
  }, 180_000);

  it('binlog_row_image=MINIMAL still logs whole images of a keyless table; a delete meets the row the window\'s update made', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(primary, dr, {
      schema: [LOG],
      base: BASE,
      lost: ["SET SESSION binlog_row_image = 'MINIMAL'; UPDATE t.log SET level = 'debug' WHERE msg = 'oops' LIMIT 1; DELETE FROM t.log WHERE msg = 'oops' LIMIT 1"],
    });
    const ledger: LedgerLine[] = [];
    const sql: string[] = [];
    await run(staged, 'plan', [], sql);
    expect(sql.filter((s) => /^(UPDATE|DELETE FROM) `t`/.test(s))).toEqual([
      "UPDATE `t`.`log` SET `level` = 'debug' WHERE `at` <=> '2024-01-01 00:00:03' AND `level` <=> 'error' AND `msg` <=> 'oops' AND `amount` <=> CAST('2.00' AS DECIMAL(8,2)) AND `ratio` <=> 0.10000000149011612 LIMIT 1;",
      // The primary's DELETE … LIMIT 1 took the row its UPDATE had just changed: so does the DR's.
      "DELETE FROM `t`.`log` WHERE `at` <=> '2024-01-01 00:00:03' AND `level` <=> 'debug' AND `msg` <=> 'oops' AND `amount` <=> CAST('2.00' AS DECIMAL(8,2)) AND `ratio` <=> 0.10000000149011612 LIMIT 1;",
    ]);
    await run(staged, 'apply', ledger);
    expect(ledger.map((l) => [l.op, l.class, l.outcome])).toEqual([
      ['update', 'clean', 'applied'],
      ['delete', 'clean', 'applied'],
    ]);
    // With no key to identify a row by, the server logs every column in both images (MINIMAL or not).
    const all = ['at', 'level', 'msg', 'amount', 'ratio'];
    expect([Object.keys(ledger[0]!.before ?? {}), Object.keys(ledger[0]!.after ?? {}), Object.keys(ledger[1]!.before ?? {})]).toEqual([all, all, all]);
    expect(await dr.query("SELECT level, msg, amount, ratio FROM t.log WHERE msg = 'oops' ORDER BY level")).toEqual([
      { level: 'error', msg: 'oops', amount: '2.00', ratio: 0.1 },
      { level: 'error', msg: 'oops', amount: '2.00', ratio: 0.1 },
    ]);
    expect(await primary.query("SELECT level, msg, amount, ratio FROM t.log WHERE msg = 'oops' ORDER BY level")).toEqual(await dr.query("SELECT level, msg, amount, ratio FROM t.log WHERE msg = 'oops' ORDER BY level"));
  }, 120_000);

  it('a write by image that reaches no row fails the window, which is decided again one transaction at a time: the change is quarantined, never dropped', async () => {
    const { primary, dr } = servers;
    // On the DR, an insert into t.other deletes every boot row (a trigger the run is allowed to fire):
    // the window's read saw two boot rows, its write by image meets none.
    const staged = await stageIncident(primary, dr, {
      schema: [LOG, 'CREATE TABLE t.other (id INT PRIMARY KEY) ENGINE=InnoDB'],
      base: BASE,
      lost: ['INSERT INTO t.other VALUES (1)', "DELETE FROM t.log WHERE msg = 'boot' LIMIT 1"],
    });
    await dr.query("CREATE TRIGGER t.sweep AFTER INSERT ON t.other FOR EACH ROW DELETE FROM t.log WHERE msg = 'boot'");
    const ledger: LedgerLine[] = [];
    const report = await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, allowTriggers: true, onLedger: (l) => ledger.push(l) });
    expect(report.retries).toBe(1);
    // Decided again alone, after the insert committed: no boot row is left, so the delete is missing.
    expect(ledger.map((l) => [l.table, l.op, l.class, l.outcome])).toEqual([
      ['t.other', 'insert', 'clean', 'applied'],
      ['t.log', 'delete', 'delete-missing', 'quarantined'],
    ]);
    expect(await dr.query("SELECT COUNT(*) AS n FROM t.log WHERE msg = 'boot'")).toEqual([{ n: '0' }]);
  }, 120_000);
});
