/**
 * The live source against the file reader: for the same throwaway MariaDB primary,
 * `inspect --source URL` prints exactly what `inspect FILES` prints for its binlog files (every
 * column type of the decoder's suite, several files, DDL, a multi-statement transaction, events
 * larger than a socket read; with CRC32, and with no checksums and compressed events), in JSON,
 * human text and stats; plus a mid-file start, a paused socket, an encrypted binlog only the
 * server can read, the errors a DBA meets, following and stopping, the stream-to-file mapping on
 * a fixture (holes, artificial events), and the byte-bounded queue on its own.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32 } from '../../src/binlog/crc32.js';
import { EventType } from '../../src/binlog/event-types.js';
import { transactionToJson } from '../../src/binlog/transaction-json.js';
import type { TransactionItem } from '../../src/binlog/transaction.js';
import { runInspect } from '../../src/cli/inspect-command.js';
import { openSession, type SqlSession } from '../../src/db/sql-session.js';
import { readTransactions } from '../../src/source/read-transactions.js';
import { ByteQueue, LiveSourceError, LiveSourceErrorCode, LiveStreamReader, readLiveTransactions } from '../../src/source/live-source.js';
import { EVERY_TYPE_ROWS, everyTypeTable } from '../harness/every-type-table.js';
import { startMariadb, type MariadbOptions, type MariadbServer } from '../harness/mariadb-server.js';
import { Capture } from '../harness/capture.js';

const FIXTURE = join(import.meta.dirname, '../../../shared/fixtures/real-binlogs/local-mariadb-10.11/failover/primary/primary-bin.000001');

async function inspect(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await runInspect(args, stdout, stderr, {});
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** JSONL with each transaction's `file` reduced to the server's name (the file reader prints the path given). */
function byName(jsonl: string): string[] {
  return jsonl
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const tx = JSON.parse(l) as { file: string };
      return JSON.stringify({ ...tx, file: basename(tx.file) });
    });
}

async function caught(p: Promise<unknown>): Promise<LiveSourceError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof LiveSourceError) return e;
    throw e;
  }
  throw new Error('expected a LiveSourceError');
}

/** Every column type, over three files: inserts, updates, a mixed transaction, DDL, big rows, many rows. */
async function workload(db: MariadbServer): Promise<void> {
  await db.query('CREATE DATABASE lv');
  await db.query(everyTypeTable('lv'));
  for (const row of EVERY_TYPE_ROWS) await db.query(`INSERT INTO lv.every_type VALUES ${row}`);
  await db.flushBinaryLogs();
  await db.query("UPDATE lv.every_type SET i_s = i_s + 1, vc = CONCAT(vc, '!'), j = JSON_SET(COALESCE(j, '{}'), '$.k', 1) WHERE id IN (1, 3, 4)");
  await db.query(
    "START TRANSACTION; DELETE FROM lv.every_type WHERE id = 5; INSERT INTO lv.every_type (id, dec65, dtm, e) VALUES (6, '1.5', '2024-01-01 00:00:00.25', 'medium'); UPDATE lv.every_type SET st = 'a,b' WHERE id = 2; COMMIT",
  );
  await db.query('CREATE TABLE lv.big (id INT PRIMARY KEY, b LONGBLOB, t MEDIUMTEXT)');
  // Rows far larger than a socket read (64 KiB), so events arrive split across chunks.
  for (let i = 1; i <= 3; i++) await db.query('INSERT INTO lv.big VALUES (?, ?, ?)', [i, Buffer.alloc(300_000 + i, i), 'é'.repeat(100_000 * i)]);
  await db.flushBinaryLogs();
  await db.query('ALTER TABLE lv.every_type ADD COLUMN extra INT NULL');
  await db.query('CREATE TABLE lv.many (id INT PRIMARY KEY, v VARCHAR(20))');
  await db.query(`INSERT INTO lv.many VALUES ${Array.from({ length: 3000 }, (_, i) => `(${i}, 'v${i}')`).join(',')}`);
  await db.query("UPDATE lv.many SET v = CONCAT(v, '+') WHERE id % 7 = 0");
  await db.query('DELETE FROM lv.big WHERE id = 2');
}

