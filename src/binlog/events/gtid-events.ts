/**
 * GTID events of both flavours. MySQL: GTID_LOG_EVENT / ANONYMOUS_GTID_LOG_EVENT and
 * PREVIOUS_GTIDS_LOG_EVENT (libs/mysql/binlog/event/control_events.cpp). MariaDB: GTID_EVENT,
 * GTID_LIST_EVENT (sql/log_event.cc Gtid_log_event, Gtid_list_log_event).
 */
import { BinlogError, BinlogErrorCode } from '../../errors.js';
import type { ByteReader } from '../byte-reader.js';
import type { EventHeader } from '../header.js';
import type { GtidInterval, GtidListEvent, MariadbGtid, MariadbGtidEvent, MysqlGtidEvent, PreviousGtidsEvent } from '../event.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** 16 bytes as the canonical 8-4-4-4-12 UUID text. */
export function uuidText(r: ByteReader): string {
  let s = '';
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
    s += HEX[r.u8()]!;
  }
  return s;
}

/** 7-byte little-endian integer (commit timestamps in microseconds). */
function u56le(r: ByteReader): bigint {
  const lo = BigInt(r.u32le());
  const hi = BigInt(r.u24le());
  return (hi << 32n) | lo;
}

const ENCODED_COMMIT_TIMESTAMP_LENGTH_BIT = 1n << 55n;
const ENCODED_SERVER_VERSION_BIT = 0x80000000;

/** GTID / ANONYMOUS_GTID (types 33/34): flags, SID, GNO, logical clock, then the 8.0 body fields when present. */
export function decodeMysqlGtid(r: ByteReader, header: EventHeader, postHeader: number, anonymous: boolean): MysqlGtidEvent {
  const start = r.pos;
  const commitFlag = (r.u8() & 1) !== 0;
  const uuid = uuidText(r);
  const gno = r.i64le();
  let lastCommitted: bigint | null = null;
  let sequenceNumber: bigint | null = null;
  if (postHeader >= 42 && r.remaining >= 17) {
    const ltType = r.u8();
    if (ltType === 2) {
      lastCommitted = r.i64le();
      sequenceNumber = r.i64le();
    }
  }
  r.pos = Math.min(start + postHeader, r.end);
  let immediateCommitTimestamp: bigint | null = null;
  let originalCommitTimestamp: bigint | null = null;
  let transactionLength: bigint | null = null;
  let immediateServerVersion: number | null = null;
  let originalServerVersion: number | null = null;
  if (r.remaining >= 7) {
    immediateCommitTimestamp = u56le(r);
    if (immediateCommitTimestamp & ENCODED_COMMIT_TIMESTAMP_LENGTH_BIT) {
      immediateCommitTimestamp &= ~ENCODED_COMMIT_TIMESTAMP_LENGTH_BIT;
      originalCommitTimestamp = u56le(r);
    } else {
      originalCommitTimestamp = immediateCommitTimestamp;
    }
    if (r.remaining >= 1) transactionLength = BigInt(r.lenenc());
    if (r.remaining >= 4) {
      let v = r.u32le();
      if (v & ENCODED_SERVER_VERSION_BIT) {
        v = (v & ~ENCODED_SERVER_VERSION_BIT) >>> 0;
        immediateServerVersion = v;
        originalServerVersion = r.u32le();
      } else {
        immediateServerVersion = v;
        originalServerVersion = v;
      }
    }
  }
  r.pos = r.end;
  return {
    kind: 'gtid',
    header,
    anonymous,
    uuid,
    tag: null,
    gno,
    commitFlag,
    lastCommitted,
    sequenceNumber,
    immediateCommitTimestamp,
    originalCommitTimestamp,
    transactionLength,
    immediateServerVersion,
    originalServerVersion,
  };
}

const GTID_FORMAT_TAGGED = 1n;

/** PREVIOUS_GTIDS: the GTID set of all earlier files. MySQL 8.3+ may use the tagged format (high byte of the count = 1). */
export function decodePreviousGtids(r: ByteReader, header: EventHeader): PreviousGtidsEvent {
  const raw = r.u64le();
  const tagged = raw >> 56n === GTID_FORMAT_TAGGED;
  const count = tagged ? raw & 0x00ff_ffff_ffff_ffffn : raw;
  if (count > BigInt(r.remaining)) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `previous-GTIDs event claims ${count} source ids in ${r.remaining} bytes`);
  }
  const sets: Array<{ uuid: string; tag: string | null; intervals: GtidInterval[] }> = [];
  for (let i = 0n; i < count; i++) {
    const uuid = uuidText(r);
    const tag = tagged ? readTag(r) : null;
    const n = r.u64le();
    if (n * 16n > BigInt(r.remaining)) {
      throw new BinlogError(BinlogErrorCode.CorruptEvent, `previous-GTIDs event claims ${n} intervals for ${uuid} in ${r.remaining} bytes`);
    }
    const intervals: GtidInterval[] = [];
    for (let j = 0n; j < n; j++) intervals.push({ start: r.i64le(), end: r.i64le() });
    sets.push({ uuid, tag: tag === '' ? null : tag, intervals });
  }
  return { kind: 'previous-gtids', header, sets };
}

/** A tag in the tagged previous-GTIDs format: a length byte (doubled, as MySQL's varlen encoding writes it) then ASCII. */
function readTag(r: ByteReader): string {
  const length = r.u8() >> 1;
  return r.latin1(length);
}

// MariaDB Gtid_log_event flags2.
const FL_STANDALONE = 1;
const FL_GROUP_COMMIT_ID = 2;
const FL_PREPARED_XA = 64;
const FL_COMPLETED_XA = 128;

/** MariaDB GTID_EVENT: opens a group (MariaDB writes no BEGIN); the server id comes from the header. */
export function decodeMariadbGtid(r: ByteReader, header: EventHeader): MariadbGtidEvent {
  const seqNo = r.u64le();
  const domainId = r.u32le();
  const flags = r.u8();
  let commitId: bigint | null = null;
  let xa: MariadbGtidEvent['xa'] = null;
  if (flags & FL_GROUP_COMMIT_ID) {
    commitId = r.u64le();
  } else if (flags & (FL_PREPARED_XA | FL_COMPLETED_XA)) {
    const formatId = r.i32le();
    const gtridLength = r.u8();
    const bqualLength = r.u8();
    xa = { formatId, gtrid: r.copy(gtridLength), bqual: r.copy(bqualLength) };
  }
  r.pos = r.end;
  return { kind: 'mariadb-gtid', header, gtid: { domainId, serverId: header.serverId, seqNo }, flags, standalone: (flags & FL_STANDALONE) !== 0, commitId, xa };
}

/** MariaDB GTID_LIST_EVENT: the binlog state at the start of the file (count in the low 28 bits). */
export function decodeGtidList(r: ByteReader, header: EventHeader): GtidListEvent {
  const word = r.u32le();
  const count = word & 0x0fffffff;
  const flags = word >>> 28;
  if (count * 16 > r.remaining) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `GTID list claims ${count} entries in ${r.remaining} bytes`);
  }
  const gtids: MariadbGtid[] = [];
  for (let i = 0; i < count; i++) gtids.push({ domainId: r.u32le(), serverId: r.u32le(), seqNo: r.u64le() });
  return { kind: 'gtid-list', header, gtids, flags };
}
