/**
 * A lost insert whose VARCHAR primary key only the DR's collation equates with a DR row's key
 * (`'b'` inserted on the primary where the promoted DR inserted `'B'`, under utf8mb4_general_ci).
 * The window's read of `b` returned `B`, but the insert was matched on the exact key: classed clean,
 * written, rejected by the DR's `Duplicate entry` and quarantined as `dr-rejected` whatever the rule,
 * its later update held with it. Now it meets `B` as the insert at a taken key, found as a moved
 * key's holder is (the server confirms which asked key the row holds), and its rule decides:
 * `insert-pk-same-record` by values (merge keeps the DR's row, so the row's later update is merged
 * into it), `insert-pk-taken` when the DR's history says the DR created `B` (remap cannot make up a
 * VARCHAR key: quarantined, the later update held), the row's later changes following either way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readQuarantine, resolveQuarantine } from '../../src/pipeline/resolve.js';
import { salvage, type SalvageOptions } from '../../src/pipeline/salvage.js';
import { decisionsFile } from '../harness/decisions.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { config } from '../harness/incident-pair.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { REPLICA_ARGS, stageReplicatedIncident, type ReplicatedIncident, type StagedReplicated } from '../harness/replicated-incident.js';

let primary: MariadbServer;
let dr: MariadbServer;

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'pkfold-primary', serverId: 1 }), startMariadb({ name: 'pkfold-dr', serverId: 2, extraArgs: [...REPLICA_ARGS] })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
});

const TAGS: ReplicatedIncident = {
  schema: ['CREATE DATABASE k', 'CREATE TABLE k.tags (code VARCHAR(20) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY, label VARCHAR(20) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4'],
  base: ["INSERT INTO k.tags VALUES ('a', 'Ann')"],
  lost: ["INSERT INTO k.tags VALUES ('b', 'Bea')", "UPDATE k.tags SET label = 'Bee' WHERE code = 'b'"],
  // The DR's own record at the key: equal to the lost row in every column but the key's case.
  dr: ["INSERT INTO k.tags VALUES ('B', 'Bea')"],
};

type Line = [op: string, key: unknown, cls: string, outcome: string, reason: string | undefined, withoutHistory: boolean];
const line = (l: LedgerLine): Line => [l.op, l.key, l.class, l.outcome, l.reason, l.withoutHistory];

async function run(staged: StagedReplicated, extra: Partial<SalvageOptions> = {}): Promise<LedgerLine[]> {
  const ledger: LedgerLine[] = [];
  await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.linkCut }, onLedger: (l) => ledger.push(l), ...extra });
  return ledger;
}

const tags = async (): Promise<unknown> => dr.query('SELECT code, label FROM k.tags ORDER BY code');

describe("a lost insert of 'b' where the DR holds 'B' (utf8mb4_general_ci key)", () => {
  it("defaults, no DR binlog: the same record by values (insert-pk-same-record), merged keeping the DR's 'B'; the later update is merged into 'B'; plan shows the same", async () => {
    const staged = await stageReplicatedIncident(primary, dr, TAGS, ['k']);
    const planned = await run(staged, { mode: 'plan' });
    const ledger = await run(staged);
    const insertGtid = ledger[0]!.gtid;
    expect(ledger.map(line)).toEqual([
      ['insert', ['b'], 'insert-pk-same-record', 'merged', "same record changed on the DR since: kept the DR's code", true],
      ['update', ['b'], 'update-diverged', 'merged', 'three-way merge: took label from the lost change', true],
    ]);
    expect(insertGtid).not.toBe(ledger[1]!.gtid);
    // The DR row the insert met is recorded as its D, under its own key.
    expect(ledger[0]!.dr).toEqual({ code: 'B', label: 'Bea' });
    expect(ledger[1]!.dr).toEqual({ code: 'B', label: 'Bea' });
    expect(planned.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual(ledger.map((l) => [l.op, l.key, l.class, l.outcome]));
    expect(await tags()).toEqual([
      { code: 'a', label: 'Ann' },
      { code: 'B', label: 'Bee' },
    ]);
  }, 120_000);

  it('skip for insert-pk-same-record: the DR keeps its row, and the later update is held with the skipped insert', async () => {
    const staged = await stageReplicatedIncident(primary, dr, TAGS, ['k']);
    const cfg = config({ tables: { 'k.tags': { onConflict: { 'insert-pk-same-record': 'skip' } } } });
    const ledger = await run(staged, { config: cfg });
    const insert = `${ledger[0]!.gtid}#0`;
    expect(ledger.map(line)).toEqual([
      ['insert', ['b'], 'insert-pk-same-record', 'skipped', 'the DR keeps its row (tables."k.tags".onConflict.insert-pk-same-record)', true],
      ['update', ['b'], 'row-quarantined', 'quarantined', `an earlier change of this row was skipped (${insert}): the lost row was never written`, true],
    ]);
    expect(await tags()).toEqual([
      { code: 'a', label: 'Ann' },
      { code: 'B', label: 'Bea' },
    ]);
  }, 120_000);

  it("with --dr-binlog: the DR created 'B' after the failover (insert-pk-taken, looked up at 'B'); remap cannot give a VARCHAR key a new id, so it is quarantined and the later update waits with it; plan shows the same", async () => {
    const staged = await stageReplicatedIncident(primary, dr, TAGS, ['k']);
    const planned = await run(staged, { mode: 'plan', drBinlogs: staged.drFiles });
    const ledger = await run(staged, { drBinlogs: staged.drFiles });
    const insert = `${ledger[0]!.gtid}#0`;
    expect(ledger.map(line)).toEqual([
      ['insert', ['b'], 'insert-pk-taken', 'quarantined', 'remap: k.tags has no AUTO_INCREMENT key to take a new id from (configure keyAllocation "uuid-v7" or "offset" for it)', false],
      ['update', ['b'], 'row-quarantined', 'quarantined', `an earlier change of this row is quarantined (${insert})`, false],
    ]);
    expect(ledger[0]!.dr).toEqual({ code: 'B', label: 'Bea' });
    expect(planned.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual(ledger.map((l) => [l.op, l.key, l.class, l.outcome]));
    expect(await tags()).toEqual([
      { code: 'a', label: 'Ann' },
      { code: 'B', label: 'Bea' },
    ]);
  }, 120_000);
});

describe('salvage resolve of the held insert', () => {
  it("apply is refused up front, naming the DR row 'B' that holds 'b' (the DR's Duplicate entry refused it); link onto 'B' merges it, and the held update is then applied to 'B'", async () => {
    const staged = await stageReplicatedIncident(primary, dr, TAGS, ['k']);
    await run(staged, { drBinlogs: staged.drFiles });
    const held = await readQuarantine({ target: dr.target });
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile([held[0]!], [{ action: 'apply' }]) });
    expect(report.entries.map((e) => [e.result, e.message])).toEqual([
      ['refused', 'the DR already has a row with key "b" under its collation: the DR row "B" ({"code":"B","label":"Bea"}); link to it ({"action":"link","key":[…]}) or give the row another key'],
    ]);
    const linked = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'link', key: ['B'] }, { action: 'apply' }]) });
    expect(linked.entries.map((e) => [e.result, e.outcome])).toEqual([
      ['done', 'merged'],
      ['done', 'applied'],
    ]);
    expect(await tags()).toEqual([
      { code: 'a', label: 'Ann' },
      { code: 'B', label: 'Bee' },
    ]);
  }, 120_000);
});

describe("the row's children and its updates under compare \"keys\"", () => {
  const WITH_NOTES: ReplicatedIncident = {
    ...TAGS,
    schema: [
      ...TAGS.schema,
      'CREATE TABLE k.notes (id INT NOT NULL PRIMARY KEY, code VARCHAR(20) COLLATE utf8mb4_general_ci NOT NULL, FOREIGN KEY (code) REFERENCES k.tags (code)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
    ],
    lost: [...TAGS.lost, "INSERT INTO k.notes VALUES (1, 'b')"],
  };
  const notes = async (): Promise<unknown> => dr.query('SELECT id, code FROM k.notes ORDER BY id');

  it("a child naming 'b' meets its parent in 'B', as the DR's foreign-key check does (it was parent-missing); with the history the parent is held and the child with it", async () => {
    const staged = await stageReplicatedIncident(primary, dr, WITH_NOTES, ['k']);
    const ledger = await run(staged);
    expect(ledger.map((l) => [l.table, l.op, l.class, l.outcome])).toEqual([
      ['k.tags', 'insert', 'insert-pk-same-record', 'merged'],
      ['k.tags', 'update', 'update-diverged', 'merged'],
      ['k.notes', 'insert', 'clean', 'applied'],
    ]);
    expect(await notes()).toEqual([{ id: 1, code: 'b' }]);

    const again = await stageReplicatedIncident(primary, dr, WITH_NOTES, ['k']);
    const held = await run(again, { drBinlogs: again.drFiles });
    const insert = `${held[0]!.gtid}#0`;
    expect(held.map((l) => [l.table, l.op, l.class, l.outcome, l.reason])).toEqual([
      ['k.tags', 'insert', 'insert-pk-taken', 'quarantined', 'remap: k.tags has no AUTO_INCREMENT key to take a new id from (configure keyAllocation "uuid-v7" or "offset" for it)'],
      ['k.tags', 'update', 'row-quarantined', 'quarantined', `an earlier change of this row is quarantined (${insert})`],
      ['k.notes', 'insert', 'parent-missing', 'quarantined', `its parent k.tags "b" is quarantined (${insert})`],
    ]);
    expect(await notes()).toEqual([]);
  }, 120_000);

  it("compare \"keys\": the later update meets 'B' as clean and keeps the DR's spelling of the key (it would have renamed 'B' to 'b')", async () => {
    const staged = await stageReplicatedIncident(primary, dr, TAGS, ['k']);
    const ledger = await run(staged, { config: config({ compare: 'keys' }) });
    expect(ledger.map((l) => [l.op, l.class, l.outcome])).toEqual([
      ['insert', 'insert-pk-same-record', 'merged'],
      ['update', 'clean', 'applied'],
    ]);
    expect(await tags()).toEqual([
      { code: 'a', label: 'Ann' },
      { code: 'B', label: 'Bee' },
    ]);
  }, 120_000);
});

describe('accents and letters the collation folds', () => {
  const WORDS: ReplicatedIncident = {
    schema: [
      'CREATE DATABASE k',
      'CREATE TABLE k.words (w VARCHAR(20) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
      // UCA expands ß to ss; general_ci takes it for one s.
      'CREATE TABLE k.uwords (w VARCHAR(20) COLLATE utf8mb4_unicode_ci NOT NULL PRIMARY KEY, n INT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
    ],
    lost: ["INSERT INTO k.words VALUES ('café', 1), ('straße', 2), ('strasse', 3)", "INSERT INTO k.uwords VALUES ('straße', 4)"],
    dr: ["INSERT INTO k.words VALUES ('CAFE', 1), ('strase', 2)", "INSERT INTO k.uwords VALUES ('STRASSE', 4)"],
  };

  it("'café' meets 'CAFE' and 'straße' meets 'strase' under general_ci, 'straße' meets 'STRASSE' under unicode_ci; 'strasse', which general_ci keeps apart from 'strase', is inserted", async () => {
    const staged = await stageReplicatedIncident(primary, dr, WORDS, ['k']);
    const ledger = await run(staged);
    expect(ledger.map((l) => [l.table, l.key, l.class, l.outcome, l.reason, l.dr ?? null])).toEqual([
      ['k.words', ['café'], 'insert-pk-same-record', 'merged', "same record changed on the DR since: kept the DR's w", { w: 'CAFE', n: 1 }],
      ['k.words', ['straße'], 'insert-pk-same-record', 'merged', "same record changed on the DR since: kept the DR's w", { w: 'strase', n: 2 }],
      ['k.words', ['strasse'], 'clean', 'applied', undefined, null],
      ['k.uwords', ['straße'], 'insert-pk-same-record', 'merged', "same record changed on the DR since: kept the DR's w", { w: 'STRASSE', n: 4 }],
    ]);
    expect(await dr.query('SELECT w, n FROM k.words ORDER BY n')).toEqual([
      { w: 'CAFE', n: 1 },
      { w: 'strase', n: 2 },
      { w: 'strasse', n: 3 },
    ]);
    expect(await dr.query('SELECT w, n FROM k.uwords')).toEqual([{ w: 'STRASSE', n: 4 }]);
  }, 120_000);
});
