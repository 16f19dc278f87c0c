/**
 * Reads the DR's own binlog (`--dr-binlog FILE…` or `--dr-source URL`) into its history since the
 * failover (model/dr-history.ts). The history itself is folded by a builder the caller hands in
 * (reconcile/dr-history-builder.ts satisfies `DrHistoryFeed`): src/source reads, reconcile decides.
 *
 * Before anything is folded, the files are checked to be what the DR wrote: a relay log (what the
 * DR received) or the primary's binlog given by mistake would make a history that says the DR
 * did nothing, so both are refused with the file named.
 *
 * `apply --follow` with `--dr-source`: the DR takes writes while the run follows, so the dump is kept
 * open and the history reads on before each window (FollowedDrHistory.catchUp).
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { BinlogEvent } from '../binlog/event.js';
import { EventType } from '../binlog/event-types.js';
import { BINLOG_MAGIC, HEADER_LENGTH, LOG_EVENT_RELAY_LOG_F } from '../binlog/header.js';
import { gtidText, type Transaction } from '../binlog/transaction.js';
import type { DecoderOptions } from '../binlog/decoder.js';
import { BinlogError, EngineError } from '../errors.js';
import type { DrHistory, FailoverAt, HistorySpill } from '../model/dr-history.js';
import { resolveBinlogFiles, SourceError, type BinlogFile } from './binlog-files.js';
import { fileSeriesFault } from './input-checks.js';
import { compareBinlogNames, LiveSourceError, LiveSourceErrorCode, readLiveTransactions, serverEnd, type BinlogPosition, type ControlSession, type LiveTarget, type LiveTls } from './live-source.js';
import { readTransactions, type ReadBatch } from './read-transactions.js';

/** Stable codes of DR-history input failures (the user gave the wrong files or option: exit 2). */
export const DrHistorySourceErrorCode = {
  /** A file given as the DR's binlog was not written by the DR (the primary's binlog, say). */
  NotTheDr: 'DR_HISTORY_NOT_THE_DR',
  /** A relay log given as the DR's binlog: it holds what the DR received, not what it wrote. */
  RelayLog: 'DR_HISTORY_RELAY_LOG',
  /** Neither files nor a live source given. */
  NoInput: 'DR_HISTORY_NO_INPUT',
  /** The same DR binlog given twice. */
  FileTwice: 'DR_HISTORY_FILE_TWICE',
  /** DR binlogs given out of order: the history would fold each key's changes in the wrong order. */
  OutOfOrder: 'DR_HISTORY_OUT_OF_ORDER',
  /** A DR binlog missing between two given: a key's changes on either side of it would be folded as if nothing came between. */
  Gap: 'DR_HISTORY_GAP',
} as const;
export type DrHistorySourceErrorCode = (typeof DrHistorySourceErrorCode)[keyof typeof DrHistorySourceErrorCode];

export class DrHistorySourceError extends EngineError {}

/** Stable codes of a followed DR's history (`apply --follow --dr-source`). */
export const DrHistoryFollowErrorCode = {
  /**
   * The history could not be brought up to the DR's end (its dump or control connection lost, the
   * DR down): retryable — the next catch-up reopens both and reads on from the end of the last DR
   * transaction folded. Never answered by deciding without what the DR wrote since.
   */
  Lost: 'DR_HISTORY_FOLLOW_LOST',
} as const;
export type DrHistoryFollowErrorCode = (typeof DrHistoryFollowErrorCode)[keyof typeof DrHistoryFollowErrorCode];

export class DrHistoryFollowError extends EngineError {}

/** What the reader needs of the history builder: reconcile's DrHistoryBuilder, seen through a port. */
export interface DrHistoryFeed {
  /** Whether the DR wrote this transaction itself. */
  isOwn(tx: Transaction): boolean;
  add(tx: Transaction): void;
  /** How far a file was read: `--failover-at FILE:POS` must lie in what was read. */
  noteRead(file: string, position: number): void;
  /** The first binlog read shows the DR had written before it: a hole, unless the failover point lies after it. */
  noteEarlierOwnWrites(file: string, gtids: string): void;
  finish(options: { readonly complete: boolean }): DrHistory;
  /** Takes transactions again after finish() (a followed DR); the next finish() returns the history as it then stands. */
  reopen(): void;
}

/** A control session the reader opens and ends itself (src/db's SqlSession satisfies it). */
export interface OwnedControlSession extends ControlSession {
  end(): Promise<void>;
}

