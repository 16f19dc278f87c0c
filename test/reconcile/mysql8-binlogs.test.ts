/**
 * Real MySQL 8 and 9 binlogs (../shared/fixtures/real-binlogs) merged by plan and apply into a
 * throwaway DR. No MySQL server runs here, so the DR is MariaDB 10.11 holding each fixture's tables
 * in SQL both servers accept; what this proves is the MySQL side of the source, read from files
 * MySQL wrote: GTID, tagged-GTID and anonymous transactions, zstd-compressed transactions, MINIMAL
 * row metadata (names and labels from the DR), invisible columns, JSON documents compared with the
 * DR's (MariaDB keeps JSON as text), and partial JSON updates applied to the DR row's document.
 *
 * Found by it: every partial JSON update (MySQL's binlog_row_value_options=PARTIAL_JSON under
 * binlog_row_image=MINIMAL) was quarantined as `partial-json`, and a lost update of a row whose
 * JSON document the DR held as text met it as `update-diverged` (the decoded document never equalled
 * the text), so the DR's copy of the document was kept.
 */
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportLine, readQuarantine, resolveQuarantine } from '../../src/pipeline/resolve.js';
import { salvage, type SalvageOptions } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const FIXTURES = resolve(import.meta.dirname, '../../../shared/fixtures/real-binlogs');

let dr: MariadbServer;

beforeAll(async () => {
  dr = await startMariadb({ name: 'mysql8-dr', serverId: 2, binlog: false });
  await dr.query("SET GLOBAL time_zone = '+00:00'");
}, 120_000);

afterAll(async () => {
  await dr?.stop();
});

/** Drops what an earlier case left (`drop`: tables or databases, and the state schema), then runs `schema`. */
async function freshDr(drop: readonly string[], schema: readonly string[]): Promise<void> {
  for (const what of [...drop, 'DATABASE IF EXISTS salvage']) await dr.query(`DROP ${what}`);
  for (const sql of schema) await dr.query(sql);
}

interface Run {
  readonly ledger: LedgerLine[];
  readonly sql: string[];
}

/** plan or apply of one fixture file from `pos` (default: its start), DDL skipped; the ledger and the statements it would run. */
async function run(mode: 'plan' | 'apply', file: string, extra: Partial<SalvageOptions> & { pos?: number } = {}): Promise<Run> {
  const ledger: LedgerLine[] = [];
  const sql: string[] = [];
  const { pos = 4, ...options } = extra;
  await salvage({
    mode,
    binlogs: [resolve(FIXTURES, file)],
    target: dr.target,
    start: { kind: 'from-position', file: file.split('/').pop()!, pos },
    ddl: 'skip',
    onLedger: (l) => ledger.push(l),
    ...(mode === 'plan' ? { onSql: (s: string) => sql.push(s) } : {}),
    ...options,
  } as SalvageOptions);
  return { ledger, sql };
}

const outcomes = (ledger: readonly LedgerLine[]): string[][] => ledger.filter((l) => l.class !== 'ddl').map((l) => [l.table, l.op, l.class, l.outcome]);

