/**
 * A keyed table's update checked on the row it writes, not on its after image (DESIGN.md "Conflict
 * taxonomy": new values that take another row's unique key are update-unique-taken). Bug this pins
 * (found reading the code, confirmed on real servers): under binlog_row_image=MINIMAL an update
 * logs its key and the columns it set, so one that sets one part of a composite UNIQUE key left
 * the key's value unknown; the window read no holder, classify skipped the key, the update was
 * written onto a value another DR row holds and the DR refused it (dr-rejected after a retry one
 * transaction at a time, whatever the rule). The same through ignoreColumns: an ignored key column
 * the update did not change keeps the DR's value, so the row written is not the after image. The
 * same kind, later: an insert merged into the DR row at its key (insert-pk-same-record, whose
 * unique values classify never checks), a row rule keeping the DR row with a column rule's lost
 * value, `salvage resolve` applying a held update (refused by the DR's Duplicate entry alone), and
 * `source` writing a value the window never read (a custom function's edited label over the DR
 * row's code), which it took for free; and `source` holding an insert whose value another DR row
 * holds under update-unique-taken, an update's class, instead of the insert's own. And `salvage
 * resolve` applying a MINIMAL insert that leaves a unique key's column to the DR's default, which
 * it did not check (the DR's Duplicate entry alone).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { runResolve } from '../../src/cli/resolve-command.js';
import type { NormalisedConfig } from '../../src/config/normalise.js';
import { readQuarantine, resolveQuarantine } from '../../src/pipeline/resolve.js';
import { salvage, type SalvageReport } from '../../src/pipeline/salvage.js';
import type { CustomStrategies } from '../../src/reconcile/custom-strategy.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { Capture } from '../harness/capture.js';
import { decisionsFile } from '../harness/decisions.js';
import { config, stageIncident, useServerPair, type Incident, type Staged } from '../harness/incident-pair.js';

const servers = useServerPair('minimalunique');

const ITEM = "CREATE TABLE t.item (id INT NOT NULL PRIMARY KEY, label VARCHAR(40) NOT NULL, code VARCHAR(40) NOT NULL DEFAULT 'd', n INT NOT NULL DEFAULT 0, UNIQUE KEY uq_label_code (label, code)) ENGINE=InnoDB";
const items = async (): Promise<unknown> => servers.dr.query('SELECT id, label, code, n FROM t.item ORDER BY id');

async function stageMinimal(incident: Incident): Promise<Staged> {
  const { primary, dr } = servers;
  // The shared connection writes the incident: its session's row image is the one logged.
  await primary.query("SET SESSION binlog_row_image = 'MINIMAL'");
  try {
    return await stageIncident(primary, dr, incident);
  } finally {
    await primary.query("SET SESSION binlog_row_image = 'FULL'");
  }
}

async function run(staged: Staged, mode: 'plan' | 'apply', windowTransactions: number | undefined, cfg?: NormalisedConfig, strategies?: CustomStrategies): Promise<{ ledger: LedgerLine[]; report: SalvageReport }> {
  const ledger: LedgerLine[] = [];
  const report = await salvage({
    mode,
    binlogs: staged.files,
    target: servers.dr.target,
    start: { kind: 'from-gtid', set: staged.start },
    ...(windowTransactions === undefined ? {} : { windowTransactions }),
    ...(cfg === undefined ? {} : { config: cfg }),
    ...(strategies === undefined ? {} : { strategies }),
    onLedger: (l) => ledger.push(l),
  });
  return { ledger, report };
}

const line = (l: LedgerLine): unknown[] => [l.op, l.key, l.class, l.outcome, l.reason ?? null];

describe('an update that sets part of a composite unique key, checked on the row it writes', () => {
  const INCIDENT: Incident = {
    schema: [ITEM],
    base: ["INSERT INTO t.item (id, label, code) VALUES (7, 'red', 'q'), (8, 'red', 'r'), (10, 'red', 's')"],
    lost: [
      // (blue, q): the DR's own row 9 holds it.
      "UPDATE t.item SET label = 'blue' WHERE id = 7",
      // (green, r): free.
      "UPDATE t.item SET label = 'green' WHERE id = 8",
      // Two updates of one row: the second writes (blue, t), the code the first set, which row 11 holds.
      "UPDATE t.item SET code = 't' WHERE id = 10",
      "UPDATE t.item SET label = 'blue' WHERE id = 10",
    ],
    dr: ["INSERT INTO t.item (id, label, code) VALUES (9, 'blue', 'q'), (11, 'blue', 't')"],
  };
  const DECIDED = [
    ['update', [7], 'update-unique-taken', 'quarantined', 'another DR row already holds unique key uq_label_code'],
    ['update', [8], 'clean', 'applied', null],
    ['update', [10], 'clean', 'applied', null],
    ['update', [10], 'update-unique-taken', 'quarantined', 'another DR row already holds unique key uq_label_code'],
  ];
  const AFTER = [
    { id: 7, label: 'red', code: 'q', n: 0 },
    { id: 8, label: 'green', code: 'r', n: 0 },
    { id: 9, label: 'blue', code: 'q', n: 0 },
    { id: 10, label: 'red', code: 't', n: 0 },
    { id: 11, label: 'blue', code: 't', n: 0 },
  ];

  for (const w of [undefined, 1]) {
    it(`binlog_row_image=MINIMAL: a move onto a value the DR holds is update-unique-taken, decided by its rule, never dr-rejected (${w === undefined ? 'default window' : 'one-transaction windows'})`, async () => {
      const staged = await stageMinimal(INCIDENT);
      const planned = await run(staged, 'plan', w);
      expect(planned.ledger.map(line)).toEqual(DECIDED);
      const applied = await run(staged, 'apply', w);
      expect(applied.ledger.map(line)).toEqual(DECIDED);
      // Decided in the window: the DR never refused a write and nothing was retried.
      expect(applied.report.retries).toBe(0);
      expect(await items()).toEqual(AFTER);
    }, 120_000);
  }

  it('MINIMAL: update-unique-taken follows its rule (skip)', async () => {
    const staged = await stageMinimal(INCIDENT);
    const { ledger, report } = await run(staged, 'apply', undefined, config({ tables: { 't.item': { onConflict: { 'update-unique-taken': 'skip' } } } }));
    expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([
      ['update', [7], 'update-unique-taken', 'skipped'],
      ['update', [8], 'clean', 'applied'],
      ['update', [10], 'clean', 'applied'],
      ['update', [10], 'update-unique-taken', 'skipped'],
    ]);
    expect(report.retries).toBe(0);
    expect(await items()).toEqual(AFTER);
  }, 120_000);

  it('MINIMAL: rewrite-unique rewrites the part the update set and checks the row it writes (the DR row’s code), read ahead by the window', async () => {
    // (blue~salvaged-1, q) is taken too: row 7's rewrite takes the next candidate; row 10's (code t) the first.
    const staged = await stageMinimal({ ...INCIDENT, dr: [...(INCIDENT.dr ?? []), "INSERT INTO t.item (id, label, code) VALUES (12, 'blue~salvaged-1', 'q')"] });
    const { ledger, report } = await run(staged, 'apply', undefined, config({ tables: { 't.item': { onConflict: { 'update-unique-taken': { strategy: 'rewrite-unique' } } } } }));
    const rewritten = (to: string): string => `unique value rewritten for review: label "blue" → "${to}" (tables."t.item".onConflict.update-unique-taken)`;
    expect(ledger.map(line)).toEqual([
      ['update', [7], 'update-unique-taken', 'applied', rewritten('blue~salvaged-2')],
      ['update', [8], 'clean', 'applied', null],
      ['update', [10], 'clean', 'applied', null],
      ['update', [10], 'update-unique-taken', 'applied', rewritten('blue~salvaged-1')],
    ]);
    expect(report.retries).toBe(0);
    expect(await items()).toEqual([
      { id: 7, label: 'blue~salvaged-2', code: 'q', n: 0 },
      { id: 8, label: 'green', code: 'r', n: 0 },
      { id: 9, label: 'blue', code: 'q', n: 0 },
      { id: 10, label: 'blue~salvaged-1', code: 't', n: 0 },
      { id: 11, label: 'blue', code: 't', n: 0 },
      { id: 12, label: 'blue~salvaged-1', code: 'q', n: 0 },
    ]);
  }, 120_000);

  it('MINIMAL: delete-blocking reads who points at the holder of the value the update writes, and deletes it when none does', async () => {
    const REF = 'CREATE TABLE t.ref (id INT NOT NULL PRIMARY KEY, item_id INT NOT NULL, CONSTRAINT fk_item FOREIGN KEY (item_id) REFERENCES t.item (id)) ENGINE=InnoDB';
    const staged = await stageMinimal({
      schema: [ITEM, REF],
      base: ["INSERT INTO t.item (id, label, code) VALUES (7, 'red', 'q'), (8, 'red', 'r')", 'INSERT INTO t.ref VALUES (1, 8)'],
      lost: ["UPDATE t.item SET label = 'blue' WHERE id = 7", "UPDATE t.item SET label = 'green' WHERE id = 8"],
      // Row 9 holds (blue, q), nothing points at it; row 12 holds (green, r), and ref 2 points at it.
      dr: ["INSERT INTO t.item (id, label, code) VALUES (9, 'blue', 'q'), (12, 'green', 'r')", 'INSERT INTO t.ref VALUES (2, 12)'],
    });
    const { ledger, report } = await run(staged, 'apply', undefined, config({ tables: { 't.item': { onConflict: { 'update-unique-taken': { strategy: 'delete-blocking' } } } } }));
    expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([
      ['update', [7], 'update-unique-taken', 'applied'],
      ['update', [8], 'update-unique-taken', 'quarantined'],
    ]);
    expect(ledger[1]!.reason).toBe(
      'delete-blocking: the DR row t.item 12 (holds uq_label_code) has 1 child row(s): 1 of t.ref (fk_item, ON DELETE RESTRICT); maxChildren is 0; nothing was deleted (tables."t.item".onConflict.update-unique-taken)',
    );
    expect(report.retries).toBe(0);
    expect(await items()).toEqual([
      { id: 7, label: 'blue', code: 'q', n: 0 },
      { id: 8, label: 'red', code: 'r', n: 0 },
      { id: 12, label: 'green', code: 'r', n: 0 },
    ]);
  }, 120_000);

  // The window's own MINIMAL insert leaves code to the DR's default 'd': a one-transaction window
  // reads the committed row back, code and all, and a longer one takes the default from the DR's
  // schema (a known literal), so the update after it is decided the same whatever the window size.
  // Bug this pins: the longer window held the update as clean, its value unknown.
  const DEFAULTED: Incident = {
    schema: [ITEM],
    lost: [
      "INSERT INTO t.item (id, label) VALUES (20, 'x')",
      // (blue, d): row 21's.
      "UPDATE t.item SET label = 'blue' WHERE id = 20",
      "INSERT INTO t.item (id, label) VALUES (22, 'y')",
      // (green, d): free.
      "UPDATE t.item SET label = 'green' WHERE id = 22",
    ],
    dr: ["INSERT INTO t.item (id, label, code) VALUES (21, 'blue', 'd')"],
  };
  for (const w of [undefined, 1]) {
    it(`MINIMAL: an update of a row the window's own insert left a key part of to its literal default is decided on that default (${w === undefined ? 'default window' : 'one-transaction windows'})`, async () => {
      const staged = await stageMinimal(DEFAULTED);
      const decided = [
        ['insert', [20], 'clean', 'applied', null],
        ['update', [20], 'update-unique-taken', 'quarantined', 'another DR row already holds unique key uq_label_code'],
        ['insert', [22], 'clean', 'applied', null],
        ['update', [22], 'clean', 'applied', null],
      ];
      expect((await run(staged, 'plan', w)).ledger.map(line)).toEqual(decided);
      const { ledger, report } = await run(staged, 'apply', w);
      expect(ledger.map(line)).toEqual(decided);
      expect(report.retries).toBe(0);
      expect(await items()).toEqual([
        { id: 20, label: 'x', code: 'd', n: 0 },
        { id: 21, label: 'blue', code: 'd', n: 0 },
        { id: 22, label: 'green', code: 'd', n: 0 },
      ]);
    }, 120_000);
  }

  it('MINIMAL: an insert whose unique value takes its default part is checked whole: insert-unique-taken when a DR row holds it, never dr-rejected', async () => {
    const staged = await stageMinimal({
      schema: [ITEM],
      // (blue, d): row 21's; (green, d): free.
      lost: ["INSERT INTO t.item (id, label) VALUES (20, 'blue')", "INSERT INTO t.item (id, label) VALUES (22, 'green')"],
      dr: ["INSERT INTO t.item (id, label, code) VALUES (21, 'blue', 'd')"],
    });
    const decided = [
      ['insert', [20], 'insert-unique-taken', 'quarantined', 'another DR row already holds unique key uq_label_code'],
      ['insert', [22], 'clean', 'applied', null],
    ];
    for (const w of [undefined, 1]) expect((await run(staged, 'plan', w)).ledger.map(line)).toEqual(decided);
    const { ledger, report } = await run(staged, 'apply', undefined);
    expect(ledger.map(line)).toEqual(decided);
    expect(report.retries).toBe(0);
    expect(await items()).toEqual([
      { id: 21, label: 'blue', code: 'd', n: 0 },
      { id: 22, label: 'green', code: 'd', n: 0 },
    ]);
  }, 120_000);

  it('MINIMAL: rewrite-unique and delete-blocking over such an insert check the value with its default part', async () => {
    const staged = await stageMinimal({
      schema: [ITEM],
      lost: ["INSERT INTO t.item (id, label) VALUES (20, 'blue')"],
      // (blue, d) and the first candidate (blue~salvaged-1, d) are taken.
      dr: ["INSERT INTO t.item (id, label, code) VALUES (21, 'blue', 'd'), (22, 'blue~salvaged-1', 'd')"],
    });
    const rewrite = config({ tables: { 't.item': { onConflict: { 'insert-unique-taken': { strategy: 'rewrite-unique' } } } } });
    const decided = [['insert', [20], 'insert-unique-taken', 'applied', 'unique value rewritten for review: label "blue" → "blue~salvaged-2" (tables."t.item".onConflict.insert-unique-taken)']];
    expect((await run(staged, 'plan', undefined, rewrite)).ledger.map(line)).toEqual(decided);
    const { ledger, report } = await run(staged, 'apply', undefined, rewrite);
    expect(ledger.map(line)).toEqual(decided);
    expect(report.retries).toBe(0);
    expect(await items()).toEqual([
      { id: 20, label: 'blue~salvaged-2', code: 'd', n: 0 },
      { id: 21, label: 'blue', code: 'd', n: 0 },
      { id: 22, label: 'blue~salvaged-1', code: 'd', n: 0 },
    ]);
    // delete-blocking finds the holder by the whole value: row 21 goes, the insert takes (blue, d).
    const again = await stageMinimal({ schema: [ITEM], lost: ["INSERT INTO t.item (id, label) VALUES (20, 'blue')"], dr: ["INSERT INTO t.item (id, label, code) VALUES (21, 'blue', 'd')"] });
    const blocking = await run(again, 'apply', undefined, config({ tables: { 't.item': { onConflict: { 'insert-unique-taken': { strategy: 'delete-blocking' } } } } }));
    expect(blocking.ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([['insert', [20], 'insert-unique-taken', 'applied']]);
    expect(blocking.report.retries).toBe(0);
    expect(await items()).toEqual([{ id: 20, label: 'blue', code: 'd', n: 0 }]);
  }, 120_000);

  it('MINIMAL: NULL, integer and DECIMAL defaults are known too: a value with a NULL part collides with nothing, (label, n, price) is checked whole', async () => {
    const SLOT =
      'CREATE TABLE t.slot (id INT NOT NULL PRIMARY KEY, label VARCHAR(40) NOT NULL, code VARCHAR(40) NULL, n INT NOT NULL DEFAULT -5, price DECIMAL(6,2) NOT NULL DEFAULT 1.50, UNIQUE KEY uq_label_code (label, code), UNIQUE KEY uq_label_n_price (label, n, price)) ENGINE=InnoDB';
    const staged = await stageMinimal({
      schema: [SLOT],
      lost: [
        "INSERT INTO t.slot (id, label) VALUES (30, 'x')",
        // (blue, NULL) is free though row 31 has it; (blue, -5, 1.50) is row 31's.
        "UPDATE t.slot SET label = 'blue' WHERE id = 30",
        "INSERT INTO t.slot (id, label) VALUES (32, 'y')",
        "UPDATE t.slot SET label = 'green' WHERE id = 32",
      ],
      dr: ["INSERT INTO t.slot (id, label) VALUES (31, 'blue')"],
    });
    const decided = [
      ['insert', [30], 'clean', 'applied', null],
      ['update', [30], 'update-unique-taken', 'quarantined', 'another DR row already holds unique key uq_label_n_price'],
      ['insert', [32], 'clean', 'applied', null],
      ['update', [32], 'clean', 'applied', null],
    ];
    for (const w of [undefined, 1]) expect((await run(staged, 'plan', w)).ledger.map(line)).toEqual(decided);
    const { ledger, report } = await run(staged, 'apply', undefined);
    expect(ledger.map(line)).toEqual(decided);
    expect(report.retries).toBe(0);
    expect(await servers.dr.query('SELECT id, label, code, n, CAST(price AS CHAR) AS price FROM t.slot ORDER BY id')).toEqual([
      { id: 30, label: 'x', code: null, n: -5, price: '1.50' },
      { id: 31, label: 'blue', code: null, n: -5, price: '1.50' },
      { id: 32, label: 'green', code: null, n: -5, price: '1.50' },
    ]);
  }, 120_000);

  it('MINIMAL: a default whose stored form is not derived here (a binary string) is unknown until read back: a longer window holds the update, never guesses it free', async () => {
    // (MariaDB logs a column with an expression default, CURRENT_TIMESTAMP or (CONCAT(…)), in the
    // insert's image: its value is known from the binlog.)
    const BYTES = "CREATE TABLE t.item (id INT NOT NULL PRIMARY KEY, label VARCHAR(40) NOT NULL, code VARBINARY(40) NOT NULL DEFAULT 'd', n INT NOT NULL DEFAULT 0, UNIQUE KEY uq_label_code (label, code)) ENGINE=InnoDB";
    const unknown = "this update keeps the DR row's code of unique key uq_label_code, which neither its images nor the DR row read give: whether another DR row holds the value it writes is unknown";
    const codes = async (): Promise<unknown> => servers.dr.query('SELECT id, label, CAST(code AS CHAR) AS code FROM t.item ORDER BY id');
    // Applied in one-transaction windows, the update's window reads the committed row back and
    // decides it as for a known default (plan, which commits nothing, holds it as below).
    const one = await run(await stageMinimal({ ...DEFAULTED, schema: [BYTES] }), 'apply', 1);
    expect(one.ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([
      ['insert', [20], 'clean', 'applied'],
      ['update', [20], 'update-unique-taken', 'quarantined'],
      ['insert', [22], 'clean', 'applied'],
      ['update', [22], 'clean', 'applied'],
    ]);
    expect(await codes()).toEqual([
      { id: 20, label: 'x', code: 'd' },
      { id: 21, label: 'blue', code: 'd' },
      { id: 22, label: 'green', code: 'd' },
    ]);
    const { ledger, report } = await run(await stageMinimal({ ...DEFAULTED, schema: [BYTES] }), 'apply', undefined);
    expect(ledger.map(line)).toEqual([
      ['insert', [20], 'clean', 'applied', null],
      ['update', [20], 'clean', 'quarantined', unknown],
      ['insert', [22], 'clean', 'applied', null],
      ['update', [22], 'clean', 'quarantined', unknown],
    ]);
    expect(report.retries).toBe(0);
    expect(await codes()).toEqual([
      { id: 20, label: 'x', code: 'd' },
      { id: 21, label: 'blue', code: 'd' },
      { id: 22, label: 'y', code: 'd' },
    ]);
  }, 120_000);

  it('ignoreColumns: an ignored key column the update did not change keeps the DR’s value, and the key is checked with it', async () => {
    const { primary, dr } = servers;
    // FULL images: the after image says (blue, q), but the write keeps the DR's code z, and (blue, z) is row 9's.
    const staged = await stageIncident(primary, dr, {
      schema: [ITEM],
      base: ["INSERT INTO t.item (id, label, code) VALUES (7, 'red', 'q'), (8, 'red', 'r')"],
      lost: ["UPDATE t.item SET label = 'blue' WHERE id = 7", "UPDATE t.item SET label = 'green', n = 1 WHERE id = 8"],
      dr: ["UPDATE t.item SET code = 'z' WHERE id = 7", "UPDATE t.item SET code = 'y' WHERE id = 8", "INSERT INTO t.item (id, label, code) VALUES (9, 'blue', 'z'), (12, 'green', 'r')"],
    });
    const cfg = config({ ignoreColumns: ['t.item.code'] });
    const decided = [
      ['update', [7], 'update-unique-taken', 'quarantined', 'another DR row already holds unique key uq_label_code'],
      // (green, y) is free, though (green, r), the after image's value, is row 12's.
      ['update', [8], 'clean', 'applied', null],
    ];
    for (const w of [undefined, 1]) expect((await run(staged, 'plan', w, cfg)).ledger.map(line)).toEqual(decided);
    const { ledger, report } = await run(staged, 'apply', undefined, cfg);
    expect(ledger.map(line)).toEqual(decided);
    expect(report.retries).toBe(0);
    expect(await items()).toEqual([
      { id: 7, label: 'red', code: 'z', n: 0 },
      { id: 8, label: 'green', code: 'y', n: 1 },
      { id: 9, label: 'blue', code: 'z', n: 0 },
      { id: 12, label: 'green', code: 'r', n: 0 },
    ]);
  }, 120_000);

  it('FULL images: the merge of a row both sides changed is checked on the row it writes (the lost label, the DR’s code)', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(primary, dr, {
      schema: [ITEM],
      base: ["INSERT INTO t.item (id, label, code) VALUES (7, 'red', 'q'), (8, 'red', 'r')"],
      lost: ["UPDATE t.item SET label = 'blue' WHERE id = 7", "UPDATE t.item SET label = 'green' WHERE id = 8"],
      dr: ["UPDATE t.item SET code = 'z' WHERE id = 7", "UPDATE t.item SET code = 'y' WHERE id = 8", "INSERT INTO t.item (id, label, code) VALUES (9, 'blue', 'z')"],
    });
    const decided = [
      // The merge would write (blue, z): row 9's.
      ['update', [7], 'update-diverged', 'quarantined', 'the merged row would take unique key uq_label_code, which another DR row holds'],
      ['update', [8], 'update-diverged', 'merged', 'three-way merge: took label from the lost change'],
    ];
    for (const w of [undefined, 1]) expect((await run(staged, 'plan', w)).ledger.map(line)).toEqual(decided);
    const { ledger, report } = await run(staged, 'apply', undefined);
    expect(ledger.map(line)).toEqual(decided);
    expect(report.retries).toBe(0);
    expect(await items()).toEqual([
      { id: 7, label: 'red', code: 'z', n: 0 },
      { id: 8, label: 'green', code: 'y', n: 0 },
      { id: 9, label: 'blue', code: 'z', n: 0 },
    ]);
  }, 120_000);
});

describe('an insert merged into the DR row at its key, checked on the row it writes', () => {
  const PERSON = 'CREATE TABLE t.person (id INT NOT NULL PRIMARY KEY, email VARCHAR(40) NOT NULL, name VARCHAR(40) NOT NULL, UNIQUE KEY uq_email (email)) ENGINE=InnoDB';
  const people = async (): Promise<unknown> => servers.dr.query('SELECT id, email, name FROM t.person ORDER BY id');
  // The lost label (email) over the DR's row: the merge takes it, the DR's code (name) stays.
  const TAKE_LOST = config({
    tables: {
      't.item': { onConflict: { 'insert-pk-same-record': { strategy: 'merge', policy: { label: 'source' } } } },
      't.person': { onConflict: { 'insert-pk-same-record': { strategy: 'merge', policy: { email: 'source' } } } },
    },
  });

  it('insert-pk-same-record: a merged row whose unique value another DR row holds is held with its class and the key, never dr-rejected (a key of several columns, and of one)', async () => {
    const { primary, dr } = servers;
    // No DR history is read: a DR row at a key that is not AUTO_INCREMENT is the same record (insert-pk-same-record).
    const staged = await stageIncident(primary, dr, {
      schema: [ITEM, PERSON],
      lost: [
        "INSERT INTO t.item (id, label, code) VALUES (5, 'blue', 'q')",
        "INSERT INTO t.item (id, label, code) VALUES (6, 'green', 'q')",
        "INSERT INTO t.person VALUES (1, 'a@x', 'L')",
        "INSERT INTO t.person VALUES (3, 'c@x', 'L')",
      ],
      dr: [
        "INSERT INTO t.item (id, label, code) VALUES (5, 'red', 'z'), (6, 'red', 'y'), (9, 'blue', 'z')",
        "INSERT INTO t.person VALUES (1, 'b@x', 'D'), (2, 'a@x', 'D'), (3, 'd@x', 'D')",
      ],
    });
    const decided = [
      // (blue, z): the lost label with the DR's code, a value neither row had; row 9's.
      ['insert', [5], 'insert-pk-same-record', 'quarantined', 'the merged row would take unique key uq_label_code, which another DR row holds'],
      ['insert', [6], 'insert-pk-same-record', 'merged', "three-way merge: took label from the lost change; both sides changed code: kept the DR's"],
      // a@x: the lost insert's own value, which classify never checks for an insert that meets a row at its key; person 2's.
      ['insert', [1], 'insert-pk-same-record', 'quarantined', 'the merged row would take unique key uq_email, which another DR row holds'],
      ['insert', [3], 'insert-pk-same-record', 'merged', "three-way merge: took email from the lost change; both sides changed name: kept the DR's"],
    ];
    for (const w of [undefined, 1]) expect((await run(staged, 'plan', w, TAKE_LOST)).ledger.map(line)).toEqual(decided);
    const { ledger, report } = await run(staged, 'apply', undefined, TAKE_LOST);
    expect(ledger.map(line)).toEqual(decided);
    expect(report.retries).toBe(0);
    expect(await items()).toEqual([
      { id: 5, label: 'red', code: 'z', n: 0 },
      { id: 6, label: 'green', code: 'y', n: 0 },
      { id: 9, label: 'blue', code: 'z', n: 0 },
    ]);
    expect(await people()).toEqual([
      { id: 1, email: 'b@x', name: 'D' },
      { id: 2, email: 'a@x', name: 'D' },
      { id: 3, email: 'c@x', name: 'D' },
    ]);
  }, 120_000);

  it('a row rule that keeps the DR row (max on n) with a column rule taking the lost label: the row it writes is checked as a merged row', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(primary, dr, {
      schema: [ITEM],
      lost: ["INSERT INTO t.item (id, label, code, n) VALUES (5, 'blue', 'q', 1)", "INSERT INTO t.item (id, label, code, n) VALUES (6, 'green', 'q', 1)"],
      dr: ["INSERT INTO t.item (id, label, code, n) VALUES (5, 'red', 'z', 2), (6, 'red', 'y', 2), (9, 'blue', 'z', 0)"],
    });
    const cfg = config({ tables: { 't.item': { columns: { label: 'source' }, onConflict: { 'insert-pk-same-record': { strategy: 'max', column: 'n' } } } } });
    const path = 'tables."t.item".onConflict.insert-pk-same-record';
    const decided = [
      // The DR row wins on n, the column rule puts the lost label in: (blue, z), row 9's.
      ['insert', [5], 'insert-pk-same-record', 'quarantined', 'the merged row would take unique key uq_label_code, which another DR row holds'],
      ['insert', [6], 'insert-pk-same-record', 'merged', `max on n: the DR row wins (${path}); label by its column rule source (tables."t.item".columns.label)`],
    ];
    for (const w of [undefined, 1]) expect((await run(staged, 'plan', w, cfg)).ledger.map(line)).toEqual(decided);
    const { ledger, report } = await run(staged, 'apply', undefined, cfg);
    expect(ledger.map(line)).toEqual(decided);
    expect(report.retries).toBe(0);
    expect(await items()).toEqual([
      { id: 5, label: 'red', code: 'z', n: 2 },
      { id: 6, label: 'green', code: 'y', n: 2 },
      { id: 9, label: 'blue', code: 'z', n: 0 },
    ]);
  }, 120_000);
});

describe('source over an insert that meets the DR row at its key, checked on the row it writes', () => {
  const PERSON = 'CREATE TABLE t.person (id INT NOT NULL PRIMARY KEY, email VARCHAR(40) NOT NULL, name VARCHAR(40) NOT NULL, UNIQUE KEY uq_email (email)) ENGINE=InnoDB';
  const ACCT = 'CREATE TABLE t.acct (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(40) NOT NULL, UNIQUE KEY uq_email (email)) ENGINE=InnoDB';
  const SAME = 'tables."t.person".onConflict.insert-pk-same-record';
  const TAKEN = 'tables."t.acct".onConflict.insert-pk-taken → custom overwrite → source';
  const cfg = config({ tables: { 't.person': { onConflict: { 'insert-pk-same-record': 'source' } }, 't.acct': { onConflict: { 'insert-pk-taken': { strategy: 'custom', name: 'overwrite' } } } } });
  const strategies: CustomStrategies = { overwrite: () => 'source' };
  const dr = (l: LedgerLine): unknown => l.dr;

  it('an insert whose lost value another DR row holds is held with its own class and the DR row at its key, never as update-unique-taken', async () => {
    const { primary } = servers;
    const staged = await stageIncident(primary, servers.dr, {
      schema: [PERSON, ACCT],
      lost: ["INSERT INTO t.person VALUES (1, 'a@x', 'L')", "INSERT INTO t.person VALUES (3, 'c@x', 'L')", "INSERT INTO t.acct VALUES (1, 'p@x')", "INSERT INTO t.acct VALUES (3, 'r@x')"],
      dr: ["INSERT INTO t.person VALUES (1, 'b@x', 'D'), (2, 'a@x', 'D'), (3, 'd@x', 'D')", "INSERT INTO t.acct VALUES (1, 'q@x'), (2, 'p@x'), (3, 's@x')"],
    });
    const decided = [
      // a@x is person 2's: the insert is person 1's change (the same record), held as such.
      ['insert', [1], 'insert-pk-same-record', 'quarantined', 'the lost values take unique key uq_email, held by another DR row'],
      ['insert', [3], 'insert-pk-same-record', 'applied', `the lost change wins (${SAME})`],
      // An AUTO_INCREMENT id the DR holds is another record (insert-pk-taken), overwritten by choice; p@x is acct 2's.
      ['insert', [1], 'insert-pk-taken', 'quarantined', 'the lost values take unique key uq_email, held by another DR row'],
      ['insert', [3], 'insert-pk-taken', 'applied', `the lost change wins (${TAKEN})`],
    ];
    const drRows = [{ id: 1, email: 'b@x', name: 'D' }, { id: 3, email: 'd@x', name: 'D' }, { id: 1, email: 'q@x' }, { id: 3, email: 's@x' }];
    for (const w of [undefined, 1]) {
      const planned = (await run(staged, 'plan', w, cfg, strategies)).ledger;
      expect(planned.map(line)).toEqual(decided);
      expect(planned.map(dr)).toEqual(drRows);
    }
    const { ledger, report } = await run(staged, 'apply', undefined, cfg, strategies);
    expect(ledger.map(line)).toEqual(decided);
    expect(ledger.map(dr)).toEqual(drRows);
    expect(report.retries).toBe(0);
    expect(await servers.dr.query('SELECT id, email, name FROM t.person ORDER BY id')).toEqual([
      { id: 1, email: 'b@x', name: 'D' },
      { id: 2, email: 'a@x', name: 'D' },
      { id: 3, email: 'c@x', name: 'L' },
    ]);
    expect(await servers.dr.query('SELECT id, email FROM t.acct ORDER BY id')).toEqual([
      { id: 1, email: 'q@x' },
      { id: 2, email: 'p@x' },
      { id: 3, email: 'r@x' },
    ]);
  }, 120_000);
});

describe('salvage resolve of a held update, checked on the row it writes', () => {
  const taken = (value: string, holder: string): string =>
    `the row written would take ${value} in unique key uq_label_code (label, code) of t.item, which the DR row ${holder}, a record the review never saw: decide skip, or give the whole row in decision.row with a value no DR row holds`;

  it('apply is refused up front, naming the key, the value and the DR row holding it at resolve time, the entry left pending and nothing written (it was the DR’s Duplicate entry)', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(primary, dr, {
      schema: [ITEM],
      base: ["INSERT INTO t.item (id, label, code) VALUES (7, 'red', 'q'), (8, 'red', 'r')"],
      lost: ["UPDATE t.item SET label = 'blue' WHERE id = 7", "UPDATE t.item SET label = 'blue' WHERE id = 8"],
      dr: ["UPDATE t.item SET code = 'z' WHERE id = 8", "INSERT INTO t.item (id, label, code) VALUES (9, 'blue', 'q')"],
    });
    const { ledger } = await run(staged, 'apply', undefined, config({ tables: { 't.item': { onConflict: { 'update-diverged': 'quarantine' } } } }));
    expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([
      ['update', [7], 'update-unique-taken', 'quarantined'],
      ['update', [8], 'update-diverged', 'quarantined'],
    ]);
    // After the run the DR takes (blue, z): the row entry 2 writes as logged (its label over the DR's
    // code z), though its after image (blue, r) is free.
    await dr.query("INSERT INTO t.item (id, label, code) VALUES (10, 'blue', 'z')");
    const UNTOUCHED = [
      { id: 7, label: 'red', code: 'q', n: 0 },
      { id: 8, label: 'red', code: 'z', n: 0 },
      { id: 9, label: 'blue', code: 'q', n: 0 },
      { id: 10, label: 'blue', code: 'z', n: 0 },
    ];
    const held = await readQuarantine({ target: dr.target });
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'apply' }, { action: 'apply' }]) });
    expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([
      [held[0]!.id, 'refused', taken('("blue", "q")', '9 holds ({"id":9,"label":"blue","code":"q","n":0})')],
      [held[1]!.id, 'refused', taken('("blue", "z")', '10 holds ({"id":10,"label":"blue","code":"z","n":0})')],
    ]);
    expect((await readQuarantine({ target: dr.target })).map((e) => e.status)).toEqual(['pending', 'pending']);
    expect(await dr.query("SELECT COUNT(*) AS n FROM salvage.ledger WHERE outcome <> 'quarantined'")).toEqual([{ n: '0' }]);
    expect(await items()).toEqual(UNTOUCHED);
    // Once the DR frees the value, the same decision goes through.
    await dr.query('DELETE FROM t.item WHERE id = 10');
    const again = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'skip' }, { action: 'apply' }]) });
    expect(again.entries.map((e) => [e.id, e.result, e.outcome])).toEqual([
      [held[0]!.id, 'done', 'skipped'],
      [held[1]!.id, 'done', 'applied'],
    ]);
    expect(await items()).toEqual([
      { id: 7, label: 'red', code: 'q', n: 0 },
      { id: 8, label: 'blue', code: 'z', n: 0 },
      { id: 9, label: 'blue', code: 'q', n: 0 },
    ]);
  }, 120_000);

  it('a MINIMAL insert whose value takes its default part: apply is refused naming the holder by the whole value (it was the DR’s Duplicate entry)', async () => {
    const staged = await stageMinimal({ schema: [ITEM], lost: ["INSERT INTO t.item (id, label) VALUES (20, 'blue')"], dr: ["INSERT INTO t.item (id, label, code) VALUES (21, 'blue', 'd')"] });
    const { ledger } = await run(staged, 'apply', undefined);
    expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([['insert', [20], 'insert-unique-taken', 'quarantined']]);
    const held = await readQuarantine({ target: servers.dr.target });
    const report = await resolveQuarantine({ target: servers.dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'apply' }]) });
    expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([
      [
        held[0]!.id,
        'refused',
        `the row written would take ("blue", "d") in unique key uq_label_code (label, code) of t.item (code: the DR's default, which the insert leaves it to), which the DR row 21 holds ({"id":21,"label":"blue","code":"d","n":0}), a record the review never saw: link to it ({"action":"link","key":[21]}) if it is the same record, decide skip, or give the whole row in decision.row with a value no DR row holds`,
      ],
    ]);
    expect((await readQuarantine({ target: servers.dr.target })).map((e) => e.status)).toEqual(['pending']);
    expect(await items()).toEqual([{ id: 21, label: 'blue', code: 'd', n: 0 }]);
  }, 120_000);

  it('an update whose DR row is gone, applied as the row it inserts: refused the same way when another DR row holds its unique value', async () => {
    const { primary, dr } = servers;
    const staged = await stageIncident(primary, dr, {
      schema: [ITEM],
      base: ["INSERT INTO t.item (id, label, code) VALUES (7, 'red', 'q')"],
      lost: ["UPDATE t.item SET label = 'blue' WHERE id = 7"],
      dr: ['DELETE FROM t.item WHERE id = 7', "INSERT INTO t.item (id, label, code) VALUES (9, 'blue', 'q')"],
    });
    const { ledger } = await run(staged, 'apply', undefined);
    expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([['update', [7], 'update-missing', 'quarantined']]);
    const held = await readQuarantine({ target: dr.target });
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'apply' }]) });
    expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([[held[0]!.id, 'refused', taken('("blue", "q")', '9 holds ({"id":9,"label":"blue","code":"q","n":0})')]]);
    expect((await readQuarantine({ target: dr.target })).map((e) => e.status)).toEqual(['pending']);
    expect(await items()).toEqual([{ id: 9, label: 'blue', code: 'q', n: 0 }]);
  }, 120_000);
});

describe('source over a MINIMAL image, checked on the row it writes', () => {
  const PATH = 'tables."t.item".onConflict.insert-pk-same-record → custom relabel → source';
  const CUSTOM = config({ tables: { 't.item': { onConflict: { 'insert-pk-same-record': { strategy: 'custom', name: 'relabel' } } } } });
  // The lost blue and navy rows are written green: a label neither side had, which no read of the window asked for.
  const STRATEGIES: CustomStrategies = { relabel: (c) => (c.after?.['label'] === 'teal' ? 'source' : { strategy: 'source', row: { label: 'green' } }) };
  const INCIDENT: Incident = {
    schema: [ITEM],
    // MINIMAL logs id and label: the code is left to the DR row the insert meets at its key.
    lost: ["INSERT INTO t.item (id, label) VALUES (5, 'blue')", "INSERT INTO t.item (id, label) VALUES (6, 'teal')", "INSERT INTO t.item (id, label) VALUES (7, 'navy')"],
    dr: ["INSERT INTO t.item (id, label, code) VALUES (5, 'red', 'z'), (6, 'red', 'y'), (7, 'red', 'w'), (9, 'green', 'z')"],
  };
  const UNREAD = "custom relabel edited label; the value the row written takes in unique key uq_label_code (its label with the DR row's own code) was not read from the DR: whether another DR row holds it is unknown";
  const DECIDED = [
    // (green, z): row 9's, though the window never read it; the DR refused the write without the check.
    ['insert', [5], 'insert-pk-same-record', 'quarantined', UNREAD],
    // (teal, y): the lost label over the DR's code, read by the window's second round, free.
    ['insert', [6], 'insert-pk-same-record', 'applied', `the lost change wins (${PATH})`],
    // (green, w) is free, but not read either: held all the same, never guessed free.
    ['insert', [7], 'insert-pk-same-record', 'quarantined', UNREAD],
  ];

  for (const w of [undefined, 1]) {
    it(`a custom function's edited label over the DR row's code is held with its class, never written unread (${w === undefined ? 'default window' : 'one-transaction windows'})`, async () => {
      const staged = await stageMinimal(INCIDENT);
      const planned = await run(staged, 'plan', w, CUSTOM, STRATEGIES);
      expect(planned.ledger.map(line)).toEqual(DECIDED);
      const applied = await run(staged, 'apply', w, CUSTOM, STRATEGIES);
      expect(applied.ledger.map(line)).toEqual(DECIDED);
      expect(applied.report.retries).toBe(0);
      expect(await items()).toEqual([
        { id: 5, label: 'red', code: 'z', n: 0 },
        { id: 6, label: 'teal', code: 'y', n: 0 },
        { id: 7, label: 'red', code: 'w', n: 0 },
        { id: 9, label: 'green', code: 'z', n: 0 },
      ]);
    }, 120_000);
  }
});

describe('salvage resolve of a MINIMAL insert that leaves a unique column to the DR’s default', () => {
  // BINARY(3) stores its default padded (ab\0), and the DR row given 'ab' holds that value.
  const BIN = "CREATE TABLE t.bin (id INT NOT NULL PRIMARY KEY, label VARCHAR(40) NOT NULL, tag BINARY(3) NOT NULL DEFAULT 'ab', UNIQUE KEY uq_label_tag (label, tag)) ENGINE=InnoDB";
  const INCIDENT: Incident = {
    schema: [ITEM, BIN],
    // MINIMAL logs only the columns each statement gives: code and tag take the DR's defaults.
    lost: ["INSERT INTO t.item (id, label) VALUES (20, 'x')", "INSERT INTO t.bin (id, label) VALUES (20, 'x')"],
    dr: ["INSERT INTO t.item (id, label, code) VALUES (21, 'x', 'd')", "INSERT INTO t.bin (id, label, tag) VALUES (21, 'x', 'ab')"],
  };
  const bins = async (): Promise<unknown> => servers.dr.query('SELECT id, label, HEX(tag) AS tag FROM t.bin ORDER BY id');

  /**
   * Stages the incident under MINIMAL and applies it: each insert is quarantined, the value its
   * default makes being taken — t.item's literal default known to apply (insert-unique-taken), t.bin's
   * BINARY one not, so the DR refuses that insert (dr-rejected).
   */
  async function quarantined(): Promise<void> {
    const { ledger } = await run(await stageMinimal(INCIDENT), 'apply', undefined);
    expect(ledger.map((l) => [l.table, l.op, l.class, l.outcome])).toEqual([
      ['t.item', 'insert', 'insert-unique-taken', 'quarantined'],
      ['t.bin', 'insert', 'dr-rejected', 'quarantined'],
    ]);
  }

  it('apply is refused up front naming the key, the value its default makes and the DR row holding it (exit 3), the entries left pending and nothing written (it was the DR’s Duplicate entry)', async () => {
    const { dr } = servers;
    await quarantined();
    const held = await readQuarantine({ target: dr.target });
    const dir = await mkdtemp(join(tmpdir(), 'salvage-minimal-default-'));
    try {
      const file = join(dir, 'decisions.jsonl');
      await writeFile(file, decisionsFile(held, held.map(() => ({ action: 'apply' }))));
      const out = new Capture();
      const code = await runResolve([file, '--json', '--target', dr.url], out, new Capture(), { env: {}, home: undefined, isTty: false });
      expect(code).toBe(ExitCode.DoneWithQuarantine);
      const report = JSON.parse(out.text) as { entries: { id: number; result: string; message: string }[]; counts: Record<string, number>; stillPending: number };
      const taken = (value: string, key: string, table: string, left: string, holder: string, link: string): string =>
        `the row written would take ${value} in unique key ${key} of ${table} (${left}: the DR's default, which the insert leaves it to), which the DR row ${holder}, a record the review never saw: ${link}decide skip, or give the whole row in decision.row with a value no DR row holds`;
      expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([
        [held[0]!.id, 'refused', taken('("x", "d")', 'uq_label_code (label, code)', 't.item', 'code', '21 holds ({"id":21,"label":"x","code":"d","n":0})', 'link to it ({"action":"link","key":[21]}) if it is the same record, ')],
        // The default as the server stores it, padded: 'ab' alone is no BINARY(3) value the key holds.
        [held[1]!.id, 'refused', taken('("x", 0x616200)', 'uq_label_tag (label, tag)', 't.bin', 'tag', '21 holds ({"id":21,"label":"x","tag":"YWIA"})', 'link to it ({"action":"link","key":[21]}) if it is the same record, ')],
      ]);
      expect(report.counts).toEqual({ done: 0, refused: 2, 'already-resolved': 0, undecided: 0 });
      expect(report.stillPending).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    expect((await readQuarantine({ target: dr.target })).map((e) => e.status)).toEqual(['pending', 'pending']);
    expect(await dr.query("SELECT COUNT(*) AS n FROM salvage.ledger WHERE outcome <> 'quarantined'")).toEqual([{ n: '0' }]);
    expect(await items()).toEqual([{ id: 21, label: 'x', code: 'd', n: 0 }]);
    expect(await bins()).toEqual([{ id: 21, label: 'x', tag: '616200' }]);
  }, 120_000);

  it('the value free: the row is written with the DR’s default; a DR row with the same label and another code holds nothing', async () => {
    const { dr } = servers;
    await quarantined();
    // The DR moves its rows off the values the defaults make; rows sharing either part stay.
    await dr.query("UPDATE t.item SET code = 'e' WHERE id = 21");
    await dr.query("INSERT INTO t.item (id, label, code) VALUES (22, 'y', 'd')");
    await dr.query("UPDATE t.bin SET tag = 'ac' WHERE id = 21");
    const held = await readQuarantine({ target: dr.target });
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, held.map(() => ({ action: 'apply' }))) });
    // t.item's entry is insert-unique-taken (apply knew the literal default): it recorded row 21 as
    // the holder, which the DR changed since, so the review is stale. t.bin's (dr-rejected) is written.
    expect(report.entries.map((e) => [e.id, e.result, e.outcome ?? null, e.message])).toEqual([
      [held[0]!.id, 'refused', null, 'the DR row 21 of t.item changed since it was quarantined: export again and decide on what the DR holds now (code: was "d", now "e")'],
      [held[1]!.id, 'done', 'applied', 'applied as logged'],
    ]);
    expect(report.stillPending).toBe(1);
    expect(await dr.query("SELECT outcome, reason FROM salvage.ledger WHERE `table_name` = 't.bin' ORDER BY seq")).toEqual([{ outcome: 'applied', reason: 'resolved by review: applied as logged' }]);
    expect(await items()).toEqual([
      { id: 21, label: 'x', code: 'e', n: 0 },
      { id: 22, label: 'y', code: 'd', n: 0 },
    ]);
    expect(await bins()).toEqual([
      { id: 20, label: 'x', tag: '616200' },
      { id: 21, label: 'x', tag: '616300' },
    ]);
  }, 120_000);

  it('a default known only at the write (an expression on the DR): the DR’s Duplicate entry is told as a refusal naming the key and the column, no holder guessed', async () => {
    const { dr } = servers;
    const staged = await stageMinimal({ schema: [ITEM], lost: ["INSERT INTO t.item (id, label) VALUES (20, 'x')"], dr: ["INSERT INTO t.item (id, label, code) VALUES (21, 'x', 'd')"] });
    // The DR's default is an expression now (evaluated by the insert, not read before it), which makes 'd' all the same.
    await dr.query("ALTER TABLE t.item ALTER COLUMN code SET DEFAULT (concat('d', ''))");
    const { ledger } = await run(staged, 'apply', undefined);
    expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([['insert', [20], 'dr-rejected', 'quarantined']]);
    const held = await readQuarantine({ target: dr.target });
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'apply' }]) });
    expect(report.entries.map((e) => [e.id, e.result, e.message])).toEqual([
      [
        held[0]!.id,
        'refused',
        "the DR refused the insert (Duplicate entry 'x-d' for key 'uq_label_code'): the row written takes a value in unique key uq_label_code (label, code) of t.item that another DR row holds, with code left to the DR's default concat('d',''), known only at the write, so the DR row holding it is not named: decide skip, or give the whole row in decision.row with a value no DR row holds",
      ],
    ]);
    expect((await readQuarantine({ target: dr.target })).map((e) => e.status)).toEqual(['pending']);
    expect(await dr.query("SELECT COUNT(*) AS n FROM salvage.ledger WHERE outcome <> 'quarantined'")).toEqual([{ n: '0' }]);
    expect(await items()).toEqual([{ id: 21, label: 'x', code: 'd', n: 0 }]);
  }, 120_000);
});

