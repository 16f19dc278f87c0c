/**
 * Which transactions of the failed primary's binlog are LOST: committed on the primary, never
 * received by the DR. Pure: the DR's state arrives as the strings the server reports, the
 * transactions as the decoder emits them; nothing here touches a server.
 *
 * What "received" means differs by flavour:
 *
 * - MySQL: `gtid_executed` is a SET. A primary GTID `uuid[:tag]:n` was received iff the set
 *   contains it; gaps in the intervals are honoured (`uuid:1-5:7` lacks 6).
 *
 * - MariaDB: `gtid_slave_pos` and `gtid_binlog_pos` are POSITIONS, one `domain-server-seq` per
 *   domain naming the LAST GTID of that domain, meaning "everything of that domain's stream up to
 *   here" (MariaDB sql/rpl_gtid.cc: a replica connecting with a position asks for the events after
 *   it). So for a primary transaction `d-S-n`:
 *   1. `gtid_slave_pos` changes only when the replication SQL thread applies an event (or by an
 *      explicit SET), and RESET SLAVE ALL / a promotion leaves it alone: it is the DR's record of
 *      what it applied from the primary's stream. Its entry `d-S'-m` covers every transaction of
 *      domain d in that stream with seq_no ≤ m, whatever the server id (a primary that itself
 *      replicated from an upstream carries the upstream's ids in the same domain, in seq order).
 *      This trusts that the DR replicated from THIS primary; `slaveServerIds` narrows the trust,
 *      and `checks()` reports a position never met in the binlogs that covered other servers'
 *      GTIDs by sequence number (a sign that it is not a point of the primary's stream).
 *   2. `gtid_binlog_pos` is the last GTID the DR WROTE to its own binlog. After a promotion it
 *      holds the DR's own `d-2-n`, which says nothing about the primary's `d-1-n` even when the
 *      sequence numbers are equal (the fixture's 0-2-13…17 versus the lost 0-1-13…17). So it
 *      covers `d-S-n` only when its server id is S itself and its seq_no ≥ n.
 *   3. `gtid_binlog_state` (optional) holds the last seq_no per (domain, server): the same
 *      same-server rule, with more entries.
 *   Contained ⇔ one of the three covers it. Comparing sequence numbers alone would call the
 *   primary's lost 0-1-13…17 "already there" because the DR wrote 0-2-13…17.
 *
 * Other rules pick the start by position (`--from FILE:POS`), by GTID (`--from-gtid SET`) or by
 * time (`--since`). Whatever the rule, a checkpoint of what this engine already applied is
 * excluded.
 */
import { gtidText, type Gtid, type Transaction } from '../binlog/transaction.js';
import { GtidSet, MARIADB_GTID, parseGtidSetWithin, parseMariadbList, type MariadbPos } from '../model/gtid-set.js';
import { ReconcileError, ReconcileErrorCode } from '../model/reconcile-error.js';

/** What the DR reports about the GTIDs it holds. */
export type DrGtidState =
  | { readonly flavor: 'mysql'; readonly gtidExecuted: string }
  | {
      readonly flavor: 'mariadb';
      readonly gtidSlavePos: string;
      readonly gtidBinlogPos: string;
      /** Optional `gtid_binlog_state`: last seq_no per (domain, server). */
      readonly gtidBinlogState?: string;
    };

/** A binlog position: file (name or path; compared by name) and byte offset. */
export interface BinlogPosition {
  readonly file: string;
  readonly pos: number;
}

/** How the starting point of the lost range is chosen. */
export type StartRule =
  /** `ownServerId`: the DR's @@server_id; its own writes carry it in their GTIDs. */
  | { readonly kind: 'gtid'; readonly state: DrGtidState; readonly ownServerId?: number }
  | ({ readonly kind: 'from-position' } & BinlogPosition)
  /** Everything outside this set is lost; MariaDB `d-s-n` entries are positions (as gtid_slave_pos). */
  | { readonly kind: 'from-gtid'; readonly set: string }
  /** Seconds since the epoch (UTC): transactions whose timestamp is ≥ this are lost. */
  | { readonly kind: 'since'; readonly time: number };

