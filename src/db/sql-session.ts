/**
 * One plain SQL connection for code outside src/db/ that must talk to a server without
 * importing mysql2 (DESIGN.md, "Layout"): the throwaway servers of `salvage demo` and the
 * test harness use it for readiness checks, SHOW BINARY LOGS and their workloads.
 *
 * Values come back as the server prints them (dates, DECIMAL and BIGINT as strings), so a
 * caller never meets a JavaScript Date shifted by the local time zone or a rounded integer.
 */
import mysql from 'mysql2/promise';
import type { Connection, FieldPacket, QueryResult } from 'mysql2/promise';
import type { ConnectionTarget } from './connection-url.js';
import { DatabaseError } from './schema-hints.js';

/** Stable codes of session failures. */
export const SqlSessionErrorCode = {
  Connect: 'DB_CONNECT',
  Query: 'DB_QUERY',
} as const;
export type SqlSessionErrorCode = (typeof SqlSessionErrorCode)[keyof typeof SqlSessionErrorCode];

/** A result row: column name → value (string, number, null, or Buffer for binary columns). */
export type SqlRow = Readonly<Record<string, unknown>>;

/** What one statement returned: its rows (empty for DML), or the DML's counts. */
export interface SqlResult {
  readonly rows: readonly SqlRow[];
  readonly affectedRows: number;
  /** AUTO_INCREMENT value of the first row inserted, 0 when none. */
  readonly insertId: number;
}

export interface SqlSession {
  /** Runs one statement (`?` placeholders filled from `params`) and returns its rows or counts. */
  query(sql: string, params?: readonly unknown[]): Promise<SqlResult>;
  /** Closes the connection politely. */
  end(): Promise<void>;
  /** Drops the socket at once (for a server that was killed). */
  destroy(): void;
}

export interface SessionOptions {
  /** Give up connecting after this long (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Connect through this Unix socket instead of host:port. */
  readonly socketPath?: string;
}

/** Opens a session to `target`; throws DB_CONNECT (retryable) when the server does not answer. */
export async function openSession(target: ConnectionTarget, options: SessionOptions = {}): Promise<SqlSession> {
  let conn: Connection;
  try {
    conn = await mysql.createConnection({
      host: target.host,
      port: target.port,
      user: target.user,
      password: target.password,
      database: target.database,
      ...(options.socketPath === undefined ? {} : { socketPath: options.socketPath }),
      connectTimeout: options.connectTimeoutMs ?? 10_000,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      timezone: 'Z',
      charset: 'utf8mb4_general_ci',
    });
  } catch (e) {
    throw new DatabaseError(SqlSessionErrorCode.Connect, `cannot connect to ${target.redacted}: ${(e as Error).message}`, errno(e), {
      retryable: true,
      cause: e,
    });
  }
  // A server that dies drops idle connections; without a listener mysql2's 'error' event would
  // end the process. Pending and later queries still reject.
  conn.on('error', ignore);
  return new Mysql2Session(conn, target.redacted);
}

/**
 * Runs `fn` inside one transaction on `session`: COMMIT when it resolves, ROLLBACK (best effort,
 * the original error wins) when it throws.
 */
export async function transaction<T>(session: SqlSession, fn: (session: SqlSession) => Promise<T>): Promise<T> {
  await session.query('START TRANSACTION');
  let result: T;
  try {
    result = await fn(session);
  } catch (e) {
    await session.query('ROLLBACK').catch(ignore);
    throw e;
  }
  await session.query('COMMIT');
  return result;
}

class Mysql2Session implements SqlSession {
  readonly #conn: Connection;
  readonly #label: string;

  constructor(conn: Connection, label: string) {
    this.#conn = conn;
    this.#label = label;
  }

  async query(sql: string, params?: readonly unknown[]): Promise<SqlResult> {
    let result: [QueryResult, FieldPacket[]];
    try {
      result = await this.#conn.query<QueryResult>(sql, params === undefined ? undefined : [...params]);
    } catch (e) {
      const details = errno(e);
      throw new DatabaseError(SqlSessionErrorCode.Query, `${this.#label}: ${(e as Error).message} (in: ${sql.slice(0, 200)})`, details, { cause: e });
    }
    return toSqlResult(result[0]);
  }

  async end(): Promise<void> {
    try {
      await this.#conn.end();
    } catch {
      this.#conn.destroy();
    }
  }

  destroy(): void {
    this.#conn.destroy();
  }
}

function toSqlResult(result: QueryResult): SqlResult {
  if (Array.isArray(result)) return { rows: result as SqlRow[], affectedRows: 0, insertId: 0 };
  const header = result as { affectedRows?: number; insertId?: number };
  return { rows: [], affectedRows: header.affectedRows ?? 0, insertId: header.insertId ?? 0 };
}

function errno(e: unknown): { errno?: number } {
  const n = (e as { errno?: unknown } | null)?.errno;
  return typeof n === 'number' ? { errno: n } : {};
}

function ignore(): void {}
