/**
 * `salvage doctor`: before an incident's salvage, what would stop `plan` or `apply`, or make their
 * result less than it should be — on the DR (connection, privileges, read_only, engines, GTID
 * state, settings), on a live source (binlog format, row image and metadata, GTIDs, replication
 * privileges) and in the binlog files (their first transaction decodes, who wrote them). Every
 * finding is data (DoctorCheck): the CLI prints it, the library returns it. Nothing is written to
 * any server.
 */
import { basename } from 'node:path';
import type { FormatDescriptionEvent } from '../binlog/event.js';
import type { IncompleteTail } from '../binlog/decoder.js';
import { gtidText, type Gtid, type IncompleteTransaction, type Transaction } from '../binlog/transaction.js';
import { lostBeforeInput, type DrGtidState } from '../reconcile/lost-transactions.js';
import { endsWithClosingEvent, openingGtids } from '../source/input-checks.js';
import type { ConnectionTarget } from '../db/connection-url.js';
import { schemaExists, stateExists } from '../db/dr-state.js';
import {
  accountSql,
  holds,
  privilegesOn,
  readAccountGrants,
  readBinaryLogs,
  readServerVariables,
  readSessionTls,
  readVisibleTables,
  type AccountGrants,
  type ServerVariables,
  type VisibleTable,
} from '../db/privileges.js';
import type { SqlRow, SqlSession } from '../db/sql-session.js';
import { openFirstSession, type FirstConnectionOptions, type ReconnectNotice } from '../db/first-connection.js';
import { DEFAULT_STATE_SCHEMA, quoteIdent } from '../db/state-schema.js';
import { EngineError } from '../errors.js';
import { resolveBinlogFiles } from '../source/binlog-files.js';
import { readTransactions } from '../source/read-transactions.js';

/** ✔ nothing to do; ! works, but read the line; ✖ plan or apply would fail or be wrong. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One finding. `id` is stable (match on it); `title`, `detail` and `fix` are for people. */
export interface DoctorCheck {
  readonly id: string;
  readonly on: 'dr' | 'source' | 'binlog';
  readonly status: CheckStatus;
  readonly title: string;
  readonly detail: string;
  /** What to do about it; null when nothing. */
  readonly fix: string | null;
}

export interface DoctorReport {
  /** No check failed. */
  readonly ok: boolean;
  /** The DR and the source, redacted. */
  readonly target: string;
  readonly source: string | null;
  readonly checks: readonly DoctorCheck[];
}

/**
 * What doctor checks. A server that does not answer at first (restarting, too many connections) is
 * tried again as plan and apply would (`reconnect`, `onReconnect`; `attempts: 0` for one try),
 * and its connect check then says so (!); a refusal no retry cures is ✖ at once.
 */
export interface DoctorOptions extends FirstConnectionOptions {
  readonly target: ConnectionTarget;
  /** A live source (the old primary): its binlog settings and replication privileges. */
  readonly source?: ConnectionTarget;
  /** Binlog files or `.index` files: each file's first transaction is decoded. */
  readonly binlogs?: readonly string[];
  /** The engine's schema on the DR (default `salvage`). */
  readonly stateSchema?: string;
  readonly verifyChecksums?: boolean;
  readonly connectTimeoutMs?: number;
}

/** What apply needs on the tables it merges into, and on its own state schema. */
const DATA_PRIVILEGES = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;
const STATE_PRIVILEGES = ['CREATE', 'SELECT', 'INSERT', 'UPDATE'] as const;
/** Rows larger than this need a larger max_allowed_packet; the sink's own statements stay under 4 MiB. */
const MIN_PACKET = 16 * 1024 * 1024;
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

/** Runs every check that the options allow and returns the findings, in the order they print. */
export async function doctor(options: DoctorOptions): Promise<DoctorReport> {
  const stateSchema = options.stateSchema ?? DEFAULT_STATE_SCHEMA;
  const files = options.binlogs === undefined || options.binlogs.length === 0 ? [] : await examineBinlogs(options.binlogs, options.verifyChecksums ?? true);
  const dr = await probe(options.target, options);
  const source = options.source === undefined ? null : await probe(options.source, options, 'source');
  const checks: DoctorCheck[] = [];
  try {
    checks.push(...(await drChecks(dr, options.target, stateSchema, files, source)));
    if (source !== null && options.source !== undefined) checks.push(...(await sourceChecks(source, options.source, dr)));
    checks.push(...binlogChecks(files, dr));
  } finally {
    await Promise.all([dr.session?.end(), source?.session?.end()]);
  }
  return { ok: checks.every((c) => c.status !== 'fail'), target: options.target.redacted, source: options.source?.redacted ?? null, checks };
}

// ---------------------------------------------------------------------------------------------
// Servers

interface Probe {
  readonly session: SqlSession | null;
  readonly error: EngineError | null;
  /** Connections that failed before the one made (0: the first answered), and why the first failed. */
  readonly failed: { readonly attempts: number; readonly reason: string; readonly code: string } | null;
  readonly vars: ServerVariables;
  readonly grants: AccountGrants | null;
  readonly grantsError: string | null;
  readonly tls: { readonly cipher: string; readonly version: string } | null;
}

/** Connects and reads what every server check needs; a failure is kept, not thrown. */
async function probe(target: ConnectionTarget, options: DoctorOptions, server?: 'source'): Promise<Probe> {
  let session: SqlSession;
  let failed: Probe['failed'] = null;
  const notify = (n: ReconnectNotice): void => {
    failed = { attempts: n.attempt, reason: failed?.reason ?? n.reason, code: failed?.code ?? n.code };
    options.onReconnect?.(n);
  };
  try {
    session = await openFirstSession(target, { reconnect: options.reconnect, notify, ...(server === undefined ? {} : { server }), option: server === 'source' ? '--source' : '--target', sessionOptions: { connectTimeoutMs: options.connectTimeoutMs ?? 10_000 } });
  } catch (e) {
    if (!(e instanceof EngineError)) throw e;
    return { session: null, error: e, failed, vars: new Map(), grants: null, grantsError: null, tls: null };
  }
  const vars = await readServerVariables(session);
  const tls = await readSessionTls(session);
  let grants: AccountGrants | null = null;
  let grantsError: string | null = null;
  try {
    grants = await readAccountGrants(session);
  } catch (e) {
    grantsError = e instanceof Error ? e.message : String(e);
  }
  return { session, error: null, failed, vars, grants, grantsError, tls };
}

