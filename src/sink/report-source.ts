/**
 * What the incident reports (Markdown, HTML) read: the subset of the pipeline's `SalvageReport`
 * they need, declared here so the sink does not depend on the pipeline (a report is assignable to
 * it), widened where a report rebuilt afterwards from the DR's state schema (`salvage report`)
 * cannot know a figure: those fields are null, and the renderers say "not recorded" rather than
 * invent a value.
 */
import { basename } from 'node:path';
import { stringifyCanonical, type CanonicalValue } from '../binlog/values/canonical-json.js';
import type { FailoverPoint, HistoryTableSummary } from '../model/dr-history.js';
import { OUTCOMES, type Outcome } from '../model/decision.js';
import type { LedgerLine } from './ledger-entry.js';

/** Where a lost transaction is, as the report gives it. */
export interface ReportPoint {
  readonly gtid: string | null;
  /** null: not recorded (the DR's ledger keeps the position only of a transaction without a GTID). */
  readonly file: string | null;
  readonly pos: number | null;
  /** ISO 8601, UTC; null: not recorded (the ledger does not keep commit times). */
  readonly timestamp: string | null;
}

/** The DR's own history since the failover, as the run summarised it (SalvageReport `history`). */
export interface ReportHistory {
  readonly failover: FailoverPoint;
  /** Transactions the DR wrote itself after the failover. */
  readonly transactions: number;
  readonly tables: readonly HistoryTableSummary[];
  /** False when the DR's binlog read ends before the DR's current position. */
  readonly complete: boolean;
}

/** A report rebuilt from the DR's state schema: the run's row, and what changed or is missing since. */
export interface RecordedRun {
  /** The `runs` row's status: completed, failed, interrupted, killed (found still running by a later apply of its source), running. */
  readonly status: string;
  /** UTC, `YYYY-MM-DD HH:MM:SS[.ffffff]`. */
  readonly startedAt: string;
  readonly finishedAt: string | null;
  /** Changes this run quarantined that a review resolved since, by their outcome now. */
  readonly resolvedSince: Readonly<Partial<Record<string, number>>>;
  /** Changes this run quarantined that still wait for a decision. */
  readonly pendingNow: number;
  /** What the state schema does not keep, so this report cannot say (one sentence each). */
  readonly notRecorded: readonly string[];
}

/** The report the renderers read. */
export interface ReportSource {
  readonly mode: 'plan' | 'apply';
  readonly target: string;
  readonly dr: { readonly flavor: string; readonly version: string; readonly serverId: number };
  readonly sourceId: string;
  readonly runId: number | null;
  /** null: not recorded. */
  readonly start: { readonly rule: string; readonly lostSet: string; readonly checks: readonly string[]; readonly checkpoint: string | null } | null;
  readonly lost: { readonly transactions: number; readonly rowChanges: number; readonly first: ReportPoint | null; readonly last: ReportPoint | null };
  /** table → class → outcome → count (at the end of the run). */
  readonly counts: Readonly<Record<string, Readonly<Record<string, Readonly<Partial<Record<Outcome, number>>>>>>>;
  readonly outcomes: Readonly<Record<Outcome, number>>;
  /** Keys mapped: re-keyed rows, and (`linked: true`, in an apply's own report) lost rows that are an existing DR record. */
  readonly remaps: readonly ReportKeyMapping[];
  readonly quarantined: number;
  /** null: not recorded. */
  readonly incomplete: readonly { readonly gtid: string | null; readonly file: string; readonly pos: number; readonly reason: string }[] | null;
  /** `sql` null: not recorded. */
  readonly skippedDdl: readonly { readonly at: string; readonly sql: string | null }[];
  readonly windows: number | null;
  readonly retries: number | null;
  readonly timings: { readonly scanMs: number; readonly reconcileMs: number; readonly totalMs: number; readonly rowsPerSecond: number } | null;
  /** null: not recorded whether the run read the DR's binlog. */
  readonly withoutHistory: boolean | null;
  /** What was read: binlog files, or a live server. */
  readonly source?:
    | { readonly kind: 'files'; readonly files: readonly string[] }
    | { readonly kind: 'live'; readonly server: string; readonly start: string; readonly follow: boolean; readonly reconnects: number | null };
  /** apply: the checkpoint when the run ended (`file:pos`), where the next run resumes. */
  readonly committedThrough?: string | null;
  /** The run ended because it was asked to stop (Ctrl-C, SIGTERM; how a follow ends). */
  readonly stoppedOnRequest?: boolean;
  /** Where `--stop-before` ended the lost range (WHERE as given; the transaction's GTID, file base name and start). */
  readonly stoppedBefore?: { readonly asked: string; readonly gtid: string | null; readonly file: string; readonly pos: number };
  /** The DR's own writes since the failover, when the run read the DR's binlog. */
  readonly history?: ReportHistory | null;
  /** Set when the report was rebuilt from the DR's state schema rather than written by the run. */
  readonly recorded?: RecordedRun;
}

/** One canonical JSON row image: column → value. */
export type ReportImage = Readonly<Record<string, CanonicalValue>>;