function differential(name: string, options: MariadbOptions): void {
  describe(`inspect --source equals inspect FILES (${name})`, () => {
    let db: MariadbServer;
    let files: string[];
    beforeAll(async () => {
      db = await startMariadb({ name: `live-${name}`, ...options });
      await workload(db);
      files = await db.binlogFiles();
    });
    afterAll(async () => {
      await db?.stop();
    });

    it('prints identical transactions as JSON over every file', async () => {
      expect(files.length).toBeGreaterThanOrEqual(3);
      const fromFiles = await inspect('--json', ...files);
      const live = await inspect('--json', '--source', db.url);
      expect(live.code).toBe(0);
      expect(live.stderr).toBe(fromFiles.stderr);
      const expected = byName(fromFiles.stdout);
      expect(expected.length).toBeGreaterThanOrEqual(15);
      expect(byName(live.stdout)).toEqual(expected);
      // The live output names the server's files, exactly as they are called on disk.
      expect(new Set(byName(live.stdout).map((l) => (JSON.parse(l) as { file: string }).file))).toEqual(new Set(files.map((f) => basename(f))));
    });

    it('prints identical human text and stats', async () => {
      const dir = `${db.dataDir}/`;
      const human = await inspect('--source', db.url);
      expect(human.code).toBe(0);
      expect(human.stdout).toBe((await inspect(...files)).stdout.split(dir).join(''));
      const stats = await inspect('--stats', '--source', db.url);
      expect(stats.stdout).toBe((await inspect('--stats', '--threads', '1', ...files)).stdout);
      expect(stats.stdout).toMatch(/^lv\.many\s+3000\s+429\s+0\s+2$/m);
    });

    it('starts at a transaction in the middle of a file', async () => {
      const all = byName((await inspect('--json', ...files)).stdout).map((l) => JSON.parse(l) as { file: string; pos: number; gtid: string });
      const second = basename(files[1]!);
      const first = all.filter((t) => t.file === second)[1]!;
      const from = all.indexOf(first);
      const live = await inspect('--json', '--source', db.url, '--start-file', second, '--start-position', String(first.pos));
      expect(byName(live.stdout)).toEqual(all.slice(from).map((t) => JSON.stringify(t)));
    });

    it('loses nothing when the socket is paused after every event, with or without the statement texts', async () => {
      const expected: string[] = [];
      for await (const batch of readTransactions(files)) {
        for (const item of batch.items) if (item.kind === 'transaction') expected.push(JSON.stringify([transactionToJson({ ...item.tx, file: basename(item.tx.file) }), item.tx.annotations]));
      }
      const control = await openSession(db.target);
      try {
        for (const annotations of [false, true]) {
          const got: string[] = [];
          let batches = 0;
          for await (const batch of readLiveTransactions(db.target, { control, maxQueuedBytes: 1, annotations })) {
            batches++;
            for (const item of batch.items) if (item.kind === 'transaction') got.push(JSON.stringify([transactionToJson(item.tx), item.tx.annotations]));
          }
          expect(batches).toBeGreaterThan(1);
          // Without them, MariaDB leaves the ANNOTATE_ROWS events out: the same transactions, no texts.
          expect(got).toEqual(annotations ? expected : expected.map((l) => JSON.stringify([JSON.parse(l)[0], []])));
        }
        expect(expected.some((l) => (JSON.parse(l) as [string, string[]])[1].length > 0)).toBe(options.annotateRows !== false);
      } finally {
        await control.end();
      }
    });
  });
}

differential('crc32', {});
differential('no-checksum-compressed', { checksum: 'NONE', compressBinlog: true, annotateRows: false });

describe('an encrypted binlog, which only the server can read', () => {
  let encrypted: MariadbServer;
  let plain: MariadbServer;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'live-keys-'));
    const keys = join(dir, 'keys.txt');
    writeFileSync(keys, `1;${'a1'.repeat(32)}\n`);
    encrypted = await startMariadb({
      name: 'live-encrypted',
      extraArgs: ['--plugin-load-add=file_key_management', `--file-key-management-filename=${keys}`, '--encrypt-binlog=ON'],
    });
    plain = await startMariadb({ name: 'live-plain' });
    await Promise.all([workload(encrypted), workload(plain)]);
  });
  afterAll(async () => {
    await encrypted?.stop();
    await plain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('decodes through the server what the files refuse, the same changes as an unencrypted twin', async () => {
    const files = await encrypted.binlogFiles();
    await expect(inspect('--json', ...files)).rejects.toMatchObject({ code: 'BINLOG_ENCRYPTED' });
    const live = await inspect('--json', '--source', encrypted.url);
    expect(live.code).toBe(0);
    const content = (jsonl: string): unknown[] =>
      jsonl
        .trim()
        .split('\n')
        .map((l) => {
          const { gtid, changes, statements } = JSON.parse(l) as Record<string, unknown>;
          return { gtid, changes, statements };
        });
    const twin = content((await inspect('--json', ...(await plain.binlogFiles()))).stdout);
    expect(twin.length).toBeGreaterThanOrEqual(15);
    expect(content(live.stdout)).toEqual(twin);
  });
});

