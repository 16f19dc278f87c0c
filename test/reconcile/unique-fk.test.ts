/**
 * Children that reference their parent by a unique key (not the primary key): when the lost parent
 * cannot be written as it was (its unique value is another DR record's), the lost child must not be
 * written pointing at that DR record.
 */
import { describe, expect, it } from 'vitest';
import { readQuarantine } from '../../src/pipeline/resolve.js';
import { salvage } from '../../src/pipeline/salvage.js';
import { config, stageIncident, useServerPair } from '../harness/incident-pair.js';

const servers = useServerPair('unique-fk');

const SCHEMA = [
  'CREATE TABLE u.cust (id INT AUTO_INCREMENT PRIMARY KEY, code VARCHAR(20) NOT NULL, name VARCHAR(20) NOT NULL, UNIQUE KEY uk_code (code)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci',
  'CREATE TABLE u.ord (id INT PRIMARY KEY, cust_code VARCHAR(20) NOT NULL, FOREIGN KEY (cust_code) REFERENCES u.cust (code)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci',
];

async function stage(): Promise<Awaited<ReturnType<typeof stageIncident>>> {
  const { primary, dr } = servers;
  await dr.query('DROP DATABASE IF EXISTS salvage');
  return stageIncident(
    primary,
    dr,
    {
      schema: SCHEMA,
      base: ["INSERT INTO u.cust VALUES (1, 'A1', 'Ann')"],
      lost: ["INSERT INTO u.cust VALUES (2, 'C9', 'Lost C')", "INSERT INTO u.ord VALUES (1, 'C9')"],
      dr: ["INSERT INTO u.cust VALUES (5, 'c9', 'DR C')"],
    },
    ['u'],
  );
}

describe('a child referencing its parent by a unique key', () => {
  it('default: the lost parent is quarantined (its code is the DR record\'s), and so is the child that names that code', async () => {
    const staged = await stage();
    await salvage({ mode: 'apply', binlogs: staged.files, target: servers.dr.target, start: { kind: 'from-gtid', set: staged.start }, keepTransactionsWhole: false });
    expect((await readQuarantine({ target: servers.dr.target })).map((e) => [e.table, e.op, e.class])).toEqual([
      ['u.cust', 'insert', 'insert-unique-taken'],
      ['u.ord', 'insert', 'parent-missing'],
    ]);
    expect(await servers.dr.query('SELECT id, cust_code FROM u.ord')).toEqual([]);
  }, 120_000);

  it('rewrite-unique: a lost row whose unique value children reference is not rewritten (they would point at the DR record)', async () => {
    const staged = await stage();
    const cfg = config({ keepTransactionsWhole: false, tables: { 'u.cust': { onConflict: { 'insert-unique-taken': 'rewrite-unique' } } } });
    await salvage({ mode: 'apply', binlogs: staged.files, target: servers.dr.target, start: { kind: 'from-gtid', set: staged.start }, config: cfg });
    const held = await readQuarantine({ target: servers.dr.target });
    expect(held.map((e) => [e.table, e.op, e.class])).toEqual([
      ['u.cust', 'insert', 'insert-unique-taken'],
      ['u.ord', 'insert', 'parent-missing'],
    ]);
    expect(held[0]!.reason).toMatch(/^rewrite-unique: u\.ord \(cust_code\) references u\.cust by code/);
    expect(await servers.dr.query('SELECT id, cust_code FROM u.ord')).toEqual([]);
    expect(await servers.dr.query('SELECT id, code FROM u.cust ORDER BY id')).toEqual([
      { id: 1, code: 'A1' },
      { id: 5, code: 'c9' },
    ]);
  }, 120_000);
});
