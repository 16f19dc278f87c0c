/**
 * `apply --follow --stop-before WHERE` (docs/RELIABILITY.md section 7 item 22): it used to be
 * refused (BAD_OPTION), a follow having no first pass to find WHERE in. Now the follow applies every
 * lost transaction before WHERE as the source writes them and, when the transaction WHERE names is
 * read, commits what lies before it and ends (exit 0) with the checkpoint just before it, as the
 * run to an end does. A WHERE the follow is already past is refused before anything is written; a
 * FILE:POS that turns out, when the read reaches it, to lie inside a transaction is refused there,
 * nothing of that transaction applied.
 */
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { runSalvageCommand } from '../../src/cli/salvage-command.js';
import { salvage, type SalvageOptions, type SalvageReport } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { Capture } from '../harness/capture.js';
import { rejectionOf } from '../harness/error-of.js';
import { stageIncident, useServerPair } from '../harness/incident-pair.js';

const servers = useServerPair('follow-stop');

const SELECT = 'SELECT id, v FROM s.t ORDER BY id';
/** The lost transactions, in order: the third is the stop point. */
const LOST = ["INSERT INTO s.t VALUES (3, 'three')", "UPDATE s.t SET v = 'one*' WHERE id = 1", "INSERT INTO s.t VALUES (4, 'four')", 'DELETE FROM s.t WHERE id = 2'];

function gtidAfter(start: string, n: number): string {
  const m = /^(\d+-\d+-)(\d+)$/.exec(start);
  if (m === null) throw new Error(`unexpected start ${start}`);
  return `${m[1]}${Number(m[2]) + n}`;
}

/** Where the transaction `gtid` starts and ends on the primary (its GTID event, and the end of its commit). */
async function placeOf(gtid: string): Promise<{ file: string; pos: number; end: number }> {
  for (const log of (await servers.primary.query('SHOW BINARY LOGS')) as { Log_name: string }[]) {
    const events = (await servers.primary.query(`SHOW BINLOG EVENTS IN '${log.Log_name}'`)) as { Pos: number | string; End_log_pos: number | string; Event_type: string; Info: string }[];
    const at = events.findIndex((e) => e.Event_type === 'Gtid' && new RegExp(`GTID ${gtid}( |$)`).test(e.Info));
    if (at < 0) continue;
    const commit = events.slice(at).find((e) => e.Event_type === 'Xid' || (e.Event_type === 'Query' && e.Info === 'COMMIT'));
    return { file: log.Log_name, pos: Number(events[at]!.Pos), end: Number(commit!.End_log_pos) };
  }
  throw new Error(`no GTID event for ${gtid}`);
}

