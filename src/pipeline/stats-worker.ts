/** Worker-thread entry of parallel `inspect --stats`: runs collectStats on its ranges and posts the result. */
import { parentPort, workerData } from 'node:worker_threads';
import { EngineError } from '../errors.js';
import { collectStats, type StatsJob } from './collect-stats.js';

const port = parentPort;
if (port) {
  let last = 0;
  collectStats(workerData as StatsJob, (bytes) => {
    port.postMessage({ kind: 'progress', bytes: bytes - last });
    last = bytes;
  }).then(
    (result) => port.postMessage({ kind: 'done', result }),
    (e: unknown) => {
      const error = e instanceof EngineError ? { name: e.name, code: e.code, message: e.message, details: e.details, retryable: e.retryable } : { name: 'Error', code: null, message: (e as Error)?.stack ?? String(e), details: {}, retryable: false };
      port.postMessage({ kind: 'error', error });
    },
  );
}