/** What this engine already applied (from its checkpoint row): always excluded. */
export interface Checkpoint {
  readonly gtids?: GtidSet;
  /** Applied through this position: transactions ending at or before it are excluded. */
  readonly position?: BinlogPosition;
}

export interface LostFilterOptions {
  readonly checkpoint?: Checkpoint;
  /** Under a GTID rule, how to judge transactions without a GTID (anonymous / pre-GTID logs). */
  readonly noGtidFallback?: Extract<StartRule, { kind: 'from-position' | 'since' }>;
  /** MariaDB: trust only gtid_slave_pos entries with these server ids (default: trust all). */
  readonly slaveServerIds?: readonly number[];
}

export interface LostDecision {
  readonly lost: boolean;
  readonly reason: string;
}

export interface LostFilter {
  /** Decides one transaction; a lost one is recorded in `lostSet`. */
  isLost(tx: Transaction): LostDecision;
  /** The GTIDs (and GTID-less transactions) judged lost so far. */
  readonly lostSet: LostSetAccumulator;
  /**
   * Doubts about the start found while judging (call after the last transaction): e.g. a MariaDB
   * position never met in the binlogs read that covered other servers' GTIDs by sequence number.
   */
  checks(): string[];
  /**
   * One line for the plan: which rule chose the start, the checkpoint, the lost set, and any checks.
   * `committed` (a follow, which reads ahead of what it applies): the lost transactions of the
   * windows that committed, with those read after the last one counted apart, not as lost and done.
   */
  describe(committed?: LostSetAccumulator): string;
}

/** Collects lost GTIDs into a GtidSet and prints it compactly (`0-1-13-22,7-1-1`). */
export class LostSetAccumulator {
  readonly gtids = new GtidSet();
  #count = 0;
  readonly #seen = new Set<string>();
  /** Transactions without a GTID, as `file:pos`. */
  readonly anonymous: string[] = [];

  /** Records one lost transaction (idempotent per GTID or position). */
  add(tx: Pick<Transaction, 'gtid' | 'file' | 'pos'>): void {
    const key = tx.gtid === null ? `${baseName(tx.file)}:${tx.pos}` : gtidText(tx.gtid);
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.#count++;
    if (tx.gtid === null) this.anonymous.push(key);
    else this.gtids.add(tx.gtid);
  }

  /** Number of distinct lost transactions. */
  get count(): number {
    return this.#count;
  }

  /** The lost GTID set, plus `+N without GTID` when there are such. */
  toString(): string {
    const set = this.gtids.toString();
    if (this.anonymous.length === 0) return set === '' ? '(none)' : set;
    return `${set === '' ? '' : `${set} `}+${this.anonymous.length} without GTID`;
  }
}

function posText(p: MariadbPos): string {
  return `${p.domainId}-${p.serverId}-${p.seqNo}`;
}

function baseName(path: string): string {
  const i = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  return i < 0 ? path : path.slice(i + 1);
}

/** Orders two binlog positions of one series (`name.000042`): negative, zero or positive. */
export function compareBinlogPositions(a: BinlogPosition, b: BinlogPosition): number {
  const fa = baseName(a.file);
  const fb = baseName(b.file);
  if (fa !== fb) {
    const ma = /^(.*)\.(\d+)$/.exec(fa);
    const mb = /^(.*)\.(\d+)$/.exec(fb);
    if (!ma || !mb || ma[1] !== mb[1]) {
      throw new ReconcileError(ReconcileErrorCode.FileSeriesMismatch, `cannot order ${fa} and ${fb}: not numbered files of one binlog series`, { file: fa });
    }
    return Number(ma[2]) - Number(mb[2]);
  }
  return a.pos - b.pos;
}

type Judge = (tx: Transaction) => LostDecision;

