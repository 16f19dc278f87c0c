/**
 * Events grouped into transactions: GTID (or BEGIN) … rows … XID/COMMIT. MariaDB writes no BEGIN
 * (its GTID event opens the group); MySQL 8 may wrap a whole transaction in a compressed payload.
 * Only a group that reached its commit is emitted as a transaction; one cut off by the end of a
 * crashed file, a server restart or a ROLLBACK is reported as incomplete and never applied.
 */
import type { BinlogEvent, DamagedEvent, MariadbGtid, RowChange } from './event.js';
import { savepointControl, type SavepointControl } from './savepoint.js';

export type { RowChange } from './event.js';

export type Gtid =
  | { readonly flavor: 'mysql'; readonly uuid: string; readonly tag: string | null; readonly gno: bigint }
  | ({ readonly flavor: 'mariadb' } & MariadbGtid);

/** GTID as servers print it: `uuid:gno`, `uuid:tag:gno`, or MariaDB's `domain-server-seq`. */
export function gtidText(g: Gtid): string {
  if (g.flavor === 'mariadb') return `${g.domainId}-${g.serverId}-${g.seqNo}`;
  return g.tag === null ? `${g.uuid}:${g.gno}` : `${g.uuid}:${g.tag}:${g.gno}`;
}


/** A statement logged as SQL inside a transaction (statement-based DML, or DDL). */
export interface LoggedStatement {
  readonly sql: string;
  readonly schema: string;
  readonly offset: number;
}

/**
 * One ANNOTATE_ROWS / ROWS_QUERY event of a transaction: the statement whose row changes are
 * `changes[firstChange]` up to `endChange`. Kept whether or not the decoder kept the text, a few
 * numbers per statement, so a report can name the statement of a quarantined change without the
 * hot path decoding every text (DESIGN.md, pitfalls: they are ≈ 42 % of a MariaDB binlog's bytes).
 */
export interface StatementMark {
  readonly firstChange: number;
  /**
   * Just past the statement's last change: set by its STMT_END_F rows event; -1 while no such
   * event came (the changes up to the next mark are then taken as its).
   */
  readonly endChange: number;
  /** The text, when the decoder kept it (ROWS_QUERY always, ANNOTATE_ROWS with `annotations` on). */
  readonly sql: string | null;
  /** Where the text's bytes lie in the transaction's `file`, and how many (ANNOTATE_ROWS only; else -1, 0). */
  readonly textAt: number;
  readonly textLength: number;
  /**
   * Of the ANNOTATE_ROWS event: its header's timestamp and its stored CRC32 (-1 without checksums;
   * both -1 for ROWS_QUERY). A read-back takes the bytes at `textAt` for this statement only when
   * they are an event with the same size, timestamp and checksum (statement-texts.ts).
   */
  readonly eventTimestamp: number;
  readonly eventChecksum: number;
}

/**
 * The mark of the statement that produced `changes[index]`, or null when no annotation precedes
 * that change's rows event (the server logged none: binlog_annotate_row_events or
 * binlog_rows_query_log_events off, or a statement of the transaction logged without one).
 */
export function statementMarkOf(tx: Transaction, index: number): StatementMark | null {
  const marks = tx.statementMarks;
  for (let k = marks.length - 1; k >= 0; k--) {
    const m = marks[k]!;
    if (m.firstChange > index) continue;
    const end = m.endChange >= 0 ? m.endChange : k + 1 < marks.length ? marks[k + 1]!.firstChange : Infinity;
    return index < end ? m : null;
  }
  return null;
}

export interface Transaction {
  readonly gtid: Gtid | null;
  readonly file: string;
  /** Offset of the transaction's first event (its GTID event, or BEGIN). */
  readonly pos: number;
  /** Offset just after its commit event: where a reader resumes. */
  readonly end: number;
  /** Seconds since the epoch, from the first event's header. */
  readonly timestamp: number;
  readonly serverId: number;
  readonly changes: RowChange[];
  /** SQL statements in the group other than BEGIN/COMMIT: statement-based DML or DDL. */
  readonly statements: LoggedStatement[];
  /** The statement texts of the rows events (ANNOTATE_ROWS / ROWS_QUERY), when the decoder kept them. */
  readonly annotations: string[];
  /** Every ANNOTATE_ROWS / ROWS_QUERY event of the group, in order, text kept or not: see statementMarkOf. */
  readonly statementMarks: readonly StatementMark[];
  /** XID of the commit, or null for a COMMIT query or DDL. */
  readonly xid: bigint | null;
  /** 'xid' | 'commit' | 'ddl' (a standalone statement group) | 'xa-commit'. */
  readonly commit: 'xid' | 'commit' | 'ddl' | 'xa-commit';
}

