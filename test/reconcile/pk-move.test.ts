/**
 * A lost update that moves its row to a primary key the DR gave a record of its own (found by the
 * 2026-11-27 reviews): it was classed `clean` and quarantined by the key-change guard, the row held
 * only at its old key, so the row's later update was merged into the DR's record at the new key and
 * a lost order pointing at the new key was written onto that record, under the defaults. Now it is
 * update-unique-taken (a primary key is a unique key), the row is held at both keys, in this run and
 * the next, and the order's parent-missing reason names the move that would make its parent.
 */
import { describe, expect, it } from 'vitest';
import { readQuarantine, resolveQuarantine } from '../../src/pipeline/resolve.js';
import { salvage, type SalvageOptions } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { decisionsFile } from '../harness/decisions.js';
import { config, stageIncident, useServerPair, type Staged } from '../harness/incident-pair.js';

const servers = useServerPair('pk-move');

const SCHEMA = [
  'CREATE TABLE t.customers (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(40) NOT NULL, name VARCHAR(20) NOT NULL, UNIQUE KEY uk_email (email)) ENGINE=InnoDB',
  'CREATE TABLE t.orders (id INT UNSIGNED NOT NULL PRIMARY KEY, customer_id INT UNSIGNED NOT NULL, total INT NOT NULL, FOREIGN KEY (customer_id) REFERENCES t.customers (id)) ENGINE=InnoDB',
];

/** The move of customer 2 to id 5 in the first binlog file; its rename and its order in the next. The DR gave id 5 to Eve (or, given, did what `dr` says). */
async function stage(dr: string[] = ["INSERT INTO t.customers VALUES (5, 'eve@x', 'Eve')"]): Promise<Staged & { first: string[] }> {
  await servers.dr.query('DROP DATABASE IF EXISTS salvage');
  const staged = await stageIncident(
    servers.primary,
    servers.dr,
    {
      schema: SCHEMA,
      base: ["INSERT INTO t.customers VALUES (1, 'ann@x', 'Ann'), (2, 'bob@x', 'Bob')"],
      lost: ['UPDATE t.customers SET id = 5 WHERE id = 2', 'FLUSH BINARY LOGS', "UPDATE t.customers SET name = 'Robert' WHERE id = 5", 'INSERT INTO t.orders VALUES (7, 5, 100)'],
      dr,
    },
    ['t'],
  );
  return { ...staged, first: staged.files.slice(0, staged.files.length - 2) };
}

function options(staged: Staged, files: string[], extra: Partial<SalvageOptions> = {}): SalvageOptions {
  return { mode: 'apply', binlogs: files, target: servers.dr.target, start: { kind: 'from-gtid', set: staged.start }, ...extra };
}

async function drRows(): Promise<unknown> {
  return {
    customers: await servers.dr.query('SELECT id, email, name FROM t.customers ORDER BY id'),
    orders: await servers.dr.query('SELECT id, customer_id, total FROM t.orders ORDER BY id'),
  };
}

const UNTOUCHED = {
  customers: [
    { id: 1, email: 'ann@x', name: 'Ann' },
    { id: 2, email: 'bob@x', name: 'Bob' },
    { id: 5, email: 'eve@x', name: 'Eve' },
  ],
  orders: [],
};

const line = (l: LedgerLine): unknown[] => [l.table, l.op, l.key, l.class, l.outcome, l.reason];

