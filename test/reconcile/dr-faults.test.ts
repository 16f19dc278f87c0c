/**
 * Faults of the DR during an apply (issue 6, point 2), on the staged failover of the crash tests
 * (29 lost transactions, windows of 2): each case restores the DR to the staged incident, applies
 * with a fault, and compares the DR with an uninterrupted apply's — every data table's rows and
 * CHECKSUM TABLE, the ledger, key map, quarantine and checkpoint (test/harness/failover-dr.ts).
 *
 * - A lost connection (KILL between statements or while a query waits, a network drop after the
 *   server answered a COMMIT or while a statement is on its way, the DR restarting) is reopened
 *   with backoff; the checkpoint, read under a lock, says whether the interrupted window committed:
 *   it is decided again or kept, never applied twice or skipped.
 * - Reopening gives up after --reconnect-attempts: exit 1, the position to resume from.
 * - read_only switched on, and a window too big for max_binlog_cache_size: exit 1 with what
 *   happened and what to do, the window rolled back whole (the DR equals an apply stopped after the
 *   windows before it), and the same apply afterwards ends as an uninterrupted one.
 *
 * The CLI case runs dist/ (`npm run build` first when running this file alone).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectionTarget } from '../../src/db/connection-url.js';
import type { SqlSession } from '../../src/db/sql-session.js';
import { FAILOVER_LOGICAL_REFERENCES } from '../../src/demo/stage-failover.js';
import { EngineError } from '../../src/errors.js';
import { salvage, SalvageErrorCode, type SalvageOptions, type SalvageReport, type SalvageTestHooks } from '../../src/pipeline/salvage.js';

import { stageFailoverDr, type DrState, type FailoverDr } from '../harness/failover-dr.js';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.js';

/** A run's options with the test hooks (beforeStatement), which the public SalvageOptions leaves out. */
type RunOptions = SalvageOptions & SalvageTestHooks;

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const WINDOW = 2;
/** Windows the partial reference commits: the faults below strike in the window after them. */
const K = 3;
/** Not faster than every 100 ms: InnoDB refreshes INNODB_TRX only when it was not read for 100 ms (trx0i_s.cc). */
const INNODB_TRX_POLL_MS = 150;
/** The least an apply needs (docs/RELIABILITY.md, "Least privileges"); MariaDB's root would write through read_only. */
const ACCOUNT_GRANTS = ['GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO salvage@`127.0.0.1`', 'GRANT CREATE, SELECT, INSERT, UPDATE ON salvage.* TO salvage@`127.0.0.1`'];

let f: FailoverDr;
let configFile = '';
/** The uninterrupted apply: its end state, report and ledger line count. */
let reference: { state: DrState; report: SalvageReport; ledgerLines: number };
/** The DR after an apply stopped (on request) after K windows. */
let afterK: DrState;

function options(extra: Partial<RunOptions> = {}): RunOptions {
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

/** Applies and counts the ledger lines it reports. */
async function apply(extra: Partial<RunOptions> = {}): Promise<{ report: SalvageReport; ledgerLines: number }> {
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
  throw new Error('expected the apply to fail');
}

/** Stops after `windows` committed windows (the abort is checked before the next window starts). */
async function applyStoppedAfter(windows: number, extra: Partial<RunOptions> = {}): Promise<void> {
  const abort = new AbortController();
  let done = 0;
  const e = await rejection(salvage(options({ ...extra, signal: abort.signal, onProgress: () => ++done === windows && abort.abort() })));
  expect(e.code).toBe(SalvageErrorCode.Aborted);
  expect(done).toBe(windows);
}

/** Resolves once some transaction on the DR waits for a row lock. */
async function lockWaitSeen(admin: SqlSession): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const { rows } = await admin.query("SELECT trx_mysql_thread_id AS id FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'");
    if (rows.length > 0) return Number(rows[0]!['id']);
    await new Promise((resolve) => setTimeout(resolve, INNODB_TRX_POLL_MS));
  }
  throw new Error('no lock wait within 30 s');
}

/** A session holding `SELECT … FOR UPDATE` of one row until released. */
async function holdRow(table: string, id: number): Promise<{ release(): Promise<void> }> {
  const holder = await f.dr.session();
  await holder.query('START TRANSACTION');
  expect((await holder.query(`SELECT id FROM ${table} WHERE id = ? FOR UPDATE`, [id])).rows).toHaveLength(1);
  return {
    async release() {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end().catch(() => undefined);
    },
  };
}

