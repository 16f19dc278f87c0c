/**
 * A test-only binlog WRITER: encodes events the way MySQL and MariaDB write them, so the decoder
 * can be tested on events a server rarely writes, on input split anywhere, and on bad input.
 *
 * It is built from the servers' own layouts, independently of the decoder in src/binlog (only the
 * code tables are shared):
 * - MySQL: libs/mysql/binlog/event/{control_events,statement_events,rows_event}.{h,cpp},
 *   libs/mysql/binlog/event/codecs/binary.cpp (TLV of TRANSACTION_PAYLOAD and HEARTBEAT_V2),
 *   libs/mysql/serialization/* (GTID_TAGGED_LOG_EVENT), sql/rpl_gtid_set.cc (Gtid_set::encode),
 *   sql/log_event.cc (Query, Table_map optional metadata, pack_row), sql/rpl_utility.cc (metadata sizes).
 * - MariaDB: sql/log_event.cc and sql/log_event_server.cc (Gtid_log_event, Gtid_list_log_event,
 *   Table_map_log_event::init_metadata_fields, binlog_buf_compress, Rows_log_event::write_compressed).
 * - zstd frames: RFC 8878 (a frame of RAW blocks needs no compressor).
 * Layout facts were checked against real server-written files (see binlog-writer.test.ts).
 */
import { crc32, deflateSync } from 'node:zlib';
import { EngineError } from '../../src/errors.js';
import { EventType } from '../../src/binlog/event-types.js';
import { ColumnType } from '../../src/binlog/column-types.js';

/** Stable code of a writer misuse (a test asked for something the writer cannot encode). */
export const WRITER_MISUSE = 'BINLOG_WRITER_MISUSE';

function misuse(message: string): EngineError {
  return new EngineError(WRITER_MISUSE, message);
}

// ---------------------------------------------------------------------------------------------
// Wire constants (binlog_event.h / log_event.h of both servers)

/** Common event header length of binlog v4. */
export const EVENT_HEADER_LEN = 19;
/** The magic that starts every binlog file. */
export const BINLOG_MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);

/** Event header flags (LOG_EVENT_*_F). */
export const EventFlag = {
  BINLOG_IN_USE: 0x1, // LOG_EVENT_BINLOG_IN_USE_F: set in the FDE while the file is open
  THREAD_SPECIFIC: 0x4, // LOG_EVENT_THREAD_SPECIFIC_F
  SUPPRESS_USE: 0x8, // LOG_EVENT_SUPPRESS_USE_F (MariaDB sets it on its GTID events)
  ARTIFICIAL: 0x20, // LOG_EVENT_ARTIFICIAL_F
  RELAY_LOG: 0x40, // LOG_EVENT_RELAY_LOG_F
  IGNORABLE: 0x80, // LOG_EVENT_IGNORABLE_F (MySQL sets it on PREVIOUS_GTIDS)
  SKIP_REPLICATION: 0x8000, // LOG_EVENT_SKIP_REPLICATION_F (MariaDB)
} as const;

/** Rows event post-header flags. */
export const RowsFlag = {
  STMT_END: 0x1, // STMT_END_F
  NO_FOREIGN_KEY_CHECKS: 0x2,
  RELAXED_UNIQUE_CHECKS: 0x4,
  COMPLETE_ROWS: 0x8,
} as const;

/** MariaDB GTID_EVENT flags2 (Gtid_log_event::FL_*). */
export const MariadbGtidFlag = {
  STANDALONE: 0x01,
  GROUP_COMMIT_ID: 0x02,
  TRANSACTIONAL: 0x04,
  ALLOW_PARALLEL: 0x08,
  WAITED: 0x10,
  DDL: 0x20,
  PREPARED_XA: 0x40,
  COMPLETED_XA: 0x80,
} as const;

/** Query event status variable codes (Q_*_CODE). */
export const QueryStatus = {
  FLAGS2: 0,
  SQL_MODE: 1,
  CATALOG: 2,
  AUTO_INCREMENT: 3,
  CHARSET: 4,
  TIME_ZONE: 5,
  CATALOG_NZ: 6,
  LC_TIME_NAMES: 7,
  CHARSET_DATABASE: 8,
  TABLE_MAP_FOR_UPDATE: 9,
  MASTER_DATA_WRITTEN: 10,
  INVOKER: 11,
  UPDATED_DB_NAMES: 12,
  MICROSECONDS: 13,
  EXPLICIT_DEFAULTS_FOR_TIMESTAMP: 16,
  DDL_LOGGED_WITH_XID: 17,
  DEFAULT_COLLATION_FOR_UTF8MB4: 18,
  SQL_REQUIRE_PRIMARY_KEY: 19,
  DEFAULT_TABLE_ENCRYPTION: 20,
  HRNOW: 128, // MariaDB
  XID: 129, // MariaDB
  GTID_FLAGS3: 130, // MariaDB
} as const;

/** Table map optional metadata field types (Table_map_event::Optional_metadata_field_type). */
export const TableMapField = {
  SIGNEDNESS: 1,
  DEFAULT_CHARSET: 2,
  COLUMN_CHARSET: 3,
  COLUMN_NAME: 4,
  SET_STR_VALUE: 5,
  ENUM_STR_VALUE: 6,
  GEOMETRY_TYPE: 7,
  SIMPLE_PRIMARY_KEY: 8,
  PRIMARY_KEY_WITH_PREFIX: 9,
  ENUM_AND_SET_DEFAULT_CHARSET: 10,
  ENUM_AND_SET_COLUMN_CHARSET: 11,
  COLUMN_VISIBILITY: 12,
  VECTOR_DIMENSIONALITY: 13, // MySQL 9.0+
} as const;

const OPTION_NOT_AUTOCOMMIT = 1 << 19; // flags2 bit, sql/sql_class.h
const OPTION_EXPLICIT_DEF_TIMESTAMP = 1 << 24; // MariaDB flags2 bit
const OVER_MAX_DBS_IN_EVENT_MTS = 254; // Q_UPDATED_DB_NAMES count meaning "too many to list"
const TRANSACTION_PAYLOAD_ZSTD = 0; // mysql::binlog::event::compression::type::ZSTD
const TRANSACTION_PAYLOAD_NONE = 255; // ...::NONE
const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_MAX_BLOCK = 128 * 1024; // RFC 8878 Block_Maximum_Size

// ---------------------------------------------------------------------------------------------
// Byte helpers

type IntLike = number | bigint;

function big(v: IntLike): bigint {
  return typeof v === 'bigint' ? v : BigInt(v);
}

