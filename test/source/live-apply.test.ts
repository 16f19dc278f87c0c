/**
 * plan and apply with a live server as the source (`--source URL`, src/pipeline/salvage.ts).
 *
 * Incident: the failover workload of src/demo/stage-failover.ts (shared history, lost writes over
 * two binlogs, a promoted DR's own colliding writes) played by hand on a primary and two identical
 * DRs; the primary is then crashed (SIGKILL) and restarted, as a recovered primary is. One DR is
 * salvaged from the primary's files, the other from the running primary over the replication
 * protocol: the same plan, the same DR rows, the same ledger and quarantine.
 *
 * Faults: an `apply --follow` runs while the primary keeps writing in batches; its replication
 * connection is killed several times (server-side KILL of the Binlog Dump thread) and the primary
 * is restarted once. After the writes stop and the follow has caught up it is aborted: the DR
 * equals a DR salvaged once, uninterrupted, from the files, and its ledger holds every change
 * exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { basename } from 'node:path';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { runSalvageCommand } from '../../src/cli/salvage-command.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { FAILOVER_SCHEMA, FAILOVER_TABLES, planFailoverWorkload } from '../../src/demo/stage-failover.js';
import type { WorkloadTransaction } from '../../src/demo/shop-workload.js';
import { EngineError } from '../../src/errors.js';
import { salvage, type DrReconnectNotice, type SalvageOptions, type SalvageReport } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { Capture } from '../harness/capture.js';

const LOGICAL = { 'shop.order_notes': { references: { order_id: 'shop.orders.id' } } };

async function rows(server: MariadbServer, sql: string): Promise<RowDataPacket[]> {
  return server.query(sql);
}

/** Runs planned transactions on one connection, each in a transaction of its own. */
async function play(conn: Connection, transactions: readonly WorkloadTransaction[], before: (i: number) => Promise<void> = async () => undefined): Promise<void> {
  for (const [i, tx] of transactions.entries()) {
    await before(i);
    await conn.query('START TRANSACTION');
    for (const s of tx.statements) await conn.query(s.sql, [...s.params]);
    await conn.query('COMMIT');
  }
}

async function onEach(servers: readonly MariadbServer[], fn: (conn: Connection, server: MariadbServer) => Promise<void>): Promise<void> {
  await Promise.all(
    servers.map(async (server) => {
      const conn = await server.connect();
      try {
        await fn(conn, server);
      } finally {
        await conn.end();
      }
    }),
  );
}

async function gtidPos(server: MariadbServer): Promise<string> {
  return String((await rows(server, 'SELECT @@gtid_binlog_pos AS p'))[0]!['p']);
}

async function masterEnd(server: MariadbServer): Promise<string> {
  const r = (await rows(server, 'SHOW MASTER STATUS'))[0]!;
  return `${String(r['File'])}:${String(r['Position'])}`;
}

async function tables(server: MariadbServer, names: readonly string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of names) out[t] = await rows(server, `SELECT * FROM ${t} ORDER BY id`);
  return out;
}

/** What the DR's state schema says happened to every change, in decision order (without run ids, files or source ids). */
async function ledger(server: MariadbServer): Promise<unknown[]> {
  return rows(server, 'SELECT change_at, change_index, table_name, op, class, outcome, source_key, new_key, reason FROM salvage.ledger ORDER BY run_id, seq');
}

async function quarantine(server: MariadbServer): Promise<unknown[]> {
  return rows(server, 'SELECT change_at, change_index, table_name, reason, status FROM salvage.quarantine ORDER BY id');
}

function lines(ledgerLines: readonly LedgerLine[]): string[] {
  return ledgerLines.map((l) => JSON.stringify({ ...l, file: basename(l.file) }));
}

async function caught(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected an EngineError');
}

