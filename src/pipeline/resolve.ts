/**
 * Quarantine review (DESIGN.md "Strategies": quarantine — "re-apply later after review"; "The
 * command line": quarantine, resolve, explain). Reads what waits for a decision, exports it as the
 * JSONL file a DBA edits, and carries the decisions out exactly once:
 *
 * - each decided entry in a DR transaction of its own: its quarantine row locked (FOR UPDATE) and
 *   refused unless still pending, so a second run of the same file does nothing;
 * - the DR rows it touches re-read FOR UPDATE and compared with the row the change met when it was
 *   quarantined (D): a row the DR changed since is refused, never overwritten on a stale review;
 * - the write, the ledger row's new outcome and the quarantine row's `resolved` status commit
 *   together, or none of them does;
 * - an entry held back because of another (its reason names the origin as `GTID#index`: an earlier
 *   change of the same row, a quarantined parent, or the rest of a transaction kept whole) is
 *   refused while that origin is pending; a `link` records old → new in the key map, so every
 *   dependant applied after it follows the DR row it was linked to.
 *
 * Values in images and edited rows are canonical JSON in source terms (the binlog's keys): they are
 * converted by the DR's column types (reconcile/from-canonical.ts) and rewritten through the key map
 * before they are written.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ColumnDef, ColumnValue, RowImage } from '../binlog/column.js';
import type { RowChange } from '../binlog/event.js';
import { RawJson, stringifyCanonical, toCanonical, type CanonicalValue } from '../binlog/values/canonical-json.js';
import { zod } from '../config/zod.js';
import { isDataRejection, mapDbError } from '../db/db-errors.js';
import { isLostConnection } from '../db/lost-connection.js';
import type { ConnectionTarget } from '../db/connection-url.js';
import { redact } from '../db/connection-url.js';
import { stateExists } from '../db/dr-state.js';
import { introspectSchemas, referencingSchemas } from '../db/introspect.js';
import { describeTrigger, readTriggers } from '../db/triggers.js';
import { watchStallsFor, type StallNotice } from '../db/stall-watch.js';
import { readRun, runOptions } from '../db/run-store.js';
import {
  countPendingQuarantine,
  lockQuarantineStatus,
  markQuarantineResolved,
  readLedgerEntries,
  readQuarantineEntries,
  readRuleSkippedInserts,
  recordLedgerDecision,
  type QuarantineStatusFilter,
  type StoredLedgerEntry,
  type StoredQuarantineEntry,
  type StoredSkippedInsert,
} from '../db/quarantine-store.js';
import { readRowsByImages, readRowsByKeys, readRowsMatching, unreadableReason } from '../db/row-reader.js';
import { writeDeleteByImage, writeDeletes, writeInserts, writeUpdateByImage, writeUpdates } from '../db/row-writer.js';
import { openSession, type SqlSession } from '../db/sql-session.js';
import { ReopenedSession, type FirstConnectionOptions } from '../db/first-connection.js';
import { DEFAULT_STATE_SCHEMA, ensureStateSchema, quoteIdent } from '../db/state-schema.js';
import {
  canonicalKey,
  failRun,
  findStartedRun,
  finishRun,
  lastRunId,
  loadKeyMap,
  markDeadResolveRuns,
  recordKeyMap,
  recordSkippedInsert,
  runLockName,
  sessionConnectionId,
  startRun,
  takeNamedLock,
  type KeyPart,
} from '../db/state-store.js';
import { EngineError } from '../errors.js';
import { tableMapOf, toCanonicalRow } from '../model/canonical-row.js';
import { checkMariadbGtidRange, GtidSet, GtidSetError } from '../model/gtid-set.js';
import { rowKey } from '../model/row-key.js';
import { addRecordedReferences, schemaCandidates, type RecordedReference, type SchemaCatalog, type TableSchema } from '../model/table-schema.js';
import { FromCanonicalError, keyFromCanonical, parseExactJson, rowFromCanonical, type JsonPath } from '../reconcile/from-canonical.js';
import { KeyMap } from '../reconcile/key-map.js';
import { KeylessRows } from '../reconcile/keyless-rows.js';
import { UPDATE_MISSING_CLASSES } from '../reconcile/classify.js';
import { keyText } from '../reconcile/reconciler.js';
import { applyRemaps } from '../reconcile/remap.js';
import { insertedRow } from '../reconcile/written-row.js';
import { sameExactValue, sameUniqueValue, sameValue } from '../reconcile/value-equality.js';
import { LostInserts, type ParentMatch } from './lost-parents.js';

export const ReviewErrorCode = {
  /** The DR has no state schema (no apply ran against it, or another --state-schema). */
  NoState: 'REVIEW_NO_STATE',
  /** The decisions file has problems (all of them listed); nothing was applied. */
  BadFile: 'RESOLVE_BAD_FILE',
  /** `quarantine show ID` of an entry the DR does not have. */
  UnknownEntry: 'REVIEW_UNKNOWN_ENTRY',
  /** `explain`: no ledger row for that change. */
  NotFound: 'EXPLAIN_NOT_FOUND',
  /** `explain`: the change named is neither a GTID nor FILE:POS (with an optional #N). */
  BadChange: 'EXPLAIN_BAD_CHANGE',
  /** The DR failed mid-run; entries finished before it stay resolved. */
  Fault: 'RESOLVE_FAULT',
  /**
   * Without `allowTriggers`: the DR has triggers on tables the decisions write, which would fire on
   * resolve's writes as on apply's (SALVAGE_DR_TRIGGERS); `details.triggers` names them. Nothing carried out.
   */
  Triggers: 'RESOLVE_DR_TRIGGERS',
} as const;
export type ReviewErrorCode = (typeof ReviewErrorCode)[keyof typeof ReviewErrorCode];

export class ReviewError extends EngineError {}

/**
 * Where the state lives. The first connection to the DR is tried again while it does not answer
 * (`reconnect`, `onReconnect`: src/db/first-connection.ts); a refusal no retry cures fails at once.
 */
export interface ReviewOptions extends FirstConnectionOptions {
  readonly target: ConnectionTarget;
  /** The DR-side state schema (default `salvage`). */
  readonly stateSchema?: string;
}

// ---- the review model -----------------------------------------------------------------------

/** One quarantine entry as a reviewer sees it; values in canonical JSON (JSON documents kept as their text). */
export interface QuarantineEntry {
  readonly id: number;
  readonly status: string;
  readonly runId: number;
  readonly sourceId: string;
  /** The change's transaction: its GTID, else `file:pos`. */
  readonly at: string;
  readonly gtid: string | null;
  /** Index of the change in its transaction. */
  readonly index: number;
  /** `GTID#index` (or `file:pos#index`): how reasons name the change. */
  readonly label: string;
  readonly table: string;
  /** `insert`, `update`, `delete`, or `sql` for a statement. */
  readonly op: string;
  readonly class: string;
  /** Why it was held back. */
  readonly reason: string | null;
  /** The source row's primary key as the binlog logged it. */
  readonly key: readonly CanonicalValue[] | null;
  readonly before: Readonly<Record<string, CanonicalValue>> | null;
  readonly after: Readonly<Record<string, CanonicalValue>> | null;
  /** The DR row the change met when it was quarantined (null: none, or not one the class needs). */
  readonly dr: Readonly<Record<string, CanonicalValue>> | null;
  readonly createdAt: string;
  readonly resolvedAt: string | null;
  /** How it was resolved (the ledger's reason), once resolved. */
  readonly resolution: string | null;
  /** The change whose quarantine holds this one back, with its entry id when the DR has it. */
  readonly origin: { readonly label: string; readonly id: number | null } | null;
  /** Ids of the pending entries held back because of this one. */
  readonly dependants: readonly number[];
  /** The SQL statement that produced the change (its binlog annotation); absent when the binlog logged none. */
  readonly statement?: string;
}

/** Options of `readQuarantine`. */
export interface ReadQuarantineOptions extends ReviewOptions {
  /** Default `pending`. */
  readonly status?: QuarantineStatusFilter;
}

const IMAGE_RAW = (p: JsonPath): boolean => p.length === 1;

/** The quarantine entries with `status`, in the order they were held back, with origins and dependants. */
export async function readQuarantine(options: ReadQuarantineOptions): Promise<QuarantineEntry[]> {
  const schema = options.stateSchema ?? DEFAULT_STATE_SCHEMA;
  return reviewSession(options).run('read', async (session) => {
    await requireState(session, schema);
    const all = reviewEntries(await readQuarantineEntries(session, schema, 'all'));
    const status = options.status ?? 'pending';
    return status === 'all' ? all : all.filter((e) => e.status === status);
  });
}

/**
 * The DR session of a review command: its first connection tried again while the DR does not
 * answer, a connection lost later reopened under the same policy (`reconnect`, `onReconnect`).
 */
export function reviewSession(options: FirstConnectionOptions & { readonly target: ConnectionTarget }, hint?: string): ReopenedSession {
  return new ReopenedSession(options.target, { reconnect: options.reconnect, notify: options.onReconnect, option: '--target', ...(hint === undefined ? {} : { hint }) });
}

async function requireState(session: SqlSession, schema: string): Promise<void> {
  if (!(await stateExists(session, schema))) {
    throw new ReviewError(ReviewErrorCode.NoState, `the DR has no state schema ${quoteIdent(schema)}: no salvage apply has run against it (or give its name with --state-schema)`, {
      option: '--state-schema',
    });
  }
}

/**
 * The origin a reason names: `kept whole with LABEL (class)`, `… is quarantined (LABEL)` (reconciler.ts).
 * Only for entries recorded before the quarantine table had its `origin` column.
 */
