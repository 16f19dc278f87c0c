/** `salvage plan` and `salvage apply`: the reconcile engine from the command line. */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { FOLLOW_DR_BINLOG_WARNING, salvage, type SalvageOptions, type SalvageProgress, type SalvageReport } from '../pipeline/salvage.js';
import { parseUtcDateTime } from '../pipeline/transaction-filter.js';
import { startGtidCovers } from '../source/live-start.js';
import { checkFromGtid, type StartRule } from '../reconcile/lost-transactions.js';
import { ledgerLineText, type LedgerLine } from '../sink/ledger-entry.js';
import { MARKDOWN_QUARANTINE_LIMIT, renderMarkdownReport } from '../sink/markdown-report.js';
import { HTML_QUARANTINE_LIMIT, renderHtmlReport, renderStoppedHtmlReport } from '../sink/html-report.js';
import { quarantinedFromLedgerLine, type ReportQuarantinedChange } from '../sink/report-source.js';
import { parseConnectionUrlParts, serverLabel, type ConnectionTarget } from '../db/connection-url.js';
import { DEFAULT_STATE_SCHEMA } from '../db/state-schema.js';
import { ExitCode } from './exit-codes.js';
import { connectionFrom, TLS_OPTIONS, tlsFlagNames, tlsFlagsOf, tlsMoreHelp } from './option-file.js';
import { stateSchemaOption } from './state-schema-option.js';
import { progressStyle, reconnectNotices, salvageProgress, stallNotices, type ProgressSink } from './progress.js';
import { stallNoticeOption } from './stall-option.js';
import { parseCommandArgs, UsageError } from './usage-error.js';
import { reconnectOption } from './reconnect-option.js';
import { loadConfigFile, type LoadedConfig } from './config-file.js';
import { VERSION } from './version.js';

