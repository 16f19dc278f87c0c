/**
 * Typed binlog events: what the decoder yields. Every event carries its header; `kind` discriminates.
 * Events own their data (no views into the decoder's buffers), so a consumer may keep them.
 */
import type { ColumnDef, RowImage } from './column.js';
import type { EventHeader } from './header.js';

export type Flavor = 'mysql' | 'mariadb';

/** Checksum algorithm announced by the FORMAT_DESCRIPTION event (binlog_checksum). */
export const ChecksumAlgorithm = {
  OFF: 0, // BINLOG_CHECKSUM_ALG_OFF
  CRC32: 1, // BINLOG_CHECKSUM_ALG_CRC32
  UNDEF: 255, // BINLOG_CHECKSUM_ALG_UNDEF (servers before 5.6.1 / MariaDB 5.3)
} as const;
export type ChecksumAlgorithm = (typeof ChecksumAlgorithm)[keyof typeof ChecksumAlgorithm];

export interface FormatDescription {
  readonly binlogVersion: number;
  readonly serverVersion: string;
  readonly createTimestamp: number;
  readonly headerLength: number;
  /** Post-header length by event type code (index = type code − 1, as the server stores it). */
  readonly postHeaderLengths: Uint8Array;
  readonly checksumAlgorithm: ChecksumAlgorithm;
  readonly flavor: Flavor;
}

export interface FormatDescriptionEvent extends FormatDescription {
  readonly kind: 'format-description';
  readonly header: EventHeader;
  /** LOG_EVENT_BINLOG_IN_USE_F: the server had the file open (crash, or copied while open). */
  readonly inUse: boolean;
}

export interface QueryStatus {
  readonly flags2: number | null;
  readonly sqlMode: bigint | null;
  readonly catalog: string | null;
  readonly autoIncrementIncrement: number | null;
  readonly autoIncrementOffset: number | null;
  /** character_set_client, collation_connection, collation_server (collation ids). */
  readonly charset: { readonly client: number; readonly connection: number; readonly server: number } | null;
  readonly timeZone: string | null;
  readonly lcTimeNamesNumber: number | null;
  readonly charsetDatabaseNumber: number | null;
  readonly tableMapForUpdate: bigint | null;
  readonly user: string | null;
  readonly host: string | null;
  readonly microseconds: number | null;
  readonly explicitDefaultsForTimestamp: boolean | null;
  readonly ddlXid: bigint | null;
  readonly defaultCollationForUtf8mb4: number | null;
  readonly sqlRequirePrimaryKey: number | null;
  readonly defaultTableEncryption: number | null;
  readonly xid: bigint | null;
}

export interface QueryEvent {
  readonly kind: 'query';
  readonly header: EventHeader;
  readonly threadId: number;
  readonly execTime: number;
  readonly errorCode: number;
  readonly schema: string;
  readonly sql: string;
  readonly status: QueryStatus;
  /** EXECUTE_LOAD_QUERY only (a LOAD DATA statement): which loaded file it reads; null for QUERY. */
  readonly load: LoadQueryFile | null;
}

/**
 * The extra post-header of EXECUTE_LOAD_QUERY (Execute_load_query_log_event, sql/log_event.h): the
 * file its BEGIN_LOAD_QUERY / APPEND_BLOCK events carried, and where the file clause sits in the
 * statement.
 */
export interface LoadQueryFile {
  readonly fileId: number;
  /**
   * fn_pos_start / fn_pos_end: byte offsets of the span a replica rewrites to name its local copy
   * of the file. MariaDB 10.11 spans from after `LOAD DATA` through `INTO` (9 and 63 for
   * `LOAD DATA LOCAL INFILE '<28 bytes>' IGNORE INTO …`).
   */
  readonly fnPosStart: number;
  readonly fnPosEnd: number;
  /** enum_load_dup_handling: 0 error, 1 ignore, 2 replace. */
  readonly duplicateHandling: number;
}

export interface XidEvent {
  readonly kind: 'xid';
  readonly header: EventHeader;
  readonly xid: bigint;
}

export interface RotateEvent {
  readonly kind: 'rotate';
  readonly header: EventHeader;
  readonly position: bigint;
  readonly nextFile: string;
}

