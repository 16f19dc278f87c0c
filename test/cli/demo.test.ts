import { readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_HELP, invocationFor, runDemo, type DemoEnvironment } from '../../src/cli/demo-command.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { Capture } from '../harness/capture.js';

const env: DemoEnvironment = { host: process, searchPath: process.env['PATH'], invocation: 'salvage' };

/** Command lines of every live process that names `dir`. */
function processesNaming(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(dir)) found.push(cmdline.replace(/\0/g, ' '));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** The text from the line starting with `from` up to the line starting with `to`. */
function section(text: string, from: string, to: string): string {
  const start = text.indexOf(`\n${from}`);
  const end = text.indexOf(`\n${to}`, start + 1);
  return start === -1 || end === -1 ? '' : text.slice(start + 1, end + 1);
}

function demoFolders(): string[] {
  return readdirSync(tmpdir()).filter((e) => e.startsWith('salvage-demo-'));
}

describe('salvage demo', () => {
  const out = new Capture();
  const err = new Capture();
  let code: number;
  let filesDir = '';
  let port = '';

  beforeAll(async () => {
    code = await runDemo([], out, err, env);
    filesDir = /The files stay in (\S+) until you delete them\./.exec(out.text)?.[1] ?? '';
    port = /DR mysql:\/\/root@127\.0\.0\.1:(\d+)/.exec(out.text)?.[1] ?? '';
  }, 120_000);

  afterAll(async () => {
    if (filesDir !== '' && filesDir.includes('salvage-demo-')) await rm(filesDir, { recursive: true, force: true });
  });

  it('exits 0 and reports progress on stderr only', () => {
    expect(code).toBe(0);
    expect(err.text).toContain('salvage demo: starting a throwaway MariaDB primary');
    expect(err.text).toContain('salvage demo: salvage plan…\nsalvage demo: salvage apply…\nsalvage demo: salvage apply (again)…\n');
    expect(err.text).toMatch(/salvage demo: done in \d+\.\d s\n$/);
    expect(out.text).not.toContain('salvage demo: ');
  });

  it('tells what was staged: the lost range, the promotion and the collisions', () => {
    expect(out.text).toContain('  replicated 20 transactions (0-1-5 … 0-1-24): the DR had them all when the link was cut at 0-1-24\n');
    expect(out.text).toContain('  lost       the primary then committed 30 more (0-1-25 … 0-1-54) and was SIGKILLed;\n');
    expect(out.text).toContain('the last cut inside its final COMMIT (0-1-54 is not whole: never applied)');
    expect(out.text).toContain('  promoted   the DR took 15 transactions of its own (0-2-25 … 0-2-39 — the same sequence numbers, its own server id),\n');
    expect(out.text).toContain('handing out the same ids: customers 13–17, orders 12–14, notes 13–16\n');
    expect(out.text).toContain('             both renamed customer 1, and the DR renamed it back: its row looks untouched, only its binlog says otherwise\n');
  });

  it("reads the DR's own binlog: the failover point, and the DR's history since", () => {
    const plan = section(out.text, '1. salvage plan', '2. salvage apply');
    const apply = section(out.text, '2. salvage apply', 'What happened to');
    for (const s of [plan, apply]) {
      expect(s).toContain("failover: first transaction with the DR's own server id 2 (0-2-25 at mysql-bin.000001:16024)\n");
      expect(s).toContain('  last received from the primary: 0-1-24 (mysql-bin.000001:15660, server_id 1); first written by the DR: 0-2-25 (mysql-bin.000001:16024, server_id 2)\n');
      expect(s).toContain('  evidence: before the failover point: 24 transactions; server ids 1 (24); GTID domains 0\n');
      expect(s).toContain('history: 15 transaction(s) the DR wrote since (shop.customers +5 ~3 -0, shop.order_notes +4 ~0 -2, shop.orders +3 ~3 -1)\n');
      expect(s).toMatch(/^decided with the DR's own binlog \(record identity from its history\); 1 window\(s\), 0 retried; /m);
      expect(s).not.toContain('INCOMPLETE');
    }
    // The first apply's own writes (state schema, checkpoint) are in the DR's binlog for the second: not DR history.
    const again = JSON.parse(readFileSync(join(filesDir, 'apply-again-report.json'), 'utf8')) as { history: { transactions: number; complete: boolean; failover: { firstOwn: { at: string } } } };
    expect([again.history.transactions, again.history.complete, again.history.failover.firstOwn.at]).toEqual([15, true, '0-2-25']);
  });

  it('plans and applies the same decisions, and finds the lost set despite the reused sequence numbers', () => {
    const outcomes = out.text.match(/^outcomes: .*$/gm);
    expect(outcomes).toEqual(['outcomes: 31 applied, 3 merged, 11 remapped, 0 skipped, 5 quarantined', 'outcomes: 31 applied, 3 merged, 11 remapped, 0 skipped, 5 quarantined']);
    expect(out.text.match(/^lost: .*$/gm)?.map((l) => l.replace(/ \(\S+Z\)/g, ''))).toEqual([
      'lost: 29 transaction(s), 50 row change(s), 0-1-25 … 0-1-53',
      'lost: 29 transaction(s), 50 row change(s), 0-1-25 … 0-1-53',
    ]);
    expect(out.text).toContain('  not applied: 0-1-54 never committed in the binlog (end-of-input)\n');
    expect(out.text).toContain('dry run, nothing written');
  });

  it('explains each decision that met the DR\'s own writes', () => {
    expect(out.text).toContain('  0-1-27  insert shop.customers 13 → 23: remapped (insert-pk-taken) — the DR gave id 13 to a different record: re-keyed to 23 in shop.customers\n');
    expect(out.text).toContain('  0-1-28  insert shop.orders 12 → 20: remapped (insert-pk-taken)');
    expect(out.text).toContain('  0-1-32  update shop.orders 9: merged (update-diverged) — three-way merge: took status from the lost change\n');
    expect(out.text).toContain('  0-1-41  insert shop.customers 17: quarantined (insert-unique-taken)');
    expect(out.text).toContain('  0-1-44  update shop.orders 3: quarantined (update-deleted-on-dr) — the DR deleted this row after the failover (0-2-33)\n');
    expect(out.text).toContain('  0-1-44  insert shop.order_notes 23: quarantined (parent-missing) — its parent shop.orders 3 is quarantined (0-1-44#0)\n');
    expect(out.text).toContain(
      "  0-1-46  update shop.customers 1: merged (update-diverged) — three-way merge: took nothing from the lost change; both sides changed name, updated_at: kept the DR's\n",
    );
    expect(out.text).toContain('  0-1-49  delete shop.orders 2: quarantined (delete-diverged) — the DR row differs from the deleted row in status\n');
    expect(out.text).toContain('  (and 31 clean changes applied as they were)\n');
  });

  it('tells the decisions only the DR history could make: the rename undone on the DR, the row it deleted', () => {
    const told = section(out.text, "What only the DR's own binlog could tell", '3. salvage apply, again');
    expect(told).toContain('  customer 1: the DR renamed it and renamed it back, so its row equals the one at the failover, and by\n');
    expect(told).toContain('    values alone the lost rename ("Donald Hopper" → "Donald Hopper Jr.") would have been applied over it as a clean update.\n');
    expect(told).toContain("    The DR's binlog shows the DR changed name, updated_at too: both sides changed them, so the DR keeps\n");
    expect(told).toContain('    so it is update-deleted-on-dr, not a row that never existed there: quarantined, with the note added to it.\n');
    expect(told).toContain("  The 11 remapped inserts: the DR's binlog shows it gave those ids to records of its own after the failover\n");
    const ledger = readFileSync(join(filesDir, 'apply.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { key: unknown[]; table: string; op: string; class: string; conflicts?: string[]; withoutHistory: boolean });
    expect(ledger.find((l) => l.table === 'shop.customers' && l.op === 'update' && l.key[0] === 1)).toMatchObject({ class: 'update-diverged', conflicts: ['name', 'updated_at'], withoutHistory: false });
    // The run read the DR's whole binlog: every decision was made with its history.
    expect(ledger.filter((l) => l.withoutHistory)).toEqual([]);
  });

  it('applies exactly once: the second apply finds nothing left', () => {
    expect(out.text).toContain('excluding the checkpoint 0-1-25-53 / mysql-bin.000002:');
    expect(out.text).toContain('  0 lost transactions left, 0 changes decided: nothing to do.\n');
  });

  it('keeps the binlog copies, the plan, the ledgers and the reports', () => {
    expect(filesDir).toMatch(/salvage-demo-/);
    expect(readdirSync(filesDir).sort()).toEqual([
      'apply-again-report.json',
      'apply-again.jsonl',
      'apply-report.json',
      'apply.html',
      'apply.jsonl',
      'apply.md',
      'mysql-bin.000001',
      'mysql-bin.000002',
      'mysql-bin.index',
      'plan-report.json',
      'plan.html',
      'plan.jsonl',
      'plan.sql',
    ]);
    expect(readFileSync(join(filesDir, 'apply.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(50);
    expect(readFileSync(join(filesDir, 'plan.sql'), 'utf8')).toContain('INSERT INTO `shop`.`customers`');
  });

  it('ends with the incident report to open in a browser', () => {
    expect(out.text.endsWith(`\nThe plan's report:      file://${filesDir}/plan.html\nOpen this in a browser: file://${filesDir}/apply.html\n`)).toBe(true);
  });

  it('writes the incident report: the timeline with the failover, and every quarantined change with its images', () => {
    const html = readFileSync(join(filesDir, 'apply.html'), 'utf8');
    expect(html).toContain('<h1>salvage apply: run 1 on mysql://root@127.0.0.1:');
    expect(html).toContain('<strong>Last transaction the DR received from the primary</strong><div><code>0-1-24</code> at <code>mysql-bin.000001:15660</code>, server_id 1</div>');
    expect(html).toContain('<strong>Lost window: committed on the primary, never received by the DR</strong><div>29 transaction(s), 50 row change(s); first <code>0-1-25</code>');
    expect(html).toContain("<strong>Failover: the DR&#39;s own writes since</strong><div>First own write <code>0-2-25</code> at <code>mysql-bin.000001:16024</code>, server_id 2. 15 transaction(s) of its own since.");
    expect([...html.matchAll(/<article class="q" id="q-\d+"><h3>(.*?)<\/h3>/g)].map((m) => m[1]!.replace(/<[^>]+>/g, ''))).toEqual([
      '0-1-41#0 shop.customers insert, key 17',
      '0-1-44#0 shop.orders update, key 3',
      '0-1-44#1 shop.order_notes insert, key 23',
      '0-1-49#0 shop.order_notes delete, key 2',
      '0-1-49#1 shop.orders delete, key 2',
    ]);
    expect(html).toContain('<p class="reason">the DR deleted this row after the failover (0-2-33)</p>');
    // The case clash: the lost e-mail beside the DR's, in the images.
    expect(html).toContain('<code>&quot;Zed@example.com&quot;</code>');
    expect(html).not.toContain('Decided without the DR');
    const plan = readFileSync(join(filesDir, 'plan.html'), 'utf8');
    expect(plan).toContain('<h1>salvage plan (dry run): mysql://root@127.0.0.1:');
    expect(plan.match(/<article class="q"/g)).toHaveLength(5);

    const md = readFileSync(join(filesDir, 'apply.md'), 'utf8');
    expect(md).toMatch(/^# salvage apply: mysql:\/\/root@127\.0\.0\.1:\d+, run 1\n/);
    expect(md).toMatch(/\| last received by the DR \| `0-1-24` \| `mysql-bin\.000001:15660` \| [\d-]+ [\d:]+ \|\n/);
    expect(md).toMatch(/\| the DR's first own write \| `0-2-25` \| `mysql-bin\.000001:16024` \| [\d-]+ [\d:]+ \|\n/);
    expect(md).toContain('| `0-1-44#0` | `shop.orders` | update | `3` | `update-deleted-on-dr` | the DR deleted this row after the failover (0-2-33) |\n');
    expect(md).toContain('| `0-1-49#1` | `shop.orders` | delete | `2` | `delete-diverged` | the DR row differs from the deleted row in status |\n');
    expect(md.match(/^\| `0-1-\d+#\d` \|/gm)).toHaveLength(5);
  });

  it('leaves no server process behind', () => {
    expect(port).toMatch(/^\d+$/);
    expect(processesNaming(`--port=${port}`)).toEqual([]);
  });
});

describe('salvage demo, other paths', () => {
  it('says how to install MariaDB when mariadbd is missing, and exits 1 leaving nothing', async () => {
    const before = demoFolders();
    const out = new Capture();
    const err = new Capture();
    const code = await runDemo([], out, err, { ...env, searchPath: '/nonexistent', extraBinaryDirs: [] });
    expect(code).toBe(1);
    expect(out.text).toBe('');
    expect(err.text).toContain('salvage demo: mariadbd not found on PATH: install MariaDB with `apt-get install mariadb-server mariadb-client`');
    expect(err.text).toContain('sudo apt-get install mariadb-server');
    expect(demoFolders()).toEqual(before);
  });

  it('teaches with --help and rejects unknown options', async () => {
    const out = new Capture();
    expect(await runDemo(['--help'], out, new Capture(), env)).toBe(0);
    expect(out.text).toBe(DEMO_HELP);
    expect(DEMO_HELP).toContain('--keep');
    await expect(runDemo(['--frobnicate'], new Capture(), new Capture(), env)).rejects.toBeInstanceOf(UsageError);
  });

  it('prints runnable command lines for the installed bin and for a checkout', () => {
    expect(invocationFor('/usr/local/bin/salvage', '/home/me')).toBe('salvage');
    expect(invocationFor('/work/main/dist/cli/main.js', '/work/main')).toBe('node dist/cli/main.js');
    expect(invocationFor('/opt/salvage/dist/cli/main.js', '/home/me')).toBe('node /opt/salvage/dist/cli/main.js');
    expect(invocationFor(undefined, '/')).toBe('salvage');
  });
});
