/**
 * findTransactionStart reads growing windows (64 KiB, 256 KiB, 1 MiB, 4 MiB) and must answer
 * exactly what one 4 MiB read answers: the first GTID event at or after `near` that lies whole
 * within 4 MiB of it, or null. Transactions here are padded (ANNOTATE_ROWS text) to sizes around
 * each window's edge, and their bodies are full of bytes that look like GTID event types, so every
 * window hands over to the next and the false candidates are dismissed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BinlogWriter } from '../../test/harness/binlog-writer.js';
import { EventType } from '../binlog/event-types.js';
import { findTransactionStart, readFormatDescription } from './split-points.js';

const DIR = mkdtempSync(path.join(tmpdir(), 'split-points-'));
afterAll(() => rmSync(DIR, { recursive: true, force: true }));

const KiB = 1024;
const WINDOW = 4 * 1024 * KiB;
/** Padding per transaction: small, each window's edge and either side of it, and one past 4 MiB. */
const PADDING = [100, 64 * KiB - 200, 64 * KiB + 300, 10 * KiB, 256 * KiB - 100, 256 * KiB + 5_000, 1024 * KiB + 1, 3 * 1024 * KiB, WINDOW + 10 * KiB, 500];

/** Text that is mostly GTID-type bytes (0xa2 = MARIADB_GTID, '!' = 33, '"' = 34) with header-like runs. */
function padding(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = [EventType.MARIADB_GTID, 33, 34, (i * 31 + seed) & 0xff][i % 4]!;
  return b;
}

function build(checksum: boolean): { file: string; starts: { at: number; end: number }[] } {
  const w = new BinlogWriter({ flavor: 'mariadb', checksum });
  w.formatDescription().gtidList([]).binlogCheckpoint('split-bin.000001');
  const starts: { at: number; end: number }[] = [];
  PADDING.forEach((length, i) => {
    const at = w.position;
    w.mariadbGtid({ domainId: 0, seqNo: i + 1, standalone: false });
    starts.push({ at, end: w.position });
    w.annotateRows(padding(length, i));
    w.xid(i + 1);
  });
  const file = path.join(DIR, `split-${checksum ? 'crc' : 'none'}.000001`);
  writeFileSync(file, w.toBuffer());
  return { file, starts };
}

describe('findTransactionStart', () => {
  it.each([true, false])('answers what one 4 MiB window answers, from offsets around every transaction (checksums %s)', async (checksum) => {
    const { file, starts } = build(checksum);
    const fde = await readFormatDescription(file);
    expect(fde).not.toBeNull();
    const expected = (near: number): number | null => starts.find((s) => s.at >= near && s.end - near <= WINDOW)?.at ?? null;
    const offsets = new Set<number>([4]);
    for (const [i, s] of starts.entries()) {
      for (const d of [-1, 0, 1, 19]) offsets.add(s.at + d);
      const next = starts[i + 1]?.at;
      if (next !== undefined) for (const back of [1, 100, 64 * KiB, 64 * KiB + 1, 256 * KiB, 1024 * KiB + 7, WINDOW - 30, WINDOW + 1]) if (next - back > s.at) offsets.add(next - back);
    }
    const seen: [number, number | null][] = [];
    const want: [number, number | null][] = [];
    for (const near of [...offsets].sort((a, b) => a - b)) {
      seen.push([near, await findTransactionStart(file, near, fde!)]);
      want.push([near, expected(near)]);
    }
    expect(seen).toEqual(want);
    // The cases the windows exist for were reached: answers 64 KiB-4 MiB away, and none at all.
    const distances = want.filter(([, at]) => at !== null).map(([near, at]) => at! - near);
    expect(Math.max(...distances)).toBeGreaterThan(1024 * KiB);
    expect(distances.some((d) => d > 64 * KiB && d < 256 * KiB)).toBe(true);
    expect(want.some(([, at]) => at === null)).toBe(true);
  });
});
