/**
 * The incident summary as Markdown (`--markdown FILE` on `plan` and `apply`), for tickets and chat:
 * what was lost, from which starting point, what happened to each table's changes, which keys
 * moved and what waits for review. Pure: a report (and optionally the quarantined ledger lines)
 * in, text out, the same text for the same input.
 *
 * GitHub-flavoured Markdown, kept readable as raw text, since ticket systems and chat clients
 * often show it unrendered: identifiers in code spans, free text (reasons, rules) escaped only
 * where Markdown would change it, tables for the lists.
 */
import { basename } from 'node:path';
import { OUTCOMES, type Outcome } from '../model/decision.js';
import type { LedgerLine } from './ledger-entry.js';
import { countRows, epochText, keyText, remapsAndLinks, resolvedSinceText, stopBeforeText, type ReportHistory, type ReportKeyMapping, type ReportPoint, type ReportQuarantinedChange, type ReportSource } from './report-source.js';

/** Remapped keys listed; the rest are counted (the JSON report has them all). */
export const MARKDOWN_REMAP_LIMIT = 50;
/** Quarantined changes listed; the rest are counted (`salvage quarantine list` has them all). */
export const MARKDOWN_QUARANTINE_LIMIT = 100;

/** Where a lost transaction is, as the report gives it. */
export type MarkdownPoint = ReportPoint;

/**
 * What the renderer reads of a run's report (report-source.ts): the pipeline's `SalvageReport` is
 * assignable to it, and so is a report rebuilt from the DR's state schema.
 */
export type MarkdownReportSource = ReportSource;

/**
 * A quarantined change as the report lists it: the fields of its `--ledger` line that say what and
 * why, and, in a report rebuilt from the DR's state schema, its quarantine entry (as the HTML shows it).
 */
export type MarkdownQuarantinedChange = Pick<LedgerLine, 'gtid' | 'file' | 'pos' | 'index' | 'table' | 'op' | 'key' | 'class' | 'reason' | 'statement'> & {
  readonly entry?: ReportQuarantinedChange['entry'];
};

/**
 * The report as Markdown. `quarantined` are the quarantined ledger lines in source order (only the
 * first MARKDOWN_QUARANTINE_LIMIT are listed, so a caller need keep no more); without them the
 * section gives the count and where to list them.
 */