const COMMON = `Input (one of):
  --binlog FILE…            the failed primary's binlog files, oldest first, or its .index file
                            (repeat --binlog, or list the files after it)
  --source URL              a live server's binlogs over the replication protocol: the failed
                            primary brought back (read-only is enough), or a binlog server
                            (mysql://user@host:port; needs REPLICATION SLAVE and REPLICATION CLIENT)
  --source-password-env VAR its password from this environment variable (or --defaults-file)
  --source-ssl-mode MODE, --source-ssl-ca F, --source-ssl-cert F, --source-ssl-key F
                            TLS to the source, as --ssl-mode … below
${tlsMoreHelp('source-')}  --start-file NAME         with --source: start reading at this binlog (default: where this
  --start-position N        source's checkpoint ends, else the first binlog the server has), at N
                            (default 4); give a transaction's start, as inspect prints it ("pos")
  --start-gtid SET          with --source, instead: start in the newest binlog whose starting GTID
                            state is inside SET (what is lost is still decided as below)
  Without --follow a live server is read to its end at the start of the run.

The DR:
  --target URL              mysql://user@host:port of the DR ([::1] for IPv6; a Unix socket:
                            mysql://user@localhost?socket=PATH)
  --target-password-env VAR read the password from this environment variable (never on the
                            command line)
  --defaults-file F         read user/password/host/port/socket from this option file ([client]);
                            without it, ~/.my.cnf is read when present, as the mysql client does
                            (and ssl-mode, ssl-ca, … tls-version, as the mysql client reads them)
  --ssl-mode MODE           TLS to the DR: DISABLED, PREFERRED (the default: encrypted when the
                            server offers TLS, certificate not checked), REQUIRED, VERIFY_CA (the
                            server's certificate must be signed by --ssl-ca; the default when a CA
                            is given), VERIFY_IDENTITY (and must name the host connected to)
  --ssl-ca F                the CA certificate (PEM) that signed the DR's certificate
  --ssl-cert F, --ssl-key F a client certificate and its key (accounts that REQUIRE X509)
${tlsMoreHelp('')}  --reconnect-attempts N    a lost connection to the DR (or to a live source) is reopened after a
                            backoff (0.5 s doubling to 10 s) up to N times in a row (default 10);
                            the window in progress is decided again, or kept if its COMMIT landed;
                            a start-up step (lock, state schema, checkpoint, schema read) is made
                            again; plan reads its window again. A DR or live source that does not
                            answer yet at the start is tried the same way (access denied, an
                            unknown database or TLS refused fail at once); each attempt is a
                            warning line on stderr
  --stall-notice S          a DR statement still waiting after S seconds (default 30; 0: never)
                            gets a warning line saying why, asked on a second connection: its
                            state on the DR (PROCESSLIST) and the connections holding the InnoDB
                            lock it waits for (a transaction an application left open: commit,
                            roll back or KILL it), again every minute while it waits; the run
                            goes on waiting (--progress json: a "stall" event)

Where the lost transactions start (default: the DR's GTID state — MySQL gtid_executed, MariaDB
gtid_slave_pos/gtid_binlog_pos, minding a promoted MariaDB DR's reused sequence numbers):
  --from FILE:POS           everything from this binlog position on is lost
  --from-gtid SET           everything outside this GTID set is lost
  --since "YYYY-MM-DD HH:MM:SS"   (UTC) everything committed at or after this time is lost
  Transactions this engine already applied (its checkpoint on the DR) are always left out.

Telling records apart — the DR's own binlog since the failover (recommended):
  --dr-binlog FILE          the DR's binlog files (repeat the option) or its .index file: which ids
                            the DR handed to records of its own after the failover, which rows it
                            changed (even back to their old values) or deleted. Without it, a DR row
                            is judged the same record as a lost one by its key and values, and the
                            report says so
  --dr-source URL           the same, read live from the DR (REPLICATION SLAVE; the binlog to its
                            end now, and with --follow on before each window, so records the DR
                            creates meanwhile are known too; files given as --dr-binlog end where
                            they end); --dr-source-password-env VAR for its password; TLS as the
                            DR's (--ssl-mode … below)
  --failover-at WHERE       where the failover happened, when the binlog cannot show it (the DR's
                            server id changed, or is the primary's: then it is required): the last
                            GTID the DR received from the primary (one the DR wrote itself is
                            refused), a DR binlog position FILE:POS, or a time
                            "YYYY-MM-DD HH:MM:SS" (UTC)

Decisions and output:
  --config F                a configuration file (salvage config --help): strategies per table
                            and conflict class, column rules and groups, logical foreign keys
                            ("references"), keepTransactionsWhole, escalation, ignoreColumns
  --report F.json           the summary: start and why, lost set, counts per table × class ×
                            outcome, remaps, quarantine count, timings
  --ledger F.jsonl          one line per lost row change: {gtid, table, op, key, class, outcome,
                            newKey?, reason?, before?, after?, dr?}
  --markdown F.md           the summary as Markdown for a ticket or chat: start and lost set, lost
                            window, counts per table, remapped keys, quarantined changes and why
  --html F.html             the incident report as one self-contained HTML page (loads nothing;
                            prints well): the timeline, a chart of the counts per table × class ×
                            outcome, the remapped keys, and every quarantined change with its row
                            images (before, after, DR row) side by side and the reason
  --json                    print the report as JSON on stdout instead of the summary
  --window N                source transactions per window (default 1000)
  --window-rows N           row changes per window (default 10000): a window closes at whichever
                            limit it meets first (one transaction larger than N is a window alone)
  --ddl stop|skip           DDL in the lost range: stop before writing anything (default), or skip it
                            (an ADD COLUMN: add the column on the DR by hand, then skip it — where
                            the primary has it with binlog_row_metadata=FULL, else last; images
                            logged before it leave the column to its default)
  --stop-before WHERE       end the lost range just before one transaction of the input: its GTID
                            (0-1-12, uuid:n) or the position where it starts (FILE:POS, as inspect
                            prints it); nothing from it on is read, decided or written, and apply's
                            checkpoint ends before it, so the same command without it goes on from
                            there (a column added in the middle without
                            binlog_row_metadata=FULL: apply up to the ALTER, alter the DR by hand,
                            then apply with --ddl skip). One the input does not hold is
                            refused before anything is written (2). With --follow: applies what
                            comes before it and ends when it is read; one already past is
                            refused (2)
  --keep-gtids              each lost transaction is applied in its own DR transaction under its
                            original GTID (MariaDB: SET SESSION gtid_domain_id, server_id,
                            gtid_seq_no, needing BINLOG REPLAY or SUPER; MySQL: SET gtid_next,
                            needing gtid_mode ON), so the DR's own GTID state records it and the
                            old primary can rejoin without errant transactions; decisions are as
                            without it. A transaction all quarantined is not committed under its
                            GTID (it is not on the DR); one all already there or skipped is, with
                            no data writes. Refused before anything is written (2): the DR's
                            binlog off, a lost transaction without GTID, a MariaDB DR that already
                            logged the domain's sequence numbers (the promotion overlap) or writes
                            its own transactions in that domain (with --follow: checked as each
                            lost transaction is met, before it is written). plan shows
                            the SET statements in --sql
  --allow-triggers          let the DR's triggers on the tables the lost range writes fire on
                            apply's writes. Without it apply refuses such tables before writing
                            anything (2), naming the triggers: replication's row events fire none,
                            so an audit row or counter a trigger keeps would be written twice.
                            Drop them for the length of apply, or pass this when they only check
                            rows (a SIGNAL quarantines its transaction as dr-rejected). plan warns.
                            With --follow, a trigger created after the start stops the run (2)
                            before the window that would write its table, those before committed
  --ledger-images all|conflicts   row images in the DR's ledger for every change (default), or
                            only for changes not applied clean (their images stay in the binlog,
                            found by GTID): far fewer bytes on a large lost range
  --state-schema NAME       the engine's own schema on the DR (default salvage)
  --source-id ID            names the source in the checkpoint (default binlog:<file base name>;
                            with --source live:<server_uuid> on MySQL, live:<host>:<port> on MariaDB,
                            live:<host>:<socket path> over a Unix socket)
  --no-verify-checksums     do not verify CRC32 checksums
  --skip-damaged            a transaction whose events fail their checksum or do not decode is
                            skipped and recorded in the ledger (class damaged), when the boundary
                            after the damage can be trusted; without it (or when it cannot be
                            trusted) the run applies everything before the damage, then stops (2)
  --allow-relay-log         read relay logs given with --binlog (refused otherwise: they hold what
                            a replica received, not what the primary wrote)
  --force-source            do not refuse binlogs whose GTIDs come from none of the servers the
                            DR replicated from (its gtid_slave_pos / gtid_executed)
  --quiet                   no progress or warning lines on stderr (reconnect attempts, stalls)
  --progress auto|plain|json   progress on stderr: a refreshed line on a terminal, else a line
                            every 5 s (auto, the default); plain lines; or JSON events for
                            wrappers, one per line: {"event":"progress", transactionsDone,
                            transactionsTotal, rowChangesDone, rowChangesTotal, rowsPerSecond,
                            etaSeconds, position, outcomes, elapsedMs, following} (with --follow
                            at least every 5 s, also while nothing is applied), then
                            {"event":"done", "ok": true|false, …} with the last figures (zeros
                            when nothing was applied) when the command ends
  --binlog and --dr-binlog add up when repeated; any other option that takes a value, given
  twice, exits 2.
`;

