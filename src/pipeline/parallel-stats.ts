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

/**
 * Cuts the input into `parts` contiguous jobs of similar size: job k starts at the first
 * transaction start at or after k/parts of the total bytes (files are never reordered).
 */
async function planRanges(files: readonly BinlogFile[], parts: number): Promise<BinlogFile[][]> {
  const total = files.reduce((n, f) => n + f.size, 0);
  // Global cut points k·total/parts as (file, offset in it); offset 0 = break before that file.
  const cuts = new Map<number, number[]>();
  let base = 0;
  let k = 1;
  for (let fi = 0; fi < files.length; fi++) {
    const size = files[fi]!.size;
    for (; k < parts && Math.floor((k * total) / parts) < base + size; k++) {
      cuts.set(fi, [...(cuts.get(fi) ?? []), Math.floor((k * total) / parts) - base]);
    }
    base += size;
  }
  const jobs: BinlogFile[][] = [[]];
  const breakJob = (): void => {
    if (jobs[jobs.length - 1]!.length > 0) jobs.push([]);
  };
  for (let fi = 0; fi < files.length; fi++) {
    const f = files[fi]!;
    const wanted = cuts.get(fi) ?? [];
    if (wanted[0] === 0) breakJob();
    const inside = wanted.filter((o) => o > 0);
    const fde = inside.length > 0 ? await readFormatDescription(f.path) : null;
    let start = 0;
    for (const near of fde ? inside : []) {
      const at = await findTransactionStart(f.path, near, fde!);
      if (at === null || at <= start) continue;
      jobs[jobs.length - 1]!.push({ path: f.path, size: f.size, range: { start, end: at, formatDescription: fde } });
      breakJob();
      start = at;
    }
    jobs[jobs.length - 1]!.push(start === 0 ? f : { path: f.path, size: f.size, range: { start, end: f.size, formatDescription: fde } });
  }
  return jobs.filter((j) => j.length > 0);
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
  // The last job runs in this thread, the others in workers: this thread would only wait anyway,
  // and one worker fewer saves its start-up (~0.1 s of module loading) and its heap.
  let last = 0;
  const here = (ranges: BinlogFile[]): Promise<StatsResult> => collectStats({ ...base, ranges }, (b) => (onBytes(b - last), (last = b)));
  const results = await Promise.all(jobs.map((ranges, i) => (i === jobs.length - 1 ? here(ranges) : runWorker(workerUrl, { ...base, ranges }, onBytes))));
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
