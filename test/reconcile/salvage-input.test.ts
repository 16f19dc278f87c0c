/**
 * What stops a run before anything is written (DDL in the lost range, schema drift, no starting
 * point), what is quarantined rather than guessed (statement-based DML), and the DR's last word on
 * a duplicate: a window the DR rejects is decided again one transaction at a time.
 */
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeFor, ExitCode } from '../../src/cli/exit-codes.js';
import { runSalvageCommand } from '../../src/cli/salvage-command.js';
import { parseConfig } from '../../src/config/normalise.js';
import { readQuarantine } from '../../src/pipeline/resolve.js';
import { salvage, type SalvageOptions } from '../../src/pipeline/salvage.js';
import type { LedgerLine } from '../../src/sink/ledger-entry.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { startTcpProxy } from '../harness/tcp-proxy.js';
import { rejectionOf } from '../harness/error-of.js';

let primary: MariadbServer;
let dr: MariadbServer;

const TABLE = `CREATE TABLE t.people (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(80) NOT NULL, n INT NOT NULL DEFAULT 0,
  UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'input-primary' }), startMariadb({ name: 'input-dr', serverId: 2 })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
});

/** Fresh schemas on both sides, the base rows on both, then `lost` on the primary only; returns the start set and files. */
/** A lost statement, or a step that runs on the primary itself (for what needs its own connection). */
type LostStep = string | (() => Promise<void>);

async function stage(lost: LostStep[], drSchema: string = TABLE, primarySchema: string = TABLE): Promise<{ start: string; files: string[] }> {
  for (const s of [primary, dr]) {
    await s.query('DROP DATABASE IF EXISTS t');
    await s.query('DROP DATABASE IF EXISTS salvage');
    await s.query('CREATE DATABASE t');
  }
  await primary.query(primarySchema);
  await dr.query(drSchema);
  for (const s of [primary, dr]) await s.query("INSERT INTO t.people (id, email) VALUES (1, 'jose@x'), (2, 'ann@x')");
  const start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  for (const step of lost) {
    if (typeof step === 'string') await primary.query(step);
    else await step();
  }
  await primary.flushBinaryLogs();
  return { start, files: await primary.binlogFiles() };
}

function options(files: string[], start: string, extra: Partial<SalvageOptions> = {}): SalvageOptions {
  return { mode: 'apply', binlogs: files, target: dr.target, start: { kind: 'from-gtid', set: start }, ...extra };
}

/** A DR trigger that refuses one lost row: the DR's own last word, which no read can foresee. */
const REFUSING_TRIGGER = `CREATE TRIGGER t.refuse BEFORE INSERT ON t.people FOR EACH ROW
  IF NEW.email = 'refused@x' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the DR''s trigger'; END IF`;

async function people(): Promise<unknown[]> {
  return (await dr.query('SELECT id, email, n FROM t.people ORDER BY id')) as unknown[];
}

