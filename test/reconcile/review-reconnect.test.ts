/**
 * A DR connection lost after a review command started (docs/RELIABILITY.md §7 item 3): a proxy
 * (test/harness/tcp-proxy.ts) drops it right after the DR answered a chosen statement, the answer
 * lost. resolve reopens it and does the entry in progress again — its DR transaction rolled back,
 * or, lost during its COMMIT, committed and told as done — and ends with the DR as an
 * uninterrupted resolve leaves it (rows, quarantine, ledger, key map, one completed run row); so
 * does one whose connection is KILLed while it waits for a row lock inside its second entry.
 * quarantine, explain and report read again and print what they print with the connection kept,
 * each reconnect attempt a warning line. Without reconnect attempts resolve stops with
 * RESOLVE_FAULT, the entries done before it kept, and its run row marked failed with that fault on
 * a connection of its own; with the DR out of reach then too, the row is left running with its lock
 * gone, and the next resolve or apply marks it killed. The run row's INSERT lost after it
 * committed is found again on the reopened session: one row per run.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExplain } from '../../src/cli/explain-command.js';
import { runQuarantine } from '../../src/cli/quarantine-command.js';
import { runReport } from '../../src/cli/report-command.js';
import { summary } from '../../src/cli/resolve-command.js';
import type { SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import type { ConnectionTarget } from '../../src/db/connection-url.js';
import type { ReconnectNotice } from '../../src/db/first-connection.js';
import { runLockName } from '../../src/db/state-store.js';
import { EngineError } from '../../src/errors.js';
import { resolveQuarantine, type ResolveReport } from '../../src/pipeline/resolve.js';
import { salvage } from '../../src/pipeline/salvage.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { startTcpProxy, type StatementKind, type TcpProxy } from '../harness/tcp-proxy.js';

const ENV: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };

const SCHEMA = [
  'CREATE DATABASE shop',
  `CREATE TABLE shop.customers (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(120) NOT NULL, name VARCHAR(80) NOT NULL,
     UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
];
const BASE = ["INSERT INTO shop.customers (id, email, name) VALUES (1, 'ann@x', 'Ann'), (2, 'ben@x', 'Ben')"];
// Lost: one clean insert and three that clash with the DR's own rows under utf8mb4_general_ci (quarantined).
const LOST = [
  "INSERT INTO shop.customers (id, email, name) VALUES (10, 'cy@x', 'Cy P')",
  "INSERT INTO shop.customers (id, email, name) VALUES (11, 'Zed@X', 'Zed P')",
  "INSERT INTO shop.customers (id, email, name) VALUES (12, 'Yan@X', 'Yan P')",
  "INSERT INTO shop.customers (id, email, name) VALUES (13, 'Xia@X', 'Xia P')",
];
const DR_OWN = ["INSERT INTO shop.customers (email, name) VALUES ('zed@x', 'Zed D'), ('yan@x', 'Yan D'), ('xia@x', 'Xia D')"];

let primary: MariadbServer;
let dr: MariadbServer;
let proxy: TcpProxy;
let viaProxy: ConnectionTarget;
let proxyUrl: string;
let dir: string;
let start: string;
let decisions: string;
/** The uninterrupted resolve: its report and the DR's state after it. */
let reference: { report: ResolveReport; state: unknown };

/** The DR as the incident's apply leaves it: its state schema and binlog from scratch. */
async function freshDr(): Promise<void> {
  await dr.query('DROP DATABASE IF EXISTS shop');
  await dr.query('DROP DATABASE IF EXISTS salvage');
  await dr.query('RESET MASTER');
  for (const sql of [...SCHEMA, ...BASE, ...DR_OWN]) await dr.query(sql);
  const report = await salvage({ mode: 'apply', binlogs: await primary.binlogFiles(), target: dr.target, start: { kind: 'from-gtid', set: start } });
  expect([report.outcomes.applied, report.outcomes.quarantined]).toEqual([1, 3]);
}

