/**
 * What resolve must refuse, or record, beyond the entry's own row (found by a review against real
 * servers, /work/review-a repro-2, -3, -6 and -8):
 * - a held child applied while its parent's insert was skipped (it pointed at the DR's unrelated
 *   record at the parent's source id), or while that insert was still pending because the entry's
 *   recorded origin was another change of its transaction (kept whole);
 * - a delete whose row DR rows still point at: the server's ON DELETE CASCADE silently deleted DR
 *   rows added after the export;
 * - an update applied with a reviewed row under another key moved the DR row but recorded no key
 *   map entry, so the row's later lost change met no row (update-missing);
 * - an insert applied with a partial reviewed row took the DR's defaults for the columns left out;
 * - explain of a skipped insert showed the DR's unrelated record at its key as "DR row now";
 * - a held child whose parent is named by a unique key (not the primary key), or whose parent's
 *   insert a rule skipped during apply (a ledger row, no quarantine entry), was applied: parents
 *   were looked up among the quarantine's inserts by primary key only (RELIABILITY.md 7, 17/21).
 */
import { describe, expect, it } from 'vitest';
import { explainLines } from '../../src/cli/explain-command.js';
import { openSession } from '../../src/db/sql-session.js';
import type { StallNotice } from '../../src/db/stall-watch.js';
import { explainChange, readQuarantine, resolveQuarantine } from '../../src/pipeline/resolve.js';
import { salvage } from '../../src/pipeline/salvage.js';
import { decisionsFile } from '../harness/decisions.js';
import { config, stageIncident, useServerPair } from '../harness/incident-pair.js';

const servers = useServerPair('resolve-guards');

const SHOP = [
  'CREATE TABLE s.customers (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(20) NOT NULL, name VARCHAR(20) NOT NULL, UNIQUE KEY uk_email (email)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci',
  'CREATE TABLE s.orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, status VARCHAR(20) NOT NULL, CONSTRAINT fk_c FOREIGN KEY (customer_id) REFERENCES s.customers (id))',
];
const BASE = ["INSERT INTO s.customers VALUES (1, 'a@x', 'A'), (2, 'b@x', 'B'), (3, 'c@x', 'C')", "INSERT INTO s.orders VALUES (1, 1, 'new'), (2, 2, 'new'), (3, 3, 'new')"];

