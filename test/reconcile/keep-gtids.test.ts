/**
 * `apply --keep-gtids` on a staged failover whose promoted DR writes its own transactions in
 * gtid_domain_id 1 (the primary's lost ones are in domain 0 under server_id 1): the DR's binlog
 * then records every lost transaction under its original GTID, except those all quarantined, and
 * the DR's rows and state equal a run without the option. The refusals (the promotion overlap,
 * the DR's own writes in the lost domain, an account without BINLOG REPLAY) stop the run before
 * anything is written.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runSalvageCommand } from '../../src/cli/salvage-command.js';
import { parseConnectionUrl } from '../../src/db/connection-url.js';
import type { SqlSession } from '../../src/db/sql-session.js';
import { FAILOVER_LOGICAL_REFERENCES } from '../../src/demo/stage-failover.js';
import { EngineError } from '../../src/errors.js';
import { salvage, SalvageErrorCode, type SalvageOptions, type SalvageReport } from '../../src/pipeline/salvage.js';
import { KeepGtidsErrorCode } from '../../src/sink/keep-gtids.js';
import { Capture } from '../harness/capture.js';
import { stageFailoverDr, type DrState, type FailoverDr } from '../harness/failover-dr.js';

const GRANTS = ['GRANT SELECT, INSERT, UPDATE, DELETE ON shop.* TO %U', 'GRANT CREATE, SELECT, INSERT, UPDATE ON salvage.* TO %U'];

let f: FailoverDr;
/** The run without --keep-gtids: its end state and report. */
let reference: { state: DrState; report: SalvageReport };
/** The run with it, as the least-privileged account with BINLOG REPLAY. */
let kept: { state: DrState; report: SalvageReport; gtids: string[]; binlogPos: string; ledgerByGtid: Map<string, string[]> };
/** Sequence number of the last transaction the DR received before the link was cut (domain 0). */
let cutSeq = 0;

function target(user: string): SalvageOptions['target'] {
  return parseConnectionUrl(`mysql://${user}@${f.dr.host}:${f.dr.port}/`, '--target');
}

function options(extra: Partial<SalvageOptions> = {}): SalvageOptions {
  return { mode: 'apply', binlogs: f.staged.files, target: f.dr.target, logicalReferences: FAILOVER_LOGICAL_REFERENCES, reconnect: { attempts: 0 }, ...extra };
}

async function rejection(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected the run to fail');
}

/** Every GTID of domain 0 the DR logged after the link was cut, in binlog order (SHOW BINLOG EVENTS). */
async function domainZeroGtidsAfterCut(admin: SqlSession): Promise<string[]> {
  const out: string[] = [];
  for (const log of (await admin.query('SHOW BINARY LOGS')).rows) {
    const { rows } = await admin.query(`SHOW BINLOG EVENTS IN '${String(log['Log_name'])}'`);
    for (const e of rows) {
      if (e['Event_type'] !== 'Gtid') continue;
      const m = /GTID (\d+)-(\d+)-(\d+)/.exec(String(e['Info']));
      if (m !== null && m[1] === '0' && Number(m[3]) > cutSeq) out.push(`${m[1]}-${m[2]}-${m[3]}`);
    }
  }
  return out;
}

async function gtidVars(admin: SqlSession): Promise<{ pos: string; state: string }> {
  const { rows } = await admin.query('SELECT @@GLOBAL.gtid_binlog_pos AS p, @@GLOBAL.gtid_binlog_state AS s');
  return { pos: String(rows[0]?.['p']), state: String(rows[0]?.['s']) };
}

/** After a restore the DR restarted: its own writes go to domain 1 again (SET GLOBAL does not outlive a restart). */
async function restoreWithOwnDomain(): Promise<void> {
  await f.restore();
  await f.admin().query('SET GLOBAL gtid_domain_id = 1');
}

