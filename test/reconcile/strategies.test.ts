/**
 * Every configurable strategy on real servers (issue 4, "Done when"): one primary/DR pair for the
 * file, fresh databases per case. Each case writes the same base rows on both, the lost statements
 * on the primary only and the DR's own statements on the DR only, then applies with a
 * configuration and asserts the DR's exact rows and the ledger (class, outcome, the rule path that
 * fired) as `--ledger` prints it and as the DR's `salvage.ledger` holds it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NormalisedConfig } from '../../src/config/normalise.js';
import { salvage, type SalvageOptions, type SalvageReport } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { config, stageIncident, type Incident, type Staged } from '../harness/incident-pair.js';
import { rejectionOf } from '../harness/error-of.js';
import { openSession } from '../../src/db/sql-session.js';

let primary: MariadbServer;
let dr: MariadbServer;

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'strategies-primary' }), startMariadb({ name: 'strategies-dr', serverId: 2 })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
});

/** What a ledger line says about one decision, in the order the assertions read it. */
type Summary = [table: string, op: string, key: unknown, cls: string, outcome: string, newKey: unknown, rule: string | null];

const summary = (l: LedgerLine): Summary => [l.table, l.op, l.key, l.class, l.outcome, l.newKey ?? null, l.rule ?? null];

function stage(incident: Incident): Promise<Staged> {
  return stageIncident(primary, dr, incident, ['t', 'u']);
}

function options(staged: Staged, cfg: NormalisedConfig | undefined, ledger: LedgerLine[], extra: Partial<SalvageOptions> = {}): SalvageOptions {
  return {
    mode: 'apply',
    binlogs: staged.files,
    target: dr.target,
    start: { kind: 'from-gtid', set: staged.start },
    ...(cfg === undefined ? {} : { config: cfg }),
    onLedger: (l) => ledger.push(l),
    ...extra,
  };
}

/** Applies `incident` under `cfg`; also checks that the DR's ledger table records what `--ledger` printed. */
async function run(incident: Incident, cfg: NormalisedConfig | undefined, extra: Partial<SalvageOptions> = {}): Promise<{ report: SalvageReport; ledger: LedgerLine[] }> {
  const staged = await stage(incident);
  const ledger: LedgerLine[] = [];
  const report = await salvage(options(staged, cfg, ledger, extra));
  expect(await dr.query('SELECT table_name, op, class, outcome, rule_path FROM salvage.ledger ORDER BY seq')).toEqual(
    ledger.map((l) => ({ table_name: l.table, op: l.op, class: l.class, outcome: l.outcome, rule_path: l.rule ?? null })),
  );
  return { report, ledger };
}

async function rows(sql: string): Promise<unknown[]> {
  return (await dr.query(sql)) as unknown[];
}

const ACCT = 'CREATE TABLE t.acct (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL, n INT NOT NULL DEFAULT 0) ENGINE=InnoDB';
const acct = (): Promise<unknown[]> => rows('SELECT id, name, n FROM t.acct ORDER BY id');
const rule = (table: string, cls: string): string => `tables.${JSON.stringify(table)}.onConflict.${cls}`;

describe('skip and source', () => {
  it('skip: the DR keeps a diverged row and its own row at a taken id; the skipped insert holds back the lost row’s later update', async () => {
    const { ledger } = await run(
      {
        schema: [ACCT],
        base: ["INSERT INTO t.acct (id, name) VALUES (1, 'base'), (2, 'base')"],
        lost: ["UPDATE t.acct SET name = 'L' WHERE id = 1", "INSERT INTO t.acct (name) VALUES ('lost3')", 'UPDATE t.acct SET n = 5 WHERE id = 3'],
        dr: ["UPDATE t.acct SET name = 'D' WHERE id = 1", "INSERT INTO t.acct (name) VALUES ('dr3')"],
      },
      config({ tables: { 't.acct': { onConflict: { 'update-diverged': 'skip', 'insert-pk-taken': 'skip' } } } }),
    );
    expect(await acct()).toEqual([
      { id: 1, name: 'D', n: 0 },
      { id: 2, name: 'base', n: 0 },
      { id: 3, name: 'dr3', n: 0 },
    ]);
    expect(ledger.map(summary)).toEqual([
      ['t.acct', 'update', [1], 'update-diverged', 'skipped', null, rule('t.acct', 'update-diverged')],
      ['t.acct', 'insert', [3], 'insert-pk-taken', 'skipped', null, rule('t.acct', 'insert-pk-taken')],
      ['t.acct', 'update', [3], 'row-quarantined', 'quarantined', null, null],
    ]);
  });

  it('source: the lost change wins an update-diverged (its whole image), a delete-diverged and an insert-pk-same-record', async () => {
    const { ledger } = await run(
      {
        schema: [ACCT, 'CREATE TABLE t.kv (k VARCHAR(10) NOT NULL PRIMARY KEY, v VARCHAR(10) NOT NULL) ENGINE=InnoDB'],
        base: ["INSERT INTO t.acct (id, name) VALUES (1, 'base'), (2, 'base'), (3, 'base')"],
        lost: ["UPDATE t.acct SET name = 'L' WHERE id = 1", 'DELETE FROM t.acct WHERE id = 2', "INSERT INTO t.kv VALUES ('a', 'L')"],
        dr: ['UPDATE t.acct SET n = 7 WHERE id = 1', "UPDATE t.acct SET name = 'D' WHERE id = 2", "INSERT INTO t.kv VALUES ('a', 'D')"],
      },
      config({
        tables: {
          't.acct': { onConflict: { 'update-diverged': 'source', 'delete-diverged': 'source' } },
          't.kv': { onConflict: { 'insert-pk-same-record': 'source' } },
        },
      }),
    );
    expect(await acct()).toEqual([
      { id: 1, name: 'L', n: 0 },
      { id: 3, name: 'base', n: 0 },
    ]);
    expect(await rows('SELECT k, v FROM t.kv')).toEqual([{ k: 'a', v: 'L' }]);
    expect(ledger.map(summary)).toEqual([
      ['t.acct', 'update', [1], 'update-diverged', 'applied', null, rule('t.acct', 'update-diverged')],
      ['t.acct', 'delete', [2], 'delete-diverged', 'applied', null, rule('t.acct', 'delete-diverged')],
      ['t.kv', 'insert', ['a'], 'insert-pk-same-record', 'applied', null, rule('t.kv', 'insert-pk-same-record')],
    ]);
  });
});

describe('newest / oldest on a timestamp column', () => {
  // Row 1: the DR's change is newer; row 2: the lost change is newer; row 3: the same updated_at on both sides.
  const PROFILES: Incident = {
    schema: ['CREATE TABLE t.profile (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL, updated_at DATETIME NOT NULL) ENGINE=InnoDB'],
    base: ["INSERT INTO t.profile VALUES (1, 'b', '2024-01-01 00:00:00'), (2, 'b', '2024-01-01 00:00:00'), (3, 'b', '2024-01-01 00:00:00')"],
    lost: [
      "UPDATE t.profile SET name = 'L1', updated_at = '2024-01-02 00:00:00' WHERE id = 1",
      "UPDATE t.profile SET name = 'L2', updated_at = '2024-01-05 00:00:00' WHERE id = 2",
      "UPDATE t.profile SET name = 'L3', updated_at = '2024-01-06 00:00:00' WHERE id = 3",
    ],
    dr: [
      "UPDATE t.profile SET name = 'D1', updated_at = '2024-01-03 00:00:00' WHERE id = 1",
      "UPDATE t.profile SET name = 'D2', updated_at = '2024-01-04 00:00:00' WHERE id = 2",
      "UPDATE t.profile SET name = 'D3', updated_at = '2024-01-06 00:00:00' WHERE id = 3",
    ],
  };
  const L = (id: number, day: string): unknown => ({ id, name: `L${id}`, updated_at: `2024-01-${day} 00:00:00` });
  const D = (id: number, day: string): unknown => ({ id, name: `D${id}`, updated_at: `2024-01-${day} 00:00:00` });

  it.each([
    ['newest, tie dr', { strategy: 'newest', column: 'updated_at', tie: 'dr' }, [D(1, '03'), L(2, '05'), D(3, '06')], ['skipped', 'applied', 'skipped']],
    ['newest, tie source', { strategy: 'newest', column: 'updated_at', tie: 'source' }, [D(1, '03'), L(2, '05'), L(3, '06')], ['skipped', 'applied', 'applied']],
    ['oldest (tie: dr by default)', { strategy: 'oldest', column: 'updated_at' }, [L(1, '02'), D(2, '04'), D(3, '06')], ['applied', 'skipped', 'skipped']],
    ['oldest, tie source', { strategy: 'oldest', column: 'updated_at', tie: 'source' }, [L(1, '02'), D(2, '04'), L(3, '06')], ['applied', 'skipped', 'applied']],
    ['newest with a 1h threshold: the tie (0 ms apart) is a conflict', { strategy: 'newest', column: 'updated_at', threshold: '1h' }, [D(1, '03'), L(2, '05'), D(3, '06')], ['skipped', 'applied', 'quarantined']],
  ])('%s', async (_name, strategy, expected, outcomes) => {
    const { ledger } = await run(PROFILES, config({ tables: { 't.profile': { onConflict: { 'update-diverged': strategy } } } }));
    expect(await rows('SELECT id, name, updated_at FROM t.profile ORDER BY id')).toEqual(expected);
    expect(ledger.map(summary)).toEqual(outcomes.map((o, i) => ['t.profile', 'update', [i + 1], 'update-diverged', o, null, rule('t.profile', 'update-diverged')]));
    if (outcomes[2] === 'quarantined') {
      expect(ledger[2]!.reason).toBe(`newest: updated_at differs by 0 ms, under the 3600000 ms threshold (${rule('t.profile', 'update-diverged')})`);
      expect(await rows('SELECT table_name, status FROM salvage.quarantine')).toEqual([{ table_name: 't.profile', status: 'pending' }]);
    }
  });
});

