/**
 * A table without a primary or unique key (a log table, equal rows held several times) is matched
 * the way replication matches it (DESIGN.md "Conflict taxonomy"): inserts are applied; an update or
 * delete takes one DR row equal to its before image on every logged column, each lost delete a
 * copy of its own; with none, the change is quarantined as update-missing / delete-missing; a write
 * that could reach rows the server equates but that differ (`Mixed` and `MIXED` under a _ci
 * collation) is held as no-key. Real servers: the exact DR rows after apply, the ledger and the
 * quarantine, plan writing nothing and showing the statements, a second apply changing nothing, and
 * resolve and explain on the quarantined changes; resolve's `apply` of a quarantined update or
 * delete written by its before image, one row, refused once no DR row equals that image; the row a
 * resolved insert or update writes checked on its unique keys (an insert stopped the run, an update
 * was the DR's Duplicate entry alone); a custom strategy asked about keyless changes, what it picks
 * carried out as if configured.
 */
import { describe, expect, it } from 'vitest';
import { explainChange, readQuarantine, resolveQuarantine } from '../../src/pipeline/resolve.js';
import { salvage, type SalvageReport } from '../../src/pipeline/salvage.js';
import type { CustomStrategyContext } from '../../src/reconcile/custom-strategy.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { decisionsFile } from '../harness/decisions.js';
import { config, stageIncident, useServerPair, type Staged } from '../harness/incident-pair.js';

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

  it('resolve applies a quarantined update and delete by their before images, one copy each; refuses one no DR row equals any more, and an ambiguous one', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(primary, dr, {
      schema: [LOG],
      base: BASE,
      lost: [
        "UPDATE t.log SET amount = 3.00 WHERE msg = 'disk'",
        // One of the two equal boot rows.
        "DELETE FROM t.log WHERE msg = 'boot' LIMIT 1",
        "UPDATE t.log SET level = 'debug' WHERE msg = 'tmp'",
        // One of the three equal oops rows, changed.
        "UPDATE t.log SET msg = 'fixed' WHERE msg = 'oops' LIMIT 1",
        // The DR deleted this row before apply: delete-missing, held with no DR row.
        "DELETE FROM t.log WHERE msg = 'gone'",
        // The DR holds MIXED too, which the server takes for Mixed: no-key (ambiguous).
        "DELETE FROM t.log WHERE msg = 'Mixed'",
      ],
      dr: ["DELETE FROM t.log WHERE msg = 'gone'", "INSERT INTO t.log VALUES ('2024-01-01 00:00:05', 'info', 'MIXED', NULL, NULL)"],
    });
    // Every clean change of the table is held for review.
    const cfg = config({ tables: { 't.log': { onConflict: { clean: 'quarantine' } } } });
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: cfg });
    const held = await readQuarantine({ target: dr.target });
    // A clean change records no DR row (it is the before image): resolve finds it by that image.
    expect(held.map((e) => [e.op, e.key, e.class, e.dr])).toEqual([
      ['update', [], 'clean', null],
      ['delete', [], 'clean', null],
      ['update', [], 'clean', null],
      ['update', [], 'clean', null],
      ['delete', [], 'delete-missing', null],
      ['delete', [], 'no-key', null],
    ]);
    const row = (at: string, level: string, msg: string, amount: string | null = null, ratio: number | null = null): Record<string, unknown> => ({ at: `2024-01-01 00:00:0${at}`, level, msg, amount, ratio });
    // Apply wrote nothing to the table: the DR holds the base rows and its own changes.
    expect(await logRows()).toEqual([
      row('0', 'info', 'boot', null, 0.5),
      row('0', 'info', 'boot', null, 0.5),
      row('1', 'warn', 'disk', '1.50'),
      row('3', 'error', 'oops', '2.00', 0.1),
      row('3', 'error', 'oops', '2.00', 0.1),
      row('3', 'error', 'oops', '2.00', 0.1),
      row('5', 'info', 'MIXED'),
      row('5', 'info', 'Mixed'),
      row('6', 'info', 'tmp'),
    ]);
    // After the export, the DR changes the tmp row the third entry would update.
    await dr.query("UPDATE t.log SET level = 'trace' WHERE msg = 'tmp'");

    const file = decisionsFile(held, held.map(() => ({ action: 'apply' })));
    const missing = (op: string): string =>
      `no DR row of t.log equals its before image on every logged column: the DR changed or deleted it, or never had it; nothing to ${op}; decide skip, and make the change by hand if it is still wanted`;
    const ambiguous =
      "t.log has no primary key: 1 other row value(s) the server takes as equal to its before image (under the columns' collations) differ from it: the server might take one of them; decide skip, and make the change by hand if it is still wanted";
    const first = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: file });
    expect(first.entries.map((e) => [e.id, e.result, e.outcome, e.message])).toEqual([
      [held[0]!.id, 'done', 'applied', 'applied as logged: set amount on the DR row equal to its before image'],
      [held[1]!.id, 'done', 'applied', 'applied as logged: deleted one of the 2 DR rows equal to its before image'],
      [held[2]!.id, 'refused', null, missing('update')],
      [held[3]!.id, 'done', 'applied', 'applied as logged: set msg on one of the 3 DR rows equal to its before image'],
      [held[4]!.id, 'refused', null, missing('delete')],
      [held[5]!.id, 'refused', null, ambiguous],
    ]);
    expect(first.counts).toEqual({ done: 3, refused: 3, 'already-resolved': 0, undecided: 0 });
    expect(first.stillPending).toBe(3);
    const resolved = [
      row('0', 'info', 'boot', null, 0.5),
      row('1', 'warn', 'disk', '3.00'),
      row('3', 'error', 'fixed', '2.00', 0.1),
      row('3', 'error', 'oops', '2.00', 0.1),
      row('3', 'error', 'oops', '2.00', 0.1),
      row('5', 'info', 'MIXED'),
      row('5', 'info', 'Mixed'),
      row('6', 'trace', 'tmp'),
    ];
    expect(await logRows()).toEqual(resolved);
    const ledger = async (): Promise<unknown[]> => (await dr.query('SELECT op, source_key, class, outcome, new_key, reason, rule_path FROM salvage.ledger ORDER BY id')) as unknown[];
    const entry = (op: string, cls: string, outcome: string, reason: string, rule: string | null): Record<string, unknown> => ({ op, source_key: '[]', class: cls, outcome, new_key: null, reason, rule_path: rule });
    const byReview = (line: number, reason: string): [string, string, string] => ['applied', `resolved by review: applied as logged: ${reason}`, `review:decisions.jsonl:${line}`];
    const noRowReason = "no DR row equals its before image on every logged column (the DR changed or deleted it, or never had it; the lost range's earlier changes counted)";
    const mixedReason = "t.log has no primary key: 1 other row value(s) the server takes as equal to its before image (under the columns' collations) differ from it: the server might take one of them";
    // The held entries keep what apply recorded (the reason of a clean change held by a rule is its class).
    const decided = [
      entry('update', 'clean', ...byReview(1, 'set amount on the DR row equal to its before image')),
      entry('delete', 'clean', ...byReview(2, 'deleted one of the 2 DR rows equal to its before image')),
      entry('update', 'clean', 'quarantined', 'clean', 'tables."t.log".onConflict.clean'),
      entry('update', 'clean', ...byReview(4, 'set msg on one of the 3 DR rows equal to its before image')),
      entry('delete', 'delete-missing', 'quarantined', noRowReason, 'built-in.delete-missing'),
      entry('delete', 'no-key', 'quarantined', mixedReason, null),
    ];
    expect(await ledger()).toEqual(decided);
    const statuses = async (): Promise<unknown[]> => (await dr.query('SELECT status, resolved_at IS NOT NULL AS resolved FROM salvage.quarantine ORDER BY id')) as unknown[];
    const pending = { status: 'pending', resolved: 0 };
    const done = { status: 'resolved', resolved: 1 };
    expect(await statuses()).toEqual([done, done, pending, done, pending, pending]);

    // The same file again changes nothing: what was done is already resolved, the rest refused again.
    const second = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: file });
    expect(second.entries.map((e) => [e.id, e.result])).toEqual([
      [held[0]!.id, 'already-resolved'],
      [held[1]!.id, 'already-resolved'],
      [held[3]!.id, 'already-resolved'],
      [held[2]!.id, 'refused'],
      [held[4]!.id, 'refused'],
      [held[5]!.id, 'refused'],
    ]);
    expect(second.entries.filter((e) => e.result === 'refused').map((e) => e.message)).toEqual([missing('update'), missing('delete'), ambiguous]);
    expect(await logRows()).toEqual(resolved);
    expect(await ledger()).toEqual(decided);
    expect(await statuses()).toEqual([done, done, pending, done, pending, pending]);

    // Once the DR holds the row the update expects again (the DBA put it back), the same decision applies.
    await dr.query("UPDATE t.log SET level = 'info' WHERE msg = 'tmp'");
    const third = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: file });
    expect(third.entries.filter((e) => e.result !== 'already-resolved').map((e) => [e.id, e.result, e.message])).toEqual([
      [held[2]!.id, 'done', 'applied as logged: set level on the DR row equal to its before image'],
      [held[4]!.id, 'refused', missing('delete')],
      [held[5]!.id, 'refused', ambiguous],
    ]);
    expect(await dr.query("SELECT level FROM t.log WHERE msg = 'tmp'")).toEqual([{ level: 'debug' }]);
    expect(await statuses()).toEqual([done, done, done, done, pending, pending]);
  }, 180_000);

  it('a custom strategy is asked about a keyless change and its pick carried out as if configured', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(primary, dr, {
      schema: [LOG],
      base: BASE,
      lost: [
        "UPDATE t.log SET amount = 3.00 WHERE msg = 'disk'",
        "DELETE FROM t.log WHERE msg = 'boot' LIMIT 1",
        "UPDATE t.log SET level = 'debug' WHERE msg = 'tmp'",
        "UPDATE t.log SET msg = 'fixed' WHERE msg = 'oops' LIMIT 1",
        "DELETE FROM t.log WHERE msg = 'gone'",
      ],
      dr: ["DELETE FROM t.log WHERE msg = 'gone'"],
    });
    const seen: CustomStrategyContext[] = [];
    const pick = (c: CustomStrategyContext): unknown => {
      seen.push(c);
      switch (c.before?.['msg']) {
        case 'disk':
          return 'apply';
        case 'boot':
          return { strategy: 'skip', reason: 'boot rows are kept' };
        case 'tmp':
          return { strategy: 'quarantine', reason: 'tmp rows are reviewed' };
        case 'oops':
          return 'apply';
        default:
          return 'skip';
      }
    };
    const cfg = config({ tables: { 't.log': { onConflict: { clean: { strategy: 'custom', name: 'pick' }, 'delete-missing': { strategy: 'custom', name: 'pick' } } } } });
    const ledger: LedgerLine[] = [];
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: cfg, strategies: { pick: pick as never }, onLedger: (l) => ledger.push(l) });
    // What the function was told: no key, the DR row equal to the before image (none for the missing one).
    expect(seen.map((c) => [c.class, c.op, c.key, c.dr?.['msg'] ?? null, c.rulePath])).toEqual([
      ['clean', 'update', null, 'disk', 'tables."t.log".onConflict.clean'],
      ['clean', 'delete', null, 'boot', 'tables."t.log".onConflict.clean'],
      ['clean', 'update', null, 'tmp', 'tables."t.log".onConflict.clean'],
      ['clean', 'update', null, 'oops', 'tables."t.log".onConflict.clean'],
      ['delete-missing', 'delete', null, null, 'tables."t.log".onConflict.delete-missing'],
    ]);
    const clean = 'tables."t.log".onConflict.clean → custom pick';
    expect(ledger.map((l) => [l.op, l.class, l.outcome, l.rule, l.reason])).toEqual([
      ['update', 'clean', 'applied', `${clean} → apply`, undefined],
      ['delete', 'clean', 'skipped', `${clean} → skip`, `boot rows are kept (${clean} → skip)`],
      ['update', 'clean', 'quarantined', `${clean} → quarantine`, `tmp rows are reviewed (${clean} → quarantine)`],
      ['update', 'clean', 'applied', `${clean} → apply`, undefined],
      ['delete', 'delete-missing', 'skipped', 'tables."t.log".onConflict.delete-missing → custom pick → skip', 'the DR keeps its rows (tables."t.log".onConflict.delete-missing → custom pick → skip)'],
    ]);
    expect(await logRows()).toEqual([
      { at: '2024-01-01 00:00:00', level: 'info', msg: 'boot', amount: null, ratio: 0.5 },
      { at: '2024-01-01 00:00:00', level: 'info', msg: 'boot', amount: null, ratio: 0.5 },
      { at: '2024-01-01 00:00:01', level: 'warn', msg: 'disk', amount: '3.00', ratio: null },
      { at: '2024-01-01 00:00:03', level: 'error', msg: 'fixed', amount: '2.00', ratio: 0.1 },
      { at: '2024-01-01 00:00:03', level: 'error', msg: 'oops', amount: '2.00', ratio: 0.1 },
      { at: '2024-01-01 00:00:03', level: 'error', msg: 'oops', amount: '2.00', ratio: 0.1 },
      { at: '2024-01-01 00:00:05', level: 'info', msg: 'Mixed', amount: null, ratio: null },
      { at: '2024-01-01 00:00:06', level: 'info', msg: 'tmp', amount: null, ratio: null },
    ]);
    expect((await readQuarantine({ target: dr.target })).map((e) => [e.op, e.class, e.reason])).toEqual([['update', 'clean', `tmp rows are reviewed (${clean} → quarantine)`]]);
    // What a keyless change's class allows is all a function may pick (checkCustomDecision): a strategy needing a row's identity stops the run, as for any change.
    const refused = await stageIncident(primary, dr, { schema: [LOG], base: BASE, lost: ["UPDATE t.log SET amount = 3.00 WHERE msg = 'disk'"] });
    const error = await salvage({
      mode: 'apply',
      binlogs: refused.files,
      target: dr.target,
      start: { kind: 'from-gtid', set: refused.start },
      config: cfg,
      strategies: { pick: (() => ({ strategy: 'source', row: { msg: 'edited' } })) as never },
    }).then(
      () => null,
      (e: unknown) => e as { code: string; cause?: { code: string } },
    );
    expect([error?.code, error?.cause?.code]).toEqual(['SALVAGE_FAULT', 'RECONCILE_CUSTOM_BAD_DECISION']);
    expect(await dr.query("SELECT amount FROM t.log WHERE msg = 'disk'")).toEqual([{ amount: '1.50' }]);
  }, 120_000);

  it('a UNIQUE key over a nullable column is read and checked: a taken value is insert-unique-taken / update-unique-taken (not dr-rejected), NULLs never collide, the window\'s own changes counted', async () => {
    const { primary, dr } = servers;
    // No primary key, and the only unique key is over a nullable column: no row identity (rows are
    // matched by image), but a non-NULL code is still unique on the DR.
    const TAG = 'CREATE TABLE t.tag (name VARCHAR(10) NOT NULL, code VARCHAR(10) NULL, UNIQUE KEY uq_code (code)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci';
    const staged = await stageIncident(primary, dr, {
      schema: [TAG],
      base: ["INSERT INTO t.tag VALUES ('a', 'A1'), ('b', 'B1'), ('c', NULL), ('g', 'G1')"],
      lost: [
        // The DR took D1 after the failover.
        "INSERT INTO t.tag VALUES ('d', 'D1')",
        // NULLs collide with nothing: with each other, nor with the DR's own NULL.
        "INSERT INTO t.tag VALUES ('e', NULL)",
        "INSERT INTO t.tag VALUES ('f', NULL)",
        // The DR holds x1, which the column's _ci collation takes for X1.
        "UPDATE t.tag SET code = 'X1' WHERE name = 'b'",
        // A value an earlier delete / update of the window freed is free.
        "DELETE FROM t.tag WHERE name = 'a'",
        "INSERT INTO t.tag VALUES ('h', 'A1')",
        "UPDATE t.tag SET code = 'G2' WHERE name = 'g'",
        "INSERT INTO t.tag VALUES ('i', 'G1')",
        // A value an earlier insert of the window took is taken: j's move is held, so J1 stays j's.
        "INSERT INTO t.tag VALUES ('j', 'J1')",
        "UPDATE t.tag SET code = 'Y1' WHERE name = 'j'",
        "INSERT INTO t.tag VALUES ('k', 'J1')",
      ],
      dr: ["INSERT INTO t.tag VALUES ('x', 'D1'), ('y', 'x1'), ('z', 'Y1'), ('w', NULL)"],
    });
    const decided = [
      ['insert', 'insert-unique-taken', 'quarantined'],
      ['insert', 'clean', 'applied'],
      ['insert', 'clean', 'applied'],
      ['update', 'update-unique-taken', 'quarantined'],
      ['delete', 'clean', 'applied'],
      ['insert', 'clean', 'applied'],
      ['update', 'clean', 'applied'],
      ['insert', 'clean', 'applied'],
      ['insert', 'clean', 'applied'],
      ['update', 'update-unique-taken', 'quarantined'],
      ['insert', 'insert-unique-taken', 'quarantined'],
    ];
    const planned: LedgerLine[] = [];
    await run(staged, 'plan', planned);
    expect(planned.map((l) => [l.op, l.class, l.outcome])).toEqual(decided);
    const applied: LedgerLine[] = [];
    const report = await run(staged, 'apply', applied);
    expect(applied.map((l) => [l.op, l.class, l.outcome])).toEqual(decided);
    // Decided in the window, never rejected by the DR and retried one transaction at a time.
    expect(report.retries).toBe(0);
    expect(applied.filter((l) => l.outcome === 'quarantined').map((l) => l.reason)).toEqual(['d', 'b', 'j', 'k'].map(() => 'another DR row already holds unique key uq_code'));
    expect(await dr.query('SELECT name, code FROM t.tag ORDER BY name')).toEqual([
      { name: 'b', code: 'B1' },
      { name: 'c', code: null },
      { name: 'e', code: null },
      { name: 'f', code: null },
      { name: 'g', code: 'G2' },
      { name: 'h', code: 'A1' },
      { name: 'i', code: 'G1' },
      { name: 'j', code: 'J1' },
      { name: 'w', code: null },
      { name: 'x', code: 'D1' },
      { name: 'y', code: 'x1' },
      { name: 'z', code: 'Y1' },
    ]);
  }, 120_000);

  it('resolve checks the row a keyless insert or update writes on its unique keys: a held value refused naming the DR row holding it, a change by case alone meeting only its own row, a free value written', async () => {
    const { primary, dr } = servers;
    const TAG = 'CREATE TABLE t.tag (name VARCHAR(10) NOT NULL, code VARCHAR(10) NULL, UNIQUE KEY uq_code (code)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci';
    const staged = await stageIncident(primary, dr, {
      schema: [TAG],
      base: ["INSERT INTO t.tag VALUES ('b', 'B1'), ('m', 'm1')"],
      lost: [
        "INSERT INTO t.tag VALUES ('d', 'D1')",
        "UPDATE t.tag SET code = 'X1' WHERE name = 'b'",
        // m1 → M1: the row's own value under the column's _ci collation.
        "UPDATE t.tag SET code = 'M1' WHERE name = 'm'",
        "INSERT INTO t.tag VALUES ('e', 'E1')",
      ],
      dr: ["INSERT INTO t.tag VALUES ('x', 'D1')"],
    });
    // Every change held for review, the clean ones too.
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: config({ tables: { 't.tag': { onConflict: { clean: 'quarantine' } } } }) });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.op, e.class])).toEqual([
      ['insert', 'insert-unique-taken'],
      ['update', 'clean'],
      ['update', 'clean'],
      ['insert', 'clean'],
    ]);
    // After the run the DR takes x1, which the column's collation takes for X1.
    await dr.query("INSERT INTO t.tag VALUES ('y', 'x1')");
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, held.map(() => ({ action: 'apply' }))) });
    const taken = (value: string, holder: string): string =>
      `the row written would take ${value} in unique key uq_code (code) of t.tag, which the DR row holds (${holder}), a record the review never saw: decide skip, or give the whole row in decision.row with a value no DR row holds`;
    expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([
      // It stopped the run (a TypeError: the insert's key looked up on a table without one).
      [held[0]!.id, 'refused', taken('"D1"', '{"name":"x","code":"D1"}')],
      // It was the DR's Duplicate entry alone: the update by image was never checked.
      [held[1]!.id, 'refused', taken('"X1"', '{"name":"y","code":"x1"}')],
      [held[2]!.id, 'done', 'applied as logged: set code on the DR row equal to its before image'],
      [held[3]!.id, 'done', 'applied as logged'],
    ]);
    expect((await readQuarantine({ target: dr.target, status: 'all' })).map((e) => e.status)).toEqual(['pending', 'pending', 'resolved', 'resolved']);
    expect(await dr.query('SELECT name, code FROM t.tag ORDER BY name')).toEqual([
      { name: 'b', code: 'B1' },
      { name: 'e', code: 'E1' },
      { name: 'm', code: 'M1' },
      { name: 'x', code: 'D1' },
      { name: 'y', code: 'x1' },
    ]);
  }, 120_000);

  it('a keyless insert-unique-taken is skipped or rewritten as configured; a strategy acting on the holder quarantines it (no identity)', async () => {
    const { primary, dr } = servers;
    const TAG = 'CREATE TABLE t.tag (name VARCHAR(10) NOT NULL, code VARCHAR(10) NULL, UNIQUE KEY uq_code (code)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci';
    const byRule = async (rule: unknown): Promise<{ ledger: LedgerLine[]; rows: unknown[] }> => {
      const staged = await stageIncident(primary, dr, { schema: [TAG], base: [], lost: ["INSERT INTO t.tag VALUES ('d', 'D1')"], dr: ["INSERT INTO t.tag VALUES ('x', 'D1')"] });
      const ledger: LedgerLine[] = [];
      await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: config({ tables: { 't.tag': { onConflict: { 'insert-unique-taken': rule as never } } } }), onLedger: (l) => ledger.push(l) });
      return { ledger, rows: (await dr.query('SELECT name, code FROM t.tag ORDER BY name')) as unknown[] };
    };
    const path = 'tables."t.tag".onConflict.insert-unique-taken';
    const skipped = await byRule('skip');
    expect(skipped.ledger.map((l) => [l.class, l.outcome, l.reason])).toEqual([['insert-unique-taken', 'skipped', `the DR keeps its row (${path})`]]);
    expect(skipped.rows).toEqual([{ name: 'x', code: 'D1' }]);
    const rewritten = await byRule({ strategy: 'rewrite-unique', template: '{value}~{n}' });
    expect(rewritten.ledger.map((l) => [l.class, l.outcome, l.reason])).toEqual([['insert-unique-taken', 'applied', `unique value rewritten for review: code "D1" → "D1~1" (${path})`]]);
    expect(rewritten.rows).toEqual([
      { name: 'd', code: 'D1~1' },
      { name: 'x', code: 'D1' },
    ]);
    const blocking = await byRule('delete-blocking');
    expect(blocking.ledger.map((l) => [l.class, l.outcome, l.reason])).toEqual([['insert-unique-taken', 'quarantined', `delete-blocking: needs a row's identity, which a table without a primary key does not give (${path})`]]);
    expect(blocking.rows).toEqual([{ name: 'x', code: 'D1' }]);
  }, 120_000);
});
