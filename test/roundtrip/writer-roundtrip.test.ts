/**
 * decode(encode(x)) = x for whole binlogs of events a server rarely writes. fast-check generates a
 * binlog (flavour, server version, checksum on/off) of transactions — MySQL plain, tagged or
 * anonymous GTIDs or MariaDB GTIDs; table maps with metadata NONE/MINIMAL/FULL over every column
 * type the value encoder supports; v1/v2 write/update/delete rows, PARTIAL_UPDATE_ROWS with JSON
 * diffs, MariaDB compressed rows; partial images and NULLs anywhere; optionally wrapped in a
 * TRANSACTION_PAYLOAD — with noise events around them. The test writer (test/harness/binlog-writer.ts)
 * encodes it; the expected events and transactions are built from the generated values alone, and
 * the decoder must reproduce them exactly, however the bytes are chunked.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { BinlogDecoder, type IncompleteTail } from '../../src/binlog/decoder.js';
import type { ColumnDef, RowImage } from '../../src/binlog/column.js';
import { ColumnType } from '../../src/binlog/column-types.js';
import type { BinlogEvent, DecodeWarning, TableMap } from '../../src/binlog/event.js';
import { TransactionAssembler, type Gtid, type LoggedStatement, type StatementMark, type TransactionItem } from '../../src/binlog/transaction.js';
import { JsonDecimal, JsonValue, type JsonNode } from '../../src/binlog/values/json-value.js';
import { BinlogWriter, EventFlag, type Cell } from '../harness/binlog-writer.js';
import { JsonbDecimal, JsonbDouble, JsonbFormat, JsonbInt, JsonbOpaque, JsonbTemporal, encodeJsonBinary, encodeJsonDiffs } from '../harness/json-binary-encoder.js';
import { encodeColumnValue, testColumn } from '../harness/value-encoder.js';
import {
  arbColumns,
  arbDiffSeed,
  arbEncodedValue,
  arbJsonContainer,
  arbJsonDocument,
  buildJsonDiffs,
  decodedColumn,
  decodedMetadataMode,
  toWriterColumn,
  type EncodedValue,
  type Flavor,
  type RowMetadata,
} from './arbitraries.js';

const FILE = 'roundtrip-bin.000001';
/** Fixed seed: the regular suite is reproducible; FC_SEED overrides it to explore. */
const SEED = Number(process.env['FC_SEED'] ?? 20240611);
const RUNS = Number(process.env['FC_RUNS'] ?? 120);

// ---------------------------------------------------------------------------------------------
// Servers and what they can write

interface Server {
  readonly flavor: Flavor;
  readonly version: string;
  readonly checksum: boolean;
  /** The FDE keeps LOG_EVENT_BINLOG_IN_USE_F (a crashed server's file); its CRC is over the cleared flag. */
  readonly inUse: boolean;
}

function versionNumber(version: string): number {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version)!;
  return Number(m[1]) * 10000 + Number(m[2]) * 100 + Number(m[3]);
}

/** Event kinds each server version writes (or at least announces in its FDE). */
function features(s: Server): {
  v1Rows: boolean;
  partial: boolean;
  payload: boolean;
  tagged: boolean;
  compressedRows: boolean;
  heartbeatV2: boolean;
  visibility: boolean;
} {
  const v = versionNumber(s.version);
  const mysql = s.flavor === 'mysql';
  return {
    v1Rows: !mysql || v < 80400, // removed in 8.4
    partial: mysql && v >= 80000,
    payload: mysql && v >= 80020,
    tagged: mysql && v >= 80300,
    compressedRows: !mysql,
    heartbeatV2: mysql && v >= 80026,
    visibility: mysql && v >= 80023,
  };
}

const arbServer: fc.Arbitrary<Server> = fc.record({
  flavor: fc.constantFrom<Flavor>('mysql', 'mariadb'),
  pick: fc.nat(),
  checksum: fc.boolean(),
  inUse: fc.boolean(),
}).map(({ flavor, pick, checksum, inUse }) => {
  const versions = flavor === 'mysql' ? ['5.7.21', '8.0.40', '8.4.3', '9.1.0'] : ['10.5.15-MariaDB-log', '10.11.19-MariaDB-log'];
  return { flavor, version: versions[pick % versions.length]!, checksum, inUse };
});

// ---------------------------------------------------------------------------------------------
// Generated binlog model

interface GenTable {
  readonly tableId: number;
  readonly schema: string;
  readonly table: string;
  readonly truth: readonly ColumnDef[];
  readonly metadata: RowMetadata;
  readonly primaryKey: readonly number[] | ReadonlyArray<{ column: number; prefix: number }>;
  /** The columns as the decoder must report them (and as the values were generated for). */
  readonly decoded: readonly ColumnDef[];
  readonly expectedMap: TableMap;
}

type RowsForm = 'v1' | 'v2' | 'partial' | 'compressed-v1' | 'compressed-v2';
type RowsKind = 'write' | 'update' | 'delete';

interface GenRow {
  readonly beforeCells?: Cell[];
  readonly afterCells?: Cell[];
  readonly before: RowImage | null;
  readonly after: RowImage | null;
  readonly partialBits?: Buffer;
  readonly valueOptions?: number;
}

interface GenRowsEvent {
  readonly form: RowsForm;
  readonly kind: RowsKind;
  readonly table: GenTable;
  readonly present: boolean[];
  readonly afterPresent: boolean[];
  readonly rows: GenRow[];
  readonly flags: number;
  readonly extraData: Buffer | undefined;
}

type GenNoise =
  | { readonly kind: 'intvar'; readonly subtype: 1 | 2; readonly value: bigint }
  | { readonly kind: 'rand'; readonly seed1: bigint; readonly seed2: bigint }
  | { readonly kind: 'user-var'; readonly name: string; readonly value: null | { type: number; charset: number; bytes: Buffer; flags: number | undefined } }
  | { readonly kind: 'heartbeat'; readonly file: string; readonly pos: number; readonly v2: boolean }
  | { readonly kind: 'unknown'; readonly typeCode: number; readonly body: Buffer };

type TxItem =
  | { readonly kind: 'rows'; readonly ev: GenRowsEvent; readonly annotation: string | null }
  | { readonly kind: 'statement'; readonly sql: string; readonly schema: string }
  | { readonly kind: 'noise'; readonly noise: GenNoise };

/** The logical-clock, timestamp, length and version fields of a MySQL GTID event. */
interface MysqlGtidFields {
  readonly commitFlag: boolean;
  readonly lastCommitted: bigint;
  readonly sequenceNumber: bigint;
  readonly immediateTs: bigint;
  readonly originalTs: bigint;
  readonly transactionLength: bigint;
  readonly immediateVersion: number;
  readonly originalVersion: number;
}

type GenGtid =
  | { readonly kind: 'mysql'; readonly anonymous: boolean; readonly uuid: string; readonly tag: string | null; readonly gno: bigint; readonly fields: MysqlGtidFields }
  | { readonly kind: 'mariadb'; readonly domainId: number; readonly seqNo: bigint; readonly commitId: bigint | null };

interface GenTx {
  /** 'ddl': a standalone statement group (MariaDB FL_STANDALONE; MySQL: GTID then the statement). */
  readonly shape: 'dml' | 'ddl';
  readonly ddl: string;
  /** MariaDB: statements, DDL and COMMIT as QUERY_COMPRESSED_EVENT (log_bin_compress). */
  readonly compressedQueries: boolean;
  readonly gtid: GenGtid;
  readonly serverId: number;
  readonly timestamp: number;
  readonly items: TxItem[];
  readonly commit: { readonly kind: 'xid'; readonly xid: bigint } | { readonly kind: 'commit' };
  readonly payload: null | 'none' | 'zstd-raw';
  readonly noiseAfter: GenNoise[];
}

/** What a file starts with after its FDE: MySQL's PREVIOUS_GTIDS, MariaDB's GTID_LIST and BINLOG_CHECKPOINT. */
interface FileHeader {
  readonly previousGtids: ReadonlyArray<{ uuid: string; tag: string | null; intervals: Array<[bigint, bigint]> }>;
  readonly gtidList: ReadonlyArray<{ domainId: number; serverId: number; seqNo: bigint }>;
}