describe('max / min with NULLs', () => {
  // Row 1: the lost change sets NULL, the DR 7; row 2: the lost change 9, the DR 8.
  const SCORES: Incident = {
    schema: ['CREATE TABLE t.score (id INT NOT NULL PRIMARY KEY, score INT NULL, note VARCHAR(10) NOT NULL) ENGINE=InnoDB'],
    base: ["INSERT INTO t.score VALUES (1, 5, 'b'), (2, 5, 'b')"],
    lost: ["UPDATE t.score SET score = NULL, note = 'L' WHERE id = 1", "UPDATE t.score SET score = 9, note = 'L' WHERE id = 2"],
    dr: ["UPDATE t.score SET score = 7, note = 'D' WHERE id = 1", "UPDATE t.score SET score = 8, note = 'D' WHERE id = 2"],
  };
  const lost1 = { id: 1, score: null, note: 'L' };
  const dr1 = { id: 1, score: 7, note: 'D' };
  const lost2 = { id: 2, score: 9, note: 'L' };
  const dr2 = { id: 2, score: 8, note: 'D' };

  it.each([
    ['max, NULL first (lowest)', 'max', 'first', [dr1, lost2], ['skipped', 'applied']],
    ['max, NULL last (highest)', 'max', 'last', [lost1, lost2], ['applied', 'applied']],
    ['min, NULL first (lowest)', 'min', 'first', [lost1, dr2], ['applied', 'skipped']],
    ['min, NULL last (highest)', 'min', 'last', [dr1, dr2], ['skipped', 'skipped']],
  ])('%s', async (_name, strategy, nulls, expected, outcomes) => {
    const { ledger } = await run(SCORES, config({ tables: { 't.score': { onConflict: { 'update-diverged': { strategy, column: 'score', nulls } } } } }));
    expect(await rows('SELECT id, score, note FROM t.score ORDER BY id')).toEqual(expected);
    expect(ledger.map(summary)).toEqual(outcomes.map((o, i) => ['t.score', 'update', [i + 1], 'update-diverged', o, null, rule('t.score', 'update-diverged')]));
  });
});

describe('merge: bothChanged and per-column policies', () => {
  const M = 'CREATE TABLE t.m (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL, email VARCHAR(40) NOT NULL, hi INT NOT NULL, balance DECIMAL(12,2) NOT NULL) ENGINE=InnoDB';
  const BASE = ["INSERT INTO t.m VALUES (1, 'b', 'b@x', 10, 100.00), (2, 'b', 'b@x', 10, 100.00)"];
  const m = (): Promise<unknown[]> => rows('SELECT id, name, email, hi, balance FROM t.m ORDER BY id');
  const R = rule('t.m', 'update-diverged');

  it('bothChanged "source": a column changed on both sides takes the lost value, one side’s changes merge', async () => {
    const { ledger } = await run(
      { schema: [M], base: BASE, lost: ["UPDATE t.m SET name = 'L', email = 'l@x' WHERE id = 1"], dr: ["UPDATE t.m SET name = 'D', balance = 90 WHERE id = 1"] },
      config({ tables: { 't.m': { onConflict: { 'update-diverged': { strategy: 'merge', bothChanged: 'source' } } } } }),
    );
    expect(await m()).toEqual([
      { id: 1, name: 'L', email: 'l@x', hi: 10, balance: '90.00' },
      { id: 2, name: 'b', email: 'b@x', hi: 10, balance: '100.00' },
    ]);
    expect(ledger.map(summary)).toEqual([['t.m', 'update', [1], 'update-diverged', 'merged', null, R]]);
    expect(ledger[0]!.reason).toBe('three-way merge: took name, email from the lost change');
  });

  it('the default (bothChanged "dr") keeps the DR value of a column changed on both sides and records it', async () => {
    const { ledger } = await run(
      { schema: [M], base: BASE, lost: ["UPDATE t.m SET name = 'L', email = 'l@x' WHERE id = 1"], dr: ["UPDATE t.m SET name = 'D', balance = 90 WHERE id = 1"] },
      config({ tables: { 't.m': { onConflict: { 'update-diverged': 'merge' } } } }),
    );
    expect((await m())[0]).toEqual({ id: 1, name: 'D', email: 'l@x', hi: 10, balance: '90.00' });
    expect(ledger.map(summary)).toEqual([['t.m', 'update', [1], 'update-diverged', 'merged', null, R]]);
    expect(ledger[0]!.conflicts).toEqual(['name']);
  });

  it('policy max and delta: hi takes the larger value, balance adds the lost change’s difference to the DR’s', async () => {
    const { ledger } = await run(
      {
        schema: [M],
        base: BASE,
        lost: ['UPDATE t.m SET hi = 15, balance = 150.00 WHERE id = 1', 'UPDATE t.m SET hi = 11, balance = 101.50 WHERE id = 2'],
        dr: ["UPDATE t.m SET name = 'D', hi = 12, balance = 90.00 WHERE id = 1", 'UPDATE t.m SET hi = 12, balance = 99.00 WHERE id = 2'],
      },
      config({ tables: { 't.m': { onConflict: { 'update-diverged': { strategy: 'merge', policy: { hi: 'max', balance: 'delta' } } } } } }),
    );
    expect(await m()).toEqual([
      { id: 1, name: 'D', email: 'b@x', hi: 15, balance: '140.00' },
      { id: 2, name: 'b', email: 'b@x', hi: 12, balance: '100.50' },
    ]);
    expect(ledger.map(summary)).toEqual([
      ['t.m', 'update', [1], 'update-diverged', 'merged', null, R],
      ['t.m', 'update', [2], 'update-diverged', 'merged', null, R],
    ]);
  });

  it('policy quarantine: a column changed on both sides holds the change back; the DR row stays, other rows apply', async () => {
    const { ledger } = await run(
      { schema: [M], base: BASE, lost: ["UPDATE t.m SET name = 'L', hi = 15 WHERE id = 1", 'UPDATE t.m SET hi = 11 WHERE id = 2'], dr: ["UPDATE t.m SET name = 'D' WHERE id = 1"] },
      config({ tables: { 't.m': { onConflict: { 'update-diverged': { strategy: 'merge', policy: { name: 'quarantine' } } } } } }),
    );
    expect(await m()).toEqual([
      { id: 1, name: 'D', email: 'b@x', hi: 10, balance: '100.00' },
      { id: 2, name: 'b', email: 'b@x', hi: 11, balance: '100.00' },
    ]);
    expect(ledger.map(summary)).toEqual([
      ['t.m', 'update', [1], 'update-diverged', 'quarantined', null, R],
      ['t.m', 'update', [2], 'clean', 'applied', null, 'built-in.clean'],
    ]);
    expect(ledger[0]!.reason).toBe(`both sides changed name and its policy is quarantine (${R})`);
  });

  it('policy fail: the run stops with RECONCILE_RULE_FAIL and nothing of that window is written', async () => {
    const staged = await stage({
      schema: [M],
      base: BASE,
      lost: ["INSERT INTO t.m VALUES (3, 'new', 'n@x', 1, 1.00)", "UPDATE t.m SET name = 'L' WHERE id = 1"],
      dr: ["UPDATE t.m SET name = 'D' WHERE id = 1"],
    });
    const ledger: LedgerLine[] = [];
    const e = await rejectionOf(salvage(options(staged, config({ tables: { 't.m': { onConflict: { 'update-diverged': { strategy: 'merge', policy: { name: 'fail' } } } } } }), ledger)));
    expect(e).toMatchObject({ code: 'SALVAGE_FAULT', cause: { code: 'RECONCILE_RULE_FAIL', details: { table: 't.m', key: '1' } } });
    expect((e as Error).message).toContain(`t.m 1: both sides changed name — the configuration says stop here (${R}) [RECONCILE_RULE_FAIL]`);
    expect(await m()).toEqual([
      { id: 1, name: 'D', email: 'b@x', hi: 10, balance: '100.00' },
      { id: 2, name: 'b', email: 'b@x', hi: 10, balance: '100.00' },
    ]);
    expect(ledger).toEqual([]);
    expect(await rows('SELECT COUNT(*) AS n FROM salvage.ledger')).toEqual([{ n: '0' }]);
    expect(await rows('SELECT COUNT(*) AS n FROM salvage.checkpoint')).toEqual([{ n: '0' }]);
    expect(await rows('SELECT status FROM salvage.runs')).toEqual([{ status: 'failed' }]);
  });
});

