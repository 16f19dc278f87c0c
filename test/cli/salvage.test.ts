/** `salvage plan` / `salvage apply` as a DBA runs them: options, files written, exit codes, credentials. */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOptionFile } from '../../src/cli/option-file.js';
import { runQuarantine } from '../../src/cli/quarantine-command.js';
import { APPLY_HELP, PLAN_HELP, runSalvageCommand, targetFrom, type SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { UsageError } from '../../src/cli/usage-error.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';
import { Capture } from '../harness/capture.js';

const ENV: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };

describe('option files and credentials', () => {
  it('reads user, password, host and port from [client] and the client sections, later values winning', () => {
    const text = ['# a comment', '[mysqld]', 'port = 1', '[client]', 'user = dba', 'password = "s3 cr#t"', 'port=3307', '[mariadb-client]', 'host=dr.example', '[other]', 'user=nobody'].join('\n');
    expect(parseOptionFile(text)).toEqual({ user: 'dba', password: 's3 cr#t', port: 3307, host: 'dr.example' });
  });

  it('builds the target: the env password wins, the option file fills what the URL leaves out, and nothing shows the password', () => {
    const dir = tmpdir();
    const home = join(dir, `salvage-home-${process.pid}`);
    const t1 = targetFrom('mysql://127.0.0.1:3399', 'DR_PW', undefined, { DR_PW: 'from-env' }, home);
    expect(t1).toMatchObject({ user: 'root', password: 'from-env', port: 3399, redacted: 'mysql://root:***@127.0.0.1:3399' });
    expect(() => targetFrom('mysql://127.0.0.1:3399', 'MISSING', undefined, {}, home)).toThrow(UsageError);
  });

  it('takes the user and password from --defaults-file when the URL has none', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'salvage-cnf-'));
    try {
      const cnf = join(dir, 'my.cnf');
      await writeFile(cnf, '[client]\nuser=dba\npassword=pw\n');
      expect(targetFrom('mysql://127.0.0.1:3399', undefined, cnf, {}, undefined)).toMatchObject({ user: 'dba', password: 'pw', redacted: 'mysql://dba:***@127.0.0.1:3399' });
      expect(() => targetFrom('mysql://127.0.0.1:3399', undefined, join(dir, 'missing.cnf'), {}, undefined)).toThrow(/--defaults-file: cannot read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('usage', () => {
  it('--help teaches with an example, and bad usage is a UsageError (exit 2)', async () => {
    expect(PLAN_HELP).toContain('Example:');
    expect(APPLY_HELP).toContain('--target-password-env');
    await expect(runSalvageCommand('plan', [], new Capture(), new Capture(), ENV)).rejects.toThrow(/name the failed primary's binlogs with --binlog/);
    await expect(runSalvageCommand('plan', ['--binlog', 'x'], new Capture(), new Capture(), ENV)).rejects.toThrow(/--target mysql:\/\/user@host:port \(the DR\) is required/);
    await expect(runSalvageCommand('apply', ['--binlog', 'x', '--target', 'mysql://h', '--sql', 'f'], new Capture(), new Capture(), ENV)).rejects.toThrow(/--sql is a plan option/);
    await expect(runSalvageCommand('apply', ['--binlog', 'x', '--target', 'mysql://h', '--from', 'nope'], new Capture(), new Capture(), ENV)).rejects.toThrow(/--from takes FILE:POS/);
    await expect(runSalvageCommand('apply', ['--binlog', 'x', '--target', 'mysql://h', '--window', '0'], new Capture(), new Capture(), ENV)).rejects.toBeInstanceOf(UsageError);
  });

  it('refuses, before reading anything, a JSON configuration naming a custom strategy (its function needs a .mjs/.ts file)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'salvage-cfg-'));
    try {
      const cfg = join(dir, 'c.json');
      await writeFile(cfg, JSON.stringify({ cascadeGuard: 'report', tables: { 'shop.customers': { onConflict: { 'insert-unique-taken': 'delete-blocking', 'update-diverged': { strategy: 'custom', name: 'vip' } } } } }));
      await expect(runSalvageCommand('plan', ['--binlog', 'x', '--target', 'mysql://h', '--config', cfg], new Capture(), new Capture(), ENV)).rejects.toThrow(
        `--config: ${cfg} has problems:\n✖ no function for custom strategy "vip": custom strategies are functions: give them in a .mjs or .ts configuration ("strategies": { … }) or to the library call → at tables."shop.customers".onConflict.update-diverged.name`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('plan and apply against throwaway servers', () => {
  let primary: MariadbServer;
  let dr: MariadbServer;
  let dir: string;
  let files: string[];
  let start: string;

  beforeAll(async () => {
    [primary, dr] = await Promise.all([startMariadb({ name: 'cli-primary' }), startMariadb({ name: 'cli-dr', serverId: 2 })]);
    dir = await mkdtemp(join(tmpdir(), 'salvage-cli-'));
    for (const s of [primary, dr]) {
      await s.query('CREATE DATABASE t');
      await s.query('CREATE TABLE t.kv (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, k VARCHAR(20) NOT NULL, UNIQUE KEY uk_k (k)) ENGINE=InnoDB');
      await s.query("INSERT INTO t.kv (k) VALUES ('a')");
    }
    start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
    await primary.query("INSERT INTO t.kv (k) VALUES ('b')");
    await primary.query("INSERT INTO t.kv (k) VALUES ('c')");
    await dr.query("INSERT INTO t.kv (k) VALUES ('c')");
    await primary.flushBinaryLogs();
    files = await primary.binlogFiles();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([primary?.stop(), dr?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('plan writes the SQL, the ledger and the report, exits 3 for quarantine, and touches nothing', async () => {
    const out = new Capture();
    const args = ['--binlog', ...files, '--target', dr.url, '--from-gtid', start, '--sql', join(dir, 'p.sql'), '--ledger', join(dir, 'p.jsonl'), '--report', join(dir, 'p.json'), '--quiet'];
    expect(await runSalvageCommand('plan', args, out, new Capture(), ENV)).toBe(3);
    const sql = await readFile(join(dir, 'p.sql'), 'utf8');
    const statements = sql.split('\n').filter((l) => !l.startsWith('--') && l !== '');
    // The session apply's writes run in, and each window as one transaction: run by hand, the file
    // writes what apply writes (a review found it half-applied: a child before its parent failed its
    // foreign key check after the statements before it had committed).
    expect(statements).toEqual([
      "SET SESSION time_zone = '+00:00';",
      "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO';",
      'SET SESSION foreign_key_checks = 0;',
      'START TRANSACTION;',
      "INSERT INTO `t`.`kv` (`id`, `k`) VALUES (4, 'b');",
      'COMMIT;',
    ]);
    const ledger = (await readFile(join(dir, 'p.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ledger.map((l) => [l['key'], l['class'], l['outcome'], l['newKey'] ?? null])).toEqual([
      // Above the DR's ids and above every id the lost range inserts (3): 4.
      [[2], 'insert-pk-taken', 'remapped', [4]],
      [[3], 'insert-unique-taken', 'quarantined', null],
    ]);
    const report = JSON.parse(await readFile(join(dir, 'p.json'), 'utf8')) as Record<string, unknown>;
    expect(report['outcomes']).toEqual({ applied: 0, merged: 0, remapped: 1, skipped: 0, quarantined: 1 });
    expect(out.text).toContain('outcomes: 0 applied, 0 merged, 1 remapped, 0 skipped, 1 quarantined\n');
    expect(await dr.query('SELECT id, k FROM t.kv ORDER BY id')).toEqual([{ id: 1, k: 'a' }, { id: 2, k: 'c' }]);
  });

  it('--since takes a UTC time: a time after the lost range finds nothing lost, one before it finds every transaction after it', async () => {
    const plan = async (since: string): Promise<number> => {
      const out = new Capture();
      await runSalvageCommand('plan', ['--binlog', ...files, '--target', dr.url, '--since', since, '--ddl', 'skip', '--json'], out, new Capture(), ENV);
      return (JSON.parse(out.text) as { lost: { transactions: number } }).lost.transactions;
    };
    expect(await plan('2999-01-01 00:00:00')).toBe(0);
    // Every transaction of the binlog is at or after 2000: the two DDL statements, the base row, and the two lost inserts.
    expect(await plan('2000-01-01 00:00:00')).toBe(5);
  });

  it('warns of a configuration table rule that matches no table the lost range writes (a typo applied to nothing, silently)', async () => {
    const cfg = join(dir, 'typo.json');
    const rule = { onConflict: { 'insert-pk-taken': 'remap' } };
    await writeFile(cfg, JSON.stringify({ tables: { 't.kvx': rule, 'T.KV': rule, 't.kv': rule } }));
    const out = new Capture();
    await runSalvageCommand('plan', ['--binlog', ...files, '--target', dr.url, '--from-gtid', start, '--config', cfg, '--quiet'], out, new Capture(), ENV);
    expect(out.text.split('\n').filter((l) => l.startsWith('warning:'))).toEqual([
      'warning: configuration: the table rule "t.kvx" matches no table the lost range writes; it applies to nothing (a typo? names are case-sensitive)',
      'warning: configuration: the table rule "T.KV" matches no table the lost range writes; it applies to nothing (a typo? names are case-sensitive)',
    ]);
  });

  it('names the table rules for DR tables the lost range leaves alone in one line, and none when nothing is lost (a config init file warned once per table)', async () => {
    await dr.query('CREATE DATABASE idle');
    try {
      for (const t of ['a', 'b', 'c', 'd', 'e']) await dr.query(`CREATE TABLE idle.${t} (id INT PRIMARY KEY)`);
      const cfg = join(dir, 'per-table.json');
      const rule = { onConflict: { 'insert-pk-taken': 'remap' } };
      // As `config init` writes it: a rule per DR table; and one typo among them.
      await writeFile(cfg, JSON.stringify({ tables: { 't.kv': rule, 'idle.a': rule, 'idle.b': rule, 'idle.c': rule, 'idle.kvx': rule, 'idle.d': rule, 'idle.*': rule } }));
      const warnings = async (...args: string[]): Promise<string[]> => {
        const out = new Capture();
        await runSalvageCommand('plan', ['--binlog', ...files, '--target', dr.url, '--config', cfg, '--quiet', ...args], out, new Capture(), ENV);
        return out.text.split('\n').filter((l) => l.startsWith('warning:'));
      };
      expect(await warnings('--from-gtid', start)).toEqual([
        'warning: configuration: the table rule "idle.kvx" matches no table the lost range writes; it applies to nothing (a typo? names are case-sensitive)',
        'warning: configuration: 5 table rules "idle.a", "idle.b", "idle.c" and 2 more match only DR tables the lost range does not write; they apply to nothing in this run',
      ]);
      // Nothing lost: no rule applies to anything, and saying so of each is noise on every re-run.
      expect(await warnings('--since', '2999-01-01 00:00:00')).toEqual([]);
      // The report's warnings are the same lines.
      const out = new Capture();
      await runSalvageCommand('plan', ['--binlog', ...files, '--target', dr.url, '--config', cfg, '--quiet', '--since', '2999-01-01 00:00:00', '--json'], out, new Capture(), ENV);
      expect(JSON.parse(out.text) as unknown).toMatchObject({ lost: { transactions: 0 }, warnings: [] });
    } finally {
      await dr.query('DROP DATABASE idle');
    }
  });

  it('refuses --from naming a file after the input (a typo read nothing and reported nothing lost)', async () => {
    const last = files[files.length - 1]!.replace(/^.*\//, '');
    const typo = last.replace(/\d+$/, (d) => String(Number(d) + 8).padStart(d.length, '0'));
    await expect(runSalvageCommand('plan', ['--binlog', ...files, '--target', dr.url, '--from', `${typo}:4`, '--quiet'], new Capture(), new Capture(), ENV)).rejects.toMatchObject({
      code: 'INPUT_FROM_OUTSIDE',
      message: `--from ${typo}:4 is after the last file given, ${last}: nothing of the input would be read. Check the file name`,
    });
  });

  it('refuses --from past the end of the file it names, and a --from-gtid beyond 64 bits (typos that read nothing and said nothing was lost)', async () => {
    const last = files[files.length - 1]!;
    const name = last.replace(/^.*\//, '');
    const size = (await stat(last)).size;
    await expect(runSalvageCommand('plan', ['--binlog', ...files, '--target', dr.url, '--from', `${name}:${size}0`, '--quiet'], new Capture(), new Capture(), ENV)).rejects.toMatchObject({
      code: 'INPUT_FROM_OUTSIDE',
      message: `--from ${name}:${size}0 is past the end of ${name}, which is ${size} bytes long: nothing of it would be read. Check the position (mysqlbinlog and salvage inspect print each transaction's)`,
    });
    await expect(runSalvageCommand('plan', ['--binlog', ...files, '--target', dr.url, '--from-gtid', '0-1-99999999999999999999999', '--quiet'], new Capture(), new Capture(), ENV)).rejects.toMatchObject({
      code: 'GTID_SET_SYNTAX',
      message: 'sequence number 99999999999999999999999 in GTID set "0-1-99999999999999999999999" is larger than any server writes (at most 18446744073709551615)',
    });
  });

  it('refuses a --report path it cannot write before anything is written (exit 2, not a crash after the commit)', async () => {
    const args = ['--binlog', ...files, '--target', dr.url, '--from-gtid', start, '--quiet', '--report', join(dir, 'no-such-dir', 'r.json')];
    await expect(runSalvageCommand('apply', args, new Capture(), new Capture(), ENV)).rejects.toThrow(UsageError);
    expect(await dr.query("SELECT COUNT(*) AS n FROM information_schema.schemata WHERE schema_name = 'salvage'")).toEqual([{ n: '0' }]);
    expect(await dr.query('SELECT id, k FROM t.kv ORDER BY id')).toEqual([{ id: 1, k: 'a' }, { id: 2, k: 'c' }]);
  });

  it('apply merges and exits 3; a second apply, with nothing left to do, still exits 3 while the quarantine awaits review', async () => {
    const args = ['--binlog', ...files, '--target', dr.url, '--from-gtid', start, '--quiet'];
    const out = new Capture();
    expect(await runSalvageCommand('apply', args, out, new Capture(), ENV)).toBe(3);
    expect(out.text).toContain("quarantined: 1 change(s) were held back for review — review them: salvage quarantine list --target mysql://root@127.0.0.1:");
    expect(await dr.query('SELECT id, k FROM t.kv ORDER BY id')).toEqual([{ id: 1, k: 'a' }, { id: 2, k: 'c' }, { id: 4, k: 'b' }]);
    // Found by a review: a resumed or repeated apply exited 0 while an earlier attempt's quarantine was pending.
    const again = new Capture();
    expect(await runSalvageCommand('apply', [...args, '--json'], again, new Capture(), ENV)).toBe(3);
    expect(JSON.parse(again.text) as unknown).toMatchObject({ lost: { transactions: 0 }, quarantined: 0, pendingQuarantine: 1 });
    const human = new Capture();
    expect(await runSalvageCommand('apply', args, human, new Capture(), ENV)).toBe(3);
    expect(human.text).toContain('pending review on the DR: 1 change(s) in all, 1 held back by earlier runs — salvage quarantine list --target mysql://root@127.0.0.1:');
    // Reviewed (skipped), nothing awaits: 0.
    await dr.query("UPDATE salvage.quarantine SET status = 'resolved'");
    expect(await runSalvageCommand('apply', args, new Capture(), new Capture(), ENV)).toBe(0);
  });

  it('warns when it resumes, under another configuration, a run over the same source that stopped before its end', async () => {
    // Found by a review: a run killed under the default rules and resumed with another --config mixed two policies without a word.
    const args = ['--binlog', ...files, '--target', dr.url, '--from-gtid', start, '--quiet'];
    const runs = (await dr.query("SELECT id FROM salvage.runs WHERE status = 'completed' ORDER BY id DESC")) as { id: string | number }[];
    const lastId = Number(runs[0]!.id);
    await dr.query(`UPDATE salvage.runs SET status = 'interrupted' WHERE id = ${lastId}`);
    const cfg = join(dir, 'other.json');
    await writeFile(cfg, JSON.stringify({ keepTransactionsWhole: false }));
    const out = new Capture();
    await runSalvageCommand('apply', [...args, '--config', cfg], out, new Capture(), ENV);
    expect(out.text).toContain(`warning: run ${lastId} over this source stopped before its end (interrupted) under another configuration: the changes it decided followed those rules, the rest now follow these; run with the same --config to decide them all alike\n`);
    const again = new Capture();
    await dr.query(`UPDATE salvage.runs SET status = 'interrupted' WHERE id = ${lastId + 1}`);
    await runSalvageCommand('apply', [...args, '--config', cfg], again, new Capture(), ENV);
    expect(again.text).not.toContain('warning:');
  });

  it('the "review them" command the apply summary prints runs as printed: the password option and the state schema of the run, no "***" for a password', async () => {
    // Found walking the runbook: the hint read `--target mysql://rev:***@…`, so pasted it logged in
    // with the password "***", and it looked in the default state schema, not the run's.
    await dr.query("CREATE USER 'rev'@'%' IDENTIFIED BY 'rev-pw'");
    await dr.query("GRANT ALL PRIVILEGES ON *.* TO 'rev'@'%'");
    const env: SalvageCommandEnvironment = { env: { REV_PW: 'rev-pw' }, home: undefined, isTty: false };
    const target = `mysql://rev@127.0.0.1:${dr.port}`;
    const args = ['--binlog', ...files, '--target', target, '--target-password-env', 'REV_PW', '--state-schema', 'review_hint', '--from-gtid', start, '--quiet'];
    const out = new Capture();
    expect(await runSalvageCommand('apply', args, out, new Capture(), env)).toBe(3);
    const hint = `salvage quarantine list --target ${target} --target-password-env REV_PW --state-schema review_hint`;
    expect(out.text).toContain(` change(s) were held back for review — review them: ${hint}\n`);
    const again = new Capture();
    expect(await runSalvageCommand('apply', args, again, new Capture(), env)).toBe(3);
    expect(again.text).toContain(` held back by earlier runs — ${hint}\n`);
    const listed = new Capture();
    expect(await runQuarantine(hint.split(' ').slice(2), listed, new Capture(), env)).toBe(0);
    expect(listed.text).toContain('insert-unique-taken');
  });
});