/** `damaged`: a damaged event was passed over (the decoder's `damaged: 'skip'`), see `damage`. */
/** A schema change: CREATE, ALTER, DROP, RENAME or TRUNCATE, after any leading comments. */
const DDL_SQL = /^(?:\s|\/\*[\s\S]*?\*\/)*(?:CREATE|ALTER|DROP|RENAME|TRUNCATE)\b/i;

/**
 * The schema changes of a transaction: every statement of a standalone statement group, and a
 * DDL statement inside a transaction with rows — `CREATE TABLE … SELECT` is logged as its
 * CREATE TABLE followed by the selected rows and a COMMIT, so only the SQL tells it apart from
 * statement-based DML.
 */
export function ddlStatements(tx: Transaction): readonly LoggedStatement[] {
  if (tx.commit === 'ddl') return tx.statements;
  if (tx.statements.length === 0) return tx.statements;
  return tx.statements.filter((st) => DDL_SQL.test(st.sql));
}

/**
 * `cut-short`: the file ends inside the group although the server closed the file whole (its format
 * description is not marked in use): the copy is short, and the group may well have committed.
 */
export type IncompleteReason = 'end-of-input' | 'cut-short' | 'new-group-started' | 'server-restart' | 'rolled-back' | 'xa-prepared-only' | 'damaged';

/** What a skipped damaged event cut: the event, and the group it was part of. */
export interface DamageFacts {
  /** The damaged event: where it starts, its size, and its type as its (perhaps damaged) header says. */
  readonly offset: number;
  readonly size: number;
  readonly eventType: number;
  /** The error it failed with (a BinlogErrorCode) and its message. */
  readonly code: string;
  readonly message: string;
  /** Of the group's first event, else of the damaged event's header. */
  readonly timestamp: number;
  readonly serverId: number;
  /**
   * The damaged event stood alone between two transactions (none was open, and the next event
   * opened one): no transaction lost anything to it.
   */
  readonly betweenTransactions: boolean;
  /** Events passed over after it, up to the next transaction (further damaged ones among them). */
  readonly skippedEvents: number;
}

/** A group that did not reach its commit: reported, never applied. */
export interface IncompleteTransaction {
  readonly gtid: Gtid | null;
  readonly file: string;
  readonly pos: number;
  /** Offset after the last event of the group that was read. */
  readonly end: number;
  readonly reason: IncompleteReason;
  readonly changes: number;
  /** Seconds since the epoch, from the group's first event (of the damaged event when no group was open). */
  readonly timestamp: number;
  /** The tables its row changes read so far wrote, each once: what the selection filters match. */
  readonly tables: readonly { readonly schema: string; readonly table: string }[];
  /** The statements read so far (statement-based DML, DDL, savepoints). */
  readonly statements: readonly LoggedStatement[];
  /** Reason `damaged` only. */
  readonly damage?: DamageFacts;
}

export type TransactionItem = { readonly kind: 'transaction'; readonly tx: Transaction } | { readonly kind: 'incomplete'; readonly tx: IncompleteTransaction };

interface OpenGroup {
  gtid: Gtid | null;
  pos: number;
  end: number;
  timestamp: number;
  serverId: number;
  changes: RowChange[];
  statements: LoggedStatement[];
  annotations: string[];
  marks: OpenMark[];
  /** MariaDB standalone GTID or MySQL GTID followed by DDL: the next statement ends the group. */
  standalone: boolean;
  sawBegin: boolean;
  /** Opened by a rows event, with no GTID or BEGIN before it: an autocommitted statement (see 'rows'). */
  bare: boolean;
  /** Savepoints set and not yet released, oldest first. */
  savepoints: SavepointMark[];
  /** How many of `statements` are savepoint statements applied to the group (transaction control). */
  controls: number;
}

