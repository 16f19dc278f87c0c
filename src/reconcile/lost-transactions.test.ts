import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Gtid, Transaction } from '../binlog/transaction.js';
import { GtidSet } from '../model/gtid-set.js';
import { readTransactions } from '../source/read-transactions.js';
import { ReconcileError, ReconcileErrorCode } from '../model/reconcile-error.js';
import {
  LostSetAccumulator,
  compareBinlogPositions,
  createLostFilter,
  type DrGtidState,
  type StartRule,
} from './lost-transactions.js';

const U1 = '3e11fa47-71ca-11e1-9e33-c80aa9429562';
const U2 = '4e11fa47-71ca-11e1-9e33-c80aa9429562';

function tx(gtid: Gtid | null, file = 'mysql-bin.000001', pos = 4, end = pos + 100, timestamp = 1_700_000_000): Transaction {
  return { gtid, file, pos, end, timestamp, serverId: 1, changes: [], statements: [], annotations: [], statementMarks: [], xid: 1n, commit: 'xid' };
}
const my = (uuid: string, gno: number, tag: string | null = null): Gtid => ({ flavor: 'mysql', uuid, tag, gno: BigInt(gno) });
const ma = (domainId: number, serverId: number, seqNo: number): Gtid => ({ flavor: 'mariadb', domainId, serverId, seqNo: BigInt(seqNo) });

function lostOf(rule: StartRule, txs: Transaction[]): string {
  const f = createLostFilter(rule);
  for (const t of txs) f.isLost(t);
  return f.lostSet.toString();
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ReconcileError);
    return (e as ReconcileError).code;
  }
  return undefined;
}

describe('MySQL gtid_executed', () => {
  const state: DrGtidState = { flavor: 'mysql', gtidExecuted: `${U1}:1-5:7-9,${U2}:1-3` };

  it('honours gaps between intervals', () => {
    const txs = [1, 5, 6, 7, 9, 10].map((n) => tx(my(U1, n)));
    expect(lostOf({ kind: 'gtid', state }, txs)).toBe(`${U1}:6:10`);
  });

  it('treats a server uuid absent from the set as entirely lost', () => {
    const u3 = '5e11fa47-71ca-11e1-9e33-c80aa9429562';
    const f = createLostFilter({ kind: 'gtid', state });
    expect(f.isLost(tx(my(u3, 1)))).toEqual({ lost: true, reason: `${u3}:1 is not in the DR's gtid_executed` });
    expect(f.isLost(tx(my(U2, 3)))).toEqual({ lost: false, reason: `${U2}:3 is in the DR's gtid_executed` });
  });

  it('keeps tagged GTIDs apart from untagged ones of the same uuid', () => {
    const tagged: DrGtidState = { flavor: 'mysql', gtidExecuted: `${U1}:1-10:salvage:1-2` };
    const txs = [tx(my(U1, 3)), tx(my(U1, 3, 'salvage')), tx(my(U1, 3, 'other')), tx(my(U1, 2, 'salvage'))];
    expect(lostOf({ kind: 'gtid', state: tagged }, txs)).toBe(`${U1}:other:3,${U1}:salvage:3`);
  });

  it('rejects a MariaDB GTID against a MySQL state', () => {
    expect(codeOf(() => createLostFilter({ kind: 'gtid', state }).isLost(tx(ma(0, 1, 1))))).toBe(ReconcileErrorCode.FlavorMismatch);
  });

  it('property: a transaction is lost iff it is not in the DR state', () => {
    const uuids = [U1, U2, '5e11fa47-71ca-11e1-9e33-c80aa9429562'];
    const interval = fc.record({ uuid: fc.integer({ min: 0, max: 2 }), tag: fc.constantFrom(null, 'a', 'bb'), first: fc.integer({ min: 1, max: 40 }), len: fc.integer({ min: 0, max: 8 }) });
    const gtid = fc.record({ uuid: fc.integer({ min: 0, max: 2 }), tag: fc.constantFrom(null, 'a', 'bb'), gno: fc.integer({ min: 1, max: 50 }) });
    fc.assert(
      fc.property(fc.array(interval, { maxLength: 10 }), fc.array(gtid, { maxLength: 30 }), (intervals, gtids) => {
        const text = intervals.map((i) => `${uuids[i.uuid]}${i.tag === null ? '' : `:${i.tag}`}:${i.first}-${i.first + i.len}`).join(',');
        const inOracle = (g: (typeof gtids)[number]): boolean => intervals.some((i) => i.uuid === g.uuid && i.tag === g.tag && g.gno >= i.first && g.gno <= i.first + i.len);
        const f = createLostFilter({ kind: 'gtid', state: { flavor: 'mysql', gtidExecuted: text } });
        const expected = new GtidSet();
        for (const g of gtids) {
          const t = tx(my(uuids[g.uuid]!, g.gno, g.tag));
          expect(f.isLost(t).lost).toBe(!inOracle(g));
          if (!inOracle(g)) expected.add(t.gtid!);
        }
        expect(f.lostSet.gtids.toString()).toBe(expected.toString());
      }),
      { numRuns: 300 },
    );
  });
});

