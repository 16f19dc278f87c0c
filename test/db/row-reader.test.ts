import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnValue, RowImage } from '../../src/binlog/column.js';
import { JsonDecimal, JsonValue } from '../../src/binlog/values/json-value.js';
import { introspectSchemas } from '../../src/db/introspect.js';
import { buildRowQuery, readColumnDefaults, readRowsByImages, readRowsByKeys, rowKey, unreadableReason } from '../../src/db/row-reader.js';
import { openSession, type SqlSession } from '../../src/db/sql-session.js';
import type { TableSchema } from '../../src/model/table-schema.js';
import { readTransactions } from '../../src/source/read-transactions.js';
import { EVERY_TYPE_ROWS, everyTypeTable } from '../harness/every-type-table.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const EVERY_TYPE = everyTypeTable('rr');

const ROWS = EVERY_TYPE_ROWS;

let server: MariadbServer;
let session: SqlSession;
let other: SqlSession;
let everyType: TableSchema;
let pairs: TableSchema;
/** id → the after image our decoder read from the binlog for the row's insert. */
const binlogImages = new Map<number, RowImage>();

beforeAll(async () => {
  server = await startMariadb({ name: 'row-reader' });
  await server.query('CREATE DATABASE rr');
  await server.query(EVERY_TYPE);
  for (const row of ROWS) await server.query(`INSERT INTO rr.every_type VALUES ${row}`);
  await server.query('CREATE TABLE rr.pairs (a INT NOT NULL, b VARCHAR(10) NOT NULL, v DECIMAL(10,2) NOT NULL, PRIMARY KEY (a, b)) ENGINE=InnoDB');
  const values: string[] = [];
  for (let a = 1; a <= 500; a++) for (const b of ['x', 'y', 'z', 'w']) values.push(`(${a}, '${b}', ${a}.25)`);
  await server.query(`INSERT INTO rr.pairs VALUES ${values.join(', ')}`);
  await server.query('ANALYZE TABLE rr.pairs');
  await server.query('CREATE TABLE rr.floats (id INT NOT NULL PRIMARY KEY, d DOUBLE, f FLOAT) ENGINE=InnoDB');
  await server.flushBinaryLogs();
  for await (const batch of readTransactions(await server.binlogFiles())) {
    for (const item of batch.items) {
      if (item.kind !== 'transaction') continue;
      for (const ch of item.tx.changes) {
        if (ch.table.table === 'every_type' && ch.after !== null) binlogImages.set(ch.after[0] as number, ch.after);
      }
    }
  }
  session = await openSession(server.target);
  other = await openSession(server.target);
  // A session zone far from the server's: TIMESTAMP must still come out in UTC, as the binlog has it.
  await session.query("SET time_zone = '+05:30'");
  const catalog = await introspectSchemas(session, ['rr']);
  everyType = catalog.get('rr', 'every_type')!;
  pairs = catalog.get('rr', 'pairs')!;
});

afterAll(async () => {
  await session?.end();
  await other?.end();
  await server?.stop();
});

/** The JS type of a cell, Buffers and bigints told apart. */
function kind(v: ColumnValue | undefined): string {
  if (v === null) return 'null';
  if (Buffer.isBuffer(v)) return 'Buffer';
  return typeof v === 'object' ? (v?.constructor.name ?? 'object') : typeof v;
}

