/**
 * `inspect --stats` on several cores: large files are cut at transaction starts
 * (source/split-points.ts) into ranges that worker threads decode at once; their counts merge in
 * input order. The result equals a sequential run (a test holds it to that).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BinlogError, EngineError, type BinlogErrorCode, type ErrorDetails } from '../errors.js';
import type { BinlogFile } from '../source/binlog-files.js';
import { resolveBinlogFiles } from '../source/binlog-files.js';
import { findTransactionStart, readFormatDescription } from '../source/split-points.js';
import { collectStats, toPlainFilter, type StatsJob, type StatsResult } from './collect-stats.js';
import { InspectStats } from './inspect-stats.js';
import type { TransactionFilterOptions } from './transaction-filter.js';

export interface ParallelStatsOptions extends TransactionFilterOptions {
  /** Worker threads; 1 decodes in this thread. */
  readonly threads: number;
  readonly verifyChecksums?: boolean;
  /** Bytes read so far, over all threads. */
  readonly onProgress?: (bytesRead: number, bytesTotal: number) => void;
}

export interface ParallelStatsResult extends Omit<StatsResult, 'stats'> {
  readonly stats: InspectStats;
  readonly bytesTotal: number;
  /** How many threads actually ran. */
  readonly threads: number;
}

/** Cuts the files into about `parts` ranges of similar size, at transaction starts. */
async function planRanges(files: readonly BinlogFile[], parts: number): Promise<BinlogFile[][]> {
  const total = files.reduce((n, f) => n + f.size, 0);
  const target = total / parts;
  const pieces: BinlogFile[] = [];
  for (const f of files) {
    const cuts = Math.floor(f.size / target);
    const fde = cuts > 0 ? await readFormatDescription(f.path) : null;
    if (!fde) {
      pieces.push(f);
      continue;
    }
    let start = 0;
    for (let k = 1; k <= cuts; k++) {
      const at = await findTransactionStart(f.path, Math.floor((k * f.size) / (cuts + 1)), fde);
      if (at === null || at <= start) continue;
      pieces.push({ path: f.path, size: f.size, range: { start, end: at, formatDescription: fde } });
      start = at;
    }
    pieces.push(start === 0 ? f : { path: f.path, size: f.size, range: { start, end: f.size, formatDescription: fde } });
  }
  // Deal consecutive pieces to jobs by size, keeping input order within and across jobs.
  const jobs: BinlogFile[][] = [];
  let current: BinlogFile[] = [];
  let size = 0;
  for (const p of pieces) {
    current.push(p);
    size += p.range ? p.range.end - p.range.start : p.size;
    if (size >= target * 0.9 && jobs.length < parts - 1) {
      jobs.push(current);
      current = [];
      size = 0;
    }
  }
  if (current.length > 0) jobs.push(current);
  return jobs;
}

interface WireError {
  name: string;
  code: string | null;
  message: string;
  details: ErrorDetails;
  retryable: boolean;
}

function rebuild(e: WireError): Error {
  if (e.name === 'BinlogError' && e.code) return new BinlogError(e.code as BinlogErrorCode, e.message, e.details);
  if (e.code) return new EngineError(e.code, e.message, e.details, { retryable: e.retryable });
  return new Error(e.message);
}

function runWorker(url: URL, job: StatsJob, onBytes: (n: number) => void): Promise<StatsResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: job });
    worker.on('message', (m: { kind: 'progress'; bytes: number } | { kind: 'done'; result: StatsResult } | { kind: 'error'; error: WireError }) => {
      if (m.kind === 'progress') onBytes(m.bytes);
      else if (m.kind === 'done') resolve(m.result);
      else reject(rebuild(m.error));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (code !== 0) reject(new Error(`stats worker exited with code ${code}`));
    });
  });
}

/** Counts what `inspect --stats` prints, on up to `threads` threads. */
export async function parallelStats(paths: readonly string[], options: ParallelStatsOptions): Promise<ParallelStatsResult> {
  const files = await resolveBinlogFiles(paths);
  const bytesTotal = files.reduce((n, f) => n + f.size, 0);
  const workerUrl = new URL('./stats-worker.js', import.meta.url);
  // Under a TypeScript test runner the compiled worker does not exist: decode in this thread.
  const threads = existsSync(fileURLToPath(workerUrl)) ? Math.max(1, options.threads) : 1;
  const base = { allFiles: files.map((f) => f.path), filter: toPlainFilter(options), verifyChecksums: options.verifyChecksums ?? true };
  let read = 0;
  const onBytes = (n: number): void => {
    read += n;
    options.onProgress?.(read, bytesTotal);
  };
  const jobs = threads > 1 ? await planRanges(files, threads) : [files];
  let results: StatsResult[];
  if (jobs.length === 1) {
    let last = 0;
    results = [await collectStats({ ...base, ranges: jobs[0]! }, (b) => (onBytes(b - last), (last = b)))];
  } else {
    results = await Promise.all(jobs.map((ranges) => runWorker(workerUrl, { ...base, ranges }, onBytes)));
  }
  const stats = new InspectStats();
  for (const r of results) stats.merge(r.stats);
  return {
    stats,
    incomplete: results.flatMap((r) => r.incomplete),
    tails: results.flatMap((r) => r.tails),
    warnings: results.flatMap((r) => r.warnings),
    bytes: results.reduce((n, r) => n + r.bytes, 0),
    bytesTotal,
    threads: jobs.length,
  };
}