describe("resolve and the held row's foreign-key parents", () => {
  it("refuses to apply a held child whose parent's insert the same file skips: the DR row at the parent's key is another record", async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: SHOP,
        base: BASE,
        lost: ["INSERT INTO s.customers VALUES (4, 'Yan@x', 'Yan')", "INSERT INTO s.orders VALUES (4, 4, 'new')"],
        // The DR's unrelated Quinn took id 4; its own Yan holds the lost customer's e-mail (case aside).
        dr: ["INSERT INTO s.customers VALUES (4, 'quinn@x', 'Quinn'), (5, 'yan@x', 'Yan')"],
      },
      ['s'],
    );
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start } });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.id, e.table, e.op, e.class])).toEqual([
      [1, 's.customers', 'insert', 'insert-unique-taken'],
      [2, 's.orders', 'insert', 'parent-missing'],
    ]);
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'skip' }, { action: 'apply' }]) });
    expect(report.entries.map((e) => [e.id, e.result])).toEqual([
      [1, 'done'],
      [2, 'refused'],
    ]);
    expect(report.entries[1]!.message).toBe(
      'its parent s.customers 4 was never written (entry 1, its insert, was skipped), so the DR row at that key is another record or none: decide skip, or give the whole row in decision.row pointing at a parent the DR has',
    );
    expect(await dr.query('SELECT id, customer_id FROM s.orders WHERE id > 3')).toEqual([]);
    // explain of the skipped customer shows no "DR row now": the DR's Quinn at id 4 is not it.
    const [explained] = await explainChange({ target: dr.target, change: held[0]!.label });
    expect(explained).toMatchObject({ outcome: 'skipped', drKey: null, now: null });
    expect(explainLines(explained!).find((l) => l.startsWith('  DR row now:'))).toBe('  DR row now:  - (the lost row was never written; the DR row at its key, if any, is another record)');
    // Pointed at the DR's own Yan by a reviewed row, it is written.
    const again = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile([held[1]!], [{ action: 'apply', row: { id: 4, customer_id: 5, status: 'new' } }]) });
    expect(again.entries.map((e) => e.result)).toEqual(['done']);
    expect(await dr.query('SELECT id, customer_id FROM s.orders WHERE id > 3')).toEqual([{ id: 4, customer_id: 5 }]);
  }, 120_000);

  it('refuses a child of a transaction kept whole while its parent, another entry than its recorded origin, is pending; resolved, the child follows it', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: SHOP,
        base: BASE,
        // One transaction: a new customer 4, an update of order 1 (the DR deletes it), the new customer's order.
        lost: ["START TRANSACTION; INSERT INTO s.customers VALUES (4, 'q@x', 'Q lost'); UPDATE s.orders SET status = 'paid' WHERE id = 1; INSERT INTO s.orders VALUES (4, 4, 'new'); COMMIT"],
        dr: ["INSERT INTO s.customers VALUES (4, 'r@x', 'R on DR')", 'DELETE FROM s.orders WHERE id = 1'],
      },
      ['s'],
    );
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start } });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.id, e.table, e.op])).toEqual([
      [1, 's.customers', 'insert'],
      [2, 's.orders', 'update'],
      [3, 's.orders', 'insert'],
    ]);
    // The customer left undecided, the update skipped, the order applied.
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [null, { action: 'skip' }, { action: 'apply' }]) });
    expect(report.entries.map((e) => [e.id, e.result])).toEqual([
      [2, 'done'],
      [3, 'refused'],
      [1, 'undecided'],
    ]);
    expect(report.entries[1]!.message).toBe('its parent s.customers 4 is the insert of entry 1, which is still pending: resolve 1 first');
    expect(await dr.query('SELECT id FROM s.orders WHERE id > 3')).toEqual([]);
    // Both decided in one file, the parent (under a key of its own) is carried out first and the order follows it.
    const pending = await readQuarantine({ target: dr.target });
    const done = await resolveQuarantine({
      target: dr.target,
      file: 'decisions.jsonl',
      text: decisionsFile(pending, [{ action: 'apply', row: { id: 10, email: 'q@x', name: 'Q lost' } }, { action: 'apply' }]),
    });
    expect(done.entries.map((e) => [e.id, e.result])).toEqual([
      [1, 'done'],
      [3, 'done'],
    ]);
    expect(await dr.query('SELECT id, customer_id FROM s.orders WHERE id > 3')).toEqual([{ id: 4, customer_id: 10 }]);
  }, 120_000);
});

/** Customers named by their unique code, declared (u.ord) or by a logical reference of the configuration (u.note). */
const BY_CODE = [
  'CREATE TABLE u.cust (id INT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(20) NOT NULL, name VARCHAR(20) NOT NULL, UNIQUE KEY uk_code (code)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci',
  'CREATE TABLE u.ord (id INT PRIMARY KEY, cust_code VARCHAR(20) NOT NULL, status VARCHAR(20) NOT NULL, FOREIGN KEY (cust_code) REFERENCES u.cust (code)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci',
  'CREATE TABLE u.note (id INT PRIMARY KEY, cust_code VARCHAR(20) NOT NULL, body VARCHAR(20) NOT NULL) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci',
];
const NOTE_REFERENCES = { 'u.note': { references: { cust_code: 'u.cust.code' } } };

