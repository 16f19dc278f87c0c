/**
 * The decode benchmark's floor: the least work any binlog reader must do. Reads the file in
 * 1 MiB chunks, walks the 19-byte v4 event headers and checks the CRC32 of every event, and
 * decodes nothing else. Run as a child process: `node floor-scan.js FILE`; prints one JSON line
 * (events, bytes, CRC failures, in-process seconds, peak RSS).
 *
 * Wire facts (sql/log_event.h, MariaDB server): header = timestamp u32, type u8, server_id u32,
 * event_size u32, log_pos u32, flags u16; with checksums the last 4 bytes of each event are a
 * CRC32 of the rest. The Format_description event (type 15) ends in the checksum algorithm
 * byte and its own CRC; while the server has the file open its header carries
 * LOG_EVENT_BINLOG_IN_USE_F (0x1) but the CRC was computed with that bit clear.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { crc32 } from 'node:zlib';

const CHUNK = 1 << 20;
const HEADER = 19;
const FORMAT_DESCRIPTION = 15;
const IN_USE_FLAG = 0x1;
const MAGIC = 0x6e6962fe; // fe 'b' 'i' 'n', read little-endian

/** What one scan found. */
export interface FloorScanResult {
  readonly bytes: number;
  readonly events: number;
  readonly crcFailures: number;
  /** Bytes after the last whole event (a file cut inside an event). */
  readonly trailingBytes: number;
  readonly seconds: number;
  readonly maxRssKiB: number;
}

/** Walks every event of a binlog file and verifies its CRC32. */
export function floorScan(path: string): FloorScanResult {
  const started = process.hrtime.bigint();
  const fd = openSync(path, 'r');
  let buf = Buffer.allocUnsafe(2 * CHUNK);
  let start = 0;
  let end = 0;
  let bytes = 0;
  let events = 0;
  let crcFailures = 0;
  let checksums = false;
  try {
    for (;;) {
      // Move the partial event to the front (a few KiB at most), grow only for a huge event.
      if (start > 0) {
        buf.copy(buf, 0, start, end);
        end -= start;
        start = 0;
      }
      const need = end >= HEADER ? buf.readUInt32LE(9) : 0;
      if (need + CHUNK > buf.length) {
        const bigger = Buffer.allocUnsafe(need + CHUNK);
        buf.copy(bigger, 0, 0, end);
        buf = bigger;
      }
      const n = readSync(fd, buf, end, CHUNK, null);
      if (n === 0) break;
      if (bytes === 0 && (n < 4 || buf.readUInt32LE(0) !== MAGIC)) throw new Error(`${path}: not a binlog (no magic number)`);
      if (bytes === 0) start = 4;
      bytes += n;
      end += n;
      while (end - start >= HEADER) {
        const size = buf.readUInt32LE(start + 9);
        if (size < HEADER) throw new Error(`${path}: event size ${size} < ${HEADER} at offset ${bytes - (end - start)}`);
        if (end - start < size) break;
        if (buf[start + 4] === FORMAT_DESCRIPTION) {
          checksums = buf[start + size - 5] === 1;
          if (checksums && !checksumOk(buf, start, size, true)) crcFailures++;
        } else if (checksums && !checksumOk(buf, start, size, false)) {
          crcFailures++;
        }
        events++;
        start += size;
      }
    }
  } finally {
    closeSync(fd);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { bytes, events, crcFailures, trailingBytes: end - start, seconds, maxRssKiB: process.resourceUsage().maxRSS };
}

function checksumOk(buf: Buffer, start: number, size: number, formatDescription: boolean): boolean {
  const stored = buf.readUInt32LE(start + size - 4);
  const body = buf.subarray(start, start + size - 4);
  if (formatDescription && (buf[start + 17] as number) & IN_USE_FLAG) {
    // Copy: the CRC covers the header with the in-use bit clear (once per file, so cheap).
    const copy = Buffer.from(body);
    copy[17] = (copy[17] as number) & ~IN_USE_FLAG;
    return crc32(copy) === stored;
  }
  return crc32(body) === stored;
}

const file = process.argv[2];
const self = process.argv[1];
if (file !== undefined && self !== undefined && import.meta.url === pathToFileURL(self).href) {
  process.stdout.write(`${JSON.stringify(floorScan(file))}\n`);
}
