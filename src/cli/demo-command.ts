/**
 * `salvage demo`: stage an incident on a throwaway MariaDB primary and salvage its binlogs with
 * the inspect pipeline, printing for a newcomer what happened, what was recovered, and the
 * commands to explore the kept files. Results go to stdout, progress to stderr.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { gtidText, type IncompleteTransaction, type Transaction } from '../binlog/transaction.js';
import { onHostExit, type HostProcess } from '../demo/host-process.js';
import { findServerBinaries, ThrowawayErrorCode, type MariadbBinaries } from '../demo/mariadb-binaries.js';
import { SHOP_TABLES, type RowCounts, type ShopTable } from '../demo/shop-workload.js';
import { stageIncident, type StagedIncident } from '../demo/stage-incident.js';
import { EngineError } from '../errors.js';
import { InspectStats, inspectBinlogs } from '../pipeline/inspect.js';
import { ExitCode } from './exit-codes.js';
import { formatIncomplete, formatTail, formatTransaction } from './format-human.js';
import { printStats } from './inspect-command.js';
import { UsageError } from './usage-error.js';

export const DEMO_HELP = `salvage demo [--keep] [--quiet]

Stage a primary's crash on a throwaway MariaDB server, then salvage its binary logs — a tour of
what binlog-salvage does, on your machine, in a few seconds. Nothing outside a temp folder is
touched: the server listens on 127.0.0.1 on a free port and starts with --no-defaults.

What it does:
  1. starts a throwaway primary (binlog_format=ROW, binlog_row_metadata=FULL, binlog_checksum=CRC32)
  2. creates a small shop: customers (AUTO_INCREMENT id, UNIQUE email) and orders (FOREIGN KEY to
     customers; DECIMAL, DATETIME(6), ENUM and JSON columns)
  3. runs a seeded workload of a few dozen committed transactions: inserts, updates, deletes
  4. crashes: copies the binlog files while the server runs (as from a dead host: the last file
     still marked in use), SIGKILLs the server with one transaction still open, and cuts the last
     copy in the middle of its last COMMIT event
  5. decodes the copies with the inspect pipeline and prints the last transactions, the per-table
     counts, what the crash left incomplete, and the "salvage inspect" commands to try next

The binlog copies stay in a temp folder whose path is printed; everything else (the server and
its data directory) is removed at the end, on error and on Ctrl-C.

Options:
  --keep       keep the crashed server's folder too (data directory, error log)
  --quiet      no progress on stderr

Needs the MariaDB server programs mariadbd and mariadb-install-db (Debian/Ubuntu:
apt-get install mariadb-server). The first run builds a template data directory, cached in the
temp folder for later runs.

Example:
  npm run demo          (from a checkout: builds, then runs "salvage demo")
`;

/** What the demo takes from its surroundings; src/cli/main.ts passes the process's, tests their own. */
export interface DemoEnvironment {
  readonly host: HostProcess;
  /** PATH to search for mariadbd and mariadb-install-db. */
  readonly searchPath: string | undefined;
  /** Folders searched after PATH (default: the sbin and bin folders). */
  readonly extraBinaryDirs?: readonly string[];
  /** How to call salvage in the printed command lines: "salvage" or "node dist/cli/main.js". */
  readonly invocation: string;
}

/** The command prefix a user would type for the running script: `salvage` when installed, else `node <script>`. */
export function invocationFor(script: string | undefined, cwd: string): string {
  if (script === undefined || basename(script) === 'salvage' || !script.endsWith('.js')) return 'salvage';
  const rel = relative(cwd, script);
  return `node ${shellQuote(rel.startsWith('..') || isAbsolute(rel) ? script : rel)}`;
}