export interface StopEvent {
  readonly kind: 'stop';
  readonly header: EventHeader;
}

export interface IntvarEvent {
  readonly kind: 'intvar';
  readonly header: EventHeader;
  /** 1 = LAST_INSERT_ID, 2 = INSERT_ID. */
  readonly subtype: number;
  readonly value: bigint;
}

export interface RandEvent {
  readonly kind: 'rand';
  readonly header: EventHeader;
  readonly seed1: bigint;
  readonly seed2: bigint;
}

export interface UserVarEvent {
  readonly kind: 'user-var';
  readonly header: EventHeader;
  readonly name: string;
  readonly isNull: boolean;
  /** Item_result: 0 STRING, 1 REAL, 2 INT, 3 ROW, 4 DECIMAL. */
  readonly valueType: number;
  readonly collation: number;
  readonly value: Buffer;
  readonly flags: number;
}

export interface TableMap {
  readonly tableId: number;
  readonly schema: string;
  readonly table: string;
  readonly flags: number;
  readonly columns: readonly ColumnDef[];
  /** Primary-key column indexes from the metadata (SIMPLE_PRIMARY_KEY / PRIMARY_KEY_WITH_PREFIX), else null. */
  readonly primaryKey: readonly number[] | null;
  /** Which optional metadata the binlog carried (MySQL binlog_row_metadata / MariaDB binlog_row_metadata). */
  readonly metadata: 'none' | 'minimal' | 'full';
}

export interface TableMapEvent {
  readonly kind: 'table-map';
  readonly header: EventHeader;
  readonly map: TableMap;
}

export type RowOperation = 'insert' | 'update' | 'delete';

/**
 * One row change: what a rows event carries per row, and what a transaction lists. The same
 * object serves both, so the hot path allocates one per row.
 */
export interface RowChange {
  readonly op: RowOperation;
  readonly table: TableMap;
  readonly before: RowImage | null;
  readonly after: RowImage | null;
  /** Offset of the rows event that carried it. */
  readonly eventOffset: number;
}


export interface RowsEvent {
  readonly kind: 'rows';
  readonly header: EventHeader;
  readonly op: RowOperation;
  readonly table: TableMap;
  /** 1 = STMT_END_F: the last rows event of its statement. */
  readonly flags: number;
  readonly rows: readonly RowChange[];
  /** PARTIAL_UPDATE_ROWS: JSON columns in the after images were rebuilt from diffs against the before images. */
  readonly partialJson: boolean;
}

export interface MysqlGtidEvent {
  readonly kind: 'gtid';
  readonly header: EventHeader;
  /** ANONYMOUS_GTID (gtid_mode=OFF): uuid and gno are zero. */
  readonly anonymous: boolean;
  readonly uuid: string;
  /** MySQL 8.3+ tagged GTID, else null. */
  readonly tag: string | null;
  readonly gno: bigint;
  readonly commitFlag: boolean;
  readonly lastCommitted: bigint | null;
  readonly sequenceNumber: bigint | null;
  readonly immediateCommitTimestamp: bigint | null;
  readonly originalCommitTimestamp: bigint | null;
  readonly transactionLength: bigint | null;
  readonly immediateServerVersion: number | null;
  readonly originalServerVersion: number | null;
}

export interface GtidInterval {
  readonly start: bigint;
  /** Exclusive, as the server stores it. */
  readonly end: bigint;
}

export interface PreviousGtidsEvent {
  readonly kind: 'previous-gtids';
  readonly header: EventHeader;
  readonly sets: ReadonlyArray<{ readonly uuid: string; readonly tag: string | null; readonly intervals: readonly GtidInterval[] }>;
}

export interface MariadbGtid {
  readonly domainId: number;
  readonly serverId: number;
  readonly seqNo: bigint;
}

export interface MariadbGtidEvent {
  readonly kind: 'mariadb-gtid';
  readonly header: EventHeader;
  readonly gtid: MariadbGtid;
  readonly flags: number;
  /** FL_STANDALONE: a single statement group with no COMMIT/XID after it (DDL). */
  readonly standalone: boolean;
  readonly commitId: bigint | null;
  /** XA transactions (FL_PREPARED_XA / FL_COMPLETED_XA): the XID. */
  readonly xa: { readonly formatId: number; readonly gtrid: Buffer; readonly bqual: Buffer } | null;
}

