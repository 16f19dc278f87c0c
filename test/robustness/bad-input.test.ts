/**
 * Bad input never makes the decoder misbehave: a binlog cut at every offset, bytes flipped
 * anywhere (exhaustively for small files, by fast-check elsewhere), files that are not binlogs at
 * all, and event headers that claim absurd sizes. See decode-properties.ts for what is asserted;
 * `npm run fuzz` runs the same properties for minutes.
 */
import { describe, it, expect, afterAll } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BinlogDecoder } from '../../src/binlog/decoder.js';
import { EventType } from '../../src/binlog/event-types.js';
import { BinlogError, BinlogErrorCode } from '../../src/errors.js';
import { readTransactions } from '../../src/source/read-transactions.js';
import { BinlogWriter } from '../harness/binlog-writer.js';
import {
  DECODE_TIME_LIMIT_MS,
  Fixture,
  GARBAGE_TYPES,
  applyFlips,
  REAL_BINLOGS,
  checkFlips,
  checkGarbage,
  checkTruncation,
  decodeWhole,
  expectBinlogError,
  flipsProperty,
  framedGarbageProperty,
  fuzzParameters,
  garbageHeaders,
  haveRealBinlogs,
  loadReference,
  randomAfterMagicProperty,
  suiteSeed,
  type FixtureName,
  type FlipStats,
  type Reference,
} from './decode-properties.js';

const SEED = suiteSeed(process.env);
/** Time box of each fast-check property in the regular suite; `npm run fuzz` runs them for minutes. */
const PROPERTY_MS = 1_500;
/** Chunk sizes cycled over the cut offsets: single bytes, header-sized, odd and larger. */
const CHUNKS = [1, 2, 3, 5, 7, 13, 18, 19, 20, 64, 256] as const;

describe.skipIf(!haveRealBinlogs)('a binlog cut at every offset', () => {
  const cases: ReadonlyArray<{ rel: FixtureName; limit: number }> = [
    { rel: Fixture.mariadbPrimary2, limit: Infinity },
    { rel: Fixture.mariadbPrimary1, limit: 4096 },
    { rel: Fixture.mariadbNoChecksum, limit: Infinity },
    { rel: Fixture.mysqlPayload, limit: Infinity },
    { rel: Fixture.mysqlRows, limit: Infinity },
  ];
  for (const { rel, limit } of cases) {
    it(`${rel}: each cut of the first ${limit === Infinity ? 'all' : limit} bytes, whole and chunked, yields exactly what lies before it`, () => {
      const ref = loadReference(rel);
      const n = Math.min(limit, ref.bytes.length);
      for (let cut = 0; cut <= n; cut++) {
        checkTruncation(ref, cut, null);
        checkTruncation(ref, cut, CHUNKS[cut % CHUNKS.length]!);
      }
    });
  }

  it('names the exact tail of a cut inside the checksum of a rows event', () => {
    const ref = loadReference(Fixture.mariadbPrimary2);
    const rows = ref.events.find((e) => e.kind === 'rows')!;
    const end = rows.header.offset + rows.header.size;
    const decoder = new BinlogDecoder({ file: 'cut.bin' });
    decoder.push(ref.bytes.subarray(0, end - 2));
    expect(decoder.end()).toEqual({ offset: rows.header.offset, bytes: rows.header.size - 2, claimedSize: rows.header.size, typeCode: rows.header.typeCode });
    expect(decoder.position).toBe(rows.header.offset);
  });
});

/** Single-byte damage at every offset of a small file, with a low, a high and an all-bits mask. */
function sweepFlips(ref: Reference, masks: readonly number[]): FlipStats {
  const stats: FlipStats = { detected: 0, harmless: 0, undetectable: 0 };
  for (let pos = 0; pos < ref.bytes.length; pos++) {
    for (const mask of masks) stats[checkFlips(ref, [{ pos, mask }], pos % 3 === 0 ? 7 : null)]++;
  }
  return stats;
}

