/**
 * `--stop-before WHERE` (SalvageOptions.stopBefore): the lost range ends just before one transaction
 * of the input, named by its GTID or by the position where it starts. Nothing at or after it is
 * read into a window, decided, written or counted, and the first pass (DDL, schema drift, the lost
 * set) sees only what lies before it; apply's checkpoint then ends before it, so the same command
 * without the option resumes there. A column added in the middle of a table is salvaged so: apply
 * up to the `ALTER`, alter the DR by hand, then apply with `--ddl skip` (README, "An ADD COLUMN").
 *
 * WHERE must name a transaction the input holds: a GTID never met, or a position that is no
 * transaction's start, is refused before anything is written (INPUT_STOP_NOT_FOUND,
 * INPUT_STOP_OUTSIDE), as `--from` and `--failover-at` refuse theirs, since a typo would otherwise
 * apply the whole range, or stop somewhere the DBA did not mean.
 */
import { basename } from 'node:path';
import { gtidText, type Gtid, type TransactionItem } from '../binlog/transaction.js';
import { EngineError } from '../errors.js';
import { isAfter } from '../reconcile/lost-transactions.js';
import type { BinlogFile } from '../source/binlog-files.js';
import { InputError, InputErrorCode } from '../source/input-checks.js';
import type { ReadBatch } from '../source/read-transactions.js';

/** The transaction a run stops before, as `--stop-before` names it. */
export type StopBefore =
  | { readonly kind: 'gtid'; readonly text: string; readonly gtid: string }
  /** `file` is a base name: positions are compared by name, as `--from` compares them. */
  | { readonly kind: 'position'; readonly text: string; readonly file: string; readonly pos: number };

/** The transaction the run stopped before, as the report gives it. */
export interface StopPoint {
  /** WHERE as it was given. */
  readonly asked: string;
  readonly gtid: string | null;
  /** The file's base name, and the transaction's first event in it: where apply's next run goes on. */
  readonly file: string;
  readonly pos: number;
}

const OPTION = '--stop-before';

/**
 * Reads WHERE: a MariaDB (`0-1-12`) or MySQL (`uuid:n`, `uuid:tag:n`) GTID, or `FILE:POS`.
 * A wrong shape is BAD_OPTION (exit 2), before anything is read.
 */
export function parseStopBefore(text: unknown): StopBefore {
  const bad = (why: string): never => {
    throw new EngineError('BAD_OPTION', `${OPTION}: ${why}, got ${typeof text === 'string' ? `"${text}"` : String(text)}`, { option: OPTION });
  };
  if (typeof text !== 'string') return bad('expected a GTID or FILE:POS as a string');
  const t = text.trim();
  const mariadb = /^(\d+)-(\d+)-(\d+)$/.exec(t);
  if (mariadb) {
    const [domain, server, seq] = [BigInt(mariadb[1]!), BigInt(mariadb[2]!), BigInt(mariadb[3]!)];
    if (domain > 0xffffffffn || server > 0xffffffffn || seq > 0xffffffffffffffffn) bad('a MariaDB GTID is DOMAIN-SERVER-SEQ with 32-bit domain and server ids and a 64-bit sequence number');
    return { kind: 'gtid', text: t, gtid: `${domain}-${server}-${seq}` };
  }
  const mysql = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(?::([a-z_][a-z0-9_]{0,31}))?:(\d+)$/i.exec(t);
  if (mysql) {
    const gno = BigInt(mysql[3]!);
    if (gno < 1n || gno > 0x7fffffffffffffffn) bad('a MySQL GTID number is between 1 and 2^63-1');
    return { kind: 'gtid', text: t, gtid: `${mysql[1]!.toLowerCase()}${mysql[2] === undefined ? '' : `:${mysql[2].toLowerCase()}`}:${gno}` };
  }
  const position = /^(.+):(\d+)$/.exec(t);
  if (position) {
    const pos = Number(position[2]);
    if (!Number.isSafeInteger(pos) || pos < 4) bad('a binlog position is at least 4 (a file\'s first event)');
    return { kind: 'position', text: t, file: basename(position[1]!), pos };
  }
  return bad('expected the GTID of a transaction (0-1-12, or uuid:n) or the position where it starts, FILE:POS (mysql-bin.000042:1234)');
}