/** Whether `a` lies after `b` in one binlog series; positions that cannot be ordered are not. */
export function isAfter(a: BinlogPosition, b: BinlogPosition): boolean {
  try {
    return compareBinlogPositions(a, b) > 0;
  } catch {
    return false;
  }
}

function flavorMismatch(g: Gtid, expected: string): ReconcileError {
  return new ReconcileError(ReconcileErrorCode.FlavorMismatch, `transaction ${gtidText(g)} is a ${g.flavor} GTID but the DR state is ${expected}`, { gtid: gtidText(g) });
}

function mysqlJudge(executedText: string): { judge: (g: Gtid) => LostDecision; label: string } {
  const executed = GtidSet.parse(executedText);
  return {
    label: `DR gtid_executed ${executed.isEmpty ? '(empty)' : executed.toString()}`,
    judge: (g) => {
      if (g.flavor !== 'mysql') throw flavorMismatch(g, 'MySQL gtid_executed');
      return executed.contains(g)
        ? { lost: false, reason: `${gtidText(g)} is in the DR's gtid_executed` }
        : { lost: true, reason: `${gtidText(g)} is not in the DR's gtid_executed` };
    },
  };
}

interface Judged {
  /** `at`: where the transaction starts in the stream, when it is read from one (MariaDB positions use it). */
  readonly judge: (g: Gtid, at?: BinlogPosition) => LostDecision;
  /** Doubts found while judging, for the plan (see `LostFilter.checks`). */
  readonly checks: () => string[];
}

/**
 * Judges MariaDB GTIDs against positions trusted as records of the primary's stream. Because that
 * trust compares sequence numbers across server ids, it also watches for the position's own GTID:
 * a position never met in the binlogs read, while it covered GTIDs of other servers, may be the
 * DR's own write (the promotion trap) rather than a point of the primary's stream.
 */
function mariadbJudge(
  positions: readonly MariadbPos[],
  positionName: string,
  sameServer: readonly { readonly list: readonly MariadbPos[]; readonly name: string }[],
  explicit: GtidSet | null,
  ownServerId: number | null = null,
): Judged {
  /** The DR's binlog state entry of `g`'s domain and server at or past it: `g` reached the DR. */
  const coveredBySameServer = (g: Extract<Gtid, { flavor: 'mariadb' }>): LostDecision | null => {
    const text = gtidText(g);
    for (const s of sameServer) {
      const q = s.list.find((e) => e.domainId === g.domainId && e.serverId === g.serverId && g.seqNo <= e.seqNo);
      if (q === undefined) continue;
      // The DR writes under its own server id: when that is the primary's too, its writes after the
      // promotion took the sequence numbers the primary's lost transactions have, and the entry may
      // be nothing but the DR's own writing. Calling them applied would drop them silently.
      if (q.serverId === ownServerId) {
        throw new ReconcileError(
          ReconcileErrorCode.SharedServerId,
          `${text} is at or before the DR's ${s.name} ${posText(q)}, but the DR's own server_id is ${q.serverId} too: its writes since the promotion carry the same server id and reuse the primary's sequence numbers, so its GTID state cannot say whether ${text} reached it. Give the start: --from-gtid with the position the DR had replicated to (its gtid_slave_pos, ${positions.map(posText).join(',') || 'empty'}), --from FILE:POS or --since TIME`,
          { gtid: text, option: '--from-gtid' },
        );
      }
      return { lost: false, reason: `${text} is at or before the DR's ${s.name} ${posText(q)} (same domain and server)` };
    }
    return null;
  };
  const byDomain = new Map<number, { readonly p: MariadbPos; seen: boolean; seenAt: BinlogPosition | null; crossServer: number }>(positions.map((p) => [p.domainId, { p, seen: false, seenAt: null, crossServer: 0 }]));
  const judge = (g: Gtid, at?: BinlogPosition): LostDecision => {
    if (g.flavor !== 'mariadb') throw flavorMismatch(g, 'MariaDB GTID positions');
    const text = gtidText(g);
    if (explicit?.contains(g)) return { lost: false, reason: `${text} is in the given GTID set` };
    const entry = byDomain.get(g.domainId);
    const p = entry?.p;
    const isPosition = entry !== undefined && p !== undefined && g.serverId === p.serverId && g.seqNo === p.seqNo;
    // Past the position in the stream, as a MariaDB replica resumes from it: every later transaction
    // of the domain is lost, whatever its sequence number (without gtid_strict_mode another server's
    // GTIDs in the domain may carry lower ones).
    // By stream position, not by the order of the calls: a window read again must judge alike.
    if (entry?.seenAt && p && at !== undefined && !isPosition && isAfter(at, entry.seenAt)) {
      const covered = coveredBySameServer(g);
      if (covered !== null) return covered;
      return { lost: true, reason: `${text} comes after the DR's ${positionName} ${posText(p)} in the binlog (domain ${g.domainId})` };
    }
    if (isPosition) {
      entry!.seen = true;
      if (at !== undefined && entry!.seenAt === null) entry!.seenAt = { file: at.file, pos: at.pos };
    }
    if (entry && p && g.seqNo <= p.seqNo) {
      if (g.serverId !== p.serverId) entry.crossServer++;
      return { lost: false, reason: `${text} is at or before the DR's ${positionName} ${posText(p)} (domain ${g.domainId})` };
    }
    const covered = coveredBySameServer(g);
    if (covered !== null) return covered;
    if (p) return { lost: true, reason: `${text} is after the DR's ${positionName} ${posText(p)} (domain ${g.domainId})` };
    return { lost: true, reason: `the DR's ${positionName} has no entry for domain ${g.domainId}: ${text} never reached it` };
  };
  const checks = (): string[] => {
    const out: string[] = [];
    for (const e of byDomain.values()) {
      if (e.seen || e.crossServer === 0) continue;
      out.push(
        `${positionName} ${posText(e.p)} was not found in the binlogs read, yet it covered ${e.crossServer} transaction(s) of other servers in domain ${e.p.domainId} by sequence number: if it is the DR's own GTID (written after a promotion), those transactions are lost`,
      );
    }
    return out;
  };
  return { judge, checks };
}

