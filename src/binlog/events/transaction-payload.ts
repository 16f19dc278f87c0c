/**
 * TRANSACTION_PAYLOAD_EVENT (MySQL 8.0.20+, binlog_transaction_compression; libs/mysql/binlog/event/
 * control_events.cpp Transaction_payload_event): a header of (field type, length, value) triples
 * in packed integers, ended by field 0, then the payload: the transaction's events, zstd-compressed
 * (or stored) back to back without checksums.
 */
import { createRequire } from 'node:module';
import type * as Fzstd from 'fzstd';
import { BinlogError, BinlogErrorCode } from '../../errors.js';
import { ByteReader } from '../byte-reader.js';

/**
 * fzstd, loaded on the first compressed payload (synchronously: the decoder is synchronous): only
 * MySQL 8 binlogs written with binlog_transaction_compression hold one, and importing it cost each
 * decoding thread ~5 ms of start-up (`inspect --stats` loads the decoder in two).
 */
let zstd: typeof Fzstd | undefined;
function decompress(data: Uint8Array, out?: Uint8Array): Uint8Array {
  zstd ??= createRequire(import.meta.url)('fzstd') as typeof Fzstd;
  return zstd.decompress(data, out);
}

const END_MARK = 0;
const PAYLOAD_SIZE = 1;
const COMPRESSION_TYPE = 2;
const UNCOMPRESSED_SIZE = 3;

export const PayloadCompression = { ZSTD: 0, NONE: 255 } as const;

export interface PayloadHeader {
  readonly compression: number;
  readonly payloadSize: number;
  readonly uncompressedSize: number;
}

/** Reads the payload header and returns it with the uncompressed inner-event bytes. */
export function readTransactionPayload(r: ByteReader): { header: PayloadHeader; events: Buffer } {
  let compression = -1;
  let payloadSize = -1;
  let uncompressedSize = 0;
  const field = new ByteReader();
  for (;;) {
    const type = r.lenenc();
    if (type === END_MARK) break;
    const length = r.lenenc();
    field.reset(r.bytes(length));
    switch (type) {
      case PAYLOAD_SIZE:
        payloadSize = field.lenenc();
        break;
      case COMPRESSION_TYPE:
        compression = field.lenenc();
        break;
      case UNCOMPRESSED_SIZE:
        uncompressedSize = field.lenenc();
        break;
      default:
        break;
    }
  }
  if (payloadSize < 0 || compression < 0) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `transaction payload header lacks ${payloadSize < 0 ? 'the payload size' : 'the compression type'}`);
  }
  if (payloadSize !== r.remaining) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `transaction payload says ${payloadSize} bytes, the event holds ${r.remaining}`);
  }
  const payload = r.bytes(payloadSize);
  const header = { compression, payloadSize, uncompressedSize };
  if (compression === PayloadCompression.NONE) return { header, events: Buffer.from(payload) };
  if (compression !== PayloadCompression.ZSTD) {
    throw new BinlogError(BinlogErrorCode.Unsupported, `transaction payload uses compression type ${compression}; only zstd (0) and none (255) exist`);
  }
  // The sizes the header and the frame declare are checked against what the payload can hold
  // before anything is allocated by them: with checksums off (or a NONE binlog) a damaged size
  // would otherwise have a 157-byte event allocate and sweep hundreds of MB (a fuzzed fixture).
  const most = maxZstdOutput(payloadSize);
  if (uncompressedSize > most) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `transaction payload header says ${uncompressedSize} bytes uncompressed; ${payloadSize} bytes of zstd hold at most ${most}`);
  }
  // Without a size in the header the decompressor allocates what the frame declares: its content
  // size, else its window (a sliding buffer it shifts per block).
  const frame = uncompressedSize > 0 ? null : zstdFrameSizes(payload);
  if (frame !== null && frame.contentSize !== null && frame.contentSize > most) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `transaction payload's zstd frame says ${frame.contentSize} bytes uncompressed; ${payloadSize} bytes of zstd hold at most ${most}`);
  }
  if (frame !== null && frame.contentSize === null && frame.windowSize > MAX_ZSTD_WINDOW) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `transaction payload's zstd frame asks for a ${frame.windowSize}-byte window; a server's zstd reads at most ${MAX_ZSTD_WINDOW} (window log 27)`);
  }
  let out: Uint8Array;
  try {
    out = decompress(payload, uncompressedSize > 0 ? new Uint8Array(uncompressedSize) : undefined);
  } catch (cause) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `transaction payload: zstd data is damaged (${(cause as Error).message})`, {}, cause);
  }
  if (uncompressedSize > 0 && out.length !== uncompressedSize) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `transaction payload decompressed to ${out.length} bytes, header says ${uncompressedSize}`);
  }
  return { header, events: Buffer.from(out.buffer, out.byteOffset, out.length) };
}

/**
 * The most bytes `compressed` bytes of zstd can decompress to: every block takes a 3-byte header
 * and, to give any output, at least one byte more (an RLE block: one byte repeated), and yields at
 * most 128 KiB (RFC 8878, Block_Maximum_Size); the frame header only adds to the input.
 */
export function maxZstdOutput(compressed: number): number {
  return Math.floor(compressed / 4) * 128 * 1024;
}

/**
 * The largest window libzstd decodes by default (ZSTD_WINDOWLOG_LIMIT_DEFAULT = 27): the server
 * reading its own binlog uses that limit, so no payload it can read needs more.
 */
const MAX_ZSTD_WINDOW = 2 ** 27;

/**
 * What the first zstd frame of `data` declares (RFC 8878 3.1.1.1): its Frame_Content_Size (null
 * when absent) and its window size; null when `data` does not start with a zstd frame header
 * (the decompressor reports that).
 */
export function zstdFrameSizes(data: Uint8Array): { contentSize: number | null; windowSize: number } | null {
  if (data.length < 6 || data[0] !== 0x28 || data[1] !== 0xb5 || data[2] !== 0x2f || data[3] !== 0xfd) return null;
  const descriptor = data[4]!;
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const dictBytes = [0, 1, 2, 4][descriptor & 3]!;
  const fcsBytes = fcsFlag === 0 ? singleSegment : 1 << fcsFlag;
  const at = 5 + (singleSegment ? 0 : 1) + dictBytes;
  if (data.length < at + fcsBytes) return null;
  let contentSize: number | null = null;
  if (fcsBytes > 0) {
    let size = 0;
    for (let i = fcsBytes - 1; i >= 0; i--) size = size * 256 + data[at + i]!;
    contentSize = fcsBytes === 2 ? size + 256 : size;
  }
  if (singleSegment) return { contentSize, windowSize: contentSize ?? 0 };
  const exponent = data[5]! >> 3;
  const base = 2 ** (10 + exponent);
  return { contentSize, windowSize: base + (base / 8) * (data[5]! & 7) };
}
