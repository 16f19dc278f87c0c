/**
 * `apply --follow` and a trigger created on the DR while it runs (docs/RELIABILITY.md section 7
 * item 15). The start-up check lists the DR's triggers once; a follow runs for hours, and a trigger
 * created after its start used to fire on apply's writes (an audit row written on top of the one
 * the lost range carries). Now each window, inside its DR transaction and with its tables'
 * metadata locks held, lists the triggers on the tables it writes: one found stops the run
 * (SALVAGE_DR_TRIGGERS, exit 2), that window rolled back, the windows before it committed; the
 * same command resumes once the trigger is dropped, or with --allow-triggers.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { salvage, type SalvageOptions, type SalvageReport, type SalvageTestHooks } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { stageIncident, useServerPair } from '../harness/incident-pair.js';

const servers = useServerPair('follow-trig');

const SCHEMA = ['CREATE TABLE s.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)', 'CREATE TABLE s.audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(20) NOT NULL)'];
const SELECT = 'SELECT id, v FROM s.t ORDER BY id';
const AUDIT = 'SELECT what FROM s.audit ORDER BY id';
/** The lost transactions, in order: the first is applied before the trigger is created. */
const LOST = ["INSERT INTO s.t VALUES (3, 'three')", "INSERT INTO s.t VALUES (4, 'four')", "UPDATE s.t SET v = 'one*' WHERE id = 1", 'DELETE FROM s.t WHERE id = 2'];
const TRIGGER = 'CREATE TRIGGER s.audit_t AFTER INSERT ON s.t FOR EACH ROW INSERT INTO s.audit (what) VALUES (NEW.v)';

function gtidAfter(start: string, n: number): string {
  const m = /^(\d+-\d+-)(\d+)$/.exec(start);
  if (m === null) throw new Error(`unexpected start ${start}`);
  return `${m[1]}${Number(m[2]) + n}`;
}

