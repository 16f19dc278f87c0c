/**
 * The incident report as one self-contained HTML file (`--html FILE` on `plan` and `apply`,
 * `salvage report --html FILE`): what the business asks afterwards — what was lost, when, what
 * happened to each table's changes, which records took new keys, and every change that waits for a
 * decision, with its row images side by side and the reason. Pure: a report in, a string out, the
 * same string for the same input.
 *
 * Self-contained on purpose: it is mailed, attached to tickets and opened on machines cut off from
 * anything. Inline CSS and one small inline script only; a Content-Security-Policy forbids every
 * fetch (no images, fonts, scripts or styles from anywhere), and allows the one script by its hash,
 * so even a value that slipped past escaping could not run. Every piece of user data (table names,
 * values, reasons, rules) goes through `esc`. Without the script the page is complete; the script
 * only adds a filter over the quarantined changes and a "differing columns only" switch. Printed,
 * the controls disappear and every change shows.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { stringifyCanonical, type CanonicalValue } from '../binlog/values/canonical-json.js';
import { OUTCOMES, type Outcome } from '../model/decision.js';
import {
  countRows,
  epochText,
  impliedDr,
  keyText,
  remapsAndLinks,
  resolvedSinceText,
  stopBeforeText,
  utcText,
  type ReportHistory,
  type ReportImage,
  type ReportKeyMapping,
  type ReportPoint,
  type ReportQuarantinedChange,
  type ReportSource,
} from './report-source.js';

/** Quarantined changes shown with their images; the rest are counted (`salvage quarantine list` has them all). */
export const HTML_QUARANTINE_LIMIT = 1000;
/** Remapped keys listed; the rest are counted (the JSON report has them all). */
export const HTML_REMAP_LIMIT = 1000;
/** Characters of one value shown; a longer one (a BLOB, a document) is cut and its length given. */
export const HTML_VALUE_LIMIT = 2000;

/** Options of `renderHtmlReport`. */
export interface HtmlReportOptions {
  /** Names the program in the footer (`binlog-salvage 0.1.0`). */
  readonly generator?: string;
}

/**
 * The report as an HTML document. `quarantined` are the quarantined changes in source order with
 * their images (only the first HTML_QUARANTINE_LIMIT are shown, so a caller need keep no more);
 * without them the section gives the count and where to list them.
 */
