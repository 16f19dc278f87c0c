/**
 * Progress on stderr (src/cli/progress.ts): the refreshed terminal line, plain lines for logs, and
 * `--progress json` events for wrappers, with the ETA from the rate so far — first as exact text
 * from given figures, then through `salvage plan` on a throwaway incident and `salvage inspect` on
 * a recorded binlog, each with a fake stderr.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInspect } from '../../src/cli/inspect-command.js';
import { durationText, etaSeconds, progressStyle, readProgress, salvageProgress, type ProgressStyle } from '../../src/cli/progress.js';
import { runSalvageCommand, type SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { UsageError } from '../../src/cli/usage-error.js';
import type { SalvageProgress } from '../../src/pipeline/salvage.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { SMALL_INCIDENT } from '../harness/small-incident.js';

const OUTCOMES = { applied: 3, merged: 1, remapped: 1, skipped: 0, quarantined: 1 };

function at(elapsedMs: number, rows: number, tx = rows / 10, following = false): SalvageProgress {
  return {
    transactionsDone: tx,
    transactionsTotal: following ? tx : 40,
    rowChangesDone: rows,
    rowChangesTotal: following ? rows : 400,
    outcomes: OUTCOMES,
    position: `mysql-bin.000001:${1000 + rows}`,
    elapsedMs,
    following,
  };
}

/** What one style writes for these figures, then `done(ok)`. */
function written(style: ProgressStyle, figures: readonly SalvageProgress[], ok = true): string {
  const err = new Capture();
  const p = salvageProgress(err, style, 'apply');
  for (const f of figures) p(f);
  p.done(ok);
  p.done(ok);
  return err.text;
}

const TAIL = '— applied 3, merged 1, remapped 1, skipped 0, quarantined 1';

describe('salvage progress, from given figures', () => {
  const run = [at(100, 10), at(6_000, 100), at(8_000, 150), at(10_000, 200), at(12_000, 250), at(16_000, 400)];

  it('a terminal: one line refreshed in place at most every 200 ms, with the ETA, ended by a newline', () => {
    expect(written('tty', run)).toBe(
      [
        `\r\x1b[Kapply: 10/40 transactions, 100/400 row changes, 17 rows/s, ETA 18s, at mysql-bin.000001:1100 ${TAIL}`,
        `\r\x1b[Kapply: 15/40 transactions, 150/400 row changes, 19 rows/s, ETA 14s, at mysql-bin.000001:1150 ${TAIL}`,
        `\r\x1b[Kapply: 20/40 transactions, 200/400 row changes, 20 rows/s, ETA 10s, at mysql-bin.000001:1200 ${TAIL}`,
        `\r\x1b[Kapply: 25/40 transactions, 250/400 row changes, 21 rows/s, ETA 8s, at mysql-bin.000001:1250 ${TAIL}`,
        `\r\x1b[Kapply: 40/40 transactions, 400/400 row changes, 25 rows/s, at mysql-bin.000001:1400 ${TAIL}`,
        '\n',
      ].join(''),
    );
  });

  it('a log: a plain line every 5 s, and the last figures', () => {
    expect(written('plain', run)).toBe(
      [
        `apply: 10/40 transactions, 100/400 row changes, 17 rows/s, ETA 18s, at mysql-bin.000001:1100 ${TAIL}\n`,
        `apply: 25/40 transactions, 250/400 row changes, 21 rows/s, ETA 8s, at mysql-bin.000001:1250 ${TAIL}\n`,
        `apply: 40/40 transactions, 400/400 row changes, 25 rows/s, at mysql-bin.000001:1400 ${TAIL}\n`,
      ].join(''),
    );
  });

  it('--progress json: one object per line with the same figures, then the done event, once', () => {
    const lines = written('json', run).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l['event'], l['rowChangesDone'], l['etaSeconds']])).toEqual([
      ['progress', 100, 18],
      ['progress', 150, 14],
      ['progress', 200, 10],
      ['progress', 250, 8],
      ['progress', 400, 0],
      ['done', 400, 0],
    ]);
    expect(lines[0]).toEqual({
      event: 'progress',
      command: 'apply',
      transactionsDone: 10,
      transactionsTotal: 40,
      rowChangesDone: 100,
      rowChangesTotal: 400,
      rowsPerSecond: 17,
      etaSeconds: 18,
      position: 'mysql-bin.000001:1100',
      outcomes: OUTCOMES,
      elapsedMs: 6000,
      following: false,
    });
    expect(lines[5]).toEqual({ ...lines[4], event: 'done', ok: true });
    // A run that fails says so; one that failed before any figure still ends with its done event.
    expect(JSON.parse(written('json', [at(7_000, 100)], false).trimEnd().split('\n').pop()!)).toMatchObject({ event: 'done', ok: false, rowChangesDone: 100 });
    expect(written('json', [], false)).toBe('{"event":"done","ok":false,"command":"apply"}\n');
  });

  it('following a live server: no totals and no ETA', () => {
    const figures = [at(2_000, 30, 3, true), at(3_000, 40, 4, true)];
    expect(written('tty', figures)).toBe(
      [`\r\x1b[Kapply: following: 3 transactions, 30 row changes, 15 rows/s, at mysql-bin.000001:1030 ${TAIL}`, `\r\x1b[Kapply: following: 4 transactions, 40 row changes, 13 rows/s, at mysql-bin.000001:1040 ${TAIL}`, '\n'].join(''),
    );
    const json = JSON.parse(written('json', figures).split('\n')[0]!) as Record<string, unknown>;
    expect(json).toMatchObject({ transactionsTotal: null, rowChangesTotal: null, etaSeconds: null, following: true });
  });

  it('--quiet: nothing at all', () => {
    expect(written('off', run)).toBe('');
  });
});

