/**
 * TABLE_MAP_EVENT (libs/mysql/binlog/event/rows_event.cpp Table_map_event; MariaDB
 * sql/log_event.cc): table id and flags (post-header), schema and table names, column types,
 * per-column metadata, the NULL-ability bitmap, then optional metadata fields (type, length,
 * value) when binlog_row_metadata is MINIMAL or FULL. Column definitions are built here once per
 * table map, so the row loop only indexes them (STYLE.md rule 6).
 */
import { BinlogError, BinlogErrorCode } from '../../errors.js';
import { ByteReader } from '../byte-reader.js';
import type { ColumnDef } from '../column.js';
import { ColumnType } from '../column-types.js';
import type { Flavor, TableMap } from '../event.js';
import { charsetOfCollation, decodeText, isTextCollation } from '../values/charset.js';
import { readColumnMeta } from '../values/column-meta.js';

/** What a schema (the DR's information_schema, `--schema-from`) knows of a column when the binlog does not say. */
export interface ColumnHint {
  readonly name?: string;
  readonly unsigned?: boolean;
  readonly collation?: number | null;
  readonly enumLabels?: readonly string[];
  readonly setLabels?: readonly string[];
  readonly isJson?: boolean;
  /**
   * Fractional-second digits of a TIME/DATETIME/TIMESTAMP column. MariaDB's pre-10.1 hires formats
   * (mysql56_temporal_format=OFF) are logged as types 11/12/7 with no metadata, exactly like the
   * fsp-0 formats, so only a schema can say that a column is TIME(3) and not TIME.
   */
  readonly fsp?: number;
  /**
   * The column's type as information_schema names it (DATA_TYPE, lower case): checked against the
   * binlog's column type, since hints are matched by position (see hintMismatch).
   */
  readonly dataType?: string;
}

const T = ColumnType;
const STRINGS: readonly number[] = [T.STRING, T.VARCHAR, T.VAR_STRING];
const BLOBS: readonly number[] = [T.BLOB, T.TINY_BLOB, T.MEDIUM_BLOB, T.LONG_BLOB];
/** The binlog column types each information_schema DATA_TYPE is logged as (both servers). */
const LOGGED_AS: ReadonlyMap<string, readonly number[]> = new Map<string, readonly number[]>([
  ['tinyint', [T.TINY]],
  ['smallint', [T.SHORT]],
  ['mediumint', [T.INT24]],
  ['int', [T.LONG]],
  ['integer', [T.LONG]],
  ['bigint', [T.LONGLONG]],
  ['float', [T.FLOAT]],
  ['double', [T.DOUBLE]],
  ['real', [T.DOUBLE]],
  ['decimal', [T.NEWDECIMAL, T.DECIMAL]],
  ['numeric', [T.NEWDECIMAL, T.DECIMAL]],
  ['year', [T.YEAR]],
  ['date', [T.DATE, T.NEWDATE]],
  ['time', [T.TIME, T.TIME2]],
  ['datetime', [T.DATETIME, T.DATETIME2]],
  ['timestamp', [T.TIMESTAMP, T.TIMESTAMP2]],
  ['bit', [T.BIT]],
  ['char', STRINGS],
  ['varchar', STRINGS],
  ['binary', STRINGS],
  ['varbinary', STRINGS],
  ['enum', [T.ENUM, T.STRING]],
  ['set', [T.SET, T.STRING]],
  ['tinytext', BLOBS],
  ['text', BLOBS],
  ['mediumtext', BLOBS],
  // MariaDB's JSON is a LONGTEXT: a MySQL primary's JSON column (its binary type) is one on a MariaDB DR.
  ['longtext', [...BLOBS, T.JSON]],
  ['tinyblob', BLOBS],
  ['blob', BLOBS],
  ['mediumblob', BLOBS],
  ['longblob', BLOBS],
  // MySQL logs its binary JSON type; MariaDB's JSON is a LONGTEXT.
  ['json', [T.JSON, ...BLOBS]],
]);

