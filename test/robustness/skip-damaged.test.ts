/**
 * The decoder's `damaged: 'skip'` (`salvage plan|apply --skip-damaged`): a damaged event is passed
 * over only when the boundary after it can be trusted, the transaction it cuts is reported whole
 * (never decoded in part), and reading goes on at the next transaction; otherwise it still throws.
 * Damage is made by flipping bytes of real MariaDB 10.11 binlogs (offsets from their decodings).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { BinlogDecoder, type IncompleteTail } from '../../src/binlog/decoder.js';
import type { BinlogEvent } from '../../src/binlog/event.js';
import { gtidText, TransactionAssembler, type TransactionItem } from '../../src/binlog/transaction.js';
import { BinlogError, BinlogErrorCode } from '../../src/errors.js';
import { readTransactions } from '../../src/source/read-transactions.js';
import { REAL_BINLOGS, haveRealBinlogs, fuzzParameters, suiteSeed } from './decode-properties.js';

const FAILOVER = join(REAL_BINLOGS, 'local-mariadb-10.11/failover');
const PRIMARY2 = join(FAILOVER, 'primary/primary-bin.000002');
const BITFLIP = join(FAILOVER, 'derived/primary-bin.000002.bitflip-at-700');
const NO_CHECKSUM = join(REAL_BINLOGS, 'local-mariadb-10.11/variants/var-bin.000003');
const dir = mkdtempSync(join(tmpdir(), 'skip-damaged-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** A copy of `file` with `mask` xored into the byte at each offset. */
function damaged(file: string, flips: readonly (readonly [number, number])[]): string {
  const bytes = Buffer.from(readFileSync(file));
  for (const [at, mask] of flips) bytes[at] = bytes[at]! ^ mask;
  const out = join(dir, `${n++}-${file.split('/').pop()!}`);
  writeFileSync(out, bytes);
  return out;
}

async function items(file: string, chunkSize?: number): Promise<TransactionItem[]> {
  const out: TransactionItem[] = [];
  for await (const b of readTransactions([file], { skipDamaged: true, annotations: false, chunkSize })) out.push(...b.items);
  return out;
}

/** `committed GTID` or `damaged GTID@pos` per item. */
function summary(list: readonly TransactionItem[]): string[] {
  return list.map((i) => (i.kind === 'transaction' ? (i.tx.gtid === null ? `tx@${i.tx.pos}` : gtidText(i.tx.gtid)) : `${i.tx.reason} ${i.tx.gtid === null ? '?' : gtidText(i.tx.gtid)}@${i.tx.pos}`));
}

async function errorOf(p: Promise<unknown>): Promise<BinlogError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(BinlogError);
    return e as BinlogError;
  }
  throw new Error('expected a BinlogError');
}

