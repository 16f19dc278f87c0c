/**
 * `--markdown FILE` on `salvage plan` and `salvage apply`, on a small hand-built incident (the one of
 * test/reconcile/salvage-basic.test.ts): the file's key lines — start and lost set, counts per
 * table × class × outcome, remapped keys, quarantined changes with their reasons — exactly.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSalvageCommand, type SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { Capture } from '../harness/capture.js';
import { SMALL_INCIDENT } from '../harness/small-incident.js';

const ENV: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };

const { schema: SCHEMA, base: BASE, lost: LOST, drOwn: DR_OWN } = SMALL_INCIDENT;

let primary: MariadbServer;
let dr: MariadbServer;
let dir: string;
let files: string[];
let start: string;
let config: string;

/** The lost GTID `n` transactions after the start (MariaDB domain 0, server 1). */
function lost(n: number): string {
  const seq = Number(start.split('-')[2]);
  return `0-1-${seq + n}`;
}

function args(md: string): string[] {
  return ['--binlog', ...files, '--target', dr.url, '--from-gtid', start, '--config', config, '--markdown', md, '--quiet'];
}

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'md-primary' }), startMariadb({ name: 'md-dr', serverId: 2 })]);
  dir = await mkdtemp(join(tmpdir(), 'salvage-md-'));
  for (const sql of [...SCHEMA, ...BASE]) {
    await primary.query(sql);
    await dr.query(sql);
  }
  start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  for (const sql of LOST) await primary.query(sql);
  for (const sql of DR_OWN) await dr.query(sql);
  await primary.flushBinaryLogs();
  files = await primary.binlogFiles();
  config = join(dir, 'salvage.json');
  await writeFile(config, JSON.stringify({ tables: { 'shop.notes': { references: { order_id: 'shop.orders.id' } } } }));
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The lines of the section that starts with `## title`, up to the next section. */
function section(md: string, title: string): string[] {
  const lines = md.split('\n');
  const from = lines.indexOf(`## ${title}`);
  if (from < 0) throw new Error(`no section "${title}" in:\n${md}`);
  const to = lines.findIndex((l, i) => i > from && l.startsWith('## '));
  return lines.slice(from + 1, to < 0 ? undefined : to).filter((l) => l !== '');
}

const TARGET = (): string => `mysql://root@127.0.0.1:${dr.port}`;

const COUNTS = [
  '| table | class | outcome | changes |',
  '|---|---|---|---:|',
  '| `shop.customers` | `insert-pk-taken` | remapped | 1 |',
  '| `shop.customers` | `insert-unique-taken` | quarantined | 1 |',
  '| `shop.customers` | `update-diverged` | merged | 1 |',
  '| `shop.notes` | `insert-pk-taken` | remapped | 1 |',
  '| `shop.orders` | `clean` | applied | 1 |',
  '| `shop.orders` | `clean` | quarantined | 1 |',
];

const QUARANTINE_ROWS = (): string[] => [
  '| change | table | op | key | class | reason |',
  '|---|---|---|---|---|---|',
  `| \`${lost(5)}#0\` | \`shop.customers\` | insert | \`5\` | \`insert-unique-taken\` | another DR row already holds unique key uk_email |`,
  `| \`${lost(6)}#0\` | \`shop.orders\` | delete | \`2\` | \`clean\` | cascade guard: 1 row(s) of shop.notes still point at it (config:order_id, a logical reference) |`,
  // The primary logs ANNOTATE_ROWS (MariaDB's default): each change's statement, as logged.
  'Statements that made them, as the binlog logged them:',
  `- \`${lost(5)}#0\`:`,
  '  ```sql',
  `  ${LOST[4]}`,
  '  ```',
  `- \`${lost(6)}#0\`:`,
  '  ```sql',
  `  ${LOST[5]}`,
  '  ```',
];