describe.skipIf(!haveRealBinlogs)('damaged bytes in a checksummed binlog', () => {
  it(`${Fixture.mariadbPrimary2}: every byte flipped (masks 01, 80, ff) is detected at its event's start or is harmless`, () => {
    const stats = sweepFlips(loadReference(Fixture.mariadbPrimary2), [0x01, 0x80, 0xff]);
    // Harmless: the FDE's in-use flag (left out of its CRC by design) and sizes grown past the end
    // of the file (reported as a crash tail); checkFlips pins both down.
    expect(stats).toEqual({ detected: 2309 * 3 - 186, harmless: 186, undetectable: 0 });
  });

  it(`${Fixture.mysqlPayload}: every bit of a MySQL file with a zstd TRANSACTION_PAYLOAD, flipped`, () => {
    sweepFlips(loadReference(Fixture.mysqlPayload), [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80]);
  });

  it('random multi-byte damage (fast-check, time-boxed): detected or harmless, never a different transaction', () => {
    const refs = [Fixture.mariadbPrimary1, Fixture.mariadbPrimary2, Fixture.mariadbCompressed, Fixture.mysqlPayload, Fixture.mysqlRows, Fixture.mysqlTaggedGtid].map((r) => loadReference(r));
    const stats: FlipStats = { detected: 0, harmless: 0, undetectable: 0 };
    fc.assert(flipsProperty(refs, 4, stats), fuzzParameters(PROPERTY_MS, SEED));
    expect(stats.detected).toBeGreaterThan(0);
  });
});

describe.skipIf(!haveRealBinlogs)('damaged bytes where nothing is checksummed', () => {
  it(`${Fixture.mariadbNoChecksum}: every byte flipped gives only typed errors, in bounded time`, () => {
    sweepFlips(loadReference(Fixture.mariadbNoChecksum), [0x01, 0x80, 0xff]);
  });

  it('random damage in checksum-NONE files and in CRC32 files read with verifyChecksums: false (fast-check)', () => {
    // verifyChecksums: false hands every damaged body to the event decoders, zstd and zlib included.
    const refs = [
      loadReference(Fixture.mariadbNoChecksum),
      loadReference(Fixture.mysqlNoChecksum),
      ...[Fixture.mariadbPrimary1, Fixture.mariadbCompressed, Fixture.mysqlPayload, Fixture.mysqlRows, Fixture.mysqlTaggedGtid].map((r) => loadReference(r, { verifyChecksums: false })),
    ];
    const stats: FlipStats = { detected: 0, harmless: 0, undetectable: 0 };
    fc.assert(flipsProperty(refs, 4, stats), fuzzParameters(PROPERTY_MS, SEED));
  });
});

/** The reference file with one byte flipped, decoded whole: the error it throws, or null. */
function flippedError(rel: FixtureName, pos: number, mask: number, verifyChecksums = true): unknown {
  const ref = loadReference(rel, { verifyChecksums });
  const got = decodeWhole(applyFlips(ref, [{ pos, mask }]), ref.options);
  expect(got.ms).toBeLessThan(DECODE_TIME_LIMIT_MS);
  return got.error;
}

