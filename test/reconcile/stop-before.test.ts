/**
 * `--stop-before WHERE`: the lost range ends just before one transaction of the input. The case it
 * was built for (docs/RELIABILITY.md §7 item 22): a column added in the middle of a table
 * (`ADD COLUMN … AFTER x`) in the lost range, whose images before and after the ALTER cannot both
 * be matched by position. Two runs do it: apply up to the ALTER, alter the DR by hand, then apply
 * the rest with `--ddl skip` from the checkpoint the first run left just before the ALTER.
 */
import { reportFromLedger } from '../../src/pipeline/report-from-ledger.js';
import { renderMarkdownReport } from '../../src/sink/markdown-report.js';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { runSalvageCommand, type SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { salvage } from '../../src/pipeline/salvage.js';
import { Capture } from '../harness/capture.js';
import { rejectionOf } from '../harness/error-of.js';
import { stageIncident, useServerPair, type Incident, type Staged } from '../harness/incident-pair.js';

const servers = useServerPair('stopbefore');
const ENV: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };

const TABLE = 'CREATE TABLE s.t (id INT PRIMARY KEY, a INT NOT NULL, b VARCHAR(20) NOT NULL)';
const ALTER = 'ALTER TABLE s.t ADD COLUMN c INT NOT NULL DEFAULT 7 AFTER a';
const SELECT = 'SELECT * FROM s.t ORDER BY id';

/** Lost: two changes to the 3-column table, the ALTER (start + 3), then four changes logged with c between a and b. */
const INCIDENT: Incident = {
  schema: [TABLE],
  base: ["INSERT INTO s.t VALUES (1, 1, 'one'), (2, 2, 'two')"],
  lost: [
    "INSERT INTO s.t VALUES (3, 3, 'three')",
    "UPDATE s.t SET b = 'one*' WHERE id = 1",
    ALTER,
    "INSERT INTO s.t (id, a, c, b) VALUES (4, 4, 44, 'four')",
    "UPDATE s.t SET b = 'two*', c = 22 WHERE id = 2",
    // A row inserted before the ALTER, changed after it.
    'UPDATE s.t SET a = 33 WHERE id = 3',
    'DELETE FROM s.t WHERE id = 1',
  ],
};

/** The GTID `n` transactions after `start` (one domain, one server). */
function gtidAfter(start: string, n: number): string {
  const m = /^(\d+-\d+-)(\d+)$/.exec(start);
  if (m === null) throw new Error(`unexpected start ${start}`);
  return `${m[1]}${Number(m[2]) + n}`;
}

/** Copies of the files (same names) in a folder of their own, one byte flipped in `file` at `at`. */
function damagedCopy(files: readonly string[], file: string, at: number): { files: string[]; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'stop-before-'));
  return {
    dir,
    files: files.map((f) => {
      const out = join(dir, basename(f));
      copyFileSync(f, out);
      if (basename(f) === file) {
        const bytes = readFileSync(out);
        bytes[at] = bytes[at]! ^ 0x04;
        writeFileSync(out, bytes);
      }
      return out;
    }),
  };
}

/** The rows event of the transaction `gtid` (the one after its GTID event), as SHOW BINLOG EVENTS lists it. */
async function rowsEventOf(files: readonly string[], gtid: string): Promise<{ file: string; end: number }> {
  const at = await positionOf(files, gtid);
  const events = (await servers.primary.query(`SHOW BINLOG EVENTS IN '${at.file}'`)) as { Pos: number | string; End_log_pos: number | string; Event_type: string }[];
  const e = events.find((ev) => Number(ev.Pos) > at.pos && /^(Write|Update|Delete)_rows/.test(ev.Event_type));
  if (e === undefined) throw new Error(`no rows event after ${gtid}`);
  return { file: at.file, end: Number(e.End_log_pos) };
}

