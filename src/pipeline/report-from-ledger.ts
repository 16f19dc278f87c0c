/**
 * `salvage report`: the incident report of a past `apply` run, rebuilt from the DR's state schema
 * alone (runs, ledger, key map, quarantine), without the binlogs — for the post-mortem weeks later,
 * or when the run's own `--html` / `--markdown` files were not kept.
 *
 * The ledger keeps every decision; what else the run knew — the rule that chose the start, the
 * commit times of the lost transactions, transactions never committed, timings, the DR's history —
 * the run keeps as its report in `runs.summary` when it ends. A run that did not end (killed), or
 * one of an older version, has none: those facts are null in the rebuilt report and listed in
 * `recorded.notRecorded`; nothing is guessed. Counts are those the
 * run left: a change a later review resolved counts as quarantined, and `recorded.resolvedSince`
 * says how it was resolved.
 */
import { serverLabel, type ConnectionTarget } from '../db/connection-url.js';
import { readDrIdentity, stateExists } from '../db/dr-state.js';
import { readEarlierLedgerRun, readLedgerCounts, readLedgerSpan, readRun, readRunQuarantine, readRunRemaps, readRuns, readRunSkippedDdl, readRunSummary, runOptions, type LedgerPoint, type StoredRun, type StoredRunQuarantine } from '../db/run-store.js';
import type { SqlSession } from '../db/sql-session.js';
import type { FirstConnectionOptions } from '../db/first-connection.js';
import { reviewSession } from './resolve.js';
import { DEFAULT_STATE_SCHEMA, quoteIdent } from '../db/state-schema.js';
import { readCheckpoint } from '../db/state-store.js';
import type { CanonicalValue } from '../binlog/values/canonical-json.js';
import { EngineError } from '../errors.js';
import { OUTCOMES, type Outcome } from '../model/decision.js';
import { parseExactJson, type JsonPath } from '../reconcile/from-canonical.js';
import { HTML_QUARANTINE_LIMIT } from '../sink/html-report.js';
import type { MarkdownQuarantinedChange } from '../sink/markdown-report.js';
import type { ReportImage, ReportPoint, ReportQuarantinedChange, ReportSource } from '../sink/report-source.js';

export const ReportErrorCode = {
  /** The DR has no state schema (no apply ran against it, or another --state-schema). */
  NoState: 'REVIEW_NO_STATE',
  /** No apply run with that id (or none at all). */
  NoRun: 'REPORT_NO_RUN',
} as const;
export type ReportErrorCode = (typeof ReportErrorCode)[keyof typeof ReportErrorCode];

export class ReportError extends EngineError {}

/** Options of `reportFromLedger`; the first connection to the DR is tried again while it does not answer (`reconnect`, `onReconnect`). */
export interface ReportFromLedgerOptions extends FirstConnectionOptions {
  readonly target: ConnectionTarget;
  /** The DR-side state schema (default `salvage`). */
  readonly stateSchema?: string;
  /** The run (a `runs` id of an apply); default the latest apply run. */
  readonly runId?: number;
  /** Quarantined changes read with their images (default HTML_QUARANTINE_LIMIT); the report counts them all. */
  readonly quarantineLimit?: number;
}

/** A rebuilt report: what both renderers read, and the quarantined changes in the form each lists them. */
export interface LedgerReport {
  readonly report: ReportSource & { readonly recorded: NonNullable<ReportSource['recorded']> };
  /** The first quarantined changes with their images and entries, in the order they were held back. */
  readonly quarantined: readonly ReportQuarantinedChange[];
  /** The same changes as the Markdown report lists them. */
  readonly markdownQuarantined: readonly MarkdownQuarantinedChange[];
  /**
   * When no run was asked for and the latest apply recorded no change (a re-run that found
   * nothing lost, as the demo's second apply): the latest earlier run that did, else absent.
   */
  readonly earlierWithChanges?: number;
}

