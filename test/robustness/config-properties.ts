/**
 * What the configuration loader promises whatever it is given (issue 6, point 5): the normaliser
 * (src/config/normalise.ts `parseConfig`) returns a config or a list of problems and never throws;
 * the CLI's loader (src/cli/config-file.ts) resolves or rejects with a UsageError that names the
 * file; what a valid configuration feeds (the rule book, logical references, the problems'
 * renderer) takes it without a crash; and each call ends in bounded time. config-fuzz.test.ts runs
 * these briefly in the regular suite, config-fuzz.ts for minutes under `npm run fuzz`.
 */
import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { expect } from 'vitest';
import { checkConfigValue, loadConfigFile } from '../../src/cli/config-file.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { formatProblems } from '../../src/config/format-problems.js';
import { logicalReferencesOf, parseConfig, type ConfigProblem } from '../../src/config/normalise.js';
import { CONFLICT_CLASSES, MERGE_POLICIES, STRATEGY_NAMES } from '../../src/config/schema.js';
import { EngineError } from '../../src/errors.js';
import { RuleBook } from '../../src/reconcile/rules.js';

/** One call of the loader may take this long at most: a hang is a failure, not a slow test. */
export const CALL_LIMIT_MS = 2_000;

const SETTINGS = ['$schema', '$comment', 'stateSchema', 'keepTransactionsWhole', 'escalation', 'cascadeGuard', 'compare', 'ignoreColumns', 'defaults', 'tables', 'strategies'] as const;
const TABLE_KEYS = ['$comment', 'onConflict', 'columns', 'groups', 'references', 'naturalKey', 'keyAllocation'] as const;
const STRATEGY_KEYS = ['strategy', 'column', 'tie', 'threshold', 'nulls', 'bothChanged', 'policy', 'naturalKey', 'template', 'maxChildren', 'name', '$comment'] as const;

/** Names a user might type, near-misses and traps included (empty, dots, prototype keys, unicode). */
const name = fc.oneof(
  fc.constantFrom('shop.orders', 'shop.*', '*.*', 'crm.notes', 'id', 'updated_at', 'order_id', '', '.', 'a.b.c', '__proto__', 'constructor', 'toString', '$comment', 'tëst.ünï', ' shop.x', 'x'),
  fc.string({ maxLength: 12 }),
);

/** Any JSON, small. */
const json = fc.jsonValue({ maxDepth: 3 });

/** A value the schema expects somewhere, or anything. */
const leaf = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<unknown>(...STRATEGY_NAMES, ...MERGE_POLICIES, ...CONFLICT_CLASSES, 'stop', 'suspend-table', 'forbid', 'report', 'changed', 'all', 'keys', 'first', 'last', 'dr', 'source', 'uuid-v7', 'auto-increment', '5s', '10ms', '2h', '{value}~{n}', 'shop.orders.id', true, false, 0, 1, -1, 2.5, 1e21, null) },
  { weight: 2, arbitrary: json },
);

const strategy: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(...STRATEGY_NAMES),
  fc.dictionary(fc.constantFrom(...STRATEGY_KEYS), fc.oneof(leaf, fc.dictionary(name, leaf, { maxKeys: 3 }), fc.array(name, { maxLength: 3 })), { maxKeys: 4 }),
  leaf,
);

const onConflict = fc.dictionary(fc.oneof(fc.constantFrom(...CONFLICT_CLASSES), name), strategy, { maxKeys: 4 });

const tableRule = fc.dictionary(
  fc.constantFrom(...TABLE_KEYS),
  fc.oneof(onConflict, fc.dictionary(name, strategy, { maxKeys: 3 }), fc.array(fc.array(name, { maxLength: 3 }), { maxLength: 3 }), fc.dictionary(name, fc.oneof(name, leaf), { maxKeys: 3 }), fc.array(name, { maxLength: 3 }), fc.record({ offset: leaf }), leaf),
  { maxKeys: 5 },
);

