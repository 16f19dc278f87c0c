/**
 * Decoder bugs the round-trip suite found against a real MariaDB 10.11, each kept as a plain test
 * with the exact value the server returns. Also edge cases worth pinning outside the generator:
 * a table wider than 250 columns (3-byte column count in TABLE_MAP).
 */
import fc from 'fast-check';
import { CharsetText } from '../../src/binlog/values/charset-text.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { BinlogError } from '../../src/errors.js';
import { parseConnectionUrl } from '../../src/db/connection-url.js';
import { loadSchemaHints } from '../../src/db/schema-hints.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { spec } from './column-catalog.js';
import { cellProblem, selectExpr, showExpected, showValue } from './exact-compare.js';
import { decodedChanges } from './server-workload.js';

const DB = 'regress';

let full: MariadbServer;
let noLog: MariadbServer;
let oldTemporal: MariadbServer;

beforeAll(async () => {
  [full, noLog, oldTemporal] = await Promise.all([
    startMariadb({ name: 'regress-full' }),
    startMariadb({ name: 'regress-nolog', rowMetadata: 'NO_LOG' }),
    startMariadb({ name: 'regress-oldtemporal', extraArgs: ['--mysql56-temporal-format=OFF'] }),
  ]);
  await Promise.all([full, noLog, oldTemporal].map((s) => s.query(`CREATE DATABASE ${DB}`)));
});

afterAll(async () => {
  await Promise.all([full?.stop(), noLog?.stop(), oldTemporal?.stop()]);
});

describe('ENUM/SET labels of a non-UTF-8 column (binlog_row_metadata=FULL)', () => {
  // Bug: TABLE_MAP ENUM_STR_VALUE/SET_STR_VALUE labels are in the column's charset; they are read as UTF-8.
  it('decodes latin1 labels as the server returns them', async () => {
    await full.query(`CREATE TABLE ${DB}.labels (id INT PRIMARY KEY, e ENUM('café','naïve') CHARACTER SET latin1, s SET('Größe','€uro','ÿ') CHARACTER SET latin1)`);
    await full.query(`INSERT INTO ${DB}.labels VALUES (1, 'café', 'Größe,€uro,ÿ'), (2, 'naïve', '')`);
    const rows = await full.query<RowDataPacket[]>(`SELECT e, s FROM ${DB}.labels ORDER BY id`);
    expect(rows.map((r) => [r['e'], r['s']])).toEqual([['café', 'Größe,€uro,ÿ'], ['naïve', '']]);
    const changes = await decodedChanges(full, DB, 'labels');
    expect(changes[0]!.table.columns[1]!.enumLabels).toEqual(['café', 'naïve']);
    expect(changes[0]!.table.columns[2]!.setLabels).toEqual(['Größe', '€uro', 'ÿ']);
    expect(changes.map((c) => c.after)).toEqual([
      [1, 'café', 'Größe,€uro,ÿ'],
      [2, 'naïve', ''],
    ]);
  });
});

describe('single-byte charsets decode as MariaDB maps them', () => {
  // Bug: these went through Node's decoder of the same name, which maps some bytes to other
  // characters (koi8u 0x95, greek 0xA1, hebrew 0xAF, cp866 0xFC, tis620 0x80 round-trip through the
  // server as other text), maps bytes the server cannot map to characters instead of '?' (ascii
  // 0x80, cp1256 0x8A), and for cp866 swaps 0x1A, 0x1C and 0x7F (ICU's IBM convention).
  it('gives the characters CONVERT(… USING utf8mb4) gives', async () => {
    const cols = { k: 'koi8u', g: 'greek', h: 'hebrew', c: 'cp866', t: 'tis620', a: 'ascii', r: 'cp1256' } as const;
    const bytes = { k: '95C1', g: 'A1A2C1', h: 'AFE0', c: 'FCFD1A1C7F80', t: '808597A0A1', a: '4180FF', r: '8AC7' } as const;
    await full.query(`CREATE TABLE ${DB}.sbcs (id INT PRIMARY KEY, ${Object.entries(cols).map(([c, cs]) => `${c} VARCHAR(20) CHARACTER SET ${cs}`).join(', ')})`);
    await full.query(`INSERT INTO ${DB}.sbcs VALUES (1, ${Object.entries(cols).map(([c, cs]) => `_${cs} X'${bytes[c as keyof typeof bytes]}'`).join(', ')})`);
    const [row] = await full.query<RowDataPacket[]>(`SELECT ${Object.keys(cols).map((c) => `HEX(CONVERT(${c} USING utf8mb4)) ${c}`).join(', ')} FROM ${DB}.sbcs`);
    const fromServer = Object.keys(cols).map((c) => Buffer.from(String(row![c]), 'hex').toString('utf8'));
    expect(fromServer).toEqual(['\u2022а', '\u02bd\u02bcΑ', '\u203eא', '\u207f\u00b2\x1a\x1c\x7fА', '\x80\x85\x97\ufffdก', 'A??', '?ا']);
    const changes = await decodedChanges(full, DB, 'sbcs');
    expect(changes.map((ch) => ch.after!.slice(1))).toEqual([fromServer]);
  });
});

