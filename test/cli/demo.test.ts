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
  });

  it('plans and applies the same decisions, and finds the lost set despite the reused sequence numbers', () => {
    const outcomes = out.text.match(/^outcomes: .*$/gm);
    expect(outcomes).toEqual(['outcomes: 32 applied, 2 merged, 11 remapped, 0 skipped, 5 quarantined', 'outcomes: 32 applied, 2 merged, 11 remapped, 0 skipped, 5 quarantined']);
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
    expect(out.text).toContain('  0-1-44  update shop.orders 3: quarantined (update-missing)');
    expect(out.text).toContain('  0-1-44  insert shop.order_notes 23: quarantined (parent-missing) — its parent shop.orders 3 is quarantined (0-1-44#0)\n');
    expect(out.text).toContain('  0-1-49  delete shop.orders 2: quarantined (delete-diverged) — the DR row differs from the deleted row in status\n');
    expect(out.text).toContain('  (and 32 clean changes applied as they were)\n');
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
      'apply.jsonl',
      'mysql-bin.000001',
      'mysql-bin.000002',
      'mysql-bin.index',
      'plan-report.json',
      'plan.jsonl',
      'plan.sql',
    ]);
    expect(readFileSync(join(filesDir, 'apply.jsonl'), 'utf8').trimEnd().split('\n')).toHaveLength(50);
    expect(readFileSync(join(filesDir, 'plan.sql'), 'utf8')).toContain('INSERT INTO `shop`.`customers`');
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