describe('column groups', () => {
  // The lost change moves the address to Side St, Bergen (and sets the note); the DR changed only the city.
  const ADDRESS: Incident = {
    schema: ['CREATE TABLE t.addr (id INT NOT NULL PRIMARY KEY, street VARCHAR(30) NOT NULL, city VARCHAR(30) NOT NULL, note VARCHAR(10) NOT NULL) ENGINE=InnoDB'],
    base: ["INSERT INTO t.addr VALUES (1, 'Main St', 'Oslo', 'b')"],
    lost: ["UPDATE t.addr SET street = 'Side St', city = 'Bergen', note = 'L' WHERE id = 1"],
    dr: ["UPDATE t.addr SET city = 'Trondheim' WHERE id = 1"],
  };

  it.each([
    ['no group: street from the lost change, city from the DR (an address neither side wrote)', {}, { street: 'Side St', city: 'Trondheim' }, ['city']],
    ['grouped: a conflict in the group keeps the DR’s whole address', { groups: [['street', 'city']] }, { street: 'Main St', city: 'Trondheim' }, ['street', 'city']],
    [
      'grouped, the conflict resolved to the source: the lost change’s whole address',
      { groups: [['street', 'city']], onConflict: { 'update-diverged': { strategy: 'merge', bothChanged: 'source' } } },
      { street: 'Side St', city: 'Bergen' },
      [],
    ],
  ])('%s', async (_name, tableRule, address, conflicts) => {
    const { ledger } = await run(ADDRESS, config({ tables: { 't.addr': tableRule } }));
    expect(await rows('SELECT id, street, city, note FROM t.addr')).toEqual([{ id: 1, ...address, note: 'L' }]);
    const path = 'onConflict' in tableRule ? rule('t.addr', 'update-diverged') : 'built-in.update-diverged';
    expect(ledger.map(summary)).toEqual([['t.addr', 'update', [1], 'update-diverged', 'merged', null, path]]);
    expect(ledger[0]!.conflicts ?? []).toEqual(conflicts);
  });
});

describe('column groups changed apart on the two sides', () => {
  // The README's recipe: an order's total and currency are always taken together from one side.
  // The lost change re-priced the total; the DR, after the failover, changed only the currency.
  const ORDER: Incident = {
    schema: ['CREATE TABLE t.orders (id INT NOT NULL PRIMARY KEY, total DECIMAL(10,2) NOT NULL, currency CHAR(3) NOT NULL, note VARCHAR(10) NOT NULL) ENGINE=InnoDB'],
    base: ["INSERT INTO t.orders VALUES (1, 100.00, 'USD', 'b')"],
    lost: ["UPDATE t.orders SET total = 90.00, note = 'L' WHERE id = 1"],
    dr: ["UPDATE t.orders SET currency = 'EUR' WHERE id = 1"],
  };
  const orders = (): Promise<unknown[]> => rows('SELECT id, total, currency, note FROM t.orders');

  it('the default (bothChanged "dr"): the DR’s whole group stays, never the lost total in the DR’s currency', async () => {
    const { ledger } = await run(ORDER, config({ tables: { 't.orders': { groups: [['total', 'currency']] } } }));
    expect(await orders()).toEqual([{ id: 1, total: '100.00', currency: 'EUR', note: 'L' }]);
    expect(ledger.map(summary)).toEqual([['t.orders', 'update', [1], 'update-diverged', 'merged', null, 'built-in.update-diverged']]);
    expect(ledger[0]!.conflicts).toEqual(['total']);
    expect(ledger[0]!.reason).toBe("three-way merge: took note from the lost change; both sides changed the group (total, currency): took the DR's whole group");
  });

  it('bothChanged "source": the lost change’s whole group, its unchanged currency included', async () => {
    const { ledger } = await run(ORDER, config({ tables: { 't.orders': { groups: [['total', 'currency']], onConflict: { 'update-diverged': { strategy: 'merge', bothChanged: 'source' } } } } }));
    expect(await orders()).toEqual([{ id: 1, total: '90.00', currency: 'USD', note: 'L' }]);
    expect(ledger.map(summary)).toEqual([['t.orders', 'update', [1], 'update-diverged', 'merged', null, rule('t.orders', 'update-diverged')]]);
    expect(ledger[0]!.reason).toBe("three-way merge: took total, currency, note from the lost change; both sides changed the group (total, currency): took the lost change's whole group");
  });

  it('bothChanged "quarantine": the group changed on both sides holds the change back; the DR row stays', async () => {
    const { ledger } = await run(ORDER, config({ tables: { 't.orders': { groups: [['total', 'currency']], onConflict: { 'update-diverged': { strategy: 'merge', bothChanged: 'quarantine' } } } } }));
    expect(await orders()).toEqual([{ id: 1, total: '100.00', currency: 'EUR', note: 'b' }]);
    expect(ledger.map(summary)).toEqual([['t.orders', 'update', [1], 'update-diverged', 'quarantined', null, rule('t.orders', 'update-diverged')]]);
  });

  it('an address: the lost street and zip with the DR’s city is no address; the DR’s whole address stays', async () => {
    const { ledger } = await run(
      {
        schema: ['CREATE TABLE t.addr (id INT NOT NULL PRIMARY KEY, street VARCHAR(30) NOT NULL, city VARCHAR(30) NOT NULL, zip VARCHAR(10) NOT NULL) ENGINE=InnoDB'],
        base: ["INSERT INTO t.addr VALUES (1, 'Main St', 'Oslo', '0150')"],
        lost: ["UPDATE t.addr SET street = 'Side St', zip = '0151' WHERE id = 1"],
        dr: ["UPDATE t.addr SET city = 'Bergen' WHERE id = 1"],
      },
      config({ tables: { 't.addr': { groups: [['street', 'city', 'zip']] } } }),
    );
    expect(await rows('SELECT id, street, city, zip FROM t.addr')).toEqual([{ id: 1, street: 'Main St', city: 'Bergen', zip: '0150' }]);
    expect(ledger.map(summary)).toEqual([['t.addr', 'update', [1], 'update-diverged', 'merged', null, 'built-in.update-diverged']]);
    expect(ledger[0]!.conflicts).toEqual(['street', 'zip']);
  });
});

describe('delta on balances and counters', () => {
  // Two sequential lost changes (+10.1234 / +5, then −0.0001 / +7) against the DR's own (+1000.5 / +100); hits starts above 2^53.
  const WALLET: Incident = {
    schema: ['CREATE TABLE t.wallet (id INT NOT NULL PRIMARY KEY, balance DECIMAL(20,4) NOT NULL, hits BIGINT NOT NULL) ENGINE=InnoDB'],
    base: ['INSERT INTO t.wallet VALUES (1, 1000.0000, 9007199254740993)'],
    lost: ['UPDATE t.wallet SET balance = balance + 10.1234, hits = hits + 5 WHERE id = 1', 'UPDATE t.wallet SET balance = balance - 0.0001, hits = hits + 7 WHERE id = 1'],
    dr: ['UPDATE t.wallet SET balance = balance + 1000.5, hits = hits + 100 WHERE id = 1'],
  };

  it.each([
    ['as the class strategy ("delta")', { onConflict: { 'update-diverged': 'delta' } }, rule('t.wallet', 'update-diverged')],
    ['as column rules under the built-in merge', { columns: { balance: 'delta', hits: 'delta' } }, 'built-in.update-diverged'],
  ])('%s: both lost changes compose exactly on DECIMAL and BIGINT', async (_name, tableRule, path) => {
    const { ledger } = await run(WALLET, config({ tables: { 't.wallet': tableRule } }));
    expect(await rows('SELECT id, balance, hits FROM t.wallet')).toEqual([{ id: 1, balance: '2010.6233', hits: '9007199254741105' }]);
    expect(ledger.map(summary)).toEqual([
      ['t.wallet', 'update', [1], 'update-diverged', 'merged', null, path],
      ['t.wallet', 'update', [1], 'update-diverged', 'merged', null, path],
    ]);
  });
});