describe('resolve and parents named by a unique key, or skipped by a rule during apply', () => {
  it("refuses a held child that names its parent by a unique key when the file skips the parent's insert: the DR's record with that code is another one", async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: BY_CODE,
        base: ["INSERT INTO u.cust VALUES (1, 'A1', 'Ann')"],
        // The child names the code as the primary's collation let it (case aside).
        lost: ["INSERT INTO u.cust VALUES (2, 'C9', 'Lost C')", "INSERT INTO u.ord VALUES (1, 'c9', 'new')"],
        dr: ["INSERT INTO u.cust VALUES (5, 'c9', 'DR C')"],
      },
      ['u'],
    );
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start } });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.id, e.table, e.op, e.class])).toEqual([
      [1, 'u.cust', 'insert', 'insert-unique-taken'],
      [2, 'u.ord', 'insert', 'parent-missing'],
    ]);
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'skip' }, { action: 'apply' }]) });
    expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([
      [1, 'done', 'skipped'],
      [
        2,
        'refused',
        'its parent u.cust (code) "c9" was never written (entry 1, its insert, was skipped), so the DR row with that value is another record or none: decide skip, or give the whole row in decision.row pointing at a parent the DR has',
      ],
    ]);
    expect(await dr.query('SELECT id FROM u.ord')).toEqual([]);
  }, 120_000);

  it('refuses a held child naming a parent by the unique value a reviewed row changed (the DR record with the old value is another one); applies it once linked', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: BY_CODE,
        base: ["INSERT INTO u.cust VALUES (1, 'A1', 'Ann')"],
        lost: ["INSERT INTO u.cust VALUES (2, 'C9', 'Lost C')", "INSERT INTO u.ord VALUES (1, 'C9', 'new')", "INSERT INTO u.cust VALUES (3, 'D7', 'Lost D')", "INSERT INTO u.ord VALUES (2, 'D7', 'new')"],
        dr: ["INSERT INTO u.cust VALUES (5, 'c9', 'DR C'), (6, 'd7', 'Lost D')"],
      },
      ['u'],
    );
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start } });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.id, e.table, e.op, e.class])).toEqual([
      [1, 'u.cust', 'insert', 'insert-unique-taken'],
      [2, 'u.ord', 'insert', 'parent-missing'],
      [3, 'u.cust', 'insert', 'insert-unique-taken'],
      [4, 'u.ord', 'insert', 'parent-missing'],
    ]);
    // C9 is another customer than the DR's c9: given a code of its own. D7 is the DR's d7: linked.
    const report = await resolveQuarantine({
      target: dr.target,
      file: 'decisions.jsonl',
      text: decisionsFile(held, [{ action: 'apply', row: { id: 2, code: 'C9-lost', name: 'Lost C' } }, { action: 'apply' }, { action: 'link', key: [6] }, { action: 'apply' }]),
    });
    expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([
      [1, 'done', 'applied the reviewed row'],
      [
        2,
        'refused',
        'its parent u.cust (code) "C9" (entry 1) was written as the DR row 2 of u.cust, which holds code "C9-lost": the value this row names is another record\'s or none; decide skip, or give the whole row in decision.row pointing at the value the parent has now',
      ],
      [3, 'done', 'linked to the DR row 6 (the lost row is that record; its values were not written, later changes follow it)'],
      [4, 'done', 'applied as logged'],
    ]);
    expect(await dr.query('SELECT id, cust_code FROM u.ord ORDER BY id')).toEqual([{ id: 2, cust_code: 'D7' }]);
    // Pointed at the code the parent has now, it is written.
    const again = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile([held[1]!], [{ action: 'apply', row: { id: 1, cust_code: 'C9-lost', status: 'new' } }]) });
    expect(again.entries.map((e) => e.result)).toEqual(['done']);
    expect(await dr.query('SELECT id, cust_code FROM u.ord ORDER BY id')).toEqual([
      { id: 1, cust_code: 'C9-lost' },
      { id: 2, cust_code: 'D7' },
    ]);
  }, 120_000);

  it('refuses a child of a transaction kept whole while its parent named by a unique key is another pending entry', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: BY_CODE,
        base: ["INSERT INTO u.cust VALUES (1, 'A1', 'Ann')", "INSERT INTO u.ord VALUES (1, 'A1', 'new')"],
        // One transaction: an update of order 1 (the DR deletes it), a note on customer C9 (a logical
        // reference: the primary checks nothing, and the DR's own c9 satisfies it), the new customer C9.
        lost: ["START TRANSACTION; UPDATE u.ord SET status = 'paid' WHERE id = 1; INSERT INTO u.note VALUES (1, 'C9', 'call back'); INSERT INTO u.cust VALUES (2, 'C9', 'Lost C'); COMMIT"],
        dr: ['DELETE FROM u.ord WHERE id = 1', "INSERT INTO u.cust VALUES (5, 'c9', 'DR C')"],
      },
      ['u'],
    );
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: config({ tables: NOTE_REFERENCES }) });
    const held = await readQuarantine({ target: dr.target });
    // The note's recorded origin is the update, not its parent's insert.
    expect(held.map((e) => [e.id, e.table, e.op, e.origin?.id ?? null])).toEqual([
      [1, 'u.ord', 'update', null],
      [2, 'u.note', 'insert', 1],
      [3, 'u.cust', 'insert', null],
    ]);
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'skip' }, { action: 'apply' }, null]) });
    expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([
      [1, 'done', 'skipped'],
      [2, 'refused', 'its parent u.cust (code) "C9" is the insert of entry 3, which is still pending: resolve 3 first'],
      [3, 'undecided', 'no decision: left pending'],
    ]);
    expect(await dr.query('SELECT id FROM u.note')).toEqual([]);
  }, 120_000);

  it("refuses a held child whose parent's insert a rule skipped during apply (no quarantine entry): the DR row at that key is another record", async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: SHOP,
        base: BASE,
        lost: ["INSERT INTO s.customers VALUES (4, 'yan@x', 'Yan')", "INSERT INTO s.orders VALUES (4, 4, 'new')"],
        // The DR's unrelated Quinn took id 4; its own Yan holds the lost customer's e-mail.
        dr: ["INSERT INTO s.customers VALUES (4, 'quinn@x', 'Quinn'), (5, 'yan@x', 'Yan')"],
      },
      ['s'],
    );
    const skip = config({ tables: { 's.customers': { onConflict: { 'insert-unique-taken': 'skip' } } } });
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: skip });
    const [skipped] = (await dr.query("SELECT change_at, outcome, rule_path FROM salvage.ledger WHERE table_name = 's.customers'")) as { change_at: string; outcome: string; rule_path: string }[];
    expect(skipped).toMatchObject({ outcome: 'skipped' });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.id, e.table, e.op, e.class, e.origin])).toEqual([[1, 's.orders', 'insert', 'parent-missing', { label: `${skipped!.change_at}#0`, id: null }]]);
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'apply' }]) });
    expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([
      [
        1,
        'refused',
        `its parent s.customers 4 was never written (its insert ${skipped!.change_at}#0 was skipped during apply by ${skipped!.rule_path}), so the DR row at that key is another record or none: decide skip, or give the whole row in decision.row pointing at a parent the DR has`,
      ],
    ]);
    expect(await dr.query('SELECT id, customer_id FROM s.orders WHERE id > 3')).toEqual([]);
    // Pointed at the DR's own Yan by a reviewed row, it is written.
    const again = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'apply', row: { id: 4, customer_id: 5, status: 'new' } }]) });
    expect(again.entries.map((e) => e.result)).toEqual(['done']);
    expect(await dr.query('SELECT id, customer_id FROM s.orders WHERE id > 3')).toEqual([{ id: 4, customer_id: 5 }]);
  }, 120_000);

  it("refuses a held child that names its parent by a unique key through a logical reference when a rule skipped the parent's insert during apply", async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: BY_CODE,
        base: ["INSERT INTO u.cust VALUES (1, 'A1', 'Ann')"],
        lost: ["INSERT INTO u.cust VALUES (2, 'C9', 'Lost C')", "INSERT INTO u.note VALUES (1, 'C9', 'call back')"],
        dr: ["INSERT INTO u.cust VALUES (5, 'c9', 'DR C')"],
      },
      ['u'],
    );
    const cfg = config({ tables: { ...NOTE_REFERENCES, 'u.cust': { onConflict: { 'insert-unique-taken': 'skip' } } } });
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: cfg });
    const [skipped] = (await dr.query("SELECT change_at, outcome, rule_path FROM salvage.ledger WHERE table_name = 'u.cust'")) as { change_at: string; outcome: string; rule_path: string }[];
    expect(skipped).toMatchObject({ outcome: 'skipped' });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.id, e.table, e.op, e.class])).toEqual([[1, 'u.note', 'insert', 'parent-missing']]);
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'apply' }]) });
    expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([
      [
        1,
        'refused',
        `its parent u.cust (code) "C9" was never written (its insert ${skipped!.change_at}#0 was skipped during apply by ${skipped!.rule_path}), so the DR row with that value is another record or none: decide skip, or give the whole row in decision.row pointing at a parent the DR has`,
      ],
    ]);
    expect(await dr.query('SELECT id FROM u.note')).toEqual([]);
  }, 120_000);
});

