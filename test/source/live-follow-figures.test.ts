/**
 * What a follow reports of itself (review of 2026-11-28, docs/RELIABILITY.md section 7 item 23):
 * - `apply --follow --progress json` over a primary that writes nothing emitted no event until the
 *   done one, and that without figures (`{"event":"done","ok":true,"command":"apply"}`): a wrapper
 *   could not tell a live follow from a hung one. Now the figures come every 5 s while following
 *   (zeros, `following: true`), and the done event carries them;
 * - the report's start line counted the lost transactions read, also those read ahead of the last
 *   committed window and never applied when the run stopped ("lost: 5" beside one applied). Now it
 *   counts the committed windows' transactions, the ones read after them apart, as `lost` does.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSalvageCommand } from '../../src/cli/salvage-command.js';
import { salvage } from '../../src/pipeline/salvage.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const SCHEMA = ['CREATE DATABASE shop', 'CREATE TABLE shop.t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40) NOT NULL) ENGINE=InnoDB', "INSERT INTO shop.t (v) VALUES ('a'), ('b')"];

async function one(server: MariadbServer, sql: string): Promise<string> {
  const r = (await server.query<RowDataPacket[]>(sql))[0]!;
  return String(Object.values(r)[0]);
}

describe('live follow: progress while idle, and the start line of a stopped follow', () => {
  let primary: MariadbServer;
  let dr: MariadbServer;

  beforeAll(async () => {
    [primary, dr] = await Promise.all([startMariadb({ name: 'live-figures-primary', serverId: 1 }), startMariadb({ name: 'live-figures-dr', serverId: 2 })]);
    for (const server of [primary, dr]) for (const sql of SCHEMA) await server.query(sql);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([primary?.stop(), dr?.stop()]);
  });

  it('apply --follow --progress json that meets no write: zero figures every 5 s, following, and in the done event', async () => {
    const cut = await one(primary, 'SELECT @@gtid_binlog_pos');
    const abort = new AbortController();
    const out = new Capture();
    const err = new Capture();
    const running = runSalvageCommand('apply', ['--source', primary.url, '--follow', '--target', dr.url, '--from-gtid', cut, '--progress', 'json'], out, err, {
      env: {},
      home: undefined,
      isTty: false,
      signal: abort.signal,
    });
    let failed: unknown = null;
    running.catch((e: unknown) => (failed = e));
    const t0 = Date.now();
    while (!err.text.includes('"event":"progress"')) {
      if (failed !== null) throw failed;
      if (Date.now() - t0 > 15_000) throw new Error(`no progress event within 15 s: ${err.text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The first comes with the first period, not before: nothing else makes figures on an idle follow.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(4500);
    abort.abort();
    expect(await running).toBe(0);
    const events = err.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const zeros = {
      command: 'apply',
      transactionsDone: 0,
      transactionsTotal: null,
      rowChangesDone: 0,
      rowChangesTotal: null,
      rowsPerSecond: 0,
      etaSeconds: null,
      position: '',
      outcomes: { applied: 0, merged: 0, remapped: 0, skipped: 0, quarantined: 0 },
      elapsedMs: expect.any(Number) as number,
      following: true,
    };
    expect(events.length).toBeGreaterThanOrEqual(2);
    for (const e of events.slice(0, -1)) expect(e).toEqual({ event: 'progress', ...zeros });
    expect(events[events.length - 1]).toEqual({ event: 'done', ok: true, ...zeros });
    expect(out.text.split('\n')).toContain('lost: 0 transaction(s), 0 row change(s)');
  }, 60_000);

  it('a follow stopped after its first window: the start line counts what the committed windows hold, as lost and the outcomes do', async () => {
    const cut = await one(primary, 'SELECT @@gtid_binlog_pos');
    for (const v of ['s1', 's2', 's3', 's4', 's5']) await primary.query(`INSERT INTO shop.t (v) VALUES ('${v}')`);
    const [domain, server, seq] = cut.split('-');
    const first = `${domain}-${server}-${Number(seq) + 1}`;
    const abort = new AbortController();
    const report = await salvage({
      mode: 'apply',
      source: { target: primary.target, follow: true, idleMs: 100 },
      target: dr.target,
      start: { kind: 'from-gtid', set: cut },
      windowTransactions: 1,
      signal: abort.signal,
      // After the first window commits, the next is already read (it is decoded while one is applied).
      onProgress: (p) => p.transactionsDone >= 1 && abort.abort(),
    });
    expect(report.stoppedOnRequest).toBe(true);
    expect(report.lost.transactions).toBe(1);
    expect(report.outcomes).toEqual({ applied: 1, merged: 0, remapped: 0, skipped: 0, quarantined: 0 });
    expect(report.start.lostSet).toBe(first);
    expect(report.start.rule).toMatch(
      new RegExp(`^start after --from-gtid ${cut}.*; lost, following: 1 transaction\\(s\\) ${first} in committed windows(; [1-4] more read after the last one and not applied \\(the next run reads them again\\))?$`),
    );
    expect(report.start.rule).not.toContain('lost: ');
  }, 60_000);
});