/**
 * Refuses, before anything is read, a `FILE:POS` that cannot name a transaction of the binlog
 * files given: a file not among them, or a position past its end.
 */
export function refuseStopOutsideFiles(stop: StopBefore, files: readonly BinlogFile[]): void {
  if (stop.kind !== 'position' || files.length === 0) return;
  const named = files.find((f) => basename(f.path) === stop.file);
  if (named === undefined) {
    throw new InputError(
      InputErrorCode.StopOutside,
      `${OPTION} ${stop.text}: ${stop.file} is not among the binlog files given (${fileList(files)}): give the position of a transaction in one of them, or its GTID`,
      { option: OPTION, value: stop.text, file: stop.file },
    );
  }
  if (stop.pos >= named.size) {
    throw new InputError(
      InputErrorCode.StopOutside,
      `${OPTION} ${stop.text}: ${stop.file} is ${named.size} bytes long, so no transaction starts at ${stop.pos}: give the position where a transaction starts (salvage inspect and mariadb-binlog / mysqlbinlog print it)`,
      { option: OPTION, value: stop.text, file: stop.file, offset: stop.pos },
    );
  }
}

/** The GTID WHERE names, as the decoder gives GTIDs (for comparing it with the DR's GTID state). */
export function stopGtid(stop: Extract<StopBefore, { kind: 'gtid' }>): Gtid {
  const m = /^(\d+)-(\d+)-(\d+)$/.exec(stop.gtid);
  if (m) return { flavor: 'mariadb', domainId: Number(m[1]), serverId: Number(m[2]), seqNo: BigInt(m[3]!) };
  const parts = stop.gtid.split(':');
  return { flavor: 'mysql', uuid: parts[0]!, tag: parts.length === 3 ? parts[1]! : null, gno: BigInt(parts[parts.length - 1]!) };
}

/**
 * `--follow`: refuses, before anything is written, a WHERE the follow is already past — a position
 * before where its lost range starts (`from`: the read's start, or this source's checkpoint when
 * it lies later), or a GTID the DR already holds (`held`: its GTID state or the checkpoint covers
 * it). A follow never meets it, and would apply everything after it while waiting for it. WHERE
 * exactly at `from` is no error: nothing lies before it, the run does nothing (a repeated run).
 */
export function refuseStopPassed(stop: StopBefore, from: { readonly file: string; readonly pos: number } | null, held: boolean): void {
  if (stop.kind === 'position') {
    if (from === null || !isAfter({ file: from.file, pos: from.pos }, { file: stop.file, pos: stop.pos })) return;
    throw new InputError(
      InputErrorCode.StopOutside,
      `${OPTION} ${stop.text}: the follow starts at ${basename(from.file)}:${from.pos}, after it: that point is already past (applied, or before the lost range), and a follow would apply everything after it while waiting for it — nothing was written. Give a point at or after ${basename(from.file)}:${from.pos}, or run without ${OPTION}`,
      { option: OPTION, value: stop.text, file: stop.file, offset: stop.pos },
    );
  }
  if (!held) return;
  throw new InputError(
    InputErrorCode.StopOutside,
    `${OPTION} ${stop.text}: the DR already holds that transaction (its GTID state or this source's checkpoint covers ${stop.gtid}): it is already past, and a follow would apply everything after it while waiting for it — nothing was written. Give the GTID of a transaction the DR lacks, or run without ${OPTION}`,
    { option: OPTION, value: stop.text, gtid: stop.gtid },
  );
}

/** Whether `seen` comes at or after the GTID `stop` in its server's stream (the same domain, or uuid and tag), without being it. */
function pastGtid(stop: Gtid, seen: Gtid): boolean {
  if (stop.flavor === 'mariadb') return seen.flavor === 'mariadb' && seen.domainId === stop.domainId && seen.seqNo >= stop.seqNo && !(seen.serverId === stop.serverId && seen.seqNo === stop.seqNo);
  return seen.flavor === 'mysql' && seen.uuid.toLowerCase() === stop.uuid && seen.tag === stop.tag && seen.gno > stop.gno;
}

function fileList(files: readonly BinlogFile[]): string {
  const names = files.map((f) => basename(f.path));
  return names.length <= 3 ? names.join(', ') : `${names[0]} … ${names[names.length - 1]}`;
}

