/**
 * The SQL statement that made a quarantined change, end to end: a primary logging ANNOTATE_ROWS
 * (MariaDB's default), a lost insert that clashes on the DR, a transaction of two statements kept
 * whole, and one statement logged without its annotation. plan and apply read the binlog without
 * the texts; the quarantine entry, its ledger line (plan's and apply's), `quarantine show`,
 * `quarantine export`, `explain` and the report rebuilt from the DR carry exactly the statement
 * each change came from, and nothing (not an empty string) where the binlog logged none.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExplain } from '../../src/cli/explain-command.js';
import { runQuarantine } from '../../src/cli/quarantine-command.js';
import { runReport } from '../../src/cli/report-command.js';
import type { SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { readQuarantine } from '../../src/pipeline/resolve.js';
import { salvage } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const ENV: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };

const SCHEMA = [
  'CREATE DATABASE shop',
  `CREATE TABLE shop.customers (id INT UNSIGNED NOT NULL PRIMARY KEY, email VARCHAR(120) NOT NULL, name VARCHAR(80) NOT NULL,
     UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
  'CREATE TABLE shop.orders (id INT UNSIGNED NOT NULL PRIMARY KEY, customer_id INT UNSIGNED NOT NULL, total DECIMAL(10,2) NOT NULL) ENGINE=InnoDB',
  "INSERT INTO shop.customers VALUES (1, 'ann@x', 'Ann'), (2, 'ben@x', 'Ben')",
];
// 0-1-5: one statement over two lines, a name beyond ASCII; it clashes with the DR's zoe@x.
const CLASH = "INSERT INTO shop.customers (id, email, name)\n  VALUES (10, 'Zoe@X', 'Zoë P')";
// 0-1-6: two statements in one transaction, kept whole for the second's clash.
const ORDERS = 'INSERT INTO shop.orders (id, customer_id, total) VALUES (20, 2, 5.00), (21, 1, 6.00)';
const DEE = "INSERT INTO shop.customers (id, email, name) VALUES (12, 'Dee@X', 'Dee P')";
// 0-1-7: logged without its annotation (the session turned them off).
const BOB = "INSERT INTO shop.customers (id, email, name) VALUES (11, 'Bob@X', 'Bob P')";

let primary: MariadbServer;
let dr: MariadbServer;
let dir: string;
let start: string;
const planLines: LedgerLine[] = [];
const applyLines: LedgerLine[] = [];
const liveLines: LedgerLine[] = [];

async function cli(run: typeof runQuarantine, args: string[]): Promise<string> {
  const out = new Capture();
  expect(await run([...args, '--target', dr.url], out, new Capture(), ENV)).toBe(0);
  return out.text;
}

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'stmt-primary' }), startMariadb({ name: 'stmt-dr', serverId: 2 })]);
  dir = await mkdtemp(join(tmpdir(), 'salvage-stmt-'));
  for (const sql of SCHEMA) {
    await primary.query(sql);
    await dr.query(sql);
  }
  start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  await primary.query(CLASH);
  const conn = await primary.connect();
  await conn.query('START TRANSACTION');
  await conn.query(ORDERS);
  await conn.query(DEE);
  await conn.query('COMMIT');
  await conn.query('SET SESSION binlog_annotate_row_events = OFF');
  await conn.query(BOB);
  await conn.end();
  for (const sql of ["INSERT INTO shop.customers VALUES (4, 'zoe@x', 'Zoe D'), (5, 'dee@x', 'Dee D'), (6, 'bob@x', 'Bob D')"]) await dr.query(sql);
  await primary.flushBinaryLogs();
  const binlogs = await primary.binlogFiles();
  const common = { binlogs, target: dr.target, start: { kind: 'from-gtid' as const, set: start } };
  const plan = await salvage({ ...common, mode: 'plan', onLedger: (l) => planLines.push(l) });
  expect(plan.outcomes.quarantined).toBe(5);
  const live = await salvage({ source: { target: primary.target }, target: dr.target, start: common.start, mode: 'plan', onLedger: (l) => liveLines.push(l) });
  expect(live.outcomes.quarantined).toBe(5);
  const apply = await salvage({ ...common, mode: 'apply', onLedger: (l) => applyLines.push(l) });
  expect(apply.outcomes.quarantined).toBe(5);
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** What the test reads of a ledger line: the change and its statement, `undefined` shown as absent. */
const statementOf = (l: LedgerLine): [string, string, string | undefined] => [`${l.gtid}#${l.index}`, l.outcome, l.statement];