/** Where the transaction `gtid` starts: its GTID event, as SHOW BINLOG EVENTS lists it. */
async function positionOf(files: readonly string[], gtid: string): Promise<{ file: string; pos: number }> {
  for (const path of files) {
    const file = basename(path);
    const events = (await servers.primary.query(`SHOW BINLOG EVENTS IN '${file}'`)) as { Pos: number | string; Event_type: string; Info: string }[];
    const e = events.find((ev) => ev.Event_type === 'Gtid' && new RegExp(`GTID ${gtid}( |$)`).test(ev.Info));
    if (e !== undefined) return { file, pos: Number(e.Pos) };
  }
  throw new Error(`no GTID event for ${gtid}`);
}

interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly error: unknown;
}

async function cli(mode: 'plan' | 'apply', staged: Staged, extra: readonly string[]): Promise<CliRun> {
  const out = new Capture();
  try {
    const code = await runSalvageCommand(mode, ['--binlog', ...staged.files, '--target', servers.dr.url, '--from-gtid', staged.start, '--quiet', ...extra], out, new Capture(), ENV);
    return { code, out: out.text, error: null };
  } catch (e) {
    return { code: exitCodeFor(e), out: out.text, error: e };
  }
}

interface LedgerRow {
  readonly gtid: string;
  readonly change_index: number;
  readonly op: string;
  readonly class: string;
  readonly outcome: string;
  readonly run_id: string;
}

async function ledger(): Promise<LedgerRow[]> {
  return (await servers.dr.query('SELECT gtid, change_index, op, class, outcome, CAST(run_id AS CHAR) AS run_id FROM salvage.ledger ORDER BY id')) as LedgerRow[];
}

