/**
 * Throwaway MariaDB servers for integration tests and benchmarks: a thin layer over
 * src/demo/throwaway-server.ts (which `salvage demo` uses too) that adds mysql2 connections
 * for test code and takes its context from this process.
 *
 * Each server gets its own temp folder (a copy of one cached template data directory, a
 * socket, an error log), listens on 127.0.0.1 on a port picked at run time, and starts with
 * `--no-defaults` so nothing on the machine leaks in. Usage:
 *
 *   let db: MariadbServer;
 *   beforeAll(async () => { db = await startMariadb({ name: 'decode' }); });
 *   afterAll(async () => { await db?.stop(); });
 *
 * or `await withMariadb({ ... }, async (db) => { ... })`, which stops in a finally.
 * Servers a test forgot are killed (and their folders removed) when the process exits or is
 * interrupted; servers orphaned by a worker that was SIGKILLed are reaped by the next start.
 * Set MARIADB_HARNESS_KEEP=1 to keep every folder for inspection.
 */
import mysql from 'mysql2/promise';
import type { Connection, QueryResult, RowDataPacket } from 'mysql2/promise';
import type { ConnectionTarget } from '../../src/db/connection-url.js';
import {
  startThrowawayServer,
  type ResolvedThrowawayOptions,
  type ThrowawayOptions,
  type ThrowawayServer,
} from '../../src/demo/throwaway-server.js';
import { EngineError } from '../../src/errors.js';
import { HarnessErrorCode, harnessBinaries } from './mariadb-binaries.js';

export { HarnessErrorCode, mariadbBinlogPath, mariadbdPath } from './mariadb-binaries.js';
export { mariadbTemplateDir } from './mariadb-template.js';

/** How a throwaway server is configured; every field optional. */
export type MariadbOptions = ThrowawayOptions;

/** The options with every default filled in. */
export type ResolvedMariadbOptions = ResolvedThrowawayOptions;

type QueryParams = Parameters<Connection['query']>[1];

/**
 * A running (or killed, restartable) throwaway server, as tests use it: the core server of
 * src/demo, with a mysql2 connection API instead of src/db sessions.
 */
export interface MariadbServer extends Omit<ThrowawayServer, 'session' | 'query'> {
  /** A new connection (caller ends it): multipleStatements, dateStrings, bigNumberStrings. */
  connect(): Promise<Connection>;
  /** Runs one statement on a shared connection and returns its rows or result header. */
  query<T extends QueryResult = RowDataPacket[]>(sql: string, params?: QueryParams): Promise<T>;
}

const KEEP_ALL = process.env['MARIADB_HARNESS_KEEP'] === '1';

/** Starts a throwaway server and resolves once it accepts connections. */
export async function startMariadb(options: MariadbOptions = {}): Promise<MariadbServer> {
  const core = await startThrowawayServer(options, { host: process, binaries: harnessBinaries(), keepAll: KEEP_ALL });
  return new HarnessServer(core);
}

/** Runs `fn` against a fresh server and stops it afterwards, even when `fn` throws. */
export async function withMariadb<T>(options: MariadbOptions, fn: (server: MariadbServer) => Promise<T>): Promise<T> {
  const server = await startMariadb(options);
  try {
    return await fn(server);
  } finally {
    await server.stop();
  }
}

/** The core server, plus mysql2 connections for test code (which may import the driver). */
class HarnessServer implements MariadbServer {
  readonly #core: ThrowawayServer;
  #shared: Promise<Connection> | undefined;

  constructor(core: ThrowawayServer) {
    this.#core = core;
  }

  get name(): string {
    return this.#core.name;
  }
  get host(): string {
    return this.#core.host;
  }
  get port(): number {
    return this.#core.port;
  }
  get url(): string {
    return this.#core.url;
  }
  get target(): ConnectionTarget {
    return this.#core.target;
  }
  get rootDir(): string {
    return this.#core.rootDir;
  }
  get dataDir(): string {
    return this.#core.dataDir;
  }
  get binlogBasename(): string | undefined {
    return this.#core.binlogBasename;
  }
  get errorLogPath(): string {
    return this.#core.errorLogPath;
  }
  get socketPath(): string {
    return this.#core.socketPath;
  }
  get pid(): number | undefined {
    return this.#core.pid;
  }
  get running(): boolean {
    return this.#core.running;
  }
  get options(): ResolvedMariadbOptions {
    return this.#core.options;
  }

  async connect(): Promise<Connection> {
    const conn = await mysql.createConnection({
      host: this.#core.host,
      port: this.#core.port,
      user: 'root',
      multipleStatements: true,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      timezone: 'Z',
      charset: 'utf8mb4_general_ci',
    });
    // A kill() drops idle connections; without a listener mysql2's 'error' event would crash the
    // worker. Pending and later queries still reject.
    conn.on('error', ignore);
    return conn;
  }

  async query<T extends QueryResult = RowDataPacket[]>(sql: string, params?: QueryParams): Promise<T> {
    if (!this.#core.running) {
      throw new EngineError(
        HarnessErrorCode.NotRunning,
        `MariaDB test server "${this.#core.name}" (${this.#core.rootDir}): cannot query, the server is not running (restart() it first)`,
      );
    }
    this.#shared ??= this.connect().catch((err: unknown) => {
      this.#shared = undefined;
      throw err;
    });
    const conn = await this.#shared;
    const [result] = await conn.query<T>(sql, params);
    return result;
  }

  binlogFiles(): Promise<string[]> {
    return this.#core.binlogFiles();
  }

  flushBinaryLogs(): Promise<void> {
    return this.#core.flushBinaryLogs();
  }

  async stop(options: { keep?: boolean } = {}): Promise<void> {
    await this.#closeShared();
    await this.#core.stop(options);
  }

  async kill(): Promise<void> {
    const shared = this.#shared;
    this.#shared = undefined;
    await this.#core.kill();
    if (shared !== undefined) (await shared.catch(() => undefined))?.destroy();
  }

  async restart(): Promise<void> {
    await this.#closeShared();
    await this.#core.restart();
  }

  logTail(lines?: number): string {
    return this.#core.logTail(lines);
  }

  async #closeShared(): Promise<void> {
    const shared = this.#shared;
    this.#shared = undefined;
    if (shared === undefined) return;
    const conn = await shared.catch(() => undefined);
    if (conn === undefined) return;
    if (this.#core.running) await conn.end().catch(() => conn.destroy());
    else conn.destroy();
  }
}

function ignore(): void {}