async function waitFor(what: string, probe: () => boolean, failed: () => unknown, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    const f = failed();
    if (f !== null) throw f instanceof Error ? f : new Error(String(f));
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function follow(start: string, extra: Partial<SalvageOptions>, onLedger?: (l: LedgerLine) => void): Promise<SalvageReport> {
  return salvage({
    mode: 'apply',
    source: { target: servers.primary.target, follow: true, idleMs: 100 },
    target: servers.dr.target,
    start: { kind: 'from-gtid', set: start },
    windowTransactions: 1,
    ...(onLedger === undefined ? {} : { onLedger }),
    ...extra,
  });
}

async function ledger(): Promise<[string, string, string, number][]> {
  const rows = (await servers.dr.query('SELECT gtid, op, outcome, CAST(run_id AS CHAR) AS run FROM salvage.ledger ORDER BY id')) as { gtid: string; op: string; outcome: string; run: string }[];
  const runs = [...new Set(rows.map((r) => r.run))];
  return rows.map((r) => [r.gtid, r.op, r.outcome, runs.indexOf(r.run)]);
}

async function checkpoint(): Promise<unknown[]> {
  return (await servers.dr.query('SELECT gtid_set, binlog_file, CAST(binlog_pos AS CHAR) AS pos FROM salvage.checkpoint')) as unknown[];
}

describe.each(['GTID', 'FILE:POS'] as const)('apply --follow --stop-before (%s)', (form) => {
  it('applies what the source writes before the point, ends when the point is read with the checkpoint just before it; what is already past is refused; a resume goes on from there', async () => {
    const staged = await stageIncident(servers.primary, servers.dr, { schema: ['CREATE TABLE s.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)'], base: ["INSERT INTO s.t VALUES (1, 'one'), (2, 'two')"], lost: [] }, ['s']);
    const cut = staged.start;
    const g = (n: number): string => gtidAfter(cut, n);
    await servers.primary.query(LOST[0]!);
    // A GTID is met as the source writes it; a position is known once the transaction is written.
    if (form === 'FILE:POS') for (const sql of LOST.slice(1)) await servers.primary.query(sql);
    const stopAt = form === 'FILE:POS' ? await placeOf(g(3)) : null;
    const where = stopAt === null ? g(3) : `${stopAt.file}:${stopAt.pos}`;

    const lines: LedgerLine[] = [];
    let failed: unknown = null;
    const running = follow(cut, { stopBefore: where }, (l) => lines.push(l));
    running.catch((e: unknown) => (failed = e));
    if (form === 'GTID') {
      // The follow is alive (its first window committed) before the rest, the point among it, is written.
      await waitFor('the first window', () => lines.length >= 1, () => failed);
      for (const sql of LOST.slice(1)) await servers.primary.query(sql);
    }
    // Ends by itself, without a signal: the point was read.
    const report = await running;
    const at = await placeOf(g(3));
    expect(report.stoppedOnRequest).toBe(false);
    expect(report.stoppedBefore).toEqual({ asked: where, gtid: g(3), file: at.file, pos: at.pos });
    expect(report.outcomes).toEqual({ applied: 2, merged: 0, remapped: 0, skipped: 0, quarantined: 0 });
    expect(report.lost.transactions).toBe(2);
    expect(report.committedThrough).toBe(`${at.file}:${at.pos}`);
    expect(lines.map((l) => l.gtid)).toEqual([g(1), g(2)]);
    expect(await servers.dr.query(SELECT)).toEqual([
      { id: 1, v: 'one*' },
      { id: 2, v: 'two' },
      { id: 3, v: 'three' },
    ]);
    expect(await checkpoint()).toEqual([{ gtid_set: `${g(1)}-${g(2).split('-')[2]}`, binlog_file: at.file, pos: String(at.pos) }]);

    // The same command again, through the CLI: the point is the first thing read, nothing lies before it (exit 0).
    const out = new Capture();
    const code = await runSalvageCommand('apply', ['--source', servers.primary.url, '--follow', '--target', servers.dr.url, '--from-gtid', cut, '--stop-before', where, '--json'], out, new Capture(), { env: {}, home: undefined, isTty: false });
    expect(code).toBe(0);
    const again = JSON.parse(out.text) as SalvageReport;
    expect(again.stoppedBefore).toEqual({ asked: where, gtid: g(3), file: at.file, pos: at.pos });
    expect(again.lost.transactions).toBe(0);
    expect(again.windows).toBe(0);
    expect(again.committedThrough).toBe(`${at.file}:${at.pos}`);
    const human = new Capture();
    expect(await runSalvageCommand('apply', ['--source', servers.primary.url, '--follow', '--target', servers.dr.url, '--from-gtid', cut, '--stop-before', where], human, new Capture(), { env: {}, home: undefined, isTty: false })).toBe(0);
    expect(human.text).toContain(`stopped before ${g(3)} (${at.file}:${at.pos}), as --stop-before ${where} asked: nothing from it on was read; no lost transaction lies before it: nothing to apply\n`);
    expect(human.text).toMatch(new RegExp(`\\ncommitted through ${at.file.replace('.', '\\.')}:${at.pos} \\(checkpoint "live:[^"]+"\\); the same command without --stop-before \\(or with a later one\\) goes on from there\\n`));

    // Already past: a point the checkpoint holds, by GTID and by position; refused before anything is written.
    const second = await placeOf(g(2));
    for (const [past, details] of [
      [g(2), { code: 'INPUT_STOP_OUTSIDE', details: { option: '--stop-before', gtid: g(2) } }],
      [`${second.file}:${second.pos}`, { code: 'INPUT_STOP_OUTSIDE', details: { option: '--stop-before', file: second.file, offset: second.pos } }],
    ] as const) {
      const e = await rejectionOf(follow(cut, { stopBefore: past }));
      expect(e, past).toMatchObject(details);
      expect((e as Error).message, past).toMatch(/already past/);
      expect(exitCodeFor(e)).toBe(2);
    }
    expect(await checkpoint()).toEqual([{ gtid_set: `${g(1)}-${g(2).split('-')[2]}`, binlog_file: at.file, pos: String(at.pos) }]);
    expect(await ledger()).toEqual([
      [g(1), 'insert', 'applied', 0],
      [g(2), 'update', 'applied', 0],
    ]);

    // A position inside the fourth transaction: the third applied, then refused where the read reaches it, nothing of the fourth applied.
    const fourth = await placeOf(g(4));
    const inside = await rejectionOf(follow(cut, { stopBefore: `${fourth.file}:${fourth.pos + 1}` }));
    expect(inside).toMatchObject({ code: 'INPUT_STOP_OUTSIDE', details: { option: '--stop-before', file: fourth.file, offset: fourth.pos + 1 } });
    expect((inside as Error).message).toContain(`it lies inside the transaction at ${fourth.file}:${fourth.pos} (which ends at ${fourth.end})`);
    expect((inside as Error).message).toContain(`committed through ${fourth.file}:${fourth.pos}`);
    expect(exitCodeFor(inside)).toBe(2);
    expect(await servers.dr.query(SELECT)).toEqual([
      { id: 1, v: 'one*' },
      { id: 2, v: 'two' },
      { id: 3, v: 'three' },
      { id: 4, v: 'four' },
    ]);
    expect(await checkpoint()).toEqual([{ gtid_set: `${g(1)}-${g(3).split('-')[2]}`, binlog_file: fourth.file, pos: String(fourth.pos) }]);

    // The resume without --stop-before (the server read to its end) goes on from the checkpoint.
    const rest = await salvage({ mode: 'apply', source: { target: servers.primary.target }, target: servers.dr.target, start: { kind: 'from-gtid', set: cut } });
    expect(rest.outcomes).toEqual({ applied: 1, merged: 0, remapped: 0, skipped: 0, quarantined: 0 });
    expect(await servers.dr.query(SELECT)).toEqual(await servers.primary.query(SELECT));
    expect(await ledger()).toEqual([
      [g(1), 'insert', 'applied', 0],
      [g(2), 'update', 'applied', 0],
      [g(3), 'insert', 'applied', 1],
      [g(4), 'delete', 'applied', 2],
    ]);
  }, 120_000);
});

describe('apply --follow --stop-before: a GTID the source writes past without meeting it', () => {
  it('is refused when the read reaches a later GTID of its domain; what lay before it is applied', async () => {
    const staged = await stageIncident(servers.primary, servers.dr, { schema: ['CREATE TABLE s.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)'], base: ["INSERT INTO s.t VALUES (1, 'one'), (2, 'two')"], lost: [] }, ['s']);
    const cut = staged.start;
    const g = (n: number): string => gtidAfter(cut, n);
    for (const sql of LOST.slice(0, 2)) await servers.primary.query(sql);
    // The second transaction's sequence number under another server id: never written.
    const [domain, , seq] = g(2).split('-');
    const typo = `${domain}-9-${seq}`;
    const e = await rejectionOf(follow(cut, { stopBefore: typo }));
    expect(e).toMatchObject({ code: 'INPUT_STOP_NOT_FOUND', details: { option: '--stop-before', gtid: typo } });
    expect((e as Error).message).toContain(`the follow read ${g(2)} at `);
    expect(exitCodeFor(e)).toBe(2);
    expect(await ledger()).toEqual([[g(1), 'insert', 'applied', 0]]);
    expect(await servers.dr.query(SELECT)).toEqual([
      { id: 1, v: 'one' },
      { id: 2, v: 'two' },
      { id: 3, v: 'three' },
    ]);
  }, 120_000);
});