/** What a run recorded about itself in `runs.options`. */
interface RunOptions {
  readonly mode?: unknown;
  readonly binlogs?: unknown;
  readonly source?: unknown;
  readonly start?: unknown;
  readonly follow?: unknown;
}

/** Rebuilds the report of one apply run (default: the latest) from the DR's state schema. */
export async function reportFromLedger(options: ReportFromLedgerOptions): Promise<LedgerReport> {
  const schema = options.stateSchema ?? DEFAULT_STATE_SCHEMA;
  return reviewSession(options).run('read', async (session) => {
    if (!(await stateExists(session, schema))) {
      throw new ReportError(ReportErrorCode.NoState, `the DR has no state schema ${quoteIdent(schema)}: no salvage apply has run against it (or give its name with --state-schema)`, {
        option: '--state-schema',
      });
    }
    const run = await findRun(session, schema, options.runId);
    const runOptions = parseOptions(run.options);
    const dr = await readDrIdentity(session);
    const counts: Record<string, Record<string, Partial<Record<Outcome, number>>>> = {};
    const outcomes: Record<Outcome, number> = { applied: 0, merged: 0, remapped: 0, skipped: 0, quarantined: 0 };
    const resolvedSince: Partial<Record<string, number>> = {};
    let pendingNow = 0;
    const notRecorded: string[] = [];
    for (const c of await readLedgerCounts(session, schema, run.id)) {
      // A review rewrites the ledger's outcome; the quarantine row says the run held the change back.
      const outcome = c.quarantineStatus === null ? c.outcome : 'quarantined';
      if (!isOutcome(outcome)) {
        notRecorded.push(`${c.count} change(s) of ${c.table} (${c.class}) with the outcome "${outcome}", which this version does not know`);
        continue;
      }
      const byOutcome = ((counts[c.table] ??= {})[c.class] ??= {});
      byOutcome[outcome] = (byOutcome[outcome] ?? 0) + c.count;
      outcomes[outcome] += c.count;
      if (c.quarantineStatus === 'pending') pendingNow += c.count;
      else if (c.quarantineStatus !== null) resolvedSince[c.outcome] = (resolvedSince[c.outcome] ?? 0) + c.count;
    }
    const span = await readLedgerSpan(session, schema, run.id);
    const earlier = options.runId === undefined && span.rowChanges === 0 ? await readEarlierLedgerRun(session, schema, run.id) : null;
    const remaps = (await readRunRemaps(session, schema, run.id)).map((m) => ({
      table: m.table,
      oldKey: keyValues(m.oldKey),
      newKey: keyValues(m.newKey),
      at: m.gtid ?? '(position not recorded)',
      ...(m.linked ? { linked: true as const } : {}),
    }));
    const skippedDdl = (await readRunSkippedDdl(session, schema, run.id)).map((at) => ({ at, sql: null }));
    const limit = options.quarantineLimit ?? HTML_QUARANTINE_LIMIT;
    const stored = limit > 0 ? await readRunQuarantine(session, schema, run.id, limit) : [];
    const checkpoint = await readCheckpoint(session, schema, run.sourceId);
    const committedThrough = checkpoint !== undefined && checkpoint.runId === run.id && checkpoint.file !== null && checkpoint.pos !== null ? `${checkpoint.file}:${checkpoint.pos}` : null;

    const kept = keptSummary(await readRunSummary(session, schema, run.id));
    if (kept === null) {
      notRecorded.push(
        'the rule that chose the starting point, the lost GTID set and any CHECK doubts',
        `the commit times of the lost transactions${span.first !== null && span.first.gtid !== null ? ', and the binlog positions of those with a GTID' : ''}`,
        'how many transactions the lost range held when the run began: the counts here are what the run recorded',
        'transactions never committed in the binlog (not applied)',
        'windows, retries and timings',
        "whether the run read the DR's own binlog (history), and what the DR wrote since the failover",
      );
      if (skippedDdl.length > 0) notRecorded.push('the statements of the DDL left out (only where they were)');
    }
    if (committedThrough === null && run.status !== 'running') notRecorded.push("where this run's checkpoint ended (a later run of the same source moved it, or the run committed nothing)");
    const source = sourceOf(runOptions);
    if (source?.kind === 'live') notRecorded.push('reconnections to the live source');

    const report: LedgerReport['report'] = {
      mode: 'apply',
      target: serverLabel(options.target),
      dr: { flavor: dr.flavor, version: dr.version, serverId: dr.serverId },
      sourceId: run.sourceId,
      runId: run.id,
      start: kept?.start ?? null,
      lost: kept?.lost ?? { transactions: span.transactions, rowChanges: span.rowChanges, first: point(span.first), last: point(span.last) },
      counts,
      outcomes,
      remaps,
      quarantined: outcomes.quarantined,
      incomplete: kept?.incomplete ?? null,
      skippedDdl: kept?.skippedDdl ?? skippedDdl,
      windows: kept?.windows ?? null,
      retries: kept?.retries ?? null,
      timings: kept?.timings ?? null,
      withoutHistory: kept?.withoutHistory ?? null,
      ...(kept?.history === undefined ? {} : { history: kept.history }),
      ...(source === undefined ? {} : { source }),
      committedThrough,
      stoppedOnRequest: run.status === 'interrupted',
      ...(kept?.stoppedBefore === undefined ? {} : { stoppedBefore: kept.stoppedBefore }),
      recorded: { status: run.status, startedAt: run.startedAt, finishedAt: run.finishedAt, resolvedSince, pendingNow, notRecorded },
    };
    return { report, quarantined: stored.map(toReportChange), markdownQuarantined: stored.map(toMarkdownChange), ...(earlier === null ? {} : { earlierWithChanges: earlier }) };
  });
}

