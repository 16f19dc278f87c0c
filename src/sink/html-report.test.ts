import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SalvageReport } from '../pipeline/salvage.js';
import { HTML_QUARANTINE_LIMIT, renderHtmlReport } from './html-report.js';
import type { LedgerLine } from './ledger-entry.js';
import { impliedDr, quarantinedFromLedgerLine, type ReportHistory, type ReportQuarantinedChange, type ReportSource } from './report-source.js';

// The pipeline's report is what the CLI hands the renderer: it must stay assignable.
const fromPipeline = (r: SalvageReport): ReportSource => r;
void fromPipeline;

const APPLY: ReportSource = {
  mode: 'apply',
  target: 'mysql://salvage@dr.example:3306',
  dr: { flavor: 'mariadb', version: '10.11.19-MariaDB-log', serverId: 2 },
  sourceId: 'binlog:mysql-bin',
  runId: 7,
  start: { rule: "start from the DR's GTID state: gtid_slave_pos 0-1-24", lostSet: '0-1-25-28', checks: ['gtid_slave_pos 0-9-3 was not found in the binlogs read'], checkpoint: null },
  lost: {
    transactions: 4,
    rowChanges: 6,
    first: { gtid: '0-1-25', file: 'mysql-bin.000001', pos: 1234, timestamp: '2026-11-26T11:06:08.000Z' },
    last: { gtid: '0-1-28', file: 'mysql-bin.000002', pos: 560, timestamp: '2026-11-26T11:06:09.000Z' },
  },
  counts: {
    'shop.orders': { clean: { applied: 2 }, 'delete-diverged': { quarantined: 1 } },
    'shop.customers': { 'insert-pk-taken': { remapped: 1 }, 'update-diverged': { merged: 1 }, 'insert-unique-taken': { quarantined: 1 } },
  },
  outcomes: { applied: 2, merged: 1, remapped: 1, skipped: 0, quarantined: 2 },
  remaps: [{ table: 'shop.customers', oldKey: [13], newKey: [23], at: '0-1-26' }],
  quarantined: 2,
  incomplete: [{ gtid: '0-1-29', file: 'mysql-bin.000002', pos: 900, reason: 'end-of-input' }],
  skippedDdl: [],
  windows: 1,
  retries: 0,
  timings: { scanMs: 120, reconcileMs: 480, totalMs: 650, rowsPerSecond: 12 },
  withoutHistory: true,
  source: { kind: 'files', files: ['/recovered/mysql-bin.000001', '/recovered/mysql-bin.000002'] },
  committedThrough: 'mysql-bin.000002:560',
  stoppedOnRequest: false,
};

const HISTORY: ReportHistory = {
  failover: {
    lastReceived: { at: '0-1-24', file: 'dr-bin.000003', pos: 900, timestamp: Date.UTC(2026, 10, 26, 11, 6, 0) / 1000, serverId: 1 },
    firstOwn: { at: '0-2-40', file: 'dr-bin.000003', pos: 1400, timestamp: Date.UTC(2026, 10, 26, 11, 9, 30) / 1000, serverId: 2 },
    rule: 'the first transaction of server_id 2 in domain 0',
    evidence: ['3 transaction(s) of server_id 2 after 0-1-24'],
  },
  transactions: 3,
  tables: [
    { table: 'shop.notes', inserted: 1, updated: 0, deleted: 0 },
    { table: 'shop.customers', inserted: 1, updated: 1, deleted: 0 },
  ],
  complete: true,
};

const Q_INSERT: ReportQuarantinedChange = {
  label: '0-1-27#0',
  table: 'shop.customers',
  op: 'insert',
  key: [17],
  class: 'insert-unique-taken',
  reason: 'another DR row already holds unique key uk_email',
  before: null,
  after: { id: 17, email: 'Zed@X', name: 'Zed P' },
  dr: { id: 5, email: 'zed@x', name: 'Zed D' },
};

