/**
 * The first worker thread of `inspect --stats`, started by the CLI before it loads the command:
 * a worker takes ~25 ms to set up Node and ~35 ms to load the decoder, and every module this
 * thread loads first (the command, its options, parallel-stats) delayed it by ~20 ms. The worker
 * waits for its owner's `go` before saying it is ready (stats-worker.ts), so nothing it says is
 * lost before parallelStats listens. A worker nobody takes is unreferenced and does not keep the
 * process alive; dropStartedWorker ends it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The compiled worker; absent when the sources run under a TypeScript test runner. */
export const STATS_WORKER_URL = new URL('./stats-worker.js', import.meta.url);

let started: Worker | null = null;
/** The started worker failed or exited before it was taken: its owner would wait for it forever. */
let gone = false;

/** Starts one stats worker ahead of its use (once; a no-op where the compiled worker does not exist). */
export function startStatsWorker(): void {
  if (started !== null || !existsSync(fileURLToPath(STATS_WORKER_URL))) return;
  const w = new Worker(STATS_WORKER_URL);
  w.unref();
  gone = false;
  // Before it is taken, a worker that fails is replaced by a new one (takeStartedWorker), which
  // fails again where the failure is not this one's; after, its owner listens.
  const lost = (): void => {
    if (started === w) gone = true;
  };
  w.once('error', lost);
  w.once('exit', lost);
  started = w;
}

/** The worker startStatsWorker started, now owned by the caller (referenced again), or null when none is (still) running. */
export function takeStartedWorker(): Worker | null {
  const w = started;
  started = null;
  if (w === null) return null;
  if (gone) {
    void w.terminate();
    return null;
  }
  w.ref();
  return w;
}

/** Ends a started worker nobody took (the input was small, or one thread was asked for). */
export function dropStartedWorker(): void {
  const w = takeStartedWorker();
  if (w !== null) void w.terminate();
}