describe('MySQL 8.0.22, json.binlog.000001: JSON inserts, full updates, then partial JSON updates under MINIMAL', () => {
  const FILE = 'rust_mysql_common/json.binlog.000001';
  // MySQL's `json_col->>'$.name'` and `json_col->'$.age'`, spelt as both servers read them.
  const TABLE = "CREATE TABLE mysql.t (id INT PRIMARY KEY AUTO_INCREMENT, json_col JSON, name VARCHAR(100) AS (JSON_UNQUOTE(JSON_EXTRACT(json_col, '$.name'))), age INT AS (JSON_EXTRACT(json_col, '$.age')))";
  // The document as the DR stores its text (mysql2 would parse a JSON column into an object).
  const SELECT = 'SELECT id, CAST(json_col AS CHAR) json_col, name, age FROM mysql.t ORDER BY id';
  // The rows as the primary left them before its last transaction (at 3527), but the DR
  // changed row 1's data since, nulled row 2's document and dropped row 3's age; MariaDB keeps
  // the text as written (spaces and all).
  const SEEDED = `INSERT INTO mysql.t (id, json_col) VALUES
    (1, '{"age": 25, "data": "changed on the DR", "name": "Joe"}'),
    (2, NULL),
    (3, '{"data": "zzzzzzzzzz", "name": "Pete"}'),
    (4, '{"age": 25, "data": "xxxxxxxxxx", "name": "Joe"}'),
    (5, '{"age":33,"data":"yyyyyyyyyy","name":"Sue"}'),
    (6, '{"age": 41.0, "data": "zzzzzzzzzz", "name": "Pete"}')`;

  it('applies every change, the partial updates onto the documents the window wrote; the DR ends as the primary did', async () => {
    await freshDr(['TABLE IF EXISTS mysql.t'], [TABLE]);
    const planned = await run('plan', FILE);
    const { ledger } = await run('apply', FILE);
    const clean = (op: string): string[] => ['mysql.t', op, 'clean', 'applied'];
    expect(outcomes(ledger)).toEqual([...Array(6).fill(clean('insert')), ...Array(12).fill(clean('update'))]);
    expect(ledger.filter((l) => l.class === 'ddl').map((l) => l.outcome)).toEqual(['skipped', 'skipped']);
    expect(outcomes(planned.ledger)).toEqual(outcomes(ledger));
    const people = [
      [1, 'Joe', 26, 'xxxxxxxxxx'],
      [2, 'Sue', 34, 'yyyyyyyyyy'],
      [3, 'Pete', 42, 'zzzzzzzzzz'],
      [4, 'Joe', 26, 'xxxxxxxxxx'],
      [5, 'Sue', 34, 'yyyyyyyyyy'],
      [6, 'Pete', 42, 'zzzzzzzzzz'],
    ] as const;
    const doc = (age: number, data: string, name: string): string => `{"age":${age},"data":"${data}","name":"${name}"}`;
    expect(await dr.query(SELECT)).toEqual(people.map(([id, name, age, data]) => ({ id, json_col: doc(age, data, name), name, age })));
    // The window's net effect: one insert of each row with the documents the diffs made, never the diffs.
    const values = people.map(([id, name, age, data]) => `(${id}, '${doc(age, data, name).replace(/"/g, '\\"')}')`).join(', ');
    expect(planned.sql.filter((s) => s.startsWith('INSERT'))).toEqual([`INSERT INTO \`mysql\`.\`t\` (\`id\`, \`json_col\`) VALUES ${values};`]);
    // Exactly once: the checkpoint makes a second apply a no-op.
    expect((await run('apply', FILE)).ledger).toEqual([]);
    expect((await dr.query(SELECT)).length).toBe(6);
    // Windows of one transaction: each partial update meets the document an earlier window committed.
    await freshDr(['TABLE IF EXISTS mysql.t'], [TABLE]);
    expect(outcomes((await run('apply', FILE, { windowTransactions: 1 })).ledger)).toEqual(outcomes(ledger));
    expect(await dr.query(SELECT)).toEqual(people.map(([id, name, age, data]) => ({ id, json_col: doc(age, data, name), name, age })));
  });

  it("applies the partial updates to the DR's own documents: a member the DR changed stays; NULL or a missing member is held, saying why", async () => {
    await freshDr(['TABLE IF EXISTS mysql.t'], [TABLE, SEEDED]);
    const { ledger } = await run('apply', FILE, { pos: 3527, keepTransactionsWhole: false });
    expect(ledger.map((l) => [l.key, l.class, l.outcome, l.reason ?? null])).toEqual([
      [[1], 'clean', 'applied', null],
      [[2], 'partial-json', 'quarantined', "a JSON partial update of json_col (diffs, not a document): the DR row's value is NULL, so there is no document to apply them to"],
      [[3], 'partial-json', 'quarantined', "a JSON partial update of json_col does not apply to the DR row's document: REPLACE $.age: nothing to replace"],
      [[4], 'clean', 'applied', null],
      [[5], 'clean', 'applied', null],
      [[6], 'clean', 'applied', null],
    ]);
    expect(await dr.query('SELECT id, CAST(json_col AS CHAR) json_col, age FROM mysql.t ORDER BY id')).toEqual([
      { id: 1, json_col: '{"age":26,"data":"changed on the DR","name":"Joe"}', age: 26 },
      { id: 2, json_col: null, age: null },
      { id: 3, json_col: '{"data": "zzzzzzzzzz", "name": "Pete"}', age: null },
      { id: 4, json_col: '{"age":26,"data":"xxxxxxxxxx","name":"Joe"}', age: 26 },
      { id: 5, json_col: '{"age":34,"data":"yyyyyyyyyy","name":"Sue"}', age: 34 },
      { id: 6, json_col: '{"age":42,"data":"zzzzzzzzzz","name":"Pete"}', age: 42 },
    ]);
  });

  // Found with this file: resolve rebuilt the held change's after image from its canonical JSON,
  // {"$jsonPatch": […]}, and wrote that object as the document (`done`, "set json_col").
  it("salvage resolve applies a held partial update to the DR row's document, and refuses one whose diffs do not apply", async () => {
    await freshDr(['TABLE IF EXISTS mysql.t'], [TABLE, SEEDED]);
    // Transactions kept whole (the default): rows 2 and 3 hold the whole transaction.
    const { ledger } = await run('apply', FILE, { pos: 3527 });
    expect(ledger.map((l) => [l.key, l.class, l.outcome])).toEqual([
      [[1], 'transaction-quarantined', 'quarantined'],
      [[2], 'partial-json', 'quarantined'],
      [[3], 'partial-json', 'quarantined'],
      [[4], 'transaction-quarantined', 'quarantined'],
      [[5], 'transaction-quarantined', 'quarantined'],
      [[6], 'transaction-quarantined', 'quarantined'],
    ]);
    const held = await readQuarantine({ target: dr.target });
    const decide = (action: (key: unknown) => string): string => held.map((e) => JSON.stringify({ ...(JSON.parse(exportLine(e)) as object), decision: { action: action(e.key) } })).join('\n') + '\n';
    const all = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decide(() => 'apply') });
    const NULL_DOC = "a JSON partial update of json_col (diffs, not a document): the DR row's value is NULL, so there is no document to apply them to: decide skip, or give the document in decision.row";
    const NO_AGE = "a JSON partial update of json_col does not apply to the DR row's document: REPLACE $.age: nothing to replace: decide skip, or give the document in decision.row";
    const WAIT = 'held back because of entry 2 (json.binlog.000001:3527#1), which is still pending: resolve 2 first';
    expect(all.entries.map((e) => [e.id, e.result, e.message ?? null])).toEqual([
      [2, 'refused', NULL_DOC],
      [1, 'refused', WAIT],
      [3, 'refused', NO_AGE],
      [4, 'refused', WAIT],
      [5, 'refused', WAIT],
      [6, 'refused', WAIT],
    ]);
    expect((await dr.query('SELECT CAST(json_col AS CHAR) j FROM mysql.t WHERE id = 1')) as unknown).toEqual([{ j: '{"age": 25, "data": "changed on the DR", "name": "Joe"}' }]);
    // Row 2 has no document to apply its diffs to: skipped, the rest applied onto the DR's documents.
    const rest = await resolveQuarantine({ target: dr.target, file: 'decisions.jsonl', text: decide((key) => (JSON.stringify(key) === '[2]' ? 'skip' : 'apply')) });
    const SET = 'applied as logged: set json_col';
    expect(rest.entries.map((e) => [e.id, e.result, e.message ?? null])).toEqual([
      [2, 'done', 'skipped'],
      [1, 'done', SET],
      [3, 'refused', NO_AGE],
      [4, 'done', SET],
      [5, 'done', SET],
      [6, 'done', SET],
    ]);
    expect(await dr.query('SELECT id, CAST(json_col AS CHAR) json_col FROM mysql.t ORDER BY id')).toEqual([
      { id: 1, json_col: '{"age":26,"data":"changed on the DR","name":"Joe"}' },
      { id: 2, json_col: null },
      { id: 3, json_col: '{"data": "zzzzzzzzzz", "name": "Pete"}' },
      { id: 4, json_col: '{"age":26,"data":"xxxxxxxxxx","name":"Joe"}' },
      { id: 5, json_col: '{"age":34,"data":"yyyyyyyyyy","name":"Sue"}' },
      { id: 6, json_col: '{"age":42,"data":"zzzzzzzzzz","name":"Pete"}' },
    ]);
  });

  it('a full update meets the DR\'s text of the same document (other spacing, 25.0 for 25) as clean, and one the DR changed as diverged', async () => {
    await freshDr(
      ['TABLE IF EXISTS mysql.t'],
      [
        TABLE,
        // The rows after xid 50 (at 2389), as text MariaDB kept: spacing, key order and a number's
        // spelling of the DR's own, and row 6 changed on the DR.
        `INSERT INTO mysql.t (id, json_col) VALUES
          (1, '{ "name" : "Joe", "data": "xxxxxxxxxx", "age": 24 }'),
          (2, '{"age":32.0,"data":"yyyyyyyyyy","name":"Sue"}'),
          (3, '{"age":40,"data":"zzzzzzzzzz","name":"Pete"}'),
          (4, '{"age":24,"data":"xxxxxxxxxx","name":"Joe"}'),
          (5, '{"age":3.2e1,"data":"yyyyyyyyyy","name":"Sue"}'),
          (6, '{"age":40,"data":"changed on the DR","name":"Pete"}')`,
      ],
    );
    const { ledger } = await run('apply', FILE, { pos: 2389, stopBefore: `${FILE.split('/').pop()!}:3527`, keepTransactionsWhole: false });
    expect(ledger.map((l) => [l.key, l.class, l.outcome])).toEqual([
      [[1], 'clean', 'applied'],
      [[2], 'clean', 'applied'],
      [[3], 'clean', 'applied'],
      [[4], 'clean', 'applied'],
      [[5], 'clean', 'applied'],
      [[6], 'update-diverged', 'merged'],
    ]);
    expect((await dr.query('SELECT id, age FROM mysql.t ORDER BY id')).map((r) => (r as { age: number }).age)).toEqual([25, 33, 41, 25, 33, 40]);
  });
});