export const PLAN_HELP = `salvage plan (--binlog FILE… | --source URL) --target URL [options]

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

export const APPLY_HELP = `salvage apply (--binlog FILE… | --source URL [--follow]) --target URL [options]

Merge the lost transactions into the DR, exactly once: in windows of source transactions, each
applied in one DR transaction together with its ledger rows, quarantine entries, key map and
checkpoint (in the schema "salvage" on the DR). Killed at any moment, the same command resumes
after the last committed window. Rows are read with SELECT … FOR UPDATE inside the window's
transaction, so live traffic on the DR cannot slip a change between check and write.

${COMMON}
Following a live server:
  --follow                  with --source: keep reading as the server writes, applying in windows
                            (a window also closes 1 s after its first transaction came) and
                            checkpointing each, until Ctrl-C / SIGTERM: the window in progress
                            commits, then the run prints where it stopped; the same command resumes
                            there. No pre-scan: remapped ids are picked above the DR's own ids and
                            counter, not above ids the source inserts later (those are remapped too).
  A dropped source connection (the server restarted, the dump thread killed, or silent for 15 s:
  no heartbeat) is reopened with backoff (0.5 s doubling to 10 s, 10 attempts in a row) at the end
  of the last committed window.

Exit codes: 0 done; 3 done, with quarantined changes awaiting review, this run's or an earlier
run's (salvage quarantine list, then salvage resolve); 2 bad input or configuration; 1 stopped by a fault (the message says where
to resume: run the same command again).

Examples:
  salvage apply --binlog /recovered/mysql-bin.index --target mysql://salvage@dr:3306 \\
      --target-password-env DR_PASSWORD --config salvage.json --report apply.json --ledger apply.jsonl
  salvage apply --source mysql://salvage@old-primary:3306 --source-password-env PRIMARY_PW \\
      --target mysql://salvage@dr:3306 --target-password-env DR_PASSWORD --follow
