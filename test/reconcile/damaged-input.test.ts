/**
 * Damaged and wrong binlog input in plan and apply, on throwaway servers (docs/RELIABILITY.md,
 * "Damaged and wrong input"): damage in a lost transaction stops the run after everything before
 * it is applied and committed, and a re-run with the file fixed applies the rest exactly once;
 * --skip-damaged records what it skipped; files missing, out of order or given twice, relay logs,
 * another server's binlogs and encrypted binlogs are refused with the file and what is wrong.
 *
 * The DR is staged as salvage-input.test.ts does, with its gtid_slave_pos set where the primary
 * stood when the "link" was lost, so the DR's GTID state finds the lost transactions.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BinlogDecoder } from '../../src/binlog/decoder.js';
import type { BinlogEvent } from '../../src/binlog/event.js';
import { BinlogError, BinlogErrorCode } from '../../src/errors.js';
import { salvage, type SalvageOptions } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { InputErrorCode } from '../../src/source/input-checks.js';
import { runSalvageCommand } from '../../src/cli/salvage-command.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const FIXTURES = resolve(import.meta.dirname, '../../../shared/fixtures/real-binlogs/local-mariadb-10.11');
const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');
const run = promisify(execFile);

let primary: MariadbServer;
let dr: MariadbServer;
const dir = mkdtempSync(join(tmpdir(), 'damaged-input-'));

const TABLE = 'CREATE TABLE t.people (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(80) NOT NULL, UNIQUE KEY uk_email (email)) ENGINE=InnoDB';
const LOST = ["INSERT INTO t.people (email) VALUES ('cy@x')", "INSERT INTO t.people (email) VALUES ('dee@x')", "INSERT INTO t.people (email) VALUES ('eve@x')"];
const BASE = [{ id: 1, email: 'jose@x' }, { id: 2, email: 'ann@x' }];
const ALL = [...BASE, { id: 3, email: 'cy@x' }, { id: 4, email: 'dee@x' }, { id: 5, email: 'eve@x' }];

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'damaged-primary' }), startMariadb({ name: 'damaged-dr', serverId: 2 })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

async function errorOf(p: Promise<unknown>): Promise<Error & { code: string; details: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { code: string; details: Record<string, unknown> };
  }
  throw new Error('expected a rejection');
}

interface Staged {
  /** The primary's binlog files (live: the last one is in use). */
  readonly files: string[];
  /** The lost transactions' GTIDs, in order. */
  readonly gtids: string[];
}

/** Fresh schema and base rows on both; the DR "replicated" up to here; then `lost` on the primary only. */
async function stage(lost: readonly string[] = LOST): Promise<Staged> {
  for (const s of [primary, dr]) {
    await s.query('DROP DATABASE IF EXISTS t');
    await s.query('DROP DATABASE IF EXISTS salvage');
    await s.query('CREATE DATABASE t');
    await s.query(TABLE);
    await s.query("INSERT INTO t.people (id, email) VALUES (1, 'jose@x'), (2, 'ann@x')");
  }
  const cut = await gtidPos(primary);
  await dr.query(`SET GLOBAL gtid_slave_pos = '${cut}'`);
  const gtids: string[] = [];
  for (const sql of lost) {
    await primary.query(sql);
    gtids.push(await gtidPos(primary));
  }
  await primary.flushBinaryLogs();
  return { files: await primary.binlogFiles(), gtids };
}

