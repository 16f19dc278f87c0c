/**
 * Config read → validated → normalised (STYLE.md rule 8): `parseConfig` turns what users write
 * into one fully defaulted, readonly shape, with DESIGN.md's built-in defaults filled in, or
 * into a list of problems that `formatProblems` renders.
 */
import type { z } from 'zod';
import { CONFLICT_CLASSES, configSchema, STRATEGY_NAMES, unknownName } from './schema.js';
import type { ConfigInput, ConflictClass, StrategyInput, StrategyName, TableRuleInput } from './schema.js';
import { parseQualified, qualifiedName } from '../model/qualified-name.js';

/** One thing wrong with a configuration: what, and where in the user's JSON. */
export interface ConfigProblem {
  readonly message: string;
  readonly path: readonly (string | number)[];
}

export type MergePolicy = 'dr' | 'source' | 'max' | 'min' | 'delta' | 'quarantine' | 'fail';

/** A strategy with every option present, discriminated by `strategy`. */
export type Strategy =
  | { readonly strategy: 'apply' | 'skip' | 'source' | 'delta' | 'remap' | 'quarantine' | 'fail' }
  | { readonly strategy: 'newest' | 'oldest'; readonly column: string; readonly tie: 'dr' | 'source'; readonly thresholdMs: number }
  | { readonly strategy: 'max' | 'min'; readonly column: string | null; readonly nulls: 'first' | 'last' }
  | { readonly strategy: 'merge'; readonly bothChanged: MergePolicy; readonly policy: Readonly<Record<string, MergePolicy>> }
  | { readonly strategy: 'link'; readonly naturalKey: readonly string[] | null }
  | { readonly strategy: 'rewrite-unique'; readonly template: string }
  | { readonly strategy: 'delete-blocking'; readonly maxChildren: number }
  /** A function given by name (the library's `strategies`, or a .mjs/.ts configuration's) that returns one of the others. */
  | { readonly strategy: 'custom'; readonly name: string };

export type KeyAllocation = { readonly kind: 'auto-increment' } | { readonly kind: 'uuid-v7' } | { readonly kind: 'offset'; readonly offset: number };
export type CascadeGuard = { readonly kind: 'forbid' } | { readonly kind: 'report' } | { readonly kind: 'allow-up-to'; readonly limit: number };

/** One `tables` entry; `onConflict` holds only what the user set, so precedence stays visible. */
export interface NormalisedTableRule {
  readonly pattern: string;
  readonly onConflict: Readonly<Partial<Record<ConflictClass, Strategy>>>;
  readonly columns: Readonly<Record<string, Strategy>>;
  readonly groups: readonly (readonly string[])[];
  readonly references: Readonly<Record<string, { readonly schema: string; readonly table: string; readonly column: string }>>;
  readonly naturalKey: readonly string[] | null;
  readonly keyAllocation: KeyAllocation;
}

/** The configuration the engine reads: every field present, defaults applied. */
export interface NormalisedConfig {
  readonly stateSchema: string;
  readonly keepTransactionsWhole: boolean;
  readonly escalation: { readonly maxQuarantined: number | null; readonly action: 'stop' | 'suspend-table' };
  readonly cascadeGuard: CascadeGuard;
  readonly compare: 'changed' | 'all' | 'keys';
  readonly ignoreColumns: readonly string[];
  /** Global defaults over the built-in ones: a strategy for every class. */
  readonly defaults: Readonly<Record<ConflictClass, Strategy>>;
  readonly tables: readonly NormalisedTableRule[];
}

export type ParseConfigResult = { readonly ok: true; readonly config: NormalisedConfig } | { readonly ok: false; readonly problems: readonly ConfigProblem[] };

/** DESIGN.md's "built-in default" column; `merge` with no base keeps the DR value on differing columns. */
export const BUILT_IN_DEFAULTS: Readonly<Record<ConflictClass, Strategy>> = {
  clean: { strategy: 'apply' },
  'already-applied': { strategy: 'skip' },
  'insert-pk-taken': { strategy: 'remap' },
  'insert-pk-same-record': { strategy: 'merge', bothChanged: 'dr', policy: {} },
  'insert-unique-taken': { strategy: 'quarantine' },
  'parent-missing': { strategy: 'quarantine' },
  'update-diverged': { strategy: 'merge', bothChanged: 'dr', policy: {} },
  'update-missing': { strategy: 'quarantine' },
  'update-deleted-on-dr': { strategy: 'quarantine' },
  'update-never-existed': { strategy: 'quarantine' },
  'update-pk-reused': { strategy: 'quarantine' },
  'update-unique-taken': { strategy: 'quarantine' },
  'delete-diverged': { strategy: 'quarantine' },
  'delete-pk-reused': { strategy: 'quarantine' },
  'delete-missing': { strategy: 'quarantine' },
};

