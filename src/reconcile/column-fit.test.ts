import { describe, expect, it } from 'vitest';
import { columnMisfit } from './column-fit.js';

const col = (dataType: string, columnType: string, collation: string | null = null): Parameters<typeof columnMisfit>[1] => ({ dataType, columnType, unsigned: /unsigned/.test(columnType), collation });

describe('columnMisfit', () => {
  it('integers: the signed and unsigned range of each type, bigint included', () => {
    expect(columnMisfit(127, col('tinyint', 'tinyint(4)'))).toBeNull();
    expect(columnMisfit(130, col('tinyint', 'tinyint(4)'))).toBe('tinyint(4) holds -128 to 127');
    expect(columnMisfit(-3, col('tinyint', 'tinyint(3) unsigned'))).toBe('tinyint(3) unsigned holds 0 to 255');
    expect(columnMisfit(255, col('tinyint', 'tinyint(3) unsigned'))).toBeNull();
    expect(columnMisfit(4294967295, col('int', 'int(10) unsigned'))).toBeNull();
    expect(columnMisfit(2147483648, col('int', 'int(11)'))).toBe('int(11) holds -2147483648 to 2147483647');
    expect(columnMisfit(2n ** 63n, col('bigint', 'bigint(20)'))).toBe('bigint(20) holds -9223372036854775808 to 9223372036854775807');
    expect(columnMisfit(2n ** 64n - 1n, col('bigint', 'bigint(20) unsigned'))).toBeNull();
  });

  it('DECIMAL: the digits before the point (precision − scale) and after it (scale)', () => {
    expect(columnMisfit('999.99', col('decimal', 'decimal(5,2)'))).toBeNull();
    expect(columnMisfit('-999.99', col('decimal', 'decimal(5,2)'))).toBeNull();
    expect(columnMisfit('1040.00', col('decimal', 'decimal(5,2)'))).toBe('the largest decimal(5,2) is ±999.99');
    expect(columnMisfit('1.005', col('decimal', 'decimal(5,2)'))).toBe('decimal(5,2) keeps 2 decimal place(s)');
    expect(columnMisfit('0.50', col('decimal', 'decimal(2,2)'))).toBeNull();
    expect(columnMisfit('-1.00', col('decimal', 'decimal(5,2) unsigned'))).toBe('decimal(5,2) unsigned holds no negative numbers');
  });

  it('CHAR/VARCHAR count characters, not bytes; BINARY/VARBINARY and TEXT/BLOB count bytes', () => {
    expect(columnMisfit('æøåæøåæø', col('varchar', 'varchar(8)', 'utf8mb4_general_ci'))).toBeNull();
    expect(columnMisfit('abc~salvaged-1', col('varchar', 'varchar(8)', 'utf8mb4_general_ci'))).toBe('varchar(8) holds 8 character(s), the value has 14');
    expect(columnMisfit('abcd', col('char', 'char(3)', 'latin1_swedish_ci'))).toBe('char(3) holds 3 character(s), the value has 4');
    expect(columnMisfit(Buffer.alloc(5), col('varbinary', 'varbinary(4)'))).toBe('varbinary(4) holds 4 byte(s), the value has 5');
    expect(columnMisfit('æ'.repeat(128), col('tinytext', 'tinytext', 'utf8mb4_general_ci'))).toBe('tinytext holds 255 byte(s), the value has 256');
    expect(columnMisfit('æ'.repeat(128), col('tinytext', 'tinytext', 'latin1_swedish_ci'))).toBeNull();
  });

  it('ENUM: only its members; NULL and other types are left to the server', () => {
    expect(columnMisfit('B', col('enum', "enum('a','b','it''s')"))).toBeNull();
    expect(columnMisfit("it's", col('enum', "enum('a','b','it''s')"))).toBeNull();
    expect(columnMisfit('c~salvaged-1', col('enum', "enum('a','b')"))).toBe('enum(\'a\',\'b\') has no member "c~salvaged-1"');
    expect(columnMisfit(null, col('tinyint', 'tinyint(4)'))).toBeNull();
    expect(columnMisfit('2024-01-01', col('date', 'date'))).toBeNull();
  });
});