describe('MariaDB positions', () => {
  it('covers every seq_no up to gtid_slave_pos per domain, across domains', () => {
    const state: DrGtidState = { flavor: 'mariadb', gtidSlavePos: '0-1-12,5-1-3', gtidBinlogPos: '0-1-12,5-1-3' };
    const txs = [ma(0, 1, 12), ma(0, 1, 13), ma(5, 1, 3), ma(5, 1, 4), ma(7, 1, 1)].map((g) => tx(g));
    expect(lostOf({ kind: 'gtid', state }, txs)).toBe('0-1-13,5-1-4,7-1-1');
  });

  // Found by a review against real servers: a DR given the primary's server id writes 0-1-n itself
  // after the promotion, reusing the lost transactions' sequence numbers; its gtid_binlog_pos
  // (0-1-7) was taken as "same server, already applied" and every lost transaction was dropped
  // silently ("lost: 0 transaction(s)").
  it('refuses to let gtid_binlog_pos cover a GTID when the DR\'s own server id is the same (RECONCILE_SHARED_SERVER_ID)', () => {
    const state: DrGtidState = { flavor: 'mariadb', gtidSlavePos: '0-1-3', gtidBinlogPos: '0-1-7' };
    const f = createLostFilter({ kind: 'gtid', state, ownServerId: 1 });
    expect(f.isLost(tx(ma(0, 1, 3)))).toEqual({ lost: false, reason: "0-1-3 is at or before the DR's gtid_slave_pos 0-1-3 (domain 0)" });
    let error: unknown = null;
    try {
      f.isLost(tx(ma(0, 1, 4), 'mysql-bin.000001', 902));
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({
      code: 'RECONCILE_SHARED_SERVER_ID',
      details: { gtid: '0-1-4', option: '--from-gtid' },
      message:
        "0-1-4 is at or before the DR's gtid_binlog_pos 0-1-7, but the DR's own server_id is 1 too: its writes since the promotion carry the same server id and reuse the primary's sequence numbers, so its GTID state cannot say whether 0-1-4 reached it. Give the start: --from-gtid with the position the DR had replicated to (its gtid_slave_pos, 0-1-3), --from FILE:POS or --since TIME",
    });
    // Past what the DR wrote, nothing is ambiguous; another server id on the DR keeps the rule.
    expect(f.isLost(tx(ma(0, 1, 8))).lost).toBe(true);
    expect(createLostFilter({ kind: 'gtid', state, ownServerId: 2 }).isLost(tx(ma(0, 1, 4))).lost).toBe(false);
  });

  it('does not let the promoted DR\'s own d-2-n in gtid_binlog_pos cover the primary\'s d-1-n', () => {
    const state: DrGtidState = { flavor: 'mariadb', gtidSlavePos: '0-1-12', gtidBinlogPos: '0-2-17' };
    const f = createLostFilter({ kind: 'gtid', state });
    expect(f.isLost(tx(ma(0, 1, 15)))).toEqual({ lost: true, reason: "0-1-15 is after the DR's gtid_slave_pos 0-1-12 (domain 0)" });
    expect(f.isLost(tx(ma(0, 1, 12)))).toEqual({ lost: false, reason: "0-1-12 is at or before the DR's gtid_slave_pos 0-1-12 (domain 0)" });
  });

  it('once the position is met in the binlog, every later transaction of its domain is lost, lower sequence numbers of other servers included', () => {
    // Found on real servers (gtid_strict_mode=OFF): after 0-1-5 the primary logged 0-1-6, then
    // 0-3-2 relayed from an upstream in the same domain, then 0-1-7; 0-3-2 was judged received by
    // its sequence number, and dropped. A replica resuming at 0-1-5 would have been sent all three.
    const state: DrGtidState = { flavor: 'mariadb', gtidSlavePos: '0-1-5', gtidBinlogPos: '0-1-5' };
    const f = createLostFilter({ kind: 'gtid', state });
    expect([ma(0, 3, 1), ma(0, 1, 5), ma(0, 1, 6), ma(0, 3, 2), ma(0, 1, 7), ma(4, 3, 1)].map((g, i) => f.isLost(tx(g, 'mysql-bin.000001', 100 * (i + 1))))).toEqual([
      { lost: false, reason: "0-3-1 is at or before the DR's gtid_slave_pos 0-1-5 (domain 0)" },
      { lost: false, reason: "0-1-5 is at or before the DR's gtid_slave_pos 0-1-5 (domain 0)" },
      { lost: true, reason: "0-1-6 comes after the DR's gtid_slave_pos 0-1-5 in the binlog (domain 0)" },
      { lost: true, reason: "0-3-2 comes after the DR's gtid_slave_pos 0-1-5 in the binlog (domain 0)" },
      { lost: true, reason: "0-1-7 comes after the DR's gtid_slave_pos 0-1-5 in the binlog (domain 0)" },
      { lost: true, reason: "the DR's gtid_slave_pos has no entry for domain 4: 4-3-1 never reached it" },
    ]);
    expect(f.checks()).toEqual([]);
    // Read again (a window decided again): by position, the transaction before 0-1-5 is still not lost.
    expect(f.isLost(tx(ma(0, 3, 1), 'mysql-bin.000001', 100))).toEqual({ lost: false, reason: "0-3-1 is at or before the DR's gtid_slave_pos 0-1-5 (domain 0)" });
  });

  it('uses gtid_binlog_pos / gtid_binlog_state only for the same domain and server', () => {
    const noSlave: DrGtidState = { flavor: 'mariadb', gtidSlavePos: '', gtidBinlogPos: '0-2-17' };
    expect(lostOf({ kind: 'gtid', state: noSlave }, [tx(ma(0, 1, 5)), tx(ma(0, 2, 5))])).toBe('0-1-5');
    const withState: DrGtidState = { flavor: 'mariadb', gtidSlavePos: '', gtidBinlogPos: '0-2-17', gtidBinlogState: '0-1-12,0-2-17' };
    const f = createLostFilter({ kind: 'gtid', state: withState });
    expect(f.isLost(tx(ma(0, 1, 12)))).toEqual({ lost: false, reason: "0-1-12 is at or before the DR's gtid_binlog_state 0-1-12 (same domain and server)" });
    expect(f.isLost(tx(ma(0, 1, 13)))).toEqual({ lost: true, reason: "the DR's gtid_slave_pos has no entry for domain 0: 0-1-13 never reached it" });
  });

  it('trusts gtid_slave_pos across server ids of the primary\'s stream, unless narrowed', () => {
    // The primary replayed an upstream (server 3) before taking over: 0-3-1…50 then 0-1-51…
    const state: DrGtidState = { flavor: 'mariadb', gtidSlavePos: '0-1-55', gtidBinlogPos: '0-1-55' };
    expect(lostOf({ kind: 'gtid', state }, [tx(ma(0, 3, 40)), tx(ma(0, 1, 55)), tx(ma(0, 1, 56))])).toBe('0-1-56');
    const narrowed = createLostFilter({ kind: 'gtid', state: { ...state, gtidSlavePos: '0-9-55' } }, { slaveServerIds: [1] });
    expect(narrowed.isLost(tx(ma(0, 1, 40))).lost).toBe(false); // still covered by gtid_binlog_pos 0-1-55 (same server)
    expect(narrowed.isLost(tx(ma(0, 3, 40))).lost).toBe(true);
    expect(narrowed.describe()).toBe(
      "start from the DR's GTID state: DR gtid_slave_pos 0-9-55 (seq_no per domain), gtid_binlog_pos 0-1-55 (same server id only); gtid_slave_pos entries of servers other than 1 ignored; lost: 1 transaction(s) 0-3-40",
    );
  });

  it('rejects a position with two entries for one domain, and bad syntax', () => {
    expect(codeOf(() => createLostFilter({ kind: 'gtid', state: { flavor: 'mariadb', gtidSlavePos: '0-1-3,0-2-4', gtidBinlogPos: '' } }))).toBe(ReconcileErrorCode.BadDrState);
    expect(codeOf(() => createLostFilter({ kind: 'gtid', state: { flavor: 'mariadb', gtidSlavePos: '0-1', gtidBinlogPos: '' } }))).toBe(ReconcileErrorCode.BadDrState);
  });

  it('rejects a MySQL GTID against a MariaDB state', () => {
    const f = createLostFilter({ kind: 'gtid', state: { flavor: 'mariadb', gtidSlavePos: '0-1-1', gtidBinlogPos: '' } });
    expect(codeOf(() => f.isLost(tx(my(U1, 1))))).toBe(ReconcileErrorCode.FlavorMismatch);
  });
});

describe('transactions without a GTID', () => {
  const state: DrGtidState = { flavor: 'mysql', gtidExecuted: `${U1}:1-5` };

  it('are an error under a GTID rule without a fallback', () => {
    const f = createLostFilter({ kind: 'gtid', state });
    let err: unknown;
    try {
      f.isLost(tx(null, '/x/mysql-bin.000003', 1200));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReconcileError);
    expect((err as ReconcileError).code).toBe('RECONCILE_NO_GTID');
    expect((err as ReconcileError).message).toBe(
      "the transaction at mysql-bin.000003:1200 has no GTID, so the DR's GTID state cannot place it: give a position (--from FILE:POS) or a time (--since)",
    );
    expect((err as ReconcileError).details).toEqual({ file: 'mysql-bin.000003', offset: 1200 });
    expect(codeOf(() => createLostFilter({ kind: 'from-gtid', set: `${U1}:1` }).isLost(tx(null)))).toBe(ReconcileErrorCode.NoGtid);
  });

  it('are lost only after the fallback position', () => {
    const f = createLostFilter({ kind: 'gtid', state }, { noGtidFallback: { kind: 'from-position', file: 'mysql-bin.000002', pos: 500 } });
    expect(f.isLost(tx(null, 'mysql-bin.000002', 400, 500)).lost).toBe(false);
    expect(f.isLost(tx(null, 'mysql-bin.000002', 500, 600)).lost).toBe(true);
    expect(f.isLost(tx(my(U1, 9), 'mysql-bin.000001', 10, 20)).lost).toBe(true);
    expect(f.lostSet.toString()).toBe(`${U1}:9 +1 without GTID`);
    expect(f.lostSet.anonymous).toEqual(['mysql-bin.000002:500']);
    expect(f.describe()).toBe(
      `start from the DR's GTID state: DR gtid_executed ${U1}:1-5; transactions without GTID: start from position --from mysql-bin.000002:500; lost: 2 transaction(s) ${U1}:9 +1 without GTID`,
    );
  });
});

describe('--from FILE:POS', () => {
  const rule: StartRule = { kind: 'from-position', file: 'primary-bin.000001', pos: 1000 };

  it('orders by file number then offset, comparing names not directories', () => {
    const f = createLostFilter(rule);
    expect(f.isLost(tx(null, '/a/primary-bin.000001', 800, 1000))).toEqual({ lost: false, reason: 'primary-bin.000001:800 ends before --from primary-bin.000001:1000' });
    expect(f.isLost(tx(null, '/b/primary-bin.000001', 1000, 1200))).toEqual({ lost: true, reason: 'primary-bin.000001:1000 is at or after --from primary-bin.000001:1000' });
    expect(f.isLost(tx(ma(0, 1, 18), 'primary-bin.000002', 4, 300)).lost).toBe(true);
    expect(f.isLost(tx(null, 'primary-bin.000010', 4, 300)).lost).toBe(true);
    expect(compareBinlogPositions({ file: 'b.000009', pos: 9 }, { file: 'b.000010', pos: 4 })).toBeLessThan(0);
  });

  it('refuses a position inside a transaction or in another series', () => {
    expect(codeOf(() => createLostFilter(rule).isLost(tx(null, 'primary-bin.000001', 900, 1100)))).toBe(ReconcileErrorCode.PositionInsideTransaction);
    expect(codeOf(() => createLostFilter(rule).isLost(tx(null, 'mysql-bin.000001', 900, 1100)))).toBe(ReconcileErrorCode.FileSeriesMismatch);
  });
});

describe('--from-gtid SET', () => {
  it('MySQL: everything outside the set is lost', () => {
    expect(lostOf({ kind: 'from-gtid', set: `${U1}:1-3` }, [tx(my(U1, 3)), tx(my(U1, 4)), tx(my(U2, 1))])).toBe(`${U1}:4,${U2}:1`);
  });

  it('MariaDB: d-s-n entries are positions per domain, ranges are a set', () => {
    const txs = [ma(0, 1, 12), ma(0, 1, 13), ma(7, 1, 1), ma(8, 1, 2), ma(8, 1, 5)].map((g) => tx(g));
    expect(lostOf({ kind: 'from-gtid', set: '0-1-12,8-1-1-3' }, txs)).toBe('0-1-13,7-1-1,8-1-5');
  });
});

describe('--since TIME', () => {
  it('is inclusive of the given second', () => {
    const f = createLostFilter({ kind: 'since', time: 1_700_000_100 });
    expect(f.isLost(tx(ma(0, 1, 1), 'b.000001', 4, 10, 1_700_000_099))).toEqual({ lost: false, reason: 'timestamp 1700000099 is before --since 2023-11-14T22:15:00.000Z' });
    expect(f.isLost(tx(ma(0, 1, 2), 'b.000001', 10, 20, 1_700_000_100)).lost).toBe(true);
    expect(f.describe()).toBe('start from time --since 2023-11-14T22:15:00.000Z; lost: 1 transaction(s) 0-1-2');
  });
});

describe('a follow: lost as committed, not as read', () => {
  it('counts the committed windows\' transactions, those read after the last one apart', () => {
    const f = createLostFilter({ kind: 'since', time: 0 });
    const read = [tx(ma(0, 1, 5), 'b.000001', 4, 10), tx(ma(0, 1, 6), 'b.000001', 10, 20), tx(ma(0, 1, 7), 'b.000001', 20, 30)];
    for (const t of read) expect(f.isLost(t).lost).toBe(true);
    const committed = new LostSetAccumulator();
    committed.add(read[0]!);
    expect(f.describe(committed)).toBe(
      'start from time --since 1970-01-01T00:00:00.000Z; lost, following: 1 transaction(s) 0-1-5 in committed windows; 2 more read after the last one and not applied (the next run reads them again)',
    );
    committed.add(read[1]!);
    committed.add(read[2]!);
    expect(f.describe(committed)).toBe('start from time --since 1970-01-01T00:00:00.000Z; lost, following: 3 transaction(s) 0-1-5-7 in committed windows');
    expect(f.describe()).toBe('start from time --since 1970-01-01T00:00:00.000Z; lost: 3 transaction(s) 0-1-5-7');
  });
});

describe('a follow: lost as committed, not as read', () => {
  it('counts the committed windows\' transactions, those read after the last one apart', () => {
    const f = createLostFilter({ kind: 'since', time: 0 });
    const read = [tx(ma(0, 1, 5), 'b.000001', 4, 10), tx(ma(0, 1, 6), 'b.000001', 10, 20), tx(ma(0, 1, 7), 'b.000001', 20, 30)];
    for (const t of read) expect(f.isLost(t).lost).toBe(true);
    const committed = new LostSetAccumulator();
    committed.add(read[0]!);
    expect(f.describe(committed)).toBe(
      'start from time --since 1970-01-01T00:00:00.000Z; lost, following: 1 transaction(s) 0-1-5 in committed windows; 2 more read after the last one and not applied (the next run reads them again)',
    );
    committed.add(read[1]!);
    committed.add(read[2]!);
    expect(f.describe(committed)).toBe('start from time --since 1970-01-01T00:00:00.000Z; lost, following: 3 transaction(s) 0-1-5-7 in committed windows');
    expect(f.describe()).toBe('start from time --since 1970-01-01T00:00:00.000Z; lost: 3 transaction(s) 0-1-5-7');
  });
});

describe('a follow: lost as committed, not as read', () => {
  it('counts the committed windows\' transactions, those read after the last one apart', () => {
    const f = createLostFilter({ kind: 'since', time: 0 });
    const read = [tx(ma(0, 1, 5), 'b.000001', 4, 10), tx(ma(0, 1, 6), 'b.000001', 10, 20), tx(ma(0, 1, 7), 'b.000001', 20, 30)];
    for (const t of read) expect(f.isLost(t).lost).toBe(true);
    const committed = new LostSetAccumulator();
    committed.add(read[0]!);
    expect(f.describe(committed)).toBe(
      'start from time --since 1970-01-01T00:00:00.000Z; lost, following: 1 transaction(s) 0-1-5 in committed windows; 2 more read after the last one and not applied (the next run reads them again)',
    );
    committed.add(read[1]!);
    committed.add(read[2]!);
    expect(f.describe(committed)).toBe('start from time --since 1970-01-01T00:00:00.000Z; lost, following: 3 transaction(s) 0-1-5-7 in committed windows');
    expect(f.describe()).toBe('start from time --since 1970-01-01T00:00:00.000Z; lost: 3 transaction(s) 0-1-5-7');
  });
});

describe('a follow: lost as committed, not as read', () => {
  it('counts the committed windows\' transactions, those read after the last one apart', () => {
    const f = createLostFilter({ kind: 'since', time: 0 });
    const read = [tx(ma(0, 1, 5), 'b.000001', 4, 10), tx(ma(0, 1, 6), 'b.000001', 10, 20), tx(ma(0, 1, 7), 'b.000001', 20, 30)];
    for (const t of read) expect(f.isLost(t).lost).toBe(true);
    const committed = new LostSetAccumulator();
    committed.add(read[0]!);
    expect(f.describe(committed)).toBe(
      'start from time --since 1970-01-01T00:00:00.000Z; lost, following: 1 transaction(s) 0-1-5 in committed windows; 2 more read after the last one and not applied (the next run reads them again)',
    );
    committed.add(read[1]!);
    committed.add(read[2]!);
    expect(f.describe(committed)).toBe('start from time --since 1970-01-01T00:00:00.000Z; lost, following: 3 transaction(s) 0-1-5-7 in committed windows');
    expect(f.describe()).toBe('start from time --since 1970-01-01T00:00:00.000Z; lost: 3 transaction(s) 0-1-5-7');
  });
});

describe('checkpoint', () => {
  it('excludes GTIDs and positions already applied, whatever the rule', () => {
    const f = createLostFilter(
      { kind: 'since', time: 0 },
      { checkpoint: { gtids: GtidSet.parse('0-1-13-14'), position: { file: 'primary-bin.000001', pos: 5000 } } },
    );
    expect(f.isLost(tx(ma(0, 1, 14), 'primary-bin.000002', 10, 20))).toEqual({ lost: false, reason: '0-1-14 was already applied by this engine (checkpoint)' });
    expect(f.isLost(tx(null, 'primary-bin.000001', 4000, 5000))).toEqual({ lost: false, reason: 'primary-bin.000001:4000 ends at or before the checkpoint primary-bin.000001:5000' });
    expect(f.isLost(tx(ma(0, 1, 15), 'primary-bin.000002', 20, 30)).lost).toBe(true);
    expect(f.describe()).toBe('start from time --since 1970-01-01T00:00:00.000Z; excluding the checkpoint 0-1-13-14 / primary-bin.000001:5000; lost: 1 transaction(s) 0-1-15');
  });
});

describe('checkpoint ahead of what it holds', () => {
  it('a GTID the checkpoint set lacks is judged by the rule even when it ends before the checkpoint position', () => {
    // Found on real servers: a first run started too late (--from-gtid 0-1-5, or the file holding
    // 0-1-4 left out) applied only 0-1-6; the corrected re-run excluded 0-1-4 and 0-1-5 by position.
    const f = createLostFilter({ kind: 'since', time: 0 }, { checkpoint: { gtids: GtidSet.parse('0-1-6'), position: { file: 'primary-bin.000001', pos: 1686 } } });
    expect(f.isLost(tx(ma(0, 1, 4), 'primary-bin.000001', 900, 1200))).toEqual({ lost: true, reason: expect.any(String) as string });
    expect(f.isLost(tx(ma(0, 1, 5), 'primary-bin.000001', 1200, 1450)).lost).toBe(true);
    expect(f.isLost(tx(ma(0, 1, 6), 'primary-bin.000001', 1450, 1686))).toEqual({ lost: false, reason: '0-1-6 was already applied by this engine (checkpoint)' });
    expect(f.describe()).toBe('start from time --since 1970-01-01T00:00:00.000Z; excluding the checkpoint 0-1-6 / primary-bin.000001:1686; lost: 2 transaction(s) 0-1-4-5');
  });

  it('a GTID in a hole of the checkpoint set (a damaged transaction a run skipped) is still passed by the position', () => {
    const f = createLostFilter({ kind: 'since', time: 0 }, { checkpoint: { gtids: GtidSet.parse('0-1-3,0-1-5'), position: { file: 'primary-bin.000001', pos: 1686 } } });
    expect(f.isLost(tx(ma(0, 1, 4), 'primary-bin.000001', 900, 1200))).toEqual({ lost: false, reason: 'primary-bin.000001:900 ends at or before the checkpoint primary-bin.000001:1686' });
  });
});

describe('LostSetAccumulator', () => {
  it('merges ranges per domain-server and counts each transaction once', () => {
    const acc = new LostSetAccumulator();
    for (const n of [13, 14, 15, 22, 16, 17, 18, 19, 20, 21, 15]) acc.add(tx(ma(0, 1, n)));
    acc.add(tx(ma(7, 1, 1)));
    expect(acc.toString()).toBe('0-1-13-22,7-1-1');
    expect(acc.count).toBe(11);
    expect(new LostSetAccumulator().toString()).toBe('(none)');
  });
});

describe('real failover fixture (local-mariadb-10.11)', () => {
  const dir = '/work/shared/fixtures/real-binlogs/local-mariadb-10.11/failover';

  async function drState(name: string): Promise<DrGtidState> {
    const text = await readFile(join(dir, 'state', name), 'utf8');
    const v = (key: string): string | undefined => new RegExp(`^\\s*${key}:\\s*(\\S*)\\s*$`, 'm').exec(text)?.[1];
    const state = { flavor: 'mariadb' as const, gtidSlavePos: v('gtid_slave_pos') ?? '', gtidBinlogPos: v('gtid_binlog_pos') ?? '' };
    const binlogState = v('gtid_binlog_state');
    return binlogState === undefined ? state : { ...state, gtidBinlogState: binlogState };
  }

  async function judgeFixture(state: DrGtidState): Promise<{ lost: string; count: number; kept: string[]; checks: string[]; describe: string }> {
    const f = createLostFilter({ kind: 'gtid', state });
    const kept: string[] = [];
    for await (const batch of readTransactions([join(dir, 'primary', 'primary-bin.index')])) {
      for (const item of batch.items) {
        if (item.kind !== 'transaction') continue;
        const g = item.tx.gtid!;
        if (!f.isLost(item.tx).lost && g.flavor === 'mariadb') kept.push(`${g.domainId}-${g.serverId}-${g.seqNo}`);
      }
    }
    return { lost: f.lostSet.toString(), count: f.lostSet.count, kept, checks: f.checks(), describe: f.describe() };
  }

  const received = Array.from({ length: 12 }, (_, i) => `0-1-${i + 1}`);

  it('after promotion: lost is exactly 0-1-13…22 and 7-1-1, although the DR wrote 0-2-13…17', async () => {
    const state = await drState('dr_state_after_promotion.txt');
    expect(state).toEqual({ flavor: 'mariadb', gtidSlavePos: '0-1-12', gtidBinlogPos: '0-2-17', gtidBinlogState: '0-1-12,0-2-17' });
    const r = await judgeFixture(state);
    expect(r.lost).toBe('0-1-13-22,7-1-1');
    expect(r.count).toBe(11);
    expect(r.kept).toEqual(received);
    expect(r.checks).toEqual([]);
    expect(r.describe).toBe(
      "start from the DR's GTID state: DR gtid_slave_pos 0-1-12 (seq_no per domain), gtid_binlog_pos 0-2-17 (same server id only), gtid_binlog_state 0-1-12,0-2-17 (same server id only); lost: 11 transaction(s) 0-1-13-22,7-1-1",
    );
  });

  it('after promotion, from gtid_binlog_state alone (no gtid_slave_pos): the same lost set', async () => {
    const r = await judgeFixture({ flavor: 'mariadb', gtidSlavePos: '', gtidBinlogPos: '0-2-17', gtidBinlogState: '0-1-12,0-2-17' });
    expect(r.lost).toBe('0-1-13-22,7-1-1');
  });

  it('at link loss: the same lost set', async () => {
    const state = await drState('dr_state_at_link_loss.txt');
    expect(state).toEqual({ flavor: 'mariadb', gtidSlavePos: '0-1-12', gtidBinlogPos: '0-1-12' });
    const r = await judgeFixture(state);
    expect(r.lost).toBe('0-1-13-22,7-1-1');
    expect(r.kept).toEqual(received);
  });

  it('a sequence-number-only comparison against gtid_binlog_pos would wrongly keep 0-1-13…17 (the trap)', async () => {
    // What the engine must NOT do: read 0-2-17 as "domain 0 up to 17". Via --from-gtid a user
    // may state exactly that position; the filter then does what it was told.
    const f = createLostFilter({ kind: 'from-gtid', set: '0-2-17' });
    for await (const batch of readTransactions([join(dir, 'primary', 'primary-bin.index')])) {
      for (const item of batch.items) if (item.kind === 'transaction') f.isLost(item.tx);
    }
    expect(f.lostSet.toString()).toBe('0-1-18-22,7-1-1');
    // …but the filter notices that 0-2-17 is no point of the primary's stream and says so.
    expect(f.checks()).toEqual([
      "--from-gtid position 0-2-17 was not found in the binlogs read, yet it covered 17 transaction(s) of other servers in domain 0 by sequence number: if it is the DR's own GTID (written after a promotion), those transactions are lost",
    ]);
    expect(f.describe()).toContain('; CHECK: --from-gtid position 0-2-17 was not found');
  });
});

describe('--from-gtid SET that does not parse', () => {
  // What library plan({ start: { kind: 'from-gtid', set } }) and the CLI's --from-gtid both build:
  // details.option held the text ("garbage") instead of the option.
  it.each([
    ['garbage', 'garbage'],
    ['0-1-5,garbage', '0-1-5,garbage'],
    [`${U1}:5-3`, `${U1}:5-3`],
    ['0-99999999999-5', '0-99999999999-5'],
  ])('%s: details { option: --from-gtid, value: the text }', (set, value) => {
    let caught: unknown;
    try {
      createLostFilter({ kind: 'from-gtid', set });
    } catch (e) {
      caught = e;
    }
    expect(caught).toMatchObject({ code: 'GTID_SET_SYNTAX', details: { option: '--from-gtid', value } });
  });

  it('a set parsed without an option names none', () => {
    expect(() => GtidSet.parse('garbage')).toThrow(expect.objectContaining({ code: 'GTID_SET_SYNTAX', details: { value: 'garbage' } }));
  });
});