/** A quarantined change as the reports show it: what, why, and its row images. */
export interface ReportQuarantinedChange {
  /** `GTID#index`, or `file:pos#index` for a source without GTIDs. */
  readonly label: string;
  readonly table: string;
  /** insert, update, delete, or sql for a statement. */
  readonly op: string;
  readonly key: readonly CanonicalValue[] | null;
  readonly class: string;
  readonly reason: string | null;
  /** B and A from the binlog; D the DR row the change met (null: none, or one the class implies: see `impliedDr`). */
  readonly before: ReportImage | null;
  readonly after: ReportImage | null;
  readonly dr: ReportImage | null;
  /** The SQL statement that produced the change, as the binlog logged it (ANNOTATE_ROWS / ROWS_QUERY); absent without one. */
  readonly statement?: string;
  /** The quarantine entry on the DR, when the report was rebuilt from it. */
  readonly entry?: { readonly id: number; readonly status: string; readonly resolution: string | null };
}

/** A `--ledger` line of a quarantined change as the reports show it. */
export function quarantinedFromLedgerLine(l: LedgerLine): ReportQuarantinedChange {
  return {
    label: `${l.gtid ?? `${basename(l.file)}:${l.pos}`}#${l.index}`,
    table: l.table,
    op: l.op,
    key: l.key,
    class: l.class,
    reason: l.reason ?? null,
    before: l.before ?? null,
    after: l.after ?? null,
    dr: l.dr ?? null,
    ...(l.statement === undefined ? {} : { statement: l.statement }),
  };
}

/**
 * Which image the DR row equalled when the ledger leaves D out (sink/ledger-entry.ts keeps D only
 * where the class does not imply it): `before` for a clean update or delete, `after` for an already
 * applied insert or update, `none` where the class means there was no row; null when the class
 * implies nothing (then a missing D means the change met no row).
 */
export function impliedDr(op: string, klass: string): 'before' | 'after' | 'none' | null {
  if (klass === 'clean') return op === 'insert' ? 'none' : op === 'update' || op === 'delete' ? 'before' : null;
  if (klass === 'already-applied') return op === 'delete' ? 'none' : op === 'insert' || op === 'update' ? 'after' : null;
  return null;
}

/** What a review resolved since the run (counts as the run left them), or null when nothing was. */
export function resolvedSinceText(recorded: RecordedRun): string | null {
  const since = Object.entries(recorded.resolvedSince).filter((e): e is [string, number] => e[1] !== undefined && e[1] > 0);
  const n = since.reduce((a, [, k]) => a + k, 0);
  if (n === 0) return null;
  return `Counts as the run left them. Since then a review resolved ${n} of the quarantined changes (${since.map(([o, k]) => `${k} ${o}`).join(', ')}); ${recorded.pendingNow} still wait for a decision.`;
}

/** The counts as rows `[table, class, outcome, n]`, sorted by table and class, outcomes in their order. */
export function countRows(counts: ReportSource['counts']): [string, string, Outcome, number][] {
  const rows: [string, string, Outcome, number][] = [];
  for (const table of Object.keys(counts).sort()) {
    const byClass = counts[table]!;
    for (const klass of Object.keys(byClass).sort()) {
      const byOutcome = byClass[klass]!;
      for (const outcome of OUTCOMES) {
        const n = byOutcome[outcome];
        if (n !== undefined && n > 0) rows.push([table, klass, outcome, n]);
      }
    }
  }
  return rows;
}

/** A key as people write it: `13`, `bob@x`, or a JSON array for a composite or non-scalar key. */
export function keyText(values: readonly unknown[]): string {
  const only = values[0];
  if (values.length === 1 && (typeof only === 'number' || typeof only === 'string' || typeof only === 'bigint')) return String(only);
  return stringifyCanonical(values);
}

/** `2026-11-26T11:06:08.000Z` → `2026-11-26 11:06:08`; other text unchanged. Commit times have whole seconds. */
export function utcText(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.0+)?Z$/.exec(iso);
  return m === null ? iso : `${m[1]} ${m[2]}`;
}

/** A binlog timestamp (seconds since the epoch, as FailoverPoint holds it) as `YYYY-MM-DD HH:MM:SS` UTC. */
export function epochText(seconds: number): string {
  const d = new Date(seconds * 1000);
  return Number.isNaN(d.getTime()) ? String(seconds) : utcText(d.toISOString());
}

/** One key mapping of a report: a remap, or a link (the lost row is the DR's record at `newKey`). */
export interface ReportKeyMapping {
  readonly table: string;
  readonly oldKey: readonly unknown[];
  readonly newKey: readonly unknown[];
  readonly at: string;
  readonly linked?: true;
}

/** The report's key mappings split into re-keyed rows and links. */
export function remapsAndLinks(r: ReportSource): { readonly remapped: readonly ReportKeyMapping[]; readonly linked: readonly ReportKeyMapping[] } {
  return { remapped: r.remaps.filter((m) => m.linked !== true), linked: r.remaps.filter((m) => m.linked === true) };
}

/** The sentence that says where `--stop-before` ended the run, as the summary says it; null without one. */
export function stopBeforeText(r: ReportSource): string | null {
  const s = r.stoppedBefore;
  if (s === undefined) return null;
  const at = s.gtid === null ? `${s.file}:${s.pos}` : `${s.gtid} (${s.file}:${s.pos})`;
  const next = r.mode === 'apply' ? '; the same command without --stop-before (or with a later one) goes on from there' : '';
  return `Stopped before ${at}, as --stop-before ${s.asked} asked: nothing from it on was read${next}.`;
}
