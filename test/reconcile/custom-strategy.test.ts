/**
 * Custom strategies on real servers: the library call's `strategies`, and `salvage apply --config
 * rules.mjs` in process (the .mjs exports the configuration with its functions). The DR's exact
 * rows and the ledger's rule paths (`… → custom NAME → strategy`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSalvageCommand, type SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { salvage } from '../../src/pipeline/salvage.js';
import type { CustomStrategyContext } from '../../src/reconcile/custom-strategy.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { Capture } from '../harness/capture.js';
import { config, stageIncident, type Incident } from '../harness/incident-pair.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

let primary: MariadbServer;
let dr: MariadbServer;
let dir: string;

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'custom-primary' }), startMariadb({ name: 'custom-dr', serverId: 2 })]);
  dir = await mkdtemp(join(tmpdir(), 'salvage-custom-'));
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const ENV: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };

// Row 1: a VIP on the DR (the DR's change wins); row 2: an ordinary account (the lost change wins, its
// name kept from the DR and its balance added up by hand in the function); row 3: held for review.
const ACCOUNTS: Incident = {
  schema: ['CREATE TABLE t.acct (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) NOT NULL, tier VARCHAR(8) NOT NULL, balance DECIMAL(10,2) NOT NULL) ENGINE=InnoDB'],
  base: ["INSERT INTO t.acct VALUES (1, 'Ann', 'basic', 10.00), (2, 'Ben', 'basic', 10.00), (3, 'Cy', 'basic', 10.00)"],
  lost: ['UPDATE t.acct SET balance = 15.00 WHERE id = 1', "UPDATE t.acct SET name = 'Benjamin', balance = 12.50 WHERE id = 2", 'UPDATE t.acct SET balance = 0.00 WHERE id = 3'],
  dr: ["UPDATE t.acct SET tier = 'vip', balance = 20.00 WHERE id = 1", "UPDATE t.acct SET name = 'Benny', balance = 11.00 WHERE id = 2", "UPDATE t.acct SET tier = 'closed' WHERE id = 3"],
};
const RULE = 'tables."t.acct".onConflict.update-diverged';
const CUSTOM = { tables: { 't.acct': { onConflict: { 'update-diverged': { strategy: 'custom', name: 'byTier' } } } } };

/** Keeps the DR's VIPs, holds closed accounts for review, else the lost change with the DR's name and both balance changes. */
function byTier(c: CustomStrategyContext): unknown {
  if (c.dr?.['tier'] === 'vip') return 'skip';
  if (c.dr?.['tier'] === 'closed') return { strategy: 'quarantine', reason: 'closed on the DR' };
  const cents = (v: unknown): number => Math.round(Number(v) * 100);
  const balance = (cents(c.dr?.['balance']) + cents(c.after?.['balance']) - cents(c.before?.['balance'])) / 100;
  return { strategy: 'source', row: { name: c.dr?.['name'] ?? null, balance: balance.toFixed(2) } };
}

const EXPECTED_ROWS = [
  { id: 1, name: 'Ann', tier: 'vip', balance: '20.00' },
  { id: 2, name: 'Benny', tier: 'basic', balance: '13.50' },
  { id: 3, name: 'Cy', tier: 'closed', balance: '10.00' },
];

async function rows(): Promise<unknown[]> {
  return (await dr.query('SELECT id, name, tier, balance FROM t.acct ORDER BY id')) as unknown[];
}

