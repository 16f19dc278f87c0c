import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinlogError, BinlogErrorCode } from '../../errors.js';
import { ByteReader, ShortReadError } from '../byte-reader.js';
import type { ColumnDef, ColumnValue } from '../column.js';
import { ColumnType } from '../column-types.js';
import { readColumnMeta } from './column-meta.js';
import { cellOps, decodeCell, decodeColumnValue, describeColumnType } from './decode-value.js';
import { JsonDecimal, JsonValue } from './json-value.js';
import { encodeColumnValue, testColumn } from '../../../test/harness/value-encoder.js';

const hex = (h: string): Buffer => Buffer.from(h, 'hex');
const SET64 = Array.from({ length: 64 }, (_, i) => `m${i + 1}`);
const ENUM300 = Array.from({ length: 300 }, (_, i) => `e${i + 1}`);

/** Decodes one cell and checks that exactly its bytes were consumed. */
function decode(cell: Buffer, col: ColumnDef): ColumnValue {
  const r = new ByteReader(cell);
  const v = decodeColumnValue(r, col);
  expect(r.pos).toBe(cell.length);
  return v;
}

function roundTrip(value: ColumnValue, col: ColumnDef): ColumnValue {
  return decode(encodeColumnValue(value, col), col);
}

/**
 * Cells a real server wrote: MariaDB 10.11.19 with binlog_format=ROW, one single-column table per
 * type, one INSERT per value (hires tables created with mysql56_temporal_format=OFF). Columns:
 * table, TABLE_MAP type, TABLE_MAP metadata (hex), cell bytes (hex), the value as the server's own
 * SELECT printed it (TIMESTAMP in time_zone '+00:00'; BIT and binary as their bytes), and the
 * schema facts the test supplies (charset, signedness, labels; hires fsp, which no TABLE_MAP logs).
 */
