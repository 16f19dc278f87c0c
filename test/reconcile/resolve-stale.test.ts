/**
 * Review on a DR that kept changing: what resolve writes for a held change whose DR row it could not
 * check against a recorded image. Bugs these pin (RELIABILITY §7 item 16): an update held behind
 * another change of its row, applied as logged, wrote every column of its after image (undoing the
 * DR's own later change of another column, and writing back the value the first change was held
 * for); a change held because its parent was missing recorded no DR row, so a DR change of that row
 * after the export was overwritten.
 */
import { describe, expect, it } from 'vitest';
import { readQuarantine, resolveQuarantine } from '../../src/pipeline/resolve.js';
import { salvage } from '../../src/pipeline/salvage.js';
import { decisionsFile } from '../harness/decisions.js';
import { config, stageIncident, useServerPair } from '../harness/incident-pair.js';

const servers = useServerPair('resolve-stale');


describe('resolve on a DR that changed', () => {
  it('applies a held update as logged by writing only the columns the lost change changed', async () => {
    const { primary, dr } = servers;
    await dr.query('DROP DATABASE IF EXISTS salvage');
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: ['CREATE TABLE u.items (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, qty INT NOT NULL, price INT NOT NULL, UNIQUE KEY uk_name (name))'],
        base: ["INSERT INTO u.items VALUES (1, 'a', 1, 10)"],
        // The first is held (the DR's row 2 took the name); the second waits behind it.
        lost: ["UPDATE u.items SET name = 'dup' WHERE id = 1", 'UPDATE u.items SET qty = 5 WHERE id = 1'],
        dr: ["INSERT INTO u.items VALUES (2, 'dup', 0, 0)", 'UPDATE u.items SET price = 99 WHERE id = 1'],
      },
      ['u'],
    );
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start } });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.op, e.class])).toEqual([
      ['update', 'update-unique-taken'],
      ['update', 'row-quarantined'],
    ]);
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'skip' }, { action: 'apply' }]) });
    expect(report.entries.map((e) => [e.result, e.message])).toEqual([
      ['done', 'skipped'],
      ['done', 'applied as logged: set qty'],
    ]);
    expect(await dr.query('SELECT id, name, qty, price FROM u.items ORDER BY id')).toEqual([
      { id: 1, name: 'a', qty: 5, price: 99 },
      { id: 2, name: 'dup', qty: 0, price: 0 },
    ]);
  }, 120_000);

  it('refuses a change held for a missing parent once the DR changed the row it met', async () => {
    const { primary, dr } = servers;
    await dr.query('DROP DATABASE IF EXISTS salvage');
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: [
          'CREATE TABLE p.parents (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, UNIQUE KEY uk_name (name))',
          'CREATE TABLE p.children (id INT PRIMARY KEY, parent_id INT NULL, v VARCHAR(20) NOT NULL, FOREIGN KEY (parent_id) REFERENCES p.parents (id))',
        ],
        base: ['INSERT INTO p.children VALUES (1, NULL, "base")'],
        lost: ["INSERT INTO p.parents VALUES (7, 'taken')", 'UPDATE p.children SET parent_id = 7 WHERE id = 1'],
        dr: ["INSERT INTO p.parents VALUES (3, 'taken')"],
      },
      ['p'],
    );
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, keepTransactionsWhole: false });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.table, e.op, e.class, e.dr])).toEqual([
      ['p.parents', 'insert', 'insert-unique-taken', { id: 3, name: 'taken' }],
      ['p.children', 'update', 'parent-missing', { id: 1, parent_id: null, v: 'base' }],
    ]);
    // After the export, the DR changes the child row.
    await dr.query("UPDATE p.children SET v = 'dr since' WHERE id = 1");
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'apply', row: { id: 7, name: 'taken 2' } }, { action: 'apply' }]) });
    expect(report.entries.map((e) => e.result)).toEqual(['done', 'refused']);
    expect(report.entries[1]!.message).toBe("the DR row 1 of p.children changed since it was quarantined: export again and decide on what the DR holds now (v: was \"base\", now \"dr since\")");
    expect(await dr.query('SELECT id, parent_id, v FROM p.children ORDER BY id')).toEqual([{ id: 1, parent_id: null, v: 'dr since' }]);
  }, 120_000);

  it("refuses to apply a held update of a row whose insert a rule skipped: the DR's record at that key is another one", async () => {
    // Found by a review: the entry said its origin was quarantined and recorded no DR row, and
    // {"action":"apply"} overwrote the DR's own record at the key the skipped insert had.
    const { primary, dr } = servers;
    await dr.query('DROP DATABASE IF EXISTS salvage');
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: ['CREATE TABLE k.a (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20) NOT NULL)'],
        base: ["INSERT INTO k.a VALUES (1, 'base')"],
        lost: ["INSERT INTO k.a VALUES (2, 'L1')", "UPDATE k.a SET v = 'L2' WHERE id = 2"],
        dr: ["INSERT INTO k.a VALUES (2, 'D-own')"],
      },
      ['k'],
    );
    const cfg = config({ tables: { 'k.a': { onConflict: { 'insert-pk-taken': 'skip' } } } });
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: cfg });
    const held = await readQuarantine({ target: dr.target });
    expect(held.map((e) => [e.op, e.class])).toEqual([['update', 'row-quarantined']]);
    expect(held[0]!.reason).toMatch(/^an earlier change of this row was skipped \(.+#0\): the lost row was never written$/);
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decisionsFile(held, [{ action: 'apply' }]) });
    expect(report.entries.map((e) => e.result)).toEqual(['refused']);
    expect(report.entries[0]!.message).toMatch(/^the lost row's insert \(.+#0\) was skipped, so the DR row 2 of k\.a is another record, which this update must not write/);
    expect(await dr.query('SELECT id, v FROM k.a ORDER BY id')).toEqual([
      { id: 1, v: 'base' },
      { id: 2, v: 'D-own' },
    ]);
  }, 120_000);
});
