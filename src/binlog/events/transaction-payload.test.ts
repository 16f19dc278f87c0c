import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BinlogError, BinlogErrorCode } from '../../errors.js';
import { ByteReader } from '../byte-reader.js';
import { REAL_BINLOGS, haveRealBinlogs } from '../../../test/robustness/decode-properties.js';
import { maxZstdOutput, readTransactionPayload, zstdFrameSizes } from './transaction-payload.js';

const FIXTURE = join(REAL_BINLOGS, 'rust_mysql_common/transaction_compression.000001');
/** The TRANSACTION_PAYLOAD event of the fixture starts at 274; its body at 293, its zstd frame (124 bytes) at 303. */
const frame = (): Buffer => Buffer.from(readFileSync(FIXTURE).subarray(303, 303 + 124));

/** A payload body: header fields (type, length, value) as given, the payload size, the end mark, then `payload`. */
function body(fields: readonly (readonly number[])[], payload: Buffer): Buffer {
  const size = payload.length < 251 ? [payload.length] : [0xfc, payload.length & 0xff, payload.length >> 8];
  return Buffer.concat([Buffer.from(fields.flat()), Buffer.from([1, size.length, ...size, 0]), payload]);
}

function corrupt(b: Buffer): string {
  try {
    readTransactionPayload(new ByteReader(b));
  } catch (e) {
    expect(e).toBeInstanceOf(BinlogError);
    expect((e as BinlogError).code).toBe(BinlogErrorCode.CorruptEvent);
    return (e as BinlogError).message;
  }
  throw new Error('no error');
}

describe.skipIf(!haveRealBinlogs)('transaction payload sizes are checked before they are allocated', () => {
  it('the real frame: no content size, a 2 MiB window; with its header it decompresses to 179 bytes', () => {
    expect(zstdFrameSizes(frame())).toEqual({ contentSize: null, windowSize: 2 * 1024 * 1024 });
    const { header, events } = readTransactionPayload(new ByteReader(body([[2, 1, 0], [3, 1, 179]], frame())));
    expect(header).toEqual({ compression: 0, payloadSize: 124, uncompressedSize: 179 });
    expect(events.length).toBe(179);
    // Without the uncompressed size the frame alone says how much to allocate: the same bytes.
    expect(readTransactionPayload(new ByteReader(body([[2, 1, 0]], frame()))).events.equals(events)).toBe(true);
  });

  it('124 bytes of zstd hold at most 31 blocks of 128 KiB', () => {
    expect(maxZstdOutput(124)).toBe(31 * 131072);
    expect(maxZstdOutput(3)).toBe(0);
  });

  it('a header size larger than the payload can hold is corrupt', () => {
    // uncompressed size 0x800000 (8 MiB) as a 3-byte packed integer.
    expect(corrupt(body([[2, 1, 0], [3, 4, 0xfd, 0, 0, 0x80]], frame()))).toBe('transaction payload header says 8388608 bytes uncompressed; 124 bytes of zstd hold at most 4063232');
  });

  it('a frame content size larger than the payload can hold is corrupt', () => {
    // Single segment, 4-byte content size 0x01000000 (16 MiB), then the rest of the real frame.
    const f = frame();
    const damaged = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0, 0, 0, 1]), f.subarray(6)]);
    expect(zstdFrameSizes(damaged)).toEqual({ contentSize: 16777216, windowSize: 16777216 });
    expect(corrupt(body([[2, 1, 0]], damaged))).toBe(`transaction payload's zstd frame says 16777216 bytes uncompressed; ${damaged.length} bytes of zstd hold at most ${maxZstdOutput(damaged.length)}`);
  });

  it('a window past what libzstd decodes by default (log 27) is corrupt when nothing else gives the size', () => {
    const f = frame();
    f[5] = 0x9f; // exponent 19, mantissa 7: 960 MiB (the fuzzed byte 308 of the fixture)
    expect(zstdFrameSizes(f)).toEqual({ contentSize: null, windowSize: 1006632960 });
    expect(corrupt(body([[2, 1, 0]], f))).toBe("transaction payload's zstd frame asks for a 1006632960-byte window; a server's zstd reads at most 134217728 (window log 27)");
  });
});
