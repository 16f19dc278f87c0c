import fc from 'fast-check';
import mysql from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import type { ColumnValue, RowImage } from '../binlog/column.js';
import { stringifyCanonical, type CanonicalValue } from '../binlog/values/canonical-json.js';
import { JsonValue } from '../binlog/values/json-value.js';
import type { ColumnSchema, TableSchema } from '../model/table-schema.js';
import { writeDeletes, writeInserts, writeUpdates, writeUpdatesBatched } from './row-writer.js';
import type { SqlSession } from './sql-session.js';

// The writer splices literals into its statements itself; what the DR receives must stay the text
// mysql2 sent when the same statements carried `?` placeholders and bound values. Each expectation
// below is that older form — template and values — formatted as the session's formatter did
// (mysql2's `format` with stringifyObjects off and the time zone 'Z', sql-session.ts).

const mysql2Format = mysql.format as unknown as (sql: string, values: unknown, stringifyObjects: boolean, timezone: string) => string;
const viaMysql2 = (template: string, params: readonly unknown[]): string => mysql2Format(template, [...params], false, 'Z');

function column(name: string, dataType: string, columnType = dataType, extra: Partial<ColumnSchema> = {}): ColumnSchema {
  return {
    name,
    ordinal: 0,
    dataType,
    columnType,
    nullable: true,
    unsigned: false,
    collation: null,
    collationId: null,
    isAutoIncrement: false,
    isGenerated: false,
    default: null,
    onUpdateCurrentTimestamp: false,
    isJson: dataType === 'json',
    ...extra,
  };
}

function table(name: string, columns: readonly ColumnSchema[], primaryKey: readonly string[] | null): TableSchema {
  return {
    schema: 's?',
    table: name,
    columns: columns.map((c, i) => ({ ...c, ordinal: i + 1 })),
    primaryKey,
    uniqueKeys: [],
    foreignKeys: [],
    autoIncrement: null,
    engine: 'InnoDB',
  };
}

/** A table of every type the writer treats apart, with a `?` and a backtick in its names. */
const everyType = table(
  'every`type',
  [
    column('id', 'bigint', 'bigint(20) unsigned'),
    column('d', 'decimal', 'decimal(10,2)'),
    column('f', 'float'),
    column('dbl', 'double'),
    column('s?', 'varchar', 'varchar(50)'),
    column('b', 'blob'),
    column('j', 'json'),
    column('ts', 'timestamp', 'timestamp(6)'),
    column('bit', 'bit', 'bit(64)'),
    column('gen', 'int', 'int(11)', { isGenerated: true }),
  ],
  ['id'],
);
/** A composite key with a DECIMAL part, compared through its CAST, and a TIMESTAMP part. */
const composite = table('pairs', [column('k', 'decimal', 'decimal(20,5)'), column('t', 'timestamp'), column('v', 'varchar', 'varchar(10)')], ['k', 't']);

const TS = "CONVERT_TZ(?, '+00:00', @@session.time_zone)";

function recorder(): { readonly session: SqlSession; readonly seen: string[] } {
  const seen: string[] = [];
  const session: SqlSession = {
    query: (sql, params) => {
      expect(params === undefined || params.length === 0).toBe(true);
      seen.push(sql);
      return Promise.resolve({ rows: [], affectedRows: 1, insertId: 0 });
    },
    end: () => Promise.resolve(),
    destroy: () => undefined,
  };
  return { session, seen };
}

const SPECIAL = "a'b\"c\\d\0e\nf\rg\x1ah\bi\tj?k`l😀";
const DOC = new JsonValue({ k: ["it's", 1, 'back\\slash'], n: null });
const row1: RowImage = [18446744073709551615n, '-12345678.90', 0.1, 5e-324, SPECIAL, Buffer.from([0, 0x27, 0x5c, 0xff]), DOC, '2038-01-19 03:14:07.999999', 2n ** 63n, 7];
const row2: RowImage = [1, null, -3.25, -0, '', Buffer.alloc(0), null, null, 4095, null];