const SERVER_CELLS: ReadonlyArray<readonly [string, number, string, string, ColumnValue, Partial<ColumnDef>]> = [
  ['t_dec14_4', 246, '0e04', '810dfb38d204d2', "1234567890.1234", {  }],
  ['t_dec14_4', 246, '0e04', '7ef204c72dfb2d', "-1234567890.1234", {  }],
  ['t_dec14_4', 246, '0e04', '80000000000000', "0.0000", {  }],
  ['t_dec14_4', 246, '0e04', '7ffffffffffffe', "-0.0001", {  }],
  ['t_dec10_2', 246, '0a02', '8000000000', "0.00", {  }],
  ['t_dec10_2', 246, '0a02', '7fffffffcd', "-0.50", {  }],
  ['t_dec10_2', 246, '0a02', '80bc614e5a', "12345678.90", {  }],
  ['t_dec10_2', 246, '0a02', '7f439eb1a5', "-12345678.90", {  }],
  ['t_dec10_2', 246, '0a02', '8000000005', "0.05", {  }],
  ['t_dec5_0', 246, '0500', '7e7960', "-99999", {  }],
  ['t_dec5_0', 246, '0500', '800000', "0", {  }],
  ['t_dec5_0', 246, '0500', '800007', "7", {  }],
  ['t_dec65_30', 246, '411e', '80bc614e35b7bf87350e34c02f075f79075bcd1500bc614e35b7bf87037a', "12345678901234567890123456789012345.123456789012345678901234567890", {  }],
  ['t_dec65_30', 246, '411e', '7ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffe', "-0.000000000000000000000000000001", {  }],
  ['t_dec65_30', 246, '411e', '7a0a1f00c4653600c4653600c4653600c4653600c4653600c4653600fc18', "-99999999999999999999999999999999999.999999999999999999999999999999", {  }],
  ['t_dec2_2', 246, '0202', 'b2', "0.50", {  }],
  ['t_dec2_2', 246, '0202', '1c', "-0.99", {  }],
  ['t_dec20_9', 246, '1409', '73eb655bcaf8a432ea', "-12345678901.123456789", {  }],
  ['t_dec20_9', 246, '1409', '800000000100000001', "1.000000001", {  }],
  ['t_dec19_0', 246, '1300', '810dfb38d2075bcd15', "1234567890123456789", {  }],
  ['t_dec19_0', 246, '1300', '7ffffffffeffffffff', "-1000000000", {  }],
  ['t_time0', 19, '00', '4b9105', "-838:59:59", {  }],
  ['t_time0', 19, '00', 'b46efb', "838:59:59", {  }],
  ['t_time0', 19, '00', '800000', "00:00:00", {  }],
  ['t_time0', 19, '00', '7fffff', "-00:00:01", {  }],
  ['t_time0', 19, '00', '80c8b8', "12:34:56", {  }],
  ['t_time0', 19, '00', '800000', "00:00:00", {  }],
  ['t_time0', 19, '00', '7fef7d', "-01:02:03", {  }],
  ['t_time0', 19, '00', '800000', "00:00:00", {  }],
  ['t_dt0', 18, '00', '99b2bad38f', "2024-02-29 13:14:15", {  }],
  ['t_dt0', 18, '00', '8000000000', "0000-00-00 00:00:00", {  }],
  ['t_dt0', 18, '00', 'fef3ff7efb', "9999-12-31 23:59:59", {  }],
  ['t_dt0', 18, '00', '8cb2420000', "1000-01-01 00:00:00", {  }],
  ['t_dt0', 18, '00', '99a5000000', "2020-00-00 00:00:00", {  }],
  ['t_ts0', 17, '00', '7fffffff', "2038-01-19 03:14:07", {  }],
  ['t_ts0', 17, '00', '00000001', "1970-01-01 00:00:01", {  }],
  ['t_ts0', 17, '00', '65e071c0', "2024-02-29 12:00:00", {  }],
  ['t_ts0', 17, '00', '00000000', "0000-00-00 00:00:00", {  }],
  ['t_time1', 19, '01', '4b910500', "-838:59:59.0", {  }],
  ['t_time1', 19, '01', 'b46efb00', "838:59:59.0", {  }],
  ['t_time1', 19, '01', '80000000', "00:00:00.0", {  }],
  ['t_time1', 19, '01', '7fffff00', "-00:00:01.0", {  }],
  ['t_time1', 19, '01', '80c8b846', "12:34:56.7", {  }],
  ['t_time1', 19, '01', '7fffffce', "-00:00:00.5", {  }],
  ['t_time1', 19, '01', '7fef7cd8', "-01:02:03.4", {  }],
  ['t_time1', 19, '01', '80000000', "00:00:00.0", {  }],
  ['t_dt1', 18, '01', '99b2bad38f0a', "2024-02-29 13:14:15.1", {  }],
  ['t_dt1', 18, '01', '800000000000', "0000-00-00 00:00:00.0", {  }],
  ['t_dt1', 18, '01', 'fef3ff7efb5a', "9999-12-31 23:59:59.9", {  }],
  ['t_dt1', 18, '01', '8cb242000000', "1000-01-01 00:00:00.0", {  }],
  ['t_dt1', 18, '01', '99a500000000', "2020-00-00 00:00:00.0", {  }],
  ['t_ts1', 17, '01', '7fffffff5a', "2038-01-19 03:14:07.9", {  }],
  ['t_ts1', 17, '01', '0000000100', "1970-01-01 00:00:01.0", {  }],
  ['t_ts1', 17, '01', '65e071c032', "2024-02-29 12:00:00.5", {  }],
  ['t_ts1', 17, '01', '0000000000', "0000-00-00 00:00:00.0", {  }],
  ['t_time2', 19, '02', '4b910500', "-838:59:59.00", {  }],
  ['t_time2', 19, '02', 'b46efb00', "838:59:59.00", {  }],
  ['t_time2', 19, '02', '80000000', "00:00:00.00", {  }],
  ['t_time2', 19, '02', '7fffff00', "-00:00:01.00", {  }],
  ['t_time2', 19, '02', '80c8b84e', "12:34:56.78", {  }],
  ['t_time2', 19, '02', '7fffffce', "-00:00:00.50", {  }],
  ['t_time2', 19, '02', '7fef7cd3', "-01:02:03.45", {  }],
  ['t_time2', 19, '02', '80000000', "00:00:00.00", {  }],
  ['t_dt2', 18, '02', '99b2bad38f0c', "2024-02-29 13:14:15.12", {  }],
  ['t_dt2', 18, '02', '800000000000', "0000-00-00 00:00:00.00", {  }],
  ['t_dt2', 18, '02', 'fef3ff7efb63', "9999-12-31 23:59:59.99", {  }],
  ['t_dt2', 18, '02', '8cb242000000', "1000-01-01 00:00:00.00", {  }],
  ['t_dt2', 18, '02', '99a500000000', "2020-00-00 00:00:00.00", {  }],
  ['t_ts2', 17, '02', '7fffffff63', "2038-01-19 03:14:07.99", {  }],
  ['t_ts2', 17, '02', '0000000100', "1970-01-01 00:00:01.00", {  }],
  ['t_ts2', 17, '02', '65e071c032', "2024-02-29 12:00:00.50", {  }],
  ['t_ts2', 17, '02', '0000000000', "0000-00-00 00:00:00.00", {  }],
  ['t_time3', 19, '03', '4b91050000', "-838:59:59.000", {  }],
  ['t_time3', 19, '03', 'b46efb0000', "838:59:59.000", {  }],
  ['t_time3', 19, '03', '8000000000', "00:00:00.000", {  }],
  ['t_time3', 19, '03', '7fffff0000', "-00:00:01.000", {  }],
  ['t_time3', 19, '03', '80c8b81ed2', "12:34:56.789", {  }],
  ['t_time3', 19, '03', '7fffffec78', "-00:00:00.500", {  }],
  ['t_time3', 19, '03', '7fef7cee30', "-01:02:03.456", {  }],
  ['t_time3', 19, '03', '8000000000', "00:00:00.000", {  }],
  ['t_dt3', 18, '03', '99b2bad38f04ce', "2024-02-29 13:14:15.123", {  }],
  ['t_dt3', 18, '03', '80000000000000', "0000-00-00 00:00:00.000", {  }],
  ['t_dt3', 18, '03', 'fef3ff7efb2706', "9999-12-31 23:59:59.999", {  }],
  ['t_dt3', 18, '03', '8cb24200000000', "1000-01-01 00:00:00.000", {  }],
  ['t_dt3', 18, '03', '99a50000000000', "2020-00-00 00:00:00.000", {  }],
  ['t_ts3', 17, '03', '7fffffff2706', "2038-01-19 03:14:07.999", {  }],
  ['t_ts3', 17, '03', '000000010000', "1970-01-01 00:00:01.000", {  }],
  ['t_ts3', 17, '03', '65e071c01388', "2024-02-29 12:00:00.500", {  }],
  ['t_ts3', 17, '03', '000000000000', "0000-00-00 00:00:00.000", {  }],
  ['t_time4', 19, '04', '4b91050000', "-838:59:59.0000", {  }],
  ['t_time4', 19, '04', 'b46efb0000', "838:59:59.0000", {  }],
  ['t_time4', 19, '04', '8000000000', "00:00:00.0000", {  }],
  ['t_time4', 19, '04', '7fffff0000', "-00:00:01.0000", {  }],
  ['t_time4', 19, '04', '80c8b81ed2', "12:34:56.7890", {  }],
  ['t_time4', 19, '04', '7fffffec78', "-00:00:00.5000", {  }],
  ['t_time4', 19, '04', '7fef7cee29', "-01:02:03.4567", {  }],
  ['t_time4', 19, '04', '8000000000', "00:00:00.0000", {  }],
  ['t_dt4', 18, '04', '99b2bad38f04d2', "2024-02-29 13:14:15.1234", {  }],
  ['t_dt4', 18, '04', '80000000000000', "0000-00-00 00:00:00.0000", {  }],
  ['t_dt4', 18, '04', 'fef3ff7efb270f', "9999-12-31 23:59:59.9999", {  }],
  ['t_dt4', 18, '04', '8cb24200000000', "1000-01-01 00:00:00.0000", {  }],
  ['t_dt4', 18, '04', '99a50000000000', "2020-00-00 00:00:00.0000", {  }],
  ['t_ts4', 17, '04', '7fffffff270f', "2038-01-19 03:14:07.9999", {  }],
  ['t_ts4', 17, '04', '000000010000', "1970-01-01 00:00:01.0000", {  }],
  ['t_ts4', 17, '04', '65e071c01388', "2024-02-29 12:00:00.5000", {  }],
  ['t_ts4', 17, '04', '000000000000', "0000-00-00 00:00:00.0000", {  }],
  ['t_time5', 19, '05', '4b9105000000', "-838:59:59.00000", {  }],
  ['t_time5', 19, '05', 'b46efb000000', "838:59:59.00000", {  }],
  ['t_time5', 19, '05', '800000000000', "00:00:00.00000", {  }],
  ['t_time5', 19, '05', '7fffff000000', "-00:00:01.00000", {  }],
  ['t_time5', 19, '05', '80c8b80c0a12', "12:34:56.78901", {  }],
  ['t_time5', 19, '05', '7ffffff85ee0', "-00:00:00.50000", {  }],
  ['t_time5', 19, '05', '7fef7cf907b4', "-01:02:03.45678", {  }],
  ['t_time5', 19, '05', '800000000000', "00:00:00.00000", {  }],
  ['t_dt5', 18, '05', '99b2bad38f01e23a', "2024-02-29 13:14:15.12345", {  }],
  ['t_dt5', 18, '05', '8000000000000000', "0000-00-00 00:00:00.00000", {  }],
  ['t_dt5', 18, '05', 'fef3ff7efb0f4236', "9999-12-31 23:59:59.99999", {  }],
  ['t_dt5', 18, '05', '8cb2420000000000', "1000-01-01 00:00:00.00000", {  }],
  ['t_dt5', 18, '05', '99a5000000000000', "2020-00-00 00:00:00.00000", {  }],
  ['t_ts5', 17, '05', '7fffffff0f4236', "2038-01-19 03:14:07.99999", {  }],
  ['t_ts5', 17, '05', '00000001000000', "1970-01-01 00:00:01.00000", {  }],
  ['t_ts5', 17, '05', '65e071c007a120', "2024-02-29 12:00:00.50000", {  }],
  ['t_ts5', 17, '05', '00000000000000', "0000-00-00 00:00:00.00000", {  }],
  ['t_time6', 19, '06', '4b9105000000', "-838:59:59.000000", {  }],
  ['t_time6', 19, '06', 'b46efb000000', "838:59:59.000000", {  }],
  ['t_time6', 19, '06', '800000000000', "00:00:00.000000", {  }],
  ['t_time6', 19, '06', '7fffff000000', "-00:00:01.000000", {  }],
  ['t_time6', 19, '06', '80c8b80c0a14', "12:34:56.789012", {  }],
  ['t_time6', 19, '06', '7ffffff85edf', "-00:00:00.500001", {  }],
  ['t_time6', 19, '06', '7fef7cf907ab', "-01:02:03.456789", {  }],
  ['t_time6', 19, '06', '7fffffffffff', "-00:00:00.000001", {  }],
  ['t_dt6', 18, '06', '99b2bad38f01e240', "2024-02-29 13:14:15.123456", {  }],
  ['t_dt6', 18, '06', '8000000000000000', "0000-00-00 00:00:00.000000", {  }],
  ['t_dt6', 18, '06', 'fef3ff7efb0f423f', "9999-12-31 23:59:59.999999", {  }],
  ['t_dt6', 18, '06', '8cb2420000000000', "1000-01-01 00:00:00.000000", {  }],
  ['t_dt6', 18, '06', '99a5000000000000', "2020-00-00 00:00:00.000000", {  }],
  ['t_ts6', 17, '06', '7fffffff0f423f', "2038-01-19 03:14:07.999999", {  }],
  ['t_ts6', 17, '06', '00000001000000', "1970-01-01 00:00:01.000000", {  }],
  ['t_ts6', 17, '06', '65e071c007a120', "2024-02-29 12:00:00.500000", {  }],
  ['t_ts6', 17, '06', '00000000000000', "0000-00-00 00:00:00.000000", {  }],
  ['t_date', 10, '', '5dd00f', "2024-02-29", {  }],
  ['t_date', 10, '', '000000', "0000-00-00", {  }],
  ['t_date', 10, '', '9f1f4e', "9999-12-31", {  }],
  ['t_date', 10, '', '21d007', "1000-01-01", {  }],
  ['t_year', 13, '', '01', 1901, {  }],
  ['t_year', 13, '', 'ff', 2155, {  }],
  ['t_year', 13, '', '00', 0, {  }],
  ['t_bit1', 16, '0100', '01', 1, {  }],
  ['t_bit1', 16, '0100', '00', 0, {  }],
  ['t_bit7', 16, '0700', '55', 85, {  }],
  ['t_bit9', 16, '0101', '0101', 257, {  }],
  ['t_bit53', 16, '0506', '1fffffffffffff', 9007199254740991, {  }],
  ['t_bit64', 16, '0008', 'ffffffffffffffff', 18446744073709551615n, {  }],
  ['t_bit64', 16, '0008', '8000000000000001', 9223372036854775809n, {  }],
  ['t_tiny', 1, '', '80', -128, {  }],
  ['t_tiny', 1, '', '7f', 127, {  }],
  ['t_tiny', 1, '', 'ff', -1, {  }],
  ['t_utiny', 1, '', 'ff', 255, { unsigned: true }],
  ['t_small', 2, '', '0080', -32768, {  }],
  ['t_small', 2, '', 'ff7f', 32767, {  }],
  ['t_usmall', 2, '', 'ffff', 65535, { unsigned: true }],
  ['t_med', 9, '', '000080', -8388608, {  }],
  ['t_med', 9, '', 'ffff7f', 8388607, {  }],
  ['t_med', 9, '', 'ffffff', -1, {  }],
  ['t_umed', 9, '', 'ffffff', 16777215, { unsigned: true }],
  ['t_int', 3, '', '00000080', -2147483648, {  }],
  ['t_int', 3, '', 'ffffff7f', 2147483647, {  }],
  ['t_uint', 3, '', 'ffffffff', 4294967295, { unsigned: true }],
  ['t_big', 8, '', '0000000000000080', -9223372036854775808n, {  }],
  ['t_big', 8, '', 'ffffffffffffff7f', 9223372036854775807n, {  }],
  ['t_big', 8, '', '010000000000e0ff', -9007199254740991, {  }],
  ['t_big', 8, '', '000000000000e0ff', -9007199254740992n, {  }],
  ['t_big', 8, '', '0100000000002000', 9007199254740993n, {  }],
  ['t_ubig', 8, '', 'ffffffffffffffff', 18446744073709551615n, { unsigned: true }],
  ['t_ubig', 8, '', 'ffffffffffff1f00', 9007199254740991, { unsigned: true }],
  ['t_ubig', 8, '', '0000000000002000', 9007199254740992n, { unsigned: true }],
  ['t_set64', 254, 'f808', '0100000001000080', "m1,m33,m64", { setLabels: SET64 }],
  ['t_set64', 254, 'f808', '0000000000000000', "", { setLabels: SET64 }],
  ['t_set64', 254, 'f808', '0000000000000080', "m64", { setLabels: SET64 }],
  ['t_enum300', 254, 'f702', '2c01', "e300", { enumLabels: ENUM300 }],
  ['t_enum300', 254, 'f702', '0100', "e1", { enumLabels: ENUM300 }],
  ['t_enum300', 254, 'f702', '0001', "e256", { enumLabels: ENUM300 }],
  ['t_enum3', 254, 'f701', '03', "c", { enumLabels: ['a', 'b', 'c'] }],
  ['t_vc_u8', 15, '2800', '0a68c3a96c6c6ff09f9880', "héllo😀", { collation: 46 }],
  ['t_vc_u8', 15, '2800', '00', "", { collation: 46 }],
  ['t_vc_l1', 15, '2c01', '040080e981ff', "€éÿ", { collation: 8 }],
  ['t_ch_u8', 254, 'cefc', '02006162', "ab", { collation: 45 }],
  ['t_ch_u8', 254, 'cefc', '0500f09f988078', "😀x", { collation: 45 }],
  ['t_ch_l1', 254, 'fe0a', '03616263', "abc", { collation: 8 }],
  ['t_bin4', 254, 'fe04', '026162', hex('61620000'), { collation: 63 }],
  ['t_bin4', 254, 'fe04', '020061', hex('00610000'), { collation: 63 }],
  ['t_vbin', 15, '0800', '0300ff10', hex('00ff10'), { collation: 63 }],
  ['t_txt', 252, '02', '090074c3ab7874f09f9880', "tëxt😀", { collation: 45 }],
  ['t_blb', 252, '02', '0400deadbeef', hex('deadbeef'), { collation: 63 }],
  ['t_mblb', 252, '03', '01000001', hex('01'), { collation: 63 }],
  ['t_ucs2', 15, '0a00', '06006100e920ac', "aé€", { collation: 35 }],
  ['t_u16', 15, '1400', '060061d83dde00', "a😀", { collation: 54 }],
  ['t_u16le', 15, '1400', '0661003dd800de', "a😀", { collation: 56 }],
  ['t_u32', 15, '1400', '08000000610001f600', "a😀", { collation: 60 }],
  ['t_cp1251', 15, '0500', '02c6e6', "Жж", { collation: 51 }],
  ['t_gbk', 15, '0a00', '04d6d0cec4', "中文", { collation: 28 }],
  ['t_sjis', 15, '0a00', '04835c955c', "ソ表", { collation: 13 }],
  ['t_geo', 255, '04', '19000000000000000101000000000000000000f03f0000000000000040', hex('000000000101000000000000000000f03f0000000000000040'), {  }],
  ['t_js', 252, '04', '080000007b2261223a20317d', "{\"a\": 1}", { collation: 46, isJson: true }],
  ['h_time3', 11, '', '0000000001', "-838:59:59.999", { meta: 3 }],
  ['h_time3', 11, '', '00b6bad215', "12:34:56.789", { meta: 3 }],
  ['h_time3', 11, '', '00b407a57f', "-00:00:00.001", { meta: 3 }],
  ['h_time3', 11, '', '00b407a580', "00:00:00.000", { meta: 3 }],
  ['h_time6', 11, '', '057e7bbcf7ff', "838:59:59.999999", { meta: 6 }],
  ['h_time6', 11, '', '02be5ff6033c', "-01:02:03.000004", { meta: 6 }],
  ['h_time1', 11, '', '01cce051', "-00:00:01.5", { meta: 1 }],
  ['h_dt6', 12, '', '04fcee3943bfffff', "9999-12-31 23:59:59.999999", { meta: 6 }],
  ['h_dt6', 12, '', '01027abe00155a00', "2024-02-29 13:14:15.123456", { meta: 6 }],
  ['h_dt6', 12, '', '0000000000000000', "0000-00-00 00:00:00.000000", { meta: 6 }],
  ['h_dt2', 12, '', '069df8937548', "2024-02-29 13:14:15.12", { meta: 2 }],
  ['h_dt5', 12, '', '7fb16c205fffff', "9999-12-31 23:59:59.99999", { meta: 5 }],
  ['h_ts4', 7, '', '7fffffff270f', "2038-01-19 03:14:07.9999", { meta: 4 }],
  ['h_ts4', 7, '', '65e071c01388', "2024-02-29 12:00:00.5000", { meta: 4 }],
  ['h_ts6', 7, '', '3a7b8372000007', "2001-02-03 04:05:06.000007", { meta: 6 }],
  ['o_time', 11, '', '590a80', "-838:59:59", {  }],
  ['o_time', 11, '', '40e201', "12:34:56", {  }],
  ['o_dt', 12, '', '7787d105f15a0000', "9999-12-31 23:59:59", {  }],
  ['o_dt', 12, '', '0000000000000000', "0000-00-00 00:00:00", {  }],
  ['o_ts', 7, '', 'ffffff7f', "2038-01-19 03:14:07", {  }],

];