describe('live source: errors, following, stopping', () => {
  let db: MariadbServer;
  let control: SqlSession;
  beforeAll(async () => {
    db = await startMariadb({ name: 'live-errors' });
    await db.query('CREATE DATABASE f');
    await db.query('CREATE TABLE f.t (id INT PRIMARY KEY, v VARCHAR(10))');
    await db.query("INSERT INTO f.t VALUES (1, 'a')");
    control = await openSession(db.target);
  });
  afterAll(async () => {
    await control?.end();
    await db?.stop();
  });

  /** Dump threads left on the server, once a KILLed one has had time to exit (up to 5 s). */
  async function dumpThreads(): Promise<number> {
    let count = 0;
    for (let i = 0; i < 50; i++) {
      const rows = await db.query('SHOW PROCESSLIST');
      count = rows.filter((r) => r['Command'] === 'Binlog Dump').length;
      if (count === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return count;
  }

  it('names the oldest binlog the server still has for a purged start file', async () => {
    const e = await caught(readLiveTransactions(db.target, { control, start: { file: 'mysql-bin.000000' } }).next());
    expect(e.code).toBe(LiveSourceErrorCode.StartPurged);
    expect(e.details).toMatchObject({ file: 'mysql-bin.000000', firstAvailable: 'mysql-bin.000001' });
    expect(e.message).toContain('has no binlog mysql-bin.000000: it has mysql-bin.000001');
  });

  it('refuses a start position that is not an event boundary, naming it', async () => {
    const e = await caught(inspect('--json', '--source', db.url, '--start-position', '5'));
    expect(e.code).toBe(LiveSourceErrorCode.BadStart);
    expect(e.details).toMatchObject({ file: 'mysql-bin.000001', offset: 5, errno: 1236 });
    expect(e.retryable).toBe(false);
  });

  it('refuses a start position inside a transaction: an event boundary after its GTID, or inside an event', async () => {
    // (a) was read as the tail of the transaction, printed as a committed transaction with no GTID;
    // (b) MariaDB answers "log event entry exceeded max_allowed_packet", passed on as a generic fault.
    const path = (await db.binlogFiles())[0]!;
    let tx: { pos: number } | null = null;
    for await (const batch of readTransactions([path])) {
      for (const item of batch.items) if (item.kind === 'transaction' && item.tx.changes.length > 0) tx ??= item.tx;
    }
    const events = eventsOf(readFileSync(path));
    const inner = events[events.findIndex((ev) => ev.offset === tx!.pos) + 1]!.offset;
    for (const at of [inner, inner + 1]) {
      const e = await caught(inspect('--json', '--source', db.url, '--start-file', basename(path), '--start-position', String(at)));
      expect(e.code).toBe(LiveSourceErrorCode.BadStart);
      expect(e.details).toMatchObject({ file: basename(path), offset: at });
      expect(e.message).toContain('give a position where a transaction starts');
    }
    // Inside an event MariaDB blames max_allowed_packet, which no setting cures: the message says what it means first.
    const e = await caught(inspect('--json', '--source', db.url, '--start-file', basename(path), '--start-position', String(inner + 1)));
    expect(e.message).toMatch(new RegExp(`^mysql://root@127\\.0\\.0\\.1:${db.port} refused to start at ${basename(path).replace('.', '\\.')}:${inner + 1}: no event starts there \\(the server read the bytes there as an event too large to send: .*max_allowed_packet`));
  });

  it('reports a server it cannot reach as retryable', async () => {
    const e = await caught(readLiveTransactions({ ...db.target, port: 1, redacted: 'mysql://root@127.0.0.1:1' }, { control, connectTimeoutMs: 2000 }).next());
    expect(e.code).toBe(LiveSourceErrorCode.Connect);
    expect(e.retryable).toBe(true);
  });

  it('follows new transactions, and a consumer that stops ends the dump thread', async () => {
    const seen: string[] = [];
    const source = readLiveTransactions(db.target, { control, follow: true, annotations: true });
    let inserted = false;
    for await (const batch of source) {
      for (const item of batch.items) if (item.kind === 'transaction') seen.push(transactionToJson(item.tx));
      if (!inserted && seen.length > 0) {
        // Written after the read reached the end it had at start: only following delivers it.
        inserted = true;
        await db.query("INSERT INTO f.t VALUES (2, 'followed')");
      }
      if (seen.some((s) => s.includes('followed'))) break;
    }
    expect(seen.filter((s) => s.includes('followed'))).toHaveLength(1);
    expect(await dumpThreads()).toBe(0);
  });

  it('reports a killed dump thread as a lost connection, naming where to resume', async () => {
    const end = (await control.query('SHOW MASTER STATUS')).rows[0]!;
    const source = readLiveTransactions(db.target, { control, follow: true });
    for (;;) {
      const batch = (await source.next()).value!;
      if (batch.file === end['File'] && batch.position >= Number(end['Position'])) break;
    }
    const [dump] = (await control.query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'")).rows;
    await control.query(`KILL ${String(dump!['ID'])}`);
    const e = await caught(source.next());
    expect(e.code).toBe(LiveSourceErrorCode.ConnectionLost);
    expect(e.retryable).toBe(true);
    expect(e.details).toMatchObject({ file: end['File'], offset: Number(end['Position']) });
    expect(e.message).toContain(`resume from ${String(end['File'])}:${String(end['Position'])}`);
    expect(await dumpThreads()).toBe(0);
  });

  it('stops on abort with a typed error', async () => {
    const abort = new AbortController();
    const source = readLiveTransactions(db.target, { control, follow: true, signal: abort.signal });
    await source.next();
    abort.abort();
    const e = await caught((async () => {
      for (;;) if ((await source.next()).done) return;
    })());
    expect(e.code).toBe(LiveSourceErrorCode.Aborted);
    expect(await dumpThreads()).toBe(0);
  });
});

// ---- the stream-to-file mapping, on a fixture: no server ----------------------------------------

/** The events of a binlog file after its magic, with their offsets. */
function eventsOf(file: Buffer): Array<{ offset: number; bytes: Buffer }> {
  const out = [];
  for (let at = 4; at + 19 <= file.length; ) {
    const size = file.readUInt32LE(at + 9);
    if (at + size > file.length) break;
    out.push({ offset: at, bytes: file.subarray(at, at + size) });
    at += size;
  }
  return out;
}

/** An artificial ROTATE to `name`:`position`, as the dump thread sends it (with a CRC32). */
function fakeRotate(name: string, position: number): Buffer {
  const ev = Buffer.alloc(19 + 8 + Buffer.byteLength(name) + 4);
  ev[4] = EventType.ROTATE;
  ev.writeUInt32LE(ev.length, 9);
  ev.writeUInt16LE(0x20, 17);
  ev.writeBigUInt64LE(BigInt(position), 19);
  ev.write(name, 27);
  ev.writeUInt32LE(crc32(ev.subarray(0, ev.length - 4)), ev.length - 4);
  return ev;
}

/** The FDE as sent for a dump that starts past offset 4: log_pos cleared, checksum recomputed. */
function artificialFde(fde: Buffer): Buffer {
  const ev = Buffer.from(fde);
  ev.writeUInt32LE(0, 13);
  ev.writeUInt32LE(crc32(ev.subarray(0, ev.length - 4)), ev.length - 4);
  return ev;
}

function feedAll(reader: LiveStreamReader, stream: Buffer[]): TransactionItem[] {
  const items: TransactionItem[] = [];
  for (const ev of stream) reader.feed(ev, items, null, []);
  reader.finish(items);
  return items;
}

async function fromFile(path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const b of readTransactions([path])) for (const i of b.items) if (i.kind === 'transaction') out.push(transactionToJson({ ...i.tx, file: basename(i.tx.file) }));
  return out;
}

describe('LiveStreamReader', () => {
  const file = readFileSync(FIXTURE);
  const events = eventsOf(file);
  const name = basename(FIXTURE);
  const reader = (): LiveStreamReader => new LiveStreamReader({ decoder: {}, end: null, label: 'test', checksums: () => true });

  it('maps a stream that skipped every ANNOTATE_ROWS onto the file positions', async () => {
    const skipped = events.filter((e) => e.bytes[4] === EventType.ANNOTATE_ROWS);
    expect(skipped.length).toBeGreaterThan(0);
    const stream = [fakeRotate(name, 4), ...events.filter((e) => e.bytes[4] !== EventType.ANNOTATE_ROWS).map((e) => e.bytes)];
    const items = feedAll(reader(), stream);
    expect(items.filter((i) => i.kind === 'transaction').map((i) => transactionToJson(i.tx))).toEqual(await fromFile(FIXTURE));
  });

  it('starts mid-file from the artificial FORMAT_DESCRIPTION, and stops at the end given', async () => {
    const all = await fromFile(FIXTURE);
    const txs = all.map((l) => JSON.parse(l) as { pos: number; end: number });
    const from = txs[2]!.pos;
    const to = txs[5]!.end;
    const stream = [fakeRotate(name, from), artificialFde(events[0]!.bytes), ...events.filter((e) => e.offset >= from).map((e) => e.bytes)];
    const r = new LiveStreamReader({ decoder: {}, end: { file: name, position: to }, label: 'test', checksums: () => true });
    const items = feedAll(r, stream);
    expect(r.done).toBe(true);
    expect(items.map((i) => transactionToJson(i.tx as never))).toEqual(all.slice(2, 6));
  });

  it('stops with LIVE_STREAM_MISMATCH, naming the transaction, when an event does not fit where the file has it', () => {
    const body = events.filter((e) => e.offset > 4).map((e) => e.bytes);
    const gtidAt = body.findIndex((b) => b[4] === EventType.MARIADB_GTID);
    // The GTID event sent twice: the second one's log_pos points backwards.
    const stream = [fakeRotate(name, 4), events[0]!.bytes, ...body.slice(0, gtidAt + 1), body[gtidAt]!];
    const r = reader();
    let error: unknown;
    try {
      feedAll(r, stream);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LiveSourceError);
    const e = error as LiveSourceError;
    expect(e.code).toBe(LiveSourceErrorCode.StreamMismatch);
    expect(e.details.gtid).toMatch(/^\d+-\d+-\d+$/);
    expect(e.message).toContain('read the binlog files instead');
  });
});

// ---- the queue ------------------------------------------------------------------------------------

describe('ByteQueue', () => {
  function flow(): { pause(): void; resume(): void; log: string[] } {
    const log: string[] = [];
    return { log, pause: () => log.push('pause'), resume: () => log.push('resume') };
  }

  it('pauses once at the bound and resumes when the consumer takes the batch', async () => {
    const f = flow();
    const q = new ByteQueue<string>(10, f);
    q.push('a', 4);
    q.push('b', 4);
    expect(f.log).toEqual([]);
    q.push('c', 4);
    q.push('d', 100);
    expect(f.log).toEqual(['pause']);
    expect(q.bytes).toBe(112);
    expect(await q.take()).toEqual(['a', 'b', 'c', 'd']);
    expect(f.log).toEqual(['pause', 'resume']);
    expect(q.bytes).toBe(0);
    expect(q.paused).toBe(false);
  });

  it('delivers every item in order to a slower consumer, the producer pausing as asked', async () => {
    let state = 0x2545f491;
    const rand = (n: number): number => {
      state = (state * 1103515245 + 12345) >>> 0;
      return state % n;
    };
    const total = 5000;
    let next = 0;
    let running = true;
    let maxQueued = 0;
    const q: ByteQueue<number> = new ByteQueue<number>(1000, {
      pause: () => (running = false),
      resume: () => {
        running = true;
        setImmediate(produce);
      },
    });
    function produce(): void {
      // As a socket delivers: a burst of events per read, until paused.
      for (let burst = 1 + rand(20); running && burst > 0 && next < total; burst--) {
        q.push(next++, 1 + rand(300));
        maxQueued = Math.max(maxQueued, q.bytes);
      }
      if (next === total) q.end();
      else if (running) setImmediate(produce);
    }
    produce();
    const got: number[] = [];
    for (let batch = await q.take(); batch !== null; batch = await q.take()) {
      got.push(...batch);
      await new Promise((r) => setTimeout(r, rand(2)));
    }
    expect(got).toEqual(Array.from({ length: total }, (_, i) => i));
    // Bounded: at most the bound plus the one event that crossed it.
    expect(maxQueued).toBeLessThan(1000 + 300);
  });

  it('hands over the items queued before a failure, then throws it, and ignores later pushes', async () => {
    const q = new ByteQueue<string>(100, flow());
    const boom = new Error('boom');
    q.push('a', 1);
    q.push('b', 1);
    q.fail(boom);
    q.push('c', 1);
    q.end();
    expect(await q.take()).toEqual(['a', 'b']);
    await expect(q.take()).rejects.toBe(boom);
    await expect(q.take()).rejects.toBe(boom);
  });

  it('wakes a waiting consumer on push, end and failure', async () => {
    const q = new ByteQueue<string>(100, flow());
    const waiting = q.take();
    q.push('x', 1);
    expect(await waiting).toEqual(['x']);
    const ending = q.take();
    q.end();
    expect(await ending).toBeNull();
    const q2 = new ByteQueue<string>(100, flow());
    const failing = q2.take();
    q2.fail(new Error('lost'));
    await expect(failing).rejects.toThrow('lost');
  });
});