function gtidRuleJudge(state: DrGtidState, options: LostFilterOptions, ownServerId: number | null = null): Judged & { label: string } {
  if (state.flavor === 'mysql') return { ...mysqlJudge(state.gtidExecuted), checks: () => [] };
  const allSlave = parseMariadbList(state.gtidSlavePos, 'gtid_slave_pos', true);
  const trusted = options.slaveServerIds ? allSlave.filter((p) => options.slaveServerIds!.includes(p.serverId)) : allSlave;
  const binlogPos = parseMariadbList(state.gtidBinlogPos, 'gtid_binlog_pos', true);
  const binlogState = state.gtidBinlogState === undefined ? [] : parseMariadbList(state.gtidBinlogState, 'gtid_binlog_state', false);
  const sameServer = [
    { list: binlogPos, name: 'gtid_binlog_pos' },
    { list: binlogState, name: 'gtid_binlog_state' },
  ];
  const show = (l: readonly MariadbPos[]): string => (l.length === 0 ? '(empty)' : l.map(posText).join(','));
  let label = `DR gtid_slave_pos ${show(allSlave)} (seq_no per domain), gtid_binlog_pos ${show(binlogPos)} (same server id only)`;
  if (state.gtidBinlogState !== undefined) label += `, gtid_binlog_state ${show(binlogState)} (same server id only)`;
  if (trusted.length !== allSlave.length) label += `; gtid_slave_pos entries of servers other than ${options.slaveServerIds!.join(',')} ignored`;
  return { label, ...mariadbJudge(trusted, 'gtid_slave_pos', sameServer, null, ownServerId) };
}

/**
 * Parses a `--from-gtid` set (start rule `from-gtid`) as a run will read it, so that a set no run
 * could use is refused before anything connects: GtidSetError GTID_SET_SYNTAX, `details` `{ option:
 * '--from-gtid', value }`.
 */
