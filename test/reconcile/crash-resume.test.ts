/**
 * Exactly once under crashes (DESIGN.md, "Exactly once and resume"): apply is interrupted and run
 * again until it completes, and the DR must end byte for byte where an uninterrupted apply ends —
 * every data table's rows and CHECKSUM TABLE, and the ledger, key map, quarantine and checkpoint of
 * the state schema, less run ids, per-run sequence numbers, timestamps and the state tables' own
 * AUTO_INCREMENT ids, which legitimately differ between one run and several.
 *
 * Two kinds of crash:
 * - In process (many cases): the `beforeStatement` hook counts statements and, before the Nth is
 *   sent, kills the engine's DR connection on the server (`KILL CONNECTION`, run synchronously
 *   through the `mariadb` client since the hook cannot await). Statement N and everything after it,
 *   the engine's own ROLLBACK and run-status update included, meet a dead connection: the server
 *   rolls the open window back itself, as it does when a process dies. N is drawn by a seeded PRNG
 *   over the statement count of the uninterrupted run, or placed on each window's last state write,
 *   its COMMIT, and the statement after it (the commit landed, the engine never heard back).
 * - A child process (a few cases): the built CLI (`dist/`; `npm test` builds before vitest — run
 *   `npm run build` first when running this file alone) is SIGKILLed inside a window, then run again
 *   until it exits 0 or 3. Where it dies is made exact rather than left to a timer: an admin session
 *   holds a row lock on a DR row the lost range reads, the child blocks on it in its locking read
 *   (its window open, earlier windows committed), and is killed while blocked.
 *
 * Identical DRs: the incident is staged once (stageFailover); the promoted DR is then stopped
 * cleanly, its data directory copied aside, and before every run (the uninterrupted reference
 * included) the DR is SIGKILLed, its data directory replaced by that copy, and restarted. This
 * restores everything the engine reads — rows, AUTO_INCREMENT counters, GTID positions, the DR's
 * own binlog — in about a second, where staging again takes several and an SQL copy of the rows
 * would restore neither the counters nor the GTID state.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { cp, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlRow, SqlSession } from '../../src/db/sql-session.js';
import { FAILOVER_LOGICAL_REFERENCES, FAILOVER_TABLES, stageFailover, type StagedFailover } from '../../src/demo/stage-failover.js';
import type { ThrowawayServer } from '../../src/demo/throwaway-server.js';
import { EngineError } from '../../src/errors.js';
import { salvage, SalvageErrorCode, type SalvageReport } from '../../src/pipeline/salvage.js';
import { findMariadbBinary, harnessBinaries } from '../harness/mariadb-binaries.js';

const context = { host: process, binaries: harnessBinaries() };
const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const INNODB_TRX_POLL_MS = 150;
/** Source transactions per window: small, so a crash has committed windows behind it (29 complete lost transactions: 15 windows). */
const WINDOW = 2;

/** mulberry32: a small seeded generator, the same draws for the same seed. Not for cryptography. */
function createRandom(seed: number): (lo: number, hi: number) => number {
  let state = seed >>> 0;
  return (lo, hi) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return lo + Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (hi - lo + 1));
  };
}

/** Everything the comparison covers, with the columns that legitimately differ between runs left out. */
interface DrState {
  readonly tables: Record<string, readonly SqlRow[]>;
  readonly checksums: readonly SqlRow[];
  readonly ledger: readonly SqlRow[];
  readonly keyMap: readonly SqlRow[];
  readonly quarantine: readonly SqlRow[];
  readonly checkpoint: readonly SqlRow[];
}

async function rows(s: SqlSession, sql: string): Promise<SqlRow[]> {
  return [...(await s.query(sql)).rows];
}

async function readState(s: SqlSession): Promise<DrState> {
  const tables: Record<string, readonly SqlRow[]> = {};
  for (const t of FAILOVER_TABLES) tables[t] = await rows(s, `SELECT * FROM ${t} ORDER BY id`);
  return {
    tables,
    checksums: await rows(s, `CHECKSUM TABLE ${FAILOVER_TABLES.join(', ')}`),
    // Ordered by id: the order rows were recorded in, which is source order in both histories.
    ledger: await rows(
      s,
      `SELECT source_id, change_at, change_index, gtid, binlog_file, binlog_pos, table_name, op, source_key, class, outcome, new_key, reason,
              rule_path, before_image, after_image, dr_image FROM salvage.ledger ORDER BY id`,
    ),
    keyMap: await rows(s, 'SELECT table_name, HEX(old_key_hash) AS old_key_hash, old_key, new_key, gtid FROM salvage.key_map ORDER BY table_name, old_key_hash'),
    quarantine: await rows(
      s,
      `SELECT source_id, change_at, change_index, table_name, status, reason, before_image, after_image, dr_image, dependants, row_keys
         FROM salvage.quarantine ORDER BY id`,
    ),
    checkpoint: await rows(s, 'SELECT source_id, gtid_set, binlog_file, binlog_pos FROM salvage.checkpoint ORDER BY source_id'),
  };
}