describe('progress style, ETA and durations', () => {
  it('picks the style from --progress, --quiet and whether stderr is a terminal', () => {
    expect(progressStyle(undefined, false, true)).toBe('tty');
    expect(progressStyle(undefined, false, false)).toBe('plain');
    expect(progressStyle('auto', false, true)).toBe('tty');
    expect(progressStyle('plain', false, true)).toBe('plain');
    expect(progressStyle('json', false, true)).toBe('json');
    expect(progressStyle(undefined, true, true)).toBe('off');
    expect(progressStyle('auto', true, false)).toBe('off');
    expect(() => progressStyle('json', true, false)).toThrow(new UsageError('--quiet turns progress off: give --quiet or --progress json, not both', '--progress'));
    expect(() => progressStyle('xml', false, false)).toThrow('--progress takes auto, plain, json, got "xml"');
  });

  it('the ETA is the rest at the rate so far; durations read as people say them', () => {
    expect([etaSeconds(0, 10, 1000), etaSeconds(5, 10, 0), etaSeconds(5, 10, 1000), etaSeconds(1, 3, 1000), etaSeconds(10, 10, 1000), etaSeconds(11, 10, 1000)]).toEqual([null, null, 1, 2, 0, 0]);
    expect([0, 59, 60, 185, 3599, 3600, 7620].map(durationText)).toEqual(['0s', '59s', '1m00s', '3m05s', '59m59s', '1h00m', '2h07m']);
  });

  it('inspect: bytes read of the total, every second on a terminal, every 10 s in a log, JSON every second', () => {
    const figures = [
      [500, 1048576],
      [1_000, 2097152],
      [11_000, 4194304],
      [12_000, 8388608],
    ] as const;
    const run = (style: ProgressStyle): string => {
      let now = 0;
      const err = new Capture();
      const p = readProgress(err, style, () => now);
      for (const [t, bytes] of figures) {
        now = t;
        p({ bytesRead: bytes, bytesTotal: 8388608, transactions: bytes / 1024, file: 'mysql-bin.000042' });
      }
      p.done(true);
      return err.text;
    };
    expect(run('tty')).toBe(
      [
        '\rsalvage: read 2.0 of 8.0 MiB (25.0%), ETA 3s, 2048 transactions, in mysql-bin.000042\x1b[K',
        '\rsalvage: read 4.0 of 8.0 MiB (50.0%), ETA 11s, 4096 transactions, in mysql-bin.000042\x1b[K',
        '\rsalvage: read 8.0 of 8.0 MiB (100.0%), 8192 transactions, in mysql-bin.000042\x1b[K',
        '\r\x1b[K',
      ].join(''),
    );
    expect(run('plain')).toBe('salvage: read 4.0 of 8.0 MiB (50.0%), ETA 11s, 4096 transactions, in mysql-bin.000042\n');
    const json = run('json').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json.map((e) => [e['event'], e['bytesRead'], e['etaSeconds']])).toEqual([
      ['progress', 2097152, 3],
      ['progress', 4194304, 11],
      ['progress', 8388608, 0],
      ['done', 8388608, 0],
    ]);
    expect(json[0]).toEqual({ event: 'progress', command: 'inspect', bytesRead: 2097152, bytesTotal: 8388608, transactions: 2048, file: 'mysql-bin.000042', bytesPerSecond: 2097152, etaSeconds: 3, elapsedMs: 1000 });
  });
});

const FIXTURES = resolve(import.meta.dirname, '../../../shared/fixtures/real-binlogs');

describe('salvage inspect --progress json', () => {
  it('ends with the done event and the bytes read; a usage error comes before any event', async () => {
    const file = `${FIXTURES}/local-mariadb-10.11/failover/primary/primary-bin.000001`;
    const out = new Capture();
    const err = new Capture();
    expect(await runInspect(['--json', '--progress', 'json', file], out, err, {})).toBe(0);
    const events = err.text.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = events[events.length - 1]!;
    expect(done).toMatchObject({ event: 'done', ok: true, command: 'inspect', file });
    expect(done['bytesRead']).toBe(done['bytesTotal']);
    expect(events.slice(0, -1).every((e) => e['event'] === 'progress')).toBe(true);
    await expect(runInspect(['--progress', 'json', '--quiet', file], new Capture(), new Capture(), {})).rejects.toThrow(UsageError);
    const failed = new Capture();
    await expect(runInspect(['--progress', 'json', `${file}.missing`], new Capture(), failed, {})).rejects.toThrow();
    expect(failed.text).toBe('{"event":"done","ok":false,"command":"inspect"}\n');
  });
});

