/**
 * The long fuzz run (`npm run fuzz`): the properties of bad-input.test.ts and
 * split-anywhere.test.ts, for FUZZ_SECONDS (default 300) shared between them, with a fresh seed
 * each run (FUZZ_SEED replays one). Not part of the regular suite (its name does not end in
 * .test.ts); vitest.fuzz.config.ts runs it. A failure prints the seed, the counterexample path and
 * the shrunk input: keep it as a regular test in bad-input.test.ts.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  Fixture,
  GARBAGE_TYPES,
  flipsProperty,
  framedGarbageProperty,
  fuzzParameters,
  garbageHeaders,
  haveRealBinlogs,
  loadReference,
  randomAfterMagicProperty,
  splitProperty,
  type FixtureName,
  type FlipStats,
} from './decode-properties.js';

const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? 300);
const SEED = Number.isInteger(Number(process.env['FUZZ_SEED'])) && process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) : Date.now() % 2 ** 31;

/** Share of the time each property gets. */
const SHARES = { checksummedFlips: 0.3, uncheckedFlips: 0.3, split: 0.2, randomAfterMagic: 0.05, framedGarbage: 0.15 } as const;
const ms = (share: number): number => Math.max(1_000, Math.round(SECONDS * 1_000 * share));

const CHECKSUMMED: readonly FixtureName[] = [Fixture.mariadbPrimary1, Fixture.mariadbPrimary2, Fixture.mariadbCompressed, Fixture.mysqlPayload, Fixture.mysqlRows, Fixture.mysqlTaggedGtid];
const SPLIT: readonly FixtureName[] = [...CHECKSUMMED, Fixture.mariadbNoChecksum, Fixture.mysqlNoChecksum, Fixture.mysql51Large];

function report(name: string, stats: FlipStats): void {
  // The counts show the run did real work; stderr keeps them apart from vitest's summary.
  process.stderr.write(`fuzz ${name}: seed ${SEED}, ${stats.detected} detected, ${stats.harmless} harmless, ${stats.undetectable} undetectable (no checksum)\n`);
}

describe.skipIf(!haveRealBinlogs)(`decoder fuzz (${SECONDS} s, seed ${SEED})`, () => {
  it('flipped bytes in checksummed files: detected at the damaged event, or harmless', () => {
    const stats: FlipStats = { detected: 0, harmless: 0, undetectable: 0 };
    fc.assert(flipsProperty(CHECKSUMMED.map((r) => loadReference(r)), 8, stats), fuzzParameters(ms(SHARES.checksummedFlips), SEED));
    report('checksummed flips', stats);
    expect(stats.detected).toBeGreaterThan(0);
  });

  it('flipped bytes where nothing checks them: only typed errors, in bounded time', () => {
    const refs = [
      loadReference(Fixture.mariadbNoChecksum),
      loadReference(Fixture.mysqlNoChecksum),
      ...CHECKSUMMED.map((r) => loadReference(r, { verifyChecksums: false })),
    ];
    const stats: FlipStats = { detected: 0, harmless: 0, undetectable: 0 };
    fc.assert(flipsProperty(refs, 8, stats), fuzzParameters(ms(SHARES.uncheckedFlips), SEED));
    report('unchecked flips', stats);
  });

  it('any chunking decodes as one buffer', () => {
    fc.assert(splitProperty(SPLIT.map((r) => loadReference(r))), fuzzParameters(ms(SHARES.split), SEED));
  });

  it('the magic followed by random bytes', () => {
    fc.assert(randomAfterMagicProperty(), fuzzParameters(ms(SHARES.randomAfterMagic), SEED));
  });

  it('a valid header followed by framed events with random bodies', () => {
    fc.assert(framedGarbageProperty(garbageHeaders(), GARBAGE_TYPES), fuzzParameters(ms(SHARES.framedGarbage), SEED));
  });
});