function flavorOf(vars: ServerVariables): 'mariadb' | 'mysql' {
  return /mariadb/i.test(vars.get('version') ?? '') ? 'mariadb' : 'mysql';
}

function on(v: string | undefined): boolean {
  return v !== undefined && /^(1|ON|YES|TRUE)$/i.test(v);
}

function mib(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}

function connectChecks(p: Probe, target: ConnectionTarget, who: 'dr' | 'source'): DoctorCheck[] {
  const option = who === 'dr' ? '--target' : '--source';
  if (p.session === null) {
    const errno = p.error?.details.errno;
    const fix =
      errno === 1045
        ? `check the user and password (${option}-password-env VAR, --defaults-file F or ~/.my.cnf) and that the account may connect from this host`
        : errno === 1044 || errno === 1049
          ? `the URL names a database the account cannot use: leave the path out of ${option}`
          : `check the host and port in ${option}, that the server runs and that no firewall is in the way`;
    return [{ id: `${who}.connect`, on: who, status: 'fail', title: 'connect', detail: p.error?.message ?? `${option}: cannot connect to ${target.redacted}`, fix }];
  }
  const out: DoctorCheck[] = [];
  const as = `${target.redacted} as ${p.grants?.account ?? target.user}`;
  if (p.failed === null) out.push({ id: `${who}.connect`, on: who, status: 'ok', title: 'connect', detail: as, fix: null });
  else {
    // Said, not hidden: a server that did not answer at first may be restarting, or flapping.
    const tries = p.failed.attempts + 1;
    out.push({
      id: `${who}.connect`,
      on: who,
      status: 'warn',
      title: 'connect',
      detail: `${as}, at connection attempt ${tries}: the first failed (${p.failed.reason} [${p.failed.code}])`,
      fix: `the server did not answer at first: if it was not restarting, find out why before plan or apply (they wait the same way, up to --reconnect-attempts)`,
    });
  }
  const flavor = flavorOf(p.vars);
  out.push(tlsCheck(p, target, who));
  const version = p.vars.get('version') ?? '';
  const major = /^(\d+)\.(\d+)/.exec(version);
  const numeric = major === null ? 0 : Number(major[1]) * 100 + Number(major[2]);
  const tested = flavor === 'mariadb' ? numeric >= 1006 : numeric >= 800;
  out.push({
    id: `${who}.server`,
    on: who,
    status: tested ? 'ok' : 'warn',
    title: 'server',
    detail: `${/mariadb/i.test(version) ? '' : 'MySQL '}${version.replace(/-log$/, '')}, server_id ${p.vars.get('server_id') ?? '?'}${p.vars.has('server_uuid') ? `, server_uuid ${p.vars.get('server_uuid')}` : ''}`,
    fix: tested ? null : 'salvage is tested against MariaDB 10.6+ and MySQL 8; on an older server run plan first and read its report',
  });
  return out;
}

/** Whether the connection is encrypted, and whether the server's certificate was checked. */
function tlsCheck(p: Probe, target: ConnectionTarget, who: 'dr' | 'source'): DoctorCheck {
  const prefix = who === 'dr' ? '--' : '--source-';
  const mode = target.tls?.mode ?? 'PREFERRED';
  const local = LOOPBACK.test(target.host);
  const base = { id: `${who}.tls`, on: who, title: 'TLS' } as const;
  if (p.tls !== null) {
    const verified = mode === 'VERIFY_CA' || mode === 'VERIFY_IDENTITY';
    const detail = `encrypted (${p.tls.version} ${p.tls.cipher}), ${verified ? `server certificate checked against ${[target.tls?.ca, target.tls?.capath].filter((c) => c !== undefined).join(' and ') || 'the CA'}${target.tls?.crl !== undefined || target.tls?.crlpath !== undefined ? ' and the revocation lists' : ''} (${prefix}ssl-mode ${mode})` : `server certificate not checked (${prefix}ssl-mode ${mode})`}`;
    if (verified || local) return { ...base, status: 'ok', detail, fix: null };
    return { ...base, status: 'warn', detail, fix: `give the CA that signed the server's certificate with ${prefix}ssl-ca FILE (then ${prefix}ssl-mode VERIFY_CA is the default), so that no one between can pose as the server` };
  }
  const offered = (p.vars.get('have_ssl') ?? '').toUpperCase() === 'YES';
  const why = mode === 'DISABLED' ? `${prefix}ssl-mode DISABLED` : offered ? 'the server offers TLS, but this connection did not take it' : 'the server offers no TLS (have_ssl is not YES)';
  if (local) return { ...base, status: 'ok', detail: `not encrypted: ${why} (a loopback connection: nothing crosses the network)`, fix: null };
  return {
    ...base,
    status: 'warn',
    detail: `not encrypted: ${why}; the password and the rows cross the network in clear`,
    fix:
      mode === 'DISABLED'
        ? `leave out ${prefix}ssl-mode DISABLED (TLS is used whenever the server offers it)`
        : "give the server a certificate (ssl_cert, ssl_key; salvage then uses TLS by default), or run salvage on the server's host or through an SSH tunnel or a VPN",
  };
}