describe('MySQL 8.0.31 with GTIDs, zstd-compressed transactions and MINIMAL row metadata (apecloud mysql-bin.000057)', () => {
  const FILE = 'apecloud-mysql-binlog-connector-rust/mysql-bin.000057';
  // Names and labels are not in the binlog (MINIMAL metadata): they come from the DR's schema.
  const TABLE = `CREATE TABLE a.test_table_3 (product_id INT NOT NULL PRIMARY KEY, product_item VARCHAR(255) CHARACTER SET utf8mb3 NOT NULL, d1 DATE, n1 INT,
    description_1 TEXT CHARACTER SET utf8mb3, ts1 TIMESTAMP NULL, enum_field ENUM('small','medium','big','large'), set_field SET('a','b','c','d'), bin_field BINARY(3),
    json_field JSON, product_item_2 VARCHAR(255) CHARACTER SET utf8mb3 NOT NULL, d2 DATE NOT NULL, d3 DATE, n2 INT, description_3 TEXT CHARACTER SET utf8mb3, ts2 TIMESTAMP NULL,
    d4 DATE, n3 INT, description_4 TEXT CHARACTER SET utf8mb3, ts3 TIMESTAMP NULL)`;

  it('applies the update of a row the DR holds (its JSON as text) and the inserts, under their GTIDs in the ledger', async () => {
    await freshDr(
      ['DATABASE IF EXISTS a'],
      [
        'CREATE DATABASE a',
        'CREATE TABLE a.b (id INT)',
        TABLE,
        `INSERT INTO a.test_table_3 VALUES (55555, 'product_item_value_2', '2022-11-20', 111, 'description_1', '2022-11-20 13:40:30', 'large', 'd', 'b3\\0',
          '{"c": 1}', 'product_item_2_value', '2022-11-20', '2022-11-20', 2222, 'description_3_value', '2022-11-20 13:40:30', '2022-11-20', 222, 'description_4_value', '2022-11-20 13:40:30')`,
      ],
    );
    const { ledger } = await run('apply', FILE);
    expect(ledger.filter((l) => l.class !== 'ddl').map((l) => [l.gtid, l.table, l.op, l.class, l.outcome])).toEqual([
      ['76f3e7be-6720-11ed-9cad-0242ac110002:12', 'a.b', 'insert', 'clean', 'applied'],
      ['76f3e7be-6720-11ed-9cad-0242ac110002:13', 'a.test_table_3', 'update', 'clean', 'applied'],
      ['76f3e7be-6720-11ed-9cad-0242ac110002:13', 'a.test_table_3', 'insert', 'clean', 'applied'],
    ]);
    expect(await dr.query('SELECT id FROM a.b')).toEqual([{ id: 1 }]);
    expect(
      await dr.query('SELECT product_id, enum_field, set_field, HEX(bin_field) bin, CAST(json_field AS CHAR) json_field, product_item_2, CAST(ts1 AS CHAR) ts1, CAST(ts3 AS CHAR) ts3 FROM a.test_table_3 ORDER BY product_id'),
    ).toEqual([
      { product_id: 6666, enum_field: 'large', set_field: 'd', bin: '623300', json_field: '{"c":1}', product_item_2: 'product_item_2_value', ts1: '2022-11-20 13:53:32', ts3: '2022-11-20 13:53:32' },
      // The DR's own text of the document stays: the update did not change it.
      { product_id: 55555, enum_field: 'large', set_field: 'c', bin: '623300', json_field: '{"c": 1}', product_item_2: 'product_3_value', ts1: '2022-11-20 13:40:30', ts3: '2022-11-20 13:40:30' },
    ]);
  });
});