export function originOf(reason: string | null): string | null {
  if (reason === null) return null;
  const whole = /^kept whole with (.+#\d+) \([^()]*\)$/.exec(reason);
  if (whole !== null) return whole[1]!;
  const held = / is quarantined \(([^()]+#\d+)\)/.exec(reason);
  return held === null ? null : held[1]!;
}

function reviewEntries(stored: readonly StoredQuarantineEntry[]): QuarantineEntry[] {
  const byLabel = new Map(stored.map((s) => [`${s.sourceId}\u0000${s.changeAt}#${s.changeIndex}`, s.id]));
  // An origin of another source id: the same primary read as files and then live is one source
  // under two ids, and apply holds a row for every one of them (salvage.ts #loadState).
  const anySource = new Map<string, number>();
  for (const s of stored) if (!anySource.has(`${s.changeAt}#${s.changeIndex}`)) anySource.set(`${s.changeAt}#${s.changeIndex}`, s.id);
  const origins = new Map<number, { label: string; id: number | null }>();
  const dependants = new Map<number, number[]>();
  for (const s of stored) {
    const label = s.origin ?? originOf(s.reason);
    if (label === null) continue;
    const id = byLabel.get(`${s.sourceId}\u0000${label}`) ?? anySource.get(label) ?? null;
    origins.set(s.id, { label, id });
    if (id !== null && s.status === 'pending') {
      const list = dependants.get(id) ?? [];
      list.push(s.id);
      dependants.set(id, list);
    }
  }
  return stored.map((s) => ({
    id: s.id,
    status: s.status,
    runId: s.runId,
    sourceId: s.sourceId,
    at: s.changeAt,
    gtid: s.gtid,
    index: s.changeIndex,
    label: `${s.changeAt}#${s.changeIndex}`,
    table: s.table,
    op: s.op,
    class: s.class,
    reason: s.reason,
    key: s.sourceKey === null || s.op === 'sql' ? null : (parseExactJson(s.sourceKey) as CanonicalValue[]),
    before: image(s.beforeImage),
    after: image(s.afterImage),
    dr: image(s.drImage),
    createdAt: s.createdAt,
    resolvedAt: s.resolvedAt,
    resolution: s.status === 'pending' ? null : s.ledgerReason,
    origin: origins.get(s.id) ?? null,
    dependants: dependants.get(s.id) ?? [],
    ...(s.statement === null ? {} : { statement: s.statement }),
  }));
}

function image(text: string | null): Record<string, CanonicalValue> | null {
  return text === null ? null : (parseExactJson(text, IMAGE_RAW) as Record<string, CanonicalValue>);
}

/** A change as people read it: the GTID, or the file's base name and position, then `#index`. */
export function shortLabel(label: string): string {
  return label.includes('/') ? basename(label) : label;
}

/**
 * One line of the decisions file (no newline): `{id, gtid, index, table, op, class, reason, key,
 * before, after, dr, dependants, decision: null}` in canonical JSON (`at` too, for a source
 * without GTIDs); the reviewer fills in `decision`.
 */
export function exportLine(e: QuarantineEntry): string {
  const line: Record<string, unknown> = { id: e.id, gtid: e.gtid };
  if (e.gtid === null) line['at'] = e.at;
  Object.assign(line, { index: e.index, table: e.table, op: e.op, class: e.class, reason: e.reason });
  if (e.statement !== undefined) line['statement'] = e.statement;
  Object.assign(line, { key: e.key, before: e.before, after: e.after, dr: e.dr, dependants: e.dependants, decision: null });
  return stringifyCanonical(line);
}

// ---- the decisions file ---------------------------------------------------------------------

/** What a reviewer decided for one entry. */
export type ReviewDecision =
  /** Apply the change as logged, or with `row` as its after image (canonical JSON, source keys). */
  | { readonly action: 'apply'; readonly row?: Readonly<Record<string, CanonicalValue>>; readonly note?: string }
  /** The lost row is the DR row with primary key `key`: map the source key to it; nothing is written. */
  | { readonly action: 'link'; readonly key: readonly CanonicalValue[]; readonly note?: string }
  /** Leave the DR as it is. */
  | { readonly action: 'skip'; readonly note?: string };

/** One line of the file: the entry, its decision (null: left pending) and what the line says the entry is. */
export interface DecisionLine {
  readonly line: number;
  readonly id: number;
  readonly decision: ReviewDecision | null;
  readonly says: { readonly gtid?: string | null; readonly index?: number; readonly table?: string };
}

/** A problem of the file, by line (1-based). */
export interface FileProblem {
  readonly line: number;
  readonly message: string;
}

const DECISION_RAW = (p: JsonPath): boolean => (p.length === 2 && (p[0] === 'before' || p[0] === 'after' || p[0] === 'dr')) || (p.length === 3 && p[0] === 'decision' && p[1] === 'row');
const FIELDS: Readonly<Record<ReviewDecision['action'], readonly string[]>> = { apply: ['action', 'row', 'note'], link: ['action', 'key', 'note'], skip: ['action', 'note'] };

/** Reads a decisions file (exported JSONL with `decision` filled in); every problem is reported with its line. */
export function parseDecisionFile(text: string): { readonly lines: DecisionLine[]; readonly problems: FileProblem[] } {
  const lines: DecisionLine[] = [];
  const problems: FileProblem[] = [];
  const seen = new Map<number, number>();
  // Editors on Windows save UTF-8 with a byte order mark; it is no part of the first line's JSON.
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  body.split('\n').forEach((raw, i) => {
    const n = i + 1;
    const source = raw.replace(/\r$/, '');
    if (source.trim() === '') return;
    const problem = (message: string): undefined => {
      problems.push({ line: n, message });
      return undefined;
    };
    let value: CanonicalValue;
    try {
      value = parseExactJson(source, DECISION_RAW);
    } catch (e) {
      problem((e as Error).message);
      return;
    }
    if (!isObject(value)) return problem('expected one JSON object per line (an exported entry)');
    const id = value['id'];
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) return problem(`id: expected the entry's number, found ${shown(id)}`);
    const twice = seen.get(id);
    if (twice !== undefined) return problem(`entry ${id} is decided twice (also on line ${twice})`);
    seen.set(id, n);
    const says: { gtid?: string | null; index?: number; table?: string } = {};
    if (typeof value['gtid'] === 'string' || value['gtid'] === null) says.gtid = value['gtid'];
    if (typeof value['index'] === 'number') says.index = value['index'];
    if (typeof value['table'] === 'string') says.table = value['table'];
    const d = value['decision'];
    if (d === undefined || d === null) {
      lines.push({ line: n, id, decision: null, says });
      return;
    }
    const decision = toDecision(d, problem);
    if (decision !== undefined) lines.push({ line: n, id, decision, says });
  });
  return { lines, problems };
}

function isObject(v: unknown): v is Record<string, CanonicalValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RawJson);
}

