import { describe, expect, it } from 'vitest';
import { BinlogError, BinlogErrorCode } from '../../errors.js';
import { ByteReader } from '../byte-reader.js';
import { ColumnType } from '../column-types.js';
import { readColumnMeta } from './column-meta.js';

/** Reads one column's metadata and checks that exactly its bytes were consumed. */
function meta(binlogType: number, hex: string): { type: number; meta: number } {
  const r = new ByteReader(Buffer.from(hex, 'hex'));
  const out = readColumnMeta(r, binlogType);
  expect(r.pos).toBe(r.end);
  return out;
}

describe('readColumnMeta', () => {
  // Metadata bytes below are from TABLE_MAP events MariaDB 10.11.19 wrote for these column types.
  it.each([
    ['FLOAT', ColumnType.FLOAT, '04', ColumnType.FLOAT, 4],
    ['DOUBLE', ColumnType.DOUBLE, '08', ColumnType.DOUBLE, 8],
    ['BLOB', ColumnType.BLOB, '02', ColumnType.BLOB, 2],
    ['MEDIUMBLOB', ColumnType.BLOB, '03', ColumnType.BLOB, 3],
    ['LONGTEXT (MariaDB JSON)', ColumnType.BLOB, '04', ColumnType.BLOB, 4],
    ['POINT', ColumnType.GEOMETRY, '04', ColumnType.GEOMETRY, 4],
    ['JSON (MySQL)', ColumnType.JSON, '04', ColumnType.JSON, 4],
    ['VARCHAR(10) utf8mb4', ColumnType.VARCHAR, '2800', ColumnType.VARCHAR, 40],
    ['VARCHAR(300) latin1', ColumnType.VARCHAR, '2c01', ColumnType.VARCHAR, 300],
    ['BIT(1)', ColumnType.BIT, '0100', ColumnType.BIT, 1],
    ['BIT(9)', ColumnType.BIT, '0101', ColumnType.BIT, 9],
    ['BIT(64)', ColumnType.BIT, '0008', ColumnType.BIT, 64],
    ['DECIMAL(14,4)', ColumnType.NEWDECIMAL, '0e04', ColumnType.NEWDECIMAL, 14 * 256 + 4],
    ['DECIMAL(65,30)', ColumnType.NEWDECIMAL, '411e', ColumnType.NEWDECIMAL, 65 * 256 + 30],
    ['TIME(3)', ColumnType.TIME2, '03', ColumnType.TIME2, 3],
    ['DATETIME(6)', ColumnType.DATETIME2, '06', ColumnType.DATETIME2, 6],
    ['TIMESTAMP(0)', ColumnType.TIMESTAMP2, '00', ColumnType.TIMESTAMP2, 0],
    ['CHAR(10) latin1', ColumnType.STRING, 'fe0a', ColumnType.STRING, 10],
    ['BINARY(4)', ColumnType.STRING, 'fe04', ColumnType.STRING, 4],
    ['CHAR(255) utf8mb4: 1020 bytes, high bits in the type byte', ColumnType.STRING, 'cefc', ColumnType.STRING, 1020],
    ['ENUM of 300 labels', ColumnType.STRING, 'f702', ColumnType.ENUM, 2],
    ['ENUM of 3 labels', ColumnType.STRING, 'f701', ColumnType.ENUM, 1],
    ['SET of 64 members', ColumnType.STRING, 'f808', ColumnType.SET, 8],
  ])('%s', (_name, binlogType, hex, type, m) => {
    expect(meta(binlogType, hex)).toEqual({ type, meta: m });
  });

  it('unpacks every CHAR length up to 1023 bytes (Field_string::do_save_field_metadata)', () => {
    for (let length = 0; length < 1024; length++) {
      const byte0 = ColumnType.STRING ^ ((length & 0x300) >> 4);
      const hex = Buffer.from([byte0, length & 0xff]).toString('hex');
      expect(meta(ColumnType.STRING, hex)).toEqual({ type: ColumnType.STRING, meta: length });
    }
  });

  it('reads VECTOR as one byte of pack length (MySQL 9.0.1 vector.binlog: types f2 fc f2, metadata 04 02 04)', () => {
    const r = new ByteReader(Buffer.from('040204', 'hex'));
    expect([ColumnType.VECTOR, ColumnType.BLOB, ColumnType.VECTOR].map((t) => readColumnMeta(r, t))).toEqual([
      { type: ColumnType.VECTOR, meta: 4 },
      { type: ColumnType.BLOB, meta: 2 },
      { type: ColumnType.VECTOR, meta: 4 },
    ]);
    expect(r.pos).toBe(3);
  });

  it('reads nothing for types without metadata, MariaDB hires temporals included', () => {
    for (const t of [ColumnType.TINY, ColumnType.SHORT, ColumnType.INT24, ColumnType.LONG, ColumnType.LONGLONG, ColumnType.YEAR, ColumnType.DATE, ColumnType.TIME, ColumnType.DATETIME, ColumnType.TIMESTAMP, ColumnType.NULL, ColumnType.NEWDATE]) {
      expect(meta(t, '')).toEqual({ type: t, meta: 0 });
    }
  });

  it('treats a zero type byte as a plain CHAR length (servers that did not log the real type)', () => {
    expect(meta(ColumnType.STRING, '0014')).toEqual({ type: ColumnType.STRING, meta: 20 });
  });

  it('rejects a type whose metadata size is unknown, and a STRING whose real type is not CHAR/ENUM/SET', () => {
    const fail = (type: number, hex: string): BinlogError => {
      try {
        meta(type, hex);
      } catch (e) {
        if (e instanceof BinlogError) return e;
        throw e;
      }
      throw new Error('no error');
    };
    const e1 = fail(ColumnType.TYPED_ARRAY, '');
    expect([e1.code, e1.message]).toEqual([BinlogErrorCode.Unsupported, 'table map column of type TYPED_ARRAY (20): metadata layout unknown']);
    const e2 = fail(ColumnType.STRING, 'f30a');
    expect([e2.code, e2.message]).toEqual([BinlogErrorCode.CorruptEvent, 'table map STRING column metadata f3 0a: real type INVALID is not CHAR, ENUM or SET']);
  });
});
