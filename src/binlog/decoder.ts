/**
 * The streaming binlog decoder: chunks of any size in, typed events out. Pure: no I/O. One
 * reader is repositioned per event; an event that lies wholly inside the current chunk is decoded
 * straight from it, and only an event that spans chunks is assembled in a reusable buffer, so a
 * large file costs one pass over its bytes (pg-protocol's approach, STYLE.md).
 */
import { BinlogError, BinlogErrorCode, type ErrorDetails } from '../errors.js';
import { ByteReader, ShortReadError } from './byte-reader.js';
import { crc32, crc32FoldValidEvent, crc32Range } from './crc32.js';
import { EventType, eventTypeName } from './event-types.js';
import { ChecksumAlgorithm, type BinlogEvent, type DecodeWarning, type FormatDescription, type TableMap } from './event.js';
import {
  decodeBinlogCheckpoint,
  decodeHeartbeat,
  decodeIncident,
  decodeIntvar,
  decodeRand,
  decodeRotate,
  decodeRowsQuery,
  decodeUserVar,
  decodeXaPrepare,
  decodeXid,
} from './events/control-events.js';
import { decodeFormatDescription, fdeHasChecksumAlgorithm, postHeaderLength, preGaTypePermutation } from './events/format-description.js';
import { decodeGtidList, decodeMariadbGtid, decodeMysqlGtid, decodeMysqlGtidTagged, decodePreviousGtids } from './events/gtid-events.js';
import { decodeExecuteLoadQuery, decodeQuery } from './events/query-event.js';
import { decodeRows, rowsKind } from './events/rows-event.js';
import { decodeTableMap, type SchemaHints } from './events/table-map.js';
import { readTransactionPayload } from './events/transaction-payload.js';
import { BINLOG_MAGIC, HEADER_LENGTH, LOG_EVENT_BINLOG_IN_USE_F, readHeader, readHeaderView, u32At, type EventHeader } from './header.js';

export interface DecoderOptions {
  /** Named in errors and warnings. */
  readonly file?: string;
  /** The stream starts with the 4-byte magic (files do; replication streams do not). Default true. */
  readonly expectMagic?: boolean;
  /** Offset of the first byte pushed (default 0, the start of the file). */
  readonly startOffset?: number;
  /** Verify CRC32 checksums when the format description announces them. Default true. */
  readonly verifyChecksums?: boolean;
  /** Decode ANNOTATE_ROWS text (42% of a MariaDB binlog's bytes); when false, sql is null. Default true. */
  readonly annotations?: boolean;
  /** Column names, signedness and charsets for binlogs logged without full metadata. */
  readonly schemaHints?: SchemaHints;
  /** Called for non-fatal findings: unknown event types and the like. */
  readonly onWarning?: (warning: DecodeWarning) => void;
  /** Largest event accepted (default 1 GiB + 64 KiB, above max_allowed_packet); bigger sizes are corruption. */
  readonly maxEventSize?: number;
  /** Format description to assume before one is read (a stream joined mid-file). */
  readonly formatDescription?: FormatDescription;
  /**
   * A damaged event: `throw` (default) stops at it; `skip` passes over it when the boundary after
   * it can be trusted — see `#notSkippable` — yielding a `damaged` event in its place and the events
   * after it up to the next transaction's GTID event undecoded (as `ignored`), so no transaction
   * is ever decoded in part. The event right after a skipped one must verify, or the decoder throws.
   */
  readonly damaged?: 'throw' | 'skip';
}

/** Bytes left over at the end of the input: a partial event, as a crash leaves it. */
export interface IncompleteTail {
  readonly offset: number;
  readonly bytes: number;
  /** The size the partial event's header claims, when its header was complete. */
  readonly claimedSize: number | null;
  readonly typeCode: number | null;
}

const DEFAULT_MAX_EVENT = 1024 * 1024 * 1024 + 65536;

/** The checksum view before the first chunk: typed fields that start as null deoptimize compiled code when they change type. */
const NO_BUFFER = Buffer.alloc(0);
const NO_VIEW = new DataView(new ArrayBuffer(0));

/** A table map's body bytes (a copy) and the map they decoded to. */
interface MapBytes {
  readonly bytes: Buffer;
  readonly map: TableMap;
}

