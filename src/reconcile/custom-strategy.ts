/**
 * Custom strategies (DESIGN.md "Strategies": "a custom function in the library API, which returns
 * one of these decisions (never raw SQL)"). A configuration names one as
 * `{ "strategy": "custom", "name": "myRule" }`; the function comes from the library call's
 * `strategies` or from a `.mjs`/`.ts` configuration file's `strategies`. It sees the classified
 * change in canonical JSON values (as the ledger and `salvage quarantine export` print them) and
 * returns a built-in decision, which the engine then carries out exactly as if the configuration
 * had named it — so every safety check of that strategy still applies. What it returns is checked
 * against the configuration schema and the strategies the change's class allows; a function that
 * throws or returns anything else stops the run with an error naming the rule and the change.
 */
import type { ColumnValue, RowImage } from '../binlog/column.js';
import { RawJson, type CanonicalValue } from '../binlog/values/canonical-json.js';
import { formatProblems } from '../config/format-problems.js';
import { toProblems, toStrategy, typeMessage, type Strategy } from '../config/normalise.js';
import { ALLOWED_STRATEGIES, strategySchema, type StrategyInput, type StrategyName } from '../config/schema.js';
import { EngineError } from '../errors.js';
import { toCanonicalRow } from '../model/canonical-row.js';
import type { TableSchema } from '../model/table-schema.js';
import { fromCanonical } from './from-canonical.js';

export const CustomStrategyErrorCode = {
  /** The configuration names a custom strategy that no `strategies` entry provides. */
  Missing: 'RECONCILE_CUSTOM_MISSING',
  /** The function threw (its error is the `cause`). */
  Threw: 'RECONCILE_CUSTOM_THREW',
  /** The function returned something that is not a decision the change's class allows. */
  BadDecision: 'RECONCILE_CUSTOM_BAD_DECISION',
} as const;
export type CustomStrategyErrorCode = (typeof CustomStrategyErrorCode)[keyof typeof CustomStrategyErrorCode];

/** A row keyed by column name, values in canonical JSON (DECIMAL and times as text, binary as base64, big integers as digit strings). */
export type CanonicalRow = Readonly<Record<string, CanonicalValue>>;

/** What a custom strategy is told about one classified lost row change. */
export interface CustomStrategyContext {
  /** The conflict class (DESIGN.md "Conflict taxonomy"), e.g. `update-diverged`. */
  readonly class: string;
  /** `schema.table`. */
  readonly table: string;
  readonly op: 'insert' | 'update' | 'delete';
  /** The table's columns, in order. */
  readonly columns: readonly string[];
  /** The source row's primary key as the binlog logged it (before any remap). */
  readonly key: readonly CanonicalValue[] | null;
  /** B and A: the change's images, rewritten through the key map (what would be written); a column the binlog did not log is absent. */
  readonly before: CanonicalRow | null;
  readonly after: CanonicalRow | null;
  /** D: the DR row at the change's key, if any. */
  readonly dr: CanonicalRow | null;
  /** insert-unique-taken / update-unique-taken: the unique key (`PRIMARY` for an update's new primary key), and the DR row that holds its value. */
  readonly uniqueKey: string | null;
  readonly uniqueHolder: CanonicalRow | null;
  /** Columns where D differs from B, and from A (as the classifier found them). */
  readonly differsFromBefore: readonly string[];
  readonly differsFromAfter: readonly string[];
  /** The change: `GTID#index` (or `file:pos#index`). */
  readonly change: string;
  /** The configuration path that chose this function. */
  readonly rulePath: string;
}

/**
 * What a custom strategy returns: any strategy a configuration may name for the class (a name, or
 * an object with its options, e.g. `{ strategy: 'newest', column: 'updated_at' }`); `source` with
 * `row` (canonical values over the after image: the lost change's row, edited); `quarantine` or
 * `skip` with a `reason` for the ledger. Never SQL.
 */
export type CustomDecision =
  | Exclude<StrategyInput, 'custom' | { strategy: 'custom' }>
  | { readonly strategy: 'source'; readonly row: CanonicalRow }
  | { readonly strategy: 'quarantine' | 'skip'; readonly reason: string };

/** A custom strategy: decides one change, synchronously, without side effects on its input. */
export type CustomStrategy = (context: CustomStrategyContext) => CustomDecision;

/** The functions a configuration's `{ "strategy": "custom", "name": … }` refer to, by name. */
export type CustomStrategies = Readonly<Record<string, CustomStrategy>>;

/** A returned decision, checked: the strategy to carry out, an edited after image, a reason. */
export interface CheckedDecision {
  readonly strategy: Strategy;
  /** `source` with `row`: the after image with the edited columns. */
  readonly after: RowImage | null;
  readonly reason: string | null;
}

/** Where a custom strategy ran, for the messages of its errors. */
export interface CustomCall {
  readonly name: string;
  readonly rulePath: string;
  readonly table: TableSchema;
  readonly op: 'insert' | 'update' | 'delete';
  /** The source key as people read it (`7`, `(1, "a")`). */
  readonly keyText: string;
  readonly change: string;
}

