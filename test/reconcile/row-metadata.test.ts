/**
 * A primary that logs less than full row metadata: MariaDB's default binlog_row_metadata=NO_LOG
 * (no signedness, charsets, names or labels), MINIMAL (MySQL 8's default: no names, no ENUM/SET
 * labels), and MariaDB's pre-10.1 temporal layouts (mysql56_temporal_format=OFF), whose precision
 * no binlog carries. plan and apply read what the binlog leaves out from the DR.
 *
 * Bugs this pins (each found on real servers): with NO_LOG an INT UNSIGNED of 4000000000 reached
 * the DR as 0 and a BIGINT UNSIGNED of 2^64−1 as 0; text decoded as bytes and an ENUM as its
 * number never equalled the DR's row, so every lost update was "update-diverged" and a change to a
 * text column was lost to the merge (the DR "kept" its own, equal, value); a TIME(2) or
 * TIMESTAMP(3) in the old layout stopped the run as a damaged binlog.
 */
import { describe, expect, it } from 'vitest';
import { inspectBinlogs, type InspectItem } from '../../src/pipeline/inspect.js';
import { salvage } from '../../src/pipeline/salvage.js';
import { loadSchemaHints } from '../../src/db/schema-hints.js';
import { parseConnectionUrl } from '../../src/db/connection-url.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { stageIncident, useServerPair } from '../harness/incident-pair.js';

// The primary's tables keep MariaDB's pre-10.1 TIME/DATETIME/TIMESTAMP layouts.
const servers = useServerPair('rowmeta', { extraArgs: ['--mysql56-temporal-format=OFF'] });

const TABLE = `CREATE TABLE s.t (
  id INT PRIMARY KEY, u INT UNSIGNED, b BIGINT UNSIGNED, m MEDIUMINT UNSIGNED, e ENUM('a','b','c'), st SET('x','y','z'),
  c VARCHAR(10) CHARACTER SET latin1, w VARCHAR(10) CHARACTER SET utf8mb4, k BINARY(4),
  t TIME(2), dt DATETIME(1), ts TIMESTAMP(3) NULL)`;

/** Every column as text the server prints, so the primary's and the DR's rows compare exactly. */
const SELECT = `SELECT id, u, b, m, e, st, HEX(c) c, w, HEX(k) k, CAST(t AS CHAR) t, CAST(dt AS CHAR) dt, CAST(ts AS CHAR) ts FROM s.t ORDER BY id`;

