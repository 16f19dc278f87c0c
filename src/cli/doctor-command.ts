/** `salvage doctor`: privileges and prerequisites on the DR, a live source and the binlog files. */
import type { Writable } from 'node:stream';
import { redact } from '../db/connection-url.js';
import { doctor, type DoctorCheck, type DoctorReport } from '../pipeline/doctor.js';
import { ExitCode } from './exit-codes.js';
import { jsonText, targetFrom, type SalvageCommandEnvironment } from './salvage-command.js';
import { DR_TLS_HELP, TLS_OPTIONS, tlsFlagsOf, tlsMoreHelp } from './option-file.js';
import { stateSchemaOption } from './state-schema-option.js';
import { parseCommandArgs, UsageError } from './usage-error.js';
import { reconnectOption } from './reconnect-option.js';
import { QUIET_OPTION, quietableReconnectNotices } from './quiet-option.js';

export const DOCTOR_HELP = `salvage doctor --target URL [--source URL] [--binlog FILE…] [options]

Checks, before an incident's salvage, what would stop "salvage plan" or "salvage apply" or make
their result less than it should be, and prints one line per check: ✔ fine, ! works but read it,
✖ must be fixed — each with what to do. Reads only; writes nothing anywhere.

  The DR (--target): the connection and whether it is encrypted; the server and its version;
  read_only / super_read_only; the account's privileges — SELECT, INSERT, UPDATE, DELETE on every
  application table it can see (plan needs only SELECT), CREATE, SELECT, INSERT, UPDATE on the
  state schema; InnoDB for the tables; triggers (they fire on apply's writes, which replication's
  row events would not); the GTID state (and whether plan and apply will need a start rule: --from,
  --from-gtid or --since); lower_case_table_names; max_allowed_packet.
  The source (--source, the old primary when it runs again): the connection; log_bin;
  binlog_format ROW; binlog_row_image FULL; binlog_row_metadata FULL (else no column names);
  binlog_checksum; sync_binlog and innodb_flush_log_at_trx_commit 1 (else a crash can lose
  acknowledged transactions); GTIDs, and whether the DR replicated from this server; REPLICATION
  SLAVE and REPLICATION CLIENT (MariaDB: BINLOG MONITOR).
  The files (--binlog): each file's first transaction decodes (checksums verified); who wrote
  them (server_id, GTID domain or server_uuid), and whether the DR's GTID state continues them.

Options:
  --target URL              mysql://user@host:port of the DR (required)
  --target-password-env VAR the DR's password from this environment variable
  --source URL              mysql://user@host:port of a live source (optional)
  --source-password-env VAR the source's password from this environment variable
  --defaults-file F         user/password/host/port/socket from this option file ([client]);
                            without it, ~/.my.cnf is read when present (ssl-mode, ssl-ca, … too)
${DR_TLS_HELP}  --source-ssl-mode MODE, --source-ssl-ca F, --source-ssl-cert F, --source-ssl-key F
                            the same for the source
${tlsMoreHelp('source-')}  --binlog FILE…            binlog files or their .index file (repeat, or list them after it)
  --state-schema NAME       the engine's own schema on the DR (default salvage)
  --reconnect-attempts N    the DR or the source not answering yet (refused, timed out, restarting,
                            too many connections) is waited for as plan and apply wait: tried again
                            after a backoff (0.5 s doubling to 10 s) up to N times (default 10; 0:
                            one try), each attempt a warning line on stderr, and the connect check
                            then says so (!); access denied, an unknown database or TLS refused are
                            ✖ at once
  --json                    the checks as JSON on stdout: {ok, target, source, checks: [{id, on,
                            status: ok|warn|fail, title, detail, fix}]}
  --quiet                   no warning lines on stderr while a server is waited for; the checks
                            are doctor's output and stay on stdout as they are (the connect check
                            still says at which attempt it connected), as do the exit code and
                            an error's message on stderr

Exit codes: 0 nothing is ✖; 2 something is (or bad usage).

Example:
  salvage doctor --target mysql://salvage@dr:3306 --target-password-env DR_PASSWORD \\
      --binlog /recovered/mysql-bin.index
`;

