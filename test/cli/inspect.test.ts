/**
 * `salvage inspect` end to end through the built command (`npm test` builds first): exit codes,
 * the exact JSONL of a known transaction, stats, filters, and the messages people read.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');
const FIXTURES = resolve(import.meta.dirname, '../../../shared/fixtures/real-binlogs');
const PRIMARY = `${FIXTURES}/local-mariadb-10.11/failover/primary`;

async function salvage(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('salvage inspect', () => {
  it('prints a transaction as one canonical JSON line', async () => {
    const r = await salvage('inspect', '--json', '--include-gtids', '0-1-8', `${PRIMARY}/primary-bin.000001`);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const tx = JSON.parse(lines[0]!);
    expect(tx).toMatchObject({ gtid: '0-1-8', pos: 3568, end: 4366, serverId: 1 });
    expect(tx.changes).toHaveLength(2);
    expect(tx.changes[1]).toEqual({
      op: 'insert',
      schema: 'shop',
      table: 'customers',
      after: expect.objectContaining({ id: 3, email: 'carol@example.com', name: 'Carol 😀', balance: '-5.250000', created_at: '2024-01-04 12:00:00.000000', tier: 'enterprise', credit_limit: null }),
    });
  });

  describe('the statement that made the rows (ANNOTATE_ROWS)', () => {
    const INSERT_8 = "INSERT INTO shop.customers (email,name,balance,created_at,tier) VALUES ('bob@example.com','Bob',0,'2024-01-03 00:00:00.000001','free'),('carol@example.com','Carol 😀',-5.25,'2024-01-04 12:00:00','enterprise')";
    const INSERT_15 = "INSERT INTO shop.orders (customer_id,order_no,amount,status) VALUES (1,'ORD-0003',250.00,'new')";
    const UPDATE_15 = "UPDATE shop.customers SET balance=balance-250, updated_at='2024-02-01 10:05:00.000007' WHERE id=1";

    it('prints it once, as #Q> lines, before the first row change it made', async () => {
      const r = await salvage('inspect', '--include-gtids', '0-1-8,0-1-15', `${PRIMARY}/primary-bin.index`);
      expect(r.code).toBe(0);
      const marked = r.stdout.split('\n').filter((l) => l.startsWith('#Q> ') || l.startsWith('### INSERT') || l.startsWith('### UPDATE'));
      expect(marked).toEqual([`#Q> ${INSERT_8}`, '### INSERT INTO `shop`.`customers`', '### INSERT INTO `shop`.`customers`', `#Q> ${INSERT_15}`, '### INSERT INTO `shop`.`orders`', `#Q> ${UPDATE_15}`, '### UPDATE `shop`.`customers`']);
    });

    it('--json --statements gives each row change its statement; --json alone gives none', async () => {
      const r = await salvage('inspect', '--json', '--statements', '--include-gtids', '0-1-8,0-1-15', `${PRIMARY}/primary-bin.index`);
      expect(r.code).toBe(0);
      const txs = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { gtid: string; changes: Array<{ table: string; statement?: string }> });
      expect(txs.map((t) => [t.gtid, t.changes.map((c) => [c.table, c.statement])])).toEqual([
        ['0-1-8', [['customers', INSERT_8], ['customers', INSERT_8]]],
        ['0-1-15', [['orders', INSERT_15], ['customers', UPDATE_15]]],
      ]);
      const plain = await salvage('inspect', '--json', '--include-gtids', '0-1-15', `${PRIMARY}/primary-bin.index`);
      expect(plain.stdout).not.toContain('"statement"');
    });

    it('--tables keeps each kept change with its own statement (it took the first statement of the transaction)', async () => {
      const r = await salvage('inspect', '--json', '--statements', '--include-gtids', '0-1-15', '--tables', 'shop.customers', `${PRIMARY}/primary-bin.index`);
      expect(r.code).toBe(0);
      const tx = JSON.parse(r.stdout.trim()) as { changes: Array<{ op: string; table: string; statement?: string }> };
      expect(tx.changes.map((c) => [c.op, c.table, c.statement])).toEqual([['update', 'customers', UPDATE_15]]);
      const human = await salvage('inspect', '--include-gtids', '0-1-15', '--tables', 'shop.customers', `${PRIMARY}/primary-bin.index`);
      expect(human.stdout.split('\n').filter((l) => l.startsWith('#Q> '))).toEqual([`#Q> ${UPDATE_15}`]);
    });

    it('refuses --statements with --stats (exit 2, naming the option)', async () => {
      const r = await salvage('inspect', '--stats', '--statements', `${PRIMARY}/primary-bin.000001`);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--statements goes with --json or the human output/);
    });
  });

  it('prints an account statement with its password or hash redacted, as the real binlogs logged them', async () => {
    // MariaDB 10.11 logs CREATE USER … IDENTIFIED BY as typed; MySQL 8 logs the caching_sha2 hash, binary salt and all.
    const mysql = `${FIXTURES}/rust_mysql_common/json.binlog.000001`;
    for (const args of [[], ['--json'], ['--json', '--statements']]) {
      const mariadb = await salvage('inspect', ...args, `${PRIMARY}/primary-bin.000001`);
      expect(mariadb.code).toBe(0);
      expect(mariadb.stdout).toContain("CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY '<redacted>'");
      expect(mariadb.stdout).not.toMatch(/IDENTIFIED BY 'repl'/);
      const r = await salvage('inspect', ...args, mysql);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain("ALTER USER 'root'@'localhost' IDENTIFIED WITH 'caching_sha2_password' AS '<redacted>'");
      expect(r.stdout).not.toContain('$A$005$');
    }
  });

  it('refuses --threads without --stats (exit 2, naming the option), where it would change nothing', async () => {
    for (const output of [[], ['--json']]) {
      const r = await salvage('inspect', ...output, '--threads', '2', `${PRIMARY}/primary-bin.000001`);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe('salvage: inspect: --threads goes with --stats; the other outputs are decoded on one thread [USAGE]\n');
    }
  });

  it('reads an .index file, follows both files, and reports the crashed tail as data, not an error', async () => {
    const r = await salvage('inspect', '--stats', `${PRIMARY}/primary-bin.index`);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^shop\.customers\s+\d+\s+\d+\s+\d+\s+\d+$/m);
    expect(r.stdout).toMatch(/^transactions: \d+ {2}row changes: \d+ {2}incomplete: 0 {2}bytes: \d+$/m);
  });

  it('says a file the server closed but the copy cut short is cut short, not a crash (its cut transaction committed)', async () => {
    // The cut transaction of a middle file was reported "never committed … a crash": the next file
    // follows it, and its format description says the server closed it whole.
    const dir = await mkdtemp(join(tmpdir(), 'inspect-cut-'));
    try {
      const whole = await readFile(`${PRIMARY}/primary-bin.000001`);
      await writeFile(join(dir, 'primary-bin.000001'), whole.subarray(0, whole.length - 120));
      await copyFile(`${PRIMARY}/primary-bin.000002`, join(dir, 'primary-bin.000002'));
      const r = await salvage('inspect', '--json', join(dir, 'primary-bin.000001'), join(dir, 'primary-bin.000002'));
      expect(r.stderr).not.toMatch(/never committed|\(a crash/);
      expect(r.stderr).toMatch(/^# INCOMPLETE transaction at .*primary-bin\.000001:\d+ \(GTID 0-1-\d+, \d+ row changes read up to \d+\): the copy of the file ends here, but the server closed the file whole: the file was cut short \(not a crash\), and this transaction may have committed; copy the file again$/m);
      expect(r.stderr).toMatch(/primary-bin\.000001 ends inside an event at offset \d+ \(\d+ bytes(?: of \d+)?\): the server closed this file whole, so the copy was cut short \(not a crash\): copy it again; everything before it was read/);
      // --stats (one thread and two) says the same of the tail (it kept the crash wording).
      for (const threads of ['1', '2']) {
        const s = await salvage('inspect', '--stats', '--threads', threads, join(dir, 'primary-bin.000001'), join(dir, 'primary-bin.000002'));
        expect(s.stderr).not.toMatch(/\(a crash/);
        expect(s.stderr).toMatch(/primary-bin\.000001 ends inside an event at offset \d+ \(\d+ bytes(?: of \d+)?\): the server closed this file whole, so the copy was cut short \(not a crash\)/);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('a checksum-damaged transaction in the middle of a file (found by a review: every filter failed, nothing printed)', () => {
    // primary-bin.000002 holds 0-1-18 (344) … 0-1-22 and 7-1-1; one byte of 0-1-20 (1204–1405) flipped.
    // At 1230 instead: the body of the GTID event of 0-1-20 itself (1204–1246), so its GTID is unknown.
    async function damaged(at = 1300): Promise<{ dir: string; file: string }> {
      const dir = await mkdtemp(join(tmpdir(), 'inspect-damaged-'));
      const bytes = Buffer.from(await readFile(`${PRIMARY}/primary-bin.000002`));
      bytes[at] = bytes[at]! ^ 0x04;
      const file = join(dir, 'primary-bin.000002');
      await writeFile(file, bytes);
      return { dir, file };
    }
    const gtids = (stdout: string): string[] => stdout.trim().split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { gtid: string }).gtid);

    it('prints the transactions before the damage, then fails with exit 2', async () => {
      const { dir, file } = await damaged();
      try {
        const r = await salvage('inspect', '--json', file);
        expect(r.code).toBe(2);
        expect(gtids(r.stdout)).toEqual(['0-1-18', '0-1-19']);
        expect(r.stderr).toContain('[BINLOG_CHECKSUM_MISMATCH]');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('--stop-position before the damage reads fine', async () => {
      const { dir, file } = await damaged();
      try {
        const r = await salvage('inspect', '--json', '--stop-position', '1204', file);
        expect([r.code, gtids(r.stdout)]).toEqual([0, ['0-1-18', '0-1-19']]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('--start-position after the damage reads from there (the format description is read, what lies between is not)', async () => {
      const { dir, file } = await damaged();
      try {
        const r = await salvage('inspect', '--json', '--start-position', '1405', file);
        expect([r.code, gtids(r.stdout)]).toEqual([0, ['0-1-21', '0-1-22', '7-1-1']]);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    // RELIABILITY 7.21: a GTID filter stopped at damage in a transaction it did not want.
    it('--include-gtids reads past damage in a transaction it does not select, and says it passed over it', async () => {
      const { dir, file } = await damaged();
      try {
        const r = await salvage('inspect', '--json', '--include-gtids', '0-1-21,7-1-1', file);
        expect([r.code, gtids(r.stdout)]).toEqual([0, ['0-1-21', '7-1-1']]);
        expect(r.stderr).toBe(
          `salvage: warning: damaged event at ${file}:1246 (BINLOG_CHECKSUM_MISMATCH) in transaction 0-1-20 (at 1204), which --include-gtids does not select: passed over (it ends at 1405)\n`,
        );
        const q = await salvage('inspect', '--json', '--quiet', '--include-gtids', '0-1-22', file);
        expect([q.code, gtids(q.stdout), q.stderr]).toEqual([0, ['0-1-22'], '']);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('a GTID filter reads past damage between transactions (the binlog checkpoint event at 821–866)', async () => {
      const { dir, file } = await damaged(845);
      try {
        const r = await salvage('inspect', '--json', '--include-gtids', '0-1-19', file);
        expect([r.code, gtids(r.stdout)]).toEqual([0, ['0-1-19']]);
        expect(r.stderr).toBe(`salvage: warning: damaged event at ${file}:821 (BINLOG_CHECKSUM_MISMATCH) between transactions: passed over (it ends at 866)\n`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('--exclude-gtids reads past damage in a transaction it leaves out', async () => {
      const { dir, file } = await damaged();
      try {
        const r = await salvage('inspect', '--json', '--exclude-gtids', '0-1-20', file);
        expect([r.code, gtids(r.stdout)]).toEqual([0, ['0-1-18', '0-1-19', '0-1-21', '0-1-22', '7-1-1']]);
        expect(r.stderr).toContain('in transaction 0-1-20 (at 1204), which --exclude-gtids leaves out: passed over');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('damage inside a transaction a GTID filter selects still stops the read there (exit 2)', async () => {
      const { dir, file } = await damaged();
      try {
        const inc = await salvage('inspect', '--json', '--include-gtids', '0-1-19,0-1-20,0-1-21', file);
        expect([inc.code, gtids(inc.stdout)]).toEqual([2, ['0-1-19']]);
        expect(inc.stderr).toMatch(new RegExp(`^salvage: checksum mismatch in QUERY event at ${file}:1246 \\(128 bytes\\): .* \\[BINLOG_CHECKSUM_MISMATCH\\]$`, 'm'));
        const exc = await salvage('inspect', '--json', '--exclude-gtids', '0-1-19', file);
        expect([exc.code, gtids(exc.stdout)]).toEqual([2, ['0-1-18']]);
        expect(exc.stderr).toContain('[BINLOG_CHECKSUM_MISMATCH]');
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('a damaged GTID event leaves its transaction unknown: reported as damage, not guessed past', async () => {
      const { dir, file } = await damaged(1230);
      try {
        const r = await salvage('inspect', '--json', '--include-gtids', '0-1-21', file);
        expect([r.code, r.stdout]).toEqual([2, '']);
        expect(r.stderr).toMatch(
          new RegExp(`^salvage: checksum mismatch in MARIADB_GTID event at ${file}:1204 \\(42 bytes\\): .*; the transaction it cuts \\(at 1204\\) has no GTID read before the damage, so --include-gtids cannot tell whether it is selected \\[BINLOG_CHECKSUM_MISMATCH\\]$`, 'm'),
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('--stats reads past damage as the one-pass read does, on one thread and several (cut at 866 and 1588)', async () => {
      const { dir, file } = await damaged();
      try {
        const cases: [string[], number, string, string][] = [
          [['--include-gtids', '0-1-21,7-1-1'], 0, 'transactions: 2  row changes: 1', 'passed over (it ends at 1405)'],
          [['--exclude-gtids', '0-1-20'], 0, 'transactions: 5  row changes: 7', 'which --exclude-gtids leaves out: passed over'],
          [['--start-position', '1405'], 0, 'transactions: 3  row changes: 2', ''],
          [['--start-position', '1300'], 0, 'transactions: 3  row changes: 2', 'reading from the next one, at 1405'],
          [['--include-gtids', '0-1-20'], 2, '', '[BINLOG_CHECKSUM_MISMATCH]'],
        ];
        for (const [filter, code, counts, message] of cases) {
          for (const threads of ['1', '3']) {
            const r = await salvage('inspect', '--stats', '--threads', threads, ...filter, file);
            expect([filter, threads, r.code]).toEqual([filter, threads, code]);
            if (counts !== '') expect(r.stdout).toContain(`${counts}  incomplete: 0  bytes: 2309`);
            expect(r.stderr).toContain(message);
          }
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    // RELIABILITY 7.21: a start position inside a transaction read the file from its start.
    it('--start-position inside a transaction reads from the next transaction start, without reading the damage before it', async () => {
      const { dir, file } = await damaged();
      try {
        const r = await salvage('inspect', '--json', '--start-position', '1300', file);
        expect([r.code, gtids(r.stdout)]).toEqual([0, ['0-1-21', '0-1-22', '7-1-1']]);
        expect(r.stderr).toBe(`salvage: warning: --start-position 1300 is not at a transaction start in ${file}: reading from the next one, at 1405 (transactions that start before 1300 are not read)\n`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  it('exits 2 with the file and offset on a checksum mismatch', async () => {
    const file = `${FIXTURES}/local-mariadb-10.11/failover/derived/primary-bin.000002.bitflip-at-700`;
    const r = await salvage('inspect', file);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('checksum mismatch');
    expect(r.stderr).toContain(`${file}:`);
    expect(r.stderr).toContain('[BINLOG_CHECKSUM_MISMATCH]');
  });

  it('exits 2 on a file that is not a binlog', async () => {
    const r = await salvage('inspect', `${FIXTURES}/MANIFEST.md`);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not a binlog: .*MANIFEST\.md starts with 23205265, expected fe62696e \[BINLOG_BAD_MAGIC\]/);
  });

  it('exits 2 on usage errors and names the option', async () => {
    expect((await salvage('inspect')).code).toBe(2);
    const r = await salvage('inspect', '--start-position', 'abc', `${PRIMARY}/primary-bin.000001`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--start-position takes a byte offset, got "abc"');
    const g = await salvage('inspect', '--include-gtids', 'nonsense', `${PRIMARY}/primary-bin.000001`);
    expect(g.code).toBe(2);
    expect(g.stderr).toContain('[GTID_SET_SYNTAX]');
  });

  it('exits 2 and names the path for a missing file', async () => {
    const r = await salvage('inspect', '/nonexistent/mysql-bin.000001');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('binlog file not found: /nonexistent/mysql-bin.000001 [SOURCE_FILE_NOT_FOUND]');
  });

  it('teaches with --help', async () => {
    const top = await salvage('--help');
    expect(top.code).toBe(0);
    expect(top.stdout).toContain('salvage inspect (FILE… | --source URL)');
    const sub = await salvage('inspect', '--help');
    expect(sub.stdout).toContain('Examples:');
  });

  it('filters by start position in the first file', async () => {
    const all = (await salvage('inspect', '--json', `${PRIMARY}/primary-bin.000001`)).stdout.trim().split('\n').map((l) => JSON.parse(l));
    const cut = all[3].pos;
    const some = (await salvage('inspect', '--json', '--start-position', String(cut), `${PRIMARY}/primary-bin.000001`)).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(some.map((t) => t.gtid)).toEqual(all.slice(3).map((t) => t.gtid));
  });

  it.each([
    `${PRIMARY}/primary-bin.index`,
    `${FIXTURES}/local-mariadb-10.11/failover/derived/primary-bin.000002.trunc-mid-event`,
    `${FIXTURES}/rust_mysql_common/transaction_compression.000001`,
    `${FIXTURES}/myflash/haha.000041`,
  ])('--stats on several threads equals one thread: %s', async (file) => {
    const one = await salvage('inspect', '--stats', '--threads', '1', file);
    const many = await salvage('inspect', '--stats', '--threads', '3', file);
    expect(one.code).toBe(0);
    expect(many.code).toBe(0);
    expect(many.stdout).toBe(one.stdout);
    expect(many.stderr).toBe(one.stderr);
    expect(one.stdout).toMatch(/^transactions: [1-9]\d*/m);
  });

  it('warns when the files given do not follow each other (a missing or repeated file)', async () => {
    const r = await salvage('inspect', '--stats', `${PRIMARY}/primary-bin.000001`, `${PRIMARY}/primary-bin.000001`);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`salvage: warning: ${PRIMARY}/primary-bin.000001 ends with a ROTATE to primary-bin.000002 (at 10593), but the next file given is ${PRIMARY}/primary-bin.000001: a file may be missing or out of order`);
    const ok = await salvage('inspect', '--stats', `${PRIMARY}/primary-bin.000001`, `${PRIMARY}/primary-bin.000002`);
    expect(ok.stderr).not.toContain('ROTATE');
  });
});