/** The DR's binlog end at the time of the run (SHOW MASTER STATUS), for `complete`. */
export interface DrBinlogEnd {
  readonly file: string;
  readonly pos: number;
}

export interface ReadDrHistoryOptions {
  /** `--dr-binlog`: binlog files or `.index` files, in order. */
  readonly files?: readonly string[];
  /** `--dr-source`: the live DR, read from its first binlog (or `start`) to its end at the start of the read (and on, with `follow`). */
  readonly live?: {
    readonly target: LiveTarget;
    readonly control: ControlSession;
    readonly start?: { readonly file?: string; readonly position?: number };
    readonly serverId?: number;
    readonly connectTimeoutMs?: number;
    /** TLS of the dump connection (as the control session's: tlsSocketOptions); plain when absent. */
    readonly tls?: LiveTls | null;
    /**
     * `apply --follow`: the dump stays open after the first read, and the history's catchUp() folds
     * what the DR wrote since, up to its end then (SHOW MASTER STATUS on a control session of the
     * history's own, opened with `openControl` and again after it is lost); close() ends both.
     * `control` is used for the first read only, as without it.
     */
    readonly follow?: { readonly openControl: () => Promise<OwnedControlSession> };
  };
  /** The DR's identity (the same the builder was given): the files are checked against it. */
  readonly own: { readonly serverId: number; readonly serverUuid: string | null };
  /** The DR's current binlog end, or null when unknown: files that reach it make a complete history. */
  readonly drEnd: DrBinlogEnd | null;
  /** Builds the history over the spill this reader provides (temporary files, removed by the history's close()). */
  readonly createBuilder: (spill: HistorySpill) => DrHistoryFeed;
  readonly schemaHints?: DecoderOptions['schemaHints'];
  /** Where spill files go (default os.tmpdir()). */
  readonly tempDir?: string;
  readonly signal?: AbortSignal;
}

/** Per file read: what the DR-ness check looks at. */
interface FileSeen {
  readonly name: string;
  fdeServerId: number | null;
  transactions: number;
  own: number;
  readonly serverIds: Set<number>;
  readonly gtids: string[];
}

/**
 * Reads the DR's binlog and folds it into its history. Files are checked first (relay log, not the
 * DR's); a live read stops at the server's end when it started and is complete by construction.
 */
export async function readDrHistory(options: ReadDrHistoryOptions): Promise<DrHistory> {
  const spill = new TempFileSpill(options.tempDir ?? tmpdir());
  let feed: DrHistoryFeed;
  try {
    feed = options.createBuilder(spill);
    const files = options.files ?? [];
    if (files.length > 0) {
      let last: { file: string; position: number } | null;
      try {
        const resolved = await resolveBinlogFiles(files);
        await refuseBadSequence(resolved);
        for (const f of resolved) await refuseRelayLog(f.path);
        last = await consume(readTransactions(resolved, { annotations: false, keepEvents: true, schemaHints: options.schemaHints, signal: options.signal }), feed, options);
      } catch (e) {
        throw asDrBinlogError(e);
      }
      const end = options.drEnd;
      const complete = end !== null && last !== null && basename(last.file) === end.file && last.position >= end.pos;
      return feed.finish({ complete });
    }
    const live = options.live;
    if (live === undefined) throw new DrHistorySourceError(DrHistorySourceErrorCode.NoInput, "the DR's history needs --dr-binlog FILE… or --dr-source URL", { option: '--dr-binlog' });
    if (live.follow !== undefined) return await FollowedDrHistory.open(feed, options, live, live.follow);
    await consume(
      readLiveTransactions(live.target, {
        control: live.control,
        start: live.start,
        serverId: live.serverId,
        connectTimeoutMs: live.connectTimeoutMs,
        tls: live.tls ?? null,
        annotations: false,
        keepEvents: true,
        schemaHints: options.schemaHints,
        signal: options.signal,
      }),
      feed,
      options,
    );
    return feed.finish({ complete: true });
  } catch (e) {
    await spill.close();
    throw e;
  }
}

/**
 * A file given as --dr-binlog that cannot be found or read, or is no (readable) binlog: the same
 * error, saying it was given as the DR's binlog (a run names the primary's files too, often under
 * the same names).
 */
