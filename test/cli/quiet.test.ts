/**
 * `--quiet` on the review commands (quarantine, resolve, explain, report) and doctor: with the DR
 * turning the first connection away ("Too many connections", test/harness/busy-gate.ts), each
 * command run plain writes one reconnect warning line on stderr; run with `--quiet` it writes
 * nothing there, while stdout is byte for byte the same and the exit code too. An error still
 * ends the command with its message on stderr and its exit code: through the built command
 * (dist/, `npm run build` first), where main.ts prints it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_HELP, runConfig } from '../../src/cli/config-command.js';
import { DOCTOR_HELP, runDoctor } from '../../src/cli/doctor-command.js';
import { EXPLAIN_HELP, runExplain } from '../../src/cli/explain-command.js';
import { QUARANTINE_HELP, runQuarantine } from '../../src/cli/quarantine-command.js';
import { REPORT_HELP, runReport } from '../../src/cli/report-command.js';
import { RESOLVE_HELP, runResolve } from '../../src/cli/resolve-command.js';
import type { SalvageCommandEnvironment } from '../../src/cli/salvage-command.js';
import { salvage } from '../../src/pipeline/salvage.js';
import { startBusyGate, type BusyGate } from '../harness/busy-gate.js';
import { Capture } from '../harness/capture.js';
import { freePort } from '../harness/free-port.js';
import { startMariadb, type MariadbServer } from '../harness/mariadb-server.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli/main.js');

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
let gate: BusyGate;
let dir: string;
let env: SalvageCommandEnvironment;
/** The DR through the gate. */
let gated: string;

type Command = (args: string[], stdout: Writable, stderr: Writable, environment: SalvageCommandEnvironment) => Promise<number>;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `command` in process with the DR turning its first connection away; the gate must have turned exactly that one away. */
async function busyOnce(command: Command, args: string[]): Promise<Run> {
  gate.turnAway(1);
  const before = gate.turnedAway;
  const out = new Capture();
  const err = new Capture();
  const code = await command(args, out, err, env);
  expect(gate.turnedAway - before, `${args.join(' ')}: the first connection was turned away`).toBe(1);
  return { code, stdout: out.text, stderr: err.text };
}

/** The one warning line of a first connection turned away by the gate. */
function busyLine(): string {
  return `salvage: warning: the DR ${gated} failed (connect): cannot connect to ${gated}: Too many connections [DB_CONNECT]; trying again in 0.5 s (reconnect attempt 1 of 10)\n`;
}

/**
 * Runs `args` plain and with `--quiet`, the first connection turned away each time: the same
 * stdout and exit code; stderr the warning line (and `extraNotice`) plain, nothing quiet.
 */
async function plainAndQuiet(command: Command, args: string[], extraNotice = ''): Promise<Run> {
  const plain = await busyOnce(command, args);
  const quiet = await busyOnce(command, [...args, '--quiet']);
  expect(plain.stderr, args.join(' ')).toBe(busyLine() + extraNotice);
  expect(quiet.stderr, args.join(' ')).toBe('');
  expect(quiet.stdout, args.join(' ')).toBe(plain.stdout);
  expect(quiet.code, args.join(' ')).toBe(plain.code);
  return quiet;
}