describe('salvage from a live primary: the same incident as from its files', () => {
  let primary: MariadbServer;
  let drFiles: MariadbServer;
  let drLive: MariadbServer;
  let cut: string;
  let files: string[];
  const w = planFailoverWorkload(51, 1);

  beforeAll(async () => {
    [primary, drFiles, drLive] = await Promise.all([
      startMariadb({ name: 'live-apply-primary', serverId: 1 }),
      startMariadb({ name: 'live-apply-dr-files', serverId: 2 }),
      startMariadb({ name: 'live-apply-dr-live', serverId: 2 }),
    ]);
    await onEach([primary, drFiles, drLive], async (conn) => {
      for (const ddl of FAILOVER_SCHEMA) await conn.query(ddl);
      await play(conn, w.shared);
    });
    cut = await gtidPos(primary);
    await onEach([primary], (conn) => play(conn, w.lost, async (i) => (i === w.lostRotateBefore ? primary.flushBinaryLogs() : undefined)));
    await onEach([drFiles, drLive], (conn) => play(conn, w.dr));
    // The failed primary: crashed, then brought back (crash recovery, a new binlog).
    await primary.kill();
    await primary.restart();
    files = await primary.binlogFiles();
  }, 180_000);

  afterAll(async () => {
    await Promise.all([primary?.stop(), drFiles?.stop(), drLive?.stop()]);
  });

  function run(mode: 'plan' | 'apply', dr: MariadbServer, input: Pick<SalvageOptions, 'binlogs' | 'source'>, out: LedgerLine[] = []): Promise<SalvageReport> {
    return salvage({ mode, ...input, target: dr.target, start: { kind: 'from-gtid', set: cut }, logicalReferences: LOGICAL, onLedger: (l) => out.push(l) });
  }

  it('plans the same decisions', async () => {
    const fromFiles: LedgerLine[] = [];
    const live: LedgerLine[] = [];
    const a = await run('plan', drFiles, { binlogs: files }, fromFiles);
    const b = await run('plan', drLive, { source: { target: primary.target } }, live);
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(a.lost.transactions).toBe(w.lost.length);
    expect(b.lost).toEqual(a.lost);
    expect(b.outcomes).toEqual(a.outcomes);
    expect(b.counts).toEqual(a.counts);
    expect(b.remaps).toEqual(a.remaps);
    expect(a.outcomes.remapped).toBeGreaterThan(0);
    expect(a.outcomes.quarantined).toBeGreaterThan(0);
    expect(lines(live)).toEqual(lines(fromFiles));
    expect(b.sourceId).toBe(`live:127.0.0.1:${primary.port}`);
    expect(b.source).toEqual({ kind: 'live', server: `mysql://root@127.0.0.1:${primary.port}`, start: '(the first binlog the server has)', follow: false, reconnects: 0 });
    expect(b.committedThrough).toBeNull();
  });

  it('plans the same decisions when told to start at the DR\'s GTID set (--start-gtid), from the binlog that holds it', async () => {
    const fromFiles: LedgerLine[] = [];
    const live: LedgerLine[] = [];
    await run('plan', drFiles, { binlogs: files }, fromFiles);
    const b = await run('plan', drLive, { source: { target: primary.target, start: { gtid: cut } } }, live);
    expect(lines(live)).toEqual(lines(fromFiles));
    // The cut lies in the first binlog (the lost range rotates into the second later): reading starts there.
    expect(b.source).toMatchObject({ kind: 'live', start: `${files[0]!.split('/').pop()}:4` });
  });

  it('applies to the same DR state, then resumes at its checkpoint with nothing left', async () => {
    const a = await run('apply', drFiles, { binlogs: files });
    const b = await run('apply', drLive, { source: { target: primary.target } });
    expect(b.outcomes).toEqual(a.outcomes);
    expect(await tables(drLive, FAILOVER_TABLES)).toEqual(await tables(drFiles, FAILOVER_TABLES));
    expect(await ledger(drLive)).toEqual(await ledger(drFiles));
    expect(await quarantine(drLive)).toEqual(await quarantine(drFiles));
    const checkpoint = 'SELECT gtid_set, binlog_file, binlog_pos FROM salvage.checkpoint';
    expect(await rows(drLive, checkpoint)).toEqual(await rows(drFiles, checkpoint));
    const cp = (await rows(drLive, checkpoint))[0]!;
    expect(b.committedThrough).toBe(`${String(cp['binlog_file'])}:${String(cp['binlog_pos'])}`);

    // The second run reads the checkpoint's file from its start (the server's end is in the file the
    // restart opened): what the checkpoint holds there is passed, anything it lacks is read.
    const again = await run('apply', drLive, { source: { target: primary.target } });
    expect(again.source).toMatchObject({ kind: 'live', start: `${String(cp['binlog_file'])}:4` });
    expect(again.lost.transactions).toBe(0);
    expect(again.outcomes).toEqual({ applied: 0, merged: 0, remapped: 0, skipped: 0, quarantined: 0 });
  });

  it('takes --source on the command line, and refuses what does not go with it', async () => {
    const out = new Capture();
    const code = await runSalvageCommand('plan', ['--source', primary.url, '--target', drFiles.url, '--from-gtid', cut, '--json', '--quiet'], out, new Capture(), { env: {}, home: undefined, isTty: false });
    expect(code).toBe(0);
    const report = JSON.parse(out.text) as SalvageReport;
    expect(report.lost.transactions).toBe(0);
    expect(report.source).toMatchObject({ kind: 'live', follow: false });

    const env = { env: {}, home: undefined, isTty: false };
    const refused = async (args: string[]): Promise<string> => {
      const e = await runSalvageCommand('plan', args, new Capture(), new Capture(), env).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e).toBeInstanceOf(UsageError);
      return (e as UsageError).message;
    };
    expect(await refused(['--binlog', 'x', '--source', primary.url, '--target', drFiles.url])).toBe('plan: give --binlog FILE… or --source URL, not both');
    expect(await refused(['--source', primary.url, '--follow', '--target', drFiles.url])).toBe('--follow is an apply option: a plan reads the server to its current end and stops');
    expect(await refused(['--binlog', 'x', '--start-file', 'mysql-bin.000001', '--target', drFiles.url])).toBe('--start-file goes with --source URL');
    expect(await refused(['--source', primary.url, '--start-position', '3', '--target', drFiles.url])).toBe('--start-position takes a byte offset ≥ 4 (a binlog\'s first event is at 4), got "3"');
  });
});