export function renderMarkdownReport(report: MarkdownReportSource, quarantined?: readonly MarkdownQuarantinedChange[]): string {
  const r = report;
  const out: string[] = [];
  const plan = r.mode === 'plan';
  const recorded = r.recorded;
  if (recorded !== undefined) {
    out.push(`# salvage report: ${r.target}, run ${r.runId ?? '?'}`, '');
    out.push(`The transactions the DR never received, merged into the DR by run ${r.runId ?? '?'} (${text(recorded.status)}, started ${recorded.startedAt} UTC${recorded.finishedAt === null ? '' : `, finished ${recorded.finishedAt} UTC`}), as the DR's state schema records it.`, '');
  } else {
    out.push(plan ? `# salvage plan (dry run): ${r.target}` : `# salvage apply: ${r.target}, run ${r.runId ?? '?'}`, '');
    out.push(
      plan
        ? 'What `salvage apply` would do with the transactions the DR never received. Nothing was written to the DR.'
        : 'The transactions the DR never received, merged into the DR.',
      '',
    );
  }
  out.push('| | |', '|---|---|');
  out.push(row('DR', `${code(r.target)}: ${text(`${r.dr.flavor} ${r.dr.version}`)}, server_id ${r.dr.serverId}`));
  out.push(row('source', `${code(r.sourceId)}${r.source === undefined ? '' : `: ${sourceText(r.source)}`}`));
  out.push(row('outcomes', outcomesText(r.outcomes)));
  out.push('');

  out.push('## Starting point', '');
  if (r.start === null) out.push('Not recorded: the DR\'s state schema keeps the decisions, not the rule that chose the start.', '');
  else {
    out.push(`${text(r.start.rule)}`, '');
    out.push(`- lost set: ${r.start.lostSet === '' ? 'empty' : code(r.start.lostSet)}`);
    out.push(`- already applied by salvage (checkpoint): ${r.start.checkpoint === null || r.start.checkpoint === '' ? 'none' : code(r.start.checkpoint)}`);
    for (const c of r.start.checks) out.push(`- **CHECK:** ${text(c)}`);
    out.push('');
  }

  if (r.history !== undefined && r.history !== null) out.push(...timeline(r, r.history));

  out.push('## Lost window', '');
  out.push(`${r.lost.transactions} transaction(s), ${r.lost.rowChanges} row change(s).`, '');
  if (r.lost.first !== null) {
    out.push('| | GTID | binlog position | committed (UTC) |', '|---|---|---|---|');
    out.push(pointRow('first', r.lost.first));
    if (r.lost.last !== null) out.push(pointRow('last', r.lost.last));
    out.push('');
  }
  if (r.incomplete !== null && r.incomplete.length > 0) {
    out.push('Never committed in the binlog, so not applied:', '');
    for (const t of r.incomplete) out.push(`- ${code(t.gtid ?? `${t.file}:${t.pos}`)} at ${code(`${t.file}:${t.pos}`)} (${text(t.reason)})`);
    out.push('');
  }
  if (r.skippedDdl.length > 0) {
    out.push('DDL left out (`--ddl skip`):', '');
    for (const d of r.skippedDdl) out.push(`- ${code(d.at)}: ${d.sql === null ? 'SQL not recorded' : code(d.sql)}`);
    out.push('');
  }

  out.push('## Changes per table', '');
  const counts = countRows(r.counts);
  if (counts.length === 0) out.push('No lost row changes.', '');
  else {
    out.push('| table | class | outcome | changes |', '|---|---|---|---:|');
    for (const [table, klass, outcome, n] of counts) out.push(`| ${code(table)} | ${code(klass)} | ${outcome} | ${n} |`);
    out.push('');
  }
  const resolved = recorded === undefined ? null : resolvedSinceText(recorded);
  if (resolved !== null) out.push(resolved, '');

  const { remapped, linked } = remapsAndLinks(r);
  const keyTable = (maps: readonly ReportKeyMapping[], newHeading: string): void => {
    out.push(`| table | old key | ${newHeading} | transaction |`, '|---|---|---|---|');
    for (const m of maps.slice(0, MARKDOWN_REMAP_LIMIT)) out.push(`| ${code(m.table)} | ${code(keyText(m.oldKey))} | ${code(keyText(m.newKey))} | ${code(m.at)} |`);
    if (maps.length > MARKDOWN_REMAP_LIMIT) out.push('', `… and ${maps.length - MARKDOWN_REMAP_LIMIT} more (the JSON report, \`--report\`, lists them all).`);
    out.push('');
  };
  if (remapped.length > 0) {
    out.push(`## Remapped keys (${remapped.length})`, '');
    out.push(`The DR had given these keys to different records after the failover; the lost rows ${plan ? 'would take' : 'took'} the new keys, and their later changes and child rows follow them. Anything outside the database that saw an old key now points at a different record.`, '');
    keyTable(remapped, 'new key');
  }
  if (linked.length > 0) {
    out.push(`## Linked keys (${linked.length})`, '');
    out.push(`Each lost row is the same record as the DR's row at the DR key (found by its natural key); it ${plan ? 'would be' : 'was'} merged into that row, and its later changes and child rows follow it there.`, '');
    keyTable(linked, 'DR key');
  }

  if (r.quarantined > 0) {
    out.push(`## Quarantined changes (${r.quarantined})`, '');
    out.push(
      plan
        ? 'These changes would be held back for review, with everything that depends on them.'
        : 'Held back for review, with everything that depends on them: `salvage quarantine list` on the DR lists them, `salvage quarantine show ID` shows one.',
      '',
    );
    if (quarantined !== undefined && quarantined.length > 0) {
      const listed = quarantined.slice(0, MARKDOWN_QUARANTINE_LIMIT);
      // Rebuilt from the state schema, each change has its entry: the number `quarantine show` and the
      // decisions file use, whether a review resolved it since, and how.
      const entries = listed.some((q) => q.entry !== undefined);
      out.push(entries ? '| entry | change | table | op | key | class | reason | resolution |' : '| change | table | op | key | class | reason |', entries ? '|---|---|---|---|---|---|---|---|' : '|---|---|---|---|---|---|');
      for (const q of listed) {
        const cells = `${code(`${q.gtid ?? `${basename(q.file)}:${q.pos}`}#${q.index}`)} | ${code(q.table)} | ${q.op} | ${q.key === null ? '–' : code(keyText(q.key))} | ${code(q.class)} | ${text(q.reason ?? '')}`;
        if (!entries) out.push(`| ${cells} |`);
        else out.push(`| ${q.entry === undefined ? '–' : `${q.entry.id}, ${text(q.entry.status)}`} | ${cells} | ${q.entry?.resolution == null ? '–' : text(q.entry.resolution)} |`);
      }
      const more = r.quarantined - Math.min(quarantined.length, MARKDOWN_QUARANTINE_LIMIT);
      if (more > 0) out.push('', `… and ${more} more (${plan ? 'the ledger, `--ledger`' : '`salvage quarantine list`'} has them all).`);
      out.push('');
      statementList(listed, out);
    }
  }

  out.push('## Run', '');
  const t = r.timings;
  if (t !== null && r.windows !== null) {
    out.push(`${r.windows} window(s), ${r.retries ?? '?'} retried; scan ${seconds(t.scanMs)}, reconcile ${seconds(t.reconcileMs)}, total ${seconds(t.totalMs)}; ${t.rowsPerSecond} rows/s.`, '');
  }
  if (r.stoppedOnRequest === true) out.push('Stopped on request: the window in progress committed first; the same command resumes.', '');
  const stop = stopBeforeText(r);
  if (stop !== null) out.push(text(stop), '');
  if (!plan && r.committedThrough !== undefined && r.committedThrough !== null) out.push(`Committed through ${code(r.committedThrough)}: a next run of the same command starts after it.`, '');
  if (r.withoutHistory === true) {
    out.push("_Decided without the DR's own binlog (value rules): a DR row is judged the same record as a lost one by its key and values, not by its history since the failover._", '');
  }
  if (recorded !== undefined && recorded.notRecorded.length > 0) {
    out.push('## Not recorded', '');
    out.push("The DR's state schema does not keep these, so this report cannot give them (the run's own `--report`, `--markdown` or `--html` files have them):", '');
    for (const n of recorded.notRecorded) out.push(`- ${text(n)}`);
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

/**
 * The DR's side of the incident, from its own binlog: the last transaction it received from the
 * primary, the lost window, the failover, and what the DR wrote itself since.
 */
function timeline(r: MarkdownReportSource, h: ReportHistory): string[] {
  const out = ['## Timeline', ''];
  const f = h.failover;
  out.push('| | transaction | binlog position | committed (UTC) |', '|---|---|---|---|');
  const dr = (label: string, p: NonNullable<ReportHistory['failover']['lastReceived']>): string => `| ${label} | ${code(p.at)} | ${code(`${p.file}:${p.pos}`)} | ${epochText(p.timestamp)} |`;
  out.push(f.lastReceived === null ? '| last received by the DR | not in the DR\'s binlog | | |' : dr('last received by the DR', f.lastReceived));
  const first = r.lost.first;
  const last = r.lost.last;
  if (first !== null) {
    out.push(`| lost window, first | ${first.gtid === null ? '–' : code(first.gtid)} | ${pointPosition(first)} | ${first.timestamp === null ? 'not recorded' : utc(first.timestamp)} |`);
    if (last !== null) out.push(`| lost window, last | ${last.gtid === null ? '–' : code(last.gtid)} | ${pointPosition(last)} | ${last.timestamp === null ? 'not recorded' : utc(last.timestamp)} |`);
  } else out.push('| lost window | none | | |');
  out.push(f.firstOwn === null ? '| the DR\'s first own write | none | | |' : dr('the DR\'s first own write', f.firstOwn));
  out.push('');
  out.push(`Failover point: ${text(f.rule)}.`, '');
  for (const e of f.evidence) out.push(`- ${text(e)}`);
  if (f.evidence.length > 0) out.push('');
  out.push(`The DR wrote ${h.transactions} transaction(s) of its own since the failover${h.tables.length === 0 ? '.' : ':'}`, '');
  if (h.tables.length > 0) {
    out.push('| table | inserted | updated | deleted |', '|---|---:|---:|---:|');
    for (const t of [...h.tables].sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0))) out.push(`| ${code(t.table)} | ${t.inserted} | ${t.updated} | ${t.deleted} |`);
    out.push('');
  }
  if (!h.complete) out.push("**The DR's binlog read ends before the DR's current position:** rows it does not cover were judged by their values, as without it.", '');
  return out;
}

