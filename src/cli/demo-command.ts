/**
 * `salvage demo`: stage a failover on two throwaway MariaDB servers (src/demo/stage-failover.ts)
 * and salvage it with the real engine — plan, apply, apply again, each reading the DR's own binlog
 * — printing for a newcomer what happened, what the engine decided for every lost change and why,
 * and where the files are (the incident reports among them), then checking every staged part ended
 * as DESIGN.md's taxonomy says it must.
 * Results go to stdout, progress to stderr.
 */
import { createWriteStream, rmSync, type WriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, isAbsolute, join, relative } from 'node:path';
import type { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { onHostExit, type HostProcess } from '../demo/host-process.js';
import { findServerBinaries, ThrowawayErrorCode, type MariadbBinaries } from '../demo/mariadb-binaries.js';
import { FAILOVER_LOGICAL_REFERENCES, FAILOVER_TABLES, stageFailover, type StagedFailover } from '../demo/stage-failover.js';
import { EngineError } from '../errors.js';
import { salvage, type SalvageReport } from '../pipeline/salvage.js';
import { HTML_QUARANTINE_LIMIT, renderHtmlReport } from '../sink/html-report.js';
import { ledgerLineText, type LedgerLine } from '../sink/ledger-entry.js';
import { MARKDOWN_QUARANTINE_LIMIT, renderMarkdownReport } from '../sink/markdown-report.js';
import { quarantinedFromLedgerLine } from '../sink/report-source.js';
import { ExitCode } from './exit-codes.js';
import { jsonText, printSummary } from './salvage-command.js';
import { parseCommandArgs } from './usage-error.js';
import { VERSION } from './version.js';

export const DEMO_HELP = `salvage demo [--keep] [--quiet]

Stage a failover on two throwaway MariaDB servers, then salvage it: the whole job of
binlog-salvage, on your machine, in a few seconds. Nothing outside a temp folder is touched: the
servers listen on 127.0.0.1 on free ports and start with --no-defaults.

What it does:
  1. starts a primary and a DR that replicates from it (MariaDB GTID replication; the DR logs
     what it replicates, log_slave_updates, so its own binlog holds the primary's transactions
     under server_id 1 and, after the failover, its own under server_id 2)
  2. creates a small shop: customers (AUTO_INCREMENT id, UNIQUE email under a case-insensitive
     collation), orders (FOREIGN KEY to customers), order_notes (a "logical" foreign key to orders
     that only the configuration declares), and commits a seeded workload the DR receives
  3. cuts the link; the primary keeps committing (the transactions the DR will never receive),
     its binlogs are copied off as from a dead host, it is SIGKILLed, and the last copy is cut in
     the middle of its last COMMIT
  4. promotes the DR, which takes writes of its own: new customers and orders with the SAME ids
     the primary handed out, an e-mail that differs from a lost one only in case, changes to rows
     the primary changed too, a delete of a row the primary updated, and a rename it undoes
  5. runs "salvage plan" (writes nothing), then "salvage apply", then apply again (nothing left to
     do: exactly once), each with the DR's own binlog (--dr-binlog): the failover point, and which
     records the DR created, changed or deleted since; prints what happened to every lost change

The binlog copies, plan.sql, the ledgers, the JSON reports and the incident reports (plan.html,
apply.html, apply.md) stay in a temp folder whose path is printed; the servers and their data
directories are removed at the end, on error and on Ctrl-C.

Options:
  --keep       keep the servers' folders too (data directories, binlogs, error logs); the
               servers are stopped either way
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
  const { values } = parseCommandArgs('demo', { args, options: { keep: { type: 'boolean' }, quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
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
          // The DR's binlog files as they are, listed anew for each run: the DR is idle but for
          // salvage itself, and the engine checks they reach SHOW MASTER STATUS (else the history
          // is incomplete). Its own writes of the first apply are in them for the second, and are
          // not DR history (they write the state schema).
          drBinlogs: await staged!.dr.binlogFiles(),
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
    await writeReports(filesDir, 'plan', plan, false);
    section(stdout, '1. salvage plan — a dry run: what apply would do (nothing is written to the DR)');
    printSummary(plan.report, stdout, `--target ${target}`);
    const apply = await run('apply', 'apply');
    await writeReports(filesDir, 'apply', apply, true);
    section(stdout, '2. salvage apply — merged into the DR, one DR transaction per window, exactly once');
    printSummary(apply.report, stdout, `--target ${target}`);
    describeDecisions(apply.ledger, stdout);
    describeHistory(staged, apply.ledger, stdout);
    const again = await run('apply', 'apply-again');
    section(stdout, '3. salvage apply, again — the checkpoint on the DR says everything is done');
    line(stdout, `  ${again.report.start.rule}`);
    line(stdout, `  ${again.report.lost.transactions} lost transactions left, ${again.ledger.length} changes decided: nothing to do.`);
    const problem = await selfCheck(staged, plan, apply, again.report);
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

/** The incident reports of a run, rendered as `salvage plan|apply --html F [--markdown F]` renders them. */
async function writeReports(filesDir: string, name: 'plan' | 'apply', r: { report: SalvageReport; ledger: readonly LedgerLine[] }, markdown: boolean): Promise<void> {
  const quarantined = r.ledger.filter((l) => l.outcome === 'quarantined');
  const html = renderHtmlReport(r.report, quarantined.slice(0, HTML_QUARANTINE_LIMIT).map(quarantinedFromLedgerLine), { generator: `binlog-salvage ${VERSION}` });
  await writeFile(join(filesDir, `${name}.html`), html);
  if (markdown) await writeFile(join(filesDir, `${name}.md`), renderMarkdownReport(r.report, quarantined.slice(0, MARKDOWN_QUARANTINE_LIMIT)));
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
  line(out, `             order ${w.roles.deletedOnDrOrderId}, which the primary updated, and updated order ${w.roles.updatedOnDrOrderId}, which the primary deleted;`);
  line(out, `             both renamed customer ${w.roles.revertedCustomerId}, and the DR renamed it back: its row looks untouched, only its binlog says otherwise`);
  line(out, `  DR binlog  the DR logged what it replicated (server_id 1) and, since the failover, what it wrote itself (server_id 2):`);
  line(out, '             every salvage run below reads it (--dr-binlog) to tell the DR\'s own records from the primary\'s');
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

/** One-line JSON, bigints as digits. */
function compact(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x)) ?? 'none';
}

/** A value of a ledger image as people read it: strings quoted, the rest as JSON. */
function valueText(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : JSON.stringify(v) ?? 'none';
}

/** The one ledger line of a change to the row `id` of `table`, if there is exactly one. */
function lineFor(ledger: readonly LedgerLine[], table: string, op: string, id: number): LedgerLine | undefined {
  const found = ledger.filter((l) => l.table === table && l.op === op && l.key?.[0] === id);
  return found.length === 1 ? found[0] : undefined;
}

/** The decisions that rest on the DR's binlog rather than on its rows, told for the staged parts. */
function describeHistory(s: StagedFailover, ledger: readonly LedgerLine[], out: Writable): void {
  const { roles } = s.workload;
  section(out, "What only the DR's own binlog could tell");
  const reverted = lineFor(ledger, 'shop.customers', 'update', roles.revertedCustomerId);
  if (reverted !== undefined) {
    line(out, `  customer ${roles.revertedCustomerId}: the DR renamed it and renamed it back, so its row equals the one at the failover, and by`);
    line(out, `    values alone the lost rename (${valueText(reverted.before?.['name'])} → ${valueText(reverted.after?.['name'])}) would have been applied over it as a clean update.`);
    line(out, `    The DR's binlog shows the DR changed ${(reverted.conflicts ?? []).join(', ')} too: both sides changed them, so the DR keeps`);
    line(out, `    its values and the conflict is recorded: ${reverted.outcome} (${reverted.class}).`);
  }
  const deleted = lineFor(ledger, 'shop.orders', 'update', roles.deletedOnDrOrderId);
  if (deleted !== undefined) {
    line(out, `  order ${roles.deletedOnDrOrderId}: missing on the DR. Its binlog says why — ${deleted.reason ?? 'no reason recorded'} —`);
    line(out, `    so it is ${deleted.class}, not a row that never existed there: ${deleted.outcome}, with the note added to it.`);
  }
  const taken = ledger.filter((l) => l.class === 'insert-pk-taken');
  line(out, `  The ${taken.length} remapped inserts: the DR's binlog shows it gave those ids to records of its own after the failover`);
  line(out, '    (by values alone, that the key is AUTO_INCREMENT is the only clue).');
  line(out, '  Each of these ledger lines says "withoutHistory": false. Without --dr-binlog, rows are told apart by key and');
  line(out, '  values, and every decision is recorded as made without history.');
}

