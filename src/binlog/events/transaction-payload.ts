/**
 * TRANSACTION_PAYLOAD_EVENT (MySQL 8.0.20+, binlog_transaction_compression; libs/mysql/binlog/event/
 * control_events.cpp Transaction_payload_event): a header of (field type, length, value) triples
 * in packed integers, ended by field 0, then the payload: the transaction's events, zstd-compressed
 * (or stored) back to back without checksums.
 */
import { decompress } from 'fzstd';
import { BinlogError, BinlogErrorCode } from '../../errors.js';
import { ByteReader } from '../byte-reader.js';

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