/** A StatementMark while its group is read: its end is set when the statement's last rows event comes. */
type OpenMark = { -readonly [K in keyof StatementMark]: StatementMark[K] };

/** What the group held when a savepoint was set: a ROLLBACK TO it cuts the group back to this. */
interface SavepointMark {
  readonly name: string;
  readonly changes: number;
  readonly annotations: number;
  readonly marks: number;
}

/** Rows event flag: the last rows event of its statement (log_event.h STMT_END_F). */
const STMT_END_F = 0x1;

function isBegin(sql: string): boolean {
  return sql.length < 12 && /^\s*(BEGIN|START TRANSACTION)\s*$/i.test(sql);
}
function isCommit(sql: string): boolean {
  return sql.length < 12 && /^\s*COMMIT\s*$/i.test(sql);
}
/** A whole-transaction ROLLBACK; `ROLLBACK TO [SAVEPOINT] x` undoes only part of it (savepoint.ts). */
function isRollback(sql: string): boolean {
  return sql.length < 32 && /^\s*ROLLBACK\b(?!\s+(?:WORK\s+)?TO\b)/i.test(sql);
}
function isXaCommit(sql: string): boolean {
  return /^\s*XA\s+COMMIT\b/i.test(sql);
}
/** MySQL opens an XA transaction with `XA START X'…',X'…',n` in place of BEGIN (binlog.cc). */
function isXaStart(sql: string): boolean {
  return /^\s*XA\s+(START|BEGIN)\b/i.test(sql);
}
/**
 * `XA END xid` ends the branch's work before XA PREPARE (or a ONE PHASE commit): transaction
 * control both MySQL and MariaDB log between the rows and the XA_PREPARE event, never DML.
 */
function isXaEnd(sql: string): boolean {
  return /^\s*XA\s+END\b/i.test(sql);
}
function isXaRollback(sql: string): boolean {
  return /^\s*XA\s+ROLLBACK\b/i.test(sql);
}
/**
 * The gtrid of `XA COMMIT|ROLLBACK xid` as latin1 (the key XA_PREPARE's gtrid is filed under).
 * Servers log the xid serialized, `X'hex',X'hex',formatID` (MySQL xa_aux.h serialize_xid; MariaDB
 * the same); a hand-written `'gtrid'` is accepted too.
 */
function xaGtrid(sql: string): string {
  const hex = /^\s*XA\s+\w+\s+X'([0-9a-fA-F]*)'/i.exec(sql);
  if (hex) return Buffer.from(hex[1]!, 'hex').toString('latin1');
  return /'([^']*)'/.exec(sql)?.[1] ?? sql;
}

/** The tables `changes` write, each once, in order of first change (a rows event reuses one TableMap per table). */
function tablesOf(changes: readonly RowChange[]): { readonly schema: string; readonly table: string }[] {
  const seen = new Set<RowChange['table']>();
  const out: { schema: string; table: string }[] = [];
  for (const c of changes) {
    if (seen.has(c.table)) continue;
    seen.add(c.table);
    if (!out.some((t) => t.schema === c.table.schema && t.table === c.table.table)) out.push({ schema: c.table.schema, table: c.table.table });
  }
  return out;
}

/** Groups a stream of decoded events into transactions. Pure; one instance per source stream. */
export class TransactionAssembler {
  #file: string;
  #open: OpenGroup | null = null;
  /** XA transactions prepared and awaiting XA COMMIT (rare in a recovery; kept whole). */
  readonly #prepared = new Map<string, OpenGroup>();
  /** While inside a transaction payload: where the payload ends (inner events carry its offset). */
  #payloadEnd: number | null = null;
  /** A damaged event was passed over: what it cut, reported once the next transaction starts. */
  #damage: { group: OpenGroup | null; event: DamagedEvent; file: string; end: number; skipped: number } | null = null;
  /** Offset of the first TABLE_MAP read while no group was open (-1: none): where a bare statement starts. */
  #mapAt = -1;

