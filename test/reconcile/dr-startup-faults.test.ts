/**
 * A DR connection lost before the first window (docs/RELIABILITY.md §7 item 3), on the staged
 * failover of the crash tests (29 lost transactions, windows of 2): each case restores the DR to
 * the staged incident and applies with the connection lost at one start-up step — by a proxy that
 * drops it after the server answered (the step done, the answer lost), by `KILL CONNECTION`, by the
 * DR restarting (and, after the last window, while the pending quarantine is counted). With reconnect attempts the connection is reopened, the step made again, and the
 * DR ends as an uninterrupted apply leaves it (rows, CHECKSUM TABLE, ledger, key map, quarantine,
 * checkpoint: test/harness/failover-dr.ts) with one run row, completed. Without them the run stops
 * with SALVAGE_FAULT naming the step, and the same command then finishes.
 *
 * The run's first connection is retried too while the DR does not answer (an apply started before
 * the DR listens ends as an uninterrupted one), never when the DR refuses the account, the
 * database or TLS; and a plan whose connection is lost while it reads a window reads it again and
 * ends with the uninterrupted plan, writing nothing.
 *
 * The CLI case runs dist/ (`npm run build` first when running this file alone).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionTarget } from '../../src/db/connection-url.js';
import { FAILOVER_LOGICAL_REFERENCES } from '../../src/demo/stage-failover.js';
import { runSalvageCommand } from '../../src/cli/salvage-command.js';
import { DatabaseError } from '../../src/db/schema-hints.js';
import { EngineError } from '../../src/errors.js';
import { salvage, SalvageErrorCode, type DrReconnectNotice, type SalvageOptions, type SalvageReport, type SalvageTestHooks } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { Capture } from '../harness/capture.js';
import { stageFailoverDr, type DrState, type FailoverDr } from '../harness/failover-dr.js';
import { freePort } from '../harness/free-port.js';
import { startTcpProxy, type StatementKind, type TcpProxy } from '../harness/tcp-proxy.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const WINDOW = 2;
/** Windows the partial apply commits before a case that needs a checkpoint on the DR. */
const K = 3;

let f: FailoverDr;
let configFile = '';
let proxy: TcpProxy;
let viaProxy: ConnectionTarget;
/** The uninterrupted apply: its end state, report and ledger line count. */
let reference: { state: DrState; report: SalvageReport; ledgerLines: number };
/** The uninterrupted plan's report. */
let planned: SalvageReport;

function options(extra: Partial<SalvageOptions & SalvageTestHooks> = {}): SalvageOptions & SalvageTestHooks {
  return {
    mode: 'apply',
    binlogs: f.staged.files,
    target: f.dr.target,
    windowTransactions: WINDOW,
    logicalReferences: FAILOVER_LOGICAL_REFERENCES,
    verifyChecksums: true,
    reconnect: { initialDelayMs: 100 },
    ...extra,
  };
}

async function apply(extra: Partial<SalvageOptions & SalvageTestHooks> = {}): Promise<{ report: SalvageReport; ledgerLines: number }> {
  let ledgerLines = 0;
  const report = await salvage(options({ ...extra, onLedger: () => ledgerLines++ }));
  return { report, ledgerLines };
}

async function rejection(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected the run to fail');
}

/** Stops after `windows` committed windows (the abort is checked before the next window starts). */
async function applyStoppedAfter(windows: number): Promise<void> {
  const abort = new AbortController();
  let done = 0;
  const e = await rejection(salvage(options({ signal: abort.signal, onProgress: () => ++done === windows && abort.abort() })));
  expect(e.code).toBe(SalvageErrorCode.Aborted);
}

async function runStatuses(): Promise<string[]> {
  const { rows } = await f.admin().query('SELECT status FROM salvage.runs ORDER BY id');
  return rows.map((r) => String(r['status']));
}

/** Kills the engine's connection from another session (the mariadb client; a hook cannot await). */
function killEngine(): void {
  const ids = f
    .clientQuery(`SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND ID <> ${f.adminId()} AND USER = 'root' AND COMMAND <> 'Killed'`)
    .split('\n')
    .filter((l) => l.trim() !== '');
  expect(ids).toHaveLength(1);
  f.clientQuery(`KILL CONNECTION ${Number(ids[0])}`);
}