describe('resolve of a delete that DR rows still point at', () => {
  it('refuses while any remain (ON DELETE CASCADE would take rows added since the export), and deletes once they are gone', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: [
          'CREATE TABLE c.customers (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL)',
          'CREATE TABLE c.orders (id INT AUTO_INCREMENT PRIMARY KEY, customer_id INT NOT NULL, status VARCHAR(30) NOT NULL, CONSTRAINT fk_c FOREIGN KEY (customer_id) REFERENCES c.customers (id) ON DELETE CASCADE)',
        ],
        base: ["INSERT INTO c.customers VALUES (1, 'A'), (2, 'B')"],
        lost: ['DELETE FROM c.customers WHERE id = 2'],
        dr: ["INSERT INTO c.orders VALUES (1, 2, 'dr-1')"],
      },
      ['c'],
    );
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start } });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.op, e.reason])).toEqual([['delete', expect.stringMatching(/^cascade guard: 1 row\(s\) of c\.orders still point at it/)]]);
    // After the export, the DR takes another order of customer 2.
    await dr.query("INSERT INTO c.orders VALUES (2, 2, 'dr-2 after export')");
    const text = decisionsFile(held, [{ action: 'apply' }]);
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text });
    expect(report.entries.map((e) => [e.result, e.message])).toEqual([
      [
        'refused',
        '2 row(s) of c.orders (fk_c, ON DELETE CASCADE) still point at the DR row 2 of c.customers: the delete would take them with it, change or orphan them (by the rule named), rows the review never saw; delete or re-point them first, then resolve again, or decide skip',
      ],
    ]);
    expect(await dr.query('SELECT id, status FROM c.orders ORDER BY id')).toEqual([
      { id: 1, status: 'dr-1' },
      { id: 2, status: 'dr-2 after export' },
    ]);
    // The DBA moves the orders to customer 1: the delete goes through and touches nothing else.
    await dr.query('UPDATE c.orders SET customer_id = 1');
    const again = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text });
    expect(again.entries.map((e) => [e.result, e.message])).toEqual([['done', 'applied as logged']]);
    expect(await dr.query('SELECT id FROM c.customers ORDER BY id')).toEqual([{ id: 1 }]);
    expect(await dr.query('SELECT id, customer_id FROM c.orders ORDER BY id')).toEqual([
      { id: 1, customer_id: 1 },
      { id: 2, customer_id: 1 },
    ]);
  }, 120_000);
});