describe('a lost primary-key change onto a key the DR holds', () => {
  it('default: update-unique-taken, the DR record at the new key recorded; the later update and the order wait with it', async () => {
    const staged = await stage();
    const ledger: LedgerLine[] = [];
    await salvage(options(staged, staged.files, { onLedger: (l) => ledger.push(l) }));
    const move = `${ledger[0]!.gtid}#0`;
    expect(ledger.map(line)).toEqual([
      ['t.customers', 'update', [2], 'update-unique-taken', 'quarantined', 'another DR row already holds the new primary key of the row'],
      ['t.customers', 'update', [5], 'row-quarantined', 'quarantined', `an earlier change of this row is quarantined (${move})`],
      ['t.orders', 'insert', [7], 'parent-missing', 'quarantined', `its parent t.customers 5 is quarantined (${move})`],
    ]);
    expect(ledger[0]!.rule).toBe('built-in.update-unique-taken');
    // The holder is the DR row shown; the row at the old key is the other one the change met.
    expect(ledger[0]!.dr).toEqual({ id: 5, email: 'eve@x', name: 'Eve' });
    expect(ledger[0]!.other).toEqual({ id: 2, email: 'bob@x', name: 'Bob' });
    expect(await drRows()).toEqual(UNTOUCHED);
    const held = await readQuarantine({ target: servers.dr.target });
    expect(held.map((e) => [e.table, e.op, e.class, e.origin?.label ?? null])).toEqual([
      ['t.customers', 'update', 'update-unique-taken', null],
      ['t.customers', 'update', 'row-quarantined', move],
      ['t.orders', 'insert', 'parent-missing', move],
    ]);
  }, 120_000);

  it("resolve refuses to apply the move up front, naming the key and the DR row holding it (it was refused only by the DR's Duplicate entry); a reviewed row under a free key is written", async () => {
    const staged = await stage();
    await salvage(options(staged, staged.files));
    const held = await readQuarantine({ target: servers.dr.target });
    const report = await resolveQuarantine({ target: servers.dr.target, file: 'decisions.jsonl', text: decisionsFile([held[0]!], [{ action: 'apply' }]) });
    expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([
      [
        held[0]!.id,
        'refused',
        'the update moves the row to key 5 of t.customers, which the DR row 5 holds ({"id":5,"email":"eve@x","name":"Eve"}), a record of the DR\'s own: decide skip, or give the whole row in decision.row under a key no DR row holds',
      ],
    ]);
    expect(await drRows()).toEqual(UNTOUCHED);
    expect((await readQuarantine({ target: servers.dr.target })).map((e) => e.status)).toEqual(['pending', 'pending', 'pending']);
    // A reviewed row under a key no DR row holds is written there (and the key map follows it).
    const again = await resolveQuarantine({ target: servers.dr.target, file: 'decisions.jsonl', text: decisionsFile([held[0]!], [{ action: 'apply', row: { id: 6, email: 'bob@x', name: 'Bob' } }]) });
    expect(again.entries.map((e) => e.result)).toEqual(['done']);
    expect((await drRows() as { customers: unknown }).customers).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 5, email: 'eve@x', name: 'Eve' },
      { id: 6, email: 'bob@x', name: 'Bob' },
    ]);
  }, 120_000);

  it('split across two applies: the next run holds the row at its new key too', async () => {
    const staged = await stage();
    const first: LedgerLine[] = [];
    await salvage(options(staged, staged.first, { onLedger: (l) => first.push(l) }));
    expect(first.map((l) => [l.op, l.class, l.outcome])).toEqual([['update', 'update-unique-taken', 'quarantined']]);
    const second: LedgerLine[] = [];
    await salvage(options(staged, staged.files, { onLedger: (l) => second.push(l) }));
    const move = `${first[0]!.gtid}#0`;
    expect(second.map(line)).toEqual([
      ['t.customers', 'update', [5], 'row-quarantined', 'quarantined', `an earlier change of this row is quarantined (${move})`],
      ['t.orders', 'insert', [7], 'parent-missing', 'quarantined', `its parent t.customers 5 is quarantined (${move})`],
    ]);
    expect(await drRows()).toEqual(UNTOUCHED);
  }, 120_000);

  it('skip cannot leave the row behind at its old key: quarantined with its reason', async () => {
    const staged = await stage();
    const ledger: LedgerLine[] = [];
    const cfg = config({ tables: { 't.customers': { onConflict: { 'update-unique-taken': 'skip' } } } });
    await salvage(options(staged, staged.files, { config: cfg, onLedger: (l) => ledger.push(l) }));
    const path = 'tables."t.customers".onConflict.update-unique-taken';
    expect(ledger.map((l) => [l.class, l.outcome])).toEqual([
      ['update-unique-taken', 'quarantined'],
      ['row-quarantined', 'quarantined'],
      ['parent-missing', 'quarantined'],
    ]);
    expect(ledger[0]!.reason).toBe(`skip: the lost row would stay at its old key while its later changes name the new one, held by another DR row (${path})`);
    expect(await drRows()).toEqual(UNTOUCHED);
  }, 120_000);
});

