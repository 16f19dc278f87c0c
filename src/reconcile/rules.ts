/**
 * The configured strategies, looked up per table and conflict class with DESIGN.md's precedence:
 * column rule → table rule → global default → built-in default. Every lookup returns the rule path
 * that fired (`tables."shop.*".onConflict.update-diverged`), which the ledger records, so each
 * decision can be explained and reproduced.
 *
 * Several table globs may match one table: an exact name wins over a glob, a glob with fewer
 * wildcards over one with more, and among equals the one written later in the file.
 */
import { BUILT_IN_DEFAULTS, type CascadeGuard, type KeyAllocation, type NormalisedConfig, type NormalisedTableRule, type Strategy } from '../config/normalise.js';
import type { ConflictClass } from '../config/schema.js';
import { EngineError } from '../errors.js';
import { parseQualified } from '../model/qualified-name.js';
import { parseTablePattern } from '../model/table-pattern.js';
import type { TableSchema } from '../model/table-schema.js';
import { CustomStrategyErrorCode, type CustomStrategies, type CustomStrategy } from './custom-strategy.js';
import { UPDATE_MISSING_CLASSES } from './classify.js';

/** A strategy and where it came from. */
export interface Rule {
  readonly strategy: Strategy;
  readonly path: string;
}

/** Everything the rules say about one table. */
export interface TableRules {
  readonly rule: NormalisedTableRule | null;
  /** Column strategies (`columns`), with their paths. */
  readonly columns: ReadonlyMap<string, Rule>;
  readonly groups: readonly (readonly string[])[];
  readonly naturalKey: readonly string[] | null;
  readonly keyAllocation: KeyAllocation;
}

/**
 * A table key (`db.table`) as a test of a table's schema and name, each part on its own
 * (model/table-pattern.ts, as `inspect --tables` reads it). A key of more than two bare parts (a
 * configuration built in code, not read from a file) is matched as one glob against `db.table`,
 * where `*` and `?` stop at dots.
 */
export function tableMatcher(pattern: string): (schema: string, table: string) => boolean {
  const parsed = parseTablePattern(pattern);
  if (parsed !== null) return parsed.matches;
  const whole = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^.]*').replace(/\?/g, '[^.]')}$`);
  return (s, t) => whole.test(`${s}.${t}`);
}

/** How many `*` and `?` a table key's bare parts hold: 0 for a rule written for one exact table. */
export function wildcards(pattern: string): number {
  const parts = parseQualified(pattern, 2) ?? [{ text: pattern, quoted: false }];
  return parts.reduce((n, p) => n + (p.quoted ? 0 : (p.text.match(/[*?]/g) ?? []).length), 0);
}

export class RuleBook {
  readonly config: NormalisedConfig;
  readonly #compiled: readonly { readonly rule: NormalisedTableRule; readonly matches: (schema: string, table: string) => boolean; readonly order: number }[];
  readonly #cache = new Map<TableSchema, TableRules>();
  /**
   * forClass and ignored per table, worked out once: every lost change asks, and the answer depends
   * only on the (immutable) configuration (asked afresh, ≈ 0.2 s and 50 MB per 200k changes).
   */
  readonly #byClass = new Map<TableSchema, Map<ConflictClass, Rule>>();
  readonly #ignored = new Map<TableSchema, ReadonlySet<string>>();
  readonly #custom: CustomStrategies;