interface Seen {
  readonly gtid: string | null;
  readonly file: string;
  readonly pos: number;
}

/**
 * Watches the transactions of one read for the one WHERE names. `met` once it is read; `passed`
 * once a `FILE:POS` is behind the read without a transaction starting there (the read can stop:
 * the answer is known).
 */
export class StopWatch {
  readonly stop: StopBefore;
  /**
   * `--follow` (a live source read as it is written): WHERE is also passed when a transaction
   * straddles the position, or one of the GTID's stream at or past its number is read (a follow
   * would otherwise wait for ever, applying what comes after it).
   */
  readonly #follow: boolean;
  readonly #gtid: Gtid | null;
  #met: Seen | null = null;
  /** FILE:POS under `--follow`: the transaction it lies inside. */
  #inside: { readonly pos: number; readonly end: number } | null = null;
  /** FILE:POS: the transactions of its file on either side of it, once the read is past it. */
  #passed: { readonly before: Seen | null; readonly after: Seen } | null = null;
  #lastInFile: Seen | null = null;
  /** The last transaction read (which file the read reached), and how many were read. */
  #last: Seen | null = null;
  #read = 0;

  constructor(stop: StopBefore, options: { readonly follow?: boolean } = {}) {
    this.stop = stop;
    this.#follow = options.follow === true;
    this.#gtid = stop.kind === 'gtid' ? stopGtid(stop) : null;
  }

  get met(): StopPoint | null {
    const m = this.#met;
    return m === null ? null : { asked: this.stop.text, gtid: m.gtid, file: m.file, pos: m.pos };
  }