describe('MySQL 8.0.26, mysql-enum-string-set.000001: a table without a key, its ENUM and SET labels in the binlog', () => {
  const FILE = 'rust_mysql_common/mysql-enum-string-set.000001';
  const TABLE = "CREATE TABLE mysql.t (f1 CHAR(128), f2 VARCHAR(300), f3 ENUM('var1', 'variant2', 'foo'), f4 SET('one', 'two', 'three', 'four'), f5 TEXT)";
  const DIGITS = '0123456789';

  it('inserts, updates the row matched by its image, and deletes it; stopped before the delete, the DR holds the updated row', async () => {
    await freshDr(['TABLE IF EXISTS mysql.t'], [TABLE]);
    const first = await run('apply', FILE, { stopBefore: '93e95066-a2f4-11ec-9b69-9657f0ae95e2:5' });
    expect(outcomes(first.ledger)).toEqual([
      ['mysql.t', 'insert', 'clean', 'applied'],
      ['mysql.t', 'update', 'clean', 'applied'],
    ]);
    // As the primary's statement typed it: three runs of 0–9 with the 9 left out of two.
    const f5 = `${DIGITS.repeat(12)}${DIGITS.slice(0, 9)}${DIGITS.repeat(12)}${DIGITS.slice(0, 9)}${DIGITS.repeat(4)}`;
    expect(await dr.query('SELECT * FROM mysql.t')).toEqual([{ f1: 'field1', f2: 'field_2', f3: 'variant2', f4: 'two,four', f5 }]);
    const rest = await run('apply', FILE);
    expect(outcomes(rest.ledger)).toEqual([['mysql.t', 'delete', 'clean', 'applied']]);
    expect(await dr.query('SELECT * FROM mysql.t')).toEqual([]);
  });
});