describe('resolve of an update with a reviewed row under another key', () => {
  it("records the move in the key map and the ledger, so the row's later lost change follows it", async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: ['CREATE TABLE m.orders (id INT AUTO_INCREMENT PRIMARY KEY, status VARCHAR(20) NOT NULL, amount INT NOT NULL)'],
        base: ["INSERT INTO m.orders VALUES (1, 'new', 10), (2, 'new', 20)"],
        // Kept whole: order 2's update is held with order 1's, which the DR deleted.
        lost: ["START TRANSACTION; UPDATE m.orders SET status = 'paid' WHERE id = 1; UPDATE m.orders SET amount = 99 WHERE id = 2; COMMIT"],
        dr: ['DELETE FROM m.orders WHERE id = 1'],
      },
      ['m'],
    );
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start } });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.op, e.key])).toEqual([
      ['update', [1]],
      ['update', [2]],
    ]);
    const report = await resolveQuarantine({
      target: dr.target,
      file: 'decisions.jsonl',
      text: decisionsFile(held, [{ action: 'skip' }, { action: 'apply', row: { id: 7, status: 'new', amount: 99 } }]),
    });
    expect(report.entries.map((e) => [e.result, e.message])).toEqual([
      ['done', 'skipped'],
      ['done', 'applied the reviewed row: set id, amount'],
    ]);
    expect(await dr.query('SELECT id, status, amount FROM m.orders ORDER BY id')).toEqual([{ id: 7, status: 'new', amount: 99 }]);
    expect(await dr.query('SELECT table_name, old_key, new_key FROM salvage.key_map')).toEqual([{ table_name: 'm.orders', old_key: '[2]', new_key: '[7]' }]);
    expect(await dr.query("SELECT new_key FROM salvage.ledger WHERE source_key = '[2]'")).toEqual([{ new_key: '[7]' }]);
    // The row's next lost change, applied by a later run, follows it to 7.
    await primary.query("UPDATE m.orders SET status = 'shipped' WHERE id = 2");
    await primary.flushBinaryLogs();
    const next = await salvage({ mode: 'apply', binlogs: await primary.binlogFiles(), target: dr.target, start: { kind: 'from-gtid', set: staged.start } });
    expect(next.quarantined).toBe(0);
    expect(await dr.query('SELECT id, status, amount FROM m.orders ORDER BY id')).toEqual([{ id: 7, status: 'shipped', amount: 99 }]);
  }, 120_000);
});

describe('resolve of an insert with a reviewed row', () => {
  it('refuses a partial row rather than fill the columns it leaves out with the DR defaults', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: ["CREATE TABLE d.users (id INT PRIMARY KEY, email VARCHAR(20) NOT NULL, name VARCHAR(20) NOT NULL DEFAULT 'nobody', balance INT NOT NULL DEFAULT 0, UNIQUE KEY uk_email (email))"],
        lost: ["INSERT INTO d.users VALUES (1, 'zed@x', 'Zed', 50)"],
        dr: ["INSERT INTO d.users VALUES (2, 'zed@x', 'Zed D', 0)"],
      },
      ['d'],
    );
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start } });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => e.class)).toEqual(['insert-unique-taken']);
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'apply', row: { id: 1, email: 'zed2@x' } }]) });
    expect(report.entries.map((e) => [e.result, e.message])).toEqual([['refused', 'decision.row lacks name, balance: give the whole row to insert it (the exported "after" holds every column)']]);
    expect(await dr.query('SELECT id FROM d.users ORDER BY id')).toEqual([{ id: 2 }]);
  }, 120_000);
});

