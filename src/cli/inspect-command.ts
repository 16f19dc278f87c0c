/** `salvage inspect FILE…` / `salvage inspect --source URL`: decode binlogs and print their transactions. */
import { availableParallelism } from 'node:os';
import type { Writable } from 'node:stream';
import type { ConnectionTarget } from '../db/connection-url.js';
import type { InspectItem, InspectOptions, MetadataNotes } from '../pipeline/inspect.js';
import type { Gtid } from '../binlog/transaction.js';
import type { ReadBatch } from '../source/read-transactions.js';
import type { TransactionFilter } from '../pipeline/transaction-filter.js';
import type { InspectStats } from '../pipeline/inspect-stats.js';
import { ExitCode } from './exit-codes.js';
import { progressStyle, readProgress, reconnectNotices, type ProgressStyle } from './progress.js';
import { reconnectOption } from './reconnect-option.js';
import { parseCommandArgs, UsageError } from './usage-error.js';

// Everything else loads when a run needs it: `inspect --stats FILE` starts a worker thread as soon
// as it knows the input's size, and each module loaded before that delays the worker (parsed on
// this thread, ~1 ms apiece); the human and JSON printers, live reading and the filters' parsers
// are not on that path.

export const INSPECT_HELP = `salvage inspect (FILE… | --source URL) [options]

Decode MySQL/MariaDB binary logs (files, or .index files listing them, or a live server's binlogs
read over the replication protocol) and print their committed transactions. Checksums are
verified; a file that ends inside an event (a crash) is reported, not an error; a transaction
without its COMMIT is reported as INCOMPLETE and never counted.

Live server:
  --source URL              read the binlogs of mysql://user@host:port (a restarted primary, a
                            binlog server) up to its end at the time of the call, then stop; the
                            user needs REPLICATION SLAVE and REPLICATION CLIENT (BINLOG MONITOR)
  --source-password-env VAR read the source's password from this environment variable
  --defaults-file F         user/password/host/port/socket from this option file (default ~/.my.cnf;
                            ssl-mode, ssl-ca, … tls-version too), for --source and --schema-from alike
  --source-ssl-mode MODE    TLS to the source: DISABLED, PREFERRED (default), REQUIRED, VERIFY_CA,
                            VERIFY_IDENTITY (see "salvage apply --help")
  --source-ssl-ca F, --source-ssl-cert F, --source-ssl-key F
                            the CA that signed its certificate; a client certificate and key
  --source-ssl-capath DIR, --source-ssl-cipher LIST, --source-ssl-crl F, --source-ssl-crlpath DIR,
  --source-tls-version LIST CA directory, ciphers, revocation lists, TLSv1.2,TLSv1.3 (as mysql)
  --start-file NAME         the binlog to start in (default: the oldest the server still has)
  --start-position N        with --source: the offset in that file where reading starts, at a
                            transaction start (inspect prints it as "pos"); default 4
  --start-gtid SET          instead: the transactions after SET (MariaDB d-s-n is a position),
                            from the newest binlog whose starting GTID state is inside SET
  Transactions name the server's files (mysql-bin.000042) and their offsets in them, exactly as
  inspect prints them for the files themselves.

Output (one of):
  (default)                 human text in the spirit of mysqlbinlog -v: position, time, GTID,
                            then each row change with its column values, after the statement
                            that made it ("#Q> INSERT …") when the server logged it
                            (binlog_annotate_row_events, binlog_rows_query_log_events)
  --json                    JSON Lines, one transaction per line:
                            {gtid, file, pos, end, timestamp, serverId, changes: [{op, schema,
                            table, before?, after?}], statements?: [{schema, sql}]}; statements
                            only when the transaction logged SQL (statement-based DML, DDL);
                            values in canonical JSON (see README; a MariaDB JSON column is its
                            text unless --schema-from says the column is JSON)
  --statements              with --json: each row change also carries "statement", the text of
                            the statement that made it, when the server logged it
  --stats                   decode every value of every row, then print per-table counts of
                            inserts, updates, deletes and transactions, bytes, first/last GTID/time

Filters:
  --start-position N        skip transactions that start before N in the first file; reading
                            starts at the first transaction start at or after N (a warning says
                            where when N is not one), so damage before N is not read
  --stop-position N         stop at the first transaction starting at or after N in the last file
  --start-datetime "YYYY-MM-DD HH:MM:SS"   (UTC) skip transactions before this time
  --stop-datetime  "YYYY-MM-DD HH:MM:SS"   (UTC) skip transactions at or after this time
  --include-gtids SET       only these GTIDs (MySQL uuid:1-5,… or MariaDB 0-1-13,0-1-20-22,…)
  --exclude-gtids SET       all but these GTIDs
  With either GTID filter, damage in a transaction it leaves out (by the GTID read before the
  damage) is passed over with a warning; damage in one it selects, or to a GTID event itself,
  stops the read (exit 2), as without it.
  --tables LIST             only changes to these tables: comma-separated db.table patterns
                            (shop.*), as the configuration's table keys: * and ? within a part,
                            case-sensitive; a name with a dot in backticks ('\`shop.v2\`.orders').
                            Statements (statement-based DML, DDL) go by the table their text
                            writes; one that names none (CREATE VIEW …) by its default database
  --tables, --include-gtids and --exclude-gtids may be repeated: the values add up (a union,
  as commas in one value do). Any other option that takes a value, given twice, exits 2.

Columns:
  --schema-from URL         names, signedness and charsets from a server's information_schema
                            (mysql://user@host:port, or mysql://user@localhost?socket=PATH) for
                            binlogs logged without full metadata; what the URL leaves out
                            (user, password, socket, TLS) from the option files, as for --source
  --schema-password-env VAR read that server's password from this environment variable
  --schema-ssl-mode MODE    TLS to that server: DISABLED, PREFERRED (default), REQUIRED,
                            VERIFY_CA, VERIFY_IDENTITY (see "salvage apply --help")
  --schema-ssl-ca F, --schema-ssl-cert F, --schema-ssl-key F
                            the CA that signed its certificate; a client certificate and key
  --schema-ssl-capath DIR, --schema-ssl-cipher LIST, --schema-ssl-crl F, --schema-ssl-crlpath DIR,
  --schema-tls-version LIST CA directory, ciphers, revocation lists, TLSv1.2,TLSv1.3 (as mysql)
  Without either, columns the binlog does not name print as @1…@n.

Other:
  --no-verify-checksums     do not verify CRC32 checksums (a damaged file then decodes as it can)
  --reconnect-attempts N    --source or --schema-from not answering yet (refused, timed out,
                            restarting, too many connections) is tried again after a backoff
                            (0.5 s doubling to 10 s) up to N times (default 10; 0: one try), each
                            attempt a warning line on stderr (a "reconnect" event under --progress
                            json); access denied, an unknown database or TLS refused fail at once.
                            A live read cut later is reopened the same way and resumed after the
                            last transaction read
  --threads N               --stats only: decode on N threads (default: one per core, up to 4,
                            for inputs of 64 MiB or more); files are cut at transaction starts
  --quiet                   no warnings or progress on stderr
  --progress auto|plain|json   progress on stderr: a refreshed line on a terminal, else a line
                            every 10 s (auto, the default); plain lines; or JSON events for
                            wrappers, one per line: {"event":"progress", bytesRead, bytesTotal,
                            transactions, file, bytesPerSecond, etaSeconds, elapsedMs}, then
                            {"event":"done", "ok": true|false, …} at the end

Examples:
  salvage inspect /backup/mysql-bin.000042
  salvage inspect mysql-bin.index --json --start-datetime "2026-11-26 06:00:00" > lost.jsonl
  salvage inspect mysql-bin.000042 --stats --tables 'shop.*'
  salvage inspect --source mysql://salvage@old-primary:3306 --source-password-env PRIMARY_PW --json
`;

