/**
 * Progress of long commands on stderr, in one of three styles: a line refreshed in place on a
 * terminal; a plain line every few seconds when stderr is a file or a pipe (CI, logs); or, for
 * wrappers (`--progress json`), one JSON object per line — `{"event":"progress",…}` with the same
 * figures as the text, then one `{"event":"done",…}` when the command ends, whatever the outcome.
 * `--json` on plan, apply and inspect already means the result on stdout, hence `--progress json`.
 *
 * No colour is written (only `\r` and erase-to-end-of-line on a terminal), so NO_COLOR has nothing
 * to turn off. The ETA is the remaining work at the rate so far: rows per second for plan and
 * apply, bytes per second for inspect.
 */
import type { Writable } from 'node:stream';
import { describeStall, type StallNotice } from '../db/stall-watch.js';
import type { DrReconnectNotice, SalvageProgress } from '../pipeline/salvage.js';
import { UsageError } from './usage-error.js';

/** How progress is shown. */
export type ProgressStyle = 'tty' | 'plain' | 'json' | 'off';

/** What `--progress` accepts. */
export const PROGRESS_VALUES = ['auto', 'plain', 'json'] as const;

/** Milliseconds between two progress outputs, per style; a run's last figures always show. */
export const PROGRESS_INTERVAL_MS: Readonly<Record<Exclude<ProgressStyle, 'off'>, number>> = { tty: 200, plain: 5000, json: 1000 };

/** The style from `--progress auto|plain|json` (default auto: a refreshed line on a terminal, plain lines otherwise) and `--quiet`. */
export function progressStyle(option: string | undefined, quiet: boolean, isTty: boolean): ProgressStyle {
  if (option !== undefined && !(PROGRESS_VALUES as readonly string[]).includes(option)) {
    throw new UsageError(`--progress takes ${PROGRESS_VALUES.join(', ')}, got "${option}"`, '--progress');
  }
  if (quiet) {
    if (option !== undefined && option !== 'auto') throw new UsageError(`--quiet turns progress off: give --quiet or --progress ${option}, not both`, '--progress');
    return 'off';
  }
  if (option === 'json' || option === 'plain') return option;
  return isTty ? 'tty' : 'plain';
}

/** Seconds left at the rate so far: 0 when done, null while there is no rate yet. */
export function etaSeconds(done: number, total: number, elapsedMs: number): number | null {
  if (done >= total) return 0;
  if (done <= 0 || elapsedMs <= 0) return null;
  return Math.ceil(((total - done) * elapsedMs) / done / 1000);
}

/** `45s`, `3m05s`, `2h07m`. */
export function durationText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** A progress sink: called with each figure; `done` ends the line (or writes the done event), once. */
export type ProgressSink<P> = ((p: P) => void) & { done(ok: boolean): void };

/** Progress of `plan` and `apply` (the pipeline's `onProgress`). */
export function salvageProgress(stderr: Writable, style: ProgressStyle, mode: string): ProgressSink<SalvageProgress> {
  // From the run's start: a run shorter than one interval shows only its last figures.
  let last = 0;
  let shown = false;
  let latest: SalvageProgress | null = null;
  const figures = (p: SalvageProgress): Record<string, unknown> => {
    const rate = p.elapsedMs > 0 ? Math.round(p.rowChangesDone / (p.elapsedMs / 1000)) : 0;
    return {
      command: mode,
      transactionsDone: p.transactionsDone,
      transactionsTotal: p.following ? null : p.transactionsTotal,
      rowChangesDone: p.rowChangesDone,
      rowChangesTotal: p.following ? null : p.rowChangesTotal,
      rowsPerSecond: rate,
      etaSeconds: p.following ? null : salvageEta(p),
      position: p.position,
      outcomes: p.outcomes,
      elapsedMs: Math.round(p.elapsedMs),
      following: p.following,
    };
  };
  const print = (p: SalvageProgress): void => {
    if (style === 'off') return;
    latest = p;
    // The last window of a bounded run always shows; a follow has no last window.
    const final = !p.following && p.transactionsDone >= p.transactionsTotal;
    if (p.elapsedMs - last < PROGRESS_INTERVAL_MS[style] && !final) return;
    last = p.elapsedMs;
    if (style === 'json') {
      stderr.write(`${JSON.stringify({ event: 'progress', ...figures(p) })}\n`);
      return;
    }
    const f = figures(p);
    const o = p.outcomes;
    const counts = p.following
      ? `following: ${p.transactionsDone} transactions, ${p.rowChangesDone} row changes`
      : `${p.transactionsDone}/${p.transactionsTotal} transactions, ${p.rowChangesDone}/${p.rowChangesTotal} row changes`;
    const eta = f['etaSeconds'];
    const etaText = typeof eta === 'number' && eta > 0 ? `, ETA ${durationText(eta)}` : '';
    const text = `${mode}: ${counts}, ${String(f['rowsPerSecond'])} rows/s${etaText}, at ${p.position} — applied ${o.applied}, merged ${o.merged}, remapped ${o.remapped}, skipped ${o.skipped}, quarantined ${o.quarantined}`;
    stderr.write(style === 'tty' ? `\r\x1b[K${text}` : `${text}\n`);
    shown = true;
  };
  let ended = false;
  return Object.assign(print, {
    done(ok: boolean): void {
      if (ended) return;
      ended = true;
      if (style === 'json') stderr.write(`${JSON.stringify({ event: 'done', ok, ...(latest === null ? { command: mode } : figures(latest)) })}\n`);
      else if (style === 'tty' && shown) stderr.write('\n');
    },
  });
}

