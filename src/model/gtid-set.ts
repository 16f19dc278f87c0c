/**
 * GTID sets of both flavours, for filters and (later) the lost-transaction arithmetic.
 * MySQL: `uuid[:tag]:a-b[:c-d…]` entries separated by commas. MariaDB: `domain-server-seq`
 * (one GTID) or `domain-server-first-last` (a range), separated by commas. A MariaDB GTID is
 * identified by all three numbers: after a promotion the DR writes the same domain and sequence
 * numbers under its own server id, and those are different transactions.
 */
import { EngineError } from '../errors.js';
import type { Gtid } from '../binlog/transaction.js';
import { ReconcileError, ReconcileErrorCode } from './reconcile-error.js';

/**
 * A GTID set that does not parse: `details.value` is the text given, `details.option` the option
 * it came from (`--include-gtids`, `--from-gtid`) when the caller named one; absent for text the
 * tool read itself (a server's gtid_executed, a stored state).
 */
export class GtidSetError extends EngineError {}

/** The facts of a GTID_SET_SYNTAX error: the option (when known) and the text. */
function syntaxDetails(whole: string, option: string | undefined): { option?: string; value: string } {
  return { ...(option === undefined ? {} : { option }), value: whole };
}

interface Range {
  readonly first: bigint;
  readonly last: bigint;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

function normaliseUuid(u: string): string {
  const h = u.replace(/-/g, '').toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The widest each part of a GTID can be: MariaDB's domain and server id are 32-bit, its sequence 64-bit; MySQL's gno is a signed 64-bit number. */
const U32_MAX = 2n ** 32n - 1n;
const U64_MAX = 2n ** 64n - 1n;
const GNO_MAX = 2n ** 63n - 1n;

/** Refuses a MariaDB GTID part wider than servers write (used where `domain-server-seq` is parsed apart from GtidSet). */
export function checkMariadbGtidRange(domain: string, server: string, seq: string, whole: string, option?: string): void {
  num(domain, whole, U32_MAX, 'domain id', option);
  num(server, whole, U32_MAX, 'server id', option);
  num(seq, whole, U64_MAX, 'sequence number', option);
}

function num(text: string, whole: string, max: bigint, what: string, option: string | undefined): bigint {
  if (!/^\d+$/.test(text)) throw new GtidSetError('GTID_SET_SYNTAX', `bad number "${text}" in GTID set "${whole}"`, syntaxDetails(whole, option));
  const n = BigInt(text);
  // A typo's extra digits would otherwise name a GTID no server can write, and match nothing.
  if (n > max) throw new GtidSetError('GTID_SET_SYNTAX', `${what} ${text} in GTID set "${whole}" is larger than any server writes (at most ${max})`, syntaxDetails(whole, option));
  return n;
}

/**
 * Parses `part`, the set entries of `given` (an option's text with its MariaDB positions taken
 * out, `--from-gtid` and `--start-gtid`): an error names `given`, the text the user wrote.
 */
export function parseGtidSetWithin(part: string, given: string, option: string): GtidSet {
  try {
    return GtidSet.parse(part, option);
  } catch (e) {
    // The message quotes the set parsed; the user wrote `given`, and should find it there.
    if (e instanceof GtidSetError) throw new GtidSetError(e.code, e.message.replace(`GTID set "${part}"`, `GTID set "${given}"`), syntaxDetails(given, option), { cause: e });
    throw e;
  }
}

/** One entry of a MariaDB GTID list (gtid_slave_pos, gtid_binlog_pos, gtid_binlog_state). */
export interface MariadbPos {
  readonly domainId: number;
  readonly serverId: number;
  readonly seqNo: bigint;
}

/** One MariaDB GTID, `domain-server-seq`. */
export const MARIADB_GTID = /^(\d+)-(\d+)-(\d+)$/;

/**
 * Parses a MariaDB GTID list (`d-s-n,…`); `unique` rejects two entries for one domain (a position).
 * `variable` names an option (--from-gtid, whose whole text is `given`) or a server variable
 * (gtid_slave_pos): a bad option is the user's to fix (GtidSetError), a bad variable the DR's state.
 */
export function parseMariadbList(text: string, variable: string, unique: boolean, given = text): MariadbPos[] {
  const option = variable.startsWith('--') ? variable : undefined;
  const out: MariadbPos[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const m = MARIADB_GTID.exec(part);
    if (!m) throw new ReconcileError(ReconcileErrorCode.BadDrState, `${variable}: expected a list of domain-server-seq, found "${part}" in "${text}"`, { option: variable });
    checkMariadbGtidRange(m[1]!, m[2]!, m[3]!, given, option);
    const p = { domainId: Number(m[1]), serverId: Number(m[2]), seqNo: BigInt(m[3]!) };
    if (unique && out.some((o) => o.domainId === p.domainId)) {
      const message = `${variable}: two entries for domain ${p.domainId} in "${option === undefined ? text : given}" (a position has one per domain)`;
      if (option !== undefined) throw new GtidSetError('GTID_SET_SYNTAX', message, { option, value: given });
      throw new ReconcileError(ReconcileErrorCode.BadDrState, message, { option: variable });
    }
    out.push(p);
  }
  return out;
}

/** A set of GTIDs; `contains` answers membership exactly. */
export class GtidSet {
  /** key: `uuid` or `uuid:tag` (MySQL) or `m:domain-server` (MariaDB). */
  readonly #ranges = new Map<string, Range[]>();

  /** Parses a set in either flavour's syntax; mixing is allowed. `option`: the option the text came from, for the error. */
  static parse(text: string, option?: string): GtidSet {
    const set = new GtidSet();
    const trimmed = text.trim();
    if (trimmed === '') return set;
    for (const raw of trimmed.split(',')) {
      const part = raw.trim();
      if (part === '') continue;
      if (/^\d+-\d+-\d+(-\d+)?$/.test(part)) {
        const [d, s, a, b] = part.split('-') as [string, string, string, string | undefined];
        set.#add(`m:${num(d, text, U32_MAX, 'domain id', option)}-${num(s, text, U32_MAX, 'server id', option)}`, num(a, text, U64_MAX, 'sequence number', option), num(b ?? a, text, U64_MAX, 'sequence number', option), text, option);
        continue;
      }
      const fields = part.split(':');
      const uuid = fields.shift()!;
      if (!UUID.test(uuid)) throw new GtidSetError('GTID_SET_SYNTAX', `"${part}" is neither a MySQL GTID set entry (uuid:1-5) nor a MariaDB GTID (domain-server-seq)`, syntaxDetails(text, option));
      let key = normaliseUuid(uuid);
      if (fields.length === 0) throw new GtidSetError('GTID_SET_SYNTAX', `"${part}" names a server uuid without intervals`, syntaxDetails(text, option));
      for (const f of fields) {
        if (/^[a-z_][a-z0-9_]*$/i.test(f)) {
          key = `${normaliseUuid(uuid)}:${f.toLowerCase()}`;
          continue;
        }
        const [a, b] = f.split('-') as [string, string | undefined];
        set.#add(key, num(a, text, GNO_MAX, 'transaction number', option), num(b ?? a, text, GNO_MAX, 'transaction number', option), text, option);
      }
    }
    return set;
  }

  /** `whole` and `option`: the text parsed and its option, for the error (absent: a GTID added, not parsed). */
  #add(key: string, first: bigint, last: bigint, whole?: string, option?: string): void {
    if (last < first) throw new GtidSetError('GTID_SET_SYNTAX', `empty interval ${first}-${last}${whole === undefined ? '' : ` in GTID set "${whole}"`}`, whole === undefined ? {} : syntaxDetails(whole, option));
    const list = this.#ranges.get(key) ?? [];
    list.push({ first, last });
    list.sort((x, y) => (x.first < y.first ? -1 : x.first > y.first ? 1 : 0));
    const merged: Range[] = [];
    for (const r of list) {
      const prev = merged[merged.length - 1];
      if (prev && r.first <= prev.last + 1n) merged[merged.length - 1] = { first: prev.first, last: r.last > prev.last ? r.last : prev.last };
      else merged.push(r);
    }
    this.#ranges.set(key, merged);
  }

  /** Adds one GTID. */
  add(g: Gtid): void {
    if (g.flavor === 'mariadb') this.#add(`m:${g.domainId}-${g.serverId}`, g.seqNo, g.seqNo);
    else this.#add(g.tag === null ? g.uuid : `${g.uuid}:${g.tag}`, g.gno, g.gno);
  }

  contains(g: Gtid): boolean {
    const key = g.flavor === 'mariadb' ? `m:${g.domainId}-${g.serverId}` : g.tag === null ? g.uuid : `${g.uuid}:${g.tag}`;
    const n = g.flavor === 'mariadb' ? g.seqNo : g.gno;
    const list = this.#ranges.get(key);
    if (!list) return false;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = list[mid]!;
      if (n < r.first) hi = mid - 1;
      else if (n > r.last) lo = mid + 1;
      else return true;
    }
    return false;
  }