async function drChecks(p: Probe, target: ConnectionTarget, stateSchema: string, files: readonly BinlogFacts[], source: Probe | null): Promise<DoctorCheck[]> {
  const out = connectChecks(p, target, 'dr');
  const session = p.session;
  if (session === null) return out;
  const vars = p.vars;
  const flavor = flavorOf(vars);
  const caseInsensitive = (vars.get('lower_case_table_names') ?? '0') !== '0';

  // read_only: a DR that is not promoted yet, or one someone fenced on purpose.
  const ro = (['read_only', 'super_read_only', 'innodb_read_only'] as const).filter((v) => on(vars.get(v)));
  out.push(
    ro.length === 0
      ? { id: 'dr.read-only', on: 'dr', status: 'ok', title: 'read_only', detail: `OFF${vars.has('super_read_only') ? ' (super_read_only OFF)' : ''}: the DR takes writes`, fix: null }
      : {
          id: 'dr.read-only',
          on: 'dr',
          status: 'fail',
          title: 'read_only',
          detail: `${ro.join(', ')} ON: the DR does not take writes — is it promoted yet? apply would fail (${ro.includes('super_read_only') || ro.includes('innodb_read_only') ? 'for every account' : flavor === 'mariadb' ? 'an account with READ_ONLY ADMIN, as root, would write to it anyway' : 'an account with CONNECTION_ADMIN or SUPER would write to it anyway'})`,
          fix: ro.includes('innodb_read_only') ? 'restart the DR without innodb_read_only' : `once the DR is the primary: SET GLOBAL ${ro.includes('super_read_only') ? 'super_read_only = OFF, ' : ''}read_only = OFF (plan runs on a read-only DR)`,
        },
  );

  // Privileges: the data tables and the state schema.
  const tables = await readVisibleTables(session, [stateSchema]);
  out.push(...dataPrivilegeChecks(p, tables, files, caseInsensitive));
  out.push(await statePrivilegeCheck(p, session, stateSchema, caseInsensitive));

  // Engines: exactly once rests on rolling a window back, and locking reads on row locks.
  const other = tables.filter((t) => t.engine !== null && t.engine.toLowerCase() !== 'innodb');
  out.push(
    other.length === 0
      ? { id: 'dr.engine', on: 'dr', status: 'ok', title: 'storage engine', detail: tables.length === 0 ? 'no application tables visible' : `InnoDB for all ${tables.length} table(s)`, fix: null }
      : {
          id: 'dr.engine',
          on: 'dr',
          status: 'warn',
          title: 'storage engine',
          detail: `not InnoDB: ${list(other.map((t) => `${t.schema}.${t.table} (${t.engine})`))}: if the lost transactions write them, a window cut off by a crash keeps its writes there (no rollback) and FOR UPDATE locks nothing`,
          fix: 'ALTER TABLE … ENGINE=InnoDB before apply, or make sure the lost range does not touch them (salvage inspect --stats)',
        },
  );

  out.push(await triggerCheck(session, stateSchema));

  out.push(gtidCheck(vars, flavor));

  const lctn = vars.get('lower_case_table_names') ?? '?';
  const sourceLctn = source?.session ? source.vars.get('lower_case_table_names') : undefined;
  out.push(
    sourceLctn !== undefined && sourceLctn !== lctn
      ? {
          id: 'dr.lower-case-table-names',
          on: 'dr',
          status: 'warn',
          title: 'lower_case_table_names',
          detail: `${lctn} on the DR, ${sourceLctn} on the source: table names in the binlog may not match the DR's spelling`,
          fix: 'check that every table the lost range writes exists on the DR under the same name (salvage plan reports schema drift)',
        }
      : { id: 'dr.lower-case-table-names', on: 'dr', status: 'ok', title: 'lower_case_table_names', detail: `${lctn}${sourceLctn !== undefined ? ', as on the source' : ''}`, fix: null },
  );

  const packet = Number(vars.get('max_allowed_packet') ?? '0');
  out.push(
    packet >= MIN_PACKET
      ? { id: 'dr.max-allowed-packet', on: 'dr', status: 'ok', title: 'max_allowed_packet', detail: mib(packet), fix: null }
      : {
          id: 'dr.max-allowed-packet',
          on: 'dr',
          status: 'warn',
          title: 'max_allowed_packet',
          detail: `${mib(packet)}, below 16 MiB: a row with large BLOB/TEXT/JSON values may not fit one statement`,
          fix: 'SET GLOBAL max_allowed_packet = 67108864 (at least the primary\'s value)',
        },
  );
  return out;
}

/**
 * Triggers on the DR fire on salvage's writes, which are plain DML: replication applying row events
 * does not fire them (slave_run_triggers_for_rbr=NO), so a trigger that writes an audit row or a
 * counter writes it a second time, and one that collides fails the window's writes.
 */
async function triggerCheck(session: SqlSession, stateSchema: string): Promise<DoctorCheck> {
  let rows: readonly SqlRow[];
  try {
    ({ rows } = await session.query(
      `SELECT TRIGGER_SCHEMA s, TRIGGER_NAME n, EVENT_OBJECT_TABLE t FROM information_schema.TRIGGERS
        WHERE TRIGGER_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys', ?) ORDER BY 1, 3, 2`,
      [stateSchema],
    ));
  } catch (e) {
    return { id: 'dr.triggers', on: 'dr', status: 'warn', title: 'triggers', detail: `cannot list the DR's triggers (${(e as Error).message})`, fix: null };
  }
  if (rows.length === 0) return { id: 'dr.triggers', on: 'dr', status: 'ok', title: 'triggers', detail: 'none on the application tables it can see', fix: null };
  return {
    id: 'dr.triggers',
    on: 'dr',
    status: 'warn',
    title: 'triggers',
    detail: `${rows.length} trigger(s): ${list(rows.map((r) => `${String(r['n'])} on ${String(r['s'])}.${String(r['t'])}`))}. They fire on apply's writes (replication applying row events does not fire them): what a trigger writes (an audit row, a counter) is written again, on top of what the lost range itself carries, and a trigger write that collides fails the window (the transaction is then quarantined as dr-rejected)`,
    fix: 'drop or disable the triggers of the tables the lost range writes for the length of apply (salvage inspect --stats lists them), and re-create them after; apply refuses them unless --allow-triggers',
  };
}