/**
 * Quarantine closure through a foreign key onto a UNIQUE key (not the primary key) under MINIMAL.
 * Bug this pins: a held update's unique values were read off its after image, which under MINIMAL
 * logs only the columns set, so an update setting one part of (region, no), or none, held no value
 * at all; a lost child naming the held row by that value was then applied onto the DR record that
 * holds the same value (another customer), or onto the row whose lost change was held. Under FULL
 * images the child was held (parent-missing) all along.
 */
describe('a held MINIMAL update holds its children that name it by a unique key', () => {
  const CUST = 'CREATE TABLE t.cust (id INT NOT NULL PRIMARY KEY, region VARCHAR(8) NOT NULL, no INT NOT NULL, label VARCHAR(40) NOT NULL DEFAULT \'\', UNIQUE KEY uq_region_no (region, no)) ENGINE=InnoDB';
  const ORD = 'CREATE TABLE t.ord (id INT NOT NULL PRIMARY KEY, cust_region VARCHAR(8) NOT NULL, cust_no INT NOT NULL, CONSTRAINT fk_cust FOREIGN KEY (cust_region, cust_no) REFERENCES t.cust (region, no)) ENGINE=InnoDB';
  const custs = async (): Promise<unknown> => servers.dr.query('SELECT id, region, no, label FROM t.cust ORDER BY id');
  const ords = async (): Promise<unknown> => servers.dr.query('SELECT id, cust_region, cust_no FROM t.ord ORDER BY id');
  const TAKEN = 'another DR row already holds unique key uq_region_no';
  const heldParent = (value: string, origin: LedgerLine): string => `its parent t.cust (region, no) ${value} is quarantined (${origin.gtid ?? ''}#0)`;

  const INCIDENT: Incident = {
    schema: [CUST, ORD],
    base: ["INSERT INTO t.cust (id, region, no) VALUES (1, 'eu', 7), (5, 'eu', 1)"],
    lost: [
      // (eu, 8): the DR's own customer 2 holds it, so the move is held; the order means customer 1.
      'UPDATE t.cust SET no = 8 WHERE id = 1',
      "INSERT INTO t.ord VALUES (1, 'eu', 8)",
      // (us, 1): customer 4's on the DR. Then a second update of the held row, setting no alone: the
      // row is (us, 2) on the source, which the DR's customer 3 holds; the order means customer 5.
      "UPDATE t.cust SET region = 'us' WHERE id = 5",
      'UPDATE t.cust SET no = 2 WHERE id = 5',
      "INSERT INTO t.ord VALUES (2, 'us', 2)",
    ],
    dr: ["INSERT INTO t.cust (id, region, no) VALUES (2, 'eu', 8), (3, 'us', 2), (4, 'us', 1)"],
  };
  const decided = (ledger: readonly LedgerLine[]): unknown[][] => [
    ['update', [1], 'update-unique-taken', 'quarantined', TAKEN],
    ['insert', [1], 'parent-missing', 'quarantined', heldParent('("eu", 8)', ledger[0]!)],
    ['update', [5], 'update-unique-taken', 'quarantined', TAKEN],
    ['update', [5], 'row-quarantined', 'quarantined', `an earlier change of this row is quarantined (${ledger[2]!.gtid ?? ''}#0)`],
    // Held by the second update (its own GTID), the one that gave the row (us, 2).
    ['insert', [2], 'parent-missing', 'quarantined', heldParent('("us", 2)', ledger[3]!)],
  ];
  const UNTOUCHED_CUSTS = [
    { id: 1, region: 'eu', no: 7, label: '' },
    { id: 2, region: 'eu', no: 8, label: '' },
    { id: 3, region: 'us', no: 2, label: '' },
    { id: 4, region: 'us', no: 1, label: '' },
    { id: 5, region: 'eu', no: 1, label: '' },
  ];

  for (const w of [undefined, 1]) {
    it(`binlog_row_image=MINIMAL: the child is held (parent-missing) with the update, never written onto the DR record holding the same value (${w === undefined ? 'default window' : 'one-transaction windows'})`, async () => {
      const staged = await stageMinimal(INCIDENT);
      const planned = await run(staged, 'plan', w);
      expect(planned.ledger.map(line)).toEqual(decided(planned.ledger));
      const applied = await run(staged, 'apply', w);
      expect(applied.ledger.map(line)).toEqual(decided(applied.ledger));
      expect(applied.report.retries).toBe(0);
      expect(await custs()).toEqual(UNTOUCHED_CUSTS);
      expect(await ords()).toEqual([]);
    }, 120_000);
  }

  for (const w of [undefined, 1]) {
    it(`MINIMAL, the input split across runs: the second update of the held row is completed from the first run’s held row, as one run completes it (${w === undefined ? 'default window' : 'one-transaction windows'})`, async () => {
      // FLUSH BINARY LOGS is not logged: it only ends the file, so the first run stops before the second update.
      const lost = [...INCIDENT.lost.slice(0, 3), 'FLUSH BINARY LOGS', ...INCIDENT.lost.slice(3)];
      const staged = await stageMinimal({ ...INCIDENT, lost });
      const first = await run({ ...staged, files: staged.files.slice(0, staged.files.length - 2) }, 'apply', w);
      // A plan after it reads the same holds and decides the same.
      const planned = await run(staged, 'plan', w);
      expect(planned.ledger.map(line)).toEqual(decided([...first.ledger, ...planned.ledger]).slice(3));
      const second = await run(staged, 'apply', w);
      const ledger = [...first.ledger, ...second.ledger];
      expect(ledger.map(line)).toEqual(decided(ledger));
      expect(second.report.retries).toBe(0);
      expect(await custs()).toEqual(UNTOUCHED_CUSTS);
      expect(await ords()).toEqual([]);
    }, 120_000);
  }

  it('FULL images decide the same (the after image gives the whole row)', async () => {
    const staged = await stageIncident(servers.primary, servers.dr, INCIDENT);
    const applied = await run(staged, 'apply', undefined);
    expect(applied.ledger.map(line)).toEqual(decided(applied.ledger));
    expect(await ords()).toEqual([]);
  }, 120_000);

  it('MINIMAL: a later update of a held insert’s row is completed from the held row, not the DR’s', async () => {
    const staged = await stageMinimal({
      schema: [CUST, ORD],
      lost: [
        // (eu, 1): customer 4's on the DR, so the insert is held; then the lost row moves to (eu, 2),
        // customer 3's on the DR, and an order names it there.
        "INSERT INTO t.cust (id, region, no) VALUES (6, 'eu', 1)",
        'UPDATE t.cust SET no = 2 WHERE id = 6',
        "INSERT INTO t.ord VALUES (1, 'eu', 2)",
      ],
      dr: ["INSERT INTO t.cust (id, region, no) VALUES (3, 'eu', 2), (4, 'eu', 1)"],
    });
    for (const w of [undefined, 1]) {
      const { ledger } = await run(staged, 'plan', w);
      expect(ledger.map(line)).toEqual([
        ['insert', [6], 'insert-unique-taken', 'quarantined', TAKEN],
        ['update', [6], 'row-quarantined', 'quarantined', `an earlier change of this row is quarantined (${ledger[0]!.gtid ?? ''}#0)`],
        ['insert', [1], 'parent-missing', 'quarantined', heldParent('("eu", 2)', ledger[1]!)],
      ]);
    }
    const { ledger, report } = await run(staged, 'apply', undefined);
    expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([
      ['insert', [6], 'insert-unique-taken', 'quarantined'],
      ['update', [6], 'row-quarantined', 'quarantined'],
      ['insert', [1], 'parent-missing', 'quarantined'],
    ]);
    expect(report.retries).toBe(0);
    expect(await custs()).toEqual([
      { id: 3, region: 'eu', no: 2, label: '' },
      { id: 4, region: 'eu', no: 1, label: '' },
    ]);
    expect(await ords()).toEqual([]);
  }, 120_000);

  it('MINIMAL: an update held by its rule that sets no key column holds the row’s own unique value (the DR row read) for its children', async () => {
    // Quarantining t.cust's clean changes holds an update of label alone: its children wait with it,
    // as under FULL images, though the DR row they would meet is the very customer.
    const staged = await stageMinimal({
      schema: [CUST, ORD],
      base: ["INSERT INTO t.cust (id, region, no) VALUES (1, 'eu', 7)"],
      lost: ["UPDATE t.cust SET label = 'gold' WHERE id = 1", "INSERT INTO t.ord VALUES (1, 'eu', 7)"],
    });
    const cfg = config({ tables: { 't.cust': { onConflict: { clean: 'quarantine' } } } });
    for (const w of [undefined, 1]) {
      const { ledger } = await run(staged, 'plan', w, cfg);
      expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([
        ['update', [1], 'clean', 'quarantined'],
        ['insert', [1], 'parent-missing', 'quarantined'],
      ]);
      expect(ledger[1]!.reason).toBe(heldParent('("eu", 7)', ledger[0]!));
    }
    const { ledger, report } = await run(staged, 'apply', undefined, cfg);
    expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([
      ['update', [1], 'clean', 'quarantined'],
      ['insert', [1], 'parent-missing', 'quarantined'],
    ]);
    expect(report.retries).toBe(0);
    expect(await custs()).toEqual([{ id: 1, region: 'eu', no: 7, label: '' }]);
    expect(await ords()).toEqual([]);
  }, 120_000);
});