  /** Whether the set holds a GTID of `g`'s server (uuid[:tag], or MariaDB domain-server) below `g`. */
  holdsBelow(g: Gtid): boolean {
    const key = g.flavor === 'mariadb' ? `m:${g.domainId}-${g.serverId}` : g.tag === null ? g.uuid : `${g.uuid}:${g.tag}`;
    const first = this.#ranges.get(key)?.[0];
    return first !== undefined && first.first < (g.flavor === 'mariadb' ? g.seqNo : g.gno);
  }

  /** An independent copy. */
  clone(): GtidSet {
    const copy = new GtidSet();
    for (const [key, list] of this.#ranges) copy.#ranges.set(key, list.slice());
    return copy;
  }

  get isEmpty(): boolean {
    return this.#ranges.size === 0;
  }

  /** The set in its flavour's syntax, entries sorted. */
  toString(): string {
    const mysql: string[] = [];
    const maria: string[] = [];
    for (const key of [...this.#ranges.keys()].sort()) {
      const list = this.#ranges.get(key)!;
      if (key.startsWith('m:')) {
        const ds = key.slice(2);
        for (const r of list) maria.push(r.first === r.last ? `${ds}-${r.first}` : `${ds}-${r.first}-${r.last}`);
      } else {
        mysql.push(`${key}:${list.map((r) => (r.first === r.last ? `${r.first}` : `${r.first}-${r.last}`)).join(':')}`);
      }
    }
    return [...mysql, ...maria].join(',');
  }
}