/** The column a TABLE_MAP entry describes, with the schema facts a test supplies. */
function mapped(binlogType: number, metaHex: string, extra: Partial<ColumnDef>): ColumnDef {
  const { type, meta } = readColumnMeta(new ByteReader(hex(metaHex)), binlogType);
  return testColumn(type, { binlogType, meta, ...extra });
}

describe('decodeColumnValue on cells a real server wrote', () => {
  it.each(SERVER_CELLS)('%s %s %s %s → %s', (_table, binlogType, metaHex, cellHex, expected, extra) => {
    const col = mapped(binlogType, metaHex, extra);
    expect(decode(hex(cellHex), col)).toEqual(expected);
  });

  it.each(SERVER_CELLS)('the encoder writes the same bytes: %s %s %s %s', (_table, binlogType, metaHex, cellHex, expected, extra) => {
    const col = mapped(binlogType, metaHex, extra);
    expect(encodeColumnValue(expected, col).toString('hex')).toBe(cellHex);
  });
});

/** What one decode gives: the value, or the error's class, code and message; and where the reader stopped. */
function outcome(decodeOne: (r: ByteReader) => ColumnValue, bytes: Buffer): { value?: ColumnValue; error?: string; pos: number } {
  const r = new ByteReader(bytes);
  try {
    return { value: decodeOne(r), pos: r.pos };
  } catch (e) {
    const code = e instanceof BinlogError ? e.code : '';
    return { error: `${(e as Error).constructor.name} ${code} ${(e as Error).message}`, pos: r.pos };
  }
}

