/**
 * `salvage report`: the report of a past apply rebuilt from the DR's state schema alone, on the small
 * hand-built incident (test/harness/small-incident.ts): the same counts, remaps and quarantined
 * changes as the apply's own --markdown file; what the state schema does not keep marked as not
 * recorded; counts as the run left them after a review resolved a change; the errors.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQuarantine } from '../../src/cli/quarantine-command.js';
import { runReport } from '../../src/cli/report-command.js';
import { runResolve } from '../../src/cli/resolve-command.js';
import { runSalvageCommand, type SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { ReportError } from '../../src/pipeline/report-from-ledger.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { SMALL_INCIDENT } from '../harness/small-incident.js';

const ENV: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };
const { schema: SCHEMA, base: BASE, lost: LOST, drOwn: DR_OWN } = SMALL_INCIDENT;

let primary: MariadbServer;
let dr: MariadbServer;
let dir: string;
let start: string;
let applyMd: string;
let applyJson: { counts: unknown; remaps: unknown; outcomes: unknown; lost: { transactions: number; rowChanges: number }; start: unknown; timings: unknown; incomplete: unknown };

function lost(n: number): string {
  return `0-1-${Number(start.split('-')[2]) + n}`;
}

/** The lines of the section that starts with `## title`, up to the next section. */
function section(md: string, title: string): string[] {
  const lines = md.split('\n');
  const from = lines.indexOf(`## ${title}`);
  if (from < 0) throw new Error(`no section "${title}" in:\n${md}`);
  const to = lines.findIndex((l, i) => i > from && l.startsWith('## '));
  return lines.slice(from + 1, to < 0 ? undefined : to).filter((l) => l !== '');
}