function pointPosition(p: MarkdownPoint): string {
  return p.file === null || p.pos === null ? 'not recorded' : code(`${p.file}:${p.pos}`);
}

function sourceText(source: NonNullable<MarkdownReportSource['source']>): string {
  if (source.kind === 'live') {
    return `live server ${code(source.server)} from ${code(source.start)}${source.follow ? ', following' : ''}${source.reconnects !== null && source.reconnects > 0 ? `, ${source.reconnects} reconnect(s)` : ''}`;
  }
  const names = source.files.map((f) => basename(f));
  if (names.length === 0) return 'no binlog files';
  if (names.length === 1) return `binlog file ${code(names[0]!)}`;
  return `${names.length} binlog files, ${code(names[0]!)} … ${code(names[names.length - 1]!)}`;
}

function outcomesText(o: Readonly<Record<Outcome, number>>): string {
  return OUTCOMES.map((k) => `${o[k]} ${k}`).join(', ');
}

function pointRow(label: string, p: MarkdownPoint): string {
  return `| ${label} | ${p.gtid === null ? '–' : code(p.gtid)} | ${pointPosition(p)} | ${p.timestamp === null ? 'not recorded' : utc(p.timestamp)} |`;
}

function row(label: string, value: string): string {
  return `| ${label} | ${value} |`;
}

