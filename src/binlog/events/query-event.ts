/**
 * QUERY_EVENT and MariaDB's QUERY_COMPRESSED_EVENT (libs/mysql/binlog/event/statement_events.cpp,
 * MariaDB sql/log_event.cc Query_log_event). Post-header: thread id, exec time, db length, error
 * code, status-variables length; body: status variables, db name + NUL, the statement.
 * EXECUTE_LOAD_QUERY_EVENT (Execute_load_query_log_event, a LOAD DATA logged as a statement) has
 * the same layout with 13 more post-header bytes: file id u32, fn_pos_start u32, fn_pos_end u32,
 * and dup handling u8.
 */
import type { ByteReader } from '../byte-reader.js';
import type { EventHeader } from '../header.js';
import type { LoadQueryFile, QueryEvent, QueryStatus } from '../event.js';
import { inflateMariadb } from './mariadb-compression.js';

// Status variable codes (statement_events.h enum Query_event_status_vars; MariaDB adds 128+).
const Q_FLAGS2 = 0;
const Q_SQL_MODE = 1;
const Q_CATALOG = 2;
const Q_AUTO_INCREMENT = 3;
const Q_CHARSET = 4;
const Q_TIME_ZONE = 5;
const Q_CATALOG_NZ = 6;
const Q_LC_TIME_NAMES = 7;
const Q_CHARSET_DATABASE = 8;
const Q_TABLE_MAP_FOR_UPDATE = 9;
const Q_MASTER_DATA_WRITTEN = 10;
const Q_INVOKER = 11;
const Q_UPDATED_DB_NAMES = 12;
const Q_MICROSECONDS = 13;
const Q_COMMIT_TS = 14;
const Q_COMMIT_TS2 = 15;
const Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP = 16;
const Q_DDL_LOGGED_WITH_XID = 17;
const Q_DEFAULT_COLLATION_FOR_UTF8MB4 = 18;
const Q_SQL_REQUIRE_PRIMARY_KEY = 19;
const Q_DEFAULT_TABLE_ENCRYPTION = 20;
const Q_HRNOW = 128; // MariaDB: microseconds of the start time
const Q_XID = 129; // MariaDB: XID of a DDL logged with one
const Q_GTID_FLAGS3 = 130; // MariaDB 10.9+
const Q_CHARACTER_SET_COLLATIONS = 131; // MariaDB 11.2+
const OVER_MAX_DBS_IN_EVENT_MTS = 254;

type MutableStatus = { -readonly [K in keyof QueryStatus]: QueryStatus[K] };

function emptyStatus(): MutableStatus {
  return {
    flags2: null,
    sqlMode: null,
    catalog: null,
    autoIncrementIncrement: null,
    autoIncrementOffset: null,
    charset: null,
    timeZone: null,
    lcTimeNamesNumber: null,
    charsetDatabaseNumber: null,
    tableMapForUpdate: null,
    user: null,
    host: null,
    microseconds: null,
    explicitDefaultsForTimestamp: null,
    ddlXid: null,
    defaultCollationForUtf8mb4: null,
    sqlRequirePrimaryKey: null,
    defaultTableEncryption: null,
    xid: null,
  };
}

/**
 * Reads status variables until `end`. An unknown code stops the scan, as the server does: the
 * remaining variables cannot be sized, and the statement after them is still found by length.
 */
