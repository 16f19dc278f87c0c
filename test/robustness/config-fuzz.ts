/**
 * The long configuration-loader fuzz (`npm run fuzz`): the properties of config-fuzz.test.ts for
 * a tenth of FUZZ_SECONDS (default 300 s, so 30 s) with a fresh seed each run (FUZZ_SEED replays
 * one). A failure prints the seed and the shrunk input: keep it as a regular test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/normalise.js';
import { anyValue, checkFile, checkModuleFile, checkParse, checkValue, configLike, fileText, moduleText } from './config-properties.js';
import { fuzzParameters } from './decode-properties.js';

const SECONDS = Number(process.env['FUZZ_SECONDS'] ?? 300) / 10;
const SEED = Number.isInteger(Number(process.env['FUZZ_SEED'])) && process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) : Date.now() % 2 ** 31;
const SHARES = { json: 0.15, configLike: 0.35, value: 0.15, file: 0.15, module: 0.2 } as const;
const ms = (share: number): number => Math.max(1_000, Math.round(SECONDS * 1_000 * share));
const dir = mkdtempSync(join(tmpdir(), 'config-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// The first .ts configuration loads the typescript package (~0.5 s): not the loader's time per file.
beforeAll(async () => {
  await import('typescript');
});

describe(`configuration loader fuzz (${SECONDS} s, seed ${SEED})`, () => {
  it('parseConfig on any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), checkParse), fuzzParameters(ms(SHARES.json), SEED));
  });

  it('parseConfig on configuration-shaped values', () => {
    let valid = 0;
    let runs = 0;
    fc.assert(
      fc.property(configLike, (v) => {
        runs++;
        if (parseConfig(v).ok) valid++;
        checkParse(v);
      }),
      fuzzParameters(ms(SHARES.configLike), SEED),
    );
    // The counts show the deep rules ran on valid configurations, not only on rejected ones.
    process.stderr.write(`fuzz config: seed ${SEED}, ${runs} configuration-shaped values, ${valid} valid\n`);
    expect(valid).toBeGreaterThan(0);
  });

  it('the CLI check of any default export', () => {
    fc.assert(fc.property(anyValue, checkValue), fuzzParameters(ms(SHARES.value), SEED));
  });

  it('the CLI loader on a JSON file of any text', async () => {
    const path = join(dir, 'c.json');
    await fc.assert(fc.asyncProperty(fileText, (text) => checkFile(path, text)), fuzzParameters(ms(SHARES.file), SEED));
  });

  it('the CLI loader on a .ts, .mts or .mjs module of any text', async () => {
    // A file name per run: Node caches an imported module by its URL for the process's life.
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('.ts', '.mts', '.mjs'), moduleText, (ext, text) => checkModuleFile(join(dir, `m${n++}${ext}`), text)),
      fuzzParameters(ms(SHARES.module), SEED),
    );
  });
});