describe.each(['NO_LOG', 'MINIMAL'])('binlog_row_metadata=%s, old temporal layouts', (metadata) => {
  it('apply writes exactly the primary\'s values, and lost updates meet the DR\'s rows as clean', async () => {
    const { primary, dr } = servers;
    await primary.query(`SET GLOBAL binlog_row_metadata = '${metadata}'`);
    await primary.query("SET time_zone = '+00:00'");
    await dr.query("SET time_zone = '+00:00'");
    const staged = await stageIncident(
      primary,
      dr,
      {
        schema: [TABLE],
        base: ["INSERT INTO s.t VALUES (1, 1, 1, 1, 'a', 'x', 'p', 'q', 'ab', '00:00:01.50', '2020-01-01 00:00:00.5', '2020-01-01 00:00:00.125')"],
        lost: [
          "INSERT INTO s.t VALUES (2, 4000000000, 18446744073709551615, 16777215, 'c', 'x,z', 'é', '😀 ü', 'xy', '-12:34:56.78', '2024-02-29 13:14:15.9', '2038-01-19 03:14:07.999')",
          // Each column changed by a lost update of the base row: all clean, the DR has not touched it.
          'UPDATE s.t SET u = 4294967295 WHERE id = 1',
          "UPDATE s.t SET e = 'b', st = 'y,z' WHERE id = 1",
          "UPDATE s.t SET c = 'zz', w = 'ß' WHERE id = 1",
          "UPDATE s.t SET t = '838:59:59.99', dt = '1999-12-31 23:59:59.9', ts = '1970-01-01 00:00:01.001' WHERE id = 1",
          'DELETE FROM s.t WHERE id = 2',
          "INSERT INTO s.t VALUES (3, 0, 9223372036854775808, 8388608, 'b', '', 'ÿ', '', 'k', '-00:00:00.01', '0000-00-00 00:00:00.0', NULL)",
        ],
      },
      ['s'],
    );
    const ledger: LedgerLine[] = [];
    await salvage({ mode: 'apply', binlogs: staged.files, target: dr.target, start: { kind: 'from-gtid', set: staged.start }, onLedger: (l) => ledger.push(l) });
    expect(ledger.map((l) => [l.op, l.class, l.outcome])).toEqual([
      ['insert', 'clean', 'applied'],
      ['update', 'clean', 'applied'],
      ['update', 'clean', 'applied'],
      ['update', 'clean', 'applied'],
      ['update', 'clean', 'applied'],
      ['delete', 'clean', 'applied'],
      ['insert', 'clean', 'applied'],
    ]);
    const want = await primary.query(SELECT);
    expect(want).toEqual([
      { id: 1, u: 4294967295, b: '1', m: 1, e: 'b', st: 'y,z', c: '7A7A', w: 'ß', k: '61620000', t: '838:59:59.99', dt: '1999-12-31 23:59:59.9', ts: '1970-01-01 00:00:01.001' },
      { id: 3, u: 0, b: '9223372036854775808', m: 8388608, e: 'b', st: '', c: 'FF', w: '', k: '6B000000', t: '-00:00:00.01', dt: '0000-00-00 00:00:00.0', ts: null },
    ]);
    expect(await dr.query(SELECT)).toEqual(want);

    // inspect cannot know what the binlog leaves out (MINIMAL names no columns either): it says so,
    // once per table, unless a server's schema is given (--schema-from), and then prints the
    // primary's values. s.u's TIME(2)
    // rows misread silently without it (as 747:26:58 and rows of NULLs); most other misreads are
    // refused, as no valid value or a truncated rows event that names the old layout.
    await primary.query('CREATE TABLE s.u (id INT PRIMARY KEY, tm TIME(2))');
    await primary.query('CREATE TABLE s.v (id INT PRIMARY KEY, u INT UNSIGNED, c VARCHAR(10) CHARACTER SET latin1)');
    await primary.query("INSERT INTO s.u VALUES (1, '01:02:03.04'), (2, '-00:00:00.01')");
    await primary.query("INSERT INTO s.v VALUES (1, 4000000000, 'é')");
    await primary.flushBinaryLogs();
    // From the file that was current when the incident was staged: the new tables' events are there on.
    const files = (await primary.binlogFiles()).filter((f) => f >= staged.files[staged.files.length - 1]!);
    const items = async (schemaHints?: Awaited<ReturnType<typeof loadSchemaHints>>): Promise<InspectItem[]> => {
      const out: InspectItem[] = [];
      for await (const item of inspectBinlogs(files, schemaHints ? { schemaHints } : {})) {
        if (item.kind === 'warning' || (item.kind === 'transaction' && item.tx.changes.some((c) => c.table.schema === 's'))) out.push(item);
      }
      return out;
    };
    const warnings = (list: InspectItem[]): string[] => list.flatMap((i) => (i.kind === 'warning' ? [`${i.warning.code} ${i.warning.message}`] : []));
    const tail = ' — the binlog does not say (binlog_row_metadata below FULL, or an old table); --schema-from URL reads it from a server with the same tables';
    const signed = 'integers print as signed (an unsigned value above the signed maximum prints negative)';
    const temporal = "in MariaDB's pre-10.1 temporal layout, which logs no fractional digits: read as having none, a TIME(1–6) or TIMESTAMP(1–6) misreads";
    expect(warnings(await items())).toEqual(
      metadata === 'NO_LOG'
        ? [`MISSING_METADATA s.u: ${signed}; @2 is ${temporal}${tail}`, `MISSING_METADATA s.v: ${signed}; text prints as bytes${tail}`]
        : [`MISSING_METADATA s.u: @2 is ${temporal}${tail}`],
    );
    const hinted = await items(await loadSchemaHints(parseConnectionUrl(primary.url, 'test')));
    expect(warnings(hinted)).toEqual([]);
    expect(hinted.flatMap((i) => (i.kind === 'transaction' ? i.tx.changes.map((c) => c.after) : []))).toEqual([
      [1, '01:02:03.04'],
      [2, '-00:00:00.01'],
      [1, 4000000000, 'é'],
    ]);
  }, 120_000);
});
