/**
 * The configuration loader under arbitrary input, time-boxed (a few seconds in all): only our own
 * errors — the problems list, UsageError — never a crash, never a hang. `npm run fuzz` runs the
 * same properties for minutes (config-fuzz.ts). See config-properties.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkConfigValue } from '../../src/cli/config-file.js';
import { parseConfig } from '../../src/config/normalise.js';
import { anyValue, checkFile, checkModuleFile, checkParse, checkValue, configLike, fileText, moduleText } from './config-properties.js';
import { fuzzParameters, suiteSeed } from './decode-properties.js';

const SEED = suiteSeed(process.env);
const PROPERTY_MS = 800;
const dir = mkdtempSync(join(tmpdir(), 'config-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// The first .ts configuration loads the typescript package (~0.5 s): not the loader's time per file.
beforeAll(async () => {
  await import('typescript');
});

describe('configuration loader fuzz (time-boxed)', () => {
  it('parseConfig: any JSON value gives a config or problems, never a throw', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), checkParse), fuzzParameters(PROPERTY_MS, SEED));
  });

  it('parseConfig: configuration-shaped values (known keys, near-right values) reach the deep rules, same promise', () => {
    fc.assert(fc.property(configLike, checkParse), fuzzParameters(PROPERTY_MS, SEED));
  });

  it('the CLI check of a module\'s default export: any value, functions and strategies included, gives a config or a UsageError', () => {
    fc.assert(fc.property(anyValue, checkValue), fuzzParameters(PROPERTY_MS, SEED));
  });

  it('the CLI loader on a JSON file of any text: a config or a UsageError naming the file', async () => {
    const path = join(dir, 'c.json');
    await fc.assert(fc.asyncProperty(fileText, (text) => checkFile(path, text)), fuzzParameters(PROPERTY_MS, SEED));
  });

  it('the CLI loader on a .ts or .mjs module of any text (transpiled, run): a config or a UsageError naming the file', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('.ts', '.mts', '.mjs'), moduleText, (ext, text) => checkModuleFile(join(dir, `m${n++}${ext}`), text)),
      fuzzParameters(PROPERTY_MS, SEED),
    );
  });
});

// Inputs the fuzz found, kept as regular tests.
describe('regressions found by the configuration fuzz', () => {
  it('a custom strategy named "__proto__" (then one named "toString") in a module\'s "strategies" is a strategy like any other', () => {
    const f = (): never => {
      throw new Error('not called');
    };
    Object.defineProperty(f, 'toString', { value: f, writable: false });
    const loaded = checkConfigValue('c.mjs', { strategies: Object.fromEntries([['__proto__', f], ['toString', f]]) });
    expect(Object.keys(loaded.strategies)).toEqual(['__proto__', 'toString']);
    expect(Object.hasOwn(loaded.strategies, '__proto__')).toBe(true);
  });

  it('an object whose "constructor" is not a class (a module may export one) is a problem named, not a TypeError', () => {
    // FUZZ_SEED=28783, shrunk: zod named the received type by `constructor.name` used as a key.
    const odd = Object.assign(Object.create(null) as object, { constructor: { name: Object.create(null) as object } });
    const r = parseConfig({ tables: { 'shop.orders': { groups: odd } } });
    expect(r).toEqual({ ok: false, problems: [{ message: 'Invalid input: expected array, received object', path: ['tables', 'shop.orders', 'groups'] }] });
    checkParse({ tables: { 'shop.orders': { groups: odd } } });
  });
});
