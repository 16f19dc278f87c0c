/**
 * `--config FILE`: reads a configuration file and validates it (config/normalise.ts), with its
 * custom strategies. Three kinds of file:
 *
 * - JSON (any name but the ones below): the configuration as users write it;
 * - `.mjs` / `.js` / `.cjs`: a module whose default export is that object, plus `strategies`, the
 *   functions its `{ "strategy": "custom", "name": … }` rules call (loaded by dynamic import: the
 *   file runs with the user's rights, as any configuration program does);
 * - `.ts` / `.mts` / `.cts`: the same, transpiled with the `typescript` package when it can be
 *   imported (to a temporary `.mjs` beside the file, so its relative imports still resolve, else in
 *   the temporary directory), or refused with what to do instead.
 *
 * Every problem is a UsageError (exit 2) that names the file and, for the configuration's own
 * mistakes, lists each as `✖ message → at path`.
 */
import { randomUUID } from 'node:crypto';
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatProblems } from '../config/format-problems.js';
import { parseConfig, type ConfigProblem, type NormalisedConfig } from '../config/normalise.js';
import type { CustomStrategies, CustomStrategy } from '../reconcile/custom-strategy.js';
import { UsageError } from './usage-error.js';

/** A configuration and the custom strategies it came with. */
export interface LoadedConfig {
  readonly config: NormalisedConfig;
  readonly strategies: CustomStrategies;
}

/** The part of the `typescript` package the loader uses. */
export interface TypeScriptCompiler {
  transpileModule(
    input: string,
    options: { compilerOptions: Record<string, unknown>; fileName: string; reportDiagnostics?: boolean },
  ): { outputText: string; diagnostics?: readonly TypeScriptDiagnostic[] };
}

/** The part of a `typescript` Diagnostic the loader reads: where (offset into the file), what, and how bad. */
export interface TypeScriptDiagnostic {
  readonly start?: number;
  readonly messageText: string | { readonly messageText: string };
  /** DiagnosticCategory: 0 Warning, 1 Error, 2 Suggestion, 3 Message. */
  readonly category: number;
}

export interface LoadConfigOptions {
  /** How the `typescript` package is imported (tests replace it); default: a dynamic import. */
  readonly importTypeScript?: () => Promise<TypeScriptCompiler>;
}

const MODULE_EXTENSIONS = new Set(['.mjs', '.js', '.cjs']);
const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts']);

async function defaultTypeScript(): Promise<TypeScriptCompiler> {
  // A variable specifier: the package is optional, and bundlers and tsc must not try to resolve it.
  const name = 'typescript';
  const ts = (await import(name)) as { default?: TypeScriptCompiler } & Partial<TypeScriptCompiler>;
  const compiler = ts.default ?? ts;
  if (typeof compiler.transpileModule !== 'function') throw new Error('the "typescript" package has no transpileModule');
  return compiler as TypeScriptCompiler;
}

