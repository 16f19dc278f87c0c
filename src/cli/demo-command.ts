/**
 * `salvage demo`: stage a failover on two throwaway MariaDB servers (src/demo/stage-failover.ts)
 * and salvage it with the real engine — plan, apply, apply again — printing for a newcomer what
 * happened, what the engine decided for every lost change and why, and where the files are.
 * Results go to stdout, progress to stderr.
 */
import { createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, relative } from 'node:path';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { onHostExit, type HostProcess } from '../demo/host-process.js';
import { findServerBinaries, ThrowawayErrorCode, type MariadbBinaries } from '../demo/mariadb-binaries.js';
import { FAILOVER_LOGICAL_REFERENCES, stageFailover, type StagedFailover } from '../demo/stage-failover.js';
import { EngineError } from '../errors.js';
import { salvage, type SalvageReport } from '../pipeline/salvage.js';
import { ledgerLineText, type LedgerLine } from '../sink/ledger-entry.js';
import { ExitCode } from './exit-codes.js';
import { jsonText, printSummary } from './salvage-command.js';
import { UsageError } from './usage-error.js';

export const DEMO_HELP = `salvage demo [--keep] [--quiet]

Stage a failover on two throwaway MariaDB servers, then salvage it: the whole job of
binlog-salvage, on your machine, in a few seconds. Nothing outside a temp folder is touched: the
servers listen on 127.0.0.1 on free ports and start with --no-defaults.

What it does:
  1. starts a primary and a DR that replicates from it (MariaDB GTID replication)
  2. creates a small shop: customers (AUTO_INCREMENT id, UNIQUE email under a case-insensitive
     collation), orders (FOREIGN KEY to customers), order_notes (a "logical" foreign key to orders
     that only the configuration declares), and commits a seeded workload the DR receives
  3. cuts the link; the primary keeps committing (the transactions the DR will never receive),
     its binlogs are copied off as from a dead host, it is SIGKILLed, and the last copy is cut in
     the middle of its last COMMIT
  4. promotes the DR, which takes writes of its own: new customers and orders with the SAME ids
     the primary handed out, an e-mail that differs from a lost one only in case, changes to rows
     the primary changed too, a delete of a row the primary updated
  5. runs "salvage plan" (writes nothing), then "salvage apply", then apply again (nothing left to
     do: exactly once), and prints what happened to every lost change

The binlog copies, plan.sql, the ledgers and the report stay in a temp folder whose path is
printed; the servers and their data directories are removed at the end, on error and on Ctrl-C.

Options:
  --keep       keep the servers' folders too (data directories, error logs)
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
    line(stderr, 'salvage demo: the demo runs throwaway MariaDB servers and needs mariadbd and mariadb-install-db;');
    line(stderr, 'salvage demo: on Debian or Ubuntu: sudo apt-get install mariadb-server (the service need not run)');
    return ExitCode.Fault;
  }

  const keep = values.keep === true;
  const filesDir = await mkdtemp(join(tmpdir(), 'salvage-demo-'));
  // On Ctrl-C or a crash of ours before the end, the half-made folder goes too (unless --keep).
  const disposeCleanup = onHostExit(env.host, () => {
    if (!keep) rmSync(filesDir, { recursive: true, force: true });
  });
  let staged: StagedFailover | null = null;
  try {
    staged = await stageFailover({ context: { host: env.host, binaries }, filesDir, keepServers: keep, progress });
    describeIncident(staged, stdout);
    const run = async (mode: 'plan' | 'apply', name: string): Promise<{ report: SalvageReport; ledger: LedgerLine[] }> => {
      progress(`salvage ${mode}${name === 'apply-again' ? ' (again)' : ''}…`);
      const ledger: LedgerLine[] = [];
      const ledgerFile = await open(join(filesDir, `${name}.jsonl`));
      const sqlFile = mode === 'plan' ? await open(join(filesDir, 'plan.sql')) : null;
      try {
        const report = await salvage({
          mode,
          binlogs: [staged!.indexFile],
          target: staged!.dr.target,
          logicalReferences: FAILOVER_LOGICAL_REFERENCES,
          onLedger: (l) => {
            ledger.push(l);
            ledgerFile.write(`${ledgerLineText(l)}\n`);
          },
          onSql: sqlFile === null ? undefined : (st) => sqlFile.write(`${st}\n`),
        });
        await writeFile(join(filesDir, `${name}-report.json`), `${jsonText(report)}\n`);
        return { report, ledger };
      } finally {
        await Promise.all([close(ledgerFile), close(sqlFile)]);
      }
    };
    const target = staged.drUrl;
    const plan = await run('plan', 'plan');
    section(stdout, '1. salvage plan — a dry run: what apply would do (nothing is written to the DR)');
    printSummary(plan.report, stdout, target);
    const apply = await run('apply', 'apply');
    section(stdout, '2. salvage apply — merged into the DR, one DR transaction per window, exactly once');
    printSummary(apply.report, stdout, target);
    describeDecisions(apply.ledger, stdout);
    const again = await run('apply', 'apply-again');
    section(stdout, '3. salvage apply, again — the checkpoint on the DR says everything is done');
    line(stdout, `  ${again.report.start.rule}`);
    line(stdout, `  ${again.report.lost.transactions} lost transactions left, ${again.ledger.length} changes decided: nothing to do.`);
    const problem = selfCheck(plan.report, apply.report, again.report);
    explore(staged, filesDir, env.invocation, stdout, keep);
    progress(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await staged.stop();
    disposeCleanup();
    if (problem !== null) {
      line(stderr, `salvage demo: the salvage did not end as the staged incident requires (a bug — please report it): ${problem}`);
      return ExitCode.Internal;
    }
    return ExitCode.Done;
  } catch (e) {
    await staged?.stop().catch(() => undefined);
    disposeCleanup();
    if (!keep) await rm(filesDir, { recursive: true, force: true });
    throw e;
  }
}

async function open(path: string): Promise<WriteStream> {
  const stream = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  return stream;
}

function close(stream: WriteStream | null): Promise<void> {
  if (stream === null) return Promise.resolve();
  return new Promise((resolve) => stream.end(resolve));
}

function section(out: Writable, title: string): void {
  line(out);
  line(out, title);
  line(out);
}

function span(list: readonly { gtid: string }[]): string {
  return list.length === 0 ? 'none' : `${list[0]!.gtid} … ${list[list.length - 1]!.gtid}`;
}

function describeIncident(s: StagedFailover, out: Writable): void {
  const w = s.workload;
  const collided = (table: 'shop.customers' | 'shop.orders' | 'shop.order_notes'): string => {
    const ids = w.lostInsertIds[table].filter((id) => w.drInsertIds[table].includes(id));
    return ids.length === 0 ? 'none' : `${ids[0]}–${ids[ids.length - 1]}`;
  };
  line(out, 'salvage demo — a primary failed over to its DR; the DR never received its last transactions');
  section(out, 'What was staged');
  line(out, `  servers    MariaDB ${s.primaryVersion}: a primary (server_id 1) and a DR replicating from it (server_id 2)`);
  line(out, '  schema     shop.customers (AUTO_INCREMENT id, UNIQUE email, utf8mb4_general_ci)');
  line(out, '             shop.orders (FOREIGN KEY customer_id → customers)');
  line(out, '             shop.order_notes (order_id → orders, declared only in the configuration)');
  line(out, `  replicated ${s.shared.length} transactions (${span(s.shared)}): the DR had them all when the link was cut at ${s.linkCutGtidPos}`);
  line(out, `  lost       the primary then committed ${s.lost.length} more (${span(s.lost)}) and was SIGKILLed;`);
  line(out, `             the binlog copies: ${s.files.map((f) => basename(f)).join(', ')}${s.cut ? `, the last cut inside its final COMMIT (${s.cutTransaction?.gtid ?? '?'} is not whole: never applied)` : ''}`);
  line(out, `  promoted   the DR took ${s.drOwn.length} transactions of its own (${span(s.drOwn)} — the same sequence numbers, its own server id),`);
  line(out, `             handing out the same ids: customers ${collided('shop.customers')}, orders ${collided('shop.orders')}, notes ${collided('shop.order_notes')}`);
  line(out, `  clashes    e-mail ${w.caseClash.primaryEmail} (lost, customer ${w.caseClash.primaryId}) vs ${w.caseClash.drEmail} (DR, customer ${w.caseClash.drId}); both sides changed`);
  line(out, `             order ${w.roles.differentColumnsOrderId} (different columns) and customer ${w.roles.sameColumnCustomerId}'s balance (same column); the DR deleted`);
  line(out, `             order ${w.roles.deletedOnDrOrderId}, which the primary updated, and updated order ${w.roles.updatedOnDrOrderId}, which the primary deleted`);
}

