/**
 * Column names, signedness, charsets and ENUM/SET labels from a server's information_schema, for
 * binlogs written without full row metadata (`inspect --schema-from`).
 */
import mysql from 'mysql2/promise';
import type { ColumnHint, SchemaHints } from '../binlog/events/table-map.js';
import { EngineError } from '../errors.js';
import type { ConnectionTarget } from './connection-url.js';

export class DatabaseError extends EngineError {}

/** Parses the label list of `enum('a','b''c')` / `set(...)`. */
export function parseLabels(columnType: string): string[] {
  const open = columnType.indexOf('(');
  const labels: string[] = [];
  let i = open + 1;
  while (i < columnType.length && columnType[i] === "'") {
    let s = '';
    i++;
    for (;;) {
      const ch = columnType[i];
      if (ch === undefined) return labels;
      if (ch === "'" && columnType[i + 1] === "'") {
        s += "'";
        i += 2;
      } else if (ch === "'") {
        i++;
        break;
      } else if (ch === '\\' && columnType[i + 1] !== undefined) {
        s += columnType[i + 1];
        i += 2;
      } else {
        s += ch;
        i++;
      }
    }
    labels.push(s);
    if (columnType[i] === ',') i++;
  }
  return labels;
}

interface ColumnRow {
  TABLE_SCHEMA: string;
  TABLE_NAME: string;
  COLUMN_NAME: string;
  ORDINAL_POSITION: number;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  COLLATION_ID: number | null;
  IS_JSON: number;
}

/** Loads hints for every user table of the server. */
export async function loadSchemaHints(target: ConnectionTarget): Promise<SchemaHints> {
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection({ host: target.host, port: target.port, user: target.user, password: target.password, database: target.database });
  } catch (e) {
    throw new DatabaseError('DB_CONNECT', `cannot connect to ${target.redacted}: ${(e as Error).message}`, { option: '--schema-from' }, { retryable: true, cause: e });
  }
  try {
    const [rows] = await conn.query(
      `SELECT c.TABLE_SCHEMA, c.TABLE_NAME, c.COLUMN_NAME, c.ORDINAL_POSITION, c.DATA_TYPE, c.COLUMN_TYPE,
              co.ID AS COLLATION_ID,
              (c.DATA_TYPE = 'json' OR EXISTS (SELECT 1 FROM information_schema.CHECK_CONSTRAINTS k
                 WHERE k.CONSTRAINT_SCHEMA = c.TABLE_SCHEMA AND k.TABLE_NAME = c.TABLE_NAME
                   AND k.CHECK_CLAUSE LIKE CONCAT('%json_valid(\`', c.COLUMN_NAME, '\`)%'))) AS IS_JSON
         FROM information_schema.COLUMNS c
         LEFT JOIN information_schema.COLLATIONS co ON co.COLLATION_NAME = c.COLLATION_NAME
        WHERE c.TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')
        ORDER BY c.TABLE_SCHEMA, c.TABLE_NAME, c.ORDINAL_POSITION`,
    );
    const tables = new Map<string, ColumnHint[]>();
    for (const r of rows as ColumnRow[]) {
      const key = `${r.TABLE_SCHEMA}.${r.TABLE_NAME}`;
      let list = tables.get(key);
      if (!list) tables.set(key, (list = []));
      const type = r.DATA_TYPE.toLowerCase();
      list.push({
        name: r.COLUMN_NAME,
        unsigned: /\bunsigned\b/i.test(r.COLUMN_TYPE),
        collation: r.COLLATION_ID === null ? (/(binary|blob)$/.test(type) ? 63 : null) : Number(r.COLLATION_ID),
        ...(type === 'enum' ? { enumLabels: parseLabels(r.COLUMN_TYPE) } : {}),
        ...(type === 'set' ? { setLabels: parseLabels(r.COLUMN_TYPE) } : {}),
        isJson: Number(r.IS_JSON) === 1,
      });
    }
    return (schema, table, count) => {
      const list = tables.get(`${schema}.${table}`);
      return list && list.length === count ? list : undefined;
    };
  } finally {
    await conn.end();
  }
}
