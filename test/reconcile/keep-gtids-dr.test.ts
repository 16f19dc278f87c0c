/**
 * `apply --keep-gtids` against what only the DR itself knows, on real servers: a DR whose binary
 * log is off is refused before anything is written (KEEP_GTIDS_NO_BINLOG, exit 2), and a lost
 * transaction tried under its GTID that the DR rejects (a trigger, a CHECK constraint: nothing the
 * engine's read foresees) is rolled back and quarantined on its own under the DR's own GTID — its
 * GTID is logged nowhere — while the run goes on and logs the other lost GTIDs, in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeFor, ExitCode } from '../../src/cli/exit-codes.js';
import { runSalvageCommand } from '../../src/cli/salvage-command.js';
import { salvage, type SalvageOptions } from '../../src/pipeline/salvage.js';
import { KeepGtidsError, KeepGtidsErrorCode } from '../../src/sink/keep-gtids.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { Capture } from '../harness/capture.js';
import { rejectionOf } from '../harness/error-of.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

let primary: MariadbServer;
/** Binary log off. */
let drNoBinlog: MariadbServer;
/** Binary log on; its own writes go to gtid_domain_id 1, the lost ones are in domain 0 under server_id 1. */
let dr: MariadbServer;

const TABLE = `CREATE TABLE t.people (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(80) NOT NULL, n INT NOT NULL DEFAULT 0,
  UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;
/** The DR's table holds a CHECK the primary's lacks: a lost row breaking it is the DR's own last word. */
const DR_TABLE = TABLE.replace('UNIQUE KEY uk_email (email))', 'UNIQUE KEY uk_email (email), CONSTRAINT n_not_negative CHECK (n >= 0))');
/** A DR trigger that refuses one lost row. */
const REFUSING_TRIGGER = `CREATE TRIGGER t.refuse BEFORE INSERT ON t.people FOR EACH ROW
  IF NEW.email = 'refused@x' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the DR''s trigger'; END IF`;
const BASE_ROWS = [
  { id: 1, email: 'jose@x', n: 0 },
  { id: 2, email: 'ann@x', n: 0 },
];

beforeAll(async () => {
  [primary, drNoBinlog, dr] = await Promise.all([
    startMariadb({ name: 'keepdr-primary' }),
    startMariadb({ name: 'keepdr-nobinlog', serverId: 2, binlog: false }),
    startMariadb({ name: 'keepdr-dr', serverId: 2, gtidDomainId: 1 }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), drNoBinlog?.stop(), dr?.stop()]);
});

/** Fresh schemas on the primary and `target`, the base rows on both, then `lost` on the primary only. */
async function stage(target: MariadbServer, lost: string[], drTable = TABLE): Promise<{ start: string; files: string[] }> {
  for (const s of [primary, target]) {
    await s.query('DROP DATABASE IF EXISTS t');
    await s.query('DROP DATABASE IF EXISTS salvage');
    await s.query('CREATE DATABASE t');
  }
  await primary.query(TABLE);
  await target.query(drTable);
  for (const s of [primary, target]) await s.query("INSERT INTO t.people (id, email) VALUES (1, 'jose@x'), (2, 'ann@x')");
  const start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  for (const sql of lost) await primary.query(sql);
  await primary.flushBinaryLogs();
  return { start, files: await primary.binlogFiles() };
}

function options(target: MariadbServer, staged: { start: string; files: string[] }, extra: Partial<SalvageOptions> = {}): SalvageOptions {
  return { mode: 'apply', binlogs: staged.files, target: target.target, start: { kind: 'from-gtid', set: staged.start }, ...extra };
}

async function people(s: MariadbServer): Promise<unknown[]> {
  return (await s.query('SELECT id, email, n FROM t.people ORDER BY id')) as unknown[];
}

