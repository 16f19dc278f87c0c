import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2';
import type { RowImage } from '../../src/binlog/column.js';
import type { RowChange } from '../../src/binlog/transaction.js';
import { JsonPatch } from '../../src/binlog/values/json-value.js';
import { introspectSchemas } from '../../src/db/introspect.js';
import { writeDeletes, writeInserts, writeUpdates } from '../../src/db/row-writer.js';
import { openSession, transaction, type SqlSession } from '../../src/db/sql-session.js';
import type { SchemaCatalog, TableSchema } from '../../src/model/table-schema.js';
import { replayChanges } from '../../src/sink/replay.js';
import { readTransactions } from '../../src/source/read-transactions.js';
import { EVERY_TYPE_ROWS, everyTypeTable } from '../harness/every-type-table.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const TABLES = [
  everyTypeTable('rp', { generated: true }),
  `CREATE TABLE rp.pairs (a INT NOT NULL, b VARCHAR(10) CHARACTER SET utf8mb4 NOT NULL, v DECIMAL(10,2) NOT NULL,
    note VARCHAR(20) NULL, PRIMARY KEY (a, b)) ENGINE=InnoDB`,
  'CREATE TABLE rp.dec_pk (k DECIMAL(20,5) NOT NULL PRIMARY KEY, t TIMESTAMP(3) NULL, v VARCHAR(10)) ENGINE=InnoDB',
];

/** Extremes and awkward values of every type (`g` is generated, so not listed). */
const ROWS = EVERY_TYPE_ROWS;
const EVERY_COLUMNS = 'id, i_s, i_u, ti, ti_u, bi, bi_u, dec65, f, d, b12, b64, y, dt, tm, dtm, ts, ts0, c, vc, l1, bn, vb, bl, tx, e, st, j, u, ip';

/** The workload on the primary: inserts (single and multi-row), updates incl. PK changes, deletes, re-inserts. */
const WORKLOAD = [
  `INSERT INTO rp.every_type (${EVERY_COLUMNS}) VALUES ${ROWS[0]}`,
  `INSERT INTO rp.every_type (${EVERY_COLUMNS}) VALUES ${ROWS.slice(1).join(', ')}`,
  "UPDATE rp.every_type SET i_s = i_s - 1, dec65 = '1.5', f = 3.25, j = '{\"k\": [true, false]}', e = 'large', st = 'a,b', ts = '2030-06-01 12:00:00.123456' WHERE id = 3",
  'UPDATE rp.every_type SET id = 50 WHERE id = 5',
  "UPDATE rp.every_type SET tx = CONCAT(IFNULL(tx, ''), ' ✓'), bl = X'DEADBEEF'",
  'DELETE FROM rp.every_type WHERE id = 2',
  `INSERT INTO rp.every_type (${EVERY_COLUMNS}) VALUES ${ROWS[1]}`,
  'UPDATE rp.every_type SET id = 6 WHERE id = 50',
  `INSERT INTO rp.pairs VALUES ${Array.from({ length: 300 }, (_, i) => `(${i % 100}, '${['x', 'y', 'ü'][Math.floor(i / 100)]}', ${i}.25, ${i % 7 === 0 ? 'NULL' : `'n${i}'`})`).join(', ')}`,
  "UPDATE rp.pairs SET b = 'z' WHERE a = 1 AND b = 'x'",
  "UPDATE rp.pairs SET v = v + 1, note = 'bumped' WHERE a BETWEEN 10 AND 30",
  'DELETE FROM rp.pairs WHERE a < 8',
  "INSERT INTO rp.pairs VALUES (1, 'x', 9.99, 'again')",
  // A key change that moves a row onto a key deleted just before: order must be kept.
  "DELETE FROM rp.pairs WHERE a = 40 AND b = 'y'",
  "UPDATE rp.pairs SET b = 'y' WHERE a = 40 AND b = 'x'",
  "INSERT INTO rp.dec_pk VALUES (123456789012345.12345, '2001-02-03 04:05:06.789', 'a'), (-0.00001, NULL, 'b'), (0, '1999-12-31 23:59:59.999', 'c')",
  "UPDATE rp.dec_pk SET v = 'changed', t = '2020-01-01 00:00:00.001' WHERE k = 123456789012345.12345",
  'DELETE FROM rp.dec_pk WHERE k = -0.00001',
];

let primary: MariadbServer;
let dr: MariadbServer;
let session: SqlSession;
let catalog: SchemaCatalog;
/** Each source transaction's row changes to the rp schema, in binlog order. */
const transactions: RowChange[][] = [];

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'replay-primary' }), startMariadb({ name: 'replay-dr', binlog: false })]);
  for (const server of [primary, dr]) {
    await server.query('CREATE DATABASE rp');
    for (const ddl of TABLES) await server.query(ddl);
  }
  for (const sql of WORKLOAD) await primary.query(sql);
  await primary.flushBinaryLogs();
  for await (const batch of readTransactions(await primary.binlogFiles())) {
    for (const item of batch.items) {
      if (item.kind !== 'transaction') continue;
      const changes = item.tx.changes.filter((ch) => ch.table.schema === 'rp');
      if (changes.length > 0) transactions.push(changes);
    }
  }
  session = await openSession(dr.target);
  // A session zone far from UTC: TIMESTAMPs (UTC in the binlog) must still land on the same instant.
  await session.query("SET time_zone = '+05:30'");
  catalog = await introspectSchemas(session, ['rp']);
}, 120_000);