export interface GtidListEvent {
  readonly kind: 'gtid-list';
  readonly header: EventHeader;
  readonly gtids: readonly MariadbGtid[];
  readonly flags: number;
}

export interface BinlogCheckpointEvent {
  readonly kind: 'binlog-checkpoint';
  readonly header: EventHeader;
  readonly file: string;
}

export interface AnnotateRowsEvent {
  readonly kind: 'annotate-rows';
  readonly header: EventHeader;
  /** The statement text, or null when the decoder was told to skip annotations (hot path). */
  readonly sql: string | null;
  /**
   * Where the text's bytes lie in the file (`header.offset` + the 19-byte header) and how many
   * there are (the checksum left out): what a report reads back for the few changes it shows
   * when the decoder skipped the text (transaction.ts StatementMark).
   */
  readonly textAt: number;
  readonly textLength: number;
  /**
   * The event's own CRC32 as stored in the file (null when the file has no checksums): with the
   * header's timestamp, what tells a read-back that the bytes at `textAt` are still this event.
   */
  readonly checksum: number | null;
}

export interface RowsQueryEvent {
  readonly kind: 'rows-query';
  readonly header: EventHeader;
  readonly sql: string;
}

export interface XaPrepareEvent {
  readonly kind: 'xa-prepare';
  readonly header: EventHeader;
  readonly onePhase: boolean;
  readonly formatId: number;
  readonly gtrid: Buffer;
  readonly bqual: Buffer;
}

export interface IncidentEvent {
  readonly kind: 'incident';
  readonly header: EventHeader;
  readonly incident: number;
  readonly message: string;
}

export interface HeartbeatEvent {
  readonly kind: 'heartbeat';
  readonly header: EventHeader;
  readonly logFile: string;
}

export interface TransactionPayloadEvent {
  readonly kind: 'transaction-payload';
  readonly header: EventHeader;
  /** 0 = ZSTD, 255 = NONE. */
  readonly compression: number;
  readonly payloadSize: number;
  readonly uncompressedSize: number;
  /** The events inside, decoded in place (GTID … rows … XID). */
  readonly events: readonly BinlogEvent[];
}

/** A known event that carries nothing the engine uses (obsolete LOAD events, group-replication bookkeeping, IGNORABLE). */
export interface IgnoredEvent {
  readonly kind: 'ignored';
  readonly header: EventHeader;
}

/** An event type this decoder does not know; skipped, with a warning. */
export interface UnknownEvent {
  readonly kind: 'unknown';
  readonly header: EventHeader;
}

/**
 * An event that failed its checksum or did not decode, passed over because the decoder was told
 * to (`damaged: 'skip'`); the events after it, up to the next transaction, come as `ignored`.
 */
export interface DamagedEvent {
  readonly kind: 'damaged';
  /** As read from the damaged bytes: its offset and size are trusted, the other fields may be damaged. */
  readonly header: EventHeader;
  /** The error the decoder would have thrown (a BinlogErrorCode) and its message. */
  readonly code: string;
  readonly message: string;
}

export type BinlogEvent =
  | FormatDescriptionEvent
  | QueryEvent
  | XidEvent
  | RotateEvent
  | StopEvent
  | IntvarEvent
  | RandEvent
  | UserVarEvent
  | TableMapEvent
  | RowsEvent
  | MysqlGtidEvent
  | PreviousGtidsEvent
  | MariadbGtidEvent
  | GtidListEvent
  | BinlogCheckpointEvent
  | AnnotateRowsEvent
  | RowsQueryEvent
  | XaPrepareEvent
  | IncidentEvent
  | HeartbeatEvent
  | TransactionPayloadEvent
  | IgnoredEvent
  | UnknownEvent
  | DamagedEvent;

/** A non-fatal finding (unknown event type, skipped annotation) reported beside the events. */
export interface DecodeWarning {
  readonly code: string;
  readonly message: string;
  readonly offset: number;
  readonly eventType: number;
}