async function findRun(session: SqlSession, schema: string, id: number | undefined): Promise<StoredRun> {
  if (id !== undefined) {
    const run = await readRun(session, schema, id);
    if (run === undefined) throw new ReportError(ReportErrorCode.NoRun, `the state schema ${quoteIdent(schema)} has no run ${id}; the runs are listed in ${quoteIdent(schema)}.runs`, { key: String(id) });
    const mode = parseOptions(run.options).mode;
    if (mode !== 'apply') throw new ReportError(ReportErrorCode.NoRun, `run ${id} is a ${typeof mode === 'string' ? mode : 'different kind of'} run, not an apply: a report covers what an apply did`, { key: String(id) });
    return run;
  }
  const latest = (await readRuns(session, schema)).find((r) => parseOptions(r.options).mode === 'apply');
  if (latest === undefined) throw new ReportError(ReportErrorCode.NoRun, `the state schema ${quoteIdent(schema)} records no apply run`, {});
  return latest;
}

function parseOptions(text: string): RunOptions {
  return runOptions(text) as RunOptions;
}

function sourceOf(o: RunOptions): ReportSource['source'] {
  if (Array.isArray(o.binlogs)) return { kind: 'files', files: o.binlogs.map(String) };
  if (typeof o.source === 'string') return { kind: 'live', server: o.source, start: typeof o.start === 'string' ? o.start : '(not recorded)', follow: o.follow === true, reconnects: null };
  return undefined;
}

/** What the run kept of its own report (runs.summary), checked field by field: a field of another shape is left out, not trusted. */
type KeptSummary = Partial<Pick<ReportSource, 'start' | 'lost' | 'incomplete' | 'skippedDdl' | 'windows' | 'retries' | 'timings' | 'withoutHistory' | 'history' | 'stoppedBefore'>>;

