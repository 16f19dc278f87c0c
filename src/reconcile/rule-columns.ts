/**
 * The configuration's column names and column strategies held to the DR's tables, before any
 * change is decided: a rule naming a column its table lacks (a typo: "balanse") would silently
 * apply to nothing, and `delta` on a column that is no number fails mid-run. A rule written for
 * one exact table is refused (the user's input to change: exit 2); one written for a glob may
 * fairly name a column only some of its tables have, so it is warned about when none has it.
 */
import type { NormalisedConfig, Strategy } from '../config/normalise.js';
import { formatPath } from '../config/format-problems.js';
import { EngineError } from '../errors.js';
import type { ColumnSchema, TableSchema } from '../model/table-schema.js';
import { tableMatcher, wildcards } from './rules.js';

/** Stable codes (SCHEMA_UNKNOWN_* maps to exit 2, src/cli/exit-codes.ts). */
export const RuleColumnsErrorCode = {
  /** A rule names a column its table lacks, or gives `delta` to a column that is no number. */
  Mismatch: 'SCHEMA_UNKNOWN_RULE_COLUMN',
} as const;

/** A configuration rule that does not fit the DR's table it names; `details.rule` is its configuration path. */
export class RuleColumnsError extends EngineError {}

type Path = readonly (string | number)[];

/** One column a rule names, where, and whether it must hold numbers (`delta`). */
interface NamedColumn {
  readonly column: string;
  readonly path: Path;
  readonly numeric: boolean;
}

/** The same test the merge applies before adding (reconciler.ts): only numbers are added to. */
const isNumeric = (c: ColumnSchema): boolean => /int|decimal|numeric|float|double/.test(c.dataType);

/** The columns one strategy names (its comparison column, merge policies, link key), with their paths under `at`. */
function strategyColumns(s: Strategy, at: Path): NamedColumn[] {
  switch (s.strategy) {
    case 'newest':
    case 'oldest':
      return [{ column: s.column, path: [...at, 'column'], numeric: false }];
    case 'max':
    case 'min':
      return s.column === null ? [] : [{ column: s.column, path: [...at, 'column'], numeric: false }];
    case 'merge':
      return Object.entries(s.policy).map(([column, policy]) => ({ column, path: [...at, 'policy', column], numeric: policy === 'delta' }));
    case 'link':
      return (s.naturalKey ?? []).map((column, i) => ({ column, path: [...at, 'naturalKey', i], numeric: false }));
    default:
      // `delta` as a class strategy adds the numeric columns only; under `columns` its column is checked by the caller.
      return [];
  }
}

/** Every column a table rule names. */
function ruleColumns(rule: NormalisedConfig['tables'][number]): NamedColumn[] {
  const base: Path = ['tables', rule.pattern];
  const out: NamedColumn[] = [];
  for (const [column, s] of Object.entries(rule.columns)) {
    out.push({ column, path: [...base, 'columns', column], numeric: s.strategy === 'delta' });
    out.push(...strategyColumns(s, [...base, 'columns', column]));
  }
  rule.groups.forEach((group, g) => group.forEach((column, c) => out.push({ column, path: [...base, 'groups', g, c], numeric: false })));
  (rule.naturalKey ?? []).forEach((column, i) => out.push({ column, path: [...base, 'naturalKey', i], numeric: false }));
  for (const [klass, s] of Object.entries(rule.onConflict)) if (s !== undefined) out.push(...strategyColumns(s, [...base, 'onConflict', klass]));
  return out;
}

/** What is wrong with `named` in `table`, or undefined when it fits. */
function misfit(named: NamedColumn, table: TableSchema): string | undefined {
  const col = table.columns.find((c) => c.name === named.column);
  if (col === undefined) return `${table.schema}.${table.table} has no column "${named.column}" (its columns: ${table.columns.map((c) => c.name).join(', ')})`;
  if (named.numeric && !isNumeric(col)) return `"delta" adds numbers, and ${table.schema}.${table.table}.${col.name} is ${col.columnType}`;
  return undefined;
}

/**
 * Checks the columns the configuration names against `tables` (the DR's): throws RuleColumnsError
 * (exit 2) for every misfit in a rule for one exact table, and returns warnings for a glob rule's
 * column none of its tables has, and for `ignoreColumns` no table has. Tables not among `tables`
 * are left alone (a rule that matches no table is warned about elsewhere).
 */
export function checkRuleColumns(config: NormalisedConfig, tables: readonly TableSchema[]): string[] {
  const refusals: { readonly text: string; readonly path: string }[] = [];
  const warnings: string[] = [];
  for (const rule of config.tables) {
    const matches = tableMatcher(rule.pattern);
    const matched = tables.filter((t) => matches(t.schema, t.table));
    if (matched.length === 0) continue;
    const exact = wildcards(rule.pattern) === 0;
    for (const named of ruleColumns(rule)) {
      const problems = matched.map((t) => misfit(named, t));
      if (exact) {
        for (const p of problems) if (p !== undefined) refusals.push({ text: p, path: formatPath(named.path) });
      } else if (problems.every((p) => p !== undefined)) {
        warnings.push(`configuration: ${formatPath(named.path)} names column "${named.column}", which fits none of the tables "${rule.pattern}" matches (${matched.map((t) => `${t.schema}.${t.table}`).join(', ')}): it applies to nothing (a typo? names are case-sensitive)`);
      }
    }
  }
  for (const [i, entry] of config.ignoreColumns.entries()) {
    // A bare name (every table) or db.table.column, matched whole as rules.ts `ignored` matches it.
    if (tables.some((t) => t.columns.some((c) => c.name === entry || `${t.schema}.${t.table}.${c.name}` === entry))) continue;
    const owner = tables.find((t) => entry.startsWith(`${t.schema}.${t.table}.`));
    if (owner !== undefined) warnings.push(`configuration: ignoreColumns[${i}] names "${entry}", and ${owner.schema}.${owner.table} has no such column (its columns: ${owner.columns.map((c) => c.name).join(', ')}): it ignores nothing`);
    else if (!entry.includes('.') && tables.length > 0) warnings.push(`configuration: ignoreColumns[${i}] names column "${entry}", which no table of the lost range has: it ignores nothing (a typo? names are case-sensitive)`);
  }
  if (refusals.length > 0) {
    const lines = refusals.map((r) => `✖ ${r.text} → at ${r.path}`).join('\n');
    throw new RuleColumnsError(RuleColumnsErrorCode.Mismatch, `the configuration does not fit the DR's tables:\n${lines}`, { rule: refusals[0]!.path });
  }
  return warnings;
}
