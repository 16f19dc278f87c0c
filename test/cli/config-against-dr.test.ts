/**
 * plan with a configuration held to the DR's schema (SMALL_INCIDENT on two servers): the summary
 * tells linked keys from remapped ones, and rules naming columns the table lacks, or `delta` on a
 * column that is no number, are refused before any binlog is read, naming the configuration path.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { runSalvageCommand, type SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
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
let n = 0;

async function plan(config: unknown, extra: string[] = []): Promise<{ code: number; stdout: string; stderr: string; error: unknown }> {
  const file = join(dir, `c${n++}.json`);
  await writeFile(file, JSON.stringify(config));
  const stdout = new Capture();
  const stderr = new Capture();
  try {
    const code = await runSalvageCommand('plan', ['--binlog', ...files, '--target', dr.url, '--from-gtid', start, '--config', file, ...extra], stdout, stderr, ENV);
    return { code, stdout: stdout.text, stderr: stderr.text, error: undefined };
  } catch (e) {
    return { code: exitCodeFor(e), stdout: stdout.text, stderr: stderr.text, error: e };
  }
}

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'cfg-primary' }), startMariadb({ name: 'cfg-dr', serverId: 2 })]);
  dir = await mkdtemp(join(tmpdir(), 'salvage-cfg-dr-'));
  for (const sql of [...SCHEMA, ...BASE]) {
    await primary.query(sql);
    await dr.query(sql);
  }
  start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  for (const sql of LOST) await primary.query(sql);
  for (const sql of DR_OWN) await dr.query(sql);
  await primary.flushBinaryLogs();
  files = await primary.binlogFiles();
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const REFS = SMALL_INCIDENT.references;

describe('the summary', () => {
  it('lists linked keys apart from remapped ones: a link is the DR record itself, not a new id', async () => {
    const r = await plan({ tables: { ...REFS, 'shop.customers': { naturalKey: ['email'], onConflict: { 'insert-unique-taken': 'link' } } } });
    expect(r.error).toBeUndefined();
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('remapped keys'))).toMatch(/^remapped keys \(2; /);
    expect(lines.find((l) => l.startsWith('linked keys'))).toMatch(/^linked keys \(1; the lost row is the same record as the DR's row/);
  });
});

describe('rules held to the DR schema before anything is decided or written', () => {
  it('"delta" on a text column is bad input (exit 2) naming the configuration path and the column type', async () => {
    const r = await plan({ tables: { ...REFS, 'shop.customers': { columns: { name: 'delta' } } } });
    expect(r.code).toBe(2);
    expect((r.error as Error).message).toContain('"delta" adds numbers, and shop.customers.name is varchar(80) → at tables."shop.customers".columns.name');
  });

  it('a column an exact table rule names that the table lacks is bad input (exit 2) listing its columns', async () => {
    const r = await plan({ tables: { ...REFS, 'shop.customers': { columns: { nmae: 'source' } } } });
    expect(r.code).toBe(2);
    expect((r.error as Error).message).toContain('shop.customers has no column "nmae" (its columns: id, email, name) → at tables."shop.customers".columns.nmae');
  });

  it('a glob rule naming a column none of its tables has is warned about, and the run goes on', async () => {
    const r = await plan({ tables: { ...REFS, 'shop.*': { columns: { totl: 'delta' } } } });
    expect(r.error).toBeUndefined();
    expect(r.stdout).toContain('warning: configuration: tables."shop.*".columns.totl names column "totl", which fits none of the tables "shop.*" matches');
  });
});