describe('a TIMESTAMP of 0 seconds and a fraction', () => {
  // Bug: 1970-01-01 00:00:00.5 UTC (0 seconds, a fraction; MariaDB accepts it) decoded as the zero
  // timestamp. (MariaDB's pre-10.1 layout, which other tests here decode with the server's schema,
  // is pinned by decode-value.test.ts: a table of it here would break their whole-binlog reads.)
  it('is 1970-01-01 00:00:00.f, not 0000-00-00', async () => {
    await full.query(`CREATE TABLE ${DB}.epoch (id INT PRIMARY KEY, t1 TIMESTAMP(1) NULL, t6 TIMESTAMP(6) NULL)`);
    // UTC for these statements only: the connection is shared with the other tests.
    await full.query(`SET @tz = @@session.time_zone; SET time_zone = '+00:00'; INSERT INTO ${DB}.epoch VALUES (1, '1970-01-01 00:00:00.5', '1970-01-01 00:00:00.000001')`);
    const rows = await full.query<RowDataPacket[]>(`SELECT CAST(t1 AS CHAR) t1, CAST(t6 AS CHAR) t6 FROM ${DB}.epoch`);
    await full.query('SET time_zone = @tz');
    expect(rows.map((r) => [r['t1'], r['t6']])).toEqual([['1970-01-01 00:00:00.5', '1970-01-01 00:00:00.000001']]);
    const changes = await decodedChanges(full, DB, 'epoch');
    expect(changes.map((ch) => ch.after)).toEqual([[1, '1970-01-01 00:00:00.5', '1970-01-01 00:00:00.000001']]);
  });
});

describe('Japanese charsets decode as MariaDB maps them', () => {
  // Bug: sjis/cp932 go through ICU's shift_jis, which swaps the control bytes 0x1A, 0x1C and 0x7F;
  // sjis also differs from MariaDB's table (WHATWG's shift_jis is cp932) and ujis from WHATWG euc-jp.
  it('sjis, cp932 and ujis bytes give the characters CONVERT(… USING utf8mb4) gives', async () => {
    await full.query(`CREATE TABLE ${DB}.jp (id INT PRIMARY KEY, s VARCHAR(20) CHARACTER SET sjis, c VARCHAR(20) CHARACTER SET cp932, u VARCHAR(20) CHARACTER SET ujis)`);
    await full.query(`INSERT INTO ${DB}.jp VALUES (1, _sjis X'1A1C7F', _cp932 X'1A1C7F', _ujis X'1A1C7F'), (2, _sjis X'815F81608161817C8191819281CA', _cp932 X'815F8160', _ujis X'A1C0A1C1A1C2A1DD')`);
    const rows = await full.query<RowDataPacket[]>(`SELECT HEX(CONVERT(s USING utf8mb4)) s, HEX(CONVERT(c USING utf8mb4)) c, HEX(CONVERT(u USING utf8mb4)) u FROM ${DB}.jp ORDER BY id`);
    const fromServer = rows.map((r) => [Buffer.from(String(r['s']), 'hex').toString('utf8'), Buffer.from(String(r['c']), 'hex').toString('utf8'), Buffer.from(String(r['u']), 'hex').toString('utf8')]);
    const expected = [
      ['\x1a\x1c\x7f', '\x1a\x1c\x7f', '\x1a\x1c\x7f'],
      ['\\\u301c\u2016\u2212\u00a2\u00a3\u00ac', '\uff3c\uff5e', '\\\u301c\u2016\u2212'],
    ];
    expect(fromServer).toEqual(expected);
    const changes = await decodedChanges(full, DB, 'jp');
    // A value holding a code the server maps one way only (ujis A1C0 reads as \) keeps its bytes beside its text.
    expect(changes.map((c) => c.after?.slice(1).map((v) => (v instanceof CharsetText ? v.text : v)))).toEqual(expected);
    expect(changes[1]!.after![3]).toEqual(new CharsetText('\\\u301c\u2016\u2212', Buffer.from('a1c0a1c1a1c2a1dd', 'hex'), 'ujis'));
  });
});

