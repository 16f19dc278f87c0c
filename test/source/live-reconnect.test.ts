/**
 * A live source's connection lost after `inspect --source` started (docs/RELIABILITY.md §7 item
 * 3): a proxy (test/harness/tcp-proxy.ts) cuts the binlog dump mid-stream after a set number of
 * bytes; the read is reopened, one warning line said, and resumed right after the last
 * transaction handed over — the output is the uninterrupted one, nothing printed twice, nothing
 * skipped; a connection lost while --start-gtid looks up its start file is reopened and the lookup
 * made again. Without reconnect attempts it stops with LIVE_CONNECTION_LOST.
 *
 * The library's readLiveTransactions without a control session of the caller's does the same: the
 * dump cut mid-read is reopened, told to onReconnect, and resumed, reading and following alike.
 *
 * And the first connection of the library's readLiveTransactions without a control session, and
 * of `config init --target`, is tried again while the server does not answer (it is SIGKILLed,
 * and started again on the same port once the first attempt is told), as every other command's.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runConfigInit } from '../../src/cli/config-command.js';
import { runInspect } from '../../src/cli/inspect-command.js';
import type { ReconnectNotice } from '../../src/db/first-connection.js';
import { parseConnectionUrl } from '../../src/db/connection-url.js';
import { EngineError } from '../../src/errors.js';
import { readLiveTransactions } from '../../src/index.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { startTcpProxy, type TcpProxy } from '../harness/tcp-proxy.js';

/** Transactions the source holds beyond its schema: enough that a cut at CUT bytes falls mid-read. */
const TRANSACTIONS = 300;
const CUT = 40_000;

let source: MariadbServer;
let proxy: TcpProxy;
let proxyUrl: string;
/** The uninterrupted `inspect --source --json` output. */
let reference: string;

async function rejection(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected the command to fail');
}

/** stderr that calls `onFirst` once, at the first write. */
class Watched extends Capture {
  readonly #onFirst: () => void;
  #told = false;
  constructor(onFirst: () => void) {
    super();
    this.#onFirst = onFirst;
  }
  override _write(chunk: Buffer | string, enc: BufferEncoding, done: (err?: Error | null) => void): void {
    super._write(chunk, enc, done);
    if (!this.#told) {
      this.#told = true;
      this.#onFirst();
    }
  }
}

/** Runs `command` with the source SIGKILLed first, started again when `restartNow` is first called. */
async function withServerDown<T>(command: (restartNow: () => void) => Promise<T>): Promise<T> {
  await source.kill();
  let restarting: Promise<void> | null = null;
  try {
    return await command(() => {
      restarting ??= source.restart();
    });
  } finally {
    await (restarting ?? source.restart());
  }
}

beforeAll(async () => {
  source = await startMariadb({ name: 'live-reconnect-source' });
  await source.query('CREATE DATABASE shop');
  await source.query('CREATE TABLE shop.items (id INT UNSIGNED NOT NULL PRIMARY KEY, name VARCHAR(200) NOT NULL) ENGINE=InnoDB');
  for (let i = 1; i <= TRANSACTIONS; i++) await source.query('INSERT INTO shop.items (id, name) VALUES (?, ?)', [i, `item ${i} ${'x'.repeat(100)}`]);
  proxy = await startTcpProxy(source.host, source.port);
  proxyUrl = `mysql://root@127.0.0.1:${proxy.port}`;
  const out = new Capture();
  expect(await runInspect(['--source', source.url, '--json', '--quiet'], out, new Capture(), {})).toBe(0);
  reference = out.text;
  expect(reference.trim().split('\n')).toHaveLength(TRANSACTIONS + 2);
}, 180_000);

afterAll(async () => {
  await proxy?.close();
  await source?.stop();
});

