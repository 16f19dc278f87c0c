/**
 * What users write: the zod 4 schema of the salvage configuration file (DESIGN.md,
 * "Strategies" and "Conflict taxonomy"). Shape checks live here; rules that relate two
 * fields are small named functions in `configRules`, run by `superRefine` on the root.
 */
import type { ZodOptional, z } from 'zod';
import { parseQualified } from '../model/qualified-name.js';
import { zod } from './zod.js';

/** Conflict classes exactly as DESIGN.md's "Conflict taxonomy" table names them. */
export const CONFLICT_CLASSES = [
  'clean',
  'already-applied',
  'insert-pk-taken',
  'insert-pk-same-record',
  'insert-unique-taken',
  'parent-missing',
  'update-diverged',
  'update-missing',
  'update-deleted-on-dr',
  'update-never-existed',
  'update-pk-reused',
  'update-unique-taken',
  'delete-diverged',
  'delete-pk-reused',
  'delete-missing',
] as const;
export type ConflictClass = (typeof CONFLICT_CLASSES)[number];

/** Strategy names exactly as DESIGN.md's "Strategies" section names them. */
export const STRATEGY_NAMES = [
  'apply',
  'skip',
  'source',
  'newest',
  'oldest',
  'max',
  'min',
  'merge',
  'delta',
  'remap',
  'link',
  'rewrite-unique',
  'delete-blocking',
  'quarantine',
  'fail',
  'custom',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

const list = (names: readonly string[]): string => names.map((n) => `"${n}"`).join(', ');

/** Edit distance, for "did you mean" on short names. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

/** `unknown X "y"; did you mean "z"?` when one name is close, else the list of known names. */
export function unknownName(what: string, input: unknown, known: readonly string[]): string {
  const given = JSON.stringify(input);
  if (typeof input === 'string') {
    const near = known.filter((k) => distance(input.toLowerCase(), k) <= 2);
    if (near.length === 1) return `unknown ${what} ${given}; did you mean "${near[0]}"?`;
  }
  return `unknown ${what} ${given}; expected one of ${list(known)}`;
}

/** The key of a note for people; salvage ignores it (JSON has no comments, JSON Schema names its own note this way). */
export const COMMENT_KEY = '$comment';

const COMMENT_ERROR = 'a "$comment" is a string or an array of strings';

/** What a column changed on both sides falls back to inside `merge`. */
export const MERGE_POLICIES = ['dr', 'source', 'max', 'min', 'delta', 'quarantine', 'fail'] as const;

/**
 * `db.table`, either part may use `*` and `?` globs. A bare name may hold spaces, quotes and any
 * letter, as MySQL's may — not a dot (the separator), nor whitespace at either end (MySQL forbids
 * a trailing space, and a leading one is a typo far more often than a name), nor a backtick first.
 * A name quoted with backticks, as in SQL (`` `shop.v2`.`cust.tbl` ``, a backtick inside doubled),
 * may hold anything and is literal: model/qualified-name.ts reads them.
 */
const NAME = '(?:`(?:[^`]|``)+`|(?![\\s`])[^.]*[^.\\s])';
export const TABLE_GLOB = new RegExp(`^${NAME}\\.${NAME}$`);

/** For a name with more dots than parts: how to write a name that holds a dot. */
function dottedHint(input: unknown, parts: number, example: string): string {
  return typeof input === 'string' && input.split('.').length > parts ? `; a name that holds a dot goes in backticks, as in ${JSON.stringify(example)}` : '';
}

/**
 * The schemas, built once on first use rather than at import (config/zod.ts): zod and the cost of
 * building them fall to a program that validates a configuration, not to every import.
 */
function buildSchemas() {
  const z = zod();

  /**
   * A note for people: a string, or an array of lines. Allowed in every object of the file whose
   * keys are settings, not in the maps keyed by the user's own names (`tables`, `columns`,
   * `references`, `policy`): a column may well be called `$comment`.
   */
  const Comment = z.union([z.string({ error: COMMENT_ERROR }), z.array(z.string({ error: COMMENT_ERROR }), { error: COMMENT_ERROR })]).optional();

  const StrategyNameSchema = z.enum(STRATEGY_NAMES, {
    error: (iss) => unknownName('strategy', iss.input, STRATEGY_NAMES),
  });

  /** `5s`, `250ms`, `2m`, `1h`: how far apart two timestamps must be before one is "newer". */
  const Duration = z.string().regex(/^\d+(ms|s|m|h)$/, { error: 'expected a duration such as "500ms", "5s", "2m" or "1h"' });

  const ColumnName = z.string().min(1, { error: 'a column name cannot be empty' });

  const Tie = z.enum(['dr', 'source'], { error: 'expected "dr" (the DR row wins a tie) or "source" (the lost change wins)' });

  const MergePolicy = z.enum(MERGE_POLICIES, {
    error: (iss) => `unknown merge policy ${JSON.stringify(iss.input)}; expected one of ${list(MERGE_POLICIES)}`,
  });

  const bare = <N extends StrategyName>(name: N) => z.strictObject({ strategy: z.literal(name), $comment: Comment });

  const TimeOrder = <N extends 'newest' | 'oldest'>(name: N) =>
    z.strictObject({
      strategy: z.literal(name),
      column: z.string({ error: `"${name}" needs "column": the timestamp or version column to compare` }).min(1),
      tie: Tie.optional(),
      threshold: Duration.optional(),
      $comment: Comment,
    });

  const Extreme = <N extends 'max' | 'min'>(name: N) =>
    z.strictObject({
      strategy: z.literal(name),
      column: ColumnName.optional(),
      nulls: z.enum(['first', 'last'], { error: 'expected "first" (NULL sorts lowest) or "last" (NULL sorts highest)' }).optional(),
      $comment: Comment,
    });

  const StrategyObjectSchema = z.discriminatedUnion(
    'strategy',
    [
      bare('apply'),
      bare('skip'),
      bare('source'),
      TimeOrder('newest'),
      TimeOrder('oldest'),
      Extreme('max'),
      Extreme('min'),
      z.strictObject({
        strategy: z.literal('merge'),
        bothChanged: MergePolicy.optional(),
        policy: z.record(ColumnName, MergePolicy).optional(),
        $comment: Comment,
      }),
      bare('delta'),
      bare('remap'),
      z.strictObject({ strategy: z.literal('link'), naturalKey: z.array(ColumnName).min(1).optional(), $comment: Comment }),
      z.strictObject({
        strategy: z.literal('rewrite-unique'),
        // "null": the clashing value becomes NULL (nullable columns only); else a template around {value}.
        template: z
          .string()
          .refine((t) => t === 'null' || t.includes('{value}'), { error: 'the template must contain "{value}", the original unique value, or be "null"' })
          .optional(),
        $comment: Comment,
      }),
      z.strictObject({
        strategy: z.literal('delete-blocking'),
        maxChildren: z.int({ error: 'expected a whole number of child rows' }).nonnegative({ error: 'expected 0 or more child rows' }).optional(),
        $comment: Comment,
      }),
      bare('quarantine'),
      bare('fail'),
      // A function the library call or a .mjs/.ts configuration provides under that name (reconcile/custom-strategy.ts).
      z.strictObject({
        strategy: z.literal('custom'),
        name: z.string({ error: '"custom" needs "name": the name of a function in "strategies"' }).min(1, { error: 'the name of a custom strategy cannot be empty' }),
        $comment: Comment,
      }),
    ],
    {
      error: (iss) =>
        iss.code === 'invalid_union' && iss.input !== null && typeof iss.input === 'object'
          ? unknownName('strategy', (iss.input as { strategy?: unknown }).strategy, STRATEGY_NAMES)
          : undefined,
    },
  );

  const StrategySchema = z.union([StrategyNameSchema, StrategyObjectSchema]);

  const OnConflictSchema = z.strictObject({
    ...(Object.fromEntries(CONFLICT_CLASSES.map((c) => [c, StrategySchema.optional()])) as Record<ConflictClass, ZodOptional<typeof StrategySchema>>),
    $comment: Comment,
  });

  const TableGlob = z.string().regex(TABLE_GLOB, {
    error: (iss) =>
      iss.input === COMMENT_KEY
        ? `the keys of "tables" are table names: put a "$comment" inside a table's rule, or at the top level`
        : `table key ${JSON.stringify(iss.input)} must be "db.table" (globs * and ? allowed)${dottedHint(iss.input, 2, '`shop.v2`.orders')}`,
  });

  const ReferenceTarget = z.string().regex(new RegExp(`^${NAME}\\.${NAME}\\.${NAME}$`), {
    error: (iss) => `reference ${JSON.stringify(iss.input)} must be "db.table.column"${dottedHint(iss.input, 3, '`shop.v2`.orders.id')}`,
  });

  const KeyAllocation = z.union([
    z.enum(['auto-increment', 'uuid-v7'], { error: 'expected "auto-increment", "uuid-v7" or { "offset": n }' }),
    z.strictObject({ offset: z.int({ error: 'expected a whole number' }).positive({ error: 'expected an offset of 1 or more' }), $comment: Comment }),
  ]);

  const TableRuleSchema = z.strictObject({
    onConflict: OnConflictSchema.optional(),
    columns: z.record(ColumnName, StrategySchema).optional(),
    groups: z.array(z.array(ColumnName).min(2, { error: 'a column group needs at least two columns' })).optional(),
    references: z.record(ColumnName, ReferenceTarget).optional(),
    naturalKey: z.array(ColumnName).min(1).optional(),
    keyAllocation: KeyAllocation.optional(),
    $comment: Comment,
  });

  const CascadeGuard = z.union([
    z.enum(['forbid', 'report'], { error: 'expected "forbid", "report" or { "allowUpTo": n }' }),
    z.strictObject({ allowUpTo: z.int({ error: 'expected a whole number of cascaded rows' }).nonnegative({ error: 'expected 0 or more cascaded rows' }), $comment: Comment }),
  ]);

  const ConfigShape = z.strictObject({
    $schema: z.string().optional(),
    $comment: Comment,
    stateSchema: z.string().regex(/^[A-Za-z0-9_$]{1,64}$/, { error: 'expected a schema name of 1 to 64 letters, digits, "_" or "$"' }).optional(),
    keepTransactionsWhole: z.boolean().optional(),
    escalation: z
      .strictObject({
        maxQuarantined: z.int({ error: 'expected a whole number of quarantined changes' }).nonnegative({ error: 'expected 0 or more quarantined changes' }).optional(),
        action: z.enum(['stop', 'suspend-table'], { error: 'expected "stop" or "suspend-table"' }),
        $comment: Comment,
      })
      .optional(),
    cascadeGuard: CascadeGuard.optional(),
    compare: z.enum(['changed', 'all', 'keys'], { error: 'expected "changed", "all" or "keys"' }).optional(),
    ignoreColumns: z.array(ColumnName).optional(),
    defaults: z.strictObject({ onConflict: OnConflictSchema.optional(), $comment: Comment }).optional(),
    tables: z.record(TableGlob, TableRuleSchema).optional(),
  }, { error: (iss) => (iss.code === 'invalid_type' ? 'the configuration must be a JSON object' : undefined) });

  return { strategy: StrategySchema, onConflict: OnConflictSchema, tableRule: TableRuleSchema, config: ConfigShape };
}

type Schemas = ReturnType<typeof buildSchemas>;
let schemas: Schemas | undefined;
const built = (): Schemas => (schemas ??= buildSchemas());

export type StrategyInput = z.infer<Schemas['strategy']>;
export type TableRuleInput = z.infer<Schemas['tableRule']>;
export type ConfigInput = z.infer<Schemas['config']>;
type OnConflictInput = z.infer<Schemas['onConflict']>;

/** A strategy: a bare name, or an object naming it with its options. */
export function strategySchema(): Schemas['strategy'] {
  return built().strategy;
}

type Issue = { message: string; path: (string | number)[] };

const nameOf = (s: StrategyInput): StrategyName => (typeof s === 'string' ? s : s.strategy);

/**
 * Which strategies make sense for each class; the classes DESIGN.md marks "never a write" allow no
 * write. `custom` fits every class its function is asked about (not parent-missing, decided before
any strategy runs); what the function returns is held to this table when it runs.
 */
export const ALLOWED_STRATEGIES: Readonly<Record<ConflictClass, readonly StrategyName[]>> = {
  clean: ['apply', 'skip', 'quarantine', 'fail', 'custom'],
  'already-applied': ['skip', 'quarantine', 'fail', 'custom'],
  'insert-pk-taken': ['remap', 'link', 'skip', 'source', 'quarantine', 'fail', 'custom'],
  'insert-pk-same-record': ['merge', 'source', 'skip', 'newest', 'oldest', 'max', 'min', 'delta', 'quarantine', 'fail', 'custom'],
  'insert-unique-taken': ['link', 'rewrite-unique', 'delete-blocking', 'skip', 'quarantine', 'fail', 'custom'],
  // Decided before any strategy runs (the parent is checked first): no custom function is asked.
  'parent-missing': ['quarantine', 'skip', 'fail'],
  'update-diverged': ['merge', 'source', 'skip', 'newest', 'oldest', 'max', 'min', 'delta', 'quarantine', 'fail', 'custom'],
  'update-missing': ['quarantine', 'skip', 'fail', 'custom'],
  'update-deleted-on-dr': ['quarantine', 'skip', 'fail', 'custom'],
  'update-never-existed': ['quarantine', 'skip', 'fail', 'custom'],
  'update-pk-reused': ['quarantine', 'skip', 'fail', 'custom'],
  'update-unique-taken': ['rewrite-unique', 'delete-blocking', 'skip', 'quarantine', 'fail', 'custom'],
  'delete-diverged': ['source', 'skip', 'newest', 'oldest', 'quarantine', 'fail', 'custom'],
  'delete-pk-reused': ['quarantine', 'skip', 'fail', 'custom'],
  // Tables without a primary key only; a custom function is asked about it as about their other changes.
  'delete-missing': ['quarantine', 'skip', 'fail', 'custom'],
};

/** Strategies that decide one column's value, usable under `columns`. */
export const COLUMN_STRATEGIES: readonly StrategyName[] = ['source', 'skip', 'newest', 'oldest', 'max', 'min', 'delta'];

/** The classes an `onConflict` object sets, in the user's order, without its "$comment". */
function classEntries(onConflict: OnConflictInput | undefined): [ConflictClass, StrategyInput][] {
  const out: [ConflictClass, StrategyInput][] = [];
  for (const [klass, strategy] of Object.entries(onConflict ?? {})) {
    if (klass !== COMMENT_KEY && strategy !== undefined) out.push([klass as ConflictClass, strategy as StrategyInput]);
  }
  return out;
}

function* onConflictEntries(config: ConfigInput): Generator<{ path: (string | number)[]; klass: ConflictClass; strategy: StrategyInput; table?: TableRuleInput }> {
  for (const [klass, strategy] of classEntries(config.defaults?.onConflict)) yield { path: ['defaults', 'onConflict', klass], klass, strategy };
  for (const [glob, table] of Object.entries(config.tables ?? {})) {
    for (const [klass, strategy] of classEntries(table.onConflict)) yield { path: ['tables', glob, 'onConflict', klass], klass, strategy, table };
  }
}

/** A bare "newest"/"oldest" cannot say which column to compare. */
function timeOrderNeedsColumn(config: ConfigInput): Issue[] {
  const issues: Issue[] = [];
  const check = (s: StrategyInput, path: (string | number)[]): void => {
    if (s === 'newest' || s === 'oldest') issues.push({ message: `"${s}" needs a column to compare: write { "strategy": "${s}", "column": "updated_at" }`, path });
  };
  for (const e of onConflictEntries(config)) check(e.strategy, e.path);
  for (const [glob, table] of Object.entries(config.tables ?? {})) {
    for (const [col, s] of Object.entries(table.columns ?? {})) {
      // Under `columns` the column itself is the default comparison column only for max/min, not for a time order.
      check(s, ['tables', glob, 'columns', col]);
    }
  }
  return issues;
}

/** A bare "custom" cannot say which function to call. */
function customNeedsName(config: ConfigInput): Issue[] {
  const issues: Issue[] = [];
  for (const e of onConflictEntries(config)) {
    if (e.strategy === 'custom') issues.push({ message: '"custom" needs the name of a function: write { "strategy": "custom", "name": "myRule" }', path: e.path });
  }
  return issues;
}

/** A strategy must fit its class (no `remap` of an update, no write over a reused id). */
function strategyFitsClass(config: ConfigInput): Issue[] {
  const issues: Issue[] = [];
  for (const e of onConflictEntries(config)) {
    const name = nameOf(e.strategy);
    const allowed = ALLOWED_STRATEGIES[e.klass];
    if (!allowed.includes(name)) issues.push({ message: `"${name}" does not apply to ${e.klass}; expected one of ${list(allowed)}`, path: e.path });
  }
  return issues;
}

/** `link` finds the existing record by a natural key, so one must be configured where it is used. */
function linkNeedsNaturalKey(config: ConfigInput): Issue[] {
  const issues: Issue[] = [];
  for (const e of onConflictEntries(config)) {
    if (nameOf(e.strategy) !== 'link') continue;
    const own = typeof e.strategy === 'object' && e.strategy.strategy === 'link' ? e.strategy.naturalKey : undefined;
    if (own === undefined && e.table?.naturalKey === undefined) {
      issues.push({ message: '"link" needs a natural key: set "naturalKey" on the table rule or in the strategy', path: e.path });
    }
  }
  return issues;
}

/** Per-column strategies decide one value; record-level ones (remap, link, …) do not fit there. */
function columnStrategiesAreValueStrategies(config: ConfigInput): Issue[] {
  const issues: Issue[] = [];
  for (const [glob, table] of Object.entries(config.tables ?? {})) {
    for (const [col, s] of Object.entries(table.columns ?? {})) {
      const name = nameOf(s);
      if (!COLUMN_STRATEGIES.includes(name)) {
        issues.push({ message: `"${name}" decides whole rows, not a column; expected one of ${list(COLUMN_STRATEGIES)}`, path: ['tables', glob, 'columns', col] });
      }
    }
  }
  return issues;
}

/** A column belongs to at most one group, or "decided together" would be ambiguous. */
function groupsAreDisjoint(config: ConfigInput): Issue[] {
  const issues: Issue[] = [];
  for (const [glob, table] of Object.entries(config.tables ?? {})) {
    const seen = new Map<string, number>();
    (table.groups ?? []).forEach((group, g) => {
      group.forEach((col, c) => {
        const first = seen.get(col);
        if (first !== undefined) issues.push({ message: `column "${col}" is already in group ${first}`, path: ['tables', glob, 'groups', g, c] });
        else seen.set(col, g);
      });
    });
  }
  return issues;
}

/** Whether a written `db.table` (or `db.table.column`) has a glob in one of its first `parts` bare parts. */
function hasGlob(written: string, count: number, parts: number): boolean {
  return (parseQualified(written, count) ?? []).slice(0, parts).some((p) => !p.quoted && /[*?]/.test(p.text));
}

/**
 * `references` name one table's columns and the one column they point at: under a glob key the
 * engine could not tell which table's schema to check them against, and a glob target names no
 * single parent. A literal `*` or `?` goes in backticks.
 */
function referencesNameExactTables(config: ConfigInput): Issue[] {
  const issues: Issue[] = [];
  for (const [key, table] of Object.entries(config.tables ?? {})) {
    if (table.references === undefined) continue;
    if (hasGlob(key, 2, 2)) {
      issues.push({ message: `"references" needs an exact table name, not a glob: give them under each table's own key (a name holding * or ? goes in backticks)`, path: ['tables', key, 'references'] });
    }
    for (const [col, target] of Object.entries(table.references)) {
      if (hasGlob(target, 3, 2)) {
        issues.push({ message: `reference ${JSON.stringify(target)} must name one table, not a glob (a name holding * or ? goes in backticks)`, path: ['tables', key, 'references', col] });
      }
    }
  }
  return issues;
}

/** The cross-field rules, each a named function returning problems with their paths. */
export const configRules: ReadonlyArray<(config: ConfigInput) => Issue[]> = [
  timeOrderNeedsColumn,
  customNeedsName,
  strategyFitsClass,
  linkNeedsNaturalKey,
  columnStrategiesAreValueStrategies,
  groupsAreDisjoint,
  referencesNameExactTables,
];

let refined: Schemas['config'] | undefined;

/** The whole user-facing schema: shape, then the cross-field rules. */
export function configSchema(): Schemas['config'] {
  refined ??= built().config.superRefine((config, ctx) => {
    for (const rule of configRules) {
      for (const issue of rule(config)) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path, input: config });
    }
  });
  return refined;
}
