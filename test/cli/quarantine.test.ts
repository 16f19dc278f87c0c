/**
 * Quarantine review end to end, as a DBA runs it: a small incident (a unique clash, a child of the
 * clashing row, an update of a row the DR deleted, a delete of a row the DR changed) applied with
 * `salvage apply`, then `quarantine list/show/export`, `resolve` with every action, and `explain`.
 * Asserts exact output, the DR's exact rows after each decision, refusals (origin still pending,
 * a unique value another DR row holds, named with its holder, the DR row changed since), and exactly once (the same file twice).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExplain } from '../../src/cli/explain-command.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { QUARANTINE_HELP, runQuarantine } from '../../src/cli/quarantine-command.js';
import { RESOLVE_HELP, runResolve } from '../../src/cli/resolve-command.js';
import type { SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { EngineError } from '../../src/errors.js';
import { originOf, parseDecisionFile, resolveQuarantine, ReviewError } from '../../src/pipeline/resolve.js';
import { salvage } from '../../src/pipeline/salvage.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { Capture } from '../harness/capture.js';

const ENV: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };

const SCHEMA = [
  'CREATE DATABASE shop',
  `CREATE TABLE shop.customers (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(120) NOT NULL, name VARCHAR(80) NOT NULL,
     UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
  `CREATE TABLE shop.orders (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, customer_id INT UNSIGNED NOT NULL, total DECIMAL(10,2) NOT NULL,
     CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES shop.customers (id)) ENGINE=InnoDB`,
];
const BASE = [
  "INSERT INTO shop.customers (id, email, name) VALUES (1, 'ann@x', 'Ann'), (2, 'ben@x', 'Ben'), (3, 'cy@x', 'Cy')",
  'INSERT INTO shop.orders (id, customer_id, total) VALUES (1, 1, 10.00), (2, 2, 20.00)',
];
// One transaction each, quarantined in this order (entries 1 to 5; the last transaction, 6 and 7).
const LOST = [
  // A case clash with the DR's own zed@x under utf8mb4_general_ci.
  "INSERT INTO shop.customers (id, email, name) VALUES (10, 'Zed@X', 'Zed P')",
  // Its order: the parent is held back, so the child is too.
  'INSERT INTO shop.orders (id, customer_id, total) VALUES (10, 10, 99.50)',
  "INSERT INTO shop.customers (id, email, name) VALUES (11, 'Bob@X', 'Bob P')",
  // The DR deleted customer 3.
  "UPDATE shop.customers SET name = 'Cy Two' WHERE id = 3",
  // The DR changed order 1.
  'DELETE FROM shop.orders WHERE id = 1',
  // Kept whole: a clean order (entry 6) held back with the customer that clashes after it (entry 7).
  "BEGIN; INSERT INTO shop.orders (id, customer_id, total) VALUES (20, 2, 5.00); INSERT INTO shop.customers (id, email, name) VALUES (12, 'Dee@X', 'Dee P'); COMMIT",
];
const DR_OWN = [
  "INSERT INTO shop.customers (email, name) VALUES ('zed@x', 'Zed D')",
  "INSERT INTO shop.customers (email, name) VALUES ('bob@x', 'Bob D')",
  "INSERT INTO shop.customers (email, name) VALUES ('dee@x', 'Dee D')",
  'DELETE FROM shop.customers WHERE id = 3',
  'UPDATE shop.orders SET total = 11.00 WHERE id = 1',
];

let primary: MariadbServer;
let dr: MariadbServer;
let dir: string;
let gtids: string[];

async function rows(sql: string): Promise<unknown[]> {
  return (await dr.query(sql)) as unknown[];
}

async function drTables(): Promise<Record<string, unknown[]>> {
  return {
    customers: await rows('SELECT id, email, name FROM shop.customers ORDER BY id'),
    orders: await rows('SELECT id, customer_id, total FROM shop.orders ORDER BY id'),
  };
}

async function cli(run: typeof runQuarantine, args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new Capture();
  const err = new Capture();
  const code = await run([...args, '--target', dr.url], out, err, ENV);
  return { code, out: out.text, err: err.text };
}

/** The exported file with the given decisions filled in, as a DBA edits it. */
async function decide(decisions: Record<number, unknown>, order?: number[]): Promise<string> {
  const exported = (await cli(runQuarantine, ['export', '--status', 'all'])).out.trimEnd().split('\n');
  const lines = exported.map((l) => JSON.parse(l) as { id: number; decision: unknown });
  const byId = new Map(lines.map((l) => [l.id, l]));
  const ids = order ?? lines.map((l) => l.id);
  const text = ids.map((id) => JSON.stringify({ ...byId.get(id)!, decision: decisions[id] ?? null })).join('\n') + '\n';
  const file = join(dir, 'decisions.jsonl');
  await writeFile(file, text);
  return file;
}

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'review-primary' }), startMariadb({ name: 'review-dr', serverId: 2 })]);
  dir = await mkdtemp(join(tmpdir(), 'salvage-review-'));
  for (const sql of [...SCHEMA, ...BASE]) {
    await primary.query(sql);
    await dr.query(sql);
  }
  const start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  gtids = [];
  for (const sql of LOST) {
    if (sql.startsWith('BEGIN')) {
      const conn = await primary.connect();
      await conn.query(sql);
      await conn.end();
    } else await primary.query(sql);
    gtids.push(String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p));
  }
  for (const sql of DR_OWN) await dr.query(sql);
  await primary.flushBinaryLogs();
  const report = await salvage({ mode: 'apply', binlogs: await primary.binlogFiles(), target: dr.target, start: { kind: 'from-gtid', set: start } });
  expect(report.outcomes.quarantined).toBe(7);
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('quarantine list, show and export', () => {
  it('the incident has the GTIDs the expected texts name', () => {
    expect(gtids).toEqual(['0-1-6', '0-1-7', '0-1-8', '0-1-9', '0-1-10', '0-1-11']);
  });

  it('list: one line per pending entry', async () => {
    const r = await cli(runQuarantine, ['list']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        'id  change    table           op      class                    reason',
        '1   0-1-6#0   shop.customers  insert  insert-unique-taken      another DR row already holds unique key uk_email',
        '2   0-1-7#0   shop.orders     insert  parent-missing           its parent shop.customers 10 is quarantined (0-1-6#0)',
        '3   0-1-8#0   shop.customers  insert  insert-unique-taken      another DR row already holds unique key uk_email',
        '4   0-1-9#0   shop.customers  update  update-missing           the DR has no row with this key (deleted on the DR, or never there: no DR binlog to tell)',
        '5   0-1-10#0  shop.orders     delete  delete-diverged          the DR row differs from the deleted row in total',
        '6   0-1-11#0  shop.orders     insert  transaction-quarantined  kept whole with 0-1-11#1 (insert-unique-taken)',
        '7   0-1-11#1  shop.customers  insert  insert-unique-taken      another DR row already holds unique key uk_email',
        '7 pending: "salvage quarantine show ID" shows one; "salvage quarantine export … > decisions.jsonl", then "salvage resolve … decisions.jsonl" decides them',
        '',
      ].join('\n'),
    );
    expect((await cli(runQuarantine, ['list', '--status', 'resolved'])).out).toBe('no resolved entries in the quarantine (state schema salvage)\n');
  });

  it('show: the images side by side, the origin and the dependants', async () => {
    expect((await cli(runQuarantine, ['show', '1'])).out).toBe(
      [
        'entry 1 (pending): 0-1-6#0 shop.customers insert, key [10]',
        'class:       insert-unique-taken',
        'reason:      another DR row already holds unique key uk_email',
        "statement:   INSERT INTO shop.customers (id, email, name) VALUES (10, 'Zed@X', 'Zed P')",
        'dependants:  2 (0-1-7#0 shop.orders insert, parent-missing)',
        'run:         1 (source binlog:mysql-bin)',
        '  column  before  after    dr',
        '  id      -       10       4',
        '  email   -       "Zed@X"  "zed@x"',
        '  name    -       "Zed P"  "Zed D"',
        '',
      ].join('\n'),
    );
    expect((await cli(runQuarantine, ['show', '2'])).out).toBe(
      [
        'entry 2 (pending): 0-1-7#0 shop.orders insert, key [10]',
        'class:       parent-missing',
        'reason:      its parent shop.customers 10 is quarantined (0-1-6#0)',
        'statement:   INSERT INTO shop.orders (id, customer_id, total) VALUES (10, 10, 99.50)',
        'origin:      entry 1 (0-1-6#0), pending: resolve it first',
        'dependants:  none',
        'run:         1 (source binlog:mysql-bin)',
        '  column       before  after    dr',
        '  id           -       10       -',
        '  customer_id  -       10       -',
        '  total        -       "99.50"  -',
        '',
      ].join('\n'),
    );
    expect((await cli(runQuarantine, ['show', '4'])).out).toContain(['  column  before  after     dr', '  id      3       3         -', '  email   "cy@x"  "cy@x"    -', '  name    "Cy"    "Cy Two"  -'].join('\n'));
    await expect(cli(runQuarantine, ['show', '99'])).rejects.toThrow('the quarantine in the state schema `salvage` has no entry 99');
  });

  it('export: one JSON line per entry, decision null', async () => {
    const r = await cli(runQuarantine, ['export']);
    expect(r.out.trimEnd().split('\n')).toEqual([
      '{"id":1,"gtid":"0-1-6","index":0,"table":"shop.customers","op":"insert","class":"insert-unique-taken","reason":"another DR row already holds unique key uk_email","statement":"INSERT INTO shop.customers (id, email, name) VALUES (10, \'Zed@X\', \'Zed P\')","key":[10],"before":null,"after":{"id":10,"email":"Zed@X","name":"Zed P"},"dr":{"id":4,"email":"zed@x","name":"Zed D"},"dependants":[2],"decision":null}',
      '{"id":2,"gtid":"0-1-7","index":0,"table":"shop.orders","op":"insert","class":"parent-missing","reason":"its parent shop.customers 10 is quarantined (0-1-6#0)","statement":"INSERT INTO shop.orders (id, customer_id, total) VALUES (10, 10, 99.50)","key":[10],"before":null,"after":{"id":10,"customer_id":10,"total":"99.50"},"dr":null,"dependants":[],"decision":null}',
      '{"id":3,"gtid":"0-1-8","index":0,"table":"shop.customers","op":"insert","class":"insert-unique-taken","reason":"another DR row already holds unique key uk_email","statement":"INSERT INTO shop.customers (id, email, name) VALUES (11, \'Bob@X\', \'Bob P\')","key":[11],"before":null,"after":{"id":11,"email":"Bob@X","name":"Bob P"},"dr":{"id":5,"email":"bob@x","name":"Bob D"},"dependants":[],"decision":null}',
      '{"id":4,"gtid":"0-1-9","index":0,"table":"shop.customers","op":"update","class":"update-missing","reason":"the DR has no row with this key (deleted on the DR, or never there: no DR binlog to tell)","statement":"UPDATE shop.customers SET name = \'Cy Two\' WHERE id = 3","key":[3],"before":{"id":3,"email":"cy@x","name":"Cy"},"after":{"id":3,"email":"cy@x","name":"Cy Two"},"dr":null,"dependants":[],"decision":null}',
      '{"id":5,"gtid":"0-1-10","index":0,"table":"shop.orders","op":"delete","class":"delete-diverged","reason":"the DR row differs from the deleted row in total","statement":"DELETE FROM shop.orders WHERE id = 1","key":[1],"before":{"id":1,"customer_id":1,"total":"10.00"},"after":null,"dr":{"id":1,"customer_id":1,"total":"11.00"},"dependants":[],"decision":null}',
      '{"id":6,"gtid":"0-1-11","index":0,"table":"shop.orders","op":"insert","class":"transaction-quarantined","reason":"kept whole with 0-1-11#1 (insert-unique-taken)","statement":"INSERT INTO shop.orders (id, customer_id, total) VALUES (20, 2, 5.00)","key":[20],"before":null,"after":{"id":20,"customer_id":2,"total":"5.00"},"dr":null,"dependants":[],"decision":null}',
      '{"id":7,"gtid":"0-1-11","index":1,"table":"shop.customers","op":"insert","class":"insert-unique-taken","reason":"another DR row already holds unique key uk_email","statement":"INSERT INTO shop.customers (id, email, name) VALUES (12, \'Dee@X\', \'Dee P\')","key":[12],"before":null,"after":{"id":12,"email":"Dee@X","name":"Dee P"},"dr":{"id":6,"email":"dee@x","name":"Dee D"},"dependants":[6],"decision":null}',
    ]);
  });

  it('usage: subcommands, ids and --help', async () => {
    expect(QUARANTINE_HELP).toContain('Examples:');
    expect(RESOLVE_HELP).toContain('{"action":"link","key":[…]}');
    await expect(cli(runQuarantine, ['drop'])).rejects.toThrow('quarantine: expected list, show ID or export, got "drop"');
    await expect(cli(runQuarantine, ['show', 'x'])).rejects.toBeInstanceOf(UsageError);
    await expect(cli(runQuarantine, ['list', '--status', 'done'])).rejects.toThrow('--status takes pending, resolved or all, got "done"');
    await expect(cli(runResolve, [])).rejects.toThrow('resolve: give one decisions file');
    // export is JSON Lines already: --json was taken and changed nothing.
    const json = cli(runQuarantine, ['export', '--json']);
    await expect(json).rejects.toBeInstanceOf(UsageError);
    await expect(json).rejects.toMatchObject({ code: 'USAGE', message: 'quarantine export: --json goes with list and show; export always writes JSON Lines', details: { option: '--json' } });
  });
});

