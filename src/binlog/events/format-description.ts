/**
 * FORMAT_DESCRIPTION_EVENT (libs/mysql/binlog/event/control_events.cpp; MariaDB sql/log_event.cc):
 * binlog version, server version, creation time, header length, the post-header length of every
 * event type, and — since MySQL 5.6.1 / MariaDB 5.3 — the checksum algorithm byte followed by 4
 * checksum bytes (present even when the algorithm is OFF).
 */
import { BinlogError, BinlogErrorCode } from '../../errors.js';
import type { ByteReader } from '../byte-reader.js';
import { ChecksumAlgorithm, type FormatDescription, type Flavor } from '../event.js';

const SERVER_VERSION_LENGTH = 50;
/** Event types of MySQL 5.5 (HEARTBEAT_LOG_EVENT = 27), the last version without binlog checksums. */
const MYSQL_55_EVENT_TYPES = 27;

/** Parses "8.0.32-log" or "10.11.19-MariaDB-log" into [major, minor, patch]. */
export function versionTriple(version: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
}

function atLeast(v: [number, number, number], min: [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) {
    if (v[i]! !== min[i]!) return v[i]! > min[i]!;
  }
  return true;
}

/** Whether a server of this version writes the checksum-algorithm byte (and 4 checksum bytes) in its FDE. */
export function fdeHasChecksumAlgorithm(serverVersion: string, flavor: Flavor): boolean {
  return atLeast(versionTriple(serverVersion), flavor === 'mariadb' ? [5, 3, 0] : [5, 6, 1]);
}

/** Decodes an FDE body; `r` spans the body including any checksum bytes. */
export function decodeFormatDescription(r: ByteReader): FormatDescription {
  const bodyLength = r.remaining;
  const binlogVersion = r.u16le();
  const rawVersion = r.latin1(SERVER_VERSION_LENGTH);
  const nul = rawVersion.indexOf('\0');
  const serverVersion = nul === -1 ? rawVersion : rawVersion.slice(0, nul);
  const createTimestamp = r.u32le();
  const headerLength = r.u8();
  if (binlogVersion !== 4) {
    throw new BinlogError(BinlogErrorCode.Unsupported, `binlog format version ${binlogVersion} (server ${serverVersion}) is not supported: only v4 (MySQL 5.0+, MariaDB) is`);
  }
  if (versionTriple(serverVersion)[0] < 5) {
    // Binlog v4 is written by MySQL 5.0+ and MariaDB only: anything else is a damaged version, which
    // would also hide the checksum (whether an FDE has one depends on the version).
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `format description event names server version ${JSON.stringify(serverVersion)}: binlog v4 comes from MySQL 5.0+ or MariaDB`);
  }
  const flavor: Flavor = /mariadb/i.test(serverVersion) ? 'mariadb' : 'mysql';
  const hasAlg = fdeHasChecksumAlgorithm(serverVersion, flavor);
  const fixed = 2 + SERVER_VERSION_LENGTH + 4 + 1;
  const tableLength = bodyLength - fixed - (hasAlg ? 5 : 0);
  if (tableLength < 0) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `format description event too short: ${bodyLength} bytes`);
  }
  if (!hasAlg && flavor === 'mysql' && tableLength > MYSQL_55_EVENT_TYPES) {
    // A MySQL server without checksums (before 5.6.1) knew at most 27 event types; a longer table
    // means a damaged version ("8.0.32" -> "5.0.32") that would hide this file's checksums.
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `format description event of MySQL ${serverVersion} lists ${tableLength} event types, more than the ${MYSQL_55_EVENT_TYPES} of any server before 5.6.1: its server version is damaged`);
  }
  const postHeaderLengths = Uint8Array.from(r.bytes(tableLength));
  const permutation = preGaTypePermutation(serverVersion, tableLength);
  if (permutation) {
    // Index the table by the permuted (current) type codes, as the server does.
    const wire = postHeaderLengths.slice();
    for (let t = 1; t < permutation.length; t++) postHeaderLengths[permutation[t]! - 1] = wire[t - 1]!;
  }
  let checksumAlgorithm: ChecksumAlgorithm = ChecksumAlgorithm.UNDEF;
  if (hasAlg) {
    const alg = r.u8();
    checksumAlgorithm = alg === 1 ? ChecksumAlgorithm.CRC32 : alg === 0 ? ChecksumAlgorithm.OFF : ChecksumAlgorithm.UNDEF;
    if (alg !== 0 && alg !== 1 && alg !== 255) {
      throw new BinlogError(BinlogErrorCode.CorruptEvent, `format description event names unknown checksum algorithm ${alg}`);
    }
  }
  return { binlogVersion, serverVersion, createTimestamp, headerLength, postHeaderLengths, checksumAlgorithm, flavor };
}

/**
 * MySQL 5.1/5.2 WL#2325 prototype trees ("5.1.1-a_drop5p3" … "5.2.2-a_drop6p13c") numbered the
 * events after FORMAT_DESCRIPTION differently: their 16–22 are today's TABLE_MAP, the three pre-GA
 * rows events, XID, BEGIN_LOAD_QUERY and EXECUTE_LOAD_QUERY (libs/mysql/binlog/event/
 * control_events.cpp, Format_description_event constructor; rust_mysql_common's
 * ver_5_1-wl2325_{r,s}.001 are such files). Returns wire code → current code, or null.
 */
export function preGaTypePermutation(serverVersion: string, typeCount: number): Uint8Array | null {
  if (typeCount !== 22 || !/^5\.(?:1\.[1-5]-a_drop5|1\.4-a_drop6|2\.[0-2]-a_drop6)/.test(serverVersion)) return null;
  return PRE_GA_PERMUTATION;
}

const PRE_GA_PERMUTATION = Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 19, 20, 21, 22, 16, 17, 18]);

/** The post-header length the FDE declares for an event type, or `fallback` when the table is shorter. */
export function postHeaderLength(fde: FormatDescription, typeCode: number, fallback: number): number {
  const v = fde.postHeaderLengths[typeCode - 1];
  return v === undefined ? fallback : v;
}