function asDrBinlogError(e: unknown): unknown {
  if (!(e instanceof EngineError) || e.details.option !== undefined) return e;
  if (!(e instanceof BinlogError) && !(e instanceof SourceError)) return e;
  const message = `${e.message} (given as --dr-binlog)`;
  const details = { ...e.details, option: '--dr-binlog' };
  return e instanceof BinlogError ? new BinlogError(e.code, message, details, e) : new SourceError(e.code, message, details, { cause: e });
}

/** Feeds every transaction; checks each file as it ends; returns where the read ended. */
async function consume(batches: AsyncIterable<ReadBatch>, feed: DrHistoryFeed, options: ReadDrHistoryOptions): Promise<{ file: string; position: number } | null> {
  const folder = new BatchFolder(feed, options);
  for await (const batch of batches) folder.fold(batch);
  folder.endOfRead();
  return folder.last;
}

/**
 * Folds read batches into the history and checks each file as it ends (a file none of whose
 * transactions is the DR's is refused). State across batches, so that a followed DR's reads,
 * one per catch-up, go on where the last one stopped.
 */
class BatchFolder {
  readonly #feed: DrHistoryFeed;
  readonly #own: ReadDrHistoryOptions['own'];
  #current: FileSeen | null = null;
  // GTID_LIST / PREVIOUS_GTIDS open a file: those of the first file read tell what the DR wrote before it.
  #firstFile: string | null = null;
  /** Where the read stands (the last batch's file and position), or null before the first batch. */
  last: { file: string; position: number } | null = null;
  /** The end of the last transaction folded: where a read resumes without folding one twice. */
  resume: BinlogPosition | null = null;

  constructor(feed: DrHistoryFeed, options: ReadDrHistoryOptions) {
    this.#feed = feed;
    this.#own = options.own;
  }

  #seen(file: string): FileSeen {
    const name = basename(file);
    if (this.#current?.name !== name) {
      if (this.#current !== null) refuseNotTheDr(this.#current, this.#own);
      this.#current = { name, fdeServerId: null, transactions: 0, own: 0, serverIds: new Set(), gtids: [] };
    }
    return this.#current;
  }