describe('MySQL 8.0.26, binlog-invisible-columns.000001: INVISIBLE columns, which the binlog logs like the others', () => {
  const FILE = 'rust_mysql_common/binlog-invisible-columns.000001';

  it('writes the invisible columns too', async () => {
    await freshDr(['TABLE IF EXISTS mysql.t1'], ['CREATE TABLE mysql.t1 (f1 INT UNSIGNED INVISIBLE, f2 INT UNSIGNED INVISIBLE, f3 INT, f4 TEXT, f5 BLOB, f6 BIGINT UNSIGNED INVISIBLE)']);
    const { ledger } = await run('apply', FILE);
    expect(outcomes(ledger)).toEqual([
      ['mysql.t1', 'insert', 'clean', 'applied'],
      ['mysql.t1', 'insert', 'clean', 'applied'],
      ['mysql.t1', 'update', 'clean', 'applied'],
    ]);
    expect(await dr.query('SELECT f1, f2, f3, f4, HEX(f5) f5, CAST(f6 AS CHAR) f6 FROM mysql.t1 ORDER BY f3')).toEqual([
      { f1: 111, f2: 222, f3: -333, f4: '444', f5: '55', f6: null },
      { f1: 1, f2: 2, f3: -3, f4: '4', f5: '05', f6: '6000000000' },
    ]);
  });
});