/**
 * Whether a column of binlog type `type` can be one information_schema calls `dataType`. A type not
 * listed (geometry, MariaDB's inet6/uuid, vector …), or none, is taken as it is.
 */
export function typeFits(type: number, dataType: string | undefined): boolean {
  const logged = dataType === undefined ? undefined : LOGGED_AS.get(dataType);
  return logged === undefined || logged.includes(type);
}

/**
 * The first column (0-based) whose hint names a type the binlog's column cannot be (a schema whose
 * columns were reordered or retyped since the binlog was written), or -1. The hints are matched by
 * position: a list shorter than the columns fails at its end; a longer one (a schema with columns
 * added last) is compared on its first ones.
 */
export function hintMismatch(columns: readonly { readonly type: number }[], hint: readonly ColumnHint[]): number {
  if (hint.length < columns.length) return hint.length;
  for (let i = 0; i < columns.length; i++) {
    if (!typeFits(columns[i]!.type, hint[i]!.dataType)) return i;
  }
  return -1;
}

/**
 * The hint of each of `names` (the binlog's column names, binlog_row_metadata=FULL), found by name in
 * the schema's list whatever its order: a column the schema lacks, or whose type there the binlog's
 * cannot be, gets none.
 */
function hintsByName(cols: readonly { readonly type: number }[], names: readonly string[], hint: readonly ColumnHint[]): (ColumnHint | undefined)[] {
  const byName = new Map<string, ColumnHint>();
  for (const h of hint) if (h.name !== undefined) byName.set(h.name.toLowerCase(), h);
  return names.map((n, i) => {
    const h = byName.get(n.toLowerCase());
    return h !== undefined && typeFits(cols[i]!.type, h.dataType) ? h : undefined;
  });
}

/**
 * Supplies column hints for a table, in the schema's column order; returns undefined when it knows
 * nothing of it. `columnCount` is the binlog's: a list may be longer (the schema has columns the
 * binlog's images lack). The binlog's columns take them by name where it logs names, else its
 * first `columnCount` by position.
 */
export type SchemaHints = (schema: string, table: string, columnCount: number) => readonly ColumnHint[] | undefined;

// Optional metadata field types (rows_event.h Table_map_event::Optional_metadata_field_type).
const SIGNEDNESS = 1;
const DEFAULT_CHARSET = 2;
const COLUMN_CHARSET = 3;
const COLUMN_NAME = 4;
const SET_STR_VALUE = 5;
const ENUM_STR_VALUE = 6;
const GEOMETRY_TYPE = 7;
const SIMPLE_PRIMARY_KEY = 8;
const PRIMARY_KEY_WITH_PREFIX = 9;
const ENUM_AND_SET_DEFAULT_CHARSET = 10;
const ENUM_AND_SET_COLUMN_CHARSET = 11;
const COLUMN_VISIBILITY = 12;

/**
 * Numeric columns carry a signedness bit (MySQL rows_event.cpp is_numeric_type). MariaDB also
 * counts YEAR (its Field_year is a Field_tiny), which a test against a live 10.11 confirmed.
 */
function isNumeric(type: number, flavor: Flavor): boolean {
  switch (type) {
    case ColumnType.YEAR:
      return flavor === 'mariadb';
    case ColumnType.TINY:
    case ColumnType.SHORT:
    case ColumnType.INT24:
    case ColumnType.LONG:
    case ColumnType.LONGLONG:
    case ColumnType.NEWDECIMAL:
    case ColumnType.FLOAT:
    case ColumnType.DOUBLE:
      return true;
    default:
      return false;
  }
}

/**
 * Character columns carry a charset (MySQL rows_event.cpp is_character_type); ENUM/SET have their
 * own list. MariaDB also lists GEOMETRY (binary charset): it counts every field whose
 * binlog_type_info has a charset, which a test against a live 10.11 confirmed.
 */