function dataPrivilegeChecks(p: Probe, tables: readonly VisibleTable[], files: readonly BinlogFacts[], caseInsensitive: boolean): DoctorCheck[] {
  const grants = p.grants;
  if (grants === null) {
    return [{ id: 'dr.privileges', on: 'dr', status: 'warn', title: 'privileges', detail: `cannot read the account's grants (SHOW GRANTS: ${p.grantsError ?? 'unknown error'})`, fix: 'run plan first: it needs only SELECT and shows what apply would do' }];
  }
  const out: DoctorCheck[] = [];
  const grantTo = accountSql(grants.account);
  const roleHint = grants.roles.length === 0 ? '' : ` (roles granted: ${grants.roles.join(', ')} — only default roles are active in salvage's sessions: SET DEFAULT ROLE …)`;
  // Tables the binlogs write that the account cannot see: missing on the DR, or no privilege at all.
  const visible = new Set(tables.map((t) => key(t.schema, t.table, caseInsensitive)));
  const unseenByKey = new Map<string, TableName>();
  for (const t of files.flatMap((f) => f.tables)) if (!visible.has(key(t.schema, t.table, caseInsensitive))) unseenByKey.set(key(t.schema, t.table, caseInsensitive), t);
  const unseen = [...unseenByKey.values()];
  if (unseen.length > 0) {
    out.push({
      id: 'dr.privileges.unseen',
      on: 'dr',
      status: 'fail',
      title: 'tables the binlogs write',
      detail: `${list(unseen.map((t) => `${t.schema}.${t.table}`))}: not on the DR, or ${grants.account} has no privilege on ${unseen.length === 1 ? 'it' : 'them'}`,
      fix: `create the missing tables as on the primary, or GRANT ${DATA_PRIVILEGES.join(', ')} ON ${quoteIdent(unseen[0]!.schema)}.* TO ${grantTo}`,
    });
  }
  if (tables.length === 0) {
    out.push({
      id: 'dr.privileges.data',
      on: 'dr',
      status: 'warn',
      title: 'privileges on data',
      detail: `${grants.account} sees no application table on the DR`,
      fix: `GRANT ${DATA_PRIVILEGES.join(', ')} ON <schema>.* TO ${grantTo} for each schema the lost transactions write${roleHint}`,
    });
    return out;
  }
  const bySchema = new Map<string, VisibleTable[]>();
  for (const t of tables) bySchema.set(t.schema, [...(bySchema.get(t.schema) ?? []), t]);
  const good: string[] = [];
  for (const [schema, ts] of bySchema) {
    const missing = ts.map((t) => {
      const held = privilegesOn(grants.grants, t.schema, t.table, caseInsensitive);
      return { table: t.table, missing: DATA_PRIVILEGES.filter((priv) => !holds(held, priv)) };
    });
    const lacking = missing.filter((m) => m.missing.length > 0);
    if (lacking.length === 0) {
      good.push(schema);
      continue;
    }
    const union = DATA_PRIVILEGES.filter((priv) => lacking.some((m) => m.missing.includes(priv)));
    const same = lacking.length === ts.length && lacking.every((m) => m.missing.join() === lacking[0]!.missing.join());
    const where = same ? `${union.join(', ')} (on ${ts.length === 1 ? `its table ${ts[0]!.table}` : `all ${ts.length} tables`})` : lacking.map((m) => `${m.missing.join(', ')} on ${m.table}`).join('; ');
    const planOk = lacking.every((m) => !m.missing.includes('SELECT'));
    out.push({
      id: 'dr.privileges.data',
      on: 'dr',
      status: 'fail',
      title: `privileges on ${schema}`,
      detail: `${grants.account} lacks ${where}: apply reads rows with SELECT … FOR UPDATE and writes them; ${planOk ? 'plan can run (SELECT is granted)' : 'plan cannot run either (it needs SELECT)'}`,
      fix: `GRANT ${union.join(', ')} ON ${quoteIdent(schema)}.* TO ${grantTo}${roleHint}`,
    });
  }
  if (good.length > 0) {
    out.unshift({ id: 'dr.privileges.data', on: 'dr', status: 'ok', title: 'privileges on data', detail: `${DATA_PRIVILEGES.join(', ')} on every table of ${list(good)}`, fix: null });
  }
  return out;
}

async function statePrivilegeCheck(p: Probe, session: SqlSession, stateSchema: string, caseInsensitive: boolean): Promise<DoctorCheck> {
  const exists = await stateExists(session, stateSchema);
  const schemaOnly = !exists && (await schemaExists(session, stateSchema));
  const grants = p.grants;
  const name = quoteIdent(stateSchema);
  if (grants === null) return { id: 'dr.privileges.state', on: 'dr', status: 'warn', title: `state schema ${name}`, detail: "cannot read the account's grants", fix: null };
  const held = privilegesOn(grants.grants, stateSchema, null, caseInsensitive);
  const missing = STATE_PRIVILEGES.filter((priv) => !holds(held, priv));
  const state = exists ? 'exists' : schemaOnly ? 'exists without salvage\'s tables yet: apply creates them' : 'does not exist yet: apply creates it';
  if (missing.length === 0) return { id: 'dr.privileges.state', on: 'dr', status: 'ok', title: `state schema ${name}`, detail: `${state}; ${STATE_PRIVILEGES.join(', ')} granted`, fix: null };
  return {
    id: 'dr.privileges.state',
    on: 'dr',
    status: 'fail',
    title: `state schema ${name}`,
    detail: `${state}; ${grants.account} lacks ${missing.join(', ')} on it: apply keeps its checkpoint, ledger, key map and quarantine there${missing.includes('SELECT') && exists ? '; plan reads the checkpoint from it' : ''}`,
    fix: `GRANT ${STATE_PRIVILEGES.join(', ')} ON ${name}.* TO ${accountSql(grants.account)}, or choose another schema with --state-schema`,
  };
}

function gtidCheck(vars: ServerVariables, flavor: 'mariadb' | 'mysql'): DoctorCheck {
  const startRule = 'give plan and apply a start: --from FILE:POS, --from-gtid SET or --since "YYYY-MM-DD HH:MM:SS"';
  if (flavor === 'mariadb') {
    const slave = vars.get('gtid_slave_pos') ?? '';
    const binlog = vars.get('gtid_binlog_pos') ?? '';
    if (slave === '' && binlog === '') {
      return { id: 'dr.gtid', on: 'dr', status: 'warn', title: 'GTID state', detail: 'gtid_slave_pos and gtid_binlog_pos are empty: the lost transactions cannot be found by GTID', fix: startRule };
    }
    return { id: 'dr.gtid', on: 'dr', status: 'ok', title: 'GTID state', detail: `gtid_slave_pos ${slave || '(empty)'}, gtid_binlog_pos ${binlog || '(empty)'}: the lost transactions are found from it, no start rule needed`, fix: null };
  }
  const mode = vars.get('gtid_mode') ?? 'OFF';
  const executed = (vars.get('gtid_executed') ?? '').replace(/\s+/g, '');
  if (mode.toUpperCase() !== 'ON' || executed === '') {
    return { id: 'dr.gtid', on: 'dr', status: 'warn', title: 'GTID state', detail: `gtid_mode ${mode}, gtid_executed ${executed || '(empty)'}: the lost transactions cannot be found by GTID`, fix: startRule };
  }
  return { id: 'dr.gtid', on: 'dr', status: 'ok', title: 'GTID state', detail: `gtid_executed ${shorten(executed)}: the lost transactions are found from it, no start rule needed`, fix: null };
}

