/**
 * keepGtids' statements and refusals without a server. The MySQL path (gtid_next) is proven here
 * only: no test runs against a MySQL server (docs/RELIABILITY.md §7).
 */
import { describe, expect, it } from 'vitest';
import type { Gtid, Transaction } from '../binlog/transaction.js';
import type { SqlResult, SqlSession } from '../db/sql-session.js';
import { exitCodeFor, ExitCode } from '../cli/exit-codes.js';
import { EngineError } from '../errors.js';
import type { ChangeDecision, Outcome, TransactionResult } from '../model/decision.js';
import { checkKeepGtids, commitsUnderGtid, FollowedGtids, gtidOffStatement, gtidOnStatement, KeepGtidsError, KeepGtidsErrorCode, loggedByDomain, refuseLostGtids, type LostGtids } from './keep-gtids.js';

const maria = (domainId: number, serverId: number, seqNo: bigint): Gtid => ({ flavor: 'mariadb', domainId, serverId, seqNo });
const UUID = '3e11fa47-71ca-11e1-9e33-c80aa9429562';

function tx(gtid: Gtid | null, file = '/x/mysql-bin.000002', pos = 1234): Transaction {
  return { gtid, file, pos } as unknown as Transaction;
}

function result(gtid: Gtid | null, outcomes: readonly Outcome[], klass = 'clean'): TransactionResult {
  const t = tx(gtid);
  const decisions = outcomes.map((outcome, index) => ({ tx: t, index, outcome, class: klass }) as unknown as ChangeDecision);
  return { tx: t, decisions, writes: [], remaps: [] };
}

function caught(fn: () => unknown): KeepGtidsError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KeepGtidsError) return e;
    throw e;
  }
  throw new Error('expected a KeepGtidsError');
}

async function rejected(p: Promise<unknown>): Promise<KeepGtidsError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeepGtidsError) return e;
    throw e;
  }
  throw new Error('expected a KeepGtidsError');
}

const none: LostGtids = { gtidless: null, lowestByDomain: new Map() };

describe('the statements around a transaction', () => {
  it('MariaDB: domain, server id and sequence number before; the session own, gtid_seq_no reset, after', () => {
    expect(gtidOnStatement(maria(0, 1, 18446744073709551615n))).toBe('SET SESSION gtid_domain_id = 0, server_id = 1, gtid_seq_no = 18446744073709551615');
    expect(gtidOffStatement({ flavor: 'mariadb', serverId: 2, domainId: 1 })).toBe('SET SESSION gtid_domain_id = 1, server_id = 2, gtid_seq_no = 0');
  });

  it("MySQL: gtid_next names the GTID (with its tag) before, AUTOMATIC after", () => {
    expect(gtidOnStatement({ flavor: 'mysql', uuid: UUID, tag: null, gno: 23n })).toBe(`SET gtid_next = '${UUID}:23'`);
    expect(gtidOnStatement({ flavor: 'mysql', uuid: UUID, tag: 'salvage_1', gno: 7n })).toBe(`SET gtid_next = '${UUID}:salvage_1:7'`);
    expect(gtidOffStatement({ flavor: 'mysql' })).toBe("SET gtid_next = 'AUTOMATIC'");
  });
});

describe('commitsUnderGtid', () => {
  const g = maria(0, 1, 5n);
  it('a transaction with changes on the DR, or all already there or skipped, goes under its GTID', () => {
    expect(commitsUnderGtid(result(g, ['applied', 'quarantined']))).toBe(true);
    expect(commitsUnderGtid(result(g, ['skipped', 'skipped']))).toBe(true);
    expect(commitsUnderGtid(result(g, []))).toBe(true);
  });
  it('one all quarantined, damaged, or without a GTID does not', () => {
    expect(commitsUnderGtid(result(g, ['quarantined', 'quarantined']))).toBe(false);
    expect(commitsUnderGtid(result(g, ['skipped'], 'damaged'))).toBe(false);
    expect(commitsUnderGtid(result(null, ['applied']))).toBe(false);
  });
});