async function report(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new Capture();
  const err = new Capture();
  const code = await runReport(['--target', dr.url, ...args], out, err, ENV);
  return { code, out: out.text, err: err.text };
}

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'report-primary' }), startMariadb({ name: 'report-dr', serverId: 2 })]);
  dir = await mkdtemp(join(tmpdir(), 'salvage-report-'));
  for (const sql of [...SCHEMA, ...BASE]) {
    await primary.query(sql);
    await dr.query(sql);
  }
  start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  for (const sql of LOST) await primary.query(sql);
  for (const sql of DR_OWN) await dr.query(sql);
  await primary.flushBinaryLogs();
  const config = join(dir, 'salvage.json');
  await writeFile(config, JSON.stringify({ tables: SMALL_INCIDENT.references }));
  const md = join(dir, 'apply.md');
  const json = join(dir, 'apply.json');
  const args = ['--binlog', ...(await primary.binlogFiles()), '--target', dr.url, '--from-gtid', start, '--config', config, '--markdown', md, '--report', json, '--quiet'];
  expect(await runSalvageCommand('apply', args, new Capture(), new Capture(), ENV)).toBe(3);
  applyMd = await readFile(md, 'utf8');
  applyJson = JSON.parse(await readFile(json, 'utf8')) as typeof applyJson;
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('salvage report', () => {
  it('rebuilds the Markdown of the latest apply: the counts, remaps and quarantined changes the apply wrote', async () => {
    const file = join(dir, 'report.md');
    const r = await report('--markdown', file);
    expect(r).toEqual({ code: 0, out: '', err: `salvage report: run 1 (completed) written to ${file}\n` });
    const md = await readFile(file, 'utf8');
    const lines = md.split('\n');
    expect(lines[0]).toBe(`# salvage report: mysql://root@127.0.0.1:${dr.port}, run 1`);
    expect(lines[2]).toMatch(/^The transactions the DR never received, merged into the DR by run 1 \(completed, started \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} UTC, finished \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} UTC\), as the DR's state schema records it\.$/);
    expect(lines).toContain('| outcomes | 1 applied, 1 merged, 2 remapped, 0 skipped, 2 quarantined |');
    expect(lines).toContain('| source | `binlog:mysql-bin`: 2 binlog files, `mysql-bin.000001` … `mysql-bin.000002` |');
    for (const title of ['Changes per table', 'Remapped keys (2)']) expect(section(md, title)).toEqual(section(applyMd, title));
    // The changes the apply listed, each with its entry (number, status) first and its resolution last.
    const quarantined = section(md, 'Quarantined changes (2)').slice(1);
    expect(quarantined.filter((l) => l.startsWith('| ')).map((l) => l.split(' | ')[0])).toEqual(['| entry', '| 1, pending', '| 2, pending']);
    expect(quarantined.map(withoutEntryCells)).toEqual(section(applyMd, 'Quarantined changes (2)').slice(1));
    // What only the run knew, it kept with itself (runs.summary): the start rule, the lost window's times, the timings.
    for (const title of ['Starting point', 'Lost window', 'Run']) expect(section(md, title)).toEqual(section(applyMd, title));
    expect(md).not.toContain('## Not recorded');
    // Without an output option the Markdown goes to stdout.
    expect((await report()).out).toBe(md);
  });

  it('--json prints the rebuilt report and the quarantined changes with their images', async () => {
    const r = await report('--json');
    const { report: rebuilt, quarantined } = JSON.parse(r.out) as { report: Record<string, unknown>; quarantined: Record<string, unknown>[] };
    expect(rebuilt['counts']).toEqual(applyJson.counts);
    expect(rebuilt['remaps']).toEqual(applyJson.remaps);
    expect(rebuilt['outcomes']).toEqual(applyJson.outcomes);
    expect(rebuilt['lost']).toEqual(applyJson.lost);
    expect(rebuilt).toMatchObject({ mode: 'apply', runId: 1, start: applyJson.start, timings: applyJson.timings, withoutHistory: true, incomplete: applyJson.incomplete, stoppedOnRequest: false });
    expect(quarantined).toEqual([
      {
        label: `${lost(5)}#0`,
        table: 'shop.customers',
        op: 'insert',
        key: [5],
        class: 'insert-unique-taken',
        reason: 'another DR row already holds unique key uk_email',
        // The primary logs ANNOTATE_ROWS (MariaDB's default): the statement that made the change.
        statement: LOST[4],
        before: null,
        after: { id: 5, email: 'Zed@X', name: 'Zed P' },
        dr: { id: 4, email: 'zed@x', name: 'Zed D' },
        entry: { id: 1, status: 'pending', resolution: null },
      },
      {
        label: `${lost(6)}#0`,
        table: 'shop.orders',
        op: 'delete',
        key: [2],
        class: 'clean',
        reason: 'cascade guard: 1 row(s) of shop.notes still point at it (config:order_id, a logical reference)',
        statement: LOST[5],
        before: { id: 2, customer_id: 2, total: '20.00' },
        after: null,
        dr: null,
        entry: { id: 2, status: 'pending', resolution: null },
      },
    ]);
  });

  it('a run that kept no summary (killed before its end, or an older version): what the ledger cannot say is listed as not recorded', async () => {
    const kept = (await dr.query('SELECT summary FROM salvage.runs WHERE id = 1')) as { summary: string }[];
    await dr.query('UPDATE salvage.runs SET summary = NULL WHERE id = 1');
    try {
      const md = (await report()).out;
      expect(section(md, 'Starting point')).toEqual(["Not recorded: the DR's state schema keeps the decisions, not the rule that chose the start."]);
      expect(section(md, 'Lost window')).toEqual([
        '6 transaction(s), 6 row change(s).',
        '| | GTID | binlog position | committed (UTC) |',
        '|---|---|---|---|',
        `| first | \`${lost(1)}\` | not recorded | not recorded |`,
        `| last | \`${lost(6)}\` | not recorded | not recorded |`,
      ]);
      expect(section(md, 'Not recorded')).toEqual([
        "The DR's state schema does not keep these, so this report cannot give them (the run's own `--report`, `--markdown` or `--html` files have them):",
        '- the rule that chose the starting point, the lost GTID set and any CHECK doubts',
        '- the commit times of the lost transactions, and the binlog positions of those with a GTID',
        '- how many transactions the lost range held when the run began: the counts here are what the run recorded',
        '- transactions never committed in the binlog (not applied)',
        '- windows, retries and timings',
        "- whether the run read the DR's own binlog (history), and what the DR wrote since the failover",
      ]);
      expect(section(md, 'Run')).toEqual([section(applyMd, 'Run')[1]]);
    } finally {
      await dr.query('UPDATE salvage.runs SET summary = ? WHERE id = 1', [kept[0]!.summary]);
    }
  });

  it('after a review, counts stay as the run left them and say what was resolved since', async () => {
    const exported = (await captured(runQuarantine, ['export'])).trimEnd().split('\n');
    const first = JSON.parse(exported[0]!) as Record<string, unknown>;
    const file = join(dir, 'decisions.jsonl');
    await writeFile(file, `${JSON.stringify({ ...first, decision: { action: 'skip' } })}\n`);
    await captured(runResolve, [file]);
    const md = (await report('--run', '1')).out;
    expect(section(md, 'Changes per table')).toEqual([...section(applyMd, 'Changes per table'), 'Counts as the run left them. Since then a review resolved 1 of the quarantined changes (1 skipped); 1 still wait for a decision.']);
    const html = join(dir, 'report.html');
    await report('--html', html);
    const page = await readFile(html, 'utf8');
    expect(page).toContain('<span class="status s-done">entry 1, resolved</span>');
    expect(page).toContain('<span class="status s-pending">entry 2, pending</span>');
    // The Markdown says the same (README: each quarantined change shows its entry, status and resolution).
    const rows = md.split('\n').filter((l) => /^\| \d+, /.test(l));
    expect(rows.map((l) => [l.split(' | ')[0], l.split(' | ').at(-1)])).toEqual([
      ['| 1, resolved', 'resolved by review: skipped |'],
      ['| 2, pending', '– |'],
    ]);
  });

  it('refuses what it cannot report: another kind of run, a run that is not there, a DR without state', async () => {
    // The review above recorded run 2, a resolve.
    expect(await errorOf(report('--run', '2'))).toMatchObject({ code: 'REPORT_NO_RUN', message: 'run 2 is a resolve run, not an apply: a report covers what an apply did' });
    expect(await errorOf(report('--run', '9'))).toMatchObject({ code: 'REPORT_NO_RUN', message: 'the state schema `salvage` has no run 9; the runs are listed in `salvage`.runs' });
    expect(await errorOf(report('--state-schema', 'nothing_here'))).toMatchObject({ code: 'REVIEW_NO_STATE' });
    expect(await errorOf(report('--run', 'x'))).toBeInstanceOf(UsageError);
    expect(await errorOf(report('--run', '9'))).toBeInstanceOf(ReportError);
    await expect(runReport([], new Capture(), new Capture(), ENV)).rejects.toThrow('report: --target mysql://user@host:port (the DR) is required');
  });

  it('after a re-run that found nothing lost, the default report says which earlier run merged', async () => {
    // Run 3: the same apply again; everything it reads is already in the checkpoint, so its ledger is empty.
    const again = ['--binlog', ...(await primary.binlogFiles()), '--target', dr.url, '--from-gtid', start, '--quiet'];
    await runSalvageCommand('apply', again, new Capture(), new Capture(), ENV);
    const latest = await report();
    expect(latest.code).toBe(0);
    // The pointer runs as printed (found walking the runbook: "salvage report --run 1" alone lacks the DR).
    expect(latest.err).toBe(`salvage report: run 3, the latest apply, recorded no lost change; run 1 is the latest that did: salvage report --target ${dr.url} --run 1\n`);
    const written = await report('--markdown', join(dir, 'latest.md'));
    expect(written.err).toBe(
      `salvage report: run 3 (completed) written to ${join(dir, 'latest.md')}\nsalvage report: run 3, the latest apply, recorded no lost change; run 1 is the latest that did: salvage report --target ${dr.url} --run 1 --markdown ${join(dir, 'latest.md')}\n`,
    );
    expect(section(latest.out, 'Lost window')[0]).toBe('0 transaction(s), 0 row change(s).');
    // Asked for by id, or under --quiet, the report is as it was: no pointer.
    expect((await report('--run', '3')).err).toBe('');
    expect((await report('--quiet')).err).toBe('');
    expect((await report('--run', '1')).err).toBe('');
  });
});

/** A row of the rebuilt quarantine table without its entry and resolution cells, as the apply's own report lists it. */
function withoutEntryCells(line: string): string {
  if (line.startsWith('|---')) return line.replace(/^\|---\|(.*)\|---\|$/, '|$1|');
  return line.replace(/^\| [^|]* \| (.*) \| [^|]* \|$/, '| $1 |');
}

/** What `p` rejects with; a promise that resolves fails the test. */
async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the command to fail');
}

async function captured(run: typeof runQuarantine, args: string[]): Promise<string> {
  const out = new Capture();
  await run([...args, '--target', dr.url], out, new Capture(), ENV);
  return out.text;
}