const Q_UPDATE: ReportQuarantinedChange = {
  label: 'mysql-bin.000002:400#1',
  table: 'shop.orders',
  op: 'update',
  key: ['eu', 5],
  class: 'update-diverged',
  reason: 'changed on both sides',
  before: { region: 'eu', id: 5, status: 'new', total: '20.00' },
  after: { region: 'eu', id: 5, status: 'paid', total: '20.00' },
  dr: { region: 'eu', id: 5, status: 'cancelled', total: '20.00' },
};

/** The text of the element that starts with `open`, up to its first `close`. */
function part(html: string, open: string, close: string): string {
  const from = html.indexOf(open);
  if (from < 0) throw new Error(`no ${open} in the page`);
  return html.slice(from, html.indexOf(close, from) + close.length);
}

/** `<tr>`s of a fragment as arrays of cell texts (tags removed, entities of the five escaped characters undone). */
function rows(fragment: string): string[][] {
  return [...fragment.matchAll(/<tr[^>]*>(.*?)<\/tr>/g)].map((m) =>
    [...m[1]!.matchAll(/<t[hd][^>]*>(.*?)<\/t[hd]>/g)].map((c) => c[1]!.replace(/<[^>]+>/g, '').replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&amp;', '&')),
  );
}

describe('renderHtmlReport', () => {
  it('is one self-contained document: inline style and one script allowed by its hash, nothing fetched', () => {
    const html = renderHtmlReport({ ...APPLY, history: HISTORY }, [Q_INSERT, Q_UPDATE], { generator: 'binlog-salvage 0.1.0' });
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n')).toBe(true);
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(|@import|<link|<img|<iframe/i);
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)![1]!;
    const hash = createHash('sha256').update(script, 'utf8').digest('base64');
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'; img-src data:; base-uri 'none'; form-action 'none'">`);
    expect(html).toContain('@media print{');
    expect(html).toContain('<title>salvage apply: run 7 on mysql://salvage@dr.example:3306</title>');
    expect(html).toContain('<footer>binlog-salvage 0.1.0: written by the apply. Self-contained: it loads nothing.</footer>');
    // Same input, same page.
    expect(renderHtmlReport({ ...APPLY, history: HISTORY }, [Q_INSERT, Q_UPDATE], { generator: 'binlog-salvage 0.1.0' })).toBe(html);
  });

  it('escapes every piece of user data: names, values, reasons, rules', () => {
    const evil = '<script>alert(1)</script>';
    const q: ReportQuarantinedChange = { ...Q_INSERT, table: `shop.${evil}`, reason: `why "${evil}" & 'then'`, after: { [evil]: evil, img: '<img src=x onerror=alert(2)>' }, key: [evil] };
    const html = renderHtmlReport(
      { ...APPLY, target: `mysql://x@${evil}:1`, sourceId: evil, start: { ...APPLY.start!, rule: evil, checks: [evil] }, counts: { [evil]: { [evil]: { quarantined: 1 } } }, remaps: [{ table: evil, oldKey: [evil], newKey: [1], at: evil }] },
      [q],
    );
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toContain('<img');
    expect(html).not.toContain('alert(1)</');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<p class="reason">why &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot; &amp; &#39;then&#39;</p>');
    expect(html).toContain('<code>&quot;&lt;img src=x onerror=alert(2)&gt;&quot;</code>');
  });

  it('draws the timeline from the DR\'s history: last received, the lost window, the failover and the DR\'s own writes', () => {
    const html = renderHtmlReport({ ...APPLY, history: HISTORY, withoutHistory: false }, [Q_INSERT]);
    const items = [...part(html, '<ol class="timeline">', '</ol>').matchAll(/<li class="tl tl-(\w+)"><div class="when">(.*?)<\/div><div class="what"><strong>(.*?)<\/strong>/g)].map((m) => [m[1], m[2], m[3]]);
    expect(items).toEqual([
      ['received', '2026-11-26 11:06:00', 'Last transaction the DR received from the primary'],
      ['lost', '2026-11-26 11:06:08 … 2026-11-26 11:06:09', 'Lost window: committed on the primary, never received by the DR'],
      ['failover', '2026-11-26 11:09:30', 'Failover: the DR&#39;s own writes since'],
      ['run', '—', 'Salvage run 7'],
    ]);
    expect(html).toContain('<code>0-1-24</code> at <code>dr-bin.000003:900</code>, server_id 1');
    expect(html).toContain('4 transaction(s), 6 row change(s); first <code>0-1-25</code> at <code>mysql-bin.000001:1234</code>, last <code>0-1-28</code> at <code>mysql-bin.000002:560</code>');
    expect(html).toContain('3 transaction(s) of its own since. Failover point: the first transaction of server_id 2 in domain 0.');
    expect(rows(part(html, '<table class="compact">', '</table>'))).toEqual([
      ['table', 'inserted', 'updated', 'deleted'],
      ['shop.customers', '1', '1', '0'],
      ['shop.notes', '1', '0', '0'],
    ]);
    expect(html).not.toContain('no history');
    expect(html).not.toContain('class="warn">The DR\'s binlog read ends');
    expect(renderHtmlReport({ ...APPLY, history: { ...HISTORY, complete: false } })).toContain('<p class="warn">The DR\'s binlog read ends before the DR\'s current position: rows it does not cover were judged by their values, as without it.</p>');
  });

  it('says where --stop-before ended the run', () => {
    const html = renderHtmlReport({ ...APPLY, stoppedBefore: { asked: '0-1-21', gtid: '0-1-21', file: 'mysql-bin.000002', pos: 900 } });
    expect(html).toContain('<p>Stopped before 0-1-21 (mysql-bin.000002:900), as --stop-before 0-1-21 asked: nothing from it on was read; the same command without --stop-before (or with a later one) goes on from there.</p>');
    expect(renderHtmlReport(APPLY)).not.toContain('Stopped before');
  });

  it('says when the run decided without the DR\'s binlog', () => {
    const html = renderHtmlReport(APPLY);
    expect(html).toContain(
      '<li class="tl tl-failover"><div class="when">—</div><div class="what"><strong>The DR&#39;s own writes since the failover</strong><div>Decided without the DR\'s binlog (no history): a DR row was judged the same record as a lost one by its key and values, not by its history since the failover.</div></div></li>',
    );
    expect(html).toContain("its time is not known without the DR's binlog; the start rule: start from the DR&#39;s GTID state: gtid_slave_pos 0-1-24");
  });

  it('charts the counts per table × class × outcome with bars, and lists them', () => {
    const html = renderHtmlReport(APPLY);
    const chart = part(html, '<div class="chart">', '<table class="counts">');
    expect([...chart.matchAll(/<span class="seg o-(\w+)" style="flex-grow:(\d+)" title="[^"]*">\d+<\/span>/g)].map((m) => `${m[1]}=${m[2]}`)).toEqual(['merged=1', 'remapped=1', 'quarantined=1', 'applied=2', 'quarantined=1']);
    expect([...html.matchAll(/<div class="bar" role="img" aria-label="([^"]*)" style="width:([\d.]+%)">/g)].map((m) => [m[1], m[2]])).toEqual([
      ['shop.customers: 1 merged, 1 remapped, 1 quarantined', '100%'],
      ['shop.orders: 2 applied, 1 quarantined', '100%'],
    ]);
    expect(rows(part(html, '<table class="counts">', '</table>'))).toEqual([
      ['table', 'class', 'outcome', 'changes', ''],
      ['shop.customers', 'insert-pk-taken', 'remapped', '1', ''],
      ['shop.customers', 'insert-unique-taken', 'quarantined', '1', ''],
      ['shop.customers', 'update-diverged', 'merged', '1', ''],
      ['shop.orders', 'clean', 'applied', '2', ''],
      ['shop.orders', 'delete-diverged', 'quarantined', '1', ''],
    ]);
    expect(rows(part(html, '<section id="remaps">', '</section>'))).toEqual([
      ['table', 'old key', '', 'new key', 'transaction'],
      ['shop.customers', '13', '→', '23', '0-1-26'],
    ]);
  });

  it('lists linked keys in a section of their own, apart from the remapped ones', () => {
    const html = renderHtmlReport({ ...APPLY, remaps: [...APPLY.remaps, { table: 'shop.customers', oldKey: [14], newKey: [9], at: '0-1-27', linked: true }] });
    expect(rows(part(html, '<section id="remaps">', '</section>'))).toEqual([
      ['table', 'old key', '', 'new key', 'transaction'],
      ['shop.customers', '13', '→', '23', '0-1-26'],
    ]);
    expect(rows(part(html, '<section id="links">', '</section>'))).toEqual([
      ['table', 'old key', '', 'DR key', 'transaction'],
      ['shop.customers', '14', '→', '9', '0-1-27'],
    ]);
    expect(html).toContain('<a href="#links">Linked keys (1)</a>');
  });

  it('shows every quarantined change with B, A and D side by side, the reason, and what differs', () => {
    const html = renderHtmlReport(APPLY, [Q_INSERT, Q_UPDATE]);
    const insert = part(html, '<article class="q" id="q-1">', '</article>');
    expect(insert).toContain('<h3><code>0-1-27#0</code> <code>shop.customers</code> insert, key <code>17</code></h3>');
    expect(insert).toContain('<p class="reason">another DR row already holds unique key uk_email</p>');
    expect(rows(insert)).toEqual([
      ['column', 'B before: none', 'A after', 'D DR row'],
      ['id', '', '17', '5'],
      ['email', '', '"Zed@X"', '"zed@x"'],
      ['name', '', '"Zed P"', '"Zed D"'],
    ]);
    expect(insert.match(/class="differs"/g)).toHaveLength(3);
    const update = part(html, '<article class="q" id="q-2">', '</article>');
    expect(update).toContain('key <code>[&quot;eu&quot;,5]</code>');
    expect(rows(update).slice(1)).toEqual([
      ['region', '"eu"', '"eu"', '"eu"'],
      ['id', '5', '5', '5'],
      ['status', '"new"', '"paid"', '"cancelled"'],
      ['total', '"20.00"', '"20.00"', '"20.00"'],
    ]);
    // status: set by the lost change (A), and the DR row is not what the change expected (D ≠ B).
    expect(update).toContain('<tr><th scope="row"><code>status</code></th><td><code>&quot;new&quot;</code></td><td class="changed"><code>&quot;paid&quot;</code></td><td class="differs"><code>&quot;cancelled&quot;</code></td></tr>');
    expect(update.match(/data-same="1"/g)).toHaveLength(3);
    expect(html).toContain('<div id="q-controls" class="controls no-print" hidden>');
  });

  it('shows the statement that made a change under its reason, escaped, line breaks kept; none where none was logged', () => {
    const html = renderHtmlReport(APPLY, [{ ...Q_INSERT, statement: "INSERT INTO t VALUES ('<b>&</b>',\n  2)" }, Q_UPDATE]);
    expect(html).toContain(`<p class="reason">another DR row already holds unique key uk_email</p><p class="muted">Statement:</p><pre class="statement"><code>INSERT INTO t VALUES (&#39;&lt;b&gt;&amp;&lt;/b&gt;&#39;,\n  2)</code></pre>`);
    expect(html.match(/<pre class="statement">/g)).toHaveLength(1);
  });

  it('shows D as the class implies it when the ledger left it out, and says so', () => {
    const line: LedgerLine = {
      gtid: null,
      file: '/recovered/mysql-bin.000001',
      pos: 2000,
      index: 0,
      table: 'shop.orders',
      op: 'delete',
      key: [2],
      class: 'clean',
      outcome: 'quarantined',
      reason: 'cascade guard: 1 row(s) of shop.notes still point at it',
      before: { id: 2, total: '20.00' },
      withoutHistory: true,
    };
    const q = quarantinedFromLedgerLine(line);
    expect(q.label).toBe('mysql-bin.000001:2000#0');
    const html = part(renderHtmlReport(APPLY, [q]), '<article class="q" id="q-1">', '</article>');
    expect(rows(html)).toEqual([
      ['column', 'B before', 'A after: none', 'D DR row'],
      ['id', '2', '', '2'],
      ['total', '"20.00"', '', '"20.00"'],
    ]);
    expect(html).toContain('D was not stored: class clean means the DR row equalled B on the logged columns, shown here.');
    expect([impliedDr('insert', 'clean'), impliedDr('update', 'already-applied'), impliedDr('delete', 'already-applied'), impliedDr('update', 'update-missing')]).toEqual(['none', 'after', 'none', null]);
  });

  it('lists the first quarantined changes and counts the rest; without their images it gives the count', () => {
    const many = Array.from({ length: HTML_QUARANTINE_LIMIT + 1 }, (_, i) => ({ ...Q_INSERT, key: [i] }));
    const html = renderHtmlReport({ ...APPLY, quarantined: HTML_QUARANTINE_LIMIT + 5 }, many);
    expect(html.match(/<article class="q"/g)).toHaveLength(HTML_QUARANTINE_LIMIT);
    expect(html).toContain('<p>… and 5 more (salvage quarantine list has them all).</p>');
    const bare = renderHtmlReport({ ...APPLY, mode: 'plan', runId: null });
    expect(bare).toContain('<p>2 change(s); their images are not part of this report.</p>');
    expect(bare).toContain('<title>salvage plan (dry run): mysql://salvage@dr.example:3306</title>');
    expect(bare).not.toContain('<div id="q-controls"');
  });

  it('a report rebuilt from the state schema says what it cannot know, and what a review resolved since', () => {
    const html = renderHtmlReport(
      {
        ...APPLY,
        start: null,
        lost: { ...APPLY.lost, first: { gtid: '0-1-25', file: null, pos: null, timestamp: null }, last: { gtid: '0-1-28', file: null, pos: null, timestamp: null } },
        incomplete: null,
        windows: null,
        retries: null,
        timings: null,
        withoutHistory: null,
        recorded: { status: 'completed', startedAt: '2026-11-26 12:00:00.000000', finishedAt: '2026-11-26 12:00:03.500000', resolvedSince: { applied: 1 }, pendingNow: 1, notRecorded: ['the commit times of the lost transactions'] },
      },
      [{ ...Q_INSERT, entry: { id: 3, status: 'resolved', resolution: 'applied as reviewed' } }],
    );
    expect(html).toContain('<title>salvage report: run 7 on mysql://salvage@dr.example:3306</title>');
    expect(html).toContain('<li class="tl tl-lost"><div class="when">not recorded</div>');
    expect(html).toContain('<li class="tl tl-received"><div class="when">—</div><div class="what"><strong>Last transaction the DR received from the primary</strong><div>not recorded</div>');
    expect(html).toContain("whether the run read the DR's binlog is not recorded");
    expect(html).toContain("<p>Not recorded: the DR's state schema keeps the decisions, not the rule that chose the start.</p>");
    expect(html).toContain('<p>Counts as the run left them. Since then a review resolved 1 of the quarantined changes (1 applied); 1 still wait for a decision.</p>');
    expect(html).toContain('<span class="status s-done">entry 3, resolved</span>');
    expect(html).toContain('<p class="resolution">Resolved: applied as reviewed</p>');
    expect(html).toContain('<ul><li>the commit times of the lost transactions</li></ul>');
    expect(html).toContain('<li class="tl tl-run"><div class="when">2026-11-26 12:00:00 … 2026-11-26 12:00:03</div>');
  });
});
