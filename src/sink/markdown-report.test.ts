import { describe, expect, it } from 'vitest';
import type { SalvageReport } from '../pipeline/salvage.js';
import { MARKDOWN_QUARANTINE_LIMIT, MARKDOWN_REMAP_LIMIT, renderMarkdownReport, type MarkdownQuarantinedChange, type MarkdownReportSource } from './markdown-report.js';

// The pipeline's report is what the CLI hands the renderer: it must stay assignable.
const fromPipeline = (r: SalvageReport): MarkdownReportSource => r;
void fromPipeline;

/** An apply of a small incident, as the pipeline reports it. */
const APPLY: MarkdownReportSource = {
  mode: 'apply',
  target: 'mysql://salvage@dr.example:3306',
  dr: { flavor: 'mariadb', version: '10.11.19-MariaDB-log', serverId: 2 },
  sourceId: 'binlog:mysql-bin',
  runId: 7,
  start: {
    rule: "start from the DR's GTID state: DR gtid_slave_pos 0-1-24 (seq_no per domain), gtid_binlog_pos 0-2-39 (same server id only); lost: 4 transaction(s) 0-1-25-28",
    lostSet: '0-1-25-28',
    checks: ['gtid_slave_pos 0-9-3 was not found in the binlogs read, yet it covered 2 transaction(s) of other servers in domain 0 by sequence number'],
    checkpoint: null,
  },
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

const QUARANTINED: MarkdownQuarantinedChange[] = [
  {
    gtid: '0-1-27',
    file: '/recovered/mysql-bin.000001',
    pos: 2000,
    index: 0,
    table: 'shop.customers',
    op: 'insert',
    key: [17],
    class: 'insert-unique-taken',
    reason: 'another DR row holds unique key uk_email (Zed@x = zed@x | case)',
  },
  { gtid: null, file: '/recovered/mysql-bin.000002', pos: 400, index: 1, table: 'shop.orders', op: 'delete', key: ['eu', 5], class: 'delete-diverged', reason: 'the DR row differs in *status*' },
];

describe('renderMarkdownReport', () => {
  it('renders an apply with its start, window, counts, remaps and quarantined changes', () => {
    expect(renderMarkdownReport(APPLY, QUARANTINED)).toMatchInlineSnapshot(`
      "# salvage apply: mysql://salvage@dr.example:3306, run 7

      The transactions the DR never received, merged into the DR.

      | | |
      |---|---|
      | DR | \`mysql://salvage@dr.example:3306\`: mariadb 10.11.19-MariaDB-log, server_id 2 |
      | source | \`binlog:mysql-bin\`: 2 binlog files, \`mysql-bin.000001\` … \`mysql-bin.000002\` |
      | outcomes | 2 applied, 1 merged, 1 remapped, 0 skipped, 2 quarantined |

      ## Starting point

      start from the DR's GTID state: DR gtid_slave_pos 0-1-24 (seq_no per domain), gtid_binlog_pos 0-2-39 (same server id only); lost: 4 transaction(s) 0-1-25-28

      - lost set: \`0-1-25-28\`
      - already applied by salvage (checkpoint): none
      - **CHECK:** gtid_slave_pos 0-9-3 was not found in the binlogs read, yet it covered 2 transaction(s) of other servers in domain 0 by sequence number

      ## Lost window

      4 transaction(s), 6 row change(s).

      | | GTID | binlog position | committed (UTC) |
      |---|---|---|---|
      | first | \`0-1-25\` | \`mysql-bin.000001:1234\` | 2026-11-26 11:06:08 |
      | last | \`0-1-28\` | \`mysql-bin.000002:560\` | 2026-11-26 11:06:09 |

      Never committed in the binlog, so not applied:

      - \`0-1-29\` at \`mysql-bin.000002:900\` (end-of-input)

      ## Changes per table

      | table | class | outcome | changes |
      |---|---|---|---:|
      | \`shop.customers\` | \`insert-pk-taken\` | remapped | 1 |
      | \`shop.customers\` | \`insert-unique-taken\` | quarantined | 1 |
      | \`shop.customers\` | \`update-diverged\` | merged | 1 |
      | \`shop.orders\` | \`clean\` | applied | 2 |
      | \`shop.orders\` | \`delete-diverged\` | quarantined | 1 |

      ## Remapped keys (1)

      The DR had given these keys to different records after the failover; the lost rows took the new keys, and their later changes and child rows follow them. Anything outside the database that saw an old key now points at a different record.

      | table | old key | new key | transaction |
      |---|---|---|---|
      | \`shop.customers\` | \`13\` | \`23\` | \`0-1-26\` |

      ## Quarantined changes (2)

      Held back for review, with everything that depends on them: \`salvage quarantine list\` on the DR lists them, \`salvage quarantine show ID\` shows one.

      | change | table | op | key | class | reason |
      |---|---|---|---|---|---|
      | \`0-1-27#0\` | \`shop.customers\` | insert | \`17\` | \`insert-unique-taken\` | another DR row holds unique key uk_email (Zed@x = zed@x \\| case) |
      | \`mysql-bin.000002:400#1\` | \`shop.orders\` | delete | \`["eu",5]\` | \`delete-diverged\` | the DR row differs in \\*status\\* |

      ## Run

      1 window(s), 0 retried; scan 0.1 s, reconcile 0.5 s, total 0.7 s; 12 rows/s.

      Committed through \`mysql-bin.000002:560\`: a next run of the same command starts after it.

      _Decided without the DR's own binlog (value rules): a DR row is judged the same record as a lost one by its key and values, not by its history since the failover._
      "
    `);
  });

  it('renders a plan as a dry run, and a quarantine without its lines as a count', () => {
    const plan: MarkdownReportSource = { ...APPLY, mode: 'plan', runId: null, start: { ...APPLY.start!, checks: [], checkpoint: '0-1-24 mysql-bin.000001:1100' }, incomplete: [], committedThrough: null };
    const md = renderMarkdownReport(plan);
    expect(md.split('\n').slice(0, 3)).toEqual(['# salvage plan (dry run): mysql://salvage@dr.example:3306', '', 'What `salvage apply` would do with the transactions the DR never received. Nothing was written to the DR.']);
    expect(md).toContain('- already applied by salvage (checkpoint): `0-1-24 mysql-bin.000001:1100`\n');
    expect(md).toContain('## Quarantined changes (2)\n\nThese changes would be held back for review, with everything that depends on them.\n\n## Run\n');
    expect(md).not.toContain('CHECK');
    expect(md).not.toContain('Never committed');
    expect(md).not.toContain('Committed through');
  });

  it('names a live source, and says when a run was stopped on request', () => {
    const md = renderMarkdownReport({ ...APPLY, source: { kind: 'live', server: 'mysql://salvage:***@old-primary:3306', start: 'mysql-bin.000002:4', follow: true, reconnects: 2 }, stoppedOnRequest: true });
    expect(md).toContain('| source | `binlog:mysql-bin`: live server `mysql://salvage:***@old-primary:3306` from `mysql-bin.000002:4`, following, 2 reconnect(s) |\n');
    expect(md).toContain('\nStopped on request: the window in progress committed first; the same command resumes.\n\nCommitted through `mysql-bin.000002:560`: a next run of the same command starts after it.\n');
  });

  it('says where --stop-before ended the run, and for apply that the same command goes on from there (it was in the summary and JSON only)', () => {
    const stoppedBefore = { asked: 'mysql-bin.000002:900', gtid: '0-1-21', file: 'mysql-bin.000002', pos: 900 };
    expect(renderMarkdownReport({ ...APPLY, stoppedBefore })).toContain(
      '\nStopped before 0-1-21 (mysql-bin.000002:900), as --stop-before mysql-bin.000002:900 asked: nothing from it on was read; the same command without --stop-before (or with a later one) goes on from there.\n\nCommitted through `mysql-bin.000002:560`',
    );
    expect(renderMarkdownReport({ ...APPLY, mode: 'plan', runId: null, committedThrough: null, stoppedBefore: { ...stoppedBefore, gtid: null } })).toContain('\nStopped before mysql-bin.000002:900, as --stop-before mysql-bin.000002:900 asked: nothing from it on was read.\n');
    expect(renderMarkdownReport(APPLY)).not.toContain('Stopped before');
  });

  it('lists the first remaps and quarantined changes and counts the rest', () => {
    const remaps = Array.from({ length: MARKDOWN_REMAP_LIMIT + 3 }, (_, i) => ({ table: 'shop.t', oldKey: [i], newKey: [1000 + i], at: `0-1-${i}` }));
    const lines = Array.from({ length: MARKDOWN_QUARANTINE_LIMIT }, (_, i) => ({ ...QUARANTINED[0]!, key: [i] }));
    const md = renderMarkdownReport({ ...APPLY, remaps, quarantined: MARKDOWN_QUARANTINE_LIMIT + 7 }, lines);
    expect(md.split('\n').filter((l) => l.startsWith('| `shop.t` |'))).toHaveLength(MARKDOWN_REMAP_LIMIT);
    expect(md).toContain('\n… and 3 more (the JSON report, `--report`, lists them all).\n');
    expect(md.split('\n').filter((l) => l.startsWith('| `0-1-27#0` |'))).toHaveLength(MARKDOWN_QUARANTINE_LIMIT);
    expect(md).toContain('\n… and 7 more (`salvage quarantine list` has them all).\n');
  });

  it('lists linked keys apart from remapped ones: a link is the same record, not a re-key', () => {
    // Found by a review: links were listed under "Remapped keys", said to be given to different records.
    const md = renderMarkdownReport({ ...APPLY, remaps: [...APPLY.remaps, { table: 'shop.customers', oldKey: [14], newKey: [9], at: '0-1-27', linked: true }] });
    expect(md).toContain('## Remapped keys (1)\n');
    expect(md).toContain('## Linked keys (1)\n\nEach lost row is the same record as the DR\'s row at the DR key (found by its natural key); it was merged into that row, and its later changes and child rows follow it there.\n\n| table | old key | DR key | transaction |\n|---|---|---|---|\n| `shop.customers` | `14` | `9` | `0-1-27` |\n');
    expect(md.split('## Linked keys')[0]).not.toContain('`14`');
  });

  it('keeps code spans and free text from breaking the table or turning into markup', () => {
    const md = renderMarkdownReport({ ...APPLY, remaps: [{ table: 'odd`name', oldKey: ['a|b'], newKey: [['x', 1]], at: '0-1-1' }] });
    expect(md).toContain('| ``odd`name`` | `a\\|b` | `[["x",1]]` | `0-1-1` |');
    expect(md).toContain('**CHECK:** gtid_slave_pos 0-9-3 was not found');
  });

  it('lists the statements that made the quarantined changes, once per run of changes, fenced past any backticks in them', () => {
    const sql = "UPDATE `shop`.`t` SET note = '```' WHERE id IN (1,\n  2)";
    const md = renderMarkdownReport(APPLY, [
      { ...QUARANTINED[0]!, statement: sql },
      { ...QUARANTINED[0]!, index: 1, statement: sql },
      { ...QUARANTINED[1]! },
    ]);
    expect(md.slice(md.indexOf('Statements that made them'), md.indexOf('## Run'))).toBe(
      ['Statements that made them, as the binlog logged them:', '', '- `0-1-27#0`, `0-1-27#1`:', '', '  ````sql', "  UPDATE `shop`.`t` SET note = '```' WHERE id IN (1,", '    2)', '  ````', '', ''].join('\n'),
    );
    // Without statements, no list.
    expect(renderMarkdownReport(APPLY, QUARANTINED)).not.toContain('Statements that made them');
  });

  it('gives the timeline from the DR\'s history: last received, the lost window, the failover and the DR\'s own writes', () => {
    const history = {
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
      complete: false,
    };
    const md = renderMarkdownReport({ ...APPLY, withoutHistory: false, history });
    const from = md.indexOf('## Timeline\n');
    expect(md.slice(from, md.indexOf('## Lost window'))).toBe(
      [
        '## Timeline',
        '',
        '| | transaction | binlog position | committed (UTC) |',
        '|---|---|---|---|',
        '| last received by the DR | `0-1-24` | `dr-bin.000003:900` | 2026-11-26 11:06:00 |',
        '| lost window, first | `0-1-25` | `mysql-bin.000001:1234` | 2026-11-26 11:06:08 |',
        '| lost window, last | `0-1-28` | `mysql-bin.000002:560` | 2026-11-26 11:06:09 |',
        "| the DR's first own write | `0-2-40` | `dr-bin.000003:1400` | 2026-11-26 11:09:30 |",
        '',
        'Failover point: the first transaction of server_id 2 in domain 0.',
        '',
        '- 3 transaction(s) of server_id 2 after 0-1-24',
        '',
        'The DR wrote 3 transaction(s) of its own since the failover:',
        '',
        '| table | inserted | updated | deleted |',
        '|---|---:|---:|---:|',
        '| `shop.customers` | 1 | 1 | 0 |',
        '| `shop.notes` | 1 | 0 | 0 |',
        '',
        "**The DR's binlog read ends before the DR's current position:** rows it does not cover were judged by their values, as without it.",
        '',
        '',
      ].join('\n'),
    );
    expect(md.indexOf('## Starting point')).toBeLessThan(from);
    expect(md).not.toContain("Decided without the DR's own binlog");
    // Without history, no timeline section: the closing line says the run decided without it.
    expect(renderMarkdownReport(APPLY)).not.toContain('## Timeline');
  });

  it('a report rebuilt from the state schema marks what it does not know, and what a review resolved since', () => {
    const md = renderMarkdownReport({
      ...APPLY,
      start: null,
      lost: { ...APPLY.lost, first: { gtid: '0-1-25', file: null, pos: null, timestamp: null }, last: null },
      incomplete: null,
      skippedDdl: [{ at: '0-1-30', sql: null }],
      windows: null,
      retries: null,
      timings: null,
      withoutHistory: null,
      recorded: { status: 'completed', startedAt: '2026-11-26 12:00:00.000000', finishedAt: null, resolvedSince: { applied: 1 }, pendingNow: 1, notRecorded: ['windows, retries and timings'] },
    });
    expect(md.split('\n').slice(0, 3)).toEqual([
      '# salvage report: mysql://salvage@dr.example:3306, run 7',
      '',
      "The transactions the DR never received, merged into the DR by run 7 (completed, started 2026-11-26 12:00:00.000000 UTC), as the DR's state schema records it.",
    ]);
    expect(md).toContain("## Starting point\n\nNot recorded: the DR's state schema keeps the decisions, not the rule that chose the start.\n\n## Lost window\n");
    expect(md).toContain('| first | `0-1-25` | not recorded | not recorded |\n\nDDL left out (`--ddl skip`):\n\n- `0-1-30`: SQL not recorded\n');
    expect(md).toContain('| `shop.orders` | `delete-diverged` | quarantined | 1 |\n\nCounts as the run left them. Since then a review resolved 1 of the quarantined changes (1 applied); 1 still wait for a decision.\n');
    expect(md).toContain('## Run\n\nCommitted through `mysql-bin.000002:560`: a next run of the same command starts after it.\n\n## Not recorded\n\n');
    expect(md.endsWith('have them):\n\n- windows, retries and timings\n')).toBe(true);
  });

  // Found by a review: the rebuilt Markdown left out each change's entry number, status and
  // resolution, which README promises and the HTML report shows.
  it('a report rebuilt from the state schema gives each quarantined change its entry, status and resolution', () => {
    const entries = [
      { ...QUARANTINED[0]!, entry: { id: 1, status: 'resolved', resolution: 'resolved by review: skipped — a | pipe' } },
      { ...QUARANTINED[1]!, entry: { id: 2, status: 'pending', resolution: null } },
    ];
    const md = renderMarkdownReport(APPLY, entries);
    expect(md).toContain(
      [
        '| entry | change | table | op | key | class | reason | resolution |',
        '|---|---|---|---|---|---|---|---|',
        '| 1, resolved | `0-1-27#0` | `shop.customers` | insert | `17` | `insert-unique-taken` | another DR row holds unique key uk_email (Zed@x = zed@x \\| case) | resolved by review: skipped — a \\| pipe |',
        '| 2, pending | `mysql-bin.000002:400#1` | `shop.orders` | delete | `["eu",5]` | `delete-diverged` | the DR row differs in \\*status\\* | – |',
      ].join('\n'),
    );
  });

  it('says when nothing was lost', () => {
    const md = renderMarkdownReport({ ...APPLY, lost: { transactions: 0, rowChanges: 0, first: null, last: null }, counts: {}, remaps: [], quarantined: 0, incomplete: [] });
    expect(md).toContain('## Lost window\n\n0 transaction(s), 0 row change(s).\n\n## Changes per table\n\nNo lost row changes.\n\n## Run\n');
  });
});