describe('readRowsByKeys on every common type', () => {
  it('returns exactly the after image the decoder reads from the binlog, row by row', async () => {
    expect([...binlogImages.keys()].sort()).toEqual([1, 2, 3, 4, 5]);
    for (const [id, image] of binlogImages) {
      const rows = await readRowsByKeys(session, everyType, ['id'], [[id]], { forUpdate: false });
      expect(rows.size).toBe(1);
      const ours = rows.get(rowKey([id]))!;
      expect(ours).toHaveLength(image.length);
      for (let i = 0; i < image.length; i++) {
        const name = everyType.columns[i]!.name;
        expect({ id, name, kind: kind(ours[i]), value: ours[i] }).toStrictEqual({ id, name, kind: kind(image[i]), value: image[i] });
        if (typeof image[i] === 'number') expect(Object.is(ours[i], image[i]), `${id}.${name}`).toBe(true);
      }
    }
  });

  it('pins the representation of the awkward cells', async () => {
    const rows = await readRowsByKeys(session, everyType, ['id'], [[1], [2], [3], [5]], { forUpdate: false });
    const cell = (id: number, name: string): ColumnValue | undefined => rows.get(rowKey([id]))![everyType.columns.findIndex((c) => c.name === name)];
    expect(cell(1, 'd')).toBe(9370.328532531857);
    expect(cell(1, 'bi')).toBe(-9223372036854775808n);
    expect(cell(2, 'bi_u')).toBe(18446744073709551615n);
    expect(cell(3, 'bi')).toBe(9007199254740991);
    expect(cell(3, 'bi_u')).toBe(9007199254740992n);
    expect(cell(5, 'bi')).toBe(-9007199254740992n);
    expect(cell(2, 'f')).toBe(Math.fround(0.1));
    expect(cell(2, 'b64')).toBe(18446744073709551615n);
    expect(cell(2, 'b12')).toBe(4095);
    expect(cell(1, 'tm')).toBe('-838:59:59.000');
    expect(cell(3, 'tm')).toBe('-00:00:01.500');
    expect(cell(1, 'ts')).toBe('1970-01-01 00:00:01.000000');
    expect(cell(3, 'ts')).toBe('2024-03-10 02:30:00.500000');
    expect(cell(1, 'bn')).toEqual(Buffer.from([1, 2, 0, 0]));
    expect(cell(1, 'c')).toBe('a😀');
    expect(cell(1, 'l1')).toBe('café ÿ');
    expect(cell(2, 'y')).toBe(2155);
    expect(cell(3, 'y')).toBe(0);
    expect(cell(1, 'dec65')).toBe('-99999999999999999999999999999999999.999999999999999999999999999999');
    expect(cell(3, 'j')).toBe('"str"');
    expect(cell(1, 'u')).toEqual(Buffer.from('123e4567e89b12d3a456426614174000', 'hex'));
  });

  it('reads many keys in batches, absent keys absent, NULL keys skipped', async () => {
    const rows = await readRowsByKeys(session, everyType, ['id'], [[5], [4], [3], [999], [2], [1], [null]], { forUpdate: false, batchSize: 2 });
    expect([...rows.keys()].sort()).toEqual([1, 2, 3, 4, 5].map((id) => rowKey([id])));
    expect(rows.has(rowKey([999]))).toBe(false);
    for (const [id, image] of binlogImages) expect(rows.get(rowKey([id]))).toStrictEqual(image);
  });
});

describe('readRowsByImages (tables without a primary key)', () => {
  it('finds each row by its whole binlog image, every type compared by the server as the writes compare it', async () => {
    const images = [...binlogImages.values()];
    const found = await readRowsByImages(session, everyType, images, { forUpdate: false });
    expect(found.map((rows) => rows.map((r) => r[0]))).toEqual(images.map((image) => [image[0]]));
    // Each image again without its id: the other columns alone still single out the row.
    const noId = images.map((image) => [undefined, ...image.slice(1)]);
    const again = await readRowsByImages(session, everyType, noId, { forUpdate: false });
    expect(again.map((rows) => rows.map((r) => r[0]))).toEqual(images.map((image) => [image[0]]));
  });

  it('returns every copy, a row under each image it meets, and NULL meets NULL only', async () => {
    await server.query('CREATE TABLE rr.log (k INT NULL, msg VARCHAR(10) NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci');
    await server.query("INSERT INTO rr.log VALUES (1, 'a'), (1, 'a'), (NULL, 'a'), (2, NULL), (1, 'A')");
    const log = (await introspectSchemas(session, ['rr'])).get('rr', 'log')!;
    const found = await readRowsByImages(session, log, [[1, 'a'], [null, 'a'], [2, null], [undefined, 'a'], [3, 'a']], { forUpdate: false });
    const sorted = (rows: RowImage[]): string[] => rows.map((r) => JSON.stringify(r)).sort();
    expect(found.map(sorted)).toEqual([
      // The server's comparison: 'A' equals 'a' under the _ci collation (the engine tells them apart, keyless-rows.ts).
      ['[1,"A"]', '[1,"a"]', '[1,"a"]'],
      ['[null,"a"]'],
      ['[2,null]'],
      ['[1,"A"]', '[1,"a"]', '[1,"a"]', '[null,"a"]'],
      [],
    ]);
  });

  it('locks what it reads (FOR UPDATE): another session cannot delete a matched copy until the transaction ends', async () => {
    await session.query('START TRANSACTION');
    try {
      const log = (await introspectSchemas(session, ['rr'])).get('rr', 'log')!;
      expect((await readRowsByImages(session, log, [[2, null]], { forUpdate: true }))[0]).toHaveLength(1);
      await other.query('SET SESSION innodb_lock_wait_timeout = 1');
      await expect(other.query('DELETE FROM rr.log WHERE k = 2')).rejects.toMatchObject({ code: 'DB_QUERY', details: { errno: 1205 } });
    } finally {
      await session.query('ROLLBACK');
    }
  });
});