/** Values shaped like a configuration (most keys known, values near right), so the deep rules run. */
export const configLike: fc.Arbitrary<unknown> = fc.dictionary(
  fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...SETTINGS) }, { weight: 1, arbitrary: name }),
  fc.oneof(
    leaf,
    fc.record({ maxQuarantined: leaf, action: leaf }, { requiredKeys: [] }),
    fc.record({ allowUpTo: leaf }),
    fc.record({ onConflict }, { requiredKeys: [] }),
    fc.dictionary(name, tableRule, { maxKeys: 3 }),
    fc.array(name, { maxLength: 3 }),
  ),
  { maxKeys: 6 },
);

/** Anything at all: what a `.mjs` configuration's default export may be. */
export const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ maxDepth: 3, withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withTypedArray: true, withSparseArray: true, withBoxedValues: true }),
  fc.func(fc.anything()),
  configLike,
  fc.record({ strategies: fc.oneof(fc.dictionary(name, fc.oneof(fc.func(leaf), leaf), { maxKeys: 3 }), leaf) }, { requiredKeys: [] }).chain((s) => configLike.map((c) => (typeof c === 'object' && c !== null ? { ...c, ...s } : s))),
);

function timed<T>(what: string, fn: () => T): T {
  const t0 = performance.now();
  const out = fn();
  expect(performance.now() - t0, `${what} took too long`).toBeLessThan(CALL_LIMIT_MS);
  return out;
}

function expectProblems(problems: readonly ConfigProblem[]): void {
  expect(problems.length).toBeGreaterThan(0);
  for (const p of problems) {
    expect(typeof p.message).toBe('string');
    expect(p.message.length).toBeGreaterThan(0);
    expect(Array.isArray(p.path)).toBe(true);
    for (const seg of p.path) expect(['string', 'number']).toContain(typeof seg);
  }
  expect(typeof formatProblems(problems)).toBe('string');
}

/** `parseConfig` on `value`: a config that everything downstream takes, or problems; never a throw. */
export function checkParse(value: unknown): void {
  const r = timed('parseConfig', () => parseConfig(value));
  if (!r.ok) {
    expectProblems(r.problems);
    return;
  }
  const c = r.config;
  expect(typeof c.stateSchema).toBe('string');
  for (const klass of CONFLICT_CLASSES) expect(c.defaults[klass], klass).toBeDefined();
  timed('logicalReferencesOf', () => logicalReferencesOf(c));
  try {
    timed('RuleBook', () => new RuleBook(c));
  } catch (e) {
    // A custom strategy named without its function: the engine's own error, with its code.
    expect(e).toBeInstanceOf(EngineError);
  }
  // Deterministic: the same input gives the same answer.
  expect(parseConfig(value)).toEqual(r);
}

/** The CLI's check of what a configuration file gave: a LoadedConfig, or a UsageError naming the file. */
export function checkValue(value: unknown): void {
  try {
    const loaded = timed('checkConfigValue', () => checkConfigValue('fuzz.mjs', value));
    expect(typeof loaded.config.stateSchema).toBe('string');
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(UsageError);
    expect((e as UsageError).code).toBe('USAGE');
    expect((e as UsageError).message).toMatch(/^--config: fuzz\.mjs (has problems:\n✖ |is not)/);
  }
}

/** The CLI's loader on a JSON file holding `text`. */
export async function checkFile(path: string, text: string): Promise<void> {
  writeFileSync(path, text);
  const t0 = performance.now();
  try {
    const loaded = await loadConfigFile(path);
    expect(typeof loaded.config.stateSchema).toBe('string');
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(UsageError);
    expect((e as UsageError).message.startsWith(`--config: ${path} `)).toBe(true);
  }
  expect(performance.now() - t0, 'loadConfigFile took too long').toBeLessThan(CALL_LIMIT_MS);
}