export function renderHtmlReport(report: ReportSource, quarantined?: readonly ReportQuarantinedChange[], options: HtmlReportOptions = {}): string {
  const r = report;
  const plan = r.mode === 'plan';
  const title =
    r.recorded !== undefined ? `salvage report: run ${r.runId ?? '?'} on ${r.target}` : plan ? `salvage plan (dry run): ${r.target}` : `salvage apply: run ${r.runId ?? '?'} on ${r.target}`;
  const body: string[] = [];
  body.push('<header>', `<h1>${esc(title)}</h1>`, `<p class="lead">${esc(lead(r))}</p>`, facts(r), outcomeCards(r), '</header>');
  body.push(nav(r));
  body.push(timelineSection(r));
  body.push(startSection(r));
  body.push(countsSection(r));
  const { remapped, linked } = remapsAndLinks(r);
  if (remapped.length > 0) body.push(remapsSection(r, remapped));
  if (linked.length > 0) body.push(linksSection(r, linked));
  if (r.quarantined > 0) body.push(quarantineSection(r, quarantined));
  const notApplied = notAppliedSection(r);
  if (notApplied !== '') body.push(notApplied);
  body.push(runSection(r));
  body.push(`<footer>${esc(options.generator ?? 'binlog-salvage')}: ${r.recorded !== undefined ? "rebuilt from the DR's state schema" : `written by the ${r.mode}`}. Self-contained: it loads nothing.</footer>`);
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<meta name="color-scheme" content="light">',
    `<title>${esc(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    ...body,
    '</main>',
    `<script>${SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The page a run that stopped before its end leaves in the `--html` file, so the file says so rather than being empty. */
export function renderStoppedHtmlReport(mode: 'plan' | 'apply'): string {
  const title = `salvage ${mode}: stopped`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>${title}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    `<h1>${title}</h1>`,
    "<p>The run stopped before the end; the command's error message says why and where it resumes.</p>",
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

// ---- sections -------------------------------------------------------------------------------

function lead(r: ReportSource): string {
  if (r.recorded !== undefined) {
    const rec = r.recorded;
    return `The transactions the DR never received, merged into the DR by run ${r.runId ?? '?'} (${rec.status}, started ${rec.startedAt} UTC${rec.finishedAt === null ? '' : `, finished ${rec.finishedAt} UTC`}), as the DR's state schema records it.`;
  }
  return r.mode === 'plan'
    ? 'What salvage apply would do with the transactions the DR never received. Nothing was written to the DR.'
    : 'The transactions the DR never received, merged into the DR.';
}

function facts(r: ReportSource): string {
  const rows: [string, string][] = [
    ['DR', `<code>${esc(r.target)}</code>: ${esc(`${r.dr.flavor} ${r.dr.version}`)}, server_id ${r.dr.serverId}`],
    ['source', `<code>${esc(r.sourceId)}</code>${r.source === undefined ? '' : `: ${sourceHtml(r.source)}`}`],
    ['lost', `${r.lost.transactions} transaction(s), ${r.lost.rowChanges} row change(s)`],
  ];
  return `<dl class="facts">${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

function sourceHtml(source: NonNullable<ReportSource['source']>): string {
  if (source.kind === 'live') {
    return `live server <code>${esc(source.server)}</code> from <code>${esc(source.start)}</code>${source.follow ? ', following' : ''}${source.reconnects !== null && source.reconnects > 0 ? `, ${source.reconnects} reconnect(s)` : ''}`;
  }
  const names = source.files.map((f) => basename(f));
  if (names.length === 0) return 'no binlog files';
  if (names.length === 1) return `binlog file <code>${esc(names[0]!)}</code>`;
  return `${names.length} binlog files, <code>${esc(names[0]!)}</code> … <code>${esc(names[names.length - 1]!)}</code>`;
}

function outcomeCards(r: ReportSource): string {
  const verb = r.mode === 'plan' ? 'would be ' : '';
  const cards = OUTCOMES.map((o) => `<div class="card o-${o}"><span class="big">${r.outcomes[o]}</span><span>${verb}${o}</span></div>`);
  return `<div class="cards" aria-label="outcomes">${cards.join('')}</div>`;
}

function nav(r: ReportSource): string {
  const links: [string, string][] = [
    ['timeline', 'Timeline'],
    ['start', 'Starting point'],
    ['counts', 'Changes per table'],
  ];
  const { remapped, linked } = remapsAndLinks(r);
  if (remapped.length > 0) links.push(['remaps', `Remapped keys (${remapped.length})`]);
  if (linked.length > 0) links.push(['links', `Linked keys (${linked.length})`]);
  if (r.quarantined > 0) links.push(['quarantine', `Quarantined changes (${r.quarantined})`]);
  links.push(['run', 'Run']);
  return `<nav class="no-print">${links.map(([id, text]) => `<a href="#${id}">${esc(text)}</a>`).join(' · ')}</nav>`;
}

function timelineSection(r: ReportSource): string {
  const items: string[] = [];
  const h = r.history ?? null;
  // 1. The last transaction the DR received from the primary.
  if (h !== null) {
    const p = h.failover.lastReceived;
    items.push(
      p === null
        ? item('received', '—', 'Last transaction the DR received from the primary', "not in the DR's binlog read")
        : item('received', epochText(p.timestamp), 'Last transaction the DR received from the primary', `<code>${esc(p.at)}</code> at <code>${esc(`${p.file}:${p.pos}`)}</code>, server_id ${p.serverId}`),
    );
  } else if (r.start !== null) {
    items.push(item('received', '—', 'Last transaction the DR received from the primary', `its time is not known without the DR's binlog; the start rule: ${esc(r.start.rule)}`));
  } else {
    items.push(item('received', '—', 'Last transaction the DR received from the primary', 'not recorded'));
  }
  // 2. The lost window.
  const first = r.lost.first;
  const last = r.lost.last;
  if (first === null) items.push(item('lost', '—', 'Lost window', 'nothing was lost'));
  else {
    const when = first.timestamp === null ? 'not recorded' : last === null || last.timestamp === null || last.timestamp === first.timestamp ? utcText(first.timestamp) : `${utcText(first.timestamp)} … ${utcText(last.timestamp)}`;
    const span = `first ${pointHtml(first)}${last === null ? '' : `, last ${pointHtml(last)}`}`;
    items.push(item('lost', when, 'Lost window: committed on the primary, never received by the DR', `${r.lost.transactions} transaction(s), ${r.lost.rowChanges} row change(s); ${span}`));
  }
  // 3. The failover and the DR's own writes since.
  if (h !== null) items.push(failoverItem(h));
  else if (r.withoutHistory === null) items.push(item('failover', '—', "The DR's own writes since the failover", "whether the run read the DR's binlog is not recorded"));
  else if (r.withoutHistory) {
    items.push(
      item('failover', '—', "The DR's own writes since the failover", "Decided without the DR's binlog (no history): a DR row was judged the same record as a lost one by its key and values, not by its history since the failover."),
    );
  } else items.push(item('failover', '—', "The DR's own writes since the failover", "the run read the DR's binlog; its summary is not in this report"));
  // 4. This run.
  items.push(item('run', runWhen(r), r.mode === 'plan' ? 'This plan' : `Salvage run ${r.runId ?? '?'}`, runText(r)));
  return section('timeline', 'Timeline', `<ol class="timeline">${items.join('')}</ol>`);
}

function failoverItem(h: ReportHistory): string {
  const f = h.failover;
  const own = f.firstOwn;
  const parts: string[] = [];
  parts.push(own === null ? 'The DR wrote nothing of its own.' : `First own write <code>${esc(own.at)}</code> at <code>${esc(`${own.file}:${own.pos}`)}</code>, server_id ${own.serverId}.`);
  parts.push(`${h.transactions} transaction(s) of its own since. Failover point: ${esc(f.rule)}.`);
  if (f.evidence.length > 0) parts.push(`<ul class="evidence">${f.evidence.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>`);
  if (h.tables.length > 0) {
    const rows = [...h.tables].sort((a, b) => (a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
    parts.push(
      `<table class="compact"><thead><tr><th>table</th><th class="num">inserted</th><th class="num">updated</th><th class="num">deleted</th></tr></thead><tbody>${rows
        .map((t) => `<tr><td><code>${esc(t.table)}</code></td><td class="num">${t.inserted}</td><td class="num">${t.updated}</td><td class="num">${t.deleted}</td></tr>`)
        .join('')}</tbody></table>`,
    );
  }
  if (!h.complete) parts.push(`<p class="warn">The DR's binlog read ends before the DR's current position: rows it does not cover were judged by their values, as without it.</p>`);
  return item('failover', own === null ? '—' : epochText(own.timestamp), "Failover: the DR's own writes since", parts.join(' '));
}

function runWhen(r: ReportSource): string {
  const rec = r.recorded;
  // Whole seconds read better on a timeline; the Run section keeps the exact times.
  const sec = (t: string): string => t.replace(/\.\d+$/, '');
  if (rec !== undefined) return rec.finishedAt === null ? sec(rec.startedAt) : `${sec(rec.startedAt)} … ${sec(rec.finishedAt)}`;
  return '—';
}

function runText(r: ReportSource): string {
  const o = r.outcomes;
  const done = `${o.applied} applied, ${o.merged} merged, ${o.remapped} remapped, ${o.skipped} skipped, ${o.quarantined} quarantined`;
  if (r.mode === 'plan') return `${done} (would be; nothing written).`;
  const through = r.committedThrough === undefined || r.committedThrough === null ? '' : ` Committed through <code>${esc(r.committedThrough)}</code>.`;
  return `${done}.${through}${r.stoppedOnRequest === true ? ' Stopped on request.' : ''}`;
}

function item(kind: string, when: string, title: string, html: string): string {
  return `<li class="tl tl-${kind}"><div class="when">${esc(when)}</div><div class="what"><strong>${esc(title)}</strong><div>${html}</div></div></li>`;
}

function pointHtml(p: ReportPoint): string {
  const where = p.file === null || p.pos === null ? '' : ` at <code>${esc(`${p.file}:${p.pos}`)}</code>`;
  return `${p.gtid === null ? '' : `<code>${esc(p.gtid)}</code>`}${where}${p.gtid === null && where === '' ? 'position not recorded' : ''}`;
}

function startSection(r: ReportSource): string {
  if (r.start === null) return section('start', 'Starting point', "<p>Not recorded: the DR's state schema keeps the decisions, not the rule that chose the start.</p>");
  const s = r.start;
  const parts = [`<p>${esc(s.rule)}</p>`, '<dl class="facts">'];
  parts.push(`<dt>lost set</dt><dd>${s.lostSet === '' ? 'empty' : `<code>${esc(s.lostSet)}</code>`}</dd>`);
  parts.push(`<dt>already applied by salvage</dt><dd>${s.checkpoint === null || s.checkpoint === '' ? 'none' : `<code>${esc(s.checkpoint)}</code>`}</dd>`);
  parts.push('</dl>');
  for (const c of s.checks) parts.push(`<p class="warn"><strong>CHECK:</strong> ${esc(c)}</p>`);
  return section('start', 'Starting point', parts.join(''));
}

function countsSection(r: ReportSource): string {
  const rows = countRows(r.counts);
  if (rows.length === 0) return section('counts', 'Changes per table', '<p>No lost row changes.</p>');
  const parts: string[] = [legend()];
  // Per table, one bar stacked by outcome, its length relative to the busiest table.
  const perTable = new Map<string, Map<Outcome, number>>();
  for (const [table, , outcome, n] of rows) {
    const m = perTable.get(table) ?? new Map<Outcome, number>();
    m.set(outcome, (m.get(outcome) ?? 0) + n);
    perTable.set(table, m);
  }
  const totals = [...perTable.values()].map((m) => [...m.values()].reduce((a, b) => a + b, 0));
  const most = Math.max(...totals);
  parts.push('<div class="chart">');
  for (const [table, m] of perTable) {
    const total = [...m.values()].reduce((a, b) => a + b, 0);
    const label = OUTCOMES.filter((o) => m.has(o)).map((o) => `${m.get(o)} ${o}`).join(', ');
    const segs = OUTCOMES.filter((o) => m.has(o)).map((o) => `<span class="seg o-${o}" style="flex-grow:${m.get(o)}" title="${o}: ${m.get(o)}">${m.get(o)}</span>`);
    parts.push(
      `<div class="bar-row"><div class="bar-label"><code>${esc(table)}</code> <span class="muted">${total}</span></div><div class="track"><div class="bar" role="img" aria-label="${esc(`${table}: ${label}`)}" style="width:${pct(total, most)}">${segs.join('')}</div></div></div>`,
    );
  }
  parts.push('</div>');
  const biggest = Math.max(...rows.map((x) => x[3]));
  parts.push('<table class="counts"><thead><tr><th>table</th><th>class</th><th>outcome</th><th class="num">changes</th><th class="bar-cell" aria-hidden="true"></th></tr></thead><tbody>');
  for (const [table, klass, outcome, n] of rows) {
    parts.push(
      `<tr><td><code>${esc(table)}</code></td><td><code>${esc(klass)}</code></td><td><span class="chip o-${outcome}"></span>${outcome}</td><td class="num">${n}</td><td class="bar-cell" aria-hidden="true"><span class="mini o-${outcome}" style="width:${pct(n, biggest)}"></span></td></tr>`,
    );
  }
  parts.push('</tbody></table>');
  const resolved = r.recorded === undefined ? null : resolvedSinceText(r.recorded);
  if (resolved !== null) parts.push(`<p>${esc(resolved)}</p>`);
  return section('counts', 'Changes per table', parts.join(''));
}

function legend(): string {
  return `<p class="legend">${OUTCOMES.map((o) => `<span><span class="chip o-${o}"></span>${o}</span>`).join(' ')}</p>`;
}

function remapsSection(r: ReportSource, remapped: readonly ReportKeyMapping[]): string {
  const plan = r.mode === 'plan';
  const lead = `<p>The DR had given these keys to different records after the failover; the lost rows ${plan ? 'would take' : 'took'} the new keys, and their later changes and child rows follow them. Anything outside the database that saw an old key (e-mails, invoices, caches, other services) now points at a different record.</p>`;
  return section('remaps', `Remapped keys (${remapped.length})`, lead + keyTable(remapped, 'new key'));
}

function linksSection(r: ReportSource, linked: readonly ReportKeyMapping[]): string {
  const lead = `<p>Each lost row is the same record as the DR's row at the DR key (found by its natural key); it ${r.mode === 'plan' ? 'would be' : 'was'} merged into that row, and its later changes and child rows follow it there.</p>`;
  return section('links', `Linked keys (${linked.length})`, lead + keyTable(linked, 'DR key'));
}

/** Key mappings as a table, the first HTML_REMAP_LIMIT of them. */
function keyTable(maps: readonly ReportKeyMapping[], newHeading: string): string {
  const parts = [`<table><thead><tr><th>table</th><th>old key</th><th></th><th>${esc(newHeading)}</th><th>transaction</th></tr></thead><tbody>`];
  for (const m of maps.slice(0, HTML_REMAP_LIMIT)) {
    parts.push(`<tr><td><code>${esc(m.table)}</code></td><td><code>${esc(keyText(m.oldKey))}</code></td><td aria-hidden="true">→</td><td><code>${esc(keyText(m.newKey))}</code></td><td><code>${esc(m.at)}</code></td></tr>`);
  }
  parts.push('</tbody></table>');
  if (maps.length > HTML_REMAP_LIMIT) parts.push(`<p>… and ${maps.length - HTML_REMAP_LIMIT} more (the JSON report, --report, lists them all).</p>`);
  return parts.join('');
}

function quarantineSection(r: ReportSource, quarantined: readonly ReportQuarantinedChange[] | undefined): string {
  const plan = r.mode === 'plan';
  const parts = [
    `<p>${
      plan
        ? 'These changes would be held back for review, with everything that depends on them.'
        : 'Held back for review, with everything that depends on them: salvage quarantine list on the DR lists them, salvage quarantine show ID shows one, salvage resolve carries out the decisions.'
    } B is the row before the lost change, A after it (both from the binlog), D the row the DR held when the change was decided. <span class="changed-key">Marked</span> in A: the lost change set this column; <span class="differs-key">marked</span> in D: the DR row differs from what the change expected there.</p>`,
  ];
  if (quarantined === undefined || quarantined.length === 0) {
    parts.push(`<p>${r.quarantined} change(s); their images are not part of this report.</p>`);
    return section('quarantine', `Quarantined changes (${r.quarantined})`, parts.join(''));
  }
  parts.push(
    '<div id="q-controls" class="controls no-print" hidden><label>Filter <input id="q-filter" type="search" placeholder="table, key, class, reason, value"></label> <label><input id="q-only-diff" type="checkbox"> only columns that differ</label> <span id="q-shown" class="muted"></span></div>',
  );
  const shown = quarantined.slice(0, HTML_QUARANTINE_LIMIT);
  shown.forEach((q, i) => parts.push(quarantinedArticle(q, i + 1)));
  const more = r.quarantined - shown.length;
  if (more > 0) parts.push(`<p>… and ${more} more (${plan ? 'the ledger, --ledger' : 'salvage quarantine list'} has them all).</p>`);
  return section('quarantine', `Quarantined changes (${r.quarantined})`, parts.join(''));
}

function quarantinedArticle(q: ReportQuarantinedChange, n: number): string {
  const key = q.key === null ? '' : `, key <code>${esc(keyText(q.key))}</code>`;
  const entry = q.entry === undefined ? '' : ` <span class="status s-${q.entry.status === 'pending' ? 'pending' : 'done'}">entry ${q.entry.id}, ${esc(q.entry.status)}</span>`;
  const parts = [`<article class="q" id="q-${n}">`, `<h3><code>${esc(q.label)}</code> <code>${esc(q.table)}</code> ${esc(q.op)}${key}</h3>`];
  parts.push(`<p class="meta"><code class="class">${esc(q.class)}</code>${entry}</p>`);
  parts.push(`<p class="reason">${esc(q.reason ?? 'no reason recorded')}</p>`);
  // The statement that made the change, as the binlog logged it (ANNOTATE_ROWS / ROWS_QUERY), when it did.
  if (q.statement !== undefined) parts.push(`<p class="muted">Statement:</p><pre class="statement"><code>${esc(q.statement)}</code></pre>`);
  if (q.entry !== undefined && q.entry.resolution !== null) parts.push(`<p class="resolution">Resolved: ${esc(q.entry.resolution)}</p>`);
  parts.push(imagesTable(q));
  parts.push('</article>');
  return parts.join('');
}

/** B, A and D side by side, one row per column; a column one image did not log is left blank. */
function imagesTable(q: ReportQuarantinedChange): string {
  if (q.op === 'sql') return '<p class="muted">A statement (DML logged as SQL text): no row images; the reason holds its text.</p>';
  const implied = q.dr === null ? impliedDr(q.op, q.class) : null;
  const d: ReportImage | null = q.dr ?? (implied === 'before' ? q.before : implied === 'after' ? q.after : null);
  const notes: string[] = [];
  if (q.before === null && q.op !== 'insert') notes.push('B was not recorded.');
  if (q.after === null && q.op !== 'delete') notes.push('A was not recorded.');
  if (implied === 'before' || implied === 'after') notes.push(`D was not stored: class ${q.class} means the DR row equalled ${implied === 'before' ? 'B' : 'A'} on the logged columns, shown here.`);
  const images: [string, ReportImage | null, string][] = [
    ['B', q.before, 'before'],
    ['A', q.after, 'after'],
    ['D', d, 'DR row'],
  ];
  const names: string[] = [];
  for (const [, img] of images) for (const c of Object.keys(img ?? {})) if (!names.includes(c)) names.push(c);
  if (names.length === 0) return `<p class="muted">No row images${notes.length > 0 ? `: ${esc(notes.join(' '))}` : ''}.</p>`;
  // What the DR row should hold for the change to apply as logged: B for an update or delete, nothing for an insert.
  const expected = q.op === 'insert' ? null : q.before;
  const head = images.map(([t, img, name]) => `<th>${t} <span class="muted">${name}${img === null ? ': none' : ''}</span></th>`).join('');
  const rows = names.map((c) => {
    const cells = images.map(([, img]) => cellText(img, c));
    const same = cells.every((x) => x === cells[0]);
    const aChanged = q.op === 'update' && q.before !== null && q.after !== null && has(q.after, c) && has(q.before, c) && cells[0] !== cells[1];
    const dDiffers = d !== null && has(d, c) && (expected === null ? q.op === 'insert' && q.after !== null && has(q.after, c) && cells[1] !== cells[2] : has(expected, c) && cells[0] !== cells[2]);
    const td = (i: number, extra: string): string => {
      const img = images[i]![1];
      if (img === null) return '<td class="none"></td>';
      if (!has(img, c)) return '<td class="unlogged" title="not logged"></td>';
      return `<td${extra === '' ? '' : ` class="${extra}"`}><code>${esc(shorten(cells[i]!))}</code></td>`;
    };
    return `<tr${same ? ' data-same="1"' : ''}><th scope="row"><code>${esc(c)}</code></th>${td(0, '')}${td(1, aChanged ? 'changed' : '')}${td(2, dDiffers ? 'differs' : '')}</tr>`;
  });
  const table = `<table class="images"><thead><tr><th>column</th>${head}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
  return notes.length === 0 ? table : `${table}<p class="muted">${esc(notes.join(' '))}</p>`;
}

function has(img: ReportImage, column: string): boolean {
  return Object.hasOwn(img, column) && img[column] !== undefined;
}

function cellText(img: ReportImage | null, column: string): string {
  if (img === null || !has(img, column)) return '';
  return stringifyCanonical(img[column] as CanonicalValue);
}

function shorten(s: string): string {
  return s.length <= HTML_VALUE_LIMIT ? s : `${s.slice(0, HTML_VALUE_LIMIT)}… (${s.length} characters)`;
}

function notAppliedSection(r: ReportSource): string {
  const parts: string[] = [];
  if (r.incomplete !== null && r.incomplete.length > 0) {
    parts.push('<p>Never committed in the binlog, so not applied:</p><ul>');
    for (const t of r.incomplete) parts.push(`<li><code>${esc(t.gtid ?? `${t.file}:${t.pos}`)}</code> at <code>${esc(`${t.file}:${t.pos}`)}</code> (${esc(t.reason)})</li>`);
    parts.push('</ul>');
  }
  if (r.skippedDdl.length > 0) {
    parts.push('<p>DDL left out (--ddl skip):</p><ul>');
    for (const d of r.skippedDdl) parts.push(`<li><code>${esc(d.at)}</code>: ${d.sql === null ? 'SQL not recorded' : `<code>${esc(d.sql)}</code>`}</li>`);
    parts.push('</ul>');
  }
  return parts.length === 0 ? '' : section('not-applied', 'Not applied', parts.join(''));
}

function runSection(r: ReportSource): string {
  const parts: string[] = [];
  const t = r.timings;
  if (t !== null && r.windows !== null) {
    parts.push(`<p>${r.windows} window(s), ${r.retries ?? '?'} retried; scan ${seconds(t.scanMs)}, reconcile ${seconds(t.reconcileMs)}, total ${seconds(t.totalMs)}; ${t.rowsPerSecond} rows/s.</p>`);
  }
  const rec = r.recorded;
  if (rec !== undefined) parts.push(`<p>Run ${r.runId ?? '?'}: ${esc(rec.status)}, started ${esc(rec.startedAt)} UTC${rec.finishedAt === null ? '' : `, finished ${esc(rec.finishedAt)} UTC`}.</p>`);
  if (r.stoppedOnRequest === true) parts.push('<p>Stopped on request: the window in progress committed first; the same command resumes.</p>');
  const stop = stopBeforeText(r);
  if (stop !== null) parts.push(`<p>${esc(stop)}</p>`);
  if (r.mode === 'apply' && r.committedThrough !== undefined && r.committedThrough !== null) {
    parts.push(`<p>Committed through <code>${esc(r.committedThrough)}</code>: a next run of the same command starts after it.</p>`);
  }
  if (r.withoutHistory === true) parts.push("<p><em>Decided without the DR's own binlog (value rules): a DR row is judged the same record as a lost one by its key and values, not by its history since the failover.</em></p>");
  if (rec !== undefined && rec.notRecorded.length > 0) {
    parts.push(`<h3>Not recorded</h3><p>The DR's state schema does not keep these, so this report cannot give them (the run's own --report, --markdown or --html files have them):</p><ul>${rec.notRecorded.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>`);
  }
  return section('run', 'Run', parts.join(''));
}

function section(id: string, title: string, html: string): string {
  return `<section id="${id}"><h2>${esc(title)}</h2>${html}</section>`;
}

function pct(n: number, of: number): string {
  return `${of <= 0 ? 0 : Math.max(0.5, Math.round((1000 * n) / of) / 10)}%`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Text as HTML text or attribute value: the five characters that could end either are replaced. */
function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

// ---- the page's style and script ------------------------------------------------------------

const CSS = `
:root{--fg:#1b1f24;--muted:#5d6670;--line:#d8dde3;--bg-soft:#f4f6f8;--applied:#2e7d32;--merged:#1565c0;--remapped:#6a1b9a;--skipped:#78909c;--quarantined:#d84315;--warn-bg:#fff4e5;--warn:#8a4b00}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1100px;margin:0 auto;padding:24px 28px 48px}
h1{font-size:1.55em;margin:0 0 .3em;overflow-wrap:anywhere}
h2{font-size:1.2em;margin:1.8em 0 .6em;padding-bottom:.2em;border-bottom:2px solid var(--line)}
h3{font-size:1em;margin:0 0 .3em;overflow-wrap:anywhere}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:.9em;white-space:pre-wrap;overflow-wrap:anywhere}
.lead{color:var(--muted);margin:.2em 0 1em}
.muted{color:var(--muted);font-weight:normal}
nav{margin:1em 0;font-size:.95em}
nav a{color:var(--merged)}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25em 1em;margin:.6em 0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:1em 0}
.card{flex:1 1 120px;border:1px solid var(--line);border-left:6px solid var(--c);border-radius:6px;padding:8px 12px;display:flex;flex-direction:column}
.card .big{font-size:1.7em;font-weight:600;line-height:1.1}
.o-applied{--c:var(--applied)}.o-merged{--c:var(--merged)}.o-remapped{--c:var(--remapped)}.o-skipped{--c:var(--skipped)}.o-quarantined{--c:var(--quarantined)}
.chip{display:inline-block;width:.8em;height:.8em;border-radius:2px;background:var(--c);margin-right:.35em;vertical-align:-.05em}
.legend span{margin-right:1em;white-space:nowrap}
ol.timeline{list-style:none;margin:0;padding:0;border-left:3px solid var(--line)}
li.tl{position:relative;display:grid;grid-template-columns:10.5em 1fr;gap:1em;padding:.5em 0 .9em 1.1em}
li.tl::before{content:"";position:absolute;left:-9px;top:.85em;width:13px;height:13px;border-radius:50%;background:#fff;border:3px solid var(--muted)}
li.tl-lost::before{border-color:var(--quarantined)}
li.tl-failover::before{border-color:var(--merged)}
li.tl-run::before{border-color:var(--applied)}
.when{font-variant-numeric:tabular-nums;color:var(--muted)}
ul.evidence{margin:.3em 0;padding-left:1.2em;color:var(--muted)}
.warn{background:var(--warn-bg);color:var(--warn);border-radius:4px;padding:.4em .7em}
table{border-collapse:collapse;width:100%;margin:.5em 0 1em;font-size:.93em}
th,td{text-align:left;vertical-align:top;padding:4px 8px;border-bottom:1px solid var(--line)}
thead th{background:var(--bg-soft);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
table.compact{width:auto;margin:.4em 0}
.chart{margin:.6em 0 1.2em}
.bar-row{display:grid;grid-template-columns:minmax(160px,28%) 1fr;gap:.8em;align-items:center;margin:.3em 0}
.bar-label{overflow-wrap:anywhere}
.track{background:var(--bg-soft);border-radius:3px}
.bar{display:flex;height:1.5em;min-width:4px;border-radius:3px;overflow:hidden}
.seg{background:var(--c);color:#fff;font-size:.8em;line-height:1.9em;text-align:center;overflow:hidden;white-space:nowrap;flex-basis:0;min-width:2px}
.bar-cell{width:25%}
.mini{display:block;height:.8em;margin-top:.3em;background:var(--c);border-radius:2px}
article.q{border:1px solid var(--line);border-left:5px solid var(--quarantined);border-radius:6px;padding:10px 14px;margin:12px 0}
article.q .meta{margin:.2em 0}
article.q .reason{margin:.3em 0 .5em;font-weight:500}
pre.statement{background:var(--bg-soft);border:1px solid var(--line);border-radius:4px;padding:6px 10px;margin:.2em 0 .6em;white-space:pre-wrap;word-break:break-word}
.resolution{color:var(--applied)}
.status{font-size:.85em;border-radius:10px;padding:1px 8px;margin-left:.5em;background:var(--bg-soft)}
.s-pending{background:var(--warn-bg);color:var(--warn)}
table.images th:first-child{width:16%}
table.images td{width:28%}
td.changed{background:#e3f2fd}
td.differs{background:#fde7e1}
.changed-key{background:#e3f2fd;padding:0 .3em}
.differs-key{background:#fde7e1;padding:0 .3em}
td.unlogged{background:repeating-linear-gradient(45deg,#fff,#fff 4px,var(--bg-soft) 4px,var(--bg-soft) 8px)}
td.none{background:var(--bg-soft)}
.controls{margin:.6em 0;display:flex;gap:1.2em;align-items:center;flex-wrap:wrap}
.controls input[type=search]{font:inherit;padding:3px 6px;min-width:18em}
body.only-diff table.images tr[data-same]{display:none}
footer{margin-top:3em;color:var(--muted);font-size:.85em;border-top:1px solid var(--line);padding-top:.6em}
@page{margin:14mm}
@media print{
body{font-size:10pt}
main{max-width:none;padding:0}
.no-print,.controls{display:none!important}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
h2{break-after:avoid}
article.q,li.tl,.bar-row,tr,.card{break-inside:avoid}
article.q[hidden]{display:block!important}
body.only-diff table.images tr[data-same]{display:table-row}
a{color:inherit;text-decoration:none}
}
`.trim();

/**
 * The page's only script: shows the controls, filters the quarantined changes by their text, hides
 * rows where B, A and D agree, shows every change when printing, and marks the page rendered
 * (`data-rendered` = the number of changes it found; the browser test reads it).
 */
const SCRIPT = `
(function () {
  var root = document.documentElement;
  var items = Array.prototype.slice.call(document.querySelectorAll('article.q'));
  var controls = document.getElementById('q-controls');
  var filter = document.getElementById('q-filter');
  var onlyDiff = document.getElementById('q-only-diff');
  var shown = document.getElementById('q-shown');
  function apply() {
    var t = filter ? filter.value.trim().toLowerCase() : '';
    var n = 0;
    items.forEach(function (a) {
      var hit = t === '' || a.textContent.toLowerCase().indexOf(t) >= 0;
      a.hidden = !hit;
      if (hit) n++;
    });
    if (shown) shown.textContent = n + ' of ' + items.length + ' shown';
  }
  if (controls && filter && onlyDiff) {
    controls.hidden = false;
    filter.addEventListener('input', apply);
    onlyDiff.addEventListener('change', function () {
      document.body.classList.toggle('only-diff', onlyDiff.checked);
    });
    apply();
  }
  window.addEventListener('beforeprint', function () {
    items.forEach(function (a) { a.hidden = false; });
  });
  window.addEventListener('afterprint', apply);
  root.setAttribute('data-rendered', String(items.length));
})();
`.trim();

/** Nothing may be fetched; the one script runs by its hash, styles are inline. */
const CSP = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${createHash('sha256').update(SCRIPT, 'utf8').digest('base64')}'; img-src data:; base-uri 'none'; form-action 'none'`;
