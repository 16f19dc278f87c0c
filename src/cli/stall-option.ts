/**
 * `--stall-notice S` of the commands that write to the DR (plan, apply, resolve): a statement
 * still waiting after S seconds gets a warning line saying why (src/db/stall-watch.ts).
 */
import { UsageError } from './usage-error.js';

/** Seconds a statement may wait before it is explained, by default. */
export const DEFAULT_STALL_NOTICE_S = 30;

/** `--stall-notice S` in milliseconds (default 30 s; 0: never), checked before anything connects. */
export function stallNoticeOption(value: string | undefined): number {
  if (value === undefined) return DEFAULT_STALL_NOTICE_S * 1000;
  const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(seconds)) throw new UsageError(`--stall-notice takes seconds ≥ 0 (30, 0.5; 0: never), got "${value}"`, '--stall-notice');
  return Math.round(seconds * 1000);
}