describe('column rules beat the table rule', () => {
  // Both sides renamed the row and added to bal (DR +5, lost +10); only the lost change re-priced it.
  const PRICED: Incident = {
    schema: ['CREATE TABLE t.p (id INT NOT NULL PRIMARY KEY, name VARCHAR(10) NOT NULL, price INT NOT NULL, bal INT NOT NULL) ENGINE=InnoDB'],
    base: ["INSERT INTO t.p VALUES (1, 'n', 100, 100)"],
    lost: ["UPDATE t.p SET name = 'Lname', price = 90, bal = bal + 10 WHERE id = 1"],
    dr: ["UPDATE t.p SET name = 'Dname', bal = bal + 5 WHERE id = 1"],
  };
  const p = (): Promise<unknown[]> => rows('SELECT id, name, price, bal FROM t.p');
  const R = rule('t.p', 'update-diverged');
  const col = (c: string): string => `tables."t.p".columns.${c}`;

  it('"skip" under the built-in merge: the DR’s price stays though only the lost change changed it', async () => {
    const { ledger } = await run(PRICED, config({ tables: { 't.p': { columns: { price: 'skip' } } } }));
    expect(await p()).toEqual([{ id: 1, name: 'Dname', price: 100, bal: 105 }]);
    expect(ledger.map(summary)).toEqual([['t.p', 'update', [1], 'update-diverged', 'merged', null, 'built-in.update-diverged']]);
    expect(ledger[0]!.conflicts).toEqual(['name', 'bal']);
    expect(ledger[0]!.reason).toBe(`three-way merge: took nothing from the lost change; both sides changed name, bal: kept the DR's; price: the DR's value stays (${col('price')})`);
  });

  it('"skip" under "source": the lost row wins except its price', async () => {
    const { ledger } = await run(PRICED, config({ tables: { 't.p': { columns: { price: 'skip' }, onConflict: { 'update-diverged': 'source' } } } }));
    expect(await p()).toEqual([{ id: 1, name: 'Lname', price: 100, bal: 110 }]);
    expect(ledger.map(summary)).toEqual([['t.p', 'update', [1], 'update-diverged', 'applied', null, R]]);
    expect(ledger[0]!.reason).toBe(`the lost change wins (${R}); price: the DR's value stays (${col('price')})`);
  });

  it('"delta" under "source": the lost row wins and bal adds both sides’ changes (100 + 5 + 10)', async () => {
    const { ledger } = await run(PRICED, config({ tables: { 't.p': { columns: { bal: 'delta' }, onConflict: { 'update-diverged': 'source' } } } }));
    expect(await p()).toEqual([{ id: 1, name: 'Lname', price: 90, bal: 115 }]);
    expect(ledger.map(summary)).toEqual([['t.p', 'update', [1], 'update-diverged', 'applied', null, R]]);
    expect(ledger[0]!.reason).toBe(`the lost change wins (${R}); bal by its column rule delta (${col('bal')})`);
  });

  it('"delta" under "max" when the DR row wins: the DR row stays but for bal, which adds the lost change’s +10', async () => {
    const { ledger } = await run(PRICED, config({ tables: { 't.p': { columns: { bal: 'delta' }, onConflict: { 'update-diverged': { strategy: 'max', column: 'price' } } } } }));
    expect(await p()).toEqual([{ id: 1, name: 'Dname', price: 100, bal: 115 }]);
    expect(ledger.map(summary)).toEqual([['t.p', 'update', [1], 'update-diverged', 'merged', null, R]]);
    expect(ledger[0]!.reason).toBe(`max on price: the DR row wins (${R}); bal by its column rule delta (${col('bal')})`);
  });
});

describe('values the engine computes are checked against the DR column before they are written', () => {
  // The sink's session is not strict: a value that does not fit would be stored clipped, silently.
  const C = 'CREATE TABLE t.c (id INT NOT NULL PRIMARY KEY, amt DECIMAL(5,2) NOT NULL, n TINYINT NOT NULL, u TINYINT UNSIGNED NOT NULL) ENGINE=InnoDB';
  const c = (): Promise<unknown[]> => rows('SELECT id, amt, n, u FROM t.c ORDER BY id');

  it('delta: a sum past DECIMAL(5,2), TINYINT or TINYINT UNSIGNED is quarantined with the table, column and value; one that fits merges', async () => {
    const { ledger } = await run(
      {
        schema: [C],
        base: ['INSERT INTO t.c VALUES (1, 900.00, 100, 10), (2, 900.00, 100, 10), (3, 900.00, 100, 10), (4, 900.00, 100, 10)'],
        lost: ['UPDATE t.c SET amt = amt + 90 WHERE id = 1', 'UPDATE t.c SET n = n + 10 WHERE id = 2', 'UPDATE t.c SET u = u - 8 WHERE id = 3', 'UPDATE t.c SET amt = amt + 49.99, n = n + 7, u = u - 5 WHERE id = 4'],
        dr: ['UPDATE t.c SET amt = amt + 50 WHERE id = 1', 'UPDATE t.c SET n = n + 20 WHERE id = 2', 'UPDATE t.c SET u = u - 5 WHERE id = 3', 'UPDATE t.c SET amt = amt + 50, n = n + 20, u = u - 5 WHERE id = 4'],
      },
      config({ tables: { 't.c': { columns: { amt: 'delta', n: 'delta', u: 'delta' } } } }),
    );
    expect(await c()).toEqual([
      { id: 1, amt: '950.00', n: 100, u: 10 },
      { id: 2, amt: '900.00', n: 120, u: 10 },
      { id: 3, amt: '900.00', n: 100, u: 5 },
      { id: 4, amt: '999.99', n: 127, u: 0 },
    ]);
    const B = 'built-in.update-diverged';
    expect(ledger.map(summary)).toEqual([
      ['t.c', 'update', [1], 'update-diverged', 'quarantined', null, B],
      ['t.c', 'update', [2], 'update-diverged', 'quarantined', null, B],
      ['t.c', 'update', [3], 'update-diverged', 'quarantined', null, B],
      ['t.c', 'update', [4], 'update-diverged', 'merged', null, B],
    ]);
    const col = (name: string): string => `tables."t.c".columns.${name}`;
    expect(ledger.slice(0, 3).map((l) => l.reason)).toEqual([
      `delta: t.c.amt would be 1040.00 (the DR's 950.00 + the lost change's 900.00 → 990.00), which does not fit: the largest decimal(5,2) is ±999.99 (${col('amt')})`,
      `delta: t.c.n would be 130 (the DR's 120 + the lost change's 100 → 110), which does not fit: tinyint(4) holds -128 to 127 (${col('n')})`,
      `delta: t.c.u would be -3 (the DR's 5 + the lost change's 10 → 2), which does not fit: tinyint(3) unsigned holds 0 to 255 (${col('u')})`,
    ]);
  });

  it('delta as the class strategy: the same check', async () => {
    const { ledger } = await run(
      { schema: [C], base: ['INSERT INTO t.c VALUES (1, 900.00, 100, 10)'], lost: ['UPDATE t.c SET amt = amt + 90 WHERE id = 1'], dr: ['UPDATE t.c SET amt = amt + 50 WHERE id = 1'] },
      config({ tables: { 't.c': { onConflict: { 'update-diverged': 'delta' } } } }),
    );
    expect(await c()).toEqual([{ id: 1, amt: '950.00', n: 100, u: 10 }]);
    expect(ledger.map(summary)).toEqual([['t.c', 'update', [1], 'update-diverged', 'quarantined', null, rule('t.c', 'update-diverged')]]);
  });

  it('rewrite-unique: a rewritten value longer than the VARCHAR is quarantined, never stored cut', async () => {
    const R = rule('t.h', 'insert-unique-taken');
    const { ledger } = await run(
      {
        schema: ['CREATE TABLE t.h (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, handle VARCHAR(8) NOT NULL, UNIQUE KEY uk_handle (handle)) ENGINE=InnoDB'],
        lost: ["INSERT INTO t.h (handle) VALUES ('abcdefg')", "INSERT INTO t.h (handle) VALUES ('x')"],
        dr: ["INSERT INTO t.h VALUES (10, 'abcdefg'), (11, 'x')"],
      },
      config({ tables: { 't.h': { onConflict: { 'insert-unique-taken': { strategy: 'rewrite-unique', template: '{value}~{n}' } } } } }),
    );
    expect(await rows('SELECT id, handle FROM t.h ORDER BY id')).toEqual([
      { id: 2, handle: 'x~1' },
      { id: 10, handle: 'abcdefg' },
      { id: 11, handle: 'x' },
    ]);
    expect(ledger.map(summary)).toEqual([
      ['t.h', 'insert', [1], 'insert-unique-taken', 'quarantined', null, R],
      ['t.h', 'insert', [2], 'insert-unique-taken', 'applied', null, R],
    ]);
    expect(ledger[0]!.reason).toBe(`rewrite-unique: t.h.handle "abcdefg" would become "abcdefg~1", which does not fit: varchar(8) holds 8 character(s), the value has 9 (${R})`);
  });
});

