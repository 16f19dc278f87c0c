/**
 * Every command's first connection, tried again while its server does not answer, as plan's and
 * apply's DR connection is (test/reconcile/dr-startup-faults.test.ts): the server is SIGKILLed, the
 * command started in process, and the server started again on the same port once the command's
 * first warning line is out. The command then ends as it would have with the server up all along
 * (`resolve`: the DR's exact rows; `inspect --source`: the same transactions; `doctor`: its
 * connect check saying how many attempts it took). A refusal no retry cures (access denied) fails
 * at once with its code, no attempt told; a server that never answers ends with the last
 * DB_CONNECT saying how many connections were tried, for every command that connects.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDoctor } from '../../src/cli/doctor-command.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { runExplain } from '../../src/cli/explain-command.js';
import { runInspect } from '../../src/cli/inspect-command.js';
import { runQuarantine } from '../../src/cli/quarantine-command.js';
import { runReport } from '../../src/cli/report-command.js';
import { runResolve } from '../../src/cli/resolve-command.js';
import { runSalvageCommand, type SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { EngineError } from '../../src/errors.js';
import { salvage } from '../../src/pipeline/salvage.js';
import { Capture } from '../harness/capture.js';
import { freePort } from '../harness/free-port.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const ENV: SalvageCommandEnvironment = { env: {}, home: undefined, isTty: false };

const SCHEMA = [
  'CREATE DATABASE shop',
  `CREATE TABLE shop.customers (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, email VARCHAR(120) NOT NULL, name VARCHAR(80) NOT NULL,
     UNIQUE KEY uk_email (email)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci`,
];
const BASE = ["INSERT INTO shop.customers (id, email, name) VALUES (1, 'ann@x', 'Ann'), (2, 'ben@x', 'Ben')"];
// Lost: one clean insert, one that clashes with the DR's own zed@x under utf8mb4_general_ci (quarantined).
const LOST = ["INSERT INTO shop.customers (id, email, name) VALUES (10, 'cy@x', 'Cy P')", "INSERT INTO shop.customers (id, email, name) VALUES (11, 'Zed@X', 'Zed P')"];
const DR_OWN = ["INSERT INTO shop.customers (email, name) VALUES ('zed@x', 'Zed D')"];

let primary: MariadbServer;
let dr: MariadbServer;
let dir: string;
/** The primary's GTID position before the lost transactions. */
let start: string;

/** stderr that calls `onWarning` once, at the first line the command writes. */
class Watched extends Capture {
  readonly #onWarning: () => void;
  #told = false;
  constructor(onWarning: () => void) {
    super();
    this.#onWarning = onWarning;
  }
  override _write(chunk: Buffer | string, enc: BufferEncoding, done: (err?: Error | null) => void): void {
    super._write(chunk, enc, done);
    if (!this.#told) {
      this.#told = true;
      this.#onWarning();
    }
  }
}

/**
 * Runs `command` with `server` SIGKILLed first, and starts it again (same port, same data) when the
 * command writes its first line on stderr: the server listens only after the command started.
 */
async function withServerDown<T>(server: MariadbServer, command: (stderr: Writable) => Promise<T>): Promise<{ result: T; stderr: string }> {
  await server.kill();
  let restarting: Promise<void> | null = null;
  const stderr = new Watched(() => {
    restarting = server.restart();
  });
  try {
    const result = await command(stderr);
    return { result, stderr: stderr.text };
  } finally {
    // The server is up again for the next test whatever happened.
    if (restarting === null) await server.restart();
    else await restarting;
  }
}

/** The warning line of reconnect attempt `attempt` (of the default 10) while `url`'s port is closed. */
function refusedLine(who: string, url: string, attempt: number): string {
  const port = /:(\d+)$/.exec(url)![1]!;
  const delay = Math.min(10, 0.5 * 2 ** (attempt - 1));
  return `salvage: warning: ${who} ${url} failed (connect): cannot connect to ${url}: connect ECONNREFUSED 127.0.0.1:${port} [DB_CONNECT]; trying again in ${delay} s (reconnect attempt ${attempt} of 10)`;
}

/** The reconnect warning lines of `stderr`, checked to be attempts 1…n in order (the first exactly: the port was closed). */
function attemptLines(stderr: string, who: string, url: string): string[] {
  const lines = stderr.split('\n').filter((l) => l.includes('(reconnect attempt '));
  expect(lines.length).toBeGreaterThanOrEqual(1);
  expect(lines[0]).toBe(refusedLine(who, url, 1));
  lines.forEach((l, i) => expect(l).toMatch(new RegExp(`^salvage: warning: ${who} ${url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} failed \\(connect\\): .* \\[DB_CONNECT\\]; trying again in ${Math.min(10, 0.5 * 2 ** i)} s \\(reconnect attempt ${i + 1} of 10\\)$`)));
  return lines;
}

