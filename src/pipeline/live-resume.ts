/**
 * A live read that goes on after a lost connection (`inspect --source`, the library's
 * `readLiveTransactions` without a control session of the caller's): the dump, or the control
 * session beside it, lost mid-read is reopened under the reconnect policy (ReopenedSession:
 * backoff, attempts in a row, a notice per attempt) and read again right after the last
 * transaction the read handed over — nothing twice, nothing skipped. What counts as lost is what
 * plan and apply reconnect on (src/db/lost-connection.ts). The end is the server's end when the
 * read started (or the caller's `end`), so the reopened read stops where the uninterrupted one
 * would have; a `follow` has none and follows on from where it resumed.
 */
import { redact } from '../db/connection-url.js';
import { mapDbError } from '../db/db-errors.js';
import type { ReopenedSession } from '../db/first-connection.js';
import { isLostConnection, isSourceDrop } from '../db/lost-connection.js';
import type { SqlSession } from '../db/sql-session.js';
import { EngineError } from '../errors.js';
import { LiveSourceError, LiveSourceErrorCode, readLiveTransactions, serverEnd, type BinlogPosition, type LiveSourceOptions, type LiveTarget, type LiveTls } from '../source/live-source.js';
import type { ReadBatch } from '../source/read-transactions.js';

/** How resumingLiveTransactions reads, reopens and resumes. */
export interface ResumingReadOptions extends Omit<LiveSourceOptions, 'control' | 'tls'> {
  /** The first control session (the caller's: it ends it); those opened after a loss are ended here. */
  readonly control: SqlSession;
  /** Opens the control session again after a loss, under the command's reconnect policy. */
  readonly reopener: ReopenedSession;
  /** The dump's TLS for a control session (as encrypted as it is). */
  readonly tls: (control: SqlSession) => LiveTls | null;
}

/** The server's binlogs from `options.start` to its end at the call, reopened and resumed after a lost connection. */
export async function* resumingLiveTransactions(target: LiveTarget, options: ResumingReadOptions): AsyncGenerator<ReadBatch> {
  const { control: first, reopener, tls, start, end: until, follow, ...read } = options;
  const label = target.redacted;
  let control = first;
  // Fixed at the first read: a reopened one stops where the uninterrupted read would have.
  let end: BinlogPosition | null = until ?? null;
  let from = start;
  try {
    for (;;) {
      try {
        if (follow !== true) end ??= await serverEnd(control, label);
        const bounds = follow === true ? { follow: true } : { end: end! };
        for await (const batch of readLiveTransactions(target, { ...read, ...bounds, control, start: from ?? {}, tls: tls(control) })) {
          for (const item of batch.items) if (item.kind === 'transaction') from = { file: item.tx.file, position: item.tx.end };
          reopener.settled();
          yield batch;
        }
        return;
      } catch (raw) {
        const e = mapDbError(raw);
        if (!(isSourceDrop(e) || isLostConnection(e)) || options.signal?.aborted === true) throw raw;
        if (control !== first) control.destroy();
        const at = from?.file === undefined ? '' : ` (resuming after ${from.file}:${from.position ?? 4})`;
        control = await reopener.reopen(e, 'read', (why, last) => giveUp(e, why, last, label, at));
      }
    }
  } finally {
    if (control !== first) await control.end().catch(() => undefined);
  }
}

function giveUp(lost: EngineError, why: string, last: EngineError, label: string, at: string): EngineError {
  if (lost instanceof LiveSourceError) return new LiveSourceError(lost.code, `${redact(lost.message)}; ${why}`, { ...lost.details, source: label }, { retryable: true, cause: last });
  return new LiveSourceError(LiveSourceErrorCode.ConnectionLost, `lost the connection to ${label}${at}: ${redact(lost.message)}; ${why}`, { ...lost.details, source: label }, { retryable: true, cause: last });
}
