/**
 * A session that runs nothing: it prints each statement, values spliced in by mysql2's own
 * escaping, so `salvage plan --sql FILE` shows exactly the statements `apply` would send, in
 * order, for a person to review (and, if they insist, to run by hand).
 */
import type Mysql from 'mysql2/promise';
import { mysql } from './driver.js';
import type { SqlResult, SqlSession } from './sql-session.js';

/** A session whose statements go to `write` as text, one per call, each ending in `;`. */
export function createRecordingSession(write: (statement: string) => void): SqlSession {
  return {
    query(sql: string, params?: readonly unknown[]): Promise<SqlResult> {
      const text = params === undefined || params.length === 0 ? sql : mysql().format(sql, [...params] as Parameters<typeof Mysql.format>[1]);
      write(`${text};`);
      return Promise.resolve({ rows: [], affectedRows: 0, insertId: 0 });
    },
    end: () => Promise.resolve(),
    destroy: () => undefined,
  };
}
