/**
 * Worker-thread entry of parallel `inspect --stats`: says it is ready once its owner says `go`, then
 * runs collectStats on each job it is sent (parallel-stats.ts hands out the next one as each is done) until told to stop.
 */
import { parentPort } from 'node:worker_threads';
import { EngineError } from '../errors.js';
import { collectStats, type StatsJob } from './collect-stats.js';

const PROGRESS_STEP = 4 * 1024 * 1024;

type Command = { kind: 'go' } | { kind: 'job'; index: number; job: StatsJob } | { kind: 'stop' };

const port = parentPort;
if (port) {
  port.on('message', (m: Command) => {
    if (m.kind === 'stop') {
      port.close();
      return;
    }
    if (m.kind === 'go') {
      // The owner listens now (a message to a Worker nobody listens to yet is lost; a worker the CLI
      // started early has no listener until parallelStats takes it).
      port.postMessage({ kind: 'ready' });
      return;
    }
    let last = 0;
    // Progress in steps of at least 4 MiB (~20 ms of decoding): a message per 256 KiB chunk woke
    // the main thread 4 times per MB for a figure nobody reads that often.
    const flush = (bytes: number): void => {
      if (bytes > last) port.postMessage({ kind: 'progress', bytes: bytes - last });
      last = bytes;
    };
    let read = 0;
    collectStats(m.job, (bytes) => {
      read = bytes;
      if (bytes - last >= PROGRESS_STEP) flush(bytes);
    }).then(
      (result) => {
        flush(read);
        port.postMessage({ kind: 'done', index: m.index, result });
      },
      (e: unknown) => {
        const error = e instanceof EngineError ? { name: e.name, code: e.code, message: e.message, details: e.details, retryable: e.retryable } : { name: 'Error', code: null, message: (e as Error)?.stack ?? String(e), details: {}, retryable: false };
        port.postMessage({ kind: 'error', error });
      },
    );
  });
}