describe('the decisions file', () => {
  it('reads decisions and reports every problem with its line', () => {
    const text = [
      '{"id":1,"decision":{"action":"link","key":[4]}}',
      '',
      '{"id":2,"decision":null}',
      '{"id":3,"decision":{"action":"aply"}}',
      '{"id":1,"decision":{"action":"skip"}}',
      '{"id":4,"decision":{"action":"skip","because":"x"}}',
      'not json',
      '{"id":5,"decision":{"action":"apply","row":{"total":12345678901234567890.12}}}',
    ].join('\n');
    const r = parseDecisionFile(text);
    expect(r.problems).toEqual([
      { line: 4, message: 'decision.action: expected "apply", "link" or "skip", found "aply"' },
      { line: 5, message: 'entry 1 is decided twice (also on line 1)' },
      { line: 6, message: 'decision: skip takes action, note; unknown field "because"' },
      { line: 7, message: 'bad JSON at character 1: expected a JSON value, found "not json"' },
    ]);
    expect(r.lines.map((l) => [l.line, l.id, l.decision?.action ?? null])).toEqual([
      [1, 1, 'link'],
      [3, 2, null],
      [8, 5, 'apply'],
    ]);
  });

  // Found by a review: a file saved by an editor that writes a UTF-8 byte order mark was refused on
  // line 1 with a message showing an invisible character.
  it('reads a decisions file that starts with a UTF-8 byte order mark', () => {
    const r = parseDecisionFile('\uFEFF{"id":1,"decision":{"action":"skip"}}\n{"id":2,"decision":null}\n');
    expect(r.problems).toEqual([]);
    expect(r.lines.map((l) => [l.line, l.id, l.decision?.action ?? null])).toEqual([
      [1, 1, 'skip'],
      [2, 2, null],
    ]);
  });

  it('finds the origin a reason names', () => {
    expect(originOf('its parent shop.customers 10 is quarantined (0-1-6#0)')).toBe('0-1-6#0');
    expect(originOf('an earlier change of this row is quarantined (/data/mysql-bin.000002:4711#3)')).toBe('/data/mysql-bin.000002:4711#3');
    expect(originOf('kept whole with 0-1-12#2 (update-missing)')).toBe('0-1-12#2');
    expect(originOf('the DR has no row with this key (deleted on the DR, or never there)')).toBeNull();
  });

  it('a bad file is refused whole (exit 2), every problem listed, nothing applied', async () => {
    const file = join(dir, 'bad.jsonl');
    await writeFile(
      file,
      [
        '{"id":1,"gtid":"0-1-6","index":0,"table":"shop.customers","decision":{"action":"link","key":[4,5]}}',
        '{"id":9,"decision":{"action":"skip"}}',
        '{"id":3,"decision":{"action":"apply","row":{"id":11,"mail":"x"}}}',
        '{"id":4,"decision":{"action":"apply","row":{"id":"three"}}}',
        '{"id":5,"gtid":"0-2-99","decision":{"action":"skip"}}',
      ].join('\n'),
    );
    const err = new Capture();
    expect(await runResolve(['--target', dr.url, file], new Capture(), err, ENV)).toBe(2);
    expect(err.text).toBe(
      [
        'salvage: bad.jsonl has 5 problem(s); nothing was applied:',
        '  line 1: decision.key: a key of shop.customers: expected 1 value(s) (id), found 2',
        '  line 2: entry 9: no such quarantine entry on this DR (state schema salvage)',
        '  line 3: decision.row: shop.customers has no column "mail" (it has id, email, name)',
        '  line 4: decision.row: column id (int(10) unsigned): expected an integer, found "three"',
        '  line 5: entry 5 is 0-1-10#0 on shop.orders on this DR, the file says 0-2-99#? on ?: a file exported from another DR or state schema?',
        '',
      ].join('\n'),
    );
    expect(await rows("SELECT COUNT(*) AS n FROM salvage.quarantine WHERE status = 'pending'")).toEqual([{ n: '7' }]);
  });
});

