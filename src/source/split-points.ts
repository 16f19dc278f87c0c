/**
 * Where a binlog file can be cut for parallel decoding: at the start of a transaction (a GTID
 * event). Transactions are self-contained — each carries its own table maps — so ranges cut there
 * decode independently. A candidate is accepted only when its header's end position equals its
 * offset plus its size (servers write log_pos that way in a binlog) and, when the file is
 * checksummed, its CRC32 verifies: a false boundary would need both to hold by chance.
 */
import { open } from 'node:fs/promises';
import { BinlogDecoder, fdeImpliesGtids } from '../binlog/decoder.js';
import { crc32 } from '../binlog/crc32.js';
import { ChecksumAlgorithm, type FormatDescription } from '../binlog/event.js';
import { EventType } from '../binlog/event-types.js';
import { HEADER_LENGTH } from '../binlog/header.js';
import type { BinlogFile } from './binlog-files.js';

const WINDOW = 4 * 1024 * 1024;
const FIRST_WINDOW = 64 * 1024;

/**
 * The file's first bytes as a decoder needs them to open it: the magic, the first event (the format
 * description, its size from its header) and, when START_ENCRYPTION follows it, that event too.
 * Fewer when the file is shorter; read from its first 64 KiB.
 */
export async function readHead(path: string): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buf = Buffer.alloc(FIRST_WINDOW);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    // Only these events: decoding all 64 KiB with a cold JIT cost ~30 ms on the path to the first job.
    let end = Math.min(bytesRead, 4);
    if (end + HEADER_LENGTH <= bytesRead) end = Math.min(bytesRead, end + buf.readUInt32LE(end + 9));
    if (end + HEADER_LENGTH <= bytesRead && buf[end + 4] === EventType.START_ENCRYPTION) end = Math.min(bytesRead, end + buf.readUInt32LE(end + 9));
    return buf.subarray(0, end);
  } finally {
    await handle.close();
  }
}

/** The file's format description event, read from its head (readHead); null when it has none there. */
export async function readFormatDescription(path: string): Promise<FormatDescription | null> {
  const decoder = new BinlogDecoder({ file: path, verifyChecksums: true });
  try {
    decoder.push(await readHead(path));
  } catch {
    // What follows it (START_ENCRYPTION) or a damaged FDE: the format description read, if any.
  }
  return decoder.formatDescription;
}

/** Where a read from a position starts (fileFrom), and the file (a range of it) to read. */
export type StartPoint =
  | { readonly kind: 'at' | 'after'; readonly file: BinlogFile; readonly start: number }
  | { readonly kind: 'none' | 'whole'; readonly file: BinlogFile };

/**
 * Where a read from `position` (`inspect --start-position`) starts: `at`, a transaction starts
 * there; `after`, the first one after it (`start`; a read that started inside a transaction would
 * take its tail for a whole one); `none`, no transaction starts at or after it in the file; `whole`,
 * the file is read from its head (a position at its head, or a file whose format description does
 * not promise a GTID event before every transaction, so its starts cannot be found by scanning).
 * For `at` and `after` the file's FDE is read from its head and the events in between are neither
 * read nor verified, so damage there does not stop the read; for `none` nothing of the file is read.
 */
export async function fileFrom(file: BinlogFile, position: number): Promise<StartPoint> {
  if (file.range || position <= 4) return { kind: 'whole', file };
  const at = await gtidEventAt(file, position);
  const fde = await readFormatDescription(file.path);
  if (fde === null) return { kind: 'whole', file };
  const from = (start: number): BinlogFile => ({ path: file.path, size: file.size, range: { start, end: file.size, formatDescription: fde } });
  if (at) return { kind: 'at', file: from(position), start: position };
  if (!fdeImpliesGtids(fde)) return { kind: 'whole', file };
  const next = await nextTransactionStart(file, position, fde);
  return next === null ? { kind: 'none', file: from(file.size) } : { kind: 'after', file: from(next), start: next };
}

/** Whether a GTID event whose header fits the file (its end position its offset plus its size) starts at `position`. */
async function gtidEventAt(file: BinlogFile, position: number): Promise<boolean> {
  if (position + HEADER_LENGTH > file.size) return false;
  const handle = await open(file.path, 'r');
  try {
    const header = Buffer.alloc(HEADER_LENGTH);
    if ((await handle.read(header, 0, HEADER_LENGTH, position)).bytesRead < HEADER_LENGTH) return false;
    const size = header.readUInt32LE(9);
    return isGtidType(header[4]!) && position + size <= file.size && header.readUInt32LE(13) === (position + size) % 2 ** 32;
  } finally {
    await handle.close();
  }
}

/**
 * Larger than any GTID event: successive 4 MiB windows overlap by this much, so a start that runs
 * past the end of one window (which the window dismisses) lies whole in the next.
 */
const OVERLAP = 64 * 1024;

/** The first transaction start at or after `position` anywhere in the file (findTransactionStart window by window), or null. */
export async function nextTransactionStart(file: BinlogFile, position: number, fde: FormatDescription): Promise<number | null> {
  for (let near = position; near + HEADER_LENGTH <= file.size; near += WINDOW - OVERLAP) {
    const found = await findTransactionStart(file.path, near, fde);
    if (found !== null) return found;
  }
  return null;
}

function isGtidType(type: number): boolean {
  return type === EventType.GTID || type === EventType.ANONYMOUS_GTID || type === EventType.MARIADB_GTID || type === EventType.GTID_TAGGED;
}

/**
 * The first transaction start at or after `near` (within a 4 MiB window), or null. Read in growing
 * windows (64 KiB first: a GTID event is almost always that close): a plan cuts 8 jobs, and
 * reading 4 MiB per cut was 28 MiB read on the path to the first job. A smaller window answers
 * only what the 4 MiB one would: it hands over to the next as soon as a candidate runs past its end.
 */
export async function findTransactionStart(path: string, near: number, fde: FormatDescription): Promise<number | null> {
  const handle = await open(path, 'r');
  try {
    for (let window = FIRST_WINDOW; ; window *= 4) {
      const size = Math.min(window, WINDOW);
      const buf = Buffer.allocUnsafe(size);
      const { bytesRead } = await handle.read(buf, 0, size, near);
      const found = scanForStart(buf, bytesRead, near, fde, bytesRead === size && size < WINDOW);
      if (found !== MORE) return found;
    }
  } finally {
    await handle.close();
  }
}

/** scanForStart's answer when the window ended before it could tell. */
const MORE = -1;

/**
 * The first transaction start in buf[0, bytesRead) (as a file offset), null when there is none, or
 * MORE when `partial` (more of the file follows) and a candidate, or the scan, ran past the end.
 */
function scanForStart(buf: Buffer, bytesRead: number, near: number, fde: FormatDescription, partial: boolean): number | null {
  const checksummed = fde.checksumAlgorithm === ChecksumAlgorithm.CRC32;
  for (let i = 0; i + HEADER_LENGTH <= bytesRead; i++) {
    if (!isGtidType(buf[i + 4]!)) continue;
    const size = buf.readUInt32LE(i + 9);
    // The end position first: it is in the header, so a byte that only looks like a GTID type is
    // dismissed here rather than sending the search to a larger window for its made-up size.
    if (size < HEADER_LENGTH || buf.readUInt32LE(i + 13) !== near + i + size) continue;
    if (i + size > bytesRead) {
      if (partial) return MORE;
      continue;
    }
    if (checksummed && crc32(buf.subarray(i, i + size - 4)) !== buf.readUInt32LE(i + size - 4)) continue;
    return near + i;
  }
  return partial ? MORE : null;
}
