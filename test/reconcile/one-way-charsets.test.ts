/**
 * Text in a multi-byte charset holding a code the server maps to Unicode one way only (sjis 0x5C
 * reads as `\`, which converts back as 0x815F; cp932's NEC and IBM duplicates; codes that read as
 * '?'; ujis, eucjpms, big5 and gbk alike: src/binlog/values/charset-text.ts) was written to the DR
 * as a utf8mb4 literal of its text and converted by the server into other bytes. It is written as
 * its bytes now (`_sjis X'…'`): the DR's bytes equal the primary's, compared with HEX(), for
 * inserts, updates (both images) and deletes by a key in such a column.
 */
import { describe, expect, it } from 'vitest';
import { charsetOfCollation, decodeTextExact } from '../../src/binlog/values/charset.js';
import { CharsetText } from '../../src/binlog/values/charset-text.js';
import { salvage } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { stageIncident, useServerPair, type Incident } from '../harness/incident-pair.js';
import type { MariadbServer } from '../harness/mariadb-server.js';

const servers = useServerPair('oneway');

const TABLE =
  'CREATE TABLE t.j (k VARCHAR(8) CHARACTER SET sjis NOT NULL PRIMARY KEY, c CHAR(4) CHARACTER SET sjis, v VARCHAR(20) CHARACTER SET cp932, ' +
  'x TEXT CHARACTER SET cp932, u VARCHAR(8) CHARACTER SET ujis, e VARCHAR(8) CHARACTER SET eucjpms, g VARCHAR(8) CHARACTER SET gbk, b VARCHAR(8) CHARACTER SET big5) ENGINE=InnoDB';

const hexRows = async (s: MariadbServer): Promise<unknown> =>
  s.query('SELECT HEX(k) k, HEX(c) c, HEX(v) v, HEX(x) x, HEX(u) u, HEX(e) e, HEX(g) g, HEX(b) b FROM t.j ORDER BY HEX(k)');

async function apply(incident: Incident): Promise<LedgerLine[]> {
  const { primary, dr } = servers;
  const { start, files } = await stageIncident(primary, dr, incident);
  const ledger: LedgerLine[] = [];
  await salvage({ mode: 'apply', binlogs: files, target: dr.target, start: { kind: 'from-gtid', set: start }, onLedger: (l) => ledger.push(l) });
  return ledger;
}

/** Byte structure of each multi-byte charset: single bytes ≥ 0x80, lead bytes, trail bytes (0x8e's trails in EUC), 3-byte codes after 0x8f. */
const STRUCTURE: Record<string, { singles: number[][]; leads: number[][]; trails: number[][]; kana: boolean; three: boolean }> = {
  sjis: { singles: [[0xa1, 0xdf]], leads: [[0x81, 0x9f], [0xe0, 0xfc]], trails: [[0x40, 0x7e], [0x80, 0xfc]], kana: false, three: false },
  cp932: { singles: [[0xa1, 0xdf]], leads: [[0x81, 0x9f], [0xe0, 0xfc]], trails: [[0x40, 0x7e], [0x80, 0xfc]], kana: false, three: false },
  ujis: { singles: [], leads: [[0x8e, 0x8e], [0xa1, 0xfe]], trails: [[0xa1, 0xfe]], kana: true, three: true },
  eucjpms: { singles: [], leads: [[0x8e, 0x8e], [0xa1, 0xfe]], trails: [[0xa1, 0xfe]], kana: true, three: true },
  gbk: { singles: [], leads: [[0x81, 0xfe]], trails: [[0x40, 0x7e], [0x80, 0xfe]], kana: false, three: false },
  gb2312: { singles: [], leads: [[0xa1, 0xf7]], trails: [[0xa1, 0xfe]], kana: false, three: false },
  big5: { singles: [], leads: [[0xa1, 0xf9]], trails: [[0x40, 0x7e], [0xa1, 0xfe]], kana: false, three: false },
  euckr: { singles: [], leads: [[0x81, 0xfe]], trails: [[0x41, 0x5a], [0x61, 0x7a], [0x81, 0xfe]], kana: false, three: false },
};
// A collation id of each charset (its default), for charsetOfCollation.
const COLLATION: Record<string, number> = { sjis: 13, cp932: 95, ujis: 12, eucjpms: 97, gbk: 28, gb2312: 24, big5: 1, euckr: 19 };

