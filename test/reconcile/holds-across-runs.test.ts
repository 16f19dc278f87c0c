/**
 * What holds a source row back must hold it in every later run too, whatever splits the work: a
 * resume, a second apply after `resolve`, or the same primary read under another source id (files,
 * then live). Found by a review: a skipped insert's later changes reached the DR's unrelated record
 * at the same id in the next run, and a pending hold of one source id did not hold the other's.
 */
import { describe, expect, it } from 'vitest';
import { readQuarantine, resolveQuarantine } from '../../src/pipeline/resolve.js';
import { salvage, type SalvageOptions } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { decisionsFile } from '../harness/decisions.js';
import { config, stageIncident, useServerPair, type Staged } from '../harness/incident-pair.js';

const servers = useServerPair('holds-across-runs');

const SCHEMA = [
  'CREATE TABLE t.customers (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(40) NOT NULL, balance INT NOT NULL DEFAULT 0, UNIQUE KEY uk_email (email)) ENGINE=InnoDB',
  'CREATE TABLE t.orders (id INT UNSIGNED NOT NULL PRIMARY KEY, customer_id INT UNSIGNED NOT NULL, total INT NOT NULL, FOREIGN KEY (customer_id) REFERENCES t.customers (id)) ENGINE=InnoDB',
];

/**
 * The lost customer 4 (Yan) in the first binlog file; its balance update and its order in the next.
 * The DR gave id 4 to Quinn, and holds Yan's email at id 9: the insert is insert-unique-taken.
 */
async function stage(): Promise<Staged & { first: string[] }> {
  const staged = await stageIncident(
    servers.primary,
    servers.dr,
    {
      schema: SCHEMA,
      base: ["INSERT INTO t.customers VALUES (1, 'a@x', 0)"],
      // FLUSH BINARY LOGS is not logged: it only ends the file, so a first run can read up to here.
      lost: ["INSERT INTO t.customers VALUES (4, 'yan@x', 0)", 'FLUSH BINARY LOGS', 'UPDATE t.customers SET balance = 500 WHERE id = 4', 'INSERT INTO t.orders VALUES (10, 4, 99)'],
      dr: ["INSERT INTO t.customers VALUES (4, 'quinn@x', 7), (9, 'yan@x', 0)"],
    },
    ['t'],
  );
  // The file with the lost insert, and those before it.
  const first = staged.files.slice(0, staged.files.length - 2);
  return { ...staged, first };
}

function options(staged: Staged, files: string[], extra: Partial<SalvageOptions> = {}): SalvageOptions {
  return { mode: 'apply', binlogs: files, target: servers.dr.target, start: { kind: 'from-gtid', set: staged.start }, ...extra };
}

async function drRows(): Promise<unknown> {
  return {
    customers: await servers.dr.query('SELECT id, email, balance FROM t.customers ORDER BY id'),
    orders: await servers.dr.query('SELECT id, customer_id, total FROM t.orders ORDER BY id'),
  };
}

const UNTOUCHED = {
  customers: [
    { id: 1, email: 'a@x', balance: 0 },
    { id: 4, email: 'quinn@x', balance: 7 },
    { id: 9, email: 'yan@x', balance: 0 },
  ],
  orders: [],
};