`;

export interface SalvageCommandEnvironment {
  readonly env: NodeJS.ProcessEnv;
  readonly home: string | undefined;
  readonly isTty: boolean;
  readonly signal?: AbortSignal;
}

/** Builds the DR (or source) connection: see option-file.ts `connectionFrom`. */
export const targetFrom = connectionFrom;

/** `--dr-binlog FILE…` / `--dr-source URL` and `--failover-at`: the DR's own history (issue 8). */
async function drHistoryOptions(
  o: { 'dr-binlog'?: string[]; 'dr-source'?: string; 'dr-source-password-env'?: string; 'defaults-file'?: string; 'failover-at'?: string },
  environment: SalvageCommandEnvironment,
): Promise<Pick<SalvageOptions, 'drBinlogs' | 'drSource' | 'failoverAt'>> {
  const files = o['dr-binlog'] ?? [];
  if (files.length > 0 && o['dr-source'] !== undefined) throw new UsageError("give the DR's binlog as files (--dr-binlog) or live (--dr-source), not both", '--dr-source');
  if (o['dr-source-password-env'] !== undefined && o['dr-source'] === undefined) throw new UsageError('--dr-source-password-env goes with --dr-source URL', '--dr-source-password-env');
  if (o['failover-at'] !== undefined && files.length === 0 && o['dr-source'] === undefined) {
    throw new UsageError("--failover-at places the failover in the DR's binlog: give it with --dr-binlog FILE… or --dr-source URL", '--failover-at');
  }
  // The reader (and the live source it can use) loads only when asked for.
  const failoverAt = o['failover-at'] === undefined ? undefined : (await import('../source/dr-history-reader.js')).parseFailoverAt(o['failover-at']);
  // The DR itself, read live: its TLS is the DR's (--ssl-*).
  const drSource = o['dr-source'] === undefined ? undefined : { target: targetFrom(o['dr-source'], o['dr-source-password-env'], o['defaults-file'], environment.env, environment.home, '--dr-source', tlsFlagsOf(o, '')) };
  return { ...(files.length > 0 ? { drBinlogs: files } : {}), ...(drSource === undefined ? {} : { drSource }), ...(failoverAt === undefined ? {} : { failoverAt }) };
}

function startRule(o: { from?: string; 'from-gtid'?: string; since?: string }): StartRule | undefined {
  const given = [o.from, o['from-gtid'], o.since].filter((v) => v !== undefined);
  if (given.length > 1) throw new UsageError('give at most one of --from, --from-gtid and --since', '--from');
  if (o.from !== undefined) {
    const m = /^(.+):(\d+)$/.exec(o.from);
    if (m === null) throw new UsageError(`--from takes FILE:POS (mysql-bin.000042:1234), got "${o.from}"`, '--from');
    return { kind: 'from-position', file: m[1]!, pos: Number(m[2]) };
  }
  if (o['from-gtid'] !== undefined) {
    checkFromGtid(o['from-gtid']); // a bad set is bad input before anything is read or connected
    return { kind: 'from-gtid', set: o['from-gtid'] };
  }
  if (o.since !== undefined) return { kind: 'since', time: parseUtcDateTime(o.since, '--since') };
  return undefined;
}

/** `--config FILE`: JSON, or a .mjs/.ts module with custom strategies (config-file.ts). */
async function loadConfig(file: string): Promise<LoadedConfig> {
  return loadConfigFile(file);
}

function line(out: Writable, s = ''): void {
  out.write(`${s}\n`);
}

/** Runs `plan` or `apply`; returns the exit code. */
export async function runSalvageCommand(mode: 'plan' | 'apply', args: string[], stdout: Writable, stderr: Writable, environment: SalvageCommandEnvironment): Promise<number> {
  const parsed = parseSalvageArgs(mode, args);
  const o = parsed.values;
  // Made first: a run that stops on its options or configuration still ends with the "done" event a wrapper waits for.
  const progress = salvageProgress(stderr, progressStyle(o.progress, o.quiet === true, environment.isTty), mode);
  try {
    return await runParsed(mode, parsed, progress, stdout, stderr, environment);
  } catch (e) {
    progress.done(false);
    throw e;
  }
}

function parseSalvageArgs(mode: 'plan' | 'apply', args: string[]) {
  return parseCommandArgs(mode, {
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
      markdown: { type: 'string' },
      html: { type: 'string' },
      sql: { type: 'string' },
      json: { type: 'boolean' },
      window: { type: 'string' },
      'window-rows': { type: 'string' },
      ddl: { type: 'string' },
      'stop-before': { type: 'string' },
      'ledger-images': { type: 'string' },
      'state-schema': { type: 'string' },
      'source-id': { type: 'string' },
      'no-verify-checksums': { type: 'boolean' },
      'skip-damaged': { type: 'boolean' },
      'allow-relay-log': { type: 'boolean' },
      'force-source': { type: 'boolean' },
      'keep-gtids': { type: 'boolean' },
      'allow-triggers': { type: 'boolean' },
      quiet: { type: 'boolean' },
      progress: { type: 'string' },
      source: { type: 'string' },
      'source-password-env': { type: 'string' },
      'start-file': { type: 'string' },
      'start-position': { type: 'string' },
      'start-gtid': { type: 'string' },
      follow: { type: 'boolean' },
      ...TLS_OPTIONS,
      'reconnect-attempts': { type: 'string' },
      'stall-notice': { type: 'string' },
      'dr-binlog': { type: 'string', multiple: true },
      'dr-source': { type: 'string' },
      'dr-source-password-env': { type: 'string' },
      'failover-at': { type: 'string' },
    },
  });
}

async function runParsed(
  mode: 'plan' | 'apply',
  parsed: ReturnType<typeof parseSalvageArgs>,
  progress: ProgressSink<SalvageProgress>,
  stdout: Writable,
  stderr: Writable,
  environment: SalvageCommandEnvironment,
): Promise<number> {
  const o = parsed.values;
  // Files may follow --binlog as positionals: `--binlog a b c`.
  const binlogs = [...(o.binlog ?? []), ...parsed.positionals];
  if (binlogs.length > 0 && o.source !== undefined) throw new UsageError(`${mode}: give --binlog FILE… or --source URL, not both`, '--source');
  if (binlogs.length === 0 && o.source === undefined) {
    throw new UsageError(`${mode}: name the failed primary's binlogs with --binlog FILE… (or its .index file), or a live server with --source URL; see "salvage ${mode} --help"`, '--binlog');
  }
  if (o.source === undefined) {
    for (const option of ['source-password-env', 'start-file', 'start-position', 'start-gtid', 'follow', ...tlsFlagNames('source-')] as const) {
      if (o[option] !== undefined) throw new UsageError(`--${option} goes with --source URL`, `--${option}`);
    }
  }
  if (o.follow === true && mode !== 'apply') throw new UsageError('--follow is an apply option: a plan reads the server to its current end and stops', '--follow');
  const startPosition = o['start-position'];
  if (startPosition !== undefined && (!/^\d+$/.test(startPosition) || Number(startPosition) < 4)) {
    throw new UsageError(`--start-position takes a byte offset ≥ 4 (a binlog's first event is at 4), got "${startPosition}"`, '--start-position');
  }
  const startGtid = o['start-gtid'];
  if (startGtid !== undefined && (o['start-file'] !== undefined || startPosition !== undefined)) {
    throw new UsageError('--start-gtid picks the start file itself: give it or --start-file/--start-position, not both', '--start-gtid');
  }
  if (startGtid !== undefined) startGtidCovers(startGtid); // a bad set is a usage error before connecting
  if (o.target === undefined) throw new UsageError(`${mode}: --target mysql://user@host:port (the DR) is required`, '--target');
  if (mode === 'apply' && o.sql !== undefined) throw new UsageError('--sql is a plan option: run "salvage plan … --sql FILE" to review the statements', '--sql');
  if (o.ddl !== undefined && o.ddl !== 'stop' && o.ddl !== 'skip') throw new UsageError(`--ddl takes stop or skip, got "${o.ddl}"`, '--ddl');
  const stateSchema = stateSchemaOption(o['state-schema']);
  const ledgerImages = o['ledger-images'];
  if (ledgerImages !== undefined && ledgerImages !== 'all' && ledgerImages !== 'conflicts') throw new UsageError(`--ledger-images takes all or conflicts, got "${ledgerImages}"`, '--ledger-images');
  // Digits only: Number() would also take "0x10", "1e2" and " 5".
  const window = o.window === undefined ? undefined : /^\d+$/.test(o.window) ? Number(o.window) : NaN;
  if (window !== undefined && (!Number.isSafeInteger(window) || window < 1)) throw new UsageError(`--window takes a number of transactions ≥ 1, got "${o.window}"`, '--window');
  const windowRows = o['window-rows'] === undefined ? undefined : /^\d+$/.test(o['window-rows']) ? Number(o['window-rows']) : NaN;
  if (windowRows !== undefined && (!Number.isSafeInteger(windowRows) || windowRows < 1)) throw new UsageError(`--window-rows takes a number of row changes ≥ 1, got "${o['window-rows']}"`, '--window-rows');
  const reconnect = reconnectOption(o['reconnect-attempts']);
  const target = targetFrom(o.target, o['target-password-env'], o['defaults-file'], environment.env, environment.home, '--target', tlsFlagsOf(o, ''));
  const source =
    o.source === undefined
      ? undefined
      : {
          target: targetFrom(o.source, o['source-password-env'], o['defaults-file'], environment.env, environment.home, '--source', tlsFlagsOf(o, 'source-')),
          start: { file: o['start-file'], position: startPosition === undefined ? undefined : Number(startPosition), gtid: startGtid },
          follow: o.follow === true,
          ...(reconnect === undefined ? {} : { reconnect }),
        };
  const loaded = o.config === undefined ? undefined : await loadConfig(o.config);
  const config = loaded?.config;

  const ledgerOut = o.ledger === undefined ? null : await openOut(o.ledger, '--ledger');
  // Opened before the run, so an unwritable path stops it before any work rather than after.
  const markdownOut = o.markdown === undefined ? null : await openOut(o.markdown, '--markdown');
  const htmlOut = o.html === undefined ? null : await openOut(o.html, '--html');
  const reportOut = o.report === undefined ? null : await openOut(o.report, '--report');
  // The Markdown lists only the first quarantined changes: keep no more than that in memory.
  const quarantinedLines: LedgerLine[] = [];
  // The HTML shows the quarantined changes with their images, up to its own limit.
  const htmlQuarantined: ReportQuarantinedChange[] = [];
  const onLedger =
    ledgerOut === null && markdownOut === null && htmlOut === null
      ? undefined
      : (l: LedgerLine): void => {
          ledgerOut?.write(`${ledgerLineText(l)}\n`);
          if (markdownOut !== null && l.outcome === 'quarantined' && quarantinedLines.length < MARKDOWN_QUARANTINE_LIMIT) quarantinedLines.push(l);
          if (htmlOut !== null && l.outcome === 'quarantined' && htmlQuarantined.length < HTML_QUARANTINE_LIMIT) htmlQuarantined.push(quarantinedFromLedgerLine(l));
        };
  const sqlOut = o.sql === undefined ? null : await openOut(o.sql, '--sql');
  if (sqlOut) {
    sqlOut.write(
      `-- salvage plan: the data statements "salvage apply" would run against ${target.redacted}, in order, in apply's session\n` +
        '-- settings, each window one transaction (apply reads its rows with SELECT … FOR UPDATE first). Run by hand, this writes\n' +
        "-- the data only: no ledger, key map or checkpoint, so a later apply would decide every change again. Review it, or run\n" +
        '-- it instead of apply; never both.\n',
    );
  }
  const options: SalvageOptions = {
    mode,
    ...(source === undefined ? { binlogs } : { source }),
    ...(await drHistoryOptions(o, environment)),
    target,
    start: startRule(o),
    stateSchema: stateSchema ?? config?.stateSchema,
    sourceId: o['source-id'],
    windowTransactions: window,
    ...(windowRows === undefined ? {} : { windowRows }),
    config,
    strategies: loaded?.strategies,
    ddl: o.ddl as 'stop' | 'skip' | undefined,
    ...(o['stop-before'] === undefined ? {} : { stopBefore: o['stop-before'] }),
    ...(reconnect === undefined ? {} : { reconnect }),
    ledgerImages,
    verifyChecksums: !o['no-verify-checksums'],
    skipDamaged: o['skip-damaged'] === true,
    allowRelayLog: o['allow-relay-log'] === true,
    forceSource: o['force-source'] === true,
    ...(o['keep-gtids'] === true ? { keepGtids: true } : {}),
    ...(o['allow-triggers'] === true ? { allowTriggers: true } : {}),
    signal: environment.signal,
    onLedger,
    onSql: sqlOut === null ? undefined : (s) => sqlOut.write(`${s}\n`),
    onProgress: progress,
    onReconnect: reconnectNotices(stderr, progressStyle(o.progress, o.quiet === true, environment.isTty)),
    onStall: stallNotices(stderr, progressStyle(o.progress, o.quiet === true, environment.isTty)),
    stallNoticeMs: stallNoticeOption(o['stall-notice']),
  };
  // Said at the start too: a follow's summary comes only when it is stopped, maybe hours later.
  if (options.drBinlogs !== undefined && source?.follow === true && o.quiet !== true) line(stderr, `salvage: warning: ${FOLLOW_DR_BINLOG_WARNING}`);
  let report: SalvageReport;
  let ok = false;
  try {
    report = await salvage(options);
    ok = true;
  } catch (e) {
    // The ticket's file says the run stopped, rather than being left empty.
    markdownOut?.write(`# salvage ${mode}: stopped\n\nThe run stopped before the end; the command's error message says why and where it resumes.\n`);
    htmlOut?.write(renderStoppedHtmlReport(mode));
    await Promise.all([close(markdownOut), close(htmlOut), close(reportOut)]);
    throw e;
  } finally {
    progress.done(ok);
    await Promise.all([close(ledgerOut), close(sqlOut)]);
  }
  if (markdownOut !== null) {
    markdownOut.write(renderMarkdownReport(report, quarantinedLines));
    await close(markdownOut);
  }
  if (htmlOut !== null) {
    htmlOut.write(renderHtmlReport(report, htmlQuarantined, { generator: `binlog-salvage ${VERSION}` }));
    await close(htmlOut);
  }
  if (reportOut !== null) {
    reportOut.write(`${jsonText(report)}\n`);
    await close(reportOut);
  }
  if (o.json) line(stdout, jsonText(report));
  else printSummary(report, stdout, reviewTargetArgs(o, target, stateSchema ?? config?.stateSchema));
  // An apply that ends with entries pending on the DR (an interrupted attempt's among them) is not done.
  return report.quarantined > 0 || (report.mode === 'apply' && report.pendingQuarantine > 0) ? ExitCode.DoneWithQuarantine : ExitCode.Done;
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