function readStatus(r: ByteReader, end: number): QueryStatus {
  const s = emptyStatus();
  while (r.pos < end) {
    const code = r.u8();
    switch (code) {
      case Q_FLAGS2:
        s.flags2 = r.u32le();
        break;
      case Q_SQL_MODE:
        s.sqlMode = r.u64le();
        break;
      case Q_CATALOG: {
        s.catalog = r.utf8(r.u8());
        r.skip(1);
        break;
      }
      case Q_AUTO_INCREMENT:
        s.autoIncrementIncrement = r.u16le();
        s.autoIncrementOffset = r.u16le();
        break;
      case Q_CHARSET:
        s.charset = { client: r.u16le(), connection: r.u16le(), server: r.u16le() };
        break;
      case Q_TIME_ZONE:
        s.timeZone = r.latin1(r.u8());
        break;
      case Q_CATALOG_NZ:
        s.catalog = r.utf8(r.u8());
        break;
      case Q_LC_TIME_NAMES:
        s.lcTimeNamesNumber = r.u16le();
        break;
      case Q_CHARSET_DATABASE:
        s.charsetDatabaseNumber = r.u16le();
        break;
      case Q_TABLE_MAP_FOR_UPDATE:
        s.tableMapForUpdate = r.u64le();
        break;
      case Q_MASTER_DATA_WRITTEN:
        r.skip(4);
        break;
      case Q_INVOKER:
        s.user = r.utf8(r.u8());
        s.host = r.utf8(r.u8());
        break;
      case Q_UPDATED_DB_NAMES: {
        const count = r.u8();
        if (count !== OVER_MAX_DBS_IN_EVENT_MTS) {
          for (let i = 0; i < count; i++) {
            while (r.u8() !== 0) {
              /* NUL-terminated name, not needed */
            }
          }
        }
        break;
      }
      case Q_MICROSECONDS:
      case Q_HRNOW:
        s.microseconds = r.u24le();
        break;
      case Q_COMMIT_TS:
      case Q_COMMIT_TS2:
        // Never written by released servers; their size is not defined, so stop here.
        r.pos = end;
        break;
      case Q_EXPLICIT_DEFAULTS_FOR_TIMESTAMP:
        s.explicitDefaultsForTimestamp = r.u8() !== 0;
        break;
      case Q_DDL_LOGGED_WITH_XID:
        s.ddlXid = r.u64le();
        break;
      case Q_DEFAULT_COLLATION_FOR_UTF8MB4:
        s.defaultCollationForUtf8mb4 = r.u16le();
        break;
      case Q_SQL_REQUIRE_PRIMARY_KEY:
        s.sqlRequirePrimaryKey = r.u8();
        break;
      case Q_DEFAULT_TABLE_ENCRYPTION:
        s.defaultTableEncryption = r.u8();
        break;
      case Q_XID:
        s.xid = r.u64le();
        break;
      case Q_GTID_FLAGS3:
        r.skip(1);
        break;
      case Q_CHARACTER_SET_COLLATIONS:
      default:
        r.pos = end;
        break;
    }
  }
  return s;
}

/** QUERY's own post-header; EXECUTE_LOAD_QUERY's adds LOAD_EXTRA bytes after it. */
const QUERY_POST_HEADER = 13;
const LOAD_EXTRA = 13;

/** Decodes a QUERY event body (or a QUERY_COMPRESSED one when `compressed`). */
export function decodeQuery(r: ByteReader, header: EventHeader, postHeader: number, compressed: boolean): QueryEvent {
  return decodeQueryLayout(r, header, postHeader, compressed, false);
}

/**
 * Decodes an EXECUTE_LOAD_QUERY event body: the LOAD DATA statement, as a query event with its
 * file facts, so that it goes where every other logged statement goes.
 */
export function decodeExecuteLoadQuery(r: ByteReader, header: EventHeader, postHeader: number): QueryEvent {
  return decodeQueryLayout(r, header, postHeader, false, true);
}

function decodeQueryLayout(r: ByteReader, header: EventHeader, postHeader: number, compressed: boolean, withLoad: boolean): QueryEvent {
  const bodyStart = r.pos;
  const threadId = r.u32le();
  const execTime = r.u32le();
  const schemaLength = r.u8();
  const errorCode = r.u16le();
  const statusLength = postHeader >= QUERY_POST_HEADER ? r.u16le() : 0;
  let load: LoadQueryFile | null = null;
  if (withLoad && postHeader >= QUERY_POST_HEADER + LOAD_EXTRA) {
    load = { fileId: r.u32le(), fnPosStart: r.u32le(), fnPosEnd: r.u32le(), duplicateHandling: r.u8() };
  }
  r.pos = bodyStart + postHeader;
  const statusEnd = r.pos + statusLength;
  r.need(statusLength);
  const status = readStatus(r, statusEnd);
  r.pos = statusEnd;
  const schema = r.utf8(schemaLength);
  r.skip(1);
  let sql: string;
  if (compressed) {
    const inflated = inflateMariadb(r.rest());
    sql = inflated.toString('utf8');
  } else {
    // Statement text is in character_set_client; utf8 covers what the engine acts on (it only
    // classifies and quarantines statements, never re-executes them byte for byte).
    sql = r.utf8(r.remaining);
  }
  return { kind: 'query', header, threadId, execTime, errorCode, schema, sql, status, load };
}