describe('the row loop decodes each column as decodeColumnValue does (decodeCell by its cellOps)', () => {
  const byOp = (col: ColumnDef) => (r: ByteReader) => decodeCell(r, col, cellOps([col])[0]!);
  const byType = (col: ColumnDef) => (r: ByteReader) => decodeColumnValue(r, col);

  it.each(SERVER_CELLS)('%s %s %s %s', (_table, binlogType, metaHex, cellHex, _expected, extra) => {
    const col = mapped(binlogType, metaHex, extra);
    expect(outcome(byOp(col), hex(cellHex))).toEqual(outcome(byType(col), hex(cellHex)));
  });

  it('gives the same value, error and position on any bytes, for every column of the server cells', () => {
    const cols = SERVER_CELLS.map(([, binlogType, metaHex, , , extra]) => mapped(binlogType, metaHex, extra));
    fc.assert(
      fc.property(fc.constantFrom(...cols), fc.uint8Array({ maxLength: 40 }), (col, bytes) => {
        const b = Buffer.from(bytes);
        expect(outcome(byOp(col), b)).toEqual(outcome(byType(col), b));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('documented encodings', () => {
  const dec14_4 = testColumn(ColumnType.NEWDECIMAL, { meta: 14 * 256 + 4 });

  it('DECIMAL(14,4) as strings/decimal.cc documents it', () => {
    // decimal2bin's comment: 1234567890.1234 → 81 0D FB 38 D2 04 D2, and its negative → 7E F2 04 C7 2D FB 2D.
    expect(decode(hex('810dfb38d204d2'), dec14_4)).toBe('1234567890.1234');
    expect(decode(hex('7ef204c72dfb2d'), dec14_4)).toBe('-1234567890.1234');
  });

  it('a negative zero prints as bin2decimal leaves it: signed with a fraction, plain without', () => {
    expect(decode(hex('7fffffffffffff'), dec14_4)).toBe('-0.0000');
    expect(decode(hex('7fffff'), testColumn(ColumnType.NEWDECIMAL, { meta: 5 * 256 }))).toBe('0');
  });

  it('VECTOR cells as MySQL 9.0.1 wrote them (rust_mysql_common vector.binlog)', () => {
    const col = testColumn(ColumnType.VECTOR, { meta: 4 });
    const v = decode(hex('0c000000cdcc8c3fcdcc0c4033335340'), col) as Buffer;
    expect([v.readFloatLE(0), v.readFloatLE(4), v.readFloatLE(8)]).toEqual([Math.fround(1.1), Math.fround(2.2), Math.fround(3.3)]);
  });

  it('FLOAT and DOUBLE as stored', () => {
    expect(decode(hex('cdcccc3d'), testColumn(ColumnType.FLOAT, { meta: 4 }))).toBe(Math.fround(0.1));
    expect(decode(hex('9a9999999999b93f'), testColumn(ColumnType.DOUBLE, { meta: 8 }))).toBe(0.1);
  });

  it('MySQL JSON through the binary JSON decoder; an empty value is JSON null', () => {
    const col = testColumn(ColumnType.JSON, { meta: 4 });
    const doc = { a: [1, 'x', null, true], big: 18446744073709551615n, d: new JsonDecimal('1.50') };
    const v = roundTrip(new JsonValue(doc), col);
    expect(v).toBeInstanceOf(JsonValue);
    expect((v as JsonValue).node).toEqual(doc);
    expect(decode(hex('00000000'), col)).toEqual(new JsonValue(null));
  });

  it('GEOMETRY keeps SRID + WKB as stored', () => {
    const wkb = hex('00000000010100000000000000000000f03f0000000000000040');
    expect(decode(encodeColumnValue(wkb, testColumn(ColumnType.GEOMETRY, { meta: 4 })), testColumn(ColumnType.GEOMETRY, { meta: 4 }))).toEqual(wkb);
  });

  it('the NULL type reads no bytes', () => {
    expect(decode(Buffer.alloc(0), testColumn(ColumnType.NULL))).toBeNull();
  });
});

describe('values outlive the chunk', () => {
  it.each([
    ['BLOB', testColumn(ColumnType.BLOB, { meta: 2, collation: 63 })],
    ['VARBINARY', testColumn(ColumnType.VARCHAR, { meta: 10, collation: 63 })],
    ['GEOMETRY', testColumn(ColumnType.GEOMETRY, { meta: 4 })],
    ['VECTOR', testColumn(ColumnType.VECTOR, { meta: 4 })],
  ])('%s is a copy', (_name, col) => {
    const chunk = encodeColumnValue(hex('0000803f'), col);
    const v = decode(chunk, col) as Buffer;
    chunk.fill(0xee);
    expect(v.toString('hex')).toBe('0000803f');
  });
});

describe('character data follows the collation', () => {
  const vc = (collation: number | null): ColumnDef => testColumn(ColumnType.VARCHAR, { meta: 40, collation });

  it('keeps bytes when the charset is unknown, binary, unlisted or has no decoder', () => {
    const cell = hex('03616263');
    for (const c of [null, 63, 2000, 32 /* armscii8 */]) expect(decode(cell, vc(c))).toEqual(hex('616263'));
  });

  it('decodes latin1 as Windows-1252, as MySQL does', () => {
    expect(decode(hex('0580819fe9ff'), vc(8))).toBe('€\u0081Ÿéÿ');
  });

  it('BLOB with a text charset is TEXT; MariaDB JSON (LONGTEXT) stays a string', () => {
    expect(decode(hex('0500f09f988021'), testColumn(ColumnType.BLOB, { meta: 2, collation: 255 }))).toBe('😀!');
    expect(decode(hex('020000005b5d'), testColumn(ColumnType.BLOB, { meta: 4, collation: 46, isJson: true }))).toBe('[]');
  });

  it('picks a 2-byte length prefix when the maximum byte length exceeds 255', () => {
    expect(decode(hex('0300616263'), testColumn(ColumnType.VARCHAR, { meta: 256, collation: 45 }))).toBe('abc');
    expect(decode(hex('03616263'), testColumn(ColumnType.STRING, { meta: 255, collation: 45 }))).toBe('abc');
  });
});

describe('round trips', () => {
  it('DECIMAL of any precision and scale', () => {
    const arb = fc
      .integer({ min: 1, max: 65 })
      .chain((precision) => fc.tuple(fc.constant(precision), fc.integer({ min: 0, max: Math.min(30, precision) })))
      .chain(([precision, scale]) =>
        fc.tuple(
          fc.constant(precision),
          fc.constant(scale),
          fc.boolean(),
          fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: precision - scale }),
          fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: scale, maxLength: scale }),
        ),
      );
    fc.assert(
      fc.property(arb, ([precision, scale, negative, intDigits, fracDigits]) => {
        const int = intDigits.replace(/^0+/, '') || '0';
        const zero = /^0*$/.test(intDigits + fracDigits);
        // bin2decimal drops the sign of a zero without fraction digits.
        const sign = negative && !(zero && scale === 0) ? '-' : '';
        const text = sign + int + (scale > 0 ? '.' + fracDigits : '');
        const col = testColumn(ColumnType.NEWDECIMAL, { meta: precision * 256 + scale });
        expect(roundTrip(text, col)).toBe(text);
      }),
      { numRuns: 2000 },
    );
  });

  const two = (n: number): string => String(n).padStart(2, '0');
  const frac = (digits: string): string => (digits === '' ? '' : '.' + digits);
  const fspDigits = (fsp: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: fsp, maxLength: fsp });

  it('TIME2 with fsp 0–6, negative times, up to 838 hours', () => {
    const arb = fc.integer({ min: 0, max: 6 }).chain((fsp) =>
      fc.tuple(fc.constant(fsp), fc.boolean(), fc.integer({ min: 0, max: 838 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fspDigits(fsp)),
    );
    fc.assert(
      fc.property(arb, ([fsp, negative, h, m, s, digits]) => {
        const zero = h === 0 && m === 0 && s === 0 && /^0*$/.test(digits);
        const text = (negative && !zero ? '-' : '') + two(h) + ':' + two(m) + ':' + two(s) + frac(digits);
        expect(roundTrip(text, testColumn(ColumnType.TIME2, { meta: fsp }))).toBe(text);
      }),
      { numRuns: 2000 },
    );
    for (let fsp = 0; fsp <= 6; fsp++) {
      const col = testColumn(ColumnType.TIME2, { meta: fsp });
      for (const t of ['838:59:59', '-838:59:59', '-00:00:01', '00:00:00']) expect(roundTrip(t + frac('0'.repeat(fsp)), col)).toBe(t + frac('0'.repeat(fsp)));
    }
  });

  const datetime = (fsp: number, minYear = 0): fc.Arbitrary<string> =>
    fc
      .tuple(
        fc.integer({ min: minYear, max: 9999 }),
        fc.integer({ min: minYear > 0 ? 1 : 0, max: 12 }),
        fc.integer({ min: minYear > 0 ? 1 : 0, max: minYear > 0 ? 28 : 31 }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: 0, max: 59 }),
        fspDigits(fsp),
      )
      .map(([y, mo, d, h, mi, s, digits]) => `${String(y).padStart(4, '0')}-${two(mo)}-${two(d)} ${two(h)}:${two(mi)}:${two(s)}${frac(digits)}`);

  it('DATETIME2 with fsp 0–6, zero dates included', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 }).chain((fsp) => fc.tuple(fc.constant(fsp), datetime(fsp))),
        ([fsp, text]) => {
          expect(roundTrip(text, testColumn(ColumnType.DATETIME2, { meta: fsp }))).toBe(text);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('TIMESTAMP2 with fsp 0–6 as UTC text; 0 is the zero timestamp', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 1, max: 0xffffffff }), fc.integer({ min: 0, max: 999999 }), (fsp, seconds, usec) => {
        const digits = String(usec).padStart(6, '0').slice(0, fsp);
        const text = new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ') + frac(digits);
        const col = testColumn(ColumnType.TIMESTAMP2, { meta: fsp });
        expect(decode(encodeColumnValue(text, col), col)).toBe(text);
      }),
      { numRuns: 2000 },
    );
    expect(decode(hex('00000000000000'), testColumn(ColumnType.TIMESTAMP2, { meta: 6 }))).toBe('0000-00-00 00:00:00.000000');
    // 0 seconds with a fraction is MariaDB's 1970-01-01 00:00:00.5 UTC, not the zero timestamp (it printed as one).
    expect(decode(hex('0000000032'), testColumn(ColumnType.TIMESTAMP2, { meta: 1 }))).toBe('1970-01-01 00:00:00.5');
    expect(decode(hex('00000000000001'), testColumn(ColumnType.TIMESTAMP2, { meta: 6 }))).toBe('1970-01-01 00:00:00.000001');
    expect(decode(hex('000000002706'), testColumn(ColumnType.TIMESTAMP2, { meta: 3 }))).toBe('1970-01-01 00:00:00.999');
    expect(roundTrip('1970-01-01 00:00:00.000001', testColumn(ColumnType.TIMESTAMP, { meta: 6 }))).toBe('1970-01-01 00:00:00.000001');
  });

  it('MariaDB hires TIME/DATETIME/TIMESTAMP when a schema supplies fsp', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }).chain((fsp) =>
          fc.tuple(fc.constant(fsp), fc.boolean(), fc.integer({ min: 0, max: 838 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fspDigits(fsp), datetime(fsp), datetime(fsp, 1971)),
        ),
        ([fsp, negative, h, m, s, digits, dt, ts]) => {
          const zero = h === 0 && m === 0 && s === 0 && /^0*$/.test(digits);
          const time = (negative && !zero ? '-' : '') + two(h) + ':' + two(m) + ':' + two(s) + frac(digits);
          expect(roundTrip(time, testColumn(ColumnType.TIME, { meta: fsp }))).toBe(time);
          expect(roundTrip(dt, testColumn(ColumnType.DATETIME, { meta: fsp }))).toBe(dt);
          if (ts < '2106') expect(roundTrip(ts, testColumn(ColumnType.TIMESTAMP, { meta: fsp }))).toBe(ts);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('old TIME, DATETIME, TIMESTAMP and DATE', () => {
    expect(roundTrip('-838:59:59', testColumn(ColumnType.TIME))).toBe('-838:59:59');
    expect(roundTrip('0000-00-00 00:00:00', testColumn(ColumnType.DATETIME))).toBe('0000-00-00 00:00:00');
    expect(roundTrip('2106-02-07 06:28:15', testColumn(ColumnType.TIMESTAMP))).toBe('2106-02-07 06:28:15');
    expect(roundTrip('0000-00-00', testColumn(ColumnType.DATE))).toBe('0000-00-00');
  });

  const INT_WIDTHS = [
    [ColumnType.TINY, 8],
    [ColumnType.SHORT, 16],
    [ColumnType.INT24, 24],
    [ColumnType.LONG, 32],
    [ColumnType.LONGLONG, 64],
  ] as const;

  it.each(INT_WIDTHS)('integer type %s at its extremes, signed and unsigned', (type, bits) => {
    const b = BigInt(bits);
    const exact = (v: bigint): number | bigint => (v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v);
    const signed = testColumn(type);
    const unsigned = testColumn(type, { unsigned: true });
    for (const v of [-(1n << (b - 1n)), (1n << (b - 1n)) - 1n, -1n, 0n, 1n]) expect(roundTrip(exact(v), signed)).toBe(exact(v));
    for (const v of [0n, (1n << b) - 1n, 1n << (b - 1n)]) expect(roundTrip(exact(v), unsigned)).toBe(exact(v));
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << (b - 1n)), max: (1n << (b - 1n)) - 1n }), fc.bigInt({ min: 0n, max: (1n << b) - 1n }), (s, u) => {
        expect(roundTrip(exact(s), signed)).toBe(exact(s));
        expect(roundTrip(exact(u), unsigned)).toBe(exact(u));
      }),
    );
  });

  it('LONGLONG switches to bigint exactly beyond ±(2^53−1)', () => {
    const col = testColumn(ColumnType.LONGLONG);
    expect(roundTrip(9007199254740991, col)).toBe(9007199254740991);
    expect(roundTrip(-9007199254740991, col)).toBe(-9007199254740991);
    expect(roundTrip(9007199254740992n, col)).toBe(9007199254740992n);
    expect(roundTrip(-9007199254740992n, col)).toBe(-9007199254740992n);
    expect(roundTrip(18446744073709551615n, testColumn(ColumnType.LONGLONG, { unsigned: true }))).toBe(18446744073709551615n);
  });

  it('BIT(1–64)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }).chain((bits) => fc.tuple(fc.constant(bits), fc.bigInt({ min: 0n, max: (1n << BigInt(bits)) - 1n }))),
        ([bits, v]) => {
          const value = v <= 9007199254740991n ? Number(v) : v;
          expect(roundTrip(value, testColumn(ColumnType.BIT, { meta: bits }))).toBe(value);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('SET with 64 members, by label and by number', () => {
    const labelled = testColumn(ColumnType.SET, { meta: 8, setLabels: SET64 });
    const bare = testColumn(ColumnType.SET, { meta: 8 });
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (bits) => {
        const labels = SET64.filter((_, i) => (bits >> BigInt(i)) & 1n).join(',');
        expect(roundTrip(labels, labelled)).toBe(labels);
        const n = bits <= 9007199254740991n ? Number(bits) : bits;
        expect(roundTrip(n, bare)).toBe(n);
      }),
    );
  });

  it('ENUM over 255 labels (2 bytes), 0 as the empty error value', () => {
    const col = testColumn(ColumnType.ENUM, { meta: 2, enumLabels: ENUM300 });
    fc.assert(
      fc.property(fc.constantFrom(...ENUM300), (label) => {
        expect(roundTrip(label, col)).toBe(label);
      }),
    );
    expect(roundTrip('', col)).toBe('');
    expect(roundTrip(300, testColumn(ColumnType.ENUM, { meta: 2 }))).toBe(300);
  });

  it('utf8mb4 text with 4-byte characters, in every string type', () => {
    const codePoint = fc.integer({ min: 0, max: 0x10ffff }).filter((cp) => cp < 0xd800 || cp > 0xdfff);
    const text = fc.array(codePoint, { maxLength: 40 }).map((cps) => String.fromCodePoint(...cps));
    const cols = [
      testColumn(ColumnType.VARCHAR, { meta: 400, collation: 255 }),
      testColumn(ColumnType.VARCHAR, { meta: 200, collation: 45 }),
      testColumn(ColumnType.STRING, { meta: 1020, collation: 46 }),
      testColumn(ColumnType.BLOB, { meta: 2, collation: 224 }),
    ];
    fc.assert(
      fc.property(text, (s) => {
        for (const col of cols) expect(roundTrip(s, col)).toBe(s);
      }),
    );
  });

  it('latin1 (Windows-1252) keeps every byte', () => {
    const col = testColumn(ColumnType.VARCHAR, { meta: 100, collation: 8 });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const cell = Buffer.concat([Buffer.from([bytes.length]), Buffer.from(bytes)]);
        const s = decode(cell, col) as string;
        expect(encodeColumnValue(s, col)).toEqual(cell);
      }),
    );
  });

  it('ucs2, utf16, utf16le and utf32 with characters beyond the BMP where allowed', () => {
    expect(roundTrip('aé€', testColumn(ColumnType.VARCHAR, { meta: 30, collation: 35 }))).toBe('aé€');
    for (const c of [54, 56, 60]) expect(roundTrip('a😀z', testColumn(ColumnType.VARCHAR, { meta: 40, collation: c }))).toBe('a😀z');
  });
});

