/**
 * The DR's tables as reconcile sees them (DESIGN.md, "Data flow" point 3): columns, the primary
 * key, every unique key, foreign keys (declared in the schema or in the configuration) and the
 * next AUTO_INCREMENT value. Plain readonly data; src/db/introspect.ts fills it from
 * information_schema, tests and the in-memory oracle may build it by hand.
 */
import { EngineError } from '../errors.js';
import { parseQualified } from './qualified-name.js';

/** A column's default as the server reports it, told apart from an expression. */
export type ColumnDefault =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'expression'; readonly sql: string };

export interface ColumnSchema {
  readonly name: string;
  /** 1-based position in the table, the order of binlog row images. */
  readonly ordinal: number;
  /** Lower-case base type (`int`, `varchar`, `json` on MySQL, `longtext` for MariaDB's JSON). */
  readonly dataType: string;
  /** The full type as the server prints it (`int(10) unsigned`, `enum('a','b')`). */
  readonly columnType: string;
  readonly nullable: boolean;
  readonly unsigned: boolean;
  /** Null for columns compared by value or byte (numbers, temporals, BINARY/BLOB). */
  readonly collation: string | null;
  readonly collationId: number | null;
  readonly isAutoIncrement: boolean;
  /** VIRTUAL or STORED generated column: never written by the sink. */
  readonly isGenerated: boolean;
  /** Null when the column has no default or defaults to NULL (the servers do not tell these apart). */
  readonly default: ColumnDefault | null;
  readonly onUpdateCurrentTimestamp: boolean;
  /** MySQL's JSON type, or a MariaDB column with a `json_valid(col)` CHECK. */
  readonly isJson: boolean;
}

export interface UniqueKey {
  readonly name: string;
  readonly columns: readonly string[];
}

/** InnoDB's referential actions, as REFERENTIAL_CONSTRAINTS spells them. */
export type ReferentialAction = 'CASCADE' | 'RESTRICT' | 'SET NULL' | 'NO ACTION' | 'SET DEFAULT';

export interface ForeignKey {
  readonly name: string;
  readonly columns: readonly string[];
  readonly refSchema: string;
  readonly refTable: string;
  readonly refColumns: readonly string[];
  readonly onDelete: ReferentialAction;
  readonly onUpdate: ReferentialAction;
  /** `schema`: enforced by the server; `config`: a logical reference the server never enforces (NO ACTION). */
  readonly origin: 'schema' | 'config';
}

export interface TableSchema {
  readonly schema: string;
  readonly table: string;
  /** In ordinal order. */
  readonly columns: readonly ColumnSchema[];
  /** Columns in key order, or null for a table without a primary key. */
  readonly primaryKey: readonly string[] | null;
  /** Every unique key except the primary key, sorted by name. */
  readonly uniqueKeys: readonly UniqueKey[];
  /** Sorted by name; logical references from the configuration come after the schema's own. */
  readonly foreignKeys: readonly ForeignKey[];
  /** The AUTO_INCREMENT column and the value the DR would allocate next. */
  readonly autoIncrement: { readonly column: string; readonly next: bigint } | null;
  readonly engine: string | null;
}

/** A foreign key of `schema.table` that points at the table asked about. */
export interface ReferencingKey {
  readonly schema: string;
  readonly table: string;
  readonly foreignKey: ForeignKey;
}

/** Every table of the introspected schemas, and the reverse index of foreign keys. */
export interface SchemaCatalog {
  /** All tables, sorted by schema then table name. */
  readonly tables: readonly TableSchema[];
  /** The table `schema`.`table`, exactly as named. */
  get(schema: string, table: string): TableSchema | undefined;
  /** The table named `db.table`; a name with dots resolves to the one split that exists. */
  lookup(qualified: string): TableSchema | undefined;
  /** The foreign keys (of any table, itself included) that reference `schema`.`table`. */
  referencing(schema: string, table: string): readonly ReferencingKey[];
}

/**
 * Logical references from the configuration: `{ "crm.notes": { references: { ticket_id: "crm.tickets.id" } } }`.
 * A name holding a dot may be quoted in backticks (`` "`shop.v2`.notes" ``); unquoted, every split
 * of the dotted text is tried against the DR's schema, and more than one match is an error.
 */
export type LogicalReferences = Readonly<Record<string, { readonly references: Readonly<Record<string, string>> }>>;

/** Stable codes of catalog failures (a configuration naming what the DR does not have). */
export const SchemaCatalogErrorCode = {
  UnknownTable: 'SCHEMA_UNKNOWN_TABLE',
  UnknownColumn: 'SCHEMA_UNKNOWN_COLUMN',
  AmbiguousName: 'SCHEMA_AMBIGUOUS_NAME',
} as const;
export type SchemaCatalogErrorCode = (typeof SchemaCatalogErrorCode)[keyof typeof SchemaCatalogErrorCode];