/** The n-th (1-based) statement of the run that `is` accepts triggers `then`, once. */
function onNth(n: number, is: (sql: string) => boolean, then: () => void): (sql: string) => void {
  let seen = 0;
  return (sql) => {
    if (is(sql) && ++seen === n) then();
  };
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

async function checkpointText(): Promise<string | null> {
  const { rows } = await f.admin().query('SELECT binlog_file, binlog_pos FROM salvage.checkpoint');
  return rows[0] === undefined ? null : `${String(rows[0]['binlog_file'])}:${String(rows[0]['binlog_pos'])}`;
}

beforeAll(async () => {
  f = await stageFailoverDr('dr-faults', async (dr) => {
    await dr.query("CREATE USER salvage@'127.0.0.1'");
    for (const g of ACCOUNT_GRANTS) await dr.query(g);
  });
  configFile = join(f.workDir, 'salvage.json');
  await writeFile(configFile, JSON.stringify({ tables: FAILOVER_LOGICAL_REFERENCES }));
  const run = await apply();
  reference = { ...run, state: await f.readState() };
  await f.restore();
  await applyStoppedAfter(K);
  afterK = await f.readState();
}, 120_000);

afterAll(async () => {
  await f?.stop();
});

describe('the references', () => {
  it('the uninterrupted apply has more windows than the faults need; the partial one stopped after K', () => {
    expect(reference.report.windows).toBe(15);
    expect(reference.report.drReconnects).toBe(0);
    expect(reference.state.ledger).toHaveLength(reference.ledgerLines);
    expect(afterK.checkpoint).toHaveLength(1);
    // The partial state is a prefix of the whole: the ledger rows of the first K windows.
    expect(reference.state.ledger.slice(0, afterK.ledger.length)).toEqual(afterK.ledger);
    expect(afterK.ledger.length).toBeLessThan(reference.state.ledger.length);
  });
});

describe('a lost DR connection is reopened and the run resumed', () => {
  const cases: readonly { title: string; kill: () => (sql: string) => void }[] = [
    { title: 'KILLed between two statements inside window 4', kill: () => onNth(K + 1, (s) => s.startsWith('INSERT INTO `salvage`.`ledger`'), killEngine) },
    { title: 'KILLed just before the COMMIT of window 4 is sent', kill: () => onNth(K + 1, (s) => s === 'COMMIT', killEngine) },
    { title: 'KILLed before the first statement of window 4', kill: () => onNth(K + 1, (s) => s === 'START TRANSACTION', killEngine) },
  ];
  for (const c of cases) {
    it(c.title, async () => {
      await f.restore();
      const run = await apply({ beforeStatement: c.kill() });
      expect(run.report.drReconnects).toBe(1);
      expect([run.report.windows, run.ledgerLines]).toEqual([reference.report.windows, reference.ledgerLines]);
      expect(await f.readState()).toEqual(reference.state);
    });
  }

  it('KILLed while its locking read waits on a row lock (the query in flight)', async () => {
    await f.restore();
    // Customer 1 is renamed near the end of the lost range: the run waits there with windows committed behind it.
    const hold = await holdRow('shop.customers', 1);
    const running = apply();
    try {
      const engine = await lockWaitSeen(f.admin());
      await f.admin().query(`KILL CONNECTION ${engine}`);
    } finally {
      await hold.release();
    }
    const run = await running;
    expect(run.report.drReconnects).toBe(1);
    expect([run.report.windows, run.ledgerLines]).toEqual([reference.report.windows, reference.ledgerLines]);
    expect(await f.readState()).toEqual(reference.state);
  });

  it('chosen as a deadlock victim in its locking read: the window is rolled back, decided again, and the run ends as the uninterrupted one', async () => {
    await f.restore();
    // The first window updates customer 8 and order 11, and locks them in that order. Another
    // session holds order 11, waits until the engine has locked customer 8 and waits for order 11,
    // then asks for customer 8: a cycle. InnoDB rolls back the lighter transaction, so the other
    // session first writes undo of its own (in a database readState does not compare).
    const other = await f.dr.session();
    try {
      await other.query('CREATE DATABASE IF NOT EXISTS ballast');
      await other.query('CREATE TABLE IF NOT EXISTS ballast.t (id INT PRIMARY KEY)');
      await other.query('START TRANSACTION');
      await other.query('INSERT INTO ballast.t SELECT seq FROM ballast.seq_1_to_2000');
      expect((await other.query('SELECT id FROM shop.orders WHERE id = 11 FOR UPDATE')).rows).toHaveLength(1);
      const running = apply();
      const engine = await lockWaitSeen(f.admin());
      expect(engine).not.toBe(f.adminId());
      // Granted once the engine's window is rolled back: the other session was not the victim.
      expect((await other.query('SELECT id FROM shop.customers WHERE id = 8 FOR UPDATE')).rows).toHaveLength(1);
      const deadlocks = (await f.admin().query("SHOW GLOBAL STATUS LIKE 'Innodb_deadlocks'")).rows;
      expect(Number(deadlocks[0]!['Value'])).toBeGreaterThanOrEqual(1);
      await other.query('ROLLBACK');
      const run = await running;
      expect([run.report.retries, run.report.drReconnects]).toEqual([1, 0]);
      expect([run.report.windows, run.ledgerLines]).toEqual([reference.report.windows, reference.ledgerLines]);
      expect(await f.readState()).toEqual(reference.state);
    } finally {
      await other.query('ROLLBACK').catch(() => undefined);
      await other.end().catch(() => undefined);
    }
  });

  describe('through a proxy that loses the connection', () => {
    let proxy: TcpProxy;
    let viaProxy: ConnectionTarget;
    beforeAll(async () => {
      proxy = await startTcpProxy(f.dr.host, f.dr.port);
      viaProxy = { ...f.dr.target, port: proxy.port, redacted: `mysql://root@127.0.0.1:${proxy.port}` };
    });
    afterAll(async () => {
      await proxy?.close();
    });

    it('after the server answered COMMIT: the checkpoint says the window committed, and it is not applied again', async () => {
      await f.restore();
      let commits = 0;
      proxy.dropOn((sql) => sql === 'COMMIT' && ++commits === K + 1);
      const run = await apply({ target: viaProxy });
      expect(proxy.dropped).toBe('COMMIT');
      expect(run.report.drReconnects).toBe(1);
      // Counted once: the window's ledger lines were reported once, and no window was decided twice.
      expect([run.report.windows, run.ledgerLines]).toEqual([reference.report.windows, reference.ledgerLines]);
      expect(await f.readState()).toEqual(reference.state);
    });

    it('while a ledger write is on its way: the server rolls the window back, and it is decided again', async () => {
      await f.restore();
      let writes = 0;
      proxy.dropOn((sql) => sql.startsWith('INSERT INTO `salvage`.`ledger`') && ++writes === K + 1, 'after-send');
      const run = await apply({ target: viaProxy });
      expect(proxy.dropped).toMatch(/^INSERT INTO `salvage`.`ledger`/);
      expect(run.report.drReconnects).toBe(1);
      expect([run.report.windows, run.ledgerLines]).toEqual([reference.report.windows, reference.ledgerLines]);
      expect(await f.readState()).toEqual(reference.state);
    });
  });

  it('the DR restarted while the apply waits inside a window: reconnected once it is back', async () => {
    await f.restore();
    const hold = await holdRow('shop.customers', 1);
    const running = apply();
    try {
      await lockWaitSeen(f.admin());
      // A clean shutdown ends every connection (the holder's too), then the same data directory starts again.
      await f.dr.restart();
    } finally {
      await hold.release();
    }
    const run = await running;
    await f.reopenAdmin();
    expect(run.report.drReconnects).toBe(1);
    expect([run.report.windows, run.ledgerLines]).toEqual([reference.report.windows, reference.ledgerLines]);
    expect(await f.readState()).toEqual(reference.state);
  });

  it('the CLI gives up after --reconnect-attempts: exit 1 and the exact position to resume from; the same command then finishes', async () => {
    if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` first');
    await f.restore();
    const args = [CLI, 'apply', '--binlog', ...f.staged.files, '--target', f.dr.url, '--window', String(WINDOW), '--config', configFile, '--quiet', '--reconnect-attempts', '2'];
    const cli = (): { done: Promise<{ code: number | null; stderr: string }> } => {
      const child = spawn(process.execPath, args, { cwd: f.workDir, env: { ...process.env, HOME: f.workDir }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (chunk: string) => (stderr += chunk));
      return { done: new Promise((resolve, reject) => child.once('error', reject).once('close', (code) => resolve({ code, stderr }))) };
    };
    const hold = await holdRow('shop.customers', 1);
    const first = cli();
    await lockWaitSeen(f.admin());
    // The DR dies (SIGKILL) and stays down: both reconnect attempts fail.
    await f.dr.kill();
    await hold.release();
    const failed = await first.done;
    await f.dr.restart();
    await f.reopenAdmin();
    const at = await checkpointText();
    expect(at).toMatch(/^mysql-bin\.\d+:\d+$/);
    expect(failed.code).toBe(1);
    expect(failed.stderr.trim()).toMatch(
      new RegExp(
        `^salvage: lost the connection to the DR: .+ \\[DB_QUERY\\]; gave up after 2 reconnect attempt\\(s\\), the last: cannot connect to mysql://root@127\\.0\\.0\\.1:${f.dr.port}: connect ECONNREFUSED 127\\.0\\.0\\.1:${f.dr.port} \\[DB_CONNECT\\]; the window in progress was rolled back by the DR; committed through ${at!.replace(/\./g, '\\.')}; run the same apply again to resume from there \\[SALVAGE_FAULT\\]$`,
      ),
    );
    const again = await cli().done;
    expect([again.code, again.stderr]).toEqual([3, '']);
    expect(await f.readState()).toEqual(reference.state);
  });
});

