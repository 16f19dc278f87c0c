/** `salvage plan` and `salvage apply`: the reconcile engine from the command line. */
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { formatProblems } from '../config/format-problems.js';
import { parseConfig, type NormalisedConfig } from '../config/normalise.js';
import { parseConnectionUrl, type ConnectionTarget } from '../db/connection-url.js';
import type { LogicalReferences } from '../model/table-schema.js';
import { salvage, type SalvageOptions, type SalvageProgress, type SalvageReport } from '../pipeline/salvage.js';
import { parseUtcDateTime } from '../pipeline/transaction-filter.js';
import type { StartRule } from '../reconcile/lost-transactions.js';
import { ledgerLineText } from '../sink/ledger-entry.js';
import { ExitCode } from './exit-codes.js';
import { readClientOptions } from './option-file.js';
import { UsageError } from './usage-error.js';

const COMMON = `Input (one of):
  --binlog FILE…            the failed primary's binlog files, oldest first, or its .index file
                            (repeat --binlog, or list the files after it)

The DR:
  --target URL              mysql://user@host:port of the DR (the password never on the command line:)
  --target-password-env VAR read the password from this environment variable
  --defaults-file F         read user/password/host/port from this option file ([client] section);
                            without it, ~/.my.cnf is read when present, as the mysql client does

Where the lost transactions start (default: the DR's GTID state — MySQL gtid_executed, MariaDB
gtid_slave_pos/gtid_binlog_pos, minding a promoted MariaDB DR's reused sequence numbers):
  --from FILE:POS           everything from this binlog position on is lost
  --from-gtid SET           everything outside this GTID set is lost
  --since "YYYY-MM-DD HH:MM:SS"   (UTC) everything committed at or after this time is lost
  Transactions this engine already applied (its checkpoint on the DR) are always left out.

Decisions and output:
  --config F                a configuration file (salvage config --help): strategies per table
                            and conflict class, column rules and groups, logical foreign keys
                            ("references"), keepTransactionsWhole, escalation, ignoreColumns
  --report F.json           the summary: start and why, lost set, counts per table × class ×
                            outcome, remaps, quarantine count, timings
  --ledger F.jsonl          one line per lost row change: {gtid, table, op, key, class, outcome,
                            newKey?, reason?, before?, after?, dr?}
  --json                    print the report as JSON on stdout instead of the summary
  --window N                source transactions per window (default 1000)
  --ddl stop|skip           DDL in the lost range: stop before writing anything (default), or skip it
  --ledger-images all|conflicts   row images in the DR's ledger for every change (default), or
                            only for changes not applied clean (their images stay in the binlog,
                            found by GTID): far fewer bytes on a large lost range
  --state-schema NAME       the engine's own schema on the DR (default salvage)
  --source-id ID            names the source in the checkpoint (default binlog:<file base name>)
  --no-verify-checksums     do not verify CRC32 checksums
  --quiet                   no progress on stderr
`;

export const PLAN_HELP = `salvage plan --binlog FILE… --target URL [options]

Dry run: find the transactions the DR never received, read the DR rows they touch, classify every
row change (clean, already applied, id taken by a different record → remap, changed on both sides →
merge, unique clash / missing row / … → quarantine) and report what apply would do. Writes
nothing to the DR, not even its state schema.

${COMMON}  --sql F                   the statements apply would run, in order, values spliced in

Exit codes: 0 nothing would be quarantined; 3 some changes would be quarantined; 2 bad input;
1 a fault (database, file).

Example:
  salvage plan --binlog /recovered/mysql-bin.index --target mysql://salvage@dr:3306 \\
      --target-password-env DR_PASSWORD --report plan.json --ledger plan.jsonl --sql plan.sql
`;

export const APPLY_HELP = `salvage apply --binlog FILE… --target URL [options]

Merge the lost transactions into the DR, exactly once: in windows of source transactions, each
applied in one DR transaction together with its ledger rows, quarantine entries, key map and
checkpoint (in the schema "salvage" on the DR). Killed at any moment, the same command resumes
after the last committed window. Rows are read with SELECT … FOR UPDATE inside the window's
transaction, so live traffic on the DR cannot slip a change between check and write.

${COMMON}
Exit codes: 0 done; 3 done, with quarantined changes awaiting review (salvage quarantine list,
then salvage resolve); 2 bad input or configuration; 1 stopped by a fault (the message says where
to resume: run the same command again).

Example:
  salvage apply --binlog /recovered/mysql-bin.index --target mysql://salvage@dr:3306 \\
      --target-password-env DR_PASSWORD --config salvage.json --report apply.json --ledger apply.jsonl
`;

