/**
 * A small seeded PRNG for reproducible workloads: sfc32 (Chris Doty-Humphrey's Small Fast
 * Counting generator, 128-bit state, passes PractRand to 2^40+ bytes), seeded through
 * splitmix32 so that nearby seeds (42, 43) give unrelated streams. Not for cryptography.
 */

/** A deterministic random source: the same seed always yields the same sequence. */
export interface Rng {
  /** A float in [0, 1) with 32 random bits. */
  next(): number;
  /** An integer in [lo, hi], both inclusive (hi - lo < 2^32). */
  int(lo: number, hi: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** n random bytes. */
  bytes(n: number): Buffer;
}

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** Creates an sfc32 generator from a 32-bit seed. */
export function createRng(seed: number): Rng {
  const init = splitmix32(seed);
  let a = init();
  let b = init();
  let c = init();
  let d = init();

  const u32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  // The first outputs still correlate with the seed: discard a few, as the author recommends.
  for (let i = 0; i < 12; i++) u32();

  const next = (): number => u32() / 4294967296;
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      return items[Math.floor(next() * items.length)] as T;
    },
    bytes(n) {
      const out = Buffer.allocUnsafe(n);
      let i = 0;
      for (; i + 4 <= n; i += 4) out.writeUInt32LE(u32(), i);
      if (i < n) {
        const last = u32();
        for (let k = 0; i < n; i++, k++) out[i] = (last >>> (8 * k)) & 0xff;
      }
      return out;
    },
  };
}
