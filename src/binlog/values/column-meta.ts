/**
 * The per-column metadata of a TABLE_MAP event, normalised as ColumnDef.meta documents. Wire facts
 * from mysql-server sql/rpl_utility.cc (table_def::table_def reads the metadata), sql/field.cc
 * (each Field's do_save_field_metadata writes it) and libs/mysql/binlog/event/binary_log_funcs.cpp
 * (calc_field_size); MariaDB writes the same bytes (sql/rpl_utility.cc, sql/field.cc).
 */
import { BinlogError, BinlogErrorCode } from '../../errors.js';
import type { ByteReader } from '../byte-reader.js';
import { ColumnType, columnTypeName } from '../column-types.js';

/** A column's real type (ENUM/SET/STRING unpacked from STRING metadata) and its normalised metadata. */
export interface ColumnMeta {
  readonly type: number;
  readonly meta: number;
}

/** Reads one column's metadata bytes for `binlogType` and normalises them (see ColumnDef.meta). */
export function readColumnMeta(r: ByteReader, binlogType: number): ColumnMeta {
  switch (binlogType) {
    // One byte: pack length of FLOAT/DOUBLE (4/8) and of the length prefix of BLOB-like values
    // (1–4). MySQL 9's VECTOR is a Field_blob and saves its pack length (4) the same way.
    case ColumnType.FLOAT:
    case ColumnType.DOUBLE:
    case ColumnType.TINY_BLOB:
    case ColumnType.MEDIUM_BLOB:
    case ColumnType.LONG_BLOB:
    case ColumnType.BLOB:
    case ColumnType.GEOMETRY:
    case ColumnType.JSON:
    case ColumnType.VECTOR:
      return { type: binlogType, meta: r.u8() };

    // Two bytes little-endian: the maximum length in bytes.
    case ColumnType.VARCHAR:
    case ColumnType.VAR_STRING:
      return { type: binlogType, meta: r.u16le() };

    // Two bytes: bits % 8, then whole bytes (Field_bit::do_save_field_metadata).
    case ColumnType.BIT: {
      const bits = r.u8();
      const bytes = r.u8();
      return { type: binlogType, meta: bytes * 8 + bits };
    }

    // Two bytes: precision, then scale.
    case ColumnType.NEWDECIMAL: {
      const precision = r.u8();
      const scale = r.u8();
      return { type: binlogType, meta: precision * 256 + scale };
    }

    // One byte: fractional-second digits.
    case ColumnType.TIMESTAMP2:
    case ColumnType.DATETIME2:
    case ColumnType.TIME2:
      return { type: binlogType, meta: r.u8() };

    case ColumnType.STRING:
    case ColumnType.ENUM:
    case ColumnType.SET:
      return readStringMeta(r.u8(), r.u8());

    // No metadata. MariaDB's hires TIMESTAMP/DATETIME/TIME (fsp > 0 with mysql56_temporal_format
    // off) are logged as types 7/12/11 with none either: only a schema can supply their fsp.
    case ColumnType.DECIMAL:
    case ColumnType.TINY:
    case ColumnType.SHORT:
    case ColumnType.LONG:
    case ColumnType.NULL:
    case ColumnType.TIMESTAMP:
    case ColumnType.LONGLONG:
    case ColumnType.INT24:
    case ColumnType.DATE:
    case ColumnType.TIME:
    case ColumnType.DATETIME:
    case ColumnType.YEAR:
    case ColumnType.NEWDATE:
      return { type: binlogType, meta: 0 };

    default:
      // Any other code has metadata of unknown size: reading on would misplace every later column.
      throw new BinlogError(BinlogErrorCode.Unsupported, `table map column of type ${columnTypeName(binlogType)} (${binlogType}): metadata layout unknown`);
  }
}

/**
 * STRING metadata is (real type, length) as Field_string::do_save_field_metadata writes it. A
 * CHAR longer than 255 bytes (up to 1020: 255 characters × 4) stores length bits 8–9 inverted in
 * bits 4–5 of the type byte, so `byte0 | 0x30` is the real type and `((byte0 & 0x30) ^ 0x30) << 4`
 * the high bits (log_event.cc log_event_print_value, bug #37426). ENUM and SET keep their real
 * type (0xf7/0xf8, bits 4–5 set) and their storage size in bytes.
 */
function readStringMeta(byte0: number, byte1: number): ColumnMeta {
  // Servers before the real type was logged wrote 0 there (calc_field_size's `meta < 256` branch).
  if (byte0 === 0) return { type: ColumnType.STRING, meta: byte1 };
  if ((byte0 & 0x30) !== 0x30) {
    const real = byte0 | 0x30;
    if (real !== ColumnType.STRING) throw badString(byte0, byte1);
    return { type: ColumnType.STRING, meta: byte1 | (((byte0 & 0x30) ^ 0x30) << 4) };
  }
  switch (byte0) {
    case ColumnType.ENUM:
    case ColumnType.SET:
      return { type: byte0, meta: byte1 };
    case ColumnType.STRING:
    case ColumnType.VAR_STRING:
      return { type: ColumnType.STRING, meta: byte1 };
    default:
      throw badString(byte0, byte1);
  }
}

function badString(byte0: number, byte1: number): BinlogError {
  const hex = (b: number): string => b.toString(16).padStart(2, '0');
  return new BinlogError(BinlogErrorCode.CorruptEvent, `table map STRING column metadata ${hex(byte0)} ${hex(byte1)}: real type ${columnTypeName(byte0 | 0x30)} is not CHAR, ENUM or SET`);
}