/** What resolve leaves on the DR, without times and run ids. */
async function drState(): Promise<unknown> {
  return {
    rows: await dr.query('SELECT id, email, name FROM shop.customers ORDER BY id'),
    quarantine: await dr.query('SELECT id, status, change_at FROM salvage.quarantine ORDER BY id'),
    ledger: await dr.query('SELECT change_at, change_index, outcome, reason, rule_path, new_key FROM salvage.ledger ORDER BY id'),
    keyMap: await dr.query('SELECT table_name, old_key, new_key FROM salvage.key_map ORDER BY table_name, old_key'),
    runs: await dr.query("SELECT status, COUNT(*) AS n FROM salvage.runs GROUP BY status ORDER BY status"),
  };
}

function resolve(target: ConnectionTarget, extra: { reconnect?: { attempts?: number; initialDelayMs?: number }; onReconnect?: (n: ReconnectNotice) => void } = {}): Promise<ResolveReport> {
  return resolveQuarantine({ target, file: decisions, reconnect: extra.reconnect ?? { initialDelayMs: 50 }, ...(extra.onReconnect === undefined ? {} : { onReconnect: extra.onReconnect }) });
}

/** A matcher of the `n`-th statement (from 1) `accept` takes, of any connection. */
function nth(n: number, accept: (sql: string) => boolean): (sql: string, kind: StatementKind) => boolean {
  let seen = 0;
  return (sql) => accept(sql) && ++seen === n;
}

/** The `runs` rows: id, mode, status, and the code and message of the failure a failed resolve recorded. */
async function runRows(): Promise<unknown> {
  return dr.query(
    `SELECT id, JSON_UNQUOTE(JSON_EXTRACT(options, '$.mode')) AS mode, status, JSON_UNQUOTE(JSON_EXTRACT(summary, '$.failure.code')) AS code, JSON_UNQUOTE(JSON_EXTRACT(summary, '$.failure.message')) AS message
       FROM salvage.runs ORDER BY id`,
  );
}

/** Waits until the DR has ended the session of resolve run `id` (its lock free), as it does a moment after the connection is cut. */
async function untilRunLockFree(id: number): Promise<void> {
  const [row] = (await dr.query('SELECT JSON_UNQUOTE(JSON_EXTRACT(options, \'$.token\')) AS token FROM salvage.runs WHERE id = ?', [id])) as { token: string }[];
  for (let i = 0; i < 200; i++) {
    const [free] = (await dr.query('SELECT IS_FREE_LOCK(?) AS free', [runLockName('salvage', row!.token)])) as { free: string | number }[];
    if (Number(free!.free) === 1) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the lock of run ${id} is still held`);
}

/** The report without its run id (a run row per resolve). */
function withoutRunId(r: ResolveReport): unknown {
  return { ...r, runId: null, target: null };
}

async function rejection(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected the command to fail');
}

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'review-reconnect-primary' }), startMariadb({ name: 'review-reconnect-dr', serverId: 2 })]);
  dir = await mkdtemp(join(tmpdir(), 'salvage-review-reconnect-'));
  for (const sql of [...SCHEMA, ...BASE]) await primary.query(sql);
  start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  for (const sql of LOST) await primary.query(sql);
  await primary.flushBinaryLogs();
  await freshDr();
  proxy = await startTcpProxy(dr.host, dr.port);
  viaProxy = { ...dr.target, port: proxy.port, redacted: `mysql://root@127.0.0.1:${proxy.port}` };
  proxyUrl = `mysql://root@127.0.0.1:${proxy.port}`;

  const exported = new Capture();
  expect(await runQuarantine(['export', '--target', dr.url], exported, new Capture(), ENV)).toBe(0);
  const entries = exported.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(entries.map((e) => [e['id'], e['class']])).toEqual([
    [1, 'insert-unique-taken'],
    [2, 'insert-unique-taken'],
    [3, 'insert-unique-taken'],
  ]);
  const rows = [
    { id: 11, email: 'zed2@x', name: 'Zed P' },
    { id: 12, email: 'yan2@x', name: 'Yan P' },
    { id: 13, email: 'xia2@x', name: 'Xia P' },
  ];
  decisions = join(dir, 'decisions.jsonl');
  await writeFile(decisions, entries.map((e, i) => `${JSON.stringify({ ...e, decision: { action: 'apply', row: rows[i] } })}\n`).join(''));
  reference = { report: await resolve(dr.target), state: await drState() };
  expect(reference.report.counts).toEqual({ done: 3, refused: 0, 'already-resolved': 0, undecided: 0 });
}, 180_000);

