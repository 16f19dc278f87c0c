/**
 * Stages the incident `salvage demo` salvages: a throwaway primary runs the shop workload, its
 * binlogs are copied while it runs (so the last one carries the in-use flag, as a crashed
 * server's file does), the server is SIGKILLed with one transaction still open, and the last
 * copy is cut in the middle of its last transaction's commit event, as when the crash hits
 * while the server writes it.
 *
 * Why copy rather than read the killed server's files: a transaction reaches the binlog only
 * at commit, so killing the server mid-transaction leaves a clean file; and a server would
 * truncate or recover its own file at the next start. The copy is what a DBA takes off a dead
 * host.
 */
import { copyFile, readFile, truncate } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { SqlSession } from '../db/sql-session.js';
import { EngineError } from '../errors.js';
import { planShopWorkload, SHOP_SCHEMA, type ShopWorkload, type WorkloadStatement } from './shop-workload.js';
import { startThrowawayServer, type ThrowawayContext, type ThrowawayServer } from './throwaway-server.js';

export const DemoErrorCode = {
  WorkloadDiverged: 'DEMO_WORKLOAD_DIVERGED',
  NoCommitEvent: 'DEMO_NO_COMMIT_EVENT',
} as const;

/** XID_EVENT (0x10), InnoDB's commit record (sql/log_event.h); the one event a crash cut hits. */
const XID_EVENT = 0x10;
const HEADER_LENGTH = 19;

export interface StageOptions {
  readonly context: ThrowawayContext;
  /** Folder the binlog copies go to (the caller creates it and decides whether it stays). */
  readonly filesDir: string;
  /** Keep the killed server's folder (datadir, error log). */
  readonly keepServer: boolean;
  readonly seed?: number;
  /** Progress lines, for stderr. */
  readonly progress: (message: string) => void;
}

/** Where the cut fell. */
export interface CutPoint {
  readonly file: string;
  /** Offset of the commit event that was cut, its full size, and the bytes left of it. */
  readonly eventOffset: number;
  readonly eventSize: number;
  readonly keptBytes: number;
  /** The file's size before and after. */
  readonly sizeBefore: number;
  readonly sizeAfter: number;
}

export interface StagedIncident {
  readonly workload: ShopWorkload;
  /** `SELECT VERSION()` of the primary. */
  readonly serverVersion: string;
  readonly port: number;
  /** The primary's folder, and whether it was kept. */
  readonly serverDir: string;
  readonly serverKept: boolean;
  /** The copies, oldest first, and the copied index file listing them. */
  readonly files: readonly string[];
  readonly indexFile: string;
  readonly cut: CutPoint;
}

/** Runs the whole staging; the server is stopped (and its folder removed unless kept) even on error. */
export async function stageIncident(options: StageOptions): Promise<StagedIncident> {
  const workload = planShopWorkload(options.seed);
  const say = options.progress;
  say('starting a throwaway MariaDB primary (binlog_format=ROW, binlog_row_metadata=FULL, binlog_checksum=CRC32)…');
  const server = await startThrowawayServer(
    { name: 'demo-primary', binlog: true, checksum: 'CRC32', rowImage: 'FULL', rowMetadata: 'FULL', keep: options.keepServer },
    options.context,
  );
  try {
    say(`primary up on ${server.url} (folder ${server.rootDir})`);
    const { rows } = await server.query('SELECT VERSION() AS v');
    const serverVersion = String(rows[0]?.['v']);
    say('creating the shop schema and running the seeded workload…');
    const session = await server.session();
    try {
      for (const ddl of SHOP_SCHEMA) await session.query(ddl);
      await runWorkload(server, session, workload);
    } finally {
      await session.end();
    }
    say(`${workload.transactions.length} transactions committed; opening one more and crashing before its COMMIT…`);
    const files = await crash(server, workload, options.filesDir);
    const cut = await cutLastCommit(files[files.length - 1]!);
    say(`copied ${files.length} binlog files; cut ${basename(cut.file)} in the middle of its last commit event`);
    return {
      workload,
      serverVersion,
      port: server.port,
      serverDir: server.rootDir,
      serverKept: options.keepServer,
      files,
      indexFile: join(options.filesDir, 'mysql-bin.index'),
      cut,
    };
  } finally {
    await server.stop({ keep: options.keepServer });
  }
}

async function runWorkload(server: ThrowawayServer, session: SqlSession, workload: ShopWorkload): Promise<void> {
  for (const [i, tx] of workload.transactions.entries()) {
    if (i === workload.rotateBefore) await server.flushBinaryLogs();
    await session.query('START TRANSACTION');
    try {
      for (const s of tx.statements) await runChecked(session, s, tx.label);
      await session.query('COMMIT');
    } catch (e) {
      await session.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }
}

/** Runs a planned statement and checks the server did what the model predicted, so the printed counts are true. */
async function runChecked(session: SqlSession, s: WorkloadStatement, label: string): Promise<void> {
  const result = await session.query(s.sql, s.params);
  const idOk = s.expectInsertId === undefined || result.insertId === s.expectInsertId;
  if (!idOk || result.affectedRows !== s.expectRows) {
    throw new EngineError(
      DemoErrorCode.WorkloadDiverged,
      `demo workload diverged from its plan at "${label}": expected ${s.expectRows} rows${s.expectInsertId === undefined ? '' : ` and id ${s.expectInsertId}`}, the server reported ${result.affectedRows} rows and id ${result.insertId}`,
    );
  }
}

/** Opens a transaction, copies the binlogs while the server runs, then SIGKILLs it. */
async function crash(server: ThrowawayServer, workload: ShopWorkload, filesDir: string): Promise<string[]> {
  const pending = await server.session();
  try {
    await pending.query('START TRANSACTION');
    await pending.query(workload.inFlight.sql, workload.inFlight.params);
    const sources = await server.binlogFiles();
    const copies: string[] = [];
    for (const source of sources) {
      const copy = join(filesDir, basename(source));
      await copyFile(source, copy);
      copies.push(copy);
    }
    await copyFile(`${server.binlogBasename!}.index`, join(filesDir, 'mysql-bin.index'));
    await server.kill();
    return copies;
  } finally {
    pending.destroy();
  }
}

/**
 * Truncates `file` in the middle of its last commit (XID) event, walking the 19-byte v4 event
 * headers by their event_size field (offset 9; log_event.h). Anything after that event (a
 * binlog checkpoint the server wrote late) goes too, so the cut always lands in a transaction.
 */
export async function cutLastCommit(file: string): Promise<CutPoint> {
  const bytes = await readFile(file);
  let last: { at: number; size: number } | undefined;
  for (let at = 4; at + HEADER_LENGTH <= bytes.length; ) {
    const size = bytes.readUInt32LE(at + 9);
    if (size < HEADER_LENGTH || at + size > bytes.length) break;
    if (bytes[at + 4] === XID_EVENT) last = { at, size };
    at += size;
  }
  if (last === undefined) {
    throw new EngineError(DemoErrorCode.NoCommitEvent, `no commit (XID) event in ${file}: nothing to cut`, { file });
  }
  // Keep the whole header and half the body: the reader can then say how long the event claims to be.
  const keptBytes = HEADER_LENGTH + Math.floor((last.size - HEADER_LENGTH) / 2);
  const sizeAfter = last.at + keptBytes;
  await truncate(file, sizeAfter);
  return { file, eventOffset: last.at, eventSize: last.size, keptBytes, sizeBefore: bytes.length, sizeAfter };
}
