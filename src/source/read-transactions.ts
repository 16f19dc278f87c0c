/**
 * Binlog files → decoded events → transactions, as an async iterable of batches (one batch per
 * chunk read), pulled by the consumer: nothing is read ahead of what it asks for, so memory stays
 * bounded by the chunk and the open transaction, whatever the size of the files.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import { BinlogDecoder, type DecoderOptions, type IncompleteTail } from '../binlog/decoder.js';
import type { BinlogEvent, DecodeWarning } from '../binlog/event.js';
import { TransactionAssembler, type TransactionItem } from '../binlog/transaction.js';
import { LOG_EVENT_BINLOG_IN_USE_F, LOG_EVENT_RELAY_LOG_F } from '../binlog/header.js';
import { EventType } from '../binlog/event-types.js';
import { BinlogError } from '../errors.js';
import { SourceError, SourceErrorCode, resolveBinlogFiles, type BinlogFile } from './binlog-files.js';
import { fileFrom } from './split-points.js';

/** How readTransactions (and readBinlog) read the files. */
export interface ReadOptions {
  /** Bytes per read (default 256 KiB: smaller batches keep fewer decoded rows alive across a young-generation GC, measured ~15% less CPU than 1 MiB on the bench binlog). */
  readonly chunkSize?: number;
  /** Check each event's CRC32 where the file has them (default true): a mismatch throws BINLOG_CHECKSUM_MISMATCH. */
  readonly verifyChecksums?: boolean;
  /** Decode ANNOTATE_ROWS / ROWS_QUERY statement texts onto the transactions (default true). */
  readonly annotations?: boolean;
  /** Column names, signedness and charsets for table maps logged without full metadata (see inspect's --schema-from). */
  readonly schemaHints?: DecoderOptions['schemaHints'];
  /** Keep the decoded events in each batch (inspect needs them; the apply path does not). */
  readonly keepEvents?: boolean;
  /**
   * Pass over a damaged event whose boundary can be trusted (the decoder's `damaged: 'skip'`): the
   * transaction it cuts comes as an incomplete item with reason `damaged`, never decoded in part.
   */
  readonly skipDamaged?: boolean;
  /**
   * The first file is read from the first transaction start (GTID event) at or after this offset:
   * only its format description is read before it (split-points.ts fileFrom, which says where).
   */
  readonly skipTo?: number;
  /**
   * In the last file: a decode failure at or past this offset ends the read as the end of the
   * input, when no transaction begun before it is open (nothing wanted lies past it).
   */
  readonly stopAt?: number;
  /** Stops the read between chunks, closing the file: the iteration rejects with SourceError SOURCE_ABORTED. */
  readonly signal?: AbortSignal;
}

/** Progress and results of one chunk. */
export interface ReadBatch {
  /** Path of the file the batch came from. */
  readonly file: string;
  /** Completed (and incomplete) transactions ended in this chunk. */
  readonly items: TransactionItem[];
  /** The decoded events, when `keepEvents` was asked. */
  readonly events: BinlogEvent[];
  readonly warnings: DecodeWarning[];
  /** A partial event at the end of this file (normal after a crash), reported once per file. */
  readonly tail: IncompleteTail | null;
  /**
   * The file ends inside an event or a transaction although its format description says the server
   * closed it (LOG_EVENT_BINLOG_IN_USE_F clear): a short copy, not a crash. Set on the file's last batch.
   */
  readonly cutShort?: boolean;
  /** Bytes read so far over all files, and the total of their sizes. */
  readonly bytesRead: number;
  readonly bytesTotal: number;
  /** Decoder position in the current file after this chunk. */
  readonly position: number;
}

