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
import type { StatsJob, StatsResult } from './collect-stats.js';
import { InspectStats } from './inspect-stats.js';
import { dropStartedWorker, STATS_WORKER_URL, takeStartedWorker } from './stats-worker-start.js';
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

export interface ParallelStatsResult extends Omit<StatsResult, 'stats' | 'splitXa'> {
  readonly stats: InspectStats;
  readonly bytesTotal: number;
  /** How many threads actually ran. */
  readonly threads: number;
}

/**
 * Relative job sizes for `threads` threads. Jobs go to whichever thread is free, so the threads
 * end together when the last jobs are small: `threads` jobs of weight 4, then of 3, 2 and 1
 * (2 threads: 20, 20, 15, 15, 10, 10, 5 and 5 % of the input). A worker starts ~0.1 s after this
 * thread and a shared machine slows threads unevenly, which a fixed half each would not absorb;
 * with last jobs of 8 % (the plan before) one thread still waited 50–200 ms for the other at the
 * end of the 300 MB bench binlog. A job costs ~1 ms of its own (a cut search, a file opened, the
 * first table maps decoded again). Small inputs get one equal job per thread, as the cuts cost
 * reads (a window each, from 64 KiB up to 4 MiB: split-points.ts).
 */
export function jobWeights(threads: number, total: number, minBytesPerThread = 32 * 1024 * 1024): number[] {
  if (total < threads * minBytesPerThread) return Array.from({ length: threads }, () => 1);
  return [4, 3, 2, 1].flatMap((w) => Array.from({ length: threads }, () => w));
}

/** One job of a plan: its ranges, and whether another job follows (it then ends at a cut). */
export interface PlannedJob {
  readonly index: number;
  readonly ranges: BinlogFile[];
  readonly more: boolean;
}

/**
 * Cuts the input into contiguous jobs sized by `weights`: job k starts at the first transaction
 * start at or after the sum of the weights before it, as a share of the total bytes (files are
 * never reordered). Every cut is searched for at once (each reads a window of its own; one after
 * the other they cost ~20 ms apiece here), and each job comes as soon as the cut ending it is
 * found, so the first thread starts before the last cut is known.
 */
export async function* planJobs(files: readonly BinlogFile[], weights: readonly number[]): AsyncGenerator<PlannedJob> {
  // Loaded here, not at the top: see parallelStats (the decoder's modules load after the workers start).
  const { findTransactionStart, readFormatDescription } = await import('../source/split-points.js');
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
  // The first cut is searched for alone, then all the others at once: the first job (this
  // thread's) waits for the first only, and the others have until a worker is up (~0.1 s).
  let first: Promise<unknown> | null = null;
  const searches = files.map((f, fi) => {
    const inside = cuts.get(fi) ?? [];
    const fde = inside.length > 0 ? readFormatDescription(f.path) : Promise.resolve(null);
    const starts = inside.map((near) => {
      const search = (): Promise<number | null> => fde.then((d) => (d === null ? null : findTransactionStart(f.path, near, d)));
      if (first === null) return (first = search());
      return first.then(search, search);
    });
    return { fde, starts };
  });
  // Settled ahead of their turn: a search that fails while an earlier one is awaited is not unhandled.
  for (const s of searches) for (const p of [s.fde, ...s.starts]) p.catch(() => undefined);
  let index = 0;
  let job: BinlogFile[] = [];
  for (let fi = 0; fi < files.length; fi++) {
    const f = files[fi]!;
    // A cut at a file's first byte moves to its first transaction: a job that started with a
    // whole file could not check that the file before it ROTATEs to it (readTransactions warns
    // when files do not follow each other), so that check would be lost.
    const fde = await searches[fi]!.fde;
    // A first file read from --start-position on (split-points.ts fileFrom) comes as a range already.
    const from = f.range?.start ?? 0;
    let start = from;
    for (const search of searches[fi]!.starts) {
      const cut = await search;
      if (cut === null || cut <= start) continue;
      job.push({ path: f.path, size: f.size, range: { start, end: cut, formatDescription: f.range?.formatDescription ?? fde } });
      yield { index: index++, ranges: job, more: true };
      job = [];
      start = cut;
    }
    job.push(start === from ? f : { path: f.path, size: f.size, range: { start, end: f.size, formatDescription: f.range?.formatDescription ?? fde } });
  }
  yield { index, ranges: job, more: false };
}

