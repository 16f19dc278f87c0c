/**
 * `inspect --stats` over ranges of binlog files: every value of every row is decoded (no lazy
 * shortcut); only counts, incomplete groups, tails and warnings come back. Runs in-process or in
 * a worker thread (stats-worker.ts) on its share of the input.
 */
import { open } from 'node:fs/promises';
import type { IncompleteTail } from '../binlog/decoder.js';
import { HEADER_LENGTH } from '../binlog/header.js';
import { BinlogError, BinlogErrorCode } from '../errors.js';
import type { DecodeWarning } from '../binlog/event.js';
import type { IncompleteTransaction, TransactionItem } from '../binlog/transaction.js';
import { GtidSet } from '../model/gtid-set.js';
import type { BinlogFile } from '../source/binlog-files.js';
import { readTransactions } from '../source/read-transactions.js';
import { damageVerdict } from './filter-reads.js';
import { InspectStats, type StatsSnapshot } from './inspect-stats.js';
import { TransactionFilter, type TransactionFilterOptions } from './transaction-filter.js';

/** Filter options as plain data (GTID sets as text), so they cross a thread boundary. */
export interface PlainFilter extends Omit<TransactionFilterOptions, 'includeGtids' | 'excludeGtids'> {
  readonly includeGtids?: string;
  readonly excludeGtids?: string;
}

export interface StatsJob {
  readonly ranges: readonly BinlogFile[];
  /** Every file of the whole input, in order: the first/last-file rules of the position filters. */
  readonly allFiles: readonly string[];
  readonly filter: PlainFilter;
  readonly verifyChecksums: boolean;
  /**
   * Another job follows: the last range ends at a cut, where the next job's first transaction
   * starts (parallel-stats.ts). What the end of the input reports there is reported as one pass
   * over the whole input would report it.
   */
  readonly more?: boolean;
}

export interface StatsResult {
  readonly stats: StatsSnapshot;
  readonly incomplete: IncompleteTransaction[];
  /** Files that end inside an event; `cutShort`: the server had closed the file, so a short copy, not a crash. */
  readonly tails: Array<{ readonly file: string; readonly tail: IncompleteTail; readonly cutShort?: boolean }>;
  readonly warnings: Array<{ readonly file: string; readonly warning: DecodeWarning }>;
  readonly bytes: number;
  /**
   * The job (one with `more`) ended holding an XA transaction prepared and not yet committed: a
   * later job may commit it, which it cannot see, so the counts of the cut input are not those of
   * one pass (parallelStats then counts again in one pass; XA transactions are rare).
   */
  readonly splitXa: boolean;
}

/** Converts filter options to plain data. */
export function toPlainFilter(o: TransactionFilterOptions): PlainFilter {
  // Field by field: callers pass wider option objects (callbacks included) that cannot be cloned.
  const plain: { -readonly [K in keyof PlainFilter]: PlainFilter[K] } = {};
  if (o.startPosition !== undefined) plain.startPosition = o.startPosition;
  if (o.stopPosition !== undefined) plain.stopPosition = o.stopPosition;
  if (o.startTime !== undefined) plain.startTime = o.startTime;
  if (o.stopTime !== undefined) plain.stopTime = o.stopTime;
  if (o.tables !== undefined) plain.tables = [...o.tables];
  if (o.includeGtids) plain.includeGtids = o.includeGtids.toString();
  if (o.excludeGtids) plain.excludeGtids = o.excludeGtids.toString();
  return plain;
}

function fromPlainFilter(p: PlainFilter): TransactionFilterOptions {
  const { includeGtids, excludeGtids, ...rest } = p;
  return { ...rest, ...(includeGtids !== undefined ? { includeGtids: GtidSet.parse(includeGtids) } : {}), ...(excludeGtids !== undefined ? { excludeGtids: GtidSet.parse(excludeGtids) } : {}) };
}

/**
 * Counts the transactions of one batch into `stats` (incomplete ones into `incomplete`); returns
 * true when the filter says reading can stop. A function apart from collectStats's read loop, and
 * the filter skipped when none is set: compiled together, the read loop, the filter and the
 * counting were the largest job of V8's optimizing compiler in a run (~18 ms alone, up to ~100 ms
 * with both threads busy), done twice per thread (the first and the next job; measured with
 * --no-concurrent-recompilation --trace-opt).
 */