async function rejection(p: Promise<unknown>): Promise<EngineError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof EngineError) return e;
    throw e;
  }
  throw new Error('expected the command to fail');
}

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'first-conn-primary' }), startMariadb({ name: 'first-conn-dr', serverId: 2 })]);
  dir = await mkdtemp(join(tmpdir(), 'salvage-first-conn-'));
  for (const sql of [...SCHEMA, ...BASE]) {
    await primary.query(sql);
    await dr.query(sql);
  }
  start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  for (const sql of LOST) await primary.query(sql);
  for (const sql of DR_OWN) await dr.query(sql);
  await primary.flushBinaryLogs();
  const report = await salvage({ mode: 'apply', binlogs: await primary.binlogFiles(), target: dr.target, start: { kind: 'from-gtid', set: start } });
  expect([report.outcomes.applied, report.outcomes.quarantined]).toEqual([1, 1]);
}, 120_000);

afterAll(async () => {
  await Promise.all([primary?.stop(), dr?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('a server that listens only after the command started', () => {
  it('resolve: waits for the DR, each attempt a warning line, then carries the decision out exactly as with the DR up', async () => {
    const exported = new Capture();
    expect(await runQuarantine(['export', '--target', dr.url], exported, new Capture(), ENV)).toBe(0);
    const entry = JSON.parse(exported.text.trim()) as Record<string, unknown>;
    expect([entry['id'], entry['table'], entry['class']]).toEqual([1, 'shop.customers', 'insert-unique-taken']);
    const file = join(dir, 'decisions.jsonl');
    await writeFile(file, `${JSON.stringify({ ...entry, decision: { action: 'apply', row: { id: 11, email: 'zed2@x', name: 'Zed P' } } })}\n`);

    const out = new Capture();
    const { result: code, stderr } = await withServerDown(dr, (err) => runResolve([file, '--target', dr.url], out, err, ENV));
    expect(code).toBe(0);
    const lines = attemptLines(stderr, 'the DR', dr.url);
    expect(stderr).toBe(lines.map((l) => `${l}\n`).join(''));
    expect(out.text.split('\n').slice(1)).toEqual([
      '  entry  change   table           op      decision  result',
      '  1      0-1-5#0  shop.customers  insert  apply     done (applied)  applied the reviewed row',
      'done 1, refused 0, already resolved 0, undecided 0; 0 entries still pending on the DR',
      '',
    ]);
    expect(await dr.query('SELECT id, email, name FROM shop.customers ORDER BY id')).toEqual([
      { id: 1, email: 'ann@x', name: 'Ann' },
      { id: 2, email: 'ben@x', name: 'Ben' },
      { id: 3, email: 'zed@x', name: 'Zed D' },
      { id: 10, email: 'cy@x', name: 'Cy P' },
      { id: 11, email: 'zed2@x', name: 'Zed P' },
    ]);
    expect(await dr.query('SELECT id, status FROM salvage.quarantine ORDER BY id')).toEqual([{ id: '1', status: 'resolved' }]);
    expect(await dr.query("SELECT change_at, outcome, reason FROM salvage.ledger WHERE table_name = 'shop.customers' ORDER BY seq")).toEqual([
      { change_at: '0-1-4', outcome: 'applied', reason: null },
      { change_at: '0-1-5', outcome: 'applied', reason: 'resolved by review: applied the reviewed row' },
    ]);
  });

  it('inspect --source: waits for the source, each attempt a warning line, then prints the transactions it prints with the source up', async () => {
    const reference = new Capture();
    expect(await runInspect(['--source', primary.url, '--json', '--quiet'], reference, new Capture(), {})).toBe(0);
    const transactions = reference.text.trim().split('\n').map((l) => JSON.parse(l) as { gtid: string });
    expect(transactions.map((t) => t.gtid)).toEqual(['0-1-1', '0-1-2', '0-1-3', '0-1-4', '0-1-5']);

    const out = new Capture();
    const { result: code, stderr } = await withServerDown(primary, (err) => runInspect(['--source', primary.url, '--json'], out, err, {}));
    expect(code).toBe(0);
    const lines = attemptLines(stderr, 'the source', primary.url);
    expect(stderr.split('\n').filter((l) => l.startsWith('salvage: warning:'))).toEqual(lines);
    expect(out.text).toBe(reference.text);
  });

  it('doctor: waits as plan and apply would, and its connect check says how many attempts it took (!)', async () => {
    const out = new Capture();
    const { stderr } = await withServerDown(dr, (err) => runDoctor(['--target', dr.url], out, err, ENV));
    const lines = attemptLines(stderr, 'the DR', dr.url);
    expect(stderr).toBe(lines.map((l) => `${l}\n`).join(''));
    const connect = out.text.split('\n').find((l) => l.includes(' connect: '));
    expect(connect).toBe(
      `  ! connect: ${dr.url} as root@127.0.0.1, at connection attempt ${lines.length + 1}: the first failed (cannot connect to ${dr.url}: connect ECONNREFUSED 127.0.0.1:${dr.port} [DB_CONNECT]) → the server did not answer at first: if it was not restarting, find out why before plan or apply (they wait the same way, up to --reconnect-attempts)`,
    );
  });
});

describe('a refusal no retry cures fails at once, no attempt told', () => {
  it('access denied (1045): resolve and inspect --source throw DB_CONNECT, not retryable; doctor ✖ connect', async () => {
    const denied = (url: string): string => url.replace('mysql://root@', 'mysql://nobody:wrong@');
    const file = join(dir, 'decisions.jsonl');
    for (const [what, run] of [
      ['resolve', (err: Writable) => runResolve([file, '--target', denied(dr.url)], new Capture(), err, ENV)],
      ['inspect --source', (err: Writable) => runInspect(['--source', denied(primary.url), '--json'], new Capture(), err, {})],
    ] as const) {
      const stderr = new Capture();
      const t0 = performance.now();
      const e = await rejection(run(stderr));
      expect([e.code, e.retryable, e.details['errno']], what).toEqual(['DB_CONNECT', false, 1045]);
      expect(e.message, what).not.toMatch(/attempt/);
      expect(stderr.text, what).toBe('');
      // The default policy: a retry would wait 0.5 s first, and 65 s in all.
      expect(performance.now() - t0, what).toBeLessThan(2000);
    }
    const out = new Capture();
    const err = new Capture();
    expect(await runDoctor(['--target', denied(dr.url)], out, err, ENV)).toBe(2);
    expect(err.text).toBe('');
    expect(out.text.split('\n')[1]).toMatch(/^ {2}✖ connect: --target: cannot connect to mysql:\/\/nobody:\*\*\*@127\.0\.0\.1:\d+: Access denied for user 'nobody'@'127\.0\.0\.1' \(using password: YES\) → check the user and password/);
  });
});

describe('a server that never answers: the last DB_CONNECT, saying how many connections were tried', () => {
  it('every command that connects, with --reconnect-attempts 1: one warning line, then the error', async () => {
    const port = await freePort();
    const closed = `mysql://root@127.0.0.1:${port}`;
    const refused = `cannot connect to ${closed}: connect ECONNREFUSED 127.0.0.1:${port}`;
    const gaveUp = `${refused}; gave up after 2 connection attempts (the first and 1 reconnect attempt(s))`;
    const warning = (who: string): string => `salvage: warning: ${who} ${closed} failed (connect): ${refused} [DB_CONNECT]; trying again in 0.5 s (reconnect attempt 1 of 1)\n`;
    const file = join(dir, 'decisions.jsonl');
    const binlogs = await primary.binlogFiles();
    const cases: readonly [string, (err: Writable) => Promise<number>, string, string][] = [
      // Each names the option that gave the URL: one command line may hold several.
      ['quarantine list', (err) => runQuarantine(['list', '--target', closed, '--reconnect-attempts', '1'], new Capture(), err, ENV), `--target: ${gaveUp}`, 'the DR'],
      ['explain', (err) => runExplain(['0-1-4', '--target', closed, '--reconnect-attempts', '1'], new Capture(), err, ENV), `--target: ${gaveUp}`, 'the DR'],
      ['report', (err) => runReport(['--target', closed, '--reconnect-attempts', '1'], new Capture(), err, ENV), `--target: ${gaveUp}`, 'the DR'],
      ['resolve', (err) => runResolve([file, '--target', closed, '--reconnect-attempts', '1'], new Capture(), err, ENV), `--target: ${gaveUp}; no entry was carried out`, 'the DR'],
      ['inspect --source', (err) => runInspect(['--source', closed, '--reconnect-attempts', '1'], new Capture(), err, {}), `--source: ${gaveUp}`, 'the source'],
      ['inspect --schema-from', (err) => runInspect([...binlogs, '--schema-from', closed, '--reconnect-attempts', '1'], new Capture(), err, {}), `--schema-from: ${gaveUp}`, 'the --schema-from server'],
      ['plan --source', (err) => runSalvageCommand('plan', ['--source', closed, '--target', dr.url, '--reconnect-attempts', '1'], new Capture(), err, ENV), `--source: ${gaveUp}; plan wrote nothing`, 'the source'],
      // The DR's binlog read live: its first connection is one as --target's, not a connection the history step lost.
      ['plan --dr-source', (err) => runSalvageCommand('plan', ['--source', primary.url, '--from-gtid', start, '--target', dr.url, '--dr-source', closed, '--reconnect-attempts', '1'], new Capture(), err, ENV), `--dr-source: ${gaveUp}; plan wrote nothing`, 'the DR'],
    ];
    for (const [what, run, message, who] of cases) {
      const stderr = new Capture();
      const e = await rejection(run(stderr));
      expect([e.code, e.retryable, e.details['attempts']], what).toEqual(['DB_CONNECT', true, 2]);
      expect(e.message, what).toBe(message);
      expect(stderr.text, what).toBe(warning(who));
    }
    const schemaFrom = await rejection(runInspect([...binlogs, '--schema-from', closed, '--reconnect-attempts', '0', '--quiet'], new Capture(), new Capture(), {}));
    expect([schemaFrom.message, schemaFrom.details['option']]).toEqual([`--schema-from: ${refused}; not reconnecting (reconnect attempts: 0)`, '--schema-from']);

    // doctor keeps what it could not reach as a check (✖), for the DR and a live source alike.
    const out = new Capture();
    const err = new Capture();
    expect(await runDoctor(['--target', dr.url, '--source', closed, '--reconnect-attempts', '1'], out, err, ENV)).toBe(2);
    expect(err.text).toBe(warning('the source'));
    expect(out.text).toContain(`\nsource ${closed}\n  ✖ connect: --source: ${gaveUp} → check the host and port in --source, that the server runs and that no firewall is in the way\n`);
  });

  it('--reconnect-attempts takes a number ≥ 0 on every command that takes it', async () => {
    for (const run of [
      () => runQuarantine(['list', '--target', dr.url, '--reconnect-attempts=-1'], new Capture(), new Capture(), ENV),
      () => runDoctor(['--target', dr.url, '--reconnect-attempts', '1e2'], new Capture(), new Capture(), ENV),
      () => runInspect(['--source', primary.url, '--reconnect-attempts', 'x'], new Capture(), new Capture(), {}),
    ]) {
      await expect(run()).rejects.toThrow(/^--reconnect-attempts takes a number ≥ 0, got "/);
    }
  });
});

describe('one command line, several URLs: a failure to connect names the option that gave the URL, exit 1', () => {
  let closed = '';
  let refused = '';
  beforeAll(async () => {
    const port = await freePort();
    closed = `mysql://root@127.0.0.1:${port}`;
    refused = `cannot connect to ${closed}: connect ECONNREFUSED 127.0.0.1:${port}`;
  });
  /** plan --source A --target B --dr-source C, one of them a port nothing listens on. */
  const plan = (source: string, target: string, drSource: string): Promise<number> =>
    runSalvageCommand('plan', ['--source', source, '--from-gtid', start, '--target', target, '--dr-source', drSource, '--reconnect-attempts', '0', '--quiet'], new Capture(), new Capture(), ENV);
  const expectNamed = (e: EngineError, code: string, message: string, option: string): void => {
    expect([e.code, e.message, e.details['option']]).toEqual([code, message, option]);
    expect(exitCodeFor(e)).toBe(1);
  };

  it('--source', async () => {
    expectNamed(await rejection(plan(closed, dr.url, dr.url)), 'DB_CONNECT', `--source: ${refused}; not reconnecting (reconnect attempts: 0); plan wrote nothing`, '--source');
  });

  it('--target', async () => {
    expectNamed(await rejection(plan(primary.url, closed, dr.url)), 'DB_CONNECT', `--target: ${refused}; not reconnecting (reconnect attempts: 0); plan wrote nothing`, '--target');
  });

  it('--dr-source: a first connection that never answered is a failure to connect, as the others, not a connection the history step lost', async () => {
    expectNamed(await rejection(plan(primary.url, dr.url, closed)), 'DB_CONNECT', `--dr-source: ${refused}; not reconnecting (reconnect attempts: 0); plan wrote nothing`, '--dr-source');
  });
});