describe('a lost primary-key change the DR already holds', () => {
  it('already-applied and skipped (an earlier partial recovery wrote it); the rename and the order follow the row at its new key', async () => {
    // The DR holds the move already: nothing at id 2, the after image at id 5.
    const staged = await stage(['UPDATE t.customers SET id = 5 WHERE id = 2']);
    const ledger: LedgerLine[] = [];
    await salvage(options(staged, staged.files, { onLedger: (l) => ledger.push(l) }));
    expect(ledger.map(line)).toEqual([
      ['t.customers', 'update', [2], 'already-applied', 'skipped', 'already on the DR'],
      ['t.customers', 'update', [5], 'clean', 'applied', undefined],
      ['t.orders', 'insert', [7], 'clean', 'applied', undefined],
    ]);
    expect(await drRows()).toEqual({
      customers: [
        { id: 1, email: 'ann@x', name: 'Ann' },
        { id: 5, email: 'bob@x', name: 'Robert' },
      ],
      orders: [{ id: 7, customer_id: 5, total: 100 }],
    });
    expect(await readQuarantine({ target: servers.dr.target })).toEqual([]);
  }, 120_000);
});

/**
 * A VARCHAR primary key under a _ci collation: moving row `a` to `b` where the DR holds `B` moves it
 * onto a key the DR holds, though the keys differ as values. The window's read of `b` finds `B`;
 * it was not taken for the holder, so the move was classed clean and the DR rejected it
 * (dr-rejected, whatever the rule). Now the holder is found as a unique value's is (by the server's
 * own comparison): update-unique-taken, with `B` recorded.
 */
describe('a lost primary-key change onto a key the DR holds under its collation', () => {
  const TAGS = ['CREATE TABLE t.tags (code VARCHAR(10) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY, label VARCHAR(20) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4'];

  async function stageTags(lost: string[], dr: string[]): Promise<Staged> {
    await servers.dr.query('DROP DATABASE IF EXISTS salvage');
    return stageIncident(servers.primary, servers.dr, { schema: TAGS, base: ["INSERT INTO t.tags VALUES ('a', 'Ann')"], lost, dr }, ['t']);
  }

  const tags = async (): Promise<unknown> => servers.dr.query('SELECT code, label FROM t.tags ORDER BY code');

  it("update-unique-taken with the holder recorded ('b' onto 'B'); the row's later change waits with it", async () => {
    const staged = await stageTags(["UPDATE t.tags SET code = 'b' WHERE code = 'a'", "UPDATE t.tags SET label = 'Bea' WHERE code = 'b'"], ["INSERT INTO t.tags VALUES ('B', 'DR')"]);
    const ledger: LedgerLine[] = [];
    await salvage(options(staged, staged.files, { onLedger: (l) => ledger.push(l) }));
    const move = `${ledger[0]!.gtid}#0`;
    expect(ledger.map(line)).toEqual([
      ['t.tags', 'update', ['a'], 'update-unique-taken', 'quarantined', 'another DR row already holds the new primary key of the row'],
      ['t.tags', 'update', ['b'], 'row-quarantined', 'quarantined', `an earlier change of this row is quarantined (${move})`],
    ]);
    expect(ledger[0]!.dr).toEqual({ code: 'B', label: 'DR' });
    expect(ledger[0]!.other).toEqual({ code: 'a', label: 'Ann' });
    expect(await tags()).toEqual([
      { code: 'a', label: 'Ann' },
      { code: 'B', label: 'DR' },
    ]);
  }, 120_000);

  it("resolve refuses to apply it, naming the DR row 'B' that holds 'b'", async () => {
    const staged = await stageTags(["UPDATE t.tags SET code = 'b' WHERE code = 'a'"], ["INSERT INTO t.tags VALUES ('B', 'DR')"]);
    await salvage(options(staged, staged.files));
    const held = await readQuarantine({ target: servers.dr.target });
    const report = await resolveQuarantine({ target: servers.dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'apply' }]) });
    expect(report.entries.map((e) => [e.result, e.message])).toEqual([
      ['refused', 'the update moves the row to key "b" of t.tags, which the DR row "B" holds ({"code":"B","label":"DR"}), a record of the DR\'s own: decide skip, or give the whole row in decision.row under a key no DR row holds'],
    ]);
    expect(await tags()).toEqual([
      { code: 'a', label: 'Ann' },
      { code: 'B', label: 'DR' },
    ]);
  }, 120_000);

  it("a move that changes only the key's case is the row's own: clean and applied", async () => {
    const staged = await stageTags(["UPDATE t.tags SET code = 'A' WHERE code = 'a'"], []);
    const ledger: LedgerLine[] = [];
    await salvage(options(staged, staged.files, { onLedger: (l) => ledger.push(l) }));
    expect(ledger.map((l) => [l.class, l.outcome])).toEqual([['clean', 'applied']]);
    expect(await tags()).toEqual([{ code: 'A', label: 'Ann' }]);
  }, 120_000);
});