export class SchemaCatalogError extends EngineError {}

/** An unambiguous map key: schema and table names may contain dots, never NUL. */
function key(schema: string, table: string): string {
  return `${schema}\u0000${table}`;
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The schemas a `db.table` (or `db.table.column`) name may be in: the text before each of its dots
 * but the last `parts − 1`. Names may hold dots, so which split is meant is known only once the
 * catalog has every candidate (`lookup` then picks the one that exists); introspecting the text
 * before the first dot alone missed `shop.v2`.`orders`. A name with a part quoted in backticks
 * (qualified-name.ts) is exact: its one schema.
 */
export function schemaCandidates(qualified: string, parts = 2): string[] {
  const exact = quotedParts(qualified, parts);
  if (exact !== null) return [exact[0]!];
  const dots: number[] = [];
  for (let i = qualified.indexOf('.'); i !== -1; i = qualified.indexOf('.', i + 1)) dots.push(i);
  return dots.slice(0, Math.max(0, dots.length - (parts - 2))).map((at) => qualified.slice(0, at));
}

/** The names of `qualified` when it quotes one of its `count` parts, else null (then only the catalog can tell the split). */
function quotedParts(qualified: string, count: number): string[] | null {
  if (!qualified.includes('`')) return null;
  const parts = parseQualified(qualified, count);
  return parts !== null && parts.some((p) => p.quoted) ? parts.map((p) => p.text) : null;
}

/** Builds a catalog over `tables` (sorted by schema, then table). */
export function createSchemaCatalog(tables: readonly TableSchema[]): SchemaCatalog {
  const sorted = [...tables].sort((a, b) => compareNames(a.schema, b.schema) || compareNames(a.table, b.table));
  const byKey = new Map<string, TableSchema>();
  const refs = new Map<string, ReferencingKey[]>();
  for (const t of sorted) byKey.set(key(t.schema, t.table), t);
  for (const t of sorted) {
    for (const fk of t.foreignKeys) {
      const k = key(fk.refSchema, fk.refTable);
      let list = refs.get(k);
      if (list === undefined) refs.set(k, (list = []));
      list.push({ schema: t.schema, table: t.table, foreignKey: fk });
    }
  }
  const get = (schema: string, table: string): TableSchema | undefined => byKey.get(key(schema, table));
  return {
    tables: sorted,
    get,
    lookup: (qualified) => {
      const found = splitQualified(qualified, 1, (parts) => get(parts[0] ?? '', parts[1] ?? '') !== undefined);
      return found === undefined ? undefined : get(found[0] ?? '', found[1] ?? '');
    },
    referencing: (schema, table) => refs.get(key(schema, table)) ?? [],
  };
}

/**
 * The splits of `name` at `dots` of its dots that `exists` accepts. Names are checked against the
 * catalog because identifiers may themselves contain dots; a name that quotes a part in backticks
 * has one split only.
 */
function splitQualified(name: string, dots: number, exists: (parts: string[]) => boolean): string[] | undefined {
  const exact = quotedParts(name, dots + 1);
  if (exact !== null) return exists(exact) ? exact : undefined;
  const positions: number[] = [];
  for (let i = name.indexOf('.'); i !== -1; i = name.indexOf('.', i + 1)) positions.push(i);
  const matches: string[][] = [];
  const pick = (start: number, from: number, parts: string[]): void => {
    if (parts.length === dots) {
      const all = [...parts, name.slice(start)];
      if (exists(all)) matches.push(all);
      return;
    }
    for (let p = from; p < positions.length; p++) {
      const at = positions[p] ?? 0;
      pick(at + 1, p + 1, [...parts, name.slice(start, at)]);
    }
  };
  pick(0, 0, []);
  if (matches.length > 1) {
    throw new SchemaCatalogError(SchemaCatalogErrorCode.AmbiguousName, `"${name}" names more than one ${dots === 1 ? 'table' : 'column'}: ${matches.map((m) => m.join(' / ')).join(', ')}`, { option: name });
  }
  return matches[0];
}

/**
 * Returns a catalog with the configuration's logical references added as foreign keys
 * (`origin: 'config'`); a reference the schema already declares is not added twice.
 */
export function addLogicalReferences(catalog: SchemaCatalog, config: LogicalReferences): SchemaCatalog {
  const added = new Map<TableSchema, ForeignKey[]>();
  for (const [qualified, entry] of Object.entries(config)) {
    const table = catalog.lookup(qualified);
    if (table === undefined) {
      throw new SchemaCatalogError(SchemaCatalogErrorCode.UnknownTable, `references: table "${qualified}" is not in the DR's schema`, { table: qualified, option: qualified });
    }
    for (const [column, target] of Object.entries(entry.references)) {
      requireColumn(table, column, qualified);
      addOnce(added, table, logicalKey(catalog, table, column, target));
    }
  }
  return withForeignKeys(catalog, added);
}

/** Adds `fk` to `table`'s list in `added` unless the table or the list already has that reference. */
function addOnce(added: Map<TableSchema, ForeignKey[]>, table: TableSchema, fk: ForeignKey): void {
  const list = added.get(table) ?? [];
  if (![...table.foreignKeys, ...list].some((k) => sameReference(k, fk))) added.set(table, [...list, fk]);
}

function withForeignKeys(catalog: SchemaCatalog, added: ReadonlyMap<TableSchema, ForeignKey[]>): SchemaCatalog {
  if (added.size === 0) return catalog;
  return createSchemaCatalog(catalog.tables.map((t) => {
    const extra = added.get(t);
    return extra === undefined ? t : { ...t, foreignKeys: [...t.foreignKeys, ...extra] };
  }));
}

function logicalKey(catalog: SchemaCatalog, table: TableSchema, column: string, target: string): ForeignKey {
  const where = `${table.schema}.${table.table}.${column}`;
  const parts = splitQualified(target, 2, (p) => catalog.get(p[0] ?? '', p[1] ?? '')?.columns.some((c) => c.name === p[2]) === true);
  if (parts === undefined) {
    const tableOnly = splitQualified(target, 2, (p) => catalog.get(p[0] ?? '', p[1] ?? '') !== undefined);
    const code = tableOnly === undefined ? SchemaCatalogErrorCode.UnknownTable : SchemaCatalogErrorCode.UnknownColumn;
    throw new SchemaCatalogError(code, `references: ${where} → "${target}": expected db.table.column of the DR's schema`, { table: `${table.schema}.${table.table}`, column, option: target });
  }
  const [refSchema = '', refTable = '', refColumn = ''] = parts;
  return { name: `config:${column}`, columns: [column], refSchema, refTable, refColumns: [refColumn], onDelete: 'NO ACTION', onUpdate: 'NO ACTION', origin: 'config' };
}

function requireColumn(table: TableSchema, column: string, qualified: string): void {
  if (!table.columns.some((c) => c.name === column)) {
    throw new SchemaCatalogError(SchemaCatalogErrorCode.UnknownColumn, `references: ${qualified} has no column "${column}"`, { table: qualified, column });
  }
}

function sameReference(a: ForeignKey, b: ForeignKey): boolean {
  return a.refSchema === b.refSchema && a.refTable === b.refTable && a.columns.join('\u0000') === b.columns.join('\u0000') && a.refColumns.join('\u0000') === b.refColumns.join('\u0000');
}

/**
 * A logical reference as a run records it in the DR's state (`runs.options.references`), by exact
 * names: what `salvage resolve`, which takes no configuration, needs to follow the same references
 * through the key map as the apply run that quarantined the entries did.
 */
export interface RecordedReference {
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly string[];
  readonly refSchema: string;
  readonly refTable: string;
  readonly refColumns: readonly string[];
}

/** The catalog's logical references (`origin: 'config'`), as a run records them. */
export function recordedReferences(catalog: SchemaCatalog): RecordedReference[] {
  return catalog.tables.flatMap((t) =>
    t.foreignKeys.filter((fk) => fk.origin === 'config').map((fk) => ({ schema: t.schema, table: t.table, columns: fk.columns, refSchema: fk.refSchema, refTable: fk.refTable, refColumns: fk.refColumns })),
  );
}

/**
 * Returns a catalog with recorded references added as logical foreign keys. One whose table or
 * columns the catalog lacks is left out (the DR changed since the run: nothing to follow there),
 * and one the catalog already has is not added twice.
 */
export function addRecordedReferences(catalog: SchemaCatalog, references: readonly RecordedReference[]): SchemaCatalog {
  const added = new Map<TableSchema, ForeignKey[]>();
  for (const r of references) {
    const table = catalog.get(r.schema, r.table);
    const parent = catalog.get(r.refSchema, r.refTable);
    if (table === undefined || parent === undefined) continue;
    if (!r.columns.every((c) => table.columns.some((x) => x.name === c)) || !r.refColumns.every((c) => parent.columns.some((x) => x.name === c))) continue;
    addOnce(added, table, { name: `config:${r.columns.join(',')}`, columns: r.columns, refSchema: r.refSchema, refTable: r.refTable, refColumns: r.refColumns, onDelete: 'NO ACTION', onUpdate: 'NO ACTION', origin: 'config' });
  }
  return withForeignKeys(catalog, added);
}
