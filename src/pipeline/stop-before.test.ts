import { describe, expect, it } from 'vitest';
import type { Transaction, TransactionItem } from '../binlog/transaction.js';
import { parseStopBefore, refuseStopPassed, StopWatch } from './stop-before.js';

function item(file: string, pos: number, gtid: string | null = null): TransactionItem {
  const g = gtid === null ? null : (([d, s, n]) => ({ flavor: 'mariadb' as const, domainId: Number(d), serverId: Number(s), seqNo: BigInt(n!) }))(gtid.split('-'));
  const tx: Transaction = { gtid: g, file, pos, end: pos + 100, timestamp: 0, serverId: 1, changes: [], statements: [], annotations: [], statementMarks: [], xid: 1n, commit: 'xid' };
  return { kind: 'transaction', tx };
}

describe('parseStopBefore', () => {
  it('reads GTIDs of both flavours (normalised as the decoder prints them) and FILE:POS (by base name)', () => {
    expect(parseStopBefore(' 0-01-0042 ')).toEqual({ kind: 'gtid', text: '0-01-0042', gtid: '0-1-42' });
    expect(parseStopBefore('3E11FA47-71CA-11E1-9E33-C80AA9429562:23')).toEqual({ kind: 'gtid', text: '3E11FA47-71CA-11E1-9E33-C80AA9429562:23', gtid: '3e11fa47-71ca-11e1-9e33-c80aa9429562:23' });
    expect(parseStopBefore('3e11fa47-71ca-11e1-9e33-c80aa9429562:Blue:7').kind).toBe('gtid');
    expect(parseStopBefore('/recovered/mysql-bin.000042:1234')).toEqual({ kind: 'position', text: '/recovered/mysql-bin.000042:1234', file: 'mysql-bin.000042', pos: 1234 });
  });

  it('refuses other shapes as BAD_OPTION naming the option and the value', () => {
    const refusal = (v: unknown): unknown => {
      try {
        parseStopBefore(v);
      } catch (e) {
        return e;
      }
      throw new Error('accepted');
    };
    expect(refusal('mysql-bin.000001:3')).toMatchObject({ code: 'BAD_OPTION', details: { option: '--stop-before' }, message: '--stop-before: a binlog position is at least 4 (a file\'s first event), got "mysql-bin.000001:3"' });
    expect(refusal('0-1-18446744073709551616')).toMatchObject({ code: 'BAD_OPTION', message: '--stop-before: a MariaDB GTID is DOMAIN-SERVER-SEQ with 32-bit domain and server ids and a 64-bit sequence number, got "0-1-18446744073709551616"' });
    expect(refusal('3e11fa47-71ca-11e1-9e33-c80aa9429562:0')).toMatchObject({ code: 'BAD_OPTION', message: '--stop-before: a MySQL GTID number is between 1 and 2^63-1, got "3e11fa47-71ca-11e1-9e33-c80aa9429562:0"' });
    expect(refusal(12)).toMatchObject({ code: 'BAD_OPTION', message: '--stop-before: expected a GTID or FILE:POS as a string, got 12' });
  });
});

describe('StopWatch', () => {
  it('meets a GTID, and a FILE:POS where a transaction starts; the read stops there', () => {
    const byGtid = new StopWatch(parseStopBefore('0-1-3'));
    expect([item('/x/b.000001', 100, '0-1-2'), item('/x/b.000001', 200, '0-1-3')].map((i) => byGtid.check(i))).toEqual([false, true]);
    expect(byGtid.met).toEqual({ asked: '0-1-3', gtid: '0-1-3', file: 'b.000001', pos: 200 });
    const byPos = new StopWatch(parseStopBefore('b.000002:300'));
    expect([item('/x/b.000001', 100), item('/x/b.000002', 200), item('/x/b.000002', 300)].map((i) => byPos.check(i))).toEqual([false, false, true]);
    expect(byPos.met).toEqual({ asked: 'b.000002:300', gtid: null, file: 'b.000002', pos: 300 });
  });

  it('a FILE:POS the read passes (inside a transaction, or a file it left without meeting it) ends the read and is refused naming the nearest starts', () => {
    const inside = new StopWatch(parseStopBefore('b.000001:150'));
    expect([item('/x/b.000001', 100), item('/x/b.000001', 200)].map((i) => inside.check(i))).toEqual([false, true]);
    expect(inside.met).toBeNull();
    expect(inside.refusal()).toMatchObject({
      code: 'INPUT_STOP_OUTSIDE',
      details: { option: '--stop-before', value: 'b.000001:150', file: 'b.000001', offset: 150 },
      message: '--stop-before b.000001:150: no transaction starts there — 150 lies after the transaction at b.000001:100 starts and before the next, at 200: give the position where a transaction starts (100, or 200), as salvage inspect prints it ("pos")',
    });
    const left = new StopWatch(parseStopBefore('b.000001:900'));
    expect([item('/x/b.000001', 100), item('/x/b.000002', 4)].map((i) => left.check(i))).toEqual([false, true]);
    expect(left.refusal().message).toBe('--stop-before b.000001:900: no transaction of the input starts there (the read passed from b.000001 to b.000002): give the position where a transaction starts in a binlog read, as salvage inspect prints it ("pos"), or its GTID');
    const never = new StopWatch(parseStopBefore('0-1-9'));
    never.check(item('/x/b.000001', 100, '0-1-2'));
    expect(never.refusal()).toMatchObject({
      code: 'INPUT_STOP_NOT_FOUND',
      details: { option: '--stop-before', value: '0-1-9', gtid: '0-1-9' },
      message: '--stop-before 0-1-9: no transaction of the input has this GTID (1 transaction(s) read, the last 0-1-2 at b.000001:100): give the GTID of a transaction in the binlogs read (salvage inspect lists them), or its position FILE:POS',
    });
  });
});

