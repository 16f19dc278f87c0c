/**
 * Is this the input the user meant? Binlog files given to plan and apply are read in the order
 * given, so a missing file, a file out of order or given twice, a cut copy or a relay log would
 * otherwise pass as a short history: later transactions applied without the ones in between.
 * These checks refuse such input before anything is written:
 *
 * - by name: a server numbers its files `base.000001`, `base.000002`, …;
 * - by content, which holds whatever the files are called: each file opens with the GTID state
 *   the server had when it started writing it (MariaDB GTID_LIST, MySQL PREVIOUS_GTIDS), which
 *   must be where the files before it end; and no transaction may be committed twice;
 * - a relay log (its format description carries LOG_EVENT_RELAY_LOG_F) holds what a replica
 *   received, not what a primary wrote: refused unless asked for.
 *
 * The servers the files' GTIDs come from (`origins`) are collected for the pipeline, which
 * compares them with the DR's replication state.
 */
import { open, realpath } from 'node:fs/promises';
import { basename } from 'node:path';
import type { BinlogEvent, GtidListEvent, PreviousGtidsEvent } from '../binlog/event.js';
import { BinlogDecoder, type IncompleteTail } from '../binlog/decoder.js';
import { LOG_EVENT_RELAY_LOG_F } from '../binlog/header.js';
import { gtidText, type Gtid } from '../binlog/transaction.js';
import { EngineError, type ErrorDetails } from '../errors.js';
import type { BinlogFile } from './binlog-files.js';
import type { ReadBatch } from './read-transactions.js';
import { readHead } from './split-points.js';

/** Stable codes of input refused as not what the user meant (exit 2). */
export const InputErrorCode = {
  /** The same file (by path, or by name) is given twice. */
  FileTwice: 'INPUT_FILE_TWICE',
  /** Transactions between two files given are in none of them: a file is missing, or one was cut short. */
  Gap: 'INPUT_SEQUENCE_GAP',
  /** Lost transactions lie before the first file given: a leading file is missing (lost-transactions.ts lostBeforeInput). */
  LeadingGap: 'INPUT_LEADING_GAP',
  /** `--from FILE:POS` names a file before the first file given, or after the last (salvage.ts refuseFromOutsideInput). */
  FromOutside: 'INPUT_FROM_OUTSIDE',
  /** `--stop-before GTID` names no transaction of the input read (pipeline/stop-before.ts). */
  StopNotFound: 'INPUT_STOP_NOT_FOUND',
  /** `--stop-before FILE:POS`: a file not given, past its end, or no transaction starts there. */
  StopOutside: 'INPUT_STOP_OUTSIDE',
  /** `--stop-before`: the files are damaged before the transaction it names (or before it was met). */
  StopPastDamage: 'INPUT_STOP_PAST_DAMAGE',
  /** A file starts before the files given ahead of it end. */
  OutOfOrder: 'INPUT_SEQUENCE_ORDER',
  /** A transaction is committed twice in the input: a file given twice under two names. */
  Repeated: 'INPUT_REPEATED_TRANSACTION',
  /** A relay log, without `allowRelayLog`. */
  RelayLog: 'INPUT_RELAY_LOG',
  /** The binlogs' GTIDs come from servers the DR never replicated from (pipeline/input-origin.ts). */
  OtherServer: 'INPUT_OTHER_SERVER',
} as const;
export type InputErrorCode = (typeof InputErrorCode)[keyof typeof InputErrorCode];

/** Input refused before anything is written: the user must give other files or an option. Never retryable. */
export class InputError extends EngineError {
  declare readonly code: InputErrorCode;
  constructor(code: InputErrorCode, message: string, details: ErrorDetails = {}) {
    super(code, message, details, { retryable: false });
  }
}

/** What is wrong with the order of a series of binlog files (fileSeriesFault). */
export type FileSeriesFault =
  | { readonly kind: 'twice'; readonly file: string; readonly earlier: string }
  | { readonly kind: 'out-of-order'; readonly file: string; readonly previous: string }
  /** `missing`: the one file's name when one is missing, else how many. */
  | { readonly kind: 'gap'; readonly file: string; readonly previous: string; readonly missing: string };

/**
 * A file given twice (the same path, or the same name), and, when every name is `base.NNNNNN` of
 * one base, a number out of order or missing; null when none. Names of several bases or without
 * numbers are left to the content checks. Shared by the primary's files and the DR's (--dr-binlog),
 * which refuse each fault with their own error and advice.
 */