/** Reads, validates and normalises `file`; throws UsageError for every kind of problem. */
export async function loadConfigFile(file: string, options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const ext = extname(file).toLowerCase();
  let value: unknown;
  if (MODULE_EXTENSIONS.has(ext)) value = await importDefault(file, resolve(file));
  else if (TYPESCRIPT_EXTENSIONS.has(ext)) value = await importTypeScriptConfig(file, options.importTypeScript ?? defaultTypeScript);
  else value = await readJson(file);
  return checkConfigValue(file, value);
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--config: cannot read ${file}: ${(e as Error).message}`, '--config');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new UsageError(`--config: ${file} is not valid JSON: ${(e as Error).message}`, '--config');
  }
}

async function importDefault(file: string, path: string): Promise<unknown> {
  let mod: { default?: unknown };
  try {
    mod = await settledBeforeExit(import(pathToFileURL(path).href) as Promise<{ default?: unknown }>, () => new UsageError(`--config: ${file} never finished loading: its top-level await waits for something that can never happen (nothing else is left running that could settle it); the command did nothing`, '--config'));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`--config: cannot load ${file}: ${messageOf(e)}`, '--config');
  }
  if (mod.default === undefined) throw new UsageError(`--config: ${file} has no default export: write "export default { … }" with the configuration`, '--config');
  try {
    // A plain copy, read once: a getter that throws is the file's fault (exit 2), not the validator's (exit 70).
    return plainCopy(mod.default);
  } catch (e) {
    throw new UsageError(`--config: cannot read the default export of ${file}: ${messageOf(e)}`, '--config');
  }
}

/**
 * `promise`, or `stuck()` thrown when the process would exit first: Node exits (code 0) once no
 * work is left, even while a module's top-level await waits for a promise nothing can settle, so
 * such a configuration ended a run silently, as if it had succeeded. `beforeExit` says that moment
 * has come; the rejection then gives the command its error and exit code. (A module that loops
 * forever, or keeps a timer running, is not detected: it hangs, as any program would.)
 */
function settledBeforeExit<T>(promise: Promise<T>, stuck: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onExit = (): void => reject(stuck());
    process.once('beforeExit', onExit);
    promise.then(
      (v) => {
        process.off('beforeExit', onExit);
        resolve(v);
      },
      (e: unknown) => {
        process.off('beforeExit', onExit);
        reject(e instanceof Error ? e : new Error(messageOf(e)));
      },
    );
  });
}

/** Deep copy of plain objects and arrays, reading every property once (getters run here); other values as they are. */
function plainCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainCopy);
  if (isPlainObject(value) && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    const out = Object.create(Object.getPrototypeOf(value) as object | null) as Record<string, unknown>;
    // defineProperty: an own "__proto__" key stays a key, as the original has it.
    for (const key of Object.keys(value)) Object.defineProperty(out, key, { value: plainCopy(value[key]), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}

/** What a thrown value says: a module may throw anything, not only an Error. */
function messageOf(e: unknown): string {
  if (e instanceof Error) return e.message;
  try {
    return `threw ${typeof e === 'string' ? JSON.stringify(e) : String(e)}`;
  } catch {
    return `threw a ${typeof e}`;
  }
}

/** `line:column` (1-based) of `offset` in `text`. */
function lineAndColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${line}:${offset - before.lastIndexOf('\n')}`;
}