afterAll(async () => {
  await session?.end();
  await Promise.all([primary?.stop(), dr?.stop()]);
});

/** Every column as exact text: numbers and temporals as the server prints them, FLOAT widened, TIMESTAMP as epoch seconds, the rest as hex bytes. */
function exactSelect(table: TableSchema): string {
  const cols = table.columns.map((c) => {
    const id = '`' + c.name + '`';
    switch (c.dataType) {
      case 'float':
        return `CAST(CAST(${id} AS DOUBLE) AS CHAR)`;
      case 'timestamp':
        return `CAST(UNIX_TIMESTAMP(${id}) AS CHAR)`;
      case 'bit':
        return `HEX(${id})`;
      case 'char':
      case 'varchar':
      case 'text':
      case 'longtext':
      case 'binary':
      case 'varbinary':
      case 'blob':
      case 'enum':
      case 'set':
      case 'uuid':
      case 'inet6':
        return `HEX(${id})`;
      default:
        return `CAST(${id} AS CHAR)`;
    }
  });
  return `SELECT ${cols.map((s, i) => `${s} AS c${i}`).join(', ')} FROM rp.${table.table} ORDER BY ${table.primaryKey!.map((k) => '`' + k + '`').join(', ')}`;
}

async function checksum(server: MariadbServer, table: string): Promise<string> {
  const rows = await server.query<Array<{ Checksum: string } & RowDataPacket>>(`CHECKSUM TABLE rp.${table}`);
  return String(rows[0]!.Checksum);
}

