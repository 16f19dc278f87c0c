/**
 * One plain SQL connection for code outside src/db/ that must talk to a server without
 * importing mysql2 (DESIGN.md, "Layout"): the throwaway servers of `salvage demo` and the
 * test harness use it for readiness checks, SHOW BINARY LOGS and their workloads.
 *
 * Values come back as the server prints them (dates, DECIMAL and BIGINT as strings), so a
 * caller never meets a JavaScript Date shifted by the local time zone or a rounded integer.
 */
import { isIP } from 'node:net';
import { checkServerIdentity, type TLSSocket } from 'node:tls';
import type { Connection, FieldPacket, QueryResult } from 'mysql2/promise';
import type { ConnectionTarget } from './connection-url.js';
import { refusedAtConnect } from './connect-refusals.js';
import { mysql } from './driver.js';
import { DatabaseError } from './schema-hints.js';
import { revocationFailure, type PeerCertificate, type RevocationList } from './crl.js';
import { describeTlsFailure, mayFallBackToPlain, revocationLists, tlsSocketOptions } from './tls.js';

/** Stable codes of session failures. */
export const SqlSessionErrorCode = {
  Connect: 'DB_CONNECT',
  Query: 'DB_QUERY',
  /** TLS could not be set up as the settings ask (no TLS on the server, a certificate that fails its check): not retried. */
  Tls: 'DB_TLS',
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
  /**
   * Runs `sql` as a prepared statement (binary protocol: values sent as they are, never escaped or
   * lexed), prepared once per connection and text; absent where only text can be sent (a recorder).
   */
  execute?(sql: string, params: readonly unknown[]): Promise<SqlResult>;
  /**
   * Runs `sql` and hands its result to `check`, whose throw is the statement's failure: a pipeline
   * (statement-pipeline.ts), whose results read as empty, checks it when the answer arrives. Absent
   * on a plain session: the caller awaits `query` and checks the result itself.
   */
  checked?(sql: string, check: (result: SqlResult) => void): Promise<SqlResult>;
  /** Closes the connection politely. */
  end(): Promise<void>;
  /** Drops the socket at once (for a server that was killed). */
  destroy(): void;
  /** Whether the connection is encrypted (TLS); absent where unknown (a recorder, a test double). */
  readonly encrypted?: boolean;
  /** The server's id for this connection (CONNECTION_ID(), PROCESSLIST's ID); absent where unknown. */
  readonly threadId?: number;
}

export interface SessionOptions {
  /** Give up connecting after this long (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Connect through this Unix socket instead of host:port. */
  readonly socketPath?: string;
}

/**
 * Opens a session to `target`, with TLS as `target.tls` asks (default PREFERRED: encrypted when the
 * server offers TLS); throws DB_CONNECT (retryable when the server does not answer, not when it refuses
 * the account or database: details.errno says which), DB_TLS when TLS
 * cannot be set up as asked.
 */
export async function openSession(target: ConnectionTarget, sessionOptions: SessionOptions = {}): Promise<SqlSession> {
  const options: SessionOptions = { ...sessionOptions, ...(sessionOptions.socketPath === undefined && target.socket !== undefined ? { socketPath: target.socket } : {}) };
  // A Unix socket never leaves the host: the mysql client sends no TLS over it either.
  const ssl = options.socketPath === undefined ? tlsSocketOptions(target.tls, undefined, target.host) : null;
  // Read before connecting, so an unreadable list fails as an unreadable CA does.
  const crls = ssl === null ? null : revocationLists(target.tls);
  try {
    return await connect(target, options, ssl, crls);
  } catch (e) {
    const code = (e as { code?: unknown } | null)?.code;
    const driverCode = typeof code === 'string' ? code : undefined;
    // PREFERRED: a server without TLS gets a plain connection, as the mysql client makes one.
    if (ssl !== null && mayFallBackToPlain(target.tls, driverCode)) {
      try {
        return await connect(target, options, null, null);
      } catch (plain) {
        throw connectError(target, plain, undefined);
      }
    }
    throw connectError(target, e, ssl === null ? undefined : driverCode);
  }
}