async function importTypeScriptConfig(file: string, importTypeScript: () => Promise<TypeScriptCompiler>): Promise<unknown> {
  let ts: TypeScriptCompiler;
  try {
    ts = await importTypeScript();
  } catch {
    throw new UsageError(
      `--config: ${file} is TypeScript, and the "typescript" package cannot be imported here: install it (npm install typescript) or write the configuration as a .mjs file (the same code without types)`,
      '--config',
    );
  }
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--config: cannot read ${file}: ${(e as Error).message}`, '--config');
  }
  let output: string;
  let diagnostics: readonly TypeScriptDiagnostic[];
  try {
    // ModuleKind.ESNext = 99, ScriptTarget.ES2022 = 9: numbers, so the package's enums need not be loaded by name.
    const r = ts.transpileModule(source, { compilerOptions: { module: 99, target: 9, sourceMap: false }, fileName: basename(file), reportDiagnostics: true });
    output = r.outputText;
    diagnostics = r.diagnostics ?? [];
  } catch (e) {
    throw new UsageError(`--config: cannot transpile ${file}: ${messageOf(e)}`, '--config');
  }
  // transpileModule repairs syntax errors silently (a file cut after "export default {" runs as
  // an empty configuration: the built-in defaults); its diagnostics are the syntax errors.
  const errors = diagnostics.filter((d) => d.category === 1);
  if (errors.length > 0) {
    const lines = errors.map((d) => `✖ ${file}${d.start === undefined ? '' : `:${lineAndColumn(source, d.start)}`}: ${typeof d.messageText === 'string' ? d.messageText : d.messageText.messageText}`);
    throw new UsageError(`--config: ${file} has syntax errors:\n${lines.join('\n')}`, '--config');
  }
  const name = `.${basename(file)}.${randomUUID()}.mjs`;
  let temp = join(dirname(resolve(file)), name);
  try {
    await writeFile(temp, output, { flag: 'wx' });
  } catch {
    temp = join(tmpdir(), name);
    try {
      await writeFile(temp, output, { flag: 'wx' });
    } catch (e) {
      throw new UsageError(`--config: cannot write the transpiled ${file} beside it nor in ${tmpdir()}: ${(e as Error).message}`, '--config');
    }
  }
  try {
    return await importDefault(file, temp);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Functions anywhere but under `strategies`: a custom strategy is named in the configuration, its function given apart. */
function strayFunctions(value: unknown, path: (string | number)[], out: ConfigProblem[]): void {
  if (typeof value === 'function') {
    out.push({ message: 'a function here: put it under "strategies" and name it: { "strategy": "custom", "name": "…" }', path: [...path] });
    return;
  }
  if (Array.isArray(value)) value.forEach((v, i) => strayFunctions(v, [...path, i], out));
  else if (isPlainObject(value)) for (const [k, v] of Object.entries(value)) strayFunctions(v, [...path, k], out);
}

/** Every `{ "strategy": "custom", "name": … }` of a normalised configuration, with the path of its name. */
function customUses(config: NormalisedConfig): { name: string; path: (string | number)[] }[] {
  const out: { name: string; path: (string | number)[] }[] = [];
  for (const [klass, s] of Object.entries(config.defaults)) if (s.strategy === 'custom') out.push({ name: s.name, path: ['defaults', 'onConflict', klass, 'name'] });
  for (const t of config.tables) {
    for (const [klass, s] of Object.entries(t.onConflict)) if (s?.strategy === 'custom') out.push({ name: s.name, path: ['tables', t.pattern, 'onConflict', klass, 'name'] });
  }
  return out;
}

/** Validates what a file gave and throws UsageError naming `file` with every problem (see validateConfigValue). */
export function checkConfigValue(file: string, value: unknown): LoadedConfig {
  const r = validateConfigValue(value);
  if (!r.ok) throw new UsageError(`--config: ${file} has problems:\n${formatProblems(r.problems)}`, '--config');
  return r.loaded;
}

/**
 * Validates what a file gave: its `strategies` (functions, when a module), then the configuration,
 * then that every custom name has its function. `--config` and `config check` both use it, so a
 * file one accepts the other accepts too.
 */
export function validateConfigValue(value: unknown): { ok: true; loaded: LoadedConfig } | { ok: false; problems: readonly ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  let input = value;
  // No prototype: a function named "__proto__" is a strategy like any other, not the object's prototype.
  const strategies = Object.create(null) as Record<string, CustomStrategy>;
  if (isPlainObject(value) && 'strategies' in value) {
    const { strategies: given, ...rest } = value;
    input = rest;
    if (!isPlainObject(given)) problems.push({ message: 'expected an object of functions: { myRule: (change) => decision }', path: ['strategies'] });
    else {
      for (const [name, fn] of Object.entries(given)) {
        if (typeof fn === 'function') strategies[name] = fn as CustomStrategy;
        else problems.push({ message: `expected a function, found ${fn === null ? 'null' : typeof fn}`, path: ['strategies', name] });
      }
    }
  }
  strayFunctions(input, [], problems);
  if (problems.length > 0) return { ok: false, problems };
  const r = parseConfig(input);
  if (!r.ok) return { ok: false, problems: r.problems };
  const known = Object.keys(strategies);
  for (const use of customUses(r.config)) {
    if (Object.hasOwn(strategies, use.name)) continue;
    const where = known.length === 0 ? 'custom strategies are functions: give them in a .mjs or .ts configuration ("strategies": { … }) or to the library call' : `"strategies" has ${known.map((n) => `"${n}"`).join(', ')}`;
    problems.push({ message: `no function for custom strategy ${JSON.stringify(use.name)}: ${where}`, path: use.path });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, loaded: { config: r.config, strategies } };
}