/** Reads the files (or `.index` files) given, in order, yielding one batch per chunk. */
export async function* readTransactions(args: readonly string[] | readonly BinlogFile[], options: ReadOptions = {}): AsyncGenerator<ReadBatch> {
  checkAborted(options.signal);
  const chunkSize = options.chunkSize ?? 256 * 1024;
  // 0 read as the end of every file (a bad-magic error), a negative or fractional size as a RangeError or a failed read.
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new SourceError(SourceErrorCode.BadOption, `chunkSize takes a whole number of bytes ≥ 1, got ${String(chunkSize)}`, { option: 'chunkSize' });
  }
  const files: BinlogFile[] = typeof args[0] === 'string' || args.length === 0 ? await resolveBinlogFiles(args as readonly string[]) : [...(args as readonly BinlogFile[])];
  if (options.skipTo !== undefined && files.length > 0) files[0] = (await fileFrom(files[0]!, options.skipTo)).file;
  const bytesTotal = files.reduce((n, f) => n + (f.range ? f.range.end - f.range.start : f.size), 0);
  let bytesRead = 0;
  const assembler = new TransactionAssembler(files[0]?.path ?? '<none>');
  // Two read buffers, reused: the next chunk is read while this one decodes (reads were ~8% idle
  // time on the bench binlog otherwise). The decoder copies what it keeps and events own their data.
  const buffers = [Buffer.allocUnsafe(chunkSize), Buffer.allocUnsafe(chunkSize)] as const;
  let rotatedTo: { name: string; offset: number } | null = null;
  for (let fi = 0; fi < files.length; fi++) {
    const file = files[fi]!;
    assembler.setFile(file.path);
    const warnings: DecodeWarning[] = [];
    const range = file.range;
    if (rotatedTo && (!range || range.start === 0) && rotatedTo.name !== basename(file.path)) {
      // Files given out of order, or one missing between them: the transactions in between are not here.
      warnings.push({
        code: 'ROTATE_MISMATCH',
        message: `${files[fi - 1]!.path} ends with a ROTATE to ${rotatedTo.name} (at ${rotatedTo.offset}), but the next file given is ${file.path}: a file may be missing or out of order`,
        offset: 0,
        eventType: 4,
      });
    }
    rotatedTo = null;
    const decoder = new BinlogDecoder({
      file: file.path,
      ...(range && range.start > 0 ? { expectMagic: false, startOffset: range.start, formatDescription: range.formatDescription ?? undefined } : {}),
      verifyChecksums: options.verifyChecksums,
      annotations: options.annotations,
      schemaHints: options.schemaHints,
      damaged: options.skipDamaged === true ? 'skip' : 'throw',
      onWarning: (w) => warnings.push(w),
    });
    let handle;
    try {
      handle = await open(file.path, 'r');
    } catch (e) {
      throw new SourceError(SourceErrorCode.Read, `cannot open ${file.path}: ${(e as Error).message}`, { file: file.path }, { cause: e });
    }
    let at = range ? range.start : 0;
    const stop = range ? range.end : Number.MAX_SAFE_INTEGER;
    let which = 0;
    // Whether the server closed the file (its FDE is not marked in use); null until read, and for a
    // range that starts past the FDE.
    let closed: boolean | null = null;
    let next = handle.read(buffers[0], 0, Math.min(chunkSize, stop - at), at);
    try {
      for (;;) {
        checkAborted(options.signal, file.path, at);
        let n: number;
        try {
          ({ bytesRead: n } = await next);
        } catch (e) {
          throw new SourceError(SourceErrorCode.Read, `cannot read ${file.path} at ${at}: ${(e as Error).message}`, { file: file.path, offset: at }, { cause: e });
        }
        const buffer = buffers[which]!;
        at += n;
        const last = n === 0;
        if (!last) {
          which ^= 1;
          next = handle.read(buffers[which]!, 0, Math.min(chunkSize, stop - at), at);
        }
        let events: BinlogEvent[];
        try {
          events = n > 0 ? decoder.push(buffer.subarray(0, n)) : [];
        } catch (e) {
          // The transactions completed before the damage are handed on first, then the error.
          const before = decoder.takeDecodedBeforeFailure();
          const items = assembler.push(before, []);
          yield { file: file.path, items, events: options.keepEvents ? before : [], warnings: warnings.splice(0), tail: null, bytesRead, bytesTotal, position: decoder.position };
          const stopAt = options.stopAt;
          const offset = e instanceof BinlogError ? e.details.offset : undefined;
          const open = assembler.openPos;
          // Past --stop-position with nothing begun before it open: the input wanted ended before the damage.
          if (fi === files.length - 1 && stopAt !== undefined && offset !== undefined && offset >= stopAt && (open === null || open >= stopAt)) break;
          throw e;
        }
        bytesRead += n;
        // The last event of a closed binlog is a ROTATE naming its successor (scan from the end: cheap).
        for (let i = events.length - 1; i >= 0 && i >= events.length - 4; i--) {
          const e = events[i]!;
          if (e.kind === 'rotate' && !(e.header.flags & LOG_EVENT_RELAY_LOG_F)) rotatedTo = { name: e.nextFile, offset: e.header.offset };
        }
        if (closed === null && events.length > 0 && events[0]!.kind === 'format-description') closed = !events[0]!.inUse;
        const items: TransactionItem[] = [];
        assembler.push(events, items);
        let tail: IncompleteTail | null = null;
        let cutShort = false;
        if (last) {
          tail = decoder.end();
          // A range read past the FDE (a parallel job) reads the flag from the header itself, so
          // its verdict matches a whole read's.
          if (closed === null && range && range.start > 0 && range.end >= file.size) closed = await closedByServer(handle);
          // A closed file ends with its ROTATE (or STOP), between transactions: ending inside an
          // event or a group, read to its true end, it is a short copy. (A range read that ends
          // early is a parallel job's cut, stitched by its caller.)
          cutShort = closed === true && (!range || range.end >= file.size) && (tail !== null || assembler.inTransaction);
          if (cutShort) assembler.cutShort(items);
          if (fi === files.length - 1) assembler.end(items);
          else if (assembler.inTransaction && tail) assembler.end(items);
        }
        yield {
          file: file.path,
          items,
          events: options.keepEvents ? events : [],
          warnings: warnings.splice(0),
          tail,
          ...(cutShort ? { cutShort } : {}),
          bytesRead,
          bytesTotal,
          position: decoder.position,
        };
        if (last) break;
      }
    } finally {
      // A read may still be in flight when the consumer stops early: let it settle before closing.
      await next.catch(() => undefined);
      await handle.close();
    }
  }
}