  /** Whether the read must end before `item`: it is the transaction WHERE names, or a FILE:POS was passed. */
  check(item: TransactionItem): boolean {
    if (this.#met !== null || this.#passed !== null) return true;
    // Damage between transactions is no transaction: its offset is the damaged event's.
    if (item.kind === 'incomplete' && item.tx.damage?.betweenTransactions === true) return false;
    const tx = item.tx;
    const seen: Seen = { gtid: tx.gtid === null ? null : gtidText(tx.gtid), file: basename(tx.file), pos: tx.pos };
    const s = this.stop;
    if (s.kind === 'gtid') {
      if (seen.gtid === s.gtid) {
        this.#met = seen;
        return true;
      }
      if (this.#follow && tx.gtid !== null && pastGtid(this.#gtid!, tx.gtid)) {
        this.#passed = { before: this.#last, after: seen };
        return true;
      }
    } else if (seen.file === s.file) {
      if (seen.pos === s.pos) {
        this.#met = seen;
        return true;
      }
      if (this.#follow && seen.pos < s.pos && s.pos < tx.end) {
        // Known as soon as it is read: the transaction that holds the position is not applied either.
        this.#inside = { pos: seen.pos, end: tx.end };
        this.#passed = { before: seen, after: { ...seen, pos: tx.end } };
        return true;
      }
      if (seen.pos > s.pos) {
        this.#passed = { before: this.#lastInFile, after: seen };
        return true;
      }
      this.#lastInFile = seen;
    } else if (isAfter({ file: seen.file, pos: 0 }, { file: s.file, pos: 0 })) {
      this.#passed = { before: this.#lastInFile, after: seen };
      return true;
    }
    this.#last = seen;
    this.#read++;
    return false;
  }

  /**
   * The files are damaged before WHERE (or before the read met it), where a run stops anyway.
   * Refused rather than run to the damage: whether WHERE is in the input (or a typo for a point
   * before the damage) cannot be told, and a run that stops there must not depend on where the
   * read's chunks happen to end.
   */
  pastDamage(damage: { readonly file: string; readonly offset: number }): InputError {
    const s = this.stop;
    const at = `${basename(damage.file)}:${damage.offset}`;
    return new InputError(
      InputErrorCode.StopPastDamage,
      `${OPTION} ${s.text}: the binlogs are damaged at ${at}, before it, and a run stops at the damage anyway — nothing was written. Run without ${OPTION} to apply what lies before the damage, or copy the damaged file again (whole) and run with ${OPTION} again; a point before the damage is taken as it is`,
      { option: OPTION, value: s.text, file: damage.file, offset: damage.offset },
    );
  }

  /** Why WHERE named no transaction of the read, once it ended without meeting it. */
  refusal(): InputError {
    const s = this.stop;
    if (s.kind === 'gtid' && this.#passed !== null) {
      const a = this.#passed.after;
      return new InputError(
        InputErrorCode.StopNotFound,
        `${OPTION} ${s.text}: the follow read ${a.gtid ?? '(no GTID)'} at ${a.file}:${a.pos}, at or past it in its GTID stream, without meeting it: the source never wrote it there (nothing from ${a.gtid ?? 'there'} on was applied; what lay before it was): give the GTID of a transaction the source writes, or its position FILE:POS`,
        { option: OPTION, value: s.text, gtid: s.gtid, file: a.file, offset: a.pos },
      );
    }
    if (s.kind === 'gtid') {
      const where = this.#last === null ? 'the input holds no transaction' : `${this.#read} transaction(s) read, the last ${this.#last.gtid ?? '(no GTID)'} at ${this.#last.file}:${this.#last.pos}`;
      return new InputError(
        InputErrorCode.StopNotFound,
        `${OPTION} ${s.text}: no transaction of the input has this GTID (${where}): give the GTID of a transaction in the binlogs read (salvage inspect lists them), or its position FILE:POS`,
        { option: OPTION, value: s.text, gtid: s.gtid },
      );
    }
    const p = this.#passed;
    const inside = this.#inside;
    if (inside !== null) {
      return new InputError(
        InputErrorCode.StopOutside,
        `${OPTION} ${s.text}: no transaction starts there — it lies inside the transaction at ${s.file}:${inside.pos} (which ends at ${inside.end}); nothing of that transaction or after it was applied: give the position where a transaction starts (${inside.pos}, or ${inside.end} for the one after it), as salvage inspect prints it ("pos")`,
        { option: OPTION, value: s.text, file: s.file, offset: s.pos },
      );
    }
    if (p !== null && p.after.file === s.file) {
      const inside = p.before === null ? `the first transaction of ${s.file} starts at ${p.after.pos}` : `${s.pos} lies after the transaction at ${s.file}:${p.before.pos} starts and before the next, at ${p.after.pos}`;
      return new InputError(
        InputErrorCode.StopOutside,
        `${OPTION} ${s.text}: no transaction starts there — ${inside}: give the position where a transaction starts (${p.before === null ? p.after.pos : `${p.before.pos}, or ${p.after.pos}`}), as salvage inspect prints it ("pos")`,
        { option: OPTION, value: s.text, file: s.file, offset: s.pos },
      );
    }
    const reached = p !== null ? `the read passed from ${p.before?.file ?? 'the files before it'} to ${p.after.file}` : this.#lastInFile !== null ? `the last transaction of ${s.file} read starts at ${this.#lastInFile.pos}` : this.#last === null ? 'the input holds no transaction' : `the read ended in ${this.#last.file}`;
    return new InputError(
      InputErrorCode.StopOutside,
      `${OPTION} ${s.text}: no transaction of the input starts there (${reached}): give the position where a transaction starts in a binlog read, as salvage inspect prints it ("pos"), or its GTID`,
      { option: OPTION, value: s.text, file: s.file, offset: s.pos },
    );
  }
}

/** `batches` up to the transaction `watch` stops before (or past a FILE:POS it passed): the read ends there. */
export async function* cutAtStop(batches: AsyncIterable<ReadBatch>, watch: StopWatch): AsyncGenerator<ReadBatch> {
  for await (const batch of batches) {
    const at = batch.items.findIndex((item) => watch.check(item));
    if (at < 0) {
      yield batch;
      continue;
    }
    // What lies after it in this chunk is not the run's: no tail, no damage of it, no event of it
    // for the input checks (a file given twice is judged on what is read).
    const pos = batch.items[at]!.tx.pos;
    yield { ...batch, items: batch.items.slice(0, at), events: batch.events.filter((e) => e.header.offset < pos), tail: null };
    return;
  }
}

/** Whether `tx` is the transaction the run stops before (a second pass, once the first pass met it). */
export function isStopPoint(point: StopPoint, tx: { readonly file: string; readonly pos: number }): boolean {
  return tx.pos === point.pos && basename(tx.file) === point.file;
}