export async function fileSeriesFault(files: readonly BinlogFile[]): Promise<FileSeriesFault | null> {
  const byPath = new Map<string, string>();
  const byName = new Map<string, string>();
  for (const f of files) {
    const real = await realpath(f.path).catch(() => f.path);
    const name = basename(f.path);
    const earlier = byPath.get(real) ?? byName.get(name);
    if (earlier !== undefined) return { kind: 'twice', file: f.path, earlier };
    byPath.set(real, f.path);
    byName.set(name, f.path);
  }
  const numbered = files.map((f) => ({ path: f.path, m: /^(.*)\.(\d+)$/.exec(basename(f.path)) }));
  if (numbered.some((n) => n.m === null) || new Set(numbered.map((n) => n.m![1])).size !== 1) return null;
  for (let i = 1; i < numbered.length; i++) {
    const prev = numbered[i - 1]!;
    const cur = numbered[i]!;
    const a = BigInt(prev.m![2]!);
    const b = BigInt(cur.m![2]!);
    if (b < a) return { kind: 'out-of-order', file: cur.path, previous: prev.path };
    if (b > a + 1n) {
      const missing = b - a === 2n ? `${prev.m![1]}.${String(a + 1n).padStart(prev.m![2]!.length, '0')} is` : `${b - a - 1n} files are`;
      return { kind: 'gap', file: cur.path, previous: prev.path, missing };
    }
  }
  return null;
}

/** Refuses the primary's files given twice, out of order or with one missing between two (fileSeriesFault). */
export async function checkFileNames(files: readonly BinlogFile[]): Promise<void> {
  const fault = await fileSeriesFault(files);
  if (fault === null) return;
  switch (fault.kind) {
    case 'twice':
      throw new InputError(InputErrorCode.FileTwice, `${fault.file} is given twice (${fault.earlier === fault.file ? 'the same path' : `as ${fault.earlier} too`}): each binlog file once, oldest first`, { file: fault.file });
    case 'out-of-order':
      throw new InputError(InputErrorCode.OutOfOrder, `${basename(fault.file)} is given after ${basename(fault.previous)}: binlog files are read in the order given, oldest first (or give the .index file)`, { file: fault.file });
    case 'gap':
      throw new InputError(
        InputErrorCode.Gap,
        `${fault.missing} missing between ${basename(fault.previous)} and ${basename(fault.file)}: the transactions in between would be skipped while later ones are applied. Give every file from the first one needed to the last; if a file is gone for good, salvage the files before the gap, then the ones after it with an explicit start, and record the gap`,
        { file: fault.file },
      );
  }
}

/**
 * Whether a crash-like tail (a partial event at the end of a file) is rather an event whose size
 * was damaged: a server writes each event's header with the offset where it ends (log_pos), so a
 * size that grew past the end of the file disagrees with it. Returns that end position when it
 * disagrees, else null. Reads the tail's header from the file.
 */
export async function tailSizeDisagrees(path: string, tail: IncompleteTail): Promise<number | null> {
  if (tail.claimedSize === null) return null;
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(19);
    const { bytesRead } = await handle.read(header, 0, 19, tail.offset);
    if (bytesRead < 19) return null;
    const nextPosition = header.readUInt32LE(13);
    // 0: an artificial event (relay logs), which says nothing.
    // log_pos is 32 bits: past 4 GiB it holds the offset modulo 2^32.
    return nextPosition !== 0 && nextPosition !== (tail.offset + tail.claimedSize) % 2 ** 32 ? nextPosition : null;
  } finally {
    await handle.close();
  }
}

/** ROTATE_EVENT (0x04) and STOP_EVENT (0x03): the last event of a file the server closed. */
const CLOSING_EVENTS: ReadonlySet<number> = new Set([0x04, 0x03]);

/**
 * Whether the file ends with the event a server closes a binlog with: a ROTATE to the next file,
 * or a STOP at shutdown, whose header says it ends at the file's end (size and log_pos). A file
 * whose format description is not marked in use was closed by its server, so without one the copy
 * is short. Reads the file's last 600 bytes (a ROTATE holds a name of at most 512).
 */
export async function endsWithClosingEvent(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const from = Math.max(4, size - 600);
    const buf = Buffer.alloc(size - from);
    const { bytesRead } = await handle.read(buf, 0, buf.length, from);
    for (let o = bytesRead - 19; o >= 0; o--) {
      // log_pos is 32 bits: past 4 GiB it holds the offset modulo 2^32.
      if (CLOSING_EVENTS.has(buf[o + 4]!) && buf.readUInt32LE(o + 9) === bytesRead - o && buf.readUInt32LE(o + 13) === size % 2 ** 32) return true;
    }
    return false;
  } finally {
    await handle.close();
  }
}