function shown(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = typeof v === 'object' && v !== null ? stringifyCanonical(v as CanonicalValue) : JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

function toDecision(d: CanonicalValue, problem: (m: string) => undefined): ReviewDecision | undefined {
  if (!isObject(d)) return problem(`decision: expected null or an object such as {"action":"skip"}, found ${shown(d)}`);
  const action = d['action'];
  if (action !== 'apply' && action !== 'link' && action !== 'skip') return problem(`decision.action: expected "apply", "link" or "skip", found ${shown(action)}`);
  const unknown = Object.keys(d).filter((k) => !FIELDS[action].includes(k));
  if (unknown.length > 0) return problem(`decision: ${action} takes ${FIELDS[action].join(', ')}; unknown field ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  const note = d['note'];
  if (note !== undefined && typeof note !== 'string') return problem(`decision.note: expected a string, found ${shown(note)}`);
  const withNote = note === undefined ? {} : { note };
  if (action === 'skip') return { action, ...withNote };
  if (action === 'link') {
    const key = d['key'];
    if (!Array.isArray(key) || key.length === 0) return problem(`decision.key: expected the DR row's primary key as an array, e.g. [4], found ${shown(key)}`);
    return { action, key: key as CanonicalValue[], ...withNote };
  }
  const row = d['row'];
  if (row === undefined) return { action, ...withNote };
  if (!isObject(row)) return problem(`decision.row: expected the row as an object keyed by column name, found ${shown(row)}`);
  return { action, row, ...withNote };
}

// ---- resolve --------------------------------------------------------------------------------

export interface ResolveOptions extends ReviewOptions {
  /** The decisions file (exported JSONL with `decision` filled in). */
  readonly file: string;
  /** Its text, when the caller has read it already (`file` then only names it). */
  readonly text?: string;
  /** Each entry as it is finished, in the order they are carried out. */
  readonly onEntry?: (entry: ResolvedEntry) => void;
  /** Test hook: sees every statement sent to the DR before it is sent (fault injection). */
  readonly beforeStatement?: (sql: string) => void;
  /**
   * `--allow-triggers`: let the DR's triggers on the tables the decisions write fire on resolve's
   * writes; without it such a file is refused before any entry is carried out (RESOLVE_DR_TRIGGERS).
   */
  readonly allowTriggers?: boolean;
  /** A DR statement still waiting after `stallNoticeMs` (default 30 s; 0: never) is explained here, as apply's are (SalvageOptions.onStall). */
  readonly onStall?: (notice: StallNotice) => void;
  readonly stallNoticeMs?: number;
}

/** What became of one line: carried out, refused (still pending), resolved before, or left undecided. */
export type ResolveResult = 'done' | 'refused' | 'already-resolved' | 'undecided';

export interface ResolvedEntry {
  readonly id: number;
  readonly line: number;
  readonly label: string;
  readonly table: string;
  readonly op: string;
  readonly action: ReviewDecision['action'] | null;
  readonly result: ResolveResult;
  /** The ledger outcome recorded (done only). */
  readonly outcome: string | null;
  readonly message: string;
}

export interface ResolveReport {
  readonly file: string;
  readonly target: string;
  /** The `runs` row of this review; null when nothing was left to carry out. */
  readonly runId: number | null;
  /** In the order they were carried out; undecided entries last. */
  readonly entries: readonly ResolvedEntry[];
  readonly counts: Readonly<Record<ResolveResult, number>>;
  /** Entries still pending on the DR after the run (any file). */
  readonly stillPending: number;
  /**
   * Earlier resolve runs found still marked running with nobody holding their lock (their session
   * gone: a connection lost and not reopened, the process killed), marked `killed` by this one.
   */
  readonly killedRuns: readonly number[];
}

const MAX_RETRIES = 6;
/** How long a reopened session waits for the run's lock once the run's own lost session holding it is killed (as apply's source lock). */
const LOCK_AFTER_KILL_SECONDS = 30;
/** How long the one connection opened to mark a stopped run failed may take to connect: the run is ending with a fault already. */
const FAIL_MARK_CONNECT_MS = 5_000;

/** Carries out the decisions of a reviewed quarantine export exactly once (see the module comment). */
export async function resolveQuarantine(options: ResolveOptions): Promise<ResolveReport> {
  const schema = options.stateSchema ?? DEFAULT_STATE_SCHEMA;
  const name = basename(options.file);
  let text = options.text;
  if (text === undefined) {
    try {
      text = await readFile(options.file, 'utf8');
    } catch (e) {
      throw new ReviewError(ReviewErrorCode.BadFile, `cannot read the decisions file ${options.file}: ${(e as Error).message}`, { file: options.file });
    }
  }
  const parsed = parseDecisionFile(text);
  if (parsed.problems.length > 0) throw badFile(name, parsed.problems);
  // Nothing is carried out before it: a DR that does not answer yet is waited for.
  const reopener = reviewSession(options, 'no entry was carried out');
  const run = new ResolveRun(await reopener.open(), reopener, schema, name, options);
  try {
    return await run.run(parsed.lines);
  } finally {
    await run.end();
  }
}

/** The line said of resolve runs found still `running` with their lock free and marked `killed` (markDeadResolveRuns), by resolve and apply alike. */
export function deadResolveWarning(ids: readonly (string | number)[]): string {
  return `resolve run${ids.length === 1 ? '' : 's'} ${ids.join(', ')} ended without recording how (${ids.length === 1 ? 'its' : 'their'} DR connection lost and not reopened, or killed): marked killed; entries ${ids.length === 1 ? 'it' : 'they'} carried out stay resolved, the rest stay pending`;
}

/** `session` with the test hook `beforeStatement` in front of each statement. */
function hooked(session: SqlSession, hook: ((sql: string) => void) | undefined): SqlSession {
  if (hook === undefined) return session;
  return {
    query: async (sql, params) => {
      hook(sql);
      return session.query(sql, params);
    },
    end: () => session.end(),
    destroy: () => session.destroy(),
  };
}

function badFile(name: string, problems: readonly FileProblem[]): ReviewError {
  const sorted = [...problems].sort((a, b) => a.line - b.line);
  const lines = sorted.map((p) => `line ${p.line}: ${p.message}`);
  return new ReviewError(ReviewErrorCode.BadFile, `${name} has ${problems.length} problem(s); nothing was applied:\n  ${lines.join('\n  ')}`, { file: name, problems: lines });
}

/** An entry that cannot be carried out now; it stays pending. */
class Refusal extends EngineError {
  constructor(message: string) {
    super('RESOLVE_REFUSED', message);
  }
}

interface Prepared {
  readonly line: DecisionLine;
  readonly entry: QuarantineEntry;
  readonly decision: ReviewDecision;
  readonly table: TableSchema | null;
  /** The reviewed after image (apply with `row`), in the DR's types. */
  readonly row: RowImage | null;
  /** The DR key to link to. */
  readonly linkKey: ColumnValue[] | null;
  /** The quarantine entries inserting the parent rows the written row points at (apply of an insert or update). */
  readonly parents: readonly ParentEntry[];
  /** The inserts of those parent rows that a rule skipped during apply: the row must not be written pointing at them. */
  readonly skippedParents: readonly SkippedParent[];
}

/** A quarantine entry (by id) whose insert is the row a foreign key (declared, or a recorded logical reference) of the written row points at. */
type ParentEntry = Omit<ParentMatch<unknown>, 'item'> & { readonly id: number };

/** A parent row's insert skipped by a rule during apply (a ledger row with no quarantine entry). */
interface SkippedParent {
  /** The insert, as `GTID#index`. */
  readonly label: string;
  readonly rulePath: string | null;
  readonly row: string;
  readonly byValue: boolean;
}

/** A lost insert that may be a written row's parent: a quarantine entry's, or one a rule skipped during apply. */
type LostInsert = { readonly kind: 'entry'; readonly entry: QuarantineEntry } | { readonly kind: 'rule'; readonly skipped: StoredSkippedInsert };

class ResolveRun {
  #dr: SqlSession;
  readonly #reopener: ReopenedSession;
  /** The session settings are made (SET SESSION): again on each reopened session. */
  #settled = false;
  readonly #schema: string;
  readonly #file: string;
  readonly #o: ResolveOptions;
  #catalog!: SchemaCatalog;
  #keyMap = new KeyMap();
  #runId: number | null = null;
  /**
   * Recorded in the run's `runs` row (options.token): the row inserted by an INSERT whose answer
   * was lost is found again by it, and the run's lock (runLockName) is named after it.
   */
  readonly #token = randomUUID();
  /** Set once the run starts writing its row: from then on every session takes the run's lock (#settings). */
  #locking = false;
  /** The DR connection ids this run's sessions had: a holder of the run's lock among them is a lost session of its own. */
  readonly #lockConnections = new Set<number>();
  #killedRuns = new Set<number>();
  /** Every quarantine entry as read at the start (any status), by id. */
  #entries: ReadonlyMap<number, QuarantineEntry> = new Map();

  constructor(session: SqlSession, reopener: ReopenedSession, schema: string, file: string, options: ResolveOptions) {
    this.#dr = hooked(watchStallsFor(session, options.target, options.onStall, options.stallNoticeMs), options.beforeStatement);
    this.#reopener = reopener;
    this.#schema = schema;
    this.#file = file;
    this.#o = options;
  }

  async run(lines: readonly DecisionLine[]): Promise<ResolveReport> {
    const { prepared, byId } = await this.#onDr(null, async () => {
      await requireState(this.#dr, this.#schema);
      // A schema an older engine wrote is brought to this engine's layout (or refused when newer),
      // as apply does: resolve writes into it.
      await ensureStateSchema(this.#dr, this.#schema);
      return this.#read(lines);
    });
    const todo = order(prepared.filter((p) => p.entry.status === 'pending'), byId);
    await this.#checkTriggers(todo);
    const results: ResolvedEntry[] = [];
    const emit = (r: ResolvedEntry): void => {
      results.push(r);
      this.#o.onEntry?.(r);
    };
    for (const p of prepared) if (p.entry.status !== 'pending') emit(this.#result(p, 'already-resolved', null, `already ${p.entry.status}${p.entry.resolution === null ? '' : ` (${p.entry.resolution.replace(/^resolved by review: /, '')})`}`));
    let failure: { error: unknown } | null = null;
    if (todo.length > 0) {
      const sources = new Set(todo.map((p) => p.entry.sourceId));
      this.#runId = await this.#startRun(sources.size === 1 ? [...sources][0]! : 'review', { mode: 'resolve', file: this.#file, entries: todo.map((p) => p.entry.id), token: this.#token });
    }
    try {
      for (const p of todo) emit(await this.#resolveOne(p));
    } catch (e) {
      failure = { error: e };
      throw e;
    } finally {
      const runId = this.#runId;
      if (runId !== null) {
        if (failure !== null) await this.#markFailed(runId, failure.error);
        else await this.#onDr(null, () => finishRun(this.#dr, this.#schema, runId, 'completed'));
      }
    }
    for (const l of lines) {
      const e = byId.get(l.id)!;
      if (l.decision === null) emit({ id: l.id, line: l.line, label: shortLabel(e.label), table: e.table, op: e.op, action: null, result: 'undecided', outcome: null, message: e.status === 'pending' ? 'no decision: left pending' : `already ${e.status}` });
    }
    const counts: Record<ResolveResult, number> = { done: 0, refused: 0, 'already-resolved': 0, undecided: 0 };
    for (const r of results) counts[r.result]++;
    return {
      file: this.#file,
      target: this.#o.target.redacted,
      runId: this.#runId,
      entries: results,
      counts,
      stillPending: await this.#onDr(null, () => countPendingQuarantine(this.#dr, this.#schema)),
      killedRuns: [...this.#killedRuns],
    };
  }

  /**
   * Takes the run's lock and inserts its `runs` row (autocommitted), returning its id. A
   * connection lost during the INSERT leaves it done or not, the answer lost: the attempt after
   * the reconnect looks for the row first — inserted after the highest id read before it, with
   * this run's options, which hold its token — and takes it, so one run has one row (as apply's
   * #startRun). Earlier resolve runs left `running` by a session that is gone are marked `killed`
   * first (markDeadResolveRuns).
   */
  async #startRun(sourceId: string, options: Readonly<Record<string, unknown>>): Promise<number> {
    this.#locking = true;
    let after: number | null = null;
    return this.#onDr(null, async () => {
      await this.#settings();
      if (after === null) {
        for (const id of await markDeadResolveRuns(this.#dr, this.#schema, this.#token)) this.#killedRuns.add(Number(id));
        after = await lastRunId(this.#dr, this.#schema);
      } else {
        const found = await findStartedRun(this.#dr, this.#schema, sourceId, after, options);
        if (found !== null) return found;
      }
      return startRun(this.#dr, this.#schema, sourceId, options);
    });
  }

  /**
   * Takes the run's lock (runLockName) on the session in use, for as long as it lives: a later
   * resolve or apply tells this run's `running` row from a dead one by it. After a reconnect the
   * holder may be this run's own lost session, which the server has not yet noticed is gone (a
   * connection cut between client and server): it is killed, rolling back what it held open, and
   * the lock waited for, as apply does with its source's lock. Not taken otherwise (another
   * holder cannot be: the token is this run's), the run goes on: its row reads as live meanwhile.
   */
  async #takeRunLock(): Promise<void> {
    const name = runLockName(this.#schema, this.#token);
    // Learnt before GET_LOCK is sent: a connection lost with its answer on the way may hold the lock.
    const me = await sessionConnectionId(this.#dr);
    this.#lockConnections.add(me);
    const lock = await takeNamedLock(this.#dr, name);
    if (lock.taken || lock.holder === me || !this.#lockConnections.has(lock.holder)) return;
    await this.#dr.query(`KILL CONNECTION ${lock.holder}`).catch(() => undefined);
    await takeNamedLock(this.#dr, name, LOCK_AFTER_KILL_SECONDS);
  }

  /**
   * Marks the run `failed` with `error` as why, after the fault that stops it, so its row does not
   * stay `running`: on the session in use when it still answers (a fault that did not lose it),
   * else on one connection opened for it alone, tried once — the attempts to reopen ran out
   * already, and the run is ending with that fault. When even that fails (the DR down), the row
   * stays `running` with its lock gone with the session: the next resolve or apply marks it
   * `killed` (markDeadResolveRuns). What this throws is dropped: the fault is the run's error.
   */
  async #markFailed(runId: number, error: unknown): Promise<void> {
    const e = mapDbError(error);
    const failure = e instanceof EngineError ? { code: e.code, message: redact(e.message) } : { code: error instanceof Error ? error.name : 'Error', message: redact(String(error instanceof Error ? error.message : error)) };
    try {
      await failRun(this.#dr, this.#schema, runId, failure);
      return;
    } catch {
      // The session is lost: one of its own below.
    }
    let fresh: SqlSession | null = null;
    try {
      fresh = await openSession(this.#o.target, { connectTimeoutMs: FAIL_MARK_CONNECT_MS });
      await failRun(fresh, this.#schema, runId, failure);
    } catch {
      // The DR is not reachable: the next resolve or apply tells the row is dead by its free lock.
    } finally {
      await fresh?.end().catch(() => undefined);
    }
  }

  /**
   * Triggers on the tables the decisions write fire on resolve's plain DML, as on apply's, where
   * replication's row events fire none: refused before any entry unless allowed.
   */
  async #checkTriggers(todo: readonly Prepared[]): Promise<void> {
    if (this.#o.allowTriggers === true) return;
    const names = new Set(todo.filter((p) => p.line.decision?.action !== 'skip').map((p) => p.entry.table));
    const written = this.#catalog.tables.filter((t) => names.has(`${t.schema}.${t.table}`));
    const triggers = await this.#onDr(null, () => readTriggers(this.#dr, written));
    if (triggers.length === 0) return;
    throw new ReviewError(
      ReviewErrorCode.Triggers,
      `the DR has ${triggers.length} trigger(s) on tables the decisions write: ${triggers.map(describeTrigger).join(', ')}; they would fire on resolve's writes (an audit row or a counter written a second time); no entry was carried out: drop them while resolve runs and re-create them after, or pass --allow-triggers to let them fire`,
      { file: this.#file, triggers: triggers.map(describeTrigger) },
    );
  }

  /** Ends the session in use. */
  async end(): Promise<void> {
    await this.#dr.end();
  }

  /** The run's session settings, and its lock once it has a row (#takeRunLock), made once per session before the first write. */
  async #settings(): Promise<void> {
    if (this.#settled) return;
    await this.#dr.query("SET SESSION time_zone = '+00:00'");
    // Values the primary accepted are written as logged (no AUTO_INCREMENT for an explicit 0); a
    // reviewer's edited value that does not fit its column is refused rather than truncated.
    await this.#dr.query("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO,STRICT_ALL_TABLES'");
    if (this.#locking) await this.#takeRunLock();
    this.#settled = true;
  }

  /**
   * Runs `fn`, a read or a write a second run leaves as the first did, again from its start on a
   * reopened session when the DR connection is lost while it runs (isLostConnection, as plan and
   * apply). `entry`: the entry in progress, for the error when the attempts run out.
   */
  async #onDr<T>(entry: Prepared | null, fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        const result = await fn();
        this.#reopener.settled();
        return result;
      } catch (raw) {
        const e = mapDbError(raw);
        if (!isLostConnection(e)) throw raw;
        await this.#reopen(e, entry);
      }
    }
  }

  /** A new session in place of the lost one (ReopenedSession.reopen); RESOLVE_FAULT when the attempts run out. */
  async #reopen(lost: EngineError, entry: Prepared | null): Promise<void> {
    // The lost session is let go only once another opens: when none does, the run row is marked
    // failed on it if it still answers (a fault the server did not see end it).
    const old = this.#dr;
    const where = entry === null ? '' : `entry ${entry.entry.id} (line ${entry.line.line}): `;
    const done = entry === null && this.#runId === null ? 'no entry was carried out' : entry === null ? 'entries carried out before it stay resolved: run the same resolve again to go on' : 'it was rolled back and stays pending, entries carried out before it stay resolved: run the same resolve again to go on';
    const session = await this.#reopener.reopen(lost, 'resolve', (why, last) =>
      new ReviewError(ReviewErrorCode.Fault, `${where}lost the connection to the DR: ${redact(lost.message)} [${lost.code}]; ${why}; ${done}`, { file: this.#file }, { cause: last, retryable: true }),
    );
    old.destroy();
    this.#dr = hooked(watchStallsFor(session, this.#o.target, this.#o.onStall, this.#o.stallNoticeMs), this.#o.beforeStatement);
    this.#settled = false;
  }

  /** What the run works from, read from the DR: the entries, the catalog, the decided lines checked against both, the key map. */
  async #read(lines: readonly DecisionLine[]): Promise<{ prepared: Prepared[]; byId: ReadonlyMap<number, QuarantineEntry> }> {
    const entries = reviewEntries(await readQuarantineEntries(this.#dr, this.#schema, 'all'));
    const byId = new Map(entries.map((e) => [e.id, e]));
    this.#entries = byId;
    const tables = lines.filter((l) => l.decision !== null).map((l) => byId.get(l.id)?.table).filter((t): t is string => t !== undefined && t.includes('.'));
    const schemas = new Set(tables.flatMap((t) => schemaCandidates(t)));
    // The logical references the quarantining runs followed (their configuration's `references`).
    const references = await runReferences(this.#dr, this.#schema, new Set(lines.map((l) => byId.get(l.id)?.runId).filter((id): id is number => id !== undefined)));
    for (const r of references) schemas.add(r.schema).add(r.refSchema);
    this.#catalog = await introspectSchemas(this.#dr, [...schemas]);
    // Foreign keys are followed through the key map into their parents' schemas too; a delete must
    // see the rows that still point at its row, wherever their tables are.
    const parents = this.#catalog.tables.flatMap((t) => t.foreignKeys.map((fk) => fk.refSchema));
    const more = [...new Set([...parents, ...(await referencingSchemas(this.#dr, [...schemas]))])].filter((s) => !schemas.has(s));
    if (more.length > 0) this.#catalog = await introspectSchemas(this.#dr, [...schemas, ...more]);
    this.#catalog = addRecordedReferences(this.#catalog, references);
    const prepared = this.#prepare(lines, byId, entries, await readRuleSkippedInserts(this.#dr, this.#schema));
    this.#keyMap = await keyMapOf(this.#dr, this.#schema, this.#catalog);
    return { prepared, byId };
  }

  /** Checks every line against the DR's quarantine and schema; all problems at once, before anything is written. */
  #prepare(lines: readonly DecisionLine[], byId: ReadonlyMap<number, QuarantineEntry>, entries: readonly QuarantineEntry[], ruleSkipped: readonly StoredSkippedInsert[]): Prepared[] {
    const problems: FileProblem[] = [];
    const out: Prepared[] = [];
    // The inserts that may be a written row's parent, indexed once: a child's parents are looked up
    // per foreign key, not by a scan of every entry per decided line. Of every source, as apply
    // holds rows (the same primary read as files and then live is one source under two ids).
    const inserts = new LostInserts<LostInsert>(this.#catalog);
    for (const o of entries) if (o.op === 'insert') inserts.add(o.table, o.key, o.after, { kind: 'entry', entry: o });
    for (const r of ruleSkipped) {
      if (!neverWritten({ op: 'insert', outcome: 'skipped', class: r.class })) continue;
      inserts.add(r.table, parseExactJson(r.sourceKey) as CanonicalValue[], image(r.afterImage), { kind: 'rule', skipped: r });
    }
    for (const line of lines) {
      const problem = (message: string): void => {
        problems.push({ line: line.line, message });
      };
      const e = byId.get(line.id);
      if (e === undefined) {
        problem(`entry ${line.id}: no such quarantine entry on this DR (state schema ${this.#schema})`);
        continue;
      }
      const s = line.says;
      if ((s.gtid !== undefined && s.gtid !== e.gtid) || (s.index !== undefined && s.index !== e.index) || (s.table !== undefined && s.table !== e.table)) {
        const fileSays = `${s.gtid ?? '?'}#${s.index ?? '?'} on ${s.table ?? '?'}`;
        problem(`entry ${line.id} is ${shortLabel(e.label)} on ${e.table} on this DR, the file says ${fileSays}: a file exported from another DR or state schema?`);
        continue;
      }
      const d = line.decision;
      if (d === null) continue;
      if (d.action === 'skip') {
        out.push({ line, entry: e, decision: d, table: null, row: null, linkKey: null, parents: [], skippedParents: [] });
        continue;
      }
      if (e.op === 'sql') {
        problem(`entry ${e.id} is statement-based DML (${e.table}): resolve cannot ${d.action} SQL text; run it by hand if it is wanted, then decide skip`);
        continue;
      }
      const table = this.#catalog.lookup(e.table);
      if (table === undefined) {
        problem(`entry ${e.id}: the DR has no table ${e.table}`);
        continue;
      }
      // A keyless row has no key to link to. Its update or delete is applied as apply writes it:
      // by its before image (#applyKeyless).
      if (table.primaryKey === null && d.action === 'link') {
        problem(`entry ${e.id}: ${e.table} has no primary key: resolve cannot link its ${e.op} (a row without a key has no DR key to map to); decide apply or skip`);
        continue;
      }
      try {
        if (d.action === 'link') {
          out.push({ line, entry: e, decision: d, table, row: null, linkKey: keyFromCanonical(d.key, table), parents: [], skippedParents: [] });
        } else {
          if (d.row !== undefined && e.op === 'delete') {
            problem(`decision.row: entry ${e.id} is a delete, which takes no row`);
            continue;
          }
          const row = d.row === undefined ? null : rowFromCanonical(d.row, table);
          const written = e.op === 'delete' ? null : (d.row ?? e.after);
          const found = written === null ? [] : inserts.parentsOf(table, written);
          const parents: ParentEntry[] = [];
          const skippedParents: SkippedParent[] = [];
          for (const { item, row: parentRow, byValue, table: parentTable, columns, values } of found) {
            if (item.kind === 'entry') {
              // A row that is its own parent (a self-reference to its own key) waits on nothing.
              if (item.entry.id !== e.id) parents.push({ id: item.entry.id, row: parentRow, byValue, table: parentTable, columns, values });
            } else {
              const r = item.skipped;
              skippedParents.push({ label: shortLabel(`${r.changeAt}#${r.changeIndex}`), rulePath: r.rulePath, row: parentRow, byValue });
            }
          }
          out.push({ line, entry: e, decision: d, table, row, linkKey: null, parents, skippedParents });
        }
      } catch (err) {
        if (!(err instanceof FromCanonicalError)) throw err;
        problem(`decision.${d.action === 'link' ? 'key' : 'row'}: ${err.message}`);
      }
    }
    if (problems.length > 0) throw badFile(this.#file, problems);
    return out;
  }

  #result(p: Prepared, result: ResolveResult, outcome: string | null, message: string): ResolvedEntry {
    return { id: p.entry.id, line: p.line.line, label: shortLabel(p.entry.label), table: p.entry.table, op: p.entry.op, action: p.decision.action, result, outcome, message };
  }

  /**
   * One entry in one DR transaction; deadlocks and lock waits are retried, a fault stops the run.
   * A connection lost meanwhile rolled the transaction back on the DR: the entry is done again on
   * a reopened session (#reopen). Its state row is written in its transaction, so it is never
   * resolved twice: lost during its COMMIT, the entry found resolved again is the one that COMMIT
   * carried out, and is told as done.
   */
  async #resolveOne(p: Prepared): Promise<ResolvedEntry> {
    let inDoubt: ResolvedEntry | null = null;
    for (let attempt = 0; ; attempt++) {
      const mark = this.#keyMap.mark();
      let committing: ResolvedEntry | null = null;
      try {
        await this.#settings();
        await this.#dr.query('START TRANSACTION');
        const r = await this.#carryOut(p);
        if (r.result === 'done') {
          committing = r;
          await this.#dr.query('COMMIT');
        } else {
          await this.#dr.query('ROLLBACK');
          this.#keyMap.rollbackTo(mark);
        }
        this.#reopener.settled();
        // Found resolved after a COMMIT lost in flight: that COMMIT went through, with the key map
        // rows it wrote, which the memory's key map was rolled back from.
        if (r.result === 'already-resolved' && inDoubt !== null) {
          this.#keyMap = await keyMapOf(this.#dr, this.#schema, this.#catalog);
          return inDoubt;
        }
        return r;
      } catch (e) {
        await this.#dr.query('ROLLBACK').catch(() => undefined);
        this.#keyMap.rollbackTo(mark);
        const lost = mapDbError(e);
        if (isLostConnection(lost)) {
          if (committing !== null) inDoubt = committing;
          await this.#reopen(lost, p);
          attempt--;
          continue;
        }
        if (e instanceof Refusal) return this.#result(p, 'refused', null, e.message);
        if (e instanceof FromCanonicalError) return this.#result(p, 'refused', null, `its recorded images no longer fit the DR's table: ${e.message}`);
        if ((e instanceof EngineError && (isDataRejection(e) || e.code.startsWith('DB_WRITE_') || e.code.startsWith('RECONCILE_')))) {
          return this.#result(p, 'refused', null, `the DR refused it: ${redact(e.message).replace(/ \(in: [\s\S]*$/, '')}`);
        }
        if (e instanceof EngineError && e.retryable && attempt < MAX_RETRIES) {
          await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
          continue;
        }
        const code = e instanceof EngineError ? ` [${e.code}]` : '';
        throw new ReviewError(
          ReviewErrorCode.Fault,
          `entry ${p.entry.id} (line ${p.line.line}): ${redact((e as Error).message)}${code}; it was rolled back and stays pending, entries carried out before it stay resolved: run the same resolve again to go on`,
          { file: this.#file },
          { cause: e, retryable: e instanceof EngineError && e.retryable },
        );
      }
    }
  }

  /** Inside the entry's transaction: checks, write, ledger, status. Throws Refusal to leave it pending. */
  async #carryOut(p: Prepared): Promise<ResolvedEntry> {
    const e = p.entry;
    const status = await lockQuarantineStatus(this.#dr, this.#schema, e.id);
    if (status === undefined) throw new Refusal(`entry ${e.id} is no longer in the quarantine`);
    if (status !== 'pending') return this.#result(p, 'already-resolved', null, `already ${status}`);
    const originId = e.origin?.id ?? null;
    if (originId !== null) {
      const originStatus = await lockQuarantineStatus(this.#dr, this.#schema, originId);
      if (originStatus === 'pending') throw new Refusal(`held back because of entry ${originId} (${shortLabel(e.origin!.label)}), which is still pending: resolve ${originId} first`);
    }
    const note = p.decision.note === undefined ? '' : ` — ${p.decision.note}`;
    let outcome: string;
    let reason: string;
    let newKey: string | null = null;
    switch (p.decision.action) {
      case 'skip':
        outcome = 'skipped';
        reason = 'skipped';
        break;
      case 'link': {
        const r = await this.#link(p);
        ({ outcome, reason, newKey } = r);
        break;
      }
      case 'apply': {
        await this.#checkParents(p);
        const r = await this.#apply(p);
        ({ outcome, reason, newKey } = r);
        break;
      }
    }
    await recordLedgerDecision(this.#dr, this.#schema, { sourceId: e.sourceId, changeAt: e.at, changeIndex: e.index }, { outcome, reason: `resolved by review: ${reason}${note}`, newKey, rulePath: `review:${this.#file}:${p.line.line}` });
    // Later runs hold the row of an insert a review skipped, as of one a rule skipped.
    if (p.decision.action === 'skip' && e.op === 'insert') await recordSkippedInsert(this.#dr, this.#schema, { sourceId: e.sourceId, changeAt: e.at, changeIndex: e.index });
    if (!(await markQuarantineResolved(this.#dr, this.#schema, e.id))) throw new Refusal(`entry ${e.id} is no longer pending`);
    return this.#result(p, 'done', outcome, reason);
  }

  async #link(p: Prepared): Promise<{ outcome: string; reason: string; newKey: string | null }> {
    const table = p.table!;
    const target = p.linkKey!;
    const rows = await this.#lockRows(table, [target, ...this.#recordedKeys(p)]);
    const row = rows.get(rowKey(target));
    if (row === undefined) throw new Refusal(`the DR has no row with key ${keyText(target)} in ${p.entry.table} to link to`);
    this.#checkRecorded(p, rows, null);
    const source = this.#sourceKey(p);
    // Onto the row at its own key the link is kept too (KeyMap.link, equal keys), as the `link`
    // strategy keeps it: a later apply meets that record as the lost row's, whatever the DR's
    // history says created it (it used to quarantine the row's later changes as update-pk-reused).
    try {
      this.#keyMap.link(table.schema, table.table, source, target);
    } catch (err) {
      throw new Refusal(`cannot link ${keyText(source)} to ${keyText(target)}: ${(err as Error).message}`);
    }
    await recordKeyMap(this.#dr, this.#schema, [{ table: `${table.schema}.${table.table}`, oldKey: keyParts(source), newKey: keyParts(target), runId: this.#runId ?? p.entry.runId, gtid: p.entry.gtid, isLink: true }]);
    // Recorded as the `link` strategy records a link onto the row at its own key: merged, with that key.
    if (rowKey(source) === rowKey(target)) return { outcome: 'merged', reason: `the lost row is the DR row ${keyText(target)} (same key): nothing to write`, newKey: canonicalKey(keyParts(target)) };
    // `merged`, as the `link` strategy records it (reconciler.ts): the lost row is that existing
    // record, merged into it with the DR keeping every differing column, which for an insert (no
    // base) writes nothing. `remapped` means a fresh key for a different record.
    return { outcome: 'merged', reason: `linked to the DR row ${keyText(target)} (the lost row is that record; its values were not written, later changes follow it)`, newKey: canonicalKey(keyParts(target)) };
  }

  async #apply(p: Prepared): Promise<{ outcome: string; reason: string; newKey: string | null }> {
    const e = p.entry;
    const table = p.table!;
    if (PK_REUSED_CLASSES.includes(e.class)) {
      // The DR's history showed it deleted the lost row's record and gave its id to a record of its
      // own: the change, as logged or with a reviewed row, would be written onto that other record
      // (DESIGN.md: "quarantine, never a write"; config/schema.ts allows no apply for these classes).
      throw new Refusal(
        `entry ${e.id} is ${e.class}: the DR deleted the lost row's record and gave its key ${e.key === null ? '' : `${stringifyCanonical(e.key)} `}to a record of its own, which this ${e.op} must not ${e.op === 'delete' ? 'delete' : 'overwrite'}; decide skip${e.op === 'update' ? ' (the record the change updated is gone from the DR), and write any value still wanted by hand' : ''}`,
      );
    }
    const before = e.before === null ? null : rowFromCanonical(e.before, table);
    const after = p.row ?? (e.after === null ? null : rowFromCanonical(e.after, table));
    // Source keys → DR keys: the row's own key and its foreign keys, through remaps and links.
    const change: RowChange = { op: e.op as RowChange['op'], table: tableMapOf(table), before, after, eventOffset: 0 };
    const rewritten = applyRemaps([change], this.#keyMap, this.#catalog).changes[0]!;
    const b = rewritten.before;
    const a = rewritten.after;
    if (table.primaryKey === null && e.op !== 'insert') return this.#applyKeyless(p, b, a);
    const keyImage = e.op === 'insert' ? a : b;
    const pk = primaryKeyOf(table, keyImage);
    if (table.primaryKey !== null && pk === null) throw new Refusal(`the ${e.op === 'insert' ? 'after' : 'before'} image does not log the whole primary key (${table.primaryKey.join(', ')})`);
    const rows = pk === null ? new Map<string, RowImage>() : await this.#lockRows(table, [pk, ...this.#recordedKeys(p)]);
    const current = pk === null ? null : (rows.get(rowKey(pk)) ?? null);
    this.#checkRecorded(p, rows, { pk, current, before: b });
    if (current !== null && e.op !== 'insert' && (await this.#insertSkipped(e))) {
      throw new Refusal(
        `the lost row's insert (${e.origin!.label}) was skipped, so the DR row ${keyText(pk!)} of ${e.table} is another record, which this ${e.op} must not write: decide skip, or give the whole row under a key of its own in decision.row`,
      );
    }
    const source = this.#sourceKeyOrNull(p);
    let newKey = pk !== null && source !== null && rowKey(pk) !== rowKey(source) ? canonicalKey(keyParts(pk)) : null;
    const how = p.row === null ? 'applied as logged' : 'applied the reviewed row';
    const shownKey = pk === null ? '' : ` ${keyText(pk)}`;
    switch (e.op) {
      case 'insert': {
        if (current !== null) throw new Refusal(`the DR already has a row with key ${keyText(pk!)}: link to it ({"action":"link","key":[…]}) or give the row another key`);
        await this.#refuseCollatedKey(table, pk!);
        if (p.row !== null) {
          // A reviewed row is the whole row, as for an update whose row the DR deleted: a column left
          // out would silently take the DR's default, which nobody reviewed.
          const missing = table.columns.filter((c, i) => !c.isGenerated && a![i] === undefined).map((c) => c.name);
          if (missing.length > 0) throw new Refusal(`decision.row lacks ${missing.join(', ')}: give the whole row to insert it (the exported "after" holds every column)`);
        }
        // An insert-unique-taken entry decided apply (or any insert whose value the DR took since):
        // the holder is a record the review never saw, named before anything is recorded. A column a
        // MINIMAL image leaves out takes the DR's default, part of the value where that is known.
        await this.#refuseHeldUniqueValue(table, insertedRow(table, a!), null, null, true);
        // Another key than the source's (a reviewed row, or a remap): the lost changes and rows
        // still to come that name the source key must follow it, as after a remap in apply.
        if (newKey !== null && this.#keyMap.get(table.schema, table.table, source!) === undefined) await this.#recordMove(p, source!, pk!);
        await this.#expect(writeInserts(this.#dr, table, [a!]), 1, 'insert');
        return { outcome: 'applied', reason: how, newKey };
      }
      case 'update': {
        // A reviewed row under another primary key than the logged after image's moves the row:
        // later lost changes and child rows name the logged key and must follow it to the new one,
        // as they follow a key given to a reviewed insert (recorded in the key map with the write).
        const written = p.row === null ? null : primaryKeyOf(table, a);
        if (written !== null) {
          const logged = e.after === null ? source : primaryKeyOf(table, rowFromCanonical(e.after, table));
          if (logged !== null && rowKey(written) !== rowKey(this.#keyMap.get(table.schema, table.table, logged) ?? logged)) await this.#recordMove(p, logged, written);
          if (source !== null && rowKey(written) !== rowKey(source)) newKey = canonicalKey(keyParts(written));
        }
        await this.#refuseHeldNewKey(p, pk!, a!);
        if (current === null) {
          if (!isUpdateMissing(e.class) && p.row === null) {
            throw new Refusal(`the DR has no row with key ${keyText(pk!)}: nothing to update; decide skip, or give the whole row in decision.row to insert it`);
          }
          const missing = table.columns.filter((c, i) => !c.isGenerated && a![i] === undefined).map((c) => c.name);
          if (missing.length > 0) throw new Refusal(`the DR has no row with key ${keyText(pk!)} and the after image lacks ${missing.join(', ')}: give the whole row in decision.row to insert it`);
          await this.#refuseHeldUniqueValue(table, a!, null, null);
          await this.#expect(writeInserts(this.#dr, table, [a!]), 1, 'insert');
          return { outcome: 'applied', reason: `${how}: the DR had no row${shownKey}, so the row was inserted as the change left it`, newKey };
        }
        const defs = tableMapOf(table).columns;
        const set: Record<string, ColumnValue> = {};
        // As logged, only the columns the lost change changed are written: the others may hold what
        // the DR changed since (a held change met a row it could not check). A reviewed row is
        // written whole: the reviewer gave every column's value.
        const asLogged = p.row === null && b !== null;
        table.columns.forEach((c, i) => {
          const v = a![i];
          if (v === undefined || c.isGenerated || sameCell(current[i], v, c, defs[i]!)) return;
          if (asLogged && b[i] !== undefined && sameExactCell(b[i], v, c, defs[i]!)) return;
          set[c.name] = v;
        });
        if (Object.keys(set).length === 0) return { outcome: 'skipped', reason: `${how}: the DR row${shownKey} already holds these values`, newKey };
        // The row written is the DR row with `set` over it, not the after image: a column the change
        // left alone (or the image does not log) keeps the DR's value, which makes a key's value of
        // its own (the lost label with the DR's code).
        const row = current.map((v, i) => (Object.hasOwn(set, table.columns[i]!.name) ? set[table.columns[i]!.name] : v));
        await this.#refuseHeldUniqueValue(table, row, current, new Set(Object.keys(set)));
        await this.#expect(writeUpdates(this.#dr, table, [{ key: pk!, set }]), 1, 'update');
        return { outcome: 'applied', reason: `${how}: set ${Object.keys(set).join(', ')}`, newKey };
      }
      case 'delete': {
        if (current === null) return { outcome: 'skipped', reason: `${how}: the DR has no row${shownKey} (already gone)`, newKey };
        await this.#refuseWhileReferenced(table, current);
        await this.#expect(writeDeletes(this.#dr, table, [pk!]), 1, 'delete');
        return { outcome: 'applied', reason: how, newKey };
      }
      default:
        throw new Refusal(`a ${e.op} cannot be applied`);
    }
  }

  /**
   * An update or delete of a table without a primary key (nor a non-null unique key), as apply
   * writes one (DESIGN.md "Conflict taxonomy"; reconcile/keyless-rows.ts): the DR rows the server
   * equates to the before image (NULL-safe, on the columns it logs, under each column's collation)
   * are read FOR UPDATE, and the change is written by that image with `… LIMIT 1`, which must reach
   * one row, only when every row the write can reach is one and the same value, exactly equal to
   * the before image: whichever copy the server takes, the DR ends the same. No such row (the DR
   * changed or deleted it since, or never had it) is refused, never an insert or a silent skip: a
   * row without a key has no identity but its values, so nothing tells a row the DR changed from
   * one it never had. Rows that differ but the server takes as equal are refused as ambiguous.
   * Every logged column is compared but those where the DR row the change met when it was
   * quarantined (D, recorded when apply matched one) differs from the before image: apply left
   * them out of its match (ignoreColumns), and resolve takes no configuration. A recorded D must
   * still be the row found, on every column.
   */
  async #applyKeyless(p: Prepared, before: RowImage | null, after: RowImage | null): Promise<{ outcome: string; reason: string; newKey: string | null }> {
    const e = p.entry;
    const table = p.table!;
    const instead = `decide skip, and make the change by hand if it is still wanted`;
    const recorded = e.dr === null ? null : rowFromCanonical(e.dr, table);
    const probe = before === null ? null : keylessProbe(table, before, recorded);
    if (before === null || probe === null || !probe.some((v) => v !== undefined)) throw new Refusal(`${e.table} has no primary key and this ${e.op}'s before image logs no column to find its row by: ${instead}`);
    const unreadable = unreadableReason(table);
    if (unreadable !== null) throw new Refusal(`${e.table} has no primary key and its rows cannot be read back exactly (${unreadable}): its row cannot be matched by its before image; ${instead}`);
    const found = (await readRowsByImages(this.#dr, table, [probe], { forUpdate: true }))[0]!;
    // The server's answer, judged as apply judges it (a fresh overlay: nothing of a window on top).
    const rows = new KeylessRows(table, NO_COLUMNS, () => undefined);
    rows.load(probe, found);
    const m = rows.match(probe);
    if (m.kind === 'ambiguous') throw new Refusal(`${e.table} has no primary key: ${m.why}; ${instead}`);
    if (m.kind === 'none') {
      const near = m.near > 0 ? ` (${m.near} row value(s) the server takes as equal differ from it)` : '';
      throw new Refusal(`no DR row of ${e.table} equals its before image on every logged column${near}: the DR changed or deleted it, or never had it; nothing to ${e.op}; ${instead}`);
    }
    const current = m.row;
    if (recorded !== null) {
      const diff = differences(current, recorded, table);
      if (diff.length > 0) throw new Refusal(`the DR row of ${e.table} equal to its before image changed since it was quarantined (${diff.join('; ')}): export again and decide on what the DR holds now`);
    }
    if (await this.#insertSkipped(e)) {
      throw new Refusal(`the lost row's insert (${e.origin!.label}) was skipped, so a DR row of ${e.table} equal to its before image is another record, which this ${e.op} must not write: ${instead}`);
    }
    const how = p.row === null ? 'applied as logged' : 'applied the reviewed row';
    const which = m.copies > 1 ? `one of the ${m.copies} DR rows` : 'the DR row';
    if (e.op === 'delete') {
      await this.#refuseWhileReferenced(table, current);
      await this.#expect(writeDeleteByImage(this.#dr, table, probe), 1, 'delete');
      return { outcome: 'applied', reason: `${how}: deleted ${which} equal to its before image`, newKey: null };
    }
    if (e.op !== 'update' || after === null) throw new Refusal(`a ${e.op} cannot be applied`);
    const defs = tableMapOf(table).columns;
    const set: Record<string, ColumnValue> = {};
    // As logged, only the columns the change changed are written (as for a keyed row, and as apply
    // leaves an ignored column the change did not change); a reviewed row is written whole.
    const asLogged = p.row === null;
    table.columns.forEach((c, i) => {
      const v = after[i];
      if (v === undefined || c.isGenerated || sameCell(current[i], v, c, defs[i]!)) return;
      if (asLogged && before[i] !== undefined && sameExactCell(before[i], v, c, defs[i]!)) return;
      set[c.name] = v;
    });
    if (Object.keys(set).length === 0) return { outcome: 'skipped', reason: `${how}: ${which} equal to its before image already holds these values`, newKey: null };
    await this.#expect(writeUpdateByImage(this.#dr, table, probe, set), 1, 'update');
    return { outcome: 'applied', reason: `${how}: set ${Object.keys(set).join(', ')} on ${which} equal to its before image`, newKey: null };
  }

  /**
   * Refuses an insert whose key a DR row holds under the key's collation only (`b` held as `B` by a
   * VARCHAR key under a _ci collation): apply classes it as an insert at a taken key, and the DR would
   * only say "Duplicate entry". Looked up as the server compares keys, FOR UPDATE, so it holds until
   * the write; only for a key with a collated column (the exact key was read already).
   */
  async #refuseCollatedKey(table: TableSchema, pk: ColumnValue[]): Promise<void> {
    if (!table.primaryKey!.some((c) => (table.columns.find((col) => col.name === c)?.collation ?? null) !== null)) return;
    const holder = (await readRowsMatching(this.#dr, table, table.primaryKey!, [pk], { forUpdate: true }))[0];
    if (holder === undefined) return;
    const held = primaryKeyOf(table, holder)!;
    throw new Refusal(
      `the DR already has a row with key ${keyText(pk)} under its collation: the DR row ${keyText(held)} (${stringifyCanonical(toCanonicalRow(holder, table))}); link to it ({"action":"link","key":[…]}) or give the row another key`,
    );
  }

  /**
   * Refuses an update that moves its row (as logged, or by a reviewed row) onto a primary key another
   * DR row holds: that row is a record of the DR's own, which the move must not take over, and the DR
   * would only say "Duplicate entry" for it. The key is looked up as the server compares it (a
   * VARCHAR key under a _ci collation holds `b` as `B`), FOR UPDATE, so it holds until the write.
   */
  async #refuseHeldNewKey(p: Prepared, pk: ColumnValue[], after: RowImage): Promise<void> {
    const table = p.table!;
    const to = primaryKeyOf(table, after);
    if (to === null || rowKey(to) === rowKey(pk)) return;
    const rows = await readRowsMatching(this.#dr, table, table.primaryKey!, [to], { forUpdate: true });
    // The row itself, when the move changes only what the collation ignores ('a' to 'A').
    const holder = rows.find((r) => rowKey(primaryKeyOf(table, r) ?? []) !== rowKey(pk));
    if (holder === undefined) return;
    const held = primaryKeyOf(table, holder)!;
    throw new Refusal(
      `the update moves the row to key ${keyText(to)} of ${p.entry.table}, which the DR row ${keyText(held)} holds (${stringifyCanonical(toCanonicalRow(holder, table))}), a record of the DR's own: decide skip, or give the whole row in decision.row under a key no DR row holds`,
    );
  }

  /**
   * Refuses to write `row` (an update's, over the DR row `self`; or inserted where `self` is null)
   * when it takes a unique value another DR row holds: that row is a record the review never saw, and
   * the DR would only say "Duplicate entry". Only the keys over a column in `changed` (every key when
   * null); a value with a NULL part collides with nothing. Looked up as the server compares it (a
   * collated column holds `b` as `B`), FOR UPDATE, so it holds until the write. `linkable`: the row
   * is a lost insert, which may be that record (decide link), as insert-unique-taken's `link` says.
   */
  async #refuseHeldUniqueValue(table: TableSchema, row: RowImage, self: RowImage | null, changed: ReadonlySet<string> | null, linkable = false): Promise<void> {
    const selfKey = self === null ? null : primaryKeyOf(table, self);
    for (const uk of table.uniqueKeys) {
      if (changed !== null && !uk.columns.some((c) => changed.has(c))) continue;
      const values = uk.columns.map((c) => row[table.columns.findIndex((col) => col.name === c)]);
      if (values.some((v) => v === undefined || v === null)) continue;
      const rows = await readRowsMatching(this.#dr, table, uk.columns, [values], { forUpdate: true });
      const holder = rows.find((r) => selfKey === null || rowKey(primaryKeyOf(table, r) ?? []) !== rowKey(selfKey));
      if (holder === undefined) continue;
      const held = primaryKeyOf(table, holder);
      throw new Refusal(
        `the row written would take ${keyText(values as ColumnValue[])} in unique key ${uk.name} (${uk.columns.join(', ')}) of ${table.schema}.${table.table}, which the DR row ${held === null ? '' : `${keyText(held)} `}holds (${stringifyCanonical(toCanonicalRow(holder, table))}), a record the review never saw: ${linkable && held !== null ? `link to it ({"action":"link","key":${canonicalKey(keyParts(held))}}) if it is the same record, ` : ''}decide skip, or give the whole row in decision.row with a value no DR row holds`,
      );
    }
  }

  /**
   * Refuses to write a row whose parent row is still held (its insert a pending entry: the DR row
   * at that key or with that unique value, if any, is not it) or will never exist (its insert was
   * skipped, by a review or by a rule during apply: the DR row there is another record, or none),
   * or was written without the unique value the row names it by. Under the entry's lock, so it
   * holds against a concurrent resolve.
   */
  async #checkParents(p: Prepared): Promise<void> {
    const instead = 'decide skip, or give the whole row in decision.row pointing at a parent the DR has';
    const there = (byValue: boolean): string => `the DR row ${byValue ? 'with that value' : 'at that key'} is another record or none`;
    for (const parent of p.parents) {
      const status = await lockQuarantineStatus(this.#dr, this.#schema, parent.id);
      if (status === undefined) continue;
      if (status === 'pending') throw new Refusal(`its parent ${parent.row} is the insert of entry ${parent.id}, which is still pending: resolve ${parent.id} first`);
      const written = await this.#ledgerRowOf(parent.id);
      if (written?.outcome === 'skipped') {
        throw new Refusal(`its parent ${parent.row} was never written (entry ${parent.id}, its insert, was skipped), so ${there(parent.byValue)}: ${instead}`);
      }
      if (parent.byValue && written !== undefined) await this.#checkParentValue(parent, written);
    }
    // Recorded by apply, never changed since: a rule's skip is final (a review decides entries only).
    const skipped = p.skippedParents[0];
    if (skipped !== undefined) {
      throw new Refusal(`its parent ${skipped.row} was never written (its insert ${skipped.label} was skipped during apply by ${skipped.rulePath ?? 'a rule'}), so ${there(skipped.byValue)}: ${instead}`);
    }
  }

  /** The ledger row now recorded for the change of quarantine entry `id` (it may have been resolved earlier in this run). */
  async #ledgerRowOf(id: number): Promise<StoredLedgerEntry | undefined> {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    return (await readLedgerEntries(this.#dr, this.#schema, entry.at)).find((r) => r.sourceId === entry.sourceId && r.changeIndex === entry.index);
  }

  /**
   * A parent named by a unique value, whose insert a review carried out: the key map follows its
   * primary key only, so the row must still hold the value the child names (a reviewed row may have
   * given it another, the clash being on that value, and a link is the DR record with its own
   * values); otherwise the child would point at whichever DR record holds that value, or none.
   * The parent row is read FOR UPDATE, so the value holds until the child is written.
   */
  async #checkParentValue(parent: ParentEntry, written: StoredLedgerEntry): Promise<void> {
    const table = parent.table;
    if (table.primaryKey === null) return;
    let key: ColumnValue[];
    try {
      key = keyFromCanonical(parseExactJson(written.newKey ?? written.sourceKey) as CanonicalValue[], table);
    } catch (e) {
      if (!(e instanceof FromCanonicalError)) throw e;
      throw new Refusal(`its parent ${parent.row}: the key entry ${parent.id} recorded for it no longer fits ${table.schema}.${table.table}: ${e.message}`);
    }
    const row = (await this.#lockRows(table, [key])).get(rowKey(key));
    const suffix = 'decide skip, or give the whole row in decision.row pointing at the value the parent has now';
    if (row === undefined) throw new Refusal(`its parent ${parent.row} (entry ${parent.id}) was written as the DR row ${keyText(key)} of ${table.schema}.${table.table}, which is gone: ${suffix}`);
    const defs = tableMapOf(table).columns;
    const differ = parent.columns.flatMap((c, i) => {
      const at = table.columns.findIndex((col) => col.name === c);
      const col = table.columns[at]!;
      return sameUniqueValue(row[at], parent.values[i], col.collation) ? [] : [`${c} ${clip(canonText(row[at], defs[at]!))}`];
    });
    if (differ.length > 0) {
      throw new Refusal(`its parent ${parent.row} (entry ${parent.id}) was written as the DR row ${keyText(key)} of ${table.schema}.${table.table}, which holds ${differ.join(', ')}: the value this row names is another record's or none; ${suffix}`);
    }
  }

  /** Whether the change the entry waits on is an insert of its row that was skipped (by a rule, or by review). */
  async #insertSkipped(e: QuarantineEntry): Promise<boolean> {
    if (e.origin === null) return false;
    const cut = e.origin.label.lastIndexOf('#');
    if (cut < 0) return false;
    const index = Number(e.origin.label.slice(cut + 1));
    // Of the entry's source, else of another id of the same primary (as reviewEntries finds origins).
    const rows = (await readLedgerEntries(this.#dr, this.#schema, e.origin.label.slice(0, cut))).filter((r) => r.changeIndex === index);
    const origin = rows.find((r) => r.sourceId === e.sourceId) ?? rows[0];
    return origin !== undefined && origin.op === 'insert' && origin.outcome === 'skipped' && origin.table === e.table;
  }

  /** Records that the lost row with source key `from` is the DR row `to` now (key map, memory and DR, in the entry's transaction). */
  async #recordMove(p: Prepared, from: ColumnValue[], to: ColumnValue[]): Promise<void> {
    const table = p.table!;
    try {
      this.#keyMap.set(table.schema, table.table, from, to);
    } catch (err) {
      throw new Refusal(`cannot give ${keyText(from)} the key ${keyText(to)}: ${(err as Error).message}`);
    }
    await recordKeyMap(this.#dr, this.#schema, [{ table: `${table.schema}.${table.table}`, oldKey: keyParts(from), newKey: keyParts(to), runId: this.#runId ?? p.entry.runId, gtid: p.entry.gtid }]);
  }

  /**
   * Refuses a delete while any DR row points at `row` (a declared foreign key, or a logical
   * reference the apply run followed). The rows are read FOR UPDATE, so none can be added before
   * the delete commits. Counting them against what the entry recorded would not do: the server's
   * ON DELETE CASCADE (or SET NULL) would silently change DR rows that the review never saw, and
   * a RESTRICT would fail anyway. The DBA deals with the children first, then resolves again.
   */
  async #refuseWhileReferenced(table: TableSchema, row: RowImage): Promise<void> {
    const found: string[] = [];
    for (const ref of this.#catalog.referencing(table.schema, table.table)) {
      const child = this.#catalog.get(ref.schema, ref.table);
      if (child === undefined) continue;
      const values = ref.foreignKey.refColumns.map((c) => row[table.columns.findIndex((col) => col.name === c)]);
      if (values.some((v) => v === undefined || v === null)) continue;
      const rows = await readRowsMatching(this.#dr, child, ref.foreignKey.columns, [values], { forUpdate: true });
      if (rows.length === 0) continue;
      const rule = ref.foreignKey.origin === 'config' ? 'a logical reference' : `ON DELETE ${ref.foreignKey.onDelete}`;
      found.push(`${rows.length} row(s) of ${ref.schema}.${ref.table} (${ref.foreignKey.name}, ${rule})`);
    }
    if (found.length === 0) return;
    const key = primaryKeyOf(table, row);
    throw new Refusal(
      `${found.join('; ')} still point at the DR row${key === null ? '' : ` ${keyText(key)}`} of ${table.schema}.${table.table}: the delete would take them with it, change or orphan them (by the rule named), rows the review never saw; delete or re-point them first, then resolve again, or decide skip`,
    );
  }

  async #expect(affected: Promise<number>, n: number, what: string): Promise<void> {
    const got = await affected;
    if (got !== n) throw new Refusal(`the ${what} changed ${got} row(s) on the DR, expected ${n}`);
  }

  /** Locks (FOR UPDATE) the DR rows with these primary keys; the map is keyed by rowKey. */
  async #lockRows(table: TableSchema, keys: readonly (readonly ColumnValue[])[]): Promise<Map<string, RowImage>> {
    const unique = [...new Map(keys.map((k) => [rowKey(k), k])).values()];
    return readRowsByKeys(this.#dr, table, table.primaryKey!, unique, { forUpdate: true });
  }

  /** The key of the DR row recorded as D, when there is one. */
  #recordedKeys(p: Prepared): ColumnValue[][] {
    if (p.entry.dr === null || p.table === null) return [];
    const key = primaryKeyOf(p.table, rowFromCanonical(p.entry.dr, p.table));
    return key === null ? [] : [key];
  }

  /**
   * Refuses when the DR changed since the entry was quarantined: the recorded DR row (D) must still
   * be there with the same values; where the class implies D instead of recording it (update-missing
   * and a held insert: no row; a held clean update or delete: the before image), that must hold.
   */
  #checkRecorded(p: Prepared, rows: ReadonlyMap<string, RowImage>, apply: { pk: ColumnValue[] | null; current: RowImage | null; before: RowImage | null } | null): void {
    const e = p.entry;
    const table = p.table!;
    const since = 'since it was quarantined: export again and decide on what the DR holds now';
    if (e.dr !== null) {
      const d = rowFromCanonical(e.dr, table);
      const key = primaryKeyOf(table, d);
      if (key === null) return;
      const now = rows.get(rowKey(key));
      if (now === undefined) throw new Refusal(`the DR row ${keyText(key)} of ${e.table} was deleted ${since}`);
      const diff = differences(now, d, table);
      if (diff.length > 0) throw new Refusal(`the DR row ${keyText(key)} of ${e.table} changed ${since} (${diff.join('; ')})`);
      return;
    }
    if (apply === null || apply.pk === null) return;
    const heldClean = e.class === 'clean' || e.class === 'transaction-quarantined';
    if (isUpdateMissing(e.class) || (heldClean && e.op === 'insert')) {
      if (apply.current !== null) throw new Refusal(`the DR has a row with key ${keyText(apply.pk)} in ${e.table} now; it had none ${since}`);
      return;
    }
    if (heldClean && apply.before !== null) {
      if (apply.current === null) throw new Refusal(`the DR row ${keyText(apply.pk)} of ${e.table} was deleted ${since}`);
      const diff = differences(apply.current, apply.before, table);
      if (diff.length > 0) throw new Refusal(`the DR row ${keyText(apply.pk)} of ${e.table} changed ${since} (${diff.join('; ')})`);
    }
  }

  #sourceKeyOrNull(p: Prepared): ColumnValue[] | null {
    return p.entry.key === null || p.table === null || p.table.primaryKey === null ? null : keyFromCanonical(p.entry.key, p.table);
  }

  #sourceKey(p: Prepared): ColumnValue[] {
    const k = this.#sourceKeyOrNull(p);
    if (k === null) throw new Refusal(`entry ${p.entry.id} has no source key to link`);
    return k;
  }
}

/** Decided entries in id order, each after the entry its quarantine waits on and the entries inserting its parents, when those are decided too. */
function order(prepared: readonly Prepared[], byId: ReadonlyMap<number, QuarantineEntry>): Prepared[] {
  const decided = new Map(prepared.map((p) => [p.entry.id, p]));
  const out: Prepared[] = [];
  const visited = new Set<number>();
  const visit = (p: Prepared): void => {
    if (visited.has(p.entry.id)) return;
    visited.add(p.entry.id);
    const origin = p.entry.origin?.id;
    const first = origin === null || origin === undefined ? undefined : decided.get(origin);
    if (first !== undefined && byId.has(origin!)) visit(first);
    for (const parent of p.parents) {
      const before = decided.get(parent.id);
      if (before !== undefined) visit(before);
    }
    out.push(p);
  };
  for (const p of [...prepared].sort((a, b) => a.entry.id - b.entry.id)) visit(p);
  return out;
}

function primaryKeyOf(table: TableSchema, row: RowImage | null): ColumnValue[] | null {
  if (row === null || table.primaryKey === null) return null;
  const key: ColumnValue[] = [];
  for (const name of table.primaryKey) {
    const v = row[table.columns.findIndex((c) => c.name === name)];
    if (v === undefined || v === null) return null;
    key.push(v);
  }
  return key;
}

/** MariaDB JSON text compares as its canonical form (whitespace aside); everything else exactly (value-equality.ts). */
function sameCell(a: ColumnValue | undefined, b: ColumnValue | undefined, col: TableSchema['columns'][number], def: ColumnDef): boolean {
  if (col.isJson && typeof a === 'string' && typeof b === 'string') return canonText(a, def) === canonText(b, def);
  return sameValue(a, b, col);
}

/** sameCell, but a FLOAT equals only the same float32 (value-equality.ts sameExactValue): whether a change changed a column. */
function sameExactCell(a: ColumnValue | undefined, b: ColumnValue | undefined, col: TableSchema['columns'][number], def: ColumnDef): boolean {
  if (col.isJson && typeof a === 'string' && typeof b === 'string') return canonText(a, def) === canonText(b, def);
  return sameExactValue(a, b, col);
}

function canonText(v: ColumnValue | undefined, def: ColumnDef): string {
  return v === undefined ? '(not logged)' : stringifyCanonical(toCanonical(v, def));
}

/** `column: was X, now Y` for every column `expected` logs that `now` holds differently (at most 3). */
function differences(now: RowImage, expected: RowImage, table: TableSchema): string[] {
  const defs = tableMapOf(table).columns;
  const out: string[] = [];
  table.columns.forEach((c, i) => {
    if (expected[i] === undefined || sameCell(now[i], expected[i], c, defs[i]!)) return;
    out.push(`${c.name}: was ${clip(canonText(expected[i], defs[i]!))}, now ${clip(canonText(now[i], defs[i]!))}`);
  });
  return out.length > 3 ? [...out.slice(0, 3), `${out.length - 3} more`] : out;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 39)}…` : s;
}

function keyParts(values: readonly ColumnValue[]): KeyPart[] {
  return values.map((v) => (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' || v === null || Buffer.isBuffer(v) ? v : String(v)));
}

// ---- explain --------------------------------------------------------------------------------

export interface ExplainOptions extends ReviewOptions {
  /** The change's transaction: a GTID, or `file:pos`; `#index` picks one change of it. */
  readonly change: string;
  /** Only the change of this table (`schema.table`) … */
  readonly table?: string;
  /** … with this primary key (source or DR key): canonical JSON array text (`[5]`, `["a",1]`) or one bare value. */
  readonly key?: string;
}

/** Why one lost change ended as it did. */
export interface ExplainedChange {
  readonly label: string;
  readonly gtid: string | null;
  readonly index: number;
  readonly sourceId: string;
  readonly runId: number;
  readonly recordedAt: string;
  readonly table: string;
  readonly op: string;
  readonly key: readonly CanonicalValue[] | null;
  readonly class: string;
  readonly outcome: string;
  readonly reason: string | null;
  readonly rulePath: string | null;
  readonly newKey: readonly CanonicalValue[] | null;
  readonly before: Readonly<Record<string, CanonicalValue>> | null;
  readonly after: Readonly<Record<string, CanonicalValue>> | null;
  /** The DR row the change met (as recorded). */
  readonly dr: Readonly<Record<string, CanonicalValue>> | null;
  /** The key the row has on the DR (new key, key map, or source key) and the DR row there now; both null for a skipped insert, which never wrote its row. */
  readonly drKey: readonly CanonicalValue[] | null;
  readonly now: Readonly<Record<string, CanonicalValue>> | null;
  readonly quarantine: { readonly id: number; readonly status: string } | null;
  /** The SQL statement that produced the change, as its quarantine entry records it; absent without one. */
  readonly statement?: string;
}

/** The ledger rows of one change (or of every change of a transaction), with the DR row each has now. */
export async function explainChange(options: ExplainOptions): Promise<ExplainedChange[]> {
  const schema = options.stateSchema ?? DEFAULT_STATE_SCHEMA;
  const m = /^(.*)#(\d+)$/.exec(options.change);
  const at = m === null ? options.change : m[1]!;
  const index = m === null ? null : Number(m[2]);
  // What the ledger's change_at holds: a MariaDB GTID, a MySQL GTID (tagged or not), or FILE:POS without GTIDs.
  if (!/^\d+-\d+-\d+$/.test(at) && !/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}(?::[a-z_][a-z0-9_]*)?:\d+$/i.test(at) && !/^[^\s:#]+:\d+$/.test(at)) {
    throw new ReviewError(ReviewErrorCode.BadChange, `"${options.change}" names no change: give a GTID (0-1-42, or uuid:42 on MySQL) or, for a source without GTIDs, FILE:POS, each with an optional #N for the N-th row change of the transaction (salvage quarantine list and the ledger show them)`, { option: 'CHANGE' });
  }
  // A GTID no server writes (a typo's extra digits) is said here, not as "not in the ledger" once connected.
  try {
    const mariadb = /^(\d+)-(\d+)-(\d+)$/.exec(at);
    if (mariadb !== null) checkMariadbGtidRange(mariadb[1]!, mariadb[2]!, mariadb[3]!, at);
    else if (/^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}:/i.test(at)) GtidSet.parse(at);
  } catch (e) {
    if (e instanceof GtidSetError) throw new ReviewError(ReviewErrorCode.BadChange, `"${options.change}" names no change: ${e.message}`, { option: 'CHANGE', value: options.change }, { cause: e });
    throw e;
  }
  const wantedKey = options.key === undefined ? null : keyArgument(options.key);
  return reviewSession(options).run('read', async (session) => {
    await requireState(session, schema);
    const rows = (await readLedgerEntries(session, schema, at)).filter(
      (r) => (index === null || r.changeIndex === index) && (options.table === undefined || r.table === options.table) && (wantedKey === null || r.sourceKey === wantedKey || r.newKey === wantedKey),
    );
    if (rows.length === 0) {
      const what = [index === null ? '' : ` #${index}`, options.table === undefined ? '' : ` on ${options.table}`, wantedKey === null ? '' : ` with key ${wantedKey}`].join('');
      throw new ReviewError(ReviewErrorCode.NotFound, `no change of ${at}${what} in the ledger of ${quoteIdent(schema)}: it was not in a lost range applied to this DR (the DR had it, or no apply reached it)`, {
        gtid: at,
      });
    }
    const catalog = await introspectSchemas(session, [...new Set(rows.flatMap((r) => schemaCandidates(r.table)))]);
    const keyMap = await keyMapOf(session, schema, catalog);
    await session.query("SET SESSION time_zone = '+00:00'");
    const out: ExplainedChange[] = [];
    for (const r of rows) out.push(await explainOne(session, r, catalog, keyMap));
    return out;
  });
}

/** A KEY argument as the ledger's key text: `[5]`, `["a",1]`, or a bare value (`5`, `bob@x`); integers beyond 2^53 as digit strings. */
function keyArgument(text: string): string {
  const t = text.trim();
  let parts: CanonicalValue[];
  if (t.startsWith('[')) {
    try {
      const v = parseExactJson(t);
      if (!Array.isArray(v)) throw new Error('expected an array');
      parts = v as CanonicalValue[];
    } catch (e) {
      throw new ReviewError(ReviewErrorCode.NotFound, `KEY ${text}: ${(e as Error).message}`, { option: 'KEY' });
    }
  } else parts = [/^-?\d+$/.test(t) ? parseExactJson(t) : t];
  // As state-store.ts canonicalKey writes keys: numbers within ±(2^53−1), else their digits as a string.
  return stringifyCanonical(parts.map((p) => (p instanceof RawJson && /^-?\d+$/.test(p.json) ? p.json : p)));
}

/** The logical references recorded by the runs `ids` (their `options.references`); a run recorded before runs kept them has none. */
async function runReferences(session: SqlSession, schema: string, ids: ReadonlySet<number>): Promise<RecordedReference[]> {
  const out: RecordedReference[] = [];
  for (const id of ids) {
    const run = await readRun(session, schema, id);
    if (run === undefined) continue;
    const parsed = recordedReferences().safeParse(runOptions(run.options));
    if (parsed.success) out.push(...(parsed.data.references ?? []));
  }
  return out;
}

function buildRecordedReferences() {
  const z = zod();
  return z.object({
    references: z.array(z.object({ schema: z.string(), table: z.string(), columns: z.array(z.string()), refSchema: z.string(), refTable: z.string(), refColumns: z.array(z.string()) })).optional(),
  });
}
let recorded: ReturnType<typeof buildRecordedReferences> | undefined;

/** The shape of a run's recorded `options.references`, built on first use (config/zod.ts). */
function recordedReferences(): ReturnType<typeof buildRecordedReferences> {
  recorded ??= buildRecordedReferences();
  return recorded;
}

async function keyMapOf(session: SqlSession, schema: string, catalog: SchemaCatalog): Promise<KeyMap> {
  const map = new KeyMap();
  for (const e of await loadKeyMap(session, schema)) {
    const table = catalog.lookup(e.table);
    if (table === undefined || table.primaryKey === null) continue;
    try {
      // Persisted entries may be links (onto an old key: KeyMap.link); all were checked when made.
      map.link(table.schema, table.table, keyFromCanonical(parseExactJson(e.oldKey) as CanonicalValue[], table), keyFromCanonical(parseExactJson(e.newKey) as CanonicalValue[], table));
    } catch {
      // A mapping this schema can no longer read: explain shows the source key instead.
    }
  }
  return map;
}

/**
 * Whether a change left its row unwritten on the DR: a skipped insert, unless the DR already held
 * that same record (already-applied, or the same record changed since, where the DR won).
 */
export function neverWritten(c: { readonly op: string; readonly outcome: string; readonly class: string }): boolean {
  return c.op === 'insert' && c.outcome === 'skipped' && c.class !== 'already-applied' && c.class !== 'insert-pk-same-record';
}

/** explainOne: the change's row was never written, so it has no DR row to show. */
class NeverWritten extends Error {}

async function explainOne(session: SqlSession, r: StoredLedgerEntry, catalog: SchemaCatalog, keyMap: KeyMap): Promise<ExplainedChange> {
  const key = r.op === 'sql' ? null : (parseExactJson(r.sourceKey) as CanonicalValue[]);
  const newKey = r.newKey === null ? null : (parseExactJson(r.newKey) as CanonicalValue[]);
  const table = catalog.lookup(r.table);
  let drKey: CanonicalValue[] | null = null;
  let now: Record<string, CanonicalValue> | null = null;
  if (table !== undefined && table.primaryKey !== null && key !== null && key.length === table.primaryKey.length) {
    try {
      const source = keyFromCanonical(key, table);
      const mapped = newKey !== null ? keyFromCanonical(newKey, table) : (keyMap.get(table.schema, table.table, source) as ColumnValue[] | undefined);
      // A skipped insert (not already on the DR) never wrote the lost row, and nothing moved it:
      // the DR row at its source key, if any, is another record, not "the row now".
      if (mapped === undefined && neverWritten(r)) throw new NeverWritten();
      const values = mapped ?? source;
      const defs = tableMapOf(table).columns;
      const pkDefs = table.primaryKey.map((n) => defs[table.columns.findIndex((c) => c.name === n)]!);
      drKey = values.map((v, i) => toCanonical(v, pkDefs[i]!));
      const found = (await readRowsByKeys(session, table, table.primaryKey, [values], { forUpdate: false })).get(rowKey(values));
      now = found === undefined ? null : toCanonicalRow(found, table);
    } catch (e) {
      if (!(e instanceof FromCanonicalError) && !(e instanceof NeverWritten)) throw e;
    }
  }
  return {
    label: `${r.changeAt}#${r.changeIndex}`,
    gtid: r.gtid,
    index: r.changeIndex,
    sourceId: r.sourceId,
    runId: r.runId,
    recordedAt: r.recordedAt,
    table: r.table,
    op: r.op,
    key,
    class: r.class,
    outcome: r.outcome,
    reason: r.reason,
    rulePath: r.rulePath,
    newKey,
    before: image(r.beforeImage),
    after: image(r.afterImage),
    dr: image(r.drImage),
    drKey,
    now,
    quarantine: r.quarantineId === null ? null : { id: r.quarantineId, status: r.quarantineStatus ?? '' },
    ...(r.statement === null ? {} : { statement: r.statement }),
  };
}

/** The classes the DR's history gives a change whose key the DR gave to a record of its own: never a write (DESIGN.md "Conflict taxonomy"). */
const PK_REUSED_CLASSES: readonly string[] = ['update-pk-reused', 'delete-pk-reused'];

/** The probe's columns are chosen by keylessProbe already: KeylessRows leaves none out itself. */
const NO_COLUMNS: ReadonlySet<string> = new Set();

/**
 * What a keyless row is searched by: its before image, less the columns where the DR row apply
 * matched it to (`recorded`, D) differs from it, which that run compared on nothing but the rest
 * (its ignoreColumns). The whole before image without a D.
 */
function keylessProbe(table: TableSchema, before: RowImage, recorded: RowImage | null): RowImage {
  if (recorded === null) return before;
  const defs = tableMapOf(table).columns;
  return table.columns.map((c, i) => (before[i] === undefined || sameExactCell(recorded[i], before[i], c, defs[i]!) ? before[i] : undefined));
}

/** update-missing, and the classes the DR's history splits it into (the DR deleted the row, or never had it). */
function isUpdateMissing(cls: string): boolean {
  return cls === 'update-missing' || (UPDATE_MISSING_CLASSES as readonly string[]).includes(cls);
}