/** One staged part and the decision the salvage must make for it. */
interface Expected {
  readonly what: string;
  readonly table: string;
  readonly op: 'insert' | 'update' | 'delete';
  readonly id: number;
  readonly class: string;
  readonly outcome: string;
  /** A column the decision must record as changed on both sides. */
  readonly conflict?: string;
}

/** What the salvage must decide for each staged part, with the DR's binlog (DESIGN.md "Conflict taxonomy"). */
function expectedDecisions(s: StagedFailover): Expected[] {
  const w = s.workload;
  const roles = w.roles;
  const collided = FAILOVER_TABLES.flatMap((table) =>
    w.lostInsertIds[table]
      .filter((id) => w.drInsertIds[table].includes(id) && !(table === 'shop.customers' && id === w.caseClash.primaryId))
      .map((id): Expected => ({ what: 'the DR gave its id to a record of its own', table, op: 'insert', id, class: 'insert-pk-taken', outcome: 'remapped' })),
  );
  return [
    { what: 'both sides changed different columns', table: 'shop.orders', op: 'update', id: roles.differentColumnsOrderId, class: 'update-diverged', outcome: 'merged' },
    { what: 'both sides changed the balance', table: 'shop.customers', op: 'update', id: roles.sameColumnCustomerId, class: 'update-diverged', outcome: 'merged', conflict: 'balance' },
    // By values the DR row equals B (renamed back): a clean update that would overwrite the DR's
    // name. The DR's binlog logged the rename, so both sides changed the column: the DR keeps its
    // value and the conflict is recorded, as DESIGN.md's update-diverged says.
    { what: 'the DR renamed it and renamed it back', table: 'shop.customers', op: 'update', id: roles.revertedCustomerId, class: 'update-diverged', outcome: 'merged', conflict: 'name' },
    // update-missing by values; the DR's binlog holds the DELETE, so deleted on the DR, not never there.
    { what: 'the DR deleted it', table: 'shop.orders', op: 'update', id: roles.deletedOnDrOrderId, class: 'update-deleted-on-dr', outcome: 'quarantined' },
    // The record existed at the failover (the DR's first change to it was an update): not pk-reused.
    { what: 'the DR updated it', table: 'shop.orders', op: 'delete', id: roles.updatedOnDrOrderId, class: 'delete-diverged', outcome: 'quarantined' },
    ...roles.deletedOrderIds.map((id): Expected => ({ what: 'only the primary deleted it', table: 'shop.orders', op: 'delete', id, class: 'clean', outcome: 'applied' })),
    { what: 'its e-mail, in another case, is the DR\'s', table: 'shop.customers', op: 'insert', id: w.caseClash.primaryId, class: 'insert-unique-taken', outcome: 'quarantined' },
    ...collided,
  ];
}

