import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { createAutoIncrementAllocator } from './key-allocator.js';

describe('createAutoIncrementAllocator', () => {
  it('counts up from the DR’s next value, skipping reserved keys, never repeating', () => {
    const held = new Set([10n, 11n, 13n]);
    const a = createAutoIncrementAllocator(10n, (k) => held.has(k));
    expect([a.next(), a.next(), a.next()]).toEqual([12n, 14n, 15n]);
  });

  it('refuses a start below 1 and stops at the maximum', () => {
    expect(() => createAutoIncrementAllocator(0n, () => false)).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_BAD_START' }));
    const a = createAutoIncrementAllocator(254n, (k) => k === 255n, 256n);
    expect(a.next()).toBe(254n);
    expect(a.next()).toBe(256n);
    expect(() => a.next()).toThrow(expect.objectContaining({ code: 'RECONCILE_KEY_SPACE_EXHAUSTED' }));
  });

  it('keys are fresh: never reserved, never repeated, at least the start (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: 50n }), fc.uniqueArray(fc.bigInt({ min: 1n, max: 80n })), fc.integer({ min: 1, max: 30 }), (start, reservedList, n) => {
      const reserved = new Set(reservedList);
      const a = createAutoIncrementAllocator(start, (k) => reserved.has(k));
      const got = Array.from({ length: n }, () => a.next());
      expect(new Set(got).size).toBe(n);
      for (const k of got) {
        expect(reserved.has(k)).toBe(false);
        expect(k >= start).toBe(true);
      }
      // Dense: every skipped key between start and the last one is reserved.
      for (let k = start; k <= (got[n - 1] as bigint); k++) expect(got.includes(k) || reserved.has(k)).toBe(true);
    }));
  });
});