describe('errors', () => {
  const err = (f: () => unknown): BinlogError => {
    try {
      f();
    } catch (e) {
      if (e instanceof BinlogError) return e;
      throw e;
    }
    throw new Error('no error');
  };
  const named = (type: number, overrides: Partial<ColumnDef>): ColumnDef => testColumn(type, { name: 'amount', ...overrides });

  it('a read past the end is a ShortReadError', () => {
    expect(() => decode(hex('0a6162'), testColumn(ColumnType.VARCHAR, { meta: 20, collation: 45 }))).toThrow(ShortReadError);
    expect(() => decode(hex('810dfb'), testColumn(ColumnType.NEWDECIMAL, { meta: 14 * 256 + 4 }))).toThrow(ShortReadError);
    expect(() => decode(hex('01020304'), testColumn(ColumnType.LONGLONG))).toThrow(ShortReadError);
  });

  it('impossible values name the column and its type', () => {
    expect(err(() => decode(hex('80'), named(ColumnType.NEWDECIMAL, { meta: 70 * 256 + 2 }))).message).toBe('column amount (DECIMAL(70,2)): impossible precision 70 and scale 2');
    const e = err(() => decode(hex('8a'), named(ColumnType.NEWDECIMAL, { meta: 1 * 256 })));
    expect([e.code, e.message, e.details.column]).toEqual([BinlogErrorCode.CorruptEvent, 'column amount (DECIMAL(1,0)): digit group 10 exceeds 1 digits', 'amount']);
    expect(err(() => decode(hex('ffffffff'), named(ColumnType.NEWDECIMAL, { meta: 9 * 256 }))).message).toMatchInlineSnapshot(`"column amount (DECIMAL(9,0)): digit group 2147483647 exceeds 9 digits"`);
    expect(err(() => decode(hex('04'), named(ColumnType.ENUM, { meta: 1, enumLabels: ['a', 'b', 'c'] }))).message).toBe('column amount (ENUM(1)): index 4 beyond its 3 labels');
    expect(err(() => decode(hex('08'), named(ColumnType.SET, { meta: 1, setLabels: ['a', 'b', 'c'] }))).message).toBe('column amount (SET(1)): member bit 3 set but the column has 3 members');
    expect(err(() => decode(hex('00'), named(ColumnType.BLOB, { meta: 5 }))).message).toBe('column amount (BLOB(5)): length prefix of 5 bytes (expected 1 to 4)');
    expect(err(() => decode(hex('03000000010203'), named(ColumnType.VECTOR, { meta: 4 }))).message).toBe('column amount (VECTOR(4)): 3 bytes is not a whole number of float32 elements');
    expect(err(() => decode(hex('800000'), named(ColumnType.TIME2, { meta: 7 }))).message).toBe('column amount (TIME2(7)): fractional-second precision 7 exceeds 6');
    expect(err(() => decode(hex('8000000000ff'), named(ColumnType.DATETIME2, { meta: 2 }))).message).toBe('column amount (DATETIME2(2)): fraction byte 255 exceeds 99 hundredths');
    expect(err(() => decode(hex('80003f'), named(ColumnType.TIME2, { meta: 0 }))).code).toBe(BinlogErrorCode.CorruptEvent);
    expect(err(() => decode(hex('00'), named(ColumnType.BIT, { meta: 0 }))).message).toBe('column amount (BIT): impossible width of 0 bits');
  });

  it('a type without a decoder is Unsupported', () => {
    const e = err(() => decode(hex('00'), named(ColumnType.DECIMAL, {})));
    expect([e.code, e.message]).toEqual([BinlogErrorCode.Unsupported, 'column amount (DECIMAL): no decoder for type 0']);
  });

  it('describes column types for messages', () => {
    expect(describeColumnType(testColumn(ColumnType.LONGLONG, { unsigned: true }))).toBe('LONGLONG UNSIGNED');
    expect(describeColumnType(testColumn(ColumnType.VARCHAR, { meta: 1020 }))).toBe('VARCHAR(1020)');
  });
});
