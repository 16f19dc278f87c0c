/**
 * Identifiers from binlogs and configurations are always quoted, values always bound (issue 6,
 * "Security"): a database, tables and columns named with backticks, quotes, spaces, a dash and
 * non-ASCII letters are merged like any other — a clean insert, an update, a remap with its child
 * following, a unique clash quarantined — and the DR's rows end exactly as expected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
});