const MARK: Record<DoctorCheck['status'], string> = { ok: '✔', warn: '!', fail: '✖' };
const HEADING: Record<DoctorCheck['on'], string> = { dr: 'DR', source: 'source', binlog: 'binlog files' };

/** Runs `salvage doctor`; returns 0 when no check failed, 2 otherwise. */
export async function runDoctor(args: string[], stdout: Writable, stderr: Writable, environment: SalvageCommandEnvironment): Promise<number> {
  const parsed = parseCommandArgs('doctor', {
    args,
    allowPositionals: true,
    options: {
      target: { type: 'string' },
      'target-password-env': { type: 'string' },
      source: { type: 'string' },
      'source-password-env': { type: 'string' },
      'defaults-file': { type: 'string' },
      binlog: { type: 'string', multiple: true },
      'state-schema': { type: 'string' },
      'reconnect-attempts': { type: 'string' },
      json: { type: 'boolean' },
      ...QUIET_OPTION,
      ...TLS_OPTIONS,
    },
  });
  const o = parsed.values;
  if (o.target === undefined) throw new UsageError('doctor: --target mysql://user@host:port (the DR) is required; see "salvage doctor --help"', '--target');
  // Files may follow --binlog as positionals, as for plan and apply.
  const binlogs = [...(o.binlog ?? []), ...parsed.positionals];
  if (parsed.positionals.length > 0 && o.binlog === undefined) throw new UsageError(`doctor: unexpected argument "${redact(parsed.positionals[0]!)}"; binlog files go after --binlog`);
  if (o['source-password-env'] !== undefined && o.source === undefined) throw new UsageError('--source-password-env goes with --source URL', '--source-password-env');
  const target = targetFrom(o.target, o['target-password-env'], o['defaults-file'], environment.env, environment.home, '--target', tlsFlagsOf(o, ''));
  const source =
    o.source === undefined
      ? undefined
      : targetFrom(o.source, o['source-password-env'], o['defaults-file'], environment.env, environment.home, '--source', tlsFlagsOf(o, 'source-'));
  const reconnect = reconnectOption(o['reconnect-attempts']);
  // A server restarting is waited for, as plan and apply wait; each attempt is said on stderr (not
  // under --quiet), and the connect check says it too: the checks are the output, never silenced.
  const report = await doctor({ target, source, binlogs, stateSchema: stateSchemaOption(o['state-schema']), ...(reconnect === undefined ? {} : { reconnect }), onReconnect: quietableReconnectNotices(stderr, o.quiet) });
  if (o.json) stdout.write(`${redact(jsonText(report))}\n`);
  else for (const l of doctorLines(report)) stdout.write(`${redact(l)}\n`);
  return report.ok ? ExitCode.Done : ExitCode.BadInput;
}

/** The printed form: a heading per subject, then one line per check with its mark and what to do. */
export function doctorLines(report: DoctorReport): string[] {
  const out: string[] = [];
  let heading: DoctorCheck['on'] | null = null;
  for (const c of report.checks) {
    if (c.on !== heading) {
      heading = c.on;
      out.push(c.on === 'dr' ? `DR ${report.target}` : c.on === 'source' ? `source ${report.source ?? ''}` : HEADING[c.on]);
    }
    out.push(`  ${MARK[c.status]} ${c.title}: ${c.detail}${c.fix === null ? '' : ` → ${c.fix}`}`);
  }
  const fails = report.checks.filter((c) => c.status === 'fail').length;
  const warns = report.checks.filter((c) => c.status === 'warn').length;
  out.push(fails === 0 ? `ready${warns === 0 ? '' : ` (${warns} warning(s) to read)`}` : `${fails} problem(s) to fix${warns === 0 ? '' : `, ${warns} warning(s)`}`);
  return out;
}
