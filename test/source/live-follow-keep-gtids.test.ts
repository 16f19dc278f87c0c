/**
 * `apply --follow --keep-gtids` (docs/RELIABILITY.md section 7 item 11): it used to be refused
 * (BAD_OPTION), the refusals that need the lost range (a transaction without a GTID, the promotion
 * overlap, the DR's own domain) having no first pass to come before the first write. Now each is
 * made when a lost transaction is met, before it is written: the follow commits each lost
 * transaction under its source GTID, one per DR transaction, and a domain met for the first time is
 * checked against the DR's GTID state then. The DR's history, read on while following
 * (`--dr-source`), takes the engine's windows — now under the primary's GTIDs, not the DR's — for
 * the engine's, not for transactions received from the primary or replayed.
 */
import type { RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { salvage, type SalvageReport } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { KeepGtidsErrorCode } from '../../src/sink/keep-gtids.js';
import { rejectionOf } from '../harness/error-of.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const SCHEMA = ['CREATE DATABASE shop', 'CREATE TABLE shop.t (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, v VARCHAR(40) NOT NULL) ENGINE=InnoDB', "INSERT INTO shop.t (v) VALUES ('a'), ('b')"];
const SELECT = 'SELECT id, v FROM shop.t ORDER BY id';

type Decided = [gtid: string, op: string, key: unknown, cls: string, outcome: string, newKey: unknown];
const decided = (l: LedgerLine): Decided => [l.gtid ?? '', l.op, l.key, l.class, l.outcome, l.newKey ?? null];

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

/** Every GTID the DR logged in `domain`, in binlog order. */
async function loggedIn(dr: MariadbServer, domain: number): Promise<string[]> {
  const out: string[] = [];
  for (const log of await dr.query<RowDataPacket[]>('SHOW BINARY LOGS')) {
    for (const e of await dr.query<RowDataPacket[]>(`SHOW BINLOG EVENTS IN '${String(log['Log_name'])}'`)) {
      const m = e['Event_type'] === 'Gtid' ? /GTID (\d+-\d+-\d+)/.exec(String(e['Info'])) : null;
      if (m !== null && m[1]!.startsWith(`${domain}-`)) out.push(m[1]!);
    }
  }
  return out;
}

/** Where `gtid`'s transaction ends on the primary (its commit's end): the checkpoint after it. */
async function endOf(primary: MariadbServer, gtid: string): Promise<{ file: string; pos: number }> {
  for (const log of await primary.query<RowDataPacket[]>('SHOW BINARY LOGS')) {
    const file = String(log['Log_name']);
    const events = await primary.query<RowDataPacket[]>(`SHOW BINLOG EVENTS IN '${file}'`);
    const at = events.findIndex((e) => e['Event_type'] === 'Gtid' && new RegExp(`GTID ${gtid}( |$)`).test(String(e['Info'])));
    if (at < 0) continue;
    const commit = events.slice(at).find((e) => e['Event_type'] === 'Xid');
    return { file, pos: Number(commit!['End_log_pos']) };
  }
  throw new Error(`no GTID event for ${gtid}`);
}

describe('apply --follow --keep-gtids', () => {
  let primary: MariadbServer;
  let dr: MariadbServer;
  let cut = '';
  const g = (n: number): string => {
    const [d, s, q] = cut.split('-');
    return `${d}-${s}-${Number(q) + n}`;
  };

  beforeAll(async () => {
    // The promoted DR writes its own transactions in domain 1; the primary's are in domain 0.
    [primary, dr] = await Promise.all([startMariadb({ name: 'follow-keep-primary', serverId: 1 }), startMariadb({ name: 'follow-keep-dr', serverId: 2, gtidDomainId: 1 })]);
    for (const sql of SCHEMA) await primary.query(sql);
    // As replication left it: nothing of the DR's own in its binlog.
    await dr.query('SET SESSION sql_log_bin = 0');
    for (const sql of [...SCHEMA, 'CREATE TABLE shop.dr_only (id INT PRIMARY KEY)']) await dr.query(sql);
    await dr.query('SET SESSION sql_log_bin = 1');
    cut = await one(primary, 'SELECT @@gtid_binlog_pos');
  }, 120_000);

  afterAll(async () => {
    await Promise.all([primary?.stop(), dr?.stop()]);
  });

  async function follow(onLedger: (l: LedgerLine) => void, signal: AbortSignal): Promise<SalvageReport> {
    return salvage({
      mode: 'apply',
      source: { target: primary.target, follow: true, idleMs: 100 },
      target: dr.target,
      drSource: { target: dr.target },
      start: { kind: 'from-gtid', set: cut },
      keepGtids: true,
      signal,
      onLedger,
    });
  }

  it('commits each lost transaction under its GTID as the source writes them; the DR history takes its own write for history and the windows for the engine; a resume goes on', async () => {
    await primary.query("INSERT INTO shop.t (v) VALUES ('p3')");
    const lines: LedgerLine[] = [];
    const abort = new AbortController();
    let failed: unknown = null;
    const running = follow((l) => lines.push(l), abort.signal);
    running.catch((e: unknown) => (failed = e));
    await waitFor('the first window', () => lines.length >= 1, () => failed);
    // The DR hands id 4 to a record of its own (domain 1), then the primary writes its own id 4.
    await dr.query("INSERT INTO shop.t (v) VALUES ('dr')");
    await primary.query("INSERT INTO shop.t (v) VALUES ('p4')");
    await primary.query("UPDATE shop.t SET v = 'p4 updated' WHERE id = 4");
    await primary.query("UPDATE shop.t SET v = 'a*' WHERE id = 1");
    await waitFor('the four lost transactions', () => lines.length >= 4, () => failed);
    abort.abort();
    const report = await running;

    expect(report.keepGtids).toBe(true);
    expect(report.stoppedOnRequest).toBe(true);
    expect(lines.map(decided)).toEqual([
      [g(1), 'insert', [3], 'clean', 'applied', null],
      [g(2), 'insert', [4], 'insert-pk-taken', 'remapped', [5]],
      [g(3), 'update', [4], 'clean', 'applied', [5]],
      [g(4), 'update', [1], 'clean', 'applied', null],
    ]);
    expect(await dr.query(SELECT)).toEqual([
      { id: 1, v: 'a*' },
      { id: 2, v: 'b' },
      { id: 3, v: 'p3' },
      { id: 4, v: 'dr' },
      { id: 5, v: 'p4 updated' },
    ]);
    // Domain 0 on the DR: exactly the lost GTIDs, in order, each once; the DR's own (and the run's state rows) in domain 1.
    expect(await loggedIn(dr, 0)).toEqual([g(1), g(2), g(3), g(4)]);
    expect((await one(dr, 'SELECT @@GLOBAL.gtid_binlog_pos')).split(',')).toContain(g(4));
    const end = await endOf(primary, g(4));
    expect(await dr.query('SELECT gtid_set, binlog_file, CAST(binlog_pos AS CHAR) AS pos FROM salvage.checkpoint')).toEqual([{ gtid_set: `${g(1)}-${g(4).split('-')[2]}`, binlog_file: end.file, pos: String(end.pos) }]);
    // The DR's one write of its own is its history; the engine's windows, under the primary's server id, are the engine's.
    expect(report.history?.transactions).toBe(1);
    expect(report.history?.tables).toEqual([{ table: 'shop.t', inserted: 1, updated: 0, deleted: 0 }]);
    const evidence = report.history?.failover.evidence ?? [];
    expect(evidence.filter((e) => /transactions of the salvage engine's own under the source's GTIDs/.test(e))).toEqual([
      "3 transactions of the salvage engine's own under the source's GTIDs (state schema salvage; --keep-gtids): not history",
    ]);
    expect(evidence.filter((e) => e.startsWith('replayed after the failover'))).toEqual([]);
    expect(evidence.filter((e) => e.startsWith('last received from the primary'))).toEqual([]);

    // Resumed: the next lost transaction under its GTID, none of the earlier ones again.
    await primary.query("UPDATE shop.t SET v = 'b*' WHERE id = 2");
    const more: LedgerLine[] = [];
    const again = new AbortController();
    let failedAgain: unknown = null;
    const resumed = follow((l) => more.push(l), again.signal);
    resumed.catch((e: unknown) => (failedAgain = e));
    await waitFor('the fifth lost transaction', () => more.length >= 1, () => failedAgain);
    again.abort();
    await resumed;
    expect(more.map(decided)).toEqual([[g(5), 'update', [2], 'clean', 'applied', null]]);
    expect(await loggedIn(dr, 0)).toEqual([g(1), g(2), g(3), g(4), g(5)]);
    expect(await dr.query('SELECT gtid, CAST(COUNT(*) AS CHAR) AS n FROM salvage.ledger GROUP BY gtid ORDER BY MIN(id)')).toEqual([1, 2, 3, 4, 5].map((n) => ({ gtid: g(n), n: '1' })));
  }, 120_000);

  it('the DR writing in the lost domain while the follow runs: the next lost transaction is refused when met, before it is written (KEEP_GTIDS_OVERLAP, exit 2)', async () => {
    await primary.query("UPDATE shop.t SET v = 'p3*' WHERE id = 3");
    const lines: LedgerLine[] = [];
    let failed: unknown = null;
    const running = follow((l) => lines.push(l), new AbortController().signal);
    running.catch((e: unknown) => (failed = e));
    await waitFor('the sixth lost transaction', () => lines.length >= 1, () => failed);
    // Domain 0 met and committed in; now the DR writes there under its own server id, past the source's next number.
    const past = Number(g(7).split('-')[2]) + 50;
    const s = await dr.connect();
    try {
      await s.query(`SET SESSION gtid_domain_id = 0, gtid_seq_no = ${past}`);
      await s.query('INSERT INTO shop.dr_only VALUES (1)');
    } finally {
      await s.end();
    }
    await primary.query("UPDATE shop.t SET v = 'p4**' WHERE id = 4");
    const e = await rejectionOf(running);
    const end = await endOf(primary, g(6));
    expect(e).toMatchObject({ code: KeepGtidsErrorCode.Overlap, details: { domain: 0, gtid: g(7), drGtid: `0-2-${past}`, option: '--keep-gtids' } });
    expect((e as Error).message).toContain(`(nothing of it was written; committed through ${end.file}:${end.pos}; run the same apply again to resume from there)`);
    expect(exitCodeFor(e)).toBe(2);
    expect(lines.map(decided)).toEqual([[g(6), 'update', [3], 'clean', 'applied', null]]);
    // The sixth under its GTID, the seventh nowhere: the primary's id 4 is the DR's id 5.
    expect(await dr.query(SELECT)).toEqual([
      { id: 1, v: 'a*' },
      { id: 2, v: 'b*' },
      { id: 3, v: 'p3*' },
      { id: 4, v: 'dr' },
      { id: 5, v: 'p4 updated' },
    ]);
    expect(await loggedIn(dr, 0)).toEqual([g(1), g(2), g(3), g(4), g(5), g(6), `0-2-${past}`]);
    expect(await dr.query('SELECT CAST(COUNT(*) AS CHAR) AS n FROM salvage.ledger')).toEqual([{ n: '6' }]);
  }, 120_000);
});