export interface SalvageCommandEnvironment {
  readonly env: NodeJS.ProcessEnv;
  readonly home: string | undefined;
  readonly isTty: boolean;
  readonly signal?: AbortSignal;
}

/** Builds the DR connection from the URL, the password variable and the option files. */
export function targetFrom(url: string, passwordEnv: string | undefined, defaultsFile: string | undefined, env: NodeJS.ProcessEnv, home: string | undefined): ConnectionTarget {
  const file = readClientOptions(defaultsFile, home);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return parseConnectionUrl(url, '--target');
  }
  if (passwordEnv !== undefined && env[passwordEnv] === undefined) throw new UsageError(`--target-password-env: the environment variable ${passwordEnv} is not set`, '--target-password-env');
  const password = passwordEnv !== undefined ? env[passwordEnv] : parsed.password === '' ? file.password : undefined;
  if (parsed.username === '' && file.user !== undefined) parsed.username = encodeURIComponent(file.user);
  if (parsed.port === '' && file.port !== undefined) parsed.port = String(file.port);
  return parseConnectionUrl(parsed.toString(), '--target', password);
}

function startRule(o: { from?: string; 'from-gtid'?: string; since?: string }): StartRule | undefined {
  const given = [o.from, o['from-gtid'], o.since].filter((v) => v !== undefined);
  if (given.length > 1) throw new UsageError('give at most one of --from, --from-gtid and --since', '--from');
  if (o.from !== undefined) {
    const m = /^(.+):(\d+)$/.exec(o.from);
    if (m === null) throw new UsageError(`--from takes FILE:POS (mysql-bin.000042:1234), got "${o.from}"`, '--from');
    return { kind: 'from-position', file: m[1]!, pos: Number(m[2]) };
  }
  if (o['from-gtid'] !== undefined) return { kind: 'from-gtid', set: o['from-gtid'] };
  if (o.since !== undefined) return { kind: 'since', time: parseUtcDateTime(o.since, '--since') / 1000 };
  return undefined;
}

/** Logical references from the configuration's `tables.*.references`, in the engine's form. */
export function logicalReferences(config: NormalisedConfig): LogicalReferences {
  const out: Record<string, { references: Record<string, string> }> = {};
  for (const rule of config.tables) {
    const entries = Object.entries(rule.references);
    if (entries.length === 0) continue;
    out[rule.pattern] = { references: Object.fromEntries(entries.map(([col, ref]) => [col, `${ref.schema}.${ref.table}.${ref.column}`])) };
  }
  return out;
}

/** What this version does not carry out yet: refused rather than silently ignored. */
function unsupportedSettings(config: NormalisedConfig): string[] {
  const out: string[] = [];
  for (const [klass, s] of Object.entries(config.defaults)) if (s.strategy === 'delete-blocking') out.push(`defaults.onConflict.${klass}: delete-blocking`);
  for (const t of config.tables) {
    for (const [klass, s] of Object.entries(t.onConflict)) if (s?.strategy === 'delete-blocking') out.push(`tables."${t.pattern}".onConflict.${klass}: delete-blocking`);
  }
  if (config.cascadeGuard.kind !== 'forbid') out.push(`cascadeGuard: ${config.cascadeGuard.kind} (only "forbid")`);
  return out;
}

async function loadConfig(file: string): Promise<NormalisedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--config: cannot read ${file}: ${(e as Error).message}`, '--config');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--config: ${file} is not valid JSON: ${(e as Error).message}`, '--config');
  }
  const r = parseConfig(value);
  if (!r.ok) throw new UsageError(`--config: ${file} has problems:\n${formatProblems(r.problems)}`, '--config');
  const unsupported = unsupportedSettings(r.config);
  if (unsupported.length > 0) throw new UsageError(`--config: not carried out by this version yet, remove: ${unsupported.join('; ')}`, '--config');
  return r.config;
}

function line(out: Writable, s = ''): void {
  out.write(`${s}\n`);
}