/**
 * An aborted read ends with the engine's own error, not the platform's AbortError: callers match
 * every failure of the library on `code` (SOURCE_ABORTED), and learn where the read stopped.
 */
function checkAborted(signal: AbortSignal | undefined, file?: string, offset?: number): void {
  if (signal?.aborted !== true) return;
  const at = file === undefined ? '' : ` in ${file}${offset === undefined ? '' : ` at ${offset}`}`;
  throw new SourceError(SourceErrorCode.Aborted, `the binlog read was stopped on request${at}`, { ...(file === undefined ? {} : { file }), ...(offset === undefined ? {} : { offset }) }, { cause: signal.reason });
}

/** Whether the file's first event, its FDE, has LOG_EVENT_BINLOG_IN_USE_F clear (header flags at 4 + 17); null when it is not an FDE. */
async function closedByServer(handle: FileHandle): Promise<boolean | null> {
  const head = Buffer.alloc(19);
  const { bytesRead } = await handle.read(head, 0, 19, 4);
  if (bytesRead < 19 || head[4] !== EventType.FORMAT_DESCRIPTION) return null;
  return (head.readUInt16LE(17) & LOG_EVENT_BINLOG_IN_USE_F) === 0;
}

/** Short name of a binlog path, as ROTATE events and servers name files. */
export function binlogName(path: string): string {
  return basename(path);
}