function isCharacter(type: number, flavor: Flavor): boolean {
  switch (type) {
    case ColumnType.GEOMETRY:
      return flavor === 'mariadb';
    case ColumnType.VECTOR:
      // MySQL 9 numbers VECTOR among the charset columns (log_event.cc is_character_type).
      return true;
    case ColumnType.STRING:
    case ColumnType.VAR_STRING:
    case ColumnType.VARCHAR:
    case ColumnType.BLOB:
    case ColumnType.TINY_BLOB:
    case ColumnType.MEDIUM_BLOB:
    case ColumnType.LONG_BLOB:
      return true;
    default:
      return false;
  }
}

function isEnumOrSet(type: number): boolean {
  return type === ColumnType.ENUM || type === ColumnType.SET;
}

/** The temporal types whose table map metadata is empty: precision 0, or a MariaDB hires column. */
/**
 * TIME, DATETIME or TIMESTAMP in the old layouts (types 11/12/7): with meta 0 MariaDB's pre-10.1
 * hires formats cannot be told from the fsp-0 ones, so only a schema gives their width.
 */
export function isOldTemporal(type: number): boolean {
  return type === ColumnType.TIME || type === ColumnType.DATETIME || type === ColumnType.TIMESTAMP;
}

/** A schema's fsp becomes the column's meta, which the hires readers of decode-value.ts take as the precision. */
function temporalMeta(c: RawColumn, h: ColumnHint | undefined): number {
  return h?.fsp !== undefined && isOldTemporal(c.type) && c.meta === 0 ? h.fsp : c.meta;
}