/** The statements a start-up step sends first, as the proxy sees them. */
const AT = {
  lock: (sql: string) => sql.startsWith('SELECT GET_LOCK('),
  checkpoint: (sql: string) => sql.startsWith('SELECT source_id, gtid_set, binlog_file') && !sql.endsWith('FOR UPDATE'),
  columnTypes: (sql: string) => sql.startsWith('SELECT') && sql.includes('FROM information_schema.COLUMNS c') && !sql.includes('AS dflt'),
  introspection: (sql: string) => sql.includes('c.COLUMN_DEFAULT AS dflt'),
  stateSchema: (sql: string) => sql.startsWith('CREATE TABLE IF NOT EXISTS `salvage`.`ledger`'),
  runRow: (sql: string) => sql.startsWith('INSERT INTO `salvage`.`runs`'),
  pendingCount: (sql: string) => sql.startsWith('SELECT COUNT(*) AS n FROM `salvage`.`quarantine`'),
} as const;

beforeAll(async () => {
  f = await stageFailoverDr('dr-startup-faults');
  configFile = join(f.workDir, 'salvage.json');
  await writeFile(configFile, JSON.stringify({ tables: FAILOVER_LOGICAL_REFERENCES }));
  const run = await apply();
  reference = { ...run, state: await f.readState() };
  await f.restore();
  planned = await salvage(options({ mode: 'plan' }));
  proxy = await startTcpProxy(f.dr.host, f.dr.port);
  viaProxy = { ...f.dr.target, port: proxy.port, redacted: `mysql://root@127.0.0.1:${proxy.port}` };
}, 120_000);

afterAll(async () => {
  await proxy?.close();
  await f?.stop();
});

describe('a DR connection lost at a start-up step is reopened and the step made again', () => {
  const cases: readonly { title: string; at: (sql: string, kind: StatementKind) => boolean; serverSideStays?: boolean }[] = [
    { title: "while the DR's column types are read (the answer lost)", at: AT.columnTypes },
    { title: "during introspection (the schema read's answer lost)", at: AT.introspection },
    { title: 'right after the lock was taken, the server still holding the lost session and its lock', at: AT.lock, serverSideStays: true },
    { title: 'during the state-schema ensure (a CREATE TABLE done, its answer lost)', at: AT.stateSchema },
    { title: "right after the run's row was inserted (its answer lost): one run row, not two", at: AT.runRow },
    { title: 'after the last window, while the quarantine pending review is counted', at: AT.pendingCount },
  ];
  for (const c of cases) {
    it(c.title, async () => {
      await f.restore();
      proxy.dropOn(c.at, 'after-reply', { serverSideStays: c.serverSideStays === true });
      const run = await apply({ target: viaProxy });
      expect(proxy.dropped).not.toBeNull();
      expect(c.at(proxy.dropped!, 'query')).toBe(true);
      expect(run.report.drReconnects).toBe(1);
      expect([run.report.windows, run.ledgerLines, run.report.warnings, run.report.pendingQuarantine]).toEqual([reference.report.windows, reference.ledgerLines, [], reference.report.pendingQuarantine]);
      expect(await f.readState()).toEqual(reference.state);
      expect(await runStatuses()).toEqual(['completed']);
    });
  }

  it('during the checkpoint read of a run that resumes: it resumes from the checkpoint as an uninterrupted one does', async () => {
    await f.restore();
    await applyStoppedAfter(K);
    proxy.dropOn(AT.checkpoint);
    const run = await apply({ target: viaProxy });
    expect(proxy.dropped).toMatch(/^SELECT source_id, gtid_set, binlog_file/);
    expect(run.report.drReconnects).toBe(1);
    expect(run.report.windows).toBe(reference.report.windows - K);
    expect(await f.readState()).toEqual(reference.state);
    expect(await runStatuses()).toEqual(['interrupted', 'completed']);
  });

  it('KILLed before the introspection reads are sent', async () => {
    await f.restore();
    let killed = false;
    const run = await apply({
      beforeStatement: (sql) => {
        if (!killed && sql.includes('AUTO_INCREMENT AS next_id')) {
          killed = true;
          killEngine();
        }
      },
    });
    expect(killed).toBe(true);
    expect(run.report.drReconnects).toBe(1);
    expect([run.report.windows, run.ledgerLines]).toEqual([reference.report.windows, reference.ledgerLines]);
    expect(await f.readState()).toEqual(reference.state);
    expect(await runStatuses()).toEqual(['completed']);
  });

  it('the DR restarted while the state schema is created: reconnected once it is back', async () => {
    await f.restore();
    let restarting: Promise<void> | null = null;
    const run = await apply({
      beforeStatement: (sql) => {
        if (restarting === null && AT.stateSchema(sql)) restarting = f.dr.restart();
      },
    });
    expect(restarting).not.toBeNull();
    await restarting;
    await f.reopenAdmin();
    expect(run.report.drReconnects).toBe(1);
    expect([run.report.windows, run.ledgerLines]).toEqual([reference.report.windows, reference.ledgerLines]);
    expect(await f.readState()).toEqual(reference.state);
    expect(await runStatuses()).toEqual(['completed']);
  });

  it('plan: lost during introspection, reopened; the plan is the uninterrupted one', async () => {
    await f.restore();
    proxy.dropOn(AT.introspection);
    const report = await salvage(options({ mode: 'plan', target: viaProxy }));
    expect(proxy.dropped).not.toBeNull();
    expect(report.drReconnects).toBe(1);
    expect([report.counts, report.outcomes, report.windows, report.lost]).toEqual([planned.counts, planned.outcomes, planned.windows, planned.lost]);
  });
});

