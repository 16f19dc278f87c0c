/**
 * `keepGtids`: each lost transaction is committed on the DR under its original GTID (DESIGN.md,
 * "Exactly once and resume"), so the DR's own GTID state records it and the old primary can
 * rejoin without errant transactions. MariaDB: `SET SESSION gtid_domain_id, server_id,
 * gtid_seq_no` before the transaction, the session's own domain and server id after; MySQL:
 * `SET gtid_next` before, `AUTOMATIC` after.
 *
 * The refusals here run before anything is written: where the DR could not record the GTIDs
 * honestly (no binary log, a GTID-less transaction, a sequence number the DR already passed in
 * the domain, its own writes interleaving in the domain, MySQL without gtid_mode ON), the run
 * stops with KeepGtidsError instead of writing GTIDs that lie or that break the DR's replicas.
 */
import { basename } from 'node:path';
import { gtidText, type Gtid, type Transaction } from '../binlog/transaction.js';
import type { SqlSession } from '../db/sql-session.js';
import { EngineError, type ErrorDetails } from '../errors.js';
import type { TransactionResult } from '../model/decision.js';
import { parseMariadbList } from '../model/gtid-set.js';

/** Stable codes of keepGtids' refusals; every one is raised before the run writes anything. */
export const KeepGtidsErrorCode = {
  /** The DR's binary log is off: a GTID would be recorded nowhere. */
  NoBinlog: 'KEEP_GTIDS_NO_BINLOG',
  /** MySQL: gtid_mode is not ON, so gtid_next cannot name a GTID. */
  GtidMode: 'KEEP_GTIDS_GTID_MODE',
  /** The DR account may not set the session's GTID variables (MariaDB: BINLOG REPLAY or SUPER). */
  Privilege: 'KEEP_GTIDS_PRIVILEGE',
  /** A lost transaction has no GTID (anonymous, pre-GTID logs). */
  NoGtid: 'KEEP_GTIDS_NO_GTID',
  /** MariaDB: the DR already logged a sequence number at or past a lost GTID's in its domain (the promotion overlap). */
  Overlap: 'KEEP_GTIDS_OVERLAP',
  /** MariaDB: the DR writes its own transactions in a lost GTID's domain, so their sequence numbers would interleave. */
  OwnDomain: 'KEEP_GTIDS_OWN_DOMAIN',
} as const;
export type KeepGtidsErrorCode = (typeof KeepGtidsErrorCode)[keyof typeof KeepGtidsErrorCode];

/** keepGtids cannot be honoured on this DR or this input; never retryable: nothing changes by itself. */
export class KeepGtidsError extends EngineError {
  declare readonly code: KeepGtidsErrorCode;
  constructor(code: KeepGtidsErrorCode, message: string, details: ErrorDetails = {}, cause?: unknown) {
    super(code, message, details, { retryable: false, cause });
  }
}

/** The session's own identity, put back after each transaction applied under a source GTID. */
export type SessionIdentity = { readonly flavor: 'mariadb'; readonly serverId: number; readonly domainId: number } | { readonly flavor: 'mysql' };

/** What the checks need of the lost range (pipeline/lost-range-scan.ts). */
export interface LostGtids {
  readonly gtidless: Transaction | null;
  readonly lowestByDomain: ReadonlyMap<number, Gtid>;
}

/** The statement that makes the session's next transaction carry `gtid`. */
export function gtidOnStatement(gtid: Gtid): string {
  if (gtid.flavor === 'mariadb') return `SET SESSION gtid_domain_id = ${gtid.domainId}, server_id = ${gtid.serverId}, gtid_seq_no = ${gtid.seqNo}`;
  // uuid, tag and number come from the decoder (hex digits, [a-z_][a-z0-9_]*, digits): nothing to escape.
  return `SET gtid_next = '${gtidText(gtid)}'`;
}

/**
 * The statement that gives the session its own identity back. MariaDB keeps gtid_seq_no after a
 * transaction that logged nothing (an empty one), so it is reset too; MySQL needs AUTOMATIC after
 * every transaction named by gtid_next, committed or rolled back.
 */
export function gtidOffStatement(own: SessionIdentity): string {
  if (own.flavor === 'mariadb') return `SET SESSION gtid_domain_id = ${own.domainId}, server_id = ${own.serverId}, gtid_seq_no = 0`;
  return "SET gtid_next = 'AUTOMATIC'";
}

/**
 * Whether a decided transaction is committed under its GTID: not when it is not on the DR — every
 * change quarantined (its state rows commit under the DR's own GTID), or damaged and skipped (its
 * content was never read). One whose changes were all already there or skipped by a rule is:
 * the DR then holds what the primary's transaction left, so its GTID set should say so.
 */
export function commitsUnderGtid(result: TransactionResult): boolean {
  if (result.tx.gtid === null) return false;
  if (result.decisions.some((d) => d.class === 'damaged')) return false;
  return !(result.decisions.length > 0 && result.decisions.every((d) => d.outcome === 'quarantined'));
}