  fold(batch: ReadBatch): void {
    const feed = this.#feed;
    // Names that do not show the sequence (copies renamed): the ROTATE a file ends with does.
    for (const w of batch.warnings) {
      if (w.code === 'ROTATE_MISMATCH') throw new DrHistorySourceError(DrHistorySourceErrorCode.Gap, `${w.message}; give the DR's binlogs oldest first, none left out (or its .index file) as --dr-binlog`, { file: batch.file, option: '--dr-binlog' });
    }
    for (const e of batch.events) {
      if (e.kind === 'format-description' && e.header.offset === 4) {
        // The live stream names files by ROTATE before their FDE: the batch's file is the one the FDE opens.
        this.#seen(batch.file).fdeServerId = e.header.serverId;
      }
      // Each file opens with one binlog-state event: the first one of the stream is the first
      // file's (a live batch may span a rotation, so the batch's file name cannot tell).
      if (this.#firstFile === null && (e.kind === 'gtid-list' || e.kind === 'previous-gtids')) {
        this.#firstFile = basename(batch.file);
        const earlier = earlierOwnWrites(e, this.#own);
        if (earlier !== null) feed.noteEarlierOwnWrites(this.#firstFile, earlier);
      }
    }
    for (const item of batch.items) {
      if (item.kind !== 'transaction') continue;
      const tx = item.tx;
      const f = this.#seen(tx.file);
      f.transactions++;
      if (feed.isOwn(tx)) f.own++;
      f.serverIds.add(tx.serverId);
      if (tx.gtid !== null && f.gtids.length < 3) f.gtids.push(gtidText(tx.gtid));
      feed.add(tx);
      this.resume = { file: tx.file, position: tx.end };
    }
    this.last = { file: batch.file, position: batch.position };
    feed.noteRead(batch.file, batch.position);
  }

  /** The read stopped: the file it stopped in is checked as one that ended. */
  endOfRead(): void {
    if (this.#current !== null) refuseNotTheDr(this.#current, this.#own);
  }
}

/** Whether a read that stands at `at` has passed `end` (a transaction boundary: SHOW MASTER STATUS). */
function reached(at: { readonly file: string; readonly position: number } | null, end: BinlogPosition): boolean {
  if (at === null) return false;
  const c = compareBinlogNames(basename(at.file), end.file);
  return c > 0 || (c === 0 && at.position >= end.position);
}

/** Errors a new connection cannot cure: what the DR's binlog holds, a refused account, a stop asked for. */
function isFinal(e: unknown): boolean {
  if (e instanceof BinlogError || e instanceof DrHistorySourceError) return true;
  if (e instanceof LiveSourceError) return !e.retryable;
  // ER_DBACCESS_DENIED_ERROR, ER_ACCESS_DENIED_ERROR, ER_SPECIFIC_ACCESS_DENIED_ERROR.
  const errno = e instanceof EngineError ? e.details.errno : undefined;
  return typeof errno === 'number' && [1044, 1045, 1227].includes(errno);
}

/**
 * The history of a DR that keeps writing while `apply --follow` runs: one binlog dump kept open
 * from the first read on, and pulled from only in catchUp(), before a window is decided — so
 * nothing is folded while a window's decisions read the history, and a dump not pulled from holds
 * at most its queue (it pauses the socket past that). When the DR wrote nothing since the last
 * catch-up, a catch-up is one SHOW MASTER STATUS. Each one refolds the counts (a new finish());
 * the entries are the builder's own, so they grow in place.
 */
class FollowedDrHistory implements DrHistory {
  readonly #feed: DrHistoryFeed;
  readonly #options: ReadDrHistoryOptions;
  readonly #live: NonNullable<ReadDrHistoryOptions['live']>;
  readonly #openControl: () => Promise<OwnedControlSession>;
  readonly #folder: BatchFolder;
  readonly #label: string;
  #inner: DrHistory;
  #stream: AsyncGenerator<ReadBatch> | null;
  #control: OwnedControlSession | null = null;

  private constructor(feed: DrHistoryFeed, options: ReadDrHistoryOptions, live: NonNullable<ReadDrHistoryOptions['live']>, follow: NonNullable<NonNullable<ReadDrHistoryOptions['live']>['follow']>, inner: DrHistory, folder: BatchFolder, stream: AsyncGenerator<ReadBatch>) {
    this.#feed = feed;
    this.#options = options;
    this.#live = live;
    this.#openControl = follow.openControl;
    this.#folder = folder;
    this.#label = live.target.redacted;
    this.#inner = inner;
    this.#stream = stream;
  }

  /** The first read: from the start to the DR's end now, as a read once does, the dump then left open. */
  static async open(feed: DrHistoryFeed, options: ReadDrHistoryOptions, live: NonNullable<ReadDrHistoryOptions['live']>, follow: NonNullable<NonNullable<ReadDrHistoryOptions['live']>['follow']>): Promise<FollowedDrHistory> {
    const folder = new BatchFolder(feed, options);
    // The run's signal stops the first read only: a stop asked for while a window is applied lets
    // that window commit, so its catch-ups must not fail with it (close() ends the dump).
    const first = new AbortController();
    const stop = (): void => first.abort(options.signal?.reason);
    if (options.signal?.aborted === true) stop();
    options.signal?.addEventListener('abort', stop, { once: true });
    const stream = FollowedDrHistory.#dump(options, live, live.control, live.start, first.signal);
    try {
      await FollowedDrHistory.#pull(stream, folder, await serverEnd(live.control, live.target.redacted));
    } catch (e) {
      await stream.return(undefined);
      throw e;
    } finally {
      options.signal?.removeEventListener('abort', stop);
    }
    return new FollowedDrHistory(feed, options, live, follow, feed.finish({ complete: true }), folder, stream);
  }

  static #dump(options: ReadDrHistoryOptions, live: NonNullable<ReadDrHistoryOptions['live']>, control: ControlSession, start: { readonly file?: string; readonly position?: number } | undefined, signal?: AbortSignal): AsyncGenerator<ReadBatch> {
    return readLiveTransactions(live.target, {
      control,
      start,
      follow: true,
      serverId: live.serverId,
      connectTimeoutMs: live.connectTimeoutMs,
      tls: live.tls ?? null,
      annotations: false,
      keepEvents: true,
      schemaHints: options.schemaHints,
      signal,
    });
  }

  /** Folds batches until the read has passed `end`; the file it stands in is checked as one that ended. */
  static async #pull(stream: AsyncGenerator<ReadBatch>, folder: BatchFolder, end: BinlogPosition): Promise<void> {
    while (!reached(folder.last, end)) {
      const next = await stream.next();
      // A followed dump never ends by itself (readLiveTransactions throws first): defensive.
      if (next.done === true) throw new LiveSourceError(LiveSourceErrorCode.ConnectionLost, `the DR's binlog dump ended before ${end.file}:${end.position}`, { file: end.file, offset: end.position }, { retryable: true });
      folder.fold(next.value);
    }
    folder.endOfRead();
  }

  get failover(): DrHistory['failover'] {
    return this.#inner.failover;
  }

  get transactions(): number {
    return this.#inner.transactions;
  }

  get tables(): DrHistory['tables'] {
    return this.#inner.tables;
  }

  get complete(): boolean {
    return this.#inner.complete;
  }

  get untracked(): DrHistory['untracked'] {
    return this.#inner.untracked;
  }

  async catchUp(): Promise<void> {
    try {
      this.#control ??= await this.#openControl();
      const end = await serverEnd(this.#control, this.#label);
      if (reached(this.#folder.last, end)) return;
      if (this.#stream === null) {
        // Reopened after a loss: from the end of the last transaction folded (or where the first read began).
        const from = this.#folder.resume;
        this.#folder.last = from;
        this.#stream = FollowedDrHistory.#dump(this.#options, this.#live, this.#control, from === null ? this.#live.start : { file: basename(from.file), position: from.position });
      }
      this.#feed.reopen();
      await FollowedDrHistory.#pull(this.#stream, this.#folder, end);
      this.#inner = this.#feed.finish({ complete: true });
    } catch (e) {
      await this.#drop();
      if (isFinal(e)) throw e;
      const at = this.#folder.resume;
      throw new DrHistoryFollowError(
        DrHistoryFollowErrorCode.Lost,
        `cannot bring the DR's history up to date from ${this.#label}${at === null ? '' : ` (read to ${basename(at.file)}:${at.position})`}: ${(e as Error).message}; the window waits for it (a record the DR created since would be taken for one it had at the failover)`,
        { source: this.#label, ...(at === null ? {} : { file: basename(at.file), offset: at.position }) },
        { retryable: true, cause: e },
      );
    }
  }

  /** Ends the dump and the control session (the next catch-up opens new ones). */
  async #drop(): Promise<void> {
    const stream = this.#stream;
    const control = this.#control;
    this.#stream = null;
    this.#control = null;
    await stream?.return(undefined).catch(() => undefined);
    await control?.end().catch(() => undefined);
  }

  prepare(keys: ReadonlyMap<string, ReadonlySet<string>>, uniques?: ReadonlyMap<string, ReadonlyMap<string, ReadonlySet<string>>>): Promise<void> {
    return this.#inner.prepare(keys, uniques);
  }

  row(table: string, pk: string): ReturnType<DrHistory['row']> {
    return this.#inner.row(table, pk);
  }

  uniqueInserted(table: string, uniqueKey: string, folded: string): ReturnType<DrHistory['uniqueInserted']> {
    return this.#inner.uniqueInserted(table, uniqueKey, folded);
  }

  async close(): Promise<void> {
    await this.#drop();
    // The spill's too: every finish() hands the builder's one spill on.
    await this.#inner.close();
  }
}

/** The DR's own GTIDs in the binlog state a file starts with (MariaDB GTID_LIST, MySQL PREVIOUS_GTIDS), or null. */
function earlierOwnWrites(e: BinlogEvent, own: ReadDrHistoryOptions['own']): string | null {
  if (e.kind === 'gtid-list') {
    const mine = e.gtids.filter((g) => g.serverId === own.serverId).map((g) => `${g.domainId}-${g.serverId}-${g.seqNo}`);
    return mine.length > 0 ? mine.join(',') : null;
  }
  if (e.kind === 'previous-gtids' && own.serverUuid !== null) {
    const uuid = own.serverUuid.toLowerCase();
    const mine = e.sets.filter((s) => s.uuid.toLowerCase() === uuid && s.intervals.length > 0);
    return mine.length > 0 ? mine.map((s) => `${s.uuid}${s.tag === null ? '' : `:${s.tag}`}:${s.intervals.map((i) => `${i.start}-${i.end - 1n}`).join(':')}`).join(',') : null;
  }
  return null;
}

/**
 * Refuses DR binlogs given twice, out of order, or with one missing between two (by name, when
 * every name is `base.NNNNNN` of one base). The history folds each key's changes in the order
 * read: a key the DR deleted and re-inserted, read the other way round, or with the delete in a
 * file left out, would look like the record the primary knew, and a lost change would be merged
 * into the DR's own record. A file missing before the first given is a different case (the DR
 * wrote before it: the history is incomplete and says so).
 */
async function refuseBadSequence(files: readonly BinlogFile[]): Promise<void> {
  const fault = await fileSeriesFault(files);
  if (fault === null) return;
  const details = { file: fault.file, option: '--dr-binlog' };
  switch (fault.kind) {
    case 'twice':
      throw new DrHistorySourceError(DrHistorySourceErrorCode.FileTwice, `${fault.file} is given twice as --dr-binlog${fault.earlier === fault.file ? '' : ` (as ${fault.earlier} too)`}: give each of the DR's binlogs once, oldest first (or its .index file)`, details);
    case 'out-of-order':
      throw new DrHistorySourceError(
        DrHistorySourceErrorCode.OutOfOrder,
        `${basename(fault.file)} is given after ${basename(fault.previous)} as --dr-binlog: the DR's binlogs are read in the order given, oldest first (or give its .index file), so the DR's changes to a key would be taken in the wrong order`,
        details,
      );
    case 'gap':
      throw new DrHistorySourceError(
        DrHistorySourceErrorCode.Gap,
        `${fault.missing} missing between ${basename(fault.previous)} and ${basename(fault.file)} given as --dr-binlog: what the DR did in between would be unknown while its later changes to the same keys are read as all it did. Give every DR binlog from the first one needed to the last (or its .index file); if one is gone, run without --dr-binlog (records are then told apart by their values)`,
        details,
      );
  }
}

/** A relay log's own FORMAT_DESCRIPTION carries LOG_EVENT_RELAY_LOG_F (MariaDB and MySQL log.cc / binlog.cc). */
async function refuseRelayLog(path: string): Promise<void> {
  const head = Buffer.alloc(BINLOG_MAGIC.length + HEADER_LENGTH);
  const handle = await open(path, 'r');
  let n: number;
  try {
    ({ bytesRead: n } = await handle.read(head, 0, head.length, 0));
  } finally {
    await handle.close();
  }
  // Not a binlog at all: the reader reports that with its own error.
  if (n < head.length || !head.subarray(0, 4).equals(BINLOG_MAGIC)) return;
  const typeCode = head[4 + 4]!;
  const flags = head.readUInt16LE(4 + 17);
  if (typeCode === EventType.FORMAT_DESCRIPTION && (flags & LOG_EVENT_RELAY_LOG_F) !== 0) {
    throw new DrHistorySourceError(
      DrHistorySourceErrorCode.RelayLog,
      `${path} is a relay log (its format description is flagged as one): it holds what the DR received, not what it wrote; give the DR's own binlog (log_bin) as --dr-binlog`,
      { file: path, option: '--dr-binlog' },
    );
  }
}

function refuseNotTheDr(f: FileSeen, own: ReadDrHistoryOptions['own']): void {
  if (f.transactions === 0 || f.own > 0 || f.fdeServerId === own.serverId) return;
  const ids = [...new Set([...(f.fdeServerId === null ? [] : [f.fdeServerId]), ...f.serverIds])].sort((a, b) => a - b).map(String);
  const gtids = f.gtids.length > 0 ? ` (GTIDs ${f.gtids.join(', ')}${f.transactions > f.gtids.length ? ', …' : ''})` : '';
  throw new DrHistorySourceError(
    DrHistorySourceErrorCode.NotTheDr,
    `${f.name} was not written by the DR: its format description and its ${f.transactions} transactions${gtids} carry server id(s) ${ids.join(', ')}, the DR's is ${own.serverId}${own.serverUuid === null ? '' : ` (server_uuid ${own.serverUuid})`}: was the primary's binlog given as --dr-binlog?`,
    { file: f.name, serverIds: ids, option: '--dr-binlog' },
  );
}

/**
 * `--failover-at GTID|FILE:POS|TIME`: a MariaDB (`0-1-12`) or MySQL (`uuid[:tag]:gno`) GTID, a
 * binlog position, or a UTC time `YYYY-MM-DD HH:MM[:SS]`. A bare date is refused as ambiguous with
 * a MariaDB GTID.
 */
export function parseFailoverAt(text: string): FailoverAt {
  const t = text.trim();
  const bad = (why: string): never => {
    throw new EngineError('BAD_OPTION', `--failover-at: ${why}, got "${text}"`, { option: '--failover-at', value: text });
  };
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) bad('a date alone is ambiguous (it reads as a MariaDB GTID too): give a time as "YYYY-MM-DD HH:MM:SS" (UTC), or write a GTID without leading zeros');
  const time = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?Z?$/.exec(t);
  if (time) {
    // As pipeline/transaction-filter.ts parseUtcDateTime reads --since (src/source may not import pipeline).
    const [y, mo, d, h, mi, s] = time.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number, number, number];
    const ms = Date.UTC(y, mo - 1, d, h, mi, s);
    const check = new Date(ms);
    if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) bad('not a valid date and time');
    return { kind: 'time', seconds: ms / 1000 };
  }
  if (/^\d{4}-\d{2}-\d{2}[ T]/.test(t)) bad('expected a UTC time as "YYYY-MM-DD HH:MM:SS"');
  const mariadb = /^(\d+)-(\d+)-(\d+)$/.exec(t);
  if (mariadb) {
    const [domain, server, seq] = [BigInt(mariadb[1]!), BigInt(mariadb[2]!), BigInt(mariadb[3]!)];
    if (domain > 0xffffffffn || server > 0xffffffffn || seq > 0xffffffffffffffffn) bad('a MariaDB GTID is DOMAIN-SERVER-SEQ with 32-bit domain and server ids and a 64-bit sequence number');
    return { kind: 'gtid', gtid: `${domain}-${server}-${seq}` };
  }
  const mysql = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?::([a-z_][a-z0-9_]{0,31}))?:(\d+)$/i.exec(t);
  if (mysql) {
    // gno is a signed 64-bit number (MySQL rpl_gno.h): beyond it no server writes the GTID, and the point would never be found.
    const gno = BigInt(mysql[3]!);
    if (gno < 1n || gno > 2n ** 63n - 1n) bad(`a MySQL GTID's transaction number is 1 to ${2n ** 63n - 1n}`);
    return { kind: 'gtid', gtid: `${mysql[1]!.toLowerCase()}${mysql[2] === undefined ? '' : `:${mysql[2].toLowerCase()}`}:${gno}` };
  }
  const position = /^(.+):(\d+)$/.exec(t);
  if (position) {
    const pos = Number(position[2]);
    if (!Number.isSafeInteger(pos) || pos < 4) bad('a binlog position is at least 4');
    return { kind: 'position', file: basename(position[1]!), pos };
  }
  return bad('expected a GTID (0-1-12, or uuid:n), a binlog position FILE:POS (dr-bin.000001:6125) or a UTC time "YYYY-MM-DD HH:MM:SS"');
}