/** Whether an event belongs to the "known, but nothing for us" group. */
function isIgnoredType(type: number): boolean {
  switch (type) {
    case EventType.START_V3:
    case EventType.LOAD:
    case EventType.SLAVE:
    case EventType.CREATE_FILE:
    case EventType.EXEC_LOAD:
    case EventType.DELETE_FILE:
    case EventType.NEW_LOAD:
    // The bytes of a file LOAD DATA read; the EXECUTE_LOAD_QUERY after them carries the statement.
    case EventType.BEGIN_LOAD_QUERY:
    case EventType.APPEND_BLOCK:
    case EventType.IGNORABLE:
    case EventType.TRANSACTION_CONTEXT:
    case EventType.VIEW_CHANGE:
      return true;
    default:
      return false;
  }
}

/** An event that opens a transaction: where reading resumes after a skipped damaged one. */
function isTransactionStart(type: number): boolean {
  return type === EventType.GTID || type === EventType.ANONYMOUS_GTID || type === EventType.MARIADB_GTID || type === EventType.GTID_TAGGED;
}

/** Events that never belong to a transaction: decoded as usual while the rest of a damaged one is passed over. */
function isOutsideTransactions(type: number): boolean {
  switch (type) {
    case EventType.FORMAT_DESCRIPTION:
    case EventType.ROTATE:
    case EventType.STOP:
    case EventType.PREVIOUS_GTIDS:
    case EventType.GTID_LIST:
    case EventType.BINLOG_CHECKPOINT:
    case EventType.HEARTBEAT:
    case EventType.HEARTBEAT_V2:
    case EventType.START_ENCRYPTION:
    case EventType.INCIDENT:
      return true;
    default:
      return false;
  }
}

/** Servers that log a GTID event before every transaction: MariaDB 10.0+, MySQL 5.7+ (ANONYMOUS_GTID when GTIDs are off). */
export function fdeImpliesGtids(fde: FormatDescription): boolean {
  const m = /^(\d+)\.(\d+)/.exec(fde.serverVersion);
  if (m === null) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return fde.flavor === 'mariadb' ? major >= 10 : major > 5 || (major === 5 && minor >= 7);
}

export class BinlogDecoder {
  readonly #file: string;
  readonly #verify: boolean;
  readonly #annotations: boolean;
  readonly #hints: SchemaHints | undefined;
  readonly #onWarning: ((w: DecodeWarning) => void) | undefined;
  readonly #maxEvent: number;
  readonly #reader = new ByteReader();
  #fde: FormatDescription | null;
  /** Wire type code → current code, for the few pre-GA servers that numbered events differently. */
  #typeMap: Uint8Array | null = null;
  readonly #tableMaps = new Map<number, TableMap>();
  /** The last table map per id with its raw body bytes: an identical map reuses its decoded form. */
  readonly #tableMapBytes = new Map<number, MapBytes>();
  #needMagic: boolean;
  /** File offset of the first byte not yet consumed. */
  #position: number;
  /**
   * Partial event carried across chunks. Room for most events from the start: growing it is then
   * rare, and a growth that first happens in compiled code deoptimizes push() (it did at the first
   * chunk boundary of every job of a parallel `--stats`).
   */
  #pending: Buffer = Buffer.allocUnsafe(64 * 1024);
  #pendingLength = 0;
  #eventsSeen = 0;
  readonly #skipDamaged: boolean;
  /** After a skipped damaged event: passing over the rest of its transaction, up to the next GTID event. */
  #skipping = false;
  /** Offset of the damaged event just skipped: the next event must verify (null once one has). */
  #afterDamage: number | null = null;
  /** A GTID event has been decoded: transaction starts can be found again after damage. */
  #sawGtid = false;
  /** A DataView over the chunk being checksummed, made once per chunk rather than once per event. */
  #crcView: DataView = NO_VIEW;
  #crcViewOf: Buffer = NO_BUFFER;
  /** Events of `#verifiedIn` that end at or before `#verifiedTo` passed a run check (#checkRun): no CRC of their own. */
  #verifiedIn: Buffer = NO_BUFFER;
  /** The events the last push decoded before it threw, until taken. */
  #beforeFailure: BinlogEvent[] = [];
  #verifiedTo = 0;

