import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_HELP, invocationFor, runDemo, type DemoEnvironment } from '../../src/cli/demo-command.js';
import { UsageError } from '../../src/cli/usage-error.js';

/** A stream that keeps what was written. */
class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.text += chunk.toString();
    done();
  }
}

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
  let serverDir = '';

  beforeAll(async () => {
    code = await runDemo([], out, err, env);
    const index = /^ +(\S+\/mysql-bin\.index)$/m.exec(out.text)?.[1];
    filesDir = index === undefined ? '' : dirname(index);
    serverDir = /server {4}stopped and removed \((\S+)\)/.exec(out.text)?.[1] ?? '';
  });

  afterAll(async () => {
    if (filesDir !== '' && filesDir.includes('salvage-demo-')) await rm(filesDir, { recursive: true, force: true });
  });

  it('exits 0 and reports progress on stderr only', () => {
    expect(code).toBe(0);
    expect(err.text).toContain('salvage demo: starting a throwaway MariaDB primary');
    expect(err.text).toMatch(/salvage demo: done in \d+\.\d s\n$/);
    expect(out.text).not.toContain('salvage demo: starting');
  });

  it('tells what was staged, with the seeded workload counts', () => {
    expect(out.text).toContain('  workload  37 committed transactions (seed 20261126); the binlog rotated before transaction 19\n');
    expect(out.text).toContain('            shop.customers: 17 inserts, 3 updates, 2 deletes\n');
    expect(out.text).toContain('            shop.orders: 15 inserts, 15 updates, 1 delete\n');
    expect(out.text).toContain('  the cut   the last one (customer 1 places orders 14 and 15 and pays the first) was being written when the crash hit:\n');
    expect(out.text).toContain('            its COMMIT event is cut after 25 of 31 bytes\n');
    expect(out.text).toContain('  crash     one more transaction was open (customer 8 places order 16) when the server was SIGKILLed;\n');
  });

  it('prints the last three committed transactions in the human form', () => {
    const headers = out.text.match(/^# at \d+ {2}end \d+ {2}.* GTID (\S+) {2}\(.*\)$/gm) ?? [];
    expect(headers.map((h) => /GTID (\S+)/.exec(h)?.[1])).toEqual(['0-1-37', '0-1-38', '0-1-39']);
    expect(out.text).toContain("###   email='radia.allen+35@example.org'\n");
    expect(out.text).toContain("###   status='paid'\n");
    expect(out.text).toContain('COMMIT /* xid=');
  });

  it('prints the --stats table: transactions and row changes per table', () => {
    expect(out.text).toMatch(/^shop\.customers {10}17 {11}3 {11}2 {12}17$/m);
    expect(out.text).toMatch(/^shop\.orders {13}13 {10}14 {11}1 {12}24$/m);
    expect(out.text).toMatch(/^transactions: 39 {2}row changes: 50 {2}incomplete: 1 {2}bytes: \d+$/m);
    expect(out.text).toContain('(3 DDL statements — CREATE DATABASE and two CREATE TABLEs — are counted as transactions with no row changes.)');
    expect(out.text).toContain('Every transaction the files hold whole was recovered (36 of 36 committed before the cut);');
  });

  it('reports the incomplete tail and the transaction it cut', () => {
    expect(out.text).toMatch(
      /^# INCOMPLETE transaction at \S+\/mysql-bin\.000002:\d+ \(GTID 0-1-40, 3 row changes read up to (\d+)\): end-of-input; it never committed and is not applied$/m,
    );
    expect(out.text).toMatch(/^# \S+\/mysql-bin\.000002 ends inside an event at offset \d+ \(25 bytes of 31\): the file was cut off/m);
  });

  it('keeps the binlog copies, the last one flagged in use and cut, and prints the commands to try', () => {
    expect(filesDir).toMatch(/salvage-demo-/);
    expect(readdirSync(filesDir).sort()).toEqual(['mysql-bin.000001', 'mysql-bin.000002', 'mysql-bin.index']);
    // FORMAT_DESCRIPTION header flags at 4 + 17: LOG_EVENT_BINLOG_IN_USE_F (0x1) on the file the server had open.
    const first = readFileSync(join(filesDir, 'mysql-bin.000001'));
    const last = readFileSync(join(filesDir, 'mysql-bin.000002'));
    expect((first[4 + 17] ?? 0) & 1).toBe(0);
    expect((last[4 + 17] ?? 0) & 1).toBe(1);
    expect(out.text).toContain(`  salvage inspect ${filesDir}/mysql-bin.index --stats\n`);
    expect(out.text).toContain(`  salvage inspect ${filesDir}/mysql-bin.index --include-gtids 0-1-37,0-1-38,0-1-39\n`);
    expect(out.text).toContain(`  salvage inspect ${filesDir}/mysql-bin.000002\n`);
    expect(out.text).toContain(`The files stay in ${filesDir} until you delete them.`);
    expect(out.text.trimEnd().split('\n').pop()).toBe(
      'Next: plan and apply — merging these transactions into a DR server, exactly once — come with the reconcile engine.',
    );
  });

  it('leaves no server process and no server folder behind', () => {
    expect(serverDir).toMatch(/binlog-salvage-mdb-demo-primary-/);
    expect(existsSync(serverDir)).toBe(false);
    expect(processesNaming(serverDir)).toEqual([]);
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