/** Fails with the command to run when a source file is newer than its build output (the CLI cases run dist/). */
async function assertDistFresh(): Promise<void> {
  const stale: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) {
        const out = join(ROOT, 'dist', relative(join(ROOT, 'src'), path)).replace(/\.ts$/, '.js');
        if (!existsSync(out) || statSync(out).mtimeMs < statSync(path).mtimeMs) stale.push(relative(ROOT, path));
      }
    }
  };
  await walk(join(ROOT, 'src'));
  if (stale.length > 0) throw new Error(`dist/ is older than ${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ` and ${stale.length - 3} more` : ''}: run \`npm run build\` first`);
}

let filesDir = '';
let snapshotDir = '';
let homeDir = '';
let configFile = '';
let staged: StagedFailover;
let dr: ThrowawayServer;
let admin: SqlSession | undefined;
let adminId = 0;
let mariadbClient = '';
/** CLI children still running: killed if a test ends without waiting for them. */
const children = new Set<ChildProcess>();
/** Every statement of the uninterrupted apply, in order, and its end state. */
let reference: { statements: readonly string[]; report: SalvageReport; state: DrState; ledgerLines: number };

/** Puts the DR back to the staged incident: SIGKILL, the data directory copied back, restart. */
async function restoreDr(): Promise<void> {
  await admin?.end();
  admin = undefined;
  await dr.kill();
  await rm(dr.dataDir, { recursive: true, force: true });
  await cp(snapshotDir, dr.dataDir, { recursive: true });
  await dr.restart();
  admin = await dr.session();
  // As the promotion left it (the option file of a standby says read-only).
  await admin.query('SET GLOBAL read_only = 0');
  adminId = Number((await admin.query('SELECT CONNECTION_ID() AS id')).rows[0]?.['id']);
}

/** The same command the CLI cases run, as library options. */
function applyOptions(beforeStatement?: (sql: string) => void): Parameters<typeof salvage>[0] {
  return {
    mode: 'apply',
    binlogs: staged.files,
    target: dr.target,
    windowTransactions: WINDOW,
    logicalReferences: FAILOVER_LOGICAL_REFERENCES,
    verifyChecksums: true,
    beforeStatement,
    // A killed connection stands for a process that died there: no reconnect (test/reconcile/dr-faults.test.ts covers those).
    reconnect: { attempts: 0 },
  };
}

/** Runs `sql` on the DR through the `mariadb` client, synchronously: the hook cannot await. */
function clientQuery(sql: string): string {
  return execFileSync(mariadbClient, ['--no-defaults', '--protocol=TCP', '-h', dr.host, '-P', String(dr.port), '-u', 'root', '-N', '-B', '-e', sql], { encoding: 'utf8' });
}

/**
 * A `beforeStatement` hook that lets statements 1…n−1 through (recording them) and, before the nth
 * is sent, kills the engine's connection on the server. The hook cannot throw safely (the five
 * introspection queries are sent together: a synchronous throw would orphan the ones already sent),
 * nor does it need to: the nth statement and everything after — the engine's ROLLBACK and run-status
 * update included — meet a dead connection, so the DR sees exactly what it sees of a process that
 * died there, and rolls back the open window itself. `problems` collects what would make the crash
 * other than intended.
 */
function crashAt(n: number, seen: string[], problems: string[]): (sql: string) => void {
  let count = 0;
  return (sql) => {
    count++;
    if (count < n) seen.push(sql);
    if (count !== n) return;
    // The engine's session is the one TCP connection of root besides the admin session (and this client's).
    const ids = clientQuery(
      `SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND ID <> ${adminId} AND USER = 'root' AND HOST LIKE '127.0.0.1:%' AND COMMAND <> 'Killed'`,
    )
      .split('\n')
      .filter((l) => l.trim() !== '');
    if (ids.length !== 1) problems.push(`statement ${n}: expected one engine connection, found ${JSON.stringify(ids)}`);
    for (const id of ids) clientQuery(`KILL CONNECTION ${Number(id)}`);
  };
}