describe('holds across runs', () => {
  it('an insert a rule skipped holds its row in the run that resumes', async () => {
    const staged = await stage();
    const skip = config({ tables: { 't.customers': { onConflict: { 'insert-unique-taken': 'skip' } } } });
    const first: LedgerLine[] = [];
    await salvage(options(staged, staged.first, { config: skip, onLedger: (l) => first.push(l) }));
    expect(first.map((l) => [l.table, l.op, l.class, l.outcome])).toEqual([['t.customers', 'insert', 'insert-unique-taken', 'skipped']]);
    const second: LedgerLine[] = [];
    await salvage(options(staged, staged.files, { config: skip, onLedger: (l) => second.push(l) }));
    expect(second.map((l) => [l.table, l.op, l.class, l.outcome, l.reason])).toEqual([
      ['t.customers', 'update', 'row-quarantined', 'quarantined', `an earlier change of this row was skipped (${first[0]!.gtid}#0): the lost row was never written`],
      ['t.orders', 'insert', 'parent-missing', 'quarantined', `its parent t.customers 4 was skipped (${first[0]!.gtid}#0)`],
    ]);
    expect(await drRows()).toEqual(UNTOUCHED);
  }, 120_000);

  it('an insert a rule skipped holds, in the run that resumes, a child naming it by a unique value the DR gives another record', async () => {
    const staged = await stageIncident(
      servers.primary,
      servers.dr,
      {
        schema: [
          'CREATE TABLE t.cust (id INT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(20) NOT NULL, UNIQUE KEY uk_code (code)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci',
          'CREATE TABLE t.ord (id INT PRIMARY KEY, cust_code VARCHAR(20) NOT NULL, FOREIGN KEY (cust_code) REFERENCES t.cust (code)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci',
        ],
        base: ["INSERT INTO t.cust VALUES (1, 'A1')"],
        lost: ["INSERT INTO t.cust VALUES (2, 'C9')", 'FLUSH BINARY LOGS', "INSERT INTO t.ord VALUES (1, 'C9')"],
        // The DR's own record holds the code (case aside): the lost customer is insert-unique-taken.
        dr: ["INSERT INTO t.cust VALUES (5, 'c9')"],
      },
      ['t'],
    );
    const skip = config({ tables: { 't.cust': { onConflict: { 'insert-unique-taken': 'skip' } } } });
    const first: LedgerLine[] = [];
    await salvage(options(staged, staged.files.slice(0, staged.files.length - 2), { config: skip, onLedger: (l) => first.push(l) }));
    expect(first.map((l) => [l.table, l.op, l.class, l.outcome])).toEqual([['t.cust', 'insert', 'insert-unique-taken', 'skipped']]);
    const second: LedgerLine[] = [];
    await salvage(options(staged, staged.files, { config: skip, onLedger: (l) => second.push(l) }));
    expect(second.map((l) => [l.table, l.op, l.class, l.outcome, l.reason])).toEqual([['t.ord', 'insert', 'parent-missing', 'quarantined', `its parent t.cust (code) "C9" was skipped (${first[0]!.gtid}#0)`]]);
    expect(await servers.dr.query('SELECT id, cust_code FROM t.ord')).toEqual([]);
  }, 120_000);

  it('an insert resolve skipped holds its row in the next apply', async () => {
    const staged = await stage();
    await salvage(options(staged, staged.first));
    const held = await readQuarantine({ target: servers.dr.target });
    expect(held.map((e) => [e.table, e.op, e.class])).toEqual([['t.customers', 'insert', 'insert-unique-taken']]);
    await resolveQuarantine({ target: servers.dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'skip' }]) });
    const second: LedgerLine[] = [];
    await salvage(options(staged, staged.files, { onLedger: (l) => second.push(l) }));
    expect(second.map((l) => [l.table, l.op, l.class, l.outcome])).toEqual([
      ['t.customers', 'update', 'row-quarantined', 'quarantined'],
      ['t.orders', 'insert', 'parent-missing', 'quarantined'],
    ]);
    expect(await drRows()).toEqual(UNTOUCHED);
  }, 120_000);

  it('an insert skipped without a hold (a value rule left the DR its same record) holds nothing in the run that resumes either: its row\'s update is merged there as in one run', async () => {
    // Found moving skipped inserts out of the ledger scan: a later run held every skipped insert
    // but already-applied ones, so this update was quarantined after a resume and merged without one.
    const staged = await stageIncident(
      servers.primary,
      servers.dr,
      {
        schema: ['CREATE TABLE t.stock (sku INT NOT NULL PRIMARY KEY, note VARCHAR(20) NOT NULL, qty INT NOT NULL) ENGINE=InnoDB'],
        base: ["INSERT INTO t.stock VALUES (1, 'a', 1)"],
        lost: ["INSERT INTO t.stock VALUES (5, 'v1', 10)", 'FLUSH BINARY LOGS', "UPDATE t.stock SET note = 'v2' WHERE sku = 5"],
        // The same record (no AUTO_INCREMENT, no DR history): insert-pk-same-record; the DR's larger qty wins whole.
        dr: ["INSERT INTO t.stock VALUES (5, 'v1', 20)"],
      },
      ['t'],
    );
    const rules = config({ tables: { 't.stock': { onConflict: { 'insert-pk-same-record': { strategy: 'max', column: 'qty' } } } } });
    const whole: LedgerLine[] = [];
    const one = staged.files.slice(0, staged.files.length - 2);
    await salvage(options(staged, one, { config: rules, onLedger: (l) => whole.push(l) }));
    expect(whole.map((l) => [l.table, l.op, l.class, l.outcome])).toEqual([['t.stock', 'insert', 'insert-pk-same-record', 'skipped']]);
    const second: LedgerLine[] = [];
    await salvage(options(staged, staged.files, { config: rules, onLedger: (l) => second.push(l) }));
    expect(second.map((l) => [l.table, l.op, l.outcome])).toEqual([['t.stock', 'update', 'merged']]);
    expect(await servers.dr.query('SELECT sku, note, qty FROM t.stock ORDER BY sku')).toEqual([
      { sku: 1, note: 'a', qty: 1 },
      { sku: 5, note: 'v2', qty: 20 },
    ]);
  }, 120_000);

  it('a row held under one source id holds it for a run under another (files, then the same primary read live)', async () => {
    const staged = await stage();
    await salvage(options(staged, staged.first, { sourceId: 'as-files' }));
    const second: LedgerLine[] = [];
    await salvage(options(staged, staged.files, { sourceId: 'as-live', onLedger: (l) => second.push(l) }));
    expect(second.map((l) => [l.table, l.op, l.class, l.outcome])).toEqual([
      ['t.customers', 'update', 'row-quarantined', 'quarantined'],
      ['t.orders', 'insert', 'parent-missing', 'quarantined'],
    ]);
    expect(await drRows()).toEqual(UNTOUCHED);
    // resolve holds them too while the insert, an entry of the other source id, is pending.
    const held = await readQuarantine({ target: servers.dr.target });
    expect(held.map((e) => [e.id, e.sourceId, e.table, e.op, e.origin])).toEqual([
      [1, 'as-files', 't.customers', 'insert', null],
      [2, 'as-live', 't.customers', 'update', { label: held[0]!.label, id: 1 }],
      [3, 'as-live', 't.orders', 'insert', { label: held[0]!.label, id: 1 }],
    ]);
    const report = await resolveQuarantine({ target: servers.dr.target, file: 'decisions.jsonl', text: decisionsFile(held.slice(1), [{ action: 'apply' }, { action: 'apply' }]) });
    expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([
      [2, 'refused', `held back because of entry 1 (${held[0]!.label}), which is still pending: resolve 1 first`],
      [3, 'refused', `held back because of entry 1 (${held[0]!.label}), which is still pending: resolve 1 first`],
    ]);
    expect(await drRows()).toEqual(UNTOUCHED);
  }, 120_000);

  it('an insert a rule skipped under one source id holds its row in resolve of changes held under another', async () => {
    const staged = await stage();
    const skip = config({ tables: { 't.customers': { onConflict: { 'insert-unique-taken': 'skip' } } } });
    const first: LedgerLine[] = [];
    await salvage(options(staged, staged.first, { config: skip, sourceId: 'as-files', onLedger: (l) => first.push(l) }));
    await salvage(options(staged, staged.files, { config: skip, sourceId: 'as-live' }));
    const held = await readQuarantine({ target: servers.dr.target });
    const origin = { label: `${first[0]!.gtid}#0`, id: null };
    expect(held.map((e) => [e.id, e.sourceId, e.table, e.op, e.origin])).toEqual([
      [1, 'as-live', 't.customers', 'update', origin],
      [2, 'as-live', 't.orders', 'insert', origin],
    ]);
    const report = await resolveQuarantine({ target: servers.dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'apply' }, { action: 'apply' }]) });
    expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([
      [
        1,
        'refused',
        `the lost row's insert (${origin.label}) was skipped, so the DR row 4 of t.customers is another record, which this update must not write: decide skip, or give the whole row under a key of its own in decision.row`,
      ],
      [
        2,
        'refused',
        `its parent t.customers 4 was never written (its insert ${origin.label} was skipped during apply by ${first[0]!.rule!}), so the DR row at that key is another record or none: decide skip, or give the whole row in decision.row pointing at a parent the DR has`,
      ],
    ]);
    expect(await drRows()).toEqual(UNTOUCHED);
  }, 120_000);
});