/** Bytes buffered per partition before they are appended to its file (256 partitions: at most 4 MiB pending). */
const FLUSH_BYTES = 16 * 1024;

/**
 * The spill as temporary files, one per partition, in a directory made on first use under the
 * system's temporary folder and removed by close(). Appends are buffered and written
 * synchronously, because the history is built synchronously.
 */
export class TempFileSpill implements HistorySpill {
  readonly #parent: string;
  #dir: string | null = null;
  readonly #pending = new Map<number, { lines: string[]; bytes: number }>();

  constructor(parent: string) {
    this.#parent = parent;
  }

  /** The directory holding the partitions, once something was spilled. */
  get directory(): string | null {
    return this.#dir;
  }

  append(partition: number, line: string): void {
    let p = this.#pending.get(partition);
    if (p === undefined) this.#pending.set(partition, (p = { lines: [], bytes: 0 }));
    p.lines.push(line);
    p.bytes += line.length + 1;
    if (p.bytes >= FLUSH_BYTES) this.#flush(partition);
  }

  #path(partition: number): string {
    this.#dir ??= mkdtempSync(join(this.#parent, 'salvage-dr-history-'));
    return join(this.#dir, `p${partition}.jsonl`);
  }

  #flush(partition: number): void {
    const p = this.#pending.get(partition);
    if (p === undefined || p.lines.length === 0) return;
    appendFileSync(this.#path(partition), p.lines.join('\n') + '\n');
    this.#pending.delete(partition);
  }

  async read(partition: number): Promise<string[]> {
    this.#flush(partition);
    if (this.#dir === null) return [];
    let text: string;
    try {
      text = await readFile(join(this.#dir, `p${partition}.jsonl`), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const lines = text.split('\n');
    lines.pop();
    return lines;
  }

  async close(): Promise<void> {
    this.#pending.clear();
    if (this.#dir !== null) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = null;
  }
}