function keptSummary(text: string | null): KeptSummary | null {
  if (text === null) return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const r = v as Record<string, unknown>;
  const obj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
  const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const out: { -readonly [K in keyof KeptSummary]: KeptSummary[K] } = {};
  if (obj(r['start']) && typeof r['start']['rule'] === 'string') out.start = r['start'] as unknown as ReportSource['start'];
  if (obj(r['lost']) && num(r['lost']['transactions']) && num(r['lost']['rowChanges'])) out.lost = r['lost'] as unknown as ReportSource['lost'];
  if (Array.isArray(r['incomplete'])) out.incomplete = r['incomplete'] as ReportSource['incomplete'];
  if (Array.isArray(r['skippedDdl'])) out.skippedDdl = r['skippedDdl'] as ReportSource['skippedDdl'];
  if (num(r['windows'])) out.windows = r['windows'];
  if (num(r['retries'])) out.retries = r['retries'];
  if (obj(r['timings']) && num(r['timings']['totalMs'])) out.timings = r['timings'] as unknown as ReportSource['timings'];
  if (typeof r['withoutHistory'] === 'boolean') out.withoutHistory = r['withoutHistory'];
  if (r['history'] === null || (obj(r['history']) && obj(r['history']['failover']))) out.history = r['history'] as ReportSource['history'];
  const stop = r['stoppedBefore'];
  if (obj(stop) && typeof stop['asked'] === 'string' && typeof stop['file'] === 'string' && num(stop['pos']) && (stop['gtid'] === null || typeof stop['gtid'] === 'string')) {
    out.stoppedBefore = { asked: stop['asked'], gtid: stop['gtid'], file: stop['file'], pos: stop['pos'] };
  }
  return out;
}

function isOutcome(s: string): s is Outcome {
  return (OUTCOMES as readonly string[]).includes(s);
}

function point(p: LedgerPoint | null): ReportPoint | null {
  return p === null ? null : { gtid: p.gtid, file: p.file, pos: p.pos, timestamp: null };
}

/** A stored key (canonical JSON array) as values; a text the parser refuses stays as one string. */
function keyValues(text: string): unknown[] {
  try {
    const v = parseExactJson(text);
    return Array.isArray(v) ? v : [v];
  } catch {
    return [text];
  }
}

/** JSON documents inside a column stay their text (as `salvage quarantine` shows them). */
const IMAGE_RAW = (p: JsonPath): boolean => p.length === 1;

function image(text: string | null): ReportImage | null {
  return text === null ? null : (parseExactJson(text, IMAGE_RAW) as Record<string, CanonicalValue>);
}

function toReportChange(q: StoredRunQuarantine): ReportQuarantinedChange {
  return {
    label: `${q.changeAt}#${q.changeIndex}`,
    table: q.table,
    op: q.op,
    key: q.sourceKey === null || q.op === 'sql' ? null : (parseExactJson(q.sourceKey) as CanonicalValue[]),
    class: q.class,
    reason: q.reason,
    before: image(q.beforeImage),
    after: image(q.afterImage),
    dr: image(q.drImage),
    ...(q.statement === null ? {} : { statement: q.statement }),
    entry: { id: q.id, status: q.status, resolution: q.status === 'pending' ? null : q.ledgerReason },
  };
}

function toMarkdownChange(q: StoredRunQuarantine): MarkdownQuarantinedChange {
  // Without a GTID the change is named file:pos (the file as recorded: the Markdown shows its base name).
  const at = q.gtid === null ? /^(.*):(\d+)$/.exec(q.changeAt) : null;
  return {
    gtid: q.gtid,
    file: at === null ? '' : at[1]!,
    pos: at === null ? 0 : Number(at[2]),
    index: q.changeIndex,
    table: q.table,
    op: q.op,
    key: q.sourceKey === null || q.op === 'sql' ? null : (parseExactJson(q.sourceKey) as CanonicalValue[]),
    class: q.class,
    reason: q.reason ?? undefined,
    ...(q.statement === null ? {} : { statement: q.statement }),
    entry: { id: q.id, status: q.status, resolution: q.status === 'pending' ? null : q.ledgerReason },
  };
}
