/**
 * `inspect --stats` on several cores: large files are cut at transaction starts
 * (source/split-points.ts) into jobs that this thread and worker threads take in turn, each the
 * next job when it is free; their counts merge in input order. The result equals a sequential
 * run (a test holds it to that).
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
  /**
   * Below this many bytes of input per thread the input is cut into one equal job per thread;
   * above it into smaller jobs that balance the threads (see jobWeights). Default 32 MiB.
   */
  readonly minBytesPerThread?: number;
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
 * Relative job sizes for `threads` threads. Jobs go to whichever thread is free, so the threads
 * end together when the last jobs are small: `threads` jobs of weight 3, then of 2, then of 1
 * (2 threads: 25, 25, 17, 17, 8 and 8 % of the input). A worker starts ~0.1 s after this thread
 * and a shared machine slows threads unevenly, which a fixed half each would not absorb. Small
 * inputs get one equal job per thread, as the cuts cost reads (a 4 MiB window each).
 */
export function jobWeights(threads: number, total: number, minBytesPerThread = 32 * 1024 * 1024): number[] {
  if (total < threads * minBytesPerThread) return Array.from({ length: threads }, () => 1);
  return [3, 2, 1].flatMap((w) => Array.from({ length: threads }, () => w));
}

/**
 * Cuts the input into contiguous jobs sized by `weights`: job k starts at the first transaction
 * start at or after the sum of the weights before it, as a share of the total bytes (files are
 * never reordered).
 */
export async function planRanges(files: readonly BinlogFile[], weights: readonly number[]): Promise<BinlogFile[][]> {
  const total = files.reduce((n, f) => n + f.size, 0);
  const sum = weights.reduce((n, w) => n + w, 0);
  const at: number[] = [];
  for (let k = 1, acc = 0; k < weights.length; k++) at.push(Math.floor(((acc += weights[k - 1]!) * total) / sum));
  // Global cut points as (file, offset in it).
  const cuts = new Map<number, number[]>();
  let base = 0;
  let k = 0;
  for (let fi = 0; fi < files.length; fi++) {
    const size = files[fi]!.size;
    for (; k < at.length && at[k]! < base + size; k++) {
      cuts.set(fi, [...(cuts.get(fi) ?? []), at[k]! - base]);
    }
    base += size;
  }
  const jobs: BinlogFile[][] = [[]];
  const breakJob = (): void => {
    if (jobs[jobs.length - 1]!.length > 0) jobs.push([]);
  };
  for (let fi = 0; fi < files.length; fi++) {
    const f = files[fi]!;
    // A cut at a file's first byte moves to its first transaction: a job that started with a
    // whole file could not check that the file before it ROTATEs to it (readTransactions warns
    // when files do not follow each other), so that check would be lost.
    const inside = cuts.get(fi) ?? [];
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

/** A message from stats-worker.ts. */
type WorkerMessage = { kind: 'ready' } | { kind: 'progress'; bytes: number } | { kind: 'done'; index: number; result: StatsResult } | { kind: 'error'; error: WireError };

/** The jobs, once planned, handed out in input order to whichever thread is free. */
class JobQueue {
  readonly results: StatsResult[] = [];
  #next = 0;

  constructor(readonly jobs: readonly BinlogFile[][]) {}

  /** The next job's index, or -1 when all are taken. */
  take(): number {
    return this.#next < this.jobs.length ? this.#next++ : -1;
  }
}

/**
 * One worker thread taking jobs until none is left. It is started before the jobs are planned
 * (its module loading overlaps the planning) and asks for work once loaded. Resolves when it has
 * been told to stop.
 */
function runWorker(url: URL, base: Omit<StatsJob, 'ranges'>, planned: Promise<JobQueue>, onBytes: (n: number) => void, started: Worker[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(url, { workerData: base });
    started.push(worker);
    let finished = false;
    const next = (queue: JobQueue): void => {
      const index = queue.take();
      if (index < 0) {
        finished = true;
        worker.postMessage({ kind: 'stop' });
        resolve();
      } else {
        worker.postMessage({ kind: 'job', index, ranges: queue.jobs[index], more: index < queue.jobs.length - 1 });
      }
    };
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'progress') onBytes(m.bytes);
      else if (m.kind === 'ready') planned.then(next, reject);
      else if (m.kind === 'done') {
        void planned.then((queue) => {
          queue.results[m.index] = m.result;
          next(queue);
        });
      } else reject(rebuild(m.error));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => {
      if (!finished) reject(new Error(`stats worker exited with code ${code} before its work was done`));
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
  const planned = (threads > 1 ? planRanges(files, jobWeights(threads, bytesTotal, options.minBytesPerThread)) : Promise.resolve([files])).then((jobs) => new JobQueue(jobs));
  // One worker fewer than threads: this thread decodes too, instead of only waiting.
  const started: Worker[] = [];
  const workers = Array.from({ length: threads - 1 }, () => runWorker(workerUrl, base, planned, onBytes, started));
  // Awaited below through Promise.all, unless planning fails first: then their rejections are moot.
  for (const w of workers) w.catch(() => undefined);
  let queue: JobQueue;
  try {
    queue = await planned;
    const here = async (q: JobQueue): Promise<void> => {
      for (let index = q.take(); index >= 0; index = q.take()) {
        let last = 0;
        q.results[index] = await collectStats({ ...base, ranges: q.jobs[index]!, more: index < q.jobs.length - 1 }, (b) => (onBytes(b - last), (last = b)));
      }
    };
    await Promise.all([here(queue), ...workers]);
  } finally {
    // Stopped workers have exited already; on a failure the others stop now, mid-job.
    for (const w of started) void w.terminate();
  }
  if (queue.results.some((r) => r.splitXa)) {
    // A cut fell between an XA PREPARE and its XA COMMIT: count the whole input again in one pass.
    return { ...mergeResults([await collectStats({ ...base, ranges: files })]), bytesTotal, threads: 1 };
  }
  return { ...mergeResults(queue.results), bytesTotal, threads: Math.min(threads, queue.jobs.length) };
}

/** The results of consecutive jobs as one: counts merged in input order, the rest concatenated. */
export function mergeResults(results: readonly StatsResult[]): Omit<ParallelStatsResult, 'bytesTotal' | 'threads'> {
  const stats = new InspectStats();
  for (const r of results) stats.merge(r.stats);
  return {
    stats,
    incomplete: results.flatMap((r) => r.incomplete),
    tails: results.flatMap((r) => r.tails),
    warnings: results.flatMap((r) => r.warnings),
    bytes: results.reduce((n, r) => n + r.bytes, 0),
  };
}
