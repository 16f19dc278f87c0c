/**
 * Faults of the live source found by a review on real servers (a recovered primary read over the
 * replication protocol, a DR apart):
 *
 * - a start that skips lost transactions — a `--start-file` or `--start-gtid` past the DR's
 *   state, or a `--follow` over a server that purged them — was read from there without a word,
 *   and the checkpoint then marked later transactions applied while the earlier ones never were;
 * - a `--start-position` past the end of the server's last binlog read nothing and said the run
 *   lost nothing (exit 0);
 * - an account without `BINLOG MONITOR` was told of a syntax error (the fallback to SHOW BINARY
 *   LOG STATUS hid the refusal), and one without `REPLICATION SLAVE` was retried as a lost
 *   connection, ten times over a minute, then called a fault;
 * - a follow over a primary that writes more often than once a second applied nothing until the
 *   writes paused (the window's idle close was pushed back by every transaction);
 * - a source reached over a Unix socket was named live:localhost:3306 whatever the server, so two
 *   servers' sockets on one host shared one checkpoint;
 * - a replication connection a network dropped without a word (no FIN, no RST: a NAT or firewall
 *   timeout) kept a follow waiting until TCP gave up, hours later, and a stopped run did not exit
 *   (its control session's socket, half-closed, waited for the server);
 * - binlogs written under different binlog_checksum settings (CRC32, then NONE, …): with the server
 *   at NONE its CRC32 files were refused, and a read from a CRC32 file into a NONE one stopped at
 *   the switch without a word (the ROTATE into it misread); at CRC32, the stream was a mismatch.
 */
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RowDataPacket } from 'mysql2/promise';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { runInspect } from '../../src/cli/inspect-command.js';
import { runSalvageCommand } from '../../src/cli/salvage-command.js';
import { EngineError } from '../../src/errors.js';
import { salvage } from '../../src/pipeline/salvage.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const SCHEMA = ['CREATE DATABASE shop', 'CREATE TABLE shop.t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40) NOT NULL) ENGINE=InnoDB', "INSERT INTO shop.t (v) VALUES ('a'), ('b')"];

async function caught(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected an EngineError');
}