interface Scenario {
  readonly server: Server;
  readonly header: FileHeader;
  readonly txs: GenTx[];
  readonly rotate: boolean;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries of the model

const JSON_HEAVY = [ColumnType.JSON, ColumnType.JSON, ColumnType.JSON, ColumnType.LONG, ColumnType.VARCHAR];

const NAME = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_0123456789é'), minLength: 1, maxLength: 10 });

function arbTable(server: Server): fc.Arbitrary<GenTable> {
  const f = features(server);
  return fc
    .record({
      tableId: fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 2 ** 40 })),
      schema: NAME,
      table: NAME,
      // Sometimes JSON-heavy (MySQL): several JSON columns make partial_bits and partial images interesting.
      truth: server.flavor === 'mysql' ? fc.oneof({ weight: 3, arbitrary: arbColumns(server.flavor, { maxColumns: 7 }) }, { weight: 1, arbitrary: arbColumns(server.flavor, { minColumns: 2, maxColumns: 5, types: JSON_HEAVY }) }) : arbColumns(server.flavor, { maxColumns: 7 }),
      metadata: fc.constantFrom<RowMetadata>('none', 'minimal', 'full'),
      pkSeed: fc.array(fc.nat(), { maxLength: 3 }),
      pkPrefix: fc.option(fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 3, maxLength: 3 }), { nil: null }),
    })
    .map(({ tableId, schema, table, truth, metadata, pkSeed, pkPrefix }) => {
      const pkColumns = [...new Set(pkSeed.map((n) => n % truth.length))];
      const primaryKey = pkPrefix === null ? pkColumns : pkColumns.map((column, i) => ({ column, prefix: pkPrefix[i]! }));
      const decoded = truth.map((c) => decodedColumn(c, metadata, server.flavor, f.visibility));
      const expectedMap: TableMap = {
        tableId,
        schema,
        table,
        flags: 1,
        columns: decoded,
        primaryKey: metadata === 'full' && pkColumns.length > 0 ? pkColumns : null,
        metadata: decodedMetadataMode(truth, metadata, server.flavor),
      };
      return { tableId, schema, table, truth, metadata, primaryKey, decoded, expectedMap };
    });
}

/** One image over `present` columns: NULLs anywhere (nullable or not: the decoder must not care). */
function arbImage(cols: readonly ColumnDef[], present: readonly boolean[]): fc.Arbitrary<{ cells: Cell[]; image: RowImage }> {
  return fc
    .tuple(...cols.map((c, i) => (present[i] ? fc.option(arbEncodedValue(c), { freq: 4, nil: null }) : fc.constant(undefined))))
    .map((vals: Array<EncodedValue | null | undefined>) => ({
      cells: vals.map((v) => (v === undefined ? undefined : v === null ? null : v.bytes)),
      image: vals.map((v) => (v === undefined ? undefined : v === null ? null : v.value)),
    }));
}

/**
 * Columns in an image: all, or any non-empty subset. An image of no column is zero bytes, so a rows
 * event of such rows cannot say how many it holds; servers never log one (a MINIMAL image keeps the
 * key or the changed columns).
 */
const arbBitmap = (n: number): fc.Arbitrary<boolean[]> =>
  fc.oneof(fc.constant(Array.from({ length: n }, () => true)), fc.array(fc.boolean(), { minLength: n, maxLength: n }).filter((bits) => bits.some(Boolean)));

function arbRowsEvent(server: Server, table: GenTable): fc.Arbitrary<GenRowsEvent> {
  const f = features(server);
  const forms: RowsForm[] = ['v2'];
  if (f.v1Rows) forms.push('v1');
  if (f.compressedRows) forms.push('compressed-v1', 'compressed-v2');
  const jsonCols = table.decoded.filter((c) => c.type === ColumnType.JSON).map((c) => c.index);
  if (f.partial && jsonCols.length > 0) forms.push('partial', 'partial');
  const n = table.decoded.length;
  return fc
    .record({
      form: fc.constantFrom(...forms),
      kind: fc.constantFrom<RowsKind>('write', 'update', 'delete'),
      present: arbBitmap(n),
      afterPresent: arbBitmap(n),
      flags: fc.constantFrom(1, 0, 1 | 2, 1 | 4 | 8),
      extra: fc.option(fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a)), { nil: undefined }),
      rowCount: fc.integer({ min: 1, max: 3 }),
    })
    .chain(({ form, kind, present, afterPresent, flags, extra, rowCount }) => {
      const v2 = form === 'v2' || form === 'partial' || form === 'compressed-v2';
      const base = { form, table, flags, extraData: v2 ? extra : undefined };
      if (form === 'partial') return arbPartialRows(table, present, afterPresent, rowCount).map((rows) => ({ ...base, kind: 'update' as const, present, afterPresent, rows }));
      const one: fc.Arbitrary<GenRow> =
        kind === 'write'
          ? arbImage(table.decoded, present).map((a) => ({ afterCells: a.cells, before: null, after: a.image }))
          : kind === 'delete'
            ? arbImage(table.decoded, present).map((b) => ({ beforeCells: b.cells, before: b.image, after: null }))
            : fc.tuple(arbImage(table.decoded, present), arbImage(table.decoded, afterPresent)).map(([b, a]) => ({ beforeCells: b.cells, afterCells: a.cells, before: b.image, after: a.image }));
      return fc.array(one, { minLength: rowCount, maxLength: rowCount }).map((rows) => ({ ...base, kind, present, afterPresent, rows }));
    });
}

/**
 * PARTIAL_UPDATE_ROWS rows: a JSON column present in both images may carry diffs against its
 * (container, non-NULL) before value. partial_bits has one bit per JSON column of the TABLE, in
 * column order, whether or not the column is in the after image (sql/rpl_record.cc pack_row).
 */
function arbPartialRows(table: GenTable, present: boolean[], afterPresent: boolean[], rowCount: number): fc.Arbitrary<GenRow[]> {
  const cols = table.decoded;
  const jsonCols = cols.filter((c) => c.type === ColumnType.JSON);
  const candidates = jsonCols.filter((c) => present[c.index] && afterPresent[c.index]);
  const arbRow = fc
    .record({
      before: arbImage(cols, present),
      after: arbImage(cols, afterPresent),
      partial: fc.array(fc.record({ on: fc.boolean(), base: arbJsonDocument(arbJsonContainer()), seeds: fc.array(arbDiffSeed, { minLength: 1, maxLength: 4 }) }), { minLength: candidates.length, maxLength: candidates.length }),
      emptyOptions: fc.boolean(),
    })
    .map(({ before, after, partial, emptyOptions }): GenRow => {
      const beforeCells = [...before.cells];
      const beforeImage = [...before.image];
      const afterCells = [...after.cells];
      const afterImage = [...after.image];
      const bits = Buffer.alloc((jsonCols.length + 7) >> 3);
      candidates.forEach((col, k) => {
        const p = partial[k]!;
        if (!p.on) return;
        const { diffs, after: doc } = buildJsonDiffs(p.base.node, p.seeds);
        beforeCells[col.index] = encodeColumnValue(p.base.bytes, col);
        beforeImage[col.index] = new JsonValue(p.base.node);
        afterCells[col.index] = encodeJsonDiffs(diffs);
        afterImage[col.index] = new JsonValue(doc);
        const bit = jsonCols.indexOf(col);
        bits[bit >> 3]! |= 1 << (bit & 7);
      });
      const anyPartial = candidates.some((_, k) => partial[k]!.on);
      // With no diff in the row the server writes value_options 0 and no bits; a row whose diffs all
      // fell back to full values has value_options 1 and all-zero bits.
      if (!anyPartial && !emptyOptions) return { beforeCells, afterCells, before: beforeImage, after: afterImage, valueOptions: 0 };
      return { beforeCells, afterCells, before: beforeImage, after: afterImage, valueOptions: 1, partialBits: bits };
    });
  return fc.array(arbRow, { minLength: rowCount, maxLength: rowCount });
}

const UUID = fc.uuid({ version: [1, 4] }).map((u) => u.toLowerCase());
const STATEMENTS = fc.constantFrom('INSERT INTO t1 VALUES (1)', "UPDATE t2 SET c = 'ü' WHERE id = 7", 'DELETE FROM t3 WHERE a > 2', 'SET @x = 1', 'begin_work()');