/** Bits most-significant first, one per listed column (SIGNEDNESS, COLUMN_VISIBILITY). */
function msbBits(value: Buffer, count: number): boolean[] {
  const out = new Array<boolean>(count);
  for (let i = 0; i < count; i++) out[i] = ((value[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0;
  return out;
}

/** DEFAULT_CHARSET: a default collation, then (index, collation) pairs for the exceptions. */
function defaultCharsets(r: ByteReader, count: number): number[] {
  const def = r.lenenc();
  const out = new Array<number>(count).fill(def);
  while (r.remaining > 0) {
    const index = r.lenenc();
    const collation = r.lenenc();
    if (index < count) out[index] = collation;
  }
  return out;
}

function columnCharsets(r: ByteReader): number[] {
  const out: number[] = [];
  while (r.remaining > 0) out.push(r.lenenc());
  return out;
}

/**
 * SET_STR_VALUE/ENUM_STR_VALUE: per column, its labels as views into the event. They are in the
 * column's charset, which comes later (ENUM_AND_SET_*_CHARSET), so they are decoded in
 * decodeTableMap before the event's bytes are released.
 */
function stringLists(r: ByteReader): Buffer[][] {
  const out: Buffer[][] = [];
  while (r.remaining > 0) {
    const n = r.lenenc();
    const labels: Buffer[] = [];
    for (let i = 0; i < n; i++) labels.push(r.bytes(r.lenenc()));
    out.push(labels);
  }
  return out;
}

/**
 * Labels in the column's charset (`latin1` labels read as UTF-8 would lose every non-ASCII
 * letter). When the charset is unknown (no ENUM_AND_SET charset field and no schema hint) or has
 * no decoder in Node, UTF-8 is the best default: the default charset of every current server.
 */
function decodeLabels(raw: readonly Buffer[], collation: number | null): string[] {
  const cs = collation !== null && isTextCollation(collation) ? charsetOfCollation(collation) : undefined;
  return raw.map((b) => (cs === undefined ? b.toString('utf8') : decodeText(b, 0, b.length, cs)));
}

interface RawColumn {
  type: number;
  binlogType: number;
  meta: number;
  nullable: boolean;
}

interface Optional {
  signedness?: boolean[];
  charsets?: number[];
  enumSetCharsets?: number[];
  names?: string[];
  setLabels?: Buffer[][];
  enumLabels?: Buffer[][];
  geometryTypes?: number[];
  primaryKey?: number[];
  visibility?: boolean[];
  fields: number;
}

function readOptionalMetadata(r: ByteReader, cols: RawColumn[], flavor: Flavor): Optional {
  const opt: Optional = { fields: 0 };
  const numericCount = cols.filter((c) => isNumeric(c.type, flavor)).length;
  const charCount = cols.filter((c) => isCharacter(c.type, flavor)).length;
  const enumSetCount = cols.filter((c) => isEnumOrSet(c.type)).length;
  const sub = new ByteReader();
  while (r.remaining > 0) {
    const type = r.u8();
    const length = r.lenenc();
    const value = r.bytes(length);
    sub.reset(value);
    opt.fields |= 1 << type;
    switch (type) {
      case SIGNEDNESS:
        opt.signedness = msbBits(value, numericCount);
        break;
      case DEFAULT_CHARSET:
        opt.charsets = defaultCharsets(sub, charCount);
        break;
      case COLUMN_CHARSET:
        opt.charsets = columnCharsets(sub);
        break;
      case COLUMN_NAME: {
        const names: string[] = [];
        while (sub.remaining > 0) names.push(sub.utf8(sub.lenenc()));
        opt.names = names;
        break;
      }
      case SET_STR_VALUE:
        opt.setLabels = stringLists(sub);
        break;
      case ENUM_STR_VALUE:
        opt.enumLabels = stringLists(sub);
        break;
      case GEOMETRY_TYPE:
        opt.geometryTypes = columnCharsets(sub);
        break;
      case SIMPLE_PRIMARY_KEY: {
        const pk: number[] = [];
        while (sub.remaining > 0) pk.push(sub.lenenc());
        opt.primaryKey = pk;
        break;
      }
      case PRIMARY_KEY_WITH_PREFIX: {
        const pk: number[] = [];
        while (sub.remaining > 0) {
          pk.push(sub.lenenc());
          sub.lenenc();
        }
        opt.primaryKey = pk;
        break;
      }
      case ENUM_AND_SET_DEFAULT_CHARSET:
        opt.enumSetCharsets = defaultCharsets(sub, enumSetCount);
        break;
      case ENUM_AND_SET_COLUMN_CHARSET:
        opt.enumSetCharsets = columnCharsets(sub);
        break;
      case COLUMN_VISIBILITY:
        opt.visibility = msbBits(value, cols.length);
        break;
      default:
        // Fields newer than this decoder (e.g. MySQL 9 vector dimensionality) are skipped by length.
        break;
    }
  }
  return opt;
}

/**
 * A table map that ends after its column types: the MySQL 5.1/5.2 prototype servers
 * ("5.2.2-a_drop6p13", rust_mysql_common ver_5_1-wl2325_r.001) wrote neither metadata nor NULL
 * bitmap, and the server reads both only when bytes remain (rows_event.cpp Table_map_event).
 */
function bareTableMap(tableId: number, flags: number, schema: string, table: string, types: Buffer): TableMap {
  const columns: ColumnDef[] = [];
  for (let i = 0; i < types.length; i++) {
    const t = types[i]!;
    columns.push({ index: i, name: `@${i + 1}`, type: t, binlogType: t, meta: 0, nullable: false, unsigned: false, collation: null, enumLabels: null, setLabels: null, geometryType: null, isJson: false, visible: true });
  }
  return { tableId, schema, table, flags, columns, primaryKey: null, metadata: 'none' };
}

/** Decodes a TABLE_MAP body; `postHeader` is 6 (4-byte table id, MySQL 5.1.x) or 8. */
export function decodeTableMap(r: ByteReader, postHeader: number, flavor: Flavor, hints?: SchemaHints): TableMap {
  const tableId = postHeader === 6 ? r.u32le() : r.u48le();
  const flags = r.u16le();
  const schema = r.utf8(r.u8());
  r.skip(1);
  const table = r.utf8(r.u8());
  r.skip(1);
  const count = r.lenenc();
  if (count > r.remaining) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `table map for ${schema}.${table} claims ${count} columns in ${r.remaining} bytes`, { table: `${schema}.${table}` });
  }
  const types = r.bytes(count);
  if (r.remaining === 0) return bareTableMap(tableId, flags, schema, table, types);
  const metaLength = r.lenenc();
  const metaEnd = r.pos + metaLength;
  r.need(metaLength);
  const cols: RawColumn[] = new Array(count);
  const metaReader = new ByteReader(r.buf, r.pos, metaEnd);
  for (let i = 0; i < count; i++) {
    const binlogType = types[i]!;
    const { type, meta } = readColumnMeta(metaReader, binlogType);
    cols[i] = { type, binlogType, meta, nullable: false };
  }
  r.pos = metaEnd;
  const nullBits = r.bytes((count + 7) >> 3);
  for (let i = 0; i < count; i++) cols[i]!.nullable = (nullBits[i >> 3]! & (1 << (i & 7))) !== 0;
  const opt = readOptionalMetadata(r, cols, flavor);
  const list = hints?.(schema, table, count);
  let hint: readonly (ColumnHint | undefined)[] | undefined;
  // Logged names say which schema column each is, whatever the order (a column added in the middle
  // since); by position, hints apply only where the schema's types are the binlog's: else @1…@n,
  // never another column's name.
  if (list !== undefined && opt.names !== undefined) hint = hintsByName(cols, opt.names, list);
  else if (list !== undefined && hintMismatch(cols, list) < 0) hint = list;

  const columns: ColumnDef[] = new Array(count);
  let numeric = 0;
  let character = 0;
  let enumSet = 0;
  let enums = 0;
  let sets = 0;
  let geometry = 0;
  for (let i = 0; i < count; i++) {
    const c = cols[i]!;
    const h = hint?.[i];
    let unsigned = h?.unsigned ?? false;
    let collation: number | null = h?.collation ?? null;
    let enumLabels: readonly string[] | null = h?.enumLabels ?? null;
    let setLabels: readonly string[] | null = h?.setLabels ?? null;
    let geometryType: number | null = null;
    if (isNumeric(c.type, flavor)) {
      if (opt.signedness) unsigned = opt.signedness[numeric] ?? unsigned;
      numeric++;
    } else if (isCharacter(c.type, flavor)) {
      if (opt.charsets) collation = opt.charsets[character] ?? collation;
      character++;
      if (c.type === ColumnType.GEOMETRY) {
        geometryType = opt.geometryTypes?.[geometry] ?? null;
        geometry++;
      }
    } else if (isEnumOrSet(c.type)) {
      if (opt.enumSetCharsets) collation = opt.enumSetCharsets[enumSet] ?? collation;
      enumSet++;
      if (c.type === ColumnType.ENUM) {
        const raw = opt.enumLabels?.[enums];
        if (raw) enumLabels = decodeLabels(raw, collation);
        enums++;
      } else {
        const raw = opt.setLabels?.[sets];
        if (raw) setLabels = decodeLabels(raw, collation);
        sets++;
      }
    } else if (c.type === ColumnType.GEOMETRY) {
      geometryType = opt.geometryTypes?.[geometry] ?? null;
      geometry++;
    }
    columns[i] = {
      index: i,
      name: opt.names?.[i] ?? h?.name ?? `@${i + 1}`,
      type: c.type,
      binlogType: c.binlogType,
      meta: temporalMeta(c, h),
      nullable: c.nullable,
      unsigned,
      collation,
      enumLabels,
      setLabels,
      geometryType,
      isJson: h?.isJson ?? false,
      visible: opt.visibility?.[i] ?? true,
    };
  }
  const full = opt.names !== undefined;
  return {
    tableId,
    schema,
    table,
    flags,
    columns,
    primaryKey: opt.primaryKey ?? null,
    metadata: full ? 'full' : opt.fields !== 0 ? 'minimal' : 'none',
  };
}