/** Where the transaction `gtid` ends on the primary (the end of its commit). */
async function endOf(gtid: string): Promise<{ file: string; end: number }> {
  for (const log of (await servers.primary.query('SHOW BINARY LOGS')) as { Log_name: string }[]) {
    const events = (await servers.primary.query(`SHOW BINLOG EVENTS IN '${log.Log_name}'`)) as { End_log_pos: number | string; Event_type: string; Info: string }[];
    const at = events.findIndex((e) => e.Event_type === 'Gtid' && new RegExp(`GTID ${gtid}( |$)`).test(e.Info));
    if (at < 0) continue;
    const commit = events.slice(at).find((e) => e.Event_type === 'Xid' || (e.Event_type === 'Query' && e.Info === 'COMMIT'));
    return { file: log.Log_name, end: Number(commit!.End_log_pos) };
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

function follow(start: string, extra: Partial<SalvageOptions> & SalvageTestHooks, onLedger: (l: LedgerLine) => void): Promise<SalvageReport> {
  return salvage({
    mode: 'apply',
    source: { target: servers.primary.target, follow: true, idleMs: 100 },
    target: servers.dr.target,
    start: { kind: 'from-gtid', set: start },
    windowTransactions: 1,
    onLedger,
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

describe.each(['DROP TRIGGER', '--allow-triggers'] as const)('apply --follow: a trigger created on the DR while it runs (resumed after %s)', (resume) => {
  it('stops before the window that would write its table (SALVAGE_DR_TRIGGERS, exit 2), the windows before committed and the trigger never fired; the same command resumes from the checkpoint', async () => {
    const staged = await stageIncident(servers.primary, servers.dr, { schema: SCHEMA, base: ["INSERT INTO s.t VALUES (1, 'one'), (2, 'two')"], lost: [] }, ['s']);
    const cut = staged.start;
    const g = (n: number): string => gtidAfter(cut, n);
    await servers.primary.query(LOST[0]!);

    const lines: LedgerLine[] = [];
    let failed: unknown = null;
    // A run that does not stop by itself is stopped after a while, its report then failing the test.
    const watchdog = new AbortController();
    const running = follow(cut, { signal: watchdog.signal }, (l) => lines.push(l));
    running.catch((e: unknown) => (failed = e));
    await waitFor('the first window', () => lines.length >= 1, () => failed);
    // Created after the start (which found none), before the lost transactions that write s.t.
    await servers.dr.query(TRIGGER);
    for (const sql of LOST.slice(1)) await servers.primary.query(sql);

    const timer = setTimeout(() => watchdog.abort(), 20_000);
    const e = await running.then(
      (report) => report,
      (err: unknown) => err,
    );
    clearTimeout(timer);
    const first = await endOf(g(1));
    const through = `${first.file}:${first.end}`;
    expect(e).toMatchObject({ code: 'SALVAGE_DR_TRIGGERS', details: { triggers: ['audit_t (AFTER INSERT on s.t)'], tables: ['s.t'], committedThrough: through } });
    expect((e as Error).message).toBe(
      `the DR has 1 trigger(s) on tables the lost range writes: audit_t (AFTER INSERT on s.t), created since this follow started; they fire on apply's writes, which replication's row events do not fire: what a trigger writes (an audit row, a counter) is written a second time, on top of what the lost range carries; nothing of the window that would write s.t was written; committed through ${through}; run the same apply again to resume from there once they are dropped (re-create them after apply), or with --allow-triggers (library: allowTriggers) to let them fire`,
    );
    expect(exitCodeFor(e)).toBe(2);
    // Exactly the first window: nothing of the second, and the trigger never fired.
    expect(await servers.dr.query(SELECT)).toEqual([
      { id: 1, v: 'one' },
      { id: 2, v: 'two' },
      { id: 3, v: 'three' },
    ]);
    expect(await servers.dr.query(AUDIT)).toEqual([]);
    expect(await checkpoint()).toEqual([{ gtid_set: g(1), binlog_file: first.file, pos: String(first.end) }]);
    expect(await ledger()).toEqual([[g(1), 'insert', 'applied', 0]]);
    expect(await servers.dr.query('SELECT status FROM salvage.runs ORDER BY id')).toEqual([{ status: 'failed' }]);

    // The same command, once the trigger is dropped or with --allow-triggers (which lets it fire).
    if (resume === 'DROP TRIGGER') await servers.dr.query('DROP TRIGGER s.audit_t');
    const more: LedgerLine[] = [];
    const stop = new AbortController();
    const again = follow(cut, { signal: stop.signal, ...(resume === '--allow-triggers' ? { allowTriggers: true } : {}) }, (l) => {
      more.push(l);
      if (more.length === 3) stop.abort();
    });
    const report = await again;
    expect(report.stoppedOnRequest).toBe(true);
    expect(more.map((l) => [l.gtid, l.op, l.outcome])).toEqual([
      [g(2), 'insert', 'applied'],
      [g(3), 'update', 'applied'],
      [g(4), 'delete', 'applied'],
    ]);
    expect(await servers.dr.query(SELECT)).toEqual(await servers.primary.query(SELECT));
    expect(await servers.dr.query(SELECT)).toEqual([
      { id: 1, v: 'one*' },
      { id: 3, v: 'three' },
      { id: 4, v: 'four' },
    ]);
    expect(await ledger()).toEqual([
      [g(1), 'insert', 'applied', 0],
      [g(2), 'insert', 'applied', 1],
      [g(3), 'update', 'applied', 1],
      [g(4), 'delete', 'applied', 1],
    ]);
    if (resume === 'DROP TRIGGER') {
      expect(report.warnings).toEqual([]);
      expect(await servers.dr.query(AUDIT)).toEqual([]);
    } else {
      // Allowed: said at the start, as without --follow, and fired on the one insert into s.t.
      expect(report.warnings).toEqual(["the DR has 1 trigger(s) on tables the lost range writes: audit_t (AFTER INSERT on s.t); they fired on apply's writes (--allow-triggers)"]);
      expect(await servers.dr.query(AUDIT)).toEqual([{ what: 'four' }]);
      await servers.dr.query('DROP TRIGGER s.audit_t');
    }
  }, 120_000);
});

describe('apply --follow: a trigger created between the window\'s look and its write', () => {
  it('waits for the window to commit (the look holds the tables\' metadata locks), so it never fires on that window', async () => {
    // No primary key: the window reads (and locks) no row of s.log, so only the look's own locks hold it.
    const staged = await stageIncident(servers.primary, servers.dr, { schema: [...SCHEMA, 'CREATE TABLE s.log (v VARCHAR(20) NOT NULL)'], base: [], lost: [] }, ['s']);
    const cut = staged.start;
    await servers.primary.query(LOST[0]!);
    const lines: LedgerLine[] = [];
    let armed = false;
    let attempt: string | null = null;
    const stop = new AbortController();
    const dr = servers.dr;
    const running = follow(
      cut,
      {
        signal: stop.signal,
        // Sent from another process, and waited for: the run's next statement (the look itself,
        // then the window's writes) is sent only after this CREATE TRIGGER ended.
        beforeStatement: (sql) => {
          if (!armed || !sql.includes('information_schema.TRIGGERS')) return;
          armed = false;
          attempt = createTriggerElsewhere(dr.port, 'CREATE TRIGGER s.audit_log AFTER INSERT ON s.log FOR EACH ROW INSERT INTO s.audit (what) VALUES (NEW.v)');
        },
      },
      (l) => {
        lines.push(l);
        if (lines.length === 2) stop.abort();
      },
    );
    let failed: unknown = null;
    running.catch((e: unknown) => (failed = e));
    await waitFor('the first window', () => lines.length >= 1, () => failed);
    armed = true;
    await servers.primary.query("INSERT INTO s.log VALUES ('logged')");
    const report = await running;
    expect(report.stoppedOnRequest).toBe(true);
    // ER_LOCK_WAIT_TIMEOUT: the window's look held s.log's metadata lock until its COMMIT.
    expect(attempt).toBe('1205');
    expect(await servers.dr.query('SELECT v FROM s.log')).toEqual([{ v: 'logged' }]);
    expect(await servers.dr.query(AUDIT)).toEqual([]);
    expect(await servers.dr.query("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 's'")).toEqual([]);
  }, 120_000);
});

/**
 * Runs `sql` on the DR in a child process and waits for it (the test's event loop blocked, so the
 * run sends nothing meanwhile), giving up on a metadata lock after 2 s: 'created', or the errno.
 */
function createTriggerElsewhere(port: number, sql: string): string {
  const script = `
    import { createConnection } from 'mysql2/promise';
    const c = await createConnection({ host: '127.0.0.1', port: ${port}, user: 'root' });
    await c.query('SET SESSION lock_wait_timeout = 2');
    try { await c.query(${JSON.stringify(sql)}); process.stdout.write('created'); }
    catch (e) { process.stdout.write(String(e.errno)); }
    finally { await c.end(); }`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: process.cwd(), encoding: 'utf8', timeout: 30_000 });
}