/** planJobs, all of it: the ranges of each job. */
export async function planRanges(files: readonly BinlogFile[], weights: readonly number[]): Promise<BinlogFile[][]> {
  const jobs: BinlogFile[][] = [];
  for await (const job of planJobs(files, weights)) jobs.push(job.ranges);
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

/** A message from stats-worker.ts. */
type WorkerMessage = { kind: 'ready' } | { kind: 'progress'; bytes: number } | { kind: 'done'; index: number; result: StatsResult } | { kind: 'error'; error: WireError };

/** The jobs, handed out in input order to whichever thread asks, each as soon as it is planned. */
class JobQueue {
  readonly results: StatsResult[] = [];
  /** Jobs handed out. */
  count = 0;

  constructor(
    readonly files: readonly BinlogFile[],
    readonly plan: AsyncGenerator<PlannedJob>,
  ) {}

  /** The next job, or null when all are taken. Calls may overlap: the plan answers them in order. */
  async take(): Promise<PlannedJob | null> {
    const next = await this.plan.next();
    if (next.done === true) return null;
    this.count++;
    return next.value;
  }
}

/**
 * One worker thread taking jobs until none is left. It is started before the input is resolved or
 * any job is planned (its start-up overlaps this thread loading the decoder, the planning and this
 * thread's first job) and asks for work once loaded. Resolves when it has been told to stop.
 */
function runWorker(worker: Worker, base: Promise<Omit<StatsJob, 'ranges'>>, queue: Promise<JobQueue>, onBytes: (n: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let finished = false;
    const next = (job: PlannedJob | null): void => {
      if (job === null) {
        finished = true;
        worker.postMessage({ kind: 'stop' });
        resolve();
      } else {
        base.then((b) => worker.postMessage({ kind: 'job', index: job.index, job: { ...b, ranges: job.ranges, more: job.more } }), reject);
      }
    };
    worker.on('message', (m: WorkerMessage) => {
      if (m.kind === 'progress') onBytes(m.bytes);
      else if (m.kind === 'ready') queue.then((q) => q.take()).then(next, reject);
      else if (m.kind === 'done') {
        queue
          .then((q) => {
            q.results[m.index] = m.result;
            return q.take();
          })
          .then(next, reject);
      } else reject(rebuild(m.error));
    });
    worker.on('error', reject);
    // Listening now: the worker says it is ready only after this (stats-worker.ts).
    worker.postMessage({ kind: 'go' });
    worker.on('exit', (code) => {
      if (!finished) reject(new Error(`stats worker exited with code ${code} before its work was done`));
    });
  });
}

/** Counts what `inspect --stats` prints, on up to `threads` threads. */
export async function parallelStats(paths: readonly string[], options: ParallelStatsOptions): Promise<ParallelStatsResult> {
  // Under a TypeScript test runner the compiled worker does not exist: decode in this thread.
  const threads = existsSync(fileURLToPath(STATS_WORKER_URL)) ? Math.max(1, options.threads) : 1;
  if (threads === 1) dropStartedWorker();
  // The workers start first, before the input is even resolved (the first one earlier still, when
  // the CLI started it: stats-worker-start.ts): a worker takes ~25 ms to set up Node and ~35 ms more
  // to load the decoder, which then runs beside everything this thread does next. One worker fewer
  // than threads: this thread decodes too.
  const started = Array.from({ length: threads - 1 }, (_, i) => (i === 0 ? takeStartedWorker() : null) ?? new Worker(STATS_WORKER_URL));
  let bytesTotal = 0;
  const startNotes: StatsResult['warnings'] = [];
  const queueReady = resolveBinlogFiles(paths).then(async (files) => {
    if (options.startPosition !== undefined && files.length > 0) {
      // As one pass reads it (inspect.ts): from the first transaction start at or after the position.
      const [{ fileFrom }, { startNote }] = await Promise.all([import('../source/split-points.js'), import('./filter-reads.js')]);
      const from = await fileFrom(files[0]!, options.startPosition);
      files[0] = from.file;
      const note = startNote(from, options.startPosition);
      if (note !== null) startNotes.push({ file: from.file.path, warning: note });
    }
    bytesTotal = files.reduce((n, f) => n + f.size, 0);
    return new JobQueue(files, planJobs(files, threads > 1 ? jobWeights(threads, bytesTotal, options.minBytesPerThread) : [1]));
  });
  let read = 0;
  const onBytes = (n: number): void => {
    read += n;
    options.onProgress?.(read, bytesTotal);
  };
  // The decoder's modules are asked for beside the workers' start, not before it: a worker then
  // loads them while this thread does, instead of after.
  const loaded = import('./collect-stats.js');
  const baseReady = Promise.all([loaded, queueReady]).then(([{ toPlainFilter }, q]) => ({ allFiles: q.files.map((f) => f.path), filter: toPlainFilter(options), verifyChecksums: options.verifyChecksums ?? true }));
  // Listening from the start, as a worker's messages are not kept for a listener added later.
  const workers = started.map((w) => runWorker(w, baseReady, queueReady, onBytes));
  // Awaited below (Promise.all, here()); a failure while this thread still loads is not unhandled.
  for (const p of [baseReady, queueReady, ...workers]) p.catch(() => undefined);
  const here = async (): Promise<void> => {
    const queue = await queueReady;
    const { collectStats } = await loaded;
    const base = await baseReady;
    for (let job = await queue.take(); job !== null; job = await queue.take()) {
      let last = 0;
      queue.results[job.index] = await collectStats({ ...base, ranges: job.ranges, more: job.more }, (b) => (onBytes(b - last), (last = b)));
    }
  };
  try {
    await Promise.all([here(), ...workers]);
  } finally {
    // Stopped workers have exited already; on a failure the others stop now, mid-job.
    for (const w of started) void w.terminate();
    // On a failure the plan may still be searching: let it end (its searches settle on their own).
    void queueReady.then((q) => q.plan.return(undefined)).catch(() => undefined);
  }
  const queue = await queueReady;
  if (queue.results.some((r) => r.splitXa)) {
    // A cut fell between an XA PREPARE and its XA COMMIT: count the whole input again in one pass.
    const { collectStats } = await loaded;
    return { ...mergeResults([{ ...NO_RESULT, warnings: startNotes }, await collectStats({ ...(await baseReady), ranges: queue.files })]), bytesTotal, threads: 1 };
  }
  return { ...mergeResults([{ ...NO_RESULT, warnings: startNotes }, ...queue.results]), bytesTotal, threads: Math.min(threads, queue.count) };
}

/** A result that adds nothing: what goes before the jobs' (the start position's warning). */
const NO_RESULT: StatsResult = { stats: new InspectStats().snapshot(), incomplete: [], tails: [], warnings: [], bytes: 0, splitXa: false };

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