function countItems(items: readonly TransactionItem[], filter: TransactionFilter | null, stats: InspectStats, incomplete: IncompleteTransaction[], warnings: StatsResult['warnings']): boolean {
  for (const item of items) {
    if (item.kind === 'incomplete') {
      // Only a GTID filter reads past damage (collectStats): passed over, or the error (filter-reads.ts).
      if (item.tx.reason === 'damaged' && filter !== null) {
        if (filter.pastEnd(item.tx)) return true;
        warnings.push({ file: item.tx.file, warning: damageVerdict(item.tx, filter) });
        continue;
      }
      if (filter === null || filter.keepsIncomplete(item.tx)) incomplete.push(item.tx);
      continue;
    }
    if (filter === null) {
      stats.add(item.tx);
      continue;
    }
    if (filter.pastEnd(item.tx)) return true;
    const tx = filter.apply(item.tx);
    if (tx) stats.add(tx);
  }
  return false;
}

/** Whether any filter option is set (a filter without one keeps every transaction as it is). */
function filters(p: PlainFilter): boolean {
  return Object.values(p).some((v) => v !== undefined);
}

/** Decodes the job's ranges in order and counts; `onProgress` gets bytes read so far. */
export async function collectStats(job: StatsJob, onProgress?: (bytes: number) => void): Promise<StatsResult> {
  const filter = filters(job.filter) ? new TransactionFilter(fromPlainFilter(job.filter), job.allFiles) : null;
  const stats = new InspectStats();
  const incomplete: IncompleteTransaction[] = [];
  const tails: StatsResult['tails'] = [];
  const warnings: StatsResult['warnings'] = [];
  let bytes = 0;
  let lastItems: readonly TransactionItem[] = [];
  let stopped = false;
  // As one pass reads (inspect.ts): a GTID filter reads past damage to judge it; damage past
  // --stop-position in the last file ends the read when nothing begun before it is open.
  const lastRange = job.ranges[job.ranges.length - 1];
  const stopAt = job.filter.stopPosition !== undefined && lastRange?.path === job.allFiles[job.allFiles.length - 1] ? { stopAt: job.filter.stopPosition } : {};
  const read = { verifyChecksums: job.verifyChecksums, annotations: false, skipDamaged: filter?.byGtid === true, ...stopAt };
  for await (const batch of readTransactions(job.ranges, read)) {
    for (const warning of batch.warnings) warnings.push({ file: batch.file, warning });
    bytes = batch.bytesRead;
    lastItems = batch.items;
    if (countItems(batch.items, filter, stats, incomplete, warnings)) {
      stopped = true;
      break;
    }
    if (batch.tail) tails.push({ file: batch.file, tail: batch.tail, ...(batch.cutShort === true ? { cutShort: true } : {}) });
    onProgress?.(bytes);
  }
  const last = job.ranges[job.ranges.length - 1];
  const splitXa = job.more === true && !stopped && last?.range !== undefined && (await atCut(lastItems, incomplete, last.path, last.range.end));
  return { stats: stats.snapshot(), incomplete, tails, warnings, bytes, splitXa };
}

/** Where the event at `offset` of the file ends, from its header's size field. */
async function eventEndAt(path: string, offset: number): Promise<number> {
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(HEADER_LENGTH);
    const { bytesRead } = await handle.read(header, 0, HEADER_LENGTH, offset);
    if (bytesRead < HEADER_LENGTH) throw new BinlogError(BinlogErrorCode.CorruptEvent, `no event header at the cut ${path}:${offset}`, { file: path, offset });
    return offset + header.readUInt32LE(9);
  } finally {
    await handle.close();
  }
}

/**
 * The end of a job that stops at a cut (`cut`, in `file`): the reader ended the input there, so
 * the last batch ends with what TransactionAssembler.end reports, the open group ('end-of-input')
 * and then the XA transactions still prepared ('xa-prepared-only'). In one pass the next job's
 * first event, the GTID event at the cut, would have ended that group instead, as
 * 'new-group-started' and with that event counted in its end: so it is reported here. Returns
 * whether an XA transaction was left prepared.
 */
async function atCut(lastItems: readonly TransactionItem[], incomplete: IncompleteTransaction[], file: string, cut: number): Promise<boolean> {
  let splitXa = false;
  for (let i = lastItems.length - 1; i >= 0; i--) {
    const item = lastItems[i]!;
    if (item.kind !== 'incomplete') break;
    if (item.tx.reason === 'xa-prepared-only') {
      splitXa = true;
    } else if (item.tx.reason === 'end-of-input') {
      const at = incomplete.lastIndexOf(item.tx);
      if (at >= 0) incomplete[at] = { ...item.tx, reason: 'new-group-started', end: await eventEndAt(file, cut) };
      break;
    } else {
      break;
    }
  }
  return splitXa;
}
