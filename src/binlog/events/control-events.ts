/**
 * Small fixed-layout events (libs/mysql/binlog/event/control_events.cpp, statement_events.cpp;
 * MariaDB sql/log_event.cc). Each function reads the body after the common header; `r.end`
 * excludes the checksum.
 */
import type { ByteReader } from '../byte-reader.js';
import { EventType } from '../event-types.js';
import type { EventHeader } from '../header.js';
import type {
  BinlogCheckpointEvent,
  HeartbeatEvent,
  IncidentEvent,
  IntvarEvent,
  RandEvent,
  RotateEvent,
  RowsQueryEvent,
  UserVarEvent,
  XaPrepareEvent,
  XidEvent,
} from '../event.js';

export function decodeXid(r: ByteReader, header: EventHeader): XidEvent {
  return { kind: 'xid', header, xid: r.u64le() };
}

/** ROTATE: an 8-byte position (post-header) then the next file's name. */
export function decodeRotate(r: ByteReader, header: EventHeader, postHeader: number): RotateEvent {
  const position = postHeader >= 8 ? r.u64le() : 4n;
  return { kind: 'rotate', header, position, nextFile: r.latin1(r.remaining) };
}

export function decodeIntvar(r: ByteReader, header: EventHeader): IntvarEvent {
  return { kind: 'intvar', header, subtype: r.u8(), value: r.u64le() };
}

export function decodeRand(r: ByteReader, header: EventHeader): RandEvent {
  return { kind: 'rand', header, seed1: r.u64le(), seed2: r.u64le() };
}

export function decodeUserVar(r: ByteReader, header: EventHeader): UserVarEvent {
  const name = r.utf8(r.u32le());
  const isNull = r.u8() !== 0;
  if (isNull) return { kind: 'user-var', header, name, isNull, valueType: 0, collation: 0, value: Buffer.alloc(0), flags: 0 };
  const valueType = r.u8();
  const collation = r.u32le();
  // Copied: the value outlives the chunk the event was read from.
  const value = r.copy(r.u32le());
  const flags = r.remaining > 0 ? r.u8() : 0;
  return { kind: 'user-var', header, name, isNull, valueType, collation, value, flags };
}

export function decodeIncident(r: ByteReader, header: EventHeader): IncidentEvent {
  const incident = r.u16le();
  const message = r.remaining > 0 ? r.utf8(r.u8()) : '';
  return { kind: 'incident', header, incident, message };
}

/**
 * HEARTBEAT: the log file name is the whole body. HEARTBEAT_V2 (MySQL 8.0.26+) is a list of
 * (packed type, packed length, value) fields ending with type 0: 1 = log file name, 2 = position
 * (libs/mysql/binlog/event/codecs/binary.cpp, Heartbeat_event_v2).
 */
export function decodeHeartbeat(r: ByteReader, header: EventHeader): HeartbeatEvent {
  if (header.typeCode !== EventType.HEARTBEAT_V2) return { kind: 'heartbeat', header, logFile: r.latin1(r.remaining) };
  let logFile = '';
  while (r.remaining > 0) {
    const field = r.lenenc();
    if (field === 0) break;
    const length = r.lenenc();
    if (field === 1) logFile = r.latin1(length);
    else r.skip(length);
  }
  return { kind: 'heartbeat', header, logFile };
}

export function decodeXaPrepare(r: ByteReader, header: EventHeader): XaPrepareEvent {
  const onePhase = r.u8() !== 0;
  const formatId = r.i32le();
  const gtridLength = r.u32le();
  const bqualLength = r.u32le();
  const gtrid = r.copy(gtridLength);
  const bqual = r.copy(bqualLength);
  return { kind: 'xa-prepare', header, onePhase, formatId, gtrid, bqual };
}

/** ROWS_QUERY: a length byte (truncated to 255, so ignored) then the statement to the end. */
export function decodeRowsQuery(r: ByteReader, header: EventHeader): RowsQueryEvent {
  r.skip(1);
  return { kind: 'rows-query', header, sql: r.utf8(r.remaining) };
}

export function decodeBinlogCheckpoint(r: ByteReader, header: EventHeader): BinlogCheckpointEvent {
  const length = r.u32le();
  return { kind: 'binlog-checkpoint', header, file: r.latin1(length) };
}