/** `{value}` is the original unique value, `{n}` a counter that makes the result unique. */
export const DEFAULT_REWRITE_TEMPLATE = '{value}~salvaged-{n}';

const DURATION_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

function toMs(duration: string | undefined): number {
  if (duration === undefined) return 0;
  const m = /^(\d+)(ms|s|m|h)$/.exec(duration);
  return m === null ? 0 : Number(m[1]) * (DURATION_MS[m[2]!] ?? 0);
}

/** Expands a bare name or an object into a strategy with every option present. */
export function toStrategy(input: StrategyInput): Strategy {
  const s = typeof input === 'string' ? ({ strategy: input } as { strategy: StrategyName }) : input;
  switch (s.strategy) {
    case 'newest':
    case 'oldest': {
      const o = s as Extract<StrategyInput, { strategy: 'newest' | 'oldest' }>;
      // Ties go to the DR unless the user says otherwise: safe by default, never random.
      return { strategy: o.strategy, column: o.column, tie: o.tie ?? 'dr', thresholdMs: toMs(o.threshold) };
    }
    case 'max':
    case 'min': {
      const o = s as Extract<StrategyInput, { strategy: 'max' | 'min' }>;
      // NULL sorts lowest, as in MySQL's ORDER BY.
      return { strategy: o.strategy, column: o.column ?? null, nulls: o.nulls ?? 'first' };
    }
    case 'merge': {
      const o = s as Extract<StrategyInput, { strategy: 'merge' }>;
      return { strategy: 'merge', bothChanged: o.bothChanged ?? 'dr', policy: { ...o.policy } };
    }
    case 'link': {
      const o = s as Extract<StrategyInput, { strategy: 'link' }>;
      return { strategy: 'link', naturalKey: o.naturalKey ?? null };
    }
    case 'rewrite-unique': {
      const o = s as Extract<StrategyInput, { strategy: 'rewrite-unique' }>;
      return { strategy: 'rewrite-unique', template: o.template ?? DEFAULT_REWRITE_TEMPLATE };
    }
    case 'delete-blocking': {
      const o = s as Extract<StrategyInput, { strategy: 'delete-blocking' }>;
      // Refuses to delete a row with children unless the user allows a cap.
      return { strategy: 'delete-blocking', maxChildren: o.maxChildren ?? 0 };
    }
    case 'custom': {
      const o = s as Extract<StrategyInput, { strategy: 'custom' }>;
      return { strategy: 'custom', name: o.name };
    }
    default:
      return { strategy: s.strategy };
  }
}

function toOnConflict(input: Partial<Record<ConflictClass, StrategyInput>> | undefined): Partial<Record<ConflictClass, Strategy>> {
  const out: Partial<Record<ConflictClass, Strategy>> = {};
  for (const klass of CONFLICT_CLASSES) {
    const s = input?.[klass];
    if (s !== undefined) out[klass] = toStrategy(s);
  }
  return out;
}

function toKeyAllocation(input: TableRuleInput['keyAllocation']): KeyAllocation {
  if (input === undefined || input === 'auto-increment') return { kind: 'auto-increment' };
  if (input === 'uuid-v7') return { kind: 'uuid-v7' };
  return { kind: 'offset', offset: input.offset };
}

function toCascadeGuard(input: ConfigInput['cascadeGuard']): CascadeGuard {
  if (input === undefined || input === 'forbid') return { kind: 'forbid' };
  if (input === 'report') return { kind: 'report' };
  return { kind: 'allow-up-to', limit: input.allowUpTo };
}

function toTableRule(pattern: string, t: TableRuleInput): NormalisedTableRule {
  const columns: Record<string, Strategy> = {};
  for (const [col, s] of Object.entries(t.columns ?? {})) columns[col] = toStrategy(s);
  const references: Record<string, { schema: string; table: string; column: string }> = {};
  for (const [col, target] of Object.entries(t.references ?? {})) {
    // The schema checked the form: three parts, bare or quoted.
    const [schema, table, column] = (parseQualified(target, 3) ?? []).map((p) => p.text);
    references[col] = { schema: schema ?? '', table: table ?? '', column: column ?? '' };
  }
  return {
    pattern,
    onConflict: toOnConflict(t.onConflict),
    columns,
    groups: (t.groups ?? []).map((g) => [...g]),
    references,
    naturalKey: t.naturalKey ? [...t.naturalKey] : null,
    keyAllocation: toKeyAllocation(t.keyAllocation),
  };
}

