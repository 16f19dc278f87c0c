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

/**
 * PREVIOUS_GTIDS: the GTID set of all earlier files. MySQL 8.3+ may use the tagged format: the
 * format code (1) in both the high and the low byte of the 8-byte count, the count in bytes 1–6
 * (sql/rpl_gtid_set.cc encode_nsids_format; checked against binlog_transaction_with_GTID_TAG.000001,
 * whose count is 01 02 00 00 00 00 00 01 = 2 source ids).
 */
export function decodePreviousGtids(r: ByteReader, header: EventHeader): PreviousGtidsEvent {
  const raw = r.u64le();
  const tagged = raw >> 56n === GTID_FORMAT_TAGGED;
  const count = tagged ? (raw & 0x00ff_ffff_ffff_ff00n) >> 8n : raw;
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

/** A tag in the tagged previous-GTIDs format: its length as a serialization varlen integer, then ASCII (libs/mysql/gtid/tag.cpp). */
function readTag(r: ByteReader): string {
  return r.latin1(readVarlenNumber(r));
}

/**
 * An unsigned integer of the MySQL serialization library (libs/mysql/serialization/
 * variable_length_integers.h): the number of trailing one bits of the first byte, plus one, is the
 * byte count (1–8, little-endian, value shifted left by that count); a first byte of 0xff is followed
 * by the 8-byte value.
 */
function readVarlen(r: ByteReader): bigint {
  const first = r.u8();
  if (first === 0xff) return r.u64le();
  let n = 1;
  while ((first >> (n - 1)) & 1) n++;
  let v = BigInt(first);
  for (let i = 1; i < n; i++) v |= BigInt(r.u8()) << BigInt(8 * i);
  return v >> BigInt(n);
}

/** A varlen integer that must fit a number (lengths, field ids, bytes). */
function readVarlenNumber(r: ByteReader): number {
  const v = readVarlen(r);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new BinlogError(BinlogErrorCode.CorruptEvent, `serialized integer ${v} is out of range`);
  return Number(v);
}

/** A signed varlen integer: zig-zag, the low bit is the sign. */
function readVarlenSigned(r: ByteReader): bigint {
  const v = readVarlen(r);
  return v & 1n ? -(v >> 1n) - 1n : v >> 1n;
}

// Field ids of GTID_TAGGED_LOG_EVENT (libs/mysql/binlog/event/control_events.h, Gtid_event::define_fields).
const TaggedField = {
  FLAGS: 0,
  SID: 1,
  GNO: 2,
  TAG: 3,
  LAST_COMMITTED: 4,
  SEQUENCE_NUMBER: 5,
  IMMEDIATE_COMMIT_TIMESTAMP: 6,
  ORIGINAL_COMMIT_TIMESTAMP: 7,
  TRANSACTION_LENGTH: 8,
  IMMEDIATE_SERVER_VERSION: 9,
  ORIGINAL_SERVER_VERSION: 10,
  COMMIT_GROUP_TICKET: 11,
} as const;

/**
 * GTID_TAGGED_LOG_EVENT (type 42, MySQL 8.3+): a message of the MySQL serialization library, version
 * byte 2 (libs/mysql/serialization/): varlen payload size (counting from the version byte),
 * varlen last non-ignorable field id, then (varlen field id, value) pairs. Integers are varlen
 * (signed ones zig-zag), the UUID is 16 varlen bytes, the tag a varlen length and ASCII. Absent
 * fields keep their defaults; original values default to the immediate ones.
 */
export function decodeMysqlGtidTagged(r: ByteReader, header: EventHeader): MysqlGtidEvent {
  const start = r.pos;
  const version = r.u8();
  if (version !== 2) throw new BinlogError(BinlogErrorCode.Unsupported, `tagged GTID event in serialization format version ${version} (only 2 is known)`);
  const payloadSize = readVarlenNumber(r);
  const lastNonIgnorable = readVarlenNumber(r);
  const end = start + payloadSize;
  if (payloadSize < r.pos - start || end > r.end) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `tagged GTID event claims a payload of ${payloadSize} bytes in ${r.end - start}`);
  }
  let commitFlag = false;
  let uuid = '00000000-0000-0000-0000-000000000000';
  let gno = 0n;
  let tag: string | null = null;
  let lastCommitted: bigint | null = null;
  let sequenceNumber: bigint | null = null;
  let immediateCommitTimestamp: bigint | null = null;
  let originalCommitTimestamp: bigint | null = null;
  let transactionLength: bigint | null = null;
  let immediateServerVersion: number | null = null;
  let originalServerVersion: number | null = null;
  while (r.pos < end) {
    const field = readVarlenNumber(r);
    switch (field) {
      case TaggedField.FLAGS:
        commitFlag = (readVarlenNumber(r) & 1) !== 0;
        break;
      case TaggedField.SID: {
        let s = '';
        for (let i = 0; i < 16; i++) {
          if (i === 4 || i === 6 || i === 8 || i === 10) s += '-';
          const b = readVarlenNumber(r);
          if (b > 255) throw new BinlogError(BinlogErrorCode.CorruptEvent, `tagged GTID event: UUID byte ${i} is ${b}`);
          s += HEX[b]!;
        }
        uuid = s;
        break;
      }
      case TaggedField.GNO:
        gno = readVarlenSigned(r);
        break;
      case TaggedField.TAG:
        tag = readTag(r);
        break;
      case TaggedField.LAST_COMMITTED:
        lastCommitted = readVarlenSigned(r);
        break;
      case TaggedField.SEQUENCE_NUMBER:
        sequenceNumber = readVarlenSigned(r);
        break;
      case TaggedField.IMMEDIATE_COMMIT_TIMESTAMP:
        immediateCommitTimestamp = readVarlen(r);
        break;
      case TaggedField.ORIGINAL_COMMIT_TIMESTAMP:
        originalCommitTimestamp = readVarlen(r);
        break;
      case TaggedField.TRANSACTION_LENGTH:
        transactionLength = readVarlen(r);
        break;
      case TaggedField.IMMEDIATE_SERVER_VERSION:
        immediateServerVersion = readVarlenNumber(r);
        break;
      case TaggedField.ORIGINAL_SERVER_VERSION:
        originalServerVersion = readVarlenNumber(r);
        break;
      case TaggedField.COMMIT_GROUP_TICKET:
        readVarlen(r);
        break;
      default:
        // An unknown field cannot be skipped (its encoding is not self-describing): fatal when the
        // writer marked it non-ignorable, else the rest of the message is ignored.
        if (field <= lastNonIgnorable) throw new BinlogError(BinlogErrorCode.Unsupported, `tagged GTID event carries unknown non-ignorable field ${field}`);
        r.pos = end;
    }
  }
  if (r.pos !== end) throw new BinlogError(BinlogErrorCode.CorruptEvent, `tagged GTID event: fields overrun the ${payloadSize}-byte payload`);
  r.pos = r.end;
  return {
    kind: 'gtid',
    header,
    anonymous: false,
    uuid,
    tag: tag === '' ? null : tag,
    gno,
    commitFlag,
    lastCommitted,
    sequenceNumber,
    immediateCommitTimestamp,
    originalCommitTimestamp: originalCommitTimestamp ?? immediateCommitTimestamp,
    transactionLength,
    immediateServerVersion,
    originalServerVersion: originalServerVersion ?? immediateServerVersion,
  };
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
  }
  // Both may be present: the xid follows the commit id (MariaDB log_event.cc Gtid_log_event).
  if (flags & (FL_PREPARED_XA | FL_COMPLETED_XA)) {
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
