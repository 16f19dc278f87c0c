/**
 * crc32Range, the decoder's checksum: JavaScript slicing-by-16 below 640 bytes, zlib above. Both
 * must give zlib's CRC-32 for any range, length and starting value, or a valid event would fail
 * (or, worse, a damaged one pass). crc32FoldValidEvent, the run check, must agree with zlib over
 * runs of valid events of any sizes, and disagree as soon as one byte of the run changes.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CRC32_RESIDUE, crc32, crc32FoldValidEvent, crc32Range } from './crc32.js';

describe('crc32Range', () => {
  it('equals zlib.crc32 of the same bytes for every range, length and initial value', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 2500 }), fc.nat(), fc.nat(), fc.nat({ max: 0xffffffff }), (bytes, a, b, initial) => {
        const data = Buffer.from(bytes);
        const start = data.length === 0 ? 0 : a % (data.length + 1);
        const end = start + (data.length - start === 0 ? 0 : b % (data.length - start + 1));
        // zlib answers 0 for no bytes whatever the initial value (its NULL-buffer convention);
        // continuing over no bytes leaves the CRC as it was.
        expect(crc32Range(data, start, end, initial)).toBe(end === start ? initial : zlibCrc32(data.subarray(start, end), initial));
      }),
      { seed: 20261126, numRuns: 600 },
    );
  });

  it('is exact on both sides of the switch to zlib, on views into a larger buffer', () => {
    const backing = Buffer.alloc(4096 + 17);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 2654435761) >>> 24;
    const view = backing.subarray(17);
    for (const length of [1, 7, 8, 9, 15, 16, 17, 638, 639, 640, 641, 4000]) {
      for (const start of [0, 1, 3, 5]) {
        expect(crc32Range(view, start, start + length)).toBe(zlibCrc32(view.subarray(start, start + length)));
      }
    }
  });

  it('gives the same CRC with a DataView passed in, over a view at an odd offset', () => {
    const backing = Buffer.alloc(2048 + 5);
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 40503 + 17) >>> 3;
    const data = backing.subarray(5);
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    for (const length of [0, 1, 15, 16, 17, 31, 32, 33, 170, 639, 640, 2000]) {
      for (const start of [0, 1, 2, 3, 13]) {
        if (start + length > data.length) continue;
        const expected = length === 0 ? 0x1234 : zlibCrc32(data.subarray(start, start + length), 0x1234);
        expect(crc32Range(data, start, start + length, 0x1234, view)).toBe(expected);
      }
    }
  });

  it('continues a CRC across pieces as one computation', () => {
    const data = Buffer.from('binlog events are checksummed with the in-use flag cleared', 'latin1');
    const whole = crc32(data);
    for (const cut of [0, 1, 17, data.length - 1, data.length]) {
      expect(crc32Range(data, cut, data.length, crc32Range(data, 0, cut))).toBe(whole);
    }
    // The check value of CRC-32 (IEEE): "123456789" → cbf43926.
    expect(crc32Range(Buffer.from('123456789'), 0, 9).toString(16)).toBe('cbf43926');
  });
});

/** Events of the given body sizes with valid checksums, laid end to end. */
function validEvents(sizes: readonly number[], fill: number): Buffer {
  const parts = sizes.map((n, k) => {
    const event = Buffer.alloc(n + 4);
    for (let i = 0; i < n; i++) event[i] = (i * 2654435761 + k * 40503 + fill) >>> 24;
    event.writeUInt32LE(zlibCrc32(event.subarray(0, n)), n);
    return event;
  });
  return Buffer.concat(parts);
}

function foldSizes(sizes: readonly number[]): number {
  return sizes.reduce((run, n) => crc32FoldValidEvent(run, n + 4), 0);
}

describe('crc32FoldValidEvent', () => {
  it('is the CRC-32 of one valid event, checksum included: the residue 2144df1c', () => {
    expect(CRC32_RESIDUE).toBe(0x2144df1c);
    expect(crc32FoldValidEvent(0, 23)).toBe(zlibCrc32(validEvents([19], 1)));
  });

  it('gives zlib.crc32 of any run of valid events, from 1-byte events to ones past 64 KiB', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: 0, max: 700 }), fc.integer({ min: 65_000, max: 140_000 })), { minLength: 1, maxLength: 12 }), fc.nat({ max: 255 }), (sizes, fill) => {
        const run = validEvents(sizes, fill);
        expect(foldSizes(sizes)).toBe(zlibCrc32(run));
      }),
      { seed: 20261127, numRuns: 150 },
    );
  });

  it('disagrees with the run once any single byte of it changes', () => {
    const sizes = [19, 23, 500, 1, 639, 640, 3000, 27];
    const run = validEvents(sizes, 7);
    const expected = foldSizes(sizes);
    expect(crc32Range(run, 0, run.length)).toBe(expected);
    for (let at = 0; at < run.length; at += 7) {
      for (const flip of [0x01, 0x80, 0xff]) {
        run[at]! ^= flip;
        expect(crc32Range(run, 0, run.length)).not.toBe(expected);
        run[at]! ^= flip;
      }
    }
  });
});