function candidateCodes(cs: string): string[] {
  const spec = STRUCTURE[cs]!;
  const inR = (r: number[][], b: number): boolean => r.some(([lo, hi]) => b >= lo! && b <= hi!);
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  const codes: string[] = [];
  for (let b = 0; b < 0x100; b++) if (b < 0x80 || inR(spec.singles, b)) codes.push(hex(b));
  for (let lead = 0x80; lead < 0x100; lead++) {
    if (!inR(spec.leads, lead)) continue;
    const trails = spec.kana && lead === 0x8e ? [[0xa1, 0xdf]] : spec.trails;
    for (let t = 0; t < 0x100; t++) if (inR(trails, t)) codes.push(hex(lead) + hex(t));
  }
  if (spec.three) for (let a = 0xa1; a <= 0xfe; a++) for (let b = 0xa1; b <= 0xfe; b++) codes.push('8f' + hex(a) + hex(b));
  return codes;
}

describe('which codes the server maps one way only', () => {
  it('every code each multi-byte charset accepts: the ones CONVERT to utf8mb4 and back does not restore are exactly the ones decoded as CharsetText', async () => {
    const s = servers.primary;
    await s.query('DROP DATABASE IF EXISTS oneway');
    await s.query('CREATE DATABASE oneway');
    const counts: Record<string, [accepted: number, oneWay: number]> = {};
    for (const cs of Object.keys(STRUCTURE)) {
      await s.query(`CREATE TABLE oneway.${cs} (code VARCHAR(6), c VARCHAR(2) CHARACTER SET ${cs}) ENGINE=InnoDB`);
      const codes = candidateCodes(cs);
      // sql_mode '' so that a code the charset rejects is stored changed (and left out below), not refused.
      for (let i = 0; i < codes.length; i += 2000) {
        await s.query(`SET STATEMENT sql_mode = '' FOR INSERT INTO oneway.${cs} VALUES ${codes.slice(i, i + 2000).map((c) => `('${c}', X'${c}')`).join(',')}`);
      }
      const rows = (await s.query(
        `SELECT code, LOWER(HEX(CAST(CONVERT(CONVERT(c USING utf8mb4) USING ${cs}) AS BINARY))) <> code AS oneWay FROM oneway.${cs} WHERE LOWER(HEX(c)) = code`,
      )) as { code: string; oneWay: number }[];
      const charset = charsetOfCollation(COLLATION[cs]!)!;
      const wrong = rows.filter((r) => (decodeTextExact(Buffer.from(r.code, 'hex'), 0, r.code.length / 2, charset) instanceof CharsetText) !== (Number(r.oneWay) === 1));
      expect(wrong.map((r) => `${cs} ${r.code} one-way ${r.oneWay}`)).toEqual([]);
      counts[cs] = [rows.length, rows.filter((r) => Number(r.oneWay) === 1).length];
    }
    // As measured on MariaDB 10.11: sjis' one besides its '?' codes is 0x5C; cp932 has 398 duplicates.
    expect(counts).toEqual({
      sjis: [11471, 4402],
      cp932: [11471, 2074],
      ujis: [17863, 2848],
      eucjpms: [17863, 2681],
      gbk: [24068, 2149],
      gb2312: [8306, 733],
      big5: [14101, 262],
      euckr: [22556, 5380],
    });
  }, 120_000);
});

