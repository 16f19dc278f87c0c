/**
 * Split anywhere: however a real binlog is chunked — at every single offset, at random cut points
 * (fast-check), right around event boundaries, or read from disk in chunks of 1, 3, 17 or 4096
 * bytes — it decodes to exactly the events, transactions, tail and position of one whole buffer.
 * Chunks are scribbled over after each push (decode-properties.ts), so an event that kept a view
 * into its chunk instead of owning its bytes shows up as a difference.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { resolve } from 'node:path';
import type { BinlogEvent } from '../../src/binlog/event.js';
import type { TransactionItem } from '../../src/binlog/transaction.js';
import { readTransactions } from '../../src/source/read-transactions.js';
import { Fixture, REAL_BINLOGS, checkSplit, fuzzParameters, haveRealBinlogs, loadReference, splitProperty, stableJson, suiteSeed, type FixtureName } from './decode-properties.js';

const SEED = suiteSeed(process.env);
const PROPERTY_MS = 2_000;

/** MariaDB and MySQL files, with and without checksums, compressed events and a zstd payload. */
const FILES: readonly FixtureName[] = [
  Fixture.mariadbPrimary1,
  Fixture.mariadbPrimary2,
  Fixture.mariadbNoChecksum,
  Fixture.mariadbCompressed,
  Fixture.mysqlPayload,
  Fixture.mysqlRows,
  Fixture.mysqlTaggedGtid,
  Fixture.mysqlNoChecksum,
  Fixture.mysql51Large,
];

describe.skipIf(!haveRealBinlogs)('split anywhere', () => {
  it('the reference files hold what the properties need (rows, a payload, a large file)', () => {
    const kinds = (rel: FixtureName): Set<string> => new Set(loadReference(rel).events.map((e) => e.kind));
    expect(kinds(Fixture.mysqlPayload).has('transaction-payload')).toBe(true);
    expect(kinds(Fixture.mariadbPrimary1).has('rows')).toBe(true);
    expect(kinds(Fixture.mysqlRows).has('rows')).toBe(true);
    expect(loadReference(Fixture.mysqlPayload).committedJson.length).toBe(1);
    expect(Math.max(...loadReference(Fixture.mysql51Large).events.map((e) => e.header.size))).toBeGreaterThan(4096);
  });

  for (const rel of [Fixture.mariadbPrimary2, Fixture.mysqlPayload]) {
    it(`${rel}: split in two at every offset`, () => {
      const ref = loadReference(rel);
      for (let cut = 1; cut < ref.bytes.length; cut++) checkSplit(ref, [cut]);
    });
  }

  it(`${Fixture.mariadbPrimary1}: fed one byte at a time`, () => {
    const ref = loadReference(Fixture.mariadbPrimary1);
    checkSplit(ref, Array.from({ length: ref.bytes.length - 1 }, (_, i) => i + 1));
  });

  it('any chunking of any file (fast-check, time-boxed) decodes as one buffer', () => {
    fc.assert(splitProperty(FILES.map((rel) => loadReference(rel))), fuzzParameters(PROPERTY_MS, SEED));
  });

  it('with verifyChecksums: false, chunking changes nothing either', () => {
    const refs = [Fixture.mariadbPrimary1, Fixture.mysqlPayload].map((rel) => loadReference(rel, { verifyChecksums: false }));
    fc.assert(splitProperty(refs), fuzzParameters(PROPERTY_MS / 4, SEED));
  });
});

/** Everything readTransactions yields for one file, concatenated over its batches. */
async function readAll(path: string, chunkSize: number): Promise<{ events: BinlogEvent[]; items: TransactionItem[]; tails: unknown[]; position: number }> {
  const events: BinlogEvent[] = [];
  const items: TransactionItem[] = [];
  const tails: unknown[] = [];
  let position = -1;
  for await (const batch of readTransactions([path], { chunkSize, keepEvents: true })) {
    events.push(...batch.events);
    items.push(...batch.items);
    if (batch.tail !== null) tails.push(batch.tail);
    position = batch.position;
  }
  return { events, items, tails, position };
}

describe.skipIf(!haveRealBinlogs)('split anywhere through readTransactions (one reused read buffer)', () => {
  const files: readonly FixtureName[] = [Fixture.mariadbPrimary1, Fixture.mariadbNoChecksum, Fixture.mysqlPayload, Fixture.mysqlRows, Fixture.mysql51Large];
  for (const rel of files) {
    for (const chunkSize of [1, 3, 17, 4096]) {
      // One byte per read of a 150 KB file is 150 000 awaits: the large file runs from 17 bytes up.
      if (rel === Fixture.mysql51Large && chunkSize < 17) continue;
      it(`${rel} in reads of ${chunkSize} bytes`, async () => {
        const path = resolve(REAL_BINLOGS, rel);
        const ref = loadReference(rel, { name: path });
        const got = await readAll(path, chunkSize);
        expect(got.events.length).toBe(ref.events.length);
        for (let i = 0; i < got.events.length; i++) {
          if (stableJson(got.events[i]) !== ref.eventJson[i]) expect.fail(`event ${i} at ${ref.starts[i]} differs from the whole-buffer decode`);
        }
        expect(got.items.map(stableJson)).toEqual(ref.itemJson);
        expect(got.tails).toEqual(ref.tail === null ? [] : [ref.tail]);
        expect(got.position).toBe(ref.bytes.length);
      });
    }
  }
});