  /** Throws RECONCILE_CUSTOM_MISSING when the configuration names a custom strategy `strategies` does not provide. */
  constructor(config: NormalisedConfig, strategies: CustomStrategies = {}) {
    this.config = config;
    this.#compiled = config.tables.map((rule, order) => ({ rule, matches: tableMatcher(rule.pattern), order }));
    this.#custom = strategies;
    const missing = customReferences(config).filter((r) => this.#function(r.name) === undefined);
    if (missing.length > 0) {
      const given = Object.keys(strategies);
      throw new EngineError(
        CustomStrategyErrorCode.Missing,
        `the configuration names custom strategies no function was given for: ${missing.map((m) => `"${m.name}" at ${m.path}`).join(', ')} (${given.length === 0 ? 'none were given' : `given: ${given.map((n) => `"${n}"`).join(', ')}`}; pass them as "strategies" to the library call or export them from a .mjs/.ts configuration)`,
        { strategy: missing[0]!.name, rule: missing[0]!.path },
      );
    }
  }

  #function(name: string): CustomStrategy | undefined {
    const fn = Object.hasOwn(this.#custom, name) ? this.#custom[name] : undefined;
    return typeof fn === 'function' ? fn : undefined;
  }

  /** The function a `custom` strategy names (the constructor made sure it exists). */
  custom(name: string): CustomStrategy {
    const fn = this.#function(name);
    if (fn === undefined) throw new EngineError(CustomStrategyErrorCode.Missing, `no function was given for custom strategy "${name}"`, { strategy: name });
    return fn;
  }

  /** The configuration's table keys that match none of `tables` (a typo such as `t.acx` or `T.ACC` applies to nothing). */
  unmatched(tables: readonly { readonly schema: string; readonly table: string }[]): string[] {
    return this.#compiled.filter((c) => !tables.some((t) => c.matches(t.schema, t.table))).map((c) => c.rule.pattern);
  }

  /** The built-in defaults only (no configuration file). */
  static builtIn(): RuleBook {
    return new RuleBook({
      stateSchema: 'salvage',
      keepTransactionsWhole: true,
      escalation: { maxQuarantined: null, action: 'stop' },
      cascadeGuard: { kind: 'forbid' },
      compare: 'changed',
      ignoreColumns: [],
      defaults: BUILT_IN_DEFAULTS,
      tables: [],
    });
  }

  get cascadeGuard(): CascadeGuard {
    return this.config.cascadeGuard;
  }

  /** The table rule that applies to `table`, by the precedence in the module comment. */
  tableRules(table: TableSchema): TableRules {
    let r = this.#cache.get(table);
    if (r !== undefined) return r;
    const matching = this.#compiled.filter((c) => c.matches(table.schema, table.table));
    matching.sort((x, y) => wildcards(x.rule.pattern) - wildcards(y.rule.pattern) || y.order - x.order);
    const rule = matching[0]?.rule ?? null;
    const columns = new Map<string, Rule>();
    if (rule !== null) for (const [col, strategy] of Object.entries(rule.columns)) columns.set(col, { strategy, path: `tables.${JSON.stringify(rule.pattern)}.columns.${col}` });
    r = { rule, columns, groups: rule?.groups ?? [], naturalKey: rule?.naturalKey ?? null, keyAllocation: rule?.keyAllocation ?? { kind: 'auto-increment' } };
    this.#cache.set(table, r);
    return r;
  }

  /** The strategy for `klass` on `table`, and the path that chose it. */
  forClass(table: TableSchema, klass: ConflictClass): Rule {
    let rules = this.#byClass.get(table);
    if (rules === undefined) this.#byClass.set(table, (rules = new Map()));
    let rule = rules.get(klass);
    if (rule === undefined) rules.set(klass, (rule = this.#forClass(table, klass)));
    return rule;
  }

  #forClass(table: TableSchema, klass: ConflictClass): Rule {
    // The history's split of update-missing: a rule written for update-missing covers both parts.
    const classes: readonly ConflictClass[] = (UPDATE_MISSING_CLASSES as readonly string[]).includes(klass) ? [klass, 'update-missing'] : [klass];
    const t = this.tableRules(table).rule;
    for (const k of classes) {
      const own = t?.onConflict[k];
      if (t !== null && own !== undefined) return { strategy: own, path: `tables.${JSON.stringify(t.pattern)}.onConflict.${k}` };
    }
    for (const k of classes) {
      const global = this.config.defaults[k];
      if (JSON.stringify(global) !== JSON.stringify(BUILT_IN_DEFAULTS[k])) return { strategy: global, path: `defaults.onConflict.${k}` };
    }
    return { strategy: BUILT_IN_DEFAULTS[klass], path: `built-in.${klass}` };
  }

  /** Columns left out of every comparison (`ignoreColumns`: e.g. ON UPDATE CURRENT_TIMESTAMP columns). */
  ignored(table: TableSchema): ReadonlySet<string> {
    let names = this.#ignored.get(table);
    if (names === undefined) this.#ignored.set(table, (names = this.#ignoredOf(table)));
    return names;
  }

  #ignoredOf(table: TableSchema): ReadonlySet<string> {
    // Either a bare column name (every table) or db.table.column, matched whole rather than split at
    // its dots: MySQL names may hold dots (`shop.v2`.`orders`), and a split entry for such a table
    // matched nothing, silently.
    const entries = new Set(this.config.ignoreColumns);
    const prefix = `${table.schema}.${table.table}.`;
    return new Set(table.columns.filter((col) => entries.has(col.name) || entries.has(prefix + col.name)).map((col) => col.name));
  }
}

/** Every `{ "strategy": "custom", "name": … }` of a configuration, with its path. */
export function customReferences(config: NormalisedConfig): { readonly name: string; readonly path: string }[] {
  const out: { name: string; path: string }[] = [];
  for (const [klass, s] of Object.entries(config.defaults)) {
    if (s.strategy === 'custom') out.push({ name: s.name, path: `defaults.onConflict.${klass}` });
  }
  for (const t of config.tables) {
    for (const [klass, s] of Object.entries(t.onConflict)) {
      if (s?.strategy === 'custom') out.push({ name: s.name, path: `tables.${JSON.stringify(t.pattern)}.onConflict.${klass}` });
    }
  }
  return out;
}