async function stateSchemaExists(): Promise<boolean> {
  return ((await servers.dr.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'salvage'")) as unknown[]).length > 0;
}

const BEFORE = [
  { id: 1, a: 1, b: 'one' },
  { id: 2, a: 2, b: 'two' },
];

describe.each(['GTID', 'FILE:POS'])('a column added in the middle, in two runs: --stop-before the ALTER (%s), alter the DR, --ddl skip', (form) => {
  it('run 1 applies exactly what lies before the ALTER and leaves the checkpoint just before it; run 2 resumes there; every lost change is in the ledger once; the DR ends as the primary', async () => {
    const staged = await stageIncident(servers.primary, servers.dr, INCIDENT, ['s']);
    const alterGtid = gtidAfter(staged.start, 3);
    const alterAt = await positionOf(staged.files, alterGtid);
    const where = form === 'GTID' ? alterGtid : `${alterAt.file}:${alterAt.pos}`;

    const first = await cli('apply', staged, ['--stop-before', where, '--json']);
    expect(first.error).toBeNull();
    expect(first.code).toBe(0);
    const report = JSON.parse(first.out) as Record<string, unknown> & { lost: { transactions: number; rowChanges: number; last: { gtid: string } }; start: { lostSet: string }; skippedDdl: unknown[] };
    expect(report['stoppedBefore']).toEqual({ asked: where, gtid: alterGtid, file: alterAt.file, pos: alterAt.pos });
    expect(report.lost).toMatchObject({ transactions: 2, rowChanges: 2, last: { gtid: gtidAfter(staged.start, 2) } });
    expect(report.start.lostSet).toBe(`${gtidAfter(staged.start, 1)}-${gtidAfter(staged.start, 2).split('-')[2]}`);
    // The lost transactions before it end where the ALTER starts: the checkpoint is just before it.
    expect(report['committedThrough']).toBe(`${alterAt.file}:${alterAt.pos}`);
    expect(report['outcomes']).toEqual({ applied: 2, merged: 0, remapped: 0, skipped: 0, quarantined: 0 });
    expect(await servers.dr.query(SELECT)).toEqual([
      { id: 1, a: 1, b: 'one*' },
      { id: 2, a: 2, b: 'two' },
      { id: 3, a: 3, b: 'three' },
    ]);
    const checkpoint = (await servers.dr.query('SELECT gtid_set, binlog_file, CAST(binlog_pos AS CHAR) AS pos FROM salvage.checkpoint')) as { gtid_set: string; binlog_file: string; pos: string }[];
    expect(checkpoint).toEqual([{ gtid_set: `${gtidAfter(staged.start, 1)}-${gtidAfter(staged.start, 2).split('-')[2]}`, binlog_file: alterAt.file, pos: String(alterAt.pos) }]);
    // salvage report, rebuilt from the state schema, says it too (the run keeps it in its summary).
    const rebuilt = await reportFromLedger({ target: servers.dr.target });
    expect(rebuilt.report.stoppedBefore).toEqual({ asked: where, gtid: alterGtid, file: alterAt.file, pos: alterAt.pos });
    expect(renderMarkdownReport(rebuilt.report)).toContain(`\nStopped before ${alterGtid} (${alterAt.file}:${alterAt.pos}), as --stop-before ${where} asked: nothing from it on was read;`);

    // The same command again: nothing lies before the stop point any more, nothing is done (exit 0).
    const again = await cli('apply', staged, ['--stop-before', where]);
    expect(again.code).toBe(0);
    expect(again.out).toContain(`stopped before ${alterGtid} (${alterAt.file}:${alterAt.pos}), as --stop-before ${where} asked: nothing from it on was read; no lost transaction lies before it: nothing to apply\n`);
    expect(again.out).toContain(`  committed through ${alterAt.file}:${alterAt.pos} (checkpoint "binlog:${basename(staged.files[0]!).replace(/\.\d+$/, '')}"); the same command without --stop-before (or with a later one) goes on from there\n`);

    await servers.dr.query(ALTER);
    const second = await cli('apply', staged, ['--ddl', 'skip', '--json']);
    expect(second.error).toBeNull();
    expect(second.code).toBe(0);
    expect((JSON.parse(second.out) as { skippedDdl: unknown[] }).skippedDdl).toEqual([{ at: alterGtid, sql: ALTER }]);
    const rows = [
      { id: 2, a: 2, c: 22, b: 'two*' },
      { id: 3, a: 33, c: 7, b: 'three' },
      { id: 4, a: 4, c: 44, b: 'four' },
    ];
    expect(await servers.dr.query(SELECT)).toEqual(rows);
    expect(await servers.primary.query(SELECT)).toEqual(rows);
    const lines = await ledger();
    const runs = [...new Set(lines.map((l) => l.run_id))];
    expect(runs).toHaveLength(2);
    expect(lines.map((l) => [l.gtid, l.op, l.class, l.outcome, runs.indexOf(l.run_id)])).toEqual([
      [gtidAfter(staged.start, 1), 'insert', 'clean', 'applied', 0],
      [gtidAfter(staged.start, 2), 'update', 'clean', 'applied', 0],
      [alterGtid, 'sql', 'ddl', 'skipped', 1],
      [gtidAfter(staged.start, 4), 'insert', 'clean', 'applied', 1],
      [gtidAfter(staged.start, 5), 'update', 'clean', 'applied', 1],
      [gtidAfter(staged.start, 6), 'update', 'clean', 'applied', 1],
      [gtidAfter(staged.start, 7), 'delete', 'clean', 'applied', 1],
    ]);
  }, 120_000);
});

describe('plan --stop-before', () => {
  it('counts, decides and lists only what lies before the transaction; a point at or before the start of the lost range plans nothing (exit 0)', async () => {
    const staged = await stageIncident(servers.primary, servers.dr, INCIDENT, ['s']);
    const plan = await cli('plan', staged, ['--stop-before', gtidAfter(staged.start, 2), '--json']);
    expect(plan.error).toBeNull();
    expect(plan.code).toBe(0);
    const r = JSON.parse(plan.out) as { lost: { transactions: number; rowChanges: number; first: { gtid: string }; last: { gtid: string } }; start: { lostSet: string }; outcomes: unknown; counts: unknown; stoppedBefore: { gtid: string } };
    expect(r.lost).toMatchObject({ transactions: 1, rowChanges: 1, first: { gtid: gtidAfter(staged.start, 1) }, last: { gtid: gtidAfter(staged.start, 1) } });
    expect(r.start.lostSet).toBe(gtidAfter(staged.start, 1));
    expect(r.outcomes).toEqual({ applied: 1, merged: 0, remapped: 0, skipped: 0, quarantined: 0 });
    expect(r.counts).toEqual({ 's.t': { clean: { applied: 1 } } });
    expect(r.stoppedBefore.gtid).toBe(gtidAfter(staged.start, 2));

    // Without it the same plan stops on the ALTER (DDL, exit 2): the stop point keeps it out of the check.
    expect((await cli('plan', staged, [])).error).toMatchObject({ code: 'SALVAGE_DDL_IN_LOST_RANGE' });

    // The first lost transaction, and the last one the DR has: nothing before them is lost.
    for (const where of [gtidAfter(staged.start, 1), staged.start]) {
      const none = await cli('plan', staged, ['--stop-before', where]);
      expect(none.error).toBeNull();
      expect(none.code).toBe(0);
      expect(none.out).toContain('lost: 0 transaction(s), 0 row change(s)\n');
      expect(none.out).toMatch(new RegExp(`^stopped before ${where} \\(\\S+:\\d+\\), as --stop-before ${where} asked: nothing from it on was read; no lost transaction lies before it: nothing to plan$`, 'm'));
    }
    expect(await stateSchemaExists()).toBe(false);
  }, 120_000);
});

describe('--stop-before naming no transaction of the input', () => {
  it('is refused before anything is written, exit 2, with a stable code naming the option and the value', async () => {
    const staged = await stageIncident(servers.primary, servers.dr, INCIDENT, ['s']);
    const alterAt = await positionOf(staged.files, gtidAfter(staged.start, 3));
    const last = staged.files[staged.files.length - 1]!;
    const cases: [string, string, Record<string, unknown>, RegExp][] = [
      ['0-1-999', 'INPUT_STOP_NOT_FOUND', { option: '--stop-before', value: '0-1-999', gtid: '0-1-999' }, /^--stop-before 0-1-999: no transaction of the input has this GTID \(\d+ transaction\(s\) read, the last 0-1-\d+ at \S+:\d+\): give the GTID/],
      // Another domain's, and a MySQL GTID (tagged): not in these binlogs either.
      ['3-1-5', 'INPUT_STOP_NOT_FOUND', { gtid: '3-1-5' }, /^--stop-before 3-1-5: no transaction of the input has this GTID/],
      ['3E11FA47-71CA-11E1-9E33-C80AA9429562:Blue:23', 'INPUT_STOP_NOT_FOUND', { gtid: '3e11fa47-71ca-11e1-9e33-c80aa9429562:blue:23' }, /^--stop-before 3E11FA47-71CA-11E1-9E33-C80AA9429562:Blue:23: no transaction/],
      [
        `${alterAt.file}:${alterAt.pos + 1}`,
        'INPUT_STOP_OUTSIDE',
        { option: '--stop-before', value: `${alterAt.file}:${alterAt.pos + 1}`, file: alterAt.file, offset: alterAt.pos + 1 },
        new RegExp(`^--stop-before ${alterAt.file}:${alterAt.pos + 1}: no transaction starts there — ${alterAt.pos + 1} lies after the transaction at ${alterAt.file}:${alterAt.pos} starts and before the next, at \\d+: give the position where a transaction starts \\(${alterAt.pos}, or \\d+\\)`),
      ],
      ['primary-bin.000099:4', 'INPUT_STOP_OUTSIDE', { option: '--stop-before', value: 'primary-bin.000099:4', file: 'primary-bin.000099' }, /^--stop-before primary-bin\.000099:4: primary-bin\.000099 is not among the binlog files given \(/],
      [`${basename(last)}:99999999`, 'INPUT_STOP_OUTSIDE', { file: basename(last), offset: 99999999 }, new RegExp(`^--stop-before ${basename(last)}:99999999: ${basename(last)} is \\d+ bytes long, so no transaction starts at 99999999`)],
      // The start of a file is its format description, no transaction.
      [`${alterAt.file}:4`, 'INPUT_STOP_OUTSIDE', { file: alterAt.file, offset: 4 }, /no transaction starts there — the first transaction of \S+ starts at \d+/],
      ['next tuesday', 'BAD_OPTION', { option: '--stop-before' }, /^--stop-before: expected the GTID of a transaction \(0-1-12, or uuid:n\) or the position where it starts, FILE:POS \(mysql-bin\.000042:1234\), got "next tuesday"$/],
    ];
    for (const [where, code, details, message] of cases) {
      const r = await cli('apply', staged, ['--stop-before', where]);
      expect(r.code, where).toBe(2);
      expect(r.error, where).toMatchObject({ code, details });
      expect((r.error as Error).message, where).toMatch(message);
    }
    // (A followed live source takes it: test/source/live-follow-stop-before.test.ts.)
    expect(await servers.dr.query(SELECT)).toEqual(BEFORE);
    expect(await stateSchemaExists()).toBe(false);
  }, 120_000);
});

describe('--stop-before and damaged files', () => {
  it('damage before the point is refused before anything is written (INPUT_STOP_PAST_DAMAGE, exit 2); a point before the damage stops there, the damage never read', async () => {
    const staged = await stageIncident(servers.primary, servers.dr, INCIDENT, ['s']);
    // The UPDATE (start + 2) damaged: its rows event fails its checksum.
    const rows = await rowsEventOf(staged.files, gtidAfter(staged.start, 2));
    const bad = damagedCopy(staged.files, rows.file, rows.end - 10);
    try {
      const damaged = { ...staged, files: bad.files };
      const past = await cli('apply', damaged, ['--stop-before', gtidAfter(staged.start, 3)]);
      expect(past.code).toBe(2);
      expect(past.error).toMatchObject({ code: 'INPUT_STOP_PAST_DAMAGE', details: { option: '--stop-before', value: gtidAfter(staged.start, 3), file: join(bad.dir, rows.file) } });
      expect((past.error as Error).message).toMatch(new RegExp(`^--stop-before ${gtidAfter(staged.start, 3)}: the binlogs are damaged at ${rows.file.replace('.', '\\.')}:\\d+, before it, and a run stops at the damage anyway — nothing was written\\.`));
      expect(await stateSchemaExists()).toBe(false);
      expect(await servers.dr.query(SELECT)).toEqual(BEFORE);

      // Before the damaged transaction itself: the transaction before it applied, the damage not read (exit 0).
      const before = await cli('apply', damaged, ['--stop-before', gtidAfter(staged.start, 2)]);
      expect(before.error).toBeNull();
      expect(before.code).toBe(0);
      expect(await servers.dr.query(SELECT)).toEqual([...BEFORE, { id: 3, a: 3, b: 'three' }]);
      expect((await ledger()).map((l) => l.gtid)).toEqual([gtidAfter(staged.start, 1)]);
    } finally {
      rmSync(bad.dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('--stop-before with a live source (no --follow)', () => {
  it('reads the server up to the transaction and stops there; a GTID the server does not hold is refused', async () => {
    const staged = await stageIncident(servers.primary, servers.dr, INCIDENT, ['s']);
    const run = (stopBefore: string): Promise<unknown> =>
      salvage({ mode: 'apply', source: { target: servers.primary.target }, target: servers.dr.target, start: { kind: 'from-gtid', set: staged.start }, stopBefore });
    expect(await rejectionOf(run('0-1-999'))).toMatchObject({ code: 'INPUT_STOP_NOT_FOUND', details: { gtid: '0-1-999' } });
    expect(await stateSchemaExists()).toBe(false);
    const report = (await run(gtidAfter(staged.start, 3))) as { lost: { transactions: number }; stoppedBefore: { gtid: string } };
    expect(report.lost.transactions).toBe(2);
    expect(report.stoppedBefore.gtid).toBe(gtidAfter(staged.start, 3));
    expect(await servers.dr.query(SELECT)).toEqual([
      { id: 1, a: 1, b: 'one*' },
      { id: 2, a: 2, b: 'two' },
      { id: 3, a: 3, b: 'three' },
    ]);
  }, 120_000);
});
