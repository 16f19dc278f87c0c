/**
 * Two applies of one source at once (a DBA who starts the command again in a second terminal while
 * the first waits on a lock): each would apply what the other applies, and a remapped insert twice.
 * The second is refused before it reads anything; a run killed without a word is marked so by the
 * next one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { salvage, type SalvageOptions } from '../../src/pipeline/salvage.js';
import { openSession } from '../../src/db/sql-session.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { startTcpProxy } from '../harness/tcp-proxy.js';
import { rejectionOf } from '../harness/error-of.js';

let primary: MariadbServer;
let dr: MariadbServer;

const TABLE = 'CREATE TABLE t.people (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(80) NOT NULL, n INT NOT NULL DEFAULT 0) ENGINE=InnoDB';

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'concurrent-primary' }), startMariadb({ name: 'concurrent-dr', serverId: 2 })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
});

/** Both sides hold ids 1–2; the primary then inserts id 3 and updates 2; the DR inserts its own id 3. */
async function stage(): Promise<{ start: string; files: string[] }> {
  for (const s of [primary, dr]) {
    await s.query('DROP DATABASE IF EXISTS t');
    await s.query('DROP DATABASE IF EXISTS salvage');
    await s.query('CREATE DATABASE t');
    await s.query(TABLE);
    await s.query("INSERT INTO t.people (id, email) VALUES (1, 'a@x'), (2, 'b@x')");
  }
  const start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  await primary.query("INSERT INTO t.people (email) VALUES ('lost@x')");
  await primary.query('UPDATE t.people SET n = 7 WHERE id = 2');
  await dr.query("INSERT INTO t.people (email) VALUES ('dr@x')");
  await primary.flushBinaryLogs();
  return { start, files: await primary.binlogFiles() };
}

function options(files: string[], start: string): SalvageOptions {
  return { mode: 'apply', binlogs: files, target: dr.target, start: { kind: 'from-gtid', set: start } };
}

describe('applies of one source at once', () => {
  it('the second is refused (SALVAGE_SOURCE_BUSY, exit 1) while the first runs; the lost insert is remapped once', async () => {
    const { start, files } = await stage();
    // The first apply's window waits on row 2, which this session holds.
    const blocker = await openSession(dr.target);
    try {
      await blocker.query('START TRANSACTION');
      await blocker.query('SELECT id FROM t.people WHERE id = 2 FOR UPDATE');
      const first = salvage(options(files, start));
      first.catch(() => undefined);
      // Until the first run waits on the row lock (it holds the source lock from its start).
      for (let i = 0; i < 200; i++) {
        const waiting = (await dr.query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Query' AND INFO LIKE '%FROM `t`.`people` WHERE%FOR UPDATE'")) as unknown[];
        if (waiting.length > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const e = await rejectionOf(salvage(options(files, start)));
      expect(e).toMatchObject({ code: 'SALVAGE_SOURCE_BUSY', details: { option: '--source-id' } });
      expect((e as Error).message).toMatch(/^another apply of source "[^"]+" into state schema salvage is running on this DR \(DR connection \d+\): two at once would apply its changes twice; wait for it to end, or stop it \(KILL \d+; the DR rolls its window back\), then run again — nothing was written$/);
      await blocker.query('ROLLBACK');
      const report = await first;
      expect(report.remaps).toHaveLength(1);
    } finally {
      await blocker.end();
    }
    expect(await dr.query('SELECT id, email, n FROM t.people ORDER BY id')).toEqual([
      { id: 1, email: 'a@x', n: 0 },
      { id: 2, email: 'b@x', n: 7 },
      { id: 3, email: 'dr@x', n: 0 },
      { id: 4, email: 'lost@x', n: 0 },
    ]);
    expect(await dr.query('SELECT status FROM salvage.runs ORDER BY id')).toEqual([{ status: 'completed' }]);
  });

  it('an apply releases the source lock before it closes: the next one, started at once, is not refused (the server ends a closed session a moment later)', async () => {
    const { start, files } = await stage();
    const sent: string[] = [];
    await salvage({ ...options(files, start), beforeStatement: (sql) => sent.push(sql) });
    expect(sent.at(-1)).toBe('SELECT RELEASE_LOCK(?) AS released');
    for (let i = 0; i < 5; i++) await salvage(options(files, start));
    expect(((await dr.query('SELECT status FROM salvage.runs ORDER BY id')) as { status: string }[]).map((r) => r.status)).toEqual(Array(6).fill('completed'));
  });

  it('a connection cut where the server never hears of it: the run kills its own lost session (which holds the lock and the window) and goes on', async () => {
    const { start, files } = await stage();
    const proxy = await startTcpProxy(dr.host, dr.port);
    try {
      // The window's ledger write reaches the server; the client's side of the connection is then
      // closed and the server's side kept open: that session lives on, in its open transaction.
      proxy.dropOn((sql) => /^INSERT INTO `salvage`\.`ledger`/.test(sql), 'after-send', { serverSideStays: true });
      const report = await salvage({ ...options(files, start), target: { ...dr.target, port: proxy.port, redacted: `mysql://root@127.0.0.1:${proxy.port}` } });
      expect(proxy.dropped).not.toBeNull();
      expect(report.remaps).toHaveLength(1);
    } finally {
      await proxy.close();
    }
    expect(await dr.query('SELECT id, email, n FROM t.people ORDER BY id')).toEqual([
      { id: 1, email: 'a@x', n: 0 },
      { id: 2, email: 'b@x', n: 7 },
      { id: 3, email: 'dr@x', n: 0 },
      { id: 4, email: 'lost@x', n: 0 },
    ]);
    expect(await dr.query('SELECT COUNT(*) = 2 AS ok FROM salvage.ledger')).toEqual([{ ok: 1 }]);
  });

  it('a run left "running" (killed) is marked killed by the next apply of its source, which says so and resumes', async () => {
    const { start, files } = await stage();
    await salvage(options(files, start));
    // What a SIGKILL leaves: the row of a run that never finished (its lock went with its session).
    await dr.query(`INSERT INTO salvage.runs (started_at, status, source_id, options) SELECT UTC_TIMESTAMP(6), 'running', source_id, options FROM salvage.runs WHERE id = 1`);
    const report = await salvage(options(files, start));
    expect(report.warnings).toContain('run 2 of this source ended without recording how (killed, or the host lost): marked killed; this run resumes from the checkpoint, which holds what it committed');
    expect(await dr.query('SELECT CAST(id AS CHAR) AS id, status FROM salvage.runs ORDER BY id')).toEqual([
      { id: '1', status: 'completed' },
      { id: '2', status: 'killed' },
      { id: '3', status: 'completed' },
    ]);
    expect(await dr.query('SELECT id FROM t.people ORDER BY id')).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }]);
  });
});
