/**
 * `salvage inspect`'s selection and printing on binlogs a throwaway MariaDB writes for each case:
 * table patterns (case, quoted names with dots), statement-based DML and DDL under --tables,
 * incomplete groups under the filters, repeated filter options, FLOAT in human text, and the
 * JSON shape README and --help document. Runs the command in process (runInspect).
 */
import { copyFile, mkdtemp, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSPECT_HELP, runInspect } from '../../src/cli/inspect-command.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { Capture } from '../harness/capture.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

let db: MariadbServer;
let dir: string;

beforeAll(async () => {
  db = await startMariadb({ name: 'inspect-filters' });
  dir = await mkdtemp(join(tmpdir(), 'salvage-inspect-filters-'));
});

afterAll(async () => {
  await db?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs `sql` (one session, in order) into a binlog file of its own and returns that file's path. */
async function logged(...sql: string[]): Promise<string> {
  await db.flushBinaryLogs();
  const conn = await db.connect();
  try {
    for (const s of sql) await conn.query(s);
  } finally {
    await conn.end();
  }
  await db.flushBinaryLogs();
  const files = await db.binlogFiles();
  return files[files.length - 2]!;
}

async function inspect(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new Capture();
  const err = new Capture();
  try {
    return { code: await runInspect(args, out, err, {}), stdout: out.text, stderr: err.text };
  } catch (e) {
    return { code: exitCodeFor(e), stdout: out.text, stderr: `${err.text}${(e as Error).message} [${(e as { code?: string }).code}]` };
  }
}

async function json(...args: string[]): Promise<Array<Record<string, unknown> & { changes: Array<{ schema: string; table: string }>; statements?: Array<{ schema: string; sql: string }> }>> {
  const r = await inspect('--json', '--quiet', ...args);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => JSON.parse(l));
}

const tablesOf = (txs: Awaited<ReturnType<typeof json>>): string[] => txs.flatMap((t) => t.changes.map((c) => `${c.schema}/${c.table}`));

describe('inspect --tables', () => {
  it('matches names case-sensitively, as the configuration does (shop.Tup and shop.tup are two tables on Linux)', async () => {
    const file = await logged('CREATE DATABASE cs', 'CREATE TABLE cs.Tup (id INT PRIMARY KEY)', 'CREATE TABLE cs.tup (id INT PRIMARY KEY)', 'INSERT INTO cs.Tup VALUES (1)', 'INSERT INTO cs.tup VALUES (2)');
    expect(tablesOf(await json(file, '--tables', 'cs.Tup'))).toEqual(['cs/Tup']);
    expect(tablesOf(await json(file, '--tables', 'cs.t*'))).toEqual(['cs/tup']);
    expect(tablesOf(await json(file, '--tables', 'CS.*'))).toEqual([]);
  });

  it('reads backtick-quoted names as the configuration does, and a glob stops at the parts', async () => {
    const file = await logged('CREATE DATABASE `a.b`', 'CREATE DATABASE a', 'CREATE TABLE `a.b`.c (id INT PRIMARY KEY)', 'CREATE TABLE a.`b.c` (id INT PRIMARY KEY)', 'INSERT INTO `a.b`.c VALUES (1)', 'INSERT INTO a.`b.c` VALUES (1), (2)');
    expect(tablesOf(await json(file, '--tables', '`a.b`.`c`'))).toEqual(['a.b/c']);
    expect(tablesOf(await json(file, '--tables', '`a.b`.c'))).toEqual(['a.b/c']);
    expect(tablesOf(await json(file, '--tables', 'a.`b.c`'))).toEqual(['a/b.c', 'a/b.c']);
    expect(tablesOf(await json(file, '--tables', 'a.*'))).toEqual(['a/b.c', 'a/b.c']);
    expect(tablesOf(await json(file, '--tables', '`a.b`.*,x.y'))).toEqual(['a.b/c']);
    const bad = await inspect(file, '--json', '--tables', 'a.b.c');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--tables: "a.b.c" is not "db.table"');
    expect(bad.stderr).toContain('[BAD_OPTION]');
  });

  it('keeps statement-based DML and DDL on the selected tables, and drops those on others', async () => {
    const file = await logged(
      'CREATE DATABASE st',
      'CREATE DATABASE other',
      'CREATE TABLE st.a (id INT PRIMARY KEY, v INT)',
      'CREATE TABLE other.z (id INT PRIMARY KEY, v INT)',
      'INSERT INTO st.a VALUES (1, 1)',
      'INSERT INTO other.z VALUES (1, 1)',
      'SET SESSION binlog_format = STATEMENT',
      'UPDATE st.a SET v = v + 1 WHERE id = 1',
      'UPDATE other.z SET v = v + 1 WHERE id = 1',
      'USE st',
      'UPDATE a SET v = v + 1 WHERE id = 1',
      'SET SESSION binlog_format = ROW',
      'ALTER TABLE st.a ADD COLUMN w INT',
      'ALTER TABLE other.z ADD COLUMN w INT',
      'USE other',
      'CREATE OR REPLACE VIEW st.va AS SELECT 1 AS one',
    );
    const sql = (await json(file, '--tables', 'st.*')).flatMap((t) => (t.statements ?? []).map((s) => s.sql));
    expect(sql.some((s) => s.startsWith('UPDATE st.a SET v = v + 1'))).toBe(true);
    expect(sql.some((s) => s.startsWith('UPDATE a SET v = v + 1'))).toBe(true);
    expect(sql.some((s) => s.startsWith('ALTER TABLE st.a'))).toBe(true);
    expect(sql.some((s) => s.startsWith('CREATE TABLE st.a'))).toBe(true);
    expect(sql.some((s) => s.includes('other.z'))).toBe(false);
    // A statement whose table the text does not name (CREATE VIEW here) goes by its default database.
    expect(sql.some((s) => s.includes('VIEW'))).toBe(false);
    const viaDefault = (await json(file, '--tables', 'other.*')).flatMap((t) => (t.statements ?? []).map((s) => s.sql));
    expect(viaDefault.some((s) => s.includes('VIEW'))).toBe(true);
  });
});

describe('inspect --stats', () => {
  it('counts `a.b`.`c` and `a`.`b.c` apart and names them quoted', async () => {
    const file = await logged('CREATE DATABASE `s.x`', 'CREATE DATABASE s', 'CREATE TABLE `s.x`.y (id INT PRIMARY KEY)', 'CREATE TABLE s.`x.y` (id INT PRIMARY KEY)', 'INSERT INTO `s.x`.y VALUES (1)', 'INSERT INTO s.`x.y` VALUES (1), (2)');
    const r = await inspect(file, '--stats', '--quiet');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^`s\.x`\.y\s+1\s+0\s+0\s+1$/m);
    expect(r.stdout).toMatch(/^s\.`x\.y`\s+2\s+0\s+0\s+1$/m);
  });
});

