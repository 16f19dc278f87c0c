/**
 * `apply --follow` keeps the DR's history current while it follows (docs/RELIABILITY.md section 7
 * item 23). The history used to be read once, at the start: a record the promoted DR created after
 * that — an AUTO_INCREMENT id the application was handed while the run followed — was unknown to
 * it, and a complete history that does not know a key calls the DR row there the record the
 * primary knew, untouched since the failover. A lost insert with the same id was then merged into
 * the DR's own record (insert-pk-same-record), and the lost update of it merged there too. With
 * `--dr-source` the history now reads on before each window is decided; with `--dr-binlog` files
 * (which do not grow with the DR) the run says at the start that the history stops at their end,
 * and judges the keys it does not know by their values.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSalvageCommand } from '../../src/cli/salvage-command.js';
import { FOLLOW_DR_BINLOG_WARNING, salvage, type SalvageOptions, type SalvageReport } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { startTcpProxy } from '../harness/tcp-proxy.js';

/** One database per test: both follow the same primary, each from its own cut. */
const schema = (db: string): string[] => [`CREATE DATABASE ${db}`, `CREATE TABLE ${db}.t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40) NOT NULL) ENGINE=InnoDB`, `INSERT INTO ${db}.t (v) VALUES ('a'), ('b')`];

type Decided = [table: string, op: string, key: unknown, cls: string, outcome: string, newKey: unknown, withoutHistory: boolean];
const decided = (l: LedgerLine): Decided => [l.table, l.op, l.key, l.class, l.outcome, l.newKey ?? null, l.withoutHistory];

