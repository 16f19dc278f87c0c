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

interface MdlSideOptions {
  /** information_schema.PLUGINS' status of METADATA_LOCK_INFO (null: no row; 'fail': the query fails). */
  readonly plugin: string | null;
  /** setup_instruments' ENABLED of the mdl instrument. */
  readonly instrument?: string | null;
  readonly version?: string;
  /** What the holder query answers. */
  readonly holders?: readonly Record<string, unknown>[] | 'fail';
  readonly state?: string;
  /** Receives the holder query's parameters. */
  readonly asked?: unknown[][];
}

/** A side connection (thread 9) whose run's statement waits for a metadata lock; holders 12 (an idle transaction) and 15 (an ALTER). */
function mdlSide(log: string[], o: MdlSideOptions): SqlSession {
  const one = (v: string | null | undefined): SqlResult => {
    if (v === 'fail') throw new Error('SELECT command denied');
    return { ...EMPTY, rows: v === null || v === undefined ? [] : [{ s: v }] };
  };
  return {
    threadId: 9,
    query: async (sql, params) => {
      log.push(sql.replace(/\s+/g, ' '));
      if (sql.includes('information_schema.PROCESSLIST WHERE ID = ?')) return { ...EMPTY, rows: [{ state: o.state ?? 'Waiting for table metadata lock' }] };
      if (sql.includes('information_schema.PLUGINS')) return one(o.plugin);
      if (sql.includes('setup_instruments')) return one(o.instrument);
      if (sql.includes('VERSION()')) return one(o.version);
      if (sql.includes('METADATA_LOCK_INFO WHERE') || sql.includes('performance_schema.metadata_locks')) {
        o.asked?.push([...(params ?? [])]);
        if (o.holders === 'fail') throw new Error("Unknown table 'METADATA_LOCK_INFO' in information_schema");
        return { ...EMPTY, rows: o.holders ?? [] };
      }
      if (sql.includes('WHERE ID IN')) {
        const rows = [
          { id: 12, user: 'app', host: '10.0.0.7:5123', command: 'Sleep', t: 300, info: null },
          { id: 15, user: 'dba', host: 'localhost', command: 'Query', t: 20, info: 'ALTER TABLE shop.orders ADD COLUMN note TEXT' },
        ];
        return { ...EMPTY, rows: rows.filter((r) => (params ?? []).includes(r.id)) };
      }
      return EMPTY;
    },
    end: async () => undefined,
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
      metadataHolders: [],
      metadataLocks: null,
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
    expect(notices[0]).toMatchObject({ state: null, blockers: [], metadataHolders: [], metadataLocks: null, unanswered: 'Too many connections', table: null });
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

  it('a metadata-lock wait: the probe asks once per watch where the DR lists metadata locks, and the holders on the table are named, the waiting and the side connection left out', async () => {
    const { session, answer } = slowSession(7);
    const notices: StallNotice[] = [];
    const log: string[] = [];
    const asked: unknown[][] = [];
    const side = mdlSide(log, { plugin: 'ACTIVE', holders: [{ id: '7' }, { id: '9' }, { id: 12 }, { id: 15 }], asked });
    const watched = watchStalls(session, { afterMs: 40, everyMs: 60, openSide: async () => side, onStall: (n) => notices.push(n) });
    const q = watched.query('SELECT CAST(`id` AS CHAR) FROM `shop`.`orders` WHERE `id` IN (1)');
    await sleep(120);
    answer();
    await q;
    await watched.end();
    expect(notices).toHaveLength(2);
    expect(notices[0]).toEqual({
      waitedMs: 40,
      statement: 'SELECT CAST(`id` AS CHAR) FROM `shop`.`orders` WHERE `id` IN (1)',
      table: 'shop.orders',
      connectionId: 7,
      state: 'Waiting for table metadata lock',
      blockers: [],
      metadataHolders: [
        { id: 12, user: 'app', host: '10.0.0.7:5123', command: 'Sleep', seconds: 300, statement: null },
        { id: 15, user: 'dba', host: 'localhost', command: 'Query', seconds: 20, statement: 'ALTER TABLE shop.orders ADD COLUMN note TEXT' },
      ],
      metadataLocks: 'metadata-lock-info',
      unanswered: null,
    });
    // Probed once for two notices; the holders asked by schema and table apart, the side's own id (9) and 7 left out.
    expect(log.filter((l) => l.startsWith('SELECT PLUGIN_STATUS'))).toHaveLength(1);
    expect(asked).toEqual([
      ['shop', 'orders'],
      ['shop', 'orders'],
    ]);
  });

  it('the metadata-lock source by what the DR answers: performance_schema when the mdl instrument is on, a MariaDB without the plugin says so, a failing probe or holder query is no source', async () => {
    const cases: [MdlSideOptions, StallNotice['metadataLocks'], number[]][] = [
      [{ plugin: 'ACTIVE', holders: [{ id: 12 }] }, 'metadata-lock-info', [12]],
      [{ plugin: null, instrument: 'YES', holders: [{ id: 12 }] }, 'performance-schema', [12]],
      [{ plugin: 'DISABLED', instrument: 'NO', version: '10.11.19-MariaDB-0+deb12u1' }, 'plugin-not-loaded', []],
      [{ plugin: null, instrument: null, version: '10.11.19-MariaDB' }, 'plugin-not-loaded', []],
      [{ plugin: null, instrument: 'NO', version: '8.0.36' }, 'unreadable', []],
      [{ plugin: 'fail', instrument: 'fail', version: 'fail' }, 'unreadable', []],
      [{ plugin: 'ACTIVE', holders: 'fail' }, 'unreadable', []],
    ];
    for (const [o, source, ids] of cases) {
      const { session, answer } = slowSession(7);
      const notices: StallNotice[] = [];
      const log: string[] = [];
      const watched = watchStalls(session, { afterMs: 40, openSide: async () => mdlSide(log, o), onStall: (n) => notices.push(n) });
      const q = watched.query('UPDATE `shop`.`orders` SET a = 1');
      await sleep(50);
      answer();
      await q;
      await watched.end();
      expect([notices[0]?.metadataLocks, notices[0]?.metadataHolders.map((b) => b.id), notices[0]?.unanswered]).toEqual([source, ids, null]);
      const holderQueries = log.filter((l) => l.includes('METADATA_LOCK_INFO WHERE') || l.includes('performance_schema.metadata_locks'));
      expect(holderQueries).toHaveLength(source === 'metadata-lock-info' || source === 'performance-schema' || o.holders === 'fail' ? 1 : 0);
    }
  });

  it('a metadata-lock wait on a statement that names no table, a state that is no metadata-lock wait, and a wait for a schema\'s metadata lock ask nothing about metadata locks', async () => {
    for (const [sql, state] of [
      ['SELECT 1', 'Waiting for table metadata lock'],
      ['UPDATE `shop`.`orders` SET a = 1', 'Updating'],
      ['UPDATE `shop`.`orders` SET a = 1', 'Waiting for schema metadata lock'],
    ] as const) {
      const { session, answer } = slowSession(7);
      const notices: StallNotice[] = [];
      const log: string[] = [];
      const watched = watchStalls(session, { afterMs: 40, openSide: async () => mdlSide(log, { plugin: 'ACTIVE', holders: [{ id: 12 }], state }), onStall: (n) => notices.push(n) });
      const q = watched.query(sql);
      await sleep(50);
      answer();
      await q;
      await watched.end();
      expect(notices[0]).toMatchObject({ state, metadataHolders: [], metadataLocks: null });
      expect(log.filter((l) => l.includes('PLUGIN') || l.includes('METADATA_LOCK_INFO'))).toEqual([]);
    }
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

describe('describeStall', () => {
  const base: StallNotice = {
    waitedMs: 45_200,
    statement: 'SELECT CAST(`id` AS CHAR) FROM `shop`.`orders` WHERE `id` IN (1)',
    table: 'shop.orders',
    connectionId: 7,
    state: 'Waiting for table metadata lock',
    blockers: [],
    metadataHolders: [],
    metadataLocks: null,
    unanswered: null,
  };
  const idle = { id: 12, user: 'app', host: '10.0.0.7:5123', command: 'Sleep', seconds: 300, statement: null };
  const alter = { id: 15, user: 'dba', host: 'localhost', command: 'Query', seconds: 20, statement: 'ALTER TABLE shop.orders ADD COLUMN note TEXT' };

  it('names the metadata lock holders as it names a row lock holder', () => {
    expect(describeStall({ ...base, metadataHolders: [idle], metadataLocks: 'metadata-lock-info' })).toBe(
      'the DR has been running one statement on shop.orders for 45 s (SELECT CAST(`id` AS CHAR) FROM `shop`.`orders` WHERE `id` IN (1)); its state there: "Waiting for table metadata lock"; waiting for the table\'s metadata lock, held by connection 12 (app@10.0.0.7:5123, Sleep for 300 s): it must let go of the table (a transaction by commit or roll back, LOCK TABLES by UNLOCK TABLES, an ALTER by finishing) or be ended (KILL 12)',
    );
    expect(describeStall({ ...base, metadataHolders: [idle, alter], metadataLocks: 'performance-schema' })).toBe(
      'the DR has been running one statement on shop.orders for 45 s (SELECT CAST(`id` AS CHAR) FROM `shop`.`orders` WHERE `id` IN (1)); its state there: "Waiting for table metadata lock"; waiting for the table\'s metadata lock, held by connection 12 (app@10.0.0.7:5123, Sleep for 300 s), connection 15 (dba@localhost, Query for 20 s: ALTER TABLE shop.orders ADD COLUMN note TEXT): each must let go of the table (a transaction by commit or roll back, LOCK TABLES by UNLOCK TABLES, an ALTER by finishing) or be ended (KILL 12, KILL 15)',
    );
  });

  it('without holders: where to look, and on a MariaDB without the plugin how to have them named', () => {
    const where = 'the DR has been running one statement on shop.orders for 45 s (SELECT CAST(`id` AS CHAR) FROM `shop`.`orders` WHERE `id` IN (1)); its state there: "Waiting for table metadata lock"; another connection holds the table\'s metadata lock (an ALTER, LOCK TABLES, or a transaction left open that read the table): SHOW PROCESSLIST names it';
    expect(describeStall({ ...base, metadataLocks: 'plugin-not-loaded' })).toBe(`${where}; to have it named here, load MariaDB's metadata_lock_info plugin on the DR: INSTALL SONAME 'metadata_lock_info'`);
    for (const metadataLocks of ['unreadable', 'metadata-lock-info', 'performance-schema', null] as const) expect(describeStall({ ...base, metadataLocks })).toBe(where);
  });
});