async function stateSchemaExists(): Promise<boolean> {
  return (await f.admin().query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'salvage'")).rows.length > 0;
}

beforeAll(async () => {
  f = await stageFailoverDr(
    'keep-gtids',
    async (dr) => {
      // A new session, in domain 1: accounts made in domain 0 would be the promotion overlap themselves.
      const s = await dr.session();
      try {
        for (const [user, extra] of [['keeper', true], ['plain', false]] as const) {
          const u = `${user}@\`${dr.host}\``;
          await s.query(`CREATE USER ${u}`);
          for (const g of GRANTS) await s.query(g.replace('%U', u));
          if (extra) await s.query(`GRANT BINLOG REPLAY ON *.* TO ${u}`);
        }
      } finally {
        await s.end();
      }
    },
    { drGtidDomainId: 1 },
  );
  cutSeq = Number(/^0-1-(\d+)$/.exec(f.staged.linkCutGtidPos)![1]);
  await f.admin().query('SET GLOBAL gtid_domain_id = 1');
  reference = { report: await salvage(options()), state: await f.readState() };
  await restoreWithOwnDomain();
  const report = await salvage(options({ keepGtids: true, target: target('keeper') }));
  const ledgerByGtid = new Map<string, string[]>();
  for (const row of (await f.admin().query('SELECT gtid, outcome FROM salvage.ledger ORDER BY id')).rows) {
    const g = String(row['gtid']);
    ledgerByGtid.set(g, [...(ledgerByGtid.get(g) ?? []), String(row['outcome'])]);
  }
  kept = { report, state: await f.readState(), gtids: await domainZeroGtidsAfterCut(f.admin()), binlogPos: (await gtidVars(f.admin())).pos, ledgerByGtid };
}, 180_000);

afterAll(async () => {
  await f?.stop();
});

describe('apply --keep-gtids', () => {
  it('ends with the DR rows, ledger, key map, quarantine and checkpoint of a run without it', () => {
    expect(kept.state).toEqual(reference.state);
    expect(kept.report.outcomes).toEqual(reference.report.outcomes);
    expect(kept.report.keepGtids).toBe(true);
    expect(reference.report.keepGtids).toBe(false);
    // One source transaction per DR transaction.
    expect(kept.report.windows).toBe(kept.report.lost.transactions);
  });

  it("logs each lost transaction under its own GTID, in order, except those all quarantined", () => {
    const applied = f.staged.lost.filter((t) => t !== f.staged.cutTransaction).map((t) => t.gtid);
    const wholeQuarantined = applied.filter((g) => {
      const outcomes = kept.ledgerByGtid.get(g) ?? [];
      return outcomes.length > 0 && outcomes.every((o) => o === 'quarantined');
    });
    // The fixture has such a transaction (else the exclusion below proves nothing).
    expect(wholeQuarantined.length).toBeGreaterThan(0);
    expect(applied.every((g) => kept.ledgerByGtid.has(g))).toBe(true);
    expect(kept.gtids).toEqual(applied.filter((g) => !wholeQuarantined.includes(g)));
    for (const g of wholeQuarantined) expect(kept.gtids).not.toContain(g);
    // The domain's position is the last lost GTID logged, under the primary's server id; the DR's own writes stay in domain 1.
    const last = kept.gtids[kept.gtids.length - 1]!;
    expect(kept.binlogPos.split(',').sort()).toEqual([last, expect.stringMatching(/^1-2-\d+$/)].sort());
  });

  it('a second apply finds every GTID applied and changes nothing', async () => {
    const again = await salvage(options({ keepGtids: true, target: target('keeper') }));
    expect(again.lost.transactions).toBe(0);
    expect(await f.readState()).toEqual(kept.state);
    expect(await domainZeroGtidsAfterCut(f.admin())).toEqual(kept.gtids);
    expect((await gtidVars(f.admin())).pos.split(',').find((p) => p.startsWith('0-'))).toBe(kept.gtids[kept.gtids.length - 1]);
  });

  it("the DR's own GTID state covers what was applied: a plan under another state schema (no checkpoint) finds nothing lost", async () => {
    const plan = await salvage(options({ mode: 'plan', keepGtids: true, stateSchema: 'salvage_elsewhere' }));
    expect(plan.lost.transactions).toBe(0);
    // Judged by gtid_binlog_pos, whose domain 0 entry is the primary's server id now.
    expect(plan.start.rule).toContain(`gtid_binlog_pos ${kept.gtids[kept.gtids.length - 1]!},`);
  });
});

describe('a run stopped and resumed with --keep-gtids', () => {
  it('ends as the uninterrupted run, each GTID logged once', async () => {
    await restoreWithOwnDomain();
    const abort = new AbortController();
    let windows = 0;
    const e = await rejection(salvage(options({ keepGtids: true, signal: abort.signal, onProgress: () => ++windows === 5 && abort.abort() })));
    expect(e.code).toBe(SalvageErrorCode.Aborted);
    expect((await domainZeroGtidsAfterCut(f.admin())).length).toBeGreaterThan(0);
    await salvage(options({ keepGtids: true }));
    expect(await f.readState()).toEqual(kept.state);
    expect(await domainZeroGtidsAfterCut(f.admin())).toEqual(kept.gtids);
  });
});

describe('plan --keep-gtids', () => {
  it('shows the SET statements apply runs, around each transaction under its GTID', async () => {
    await restoreWithOwnDomain();
    const sql: string[] = [];
    const plan = await salvage(options({ mode: 'plan', keepGtids: true, onSql: (s) => sql.push(s) }));
    expect(plan.keepGtids).toBe(true);
    const named = sql.filter((s) => s.startsWith('SET SESSION gtid_domain_id = 0,')).map((s) => /server_id = (\d+), gtid_seq_no = (\d+);?$/.exec(s)!.slice(1).join('-'));
    expect(named.map((g) => `0-${g}`)).toEqual(kept.gtids);
    const i = sql.findIndex((s) => s.startsWith('SET SESSION gtid_domain_id = 0,'));
    expect(sql[i + 1]).toMatch(/^START TRANSACTION;?$/);
    const commit = sql.findIndex((s, j) => j > i && /^COMMIT;?$/.test(s));
    expect(sql[commit + 1]).toMatch(/^SET SESSION gtid_domain_id = 1, server_id = 2, gtid_seq_no = 0;?$/);
    expect(await stateSchemaExists()).toBe(false);
  });

  it('the CLI: the summary says the mode, and --sql holds the SET statements', async () => {
    const out = new Capture();
    const sqlFile = join(f.workDir, 'keep.sql');
    const args = ['--binlog', ...f.staged.files, '--target', `mysql://root@${f.dr.host}:${f.dr.port}`, '--keep-gtids', '--quiet', '--sql', sqlFile];
    expect(await runSalvageCommand('plan', args, out, new Capture(), { env: {}, home: undefined, isTty: false })).toBe(3);
    expect(out.text).toContain('GTIDs: kept — each lost transaction would be committed on the DR under its original GTID');
    const sql = await readFile(sqlFile, 'utf8');
    const [, server, seq] = kept.gtids[0]!.split('-');
    expect(sql).toContain(`SET SESSION gtid_domain_id = 0, server_id = ${server}, gtid_seq_no = ${seq}`);
    expect(sql).toContain('SET SESSION gtid_domain_id = 1, server_id = 2, gtid_seq_no = 0');
  });
});

describe('refused before anything is written', () => {
  async function refused(extra: Partial<SalvageOptions>): Promise<EngineError> {
    const before = await f.readState();
    const pos = await gtidVars(f.admin());
    const e = await rejection(salvage(options({ keepGtids: true, ...extra })));
    expect(await stateSchemaExists()).toBe(false);
    expect(await f.readState()).toEqual(before);
    expect(await gtidVars(f.admin())).toEqual(pos);
    return e;
  }

  it('the promotion overlap: the DR already logged the lost sequence numbers of domain 0 under its own server id', async () => {
    await restoreWithOwnDomain();
    // The DR's own write in the primary's domain, as a promoted DR left in domain 0 makes.
    await f.admin().query('SET SESSION gtid_domain_id = 0');
    await f.admin().query('CREATE DATABASE overlap_probe');
    await f.admin().query('SET SESSION gtid_domain_id = 1');
    const e = await refused({});
    expect(e.code).toBe(KeepGtidsErrorCode.Overlap);
    expect(e.details).toMatchObject({ domain: 0, gtid: `0-1-${cutSeq + 1}`, drGtid: `0-2-${cutSeq + 1}` });
    expect(e.message).toContain(`in domain 0 the DR already logged 0-2-${cutSeq + 1}, at or past the lost 0-1-${cutSeq + 1}`);
  });

  it("the DR's own writes go to the lost transactions' domain", async () => {
    // Restarted by the restore: gtid_domain_id is back to 0, the server's setting.
    await f.restore();
    const e = await refused({});
    expect(e.code).toBe(KeepGtidsErrorCode.OwnDomain);
    expect(e.details).toMatchObject({ domain: 0, gtid: `0-1-${cutSeq + 1}` });
  });

  it('an account without BINLOG REPLAY (or SUPER)', async () => {
    await restoreWithOwnDomain();
    const e = await refused({ target: target('plain') });
    expect(e.code).toBe(KeepGtidsErrorCode.Privilege);
    expect(e.details).toMatchObject({ privilege: 'BINLOG REPLAY', errno: 1227 });
  });

  // With --follow the refusals come as each lost transaction is met: test/source/live-follow-keep-gtids.test.ts.
});