describe('a held MINIMAL child update that keeps its foreign key holds its parent', () => {
  // A MINIMAL update of an order that sets total alone logs no cust_id: the parent it keeps is the
  // row's own (the DR row read, or the row's earlier held changes), which FULL images log whole.
  const CUST = `CREATE TABLE t.cust (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(40) NOT NULL, name VARCHAR(20) NOT NULL,
    UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;
  const ORD = `CREATE TABLE t.ord (id INT UNSIGNED NOT NULL PRIMARY KEY, cust_id INT UNSIGNED NOT NULL, total DECIMAL(10,2) NOT NULL,
    CONSTRAINT fk_cust FOREIGN KEY (cust_id) REFERENCES t.cust (id) ON DELETE CASCADE) ENGINE=InnoDB`;
  const BASE = ["INSERT INTO t.cust (id, email, name) VALUES (1, 'ann@x', 'Ann'), (2, 'bob@x', 'Bob')", 'INSERT INTO t.ord (id, cust_id, total) VALUES (50, 2, 1.00)'];
  // The lost Eve takes the e-mail the DR gave its customer 2, whose one order (CASCADE) maxChildren 1 allows.
  const EVE = "INSERT INTO t.cust (email, name) VALUES ('eve@x', 'Lost Eve')";
  const ORDER_TOTAL = 'UPDATE t.ord SET total = 2.00 WHERE id = 50';
  const DR = ["UPDATE t.cust SET email = 'EVE@x' WHERE id = 2"];
  const R_INSERT = 'tables."t.cust".onConflict.insert-unique-taken';
  const custs = async (): Promise<unknown> => servers.dr.query('SELECT id, email, name FROM t.cust ORDER BY id');
  const ords = async (): Promise<unknown> => servers.dr.query('SELECT id, cust_id, total FROM t.ord ORDER BY id');
  const archived = async (): Promise<unknown> => servers.dr.query('SELECT table_name, row_key, role FROM salvage.archive ORDER BY id');
  const UNTOUCHED_CUSTS = [
    { id: 1, email: 'ann@x', name: 'Ann' },
    { id: 2, email: 'EVE@x', name: 'Bob' },
  ];
  const blocking = (ord: Record<string, unknown> = {}): NormalisedConfig =>
    config({ tables: { 't.cust': { onConflict: { 'insert-unique-taken': { strategy: 'delete-blocking', maxChildren: 1 } } }, ...(Object.keys(ord).length === 0 ? {} : { 't.ord': { onConflict: ord } }) } });
  const summary = (l: LedgerLine): unknown[] => [l.table, l.op, l.key, l.class, l.outcome];
  const heldParentReason = (held: LedgerLine): string =>
    `delete-blocking: the DR row t.cust 2 (holds uk_email) is the parent of a quarantined lost change (${held.gtid ?? ''}#0), which would point at nothing once resolved; nothing was deleted (${R_INSERT})`;

  // The order's update, then Eve: held (its clean changes quarantined by rule) or applied.
  const ORDER_THEN_EVE: Incident = { schema: [CUST, ORD], base: BASE, lost: [ORDER_TOTAL, EVE], dr: DR };
  const heldConfig = (): NormalisedConfig => blocking({ clean: 'quarantine' });
  // Each case under both row images: MINIMAL logs no cust_id for an update of total alone, FULL does.
  const STAGES = [
    ['MINIMAL', stageMinimal],
    ['FULL', (i: Incident): Promise<Staged> => stageIncident(servers.primary, servers.dr, i)],
  ] as const;

  for (const [images, stage] of STAGES) {
    for (const w of [undefined, 1]) {
      it(`${images}: delete-blocking leaves the parent a held order update keeps, never deletes it with the order (${w === undefined ? 'default window' : 'one-transaction windows'})`, async () => {
        const staged = await stage(ORDER_THEN_EVE);
        for (const mode of ['plan', 'apply'] as const) {
          const { ledger, report } = await run(staged, mode, w, heldConfig());
          expect(ledger.map(summary)).toEqual([
            ['t.ord', 'update', [50], 'clean', 'quarantined'],
            ['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined'],
          ]);
          expect(ledger[1]!.reason).toBe(heldParentReason(ledger[0]!));
          expect(report.retries).toBe(0);
        }
        expect(await custs()).toEqual(UNTOUCHED_CUSTS);
        expect(await ords()).toEqual([{ id: 50, cust_id: 2, total: '1.00' }]);
        expect(await archived()).toEqual([]);
      }, 120_000);
    }
  }

  // Eve first; the order's update comes after her, in the same window or a later one, and is applied.
  const LATER: Incident = { schema: [CUST, ORD], base: BASE, lost: [EVE, ORDER_TOTAL], dr: DR };
  // The reason Eve is refused when the order's update, `side` of her, needs customer 2.
  const neighbourReason = (side: 'later' | 'earlier', images: 'MINIMAL' | 'FULL', w: number | undefined, order: LedgerLine): string => {
    const by = w === undefined ? 'a lost change of this window' : `${side === 'later' ? 'a later' : 'an earlier'} lost change (${order.gtid ?? ''}#0)`;
    // FULL logs the order's cust_id: the customer is needed by value. MINIMAL logs none: the order
    // row the DR holds, which the update leaves pointing where it does, is needed.
    const why = images === 'FULL' ? `is changed or pointed at by ${by}` : `is pointed at by t.ord 50 (fk_cust), which ${by} updates keeping the reference`;
    return `delete-blocking: the DR row t.cust 2 (holds uk_email) ${why}; nothing was deleted (${R_INSERT})`;
  };

  for (const [images, stage] of STAGES) {
    for (const w of [undefined, 1]) {
      it(`${images}: delete-blocking leaves the parent a later order update keeps, never deletes it with the order (${w === undefined ? 'default window' : 'one-transaction windows'})`, async () => {
        const staged = await stage(LATER);
        for (const mode of ['plan', 'apply'] as const) {
          const { ledger, report } = await run(staged, mode, w, blocking());
          expect(ledger.map(summary)).toEqual([
            ['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined'],
            ['t.ord', 'update', [50], 'clean', 'applied'],
          ]);
          expect(ledger[0]!.reason).toBe(neighbourReason('later', images, w, ledger[1]!));
          expect(report.retries).toBe(0);
        }
        expect(await custs()).toEqual(UNTOUCHED_CUSTS);
        expect(await ords()).toEqual([{ id: 50, cust_id: 2, total: '2.00' }]);
        expect(await archived()).toEqual([]);
      }, 120_000);
    }

    it(`${images}: the order update held by an earlier run keeps the parent from delete-blocking in the next run`, async () => {
      // FLUSH BINARY LOGS is not logged: it only ends the file, so the first run reads the order's update alone.
      const staged = await stage({ schema: [CUST, ORD], base: BASE, lost: [ORDER_TOTAL, 'FLUSH BINARY LOGS', EVE], dr: DR });
      const first = await run({ ...staged, files: staged.files.slice(0, staged.files.length - 2) }, 'apply', undefined, heldConfig());
      expect(first.ledger.map(summary)).toEqual([['t.ord', 'update', [50], 'clean', 'quarantined']]);
      const { ledger } = await run(staged, 'apply', undefined, heldConfig());
      expect(ledger.map(summary)).toEqual([['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined']]);
      // FULL: the held after image names the customer. MINIMAL: the order row the held update waits on.
      const held = `${first.ledger[0]!.gtid ?? ''}#0`;
      expect(ledger[0]!.reason).toBe(
        images === 'FULL'
          ? heldParentReason(first.ledger[0]!)
          : `delete-blocking: the DR row t.cust 2 (holds uk_email) is pointed at by t.ord 50 (fk_cust), which waits on a quarantined lost change (${held}); nothing was deleted (${R_INSERT})`,
      );
      expect(await custs()).toEqual(UNTOUCHED_CUSTS);
      expect(await ords()).toEqual([{ id: 50, cust_id: 2, total: '1.00' }]);
      expect(await archived()).toEqual([]);
    }, 120_000);
  }

  // The order's update first, applied; then Eve. The order row the lost range just wrote is the
  // child customer 2's delete would cascade away: it stays whatever the window size, or when an
  // earlier run applied the update (found with the tests above: one-transaction windows asked only
  // after later changes, and deleted customer 2 with the order).
  const earlierRunReason = (order: LedgerLine): string =>
    `delete-blocking: the DR row t.cust 2 (holds uk_email) is pointed at by t.ord 50 (fk_cust), which an earlier run's lost change (${order.gtid ?? ''}#0) wrote; nothing was deleted (${R_INSERT})`;

  for (const [images, stage] of STAGES) {
    for (const w of [undefined, 1]) {
      it(`${images}: delete-blocking leaves the parent of the order an earlier lost update wrote, never cascades that order away (${w === undefined ? 'default window' : 'one-transaction windows'})`, async () => {
        const staged = await stage(ORDER_THEN_EVE);
        for (const mode of ['plan', 'apply'] as const) {
          const { ledger, report } = await run(staged, mode, w, blocking());
          expect(ledger.map(summary)).toEqual([
            ['t.ord', 'update', [50], 'clean', 'applied'],
            ['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined'],
          ]);
          expect(ledger[1]!.reason).toBe(neighbourReason('earlier', images, w, ledger[0]!));
          expect(report.retries).toBe(0);
        }
        expect(await custs()).toEqual(UNTOUCHED_CUSTS);
        expect(await ords()).toEqual([{ id: 50, cust_id: 2, total: '2.00' }]);
        expect(await archived()).toEqual([]);
      }, 120_000);

      it(`${images}, the input split across runs: the order an earlier run's update wrote keeps its parent from delete-blocking in the next run, plan and apply (${w === undefined ? 'default window' : 'one-transaction windows'})`, async () => {
        // FLUSH BINARY LOGS is not logged: it only ends the file, so the first run reads the order's update alone.
        const staged = await stage({ ...ORDER_THEN_EVE, lost: [ORDER_TOTAL, 'FLUSH BINARY LOGS', EVE] });
        const first = await run({ ...staged, files: staged.files.slice(0, staged.files.length - 2) }, 'apply', w, blocking());
        expect(first.ledger.map(summary)).toEqual([['t.ord', 'update', [50], 'clean', 'applied']]);
        for (const mode of ['plan', 'apply'] as const) {
          const { ledger, report } = await run(staged, mode, w, blocking());
          expect(ledger.map(summary)).toEqual([['t.cust', 'insert', [3], 'insert-unique-taken', 'quarantined']]);
          expect(ledger[0]!.reason).toBe(earlierRunReason(first.ledger[0]!));
          expect(report.retries).toBe(0);
        }
        expect(await custs()).toEqual(UNTOUCHED_CUSTS);
        expect(await ords()).toEqual([{ id: 50, cust_id: 2, total: '2.00' }]);
        expect(await archived()).toEqual([]);
      }, 120_000);
    }
  }
});