async function sourceChecks(p: Probe, target: ConnectionTarget, dr: Probe): Promise<DoctorCheck[]> {
  const out = connectChecks(p, target, 'source');
  if (p.session === null) return out;
  const v = p.vars;
  const flavor = flavorOf(v);
  if (!on(v.get('log_bin'))) {
    out.push({ id: 'source.log-bin', on: 'source', status: 'fail', title: 'binary log', detail: 'log_bin is OFF: the server writes no binlogs to read', fix: 'point --source at the failed primary, or give its binlog files with --binlog' });
    return out;
  }
  const format = (v.get('binlog_format') ?? '?').toUpperCase();
  out.push(
    format === 'ROW'
      ? { id: 'source.binlog-format', on: 'source', status: 'ok', title: 'binlog_format', detail: 'ROW', fix: null }
      : {
          id: 'source.binlog-format',
          on: 'source',
          status: format === 'MIXED' ? 'warn' : 'fail',
          title: 'binlog_format',
          detail: `${format}: changes logged as statements cannot be merged row by row; they are quarantined with their SQL text${format === 'MIXED' ? ' (MIXED logs most DML as statements)' : ''}`,
          fix: 'SET GLOBAL binlog_format = ROW (for binlogs written from now on; a session may also set its own)',
        },
  );
  const image = (v.get('binlog_row_image') ?? '?').toUpperCase();
  out.push(
    image === 'FULL'
      ? { id: 'source.binlog-row-image', on: 'source', status: 'ok', title: 'binlog_row_image', detail: 'FULL', fix: null }
      : {
          id: 'source.binlog-row-image',
          on: 'source',
          status: 'warn',
          title: 'binlog_row_image',
          detail: `${image}: before images lack columns, so a change is compared with the DR's row on the columns it has (its ledger images show which: a DR change to another column goes unseen)`,
          fix: 'SET GLOBAL binlog_row_image = FULL (for binlogs written from now on)',
        },
  );
  const metadata = v.get('binlog_row_metadata')?.toUpperCase();
  out.push(
    metadata === 'FULL'
      ? { id: 'source.binlog-row-metadata', on: 'source', status: 'ok', title: 'binlog_row_metadata', detail: 'FULL: column names are in the binlog', fix: null }
      : {
          id: 'source.binlog-row-metadata',
          on: 'source',
          status: 'warn',
          title: 'binlog_row_metadata',
          detail:
            metadata === undefined
              ? 'this server has no binlog_row_metadata: no column names in the binlog, columns are matched to the DR\'s by position'
              : `${metadata}: no column names${metadata === 'MINIMAL' ? '' : ' or signedness'} in the binlog, so columns are matched to the DR's by position and a column added or moved on one side goes unnoticed`,
          fix: metadata === undefined ? null : 'SET GLOBAL binlog_row_metadata = FULL (for binlogs written from now on)',
        },
  );
  const checksum = (v.get('binlog_checksum') ?? '?').toUpperCase();
  out.push(
    checksum === 'CRC32'
      ? { id: 'source.binlog-checksum', on: 'source', status: 'ok', title: 'binlog_checksum', detail: 'CRC32: damaged events are detected', fix: null }
      : { id: 'source.binlog-checksum', on: 'source', status: 'warn', title: 'binlog_checksum', detail: `${checksum}: a damaged byte in an event cannot be detected`, fix: 'SET GLOBAL binlog_checksum = CRC32 (for binlogs written from now on)' },
  );
  out.push(durabilityCheck(v));
  out.push(sourceGtidCheck(v, flavor, dr));
  out.push(await replicationPrivilegeCheck(p));
  return out;
}

/**
 * Whether an acknowledged commit survives a crash of the host in the binlog: the one loss no
 * salvage recovers, so the runbook asks for both settings on every server that may be a primary.
 */
function durabilityCheck(v: ServerVariables): DoctorCheck {
  const sync = v.get('sync_binlog') ?? '?';
  const flush = v.get('innodb_flush_log_at_trx_commit') ?? '?';
  const title = 'sync_binlog, innodb_flush_log_at_trx_commit';
  const values = `sync_binlog ${sync}, innodb_flush_log_at_trx_commit ${flush}`;
  if (sync === '1' && flush === '1') {
    return { id: 'source.durability', on: 'source', status: 'ok', title, detail: `${values}: a transaction the server acknowledged is in its binlog after a crash`, fix: null };
  }
  return {
    id: 'source.durability',
    on: 'source',
    status: 'warn',
    title,
    detail: `${values}: a crash of the host can lose transactions the server had acknowledged, from the binlog too; no salvage can recover those`,
    fix: "SET GLOBAL sync_binlog = 1, innodb_flush_log_at_trx_commit = 1, and the same in the server's option file (for every server that may become a primary)",
  };
}

