/**
 * `salvage config init`: a starting configuration for one DR, written from its introspected
 * schema. Pure (a catalog in, the file's text out), so it is tested without a server.
 *
 * JSON has no comments and `config check`, `plan` and `apply` read plain JSON, so the notes are
 * `"$comment"` keys, which the schema accepts in every object of settings and `parseConfig`
 * drops. Strategy suggestions stay in those notes: they are guesses from a column's name and
 * type, and a strategy decides which side's data survives, so the DBA opts in to each one; the
 * file as written resolves conflicts exactly as running without it does. Guessed `references`
 * are real entries, as issue 4 asks, but only where the target table and its one-column primary
 * key exist and the types agree: the engine follows them as foreign keys the server does not enforce.
 */
import { qualifiedName } from '../model/qualified-name.js';
import type { ColumnSchema, ForeignKey, SchemaCatalog, TableSchema } from '../model/table-schema.js';
import type { ConfigInput, TableRuleInput } from './schema.js';

/** What a column looks like it holds, and so which strategy might suit it. */
export type ColumnRole = 'timestamp' | 'version' | 'counter';

/** A strategy the DBA may want for one column, not active in the written file. */
export interface StrategySuggestion {
  readonly column: string;
  readonly role: ColumnRole;
  /** The table-rule fragment that would make it active. */
  readonly rule: TableRuleInput;
  /** What the fragment does, in words. */
  readonly effect: string;
}

/** A logical foreign key guessed from a column named `<table>_id`. */
export interface ReferenceSuggestion {
  readonly column: string;
  readonly schema: string;
  readonly table: string;
  readonly refColumn: string;
}

export interface TableSuggestions {
  readonly references: readonly ReferenceSuggestion[];
  readonly strategies: readonly StrategySuggestion[];
}

export interface ConfigInitOptions {
  /** The DR the catalog came from, as a redacted URL, named in the file's header. */
  readonly source: string;
}

/** The tables of the engine's own state schema (src/db/state-schema.ts): a schema holding all of them is skipped. */
const STATE_TABLES = ['checkpoint', 'key_map', 'ledger', 'quarantine', 'runs'];
const DEFAULT_STATE_SCHEMA = 'salvage';

const INTEGER_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint']);
const NUMERIC_TYPES = new Set([...INTEGER_TYPES, 'decimal', 'numeric', 'float', 'double', 'real']);
const TEMPORAL_TYPES = new Set(['datetime', 'timestamp']);

// `updated_at`, `modified`, `last_login_at`, `last_updated`, `date_modified`, `mtime`.
const TIMESTAMP_NAME = /^(?:(?:updated|modified|changed)(?:_(?:at|on|time|ts|date))?|date_(?:updated|modified|changed)|last_(?:[a-z0-9_]+_)?(?:at|updated|modified|changed)|mtime)$/i;
const VERSION_NAME = /^(?:version|rev|revision|lock_version|row_version|record_version)$/i;
// A whole word at the end: `view_count`, `balance`, `stock_qty`; not `discount` or `amount`.
const COUNTER_NAME = /(?:^|_)(?:count|counter|balance|credit|credits|qty|quantity|stock)$/i;
const REFERENCE_NAME = /^(.+)_id$/i;

/** As the schema's `stateSchema` accepts it. */
const STATE_SCHEMA_NAME = /^[A-Za-z0-9_$]{1,64}$/;

/** MySQL spells BOOLEAN as TINYINT(1): a flag, never a counter. */
function isFlag(c: ColumnSchema): boolean {
  return c.dataType === 'bit' || c.dataType === 'boolean' || /^tinyint\(1\)/i.test(c.columnType);
}

/** Types a key and the column pointing at it must share, or the guess is wrong. */
function typeFamily(c: ColumnSchema): string | null {
  if (INTEGER_TYPES.has(c.dataType)) return 'integer';
  if (c.dataType === 'decimal' || c.dataType === 'numeric') return 'decimal';
  if (c.dataType === 'char' || c.dataType === 'varchar') return 'character';
  if (c.dataType === 'binary' || c.dataType === 'varbinary') return 'binary';
  return null;
}

