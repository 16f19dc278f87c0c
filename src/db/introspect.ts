/**
 * The DR's tables, keys and AUTO_INCREMENT counters from information_schema, in a fixed handful
 * of queries for every table at once (never one per table: a DR may hold thousands). The SQL
 * sticks to columns that MariaDB 10.11 and MySQL 8 both have; where the servers differ the
 * difference is handled in code and named in a comment.
 */
import { createSchemaCatalog } from '../model/table-schema.js';
import type { ColumnDefault, ColumnSchema, ForeignKey, ReferentialAction, SchemaCatalog, TableSchema, UniqueKey } from '../model/table-schema.js';
import type { SqlRow, SqlSession } from './sql-session.js';
import { collationIdSql } from './collation-id.js';

/** Schemas that belong to the server, never to the application. */
const SYSTEM_SCHEMAS = ['mysql', 'information_schema', 'performance_schema', 'sys'];

/** Reads every base table of `schemas` (default: all but the system schemas) into a catalog. */
export async function introspectSchemas(session: SqlSession, schemas?: readonly string[]): Promise<SchemaCatalog> {
  if (schemas !== undefined && schemas.length === 0) return createSchemaCatalog([]);
  const mariadb = await isMariadb(session);
  // MySQL 8 serves TABLES.AUTO_INCREMENT from a cache refreshed once a day by default; the next
  // id must be the live one. MariaDB has no such variable (and reads the live counter).
  if (!mariadb) await session.query('SET SESSION information_schema_stats_expiry = 0');
  const filter = schemaFilter(schemas);
  const collation = await collationIdSql(session);
  const [tables, columns, indexes, foreignKeys, jsonChecks] = await Promise.all([
    session.query(
      `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, ENGINE AS engine, AUTO_INCREMENT AS next_id
         FROM information_schema.TABLES
        WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND ${filter.sql('TABLE_SCHEMA')}`,
      filter.params,
    ),
    session.query(
      `SELECT c.TABLE_SCHEMA AS s, c.TABLE_NAME AS t, c.COLUMN_NAME AS name, c.ORDINAL_POSITION AS ordinal,
              c.DATA_TYPE AS data_type, c.COLUMN_TYPE AS column_type, c.IS_NULLABLE AS nullable,
              c.COLLATION_NAME AS collation, ${collation.id} AS collation_id, c.COLUMN_DEFAULT AS dflt, c.EXTRA AS extra
         FROM information_schema.COLUMNS c
         ${collation.joins}
        WHERE ${filter.sql('c.TABLE_SCHEMA')}
        ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION`,
      filter.params,
    ),
    // STATISTICS rather than KEY_COLUMN_USAGE: it lists every unique index, also those made by
    // CREATE UNIQUE INDEX. MySQL 8's functional key parts have COLUMN_NAME NULL (MariaDB has none).
    session.query(
      `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t, INDEX_NAME AS name, COLUMN_NAME AS col
         FROM information_schema.STATISTICS
        WHERE NON_UNIQUE = 0 AND ${filter.sql('TABLE_SCHEMA')}
        ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
      filter.params,
    ),
    // Foreign key names are unique per schema in InnoDB, and both views carry TABLE_NAME.
    session.query(
      `SELECT k.TABLE_SCHEMA AS s, k.TABLE_NAME AS t, k.CONSTRAINT_NAME AS name, k.COLUMN_NAME AS col,
              k.REFERENCED_TABLE_SCHEMA AS ref_s, k.REFERENCED_TABLE_NAME AS ref_t, k.REFERENCED_COLUMN_NAME AS ref_col,
              r.DELETE_RULE AS on_delete, r.UPDATE_RULE AS on_update
         FROM information_schema.KEY_COLUMN_USAGE k
         JOIN information_schema.REFERENTIAL_CONSTRAINTS r
           ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
        WHERE k.REFERENCED_TABLE_NAME IS NOT NULL AND ${filter.sql('k.TABLE_SCHEMA')}
        ORDER BY k.TABLE_SCHEMA, k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
      filter.params,
    ),
    // MariaDB has no DATA_TYPE 'json': its JSON is LONGTEXT with a json_valid(`col`) CHECK, which
    // only MariaDB's CHECK_CONSTRAINTS ties to a TABLE_NAME (MySQL's has no such column and needs none).
    mariadb
      ? session.query(
          `SELECT CONSTRAINT_SCHEMA AS s, TABLE_NAME AS t, CHECK_CLAUSE AS clause
             FROM information_schema.CHECK_CONSTRAINTS
            WHERE CHECK_CLAUSE LIKE '%json_valid(%' AND ${filter.sql('CONSTRAINT_SCHEMA')}`,
          filter.params,
        )
      : Promise.resolve({ rows: [] }),
  ]);
  const checks = groupBy(jsonChecks.rows);
  const cols = groupBy(columns.rows);
  const keys = groupBy(indexes.rows);
  const fks = groupBy(foreignKeys.rows);
  return createSchemaCatalog(
    tables.rows.map((r) => {
      const k = tableKey(r);
      return toTable(r, cols.get(k) ?? [], keys.get(k) ?? [], fks.get(k) ?? [], checks.get(k) ?? [], mariadb);
    }),
  );
}

