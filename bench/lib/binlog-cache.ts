/**
 * The benchmarks' binlog: built once per (size, seed, workload version) with a throwaway
 * MariaDB server and the seeded workload, then kept in
 * `os.tmpdir()/binlog-salvage-bench/<key>/` as `mysql-bin.000001` plus `meta.json`
 * (row counts, sizes, how it was made). A cache entry is valid when meta.json exists and the
 * file has the size it records; meta.json is written last, so an interrupted build is
 * never mistaken for a finished one. One build runs at a time machine-wide (a lock file),
 * because two servers generating at once would halve each other's speed.
 */
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { EngineError } from '../../src/errors.js';
import { mariadbBinlogPath, startMariadb, type MariadbServer } from '../../test/harness/mariadb-server.js';
import { runWorkload, WORKLOAD_VERSION, type WorkloadCounts } from '../workload.js';

/** The server's largest max_binlog_size (1 GiB); one file must hold the whole workload. */
export const MAX_BINLOG_SIZE = 1 << 30;
/** Batches overshoot the target by up to ~1 MiB of SQL; stay clear of a rotation. */
export const MAX_TARGET_BYTES = MAX_BINLOG_SIZE - (32 << 20);
const META_FORMAT = 1;
const LOCK_WAIT_MS = 45 * 60_000;

export const BenchErrorCode = {
  BuildFailed: 'BENCH_BINLOG_BUILD_FAILED',
  LockTimeout: 'BENCH_BINLOG_LOCK_TIMEOUT',
} as const;

/** Row changes as `mariadb-binlog -v` prints them (### INSERT INTO / UPDATE / DELETE FROM). */
export interface PrintedRows {
  readonly inserts: number;
  readonly updates: number;
  readonly deletes: number;
}

/** meta.json of a cached binlog. */
export interface BinlogMeta {
  readonly format: number;
  readonly key: string;
  readonly seed: number;
  readonly targetBytes: number;
  readonly workloadVersion: number;
  readonly file: string;
  readonly bytes: number;
  readonly counts: WorkloadCounts;
  /** The same counts read back from the file with mariadb-binlog -v, or null if that failed. */
  readonly printedRows: PrintedRows | null;
  readonly serverVersion: string;
  readonly serverOptions: string;
  readonly generatedAt: string;
  readonly generationSeconds: number;
}

/** A ready binlog and what is known about it. */
export interface BenchBinlog {
  readonly path: string;
  readonly dir: string;
  readonly meta: BinlogMeta;
  /** False when it was just built. */
  readonly cached: boolean;
}

export interface EnsureOptions {
  readonly targetBytes: number;
  readonly seed: number;
  /** Build again even if a valid cache entry exists. */
  readonly rebuild?: boolean;
  /** Progress lines (stderr in the CLI). */
  readonly log: (line: string) => void;
}

/** The cache root, `os.tmpdir()/binlog-salvage-bench`. */
export function benchCacheRoot(): string {
  return join(tmpdir(), 'binlog-salvage-bench');
}

/** The cache key of a (size, seed) pair under the current workload version. */
export function cacheKey(targetBytes: number, seed: number): string {
  return `mixed-${targetBytes}-seed${seed}-w${WORKLOAD_VERSION}`;
}

/** Returns the cached binlog for (size, seed), building it first if needed. */
export async function ensureBenchBinlog(options: EnsureOptions): Promise<BenchBinlog> {
  const key = cacheKey(options.targetBytes, options.seed);
  const dir = join(benchCacheRoot(), key);
  if (!options.rebuild) {
    const hit = readValid(dir);
    if (hit !== null) return { path: join(dir, hit.file), dir, meta: hit, cached: true };
  }
  mkdirSync(benchCacheRoot(), { recursive: true });
  const release = await acquireLock(join(benchCacheRoot(), 'build.lock'), options.log);
  try {
    // Another process may have built it while we waited for the lock.
    const hit = options.rebuild ? null : readValid(dir);
    if (hit !== null) return { path: join(dir, hit.file), dir, meta: hit, cached: true };
    const meta = await build(dir, key, options);
    return { path: join(dir, meta.file), dir, meta, cached: false };
  } finally {
    release();
  }
}

function readValid(dir: string): BinlogMeta | null {
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as BinlogMeta;
    if (meta.format !== META_FORMAT || meta.workloadVersion !== WORKLOAD_VERSION) return null;
    return statSync(join(dir, meta.file)).size === meta.bytes ? meta : null;
  } catch {
    return null;
  }
}