// ---- faults during a follow --------------------------------------------------------------------

const FAULT_SCHEMA = [
  'CREATE DATABASE shop',
  `CREATE TABLE shop.customers (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(120) NOT NULL, name VARCHAR(80) NOT NULL,
     UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
  `CREATE TABLE shop.orders (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, customer_id INT UNSIGNED NOT NULL, total DECIMAL(10,2) NOT NULL,
     CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES shop.customers (id)) ENGINE=InnoDB`,
  "INSERT INTO shop.customers (id, email, name) VALUES (1, 'ann@x', 'Ann'), (2, 'ben@x', 'Ben'), (3, 'cy@x', 'Cy')",
  'INSERT INTO shop.orders (id, customer_id, total) VALUES (1, 1, 10.00), (2, 2, 20.00)',
];
// The promoted DR's own writes: ids 4-6 collide with the primary's next inserts (remapped above
// 1000, the DR's counter, which no lost insert reaches: the remaps do not depend on how the follow
// cuts windows), zed@x clashes with the primary's Zed@X, and Ben's name changes on both sides.
const DR_OWN = [
  "INSERT INTO shop.customers (id, email, name) VALUES (4, 'dr4@x', 'Dee'), (5, 'dr5@x', 'Dan'), (6, 'zed@x', 'Zed D'), (1000, 'dr1000@x', 'Max')",
  "UPDATE shop.customers SET name = 'Benjamin' WHERE id = 2",
];
const BATCHES = 12;
const PER_BATCH = 5;

/** The primary's lost transaction `n` (0-based): a customer and an order, plus updates and deletes of earlier rows. */
function lostTransaction(n: number): string[] {
  const out = [`INSERT INTO shop.customers (email, name) VALUES ('${n === 17 ? 'Zed@X' : `c${n}@x`}', 'Customer ${n}')`, `INSERT INTO shop.orders (customer_id, total) VALUES (LAST_INSERT_ID(), ${n + 1}.50)`];
  if (n === 3) out.push("UPDATE shop.customers SET email = 'ben@new' WHERE id = 2");
  if (n % 4 === 1) out.push(`UPDATE shop.customers SET name = CONCAT(name, ' *') WHERE id = ${4 + Math.floor(n / 2)}`);
  if (n % 7 === 6) out.push(`DELETE FROM shop.orders WHERE id = ${n}`);
  if (n % 5 === 2) out.push(`UPDATE shop.orders SET total = total + 1 WHERE id = ${3 + n - 1}`);
  return out;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('apply --follow through killed connections and a primary restart', () => {
  let primary: MariadbServer;
  let drFollow: MariadbServer;
  let drOnce: MariadbServer;
  let cut: string;

  beforeAll(async () => {
    [primary, drFollow, drOnce] = await Promise.all([
      startMariadb({ name: 'live-follow-primary', serverId: 1 }),
      startMariadb({ name: 'live-follow-dr', serverId: 2 }),
      startMariadb({ name: 'live-follow-dr-once', serverId: 2 }),
    ]);
    for (const server of [primary, drFollow, drOnce]) for (const sql of FAULT_SCHEMA) await server.query(sql);
    for (const server of [drFollow, drOnce]) for (const sql of DR_OWN) await server.query(sql);
    cut = await gtidPos(primary);
  }, 180_000);

  afterAll(async () => {
    await Promise.all([primary?.stop(), drFollow?.stop(), drOnce?.stop()]);
  });

  it('ends in the state of an uninterrupted run, every change in the ledger once', async () => {
    const abort = new AbortController();
    let position = '';
    const notices: DrReconnectNotice[] = [];
    const following = salvage({
      mode: 'apply',
      onReconnect: (n) => notices.push(n),
      source: { target: primary.target, follow: true, idleMs: 100, reconnect: { attempts: 200, initialDelayMs: 20, maxDelayMs: 250 } },
      target: drFollow.target,
      start: { kind: 'from-gtid', set: cut },
      windowTransactions: 3,
      signal: abort.signal,
      onProgress: (p) => {
        position = p.position;
      },
    });
    // Surfaces a failed follow at once instead of at the timeout of a wait below.
    let failed: unknown = null;
    following.catch((e: unknown) => (failed = e));

    let lastKilled = -1;
    const dumpThread = (): Promise<number> =>
      waitFor('a Binlog Dump thread', async () => {
        if (failed !== null) throw failed;
        // Once it has sent everything, the reader has its first batch: the kill cuts a connection that delivered.
        const r = await rows(primary, `SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump' AND ID <> ${lastKilled} AND STATE LIKE 'Master has sent all binlog%'`);
        return r.length === 1 ? Number(r[0]!['ID']) : undefined;
      });
    let n = 0;
    for (let batch = 0; batch < BATCHES; batch++) {
      const conn = await primary.connect();
      try {
        for (let i = 0; i < PER_BATCH; i++, n++) {
          await conn.query('START TRANSACTION');
          for (const sql of lostTransaction(n)) await conn.query(sql);
          await conn.query('COMMIT');
        }
      } finally {
        await conn.end();
      }
      // Kills after batches 1, 3, 7, 9 and 10 (the last before the last batch, so the follow needs the new connection), a restart after 5.
      if ([1, 3, 7, 9, 10].includes(batch)) {
        lastKilled = await dumpThread();
        await primary.query(`KILL ${lastKilled}`);
      }
      if (batch === 5) {
        await dumpThread();
        await primary.restart();
        lastKilled = -1;
      }
    }
    const end = await masterEnd(primary);
    await waitFor(`the follow to reach ${end}`, async () => {
      if (failed !== null) throw failed;
      return position === end ? true : undefined;
    });
    abort.abort();
    const report = await following;
    expect(report.stoppedOnRequest).toBe(true);
    expect(report.committedThrough).toBe(end);
    expect(report.source).toMatchObject({ kind: 'live', follow: true });
    // Five kills and a restart.
    expect(report.source?.kind === 'live' ? report.source.reconnects : 0).toBe(6);
    // Each reconnect to the source told as the DR's are (one or more attempts each; a restart may take several).
    expect(notices.length).toBeGreaterThanOrEqual(6);
    expect(new Set(notices.map((n) => `${n.server}/${n.step}/${n.target}/${n.attempts}`))).toEqual(new Set([`source/read/${primary.target.redacted}/200`]));
    expect(notices.filter((n) => n.attempt === 1)).toHaveLength(6);
    expect(String((await rows(drFollow, 'SELECT status FROM salvage.runs'))[0]!['status'])).toBe('interrupted');

    const once = await salvage({ mode: 'apply', binlogs: await primary.binlogFiles(), target: drOnce.target, start: { kind: 'from-gtid', set: cut } });
    expect(report.outcomes).toEqual(once.outcomes);
    expect(once.lost.transactions).toBe(BATCHES * PER_BATCH);
    expect(report.lost.transactions).toBe(BATCHES * PER_BATCH);
    expect(report.remaps).toEqual(once.remaps);
    expect(once.remaps.map((r) => [r.oldKey, r.newKey])).toEqual([
      [[4], [1001]],
      [[5], [1002]],
      [[6], [1003]],
    ]);
    const shop = ['shop.customers', 'shop.orders'];
    expect(await tables(drFollow, shop)).toEqual(await tables(drOnce, shop));
    const followed = await ledger(drFollow);
    expect(followed).toEqual(await ledger(drOnce));
    expect(await rows(drFollow, 'SELECT change_at, change_index FROM salvage.ledger GROUP BY change_at, change_index HAVING COUNT(*) > 1')).toEqual([]);
    expect(await quarantine(drFollow)).toEqual(await quarantine(drOnce));
    // Held back whole: Zed@X (transaction 17, its email taken under the collation), then each one
    // touching a row an earlier held-back one wrote — 20 deletes 17's order, 41 renames 20's
    // customer, 42 changes 41's order. Every other customer the primary added is on the DR.
    const seq = Number(/^0-1-(\d+)$/.exec(cut)![1]);
    const held = [17, 20, 41, 42].map((n) => ({ change_at: `0-1-${seq + 1 + n}` }));
    expect(await rows(drFollow, "SELECT DISTINCT change_at FROM salvage.ledger WHERE outcome = 'quarantined' ORDER BY seq")).toEqual(held);
    expect((await rows(drFollow, "SELECT COUNT(*) AS n FROM shop.customers WHERE email REGEXP '^c[0-9]+@x$'"))[0]!['n']).toBe(String(BATCHES * PER_BATCH - held.length));

    // A later run over the same source reads the follow checkpoint's file and finds nothing new.
    const after = await salvage({ mode: 'apply', source: { target: primary.target }, target: drFollow.target, start: { kind: 'from-gtid', set: cut } });
    expect(after.source).toMatchObject({ start: `${end.split(':')[0]!}:4` });
    expect(after.lost.transactions).toBe(0);
  }, 240_000);

  it('apply --follow on the command line applies new writes once idle, stops on request and says where it resumes', async () => {
    const end = await masterEnd(primary);
    const abort = new AbortController();
    const out = new Capture();
    const err = new Capture();
    const running = runSalvageCommand('apply', ['--source', primary.url, '--follow', '--target', drFollow.url, '--from-gtid', cut, '--quiet'], out, err, {
      env: {},
      home: undefined,
      isTty: false,
      signal: abort.signal,
    });
    // Two more transactions, far fewer than a window (1000): only the idle close (1 s) applies them.
    for (const n of [60, 61]) {
      const conn = await primary.connect();
      await conn.query('START TRANSACTION');
      for (const sql of lostTransaction(n)) await conn.query(sql);
      await conn.query('COMMIT');
      await conn.end();
    }
    const [file, pos] = (await masterEnd(primary)).split(':');
    await waitFor('the new writes on the DR', async () => {
      const r = await rows(drFollow, `SELECT 1 FROM salvage.checkpoint WHERE binlog_file = '${file}' AND binlog_pos = ${pos}`);
      return r.length === 1 ? true : undefined;
    });
    // Then Ctrl-C.
    abort.abort();
    // 3: the changes the follow run before this one held back still await review.
    expect(await running).toBe(3);
    expect(err.text).toBe('');
    const text = out.text.split('\n');
    expect(text.find((l) => l.startsWith('lost: '))).toMatch(/^lost: 2 transaction\(s\), 5 row change\(s\), /);
    expect(text).toContain(`source: mysql://root@127.0.0.1:${primary.port}, read from ${end.split(':')[0]!}:4, following`);
    expect(text).toContain(`stopped on request; committed through ${file}:${pos} (checkpoint "live:127.0.0.1:${primary.port}"); the same command resumes from there`);
    expect((await rows(drFollow, "SELECT id, email FROM shop.customers WHERE email IN ('c60@x', 'c61@x') ORDER BY id"))).toEqual([
      { id: 64, email: 'c60@x' },
      { id: 65, email: 'c61@x' },
    ]);
  });

  it('names the first binlog the server still has when the start was purged', async () => {
    await primary.flushBinaryLogs();
    const names = async (): Promise<string[]> => (await rows(primary, 'SHOW BINARY LOGS')).map((r) => String(r['Log_name']));
    const [first, ...rest] = await names();
    await primary.query(`PURGE BINARY LOGS TO '${rest[rest.length - 1]!}'`);
    // MariaDB may keep a file crash recovery still needs: the message names what is left.
    const left = await names();
    expect(left).not.toContain(first);
    const e = await caught(
      runSalvageCommand('apply', ['--source', primary.url, '--start-file', first!, '--target', drOnce.url, '--from-gtid', cut, '--quiet'], new Capture(), new Capture(), {
        env: {},
        home: undefined,
        isTty: false,
      }),
    );
    expect(e.code).toBe('LIVE_START_PURGED');
    expect(e.message).toBe(
      `mysql://root@127.0.0.1:${primary.port} has no binlog ${first}: it has ${left[0]}${left.length > 1 ? ` … ${left[left.length - 1]}` : ''} (a purged file is gone from the server; read it from a backup)`,
    );
    expect(e.details).toMatchObject({ file: first, firstAvailable: left[0] });

    // Without --start-file: the lost transactions the DR lacks were in the purged files. Found by a
    // review: the run read what the server still had, applied it, and said nothing of the rest.
    const gap = await caught(
      runSalvageCommand('plan', ['--source', primary.url, '--target', drOnce.url, '--from-gtid', cut, '--state-schema', 'no_state_here', '--quiet'], new Capture(), new Capture(), { env: {}, home: undefined, isTty: false }),
    );
    expect(gap.code).toBe('INPUT_LEADING_GAP');
    expect(gap.message).toMatch(new RegExp(`^mysql://root@127\\.0\\.0\\.1:${primary.port}'s oldest binlog, ${left[0]!.replace('.', '\\.')}, opens after 0-1-\\d+ \\(its GTID list\\), which the DR never received and no run applied: lost transactions were in binlogs the server purged`));
    const fromPurged = await caught(
      runSalvageCommand('plan', ['--source', primary.url, '--target', drOnce.url, '--from', `${first!}:4`, '--state-schema', 'no_state_here', '--quiet'], new Capture(), new Capture(), { env: {}, home: undefined, isTty: false }),
    );
    expect(fromPurged.code).toBe('INPUT_FROM_OUTSIDE');
  });
});
