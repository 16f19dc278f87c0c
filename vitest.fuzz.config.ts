import { defineConfig } from 'vitest/config';

// `npm run fuzz`: the decoder's robustness properties for FUZZ_SECONDS (default 300); see
// test/robustness/fuzz.ts. The regular suite (vitest.config.ts) runs the same properties briefly.
// The configuration loader's (test/robustness/config-fuzz.ts) run beside them, for a tenth of that.
const seconds = Number(process.env['FUZZ_SECONDS'] ?? 300);

export default defineConfig({
  test: {
    include: ['test/robustness/fuzz.ts', 'test/robustness/config-fuzz.ts'],
    // Each property stops itself after its share of FUZZ_SECONDS; the margin covers shrinking.
    testTimeout: (seconds + 300) * 1000,
    pool: 'forks',
  },
});