describe('inspect --source: the dump lost mid-read', () => {
  it('is reopened after one warning line and resumed after the last transaction printed: the uninterrupted output', async () => {
    proxy.dropDumpAfter(CUT);
    const out = new Capture();
    const err = new Capture();
    expect(await runInspect(['--source', proxyUrl, '--json'], out, err, {})).toBe(0);
    expect(proxy.dumpDropped).toBe(true);
    expect(out.text).toBe(reference);
    const warnings = err.text.split('\n').filter((l) => l.startsWith('salvage: warning:'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      new RegExp(`^salvage: warning: the source ${proxyUrl.replaceAll('.', '\\.')} failed \\(read\\): lost the replication connection to ${proxyUrl.replaceAll('.', '\\.')}: .*; resume from [^ ]+:\\d+ \\[LIVE_CONNECTION_LOST\\]; trying again in 0\\.5 s \\(reconnect attempt 1 of 10\\)$`),
    );
    // The cut fell mid-read: some transactions were printed before it, some after.
    const resumedAt = Number(/resume from [^ ]+:(\d+) /.exec(warnings[0]!)![1]);
    const positions = reference.trim().split('\n').map((l) => (JSON.parse(l) as { pos: number }).pos);
    expect(positions.filter((p) => p < resumedAt).length).toBeGreaterThan(2);
    expect(positions.filter((p) => p >= resumedAt).length).toBeGreaterThan(2);
  });

  it('--start-gtid: its start file looked up again after a connection lost during the lookup, then the same output', async () => {
    const want = new Capture();
    expect(await runInspect(['--source', source.url, '--start-gtid', '0-1-100', '--json', '--quiet'], want, new Capture(), {})).toBe(0);
    expect(want.text.trim().split('\n')).toHaveLength(TRANSACTIONS + 2 - 100);
    proxy.dropOn((sql) => sql === 'SHOW BINARY LOGS');
    const out = new Capture();
    const err = new Capture();
    expect(await runInspect(['--source', proxyUrl, '--start-gtid', '0-1-100', '--json'], out, err, {})).toBe(0);
    expect(proxy.dropped).toBe('SHOW BINARY LOGS');
    expect(out.text).toBe(want.text);
    expect(err.text.split('\n').filter((l) => l.startsWith('salvage: warning:'))).toEqual([
      `salvage: warning: the source ${proxyUrl} failed (read): ${proxyUrl}: Connection lost: The server closed the connection. (in: SHOW BINARY LOGS) [DB_QUERY]; trying again in 0.5 s (reconnect attempt 1 of 10)`,
    ]);
  });

  it('with --reconnect-attempts 0: LIVE_CONNECTION_LOST, saying it did not reconnect', async () => {
    proxy.dropDumpAfter(CUT);
    const e = await rejection(runInspect(['--source', proxyUrl, '--json', '--reconnect-attempts', '0'], new Capture(), new Capture(), {}));
    expect([e.code, e.retryable]).toEqual(['LIVE_CONNECTION_LOST', true]);
    expect(e.message).toMatch(/; resume from [^ ]+:\d+; not reconnecting \(reconnect attempts: 0\)$/);
  });
});

describe('a first connection made while the server does not answer yet', () => {
  it('readLiveTransactions without a control session: waits, each attempt told, then reads what it reads with the server up', async () => {
    const want: string[] = [];
    for await (const batch of readLiveTransactions(source.target)) for (const item of batch.items) if (item.kind === 'transaction') want.push(`${item.tx.file}:${item.tx.pos}`);
    expect(want).toHaveLength(TRANSACTIONS + 2);
    const notices: ReconnectNotice[] = [];
    const got = await withServerDown(async (restartNow) => {
      const seen: string[] = [];
      const reads = readLiveTransactions(source.target, {
        reconnect: { initialDelayMs: 100 },
        onReconnect: (n) => {
          notices.push(n);
          restartNow();
        },
      });
      for await (const batch of reads) for (const item of batch.items) if (item.kind === 'transaction') seen.push(`${item.tx.file}:${item.tx.pos}`);
      return seen;
    });
    expect(got).toEqual(want);
    expect(notices.length).toBeGreaterThanOrEqual(1);
    expect([notices[0]!.server, notices[0]!.step, notices[0]!.attempt, notices[0]!.code]).toEqual(['source', 'connect', 1, 'DB_CONNECT']);
  });

  it('config init --target: waits for the DR, each attempt a warning line, then writes the file it writes with the DR up', async () => {
    const env = { env: {}, home: undefined };
    const want = new Capture();
    expect(await runConfigInit(['--target', source.url, '--schemas', 'shop'], want, new Capture(), env)).toBe(0);
    const out = new Capture();
    let stderr: Watched | null = null;
    const code = await withServerDown(async (restartNow) => {
      stderr = new Watched(restartNow);
      return runConfigInit(['--target', source.url, '--schemas', 'shop'], out, stderr as Writable, env);
    });
    expect(code).toBe(0);
    expect(out.text).toBe(want.text);
    const lines = (stderr as unknown as Capture).text.split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines[0]).toBe(`salvage: warning: the DR ${source.url} failed (connect): cannot connect to ${source.url}: connect ECONNREFUSED 127.0.0.1:${source.port} [DB_CONNECT]; trying again in 0.5 s (reconnect attempt 1 of 10)`);
  });
});