/** Text a configuration file may hold: JSON of config-like values (sometimes cut or spliced), or any string. */
export const fileText: fc.Arbitrary<string> = fc.oneof(
  configLike.map((v) => JSON.stringify(v)),
  fc.tuple(configLike.map((v) => JSON.stringify(v)), fc.nat(), fc.string({ maxLength: 8 })).map(([t, at, s]) => t.slice(0, at % (t.length + 1)) + s + t.slice(at % (t.length + 1))),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 100 }),
  json.map((v) => JSON.stringify(v)),
  fc.constantFrom('', '{}', '[]', 'null', '{"tables":', '\uFEFF{}', '{"__proto__":{"stateSchema":"x"}}', '{"constructor":{"prototype":{}}}', `{"tables":{"a.b":{"columns":{"c":"delta"}}}}`, '1'.repeat(400) + 'e999'),
);

/**
 * The CLI's loader on a module file (`.ts`, `.mts`, `.mjs`) holding `text`: a config, or a
 * UsageError that names the file. The file's code runs (a configuration module is code the DBA
 * wrote), so what it throws, rejects or exports is the file's fault, never the loader's crash.
 */
export async function checkModuleFile(path: string, text: string): Promise<void> {
  writeFileSync(path, text);
  const t0 = performance.now();
  try {
    const loaded = await loadConfigFile(path);
    expect(typeof loaded.config.stateSchema).toBe('string');
  } catch (e) {
    expect(e, String(e)).toBeInstanceOf(UsageError);
    expect((e as UsageError).code).toBe('USAGE');
    expect((e as UsageError).message).toMatch(/^--config: /);
    expect((e as UsageError).message).toContain(path);
  }
  expect(performance.now() - t0, 'loadConfigFile took too long').toBeLessThan(CALL_LIMIT_MS);
}

/** Ways a module may export a configuration's JSON, TypeScript-only syntax included (erased or not). */
const moduleShapes: readonly ((json: string) => string)[] = [
  (j) => `export default ${j};`,
  (j) => `const config = ${j} as const;\nexport default config;`,
  (j) => `import type { SalvageConfig } from 'binlog-salvage';\nconst c = ${j} as unknown as SalvageConfig;\nexport default c;`,
  (j) => `interface Rule { strategy: string }\ntype Rules = Record<string, Rule>;\nexport default (${j}) satisfies unknown as unknown as Rules;`,
  (j) => `enum Mode { Remap = 'remap' }\nexport default { ...(${j} as object), $comment: Mode.Remap };`,
  (j) => `export default await Promise.resolve(${j});`,
  (j) => `export default ((): unknown => ${j})();`,
  (j) => `export const other: number = 1;\nexport default ${j}!;`,
];

/** Modules that fail or export the wrong thing, each its own way. */
const badModules = [
  `throw new Error('config exploded');`,
  `export default (() => { throw 'a string'; })();`,
  `export default await Promise.reject(new TypeError('rejected'));`,
  `import missing from './no-such-module.js';\nexport default missing;`,
  `export const notDefault = {};`,
  `export default { get tables() { throw new Error('getter'); } };`,
  `export default undefined;`,
  `export default null;`,
  `export default class Config {}`,
  `export default function config(): void {}`,
  `export default Symbol('x');`,
  `export default 10n;`,
  `export default { a: };`,
  `export default {`,
  `const x: = 1;`,
  `export default <T,>(x: T) => x;`,
];

/** Text a `.ts` / `.mjs` configuration may hold: config-like JSON in a module shape (sometimes cut or spliced), broken modules, or any string. */
export const moduleText: fc.Arbitrary<string> = fc.oneof(
  fc.tuple(configLike, fc.constantFrom(...moduleShapes)).map(([v, shape]) => shape(JSON.stringify(v) ?? 'undefined')),
  fc
    .tuple(configLike, fc.constantFrom(...moduleShapes), fc.nat(), fc.string({ maxLength: 8 }))
    .map(([v, shape, at, s]) => {
      const t = shape(JSON.stringify(v) ?? 'undefined');
      const cut = at % (t.length + 1);
      return t.slice(0, cut) + s + t.slice(cut);
    }),
  fc.constantFrom(...badModules),
  fc.string({ maxLength: 120 }),
);
