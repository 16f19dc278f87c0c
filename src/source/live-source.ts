/**
 * A live server as a source: its binlogs read over the replication protocol, yielding the same
 * batches of transactions as the file reader (read-transactions.ts). The only module that imports
 * `@vlasky/zongji` (an eslint rule keeps it so).
 *
 * Design: zongji carries the replication connection — connect, server detection, checksum
 * negotiation (`@master_binlog_checksum`), the MariaDB capability (`@mariadb_slave_capability=4`,
 * or GTID events arrive rewritten as BEGIN queries), COM_BINLOG_DUMP, and KILL of the dump thread
 * on stop — but none of its event decoding is used. Its dump command is subclassed at the one
 * point zongji leaves open (it builds `zongji.BinlogClass` and emits 'ready' just before queueing
 * the command), so each binlog packet's raw event bytes go to OUR decoder (src/binlog), exactly as
 * when the same bytes are read from the file. Chosen over normalising zongji's decoded rows, which
 * would have to undo `Date`s (unless dateStrings), GEOMETRY parsed into objects instead of its WKB
 * bytes, column names and signedness fetched from today's information_schema rather than the
 * binlog (wrong after an ALTER), and which drops MySQL 8 compressed transactions and partial JSON
 * updates after one 'error' event: with raw bytes every value, position and checksum is exactly
 * what the file reader sees, nothing is decoded twice, and nothing zongji cannot decode is lost.
 *
 * What the stream adds to the file's bytes, and how it is undone:
 * - an artificial ROTATE (flag LOG_EVENT_ARTIFICIAL_F, log_pos 0) names the file and position
 *   before each file's events: it starts a new decoder for that file;
 * - when the dump starts past offset 4, the file's FORMAT_DESCRIPTION comes with log_pos 0: it
 *   is decoded apart and handed to the file's decoder as the format in force;
 * - heartbeats and other artificial events are not file data and are dropped;
 * - the server may leave out events (MariaDB skips ANNOTATE_ROWS unless asked for them, 42% of a
 *   typical binlog's bytes): each real event's log_pos says where it ends, so a hole before it is
 *   filled with an IGNORABLE event of the hole's size, and every position stays the file's own.
 *   A log_pos that points backwards, or a hole no event could fill, stops the read.
 *
 * zongji pushes; this module pulls. Packets go into a queue bounded by bytes: past the bound the
 * binlog socket is paused (TCP then holds the server's dump thread) and resumed when the consumer
 * takes the queue's contents; nothing is dropped or re-read to slow down.
 */
import type ZongJi from '@vlasky/zongji';
import { BinlogDecoder, type DecoderOptions } from '../binlog/decoder.js';
import { crc32 } from '../binlog/crc32.js';
import { EventType, eventTypeName } from '../binlog/event-types.js';
import { ChecksumAlgorithm, type BinlogEvent, type DecodeWarning, type FormatDescription } from '../binlog/event.js';
import { HEADER_LENGTH, LOG_EVENT_IGNORABLE_F, LOG_EVENT_RELAY_LOG_F } from '../binlog/header.js';
import { TransactionAssembler, gtidText, type TransactionItem } from '../binlog/transaction.js';
import { BinlogError, BinlogErrorCode, EngineError, type ErrorDetails } from '../errors.js';
import { opensTransaction } from './group-start.js';
import type { ReadBatch } from './read-transactions.js';

/** Stable codes of live-source failures. */
export const LiveSourceErrorCode = {
  /** The replication connection could not be set up (retryable unless access was denied). */
  Connect: 'LIVE_CONNECT',
  /** The connection dropped or the dump thread was killed mid-read (retryable: resume from details.file/offset). */
  ConnectionLost: 'LIVE_CONNECTION_LOST',
  /** The server does not write binary logs (log_bin=OFF). */
  NoBinlog: 'LIVE_NO_BINLOG',
  /** The start file is not among the server's binlogs (purged, or a typo). */
  StartPurged: 'LIVE_START_PURGED',
  /** The server refused the start position (not an event boundary, or past the end of the file). */
  BadStart: 'LIVE_BAD_START',
  /** The account lacks a privilege the read needs (REPLICATION SLAVE for the dump, BINLOG MONITOR / REPLICATION CLIENT for SHOW BINARY LOGS): retrying will not help. */
  AccessDenied: 'LIVE_ACCESS_DENIED',
  /** Any other error the dump thread reported. */
  ServerError: 'LIVE_SERVER_ERROR',
  /** The stream's events do not line up with file positions; the files must be read instead. */
  StreamMismatch: 'LIVE_STREAM_MISMATCH',
  /** The installed zongji lacks the dump command this module hooks (an incompatible version). */
  Unsupported: 'LIVE_UNSUPPORTED',
  /** The read was aborted through its signal. */
  Aborted: 'LIVE_ABORTED',
} as const;
export type LiveSourceErrorCode = (typeof LiveSourceErrorCode)[keyof typeof LiveSourceErrorCode];

/** A live read failed; `details` name the server, and the file/offset to resume from when known. */
export class LiveSourceError extends EngineError {}

/** The connection facts the live source needs; src/db's ConnectionTarget satisfies it. */
export interface LiveTarget {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string | undefined;
  /** Connect through this Unix socket instead of host:port. */
  readonly socket?: string;
  /** The URL with any password replaced by `***`, for messages. */
  readonly redacted: string;
}

/** TLS for the dump connection: PEM contents and what to check (src/db/tls.ts `tlsSocketOptions` builds it). */
export interface LiveTls {
  readonly ca?: string;
  readonly ciphers?: string;
  readonly minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  readonly cert?: string;
  readonly key?: string;
  readonly rejectUnauthorized: boolean;
  readonly verifyIdentity: boolean;
}