// Last: its follow test writes a transaction to the source (the counts above are of the source as set up).
/** `file:pos` of every transaction the batches hand over. */
async function positions(batches: AsyncIterable<{ readonly items: readonly ({ readonly kind: 'transaction'; readonly tx: { readonly file: string; readonly pos: number } } | { readonly kind: string })[] }>): Promise<string[]> {
  const seen: string[] = [];
  for await (const batch of batches) for (const item of batch.items) if (item.kind === 'transaction' && 'tx' in item) seen.push(`${item.tx.file}:${item.tx.pos}`);
  return seen;
}

describe('readLiveTransactions without a control session: the dump lost mid-read', () => {
  it('is reopened, told to onReconnect, and resumed after the last transaction handed over: the uninterrupted read', async () => {
    const want = await positions(readLiveTransactions(source.target));
    expect(want).toHaveLength(TRANSACTIONS + 2);
    proxy.dropDumpAfter(CUT);
    const notices: ReconnectNotice[] = [];
    const got = await positions(readLiveTransactions(parseConnectionUrl(proxyUrl, '--source'), { reconnect: { initialDelayMs: 50 }, onReconnect: (n) => notices.push(n) }));
    expect(proxy.dumpDropped).toBe(true);
    expect(got).toEqual(want);
    expect(notices.map((n) => [n.server, n.step, n.attempt, n.code])).toEqual([['source', 'read', 1, 'LIVE_CONNECTION_LOST']]);
  });

  it('with reconnect attempts 0: LIVE_CONNECTION_LOST naming where to start again, nothing retried', async () => {
    proxy.dropDumpAfter(CUT);
    const notices: ReconnectNotice[] = [];
    const e = await rejection(positions(readLiveTransactions(parseConnectionUrl(proxyUrl, '--source'), { reconnect: { attempts: 0 }, onReconnect: (n) => notices.push(n) })));
    expect([e.code, e.retryable]).toEqual(['LIVE_CONNECTION_LOST', true]);
    expect(e.message).toMatch(/; resume from [^ ]+:\d+; not reconnecting \(reconnect attempts: 0\)$/);
    expect(notices).toEqual([]);
  });

  it('following: resumed after the cut, and a transaction written after it arrives once', async () => {
    const want = await positions(readLiveTransactions(source.target));
    proxy.dropDumpAfter(CUT);
    const stop = new AbortController();
    const notices: ReconnectNotice[] = [];
    const seen: string[] = [];
    const names: string[] = [];
    let wrote = false;
    const reads = readLiveTransactions(parseConnectionUrl(proxyUrl, '--source'), { follow: true, signal: stop.signal, heartbeatMs: 1000, reconnect: { initialDelayMs: 50 }, onReconnect: (n) => notices.push(n) });
    const e = await rejection(
      (async () => {
        for await (const batch of reads) {
          for (const item of batch.items) {
            if (item.kind !== 'transaction') continue;
            seen.push(`${item.tx.file}:${item.tx.pos}`);
            for (const c of item.tx.changes) if (c.after !== null) names.push(String(c.after[1]));
            if (seen.length === want.length + 1) stop.abort();
          }
          if (!wrote && seen.length === want.length) {
            wrote = true;
            await source.query('INSERT INTO shop.items (id, name) VALUES (?, ?)', [TRANSACTIONS + 1, 'written while following']);
          }
        }
      })(),
    );
    expect(e.code).toBe('LIVE_ABORTED');
    expect(proxy.dumpDropped).toBe(true);
    expect(seen.slice(0, want.length)).toEqual(want);
    expect(seen).toHaveLength(want.length + 1);
    expect(names[names.length - 1]).toBe('written while following');
    expect(notices.map((n) => [n.server, n.step, n.code])).toEqual([['source', 'read', 'LIVE_CONNECTION_LOST']]);
    await source.query('DELETE FROM shop.items WHERE id = ?', [TRANSACTIONS + 1]);
  });
});