function arbNoise(server: Server, inside: boolean): fc.Arbitrary<GenNoise> {
  const f = features(server);
  const inner: Array<fc.Arbitrary<GenNoise>> = [
    fc.record({ kind: fc.constant('intvar' as const), subtype: fc.constantFrom(1 as const, 2 as const), value: fc.bigInt(0n, 2n ** 64n - 1n) }),
    fc.record({ kind: fc.constant('rand' as const), seed1: fc.bigInt(0n, 2n ** 64n - 1n), seed2: fc.bigInt(0n, 2n ** 64n - 1n) }),
    fc.record({
      kind: fc.constant('user-var' as const),
      name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }),
      value: fc.option(
        fc.record({ type: fc.constantFrom(0, 1, 2, 4), charset: fc.constantFrom(33, 45, 63, 255), bytes: fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a)), flags: fc.option(fc.constantFrom(0, 1), { nil: undefined }) }),
        { nil: null },
      ),
    }),
  ];
  if (inside) return fc.oneof(...inner);
  return fc.oneof(
    ...inner,
    fc.record({ kind: fc.constant('heartbeat' as const), file: fc.constantFrom('mysql-bin.000007', 'x'), pos: fc.integer({ min: 4, max: 2 ** 31 }), v2: f.heartbeatV2 ? fc.boolean() : fc.constant(false) }),
    fc.record({ kind: fc.constant('unknown' as const), typeCode: fc.constantFrom(43, 60, 99, 150, 200, 254), body: fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)) }),
  );
}

const arbGtidFields: fc.Arbitrary<MysqlGtidFields> = fc
  .record({
    commitFlag: fc.boolean(),
    lastCommitted: fc.bigInt(0n, 2n ** 62n),
    sequenceNumber: fc.bigInt(1n, 2n ** 62n),
    immediateTs: fc.bigInt(0n, 2n ** 55n - 1n),
    originalTs: fc.option(fc.bigInt(0n, 2n ** 55n - 1n), { nil: null }),
    transactionLength: fc.bigInt(0n, 2n ** 40n),
    immediateVersion: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    originalVersion: fc.option(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { nil: null }),
  })
  .map((f) => ({ ...f, originalTs: f.originalTs ?? f.immediateTs, originalVersion: f.originalVersion ?? f.immediateVersion }));

function arbGtid(server: Server): fc.Arbitrary<GenGtid> {
  if (server.flavor === 'mariadb') {
    return fc.record({ kind: fc.constant('mariadb' as const), domainId: fc.nat(), seqNo: fc.bigInt(0n, 2n ** 64n - 1n), commitId: fc.option(fc.bigInt(0n, 2n ** 64n - 1n), { nil: null }) });
  }
  const f = features(server);
  const tag = f.tagged ? fc.option(fc.stringMatching(/^[a-z_][a-z0-9_]{0,31}$/), { nil: null }) : fc.constant(null);
  return fc
    .record({ anonymous: fc.boolean(), uuid: UUID, tag, gno: fc.bigInt(1n, 2n ** 63n - 1n), fields: arbGtidFields })
    .map(({ anonymous, uuid, tag: t, gno, fields }) =>
      anonymous && t === null
        ? { kind: 'mysql' as const, anonymous: true, uuid: '00000000-0000-0000-0000-000000000000', tag: null, gno: 0n, fields }
        : { kind: 'mysql' as const, anonymous: false, uuid, tag: t, gno, fields },
    );
}

function arbTx(server: Server, tables: readonly GenTable[]): fc.Arbitrary<GenTx> {
  const f = features(server);
  const rowsItem: fc.Arbitrary<TxItem> = fc
    .constantFrom(...tables)
    .chain((t) => fc.record({ ev: arbRowsEvent(server, t), annotation: fc.option(fc.string({ unit: 'grapheme', maxLength: 30 }), { nil: null }) }))
    .map(({ ev, annotation }) => ({ kind: 'rows' as const, ev, annotation }));
  const item: fc.Arbitrary<TxItem> = fc.oneof(
    { weight: 6, arbitrary: rowsItem },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('statement' as const), sql: STATEMENTS, schema: NAME }) },
    { weight: 1, arbitrary: arbNoise(server, true).map((noise) => ({ kind: 'noise' as const, noise })) },
  );
  return fc.record({
    shape: fc.constantFrom<'dml' | 'ddl'>('dml', 'dml', 'dml', 'ddl'),
    ddl: fc.constantFrom('CREATE TABLE t9 (a INT)', 'ALTER TABLE t1 ADD COLUMN z JSON', 'DROP TABLE IF EXISTS `x`', 'CREATE USER u'),
    compressedQueries: server.flavor === 'mariadb' ? fc.boolean() : fc.constant(false),
    gtid: arbGtid(server),
    serverId: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
    timestamp: fc.integer({ min: 1, max: 2 ** 32 - 1 }),
    items: fc.array(item, { minLength: 1, maxLength: 4 }),
    commit: fc.oneof(fc.record({ kind: fc.constant('xid' as const), xid: fc.bigInt(0n, 2n ** 64n - 1n) }), fc.constant({ kind: 'commit' as const })),
    payload: f.payload ? fc.constantFrom(null, 'none' as const, 'zstd-raw' as const) : fc.constant(null),
    noiseAfter: fc.array(arbNoise(server, false), { maxLength: 2 }),
  });
}

function arbFileHeader(server: Server): fc.Arbitrary<FileHeader> {
  const interval = fc.tuple(fc.bigInt(1n, 2n ** 40n), fc.bigInt(0n, 1000n)).map(([a, n]): [bigint, bigint] => [a, a + n]);
  const tag = features(server).tagged ? fc.option(fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/), { nil: null }) : fc.constant(null);
  return fc.record({
    previousGtids: server.flavor === 'mysql' ? fc.array(fc.record({ uuid: UUID, tag, intervals: fc.array(interval, { maxLength: 3 }) }), { maxLength: 3 }) : fc.constant([]),
    gtidList: server.flavor === 'mariadb' ? fc.array(fc.record({ domainId: fc.nat(), serverId: fc.integer({ min: 1, max: 2 ** 32 - 1 }), seqNo: fc.bigInt(0n, 2n ** 64n - 1n) }), { maxLength: 3 }) : fc.constant([]),
  });
}

const arbScenario: fc.Arbitrary<Scenario> = arbServer.chain((server) =>
  fc.array(arbTable(server), { minLength: 1, maxLength: 3 }).chain((tables) =>
    fc.record({ server: fc.constant(server), header: arbFileHeader(server), txs: fc.array(arbTx(server, tables), { minLength: 1, maxLength: 4 }), rotate: fc.boolean() }),
  ),
);

// ---------------------------------------------------------------------------------------------
// What the decoder yields, reduced to what the test asserts

interface At {
  readonly offset: number;
  readonly size: number;
  readonly timestamp: number;
  readonly serverId: number;
}

type Summary = { readonly at: At; readonly kind: string } & Record<string, unknown>;