describe('the statement that made a quarantined change', () => {
  it('is on the quarantined ledger lines of plan and apply, each change with its own statement, absent where none was logged', () => {
    const expected = [
      ['0-1-5#0', 'quarantined', CLASH],
      ['0-1-6#0', 'quarantined', ORDERS],
      ['0-1-6#1', 'quarantined', ORDERS],
      ['0-1-6#2', 'quarantined', DEE],
      ['0-1-7#0', 'quarantined', undefined],
    ];
    expect(planLines.map(statementOf)).toEqual(expected);
    expect(applyLines.map(statementOf)).toEqual(expected);
    // Absent, not empty: the key is not there at all.
    expect(Object.hasOwn(applyLines[4]!, 'statement')).toBe(false);
  });

  it('read live, the same: the dump carries no annotations, and the server lists the quarantined transactions again', () => {
    expect(liveLines.map(statementOf)).toEqual(planLines.map(statementOf));
  });

  it('is recorded with the quarantine entry (null where none was logged)', async () => {
    expect(await dr.query('SELECT change_at, change_index, statement FROM salvage.quarantine ORDER BY id')).toEqual([
      { change_at: '0-1-5', change_index: 0, statement: CLASH },
      { change_at: '0-1-6', change_index: 0, statement: ORDERS },
      { change_at: '0-1-6', change_index: 1, statement: ORDERS },
      { change_at: '0-1-6', change_index: 2, statement: DEE },
      { change_at: '0-1-7', change_index: 0, statement: null },
    ]);
    const entries = await readQuarantine({ target: dr.target });
    expect(entries.map((e) => e.statement)).toEqual([CLASH, ORDERS, ORDERS, DEE, undefined]);
    expect(Object.hasOwn(entries[4]!, 'statement')).toBe(false);
  });

  it('quarantine show prints it under the reason, line by line as logged; an entry without one prints no statement line', async () => {
    expect(await cli(runQuarantine, ['show', '1'])).toBe(
      [
        'entry 1 (pending): 0-1-5#0 shop.customers insert, key [10]',
        'class:       insert-unique-taken',
        'reason:      another DR row already holds unique key uk_email',
        'statement:   INSERT INTO shop.customers (id, email, name)',
        "               VALUES (10, 'Zoe@X', 'Zoë P')",
        'dependants:  none',
        'run:         1 (source binlog:mysql-bin)',
        '  column  before  after    dr',
        '  id      -       10       4',
        '  email   -       "Zoe@X"  "zoe@x"',
        '  name    -       "Zoë P"  "Zoe D"',
        '',
      ].join('\n'),
    );
    const bob = await cli(runQuarantine, ['show', '5']);
    expect(bob).toContain('reason:      another DR row already holds unique key uk_email\ndependants:  none\n');
    expect(bob).not.toContain('statement');
    const json = JSON.parse(await cli(runQuarantine, ['show', '4', '--json'])) as Record<string, unknown>;
    expect(json['statement']).toBe(DEE);
  });

  it('quarantine export carries it for the reviewer, and leaves it out where none was logged', async () => {
    const lines = (await cli(runQuarantine, ['export'])).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['statement'])).toEqual([CLASH, ORDERS, ORDERS, DEE, undefined]);
    expect(Object.hasOwn(lines[4]!, 'statement')).toBe(false);
  });

  it('explain prints each change of a transaction with its own statement', async () => {
    const out = await cli(runExplain, ['0-1-6']);
    const statements = out.split('\n').filter((l) => l.startsWith('  statement:'));
    expect(statements).toEqual([`  statement:   ${ORDERS}`, `  statement:   ${ORDERS}`, `  statement:   ${DEE}`]);
    expect(out.split('\n').slice(0, 5)).toEqual([
      '0-1-6#0  shop.orders insert  key [20]',
      '  class:       transaction-quarantined',
      '  outcome:     quarantined',
      '  reason:      kept whole with 0-1-6#2 (insert-unique-taken)',
      `  statement:   ${ORDERS}`,
    ]);
    expect(await cli(runExplain, ['0-1-7'])).not.toContain('statement');
    expect((JSON.parse(await cli(runExplain, ['0-1-5', '--json'])) as Record<string, unknown>)['statement']).toBe(CLASH);
  });

  it('the report rebuilt from the DR lists the statements (Markdown) and shows each with its change (HTML)', async () => {
    const md = join(dir, 'report.md');
    const html = join(dir, 'report.html');
    await cli(runReport, ['--markdown', md, '--html', html]);
    const text = await readFile(md, 'utf8');
    const at = text.indexOf('Statements that made them, as the binlog logged them:');
    expect(at).toBeGreaterThan(0);
    expect(text.slice(at, text.indexOf('## Run'))).toBe(
      [
        'Statements that made them, as the binlog logged them:',
        '',
        '- `0-1-5#0`:',
        '',
        '  ```sql',
        '  INSERT INTO shop.customers (id, email, name)',
        "    VALUES (10, 'Zoe@X', 'Zoë P')",
        '  ```',
        '',
        '- `0-1-6#0`, `0-1-6#1`:',
        '',
        '  ```sql',
        `  ${ORDERS}`,
        '  ```',
        '',
        '- `0-1-6#2`:',
        '',
        '  ```sql',
        `  ${DEE}`,
        '  ```',
        '',
        '',
      ].join('\n'),
    );
    const page = await readFile(html, 'utf8');
    expect(page).toContain(`<pre class="statement"><code>INSERT INTO shop.customers (id, email, name)\n  VALUES (10, &#39;Zoe@X&#39;, &#39;Zoë P&#39;)</code></pre>`);
    expect(page.match(/<pre class="statement">/g)).toHaveLength(4);
  });
});