/** The schema and name of every base table of the server's user schemas: names only, one query. */
export async function listTableNames(session: SqlSession): Promise<{ readonly schema: string; readonly table: string }[]> {
  const filter = schemaFilter(undefined);
  const { rows } = await session.query(
    `SELECT TABLE_SCHEMA AS s, TABLE_NAME AS t
       FROM information_schema.TABLES
      WHERE TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED') AND ${filter.sql('TABLE_SCHEMA')}`,
    filter.params,
  );
  return rows.map((r) => ({ schema: text(r['s']), table: text(r['t']) }));
}

async function isMariadb(session: SqlSession): Promise<boolean> {
  const { rows } = await session.query('SELECT VERSION() AS v');
  return /mariadb/i.test(text(rows[0]?.['v']));
}

interface SchemaFilter {
  sql(column: string): string;
  readonly params: readonly string[];
}

function schemaFilter(schemas: readonly string[] | undefined): SchemaFilter {
  const list = schemas ?? SYSTEM_SCHEMAS;
  const marks = list.map(() => '?').join(', ');
  const op = schemas === undefined ? 'NOT IN' : 'IN';
  return { sql: (column) => `${column} ${op} (${marks})`, params: list };
}

/** information_schema text may arrive as a Buffer (MySQL 8 types some of its columns binary). */
function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

function nullableText(v: unknown): string | null {
  return v === null || v === undefined ? null : text(v);
}

function tableKey(r: SqlRow): string {
  return `${text(r['s'])}\u0000${text(r['t'])}`;
}

function groupBy(rows: readonly SqlRow[]): Map<string, SqlRow[]> {
  const map = new Map<string, SqlRow[]>();
  for (const r of rows) {
    const k = tableKey(r);
    let list = map.get(k);
    if (list === undefined) map.set(k, (list = []));
    list.push(r);
  }
  return map;
}

function toTable(r: SqlRow, colRows: readonly SqlRow[], keyRows: readonly SqlRow[], fkRows: readonly SqlRow[], checkRows: readonly SqlRow[], mariadb: boolean): TableSchema {
  const clauses = checkRows.map((c) => text(c['clause']).toLowerCase());
  const columns = colRows.map((c) => toColumn(c, clauses, mariadb));
  const keys = toKeys(keyRows);
  const { primaryKey, uniqueKeys } = keys.primaryKey === null ? asRowIdentity(keys.uniqueKeys, columns) : keys;
  const autoColumn = columns.find((c) => c.isAutoIncrement);
  const next = r['next_id'];
  return {
    schema: text(r['s']),
    table: text(r['t']),
    columns,
    primaryKey,
    uniqueKeys,
    foreignKeys: toForeignKeys(fkRows),
    // A table that has allocated nothing yet reports 1; NULL only for engines without a counter.
    autoIncrement: autoColumn === undefined ? null : { column: autoColumn.name, next: next === null || next === undefined ? 1n : BigInt(text(next)) },
    engine: nullableText(r['engine']),
  };
}

function toColumn(c: SqlRow, jsonClauses: readonly string[], mariadb: boolean): ColumnSchema {
  const name = text(c['name']);
  const dataType = text(c['data_type']).toLowerCase();
  const columnType = text(c['column_type']);
  const extra = text(c['extra']);
  const collationId = c['collation_id'];
  const isGenerated = /\b(?:virtual|stored|persistent) generated\b/i.test(extra);
  return {
    name,
    ordinal: Number(text(c['ordinal'])),
    dataType,
    columnType,
    nullable: text(c['nullable']) === 'YES',
    unsigned: /\bunsigned\b/i.test(columnType),
    collation: nullableText(c['collation']),
    collationId: collationId === null || collationId === undefined ? null : Number(text(collationId)),
    isAutoIncrement: /\bauto_increment\b/i.test(extra),
    isGenerated,
    default: isGenerated ? null : toDefault(c['dflt'], extra, mariadb),
    onUpdateCurrentTimestamp: /\bon update current_timestamp\b/i.test(extra),
    isJson: dataType === 'json' || jsonClauses.some((k) => k.includes(`json_valid(${quoteName(name).toLowerCase()})`)),
  };
}

/**
 * COLUMN_DEFAULT differs by server. MariaDB (10.2.7+) prints it as SQL: `NULL`, a quoted string
 * literal `'a''b'`, a bare number, or an expression such as `current_timestamp()`. MySQL 8 prints
 * the bare value, SQL NULL for none, and marks an expression default with DEFAULT_GENERATED in EXTRA.
 */