describe('inspect, incomplete groups', () => {
  it('reports an incomplete group only when the filters would select it', async () => {
    const file = await logged('CREATE DATABASE inc', 'CREATE TABLE inc.a (id INT PRIMARY KEY)', 'CREATE TABLE inc.b (id INT PRIMARY KEY)', 'INSERT INTO inc.a VALUES (1)', 'INSERT INTO inc.b VALUES (1)');
    const all = await json(file);
    const last = all[all.length - 1]!;
    const first = all.find((t) => t.changes.some((c) => c.table === 'a'))!;
    // Cut before the last transaction's XID event (31 bytes with its CRC32): inc.b's insert never commits.
    const cut = join(dir, 'cut-bin.000001');
    await copyFile(file, cut);
    await truncate(cut, (last['end'] as number) - 31);
    const stats = (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => inspect(cut, '--stats', ...args);
    expect((await stats()).stdout).toContain('incomplete: 1');
    expect((await stats('--tables', 'inc.b')).stdout).toContain('incomplete: 1');
    for (const args of [['--tables', 'inc.a'], ['--include-gtids', first['gtid'] as string], ['--exclude-gtids', last['gtid'] as string], ['--stop-position', String(last['pos'])], ['--start-datetime', '2999-01-01 00:00:00']]) {
      const r = await stats(...args);
      expect(r.stdout, args.join(' ')).toContain('incomplete: 0');
      expect(r.stderr, args.join(' ')).not.toContain('INCOMPLETE');
      const h = await inspect(cut, ...args);
      expect(h.stdout, args.join(' ')).not.toContain('INCOMPLETE');
      expect(h.stderr, args.join(' ')).not.toContain('INCOMPLETE');
    }
    expect((await inspect(cut, '--tables', 'inc.b')).stdout).toContain('INCOMPLETE');
  });
});

describe('inspect, repeated filter options', () => {
  it('takes the union of repeated --tables, --include-gtids and --exclude-gtids', async () => {
    const file = await logged('CREATE DATABASE rep', 'CREATE TABLE rep.a (id INT PRIMARY KEY)', 'CREATE TABLE rep.b (id INT PRIMARY KEY)', 'CREATE TABLE rep.c (id INT PRIMARY KEY)', 'INSERT INTO rep.a VALUES (1)', 'INSERT INTO rep.b VALUES (1)', 'INSERT INTO rep.c VALUES (1)');
    expect(tablesOf(await json(file, '--tables', 'rep.a', '--tables', 'rep.b'))).toEqual(['rep/a', 'rep/b']);
    const rows = (await json(file)).filter((t) => t.changes.length > 0);
    const [ga, gb, gc] = rows.map((t) => t['gtid'] as string);
    expect(tablesOf(await json(file, '--include-gtids', ga!, '--include-gtids', gc!))).toEqual(['rep/a', 'rep/c']);
    expect(tablesOf(await json(file, '--tables', 'rep.*', '--exclude-gtids', ga!, '--exclude-gtids', gb!))).toEqual(['rep/c']);
  });

  it('refuses a repeated option that takes one value, naming it (exit 2)', async () => {
    const file = await logged('DO 1');
    for (const option of ['--start-datetime', '--stop-datetime']) {
      const r = await inspect(file, option, '2026-01-01 00:00:00', option, '2026-01-02 00:00:00');
      expect(r.code, option).toBe(2);
      expect(r.stderr).toContain(`${option} was given twice`);
    }
    const p = await inspect(file, '--start-position', '4', '--start-position', '8');
    expect(p.code).toBe(2);
    expect(p.stderr).toContain('--start-position was given twice');
  });
});

describe('inspect, human text', () => {
  it('prints FLOAT as its shortest float32 decimal, as --json and mariadb-binlog do', async () => {
    const file = await logged('CREATE DATABASE fl', 'CREATE TABLE fl.t (id INT PRIMARY KEY, f FLOAT, d DOUBLE)', 'INSERT INTO fl.t VALUES (1, 1.1, 1.1), (2, -3.40282e38, 0.1)');
    const r = await inspect(file, '--tables', 'fl.t');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('###   f=1.1\n');
    expect(r.stdout).toContain('###   f=-3.40282e+38\n');
    expect(r.stdout).toContain('###   d=1.1\n');
    expect(r.stdout).toContain('###   d=0.1\n');
  });
});

describe('inspect --json, as README and --help describe it', () => {
  it('names every key a line holds, statements included', async () => {
    const file = await logged('CREATE DATABASE js', 'CREATE TABLE js.t (id INT PRIMARY KEY, v INT)', 'SET SESSION binlog_format = STATEMENT', 'INSERT INTO js.t VALUES (1, 1)');
    const keys = new Set((await json(file)).flatMap((t) => Object.keys(t)));
    expect(keys).toContain('statements');
    const readme = await readFile(resolve(import.meta.dirname, '../../README.md'), 'utf8');
    const row = readme.split('\n').find((l) => l.startsWith('| `--json` |'))!;
    for (const key of keys) {
      expect(row, `README --json row names "${key}"`).toContain(key);
      expect(INSPECT_HELP, `--help names "${key}"`).toContain(key);
    }
  });

  it('prints a MariaDB JSON column as its text unless --schema-from says it is JSON, as README says', async () => {
    const file = await logged('CREATE DATABASE jv', 'CREATE TABLE jv.t (id INT PRIMARY KEY, j JSON)', `INSERT INTO jv.t VALUES (1, '{"a": [1, 2]}')`);
    const rows = async (...args: string[]): Promise<unknown[]> => (await json(file, '--tables', 'jv.t', ...args)).flatMap((t) => t.changes);
    expect(await rows()).toMatchObject([{ after: { j: '{"a": [1, 2]}' } }]);
    expect(await rows('--schema-from', db.url)).toMatchObject([{ after: { j: { a: [1, 2] } } }]);
    const readme = await readFile(resolve(import.meta.dirname, '../../README.md'), 'utf8');
    expect(readme).toMatch(/\| JSON \|[^\n]*MariaDB[^\n]*--schema-from/);
  });
});