describe('StopWatch under --follow', () => {
  it('a FILE:POS inside a transaction is passed as soon as that transaction is read: it is not applied either', () => {
    const w = new StopWatch(parseStopBefore('b.000001:150'), { follow: true });
    // item() makes transactions 100 bytes long: 100 … 200.
    expect([item('/x/b.000001', 20), item('/x/b.000001', 100)].map((i) => w.check(i))).toEqual([false, true]);
    expect(w.met).toBeNull();
    expect(w.refusal()).toMatchObject({ code: 'INPUT_STOP_OUTSIDE', details: { file: 'b.000001', offset: 150 } });
    expect(w.refusal().message).toContain('it lies inside the transaction at b.000001:100 (which ends at 200)');
    // Without --follow the same read waits for the next transaction to tell.
    expect(new StopWatch(parseStopBefore('b.000001:150')).check(item('/x/b.000001', 100))).toBe(false);
  });

  it('a GTID is passed when one of its domain at or past its number is read instead; other domains and lower numbers go on', () => {
    const w = new StopWatch(parseStopBefore('0-1-5'), { follow: true });
    expect([item('/x/b.000001', 100, '0-1-4'), item('/x/b.000001', 200, '1-1-9'), item('/x/b.000001', 300, '0-2-5')].map((i) => w.check(i))).toEqual([false, false, true]);
    expect(w.refusal()).toMatchObject({ code: 'INPUT_STOP_NOT_FOUND', details: { gtid: '0-1-5', file: 'b.000001', offset: 300 } });
    expect(w.refusal().message).toMatch(/^--stop-before 0-1-5: the follow read 0-2-5 at b\.000001:300, at or past it in its GTID stream, without meeting it/);
    const met = new StopWatch(parseStopBefore('0-1-5'), { follow: true });
    expect([item('/x/b.000001', 100, '0-1-4'), item('/x/b.000001', 200, '0-1-5')].map((i) => met.check(i))).toEqual([false, true]);
    expect(met.met).toEqual({ asked: '0-1-5', gtid: '0-1-5', file: 'b.000001', pos: 200 });
  });

  it('refuseStopPassed: a position before where the follow starts, or a GTID the DR holds; the start itself is no error', () => {
    const at = { file: 'b.000002', pos: 400 };
    expect(() => refuseStopPassed(parseStopBefore('b.000002:400'), at, false)).not.toThrow();
    expect(() => refuseStopPassed(parseStopBefore('b.000003:4'), at, false)).not.toThrow();
    expect(() => refuseStopPassed(parseStopBefore('b.000002:399'), at, false)).toThrow(expect.objectContaining({ code: 'INPUT_STOP_OUTSIDE', details: expect.objectContaining({ offset: 399 }) }));
    expect(() => refuseStopPassed(parseStopBefore('b.000001:900'), at, false)).toThrow(/the follow starts at b\.000002:400, after it: that point is already past/);
    expect(() => refuseStopPassed(parseStopBefore('0-1-5'), null, false)).not.toThrow();
    expect(() => refuseStopPassed(parseStopBefore('0-1-5'), null, true)).toThrow(expect.objectContaining({ code: 'INPUT_STOP_OUTSIDE', details: expect.objectContaining({ gtid: '0-1-5' }) }));
  });
});