describe('keys in the decoder\'s types', () => {
  it('finds every row by any single column, its key values taken from the binlog images', async () => {
    const failures: string[] = [];
    for (let i = 1; i < everyType.columns.length; i++) {
      const name = everyType.columns[i]!.name;
      const images = [...binlogImages.values()].filter((im) => im[i] !== null);
      const rows = await readRowsByKeys(session, everyType, [name], images.map((im) => [im[i]]), { forUpdate: false });
      for (const im of images) {
        if (!rows.has(rowKey([im[i]]))) failures.push(`${name}=${String(im[i])}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('keys a row found through its collation by the DR\'s own spelling of the key', async () => {
    // utf8mb4_unicode_ci: the server matches case- and accent-insensitively; the map key is the DR's value.
    const rows = await readRowsByKeys(session, everyType, ['vc'], [['HELLO 😀 WORLD']], { forUpdate: false });
    expect([...rows.keys()]).toEqual([rowKey(['héllo 😀 wörld'])]);
  });

  it('needs the exact path: mysql2 parses the plain DOUBLE one ulp off (DESIGN.md "Pitfalls")', async () => {
    const plain = await session.query('SELECT d FROM rr.every_type WHERE id = 1');
    expect(plain.rows[0]!['d']).toBe(9370.328532531856);
    const exact = await readRowsByKeys(session, everyType, ['id'], [[1]], { forUpdate: false });
    expect(exact.get(rowKey([1]))![everyType.columns.findIndex((c) => c.name === 'd')]).toBe(9370.328532531857);
  });

  it('finds rows by a composite key of BIGINT UNSIGNED, DECIMAL(65,30) and BINARY(4)', async () => {
    const cols = ['bi_u', 'dec65', 'bn'];
    const idx = cols.map((n) => everyType.columns.findIndex((c) => c.name === n));
    const keys = [1, 2, 3, 5].map((id) => idx.map((i) => binlogImages.get(id)![i]));
    const rows = await readRowsByKeys(session, everyType, cols, keys, { forUpdate: false });
    expect([...rows.keys()].sort()).toEqual(keys.map((k) => rowKey(k)).sort());
  });
});

describe('DOUBLE and FLOAT are exact', () => {
  it('reads back every double and float32 bit for bit', async () => {
    let next = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.float({ noNaN: true, noDefaultInfinity: true })), { minLength: 1, maxLength: 100 }),
        async (values) => {
          const ids = values.map(() => ++next);
          await server.query(`INSERT INTO rr.floats VALUES ${values.map(() => '(?, ?, ?)').join(', ')}`, values.flatMap(([d, f], i) => [ids[i], d, f]));
          const rows = await readRowsByKeys(session, await floats(), ['id'], ids.map((id) => [id]), { forUpdate: false });
          values.forEach(([d, f], i) => {
            const row = rows.get(rowKey([ids[i]]))!;
            // mysql2 binds -0 as "0": the server stores +0.
            expect(row[1]).toBe(d === 0 ? 0 : d);
            expect(row[2]).toBe(f === 0 ? 0 : f);
          });
        },
      ),
      { numRuns: 30 },
    );
  });
});

let floatsTable: TableSchema | undefined;
async function floats(): Promise<TableSchema> {
  floatsTable ??= (await introspectSchemas(session, ['rr'])).get('rr', 'floats')!;
  return floatsTable;
}

describe('composite keys', () => {
  const explain = async (sql: string, params: readonly unknown[]): Promise<Record<string, unknown>> => {
    const { rows } = await session.query(`EXPLAIN ${sql}`, params);
    expect(rows).toHaveLength(1);
    return rows[0]!;
  };

  it('batches a composite lookup as a range on the primary key', async () => {
    const keys = [[1, 'x'], [250, 'y'], [500, 'w'], [7, 'nope']];
    const query = buildRowQuery(pairs, ['a', 'b'], keys, { forUpdate: false });
    expect(query.sql).toBe(
      'SELECT CAST(`a` AS CHAR) AS `c0`, CAST(`b` AS BINARY) AS `c1`, CAST(`v` AS CHAR) AS `c2` FROM `rr`.`pairs` WHERE (`a`, `b`) IN ((?, ?), (?, ?), (?, ?), (?, ?))',
    );
    expect(query.params).toEqual([1, 'x', 250, 'y', 500, 'w', 7, 'nope']);
    const plan = await explain(query.sql, query.params);
    expect(plan['key']).toBe('PRIMARY');
    expect(['range', 'eq_ref']).toContain(plan['type']);
    const rows = await readRowsByKeys(session, pairs, ['a', 'b'], keys, { forUpdate: false });
    expect([...rows.entries()].sort()).toEqual([
      [rowKey([1, 'x']), [1, 'x', '1.25']],
      [rowKey([250, 'y']), [250, 'y', '250.25']],
      [rowKey([500, 'w']), [500, 'w', '500.25']],
    ]);
    expect(rows.has(rowKey([7, 'nope']))).toBe(false);
  });

  it('reads a single composite key with a=? AND b=? (a one-element row constructor scans the key)', async () => {
    const query = buildRowQuery(pairs, ['a', 'b'], [[42, 'z']], { forUpdate: true });
    expect(query.sql).toMatch(/ WHERE `a` = \? AND `b` = \? FOR UPDATE$/);
    const plan = await explain(query.sql.replace(/ FOR UPDATE$/, ''), query.params);
    expect(plan['key']).toBe('PRIMARY');
    expect(plan['type']).toBe('const');
    const rows = await readRowsByKeys(session, pairs, ['a', 'b'], [[42, 'z']], { forUpdate: false });
    expect(rows).toEqual(new Map([[rowKey([42, 'z']), [42, 'z', '42.25']]]));
  });

  it('binds DECIMAL key values as DECIMAL, not as doubles', () => {
    const query = buildRowQuery(pairs, ['v', 'a'], [['1.25', 1], ['2.25', 2]], { forUpdate: false });
    expect(query.sql).toContain('WHERE (`v`, `a`) IN ((CAST(? AS DECIMAL(10,2)), ?), (CAST(? AS DECIMAL(10,2)), ?))');
  });
});

describe('FOR UPDATE', () => {
  it("locks the rows read until the transaction ends: another session's update waits and times out", async () => {
    await session.query('START TRANSACTION');
    try {
      const rows = await readRowsByKeys(session, pairs, ['a', 'b'], [[3, 'x'], [3, 'y']], { forUpdate: true });
      expect(rows.size).toBe(2);
      await other.query('SET SESSION innodb_lock_wait_timeout = 1');
      const blocked = other.query("UPDATE rr.pairs SET v = v + 1 WHERE a = 3 AND b = 'y'");
      await expect(blocked).rejects.toMatchObject({ code: 'DB_QUERY', details: { errno: 1205 } });
      // A row that was not read is not locked.
      await expect(other.query("UPDATE rr.pairs SET v = v + 1 WHERE a = 4 AND b = 'y'")).resolves.toMatchObject({ affectedRows: 1 });
    } finally {
      await session.query('ROLLBACK');
    }
    await expect(other.query("UPDATE rr.pairs SET v = v + 1 WHERE a = 3 AND b = 'y'")).resolves.toMatchObject({ affectedRows: 1 });
  });
});

describe('a MySQL JSON column (DATA_TYPE json, which MariaDB has not: its JSON is LONGTEXT)', () => {
  it('is read as its text (CAST … AS CHAR, which both servers take) and parsed into the decoder\'s tree, every number exactly', async () => {
    await server.query('CREATE TABLE rr.docs (id INT NOT NULL PRIMARY KEY, doc LONGTEXT) ENGINE=InnoDB');
    // The text as MySQL prints a document: ", " and ": " between items, an integer past 2^64, a DECIMAL's trailing zero.
    await server.query(`INSERT INTO rr.docs VALUES (1, '{"a": 1, "b": [1.5, 18446744073709551616, 1.50, -0.0, 1e300], "c": {"d": null, "é": "ü😀"}, "e": true}'), (2, NULL)`);
    const base = (await introspectSchemas(session, ['rr'])).get('rr', 'docs')!;
    const docs: TableSchema = { ...base, columns: base.columns.map((c) => (c.name === 'doc' ? { ...c, dataType: 'json', columnType: 'json' } : c)) };
    expect(buildRowQuery(docs, ['id'], [[1]], { forUpdate: false }).sql).toContain('CAST(`doc` AS CHAR CHARACTER SET utf8mb4) AS `c1`');
    const rows = await readRowsByKeys(session, docs, ['id'], [[1], [2]], { forUpdate: false });
    const doc = rows.get(rowKey([1]))![1];
    expect(doc).toBeInstanceOf(JsonValue);
    expect((doc as JsonValue).node).toEqual({ a: 1, b: [1.5, 18446744073709551616n, new JsonDecimal('1.50'), new JsonDecimal('-0.0'), new JsonDecimal('1e300')], c: { d: null, é: 'ü😀' }, e: true });
    expect(rows.get(rowKey([2]))).toEqual([2, null]);
  });
});

describe('readColumnDefaults: the defaults an INSERT leaving columns out writes, as the server stores them', () => {
  it('equals the row such an insert wrote, column by column (CHAR trimmed, BINARY padded, an ENUM as declared, TIMESTAMP in UTC); null with no row to read them off', async () => {
    await session.query(`CREATE TABLE rr.defaults (id INT NOT NULL PRIMARY KEY, c CHAR(4) NOT NULL DEFAULT 'ab ', b BINARY(4) NOT NULL DEFAULT 'ab',
      v VARCHAR(10) NOT NULL DEFAULT 'd', dc DECIMAL(10,2) NOT NULL DEFAULT 1.5, f FLOAT NOT NULL DEFAULT 1.1, d DOUBLE NOT NULL DEFAULT 0.1,
      dt DATE NOT NULL DEFAULT '2020-02-29', dtm DATETIME(3) NOT NULL DEFAULT '2020-01-01 10:00:00', tm TIME NOT NULL DEFAULT '-01:02:03',
      ts TIMESTAMP(2) NOT NULL DEFAULT '2020-01-01 00:00:00', e ENUM('A','b') NOT NULL DEFAULT 'a', st SET('x','y') NOT NULL DEFAULT 'y,x',
      bg BIGINT UNSIGNED NOT NULL DEFAULT 18446744073709551615, bt BIT(3) NOT NULL DEFAULT b'101', y YEAR NOT NULL DEFAULT 2020, n INT NULL) ENGINE=InnoDB`);
    const table = (await introspectSchemas(session, ['rr'])).get('rr', 'defaults')!;
    const names = table.columns.slice(1).map((c) => c.name);
    // No row to read them off.
    expect(await readColumnDefaults(session, table, names)).toBeNull();
    // Row 1 holds none of the defaults: they are the column's, whichever row they are read off.
    await session.query("INSERT INTO rr.defaults VALUES (1, 'zz', 'zz', 'z', 9, 9, 9, '2021-01-01', '2021-01-01', '01:00:00', '2021-01-01', 'b', 'x', 1, b'1', 2021, 7)");
    // In the session's zone (+05:30), as the insert reads the TIMESTAMP literal.
    await session.query('INSERT INTO rr.defaults (id) VALUES (2)');
    const written = (await readRowsByKeys(session, table, ['id'], [[2]], { forUpdate: false })).get(rowKey([2]))!;
    const defaults = await readColumnDefaults(session, table, names);
    expect(defaults).toEqual(written.slice(1));
    expect(defaults!.slice(0, 2)).toEqual(['ab', Buffer.from('ab\0\0', 'latin1')]);
    expect(defaults![10]).toBe('A');
    expect(defaults![9]).toBe('2019-12-31 18:30:00.00');
  });
});

describe('unreadableReason: whether a table\'s rows can be read back exactly (keyless tables are matched by whole images)', () => {
  it('every column type of the every-type table has a read path; a MySQL JSON or a VECTOR column has none', () => {
    expect(unreadableReason(everyType)).toBeNull();
    const json = { ...everyType.columns[1]!, name: 'doc', dataType: 'json', columnType: 'json' };
    expect(unreadableReason({ ...everyType, columns: [...everyType.columns, json] })).toBe(
      "rr.every_type.doc: MySQL's JSON reads back as text, which cannot say whether a number in it is a DECIMAL or a DOUBLE, so a row cannot be matched by its image",
    );
    const vector = { ...everyType.columns[1]!, name: 'v', dataType: 'vector', columnType: 'vector(3)' };
    expect(unreadableReason({ ...everyType, columns: [vector] })).toBe('rr.every_type.v: no exact read path for type vector(3)');
  });
});