describe('MySQL 8.0.28 and 9.6: a compressed transaction without a GTID, and a tagged GTID', () => {
  it('mysql-bin.compressed: the update inside a zstd payload meets the DR row as clean', async () => {
    const FILE = 'mysql-binlog-connector-java/mysql-bin.compressed';
    await freshDr(
      ['DATABASE IF EXISTS demo'],
      [
        'CREATE DATABASE demo',
        `CREATE TABLE demo.movies (movie_id INT NOT NULL PRIMARY KEY, title VARCHAR(256) NOT NULL, release_year INT NOT NULL, country VARCHAR(256) NOT NULL, genre VARCHAR(256) NOT NULL,
          actors VARCHAR(1024) NOT NULL, director VARCHAR(512) NOT NULL, composer VARCHAR(256) NOT NULL, screenwriter VARCHAR(256) NOT NULL, cinematographer VARCHAR(256) NOT NULL,
          production_company VARCHAR(256) NOT NULL) CHARACTER SET utf8mb4`,
        `INSERT INTO demo.movies VALUES (1, 'Once Upon a Time in the West', 1968, 'Italy', 'Western',
          'Claudia Cardinale|Charles Bronson|Henry Fonda|Gabriele Ferzetti|Frank Wolff|Al Mulock|Jason Robards|Woody Strode|Jack Elam|Lionel Stander|Paolo Stoppa|Keenan Wynn|Aldo Sambrell',
          'Sergio Leone', 'Ennio Morricone', 'Sergio Leone|Sergio Donati|Dario Argento|Bernardo Bertolucci', 'Tonino Delli Colli', 'Paramount Pictures')`,
      ],
    );
    const { ledger } = await run('apply', FILE);
    expect(ledger.map((l) => [l.gtid, l.table, l.op, l.class, l.outcome])).toEqual([[null, 'demo.movies', 'update', 'clean', 'applied']]);
    expect(await dr.query('SELECT movie_id, genre FROM demo.movies')).toEqual([{ movie_id: 1, genre: 'Western|Action' }]);
  });

  it('binlog_transaction_with_GTID_TAG.000001: the ledger names the transaction by its tagged GTID', async () => {
    const FILE = 'rust_mysql_common/binlog_transaction_with_GTID_TAG.000001';
    await freshDr(['DATABASE IF EXISTS test'], ['CREATE DATABASE test', 'CREATE TABLE test.orders (id INT NOT NULL PRIMARY KEY, customer_id INT, total DECIMAL(10,2))']);
    const { ledger } = await run('apply', FILE);
    expect(ledger.map((l) => [l.gtid, l.table, l.op, l.class, l.outcome])).toEqual([['55778904-0299-11f1-b1b8-4ef0c4956feb:mytag:3', 'test.orders', 'insert', 'clean', 'applied']]);
    expect(await dr.query('SELECT id, customer_id, CAST(total AS CHAR) total FROM test.orders')).toEqual([{ id: 3, customer_id: 100, total: '250.00' }]);
  });
});