export function checkFromGtid(text: string): void {
  fromGtidJudge(text);
}

/** `--from-gtid`: MySQL entries and MariaDB ranges are a set; MariaDB `d-s-n` entries are positions. */
function fromGtidJudge(text: string): Judged {
  const parts = text.split(',').map((p) => p.trim()).filter((p) => p !== '');
  const positions = parseMariadbList(parts.filter((p) => MARIADB_GTID.test(p)).join(','), '--from-gtid', true, text);
  const set = parseGtidSetWithin(parts.filter((p) => !MARIADB_GTID.test(p)).join(','), text, '--from-gtid');
  const mariadb = mariadbJudge(positions, '--from-gtid position', [], set);
  const judge = (g: Gtid, at?: BinlogPosition): LostDecision => {
    if (g.flavor === 'mariadb') return mariadb.judge(g, at);
    const text = gtidText(g);
    return set.contains(g) ? { lost: false, reason: `${text} is in the --from-gtid set` } : { lost: true, reason: `${text} is outside the --from-gtid set` };
  };
  return { judge, checks: mariadb.checks };
}

function positionJudge(from: BinlogPosition, name: string): Judge {
  return (tx) => {
    const at = `${baseName(tx.file)}:${tx.pos}`;
    if (compareBinlogPositions(tx, from) >= 0) return { lost: true, reason: `${at} is at or after ${name} ${baseName(from.file)}:${from.pos}` };
    if (compareBinlogPositions({ file: tx.file, pos: tx.end }, from) <= 0) return { lost: false, reason: `${at} ends before ${name} ${baseName(from.file)}:${from.pos}` };
    throw new ReconcileError(
      ReconcileErrorCode.PositionInsideTransaction,
      `${name} ${baseName(from.file)}:${from.pos} falls inside the transaction at ${at}-${tx.end}: give a transaction boundary (its start ${tx.pos} or its end ${tx.end})`,
      { file: baseName(tx.file), offset: from.pos },
    );
  };
}

function timeJudge(time: number): Judge {
  const iso = new Date(time * 1000).toISOString();
  return (tx) =>
    tx.timestamp >= time
      ? { lost: true, reason: `timestamp ${tx.timestamp} is at or after --since ${iso}` }
      : { lost: false, reason: `timestamp ${tx.timestamp} is before --since ${iso}` };
}

const noChecks = (): string[] => [];

function ruleJudge(rule: StartRule, options: LostFilterOptions): { judge: Judge; label: string; checks: () => string[] } {
  switch (rule.kind) {
    case 'gtid': {
      const { judge, label, checks } = gtidRuleJudge(rule.state, options, rule.ownServerId ?? null);
      const fallback = options.noGtidFallback ? ruleJudge(options.noGtidFallback, {}) : null;
      return {
        label: `start from the DR's GTID state: ${label}${fallback ? `; transactions without GTID: ${fallback.label}` : ''}`,
        checks,
        judge: (tx) => {
          if (tx.gtid !== null) return judge(tx.gtid, tx);
          if (fallback) return fallback.judge(tx);
          throw new ReconcileError(
            ReconcileErrorCode.NoGtid,
            `the transaction at ${baseName(tx.file)}:${tx.pos} has no GTID, so the DR's GTID state cannot place it: give a position (--from FILE:POS) or a time (--since)`,
            { file: baseName(tx.file), offset: tx.pos },
          );
        },
      };
    }
    case 'from-position':
      return { label: `start from position --from ${baseName(rule.file)}:${rule.pos}`, judge: positionJudge(rule, '--from'), checks: noChecks };
    case 'from-gtid': {
      const { judge, checks } = fromGtidJudge(rule.set);
      return {
        label: `start after --from-gtid ${rule.set}`,
        checks,
        judge: (tx) => {
          if (tx.gtid !== null) return judge(tx.gtid, tx);
          throw new ReconcileError(ReconcileErrorCode.NoGtid, `the transaction at ${baseName(tx.file)}:${tx.pos} has no GTID, so --from-gtid cannot place it: give --from FILE:POS or --since`, {
            file: baseName(tx.file),
            offset: tx.pos,
          });
        },
      };
    }
    case 'since':
      return { label: `start from time --since ${new Date(rule.time * 1000).toISOString()}`, judge: timeJudge(rule.time), checks: noChecks };
  }
}