describe('row writer statements', () => {
  it('writes the text mysql2 wrote for placeholders: multi-row INSERT, every type, wrappers, generated columns left out', async () => {
    const { session, seen } = recorder();
    await writeInserts(session, everyType, [row1, row2]);
    const tuple = `(?, ?, ?, ?, ?, ?, ?, ${TS}, ?)`;
    const bound = (r: RowImage): unknown[] => [r[0], r[1], Math.fround(r[2] as number), r[3], r[4], r[5], r[6] === null ? null : stringifyCanonical(DOC as unknown as CanonicalValue), r[7], r[8]];
    expect(seen).toEqual([viaMysql2(`INSERT INTO \`s?\`.\`every\`\`type\` (\`id\`, \`d\`, \`f\`, \`dbl\`, \`s?\`, \`b\`, \`j\`, \`ts\`, \`bit\`) VALUES ${tuple}, ${tuple}`, [...bound(row1), ...bound(row2)])]);
    expect(seen[0]).toContain("X'00275cff'");
  });

  it('splits INSERTs where the logged columns change, and by rows', async () => {
    const { session, seen } = recorder();
    const partial: RowImage = [2, undefined, undefined, undefined, 'x', undefined, undefined, undefined, 1, undefined];
    await writeInserts(session, everyType, [partial, partial, row2, partial], { maxRows: 1 });
    await writeInserts(session, everyType, [partial, partial, row2, partial]);
    const short = 'INSERT INTO `s?`.`every``type` (`id`, `s?`, `bit`) VALUES ';
    const full = `INSERT INTO \`s?\`.\`every\`\`type\` (\`id\`, \`d\`, \`f\`, \`dbl\`, \`s?\`, \`b\`, \`j\`, \`ts\`, \`bit\`) VALUES (?, ?, ?, ?, ?, ?, ?, ${TS}, ?)`;
    const fullParams = [1, null, -3.25, -0, '', Buffer.alloc(0), null, null, 4095];
    expect(seen).toEqual([
      viaMysql2(`${short}(?, ?, ?)`, [2, 'x', 1]),
      viaMysql2(`${short}(?, ?, ?)`, [2, 'x', 1]),
      viaMysql2(full, fullParams),
      viaMysql2(`${short}(?, ?, ?)`, [2, 'x', 1]),
      viaMysql2(`${short}(?, ?, ?), (?, ?, ?)`, [2, 'x', 1, 2, 'x', 1]),
      viaMysql2(full, fullParams),
      viaMysql2(`${short}(?, ?, ?)`, [2, 'x', 1]),
    ]);
  });

  it('writes UPDATE by key and DELETE as mysql2 did, with the key CAST to its DECIMAL and through CONVERT_TZ', async () => {
    const { session, seen } = recorder();
    const t = '2001-02-03 04:05:06';
    await writeUpdates(session, composite, [{ key: ['1.50000', t], set: { v: SPECIAL } }, { key: ['2.00000', t], set: {} }]);
    await writeUpdates(session, everyType, [{ key: [7n], set: { ts: t, f: 0.1, gen: 3, j: new JsonValue(null) } }]);
    await writeDeletes(session, composite, [['1.50000', t]]);
    await writeDeletes(session, composite, [['1.50000', t], ['2.00000', t]]);
    await writeDeletes(session, everyType, [[1], [18446744073709551615n]]);
    const kMatch = `\`k\` = CAST(? AS DECIMAL(20,5)) AND \`t\` = ${TS}`;
    expect(seen).toEqual([
      viaMysql2(`UPDATE \`s?\`.\`pairs\` SET \`v\` = ? WHERE ${kMatch}`, [SPECIAL, '1.50000', t]),
      viaMysql2(`UPDATE \`s?\`.\`every\`\`type\` SET \`ts\` = ${TS}, \`f\` = ?, \`j\` = ? WHERE \`id\` = ?`, [t, Math.fround(0.1), 'null', 7n]),
      viaMysql2(`DELETE FROM \`s?\`.\`pairs\` WHERE ${kMatch}`, ['1.50000', t]),
      viaMysql2(`DELETE FROM \`s?\`.\`pairs\` WHERE (\`k\`, \`t\`) IN ((CAST(? AS DECIMAL(20,5)), ${TS}), (CAST(? AS DECIMAL(20,5)), ${TS}))`, ['1.50000', t, '2.00000', t]),
      viaMysql2('DELETE FROM `s?`.`every``type` WHERE `id` IN (?, ?)', [1, 18446744073709551615n]),
    ]);
  });

  it('writes batched UPDATEs as mysql2 did: one CASE per column, the key in every WHEN and in the IN list', async () => {
    const { session, seen } = recorder();
    const t = '2001-02-03 04:05:06';
    await writeUpdatesBatched(session, composite, [
      { key: ['1.50000', t], set: { v: 'x' } },
      { key: ['2.00000', t], set: { v: null } },
    ]);
    await writeUpdatesBatched(session, composite, [{ key: ['3.00000', t], set: { v: 'y' } }]);
    await expect(writeUpdatesBatched(session, everyType, [{ key: [1], set: { nope: 1 } }])).rejects.toMatchObject({ code: 'DB_WRITE_UNKNOWN_COLUMN' });
    await writeUpdatesBatched(session, everyType, [
      { key: [1], set: { f: 2.5, ts: t } },
      { key: [2n], set: { f: 0.1 } },
      { key: [3], set: { id: 3 } },
    ]);
    const kMatch = `\`k\` = CAST(? AS DECIMAL(20,5)) AND \`t\` = ${TS}`;
    const tuple = `(CAST(? AS DECIMAL(20,5)), ${TS})`;
    expect(seen).toEqual([
      viaMysql2(`UPDATE \`s?\`.\`pairs\` SET \`v\` = CASE WHEN ${kMatch} THEN ? WHEN ${kMatch} THEN ? ELSE \`v\` END WHERE (\`k\`, \`t\`) IN (${tuple}, ${tuple})`, [
        '1.50000', t, 'x', '2.00000', t, null, '1.50000', t, '2.00000', t,
      ]),
      viaMysql2(`UPDATE \`s?\`.\`pairs\` SET \`v\` = CASE WHEN ${kMatch} THEN ? ELSE \`v\` END WHERE ${kMatch}`, ['3.00000', t, 'y', '3.00000', t]),
      viaMysql2(
        `UPDATE \`s?\`.\`every\`\`type\` SET \`f\` = CASE WHEN \`id\` = ? THEN ? WHEN \`id\` = ? THEN ? ELSE \`f\` END, \`ts\` = CASE WHEN \`id\` = ? THEN ${TS} ELSE \`ts\` END WHERE \`id\` IN (?, ?, ?)`,
        [1, 2.5, 2n, Math.fround(0.1), 1, t, 1, 2n, 3],
      ),
    ]);
  });

  it('writes any value of a column as mysql2 did (fast-check)', async () => {
    const value: fc.Arbitrary<ColumnValue> = fc.oneof(
      fc.constant(null),
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.constantFrom("'", '\\', '\0', '?', '😀', '\x1a'),
      fc.double(),
      fc.integer(),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
      fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.integer(), value, value), { minLength: 1, maxLength: 5 }), async (rows) => {
        const t = table('t', [column('id', 'int'), column('a', 'varchar'), column('f', 'float')], ['id']);
        const { session, seen } = recorder();
        await writeInserts(session, t, rows.map(([id, a, f]) => [id, a, typeof f === 'number' ? f : null]));
        await writeUpdates(session, t, rows.map(([id, a]) => ({ key: [id], set: { a } })));
        await writeDeletes(session, t, rows.map(([id]) => [id]));
        const params = rows.flatMap(([id, a, f]) => [id, a, typeof f === 'number' ? Math.fround(f) : null]);
        expect(seen).toEqual([
          viaMysql2(`INSERT INTO \`s?\`.\`t\` (\`id\`, \`a\`, \`f\`) VALUES ${rows.map(() => '(?, ?, ?)').join(', ')}`, params),
          ...rows.map(([id, a]) => viaMysql2('UPDATE `s?`.`t` SET `a` = ? WHERE `id` = ?', [a, id])),
          rows.length === 1 ? viaMysql2('DELETE FROM `s?`.`t` WHERE `id` = ?', [rows[0]![0]]) : viaMysql2(`DELETE FROM \`s?\`.\`t\` WHERE \`id\` IN (${rows.map(() => '?').join(', ')})`, rows.map(([id]) => id)),
        ]);
      }),
      { numRuns: 300 },
    );
  });
});