/** How a crashed run ended: the statements it sent before the crash, and its error code (or `completed`). */
interface CrashedRun {
  readonly seen: readonly string[];
  readonly outcome: string;
}

/** Runs apply with a crash before statement `n`. */
async function crashedRun(n: number, problems: string[]): Promise<CrashedRun> {
  const seen: string[] = [];
  const outcome = await salvage(applyOptions(crashAt(n, seen, problems))).then(
    () => 'completed',
    (e: unknown) => (e instanceof EngineError ? e.code : String(e)),
  );
  return { seen, outcome };
}

beforeAll(async () => {
  mariadbClient = findMariadbBinary('mariadb');
  const folder = (what: string): Promise<string> => mkdtemp(join(tmpdir(), `salvage-crash-${what}-`));
  [filesDir, snapshotDir, homeDir] = await Promise.all([folder('files'), folder('snapshot'), folder('home')]);
  staged = await stageFailover({ context, filesDir, progress: () => undefined });
  dr = staged.dr;
  await dr.stop({ keep: true });
  await rm(snapshotDir, { recursive: true, force: true });
  await cp(dr.dataDir, snapshotDir, { recursive: true });
  configFile = join(homeDir, 'salvage.json');
  await writeFile(configFile, JSON.stringify({ tables: FAILOVER_LOGICAL_REFERENCES }));

  await restoreDr();
  const statements: string[] = [];
  let ledgerLines = 0;
  const report = await salvage({ ...applyOptions((sql) => statements.push(sql)), onLedger: () => ledgerLines++ });
  reference = { statements, report, state: await readState(admin!), ledgerLines };
}, 120_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await admin?.end();
  await staged?.stop();
  await Promise.all([filesDir, snapshotDir, homeDir].filter((d) => d !== '').map((d) => rm(d, { recursive: true, force: true })));
});

/** 1-based positions of the reference's COMMITs: one per window. */
function commits(): number[] {
  return reference.statements.flatMap((s, i) => (s === 'COMMIT' ? [i + 1] : []));
}

describe('the uninterrupted apply (the reference)', () => {
  it('commits window by window and exercises remaps, merges and the quarantine', () => {
    const { report, state } = reference;
    expect(commits()).toHaveLength(report.windows);
    expect(report.windows).toBeGreaterThanOrEqual(3);
    expect(report.lost.transactions).toBe(29);
    expect(report.remaps.length).toBeGreaterThan(0);
    expect(report.outcomes.merged).toBeGreaterThan(0);
    expect(report.quarantined).toBeGreaterThan(0);
    expect(state.keyMap.length).toBe(report.remaps.length);
    expect(state.ledger.length).toBe(reference.ledgerLines);
    expect(state.checkpoint).toHaveLength(1);
  });
});

/**
 * Where the first crash happens (a statement number of the reference, 1-based) and, when given,
 * where the rerun crashes too (a statement number of the rerun).
 */
interface InProcessCase {
  readonly title: string;
  readonly at: () => number;
  readonly thenAt?: () => number;
}

const drawn = (seed: number, draw: number): (() => number) => {
  return () => {
    const next = createRandom(seed);
    let n = 0;
    for (let i = 0; i <= draw; i++) n = next(1, reference.statements.length);
    return n;
  };
};
const atCommit = (window: number, offset: -1 | 0 | 1): (() => number) => {
  return () => commits()[window - 1]! + offset;
};
const WHERE = { [-1]: 'its last state write (the checkpoint), right before its COMMIT', 0: 'its COMMIT, not sent', 1: 'the statement after its COMMIT' } as const;

const IN_PROCESS_CASES: readonly InProcessCase[] = [
  ...[11, 23, 37, 41, 59, 73, 89, 97].map((seed) => ({
    title: `seed ${seed}: at a random statement`,
    at: drawn(seed, 0),
  })),
  ...[5, 17, 31].map((seed) => ({ title: `seed ${seed}: at a random statement, and the rerun at another`, at: drawn(seed, 0), thenAt: drawn(seed, 1) })),
  ...[1, 2, 3, 4].flatMap((window) =>
    ([-1, 0, 1] as const).map((offset) => ({
      title: `window ${window}: ${WHERE[offset]}`,
      at: atCommit(window, offset),
    })),
  ),
];