function summarize(e: BinlogEvent): Summary {
  const h = e.header;
  const at: At = { offset: h.offset, size: h.size, timestamp: h.timestamp, serverId: h.serverId };
  switch (e.kind) {
    case 'format-description':
      return { at, kind: e.kind, flavor: e.flavor, checksumAlgorithm: e.checksumAlgorithm, serverVersion: e.serverVersion, inUse: e.inUse };
    case 'gtid':
      return {
        at,
        kind: e.kind,
        anonymous: e.anonymous,
        uuid: e.uuid,
        tag: e.tag,
        gno: e.gno,
        fields: [e.commitFlag, e.lastCommitted, e.sequenceNumber, e.immediateCommitTimestamp, e.originalCommitTimestamp, e.transactionLength, e.immediateServerVersion, e.originalServerVersion],
      };
    case 'previous-gtids':
      return { at, kind: e.kind, sets: e.sets };
    case 'gtid-list':
      return { at, kind: e.kind, gtids: e.gtids, flags: e.flags };
    case 'binlog-checkpoint':
      return { at, kind: e.kind, file: e.file };
    case 'mariadb-gtid':
      return { at, kind: e.kind, gtid: e.gtid, standalone: e.standalone, commitId: e.commitId, xa: e.xa };
    case 'query':
      return { at, kind: e.kind, sql: e.sql, schema: e.schema };
    case 'xid':
      return { at, kind: e.kind, xid: e.xid };
    case 'table-map':
      return { at, kind: e.kind, map: e.map };
    case 'rows':
      // Row images only: each row's op, table and event offset are checked on the transaction's changes.
      return { at, kind: e.kind, op: e.op, tableId: e.table.tableId, flags: e.flags, rows: e.rows.map((r) => ({ before: r.before, after: r.after })), partialJson: e.partialJson };
    case 'intvar':
      return { at, kind: e.kind, subtype: e.subtype, value: e.value };
    case 'rand':
      return { at, kind: e.kind, seed1: e.seed1, seed2: e.seed2 };
    case 'user-var':
      return { at, kind: e.kind, name: e.name, isNull: e.isNull, valueType: e.valueType, collation: e.collation, value: e.value, flags: e.flags };
    case 'heartbeat':
      return { at, kind: e.kind, logFile: e.logFile };
    case 'annotate-rows':
    case 'rows-query':
      return { at, kind: e.kind, sql: e.sql };
    case 'rotate':
      return { at, kind: e.kind, nextFile: e.nextFile, position: e.position };
    case 'transaction-payload':
      return { at, kind: e.kind, compression: e.compression, uncompressedSize: e.uncompressedSize, events: e.events.map(summarize) };
    case 'xa-prepare':
      return { at, kind: e.kind, onePhase: e.onePhase, formatId: e.formatId, gtrid: e.gtrid, bqual: e.bqual };
    case 'unknown':
      return { at, kind: e.kind, typeCode: h.typeCode };
    default:
      return { at, kind: e.kind };
  }
}

interface Decoded {
  readonly events: Summary[];
  readonly items: TransactionItem[];
  readonly tail: IncompleteTail | null;
  readonly warnings: DecodeWarning[];
}

/** Decodes `bytes` pushed in pieces cut at `cuts` (offsets, any order, duplicates allowed). */
function decode(bytes: Buffer, cuts: readonly number[] = []): Decoded {
  const warnings: DecodeWarning[] = [];
  const decoder = new BinlogDecoder({ file: FILE, onWarning: (w) => warnings.push(w) });
  const assembler = new TransactionAssembler(FILE);
  const events: Summary[] = [];
  const items: TransactionItem[] = [];
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  let from = 0;
  for (const to of [...points, bytes.length]) {
    const got = decoder.push(bytes.subarray(from, to));
    for (const e of got) events.push(summarize(e));
    assembler.push(got, items);
    from = to;
  }
  const tail = decoder.end();
  assembler.end(items);
  return { events, items, tail, warnings };
}

// ---------------------------------------------------------------------------------------------
// Writing a scenario and the expectations it implies

interface Built {
  readonly bytes: Buffer;
  readonly events: Summary[];
  readonly items: TransactionItem[];
  readonly warnings: Array<Pick<DecodeWarning, 'code' | 'offset' | 'eventType'>>;
  /** Offset where each transaction's first event starts, and where its commit event ends. */
  readonly spans: Array<{ start: number; end: number }>;
}

/** Where appended events go: the file itself, or the inside of a TRANSACTION_PAYLOAD. */
interface Sink {
  /** Writes one event with `write` and records the summary its position implies. */
  put(write: (w: BinlogWriter) => void, summary: (at: At) => Summary): void;
  offset(): number;
}

class FileSink implements Sink {
  readonly summaries: Summary[] = [];
  constructor(readonly w: BinlogWriter) {}
  put(write: (w: BinlogWriter) => void, summary: (at: At) => Summary): void {
    write(this.w);
    const e = this.w.events[this.w.events.length - 1]!;
    this.summaries.push(summary({ offset: e.offset, size: e.length, timestamp: this.w.timestamp, serverId: this.w.serverId }));
  }
  offset(): number {
    return this.w.position;
  }
}

/** Events written by a checksum-free writer, reframed as the server frames them inside a payload (log_pos 0). */
class PayloadSink implements Sink {
  readonly inner: BinlogWriter;
  readonly buffers: Buffer[] = [];
  readonly pending: Array<(offset: number) => Summary> = [];
  constructor(
    readonly outer: BinlogWriter,
    readonly payloadOffset: number,
  ) {
    this.inner = new BinlogWriter({ flavor: outer.flavor, serverVersion: outer.serverVersion, checksum: false, startTimestamp: outer.timestamp, serverId: outer.serverId });
  }
  put(write: (w: BinlogWriter) => void, summary: (at: At) => Summary): void {
    write(this.inner);
    const e = this.inner.events[this.inner.events.length - 1]!;
    const raw = this.inner.toBuffer().subarray(e.offset, e.offset + e.length);
    const framed = this.outer.innerEvent(raw[4]!, raw.subarray(19), { timestamp: raw.readUInt32LE(0), serverId: raw.readUInt32LE(5), headerFlags: raw.readUInt16LE(17) });
    this.buffers.push(framed);
    const ts = this.inner.timestamp;
    const sid = this.inner.serverId;
    this.pending.push((offset) => summary({ offset, size: framed.length, timestamp: ts, serverId: sid }));
  }
  offset(): number {
    return this.payloadOffset;
  }
}

const OP = { write: 'insert', update: 'update', delete: 'delete' } as const;

function writeNoise(sink: Sink, n: GenNoise, warnings: Built['warnings']): void {
  switch (n.kind) {
    case 'intvar':
      return sink.put((w) => w.intvar(n.subtype, n.value), (at) => ({ at, kind: 'intvar', subtype: n.subtype, value: n.value }));
    case 'rand':
      return sink.put((w) => w.rand(n.seed1, n.seed2), (at) => ({ at, kind: 'rand', seed1: n.seed1, seed2: n.seed2 }));
    case 'user-var': {
      const v = n.value;
      return sink.put(
        (w) => w.userVar({ name: n.name, value: v === null ? null : { type: v.type, charset: v.charset, bytes: v.bytes, ...(v.flags !== undefined ? { flags: v.flags } : {}) } }),
        (at) =>
          v === null
            ? { at, kind: 'user-var', name: n.name, isNull: true, valueType: 0, collation: 0, value: Buffer.alloc(0), flags: 0 }
            : { at, kind: 'user-var', name: n.name, isNull: false, valueType: v.type, collation: v.charset, value: v.bytes, flags: v.flags ?? 0 },
      );
    }
    case 'heartbeat':
      return sink.put((w) => w.heartbeat(n.file, n.pos, { v2: n.v2 }), (at) => ({ at: { ...at, timestamp: 0 }, kind: 'heartbeat', logFile: n.file }));
    case 'unknown':
      return sink.put(
        (w) => w.unknown(n.typeCode, n.body, { headerFlags: EventFlag.IGNORABLE }),
        (at) => {
          warnings.push({ code: 'UNKNOWN_EVENT', offset: at.offset, eventType: n.typeCode });
          return { at, kind: 'unknown', typeCode: n.typeCode };
        },
      );
  }
}

function writeRows(sink: Sink, ev: GenRowsEvent): void {
  const t = ev.table;
  const width = t.decoded.length;
  const expectRows = ev.rows.map((r) => ({ before: r.before, after: r.after }));
  const summary = (at: At): Summary => ({ at, kind: 'rows', op: OP[ev.kind], tableId: t.tableId, flags: ev.flags, rows: expectRows, partialJson: ev.form === 'partial' });
  const common = { tableId: t.tableId, flags: ev.flags, width, columnsPresent: ev.present, ...(ev.extraData !== undefined ? { extraData: ev.extraData } : {}) };
  const rows = ev.rows.map((r) => ({ ...(r.beforeCells ? { before: r.beforeCells } : {}), ...(r.afterCells ? { after: r.afterCells } : {}) }));
  const afterPresent = ev.kind === 'update' ? { afterColumnsPresent: ev.afterPresent } : {};
  switch (ev.form) {
    case 'v1':
    case 'v2':
      return sink.put((w) => w.rows({ ...common, ...afterPresent, kind: ev.kind, version: ev.form === 'v1' ? 1 : 2, rows }), summary);
    case 'compressed-v1':
    case 'compressed-v2':
      return sink.put((w) => w.mariadbCompressedRows({ ...common, ...afterPresent, kind: ev.kind, version: ev.form === 'compressed-v1' ? 1 : 2, rows }), summary);
    case 'partial':
      return sink.put(
        (w) =>
          w.partialUpdateRows({
            ...common,
            afterColumnsPresent: ev.afterPresent,
            rows: ev.rows.map((r) => ({ before: r.beforeCells!, after: r.afterCells!, ...(r.valueOptions !== undefined ? { valueOptions: r.valueOptions } : {}), ...(r.partialBits ? { partialBits: r.partialBits } : {}) })),
          }),
        summary,
      );
  }
}

