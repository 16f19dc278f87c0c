/**
 * MariaDB's compressed events (log_bin_compress; sql/log_event.cc binlog_buf_compress): a header
 * byte 0x80 | n, then the uncompressed length in n big-endian bytes, then a zlib stream.
 */
import { inflateSync } from 'node:zlib';
import { BinlogError, BinlogErrorCode } from '../../errors.js';

const MAX_DEFLATE_RATIO = 1032;

/** Inflates one MariaDB-compressed block; the result is a fresh buffer. */
export function inflateMariadb(block: Buffer): Buffer {
  const head = block[0];
  if (head === undefined || (head & 0x80) === 0) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `compressed event: header byte ${head ?? 'missing'} lacks the 0x80 marker`);
  }
  const lengthBytes = head & 0x07;
  if (lengthBytes < 1 || lengthBytes > 4 || block.length < 1 + lengthBytes) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `compressed event: bad length-of-length ${lengthBytes}`);
  }
  const expected = block.readUIntBE(1, lengthBytes);
  const stream = block.subarray(1 + lengthBytes);
  // Deflate gives at most 258 bytes per 2 bits (1032:1): a length past that is damage, and the
  // stream is never inflated past the length the header gives (a damaged stream could else grow
  // a buffer a thousand times the event's size before its end is found wrong).
  const most = stream.length * MAX_DEFLATE_RATIO;
  if (expected > most) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `compressed event: header says ${expected} bytes; ${stream.length} bytes of zlib hold at most ${most}`);
  }
  let out: Buffer;
  try {
    out = inflateSync(stream, { maxOutputLength: Math.max(1, expected) });
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BinlogError(BinlogErrorCode.CorruptEvent, `compressed event: zlib stream inflates past the ${expected} bytes its header says`, {}, cause);
    }
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `compressed event: zlib stream is damaged (${(cause as Error).message})`, {}, cause);
  }
  if (out.length !== expected) {
    throw new BinlogError(BinlogErrorCode.CorruptEvent, `compressed event: inflated to ${out.length} bytes, header says ${expected}`);
  }
  return out;
}