/** GTIDs on the source, and whether the DR's GTID state shows it replicated from this server. */
function sourceGtidCheck(v: ServerVariables, flavor: 'mariadb' | 'mysql', dr: Probe): DoctorCheck {
  if (flavor === 'mysql') {
    const mode = (v.get('gtid_mode') ?? 'OFF').toUpperCase();
    if (mode !== 'ON') {
      return { id: 'source.gtid', on: 'source', status: 'warn', title: 'GTIDs', detail: `gtid_mode ${mode}: transactions carry no GTID, so the lost ones are found by position or time`, fix: 'give plan and apply --from FILE:POS or --since TIME' };
    }
    const uuid = v.get('server_uuid') ?? '';
    const drSet = dr.session === null ? null : (dr.vars.get('gtid_executed') ?? '').toLowerCase();
    const known = drSet !== null && uuid !== '' && drSet.includes(uuid.toLowerCase());
    return {
      id: 'source.gtid',
      on: 'source',
      status: drSet === null || known ? 'ok' : 'warn',
      title: 'GTIDs',
      detail: `gtid_mode ON, server_uuid ${uuid}${drSet === null ? '' : known ? ": the DR's gtid_executed holds this server's transactions" : ": the DR's gtid_executed holds none of this server's transactions — did the DR replicate from it?"}`,
      fix: drSet === null || known ? null : 'check that --source is the DR\'s old primary; otherwise give --from-gtid SET or --from FILE:POS',
    };
  }
  const domain = v.get('gtid_domain_id') ?? '0';
  const serverId = v.get('server_id') ?? '?';
  const drState = dr.session === null ? null : mariadbGtids(`${dr.vars.get('gtid_slave_pos') ?? ''},${dr.vars.get('gtid_binlog_pos') ?? ''}`);
  const match = drState?.find((g) => g.domain === domain && g.server === serverId);
  const sameDomain = drState?.find((g) => g.domain === domain);
  return {
    id: 'source.gtid',
    on: 'source',
    status: drState === null || sameDomain !== undefined ? 'ok' : 'warn',
    title: 'GTIDs',
    detail: `gtid_domain_id ${domain}, server_id ${serverId}, gtid_binlog_pos ${v.get('gtid_binlog_pos') || '(empty)'}${
      drState === null ? '' : match !== undefined ? `: the DR's GTID state holds ${match.text} from this server` : sameDomain !== undefined ? `: the DR's GTID state holds domain ${domain} (${sameDomain.text})` : `: the DR's GTID state has nothing for domain ${domain} — did the DR replicate from this server?`
    }`,
    fix: drState === null || sameDomain !== undefined ? null : "check that --source is the DR's old primary; otherwise give --from-gtid SET or --from FILE:POS",
  };
}

async function replicationPrivilegeCheck(p: Probe): Promise<DoctorCheck> {
  const grants = p.grants;
  if (grants === null) return { id: 'source.privileges', on: 'source', status: 'warn', title: 'replication privileges', detail: `cannot read the account's grants (${p.grantsError ?? 'unknown error'})`, fix: null };
  const held = privilegesOn(grants.grants, '', null);
  const slave = holds(held, 'REPLICATION SLAVE');
  // MariaDB 10.5 renamed REPLICATION CLIENT to BINLOG MONITOR; SUPER also allows SHOW BINARY LOGS.
  const client = ['REPLICATION CLIENT', 'BINLOG MONITOR', 'SUPER'].some((priv) => holds(held, priv));
  let listed: string | null = null;
  try {
    listed = `${(await readBinaryLogs(p.session!)).length} binlog file(s) listed`;
  } catch {
    listed = null;
  }
  const missing = [...(slave ? [] : ['REPLICATION SLAVE']), ...(client ? [] : [flavorOf(p.vars) === 'mariadb' ? 'BINLOG MONITOR (REPLICATION CLIENT)' : 'REPLICATION CLIENT'])];
  if (missing.length === 0) return { id: 'source.privileges', on: 'source', status: 'ok', title: 'replication privileges', detail: `REPLICATION SLAVE and ${flavorOf(p.vars) === 'mariadb' ? 'BINLOG MONITOR' : 'REPLICATION CLIENT'}${listed === null ? '' : `; ${listed}`}`, fix: null };
  return {
    id: 'source.privileges',
    on: 'source',
    status: 'fail',
    title: 'replication privileges',
    detail: `${grants.account} lacks ${missing.join(' and ')}: reading binlogs over the replication protocol needs REPLICATION SLAVE, listing them (SHOW BINARY LOGS) ${flavorOf(p.vars) === 'mariadb' ? 'BINLOG MONITOR' : 'REPLICATION CLIENT'}`,
    fix: `GRANT ${missing.map((m) => m.replace(/ \(.*\)$/, '')).join(', ')} ON *.* TO ${accountSql(grants.account)}, or copy the binlog files and use --binlog`,
  };
}

// ---------------------------------------------------------------------------------------------
// Binlog files

/** What the first transaction of one file showed, or why it could not be read. */
interface TableName {
  readonly schema: string;
  readonly table: string;
}

interface BinlogFacts {
  readonly arg: string;
  readonly file: string;
  /** Whether it is the last file given (a crashed primary's last file may end mid-transaction). */
  readonly last: boolean;
  readonly error: EngineError | null;
  readonly format: FormatDescriptionEvent | null;
  readonly first: Transaction | null;
  readonly incomplete: IncompleteTransaction | null;
  readonly tail: IncompleteTail | null;
  /** Every table the first transaction writes. */
  readonly tables: readonly TableName[];
  /** What was written before the file (its GTID list / previous GTIDs, each run as its last GTID); null when it has none. */
  readonly opening?: readonly Gtid[] | null;
  /** The server closed the file (not marked in use) but it does not end with its ROTATE or STOP: a short copy. */
  readonly cutShort?: boolean;
}

async function examineBinlogs(args: readonly string[], verifyChecksums: boolean): Promise<BinlogFacts[]> {
  // In the order given; a name that does not resolve keeps its place as a failed entry.
  const entries: ({ arg: string; file: string } | BinlogFacts)[] = [];
  for (const arg of args) {
    try {
      for (const f of await resolveBinlogFiles([arg])) entries.push({ arg, file: f.path });
    } catch (e) {
      if (!(e instanceof EngineError)) throw e;
      entries.push({ arg, file: arg, last: false, error: e, format: null, first: null, incomplete: null, tail: null, tables: [] });
    }
  }
  const lastFile = entries.findLastIndex((e) => !('error' in e));
  const out: BinlogFacts[] = [];
  for (const [i, e] of entries.entries()) out.push('error' in e ? e : await firstTransaction(e.arg, e.file, i === lastFile, verifyChecksums));
  return out;
}

/** Decodes `file` up to its first committed transaction (checksums verified on the way). */
async function firstTransaction(arg: string, file: string, last: boolean, verifyChecksums: boolean): Promise<BinlogFacts> {
  let format: FormatDescriptionEvent | null = null;
  let first: Transaction | null = null;
  let incomplete: IncompleteTransaction | null = null;
  let tail: IncompleteTail | null = null;
  let opening: Gtid[] | null = null;
  try {
    // Small chunks: only the file's head is wanted.
    read: for await (const batch of readTransactions([file], { keepEvents: true, annotations: false, verifyChecksums, chunkSize: 64 * 1024 })) {
      for (const e of batch.events) {
        if (format === null && e.kind === 'format-description') format = e;
        if (opening === null && (e.kind === 'gtid-list' || e.kind === 'previous-gtids')) opening = openingGtids(e);
      }
      tail ??= batch.tail;
      for (const item of batch.items) {
        if (item.kind === 'transaction') {
          first = item.tx;
          break read;
        }
        incomplete ??= item.tx;
      }
    }
  } catch (e) {
    if (!(e instanceof EngineError)) throw e;
    return { arg, file, last, error: e, format, first: null, incomplete, tail, tables: [] };
  }
  const tables = new Map<string, TableName>();
  for (const c of first?.changes ?? []) tables.set(`${c.table.schema}\u0000${c.table.table}`, { schema: c.table.schema, table: c.table.table });
  // Only the head is read: a copy cut short past it shows at the end, where a closed file has its ROTATE.
  const cutShort = format !== null && !format.inUse && !(await endsWithClosingEvent(file));
  return { arg, file, last, error: null, format, first, incomplete, tail, tables: [...tables.values()], opening, cutShort };
}