function line(out: Writable, s = ''): void {
  out.write(`${s}\n`);
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** Runs `demo`; returns the exit code. */
export async function runDemo(args: string[], stdout: Writable, stderr: Writable, env: DemoEnvironment): Promise<number> {
  let values;
  try {
    values = parseArgs({ args, options: { keep: { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (e) {
    throw new UsageError(`demo: ${(e as Error).message}; see "salvage demo --help"`);
  }
  if (values.help) {
    stdout.write(DEMO_HELP);
    return ExitCode.Done;
  }
  const started = Date.now();
  const progress = values.quiet ? () => undefined : (m: string) => line(stderr, `salvage demo: ${m}`);
  let binaries: MariadbBinaries;
  try {
    binaries = findServerBinaries({ path: env.searchPath, extraDirs: env.extraBinaryDirs });
  } catch (e) {
    if (!(e instanceof EngineError) || e.code !== ThrowawayErrorCode.BinaryNotFound) throw e;
    line(stderr, `salvage demo: ${e.message}`);
    line(stderr, 'salvage demo: the demo runs a throwaway MariaDB server and needs mariadbd and mariadb-install-db;');
    line(stderr, 'salvage demo: on Debian or Ubuntu: sudo apt-get install mariadb-server (the service need not run)');
    return ExitCode.Fault;
  }

  const keep = values.keep === true;
  const filesDir = await mkdtemp(join(tmpdir(), 'salvage-demo-'));
  // On Ctrl-C or a crash of ours before the end, the half-made folder goes too (unless --keep).
  const disposeCleanup = onHostExit(env.host, () => {
    if (!keep) rmSync(filesDir, { recursive: true, force: true });
  });
  try {
    const staged = await stageIncident({ context: { host: env.host, binaries }, filesDir, keepServer: keep, progress });
    progress(`decoding ${staged.files.length} binlog copies with the inspect pipeline…`);
    const decoded = await decode(staged);
    report(staged, decoded, env.invocation, stdout);
    const problem = checkAgainstPlan(staged, decoded);
    progress(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    disposeCleanup();
    if (problem !== null) {
      line(stderr, `salvage demo: the decoded binlogs do not match the workload that wrote them (a bug — please report it): ${problem}`);
      return ExitCode.Internal;
    }
    return ExitCode.Done;
  } catch (e) {
    disposeCleanup();
    if (!keep) await rm(filesDir, { recursive: true, force: true });
    throw e;
  }
}

interface Decoded {
  readonly stats: InspectStats;
  readonly last: Transaction[];
  readonly ddl: number;
  readonly incomplete: IncompleteTransaction[];
  readonly tails: string[];
  readonly warnings: string[];
  readonly bytes: number;
}

const SHOWN = 3;

async function decode(staged: StagedIncident): Promise<Decoded> {
  const stats = new InspectStats();
  const last: Transaction[] = [];
  const incomplete: IncompleteTransaction[] = [];
  const tails: string[] = [];
  const warnings: string[] = [];
  let ddl = 0;
  let bytes = 0;
  for await (const item of inspectBinlogs([staged.indexFile], { verifyChecksums: true, annotations: false, keepEvents: false })) {
    switch (item.kind) {
      case 'transaction':
        stats.add(item.tx);
        if (item.tx.commit === 'ddl') ddl++;
        else last.push(item.tx);
        if (last.length > SHOWN) last.shift();
        break;
      case 'incomplete':
        incomplete.push(item.tx);
        break;
      case 'tail':
        tails.push(formatTail(item.file, item.tail));
        break;
      case 'warning':
        warnings.push(item.warning.message);
        break;
      case 'progress':
        bytes = item.bytesTotal;
        break;
    }
  }
  return { stats, last, ddl, incomplete, tails, warnings, bytes };
}

/** Null when the decoded counts are exactly what the workload committed before the cut, else what differs. */
function checkAgainstPlan(staged: StagedIncident, d: Decoded): string | null {
  const expected = staged.workload.countsBeforeLast;
  const problems: string[] = [];
  for (const table of SHOP_TABLES) {
    const got = d.stats.tables.get(table) ?? { inserts: 0, updates: 0, deletes: 0, transactions: 0 };
    const want = expected[table];
    if (countsText(got) !== countsText(want)) problems.push(`${table}: decoded ${countsText(got)}, committed ${countsText(want)}`);
  }
  const complete = staged.workload.transactions.length - 1;
  if (d.stats.transactions - d.ddl !== complete) problems.push(`${d.stats.transactions - d.ddl} transactions decoded, ${complete} expected`);
  if (d.incomplete.length !== 1 || d.tails.length !== 1) problems.push(`${d.incomplete.length} incomplete transactions and ${d.tails.length} cut files, 1 of each expected`);
  return problems.length === 0 ? null : problems.join('; ');
}

function countsText(c: Readonly<RowCounts>): string {
  return `${plural(c.inserts, 'insert')}, ${plural(c.updates, 'update')}, ${plural(c.deletes, 'delete')}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function report(staged: StagedIncident, d: Decoded, invocation: string, out: Writable): void {
  const w = staged.workload;
  const lastTx = w.transactions[w.transactions.length - 1]!;
  const files = staged.files;
  line(out, 'salvage demo — a primary crashed; this is what its binary logs still hold');
  line(out);
  line(out, 'What was staged');
  line(out, `  primary   MariaDB ${staged.serverVersion} on 127.0.0.1:${staged.port}: binlog_format=ROW, binlog_row_metadata=FULL, binlog_checksum=CRC32`);
  line(out, '  schema    shop.customers (AUTO_INCREMENT id, UNIQUE email)');
  line(out, '            shop.orders (FOREIGN KEY to customers; DECIMAL total, DATETIME(6) placed_at, ENUM status, JSON items)');
  line(out, `  workload  ${w.transactions.length} committed transactions (seed ${w.seed}); the binlog rotated before transaction ${w.rotateBefore + 1}`);
  for (const table of SHOP_TABLES) line(out, `            ${table}: ${countsText(w.counts[table as ShopTable])}`);
  line(out, `  the cut   the last one (${lastTx.label}) was being written when the crash hit:`);
  line(out, `            its COMMIT event is cut after ${staged.cut.keptBytes} of ${staged.cut.eventSize} bytes`);
  line(out, `  crash     one more transaction was open (${w.inFlight.label}) when the server was SIGKILLed;`);
  line(out, '            it never reached COMMIT, so it is in no binlog: there is nothing of it to salvage');
  line(out, '  files     copied while the server ran, so the last one still carries the in-use flag:');
  for (const f of files) {
    const cut = f === staged.cut.file ? `  cut at byte ${staged.cut.sizeAfter} (was ${staged.cut.sizeBefore})` : '';
    line(out, `              ${f}${cut}`);
  }
  line(out, `              ${staged.indexFile}`);
  line(out, staged.serverKept ? `  server    kept (--keep): ${staged.serverDir} (data directory data/, error log error.log)` : `  server    stopped and removed (${staged.serverDir}); --keep keeps it`);
  line(out);

  line(out, `The last ${plural(d.last.length, 'committed transaction')}, as "salvage inspect" prints them`);
  line(out);
  for (const tx of d.last) line(out, `${formatTransaction(tx)}\n`);

  line(out, 'Per-table counts, as "salvage inspect --stats" prints them');
  line(out);
  printStats(d.stats, d.bytes, d.incomplete.length, out);
  line(out);
  line(out, `(${plural(d.ddl, 'DDL statement')} — CREATE DATABASE and two CREATE TABLEs — are counted as transactions with no row changes.)`);
  line(out);

  line(out, 'What the crash left');
  line(out);
  for (const tx of d.incomplete) line(out, formatIncomplete(tx));
  for (const t of d.tails) line(out, `# ${t}`);
  for (const m of d.warnings) line(out, `# warning: ${m}`);
  line(out);
  line(out, `Every transaction the files hold whole was recovered (${d.stats.transactions - d.ddl} of ${w.transactions.length - 1} committed before the cut);`);
  line(out, 'the cut one is reported as INCOMPLETE and would never be applied.');
  line(out);

  line(out, 'Try it yourself');
  line(out);
  const index = shellQuote(staged.indexFile);
  const cutFile = shellQuote(staged.cut.file);
  const shownGtids = d.last.map((tx) => (tx.gtid ? gtidText(tx.gtid) : null)).filter((g): g is string => g !== null);
  line(out, `  ${invocation} inspect ${index}`);
  line(out, `  ${invocation} inspect ${index} --stats`);
  line(out, `  ${invocation} inspect ${index} --json | head -n 3`);
  line(out, `  ${invocation} inspect ${index} --tables 'shop.customers'`);
  if (shownGtids.length > 0) line(out, `  ${invocation} inspect ${index} --include-gtids ${shownGtids.join(',')}`);
  line(out, `  ${invocation} inspect ${cutFile}`);
  line(out);
  line(out, `The files stay in ${shellQuote(dirname(staged.indexFile))} until you delete them.`);
  line(out);
  line(out, 'Next: plan and apply — merging these transactions into a DR server, exactly once — come with the reconcile engine.');
}