/**
 * Reconnect attempts (the library's `onReconnect`): plan's and apply's to the DR and to a live
 * source, and every other command's first connection: a warning line each, or a
 * `{"event":"reconnect",…}` object under `--progress json`; nothing under `--quiet`. On a terminal
 * the progress line is erased first, and redrawn by the next figures.
 */
export function reconnectNotices(stderr: Writable, style: ProgressStyle): (n: DrReconnectNotice) => void {
  return noticeWriter(stderr, style, 'reconnect', (n) => `${SERVER_NAMES[n.server ?? 'dr']} ${n.target} failed (${n.step}): ${n.reason} [${n.code}]; trying again in ${secondsText(n.delayMs)} (reconnect attempt ${n.attempt} of ${n.attempts})`);
}

/** What a DR statement waits for (SalvageOptions.onStall): a warning line, a `stall` event under `--progress json`, nothing under `--quiet`. */
export function stallNotices(stderr: Writable, style: ProgressStyle): (n: StallNotice) => void {
  return noticeWriter(stderr, style, 'stall', describeStall);
}

/**
 * A notice as the style wants it: a `{"event":…}` object (json), a `salvage: warning: …` line
 * (on a terminal, the progress line erased first, redrawn by the next figures), or nothing (off).
 */
function noticeWriter<N extends object>(stderr: Writable, style: ProgressStyle, event: string, text: (n: N) => string): (n: N) => void {
  return (n) => {
    if (style === 'off') return;
    if (style === 'json') {
      stderr.write(`${JSON.stringify({ event, ...n })}\n`);
      return;
    }
    const line = `salvage: warning: ${text(n)}`;
    stderr.write(style === 'tty' ? `\r\x1b[K${line}\n` : `${line}\n`);
  };
}

/** How a warning line names the server a notice is about. */
const SERVER_NAMES: Readonly<Record<NonNullable<DrReconnectNotice['server']> | 'dr', string>> = { dr: 'the DR', source: 'the source', schema: 'the --schema-from server' };

/** `0.5 s`, `10 s`. */
function secondsText(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** Row changes are the work (a transaction may hold one row or a million); transactions when there are no rows. */
function salvageEta(p: SalvageProgress): number | null {
  return p.rowChangesTotal > 0 ? etaSeconds(p.rowChangesDone, p.rowChangesTotal, p.elapsedMs) : etaSeconds(p.transactionsDone, p.transactionsTotal, p.elapsedMs);
}

/** One figure of `inspect`'s progress: bytes read of the total, transactions so far (null under --stats on threads), the file being read. */
export interface ReadProgress {
  readonly bytesRead: number;
  readonly bytesTotal: number;
  readonly transactions: number | null;
  readonly file: string;
}

/**
 * Progress of `inspect`: a refreshed line every second on a terminal, a plain line every 10 s
 * otherwise (both only once the read has lasted that long), JSON events every second. `now` is
 * the clock (milliseconds), for tests.
 */
export function readProgress(stderr: Writable, style: ProgressStyle, now: () => number = Date.now): ProgressSink<ReadProgress> {
  const every = style === 'tty' ? 1000 : style === 'plain' ? 10_000 : PROGRESS_INTERVAL_MS.json;
  const started = now();
  let last = started;
  let shown = false;
  let latest: ReadProgress | null = null;
  const figures = (p: ReadProgress, t: number): Record<string, unknown> => {
    const elapsedMs = t - started;
    return {
      command: 'inspect',
      bytesRead: p.bytesRead,
      bytesTotal: p.bytesTotal,
      transactions: p.transactions,
      file: p.file,
      bytesPerSecond: elapsedMs > 0 ? Math.round(p.bytesRead / (elapsedMs / 1000)) : 0,
      etaSeconds: p.bytesTotal > 0 ? etaSeconds(p.bytesRead, p.bytesTotal, elapsedMs) : null,
      elapsedMs,
    };
  };
  const report = (p: ReadProgress): void => {
    if (style === 'off') return;
    latest = p;
    const t = now();
    if (t - last < every) return;
    last = t;
    const f = figures(p, t);
    if (style === 'json') {
      stderr.write(`${JSON.stringify({ event: 'progress', ...f })}\n`);
      return;
    }
    const pct = p.bytesTotal > 0 ? ((100 * p.bytesRead) / p.bytesTotal).toFixed(1) : '100';
    const eta = f['etaSeconds'];
    const text = `salvage: read ${(p.bytesRead / 1048576).toFixed(1)} of ${(p.bytesTotal / 1048576).toFixed(1)} MiB (${pct}%)${typeof eta === 'number' && eta > 0 ? `, ETA ${durationText(eta)}` : ''}${p.transactions === null ? '' : `, ${p.transactions} transactions`}${p.file ? `, in ${p.file}` : ''}`;
    stderr.write(style === 'tty' ? `\r${text}\x1b[K` : `${text}\n`);
    shown = style === 'tty';
  };
  let ended = false;
  return Object.assign(report, {
    done(ok: boolean): void {
      if (ended) return;
      ended = true;
      if (style === 'json') stderr.write(`${JSON.stringify({ event: 'done', ok, ...(latest === null ? { command: 'inspect' } : figures(latest, now())) })}\n`);
      else if (shown) stderr.write('\r\x1b[K');
    },
  });
}