describe('faults that stop the run: exit 1, the window rolled back whole, resumable', () => {
  it('read_only switched on mid-run (an account without READ_ONLY ADMIN): the message says so and where to resume', async () => {
    await f.restore();
    const account: ConnectionTarget = { ...f.dr.target, user: 'salvage', redacted: `mysql://salvage@127.0.0.1:${f.dr.port}` };
    const e = await rejection(
      salvage(options({ target: account, beforeStatement: onNth(K + 1, (s) => s === 'START TRANSACTION', () => f.clientQuery('SET GLOBAL read_only = 1')) })),
    );
    expect(e.code).toBe(SalvageErrorCode.Fault);
    expect((e.cause as EngineError).code).toBe('DB_READ_ONLY');
    const at = await checkpointText();
    expect(e.message).toMatch(
      new RegExp(
        `^the DR refuses writes: read_only is ON: .*--read-only.* \\[DB_READ_ONLY\\]; the window in progress was rolled back; if the DR should take writes, make it writable again \\(SET GLOBAL read_only = 0\\); committed through ${at!.replace(/\./g, '\\.')}; run the same apply again to resume from there$`,
      ),
    );
    // Nothing of window K+1: the DR is where an apply stopped after K windows leaves it.
    expect(await f.readState()).toEqual(afterK);
    await f.admin().query('SET GLOBAL read_only = 0');
    await salvage(options({ target: account }));
    expect(await f.readState()).toEqual(reference.state);
  });

  it('a window bigger than max_binlog_cache_size: says to use a smaller --window; after K committed windows, nothing of the next', async () => {
    await f.restore();
    const { rows } = await f.admin().query('SELECT @@GLOBAL.max_binlog_cache_size AS max, @@GLOBAL.binlog_cache_size AS size');
    const original = { max: String(rows[0]?.['max']), size: String(rows[0]?.['size']) };
    await applyStoppedAfter(K);
    // The smallest cache the server allows, read by each session when it first writes to the binlog;
    // the in-memory buffer as small, since the limit is checked when the buffer spills.
    await f.admin().query('SET GLOBAL max_binlog_cache_size = 4096');
    await f.admin().query('SET GLOBAL binlog_cache_size = 4096');
    const e = await rejection(salvage(options({ windowTransactions: 10 })));
    expect(e.code).toBe(SalvageErrorCode.Fault);
    expect((e.cause as EngineError).code).toBe('DB_BINLOG_CACHE_FULL');
    const at = await checkpointText();
    expect(e.message).toMatch(
      new RegExp(
        `^the window's transaction does not fit in the DR's binlog cache \\(max_binlog_cache_size\\): .* \\[DB_BINLOG_CACHE_FULL\\]; the window in progress was rolled back; the window held 10 source transactions: run with a smaller --window, or raise max_binlog_cache_size on the DR; nothing was committed by this run; the checkpoint stays at ${at!.replace(/\./g, '\\.')}; run the same apply again to resume from there$`,
      ),
    );
    expect(await f.readState()).toEqual(afterK);
    await f.admin().query(`SET GLOBAL max_binlog_cache_size = ${original.max}`);
    await f.admin().query(`SET GLOBAL binlog_cache_size = ${original.size}`);
    await salvage(options());
    expect(await f.readState()).toEqual(reference.state);
  });
});