/** The failover point and the DR's own activity since, or that the run decided without them. */
function printHistory(r: SalvageReport, out: Writable): void {
  const h = r.history;
  if (h === undefined || h === null) {
    line(out, "history: none — DR rows told apart from lost ones by key and values (give --dr-binlog for the DR's own history)");
    return;
  }
  const f = h.failover;
  const place = (p: NonNullable<typeof f.firstOwn>): string => `${p.at} (${p.file}:${p.pos}, server_id ${p.serverId})`;
  line(out, `failover: ${f.rule}`);
  line(out, `  last received from the primary: ${f.lastReceived === null ? 'not in the DR binlog given' : place(f.lastReceived)}; first written by the DR: ${f.firstOwn === null ? 'none' : place(f.firstOwn)}`);
  for (const e of f.evidence) line(out, `  evidence: ${e}`);
  const tables = h.tables.map((t) => `${t.table} +${t.inserted} ~${t.updated} -${t.deleted}`).join(', ');
  line(out, `history: ${h.transactions} transaction(s) the DR wrote since${tables === '' ? '' : ` (${tables})`}${h.complete ? '' : " — INCOMPLETE (the evidence lines say why); rows it does not cover are judged by values"}`);
}

/** Where `--stop-before` ended the run, and where the next apply goes on. */
function printStop(r: SalvageReport, out: Writable): void {
  const s = r.stoppedBefore;
  if (s === undefined) return;
  const at = s.gtid === null ? `${s.file}:${s.pos}` : `${s.gtid} (${s.file}:${s.pos})`;
  const none = r.lost.transactions === 0 ? `; no lost transaction lies before it: nothing to ${r.mode === 'plan' ? 'plan' : 'apply'}` : '';
  line(out, `stopped before ${at}, as --stop-before ${s.asked} asked: nothing from it on was read${none}`);
  if (r.mode !== 'apply' || r.source?.kind === 'live') return;
  const committed = r.committedThrough ?? null;
  line(out, `  ${committed === null ? 'nothing committed yet' : `committed through ${committed} (checkpoint "${r.sourceId}")`}; the same command without --stop-before (or with a later one) goes on from there`);
}