afterAll(async () => {
  await proxy?.close();
  await Promise.all([primary?.stop(), dr?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('resolve: a connection lost while it carries entries out', () => {
  it('lost inside the second entry\'s transaction: reopened, the entry done again, the DR as an uninterrupted resolve leaves it', async () => {
    await freshDr();
    const notices: ReconnectNotice[] = [];
    proxy.dropOn(nth(2, (sql) => /^UPDATE `salvage`\.`quarantine` SET status = 'resolved'/.test(sql)));
    const report = await resolve(viaProxy, { onReconnect: (n) => notices.push(n) });
    expect(proxy.dropped).not.toBeNull();
    expect(notices.map((n) => [n.target, n.step, n.attempt, n.attempts, n.delayMs, n.code])).toEqual([[viaProxy.redacted, 'resolve', 1, 10, 50, 'DB_QUERY']]);
    expect(withoutRunId(report)).toEqual(withoutRunId(reference.report));
    expect(await drState()).toEqual(reference.state);
  });

  it('lost during the second entry\'s COMMIT (committed, the answer lost): told as done, never resolved twice', async () => {
    await freshDr();
    const notices: ReconnectNotice[] = [];
    proxy.dropOn(nth(2, (sql) => sql === 'COMMIT'));
    const report = await resolve(viaProxy, { onReconnect: (n) => notices.push(n) });
    expect(proxy.dropped).toBe('COMMIT');
    expect(notices.map((n) => [n.step, n.attempt])).toEqual([['resolve', 1]]);
    expect(withoutRunId(report)).toEqual(withoutRunId(reference.report));
    expect(await drState()).toEqual(reference.state);
  });

  it('KILL CONNECTION while the second entry waits for its quarantine row: reopened, the entry done again, the same end state', async () => {
    await freshDr();
    // Another session holds entry 2's row: resolve, done with entry 1, waits inside entry 2's transaction.
    const holder = await dr.connect();
    try {
      await holder.query('START TRANSACTION');
      await holder.query('SELECT status FROM salvage.quarantine WHERE id = 2 FOR UPDATE');
      const notices: ReconnectNotice[] = [];
      const running = resolve(dr.target, { onReconnect: (n) => notices.push(n) });
      let waiting: { id: number }[] = [];
      for (let i = 0; i < 200 && waiting.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 25));
        waiting = (await dr.query("SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT status FROM `salvage`.`quarantine` WHERE id = % FOR UPDATE'")) as { id: number }[];
      }
      expect(waiting).toHaveLength(1);
      expect(await dr.query('SELECT id, status FROM salvage.quarantine ORDER BY id')).toEqual([
        { id: '1', status: 'resolved' },
        { id: '2', status: 'pending' },
        { id: '3', status: 'pending' },
      ]);
      await dr.query(`KILL CONNECTION ${waiting[0]!.id}`);
      await holder.query('ROLLBACK');
      const report = await running;
      expect(notices.map((n) => [n.step, n.attempt, n.code])).toEqual([['resolve', 1, 'DB_QUERY']]);
      expect(withoutRunId(report)).toEqual(withoutRunId(reference.report));
      expect(await drState()).toEqual(reference.state);
    } finally {
      await holder.end();
    }
  });

  it('with reconnect attempts 0: RESOLVE_FAULT naming the entry, the one before it kept; the same resolve then finishes', async () => {
    await freshDr();
    proxy.dropOn(nth(2, (sql) => /^UPDATE `salvage`\.`quarantine` SET status = 'resolved'/.test(sql)));
    const e = await rejection(resolve(viaProxy, { reconnect: { attempts: 0 } }));
    expect(e.code).toBe('RESOLVE_FAULT');
    expect(e.message).toMatch(/^entry 2 \(line 2\): lost the connection to the DR: .* \[DB_QUERY\]; not reconnecting \(reconnect attempts: 0\); it was rolled back and stays pending, entries carried out before it stay resolved: run the same resolve again to go on$/);
    expect(await dr.query('SELECT id, status FROM salvage.quarantine ORDER BY id')).toEqual([
      { id: '1', status: 'resolved' },
      { id: '2', status: 'pending' },
      { id: '3', status: 'pending' },
    ]);
    // Its run row, one, marked failed with the fault on a connection of its own (it stayed running).
    expect(await runRows()).toEqual([
      { id: '1', mode: 'apply', status: 'completed', code: null, message: null },
      { id: '2', mode: 'resolve', status: 'failed', code: 'RESOLVE_FAULT', message: e.message },
    ]);
    const again = await resolve(dr.target);
    expect(again.counts).toEqual({ done: 2, refused: 0, 'already-resolved': 1, undecided: 0 });
    expect([again.runId, again.killedRuns]).toEqual([3, []]);
    const state = (await drState()) as Record<string, unknown>;
    const want = reference.state as Record<string, unknown>;
    expect([state['rows'], state['quarantine'], state['ledger'], state['keyMap']]).toEqual([want['rows'], want['quarantine'], want['ledger'], want['keyMap']]);
  });
});

describe('resolve: its run row when the connection cannot be reopened, and when its INSERT is lost', () => {
  /** resolve through the proxy with 0 attempts, the DR out of reach from its second entry's write on: RESOLVE_FAULT, its run row 2 left running. */
  async function faultWithDrDown(): Promise<void> {
    await freshDr();
    proxy.dropOn(nth(2, (sql) => /^UPDATE `salvage`\.`quarantine` SET status = 'resolved'/.test(sql)), 'after-reply', { refuseAfter: true });
    try {
      const e = await rejection(resolve(viaProxy, { reconnect: { attempts: 0 } }));
      expect(e.code).toBe('RESOLVE_FAULT');
      expect(e.message).toMatch(/^entry 2 \(line 2\): lost the connection to the DR: .* \[DB_QUERY\]; not reconnecting \(reconnect attempts: 0\); it was rolled back and stays pending, entries carried out before it stay resolved: run the same resolve again to go on$/);
    } finally {
      proxy.admit();
    }
    // Its connection to mark the row failed was refused too.
    expect(await runRows()).toEqual([
      { id: '1', mode: 'apply', status: 'completed', code: null, message: null },
      { id: '2', mode: 'resolve', status: 'running', code: null, message: null },
    ]);
    await untilRunLockFree(2);
  }

  it('the DR out of reach to mark it failed: left running, the next resolve tells it dead by its free lock and marks it killed', async () => {
    await faultWithDrDown();
    const again = await resolve(dr.target);
    expect(again.counts).toEqual({ done: 2, refused: 0, 'already-resolved': 1, undecided: 0 });
    expect([again.runId, again.killedRuns]).toEqual([3, [2]]);
    expect(summary(again)).toContain('resolve run 2 ended without recording how (its DR connection lost and not reopened, or killed): marked killed; entries it carried out stay resolved, the rest stay pending');
    expect(await runRows()).toEqual([
      { id: '1', mode: 'apply', status: 'completed', code: null, message: null },
      { id: '2', mode: 'resolve', status: 'killed', code: null, message: null },
      { id: '3', mode: 'resolve', status: 'completed', code: null, message: null },
    ]);
  });

  it('the DR out of reach to mark it failed: the next apply marks it killed and says so', async () => {
    await faultWithDrDown();
    const report = await salvage({ mode: 'apply', binlogs: await primary.binlogFiles(), target: dr.target, start: { kind: 'from-gtid', set: start } });
    expect(report.warnings).toContain('resolve run 2 ended without recording how (its DR connection lost and not reopened, or killed): marked killed; entries it carried out stay resolved, the rest stay pending');
    expect(await runRows()).toEqual([
      { id: '1', mode: 'apply', status: 'completed', code: null, message: null },
      { id: '2', mode: 'resolve', status: 'killed', code: null, message: null },
      { id: '3', mode: 'apply', status: 'completed', code: null, message: null },
    ]);
  });

  it('a live resolve\'s running row is not taken for a dead one: its lock is held', async () => {
    await freshDr();
    // Another session holds entry 2's row: resolve waits inside entry 2's transaction, its row running.
    const holder = await dr.connect();
    try {
      await holder.query('START TRANSACTION');
      await holder.query('SELECT status FROM salvage.quarantine WHERE id = 2 FOR UPDATE');
      const running = resolve(dr.target);
      let waiting: unknown[] = [];
      for (let i = 0; i < 200 && waiting.length === 0; i++) {
        await new Promise((r) => setTimeout(r, 25));
        waiting = (await dr.query("SELECT id FROM information_schema.processlist WHERE info LIKE 'SELECT status FROM `salvage`.`quarantine` WHERE id = % FOR UPDATE'")) as unknown[];
      }
      expect(waiting).toHaveLength(1);
      // An apply meanwhile (nothing left to apply) reads the runs and leaves the live resolve's row as it is.
      const report = await salvage({ mode: 'apply', binlogs: await primary.binlogFiles(), target: dr.target, start: { kind: 'from-gtid', set: start } });
      expect(report.warnings.filter((w) => w.startsWith('resolve run'))).toEqual([]);
      expect(await dr.query('SELECT id, status FROM salvage.runs ORDER BY id')).toEqual([
        { id: '1', status: 'completed' },
        { id: '2', status: 'running' },
        { id: '3', status: 'completed' },
      ]);
      await holder.query('ROLLBACK');
      const done = await running;
      expect([done.runId, done.counts.done]).toEqual([2, 3]);
    } finally {
      await holder.end();
    }
  });

  it('the run row\'s INSERT lost after it committed: found again on the reopened session, one row for the run', async () => {
    await freshDr();
    const notices: ReconnectNotice[] = [];
    proxy.dropOn((sql) => /^INSERT INTO `salvage`\.`runs`/.test(sql));
    const report = await resolve(viaProxy, { onReconnect: (n) => notices.push(n) });
    expect(proxy.dropped).toMatch(/^INSERT INTO `salvage`\.`runs`/);
    expect(notices.map((n) => [n.step, n.attempt, n.code])).toEqual([['resolve', 1, 'DB_QUERY']]);
    expect(report.runId).toBe(2);
    expect(withoutRunId(report)).toEqual(withoutRunId(reference.report));
    expect(await runRows()).toEqual([
      { id: '1', mode: 'apply', status: 'completed', code: null, message: null },
      { id: '2', mode: 'resolve', status: 'completed', code: null, message: null },
    ]);
    expect(await drState()).toEqual(reference.state);
  });
});

describe('quarantine, explain, report: a connection lost during their read', () => {
  const cases: readonly [string, (out: Capture, err: Capture, url: string) => Promise<number>, RegExp][] = [
    ['quarantine list', (out, err, url) => runQuarantine(['list', '--target', url, '--status', 'all'], out, err, ENV), /FROM `salvage`\.`quarantine`/],
    ['quarantine show', (out, err, url) => runQuarantine(['show', '2', '--target', url], out, err, ENV), /FROM `salvage`\.`quarantine`/],
    ['explain', (out, err, url) => runExplain(['0-1-5', '--target', url], out, err, ENV), /FROM `salvage`\.`ledger`/],
    ['report', (out, err, url) => runReport(['--target', url], out, err, ENV), /FROM `salvage`\.`ledger`/],
  ];
  for (const [what, run, at] of cases) {
    it(`${what}: reads again after one warning line, and prints what it prints with the connection kept`, async () => {
      const want = new Capture();
      expect(await run(want, new Capture(), dr.url)).toBe(0);
      const out = new Capture();
      const err = new Capture();
      proxy.dropOn((sql) => at.test(sql));
      expect(await run(out, err, proxyUrl)).toBe(0);
      expect(proxy.dropped).toMatch(at);
      expect(out.text.replaceAll(proxyUrl, dr.url)).toBe(want.text);
      expect(err.text).toMatch(new RegExp(`^salvage: warning: the DR ${proxyUrl.replaceAll('/', '\\/').replaceAll('.', '\\.')} failed \\(read\\): [^\\n]*Connection lost: The server closed the connection\\. \\(in: SELECT .*\\) \\[DB_QUERY\\]; trying again in 0\\.5 s \\(reconnect attempt 1 of 10\\)\\n$`, 's'));
    });
  }

  it('with --reconnect-attempts 0: the lost connection\'s error, saying it did not reconnect', async () => {
    proxy.dropOn((sql) => /FROM `salvage`\.`quarantine`/.test(sql));
    const e = await rejection(runQuarantine(['list', '--target', proxyUrl, '--reconnect-attempts', '0'], new Capture(), new Capture(), ENV));
    expect([e.code, e.retryable]).toEqual(['DB_QUERY', true]);
    expect(e.message).toMatch(/; not reconnecting \(reconnect attempts: 0\)$/);
  });
});