/**
 * The plain SQL the live source runs besides the dump (SHOW BINARY LOGS, SHOW MASTER STATUS);
 * src/db's SqlSession satisfies it. A port, so src/source never imports the driver.
 */
export interface ControlSession {
  query(sql: string): Promise<{ readonly rows: readonly Readonly<Record<string, unknown>>[] }>;
}

/** A binlog file name and a byte offset in it. */
export interface BinlogPosition {
  readonly file: string;
  readonly position: number;
}

/** How readLiveTransactions reads a server's binlogs over the replication protocol. */
export interface LiveSourceOptions {
  /** A session on the same server, for SHOW BINARY LOGS / SHOW MASTER STATUS; the caller closes it. */
  readonly control: ControlSession;
  /** Where the dump starts: an event boundary at a transaction start. Default: the first binlog the server has, at 4. */
  readonly start?: { readonly file?: string; readonly position?: number };
  /** Keep reading as the server writes (until aborted); default false: stop at the server's end at start (SHOW MASTER STATUS). */
  readonly follow?: boolean;
  /**
   * Without `follow`: where the read stops, instead of the server's end at the start — so that two
   * reads of one range (a pre-scan, then the pass that applies) see the same transactions.
   */
  readonly end?: BinlogPosition;
  /** Bytes of received events held before the socket is paused (default 16 MiB; one event larger than this still passes). */
  readonly maxQueuedBytes?: number;
  /** server_id this reader announces (default: random in 2^31…2^32−1, so two readers never evict each other's dump thread). */
  readonly serverId?: number;
  /** Give up connecting after this long (default 10 s): LIVE_CONNECT, retryable. */
  readonly connectTimeoutMs?: number;
  /**
   * The server is asked for a heartbeat after this long without events (default 5 s), and a dump
   * that delivers nothing for three periods while the reader is not holding it back is taken for a
   * lost connection (retryable). A connection a network dropped without a word (a NAT or firewall
   * timeout, a host gone) would otherwise keep a follow waiting for hours, until TCP gives up.
   */
  readonly heartbeatMs?: number;
  /** TLS for the dump connection; absent or null: a plain one. */
  readonly tls?: LiveTls | null;
  readonly verifyChecksums?: boolean;
  /** Ask for and decode ANNOTATE_ROWS statement texts (MariaDB sends them only when asked). Default true. */
  readonly annotations?: boolean;
  readonly schemaHints?: DecoderOptions['schemaHints'];
  /** Keep the decoded events in each batch. */
  readonly keepEvents?: boolean;
  /** Ends the read at once, the dump connection closed: the iteration rejects with LIVE_ABORTED (the signal's reason as cause). */
  readonly signal?: AbortSignal;
}

/** A queue of items counted in bytes, between a producer that can be paused and a pulling consumer. */
export class ByteQueue<T> {
  readonly #limit: number;
  readonly #flow: { pause(): void; resume(): void };
  #items: T[] = [];
  #bytes = 0;
  #paused = false;
  #ended = false;
  #failed = false;
  #error: unknown = undefined;
  #wake: (() => void) | null = null;

  /** `flow.pause()` is called once the queued bytes reach `limitBytes`, `flow.resume()` when the consumer has taken them. */
  constructor(limitBytes: number, flow: { pause(): void; resume(): void }) {
    this.#limit = limitBytes;
    this.#flow = flow;
  }

  /** Bytes queued and not yet taken. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether the producer is paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Whether end() or fail() was called. */
  get closed(): boolean {
    return this.#ended || this.#failed;
  }

  /** Queues `item` (never dropped while the queue is open); pauses the producer once the bound is reached. */
  push(item: T, bytes: number): void {
    if (this.closed) return;
    this.#items.push(item);
    this.#bytes += bytes;
    if (!this.#paused && this.#bytes >= this.#limit) {
      this.#paused = true;
      this.#flow.pause();
    }
    this.#notify();
  }

  /** No more items: take() returns null once the queue is empty. */
  end(): void {
    if (this.closed) return;
    this.#ended = true;
    this.#notify();
  }

  /** The producer failed: take() delivers the items queued before, then throws `error`. */
  fail(error: unknown): void {
    if (this.closed) return;
    this.#failed = true;
    this.#error = error;
    this.#notify();
  }