describe('schema hints for binlog_row_metadata=NO_LOG', () => {
  // Bug (src/db/schema-hints.ts): UUID/INET6/INET4 get no collation, so the decoder cannot restore
  // the 0x00 bytes the binlog strips from fixed binary values; and ENUM/SET labels are read from
  // information_schema (utf8mb3), where 4-byte characters become '?'.
  it('decodes UUID, INET6 and INET4 with their trailing zero bytes', async () => {
    await noLog.query(`CREATE TABLE ${DB}.fixed (id INT PRIMARY KEY, u UUID, i6 INET6, i4 INET4, b BINARY(4))`);
    await noLog.query(`INSERT INTO ${DB}.fixed VALUES (1, '00000000-0000-0000-0000-000000000000', '::', '0.0.0.0', X'00'), (2, 'c976cb5e-8307-0a87-0231-028b05a57b00', 'fe80::1:0:0:0', '10.0.0.0', X'0100')`);
    const hints = await loadSchemaHints(parseConnectionUrl(noLog.url, 'test'));
    const changes = await decodedChanges(noLog, DB, 'fixed', hints);
    expect(changes.map((c) => c.after?.slice(1).map((v) => (Buffer.isBuffer(v) ? v.toString('hex') : v)))).toEqual([
      ['00000000000000000000000000000000', '00000000000000000000000000000000', '00000000', '00000000'],
      ['c976cb5e83070a870231028b05a57b00', 'fe800000000000000001000000000000', '0a000000', '01000000'],
    ]);
  });

  it('keeps 4-byte characters of ENUM and SET labels', async () => {
    await noLog.query(`CREATE TABLE ${DB}.emoji (id INT PRIMARY KEY, e ENUM('😀 grin','plain') CHARACTER SET utf8mb4, s SET('😀','b') CHARACTER SET utf8mb4)`);
    await noLog.query(`INSERT INTO ${DB}.emoji VALUES (1, '😀 grin', '😀,b')`);
    const hints = await loadSchemaHints(parseConnectionUrl(noLog.url, 'test'));
    const changes = await decodedChanges(noLog, DB, 'emoji', hints);
    expect(changes.map((c) => c.after)).toEqual([[1, '😀 grin', '😀,b']]);
  });
});

describe('MariaDB 5.3 hires temporal columns (mysql56_temporal_format=OFF)', () => {
  // Bug: TIME(n)/DATETIME(n)/TIMESTAMP(n) with n > 0 in MariaDB's pre-10.1 format carry no
  // fractional precision in TABLE_MAP (metadata length 0), so the decoder reads them as the old
  // fsp-0 formats: it throws CORRUPT_EVENT or misreads. Tables created before 10.1 keep this
  // format after an upgrade. The precision has to come from the schema.
  it('fsp 0 columns (the old formats) decode exactly', async () => {
    await oldTemporal.query(`CREATE TABLE ${DB}.old0 (id INT PRIMARY KEY, a DATETIME, b TIME, c TIMESTAMP NULL)`);
    await oldTemporal.query(`INSERT INTO ${DB}.old0 VALUES (1, '2024-01-02 03:04:05', '-838:59:59', '2038-01-19 03:14:07'), (2, '0000-00-00 00:00:00', '12:34:56', '0000-00-00 00:00:00')`);
    const changes = await decodedChanges(oldTemporal, DB, 'old0');
    expect(changes.map((c) => c.after)).toEqual([
      [1, '2024-01-02 03:04:05', '-838:59:59', '2038-01-19 03:14:07'],
      [2, '0000-00-00 00:00:00', '12:34:56', '0000-00-00 00:00:00'],
    ]);
  });

  it('fsp 1–6 columns decode exactly with schema hints', async () => {
    await oldTemporal.query(`CREATE TABLE ${DB}.hires (id INT PRIMARY KEY, a DATETIME(3), b TIME(2), c TIMESTAMP(6) NULL)`);
    await oldTemporal.query(`INSERT INTO ${DB}.hires VALUES (1, '2024-01-02 03:04:05.123', '-00:00:00.50', '2020-01-01 00:00:00.000001'), (2, '9999-12-31 23:59:59.999', '838:59:59.99', '2038-01-19 03:14:07.999999')`);
    const hints = await loadSchemaHints(parseConnectionUrl(oldTemporal.url, 'test'));
    const changes = await decodedChanges(oldTemporal, DB, 'hires', hints);
    expect(changes.map((c) => c.after)).toEqual([
      [1, '2024-01-02 03:04:05.123', '-00:00:00.50', '2020-01-01 00:00:00.000001'],
      [2, '9999-12-31 23:59:59.999', '838:59:59.99', '2038-01-19 03:14:07.999999'],
    ]);
  });
});

