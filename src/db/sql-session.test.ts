import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMariadb, type MariadbServer } from '../../test/harness/mariadb-server.js';
import { openSession, SqlSessionErrorCode, type SqlSession } from './sql-session.js';

describe('openSession', () => {
  let db: MariadbServer;
  let session: SqlSession;

  beforeAll(async () => {
    db = await startMariadb({ name: 'sql-session', binlog: false });
    session = await openSession(db.target);
  });

  afterAll(async () => {
    await session?.end();
    await db?.stop();
  });

  it('returns rows as the server prints them', async () => {
    const r = await session.query("SELECT 18446744073709551615 AS big, CAST('2024-01-02 03:04:05.123456' AS DATETIME(6)) AS at, 1.50 AS d, ? AS p", ['x']);
    expect(r).toEqual({ rows: [{ big: '18446744073709551615', at: '2024-01-02 03:04:05.123456', d: '1.50', p: 'x' }], affectedRows: 0, insertId: 0 });
  });

  it('returns the counts of DML', async () => {
    await session.query('CREATE DATABASE s');
    await session.query('CREATE TABLE s.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)');
    expect(await session.query('INSERT INTO s.t (v) VALUES (1), (2)')).toEqual({ rows: [], affectedRows: 2, insertId: 1 });
    expect(await session.query('UPDATE s.t SET v = v + 1')).toEqual({ rows: [], affectedRows: 2, insertId: 0 });
  });

  it('reports a failed statement as DB_QUERY with the server errno', async () => {
    await expect(session.query('SELECT * FROM s.missing')).rejects.toMatchObject({ code: SqlSessionErrorCode.Query, retryable: false, details: { errno: 1146 } });
  });

  it('reports a server that does not answer as a retryable DB_CONNECT', async () => {
    // A listener that accepts but never greets, like a foreign process on the port.
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      const target = { host: '127.0.0.1', port, user: 'root', password: undefined, database: undefined, redacted: `mysql://root@127.0.0.1:${port}` };
      await expect(openSession(target, { connectTimeoutMs: 200 })).rejects.toMatchObject({ code: SqlSessionErrorCode.Connect, retryable: true });
    } finally {
      silent.close();
    }
  });
});
