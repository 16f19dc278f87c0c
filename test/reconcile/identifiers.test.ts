/**
 * Identifiers from binlogs and configurations are always quoted, values always bound (issue 6,
 * "Security"): a database, tables and columns named with backticks, quotes, spaces, a dash and
 * non-ASCII letters are merged like any other — a clean insert, an update, a remap with its child
 * following, a unique clash quarantined — and the DR's rows end exactly as expected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainChange, exportLine, readQuarantine, resolveQuarantine } from '../../src/pipeline/resolve.js';
import { salvage } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { parseConfig } from '../../src/config/normalise.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { stageIncident } from '../harness/incident-pair.js';

let primary: MariadbServer;
let dr: MariadbServer;

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'ident-primary' }), startMariadb({ name: 'ident-dr', serverId: 2 })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
});

// `shop-ü`.`we``ird "tbl"` (id, `o'clock`, `naïve ✓`) and `shop-ü`.`child; DROP` (id, `par``ent`), a logical reference.
const DB = '`shop-ü`';
const PARENT = '`shop-ü`.`we``ird "tbl"`';
const CHILD = '`shop-ü`.`child; DROP`';

describe('odd identifiers', () => {
  it('are quoted everywhere: the DR ends with exactly the expected rows', async () => {
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: [
          `CREATE TABLE ${PARENT} (id INT AUTO_INCREMENT PRIMARY KEY, \`o'clock\` VARCHAR(20) NOT NULL, \`naïve ✓\` VARCHAR(20) NULL, UNIQUE KEY \`uk "o'clock"\` (\`o'clock\`)) DEFAULT CHARSET=utf8mb4`,
          `CREATE TABLE ${CHILD} (id INT AUTO_INCREMENT PRIMARY KEY, \`par\`\`ent\` INT NOT NULL, note VARCHAR(20)) DEFAULT CHARSET=utf8mb4`,
        ],
        base: [`INSERT INTO ${PARENT} (\`o'clock\`, \`naïve ✓\`) VALUES ('one', 'ü')`],
        lost: [
          `INSERT INTO ${PARENT} (\`o'clock\`, \`naïve ✓\`) VALUES ('two', 'lost ✓')`, // id 2: the DR gave it to its own row → remap
          `INSERT INTO ${CHILD} (\`par\`\`ent\`, note) VALUES (2, 'follows')`, // follows the remap
          `UPDATE ${PARENT} SET \`naïve ✓\` = 'changed ''quoted''' WHERE id = 1`,
          `INSERT INTO ${PARENT} (\`o'clock\`, \`naïve ✓\`) VALUES ('Clash', 'x')`, // id 3: its unique value is the DR's (case-insensitive)
        ],
        dr: [`INSERT INTO ${PARENT} (\`o'clock\`, \`naïve ✓\`) VALUES ('clash', 'dr')`],
      },
      [DB],
    );
    const ledger: LedgerLine[] = [];
    const config = parseConfig({ tables: { "shop-ü.child; DROP": { references: { 'par`ent': 'shop-ü.we`ird "tbl".id' } } } });
    if (!config.ok) throw new Error(JSON.stringify(config.problems));
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: config.config, onLedger: (l) => ledger.push(l) });

    expect(ledger.map((l) => [l.table, l.op, l.class, l.outcome, l.newKey ?? null])).toEqual([
      // Above the DR's ids and every id the lost range inserts (3, the clash): 4.
      ['shop-ü.we`ird "tbl"', 'insert', 'insert-pk-taken', 'remapped', [4]],
      ['shop-ü.child; DROP', 'insert', 'clean', 'applied', null],
      ['shop-ü.we`ird "tbl"', 'update', 'clean', 'applied', null],
      ['shop-ü.we`ird "tbl"', 'insert', 'insert-unique-taken', 'quarantined', null],
    ]);
    expect(await dr.query(`SELECT id, \`o'clock\` AS c, \`naïve ✓\` AS n FROM ${PARENT} ORDER BY id`)).toEqual([
      { id: 1, c: 'one', n: "changed 'quoted'" },
      { id: 2, c: 'clash', n: 'dr' },
      { id: 4, c: 'two', n: 'lost ✓' },
    ]);
    // The child followed its parent to the new id.
    expect(await dr.query(`SELECT id, \`par\`\`ent\` AS p, note FROM ${CHILD} ORDER BY id`)).toEqual([{ id: 1, p: 4, note: 'follows' }]);
    // And a second run changes nothing.
    const again: LedgerLine[] = [];
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: config.config, onLedger: (l) => again.push(l) });
    expect(again).toEqual([]);
  }, 120_000);

  // MySQL allows dots in quoted names: `shop.v2`.`cust.tbl` is written "shop.v2.cust.tbl" in the
  // ledger, the quarantine and `ignoreColumns`, which must resolve against the DR's schema.
  it('dots in database and table names: ignoreColumns, a quoted table rule and logical reference apply, resolve and explain find the table', async () => {
    const TBL = '`shop.v2`.`cust.tbl`';
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: [
          // A parent in a schema the lost range never writes, named by a logical reference.
          'CREATE TABLE `ref.v1`.`kinds` (id INT PRIMARY KEY)',
          `CREATE TABLE ${TBL} (id INT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(20) NOT NULL, note VARCHAR(20) NOT NULL, touched VARCHAR(20) NOT NULL, kind INT NOT NULL DEFAULT 1, UNIQUE KEY uk_email (email)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
        ],
        base: ['INSERT INTO `ref.v1`.`kinds` VALUES (1)', `INSERT INTO ${TBL} (email, note, touched) VALUES ('ann@x', 'a', 't0'), ('bea@x', 'b', 't0')`],
        lost: [
          // The DR changed only the ignored column of both rows: both updates are clean. The first
          // leaves `touched` alone, so the DR's value stays; the second changes it, so it is written.
          // (One that changed nothing but `touched` would meet its after image: already applied.)
          `UPDATE ${TBL} SET note = 'lost note' WHERE id = 1`,
          `UPDATE ${TBL} SET note = 'b2', touched = 'lost t' WHERE id = 2`,
          `INSERT INTO ${TBL} (email, note, touched) VALUES ('CLASH@x', 'lost', 't')`, // id 3, its e-mail the DR's own: quarantined
        ],
        dr: [`UPDATE ${TBL} SET touched = 'dr'`, `INSERT INTO ${TBL} (email, note, touched) VALUES ('clash@x', 'dr', 'd')`],
      },
      ['`shop.v2`', '`ref.v1`'],
    );
    const ledger: LedgerLine[] = [];
    // The configuration file names a table whose name holds a dot in backticks, as SQL does; the
    // table rule must reach the table (its rule path is in the ledger), and the logical reference
    // must introspect `ref.v1`, a schema the lost range never writes.
    const config = parseConfig({
      ignoreColumns: ['shop.v2.cust.tbl.touched'],
      tables: { '`shop.v2`.`cust.tbl`': { onConflict: { 'insert-unique-taken': 'quarantine' }, references: { kind: '`ref.v1`.kinds.id' } } },
    });
    if (!config.ok) throw new Error(JSON.stringify(config.problems));
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, config: config.config, onLedger: (l) => ledger.push(l) });
    expect(ledger.map((l) => [l.table, l.op, l.class, l.outcome])).toEqual([
      ['shop.v2.cust.tbl', 'update', 'clean', 'applied'],
      ['shop.v2.cust.tbl', 'update', 'clean', 'applied'],
      ['shop.v2.cust.tbl', 'insert', 'insert-unique-taken', 'quarantined'],
    ]);
    expect(ledger[2]!.rule).toBe('built-in.insert-pk-taken → remap; tables."`shop.v2`.`cust.tbl`".onConflict.insert-unique-taken → quarantine');
    const after = [
      { id: 1, email: 'ann@x', note: 'lost note', touched: 'dr', kind: 1 },
      { id: 2, email: 'bea@x', note: 'b2', touched: 'lost t', kind: 1 },
      { id: 3, email: 'clash@x', note: 'dr', touched: 'd', kind: 1 },
    ];
    expect(await dr.query(`SELECT id, email, note, touched, kind FROM ${TBL} ORDER BY id`)).toEqual(after);

    // explain finds the table, and the DR row now at the held insert's key (the DR's own).
    const explained = await explainChange({ target: dr.target, change: ledger[2]!.gtid! });
    expect(explained.map((e) => [e.table, e.op, e.outcome, e.now])).toEqual([['shop.v2.cust.tbl', 'insert', 'quarantined', after[2]]]);

    // resolve applies the held insert by review, with another e-mail and a key of its own.
    const [entry] = await readQuarantine({ target: dr.target });
    expect(entry?.table).toBe('shop.v2.cust.tbl');
    const decision = JSON.stringify({ ...(JSON.parse(exportLine(entry!)) as object), decision: { action: 'apply', row: { id: 5, email: 'bob@x', note: 'lost', touched: 't', kind: 1 } } });
    const report = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: `${decision}\n` });
    expect(report.entries.map((e) => [e.table, e.result])).toEqual([['shop.v2.cust.tbl', 'done']]);
    expect(await dr.query(`SELECT id, email, note, touched, kind FROM ${TBL} ORDER BY id`)).toEqual([...after, { id: 5, email: 'bob@x', note: 'lost', touched: 't', kind: 1 }]);
  }, 120_000);
});