async function one(server: MariadbServer, sql: string): Promise<string> {
  const r = (await server.query<RowDataPacket[]>(sql))[0]!;
  return String(Object.values(r)[0]);
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

/**
 * The incident, while a follow runs: the primary's first lost insert (id 3) is applied in a window
 * of its own; then the DR, taking writes as a promoted primary does, hands id 4 to a record of its
 * own, and the primary inserts its own id 4 and updates it. Returns the follow's report and ledger.
 */
async function followThrough(
  db: string,
  primary: MariadbServer,
  dr: MariadbServer,
  history: Pick<SalvageOptions, 'drSource' | 'drBinlogs'>,
  afterFirstWindow: () => Promise<void> = async () => undefined,
): Promise<{ report: SalvageReport; ledger: LedgerLine[] }> {
  const cut = await one(primary, 'SELECT @@gtid_binlog_pos');
  await primary.query(`INSERT INTO ${db}.t (v) VALUES ('p3')`);
  const ledger: LedgerLine[] = [];
  const abort = new AbortController();
  const following = salvage({
    mode: 'apply',
    source: { target: primary.target, follow: true, idleMs: 100 },
    target: dr.target,
    start: { kind: 'from-gtid', set: cut },
    windowTransactions: 1,
    signal: abort.signal,
    onLedger: (l) => ledger.push(l),
    ...history,
  });
  let failed: unknown = null;
  following.catch((e: unknown) => (failed = e));
  await waitFor('the first window', () => ledger.length >= 1, () => failed);
  await afterFirstWindow();
  await dr.query(`INSERT INTO ${db}.t (v) VALUES ('dr')`);
  expect(await one(dr, 'SELECT LAST_INSERT_ID()')).toBe('4');
  await primary.query(`INSERT INTO ${db}.t (v) VALUES ('p4')`);
  expect(await one(primary, 'SELECT LAST_INSERT_ID()')).toBe('4');
  await primary.query(`UPDATE ${db}.t SET v = 'p4 updated' WHERE id = 4`);
  await waitFor('the three lost changes', () => ledger.length >= 3, () => failed);
  abort.abort();
  const report = await following;
  return { report, ledger };
}

async function rows(db: string, server: MariadbServer): Promise<unknown[]> {
  return (await server.query(`SELECT id, v FROM ${db}.t ORDER BY id`)) as unknown[];
}

describe('apply --follow: the DR history kept current while following', () => {
  let primary: MariadbServer;
  let dr: MariadbServer;
  let drFiles: MariadbServer;

  beforeAll(async () => {
    [primary, dr, drFiles] = await Promise.all([
      startMariadb({ name: 'follow-history-primary', serverId: 1 }),
      startMariadb({ name: 'follow-history-dr', serverId: 2 }),
      startMariadb({ name: 'follow-history-dr-files', serverId: 2 }),
    ]);
    for (const sql of [...schema('s1'), ...schema('s2'), ...schema('s3'), ...schema('s4')]) await primary.query(sql);
    // The DRs hold the primary's rows as replication left them: nothing of their own in their binlogs.
    for (const [server, db] of [[dr, 's1'], [drFiles, 's2'], [dr, 's3'], [dr, 's4']] as const) {
      await server.query('SET SESSION sql_log_bin = 0');
      for (const sql of schema(db)) await server.query(sql);
      await server.query('SET SESSION sql_log_bin = 1');
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all([primary?.stop(), dr?.stop(), drFiles?.stop()]);
  });

  it('--dr-source: a record the DR creates after the first window is its own, so the lost insert with its id is remapped and its update follows', async () => {
    const { report, ledger } = await followThrough('s1', primary, dr, { drSource: { target: dr.target } });
    expect(report.stoppedOnRequest).toBe(true);
    expect(report.retries).toBe(0);
    expect(ledger.map(decided)).toEqual([
      ['s1.t', 'insert', [3], 'clean', 'applied', null, false],
      ['s1.t', 'insert', [4], 'insert-pk-taken', 'remapped', [5], false],
      ['s1.t', 'update', [4], 'clean', 'applied', [5], false],
    ]);
    expect(await rows('s1', dr)).toEqual([
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
      { id: 3, v: 'p3' },
      { id: 4, v: 'dr' },
      { id: 5, v: 'p4 updated' },
    ]);
    // The DR's one write of its own, read while following; the engine's windows are not its history.
    expect(report.history?.transactions).toBe(1);
    expect(report.history?.tables).toEqual([{ table: 's1.t', inserted: 1, updated: 0, deleted: 0 }]);
    expect(report.history?.complete).toBe(true);
    expect(report.warnings).not.toContain(FOLLOW_DR_BINLOG_WARNING);
  }, 90_000);

  it('--dr-source: a dump of the DR lost while following is reopened where the history stopped, and the window waits for it', async () => {
    const killDumps = async (): Promise<void> => {
      const threads = await dr.query<RowDataPacket[]>("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'");
      // The history's dump (a thread of an earlier run may still be on its way out).
      expect(threads.length).toBeGreaterThanOrEqual(1);
      for (const t of threads) await dr.query(`KILL ${String(t['ID'])}`).catch(() => undefined);
    };
    const { report, ledger } = await followThrough('s3', primary, dr, { drSource: { target: dr.target } }, killDumps);
    expect(ledger.map(decided)).toEqual([
      ['s3.t', 'insert', [3], 'clean', 'applied', null, false],
      ['s3.t', 'insert', [4], 'insert-pk-taken', 'remapped', [5], false],
      ['s3.t', 'update', [4], 'clean', 'applied', [5], false],
    ]);
    expect(await rows('s3', dr)).toEqual([
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
      { id: 3, v: 'p3' },
      { id: 4, v: 'dr' },
      { id: 5, v: 'p4 updated' },
    ]);
    // The window that met the lost dump was decided again, once the history had read on.
    expect(report.retries).toBeGreaterThanOrEqual(1);
    // The DR's binlog holds the first test's write of its own too.
    expect(report.history?.tables).toEqual([
      { table: 's1.t', inserted: 1, updated: 0, deleted: 0 },
      { table: 's3.t', inserted: 1, updated: 0, deleted: 0 },
    ]);
  }, 90_000);

  it('--dr-source out of reach while following: the window is not decided without the history; the run stops, and resumes right', async () => {
    const proxy = await startTcpProxy(dr.host, dr.port);
    const cut = await one(primary, 'SELECT @@gtid_binlog_pos');
    await primary.query("INSERT INTO s4.t (v) VALUES ('p3')");
    const ledger: LedgerLine[] = [];
    const options = (drSource: SalvageOptions['drSource'], signal?: AbortSignal): SalvageOptions => ({
      mode: 'apply',
      source: { target: primary.target, follow: true, idleMs: 100 },
      target: dr.target,
      start: { kind: 'from-gtid', set: cut },
      windowTransactions: 1,
      onLedger: (l) => ledger.push(l),
      drSource,
      signal,
    });
    const following = salvage(options({ target: { ...dr.target, port: proxy.port, redacted: `mysql://root@127.0.0.1:${proxy.port}` } }));
    let failed: unknown = null;
    following.catch((e: unknown) => (failed = e));
    await waitFor('the first window', () => ledger.length >= 1, () => failed);
    // The DR's binlog out of reach (the DR itself is not: the run's own session goes straight to it).
    await proxy.close();
    await dr.query("INSERT INTO s4.t (v) VALUES ('dr')");
    await primary.query("INSERT INTO s4.t (v) VALUES ('p4')");
    await primary.query("UPDATE s4.t SET v = 'p4 updated' WHERE id = 4");
    const stopped = await following.then(
      () => null,
      (e: unknown) => e as { code?: string; message?: string; cause?: { code?: string } },
    );
    expect(stopped?.code).toBe('SALVAGE_FAULT');
    expect(stopped?.cause?.code).toBe('DR_HISTORY_FOLLOW_LOST');
    expect(stopped?.message).toContain(`cannot bring the DR's history up to date from mysql://root@127.0.0.1:${proxy.port}`);
    expect(ledger.map(decided)).toEqual([['s4.t', 'insert', [3], 'clean', 'applied', null, false]]);
    expect(await rows('s4', dr)).toEqual([
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
      { id: 3, v: 'p3' },
      { id: 4, v: 'dr' },
    ]);

    // The same follow with the DR's binlog in reach again resumes after the first window.
    const abort = new AbortController();
    const resumed = salvage(options({ target: dr.target }, abort.signal));
    failed = null;
    resumed.catch((e: unknown) => (failed = e));
    await waitFor('the rest', () => ledger.length >= 3, () => failed);
    abort.abort();
    await resumed;
    expect(ledger.slice(1).map(decided)).toEqual([
      ['s4.t', 'insert', [4], 'insert-pk-taken', 'remapped', [5], false],
      ['s4.t', 'update', [4], 'clean', 'applied', [5], false],
    ]);
    expect(await rows('s4', dr)).toEqual([
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
      { id: 3, v: 'p3' },
      { id: 4, v: 'dr' },
      { id: 5, v: 'p4 updated' },
    ]);
  }, 90_000);

  it('--dr-binlog: the files do not grow with the DR: said at the start, and keys the history does not know are judged by values', async () => {
    const files = await drFiles.binlogFiles();
    // The command line says so before it follows (its summary comes only when it is stopped).
    const abort = new AbortController();
    const err = new Capture();
    const running = runSalvageCommand('apply', ['--source', primary.url, '--follow', '--target', drFiles.url, '--from-gtid', await one(primary, 'SELECT @@gtid_binlog_pos'), '--progress', 'json', ...files.flatMap((f) => ['--dr-binlog', f])], new Capture(), err, {
      env: {},
      home: undefined,
      isTty: false,
      signal: abort.signal,
    });
    let failed: unknown = null;
    running.catch((e: unknown) => (failed = e));
    // Stopped once it follows (its first idle figures, after 5 s), not while it starts.
    await waitFor('the first progress event', () => err.text.includes('"event":"progress"'), () => failed);
    abort.abort();
    expect(await running).toBe(0);
    expect(err.text.split('\n')[0]).toBe(`salvage: warning: ${FOLLOW_DR_BINLOG_WARNING}`);
    // --quiet: not a word on stderr (the report's warnings still say it).
    const quietAbort = new AbortController();
    const quietErr = new Capture();
    const quiet = runSalvageCommand('apply', ['--source', primary.url, '--follow', '--target', drFiles.url, '--from-gtid', await one(primary, 'SELECT @@gtid_binlog_pos'), '--quiet', ...files.flatMap((f) => ['--dr-binlog', f])], new Capture(), quietErr, {
      env: {},
      home: undefined,
      isTty: false,
      signal: quietAbort.signal,
    });
    await new Promise((r) => setTimeout(r, 2000));
    quietAbort.abort();
    expect(await quiet).toBe(0);
    expect(quietErr.text).toBe('');

    const { report, ledger } = await followThrough('s2', primary, drFiles, { drBinlogs: files });
    // By values: a different row at an AUTO_INCREMENT id is another record all the same.
    expect(ledger.map(decided)).toEqual([
      ['s2.t', 'insert', [3], 'clean', 'applied', null, true],
      ['s2.t', 'insert', [4], 'insert-pk-taken', 'remapped', [5], true],
      ['s2.t', 'update', [4], 'clean', 'applied', [5], true],
    ]);
    expect(await rows('s2', drFiles)).toEqual([
      { id: 1, v: 'a' },
      { id: 2, v: 'b' },
      { id: 3, v: 'p3' },
      { id: 4, v: 'dr' },
      { id: 5, v: 'p4 updated' },
    ]);
    expect(report.history?.complete).toBe(false);
    expect(report.warnings).toContain(FOLLOW_DR_BINLOG_WARNING);
  }, 90_000);
});