async function build(dir: string, key: string, options: EnsureOptions): Promise<BinlogMeta> {
  const { targetBytes, seed, log } = options;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  log(`building a ${mb(targetBytes)} MB binlog (seed ${seed}) in ${dir}; this happens once per size and seed`);
  const started = Date.now();
  const server = await startMariadb({
    name: 'bench-binlog',
    binlog: true,
    rowImage: 'FULL',
    rowMetadata: 'FULL',
    checksum: 'CRC32',
    maxBinlogSize: MAX_BINLOG_SIZE,
    durable: false,
    // Most of the data stays in memory: the workload is bound by the server's CPU, not by page I/O.
    bufferPool: '1G',
    extraArgs: ['--max-allowed-packet=64M'],
  });
  try {
    const counts = await generate(server, targetBytes, seed, log, started);
    const files = await server.binlogFiles();
    const first = files[0];
    if (first === undefined) throw new EngineError(BenchErrorCode.BuildFailed, 'the bench server reports no binlog file');
    // Closing the file (a Rotate event, in-use flag cleared) makes it the finished file a salvage run would get.
    await server.flushBinaryLogs();
    const after = await server.binlogFiles();
    if (files.length !== 1 || after.length !== 2) {
      throw new EngineError(BenchErrorCode.BuildFailed, `the workload did not fit one binlog file: ${after.map((f) => basename(f)).join(', ')}`);
    }
    const [versionRow] = await server.query<RowDataPacket[]>('SELECT VERSION() AS v');
    const serverVersion = String(versionRow?.['v'] ?? 'unknown');
    const file = basename(first);
    copyFileSync(first, join(dir, `${file}.partial`));
    renameSync(join(dir, `${file}.partial`), join(dir, file));
    await server.stop();
    const generationSeconds = (Date.now() - started) / 1000;
    const path = join(dir, file);
    log(`checking the row counts with mariadb-binlog -v …`);
    const printedRows = await countPrintedRows(path).catch((err: unknown) => {
      log(`  mariadb-binlog -v count failed: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    });
    if (printedRows !== null && (printedRows.inserts !== counts.inserts || printedRows.updates !== counts.updates || printedRows.deletes !== counts.deletes)) {
      log(
        `  WARNING: mariadb-binlog -v prints ${printedRows.inserts}/${printedRows.updates}/${printedRows.deletes} row changes, the workload counted ${counts.inserts}/${counts.updates}/${counts.deletes}`,
      );
    }
    const meta: BinlogMeta = {
      format: META_FORMAT,
      key,
      seed,
      targetBytes,
      workloadVersion: WORKLOAD_VERSION,
      file,
      bytes: statSync(path).size,
      counts,
      printedRows,
      serverVersion,
      serverOptions: 'binlog_format=ROW binlog_row_image=FULL binlog_row_metadata=FULL binlog_checksum=CRC32 binlog_annotate_row_events=ON',
      generatedAt: new Date().toISOString(),
      generationSeconds,
    };
    writeFileSync(join(dir, 'meta.json.partial'), `${JSON.stringify(meta, null, 2)}\n`);
    renameSync(join(dir, 'meta.json.partial'), join(dir, 'meta.json'));
    log(`built ${file}: ${mb(meta.bytes)} MB, ${counts.rowChanges.toLocaleString('en-US')} row changes, ${counts.transactions.toLocaleString('en-US')} transactions in ${generationSeconds.toFixed(0)} s`);
    return meta;
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  } finally {
    await server.stop();
  }
}

async function generate(server: MariadbServer, targetBytes: number, seed: number, log: (line: string) => void, started: number): Promise<WorkloadCounts> {
  const binlog = `${server.binlogBasename ?? ''}.000001`;
  const conn = await server.connect();
  let lastLog = Date.now();
  try {
    return await runWorkload(async (sql) => (await conn.query(sql))[0], {
      seed,
      until: () => statSync(binlog).size >= targetBytes,
      onBatch: (c) => {
        const now = Date.now();
        if (now - lastLog < 5000) return;
        lastLog = now;
        const s = (now - started) / 1000;
        log(`  ${mb(statSync(binlog).size)} of ${mb(targetBytes)} MB, ${c.rowChanges.toLocaleString('en-US')} row changes, ${Math.round(c.rowChanges / s).toLocaleString('en-US')} rows/s`);
      },
    });
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

/** Counts the row changes `mariadb-binlog -v` prints: a check of the workload's own counts that needs no salvage code. */
export async function countPrintedRows(path: string): Promise<PrintedRows> {
  // awk over the text is ~5× faster than splitting a GB of output into lines in Node.
  const script = `"$0" -v "$1" | awk '/^### INSERT INTO /{i++} /^### UPDATE /{u++} /^### DELETE FROM /{d++} END{print i+0, u+0, d+0}'`;
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', ['-c', `set -o pipefail; ${script}`, mariadbBinlogPath(), path], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (text += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-2000)));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}: ${err.trim()}`))));
  });
  const [inserts, updates, deletes] = out.trim().split(/\s+/).map(Number);
  return { inserts: inserts ?? NaN, updates: updates ?? NaN, deletes: deletes ?? NaN };
}

/** Takes the build lock, waiting while a live process holds it; returns the release function. */
async function acquireLock(path: string, log: (line: string) => void): Promise<() => void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let told = false;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = Number(readFileSync(path, 'utf8').trim());
    if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
      rmSync(path, { force: true });
      continue;
    }
    if (!told) {
      log(`waiting for process ${holder}, which is building a bench binlog (${path})`);
      told = true;
    }
    if (Date.now() > deadline) throw new EngineError(BenchErrorCode.LockTimeout, `bench binlog lock ${path} still held by process ${holder}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