async function connect(target: ConnectionTarget, options: SessionOptions, ssl: ReturnType<typeof tlsSocketOptions>, crls: readonly RevocationList[] | null): Promise<SqlSession> {
  const conn = await mysql().createConnection({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    database: target.database,
    ...(options.socketPath === undefined ? {} : { socketPath: options.socketPath }),
    ...(ssl === null ? {} : { ssl: { ...ssl } }),
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    timezone: 'Z',
    charset: 'utf8mb4_general_ci',
    queryFormat: formatQuery,
  });
  // A server that dies drops idle connections; without a listener mysql2's 'error' event would
  // end the process. Pending and later queries still reject.
  conn.on('error', ignore);
  const stream = (): TLSSocket => (conn as unknown as { readonly connection: { readonly stream: TLSSocket } }).connection.stream;
  if (target.tls?.mode === 'VERIFY_IDENTITY' && isIP(target.host) !== 0) {
    // The identity check tlsSocketOptions leaves to us for an IP host: the certificate must hold that IP.
    const mismatch = checkServerIdentity(target.host, stream().getPeerCertificate());
    if (mismatch !== undefined) {
      conn.destroy();
      throw Object.assign(mismatch, { code: 'HANDSHAKE_SSL_ERROR' });
    }
  }
  if (ssl !== null && crls !== null) {
    // The revocation check mysql2 cannot make (it drops Node's crl option): on the chain Node verified, root included.
    const revoked = revocationFailure(stream().getPeerCertificate(true) as unknown as PeerCertificate, crls);
    if (revoked !== null) {
      conn.destroy();
      throw Object.assign(new Error(revoked), { code: 'HANDSHAKE_SSL_ERROR' });
    }
  }
  return new Mysql2Session(conn, target.redacted, ssl !== null);
}

function connectError(target: ConnectionTarget, e: unknown, driverCode: string | undefined): DatabaseError {
  const reason = (e as Error).message;
  const tls = describeTlsFailure(target.tls, driverCode, reason);
  // A certificate that fails its check, or a server without TLS, stays so: no retry cures it. A handshake cut short may.
  const tlsPermanent = tls !== null && (driverCode === 'HANDSHAKE_NO_SSL_SUPPORT' || tls.startsWith('TLS: '));
  return new DatabaseError(tlsPermanent ? SqlSessionErrorCode.Tls : SqlSessionErrorCode.Connect, `cannot connect to ${target.redacted}: ${tls ?? reason}`, errno(e), {
    retryable: !tlsPermanent && !refusedAtConnect(e),
    cause: e,
  });
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
  readonly encrypted: boolean;

  constructor(conn: Connection, label: string, encrypted: boolean) {
    this.#conn = conn;
    this.#label = label;
    this.encrypted = encrypted;
  }

  get threadId(): number {
    return this.#conn.threadId;
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

  async execute(sql: string, params: readonly unknown[]): Promise<SqlResult> {
    let result: [QueryResult, FieldPacket[]];
    try {
      // mysql2 caches the prepared statement by its text (maxPreparedStatements, 16,000 by default).
      result = await this.#conn.execute<QueryResult>(sql, params as Parameters<Connection['execute']>[1]);
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
      this.destroy();
      return;
    }
    // end() resolves once COM_QUIT is written; the socket stays until the server closes it. One a
    // network dropped without a word never does, and would keep the process alive after its work
    // (a live source's control session, found by a review): dropped after a grace period.
    setTimeout(() => this.destroy(), END_GRACE_MS).unref();
  }

  destroy(): void {
    this.#conn.destroy();
    // mysql2's destroy() only half-closes (stream.end()), which leaves the socket open until the
    // server answers: close it for good.
    (this.#conn as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream?.destroy?.();
  }
}

/** How long an ended session's socket may wait for the server to close it. */
const END_GRACE_MS = 2000;

/** mysql2's `format` as the connection calls it (stringifyObjects off, the connection's time zone 'Z'). */
type Mysql2Format = (sql: string, values: unknown, stringifyObjects: boolean, timezone: string) => string;

/**
 * The connection's formatter: mysql2's own, except that a statement without values is sent as it
 * is. mysql2 scans every statement for placeholders even with none to fill, and the hot path's
 * statements arrive already written (sql-literal.ts), up to megabytes each.
 */
function formatQuery(sql: string, values: unknown): string {
  if (values === undefined || values === null || (Array.isArray(values) && values.length === 0)) return sql;
  return (mysql().format as unknown as Mysql2Format)(sql, values, false, 'Z');
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