/** The interesting decisions, one line each: everything but clean applies. */
function describeDecisions(ledger: readonly LedgerLine[], out: Writable): void {
  section(out, 'What happened to the lost changes that met the DR\'s own writes');
  const keyText = (k: readonly unknown[] | null | undefined): string => (k === null || k === undefined ? '-' : k.map((v) => String(v)).join(','));
  for (const l of ledger) {
    if (l.class === 'clean' && l.outcome === 'applied' && l.newKey === undefined) continue;
    const moved = l.newKey !== undefined ? ` → ${keyText(l.newKey)}` : '';
    line(out, `  ${l.gtid ?? '-'}  ${l.op.padEnd(6)} ${l.table} ${keyText(l.key)}${moved}: ${l.outcome} (${l.class})${l.reason ? ` — ${l.reason}` : ''}`);
  }
  const clean = ledger.filter((l) => l.class === 'clean' && l.outcome === 'applied' && l.newKey === undefined).length;
  line(out, `  (and ${clean} clean changes applied as they were)`);
}

/** Null when the three runs ended as the staged incident requires, else what differs. */
function selfCheck(plan: SalvageReport, apply: SalvageReport, again: SalvageReport): string | null {
  const problems: string[] = [];
  if (JSON.stringify(plan.outcomes) !== JSON.stringify(apply.outcomes)) problems.push(`plan decided ${JSON.stringify(plan.outcomes)}, apply ${JSON.stringify(apply.outcomes)}`);
  if (apply.outcomes.remapped === 0) problems.push('no lost insert was remapped, though both sides handed out the same ids');
  if (apply.quarantined === 0) problems.push('nothing was quarantined, though the case clash must be');
  if (again.lost.transactions !== 0) problems.push(`the second apply still found ${again.lost.transactions} lost transactions`);
  return problems.length === 0 ? null : problems.join('; ');
}

function explore(s: StagedFailover, filesDir: string, invocation: string, out: Writable, keep: boolean): void {
  section(out, 'Look closer');
  const dir = shellQuote(filesDir);
  line(out, `  ${dir}/plan.sql            the statements plan said apply would run, in order, for review`);
  line(out, `  ${dir}/apply.jsonl         one line per lost row change: class, outcome, key, new key, reason, images`);
  line(out, `  ${dir}/apply-report.json   the summary apply printed, as JSON`);
  line(out, `  ${invocation} inspect ${shellQuote(s.indexFile)}    the lost transactions as the binlogs hold them`);
  line(out);
  line(out, keep ? `  The servers' folders are kept (--keep): ${s.dr.rootDir} and ${s.primaryDir}.` : '  The servers are stopped and their folders removed (--keep keeps them).');
  line(out, `  The files stay in ${filesDir} until you delete them.`);
}