function toDefault(raw: unknown, extra: string, mariadb: boolean): ColumnDefault | null {
  if (raw === null || raw === undefined) return null;
  const value = text(raw);
  if (!mariadb) {
    if (/\bdefault_generated\b/i.test(extra) || /^current_timestamp\b/i.test(value)) return { kind: 'expression', sql: value };
    return { kind: 'literal', value };
  }
  if (value === 'NULL') return null;
  if (value.length >= 2 && value.startsWith("'") && value.endsWith("'")) return { kind: 'literal', value: unquote(value) };
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i.test(value)) return { kind: 'literal', value };
  return { kind: 'expression', sql: value };
}

/** Undoes MariaDB's quoting of a default string: `''` and the backslash escapes of SHOW CREATE TABLE. */
function unquote(quoted: string): string {
  const body = quoted.slice(1, -1);
  const escapes: Readonly<Record<string, string>> = { '0': '\0', n: '\n', r: '\r', t: '\t', Z: '\x1a', b: '\b' };
  return body.replace(/''|\\(.)/gs, (m, ch: string | undefined) => (ch === undefined ? "'" : (escapes[ch] ?? ch)));
}

function quoteName(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

function toKeys(rows: readonly SqlRow[]): { primaryKey: string[] | null; uniqueKeys: UniqueKey[] } {
  const byName = new Map<string, Array<string | null>>();
  for (const r of rows) {
    const name = text(r['name']);
    let list = byName.get(name);
    if (list === undefined) byName.set(name, (list = []));
    list.push(nullableText(r['col']));
  }
  let primaryKey: string[] | null = null;
  const uniqueKeys: UniqueKey[] = [];
  for (const [name, parts] of byName) {
    // A key over an expression (MySQL 8 functional key part) cannot be matched column by column.
    if (parts.some((p) => p === null)) continue;
    const columns = parts as string[];
    if (name === 'PRIMARY') primaryKey = columns;
    else uniqueKeys.push({ name, columns });
  }
  // Sorted by code point here, not by ORDER BY, whose order follows information_schema's collation.
  return { primaryKey, uniqueKeys: uniqueKeys.sort((a, b) => compareNames(a.name, b.name)) };
}

/**
 * A table without a PRIMARY KEY whose unique key has only NOT NULL columns: InnoDB makes such a key
 * the table's clustered index, its row identity, and so does this engine — the key is the table's
 * primary key here (and leaves the unique keys), so its updates and deletes are merged by it
 * rather than quarantined as `no-key`. With several, the first by name: any of them identifies a row.
 */
function asRowIdentity(uniqueKeys: readonly UniqueKey[], columns: readonly ColumnSchema[]): { primaryKey: string[] | null; uniqueKeys: UniqueKey[] } {
  const notNull = (c: string): boolean => columns.some((col) => col.name === c && !col.nullable);
  const identity = uniqueKeys.find((k) => k.columns.every(notNull));
  if (identity === undefined) return { primaryKey: null, uniqueKeys: [...uniqueKeys] };
  return { primaryKey: [...identity.columns], uniqueKeys: uniqueKeys.filter((k) => k !== identity) };
}

function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function toForeignKeys(rows: readonly SqlRow[]): ForeignKey[] {
  const result: ForeignKey[] = [];
  let current: { fk: ForeignKey; columns: string[]; refColumns: string[] } | undefined;
  for (const r of rows) {
    const name = text(r['name']);
    if (current === undefined || current.fk.name !== name) {
      const columns: string[] = [];
      const refColumns: string[] = [];
      const fk: ForeignKey = {
        name,
        columns,
        refSchema: text(r['ref_s']),
        refTable: text(r['ref_t']),
        refColumns,
        onDelete: text(r['on_delete']) as ReferentialAction,
        onUpdate: text(r['on_update']) as ReferentialAction,
        origin: 'schema',
      };
      current = { fk, columns, refColumns };
      result.push(fk);
    }
    current.columns.push(text(r['col']));
    current.refColumns.push(text(r['ref_col']));
  }
  return result.sort((a, b) => compareNames(a.name, b.name));
}

/**
 * The schemas, other than `schemas`, holding a table whose declared foreign key points into one of
 * them: where the children of their rows may live (a delete must see every row that still points at it).
 */
export async function referencingSchemas(session: SqlSession, schemas: readonly string[]): Promise<string[]> {
  if (schemas.length === 0) return [];
  const { rows } = await session.query(
    `SELECT DISTINCT TABLE_SCHEMA AS s FROM information_schema.KEY_COLUMN_USAGE
      WHERE REFERENCED_TABLE_SCHEMA IN (${schemas.map(() => '?').join(', ')}) AND TABLE_SCHEMA NOT IN (${schemas.map(() => '?').join(', ')})`,
    [...schemas, ...schemas],
  );
  return rows.map((r) => String(r['s']));
}
