/**
 * `--quiet` for the commands that draw no progress line (quarantine, resolve, explain, report,
 * doctor): their stderr carries only notices — a warning line per reconnect attempt of the first
 * connection, report's "written to" line — and the error that ends a failed run. A script that
 * runs them wants stdout, the exit code and the error only; `--quiet` gives that, through the
 * same style plan, apply and inspect compute from their `--quiet` (progress.ts), so a notice is
 * left out by one rule everywhere.
 */
import type { Writable } from 'node:stream';
import type { ReconnectNotice } from '../db/first-connection.js';
import { progressStyle, reconnectNotices, type ProgressStyle } from './progress.js';

/** The parseArgs entry of `--quiet`. */
export const QUIET_OPTION = { quiet: { type: 'boolean' } } as const;

/** The help line of `--quiet` for the review commands. */
export const QUIET_HELP = `  --quiet                   no warning or notice lines on stderr (reconnect attempts among them);
                            the result on stdout, the exit code and an error's message on stderr
                            stay as they are
`;

/**
 * The style of a command without progress: plain warning lines (never the terminal's refreshed
 * line, as nothing is redrawn after them), or off under `--quiet`.
 */
export function noticeStyle(quiet: boolean | undefined): ProgressStyle {
  return progressStyle(undefined, quiet === true, false);
}

/** A warning line per reconnect attempt on `stderr`, none under `--quiet`. */
export function quietableReconnectNotices(stderr: Writable, quiet: boolean | undefined): (n: ReconnectNotice) => void {
  return reconnectNotices(stderr, noticeStyle(quiet));
}

/** Writes a notice line (not an error) on `stderr`, unless `--quiet`. */
export function notice(stderr: Writable, quiet: boolean | undefined, text: string): void {
  if (quiet !== true) stderr.write(`${text}\n`);
}
