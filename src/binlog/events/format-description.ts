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
  const flavor: Flavor = /mariadb/i.test(serverVersion) ? 'mariadb' : 'mysql';
  const hasAlg = fdeHasChecksumAlgorithm(serverVersion, flavor);
  const fixed = 2 + SERVER_VERSION_LENGTH + 4 + 1;
  const tableLength = bodyLength - fixed - (hasAlg ? 5 : 0);
  if (tableLength < 0) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `format description event too short: ${bodyLength} bytes`);
  }
  const postHeaderLengths = Uint8Array.from(r.bytes(tableLength));
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

/** The post-header length the FDE declares for an event type, or `fallback` when the table is shorter. */
export function postHeaderLength(fde: FormatDescription, typeCode: number, fallback: number): number {
  const v = fde.postHeaderLengths[typeCode - 1];
  return v === undefined ? fallback : v;
}