describe('resolve and the DR triggers', () => {
  it('refuses a file whose decisions write a table with triggers (RESOLVE_DR_TRIGGERS, nothing carried out); a skip-only file and --allow-triggers go ahead', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: SHOP,
        base: BASE,
        lost: ["START TRANSACTION; INSERT INTO s.customers VALUES (4, 'Yan@x', 'Yan'); INSERT INTO s.orders VALUES (4, 1, 'new'); COMMIT"],
        dr: ["INSERT INTO s.customers VALUES (5, 'yan@x', 'Yan')"],
      },
      ['s'],
    );
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start } });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.id, e.table, e.class])).toEqual([
      [1, 's.customers', 'insert-unique-taken'],
      [2, 's.orders', 'transaction-quarantined'],
    ]);
    await dr.query('CREATE TABLE s.audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40))');
    await dr.query("CREATE TRIGGER s.orders_audit AFTER INSERT ON s.orders FOR EACH ROW INSERT INTO s.audit (what) VALUES ('order')");
    const refused = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'skip' }, { action: 'apply' }]) }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ code: 'RESOLVE_DR_TRIGGERS', details: { file: 'decisions.jsonl', triggers: ['orders_audit (AFTER INSERT on s.orders)'] } });
    expect((refused as Error).message).toMatch(/^the DR has 1 trigger\(s\) on tables the decisions write: orders_audit \(AFTER INSERT on s\.orders\); .*no entry was carried out: .*--allow-triggers/);
    expect((await readQuarantine({ target: dr.target })).map((e) => e.status)).toEqual(['pending', 'pending']);
    // The customer's table has no trigger: its decision alone goes ahead.
    const customers = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'skip' }, null]) });
    expect(customers.entries.map((e) => [e.id, e.result])).toEqual([
      [1, 'done'],
      [2, 'undecided'],
    ]);
    const allowed = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile([held[1]!], [{ action: 'apply' }]), allowTriggers: true });
    expect(allowed.entries.map((e) => [e.id, e.result])).toEqual([[2, 'done']]);
    expect(await dr.query('SELECT id, customer_id FROM s.orders WHERE id > 3')).toEqual([{ id: 4, customer_id: 1 }]);
    expect(await dr.query('SELECT what FROM s.audit')).toEqual([{ what: 'order' }]);
  }, 120_000);
});

describe('resolve waiting on the DR', () => {
  it('says why after --stall-notice: the connection holding the lock its write waits for; done once it lets go', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(
      primary,
      dr,
      { schema: SHOP, base: BASE, lost: ["INSERT INTO s.customers VALUES (4, 'Yan@x', 'Yan')"], dr: ["INSERT INTO s.customers VALUES (5, 'yan@x', 'Yan')"] },
      ['s'],
    );
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start } });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.id, e.class])).toEqual([[1, 'insert-unique-taken']]);
    // An application's transaction holds the gap where id 4 would go.
    const holder = await openSession(dr.target);
    try {
      await holder.query('START TRANSACTION');
      await holder.query('SELECT * FROM s.customers WHERE id = 4 FOR UPDATE');
      const notices: StallNotice[] = [];
      const report = await resolveQuarantine({
        target: dr.target,
        file: 'decisions.jsonl',
        text: decisionsFile(held, [{ action: 'apply', row: { id: 4, email: 'yan.lost@x', name: 'Yan' } }]),
        stallNoticeMs: 300,
        onStall: (n) => {
          notices.push(n);
          if (notices.length === 1) void holder.query('ROLLBACK');
        },
      });
      expect(report.entries.map((e) => [e.id, e.result])).toEqual([[1, 'done']]);
      expect(notices).toHaveLength(1);
      expect(notices[0]).toMatchObject({ table: 's.customers', unanswered: null, blockers: [{ id: holder.threadId, user: 'root', command: 'Sleep' }] });
      expect(await dr.query('SELECT id, email FROM s.customers WHERE id = 4')).toEqual([{ id: 4, email: 'yan.lost@x' }]);
    } finally {
      await holder.end();
    }
  }, 120_000);
});
