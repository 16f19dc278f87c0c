/**
 * DR rows in canonical JSON (DESIGN.md "Canonical JSON for row values"), by the DR's schema: the
 * DR table described as a binlog table map would, so rows read from the DR print through the same
 * canonical JSON as the binlog's images. Shared by reconcile (custom strategies, resolve's reader),
 * the sink (archive rows) and the pipeline; the way back is src/reconcile/from-canonical.ts.
 */
import type { ColumnDef, ColumnValue, RowImage } from '../binlog/column.js';
import { ColumnType } from '../binlog/column-types.js';
import type { TableMap } from '../binlog/event.js';
import { rowToCanonical } from '../binlog/transaction-json.js';
import { toCanonical, type CanonicalValue } from '../binlog/values/canonical-json.js';
import { parseLabels } from './column-labels.js';
import type { TableSchema } from './table-schema.js';

const TYPE_CODES: Readonly<Record<string, number>> = {
  tinyint: ColumnType.TINY,
  smallint: ColumnType.SHORT,
  mediumint: ColumnType.INT24,
  int: ColumnType.LONG,
  integer: ColumnType.LONG,
  bigint: ColumnType.LONGLONG,
  decimal: ColumnType.NEWDECIMAL,
  numeric: ColumnType.NEWDECIMAL,
  float: ColumnType.FLOAT,
  double: ColumnType.DOUBLE,
  real: ColumnType.DOUBLE,
  year: ColumnType.YEAR,
  date: ColumnType.DATE,
  time: ColumnType.TIME2,
  datetime: ColumnType.DATETIME2,
  timestamp: ColumnType.TIMESTAMP2,
  bit: ColumnType.BIT,
  enum: ColumnType.ENUM,
  set: ColumnType.SET,
  json: ColumnType.JSON,
  vector: ColumnType.VECTOR,
  char: ColumnType.STRING,
  binary: ColumnType.STRING,
  varchar: ColumnType.VARCHAR,
  varbinary: ColumnType.VARCHAR,
};

/**
 * The DR table as a binlog table map would describe it (names, types, labels, JSON-ness), so rows
 * read from the DR print through the same canonical JSON as the binlog's images.
 */
export function tableMapOf(table: TableSchema): TableMap {
  const columns: ColumnDef[] = table.columns.map((c, index) => {
    const labels = c.dataType === 'enum' || c.dataType === 'set' ? parseLabels(c.columnType) : null;
    const type = TYPE_CODES[c.dataType] ?? (/blob|text/.test(c.dataType) ? ColumnType.BLOB : c.dataType.includes('geometry') || /point|linestring|polygon/.test(c.dataType) ? ColumnType.GEOMETRY : ColumnType.STRING);
    return {
      index,
      name: c.name,
      type,
      binlogType: type,
      meta: 0,
      nullable: c.nullable,
      unsigned: c.unsigned,
      collation: c.collationId,
      enumLabels: c.dataType === 'enum' ? labels : null,
      setLabels: c.dataType === 'set' ? labels : null,
      geometryType: null,
      isJson: c.isJson,
      visible: true,
    };
  });
  return { tableId: 0, schema: table.schema, table: table.table, flags: 0, columns, primaryKey: null, metadata: 'full' };
}

/** A DR row (as src/db/row-reader.ts reads it) in canonical JSON, keyed by the DR's column names. */
export function toCanonicalRow(row: RowImage, table: TableSchema): Record<string, CanonicalValue> {
  return rowToCanonical(row, tableMapOf(table));
}

/** Primary-key values (key order) in canonical JSON. */
export function canonicalKeyValues(values: readonly ColumnValue[] | null, table: TableSchema): CanonicalValue[] | null {
  if (values === null) return null;
  const map = tableMapOf(table);
  return values.map((v, i) => {
    const col = map.columns.find((c) => c.name === table.primaryKey?.[i]);
    return col === undefined ? (typeof v === 'bigint' ? v.toString() : (v as CanonicalValue)) : toCanonical(v, col);
  });
}