/** Runs the built command: its exit code, stdout and stderr, whatever the code. */
function cli(args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, HOME: dir } }, (e, stdout, stderr) => {
      const code = e === null ? 0 : typeof e.code === 'number' ? e.code : -1;
      done({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  [primary, dr] = await Promise.all([startMariadb({ name: 'quiet-primary' }), startMariadb({ name: 'quiet-dr', serverId: 2 })]);
  dir = await mkdtemp(join(tmpdir(), 'salvage-quiet-'));
  // No ~/.my.cnf of whoever runs the tests.
  env = { env: {}, home: dir, isTty: false };
  for (const sql of [...SCHEMA, ...BASE]) {
    await primary.query(sql);
    await dr.query(sql);
  }
  const start = String(((await primary.query('SELECT @@gtid_binlog_pos AS p')) as { p: string }[])[0]!.p);
  for (const sql of LOST) await primary.query(sql);
  for (const sql of DR_OWN) await dr.query(sql);
  await primary.flushBinaryLogs();
  const report = await salvage({ mode: 'apply', binlogs: await primary.binlogFiles(), target: dr.target, start: { kind: 'from-gtid', set: start } });
  expect([report.outcomes.applied, report.outcomes.quarantined]).toEqual([1, 1]);
  gate = await startBusyGate('127.0.0.1', dr.port);
  gated = `mysql://root@127.0.0.1:${gate.port}`;
}, 120_000);

afterAll(async () => {
  await gate?.close();
  await Promise.all([primary?.stop(), dr?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('--quiet: the DR turns the first connection away; stdout and exit code as without it, nothing on stderr', () => {
  it('quarantine list, show and export', async () => {
    const list = await plainAndQuiet(runQuarantine, ['list', '--target', gated]);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe(
      [
        'id  change   table           op      class                reason',
        '1   0-1-5#0  shop.customers  insert  insert-unique-taken  another DR row already holds unique key uk_email',
        '1 pending: "salvage quarantine show ID" shows one; "salvage quarantine export … > decisions.jsonl", then "salvage resolve … decisions.jsonl" decides them',
        '',
      ].join('\n'),
    );
    const show = await plainAndQuiet(runQuarantine, ['show', '1', '--target', gated]);
    expect([show.code, show.stdout.split('\n')[0]]).toEqual([0, 'entry 1 (pending): 0-1-5#0 shop.customers insert, key [11]']);
    const exported = await plainAndQuiet(runQuarantine, ['export', '--target', gated]);
    const entry = JSON.parse(exported.stdout) as Record<string, unknown>;
    expect([exported.code, entry['id'], entry['class'], entry['decision']]).toEqual([0, 1, 'insert-unique-taken', null]);
  });

  it('explain', async () => {
    const run = await plainAndQuiet(runExplain, ['0-1-5', '--target', gated]);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n').slice(0, 3)).toEqual(['0-1-5#0  shop.customers insert  key [11]', '  class:       insert-unique-taken', '  outcome:     quarantined']);
  });

  it('report: the Markdown on stdout; with --html the "written to" line is a notice and goes too', async () => {
    const markdown = await plainAndQuiet(runReport, ['--target', gated]);
    expect(markdown.code).toBe(0);
    expect(markdown.stdout).toMatch(/^# /);
    expect(markdown.stdout).toContain('0-1-5');
    const html = join(dir, 'report.html');
    const written = await plainAndQuiet(runReport, ['--target', gated, '--html', html], `salvage report: run 1 (completed) written to ${html}\n`);
    expect([written.code, written.stdout]).toEqual([0, '']);
    expect(await readFile(html, 'utf8')).toMatch(/^<!DOCTYPE html>/i);
  });

  it('resolve: an undecided file (exit 3) the same both ways; a decision carried out under --quiet, nothing on stderr', async () => {
    const exported = new Capture();
    expect(await runQuarantine(['export', '--target', dr.url], exported, new Capture(), env)).toBe(0);
    const entry = JSON.parse(exported.text) as Record<string, unknown>;
    const undecided = join(dir, 'undecided.jsonl');
    await writeFile(undecided, exported.text);
    const pending = await plainAndQuiet(runResolve, [undecided, '--target', gated]);
    expect(pending.code).toBe(3);
    expect(pending.stdout).toBe(
      [
        `salvage resolve: undecided.jsonl on ${gated}`,
        '  entry  change   table           op      decision  result',
        '  1      0-1-5#0  shop.customers  insert  -         undecided  no decision: left pending',
        'done 0, refused 0, already resolved 0, undecided 1; 1 entry still pending on the DR',
        '',
      ].join('\n'),
    );

    const decided = join(dir, 'decided.jsonl');
    await writeFile(decided, `${JSON.stringify({ ...entry, decision: { action: 'apply', row: { id: 11, email: 'zed2@x', name: 'Zed P' } } })}\n`);
    const done = await busyOnce(runResolve, [decided, '--target', gated, '--quiet']);
    expect([done.code, done.stderr]).toEqual([0, '']);
    expect(done.stdout.split('\n')).toEqual([
      `salvage resolve: decided.jsonl on ${gated}, run 2`,
      '  entry  change   table           op      decision  result',
      '  1      0-1-5#0  shop.customers  insert  apply     done (applied)  applied the reviewed row',
      'done 1, refused 0, already resolved 0, undecided 0; 0 entries still pending on the DR',
      '',
    ]);
    expect(await dr.query('SELECT id, email FROM shop.customers WHERE id = 11')).toEqual([{ id: 11, email: 'zed2@x' }]);
  });

  it('config init: the file on stdout the same; its summary line is a notice and goes too', async () => {
    const run = await plainAndQuiet(runConfig, ['init', '--target', gated, '--schemas', 'shop'], `salvage config init: 1 table, 0 guessed references from ${gated}\n`);
    expect(JSON.parse(run.stdout)).toMatchObject({ tables: { 'shop.customers': {} } });
  });

  it('doctor: the checks are its output and stay, the connect check saying it connected at the second attempt', async () => {
    const run = await plainAndQuiet(runDoctor, ['--target', gated]);
    expect(run.stdout.split('\n').find((l) => l.includes(' connect: '))).toBe(
      `  ! connect: ${gated} as root@127.0.0.1, at connection attempt 2: the first failed (cannot connect to ${gated}: Too many connections [DB_CONNECT]) → the server did not answer at first: if it was not restarting, find out why before plan or apply (they wait the same way, up to --reconnect-attempts)`,
    );
    const json = await plainAndQuiet(runDoctor, ['--target', gated, '--json']);
    expect((JSON.parse(json.stdout) as { checks: { id: string; status: string }[] }).checks.find((c) => c.id === 'dr.connect')?.status).toBe('warn');
  });
});

describe('--quiet keeps the error: its message on stderr and its exit code (the built command)', () => {
  it('a DR that never answers: the last DB_CONNECT, exit 1, the warning line left out', async () => {
    const port = await freePort();
    const closed = `mysql://root@127.0.0.1:${port}`;
    const gaveUp = `salvage: --target: cannot connect to ${closed}: connect ECONNREFUSED 127.0.0.1:${port}; gave up after 2 connection attempts (the first and 1 reconnect attempt(s))`;
    const decisions = join(dir, 'never-read.jsonl');
    await writeFile(decisions, '');
    for (const [args, tail] of [
      [['quarantine', 'list'], ''],
      [['explain', '0-1-5'], ''],
      [['report'], ''],
      [['resolve', decisions], '; no entry was carried out'],
    ] as const) {
      const run = await cli([...args, '--target', closed, '--reconnect-attempts', '1', '--quiet']);
      expect(run, args.join(' ')).toEqual({ code: 1, stdout: '', stderr: `${gaveUp}${tail} [DB_CONNECT]\n` });
    }
    // doctor reports what it could not reach as a check (✖, exit 2), on stdout.
    const doctor = await cli(['doctor', '--target', closed, '--reconnect-attempts', '1', '--quiet']);
    expect([doctor.code, doctor.stderr]).toEqual([2, '']);
    expect(doctor.stdout).toContain(`  ✖ connect: ${gaveUp.slice('salvage: '.length)} → `);
  });

  it('an input or usage error: message and exit 2 as without --quiet', async () => {
    const bad = join(dir, 'bad.jsonl');
    await writeFile(bad, 'not json\n');
    const resolveBad = await cli(['resolve', bad, '--target', dr.url, '--quiet']);
    expect(resolveBad).toEqual({ code: 2, stdout: '', stderr: 'salvage: bad.jsonl has 1 problem(s); nothing was applied:\n  line 1: bad JSON at character 1: expected a JSON value, found "not json"\n' });
    expect(resolveBad.stderr).toBe((await cli(['resolve', bad, '--target', dr.url])).stderr);
    const unknown = await cli(['quarantine', 'show', '99', '--target', dr.url, '--quiet']);
    expect(unknown).toEqual({ code: 2, stdout: '', stderr: `salvage: the quarantine in the state schema \`salvage\` has no entry 99; "salvage quarantine list --status all" lists them [REVIEW_UNKNOWN_ENTRY]\n` });
    for (const args of [['explain', '--quiet'], ['report', '--quiet'], ['doctor', '--quiet']]) {
      const run = await cli(args);
      expect([run.code, run.stdout], args.join(' ')).toEqual([2, '']);
      expect(run.stderr, args.join(' ')).toMatch(/^salvage: .*--target/);
    }
  });
});

describe('--help and README', () => {
  it('every command taking --quiet lists it in --help, and README documents it for each', async () => {
    for (const help of [QUARANTINE_HELP, RESOLVE_HELP, EXPLAIN_HELP, REPORT_HELP, DOCTOR_HELP, CONFIG_HELP]) expect(help).toMatch(/\n {2}--quiet {19}no warning/);
    const readme = await readFile(resolve(import.meta.dirname, '../../README.md'), 'utf8');
    expect(readme).toContain('`salvage doctor` takes `--quiet`');
    expect(readme).toContain('`config init` takes `--quiet`');
    expect(readme).toContain('The review commands (`quarantine`, `resolve`, `explain`, `report`) take `--quiet`');
  });
});
