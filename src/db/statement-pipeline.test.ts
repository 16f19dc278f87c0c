import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMariadb, type MariadbServer } from '../../test/harness/mariadb-server.js';
import { mapDbError } from './db-errors.js';
import { openSession, type SqlResult, type SqlSession } from './sql-session.js';
import { StatementPipeline } from './statement-pipeline.js';

/** A session whose statements are answered by hand, in order, as a server answers them. */
function manualSession(): { session: SqlSession; sent: string[]; answer: (error?: Error) => void; unanswered: () => number } {
  const sent: string[] = [];
  const queue: { resolve: (r: SqlResult) => void; reject: (e: Error) => void }[] = [];
  return {
    sent,
    session: {
      query: (sql) =>
        new Promise<SqlResult>((resolve, reject) => {
          sent.push(sql);
          queue.push({ resolve, reject });
        }),
      end: () => Promise.resolve(),
      destroy: () => undefined,
    },
    answer: (error) => {
      const next = queue.shift()!;
      if (error === undefined) next.resolve({ rows: [], affectedRows: 1, insertId: 0 });
      else next.reject(error);
    },
    unanswered: () => queue.length,
  };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('StatementPipeline', () => {
  it('sends without waiting for results, up to two unanswered, and settles when all are answered', async () => {
    const m = manualSession();
    const pipe = new StatementPipeline(m.session);
    let built = 0;
    const builder = (async () => {
      for (const sql of ['a', 'b', 'c', 'd']) {
        await pipe.session.query(sql);
        built++;
      }
    })();
    await turn();
    // One running, one queued: the builder waits for room before building a third.
    expect([m.sent, built]).toEqual([['a', 'b'], 1]);
    m.answer();
    await turn();
    expect(m.sent).toEqual(['a', 'b', 'c']);
    m.answer();
    m.answer();
    await builder;
    expect(m.sent).toEqual(['a', 'b', 'c', 'd']);
    const settled = pipe.settle();
    m.answer();
    expect(await settled).toBeNull();
    expect(pipe.sent).toBe(4);
  });

  it('reports the first failure in send order, refuses later statements, and leaves no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const m = manualSession();
      const pipe = new StatementPipeline(m.session, { maxInFlight: 3 });
      await pipe.session.query('a');
      await pipe.session.query('b');
      const third = pipe.session.query('c');
      m.answer(new Error('a failed'));
      m.answer(new Error('b failed'));
      await third;
      await turn();
      await expect(pipe.session.query('d')).rejects.toThrow('a failed');
      m.answer();
      expect(await pipe.settle()).toEqual({ error: new Error('a failed') });
      expect(m.sent).toEqual(['a', 'b', 'c']);
      await turn();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('turns a session that throws into that statement’s failure', async () => {
    const pipe = new StatementPipeline({
      query: () => {
        throw new Error('hook');
      },
      end: () => Promise.resolve(),
      destroy: () => undefined,
    });
    await pipe.session.query('x');
    expect(await pipe.settle()).toEqual({ error: new Error('hook') });
  });
});

describe('StatementPipeline on a server', () => {
  let db: MariadbServer;
  let session: SqlSession;

  beforeAll(async () => {
    db = await startMariadb({ name: 'statement-pipeline', binlog: false });
    session = await openSession(db.target);
    await session.query('CREATE DATABASE p');
    await session.query('CREATE TABLE p.t (id INT PRIMARY KEY, v VARCHAR(10))');
  }, 60_000);

  afterAll(async () => {
    await session?.end();
    await db?.stop();
  });

  it('a statement that fails in the middle: the ones after it run, nothing commits, the window rolls back whole', async () => {
    const pipe = new StatementPipeline(session);
    await session.query('START TRANSACTION');
    await pipe.session.query('INSERT INTO p.t VALUES (1, ?)', ['a']);
    await pipe.session.query('INSERT INTO p.t VALUES (1, ?)', ['dup']);
    // Refused or sent, depending on whether the duplicate was already answered: either way not committed.
    await pipe.session.query('INSERT INTO p.t VALUES (2, ?)', ['b']).catch(() => undefined);
    const failed = await pipe.settle();
    expect(mapDbError(failed?.error)).toMatchObject({ code: 'DB_DUPLICATE' });
    await session.query('ROLLBACK');
    expect((await session.query('SELECT COUNT(*) AS n FROM p.t')).rows).toEqual([{ n: '0' }]);
  });

  it('a clean window commits every statement, in order', async () => {
    const pipe = new StatementPipeline(session);
    await session.query('START TRANSACTION');
    for (let i = 10; i < 20; i++) await pipe.session.query('INSERT INTO p.t VALUES (?, ?)', [i, `v${i}`]);
    await pipe.session.query('UPDATE p.t SET v = CONCAT(v, ?) WHERE id >= 10', ['!']);
    expect(await pipe.settle()).toBeNull();
    await session.query('COMMIT');
    const { rows } = await session.query('SELECT id, v FROM p.t ORDER BY id');
    expect(rows).toEqual(Array.from({ length: 10 }, (_, k) => ({ id: 10 + k, v: `v${10 + k}!` })));
  });
});