/** Which servers wrote the GTIDs read: MariaDB `domain-server` pairs, MySQL server uuids. */
export interface InputOrigins {
  readonly mariadb: ReadonlySet<string>;
  readonly mysql: ReadonlySet<string>;
}

export interface InputGuardOptions {
  /** Read relay logs as if they were binlogs (their content checks are left out). */
  readonly allowRelayLog?: boolean;
}

/** Inclusive ranges per key: a GTID set small enough to hold every GTID of the input. */
class Ranges {
  readonly #map = new Map<string, { first: bigint; last: bigint }[]>();

  add(key: string, first: bigint, last: bigint): void {
    const list = this.#map.get(key) ?? [];
    // GTIDs mostly arrive in order: extend the last range when it touches.
    const tail = list[list.length - 1];
    if (tail !== undefined && first >= tail.first && first <= tail.last + 1n) {
      if (last > tail.last) tail.last = last;
    } else {
      list.push({ first, last });
      list.sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : 0));
      const merged: { first: bigint; last: bigint }[] = [];
      for (const r of list) {
        const prev = merged[merged.length - 1];
        if (prev !== undefined && r.first <= prev.last + 1n) prev.last = r.last > prev.last ? r.last : prev.last;
        else merged.push({ ...r });
      }
      list.splice(0, list.length, ...merged);
    }
    this.#map.set(key, list);
  }

  covers(key: string, first: bigint, last: bigint): boolean {
    return (this.#map.get(key) ?? []).some((r) => r.first <= first && last <= r.last);
  }

  /** The first range of `this` that `other` does not cover, as `key:first-last`, or null. */
  notIn(other: Ranges): string | null {
    for (const [key, list] of this.#map) for (const r of list) if (!other.covers(key, r.first, r.last)) return `${key}:${r.first}-${r.last}`;
    return null;
  }

  clone(): Ranges {
    const c = new Ranges();
    for (const [key, list] of this.#map) c.#map.set(key, list.map((r) => ({ ...r })));
    return c;
  }
}

/** One file as the guard met it. */
interface FileSeen {
  readonly path: string;
  relay: boolean | null;
  /** Its opening GTID state was compared (or taken as the start). */
  opened: boolean;
}

/**
 * Watches a stream of batches read from files (with `keepEvents`) and throws an InputError at
 * the first sign that the files are not one server's unbroken sequence.
 */
/** What the primary had written before the first file given (InputGuard.opening). */
export interface InputOpening {
  readonly file: string;
  readonly offset: number;
  readonly gtids: readonly Gtid[];
}

/**
 * What a file's GTID list (MariaDB) or previous-GTIDs (MySQL) event says was written before it:
 * MariaDB's entries as listed, MySQL's each interval as its last GTID.
 */
export function openingGtids(e: GtidListEvent | PreviousGtidsEvent): Gtid[] {
  if (e.kind === 'gtid-list') return e.gtids.map((g) => ({ flavor: 'mariadb', domainId: g.domainId, serverId: g.serverId, seqNo: g.seqNo }));
  return e.sets.flatMap((set) => set.intervals.filter((i) => i.end > i.start).map((i): Gtid => ({ flavor: 'mysql', uuid: set.uuid, tag: set.tag, gno: i.end - 1n })));
}

export class InputGuard {
  readonly #allowRelay: boolean;
  #file: FileSeen | null = null;
  #previous: FileSeen | null = null;
  /** MariaDB: last seq_no per `domain-server`, over committed transactions, and over every GTID event. */
  readonly #committed = new Map<string, bigint>();
  readonly #begun = new Map<string, bigint>();
  /** MySQL: the same, as ranges per uuid[:tag]. */
  #mysqlCommitted = new Ranges();
  #mysqlBegun = new Ranges();
  /** The first file's opening GTID state was read: later files are compared with it. */
  #started = false;
  #openingState: InputOpening | null = null;
  /** Every committed GTID, for the repeated-transaction check. */
  readonly #seen = new Ranges();
  readonly #origins = { mariadb: new Set<string>(), mysql: new Set<string>() };
  readonly #relays = new Set<string>();

  constructor(options: InputGuardOptions = {}) {
    this.#allowRelay = options.allowRelayLog === true;
  }

  /** Whether the file at `path` (read so far) is a relay log: its headers' end positions are its source's, not offsets in it. */
  isRelayLog(path: string): boolean {
    return this.#relays.has(path);
  }

  /**
   * The first file's opening GTID state (MariaDB GTID list; MySQL previous GTIDs, each interval as its
   * last GTID), with the file: what the primary had written before the input begins.
   */
  get opening(): InputOpening | null {
    return this.#openingState;
  }

  /** The servers the GTIDs read so far come from. */
  get origins(): InputOrigins {
    return this.#origins;
  }

  /** Passes the batches through, checking each. */
  async *watch(batches: AsyncIterable<ReadBatch>): AsyncGenerator<ReadBatch> {
    for await (const batch of batches) {
      this.check(batch);
      yield batch;
    }
  }

  /** Checks one batch: its events first (the opening GTID state of a new file), then its transactions. */
  check(batch: ReadBatch): void {
    if (this.#file === null || this.#file.path !== batch.file) {
      this.#previous = this.#file;
      this.#file = { path: batch.file, relay: null, opened: false };
    }
    const file = this.#file;
    for (const e of batch.events) this.#event(file, e);
    for (const item of batch.items) {
      if (item.kind !== 'transaction' || item.tx.gtid === null) continue;
      const g = item.tx.gtid;
      const [key, n] = rangeKey(g);
      if (this.#seen.covers(key, n, n)) {
        throw new InputError(
          InputErrorCode.Repeated,
          `transaction ${gtidText(g)} at ${item.tx.file}:${item.tx.pos} was already read from an earlier file: the same binlog is given twice (perhaps under two names); give each file once`,
          { file: item.tx.file, offset: item.tx.pos, gtid: gtidText(g) },
        );
      }
      this.#seen.add(key, n, n);
      if (g.flavor === 'mariadb') raise(this.#committed, `${g.domainId}-${g.serverId}`, g.seqNo);
      else this.#mysqlCommitted.add(key, n, n);
    }
  }

  #event(file: FileSeen, e: BinlogEvent): void {
    switch (e.kind) {
      case 'format-description':
        if (file.relay !== null) return;
        file.relay = (e.header.flags & LOG_EVENT_RELAY_LOG_F) !== 0;
        if (file.relay) this.#relays.add(file.path);
        if (file.relay && !this.#allowRelay) {
          throw new InputError(
            InputErrorCode.RelayLog,
            `${file.path} is a relay log (its format description carries the relay-log flag): it holds what a replica received from its source, not what the failed primary wrote. If it is what you mean to salvage from (the primary's disk is lost and this replica received more than the DR), pass --allow-relay-log`,
            { file: file.path, offset: e.header.offset },
          );
        }
        return;
      case 'mariadb-gtid':
        this.#origins.mariadb.add(`${e.gtid.domainId}-${e.gtid.serverId}`);
        raise(this.#begun, `${e.gtid.domainId}-${e.gtid.serverId}`, e.gtid.seqNo);
        return;
      case 'gtid':
        if (e.anonymous) return;
        this.#origins.mysql.add(e.uuid);
        this.#mysqlBegun.add(e.tag === null ? e.uuid : `${e.uuid}:${e.tag}`, e.gno, e.gno);
        return;
      case 'gtid-list':
        for (const g of e.gtids) this.#origins.mariadb.add(`${g.domainId}-${g.serverId}`);
        this.#opening(file, () => this.#mariadbOpening(file, e.header.offset, e.gtids, e));
        return;
      case 'previous-gtids': {
        const set = new Ranges();
        for (const s of e.sets) {
          this.#origins.mysql.add(s.uuid);
          for (const i of s.intervals) if (i.end > i.start) set.add(s.tag === null ? s.uuid : `${s.uuid}:${s.tag}`, i.start, i.end - 1n);
        }
        this.#opening(file, () => this.#mysqlOpening(file, e.header.offset, set, e));
        return;
      }
      default:
        return;
    }
  }

  /** A file's opening GTID state: the start of the input, or compared with where the files before it end. */
  #opening(file: FileSeen, compare: () => void): void {
    if (file.opened) return;
    file.opened = true;
    // Relay logs carry their source's lists, which say nothing about the relay files' order.
    if (file.relay === true || this.#previous?.relay === true) return;
    compare();
  }

  #mariadbOpening(file: FileSeen, offset: number, list: readonly { domainId: number; serverId: number; seqNo: bigint }[], event: GtidListEvent): void {
    if (!this.#started) {
      this.#started = true;
      this.#openingState = { file: file.path, offset, gtids: openingGtids(event) };
      for (const g of list) {
        raise(this.#committed, `${g.domainId}-${g.serverId}`, g.seqNo);
        raise(this.#begun, `${g.domainId}-${g.serverId}`, g.seqNo);
      }
      return;
    }
    const prev = this.#previous?.path ?? '(the file before it)';
    for (const g of list) {
      const pair = `${g.domainId}-${g.serverId}`;
      const begun = this.#begun.get(pair);
      const committed = this.#committed.get(pair);
      const at = `${pair}-${g.seqNo}`;
      if (begun === undefined || begun < g.seqNo) {
        const from = begun === undefined ? `${pair}-1` : `${pair}-${begun + 1n}`;
        throw new InputError(
          InputErrorCode.Gap,
          `${basename(file.path)} opens after ${at} (its GTID list), but the files before it end ${begun === undefined ? `with nothing of ${pair}` : `at ${pair}-${begun}`}: ${from} … ${at} are in none of the files given — a file is missing before ${basename(file.path)}, or ${basename(prev)} was cut short. Give the missing file, or a whole copy`,
          { file: file.path, offset, gtid: at },
        );
      }
      if (committed !== undefined && committed > g.seqNo) {
        throw new InputError(
          InputErrorCode.OutOfOrder,
          `${basename(file.path)} opens at ${at} (its GTID list), but ${basename(prev)} given before it already holds ${pair}-${committed}: the files are out of order (or one is given twice); give them oldest first`,
          { file: file.path, offset, gtid: at },
        );
      }
    }
  }

  #mysqlOpening(file: FileSeen, offset: number, set: Ranges, event: PreviousGtidsEvent): void {
    if (!this.#started) {
      this.#started = true;
      this.#openingState = { file: file.path, offset, gtids: openingGtids(event) };
      this.#mysqlCommitted = set.clone();
      this.#mysqlBegun = set.clone();
      return;
    }
    const prev = basename(this.#previous?.path ?? '(the file before it)');
    const extra = set.notIn(this.#mysqlBegun);
    if (extra !== null) {
      throw new InputError(
        InputErrorCode.Gap,
        `${basename(file.path)} opens after ${extra} (its PREVIOUS_GTIDS), which none of the files before it holds: a file is missing before ${basename(file.path)}, or ${prev} was cut short. Give the missing file, or a whole copy`,
        { file: file.path, offset, gtid: extra },
      );
    }
    const ahead = this.#mysqlCommitted.notIn(set);
    if (ahead !== null) {
      throw new InputError(
        InputErrorCode.OutOfOrder,
        `${basename(file.path)} opens before ${ahead} (its PREVIOUS_GTIDS lack it), which ${prev} given before it holds: the files are out of order (or one is given twice); give them oldest first`,
        { file: file.path, offset, gtid: ahead },
      );
    }
  }
}

function raise(map: Map<string, bigint>, key: string, n: bigint): void {
  const cur = map.get(key);
  if (cur === undefined || n > cur) map.set(key, n);
}

function rangeKey(g: Gtid): [string, bigint] {
  if (g.flavor === 'mariadb') return [`${g.domainId}-${g.serverId}`, g.seqNo];
  return [g.tag === null ? g.uuid : `${g.uuid}:${g.tag}`, g.gno];
}

/**
 * Refuses, with the decoder's own error, a file given as a binlog that does not open as one: no
 * binlog magic (a wrong file), an undecodable format description (or, checksums verified, a
 * damaged one: nothing of the file can be read without it), an encrypted binlog (its
 * START_ENCRYPTION event follows the format description). plan and apply call it before they
 * connect to the DR, so a wrong file is said first (exit 2), not after a connection to a DR that
 * may not answer yet. Only those events are read: damage further on is the read's to judge
 * (`--skip-damaged`), and a file that ends inside them is a tail the read reports where it is.
 */
export async function checkBinlogHeads(files: readonly BinlogFile[], options: { readonly verifyChecksums?: boolean } = {}): Promise<void> {
  for (const f of files) {
    // Unreadable now: the read says so in its own words.
    const head = await readHead(f.path).catch(() => null);
    if (head !== null) new BinlogDecoder({ file: f.path, verifyChecksums: options.verifyChecksums ?? true }).push(head);
  }
}