  constructor(file = '<stream>') {
    this.#file = file;
  }

  /** The source moved on to another file (after a ROTATE). */
  setFile(file: string): void {
    this.#file = file;
  }

  get file(): string {
    return this.#file;
  }

  /** Where the open group starts, or null when none is open. */
  get openPos(): number | null {
    return this.#open?.pos ?? null;
  }

  /** Whether a group is open (the reader is inside a transaction). */
  get inTransaction(): boolean {
    return this.#open !== null;
  }

  /** Feeds decoded events; returns the transactions they completed (and incomplete ones they ended). */
  push(events: readonly BinlogEvent[], out: TransactionItem[] = []): TransactionItem[] {
    for (const e of events) this.#one(e, out);
    return out;
  }

  /** A file the server closed whole ended inside the open group (a short copy): it is incomplete, `cut-short`. */
  cutShort(out: TransactionItem[] = []): TransactionItem[] {
    this.#flushDamage(out);
    if (this.#open) this.#abandon('cut-short', out);
    return out;
  }

  /** The input ended: an open group is incomplete. */
  end(out: TransactionItem[] = []): TransactionItem[] {
    this.#flushDamage(out);
    if (this.#open) this.#abandon('end-of-input', out);
    for (const g of this.#prepared.values()) out.push({ kind: 'incomplete', tx: this.#incomplete(g, 'xa-prepared-only') });
    this.#prepared.clear();
    return out;
  }

  #start(e: BinlogEvent, gtid: Gtid | null, standalone: boolean, out: TransactionItem[]): OpenGroup {
    if (this.#open) this.#abandon('new-group-started', out);
    const g: OpenGroup = {
      gtid,
      pos: e.kind === 'rows' && this.#mapAt >= 0 ? this.#mapAt : e.header.offset,
      end: this.#endOf(e),
      timestamp: e.header.timestamp,
      serverId: e.header.serverId,
      changes: [],
      statements: [],
      annotations: [],
      marks: [],
      standalone,
      sawBegin: false,
      bare: false,
      savepoints: [],
      controls: 0,
    };
    this.#open = g;
    this.#mapAt = -1;
    return g;
  }

  #endOf(e: BinlogEvent): number {
    return this.#payloadEnd ?? e.header.offset + e.header.size;
  }

  #incomplete(g: OpenGroup, reason: IncompleteReason): IncompleteTransaction {
    return { gtid: g.gtid, file: this.#file, pos: g.pos, end: g.end, reason, changes: g.changes.length, timestamp: g.timestamp, tables: tablesOf(g.changes), statements: g.statements };
  }

  #abandon(reason: IncompleteReason, out: TransactionItem[]): void {
    const g = this.#open!;
    this.#open = null;
    out.push({ kind: 'incomplete', tx: this.#incomplete(g, reason) });
  }

  #finish(g: OpenGroup, commit: Transaction['commit'], xid: bigint | null, out: TransactionItem[]): void {
    this.#open = null;
    out.push({
      kind: 'transaction',
      tx: {
        gtid: g.gtid,
        file: this.#file,
        pos: g.pos,
        end: g.end,
        timestamp: g.timestamp,
        serverId: g.serverId,
        changes: g.changes,
        // Savepoint statements alone are transaction control, not statements. Beside statement-based
        // DML they stay, in order: its SQL is quarantined to be run by hand, and run as logged it
        // does what the server did (a ROLLBACK TO undoes non-transactional changes in it or not alike).
        statements: g.statements.length === g.controls ? [] : g.statements,
        annotations: g.annotations,
        statementMarks: g.marks,
        xid,
        commit,
      },
    });
  }

  /** Reports the damaged event passed over, with the group it cut (if one was open). */
  #flushDamage(out: TransactionItem[]): void {
    const d = this.#damage;
    if (d === null) return;
    this.#damage = null;
    const g = d.group;
    const h = d.event.header;
    out.push({
      kind: 'incomplete',
      tx: {
        gtid: g?.gtid ?? null,
        file: d.file,
        pos: g?.pos ?? h.offset,
        end: d.end,
        reason: 'damaged',
        changes: g?.changes.length ?? 0,
        timestamp: g?.timestamp ?? h.timestamp,
        tables: g === null ? [] : tablesOf(g.changes),
        statements: g?.statements ?? [],
        damage: {
          offset: h.offset,
          size: h.size,
          eventType: h.typeCode,
          code: d.event.code,
          message: d.event.message,
          timestamp: g?.timestamp ?? h.timestamp,
          serverId: g?.serverId ?? h.serverId,
          betweenTransactions: g === null && d.skipped === 0,
          skippedEvents: d.skipped,
        },
      },
    });
  }

  #one(e: BinlogEvent, out: TransactionItem[]): void {
    if (this.#damage !== null) {
      // The decoder passes over the rest of the damaged transaction (as `ignored`) up to the next
      // GTID event; a format description, rotate or stop ends it too.
      switch (e.kind) {
        case 'gtid':
        case 'mariadb-gtid':
        case 'format-description':
        case 'rotate':
        case 'stop':
          this.#flushDamage(out);
          break;
        case 'gtid-list':
        case 'binlog-checkpoint':
        case 'previous-gtids':
        case 'heartbeat':
          return;
        default:
          this.#damage.skipped++;
          this.#damage.end = this.#endOf(e);
          return;
      }
    }
    if (e.kind === 'damaged') {
      // Whatever was open is cut by it: never emitted, never guessed at.
      this.#damage = { group: this.#open, event: e, file: this.#file, end: e.header.offset + e.header.size, skipped: 0 };
      this.#open = null;
      return;
    }
    const g = this.#open;
    if (g) g.end = this.#endOf(e);
    switch (e.kind) {
      case 'gtid':
        this.#start(e, e.anonymous ? null : { flavor: 'mysql', uuid: e.uuid, tag: e.tag, gno: e.gno }, false, out);
        return;
      case 'mariadb-gtid': {
        // Field by field: a spread copies through the generic CopyDataProperties path (~1,000 instructions per transaction).
        const g2 = e.gtid;
        const ng = this.#start(e, { flavor: 'mariadb', domainId: g2.domainId, serverId: g2.serverId, seqNo: g2.seqNo }, e.standalone, out);
        ng.sawBegin = !e.standalone;
        return;
      }
      case 'query': {
        const sql = e.sql;
        if (isBegin(sql) || isXaStart(sql)) {
          const cur = this.#open && !this.#open.sawBegin && this.#open.changes.length === 0 && this.#open.statements.length === 0 ? this.#open : this.#start(e, null, false, out);
          cur.sawBegin = true;
          return;
        }
        if (!g) {
          // A statement outside any group (no GTIDs, autocommit DDL): a group of its own.
          const own = this.#start(e, null, true, out);
          own.statements.push({ sql, schema: e.schema, offset: e.header.offset });
          this.#finish(own, 'ddl', null, out);
          return;
        }
        if (isCommit(sql)) {
          this.#finish(g, 'commit', null, out);
          return;
        }
        if (isXaEnd(sql)) return;
        const control = savepointControl(sql);
        if (control !== null && applySavepoint(g, control)) {
          g.statements.push({ sql, schema: e.schema, offset: e.header.offset });
          g.controls++;
          return;
        }
        if (isRollback(sql)) {
          this.#abandon('rolled-back', out);
          return;
        }
        if (isXaCommit(sql) || isXaRollback(sql)) {
          const key = xaGtrid(sql);
          const prepared = this.#prepared.get(key);
          if (prepared) {
            this.#prepared.delete(key);
            this.#open = null;
            prepared.end = this.#endOf(e);
            if (isXaCommit(sql)) this.#finish(prepared, 'xa-commit', null, out);
            else out.push({ kind: 'incomplete', tx: this.#incomplete(prepared, 'rolled-back') });
            return;
          }
        }
        g.statements.push({ sql, schema: e.schema, offset: e.header.offset });
        if (g.standalone || !g.sawBegin) this.#finish(g, 'ddl', null, out);
        return;
      }
      case 'xid':
        if (g) this.#finish(g, 'xid', e.xid, out);
        return;
      case 'xa-prepare':
        if (g) {
          // XA COMMIT … ONE PHASE is logged as an XA_PREPARE with one_phase set: it commits.
          if (e.onePhase) {
            this.#finish(g, 'xa-commit', null, out);
            return;
          }
          this.#open = null;
          this.#prepared.set(e.gtrid.toString('latin1'), g);
        }
        return;
      case 'table-map':
        if (!g && this.#mapAt < 0) this.#mapAt = e.header.offset;
        return;
      case 'rows': {
        const cur = g ?? this.#start(e, null, false, out);
        if (!g) {
          cur.sawBegin = true;
          cur.bare = true;
        }
        for (const row of e.rows) cur.changes.push(row);
        // The statement's last rows event: changes after it are another statement's, annotated or not.
        if ((e.flags & STMT_END_F) !== 0 && cur.marks.length > 0) {
          const last = cur.marks[cur.marks.length - 1]!;
          if (last.endChange < 0) last.endChange = cur.changes.length;
        }
        // MySQL 5.1 before GA (5.1.23) logged an autocommitted statement on a non-transactional table
        // as its TABLE_MAP and rows events alone, no BEGIN/COMMIT: the STMT_END_F event ends it, and
        // it was applied (nothing rolls MyISAM back). Later servers wrap it in BEGIN … COMMIT (MySQL
        // binlog.cc's statement cache; MariaDB after its GTID event), so their groups are never bare;
        // a bare group cut before its STMT_END_F stays incomplete.
        if (cur.bare && (e.flags & STMT_END_F) !== 0) this.#finish(cur, 'commit', null, out);
        return;
      }
      case 'annotate-rows':
        if (g) {
          if (e.sql !== null) g.annotations.push(e.sql);
          g.marks.push({ firstChange: g.changes.length, endChange: -1, sql: e.sql, textAt: e.textAt, textLength: e.textLength, eventTimestamp: e.header.timestamp, eventChecksum: e.checksum ?? -1 });
        }
        return;
      case 'rows-query':
        if (g) {
          g.annotations.push(e.sql);
          g.marks.push({ firstChange: g.changes.length, endChange: -1, sql: e.sql, textAt: -1, textLength: 0, eventTimestamp: -1, eventChecksum: -1 });
        }
        return;
      case 'transaction-payload':
        this.#payloadEnd = e.header.offset + e.header.size;
        if (g) g.end = this.#payloadEnd;
        try {
          for (const inner of e.events) this.#one(inner, out);
        } finally {
          this.#payloadEnd = null;
        }
        return;
      case 'format-description':
        // A new FDE inside a group means the server restarted (or a relay log switched masters):
        // the open group never committed.
        if (g) this.#abandon('server-restart', out);
        return;
      case 'stop':
        if (g) this.#abandon('server-restart', out);
        return;
      default:
        return;
    }
  }
}

/**
 * Applies a savepoint statement to the open group's row changes, as the DR's InnoDB would:
 * SAVEPOINT marks what the group holds (a reused name moves), ROLLBACK TO drops the row changes
 * after the mark and keeps the mark, RELEASE forgets the mark and the ones after it. Logged
 * statements are not dropped (see #finish). False for a ROLLBACK TO a savepoint the group never
 * set: which changes it undid is unknown, so the caller keeps it as a statement (and the
 * transaction is quarantined whole with its SQL) rather than guess.
 */
function applySavepoint(g: OpenGroup, control: SavepointControl): boolean {
  const at = g.savepoints.findIndex((s) => s.name === control.name);
  switch (control.kind) {
    case 'savepoint':
      if (at >= 0) g.savepoints.splice(at, 1);
      g.savepoints.push({ name: control.name, changes: g.changes.length, annotations: g.annotations.length, marks: g.marks.length });
      return true;
    case 'rollback-to': {
      if (at < 0) return false;
      const mark = g.savepoints[at]!;
      g.changes.length = mark.changes;
      g.annotations.length = mark.annotations;
      g.marks.length = mark.marks;
      g.savepoints.length = at + 1;
      return true;
    }
    case 'release':
      if (at >= 0) g.savepoints.length = at;
      return true;
  }
}