/** Null when the three runs ended as the staged incident requires (decisions and DR rows), else what differs. */
async function selfCheck(
  s: StagedFailover,
  plan: { report: SalvageReport; ledger: readonly LedgerLine[] },
  apply: { report: SalvageReport; ledger: readonly LedgerLine[] },
  again: SalvageReport,
): Promise<string | null> {
  const problems: string[] = [];
  const roles = s.workload.roles;
  if (compact(plan.report.outcomes) !== compact(apply.report.outcomes)) problems.push(`plan decided ${compact(plan.report.outcomes)}, apply ${compact(apply.report.outcomes)}`);
  const h = apply.report.history;
  if (h === undefined || h === null) problems.push("apply read no history from the DR's binlog");
  else {
    if (h.failover.lastReceived?.at !== s.linkCutGtidPos) problems.push(`failover: last received ${h.failover.lastReceived?.at ?? 'none'}, but the link was cut at ${s.linkCutGtidPos}`);
    if (h.failover.firstOwn?.at !== s.drOwn[0]?.gtid) problems.push(`failover: first own write ${h.failover.firstOwn?.at ?? 'none'}, but the DR's first was ${s.drOwn[0]?.gtid ?? 'none'}`);
    if (!h.complete || h.transactions !== s.drOwn.length) problems.push(`history: ${h.transactions} DR transactions${h.complete ? '' : ', incomplete'}; the DR wrote ${s.drOwn.length}`);
  }
  const valueRuled = apply.ledger.filter((l) => l.withoutHistory).length;
  if (valueRuled > 0) problems.push(`${valueRuled} change(s) decided without history`);

  const matched = new Set<LedgerLine>();
  for (const e of expectedDecisions(s)) {
    const l = lineFor(apply.ledger, e.table, e.op, e.id);
    const where = `${e.op} ${e.table} ${e.id} (${e.what})`;
    if (l === undefined) {
      problems.push(`${where}: not exactly one ledger line`);
      continue;
    }
    matched.add(l);
    const conflicts = l.conflicts ?? [];
    if (l.class !== e.class || l.outcome !== e.outcome || (e.conflict !== undefined && !conflicts.includes(e.conflict))) {
      problems.push(`${where}: ${l.outcome} (${l.class}; conflicts ${conflicts.join(',') || 'none'}), expected ${e.outcome} (${e.class}${e.conflict === undefined ? '' : `; a conflict on ${e.conflict}`})`);
    }
  }
  // Everything else applies clean, or is held back with a change of its own transaction it depends on.
  const held = new Set([...matched].filter((l) => l.outcome === 'quarantined').map((l) => l.gtid));
  for (const l of apply.ledger) {
    if (matched.has(l)) continue;
    const dependent = l.outcome === 'quarantined' && (l.class === 'parent-missing' || l.class === 'transaction-quarantined') && held.has(l.gtid);
    if (!dependent && !(l.class === 'clean' && l.outcome === 'applied')) problems.push(`${l.op} ${l.table} ${compact(l.key)} at ${l.gtid ?? '?'}: ${l.outcome} (${l.class}), expected a clean apply`);
  }

  // The rows the merges and the quarantine leave on the DR.
  const drNow = async (table: string, id: number): Promise<unknown> => (await s.dr.query(`SELECT * FROM ${table} WHERE id = ?`, [id])).rows[0];
  const drThen = (table: 'shop.customers' | 'shop.orders', id: number): unknown => s.drAfterPromotion[table].find((r) => r['id'] === id);
  const primaryRow = s.primaryFinal['shop.orders'].find((r) => r['id'] === roles.differentColumnsOrderId);
  const rows: [string, 'shop.customers' | 'shop.orders', number, unknown][] = [
    ['keeps its own name (renamed back)', 'shop.customers', roles.revertedCustomerId, drThen('shop.customers', roles.revertedCustomerId)],
    ['keeps its own balance', 'shop.customers', roles.sameColumnCustomerId, drThen('shop.customers', roles.sameColumnCustomerId)],
    ['takes the lost status beside its own total', 'shop.orders', roles.differentColumnsOrderId, { ...(drThen('shop.orders', roles.differentColumnsOrderId) as object), status: primaryRow?.['status'] }],
    ['keeps the order the lost change deleted', 'shop.orders', roles.updatedOnDrOrderId, drThen('shop.orders', roles.updatedOnDrOrderId)],
    ['does not bring back the order it deleted', 'shop.orders', roles.deletedOnDrOrderId, undefined],
  ];
  for (const [what, table, id, want] of rows) {
    const got = await drNow(table, id);
    if (compact(got) !== compact(want)) problems.push(`the DR ${what}: ${table} ${id} is ${compact(got)}, expected ${compact(want)}`);
  }
  if (again.lost.transactions !== 0) problems.push(`the second apply still found ${again.lost.transactions} lost transactions`);
  return problems.length === 0 ? null : problems.join('; ');
}