function binlogChecks(files: readonly BinlogFacts[], dr: Probe): DoctorCheck[] {
  const out: DoctorCheck[] = [];
  for (const f of files) out.push(binlogFileCheck(f));
  const sequence = sequenceCheck(files.filter((f) => !(f.error?.code.startsWith('SOURCE_') ?? false)).map((f) => f.file));
  if (sequence !== null) out.push(sequence);
  const firsts = files.map((f) => f.first).filter((t): t is Transaction => t !== null);
  if (firsts.length > 0) out.push(originCheck(firsts, dr));
  const leading = leadingGapCheck(files[0], dr);
  if (leading !== null) out.push(leading);
  return out;
}

/**
 * What plan and apply refuse as INPUT_LEADING_GAP: the first file opens after GTIDs the DR's GTID
 * state calls lost. Doctor does not read the checkpoint, so it warns (an earlier run may have
 * applied them from the files before).
 */
function leadingGapCheck(f: BinlogFacts | undefined, dr: Probe): DoctorCheck | null {
  if (f === undefined || f.opening === undefined || f.opening === null || f.opening.length === 0 || dr.session === null) return null;
  const mysql = f.opening[0]!.flavor === 'mysql';
  // Binlogs of the other flavour need a start rule (originCheck says so), and then no GTID state is compared.
  if (mysql !== (flavorOf(dr.vars) === 'mysql')) return null;
  const state: DrGtidState = mysql
    ? { flavor: 'mysql', gtidExecuted: dr.vars.get('gtid_executed') ?? '' }
    : { flavor: 'mariadb', gtidSlavePos: dr.vars.get('gtid_slave_pos') ?? '', gtidBinlogPos: dr.vars.get('gtid_binlog_pos') ?? '' };
  let lost: Gtid[];
  try {
    lost = lostBeforeInput({ kind: 'gtid', state }, {}, f.opening);
  } catch {
    return null;
  }
  const name = basename(f.file);
  if (lost.length === 0) return { id: 'binlog.leading', on: 'binlog', status: 'ok', title: 'first file', detail: `${name} opens where the DR's GTID state has everything before it`, fix: null };
  return {
    id: 'binlog.leading',
    on: 'binlog',
    status: 'warn',
    title: 'first file',
    detail: `${name} opens after ${lost.slice(0, 3).map(gtidText).join(', ')} (its GTID list), which the DR's GTID state lacks: unless an earlier run applied them, lost transactions are in binlog files before ${name} (plan and apply refuse this: INPUT_LEADING_GAP)`,
    fix: `give the files before ${name} too (the .index file lists them all)`,
  };
}

function binlogFileCheck(f: BinlogFacts): DoctorCheck {
  const name = basename(f.file);
  const id = 'binlog.file';
  if (f.error !== null) {
    const fix =
      f.error.code === 'BINLOG_CHECKSUM_MISMATCH'
        ? 'the file is damaged: copy it again from the primary (or a backup); transactions before the damage can still be salvaged with --from/--since ranges that stop before it'
        : f.error.code === 'BINLOG_ENCRYPTED'
          ? 'decrypt it first (mariadb-binlog --read-from-remote-server from the running primary), or read it with --source'
          : f.error.code.startsWith('SOURCE_')
            ? 'check the path'
            : 'this is not a readable binlog: check that it is a binlog of the primary, copied whole';
    return { id, on: 'binlog', status: 'fail', title: name, detail: f.error.message, fix };
  }
  const fmt = f.format;
  const made = fmt === null ? '' : `${fmt.flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} ${fmt.serverVersion.split('-')[0]} binlog, ${fmt.checksumAlgorithm === 1 ? 'CRC32' : 'no checksums'}${fmt.inUse ? ', marked in use (the server had it open: a primary\'s last file)' : ''}`;
  if (f.first === null) {
    const cut = f.tail !== null ? `ends mid-event at offset ${f.tail.offset} (${f.tail.bytes} of ${f.tail.claimedSize ?? '?'} bytes)` : null;
    if (f.incomplete !== null || cut !== null) {
      const inside = f.incomplete === null ? 'before any transaction' : `inside its first transaction (${f.incomplete.gtid === null ? `at ${f.incomplete.pos}` : `${gtidText(f.incomplete.gtid)} at ${f.incomplete.pos}`}, which never commits in the file)`;
      return {
        id,
        on: 'binlog',
        status: 'fail',
        title: name,
        detail: `${made}${made === '' ? '' : '; '}truncated: ${cut ?? 'ends'} ${inside}: no transaction of this file can be salvaged`,
        fix: f.last
          ? "if this is the crashed primary's last file, its cut-off transaction never committed and nothing is lost by it; otherwise the copy is incomplete: copy it again"
          : 'a file in the middle of the sequence cut short means lost transactions: copy it again from the primary',
      };
    }
    return { id, on: 'binlog', status: 'ok', title: name, detail: `${made}; holds no transaction (nothing to salvage in this file)`, fix: null };
  }
  if (f.cutShort === true) {
    return {
      id,
      on: 'binlog',
      status: 'fail',
      title: name,
      detail: `${made}; cut short: the server closed this file (its format description is not marked in use), so it ends with a ROTATE or STOP event, but the copy ends without one`,
      fix: 'copy the file again from the primary (or a backup): transactions at its end are missing from this copy',
    };
  }
  const tx = f.first;
  const who = tx.gtid === null ? `server_id ${tx.serverId}, no GTID` : tx.gtid.flavor === 'mariadb' ? `server_id ${tx.serverId}, GTID domain ${tx.gtid.domainId}` : `server_id ${tx.serverId}, server_uuid ${tx.gtid.uuid}`;
  const metadata = [...new Set(tx.changes.map((c) => c.table.metadata))];
  const names = tx.changes.length === 0 ? '' : metadata.every((m) => m === 'full') ? '; column names logged' : '; no column names logged (binlog_row_metadata is not FULL: columns are matched by position)';
  const verified = fmt !== null && fmt.checksumAlgorithm === 1 ? ', checksums verified' : '';
  return {
    id,
    on: 'binlog',
    status: fmt !== null && fmt.checksumAlgorithm !== 1 ? 'warn' : 'ok',
    title: name,
    detail: `${made}; first transaction ${tx.gtid === null ? `at ${tx.pos}` : `${gtidText(tx.gtid)} at ${tx.pos}`} decoded${verified} (${who}, ${new Date(tx.timestamp * 1000).toISOString().replace('.000Z', 'Z')}, ${tx.changes.length} row change(s))${names}`,
    fix: fmt !== null && fmt.checksumAlgorithm !== 1 ? 'a damaged byte cannot be detected in a file without checksums: compare it with another copy if you have one' : null,
  };
}