describe('MariaDB 5.3 hires temporal columns without schema hints', () => {
  it('fail with a BinlogError rather than decode a wrong value', async () => {
    await oldTemporal.query(`CREATE TABLE ${DB}.hires6 (id INT PRIMARY KEY, a DATETIME(6), t TIME(6))`);
    await oldTemporal.query(`INSERT INTO ${DB}.hires6 VALUES (1, '2024-01-02 03:04:05.123456', '12:00:00')`);
    await expect(decodedChanges(oldTemporal, DB, 'hires6')).rejects.toBeInstanceOf(BinlogError);
  });
});

describe('values only a non-strict sql_mode can store', () => {
  it('decodes them as SELECT returns them', async () => {
    const conn = await full.connect();
    try {
      await conn.query("SET SESSION sql_mode = 'ALLOW_INVALID_DATES'");
      await conn.query(`CREATE TABLE ${DB}.lax (id INT PRIMARY KEY, e ENUM('a','b'), d DATE, dt DATETIME(2), y YEAR, dec1 DECIMAL(5,2), c CHAR(0), t TIME(1))`);
      // 'zz' is not a label: the server stores the error value '' (index 0); Feb 30 is kept as written.
      await conn.query(`INSERT INTO ${DB}.lax VALUES (1, 'zz', '2021-02-30', '2021-04-31 10:00:00.5', 0, -0.00, '', '-00:00:00.1'), (2, 'b', '2021-00-00', '0000-00-00 00:00:00', 2155, 999.999, NULL, '838:59:59.9')`);
    } finally {
      await conn.end();
    }
    const kinds = [spec({ family: 'ENUM', ddl: 'ENUM', kind: 'enum', value: fc.constant('') }), ...['DATE', 'DATETIME', 'YEAR', 'DECIMAL', 'CHAR', 'TIME'].map((f) => spec({ family: f, ddl: f, kind: f === 'YEAR' ? 'year' : f === 'DECIMAL' ? 'decimal' : f === 'CHAR' ? 'text' : 'temporal', value: fc.constant('') }))];
    const names = ['e', 'd', 'dt', 'y', 'dec1', 'c', 't'];
    const rows = await full.query<RowDataPacket[]>(`SELECT ${names.map((n, i) => `${selectExpr(kinds[i]!, n)} AS x${i}`).join(', ')} FROM ${DB}.lax ORDER BY id`);
    const changes = await decodedChanges(full, DB, 'lax');
    const problems: string[] = [];
    changes.forEach((ch, r) => {
      names.forEach((n, i) => {
        const want = (rows[r]![`x${i}`] ?? null) as string | null;
        const got = ch.after![i + 1]!;
        const p = cellProblem(kinds[i]!, want, got);
        if (p !== null) problems.push(`row ${r + 1} ${n}: ${p}; SELECT ${showExpected(want)}, decoded ${showValue(got)}`);
      });
    });
    expect(problems).toEqual([]);
    expect(changes.map((c) => c.after)).toEqual([
      [1, '', '2021-02-30', '2021-04-31 10:00:00.50', 0, '0.00', '', '-00:00:00.1'],
      [2, 'b', '2021-00-00', '0000-00-00 00:00:00.00', 2155, '999.99', null, '838:59:59.9'],
    ]);
  });
});

describe('a table wider than 250 columns', () => {
  it('decodes all 300 columns of inserts, updates and deletes', async () => {
    const cols = Array.from({ length: 299 }, (_, i) => `c${i} ${['TINYINT', 'VARCHAR(3)', 'INT UNSIGNED', 'DATE'][i % 4]} NULL`);
    await full.query(`CREATE TABLE ${DB}.wide (id INT PRIMARY KEY, ${cols.join(', ')})`);
    const value = (i: number, row: number): string | number | null => ((i + row) % 7 === 0 ? null : [(i + row) % 100, `v${row}`, 4294967295 - row, '2024-02-29'][i % 4]!);
    const literal = (v: string | number | null) => (v === null ? 'NULL' : typeof v === 'string' ? `'${v}'` : String(v));
    for (const row of [1, 2]) await full.query(`INSERT INTO ${DB}.wide VALUES (${row}, ${Array.from({ length: 299 }, (_, i) => literal(value(i, row))).join(', ')})`);
    await full.query(`UPDATE ${DB}.wide SET c298 = NULL, c1 = 'upd' WHERE id = 1`);
    await full.query(`DELETE FROM ${DB}.wide WHERE id = 2`);
    const changes = await decodedChanges(full, DB, 'wide');
    const row = (r: number) => [r, ...Array.from({ length: 299 }, (_, i) => value(i, r))];
    const updated = row(1);
    updated[299] = null;
    updated[2] = 'upd';
    expect(changes.map((c) => [c.op, c.before, c.after])).toEqual([
      ['insert', null, row(1)],
      ['insert', null, row(2)],
      ['update', row(1), updated],
      ['delete', row(2), null],
    ]);
  });
});