/** The highest sequence number the DR logged per domain, and the entry that holds it, from gtid_binlog_pos and gtid_binlog_state. */
export function loggedByDomain(...lists: readonly string[]): Map<number, { readonly seqNo: bigint; readonly text: string }> {
  const out = new Map<number, { readonly seqNo: bigint; readonly text: string }>();
  for (const list of lists) {
    for (const p of parseMariadbList(list, 'gtid_binlog_state', false)) {
      const cur = out.get(p.domainId);
      if (cur === undefined || p.seqNo > cur.seqNo) out.set(p.domainId, { seqNo: p.seqNo, text: `${p.domainId}-${p.serverId}-${p.seqNo}` });
    }
  }
  return out;
}

/**
 * The refusals that depend only on the lost range and the DR's GTID state (pure): a lost
 * transaction without a GTID; on MariaDB a domain where the DR logged a sequence number at or
 * past the lowest lost one (MariaDB would log the lost GTIDs out of order, gtid_binlog_pos would
 * move backwards and the DR's replicas would take them as already seen or stop; gtid_strict_mode
 * rejects them outright), or where the DR's own writes go (`ownDomains`), which would take
 * sequence numbers in the middle of the lost ones while the run applies them.
 */
export function refuseLostGtids(
  lost: LostGtids,
  dr: { readonly flavor: 'mysql' } | { readonly flavor: 'mariadb'; readonly gtidBinlogPos: string; readonly gtidBinlogState: string; readonly ownDomains: readonly number[] },
  written = 'nothing was written',
): void {
  const anon = lost.gtidless;
  if (anon !== null) {
    throw new KeepGtidsError(
      KeepGtidsErrorCode.NoGtid,
      `--keep-gtids: the lost transaction at ${basename(anon.file)}:${anon.pos} has no GTID (anonymous, or a binlog written without GTIDs), so it has none to be applied under; run without --keep-gtids (${written})`,
      { file: basename(anon.file), offset: anon.pos, option: '--keep-gtids' },
    );
  }
  if (dr.flavor !== 'mariadb') return;
  const logged = loggedByDomain(dr.gtidBinlogPos, dr.gtidBinlogState);
  for (const [domain, low] of [...lost.lowestByDomain].sort(([a], [b]) => a - b)) {
    if (low.flavor !== 'mariadb') continue;
    const had = logged.get(domain);
    if (had === undefined || had.seqNo < low.seqNo) continue;
    throw new KeepGtidsError(
      KeepGtidsErrorCode.Overlap,
      `--keep-gtids: in domain ${domain} the DR already logged ${had.text}, at or past the lost ${gtidText(low)} (the promotion overlap: the DR wrote the domain's sequence numbers under its own server id). Applied under their GTIDs the lost transactions would be logged out of order, the DR's gtid_binlog_pos would move backwards and its replicas would skip or refuse them (gtid_strict_mode rejects them outright); run without --keep-gtids (${written})`,
      { gtid: gtidText(low), domain, drGtid: had.text, option: '--keep-gtids' },
    );
  }
  for (const domain of [...new Set(dr.ownDomains)].sort((a, b) => a - b)) {
    const low = lost.lowestByDomain.get(domain);
    if (low === undefined) continue;
    throw new KeepGtidsError(
      KeepGtidsErrorCode.OwnDomain,
      `--keep-gtids: the DR writes its own transactions in gtid_domain_id ${domain}, the domain of the lost ${gtidText(low)}: its writes while the run applies (the application's, and this run's own state rows) would take sequence numbers among the lost ones. Give the DR another domain for its own writes (SET GLOBAL gtid_domain_id = N, as for any promoted primary, and reconnect the application), or run without --keep-gtids (${written})`,
      { gtid: gtidText(low), domain, option: '--keep-gtids' },
    );
  }
}

/**
 * keepGtids under `--follow`, which has no first pass: the lost range's refusals come as each lost
 * transaction is met, before it is written (the windows before it committed under their GTIDs).
 * Each MariaDB one is checked against the DR's GTID state and global domain read just before
 * (refuseLostGtids: the promotion overlap, the DR's own domain) — a follow runs for hours, and the
 * DR's application may move into a lost domain meanwhile — and against what this run committed in
 * its domain (the source's binlog out of order: logged, it would move gtid_binlog_pos backwards).
 */
export class FollowedGtids {
  /** Per MariaDB domain: the highest sequence number this run committed there. */
  readonly #committed = new Map<number, { readonly seqNo: bigint; readonly text: string }>();