/** Runs `plan` or `apply`; returns the exit code. */
export async function runSalvageCommand(mode: 'plan' | 'apply', args: string[], stdout: Writable, stderr: Writable, environment: SalvageCommandEnvironment): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        binlog: { type: 'string', multiple: true },
        target: { type: 'string' },
        'target-password-env': { type: 'string' },
        'defaults-file': { type: 'string' },
        from: { type: 'string' },
        'from-gtid': { type: 'string' },
        since: { type: 'string' },
        config: { type: 'string' },
        report: { type: 'string' },
        ledger: { type: 'string' },
        sql: { type: 'string' },
        json: { type: 'boolean' },
        window: { type: 'string' },
        ddl: { type: 'string' },
        'ledger-images': { type: 'string' },
        'state-schema': { type: 'string' },
        'source-id': { type: 'string' },
        'no-verify-checksums': { type: 'boolean' },
        quiet: { type: 'boolean' },
      },
    });
  } catch (e) {
    throw new UsageError(`${mode}: ${(e as Error).message}; see "salvage ${mode} --help"`);
  }
  const o = parsed.values;
  // Files may follow --binlog as positionals: `--binlog a b c`.
  const binlogs = [...(o.binlog ?? []), ...parsed.positionals];
  if (binlogs.length === 0) throw new UsageError(`${mode}: name the failed primary's binlogs with --binlog FILE… (or its .index file); see "salvage ${mode} --help"`, '--binlog');
  if (o.target === undefined) throw new UsageError(`${mode}: --target mysql://user@host:port (the DR) is required`, '--target');
  if (mode === 'apply' && o.sql !== undefined) throw new UsageError('--sql is a plan option: run "salvage plan … --sql FILE" to review the statements', '--sql');
  if (o.ddl !== undefined && o.ddl !== 'stop' && o.ddl !== 'skip') throw new UsageError(`--ddl takes stop or skip, got "${o.ddl}"`, '--ddl');
  const ledgerImages = o['ledger-images'];
  if (ledgerImages !== undefined && ledgerImages !== 'all' && ledgerImages !== 'conflicts') throw new UsageError(`--ledger-images takes all or conflicts, got "${ledgerImages}"`, '--ledger-images');
  const window = o.window === undefined ? undefined : Number(o.window);
  if (window !== undefined && (!Number.isInteger(window) || window < 1)) throw new UsageError(`--window takes a number of transactions ≥ 1, got "${o.window}"`, '--window');
  const target = targetFrom(o.target, o['target-password-env'], o['defaults-file'], environment.env, environment.home);
  const config = o.config === undefined ? undefined : await loadConfig(o.config);

  const ledgerOut = o.ledger === undefined ? null : await openOut(o.ledger, '--ledger');
  const sqlOut = o.sql === undefined ? null : await openOut(o.sql, '--sql');
  if (sqlOut) sqlOut.write(`-- salvage plan: the statements "salvage apply" would run against ${target.redacted}, in order.\n-- Each window runs in one transaction with foreign_key_checks=0, after SELECT … FOR UPDATE of its rows.\n`);
  const progress = progressPrinter(stderr, o.quiet === true, environment.isTty, mode);
  const options: SalvageOptions = {
    mode,
    binlogs,
    target,
    start: startRule(o),
    stateSchema: o['state-schema'] ?? config?.stateSchema,
    sourceId: o['source-id'],
    windowTransactions: window,
    config,
    logicalReferences: config === undefined ? undefined : logicalReferences(config),
    ddl: o.ddl as 'stop' | 'skip' | undefined,
    ledgerImages,
    verifyChecksums: !o['no-verify-checksums'],
    signal: environment.signal,
    onLedger: ledgerOut === null ? undefined : (l) => ledgerOut.write(`${ledgerLineText(l)}\n`),
    onSql: sqlOut === null ? undefined : (s) => sqlOut.write(`${s}\n`),
    onProgress: progress,
  };
  let report: SalvageReport;
  try {
    report = await salvage(options);
  } finally {
    progress.done();
    await Promise.all([close(ledgerOut), close(sqlOut)]);
  }
  if (o.report !== undefined) await writeFile(o.report, `${jsonText(report)}\n`);
  if (o.json) line(stdout, jsonText(report));
  else printSummary(report, stdout, o.target);
  return report.quarantined > 0 ? ExitCode.DoneWithQuarantine : ExitCode.Done;
}

async function openOut(path: string, option: string): Promise<WriteStream> {
  const stream = createWriteStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e) => reject(new UsageError(`${option}: cannot write ${path}: ${e.message}`, option)));
  });
  return stream;
}

function close(stream: WriteStream | null): Promise<void> {
  if (stream === null) return Promise.resolve();
  return new Promise((resolve) => stream.end(resolve));
}

/** JSON with bigints as digit strings (the report's keys may hold BIGINT UNSIGNED ids). */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