/** Key columns, generated columns and foreign-key columns hold identities, never values to merge. */
function isValueColumn(t: TableSchema, c: ColumnSchema): boolean {
  if (c.isAutoIncrement || c.isGenerated) return false;
  if (t.primaryKey?.includes(c.name) === true) return false;
  return !t.foreignKeys.some((fk) => fk.columns.includes(c.name));
}

function roleOf(c: ColumnSchema): ColumnRole | null {
  if (c.onUpdateCurrentTimestamp) return 'timestamp';
  const integer = INTEGER_TYPES.has(c.dataType) && !isFlag(c);
  // An integer `updated_at` is an epoch time.
  if (TIMESTAMP_NAME.test(c.name) && (TEMPORAL_TYPES.has(c.dataType) || integer)) return 'timestamp';
  if (VERSION_NAME.test(c.name) && integer) return 'version';
  if (COUNTER_NAME.test(c.name) && NUMERIC_TYPES.has(c.dataType) && !isFlag(c)) return 'counter';
  return null;
}

function strategyFor(c: ColumnSchema, role: ColumnRole): StrategySuggestion {
  switch (role) {
    case 'timestamp':
      return {
        column: c.name,
        role,
        rule: { onConflict: { 'update-diverged': { strategy: 'newest', column: c.name, tie: 'dr' } } },
        effect: `when both sides changed the row, the one with the later ${c.name} wins; a tie keeps the DR row`,
      };
    case 'version':
      return {
        column: c.name,
        role,
        rule: { onConflict: { 'update-diverged': { strategy: 'max', column: c.name } } },
        effect: `when both sides changed the row, the one with the higher ${c.name} wins`,
      };
    case 'counter':
      return {
        column: c.name,
        role,
        rule: { columns: { [c.name]: 'delta' } },
        effect: `when both sides changed ${c.name}, the lost change's difference (after − before) is added to the DR's value instead of choosing a side`,
      };
  }
}

/** `customer_id` → `customer`, `customers`; `category_id` → `categories`; `box_id` → `boxes`. */
function tableNamesFor(base: string): Set<string> {
  const b = base.toLowerCase();
  const names = new Set([b, `${b}s`, `${b}es`]);
  if (b.endsWith('y')) names.add(`${b.slice(0, -1)}ies`);
  return names;
}

function guessReference(t: TableSchema, c: ColumnSchema, catalog: SchemaCatalog): ReferenceSuggestion | null {
  const m = REFERENCE_NAME.exec(c.name);
  if (m === null || t.foreignKeys.some((fk) => fk.columns.includes(c.name))) return null;
  const names = tableNamesFor(m[1]!);
  // The same schema only: across schemas a name match says too little.
  const candidates = catalog.tables.filter((other) => other.schema === t.schema && names.has(other.table.toLowerCase()));
  if (candidates.length !== 1) return null;
  const target = candidates[0]!;
  const key = target.primaryKey;
  if (key === null || key.length !== 1) return null;
  const refColumn = key[0]!;
  // A table's own key is not a reference to itself.
  if (target === t && refColumn === c.name) return null;
  const ref = target.columns.find((x) => x.name === refColumn);
  if (ref === undefined || typeFamily(ref) === null || typeFamily(ref) !== typeFamily(c)) return null;
  return { column: c.name, schema: target.schema, table: target.table, refColumn };
}

/** The references and strategies `config init` proposes for one table of `catalog`. */
export function suggestForTable(t: TableSchema, catalog: SchemaCatalog): TableSuggestions {
  const references: ReferenceSuggestion[] = [];
  const strategies: StrategySuggestion[] = [];
  for (const c of t.columns) {
    const ref = guessReference(t, c, catalog);
    if (ref !== null) references.push(ref);
    if (!isValueColumn(t, c)) continue;
    const role = roleOf(c);
    if (role !== null) strategies.push(strategyFor(c, role));
  }
  return { references, strategies };
}