  /** Refuses `gtid` (KeepGtidsError), met while following; `written` says what the run committed. */
  meet(gtid: Gtid, dr: { readonly gtidBinlogPos: string; readonly gtidBinlogState: string; readonly ownDomains: readonly number[] }, written: string): void {
    if (gtid.flavor !== 'mariadb') return;
    const last = this.#committed.get(gtid.domainId);
    if (last !== undefined && gtid.seqNo <= last.seqNo) {
      throw new KeepGtidsError(
        KeepGtidsErrorCode.Overlap,
        `--keep-gtids: in domain ${gtid.domainId} this run already committed ${last.text} on the DR, at or past ${gtidText(gtid)}: the source wrote the domain out of order, and logged after it ${gtidText(gtid)} would move the DR's gtid_binlog_pos backwards; run without --keep-gtids (${written})`,
        { gtid: gtidText(gtid), domain: gtid.domainId, drGtid: last.text, option: '--keep-gtids' },
      );
    }
    refuseLostGtids({ gtidless: null, lowestByDomain: new Map([[gtid.domainId, gtid]]) }, { flavor: 'mariadb', ...dr }, written);
  }

  /** A transaction committed under `gtid`. */
  committed(gtid: Gtid): void {
    if (gtid.flavor !== 'mariadb') return;
    const last = this.#committed.get(gtid.domainId);
    if (last === undefined || gtid.seqNo > last.seqNo) this.#committed.set(gtid.domainId, { seqNo: gtid.seqNo, text: gtidText(gtid) });
  }
}

/** errno 1227: ER_SPECIFIC_ACCESS_DENIED_ERROR, "you need (at least one of) the … privilege(s)". */
const ACCESS_DENIED = 1227;

/**
 * The DR-side refusals: its binary log on, MySQL's gtid_mode ON, and the right to set the
 * session's GTID variables, tried with a SET that changes nothing (MariaDB 10.5.2+ asks BINLOG
 * REPLAY or SUPER; MySQL 8 REPLICATION_APPLIER, SYSTEM_VARIABLES_ADMIN or SESSION_VARIABLES_ADMIN).
 * Then the lost range's refusals (refuseLostGtids). Returns the session's own identity.
 */
export async function checkKeepGtids(session: SqlSession, flavor: 'mariadb' | 'mysql', lost: LostGtids, gtid: { readonly gtidBinlogPos: string; readonly gtidBinlogState: string }): Promise<SessionIdentity> {
  const logBin = String((await session.query('SELECT @@GLOBAL.log_bin AS b')).rows[0]?.['b'] ?? '0');
  if (logBin !== '1' && logBin.toUpperCase() !== 'ON') {
    throw new KeepGtidsError(KeepGtidsErrorCode.NoBinlog, "--keep-gtids: the DR's binary log is off (log_bin = OFF), so a GTID would be recorded nowhere: start the DR with log_bin (and log_slave_updates for its own replicas), or run without --keep-gtids (nothing was written)", {
      option: '--keep-gtids',
    });
  }
  if (flavor === 'mysql') {
    const mode = String((await session.query('SELECT @@GLOBAL.gtid_mode AS m')).rows[0]?.['m'] ?? '');
    if (mode.toUpperCase() !== 'ON') {
      throw new KeepGtidsError(KeepGtidsErrorCode.GtidMode, `--keep-gtids: the DR's gtid_mode is ${mode || '(unknown)'}, not ON: gtid_next cannot name a GTID there; run without --keep-gtids (nothing was written)`, {
        option: '--keep-gtids',
        gtidMode: mode,
      });
    }
  }
  const probe = flavor === 'mariadb' ? 'SET SESSION server_id = @@session.server_id, gtid_domain_id = @@session.gtid_domain_id' : "SET gtid_next = 'AUTOMATIC'";
  try {
    await session.query(probe);
  } catch (e) {
    if (!(e instanceof EngineError) || e.details.errno !== ACCESS_DENIED) throw e;
    const needs = flavor === 'mariadb' ? 'BINLOG REPLAY (or SUPER)' : 'REPLICATION_APPLIER, SYSTEM_VARIABLES_ADMIN or SESSION_VARIABLES_ADMIN';
    throw new KeepGtidsError(
      KeepGtidsErrorCode.Privilege,
      `--keep-gtids: the DR account may not set the session's GTID (${flavor === 'mariadb' ? 'gtid_domain_id, server_id, gtid_seq_no' : 'gtid_next'}): grant it ${needs} (GRANT ${flavor === 'mariadb' ? 'BINLOG REPLAY' : 'REPLICATION_APPLIER'} ON *.* TO …), or run without --keep-gtids (nothing was written)`,
      { option: '--keep-gtids', errno: ACCESS_DENIED, privilege: flavor === 'mariadb' ? 'BINLOG REPLAY' : 'REPLICATION_APPLIER' },
      e,
    );
  }
  if (flavor === 'mysql') {
    refuseLostGtids(lost, { flavor: 'mysql' });
    return { flavor: 'mysql' };
  }
  const { rows } = await session.query('SELECT @@session.server_id AS s, @@session.gtid_domain_id AS d, @@GLOBAL.gtid_domain_id AS g');
  const own = { flavor: 'mariadb' as const, serverId: Number(rows[0]?.['s']), domainId: Number(rows[0]?.['d']) };
  refuseLostGtids(lost, { flavor: 'mariadb', ...gtid, ownDomains: [own.domainId, Number(rows[0]?.['g'])] });
  return own;
}