function expectedGtid(g: GenGtid, serverId: number): Gtid | null {
  if (g.kind === 'mariadb') return { flavor: 'mariadb', domainId: g.domainId, serverId, seqNo: g.seqNo };
  return g.anonymous ? null : { flavor: 'mysql', uuid: g.uuid, tag: g.tag, gno: g.gno };
}

function writeGtid(sink: Sink, server: Server, g: GenGtid, standalone: boolean): void {
  if (g.kind === 'mariadb') {
    sink.put(
      (w) => w.mariadbGtid({ domainId: g.domainId, seqNo: g.seqNo, standalone, ...(g.commitId !== null ? { commitId: g.commitId } : {}) }),
      (at) => ({ at, kind: 'mariadb-gtid', gtid: { domainId: g.domainId, serverId: at.serverId, seqNo: g.seqNo }, standalone, commitId: g.commitId, xa: null }),
    );
    return;
  }
  const f = g.fields;
  const layout = g.tag !== null ? 'tagged' : versionNumber(server.version) < 80000 ? '5.7' : '8.0';
  const full = layout !== '5.7';
  sink.put(
    (w) =>
      w.mysqlGtid({
        ...(g.anonymous ? { anonymous: true } : { uuid: g.uuid, gno: g.gno }),
        ...(g.tag !== null ? { tag: g.tag } : {}),
        gtidFlags: f.commitFlag ? 1 : 0,
        lastCommitted: f.lastCommitted,
        sequenceNumber: f.sequenceNumber,
        commitTimestamps: { immediate: f.immediateTs, original: f.originalTs },
        transactionLength: f.transactionLength,
        serverVersions: { immediate: f.immediateVersion, original: f.originalVersion },
      }),
    (at) => ({
      at,
      kind: 'gtid',
      anonymous: g.anonymous,
      uuid: g.uuid,
      tag: g.tag,
      gno: g.gno,
      fields: [
        f.commitFlag,
        f.lastCommitted,
        f.sequenceNumber,
        full ? f.immediateTs : null,
        full ? f.originalTs : null,
        full ? f.transactionLength : null,
        full ? f.immediateVersion : null,
        full ? f.originalVersion : null,
      ],
    }),
  );
}

/** A QUERY event, or MariaDB's QUERY_COMPRESSED_EVENT: both decode to the same query. */
function writeQuery(sink: Sink, sql: string, schema: string, compressed: boolean): number {
  let offset = -1;
  sink.put(
    (w) => (compressed ? w.queryCompressed({ sql, db: schema }) : w.query({ sql, db: schema })),
    (at) => {
      offset = at.offset;
      return { at, kind: 'query', sql, schema };
    },
  );
  return offset;
}

/** Writes the transaction body (BEGIN … commit) into `sink` and returns its row changes, statements and annotations. */
function writeBody(sink: Sink, server: Server, tx: GenTx, warnings: Built['warnings']): Pick<Extract<TransactionItem, { kind: 'transaction' }>['tx'], 'changes' | 'statements' | 'annotations' | 'statementMarks'> {
  const changes: Array<Extract<TransactionItem, { kind: 'transaction' }>['tx']['changes'][number]> = [];
  const statements: Array<{ sql: string; schema: string; offset: number }> = [];
  const annotations: string[] = [];
  // An ANNOTATE_ROWS inside a payload has the payload's offset: patched by the caller, as the changes' are.
  const statementMarks: { -readonly [K in keyof StatementMark]: StatementMark[K] }[] = [];
  if (server.flavor === 'mysql') sink.put((w) => w.query({ sql: 'BEGIN', db: 'test' }), (at) => ({ at, kind: 'query', sql: 'BEGIN', schema: 'test' }));
  for (const item of tx.items) {
    if (item.kind === 'noise') writeNoise(sink, item.noise, warnings);
    else if (item.kind === 'statement') {
      // Inside a payload the offset is known once the payload is written: patched by the caller.
      const offset = writeQuery(sink, item.sql, item.schema, tx.compressedQueries);
      statements.push({ sql: item.sql, schema: item.schema, offset: sink instanceof PayloadSink ? -1 : offset });
    } else {
      const ev = item.ev;
      if (item.annotation !== null) {
        const sql = item.annotation;
        const annotateAt = server.flavor === 'mariadb' && !(sink instanceof PayloadSink) ? sink.offset() + 19 : -1;
        const mark = { firstChange: changes.length, endChange: -1, sql, textAt: annotateAt, textLength: server.flavor === 'mariadb' ? Buffer.byteLength(sql, 'utf8') : 0, eventTimestamp: -1, eventChecksum: -1 };
        statementMarks.push(mark);
        if (server.flavor === 'mariadb') {
          sink.put((w) => w.annotateRows(sql), (at) => ({ at, kind: 'annotate-rows', sql }));
          // What the read-back checks the event by: its timestamp, and its CRC where it has one (not inside a payload).
          if (sink instanceof FileSink) {
            const bytes = sink.w.lastEventBytes();
            mark.eventTimestamp = bytes.readUInt32LE(0);
            mark.eventChecksum = sink.w.checksum ? bytes.readUInt32LE(bytes.length - 4) : -1;
          } else if (sink instanceof PayloadSink) {
            mark.eventTimestamp = sink.inner.timestamp;
          }
        } else sink.put((w) => w.rowsQuery(sql), (at) => ({ at, kind: 'rows-query', sql }));
        annotations.push(sql);
      }
      const t = ev.table;
      sink.put(
        (w) => w.tableMap({ tableId: t.tableId, db: t.schema, table: t.table, columns: t.truth.map((c) => toWriterColumn(c, server.flavor)), metadata: t.metadata, primaryKey: t.primaryKey }),
        (at) => ({ at, kind: 'table-map', map: t.expectedMap }),
      );
      const offset = sink instanceof PayloadSink ? -1 : sink.offset();
      writeRows(sink, ev);
      for (const r of ev.rows) changes.push({ op: OP[ev.kind], table: t.expectedMap, before: r.before, after: r.after, eventOffset: offset });
      const last = statementMarks[statementMarks.length - 1];
      if ((ev.flags & 1) !== 0 && last !== undefined && last.endChange < 0) last.endChange = changes.length;
    }
  }
  if (tx.commit.kind === 'xid') {
    const xid = tx.commit.xid;
    sink.put((w) => w.xid(xid), (at) => ({ at, kind: 'xid', xid }));
  } else {
    writeQuery(sink, 'COMMIT', 'test', tx.compressedQueries);
  }
  return { changes, statements, annotations, statementMarks };
}