// Minimal inputs of the decoder bugs these suites found, kept as regular tests.
describe.skipIf(!haveRealBinlogs)('regressions found by flipping bytes', () => {
  it('a zstd window descriptor damaged to 960 MiB: a corrupt event at once, not a 960 MiB buffer swept per block', () => {
    // npm run fuzz (FUZZ_SEED=8080) with verifyChecksums: false: byte 296 turned the uncompressed
    // size field into an unknown one, byte 308 (the frame's window descriptor) 0x58 into 0x9f; the
    // decompressor then allocated the window and shifted it per block (1–3 s for a 475-byte file).
    const ref = loadReference(Fixture.mysqlPayload, { verifyChecksums: false });
    const got = decodeWhole(applyFlips(ref, [{ pos: 308, mask: 0xc7 }, { pos: 296, mask: 0x0f }]), ref.options);
    expect(got.ms).toBeLessThan(DECODE_TIME_LIMIT_MS);
    expectBinlogError(got.error, BinlogErrorCode.CorruptEvent, Fixture.mysqlPayload, 274);
    expect((got.error as BinlogError).message).toBe(`transaction payload's zstd frame asks for a 1006632960-byte window; a server's zstd reads at most 134217728 (window log 27) (TRANSACTION_PAYLOAD event at ${Fixture.mysqlPayload}:274)`);
  });

  it('a TABLE_MAP shorter than its table id: a truncation error, not a RangeError turned CORRUPT_EVENT', () => {
    // var-bin.000003 (no checksum), size of the TABLE_MAP at 789 damaged from 91 to 24 bytes.
    const e = flippedError(Fixture.mariadbNoChecksum, 789 + 9, 0x43);
    expectBinlogError(e, BinlogErrorCode.CorruptEvent, Fixture.mariadbNoChecksum, 789);
    expect((e as BinlogError).message).toBe(`truncated TABLE_MAP event at ${Fixture.mariadbNoChecksum}:789: needed 6 more bytes, 5 left in the event`);
  });

  it('row data left over when the images have no columns: CORRUPT_EVENT, not empty rows until memory runs out', () => {
    // UPDATE_ROWS_V1's post-header length in the FDE damaged from 8 to 111 (checksums not verified):
    // the column bitmaps are read from row data, find no columns, and each image takes no bytes.
    const e = flippedError(Fixture.mariadbPrimary1, 4 + 19 + 57 + 23, 0x67, false);
    expectBinlogError(e, BinlogErrorCode.CorruptEvent, Fixture.mariadbPrimary1, 5297);
    expect((e as BinlogError).message).toBe('rows event for shop.customers has 22 bytes of row data but no columns in its images');
  });

  it('the FDE\'s checksum is verified even when its damaged algorithm byte or size says OFF', () => {
    // Algorithm byte 1 -> 0 would have turned verification off for the whole file.
    expectBinlogError(flippedError(Fixture.mariadbPrimary2, 4 + 252 - 5, 0x01), BinlogErrorCode.ChecksumMismatch, Fixture.mariadbPrimary2, 4);
    // Size 252 -> 109: the algorithm is then read from the post-header table (0, OFF).
    expectBinlogError(flippedError(Fixture.mariadbPrimary1, 4 + 9, 0x91), BinlogErrorCode.ChecksumMismatch, Fixture.mariadbPrimary1, 4);
    // binlog_checksum=NONE: servers still checksum the FDE, so damage to it is found too.
    expectBinlogError(flippedError(Fixture.mariadbNoChecksum, 100, 0x01), BinlogErrorCode.ChecksumMismatch, Fixture.mariadbNoChecksum, 4);
  });

  it('a damaged server version that would hide the FDE\'s checksum: CORRUPT_EVENT', () => {
    // "8.0.32" -> "8\xaa0.32": unparsable, so the FDE would pass for a pre-checksum server's.
    const e = flippedError(Fixture.mysqlPayload, 4 + 19 + 3, 0x84);
    expectBinlogError(e, BinlogErrorCode.CorruptEvent, Fixture.mysqlPayload, 4);
    expect((e as BinlogError).message).toBe(`format description event names server version "8\u00aa0.32": binlog v4 comes from MySQL 5.0+ or MariaDB (FORMAT_DESCRIPTION event at ${Fixture.mysqlPayload}:4)`);
  });

  it('a MySQL 8 version damaged into a pre-checksum one ("8.0.32" -> "5.0.32"): CORRUPT_EVENT', () => {
    const e = flippedError(Fixture.mysqlPayload, 4 + 19 + 2, 0x0d);
    expectBinlogError(e, BinlogErrorCode.CorruptEvent, Fixture.mysqlPayload, 4);
    expect((e as BinlogError).message).toBe(
      `format description event of MySQL 5.0.32 lists 46 event types, more than the 27 of any server before 5.6.1: its server version is damaged (FORMAT_DESCRIPTION event at ${Fixture.mysqlPayload}:4)`,
    );
  });

  it('one byte damaged inside a run of events checked with one CRC: CHECKSUM_MISMATCH names that event', () => {
    // The whole file is one chunk, so the event at 6172 sits inside the run the decoder checks at
    // once; the run fails, and the event-by-event check then finds which event it was.
    for (const pos of [6172 + 19, 6172 + 25, 6172 + 30]) {
      const e = flippedError(Fixture.mariadbPrimary1, pos, 0x01);
      expectBinlogError(e, BinlogErrorCode.ChecksumMismatch, Fixture.mariadbPrimary1, 6172);
    }
  });

  it('an event whose type code became FORMAT_DESCRIPTION: CHECKSUM_MISMATCH, not "unsupported binlog version"', () => {
    expectBinlogError(flippedError(Fixture.mariadbPrimary1, 6172 + 4, 0xaf), BinlogErrorCode.ChecksumMismatch, Fixture.mariadbPrimary1, 6172);
  });
});