  /** Waits for items and takes all of them (one batch), or null at the end; throws the producer's error after its items. */
  async take(): Promise<T[] | null> {
    while (this.#items.length === 0) {
      if (this.#failed) throw this.#error;
      if (this.#ended) return null;
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
    const batch = this.#items;
    this.#items = [];
    this.#bytes = 0;
    // Resume after taking: a resume may deliver packets the driver held while paused, synchronously.
    if (this.#paused && !this.closed) {
      this.#paused = false;
      this.#flow.resume();
    }
    return batch;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

/** Header flag: an event made up by the dump thread, not read from the file (fake ROTATE). */
const LOG_EVENT_ARTIFICIAL_F = 0x20;
const DEFAULT_QUEUE_BYTES = 16 * 1024 * 1024;
const DEFAULT_HEARTBEAT_MS = 5000;
/** Heartbeat periods without a packet after which the connection is taken for dead. */
const SILENT_PERIODS = 3;
/** A hole larger than this is not a skipped event but a stream that lost its place (positions are mod 2^32). */
const MAX_HOLE = 1024 * 1024 * 1024 + 65536;

/** Binlog names sort by their numeric extension (`.000009` < `.000010`, `.999999` < `.1000000`). */
export function compareBinlogNames(a: string, b: string): number {
  const na = /\.(\d+)$/.exec(a);
  const nb = /\.(\d+)$/.exec(b);
  if (na && nb && a.slice(0, na.index) === b.slice(0, nb.index)) return Number(na[1]) - Number(nb[1]);
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Turns the dump stream's raw events into the file reader's transactions: one decoder per file,
 * artificial events handled, holes filled, stopping at `end`. Pure: no I/O.
 */
export class LiveStreamReader {
  readonly #decoderOptions: DecoderOptions;
  readonly #end: BinlogPosition | null;
  readonly #label: string;
  readonly #checksums: () => boolean;
  readonly #assembler = new TransactionAssembler('<none>');
  #file: string | null = null;
  #decoder: BinlogDecoder | null = null;
  /** Where the next file's first event is (from the artificial ROTATE), until its decoder exists. */
  #startAt = 0;
  #fde: FormatDescription | null = null;
  #gtid: string | null = null;
  /** Set by a real ROTATE (the last event of a file): the next file and where it starts. */
  #rotatedTo: BinlogPosition | null = null;
  #done = false;
  #bytes = 0;
  #warnings: DecodeWarning[] = [];
  /** The read starts past a file's head: its first event must open a transaction (checked once). */
  #checkStart: boolean;
  readonly #start: BinlogPosition | null;

  /**
   * `checksums` tells whether events made up by the server carry a CRC32 (zongji negotiated one);
   * `label` names the server in messages.
   */
  constructor(options: { decoder: DecoderOptions; end: BinlogPosition | null; label: string; checksums: () => boolean; start?: BinlogPosition }) {
    this.#checkStart = (options.start?.position ?? 4) > 4;
    this.#start = options.start ?? null;
    this.#decoderOptions = options.decoder;
    this.#end = options.end;
    this.#label = options.label;
    this.#checksums = options.checksums;
  }

  /** Whether the end position has been reached (nothing after it is decoded). */
  get done(): boolean {
    return this.#done;
  }

  /** The file being read (server's name), or null before the first ROTATE. */
  get file(): string | null {
    return this.#file;
  }

  /** The file offset after the last event decoded (or where the file's reading starts). */
  get position(): number {
    return this.#decoder?.position ?? this.#startAt;
  }

  /** Bytes of the files covered so far: each file from offset 0 (what precedes the start counts), holes included. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Feeds one event as the server sent it; completed transactions go to `items`, decoded events to `events`. */
  feed(raw: Buffer, items: TransactionItem[], events: BinlogEvent[] | null, warnings: DecodeWarning[]): void {
    if (this.#done) return;
    if (raw.length < HEADER_LENGTH || raw.readUInt32LE(9) !== raw.length) {
      throw this.#mismatch(`a packet of ${raw.length} bytes holds an event claiming ${raw.length >= 13 ? raw.readUInt32LE(9) : '?'} bytes`);
    }
    const type = raw[4]!;
    const logPos = raw.readUInt32LE(13);
    const flags = raw.readUInt16LE(17);
    if (type === EventType.ROTATE && ((flags & LOG_EVENT_ARTIFICIAL_F) !== 0 || logPos === 0)) {
      this.#artificialRotate(raw);
      return;
    }
    if (type === EventType.HEARTBEAT || type === EventType.HEARTBEAT_V2 || (flags & LOG_EVENT_ARTIFICIAL_F) !== 0) return;
    if (type === EventType.FORMAT_DESCRIPTION && logPos === 0) {
      this.#artificialFde(raw);
      return;
    }
    if (type === EventType.START_ENCRYPTION) {
      // The dump thread decrypts: what follows is cleartext. Its bytes become a hole, filled below.
      return;
    }
    let decoder = this.#decoder;
    if (decoder === null) {
      if (this.#file === null) throw this.#mismatch(`${eventTypeName(type)} event before the server named the file`);
      if (this.#fde === null && type !== EventType.FORMAT_DESCRIPTION) throw this.#mismatch(`${eventTypeName(type)} event before the file's format description`);
      decoder = this.#openDecoder();
    }
    this.#warnings = warnings;
    const before = decoder.position;
    try {
      if (logPos !== 0) this.#fillHole(decoder, raw, logPos, type, items, events);
      this.#decode(decoder, raw, items, events);
    } catch (e) {
      throw this.#withContext(e);
    }
    this.#bytes += decoder.position - before;
    const end = this.#end;
    if (end !== null && this.#file === end.file && decoder.position >= end.position) {
      this.#done = true;
      return;
    }
    const next = this.#rotatedTo;
    if (next !== null) {
      // MySQL goes straight on with the next file's FORMAT_DESCRIPTION; MariaDB first repeats the
      // name in an artificial ROTATE, which then finds the switch already made.
      this.#rotatedTo = null;
      this.#switchTo(next.file, next.position);
    }
  }

  /** The input ended (the end was reached): a group still open is incomplete, as at the end of the last file. */
  finish(items: TransactionItem[]): void {
    this.#assembler.end(items);
  }

  #decode(decoder: BinlogDecoder, raw: Buffer, items: TransactionItem[], events: BinlogEvent[] | null): void {
    const decoded = decoder.push(raw);
    if (this.#checkStart) this.#checkFirst(decoded, decoder);
    for (const e of decoded) {
      if (e.kind === 'gtid') this.#gtid = e.anonymous ? null : gtidText({ flavor: 'mysql', uuid: e.uuid, tag: e.tag, gno: e.gno });
      else if (e.kind === 'mariadb-gtid') this.#gtid = gtidText({ flavor: 'mariadb', ...e.gtid });
      else if (e.kind === 'rotate' && !(e.header.flags & LOG_EVENT_RELAY_LOG_F)) this.#rotatedTo = { file: e.nextFile, position: Number(e.position) };
    }
    this.#assembler.push(decoded, items);
    if (!this.#assembler.inTransaction) this.#gtid = null;
    if (events !== null) for (const e of decoded) events.push(e);
  }

  /**
   * A server streams from any event boundary: started inside a transaction, its tail would read as
   * a whole transaction with no GTID. The first event that belongs to a transaction must open one.
   */
  #checkFirst(decoded: readonly BinlogEvent[], decoder: BinlogDecoder): void {
    for (const e of decoded) {
      const opens = opensTransaction(e, decoder.formatDescription ?? this.#fde);
      if (opens === null) continue;
      this.#checkStart = false;
      if (opens) return;
      const file = this.#start?.file ?? this.#file ?? '<stream>';
      const at = this.#start?.position ?? e.header.offset;
      throw new LiveSourceError(
        LiveSourceErrorCode.BadStart,
        `cannot start reading ${this.#label} at ${file}:${at}: its first event (${eventTypeName(e.header.typeCode)} at ${e.header.offset}) is inside a transaction; give a position where a transaction starts (inspect prints it as "pos")`,
        { source: this.#label, file, offset: at },
      );
    }
  }

  #openDecoder(): BinlogDecoder {
    const decoder = new BinlogDecoder({
      ...this.#decoderOptions,
      file: this.#file!,
      expectMagic: false,
      startOffset: this.#startAt,
      ...(this.#fde === null ? {} : { formatDescription: this.#fde }),
      onWarning: (w) => this.#warnings.push(w),
    });
    this.#decoder = decoder;
    return decoder;
  }

  /** Fills the bytes the server left out before this event with one IGNORABLE event, so offsets stay the file's. */
  #fillHole(decoder: BinlogDecoder, raw: Buffer, logPos: number, type: number, items: TransactionItem[], events: BinlogEvent[] | null): void {
    // log_pos is 32 bits: compare modulo 2^32, as files past 4 GiB wrap it.
    const at = decoder.position;
    const hole = (logPos - raw.length - at) % 0x1_0000_0000;
    const gap = hole < 0 ? hole + 0x1_0000_0000 : hole;
    if (gap === 0) return;
    const crc = (decoder.formatDescription?.checksumAlgorithm ?? ChecksumAlgorithm.OFF) === ChecksumAlgorithm.CRC32 ? 4 : 0;
    if (gap > MAX_HOLE || gap < HEADER_LENGTH + crc) {
      throw this.#mismatch(`${eventTypeName(type)} event of ${raw.length} bytes ends at log_pos ${logPos}, but the previous event ended at ${at}`);
    }
    const filler = Buffer.alloc(gap);
    filler[4] = EventType.IGNORABLE;
    filler.writeUInt32LE(gap, 9);
    filler.writeUInt32LE((at + gap) % 0x1_0000_0000, 13);
    filler.writeUInt16LE(LOG_EVENT_IGNORABLE_F, 17);
    if (crc) filler.writeUInt32LE(crc32(filler.subarray(0, gap - 4)), gap - 4);
    this.#decode(decoder, filler, items, events);
  }

  #artificialRotate(raw: Buffer): void {
    // Whether the server put a CRC32 on it follows the checksum of the file it was reading, not
    // only the one negotiated at connect: where binlog_checksum changed between files, the ROTATE
    // into a file of the other kind (MariaDB) has the other form. Taken as the bytes say: a name
    // read with 4 checksum bytes in it, or 4 bytes short, compared past the end and ended the read
    // early without a word.
    if (raw.length < HEADER_LENGTH + 8 + 1) throw this.#mismatch(`artificial ROTATE of ${raw.length} bytes`);
    const crcValid = raw.length > HEADER_LENGTH + 8 + 4 && crc32(raw.subarray(0, raw.length - 4)) === raw.readUInt32LE(raw.length - 4);
    const crc = crcValid ? 4 : 0;
    const position = Number(raw.readBigUInt64LE(HEADER_LENGTH));
    const file = raw.toString('latin1', HEADER_LENGTH + 8, raw.length - crc);
    // Binlog names are plain file names; anything else is a damaged event or one misread.
    if (!/^[\x21-\x7e]+$/.test(file)) throw this.#mismatch(this.#checksums() && !crcValid ? 'artificial ROTATE with a wrong checksum' : `artificial ROTATE naming no file (${JSON.stringify(file)})`);
    // A file that a crash left without its closing ROTATE is followed by the next one all the same.
    if (file === this.#file && position === this.position) return;
    this.#switchTo(file, position);
  }

  #switchTo(file: string, position: number): void {
    const end = this.#end;
    if (end !== null && (compareBinlogNames(file, end.file) > 0 || (file === end.file && position >= end.position))) {
      this.#done = true;
      return;
    }
    // The bytes before the start point count as covered, so a whole read totals the files' sizes.
    this.#bytes += position;
    this.#file = file;
    this.#startAt = position;
    this.#decoder = null;
    this.#fde = null;
    this.#assembler.setFile(file);
  }

  #artificialFde(raw: Buffer): void {
    // Sent for a dump that starts past offset 4: the file's own FDE with log_pos cleared, as the
    // format in force. Decoded apart (it is not at the read position).
    const decode = (bytes: Buffer): BinlogEvent | undefined =>
      new BinlogDecoder({ expectMagic: false, startOffset: 4, verifyChecksums: this.#decoderOptions.verifyChecksums, file: this.#file ?? '<stream>' }).push(bytes)[0];
    let event: BinlogEvent | undefined;
    try {
      event = decode(raw);
    } catch (e) {
      // A server that negotiated no checksum clears log_pos without recomputing the FDE's CRC32
      // (MariaDB 10.11, binlog_checksum=NONE): verify it against the bytes as the file has them.
      if (!(e instanceof BinlogError) || e.code !== BinlogErrorCode.ChecksumMismatch) throw e;
      const asInFile = Buffer.from(raw);
      asInFile.writeUInt32LE(4 + raw.length, 13);
      event = decode(asInFile);
    }
    if (event?.kind !== 'format-description') throw this.#mismatch('an artificial FORMAT_DESCRIPTION that does not decode as one');
    const { kind: _kind, header: _header, inUse: _inUse, ...fde } = event;
    this.#fde = fde;
    this.#decoder = null;
  }

  #mismatch(what: string): LiveSourceError {
    const where = this.#file === null ? '' : ` at ${this.#file}:${this.position}`;
    const tx = this.#gtid === null ? '' : ` in transaction ${this.#gtid}`;
    return new LiveSourceError(
      LiveSourceErrorCode.StreamMismatch,
      `live stream from ${this.#label}${where}${tx}: ${what}; the stream cannot be mapped onto the file exactly — read the binlog files instead (salvage inspect FILE…)`,
      this.#details(),
    );
  }

  #details(): ErrorDetails {
    return { source: this.#label, ...(this.#file === null ? {} : { file: this.#file, offset: this.position }), ...(this.#gtid === null ? {} : { gtid: this.#gtid }) };
  }

  /** A decode failure keeps its code (and exit status); the message gains the server and the transaction. */
  #withContext(e: unknown): unknown {
    if (!(e instanceof BinlogError) || this.#gtid === null) return e;
    return new BinlogError(e.code, `${e.message} (live from ${this.#label}, in transaction ${this.#gtid})`, { ...e.details, gtid: this.#gtid, source: this.#label }, e);
  }
}

// ---- zongji ----------------------------------------------------------------------------------

/** What this module relies on of a mysql2 packet (lib/packets/packet.js): payload at [offset, end). */
interface WirePacket {
  readonly buffer: Buffer;
  readonly offset: number;
  readonly end: number;
  isEOF(): boolean;
  isError(): boolean;
  asError(encoding?: string): Error;
}

/** zongji's dump command (lib/sequence/binlog.js): a mysql2 command whose start() writes COM_BINLOG_DUMP. */
interface DumpCommand {
  start(packet: WirePacket, connection: unknown): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}
type DumpCommandClass = new (callback: (error: Error | null, event?: unknown) => void) => DumpCommand;

/** zongji fields outside its typings: the dump command class it builds before emitting 'ready'. */
interface ZongJiInternals {
  BinlogClass?: DumpCommandClass;
}

interface DumpSink {
  event(raw: Buffer): void;
  fail(error: Error): void;
  end(): void;
}

/** zongji's dump command, with its packet handler replaced by one that hands over the raw event bytes. */
function rawDumpClass(Base: DumpCommandClass, sink: DumpSink): DumpCommandClass {
  return class RawDump extends Base {
    constructor(callback: (error: Error | null, event?: unknown) => void) {
      super(callback);
      // An error packet in reply to the dump request is emitted on the command itself.
      this.on('error', (e) => sink.fail(e));
    }

    override start(packet: WirePacket, connection: unknown): unknown {
      super.start(packet, connection);
      return RawDump.prototype.data;
    }

    data(packet: WirePacket, connection: unknown): unknown {
      if (packet.isEOF()) {
        sink.end();
        return null;
      }
      if (packet.isError()) {
        sink.fail(packet.asError((connection as { clientEncoding?: string }).clientEncoding));
        return null;
      }
      // Skip the OK byte that prefixes each event. A view, not a copy: mysql2 hands each packet
      // over in a buffer of its own socket read (or a joined buffer for >16 MiB events), never reused.
      sink.event(packet.buffer.subarray(packet.offset + 1, packet.end));
      return RawDump.prototype.data;
    }
  };
}

interface Dump {
  readonly queue: ByteQueue<Buffer>;
  /** Whether the server sends CRC32 on the events it makes up (known once connected). */
  checksums(): boolean;
  /** Ends the dump: KILLs the dump thread, closes both connections. */
  stop(): Promise<void>;
}

function errnoOf(e: unknown): number | undefined {
  const n = (e as { errno?: unknown } | null)?.errno ?? (e as { details?: { errno?: unknown } } | null)?.details?.errno;
  return typeof n === 'number' ? n : undefined;
}

/** ER_SPECIFIC_ACCESS_DENIED_ERROR, ER_DBACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR: a privilege is missing (not a wrong password, 1045). */
const PRIVILEGE_ERRNOS = new Set([1227, 1044, 1142]);

/**
 * A privilege the live read lacks, as a LiveSourceError naming the grant that cures it, or null
 * for any other failure. `what` is what was refused: the dump, or the statement run.
 */
export function privilegeError(e: unknown, label: string, what: string): LiveSourceError | null {
  if (e instanceof LiveSourceError) return null;
  const errno = errnoOf(e);
  if (errno === undefined || !PRIVILEGE_ERRNOS.has(errno)) return null;
  const text = e instanceof Error ? e.message : String(e);
  return new LiveSourceError(
    LiveSourceErrorCode.AccessDenied,
    `${label} refused ${what}: ${text.replace(/^.*?: (?=Access denied)/, '').replace(/ \(in: [^)]*\)$/, '')}. The account that reads a live source needs REPLICATION SLAVE (the binlog dump) and, on MariaDB, BINLOG MONITOR (REPLICATION CLIENT on MySQL: SHOW BINARY LOGS, SHOW MASTER STATUS), e.g. GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO …`,
    { source: label, errno },
    { retryable: false, cause: e },
  );
}

/** Maps a driver or server error to a LiveSourceError. */
function toLiveError(e: Error, label: string, connected: boolean, start: BinlogPosition): LiveSourceError {
  if (e instanceof LiveSourceError) return e;
  const errno = errnoOf(e);
  const details: ErrorDetails = { source: label, ...(errno === undefined ? {} : { errno }) };
  const text = e.message;
  // ER_MASTER_FATAL_ERROR_READING_BINLOG: the dump thread cannot serve the position asked for.
  if (errno === 1236) {
    if (/could not find first log file/i.test(text)) {
      return new LiveSourceError(LiveSourceErrorCode.StartPurged, `${label} no longer has binlog ${start.file}: ${text}`, { ...details, file: start.file }, { cause: e });
    }
    // MariaDB reads an offset inside an event as an event of a size it cannot take: its error says
    // "exceeded max_allowed_packet" with nothing read past the start ("the first event 'f' at P,
    // the last event read from 'f' at P").
    // (MariaDB, a start past the end of a file that is not the last: "impossible position".)
    const unreadable = /exceeded max_allowed_packet/i.test(text) && text.includes(`the first event '${start.file}' at ${start.position}, the last event read from '${start.file}' at ${start.position},`);
    if (unreadable || /in the middle of event|impossible position|position.*(larger|bigger|greater)|bogus data|wrong magic|not a binlog|invalid position/i.test(text)) {
      // The server's own words on an offset inside an event blame max_allowed_packet, which no
      // setting cures: say what it means first.
      const why = unreadable ? `no event starts there (the server read the bytes there as an event too large to send: ${text})` : `(${text})`;
      return new LiveSourceError(
        LiveSourceErrorCode.BadStart,
        `${label} refused to start at ${start.file}:${start.position}${unreadable ? ': ' : ' '}${why}; give a position where a transaction starts (inspect prints it as "pos")`,
        { ...details, file: start.file, offset: start.position },
        { cause: e },
      );
    }
    return new LiveSourceError(LiveSourceErrorCode.ServerError, `${label}: the binlog dump failed: ${text}`, details, { cause: e });
  }
  // Refused by the dump command itself (after the connection was set up): REPLICATION SLAVE missing.
  const privilege = privilegeError(e, label, 'the binlog dump');
  if (privilege !== null) return privilege;
  if (!connected) {
    // ER_ACCESS_DENIED_ERROR, ER_SPECIFIC_ACCESS_DENIED_ERROR (REPLICATION SLAVE missing): retrying will not help.
    const denied = errno === 1045 || errno === 1227;
    return new LiveSourceError(LiveSourceErrorCode.Connect, `cannot start reading binlogs from ${label}: ${text}`, details, { retryable: !denied, cause: e });
  }
  return new LiveSourceError(LiveSourceErrorCode.ConnectionLost, `lost the replication connection to ${label}: ${text}`, details, { retryable: true, cause: e });
}

type ZongJiClass = typeof ZongJi;
let zongjiLoad: Promise<ZongJiClass> | undefined;

/**
 * zongji (and the mysql driver it brings) loaded on the first live read, not when the library is
 * imported: it costs ~150 ms of start-up an application reading files or applying never needs.
 */
function loadZongJi(): Promise<ZongJiClass> {
  zongjiLoad ??= import('@vlasky/zongji').then((m) => m.default);
  return zongjiLoad;
}

/** Starts a binlog dump at `start` through zongji; events arrive in the returned queue. */
function startDump(ZongJi: ZongJiClass, target: LiveTarget, start: BinlogPosition, options: LiveSourceOptions): Dump {
  const label = target.redacted;
  const ssl = options.tls ?? null;
  const zongji = new ZongJi({
    host: target.host,
    port: target.port,
    user: target.user,
    password: target.password,
    ...(target.socket === undefined ? {} : { socketPath: target.socket }),
    connectTimeout: options.connectTimeoutMs ?? 10_000,
    ...(ssl === null ? {} : { ssl: { ...ssl } }),
  });
  let connection: { pause(): void; resume(): void } | null = null;
  let stopping = false;
  let connected = false;
  const queue = new ByteQueue<Buffer>(options.maxQueuedBytes ?? DEFAULT_QUEUE_BYTES, {
    pause: () => connection?.pause(),
    resume: () => {
      // Held back by the reader, the server was not silent: the wait starts again.
      lastPacket = Date.now();
      connection?.resume();
    },
  });
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  let lastPacket = Date.now();
  let watchdog: ReturnType<typeof setInterval> | null = null;
  const stopWatchdog = (): void => {
    if (watchdog !== null) clearInterval(watchdog);
    watchdog = null;
  };
  const sink: DumpSink = {
    event: (raw) => {
      lastPacket = Date.now();
      queue.push(raw, raw.length);
    },
    fail: (e) => {
      stopWatchdog();
      if (!stopping) queue.fail(toLiveError(e, label, connected, start));
    },
    end: () => {
      stopWatchdog();
      if (!stopping) queue.end();
    },
  };
  zongji.on('error', (e: Error) => {
    // Before 'ready' these are the set-up's failures. After it, zongji reports only its control
    // connection's (idle timeouts on a long follow); the binlog connection's come through the
    // listeners below, so the read goes on.
    if (!connected) sink.fail(e);
  });
  zongji.on('ready', () => {
    const internals = zongji as unknown as ZongJiInternals;
    const Base = internals.BinlogClass;
    const conn = zongji.connection;
    if (typeof Base !== 'function' || conn === null) {
      queue.fail(new LiveSourceError(LiveSourceErrorCode.Unsupported, `this @vlasky/zongji has no dump command to hook (expected zongji.BinlogClass at 'ready'); install the version package.json pins`, { source: label }));
      stopping = true;
      zongji.stop();
      return;
    }
    connected = true;
    connection = conn;
    conn.on('error', (e: Error) => sink.fail(e));
    // Nanoseconds. Heartbeats come only while the server has nothing to send; the reader drops them.
    (conn as unknown as { query(sql: string, cb: (e: Error | null) => void): void }).query(`SET @master_heartbeat_period = ${Math.round(heartbeatMs * 1e6)}`, (e) => {
      if (e !== null) sink.fail(e);
    });
    lastPacket = Date.now();
    watchdog = setInterval(() => {
      if (queue.paused || queue.closed) return;
      const silent = Date.now() - lastPacket;
      if (silent < SILENT_PERIODS * heartbeatMs) return;
      sink.fail(
        new LiveSourceError(
          LiveSourceErrorCode.ConnectionLost,
          `lost the replication connection to ${label}: nothing came, not even a heartbeat, for ${(silent / 1000).toFixed(1)} s (a network that dropped the connection without a word)`,
          { source: label },
          { retryable: true },
        ),
      );
    }, Math.max(50, Math.round(heartbeatMs / 2)));
    watchdog.unref?.();
    if (!zongji.useChecksum) {
      // zongji declares checksum support only when binlog_checksum is not NONE now; undeclared, a
      // MariaDB server refuses to send the files it wrote with CRC32 before the setting changed
      // ("Slave can not handle replication events with the checksum …"). Declared as NONE, it sends
      // each file's events as written and makes up its own (fake ROTATE) without one, as assumed.
      // Queued on the dump connection ahead of the dump command, which zongji queues after 'ready'.
      (conn as unknown as { query(sql: string, cb: (e: Error | null) => void): void }).query("SET @master_binlog_checksum = 'NONE'", (e) => {
        if (e !== null) sink.fail(e);
      });
    }
    conn.once('end', () => sink.fail(Object.assign(new Error('the server closed the connection'), { code: 'PROTOCOL_CONNECTION_LOST' })));
    internals.BinlogClass = rawDumpClass(Base, sink);
  });
  zongji.start({
    serverId: options.serverId ?? 0x8000_0000 + Math.floor(Math.random() * 0x7fff_fffe),
    filename: start.file,
    position: start.position,
    requestAnnotateRows: options.annotations ?? true,
  });
  return {
    queue,
    checksums: () => zongji.useChecksum,
    stop: () =>
      new Promise<void>((resolve) => {
        stopWatchdog();
        if (stopping && zongji.stopped) return resolve();
        stopping = true;
        queue.end();
        zongji.once('stopped', () => resolve());
        zongji.stop();
      }),
  };
}

// ---- the source ------------------------------------------------------------------------------

interface BinaryLog {
  readonly name: string;
  readonly size: number;
}

async function controlQuery(control: ControlSession, sql: string, label: string): Promise<readonly Readonly<Record<string, unknown>>[]> {
  try {
    return (await control.query(sql)).rows;
  } catch (e) {
    const errno = errnoOf(e) ?? (e as { details?: { errno?: number } }).details?.errno;
    // ER_NO_BINARY_LOGGING
    if (errno === 1381) throw new LiveSourceError(LiveSourceErrorCode.NoBinlog, `${label} does not write binary logs (log_bin is OFF): there is nothing to read`, { source: label, errno }, { cause: e });
    throw privilegeError(e, label, sql) ?? e;
  }
}

/** SHOW BINARY LOGS: the files the server still has, oldest first. */
async function binaryLogs(control: ControlSession, label: string): Promise<BinaryLog[]> {
  const rows = await controlQuery(control, 'SHOW BINARY LOGS', label);
  const logs = rows.map((r) => ({ name: String(r['Log_name']), size: Number(r['File_size']) }));
  if (logs.length === 0) throw new LiveSourceError(LiveSourceErrorCode.NoBinlog, `${label} lists no binary logs`, { source: label });
  return logs;
}

/** The server's current end: SHOW MASTER STATUS (SHOW BINARY LOG STATUS on MySQL 8.4+, which dropped the old name). */
export async function serverEnd(control: ControlSession, label: string): Promise<BinlogPosition> {
  let rows;
  try {
    rows = await controlQuery(control, 'SHOW MASTER STATUS', label);
  } catch (e) {
    // Only a server that no longer knows the statement (MySQL 8.4: a syntax error) takes the new name;
    // any other failure (a missing privilege) is the one to report.
    if (errnoOf(e) !== 1064) throw e;
    rows = await controlQuery(control, 'SHOW BINARY LOG STATUS', label);
  }
  const row = rows[0];
  if (row === undefined) throw new LiveSourceError(LiveSourceErrorCode.NoBinlog, `${label} reports no current binlog (log_bin is OFF)`, { source: label });
  return { file: String(row['File']), position: Number(row['Position']) };
}

function abortError(signal: AbortSignal, label: string): LiveSourceError {
  return new LiveSourceError(LiveSourceErrorCode.Aborted, `reading from ${label} was interrupted`, { source: label }, { cause: signal.reason });
}

/** The engine's LIVE_ABORTED, never the platform's AbortError: callers match every failure on `code`. */
function stopIfAborted(signal: AbortSignal | undefined, label: string): void {
  if (signal?.aborted === true) throw abortError(signal, label);
}

/**
 * Reads the server's binlogs from `options.start` (default: its first binlog) to its end at the
 * time of the call — or on, with `follow` — yielding one batch per group of events received, the
 * same batches as readTransactions yields for files (transactions name the server's files).
 * Stopping early (break, return, abort) ends the dump and closes its connections.
 */
export async function* readLiveTransactions(target: LiveTarget, options: LiveSourceOptions): AsyncGenerator<ReadBatch> {
  const label = target.redacted;
  stopIfAborted(options.signal, label);
  const logs = await binaryLogs(options.control, label);
  const file = options.start?.file ?? logs[0]!.name;
  const start: BinlogPosition = { file, position: options.start?.position ?? 4 };
  if (!Number.isInteger(start.position) || start.position < 4 || start.position > 0xffff_ffff) {
    // COM_BINLOG_DUMP carries the position in 4 bytes.
    throw new LiveSourceError(LiveSourceErrorCode.BadStart, `cannot start reading ${label} at ${file}:${start.position}: the position must be from 4 to 4294967295`, { source: label, file, offset: start.position });
  }
  const startIndex = logs.findIndex((l) => l.name === file);
  if (startIndex < 0) {
    throw new LiveSourceError(
      LiveSourceErrorCode.StartPurged,
      `${label} has no binlog ${file}: it has ${logs[0]!.name}${logs.length > 1 ? ` … ${logs[logs.length - 1]!.name}` : ''} (a purged file is gone from the server; read it from a backup)`,
      { source: label, file, firstAvailable: logs[0]!.name },
    );
  }
  // The server takes a start past a file's end silently when the file is its last (nothing to send
  // yet): the read would end at once, and whatever lay before the position would go unread.
  const size = logs[startIndex]!.size;
  if (start.position > size) {
    throw new LiveSourceError(
      LiveSourceErrorCode.BadStart,
      `cannot start reading ${label} at ${file}:${start.position}: the file is ${size} bytes long; give a position where a transaction starts (inspect prints it as "pos")`,
      { source: label, file, offset: start.position, size },
    );
  }
  const end = options.follow ? null : (options.end ?? (await serverEnd(options.control, label)));
  // Nothing to read: a blocking dump started at the end would wait for the server's next write.
  if (end !== null && (compareBinlogNames(start.file, end.file) > 0 || (start.file === end.file && start.position >= end.position))) return;
  const endIndex = end === null ? -1 : logs.findIndex((l) => l.name === end.file);
  // The sizes of the files to read, the last one up to the end; as the file reader counts them.
  const bytesTotal = end === null ? 0 : logs.slice(startIndex, endIndex < 0 ? undefined : endIndex).reduce((n, l) => n + l.size, 0) + (endIndex < 0 ? 0 : end.position);
  const ZongJiClass = await loadZongJi();
  stopIfAborted(options.signal, label);

  const dump = startDump(ZongJiClass, target, start, options);
  const reader = new LiveStreamReader({
    decoder: { verifyChecksums: options.verifyChecksums, annotations: options.annotations, schemaHints: options.schemaHints },
    end,
    label,
    checksums: () => dump.checksums(),
    start,
  });
  // Where a caller resumes after a lost connection: the end of the last transaction completed.
  let resume: BinlogPosition = start;
  const onAbort = (): void => dump.queue.fail(abortError(options.signal!, label));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    while (!reader.done) {
      let raw: Buffer[] | null;
      try {
        raw = await dump.queue.take();
      } catch (e) {
        if (e instanceof LiveSourceError && e.code === LiveSourceErrorCode.ConnectionLost) {
          throw new LiveSourceError(e.code, `${e.message}; resume from ${resume.file}:${resume.position}`, { ...e.details, file: resume.file, offset: resume.position }, { retryable: true, cause: e.cause });
        }
        throw e;
      }
      if (raw === null) {
        // Only a non-blocking dump ends by itself, and this one blocks: an end before ours is a fault.
        if (end === null) break;
        throw new LiveSourceError(
          LiveSourceErrorCode.ConnectionLost,
          `${label} ended the binlog dump at ${reader.file ?? file}:${reader.position}, before its end ${end.file}:${end.position}; resume from ${resume.file}:${resume.position}`,
          { source: label, file: resume.file, offset: resume.position },
          { retryable: true },
        );
      }
      const items: TransactionItem[] = [];
      const events: BinlogEvent[] | null = options.keepEvents ? [] : null;
      const warnings: DecodeWarning[] = [];
      // A failure mid-batch first hands over the transactions completed before it.
      let failure: { error: unknown } | null = null;
      for (const ev of raw) {
        try {
          reader.feed(ev, items, events, warnings);
        } catch (error) {
          failure = { error };
          break;
        }
        if (reader.done) break;
      }
      if (reader.done) reader.finish(items);
      for (const item of items) if (item.kind === 'transaction') resume = { file: item.tx.file, position: item.tx.end };
      yield {
        file: reader.file ?? file,
        items,
        events: events ?? [],
        warnings,
        tail: null,
        bytesRead: reader.bytes,
        bytesTotal: Math.max(bytesTotal, reader.bytes),
        position: reader.position,
      };
      if (failure !== null) throw failure.error;
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await dump.stop();
  }
}