describe('salvage plan, progress on a fake stderr', () => {
  let primary: MariadbServer;
  let dr: MariadbServer;
  let dir: string;
  let args: string[];

  beforeAll(async () => {
    [primary, dr] = await Promise.all([startMariadb({ name: 'progress-primary' }), startMariadb({ name: 'progress-dr', serverId: 2 })]);
    dir = await mkdtemp(join(tmpdir(), 'salvage-progress-'));
    const { schema, base, lost, drOwn, references } = SMALL_INCIDENT;
    for (const sql of [...schema, ...base]) {
      await primary.query(sql);
      await dr.query(sql);
    }
    const start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
    for (const sql of lost) await primary.query(sql);
    for (const sql of drOwn) await dr.query(sql);
    await primary.flushBinaryLogs();
    const config = join(dir, 'salvage.json');
    await writeFile(config, JSON.stringify({ tables: references }));
    args = ['--binlog', ...(await primary.binlogFiles()), '--target', dr.url, '--from-gtid', start, '--config', config];
  }, 120_000);

  afterAll(async () => {
    await Promise.all([primary?.stop(), dr?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function plan(extra: string[], isTty: boolean): Promise<string> {
    const err = new Capture();
    const env: SalvageCommandEnvironment = { env: {}, home: undefined, isTty };
    expect(await runSalvageCommand('plan', [...args, ...extra], new Capture(), err, env)).toBe(3);
    return err.text;
  }

  const LAST = /plan: 6\/6 transactions, 6\/6 row changes, \d+ rows\/s, at mysql-bin\.000001:\d+ — applied 1, merged 1, remapped 2, skipped 0, quarantined 2/;

  it('on a terminal: the line refreshed in place, ended by a newline', async () => {
    // One window: one figure, the last, which always shows.
    expect(await plan([], true)).toMatch(new RegExp(`^\\r\\x1b\\[K${LAST.source}\\n$`));
  });

  it('in a log: plain lines', async () => {
    expect(await plan([], false)).toMatch(new RegExp(`^${LAST.source}\\n$`));
    expect(await plan(['--progress', 'plain'], true)).toMatch(new RegExp(`^${LAST.source}\\n$`));
  });

  it('--progress json: the events, the last figures and the done event', async () => {
    const events = (await plan(['--progress', 'json', '--window', '2'], true)).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const last = events[events.length - 2]!;
    expect(last).toMatchObject({
      event: 'progress',
      command: 'plan',
      transactionsDone: 6,
      transactionsTotal: 6,
      rowChangesDone: 6,
      rowChangesTotal: 6,
      etaSeconds: 0,
      outcomes: { applied: 1, merged: 1, remapped: 2, skipped: 0, quarantined: 2 },
      following: false,
    });
    expect(last['position']).toMatch(/^mysql-bin\.000001:\d+$/);
    expect(events[events.length - 1]).toEqual({ ...last, event: 'done', ok: true });
    expect(events.slice(0, -1).every((e) => e['event'] === 'progress')).toBe(true);
  });

  it('--window-rows closes a window at that many row changes, the outcomes unchanged (6 one-row transactions)', async () => {
    const windows = async (extra: string[]): Promise<[number, unknown]> => {
      const out = new Capture();
      expect(await runSalvageCommand('plan', [...args, '--json', '--quiet', ...extra], out, new Capture(), { env: {}, home: undefined, isTty: false })).toBe(3);
      const report = JSON.parse(out.text) as { windows: number; outcomes: unknown };
      return [report.windows, report.outcomes];
    };
    const outcomes = { applied: 1, merged: 1, remapped: 2, skipped: 0, quarantined: 2 };
    expect(await windows([])).toEqual([1, outcomes]);
    expect(await windows(['--window-rows', '2'])).toEqual([3, outcomes]);
    expect(await windows(['--window-rows', '4'])).toEqual([2, outcomes]);
    // Whichever limit comes first: 2 transactions before 4 rows.
    expect(await windows(['--window-rows', '4', '--window', '2'])).toEqual([3, outcomes]);
  });

  it('--quiet: nothing; a run that fails ends with done, ok false', async () => {
    expect(await plan(['--quiet'], true)).toBe('');
    const err = new Capture();
    const bad = args.map((a, i) => (args[i - 1] === '--from-gtid' ? 'not-a-gtid' : a));
    await expect(runSalvageCommand('plan', [...bad, '--progress', 'json'], new Capture(), err, { env: {}, home: undefined, isTty: false })).rejects.toThrow();
    expect(err.text).toBe('{"event":"done","ok":false,"command":"plan"}\n');
  });
});