describe('remap', () => {
  const CUST = `CREATE TABLE t.cust (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(40) NOT NULL, name VARCHAR(20) NOT NULL,
    UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;
  const ORD = `CREATE TABLE t.ord (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, cust_id INT UNSIGNED NOT NULL, total DECIMAL(10,2) NOT NULL,
    CONSTRAINT fk_cust FOREIGN KEY (cust_id) REFERENCES t.cust (id)) ENGINE=InnoDB`;
  // The lost customer 3 and its order 2 collide with the DR's own; the lost change then renames customer 3.
  const COLLIDING: Incident = {
    schema: [CUST, ORD],
    base: ["INSERT INTO t.cust (id, email, name) VALUES (1, 'ann@x', 'Ann'), (2, 'ben@x', 'Ben')", 'INSERT INTO t.ord (id, cust_id, total) VALUES (1, 1, 10.00)'],
    lost: ["INSERT INTO t.cust (email, name) VALUES ('cy@x', 'Cy')", "UPDATE t.cust SET name = 'Cyril' WHERE id = 3", 'INSERT INTO t.ord (cust_id, total) VALUES (3, 30.00)'],
    dr: ["INSERT INTO t.cust (email, name) VALUES ('dee@x', 'Dee')", 'INSERT INTO t.ord (cust_id, total) VALUES (3, 99.00)'],
  };

  it.each([
    ['auto-increment (the DR’s counter)', undefined, 4, 3],
    ['an offset range', { offset: 1_000_000 }, 1_000_003, 1_000_002],
  ])('remap with %s → the later update lands on the remapped row → the child insert follows it', async (_name, keyAllocation, custKey, ordKey) => {
    const alloc = keyAllocation === undefined ? {} : { keyAllocation };
    const { report, ledger } = await run(COLLIDING, config({ tables: { 't.cust': alloc, 't.ord': alloc } }));
    expect(await rows('SELECT id, email, name FROM t.cust ORDER BY id')).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 2, email: 'ben@x', name: 'Ben' },
      { id: 3, email: 'dee@x', name: 'Dee' },
      { id: custKey, email: 'cy@x', name: 'Cyril' },
    ]);
    expect(await rows('SELECT id, cust_id, total FROM t.ord ORDER BY id')).toEqual([
      { id: 1, cust_id: 1, total: '10.00' },
      { id: 2, cust_id: 3, total: '99.00' },
      { id: ordKey, cust_id: custKey, total: '30.00' },
    ]);
    expect(ledger.map(summary)).toEqual([
      ['t.cust', 'insert', [3], 'insert-pk-taken', 'remapped', [custKey], 'built-in.insert-pk-taken'],
      ['t.cust', 'update', [3], 'clean', 'applied', [custKey], 'built-in.clean'],
      ['t.ord', 'insert', [2], 'insert-pk-taken', 'remapped', [ordKey], 'built-in.insert-pk-taken'],
    ]);
    expect(report.remaps.map((r) => [r.table, r.oldKey, r.newKey])).toEqual([
      ['t.cust', [3], [custKey]],
      ['t.ord', [2], [ordKey]],
    ]);
  });

  it('remap with uuid-v7 on a CHAR(36) key: the lost row gets a fresh UUID v7 and its child follows it', async () => {
    const doc = '00000000-0000-4000-8000-000000000001';
    const { ledger } = await run(
      {
        schema: [
          'CREATE TABLE t.doc (id CHAR(36) NOT NULL PRIMARY KEY, title VARCHAR(20) NOT NULL) ENGINE=InnoDB',
          'CREATE TABLE t.att (id INT NOT NULL PRIMARY KEY, doc_id CHAR(36) NOT NULL, CONSTRAINT fk_doc FOREIGN KEY (doc_id) REFERENCES t.doc (id)) ENGINE=InnoDB',
        ],
        lost: [`INSERT INTO t.doc VALUES ('${doc}', 'lost')`, `INSERT INTO t.att VALUES (1, '${doc}')`],
        dr: [`INSERT INTO t.doc VALUES ('${doc}', 'dr')`],
      },
      config({ tables: { 't.doc': { keyAllocation: 'uuid-v7', onConflict: { 'insert-pk-taken': 'remap' } } } }),
    );
    const fresh = ledger[0]?.newKey?.[0];
    expect(fresh).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await rows('SELECT id, title FROM t.doc ORDER BY title')).toEqual([
      { id: doc, title: 'dr' },
      { id: fresh, title: 'lost' },
    ]);
    expect(await rows('SELECT id, doc_id FROM t.att')).toEqual([{ id: 1, doc_id: fresh }]);
    expect(ledger.map(summary)).toEqual([
      ['t.doc', 'insert', [doc], 'insert-pk-taken', 'remapped', [fresh], rule('t.doc', 'insert-pk-taken')],
      ['t.att', 'insert', [1], 'clean', 'applied', null, 'built-in.clean'],
    ]);
  });
});

describe('keyAllocation uuid-v7 on a key that cannot hold a UUID', () => {
  it('an INT AUTO_INCREMENT key: the insert is quarantined, never written at the id the server makes of the text', async () => {
    // Found by a review: the non-strict session cut "01…-…" to 1, so the lost row landed at id 1
    // (or was rejected there) while the key map recorded the UUID.
    const { ledger } = await run(
      {
        schema: ['CREATE TABLE t.n (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10) NOT NULL) ENGINE=InnoDB'],
        lost: ["INSERT INTO t.n VALUES (5, 'lost')"],
        dr: ["INSERT INTO t.n VALUES (5, 'dr')"],
      },
      config({ tables: { 't.n': { keyAllocation: 'uuid-v7', onConflict: { 'insert-pk-taken': 'remap' } } } }),
    );
    expect(ledger.map(summary)).toEqual([['t.n', 'insert', [5], 'insert-pk-taken', 'quarantined', null, rule('t.n', 'insert-pk-taken')]]);
    expect(ledger[0]!.reason).toBe('remap (uuid-v7): the key id cannot hold a UUID (int(10) unsigned is not a character column); keyAllocation "uuid-v7" is for CHAR(36)/VARCHAR/UUID keys');
    expect(await rows('SELECT id, v FROM t.n ORDER BY id')).toEqual([{ id: 5, v: 'dr' }]);
  });
});

describe('link', () => {
  const CUST = `CREATE TABLE t.cust (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(40) NOT NULL, name VARCHAR(20) NOT NULL, phone VARCHAR(20) NULL,
    UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;
  const ORD = `CREATE TABLE t.ord (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, cust_id INT UNSIGNED NOT NULL, total DECIMAL(10,2) NOT NULL,
    CONSTRAINT fk_cust FOREIGN KEY (cust_id) REFERENCES t.cust (id)) ENGINE=InnoDB`;
  const BASE = ["INSERT INTO t.cust (id, email, name) VALUES (1, 'ann@x', 'Ann'), (2, 'ben@x', 'Ben')", 'INSERT INTO t.ord (id, cust_id, total) VALUES (1, 1, 10.00)'];
  const cust = (): Promise<unknown[]> => rows('SELECT id, email, name, phone FROM t.cust ORDER BY id');
  const ord = (): Promise<unknown[]> => rows('SELECT id, cust_id, total FROM t.ord ORDER BY id');

  it('insert-unique-taken → link by the clashing unique key: the later update lands on the DR row, the child follows the key map', async () => {
    const { ledger } = await run(
      {
        schema: [CUST, ORD],
        base: BASE,
        // The DR created eve itself, at id 10; the lost eve got id 3.
        lost: ["INSERT INTO t.cust (email, name) VALUES ('eve@x', 'Eve')", "UPDATE t.cust SET phone = '555' WHERE id = 3", 'INSERT INTO t.ord (cust_id, total) VALUES (3, 5.00)'],
        dr: ["INSERT INTO t.cust (id, email, name) VALUES (10, 'eve@x', 'Eve')"],
      },
      config({ tables: { 't.cust': { onConflict: { 'insert-unique-taken': { strategy: 'link', naturalKey: ['email'] } } } } }),
    );
    expect(await cust()).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann', phone: null },
      { id: 2, email: 'ben@x', name: 'Ben', phone: null },
      { id: 10, email: 'eve@x', name: 'Eve', phone: '555' },
    ]);
    expect(await ord()).toEqual([
      { id: 1, cust_id: 1, total: '10.00' },
      { id: 2, cust_id: 10, total: '5.00' },
    ]);
    expect(ledger.map(summary)).toEqual([
      ['t.cust', 'insert', [3], 'insert-unique-taken', 'merged', [10], rule('t.cust', 'insert-unique-taken')],
      ['t.cust', 'update', [3], 'clean', 'applied', [10], 'built-in.clean'],
      ['t.ord', 'insert', [2], 'clean', 'applied', null, 'built-in.clean'],
    ]);
    expect(ledger[0]!.reason).toMatch(/^linked to the DR's 10 by natural key \(email\); /);
    expect(await rows('SELECT table_name, old_key, new_key FROM salvage.key_map')).toEqual([{ table_name: 't.cust', old_key: '[3]', new_key: '[10]' }]);
  });

  // The DR gave id 3 to gus and created fay itself at id 4; the lost fay got id 3.
  const PK_TAKEN: Incident = {
    schema: [CUST, ORD],
    base: BASE,
    lost: ["INSERT INTO t.cust (email, name) VALUES ('fay@x', 'Fay')", "UPDATE t.cust SET phone = '777' WHERE id = 3", 'INSERT INTO t.ord (cust_id, total) VALUES (3, 7.00)'],
    dr: ["INSERT INTO t.cust (email, name) VALUES ('gus@x', 'Gus')", "INSERT INTO t.cust (email, name) VALUES ('fay@x', 'Fay')"],
  };
  const linkedByNaturalKey = async (ledger: LedgerLine[]): Promise<void> => {
    expect(await cust()).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann', phone: null },
      { id: 2, email: 'ben@x', name: 'Ben', phone: null },
      { id: 3, email: 'gus@x', name: 'Gus', phone: null },
      { id: 4, email: 'fay@x', name: 'Fay', phone: '777' },
    ]);
    expect(await ord()).toEqual([
      { id: 1, cust_id: 1, total: '10.00' },
      { id: 2, cust_id: 4, total: '7.00' },
    ]);
    expect(ledger.map(summary)).toEqual([
      ['t.cust', 'insert', [3], 'insert-pk-taken', 'merged', [4], rule('t.cust', 'insert-pk-taken')],
      ['t.cust', 'update', [3], 'clean', 'applied', [4], 'built-in.clean'],
      ['t.ord', 'insert', [2], 'clean', 'applied', null, 'built-in.clean'],
    ]);
    expect(ledger[0]!.reason).toMatch(/^linked to the DR's 4 by natural key \(email\); /);
  };

  it('insert-pk-taken → link by the table’s naturalKey: the same record at another id', async () => {
    const { ledger } = await run(PK_TAKEN, config({ tables: { 't.cust': { naturalKey: ['email'], onConflict: { 'insert-pk-taken': 'link' } } } }));
    await linkedByNaturalKey(ledger);
  });

  // ENGINE BUG: the strategy's own "naturalKey" (accepted by the schema and kept by normalise as
  // Strategy.naturalKey) is ignored: Reconciler.#link (src/reconcile/reconciler.ts) reads only the
  // table rule's naturalKey, finds none, and on insert-pk-taken falls back to remap, which finds
  // fay@x taken. Actual: the insert is insert-unique-taken/quarantined (rule
  // tables."t.cust".onConflict.insert-pk-taken), its update row-quarantined, its order
  // parent-missing/quarantined; the DR's fay (id 4) never gets phone 777 nor the order.
  it('insert-pk-taken → link with the naturalKey given in the strategy itself', async () => {
    const { ledger } = await run(PK_TAKEN, config({ tables: { 't.cust': { onConflict: { 'insert-pk-taken': { strategy: 'link', naturalKey: ['email'] } } } } }));
    await linkedByNaturalKey(ledger);
  });
});