/** Canonical JSON for a custom strategy's eyes: a JSON document as its parsed value rather than as raw text. */
function plain(row: Record<string, CanonicalValue>): CanonicalRow {
  const out: Record<string, CanonicalValue> = {};
  for (const [name, v] of Object.entries(row)) {
    if (!(v instanceof RawJson)) out[name] = v;
    else {
      try {
        out[name] = JSON.parse(v.json) as CanonicalValue;
      } catch {
        out[name] = v.json;
      }
    }
  }
  return out;
}

/** An image keyed by the DR's column names, or null. */
export function canonicalImage(row: RowImage | null, table: TableSchema): CanonicalRow | null {
  return row === null ? null : plain(toCanonicalRow(row, table));
}

function where(call: CustomCall): string {
  return `custom strategy ${JSON.stringify(call.name)} (${call.rulePath}) on ${call.table.schema}.${call.table.table} ${call.keyText} (${call.op} at ${call.change})`;
}

function details(call: CustomCall): Record<string, string> {
  return { table: `${call.table.schema}.${call.table.table}`, key: call.keyText, strategy: call.name, rule: call.rulePath, change: call.change };
}

/** A returned value as people read it in a message, cut short. */
function shown(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (value === undefined) return 'undefined';
  let text: string;
  try {
    text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Calls `fn`; a throw becomes RECONCILE_CUSTOM_THREW with the function's error as its cause. */
export function callCustomStrategy(fn: CustomStrategy, context: CustomStrategyContext, call: CustomCall): unknown {
  try {
    return fn(context);
  } catch (e) {
    const why = e instanceof Error ? e.message : shown(e);
    throw new EngineError(CustomStrategyErrorCode.Threw, `${where(call)} threw: ${why}`, details(call), { cause: e });
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/**
 * Checks what a custom strategy returned for a change of class `klass` whose after image is
 * `after`: a decision the configuration schema accepts and the class allows (not another custom
 * one), `row` only with `source` and never for a delete, `reason` only with quarantine or skip.
 */
export function checkCustomDecision(value: unknown, klass: string, after: RowImage | null, call: CustomCall): CheckedDecision {
  const bad = (why: string): EngineError => new EngineError(CustomStrategyErrorCode.BadDecision, `${where(call)} returned ${shown(value)}: ${why}`, details(call));
  if (typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function') throw bad('a Promise; a custom strategy decides synchronously');
  if (typeof value !== 'string' && !isPlainObject(value)) throw bad('expected a decision such as "skip" or { strategy: "merge" }');
  let input: unknown = value;
  let row: Record<string, unknown> | null = null;
  let reason: string | null = null;
  if (isPlainObject(value)) {
    const { row: r, reason: why, ...rest } = value;
    input = rest;
    if (r !== undefined) {
      if (rest['strategy'] !== 'source') throw bad('"row" goes with { strategy: "source" } only');
      if (!isPlainObject(r)) throw bad('"row" must be an object keyed by column name');
      row = r;
    }
    if (why !== undefined) {
      if (rest['strategy'] !== 'quarantine' && rest['strategy'] !== 'skip') throw bad('"reason" goes with "quarantine" or "skip" only');
      if (typeof why !== 'string' || why.length === 0) throw bad('"reason" must be a non-empty string');
      reason = why;
    }
  }
  const parsed = strategySchema().safeParse(input, { error: typeMessage });
  if (!parsed.success) throw bad(`not a decision:\n${formatProblems(toProblems(parsed.error.issues))}`);
  const data = parsed.data;
  if (data === 'newest' || data === 'oldest') throw bad(`"${data}" needs a column to compare: return { strategy: "${data}", column: "…" }`);
  const strategy = toStrategy(data);
  const name: StrategyName = strategy.strategy;
  if (name === 'custom') throw bad('a custom strategy returns a built-in decision, not another custom one');
  const allowed = (ALLOWED_STRATEGIES as Readonly<Record<string, readonly StrategyName[]>>)[klass] ?? ['quarantine', 'skip', 'fail'];
  if (!allowed.includes(name)) throw bad(`"${name}" does not apply to ${klass}; expected one of ${allowed.filter((s) => s !== 'custom').map((s) => `"${s}"`).join(', ')}`);
  let edited: RowImage | null = null;
  if (row !== null) {
    if (call.op === 'delete' || after === null) throw bad('a delete has no row to edit');
    edited = after.slice();
    for (const [col, v] of Object.entries(row)) {
      const i = call.table.columns.findIndex((c) => c.name === col);
      if (i === -1) throw bad(`"row" names ${JSON.stringify(col)}, which is not a column of ${call.table.schema}.${call.table.table}`);
      let decoded: ColumnValue | undefined;
      try {
        decoded = fromCanonical(v as CanonicalValue, call.table.columns[i]!);
      } catch (e) {
        throw bad(`"row": ${e instanceof Error ? e.message : shown(e)}`);
      }
      if (decoded !== undefined) edited[i] = decoded;
    }
  }
  return { strategy, after: edited, reason };
}