describe('refuseLostGtids', () => {
  const mariaDr = (gtidBinlogPos: string, gtidBinlogState = '', ownDomains: number[] = [1]) => ({ flavor: 'mariadb' as const, gtidBinlogPos, gtidBinlogState, ownDomains });

  it('a lost transaction without a GTID, whatever the flavour', () => {
    for (const dr of [{ flavor: 'mysql' as const }, mariaDr('')]) {
      const e = caught(() => refuseLostGtids({ gtidless: tx(null), lowestByDomain: new Map() }, dr));
      expect(e.code).toBe(KeepGtidsErrorCode.NoGtid);
      expect(e.details).toMatchObject({ file: 'mysql-bin.000002', offset: 1234 });
    }
  });

  it('the promotion overlap, from gtid_binlog_pos or a larger gtid_binlog_state entry, naming the domain and both GTIDs', () => {
    const lost: LostGtids = { gtidless: null, lowestByDomain: new Map([[0, maria(0, 1, 13n)], [3, maria(3, 1, 9n)]]) };
    const e = caught(() => refuseLostGtids(lost, mariaDr('0-2-17,1-2-4')));
    expect(e.code).toBe(KeepGtidsErrorCode.Overlap);
    expect(e.details).toMatchObject({ domain: 0, gtid: '0-1-13', drGtid: '0-2-17' });
    expect(e.message).toContain('in domain 0 the DR already logged 0-2-17, at or past the lost 0-1-13');
    // Equal counts too: a second GTID with the same sequence number.
    expect(caught(() => refuseLostGtids(lost, mariaDr('0-1-12,3-5-9'))).details).toMatchObject({ domain: 3, gtid: '3-1-9', drGtid: '3-5-9' });
    expect(caught(() => refuseLostGtids(lost, mariaDr('0-1-12', '0-1-12,0-2-14'))).details).toMatchObject({ domain: 0, drGtid: '0-2-14' });
  });

  it("the DR's own writes in a lost domain; none of it when the DR is behind and elsewhere", () => {
    const lost: LostGtids = { gtidless: null, lowestByDomain: new Map([[0, maria(0, 1, 13n)]]) };
    const e = caught(() => refuseLostGtids(lost, mariaDr('0-1-12', '0-1-12', [0])));
    expect(e.code).toBe(KeepGtidsErrorCode.OwnDomain);
    expect(e.details).toMatchObject({ domain: 0, gtid: '0-1-13' });
    expect(() => refuseLostGtids(lost, mariaDr('0-1-12,1-2-40', '0-1-12,1-2-40', [1]))).not.toThrow();
    expect(() => refuseLostGtids(none, mariaDr('0-2-99', '', [0]))).not.toThrow();
  });

  it('loggedByDomain keeps the highest sequence number per domain', () => {
    expect([...loggedByDomain('0-1-12,1-2-3', '0-2-20,0-1-12, 1-2-3')]).toEqual([
      [0, { seqNo: 20n, text: '0-2-20' }],
      [1, { seqNo: 3n, text: '1-2-3' }],
    ]);
  });
});

describe('FollowedGtids (--follow: the refusals as each lost transaction is met)', () => {
  const dr = (gtidBinlogPos: string, ownDomains: number[] = [1]) => ({ gtidBinlogPos, gtidBinlogState: gtidBinlogPos, ownDomains });
  const written = 'nothing of it was written; committed through mysql-bin.000002:900';

  it("each one against the DR's state read before it, and against what this run committed in its domain", () => {
    const f = new FollowedGtids();
    f.meet(maria(0, 1, 13n), dr('0-1-12,1-2-40'), written);
    f.committed(maria(0, 1, 13n));
    f.meet(maria(0, 1, 14n), dr('0-1-13,1-2-41'), written);
    // At or below what this run committed in the domain: the source's binlog out of order.
    const e = caught(() => f.meet(maria(0, 1, 13n), dr('0-1-13,1-2-41'), written));
    expect(e.code).toBe(KeepGtidsErrorCode.Overlap);
    expect(e.details).toMatchObject({ domain: 0, gtid: '0-1-13', drGtid: '0-1-13' });
    expect(e.message).toContain('in domain 0 this run already committed 0-1-13 on the DR, at or past 0-1-13');
    expect(e.message).toContain(`(${written})`);
    // The DR wrote in the domain since (its application moved there): the overlap, named as for a run to an end.
    const moved = caught(() => f.meet(maria(0, 1, 14n), dr('0-2-60,1-2-41'), written));
    expect(moved.code).toBe(KeepGtidsErrorCode.Overlap);
    expect(moved.details).toMatchObject({ domain: 0, gtid: '0-1-14', drGtid: '0-2-60' });
    expect(moved.message).toContain(`run without --keep-gtids (${written})`);
    const own = caught(() => new FollowedGtids().meet(maria(0, 1, 13n), dr('', [1, 0]), written));
    expect(own.code).toBe(KeepGtidsErrorCode.OwnDomain);
    // MySQL: no domains to check.
    expect(() => new FollowedGtids().meet({ flavor: 'mysql', uuid: '3e11fa47-71ca-11e1-9e33-c80aa9429562', tag: null, gno: 5n }, dr('0-2-60'), written)).not.toThrow();
  });

  it('a lost transaction without a GTID, saying what was committed', () => {
    const anon = caught(() => refuseLostGtids({ gtidless: tx(null), lowestByDomain: new Map() }, { flavor: 'mysql' }, written));
    expect(anon.code).toBe(KeepGtidsErrorCode.NoGtid);
    expect(anon.message).toContain(`(${written})`);
  });
});