describe.skipIf(!haveRealBinlogs)('damaged: skip', () => {
  it('bitflip-at-700: 0-1-18 is reported damaged with the event, its error and the span passed over; the rest decodes', async () => {
    const got = await items(BITFLIP);
    expect(summary(got)).toEqual(['damaged 0-1-18@344', '0-1-19', '0-1-20', '0-1-21', '0-1-22', '7-1-1']);
    const d = got[0]!;
    expect(d.kind === 'incomplete' && d.tx).toMatchObject({
      file: BITFLIP,
      pos: 344,
      end: 821,
      changes: 0,
      damage: { offset: 670, size: 120, eventType: 23, code: BinlogErrorCode.ChecksumMismatch, betweenTransactions: false, skippedEvents: 1 },
    });
    expect(d.kind === 'incomplete' && d.tx.damage?.message).toMatch(/^checksum mismatch in WRITE_ROWS_V1 event at .*bitflip-at-700:670 \(120 bytes\): stored/);
  });

  it('without it the same file stops at 670, as before', async () => {
    const read = async (): Promise<void> => {
      for await (const _ of readTransactions([BITFLIP])) void _;
    };
    const e = await errorOf(read());
    expect(e.code).toBe(BinlogErrorCode.ChecksumMismatch);
    expect(e.details).toMatchObject({ offset: 670, eventType: 23 });
  });

  it('every chunking gives the same items', async () => {
    const whole = summary(await items(BITFLIP));
    for (const size of [1, 7, 19, 20, 64, 671, 700, 1024]) expect(summary(await items(BITFLIP, size)), `chunk ${size}`).toEqual(whole);
  });

  it('a damaged GTID event: the transaction it opened is reported without a GTID, its events passed over', async () => {
    // 0-1-19's GTID event is at 866 (42 bytes): a byte of its sequence number.
    const got = await items(damaged(PRIMARY2, [[866 + 19 + 2, 0x01]]));
    expect(summary(got)).toEqual(['0-1-18', 'damaged ?@866', '0-1-20', '0-1-21', '0-1-22', '7-1-1']);
    expect(got[1]!.kind === 'incomplete' && got[1]!.tx.damage).toMatchObject({ offset: 866, eventType: 0xa2, betweenTransactions: false, skippedEvents: 4 });
    expect(got[1]!.kind === 'incomplete' && got[1]!.tx.end).toBe(1204);
  });

  it('a damaged event between two transactions (a BINLOG_CHECKPOINT) cuts none', async () => {
    const got = await items(damaged(PRIMARY2, [[821 + 30, 0x10]]));
    expect(summary(got)).toEqual(['0-1-18', 'damaged ?@821', '0-1-19', '0-1-20', '0-1-21', '0-1-22', '7-1-1']);
    expect(got[1]!.kind === 'incomplete' && got[1]!.tx.damage).toMatchObject({ offset: 821, eventType: 0xa1, betweenTransactions: true, skippedEvents: 0 });
  });

  it('a damaged XID: the transaction it would have committed is damaged, the next one decodes', async () => {
    const got = await items(damaged(PRIMARY2, [[1173 + 20, 0x01]]));
    expect(summary(got)).toEqual(['0-1-18', 'damaged 0-1-19@866', '0-1-20', '0-1-21', '0-1-22', '7-1-1']);
    expect(got[1]!.kind === 'incomplete' && got[1]!.tx.changes).toBe(2);
  });

  it('a damaged size is not skipped: its header\'s end position disagrees', async () => {
    // Size of the WRITE_ROWS at 670 from 120 to 121: the CRC is read one byte off and fails.
    const e = await errorOf(items(damaged(PRIMARY2, [[670 + 9, 0x01]])));
    expect(e.code).toBe(BinlogErrorCode.ChecksumMismatch);
    expect(e.message).toMatch(/; not skipped: its size says the next event starts at 791, its header's end position says 790: the boundary after it cannot be trusted$/);
  });

  it('damage in two events in a row is not skipped: the first one\'s length may be wrong', async () => {
    // The table map at 529 and the rows event at 670 right after it.
    const e = await errorOf(items(damaged(PRIMARY2, [[600, 0x01], [700, 0x01]])));
    expect(e.details).toMatchObject({ offset: 670 });
    expect(e.message).toMatch(/not skipped: it follows the damaged event at .*:529, so that event's length may be wrong too$/);
  });

  it('damage further inside a skipped transaction is passed over with it', async () => {
    const got = await items(damaged(PRIMARY2, [[430, 0x01], [700, 0x01]]));
    expect(summary(got)).toEqual(['damaged 0-1-18@344', '0-1-19', '0-1-20', '0-1-21', '0-1-22', '7-1-1']);
    expect(got[0]!.kind === 'incomplete' && got[0]!.tx.damage).toMatchObject({ offset: 386, skippedEvents: 3 });
  });

  it('without checksums: a rows event naming an unknown table does not decode; its framing holds, so it is skipped', async () => {
    // var-bin.000003 (binlog_checksum=NONE): the table id of the UPDATE_ROWS at 880 (3-11-5).
    const got = await items(damaged(NO_CHECKSUM, [[880 + 19, 0x40]]));
    expect(summary(got)).toEqual(['3-11-4', 'damaged 3-11-5@700', '3-11-6']);
    expect(got[1]!.kind === 'incomplete' && got[1]!.tx.damage).toMatchObject({ offset: 880, code: BinlogErrorCode.MissingTableMap });
  });

  it('the format description is never skipped', async () => {
    const e = await errorOf(items(damaged(PRIMARY2, [[100, 0x01]])));
    expect(e.details).toMatchObject({ offset: 4 });
    expect(e.message).toMatch(/not skipped: the format description itself is damaged$/);
  });

  it('random flips (fast-check, time-boxed): every committed transaction read is one of the file\'s, whole; each damaged one is named', () => {
    const bytes = readFileSync(PRIMARY2);
    const good = decodeItems(bytes).items;
    const byGtid = new Map(good.flatMap((i) => (i.kind === 'transaction' && i.tx.gtid !== null ? [[gtidText(i.tx.gtid), i.tx] as const] : [])));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }), (flips) => {
        const copy = Buffer.from(bytes);
        for (const [at, mask] of flips) copy[at] = copy[at]! ^ mask;
        let got: TransactionItem[];
        let tail: IncompleteTail | null;
        try {
          ({ items: got, tail } = decodeItems(copy));
        } catch (e) {
          expect(e).toBeInstanceOf(BinlogError);
          return;
        }
        // A size grown past the end of the file looks like a crash's tail; its header's end
        // position tells it apart (what the pipeline checks, tailSizeDisagrees).
        const cutAt = tail !== null && tail.claimedSize !== null && copy.readUInt32LE(tail.offset + 13) === tail.offset + tail.claimedSize ? tail.offset : Infinity;
        for (const i of got) {
          if (i.kind !== 'transaction') continue;
          // A flipped byte the checksum leaves out (the FDE's in-use flag) changes nothing; every
          // other change is caught, so what is emitted equals the undamaged file's transaction.
          const want = i.tx.gtid === null ? undefined : byGtid.get(gtidText(i.tx.gtid));
          expect(want, `transaction at ${i.tx.pos}`).toBeDefined();
          expect(i.tx.changes).toEqual(want!.changes);
          expect([i.tx.pos, i.tx.end]).toEqual([want!.pos, want!.end]);
        }
        // Nothing goes missing in silence: each of the file's transactions is read whole, or lies
        // in (or holds) a span reported damaged.
        const spans = got.flatMap((i) => (i.kind === 'incomplete' && i.tx.reason === 'damaged' ? [i.tx] : []));
        for (const t of byGtid.values()) {
          const read = got.some((i) => i.kind === 'transaction' && i.tx.pos === t.pos);
          const covered = spans.some((d) => (d.pos <= t.pos && t.pos < d.end) || (t.pos <= d.damage!.offset && d.damage!.offset < t.end));
          expect(read || covered || (tail !== null && t.end > tail.offset && cutAt === Infinity), `transaction at ${t.pos}`).toBe(true);
          if (!read && !covered) expect(t.end, `transaction at ${t.pos} lost to a tail that looks like a crash's`).toBeLessThanOrEqual(cutAt);
        }
      }),
      fuzzParameters(1_500, suiteSeed(process.env)),
    );
  });
});

/** The whole buffer through one decoder (skipping damage) and one assembler. */
function decodeItems(bytes: Buffer): { items: TransactionItem[]; tail: IncompleteTail | null } {
  const decoder = new BinlogDecoder({ file: 'x', damaged: 'skip', annotations: false });
  const events: BinlogEvent[] = decoder.push(bytes);
  const tail = decoder.end();
  const a = new TransactionAssembler('x');
  return { items: a.end(a.push(events)), tail };
}
