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
import { fileFrom, findTransactionStart, nextTransactionStart, readFormatDescription } from './split-points.js';
import { statSync } from 'node:fs';

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

describe('nextTransactionStart and fileFrom (inspect --start-position)', () => {
  const binlog = (file: string): { path: string; size: number } => ({ path: file, size: statSync(file).size });

  it('finds the next start at any distance, one 4 MiB window after another (a start across two windows too), and none past the last', async () => {
    const { file, starts } = build(true);
    const fde = await readFormatDescription(file);
    const offsets = new Set<number>();
    for (const [i, s] of starts.entries()) {
      for (const d of [0, 1, 19]) offsets.add(s.at + d);
      const next = starts[i + 1]?.at;
      // Before the start that follows the transaction longer than a window: 4 MiB - 30 lands it across the first window's end.
      if (next !== undefined) for (const back of [1, WINDOW - 30, WINDOW + 5]) if (next - back > s.at) offsets.add(next - back);
    }
    const seen: [number, number | null][] = [];
    const want: [number, number | null][] = [];
    for (const near of [...offsets].sort((a, b) => a - b)) {
      seen.push([near, await nextTransactionStart(binlog(file), near, fde!)]);
      want.push([near, starts.find((s) => s.at >= near)?.at ?? null]);
    }
    expect(seen).toEqual(want);
    expect(want.some(([near, at]) => at !== null && at - near > WINDOW)).toBe(true);
  });

  it('says where a read from a position starts: at it, after it, nowhere in the file, or from the head', async () => {
    const { file, starts } = build(true);
    const size = statSync(file).size;
    const third = starts[2]!.at;
    const at = await fileFrom(binlog(file), third);
    expect([at.kind, at.file.range?.start]).toEqual(['at', third]);
    const after = await fileFrom(binlog(file), third + 1);
    expect([after.kind, after.kind === 'after' && after.start, after.file.range?.start]).toEqual(['after', starts[3]!.at, starts[3]!.at]);
    const none = await fileFrom(binlog(file), starts[starts.length - 1]!.at + 1);
    expect([none.kind, none.file.range?.start, none.file.range?.end]).toEqual(['none', size, size]);
    expect((await fileFrom(binlog(file), 4)).kind).toBe('whole');
    // A server that does not log a GTID event before every transaction (MySQL 5.6): its starts cannot be scanned for.
    const w = new BinlogWriter({ flavor: 'mysql', serverVersion: '5.6.51-log', checksum: false });
    w.formatDescription();
    const old = path.join(DIR, 'old-bin.000001');
    writeFileSync(old, w.toBuffer());
    expect((await fileFrom(binlog(old), 50)).kind).toBe('whole');
  });
});