describe('rewrite-unique', () => {
  const USERS = `CREATE TABLE t.users (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(60) NOT NULL, handle VARCHAR(20) NULL,
    UNIQUE KEY uk_email (email), UNIQUE KEY uk_handle (handle)) ENGINE=InnoDB`;
  const users = (): Promise<unknown[]> => rows('SELECT id, email, handle FROM t.users ORDER BY id');
  const R = rule('t.users', 'insert-unique-taken');

  it('template "{value}~salvaged-{n}": both rows kept, the lost one’s email rewritten for review', async () => {
    const { ledger } = await run(
      {
        schema: [USERS],
        base: ["INSERT INTO t.users VALUES (1, 'ann@x', 'ann')"],
        lost: ["INSERT INTO t.users (email, handle) VALUES ('zed@x', 'zed2')"],
        dr: ["INSERT INTO t.users VALUES (10, 'zed@x', 'zed')"],
      },
      config({ tables: { 't.users': { onConflict: { 'insert-unique-taken': { strategy: 'rewrite-unique', template: '{value}~salvaged-{n}' } } } } }),
    );
    expect(await users()).toEqual([
      { id: 1, email: 'ann@x', handle: 'ann' },
      { id: 2, email: 'zed@x~salvaged-1', handle: 'zed2' },
      { id: 10, email: 'zed@x', handle: 'zed' },
    ]);
    expect(ledger.map(summary)).toEqual([['t.users', 'insert', [2], 'insert-unique-taken', 'applied', null, R]]);
    expect(ledger[0]!.reason).toBe(`unique value rewritten for review: email "zed@x" → "zed@x~salvaged-1" (${R})`);
  });

  // Found here: a rewritten value used to be checked only against the rows the window had read.
  it('{n} counts past a rewritten value the DR already holds', async () => {
    const { ledger } = await run(
      {
        schema: [USERS],
        lost: ["INSERT INTO t.users (email) VALUES ('zed@x')"],
        dr: ["INSERT INTO t.users VALUES (10, 'zed@x', NULL), (11, 'zed@x~salvaged-1', NULL)"],
      },
      config({ tables: { 't.users': { onConflict: { 'insert-unique-taken': { strategy: 'rewrite-unique' } } } } }),
    );
    expect(await users()).toEqual([
      { id: 1, email: 'zed@x~salvaged-2', handle: null },
      { id: 10, email: 'zed@x', handle: null },
      { id: 11, email: 'zed@x~salvaged-1', handle: null },
    ]);
    expect(ledger.map(summary)).toEqual([['t.users', 'insert', [1], 'insert-unique-taken', 'applied', null, R]]);
  });

  // A lost user whose AUTO_INCREMENT id the DR gave a user of its own, and whose e-mail another DR
  // user holds: the built-in remap re-keys it, meets the holder, and hands it to this rule
  // (reconciler.ts #uniqueAfterRemap), which keeps the fresh id and rewrites the e-mail.
  it('after a re-key: the lost row keeps its fresh id and gets a rewritten value (remapped; the rule path names both rules)', async () => {
    const { ledger } = await run(
      {
        schema: [USERS],
        base: ["INSERT INTO t.users VALUES (1, 'ann@x', NULL)"],
        lost: ["INSERT INTO t.users (email) VALUES ('zed@x')"],
        dr: ["INSERT INTO t.users (email) VALUES ('eve@x')", "INSERT INTO t.users VALUES (10, 'ZED@x', NULL)"],
      },
      config({ tables: { 't.users': { onConflict: { 'insert-unique-taken': { strategy: 'rewrite-unique' } } } } }),
    );
    expect(await users()).toEqual([
      { id: 1, email: 'ann@x', handle: null },
      { id: 2, email: 'eve@x', handle: null },
      { id: 10, email: 'ZED@x', handle: null },
      { id: 11, email: 'zed@x~salvaged-1', handle: null },
    ]);
    expect(ledger.map(summary)).toEqual([['t.users', 'insert', [2], 'insert-unique-taken', 'remapped', [11], `built-in.insert-pk-taken → remap; ${R} → rewrite-unique`]]);
    expect(ledger[0]!.reason).toBe(`the DR gave id 2 to a different record: re-keyed to 11 in t.users, and another DR row holds unique key uk_email; unique value rewritten for review: email "zed@x" → "zed@x~salvaged-1" (${R})`);
    expect([ledger[0]!.dr, ledger[0]!.other]).toEqual([{ id: 2, email: 'eve@x', handle: null }, { id: 10, email: 'ZED@x', handle: null }]);
  });

  const HANDLE_TAKEN: Incident = {
    schema: [USERS],
    lost: ["INSERT INTO t.users (email, handle) VALUES ('new@x', 'zed')"],
    dr: ["INSERT INTO t.users VALUES (10, 'zed@x', 'zed')"],
  };
  const handleNulled = async (ledger: LedgerLine[]): Promise<void> => {
    expect(await users()).toEqual([
      { id: 1, email: 'new@x', handle: null },
      { id: 10, email: 'zed@x', handle: 'zed' },
    ]);
    expect(ledger.map(summary)).toEqual([['t.users', 'insert', [1], 'insert-unique-taken', 'applied', null, R]]);
    expect(ledger[0]!.reason).toBe(`unique value rewritten for review: handle → NULL (${R})`);
  };

  it('"null" on a nullable unique column (the engine, given the normalised strategy): the lost row keeps no handle', async () => {
    const base = config({ tables: { 't.users': { onConflict: { 'insert-unique-taken': 'rewrite-unique' } } } });
    const cfg: NormalisedConfig = { ...base, tables: base.tables.map((t) => ({ ...t, onConflict: { 'insert-unique-taken': { strategy: 'rewrite-unique', template: 'null' } } })) };
    const { ledger } = await run(HANDLE_TAKEN, cfg);
    await handleNulled(ledger);
  });

  // CONFIG BUG: src/config/schema.ts requires every template to contain "{value}", so the "null"
  // template the engine supports (Reconciler.#rewriteUnique) cannot be written in a configuration:
  // parseConfig fails with `the template must contain "{value}"` at
  // tables."t.users".onConflict.insert-unique-taken.template.
  it('"null" on a nullable unique column, as a user writes it', async () => {
    const { ledger } = await run(HANDLE_TAKEN, config({ tables: { 't.users': { onConflict: { 'insert-unique-taken': { strategy: 'rewrite-unique', template: 'null' } } } } }));
    await handleNulled(ledger);
  });
});