/** `{ strategy: newest, column: updated_at }`: a rule fragment readable inside a JSON string, without escaped quotes. */
function loose(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(loose).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{ ${Object.entries(v).map(([k, x]) => `${k}: ${loose(x)}`).join(', ')} }`;
  return String(v);
}

const cols = (names: readonly string[]): string => `(${names.join(', ')})`;

/** ON DELETE / ON UPDATE when they do more than refuse: what a lost delete or key change would set off on the DR. */
function actions(fk: ForeignKey): string {
  const out: string[] = [];
  if (fk.onDelete === 'CASCADE' || fk.onDelete === 'SET NULL' || fk.onDelete === 'SET DEFAULT') out.push(`ON DELETE ${fk.onDelete}`);
  if (fk.onUpdate === 'CASCADE' || fk.onUpdate === 'SET NULL' || fk.onUpdate === 'SET DEFAULT') out.push(`ON UPDATE ${fk.onUpdate}`);
  return out.length === 0 ? '' : `, ${out.join(', ')}`;
}

function keyLines(t: TableSchema, catalog: SchemaCatalog): string[] {
  const lines: string[] = [];
  const auto = t.autoIncrement;
  if (t.primaryKey !== null) {
    const ai = auto === null ? '' : t.primaryKey.includes(auto.column) ? ', AUTO_INCREMENT' : `, AUTO_INCREMENT on ${auto.column}`;
    lines.push(`primary key ${cols(t.primaryKey)}${ai}`);
  } else if (t.uniqueKeys.length === 0) {
    lines.push('no primary or unique key: a lost update or delete matches the DR row equal to its before image on every logged column');
  } else {
    lines.push('no primary key');
  }
  for (const uk of t.uniqueKeys) lines.push(`unique key ${uk.name} ${cols(uk.columns)}`);
  for (const fk of t.foreignKeys) {
    if (fk.origin === 'schema') lines.push(`foreign key ${fk.name} ${cols(fk.columns)} → ${fk.refSchema}.${fk.refTable} ${cols(fk.refColumns)}${actions(fk)}`);
  }
  for (const r of catalog.referencing(t.schema, t.table)) {
    if (r.foreignKey.origin === 'schema') lines.push(`referenced by ${r.schema}.${r.table} ${cols(r.foreignKey.columns)}${actions(r.foreignKey)}`);
  }
  return lines;
}

function tableRule(t: TableSchema, catalog: SchemaCatalog): TableRuleInput {
  const { references, strategies } = suggestForTable(t, catalog);
  const notes = keyLines(t, catalog);
  for (const r of references) {
    notes.push(
      `references.${r.column} → ${r.schema}.${r.table}.${r.refColumn}: guessed from the column name (no foreign key is declared; ${r.schema}.${r.table} has primary key ${r.refColumn}); active: delete it if wrong`,
    );
  }
  for (const s of strategies) {
    const c = t.columns.find((x) => x.name === s.column);
    const why = s.role === 'timestamp' && c?.onUpdateCurrentTimestamp === true ? 'a timestamp (ON UPDATE CURRENT_TIMESTAMP)' : s.role === 'timestamp' ? 'a timestamp' : s.role === 'version' ? 'a row version' : 'a counter or balance';
    const fragment = Object.entries(s.rule).map(([k, v]) => `${k}: ${loose(v)}`).join(', ');
    notes.push(`${s.column} looks like ${why}. Suggestion (not active): ${fragment} — ${s.effect}`);
    if (c?.onUpdateCurrentTimestamp === true) {
      notes.push(`${s.column} is rewritten by the server on every write, so two copies of a row differ in it even when their data agrees: to compare rows without it, add "${t.schema}.${t.table}.${s.column}" to the top-level ignoreColumns`);
    }
  }
  const rule: { $comment: string[]; references?: Record<string, string> } = { $comment: notes };
  if (references.length > 0) rule.references = Object.fromEntries(references.map((r) => [r.column, qualifiedName(r.schema, r.table, r.refColumn)]));
  return rule;
}

/** The names of the schemas that hold the engine's own state. */
function stateSchemas(catalog: SchemaCatalog): Set<string> {
  const bySchema = new Map<string, Set<string>>();
  for (const t of catalog.tables) {
    let names = bySchema.get(t.schema);
    if (names === undefined) bySchema.set(t.schema, (names = new Set()));
    names.add(t.table);
  }
  return new Set([...bySchema].filter(([, names]) => STATE_TABLES.every((n) => names.has(n))).map(([s]) => s));
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The starting configuration for the DR described by `catalog`, as the object the file holds. */
export function configInitDocument(catalog: SchemaCatalog, options: ConfigInitOptions): ConfigInput {
  const state = stateSchemas(catalog);
  const written = catalog.tables.filter((t) => !state.has(t.schema));
  const found = [...state].filter((s) => STATE_SCHEMA_NAME.test(s));
  // The state a run left behind names the schema the next run should use; with none, or several, the default.
  const stateSchema = found.length === 1 ? found[0]! : DEFAULT_STATE_SCHEMA;
  const schemas = [...new Set(written.map((t) => t.schema))];
  const tables: Record<string, TableRuleInput> = {};
  // Quoted where a name holds a dot, a glob character or spaces at an end: the key names this table only.
  for (const t of written) tables[qualifiedName(t.schema, t.table)] = tableRule(t, catalog);
  const references = Object.values(tables).reduce((n, r) => n + Object.keys(r.references ?? {}).length, 0);

  const notes = [
    `Written by "salvage config init" from the DR at ${options.source}: ${plural(written.length, 'table')}${schemas.length === 0 ? '' : ` (schema${schemas.length === 1 ? '' : 's'} ${schemas.join(', ')})`} and ${plural(references, 'guessed reference')}. Check it with: salvage config check FILE`,
    '"$comment" keys are notes for people: salvage ignores them in every object of settings.',
    '$schema: for completion and checking in an editor, write the JSON Schema beside this file: salvage config schema > salvage.schema.json',
    'The run-level settings below are the built-in defaults, spelled out:',
    '  stateSchema: the engine\'s own schema on the DR (checkpoint, ledger, key map, quarantine).',
    '  keepTransactionsWhole: true applies each lost transaction whole or quarantines it whole; false decides row by row.',
    '  cascadeGuard: forbid quarantines a lost delete that the DR would cascade onto rows the lost changes never touched.',
    'Also available: escalation, compare, ignoreColumns, defaults.onConflict (a strategy per conflict class for every table): see salvage config schema.',
    'Each table\'s "$comment" lists its keys and, for columns that look like timestamps, versions or counters, a suggested strategy. The suggestions are not active: they are guesses from column names and types, so copy into the table\'s rule only those that fit your data.',
    '"references" entries are active: logical foreign keys guessed from columns named <table>_id where the DR declares none and the table (same schema) and its one-column primary key exist. salvage treats them as foreign keys the server does not enforce (a remapped parent key is rewritten in them); delete any that is wrong.',
    'A table named here wins over a glob: a rule written under "db.*" does not reach a table listed by name, so write its rules in its own entry or delete the entry.',
  ];
  if (state.size > 0) notes.push(`Left out, the engine's own state: ${[...state].map((s) => `${s}.*`).join(', ')}.`);

  return {
    $schema: './salvage.schema.json',
    $comment: notes,
    stateSchema,
    keepTransactionsWhole: true,
    cascadeGuard: 'forbid',
    tables,
  };
}

/** The starting configuration file's text (JSON, two-space indent, final newline). */
export function configInitText(catalog: SchemaCatalog, options: ConfigInitOptions): string {
  return `${JSON.stringify(configInitDocument(catalog, options), null, 2)}\n`;
}