/** `2026-11-26T11:06:08.000Z` → `2026-11-26 11:06:08`: commit times have whole seconds. */
function utc(iso: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.0+)?Z$/.exec(iso);
  return m === null ? text(iso) : `${m[1]} ${m[2]}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * A code span that survives a table cell: the fence is longer than any run of backticks inside,
 * newlines become spaces, and `|` is escaped (GFM splits cells on it even inside code spans).
 */
/**
 * The SQL statements that made the listed changes, where the binlog logged them (ANNOTATE_ROWS /
 * ROWS_QUERY), each once with the changes it made: a fenced block keeps the text exact, line
 * breaks and all, where a table cell could not.
 */
function statementList(listed: readonly MarkdownQuarantinedChange[], out: string[]): void {
  const groups: { labels: string[]; sql: string; at: string }[] = [];
  for (const q of listed) {
    if (q.statement === undefined) continue;
    const at = q.gtid ?? `${basename(q.file)}:${q.pos}`;
    const label = code(`${at}#${q.index}`);
    // One statement of a transaction made its changes one after another: those listed together share a block.
    const last = groups[groups.length - 1];
    if (last !== undefined && last.at === at && last.sql === q.statement) last.labels.push(label);
    else groups.push({ labels: [label], sql: q.statement, at });
  }
  if (groups.length === 0) return;
  out.push('Statements that made them, as the binlog logged them:', '');
  for (const g of groups) {
    const longest = Math.max(2, ...[...g.sql.matchAll(/`+/g)].map((m) => m[0].length));
    const fence = '`'.repeat(longest + 1);
    out.push(`- ${g.labels.join(', ')}:`, '', `  ${fence}sql`, ...g.sql.split(/\r?\n/).map((l) => (l === '' ? '' : `  ${l}`)), `  ${fence}`, '');
  }
}

function code(s: string): string {
  const flat = s.replace(/\r?\n/g, ' ');
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat.replaceAll('|', '\\|')}${pad}${fence}`;
}

/**
 * Free text (a reason, a rule) as Markdown that renders as the same text: characters that would
 * start markup are escaped; an underscore inside a word (`uk_email`) is left alone, since GFM does
 * not emphasise there and the raw text stays readable.
 */
function text(s: string): string {
  return s
    .replace(/\r?\n/g, ' ')
    .replace(/[\\`*[\]<>|]/g, (c) => `\\${c}`)
    .replace(/(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}])/gu, '\\_');
}