/** Little-endian unsigned integer of `width` bytes (two's complement for negatives). */
function uintLE(v: IntLike, width: number): Buffer {
  const out = Buffer.alloc(width);
  let x = BigInt.asUintN(width * 8, big(v));
  for (let i = 0; i < width; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

const u8 = (v: number): Buffer => Buffer.of(v & 0xff);
const u16 = (v: number): Buffer => uintLE(v, 2);
const u32 = (v: IntLike): Buffer => uintLE(v, 4);
const u48 = (v: IntLike): Buffer => uintLE(v, 6);
const u64 = (v: IntLike): Buffer => uintLE(v, 8);

/** MySQL packed integer (net_store_length, "length-encoded integer"). */
export function packedInt(v: IntLike): Buffer {
  const x = big(v);
  if (x < 0n) throw misuse(`packed integer must be >= 0, got ${x}`);
  if (x < 251n) return u8(Number(x));
  if (x < 0x10000n) return Buffer.concat([u8(0xfc), uintLE(x, 2)]);
  if (x < 0x1000000n) return Buffer.concat([u8(0xfd), uintLE(x, 3)]);
  return Buffer.concat([u8(0xfe), uintLE(x, 8)]);
}

/**
 * Unsigned variable-length integer of MySQL's serialization library
 * (libs/mysql/serialization/variable_length_integers.h): the count of trailing one bits of the
 * first byte + 1 is the byte count; the value follows those bits, little-endian.
 */
export function varlenUnsigned(v: IntLike): Buffer {
  const x = BigInt.asUintN(64, big(v));
  const bits = x === 0n ? 0 : x.toString(2).length;
  const n = ((bits * 575) >> 12) + 1; // the server's own size formula
  const out = Buffer.alloc(n);
  out[0] = ((1 << (n - 1)) - 1) | Number((x << BigInt(n)) & 0xffn);
  let rest = x >> BigInt(8 - n + ((n + 7) >> 4));
  for (let i = 1; i < n; i++) {
    out[i] = Number(rest & 0xffn);
    rest >>= 8n;
  }
  return out;
}

/** Signed variable-length integer: the sign is moved to bit 0 (zigzag), then encoded unsigned. */
export function varlenSigned(v: IntLike): Buffer {
  const x = BigInt.asIntN(64, big(v));
  const zig = x >= 0n ? x << 1n : ((-(x + 1n)) << 1n) | 1n;
  return varlenUnsigned(zig);
}

function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replace(/-/g, '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw misuse(`not a UUID: ${uuid}`);
  return Buffer.from(hex, 'hex');
}

function text(s: string | Buffer): Buffer {
  return typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
}

/** A column bitmap as the servers store it: bit i of byte i/8 is column i (LSB first). */
function bitmapLSB(bits: readonly boolean[], padWithOnes = false): Buffer {
  const out = Buffer.alloc((bits.length + 7) >> 3, 0);
  bits.forEach((b, i) => {
    if (b) out[i >> 3]! |= 1 << (i & 7);
  });
  if (padWithOnes && (bits.length & 7) !== 0) out[out.length - 1]! |= (0xff << (bits.length & 7)) & 0xff;
  return out;
}

/** A bitmap stored most-significant bit first (SIGNEDNESS, COLUMN_VISIBILITY). */
function bitmapMSB(bits: readonly boolean[]): Buffer {
  const out = Buffer.alloc((bits.length + 7) >> 3, 0);
  bits.forEach((b, i) => {
    if (b) out[i >> 3]! |= 0x80 >> (i & 7);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Versions and the FORMAT_DESCRIPTION post-header table

export type Flavor = 'mysql' | 'mariadb';

interface Version {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

function parseVersion(s: string): Version {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(s);
  if (m === null) throw misuse(`server version must start with N.N.N, got "${s}"`);
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

const vnum = (v: Version): number => v.major * 10000 + v.minor * 100 + v.patch;

/** The server's version as MySQL numbers it in GTID events (8.0.40 → 80040). */
export function serverVersionNumber(serverVersion: string): number {
  return vnum(parseVersion(serverVersion));
}

/** Whether the FDE carries the checksum-algorithm byte (MySQL >= 5.6.1; every MariaDB >= 5.3). */
export function hasChecksumAlgorithm(flavor: Flavor, serverVersion: string): boolean {
  const v = vnum(parseVersion(serverVersion));
  return flavor === 'mariadb' ? v >= 50300 : v >= 50601;
}

// Post-header lengths of types 1..42 in MySQL 5.x (sql/log_event.cc, Format_description_log_event);
// index 14 (FORMAT_DESCRIPTION) is filled per type count. Types 33/34 are 42 from 5.7 (25 in 5.6).
const MYSQL5_POST_HEADERS = [
  56, 13, 0, 8, 0, 18, 0, 4, 4, 4, 4, 18, 0, 0, 0, 0, 4, 26, 8, 0, 0, 0, 8, 8, 8, 2, 0, 0, 0, 10, 10, 10, 42, 42, 0, 18, 52, 0, 10,
  40, 0, 0,
] as const;

function mysqlTypeCount(v: number): number {
  if (v < 50100) return 18; // up to EXECUTE_LOAD_QUERY
  if (v < 50500) return 26; // + TABLE_MAP, rows events, INCIDENT
  if (v < 50600) return 27; // + HEARTBEAT
  if (v < 50700) return 35; // + IGNORABLE, ROWS_QUERY, v2 rows, GTIDs, PREVIOUS_GTIDS
  if (v < 50707) return 37; // + TRANSACTION_CONTEXT, VIEW_CHANGE
  if (v < 80000) return 38; // + XA_PREPARE
  if (v < 80020) return 39; // + PARTIAL_UPDATE_ROWS
  if (v < 80027) return 40; // + TRANSACTION_PAYLOAD (seen: 8.0.22, 8.0.26)
  if (v < 80300) return 41; // + HEARTBEAT_V2 (seen: 8.0.28)
  return 42; // + GTID_TAGGED
}

function mariadbTypeCount(v: number): number {
  if (v < 100000) return 160; // up to ANNOTATE_ROWS
  if (v < 100100) return 163; // + BINLOG_CHECKPOINT, GTID, GTID_LIST
  if (v < 100200) return 164; // + START_ENCRYPTION
  return 171; // + compressed query and rows events
}

/**
 * The FDE's post-header length table (index = type code - 1) the given server writes. Measured
 * against real files: MySQL 5.0.16, 5.1.23, 5.5.38, 5.6.17/24, 5.7.6/21, 8.0.22/26/28/32/40,
 * 9.0.1, 9.6.0; MariaDB 10.5.15, 10.11.19.
 */
export function postHeaderLengths(flavor: Flavor, serverVersion: string): Buffer {
  const v = vnum(parseVersion(serverVersion));
  if (flavor === 'mysql') {
    const n = mysqlTypeCount(v);
    const table = Buffer.from(MYSQL5_POST_HEADERS.slice(0, n));
    if (v < 50700 && n >= 34) table[32] = table[33] = 25; // 5.6 GTID post-header: flags + SID + GNO
    if (v >= 80000) for (const t of [1, 6, 8, 10, 12]) table[t - 1] = 0; // START_V3 and LOAD events gone
    if (v >= 80400) for (const t of [23, 24, 25]) table[t - 1] = 0; // v1 rows events removed in 8.4
    table[EventType.FORMAT_DESCRIPTION - 1] = 57 + n;
    return table;
  }
  const n = mariadbTypeCount(v);
  const table = Buffer.alloc(n, 0);
  table.set(MYSQL5_POST_HEADERS.slice(0, 32));
  table[EventType.FORMAT_DESCRIPTION - 1] = 57 + n;
  if (v >= 101100) table[38] = table[39] = table[40] = 10; // 10.11.19 has them, 10.5.15 has not
  const tail: Array<[number, number]> = [
    [EventType.ANNOTATE_ROWS, 0],
    [EventType.BINLOG_CHECKPOINT, 4],
    [EventType.MARIADB_GTID, 19],
    [EventType.GTID_LIST, 4],
    [EventType.START_ENCRYPTION, 0],
    [EventType.QUERY_COMPRESSED, 13],
    [EventType.WRITE_ROWS_COMPRESSED_V1, 8],
    [EventType.UPDATE_ROWS_COMPRESSED_V1, 8],
    [EventType.DELETE_ROWS_COMPRESSED_V1, 8],
    [EventType.WRITE_ROWS_COMPRESSED, 10],
    [EventType.UPDATE_ROWS_COMPRESSED, 10],
    [EventType.DELETE_ROWS_COMPRESSED, 10],
  ];
  for (const [type, len] of tail) if (type <= n) table[type - 1] = len;
  return table;
}

// ---------------------------------------------------------------------------------------------
// One event

/** Header fields and framing of one event. */
export interface EncodeEventOptions {
  readonly timestamp: number;
  readonly serverId: number;
  /** End position of the event in its file (0 inside a TRANSACTION_PAYLOAD). */
  readonly logPos: number;
  readonly flags: number;
  /** Append a CRC32 of header + body. */
  readonly checksum: boolean;
}

/**
 * Frames one event: 19-byte v4 header, body, optional CRC32. As the servers do, the CRC of a
 * FORMAT_DESCRIPTION event is computed with LOG_EVENT_BINLOG_IN_USE_F cleared.
 */
export function encodeEvent(type: number, body: Uint8Array, opts: EncodeEventOptions): Buffer {
  const len = EVENT_HEADER_LEN + body.length + (opts.checksum ? 4 : 0);
  const out = Buffer.alloc(len);
  out.writeUInt32LE(opts.timestamp >>> 0, 0);
  out[4] = type;
  out.writeUInt32LE(opts.serverId >>> 0, 5);
  out.writeUInt32LE(len >>> 0, 9);
  out.writeUInt32LE(opts.logPos % 2 ** 32, 13);
  out.set(body, EVENT_HEADER_LEN);
  if (opts.checksum) {
    const crcFlags = type === EventType.FORMAT_DESCRIPTION ? opts.flags & ~EventFlag.BINLOG_IN_USE : opts.flags;
    out.writeUInt16LE(crcFlags & 0xffff, 17);
    out.writeUInt32LE(crc32(out.subarray(0, len - 4)) >>> 0, len - 4);
  }
  out.writeUInt16LE(opts.flags & 0xffff, 17);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Compression helpers

/** MariaDB's binlog_buf_compress: 0x80|lenlen, the original length big-endian, then a zlib stream. */
export function compressMariadb(data: Uint8Array): Buffer {
  const len = data.length;
  const lenlen = len > 0xffffff ? 4 : len > 0xffff ? 3 : len > 0xff ? 2 : 1;
  const head = Buffer.alloc(1 + lenlen);
  head[0] = 0x80 | lenlen;
  head.writeUIntBE(len, 1, lenlen);
  return Buffer.concat([head, deflateSync(data)]);
}

/**
 * A valid zstd frame (RFC 8878) holding `data` in RAW blocks: single-segment frame header with
 * the content size, blocks of at most 128 KiB, the last one flagged. Any zstd decoder reads it.
 */
export function zstdRawFrame(data: Uint8Array): Buffer {
  const size = data.length;
  let fcsFlag: number;
  let fcs: Buffer;
  if (size < 256) [fcsFlag, fcs] = [0, u8(size)];
  else if (size < 65536 + 256) [fcsFlag, fcs] = [1, u16(size - 256)];
  else if (size < 2 ** 32) [fcsFlag, fcs] = [2, u32(size)];
  else [fcsFlag, fcs] = [3, u64(size)];
  const descriptor = (fcsFlag << 6) | 0x20; // Single_Segment_flag: no window descriptor
  const parts: Buffer[] = [u32(ZSTD_MAGIC), u8(descriptor), fcs];
  let offset = 0;
  do {
    const n = Math.min(ZSTD_MAX_BLOCK, size - offset);
    const last = offset + n >= size ? 1 : 0;
    parts.push(uintLE(last | (n << 3), 3), Buffer.from(data.subarray(offset, offset + n))); // Block_Type 0 = Raw
    offset += n;
  } while (offset < size);
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Option types

/** Per-event header overrides. */
export interface EventOptions {
  readonly timestamp?: number;
  readonly serverId?: number;
  /** Event header flags (default per event type, as the server writes them). */
  readonly headerFlags?: number;
}

/** Query status variables; when given, exactly these are written, in the servers' order. */
export interface QueryStatusVars {
  readonly flags2?: number;
  /** Sets or clears OPTION_NOT_AUTOCOMMIT in flags2 (flags2 is then written). */
  readonly autocommit?: boolean;
  readonly sqlMode?: bigint;
  readonly catalog?: string;
  readonly autoIncrement?: { readonly increment: number; readonly offset: number };
  readonly charset?: { readonly client: number; readonly connection: number; readonly server: number };
  readonly timeZone?: string;
  readonly lcTimeNames?: number;
  readonly charsetDatabase?: number;
  readonly tableMapForUpdate?: bigint;
  readonly masterDataWritten?: number;
  readonly invoker?: { readonly user: string; readonly host: string };
  /** Database names a statement updated, or 'over-max' (count 254, no names). */
  readonly updatedDbNames?: readonly string[] | 'over-max';
  readonly microseconds?: number;
  readonly explicitDefaultsForTimestamp?: boolean;
  readonly ddlLoggedWithXid?: bigint;
  readonly defaultCollationForUtf8mb4?: number;
  readonly sqlRequirePrimaryKey?: boolean;
  readonly defaultTableEncryption?: boolean;
  /** MariaDB Q_HRNOW: microsecond part of the statement time. */
  readonly hrnow?: number;
  /** MariaDB Q_XID. */
  readonly xid?: bigint;
  /** MariaDB Q_GTID_FLAGS3. */
  readonly gtidFlags3?: number;
  /** Raw status-variable bytes appended after the known ones. */
  readonly raw?: Buffer;
}

export interface QueryOptions extends EventOptions {
  readonly sql: string | Buffer;
  readonly db?: string;
  readonly threadId?: number;
  readonly execTime?: number;
  readonly errorCode?: number;
  /** Omitted: the flavour's usual set (flags2, sql_mode, catalog, charset, ...). */
  readonly statusVars?: QueryStatusVars;
}

export interface MysqlGtidOptions extends EventOptions {
  /** Source UUID; ignored for anonymous GTIDs. */
  readonly uuid?: string;
  readonly gno?: IntLike;
  /** A non-empty tag writes GTID_TAGGED_LOG_EVENT (type 42, MySQL 8.3+ serialization). */
  readonly tag?: string;
  /** ANONYMOUS_GTID_LOG_EVENT (type 34): zero UUID and GNO. */
  readonly anonymous?: boolean;
  /** gtid_flags (FLAG_MAY_HAVE_SBR = 1); default 0 as for row-based transactions. */
  readonly gtidFlags?: number;
  readonly lastCommitted?: IntLike;
  readonly sequenceNumber?: IntLike;
  /** Microseconds; default: the event timestamp. `original` is written only when it differs. */
  readonly commitTimestamps?: { readonly immediate: IntLike; readonly original?: IntLike };
  readonly transactionLength?: IntLike;
  /** Default: the writer's server version. `original` is written only when it differs. */
  readonly serverVersions?: { readonly immediate: number; readonly original?: number };
  readonly commitGroupTicket?: IntLike;
  /** Layout of an untagged event; default from the server version. */
  readonly layout?: '5.6' | '5.7' | '8.0';
}

/** One source of a GTID set; `intervals` are inclusive like the text form uuid:1-13. */
export interface GtidSetEntry {
  readonly uuid: string;
  readonly tag?: string;
  readonly intervals: ReadonlyArray<readonly [start: IntLike, end: IntLike]>;
}

export interface MariadbGtidOptions extends EventOptions {
  readonly domainId: number;
  readonly seqNo: IntLike;
  /** flags2; default: STANDALONE (standalone) or TRANSACTIONAL|ALLOW_PARALLEL. */
  readonly flags?: number;
  readonly standalone?: boolean;
  /** Sets FL_GROUP_COMMIT_ID and writes the 8-byte commit id. */
  readonly commitId?: IntLike;
  /** XA xid, written when flags has PREPARED_XA or COMPLETED_XA. */
  readonly xa?: { readonly formatId: number; readonly gtrid: Buffer; readonly bqual: Buffer };
  /** Raw bytes appended (flags_extra and later fields). */
  readonly extra?: Buffer;
}

export interface GtidListEntry {
  readonly domainId: number;
  readonly serverId: number;
  readonly seqNo: IntLike;
}

/** One column of a TABLE_MAP. */
export interface TableMapColumn {
  /** The real type; ENUM and SET are written as STRING with the real type in the metadata. */
  readonly type: number;
  /**
   * Raw metadata bytes, or the structured value: FLOAT/DOUBLE/BLOB/GEOMETRY/JSON/VECTOR pack
   * length; VARCHAR max byte length; STRING max byte length; ENUM/SET storage bytes; BIT number
   * of bits; NEWDECIMAL precision * 256 + scale; TIME2/DATETIME2/TIMESTAMP2 fractional digits.
   */
  readonly meta?: Buffer | number;
  readonly nullable?: boolean;
  readonly unsigned?: boolean;
  /** Whether the column takes a SIGNEDNESS bit; default from the type (and flavour). */
  readonly numeric?: boolean;
  /** Collation id; a column with one is a character column (ENUM/SET: the enum-and-set charset). */
  readonly charset?: number;
  readonly name?: string;
  readonly enumLabels?: readonly string[];
  readonly setLabels?: readonly string[];
  readonly geometryType?: number;
  readonly vectorDimensions?: number;
  /** COLUMN_VISIBILITY bit (MySQL 8.0.23+ in FULL mode); default true. */
  readonly visible?: boolean;
}

export interface TableMapOptions extends EventOptions {
  readonly tableId: IntLike;
  readonly db: string;
  readonly table: string;
  readonly columns: readonly TableMapColumn[];
  /** binlog_row_metadata: which optional TLV fields are written. */
  readonly metadata: 'none' | 'minimal' | 'full';
  /** Column indexes (SIMPLE_PRIMARY_KEY), or with prefix lengths (PRIMARY_KEY_WITH_PREFIX). */
  readonly primaryKey?: readonly number[] | ReadonlyArray<{ readonly column: number; readonly prefix: number }>;
  /** Table map flags (default TM_BIT_LEN_EXACT_F = 1). */
  readonly flags?: number;
  /** Force DEFAULT_CHARSET or COLUMN_CHARSET instead of the server's size-based choice. */
  readonly charsetFormat?: CharsetFormat;
  /** Write COLUMN_VISIBILITY; default: MySQL >= 8.0.23 in FULL mode. */
  readonly columnVisibility?: boolean;
  /** Raw TLV bytes appended after the generated optional metadata. */
  readonly extraMetadata?: Buffer;
}

/** A cell of a row image: SQL NULL, not in the image, or the value's bytes as the server packs them. */
export type Cell = Buffer | null | undefined;

export interface RowImages {
  readonly before?: readonly Cell[];
  readonly after?: readonly Cell[];
}

export interface RowsOptions extends EventOptions {
  readonly kind: 'write' | 'update' | 'delete';
  /** 0: pre-GA types 20-22; 1: types 23-25; 2: types 30-32 (with the extra-data header). */
  readonly version: 0 | 1 | 2;
  readonly tableId: IntLike;
  /** Rows flags; default STMT_END_F. */
  readonly flags?: number;
  /** Column count; default the longest image. */
  readonly width?: number;
  /** Columns in the image (before image for update/delete); default: the cells of the first row. */
  readonly columnsPresent?: readonly boolean[];
  /** Columns of the after image of an update; default: the first row's after cells. */
  readonly afterColumnsPresent?: readonly boolean[];
  readonly rows: readonly RowImages[];
  /** v2 only: the extra row info bytes after the 2-byte var_header_len. */
  readonly extraData?: Buffer;
  /** Override the server's bitmap padding. */
  readonly padding?: BitmapPadding;
}

export interface PartialRowImages {
  readonly before: readonly Cell[];
  /** Partial JSON columns carry their diff bytes (length prefix included) as the cell. */
  readonly after: readonly Cell[];
  /** value_options; default PARTIAL_JSON_UPDATES (1) when partialBits is given, else 0. */
  readonly valueOptions?: number;
  /** The partial-JSON bitmap as the server writes it. */
  readonly partialBits?: Buffer;
}

export interface PartialUpdateRowsOptions extends EventOptions {
  readonly tableId: IntLike;
  readonly flags?: number;
  readonly width?: number;
  readonly columnsPresent?: readonly boolean[];
  readonly afterColumnsPresent?: readonly boolean[];
  readonly rows: readonly PartialRowImages[];
  readonly extraData?: Buffer;
  readonly padding?: BitmapPadding;
}

export interface MariadbCompressedRowsOptions extends Omit<RowsOptions, 'version'> {
  /** 1: types 166-168 (what MariaDB writes); 2: types 169-171. */
  readonly version: 1 | 2;
}

export type TransactionPayloadCompression =
  | { readonly compression: 'none' | 'zstd-raw' }
  /** A frame compressed elsewhere (e.g. copied from a real file), with its uncompressed size. */
  | { readonly compression: 'zstd-frame'; readonly frame: Buffer; readonly uncompressedSize: number };

/** Framing overrides of `BinlogWriter.event`. */
export interface RawEventOptions extends EventOptions {
  /** Header flags used when `headerFlags` is not given. */
  readonly defaultFlags?: number;
  /** Default: the end of the event in this file. */
  readonly logPos?: number;
  /** Default: the writer's checksum setting. */
  readonly checksum?: boolean;
}

/** Where one appended event sits in the file. */
export interface WrittenEvent {
  /** Event type code; -1 for bytes appended with `raw`. */
  readonly type: number;
  readonly offset: number;
  readonly length: number;
}

export interface BinlogWriterOptions {
  readonly flavor: Flavor;
  readonly serverId?: number;
  /** CRC32 on every event (binlog_checksum=CRC32); default true. */
  readonly checksum?: boolean;
  /** Default 10.11.19-MariaDB-log / 8.0.40. */
  readonly serverVersion?: string;
  /** The FDE keeps LOG_EVENT_BINLOG_IN_USE_F (a file a crash left open). */
  readonly inUse?: boolean;
  /** Header timestamp of every event unless overridden; default 1700000000. */
  readonly startTimestamp?: number;
}

// ---------------------------------------------------------------------------------------------
// Table map metadata

function defaultNumeric(flavor: Flavor, type: number): boolean {
  switch (type) {
    case ColumnType.TINY:
    case ColumnType.SHORT:
    case ColumnType.INT24:
    case ColumnType.LONG:
    case ColumnType.LONGLONG:
    case ColumnType.NEWDECIMAL:
    case ColumnType.FLOAT:
    case ColumnType.DOUBLE:
      return true;
    case ColumnType.YEAR:
      return flavor === 'mariadb'; // MariaDB's Field_year is a Field_tiny (seen in 10.11 files)
    default:
      return false;
  }
}

const isEnumOrSet = (c: TableMapColumn): boolean => c.type === ColumnType.ENUM || c.type === ColumnType.SET;

/** The type code a column has in the TABLE_MAP's type array. */
function binlogType(c: TableMapColumn): number {
  return isEnumOrSet(c) ? ColumnType.STRING : c.type;
}

/** A column's metadata bytes (sql/rpl_utility.cc table_def sizes; Field_*::save_field_metadata). */
export function encodeColumnMeta(type: number, meta: Buffer | number | undefined): Buffer {
  if (Buffer.isBuffer(meta)) return meta;
  const need = (what: string): number => {
    if (meta === undefined) throw misuse(`column type ${type} needs meta (${what})`);
    return meta;
  };
  switch (type) {
    case ColumnType.FLOAT:
      return u8(meta ?? 4);
    case ColumnType.DOUBLE:
      return u8(meta ?? 8);
    case ColumnType.TINY_BLOB:
    case ColumnType.MEDIUM_BLOB:
    case ColumnType.LONG_BLOB:
    case ColumnType.BLOB:
      return u8(meta ?? 2);
    case ColumnType.GEOMETRY:
    case ColumnType.JSON:
    case ColumnType.VECTOR:
      return u8(meta ?? 4);
    case ColumnType.TIMESTAMP2:
    case ColumnType.DATETIME2:
    case ColumnType.TIME2:
      return u8(meta ?? 0);
    case ColumnType.VARCHAR:
      return u16(need('max byte length'));
    case ColumnType.BIT: {
      const bits = need('number of bits');
      return Buffer.of(bits % 8, bits >> 3);
    }
    case ColumnType.NEWDECIMAL: {
      const m = need('precision * 256 + scale');
      return Buffer.of(m >> 8, m & 0xff);
    }
    case ColumnType.STRING: {
      // Field_string: real type XOR the two high bits of the length moved to bits 4-5
      const len = need('max byte length');
      return Buffer.of(ColumnType.STRING ^ ((len & 0x300) >> 4), len & 0xff);
    }
    case ColumnType.ENUM:
    case ColumnType.SET:
      return Buffer.of(type, meta ?? 1);
    default:
      if (meta !== undefined && meta !== 0) throw misuse(`column type ${type} has no metadata bytes; pass meta as a Buffer to force some`);
      return Buffer.alloc(0);
  }
}

function tlv(type: number, value: Buffer): Buffer {
  return Buffer.concat([u8(type), packedInt(value.length), value]);
}

/**
 * DEFAULT_CHARSET or COLUMN_CHARSET (and the ENUM_AND_SET pair) exactly as
 * Table_map_log_event::init_charset_field chooses: the most used collation (lowest id on ties) is
 * the default; the per-column form is used when it is shorter by the server's estimate.
 */
type CharsetFormat = 'auto' | 'default' | 'column';

function charsetField(cols: readonly TableMapColumn[], defaultType: number, columnType: number, format: CharsetFormat): Buffer | null {
  const collations = cols.map((c) => c.charset!);
  if (collations.length === 0) return null;
  const counts = new Map<number, number>();
  for (const c of collations) counts.set(c, (counts.get(c) ?? 0) + 1);
  let best = 0;
  let bestCount = 0;
  for (const [collation, count] of [...counts].sort((a, b) => a[0] - b[0])) {
    if (count > bestCount) [best, bestCount] = [collation, count];
  }
  const n = collations.length;
  const useColumn = format === 'column' || (format === 'auto' && n < 1 + (n - bestCount) * 2);
  if (useColumn) return tlv(columnType, Buffer.concat(collations.map((c) => packedInt(c))));
  const parts = [packedInt(best)];
  collations.forEach((c, i) => {
    if (c !== best) parts.push(packedInt(i), packedInt(c));
  });
  return tlv(defaultType, Buffer.concat(parts));
}

function labelsField(type: number, lists: ReadonlyArray<readonly string[]>): Buffer | null {
  if (lists.length === 0) return null;
  const parts: Buffer[] = [];
  for (const labels of lists) {
    parts.push(packedInt(labels.length));
    for (const label of labels) {
      const b = text(label);
      parts.push(packedInt(b.length), b);
    }
  }
  return tlv(type, Buffer.concat(parts));
}

// ---------------------------------------------------------------------------------------------
// Rows images

function resolvePresent(explicit: readonly boolean[] | undefined, first: readonly Cell[] | undefined, width: number): boolean[] {
  if (explicit !== undefined) {
    if (explicit.length !== width) throw misuse(`columns bitmap has ${explicit.length} entries for ${width} columns`);
    return [...explicit];
  }
  if (first === undefined) return Array.from({ length: width }, () => true);
  return Array.from({ length: width }, (_, i) => first[i] !== undefined);
}

/**
 * One row image as pack_row writes it: a null bitmap over the columns in the image (unused
 * trailing bits set, as the server leaves them), then the non-null values.
 */
function packImage(present: readonly boolean[], cells: readonly Cell[] | undefined, what: string, padNulls: boolean): Buffer {
  const row = cells ?? [];
  const nulls: boolean[] = [];
  const values: Buffer[] = [];
  present.forEach((isPresent, i) => {
    const cell = row[i];
    if (!isPresent) {
      if (cell !== undefined) throw misuse(`${what}: column ${i} has a value but is not in the columns bitmap`);
      return;
    }
    if (cell === undefined) throw misuse(`${what}: column ${i} is in the columns bitmap but has no cell`);
    nulls.push(cell === null);
    if (cell !== null) values.push(cell);
  });
  return Buffer.concat([bitmapLSB(nulls, padNulls), ...values]);
}

interface RowsLayout {
  readonly tableId: IntLike;
  readonly flags?: number;
  readonly width?: number;
  readonly columnsPresent?: readonly boolean[];
  readonly afterColumnsPresent?: readonly boolean[];
  readonly extraData?: Buffer;
  /** Override the server's bitmap padding. */
  readonly padding?: BitmapPadding;
}

function rowsWidth(opts: RowsLayout, rows: readonly RowImages[]): number {
  if (opts.width !== undefined) return opts.width;
  if (opts.columnsPresent !== undefined) return opts.columnsPresent.length;
  let w = 0;
  for (const r of rows) w = Math.max(w, r.before?.length ?? 0, r.after?.length ?? 0);
  return w;
}

/**
 * How a server pads the unused bits of the last bitmap byte. Seen in real files: the null bitmap
 * is padded with ones by MySQL 5.x and MariaDB (pack_row starts from 0xff), with zeros by MySQL 8;
 * a full columns bitmap is all ones in MySQL and MariaDB 10.5 (bitmap_set_all), exact in 10.11.
 */
export interface BitmapPadding {
  /** Pad the columns bitmap(s) with ones when every column is present. */
  readonly fullColumns: boolean;
  readonly nulls: boolean;
}

function padColumns(bits: readonly boolean[], padding: BitmapPadding): Buffer {
  return bitmapLSB(bits, padding.fullColumns && bits.every((b) => b));
}

/** Post-header, width and column bitmaps of a rows event; the row data follows. */
function rowsHead(
  opts: RowsLayout,
  v2: boolean,
  width: number,
  present: readonly boolean[],
  after: readonly boolean[] | null,
  padding: BitmapPadding,
): Buffer {
  const parts = [u48(opts.tableId), u16(opts.flags ?? RowsFlag.STMT_END)];
  if (v2) {
    const extra = opts.extraData ?? Buffer.alloc(0);
    parts.push(u16(2 + extra.length), extra); // var_header_len counts itself
  } else if (opts.extraData !== undefined) {
    throw misuse('extraData needs a v2 rows event');
  }
  parts.push(packedInt(width), padColumns(present, padding));
  if (after !== null) parts.push(padColumns(after, padding));
  return Buffer.concat(parts);
}

function rowsTypeCode(kind: RowsOptions['kind'], base: number): number {
  return base + (kind === 'write' ? 0 : kind === 'update' ? 1 : 2);
}

// ---------------------------------------------------------------------------------------------
// The writer

const DEFAULT_VERSION: Record<Flavor, string> = { mysql: '8.0.40', mariadb: '10.11.19-MariaDB-log' };

/** Builds a binlog file event by event, tracking positions as a server does (log_pos = end of event). */
export class BinlogWriter {
  readonly flavor: Flavor;
  readonly serverVersion: string;
  readonly checksum: boolean;
  readonly inUse: boolean;
  /** Bitmap padding of rows events, as this server writes it. */
  readonly bitmapPadding: BitmapPadding;
  serverId: number;
  /** Header timestamp of the next events unless an event overrides it. */
  timestamp: number;
  readonly #version: number;
  readonly #chunks: Buffer[] = [BINLOG_MAGIC];
  readonly #events: WrittenEvent[] = [];
  #position = BINLOG_MAGIC.length;

  constructor(opts: BinlogWriterOptions) {
    this.flavor = opts.flavor;
    this.serverVersion = opts.serverVersion ?? DEFAULT_VERSION[opts.flavor];
    this.#version = serverVersionNumber(this.serverVersion);
    this.checksum = opts.checksum ?? true;
    if (this.checksum && !hasChecksumAlgorithm(this.flavor, this.serverVersion)) {
      throw misuse(`server ${this.serverVersion} predates binlog checksums: pass checksum: false`);
    }
    this.inUse = opts.inUse ?? false;
    this.bitmapPadding =
      this.flavor === 'mysql'
        ? { fullColumns: true, nulls: this.#version < 80000 }
        : { fullColumns: this.#version < 101100, nulls: true };
    this.serverId = opts.serverId ?? 1;
    this.timestamp = opts.startTimestamp ?? 1_700_000_000;
  }

  /** Offset where the next event starts (the file's length so far). */
  get position(): number {
    return this.#position;
  }

  /** Every event appended so far, in order. */
  get events(): readonly WrittenEvent[] {
    return this.#events;
  }

  /** Appends one framed event with the given body; the other methods build bodies for it. */
  event(type: number, body: Uint8Array, opts: RawEventOptions = {}): this {
    const checksum = opts.checksum ?? this.checksum;
    const length = EVENT_HEADER_LEN + body.length + (checksum ? 4 : 0);
    const bytes = encodeEvent(type, body, {
      timestamp: opts.timestamp ?? this.timestamp,
      serverId: opts.serverId ?? this.serverId,
      logPos: opts.logPos ?? this.#position + length,
      flags: opts.headerFlags ?? opts.defaultFlags ?? 0,
      checksum,
    });
    return this.#append(type, bytes);
  }

  /** Appends bytes as they are (a torn event, garbage, a second magic...). */
  raw(bytes: Uint8Array): this {
    return this.#append(-1, Buffer.from(bytes));
  }

  /** An event of any type code with the given body, framed normally. */
  unknown(typeCode: number, body: Uint8Array, opts: EventOptions = {}): this {
    return this.event(typeCode, body, opts);
  }

  /** The bytes of the last event (or raw bytes) appended. */
  lastEventBytes(): Buffer {
    const last = this.#chunks[this.#chunks.length - 1];
    if (last === undefined) throw new Error('nothing appended yet');
    return last;
  }

  /** The whole file so far: magic + events. */
  toBuffer(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  #append(type: number, bytes: Buffer): this {
    this.#chunks.push(bytes);
    this.#events.push({ type, offset: this.#position, length: bytes.length });
    this.#position += bytes.length;
    return this;
  }

  // --- control events ---------------------------------------------------------------------

  /**
   * FORMAT_DESCRIPTION_EVENT (binlog v4) with this flavour/version's post-header table and, for
   * checksum-aware servers, the algorithm byte and a CRC (always present there, even with NONE).
   */
  formatDescription(opts: EventOptions & { readonly created?: number; readonly postHeaderLengths?: Buffer } = {}): this {
    const table = opts.postHeaderLengths ?? postHeaderLengths(this.flavor, this.serverVersion);
    const version = Buffer.alloc(50, 0);
    version.write(this.serverVersion.slice(0, 49), 'latin1');
    const withAlg = hasChecksumAlgorithm(this.flavor, this.serverVersion);
    const parts = [u16(4), version, u32(opts.created ?? opts.timestamp ?? this.timestamp), u8(EVENT_HEADER_LEN), table];
    if (withAlg) parts.push(u8(this.checksum ? 1 : 0));
    return this.event(EventType.FORMAT_DESCRIPTION, Buffer.concat(parts), {
      ...opts,
      defaultFlags: this.inUse ? EventFlag.BINLOG_IN_USE : 0,
      checksum: withAlg,
    });
  }

  /** ROTATE_EVENT: 8-byte position of the first event of the next file, then its name. */
  rotate(nextFile: string, pos: IntLike = 4, opts: EventOptions = {}): this {
    return this.event(EventType.ROTATE, Buffer.concat([u64(pos), text(nextFile)]), opts);
  }

  /** STOP_EVENT: empty body. */
  stop(opts: EventOptions = {}): this {
    return this.event(EventType.STOP, Buffer.alloc(0), opts);
  }

  /** INCIDENT_EVENT: 2-byte incident number, 1-byte message length, message. */
  incident(incident: number, message = '', opts: EventOptions = {}): this {
    const msg = text(message);
    if (msg.length > 255) throw misuse('incident message is at most 255 bytes');
    return this.event(EventType.INCIDENT, Buffer.concat([u16(incident), u8(msg.length), msg]), opts);
  }

  /**
   * HEARTBEAT_LOG_EVENT (log file name body, log_pos = position, timestamp 0) or, with v2,
   * HEARTBEAT_LOG_EVENT_V2 (TLV: 1 = file name, 2 = position, 0 = end).
   */
  heartbeat(file: string, pos: IntLike, opts: EventOptions & { readonly v2?: boolean } = {}): this {
    const name = text(file);
    if (opts.v2 === true) {
      const posBytes = packedInt(pos);
      const body = Buffer.concat([packedInt(1), packedInt(name.length), name, packedInt(2), packedInt(posBytes.length), posBytes, packedInt(0)]);
      return this.event(EventType.HEARTBEAT_V2, body, { timestamp: 0, ...opts, defaultFlags: EventFlag.ARTIFICIAL });
    }
    return this.event(EventType.HEARTBEAT, name, { timestamp: 0, ...opts, defaultFlags: EventFlag.ARTIFICIAL, logPos: Number(pos) });
  }

  /** MariaDB START_ENCRYPTION_EVENT: scheme (1), key version (4), nonce (12). */
  startEncryption(opts: EventOptions & { readonly scheme?: number; readonly keyVersion: number; readonly nonce: Buffer }): this {
    if (opts.nonce.length !== 12) throw misuse('START_ENCRYPTION nonce is 12 bytes');
    return this.event(EventType.START_ENCRYPTION, Buffer.concat([u8(opts.scheme ?? 1), u32(opts.keyVersion), opts.nonce]), opts);
  }

  // --- statements -------------------------------------------------------------------------

  #defaultStatusVars(): QueryStatusVars {
    if (this.flavor === 'mariadb') {
      // explicit_defaults_for_timestamp is ON by default from 10.10: flags2 bit 24 (seen in 10.11.19)
      const flags2 = this.#version >= 101000 ? OPTION_EXPLICIT_DEF_TIMESTAMP : 0;
      return { flags2, sqlMode: 0x5420_0000n, catalog: 'std', charset: { client: 45, connection: 45, server: 45 } };
    }
    const base: QueryStatusVars = { flags2: 0, sqlMode: 0x45a0_0020n, catalog: 'std', charset: { client: 255, connection: 255, server: 255 } };
    return this.#version >= 80000 ? { ...base, defaultCollationForUtf8mb4: 255 } : base;
  }

  /** The status-variable block, in the order Query_log_event::write puts them. */
  #statusVars(s: QueryStatusVars): Buffer {
    const p: Buffer[] = [];
    const put = (code: number, ...value: Buffer[]): void => {
      p.push(u8(code), ...value);
    };
    if (s.flags2 !== undefined || s.autocommit !== undefined) {
      let f = s.flags2 ?? 0;
      if (s.autocommit === false) f |= OPTION_NOT_AUTOCOMMIT;
      if (s.autocommit === true) f &= ~OPTION_NOT_AUTOCOMMIT;
      put(QueryStatus.FLAGS2, u32(f));
    }
    if (s.sqlMode !== undefined) put(QueryStatus.SQL_MODE, u64(s.sqlMode));
    if (s.catalog !== undefined) put(QueryStatus.CATALOG_NZ, u8(text(s.catalog).length), text(s.catalog));
    if (s.autoIncrement !== undefined) put(QueryStatus.AUTO_INCREMENT, u16(s.autoIncrement.increment), u16(s.autoIncrement.offset));
    if (s.charset !== undefined) put(QueryStatus.CHARSET, u16(s.charset.client), u16(s.charset.connection), u16(s.charset.server));
    if (s.timeZone !== undefined) put(QueryStatus.TIME_ZONE, u8(text(s.timeZone).length), text(s.timeZone));
    if (s.lcTimeNames !== undefined) put(QueryStatus.LC_TIME_NAMES, u16(s.lcTimeNames));
    if (s.charsetDatabase !== undefined) put(QueryStatus.CHARSET_DATABASE, u16(s.charsetDatabase));
    if (s.tableMapForUpdate !== undefined) put(QueryStatus.TABLE_MAP_FOR_UPDATE, u64(s.tableMapForUpdate));
    if (s.masterDataWritten !== undefined) put(QueryStatus.MASTER_DATA_WRITTEN, u32(s.masterDataWritten));
    if (s.invoker !== undefined) {
      const [user, host] = [text(s.invoker.user), text(s.invoker.host)];
      put(QueryStatus.INVOKER, u8(user.length), user, u8(host.length), host);
    }
    if (s.updatedDbNames !== undefined) {
      if (s.updatedDbNames === 'over-max') put(QueryStatus.UPDATED_DB_NAMES, u8(OVER_MAX_DBS_IN_EVENT_MTS));
      else put(QueryStatus.UPDATED_DB_NAMES, u8(s.updatedDbNames.length), ...s.updatedDbNames.map((n) => Buffer.concat([text(n), u8(0)])));
    }
    if (s.microseconds !== undefined) put(QueryStatus.MICROSECONDS, uintLE(s.microseconds, 3));
    if (s.explicitDefaultsForTimestamp !== undefined) put(QueryStatus.EXPLICIT_DEFAULTS_FOR_TIMESTAMP, u8(s.explicitDefaultsForTimestamp ? 1 : 0));
    if (s.ddlLoggedWithXid !== undefined) put(QueryStatus.DDL_LOGGED_WITH_XID, u64(s.ddlLoggedWithXid));
    if (s.defaultCollationForUtf8mb4 !== undefined) put(QueryStatus.DEFAULT_COLLATION_FOR_UTF8MB4, u16(s.defaultCollationForUtf8mb4));
    if (s.sqlRequirePrimaryKey !== undefined) put(QueryStatus.SQL_REQUIRE_PRIMARY_KEY, u8(s.sqlRequirePrimaryKey ? 1 : 0));
    if (s.defaultTableEncryption !== undefined) put(QueryStatus.DEFAULT_TABLE_ENCRYPTION, u8(s.defaultTableEncryption ? 1 : 0));
    if (s.hrnow !== undefined) put(QueryStatus.HRNOW, uintLE(s.hrnow, 3));
    if (s.xid !== undefined) put(QueryStatus.XID, u64(s.xid));
    if (s.gtidFlags3 !== undefined) put(QueryStatus.GTID_FLAGS3, u8(s.gtidFlags3));
    if (s.raw !== undefined) p.push(s.raw);
    return Buffer.concat(p);
  }

  #queryBody(opts: QueryOptions, compress: boolean, extraPostHeader: Buffer = Buffer.alloc(0)): Buffer {
    const db = text(opts.db ?? '');
    if (db.length > 255) throw misuse('database name is at most 255 bytes');
    const status = this.#statusVars(opts.statusVars ?? this.#defaultStatusVars());
    const sql = compress ? compressMariadb(text(opts.sql)) : text(opts.sql);
    return Buffer.concat([
      u32(opts.threadId ?? 1),
      u32(opts.execTime ?? 0),
      u8(db.length),
      u16(opts.errorCode ?? 0),
      u16(status.length),
      extraPostHeader,
      status,
      db,
      u8(0),
      sql,
    ]);
  }

  /** QUERY_EVENT: thread id, exec time, db length, error code, status vars, db NUL, statement. */
  query(opts: QueryOptions): this {
    return this.event(EventType.QUERY, this.#queryBody(opts, false), opts);
  }

  /** MariaDB QUERY_COMPRESSED_EVENT: a query event whose statement is binlog_buf_compress'ed. */
  queryCompressed(opts: QueryOptions): this {
    return this.event(EventType.QUERY_COMPRESSED, this.#queryBody(opts, true), opts);
  }

  /** BEGIN_LOAD_QUERY_EVENT (17): file id u32, then the first block of the loaded file's bytes. */
  beginLoadQuery(fileId: number, data: Buffer, opts: EventOptions = {}): this {
    return this.event(EventType.BEGIN_LOAD_QUERY, Buffer.concat([u32(fileId), data]), opts);
  }

  /**
   * EXECUTE_LOAD_QUERY_EVENT (18): QUERY's layout with 13 more post-header bytes after its 13 (file
   * id u32, fn_pos_start u32, fn_pos_end u32, dup handling u8), Execute_load_query_log_event::write_post_header_for_derived.
   * The offsets default to MariaDB 10.11's: from after `LOAD DATA` through the first ` INTO`.
   */
  executeLoadQuery(opts: QueryOptions & { readonly fileId: number; readonly fnPosStart?: number; readonly fnPosEnd?: number; readonly duplicateHandling?: number }): this {
    const sql = text(opts.sql);
    const start = opts.fnPosStart ?? 'LOAD DATA'.length;
    const end = opts.fnPosEnd ?? sql.indexOf(' INTO ') + ' INTO'.length;
    const extra = Buffer.concat([u32(opts.fileId), u32(start), u32(end), u8(opts.duplicateHandling ?? 0)]);
    return this.event(EventType.EXECUTE_LOAD_QUERY, this.#queryBody(opts, false, extra), opts);
  }

  /** XID_EVENT: the 8-byte transaction id. */
  xid(id: IntLike, opts: EventOptions = {}): this {
    return this.event(EventType.XID, u64(id), opts);
  }

  /** INTVAR_EVENT: 1-byte kind (1 LAST_INSERT_ID, 2 INSERT_ID), 8-byte value. */
  intvar(kind: 'last-insert-id' | 'insert-id' | number, value: IntLike, opts: EventOptions = {}): this {
    const code = kind === 'last-insert-id' ? 1 : kind === 'insert-id' ? 2 : kind;
    return this.event(EventType.INTVAR, Buffer.concat([u8(code), u64(value)]), opts);
  }

  /** RAND_EVENT: two 8-byte seeds. */
  rand(seed1: IntLike, seed2: IntLike, opts: EventOptions = {}): this {
    return this.event(EventType.RAND, Buffer.concat([u64(seed1), u64(seed2)]), opts);
  }

  /**
   * USER_VAR_EVENT: name length (4), name, is_null (1); then value type (Item_result: 0 STRING,
   * 1 REAL, 2 INT, 4 DECIMAL), charset (4), value length (4), value, flags (1, UNSIGNED_F = 1).
   */
  userVar(
    opts: EventOptions & {
      readonly name: string;
      readonly value: null | { readonly type: number; readonly charset?: number; readonly bytes: Buffer; readonly flags?: number };
    },
  ): this {
    const name = text(opts.name);
    const parts = [u32(name.length), name, u8(opts.value === null ? 1 : 0)];
    if (opts.value !== null) {
      const v = opts.value;
      parts.push(u8(v.type), u32(v.charset ?? 63), u32(v.bytes.length), v.bytes);
      if (v.flags !== undefined) parts.push(u8(v.flags));
    }
    return this.event(EventType.USER_VAR, Buffer.concat(parts), opts);
  }

  /** XA_PREPARE_LOG_EVENT: one_phase (1), formatID (4), gtrid length (4), bqual length (4), data. */
  xaPrepare(opts: EventOptions & { readonly onePhase?: boolean; readonly formatId: number; readonly gtrid: Buffer; readonly bqual: Buffer }): this {
    const lengths = [u32(opts.gtrid.length), u32(opts.bqual.length)];
    const body = Buffer.concat([u8(opts.onePhase === true ? 1 : 0), u32(opts.formatId), ...lengths, opts.gtrid, opts.bqual]);
    return this.event(EventType.XA_PREPARE, body, opts);
  }

  /** MariaDB ANNOTATE_ROWS_EVENT: the statement text is the whole body. */
  annotateRows(sql: string | Buffer, opts: EventOptions = {}): this {
    return this.event(EventType.ANNOTATE_ROWS, text(sql), opts);
  }

  /** MySQL ROWS_QUERY_LOG_EVENT: a 1-byte length (capped at 255, ignored by readers), then the full text. */
  rowsQuery(sql: string | Buffer, opts: EventOptions = {}): this {
    const q = text(sql);
    return this.event(EventType.ROWS_QUERY, Buffer.concat([u8(Math.min(q.length, 255)), q]), { defaultFlags: EventFlag.IGNORABLE, ...opts });
  }

  // --- GTIDs --------------------------------------------------------------------------------

  /** GTID_LOG_EVENT (33), ANONYMOUS_GTID_LOG_EVENT (34) or, with a tag, GTID_TAGGED_LOG_EVENT (42). */
  mysqlGtid(opts: MysqlGtidOptions): this {
    const timestamp = opts.timestamp ?? this.timestamp;
    const immediateTs = big(opts.commitTimestamps?.immediate ?? BigInt(timestamp) * 1_000_000n);
    const originalTs = big(opts.commitTimestamps?.original ?? immediateTs);
    const immediateVer = opts.serverVersions?.immediate ?? this.#version;
    const originalVer = opts.serverVersions?.original ?? immediateVer;
    const uuid = opts.anonymous === true ? Buffer.alloc(16) : uuidBytes(opts.uuid ?? '00000000-0000-0000-0000-000000000000');
    const gno = opts.anonymous === true ? 0n : big(opts.gno ?? 1);
    const common = {
      flags: opts.gtidFlags ?? 0,
      uuid,
      gno,
      lastCommitted: big(opts.lastCommitted ?? 0),
      sequenceNumber: big(opts.sequenceNumber ?? 1),
      immediateTs,
      originalTs,
      trxLength: big(opts.transactionLength ?? 0),
      immediateVer,
      originalVer,
      ticket: big(opts.commitGroupTicket ?? 0),
    };
    if (opts.tag !== undefined && opts.tag !== '') {
      return this.event(EventType.GTID_TAGGED, taggedGtidBody({ ...common, tag: opts.tag }), opts);
    }
    const layout = opts.layout ?? (this.#version < 50700 ? '5.6' : this.#version < 80000 ? '5.7' : '8.0');
    const parts = [u8(common.flags), uuid, u64(gno)];
    if (layout !== '5.6') parts.push(u8(2), u64(common.lastCommitted), u64(common.sequenceNumber)); // LOGICAL_TIMESTAMP_TYPECODE = 2
    if (layout === '8.0') {
      const differsTs = originalTs !== immediateTs;
      parts.push(uintLE(differsTs ? immediateTs | (1n << 55n) : immediateTs, 7));
      if (differsTs) parts.push(uintLE(originalTs, 7));
      parts.push(packedInt(common.trxLength));
      const differsVer = originalVer !== immediateVer;
      parts.push(u32(differsVer ? (immediateVer | 0x8000_0000) >>> 0 : immediateVer));
      if (differsVer) parts.push(u32(originalVer));
      if (common.ticket !== 0n) parts.push(u64(common.ticket));
    }
    const type = opts.anonymous === true ? EventType.ANONYMOUS_GTID : EventType.GTID;
    return this.event(type, Buffer.concat(parts), opts);
  }

  /**
   * PREVIOUS_GTIDS_LOG_EVENT as Gtid_set::encode writes it: n_sids (8; in the tagged format
   * byte 0 and byte 7 are the format 1 and bytes 1-6 the count), then per source: UUID, [tag],
   * n_intervals (8), intervals as [start, end) pairs of 8-byte integers.
   */
  previousGtids(sets: readonly GtidSetEntry[], opts: EventOptions & { readonly format?: 'untagged' | 'tagged' } = {}): this {
    const tagged = opts.format === 'tagged' || (opts.format === undefined && sets.some((s) => (s.tag ?? '') !== ''));
    const n = BigInt(sets.length);
    const parts = [tagged ? u64((1n << 56n) | (n << 8n) | 1n) : u64(n)];
    for (const s of sets) {
      parts.push(uuidBytes(s.uuid));
      if (tagged) {
        const tag = text(s.tag ?? '');
        parts.push(varlenUnsigned(tag.length), tag);
      } else if ((s.tag ?? '') !== '') {
        throw misuse('a tagged GTID needs the tagged format');
      }
      parts.push(u64(s.intervals.length));
      for (const [start, end] of s.intervals) parts.push(u64(start), u64(big(end) + 1n));
    }
    return this.event(EventType.PREVIOUS_GTIDS, Buffer.concat(parts), { defaultFlags: EventFlag.IGNORABLE, ...opts });
  }

  /**
   * MariaDB GTID_EVENT: seq_no (8), domain_id (4), flags2 (1), then the 8-byte commit id when
   * flagged, then the XA xid (formatID 4, gtrid length 1, bqual length 1, data) when flagged, zero
   * padding up to 19 bytes, then any extra bytes (Gtid_log_event::write).
   */
  mariadbGtid(opts: MariadbGtidOptions): this {
    const usual = opts.standalone === true ? MariadbGtidFlag.STANDALONE : MariadbGtidFlag.TRANSACTIONAL | MariadbGtidFlag.ALLOW_PARALLEL;
    let flags = opts.flags ?? usual;
    if (opts.commitId !== undefined) flags |= MariadbGtidFlag.GROUP_COMMIT_ID;
    const parts = [u64(opts.seqNo), u32(opts.domainId), u8(flags)];
    if (opts.commitId !== undefined) parts.push(u64(opts.commitId));
    if ((flags & (MariadbGtidFlag.PREPARED_XA | MariadbGtidFlag.COMPLETED_XA)) !== 0) {
      if (opts.xa === undefined) throw misuse('an XA GTID event needs opts.xa');
      parts.push(u32(opts.xa.formatId), u8(opts.xa.gtrid.length), u8(opts.xa.bqual.length), opts.xa.gtrid, opts.xa.bqual);
    }
    // Zero-padded to the 19-byte GTID_HEADER_LEN; the XA xid follows the flags directly (seen in a
    // 10.11 file: seq, domain, 0x4c, 07000000 02 02 "gxbq", then flags_extra).
    const used = parts.reduce((n, b) => n + b.length, 0);
    if (used < 19) parts.push(Buffer.alloc(19 - used));
    if (opts.extra !== undefined) parts.push(opts.extra);
    return this.event(EventType.MARIADB_GTID, Buffer.concat(parts), { defaultFlags: EventFlag.SUPPRESS_USE, ...opts });
  }

  /**
   * MariaDB GTID_LIST_EVENT: count (low 28 bits) | flags << 28, then domain, server id, seq_no
   * per entry. An empty list carries 2 more zero bytes (seen in 10.5.15 and 10.11.19 files).
   */
  gtidList(entries: readonly GtidListEntry[], opts: EventOptions & { readonly flags?: number } = {}): this {
    const parts = [u32((((opts.flags ?? 0) << 28) | entries.length) >>> 0)];
    for (const e of entries) parts.push(u32(e.domainId), u32(e.serverId), u64(e.seqNo));
    if (entries.length === 0) parts.push(Buffer.alloc(2));
    return this.event(EventType.GTID_LIST, Buffer.concat(parts), opts);
  }

  /** MariaDB BINLOG_CHECKPOINT_EVENT: 4-byte name length, then the binlog file name. */
  binlogCheckpoint(file: string, opts: EventOptions = {}): this {
    const name = text(file);
    return this.event(EventType.BINLOG_CHECKPOINT, Buffer.concat([u32(name.length), name]), opts);
  }

  // --- rows -----------------------------------------------------------------------------------

  /**
   * TABLE_MAP_EVENT: table id (6), flags (2), db and table as length + name + NUL, column count
   * (packed), types, metadata length (packed) + metadata, null bitmap, then the optional TLV
   * metadata in init_metadata_fields order: SIGNEDNESS, charset, GEOMETRY_TYPE, VECTOR_DIM
   * [; FULL: COLUMN_NAME, ENUM_AND_SET charset, SET_STR, ENUM_STR, primary key, COLUMN_VISIBILITY].
   */
  tableMap(opts: TableMapOptions): this {
    const cols = opts.columns;
    const db = text(opts.db);
    const table = text(opts.table);
    const meta = Buffer.concat(cols.map((c) => encodeColumnMeta(c.type, c.meta)));
    const parts = [
      u48(opts.tableId),
      u16(opts.flags ?? 1),
      u8(db.length),
      db,
      u8(0),
      u8(table.length),
      table,
      u8(0),
      packedInt(cols.length),
      Buffer.from(cols.map(binlogType)),
      packedInt(meta.length),
      meta,
      bitmapLSB(cols.map((c) => c.nullable === true)),
    ];
    if (opts.metadata !== 'none') parts.push(this.#optionalMetadata(opts));
    if (opts.extraMetadata !== undefined) parts.push(opts.extraMetadata);
    return this.event(EventType.TABLE_MAP, Buffer.concat(parts), opts);
  }

  #optionalMetadata(opts: TableMapOptions): Buffer {
    const cols = opts.columns;
    const out: Array<Buffer | null> = [];
    const numeric = cols.filter((c) => c.numeric ?? defaultNumeric(this.flavor, c.type));
    if (numeric.length > 0) out.push(tlv(TableMapField.SIGNEDNESS, bitmapMSB(numeric.map((c) => c.unsigned === true))));
    const format = opts.charsetFormat ?? 'auto';
    const characters = cols.filter((c) => c.charset !== undefined && !isEnumOrSet(c));
    out.push(charsetField(characters, TableMapField.DEFAULT_CHARSET, TableMapField.COLUMN_CHARSET, format));
    const geoms = cols.filter((c) => c.type === ColumnType.GEOMETRY);
    if (geoms.length > 0) out.push(tlv(TableMapField.GEOMETRY_TYPE, Buffer.concat(geoms.map((c) => packedInt(c.geometryType ?? 0)))));
    const vectors = cols.filter((c) => c.type === ColumnType.VECTOR && c.vectorDimensions !== undefined);
    if (vectors.length > 0) out.push(tlv(TableMapField.VECTOR_DIMENSIONALITY, Buffer.concat(vectors.map((c) => packedInt(c.vectorDimensions!)))));
    if (opts.metadata === 'full') {
      const names = cols.map((c, i) => text(c.name ?? `c${i}`));
      out.push(tlv(TableMapField.COLUMN_NAME, Buffer.concat(names.flatMap((name) => [packedInt(name.length), name]))));
      const enumSet = cols.filter((c) => c.charset !== undefined && isEnumOrSet(c));
      out.push(charsetField(enumSet, TableMapField.ENUM_AND_SET_DEFAULT_CHARSET, TableMapField.ENUM_AND_SET_COLUMN_CHARSET, format));
      out.push(labelsField(TableMapField.SET_STR_VALUE, cols.filter((c) => c.type === ColumnType.SET).map((c) => c.setLabels ?? [])));
      out.push(labelsField(TableMapField.ENUM_STR_VALUE, cols.filter((c) => c.type === ColumnType.ENUM).map((c) => c.enumLabels ?? [])));
      out.push(primaryKeyField(opts.primaryKey));
      const visibility = opts.columnVisibility ?? (this.flavor === 'mysql' && this.#version >= 80023);
      if (visibility) out.push(tlv(TableMapField.COLUMN_VISIBILITY, bitmapMSB(cols.map((c) => c.visible !== false))));
    }
    return Buffer.concat(out.filter((b): b is Buffer => b !== null));
  }

  /** WRITE/UPDATE/DELETE rows event, v0 (pre-GA), v1 or v2. */
  rows(opts: RowsOptions): this {
    const base = opts.version === 0 ? EventType.PRE_GA_WRITE_ROWS : opts.version === 1 ? EventType.WRITE_ROWS_V1 : EventType.WRITE_ROWS_V2;
    const { head, data } = buildRows(opts, opts.version === 2, opts.padding ?? this.bitmapPadding);
    return this.event(rowsTypeCode(opts.kind, base), Buffer.concat([head, data]), opts);
  }

  /**
   * PARTIAL_UPDATE_ROWS_EVENT (39): an update v2 whose after image starts with value_options
   * (packed) and, when PARTIAL_JSON_UPDATES is set, the partial-JSON bitmap.
   */
  partialUpdateRows(opts: PartialUpdateRowsOptions): this {
    const width = rowsWidth(opts, opts.rows);
    const first = opts.rows[0];
    const before = resolvePresent(opts.columnsPresent, first?.before, width);
    const after = resolvePresent(opts.afterColumnsPresent, first?.after, width);
    const padding = opts.padding ?? this.bitmapPadding;
    const head = rowsHead(opts, true, width, before, after, padding);
    const data = opts.rows.map((r, i) => {
      const valueOptions = r.valueOptions ?? (r.partialBits !== undefined ? 1 : 0);
      const partial = (valueOptions & 1) !== 0 ? (r.partialBits ?? Buffer.alloc(0)) : Buffer.alloc(0);
      const beforeImage = packImage(before, r.before, `row ${i} before`, padding.nulls);
      return Buffer.concat([beforeImage, packedInt(valueOptions), partial, packImage(after, r.after, `row ${i} after`, padding.nulls)]);
    });
    return this.event(EventType.PARTIAL_UPDATE_ROWS, Buffer.concat([head, ...data]), opts);
  }

  /** MariaDB compressed rows event (166-168, or 169-171 for v2): the row data is binlog_buf_compress'ed. */
  mariadbCompressedRows(opts: MariadbCompressedRowsOptions): this {
    const base = opts.version === 1 ? EventType.WRITE_ROWS_COMPRESSED_V1 : EventType.WRITE_ROWS_COMPRESSED;
    const { head, data } = buildRows(opts, opts.version === 2, opts.padding ?? this.bitmapPadding);
    return this.event(rowsTypeCode(opts.kind, base), Buffer.concat([head, compressMariadb(data)]), opts);
  }

  /**
   * TRANSACTION_PAYLOAD_EVENT (40): TLV header (packed type, packed length, packed value):
   * COMPRESSION_TYPE (2), UNCOMPRESSED_SIZE (3, not for NONE), PAYLOAD_SIZE (1), END (0); then
   * the payload. Inner events are given framed, as servers put them: log_pos 0, no checksum.
   */
  transactionPayload(innerEvents: readonly Buffer[], opts: EventOptions & TransactionPayloadCompression): this {
    const inner = Buffer.concat(innerEvents);
    let payload: Buffer;
    let type: number;
    let uncompressed: number;
    const c: TransactionPayloadCompression = opts;
    if (c.compression === 'zstd-frame') [payload, type, uncompressed] = [c.frame, TRANSACTION_PAYLOAD_ZSTD, c.uncompressedSize];
    else if (c.compression === 'zstd-raw') [payload, type, uncompressed] = [zstdRawFrame(inner), TRANSACTION_PAYLOAD_ZSTD, inner.length];
    else [payload, type, uncompressed] = [inner, TRANSACTION_PAYLOAD_NONE, inner.length];
    const field = (code: number, value: IntLike): Buffer => {
      const v = packedInt(value);
      return Buffer.concat([packedInt(code), packedInt(v.length), v]);
    };
    const header = [field(2, type)];
    if (type !== TRANSACTION_PAYLOAD_NONE) header.push(field(3, uncompressed));
    header.push(field(1, payload.length), packedInt(0));
    return this.event(EventType.TRANSACTION_PAYLOAD, Buffer.concat([...header, payload]), opts);
  }

  /** An event framed for the inside of a TRANSACTION_PAYLOAD: log_pos 0, no checksum. */
  innerEvent(type: number, body: Uint8Array, opts: EventOptions = {}): Buffer {
    return encodeEvent(type, body, {
      timestamp: opts.timestamp ?? this.timestamp,
      serverId: opts.serverId ?? this.serverId,
      logPos: 0,
      flags: opts.headerFlags ?? 0,
      checksum: false,
    });
  }
}

function primaryKeyField(pk: TableMapOptions['primaryKey']): Buffer | null {
  if (pk === undefined || pk.length === 0) return null;
  const parts: Buffer[] = [];
  let withPrefix = false;
  for (const k of pk) {
    if (typeof k === 'number') parts.push(packedInt(k));
    else {
      withPrefix = true;
      parts.push(packedInt(k.column), packedInt(k.prefix));
    }
  }
  if (withPrefix && pk.some((k) => typeof k === 'number')) throw misuse('primaryKey mixes plain and prefixed columns');
  return tlv(withPrefix ? TableMapField.PRIMARY_KEY_WITH_PREFIX : TableMapField.SIMPLE_PRIMARY_KEY, Buffer.concat(parts));
}

function buildRows(opts: Omit<RowsOptions, 'version'>, v2: boolean, padding: BitmapPadding): { head: Buffer; data: Buffer } {
  const width = rowsWidth(opts, opts.rows);
  const first = opts.rows[0];
  const mainImage = (r: RowImages | undefined): readonly Cell[] | undefined => (opts.kind === 'write' ? r?.after : r?.before);
  const present = resolvePresent(opts.columnsPresent, mainImage(first), width);
  const after = opts.kind === 'update' ? resolvePresent(opts.afterColumnsPresent, first?.after, width) : null;
  const head = rowsHead(opts, v2, width, present, after, padding);
  const data = opts.rows.map((r, i) => {
    const main = packImage(present, mainImage(r), `row ${i} ${opts.kind === 'write' ? 'after' : 'before'}`, padding.nulls);
    return after === null ? main : Buffer.concat([main, packImage(after, r.after, `row ${i} after`, padding.nulls)]);
  });
  return { head, data: Buffer.concat(data) };
}

interface TaggedGtidFields {
  readonly flags: number;
  readonly uuid: Buffer;
  readonly gno: bigint;
  readonly tag: string;
  readonly lastCommitted: bigint;
  readonly sequenceNumber: bigint;
  readonly immediateTs: bigint;
  readonly originalTs: bigint;
  readonly trxLength: bigint;
  readonly immediateVer: number;
  readonly originalVer: number;
  readonly ticket: bigint;
}

/**
 * GTID_TAGGED_LOG_EVENT body in MySQL's serialization format (Gtid_event::define_fields): a
 * message = format version 1, total size, last non-ignorable field id (0), then (field id, value)
 * pairs; integers are varlen (signed ones zigzagged), the UUID is 16 varlen bytes, the tag a
 * varlen length + bytes. Optional fields are left out when equal to their default.
 */
function taggedGtidBody(f: TaggedGtidFields): Buffer {
  const tag = text(f.tag);
  const fields: Array<[number, Buffer] | null> = [
    [0, varlenUnsigned(f.flags)],
    [1, Buffer.concat([...f.uuid].map((b) => varlenUnsigned(b)))],
    [2, varlenSigned(f.gno)],
    [3, Buffer.concat([varlenUnsigned(tag.length), tag])],
    [4, varlenSigned(f.lastCommitted)],
    [5, varlenSigned(f.sequenceNumber)],
    [6, varlenUnsigned(f.immediateTs)],
    f.originalTs !== f.immediateTs ? [7, varlenUnsigned(f.originalTs)] : null,
    [8, varlenUnsigned(f.trxLength)],
    [9, varlenUnsigned(f.immediateVer)],
    f.originalVer !== f.immediateVer ? [10, varlenUnsigned(f.originalVer)] : null,
    f.ticket !== 0n ? [11, varlenUnsigned(f.ticket)] : null,
  ];
  const body = Buffer.concat(fields.filter((x): x is [number, Buffer] => x !== null).map(([id, v]) => Buffer.concat([varlenUnsigned(id), v])));
  const version = varlenUnsigned(1); // serialization_format_version, written as the message's field id
  const lastNonIgnorable = varlenUnsigned(0);
  // Serializer_default::get_size_serializable sizes the size field from the body size alone
  const total = version.length + varlenUnsigned(body.length).length + lastNonIgnorable.length + body.length;
  return Buffer.concat([version, varlenUnsigned(total), lastNonIgnorable, body]);
}