describe('precedence and rule paths', () => {
  const P = (name: string): string => `CREATE TABLE ${name} (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(10) NOT NULL, n INT NOT NULL DEFAULT 0) ENGINE=InnoDB`;

  it('an exact table rule beats a glob (even one written later), a glob beats the defaults, the defaults beat the built-in', async () => {
    const tables = ['t.a', 't.b', 'u.c'];
    const { ledger } = await run(
      {
        schema: tables.map(P),
        base: tables.map((t) => `INSERT INTO ${t} (id, name) VALUES (1, 'b')`),
        lost: [...tables.map((t) => `UPDATE ${t} SET name = 'L' WHERE id = 1`), "INSERT INTO t.b (name) VALUES ('lost2')"],
        dr: [...tables.map((t) => `UPDATE ${t} SET name = 'D', n = 7 WHERE id = 1`), "INSERT INTO t.b (name) VALUES ('dr2')"],
      },
      config({
        defaults: { onConflict: { 'update-diverged': { strategy: 'merge', bothChanged: 'source' } } },
        tables: {
          't.a': { onConflict: { 'update-diverged': 'skip' } },
          't.*': { onConflict: { 'update-diverged': 'source' } },
        },
      }),
    );
    expect(await rows('SELECT id, name, n FROM t.a')).toEqual([{ id: 1, name: 'D', n: 7 }]);
    expect(await rows('SELECT id, name, n FROM t.b ORDER BY id')).toEqual([
      { id: 1, name: 'L', n: 0 },
      { id: 2, name: 'dr2', n: 0 },
      { id: 3, name: 'lost2', n: 0 },
    ]);
    expect(await rows('SELECT id, name, n FROM u.c')).toEqual([{ id: 1, name: 'L', n: 7 }]);
    expect(ledger.map(summary)).toEqual([
      ['t.a', 'update', [1], 'update-diverged', 'skipped', null, 'tables."t.a".onConflict.update-diverged'],
      ['t.b', 'update', [1], 'update-diverged', 'applied', null, 'tables."t.*".onConflict.update-diverged'],
      ['u.c', 'update', [1], 'update-diverged', 'merged', null, 'defaults.onConflict.update-diverged'],
      ['t.b', 'insert', [2], 'insert-pk-taken', 'remapped', [3], 'built-in.insert-pk-taken'],
    ]);
  });
});

describe('ignoreColumns', () => {
  // The DR only touched updated_at; the lost change renamed the row (and the primary's clock set updated_at).
  const STAMPED: Incident = {
    schema: ['CREATE TABLE t.ts (id INT NOT NULL PRIMARY KEY, name VARCHAR(10) NOT NULL, updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP) ENGINE=InnoDB'],
    base: ["INSERT INTO t.ts VALUES (1, 'b', FROM_UNIXTIME(1704067200))"],
    lost: ['SET timestamp = 1714521600', "UPDATE t.ts SET name = 'L' WHERE id = 1", 'SET timestamp = DEFAULT'],
    dr: ['UPDATE t.ts SET updated_at = FROM_UNIXTIME(1720000000) WHERE id = 1'],
  };
  const stamped = (): Promise<unknown[]> => rows('SELECT id, name, UNIX_TIMESTAMP(updated_at) AS ts FROM t.ts');

  it('an ON UPDATE CURRENT_TIMESTAMP difference alone does not make the update diverged: it applies clean', async () => {
    const { ledger } = await run(STAMPED, config({ ignoreColumns: ['updated_at'] }));
    expect(await stamped()).toEqual([{ id: 1, name: 'L', ts: '1714521600' }]);
    expect(ledger.map(summary)).toEqual([['t.ts', 'update', [1], 'clean', 'applied', null, 'built-in.clean']]);
  });

  it('db.table.column form, and without it the same change is update-diverged', async () => {
    const { ledger } = await run(STAMPED, config({ ignoreColumns: ['t.other.updated_at'] }));
    expect(ledger.map(summary)).toEqual([['t.ts', 'update', [1], 'update-diverged', 'merged', null, 'built-in.update-diverged']]);
    expect(ledger[0]!.conflicts).toEqual(['updated_at']);
    const again = await run(STAMPED, config({ ignoreColumns: ['t.ts.updated_at'] }));
    expect(again.ledger.map(summary)).toEqual([['t.ts', 'update', [1], 'clean', 'applied', null, 'built-in.clean']]);
  });

  // SINK BUG: the merge keeps the DR's updated_at (the ledger says so: conflicts ["updated_at"]), but
  // the UPDATE the sink writes (src/db/row-writer.ts, via src/sink/execute-writes.ts) sets only
  // `name`, so the DR's ON UPDATE CURRENT_TIMESTAMP replaces the kept value with the DR's clock at
  // salvage time. Expected ts 1720000000; actual: the wall-clock time of the run. Setting such a
  // column to itself (`updated_at = updated_at`) in every UPDATE that leaves it out keeps it.
  it('a merge that keeps the DR’s ON UPDATE CURRENT_TIMESTAMP value really keeps it', async () => {
    await run(STAMPED, undefined);
    expect(await stamped()).toEqual([{ id: 1, name: 'L', ts: '1720000000' }]);
  });
});