/** A TCP proxy whose connections can be turned into a black hole: bytes dropped, nothing closed. Later connections pass. */
async function startFreezeProxy(port: number): Promise<{ readonly port: number; freeze(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  let frozenBelow = 0;
  const server = createServer((client) => {
    const id = accepted++;
    const upstream = connect(port, '127.0.0.1');
    for (const sock of [client, upstream]) {
      sockets.add(sock);
      sock.on('error', () => undefined);
      sock.on('close', () => {
        if (id >= frozenBelow) {
          client.destroy();
          upstream.destroy();
        }
      });
    }
    client.on('data', (d) => id >= frozenBelow && upstream.write(d));
    upstream.on('data', (d) => id >= frozenBelow && client.write(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => (frozenBelow = accepted),
    close: async () => {
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function one(server: MariadbServer, sql: string): Promise<string> {
  const r = (await server.query<RowDataPacket[]>(sql))[0]!;
  return String(Object.values(r)[0]);
}

describe('live source: starts that skip lost transactions, bad starts, privileges, follow latency', () => {
  let primary: MariadbServer;
  let dr: MariadbServer;
  /** The DR's GTID state: everything after it is lost. */
  let cut: string;
  /** The primary's binlogs: the lost range starts in [0] and goes on in [1]. */
  let files: string[];
  /** The first lost transaction's position in files[0]. */
  let firstLost: string;
  const env = { env: { PW: 'pw' }, home: undefined, isTty: false };
  const cli = (mode: 'plan' | 'apply', args: string[]): Promise<number> => runSalvageCommand(mode, [...args, '--quiet'], new Capture(), new Capture(), env);

  beforeAll(async () => {
    [primary, dr] = await Promise.all([startMariadb({ name: 'live-review-primary', serverId: 1 }), startMariadb({ name: 'live-review-dr', serverId: 2 })]);
    for (const server of [primary, dr]) for (const sql of SCHEMA) await server.query(sql);
    await primary.query("CREATE USER monitorless@'127.0.0.1' IDENTIFIED BY 'pw'");
    await primary.query("GRANT SELECT, REPLICATION SLAVE ON *.* TO monitorless@'127.0.0.1'");
    await primary.query("CREATE USER dumpless@'127.0.0.1' IDENTIFIED BY 'pw'");
    await primary.query("GRANT SELECT, BINLOG MONITOR ON *.* TO dumpless@'127.0.0.1'");
    cut = await one(primary, 'SELECT @@gtid_binlog_pos');
    const status = (await primary.query<RowDataPacket[]>('SHOW MASTER STATUS'))[0]!;
    firstLost = `${String(status['File'])}:${String(status['Position'])}`;
    for (const v of ['l1', 'l2']) await primary.query(`INSERT INTO shop.t (v) VALUES ('${v}')`);
    await primary.flushBinaryLogs();
    for (const v of ['l3', 'l4']) await primary.query(`INSERT INTO shop.t (v) VALUES ('${v}')`);
    files = (await primary.binlogFiles()).map((f) => f.split('/').pop()!);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([primary?.stop(), dr?.stop()]);
  });

  it('refuses a --start-file or --start-gtid that would skip lost transactions, and a --from before the start', async () => {
    const source = ['--source', primary.url, '--target', dr.url, '--from-gtid', cut];
    const skipped = await caught(cli('plan', [...source, '--start-file', files[1]!]));
    expect(skipped.code).toBe('INPUT_LEADING_GAP');
    expect(exitCodeFor(skipped)).toBe(2);
    const seq = Number(cut.split('-')[2]);
    expect(skipped.message).toBe(
      `--start-file starts the read in mysql://root@127.0.0.1:${primary.port}'s binlog ${files[1]}, which opens after 0-1-${seq + 2} (its GTID list), which the DR never received and no run applied: the lost transactions before it would not be read. Start at an earlier binlog (or leave out --start-file); if those transactions reached the DR some other way, say where the lost range starts with --from-gtid`,
    );
    const byGtid = await caught(cli('apply', [...source, '--start-gtid', `0-1-${seq + 2}`, '--follow']));
    expect(byGtid.code).toBe('INPUT_LEADING_GAP');
    expect(byGtid.message).toMatch(/^--start-gtid starts the read in /);
    const [file, pos] = firstLost.split(':');
    const fromBefore = await caught(cli('plan', ['--source', primary.url, '--target', dr.url, '--from', firstLost, '--start-file', file!, '--start-position', String(Number(pos) + 1)]));
    expect(fromBefore.code).toBe('INPUT_FROM_OUTSIDE');
    expect(fromBefore.message).toBe(`--from ${firstLost} is before where --start-file starts the read, ${file}:${Number(pos) + 1}: the transactions between are lost and would not be read. Start at or before ${firstLost}, or leave out --start-file`);
    // Nothing was written: the runs stopped before the state schema was made.
    expect(await one(dr, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'salvage'")).toBe('0');
    // The start where the lost range begins is taken.
    const report = await salvage({ mode: 'plan', source: { target: primary.target, start: { file: file!, position: Number(pos) } }, target: dr.target, start: { kind: 'from-gtid', set: cut } });
    expect(report.lost.transactions).toBe(4);
  });

  it('refuses a --start-position past the end of the binlog, also the server\'s last', async () => {
    const last = files[files.length - 1]!;
    const size = Number((await primary.query<RowDataPacket[]>('SHOW MASTER STATUS'))[0]!['Position']);
    // Nothing lost before the last file: only the position is wrong.
    const now = await one(primary, 'SELECT @@gtid_binlog_pos');
    const e = await caught(cli('plan', ['--source', primary.url, '--target', dr.url, '--from-gtid', now, '--start-file', last, '--start-position', String(size + 1000)]));
    expect(e.code).toBe('LIVE_BAD_START');
    expect(exitCodeFor(e)).toBe(2);
    expect(e.message).toBe(`cannot start reading mysql://root@127.0.0.1:${primary.port} at ${last}:${size + 1000}: the file is ${size} bytes long; give a position where a transaction starts (inspect prints it as "pos")`);
  });

  it('names the privilege an account lacks, at once, without retrying', async () => {
    const url = (user: string): string => `mysql://${user}@127.0.0.1:${primary.port}`;
    const noMonitor = await caught(cli('plan', ['--source', url('monitorless'), '--source-password-env', 'PW', '--target', dr.url, '--from-gtid', cut]));
    expect(noMonitor.code).toBe('LIVE_ACCESS_DENIED');
    expect(exitCodeFor(noMonitor)).toBe(2);
    expect(noMonitor.message).toMatch(/^mysql:\/\/monitorless:\*\*\*@127\.0\.0\.1:\d+ refused SHOW MASTER STATUS: Access denied; you need \(at least one of\) the SUPER, BINLOG MONITOR privilege\(s\) for this operation\. The account that reads a live source needs REPLICATION SLAVE/);
    const t0 = Date.now();
    const noDump = await caught(cli('apply', ['--source', url('dumpless'), '--source-password-env', 'PW', '--target', dr.url, '--from-gtid', cut, '--follow']));
    expect(noDump.code).toBe('LIVE_ACCESS_DENIED');
    expect(noDump.retryable).toBe(false);
    expect(noDump.message).toMatch(/^mysql:\/\/dumpless:\*\*\*@127\.0\.0\.1:\d+ refused the binlog dump: Access denied; you need \(at least one of\) the REPLICATION SLAVE privilege\(s\) for this operation\. /);
    // Not retried as a lost connection (ten attempts, 0.5 s doubling to 10 s).
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('applies while the primary keeps writing more often than the idle close', async () => {
    const abort = new AbortController();
    let position = '';
    const following = salvage({ mode: 'apply', source: { target: primary.target, follow: true, idleMs: 1000 }, target: dr.target, start: { kind: 'from-gtid', set: cut }, signal: abort.signal, onProgress: (p) => (position = p.position) });
    let failed: unknown = null;
    following.catch((e: unknown) => (failed = e));
    // A write every 100 ms, until the DR shows the first lost row (or 60 writes: 6 s).
    let written = 0;
    let seenAfter: number | null = null;
    while (written < 60) {
      if (failed !== null) throw failed;
      await primary.query(`INSERT INTO shop.t (v) VALUES ('f${written}')`);
      written++;
      if ((await one(dr, "SELECT COUNT(*) FROM shop.t WHERE v LIKE 'f%'")) !== '0') {
        seenAfter = written;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    // Within the first window's second (plus its commit), not once the writes stopped.
    expect(seenAfter).not.toBeNull();
    expect(seenAfter!).toBeLessThan(40);
    const status = (await primary.query<RowDataPacket[]>('SHOW MASTER STATUS'))[0]!;
    const end = `${String(status['File'])}:${String(status['Position'])}`;
    for (let i = 0; position !== end && i < 400; i++) {
      if (failed !== null) throw failed;
      await new Promise((r) => setTimeout(r, 25));
    }
    abort.abort();
    const report = await following;
    expect(report.committedThrough).toBe(end);
    // Every lost row once: l1…l4, then f0…f(n-1).
    const rows = await dr.query<RowDataPacket[]>('SELECT id, v FROM shop.t ORDER BY id');
    expect(rows.map((r) => String(r['v']))).toEqual(['a', 'b', 'l1', 'l2', 'l3', 'l4', ...Array.from({ length: written }, (_, i) => `f${i}`)]);
    expect(report.lost.transactions).toBe(4 + written);
  }, 60_000);

  it('names a source reached over a Unix socket by its socket, not by the default port every socket URL has', async () => {
    const out = new Capture();
    const code = await runSalvageCommand('plan', ['--source', `mysql://root@localhost?socket=${primary.socketPath}`, '--target', dr.url, '--from-gtid', cut, '--json', '--quiet'], out, new Capture(), env);
    expect(code).toBe(0);
    const report = JSON.parse(out.text) as { sourceId: string; source: unknown };
    expect(report.sourceId).toBe(`live:localhost:${primary.socketPath}`);
    expect(report.source).toMatchObject({ kind: 'live', server: `mysql://root@localhost?socket=${primary.socketPath}` });
  });

  it('reopens a connection the network dropped without a word (no heartbeat for three periods), nothing lost or doubled', async () => {
    const proxy = await startFreezeProxy(primary.port);
    try {
      const target = { ...primary.target, port: proxy.port, redacted: `mysql://root@127.0.0.1:${proxy.port}` };
      const from = await one(primary, 'SELECT @@gtid_binlog_pos');
      const abort = new AbortController();
      let position = '';
      const following = salvage({
        mode: 'apply',
        source: { target, follow: true, idleMs: 100, heartbeatMs: 200, reconnect: { attempts: 5, initialDelayMs: 50, maxDelayMs: 200 } },
        target: dr.target,
        start: { kind: 'from-gtid', set: from },
        signal: abort.signal,
        onProgress: (p) => (position = p.position),
      });
      let failed: unknown = null;
      following.catch((e: unknown) => (failed = e));
      const masterEnd = async (): Promise<string> => {
        const st = (await primary.query<RowDataPacket[]>('SHOW MASTER STATUS'))[0]!;
        return `${String(st['File'])}:${String(st['Position'])}`;
      };
      const until = async (what: string, ok: () => Promise<boolean>): Promise<void> => {
        for (let i = 0; !(await ok()); i++) {
          if (failed !== null) throw failed;
          if (i > 600) throw new Error(`timed out waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      };
      await primary.query("INSERT INTO shop.t (v) VALUES ('hb0')");
      const first = await masterEnd();
      await until('the first write on the DR', async () => position === first);
      // The network drops every connection the follow has, silently; the server sees nothing.
      proxy.freeze();
      await primary.query("INSERT INTO shop.t (v) VALUES ('hb1')");
      const second = await masterEnd();
      await until('the write after the drop on the DR', async () => position === second);
      abort.abort();
      const report = await following;
      expect(report.source).toMatchObject({ kind: 'live', follow: true, reconnects: 1 });
      expect(report.lost.transactions).toBe(2);
      expect((await dr.query<RowDataPacket[]>("SELECT v FROM shop.t WHERE v IN ('hb0', 'hb1') ORDER BY id")).map((r) => String(r['v']))).toEqual(['hb0', 'hb1']);
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it('refuses a follow over a server that purged lost transactions, before anything is applied', async () => {
    await primary.flushBinaryLogs();
    const names = (await primary.query<RowDataPacket[]>('SHOW BINARY LOGS')).map((r) => String(r['Log_name']));
    await primary.query(`PURGE BINARY LOGS TO '${names[names.length - 1]!}'`);
    const left = (await primary.query<RowDataPacket[]>('SHOW BINARY LOGS')).map((r) => String(r['Log_name']));
    expect(left).not.toContain(files[0]);
    const e = await caught(cli('apply', ['--source', primary.url, '--target', dr.url, '--from-gtid', cut, '--follow', '--state-schema', 'purged_state']));
    expect(e.code).toBe('INPUT_LEADING_GAP');
    expect(e.message).toMatch(new RegExp(`^mysql://root@127\\.0\\.0\\.1:${primary.port}'s oldest binlog, ${left[0]!.replace('.', '\\.')}, opens after 0-1-\\d+ \\(its GTID list\\), which the DR never received and no run applied: lost transactions were in binlogs the server purged`));
    expect(await one(dr, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'purged_state'")).toBe('0');
  });
});

describe('live source over binlogs of both checksum settings', () => {
  let db: MariadbServer;
  let files: string[];

  async function inspectJson(...args: string[]): Promise<string[]> {
    const stdout = new Capture();
    const code = await runInspect(['--json', ...args], stdout, new Capture(), {});
    expect(code).toBe(0);
    return stdout.text
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const tx = JSON.parse(l) as { file: string };
        return JSON.stringify({ ...tx, file: basename(tx.file) });
      });
  }

  beforeAll(async () => {
    db = await startMariadb({ name: 'live-review-checksums', checksum: 'CRC32' });
    for (const sql of SCHEMA) await db.query(sql);
    // Each change of the setting rotates the binlog: CRC32, NONE, CRC32, NONE.
    for (const [i, setting] of ['NONE', 'CRC32', 'NONE'].entries()) {
      await db.query(`INSERT INTO shop.t (v) VALUES ('before-${setting}-${i}'), ('x${i}')`);
      await db.query(`SET GLOBAL binlog_checksum = ${setting}`);
    }
    await db.query("UPDATE shop.t SET v = CONCAT(v, '!') WHERE id % 2 = 0");
    files = await db.binlogFiles();
  }, 120_000);

  afterAll(async () => {
    await db?.stop();
  });

  it('reads every file as the file reader does, the server at NONE or at CRC32', async () => {
    expect(files.length).toBe(4);
    const expected = await inspectJson(...files);
    expect(expected.length).toBe(7);
    expect(await inspectJson('--source', db.url)).toEqual(expected);
    for (const [i, f] of files.entries()) {
      const from = expected.filter((l) => (JSON.parse(l) as { file: string }).file >= basename(f));
      expect({ i, lines: await inspectJson('--source', db.url, '--start-file', basename(f)) }).toEqual({ i, lines: from });
    }
    await db.query('SET GLOBAL binlog_checksum = CRC32');
    const more = await inspectJson(...(await db.binlogFiles()));
    expect(more).toEqual(expected);
    expect(await inspectJson('--source', db.url)).toEqual(expected);
  });
});