function build(sc: Scenario): Built {
  const { server } = sc;
  const w = new BinlogWriter({ flavor: server.flavor, serverVersion: server.version, checksum: server.checksum, inUse: server.inUse, startTimestamp: 1_700_000_000, serverId: 1 });
  const file = new FileSink(w);
  const items: TransactionItem[] = [];
  const warnings: Built['warnings'] = [];
  const spans: Built['spans'] = [];
  file.put((x) => x.formatDescription(), (at) => ({ at, kind: 'format-description', flavor: server.flavor, checksumAlgorithm: server.checksum ? 1 : 0, serverVersion: server.version, inUse: server.inUse }));
  if (server.flavor === 'mysql') {
    const sets = sc.header.previousGtids;
    file.put(
      (x) => x.previousGtids(sets.map((e) => ({ uuid: e.uuid, ...(e.tag !== null ? { tag: e.tag } : {}), intervals: e.intervals })), features(server).tagged ? {} : { format: 'untagged' }),
      (at) => ({ at, kind: 'previous-gtids', sets: sets.map((e) => ({ uuid: e.uuid, tag: e.tag, intervals: e.intervals.map(([start, end]) => ({ start, end: end + 1n })) })) }),
    );
  } else {
    const list = sc.header.gtidList;
    file.put((x) => x.gtidList(list), (at) => ({ at, kind: 'gtid-list', gtids: list, flags: 0 }));
    file.put((x) => x.binlogCheckpoint(FILE), (at) => ({ at, kind: 'binlog-checkpoint', file: FILE }));
  }
  for (const tx of sc.txs) {
    w.timestamp = tx.timestamp;
    w.serverId = tx.serverId;
    const pos = w.position;
    writeGtid(file, server, tx.gtid, tx.shape === 'ddl');
    let body: ReturnType<typeof writeBody>;
    if (tx.shape === 'ddl') {
      const offset = writeQuery(file, tx.ddl, 'test', tx.compressedQueries);
      body = { changes: [], statements: [{ sql: tx.ddl, schema: 'test', offset }], annotations: [], statementMarks: [] };
    } else if (tx.payload === null) {
      body = writeBody(file, server, tx, warnings);
    } else {
      const payloadOffset = w.position;
      const sink = new PayloadSink(w, payloadOffset);
      body = writeBody(sink, server, tx, warnings);
      const uncompressed = sink.buffers.reduce((n, b) => n + b.length, 0);
      const compression = tx.payload;
      file.put(
        (x) => x.transactionPayload(sink.buffers, { compression }),
        (at) => ({ at, kind: 'transaction-payload', compression: compression === 'none' ? 255 : 0,
          // NONE payloads carry no UNCOMPRESSED_SIZE field (the server writes it only for ZSTD); the decoder reports 0.
          uncompressedSize: compression === 'none' ? 0 : uncompressed, events: sink.pending.map((p) => p(payloadOffset)) }),
      );
      body = {
        changes: body.changes.map((c) => ({ ...c, eventOffset: payloadOffset })),
        statements: body.statements.map((s) => ({ ...s, offset: payloadOffset })),
        annotations: body.annotations,
        statementMarks: body.statementMarks.map((m) => (server.flavor === 'mariadb' ? { ...m, textAt: payloadOffset + 19 } : m)),
      };
    }
    const end = w.position;
    spans.push({ start: pos, end });
    items.push({
      kind: 'transaction',
      tx: {
        gtid: expectedGtid(tx.gtid, tx.serverId),
        file: FILE,
        pos,
        end,
        timestamp: tx.timestamp,
        serverId: tx.serverId,
        ...body,
        xid: tx.shape === 'dml' && tx.commit.kind === 'xid' ? tx.commit.xid : null,
        commit: tx.shape === 'ddl' ? 'ddl' : tx.commit.kind,
      },
    });
    w.timestamp = 1_700_000_000;
    w.serverId = 1;
    for (const n of tx.noiseAfter) writeNoise(file, n, warnings);
  }
  if (sc.rotate) file.put((x) => x.rotate('roundtrip-bin.000002', 4), (at) => ({ at, kind: 'rotate', nextFile: 'roundtrip-bin.000002', position: 4n }));
  return { bytes: w.toBuffer(), events: file.summaries, items, warnings, spans };
}

function warningFacts(ws: readonly DecodeWarning[]): Built['warnings'] {
  return ws.map((x) => ({ code: x.code, offset: x.offset, eventType: x.eventType }));
}

// ---------------------------------------------------------------------------------------------