async function gtidPos(s: MariadbServer): Promise<string> {
  return String(((await s.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
}

let copies = 0;
/** Copies of the files (same names) in a folder of their own; `damage` flips bytes of one of them. */
function copy(files: readonly string[], damage?: { readonly file: string; readonly flips: readonly (readonly [number, number])[] }): string[] {
  const to = mkdtempSync(join(dir, `copy${copies++}-`));
  return files.map((f) => {
    const out = join(to, basename(f));
    copyFileSync(f, out);
    if (damage !== undefined && damage.file === f) {
      const bytes = readFileSync(out);
      for (const [at, mask] of damage.flips) bytes[at] = bytes[at]! ^ mask;
      writeFileSync(out, bytes);
    }
    return out;
  });
}

/** Where the events of the transaction `gtid` are, in whichever file holds it. */
function eventsOf(files: readonly string[], gtid: string): { file: string; events: BinlogEvent[] } {
  for (const file of files) {
    const d = new BinlogDecoder({ file });
    const events = d.push(readFileSync(file));
    const start = events.findIndex((e) => e.kind === 'mariadb-gtid' && `${e.gtid.domainId}-${e.gtid.serverId}-${e.gtid.seqNo}` === gtid);
    if (start < 0) continue;
    const end = events.findIndex((e, i) => i > start && e.kind === 'xid');
    return { file, events: events.slice(start, end + 1) };
  }
  throw new Error(`${gtid} not found`);
}

function rowsEvent(files: readonly string[], gtid: string): { file: string; offset: number; size: number } {
  const { file, events } = eventsOf(files, gtid);
  const rows = events.find((e) => e.kind === 'rows')!;
  return { file, offset: rows.header.offset, size: rows.header.size };
}

function options(files: readonly string[], extra: Partial<SalvageOptions> = {}): SalvageOptions {
  return { mode: 'apply', binlogs: files, target: dr.target, ...extra };
}

async function people(): Promise<unknown[]> {
  return (await dr.query('SELECT id, email FROM t.people ORDER BY id')) as unknown[];
}

async function ledger(): Promise<unknown[]> {
  return (await dr.query('SELECT gtid, class, outcome FROM salvage.ledger ORDER BY id')) as unknown[];
}

async function checkpoint(): Promise<unknown[]> {
  return (await dr.query('SELECT source_id, gtid_set, binlog_file, binlog_pos FROM salvage.checkpoint ORDER BY source_id')) as unknown[];
}

describe('a damaged lost transaction', () => {
  it('flipped byte (CRC32): apply applies and commits what comes before it, stops at it; the same apply with the file fixed applies the rest, each once', async () => {
    const { files, gtids } = await stage();
    const at = rowsEvent(files, gtids[1]!);
    const bad = copy(files, { file: at.file, flips: [[at.offset + at.size - 10, 0x04]] });
    const e = await errorOf(salvage(options(bad)));
    expect(e).toBeInstanceOf(BinlogError);
    expect(e.code).toBe(BinlogErrorCode.ChecksumMismatch);
    expect(e.details).toMatchObject({ offset: at.offset, eventType: 23 });
    const end = eventsOf(files, gtids[0]!).events.at(-1)!.header;
    const name = basename(at.file);
    expect(e.message).toMatch(new RegExp(`^checksum mismatch in WRITE_ROWS_V1 event at .*/${name.replace('.', '\\.')}:${at.offset} \\(${at.size} bytes\\): stored [0-9a-f]{8}, computed [0-9a-f]{8} — every transaction before it is applied \\(committed through ${name.replace('.', '\\.')}:${end.offset + end.size}; run the same apply again to resume from there\\)\\. Copy ${name.replace('.', '\\.')} again \\(whole, from the primary or a backup\\) and run the same command: it goes on after what is applied; or pass --skip-damaged to skip the damaged transaction \\(recorded in the ledger, never guessed at\\)$`));
    expect(await people()).toEqual([...BASE, { id: 3, email: 'cy@x' }]);
    expect(await ledger()).toEqual([{ gtid: gtids[0], class: 'clean', outcome: 'applied' }]);
    expect(await checkpoint()).toEqual([{ source_id: 'binlog:mysql-bin', gtid_set: gtids[0], binlog_file: name, binlog_pos: String(end.offset + end.size) }]);
    expect(await dr.query('SELECT status FROM salvage.runs')).toEqual([{ status: 'failed' }]);

    // plan stops there too, and writes nothing.
    const p = await errorOf(salvage(options(bad, { mode: 'plan' })));
    expect(p.message).toContain('— plan stops here: apply would apply the transactions before it, then stop.');

    // The file fixed (a whole copy): the same apply goes on after what it committed.
    const report = await salvage(options(copy(files)));
    expect(report.lost.transactions).toBe(2);
    expect(await people()).toEqual(ALL);
    expect(await ledger()).toEqual(gtids.map((g) => ({ gtid: g, class: 'clean', outcome: 'applied' })));
    expect((await salvage(options(copy(files)))).lost.transactions).toBe(0);
  });

  it('the CLI exits 2 and names the file and offset', async () => {
    const { files, gtids } = await stage();
    const at = rowsEvent(files, gtids[2]!);
    const bad = copy(files, { file: at.file, flips: [[at.offset + 25, 0x01]] });
    const r = await run('node', [CLI, 'apply', '--binlog', ...bad, '--target', dr.url, '--quiet'], { env: { ...process.env, HOME: dir } }).then(
      () => ({ code: 0, stderr: '' }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${basename(at.file)}:${at.offset} (${at.size} bytes)`);
    expect(r.stderr).toMatch(/\[BINLOG_CHECKSUM_MISMATCH\]\n$/);
    expect(await people()).toEqual(ALL.slice(0, 4));
  });

  it('--skip-damaged: the damaged transaction is skipped and recorded (ledger, report), the rest applied; a re-run adds nothing; a repaired copy under a new source id applies just it', async () => {
    const { files, gtids } = await stage();
    const at = rowsEvent(files, gtids[1]!);
    const bad = copy(files, { file: at.file, flips: [[at.offset + at.size - 10, 0x04]] });
    const lines: LedgerLine[] = [];
    const report = await salvage(options(bad, { skipDamaged: true, onLedger: (l) => lines.push(l) }));
    expect(lines.map((l) => [l.gtid, l.table, l.class, l.outcome])).toEqual([
      [gtids[0], 't.people', 'clean', 'applied'],
      [gtids[1], '(damaged)', 'damaged', 'skipped'],
      [gtids[2], 't.people', 'clean', 'applied'],
    ]);
    expect(lines[1]!.reason).toMatch(new RegExp(`^damaged event at ${basename(at.file).replace('.', '\\.')}:${at.offset} \\(BINLOG_CHECKSUM_MISMATCH\\): checksum mismatch in WRITE_ROWS_V1 event .* — the transaction ${gtids[1]} is skipped \\(--skip-damaged\\), never guessed at$`));
    expect(report.damaged).toEqual([{ file: basename(at.file), offset: at.offset, code: 'BINLOG_CHECKSUM_MISMATCH', message: expect.stringMatching(/^checksum mismatch/) as unknown, gtid: gtids[1], cut: 'skipped' }]);
    expect(report.lost.transactions).toBe(3);
    expect(report.outcomes).toMatchObject({ applied: 2, skipped: 1 });
    expect(await people()).toEqual([...BASE, { id: 3, email: 'cy@x' }, { id: 5, email: 'eve@x' }]);
    expect(await ledger()).toEqual([
      { gtid: gtids[0], class: 'clean', outcome: 'applied' },
      { gtid: gtids[1], class: 'damaged', outcome: 'skipped' },
      { gtid: gtids[2], class: 'clean', outcome: 'applied' },
    ]);
    // The skipped GTID stays out of the applied set; the position passes it.
    const last = eventsOf(files, gtids[2]!).events.at(-1)!.header;
    const [d, s, n] = gtids[0]!.split('-');
    expect(await checkpoint()).toEqual([{ source_id: 'binlog:mysql-bin', gtid_set: `${d}-${s}-${n},${gtids[2]}`, binlog_file: basename(at.file), binlog_pos: String(last.offset + last.size) }]);

    const again = await salvage(options(bad, { skipDamaged: true }));
    expect([again.lost.transactions, again.outcomes.skipped]).toEqual([0, 0]);
    expect((await ledger()).length).toBe(3);

    // A repaired copy read under another source id: only the skipped transaction is lost there.
    const repaired = await salvage(options(copy(files), { sourceId: 'binlog:repaired' }));
    expect([repaired.lost.transactions, repaired.outcomes.applied]).toEqual([1, 1]);
    expect(await people()).toEqual(ALL);
  });

  it('without checksums (binlog_checksum=NONE): what no longer decodes stops the run the same way, or is skipped with --skip-damaged', async () => {
    await primary.query("SET GLOBAL binlog_checksum = 'NONE'");
    try {
      const { files, gtids } = await stage();
      const at = rowsEvent(files, gtids[1]!);
      // The rows event's table id: it now names no table map.
      const bad = copy(files, { file: at.file, flips: [[at.offset + 19 + 3, 0x40]] });
      const e = await errorOf(salvage(options(bad)));
      expect([e.code, e.details['offset']]).toEqual([BinlogErrorCode.MissingTableMap, at.offset]);
      expect(e.message).toContain('— every transaction before it is applied (committed through ');
      expect(await people()).toEqual([...BASE, { id: 3, email: 'cy@x' }]);
      const report = await salvage(options(bad, { skipDamaged: true }));
      expect(report.damaged?.map((d) => [d.code, d.gtid, d.cut])).toEqual([['BINLOG_NO_TABLE_MAP', gtids[1], 'skipped']]);
      expect(await people()).toEqual([...BASE, { id: 3, email: 'cy@x' }, { id: 5, email: 'eve@x' }]);
    } finally {
      await primary.query("SET GLOBAL binlog_checksum = 'CRC32'");
    }
  });

  it('salvage plan --skip-damaged: the summary names the damaged event and what became of it; --ledger has its line', async () => {
    const { files, gtids } = await stage();
    const at = rowsEvent(files, gtids[1]!);
    const bad = copy(files, { file: at.file, flips: [[at.offset + at.size - 10, 0x04]] });
    const out = new Capture();
    const ledgerFile = join(dir, 'plan.jsonl');
    const code = await runSalvageCommand('plan', ['--binlog', ...bad, '--target', dr.url, '--skip-damaged', '--ledger', ledgerFile, '--quiet'], out, new Capture(), { env: {}, home: dir, isTty: false });
    expect(code).toBe(0);
    expect(out.text).toContain(`  damaged: ${basename(at.file)}:${at.offset} (BINLOG_CHECKSUM_MISMATCH): transaction ${gtids[1]} skipped, recorded in the ledger\n`);
    expect(out.text).toContain('outcomes: 2 applied, 0 merged, 0 remapped, 1 skipped, 0 quarantined');
    const lines = readFileSync(ledgerFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LedgerLine);
    expect(lines.map((l) => [l.gtid, l.class, l.outcome])).toEqual([
      [gtids[0], 'clean', 'applied'],
      [gtids[1], 'damaged', 'skipped'],
      [gtids[2], 'clean', 'applied'],
    ]);
  });

  it('--skip-damaged cannot skip a damaged size (its header disagrees): it stops there like without it, naming why', async () => {
    const { files, gtids } = await stage();
    const at = rowsEvent(files, gtids[1]!);
    const bad = copy(files, { file: at.file, flips: [[at.offset + 9, 0x02]] });
    const e = await errorOf(salvage(options(bad, { skipDamaged: true })));
    expect(e.code).toBe(BinlogErrorCode.ChecksumMismatch);
    expect(e.message).toContain(`; not skipped: its size says the next event starts at ${at.offset + (at.size ^ 2)}, its header's end position says ${at.offset + at.size}: the boundary after it cannot be trusted — every transaction before it is applied`);
    expect(e.message).not.toContain('--skip-damaged');
    expect(await people()).toEqual([...BASE, { id: 3, email: 'cy@x' }]);
  });

  it('the last file cut inside a lost transaction (a short copy of a file the server closed: reason cut-short): the ones before apply, the cut one is reported, never applied; the whole file later adds just it', async () => {
    const { files, gtids } = await stage();
    const eve = eventsOf(files, gtids[2]!);
    const copies = copy(files.slice(0, files.indexOf(eve.file) + 1));
    const last = copies.at(-1)!;
    const rows = eve.events.find((e) => e.kind === 'rows')!.header;
    writeFileSync(last, readFileSync(last).subarray(0, rows.offset + 7));
    const report = await salvage(options(copies));
    expect(report.lost.transactions).toBe(2);
    expect(report.incomplete).toEqual([{ gtid: gtids[2], file: basename(last), pos: eve.events[0]!.header.offset, reason: 'cut-short' }]);
    expect(report.damaged).toBeUndefined();
    expect(await people()).toEqual(ALL.slice(0, 4));
    const whole = await salvage(options(copy(files)));
    expect([whole.lost.transactions, whole.outcomes.applied]).toEqual([1, 1]);
    expect(await ledger()).toEqual(gtids.map((g) => ({ gtid: g, class: 'clean', outcome: 'applied' })));
  });

  it('damage in a transaction the DR already has stops nothing (and is reported)', async () => {
    const { files, gtids } = await stage();
    await dr.query(`SET GLOBAL gtid_slave_pos = '${gtids[0]}'`);
    await dr.query("INSERT INTO t.people (id, email) VALUES (3, 'cy@x')");
    const at = rowsEvent(files, gtids[0]!);
    const report = await salvage(options(copy(files, { file: at.file, flips: [[at.offset + at.size - 10, 0x04]] })));
    expect(report.lost.transactions).toBe(2);
    expect(report.damaged?.map((d) => [d.offset, d.gtid, d.cut])).toEqual([[at.offset, gtids[0], 'not-lost']]);
    expect(await people()).toEqual(ALL);
  });

  it('a size damaged to run past the end of the file is not taken for a crash\'s tail', async () => {
    const { files, gtids } = await stage();
    const at = rowsEvent(files, gtids[1]!);
    // Size byte 3 (the top one): the event now claims 16 MiB more than the file holds.
    const bad = copy(files, { file: at.file, flips: [[at.offset + 11, 0x01]] });
    const e = await errorOf(salvage(options(bad, { skipDamaged: true })));
    expect(e.code).toBe(BinlogErrorCode.CorruptEvent);
    expect(e.message).toContain(`${basename(at.file)}:${at.offset}: its size (${at.size + 0x10000} bytes) runs past the end of the file, but its header says it ends at ${at.offset + at.size}`);
    expect(await people()).toEqual([...BASE, { id: 3, email: 'cy@x' }]);
  });
});

describe('the real failover fixture: primary-bin.000002.bitflip-at-700 (0-1-18 damaged)', () => {
  it('apply commits the lost 0-1-13 … 0-1-17 of primary-bin.000001, then stops at 670 with exit 2; a re-run with the intact file does not apply them again', async () => {
    const fresh = await startMariadb({ name: 'damaged-fixture-dr', serverId: 2 });
    try {
      for (const sql of ['w0_schema.sql', 'w1_replicated.sql'].flatMap((f) => statements(readFileSync(join(FIXTURES, 'workload', f), 'utf8')))) await fresh.query(sql);
      await fresh.query("SET GLOBAL gtid_slave_pos = '0-1-12'");
      const copyDir = mkdtempSync(join(dir, 'fixture-'));
      const one = join(copyDir, 'primary-bin.000001');
      const two = join(copyDir, 'primary-bin.000002');
      copyFileSync(join(FIXTURES, 'failover/primary/primary-bin.000001'), one);
      copyFileSync(join(FIXTURES, 'failover/derived/primary-bin.000002.bitflip-at-700'), two);
      const e = await errorOf(salvage({ mode: 'apply', binlogs: [one, two], target: fresh.target }));
      expect(e.code).toBe(BinlogErrorCode.ChecksumMismatch);
      expect(e.details).toMatchObject({ file: two, offset: 670, eventType: 23 });
      expect(e.message).toContain('every transaction before it is applied (committed through primary-bin.000001:10593;');
      const applied = (await fresh.query('SELECT gtid FROM salvage.ledger GROUP BY gtid ORDER BY MIN(id)')) as { gtid: string }[];
      expect(applied.map((r) => r.gtid)).toEqual(['0-1-13', '0-1-14', '0-1-15', '0-1-16', '0-1-17']);
      const ledgerRows = ((await fresh.query('SELECT COUNT(*) AS n FROM salvage.ledger')) as { n: number }[])[0]!.n;

      // The intact file: the run goes on at 0-1-18 (and stops at the fixture's DDL, 0-1-21, before writing).
      copyFileSync(join(FIXTURES, 'failover/primary/primary-bin.000002'), two);
      const ddl = await errorOf(salvage({ mode: 'apply', binlogs: [one, two], target: fresh.target }));
      expect(ddl.code).toBe('SALVAGE_DDL_IN_LOST_RANGE');
      expect(ddl.message).toContain('the lost range holds DDL (1 statement(s)); the first, at 0-1-21');
      expect(((await fresh.query('SELECT COUNT(*) AS n FROM salvage.ledger')) as { n: number }[])[0]!.n).toBe(ledgerRows);
    } finally {
      await fresh.stop();
    }
  });
});

/** The numbered files of the relay log in a data directory (`…-relay-bin.000001` …), oldest first. */
async function relayLogs(dataDir: string): Promise<string[]> {
  const names = await readdir(dataDir);
  return names.filter((n) => /-relay-bin\.\d+$/.test(n)).sort().map((n) => join(dataDir, n));
}

/** Splits a workload file into statements (no semicolons inside the fixture's literals). */
function statements(text: string): string[] {
  return text
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s !== '' && !s.startsWith('--'));
}

describe('wrong files', () => {
  it('a missing middle file, files out of order, the same file twice: refused before anything is written', async () => {
    await stage(LOST.slice(0, 1));
    await primary.query("INSERT INTO t.people (email) VALUES ('dee@x')");
    await primary.flushBinaryLogs();
    await primary.query("INSERT INTO t.people (email) VALUES ('eve@x')");
    await primary.flushBinaryLogs();
    const files = await primary.binlogFiles();
    const [a, b, c] = files.slice(-4, -1) as [string, string, string];
    const cases: [string[], string, string][] = [
      [[a, c], InputErrorCode.Gap, `${basename(b)} is missing between ${basename(a)} and ${basename(c)}`],
      [[b, a, c], InputErrorCode.OutOfOrder, `${basename(a)} is given after ${basename(b)}`],
      [[a, b, b, c], InputErrorCode.FileTwice, `is given twice (the same path)`],
    ];
    for (const [given, code, text] of cases) {
      const e = await errorOf(salvage(options(given)));
      expect(e.code, given.map((f) => basename(f)).join(' ')).toBe(code);
      expect(e.message).toContain(text);
    }
    // Renamed so the names say nothing: the GTID state each file opens with still does.
    const renamed = (list: string[]): string[] => {
      const to = mkdtempSync(join(dir, 'renamed-'));
      return list.map((f, i) => {
        const out = join(to, `copy-${i}.bin`);
        copyFileSync(f, out);
        return out;
      });
    };
    const gap = await errorOf(salvage(options(renamed([a, c]))));
    expect(gap.code).toBe(InputErrorCode.Gap);
    expect(gap.message).toMatch(/^copy-1\.bin opens after 0-1-\d+ \(its GTID list\), but the files before it end at 0-1-\d+: 0-1-\d+ … 0-1-\d+ are in none of the files given — a file is missing before copy-1\.bin, or copy-0\.bin was cut short/);
    const order = await errorOf(salvage(options(renamed([b, a, c]))));
    expect(order.code).toBe(InputErrorCode.OutOfOrder);
    const twice = await errorOf(salvage(options(renamed([a, b, b, c]))));
    expect(twice.code).toBe(InputErrorCode.OutOfOrder);
    expect(await people()).toEqual(BASE);
    expect(((await dr.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'salvage'")) as unknown[]).length).toBe(0);
  });

  it('a middle file cut short (a copy, not a crash): the next file\'s GTID list shows the gap', async () => {
    await stage(LOST.slice(0, 1));
    await primary.query("INSERT INTO t.people (email) VALUES ('dee@x')");
    await primary.query("INSERT INTO t.people (email) VALUES ('eve@x')");
    await primary.flushBinaryLogs();
    const files = await primary.binlogFiles();
    const cutFile = files.at(-2)!;
    const dee = eventsOf(files, (await gtidPos(primary)).replace(/\d+$/, (n) => String(Number(n) - 1)));
    const copies = copy(files);
    const cut = copies[files.indexOf(cutFile)]!;
    writeFileSync(cut, readFileSync(cut).subarray(0, dee.events[0]!.header.offset + 30));
    const e = await errorOf(salvage(options(copies)));
    expect(e.code).toBe(InputErrorCode.Gap);
    expect(e.message).toContain(`or ${basename(cutFile)} was cut short`);
  });

  it('a relay log is refused unless --allow-relay-log', async () => {
    await stage([]);
    const relay = join(FIXTURES, 'failover/dr-relay-at-link-loss/dr-relay-bin.000002');
    const e = await errorOf(salvage(options([relay], { mode: 'plan', start: { kind: 'from-gtid', set: '0-1-12' } })));
    expect(e.code).toBe(InputErrorCode.RelayLog);
    expect(e.message).toBe(`${relay} is a relay log (its format description carries the relay-log flag): it holds what a replica received from its source, not what the failed primary wrote. If it is what you mean to salvage from (the primary's disk is lost and this replica received more than the DR), pass --allow-relay-log`);
    const report = await salvage(options([relay], { mode: 'plan', start: { kind: 'from-gtid', set: '0-1-12' }, allowRelayLog: true }));
    expect(report.lost.transactions).toBe(0);
    expect(report.start.rule).toContain('lost: 0 transaction(s)');
  });

  it('--allow-relay-log: a replica that received more than the DR: its relay log is salvaged from like the primary\'s binlog', async () => {
    const replica = await startMariadb({ name: 'damaged-replica', serverId: 3 });
    try {
      const { gtids } = await stage();
      await replica.query(`CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, MASTER_USER='root', MASTER_USE_GTID=current_pos`);
      // Only received, not applied: the SQL thread would purge the relay logs it has applied.
      await replica.query('START SLAVE IO_THREAD');
      for (let i = 0; String(((await replica.query('SHOW SLAVE STATUS')) as { Gtid_IO_Pos: string }[])[0]?.Gtid_IO_Pos) !== gtids[2]; i++) {
        if (i > 200) throw new Error(`the replica did not catch up: ${replica.logTail(20)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      await replica.query('STOP SLAVE IO_THREAD');
      const relays = copy(await relayLogs(replica.dataDir));
      expect(relays.length).toBeGreaterThan(0);
      expect((await errorOf(salvage(options(relays)))).code).toBe(InputErrorCode.RelayLog);
      const report = await salvage(options(relays, { allowRelayLog: true }));
      expect([report.lost.transactions, report.outcomes.applied]).toEqual([3, 3]);
      expect(await people()).toEqual(ALL);
      expect(await ledger()).toEqual(gtids.map((g) => ({ gtid: g, class: 'clean', outcome: 'applied' })));
    } finally {
      await replica.stop();
    }
  });

  it('binlogs of another server than the one the DR replicated from: refused, naming both; --force-source reads them', async () => {
    await stage([]);
    const other = await startMariadb({ name: 'damaged-other', serverId: 5 });
    try {
      await other.query('CREATE DATABASE t');
      await other.query(TABLE);
      await other.query("INSERT INTO t.people (email) VALUES ('zed@x')");
      await other.flushBinaryLogs();
      const files = await other.binlogFiles();
      const slave = String(((await dr.query('SELECT @@gtid_slave_pos AS p')) as { p: string }[])[0]!.p);
      const e = await errorOf(salvage(options(files)));
      expect(e.code).toBe(InputErrorCode.OtherServer);
      expect(e.message).toBe(
        `the binlogs were written by server_id 5 in GTID domain 0, but the DR replicated from server_id 1 in GTID domain 0 (its gtid_slave_pos ${slave}): they are not the binlogs of the server the DR replicated from. Check the files; if they are the right ones (the DR's replication state was reset, or it replicated through another server), pass --force-source`,
      );
      expect(await people()).toEqual(BASE);
      // (Its 0-5-1 … 0-5-3 are at or before the DR's gtid_slave_pos by sequence number: none lost.)
      const report = await salvage(options(files, { mode: 'plan', forceSource: true }));
      expect(report.lost.transactions).toBe(0);
    } finally {
      await other.stop();
    }
  });

  it('an encrypted binlog: refused with what to do, plan and apply alike', async () => {
    await stage([]);
    const enc = join(FIXTURES, 'encrypted/enc-bin.000001');
    for (const mode of ['plan', 'apply'] as const) {
      const e = await errorOf(salvage(options([enc], { mode, start: { kind: 'from-gtid', set: '0-1-1' } })));
      expect(e.code).toBe(BinlogErrorCode.Encrypted);
      expect(e.message).toBe(
        `encrypted binlog: ${enc} turns on MariaDB binlog encryption at offset 256; the events after it cannot be read from the file. Read it through the server instead (--source mysql://…, the server decrypts), or copy it with mariadb-binlog --read-from-remote-server --raw`,
      );
    }
    expect(((await dr.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'salvage'")) as unknown[]).length).toBe(0);
  });
});