function checkpointDecision(tx: Transaction, cp: Checkpoint | undefined): LostDecision | null {
  if (!cp) return null;
  if (tx.gtid !== null && cp.gtids?.contains(tx.gtid)) return { lost: false, reason: `${gtidText(tx.gtid)} was already applied by this engine (checkpoint)` };
  // A GTID the checkpoint's set lacks, below everything the set holds of its server, was never
  // read by this engine: an earlier run started later than this one (a --from-gtid too far on, a
  // leading file left out), and the position must not hide it. One in a hole of the set was passed
  // over by a run that read it (a damaged transaction skipped): the position passes it, as before.
  if (tx.gtid !== null && cp.gtids !== undefined && !cp.gtids.isEmpty && !cp.gtids.holdsBelow(tx.gtid)) return null;
  if (cp.position && compareBinlogPositions({ file: tx.file, pos: tx.end }, cp.position) <= 0) {
    return { lost: false, reason: `${baseName(tx.file)}:${tx.pos} ends at or before the checkpoint ${baseName(cp.position.file)}:${cp.position.pos}` };
  }
  return null;
}

/** Builds the filter that decides, transaction by transaction, which ones the DR never received. */
export function createLostFilter(rule: StartRule, options: LostFilterOptions = {}): LostFilter {
  const { judge, label, checks } = ruleJudge(rule, options);
  const lostSet = new LostSetAccumulator();
  const cp = options.checkpoint;
  const cpParts: string[] = [];
  if (cp?.gtids && !cp.gtids.isEmpty) cpParts.push(cp.gtids.toString());
  if (cp?.position) cpParts.push(`${baseName(cp.position.file)}:${cp.position.pos}`);
  const cpLabel = cpParts.length > 0 ? `; excluding the checkpoint ${cpParts.join(' / ')}` : '';
  return {
    lostSet,
    isLost(tx) {
      const decision = checkpointDecision(tx, cp) ?? judge(tx);
      if (decision.lost) lostSet.add(tx);
      return decision;
    },
    checks,
    describe(committed) {
      const doubts = checks();
      const more = committed === undefined ? 0 : lostSet.count - committed.count;
      const lost =
        committed === undefined
          ? `lost: ${lostSet.count} transaction(s) ${lostSet.toString()}`
          : `lost, following: ${committed.count} transaction(s) ${committed.toString()} in committed windows${more > 0 ? `; ${more} more read after the last one and not applied (the next run reads them again)` : ''}`;
      return `${label}${cpLabel}; ${lost}${doubts.length > 0 ? `; CHECK: ${doubts.join('; ')}` : ''}`;
    },
  };
}

/**
 * The GTIDs of `opening` (what the primary had written before the first file given: its GTID list
 * or previous-GTIDs, each run as its last GTID) that the rule calls lost and the checkpoint lacks:
 * lost transactions that lie before the input, so a run over it would miss them for ever. Empty
 * for rules that do not judge by GTID (a position, a time).
 */
export function lostBeforeInput(rule: StartRule, options: LostFilterOptions, opening: readonly Gtid[]): Gtid[] {
  const judge = rule.kind === 'gtid' ? gtidRuleJudge(rule.state, options, rule.ownServerId ?? null).judge : rule.kind === 'from-gtid' ? fromGtidJudge(rule.set).judge : null;
  if (judge === null) return [];
  const applied = options.checkpoint?.gtids;
  // A GTID of the other flavor is refused by the scan itself, with its own message.
  return opening.filter((g) => g.flavor === (rule.kind === 'gtid' ? rule.state.flavor : g.flavor) && applied?.contains(g) !== true && judge(g).lost);
}