/**
 * Whether the files form one unbroken sequence by their names (a server numbers them base.000001,
 * base.000002, …): plan and apply read them in the order given and cannot tell a missing or
 * reordered file from a short history, so a gap, a file given twice or one out of order is caught
 * here, before a run applies later transactions without the earlier ones.
 */
function sequenceCheck(paths: readonly string[]): DoctorCheck | null {
  if (paths.length < 2) return null;
  const named = paths.map((p) => ({ name: basename(p), m: /^(.*)\.(\d+)$/.exec(basename(p)) }));
  const id = 'binlog.sequence';
  const unnumbered = named.filter((n) => n.m === null).map((n) => n.name);
  if (unnumbered.length > 0) {
    return { id, on: 'binlog', status: 'warn', title: 'sequence', detail: `${list(unnumbered)}: no sequence number in the name, so the order cannot be checked`, fix: 'give the files under the names the server gave them, oldest first' };
  }
  const bases = [...new Set(named.map((n) => n.m![1]!))];
  if (bases.length > 1) {
    return { id, on: 'binlog', status: 'warn', title: 'sequence', detail: `files of ${bases.length} different names (${list(bases)}): one server's sequence is expected`, fix: 'give only the failed primary\'s binlogs, oldest first' };
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < named.length; i++) {
    const n = named[i]!;
    if (seen.has(n.name)) problems.push(`${n.name} is given twice`);
    seen.add(n.name);
    if (i === 0) continue;
    const prev = BigInt(named[i - 1]!.m![2]!);
    const cur = BigInt(n.m![2]!);
    if (cur < prev) problems.push(`${n.name} comes after ${named[i - 1]!.name}: out of order`);
    else if (cur > prev + 1n) problems.push(`${cur - prev - 1n === 1n ? `${bases[0]}.${String(prev + 1n).padStart(n.m![2]!.length, '0')} is` : `${cur - prev - 1n} files are`} missing between ${named[i - 1]!.name} and ${n.name}`);
  }
  if (problems.length === 0) {
    return { id, on: 'binlog', status: 'ok', title: 'sequence', detail: `${named[0]!.name} … ${named.at(-1)!.name}: ${named.length} files, none missing, in order`, fix: null };
  }
  return {
    id,
    on: 'binlog',
    status: 'fail',
    title: 'sequence',
    detail: `${problems.join('; ')}: plan and apply read the files in the order given, and would apply later transactions without the ones in between`,
    fix: 'give every file from the first one needed to the last, oldest first (or the .index file); if a file is gone for good, its transactions cannot be salvaged: salvage the files after it with an explicit start and record the gap',
  };
}

/** Which servers wrote the files, and whether the DR's GTID state continues them (else a start rule is needed). */
function originCheck(firsts: readonly Transaction[], dr: Probe): DoctorCheck {
  const origins = [...new Set(firsts.map((t) => (t.gtid === null ? `server_id ${t.serverId} (no GTIDs)` : t.gtid.flavor === 'mariadb' ? `server_id ${t.serverId} in GTID domain ${t.gtid.domainId}` : `server_uuid ${t.gtid.uuid}`)))];
  const written = `written by ${list(origins)}`;
  if (firsts.some((t) => t.gtid === null)) {
    return { id: 'binlog.origin', on: 'binlog', status: 'warn', title: 'origin', detail: `${written}: without GTIDs the lost transactions are found by position or time`, fix: 'give plan and apply --from FILE:POS or --since TIME' };
  }
  if (dr.session === null) return { id: 'binlog.origin', on: 'binlog', status: 'ok', title: 'origin', detail: written, fix: null };
  // A MariaDB DR's GTID state says nothing of MySQL GTIDs (and the other way round): plan and apply
  // stop with RECONCILE_FLAVOR_MISMATCH unless told where the lost transactions start.
  const drFlavor = flavorOf(dr.vars);
  const foreign = firsts.find((t) => t.gtid!.flavor !== drFlavor);
  if (foreign !== undefined) {
    const name = (f: 'mariadb' | 'mysql'): string => (f === 'mariadb' ? 'MariaDB' : 'MySQL');
    return {
      id: 'binlog.origin',
      on: 'binlog',
      status: 'warn',
      title: 'origin',
      detail: `${written}: ${name(foreign.gtid!.flavor)} GTIDs, and the DR is ${name(drFlavor)}, whose GTID state cannot say which of them are lost: without a start rule plan and apply stop (RECONCILE_FLAVOR_MISMATCH)`,
      fix: 'give plan and apply --from FILE:POS or --since TIME',
    };
  }
  const missing: string[] = [];
  const drMariadb = mariadbGtids(`${dr.vars.get('gtid_slave_pos') ?? ''},${dr.vars.get('gtid_binlog_pos') ?? ''}`);
  const drMysql = (dr.vars.get('gtid_executed') ?? '').toLowerCase();
  for (const t of firsts) {
    const g = t.gtid!;
    if (g.flavor === 'mariadb' ? !drMariadb.some((d) => d.domain === String(g.domainId)) : !drMysql.includes(g.uuid.toLowerCase())) {
      missing.push(g.flavor === 'mariadb' ? `domain ${g.domainId}` : g.uuid);
    }
  }
  if (missing.length === 0) return { id: 'binlog.origin', on: 'binlog', status: 'ok', title: 'origin', detail: `${written}; the DR's GTID state continues ${origins.length === 1 ? 'it' : 'them'}`, fix: null };
  return {
    id: 'binlog.origin',
    on: 'binlog',
    status: 'warn',
    title: 'origin',
    detail: `${written}; the DR's GTID state has nothing for ${list([...new Set(missing)])}: these binlogs come from a server the DR did not replicate from, or the DR's GTID state was reset`,
    fix: "check that these are the DR's old primary's binlogs; if they are, give plan and apply --from FILE:POS, --from-gtid SET or --since TIME",
  };
}

// ---------------------------------------------------------------------------------------------

function mariadbGtids(text: string): { domain: string; server: string; text: string }[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => /^\d+-\d+-\d+$/.test(s))
    .map((s) => {
      const [domain, server] = s.split('-') as [string, string, string];
      return { domain, server, text: s };
    });
}

function key(schema: string, table: string, caseInsensitive: boolean): string {
  const k = `${schema}\u0000${table}`;
  return caseInsensitive ? k.toLowerCase() : k;
}

function list(items: readonly string[], max = 8): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`;
}

function shorten(text: string, max = 160): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}