/**
 * The options that reach the run's DR and state schema again, for the review command the summary
 * prints: pasted, it must run as printed. The password is never shown: the option that supplied it
 * is (one typed into the URL shows as `***`, to be typed again).
 */
export function reviewTargetArgs(
  o: { readonly target?: string; readonly 'target-password-env'?: string; readonly 'defaults-file'?: string },
  target: ConnectionTarget,
  stateSchema: string | undefined,
): string {
  const env = o['target-password-env'];
  const inUrl = env === undefined && o.target !== undefined && parseConnectionUrlParts(o.target, '--target').password !== undefined;
  // The redacted URL is a placeholder to edit, not a word to paste: left as the other messages show it.
  const words = ['--target', inUrl ? target.redacted : shellWord(serverLabel(target))];
  if (env !== undefined) words.push('--target-password-env', shellWord(env));
  if (o['defaults-file'] !== undefined) words.push('--defaults-file', shellWord(o['defaults-file']));
  if (stateSchema !== undefined && stateSchema !== DEFAULT_STATE_SCHEMA) words.push('--state-schema', shellWord(stateSchema));
  return words.join(' ');
}

/** A word as a POSIX shell reads it back: a socket URL's `?` would glob. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`;
}

/** The human summary on stdout; `reviewArgs` are the options of the review command it prints (reviewTargetArgs). */
export function printSummary(r: SalvageReport, out: Writable, reviewArgs: string): void {
  const verb = r.mode === 'plan' ? 'would be' : 'were';
  line(out, `salvage ${r.mode}: DR ${r.target} (${r.dr.flavor} ${r.dr.version}, server_id ${r.dr.serverId})${r.mode === 'plan' ? ' — dry run, nothing written' : `, run ${r.runId}`}`);
  line(out, `start: ${r.start.rule}`);
  for (const c of r.start.checks) line(out, `  CHECK: ${c}`);
  printHistory(r, out);
  const span = r.lost.first === null ? '' : `, ${r.lost.first.gtid ?? `${r.lost.first.file}:${r.lost.first.pos}`} (${r.lost.first.timestamp}) … ${r.lost.last?.gtid ?? `${r.lost.last?.file}:${r.lost.last?.pos}`} (${r.lost.last?.timestamp})`;
  line(out, `lost: ${r.lost.transactions} transaction(s), ${r.lost.rowChanges} row change(s)${span}`);
  if (r.keepGtids === true) {
    line(out, `GTIDs: kept — each lost transaction ${r.mode === 'plan' ? 'would be' : 'was'} committed on the DR under its original GTID, except those all quarantined (and damaged ones), which are not on the DR`);
  }
  for (const t of r.incomplete) {
    const what = t.reason === 'cut-short' ? 'is cut off by a short copy of its file (the server closed the file whole: copy it again)' : 'never committed in the binlog';
    line(out, `  not applied: ${t.gtid ?? `${t.file}:${t.pos}`} ${what} (${t.reason})`);
  }
  for (const d of r.damaged ?? []) {
    const what =
      d.cut === 'none' ? 'between transactions, none cut' : d.cut === 'not-lost' ? `in ${d.gtid ?? 'a transaction'}, which the DR has` : `transaction ${d.gtid ?? '(its GTID among the damage)'} skipped, recorded in the ledger`;
    line(out, `  damaged: ${d.file}:${d.offset} (${d.code}): ${what}`);
  }
  for (const d of r.skippedDdl) line(out, `  DDL skipped: ${d.at}: ${d.sql}`);
  printStop(r, out);
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
  // A link maps the lost row onto the DR's own record (merged into it), a remap gives it a new id: not the same story.
  const listKeys = (maps: SalvageReport['remaps'], heading: string): void => {
    if (maps.length === 0) return;
    line(out, heading);
    for (const m of maps.slice(0, 20)) line(out, `  ${m.table} ${m.oldKey.join(',')} → ${m.newKey.join(',')}  (${m.at})`);
    if (maps.length > 20) line(out, `  … and ${maps.length - 20} more (see --report)`);
  };
  const remapped = r.remaps.filter((m) => m.linked !== true);
  const linked = r.remaps.filter((m) => m.linked === true);
  listKeys(remapped, `remapped keys (${remapped.length}; the DR had given these ids to different records):`);
  listKeys(linked, `linked keys (${linked.length}; the lost row is the same record as the DR's row, found by its natural key, merged into it):`);
  if (r.quarantined > 0) {
    line(out, `quarantined: ${r.quarantined} change(s) ${verb} held back for review${r.mode === 'apply' ? ` — review them: salvage quarantine list ${reviewArgs}` : ''}`);
  }
  for (const w of r.warnings) line(out, `warning: ${w}`);
  if (r.mode === 'apply' && r.pendingQuarantine > r.quarantined) {
    line(out, `pending review on the DR: ${r.pendingQuarantine} change(s) in all, ${r.pendingQuarantine - r.quarantined} held back by earlier runs — salvage quarantine list ${reviewArgs}`);
  }
  line(out, `${r.withoutHistory ? "decided without the DR's own binlog (value rules)" : "decided with the DR's own binlog (record identity from its history)"}; ${r.windows} window(s), ${r.retries} retried; ${(r.timings.totalMs / 1000).toFixed(1)} s, ${r.timings.rowsPerSecond} rows/s`);
  const src = r.source;
  if (src?.kind === 'live') {
    line(out, `source: ${src.server}, read from ${src.start}${src.follow ? ', following' : ''}${src.reconnects > 0 ? `, ${src.reconnects} reconnect(s) after a lost connection` : ''}`);
    if (r.mode === 'apply') {
      const at = r.committedThrough ?? null;
      const where = at === null ? 'nothing committed yet' : `committed through ${at} (checkpoint "${r.sourceId}")`;
      // Stopped before a point: the same command stops there again at once.
      const next = r.stoppedBefore === undefined ? 'the same command resumes from there' : 'the same command without --stop-before (or with a later one) goes on from there';
      line(out, `${r.stoppedOnRequest === true ? 'stopped on request; ' : ''}${where}; ${next}`);
    }
  }
}