function explore(s: StagedFailover, filesDir: string, invocation: string, out: Writable, keep: boolean): void {
  section(out, 'Look closer');
  const dir = shellQuote(filesDir);
  const files: [string, ...string[]][] = [
    ['apply.html', 'the incident report: timeline, changes per table × class × outcome, remapped keys,', 'every quarantined change with its row images side by side and the reason'],
    ['apply.md', 'the same for a ticket or chat (Markdown); plan.html: the plan\'s report'],
    ['plan.sql', 'the statements plan said apply would run, in order, for review'],
    ['apply.jsonl', 'one line per lost row change: class, outcome, key, new key, reason, images'],
    ['apply-report.json', 'the summary apply printed, as JSON'],
  ];
  const width = Math.max(...files.map(([name]) => name.length)) + 2;
  for (const [name, first, ...more] of files) {
    line(out, `  ${dir}/${name.padEnd(width)}${first}`);
    for (const m of more) line(out, `  ${' '.repeat(dir.length + 1 + width)}${m}`);
  }
  line(out, `  ${invocation} inspect ${shellQuote(s.indexFile)}    the lost transactions as the binlogs hold them`);
  line(out);
  line(
    out,
    keep
      ? `  The servers are stopped; their folders are kept (--keep): ${s.dr.rootDir} and ${s.primaryDir}.`
      : '  The servers are stopped and their folders removed (--keep keeps them): the quarantine is in apply.html.',
  );
  line(out, `  The files stay in ${filesDir} until you delete them.`);
  line(out);
  line(out, `The plan's report:      ${pathToFileURL(join(filesDir, 'plan.html')).href}`);
  line(out, `Open this in a browser: ${pathToFileURL(join(filesDir, 'apply.html')).href}`);
}