describe('--markdown', () => {
  it('plan writes the incident summary as Markdown: start, lost set, counts, remaps, quarantined changes', async () => {
    const md = join(dir, 'plan.md');
    expect(await runSalvageCommand('plan', args(md), new Capture(), new Capture(), ENV)).toBe(3);
    const text = await readFile(md, 'utf8');
    const lines = text.split('\n');
    expect(lines[0]).toBe(`# salvage plan (dry run): ${TARGET()}`);
    expect(lines).toContain('| outcomes | 1 applied, 1 merged, 2 remapped, 0 skipped, 2 quarantined |');
    expect(files.map((f) => basename(f))).toEqual(['mysql-bin.000001', 'mysql-bin.000002']);
    expect(lines).toContain('| source | `binlog:mysql-bin`: 2 binlog files, `mysql-bin.000001` … `mysql-bin.000002` |');
    expect(section(text, 'Starting point')).toEqual([
      `start after --from-gtid ${start}; lost: 6 transaction(s) ${lost(1)}-${lost(6).split('-')[2]}`,
      `- lost set: \`${lost(1)}-${lost(6).split('-')[2]}\``,
      '- already applied by salvage (checkpoint): none',
    ]);
    const window = section(text, 'Lost window');
    expect(window[0]).toBe('6 transaction(s), 6 row change(s).');
    expect(window[3]).toMatch(new RegExp(`^\\| first \\| \`${lost(1)}\` \\| \`mysql-bin\\.000001:\\d+\` \\| \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d \\|$`));
    expect(window[4]).toMatch(new RegExp(`^\\| last \\| \`${lost(6)}\` \\| \`mysql-bin\\.000001:\\d+\` \\|`));
    expect(section(text, 'Changes per table')).toEqual(COUNTS);
    expect(section(text, 'Remapped keys (2)').slice(1)).toEqual([
      '| table | old key | new key | transaction |',
      '|---|---|---|---|',
      `| \`shop.customers\` | \`4\` | \`6\` | \`${lost(1)}\` |`,
      `| \`shop.notes\` | \`2\` | \`3\` | \`${lost(3)}\` |`,
    ]);
    expect(section(text, 'Quarantined changes (2)')).toEqual(['These changes would be held back for review, with everything that depends on them.', ...QUARANTINE_ROWS()]);
    expect(text).toContain("\n_Decided without the DR's own binlog (value rules):");
  });

  it('apply writes it for the run, and a second apply says nothing was left', async () => {
    const md = join(dir, 'apply.md');
    expect(await runSalvageCommand('apply', args(md), new Capture(), new Capture(), ENV)).toBe(3);
    const text = await readFile(md, 'utf8');
    expect(text.split('\n')[0]).toBe(`# salvage apply: ${TARGET()}, run 1`);
    expect(section(text, 'Changes per table')).toEqual(COUNTS);
    expect(section(text, 'Run')[1]).toMatch(/^Committed through `mysql-bin\.000001:\d+`: a next run of the same command starts after it\.$/);
    expect(section(text, 'Quarantined changes (2)')).toEqual([
      'Held back for review, with everything that depends on them: `salvage quarantine list` on the DR lists them, `salvage quarantine show ID` shows one.',
      ...QUARANTINE_ROWS(),
    ]);

    const again = join(dir, 'again.md');
    // 3: nothing is left to apply, but run 1's quarantine still awaits review.
    expect(await runSalvageCommand('apply', args(again), new Capture(), new Capture(), ENV)).toBe(3);
    const second = await readFile(again, 'utf8');
    expect(second.split('\n')[0]).toBe(`# salvage apply: ${TARGET()}, run 2`);
    expect(section(second, 'Starting point')[2]).toMatch(new RegExp(`^- already applied by salvage \\(checkpoint\\): \`${lost(1)}-${lost(6).split('-')[2]} mysql-bin\\.000001:\\d+\`$`));
    expect(section(second, 'Lost window')).toEqual(['0 transaction(s), 0 row change(s).']);
    expect(section(second, 'Changes per table')).toEqual(['No lost row changes.']);
    expect(second).not.toContain('## Remapped keys');
    expect(second).not.toContain('## Quarantined changes');
  });

  it('an unwritable file stops before the run; a run that stops says so in the file', async () => {
    await expect(runSalvageCommand('plan', [...args(join(dir, 'no-such-dir', 'p.md'))], new Capture(), new Capture(), ENV)).rejects.toThrow(UsageError);
    const md = join(dir, 'stopped.md');
    // A DR that cannot be reached: the run starts and stops (a bad --from-gtid is refused with the options now, before the file).
    const bad = [...args(md).map((a) => (a === dr.url ? 'mysql://root@127.0.0.1:1' : a)), '--reconnect-attempts', '0'];
    await expect(runSalvageCommand('plan', bad, new Capture(), new Capture(), ENV)).rejects.toThrow();
    expect(await readFile(md, 'utf8')).toBe("# salvage plan: stopped\n\nThe run stopped before the end; the command's error message says why and where it resumes.\n");
  });
});