function progressPrinter(stderr: Writable, quiet: boolean, tty: boolean, mode: string): ((p: SalvageProgress) => void) & { done(): void } {
  let last = 0;
  let shown = false;
  const print = (p: SalvageProgress): void => {
    if (quiet) return;
    const now = p.elapsedMs;
    if (now - last < (tty ? 200 : 5000) && p.transactionsDone < p.transactionsTotal) return;
    last = now;
    const rate = now > 0 ? Math.round(p.rowChangesDone / (now / 1000)) : 0;
    const o = p.outcomes;
    const text = `${mode}: ${p.transactionsDone}/${p.transactionsTotal} transactions, ${p.rowChangesDone}/${p.rowChangesTotal} row changes, ${rate} rows/s, at ${p.position} — applied ${o.applied}, merged ${o.merged}, remapped ${o.remapped}, skipped ${o.skipped}, quarantined ${o.quarantined}`;
    stderr.write(tty ? `\r\x1b[K${text}` : `${text}\n`);
    shown = true;
  };
  return Object.assign(print, {
    done(): void {
      if (tty && shown && !quiet) stderr.write('\n');
    },
  });
}

/** The human summary on stdout. */
export function printSummary(r: SalvageReport, out: Writable, targetText: string): void {
  const verb = r.mode === 'plan' ? 'would be' : 'were';
  line(out, `salvage ${r.mode}: DR ${r.target} (${r.dr.flavor} ${r.dr.version}, server_id ${r.dr.serverId})${r.mode === 'plan' ? ' — dry run, nothing written' : `, run ${r.runId}`}`);
  line(out, `start: ${r.start.rule}`);
  for (const c of r.start.checks) line(out, `  CHECK: ${c}`);
  const span = r.lost.first === null ? '' : `, ${r.lost.first.gtid ?? `${r.lost.first.file}:${r.lost.first.pos}`} (${r.lost.first.timestamp}) … ${r.lost.last?.gtid ?? `${r.lost.last?.file}:${r.lost.last?.pos}`} (${r.lost.last?.timestamp})`;
  line(out, `lost: ${r.lost.transactions} transaction(s), ${r.lost.rowChanges} row change(s)${span}`);
  for (const t of r.incomplete) line(out, `  not applied: ${t.gtid ?? `${t.file}:${t.pos}`} never committed in the binlog (${t.reason})`);
  for (const d of r.skippedDdl) line(out, `  DDL skipped: ${d.at}: ${d.sql}`);
  const o = r.outcomes;
  line(out, `outcomes: ${o.applied} applied, ${o.merged} merged, ${o.remapped} remapped, ${o.skipped} skipped, ${o.quarantined} quarantined`);
  const rows: string[][] = [];
  for (const [table, byClass] of Object.entries(r.counts).sort()) {
    for (const [klass, byOutcome] of Object.entries(byClass).sort()) {
      for (const [outcome, n] of Object.entries(byOutcome).sort()) rows.push([table, klass, outcome, String(n)]);
    }
  }
  if (rows.length > 0) {
    const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length), ['table', 'class', 'outcome'][i]!.length));
    line(out, `  ${'table'.padEnd(widths[0]!)}  ${'class'.padEnd(widths[1]!)}  ${'outcome'.padEnd(widths[2]!)}  changes`);
    for (const row of rows) line(out, `  ${row[0]!.padEnd(widths[0]!)}  ${row[1]!.padEnd(widths[1]!)}  ${row[2]!.padEnd(widths[2]!)}  ${row[3]!.padStart(7)}`);
  }
  if (r.remaps.length > 0) {
    line(out, `remapped keys (${r.remaps.length}; the DR had given these ids to different records):`);
    for (const m of r.remaps.slice(0, 20)) line(out, `  ${m.table} ${m.oldKey.join(',')} → ${m.newKey.join(',')}  (${m.at})`);
    if (r.remaps.length > 20) line(out, `  … and ${r.remaps.length - 20} more (see --report)`);
  }
  if (r.quarantined > 0) {
    line(out, `quarantined: ${r.quarantined} change(s) ${verb} held back for review${r.mode === 'apply' ? ` — review them: salvage quarantine list --target ${targetText.replace(/:[^:@/]*@/, ':***@')}` : ''}`);
  }
  line(out, `decided without the DR's own binlog (value rules); ${r.windows} window(s), ${r.retries} retried; ${(r.timings.totalMs / 1000).toFixed(1)} s, ${r.timings.rowsPerSecond} rows/s`);
}
