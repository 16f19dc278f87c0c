/**
 * One table with a column of every common type, and rows of extremes and awkward values for it:
 * shared by the DR row-reader and the replay suites, which both prove values survive exactly.
 */

/** The `every_type` table in `schema`; with `generated`, plus a VIRTUAL column `g` (never written). */
export function everyTypeTable(schema: string, options: { generated?: boolean } = {}): string {
  return `CREATE TABLE ${schema}.every_type (
  id INT NOT NULL PRIMARY KEY,
  i_s INT, i_u INT UNSIGNED, ti TINYINT, ti_u TINYINT UNSIGNED, bi BIGINT, bi_u BIGINT UNSIGNED,
  dec65 DECIMAL(65,30), f FLOAT, d DOUBLE, b12 BIT(12), b64 BIT(64), y YEAR, dt DATE, tm TIME(3),
  dtm DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, ts0 TIMESTAMP NULL DEFAULT NULL,
  c CHAR(10) CHARACTER SET utf8mb4, vc VARCHAR(50) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci,
  l1 VARCHAR(20) CHARACTER SET latin1, bn BINARY(4), vb VARBINARY(8), bl BLOB, tx TEXT CHARACTER SET utf8mb4,
  e ENUM('small','medium','large'), st SET('a','b','c'), j JSON, u UUID, ip INET6${options.generated ? ',\n  g BIGINT AS (i_s + 1) VIRTUAL' : ''}
) ENGINE=InnoDB`;
}

/** VALUES tuples for every_type (all columns but a generated one), one statement each. */
export const EVERY_TYPE_ROWS: readonly string[] = [
  `(1, -2147483648, 0, -128, 0, -9223372036854775808, 0,
    '-99999999999999999999999999999999999.999999999999999999999999999999', -3.4028234e38, 9370.328532531857,
    b'000000000000', 0, 1901, '1000-01-01', '-838:59:59.000', '1000-01-01 00:00:00.000000',
    '1970-01-01 00:00:01.000000', '2038-01-19 03:14:07', 'a😀', 'héllo 😀 wörld', 'café ÿ',
    X'0102', X'00ff00', X'00010203ff', 'plain text', 'small', '', '{"a": [1, 2.5, "x"], "b": null}',
    '123e4567-e89b-12d3-a456-426614174000', '::ffff:1.2.3.4')`,
  `(2, 2147483647, 4294967295, 127, 255, 9223372036854775807, 18446744073709551615,
    '99999999999999999999999999999999999.999999999999999999999999999999', 0.1, 1.7976931348623157e308,
    b'111111111111', 0xFFFFFFFFFFFFFFFF, 2155, '9999-12-31', '838:59:59.999', '9999-12-31 23:59:59.999999',
    '2038-01-19 03:14:07.999999', '1970-01-01 00:00:01', '  lead', 'trail  ', 'Œuvre €',
    X'01000000', X'', X'', '', 'large', 'a,c', '[]', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '2001:db8::1')`,
  `(3, 0, 1, -1, 1, 9007199254740991, 9007199254740992, '0.000000000000000000000000000001', 1.17549435e-38, 5e-324,
    b'101', 9007199254740993, 0, '2024-02-29', '-00:00:01.500', '2024-02-29 12:34:56.000001',
    '2024-03-10 02:30:00.5', '2001-09-09 01:46:40', 'x', '', 'x', X'00000000', X'7f', X'00', '日本語 🎉',
    'medium', 'a,b,c', '"str"', '00000000-0000-0000-0000-000000000000', '::')`,
  `(4, ${Array.from({ length: 29 }, () => 'NULL').join(', ')})`,
  `(5, -1, 1, 0, 0, -9007199254740992, 9007199254740991, '-0.5', -0.0000001, -2.2250738585072014e-308,
    b'1', 1, 2000, '2000-01-01', '00:00:00.000', '2000-01-01 00:00:00.000000', '2000-01-01 00:00:00.000000',
    '2000-01-01 00:00:00', 'tab\\tnl\\n', 'quote '' \\\\ back', '', X'ff', X'0000', X'', '\\0nul', 'small', 'b',
    '{"n": 18446744073709551615, "d": 1e308}', '123e4567-e89b-72d3-c456-426614174000', 'fe80::1')`,
];
