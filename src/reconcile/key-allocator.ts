/**
 * Fresh AUTO_INCREMENT keys for `remap` (DESIGN.md "Strategies"): from the DR's next value up,
 * skipping every key the caller reserves (held by the DR, or used by a lost change of the window)
 * and every key this allocator already handed out.
 */
import { EngineError } from '../errors.js';

export interface KeyAllocator {
  /** The next fresh key; throws RECONCILE_KEY_SPACE_EXHAUSTED past `max`. */
  next(): bigint;
}

export const KeyAllocatorErrorCode = {
  BadStart: 'RECONCILE_KEY_BAD_START',
  Exhausted: 'RECONCILE_KEY_SPACE_EXHAUSTED',
} as const;
export type KeyAllocatorErrorCode = (typeof KeyAllocatorErrorCode)[keyof typeof KeyAllocatorErrorCode];

/** BIGINT UNSIGNED's maximum, the widest AUTO_INCREMENT column. */
const MAX_UNSIGNED_BIGINT = (1n << 64n) - 1n;

/** Creates an allocator counting up from `startNext`, skipping keys for which `reserved` is true. */
export function createAutoIncrementAllocator(startNext: bigint, reserved: (key: bigint) => boolean, max: bigint = MAX_UNSIGNED_BIGINT): KeyAllocator {
  if (startNext < 1n) {
    // AUTO_INCREMENT never hands out 0 or a negative value (NO_AUTO_VALUE_ON_ZERO aside).
    throw new EngineError(KeyAllocatorErrorCode.BadStart, `AUTO_INCREMENT start must be at least 1, found ${startNext}`);
  }
  // The cursor only moves up, so a key once returned is never returned again.
  let cursor = startNext;
  return {
    next(): bigint {
      while (cursor <= max && reserved(cursor)) cursor++;
      if (cursor > max) {
        throw new EngineError(KeyAllocatorErrorCode.Exhausted, `no free AUTO_INCREMENT key between ${startNext} and ${max}`, { key: String(max) });
      }
      return cursor++;
    },
  };
}