async function stateSchemaExists(s: MariadbServer): Promise<boolean> {
  return ((await s.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'salvage'")) as unknown[]).length > 0;
}

/** One logged transaction: its GTID and the tables its row events write, in binlog order. */
interface LoggedTransaction {
  readonly gtid: string;
  readonly tables: string[];
}

/** Every transaction the server logged, in binlog order, from SHOW BINLOG EVENTS. */
async function loggedTransactions(s: MariadbServer): Promise<LoggedTransaction[]> {
  const out: { gtid: string; tables: string[] }[] = [];
  for (const log of (await s.query('SHOW BINARY LOGS')) as { Log_name: string }[]) {
    for (const e of (await s.query(`SHOW BINLOG EVENTS IN '${log.Log_name}'`)) as { Event_type: string; Info: string }[]) {
      if (e.Event_type === 'Gtid') {
        const m = /GTID (\d+-\d+-\d+)/.exec(e.Info);
        if (m === null) throw new Error(`unexpected Gtid event: ${e.Info}`);
        out.push({ gtid: m[1]!, tables: [] });
      } else if (e.Event_type === 'Table_map') {
        const m = /\(([^)]+)\)$/.exec(e.Info);
        const current = out[out.length - 1];
        if (m !== null && current !== undefined && !current.tables.includes(m[1]!)) current.tables.push(m[1]!);
      }
    }
  }
  return out;
}

async function gtidBinlogPos(s: MariadbServer): Promise<string> {
  return String(((await s.query('SELECT @@GLOBAL.gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
}

/** The primary's GTIDs logged after `start` (one domain, one server: a single 0-1-N). */
async function lostGtids(start: string): Promise<string[]> {
  const from = Number(/^0-1-(\d+)$/.exec(start)![1]);
  return (await loggedTransactions(primary)).map((t) => t.gtid).filter((g) => g.startsWith('0-1-') && Number(g.slice(4)) > from);
}

describe("--keep-gtids on a DR whose binary log is off", () => {
  const LOST = ["INSERT INTO t.people (email) VALUES ('cy@x')", 'UPDATE t.people SET n = 3 WHERE id = 2'];

  it('apply is refused with KEEP_GTIDS_NO_BINLOG before anything is written; without the option the same run applies', async () => {
    const staged = await stage(drNoBinlog, LOST);
    expect(String(((await drNoBinlog.query('SELECT @@GLOBAL.log_bin AS b')) as { b: unknown }[])[0]!.b)).toBe('0');
    const e = await rejectionOf(salvage(options(drNoBinlog, staged, { keepGtids: true })));
    expect(e).toBeInstanceOf(KeepGtidsError);
    expect(e).toMatchObject({ code: KeepGtidsErrorCode.NoBinlog, details: { option: '--keep-gtids' }, retryable: false });
    expect((e as Error).message).toContain("the DR's binary log is off (log_bin = OFF)");
    expect(await stateSchemaExists(drNoBinlog)).toBe(false);
    expect(await people(drNoBinlog)).toEqual(BASE_ROWS);

    // plan says so too: its apply would be refused.
    const plan = await rejectionOf(salvage(options(drNoBinlog, staged, { mode: 'plan', keepGtids: true })));
    expect(plan).toMatchObject({ code: KeepGtidsErrorCode.NoBinlog });

    // The refusal is the binary log's: the same run without the option applies both.
    const report = await salvage(options(drNoBinlog, staged));
    expect(report.outcomes).toMatchObject({ applied: 2, quarantined: 0 });
    expect(await people(drNoBinlog)).toEqual([{ id: 1, email: 'jose@x', n: 0 }, { id: 2, email: 'ann@x', n: 3 }, { id: 3, email: 'cy@x', n: 0 }]);
  });

  it('the CLI: apply --keep-gtids exits 2 with the code, and writes nothing', async () => {
    const staged = await stage(drNoBinlog, LOST);
    const args = ['--binlog', ...staged.files, '--target', drNoBinlog.url, '--from-gtid', staged.start, '--keep-gtids', '--quiet'];
    const e = await rejectionOf(runSalvageCommand('apply', args, new Capture(), new Capture(), { env: {}, home: undefined, isTty: false }));
    expect(e).toMatchObject({ code: 'KEEP_GTIDS_NO_BINLOG' });
    expect(exitCodeFor(e)).toBe(ExitCode.BadInput);
    expect(ExitCode.BadInput).toBe(2);
    expect(await stateSchemaExists(drNoBinlog)).toBe(false);
    expect(await people(drNoBinlog)).toEqual(BASE_ROWS);
  });
});

describe('--keep-gtids: a lost transaction the DR rejects under its GTID', () => {
  // Five lost transactions, 0-1-(s+1) … 0-1-(s+5): the second (two changes) meets the DR's trigger,
  // the fourth the DR's CHECK constraint; the others are clean.
  const LOST = [
    "INSERT INTO t.people (email) VALUES ('cy@x')",
    "BEGIN; UPDATE t.people SET n = 7 WHERE id = 2; INSERT INTO t.people (email) VALUES ('refused@x'); COMMIT",
    "INSERT INTO t.people (email) VALUES ('dee@x')",
    'UPDATE t.people SET n = -1 WHERE id = 1',
    "INSERT INTO t.people (email) VALUES ('eve@x')",
  ];
  let staged: { start: string; files: string[] };
  let gtids: string[];
  let ledger: LedgerLine[];
  let logged: LoggedTransaction[];
  /** The DR's own transactions logged before the run. */
  let loggedBefore: number;

  beforeAll(async () => {
    staged = await stage(dr, LOST, DR_TABLE);
    await dr.query(REFUSING_TRIGGER);
    gtids = await lostGtids(staged.start);
    loggedBefore = (await loggedTransactions(dr)).length;
    ledger = [];
    await salvage(options(dr, staged, { keepGtids: true, allowTriggers: true, onLedger: (l) => ledger.push(l) }));
    logged = await loggedTransactions(dr);
  }, 120_000);

  it('the fixture: five lost transactions in domain 0, the DR writing its own in domain 1', () => {
    expect(gtids).toHaveLength(5);
    const s = Number(gtids[0]!.slice(4));
    expect(gtids).toEqual([0, 1, 2, 3, 4].map((i) => `0-1-${s + i}`));
    expect(logged.slice(0, loggedBefore).every((t) => t.gtid.startsWith('1-2-'))).toBe(true);
  });

  it('the rejected transactions are quarantined whole as dr-rejected, the others applied; the DR rows say so', async () => {
    const [g1, g2, g3, g4, g5] = gtids as [string, string, string, string, string];
    expect(ledger.map((l) => [l.gtid, l.index, l.op, l.key, l.class, l.outcome])).toEqual([
      [g1, 0, 'insert', [3], 'clean', 'applied'],
      [g2, 0, 'update', [2], 'dr-rejected', 'quarantined'],
      [g2, 1, 'insert', [4], 'dr-rejected', 'quarantined'],
      [g3, 0, 'insert', [5], 'clean', 'applied'],
      [g4, 0, 'update', [1], 'dr-rejected', 'quarantined'],
      [g5, 0, 'insert', [6], 'clean', 'applied'],
    ]);
    expect(ledger[1]!.reason).toMatch(/^the DR rejected the transaction: .*refused by the DR's trigger/);
    expect(ledger[4]!.reason).toMatch(/^the DR rejected the transaction: .*n_not_negative/);
    expect(await people(dr)).toEqual([
      { id: 1, email: 'jose@x', n: 0 },
      { id: 2, email: 'ann@x', n: 0 },
      { id: 3, email: 'cy@x', n: 0 },
      { id: 5, email: 'dee@x', n: 0 },
      { id: 6, email: 'eve@x', n: 0 },
    ]);
    expect(await dr.query('SELECT change_at, change_index, status FROM salvage.quarantine ORDER BY id')).toEqual([
      { change_at: g2, change_index: 0, status: 'pending' },
      { change_at: g2, change_index: 1, status: 'pending' },
      { change_at: g4, change_index: 0, status: 'pending' },
    ]);
    expect(await dr.query('SELECT gtid, change_index, class, outcome FROM salvage.ledger ORDER BY id')).toEqual(
      ledger.map((l) => ({ gtid: l.gtid, change_index: l.index, class: l.class, outcome: l.outcome })),
    );
  });

  it("the DR's binary log holds the applied lost GTIDs in order, and neither rejected one", () => {
    const [g1, g2, g3, g4, g5] = gtids as [string, string, string, string, string];
    const domainZero = logged.filter((t) => t.gtid.startsWith('0-'));
    expect(domainZero.map((t) => t.gtid)).toEqual([g1, g3, g5]);
    for (const g of [g2, g4]) expect(logged.map((t) => t.gtid)).not.toContain(g);
    // Each logged lost GTID carries its row change with the run's state rows; the lost table is written under no other GTID.
    for (const t of domainZero) expect(t.tables).toEqual(expect.arrayContaining(['t.people', 'salvage.ledger', 'salvage.checkpoint']));
    expect(logged.slice(loggedBefore).filter((t) => t.tables.includes('t.people')).map((t) => t.gtid)).toEqual([g1, g3, g5]);
    // The quarantines were committed on their own, under the DR's own GTIDs, between the applied ones.
    const quarantines = logged.slice(loggedBefore).filter((t) => t.tables.includes('salvage.quarantine'));
    expect(quarantines).toHaveLength(2);
    for (const q of quarantines) {
      expect(q.gtid).toMatch(/^1-2-\d+$/);
      expect(q.tables).not.toContain('t.people');
    }
    const at = (g: string): number => logged.findIndex((t) => t.gtid === g);
    const [q2, q4] = quarantines.map((q) => at(q.gtid)) as [number, number];
    expect(at(g1) < q2 && q2 < at(g3) && at(g3) < q4 && q4 < at(g5)).toBe(true);
  });

  it('@@gtid_binlog_pos: domain 0 at the last applied lost GTID, domain 1 at the DR\'s own last', async () => {
    const ownLast = logged.filter((t) => t.gtid.startsWith('1-')).at(-1)!.gtid;
    expect((await gtidBinlogPos(dr)).split(',').sort()).toEqual([gtids[4]!, ownLast].sort());
  });

  it('a second apply finds nothing lost and logs nothing in domain 0', async () => {
    const again = await salvage(options(dr, staged, { keepGtids: true }));
    expect(again.lost.transactions).toBe(0);
    expect((await loggedTransactions(dr)).filter((t) => t.gtid.startsWith('0-')).map((t) => t.gtid)).toEqual([gtids[0], gtids[2], gtids[4]]);
    expect((await gtidBinlogPos(dr)).split(',').find((p) => p.startsWith('0-'))).toBe(gtids[4]);
  });
});