describe('without reconnect attempts: SALVAGE_FAULT naming the step, and the same command then finishes', () => {
  it('lost during introspection: nothing written; the same apply ends as the uninterrupted one', async () => {
    await f.restore();
    const before = await f.readState();
    proxy.dropOn(AT.introspection);
    const e = await rejection(apply({ target: viaProxy, reconnect: { attempts: 0 } }));
    expect(e.code).toBe(SalvageErrorCode.Fault);
    expect(e.details['step']).toBe('introspection');
    expect(e.message).toMatch(/^lost the connection to the DR while reading the DR's schema: .+ \[DB_QUERY\]; not reconnecting \(reconnect attempts: 0\); nothing was committed by this run; run apply again to start over$/s);
    expect(await f.readState()).toEqual(before);
    await apply();
    expect(await f.readState()).toEqual(reference.state);
    expect(await runStatuses()).toEqual(['completed']);
  });

  it('lost during the state-schema ensure, some of its tables made: the same apply makes the rest and ends as the uninterrupted one', async () => {
    await f.restore();
    proxy.dropOn(AT.stateSchema);
    const e = await rejection(apply({ target: viaProxy, reconnect: { attempts: 0 } }));
    expect([e.code, e.details['step']]).toEqual([SalvageErrorCode.Fault, 'state-schema']);
    expect(e.message).toMatch(/^lost the connection to the DR while creating or updating the state schema: .+; not reconnecting \(reconnect attempts: 0\); nothing was committed by this run; run apply again to start over$/s);
    // A state schema cut short has no checkpoint table (made last), so it reads as none: it used to
    // read as a state schema, and every later run failed on a table it lacked.
    const { rows } = await f.admin().query("SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'salvage' ORDER BY TABLE_NAME");
    expect(rows.map((r) => r['t'])).toEqual(['key_floor', 'key_map', 'ledger', 'runs', 'schema_version']);
    await apply();
    expect(await f.readState()).toEqual(reference.state);
    expect(await runStatuses()).toEqual(['completed']);
  });

  it('the CLI, lost right after the lock: exit 1, the step and "run the same apply again"; the same command then exits 3', async () => {
    if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` first');
    await f.restore();
    const cli = (port: number): Promise<{ code: number | null; stderr: string }> => {
      const args = [CLI, 'apply', '--binlog', ...f.staged.files, '--target', `mysql://root@127.0.0.1:${port}`, '--window', String(WINDOW), '--config', configFile, '--quiet', '--reconnect-attempts', '0'];
      const child = spawn(process.execPath, args, { cwd: f.workDir, env: { ...process.env, HOME: f.workDir }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => (stderr += chunk));
      return new Promise((resolve, reject) => child.once('error', reject).once('close', (code) => resolve({ code, stderr })));
    };
    proxy.dropOn(AT.lock);
    const failed = await cli(proxy.port);
    expect(proxy.dropped).toMatch(/^SELECT GET_LOCK\(/);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim()).toMatch(
      /^salvage: lost the connection to the DR while taking the source's lock: .+ \[DB_QUERY\]; not reconnecting \(reconnect attempts: 0\); nothing was committed by this run; run the same apply again \[SALVAGE_FAULT\]$/,
    );
    const again = await cli(f.dr.port);
    // 3: done, with quarantined changes to review (the staged incident has some).
    expect([again.code, again.stderr]).toEqual([3, '']);
    expect(await f.readState()).toEqual(reference.state);
    expect(await runStatuses()).toEqual(['completed']);
  });
});

describe('the first connection: retried while the DR does not answer, never when it refuses', () => {
  it('apply started before the DR listens: retried until it is up, each attempt told; the DR ends as an uninterrupted apply leaves it', async () => {
    await f.restore();
    // The restored data directory stays; only the port is closed.
    await f.dr.kill();
    const notices: DrReconnectNotice[] = [];
    let starting: Promise<void> | null = null;
    const run = await apply({
      onReconnect: (n) => {
        notices.push(n);
        if (n.attempt === 2) starting = f.dr.restart();
      },
    });
    expect(starting).not.toBeNull();
    await starting;
    await f.reopenAdmin();
    expect(notices.length).toBeGreaterThanOrEqual(2);
    notices.forEach((n, i) => {
      expect(n).toEqual({ target: f.dr.target.redacted, step: 'connect', attempt: i + 1, attempts: 10, delayMs: Math.min(10_000, 100 * 2 ** i), reason: expect.stringMatching(/^cannot connect to mysql:\/\/root@127\.0\.0\.1:\d+: /) as unknown, code: 'DB_CONNECT' });
    });
    expect(notices[0]!.reason).toBe(`cannot connect to ${f.dr.target.redacted}: connect ECONNREFUSED 127.0.0.1:${f.dr.port}`);
    // Not a lost connection: nothing was reopened.
    expect(run.report.drReconnects).toBe(0);
    expect([run.report.windows, run.ledgerLines, run.report.warnings]).toEqual([reference.report.windows, reference.ledgerLines, []]);
    expect(await f.readState()).toEqual(reference.state);
    expect(await runStatuses()).toEqual(['completed']);
  });

  it('a DR that never answers: the last DB_CONNECT, saying how many connections were tried; the CLI prints a warning line per attempt', async () => {
    const port = await freePort();
    const closed = { ...f.dr.target, port, redacted: `mysql://root@127.0.0.1:${port}` };
    const notices: DrReconnectNotice[] = [];
    const e = await rejection(salvage(options({ target: closed, reconnect: { attempts: 2, initialDelayMs: 20 }, onReconnect: (n) => notices.push(n) })));
    expect(e).toBeInstanceOf(DatabaseError);
    // errno: the driver's for ECONNREFUSED (Linux), as the error of a single attempt carries it.
    expect([e.code, e.retryable, e.details]).toEqual(['DB_CONNECT', true, { errno: -111, attempts: 3, option: '--target' }]);
    expect(e.message).toBe(`--target: cannot connect to mysql://root@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; gave up after 3 connection attempts (the first and 2 reconnect attempt(s)); nothing was written`);
    expect(notices.map((n) => [n.step, n.attempt, n.attempts, n.delayMs])).toEqual([['connect', 1, 2, 20], ['connect', 2, 2, 40]]);
    const none = await rejection(salvage(options({ target: closed, reconnect: { attempts: 0 }, onReconnect: (n) => notices.push(n) })));
    expect(none.message).toBe(`--target: cannot connect to mysql://root@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; not reconnecting (reconnect attempts: 0); nothing was written`);
    expect(notices).toHaveLength(2);

    const cli = async (...flags: string[]): Promise<{ e: EngineError; stderr: string }> => {
      const stderr = new Capture();
      const args = ['--binlog', ...f.staged.files, '--target', closed.redacted, '--reconnect-attempts', '1', ...flags];
      const e = await rejection(runSalvageCommand('plan', args, new Capture(), stderr, { env: {}, home: undefined, isTty: false }));
      return { e, stderr: stderr.text };
    };
    const plain = await cli('--progress', 'plain');
    expect(plain.e.message).toBe(`--target: cannot connect to mysql://root@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}; gave up after 2 connection attempts (the first and 1 reconnect attempt(s)); plan wrote nothing`);
    expect(plain.stderr).toBe(
      `salvage: warning: the DR mysql://root@127.0.0.1:${port} failed (connect): cannot connect to mysql://root@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} [DB_CONNECT]; trying again in 0.5 s (reconnect attempt 1 of 1)\n`,
    );
    const json = await cli('--progress', 'json');
    expect(json.stderr.trim().split('\n').map((l) => JSON.parse(l) as unknown)).toEqual([
      { event: 'reconnect', target: `mysql://root@127.0.0.1:${port}`, step: 'connect', attempt: 1, attempts: 1, delayMs: 500, reason: `cannot connect to mysql://root@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`, code: 'DB_CONNECT' },
      { event: 'done', ok: false, command: 'plan' },
    ]);
    expect((await cli('--quiet')).stderr).toBe('');
  });

  it('refusals no retry cures fail at once, as they were: access denied, an unknown database, TLS the server cannot give', async () => {
    await f.restore();
    const before = await f.readState();
    const cases: readonly [string, SalvageOptions['target'], string, Record<string, unknown>][] = [
      ['access denied', { ...f.dr.target, user: 'nobody', password: 'wrong', redacted: `mysql://nobody:***@127.0.0.1:${f.dr.port}` }, 'DB_CONNECT', { errno: 1045, option: '--target' }],
      ['an unknown database', { ...f.dr.target, database: 'no_such_db', redacted: `mysql://root@127.0.0.1:${f.dr.port}/no_such_db` }, 'DB_CONNECT', { errno: 1049, option: '--target' }],
      ['TLS required of a server without it', { ...f.dr.target, tls: { mode: 'REQUIRED' } }, 'DB_TLS', { option: '--target' }],
    ];
    for (const [what, target, code, details] of cases) {
      const notices: DrReconnectNotice[] = [];
      const t0 = performance.now();
      // The default policy: a retry would wait 0.5 s first, and 65 s in all.
      const e = await rejection(salvage(options({ target, reconnect: {}, onReconnect: (n) => notices.push(n) })));
      expect(e, what).toBeInstanceOf(DatabaseError);
      expect([e.code, e.retryable, e.details], what).toEqual([code, false, details]);
      expect(e.message, what).toMatch(new RegExp(`^--target: cannot connect to ${target.redacted.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: `));
      expect(e.message, what).not.toMatch(/attempt/);
      expect(notices, what).toEqual([]);
      expect(performance.now() - t0, what).toBeLessThan(2000);
    }
    expect(await f.readState()).toEqual(before);
  });
});

describe('plan: a DR connection lost while a window is read is reopened and the window read again', () => {
  async function plan(extra: Partial<SalvageOptions & SalvageTestHooks> = {}): Promise<{ report: SalvageReport; ledger: LedgerLine[]; sql: string[] }> {
    const ledger: LedgerLine[] = [];
    const sql: string[] = [];
    const report = await salvage(options({ mode: 'plan', onLedger: (l) => ledger.push(l), onSql: (s) => sql.push(s), ...extra }));
    return { report, ledger, sql };
  }
  /** The report less what differs between any two runs (timings) and the reconnect count. */
  const comparable = (r: SalvageReport): Partial<SalvageReport> => ({ ...r, timings: undefined, drReconnects: undefined });
  /** KILLs the engine's connection at its first statement after `windows` windows were decided (the next window's first read). */
  function killInWindow(windows: number): { hooks: Partial<SalvageOptions & SalvageTestHooks>; killedAt: () => string | null } {
    let decided = 0;
    let killedAt: string | null = null;
    return {
      hooks: {
        onProgress: () => decided++,
        beforeStatement: (sql) => {
          if (killedAt === null && decided === windows) {
            killedAt = sql;
            killEngine();
          }
        },
      },
      killedAt: () => killedAt,
    };
  }

  it('KILLed at the first read of window 4: the same ledger lines, --sql statements and report as the uninterrupted plan, and nothing written', async () => {
    await f.restore();
    const before = await f.readState();
    const whole = await plan();
    expect(comparable(whole.report)).toEqual(comparable(planned));
    const kill = killInWindow(K);
    const cut = await plan(kill.hooks);
    expect(kill.killedAt()).toMatch(/^SELECT .* FROM `shop`\./s);
    expect(cut.report.drReconnects).toBe(1);
    expect(cut.ledger).toEqual(whole.ledger);
    expect(cut.sql).toEqual(whole.sql);
    expect(comparable(cut.report)).toEqual(comparable(whole.report));
    expect(await f.readState()).toEqual(before);
  });

  it('without reconnect attempts: SALVAGE_FAULT naming the window step, "plan wrote nothing"', async () => {
    await f.restore();
    const before = await f.readState();
    const kill = killInWindow(K);
    const e = await rejection(plan({ ...kill.hooks, reconnect: { attempts: 0 } }));
    expect(kill.killedAt()).not.toBeNull();
    expect([e.code, e.details['step']]).toEqual([SalvageErrorCode.Fault, 'window']);
    expect(e.message).toMatch(/^lost the connection to the DR while reading the DR's rows for a window: .+ \[DB_QUERY\]; not reconnecting \(reconnect attempts: 0\); plan wrote nothing; run the same plan again$/s);
    expect(await f.readState()).toEqual(before);
  });
});