describe('salvage resolve', () => {
  it('refuses, leaving pending: a dependant of a pending origin, a row the DR rejects, a DR row changed since', async () => {
    const before = await drTables();
    // The DR changes order 1 again after it was quarantined: the reviewed D is stale.
    await dr.query('UPDATE shop.orders SET total = 12.00 WHERE id = 1');
    const file = await decide({ 2: { action: 'apply' }, 3: { action: 'apply' }, 5: { action: 'apply' }, 6: { action: 'apply' } });
    const r = await cli(runResolve, [file, '--json']);
    expect(r.code).toBe(3);
    const report = JSON.parse(r.out) as { entries: { id: number; result: string; message: string }[]; counts: Record<string, number>; stillPending: number };
    expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([
      [2, 'refused', 'held back because of entry 1 (0-1-6#0), which is still pending: resolve 1 first'],
      // Named before anything is written (it was the DR's bare "Duplicate entry 'Bob@X' for key 'uk_email'").
      [
        3,
        'refused',
        'the row written would take "Bob@X" in unique key uk_email (email) of shop.customers, which the DR row 5 holds ({"id":5,"email":"bob@x","name":"Bob D"}), a record the review never saw: link to it ({"action":"link","key":[5]}) if it is the same record, decide skip, or give the whole row in decision.row with a value no DR row holds',
      ],
      [5, 'refused', 'the DR row 1 of shop.orders changed since it was quarantined: export again and decide on what the DR holds now (total: was "11.00", now "12.00")'],
      [6, 'refused', 'held back because of entry 7 (0-1-11#1), which is still pending: resolve 7 first'],
      [1, 'undecided', 'no decision: left pending'],
      [4, 'undecided', 'no decision: left pending'],
      [7, 'undecided', 'no decision: left pending'],
    ]);
    expect(report.counts).toEqual({ done: 0, refused: 4, 'already-resolved': 0, undecided: 3 });
    expect(report.stillPending).toBe(7);
    expect(await drTables()).toEqual({ ...before, orders: [{ id: 1, customer_id: 1, total: '12.00' }, { id: 2, customer_id: 2, total: '20.00' }] });
    expect(await rows("SELECT COUNT(*) AS n FROM salvage.quarantine WHERE status = 'pending'")).toEqual([{ n: '7' }]);
    expect(await rows("SELECT outcome FROM salvage.ledger WHERE outcome <> 'quarantined'")).toEqual([]);
  });

  it('a fault mid-entry rolls all of that entry back: the row, the ledger, the status', async () => {
    const before = await drTables();
    const ledger = await rows("SELECT outcome, reason FROM salvage.ledger WHERE change_at = '0-1-9'");
    const text = `${JSON.stringify({ id: 4, decision: { action: 'apply' } })}\n`;
    let writes = 0;
    const fault = resolveQuarantine({
      target: dr.target,
      file: 'faulty.jsonl',
      text,
      // Not reopened (test/reconcile/review-reconnect.test.ts reopens one): the fault stops the run.
      reconnect: { attempts: 0 },
      // The DR goes away after the row is written, before the ledger and the status are.
      beforeStatement: (sql) => {
        if (sql.startsWith('INSERT INTO `shop`.`customers`')) writes++;
        else if (writes > 0 && sql.startsWith('UPDATE `salvage`.`ledger`')) throw new EngineError('DB_QUERY', 'connection lost');
      },
    });
    await expect(fault).rejects.toMatchObject({ code: 'RESOLVE_FAULT' });
    await expect(fault).rejects.toThrow('entry 4 (line 1): lost the connection to the DR: connection lost [DB_QUERY]; not reconnecting (reconnect attempts: 0); it was rolled back and stays pending, entries carried out before it stay resolved: run the same resolve again to go on');
    expect(writes).toBe(1);
    expect(await drTables()).toEqual(before);
    expect(await rows("SELECT outcome, reason FROM salvage.ledger WHERE change_at = '0-1-9'")).toEqual(ledger);
    expect(await rows('SELECT status FROM salvage.quarantine WHERE id = 4')).toEqual([{ status: 'pending' }]);
    expect(await rows('SELECT status FROM salvage.runs ORDER BY id DESC LIMIT 1')).toEqual([{ status: 'failed' }]);
  });

  it('carries out link, apply as logged, apply with an edited row, apply of an update-missing and skip; the dependant follows the link', async () => {
    // The dependant (2) comes first in the file, and 6 waits on 7: origins are carried out first all the same.
    const file = await decide(
      {
        1: { action: 'link', key: [4], note: 'same person, case differs' },
        2: { action: 'apply' },
        3: { action: 'apply', row: { id: 11, email: 'bob2@x', name: 'Bob P' } },
        4: { action: 'apply' },
        5: { action: 'skip' },
        6: { action: 'apply' },
        7: { action: 'apply', row: { id: 12, email: 'dee2@x', name: 'Dee P' } },
      },
      [2, 1, 3, 4, 5, 6, 7],
    );
    const r = await cli(runResolve, [file]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^salvage resolve: decisions\.jsonl on mysql:\/\/root@127\.0\.0\.1:\d+, run \d+$/);
    expect(lines.slice(1)).toEqual([
      '  entry  change    table           op      decision  result',
      '  1      0-1-6#0   shop.customers  insert  link      done (merged)   linked to the DR row 4 (the lost row is that record; its values were not written, later changes follow it)',
      '  2      0-1-7#0   shop.orders     insert  apply     done (applied)  applied as logged',
      '  3      0-1-8#0   shop.customers  insert  apply     done (applied)  applied the reviewed row',
      '  4      0-1-9#0   shop.customers  update  apply     done (applied)  applied as logged: the DR had no row 3, so the row was inserted as the change left it',
      '  5      0-1-10#0  shop.orders     delete  skip      done (skipped)  skipped',
      '  7      0-1-11#1  shop.customers  insert  apply     done (applied)  applied the reviewed row',
      '  6      0-1-11#0  shop.orders     insert  apply     done (applied)  applied as logged',
      'done 7, refused 0, already resolved 0, undecided 0; 0 entries still pending on the DR',
    ]);
    expect(await drTables()).toEqual({
      customers: [
        { id: 1, email: 'ann@x', name: 'Ann' },
        { id: 2, email: 'ben@x', name: 'Ben' },
        { id: 3, email: 'cy@x', name: 'Cy Two' },
        { id: 4, email: 'zed@x', name: 'Zed D' },
        { id: 5, email: 'bob@x', name: 'Bob D' },
        { id: 6, email: 'dee@x', name: 'Dee D' },
        { id: 11, email: 'bob2@x', name: 'Bob P' },
        { id: 12, email: 'dee2@x', name: 'Dee P' },
      ],
      orders: [
        { id: 1, customer_id: 1, total: '12.00' },
        { id: 2, customer_id: 2, total: '20.00' },
        { id: 10, customer_id: 4, total: '99.50' },
        { id: 20, customer_id: 2, total: '5.00' },
      ],
    });
    expect(await rows('SELECT table_name, old_key, new_key FROM salvage.key_map')).toEqual([{ table_name: 'shop.customers', old_key: '[10]', new_key: '[4]' }]);
    expect(await rows('SELECT change_at, outcome, new_key, reason, rule_path FROM salvage.ledger ORDER BY seq')).toEqual([
      {
        change_at: '0-1-6',
        outcome: 'merged',
        new_key: '[4]',
        reason: 'resolved by review: linked to the DR row 4 (the lost row is that record; its values were not written, later changes follow it) — same person, case differs',
        rule_path: 'review:decisions.jsonl:2',
      },
      { change_at: '0-1-7', outcome: 'applied', new_key: null, reason: 'resolved by review: applied as logged', rule_path: 'review:decisions.jsonl:1' },
      { change_at: '0-1-8', outcome: 'applied', new_key: null, reason: 'resolved by review: applied the reviewed row', rule_path: 'review:decisions.jsonl:3' },
      { change_at: '0-1-9', outcome: 'applied', new_key: null, reason: 'resolved by review: applied as logged: the DR had no row 3, so the row was inserted as the change left it', rule_path: 'review:decisions.jsonl:4' },
      { change_at: '0-1-10', outcome: 'skipped', new_key: null, reason: 'resolved by review: skipped', rule_path: 'review:decisions.jsonl:5' },
      { change_at: '0-1-11', outcome: 'applied', new_key: null, reason: 'resolved by review: applied as logged', rule_path: 'review:decisions.jsonl:6' },
      { change_at: '0-1-11', outcome: 'applied', new_key: null, reason: 'resolved by review: applied the reviewed row', rule_path: 'review:decisions.jsonl:7' },
    ]);
    expect(await rows("SELECT id, status, resolved_at IS NOT NULL AS at FROM salvage.quarantine ORDER BY id")).toEqual(['1', '2', '3', '4', '5', '6', '7'].map((id) => ({ id, status: 'resolved', at: 1 })));
    expect((await cli(runQuarantine, ['list'])).out).toBe('no pending entries in the quarantine (state schema salvage)\n');
  });

  it('is exactly once: the same file again does nothing', async () => {
    const tables = await drTables();
    const ledger = await rows('SELECT * FROM salvage.ledger ORDER BY id');
    const runs = await rows('SELECT COUNT(*) AS n FROM salvage.runs');
    const r = await cli(runResolve, [join(dir, 'decisions.jsonl'), '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { runId: number | null; counts: Record<string, number> };
    expect(report.runId).toBeNull();
    expect(report.counts).toEqual({ done: 0, refused: 0, 'already-resolved': 7, undecided: 0 });
    expect(await drTables()).toEqual(tables);
    expect(await rows('SELECT * FROM salvage.ledger ORDER BY id')).toEqual(ledger);
    expect(await rows('SELECT COUNT(*) AS n FROM salvage.runs')).toEqual(runs);
  });
});

describe('salvage explain', () => {
  it('tells the ledger row, the images, the DR row now and the quarantine entry of a change', async () => {
    const r = await cli(runExplain, ['0-1-7']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        '0-1-7#0  shop.orders insert  key [10]',
        '  class:       parent-missing',
        '  outcome:     applied',
        '  reason:      resolved by review: applied as logged',
        '  statement:   INSERT INTO shop.orders (id, customer_id, total) VALUES (10, 10, 99.50)',
        '  rule:        review:decisions.jsonl:1',
        '  new key:     -',
        '  recorded:    run 1, source binlog:mysql-bin',
        '  quarantine:  entry 2, resolved',
        '  DR row now:  [10]',
        '    column       before  after    dr  now',
        '    id           -       10       -   10',
        '    customer_id  -       10       -   4',
        '    total        -       "99.50"  -   "99.50"',
        '',
      ].join('\n'),
    );
  });

  it('follows a link to the DR row, picks one change by table and key, and prints JSON', async () => {
    const r = await cli(runExplain, ['0-1-6', 'shop.customers', '10', '--json']);
    const c = JSON.parse(r.out) as Record<string, unknown>;
    expect(c).toMatchObject({ label: '0-1-6#0', outcome: 'merged', newKey: [4], drKey: [4], now: { id: 4, email: 'zed@x', name: 'Zed D' }, quarantine: { id: 1, status: 'resolved' } });
    // The DR row now (12.00) beside the one the delete met (11.00) and the one it deleted (10.00).
    expect((await cli(runExplain, ['0-1-10#0'])).out).toBe(
      [
        '0-1-10#0  shop.orders delete  key [1]',
        '  class:       delete-diverged',
        '  outcome:     skipped',
        '  reason:      resolved by review: skipped',
        '  statement:   DELETE FROM shop.orders WHERE id = 1',
        '  rule:        review:decisions.jsonl:5',
        '  new key:     -',
        '  recorded:    run 1, source binlog:mysql-bin',
        '  quarantine:  entry 5, resolved',
        '  DR row now:  [1]',
        '    column       before   after  dr       now',
        '    id           1        -      1        1',
        '    customer_id  1        -      1        1',
        '    total        "10.00"  -      "11.00"  "12.00"',
        '',
      ].join('\n'),
    );
    await expect(cli(runExplain, ['0-1-6', 'shop.customers', '99'])).rejects.toThrow(ReviewError);
    await expect(cli(runExplain, ['0-1-999'])).rejects.toThrow('no change of 0-1-999 in the ledger of `salvage`');
  });

  it('tells a malformed change apart from one not in the ledger (exit 2)', async () => {
    // Found by a review: `explain garbage` said the change was not in the ledger.
    for (const bad of ['garbage', '0-1', '0-1-6#x', 'mysql-bin.000001']) {
      await expect(cli(runExplain, [bad])).rejects.toMatchObject({ code: 'EXPLAIN_BAD_CHANGE', message: expect.stringMatching(new RegExp(`^"${bad.replace(/[.#]/g, '\\$&')}" names no change: give a GTID`)) });
    }
    expect(exitCodeFor(await cli(runExplain, ['garbage']).catch((e: unknown) => e))).toBe(2);
    // Well-formed but absent: still not found.
    await expect(cli(runExplain, ['mysql-bin.000001:4'])).rejects.toMatchObject({ code: 'EXPLAIN_NOT_FOUND' });
    await expect(cli(runExplain, ['3e11fa47-71ca-11e1-9e33-c80aa9429562:5#0'])).rejects.toMatchObject({ code: 'EXPLAIN_NOT_FOUND' });
  });
});
