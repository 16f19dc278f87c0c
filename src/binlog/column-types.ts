/** Column type codes as the servers number them (MySQL include/field_types.h, MariaDB include/mysql_com.h). */
export const ColumnType = {
  DECIMAL: 0, // MYSQL_TYPE_DECIMAL (pre-5.0 DECIMAL, text)
  TINY: 1, // MYSQL_TYPE_TINY
  SHORT: 2, // MYSQL_TYPE_SHORT
  LONG: 3, // MYSQL_TYPE_LONG
  FLOAT: 4, // MYSQL_TYPE_FLOAT
  DOUBLE: 5, // MYSQL_TYPE_DOUBLE
  NULL: 6, // MYSQL_TYPE_NULL
  TIMESTAMP: 7, // MYSQL_TYPE_TIMESTAMP (pre-5.6, no fraction)
  LONGLONG: 8, // MYSQL_TYPE_LONGLONG
  INT24: 9, // MYSQL_TYPE_INT24 (MEDIUMINT)
  DATE: 10, // MYSQL_TYPE_DATE
  TIME: 11, // MYSQL_TYPE_TIME (pre-5.6; MariaDB "hires" TIME with fsp in meta)
  DATETIME: 12, // MYSQL_TYPE_DATETIME (pre-5.6; MariaDB hires with fsp in meta)
  YEAR: 13, // MYSQL_TYPE_YEAR
  NEWDATE: 14, // MYSQL_TYPE_NEWDATE (internal)
  VARCHAR: 15, // MYSQL_TYPE_VARCHAR
  BIT: 16, // MYSQL_TYPE_BIT
  TIMESTAMP2: 17, // MYSQL_TYPE_TIMESTAMP2
  DATETIME2: 18, // MYSQL_TYPE_DATETIME2
  TIME2: 19, // MYSQL_TYPE_TIME2
  TYPED_ARRAY: 20, // MYSQL_TYPE_TYPED_ARRAY (replication of multi-valued indexes only)
  VECTOR: 242, // MYSQL_TYPE_VECTOR (MySQL 9.0+)
  INVALID: 243, // MYSQL_TYPE_INVALID
  BOOL: 244, // MYSQL_TYPE_BOOL (placeholder)
  JSON: 245, // MYSQL_TYPE_JSON (MySQL binary JSON; MariaDB logs JSON as BLOB)
  NEWDECIMAL: 246, // MYSQL_TYPE_NEWDECIMAL
  ENUM: 247, // MYSQL_TYPE_ENUM
  SET: 248, // MYSQL_TYPE_SET
  TINY_BLOB: 249, // MYSQL_TYPE_TINY_BLOB
  MEDIUM_BLOB: 250, // MYSQL_TYPE_MEDIUM_BLOB
  LONG_BLOB: 251, // MYSQL_TYPE_LONG_BLOB
  BLOB: 252, // MYSQL_TYPE_BLOB
  VAR_STRING: 253, // MYSQL_TYPE_VAR_STRING
  STRING: 254, // MYSQL_TYPE_STRING
  GEOMETRY: 255, // MYSQL_TYPE_GEOMETRY
} as const;
export type ColumnType = (typeof ColumnType)[keyof typeof ColumnType];

const names = new Map<number, string>(Object.entries(ColumnType).map(([k, v]) => [v, k]));

/** The server's name of a column type code, or `TYPE_<n>`. */
export function columnTypeName(code: number): string {
  return names.get(code) ?? `TYPE_${code}`;
}
