import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BinlogError, BinlogErrorCode } from '../../errors.js';
import { inflateMariadb } from './mariadb-compression.js';

/** A MariaDB compressed block: 0x80 | 4, the length `said` in 4 big-endian bytes, then the zlib stream of `data`. */
function block(data: Buffer, said = data.length): Buffer {
  const head = Buffer.alloc(5);
  head[0] = 0x84;
  head.writeUInt32BE(said, 1);
  return Buffer.concat([head, deflateSync(data)]);
}

function corrupt(b: Buffer): string {
  try {
    inflateMariadb(b);
  } catch (e) {
    expect(e).toBeInstanceOf(BinlogError);
    expect((e as BinlogError).code).toBe(BinlogErrorCode.CorruptEvent);
    return (e as BinlogError).message;
  }
  throw new Error('no error');
}

describe('MariaDB compressed events', () => {
  const data = Buffer.alloc(100_000, 'abc');

  it('inflate to the length the header gives', () => {
    expect(inflateMariadb(block(data)).equals(data)).toBe(true);
  });

  it('a length past deflate’s 1032:1 is corrupt before anything is inflated', () => {
    const b = block(data, 0xffffffff);
    const stream = b.length - 5;
    expect(corrupt(b)).toBe(`compressed event: header says 4294967295 bytes; ${stream} bytes of zlib hold at most ${stream * 1032}`);
  });

  it('a stream that inflates past the length the header gives stops there', () => {
    expect(corrupt(block(data, 1000))).toBe('compressed event: zlib stream inflates past the 1000 bytes its header says');
  });

  it('a stream shorter than the header says is corrupt', () => {
    expect(corrupt(block(data, data.length + 1))).toBe(`compressed event: inflated to 100000 bytes, header says 100001`);
  });
});
