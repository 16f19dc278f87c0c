/**
 * The SQL statement that produced a row change, for the few changes a person reviews (quarantined
 * ones): the text the decoder kept, else the ANNOTATE_ROWS bytes read back from the binlog file at
 * the offset its mark records. plan and apply decode without the texts (DESIGN.md, pitfalls: they
 * are ≈ 42 % of a MariaDB binlog's bytes), so only the statements of reviewed changes are read, each
 * once, after the fact.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { crc32Range } from '../binlog/crc32.js';
import { EventType } from '../binlog/event-types.js';
import { HEADER_LENGTH } from '../binlog/header.js';
import { statementMarkOf, type StatementMark, type Transaction } from '../binlog/transaction.js';

/** One row change: `tx.changes[index]`. */
export interface ChangeRef {
  readonly tx: Transaction;
  readonly index: number;
}

/** Whether the transactions' `file` names a local file the marks' offsets can be read from (false for a live source: it names the server's file). */
export interface StatementTextOptions {
  readonly readFiles: boolean;
}

/**
 * The statement text of each change, in order: null where the binlog logged none for it
 * (annotations off), or its bytes cannot be read back as the ANNOTATE_ROWS event the mark names
 * (the file changed or went away since it was read — a report's detail never fails the run).
 */
export async function readStatementTexts(changes: readonly ChangeRef[], options: StatementTextOptions): Promise<(string | null)[]> {
  const marks = changes.map((c) => statementMarkOf(c.tx, c.index));
  const texts = new Map<StatementMark, string | null>();
  const wanted = new Map<string, StatementMark[]>();
  marks.forEach((m, i) => {
    if (m === null || texts.has(m)) return;
    if (m.sql !== null || !options.readFiles || m.textAt < HEADER_LENGTH) {
      texts.set(m, m.sql);
      return;
    }
    texts.set(m, null);
    const file = changes[i]!.tx.file;
    const list = wanted.get(file);
    if (list === undefined) wanted.set(file, [m]);
    else list.push(m);
  });
  for (const [file, list] of wanted) {
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch {
      continue;
    }
    try {
      for (const m of list) texts.set(m, await readAnnotation(handle, m));
    } finally {
      await handle.close();
    }
  }
  return marks.map((m) => (m === null ? null : (texts.get(m) ?? null)));
}

/**
 * The text of the ANNOTATE_ROWS event whose body starts at `m.textAt`, or null when the bytes there
 * are not that very event: the type, the size, the header's timestamp and, in a checksummed file,
 * the stored CRC32 must be the ones the decoder saw, and the CRC must hold over the bytes read (a
 * file replaced since, holding another statement of the same length at that offset, gives null,
 * never the other statement).
 */
async function readAnnotation(handle: FileHandle, m: StatementMark): Promise<string | null> {
  const checksummed = m.eventChecksum >= 0;
  const size = HEADER_LENGTH + m.textLength + (checksummed ? 4 : 0);
  const buf = Buffer.alloc(size);
  let read: number;
  try {
    ({ bytesRead: read } = await handle.read(buf, 0, size, m.textAt - HEADER_LENGTH));
  } catch {
    return null;
  }
  // The v4 header: timestamp (u32le) at byte 0, type code at byte 4, event size (u32le, checksum
  // included) at byte 9 (log_event.h).
  if (read !== size || buf[4] !== EventType.ANNOTATE_ROWS || buf.readUInt32LE(9) !== size || buf.readUInt32LE(0) !== m.eventTimestamp) return null;
  if (checksummed) {
    const stored = buf.readUInt32LE(size - 4);
    if (stored !== m.eventChecksum || crc32Range(buf, 0, size - 4) !== stored) return null;
  }
  return buf.toString('utf8', HEADER_LENGTH, HEADER_LENGTH + m.textLength);
}