describe('apply killed in process before a statement, then run again', () => {
  for (const c of IN_PROCESS_CASES) {
    it(c.title, async () => {
      await restoreDr();
      const n = c.at();
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(reference.statements.length);
      const problems: string[] = [];
      const crashed = await crashedRun(n, problems);
      // The crashed run sent exactly what the reference sent up to the crash: the DRs were identical.
      expect(crashed.seen).toEqual(reference.statements.slice(0, n - 1));
      // From statement n on every query fails, turned into a fault naming the window or the start-up
      // step (reconnecting is off); after the last COMMIT the pending quarantine's count is such a
      // step, and then only the run's status and summary are left, whose failure the engine ignores.
      const lastCommit = commits().at(-1)!;
      const count = reference.statements.findIndex((s) => s.startsWith('SELECT COUNT(*) AS n FROM `salvage`.`quarantine`')) + 1;
      expect(count).toBe(lastCommit + 1);
      expect(crashed.outcome).toBe(n > count ? 'completed' : SalvageErrorCode.Fault);
      if (c.thenAt !== undefined) await crashedRun(c.thenAt(), problems);
      expect(problems).toEqual([]);
      await salvage(applyOptions());
      expect(await readState(admin!)).toEqual(reference.state);
      // A further run finds nothing left to do.
      const idle = await salvage(applyOptions());
      expect([idle.lost.transactions, idle.windows]).toEqual([0, 0]);
    });
  }
});

interface ChildRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** Runs `salvage apply` as a child; with `killWhenBlocked`, SIGKILLs it once it waits on a row lock. */
async function runCli(killWhenBlocked: boolean): Promise<ChildRun> {
  const args = [CLI, 'apply', '--binlog', ...staged.files, '--target', dr.url, '--window', String(WINDOW), '--config', configFile, '--quiet'];
  const child = spawn(process.execPath, args, { cwd: homeDir, env: { ...process.env, HOME: homeDir }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (stderr += chunk));
  const closed = new Promise<ChildRun>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stderr });
    });
  });
  let done = false;
  void closed.then(() => (done = true));
  // Polling only finds the moment: once blocked the child stays so (innodb_lock_wait_timeout is 50 s).
  // Not faster than every 100 ms: InnoDB refreshes the INNODB_TRX cache only when it was not read
  // for 100 ms (storage/innobase/trx/trx0i_s.cc, CACHE_MIN_IDLE_TIME_US), so a tighter loop never sees the wait.
  while (killWhenBlocked && !done) {
    const { rows } = await admin!.query("SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'");
    if (Number(rows[0]?.['n']) > 0) {
      child.kill('SIGKILL');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, INNODB_TRX_POLL_MS));
  }
  return closed;
}

/** A CLI case: the DR rows locked, one per killed run, in order; each must be read by the run it stops. */
interface CliCase {
  readonly title: string;
  readonly locks: readonly (readonly [table: string, id: number])[];
}

// Rows the lost transactions read in this order: customer 8 (the first lost transaction updates it),
// the DR's customer 13 (its id collides with a lost insert: read before the remapped inserts), order 9
// (merged), customer 11 (balance changed on both sides), customer 1 (renamed near the end).
const CLI_CASES: readonly CliCase[] = [
  { title: 'killed in the first window (waiting on customer 8)', locks: [['shop.customers', 8]] },
  {
    title: 'killed before the remapped inserts (waiting on customer 13), then on customer 11',
    locks: [
      ['shop.customers', 13],
      ['shop.customers', 11],
    ],
  },
  {
    title: 'killed on order 9, then on customer 1',
    locks: [
      ['shop.orders', 9],
      ['shop.customers', 1],
    ],
  },
];

describe('the CLI SIGKILLed inside a window, then run again until it exits 0 or 3', () => {
  beforeAll(assertDistFresh);

  it.each(CLI_CASES)('$title', async ({ locks }) => {
    await restoreDr();
    let killed = 0;
    for (const [table, id] of locks) {
      const holder = await dr.session();
      try {
        await holder.query('START TRANSACTION');
        expect((await holder.query(`SELECT id FROM ${table} WHERE id = ? FOR UPDATE`, [id])).rows).toHaveLength(1);
        const run = await runCli(true);
        expect(run.signal, `${table} ${id} was never waited on: ${run.stderr}`).toBe('SIGKILL');
        killed++;
      } finally {
        await holder.query('ROLLBACK');
        await holder.end();
      }
    }
    const last = await runCli(false);
    expect(killed).toBe(locks.length);
    expect([last.signal, [0, 3].includes(last.code ?? -1)], last.stderr).toEqual([null, true]);
    expect(await readState(admin!)).toEqual(reference.state);
  });
});