describe('input that is not a binlog', () => {
  const dir = mkdtempSync(join(tmpdir(), 'salvage-bad-input-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an empty input: BINLOG_BAD_MAGIC at offset 0 from end()', () => {
    const d = new BinlogDecoder({ file: 'empty.bin' });
    expect(d.push(Buffer.alloc(0))).toEqual([]);
    let thrown: unknown = null;
    try {
      d.end();
    } catch (e) {
      thrown = e;
    }
    expectBinlogError(thrown, BinlogErrorCode.BadMagic, 'empty.bin', 0);
    expect((thrown as BinlogError).message).toBe('not a binlog: empty.bin is empty');
  });

  it('3 bytes of magic: BINLOG_BAD_MAGIC, "shorter than the 4-byte magic"', () => {
    const d = new BinlogDecoder({ file: 'short.bin' });
    expect(d.push(Buffer.from([0xfe, 0x62]))).toEqual([]);
    expect(d.push(Buffer.from([0x69]))).toEqual([]);
    expect(() => d.end()).toThrowError(expect.objectContaining({ code: BinlogErrorCode.BadMagic, details: { file: 'short.bin', offset: 0 }, message: 'not a binlog: short.bin is 3 bytes long, shorter than the 4-byte magic' }));
  });

  it('a text file, a gzip file, a wrong magic: BINLOG_BAD_MAGIC at offset 0 naming the bytes found', () => {
    const cases: Array<[string, Buffer, string]> = [
      ['notes.txt', Buffer.from('hello, this is not a binlog\n'), '68656c6c'],
      ['binlog.gz', gzipSync(Buffer.from([0xfe, 0x62, 0x69, 0x6e, 1, 2, 3])), '1f8b0800'],
      ['swapped.bin', Buffer.from([0x6e, 0x69, 0x62, 0xfe, 0, 0, 0]), '6e6962fe'],
    ];
    for (const [file, bytes, hex] of cases) {
      for (const chunk of [1, 2, 5, bytes.length]) {
        const d = new BinlogDecoder({ file });
        let thrown: unknown = null;
        try {
          for (let at = 0; at < bytes.length; at += chunk) d.push(bytes.subarray(at, at + chunk));
          d.end();
        } catch (e) {
          thrown = e;
        }
        expectBinlogError(thrown, BinlogErrorCode.BadMagic, file, 0);
        expect((thrown as BinlogError).message).toBe(`not a binlog: ${file} starts with ${hex}, expected fe62696e`);
      }
    }
  });

  it.skipIf(!haveRealBinlogs)('through readTransactions: an empty file, a text file and a real gzipped binlog fail with the path and offset 0', async () => {
    const empty = join(dir, 'empty-bin.000001');
    const text = join(dir, 'text-bin.000001');
    writeFileSync(empty, '');
    writeFileSync(text, 'SELECT 1;\n');
    const gz = resolve(REAL_BINLOGS, 'mysql-binlog-connector-java/mysql-bin.sakila.gz');
    for (const path of [empty, text, gz]) {
      let thrown: unknown = null;
      try {
        for await (const _batch of readTransactions([path], { chunkSize: 3 }));
      } catch (e) {
        thrown = e;
      }
      expectBinlogError(thrown, BinlogErrorCode.BadMagic, path, 0);
    }
  });

  it('the magic followed by random bytes (fast-check): a typed error at an event start, or a tail', () => {
    fc.assert(randomAfterMagicProperty(), fuzzParameters(PROPERTY_MS / 2, SEED));
  });

  it('a valid header followed by events of every type with random bodies (fast-check, CRC32 and NONE)', () => {
    fc.assert(framedGarbageProperty(garbageHeaders(), GARBAGE_TYPES), fuzzParameters(PROPERTY_MS, SEED));
  });

  it('the random bytes of a real file after the magic: typed errors at event starts', () => {
    if (!haveRealBinlogs) return;
    const noise = readFileSync(resolve(REAL_BINLOGS, 'mysql-binlog-connector-java/mysql-bin.sakila.gz')).subarray(10, 4096);
    checkGarbage(Buffer.concat([Buffer.from([0xfe, 0x62, 0x69, 0x6e]), noise]), 'noise.bin', 17);
  });
});

describe('event headers that claim impossible sizes', () => {
  const fde = (): Buffer => new BinlogWriter({ flavor: 'mariadb' }).formatDescription().toBuffer();
  const header = (size: number, type: number = EventType.QUERY): Buffer => {
    const h = Buffer.alloc(19);
    h.writeUInt32LE(1_700_000_000, 0);
    h[4] = type;
    h.writeUInt32LE(1, 5);
    h.writeUInt32LE(size, 9);
    return h;
  };

  it('4 GB: BINLOG_CORRUPT_EVENT as soon as the 19 header bytes are in, without waiting for the body', () => {
    const head = fde();
    const d = new BinlogDecoder({ file: 'huge.bin' });
    expect(d.push(head).map((e) => e.kind)).toEqual(['format-description']);
    const started = performance.now();
    let thrown: unknown = null;
    try {
      d.push(header(0xffff_ffff).subarray(0, 10));
      d.push(header(0xffff_ffff).subarray(10));
    } catch (e) {
      thrown = e;
    }
    expect(performance.now() - started).toBeLessThan(50);
    expectBinlogError(thrown, BinlogErrorCode.CorruptEvent, 'huge.bin', head.length);
    expect((thrown as BinlogError).message).toBe(`corrupt event header at huge.bin:${head.length}: size 4294967295 (type QUERY) is above the 1073807360-byte limit`);
  });

  it('smaller than its own header: BINLOG_CORRUPT_EVENT', () => {
    const head = fde();
    for (const size of [0, 1, 18]) {
      const d = new BinlogDecoder({ file: 'tiny.bin' });
      let thrown: unknown = null;
      try {
        d.push(Buffer.concat([head, header(size, EventType.XID), Buffer.alloc(40)]));
      } catch (e) {
        thrown = e;
      }
      expectBinlogError(thrown, BinlogErrorCode.CorruptEvent, 'tiny.bin', head.length);
      expect((thrown as BinlogError).message).toBe(`corrupt event header at tiny.bin:${head.length}: size ${size} (type XID) is smaller than the 19-byte header`);
    }
  });

  it('1 GiB, under the limit, in a small input: a tail claiming it, and no buffer of that size', () => {
    const head = fde();
    const before = process.memoryUsage().arrayBuffers;
    const d = new BinlogDecoder({ file: 'claims.bin' });
    d.push(head);
    d.push(Buffer.concat([header(1 << 30), Buffer.alloc(100)]));
    expect(d.end()).toEqual({ offset: head.length, bytes: 119, claimedSize: 1 << 30, typeCode: EventType.QUERY });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });

  it('maxEventSize is the limit when given', () => {
    const head = fde();
    const d = new BinlogDecoder({ file: 'limit.bin', maxEventSize: 1000 });
    d.push(head);
    expect(() => d.push(header(1001))).toThrowError(expect.objectContaining({ code: BinlogErrorCode.CorruptEvent, details: { file: 'limit.bin', offset: head.length, eventType: EventType.QUERY } }));
  });
});
