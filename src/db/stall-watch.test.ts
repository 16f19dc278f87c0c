import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SqlResult, SqlSession } from './sql-session.js';
import { describeStall, watchStalls, watchStallsFor, type StallNotice } from './stall-watch.js';

const EMPTY: SqlResult = { rows: [], affectedRows: 0, insertId: 0 };

/** A session whose statements answer when the test says. */
function slowSession(threadId: number | undefined): { session: SqlSession; answer: () => void; sent: string[] } {
  const waiting: (() => void)[] = [];
  const sent: string[] = [];
  const session: SqlSession = {
    query: (sql) => {
      sent.push(sql);
      return new Promise((resolve) => waiting.push(() => resolve(EMPTY)));
    },
    end: async () => undefined,
    destroy: () => undefined,
    ...(threadId === undefined ? {} : { threadId }),
  };
  return { session, sent, answer: () => waiting.shift()?.() };
}

/** The side connection: PROCESSLIST answers, lock waits, the blocker's row. */
function sideSession(log: string[], fail = false): SqlSession {
  return {
    query: async (sql) => {
      log.push(sql.replace(/\s+/g, ' ').slice(0, 40));
      if (fail) throw new Error('Too many connections');
      if (sql.includes('information_schema.PROCESSLIST WHERE ID = ?')) return { ...EMPTY, rows: [{ state: 'Updating' }] };
      if (sql.includes('INNODB_LOCK_WAITS')) return { ...EMPTY, rows: [{ id: '42' }] };
      if (sql.includes('WHERE ID IN')) return { ...EMPTY, rows: [{ id: 42, user: 'app', host: '10.0.0.7:5123', command: 'Sleep', t: 300, info: null }] };
      return EMPTY;
    },
    end: async () => {
      log.push('end');
    },
    destroy: () => undefined,
  };
}

/** Time passes (fake timers: the checks run in order, whatever the machine's load). */
const sleep = async (ms: number): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms);
};

describe('watchStalls', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a statement answered before the threshold is never reported, and the side connection never opened', async () => {
    const { session, answer } = slowSession(7);
    const notices: StallNotice[] = [];
    let opened = 0;
    const watched = watchStalls(session, { afterMs: 200, openSide: async () => (opened++, sideSession([])), onStall: (n) => notices.push(n) });
    const q = watched.query('SELECT 1');
    await sleep(60);
    answer();
    await q;
    await sleep(250);
    expect(notices).toEqual([]);
    expect(opened).toBe(0);
  });

  it('a statement still waiting is reported with its state and the lock holder, again every `everyMs`, once per stall; the side connection is opened once and closed with the session', async () => {
    const { session, answer } = slowSession(7);
    const notices: StallNotice[] = [];
    const log: string[] = [];
    let opened = 0;
    const watched = watchStalls(session, { afterMs: 40, everyMs: 120, openSide: async () => (opened++, sideSession(log)), onStall: (n) => notices.push(n) });
    const q = watched.query('UPDATE `shop`.`orders` SET a = CASE WHEN id = 1 THEN 2 END WHERE id IN (1)');
    await sleep(300);
    answer();
    await q;
    const count = notices.length;
    await sleep(200);
    expect(notices.length).toBe(count);
    // At 40 ms, then 120 ms after it: 160, 280.
    expect(count).toBe(3);
    expect(notices.map((n) => n.waitedMs)).toEqual([40, 160, 280]);
    expect(notices[0]).toEqual({
      waitedMs: expect.any(Number),
      statement: 'UPDATE `shop`.`orders` SET a = CASE WHEN id = 1 THEN 2 END WHERE id IN (1)',
      table: 'shop.orders',
      connectionId: 7,
      state: 'Updating',
      blockers: [{ id: 42, user: 'app', host: '10.0.0.7:5123', command: 'Sleep', seconds: 300, statement: null }],
      unanswered: null,
    });
    expect(describeStall({ ...notices[0]!, waitedMs: 31_400 })).toBe(
      'the DR has been running one statement on shop.orders for 31 s (UPDATE `shop`.`orders` SET a = CASE WHEN id = 1 THEN 2 END WHERE id IN (1)); its state there: "Updating"; waiting for a lock held by connection 42 (app@10.0.0.7:5123, Sleep for 300 s): that transaction must end (commit, roll back or KILL 42); innodb_lock_wait_timeout ends the wait too, and the window is then decided again',
    );
    expect(opened).toBe(1);
    await watched.end();
    expect(log.at(-1)).toBe('end');
  });

  it('a DR that cannot be asked: the notice says why, and the next one asks again on a new side connection', async () => {
    const { session, answer } = slowSession(7);
    const notices: StallNotice[] = [];
    let opened = 0;
    const watched = watchStalls(session, { afterMs: 40, everyMs: 60, openSide: async () => (opened++, sideSession([], true)), onStall: (n) => notices.push(n) });
    const q = watched.query('SELECT 1');
    await sleep(200);
    answer();
    await q;
    await watched.end();
    expect(notices.map((n) => n.waitedMs)).toEqual([40, 100, 160]);
    expect(notices[0]).toMatchObject({ state: null, blockers: [], unanswered: 'Too many connections', table: null });
    expect(opened).toBe(notices.length);
    expect(describeStall({ ...notices[0]!, waitedMs: 1234 })).toBe('the DR has been running one statement for 1.2 s (SELECT 1); asking the DR why failed: Too many connections');
  });

  it('a callback that throws is ignored: no unhandled rejection, the next stall is told again', async () => {
    const { session, answer } = slowSession(7);
    let calls = 0;
    const watched = watchStalls(session, {
      afterMs: 40,
      everyMs: 60,
      openSide: async () => sideSession([]),
      onStall: () => {
        calls++;
        throw new Error('the caller failed');
      },
    });
    const q = watched.query('SELECT 1');
    await sleep(200);
    answer();
    await q;
    await watched.end();
    expect(calls).toBe(3);
  });

  it('watchStallsFor leaves the session as it is when no one listens or the wait is 0', () => {
    const { session } = slowSession(7);
    const target = { host: 'dr', port: 3306, user: 'u', redacted: 'mysql://u@dr:3306' } as Parameters<typeof watchStallsFor>[1];
    expect(watchStallsFor(session, target, undefined)).toBe(session);
    expect(watchStallsFor(session, target, () => undefined, 0)).toBe(session);
    expect(watchStallsFor(session, target, () => undefined)).not.toBe(session);
  });

  it('passes statements, answers and errors through unchanged; execute only where the session has it', async () => {
    const failing: SqlSession = { query: async () => Promise.reject(new Error('boom')), end: async () => undefined, destroy: () => undefined, encrypted: true, threadId: 3 };
    const watched = watchStalls(failing, { afterMs: 1000, openSide: async () => sideSession([]), onStall: () => undefined });
    await expect(watched.query('SELECT 1')).rejects.toThrow('boom');
    expect(watched.execute).toBeUndefined();
    expect(watched.encrypted).toBe(true);
    expect(watched.threadId).toBe(3);
    const withExecute: SqlSession = { ...failing, execute: async () => ({ ...EMPTY, affectedRows: 5 }) };
    expect(await watchStalls(withExecute, { afterMs: 1000, openSide: async () => sideSession([]), onStall: () => undefined }).execute!('INSERT', [])).toEqual({ ...EMPTY, affectedRows: 5 });
  });
});