/** A DR double: answers the checks' reads from `values`, and fails the probe when `denied`. */
function drDouble(values: Record<string, string>, denied = false): { session: SqlSession; sent: string[] } {
  const sent: string[] = [];
  const ok = (rows: Record<string, string>[] = []): SqlResult => ({ rows, affectedRows: 0, insertId: 0 });
  const session: SqlSession = {
    query: async (sql) => {
      sent.push(sql);
      if (sql.includes('log_bin')) return ok([{ b: values['log_bin'] ?? '1' }]);
      if (sql.includes('gtid_mode')) return ok([{ m: values['gtid_mode'] ?? 'ON' }]);
      if (sql.startsWith('SET')) {
        if (denied) throw new EngineError('DB_QUERY', 'Access denied; you need (at least one of) the SUPER, BINLOG REPLAY privilege(s) for this operation', { errno: 1227 });
        return ok();
      }
      return ok([{ s: values['server_id'] ?? '2', d: values['domain'] ?? '1', g: values['global_domain'] ?? '1' }]);
    },
    end: async () => undefined,
    destroy: () => undefined,
  };
  return { session, sent };
}

describe('checkKeepGtids', () => {
  const gtid = { gtidBinlogPos: '0-1-12', gtidBinlogState: '0-1-12' };
  const lost: LostGtids = { gtidless: null, lowestByDomain: new Map([[0, maria(0, 1, 13n)]]) };

  it("MariaDB: returns the session's own identity after a probe that changes nothing", async () => {
    const dr = drDouble({});
    expect(await checkKeepGtids(dr.session, 'mariadb', lost, gtid)).toEqual({ flavor: 'mariadb', serverId: 2, domainId: 1 });
    expect(dr.sent).toContain('SET SESSION server_id = @@session.server_id, gtid_domain_id = @@session.gtid_domain_id');
  });

  it("refuses a DR whose binary log is off, before anything else", async () => {
    const dr = drDouble({ log_bin: '0' });
    expect((await rejected(checkKeepGtids(dr.session, 'mariadb', lost, gtid))).code).toBe(KeepGtidsErrorCode.NoBinlog);
    expect(dr.sent).toHaveLength(1);
  });

  it('refuses an account that may not set the GTID, naming the privilege', async () => {
    const e = await rejected(checkKeepGtids(drDouble({}, true).session, 'mariadb', lost, gtid));
    expect(e.code).toBe(KeepGtidsErrorCode.Privilege);
    expect(e.details).toMatchObject({ privilege: 'BINLOG REPLAY', errno: 1227 });
    const m = await rejected(checkKeepGtids(drDouble({}, true).session, 'mysql', none, gtid));
    expect(m.details).toMatchObject({ privilege: 'REPLICATION_APPLIER' });
  });

  it("refuses the DR's global domain as well as the session's", async () => {
    expect((await rejected(checkKeepGtids(drDouble({ global_domain: '0' }).session, 'mariadb', lost, gtid))).code).toBe(KeepGtidsErrorCode.OwnDomain);
  });

  it('MySQL: gtid_mode must be ON; the probe is gtid_next AUTOMATIC', async () => {
    const off = await rejected(checkKeepGtids(drDouble({ gtid_mode: 'ON_PERMISSIVE' }).session, 'mysql', none, gtid));
    expect(off.code).toBe(KeepGtidsErrorCode.GtidMode);
    expect(off.details).toMatchObject({ gtidMode: 'ON_PERMISSIVE' });
    const dr = drDouble({});
    expect(await checkKeepGtids(dr.session, 'mysql', none, gtid)).toEqual({ flavor: 'mysql' });
    expect(dr.sent).toContain("SET gtid_next = 'AUTOMATIC'");
  });
});

describe('exit code', () => {
  it('every refusal is bad input (2): nothing was written, the command or the DR is to change', () => {
    for (const code of Object.values(KeepGtidsErrorCode)) expect(exitCodeFor(new KeepGtidsError(code, 'x'))).toBe(ExitCode.BadInput);
  });
});