describe('writer → decoder round trip (generated binlogs)', () => {
  it('decodes every generated event, value and transaction exactly, however the bytes are chunked', () => {
    fc.assert(
      fc.property(arbScenario, fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (sc, cuts, bytewise) => {
        const built = build(sc);
        const whole = decode(built.bytes);
        expect(whole.events).toEqual(built.events);
        expect(whole.items).toEqual(built.items);
        expect(whole.tail).toBeNull();
        expect(warningFacts(whole.warnings)).toEqual(built.warnings);
        const chunked = decode(built.bytes, bytewise && built.bytes.length < 3000 ? Array.from(built.bytes.keys()) : cuts);
        expect(chunked).toEqual(whole);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Explicit cases

function mysqlWriter(version = '8.0.40'): BinlogWriter {
  const w = new BinlogWriter({ flavor: 'mysql', serverVersion: version, startTimestamp: 1_700_000_000 });
  w.formatDescription();
  return w;
}

function transactions(items: readonly TransactionItem[]): Array<Extract<TransactionItem, { kind: 'transaction' }>['tx']> {
  return items.flatMap((i) => (i.kind === 'transaction' ? [i.tx] : []));
}

const int32 = (v: number): Buffer => encodeColumnValue(v, testColumn(ColumnType.LONG));
const json = (node: Parameters<typeof encodeJsonBinary>[0], opts: Parameters<typeof encodeJsonBinary>[1] = {}): Buffer => encodeColumnValue(encodeJsonBinary(node, opts), testColumn(ColumnType.JSON, { meta: 4 }));
const uuidA = '3e11fa47-71ca-11e1-9e33-c80aa9429562';

describe('writer → decoder round trip (explicit cases)', () => {
  it('every binary JSON form inside a MySQL JSON column (rows v2)', () => {
    const ints = {
      i16: new JsonbInt(-5, 'int16'),
      u16: new JsonbInt(65535, 'uint16'),
      i32: new JsonbInt(-70000, 'int32'),
      u32: new JsonbInt(4_000_000_000, 'uint32'),
      i64: new JsonbInt(-(2n ** 40n), 'int64'),
      i64big: new JsonbInt(-(2n ** 63n), 'int64'),
      u64: new JsonbInt(2n ** 64n - 1n, 'uint64'),
      u64small: new JsonbInt(7, 'uint64'),
      d: new JsonbDouble(2),
      t: true,
      f: false,
      n: null,
      s: 'ünïcode',
    };
    const intsNode: JsonNode = { i16: -5, u16: 65535, i32: -70000, u32: 4_000_000_000, i64: -(2 ** 40), i64big: -(2n ** 63n), u64: 2n ** 64n - 1n, u64small: 7, d: 2, t: true, f: false, n: null, s: 'ünïcode' };
    const opaque = [
      new JsonDecimal('-123.450'),
      new JsonbDecimal('7.5', 10, 3),
      new JsonbDecimal('0', 1, 0),
      new JsonbTemporal(10, { year: 2024, month: 2, day: 29 }),
      new JsonbTemporal(11, { hour: 12, minute: 34, second: 56, micro: 789000, negative: true }),
      new JsonbTemporal(12, { year: 2024, month: 2, day: 29, hour: 23, minute: 59, second: 58, micro: 1 }),
      new JsonbTemporal(7, { year: 1999, month: 12, day: 31, hour: 0, minute: 0, second: 0 }),
      new JsonbOpaque(ColumnType.BLOB, Buffer.from('00ff10', 'hex')),
      new JsonbOpaque(ColumnType.VAR_STRING, Buffer.from('plain text')),
    ];
    const opaqueNode: JsonNode = [
      new JsonDecimal('-123.450'),
      new JsonDecimal('7.500'),
      new JsonDecimal('0'),
      '2024-02-29',
      '-12:34:56.789000',
      '2024-02-29 23:59:58.000001',
      '1999-12-31 00:00:00.000000',
      'base64:type252:AP8Q',
      'plain text',
    ];
    const huge = 'x'.repeat(70_000); // a small container's 16-bit offsets cannot reach past it
    const docs: Array<[Buffer, JsonNode]> = [
      [json(ints), intsNode],
      [json(new JsonbFormat(ints, 'large')), intsNode],
      [json(ints, { large: true, minIntWidth: 64, gap: 3 }), intsNode],
      [json([1, 'a', [2, { k: null }], { x: [] }]), [1, 'a', [2, { k: null }], { x: [] }]],
      [json(new JsonbFormat([1, new JsonbFormat({ a: 1 }, 'small'), [-1]], 'large')), [1, { a: 1 }, [-1]]],
      [json(opaque), opaqueNode],
      [json({ opaque }, { large: true }), { opaque: opaqueNode }],
      [json([huge, 1]), [huge, 1]],
      [json(new JsonbInt(-2, 'int16')), -2],
      [json('top-level string'), 'top-level string'],
      [json(false), false],
      [json(new JsonbTemporal(11, { hour: 838, minute: 59, second: 59 })), '838:59:59.000000'],
      [encodeColumnValue(Buffer.alloc(0), testColumn(ColumnType.JSON, { meta: 4 })), null],
    ];
    const w = mysqlWriter();
    w.tableMap({ tableId: 7, db: 'db', table: 'docs', metadata: 'full', columns: [{ type: ColumnType.LONG, name: 'id' }, { type: ColumnType.JSON, name: 'doc', nullable: true }] });
    w.rows({ kind: 'write', version: 2, tableId: 7, rows: docs.map(([cell], i) => ({ after: [int32(i), cell] })) });
    const got = decode(w.toBuffer());
    const rows = got.events.find((e) => e.kind === 'rows')!['rows'] as Array<{ after: RowImage }>;
    expect(rows.map((r) => r.after)).toEqual(docs.map(([, node], i) => [i, new JsonValue(node)]));
  });

  it('regression: partial_bits count every JSON column of the table, not only those in the after image', () => {
    // Found by the generated property: with j0 left out of the after image, the decoder took j1's
    // bit (bit 1) for bit 0 and read j1's diff vector as a full document.
    const w = mysqlWriter();
    const before = { a: 1 };
    const j1 = { b: [1, 2] };
    w.tableMap({ tableId: 9, db: 'db', table: 't', metadata: 'minimal', columns: [{ type: ColumnType.LONG }, { type: ColumnType.JSON }, { type: ColumnType.JSON }] });
    w.partialUpdateRows({
      tableId: 9,
      width: 3,
      columnsPresent: [true, true, true],
      afterColumnsPresent: [true, false, true],
      rows: [{ before: [int32(1), json(before), json(j1)], after: [int32(1), undefined, encodeJsonDiffs([{ operation: 0, path: '$.b[0]', value: 5 }])], partialBits: Buffer.of(0b10) }],
    });
    const rows = decode(w.toBuffer()).events.find((e) => e.kind === 'rows')!['rows'];
    expect(rows).toEqual([{ before: [1, new JsonValue(before), new JsonValue(j1)], after: [1, undefined, new JsonValue({ b: [5, 2] })] }]);
  });

  it('regression: a ucs2 or utf16 text value that begins with U+FEFF keeps it', () => {
    // Found by the generated property (FC_MULT=1000, random seed), shrunk: a ucs2 TEXT value of one
    // U+FEFF decoded as "", the decoder's TextDecoder dropping it as a byte-order mark.
    const w = mysqlWriter('5.7.21');
    const text = (hex: string): Buffer => {
      const b = Buffer.from(hex, 'hex');
      return Buffer.concat([Buffer.of(b.length & 0xff, b.length >> 8), b]);
    };
    w.tableMap({ tableId: 3, db: 'db', table: 't', metadata: 'full', columns: [{ type: ColumnType.BLOB, meta: 2, charset: 35, name: 'u' }, { type: ColumnType.BLOB, meta: 2, charset: 54, name: 'v' }] });
    w.rows({ kind: 'write', version: 2, tableId: 3, rows: [{ after: [text('feff'), text('feff0041')] }] });
    const rows = decode(w.toBuffer()).events.find((e) => e.kind === 'rows')!['rows'];
    expect(rows).toEqual([{ before: null, after: ['\ufeff', '\ufeffA'] }]);
  });

  it('regression: HEARTBEAT_LOG_EVENT_V2 carries its file name in a field, not as the whole body', () => {
    const w = mysqlWriter('8.0.40');
    w.heartbeat('binlog.000042', 123456, { v2: true });
    const hb = decode(w.toBuffer()).events.find((e) => e.kind === 'heartbeat');
    expect(hb?.['logFile']).toBe('binlog.000042');
  });

  it('a transaction cut off at the end of the input is reported incomplete, never emitted', () => {
    const scenarios = fc.sample(
      arbScenario.filter((sc) => sc.txs.length >= 2),
      { seed: SEED, numRuns: 12 },
    );
    for (const sc of scenarios) {
      const built = build(sc);
      const last = built.spans[built.spans.length - 1]!;
      const tx = (built.items[built.items.length - 1] as Extract<TransactionItem, { kind: 'transaction' }>).tx;
      const inTx = built.events.filter((e) => e.at.offset >= last.start && e.at.offset < last.end);
      const gtidEnd = inTx[0]!.at.offset + inTx[0]!.at.size;
      // Every byte would be slow; these cover each event's start, torn header (before and after
      // the size and type fields), torn body and last byte.
      const cuts = new Set<number>();
      for (const e of inTx) for (const d of [0, 1, 4, 5, 12, 13, 18, 19, 20, e.at.size >> 1, e.at.size - 1]) cuts.add(e.at.offset + Math.min(d, e.at.size - 1));
      for (const cut of [...cuts].filter((c) => c > last.start && c < last.end)) {
        const got = decode(built.bytes.subarray(0, cut));
        const done = inTx.filter((e) => e.at.offset + e.at.size <= cut);
        const expected: TransactionItem[] = built.items.slice(0, -1);
        if (cut >= gtidEnd) {
          const changes = done.reduce((n, e) => n + (e.kind === 'rows' ? (e['rows'] as unknown[]).length : 0), 0);
          const end = Math.max(...done.map((e) => e.at.offset + e.at.size));
          const tables = [...new Map(tx.changes.slice(0, changes).map((c) => [`${c.table.schema}\0${c.table.table}`, { schema: c.table.schema, table: c.table.table }])).values()];
          // The statements read so far: which of them a cut leaves is the assembler's own bookkeeping, not what this pins.
          const statements = expect.any(Array) as unknown as LoggedStatement[];
          expected.push({ kind: 'incomplete', tx: { gtid: tx.gtid, file: FILE, pos: last.start, end, reason: 'end-of-input', changes, timestamp: tx.timestamp, tables, statements } });
        }
        expect(got.items).toEqual(expected);
        const partial = inTx.find((e) => e.at.offset < cut && cut < e.at.offset + e.at.size);
        if (partial === undefined) expect(got.tail).toBeNull();
        else expect(got.tail).toMatchObject({ offset: partial.at.offset, bytes: cut - partial.at.offset, claimedSize: cut - partial.at.offset >= 19 ? partial.at.size : null });
      }
    }
  });

  it('a ROLLBACK-ended group is reported rolled back and the next transaction still comes out', () => {
    for (const flavor of ['mysql', 'mariadb'] as const) {
      const w = new BinlogWriter({ flavor, startTimestamp: 1_700_000_000 });
      w.formatDescription();
      const pos = w.position;
      if (flavor === 'mysql') w.mysqlGtid({ uuid: uuidA, gno: 5 }).query({ sql: 'BEGIN', db: 'db' });
      else w.mariadbGtid({ domainId: 0, seqNo: 5 });
      w.tableMap({ tableId: 1, db: 'db', table: 'myisam_t', metadata: 'none', columns: [{ type: ColumnType.LONG }] });
      w.rows({ kind: 'write', version: 1, tableId: 1, rows: [{ after: [int32(1)] }, { after: [int32(2)] }] });
      w.query({ sql: 'ROLLBACK', db: 'db' });
      const end = w.position;
      if (flavor === 'mysql') w.mysqlGtid({ uuid: uuidA, gno: 6 }).query({ sql: 'BEGIN', db: 'db' });
      else w.mariadbGtid({ domainId: 0, seqNo: 6 });
      w.tableMap({ tableId: 1, db: 'db', table: 'myisam_t', metadata: 'none', columns: [{ type: ColumnType.LONG }] });
      w.rows({ kind: 'write', version: 1, tableId: 1, rows: [{ after: [int32(3)] }] }).xid(77);
      const got = decode(w.toBuffer());
      const gtid5: Gtid = flavor === 'mysql' ? { flavor, uuid: uuidA, tag: null, gno: 5n } : { flavor, domainId: 0, serverId: 1, seqNo: 5n };
      expect(got.items[0]).toEqual({ kind: 'incomplete', tx: { gtid: gtid5, file: FILE, pos, end, reason: 'rolled-back', changes: 2, timestamp: 1_700_000_000, tables: [{ schema: 'db', table: 'myisam_t' }], statements: [] } });
      expect(got.items).toHaveLength(2);
      const tx = transactions(got.items)[0]!;
      expect([tx.pos, tx.xid, tx.commit, tx.changes.map((c) => c.after)]).toEqual([end, 77n, 'xid', [[3]]]);
    }
  });

  it('regression: MySQL XA PREPARE then XA COMMIT (and ONE PHASE, and XA ROLLBACK) as the server logs them', () => {
    // binlog.cc logs `XA START <serialized xid>` in place of BEGIN and `XA COMMIT X'…',X'…',n`
    // (xa_aux.h serialize_xid); the assembler ended the group at XA START and never matched the
    // serialized xid to the prepared transaction, so the XA transaction was never emitted.
    const xid = "X'6778',X'6271',7";
    const w = mysqlWriter();
    const map = (x: BinlogWriter): BinlogWriter => x.tableMap({ tableId: 3, db: 'db', table: 't', metadata: 'none', columns: [{ type: ColumnType.LONG }] });
    const pos = w.position;
    w.mysqlGtid({ uuid: uuidA, gno: 1 }).query({ sql: `XA START ${xid}`, db: 'db' });
    map(w).rows({ kind: 'write', version: 2, tableId: 3, rows: [{ after: [int32(10)] }] });
    w.query({ sql: `XA END ${xid}`, db: 'db' }).xaPrepare({ formatId: 7, gtrid: Buffer.from('gx'), bqual: Buffer.from('bq') });
    // An ordinary transaction commits between XA PREPARE and XA COMMIT.
    w.mysqlGtid({ uuid: uuidA, gno: 2 }).query({ sql: 'BEGIN', db: 'db' });
    map(w).rows({ kind: 'write', version: 2, tableId: 3, rows: [{ after: [int32(20)] }] }).xid(5);
    w.mysqlGtid({ uuid: uuidA, gno: 3 }).query({ sql: `XA COMMIT ${xid}`, db: 'db' });
    const xaEnd = w.position;
    // XA COMMIT … ONE PHASE: an XA_PREPARE with one_phase set closes the group.
    const onePos = w.position;
    w.mysqlGtid({ uuid: uuidA, gno: 4 }).query({ sql: "XA START X'6f6e65',X'',1", db: 'db' });
    map(w).rows({ kind: 'write', version: 2, tableId: 3, rows: [{ after: [int32(30)] }] });
    w.query({ sql: "XA END X'6f6e65',X'',1", db: 'db' }).xaPrepare({ onePhase: true, formatId: 1, gtrid: Buffer.from('one'), bqual: Buffer.alloc(0) });
    const oneEnd = w.position;
    // Prepared, then rolled back: never applied.
    const rbPos = w.position;
    w.mysqlGtid({ uuid: uuidA, gno: 5 }).query({ sql: "XA START X'7262',X'',1", db: 'db' });
    map(w).rows({ kind: 'write', version: 2, tableId: 3, rows: [{ after: [int32(40)] }] });
    w.query({ sql: "XA END X'7262',X'',1", db: 'db' }).xaPrepare({ formatId: 1, gtrid: Buffer.from('rb'), bqual: Buffer.alloc(0) });
    w.mysqlGtid({ uuid: uuidA, gno: 6 }).query({ sql: "XA ROLLBACK X'7262',X'',1", db: 'db' });

    const got = decode(w.toBuffer());
    const summary = got.items.map((i) =>
      i.kind === 'transaction'
        ? { kind: i.kind, gno: i.tx.gtid?.flavor === 'mysql' ? i.tx.gtid.gno : null, pos: i.tx.pos, end: i.tx.end, commit: i.tx.commit, rows: i.tx.changes.map((c) => c.after) }
        : { kind: i.kind, gno: i.tx.gtid?.flavor === 'mysql' ? i.tx.gtid.gno : null, pos: i.tx.pos, reason: i.tx.reason },
    );
    expect(summary).toEqual([
      { kind: 'transaction', gno: 2n, pos: expect.any(Number), end: expect.any(Number), commit: 'xid', rows: [[20]] },
      { kind: 'transaction', gno: 1n, pos, end: xaEnd, commit: 'xa-commit', rows: [[10]] },
      { kind: 'transaction', gno: 4n, pos: onePos, end: oneEnd, commit: 'xa-commit', rows: [[30]] },
      { kind: 'incomplete', gno: 5n, pos: rbPos, reason: 'rolled-back' },
    ]);
    // XA END is transaction control, not a statement of the group (it made plan quarantine it).
    expect(transactions(got.items).map((t) => t.statements)).toEqual([[], [], []]);
  });

  it('regression: MariaDB XA as 10.11 logs it (XA GTIDs, XA_PREPARE, XA COMMIT X\'…\')', () => {
    // Layout captured from a local mariadbd 10.11: the prepared group's GTID has FL_PREPARED_XA and
    // the xid right after flags2 (no 6 zero bytes: the writer had them, now fixed), then
    // flags_extra; the XA COMMIT's own GTID is standalone with FL_COMPLETED_XA.
    const xa = { formatId: 7, gtrid: Buffer.from('gx'), bqual: Buffer.from('bq') };
    const w = new BinlogWriter({ flavor: 'mariadb', startTimestamp: 1_700_000_000 });
    w.formatDescription();
    const pos = w.position;
    w.mariadbGtid({ domainId: 0, seqNo: 3, flags: 0x4c, xa, extra: Buffer.from('01ff', 'hex') });
    const gtidEvent = w.events[w.events.length - 1]!;
    expect(w.toBuffer().subarray(gtidEvent.offset + 19, gtidEvent.offset + gtidEvent.length - 4).toString('hex')).toBe('0300000000000000' + '00000000' + '4c' + '07000000' + '02' + '02' + '67786271' + '01ff');
    w.annotateRows('INSERT INTO test.t VALUES (1, NULL)');
    w.tableMap({ tableId: 18, db: 'test', table: 't', metadata: 'minimal', columns: [{ type: ColumnType.LONG }, { type: ColumnType.BLOB, meta: 4, nullable: true, charset: 63 }] });
    w.rows({ kind: 'write', version: 1, tableId: 18, rows: [{ after: [int32(1), null] }] });
    w.query({ sql: "XA END X'6778',X'6271',7", db: 'test' }).xaPrepare(xa);
    w.mariadbGtid({ domainId: 0, seqNo: 4, flags: 0x8d, xa });
    w.query({ sql: "XA COMMIT X'6778',X'6271',7", db: 'test' });
    const end = w.position;
    const got = decode(w.toBuffer());
    const gtids = got.events.filter((e) => e.kind === 'mariadb-gtid');
    expect(gtids.map((e) => [e['gtid'], e['standalone'], e['xa']])).toEqual([
      [{ domainId: 0, serverId: 1, seqNo: 3n }, false, xa],
      [{ domainId: 0, serverId: 1, seqNo: 4n }, true, xa],
    ]);
    expect(got.items.map((i) => i.kind)).toEqual(['transaction']);
    const tx = transactions(got.items)[0]!;
    expect([tx.gtid, tx.pos, tx.end, tx.commit, tx.changes.map((c) => c.after), tx.annotations]).toEqual([
      { flavor: 'mariadb', domainId: 0, serverId: 1, seqNo: 3n },
      pos,
      end,
      'xa-commit',
      [[1, null]],
      ['INSERT INTO test.t VALUES (1, NULL)'],
    ]);
  });

  it('regression: a MariaDB GTID with both a commit id and an XA xid keeps the xid', () => {
    const w = new BinlogWriter({ flavor: 'mariadb', startTimestamp: 1_700_000_000 });
    w.formatDescription().mariadbGtid({ domainId: 2, seqNo: 9, commitId: 1234, flags: 0x4c, xa: { formatId: 1, gtrid: Buffer.from('g'), bqual: Buffer.alloc(0) } });
    const g = decode(w.toBuffer()).events.find((e) => e.kind === 'mariadb-gtid')!;
    expect([g['commitId'], g['gtid'], g['xa']]).toEqual([1234n, { domainId: 2, serverId: 1, seqNo: 9n }, { formatId: 1, gtrid: Buffer.from('g'), bqual: Buffer.alloc(0) }]);
  });
});