  constructor(options: DecoderOptions = {}) {
    this.#file = options.file ?? '<stream>';
    this.#verify = options.verifyChecksums ?? true;
    this.#annotations = options.annotations ?? true;
    this.#hints = options.schemaHints;
    this.#onWarning = options.onWarning;
    this.#maxEvent = options.maxEventSize ?? DEFAULT_MAX_EVENT;
    this.#needMagic = options.expectMagic ?? true;
    this.#position = options.startOffset ?? 0;
    this.#fde = options.formatDescription ?? null;
    this.#skipDamaged = options.damaged === 'skip';
    if (this.#fde) this.#typeMap = preGaTypePermutation(this.#fde.serverVersion, this.#fde.postHeaderLengths.length);
  }

  /** File offset of the next byte the decoder has not consumed (the end of the last complete event). */
  get position(): number {
    return this.#position;
  }

  /** The format description in force, once read. */
  get formatDescription(): FormatDescription | null {
    return this.#fde;
  }

  /** Number of complete events decoded so far. */
  get eventsSeen(): number {
    return this.#eventsSeen;
  }

  /** Decodes every complete event in `chunk` (plus any partial event carried from earlier chunks). */
  push(chunk: Buffer): BinlogEvent[] {
    const out: BinlogEvent[] = [];
    try {
      this.#pushInto(chunk, out);
    } catch (e) {
      // The events before a damaged one are good: a reader hands them on before the error.
      this.#beforeFailure = out;
      throw e;
    }
    return out;
  }

  /** The events the push that threw decoded before its failure (each whole and verified); taken once. */
  takeDecodedBeforeFailure(): BinlogEvent[] {
    const events = this.#beforeFailure;
    this.#beforeFailure = [];
    return events;
  }

  #pushInto(chunk: Buffer, out: BinlogEvent[]): void {
    let at = 0;
    if (this.#needMagic) {
      // Gather the 4 magic bytes, which may themselves be split.
      const take = Math.min(4 - this.#pendingLength, chunk.length);
      this.#append(chunk, 0, take);
      at = take;
      if (this.#pendingLength < 4) return;
      if (this.#pending.compare(BINLOG_MAGIC, 0, 4, 0, 4) !== 0) {
        const got = this.#pending.subarray(0, 4).toString('hex');
        throw new BinlogError(BinlogErrorCode.BadMagic, `not a binlog: ${this.#file} starts with ${got}, expected fe62696e`, { file: this.#file, offset: 0 });
      }
      this.#pendingLength = 0;
      this.#needMagic = false;
      this.#position += 4;
    }
    // Complete a pending partial event first, copying only what it lacks.
    if (this.#pendingLength > 0) {
      if (this.#pendingLength < HEADER_LENGTH) {
        const take = Math.min(HEADER_LENGTH - this.#pendingLength, chunk.length - at);
        this.#append(chunk, at, take);
        at += take;
        if (this.#pendingLength < HEADER_LENGTH) return;
      }
      const size = this.#checkedSize(this.#pending, 0);
      const take = Math.min(size - this.#pendingLength, chunk.length - at);
      this.#append(chunk, at, take);
      at += take;
      if (this.#pendingLength < size) return;
      this.#decodeAt(this.#pending, 0, size, out);
      this.#pendingLength = 0;
    }
    // Whole events straight from the chunk.
    if (this.#verify) this.#checkRun(chunk, at);
    while (chunk.length - at >= HEADER_LENGTH) {
      const size = this.#checkedSize(chunk, at);
      if (chunk.length - at < size) break;
      this.#decodeAt(chunk, at, size, out);
      at += size;
    }
    this.#verifiedIn = NO_BUFFER;
    if (at < chunk.length) this.#append(chunk, at, chunk.length - at);
    return;
  }

  /** Ends the input; reports a partial event left over (normal after a crash), or null. */
  end(): IncompleteTail | null {
    if (this.#needMagic && this.#pendingLength < 4) {
      if (this.#pendingLength === 0 && this.#position === 0) {
        throw new BinlogError(BinlogErrorCode.BadMagic, `not a binlog: ${this.#file} is empty`, { file: this.#file, offset: 0 });
      }
      throw new BinlogError(BinlogErrorCode.BadMagic, `not a binlog: ${this.#file} is ${this.#pendingLength} bytes long, shorter than the 4-byte magic`, { file: this.#file, offset: 0 });
    }
    if (this.#pendingLength === 0) return null;
    const header = this.#pendingLength >= HEADER_LENGTH;
    return {
      offset: this.#position,
      bytes: this.#pendingLength,
      claimedSize: header ? this.#pending.readUInt32LE(9) : null,
      typeCode: this.#pendingLength >= 5 ? this.#pending[4]! : null,
    };
  }

  /**
   * Checks the checksums of the whole events in chunk[at…] at once (crc32FoldValidEvent): one zlib
   * pass instead of a CRC per event, which was 7 % of a decode's CPU. The run stops before a format
   * description (its in-use flag is masked, and it may change the algorithm) and at the first size
   * that is not plainly an event in this chunk; what the run leaves out, or a run that fails, is
   * checked event by event as before, which names the damaged event.
   */
  #checkRun(chunk: Buffer, at: number): void {
    // Nothing carries over from an earlier push, even one that threw: a caller may refill the same Buffer.
    this.#verifiedIn = NO_BUFFER;
    const fde = this.#fde;
    if (fde === null || fde.checksumAlgorithm !== ChecksumAlgorithm.CRC32) return;
    let end = at;
    let expected = 0;
    let events = 0;
    const view = this.#viewOf(chunk);
    while (chunk.length - end >= HEADER_LENGTH) {
      const size = view.getUint32(end + 9, true);
      if (size < HEADER_LENGTH + 4 || size > chunk.length - end || view.getUint8(end + 4) === EventType.FORMAT_DESCRIPTION) break;
      expected = crc32FoldValidEvent(expected, size);
      end += size;
      events++;
    }
    if (events > 1 && crc32Range(chunk, at, end) === expected) {
      this.#verifiedIn = chunk;
      this.#verifiedTo = end;
    }
  }

  #append(src: Buffer, from: number, length: number): void {
    if (length <= 0) return;
    const need = this.#pendingLength + length;
    if (need > this.#pending.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.#pending.length * 2, 4096));
      this.#pending.copy(grown, 0, 0, this.#pendingLength);
      this.#pending = grown;
    }
    src.copy(this.#pending, this.#pendingLength, from, from + length);
    this.#pendingLength = need;
  }

  #where(offset: number, eventType?: number): ErrorDetails {
    return eventType === undefined ? { file: this.#file, offset } : { file: this.#file, offset, eventType };
  }

  #checkedSize(buf: Buffer, at: number): number {
    const size = u32At(buf, at + 9);
    if (size < HEADER_LENGTH || size > this.#maxEvent) {
      const type = buf[at + 4]!;
      throw new BinlogError(
        BinlogErrorCode.CorruptEvent,
        `corrupt event header at ${this.#file}:${this.#position}: size ${size} (type ${eventTypeName(type)}) is ${size < HEADER_LENGTH ? 'smaller than the 19-byte header' : `above the ${this.#maxEvent}-byte limit`}`,
        this.#where(this.#position, type),
      );
    }
    return size;
  }

  /** Verifies and decodes the event at buf[at, at+size), appending to `out`; advances the position. */
  #decodeAt(buf: Buffer, at: number, size: number, out: BinlogEvent[]): void {
    if (!this.#skipDamaged) {
      this.#decodeEvent(buf, at, size, out);
      return;
    }
    const offset = this.#position;
    const wire = buf[at + 4]!;
    const type = this.#typeMap !== null && wire < this.#typeMap.length ? this.#typeMap[wire]! : wire;
    const after = this.#afterDamage;
    try {
      const nextPosition = buf.readUInt32LE(at + 13);
      if (after !== null && nextPosition !== (offset + size) % 2 ** 32) {
        throw new BinlogError(BinlogErrorCode.CorruptEvent, `event at ${this.#file}:${offset} says it ends at ${nextPosition}, its size at ${offset + size}`, this.#where(offset, type));
      }
      if (this.#skipping && !isTransactionStart(type) && !isOutsideTransactions(type)) {
        // The rest of the damaged transaction: checksum only, the body is never decoded.
        this.#verifyOnly(buf, at, size, offset);
        out.push({ kind: 'ignored', header: readHeader(buf, at, offset) });
      } else {
        this.#decodeEvent(buf, at, size, out);
        if (isTransactionStart(type)) {
          this.#skipping = false;
          this.#sawGtid = true;
        }
      }
      this.#afterDamage = null;
    } catch (e) {
      if (!(e instanceof BinlogError)) throw e;
      const why = this.#notSkippable(e, buf, at, size, offset, type, after);
      if (why !== null) {
        if (e.code === BinlogErrorCode.Encrypted || e.code === BinlogErrorCode.MissingFormatDescription) throw e;
        throw new BinlogError(e.code, `${e.message}; not skipped: ${why}`, e.details, e.cause ?? e);
      }
      this.#position = offset + size;
      this.#eventsSeen++;
      out.push({ kind: 'damaged', header: readHeader(buf, at, offset), code: e.code, message: e.message });
      this.#skipping = true;
      this.#afterDamage = offset;
    }
  }

  /** Under `damaged: 'skip'`, an event inside a skipped transaction: its checksum verified, nothing decoded. */
  #verifyOnly(buf: Buffer, at: number, size: number, offset: number): void {
    const fde = this.#fde;
    if (fde !== null && fde.checksumAlgorithm === ChecksumAlgorithm.CRC32) {
      if (size < HEADER_LENGTH + 4) throw new BinlogError(BinlogErrorCode.CorruptEvent, `event at ${this.#file}:${offset} is too short to hold its checksum`, this.#where(offset, buf[at + 4]!));
      if (this.#verify && (buf !== this.#verifiedIn || at + size > this.#verifiedTo)) this.#verifyCrc(buf, at, size, readHeader(buf, at, offset), false);
    }
    this.#position = offset + size;
    this.#eventsSeen++;
  }

  /**
   * Why a damaged event cannot be passed over, or null when it can. The boundary after it is
   * trusted only when its length agrees with its header's end position (log_pos, which a server
   * writes as the offset where the next event starts; two fields a random flip rarely changes
   * alike), it is not the format description, it does not follow another damaged event, and the
   * stream has GTID events to find the next transaction by.
   */
  #notSkippable(e: BinlogError, buf: Buffer, at: number, size: number, offset: number, type: number, after: number | null): string | null {
    if (after !== null) return `it follows the damaged event at ${this.#file}:${after}, so that event's length may be wrong too`;
    switch (e.code) {
      case BinlogErrorCode.ChecksumMismatch:
      case BinlogErrorCode.CorruptEvent:
      case BinlogErrorCode.TruncatedEvent:
      case BinlogErrorCode.MissingTableMap:
        break;
      default:
        return `a ${e.code} is not damage to one event`;
    }
    if (type === EventType.FORMAT_DESCRIPTION || this.#fde === null) return 'the format description itself is damaged';
    const nextPosition = buf.readUInt32LE(at + 13);
    // log_pos is 32 bits: past 4 GiB a server writes the offset modulo 2^32.
    if (nextPosition !== (offset + size) % 2 ** 32) return `its size says the next event starts at ${offset + size}, its header's end position says ${nextPosition}: the boundary after it cannot be trusted`;
    if (!this.#sawGtid && !fdeImpliesGtids(this.#fde)) return 'the file has no GTID events to find the next transaction by';
    return null;
  }

  #decodeEvent(buf: Buffer, at: number, size: number, out: BinlogEvent[]): void {
    const offset = this.#position;
    let header = readHeaderView(this.#viewOf(buf), at, offset);
    const map = this.#typeMap;
    if (map !== null && header.typeCode < map.length) header = { ...header, typeCode: map[header.typeCode]! };
    let bodyEnd = at + size;
    const isFde = header.typeCode === EventType.FORMAT_DESCRIPTION;
    let fde = this.#fde;
    if (isFde) {
      this.#reader.reset(buf, at + HEADER_LENGTH, bodyEnd);
      try {
        fde = decodeFormatDescription(this.#reader);
      } catch (e) {
        // An undecodable FDE in a checksummed file is most likely another event with a damaged
        // type code: when its checksum fails, say so rather than "unsupported binlog version".
        if (this.#verify && this.#fde?.checksumAlgorithm === ChecksumAlgorithm.CRC32 && size >= HEADER_LENGTH + 4) this.#verifyCrc(buf, at, size, header, true);
        throw this.#wrap(e, offset, header.typeCode);
      }
    }
    if (fde === null) {
      throw new BinlogError(BinlogErrorCode.MissingFormatDescription, `event ${eventTypeName(header.typeCode)} at ${this.#file}:${offset} comes before any format description event`, this.#where(offset, header.typeCode));
    }
    if (fde.checksumAlgorithm === ChecksumAlgorithm.CRC32) {
      if (size < HEADER_LENGTH + 4) throw new BinlogError(BinlogErrorCode.CorruptEvent, `event at ${this.#file}:${offset} is too short to hold its checksum`, this.#where(offset, header.typeCode));
      bodyEnd -= 4;
      if (this.#verify && (buf !== this.#verifiedIn || at + size > this.#verifiedTo)) this.#verifyCrc(buf, at, size, header, isFde);
    } else if (isFde && this.#verify && fdeHasChecksumAlgorithm(fde.serverVersion, fde.flavor)) {
      // A checksum-aware server checksums its FDE whatever binlog_checksum says (MySQL
      // Format_description_log_event::write; seen in MariaDB 10.11 and MySQL 5.6/5.7 NONE files):
      // verify it, or one damaged algorithm byte or size would turn verification off for the file.
      this.#verifyCrc(buf, at, size, header, true);
    }
    this.#position = offset + size;
    this.#eventsSeen++;
    if (isFde) {
      this.#fde = fde;
      this.#typeMap = preGaTypePermutation(fde.serverVersion, fde.postHeaderLengths.length);
      out.push({ kind: 'format-description', header, ...fde, inUse: (header.flags & LOG_EVENT_BINLOG_IN_USE_F) !== 0 });
      return;
    }
    this.#reader.reset(buf, at + HEADER_LENGTH, bodyEnd);
    try {
      this.#decodeBody(this.#reader, header, fde, out, buf, at + HEADER_LENGTH, bodyEnd);
    } catch (e) {
      throw this.#wrap(e, offset, header.typeCode);
    }
  }

  /** A DataView over `buf` (the chunk, or the partial-event buffer), made once per buffer rather than once per event. */
  #viewOf(buf: Buffer): DataView {
    if (this.#crcViewOf !== buf) {
      this.#crcView = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
      this.#crcViewOf = buf;
    }
    return this.#crcView;
  }

  #verifyCrc(buf: Buffer, at: number, size: number, header: EventHeader, isFde: boolean): void {
    const stored = u32At(buf, at + size - 4);
    let computed: number;
    if (isFde && header.flags & LOG_EVENT_BINLOG_IN_USE_F) {
      // The server computes the FDE's checksum with the in-use flag cleared, then sets the flag
      // in place while the file is open; mask it, or every crashed file fails at offset 4.
      const flags = Buffer.from([buf[at + 17]! & ~LOG_EVENT_BINLOG_IN_USE_F, buf[at + 18]!]);
      computed = crc32Range(buf, at, at + 17);
      computed = crc32(flags, computed);
      computed = crc32Range(buf, at + 19, at + size - 4, computed);
    } else {
      computed = crc32Range(buf, at, at + size - 4, 0, this.#viewOf(buf));
    }
    if (computed !== stored) {
      const hex = (n: number): string => n.toString(16).padStart(8, '0');
      throw new BinlogError(
        BinlogErrorCode.ChecksumMismatch,
        `checksum mismatch in ${eventTypeName(header.typeCode)} event at ${this.#file}:${header.offset} (${size} bytes): stored ${hex(stored)}, computed ${hex(computed)}`,
        { ...this.#where(header.offset, header.typeCode), stored: hex(stored), computed: hex(computed) },
      );
    }
  }

  #wrap(e: unknown, offset: number, typeCode: number): BinlogError {
    const name = eventTypeName(typeCode);
    if (e instanceof BinlogError) {
      if (e.details.file !== undefined) return e;
      return new BinlogError(e.code, `${e.message} (${name} event at ${this.#file}:${offset})`, { ...e.details, ...this.#where(offset, typeCode) }, e);
    }
    if (e instanceof ShortReadError) {
      return new BinlogError(BinlogErrorCode.CorruptEvent, `truncated ${name} event at ${this.#file}:${offset}: needed ${e.wanted} more bytes, ${e.available} left in the event`, this.#where(offset, typeCode), e);
    }
    return new BinlogError(BinlogErrorCode.CorruptEvent, `cannot decode ${name} event at ${this.#file}:${offset}: ${(e as Error).message}`, this.#where(offset, typeCode), e);
  }

  #decodeBody(r: ByteReader, header: EventHeader, fde: FormatDescription, out: BinlogEvent[], buf: Buffer, bodyStart: number, bodyEnd: number): void {
    const type = header.typeCode;
    // Number literals, checked against their names: a jump table, not a compare per case (decodeColumnValue says why).
    switch (type) {
      case 2 satisfies typeof EventType.QUERY:
        out.push(decodeQuery(r, header, postHeaderLength(fde, type, 13), false));
        return;
      case 165 satisfies typeof EventType.QUERY_COMPRESSED:
        out.push(decodeQuery(r, header, postHeaderLength(fde, type, 13), true));
        return;
      case 18 satisfies typeof EventType.EXECUTE_LOAD_QUERY:
        // A LOAD DATA logged as a statement: passed over, its transaction looked empty and its rows vanished.
        out.push(decodeExecuteLoadQuery(r, header, postHeaderLength(fde, type, 26)));
        return;
      case 16 satisfies typeof EventType.XID:
        out.push(decodeXid(r, header));
        return;
      case 4 satisfies typeof EventType.ROTATE:
        out.push(decodeRotate(r, header, postHeaderLength(fde, type, 8)));
        return;
      case 3 satisfies typeof EventType.STOP:
        out.push({ kind: 'stop', header });
        return;
      case 5 satisfies typeof EventType.INTVAR:
        out.push(decodeIntvar(r, header));
        return;
      case 13 satisfies typeof EventType.RAND:
        out.push(decodeRand(r, header));
        return;
      case 14 satisfies typeof EventType.USER_VAR:
        out.push(decodeUserVar(r, header));
        return;
      case 19 satisfies typeof EventType.TABLE_MAP: {
        const bodyLength = bodyEnd - bodyStart;
        const idLength = postHeaderLength(fde, type, 8) === 6 ? 4 : 6;
        if (bodyLength < idLength) throw new ShortReadError(idLength, bodyLength);
        // Byte arithmetic, where Buffer#readUIntLE validates its arguments; then one lookup, the bytes and the map together.
        const tableId = idLength === 4 ? u32At(buf, bodyStart) : u32At(buf, bodyStart) + (buf[bodyStart + 4]! | (buf[bodyStart + 5]! << 8)) * 2 ** 32;
        const previous = this.#tableMapBytes.get(tableId);
        let map: TableMap;
        // Compared in place (one per rows event on MariaDB): a view of the body would cost more.
        // (Buffer#compare beat a JavaScript loop of 32-bit DataView reads: ~500 against ~1,600 instructions per map.)
        if (previous !== undefined && previous.bytes.length === bodyLength && previous.bytes.compare(buf, bodyStart, bodyEnd) === 0) {
          map = previous.map;
        } else {
          map = decodeTableMap(r, postHeaderLength(fde, type, 8), fde.flavor, this.#hints);
          this.#tableMaps.set(tableId, map);
          // Copied: compared against the next map of this id after the chunk is gone.
          const bytes = Buffer.from(buf.subarray(bodyStart, bodyEnd));
          this.#tableMapBytes.set(tableId, { bytes, map });
        }
        out.push({ kind: 'table-map', header, map });
        return;
      }
      case 33 satisfies typeof EventType.GTID:
        out.push(decodeMysqlGtid(r, header, postHeaderLength(fde, type, 42), false));
        return;
      case 34 satisfies typeof EventType.ANONYMOUS_GTID:
        out.push(decodeMysqlGtid(r, header, postHeaderLength(fde, type, 42), true));
        return;
      case 35 satisfies typeof EventType.PREVIOUS_GTIDS:
        out.push(decodePreviousGtids(r, header));
        return;
      case 162 satisfies typeof EventType.MARIADB_GTID:
        out.push(decodeMariadbGtid(r, header));
        return;
      case 163 satisfies typeof EventType.GTID_LIST:
        out.push(decodeGtidList(r, header));
        return;
      case 161 satisfies typeof EventType.BINLOG_CHECKPOINT:
        out.push(decodeBinlogCheckpoint(r, header));
        return;
      case 160 satisfies typeof EventType.ANNOTATE_ROWS:
        // The body is the text and nothing else (MariaDB log_event.h Annotate_rows_log_event).
        out.push({
          kind: 'annotate-rows',
          header,
          sql: this.#annotations ? r.utf8(r.remaining) : null,
          textAt: header.offset + HEADER_LENGTH,
          textLength: bodyEnd - bodyStart,
          // The CRC follows the body when the event is 4 bytes longer than header and body.
          checksum: header.size === HEADER_LENGTH + (bodyEnd - bodyStart) + 4 ? u32At(buf, bodyEnd) : null,
        });
        return;
      case 29 satisfies typeof EventType.ROWS_QUERY:
        out.push(decodeRowsQuery(r, header));
        return;
      case 38 satisfies typeof EventType.XA_PREPARE:
        out.push(decodeXaPrepare(r, header));
        return;
      case 26 satisfies typeof EventType.INCIDENT:
        out.push(decodeIncident(r, header));
        return;
      case 27 satisfies typeof EventType.HEARTBEAT:
      case 41 satisfies typeof EventType.HEARTBEAT_V2:
        out.push(decodeHeartbeat(r, header));
        return;
      case 40 satisfies typeof EventType.TRANSACTION_PAYLOAD: {
        const { header: ph, events } = readTransactionPayload(r);
        const inner: BinlogEvent[] = [];
        this.#decodeInner(events, header, fde, inner);
        out.push({ kind: 'transaction-payload', header, compression: ph.compression, payloadSize: ph.payloadSize, uncompressedSize: ph.uncompressedSize, events: inner });
        return;
      }
      case 164 satisfies typeof EventType.START_ENCRYPTION:
        throw new BinlogError(
          BinlogErrorCode.Encrypted,
          `encrypted binlog: ${this.#file} turns on MariaDB binlog encryption at offset ${header.offset}; the events after it cannot be read from the file. Read it through the server instead (--source mysql://…, the server decrypts), or copy it with mariadb-binlog --read-from-remote-server --raw`,
          this.#where(header.offset, type),
        );
      case 42 satisfies typeof EventType.GTID_TAGGED:
        out.push(decodeMysqlGtidTagged(r, header));
        return;
      default: {
        const kind = rowsKind(type);
        if (kind) {
          out.push(decodeRows(r, header, postHeaderLength(fde, type, kind.v2 ? 10 : 8), kind, this.#tableMaps, { file: this.#file, offset: header.offset }));
          return;
        }
        if (isIgnoredType(type)) {
          out.push({ kind: 'ignored', header });
          return;
        }
        this.#onWarning?.({ code: 'UNKNOWN_EVENT', message: `skipped unknown event type ${type} (${header.size} bytes) at ${this.#file}:${header.offset}`, offset: header.offset, eventType: type });
        out.push({ kind: 'unknown', header });
      }
    }
  }

  /** Decodes the events inside a transaction payload: back to back, no checksums, no magic. */
  #decodeInner(bytes: Buffer, outer: EventHeader, fde: FormatDescription, out: BinlogEvent[]): void {
    const r = new ByteReader();
    let at = 0;
    while (at < bytes.length) {
      if (bytes.length - at < HEADER_LENGTH) {
        throw new BinlogError(BinlogErrorCode.CorruptEvent, `transaction payload at ${this.#file}:${outer.offset} ends inside an event header`);
      }
      const h = readHeader(bytes, at, outer.offset);
      if (h.size < HEADER_LENGTH || at + h.size > bytes.length) {
        throw new BinlogError(BinlogErrorCode.CorruptEvent, `transaction payload at ${this.#file}:${outer.offset} holds an event of ${h.size} bytes at payload offset ${at}, past its end`);
      }
      r.reset(bytes, at + HEADER_LENGTH, at + h.size);
      this.#decodeBody(r, h, fde, out, bytes, at + HEADER_LENGTH, at + h.size);
      at += h.size;
    }
  }
}
