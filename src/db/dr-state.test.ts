import { describe, expect, it } from 'vitest';
import { readBinlogEnd } from './dr-state.js';
import { DatabaseError } from './schema-hints.js';
import type { SqlResult, SqlSession } from './sql-session.js';

/** A session that answers each statement from `answers` (a row, or an error to throw) and logs what it was sent. */
function scripted(answers: Readonly<Record<string, Record<string, unknown> | Error>>): SqlSession & { readonly sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    query(sql: string): Promise<SqlResult> {
      sent.push(sql);
      const a = answers[sql];
      if (a === undefined) return Promise.reject(new Error(`unexpected statement: ${sql}`));
      if (a instanceof Error) return Promise.reject(a);
      return Promise.resolve({ rows: [a], affectedRows: 0, insertId: 0 });
    },
    end: () => Promise.resolve(),
    destroy: () => undefined,
  };
}

const queryError = (errno: number | undefined, message: string): DatabaseError =>
  new DatabaseError('DB_QUERY', `mysql://root@dr:3306: ${message}`, errno === undefined ? {} : { errno });

describe('readBinlogEnd', () => {
  it('reads SHOW MASTER STATUS', async () => {
    const s = scripted({ 'SHOW MASTER STATUS': { File: 'dr-bin.000003', Position: 1234 } });
    expect(await readBinlogEnd(s)).toEqual({ file: 'dr-bin.000003', pos: 1234 });
    expect(s.sent).toEqual(['SHOW MASTER STATUS']);
  });

  it('tries the other spelling after a syntax error (MySQL 8.4 has only SHOW BINARY LOG STATUS)', async () => {
    const s = scripted({
      'SHOW MASTER STATUS': queryError(1064, 'You have an error in your SQL syntax'),
      'SHOW BINARY LOG STATUS': { File: 'binlog.000007', Position: 99 },
    });
    expect(await readBinlogEnd(s)).toEqual({ file: 'binlog.000007', pos: 99 });
    expect(s.sent).toEqual(['SHOW MASTER STATUS', 'SHOW BINARY LOG STATUS']);
  });

  it('is null for an account without the privilege (the end unknown), as for a server without binary logging', async () => {
    const denied = queryError(1227, 'Access denied; you need (at least one of) the SUPER, BINLOG MONITOR privilege(s) for this operation');
    expect(await readBinlogEnd(scripted({ 'SHOW MASTER STATUS': denied, 'SHOW BINARY LOG STATUS': queryError(1064, 'syntax') }))).toBeNull();
    const off = scripted({});
    off.query = (sql) => (off.sent.push(sql), Promise.resolve({ rows: [], affectedRows: 0, insertId: 0 }));
    expect(await readBinlogEnd(off)).toBeNull();
  });

  it('rethrows a lost connection (no errno, or the server\'s 2013 / 1927), untouched and without trying the other spelling', async () => {
    for (const lost of [queryError(undefined, 'Connection lost: The server closed the connection.'), queryError(2013, 'Lost connection to server during query'), queryError(1927, 'Connection was killed')]) {
      const s = scripted({ 'SHOW MASTER STATUS': lost, 'SHOW BINARY LOG STATUS': { File: 'x', Position: 4 } });
      await expect(readBinlogEnd(s)).rejects.toBe(lost);
      expect(s.sent).toEqual(['SHOW MASTER STATUS']);
    }
  });

  it('rethrows a lost connection met on the second spelling', async () => {
    const lost = queryError(undefined, "Can't add new command when connection is in closed state");
    const s = scripted({ 'SHOW MASTER STATUS': queryError(1064, 'syntax'), 'SHOW BINARY LOG STATUS': lost });
    await expect(readBinlogEnd(s)).rejects.toBe(lost);
  });
});