describe('escalation', () => {
  const TWO = ['t.a', 't.b'].map((n) => `CREATE TABLE ${n} (id INT UNSIGNED NOT NULL PRIMARY KEY, name VARCHAR(10) NOT NULL) ENGINE=InnoDB`);
  const BASE = ["INSERT INTO t.a VALUES (1, 'b'), (2, 'b')", "INSERT INTO t.b VALUES (1, 'b')"];
  // Rows 1 and 2 of t.a are gone from the DR: their lost updates are update-missing (quarantined by default).
  const DR_DELETED = ['DELETE FROM t.a WHERE id IN (1, 2)'];

  // Found by a review: with the default window the changes after the one that passed the limit were applied.
  for (const w of [{ title: 'one-transaction windows', extra: { windowTransactions: 1 } }, { title: 'the default window', extra: {} }]) {
    it(`stop, ${w.title}: what comes before the change that passes maxQuarantined (it included) commits, then SALVAGE_ESCALATION; plan decides alike`, async () => {
      const staged = await stage({
        schema: TWO,
        base: BASE,
        lost: ["UPDATE t.a SET name = 'L' WHERE id = 1", "INSERT INTO t.b VALUES (5, 'five')", "UPDATE t.a SET name = 'L' WHERE id = 2", "INSERT INTO t.b VALUES (6, 'six')"],
        dr: DR_DELETED,
      });
      const stop = config({ escalation: { maxQuarantined: 1, action: 'stop' } });
      const planned: LedgerLine[] = [];
      expect(await rejectionOf(salvage(options(staged, stop, planned, { ...w.extra, mode: 'plan' })))).toMatchObject({ code: 'SALVAGE_ESCALATION' });
      const ledger: LedgerLine[] = [];
      const e = await rejectionOf(salvage(options(staged, stop, ledger, w.extra)));
      expect(e).toMatchObject({ code: 'SALVAGE_ESCALATION', details: { option: 'escalation.maxQuarantined' } });
      expect((e as Error).message).toMatch(/^2 changes quarantined, more than escalation\.maxQuarantined \(1\): stopped; review them \(salvage quarantine list\) or raise the limit; committed through [^:]+:\d+; run the same apply again/);
      expect(await rows('SELECT id, name FROM t.b ORDER BY id')).toEqual([
        { id: 1, name: 'b' },
        { id: 5, name: 'five' },
      ]);
      expect(ledger.map(summary)).toEqual([
        ['t.a', 'update', [1], 'update-missing', 'quarantined', null, 'built-in.update-missing'],
        ['t.b', 'insert', [5], 'clean', 'applied', null, 'built-in.clean'],
        ['t.a', 'update', [2], 'update-missing', 'quarantined', null, 'built-in.update-missing'],
      ]);
      expect(planned).toEqual(ledger);
      expect(await rows('SELECT table_name, class, outcome FROM salvage.ledger ORDER BY seq')).toEqual(ledger.map((l) => ({ table_name: l.table, class: l.class, outcome: l.outcome })));
    });
  }

  it('stop cutting a window after a remap: plan keeps what its earlier windows decided, and its ledger and --sql are apply’s', async () => {
    // Found by a review: plan's cut rolled the reconciler back to a blank overlay, so the cut window
    // was decided again against the DR as it was before the plan's earlier windows (which plan does
    // not write): the update of the remapped row met no row, the insert at a key window 1 freed met
    // the deleted row.
    const incident: Incident = {
      schema: [ACCT],
      base: ["INSERT INTO t.acct (id, name) VALUES (1, 'base'), (2, 'base')"],
      lost: [
        // Window 1: id 3 is the DR's own, so the lost row is remapped (to 5, above the DR's AUTO_INCREMENT); row 1 is updated, then deleted.
        "INSERT INTO t.acct (name) VALUES ('lost3')",
        'UPDATE t.acct SET n = 1 WHERE id = 1',
        'DELETE FROM t.acct WHERE id = 1',
        'UPDATE t.acct SET n = 2 WHERE id = 3',
        // Window 2, cut after its third transaction (the first quarantined change passes maxQuarantined 0).
        'UPDATE t.acct SET n = 5 WHERE id = 3',
        "INSERT INTO t.acct (id, name) VALUES (1, 'again')",
        "UPDATE t.acct SET name = 'L' WHERE id = 2",
        "INSERT INTO t.acct (name) VALUES ('lost4')",
      ],
      dr: ["INSERT INTO t.acct (name) VALUES ('dr3')", 'DELETE FROM t.acct WHERE id = 2'],
    };
    const stop = config({ escalation: { maxQuarantined: 0, action: 'stop' } });
    const extra: Partial<SalvageOptions> = { windowTransactions: 4 };

    const staged = await stage(incident);
    const planned: LedgerLine[] = [];
    const statements: string[] = [];
    expect(await rejectionOf(salvage(options(staged, stop, planned, { ...extra, mode: 'plan', onSql: (s) => statements.push(s) })))).toMatchObject({ code: 'SALVAGE_ESCALATION' });
    const ledger: LedgerLine[] = [];
    expect(await rejectionOf(salvage(options(staged, stop, ledger, extra)))).toMatchObject({ code: 'SALVAGE_ESCALATION' });
    const key = 'built-in.clean';
    expect(ledger.map(summary)).toEqual([
      ['t.acct', 'insert', [3], 'insert-pk-taken', 'remapped', [5], 'built-in.insert-pk-taken'],
      ['t.acct', 'update', [1], 'clean', 'applied', null, key],
      ['t.acct', 'delete', [1], 'clean', 'applied', null, key],
      ['t.acct', 'update', [3], 'clean', 'applied', [5], key],
      ['t.acct', 'update', [3], 'clean', 'applied', [5], key],
      ['t.acct', 'insert', [1], 'clean', 'applied', null, key],
      ['t.acct', 'update', [2], 'update-missing', 'quarantined', null, 'built-in.update-missing'],
    ]);
    const applied = await acct();
    expect(applied).toEqual([
      { id: 1, name: 'again', n: 0 },
      { id: 3, name: 'dr3', n: 0 },
      { id: 5, name: 'lost3', n: 5 },
    ]);
    expect(planned).toEqual(ledger);
    // plan --sql, run by hand on the DR as plan found it, writes what apply wrote.
    await stage(incident);
    const session = await openSession(dr.target);
    try {
      for (const s of statements) await session.query(s);
    } finally {
      await session.end();
    }
    expect(await acct()).toEqual(applied);
  });

  it('suspend-table: once a table’s quarantine passes maxQuarantined, its later changes are quarantined as table-suspended; other tables go on', async () => {
    const { report, ledger } = await run(
      {
        schema: TWO,
        base: BASE,
        lost: ["UPDATE t.a SET name = 'L' WHERE id = 1", "UPDATE t.a SET name = 'L' WHERE id = 2", "INSERT INTO t.a VALUES (7, 'seven')", "INSERT INTO t.b VALUES (7, 'seven')"],
        dr: DR_DELETED,
      },
      config({ escalation: { maxQuarantined: 1, action: 'suspend-table' } }),
      { windowTransactions: 1 },
    );
    expect(await rows('SELECT id, name FROM t.a')).toEqual([]);
    expect(await rows('SELECT id, name FROM t.b ORDER BY id')).toEqual([
      { id: 1, name: 'b' },
      { id: 7, name: 'seven' },
    ]);
    expect(ledger.map(summary)).toEqual([
      ['t.a', 'update', [1], 'update-missing', 'quarantined', null, 'built-in.update-missing'],
      ['t.a', 'update', [2], 'update-missing', 'quarantined', null, 'built-in.update-missing'],
      ['t.a', 'insert', [7], 'table-suspended', 'quarantined', null, null],
      ['t.b', 'insert', [7], 'clean', 'applied', null, 'built-in.clean'],
    ]);
    expect(ledger[2]!.reason).toBe('t.a is suspended: its quarantine passed escalation.maxQuarantined');
    expect(report.quarantined).toBe(3);
  });

  it('suspend-table acts at the change that passes the limit, not at the end of its window: one window decides as one-transaction windows do', async () => {
    // Found by a review: with the default window the later clean insert of the suspended t.a was applied.
    const { ledger } = await run(
      {
        schema: TWO,
        base: BASE,
        lost: ["UPDATE t.a SET name = 'L' WHERE id = 1", "UPDATE t.a SET name = 'L' WHERE id = 2", "INSERT INTO t.a VALUES (7, 'seven')", "INSERT INTO t.b VALUES (7, 'seven')"],
        dr: DR_DELETED,
      },
      config({ escalation: { maxQuarantined: 1, action: 'suspend-table' } }),
    );
    expect(await rows('SELECT id, name FROM t.a')).toEqual([]);
    expect(ledger.map(summary)).toEqual([
      ['t.a', 'update', [1], 'update-missing', 'quarantined', null, 'built-in.update-missing'],
      ['t.a', 'update', [2], 'update-missing', 'quarantined', null, 'built-in.update-missing'],
      ['t.a', 'insert', [7], 'table-suspended', 'quarantined', null, null],
      ['t.b', 'insert', [7], 'clean', 'applied', null, 'built-in.clean'],
    ]);
  });
});