describe('custom strategies on a real DR', () => {
  it('the library call: strategies by name, each decision carried out and recorded with the path it took', async () => {
    const staged = await stageIncident(primary, dr, ACCOUNTS, ['t']);
    const ledger: LedgerLine[] = [];
    await salvage({
      mode: 'apply',
      binlogs: staged.files,
      target: dr.target,
      start: { kind: 'from-gtid', set: staged.start },
      config: config(CUSTOM),
      strategies: { byTier: byTier as never },
      onLedger: (l) => ledger.push(l),
    });
    expect(await rows()).toEqual(EXPECTED_ROWS);
    expect(ledger.map((l) => [l.key, l.class, l.outcome, l.rule, l.reason])).toEqual([
      [[1], 'update-diverged', 'skipped', `${RULE} → custom byTier → skip`, `the DR keeps its row (${RULE} → custom byTier → skip)`],
      [[2], 'update-diverged', 'applied', `${RULE} → custom byTier → source`, `custom byTier edited name, balance; the lost change wins (${RULE} → custom byTier → source)`],
      [[3], 'update-diverged', 'quarantined', `${RULE} → custom byTier → quarantine`, `closed on the DR (${RULE} → custom byTier → quarantine)`],
    ]);
    expect(await dr.query('SELECT rule_path FROM salvage.ledger ORDER BY seq')).toEqual(ledger.map((l) => ({ rule_path: l.rule })));
  });

  it('salvage apply --config rules.mjs: the same from a module exporting the configuration and its functions', async () => {
    const staged = await stageIncident(primary, dr, ACCOUNTS, ['t']);
    const rules = join(dir, 'rules.mjs');
    await writeFile(rules, `export default { ...${JSON.stringify(CUSTOM)}, strategies: { byTier: ${byTier.toString()} } };\n`);
    const err = new Capture();
    const code = await runSalvageCommand('apply', ['--binlog', ...staged.files, '--target', dr.url, '--from-gtid', staged.start, '--config', rules, '--quiet'], new Capture(), err, ENV);
    expect({ code, stderr: err.text }).toEqual({ code: 3, stderr: '' });
    expect(await rows()).toEqual(EXPECTED_ROWS);
  });

  it('a value the function made up that the DR column cannot hold is quarantined, never stored clipped', async () => {
    const staged = await stageIncident(primary, dr, ACCOUNTS, ['t']);
    const ledger: LedgerLine[] = [];
    // Row 2's tier edited past VARCHAR(8); rows 1 and 3 as byTier decides them.
    const overflowing = (c: CustomStrategyContext): unknown => (c.key?.[0] === 2 ? { strategy: 'source', row: { tier: 'platinum+' } } : byTier(c));
    await salvage({
      mode: 'apply',
      binlogs: staged.files,
      target: dr.target,
      start: { kind: 'from-gtid', set: staged.start },
      config: config(CUSTOM),
      strategies: { byTier: overflowing as never },
      onLedger: (l) => ledger.push(l),
    });
    expect(await rows()).toEqual([
      { id: 1, name: 'Ann', tier: 'vip', balance: '20.00' },
      { id: 2, name: 'Benny', tier: 'basic', balance: '11.00' },
      { id: 3, name: 'Cy', tier: 'closed', balance: '10.00' },
    ]);
    const path = `${RULE} → custom byTier → source`;
    expect(ledger.map((l) => [l.key, l.class, l.outcome, l.rule])).toEqual([
      [[1], 'update-diverged', 'skipped', `${RULE} → custom byTier → skip`],
      [[2], 'update-diverged', 'quarantined', path],
      [[3], 'update-diverged', 'quarantined', `${RULE} → custom byTier → quarantine`],
    ]);
    expect(ledger[1]!.reason).toBe(`custom byTier: t.acct.tier edited to "platinum+", which does not fit: varchar(8) holds 8 character(s), the value has 9 (${path})`);
  });

  it('a function that throws stops the run: nothing of the window is written, the error names the rule and the change', async () => {
    const staged = await stageIncident(primary, dr, ACCOUNTS, ['t']);
    const e = await salvage({
      mode: 'apply',
      binlogs: staged.files,
      target: dr.target,
      start: { kind: 'from-gtid', set: staged.start },
      config: config(CUSTOM),
      strategies: {
        byTier: () => {
          throw new Error('tier service down');
        },
      },
    }).then(
      () => null,
      (x: unknown) => x,
    );
    expect(e).toMatchObject({ code: 'SALVAGE_FAULT', cause: { code: 'RECONCILE_CUSTOM_THREW' } });
    expect((e as Error).message).toMatch(/^custom strategy "byTier" \(tables\."t\.acct"\.onConflict\.update-diverged\) on t\.acct 1 \(update at 0-1-\d+#0\) threw: tier service down \[RECONCILE_CUSTOM_THREW\]; /);
    expect(await rows()).toEqual([
      { id: 1, name: 'Ann', tier: 'vip', balance: '20.00' },
      { id: 2, name: 'Benny', tier: 'basic', balance: '11.00' },
      { id: 3, name: 'Cy', tier: 'closed', balance: '10.00' },
    ]);
  });
});