/**
 * The `--schema-from` server, built as --target and --source are: user, password, host, socket and
 * TLS that the URL leaves out come from the option files (`--defaults-file`, else `~/.my.cnf`), the
 * password from `--schema-password-env`, TLS from `--schema-ssl-*` (the DR's and the source's own
 * flags are theirs).
 */
async function schemaTarget(url: string, values: Readonly<Record<string, unknown>>, passwordEnv: string | undefined, defaultsFile: string | undefined, env: NodeJS.ProcessEnv): Promise<ConnectionTarget> {
  const { connectionFrom, tlsFlagsOf } = await import('./option-file.js');
  return connectionFrom(url, passwordEnv, defaultsFile, env, env['HOME'], '--schema-from', tlsFlagsOf(values, 'schema-'));
}

function int(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${option} takes a byte offset, got "${value}"`, option);
  return Number(value);
}

function line(out: Writable, s: string): void {
  out.write(`${s}\n`);
}

/** Runs `inspect`; returns the exit code. */
export async function runInspect(args: string[], stdout: Writable, stderr: Writable, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseCommandArgs('inspect', {
    args,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      stats: { type: 'boolean' },
      statements: { type: 'boolean' },
      'start-position': { type: 'string' },
      'stop-position': { type: 'string' },
      'start-datetime': { type: 'string' },
      'stop-datetime': { type: 'string' },
      // Repeatable: each adds to the selection (a union), as a comma in one value does.
      'include-gtids': { type: 'string', multiple: true },
      'exclude-gtids': { type: 'string', multiple: true },
      tables: { type: 'string', multiple: true },
      'schema-from': { type: 'string' },
      'schema-password-env': { type: 'string' },
      'schema-ssl-mode': { type: 'string' },
      'schema-ssl-ca': { type: 'string' },
      'schema-ssl-cert': { type: 'string' },
      'schema-ssl-key': { type: 'string' },
      'schema-ssl-capath': { type: 'string' },
      'schema-ssl-cipher': { type: 'string' },
      'schema-ssl-crl': { type: 'string' },
      'schema-ssl-crlpath': { type: 'string' },
      'schema-tls-version': { type: 'string' },
      'no-verify-checksums': { type: 'boolean' },
      quiet: { type: 'boolean' },
      progress: { type: 'string' },
      'reconnect-attempts': { type: 'string' },
      threads: { type: 'string' },
      source: { type: 'string' },
      'source-password-env': { type: 'string' },
      'defaults-file': { type: 'string' },
      'source-ssl-mode': { type: 'string' },
      'source-ssl-ca': { type: 'string' },
      'source-ssl-cert': { type: 'string' },
      'source-ssl-key': { type: 'string' },
      'source-ssl-capath': { type: 'string' },
      'source-ssl-cipher': { type: 'string' },
      'source-ssl-crl': { type: 'string' },
      'source-ssl-crlpath': { type: 'string' },
      'source-tls-version': { type: 'string' },
      'start-file': { type: 'string' },
      'start-gtid': { type: 'string' },
    },
  });
  const o = parsed.values;
  const files = parsed.positionals;
  const live = o.source !== undefined;
  if (live && files.length > 0) throw new UsageError('inspect: give binlog files or --source, not both', '--source');
  if (!live && files.length === 0) throw new UsageError('inspect: name at least one binlog file (or .index file), or --source URL; see "salvage inspect --help"');
  if (!live) {
    for (const option of ['start-file', 'start-gtid', 'source-password-env', 'source-ssl-mode', 'source-ssl-ca', 'source-ssl-cert', 'source-ssl-key', 'source-ssl-capath', 'source-ssl-cipher', 'source-ssl-crl', 'source-ssl-crlpath', 'source-tls-version'] as const) {
      if (o[option] !== undefined) throw new UsageError(`--${option} goes with --source URL`, `--${option}`);
    }
  } else {
    if (o['stop-position'] !== undefined) throw new UsageError('--stop-position applies to files; with --source use --stop-datetime or --include-gtids', '--stop-position');
    if (o.threads !== undefined) throw new UsageError('--threads applies to files; a live server is read on one connection', '--threads');
  }
  if (o.json && o.stats) throw new UsageError('inspect: --json and --stats are exclusive', '--stats');
  if (o.statements && o.stats) throw new UsageError('inspect: --statements goes with --json or the human output; --stats prints counts only', '--statements');
  // Only --stats decodes on threads: taken elsewhere, --threads would change nothing without a word.
  if (o.threads !== undefined && o.stats !== true) throw new UsageError('inspect: --threads goes with --stats; the other outputs are decoded on one thread', '--threads');
  if (o['schema-from'] === undefined) {
    for (const option of ['schema-password-env', 'schema-ssl-mode', 'schema-ssl-ca', 'schema-ssl-cert', 'schema-ssl-key', 'schema-ssl-capath', 'schema-ssl-cipher', 'schema-ssl-crl', 'schema-ssl-crlpath', 'schema-tls-version'] as const) {
      if (o[option] !== undefined) throw new UsageError(`--${option} goes with --schema-from URL`, `--${option}`);
    }
  }
  const reconnect = reconnectOption(o['reconnect-attempts']);
  const style = progressStyle(o.progress, o.quiet === true, (stderr as NodeJS.WriteStream).isTTY === true);
  const options: InspectOptions = {
    startPosition: int(o['start-position'], '--start-position'),
    stopPosition: int(o['stop-position'], '--stop-position'),
    startTime: o['start-datetime'] === undefined ? undefined : (await import('../pipeline/transaction-filter.js')).parseUtcDateTime(o['start-datetime'], '--start-datetime'),
    stopTime: o['stop-datetime'] === undefined ? undefined : (await import('../pipeline/transaction-filter.js')).parseUtcDateTime(o['stop-datetime'], '--stop-datetime'),
    // A GTID set is a comma-separated list, so the values joined are their union.
    includeGtids: o['include-gtids'] === undefined ? undefined : (await import('../model/gtid-set.js')).GtidSet.parse(o['include-gtids'].join(','), '--include-gtids'),
    excludeGtids: o['exclude-gtids'] === undefined ? undefined : (await import('../model/gtid-set.js')).GtidSet.parse(o['exclude-gtids'].join(','), '--exclude-gtids'),
    tables: o.tables === undefined ? undefined : (await import('../pipeline/transaction-filter.js')).parseTablesOption(o.tables, '--tables'),
    schemaFrom: o['schema-from'] === undefined ? undefined : await schemaTarget(o['schema-from'], o, o['schema-password-env'], o['defaults-file'], env),
    verifyChecksums: !o['no-verify-checksums'],
    // The statements' texts (≈ 40 % of a MariaDB binlog's bytes) are decoded only where printed.
    annotations: o.stats !== true && (o.json !== true || o.statements === true),
    keepEvents: false,
    ...(reconnect === undefined ? {} : { reconnect }),
    onReconnect: reconnectNotices(stderr, style),
  };
  const progress = createProgress(stderr, style);
  try {
    if (o.source !== undefined) {
      const { connectionFrom, tlsFlagsOf } = await import('./option-file.js');
      const { startGtidCovers } = await import('../source/live-start.js');
      const target = connectionFrom(o.source, o['source-password-env'], o['defaults-file'], env, env['HOME'], '--source', tlsFlagsOf(o, 'source-'));
      const start = { file: o['start-file'], position: options.startPosition, gtid: o['start-gtid'] };
      if (start.position !== undefined && start.position < 4) throw new UsageError('--start-position: a binlog\'s first event is at 4', '--start-position');
      if (start.gtid !== undefined && (start.file !== undefined || start.position !== undefined)) throw new UsageError('--start-gtid picks the start file itself: give it or --start-file/--start-position, not both', '--start-gtid');
      if (start.gtid !== undefined) startGtidCovers(start.gtid); // a bad set is a usage error before connecting
      return inspectLive(target, start, { ...options, startPosition: undefined }, { json: o.json === true, stats: o.stats === true, statements: o.statements === true, quiet: o.quiet === true }, stdout, stderr, progress);
    }
    if (o.stats) {
      const loading = import('../pipeline/parallel-stats.js');
      loading.catch(() => undefined); // awaited below, after the checks that may throw first
      const totalBytes = await totalSize(files);
      const threadsOption = o.threads === undefined ? undefined : int(o.threads, '--threads');
      // Auto: one worker per core (at most 4) once the input is big enough to repay thread start-up.
      const threads = threadsOption ?? (totalBytes >= 64 * 1024 * 1024 ? Math.min(4, availableParallelism()) : 1);
      if (threads < 1) throw new UsageError('--threads takes a number of threads ≥ 1', '--threads');
      const { parallelStats } = await loading;
      const counting = parallelStats(files, { ...options, threads, onProgress: (read, total) => progress(read, total, null, '') });
      // Asked for once the worker is starting, so it loads beside the decoding instead of before it.
      const human = import('./format-human.js');
      counting.catch(() => undefined);
      const [result, { formatIncomplete, formatTail, utcText }] = await Promise.all([counting, human]);
      progress.done();
      if (!o.quiet) {
        for (const w of result.warnings) line(stderr, `salvage: warning: ${w.warning.message}`);
        for (const t of result.incomplete) line(stderr, formatIncomplete(t));
        for (const t of result.tails) line(stderr, `salvage: ${formatTail(t.file, t.tail, t.cutShort)}`);
      }
      printStats(result.stats, result.bytesTotal, result.incomplete.length, stdout, utcText);
      return ExitCode.Done;
    }
    // Loaded on demand: the decoder's modules load after --stats has started its worker threads (parallel-stats.ts).
    const { inspectBinlogs } = await import('../pipeline/inspect.js');
    await printItems(inspectBinlogs(files, options), { json: o.json === true, statements: o.statements === true }, o.quiet === true, stdout, stderr, progress);
    return ExitCode.Done;
  } catch (e) {
    // Wrappers reading --progress json get their done event on a failure too.
    progress.done(false);
    throw e;
  }
}

/** Prints transactions (human or JSON Lines) and reports the rest on stderr. */
async function printItems(items: AsyncIterable<InspectItem>, form: { json: boolean; statements: boolean }, quiet: boolean, stdout: Writable, stderr: Writable, progress: Progress): Promise<void> {
  const json = form.json;
  const [{ transactionToJson }, { formatIncomplete, formatTail, formatTransaction }, { redactSecrets }] = await Promise.all([
    import('../binlog/transaction-json.js'),
    import('./format-human.js'),
    import('../model/redact-secrets.js'),
  ]);
  // The statements as logged, an account statement's password or hash replaced (as the human form does).
  const jsonOptions = { statements: form.statements, sqlText: redactSecrets };
  let transactions = 0;
  for await (const item of items) {
    switch (item.kind) {
      case 'transaction':
        transactions++;
        if (json) line(stdout, transactionToJson(item.tx, jsonOptions));
        else line(stdout, `${formatTransaction(item.tx)}\n`);
        break;
      case 'incomplete':
        if (!quiet) line(stderr, formatIncomplete(item.tx));
        if (!json) line(stdout, `${formatIncomplete(item.tx)}\n`);
        break;
      case 'tail':
        if (!quiet) line(stderr, `salvage: ${formatTail(item.file, item.tail, item.cutShort)}`);
        break;
      case 'warning':
        if (!quiet) line(stderr, `salvage: warning: ${item.warning.message}`);
        break;
      case 'progress':
        progress(item.bytesRead, item.bytesTotal, transactions, item.file);
        break;
    }
  }
  progress.done();
}


/** `inspect --source`: the live server's binlogs up to its current end, printed as for files. */
async function inspectLive(
  target: ConnectionTarget,
  start: { file?: string; position?: number; gtid?: string },
  options: InspectOptions,
  out: { json: boolean; stats: boolean; statements: boolean; quiet: boolean },
  stdout: Writable,
  stderr: Writable,
  progress: Progress,
): Promise<number> {
  // Loaded on demand: the driver and zongji cost start-up time that file-only runs do not need.
  const { ReopenedSession } = await import('../db/first-connection.js');
  const { resumingLiveTransactions } = await import('../pipeline/live-resume.js');
  const { findGtidStart, startGtidCovers } = await import('../source/live-start.js');
  const { TransactionFilter } = await import('../pipeline/transaction-filter.js');
  const { InspectStats } = await import('../pipeline/inspect-stats.js');
  const { privilegeError } = await import('../source/live-source.js');
  const schemaHints = options.schemaFrom ? await (await import('../db/schema-hints.js')).loadSchemaHints(options.schemaFrom, options) : options.schemaHints;
  // A recovered primary may still be starting: its first connection is waited for, each attempt
  // said; a connection lost during the read is reopened the same way and the read resumed.
  const reopener = new ReopenedSession(target, { reconnect: options.reconnect, notify: options.onReconnect, server: 'source', option: '--source' });
  let control = await reopener.open();
  try {
    // --start-gtid: start in the newest file that begins inside SET; what of SET it holds is skipped.
    const skip = start.gtid === undefined ? null : startGtidCovers(start.gtid);
    let from: { file?: string; position?: number } = start;
    if (start.gtid !== undefined) {
      const gtid = start.gtid;
      // Looked up again on a reopened session when the connection is lost meanwhile.
      const found = await reopener.on(control, 'read', (session) => findGtidStart(session, gtid)).catch((e: unknown) => {
        throw privilegeError(e, target.redacted, 'its binlog list') ?? e;
      });
      control = found.session;
      from = found.result;
    }
    const { tlsSocketOptions } = await import('../db/tls.js');
    const tls = (session: { readonly encrypted?: boolean }): ReturnType<typeof tlsSocketOptions> => tlsSocketOptions(target.tls, session.encrypted ?? false, target.host);
    const batches = resumingLiveTransactions(target, { control, reopener, start: from, tls, verifyChecksums: options.verifyChecksums, annotations: options.annotations, schemaHints });
    const { MetadataNotes } = await import('../pipeline/inspect.js');
    const items = liveItems(batches, new TransactionFilter(options, []), skip, new MetadataNotes(schemaHints));
    if (!out.stats) {
      await printItems(items, { json: out.json, statements: out.statements }, out.quiet, stdout, stderr, progress);
      return ExitCode.Done;
    }
    const { formatIncomplete, utcText } = await import('./format-human.js');
    const stats = new InspectStats();
    let incomplete = 0;
    let bytes = 0;
    for await (const item of items) {
      if (item.kind === 'transaction') stats.add(item.tx);
      else if (item.kind === 'incomplete') {
        incomplete++;
        if (!out.quiet) line(stderr, formatIncomplete(item.tx));
      } else if (item.kind === 'warning') {
        if (!out.quiet) line(stderr, `salvage: warning: ${item.warning.message}`);
      } else if (item.kind === 'progress') {
        bytes = item.bytesRead;
        progress(item.bytesRead, item.bytesTotal, stats.transactions, item.file);
      }
    }
    progress.done();
    printStats(stats, bytes, incomplete, stdout, utcText);
    return ExitCode.Done;
  } finally {
    await control.end();
  }
}

/** Live batches as the items inspectBinlogs yields for files (TODO(#5): move beside it in src/pipeline/inspect.ts). */
async function* liveItems(batches: AsyncIterable<ReadBatch>, filter: TransactionFilter, skip: ((g: Gtid) => boolean) | null, notes: MetadataNotes): AsyncGenerator<InspectItem> {
  for await (const batch of batches) {
    for (const w of batch.warnings) yield { kind: 'warning', file: batch.file, warning: w };
    for (const item of batch.items) {
      if (item.kind === 'incomplete') {
        if (filter.keepsIncomplete(item.tx)) yield item;
        continue;
      }
      if (skip !== null && item.tx.gtid !== null && skip(item.tx.gtid)) continue;
      const tx = filter.apply(item.tx);
      if (tx) {
        for (const warning of notes.check(tx)) yield { kind: 'warning', file: tx.file, warning };
        yield { kind: 'transaction', tx };
      }
    }
    yield { kind: 'progress', file: batch.file, bytesRead: batch.bytesRead, bytesTotal: batch.bytesTotal };
  }
}

async function totalSize(paths: readonly string[]): Promise<number> {
  const { resolveBinlogFiles } = await import('../source/binlog-files.js');
  return (await resolveBinlogFiles(paths)).reduce((n, f) => n + f.size, 0);
}

interface Progress {
  (bytesRead: number, bytesTotal: number, transactions: number | null, file: string): void;
  /** Ends the progress line, or writes the done event; once (later calls do nothing). */
  done(ok?: boolean): void;
}

/** Progress on long runs (src/cli/progress.ts): a refreshed line on a terminal, a plain line every 10 s otherwise, or JSON events. */
function createProgress(stderr: Writable, style: ProgressStyle): Progress {
  const sink = readProgress(stderr, style);
  return Object.assign((bytesRead: number, bytesTotal: number, transactions: number | null, file: string) => sink({ bytesRead, bytesTotal, transactions, file }), {
    done(ok = true): void {
      sink.done(ok);
    },
  });
}


/** Prints the `--stats` table: per-table counts, then totals and the first and last GTID and time (`utcText` from format-human.ts, loaded by the caller). */
export function printStats(s: InspectStats, bytes: number, incomplete: number, out: Writable, utcText: (seconds: number) => string): void {
  const rows = [...s.tables.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const width = Math.max(5, ...rows.map(([k]) => k.length));
  line(out, `${'table'.padEnd(width)}  ${'inserts'.padStart(10)}  ${'updates'.padStart(10)}  ${'deletes'.padStart(10)}  ${'transactions'.padStart(12)}`);
  for (const [name, t] of rows) {
    line(out, `${name.padEnd(width)}  ${String(t.inserts).padStart(10)}  ${String(t.updates).padStart(10)}  ${String(t.deletes).padStart(10)}  ${String(t.transactions).padStart(12)}`);
  }
  line(out, '');
  line(out, `transactions: ${s.transactions}  row changes: ${s.rowChanges}  incomplete: ${incomplete}  bytes: ${bytes}`);
  line(out, `first: ${s.firstGtid ?? '-'}  ${s.firstTime === null ? '' : `${utcText(s.firstTime)} UTC`}`);
  line(out, `last:  ${s.lastGtid ?? '-'}  ${s.lastTime === null ? '' : `${utcText(s.lastTime)} UTC`}`);
}