describe('replayChanges', () => {
  it('decodes the whole workload from the primary binlog', () => {
    const all = transactions.flat();
    expect(transactions).toHaveLength(WORKLOAD.length);
    expect(all.filter((c) => c.op === 'insert')).toHaveLength(5 + 1 + 300 + 1 + 3);
    expect(all.filter((c) => c.op === 'delete')).toHaveLength(1 + 24 + 1 + 1);
    expect(all.filter((c) => c.op === 'update')).toHaveLength(1 + 1 + 5 + 1 + 1 + 63 + 1 + 1);
  });

  it('replays every change into the DR: CHECKSUM TABLE and exact rows equal the primary', async () => {
    let inserted = 0;
    let updated = 0;
    let deleted = 0;
    for (const changes of transactions) {
      // Small chunks, so the multi-row INSERTs and batched DELETEs span several statements.
      const stats = await transaction(session, (s) => replayChanges(s, catalog, changes, { maxRows: 7 }));
      inserted += stats.inserted;
      updated += stats.updated;
      deleted += stats.deleted;
    }
    expect({ inserted, updated, deleted }).toEqual({ inserted: 310, updated: 74, deleted: 27 });
    for (const table of catalog.tables) {
      const sql = exactSelect(table);
      const [want, got] = await Promise.all([primary.query(sql), dr.query(sql)]);
      expect(got).toEqual(want);
      expect(await checksum(dr, table.table)).toBe(await checksum(primary, table.table));
    }
    const counts = await dr.query<Array<{ n: number } & RowDataPacket>>(
      'SELECT (SELECT COUNT(*) FROM rp.every_type) AS e, (SELECT COUNT(*) FROM rp.pairs) AS p, (SELECT COUNT(*) FROM rp.dec_pk) AS d',
    );
    expect(counts[0]).toEqual({ e: '5', p: '276', d: '2' });
  });

  it('writes the extremes exactly (spot checks against literal text)', async () => {
    const rows = await dr.query(
      "SELECT id, CAST(bi_u AS CHAR) AS bi_u, CAST(b64 + 0 AS CHAR) AS b64, CAST(dec65 AS CHAR) AS dec65, CAST(CAST(f AS DOUBLE) AS CHAR) AS f, CAST(d AS CHAR) AS d, HEX(vc) AS vc, HEX(l1) AS l1, e, st, CAST(j AS CHAR) AS j, CAST(UNIX_TIMESTAMP(ts) AS CHAR) AS ts, CAST(g AS CHAR) AS g FROM rp.every_type WHERE id IN (2, 3) ORDER BY id",
    );
    expect(rows).toEqual([
      {
        id: 2, bi_u: '18446744073709551615', b64: '18446744073709551615', dec65: '99999999999999999999999999999999999.999999999999999999999999999999',
        f: '0.10000000149011612', d: '1.7976931348623157e308', vc: Buffer.from('trail  ').toString('hex').toUpperCase(), l1: '8C757672652080',
        e: 'large', st: 'a,c', j: '[]', ts: '2147483647.999999', g: '2147483648',
      },
      {
        id: 3, bi_u: '9007199254740992', b64: '9007199254740993', dec65: '1.500000000000000000000000000000', f: '3.25', d: '5e-324',
        vc: '', l1: '78', e: 'large', st: 'a,b', j: '{"k": [true, false]}', ts: '1906545600.123456', g: '0',
      },
    ]);
  });

  it('is not idempotent: a second replay surfaces the duplicate key as DB_DUPLICATE, and rolls back', async () => {
    const all = transactions.flat();
    await expect(transaction(session, (s) => replayChanges(s, catalog, all))).rejects.toMatchObject({ code: 'DB_DUPLICATE', details: { errno: 1062 } });
    for (const table of catalog.tables) expect(await checksum(dr, table.table)).toBe(await checksum(primary, table.table));
  });

  it('refuses to write a JSON partial update (DB_WRITE_JSON_PATCH) and a row of the wrong width', async () => {
    const table = catalog.get('rp', 'every_type')!;
    const row: RowImage = Array.from({ length: table.columns.length }, (_, i) => (i === 0 ? 99 : null));
    row[27] = new JsonPatch([{ op: 'remove', path: '$.a' }]);
    await expect(writeInserts(session, table, [row])).rejects.toMatchObject({ code: 'DB_WRITE_JSON_PATCH' });
    await expect(writeInserts(session, table, [[99]])).rejects.toMatchObject({ code: 'DB_WRITE_BAD_ROW' });
  });

  it('builds the statements it documents: chunks by rows and bytes, partial images, composite keys', async () => {
    const pairs = catalog.get('rp', 'pairs')!;
    // Values are written into the text (db/sql-literal.ts), as mysql2 wrote them for placeholders: no params are sent.
    const seen: string[] = [];
    const recording: SqlSession = {
      query: (sql, params) => {
        expect(params ?? []).toEqual([]);
        seen.push(sql);
        return session.query(sql, params);
      },
      end: () => session.end(),
      destroy: () => session.destroy(),
    };
    await session.query('START TRANSACTION');
    try {
      const inserted = await writeInserts(recording, pairs, [
        [1000, 'p', '1.50', undefined],
        [1001, 'p', '2.50', undefined],
        [1002, 'p', '3.50', 'n'],
        [1003, 'p', '4.50', null],
        [1004, 'p', '5.50', 'm'],
      ], { maxRows: 2 });
      expect(inserted).toBe(5);
      expect(await writeUpdates(recording, pairs, [{ key: [1000, 'p'], set: { v: '9.99', note: 'u' } }])).toBe(1);
      expect(await writeDeletes(recording, pairs, [[1000, 'p'], [1001, 'p'], [1002, 'p']])).toBe(3);
      expect(await writeDeletes(recording, pairs, [[1003, 'p']], { maxBytes: 1 })).toBe(1);
      expect(await writeInserts(recording, pairs, [[1005, 'q', '1.00', 'a'], [1006, 'q', '1.00', 'b']], { maxBytes: 1 })).toBe(2);
    } finally {
      await session.query('ROLLBACK');
    }
    expect(seen).toEqual([
      "INSERT INTO `rp`.`pairs` (`a`, `b`, `v`) VALUES (1000, 'p', '1.50'), (1001, 'p', '2.50')",
      "INSERT INTO `rp`.`pairs` (`a`, `b`, `v`, `note`) VALUES (1002, 'p', '3.50', 'n'), (1003, 'p', '4.50', NULL)",
      "INSERT INTO `rp`.`pairs` (`a`, `b`, `v`, `note`) VALUES (1004, 'p', '5.50', 'm')",
      "UPDATE `rp`.`pairs` SET `v` = '9.99', `note` = 'u' WHERE `a` = 1000 AND `b` = 'p'",
      "DELETE FROM `rp`.`pairs` WHERE (`a`, `b`) IN ((1000, 'p'), (1001, 'p'), (1002, 'p'))",
      "DELETE FROM `rp`.`pairs` WHERE `a` = 1003 AND `b` = 'p'",
      "INSERT INTO `rp`.`pairs` (`a`, `b`, `v`, `note`) VALUES (1005, 'q', '1.00', 'a')",
      "INSERT INTO `rp`.`pairs` (`a`, `b`, `v`, `note`) VALUES (1006, 'q', '1.00', 'b')",
    ]);
    const decPk = catalog.get('rp', 'dec_pk')!;
    seen.length = 0;
    await session.query('START TRANSACTION');
    try {
      expect(await writeDeletes(recording, decPk, [['0.00000'], ['1.00000']])).toBe(1);
    } finally {
      await session.query('ROLLBACK');
    }
    expect(seen[0]).toBe("DELETE FROM `rp`.`dec_pk` WHERE `k` IN (CAST('0.00000' AS DECIMAL(20,5)), CAST('1.00000' AS DECIMAL(20,5)))");
  });
});