async function stateSchemaExists(): Promise<boolean> {
  return ((await dr.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'salvage'")) as unknown[]).length > 0;
}

describe('salvage: input that stops the run before any write', () => {
  it('DDL in the lost range stops with the statement and its position; --ddl skip leaves it out and says so', async () => {
    const { start, files } = await stage(["INSERT INTO t.people (email) VALUES ('cy@x')", 'ALTER TABLE t.people ADD KEY by_n (n)', "INSERT INTO t.people (email) VALUES ('dee@x')"]);
    const e = await rejectionOf(salvage(options(files, start)));
    expect(e).toMatchObject({ code: 'SALVAGE_DDL_IN_LOST_RANGE' });
    expect((e as Error).message).toContain('ALTER TABLE t.people ADD KEY by_n (n)');
    expect(await people()).toEqual([{ id: 1, email: 'jose@x', n: 0 }, { id: 2, email: 'ann@x', n: 0 }]);
    expect(await stateSchemaExists()).toBe(false);

    const ledger: LedgerLine[] = [];
    const report = await salvage(options(files, start, { ddl: 'skip', onLedger: (l) => ledger.push(l) }));
    expect(report.skippedDdl.map((d) => d.sql)).toEqual(['ALTER TABLE t.people ADD KEY by_n (n)']);
    expect(ledger.map((l) => [l.op, l.class, l.outcome])).toEqual([
      ['insert', 'clean', 'applied'],
      ['sql', 'ddl', 'skipped'],
      ['insert', 'clean', 'applied'],
    ]);
    expect(await people()).toEqual([{ id: 1, email: 'jose@x', n: 0 }, { id: 2, email: 'ann@x', n: 0 }, { id: 3, email: 'cy@x', n: 0 }, { id: 4, email: 'dee@x', n: 0 }]);
  });

  it('DDL that changes a table stops as DDL, not as the drift it causes, and says how to go on once it is applied by hand', async () => {
    // Found by a review: the drift stopped the run first ("make the DR's table match … and re-run"),
    // then, with the column added by hand, the DDL stop came every time, with advice that looped.
    const { start, files } = await stage(['ALTER TABLE t.people ADD COLUMN extra INT NULL', "INSERT INTO t.people (email, extra) VALUES ('cy@x', 7)"]);
    const e = await rejectionOf(salvage(options(files, start)));
    expect(e).toMatchObject({ code: 'SALVAGE_DDL_IN_LOST_RANGE' });
    expect((e as Error).message).toContain('ALTER TABLE t.people ADD COLUMN extra INT NULL — apply the schema change to the DR by hand, then run again with --ddl skip (the engine cannot tell that you did: without it the run stops here again; the statement is recorded as skipped)');
    await dr.query('ALTER TABLE t.people ADD COLUMN extra INT NULL');
    await salvage(options(files, start, { ddl: 'skip' }));
    expect(await dr.query("SELECT id, email, extra FROM t.people WHERE email = 'cy@x'")).toEqual([{ id: 3, email: 'cy@x', extra: 7 }]);
  });

  it('CREATE TABLE … SELECT stops as DDL; with the table created by hand, --ddl skip applies its rows', async () => {
    // Found by a review: the CREATE TABLE logged ahead of the selected rows was quarantined as
    // statement-based DML with the whole transaction, so its rows never reached the DR.
    const { start, files } = await stage(["INSERT INTO t.people (email) VALUES ('cy@x')", 'CREATE TABLE t.copy (id INT UNSIGNED NOT NULL PRIMARY KEY, email VARCHAR(80) NOT NULL) ENGINE=InnoDB SELECT id, email FROM t.people WHERE id >= 2']);
    const e = await rejectionOf(salvage(options(files, start)));
    expect(e).toMatchObject({ code: 'SALVAGE_DDL_IN_LOST_RANGE' });
    expect((e as Error).message).toMatch(/the lost range holds DDL \(1 statement\(s\)\); the first, at 0-1-\d+ \(\S+:\d+\): CREATE TABLE `t`.`copy` \(/);
    expect(await stateSchemaExists()).toBe(false);
    await dr.query('CREATE TABLE t.copy (id INT UNSIGNED NOT NULL PRIMARY KEY, email VARCHAR(80) NOT NULL) ENGINE=InnoDB');
    const ledger: LedgerLine[] = [];
    const report = await salvage(options(files, start, { ddl: 'skip', onLedger: (l) => ledger.push(l) }));
    expect(report.skippedDdl).toHaveLength(1);
    expect(report.skippedDdl[0]!.sql).toMatch(/^CREATE TABLE `t`.`copy` \(/);
    expect(ledger.map((l) => [l.table, l.op, l.class, l.outcome])).toEqual([
      ['t.people', 'insert', 'clean', 'applied'],
      ['t.copy', 'insert', 'clean', 'applied'],
      ['t.copy', 'insert', 'clean', 'applied'],
      ['t.copy', 'sql', 'ddl', 'skipped'],
    ]);
    expect(await dr.query('SELECT id, email FROM t.copy ORDER BY id')).toEqual([
      { id: 2, email: 'ann@x' },
      { id: 3, email: 'cy@x' },
    ]);
    expect(report.quarantined).toBe(0);
  });

  it('schema drift names the table and its columns, and writes nothing', async () => {
    const drift = TABLE.replace('n INT NOT NULL DEFAULT 0,', '');
    const { start, files } = await stage(["INSERT INTO t.people (email) VALUES ('cy@x')"], drift);
    const e = await rejectionOf(salvage(options(files, start)));
    expect(e).toMatchObject({ code: 'SCHEMA_DRIFT_COLUMNS', details: { table: 't.people' } });
    expect((e as Error).message).toMatch(/^schema drift: t\.people has column n in the binlog from 0-1-\d+ \(\S+:\d+\) on, which the DR's table lacks \(DR: id, email\): add it on the DR as on the primary \(anywhere: the binlog names its columns, so they are matched by name\), then run again \(with --ddl skip when DDL of the lost range added it\)$/);
    expect(await stateSchemaExists()).toBe(false);
  });

  it('a DR without GTID state and no --from is told how to give the start', async () => {
    const fresh = await startMariadb({ name: 'input-nogtid', serverId: 3 });
    try {
      const { files } = await stage(["INSERT INTO t.people (email) VALUES ('cy@x')"]);
      const e = await rejectionOf(salvage({ mode: 'plan', binlogs: files, target: fresh.target }));
      expect(e).toMatchObject({ code: 'SALVAGE_NO_START', details: { option: '--from' } });
    } finally {
      await fresh.stop();
    }
  });
});

describe('salvage: what is quarantined rather than guessed', () => {
  it('statement-based DML is quarantined with its SQL, the rest applied', async () => {
    const { start, files } = await stage([
      "INSERT INTO t.people (email) VALUES ('cy@x')",
      "SET SESSION binlog_format = 'STATEMENT'",
      'UPDATE t.people SET n = n + 1 WHERE id = 2',
      "SET SESSION binlog_format = 'ROW'",
    ]);
    const ledger: LedgerLine[] = [];
    const report = await salvage(options(files, start, { onLedger: (l) => ledger.push(l) }));
    expect(ledger.map((l) => [l.table, l.op, l.class, l.outcome, l.sql ?? null])).toEqual([
      ['t.people', 'insert', 'clean', 'applied', null],
      // The statement's table, read from its text (the ledger said "" when no database was selected).
      ['t.people', 'sql', 'statement-based', 'quarantined', 'UPDATE t.people SET n = n + 1 WHERE id = 2'],
    ]);
    expect(report.quarantined).toBe(1);
    expect(await people()).toEqual([{ id: 1, email: 'jose@x', n: 0 }, { id: 2, email: 'ann@x', n: 0 }, { id: 3, email: 'cy@x', n: 0 }]);
  });

  it('a duplicate only the DR\'s collation sees (é = e under utf8mb4_general_ci) meets its holder: insert-unique-taken, decided by its rule', async () => {
    // It was found only when the DR refused the write (dr-rejected), so no configured rule applied to it.
    const lost = ["INSERT INTO t.people (email) VALUES ('cy@x')", "INSERT INTO t.people (email) VALUES ('josé@x')", "INSERT INTO t.people (email) VALUES ('dee@x')"];
    const primarySchema = TABLE.replace('utf8mb4_general_ci', 'utf8mb4_bin');
    let { start, files } = await stage(lost, TABLE, primarySchema);
    const ledger: LedgerLine[] = [];
    const report = await salvage(options(files, start, { onLedger: (l) => ledger.push(l) }));
    expect(ledger.map((l) => [l.key, l.class, l.outcome])).toEqual([
      [[3], 'clean', 'applied'],
      [[4], 'insert-unique-taken', 'quarantined'],
      [[5], 'clean', 'applied'],
    ]);
    expect(ledger[1]!.dr).toEqual({ id: 1, email: 'jose@x', n: 0 });
    expect(report.retries).toBe(0);
    expect(await people()).toEqual([{ id: 1, email: 'jose@x', n: 0 }, { id: 2, email: 'ann@x', n: 0 }, { id: 3, email: 'cy@x', n: 0 }, { id: 5, email: 'dee@x', n: 0 }]);

    // The rule for the class now applies: rewrite-unique keeps both.
    ({ start, files } = await stage(lost, TABLE, primarySchema));
    const rewritten: LedgerLine[] = [];
    const cfg = parseConfig({ tables: { 't.people': { onConflict: { 'insert-unique-taken': { strategy: 'rewrite-unique', template: '{value}~salvaged-{n}' } } } } });
    if (!cfg.ok) throw new Error('configuration rejected');
    await salvage(options(files, start, { config: cfg.config, onLedger: (l) => rewritten.push(l) }));
    expect(rewritten.map((l) => [l.key, l.class, l.outcome])).toEqual([
      [[3], 'clean', 'applied'],
      [[4], 'insert-unique-taken', 'applied'],
      [[5], 'clean', 'applied'],
    ]);
    expect(await people()).toEqual([
      { id: 1, email: 'jose@x', n: 0 },
      { id: 2, email: 'ann@x', n: 0 },
      { id: 3, email: 'cy@x', n: 0 },
      { id: 4, email: 'josé@x~salvaged-1', n: 0 },
      { id: 5, email: 'dee@x', n: 0 },
    ]);
  });

  it("a duplicate the fold read from the collation's name misses ('ｊose@x' = 'jose@x' under utf8mb4_german2_ci) meets its holder too: the server confirms it", async () => {
    // utf8mb4_general_ci is folded exactly now (collation-fold.ts), so the read's alias path
    // (salvage.ts #aliasCollationMatches) is pinned on a collation still approximated from its name
    // (german2_ci: case folded, accents kept, the fullwidth ｊ not folded; the server equates it).
    const lost = ["INSERT INTO t.people (email) VALUES ('cy@x')", "INSERT INTO t.people (email) VALUES ('ｊose@x')"];
    const drSchema = TABLE.replace('utf8mb4_general_ci', 'utf8mb4_german2_ci');
    const { start, files } = await stage(lost, drSchema, TABLE.replace('utf8mb4_general_ci', 'utf8mb4_bin'));
    const ledger: LedgerLine[] = [];
    const report = await salvage(options(files, start, { onLedger: (l) => ledger.push(l) }));
    expect(ledger.map((l) => [l.key, l.class, l.outcome])).toEqual([
      [[3], 'clean', 'applied'],
      [[4], 'insert-unique-taken', 'quarantined'],
    ]);
    expect(ledger[1]!.dr).toEqual({ id: 1, email: 'jose@x', n: 0 });
    expect(report.retries).toBe(0);
  });

  it("triggers on a table the lost range writes: apply refuses before any write (SALVAGE_DR_TRIGGERS), plan warns; one on another table is no matter", async () => {
    const { start, files } = await stage(["INSERT INTO t.people (email) VALUES ('cy@x')"]);
    await dr.query(REFUSING_TRIGGER);
    await dr.query('CREATE TABLE t.audit (id INT AUTO_INCREMENT PRIMARY KEY, what VARCHAR(40))');
    await dr.query("CREATE TRIGGER t.audit_people AFTER UPDATE ON t.people FOR EACH ROW INSERT INTO t.audit (what) VALUES ('updated')");
    // On a table the lost range does not write: not named.
    await dr.query("CREATE TRIGGER t.audit_self BEFORE INSERT ON t.audit FOR EACH ROW SET NEW.what = UPPER(NEW.what)");
    try {
      const e = await rejectionOf(salvage(options(files, start)));
      expect(e).toMatchObject({
        code: 'SALVAGE_DR_TRIGGERS',
        details: { triggers: ['audit_people (AFTER UPDATE on t.people)', 'refuse (BEFORE INSERT on t.people)'], tables: ['t.people'] },
      });
      expect((e as Error).message).toMatch(/^the DR has 2 trigger\(s\) on tables the lost range writes: audit_people \(AFTER UPDATE on t\.people\), refuse \(BEFORE INSERT on t\.people\); they fire on apply's writes, .*nothing was written: .*--allow-triggers/);
      expect(await stateSchemaExists()).toBe(false);
      expect(await people()).toEqual([{ id: 1, email: 'jose@x', n: 0 }, { id: 2, email: 'ann@x', n: 0 }]);
      const plan = await salvage(options(files, start, { mode: 'plan' }));
      expect(plan.warnings).toEqual([expect.stringMatching(/^the DR has 2 trigger\(s\) on tables the lost range writes: audit_people .*; apply refuses them before writing anything: drop them/)]);
      expect(plan.outcomes.applied).toBe(1);
      // The CLI: exit 2, the message on stderr; --allow-triggers applies.
      const args = ['--binlog', ...files, '--target', dr.url, '--from-gtid', start, '--quiet'];
      const err = new Capture();
      const cli = await rejectionOf(runSalvageCommand('apply', args, new Capture(), err, { env: {}, home: undefined, isTty: false }));
      expect(cli).toMatchObject({ code: 'SALVAGE_DR_TRIGGERS' });
      expect(exitCodeFor(cli)).toBe(ExitCode.BadInput);
      expect(await stateSchemaExists()).toBe(false);
      await runSalvageCommand('apply', [...args, '--allow-triggers'], new Capture(), new Capture(), { env: {}, home: undefined, isTty: false });
      expect(await people()).toEqual([{ id: 1, email: 'jose@x', n: 0 }, { id: 2, email: 'ann@x', n: 0 }, { id: 3, email: 'cy@x', n: 0 }]);
    } finally {
      await dr.query('DROP TRIGGER t.audit_people');
      await dr.query('DROP TABLE t.audit');
    }
  });

  it('a transaction the DR itself rejects (a trigger refuses the row) is quarantined as dr-rejected; the rest of the window applies', async () => {
    const { start, files } = await stage([
      "INSERT INTO t.people (email) VALUES ('cy@x')",
      "INSERT INTO t.people (email) VALUES ('refused@x')",
      "INSERT INTO t.people (email) VALUES ('dee@x')",
    ]);
    await dr.query(REFUSING_TRIGGER);
    const ledger: LedgerLine[] = [];
    const report = await salvage(options(files, start, { allowTriggers: true, onLedger: (l) => ledger.push(l) }));
    expect(report.warnings).toEqual(["the DR has 1 trigger(s) on tables the lost range writes: refuse (BEFORE INSERT on t.people); they fired on apply's writes (--allow-triggers)"]);
    expect(ledger.map((l) => [l.key, l.class, l.outcome])).toEqual([
      [[3], 'clean', 'applied'],
      [[4], 'dr-rejected', 'quarantined'],
      [[5], 'clean', 'applied'],
    ]);
    expect(ledger[1]!.reason).toMatch(/^the DR rejected the transaction: .*refused by the DR's trigger/);
    expect(report.retries).toBeGreaterThanOrEqual(1);
    expect(await people()).toEqual([{ id: 1, email: 'jose@x', n: 0 }, { id: 2, email: 'ann@x', n: 0 }, { id: 3, email: 'cy@x', n: 0 }, { id: 5, email: 'dee@x', n: 0 }]);
    expect(await dr.query("SELECT change_index, status, reason LIKE 'the DR rejected%' AS r FROM salvage.quarantine")).toEqual([{ change_index: 0, status: 'pending', r: 1 }]);
  });

  // The quarantine of a DR-rejected transaction is its own DR transaction: a connection lost there is
  // reopened and the checkpoint read, as in a window (test/reconcile/dr-faults.test.ts).
  for (const c of [
    { title: 'while its quarantine row is written (rolled back: written again)', on: 'quarantine' as const },
    { title: 'after the server answered its COMMIT (committed: kept, not written twice)', on: 'commit' as const },
  ]) {
    it(`a connection lost ${c.title}: reopened, and the run ends as an uninterrupted one`, async () => {
      const { start, files } = await stage(["INSERT INTO t.people (email) VALUES ('cy@x')", "INSERT INTO t.people (email) VALUES ('refused@x')", "INSERT INTO t.people (email) VALUES ('dee@x')"]);
      await dr.query(REFUSING_TRIGGER);
      const proxy = await startTcpProxy(dr.host, dr.port);
      try {
        let quarantineSeen = false;
        proxy.dropOn((sql) => {
          const isQuarantine = sql.startsWith('INSERT INTO `salvage`.`quarantine`');
          if (c.on === 'quarantine') return isQuarantine;
          if (isQuarantine) quarantineSeen = true;
          return quarantineSeen && sql === 'COMMIT';
        });
        const ledger: LedgerLine[] = [];
        const report = await salvage(options(files, start, { target: { ...dr.target, port: proxy.port, redacted: `mysql://root@127.0.0.1:${proxy.port}` }, reconnect: { initialDelayMs: 50 }, allowTriggers: true, onLedger: (l) => ledger.push(l) }));
        expect(proxy.dropped).toEqual(c.on === 'quarantine' ? expect.stringMatching(/^INSERT INTO `salvage`.`quarantine`/) : 'COMMIT');
        expect(report.drReconnects).toBe(1);
        expect(ledger.map((l) => [l.key, l.class, l.outcome])).toEqual([
          [[3], 'clean', 'applied'],
          [[4], 'dr-rejected', 'quarantined'],
          [[5], 'clean', 'applied'],
        ]);
        expect(await people()).toEqual([{ id: 1, email: 'jose@x', n: 0 }, { id: 2, email: 'ann@x', n: 0 }, { id: 3, email: 'cy@x', n: 0 }, { id: 5, email: 'dee@x', n: 0 }]);
        expect(await dr.query("SELECT change_index, status, reason LIKE 'the DR rejected%' AS r FROM salvage.quarantine")).toEqual([{ change_index: 0, status: 'pending', r: 1 }]);
        expect(await dr.query('SELECT COUNT(*) AS n FROM salvage.ledger')).toEqual([{ n: '3' }]);
      } finally {
        await proxy.close();
      }
    });
  }

  it('a connection lost when the run is marked finished: reopened, so the run reads completed, with its summary', async () => {
    const { start, files } = await stage(["INSERT INTO t.people (email) VALUES ('cy@x')"]);
    const proxy = await startTcpProxy(dr.host, dr.port);
    try {
      // After the reply: the status is written, the summary (the next statement) would be lost with the connection.
      proxy.dropOn((sql) => sql.startsWith('UPDATE `salvage`.`runs` SET finished_at'));
      const report = await salvage(options(files, start, { target: { ...dr.target, port: proxy.port, redacted: `mysql://root@127.0.0.1:${proxy.port}` } }));
      expect(proxy.dropped).toMatch(/^UPDATE `salvage`.`runs` SET finished_at/);
      expect(report.drReconnects).toBe(1);
      const [run] = (await dr.query('SELECT status, summary IS NOT NULL AS kept, finished_at IS NOT NULL AS ended FROM salvage.runs')) as unknown[];
      expect(run).toEqual({ status: 'completed', kept: 1, ended: 1 });
      expect(await people()).toEqual([{ id: 1, email: 'jose@x', n: 0 }, { id: 2, email: 'ann@x', n: 0 }, { id: 3, email: 'cy@x', n: 0 }]);
    } finally {
      await proxy.close();
    }
  });
});

describe('salvage: a state schema created ahead, empty (for a least-privilege account)', () => {
  it('plan treats it as no state, review commands say there is none, apply creates its tables there', async () => {
    // Found by a review: plan and apply failed with "Table 'salvage.checkpoint' doesn't exist" on every run.
    const { start, files } = await stage(["INSERT INTO t.people (email) VALUES ('cy@x')"]);
    await dr.query('CREATE DATABASE salvage');
    const planned = await salvage(options(files, start, { mode: 'plan' }));
    expect(planned.lost.transactions).toBe(1);
    await expect(readQuarantine({ target: dr.target })).rejects.toMatchObject({ code: 'REVIEW_NO_STATE' });
    await salvage(options(files, start));
    expect(await people()).toEqual([{ id: 1, email: 'jose@x', n: 0 }, { id: 2, email: 'ann@x', n: 0 }, { id: 3, email: 'cy@x', n: 0 }]);
    expect(await dr.query('SELECT COUNT(*) > 0 AS ok FROM salvage.checkpoint')).toEqual([{ ok: 1 }]);
  });
});

describe('salvage: a table whose only key is a NOT NULL unique key', () => {
  const UNIQUE_ONLY = `CREATE TABLE t.people (email VARCHAR(80) NOT NULL, n INT NOT NULL DEFAULT 0, note VARCHAR(20) NULL, id INT UNSIGNED NOT NULL,
    UNIQUE KEY uk_email (email), UNIQUE KEY uk_note (note)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`;

  it('is merged by that key, as InnoDB identifies its rows: updates and deletes applied, a DR change kept (they were quarantined as no-key)', async () => {
    const { start, files } = await stage(
      ["UPDATE t.people SET n = 5 WHERE email = 'ann@x'", "DELETE FROM t.people WHERE email = 'jose@x'", "INSERT INTO t.people (email, id) VALUES ('cy@x', 3)"],
      UNIQUE_ONLY,
      UNIQUE_ONLY,
    );
    await dr.query("UPDATE t.people SET note = 'dr' WHERE email = 'ann@x'");
    const ledger: LedgerLine[] = [];
    const report = await salvage(options(files, start, { onLedger: (l) => ledger.push(l) }));
    expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome])).toEqual([
      ['update', ['ann@x'], 'update-diverged', 'merged'],
      ['delete', ['jose@x'], 'clean', 'applied'],
      ['insert', ['cy@x'], 'clean', 'applied'],
    ]);
    expect(report.quarantined).toBe(0);
    expect(await dr.query('SELECT email, n, note, id FROM t.people ORDER BY email')).toEqual([
      { email: 'ann@x', n: 5, note: 'dr', id: 2 },
      { email: 'cy@x', n: 0, note: null, id: 3 },
    ]);
  });
});

describe('salvage: LOAD DATA logged as a statement', () => {
  it('R1: is quarantined with its SQL, not applied as an empty transaction', async () => {
    const load = async (): Promise<void> => {
      const conn = await primary.connect();
      try {
        await conn.query("SET SESSION binlog_format = 'STATEMENT'");
        await conn.query({
          sql: "LOAD DATA LOCAL INFILE 'people.tsv' INTO TABLE t.people (id, email)",
          infileStreamFactory: () => Readable.from([Buffer.from('100\tloaded-a@x\n101\tloaded-b@x\n')]),
        });
      } finally {
        await conn.end();
      }
    };
    const { start, files } = await stage(["INSERT INTO t.people (email) VALUES ('cy@x')", load]);
    expect(await primary.query('SELECT COUNT(*) AS n FROM t.people WHERE id >= 100')).toEqual([{ n: '2' }]);
    const ledger: LedgerLine[] = [];
    const report = await salvage(options(files, start, { onLedger: (l) => ledger.push(l) }));
    expect(ledger.map((l) => [l.op, l.class, l.outcome, l.sql ?? null])).toEqual([
      ['insert', 'clean', 'applied', null],
      [
        'sql',
        'statement-based',
        'quarantined',
        "LOAD DATA LOCAL INFILE 'people.tsv' IGNORE INTO TABLE `t`.`people` FIELDS TERMINATED BY '\\t' ENCLOSED BY '' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (`id`, `email`)",
      ],
    ]);
    expect(report.quarantined).toBe(1);
    expect(report.outcomes.quarantined).toBe(1);
    expect(await people()).toEqual([{ id: 1, email: 'jose@x', n: 0 }, { id: 2, email: 'ann@x', n: 0 }, { id: 3, email: 'cy@x', n: 0 }]);
  });
});

describe('salvage: savepoints are transaction control, not statements', () => {
  const MYISAM = 'CREATE TABLE t.m (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=MyISAM';

  it('R2: a committed transaction with ROLLBACK TO SAVEPOINT (logged because a MyISAM table was changed) is applied without the rows it undid', async () => {
    const { start, files } = await stage(
      [
        "BEGIN; INSERT INTO t.people (id, email) VALUES (40, 'before@x'); SAVEPOINT a; INSERT INTO t.m VALUES (41, 'myisam'); " +
          "INSERT INTO t.people (id, email) VALUES (42, 'undone@x'); ROLLBACK TO SAVEPOINT a; INSERT INTO t.people (id, email) VALUES (43, 'after@x'); COMMIT",
      ],
      `${TABLE}; ${MYISAM}`,
      `${TABLE}; ${MYISAM}`,
    );
    const ledger: LedgerLine[] = [];
    const report = await salvage(options(files, start, { onLedger: (l) => ledger.push(l) }));
    // The MyISAM insert is logged as its own transaction, ahead of the one it was made in.
    expect(ledger.map((l) => [l.table, l.key, l.class, l.outcome])).toEqual([
      ['t.m', [41], 'clean', 'applied'],
      ['t.people', [40], 'clean', 'applied'],
      ['t.people', [43], 'clean', 'applied'],
    ]);
    expect(ledger[1]!.gtid).toBe(ledger[2]!.gtid);
    expect(ledger[1]!.gtid).not.toBeNull();
    expect(report.incomplete).toEqual([]);
    expect(report.quarantined).toBe(0);
    expect(await people()).toEqual([
      { id: 1, email: 'jose@x', n: 0 },
      { id: 2, email: 'ann@x', n: 0 },
      { id: 40, email: 'before@x', n: 0 },
      { id: 43, email: 'after@x', n: 0 },
    ]);
    expect(await dr.query('SELECT id, v FROM t.m')).toEqual([{ id: 41, v: 'myisam' }]);
  });

  it('R3: row-based InnoDB transactions that used SAVEPOINT / RELEASE / ROLLBACK TO are applied, not quarantined as statement-based', async () => {
    const { start, files } = await stage([
      "BEGIN; INSERT INTO t.people (id, email) VALUES (20, 'a@x'); SAVEPOINT s1; INSERT INTO t.people (id, email) VALUES (21, 'b@x'); RELEASE SAVEPOINT s1; COMMIT",
      "BEGIN; INSERT INTO t.people (id, email) VALUES (30, 'c@x'); SAVEPOINT s1; INSERT INTO t.people (id, email) VALUES (31, 'gone@x'); ROLLBACK TO SAVEPOINT s1; COMMIT",
    ]);
    const ledger: LedgerLine[] = [];
    const report = await salvage(options(files, start, { onLedger: (l) => ledger.push(l) }));
    expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome, l.sql ?? null])).toEqual([
      ['insert', [20], 'clean', 'applied', null],
      ['insert', [21], 'clean', 'applied', null],
      ['insert', [30], 'clean', 'applied', null],
    ]);
    expect(report.quarantined).toBe(0);
    expect(await people()).toEqual([
      { id: 1, email: 'jose@x', n: 0 },
      { id: 2, email: 'ann@x', n: 0 },
      { id: 20, email: 'a@x', n: 0 },
      { id: 21, email: 'b@x', n: 0 },
      { id: 30, email: 'c@x', n: 0 },
    ]);
  });
});

describe('salvage: XA transactions are row-based transactions like any other', () => {
  it('XA START … XA END … XA PREPARE … XA COMMIT, ONE PHASE, and a rolled-back XA are applied (or left out), not quarantined as statement-based', async () => {
    // XA END was kept as a statement of the group (only XA START/COMMIT/ROLLBACK were known as
    // control), so every XA transaction was quarantined whole as statement-based DML.
    const { start, files } = await stage([
      async () => {
        const c = await primary.connect();
        try {
          await c.query("XA START 'x1'; INSERT INTO t.people (id, email) VALUES (50, 'xa@x'); XA END 'x1'; XA PREPARE 'x1'; XA COMMIT 'x1'");
          await c.query("XA START 'x2'; INSERT INTO t.people (id, email) VALUES (51, 'one@x'); XA END 'x2'; XA COMMIT 'x2' ONE PHASE");
          await c.query("XA START 'x3'; INSERT INTO t.people (id, email) VALUES (52, 'gone@x'); XA END 'x3'; XA PREPARE 'x3'; XA ROLLBACK 'x3'");
        } finally {
          await c.end();
        }
      },
    ]);
    const ledger: LedgerLine[] = [];
    const report = await salvage(options(files, start, { onLedger: (l) => ledger.push(l) }));
    expect(ledger.map((l) => [l.op, l.key, l.class, l.outcome, l.sql ?? null])).toEqual([
      ['insert', [50], 'clean', 'applied', null],
      ['insert', [51], 'clean', 'applied', null],
    ]);
    expect(report.quarantined).toBe(0);
    expect(await people()).toEqual([
      { id: 1, email: 'jose@x', n: 0 },
      { id: 2, email: 'ann@x', n: 0 },
      { id: 50, email: 'xa@x', n: 0 },
      { id: 51, email: 'one@x', n: 0 },
    ]);
  });
});
