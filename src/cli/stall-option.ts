/**
 * `--stall-notice S` of the commands that write to the DR (plan, apply, resolve): a statement
 * still waiting after S seconds gets a warning line saying why (src/db/stall-watch.ts).
 */
import { UsageError } from './usage-error.js';

/** `--stall-notice S` in milliseconds (0: never), checked before anything connects; undefined when not given (the library's default, 30 s). */
export function stallNoticeOption(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(seconds)) throw new UsageError(`--stall-notice takes seconds ≥ 0 (30, 0.5; 0: never), got "${value}"`, '--stall-notice');
  return Math.round(seconds * 1000);
}