describe('text the server maps one way only is written to the DR as logged', () => {
  it('inserts, updates and deletes keyed by sjis 0x5C and ① (0x8740, read as ?): the DR bytes equal the primary, the ledger shows text', async () => {
    const ledger = await apply({
      schema: [TABLE],
      base: [
        // Keys that read as `\` and as '?' on both sides before the failover.
        "INSERT INTO t.j VALUES (X'5c', X'5c', X'ed40', X'8790', X'a1c0', X'adf0', X'aaa1', X'a15a')",
        "INSERT INTO t.j VALUES (X'8740', X'8741', X'fa5c', X'81e0', X'5c', X'a2e2', X'a1a1', X'a2ce')",
        "INSERT INTO t.j VALUES (X'8742', X'8743', X'fa4a', X'5c5c', X'8fa2b7', X'8fa2f1', X'aaa2', X'a1c3')",
      ],
      lost: [
        "INSERT INTO t.j VALUES (X'5c815f', X'815f5c', X'ed40ee40fa5c', X'87908791879a5c', X'a1c05c8fa2b7', X'adf0adf5a2e2', X'aaa1aaa2', X'a15aa1c3a2ce')",
        "INSERT INTO t.j VALUES (X'41', X'8744', X'eefc', X'8754fa4a', X'7e', X'8ff3fd', X'feaf', X'a240')",
        // Update by a key that reads as `\`: both images hold one-way codes.
        "UPDATE t.j SET c = X'8745', v = X'ee40', x = X'879b', u = X'8fa2b7', e = X'8ff4a1', g = X'aaa3', b = X'a1fe' WHERE k = X'5c'",
        // Update of the key itself: ① becomes 0x5C 0x5C.
        "UPDATE t.j SET k = X'5c5c', v = X'fa58' WHERE k = X'8740'",
        // Delete by a key that reads as '?'.
        "DELETE FROM t.j WHERE k = X'8742'",
      ],
    });
    expect(await hexRows(servers.dr)).toEqual(await hexRows(servers.primary));
    expect(await hexRows(servers.dr)).toEqual([
      { k: '41', c: '8744', v: 'EEFC', x: '8754FA4A', u: '7E', e: '8FF3FD', g: 'FEAF', b: 'A240' },
      { k: '5C', c: '8745', v: 'EE40', x: '879B', u: '8FA2B7', e: '8FF4A1', g: 'AAA3', b: 'A1FE' },
      { k: '5C5C', c: '8741', v: 'FA58', x: '81E0', u: '5C', e: 'A2E2', g: 'A1A1', b: 'A2CE' },
      { k: '5C815F', c: '815F5C', v: 'ED40EE40FA5C', x: '87908791879A5C', u: 'A1C05C8FA2B7', e: 'ADF0ADF5A2E2', g: 'AAA1AAA2', b: 'A15AA1C3A2CE' },
    ]);
    expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([
      ['insert', ['\\\\'], 'clean', 'applied'],
      ['insert', ['A'], 'clean', 'applied'],
      ['update', ['\\'], 'clean', 'applied'],
      ['update', ['?'], 'clean', 'applied'],
      ['delete', ['?'], 'clean', 'applied'],
    ]);
    // The ledger shows text, as SELECT shows it: 0x5C and 0x815F both as `\`, ① as '?'.
    expect(ledger[0]!.after).toMatchObject({ k: '\\\\', c: '\\\\' });
  }, 120_000);

  it('a DR that holds 0x815F where the primary logged 0x5C (seeded through utf8mb4) holds the same value: clean, and a changed value is written as logged', async () => {
    const ledger = await apply({
      schema: ['CREATE TABLE t.s (id INT PRIMARY KEY, s VARCHAR(8) CHARACTER SET sjis, n INT) ENGINE=InnoDB'],
      base: ["INSERT INTO t.s VALUES (1, X'5c', 0), (2, X'5c', 0)"],
      lost: ["UPDATE t.s SET n = 1 WHERE id = 1", "UPDATE t.s SET s = X'5c41' WHERE id = 2"],
      // What a dump and restore through utf8mb4 makes of the primary's 0x5C.
      dr: ["UPDATE t.s SET s = CONVERT(CONVERT(s USING utf8mb4) USING sjis)"],
    });
    expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([
      ['update', [1], 'clean', 'applied'],
      ['update', [2], 'clean', 'applied'],
    ]);
    expect(await servers.dr.query('SELECT id, HEX(s) s, n FROM t.s ORDER BY id')).toEqual([
      { id: 1, s: '815F', n: 1 },
      { id: 2, s: '5C41', n: 0 },
    ]);
  }, 120_000);
});