/** Turns validated user input into the normalised form. */
export function normalise(input: ConfigInput): NormalisedConfig {
  return {
    stateSchema: input.stateSchema ?? 'salvage',
    // Safe by default: all of a transaction applied, or all of it quarantined.
    keepTransactionsWhole: input.keepTransactionsWhole ?? true,
    escalation: { maxQuarantined: input.escalation?.maxQuarantined ?? null, action: input.escalation?.action ?? 'stop' },
    cascadeGuard: toCascadeGuard(input.cascadeGuard),
    compare: input.compare ?? 'changed',
    ignoreColumns: [...(input.ignoreColumns ?? [])],
    defaults: { ...BUILT_IN_DEFAULTS, ...toOnConflict(input.defaults?.onConflict) },
    tables: Object.entries(input.tables ?? {}).map(([pattern, t]) => toTableRule(pattern, t)),
  };
}

const depth = (issues: readonly z.core.$ZodIssue[]): number => Math.max(0, ...issues.map((i) => i.path.length));
const typeMismatch = (issues: readonly z.core.$ZodIssue[]): boolean => issues.some((i) => i.path.length === 0 && i.code === 'invalid_type');

/** The union branch the user meant: the one that got furthest into the value, then one whose type matched. */
function likelyBranch(branches: readonly (readonly z.core.$ZodIssue[])[]): readonly z.core.$ZodIssue[] | undefined {
  let best: readonly z.core.$ZodIssue[] | undefined;
  let bestScore = -1;
  for (const b of branches) {
    if (b.length === 0) continue;
    const score = depth(b) * 2 + (typeMismatch(b) ? 0 : 1);
    if (score > bestScore) [best, bestScore] = [b, score];
  }
  return best;
}

/** Flattens zod's nested issues (unions, record keys, unknown keys) into one problem per mistake. */
export function toProblems(issues: readonly z.core.$ZodIssue[], prefix: readonly (string | number)[] = []): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'invalid_union' && issue.errors.length > 0) {
      const branch = likelyBranch(issue.errors);
      if (branch !== undefined) {
        out.push(...toProblems(branch, path));
        continue;
      }
    }
    if (issue.code === 'invalid_key' && issue.issues.length > 0) {
      out.push(...toProblems(issue.issues, path));
      continue;
    }
    if (issue.code === 'unrecognized_keys') {
      const isClasses = path[path.length - 1] === 'onConflict';
      for (const key of issue.keys) {
        out.push({ message: isClasses ? unknownName('conflict class', key, CONFLICT_CLASSES) : `unknown setting "${key}"`, path: [...path, key] });
      }
      continue;
    }
    out.push({ message: issue.message, path });
  }
  return out;
}

/**
 * The type a value has, as zod's messages name it ("object", "array", "null", a class's name), without
 * zod's own lookup: that one turns `value.constructor.name` into a property key, which throws on a
 * module's object whose `constructor` is not a class (`{ constructor: { name: Object.create(null) } }`,
 * found by the configuration fuzz).
 */
function receivedType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (typeof value !== 'object') return typeof value;
  if (Object.getPrototypeOf(value) === Object.prototype) return 'object';
  const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' ? name : 'object';
}

/** zod's message for a value of the wrong type, with the type named safely; other issues keep zod's own (pass as `safeParse`'s `error`). */
export function typeMessage(issue: { readonly code?: string; readonly expected?: unknown; readonly input?: unknown }): string | undefined {
  if (issue.code !== 'invalid_type') return undefined;
  return `Invalid input: expected ${String(issue.expected)}, received ${receivedType(issue.input)}`;
}

/** Validates and normalises a parsed configuration file; failure is expected and returned as data. */
export function parseConfig(input: unknown): ParseConfigResult {
  const r = configSchema().safeParse(input, { error: typeMessage });
  if (!r.success) return { ok: false, problems: toProblems(r.error.issues) };
  return { ok: true, config: normalise(r.data) };
}

export { STRATEGY_NAMES, CONFLICT_CLASSES };

/**
 * The configuration's logical foreign keys (`tables."crm.notes".references`) in the form the schema
 * catalog takes: `{ "crm.notes": { references: { ticket_id: "crm.tickets.id" } } }`.
 */
export function logicalReferencesOf(config: NormalisedConfig): Record<string, { references: Record<string, string> }> {
  const out: Record<string, { references: Record<string, string> }> = {};
  for (const rule of config.tables) {
    const entries = Object.entries(rule.references);
    if (entries.length === 0) continue;
    // Quoted where a name needs it, so the catalog resolves exactly the names the file gave.
    out[rule.pattern] = { references: Object.fromEntries(entries.map(([col, ref]) => [col, qualifiedName(ref.schema, ref.table, ref.column)])) };
  }
  return out;
}
